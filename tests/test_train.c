/* The training machinery: determinism, equivalences (a batch vs the mean of single-sample
 * gradients; save → load → continue vs uninterrupted), a closed-form problem, multi-class and
 * multi-label learning, save/load round trips, Keras's summary, and bad input. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "compare.h"
#include "files.h"
#include "blobs.h"
#include "core/rng.h"
#include "io/model_file.h"
#include "train/train_impl.h"

static char tmpdir[64];

static const char *tmp_path(const char *name) {
    static char path[160];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/nnc_train_XXXXXX");
        if (!mkdtemp(tmpdir)) tmpdir[0] = '\0';
    }
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static nnc_model *mlp(int in, int hidden, int out, nnc_activation out_act, nnc_loss loss,
                      nnc_optimizer opt, uint64_t seed) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_model_set_seed(m, seed);
    nnc_input(m, (int[]){in}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(hidden);
    d.activation = NNC_ACT_RELU;
    nnc_dense(m, NNC_PREV, &d);
    d = nnc_dense_opts_default(out);
    d.activation = out_act;
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = loss;
    c.optimizer = opt;
    c.metrics[c.n_metrics++] = NNC_METRIC_ACCURACY;
    if (nnc_compile(m, &c)) {
        fprintf(stderr, "  (expected in bad-input cases) %s\n", nnc_last_error(m));
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

static nnc_loss scce_logits(void) {
    nnc_loss l = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    l.from_logits = true;
    return l;
}

static nnc_fit_opts quiet_fit(int epochs, int bs) {
    nnc_fit_opts o = nnc_fit_opts_default();
    o.epochs = epochs;
    o.batch_size = bs;
    o.verbose = 0;
    return o;
}

static void test_determinism(test_run *r) {
    if (!t_begin(r, "train/same_seed_bit_identical")) return;
    float x[120 * 4], y[120];
    blobs(1, 120, x, y);
    float *w[3] = {NULL, NULL, NULL};
    size_t np = 0;
    /* two runs with seed 5, one with seed 6 */
    for (int k = 0; k < 3; k++) {
        nnc_model *m = mlp(4, 8, 3, NNC_ACT_LINEAR, scce_logits(), nnc_adam_default(), k < 2 ? 5 : 6);
        nnc_fit_opts o = quiet_fit(3, 16);
        if (CHECK(r, m != NULL, "compile") &&
            CHECK(r, nnc_fit(m, x, y, 120, &o, NULL) == NNC_OK, "fit: %s", nnc_last_error(m))) {
            np = m->n_param_floats;
            w[k] = malloc(np * sizeof(float));
            if (w[k]) memcpy(w[k], m->param_arena, np * sizeof(float));
        }
        nnc_model_free(m);
    }
    if (CHECK(r, w[0] && w[1] && w[2], "a training failed")) {
        CHECK(r, !memcmp(w[0], w[1], np * sizeof(float)), "weights differ");
        CHECK(r, memcmp(w[0], w[2], np * sizeof(float)) != 0, "a different seed gave the same weights");
    }
    for (int k = 0; k < 3; k++) free(w[k]);
    t_end(r);
}

/* The gradient of a batch of N is the mean of the N single-example gradients. */
static void test_batch_vs_single(test_run *r) {
    if (!t_begin(r, "train/batch_gradient_equals_mean_of_single")) return;
    enum { N = 12 };
    float x[N * 4], y[N];
    blobs(2, N, x, y);
    nnc_model *m = mlp(4, 8, 3, NNC_ACT_SOFTMAX, nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY),
                       nnc_sgd_default(), 3);
    if (!CHECK(r, m != NULL, "compile") || !CHECK(r, nnc_train_plan(m, N) == NNC_OK, "plan: %s", nnc_last_error(m))) {
        nnc_model_free(m);
        t_end(r);
        return;
    }
    size_t P = m->n_param_floats;
    double *mean = calloc(P, sizeof(double));
    for (int i = 0; i < N; i++) {
        nnc_gather_inputs(m, x, NULL, (size_t)i, 1);
        nnc_gather_targets(m, y, NULL, (size_t)i, 1);
        nnc_zero_grads(m);
        nnc_forward(m, 1, 1);
        nnc_loss_forward(m, 1, 1);
        nnc_backward(m, 1);
        for (size_t p = 0; p < P; p++) mean[p] += (double)m->grad_arena[p] / N;
    }
    nnc_gather_inputs(m, x, NULL, 0, N);
    nnc_gather_targets(m, y, NULL, 0, N);
    nnc_zero_grads(m);
    nnc_forward(m, N, 1);
    nnc_loss_forward(m, N, 1);
    nnc_backward(m, N);
    double worst = 0.0;
    CHECK_NEAR_F32_F64(r, m->grad_arena, P, mean, P, 1e-6, 0.0, &worst, "batch gradient vs mean of single ones");
    t_info(r, "max |batch gradient - mean of single gradients| = %.3g", worst);
    free(mean);
    nnc_model_free(m);
    t_end(r);
}

