/* Keras's callbacks (src/train/callbacks.c). The monitoring callbacks are driven through the
 * fit's callback runner with scripted logs, so their counters are checked exactly, free of
 * training noise: before each scripted epoch the weights are filled with the epoch number, so
 * a restore shows which epoch's weights came back. Then real fits: TerminateOnNaN on a batch
 * whose loss overflows, the batch hook, EarlyStopping's restore, BackupAndRestore resuming an
 * interrupted run (a forked child that dies after an epoch) bit for bit, the spec's callback
 * lines and their errors, and `nnc train` stopping early. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test.h"
#include "blobs.h"
#include "core/rng.h"
#include "format/safetensors.h"
#include "train/callbacks.h"
#include "format/pyformat.h"

static char tmpdir[64];

static const char *tmp_path(const char *name) {
    static char path[4][256];
    static int k;
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/nnc_callbacks_XXXXXX");
        if (!mkdtemp(tmpdir)) tmpdir[0] = '\0';
    }
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
    return path[k];
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *p = calloc(1, 1 << 16);
    size_t got = fread(p, 1, (1 << 16) - 1, f);
    p[got] = '\0';
    fclose(f);
    return p;
}

/* A compiled 2 -> 1 model trained by SGD at rate 1 (round numbers for ReduceLROnPlateau). */
static nnc_model *tiny(void) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_input(m, (int[]){2}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(1);
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    c.optimizer = nnc_sgd_default();
    c.optimizer.learning_rate = 1.0f;
    if (nnc_compile(m, &c)) {
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

/* Runs the callbacks over scripted epochs: epoch e's logs are loss = 1 and key = seq[e], and
 * its weights are all e. Returns the epochs run (the stop epoch + 1), or -1 when a callback
 * failed; logs_out (optional) receives each epoch's logs as the callbacks left them. */
static int script(nnc_model *m, nnc_callback **cbs, int ncb, const char *key, const double *seq,
                  int n, nnc_logs *logs_out) {
    nnc_fit_opts o = nnc_fit_opts_default();
    o.verbose = 0;
    o.callbacks = cbs;
    o.n_callbacks = ncb;
    nnc_cb_runner r;
    int ep = 0;
    if (nnc_cb_train_begin(&r, m, &o, &ep)) return -1;
    for (; ep < n; ep++) {
        if (nnc_cb_epoch_begin(&r, ep)) {
            nnc_cb_train_end(&r, false);
            return -1;
        }
        for (size_t i = 0; i < m->n_param_floats; i++) m->param_arena[i] = (float)ep;
        nnc_logs l;
        memset(&l, 0, sizeof l);
        nnc_logs_set(&l, "loss", 1.0);
        if (key) nnc_logs_set(&l, key, seq[ep]);
        m->train->epochs_done++;
        if (nnc_cb_epoch_end(&r, ep, &l)) {
            nnc_cb_train_end(&r, false);
            return -1;
        }
        if (logs_out) logs_out[ep] = l;
        if (r.stop) {
            ep++;
            break;
        }
    }
    if (nnc_cb_train_end(&r, true)) return -1;
    return ep;
}

/* The epochs an EarlyStopping runs over a scripted val_loss (or key) sequence. */
static int es_run(const nnc_early_stopping_opts *o, const char *key, const double *seq, int n,
                  float *weights_after) {
    nnc_model *m = tiny();
    nnc_error e = {""};
    nnc_callback *cb = nnc_early_stopping(o, &e);
    int ran = m && cb ? script(m, &cb, 1, key, seq, n, NULL) : -9;
    if (weights_after && m) *weights_after = m->param_arena[0];
    nnc_callback_free(cb);
    nnc_model_free(m);
    return ran;
}

#define N(a) ((int)(sizeof(a) / sizeof *(a)))

static void test_early_stopping(test_run *r) {
    if (t_begin(r, "callbacks/early_stopping_patience")) {
        nnc_early_stopping_opts o = nnc_early_stopping_opts_default();
        const double a[] = {1.0, 0.9, 0.95, 0.8};
        int ran = es_run(&o, "val_loss", a, N(a), NULL);
        CHECK(r, ran == 3, "patience 0: stops at the first worse epoch (epoch 2), ran %d", ran);
        o.patience = 2;
        const double b[] = {1.0, 0.9, 0.95, 0.92, 0.91, 0.5};
        ran = es_run(&o, "val_loss", b, N(b), NULL);
        CHECK(r, ran == 4, "patience 2: two epochs without improvement (2, 3), ran %d", ran);
        const double c[] = {1.0, 0.95, 0.9, 0.85, 0.86, 0.84, 0.9, 0.9, 0.1};
        ran = es_run(&o, "val_loss", c, N(c), NULL);
        CHECK(r, ran == 8, "an improvement restarts the wait: stops at epoch 7, ran %d", ran);
        const double d[] = {1.0, 0.9, 0.8, 0.7};
        ran = es_run(&o, "val_loss", d, N(d), NULL);
        CHECK(r, ran == 4, "always improving: runs every epoch, ran %d", ran);
        const double nan_seq[] = {1.0, (double)NAN, (double)NAN, 0.5};
        ran = es_run(&o, "val_loss", nan_seq, N(nan_seq), NULL);
        CHECK(r, ran == 3, "NaN never improves, ran %d", ran);
        ran = es_run(&o, "other_key", a, N(a), NULL);
        CHECK(r, ran == 4, "a monitor missing from the logs does nothing, ran %d", ran);
        t_end(r);
    }
    if (t_begin(r, "callbacks/early_stopping_min_delta")) {
        nnc_early_stopping_opts o = nnc_early_stopping_opts_default();
        o.patience = 1;
        o.min_delta = 0.25;
        const double a[] = {1.0, 0.75, 0.5};
        int ran = es_run(&o, "val_loss", a, N(a), NULL);
        CHECK(r, ran == 2, "0.75 is not better than 1.0 by more than 0.25: stops at 1, ran %d", ran);
        const double b[] = {1.0, 0.7, 0.6, 0.5};
        ran = es_run(&o, "val_loss", b, N(b), NULL);
        CHECK(r, ran == 3, "0.7 improves by 0.3; 0.6 only by 0.1: stops at 2, ran %d", ran);
        o.min_delta = -0.25; /* Keras takes |min_delta| */
        ran = es_run(&o, "val_loss", a, N(a), NULL);
        CHECK(r, ran == 2, "negative min_delta acts as its absolute value, ran %d", ran);
        t_end(r);
    }
    if (t_begin(r, "callbacks/early_stopping_baseline")) {
        nnc_early_stopping_opts o = nnc_early_stopping_opts_default();
        o.patience = 2;
        const double a[] = {0.9, 0.8, 0.85, 0.84, 0.83};
        int ran = es_run(&o, "val_loss", a, N(a), NULL);
        CHECK(r, ran == 4, "no baseline: stops at epoch 3, ran %d", ran);
        o.baseline = 0.5;
        ran = es_run(&o, "val_loss", a, N(a), NULL);
        CHECK(r, ran == 3, "baseline 0.5 never beaten: the wait never restarts, stops at 2, ran %d", ran);
        const double b[] = {0.9, 0.8, 0.7, 0.6, 0.55};
        ran = es_run(&o, "val_loss", b, N(b), NULL);
        CHECK(r, ran == 5, "improving epochs never stop (Keras returns on an improvement), ran %d", ran);
        o.baseline = 0.85;
        const double c[] = {0.9, 0.8, 0.81, 0.82, 0.9};
        ran = es_run(&o, "val_loss", c, N(c), NULL);
        CHECK(r, ran == 4, "0.8 beats baseline 0.85 and restarts the wait: stops at 3, ran %d", ran);
        t_end(r);
    }
    if (t_begin(r, "callbacks/early_stopping_restore_best_weights")) {
        nnc_early_stopping_opts o = nnc_early_stopping_opts_default();
        o.patience = 2;
        o.restore_best_weights = true;
        float w = -1.0f;
        const double a[] = {1.0, 0.5, 0.7, 0.8, 0.1};
        int ran = es_run(&o, "val_loss", a, N(a), &w);
        CHECK(r, ran == 4 && w == 1.0f, "stopped at 3: weights of epoch 1 restored (ran %d, w %g)", ran, (double)w);
        o.patience = 10;
        const double b[] = {1.0, 0.5, 0.7};
        ran = es_run(&o, "val_loss", b, N(b), &w);
        CHECK(r, ran == 3 && w == 1.0f, "finished without stopping: best (epoch 1) restored too (w %g)", (double)w);
        const double c[] = {1.0, 0.5, 0.2};
        ran = es_run(&o, "val_loss", c, N(c), &w);
        CHECK(r, w == 2.0f, "the best epoch is the last: its weights stay (w %g)", (double)w);
        o.restore_best_weights = false;
        ran = es_run(&o, "val_loss", b, N(b), &w);
        CHECK(r, w == 2.0f, "restore_best_weights false: the last weights stay (w %g)", (double)w);
        o.restore_best_weights = true;
        o.patience = 0;
        o.baseline = 0.1;
        const double d[] = {0.5, 0.6, 0.7};
        ran = es_run(&o, "val_loss", d, N(d), &w);
        CHECK(r, ran == 2 && w == 0.0f, "no epoch beats the baseline: the best one is restored (ran %d, w %g)",
              ran, (double)w);
        t_end(r);
    }
    if (t_begin(r, "callbacks/early_stopping_start_from_epoch")) {
        nnc_early_stopping_opts o = nnc_early_stopping_opts_default();
        const double a[] = {1.0, 2.0, 3.0, 4.0, 5.0};
        int ran = es_run(&o, "val_loss", a, N(a), NULL);
        CHECK(r, ran == 2, "from epoch 0: stops at 1, ran %d", ran);
        o.start_from_epoch = 2;
        o.restore_best_weights = true;
        float w = -1.0f;
        ran = es_run(&o, "val_loss", a, N(a), &w);
        CHECK(r, ran == 4 && w == 2.0f, "epochs 0-1 unmonitored: stops at 3, best is epoch 2 (ran %d, w %g)",
              ran, (double)w);
        t_end(r);
    }
    if (t_begin(r, "callbacks/early_stopping_mode_max_on_accuracy")) {
        nnc_early_stopping_opts o = nnc_early_stopping_opts_default();
        o.monitor = "val_accuracy";
        o.patience = 1;
        const double a[] = {0.5, 0.6, 0.55, 0.58, 0.9};
        int ran = es_run(&o, "val_accuracy", a, N(a), NULL);
        CHECK(r, ran == 3, "auto on accuracy maximises: stops at 2, ran %d", ran);
        o.mode = NNC_MODE_MAX;
        ran = es_run(&o, "val_accuracy", a, N(a), NULL);
        CHECK(r, ran == 3, "mode max: the same, ran %d", ran);
        o.mode = NNC_MODE_MIN;
        ran = es_run(&o, "val_accuracy", a, N(a), NULL);
        CHECK(r, ran == 2, "mode min on accuracy: 0.6 is worse, stops at 1, ran %d", ran);
        o.mode = NNC_MODE_AUTO;
        o.monitor = "acc";
        ran = es_run(&o, "acc", a, N(a), NULL);
        CHECK(r, ran == 3, "auto on 'acc' maximises too, ran %d", ran);
        o.monitor = "val_mae";
        ran = es_run(&o, "val_mae", a, N(a), NULL);
        CHECK(r, ran == 2, "auto on mae minimises, ran %d", ran);
        t_end(r);
    }
    if (t_begin(r, "callbacks/early_stopping_bad_options")) {
        nnc_error e = {""};
        nnc_early_stopping_opts o = nnc_early_stopping_opts_default();
        o.patience = -1;
        CHECK(r, !nnc_early_stopping(&o, &e) && strstr(e.message, "patience"), "negative patience: %s", e.message);
        o = nnc_early_stopping_opts_default();
        o.monitor = "";
        CHECK(r, !nnc_early_stopping(&o, &e) && strstr(e.message, "monitor"), "empty monitor: %s", e.message);
        o = nnc_early_stopping_opts_default();
        o.mode = (nnc_monitor_mode)7;
        CHECK(r, !nnc_early_stopping(&o, &e) && strstr(e.message, "mode"), "bad mode: %s", e.message);
        t_end(r);
    }
}

/* ReduceLROnPlateau over a scripted sequence: the learning rate after each epoch. */
static int rlr_run(const nnc_reduce_lr_opts *o, const char *key, const double *seq, int n, float *lr,
                   nnc_logs *logs) {
    nnc_model *m = tiny();
    nnc_error e = {""};
    nnc_callback *cb = nnc_reduce_lr_on_plateau(o, &e);
    int ran = -9;
    if (m && cb) {
        nnc_fit_opts fo = nnc_fit_opts_default();
        fo.verbose = 0;
        fo.callbacks = &cb;
        fo.n_callbacks = 1;
        nnc_cb_runner rr;
        int ep = 0;
        ran = 0;
        if (nnc_cb_train_begin(&rr, m, &fo, &ep) == NNC_OK) {
            for (; ep < n; ep++, ran++) {
                nnc_logs l;
                memset(&l, 0, sizeof l);
                nnc_logs_set(&l, "loss", 1.0);
                nnc_logs_set(&l, key, seq[ep]);
                nnc_cb_epoch_end(&rr, ep, &l);
                lr[ep] = m->train->copts.optimizer.learning_rate;
                if (logs) logs[ep] = l;
            }
            nnc_cb_train_end(&rr, true);
        }
    }
    nnc_callback_free(cb);
    nnc_model_free(m);
    return ran;
}

static int lrs_are(const float *got, const float *want, int n) {
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) return 0;
    return 1;
}

static void test_reduce_lr(test_run *r) {
    const double flat[] = {1, 1, 1, 1, 1, 1, 1};
    float lr[8];
    if (t_begin(r, "callbacks/reduce_lr_patience")) {
        nnc_reduce_lr_opts o = nnc_reduce_lr_opts_default();
        o.factor = 0.5;
        o.patience = 2;
        nnc_logs logs[8];
        rlr_run(&o, "val_loss", flat, 7, lr, logs);
        const float want[] = {1, 1, 0.5f, 0.5f, 0.25f, 0.25f, 0.125f};
        CHECK(r, lrs_are(lr, want, 7), "rates %g %g %g %g %g %g %g", (double)lr[0], (double)lr[1], (double)lr[2],
              (double)lr[3], (double)lr[4], (double)lr[5], (double)lr[6]);
        CHECK(r, nnc_logs_get(&logs[2], "learning_rate") == 1.0 && nnc_logs_get(&logs[3], "learning_rate") == 0.5,
              "the logs carry the rate the epoch trained with (%g, %g)", nnc_logs_get(&logs[2], "learning_rate"),
              nnc_logs_get(&logs[3], "learning_rate"));
        const double better[] = {1.0, 0.9, 0.8, 0.7, 0.6};
        rlr_run(&o, "val_loss", better, 5, lr, NULL);
        CHECK(r, lr[4] == 1.0f, "improving: no reduction (%g)", (double)lr[4]);
        const double tiny_gain[] = {1.0, 0.99995, 0.99992, 0.9998};
        o.patience = 1;
        rlr_run(&o, "val_loss", tiny_gain, 4, lr, NULL);
        const float want2[] = {1, 0.5f, 0.25f, 0.25f};
        CHECK(r, lrs_are(lr, want2, 4), "gains under min_delta 1e-4 do not count, 2e-4 does: %g %g %g %g", (double)lr[0],
              (double)lr[1], (double)lr[2], (double)lr[3]);
        t_end(r);
    }
    if (t_begin(r, "callbacks/reduce_lr_cooldown")) {
        nnc_reduce_lr_opts o = nnc_reduce_lr_opts_default();
        o.factor = 0.5;
        o.patience = 1;
        o.cooldown = 2;
        rlr_run(&o, "val_loss", flat, 7, lr, NULL);
        /* epoch 1 reduces and starts a cooldown of 2: epoch 2 counts it down to 1, epoch 3 to 0
         * and, out of cooldown, waits 1 >= patience and reduces again. */
        const float want[] = {1, 0.5f, 0.5f, 0.25f, 0.25f, 0.125f, 0.125f};
        CHECK(r, lrs_are(lr, want, 7), "rates %g %g %g %g %g %g %g", (double)lr[0], (double)lr[1], (double)lr[2],
              (double)lr[3], (double)lr[4], (double)lr[5], (double)lr[6]);
        o.cooldown = 0;
        rlr_run(&o, "val_loss", flat, 4, lr, NULL);
        const float want0[] = {1, 0.5f, 0.25f, 0.125f};
        CHECK(r, lrs_are(lr, want0, 4), "no cooldown: every epoch reduces");
        t_end(r);
    }
    if (t_begin(r, "callbacks/reduce_lr_min_lr_and_mode")) {
        nnc_reduce_lr_opts o = nnc_reduce_lr_opts_default();
        o.factor = 0.5;
        o.patience = 1;
        o.min_lr = 0.3;
        rlr_run(&o, "val_loss", flat, 5, lr, NULL);
        CHECK(r, lr[1] == 0.5f && lr[2] == 0.3f && lr[3] == 0.3f && lr[4] == 0.3f,
              "floored at min_lr 0.3: %g %g %g %g", (double)lr[1], (double)lr[2], (double)lr[3], (double)lr[4]);
        o = nnc_reduce_lr_opts_default();
        o.monitor = "val_accuracy";
        o.patience = 1;
        const double acc[] = {0.5, 0.6, 0.7, 0.65};
        rlr_run(&o, "val_accuracy", acc, 4, lr, NULL);
        CHECK(r, lr[2] == 1.0f && lr[3] == 0.1f, "auto on accuracy maximises: %g %g", (double)lr[2], (double)lr[3]);
        o.mode = NNC_MODE_MIN;
        rlr_run(&o, "val_accuracy", acc, 4, lr, NULL);
        CHECK(r, lr[1] == 0.1f, "mode min: a rising accuracy is a plateau (%g)", (double)lr[1]);
        nnc_error e = {""};
        o = nnc_reduce_lr_opts_default();
        o.factor = 1.0;
        CHECK(r, !nnc_reduce_lr_on_plateau(&o, &e) && strstr(e.message, "factor"), "factor 1: %s", e.message);
        t_end(r);
    }
}

static double halve_after_first(void *user, int epoch, double lr) {
    (void)user;
    return epoch == 0 ? lr : lr * 0.5;
}

static double bad_schedule(void *user, int epoch, double lr) {
    (void)user;
    (void)lr;
    return epoch == 1 ? (double)NAN : 0.1;
}

static void test_scheduler(test_run *r) {
    if (!t_begin(r, "callbacks/learning_rate_scheduler")) return;
    nnc_model *m = tiny();
    nnc_callback *cb = nnc_learning_rate_scheduler(halve_after_first, NULL, 0, NULL);
    nnc_logs logs[4];
    int ran = script(m, &cb, 1, NULL, NULL, 4, logs);
    CHECK(r, ran == 4 && m->train->copts.optimizer.learning_rate == 0.125f, "rate after 4 epochs %g",
          (double)m->train->copts.optimizer.learning_rate);
    CHECK(r, nnc_logs_get(&logs[0], "learning_rate") == 1.0 && nnc_logs_get(&logs[3], "learning_rate") == 0.125,
          "logs: %g %g", nnc_logs_get(&logs[0], "learning_rate"), nnc_logs_get(&logs[3], "learning_rate"));
    nnc_callback_free(cb);
    cb = nnc_learning_rate_scheduler(bad_schedule, NULL, 0, NULL);
    ran = script(m, &cb, 1, NULL, NULL, 4, NULL);
    CHECK(r, ran == -1 && strstr(nnc_last_error(m), "schedule returned nan"), "a NaN rate fails: %s",
          nnc_last_error(m));
    nnc_callback_free(cb);
    nnc_model_free(m);
    /* An optimizer whose rate follows a schedule cannot have it set, as in Keras. */
    m = nnc_model_new(NULL);
    nnc_input(m, (int[]){2}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(1);
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts co = nnc_compile_opts_default();
    co.optimizer.schedule = nnc_schedule_default(NNC_SCHEDULE_EXPONENTIAL_DECAY);
    co.optimizer.schedule.initial_learning_rate = 0.1f;
    co.optimizer.schedule.decay_steps = 10;
    co.optimizer.schedule.decay_rate = 0.9f;
    if (CHECK(r, nnc_compile(m, &co) == NNC_OK, "%s", nnc_last_error(m))) {
        cb = nnc_reduce_lr_on_plateau(NULL, NULL);
        ran = script(m, &cb, 1, "val_loss", (const double[]){1, 1}, 2, NULL);
        CHECK(r, ran == -1 && strstr(nnc_last_error(m), "exponential_decay schedule"), "%s", nnc_last_error(m));
        nnc_callback_free(cb);
    }
    nnc_model_free(m);
    t_end(r);
}

static void test_format(test_run *r) {
    if (t_begin(r, "callbacks/python_float_repr")) {
        static const struct {
            double v;
            const char *want;
        } cases[] = {{0.1, "0.1"},     {1e-05, "1e-05"},   {100.0, "100.0"},    {1e16, "1e+16"},
                     {0.0001, "0.0001"}, {1.5e-7, "1.5e-07"}, {-2.5, "-2.5"},      {0.0, "0.0"},
                     {123456.789, "123456.789"}, {0.1 + 0.2, "0.30000000000000004"},
                     {1e22, "1e+22"},  {9999999999999998.0, "9999999999999998.0"}, {2.0 / 3.0, "0.6666666666666666"}};
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            char buf[64];
            nnc_format_pyfloat(cases[i].v, buf, sizeof buf);
            CHECK(r, !strcmp(buf, cases[i].want), "repr(%.17g): got %s, want %s", cases[i].v, buf, cases[i].want);
        }
        char buf[64];
        nnc_format_pyfloat((double)NAN, buf, sizeof buf);
        CHECK(r, !strcmp(buf, "nan"), "%s", buf);
        nnc_format_pyfloat(-(double)INFINITY, buf, sizeof buf);
        CHECK(r, !strcmp(buf, "-inf"), "%s", buf);
        t_end(r);
    }
    if (t_begin(r, "callbacks/checkpoint_filepath_format")) {
        nnc_logs l;
        memset(&l, 0, sizeof l);
        nnc_logs_set(&l, "loss", 0.5);
        nnc_logs_set(&l, "val_loss", 0.12345);
        nnc_logs_set(&l, "val_accuracy", 0.875);
        static const struct {
            const char *fmt, *want;
        } cases[] = {
            {"ckpt-{epoch:02d}.safetensors", "ckpt-03.safetensors"},
            {"m-{epoch}-{val_loss:.2f}.st", "m-3-0.12.st"},
            {"{loss}", "0.5"},
            {"{{epoch}}-{epoch:>4}|{epoch:<3}|{epoch:^5}|", "{epoch}-   3|3  |  3  |"},
            {"{val_accuracy:.1%}", "87.5%"},
            {"{loss:e}", "5.000000e-01"},
            {"{loss:08.3f}", "0000.500"},
            {"{epoch:+d} {epoch:.2f}", "+3 3.00"},
            {"{val_loss:g}", "0.12345"},
            {"plain", "plain"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            char out[256], msg[256] = "";
            int rc = nnc_format_filepath(cases[i].fmt, 3, &l, out, sizeof out, msg, sizeof msg);
            CHECK(r, rc == 0 && !strcmp(out, cases[i].want), "'%s': got '%s' (%s), want '%s'", cases[i].fmt,
                  rc ? "" : out, msg, cases[i].want);
        }
        static const struct {
            const char *fmt, *why;
        } bad[] = {{"c-{val_acc}.st", "'val_acc', which is not in the logs"},
                   {"c-{epoch.st", "unmatched '{'"},
                   {"c-}.st", "single '}'"},
                   {"c-{loss:d}.st", "does not suit loss"},
                   {"c-{epoch:.2d}.st", "does not suit epoch"},
                   {"c-{loss:q}.st", "bad format spec"},
                   {"c-{}.st", "bad field"}};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            char out[256], msg[256] = "";
            int rc = nnc_format_filepath(bad[i].fmt, 3, &l, out, sizeof out, msg, sizeof msg);
            CHECK(r, rc == -1 && strstr(msg, bad[i].why), "'%s': rc %d, message '%s' lacks '%s'", bad[i].fmt, rc,
                  msg, bad[i].why);
        }
        nnc_error e = {""};
        nnc_model_checkpoint_opts o = nnc_model_checkpoint_opts_default("c-{epoch.st");
        CHECK(r, !nnc_model_checkpoint(&o, &e) && strstr(e.message, "model_checkpoint: unmatched"),
              "the constructor checks the syntax: %s", e.message);
        t_end(r);
    }
}

static void test_checkpoint(test_run *r) {
    const double seq[] = {0.5, 0.6, 0.4, 0.45};
    if (t_begin(r, "callbacks/model_checkpoint_every_epoch")) {
        nnc_model *m = tiny();
        char fp[256];
        snprintf(fp, sizeof fp, "%s", tmp_path("all/sub/ck-{epoch:02d}-{val_loss:.2f}.safetensors"));
        nnc_model_checkpoint_opts o = nnc_model_checkpoint_opts_default(fp);
        nnc_callback *cb = nnc_model_checkpoint(&o, NULL);
        int ran = script(m, &cb, 1, "val_loss", seq, 4, NULL);
        CHECK(r, ran == 4, "ran %d: %s", ran, nnc_last_error(m));
        const char *names[] = {"all/sub/ck-01-0.50.safetensors", "all/sub/ck-02-0.60.safetensors",
                               "all/sub/ck-03-0.40.safetensors", "all/sub/ck-04-0.45.safetensors"};
        for (int i = 0; i < 4; i++) CHECK(r, exists(tmp_path(names[i])), "%s missing (folders are created)", names[i]);
        nnc_error e = {""};
        nnc_model *l = nnc_model_load(tmp_path(names[2]), &e);
        if (CHECK(r, l != NULL, "load: %s", e.message))
            CHECK(r, l->param_arena[0] == 2.0f && l->train->epochs_done == 3, "epoch 3's weights (%g) and epoch count %d",
                  (double)l->param_arena[0], l->train->epochs_done);
        nnc_model_free(l);
        nnc_callback_free(cb);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "callbacks/model_checkpoint_save_best_only")) {
        nnc_model *m = tiny();
        char fp[256], fixed[256];
        snprintf(fp, sizeof fp, "%s", tmp_path("best-{epoch}.safetensors"));
        snprintf(fixed, sizeof fixed, "%s", tmp_path("best.safetensors"));
        nnc_model_checkpoint_opts o = nnc_model_checkpoint_opts_default(fp);
        o.save_best_only = true;
        nnc_model_checkpoint_opts o2 = nnc_model_checkpoint_opts_default(fixed);
        o2.save_best_only = true;
        o2.save_weights_only = true;
        nnc_callback *cbs[2] = {nnc_model_checkpoint(&o, NULL), nnc_model_checkpoint(&o2, NULL)};
        int ran = script(m, cbs, 2, "val_loss", seq, 4, NULL);
        CHECK(r, ran == 4, "ran %d: %s", ran, nnc_last_error(m));
        CHECK(r, exists(tmp_path("best-1.safetensors")) && exists(tmp_path("best-3.safetensors")) &&
                     !exists(tmp_path("best-2.safetensors")) && !exists(tmp_path("best-4.safetensors")),
              "files only for the improving epochs 1 and 3");
        nnc_st_file f;
        char msg[256];
        if (CHECK(r, nnc_st_read(fixed, &f, msg, sizeof msg) == 0, "%s", msg)) {
            const nnc_st_tensor *k = nnc_st_find(&f, "dense.kernel");
            float w = -1.0f;
            if (k) memcpy(&w, k->data, sizeof w);
            CHECK(r, w == 2.0f, "the fixed name holds the best epoch (3)'s weights: %g", (double)w);
            CHECK(r, !nnc_st_find(&f, "optimizer.iterations"), "save_weights_only: no optimizer state");
            nnc_st_free(&f);
        }
        /* A second fit with the same handle keeps its best (0.4), as Keras's does. */
        const double worse[] = {0.45, 0.41};
        ran = script(m, cbs, 1, "val_loss", worse, 2, NULL);
        CHECK(r, !exists(tmp_path("best-2.safetensors")), "a later fit saves only beyond the earlier best");
        /* initial_value_threshold: nothing is saved unless it is beaten. */
        nnc_model_checkpoint_opts o3 = nnc_model_checkpoint_opts_default(tmp_path("thr-{epoch}.safetensors"));
        o3.save_best_only = true;
        o3.initial_value_threshold = 0.42;
        nnc_callback *c3 = nnc_model_checkpoint(&o3, NULL);
        script(m, &c3, 1, "val_loss", seq, 4, NULL);
        CHECK(r, !exists(tmp_path("thr-1.safetensors")) && exists(tmp_path("thr-3.safetensors")),
              "threshold 0.42: only epoch 3 (0.40) saves");
        nnc_callback_free(c3);
        /* A filepath naming a key the logs lack fails the fit, naming the key. */
        nnc_model_checkpoint_opts o4 = nnc_model_checkpoint_opts_default(tmp_path("c-{val_acc:.2f}.safetensors"));
        nnc_callback *c4 = nnc_model_checkpoint(&o4, NULL);
        ran = script(m, &c4, 1, "val_loss", seq, 4, NULL);
        CHECK(r, ran == -1 && strstr(nnc_last_error(m), "'val_acc'"), "missing key: %s", nnc_last_error(m));
        nnc_callback_free(c4);
        nnc_callback_free(cbs[0]);
        nnc_callback_free(cbs[1]);
        nnc_model_free(m);
        t_end(r);
    }
}

