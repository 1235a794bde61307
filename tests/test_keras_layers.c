/* The activation, noise, merge, reordering and normalization layers (layers-a2): forward values
 * against hand-computed ones, inference against training for the noise layers (identity, then
 * noise of the right statistics, the same bits for a seed whatever the thread count), the loss
 * term of ActivityRegularization, variables named and ordered as Keras's, configs as Keras
 * writes them (and refusals naming the layer), and functional models of the merge layers
 * through the model file. Spec lines of each layer are in test_spec.c's round trip. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "compare.h"
#include "format/json.h"
#include "io/keras_config.h"
#include "layers/layers.h"

static nnc_model *spec(const char *text, nnc_error *e) {
    return nnc_model_from_spec_text(text, strlen(text), "t.nnc", e);
}

/* Compiles a model built in C with a mean squared error, for predict. */
static int compile_mse(test_run *r, nnc_model *m) {
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
    return CHECK(r, nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m));
}

/* The inference output of a spec's model on n rows against want (out: its size). */
static void spec_values(test_run *r, const char *text, const float *x, size_t n, const double *want, size_t out,
                        double atol, const char *what) {
    nnc_error e = {""};
    nnc_model *m = spec(text, &e);
    float got[64];
    if (CHECK(r, m != NULL, "%s: %s", what, e.message) &&
        CHECK(r, nnc_output_size(m) * n == out && out <= 64, "%s: %zu outputs", what, nnc_output_size(m) * n) &&
        CHECK(r, nnc_predict(m, x, n, got) == NNC_OK, "%s: predict: %s", what, nnc_last_error(m)))
        CHECK_NEAR_F32_F64(r, got, out, want, out, atol, 1e-6, NULL, "%s", what);
    nnc_model_free(m);
}

/* The op of the layer's output node. */
static nnc_op out_op(const nnc_model *m, int layer) { return m->nodes[m->layers[layer].output].op; }

static void test_activation_values(test_run *r) {
    if (t_begin(r, "keras_layers/relu_values")) {
        const float x[5] = {-2.0f, 0.2f, 0.5f, 3.0f, 8.0f};
        /* slope·(x − threshold) up to the threshold, then x up to max_value */
        spec_values(r, "input 5\nrelu 6 negative_slope=0.1 threshold=0.5\nloss mse\n", x, 1,
                    (const double[]){-0.25, -0.03, 0.0, 3.0, 6.0}, 5, 1e-7, "relu 6 0.1 0.5");
        spec_values(r, "input 5\nrelu\nloss mse\n", x, 1, (const double[]){0, 0.2, 0.5, 3, 8}, 5, 0, "relu");
        spec_values(r, "input 5\nrelu negative_slope=0.25\nloss mse\n", x, 1, (const double[]){-0.5, 0.2, 0.5, 3, 8},
                    5, 1e-7, "relu slope");
        spec_values(r, "input 5\nReLU max_value=1\nloss mse\n", x, 1, (const double[]){0, 0.2, 0.5, 1, 1}, 5, 0,
                    "ReLU max_value");
        nnc_error e = {""};
        nnc_model *m = spec("input 5\nrelu\nrelu negative_slope=0.3\nrelu 6\nloss mse\n", &e);
        /* the plain ones are the activation op, so that they fuse into a Dense before them */
        if (CHECK(r, m != NULL, "%s", e.message))
            CHECK(r, out_op(m, 1) == NNC_OP_ACT && out_op(m, 2) == NNC_OP_ACT && out_op(m, 3) == NNC_OP_ACT_EX,
                  "ops %d %d %d", (int)out_op(m, 1), (int)out_op(m, 2), (int)out_op(m, 3));
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "keras_layers/elu_values")) {
        const float x[3] = {-1.0f, 0.0f, 2.0f};
        spec_values(r, "input 3\nelu 0.5\nloss mse\n", x, 1, (const double[]){0.5 * expm1(-1.0), 0.0, 2.0}, 3, 1e-7,
                    "elu 0.5");
        spec_values(r, "input 3\nELU\nloss mse\n", x, 1, (const double[]){expm1(-1.0), 0.0, 2.0}, 3, 1e-7, "ELU");
        t_end(r);
    }
    if (t_begin(r, "keras_layers/prelu_shared_axes_and_alpha")) {
        nnc_error e = {""};
        nnc_model *m = spec("input 2 3\nprelu shared_axes=1\nloss mse\n", &e);
        const float x[6] = {-1, 2, -3, 4, -5, -6}, alpha[3] = {0.1f, 0.2f, 0.3f};
        float got[6];
        if (CHECK(r, m != NULL, "%s", e.message)) {
            /* Keras: the input's shape less the batch axis, 1 on each shared axis */
            CHECK(r, nnc_variable_count(m) == 1 && !strcmp(nnc_variable_name(m, 0), "p_re_lu.alpha") &&
                         m->params[0].shape.rank == 2 && m->params[0].shape.dim[0] == 1 &&
                         m->params[0].shape.dim[1] == 3,
                  "alpha is not p_re_lu.alpha of shape (1, 3)");
            if (CHECK(r, nnc_set_variable(m, "p_re_lu.alpha", alpha, 3) == NNC_OK, "%s", nnc_last_error(m)) &&
                CHECK(r, nnc_predict(m, x, 1, got) == NNC_OK, "predict: %s", nnc_last_error(m)))
                CHECK_NEAR_F32_F64(r, got, 6, ((const double[]){-0.1, 2, -0.9, 4, -1.0, -1.8}), 6, 1e-7, 0, NULL,
                                   "x above 0, alpha·x below");
        }
        nnc_model_free(m);
        m = spec("input 2 3\nprelu\nloss mse\n", &e);
        if (CHECK(r, m != NULL, "%s", e.message))
            CHECK(r, nnc_param_count(m) == 6, "%zu alphas without shared axes", nnc_param_count(m));
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "keras_layers/softmax_axis")) {
        const float x[6] = {0, 1, 2, 1, 1, 0};
        const double s01 = 1.0 / (1.0 + exp(1.0)), s20 = 1.0 / (1.0 + exp(-2.0));
        spec_values(r, "input 2 3\nsoftmax axis=1\nloss mse\n", x, 1,
                    (const double[]){s01, 0.5, s20, 1 - s01, 0.5, 1 - s20}, 6, 1e-7, "softmax over axis 1");
        nnc_error e = {""};
        nnc_model *m = spec("input 2 3\nsoftmax axis=2\nsoftmax\nsoftmax axis=-2\nloss mse\n", &e);
        if (CHECK(r, m != NULL, "%s", e.message))
            CHECK(r, out_op(m, 1) == NNC_OP_SOFTMAX && out_op(m, 2) == NNC_OP_SOFTMAX &&
                         out_op(m, 3) == NNC_OP_SOFTMAX_AXIS, "the last axis is the softmax op the losses fuse");
        nnc_model_free(m);
        m = spec("input 2 3\nsoftmax axis=3\nloss mse\n", &e);
        CHECK(r, !m && strstr(e.message, "Softmax 'softmax': axis must be one axis"), "%s", e.message);
        nnc_model_free(m);
        t_end(r);
    }
}

