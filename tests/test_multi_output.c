/* Models of several outputs, as Keras's Model(inputs, [out1, out2]): each output has its own
 * loss, weight and metrics; the total loss is Σ w_i·loss_i (checked by hand); gradients pass
 * gradcheck; history keys are Keras's ("cls_loss", "val_reg_mae"); a callback monitors one of
 * them; predict writes the outputs side by side; bad settings are one-line errors. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nnc.h"
#include "test.h"
#include "compare.h"
#include "shell.h"
#include "files.h"
#include "core/rng.h"
#include "format/json.h"
#include "io/keras_config.h"

enum { N = 48, F = 4, C = 3 };

/* x [N, F]; y [N, 2]: a class (0..2) for 'cls', a value for 'reg'. */
static void data(float *x, float *y) {
    nnc_rng g;
    nnc_rng_seed(&g, 11);
    for (int i = 0; i < N * F; i++) x[i] = (float)nnc_rng_normal(&g);
    for (int i = 0; i < N; i++) {
        const float *r = x + i * F;
        y[2 * i] = (float)(r[0] > 0.5f ? 2 : r[0] > -0.5f ? 1 : 0);
        y[2 * i + 1] = 0.5f * r[1] - r[2];
    }
}

/* in(4) -> trunk dense 8 tanh -> cls dense 3 softmax, reg dense 1. */
static nnc_model *build(void) {
    nnc_model *m = nnc_model_new("two_heads");
    nnc_node in = nnc_input(m, (int[]){F}, 1, "in");
    nnc_dense_opts d = nnc_dense_opts_default(8);
    d.activation = NNC_ACT_TANH;
    d.name = "trunk";
    nnc_node t = nnc_dense(m, in, &d);
    d = nnc_dense_opts_default(C);
    d.activation = NNC_ACT_SOFTMAX;
    d.name = "cls";
    nnc_node outs[2];
    outs[0] = nnc_dense(m, t, &d);
    d = nnc_dense_opts_default(1);
    d.name = "reg";
    outs[1] = nnc_dense(m, t, &d);
    nnc_set_outputs(m, outs, 2);
    return m;
}

static nnc_compile_opts two_losses(float w1, float w2) {
    nnc_compile_opts c = nnc_compile_opts_default();
    c.n_outputs = 2;
    c.outputs[0] = nnc_output_opts_default(nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY));
    c.outputs[0].weight = w1;
    c.outputs[0].metrics[c.outputs[0].n_metrics++] = NNC_METRIC_ACCURACY;
    c.outputs[1] = nnc_output_opts_default(nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR));
    c.outputs[1].weight = w2;
    c.outputs[1].metrics[c.outputs[1].n_metrics++] = NNC_METRIC_MAE;
    return c;
}

/* evaluate's loss is w1·CE + w2·MSE computed here from predict's outputs. */
static void case_total_loss(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "multi_output/total_loss_by_hand")) return;
    nnc_model *m = build();
    nnc_compile_opts c = two_losses(1.0f, 0.25f);
    if (!CHECK(r, nnc_compile(m, &c) == NNC_OK, "compile: %s", nnc_last_error(m))) goto out;
    CHECK(r, nnc_model_n_outputs(m) == 2 && nnc_output_size(m) == C + 1 && nnc_target_size(m) == 2 &&
                 nnc_target_size_at(m, 0) == 1 && nnc_target_size_at(m, 1) == 1 &&
                 nnc_output_size_at(m, 0) == C && !strcmp(nnc_model_output_name_at(m, 1), "reg"),
          "sizes and names");
    float p[N * (C + 1)];
    nnc_logs l;
    if (!CHECK(r, nnc_predict(m, x, N, p) == NNC_OK && nnc_evaluate(m, x, y, N, 16, &l) == NNC_OK, "%s",
               nnc_last_error(m)))
        goto out;
    double ce = 0.0, mse = 0.0, acc = 0.0, mae = 0.0;
    for (int i = 0; i < N; i++) {
        const float *q = p + i * (C + 1);
        int cls = (int)y[2 * i], best = 0;
        double pc = (double)q[cls];
        ce -= log(pc < 1e-7 ? 1e-7 : pc);
        for (int j = 1; j < C; j++)
            if (q[j] > q[best]) best = j;
        acc += best == cls;
        double d = (double)q[C] - (double)y[2 * i + 1];
        mse += d * d;
        mae += fabs(d);
    }
    ce /= N, mse /= N, acc /= N, mae /= N;
    const double want = ce + 0.25 * mse, got = nnc_logs_get(&l, "loss");
    t_info(r, "loss %.7f, by hand %.7f (cls %.6f, reg %.6f)", got, want, ce, mse);
    CHECK(r, fabs(got - want) < 1e-5 * (1 + want), "loss %g != %g", got, want);
    CHECK(r, fabs(nnc_logs_get(&l, "cls_loss") - ce) < 1e-5 && fabs(nnc_logs_get(&l, "reg_loss") - mse) < 1e-5,
          "per-output losses are unweighted");
    CHECK(r, fabs(nnc_logs_get(&l, "cls_accuracy") - acc) < 1e-9 && fabs(nnc_logs_get(&l, "reg_mae") - mae) < 1e-5,
          "per-output metrics");
    CHECK(r, l.count == 5, "%d keys: loss, cls_loss, cls_accuracy, reg_loss, reg_mae", l.count);
