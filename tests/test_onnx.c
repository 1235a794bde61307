/* ONNX files written by nnc (src/interop/onnx_*.c), checked two ways for each of seven models
 * (an MLP trained a few epochs; two CNNs with every convolution, pooling, padding and
 * normalization variant nnc has; a functional model with Add and Concatenate on dense and
 * convolutional branches; the preprocessing layers, Dropout and every activation; a
 * Normalization whose divisor is its epsilon; the ops no layer makes yet; LSTM, GRU and
 * SimpleRNN models from tests/onnx_rnn_models.c):
 * - ONNX Runtime (the onnxruntime-node package, through tools/onnx_check.js) runs the file on
 *   random inputs and its output must equal nnc_predict's, |a − b| <= 1e-5 + 1e-4·|ref| per
 *   element (the largest difference is printed). Skipped when node or the package is missing:
 *   the package is looked for in $NNC_ONNXRUNTIME_DIR/node_modules, by default in
 *   build-onnxruntime/node_modules at the top of the source tree, where
 *       npm install --ignore-scripts onnxruntime-node@1.30.0
 *   run in that folder puts it.
 * - ONNX's checker (tools/onnx_check.py with Debian's python3-onnx; skipped without it) accepts
 *   the file with full shape inference; opset, names and op types are as docs/FORMAT.md says.
 * And without either: every op has an exporter row, an op that cannot be exported is an error
 * naming its layer with nothing written, a failed write leaves the old file, and
 * `nnc convert` writes what the library writes. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test.h"
#include "compare.h"
#include "files.h"
#include "shell.h"
#include "core/layers_impl.h"
#include "layers/layers.h"
#include "interop/interop.h"
#include "onnx_rnn_models.h"

#define ATOL 1e-5
#define RTOL 1e-4

typedef struct {
    char dir[64];
    char ort_why[1400];  /* why ONNX Runtime cannot run here ("" when it can) */
    char python_why[256];/* why the checker cannot run here */
} onnx_env;

/* ---- data ------------------------------------------------------------------------------- */

static float uniform(unsigned long long *s, float lo, float hi) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (float)((*s >> 40) & 0xFFFFFF) / (float)0x1000000;
}

/* Statistics and biases away from their initial zeros and ones, so that a wrong axis, a
 * missing bias or a swapped gamma and beta changes the output. */
static void perturb(nnc_model *m, unsigned long long seed) {
    for (int i = 0; i < m->n_params; i++) {
        const nnc_param_rec *p = &m->params[i];
        float *v = m->param_arena + p->offset, lo = -0.5f, hi = 0.5f;
        if (!strcmp(p->var, "kernel") || nnc_layer_state_from_data(&m->layers[p->layer])) continue;
        if (!strcmp(p->var, "moving_variance")) lo = 0.3f, hi = 2.0f;
        if (!strcmp(p->var, "gamma")) lo = 0.5f, hi = 1.5f;
        for (size_t k = 0; k < p->size; k++) v[k] = uniform(&seed, lo, hi);
    }
}

static int compile_mse(nnc_model *m) {
    nnc_compile_opts c = nnc_compile_opts_default();
    nnc_model_set_seed(m, 7);
    return nnc_compile(m, &c) == NNC_OK ? 0 : -1;
}

static nnc_conv_opts conv_opts(int filters, int k, int stride, int dilation, int same, nnc_activation a) {
    nnc_conv_opts c = nnc_conv_opts_default(filters, k);
    c.strides[0] = c.strides[1] = stride;
    c.dilation_rate[0] = c.dilation_rate[1] = dilation;
    c.padding_same = same;
    c.activation = a;
    return c;
}

static nnc_node dense(nnc_model *m, nnc_node x, int units, nnc_activation a, const char *name) {
    nnc_dense_opts d = nnc_dense_opts_default(units);
    d.activation = a;
    d.name = name;
    return nnc_dense(m, x, &d);
}

/* ---- the models ------------------------------------------------------------------------- */

/* (a) 10 -> 16 relu -> 8 tanh -> 3 logits, trained 3 epochs. */
static nnc_model *build_mlp(void) {
    nnc_model *m = nnc_model_new("mlp");
    nnc_input(m, (int[]){10}, 1, NULL);
    dense(m, NNC_PREV, 16, NNC_ACT_RELU, NULL);
    dense(m, NNC_PREV, 8, NNC_ACT_TANH, NULL);
    dense(m, NNC_PREV, 3, NNC_ACT_LINEAR, "logits");
    if (compile_mse(m)) return m;
    enum { N = 64 };
    float *x = malloc(N * 10 * sizeof *x), *y = malloc(N * 3 * sizeof *y);
    unsigned long long s = 11;
    for (int i = 0; x && y && i < N * 10; i++) x[i] = uniform(&s, -1, 1);
    for (int i = 0; x && y && i < N * 3; i++) y[i] = uniform(&s, -1, 1);
    nnc_fit_opts f = nnc_fit_opts_default();
    f.epochs = 3;
    f.verbose = 0;
    if (x && y) nnc_fit(m, x, y, N, &f, NULL);
    free(x);
    free(y);
    return m;
}

/* (b1) ZeroPadding2D, Conv2D valid / same + strides (no bias) / dilation, BatchNormalization
 * (full and without center and scale), MaxPooling2D same, AveragePooling2D same with stride 1,
 * Flatten, Dense + BatchNormalization, Reshape, Conv1D with dilation, GlobalMaxPooling. */
static nnc_model *build_cnn(void) {
    nnc_model *m = nnc_model_new("cnn");
    nnc_input(m, (int[]){12, 12, 3}, 3, NULL);
    nnc_zero_padding2d(m, NNC_PREV, 1, 1, 2, 2, NULL);                    /* 14x16x3 */
    nnc_conv_opts c = conv_opts(4, 3, 1, 1, 0, NNC_ACT_RELU);
    nnc_conv2d(m, NNC_PREV, &c);                                           /* 12x14x4 */
    nnc_batch_norm_opts bn = nnc_batch_norm_opts_default();
    nnc_batch_normalization(m, NNC_PREV, &bn);
    c = conv_opts(6, 3, 2, 1, 1, NNC_ACT_ELU);
    c.use_bias = false;
    nnc_conv2d(m, NNC_PREV, &c);                                           /* 6x7x6 */
    nnc_pool_opts p = nnc_pool_opts_default(2);
    p.padding_same = true;
    nnc_max_pooling2d(m, NNC_PREV, &p);                                    /* 3x4x6 */
    c = conv_opts(5, 2, 1, 2, 1, NNC_ACT_SWISH);
    nnc_conv2d(m, NNC_PREV, &c);                                           /* 3x4x5 */
    p = nnc_pool_opts_default(2);
    p.strides[0] = p.strides[1] = 1;
    p.padding_same = true;
    nnc_average_pooling2d(m, NNC_PREV, &p);                                /* 3x4x5 */
    bn.center = bn.scale = false;
    nnc_batch_normalization(m, NNC_PREV, &bn);
    nnc_flatten(m, NNC_PREV, NULL);                                        /* 60 */
    dense(m, NNC_PREV, 12, NNC_ACT_LINEAR, NULL);
    bn = nnc_batch_norm_opts_default();
    nnc_batch_normalization(m, NNC_PREV, &bn);
    nnc_reshape(m, NNC_PREV, (int[]){4, 3}, 2, NULL);                      /* 4x3 */
    c = conv_opts(4, 2, 1, 2, 0, NNC_ACT_RELU);
    nnc_conv1d(m, NNC_PREV, &c);                                           /* 2x4 */
    nnc_global_max_pooling1d(m, NNC_PREV, NULL);                           /* 4 */
    dense(m, NNC_PREV, 3, NNC_ACT_LINEAR, NULL);
    compile_mse(m);
    return m;
}