static void test_least_squares(test_run *r) {
    if (!t_begin(r, "train/linear_regression_reaches_least_squares")) return;
    enum { N = 64 };
    float x[N * 3], y[N];
    nnc_rng g;
    nnc_rng_seed(&g, 11);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < 3; j++) x[i * 3 + j] = (float)nnc_rng_normal(&g);
        y[i] = (float)(1.5 * (double)x[i * 3] - 2.0 * (double)x[i * 3 + 1] + 0.5 * (double)x[i * 3 + 2] + 0.7 +
                       0.1 * nnc_rng_normal(&g));
    }
    /* Normal equations [X 1]ᵀ[X 1] β = [X 1]ᵀ y, solved by Gaussian elimination. */
    double A[4][5] = {{0}};
    for (int i = 0; i < N; i++) {
        double row[4] = {(double)x[i * 3], (double)x[i * 3 + 1], (double)x[i * 3 + 2], 1.0};
        for (int a = 0; a < 4; a++) {
            for (int b = 0; b < 4; b++) A[a][b] += row[a] * row[b];
            A[a][4] += row[a] * (double)y[i];
        }
    }
    for (int c = 0; c < 4; c++)
        for (int rr = 0; rr < 4; rr++)
            if (rr != c) {
                double f = A[rr][c] / A[c][c];
                for (int k = c; k < 5; k++) A[rr][k] -= f * A[c][k];
            }
    nnc_model *m = nnc_model_new(NULL);
    nnc_input(m, (int[]){3}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(1);
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    c.optimizer = nnc_sgd_default();
    c.optimizer.learning_rate = 0.1f;
    nnc_fit_opts o = quiet_fit(500, N);
    float wb[4]; /* kernel, then bias */
    if (CHECK(r, nnc_compile(m, &c) == NNC_OK, "compile: %s", nnc_last_error(m)) &&
        CHECK(r, nnc_fit(m, x, y, N, &o, NULL) == NNC_OK, "fit: %s", nnc_last_error(m)) &&
        CHECK(r, nnc_get_variable(m, "dense.kernel", wb, 3) == NNC_OK &&
                     nnc_get_variable(m, "dense.bias", wb + 3, 1) == NNC_OK,
              "get_variable: %s", nnc_last_error(m))) {
        double want[4], worst = 0.0;
        for (int k = 0; k < 4; k++) want[k] = A[k][4] / A[k][k];
        CHECK_NEAR_F32_F64(r, wb, 4, want, 4, 1e-4, 0.0, &worst, "weights vs least squares");
        t_info(r, "max |w - least squares| = %.3g", worst);
    }
    nnc_model_free(m);
    t_end(r);
}

static void test_multiclass(test_run *r) {
    if (!t_begin(r, "train/multiclass_softmax_learns")) return;
    float x[300 * 4], y[300];
    blobs(4, 300, x, y);
    nnc_model *m = mlp(4, 16, 3, NNC_ACT_SOFTMAX, nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY),
                       nnc_adam_default(), 1);
    nnc_fit_opts o = quiet_fit(30, 32);
    o.validation_split = 0.2f;
    nnc_history *h = NULL;
    if (!CHECK(r, m != NULL, "compile") ||
        !CHECK(r, nnc_fit(m, x, y, 300, &o, &h) == NNC_OK, "fit: %s", nnc_last_error(m)) ||
        !CHECK(r, nnc_history_epochs(h) == 30, "history has %d epochs", nnc_history_epochs(h))) {
        nnc_history_free(h);
        nnc_model_free(m);
        t_end(r);
        return;
    }
    const nnc_logs *last = nnc_history_logs(h, 29), *first = nnc_history_logs(h, 0);
    double acc = nnc_logs_get(last, "val_accuracy");
    CHECK(r, acc >= 0.9, "val_accuracy %.3f", acc);
    CHECK(r, nnc_logs_get(last, "loss") < nnc_logs_get(first, "loss"), "loss did not fall");
    t_info(r, "val_accuracy %.4f after 30 epochs", acc);
    nnc_history_free(h);
    nnc_model_free(m);
    t_end(r);
}