static void test_reorder_values(test_run *r) {
    if (!t_begin(r, "keras_layers/permute_and_repeat_vector")) return;
    const float x[6] = {1, 2, 3, 4, 5, 6};
    spec_values(r, "input 2 3\npermute 2 1\nloss mse\n", x, 1, (const double[]){1, 4, 2, 5, 3, 6}, 6, 0, "transpose");
    spec_values(r, "input 2\nrepeat_vector 3\nloss mse\n", x, 1, (const double[]){1, 2, 1, 2, 1, 2}, 6, 0, "repeat");
    nnc_error e = {""};
    nnc_model *m = spec("input 2 3 4\npermute 3 1 2\nloss mse\n", &e);
    if (CHECK(r, m != NULL, "%s", e.message)) {
        const nnc_shape *s = &m->nodes[m->layers[1].output].shape;
        CHECK(r, s->rank == 3 && s->dim[0] == 4 && s->dim[1] == 2 && s->dim[2] == 3, "permute 3 1 2 of (2, 3, 4)");
    }
    nnc_model_free(m);
    static const struct { const char *text, *expect; } bad[] = {
        {"input 2 3\npermute 1 1\nloss mse\n", "Permute 'permute': dims must order the axes 1..2"},
        {"input 2 3\npermute 1\nloss mse\n", "Permute 'permute': dims must order the axes 1..2"},
        {"input 2 3\nrepeat_vector 2\nloss mse\n", "RepeatVector takes inputs of shape (batch, features)"},
        {"input 2\nrepeat_vector 0\nloss mse\n", "bad value '0' for n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        m = spec(bad[i].text, &e);
        CHECK(r, !m && strstr(e.message, bad[i].expect), "'%s' lacks '%s'", e.message, bad[i].expect);
        nnc_model_free(m);
    }
    t_end(r);
}

static void test_layer_norm(test_run *r) {
    if (!t_begin(r, "keras_layers/layer_normalization")) return;
    const float x[4] = {1, 2, 3, 4};
    const double inv = 1.0 / sqrt(1.25 + 1e-3); /* mean 2.5, biased variance 1.25, Keras's epsilon */
    const double want[4] = {-1.5 * inv, -0.5 * inv, 0.5 * inv, 1.5 * inv};
    spec_values(r, "input 4\nlayer_normalization\nloss mse\n", x, 1, want, 4, 1e-6, "the last axis");
    spec_values(r, "input 2 2\nlayer_normalization axis=[1,2]\nloss mse\n", x, 1, want, 4, 1e-6, "both axes");
    nnc_error e = {""};
    nnc_model *m = spec("input 4\nlayer_normalization epsilon=0.5\nloss mse\n", &e);
    const float gamma[4] = {1, 2, 3, 4}, beta[4] = {0, 1, 0, -1};
    float got[4];
    if (CHECK(r, m != NULL, "%s", e.message) &&
        CHECK(r, nnc_variable_count(m) == 2 && !strcmp(nnc_variable_name(m, 0), "layer_normalization.gamma") &&
                     !strcmp(nnc_variable_name(m, 1), "layer_normalization.beta"), "variables gamma, then beta") &&
        CHECK(r, nnc_set_variable(m, "layer_normalization.gamma", gamma, 4) == NNC_OK &&
                     nnc_set_variable(m, "layer_normalization.beta", beta, 4) == NNC_OK, "%s", nnc_last_error(m)) &&
        CHECK(r, nnc_predict(m, x, 1, got) == NNC_OK, "predict: %s", nnc_last_error(m))) {
        const double i2 = 1.0 / sqrt(1.75);
        CHECK_NEAR_F32_F64(r, got, 4, ((const double[]){-1.5 * i2, -1.0 * i2 + 1, 1.5 * i2, 6.0 * i2 - 1}), 4, 1e-6,
                           1e-6, NULL, "gamma·x̂ + beta");
    }
    nnc_model_free(m);
    m = spec("input 2 3\nlayer_normalization scale=false\nlayer_normalization axis=1 center=false\nloss mse\n", &e);
    if (CHECK(r, m != NULL, "%s", e.message))
        CHECK(r, nnc_variable_count(m) == 2 && !strcmp(nnc_variable_name(m, 0), "layer_normalization.beta") &&
                     !strcmp(nnc_variable_name(m, 1), "layer_normalization_1.gamma") &&
                     m->params[1].shape.rank == 1 && m->params[1].shape.dim[0] == 2,
              "scale=false keeps beta alone; axis 1 of (2, 3) gives a gamma of (2,)");
    nnc_model_free(m);
    static const struct { const char *text, *expect; } bad[] = {
        {"input 2 3 4\nlayer_normalization axis=[1,3]\nloss mse\n", "axes that are not consecutive"},
        {"input 2 3\nlayer_normalization axis=3\nloss mse\n", "axis 3 is not an axis for inputs of rank 3"},
        {"input 2 3\nlayer_normalization axis=[2,-1]\nloss mse\n", "axis -1 is given twice"},
        {"input 2 3\nlayer_normalization epsilon=0\nloss mse\n", "bad value '0' for epsilon"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        m = spec(bad[i].text, &e);
        CHECK(r, !m && strstr(e.message, bad[i].expect), "'%s' lacks '%s'", e.message, bad[i].expect);
        nnc_model_free(m);
    }
    t_end(r);
}

/* Three inputs of 3 values; out = Concatenate of every merge layer's output. */
static nnc_model *merge_model(void) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_node a = nnc_input(m, (int[]){3}, 1, NULL), b = nnc_input(m, (int[]){3}, 1, NULL);
    nnc_node c = nnc_input(m, (int[]){3}, 1, NULL);
    nnc_node ab[2] = {a, b}, abc[3] = {a, b, c};
    nnc_node outs[6] = {nnc_subtract(m, ab, 2, NULL), nnc_multiply(m, abc, 3, NULL), nnc_average(m, abc, 3, NULL),
                        nnc_maximum(m, abc, 3, NULL), nnc_minimum(m, ab, 2, NULL), nnc_dot(m, a, b, 1, 1, false, NULL)};
    nnc_concatenate(m, outs, 6, -1, NULL);
    return m;
}

static void test_merge_values(test_run *r) {
    if (t_begin(r, "keras_layers/merge_values")) {
        nnc_model *m = merge_model();
        const float x[9] = {1, 5, -2, 3, 2, -2, 2, 2, 4};
        float got[16];
        const double want[16] = {-2, 3, 0, 6, 20, 16, 2, 3, 0, 3, 5, 4, 1, 2, -2, 1 * 3 + 5 * 2 + 4};
        if (compile_mse(r, m) && CHECK(r, nnc_output_size(m) == 16, "%zu outputs", nnc_output_size(m)) &&
            CHECK(r, nnc_predict(m, x, 1, got) == NNC_OK, "predict: %s", nnc_last_error(m)))
            CHECK_NEAR_F32_F64(r, got, 16, want, 16, 1e-6, 0, NULL, "subtract, multiply, average, max, min, dot");
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "keras_layers/merge_broadcasting")) {
        /* Keras expands a shorter input after its batch axis: (3) against (2, 3) is per row */
        nnc_model *m = nnc_model_new(NULL);
        nnc_node a = nnc_input(m, (int[]){2, 3}, 2, NULL), b = nnc_input(m, (int[]){3}, 1, NULL);
        nnc_node c = nnc_input(m, (int[]){2, 1}, 2, NULL);
        nnc_node s = nnc_subtract(m, (nnc_node[]){a, b}, 2, NULL);
        nnc_maximum(m, (nnc_node[]){s, c}, 2, NULL);
        const float x[11] = {1, 2, 3, 4, 5, 6, /* b */ 1, 1, 5, /* c */ 0.5f, 4};
        float got[6];
        if (compile_mse(r, m) && CHECK(r, nnc_predict(m, x, 1, got) == NNC_OK, "predict: %s", nnc_last_error(m)))
            CHECK_NEAR_F32_F64(r, got, 6, ((const double[]){0.5, 1, 0.5, 4, 4, 4}), 6, 0, 0, NULL,
                               "max(a − b, c) with broadcasting");
        nnc_model_free(m);
        m = nnc_model_new(NULL);
        a = nnc_input(m, (int[]){3}, 1, NULL), b = nnc_input(m, (int[]){4}, 1, NULL);
        CHECK(r, nnc_multiply(m, (nnc_node[]){a, b}, 2, "mul") == NNC_NONE &&
                     strstr(nnc_last_error(m), "layer 'mul': shapes (None, 3) and (None, 4) cannot be broadcast"),
              "%s", nnc_last_error(m));
        nnc_model_free(m);
        m = nnc_model_new(NULL);
        a = nnc_input(m, (int[]){3}, 1, NULL);
        CHECK(r, nnc_subtract(m, (nnc_node[]){a, a, a}, 3, NULL) == NNC_NONE &&
                     strstr(nnc_last_error(m), "Subtract 'subtract': needs 2 inputs, got 3"), "%s", nnc_last_error(m));
        nnc_model_free(m);
        t_end(r);
    }
}

