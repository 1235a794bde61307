/* nnc's CNN layers against PyTorch references (tools/make_fixtures.py, tests/fixtures/cnn_*.txt):
 * for five small models covering Conv2D (same/valid, strides, dilation, non-square kernels),
 * Conv1D, MaxPooling2D (valid and same), AveragePooling2D (same, padding excluded),
 * GlobalAverage/GlobalMaxPooling2D, Flatten, ZeroPadding2D and BatchNormalization:
 * - the training-mode forward pass (logits), the SparseCategoricalCrossentropy loss and the
 *   gradient of every trainable variable, |a−b| ≤ 1e-6 + 1e-4·|ref|;
 * - every trainable variable and the loss of each epoch after 5 full-batch Adam steps with
 *   nnc_fit, |a−b| ≤ 1e-5 + 1e-3·|ref|; BatchNormalization's moving statistics after them,
 *   1e-6 + 1e-4·|ref| (see STAT_RTOL);
 * - nnc_predict of the BatchNormalization model uses the moving statistics (before training,
 *   1e-6 + 1e-4·|ref|, and after, as the moving statistics);
 * - Dropout is the identity in inference: a model with Dropout(0.5) predicts exactly what the
 *   same model without it predicts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "compare.h"
#include "fixture.h"
#include "train/train_impl.h"

#define CNN_EPOCHS 5
/* Moving statistics after training, and predict with them, are held to 1e-6 + 1e-4·|ref|:
 * nnc stays within 1e-7 of the reference, and the looser 1e-3 would not tell the biased batch
 * variance (Keras) from the unbiased one (4e-4 apart after 5 steps of momentum 0.99). */
#define STAT_ATOL 1e-6
#define STAT_RTOL 1e-4

/* ---- the fixture models, built with the public API ----------------------------------------- */

static nnc_model *new_model(const int *shape, int rank) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_input(m, shape, rank, NULL);
    return m;
}

static void dense3(nnc_model *m) {
    nnc_dense_opts d = nnc_dense_opts_default(3);
    nnc_dense(m, NNC_PREV, &d);
}

/* 7x7x2 -> Conv2D(3, 3x3, same, relu) -> MaxPooling2D(2) [-> Dropout(0.5)] ->
 * Conv2D(4, 2x2, strides 2, same) -> Flatten -> Dense(3). */
static nnc_model *build_conv_pool(int dropout) {
    nnc_model *m = new_model((int[]){7, 7, 2}, 3);
    nnc_conv_opts c = nnc_conv_opts_default(3, 3);
    c.padding_same = true;
    c.activation = NNC_ACT_RELU;
    nnc_conv2d(m, NNC_PREV, &c);
    nnc_pool_opts p = nnc_pool_opts_default(2);
    nnc_max_pooling2d(m, NNC_PREV, &p);
    if (dropout) nnc_dropout(m, NNC_PREV, 0.5f, NULL);
    c = nnc_conv_opts_default(4, 2);
    c.strides[0] = c.strides[1] = 2;
    c.padding_same = true;
    nnc_conv2d(m, NNC_PREV, &c);
    nnc_flatten(m, NNC_PREV, NULL);
    dense3(m);
    return m;
}

/* 8x6x2 -> ZeroPadding2D((1,0),(0,1)) -> Conv2D(3, 3x3, dilation 2, valid, tanh) ->
 * AveragePooling2D(2, same) -> BatchNormalization -> GlobalAveragePooling2D -> Dense(3). */
static nnc_model *build_bn(int dropout) {
    (void)dropout;
    nnc_model *m = new_model((int[]){8, 6, 2}, 3);
    nnc_zero_padding2d(m, NNC_PREV, 1, 0, 0, 1, NULL);
    nnc_conv_opts c = nnc_conv_opts_default(3, 3);
    c.dilation_rate[0] = c.dilation_rate[1] = 2;
    c.activation = NNC_ACT_TANH;
    nnc_conv2d(m, NNC_PREV, &c);
    nnc_pool_opts p = nnc_pool_opts_default(2);
    p.padding_same = true;
    nnc_average_pooling2d(m, NNC_PREV, &p);
    nnc_batch_norm_opts b = nnc_batch_norm_opts_default();
    nnc_batch_normalization(m, NNC_PREV, &b);
    nnc_global_average_pooling2d(m, NNC_PREV, NULL);
    dense3(m);
    return m;
}