static void test_multilabel(test_run *r) {
    if (!t_begin(r, "train/multilabel_sigmoid_learns")) return;
    enum { N = 400 };
    float x[N * 4], y[N * 3];
    nnc_rng g;
    nnc_rng_seed(&g, 8);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < 4; j++) x[i * 4 + j] = (float)nnc_rng_normal(&g);
        y[i * 3] = x[i * 4] > 0;                      /* several independent yes/no answers */
        y[i * 3 + 1] = x[i * 4 + 1] + x[i * 4 + 2] > 0;
        y[i * 3 + 2] = x[i * 4 + 3] < -0.3f;
    }
    nnc_model *m = mlp(4, 16, 3, NNC_ACT_SIGMOID, nnc_loss_default(NNC_LOSS_BINARY_CROSSENTROPY),
                       nnc_adam_default(), 2);
    nnc_optimizer fast = nnc_adam_default();
    (void)fast;
    nnc_fit_opts o = quiet_fit(60, 32);
    float *p = malloc(N * 3 * sizeof(float));
    nnc_logs l;
    if (CHECK(r, m != NULL && p != NULL, "compile") &&
        CHECK(r, nnc_fit(m, x, y, N, &o, NULL) == NNC_OK, "fit: %s", nnc_last_error(m)) &&
        CHECK(r, nnc_predict(m, x, N, p) == NNC_OK, "predict: %s", nnc_last_error(m)) &&
        CHECK(r, nnc_evaluate(m, x, y, N, 0, &l) == NNC_OK, "evaluate: %s", nnc_last_error(m))) {
        int hits[3] = {0};
        for (int i = 0; i < N; i++)
            for (int k = 0; k < 3; k++) hits[k] += (p[i * 3 + k] > 0.5f) == (y[i * 3 + k] > 0.5f);
        for (int k = 0; k < 3; k++) CHECK(r, hits[k] >= 0.9 * N, "label %d accuracy %.3f", k, hits[k] / (double)N);
        CHECK_NEAR(r, nnc_logs_get(&l, "accuracy"), (hits[0] + hits[1] + hits[2]) / (3.0 * N), 1e-6, 0.0, NULL,
                   "evaluate's binary accuracy vs the mean per-label accuracy");
        t_info(r, "per-label training accuracy %.3f %.3f %.3f", hits[0] / (double)N, hits[1] / (double)N,
               hits[2] / (double)N);
    }
    free(p);
    nnc_model_free(m);
    t_end(r);
}