static void test_dot(test_run *r) {
    if (!t_begin(r, "keras_layers/dot")) return;
    static const struct {
        int ra, da[2], rb, db[2], axa, axb, want[3];
    } shapes[] = {
        {1, {3}, 1, {3}, 1, 1, {1, 1}},         /* (None, 3)·(None, 3): (None, 1) */
        {2, {2, 3}, 2, {4, 3}, 2, 2, {2, 2, 4}}, /* Keras's docstring: (2, 3)·(4, 3) on the last axes */
        {2, {2, 3}, 2, {2, 4}, 1, 1, {2, 3, 4}},
        {2, {2, 3}, 1, {3}, -1, -1, {1, 2}},
        {1, {3}, 2, {3, 5}, 1, 1, {1, 5}},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        nnc_model *m = nnc_model_new(NULL);
        nnc_node a = nnc_input(m, shapes[i].da, shapes[i].ra, NULL), b = nnc_input(m, shapes[i].db, shapes[i].rb, NULL);
        nnc_node y = nnc_dot(m, a, b, shapes[i].axa, shapes[i].axb, false, NULL);
        if (CHECK(r, y != NNC_NONE, "case %zu: %s", i, nnc_last_error(m))) {
            const nnc_shape *s = &m->nodes[y].shape;
            int ok = s->rank == shapes[i].want[0];
            for (int k = 0; ok && k < s->rank; k++) ok = s->dim[k] == shapes[i].want[1 + k];
            CHECK(r, ok, "case %zu: output shape", i);
        }
        nnc_model_free(m);
    }
    {   /* values: (2, 3)·(4, 3) on the last axes is x·yᵀ per example; normalize gives cosines */
        nnc_model *m = nnc_model_new(NULL);
        nnc_node a = nnc_input(m, (int[]){2}, 1, NULL), b = nnc_input(m, (int[]){2}, 1, NULL);
        nnc_node d = nnc_dot(m, a, b, 1, 1, false, NULL), c = nnc_dot(m, a, b, -1, -1, true, NULL);
        nnc_concatenate(m, (nnc_node[]){d, c}, 2, -1, NULL);
        const float x[4] = {3, 4, 1, 0};
        float got[2];
        if (compile_mse(r, m) && CHECK(r, nnc_predict(m, x, 1, got) == NNC_OK, "predict: %s", nnc_last_error(m)))
            CHECK_NEAR_F32_F64(r, got, 2, ((const double[]){3, 0.6}), 2, 1e-6, 0, NULL, "dot and cosine");
        nnc_model_free(m);
    }
    static const struct { int axa, axb, ra; const char *expect; } bad[] = {
        {0, 0, 1, "Dot 'dot': axes must be one axis or two (one per input), not the batch axis 0"},
        {2, 2, 1, "Dot 'dot': axes must be one axis or two"},
        {1, 1, 3, "Dot takes examples of rank 1 or 2"},
        {1, 2, 2, "cannot take the dot product of (None, 2, 3) (axis 1) and (None, 2, 3) (axis 2): 2 != 3"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nnc_model *m = nnc_model_new(NULL);
        const int dims[3] = {2, 3, 4};
        nnc_node a = nnc_input(m, dims, bad[i].ra, NULL), b = nnc_input(m, dims, bad[i].ra, NULL);
        CHECK(r, nnc_dot(m, a, b, bad[i].axa, bad[i].axb, false, NULL) == NNC_NONE &&
                     strstr(nnc_last_error(m), bad[i].expect), "'%s' lacks '%s'", nnc_last_error(m), bad[i].expect);
        nnc_model_free(m);
    }
    t_end(r);
}

/* The merge layers' model trained, saved (nnc's file, .keras, .h5) and loaded: the same config
 * and the same predictions. */
static void test_merge_round_trip(test_run *r) {
    if (!t_begin(r, "keras_layers/merge_model_round_trip")) return;
    nnc_model *m = nnc_model_new(NULL);
    nnc_node a = nnc_input(m, (int[]){2, 3}, 2, "left"), b = nnc_input(m, (int[]){2, 3}, 2, "right");
    nnc_node ab[2] = {a, b};
    nnc_node outs[7] = {nnc_subtract(m, ab, 2, NULL), nnc_multiply(m, ab, 2, NULL), nnc_average(m, ab, 2, NULL),
                        nnc_maximum(m, ab, 2, NULL), nnc_minimum(m, ab, 2, NULL),
                        nnc_flatten(m, nnc_dot(m, a, b, 2, 2, true, NULL), NULL),
                        nnc_flatten(m, nnc_dot(m, a, b, 1, 1, false, NULL), NULL)};
    for (int i = 0; i < 5; i++) outs[i] = nnc_flatten(m, outs[i], NULL);
    nnc_dense_opts d = nnc_dense_opts_default(2);
    nnc_dense(m, nnc_concatenate(m, outs, 7, -1, NULL), &d);
    enum { N = 12 };
    float x[N * 12], y[N * 2], p1[N * 2], p2[N * 2];
    for (int i = 0; i < N * 12; i++) x[i] = (float)((i * 29) % 23) / 11.0f - 1.0f;
    for (int i = 0; i < N * 2; i++) y[i] = (float)(i % 5) / 4.0f;
    nnc_fit_opts fo = nnc_fit_opts_default();
    fo.verbose = 0;
    fo.epochs = 2;
    fo.batch_size = 4;
    char dir[] = "/tmp/nnc_merge_XXXXXX", path[80];
    nnc_error e = {""};
    nnc_model *l = NULL;
    if (compile_mse(r, m) && CHECK(r, nnc_fit(m, x, y, N, &fo, NULL) == NNC_OK, "fit: %s", nnc_last_error(m)) &&
        CHECK(r, mkdtemp(dir) != NULL, "mkdtemp failed")) {
        static const char *const ext[] = {"safetensors", "keras", "h5"}; /* nnc's file, then Keras's */
        for (int f = 0; f < 3; f++) {
            snprintf(path, sizeof path, "%s/m.%s", dir, ext[f]);
            nnc_status st = nnc_model_save(m, path, NULL);
            if (f && st == NNC_ERR_UNSUPPORTED) continue; /* a build without HDF5 and libzip */
            if (CHECK(r, st == NNC_OK, ".%s: save: %s", ext[f], nnc_last_error(m)) &&
                CHECK(r, (l = nnc_model_load(path, &e)) != NULL, ".%s: load: %s", ext[f], e.message) &&
                CHECK(r, nnc_predict(m, x, N, p1) == NNC_OK && nnc_predict(l, x, N, p2) == NNC_OK, "predict")) {
                CHECK(r, !memcmp(p1, p2, sizeof p1), ".%s: predictions differ after load", ext[f]);
                nnc_strbuf ca = {0}, cb = {0};
                nnc_config_json(m, &ca);
                nnc_config_json(l, &cb);
                CHECK(r, ca.buf && cb.buf && !strcmp(ca.buf, cb.buf), ".%s: configs differ:\n%s\n%s", ext[f], ca.buf,
                      cb.buf);
                CHECK(r, ca.buf && strstr(ca.buf, "\"class_name\":\"Dot\",\"config\":{\"name\":\"dot\",\"trainable\":true,"
                                                  "\"dtype\":\"float32\",\"axes\":2,\"normalize\":true}"),
                      "Dot's config is not Keras's:\n%s", ca.buf);
                nnc_sb_free(&ca);
                nnc_sb_free(&cb);
            }
            nnc_model_free(l);
            l = NULL;
            unlink(path);
        }
        rmdir(dir);
    }
    nnc_model_free(m);
    t_end(r);
}

/* ActivityRegularization adds l1·Σ|y| + l2·Σy² of its output over the batch to the loss, as
 * nnc's activity_regularizer does (Keras 3.0 to 3.13 sum so; Keras 2 and Keras 3.14 on divide
 * by the batch size). */
static void test_activity_regularization(test_run *r) {
    if (!t_begin(r, "keras_layers/activity_regularization_loss_term")) return;
    const char *with = "input 3\nactivity_regularization 0.1 l2=0.2\ndense 1 use_bias=false kernel_initializer=zeros\n"
                       "loss mse\n";
    const char *without = "input 3\ndense 1 use_bias=false kernel_initializer=zeros\nloss mse\n";
    const float x[6] = {1, -2, 3, 0, 1, -1}, y[2] = {0.5f, -0.5f};
    nnc_error e = {""};
    nnc_model *a = spec(with, &e), *b = spec(without, &e);
    nnc_logs la, lb;
    if (CHECK(r, a && b, "%s", e.message) && CHECK(r, nnc_evaluate(a, x, y, 2, 2, &la) == NNC_OK, "%s", nnc_last_error(a)) &&
        CHECK(r, nnc_evaluate(b, x, y, 2, 2, &lb) == NNC_OK, "%s", nnc_last_error(b))) {
        /* Σ|x| = 8, Σx² = 16 over both rows: 0.1·8 + 0.2·16 = 4; the outputs are 0, the mse 0.25 */
        CHECK_NEAR(r, nnc_logs_get(&lb, "loss"), 0.25, 1e-7, 0, NULL, "data loss");
        CHECK_NEAR(r, nnc_logs_get(&la, "loss"), 0.25 + 4.0, 1e-6, 0, NULL, "data loss + activity penalty");
        float p[2];
        CHECK(r, nnc_predict(a, x, 2, p) == NNC_OK && p[0] == 0.0f && p[1] == 0.0f, "the layer is the identity");
    }
    nnc_model_free(a);
    nnc_model_free(b);
    t_end(r);
}

/* The regularizers of PReLU's alpha and LayerNormalization's gamma and beta reach their own
 * variable, also when LayerNormalization has beta alone. */
static void test_variable_regularizers(test_run *r) {
    if (!t_begin(r, "keras_layers/variable_regularizers")) return;
    static const struct {
        const char *layer, *var;
        float value, penalty; /* each of the variable's values; the penalty they give */
    } cases[] = {
        {"prelu alpha_regularizer=l1(0.5)", "p_re_lu.alpha", -0.5f, 0.5f * 0.5f * 6},
        {"layer_normalization gamma_regularizer=l2(0.5)", "layer_normalization.gamma", 2.0f, 0.5f * 4 * 3},
        {"layer_normalization beta_regularizer=l1(0.25)", "layer_normalization.beta", -2.0f, 0.25f * 2 * 3},
        {"layer_normalization scale=false beta_regularizer=l1(0.25)", "layer_normalization.beta", -2.0f, 0.25f * 2 * 3},
        {"layer_normalization scale=false gamma_regularizer=l1(9)", "layer_normalization.beta", -2.0f, 0.0f},
        {"layer_normalization center=false beta_regularizer=l1(9)", "layer_normalization.gamma", 2.0f, 0.0f},
    };
    const float x[6] = {1, -2, 3, 0.5f, 1, -1}, y[1] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        snprintf(text, sizeof text, "input %s\n%s\nflatten\ndense 1 kernel_initializer=zeros\nloss mse\n",
                 cases[i].layer[0] == 'p' ? "2 3" : "3", cases[i].layer);
        nnc_error e = {""};
        nnc_model *m = spec(text, &e);
        nnc_logs lg;
        float v[6];
        const size_t n = cases[i].layer[0] == 'p' ? 6 : 3;
        for (size_t k = 0; k < n; k++) v[k] = cases[i].value;
        if (CHECK(r, m != NULL, "%s: %s", cases[i].layer, e.message) &&
            CHECK(r, nnc_set_variable(m, cases[i].var, v, n) == NNC_OK, "%s", nnc_last_error(m)) &&
            CHECK(r, nnc_evaluate(m, x, y, 1, 1, &lg) == NNC_OK, "%s", nnc_last_error(m)))
            CHECK_NEAR(r, nnc_logs_get(&lg, "loss"), (double)cases[i].penalty, 1e-6, 1e-6, NULL, "%s", cases[i].layer);
        nnc_model_free(m);
    }
    t_end(r);
}