/* (b2) Conv2D same with stride 2 on odd sizes, AveragePooling2D valid, Conv1D same with
 * stride 2, GlobalAveragePooling2D on images and on sequences, MaxPooling2D valid. */
static nnc_model *build_cnn_pool(void) {
    nnc_model *m = nnc_model_new("cnn_pool");
    nnc_input(m, (int[]){9, 9, 2}, 3, NULL);
    nnc_conv_opts c = conv_opts(3, 3, 2, 1, 1, NNC_ACT_RELU);
    nnc_conv2d(m, NNC_PREV, &c);                                           /* 5x5x3 */
    nnc_pool_opts p = nnc_pool_opts_default(2);
    nnc_max_pooling2d(m, NNC_PREV, &p);                                    /* 2x2x3 */
    nnc_reshape(m, NNC_PREV, (int[]){4, 3}, 2, NULL);                      /* 4x3 */
    c = conv_opts(5, 3, 2, 1, 1, NNC_ACT_TANH);
    nnc_conv1d(m, NNC_PREV, &c);                                           /* 2x5 */
    nnc_global_average_pooling1d(m, NNC_PREV, NULL);                       /* 5 */
    nnc_reshape(m, NNC_PREV, (int[]){1, 1, 5}, 3, NULL);
    p = nnc_pool_opts_default(1);
    nnc_average_pooling2d(m, NNC_PREV, &p);
    nnc_global_average_pooling2d(m, NNC_PREV, NULL);                       /* 5 */
    dense(m, NNC_PREV, 2, NNC_ACT_SIGMOID, NULL);
    compile_mse(m);
    return m;
}

/* (c) three inputs: Add and Concatenate of dense branches, and of convolutional branches
 * (channels-first inside the ONNX graph), joined by a Concatenate of both. */
static nnc_model *build_functional(void) {
    nnc_model *m = nnc_model_new("functional");
    nnc_node a = nnc_input(m, (int[]){6}, 1, "a");
    nnc_node b = nnc_input(m, (int[]){4}, 1, "b");
    nnc_node img = nnc_input(m, (int[]){6, 6, 2}, 3, "image");
    nnc_node h1 = dense(m, a, 8, NNC_ACT_RELU, NULL), h2 = dense(m, b, 8, NNC_ACT_SIGMOID, NULL);
    nnc_node sum = nnc_add(m, (nnc_node[]){h1, h2}, 2, NULL);
    nnc_node joined = nnc_concatenate(m, (nnc_node[]){sum, b}, 2, -1, NULL);   /* 12 */
    nnc_conv_opts c = conv_opts(3, 3, 1, 1, 1, NNC_ACT_RELU);
    nnc_node c1 = nnc_conv2d(m, img, &c);
    c = conv_opts(3, 1, 1, 1, 1, NNC_ACT_LINEAR);
    nnc_node c2 = nnc_conv2d(m, img, &c);
    nnc_node csum = nnc_add(m, (nnc_node[]){c1, c2, c1}, 3, NULL);
    nnc_node ccat = nnc_concatenate(m, (nnc_node[]){csum, c2}, 2, -1, NULL);  /* 6x6x6 */
    nnc_pool_opts p = nnc_pool_opts_default(3);
    nnc_node pooled = nnc_max_pooling2d(m, ccat, &p);                           /* 2x2x6 */
    nnc_node flat = nnc_flatten(m, pooled, NULL);                               /* 24 */
    nnc_node all = nnc_concatenate(m, (nnc_node[]){joined, flat}, 2, -1, NULL); /* 36 */
    nnc_node out = dense(m, all, 2, NNC_ACT_LINEAR, NULL);
    nnc_set_outputs(m, &out, 1);
    compile_mse(m);
    return m;
}

/* (d) Normalization (adapted), Rescaling, LeakyReLU, Dropout, every activation as an
 * Activation layer or a Dense's, a Softmax layer last. */
static nnc_model *build_preprocessing(void) {
    nnc_model *m = nnc_model_new("preprocessing");
    nnc_input(m, (int[]){5}, 1, NULL);
    nnc_normalization(m, NNC_PREV, NULL);
    nnc_rescaling(m, NNC_PREV, 0.5f, 0.1f, NULL);
    dense(m, NNC_PREV, 8, NNC_ACT_LINEAR, NULL);
    nnc_leaky_relu(m, NNC_PREV, 0.1f, NULL);
    nnc_dropout(m, NNC_PREV, 0.3f, NULL);
    static const nnc_activation acts[] = {NNC_ACT_GELU, NNC_ACT_SOFTPLUS, NNC_ACT_SELU,
                                          NNC_ACT_SOFTSIGN, NNC_ACT_HARD_SIGMOID, NNC_ACT_SWISH,
                                          NNC_ACT_ELU, NNC_ACT_EXPONENTIAL, NNC_ACT_SIGMOID,
                                          NNC_ACT_TANH, NNC_ACT_LINEAR, NNC_ACT_LEAKY_RELU};
    for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
        if (i % 3 == 2) dense(m, NNC_PREV, 8, acts[i], NULL);
        else nnc_activation_layer(m, NNC_PREV, acts[i], NULL);
    }
    nnc_rescaling(m, NNC_PREV, 2.0f, 0.0f, NULL);
    dense(m, NNC_PREV, 4, NNC_ACT_SOFTMAX, NULL);
    nnc_dropout(m, NNC_PREV, 0.5f, NULL);
    nnc_softmax_layer(m, NNC_PREV, NULL);
    if (compile_mse(m)) return m;
    enum { N = 50 };
    float x[N * 5];
    unsigned long long s = 5;
    for (int i = 0; i < N * 5; i++) x[i] = uniform(&s, -3, 3) * (float)(1 + i % 5) + (float)(i % 5);
    nnc_adapt(m, x, N);
    return m;
}