static void test_save_load(test_run *r) {
    float x[90 * 4], y[90];
    blobs(5, 90, x, y);
    if (t_begin(r, "file/save_load_bit_identical_predictions")) {
        nnc_model *m = mlp(4, 8, 3, NNC_ACT_SOFTMAX, nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY),
                           nnc_adam_default(), 3);
        nnc_fit_opts o = quiet_fit(2, 16);
        const char *path = tmp_path("m.safetensors");
        nnc_error err = {""};
        nnc_model *l = NULL;
        float p1[90 * 3], p2[90 * 3];
        if (CHECK(r, m != NULL, "compile") &&
            CHECK(r, nnc_fit(m, x, y, 90, &o, NULL) == NNC_OK, "fit: %s", nnc_last_error(m)) &&
            CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save: %s", nnc_last_error(m)) &&
            CHECK(r, (l = nnc_model_load(path, &err)) != NULL, "load: %s", err.message) &&
            CHECK(r, nnc_predict(m, x, 90, p1) == NNC_OK, "predict: %s", nnc_last_error(m)) &&
            CHECK(r, nnc_predict(l, x, 90, p2) == NNC_OK, "predict: %s", nnc_last_error(l))) {
            CHECK(r, !memcmp(p1, p2, sizeof p1), "predictions differ after load");
            CHECK(r, l->train->iterations == m->train->iterations, "iterations %lld vs %lld",
                  (long long)l->train->iterations, (long long)m->train->iterations);
        }
        nnc_model_free(l);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "file/save_load_continue_equals_uninterrupted")) {
        nnc_model *a = mlp(4, 8, 3, NNC_ACT_LINEAR, scce_logits(), nnc_adam_default(), 9);
        nnc_model *b = mlp(4, 8, 3, NNC_ACT_LINEAR, scce_logits(), nnc_adam_default(), 9);
        nnc_fit_opts o5 = quiet_fit(5, 16), o3 = quiet_fit(3, 16), o2 = quiet_fit(2, 16);
        const char *path = tmp_path("resume.safetensors");
        nnc_error err = {""};
        nnc_model *c = NULL;
        if (CHECK(r, a && b, "compile") &&
            CHECK(r, nnc_fit(a, x, y, 90, &o5, NULL) == NNC_OK, "fit: %s", nnc_last_error(a)) &&
            CHECK(r, nnc_fit(b, x, y, 90, &o3, NULL) == NNC_OK, "fit: %s", nnc_last_error(b)) &&
            CHECK(r, nnc_model_save(b, path, NULL) == NNC_OK, "save: %s", nnc_last_error(b)) &&
            CHECK(r, (c = nnc_model_load(path, &err)) != NULL, "load: %s", err.message) &&
            CHECK(r, nnc_fit(c, x, y, 90, &o2, NULL) == NNC_OK, "fit: %s", nnc_last_error(c))) {
            CHECK(r, !memcmp(a->param_arena, c->param_arena, a->n_param_floats * sizeof(float)),
                  "resumed training differs from uninterrupted training");
            CHECK(r, c->train->epochs_done == 5, "epochs_done %d", c->train->epochs_done);
        }
        nnc_model_free(a);
        nnc_model_free(b);
        nnc_model_free(c);
        t_end(r);
    }
    if (t_begin(r, "file/functional_round_trip")) {
        nnc_model *m = nnc_model_new("branches");
        nnc_node in = nnc_input(m, (int[]){4}, 1, "pixels");
        nnc_dense_opts d = nnc_dense_opts_default(6);
        d.activation = NNC_ACT_TANH;
        nnc_node a = nnc_dense(m, in, &d);
        d.activation = NNC_ACT_RELU;
        nnc_node b = nnc_dense(m, in, &d);
        nnc_node s = nnc_add(m, (nnc_node[]){a, b}, 2, NULL);
        nnc_node cat = nnc_concatenate(m, (nnc_node[]){s, a}, 2, -1, NULL);
        d = nnc_dense_opts_default(3);
        nnc_node out = nnc_dense(m, cat, &d);
        nnc_compile_opts co = nnc_compile_opts_default();
        co.loss = scce_logits();
        const char *path = tmp_path("func.safetensors");
        nnc_error err = {""};
        nnc_model *l = NULL;
        float p1[90 * 3], p2[90 * 3];
        if (CHECK(r, nnc_set_outputs(m, &out, 1) == NNC_OK, "set_outputs: %s", nnc_last_error(m)) &&
            CHECK(r, nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m)) &&
            CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save: %s", nnc_last_error(m)) &&
            CHECK(r, (l = nnc_model_load(path, &err)) != NULL, "load: %s", err.message) &&
            CHECK(r, nnc_predict(m, x, 90, p1) == NNC_OK, "predict: %s", nnc_last_error(m)) &&
            CHECK(r, nnc_predict(l, x, 90, p2) == NNC_OK, "predict: %s", nnc_last_error(l))) {
            CHECK(r, !memcmp(p1, p2, sizeof p1), "predictions differ after load");
            CHECK(r, !strcmp(l->name, "branches"), "name '%s'", l->name);
        }
        nnc_model_free(l);
        nnc_model_free(m);
        t_end(r);
    }
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

static void *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc((size_t)len);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