/* Mean and standard deviation of n floats, in double. */
static void moments(const float *v, size_t n, double *mean, double *sd) {
    double s = 0.0, q = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)v[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) q += ((double)v[i] - *mean) * ((double)v[i] - *mean);
    *sd = sqrt(q / (double)n);
}

enum { NOISE_ROWS = 400, NOISE_F = 24 }; /* examples of (4, 3, 2) or (12, 2) or (24) */

/* The output of one noise layer's model for x = 1 everywhere, in training mode (threads: the
 * model's thread count). */
static int noise_run(test_run *r, const char *text, int threads, uint64_t seed, int training, float *out) {
    static float x[NOISE_ROWS * NOISE_F];
    for (size_t i = 0; i < NOISE_ROWS * NOISE_F; i++) x[i] = 1.0f;
    nnc_error e = {""};
    nnc_model *m = spec(text, &e);
    int ok = CHECK(r, m != NULL, "%s", e.message) &&
             CHECK(r, nnc_model_set_threads(m, threads) == NNC_OK && nnc_model_set_seed(m, seed) == NNC_OK, "%s",
                   nnc_last_error(m)) &&
             CHECK(r, nnc_predict_ex(m, x, NOISE_ROWS, out, 64, training) == NNC_OK, "predict: %s", nnc_last_error(m));
    nnc_model_free(m);
    return ok;
}

