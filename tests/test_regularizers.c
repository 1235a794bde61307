/* Regularizers as Keras computes them: l1(x) adds x·Σ|w|, l2(x) adds x·Σw² (no ½), activity
 * regularizers the same over the layer's output for the whole batch; all are part of the loss
 * that fit and evaluate report, and their gradients are checked along random directions. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "compare.h"
#include "layers/layers.h"
#include "core/model_impl.h"
#include "core/rng.h"
#include "format/json.h"
#include "io/model_file.h"
#include "train/train_impl.h"
#include "direction_check.h"

static const char *spec_plain = "input 4\ndense 6 activation=tanh\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n";
static const char *spec_reg =
    "input 4\ndense 6 activation=tanh kernel_regularizer=l2(0.1) bias_regularizer=l1(0.05) "
    "activity_regularizer=l1_l2(l1=0.01,l2=0.02)\ndense 3 kernel_regularizer=l1_l2(0.03,0.04)\n"
    "loss sparse_categorical_crossentropy from_logits=true\n";

static nnc_model *build(const char *s) {
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(s, strlen(s), "t.nnc", &e);
    if (!m) fprintf(stderr, "%s\n", e.message);
    return m;
}

/* b starts from a's weights (the same layers, b with penalties); 0 (recorded) if they differ in size. */
static int copy_weights(test_run *r, const nnc_model *a, nnc_model *b) {
    if (!CHECK(r, a->n_param_floats == b->n_param_floats, "%zu and %zu weights", a->n_param_floats,
               b->n_param_floats))
        return 0;
    memcpy(b->param_arena, a->param_arena, a->n_param_floats * sizeof(float));
    return 1;
}

void suite_regularizers(test_run *r);
void suite_regularizers(test_run *r) {
    enum { N = 10 };
    float x[N * 4], y[N];
    nnc_rng g;
    nnc_rng_seed(&g, 3);
    for (int i = 0; i < N * 4; i++) x[i] = (float)nnc_rng_normal(&g);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    if (t_begin(r, "regularizers/loss_is_data_loss_plus_penalties")) {
        nnc_model *a = build(spec_plain), *b = build(spec_reg);
        nnc_logs la, lb;
        float k1[24], b1[6], k2[18], h[N * 6];
        if (CHECK(r, a && b, "build") && copy_weights(r, a, b) &&
            CHECK(r, nnc_evaluate(a, x, y, N, N, &la) == NNC_OK, "evaluate: %s", nnc_last_error(a)) &&
            CHECK(r, nnc_evaluate(b, x, y, N, N, &lb) == NNC_OK, "evaluate: %s", nnc_last_error(b)) &&
            CHECK(r, nnc_get_variable(b, "dense.kernel", k1, 24) == NNC_OK &&
                         nnc_get_variable(b, "dense.bias", b1, 6) == NNC_OK &&
                         nnc_get_variable(b, "dense_1.kernel", k2, 18) == NNC_OK,
                  "get_variable: %s", nnc_last_error(b))) {
            /* The penalties by hand, in double. */
            double pen = 0.0;
            for (int i = 0; i < 24; i++) pen += 0.1 * (double)k1[i] * (double)k1[i];
            for (int i = 0; i < 6; i++) pen += 0.05 * fabs((double)b1[i]);
            for (int i = 0; i < 18; i++) pen += 0.03 * fabs((double)k2[i]) + 0.04 * (double)k2[i] * (double)k2[i];
            for (int n = 0; n < N; n++)
                for (int j = 0; j < 6; j++) {
                    double s = (double)b1[j];
                    for (int i = 0; i < 4; i++) s += (double)x[n * 4 + i] * (double)k1[i * 6 + j];
                    h[n * 6 + j] = (float)tanh(s);
                    pen += 0.01 * fabs((double)h[n * 6 + j]) + 0.02 * (double)h[n * 6 + j] * (double)h[n * 6 + j];
                }
            double got = nnc_logs_get(&lb, "loss") - nnc_logs_get(&la, "loss");
            CHECK_NEAR(r, got, pen, 1e-5, 1e-5, NULL, "penalty");
            t_info(r, "regularization loss %.6f (by hand %.6f)", got, pen);
        }
        nnc_model_free(a);
        nnc_model_free(b);
        t_end(r);
    }
    if (t_begin(r, "regularizers/gradient_random_directions")) {
        nnc_model *m = build(spec_reg);
        if (CHECK(r, m != NULL, "build"))
            t_info(r, "max |a-b|/(|a|+|b|) = %.3g", direction_check(r, m, x, y, N, &g, 5, 2e-2));
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "regularizers/activity_on_a_fused_sigmoid_output")) {
        /* The sigmoid output is scored from its logits (fused); its activity penalty must
         * still reach the weights: a random-direction check of the whole loss. */
        const char *s = "input 4\ndense 5 activation=tanh\ndense 3 activation=sigmoid activity_regularizer=l2(0.5)\n"
                        "loss binary_crossentropy\n";
        nnc_model *m = build(s);
        float yb[N * 3];
        for (int i = 0; i < N * 3; i++) yb[i] = (float)((i * 7) % 2);
        if (CHECK(r, m != NULL, "build"))
            t_info(r, "|a-b|/(|a|+|b|) = %.3g", direction_check(r, m, x, yb, N, &g, 1, 2e-2));
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "regularizers/saved_in_config")) {
        nnc_model *m = build(spec_reg);
        char dir[] = "/tmp/nnc_reg_XXXXXX", path[64];
        if (CHECK(r, m && mkdtemp(dir), "setup")) {
            snprintf(path, sizeof path, "%s/m.safetensors", dir);
            nnc_error e = {""};
            CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save");
            nnc_model *l = nnc_model_load(path, &e);
            nnc_logs a, b;
            if (CHECK(r, l != NULL, "load: %s", e.message) &&
                CHECK(r, nnc_evaluate(m, x, y, N, N, &a) == NNC_OK, "evaluate: %s", nnc_last_error(m)) &&
                CHECK(r, nnc_evaluate(l, x, y, N, N, &b) == NNC_OK, "evaluate: %s", nnc_last_error(l))) {
                CHECK(r, nnc_logs_get(&a, "loss") == nnc_logs_get(&b, "loss"), "loss with penalties differs after load");
                CHECK(r, ((const nnc_dense_opts *)nnc_layer_opts(&l->layers[1]))->activity_regularizer.l2 == 0.02f, "activity regularizer lost");
            }
            nnc_model_free(l);
            unlink(path);
            rmdir(dir);
        }
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "regularizers/spec_errors")) {
        nnc_error e = {""};
        const char *bad = "input 4\ndense 3 kernel_regularizer=l3(0.1)\nloss mse\n";
        CHECK(r, nnc_model_from_spec_text(bad, strlen(bad), "t.nnc", &e) == NULL &&
                     strstr(e.message, "t.nnc:2: dense: unknown regularizer 'l3'"), "%s", e.message);
        const char *neg = "input 4\ndense 3 kernel_regularizer=l2(-1)\nloss mse\n";
        CHECK(r, nnc_model_from_spec_text(neg, strlen(neg), "t.nnc", &e) == NULL &&
                     strstr(e.message, "t.nnc:2: dense: bad value 'l2(-1)'"), "%s", e.message);
        t_end(r);
    }
}
