/* The convolution family's layers against torch (tools/make_conv_family_fixtures.py,
 * tests/fixtures/conv_family.txt): for each case a model of one layer, built with the public
 * builder, takes the fixture's variables by Keras's names (the model's variables must be
 * exactly those, in that order and shape) and predicts the fixture's output,
 * |a−b| ≤ 1e-5 + 1e-4·|ref|. Then what the fixtures cannot show: the Keras output shapes of
 * Conv2DTranspose and the errors of bad arguments (channels_first, groups that do not divide,
 * output_padding not below the stride), and that a grouped convolution's fused epilogue and
 * a separable convolution give the same bits with 1 and 3 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "compare.h"
#include "fixture.h"
#include "core/model_impl.h"
#include "format/json.h"
#include "io/keras_config.h"

/* Builds the case's one layer (named "l") on input x. */
typedef void (*layer_fn)(nnc_model *m);

static void groups(nnc_model *m) {
    nnc_conv_opts o = nnc_conv_opts_default(6, 3);
    o.strides[0] = o.strides[1] = 2, o.padding_same = true, o.groups = 2, o.name = "l";
    nnc_conv2d(m, NNC_PREV, &o);
}
static void depthwise(nnc_model *m) {
    nnc_depthwise_conv_opts o = nnc_depthwise_conv_opts_default(3);
    o.kernel_size[1] = 2, o.depth_multiplier = 2, o.dilation_rate[0] = o.dilation_rate[1] = 2;
    o.padding_same = true, o.name = "l";
    nnc_depthwise_conv2d(m, NNC_PREV, &o);
}
static void separable(nnc_model *m) {
    nnc_separable_conv_opts o = nnc_separable_conv_opts_default(4, 3);
    o.strides[0] = o.strides[1] = 2, o.depth_multiplier = 2, o.name = "l";
    nnc_separable_conv2d(m, NNC_PREV, &o);
}
static void causal(nnc_model *m) {
    nnc_conv_opts o = nnc_conv_opts_default(3, 3);
    o.dilation_rate[0] = 2, o.padding_causal = true, o.name = "l";
    nnc_conv1d(m, NNC_PREV, &o);
}
static void causal_s2(nnc_model *m) {
    nnc_conv_opts o = nnc_conv_opts_default(2, 4);
    o.strides[0] = 2, o.padding_causal = true, o.name = "l";
    nnc_conv1d(m, NNC_PREV, &o);
}
static void transpose_with(nnc_model *m, int f, int kh, int kw, int sh, int sw, bool same, int oph, int opw) {
    nnc_conv_transpose_opts o = nnc_conv_transpose_opts_default(f, kh);
    o.kernel_size[1] = kw, o.strides[0] = sh, o.strides[1] = sw, o.padding_same = same;
    o.output_padding[0] = oph, o.output_padding[1] = opw, o.name = "l";
    nnc_conv2d_transpose(m, NNC_PREV, &o);
}
static void transpose_valid(nnc_model *m) { transpose_with(m, 3, 3, 3, 2, 2, false, -1, -1); }
static void transpose_same(nnc_model *m) { transpose_with(m, 2, 3, 4, 2, 2, true, -1, -1); }
static void transpose_same_op(nnc_model *m) { transpose_with(m, 2, 3, 3, 2, 3, true, 1, 2); }
static void transpose_valid_op(nnc_model *m) { transpose_with(m, 3, 2, 2, 3, 3, false, 1, 0); }
static void up_nearest(nnc_model *m) { nnc_up_sampling2d(m, NNC_PREV, 2, 3, false, "l"); }
static void up_bilinear(nnc_model *m) { nnc_up_sampling2d(m, NNC_PREV, 2, 3, true, "l"); }
static void up1d(nnc_model *m) { nnc_up_sampling1d(m, NNC_PREV, 3, "l"); }
static void pool1d_with(nnc_model *m, int max, int k, int s, bool same) {
    nnc_pool_opts o = nnc_pool_opts_default(k);
    o.strides[0] = s, o.padding_same = same, o.name = "l";
    if (max) nnc_max_pooling1d(m, NNC_PREV, &o);
    else nnc_average_pooling1d(m, NNC_PREV, &o);
}
static void max1d_same(nnc_model *m) { pool1d_with(m, 1, 3, 2, true); }
static void avg1d_same(nnc_model *m) { pool1d_with(m, 0, 3, 2, true); }
static void avg1d_valid(nnc_model *m) { pool1d_with(m, 0, 2, 0, false); }
static void pad1d(nnc_model *m) { nnc_zero_padding1d(m, NNC_PREV, 1, 2, "l"); }
static void crop1d(nnc_model *m) { nnc_cropping1d(m, NNC_PREV, 2, 1, "l"); }
static void crop2d(nnc_model *m) { nnc_cropping2d(m, NNC_PREV, 1, 0, 2, 1, "l"); }
static void gap1d_keepdims(nnc_model *m) {
    nnc_global_pool_opts o = {true, "l"};
    nnc_global_average_pooling1d(m, NNC_PREV, &o);
}
static void gmp1d(nnc_model *m) { nnc_global_max_pooling1d(m, NNC_PREV, NULL); }

