/* Training from a row source (nnc_fit_source, nnc_evaluate_source): rows read on demand by a
 * background thread give the weights of nnc_fit on the same rows in memory, bit for bit
 * (shuffle, validation split, class and sample weights, gradient accumulation, 1 and 2
 * threads); a source that fails or hands out a bad row ends training with its message. The
 * command line's files (--stream) are tested in suite_cli_stream. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "core/model_impl.h"
#include "core/rng.h"

enum { N = 300, F = 6, K = 4 };

typedef struct {
    const float *x, *y;
    size_t fail_at; /* a row whose read fails (SIZE_MAX: none) */
    size_t nan_at;  /* a row read as NaN (SIZE_MAX: none) */
    size_t calls, rows_read;
} mem_src;

static nnc_status read_rows(void *ctx, const size_t *rows, size_t count, float *x, float *y, nnc_error *err) {
    mem_src *s = ctx;
    s->calls++;
    for (size_t i = 0; i < count; i++) {
        if (rows[i] == s->fail_at) {
            snprintf(err->message, sizeof err->message, "data.bin: row %zu cannot be read", rows[i]);
            return NNC_ERR_IO;
        }
        memcpy(x + i * F, s->x + rows[i] * F, F * sizeof(float));
        y[i] = s->y[rows[i]];
        if (rows[i] == s->nan_at) x[i * F + 2] = NAN;
    }
    s->rows_read += count;
    return NNC_OK;
}

static const char *spec = "input 6\ndense 16 activation=relu\ndense 4\n"
                          "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\nmetrics accuracy\n";

static nnc_model *model(int threads) {
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), "s.nnc", &e);
    if (m) nnc_model_set_threads(m, threads);
    return m;
}

static void data(float *x, float *y) {
    nnc_rng r;
    nnc_rng_seed(&r, 9);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < F; j++) x[i * F + j] = (float)nnc_rng_uniform(&r) * 2.0f - 1.0f;
        y[i] = (float)((x[i * F] > 0) * 2 + (x[i * F + 1] > 0));
    }
}

/* Trains twice, from arrays and from the source, with options o; the weights must be equal. */
static void same_as_arrays(test_run *r, const char *what, const nnc_fit_opts *o, int threads) {
    if (!t_begin(r, "stream: %s: the weights of nnc_fit, bit for bit", what)) return;
    static float x[N * F], y[N];
    data(x, y);
    nnc_model *a = model(1), *b = model(threads);
    mem_src s = {x, y, SIZE_MAX, SIZE_MAX, 0, 0};
    nnc_row_source src = {N, read_rows, &s, 0};
    nnc_history *ha = NULL, *hb = NULL;
    nnc_status sa = a ? nnc_fit(a, x, y, N, o, &ha) : NNC_ERR_ARG, sb = b ? nnc_fit_source(b, &src, o, &hb) : NNC_ERR_ARG;
    if (CHECK(r, sa == NNC_OK && sb == NNC_OK, "fit: %s / %s", a ? nnc_last_error(a) : "", b ? nnc_last_error(b) : "")) {
        CHECK(r, a->n_param_floats == b->n_param_floats &&
                     !memcmp(a->param_arena, b->param_arena, a->n_param_floats * sizeof(float)),
              "the weights differ");
        const nnc_logs *la = nnc_history_logs(ha, o->epochs - 1), *lb = nnc_history_logs(hb, o->epochs - 1);
        CHECK(r, la && lb && la->count == lb->count, "the histories differ");
        for (int i = 0; la && lb && i < la->count && i < lb->count; i++)
            CHECK(r, !strcmp(la->names[i], lb->names[i]) && la->values[i] == lb->values[i], "%s: %g vs %g",
                  la->names[i], la->values[i], lb->values[i]);
        /* every training row once per epoch, the validation rows once per epoch */
        size_t ntrain = (size_t)ceil(N * (1.0 - (double)o->validation_split));
        CHECK(r, s.rows_read == (size_t)o->epochs * N, "%zu rows read for %d epochs of %zu (%zu training)",
              s.rows_read, o->epochs, (size_t)N, ntrain);
        nnc_logs ea, eb;
        src.n = N;
        if (CHECK(r, nnc_evaluate(a, x, y, N, 50, &ea) == NNC_OK && nnc_evaluate_source(b, &src, 50, &eb) == NNC_OK,
                  "evaluate failed"))
            for (int i = 0; i < ea.count; i++) CHECK(r, ea.values[i] == eb.values[i], "evaluate's %s differs", ea.names[i]);
    }
    nnc_history_free(ha);
    nnc_history_free(hb);
    nnc_model_free(a);
    nnc_model_free(b);
    t_end(r);
}