out:
    nnc_model_free(m);
    t_end(r);
}

/* An output read by another output's layer (cls, a softmax, feeds reg): its loss then reads
 * the probabilities, not the logits, so that reg's gradient reaches it. */
static nnc_model *build_chained(void) {
    static const char *s = "input 4 name=in\ndense 8 activation=tanh name=trunk\ndense 3 activation=softmax name=cls\n"
                           "dense 1 name=reg\noutputs cls reg\nloss cls=sparse_categorical_crossentropy reg=mse\n"
                           "loss_weights 0.7 2.0\noptimizer adam\n";
    nnc_error e = {""};
    return nnc_model_from_spec_text(s, strlen(s), "chained.nnc", &e);
}

static void case_gradcheck(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "multi_output/gradcheck_chained_outputs")) return;
    nnc_model *mc = build_chained();
    nnc_gradcheck_result rc[16];
    int fc = -1;
    nnc_gradcheck_opts gc = nnc_gradcheck_opts_default();
    if (CHECK(r, mc != NULL && nnc_variable_count(mc) <= 16, "spec") &&
        CHECK(r, nnc_gradcheck(mc, x, y, N, &gc, rc, &fc) == NNC_OK, "%s", nnc_last_error(mc)))
        CHECK(r, fc == 0, "%d variables failed", fc);
    nnc_model_free(mc);
    t_end(r);
    if (!t_begin(r, "multi_output/gradcheck")) return;
    nnc_model *m = build();
    nnc_compile_opts c = two_losses(0.7f, 2.0f);
    nnc_gradcheck_result res[16];
    int failed = -1;
    nnc_gradcheck_opts go = nnc_gradcheck_opts_default();
    if (CHECK(r, nnc_compile(m, &c) == NNC_OK, "compile: %s", nnc_last_error(m)) &&
        CHECK(r, nnc_variable_count(m) <= 16, "variables") &&
        CHECK(r, nnc_gradcheck(m, x, y, N, &go, res, &failed) == NNC_OK, "%s", nnc_last_error(m))) {
        size_t checked = 0;
        for (int i = 0; i < nnc_variable_count(m); i++) checked += res[i].checked;
        t_info(r, "%zu elements checked, %d variables failed", checked, failed);
        CHECK(r, failed == 0 && checked > 60, "gradcheck");
    }
    nnc_model_free(m);
    t_end(r);
}

/* fit: Keras's history keys, a callback monitoring one output's validation loss, and the
 * loss going down; one loss for both outputs when n_outputs is 0. */