/* (d') Normalization where a feature never varies: the divisor is Keras's epsilon 1e-7. */
static nnc_model *build_constant_feature(void) {
    nnc_model *m = nnc_model_new("constant_feature");
    nnc_input(m, (int[]){3}, 1, NULL);
    nnc_normalization(m, NNC_PREV, NULL);
    nnc_rescaling(m, NNC_PREV, 1e-6f, 0.0f, NULL);
    if (compile_mse(m)) return m;
    float x[4 * 3] = {1, 2, 0.5f, 2, 2, -1, 3, 2, 0.25f, 4, 2, 2};
    nnc_adapt(m, x, 4);
    return m;
}

/* (e) The ops no layer of nnc makes yet, added to the graph directly as a new layer would:
 * SUB, MUL, SUM and MEAN over an axis; with a Dense and a Softmax on [2, 3] examples (MatMul
 * and Add, Softmax over the last of three axes). */
static nnc_model *build_raw_ops(void) {
    nnc_model *m = nnc_model_new("raw_ops");
    nnc_node x = nnc_input(m, (int[]){2, 3}, 2, NULL);
    nnc_node d = dense(m, x, 3, NNC_ACT_LINEAR, NULL);
    nnc_node sm = nnc_softmax_layer(m, d, NULL);
    int sub = nnc_graph_op(m, NNC_OP_SUB, (int[]){d, x}, 2, (nnc_op_attr){0});
    int mul = sub < 0 ? -1 : nnc_graph_op(m, NNC_OP_MUL, (int[]){sub, sm}, 2, (nnc_op_attr){0});
    int sum = mul < 0 ? -1 : nnc_graph_op(m, NNC_OP_SUM, &mul, 1, (nnc_op_attr){.axis = 0});
    int mean = sub < 0 ? -1 : nnc_graph_op(m, NNC_OP_MEAN, &sub, 1, (nnc_op_attr){.axis = 1});
    if (sum < 0 || mean < 0) return m;
    nnc_node out = nnc_concatenate(m, (nnc_node[]){sum, mean}, 2, -1, NULL);
    nnc_set_outputs(m, &out, 1);
    compile_mse(m);
    return m;
}

/* (f) The convolution family on images, each layer where it meets the layout it is given:
 * UpSampling2D bilinear on the input (channels last), a grouped Conv2D, PReLU with a shared
 * axis (channels first, its alpha transposed to match), DepthwiseConv2D same with stride 2 and depth
 * multiplier 2, UpSampling2D nearest, SeparableConv2D (depth multiplier 2), Conv2DTranspose
 * valid with a non-square kernel whose second axis is smaller than its stride (an ONNX
 * output_padding), Cropping2D, Conv2DTranspose same with output_padding and no bias,
 * UpSampling2D bilinear by 3 x 2 on channels first, MaxPooling2D, Flatten, Dense. */
static nnc_model *build_conv_family(void) {
    nnc_model *m = nnc_model_new("conv_family");
    nnc_input(m, (int[]){4, 5, 4}, 3, NULL);
    nnc_up_sampling2d(m, NNC_PREV, 2, 2, true, NULL);                     /* 8x10x4 */
    nnc_conv_opts c = conv_opts(6, 3, 1, 1, 0, NNC_ACT_LINEAR);
    c.groups = 2;
    nnc_conv2d(m, NNC_PREV, &c);                                           /* 6x8x6 */
    nnc_prelu_opts pr = nnc_prelu_opts_default();
    pr.shared_axes[0] = 1, pr.n_shared_axes = 1;
    nnc_prelu(m, NNC_PREV, &pr);                                           /* alpha 1x8x6 */
    nnc_depthwise_conv_opts dw = nnc_depthwise_conv_opts_default(3);
    dw.strides[0] = dw.strides[1] = 2;
    dw.padding_same = true;
    dw.depth_multiplier = 2;
    nnc_depthwise_conv2d(m, NNC_PREV, &dw);                                /* 3x4x12 */
    nnc_up_sampling2d(m, NNC_PREV, 2, 1, false, NULL);                     /* 6x4x12 */
    nnc_separable_conv_opts sep = nnc_separable_conv_opts_default(4, 2);
    sep.padding_same = true;
    sep.depth_multiplier = 2;
    sep.activation = NNC_ACT_ELU;
    nnc_separable_conv2d(m, NNC_PREV, &sep);                               /* 6x4x4 */
    nnc_conv_transpose_opts t = nnc_conv_transpose_opts_default(3, 3);
    t.kernel_size[1] = 2;
    t.strides[0] = 2, t.strides[1] = 3;
    nnc_conv2d_transpose(m, NNC_PREV, &t);                                 /* 13x12x3 */
    nnc_cropping2d(m, NNC_PREV, 1, 2, 0, 1, NULL);                         /* 10x11x3 */
    t = nnc_conv_transpose_opts_default(2, 3);
    t.strides[0] = t.strides[1] = 2;
    t.padding_same = true;
    t.output_padding[0] = 1, t.output_padding[1] = 0;
    t.use_bias = false;
    t.activation = NNC_ACT_TANH;
    nnc_conv2d_transpose(m, NNC_PREV, &t);                                 /* 20x21x2 */
    nnc_up_sampling2d(m, NNC_PREV, 3, 2, true, NULL);                      /* 60x42x2 */
    nnc_pool_opts p = nnc_pool_opts_default(3);
    nnc_max_pooling2d(m, NNC_PREV, &p);                                    /* 20x14x2 */
    nnc_flatten(m, NNC_PREV, NULL);
    dense(m, NNC_PREV, 4, NNC_ACT_LINEAR, NULL);
    compile_mse(m);
    return m;
}

/* (g) The convolution family on sequences: Cropping1D and UpSampling1D on the input (channels
 * last), Conv1D 'causal' with dilation, MaxPooling1D valid, ZeroPadding1D, AveragePooling1D
 * same with stride 2, Cropping1D and UpSampling1D on channels first, a grouped Conv1D,
 * MaxPooling1D same, then GlobalMaxPooling1D and GlobalAveragePooling1D with keepdims beside a
 * Flatten, concatenated. */