static const struct {
    const char *tag;
    layer_fn build;
} cases[] = {
    {"groups", groups}, {"depthwise", depthwise}, {"separable", separable}, {"causal", causal},
    {"causal_s2", causal_s2}, {"transpose_valid", transpose_valid}, {"transpose_same", transpose_same},
    {"transpose_same_op", transpose_same_op}, {"transpose_valid_op", transpose_valid_op},
    {"up_nearest", up_nearest}, {"up_bilinear", up_bilinear}, {"up1d", up1d}, {"max1d_same", max1d_same},
    {"avg1d_same", avg1d_same}, {"avg1d_valid", avg1d_valid}, {"pad1d", pad1d}, {"crop1d", crop1d},
    {"crop2d", crop2d}, {"gap1d_keepdims", gap1d_keepdims}, {"gmp1d", gmp1d},
};

/* The case's variables: the fixture's tensors "<tag>.<var>" between x and y, in file order. */
static int set_variables(test_run *r, nnc_model *m, const fx_file *f, const char *tag) {
    int ok = 1, k = 0;
    size_t len = strlen(tag);
    for (int i = 0; i < f->n; i++) {
        const char *n = f->t[i].name;
        if (strncmp(n, tag, len) || n[len] != '.' || !strcmp(n + len, ".x") || !strcmp(n + len, ".y")) continue;
        char want[96];
        snprintf(want, sizeof want, "l%s", n + len);
        const char *got = k < nnc_variable_count(m) ? nnc_variable_name(m, k) : "(none)";
        int shape[NNC_MAX_RANK] = {0}, rank = k < nnc_variable_count(m) ? nnc_variable_shape(m, k, shape) : -1;
        int same = rank == f->t[i].ndim;
        for (int d = 0; same && d < rank; d++) same = shape[d] == f->t[i].shape[d];
        ok &= CHECK(r, !strcmp(got, want) && same, "%s: variable %d is %s (rank %d), Keras's is %s", tag, k, got,
                    rank, want);
        float *w = fx_floats(&f->t[i]);
        ok &= CHECK(r, w && nnc_set_variable(m, want, w, f->t[i].n) == NNC_OK, "%s: set %s: %s", tag, want,
                    nnc_last_error(m));
        free(w);
        k++;
    }
    ok &= CHECK(r, k == nnc_variable_count(m), "%s: the model has %d variables, the fixture %d", tag,
                nnc_variable_count(m), k);
    return ok;
}

static void fixture_case(test_run *r, const fx_file *f, int c) {
    if (!t_begin(r, "conv_family/%s", cases[c].tag)) return;
    char xn[64], yn[64];
    snprintf(xn, sizeof xn, "%s.x", cases[c].tag);
    snprintf(yn, sizeof yn, "%s.y", cases[c].tag);
    const fx_tensor *xt = fx_need(r, f, xn), *yt = fx_need(r, f, yn);
    nnc_model *m = nnc_model_new(NULL);
    if (xt && yt) {
        nnc_input(m, xt->shape + 1, xt->ndim - 1, NULL);
        cases[c].build(m);
        nnc_compile_opts co = nnc_compile_opts_default();
        float *x = fx_floats(xt), *p = calloc(yt->n, sizeof(float));
        if (CHECK(r, nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m)) && set_variables(r, m, f, cases[c].tag) &&
            CHECK(r, x && p, "out of memory") &&
            CHECK(r, nnc_output_size(m) * (size_t)xt->shape[0] == yt->n, "output of %zu values per example, "
                  "Keras's has %zu", nnc_output_size(m), yt->n / (size_t)xt->shape[0]) &&
            CHECK(r, nnc_predict(m, x, (size_t)xt->shape[0], p) == NNC_OK, "predict: %s", nnc_last_error(m))) {
            double worst = 0.0;
            CHECK_NEAR_FX(r, p, yt->n, yt, 1e-5, 1e-4, &worst, "output");
            t_info(r, "max |nnc - torch| = %.3g", worst);
        }
        free(x);
        free(p);
    }
    nnc_model_free(m);
    t_end(r);
}