static void case_history(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "multi_output/history_keys")) return;
    nnc_model *m = build();
    nnc_compile_opts c = two_losses(1.0f, 0.5f);
    c.optimizer.learning_rate = 0.02f;
    nnc_early_stopping_opts eo = nnc_early_stopping_opts_default();
    eo.monitor = "val_reg_loss";
    eo.patience = 100;
    nnc_callback *es = nnc_early_stopping(&eo, NULL);
    nnc_fit_opts f = nnc_fit_opts_default();
    f.epochs = 30;
    f.batch_size = 8;
    f.verbose = 0;
    f.validation_split = 0.25f;
    f.callbacks = &es;
    f.n_callbacks = 1;
    char *warn = NULL;
    size_t wn = 0;
    FILE *w = open_memstream(&warn, &wn);
    f.out = w;
    nnc_history *h = NULL;
    if (CHECK(r, nnc_compile(m, &c) == NNC_OK, "compile: %s", nnc_last_error(m)) &&
        CHECK(r, nnc_fit(m, x, y, N, &f, &h) == NNC_OK, "fit: %s", nnc_last_error(m))) {
        const nnc_logs *a = nnc_history_logs(h, 0), *b = nnc_history_logs(h, nnc_history_epochs(h) - 1);
        static const char *keys[] = {"loss", "cls_loss", "cls_accuracy", "reg_loss", "reg_mae",
                                     "val_loss", "val_cls_loss", "val_cls_accuracy", "val_reg_loss", "val_reg_mae"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            CHECK(r, !isnan(nnc_logs_get(b, keys[k])), "history lacks %s", keys[k]);
        CHECK(r, b->count == 10, "%d keys", b->count);
        char json[1024];
        nnc_logs_json(b, "", json, sizeof json);
        t_info(r, "last epoch %s", json);
        CHECK(r, nnc_logs_get(b, "loss") < 0.8 * nnc_logs_get(a, "loss"), "the loss went down");
        CHECK(r, fabs(nnc_logs_get(b, "val_loss") - nnc_logs_get(b, "val_cls_loss") -
                      0.5 * nnc_logs_get(b, "val_reg_loss")) < 1e-5, "val_loss is the weighted sum");
    }
    fclose(w);
    CHECK(r, !warn || !strstr(warn, "val_reg_loss"), "monitor found: %s", warn ? warn : "");
    free(warn);
    nnc_history_free(h);
    nnc_callback_free(es);
    nnc_model_free(m);
    /* one loss for every output */
    m = build();
    c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
    c.metrics[c.n_metrics++] = NNC_METRIC_MAE;
    nnc_logs l;
    float yy[N * (C + 1)];
    for (int i = 0; i < N * (C + 1); i++) yy[i] = (float)(i % 5) * 0.1f;
    if (CHECK(r, nnc_compile(m, &c) == NNC_OK, "compile: %s", nnc_last_error(m)) &&
        CHECK(r, nnc_evaluate(m, x, yy, N, 32, &l) == NNC_OK, "%s", nnc_last_error(m)))
        CHECK(r, l.count == 5 && !isnan(nnc_logs_get(&l, "cls_mae")) &&
                     fabs(nnc_logs_get(&l, "loss") - nnc_logs_get(&l, "cls_loss") - nnc_logs_get(&l, "reg_loss")) < 1e-6,
              "shared loss: %d keys", l.count);
    nnc_model_free(m);
    t_end(r);
}

/* The outputs side by side: predict's row holds cls's 3 values then reg's. */
static void case_predict_layout(test_run *r, const float *x) {
    if (!t_begin(r, "multi_output/predict_layout")) return;
    nnc_model *m = build();
    nnc_compile_opts c = two_losses(1.0f, 1.0f);
    float p[N * (C + 1)];
    if (CHECK(r, nnc_compile(m, &c) == NNC_OK && nnc_predict(m, x, N, p) == NNC_OK, "%s", nnc_last_error(m))) {
        int ok = 1;
        for (int i = 0; i < N; i++) {
            double s = 0;
            for (int j = 0; j < C; j++) s += (double)p[i * (C + 1) + j];
            ok &= fabs(s - 1.0) < 1e-5;
        }
        CHECK(r, ok, "each row's first 3 values are the softmax");
        /* on 2 and 3 threads each thread runs slices of rows through a replica of the model
         * (fit.c, predict_on_replicas): the same side by side layout, the same bits */
        float q[N * (C + 1)];
        for (int t = 2; t <= 3; t++)
            CHECK(r, nnc_model_set_threads(m, t) == NNC_OK && nnc_predict(m, x, N, q) == NNC_OK && !memcmp(p, q, sizeof p),
                  "%d threads predict other values than 1", t);
    }
    nnc_model_free(m);
    t_end(r);
}

static void expect_error(test_run *r, nnc_model *m, nnc_status st, const char *part) {
    const char *e = nnc_last_error(m);
    CHECK(r, st != NNC_OK && strstr(e, part) && !strchr(e, '\n'), "want one line with '%s', got '%s'", part, e);
}