/* Corrupted model files: each must fail to load with a message naming the problem. */
static void test_bad_files(test_run *r) {
    float x[30 * 4], y[30];
    blobs(6, 30, x, y);
    nnc_model *m = mlp(4, 5, 3, NNC_ACT_LINEAR, scce_logits(), nnc_adam_default(), 1);
    nnc_fit_opts o = quiet_fit(1, 8);
    char good[160];
    snprintf(good, sizeof good, "%s", tmp_path("good.safetensors"));
    size_t n = 0;
    unsigned char *bytes = NULL;
    if (!m || nnc_fit(m, x, y, 30, &o, NULL) != NNC_OK || nnc_model_save(m, good, NULL) != NNC_OK ||
        !(bytes = read_file(good, &n)) || n < 8) {
        if (t_begin(r, "file/bad/setup")) {
            CHECK(r, 0, "the good file could not be made: %s", m ? nnc_last_error(m) : "compile failed");
            t_end(r);
        }
        free(bytes);
        nnc_model_free(m);
        return;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | bytes[i];
    char *header = malloc(hlen + 1);
    memcpy(header, bytes + 8, hlen);
    header[hlen] = '\0';
    struct {
        const char *name, *expect;
        size_t cut;              /* truncate to this many bytes, 0: keep */
        const char *from, *to;   /* replace text in the header (same length) */
    } cases[] = {
        {"truncated_data", "", 0, NULL, NULL},
        {"truncated_header", "", 20, NULL, NULL},
        {"bad_json", "", 0, "{\"", "[\""},
        {"unknown_dtype", "F31", 0, "\"F32\"", "\"F31\""},
        {"shape_differs", "shape", 0, "\"shape\":[4,5]", "\"shape\":[5,4]"},
        {"unknown_layer_class", "unknown class", 0, "\\\"Dense\\\"", "\\\"Dunce\\\""},
        {"not_nnc", "not an nnc model", 0, "\"format\":\"nnc\"", "\"format\":\"xyz\""},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        if (!t_begin(r, "file/bad/%s", cases[c].name)) continue;
        unsigned char *copy = malloc(n);
        memcpy(copy, bytes, n);
        size_t len = n;
        if (c == 0) len = n - 7;
        if (cases[c].cut) len = cases[c].cut;
        int applied = 1;
        if (cases[c].from) {
            char *at = strstr(header, cases[c].from);
            applied = at != NULL;
            if (at) memcpy(copy + 8 + (size_t)(at - header), cases[c].to, strlen(cases[c].to));
        }
        CHECK(r, applied, "the fixture text '%s' is not in the header", cases[c].from);
        const char *path = tmp_path("bad.safetensors");
        write_file(path, copy, len);
        nnc_error err = {""};
        nnc_model *l = nnc_model_load(path, &err);
        CHECK(r, l == NULL, "a corrupted file loaded");
        CHECK(r, strstr(err.message, "bad.safetensors") != NULL, "message does not name the file: %s", err.message);
        CHECK(r, strstr(err.message, cases[c].expect) != NULL, "message lacks '%s': %s", cases[c].expect, err.message);
        t_info(r, "%s", err.message);
        nnc_model_free(l);
        free(copy);
        t_end(r);
    }
    if (t_begin(r, "file/bad/interrupted_save_keeps_old_file")) {
        /* different weights than the saved file */
        CHECK(r, nnc_fit(m, x, y, 30, &o, NULL) == NNC_OK, "fit: %s", nnc_last_error(m));
        CHECK(r, nnc_model_save_ex(m, good, NULL, 100) != NNC_OK, "the faulty save succeeded");
        size_t n2 = 0;
        unsigned char *after = read_file(good, &n2);
        CHECK(r, n2 == n && after && !memcmp(after, bytes, n), "the old file changed");
        t_info(r, "%s", nnc_last_error(m));
        free(after);
        t_end(r);
    }
    if (t_begin(r, "file/bad/missing_directory")) {
        CHECK(r, nnc_model_save(m, "/nonexistent_dir_nnc/x.safetensors", NULL) == NNC_ERR_IO, "saved");
        CHECK(r, strstr(nnc_last_error(m), "nonexistent_dir_nnc") != NULL, "%s", nnc_last_error(m));
        t_end(r);
    }
    free(header);
    free(bytes);
    nnc_model_free(m);
}

/* A step whose loss is not finite changes nothing, batch normalization's moving statistics
 * included: they equal those after the last good batch. */
typedef struct {
    nnc_model *m;
    float mean[4];
    int failed_reads;
} bn_watch;

static bool bn_snapshot(void *user, const nnc_batch_info *b) {
    (void)b;
    bn_watch *w = user;
    w->failed_reads += nnc_get_variable(w->m, "batch_normalization.moving_mean", w->mean, 4) != NNC_OK;
    return false;
}

static void test_diverging_bn(test_run *r) {
    if (!t_begin(r, "bad/diverging_step_keeps_moving_statistics")) return;
    const char *s = "input 3\ndense 4\nbatch_normalization\ndense 1\nloss mse\noptimizer sgd learning_rate=1e30\n";
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(s, strlen(s), "t.nnc", &e);
    float x[40 * 3], y[40];
    for (int i = 0; i < 120; i++) x[i] = (float)((i * 13) % 7) - 3.0f;
    for (int i = 0; i < 40; i++) y[i] = (float)(i % 5);
    if (CHECK(r, m != NULL, "%s", e.message)) {
        bn_watch w = {m, {0}, 0};
        nnc_fit_opts o = quiet_fit(5, 4);
        o.on_batch_end = bn_snapshot;
        o.user = &w;
        CHECK(r, nnc_fit(m, x, y, 40, &o, NULL) == NNC_ERR_NUMERIC, "did not diverge");
        float now[4];
        if (CHECK(r, w.failed_reads == 0 &&
                         nnc_get_variable(m, "batch_normalization.moving_mean", now, 4) == NNC_OK,
                  "get_variable: %s", nnc_last_error(m)))
            CHECK(r, !memcmp(now, w.mean, sizeof now), "the failing step moved the moving statistics");
    }
    nnc_model_free(m);
    t_end(r);
}

/* Bad calls and bad data: each returns an error with a message, and nothing crashes. */
static void test_bad_input(test_run *r) {
    float x[10 * 4], y[10];
    blobs(7, 10, x, y);
    if (t_begin(r, "bad/add_shapes_differ")) {
        nnc_model *m = nnc_model_new(NULL);
        nnc_node in = nnc_input(m, (int[]){4}, 1, NULL);
        nnc_dense_opts d = nnc_dense_opts_default(3);
        nnc_node a = nnc_dense(m, in, &d);
        d.units = 5;
        nnc_node b = nnc_dense(m, in, &d);
        CHECK(r, nnc_add(m, (nnc_node[]){a, b}, 2, "join") == NNC_NONE, "accepted");
        CHECK(r, strstr(nnc_last_error(m), "join") && strstr(nnc_last_error(m), "(None, 3)"), "%s", nnc_last_error(m));
        nnc_compile_opts c = nnc_compile_opts_default();
        CHECK(r, nnc_compile(m, &c) == NNC_ERR_SHAPE, "compile after a failed build must fail");
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "bad/loss_does_not_fit_output")) {
        nnc_model *m = mlp(4, 5, 1, NNC_ACT_LINEAR, scce_logits(), nnc_adam_default(), 1);
        CHECK(r, m == NULL, "scce on one output compiled");
        nnc_model *m2 = nnc_model_new(NULL);
        nnc_input(m2, (int[]){4}, 1, NULL);
        nnc_dense_opts d = nnc_dense_opts_default(1);
        d.name = "out";
        nnc_dense(m2, NNC_PREV, &d);
        nnc_compile_opts c = nnc_compile_opts_default();
        c.loss = scce_logits();
        CHECK(r, nnc_compile(m2, &c) == NNC_ERR_SHAPE, "compiled");
        CHECK(r, strstr(nnc_last_error(m2), "'out'") != NULL, "%s", nnc_last_error(m2));
        t_info(r, "%s", nnc_last_error(m2));
        nnc_model_free(m2);
        t_end(r);
    }
    if (t_begin(r, "bad/label_out_of_range")) {
        nnc_model *m = mlp(4, 5, 3, NNC_ACT_LINEAR, scce_logits(), nnc_adam_default(), 1);
        float yb[10];
        memcpy(yb, y, sizeof yb);
        yb[6] = 3.0f;
        nnc_fit_opts o = quiet_fit(1, 4);
        CHECK(r, nnc_fit(m, x, yb, 10, &o, NULL) == NNC_ERR_DATA, "accepted");
        CHECK(r, strstr(nnc_last_error(m), "y[6]") != NULL, "%s", nnc_last_error(m));
        yb[6] = 1.5f;
        CHECK(r, nnc_fit(m, x, yb, 10, &o, NULL) == NNC_ERR_DATA, "accepted 1.5");
        t_info(r, "%s", nnc_last_error(m));
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "bad/nan_in_inputs")) {
        nnc_model *m = mlp(4, 5, 3, NNC_ACT_LINEAR, scce_logits(), nnc_adam_default(), 1);
        float xb[40];
        memcpy(xb, x, sizeof xb);
        xb[13] = NAN;
        nnc_fit_opts o = quiet_fit(1, 4);
        CHECK(r, nnc_fit(m, xb, y, 10, &o, NULL) == NNC_ERR_DATA, "accepted NaN");
        CHECK(r, strstr(nnc_last_error(m), "x[3][1]") != NULL, "%s", nnc_last_error(m));
        xb[13] = INFINITY;
        float out[30];
        CHECK(r, nnc_predict(m, xb, 10, out) == NNC_ERR_DATA, "predict accepted Inf");
        t_info(r, "%s", nnc_last_error(m));
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "bad/diverging_loss_stops")) {
        nnc_optimizer sgd = nnc_sgd_default();
        sgd.learning_rate = 1e30f;
        nnc_model *m = mlp(4, 5, 1, NNC_ACT_LINEAR, nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR), sgd, 1);
        nnc_fit_opts o = quiet_fit(20, 4);
        CHECK(r, nnc_fit(m, x, y, 10, &o, NULL) == NNC_ERR_NUMERIC, "did not stop");
        CHECK(r, strstr(nnc_last_error(m), "epoch") && strstr(nnc_last_error(m), "batch"), "%s", nnc_last_error(m));
        t_info(r, "%s", nnc_last_error(m));
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "bad/calls_out_of_order")) {
        nnc_model *m = nnc_model_new(NULL);
        nnc_dense_opts d = nnc_dense_opts_default(3);
        CHECK(r, nnc_dense(m, NNC_PREV, &d) == NNC_NONE, "dense without input");
        nnc_model_free(m);
        m = nnc_model_new(NULL);
        nnc_input(m, (int[]){4}, 1, NULL);
        nnc_dense(m, NNC_PREV, &d);
        nnc_fit_opts o = quiet_fit(1, 4);
        CHECK(r, nnc_fit(m, x, y, 10, &o, NULL) == NNC_ERR_STATE, "fit before compile");
        nnc_compile_opts c = nnc_compile_opts_default();
        CHECK(r, nnc_compile(m, &c) == NNC_OK, "compile: %s", nnc_last_error(m));
        CHECK(r, nnc_dense(m, NNC_PREV, &d) == NNC_NONE, "layer added after compile");
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "bad/bad_arguments")) {
        nnc_model *m = nnc_model_new(NULL);
        nnc_input(m, (int[]){4}, 1, NULL);
        nnc_dense_opts d = nnc_dense_opts_default(0);
        CHECK(r, nnc_dense(m, NNC_PREV, &d) == NNC_NONE, "0 units accepted");
        nnc_model_free(m);
        m = nnc_model_new(NULL);
        nnc_input(m, (int[]){4}, 1, NULL);
        d = nnc_dense_opts_default(2);
        d.name = "9lives";
        CHECK(r, nnc_dense(m, NNC_PREV, &d) == NNC_NONE, "bad name accepted");
        nnc_model_free(m);
        m = mlp(4, 5, 3, NNC_ACT_LINEAR, scce_logits(), nnc_adam_default(), 1);
        nnc_fit_opts o = quiet_fit(0, 4);
        CHECK(r, nnc_fit(m, x, y, 10, &o, NULL) == NNC_ERR_ARG, "0 epochs accepted");
        o = quiet_fit(1, 0);
        CHECK(r, nnc_fit(m, x, y, 10, &o, NULL) == NNC_ERR_ARG, "batch 0 accepted");
        o = quiet_fit(1, 4);
        o.validation_split = 1.0f;
        CHECK(r, nnc_fit(m, x, y, 10, &o, NULL) == NNC_ERR_ARG, "split 1 accepted");
        nnc_model_free(m);
        nnc_optimizer bad = nnc_adam_default();
        bad.learning_rate = -1.0f;
        CHECK(r, mlp(4, 5, 3, NNC_ACT_LINEAR, scce_logits(), bad, 1) == NULL, "negative lr accepted");
        t_end(r);
    }
}