static nnc_model *build_sequence(void) {
    nnc_model *m = nnc_model_new("sequence");
    nnc_node x = nnc_input(m, (int[]){24, 3}, 2, NULL);
    x = nnc_cropping1d(m, x, 1, 2, NULL);                                  /* 21x3 */
    x = nnc_up_sampling1d(m, x, 2, NULL);                                  /* 42x3 */
    nnc_conv_opts c = conv_opts(4, 3, 1, 2, 0, NNC_ACT_RELU);
    c.padding_causal = true;
    x = nnc_conv1d(m, x, &c);                                              /* 42x4 */
    nnc_pool_opts p = nnc_pool_opts_default(2);
    x = nnc_max_pooling1d(m, x, &p);                                       /* 21x4 */
    x = nnc_zero_padding1d(m, x, 2, 1, NULL);                              /* 24x4 */
    p = nnc_pool_opts_default(3);
    p.strides[0] = 2;
    p.padding_same = true;
    x = nnc_average_pooling1d(m, x, &p);                                   /* 12x4 */
    x = nnc_cropping1d(m, x, 0, 1, NULL);                                  /* 11x4 */
    x = nnc_up_sampling1d(m, x, 3, NULL);                                  /* 33x4 */
    c = conv_opts(6, 2, 1, 1, 0, NNC_ACT_TANH);
    c.groups = 2;
    x = nnc_conv1d(m, x, &c);                                              /* 32x6 */
    p = nnc_pool_opts_default(3);
    p.padding_same = true;
    x = nnc_max_pooling1d(m, x, &p);                                       /* 11x6 */
    nnc_global_pool_opts keep = {true, NULL};
    nnc_node gmax = nnc_global_max_pooling1d(m, x, &keep);                 /* 1x6 */
    nnc_node gavg = nnc_global_average_pooling1d(m, x, &keep);             /* 1x6 */
    nnc_node g = nnc_concatenate(m, (nnc_node[]){gmax, gavg}, 2, -1, NULL);
    nnc_node all = nnc_concatenate(m, (nnc_node[]){nnc_flatten(m, g, NULL), nnc_flatten(m, x, NULL)}, 2, -1, NULL);
    nnc_node out = dense(m, all, 3, NNC_ACT_LINEAR, NULL);
    nnc_set_outputs(m, &out, 1);
    compile_mse(m);
    return m;
}

static nnc_node relu_layer(nnc_model *m, nnc_node x, float max_value, float slope, float threshold) {
    nnc_relu_opts o = nnc_relu_opts_default();
    o.has_max_value = max_value >= 0.0f;
    o.max_value = max_value;
    o.negative_slope = slope;
    o.threshold = threshold;
    return nnc_relu(m, x, &o);
}

static nnc_node layer_norm(nnc_model *m, nnc_node x, int a0, int a1, bool center, bool scale) {
    nnc_layer_norm_opts o = nnc_layer_norm_opts_default();
    o.axis[0] = a0, o.axis[1] = a1, o.n_axes = a1 ? 2 : 1;
    o.center = center, o.scale = scale;
    return nnc_layer_normalization(m, x, &o);
}

/* (h) The activation, merge, normalization, reordering and noise layers on [4, 6] sequences
 * and a vector: ReLU with a ceiling alone (relu6's form), with slope, threshold and ceiling,
 * with a threshold alone; ELU(0.7); PReLU per value and with a shared axis; Subtract,
 * Multiply, Average, Maximum and Minimum of three, and a Subtract of a vector from sequences
 * (Keras's broadcasting after the batch axis); Softmax(axis=1); LayerNormalization on the last
 * axis, on two trailing axes without beta, on a leading axis without gamma, on two leading
 * axes of a 3-D example; Permute; RepeatVector; Dot matrix·matrix, normalized with a
 * transposed operand, vector·vector and vector·matrix; SpatialDropout1D, GaussianNoise,
 * GaussianDropout and ActivityRegularization (identities). */
static nnc_model *build_layers(void) {
    nnc_model *m = nnc_model_new("layers");
    nnc_node x = nnc_input(m, (int[]){4, 6}, 2, "x");
    nnc_node v = nnc_input(m, (int[]){5}, 1, "v");
    nnc_node h = dense(m, x, 6, NNC_ACT_LINEAR, NULL);                              /* 4x6 */
    h = nnc_spatial_dropout1d(m, h, 0.3f, NULL);
    h = nnc_gaussian_noise(m, h, 0.5f, NULL);
    nnc_node r1 = relu_layer(m, h, 0.8f, 0.0f, 0.0f), r2 = relu_layer(m, h, 1.0f, 0.2f, 0.3f);
    nnc_node r3 = relu_layer(m, h, -1.0f, 0.0f, 0.25f), e = nnc_elu(m, h, 0.7f, NULL);
    nnc_prelu_opts pr = nnc_prelu_opts_default();
    nnc_node p1 = nnc_prelu(m, h, &pr);
    pr.shared_axes[0] = 1, pr.n_shared_axes = 1;
    nnc_node p2 = nnc_prelu(m, h, &pr);
    nnc_node s1 = nnc_subtract(m, (nnc_node[]){r1, r2}, 2, NULL);
    nnc_node m1 = nnc_multiply(m, (nnc_node[]){s1, e}, 2, NULL);
    nnc_node av = nnc_average(m, (nnc_node[]){p1, p2, m1}, 3, NULL);
    nnc_node mx = nnc_maximum(m, (nnc_node[]){av, r3, e}, 3, NULL);
    nnc_node mn = nnc_minimum(m, (nnc_node[]){mx, p2, r1}, 3, NULL);
    nnc_node sm = nnc_softmax_axis(m, nnc_gaussian_dropout(m, mn, 0.2f, NULL), 1, NULL);
    nnc_node ln1 = layer_norm(m, sm, -1, 0, true, true);
    nnc_node ln2 = layer_norm(m, h, 1, 2, false, true);
    nnc_node ln3 = layer_norm(m, mn, 1, 0, true, false);
    nnc_node cube = nnc_reshape(m, h, (int[]){2, 3, 4}, 3, NULL);
    nnc_node ln4 = nnc_flatten(m, layer_norm(m, cube, 1, 2, true, true), NULL);    /* 24 */
    nnc_node perm = nnc_permute(m, ln1, (int[]){2, 1}, 2, NULL);                    /* 6x4 */
    nnc_node g = dense(m, v, 6, NNC_ACT_TANH, NULL), g2 = dense(m, v, 6, NNC_ACT_LINEAR, NULL);
    g = nnc_activity_regularization(m, g, 0.01f, 0.01f, NULL);
    nnc_node rep = nnc_repeat_vector(m, g, 4, NULL);                                /* 4x6 */
    nnc_node sub = nnc_subtract(m, (nnc_node[]){nnc_multiply(m, (nnc_node[]){rep, ln2}, 2, NULL), g2}, 2, NULL);
    nnc_node d1 = nnc_dot(m, ln2, perm, 2, 1, false, NULL);                         /* 4x4 */
    nnc_node d2 = nnc_dot(m, ln3, sub, 1, 1, true, NULL);                           /* 6x6 */
    nnc_node d3 = nnc_dot(m, g, g2, 1, 1, false, NULL);                             /* 1 */
    nnc_node d4 = nnc_dot(m, g2, ln1, 1, 2, true, NULL);                            /* 4 */
    nnc_node parts[7] = {nnc_flatten(m, d1, NULL), nnc_flatten(m, d2, NULL), d3, d4, ln4, nnc_flatten(m, sub, NULL),
                         nnc_flatten(m, m1, NULL)};
    nnc_node out = nnc_concatenate(m, parts, 7, -1, NULL);
    nnc_set_outputs(m, &out, 1);
    compile_mse(m);
    return m;
}