static void case_errors(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "multi_output/errors")) return;
    nnc_model *m = build();
    nnc_compile_opts c = two_losses(1.0f, 1.0f);
    c.n_outputs = 3;
    c.outputs[2] = c.outputs[1];
    expect_error(r, m, nnc_compile(m, &c), "3 output losses for a model of 2 outputs (cls, reg)");
    nnc_model_free(m);
    m = build();
    c = two_losses(1.0f, -1.0f);
    expect_error(r, m, nnc_compile(m, &c), "output 'reg': loss weight -1");
    nnc_model_free(m);
    m = build();
    c = two_losses(1.0f, 1.0f);
    c.outputs[1].loss = nnc_loss_default(NNC_LOSS_CATEGORICAL_CROSSENTROPY);
    expect_error(r, m, nnc_compile(m, &c), "(output 'reg')");
    nnc_model_free(m);
    m = build();
    c = two_losses(1.0f, 1.0f);
    if (CHECK(r, nnc_compile(m, &c) == NNC_OK, "%s", nnc_last_error(m))) {
        float bad[N * 2];
        memcpy(bad, y, sizeof bad);
        bad[10] = 3.0f;
        nnc_logs l;
        expect_error(r, m, nnc_evaluate(m, x, bad, N, 16, &l), "for output layer 'cls'");
        nnc_fit_opts f = nnc_fit_opts_default();
        float cw[3] = {1, 2, 3};
        f.class_weight = cw;
        f.n_class_weights = 3;
        f.verbose = 0;
        expect_error(r, m, nnc_fit(m, x, y, N, &f, NULL), "class_weight is for a model of one output");
    }
    nnc_model_free(m);
    t_end(r);
}


/* The same model from a spec: outputs, loss per output, loss_weights, metrics per output. */
static const char *spec_two =
    "input 4 name=in\n"
    "dense 8 activation=tanh name=trunk\n"
    "dense 3 activation=softmax name=cls\n"
    "dense 1 inputs=trunk name=reg          # the issue's spelling of from=\n"
    "outputs cls reg\n"
    "loss cls=sparse_categorical_crossentropy reg=huber(delta=0.5)\n"
    "loss_weights 1.0 0.25\n"
    "metrics cls=accuracy reg=[mae,mse]\n"
    "optimizer adam learning_rate=0.02\n";

static nnc_model *from_spec(const char *s, char *err, size_t n) {
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(s, strlen(s), "t.nnc", &e);
    snprintf(err, n, "%s", e.message);
    return m;
}

static int same_opts(const nnc_compile_opts *a, const nnc_compile_opts *b) {
    if (a->n_outputs != b->n_outputs) return 0;
    for (int h = 0; h < a->n_outputs; h++) {
        const nnc_output_opts *p = &a->outputs[h], *q = &b->outputs[h];
        if (p->loss.kind != q->loss.kind || p->loss.from_logits != q->loss.from_logits ||
            p->loss.delta != q->loss.delta || p->weight != q->weight || p->n_metrics != q->n_metrics)
            return 0;
        for (int i = 0; i < p->n_metrics; i++)
            if (p->metrics[i] != q->metrics[i]) return 0;
    }
    return 1;
}

/* A saved model reads back with its outputs, losses, weights and metrics: nnc's file, and
 * Keras's .keras and .h5 where built. */
static void case_files(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "multi_output/spec_and_files_round_trip")) return;
    char err[512], dir[] = "/tmp/nnc_multiout_XXXXXX", path[96];
    nnc_model *m = from_spec(spec_two, err, sizeof err);
    if (!CHECK(r, m != NULL, "spec: %s", err) || !CHECK(r, mkdtemp(dir) != NULL, "mkdtemp")) goto out;
    nnc_compile_opts c = nnc_model_compile_opts(m);
    CHECK(r, c.n_outputs == 2 && c.outputs[1].loss.kind == NNC_LOSS_HUBER && c.outputs[1].loss.delta == 0.5f &&
                 c.outputs[1].weight == 0.25f && c.outputs[1].n_metrics == 2 && c.outputs[0].n_metrics == 1,
          "the spec's settings");
    nnc_fit_opts f = nnc_fit_opts_default();
    f.epochs = 2;
    f.verbose = 0;
    nnc_logs before, after;
    if (!CHECK(r, nnc_fit(m, x, y, N, &f, NULL) == NNC_OK && nnc_evaluate(m, x, y, N, 16, &before) == NNC_OK, "fit: %s",
               nnc_last_error(m)))
        goto out;
    CHECK(r, before.count == 6 && !isnan(nnc_logs_get(&before, "reg_mse")), "%d keys", before.count);
    const char *ext[3] = {"safetensors", "keras", "h5"};
    for (int i = 0; i < 3; i++) {
#ifndef NNC_HAVE_KERAS
        if (i) continue;
#endif
        snprintf(path, sizeof path, "%s/m.%s", dir, ext[i]);
        nnc_error e = {""};
        if (!CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save %s: %s", ext[i], nnc_last_error(m))) continue;
        nnc_model *back = nnc_model_load(path, &e);
        if (CHECK(r, back != NULL, "load %s: %s", ext[i], e.message)) {
            nnc_compile_opts b = nnc_model_compile_opts(back);
            CHECK(r, nnc_model_n_outputs(back) == 2 && !strcmp(nnc_model_output_name_at(back, 1), "reg"), "%s: outputs",
                  ext[i]);
            CHECK(r, same_opts(&c, &b), "%s: losses, weights, metrics", ext[i]);
            if (CHECK(r, nnc_evaluate(back, x, y, N, 16, &after) == NNC_OK, "%s", nnc_last_error(back)))
                CHECK(r, after.count == before.count && nnc_logs_get(&after, "loss") == nnc_logs_get(&before, "loss"),
                      "%s: the same loss (%g, %g)", ext[i], nnc_logs_get(&after, "loss"), nnc_logs_get(&before, "loss"));
        }
        nnc_model_free(back);
        unlink(path);
    }
    rmdir(dir);
out:
    nnc_model_free(m);
    t_end(r);
}