static void test_summary(test_run *r) {
    if (!t_begin(r, "summary/keras_table")) return;
    nnc_model *m = nnc_model_new(NULL);
    nnc_input(m, (int[]){64}, 1, NULL);
    const char *names[3] = {"layer_1", "layer_2", "layer_3"};
    int units[3] = {25, 15, 10};
    for (int i = 0; i < 3; i++) {
        nnc_dense_opts d = nnc_dense_opts_default(units[i]);
        d.activation = i < 2 ? NNC_ACT_RELU : NNC_ACT_LINEAR;
        d.name = names[i];
        nnc_dense(m, NNC_PREV, &d);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (CHECK(r, f != NULL, "open_memstream failed")) {
        CHECK(r, nnc_summary(m, f) == NNC_OK, "summary: %s", nnc_last_error(m));
        fclose(f);
    }
    const char *expect =
        "Model: \"sequential\"\n"
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n"
        "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n"
        "│ layer_1 (Dense)                 │ (None, 25)             │         1,625 │\n"
        "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
        "│ layer_2 (Dense)                 │ (None, 15)             │           390 │\n"
        "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
        "│ layer_3 (Dense)                 │ (None, 10)             │           160 │\n"
        "└─────────────────────────────────┴────────────────────────┴───────────────┘\n"
        " Total params: 2,175 (8.50 KB)\n"
        " Trainable params: 2,175 (8.50 KB)\n"
        " Non-trainable params: 0 (0.00 B)\n";
    CHECK(r, buf && !strcmp(buf, expect), "summary differs:\n%s", buf ? buf : "(null)");
    free(buf);
    nnc_model_free(m);
    t_end(r);
}

static void test_default_names(test_run *r) {
    if (!t_begin(r, "build/keras_default_names")) return;
    nnc_model *m = nnc_model_new(NULL);
    nnc_input(m, (int[]){4}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(3);
    for (int i = 0; i < 3; i++) nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    CHECK(r, nnc_compile(m, &c) == NNC_OK, "compile: %s", nnc_last_error(m));
    CHECK(r, nnc_variable_count(m) == 6, "%d variables", nnc_variable_count(m));
    CHECK(r, !strcmp(nnc_variable_name(m, 0), "dense.kernel") &&
                 !strcmp(nnc_variable_name(m, 2), "dense_1.kernel") &&
                 !strcmp(nnc_variable_name(m, 5), "dense_2.bias"), "names %s %s %s",
          nnc_variable_name(m, 0), nnc_variable_name(m, 2), nnc_variable_name(m, 5));
    /* Glorot uniform: every kernel value within sqrt(6/(in+out)); biases zero. */
    float w[9], b[3];
    if (CHECK(r, nnc_get_variable(m, "dense_1.kernel", w, 9) == NNC_OK &&
                     nnc_get_variable(m, "dense_1.bias", b, 3) == NNC_OK,
              "get_variable: %s", nnc_last_error(m))) {
        int ok = 1;
        for (int i = 0; i < 9; i++) ok &= fabsf(w[i]) <= 1.0f && w[i] != 0.0f;
        CHECK(r, ok && b[0] == 0 && b[1] == 0 && b[2] == 0, "initial values out of Glorot's range");
    }
    nnc_model_free(m);
    t_end(r);
}

void suite_train(test_run *r);
void suite_train(test_run *r) {
    test_default_names(r);
    test_summary(r);
    test_determinism(r);
    test_batch_vs_single(r);
    test_least_squares(r);
    test_multiclass(r);
    test_multilabel(r);
    test_save_load(r);
    test_bad_files(r);
    test_bad_input(r);
    test_diverging_bn(r);
    if (tmpdir[0]) remove_tree(tmpdir);
}