static void test_noise_layers(test_run *r) {
    static const struct {
        const char *name, *text;
    } layers[] = {
        {"gaussian_noise", "input 24\ngaussian_noise 0.5\nloss mse\n"},
        {"gaussian_dropout", "input 24\ngaussian_dropout 0.2\nloss mse\n"},
        {"spatial_dropout1d", "input 12 2\nspatial_dropout1d 0.4\nloss mse\n"},
        {"spatial_dropout2d", "input 4 3 2\nspatial_dropout2d 0.4\nloss mse\n"},
    };
    static float a[NOISE_ROWS * NOISE_F], b[NOISE_ROWS * NOISE_F];
    for (size_t k = 0; k < sizeof layers / sizeof *layers; k++) {
        if (!t_begin(r, "keras_layers/%s_training_and_inference", layers[k].name)) continue;
        const size_t n = NOISE_ROWS * NOISE_F;
        int identity = noise_run(r, layers[k].text, 1, 7, 0, a);
        for (size_t i = 0; identity && i < n; i++) identity = a[i] == 1.0f;
        CHECK(r, identity, "inference is not the identity");
        if (noise_run(r, layers[k].text, 1, 7, 1, a) && noise_run(r, layers[k].text, 3, 7, 1, b))
            CHECK(r, !memcmp(a, b, sizeof a), "training draws differ with 3 threads");
        if (noise_run(r, layers[k].text, 1, 8, 1, b)) CHECK(r, memcmp(a, b, sizeof a), "another seed, the same draws");
        double mean, sd, want_sd = k == 0 ? 0.5 : k == 1 ? 0.5 : sqrt(0.4 / 0.6);
        moments(a, n, &mean, &sd);
        /* 9600 values (spatial: 400·2 or 400·2 channels drawn, each repeated): 5 standard errors */
        const double draws = k < 2 ? (double)n : NOISE_ROWS * 2.0;
        CHECK_NEAR(r, mean, 1.0, 5.0 * want_sd / sqrt(draws), 0, NULL, "mean of the output for x = 1");
        CHECK_NEAR(r, sd, want_sd, 0.0, 5.0 / sqrt(2.0 * draws), NULL, "spread of the output for x = 1");
        if (k >= 2) { /* whole channels: every position of an example's channel alike, 0 or 1/(1 − rate) */
            int whole = 1;
            for (size_t row = 0; row < NOISE_ROWS; row++)
                for (size_t i = 0; i < NOISE_F; i++) {
                    const float v = a[row * NOISE_F + i], first = a[row * NOISE_F + i % 2];
                    whole &= v == first && (v == 0.0f || v == 1.0f / (1.0f - 0.4f));
                }
            CHECK(r, whole, "a channel is not dropped or kept whole");
        }
        t_info(r, "x = 1: mean %.4f, sd %.4f (Keras: 1, %.4f)", mean, sd, want_sd);
        t_end(r);
    }
}