/* Each output's metrics take arguments, names and weighted_metrics as one output's do (the
 * metrics system of metric_defs.c), logged as "<output>_<metric>"; checked by hand from
 * predict, and read back from nnc's file and Keras's with their arguments. */
static const char *spec_args =
    "input 4 name=in\n"
    "dense 8 activation=tanh name=trunk\n"
    "dense 3 activation=softmax name=cls\n"
    "dense 1 from=trunk name=reg\n"
    "outputs cls reg\n"
    "loss cls=sparse_categorical_crossentropy reg=mse\n"
    "metrics cls=[accuracy,sparse_top_k_categorical_accuracy(k=2)] reg=[r2_score,mae(name=abs_err)]\n"
    "weighted_metrics reg=mse\n";

static void case_metric_arguments(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "multi_output/metrics_with_arguments")) return;
    char err[512], dir[] = "/tmp/nnc_multiout_XXXXXX", path[96];
    nnc_model *m = from_spec(spec_args, err, sizeof err), *back = NULL;
    float p[N * (C + 1)];
    nnc_logs l, lb;
    if (!CHECK(r, m != NULL, "spec: %s", err) || !CHECK(r, mkdtemp(dir) != NULL, "mkdtemp")) goto out;
    nnc_compile_opts c = nnc_model_compile_opts(m);
    CHECK(r, c.n_outputs == 2 && c.outputs[0].n_metrics == 2 && c.outputs[1].n_metrics == 3 &&
                 nnc_output_metric(&c.outputs[0], 1).k == 2 && nnc_output_metric(&c.outputs[1], 2).weighted &&
                 !strcmp(nnc_output_metric(&c.outputs[1], 1).name, "abs_err"),
          "the spec's metrics with their arguments");
    if (!CHECK(r, nnc_predict(m, x, N, p) == NNC_OK && nnc_evaluate(m, x, y, N, 16, &l) == NNC_OK, "%s",
               nnc_last_error(m)))
        goto out;
    double top2 = 0, acc = 0, mae = 0, mse = 0, mean = 0, tot = 0;
    for (int i = 0; i < N; i++) mean += (double)y[2 * i + 1] / N;
    for (int i = 0; i < N; i++) {
        const float *q = p + i * (C + 1);
        int cls = (int)y[2 * i], above = 0, best = 0;
        for (int j = 0; j < C; j++) above += q[j] > q[cls], best = q[j] > q[best] ? j : best;
        top2 += above < 2, acc += best == cls;
        double d = (double)q[C] - (double)y[2 * i + 1], e = (double)y[2 * i + 1] - mean;
        mae += fabs(d), mse += d * d, tot += e * e;
    }
    const double r2 = 1.0 - mse / tot;
    top2 /= N, acc /= N, mae /= N, mse /= N;
    t_info(r, "cls top-2 %.4f, accuracy %.4f; reg r2 %.5f, mae %.5f, mse %.5f", top2, acc, r2, mae, mse);
    CHECK(r, l.count == 8, "%d keys: loss, cls_loss, reg_loss and five metrics", l.count);
    CHECK(r, cmp_near(nnc_logs_get(&l, "cls_sparse_top_k_categorical_accuracy"), top2, 1e-9, 0) &&
                 cmp_near(nnc_logs_get(&l, "cls_accuracy"), acc, 1e-9, 0),
          "cls metrics %g %g", nnc_logs_get(&l, "cls_sparse_top_k_categorical_accuracy"), nnc_logs_get(&l, "cls_accuracy"));
    CHECK(r, cmp_near(nnc_logs_get(&l, "reg_r2_score"), r2, 1e-5, 1e-5) &&
                 cmp_near(nnc_logs_get(&l, "reg_abs_err"), mae, 1e-6, 1e-5) &&
                 cmp_near(nnc_logs_get(&l, "reg_mse"), mse, 1e-6, 1e-5),
          "reg metrics %g %g %g", nnc_logs_get(&l, "reg_r2_score"), nnc_logs_get(&l, "reg_abs_err"),
          nnc_logs_get(&l, "reg_mse"));
    const char *ext[2] = {"safetensors", "keras"};
    for (int i = 0; i < 2; i++) {
#ifndef NNC_HAVE_KERAS
        if (i) continue;
#endif
        nnc_error e = {""};
        snprintf(path, sizeof path, "%s/m.%s", dir, ext[i]);
        if (!CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save %s: %s", ext[i], nnc_last_error(m))) continue;
        back = nnc_model_load(path, &e);
        if (CHECK(r, back != NULL, "load %s: %s", ext[i], e.message) &&
            CHECK(r, nnc_evaluate(back, x, y, N, 16, &lb) == NNC_OK, "%s", nnc_last_error(back))) {
            int same = lb.count == l.count;
            for (int k = 0; same && k < l.count; k++)
                same = !strcmp(lb.names[k], l.names[k]) && lb.values[k] == l.values[k];
            CHECK(r, same, "%s: the same keys and values read back", ext[i]);
        }
        nnc_model_free(back);
        back = NULL;
        unlink(path);
    }
    rmdir(dir);
out:
    nnc_model_free(m);
    t_end(r);
}