/* Both position layers added to the input, then MultiHeadAttention: causal with key != value and an output_shape, then self-attention
 * without biases (masks from a mask node are checked by the gradient checks, not here). */
static nnc_model *build_attention(void) {
    nnc_model *m = nnc_model_new("attention");
    nnc_node x = nnc_input(m, (int[]){6, 5}, 2, NULL);
    x = nnc_add(m, (nnc_node[]){x, nnc_position_embedding(m, x, 9, NULL)}, 2, NULL);
    x = nnc_add(m, (nnc_node[]){x, nnc_sine_position_encoding(m, x, 10000.0f, NULL)}, 2, NULL);
    nnc_dense_opts d4 = nnc_dense_opts_default(4), d3 = nnc_dense_opts_default(3);
    nnc_mha_opts a = nnc_mha_opts_default(2, 3), b = nnc_mha_opts_default(3, 2);
    a.value_dim = 2, a.output_shape = 4, a.use_causal_mask = true, b.use_bias = false;
    nnc_node h = nnc_multi_head_attention(m, x, nnc_dense(m, x, &d4), nnc_dense(m, x, &d3), &a);
    nnc_node out = nnc_flatten(m, nnc_multi_head_attention(m, h, h, NNC_NONE, &b), NULL);
    nnc_set_outputs(m, &out, 1);
    compile_mse(m);
    return m;
}

/* Sequence masks: relu of a second input is 0 at some steps, the mask of query and value. */
static nnc_model *build_attention_masked(void) {
    nnc_model *m = nnc_model_new("attention_masked");
    nnc_node x = nnc_input(m, (int[]){6, 5}, 2, NULL), k = nnc_input(m, (int[]){6}, 1, NULL);
    m->nodes[x].mask = nnc_activation_layer(m, k, NNC_ACT_RELU, NULL);
    nnc_mha_opts a = nnc_mha_opts_default(2, 3);
    a.use_causal_mask = true;
    nnc_node h = nnc_multi_head_attention(m, x, x, NNC_NONE, &a);
    if (h >= 0) m->nodes[h].mask = -1;
    nnc_node out = nnc_flatten(m, h, NULL);
    nnc_set_outputs(m, &out, 1);
    compile_mse(m);
    return m;
}

/* (i) Sequences with masks: token ids through an Embedding with mask_zero, a Dense and an
 * activation that pass the mask, GlobalAveragePooling1D and GlobalMaxPooling1D over the unmasked
 * steps; beside it Masking(0) on the same ids read as 2 features per step, max-pooled. */
static nnc_model *build_embedding(void) {
    nnc_model *m = nnc_model_new("embedding");
    nnc_node ids = nnc_input(m, (int[]){8}, 1, NULL);
    nnc_embedding_opts eo = nnc_embedding_opts_default(5, 6);
    eo.mask_zero = true;
    nnc_node x = nnc_embedding(m, ids, &eo);                               /* 8x6, masked */
    x = dense(m, x, 4, NNC_ACT_TANH, NULL);                                /* 8x4, masked */
    nnc_node gavg = nnc_global_average_pooling1d(m, x, NULL);
    nnc_node gmax = nnc_global_max_pooling1d(m, x, NULL);
    nnc_node pairs = nnc_reshape(m, ids, (int[]){4, 2}, 2, NULL);
    nnc_node mk = nnc_masking(m, pairs, 0.0f, NULL);                       /* 4x2, masked */
    nnc_global_pool_opts keep = {true, NULL};
    nnc_node pmax = nnc_flatten(m, nnc_global_max_pooling1d(m, mk, &keep), NULL);
    nnc_node all = nnc_concatenate(m, (nnc_node[]){gavg, gmax, pmax}, 3, -1, NULL);
    nnc_node out = dense(m, all, 3, NNC_ACT_LINEAR, NULL);
    nnc_set_outputs(m, &out, 1);
    compile_mse(m);
    return m;
}

/* ---- running the checkers --------------------------------------------------------------- */

typedef struct {
    const char *name;
    nnc_model *(*build)(void);
    int batch;            /* rows fed at once: the batch axis is symbolic */
    int perturb;          /* move statistics and biases off their initial values */
    const char *ops;      /* ONNX op types the file must use */
    const char *absent;   /* ... and must not */
    const char *inits;    /* initializers it must hold (Keras's variable names) */
} onnx_model_case;