/* A Sequential config of one layer after an input of the given batch_shape, as Keras writes it. */
static nnc_model *from_layer_config(const char *shape, const char *layer, char *msg, size_t n) {
    char text[2048], err[256];
    snprintf(text, sizeof text,
             "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"sequential\",\"layers\":["
             "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,%s],\"name\":\"in\"}},%s]}}",
             shape, layer);
    nnc_json *j = nnc_json_parse(text, strlen(text), err, sizeof err);
    if (!j) {
        snprintf(msg, n, "json: %s", err);
        return NULL;
    }
    nnc_model *m = nnc_model_new(NULL);
    if (nnc_config_build(m, j, msg, n)) {
        nnc_model_free(m);
        m = NULL;
    }
    nnc_json_free(j);
    return m;
}

/* Configs as Keras 3 (and Keras 2, by its older keys) writes them, and what nnc makes of them. */
static void test_keras_configs(test_run *r) {
    if (t_begin(r, "keras_layers/configs_as_keras_writes_them")) {
        char msg[512];
        nnc_model *m;
        /* Keras 3 writes LayerNormalization's axis as the list it built with, and rms_scaling */
        m = from_layer_config("2,3", "{\"class_name\":\"LayerNormalization\",\"config\":{\"name\":\"ln\",\"trainable\":"
                              "true,\"dtype\":\"float32\",\"axis\":[2],\"epsilon\":0.001,\"center\":true,\"scale\":"
                              "true,\"rms_scaling\":false,\"beta_initializer\":{\"module\":\"keras.initializers\","
                              "\"class_name\":\"Zeros\",\"config\":{},\"registered_name\":null},\"gamma_initializer\":"
                              "\"ones\",\"beta_regularizer\":null,\"gamma_regularizer\":null,\"beta_constraint\":null,"
                              "\"gamma_constraint\":null}}", msg, sizeof msg);
        if (CHECK(r, m != NULL, "LayerNormalization: %s", msg) && compile_mse(r, m))
            CHECK(r, nnc_param_count(m) == 6 && m->nodes[m->layers[1].output].attr.axis == 1, "axis [2] of (2, 3): %zu params, axis %d", nnc_param_count(m), m->nodes[m->layers[1].output].attr.axis);
        nnc_model_free(m);
        /* Keras 3's ELU writes no alpha: Keras's default 1 */
        m = from_layer_config("3", "{\"class_name\":\"ELU\",\"config\":{\"name\":\"elu\",\"trainable\":true,\"dtype\":"
                              "\"float32\"}}", msg, sizeof msg);
        if (CHECK(r, m != NULL, "ELU: %s", msg))
            CHECK(r, ((const nnc_elu_opts *)nnc_layer_opts(&m->layers[1]))->alpha == 1.0f, "ELU's alpha");
        nnc_model_free(m);
        /* Keras 2's LeakyReLU wrote alpha */
        m = from_layer_config("3", "{\"class_name\":\"LeakyReLU\",\"config\":{\"name\":\"lr\",\"alpha\":0.25}}", msg,
                              sizeof msg);
        if (CHECK(r, m != NULL, "LeakyReLU: %s", msg))
            CHECK(r, ((const nnc_leaky_relu_opts *)nnc_layer_opts(&m->layers[1]))->negative_slope == 0.25f,
                  "LeakyReLU's alpha");
        nnc_model_free(m);
        m = from_layer_config("2,3", "{\"class_name\":\"PReLU\",\"config\":{\"name\":\"p\",\"shared_axes\":2,"
                              "\"alpha_initializer\":{\"class_name\":\"Constant\",\"config\":{\"value\":0.25}},"
                              "\"alpha_regularizer\":null,\"alpha_constraint\":null}}", msg, sizeof msg);
        float alpha[2] = {0, 0};
        if (CHECK(r, m != NULL, "PReLU: %s", msg) && compile_mse(r, m) &&
            CHECK(r, nnc_get_variable(m, "p.alpha", alpha, 2) == NNC_OK, "%s", nnc_last_error(m)))
            CHECK(r, alpha[0] == 0.25f && alpha[1] == 0.25f, "shared_axes 2 of (2, 3): alpha (2, 1) from Constant");
        nnc_model_free(m);
        m = from_layer_config("3", "{\"class_name\":\"ReLU\",\"config\":{\"name\":\"r\",\"max_value\":null,"
                              "\"negative_slope\":0.0,\"threshold\":0.0}}", msg, sizeof msg);
        if (CHECK(r, m != NULL, "ReLU: %s", msg)) CHECK(r, out_op(m, 1) == NNC_OP_ACT, "a plain ReLU");
        nnc_model_free(m);
        /* the spatial dropouts: no "trainable" key, Keras's seed ignored */
        m = from_layer_config("4,4,2", "{\"class_name\":\"SpatialDropout2D\",\"config\":{\"rate\":0.5,\"seed\":1337,"
                              "\"name\":\"sd\",\"dtype\":\"float32\",\"data_format\":\"channels_last\"}}", msg,
                              sizeof msg);
        nnc_strbuf sb = {0};
        if (CHECK(r, m != NULL, "SpatialDropout2D: %s", msg)) {
            nnc_config_json(m, &sb);
            CHECK(r, sb.buf && strstr(sb.buf, "{\"name\":\"sd\",\"dtype\":\"float32\",\"rate\":0.5,\"data_format\":"
                                              "\"channels_last\",\"seed\":null}"), "written as:\n%s", sb.buf);
        }
        nnc_sb_free(&sb);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "keras_layers/configs_refused")) {
        static const struct { const char *shape, *layer, *expect; } bad[] = {
            {"3", "{\"class_name\":\"ReLU\",\"config\":{\"name\":\"r\",\"max_value\":-1}}", "ReLU 'r': bad value for max_value"},
            {"3", "{\"class_name\":\"GaussianDropout\",\"config\":{\"name\":\"g\",\"rate\":1.0}}", "bad value for rate"},
            {"2,3", "{\"class_name\":\"LayerNormalization\",\"config\":{\"name\":\"ln\",\"rms_scaling\":true}}",
             "LayerNormalization 'ln': rms_scaling true is not supported (only false)"},
            {"2,3,4", "{\"class_name\":\"LayerNormalization\",\"config\":{\"name\":\"ln\",\"axis\":[1,3]}}",
             "LayerNormalization 'ln': axes that are not consecutive are not supported"},
            {"4,4,2", "{\"class_name\":\"SpatialDropout2D\",\"config\":{\"name\":\"s\",\"rate\":0.1,\"data_format\":"
                      "\"channels_first\"}}", "data_format \"channels_first\" is not supported"},
            {"4,2", "{\"class_name\":\"SpatialDropout2D\",\"config\":{\"name\":\"s\",\"rate\":0.1}}",
             "SpatialDropout2D 's': needs inputs of rank 4, got (None, 4, 2)"},
            {"2,3", "{\"class_name\":\"Permute\",\"config\":{\"name\":\"p\",\"dims\":[2,2]}}", "Permute 'p': dims must"},
            {"2,3", "{\"class_name\":\"Softmax\",\"config\":{\"name\":\"s\",\"axis\":[1,2]}}", "Softmax 's': axis must"},
            {"2,3", "{\"class_name\":\"PReLU\",\"config\":{\"name\":\"p\",\"shared_axes\":[3]}}",
             "PReLU 'p': shared axis 3 is not an axis of inputs of rank 3"},
            {"2", "{\"class_name\":\"PReLU\",\"config\":{\"name\":\"p\",\"alpha_constraint\":{\"class_name\":"
                  "\"NonNeg\",\"config\":{}}}}", "alpha_constraint (an object) is not supported"},
            {"3", "{\"class_name\":\"Subtract\",\"config\":{\"name\":\"s\"}}", "Subtract 's' needs a Functional model"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            char msg[512] = "";
            nnc_model *m = from_layer_config(bad[i].shape, bad[i].layer, msg, sizeof msg);
            CHECK(r, !m && strstr(msg, bad[i].expect), "'%s' lacks '%s'", msg, bad[i].expect);
            nnc_model_free(m);
        }
        t_end(r);
    }
}

