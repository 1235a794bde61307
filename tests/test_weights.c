/* sample_weight, class_weight and gradient accumulation (steps_per_update), as Keras defines
 * them: a weighted loss is Σ w_i·loss_i / N; class_weight is sample_weight looked up by label;
 * accumulating the gradients of k batches makes the same update as one batch of their rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "compare.h"
#include "train/train_impl.h"
#include "core/rng.h"
#include "losses/losses.h"

static nnc_model *model(nnc_optimizer opt) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_model_set_seed(m, 4);
    nnc_input(m, (int[]){4}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(8);
    d.activation = NNC_ACT_TANH;
    nnc_dense(m, NNC_PREV, &d);
    d = nnc_dense_opts_default(3);
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    c.loss.from_logits = true;
    c.optimizer = opt;
    if (nnc_compile(m, &c)) {
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

/* Every weight of a within 1e-6 of b's; returns the largest difference. */
static double check_same_weights(test_run *r, const nnc_model *a, const nnc_model *b) {
    double w = 0.0;
    CHECK_NEAR_F32(r, a->param_arena, a->n_param_floats, b->param_arena, b->n_param_floats, 1e-6,
                   0.0, &w, "weights");
    return w;
}

/* The cross-entropy's exponential against the C library's: 2 ulp at most on [-708, 0]
 * (a dense grid and the edges), 0 below, and NaN stays NaN. */
static void test_exp_nonpos(test_run *r) {
    if (!t_begin(r, "loss/exp_matches_the_library")) return;
    double worst = 0.0;
    int bad = 0;
    for (int i = 0; i <= 708000; i++) {
        double x = -(double)i / 1000.0 - (i % 7) * 1e-4;
        if (x < -708.0) x = -708.0;
        double e = exp(x), got = nnc_exp_nonpos(x);
        worst = cmp_max(worst, fabs(got - e) / e);
        bad += !cmp_near(got, e, 0.0, 4.5e-16);
    }
    const double edge[] = {0.0, -0.0, -1e-300, -0.5 * log(2.0), -log(2.0), -707.9999};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
        bad += !cmp_near(nnc_exp_nonpos(edge[i]), exp(edge[i]), 0.0, 4.5e-16);
    bad += nnc_exp_nonpos(-708.5) != 0.0 || nnc_exp_nonpos(-(double)INFINITY) != 0.0 || !isnan(nnc_exp_nonpos((double)NAN));
    CHECK(r, bad == 0, "%d values off (worst relative error %.3g)", bad, worst);
    t_info(r, "worst relative error %.3g", worst);
    t_end(r);
}

void suite_weights(test_run *r);
void suite_weights(test_run *r) {
    test_exp_nonpos(r);
    enum { N = 32 };
    float x[N * 4], y[N], sw[N], cw[3] = {0.5f, 2.0f, 1.0f};
    nnc_rng g;
    nnc_rng_seed(&g, 9);
    for (int i = 0; i < N * 4; i++) x[i] = (float)nnc_rng_normal(&g);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3), sw[i] = cw[i % 3];
    if (t_begin(r, "weights/weighted_loss_value")) {
        nnc_loss L = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
        float z[6] = {1, 2, 0, -1, 0.5f, 3}, lab[2] = {1, 2}, w[2] = {3, 0.5f};
        double l0 = nnc_loss_compute(&L, 1, z, lab, 1, 3, NULL), l1 = nnc_loss_compute(&L, 1, z + 3, lab + 1, 1, 3, NULL);
        double got = nnc_loss_compute_weighted(&L, 1, z, lab, 2, 3, w, NULL);
        CHECK_NEAR(r, got, (3 * l0 + 0.5 * l1) / 2, 1e-12, 0.0, NULL, "weighted loss");
        t_end(r);
    }
    if (t_begin(r, "weights/class_weight_equals_sample_weight")) {
        nnc_model *a = model(nnc_adam_default()), *b = model(nnc_adam_default());
        nnc_fit_opts o = nnc_fit_opts_default();
        o.verbose = 0;
        o.epochs = 3;
        o.batch_size = 8;
        o.class_weight = cw;
        o.n_class_weights = 3;
        nnc_fit_opts os = o;
        os.class_weight = NULL;
        os.n_class_weights = 0;
        os.sample_weight = sw;
        if (CHECK(r, a && b, "compile") &&
            CHECK(r, nnc_fit(a, x, y, N, &o, NULL) == NNC_OK, "%s", nnc_last_error(a)) &&
            CHECK(r, nnc_fit(b, x, y, N, &os, NULL) == NNC_OK, "%s", nnc_last_error(b)))
            CHECK(r, !memcmp(a->param_arena, b->param_arena, a->n_param_floats * sizeof(float)), "weights differ");
        nnc_model_free(a);
        nnc_model_free(b);
        t_end(r);
    }
    if (t_begin(r, "weights/weight_2_equals_double_learning_rate")) {
        nnc_optimizer s1 = nnc_sgd_default(), s2 = nnc_sgd_default();
        s1.learning_rate = 0.05f, s2.learning_rate = 0.1f;
        nnc_model *a = model(s1), *b = model(s2);
        float two[N];
        for (int i = 0; i < N; i++) two[i] = 2.0f;
        nnc_fit_opts o = nnc_fit_opts_default();
        o.verbose = 0;
        o.epochs = 3;
        o.batch_size = 8;
        o.sample_weight = two;
        nnc_fit_opts o1 = o;
        o1.sample_weight = NULL;
        if (CHECK(r, a && b, "compile") &&
            CHECK(r, nnc_fit(a, x, y, N, &o, NULL) == NNC_OK, "%s", nnc_last_error(a)) &&
            CHECK(r, nnc_fit(b, x, y, N, &o1, NULL) == NNC_OK, "%s", nnc_last_error(b)))
            t_info(r, "max |w(weight 2, lr 0.05) - w(lr 0.1)| = %.3g", check_same_weights(r, a, b));
        nnc_model_free(a);
        nnc_model_free(b);
        t_end(r);
    }
    if (t_begin(r, "weights/bad_sample_weight")) {
        nnc_model *a = model(nnc_adam_default());
        float bad[N];
        for (int i = 0; i < N; i++) bad[i] = i == 5 ? -1.0f : 1.0f;
        nnc_fit_opts o = nnc_fit_opts_default();
        o.verbose = 0;
        o.sample_weight = bad;
        if (CHECK(r, a != NULL, "compile"))
            CHECK(r, nnc_fit(a, x, y, N, &o, NULL) == NNC_ERR_DATA && strstr(nnc_last_error(a), "sample_weight[5]"),
                  "%s", nnc_last_error(a));
        nnc_model_free(a);
        t_end(r);
    }
    /* 4 accumulated batches of 8 against one batch of 32, with the rows in the same order, for
     * plain SGD and for Adam (whose update is not linear in the gradient). */
    const char *names[2] = {"weights/accumulation_equals_large_batch_sgd", "weights/accumulation_equals_large_batch_adam"};
    for (int k = 0; k < 2; k++) {
        if (!t_begin(r, "%s", names[k])) continue;
        nnc_optimizer opt = k ? nnc_adam_default() : nnc_sgd_default();
        nnc_model *a = model(opt), *b = model(opt);
        nnc_fit_opts o = nnc_fit_opts_default();
        o.verbose = 0;
        o.epochs = 5;
        o.shuffle = false;
        o.batch_size = 8;
        o.steps_per_update = 4;
        nnc_fit_opts o32 = o;
        o32.batch_size = 32;
        o32.steps_per_update = 1;
        if (CHECK(r, a && b, "compile") &&
            CHECK(r, nnc_fit(a, x, y, N, &o, NULL) == NNC_OK, "%s", nnc_last_error(a)) &&
            CHECK(r, nnc_fit(b, x, y, N, &o32, NULL) == NNC_OK, "%s", nnc_last_error(b))) {
            double d = check_same_weights(r, a, b);
            CHECK(r, a->train->iterations == 5 && b->train->iterations == 5, "updates %lld and %lld", (long long)a->train->iterations,
                  (long long)b->train->iterations);
            t_info(r, "max |w(4 x 8 accumulated) - w(32)| after 5 updates = %.3g", d);
        }
        nnc_model_free(a);
        nnc_model_free(b);
        t_end(r);
    }
}