static const onnx_model_case model_cases[] = {
    {"mlp", build_mlp, 7, 0, "Gemm Relu Tanh", "MatMul Transpose", "dense.kernel dense.bias logits.kernel logits.bias"},
    {"cnn", build_cnn, 5, 1,
     "Pad Conv BatchNormalization Elu MaxPool Sigmoid Mul AveragePool Flatten Gemm Reshape ReduceMax",
     "Dropout", "conv2d.kernel conv2d.bias conv2d_1.kernel batch_normalization.gamma batch_normalization.moving_mean "
     "batch_normalization_1.moving_variance conv1d.kernel conv1d.bias"},
    {"cnn_pool", build_cnn_pool, 4, 1, "Conv MaxPool AveragePool ReduceMean Reshape Tanh", "", "conv2d.kernel conv1d.kernel"},
    {"functional", build_functional, 6, 1, "Gemm Add Concat Conv MaxPool Flatten", "", "dense.kernel conv2d_1.bias"},
    {"preprocessing", build_preprocessing, 9, 1,
     "Sub Sqrt Max Div Mul Add LeakyRelu Erf Softplus Selu Softsign HardSigmoid Sigmoid Elu Exp Tanh Softmax",
     "Dropout Identity", "normalization.mean normalization.variance dense.kernel"},
    {"constant_feature", build_constant_feature, 3, 0, "Sub Div Max Mul", "", "normalization.mean"},
    {"raw_ops", build_raw_ops, 4, 1, "MatMul Add Softmax Sub Mul ReduceSum ReduceMean Concat", "Gemm", "dense.kernel dense.bias"},
    {"conv_family", build_conv_family, 5, 1, "Resize Conv PRelu ConvTranspose Slice Elu Tanh MaxPool Flatten Gemm",
     "Dropout Identity", "conv2d.kernel p_re_lu.alpha depthwise_conv2d.kernel separable_conv2d.depthwise_kernel "
     "separable_conv2d.pointwise_kernel conv2d_transpose.kernel conv2d_transpose.bias conv2d_transpose_1.kernel"},
    {"sequence", build_sequence, 4, 1, "Slice Resize Conv MaxPool Pad AveragePool ReduceMax ReduceMean Concat Flatten Gemm",
     "Identity", "conv1d.kernel conv1d_1.kernel conv1d_1.bias"},
    {"layers", build_layers, 6, 1,
     "MatMul Add Clip Where Greater Min Elu PRelu Sub Mul Max Softmax LayerNormalization Transpose Unsqueeze "
     "Tile ReduceSumSquare Sqrt Div Reshape Concat Flatten Tanh Gemm",
     "Dropout RandomNormalLike Identity", "dense.kernel p_re_lu.alpha p_re_lu_1.alpha layer_normalization.gamma "
     "layer_normalization.beta layer_normalization_1.gamma layer_normalization_2.beta"},
    {"attention", build_attention, 5, 1, "Slice Expand Shape MatMul Add Reshape Transpose Mul Sub Softmax Flatten",
     "Dropout", "position_embedding.embeddings multi_head_attention.query/kernel multi_head_attention.attention_output/bias multi_head_attention_1.key/kernel"},
    {"attention_masked", build_attention_masked, 6, 1, "Relu Equal Not Cast Unsqueeze Mul Sub Add Softmax MatMul", "",
     "multi_head_attention.value/kernel"},
    /* recurrent (tests/onnx_rnn_models.c) */
    {"lstm", onnx_build_lstm, 5, 1, "Transpose LSTM Slice Squeeze Gemm", "Identity", "lstm/W lstm/R lstm_1/B"},
    {"gru", onnx_build_gru, 4, 1, "Transpose GRU Slice Squeeze Gemm", "Identity", "gru/W gru_1/R gru_2/B"},
    {"simple_rnn", onnx_build_simple_rnn, 3, 1, "Transpose RNN Slice Squeeze Flatten Gemm", "", "simple_rnn/W"},
    {"bidirectional", onnx_build_bidirectional, 4, 1, "Transpose LSTM GRU RNN Slice Concat MatMul Tanh Gemm", "",
     "bidirectional/W bidirectional/W_1 time_distributed.kernel bidirectional_3/B_1"},
    {"rnn_state", onnx_build_rnn_state, 5, 1, "Transpose LSTM GRU RNN Unsqueeze Squeeze Concat Flatten Gemm", "",
     "lstm/W lstm_1/R gru/B gru_1/W simple_rnn/W"},
    {"masked_rnn", onnx_build_masked_rnn, 6, 1, "Cast Gather Equal Not Transpose Greater Slice LSTM GRU RNN Where Concat Squeeze Gemm",
     "", "bidirectional/W bidirectional/R_1 gru/B simple_rnn/W"},
    {"embedding", build_embedding, 6, 1, "Cast Gather Equal Not ReduceSum ReduceMax Where Div Unsqueeze Gemm",
     "Identity", "embedding.embeddings dense.kernel"},
};

/* 1 when every space-separated word of want is a word of line (or, with absent, none is). */
static int words_in(const char *line, const char *want, int absent, char *missing, size_t n) {
    char w[128];
    for (const char *p = want; *p;) {
        size_t len = strcspn(p, " ");
        snprintf(w, sizeof w, " %.*s ", (int)len, p);
        char padded[8192];
        snprintf(padded, sizeof padded, " %s ", line);
        padded[strcspn(padded, "\n")] = ' ';
        if ((strstr(padded, w) != NULL) == absent) {
            snprintf(missing, n, "%.*s", (int)len, p);
            return 0;
        }
        p += len;
        while (*p == ' ') p++;
    }
    return 1;
}

/* The line of tools/onnx_check.py's output that starts with key (past it), or "". */
static const char *fact(const char *out, const char *key) {
    size_t k = strlen(key);
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, key, k) && p[k] == ' ') return p + k + 1;
    return "";
}

static void check_structure(test_run *r, const onnx_env *e, const onnx_model_case *k, nnc_model *m) {
    if (!t_begin(r, "onnx/checker/%s", k->name)) return;
    if (e->python_why[0]) {
        t_skip(r, e->python_why);
        return;
    }
    char cmd[1024], missing[128];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/../tools/onnx_check.py' %s.onnx", t_srcdir(), k->name);
    int st;
    char *out = t_shell(e->dir, cmd, &st);
    CHECK(r, out && st == 0, "ONNX's checker refuses %s.onnx: %s", k->name, out ? out : "(no output)");
    if (out && st == 0) {
        CHECK(r, !strncmp(fact(out, "opset"), "ai.onnx:17\n", 11), "opset: %s", fact(out, "opset"));
        CHECK(r, words_in(fact(out, "ops"), k->ops, 0, missing, sizeof missing), "no %s among: %s", missing, fact(out, "ops"));
        CHECK(r, words_in(fact(out, "ops"), k->absent, 1, missing, sizeof missing), "a %s node: %s", missing, fact(out, "ops"));
        CHECK(r, words_in(fact(out, "initializers"), k->inits, 0, missing, sizeof missing), "no initializer %s: %s",
              missing, fact(out, "initializers"));
        char want[512] = "";
        for (int i = 0; i < m->n_inputs; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? " " : "",
                     m->layers[m->nodes[m->inputs[i]].layer].name);
        CHECK(r, !strncmp(fact(out, "inputs"), want, strlen(want)), "inputs: %s, want %s", fact(out, "inputs"), want);
        CHECK(r, !strncmp(fact(out, "outputs"), nnc_model_output_name(m), strlen(nnc_model_output_name(m))),
              "outputs: %s, want %s", fact(out, "outputs"), nnc_model_output_name(m));
        const char *b = fact(out, "batch");
        CHECK(r, !strncmp(b, "batch", 5) && !strstr(b, " \n") && !strstr(b, "  "), "batch axes: '%s'", b);
    }
    free(out);
    t_end(r);
}

static int write_floats(const char *path, const float *v, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t put = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
        put += fwrite(b, 4, 1, f);
    }
    return fclose(f) == 0 && put == n ? 0 : -1;
}