/* nnc_gradcheck (the `nnc gradcheck` tool) passes on a model of the new layers: the noise is
 * replayed, the kinks of ReLU's threshold and ceiling, PReLU, ELU(alpha) and Maximum skipped. */
static void test_gradcheck_tool(test_run *r) {
    if (!t_begin(r, "keras_layers/gradcheck_passes")) return;
    enum { N = 16, F = 6 };
    nnc_model *m = nnc_model_new(NULL);
    nnc_node in = nnc_input(m, (int[]){F}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(8);
    nnc_relu_opts ro = nnc_relu_opts_default();
    ro.threshold = 0.1f, ro.max_value = 1.5f, ro.has_max_value = true, ro.negative_slope = 0.2f;
    nnc_prelu_opts po = nnc_prelu_opts_default();
    po.alpha_initializer = nnc_initializer_default(NNC_INIT_RANDOM_UNIFORM);
    nnc_node a = nnc_prelu(m, nnc_relu(m, nnc_dense(m, in, &d), &ro), &po);
    a = nnc_reshape(m, a, (int[]){2, 4}, 2, NULL);
    a = nnc_gaussian_dropout(m, nnc_gaussian_noise(m, nnc_spatial_dropout1d(m, a, 0.3f, NULL), 0.2f, NULL), 0.2f, NULL);
    nnc_layer_norm_opts lo = nnc_layer_norm_opts_default();
    a = nnc_flatten(m, nnc_layer_normalization(m, a, &lo), NULL);
    nnc_node b = nnc_dense(m, in, &d);
    nnc_node c = nnc_elu(m, nnc_maximum(m, (nnc_node[]){a, b}, 2, NULL), 0.5f, NULL);
    nnc_dense_opts dk = nnc_dense_opts_default(3);
    nnc_dense(m, c, &dk);
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    co.loss.from_logits = true;
    float x[N * F], y[N];
    for (int i = 0; i < N * F; i++) x[i] = (float)((i * 37) % 41) / 20.0f - 1.0f;
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    nnc_gradcheck_result res[16];
    nnc_gradcheck_opts go = nnc_gradcheck_opts_default();
    int failed = -1;
    if (CHECK(r, nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m)) &&
        CHECK(r, nnc_variable_count(m) <= 16, "%d variables", nnc_variable_count(m)) &&
        CHECK(r, nnc_gradcheck(m, x, y, N, &go, res, &failed) == NNC_OK, "gradcheck: %s", nnc_last_error(m))) {
        size_t checked = 0, skipped = 0;
        for (int i = 0; i < nnc_variable_count(m); i++) {
            checked += res[i].checked, skipped += res[i].skipped;
            CHECK(r, res[i].failed == 0, "%s: %zu of %zu failed (worst relative error %.3g)", nnc_variable_name(m, i),
                  res[i].failed, res[i].checked, res[i].max_rel_err);
        }
        CHECK(r, failed == 0, "%d variables failed", failed);
        t_info(r, "%zu elements checked, %zu skipped at kinks", checked, skipped);
    }
    nnc_model_free(m);
    t_end(r);
}

void suite_keras_layers(test_run *r);
void suite_keras_layers(test_run *r) {
    test_activation_values(r);
    test_reorder_values(r);
    test_layer_norm(r);
    test_merge_values(r);
    test_dot(r);
    test_merge_round_trip(r);
    test_activity_regularization(r);
    test_variable_regularizers(r);
    test_noise_layers(r);
    test_keras_configs(r);
    test_gradcheck_tool(r);
}