/* Restarts keep the best run: the same weights as the best seed trained alone. */
void suite_restarts(test_run *r);
void suite_restarts(test_run *r) {
    if (!t_begin(r, "restarts/keeps_the_best_run")) return;
    enum { N = 60 };
    float x[N * 4], y[N];
    nnc_rng g;
    nnc_rng_seed(&g, 2);
    for (int i = 0; i < N * 4; i++) x[i] = (float)nnc_rng_normal(&g);
    for (int i = 0; i < N; i++) y[i] = (float)((x[i * 4] > 0) + (x[i * 4 + 1] > 0.5f));
    nnc_fit_opts o = nnc_fit_opts_default();
    o.verbose = 0;
    o.epochs = 4;
    o.validation_split = 0.25f;
    nnc_model *m = model(nnc_adam_default());
    nnc_history *h = NULL;
    if (!CHECK(r, m != NULL, "compile") ||
        !CHECK(r, nnc_fit_restarts(m, x, y, N, &o, 3, 10, &h) == NNC_OK, "%s", nnc_last_error(m)) ||
        !CHECK(r, nnc_history_epochs(h) == 4, "history of %d epochs", nnc_history_epochs(h))) {
        nnc_history_free(h);
        nnc_model_free(m);
        t_end(r);
        return;
    }
    double best = (double)INFINITY;
    int best_k = -1;
    float *wk[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++) {
        nnc_model *a = model(nnc_adam_default());
        nnc_fit_opts ok = o;
        nnc_history *hk = NULL;
        if (CHECK(r, a != NULL, "compile") &&
            CHECK(r, nnc_model_set_seed(a, 10 + (uint64_t)k) == NNC_OK, "%s", nnc_last_error(a)) &&
            CHECK(r, nnc_fit(a, x, y, N, &ok, &hk) == NNC_OK, "%s", nnc_last_error(a)) &&
            CHECK(r, nnc_history_epochs(hk) == 4, "history of %d epochs", nnc_history_epochs(hk))) {
            double v = nnc_logs_get(nnc_history_logs(hk, 3), "val_loss");
            if (v < best) best = v, best_k = k; /* a NaN is never best: best_k stays -1 and fails */
            wk[k] = malloc(a->n_param_floats * sizeof(float));
            if (wk[k]) memcpy(wk[k], a->param_arena, a->n_param_floats * sizeof(float));
        }
        nnc_history_free(hk);
        nnc_model_free(a);
    }
    CHECK(r, best_k >= 0 && wk[best_k] && !memcmp(m->param_arena, wk[best_k], m->n_param_floats * sizeof(float)),
          "the kept weights are not those of the best seed (%d)", best_k);
    CHECK(r, nnc_logs_get(nnc_history_logs(h, 3), "val_loss") == best, "history of another run");
    t_info(r, "best of 3: seed %d, val_loss %.4f", 10 + best_k, best);
    for (int k = 0; k < 3; k++) free(wk[k]);
    nnc_history_free(h);
    nnc_model_free(m);
    t_end(r);
}