static float *read_floats(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    float *v = f ? malloc((n + 1) * sizeof *v) : NULL;
    unsigned char b[4];
    size_t got = 0;
    while (v && got <= n && fread(b, 4, 1, f) == 1) {
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        memcpy(&v[got++], &u, 4);
    }
    if (f) fclose(f);
    if (v && got != n) free(v), v = NULL;
    return v;
}

/* ONNX Runtime on x (nnc's rows: every input's features in input order) against ref. */
static void check_runtime(test_run *r, const onnx_env *e, const onnx_model_case *k, nnc_model *m,
                          const float *x, const float *ref) {
    if (!t_begin(r, "onnx/runtime/%s", k->name)) return;
    if (e->ort_why[0]) {
        t_skip(r, e->ort_why);
        return;
    }
    char cmd[4096], path[256];
    int len = snprintf(cmd, sizeof cmd, "node '%s/../tools/onnx_check.js' %s.onnx %s.out %d", t_srcdir(),
                       k->name, k->name, k->batch);
    size_t feat = nnc_input_size(m), off = 0;
    for (int i = 0; i < m->n_inputs; i++) {
        const nnc_shape *s = &m->nodes[m->inputs[i]].shape;
        size_t n = nnc_shape_size(s);
        float *part = malloc((size_t)k->batch * n * sizeof *part);
        for (int row = 0; part && row < k->batch; row++)
            memcpy(part + (size_t)row * n, x + (size_t)row * feat + off, n * sizeof *part);
        snprintf(path, sizeof path, "%s/%s.in%d", e->dir, k->name, i);
        CHECK(r, part && !write_floats(path, part, (size_t)k->batch * n), "cannot write %s", path);
        free(part);
        off += n;
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s.in%d:", k->name, i);
        for (int d = 0; d < s->rank; d++) len += snprintf(cmd + len, sizeof cmd - (size_t)len, "%s%d", d ? "," : "", s->dim[d]);
    }
    int st;
    char *out = t_shell(e->dir, cmd, &st);
    CHECK(r, out && st == 0, "onnx_check.js failed (%d): %s", st, out ? out : "(no output)");
    size_t n = (size_t)k->batch * nnc_output_size(m);
    snprintf(path, sizeof path, "%s/%s.out", e->dir, k->name);
    float *got = st == 0 ? read_floats(path, n) : NULL;
    CHECK(r, st != 0 || got, "%s does not hold %zu floats", path, n);
    double worst = 0;
    if (got && CHECK_NEAR_F32(r, got, n, ref, n, ATOL, RTOL, &worst, "ONNX Runtime against nnc_predict, %s", k->name))
        t_info(r, "max |onnxruntime - nnc_predict| = %.3g over %zu values (%d rows)", worst, n, k->batch);
    free(got);
    free(out);
    t_end(r);
}

static void run_model_case(test_run *r, const onnx_env *e, const onnx_model_case *k) {
    nnc_model *m = k->build();
    char path[256];
    snprintf(path, sizeof path, "%s/%s.onnx", e->dir, k->name);
    /* a model that did not compile has no variables to perturb: its case fails below */
    int built = m && nnc_param_count(m) > 0 && nnc_output_size(m) > 0 && nnc_input_size(m) > 0;
    if (built && k->perturb) perturb(m, 1000 + (unsigned long long)k->batch);
    size_t feat = built ? nnc_input_size(m) : 0, outs = built ? nnc_output_size(m) : 0;
    float *x = malloc(((size_t)k->batch * feat + 1) * sizeof *x), *ref = malloc(((size_t)k->batch * outs + 1) * sizeof *ref);
    unsigned long long s = 99;
    /* token ids in [0, 5), zeros masked */
    const int ids = strcmp(k->name, "embedding") && strcmp(k->name, "masked_rnn") ? 0 : 5;
    for (size_t i = 0; x && i < (size_t)k->batch * feat; i++)
        x[i] = ids ? fminf(floorf(uniform(&s, 0, (float)ids)), (float)(ids - 1)) : uniform(&s, -2, 2);
    int ok = built && x && ref && nnc_predict(m, x, (size_t)k->batch, ref) == NNC_OK;
    nnc_status st = ok ? nnc_model_save(m, path, NULL) : NNC_ERR_ARG;
    if (t_begin(r, "onnx/save/%s", k->name)) {
        CHECK(r, ok, "building or predicting with %s failed: %s", k->name, m ? nnc_last_error(m) : "no model");
        CHECK(r, !ok || st == NNC_OK, "saving %s: %s", path, nnc_last_error(m));
        t_end(r);
    }
    if (st == NNC_OK) {
        check_structure(r, e, k, m);
        check_runtime(r, e, k, m, x, ref);
    }
    free(x);
    free(ref);
    nnc_model_free(m);
}

/* ---- without a runtime ------------------------------------------------------------------ */

/* A new op of nnc's graph needs its row in src/interop/onnx_ops.c. */
static void test_every_op_has_an_exporter(test_run *r) {
    if (!t_begin(r, "onnx/every_op_has_an_exporter")) return;
    for (int op = 0; op < NNC_OP_COUNT; op++)
        CHECK(r, nnc_onnx_has_exporter((nnc_op)op) == 1, "op '%s' has no ONNX exporter (src/interop/onnx_ops.c)",
              nnc_op_table[op]->name);
    t_end(r);
}

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = len >= 0 ? malloc((size_t)len + 1) : NULL;
    *n = p && fread(p, 1, (size_t)len, f) == (size_t)len ? (size_t)len : 0;
    fclose(f);
    return p;
}

/* An op the writer cannot express (here an activation id no release has) names its layer, and
 * the file that was there stays byte for byte; a write that fails half way does the same. */
