/* Writing Keras files (src/interop/keras_save.c): nnc -> .keras -> nnc and nnc -> .h5 -> nnc
 * predict the same bits, for a Sequential CNN and a two-input functional model; the optimizer
 * state goes through too, in Keras 3's order of each optimizer's slots, so that one more epoch
 * after the round trip gives the same weights as one more epoch before it (shuffle off and no
 * dropout there: a Keras file has no place for nnc's random state). The files nnc writes are read by
 * tools/keras_reference.py (numpy and h5py, not nnc), which predicts what nnc predicts. And
 * the command line: train --save m.keras, then predict from it. Skips without NNC_INTEROP. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "files.h"
#include "shell.h"
#include "nnc.h"

#define ROWS 24

static float frand(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)(*s >> 40) / (float)(1 << 24);
}

/* A Sequential CNN of the layers the reference computes (8x8x1 to 3 classes), or a two-input
 * functional MLP (inputs of 3 and 2 features, concatenated, 2 outputs). */
static nnc_model *cnn(int dropout) {
    nnc_model *m = nnc_model_new("cnn");
    nnc_input(m, (int[]){8, 8, 1}, 3, NULL);
    nnc_conv_opts c = nnc_conv_opts_default(3, 3);
    c.padding_same = true;
    c.activation = NNC_ACT_RELU;
    nnc_conv2d(m, NNC_PREV, &c);
    nnc_batch_norm_opts b = nnc_batch_norm_opts_default();
    nnc_batch_normalization(m, NNC_PREV, &b);
    nnc_pool_opts p = nnc_pool_opts_default(2);
    nnc_max_pooling2d(m, NNC_PREV, &p);
    if (dropout) nnc_dropout(m, NNC_PREV, 0.25f, NULL); /* its masks come from nnc's random state */
    nnc_flatten(m, NNC_PREV, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(3);
    d.activation = NNC_ACT_SOFTMAX;
    nnc_dense(m, NNC_PREV, &d);
    return m;
}

static nnc_model *two_inputs(void) {
    nnc_model *m = nnc_model_new("two");
    nnc_node a = nnc_input(m, (int[]){3}, 1, "a"), b = nnc_input(m, (int[]){2}, 1, "b");
    nnc_dense_opts d = nnc_dense_opts_default(4);
    d.activation = NNC_ACT_TANH;
    nnc_node xs[2] = {nnc_dense(m, a, &d), b};
    nnc_node cat = nnc_concatenate(m, xs, 2, -1, NULL);
    d = nnc_dense_opts_default(2);
    nnc_node out = nnc_dense(m, cat, &d);
    nnc_set_outputs(m, &out, 1);
    return m;
}

static nnc_fit_opts quiet(void) {
    nnc_fit_opts f = nnc_fit_opts_default();
    f.epochs = 1;
    f.batch_size = 8;
    f.verbose = 0;
    f.shuffle = false;
    return f;
}

/* Compiles, trains two epochs on seeded data; x, y hold the data. */
static int train(nnc_model *m, nnc_loss_kind loss, nnc_optimizer opt, float *x, float *y) {
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(loss);
    c.optimizer = opt;
    c.metrics[c.n_metrics++] = NNC_METRIC_MAE;
    if (nnc_compile(m, &c) != NNC_OK) return -1;
    uint64_t s = 3;
    size_t in = nnc_input_size(m), out = nnc_target_size(m);
    for (size_t i = 0; i < ROWS * in; i++) x[i] = frand(&s);
    for (size_t i = 0; i < ROWS * out; i++) y[i] = loss == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? (float)(i % 3) : frand(&s);
    nnc_fit_opts f = quiet();
    f.epochs = 2;
    return nnc_fit(m, x, y, ROWS, &f, NULL) == NNC_OK ? 0 : -1;
}

/* Every variable of a and b, bit for bit. */
static int same_weights(nnc_model *a, nnc_model *b) {
    if (nnc_variable_count(a) != nnc_variable_count(b)) return 0;
    float wa[512], wb[512];
    for (int i = 0; i < nnc_variable_count(a); i++) {
        int shape[NNC_MAX_RANK], rank = nnc_variable_shape(a, i, shape);
        size_t n = 1;
        for (int d = 0; d < rank; d++) n *= (size_t)shape[d];
        if (n > 512 || nnc_get_variable(a, nnc_variable_name(a, i), wa, n) ||
            nnc_get_variable(b, nnc_variable_name(a, i), wb, n) || memcmp(wa, wb, n * sizeof *wa))
            return 0;
    }
    return 1;
}

/* Saves m as path, loads it back: same predictions, no notes, and one more epoch on both gives
 * the same weights (the optimizer state and its iteration count came through). */
static void round_trip(test_run *r, nnc_model *m, const char *path, const float *x, const float *y) {
    size_t out = nnc_output_size(m);
    float p1[ROWS * 8], p2[ROWS * 8];
    nnc_error e = {""};
    if (!CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save: %s", nnc_last_error(m))) return;
    nnc_model *l = nnc_model_load(path, &e);
    if (!CHECK(r, l != NULL, "load: %s", e.message)) return;
    CHECK(r, nnc_model_note_count(l) == 0, "notes on reading nnc's own file: %s", nnc_model_note(l, 0));
    CHECK(r, nnc_predict(m, x, ROWS, p1) == NNC_OK && nnc_predict(l, x, ROWS, p2) == NNC_OK &&
                 !memcmp(p1, p2, ROWS * out * sizeof *p1), "predictions differ after the round trip");
    nnc_compile_opts a = nnc_model_compile_opts(m), b = nnc_model_compile_opts(l);
    CHECK(r, a.loss.kind == b.loss.kind && a.optimizer.kind == b.optimizer.kind && a.n_metrics == b.n_metrics &&
                 a.optimizer.schedule.kind == b.optimizer.schedule.kind &&
                 (a.optimizer.schedule.kind || a.optimizer.learning_rate == b.optimizer.learning_rate),
          "compile settings differ");
    nnc_fit_opts f = quiet();
    CHECK(r, nnc_fit(m, x, y, ROWS, &f, NULL) == NNC_OK && nnc_fit(l, x, y, ROWS, &f, NULL) == NNC_OK, "fit failed");
    CHECK(r, same_weights(m, l), "one more epoch gives other weights: the optimizer state did not come through");
    nnc_model_free(l);
}

static nnc_optimizer with(nnc_optimizer o, int variant) {
    if (o.kind == NNC_OPT_SGD) o.momentum = 0.9f, o.nesterov = true;
    if (o.kind == NNC_OPT_ADAM) o.amsgrad = true;
    if (o.kind == NNC_OPT_RMSPROP) o.momentum = 0.5f, o.centered = true;
    if (variant && o.kind == NNC_OPT_ADAMW) { /* a schedule: no learning_rate variable in the file */
        o.schedule = nnc_schedule_default(NNC_SCHEDULE_EXPONENTIAL_DECAY);
        o.schedule.initial_learning_rate = 0.01f;
        o.schedule.decay_steps = 3.0f;
        o.schedule.decay_rate = 0.5f;
    }
    return o;
}

static void round_trips(test_run *r, const char *dir) {
    nnc_optimizer (*const opts[])(void) = {nnc_sgd_default, nnc_adam_default, nnc_rmsprop_default, nnc_adagrad_default,
                                           nnc_adadelta_default, nnc_adamw_default, nnc_nadam_default, nnc_adamax_default};
    static const char *const ext[2] = {"keras", "h5"};
    float x[ROWS * 64], y[ROWS * 2];
    char path[300];
    for (size_t o = 0; o < sizeof opts / sizeof *opts; o++)
        for (int k = 0; k < 2; k++) {
            nnc_optimizer opt = with(opts[o](), 1);
            int cnn_model = o % 2 == 0;
            if (!t_begin(r, "keras/write/round_trip_%s_%s_%s", cnn_model ? "cnn" : "two_inputs", nnc_optimizer_name(opt.kind), ext[k]))
                continue;
            nnc_model *m = cnn_model ? cnn(0) : two_inputs();
            int ok = train(m, cnn_model ? NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY : NNC_LOSS_MEAN_SQUARED_ERROR, opt, x, y) == 0;
            snprintf(path, sizeof path, "%s/m_%zu.%s", dir, o, ext[k]);
            if (CHECK(r, ok, "training failed: %s", nnc_last_error(m))) round_trip(r, m, path, x, y);
            nnc_model_free(m);
            t_end(r);
        }
}

/* tools/keras_reference.py reads nnc's files (not with nnc) and predicts what nnc does. */
static void reference_reads_them(test_run *r, const char *dir) {
    static const char *const ext[2] = {"keras", "h5"};
    char cmd[2048], path[300], xin[300], xout[300];
    int py = access("/usr/bin/python3", X_OK) == 0 && system("/usr/bin/python3 -c 'import numpy, h5py' >/dev/null 2>&1") == 0;
    for (int k = 0; k < 2; k++) {
        if (!t_begin(r, "keras/write/reference_reads_the_%s_file", ext[k])) continue;
        if (!py) {
            t_skip(r, "needs /usr/bin/python3 with numpy and h5py");
            continue;
        }
        float x[ROWS * 64], y[ROWS * 2], want[ROWS * 3], got[ROWS * 3];
        nnc_model *m = cnn(1);
        snprintf(path, sizeof path, "%s/ref.%s", dir, ext[k]);
        snprintf(xin, sizeof xin, "%s/x.f32", dir);
        snprintf(xout, sizeof xout, "%s/y.f32", dir);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/../tools/keras_reference.py' '%s' '%s' '%s'", t_srcdir(), path, xin, xout);
        FILE *f = NULL;
        int ok = train(m, NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, nnc_adam_default(), x, y) == 0 &&
                 nnc_model_save(m, path, NULL) == NNC_OK && nnc_predict(m, x, ROWS, want) == NNC_OK &&
                 (f = fopen(xin, "wb")) && fwrite(x, sizeof *x, ROWS * 64, f) == ROWS * 64;
        if (f) ok &= fclose(f) == 0;
        ok = CHECK(r, ok, "setup failed: %s", nnc_last_error(m)) && CHECK(r, system(cmd) == 0, "the reference failed: %s", cmd);
        f = ok ? fopen(xout, "rb") : NULL;
        ok = ok && CHECK(r, f && fread(got, sizeof *got, ROWS * 3, f) == ROWS * 3, "the reference wrote no outputs");
        if (f) fclose(f);
        double worst = 0.0;
        for (int i = 0; ok && i < ROWS * 3; i++) {
            double d = fabs((double)got[i] - (double)want[i]);
            if (!(d <= 1e-5 + 1e-4 * fabs((double)got[i]))) ok = CHECK(r, 0, "output %d: nnc %g, reference %g", i, (double)want[i], (double)got[i]);
            if (d > worst) worst = d;
        }
        if (ok) t_info(r, "max |nnc - reference| %.3g", worst);
        nnc_model_free(m);
        t_end(r);
    }
}

/* The command line writes by extension and reads by content. */
static void cli_save(test_run *r, const char *dir) {
    if (!t_begin(r, "keras/write/cli_train_save_keras_then_predict")) return;
    static const char spec[] = "input 4\ndense 3 activation=relu\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n"
                               "metrics accuracy\n";
    static const char data[] = "a,b,c,d,label\n1,2,3,4,x\n2,3,4,5,y\n3,4,5,6,z\n4,5,6,7,y\n";
    char path[300];
    snprintf(path, sizeof path, "%s/s.nnc", dir);
    FILE *f = fopen(path, "w");
    int ok = f && fputs(spec, f) >= 0;
    if (f) ok &= fclose(f) == 0;
    snprintf(path, sizeof path, "%s/d.csv", dir);
    f = fopen(path, "w");
    ok &= f && fputs(data, f) >= 0;
    if (f) ok &= fclose(f) == 0;
    int st = -1, st2 = -1;
    char *out = ok ? t_shell(dir, "nnc train s.nnc --data d.csv --epochs 2 --quiet --save m.keras --save-weights-only && "
                                  "nnc train s.nnc --data d.csv --epochs 2 --quiet --save m.safetensors && "
                                  "nnc predict m.keras --data d.csv > a.csv && nnc predict m.safetensors --data d.csv > b.csv && "
                                  "cmp a.csv b.csv && nnc train --init-from m.keras --data d.csv --epochs 1 --quiet --save n.h5",
                             &st)
                   : NULL;
    char *sum = st == 0 ? t_shell(dir, "nnc summary n.h5 | grep -c Dense", &st2) : NULL;
    CHECK(r, ok && st == 0, "status %d: %s", st, out ? out : "");
    CHECK(r, st2 == 0 && sum && atoi(sum) == 2, "summary of the .h5: %s", sum ? sum : "");
    int st4 = -1; /* the columns went through the .keras file: class names in predict's header */
    char *head = st == 0 ? t_shell(dir, "head -1 a.csv", &st4) : NULL;
    CHECK(r, st4 == 0 && head && strstr(head, "prob_x"), "predict from the .keras file: %s", head ? head : "");
    free(head);
    /* a spec on the file's layers: its metrics line replaces the file's list */
    int st3 = -1;
    char *over = st == 0 ? t_shell(dir, "printf 'optimizer sgd learning_rate=0.01\nmetrics mse\n' > o.nnc && "
                                        "nnc train o.nnc --init-from n.h5 --data d.csv --epochs 1 --json", &st3)
                         : NULL;
    CHECK(r, st3 == 0 && over && strstr(over, "\"mse\"") && !strstr(over, "accuracy"), "spec on the file: %s",
          over ? over : "");
    free(over);
    free(out);
    free(sum);
    t_end(r);
}

void suite_keras_write(test_run *r);
void suite_keras_write(test_run *r) {
    char dir[] = "/tmp/nnc-keras-write-XXXXXX";
#ifndef NNC_HAVE_KERAS
    if (t_begin(r, "keras/write")) t_skip(r, "Keras files are not built (NNC_INTEROP off)");
    return;
#endif
    if (!mkdtemp(dir)) {
        if (t_begin(r, "keras/write/setup")) {
            CHECK(r, 0, "mkdtemp failed");
            t_end(r);
        }
        return;
    }
    round_trips(r, dir);
    reference_reads_them(r, dir);
    cli_save(r, dir);
    remove_tree(dir);
}