/* Spec errors: one line each, naming the line. */
static void case_spec_errors(test_run *r) {
    static const struct { const char *from, *to, *want; } rows[] = {
        {"loss_weights 1.0 0.25", "loss_weights 1.0 0.25 2", "t.nnc:7: loss_weights: 3 weights for 2 outputs (cls, reg)"},
        {"loss_weights 1.0 0.25", "loss_weights cls=1 rgg=2", "no output is named 'rgg' (did you mean 'reg'?"},
        {"reg=huber(delta=0.5)", "rex=mse", "t.nnc:6: loss: no output is named 'rex'"},
        {"reg=huber(delta=0.5)", "", "loss: no loss for output 'reg'"},
        {"loss cls=sparse_categorical_crossentropy reg=huber(delta=0.5)", "loss mse mse mse", "loss: 3 losses for 2 outputs"},
        {"outputs cls reg", "outputs cls nope", "t.nnc:5: outputs: no layer is named 'nope'"},
        {"metrics cls=accuracy", "metrics cls=accurcy", "unknown metric 'accurcy'"},
        {"inputs=trunk", "inputs=trunk from=trunk", "from= and inputs= name the same thing"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (!t_begin(r, "multi_output/spec_error_%zu", i)) continue;
        char text[1024], err[512];
        const char *at = strstr(spec_two, rows[i].from);
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - spec_two), spec_two, rows[i].to, at + strlen(rows[i].from));
        nnc_model *m = from_spec(text, err, sizeof err);
        CHECK(r, !m && strstr(err, rows[i].want) && !strchr(err, '\n'), "want '%s', got '%s'", rows[i].want, err);
        nnc_model_free(m);
        t_end(r);
    }
}

/* The shell workflow: a tiny CSV of two targets (a class name and a value), train with
 * --targets per output, eval, predict with each output's columns named by it; bad --targets
 * are one-line errors. */