/* [9, 2] -> Conv1D(3, 3, strides 2, same, relu) -> Conv1D(2, 4, same) -> Flatten -> Dense(3). */
static nnc_model *build_conv1d(int dropout) {
    (void)dropout;
    nnc_model *m = new_model((int[]){9, 2}, 2);
    nnc_conv_opts c = nnc_conv_opts_default(3, 3);
    c.strides[0] = 2;
    c.padding_same = true;
    c.activation = NNC_ACT_RELU;
    nnc_conv1d(m, NNC_PREV, &c);
    c = nnc_conv_opts_default(2, 4);
    c.padding_same = true;
    nnc_conv1d(m, NNC_PREV, &c);
    nnc_flatten(m, NNC_PREV, NULL);
    dense3(m);
    return m;
}

/* 6x5x2 -> Conv2D(4, (3,2), strides (2,1), same) -> MaxPooling2D(2, same) -> Flatten -> Dense(3). */
static nnc_model *build_maxpool_same(int dropout) {
    (void)dropout;
    nnc_model *m = new_model((int[]){6, 5, 2}, 3);
    nnc_conv_opts c = nnc_conv_opts_default(4, 3);
    c.kernel_size[1] = 2;
    c.strides[0] = 2;
    c.padding_same = true;
    nnc_conv2d(m, NNC_PREV, &c);
    nnc_pool_opts p = nnc_pool_opts_default(2);
    p.padding_same = true;
    nnc_max_pooling2d(m, NNC_PREV, &p);
    nnc_flatten(m, NNC_PREV, NULL);
    dense3(m);
    return m;
}

/* 6x6x2 -> Conv2D(3, 3x3, valid, relu) -> GlobalMaxPooling2D -> Dense(3). */
static nnc_model *build_global_max(int dropout) {
    (void)dropout;
    nnc_model *m = new_model((int[]){6, 6, 2}, 3);
    nnc_conv_opts c = nnc_conv_opts_default(3, 3);
    c.activation = NNC_ACT_RELU;
    nnc_conv2d(m, NNC_PREV, &c);
    nnc_global_max_pooling2d(m, NNC_PREV, NULL);
    dense3(m);
    return m;
}

typedef struct {
    const char *tag, *file;
    nnc_model *(*build)(int dropout);
    int inference; /* the fixture has out_inference0 / out_inference (BatchNormalization) */
} cnn_case;

static const cnn_case cases[] = {
    {"conv_pool", "cnn_conv_pool.txt", build_conv_pool, 0},
    {"bn", "cnn_bn.txt", build_bn, 1},
    {"conv1d", "cnn_conv1d.txt", build_conv1d, 0},
    {"maxpool_same", "cnn_maxpool_same.txt", build_maxpool_same, 0},
    {"global_max", "cnn_global_max.txt", build_global_max, 0},
};

static int param_index(const nnc_model *m, const char *name) {
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0) return i;
    return -1;
}

/* Builds, compiles (SparseCategoricalCrossentropy from logits, Adam lr 0.01) and sets every
 * variable from the fixture, checking that the fixture names exactly the model's variables.
 * NULL on failure (recorded). */
