/* nnc against PyTorch references (tools/make_fixtures.py): a 3-layer MLP's output, loss and
 * every gradient for each loss; Keras's clipped-probability losses; activations; and the
 * weights after 10 steps of SGD, SGD+momentum, SGD+Nesterov, Adam, RMSprop, Adagrad, Adadelta,
 * Adam+amsgrad, AdamW, Nadam, Adamax, SGD with clipnorm / clipvalue, Adam with global_clipnorm
 * and SGD with an ExponentialDecay schedule (Keras's formulas).
 * Tolerances: outputs and gradients |a−b| ≤ 1e-6 + 1e-4·|ref|, weights after training
 * 1e-5 + 1e-3·|ref|. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "compare.h"
#include "fixture.h"
#include "ops/activation.h"
#include "train/train_impl.h"

/* The fixture model: Dense(6, relu) -> Dense(4, tanh) -> Dense(K, out). NULL (recorded) when
 * it does not compile. */
static nnc_model *fixture_model(test_run *r, int k, nnc_activation out, nnc_loss loss,
                                nnc_optimizer opt) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_input(m, (int[]){5}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(6);
    d.activation = NNC_ACT_RELU;
    nnc_dense(m, NNC_PREV, &d);
    d = nnc_dense_opts_default(4);
    d.activation = NNC_ACT_TANH;
    nnc_dense(m, NNC_PREV, &d);
    d = nnc_dense_opts_default(k);
    d.activation = out;
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = loss;
    c.optimizer = opt;
    if (!CHECK(r, nnc_compile(m, &c) == NNC_OK, "compile: %s", nnc_last_error(m))) {
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

static const char *const var_names[6] = {"dense.kernel", "dense.bias", "dense_1.kernel",
                                         "dense_1.bias", "dense_2.kernel", "dense_2.bias"};
static const char *const fx_names[6] = {"W1", "b1", "W2", "b2", "W3", "b3"};

/* Sets the six variables from the fixture; 0 (recorded) when one is missing or refused. */
static int set_weights(test_run *r, nnc_model *m, const fx_file *f) {
    int ok = 1;
    for (int i = 0; i < 6; i++) {
        const fx_tensor *t = fx_need(r, f, fx_names[i]);
        float *w = fx_floats(t);
        ok &= t && CHECK(r, w && nnc_set_variable(m, var_names[i], w, t->n) == NNC_OK, "set %s: %s",
                         var_names[i], nnc_last_error(m));
        free(w);
    }
    return ok;
}

static void mlp_case(test_run *r, const char *tag, nnc_loss_kind lk, int logits, nnc_activation out) {
    if (!t_begin(r, "fixture/mlp_%s", tag)) return;
    char file[64];
    snprintf(file, sizeof file, "mlp_%s.txt", tag);
    fx_file f = {0};
    if (fx_load_fixture(r, file, &f)) {
        const fx_tensor *xt = fx_need(r, &f, "x"), *yt = fx_need(r, &f, "y"), *o = fx_need(r, &f, "out");
        nnc_model *m = NULL;
        float *x = NULL, *yv = NULL;
        if (xt && yt && o && CHECK(r, o->ndim == 2 && xt->ndim == 2 && xt->shape[0] == o->shape[0],
                                   "x and out are not [n, features] and [n, k]")) {
            int n = o->shape[0], k = o->shape[1];
            nnc_loss L = nnc_loss_default(lk);
            L.from_logits = logits;
            m = fixture_model(r, k, out, L, nnc_sgd_default());
            x = fx_floats(xt);
            yv = fx_floats(yt);
            if (m && set_weights(r, m, &f) && CHECK(r, x && yv, "out of memory") &&
                CHECK(r, nnc_train_plan(m, n) == NNC_OK, "plan: %s", nnc_last_error(m))) {
                nnc_gather_inputs(m, x, NULL, 0, n);
                nnc_gather_targets(m, yv, NULL, 0, n);
                nnc_zero_grads(m);
                nnc_forward(m, n, 1);
                float loss = (float)nnc_loss_forward(m, n, 1);
                nnc_backward(m, n);
                double worst = 0.0;
                CHECK_NEAR_FX(r, m->nodes[m->outputs[0]].value, (size_t)n * (size_t)k, o, 1e-6, 1e-4,
                              &worst, "out");
                CHECK_NEAR_FX(r, &loss, 1, fx_get(&f, "loss"), 1e-6, 1e-4, &worst, "loss");
                for (int p = 0; p < 6; p++) { /* params are in creation order: kernel, bias per layer */
                    char nm[8];
                    snprintf(nm, sizeof nm, "d%s", fx_names[p]);
                    CHECK_NEAR_FX(r, m->grad_arena + m->params[p].offset, m->params[p].size,
                                  fx_get(&f, nm), 1e-6, 1e-4, &worst, "%s", nm);
                }
                t_info(r, "max |nnc - torch| over out, loss and 6 gradients: %.3g", worst);
            }
        }
        free(x);
        free(yv);
        nnc_model_free(m);
        fx_free(&f);
    }
    t_end(r);
}

static void clipped_case(test_run *r, const char *file, nnc_loss_kind lk) {
    if (!t_begin(r, "fixture/%s", file)) return;
    fx_file f = {0};
    if (fx_load_fixture(r, file, &f)) {
        const fx_tensor *p = fx_need(r, &f, "p"), *y = fx_need(r, &f, "y");
        if (p && y && CHECK(r, p->ndim == 1 || p->ndim == 2, "p has %d axes", p->ndim)) {
            int n = p->shape[0], k = p->ndim == 2 ? p->shape[1] : 1;
            float *pv = fx_floats(p), *yv = fx_floats(y), *g = calloc(p->n ? p->n : 1, sizeof(float));
            if (CHECK(r, pv && yv && g, "out of memory")) {
                nnc_loss L = nnc_loss_default(lk);
                float loss = (float)nnc_loss_compute(&L, 0, pv, yv, n, k, g);
                double w1 = 0.0, w2 = 0.0;
                CHECK_NEAR_FX(r, &loss, 1, fx_get(&f, "loss"), 1e-6, 1e-4, &w1, "loss");
                CHECK_NEAR_FX(r, g, p->n, fx_get(&f, "dp"), 1e-6, 1e-4, &w2, "dp");
                t_info(r, "max diff: loss %.3g, gradient %.3g", w1, w2);
            }
            free(pv);
            free(yv);
            free(g);
        }
        fx_free(&f);
    }
    t_end(r);
}

static void activation_cases(test_run *r) {
    fx_file f = {0};
    int ok = 0;
    for (int a = 0; a < NNC_ACT_COUNT; a++) {
        if (a == NNC_ACT_SOFTMAX) continue;
        const char *nm = nnc_activation_name((nnc_activation)a);
        if (!t_begin(r, "fixture/activation/%s", nm)) continue;
        if (!ok) ok = fx_load_fixture(r, "activations.txt", &f) ? 1 : -1;
        const fx_tensor *x = ok > 0 ? fx_need(r, &f, "x") : NULL;
        float yv[64], dv[64];
        if (x && CHECK(r, x->n <= 64, "x has %zu values, room for 64", x->n)) {
            char dn[40];
            snprintf(dn, sizeof dn, "d_%s", nm);
            for (size_t i = 0; i < x->n; i++) {
                float xi = (float)x->v[i];
                yv[i] = nnc_activation_table[a].f(xi);
                dv[i] = nnc_activation_table[a].df(xi, yv[i]);
            }
            double w1 = 0.0, w2 = 0.0;
            CHECK_NEAR_FX(r, yv, x->n, fx_get(&f, nm), 1e-6, 1e-4, &w1, "%s", nm);
            CHECK_NEAR_FX(r, dv, x->n, fx_get(&f, dn), 1e-6, 1e-4, &w2, "%s", dn);
            t_info(r, "max diff: value %.3g, derivative %.3g", w1, w2);
        }
        t_end(r);
    }
    if (ok > 0) fx_free(&f);
}

static void optimizer_case(test_run *r, const char *tag, nnc_optimizer opt) {
    if (!t_begin(r, "fixture/opt_%s", tag)) return;
    char file[64];
    snprintf(file, sizeof file, "opt_%s.txt", tag);
    fx_file f = {0};
    if (fx_load_fixture(r, file, &f)) {
        nnc_loss L = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
        L.from_logits = true;
        nnc_model *m = fixture_model(r, 3, NNC_ACT_LINEAR, L, opt);
        const fx_tensor *x = fx_need(r, &f, "x"), *y = fx_need(r, &f, "y");
        float *xv = fx_floats(x), *yv = fx_floats(y);
        nnc_history *h = NULL;
        if (m && x && y && set_weights(r, m, &f) && CHECK(r, xv && yv, "out of memory")) {
            nnc_fit_opts fo = nnc_fit_opts_default();
            fo.epochs = 10;
            fo.batch_size = x->shape[0];
            fo.shuffle = false;
            fo.verbose = 0;
            if (CHECK(r, nnc_fit(m, xv, yv, (size_t)x->shape[0], &fo, &h) == NNC_OK, "fit: %s",
                      nnc_last_error(m)) &&
                CHECK(r, nnc_history_epochs(h) == 10, "history of %d epochs", nnc_history_epochs(h))) {
                float lv[10];
                for (int e = 0; e < 10; e++) lv[e] = (float)nnc_logs_get(nnc_history_logs(h, e), "loss");
                double worst = 0.0;
                CHECK_NEAR_FX(r, lv, 10, fx_get(&f, "losses"), 1e-5, 1e-3, &worst, "losses");
                for (int i = 0; i < 6; i++) {
                    char nm[16];
                    snprintf(nm, sizeof nm, "%s_final", fx_names[i]);
                    const fx_tensor *t = fx_need(r, &f, nm);
                    float *w = t ? malloc((t->n ? t->n : 1) * sizeof(float)) : NULL;
                    if (t && CHECK(r, w && nnc_get_variable(m, var_names[i], w, t->n) == NNC_OK,
                                   "get %s: %s", var_names[i], nnc_last_error(m)))
                        CHECK_NEAR_FX(r, w, t->n, t, 1e-5, 1e-3, &worst, "%s", nm);
                    free(w);
                }
                t_info(r, "max |nnc - reference| after 10 steps: %.3g", worst);
            }
        }
        nnc_history_free(h);
        free(xv);
        free(yv);
        nnc_model_free(m);
        fx_free(&f);
    }
    t_end(r);
}

void suite_fixtures(test_run *r);
void suite_fixtures(test_run *r) {
    mlp_case(r, "mse", NNC_LOSS_MEAN_SQUARED_ERROR, 0, NNC_ACT_LINEAR);
    mlp_case(r, "mae", NNC_LOSS_MEAN_ABSOLUTE_ERROR, 0, NNC_ACT_LINEAR);
    mlp_case(r, "huber", NNC_LOSS_HUBER, 0, NNC_ACT_LINEAR);
    mlp_case(r, "bce_logits", NNC_LOSS_BINARY_CROSSENTROPY, 1, NNC_ACT_LINEAR);
    mlp_case(r, "bce_sigmoid", NNC_LOSS_BINARY_CROSSENTROPY, 0, NNC_ACT_SIGMOID);
    mlp_case(r, "cce_logits", NNC_LOSS_CATEGORICAL_CROSSENTROPY, 1, NNC_ACT_LINEAR);
    mlp_case(r, "cce_softmax", NNC_LOSS_CATEGORICAL_CROSSENTROPY, 0, NNC_ACT_SOFTMAX);
    mlp_case(r, "scce_logits", NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1, NNC_ACT_LINEAR);
    mlp_case(r, "scce_softmax", NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0, NNC_ACT_SOFTMAX);
    clipped_case(r, "bce_clipped.txt", NNC_LOSS_BINARY_CROSSENTROPY);
    clipped_case(r, "cce_clipped.txt", NNC_LOSS_CATEGORICAL_CROSSENTROPY);
    activation_cases(r);
    nnc_optimizer sgd = nnc_sgd_default();
    sgd.learning_rate = 0.1f;
    optimizer_case(r, "sgd", sgd);
    sgd.momentum = 0.9f;
    optimizer_case(r, "sgd_momentum", sgd);
    sgd.nesterov = true;
    optimizer_case(r, "sgd_nesterov", sgd);
    nnc_optimizer adam = nnc_adam_default();
    adam.learning_rate = 0.01f;
    optimizer_case(r, "adam", adam);
    nnc_optimizer rms = nnc_rmsprop_default();
    rms.learning_rate = 0.01f;
    optimizer_case(r, "rmsprop", rms);
    rms.momentum = 0.5f;
    rms.centered = true;
    optimizer_case(r, "rmsprop_momentum_centered", rms);
    nnc_optimizer o = nnc_adagrad_default();
    o.learning_rate = 0.1f;
    optimizer_case(r, "adagrad", o);
    o = nnc_adadelta_default();
    o.learning_rate = 1.0f;
    o.epsilon = 1e-3f;
    optimizer_case(r, "adadelta", o);
    o = nnc_adam_default();
    o.learning_rate = 0.01f;
    o.beta_2 = 0.9f;
    o.amsgrad = true;
    optimizer_case(r, "adam_amsgrad", o);
    o = nnc_adamw_default();
    o.learning_rate = 0.01f;
    o.weight_decay = 1.0f;
    optimizer_case(r, "adamw", o);
    o = nnc_nadam_default();
    o.learning_rate = 0.02f;
    optimizer_case(r, "nadam", o);
    o = nnc_adamax_default();
    o.learning_rate = 0.01f;
    optimizer_case(r, "adamax", o);
    o = nnc_sgd_default();
    o.learning_rate = 0.1f;
    o.clipnorm = 0.2f;
    optimizer_case(r, "sgd_clipnorm", o);
    o.clipnorm = 0.0f;
    o.clipvalue = 0.05f;
    optimizer_case(r, "sgd_clipvalue", o);
    o = nnc_adam_default();
    o.learning_rate = 0.01f;
    o.global_clipnorm = 0.2f;
    optimizer_case(r, "adam_global_clipnorm", o);
    o = nnc_sgd_default();
    o.schedule = nnc_schedule_default(NNC_SCHEDULE_EXPONENTIAL_DECAY);
    o.schedule.initial_learning_rate = 0.1f;
    o.schedule.decay_steps = 3.0f;
    o.schedule.decay_rate = 0.5f;
    optimizer_case(r, "sgd_exponential_decay", o);
}