/* The output shape a layer gives an input, as "(None, ...)", or the builder's error. */
static void shape_after(const int *in, int rank, void (*build)(nnc_model *, const void *), const void *arg,
                        char *out, size_t n) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_input(m, in, rank, NULL);
    build(m, arg);
    if (m->sticky) snprintf(out, n, "error: %s", nnc_last_error(m));
    else nnc_shape_str(&m->nodes[m->last].shape, 1, out, n);
    nnc_model_free(m);
}

static void build_transpose(nnc_model *m, const void *arg) {
    const int *a = arg; /* k, s, same, output_padding */
    nnc_conv_transpose_opts o = nnc_conv_transpose_opts_default(2, a[0]);
    o.strides[0] = o.strides[1] = a[1], o.padding_same = a[2] != 0;
    o.output_padding[0] = o.output_padding[1] = a[3];
    nnc_conv2d_transpose(m, NNC_PREV, &o);
}

static void build_groups(nnc_model *m, const void *arg) {
    nnc_conv_opts o = nnc_conv_opts_default(((const int *)arg)[0], 3);
    o.groups = ((const int *)arg)[1];
    nnc_conv2d(m, NNC_PREV, &o);
}

/* Keras's output sizes (keras/src/backend/common/backend_utils.py) for a few settings, and the
 * errors Keras raises too. */
static void shapes_and_errors(test_run *r) {
    if (!t_begin(r, "conv_family/transpose_shapes_and_errors")) return;
    static const struct {
        int arg[4];
        const char *want;
    } t[] = {
        {{3, 2, 0, -1}, "(None, 11, 11, 2)"}, /* valid: (5-1)*2 + 3 */
        {{1, 3, 0, -1}, "(None, 15, 15, 2)"}, /* valid, k < s: (5-1)*3 + max(1, 3) */
        {{3, 2, 1, -1}, "(None, 10, 10, 2)"}, /* same: 5*2 */
        {{4, 2, 1, 1}, "(None, 9, 9, 2)"},    /* same with output_padding: (5-1)*2 + 4%2 + 1 */
        {{3, 2, 0, 2}, "error"},              /* output_padding must be below the stride */
    };
    const int in[3] = {5, 5, 3};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char got[256];
        shape_after(in, 3, build_transpose, t[i].arg, got, sizeof got);
        CHECK(r, !strncmp(got, t[i].want, strlen(t[i].want)), "k %d s %d same %d output_padding %d: %s, want %s",
              t[i].arg[0], t[i].arg[1], t[i].arg[2], t[i].arg[3], got, t[i].want);
    }
    static const int bad_groups[][2] = {{6, 4}, {5, 3}}; /* 3 channels into 4 groups; 5 filters into 3 */
    for (int i = 0; i < 2; i++) {
        char got[256];
        shape_after(in, 3, build_groups, bad_groups[i], got, sizeof got);
        CHECK(r, strstr(got, "error") && strstr(got, "groups"), "groups %d: %s", bad_groups[i][1], got);
    }
    t_end(r);
}

/* A Keras config with channels_first is refused with the layer's name. */
static void channels_first(test_run *r) {
    if (!t_begin(r, "conv_family/channels_first_refused")) return;
    static const char *const specs[] = {
        "input 6 6 2\nup_sampling2d 2 data_format=channels_first\nloss mse\n",
        "input 6 6 2\ndepthwise_conv2d 3 data_format=channels_first\nloss mse\n",
        "input 6 2\nmax_pooling1d 2 data_format=channels_first\nloss mse\n",
    };
    for (int i = 0; i < 3; i++) {
        nnc_error e = {""};
        nnc_model *m = nnc_model_from_spec_text(specs[i], strlen(specs[i]), "t.nnc", &e);
        CHECK(r, !m && strstr(e.message, "t.nnc:2") && strstr(e.message, "channels_last"), "%s -> %s", specs[i],
              e.message);
        nnc_model_free(m);
    }
    t_end(r);
}