static nnc_model *make_model(test_run *r, const cnn_case *c, const fx_file *f, int dropout) {
    nnc_model *m = c->build(dropout);
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    co.loss.from_logits = true;
    co.optimizer = nnc_adam_default();
    co.optimizer.learning_rate = 0.01f;
    if (!CHECK(r, nnc_compile(m, &co) == NNC_OK, "%s: compile: %s", c->tag, nnc_last_error(m))) {
        nnc_model_free(m);
        return NULL;
    }
    int nv = nnc_variable_count(m), ntrain = 0, ok = 1;
    for (int i = 0; i < nv; i++) {
        const char *name = nnc_variable_name(m, i);
        const fx_tensor *t = fx_get(f, name);
        if (!CHECK(r, t != NULL, "%s: variable %s missing in %s", c->tag, name, c->file)) {
            ok = 0;
            continue;
        }
        float *w = fx_floats(t);
        ok &= CHECK(r, w && nnc_set_variable(m, name, w, t->n) == NNC_OK, "set %s: %s", name,
                    nnc_last_error(m));
        free(w);
        int p = param_index(m, name);
        ntrain += p >= 0 && m->params[p].trainable;
    }
    /* fixture tensors with a '.' in their name: variables, their gradients and finals */
    int nfx = 0;
    for (int i = 0; i < f->n; i++) nfx += strchr(f->t[i].name, '.') != NULL;
    ok &= CHECK(r, nfx == 2 * nv + ntrain, "%s: %d variable tensors in the fixture, the model "
                "has %d variables (%d trainable)", c->tag, nfx, nv, ntrain);
    if (!ok) {
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

/* Output, loss and gradients of one training-mode pass; also nnc_predict before it when the
 * fixture has out_inference0 (moving statistics as set). */
static void forward_backward_case(test_run *r, const cnn_case *c) {
    if (!t_begin(r, "cnn_fixture/%s/forward_backward", c->tag)) return;
    fx_file f = {0};
    if (fx_load_fixture(r, c->file, &f)) {
        nnc_model *m = make_model(r, c, &f, 0);
        const fx_tensor *xt = fx_need(r, &f, "x"), *yt = fx_need(r, &f, "y"), *ot = fx_need(r, &f, "out");
        float *x = fx_floats(xt), *y = fx_floats(yt);
        if (m && xt && yt && ot && CHECK(r, x && y, "out of memory")) {
            int n = xt->shape[0];
            const fx_tensor *inf0 = fx_get(&f, "out_inference0");
            double dinf = 0.0;
            CHECK(r, !c->inference || inf0, "out_inference0 missing in %s", c->file);
            if (inf0) {
                size_t np = nnc_output_size(m) * (size_t)n;
                float *p = calloc(np ? np : 1, sizeof(float));
                if (CHECK(r, p && nnc_predict(m, x, (size_t)n, p) == NNC_OK, "predict: %s",
                          nnc_last_error(m)))
                    CHECK_NEAR_FX(r, p, np, inf0, 1e-6, 1e-4, &dinf, "out_inference0 (predict)");
                free(p);
            }
            if (CHECK(r, nnc_train_plan(m, n) == NNC_OK, "plan: %s", nnc_last_error(m))) {
                nnc_gather_inputs(m, x, NULL, 0, n);
                nnc_gather_targets(m, y, NULL, 0, n);
                nnc_zero_grads(m);
                nnc_forward(m, n, 1);
                float loss = (float)nnc_loss_forward(m, n, 1);
                nnc_backward(m, n);
                double dout = 0.0, dloss = 0.0, dgrad = 0.0;
                CHECK_NEAR_FX(r, m->nodes[m->outputs[0]].value, nnc_output_size(m) * (size_t)n, ot,
                              1e-6, 1e-4, &dout, "out");
                CHECK_NEAR_FX(r, &loss, 1, fx_get(&f, "loss"), 1e-6, 1e-4, &dloss, "loss");
                char worst_name[160] = "";
                for (int i = 0; i < nnc_variable_count(m); i++) {
                    const char *name = nnc_variable_name(m, i);
                    int p = param_index(m, name);
                    if (p < 0 || !m->params[p].trainable) continue;
                    char dn[160];
                    snprintf(dn, sizeof dn, "d%s", name);
                    double d = 0.0;
                    CHECK_NEAR_FX(r, m->grad_arena + m->params[p].offset, m->params[p].size,
                                  fx_get(&f, dn), 1e-6, 1e-4, &d, "%s", dn);
                    if (!isnan(dgrad) && !(d < dgrad)) {
                        dgrad = d;
                        snprintf(worst_name, sizeof worst_name, "%s", dn);
                    }
                }
                t_info(r, "max |nnc - torch|: out %.3g, loss %.3g, gradients %.3g (%s)", dout, dloss,
                       dgrad, worst_name);
            }
            if (inf0) t_info(r, "max |nnc - torch| of predict with the initial moving stats: %.3g", dinf);
        }
        free(x);
        free(y);
        nnc_model_free(m);
        fx_free(&f);
    }
    t_end(r);
}

/* nnc_predict after training: inference mode, so the trained moving statistics. */
static void predict_case(test_run *r, const cnn_case *c, nnc_model *m, const fx_file *f,
                         const float *x, int n) {
    if (!t_begin(r, "cnn_fixture/%s/predict_moving_stats", c->tag)) return;
    const fx_tensor *inf = fx_get(f, "out_inference");
    if (CHECK(r, m != NULL, "needs the model trained by cnn_fixture/%s/adam%d", c->tag, CNN_EPOCHS) &&
        CHECK(r, inf != NULL, "out_inference missing in %s", c->file)) {
        size_t np = nnc_output_size(m) * (size_t)n;
        float *p = calloc(np ? np : 1, sizeof(float));
        double d = 0.0;
        if (CHECK(r, p && nnc_predict(m, x, (size_t)n, p) == NNC_OK, "predict: %s", nnc_last_error(m)))
            CHECK_NEAR_FX(r, p, np, inf, STAT_ATOL, STAT_RTOL, &d, "out_inference (predict)");
        t_info(r, "max |nnc - reference| of predict after %d steps: %.3g", CNN_EPOCHS, d);
        free(p);
    }
    t_end(r);
}

/* 5 full-batch Adam steps with nnc_fit; every variable and every epoch's loss. For the
 * BatchNormalization model, then nnc_predict with the trained moving statistics. */
static void adam_case(test_run *r, const cnn_case *c) {
    if (!t_begin(r, "cnn_fixture/%s/adam%d", c->tag, CNN_EPOCHS)) {
        /* a filter that picks the predict case without this one: it needs the training */
        if (!c->inference) return;
        char name[96];
        snprintf(name, sizeof name, "cnn_fixture/%s/predict_moving_stats", c->tag);
        if (!t_begin(r, "%s", name)) return;
        t_skip(r, "needs the adam case; run it too");
        return;
    }
    fx_file f = {0};
    nnc_model *m = NULL;
    float *x = NULL;
    int n = 0, trained = 0;
    if (fx_load_fixture(r, c->file, &f) && (m = make_model(r, c, &f, 0)) != NULL) {
        const fx_tensor *xt = fx_need(r, &f, "x"), *yt = fx_need(r, &f, "y");
        float *y = fx_floats(yt);
        x = fx_floats(xt);
        nnc_history *h = NULL;
        if (xt && yt && CHECK(r, x && y, "out of memory")) {
            n = xt->shape[0];
            nnc_fit_opts fo = nnc_fit_opts_default();
            fo.epochs = CNN_EPOCHS;
            fo.batch_size = n;
            fo.shuffle = false;
            fo.verbose = 0;
            trained = CHECK(r, nnc_fit(m, x, y, (size_t)n, &fo, &h) == NNC_OK, "fit: %s",
                            nnc_last_error(m));
        }
        if (trained && CHECK(r, nnc_history_epochs(h) == CNN_EPOCHS, "history: %d epochs",
                             nnc_history_epochs(h))) {
            float lv[CNN_EPOCHS];
            for (int e = 0; e < CNN_EPOCHS; e++)
                lv[e] = (float)nnc_logs_get(nnc_history_logs(h, e), "loss");
            double dl = 0.0, dw = 0.0, dstat = 0.0;
            CHECK_NEAR_FX(r, lv, CNN_EPOCHS, fx_get(&f, "losses"), 1e-5, 1e-3, &dl, "losses");
            char worst_name[160] = "";
            for (int i = 0; i < nnc_variable_count(m); i++) {
                const char *name = nnc_variable_name(m, i);
                char fn[160];
                snprintf(fn, sizeof fn, "%s_final", name);
                const fx_tensor *t = fx_need(r, &f, fn);
                const int p = param_index(m, name);
                float *w = t ? calloc(t->n ? t->n : 1, sizeof(float)) : NULL;
                if (!t || !CHECK(r, p >= 0 && w && nnc_get_variable(m, name, w, t->n) == NNC_OK,
                                 "get %s: %s", name, nnc_last_error(m))) {
                    free(w);
                    continue;
                }
                double d = 0.0;
                if (!m->params[p].trainable) {
                    CHECK_NEAR_FX(r, w, t->n, t, STAT_ATOL, STAT_RTOL, &dstat, "%s", fn);
                } else {
                    CHECK_NEAR_FX(r, w, t->n, t, 1e-5, 1e-3, &d, "%s", fn);
                    if (!isnan(dw) && !(d < dw)) {
                        dw = d;
                        snprintf(worst_name, sizeof worst_name, "%s", fn);
                    }
                }
                free(w);
            }
            t_info(r, "max |nnc - reference| after %d steps: losses %.3g, weights %.3g (%s), "
                   "moving statistics %.3g", CNN_EPOCHS, dl, dw, worst_name, dstat);
        }
        nnc_history_free(h);
        free(y);
    }
    t_end(r);
    if (c->inference) predict_case(r, c, trained ? m : NULL, &f, x, n);
    free(x);
    nnc_model_free(m);
    fx_free(&f);
}

/* Dropout(0.5) in inference is the identity: the conv_pool model with a Dropout layer predicts
 * (and evaluates) exactly as the one without; in training mode it does not. */
static void dropout_case(test_run *r) {
    if (!t_begin(r, "cnn_fixture/dropout_inference")) return;
    fx_file f = {0};
    if (fx_load_fixture(r, cases[0].file, &f)) {
        nnc_model *a = make_model(r, &cases[0], &f, 0), *b = make_model(r, &cases[0], &f, 1);
        const fx_tensor *xt = fx_need(r, &f, "x"), *yt = fx_need(r, &f, "y");
        if (a && b && xt && yt) {
            int n = xt->shape[0];
            size_t k = nnc_output_size(a);
            float *x = fx_floats(xt), *y = fx_floats(yt);
            float *pa = calloc((size_t)n * k, sizeof(float)), *pb = calloc((size_t)n * k, sizeof(float));
            if (CHECK(r, x && y && pa && pb, "out of memory") &&
                CHECK(r, nnc_output_size(b) == k, "output sizes differ") &&
                CHECK(r, nnc_predict(a, x, (size_t)n, pa) == NNC_OK, "predict: %s", nnc_last_error(a)) &&
                CHECK(r, nnc_predict(b, x, (size_t)n, pb) == NNC_OK, "predict: %s", nnc_last_error(b))) {
                CHECK(r, memcmp(pa, pb, (size_t)n * k * sizeof(float)) == 0,
                      "predict with Dropout differs from predict without it");
                nnc_logs la, lb;
                if (CHECK(r, nnc_evaluate(a, x, y, (size_t)n, n, &la) == NNC_OK, "evaluate: %s", nnc_last_error(a)) &&
                    CHECK(r, nnc_evaluate(b, x, y, (size_t)n, n, &lb) == NNC_OK, "evaluate: %s", nnc_last_error(b))) {
                    double ea = nnc_logs_get(&la, "loss"), eb = nnc_logs_get(&lb, "loss");
                    CHECK(r, ea == eb, "evaluate loss with Dropout %.9g, without %.9g", ea, eb);
                }
                double dref = 0.0;
                CHECK_NEAR_FX(r, pa, (size_t)n * k, fx_get(&f, "out"), 1e-6, 1e-4, &dref, "predict vs out");
                /* training mode: the dropout mask is applied (not the identity) */
                if (CHECK(r, nnc_train_plan(b, n) == NNC_OK, "plan: %s", nnc_last_error(b))) {
                    nnc_gather_inputs(b, x, NULL, 0, n);
                    nnc_forward(b, n, 1);
                    double dtrain = 0.0;
                    for (size_t i = 0; i < (size_t)n * k; i++)
                        dtrain = cmp_max(dtrain, fabs((double)b->nodes[b->outputs[0]].value[i] - (double)pa[i]));
                    CHECK(r, dtrain > 1e-3, "Dropout(0.5) in training mode left the output unchanged "
                          "(max change %.3g)", dtrain);
                    t_info(r, "inference outputs identical; vs torch %.3g; training mode moves them by %.3g",
                           dref, dtrain);
                }
            }
            free(pa);
            free(pb);
            free(x);
            free(y);
        }
        nnc_model_free(a);
        nnc_model_free(b);
        fx_free(&f);
    }
    t_end(r);
}

void suite_cnn_fixtures(test_run *r);
void suite_cnn_fixtures(test_run *r) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        forward_backward_case(r, &cases[i]);
        adam_case(r, &cases[i]);
    }
    dropout_case(r);
}