static void case_cli(test_run *r) {
    if (!t_begin(r, "multi_output/cli_train_eval_predict")) return;
    char dir[] = "/tmp/nnc_multiout_cli_XXXXXX", path[128];
    if (!CHECK(r, mkdtemp(dir) != NULL, "mkdtemp")) {
        t_end(r);
        return;
    }
    snprintf(path, sizeof path, "%s/s.nnc", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(spec_two, f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/d.csv", dir);
    f = fopen(path, "w");
    if (f) {
        nnc_rng g;
        nnc_rng_seed(&g, 5);
        fputs("a,b,c,d,kind,size\n", f);
        static const char *kinds[3] = {"small", "mid", "big"};
        for (int i = 0; i < 60; i++) {
            double v[4];
            for (int j = 0; j < 4; j++) v[j] = nnc_rng_normal(&g);
            fprintf(f, "%.4f,%.4f,%.4f,%.4f,%s,%.4f\n", v[0], v[1], v[2], v[3], kinds[i % 3], 0.5 * v[1] - v[2]);
        }
        fclose(f);
    }
    int st = -1;
    char *out = t_shell(dir, "nnc train s.nnc --data d.csv --targets reg=size --targets cls=kind --epochs 3 "
                             "--quiet --history h.csv --save m.safetensors && head -1 h.csv && "
                             "nnc eval m.safetensors --data d.csv && nnc predict m.safetensors --data d.csv | head -2", &st);
    if (CHECK(r, st == 0 && out, "status %d: %s", st, out ? out : "")) {
        CHECK(r, strstr(out, "epoch,cls_accuracy,cls_loss,loss,reg_loss,reg_mae,reg_mse\n"), "history: %s", out);
        CHECK(r, strstr(out, "loss: ") && strstr(out, "cls_accuracy: ") && strstr(out, "reg_mse: "), "eval: %s", out);
        CHECK(r, strstr(out, "cls_predicted,cls_prob_big,cls_prob_mid,cls_prob_small,reg_size\n"), "predict: %s", out);
    }
    free(out);
    /* --report: a table for the classifier output alone, its accuracy the logs' cls_accuracy */
    out = t_shell(dir, "nnc eval m.safetensors --data d.csv --report", &st);
    if (CHECK(r, st == 0 && out, "status %d: %s", st, out ? out : "")) {
        const char *acc = strstr(out, "cls_accuracy: "), *line = strstr(out, "    accuracy ");
        double logged = acc ? atof(acc + 14) : -1.0, reported = line ? atof(line + 13) : -2.0;
        CHECK(r, strstr(out, "output 'cls':") && !strstr(out, "output 'reg'") && strstr(out, "\n         big ") &&
                     fabs(logged - reported) < 1e-4,
              "report of cls (accuracy %g, logged %g): %s", reported, logged, out);
    }
    free(out);
    static const struct { const char *args, *want; } bad[] = {
        {"--targets cls=kind --targets rg=size", "nnc train: --targets rg=size: the model has no output 'rg' (its outputs: cls, reg)\n"},
        {"--targets cls=kind", "nnc train: --targets: no columns for output 'reg' (--targets reg=COLUMN)\n"},
        {"--targets cls=kind,a --targets reg=size", "nnc train: --targets cls=kind,a: output 'cls' takes 1 target column, not 2\n"},
        {"--targets cls=kind --targets cls=size", "nnc train: --targets: output 'cls' given twice\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "nnc train s.nnc --data d.csv --epochs 1 --quiet %s", bad[i].args);
        out = t_shell(dir, cmd, &st);
        CHECK(r, st == 1 && out && !strcmp(out, bad[i].want), "%s: status %d: %s", bad[i].args, st, out ? out : "");
        free(out);
    }
    remove_tree(dir);
    t_end(r);
}

/* Keras 3's compile_config of a two-output model, as Keras writes it: loss and metrics as
 * dicts by output name, loss_weights a dict, objects and strings mixed. */
static void case_keras_dict_config(test_run *r) {
    if (!t_begin(r, "multi_output/keras_dict_compile_config")) return;
    static const char cfg[] =
        "{\"optimizer\":\"adam\",\"loss\":{\"reg\":\"mse\",\"cls\":{\"module\":\"keras.losses\",\"class_name\":"
        "\"SparseCategoricalCrossentropy\",\"config\":{\"name\":\"sparse_categorical_crossentropy\",\"from_logits\":true}}},"
        "\"loss_weights\":{\"cls\":1.0,\"reg\":0.3},\"metrics\":{\"cls\":[\"accuracy\"],\"reg\":[\"mae\",\"mse\"]}}";
    char msg[256] = "";
    nnc_json *j = nnc_json_parse(cfg, sizeof cfg - 1, msg, sizeof msg);
    nnc_model *m = build();
    nnc_compile_opts c = nnc_compile_opts_default();
    if (CHECK(r, j && nnc_outputs_config_parse(m, j, &c, msg, sizeof msg) == 0, "parse: %s", msg)) {
        CHECK(r, c.n_outputs == 2 && c.outputs[0].loss.kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY &&
                     c.outputs[0].loss.from_logits && c.outputs[1].loss.kind == NNC_LOSS_MEAN_SQUARED_ERROR &&
                     c.outputs[1].weight == 0.3f && c.outputs[1].n_metrics == 2 && c.outputs[0].n_metrics == 1,
              "by output name");
        nnc_strbuf sb = {0};
        nnc_outputs_compile_json(&c, &sb, 1);
        t_info(r, "written back: %.300s", sb.buf ? sb.buf : "");
        CHECK(r, sb.buf && strstr(sb.buf, "\"loss_weights\":[1,0.300000012],\"metrics\":[[\"accuracy\"],[\"mae\",\"mse\"]]"),
              "lists in output order");
        nnc_sb_free(&sb);
    }
    nnc_json_free(j);
    static const char two_weights_three_losses[] = "{\"loss\":[\"mse\",\"mse\",\"mse\"],\"loss_weights\":[1,2]}";
    j = nnc_json_parse(two_weights_three_losses, sizeof two_weights_three_losses - 1, msg, sizeof msg);
    nnc_compile_opts c2 = nnc_compile_opts_default();
    CHECK(r, j && nnc_outputs_config_parse(NULL, j, &c2, msg, sizeof msg) != 0 &&
                 !strcmp(msg, "compile_config: 2 loss_weights for 3 losses"), "%s", msg);
    nnc_json_free(j);
    nnc_model_free(m);
    t_end(r);
}

/* examples/multi_output.nnc as examples/README.md runs it: both heads learn (seed 0 measured
 * 0.9667 and 0.1265). */
static void case_example(test_run *r) {
    if (!t_begin(r, "multi_output/example_iris_two_heads")) return;
    char cmd[1024], dir[] = "/tmp/nnc_multiout_ex_XXXXXX";
    int st = -1;
    if (!CHECK(r, mkdtemp(dir) != NULL, "mkdtemp")) {
        t_end(r);
        return;
    }
    snprintf(cmd, sizeof cmd, "nnc train %s/../examples/multi_output.nnc --data %s/../examples/iris_species.csv "
             "--test-split 0.2 --targets species=species --targets 'petal_width=petal width (cm)' --json --quiet",
             t_srcdir(), t_srcdir());
    char *out = t_shell(dir, cmd, &st);
    const char *a = out ? strstr(out, "\"test_species_accuracy\":") : NULL, *e = out ? strstr(out, "\"test_petal_width_mae\":") : NULL;
    if (CHECK(r, st == 0 && a && e, "status %d: %s", st, out ? out : "")) {
        double acc = atof(a + strlen("\"test_species_accuracy\":")), mae = atof(e + strlen("\"test_petal_width_mae\":"));
        t_info(r, "species accuracy %.4f, petal width MAE %.4f", acc, mae);
        CHECK(r, acc >= 0.85 && mae <= 0.25, "accuracy %g (>= 0.85), MAE %g (<= 0.25)", acc, mae);
    }
    free(out);
    /* functional.c's Concatenate model as a spec, no C: its target */
    snprintf(cmd, sizeof cmd, "nnc train %s/../examples/functional.nnc --data digits --test-split 0.2 --seed 1 --json --quiet",
             t_srcdir());
    out = t_shell(dir, cmd, &st);
    a = out ? strstr(out, "\"test_accuracy\":") : NULL;
    if (CHECK(r, st == 0 && a, "status %d: %s", st, out ? out : "")) {
        double acc = atof(a + strlen("\"test_accuracy\":"));
        t_info(r, "examples/functional.nnc: test accuracy %.4f", acc);
        CHECK(r, acc >= 0.93, "functional.nnc: accuracy %g (>= 0.93, functional.c's target)", acc);
    }
    free(out);
    remove_tree(dir);
    t_end(r);
}

/* Several input lines: each input's features side by side in a row, in line order. */
static void case_two_inputs(test_run *r) {
    if (!t_begin(r, "multi_output/spec_two_inputs")) return;
    static const char *spec = "input 2 name=a\ninput 3 name=b\ndense 4 activation=tanh name=db\n"
                              "concatenate inputs=a,db name=joined\ndense 1 name=out\nloss mse\noptimizer adam\n";
    char err[512];
    nnc_model *m = from_spec(spec, err, sizeof err);
    float x[5 * 8], y[8], p[8];
    for (int i = 0; i < 40; i++) x[i] = (float)(i % 7) * 0.1f;
    for (int i = 0; i < 8; i++) y[i] = (float)i * 0.1f;
    nnc_logs l;
    if (CHECK(r, m != NULL, "spec: %s", err))
        CHECK(r, nnc_input_size(m) == 5 && nnc_predict(m, x, 8, p) == NNC_OK && nnc_evaluate(m, x, y, 8, 4, &l) == NNC_OK,
              "%s", nnc_last_error(m));
    nnc_model_free(m);
    t_end(r);
}

void suite_multi_output(test_run *r);
void suite_multi_output(test_run *r) {
    float x[N * F], y[N * 2];
    data(x, y);
    case_total_loss(r, x, y);
    case_gradcheck(r, x, y);
    case_history(r, x, y);
    case_predict_layout(r, x);
    case_errors(r, x, y);
    case_files(r, x, y);
    case_metric_arguments(r, x, y);
    case_spec_errors(r);
    case_cli(r);
    case_keras_dict_config(r);
    case_example(r);
    case_two_inputs(r);
}