/* A Sequential config as Keras writes it, with one layer of the given class and config body
 * after an InputLayer of the given shape; 0 and the model's last output shape in out, or -1 and
 * the error. */
static int from_config(const char *shape, const char *cls, const char *body, char *out, size_t n) {
    char text[2048];
    snprintf(text, sizeof text, "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["
             "{\"class_name\":\"InputLayer\",\"config\":{\"name\":\"in\",\"batch_shape\":[null,%s]}},"
             "{\"class_name\":\"%s\",\"config\":{\"name\":\"lay\",%s}}]}}", shape, cls, body);
    char err[256];
    nnc_json *j = nnc_json_parse(text, strlen(text), err, sizeof err);
    nnc_model *m = nnc_model_new(NULL);
    int rc = j ? nnc_config_build(m, j, out, n) : -1;
    if (!j) snprintf(out, n, "json: %s", err);
    else if (!rc) nnc_shape_str(&m->nodes[m->last].shape, 1, out, n);
    nnc_json_free(j);
    nnc_model_free(m);
    return rc;
}

/* Keras configs: channels_first refused naming the layer; Keras 2's plain ints for tuples and
 * keys only newer Keras writes (ZeroPadding1D's data_format) read. */
static void configs(test_run *r) {
    if (!t_begin(r, "conv_family/keras_configs")) return;
    static const struct {
        const char *shape, *cls, *body, *want;
    } t[] = {
        {"6,6,2", "DepthwiseConv2D", "\"kernel_size\":[3,3],\"data_format\":\"channels_first\"", "'lay'"},
        {"6,6,2", "UpSampling2D", "\"size\":[2,2],\"data_format\":\"channels_first\"", "'lay'"},
        {"6,2", "ZeroPadding1D", "\"padding\":[1,1],\"data_format\":\"channels_first\"", "'lay'"},
        {"6,2", "UpSampling1D", "\"size\":3", "(None, 18, 2)"},
        {"6,2", "MaxPooling1D", "\"pool_size\":2,\"strides\":null,\"padding\":\"same\"", "(None, 3, 2)"},
        {"6,2", "ZeroPadding1D", "\"padding\":[1,2],\"data_format\":\"channels_last\"", "(None, 9, 2)"},
        {"6,2", "Conv1D", "\"filters\":4,\"kernel_size\":[3],\"padding\":\"causal\",\"groups\":2", "(None, 6, 4)"},
        {"6,6,2", "Conv2D", "\"filters\":4,\"kernel_size\":3,\"padding\":\"causal\"", "'lay'"},
        {"3,3,2", "Conv2DTranspose", "\"filters\":4,\"kernel_size\":[3,3],\"strides\":[2,2],\"padding\":\"same\","
                                     "\"output_padding\":null", "(None, 6, 6, 4)"},
        {"6,6,2", "UpSampling2D", "\"size\":[2,2],\"interpolation\":\"bicubic\"", "'lay'"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char got[512];
        int rc = from_config(t[i].shape, t[i].cls, t[i].body, got, sizeof got);
        CHECK(r, strstr(got, t[i].want) && (rc != 0) == (t[i].want[0] == '\''), "%s {%s}: %s, want %s", t[i].cls,
              t[i].body, got, t[i].want);
        if (rc) t_info(r, "%s", got);
    }
    t_end(r);
}

/* SeparableConv2D's three regularizers land on depthwise_kernel, pointwise_kernel and bias
 * (Keras's l2(x) = x·Σw², l1(x) = x·Σ|w|): the evaluated loss grows by exactly those. */
static void separable_regularizers(test_run *r) {
    if (!t_begin(r, "conv_family/separable_regularizers_on_their_variables")) return;
    const char *plain = "input 5 5 2\nseparable_conv2d 3 3 depth_multiplier=2 bias_initializer=ones name=s\n"
                        "flatten\ndense 2\nloss sparse_categorical_crossentropy from_logits=true\n";
    const char *reg = "input 5 5 2\nseparable_conv2d 3 3 depth_multiplier=2 bias_initializer=ones name=s "
                      "depthwise_regularizer=l2(0.1) pointwise_regularizer=l1(0.05) bias_regularizer=l2(0.2)\n"
                      "flatten\ndense 2\nloss sparse_categorical_crossentropy from_logits=true\n";
    nnc_error e = {""};
    nnc_model *a = nnc_model_from_spec_text(plain, strlen(plain), "a.nnc", &e);
    nnc_model *b = nnc_model_from_spec_text(reg, strlen(reg), "b.nnc", &e);
    float x[4 * 50], y[4] = {0, 1, 1, 0}, dk[36], pk[12], bias[3];
    for (int i = 0; i < 4 * 50; i++) x[i] = (float)((i * 13) % 17) / 8.0f - 1.0f;
    nnc_logs la, lb;
    if (CHECK(r, a && b, "%s", e.message) && CHECK(r, a->n_param_floats == b->n_param_floats, "sizes differ")) {
        memcpy(b->param_arena, a->param_arena, a->n_param_floats * sizeof(float));
        if (CHECK(r, nnc_evaluate(a, x, y, 4, 4, &la) == NNC_OK && nnc_evaluate(b, x, y, 4, 4, &lb) == NNC_OK,
                  "evaluate: %s %s", nnc_last_error(a), nnc_last_error(b)) &&
            CHECK(r, nnc_get_variable(b, "s.depthwise_kernel", dk, 36) == NNC_OK &&
                         nnc_get_variable(b, "s.pointwise_kernel", pk, 12) == NNC_OK &&
                         nnc_get_variable(b, "s.bias", bias, 3) == NNC_OK, "get_variable: %s", nnc_last_error(b))) {
            double want = 0.0;
            for (int i = 0; i < 36; i++) want += 0.1 * (double)dk[i] * (double)dk[i];
            for (int i = 0; i < 12; i++) want += 0.05 * fabs((double)pk[i]);
            for (int i = 0; i < 3; i++) want += 0.2 * (double)bias[i] * (double)bias[i];
            const double got = lb.values[0] - la.values[0];
            CHECK(r, !strcmp(la.names[0], "loss") && fabs(got - want) <= 1e-5 * (1.0 + want),
                  "penalty %.9g, want %.9g", got, want);
        }
    }
    nnc_model_free(a);
    nnc_model_free(b);
    t_end(r);
}

/* Grouped (fused bias and ReLU), depthwise, separable and transposed convolutions train to the
 * same bits with 1 and 3 threads. */
static void threads_agree(test_run *r) {
    if (!t_begin(r, "conv_family/one_and_three_threads_same_bits")) return;
    const char *spec = "input 24 24 8\nconv2d 16 3 groups=2 activation=relu padding=same\n"
                       "separable_conv2d 8 3 depth_multiplier=2 strides=2 activation=relu\n"
                       "depthwise_conv2d 3 padding=same\nconv2d_transpose 4 3 strides=2\n"
                       "global_average_pooling2d\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n";
    enum { N = 64, F = 24 * 24 * 8 };
    float *x = malloc(N * F * sizeof(float)), y[N], w[2][N * 3] = {{0}};
    for (size_t i = 0; x && i < (size_t)N * F; i++) x[i] = (float)((i * 7919u) % 1000u) / 500.0f - 1.0f;
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    for (int t = 0; x && t < 2; t++) {
        nnc_error e = {""};
        nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), "t.nnc", &e);
        if (!CHECK(r, m != NULL, "%s", e.message)) break;
        nnc_model_set_threads(m, t ? 3 : 1);
        nnc_fit_opts fo = nnc_fit_opts_default();
        fo.verbose = 0, fo.epochs = 2, fo.batch_size = 32;
        CHECK(r, nnc_fit(m, x, y, N, &fo, NULL) == NNC_OK, "fit: %s", nnc_last_error(m));
        CHECK(r, nnc_predict(m, x, N, w[t]) == NNC_OK, "predict: %s", nnc_last_error(m));
        nnc_model_free(m);
    }
    CHECK(r, x && !memcmp(w[0], w[1], sizeof w[0]), "1 and 3 threads differ: %.9g vs %.9g", (double)w[0][0],
          (double)w[1][0]);
    free(x);
    t_end(r);
}

void suite_conv_family(test_run *r);
void suite_conv_family(test_run *r) {
    fx_file f = {0};
    if (t_begin(r, "conv_family/fixture_loads")) {
        fx_load_fixture(r, "conv_family.txt", &f);
        t_end(r);
    }
    for (int c = 0; f.n && c < (int)(sizeof cases / sizeof *cases); c++) fixture_case(r, &f, c);
    fx_free(&f);
    shapes_and_errors(r);
    channels_first(r);
    configs(r);
    separable_regularizers(r);
    threads_agree(r);
}