static void test_csv_logger(test_run *r) {
    if (!t_begin(r, "callbacks/csv_logger")) return;
    nnc_model *m = tiny();
    char path[256];
    snprintf(path, sizeof path, "%s", tmp_path("log.csv"));
    nnc_csv_logger_opts o = nnc_csv_logger_opts_default(path);
    nnc_callback *cb = nnc_csv_logger(&o, NULL);
    const double acc[] = {0.5, 0.75, 0.1 + 0.2};
    int ran = script(m, &cb, 1, "accuracy", acc, 3, NULL);
    char *text = slurp(path);
    CHECK(r, ran == 3 && text && !strcmp(text, "epoch,accuracy,loss\n0,0.5,1.0\n1,0.75,1.0\n2,0.30000000000000004,1.0\n"),
          "contents:\n%s", text ? text : "(none)");
    free(text);
    /* append: no second header; rows continue */
    nnc_callback_free(cb);
    o.append = true;
    o.separator = ';';
    cb = nnc_csv_logger(&o, NULL);
    ran = script(m, &cb, 1, "accuracy", acc, 1, NULL);
    text = slurp(path);
    CHECK(r, text && !strcmp(text, "epoch,accuracy,loss\n0,0.5,1.0\n1,0.75,1.0\n2,0.30000000000000004,1.0\n0;0.5;1.0\n"),
          "appended:\n%s", text ? text : "(none)");
    free(text);
    nnc_callback_free(cb);
    /* append to an empty file writes the header; a key missing later is NA; fields with the
     * separator are quoted. */
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
    o.separator = '_';
    cb = nnc_csv_logger(&o, NULL);
    nnc_fit_opts fo = nnc_fit_opts_default();
    fo.callbacks = &cb;
    fo.n_callbacks = 1;
    nnc_cb_runner rr;
    int ep = 0;
    if (CHECK(r, nnc_cb_train_begin(&rr, m, &fo, &ep) == NNC_OK, "%s", nnc_last_error(m))) {
        nnc_logs l;
        memset(&l, 0, sizeof l);
        nnc_logs_set(&l, "loss", 0.25);
        nnc_logs_set(&l, "val_loss", 0.5);
        nnc_cb_epoch_end(&rr, 0, &l);
        memset(&l, 0, sizeof l);
        nnc_logs_set(&l, "loss", (double)NAN);
        nnc_cb_epoch_end(&rr, 1, &l);
        nnc_cb_train_end(&rr, true);
    }
    text = slurp(path);
    CHECK(r, text && !strcmp(text, "epoch_loss_\"val_loss\"\n0_0.25_0.5\n1_nan_NA\n"), "NA and quoting:\n%s",
          text ? text : "(none)");
    free(text);
    nnc_callback_free(cb);
    nnc_model_free(m);
    t_end(r);
}