static void test_failures_leave_the_file(test_run *r, const onnx_env *e) {
    if (!t_begin(r, "onnx/failures_name_the_layer_and_write_nothing")) return;
    char path[256], fresh[256];
    snprintf(path, sizeof path, "%s/keep.onnx", e->dir);
    snprintf(fresh, sizeof fresh, "%s/never.onnx", e->dir);
    nnc_model *m = build_mlp();
    nnc_model *raw = nnc_model_new("raw");
    nnc_input(raw, (int[]){3}, 1, NULL);
    dense(raw, NNC_PREV, 2, NNC_ACT_RELU, "late");
    CHECK(r, nnc_model_save(raw, fresh, NULL) == NNC_ERR_STATE && access(fresh, F_OK) != 0,
          "saving an uncompiled model must fail with nothing written: %s", nnc_last_error(raw));
    CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "%s", nnc_last_error(m));
    size_t n0 = 0, n1 = 0;
    char *before = slurp(path, &n0);
    int act = -1;
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].op == NNC_OP_ACT && m->nodes[i].attr.act == NNC_ACT_TANH) act = i;
    CHECK(r, act >= 0, "the MLP has no tanh node");
    if (act >= 0) {
        m->nodes[act].attr.act = (nnc_activation)NNC_ACT_COUNT;
        nnc_status st = nnc_model_save(m, path, NULL);
        const char *msg = nnc_last_error(m);
        CHECK(r, st == NNC_ERR_UNSUPPORTED, "status %d", (int)st);
        CHECK(r, strstr(msg, "keep.onnx") && strstr(msg, "'dense_1' (Dense)") && strstr(msg, "nothing was written"),
              "the message must name the file and the layer: %s", msg);
        m->nodes[act].attr.act = NNC_ACT_TANH;
    }
    setenv("NNC_FAIL_SAVE_AFTER", "100", 1);
    nnc_status st = nnc_model_save(m, path, NULL);
    unsetenv("NNC_FAIL_SAVE_AFTER");
    CHECK(r, st == NNC_ERR_IO, "a write failing after 100 bytes must fail the save (status %d)", (int)st);
    char *after = slurp(path, &n1);
    CHECK(r, before && after && n0 == n1 && n0 > 100 && !memcmp(before, after, n0),
          "the file saved before must be left as it was (%zu bytes, now %zu)", n0, n1);
    free(before);
    free(after);
    nnc_model_free(raw);
    nnc_model_free(m);
    t_end(r);
}

/* `nnc convert` loads with nnc_model_load and saves with nnc_model_save: its ONNX file is the
 * library's, byte for byte; its usage errors exit 2, a bad input 1, each with one line. */
static void test_convert(test_run *r, const onnx_env *e) {
    if (!t_begin(r, "onnx/nnc_convert")) return;
    char st_path[256], lib_path[256], cli_path[256];
    snprintf(st_path, sizeof st_path, "%s/conv.safetensors", e->dir);
    snprintf(lib_path, sizeof lib_path, "%s/conv_lib.onnx", e->dir);
    snprintf(cli_path, sizeof cli_path, "%s/conv_cli.onnx", e->dir);
    nnc_model *m = build_cnn();
    perturb(m, 3);
    CHECK(r, nnc_model_save(m, st_path, NULL) == NNC_OK, "%s", nnc_last_error(m));
    nnc_error err = {""};
    nnc_model *back = nnc_model_load(st_path, &err);
    CHECK(r, back && nnc_model_save(back, lib_path, NULL) == NNC_OK, "%s", back ? nnc_last_error(back) : err.message);
    int st;
    char *out = t_shell(e->dir, "nnc convert conv.safetensors conv_cli.onnx", &st);
    CHECK(r, st == 0, "nnc convert failed (%d): %s", st, out ? out : "");
    free(out);
    size_t a = 0, b = 0;
    char *x = slurp(lib_path, &a), *y = slurp(cli_path, &b);
    CHECK(r, x && y && a == b && a > 0 && !memcmp(x, y, a), "nnc convert wrote %zu bytes, the library %zu", b, a);
    free(x);
    free(y);
    static const struct { const char *cmd; int status; const char *says; } bad[] = {
        {"nnc convert conv.safetensors", 2, "nnc convert: missing"},
        {"nnc convert a b c", 2, "unexpected argument 'c'"},
        {"nnc convert --frobnicate conv.safetensors x.onnx", 2, "unknown option"},
        {"nnc convert nothing.safetensors x.onnx", 1, "nothing.safetensors"},
        {"nnc convert conv.safetensors no/such/dir/x.onnx", 1, "no/such/dir"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *o = t_shell(e->dir, bad[i].cmd, &st);
        int lines = 0;
        for (const char *p = o; p && *p; p++) lines += *p == '\n';
        /* one line; a usage error adds the hint "Try 'nnc convert --help'." */
        CHECK(r, st == bad[i].status && o && strstr(o, bad[i].says) && lines == (bad[i].status == 2 ? 2 : 1),
              "'%s': status %d (want %d), %d lines: %s", bad[i].cmd, st, bad[i].status, lines, o ? o : "");
        free(o);
    }
    nnc_model_free(back);
    nnc_model_free(m);
    t_end(r);
}

/* ---- the suite (NNC_KEEP_ONNX=1 keeps its folder of files for a look) ------------------- */

static void find_tools(onnx_env *e) {
    int st;
    char *out = t_shell(e->dir, "/usr/bin/python3 -c 'import onnx' 2>&1", &st);
    if (st != 0)
        snprintf(e->python_why, sizeof e->python_why, "no /usr/bin/python3 with the onnx package "
                 "(Debian: apt-get install python3-onnx)");
    free(out);
    const char *dir = getenv("NNC_ONNXRUNTIME_DIR");
    char def[1024], pkg[1200];
    snprintf(def, sizeof def, "%s/../build-onnxruntime", t_srcdir());
    if (!dir || !*dir) dir = def;
    snprintf(pkg, sizeof pkg, "%s/node_modules/onnxruntime-node/package.json", dir);
    out = t_shell(e->dir, "node --version", &st);
    if (st != 0)
        snprintf(e->ort_why, sizeof e->ort_why, "no node on PATH (Debian: apt-get install nodejs npm)");
    else if (access(pkg, R_OK))
        snprintf(e->ort_why, sizeof e->ort_why, "no onnxruntime-node in %s/node_modules (there: npm install "
                 "--ignore-scripts onnxruntime-node@1.30.0; or set NNC_ONNXRUNTIME_DIR)", dir);
    else
        setenv("NNC_ONNXRUNTIME_DIR", dir, 1); /* for tools/onnx_check.js */
    free(out);
}

void suite_onnx(test_run *r);
void suite_onnx(test_run *r) {
    onnx_env e = {"/tmp/nnc-onnx-XXXXXX", "", ""};
    int built = nnc_onnx_has_exporter(NNC_OP_INPUT) >= 0;
    if (!built || !mkdtemp(e.dir)) {
        if (t_begin(r, "onnx/writer"))
            t_skip(r, built ? "no temporary folder" : "ONNX writing is not built (NNC_INTEROP off or no protobuf-c)");
        return;
    }
    find_tools(&e);
    test_every_op_has_an_exporter(r);
    for (size_t i = 0; i < sizeof model_cases / sizeof *model_cases; i++) run_model_case(r, &e, &model_cases[i]);
    test_failures_leave_the_file(r, &e);
    test_convert(r, &e);
    if (!getenv("NNC_KEEP_ONNX")) remove_tree(e.dir);
    else printf("kept %s\n", e.dir);
}