static void failures(test_run *r) {
    static float x[N * F], y[N];
    data(x, y);
    struct {
        const char *what, *expect;
        size_t fail_at, nan_at;
        float label;
    } cases[] = {
        {"a row the source cannot read ends fit with its message", "data.bin: row 250 cannot be read", 250, SIZE_MAX, 0},
        {"a NaN in a row read ends fit", "inputs must be finite", SIZE_MAX, 17, 0},
        {"a label out of range read ends fit", "is not a class label", SIZE_MAX, SIZE_MAX, 7},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        if (!t_begin(r, "stream: %s", cases[c].what)) continue;
        float y2[N];
        memcpy(y2, y, sizeof y2);
        if (cases[c].label) y2[123] = cases[c].label;
        nnc_model *m = model(1);
        mem_src s = {x, y2, cases[c].fail_at, cases[c].nan_at, 0, 0};
        nnc_row_source src = {N, read_rows, &s, 0};
        nnc_fit_opts o = nnc_fit_opts_default();
        o.verbose = 0, o.epochs = 2;
        nnc_status st = m ? nnc_fit_source(m, &src, &o, NULL) : NNC_OK;
        CHECK(r, st != NNC_OK && strstr(nnc_last_error(m), cases[c].expect), "status %d, message '%s'", (int)st,
              m ? nnc_last_error(m) : "");
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "stream: no source, an empty source: one-line errors")) {
        nnc_model *m = model(1);
        nnc_row_source empty = {0, read_rows, NULL, 0};
        CHECK(r, m && nnc_fit_source(m, NULL, NULL, NULL) == NNC_ERR_ARG, "a NULL source was taken");
        CHECK(r, m && nnc_fit_source(m, &empty, NULL, NULL) == NNC_ERR_ARG, "an empty source was taken");
        nnc_logs l;
        CHECK(r, m && nnc_evaluate_source(m, &empty, 32, &l) == NNC_ERR_ARG, "evaluate took an empty source");
        nnc_model_free(m);
        t_end(r);
    }
}

void suite_stream(test_run *r);
void suite_stream(test_run *r) {
    nnc_fit_opts o = nnc_fit_opts_default();
    o.verbose = 0, o.epochs = 3, o.batch_size = 32;
    same_as_arrays(r, "shuffled batches of 32", &o, 1);
    same_as_arrays(r, "2 threads", &o, 2);
    nnc_fit_opts v = o;
    v.validation_split = 0.2f;
    same_as_arrays(r, "validation_split 0.2 (the source's last rows)", &v, 1);
    nnc_fit_opts w = o;
    static float sw[N];
    for (int i = 0; i < N; i++) sw[i] = 0.5f + (float)(i % 3);
    static const float cw[K] = {1.0f, 2.0f, 0.5f, 1.5f};
    w.sample_weight = sw, w.class_weight = cw, w.n_class_weights = K, w.steps_per_update = 2;
    same_as_arrays(r, "sample and class weights, 2 steps per update", &w, 1);
    nnc_fit_opts big = o;
    big.batch_size = 512; /* one batch of every row */
    same_as_arrays(r, "a batch larger than the data", &big, 1);
    failures(r);
}