/* ---- real fits ------------------------------------------------------------------------------ */

/* 4 -> 8 (relu) -> dropout 0.3 -> 3 logits, Adam: dropout makes a resume depend on the RNG. */
static nnc_model *classifier(uint64_t seed) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_model_set_seed(m, seed);
    nnc_input(m, (int[]){4}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(8);
    d.activation = NNC_ACT_RELU;
    nnc_dense(m, NNC_PREV, &d);
    nnc_dropout(m, NNC_PREV, 0.3f, NULL);
    d = nnc_dense_opts_default(3);
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    c.loss.from_logits = true;
    c.optimizer = nnc_adam_default();
    c.optimizer.learning_rate = 0.02f;
    c.metrics[c.n_metrics++] = NNC_METRIC_ACCURACY;
    if (nnc_compile(m, &c)) {
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

typedef struct {
    int batches, epochs, stop_at_batch;
    double last_batch_loss, epoch_loss[16];
    float *snap[16];
    double val[16];
    size_t nfloats;
    const float *arena;
} hook_state;

static bool on_batch(void *user, const nnc_batch_info *b) {
    hook_state *h = user;
    h->batches++;
    h->last_batch_loss = nnc_logs_get(b->logs, "loss");
    return h->stop_at_batch >= 0 && b->batch == h->stop_at_batch;
}

static bool on_epoch(void *user, const nnc_epoch_info *info) {
    hook_state *h = user;
    if (info->epoch < 16) {
        h->epoch_loss[info->epoch] = nnc_logs_get(info->logs, "loss");
        h->val[info->epoch] = nnc_logs_get(info->logs, "val_loss");
        if (h->arena) {
            h->snap[info->epoch] = malloc(h->nfloats * sizeof(float));
            memcpy(h->snap[info->epoch], h->arena, h->nfloats * sizeof(float));
        }
    }
    h->epochs++;
    return false;
}

static void test_fit_hooks(test_run *r) {
    float x[120 * 4], y[120];
    blobs(3, 120, x, y);
    if (t_begin(r, "callbacks/fit_batch_hook")) {
        nnc_model *m = classifier(1);
        hook_state h = {0};
        h.stop_at_batch = -1;
        nnc_fit_opts o = nnc_fit_opts_default();
        o.verbose = 0;
        o.epochs = 2;
        o.batch_size = 32;
        o.on_batch_end = on_batch;
        o.on_epoch_end = on_epoch;
        o.user = &h;
        nnc_status st = nnc_fit(m, x, y, 120, &o, NULL);
        CHECK(r, st == NNC_OK && h.batches == 8 && h.epochs == 2, "batches %d epochs %d", h.batches, h.epochs);
        CHECK(r, h.last_batch_loss == h.epoch_loss[1],
              "the last batch's logs are the epoch's running means (%.9g vs %.9g)", h.last_batch_loss, h.epoch_loss[1]);
        nnc_model_free(m);
        m = classifier(1);
        memset(&h, 0, sizeof h);
        h.stop_at_batch = 1;
        nnc_history *hist = NULL;
        st = nnc_fit(m, x, y, 120, &o, &hist);
        CHECK(r, st == NNC_OK && m->train->iterations == 2 && nnc_history_epochs(hist) == 1 && h.epochs == 1,
              "stopping after batch 1: %lld steps, %d epochs", (long long)m->train->iterations, nnc_history_epochs(hist));
        nnc_history_free(hist);
        nnc_callback *bad[2] = {nnc_terminate_on_nan(), NULL};
        o.callbacks = bad;
        o.n_callbacks = 2;
        st = nnc_fit(m, x, y, 120, &o, NULL);
        CHECK(r, st == NNC_ERR_ARG && strstr(nnc_last_error(m), "callbacks[1] is NULL"), "%s", nnc_last_error(m));
        bad[1] = bad[0];
        st = nnc_fit(m, x, y, 120, &o, NULL);
        CHECK(r, st == NNC_ERR_ARG && strstr(nnc_last_error(m), "again"), "%s", nnc_last_error(m));
        nnc_callback_free(bad[0]);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "callbacks/early_stopping_in_fit_restores_best")) {
        nnc_model *m = classifier(2);
        hook_state h = {0};
        h.arena = m->param_arena;
        h.nfloats = m->n_param_floats;
        nnc_early_stopping_opts eo = nnc_early_stopping_opts_default();
        eo.patience = 2;
        eo.restore_best_weights = true;
        nnc_callback *cb = nnc_early_stopping(&eo, NULL);
        nnc_fit_opts o = nnc_fit_opts_default();
        o.verbose = 0;
        o.epochs = 16;
        o.batch_size = 16;
        o.validation_split = 0.25f;
        o.on_epoch_end = on_epoch;
        o.user = &h;
        o.callbacks = &cb;
        o.n_callbacks = 1;
        nnc_status st = nnc_fit(m, x, y, 120, &o, NULL);
        int best = 0;
        for (int e = 1; e < h.epochs; e++)
            if (h.val[e] < h.val[best]) best = e;
        CHECK(r, st == NNC_OK && h.epochs >= 1, "%s", nnc_last_error(m));
        if (h.epochs < 16) CHECK(r, h.epochs - 1 - best == 2, "stopped %d epochs after the best", h.epochs - 1 - best);
        t_info(r, "ran %d of 16 epochs, best epoch %d", h.epochs, best + 1);
        CHECK(r, h.snap[best] && !memcmp(m->param_arena, h.snap[best], h.nfloats * sizeof(float)),
              "the weights are those of the best epoch %d (of %d)", best + 1, h.epochs);
        for (int e = 0; e < 16; e++) free(h.snap[e]);
        /* min_delta 100 on the loss: epoch 0 improves on inf, epoch 1 cannot: 2 epochs. */
        eo = nnc_early_stopping_opts_default();
        eo.monitor = "loss";
        eo.min_delta = 100;
        nnc_callback_free(cb);
        cb = nnc_early_stopping(&eo, NULL);
        nnc_history *hist = NULL;
        o.on_epoch_end = NULL;
        st = nnc_fit(m, x, y, 120, &o, &hist);
        CHECK(r, st == NNC_OK && nnc_history_epochs(hist) == 2, "ran %d epochs", nnc_history_epochs(hist));
        nnc_history_free(hist);
        nnc_callback_free(cb);
        nnc_model_free(m);
        t_end(r);
    }
}

/* 4 -> 3 logits with a kernel of ones: four inputs of 3e38 overflow the logits to infinity. */
static nnc_model *overflowing(void) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_input(m, (int[]){4}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(3);
    d.kernel_initializer = nnc_initializer_default(NNC_INIT_ONES);
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    c.loss.from_logits = true;
    c.optimizer = nnc_adam_default();
    if (nnc_compile(m, &c)) {
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

static void test_terminate_on_nan(test_run *r) {
    if (!t_begin(r, "callbacks/terminate_on_nan")) return;
    /* Row 25 (batch 2 of 10 rows) overflows the loss to infinity. */
    float x[40 * 4], y[40];
    blobs(4, 40, x, y);
    for (int j = 0; j < 4; j++) x[25 * 4 + j] = 3e38f;
    nnc_fit_opts o = nnc_fit_opts_default();
    o.verbose = 0;
    o.batch_size = 10;
    o.shuffle = false;
    o.epochs = 3;
    nnc_model *a = overflowing(), *b = overflowing(), *c = overflowing();
    nnc_status st = nnc_fit(a, x, y, 40, &o, NULL);
    CHECK(r, st == NNC_ERR_NUMERIC && strstr(nnc_last_error(a), "batch 3"), "without it: %s", nnc_last_error(a));
    nnc_callback *cb = nnc_terminate_on_nan();
    hook_state h = {0};
    h.stop_at_batch = -1;
    o.callbacks = &cb;
    o.n_callbacks = 1;
    o.on_batch_end = on_batch;
    o.on_epoch_end = on_epoch;
    o.user = &h;
    nnc_history *hist = NULL;
    st = nnc_fit(b, x, y, 40, &o, &hist);
    CHECK(r, st == NNC_OK, "with TerminateOnNaN the fit succeeds: %s", nnc_last_error(b));
    CHECK(r, nnc_history_epochs(hist) == 1 && h.epochs == 1 && h.batches == 3 && !isfinite(h.last_batch_loss),
          "stopped in epoch 1 after batch 3 whose logs had loss %g (%d epochs, %d batches)", h.last_batch_loss,
          nnc_history_epochs(hist), h.batches);
    CHECK(r, b->train->iterations == 2, "two good steps were taken (%lld)", (long long)b->train->iterations);
    /* The weights are those before the bad step: as training on the first 20 rows only. */
    nnc_fit_opts o2 = nnc_fit_opts_default();
    o2.verbose = 0;
    o2.batch_size = 10;
    o2.shuffle = false;
    if (CHECK(r, nnc_fit(c, x, y, 20, &o2, NULL) == NNC_OK, "fit: %s", nnc_last_error(c)))
        CHECK(r, !memcmp(b->param_arena, c->param_arena, b->n_param_floats * sizeof(float)),
              "weights differ from those before the failing step");
    nnc_history_free(hist);
    nnc_callback_free(cb);
    nnc_model_free(a);
    nnc_model_free(b);
    nnc_model_free(c);
    t_end(r);
}

static double halve_lr(void *user, int epoch, double lr) {
    (void)user;
    return epoch == 0 ? lr : lr * 0.5;
}

typedef struct {
    int die_after;
} crash_hook;

static bool crash(void *user, const nnc_epoch_info *info) {
    crash_hook *c = user;
    if (info->epoch == c->die_after) _exit(0); /* the process dies: nothing cleans up */
    return false;
}

static void test_backup_and_restore(test_run *r) {
    if (!t_begin(r, "callbacks/backup_and_restore_resumes_bit_identical")) return;
    float x[150 * 4], y[150];
    blobs(6, 150, x, y);
    char dir[256], file[300];
    snprintf(dir, sizeof dir, "%s", tmp_path("backup/run1"));
    snprintf(file, sizeof file, "%s/backup.safetensors", dir);
    nnc_backup_and_restore_opts bo = nnc_backup_and_restore_opts_default(dir);
    nnc_callback *backup = nnc_backup_and_restore(&bo, NULL);
    nnc_callback *sched = nnc_learning_rate_scheduler(halve_lr, NULL, 0, NULL);
    nnc_callback *cbs[2] = {sched, backup};
    nnc_fit_opts o = nnc_fit_opts_default();
    o.verbose = 0;
    o.epochs = 7;
    o.batch_size = 16;
    o.validation_split = 0.2f;

    /* Uninterrupted, with the scheduler only. */
    nnc_model *a = classifier(11);
    nnc_history *ha = NULL;
    o.callbacks = cbs;
    o.n_callbacks = 1;
    nnc_status st = nnc_fit(a, x, y, 150, &o, &ha);
    CHECK(r, st == NNC_OK && nnc_history_epochs(ha) == 7, "uninterrupted: %s", nnc_last_error(a));

    /* Interrupted: a child process dies after epoch 3 (0-based 2). */
    o.n_callbacks = 2;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        nnc_model *b = classifier(11);
        crash_hook ch = {2};
        o.on_epoch_end = crash;
        o.user = &ch;
        nnc_status fst = nnc_fit(b, x, y, 150, &o, NULL);
        _exit(fst == NNC_OK ? 3 : 4); /* not reached: the hook ends the process after epoch 3 */
    }
    int status = -1;
    if (pid > 0) waitpid(pid, &status, 0);
    CHECK(r, pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    CHECK(r, exists(file), "the backup of epoch 3 is left behind");

    /* A new model and a new fit resume after epoch 3 and end as the uninterrupted run. */
    nnc_model *c = classifier(11);
    nnc_history *hc = NULL;
    o.on_epoch_end = NULL;
    st = nnc_fit(c, x, y, 150, &o, &hc);
    CHECK(r, st == NNC_OK, "resumed fit: %s", nnc_last_error(c));
    CHECK(r, nnc_history_epochs(hc) == 4, "the resumed fit ran epochs 4-7 (%d epochs)", nnc_history_epochs(hc));
    CHECK(r, !memcmp(a->param_arena, c->param_arena, a->n_param_floats * sizeof(float)),
          "resumed weights differ from the uninterrupted run's");
    CHECK(r, a->train->copts.optimizer.learning_rate == c->train->copts.optimizer.learning_rate && a->train->iterations == c->train->iterations,
          "rate %g vs %g, steps %lld vs %lld", (double)a->train->copts.optimizer.learning_rate,
          (double)c->train->copts.optimizer.learning_rate, (long long)a->train->iterations, (long long)c->train->iterations);
    int same_logs = nnc_history_epochs(hc) == 4;
    for (int e = 0; same_logs && e < 4; e++)
        same_logs = !memcmp(nnc_history_logs(ha, e + 3)->values, nnc_history_logs(hc, e)->values,
                            sizeof(double) * (size_t)nnc_history_logs(ha, e + 3)->count);
    CHECK(r, same_logs, "the resumed epochs' logs differ from epochs 4-7 of the uninterrupted run");
    CHECK(r, !exists(file) && !exists(dir), "a finished fit deletes the backup and its empty folder");

    /* delete_checkpoint false keeps it; the next fit then starts past the last epoch. */
    nnc_callback_free(backup);
    bo.delete_checkpoint = false;
    backup = nnc_backup_and_restore(&bo, NULL);
    cbs[1] = backup;
    o.epochs = 2;
    nnc_model *d = classifier(11);
    st = nnc_fit(d, x, y, 150, &o, NULL);
    CHECK(r, st == NNC_OK && exists(file), "delete_checkpoint=false keeps the backup");
    nnc_history *hd = NULL;
    st = nnc_fit(d, x, y, 150, &o, &hd);
    CHECK(r, st == NNC_OK && nnc_history_epochs(hd) == 0, "a backup at the last epoch: nothing left to run (%d)",
          nnc_history_epochs(hd));
    /* A backup of another architecture fails the fit, naming the callback. */
    nnc_model *t = tiny();
    float tx[8] = {0}, ty[4] = {0};
    o.epochs = 1;
    o.validation_split = 0;
    st = nnc_fit(t, tx, ty, 4, &o, NULL);
    CHECK(r, st != NNC_OK && strstr(nnc_last_error(t), "backup_and_restore:"), "%s", nnc_last_error(t));
    nnc_model_free(t);
    nnc_history_free(hd);
    nnc_model_free(d);
    nnc_history_free(ha);
    nnc_history_free(hc);
    nnc_model_free(a);
    nnc_model_free(c);
    nnc_callback_free(backup);
    nnc_callback_free(sched);
    t_end(r);
}

/* The interrupt flag of nnc_fit_opts, raised by a batch hook as a SIGINT handler would. */
typedef struct {
    volatile sig_atomic_t flag;
    int epoch, batch, epochs_seen;
    int count, after; /* or after this many batches in all */
} interrupt_hook;

static bool raise_flag(void *user, const nnc_batch_info *b) {
    interrupt_hook *h = user;
    if ((b->epoch == h->epoch && b->batch == h->batch) || ++h->count == h->after) h->flag = 1;
    return false;
}

static bool count_epoch(void *user, const nnc_epoch_info *info) {
    (void)info;
    ((interrupt_hook *)user)->epochs_seen++;
    return false;
}

/* Keras's KeyboardInterrupt: the epoch in progress is abandoned (no epoch end, no train end),
 * so the backup keeps the last completed epoch and a resumed run ends as an uninterrupted one. */
static void test_interrupt(test_run *r) {
    if (!t_begin(r, "callbacks/interrupt_flag_abandons_the_epoch")) return;
    float x[150 * 4], y[150];
    blobs(6, 150, x, y);
    char dir[256], file[300];
    snprintf(dir, sizeof dir, "%s", tmp_path("backup/interrupt"));
    snprintf(file, sizeof file, "%s/backup.safetensors", dir);
    nnc_backup_and_restore_opts bo = nnc_backup_and_restore_opts_default(dir);
    nnc_callback *backup = nnc_backup_and_restore(&bo, NULL);
    CHECK(r, !strcmp(nnc_callback_name(backup), "backup_and_restore") && !nnc_callback_name(NULL), "callback name");
    CHECK(r, !strcmp(nnc_status_str(NNC_ERR_INTERRUPTED), "interrupted"), "status text");
    nnc_fit_opts o = nnc_fit_opts_default();
    o.verbose = 0;
    o.epochs = 7;
    o.batch_size = 16;
    o.validation_split = 0.2f;
    nnc_model *a = classifier(11); /* uninterrupted, without a backup */
    CHECK(r, nnc_fit(a, x, y, 150, &o, NULL) == NNC_OK, "uninterrupted: %s", nnc_last_error(a));

    nnc_model *b = classifier(11);
    interrupt_hook h = {0, 3, 2, 0, 0, 0}; /* after batch 3 of epoch 4 */
    nnc_history *hb = NULL;
    o.callbacks = &backup;
    o.n_callbacks = 1;
    o.on_batch_end = raise_flag;
    o.on_epoch_end = count_epoch;
    o.user = &h;
    o.interrupt = &h.flag;
    nnc_status st = nnc_fit(b, x, y, 150, &o, &hb);
    CHECK(r, st == NNC_ERR_INTERRUPTED && strstr(nnc_last_error(b), "interrupted in epoch 4, after batch 3"), "%s",
          nnc_last_error(b));
    CHECK(r, h.epochs_seen == 3 && nnc_history_epochs(hb) == 3 && nnc_model_epochs_done(b) == 3,
          "epochs: %d seen, %d in the history, %d done", h.epochs_seen, nnc_history_epochs(hb), nnc_model_epochs_done(b));
    CHECK(r, b->train->iterations == 3 * 8 + 3, "%lld steps", (long long)b->train->iterations);
    CHECK(r, exists(file), "the backup of epoch 3 is kept");

    nnc_model *c = classifier(11);
    nnc_history *hc = NULL;
    o.on_batch_end = NULL;
    o.on_epoch_end = NULL;
    o.interrupt = NULL;
    st = nnc_fit(c, x, y, 150, &o, &hc);
    CHECK(r, st == NNC_OK && nnc_history_epochs(hc) == 4, "the resumed fit ran %d epochs: %s", nnc_history_epochs(hc),
          nnc_last_error(c));
    CHECK(r, !memcmp(a->param_arena, c->param_arena, a->n_param_floats * sizeof(float)),
          "resumed weights differ from the uninterrupted run's");
    CHECK(r, !exists(file), "a finished fit deletes the backup");

    /* restarts: the second run, interrupted in its epoch 2, ends them and stays as it stopped */
    interrupt_hook h2 = {0, -1, -1, 0, 0, 16 + 8 + 2};
    o.callbacks = NULL;
    o.n_callbacks = 0;
    o.epochs = 2;
    o.on_batch_end = raise_flag;
    o.user = &h2;
    o.interrupt = &h2.flag;
    st = nnc_fit_restarts(b, x, y, 150, &o, 3, 5, NULL);
    CHECK(r, st == NNC_ERR_INTERRUPTED && nnc_model_epochs_done(b) == 1 && b->train->iterations == 8 + 2,
          "restarts: %s; %d epochs done, %lld steps", nnc_last_error(b), nnc_model_epochs_done(b),
          (long long)b->train->iterations);
    nnc_history_free(hb);
    nnc_history_free(hc);
    nnc_model_free(a);
    nnc_model_free(b);
    nnc_model_free(c);
    nnc_callback_free(backup);
    t_end(r);
}

/* ---- spec files and the command line ------------------------------------------------------- */

static const char *spec_head =
    "input 4\n"
    "dense 8 activation=relu\n"
    "dense 3\n"
    "loss sparse_categorical_crossentropy from_logits=true\n"
    "optimizer adam learning_rate=0.01\n";

static nnc_model *spec_with(const char *tail, nnc_error *e) {
    char text[2048];
    snprintf(text, sizeof text, "%s%s", spec_head, tail);
    return nnc_model_from_spec_text(text, strlen(text), "t.nnc", e);
}

static void test_spec(test_run *r) {
    if (t_begin(r, "callbacks/spec_lines")) {
        nnc_error e = {""};
        nnc_model *m = spec_with("callback early_stopping monitor=val_loss patience=5 restore_best_weights=true\n"
                                 "fit epochs=10\n"
                                 "callback model_checkpoint filepath=ckpt-{epoch:02d}.safetensors save_best_only=true\n"
                                 "callback reduce_lr_on_plateau factor=0.5 patience=2 cooldown=1 min_lr=1e-5\n"
                                 "callback csv_logger filename=log.csv separator=; append=true\n"
                                 "callback terminate_on_nan\n"
                                 "callback backup_and_restore backup_dir=backup\n"
                                 "callback early_stopping loss mode=min baseline=None start_from_epoch=2\n",
                                 &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            CHECK(r, m->train->n_spec_callbacks == 7, "%d callbacks", m->train->n_spec_callbacks);
            nnc_fit_opts fo = nnc_fit_opts_default();
            CHECK(r, nnc_model_fit_defaults(m, &fo) == NNC_OK, "%s", nnc_last_error(m));
            int same = fo.n_callbacks == 7;
            for (int i = 0; same && i < 7; i++) same = fo.callbacks[i] == m->train->spec_callbacks[i];
            CHECK(r, same && fo.epochs == 10, "fit defaults: %d callbacks", fo.n_callbacks);
            /* the caller's own callbacks stay, first, and stay the caller's to free */
            nnc_callback *mine = nnc_terminate_on_nan();
            nnc_fit_opts fo2 = nnc_fit_opts_default();
            fo2.callbacks = &mine;
            fo2.n_callbacks = 1;
            CHECK(r, nnc_model_fit_defaults(m, &fo2) == NNC_OK && fo2.n_callbacks == 8 && fo2.callbacks[0] == mine &&
                         fo2.callbacks[1] == m->train->spec_callbacks[0],
                  "the caller's callback was not kept first: %d callbacks", fo2.n_callbacks);
            /* a second call on the same options adds the spec's once */
            CHECK(r, nnc_model_fit_defaults(m, &fo2) == NNC_OK && fo2.n_callbacks == 8 && fo2.callbacks[0] == mine,
                  "a second call gave %d callbacks", fo2.n_callbacks);
            nnc_callback_free(mine);
        }
        nnc_model_free(m);
        t_end(r);
    }
    static const struct {
        const char *name, *tail, *want[3];
    } bad[] = {
        {"unknown_callback", "callback early_stoping patience=3\n", {"t.nnc:6:", "unknown callback 'early_stoping'", "did you mean 'early_stopping'"}},
        {"unknown_key", "callback early_stopping patiense=3\n", {"t.nnc:6:", "callback early_stopping: unknown key 'patiense'"}},
        {"bad_patience", "callback early_stopping patience=three\n", {"t.nnc:6:", "bad value 'three' for patience"}},
        {"bad_mode", "callback reduce_lr_on_plateau mode=up\n", {"t.nnc:6:", "bad value 'up' for mode"}},
        {"bad_factor", "callback reduce_lr_on_plateau factor=1.5\n", {"t.nnc:6:", "callback reduce_lr_on_plateau: bad value '1.5' for factor"}},
        {"bad_bool", "callback early_stopping restore_best_weights=yes\n", {"t.nnc:6:", "bad value 'yes' for restore_best_weights"}},
        {"missing_filepath", "callback model_checkpoint save_best_only=true\n", {"t.nnc:6:", "missing filepath"}},
        {"bad_filepath", "callback model_checkpoint filepath=c-{epoch.safetensors\n", {"t.nnc:6:", "unmatched '{'"}},
        {"bad_separator", "callback csv_logger filename=l.csv separator=ab\n", {"t.nnc:6:", "bad value 'ab' for separator"}},
        {"terminate_key", "callback terminate_on_nan patience=1\n", {"t.nnc:6:", "unknown key 'patience'"}},
        {"missing_name", "callback\n", {"t.nnc:6:", "missing the callback's name"}},
        {"extra_value", "callback backup_and_restore dir1 dir2\n", {"t.nnc:6:", "unexpected value 'dir2'"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (!t_begin(r, "callbacks/spec_error/%s", bad[i].name)) continue;
        nnc_error e = {""};
        nnc_model *m = spec_with(bad[i].tail, &e);
        CHECK(r, m == NULL, "accepted");
        for (int k = 0; k < 3 && bad[i].want[k]; k++)
            CHECK(r, strstr(e.message, bad[i].want[k]) != NULL, "'%s' lacks '%s'", e.message, bad[i].want[k]);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "callbacks/spec_error/before_loss")) {
        nnc_error e = {""};
        const char *text = "input 4\ndense 3\ncallback terminate_on_nan\nloss mse\n";
        nnc_model *m = nnc_model_from_spec_text(text, strlen(text), "t.nnc", &e);
        CHECK(r, !m && strstr(e.message, "t.nnc:3:") && strstr(e.message, "after the loss"), "%s", e.message);
        nnc_model_free(m);
        t_end(r);
    }
}

static void test_cli(test_run *r) {
    if (!t_begin(r, "callbacks/cli_train_stops_early")) return;
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/nnc", NNC_BINARY_DIR);
    if (access(bin, X_OK)) {
        t_skip(r, "the nnc binary is not built");
        return;
    }
    char dir[256];
    snprintf(dir, sizeof dir, "%s", tmp_path("cli"));
    mkdir(dir, 0777);
    char spec[300];
    snprintf(spec, sizeof spec, "%s/s.nnc", dir);
    FILE *f = fopen(spec, "w");
    if (f) {
        fprintf(f, "%scallback early_stopping monitor=loss min_delta=100 patience=1\n"
                   "callback csv_logger filename=log.csv\nfit epochs=30\n", spec_head);
        fclose(f);
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && NNC_DATA_DIR='%s/../data' '%s' train s.nnc --data iris --json > out.txt 2> err.txt",
             dir, t_srcdir(), bin);
    int rc = system(cmd);
    char path[400];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    char *out = slurp(path);
    snprintf(path, sizeof path, "%s/err.txt", dir);
    char *err = slurp(path);
    CHECK(r, rc == 0, "exit status %d: %s", rc, err ? err : "");
    int epochs = 0;
    for (const char *p = out; p && (p = strstr(p, "{\"epoch\":")); p++) epochs++;
    CHECK(r, epochs == 2, "stopped after %d epochs of 30 (expected 2):\n%s", epochs, out ? out : "");
    CHECK(r, out && strstr(out, "\"train_seconds\""), "no final line");
    snprintf(path, sizeof path, "%s/log.csv", dir);
    char *csv = slurp(path);
    int lines = 0;
    for (const char *p = csv; p && *p; p++) lines += *p == '\n';
    CHECK(r, csv && !strncmp(csv, "epoch,loss\n0,", 13) && lines == 3, "log.csv (relative to the current folder):\n%s",
          csv ? csv : "(missing)");
    free(out);
    free(err);
    free(csv);
    t_end(r);
}

void suite_callbacks(test_run *r);
void suite_callbacks(test_run *r) {
    test_early_stopping(r);
    test_reduce_lr(r);
    test_scheduler(r);
    test_format(r);
    test_checkpoint(r);
    test_csv_logger(r);
    test_fit_hooks(r);
    test_terminate_on_nan(r);
    test_backup_and_restore(r);
    test_interrupt(r);
    test_spec(r);
    test_cli(r);
    if (tmpdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
        if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
}
