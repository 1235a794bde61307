/* Keras's layers for convolutional networks: Conv2D, Conv1D (groups, 'causal'), pooling (1-D
 * and 2-D, global with keepdims), Flatten, Reshape, ZeroPadding2D, Dropout and
 * BatchNormalization. Padding follows TensorFlow: 'same' gives ceil(n / stride) outputs with
 * total padding max((out − 1)·stride + (k − 1)·dilation + 1 − n, 0), the odd cell at the
 * bottom/right (nnc_same_padding). The depthwise, separable and transposed convolutions are in
 * conv_family.c, upsampling, cropping and 1-D padding in resize_layers.c. */
#include <math.h>
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_conv2d_desc, nnc_conv1d_desc, nnc_max_pooling2d_desc,
    nnc_average_pooling2d_desc, nnc_global_average_pooling2d_desc, nnc_global_max_pooling2d_desc,
    nnc_flatten_desc, nnc_reshape_desc, nnc_zero_padding2d_desc, nnc_dropout_desc,
    nnc_batch_normalization_desc, nnc_max_pooling1d_desc, nnc_average_pooling1d_desc,
    nnc_global_average_pooling1d_desc, nnc_global_max_pooling1d_desc;

static const nnc_opt_desc no_opts[1] = {{0}};
static void no_defaults(void *o) { memset(o, 0, sizeof(nnc_no_opts)); }

#define CHANNELS_LAST {.key = "data_format", .type = NNC_OPT_CONST, .literal = "\"channels_last\"", \
                       .help = "channels_last only: examples are (height, width, channels)"}

/* A layer made of one op on one input with the given attributes. */
static nnc_node simple(nnc_model *m, const nnc_layer_desc *d, const nnc_node *in, int n_in,
                       const void *opts, const char *name, nnc_op op, nnc_op_attr at) {
    int x;
    int l = nnc_layer_start(m, d, in, n_in, opts, name, &x);
    if (l < 0) return NNC_NONE;
    int y = nnc_graph_op(m, op, &x, 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

/* ---- Conv2D and Conv1D -------------------------------------------------------------------- */

nnc_conv_opts nnc_conv_opts_default(int filters, int kernel_size) {
    nnc_conv_opts o;
    memset(&o, 0, sizeof o);
    o.filters = filters;
    o.kernel_size[0] = o.kernel_size[1] = kernel_size;
    o.strides[0] = o.strides[1] = 1;
    o.dilation_rate[0] = o.dilation_rate[1] = 1;
    o.groups = 1;
    o.activation = NNC_ACT_LINEAR;
    o.use_bias = true;
    o.kernel_initializer = nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM);
    o.bias_initializer = nnc_initializer_default(NNC_INIT_ZEROS);
    return o;
}

static nnc_node conv(nnc_model *m, const nnc_layer_desc *d, const nnc_node *in, int n_in,
                     const nnc_conv_opts *opts, const char *name, int two_d) {
    if (!m || m->sticky) return NNC_NONE;
    const char *who = name ? name : d->stem;
    nnc_conv_opts one = *opts;
    if (one.groups == 0) one.groups = 1; /* a struct filled by hand: Keras's default */
    const nnc_conv_opts *o = &one;
    if (o->groups < 0 || o->filters % o->groups) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': groups (%d) must be positive and divide filters (%d)",
                             d->keras_class, who, o->groups, o->filters);
        return NNC_NONE;
    }
    if (o->padding_causal && (two_d || o->padding_same)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': 'causal' padding is Conv1D's alone, instead of 'same'",
                             d->keras_class, who);
        return NNC_NONE;
    }
    int kh = two_d ? o->kernel_size[0] : 1, kw = two_d ? o->kernel_size[1] : o->kernel_size[0];
    int sh = two_d ? o->strides[0] : 1, sw = two_d ? o->strides[1] : o->strides[0];
    int dh = two_d ? o->dilation_rate[0] : 1, dw = two_d ? o->dilation_rate[1] : o->dilation_rate[0];
    if (o->filters <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0 ||
        (unsigned)o->activation >= NNC_ACT_COUNT) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': filters, kernel_size, strides and "
                             "dilation_rate must be positive", d->keras_class, who);
        return NNC_NONE;
    }
    if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': strides > 1 and dilation_rate > 1 cannot "
                             "be combined (as in Keras)", d->keras_class, who);
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, d, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    const nnc_node_rec *xn = &m->nodes[x];
    if (xn->shape.rank != (two_d ? 3 : 2)) {
        char s[64];
        nnc_shape_str(&xn->shape, 1, s, sizeof s);
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "layer '%s': %s needs inputs of shape %s, got %s",
                             m->layers[l].name, d->keras_class,
                             two_d ? "(None, height, width, channels)" : "(None, length, channels)", s);
        return NNC_NONE;
    }
    int c = xn->shape.dim[xn->shape.rank - 1], cg = c / o->groups;
    if (c % o->groups) {
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "layer '%s': %d input channels do not split into %d groups",
                             m->layers[l].name, c, o->groups);
        return NNC_NONE;
    }
    /* The fans (and the im2col width) must fit an int; a kernel this large never fits an input. */
    if ((long long)kh * kw * c > (1 << 30) || (long long)kh * kw * o->filters > (1 << 30) ||
        (long long)c * o->filters * kh * kw > (1LL << 31)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "layer '%s': a %dx%d kernel over %d channels to %d filters is too large",
                             m->layers[l].name, kh, kw, c, o->filters);
        return NNC_NONE;
    }
    int h = two_d ? xn->shape.dim[0] : 1, w = xn->shape.dim[xn->shape.rank - 2];
    /* Keras's kernel [kh, kw, C / groups, filters] (Conv1D: [k, C / groups, filters]), fans from it */
    nnc_shape ks = two_d ? (nnc_shape){4, {kh, kw, cg, o->filters}} : (nnc_shape){3, {kw, cg, o->filters}};
    int k = nnc_layer_param(m, l, "kernel", &ks, o->kernel_initializer, kh * kw * cg, kh * kw * o->filters, 1);
    if (k < 0) return NNC_NONE;
    nnc_op_attr at = {0};
    at.win.kh = kh, at.win.kw = kw, at.win.sh = sh, at.win.sw = sw, at.win.dh = dh, at.win.dw = dw;
    at.win.groups = o->groups;
    nnc_same_padding(h, (kh - 1) * dh + 1, sh, o->padding_same, &at.win.pt, &at.win.pb);
    nnc_same_padding(w, (kw - 1) * dw + 1, sw, o->padding_same, &at.win.pl, &at.win.pr);
    if (o->padding_causal) at.win.pl = (kw - 1) * dw, at.win.pr = 0; /* Keras pads, then 'valid' */
    int ops[2] = {x, k};
    int y = nnc_graph_op(m, NNC_OP_CONV, ops, 2, at);
    if (y < 0) return NNC_NONE;
    if (o->use_bias) {
        nnc_shape bs = {1, {o->filters}};
        int b = nnc_layer_param(m, l, "bias", &bs, o->bias_initializer, kh * kw * c, kh * kw * o->filters, 1);
        if (b < 0) return NNC_NONE;
        int bo[2] = {y, b};
        if ((y = nnc_graph_op(m, NNC_OP_BIAS_ADD, bo, 2, (nnc_op_attr){0})) < 0) return NNC_NONE;
    }
    if ((y = nnc_apply_activation(m, y, o->activation)) < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

static nnc_node conv2d_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return conv(m, &nnc_conv2d_desc, in, n_in, o, name, 1);
}
static nnc_node conv1d_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return conv(m, &nnc_conv1d_desc, in, n_in, o, name, 0);
}
nnc_node nnc_conv2d(nnc_model *m, nnc_node x, const nnc_conv_opts *o) { return conv2d_build(m, &x, 1, o, o->name); }
nnc_node nnc_conv1d(nnc_model *m, nnc_node x, const nnc_conv_opts *o) { return conv1d_build(m, &x, 1, o, o->name); }

static void conv_defaults(void *o) { *(nnc_conv_opts *)o = nnc_conv_opts_default(0, 1); }

/* Conv2D's and Conv1D's options differ in the length of their tuples (2 or 1) and in 'causal'. */
#define CONV_OPTS(n, ex, pad_flags, pad_help)                                                \
    {NNC_OPT_ROW("filters", NNC_OPT_INT, nnc_conv_opts, filters, 0), .lo = 1, .hi = 1 << 24,       \
     .flags = NNC_OPTF_REQUIRED, .example = ex, .help = "output channels"},                   \
    {NNC_OPT_ROW("kernel_size", NNC_OPT_INTS, nnc_conv_opts, kernel_size, 1), .count = n, .lo = 1,  \
     .hi = 1 << 24, .flags = NNC_OPTF_REQUIRED, .example = ex,                                    \
     .help = "the window: one value for every axis, or one per axis"},                            \
    {NNC_OPT_ROW("strides", NNC_OPT_INTS, nnc_conv_opts, strides, -1), .count = n, .lo = 1, .hi = 1 << 24}, \
    {NNC_OPT_ROW("dilation_rate", NNC_OPT_INTS, nnc_conv_opts, dilation_rate, -1), .count = n, .lo = 1, \
     .hi = 1 << 24},                                                                               \
    {NNC_OPT_ROW("padding", NNC_OPT_PADDING, nnc_conv_opts, padding_same, -1),                     \
     .aux = offsetof(nnc_conv_opts, padding_causal), .flags = pad_flags, .help = pad_help},        \
    CHANNELS_LAST,                                                                                 \
    {NNC_OPT_ROW("groups", NNC_OPT_INT, nnc_conv_opts, groups, -1), .lo = 1, .hi = 1 << 24,        \
     .help = "channel groups convolved apart (each of C/groups channels to filters/groups)"},      \
    {NNC_OPT_ROW("activation", NNC_OPT_ACTIVATION, nnc_conv_opts, activation, -1)},                \
    {NNC_OPT_ROW("use_bias", NNC_OPT_BOOL, nnc_conv_opts, use_bias, -1)},                          \
    {NNC_OPT_ROW("kernel_initializer", NNC_OPT_INITIALIZER, nnc_conv_opts, kernel_initializer, -1)}, \
    {NNC_OPT_ROW("bias_initializer", NNC_OPT_INITIALIZER, nnc_conv_opts, bias_initializer, -1)},   \
    {NNC_OPT_ROW("kernel_regularizer", NNC_OPT_REGULARIZER, nnc_conv_opts, kernel_regularizer, -1)}, \
    {NNC_OPT_ROW("bias_regularizer", NNC_OPT_REGULARIZER, nnc_conv_opts, bias_regularizer, -1)},   \
    {NNC_OPT_ROW("activity_regularizer", NNC_OPT_REGULARIZER, nnc_conv_opts, activity_regularizer, -1)}

static const nnc_opt_desc conv2d_opts[] = {
    CONV_OPTS(2, "conv2d 32 3", 0, "valid (no padding) or same (as many outputs as inputs at stride 1)")};
static const nnc_opt_desc conv1d_opts[] = {
    CONV_OPTS(1, "conv1d 32 3", NNC_OPTF_CAUSAL, "valid, same, or causal (all the padding before)")};

const nnc_layer_desc nnc_conv2d_desc = {
    "Conv2D", "conv2d", "conv2d", "2-D convolution over (height, width, channels)",
    sizeof(nnc_conv_opts), offsetof(nnc_conv_opts, name), conv_defaults, conv2d_opts,
    NNC_OPT_COUNT_OF(conv2d_opts), 1, 1, 0, conv2d_build};
const nnc_layer_desc nnc_conv1d_desc = {
    "Conv1D", "conv1d", "conv1d", "1-D convolution over (length, channels)",
    sizeof(nnc_conv_opts), offsetof(nnc_conv_opts, name), conv_defaults, conv1d_opts,
    NNC_OPT_COUNT_OF(conv1d_opts), 1, 1, 0, conv1d_build};

/* ---- pooling ------------------------------------------------------------------------------ */

nnc_pool_opts nnc_pool_opts_default(int pool_size) {
    nnc_pool_opts o;
    memset(&o, 0, sizeof o);
    o.pool_size[0] = o.pool_size[1] = pool_size;
    return o;
}

/* 2-D pooling over [H, W, C]; 1-D over [L, C] with pool_size[0] and strides[0] (a height of 1). */
static nnc_node pool(nnc_model *m, const nnc_layer_desc *d, const nnc_node *in, int n_in,
                     const nnc_pool_opts *o, const char *name, nnc_op op, int two_d) {
    if (!m || m->sticky) return NNC_NONE;
    int ph = two_d ? o->pool_size[0] : 1, pw = o->pool_size[two_d ? 1 : 0];
    int sh = !two_d ? 1 : o->strides[0] ? o->strides[0] : ph;
    int sw = o->strides[two_d ? 1 : 0] ? o->strides[two_d ? 1 : 0] : pw;
    if (ph <= 0 || pw <= 0 || sh <= 0 || sw <= 0) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': pool_size and strides must be positive",
                             d->keras_class, name ? name : d->stem);
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, d, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    const nnc_node_rec *xn = &m->nodes[x];
    if (xn->shape.rank != (two_d ? 3 : 2)) {
        char s[64];
        nnc_shape_str(&xn->shape, 1, s, sizeof s);
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "layer '%s': %s needs inputs of shape %s, got %s", m->layers[l].name,
                             d->keras_class, two_d ? "(None, height, width, channels)" : "(None, length, channels)", s);
        return NNC_NONE;
    }
    nnc_op_attr at = {0};
    at.win.kh = ph, at.win.kw = pw, at.win.sh = sh, at.win.sw = sw, at.win.dh = at.win.dw = 1;
    if (two_d) nnc_same_padding(xn->shape.dim[0], ph, sh, o->padding_same, &at.win.pt, &at.win.pb);
    nnc_same_padding(xn->shape.dim[xn->shape.rank - 2], pw, sw, o->padding_same, &at.win.pl, &at.win.pr);
    int y = nnc_graph_op(m, op, &x, 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

static nnc_node max_pool_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return pool(m, &nnc_max_pooling2d_desc, in, n_in, o, name, NNC_OP_MAX_POOL, 1);
}
static nnc_node avg_pool_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return pool(m, &nnc_average_pooling2d_desc, in, n_in, o, name, NNC_OP_AVG_POOL, 1);
}
static nnc_node max_pool1d_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return pool(m, &nnc_max_pooling1d_desc, in, n_in, o, name, NNC_OP_MAX_POOL, 0);
}
static nnc_node avg_pool1d_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return pool(m, &nnc_average_pooling1d_desc, in, n_in, o, name, NNC_OP_AVG_POOL, 0);
}
nnc_node nnc_max_pooling2d(nnc_model *m, nnc_node x, const nnc_pool_opts *o) {
    return max_pool_build(m, &x, 1, o, o->name);
}
nnc_node nnc_average_pooling2d(nnc_model *m, nnc_node x, const nnc_pool_opts *o) {
    return avg_pool_build(m, &x, 1, o, o->name);
}
nnc_node nnc_max_pooling1d(nnc_model *m, nnc_node x, const nnc_pool_opts *o) {
    return max_pool1d_build(m, &x, 1, o, o->name);
}
nnc_node nnc_average_pooling1d(nnc_model *m, nnc_node x, const nnc_pool_opts *o) {
    return avg_pool1d_build(m, &x, 1, o, o->name);
}

static void pool_defaults(void *o) { *(nnc_pool_opts *)o = nnc_pool_opts_default(2); }

#define POOL_OPTS(n)                                                                                        \
    {NNC_OPT_ROW("pool_size", NNC_OPT_INTS, nnc_pool_opts, pool_size, 0), .count = n, .lo = 1,             \
     .hi = 1 << 24, .help = "the window"},                                                                  \
    {NNC_OPT_ROW("strides", NNC_OPT_INTS, nnc_pool_opts, strides, -1), .count = n, .lo = 1, .hi = 1 << 24, \
     .aux = offsetof(nnc_pool_opts, pool_size), .flags = NNC_OPTF_ZERO_IS_AUX,                              \
     .help = "the step; default: pool_size"},                                                               \
    {NNC_OPT_ROW("padding", NNC_OPT_PADDING, nnc_pool_opts, padding_same, -1),                              \
     .help = "valid or same ('same' averages exclude the padding)"},                                        \
    CHANNELS_LAST

static const nnc_opt_desc pool_opts[] = {POOL_OPTS(2)};
static const nnc_opt_desc pool1d_opts[] = {POOL_OPTS(1)};

const nnc_layer_desc nnc_max_pooling2d_desc = {
    "MaxPooling2D", "max_pooling2d", "max_pooling2d", "the maximum of each window",
    sizeof(nnc_pool_opts), offsetof(nnc_pool_opts, name), pool_defaults, pool_opts,
    NNC_OPT_COUNT_OF(pool_opts), 1, 1, 0, max_pool_build};
const nnc_layer_desc nnc_average_pooling2d_desc = {
    "AveragePooling2D", "average_pooling2d", "average_pooling2d", "the mean of each window",
    sizeof(nnc_pool_opts), offsetof(nnc_pool_opts, name), pool_defaults, pool_opts,
    NNC_OPT_COUNT_OF(pool_opts), 1, 1, 0, avg_pool_build};
const nnc_layer_desc nnc_max_pooling1d_desc = {
    "MaxPooling1D", "max_pooling1d", "max_pooling1d", "the maximum of each window of (length, channels)",
    sizeof(nnc_pool_opts), offsetof(nnc_pool_opts, name), pool_defaults, pool1d_opts,
    NNC_OPT_COUNT_OF(pool1d_opts), 1, 1, 0, max_pool1d_build};
const nnc_layer_desc nnc_average_pooling1d_desc = {
    "AveragePooling1D", "average_pooling1d", "average_pooling1d", "the mean of each window of (length, channels)",
    sizeof(nnc_pool_opts), offsetof(nnc_pool_opts, name), pool_defaults, pool1d_opts,
    NNC_OPT_COUNT_OF(pool1d_opts), 1, 1, 0, avg_pool1d_build};

/* Global pooling: every axis but the channels, which a 2-D layer wants to be (H, W) and a 1-D
 * one (L); keepdims keeps them with size 1. */
static nnc_node global_pool(nnc_model *m, const nnc_layer_desc *d, const nnc_node *in, int n_in,
                            const nnc_global_pool_opts *o, const char *name, nnc_op op, int rank) {
    int x;
    int l = nnc_layer_start(m, d, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    if (m->nodes[x].shape.rank != rank) {
        char s[64];
        nnc_shape_str(&m->nodes[x].shape, 1, s, sizeof s);
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "layer '%s': %s needs inputs of shape %s, got %s", m->layers[l].name,
                             d->keras_class, rank == 3 ? "(None, height, width, channels)" : "(None, length, channels)", s);
        return NNC_NONE;
    }
    nnc_op_attr at = {0};
    at.keepdims = o->keepdims;
    /* a 1-D layer averages or takes the max over the unmasked steps only; its output has no mask */
    int xs[2] = {x, m->nodes[x].mask};
    int y = nnc_graph_op(m, op, xs, xs[1] >= 0 ? 2 : 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

static nnc_node global_avg_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return global_pool(m, &nnc_global_average_pooling2d_desc, in, n_in, o, name, NNC_OP_GLOBAL_AVG, 3);
}
static nnc_node global_max_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return global_pool(m, &nnc_global_max_pooling2d_desc, in, n_in, o, name, NNC_OP_GLOBAL_MAX, 3);
}
static nnc_node global_avg1d_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return global_pool(m, &nnc_global_average_pooling1d_desc, in, n_in, o, name, NNC_OP_GLOBAL_AVG, 2);
}
static nnc_node global_max1d_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return global_pool(m, &nnc_global_max_pooling1d_desc, in, n_in, o, name, NNC_OP_GLOBAL_MAX, 2);
}

static nnc_global_pool_opts global_opts_or_default(const nnc_global_pool_opts *o, const char *name) {
    nnc_global_pool_opts g = {false, name};
    if (o) g = *o;
    return g;
}

nnc_node nnc_global_average_pooling2d(nnc_model *m, nnc_node x, const char *name) {
    nnc_global_pool_opts o = global_opts_or_default(NULL, name);
    return global_avg_build(m, &x, 1, &o, name);
}
nnc_node nnc_global_max_pooling2d(nnc_model *m, nnc_node x, const char *name) {
    nnc_global_pool_opts o = global_opts_or_default(NULL, name);
    return global_max_build(m, &x, 1, &o, name);
}
nnc_node nnc_global_average_pooling2d_ex(nnc_model *m, nnc_node x, const nnc_global_pool_opts *o) {
    nnc_global_pool_opts g = global_opts_or_default(o, NULL);
    return global_avg_build(m, &x, 1, &g, g.name);
}
nnc_node nnc_global_max_pooling2d_ex(nnc_model *m, nnc_node x, const nnc_global_pool_opts *o) {
    nnc_global_pool_opts g = global_opts_or_default(o, NULL);
    return global_max_build(m, &x, 1, &g, g.name);
}
nnc_node nnc_global_average_pooling1d(nnc_model *m, nnc_node x, const nnc_global_pool_opts *o) {
    nnc_global_pool_opts g = global_opts_or_default(o, NULL);
    return global_avg1d_build(m, &x, 1, &g, g.name);
}
nnc_node nnc_global_max_pooling1d(nnc_model *m, nnc_node x, const nnc_global_pool_opts *o) {
    nnc_global_pool_opts g = global_opts_or_default(o, NULL);
    return global_max1d_build(m, &x, 1, &g, g.name);
}

static void global_defaults(void *o) { *(nnc_global_pool_opts *)o = global_opts_or_default(NULL, NULL); }

static const nnc_opt_desc global_opts[] = {
    CHANNELS_LAST,
    {NNC_OPT_ROW("keepdims", NNC_OPT_BOOL, nnc_global_pool_opts, keepdims, -1),
     .help = "keep the pooled axes, of size 1"},
};

#define GLOBAL_DESC(cls, kw, help, build, flags)                                                               \
    {cls, kw, kw, help, sizeof(nnc_global_pool_opts), offsetof(nnc_global_pool_opts, name), global_defaults, \
     global_opts, NNC_OPT_COUNT_OF(global_opts), 1, 1, flags, build}

const nnc_layer_desc nnc_global_average_pooling2d_desc = GLOBAL_DESC(
    "GlobalAveragePooling2D", "global_average_pooling2d", "(height, width, channels) to the mean of each channel",
    global_avg_build, 0);
const nnc_layer_desc nnc_global_max_pooling2d_desc = GLOBAL_DESC(
    "GlobalMaxPooling2D", "global_max_pooling2d", "(height, width, channels) to the maximum of each channel",
    global_max_build, 0);
const nnc_layer_desc nnc_global_average_pooling1d_desc = GLOBAL_DESC(
    "GlobalAveragePooling1D", "global_average_pooling1d", "(length, channels) to the mean of each channel",
    global_avg1d_build, NNC_LAYERF_MASK_CONSUME);
const nnc_layer_desc nnc_global_max_pooling1d_desc = GLOBAL_DESC(
    "GlobalMaxPooling1D", "global_max_pooling1d", "(length, channels) to the maximum of each channel",
    global_max1d_build, NNC_LAYERF_MASK_CONSUME);

/* ---- Flatten, Reshape, ZeroPadding2D ------------------------------------------------------ */

static nnc_node flatten_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    if (!m || m->sticky) return NNC_NONE;
    int r = n_in == 1 && in ? nnc_graph_resolve(m, in[0], name ? name : "flatten") : -1;
    if (r < 0) return NNC_NONE;
    nnc_op_attr at = {0};
    at.target.rank = 1;
    at.target.dim[0] = (int)nnc_shape_size(&m->nodes[r].shape);
    return simple(m, &nnc_flatten_desc, in, n_in, o, name, NNC_OP_RESHAPE, at);
}

nnc_node nnc_flatten(nnc_model *m, nnc_node x, const char *name) {
    nnc_no_opts o = {0};
    return flatten_build(m, &x, 1, &o, name);
}

const nnc_layer_desc nnc_flatten_desc = {
    "Flatten", "flatten", "flatten", "each example to one axis", sizeof(nnc_no_opts),
    NNC_NO_NAME_FIELD, no_defaults, no_opts, 0, 1, 1, 0, flatten_build};

static nnc_node reshape_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_shape *t = &((const nnc_reshape_opts *)opts)->target_shape;
    if (!m || m->sticky) return NNC_NONE;
    if (t->rank < 1 || t->rank > NNC_MAX_RANK) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Reshape: rank %d is not in 1..%d", t->rank, NNC_MAX_RANK);
        return NNC_NONE;
    }
    for (int i = 0; i < t->rank; i++)
        if (t->dim[i] <= 0) {
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "Reshape: dimension %d is %d, not positive", i + 1, t->dim[i]);
            return NNC_NONE;
        }
    nnc_op_attr at = {0};
    at.target = *t;
    return simple(m, &nnc_reshape_desc, in, n_in, opts, name, NNC_OP_RESHAPE, at);
}

nnc_node nnc_reshape(nnc_model *m, nnc_node x, const int *shape, int rank, const char *name) {
    nnc_reshape_opts o = {{rank, {0}}};
    if (m && !m->sticky && (!shape || rank < 1 || rank > NNC_MAX_RANK)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Reshape: rank %d is not in 1..%d", rank, NNC_MAX_RANK);
        return NNC_NONE;
    }
    for (int i = 0; shape && i < rank && i < NNC_MAX_RANK; i++) o.target_shape.dim[i] = shape[i];
    return reshape_build(m, &x, 1, &o, name);
}

static void reshape_defaults(void *o) { memset(o, 0, sizeof(nnc_reshape_opts)); }

static const nnc_opt_desc reshape_opts[] = {
    {NNC_OPT_ROW("target_shape", NNC_OPT_SHAPE, nnc_reshape_opts, target_shape, 0), .lo = 1,
     .hi = 1 << 24, .flags = NNC_OPTF_REQUIRED | NNC_OPTF_REST, .example = "reshape 8 8 1",
     .help = "each example's new shape (the same number of values)"},
};

const nnc_layer_desc nnc_reshape_desc = {
    "Reshape", "reshape", "reshape", "the same values in another shape", sizeof(nnc_reshape_opts),
    NNC_NO_NAME_FIELD, reshape_defaults, reshape_opts, NNC_OPT_COUNT_OF(reshape_opts), 1, 1, 0, reshape_build};

static nnc_node zero_pad_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const int *p = ((const nnc_zero_padding_opts *)opts)->padding;
    if (!m || m->sticky) return NNC_NONE;
    if (p[0] < 0 || p[1] < 0 || p[2] < 0 || p[3] < 0) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "ZeroPadding2D: padding must be >= 0");
        return NNC_NONE;
    }
    int r = n_in == 1 && in ? nnc_graph_resolve(m, in[0], name ? name : "zero_padding2d") : -1;
    if (r < 0) return NNC_NONE;
    if (m->nodes[r].shape.rank != 3) {
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "ZeroPadding2D '%s': needs inputs of shape (None, height, width, "
                             "channels)", name ? name : "zero_padding2d");
        return NNC_NONE;
    }
    nnc_op_attr at = {0};
    at.win.pt = p[0], at.win.pb = p[1], at.win.pl = p[2], at.win.pr = p[3];
    return simple(m, &nnc_zero_padding2d_desc, in, n_in, opts, name, NNC_OP_ZERO_PAD, at);
}

nnc_node nnc_zero_padding2d(nnc_model *m, nnc_node x, int top, int bottom, int left, int right,
                            const char *name) {
    nnc_zero_padding_opts o = {{top, bottom, left, right}};
    return zero_pad_build(m, &x, 1, &o, name);
}

static void zero_pad_defaults(void *o) {
    nnc_zero_padding_opts *z = o;
    z->padding[0] = z->padding[1] = z->padding[2] = z->padding[3] = 1;
}

static const nnc_opt_desc zero_pad_opts[] = {
    {NNC_OPT_ROW("padding", NNC_OPT_PAD2D, nnc_zero_padding_opts, padding, 0), .lo = 0, .hi = 1 << 16,
     .flags = NNC_OPTF_REST, .help = "1, 2 (rows, columns) or 4 (top, bottom, left, right) values"},
    CHANNELS_LAST,
};

const nnc_layer_desc nnc_zero_padding2d_desc = {
    "ZeroPadding2D", "zero_padding2d", "zero_padding2d", "zeros around each image",
    sizeof(nnc_zero_padding_opts), NNC_NO_NAME_FIELD, zero_pad_defaults, zero_pad_opts,
    NNC_OPT_COUNT_OF(zero_pad_opts), 1, 1, 0, zero_pad_build};

/* ---- Dropout and BatchNormalization ------------------------------------------------------- */

static nnc_node dropout_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    float rate = ((const nnc_dropout_opts *)opts)->rate;
    if (!m || m->sticky) return NNC_NONE;
    if (!(rate >= 0.0f && rate < 1.0f)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Dropout '%s': rate %g is not in [0, 1)",
                             name ? name : "dropout", (double)rate);
        return NNC_NONE;
    }
    nnc_op_attr at = {0};
    at.rate = rate;
    return simple(m, &nnc_dropout_desc, in, n_in, opts, name, NNC_OP_DROPOUT, at);
}

nnc_node nnc_dropout(nnc_model *m, nnc_node x, float rate, const char *name) {
    nnc_dropout_opts o = {rate};
    return dropout_build(m, &x, 1, &o, name);
}

static void dropout_defaults(void *o) { ((nnc_dropout_opts *)o)->rate = 0.0f; }

static const nnc_opt_desc dropout_opts[] = {
    {NNC_OPT_ROW("rate", NNC_OPT_FLOAT, nnc_dropout_opts, rate, 0), .lo = 0, .hi = 0.999999,
     .flags = NNC_OPTF_REQUIRED, .example = "dropout 0.5", .help = "the fraction of values dropped in training"},
    {.key = "seed", .type = NNC_OPT_FIXED, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
};

const nnc_layer_desc nnc_dropout_desc = {
    "Dropout", "dropout", "dropout", "inverted dropout in training, identity in inference",
    sizeof(nnc_dropout_opts), NNC_NO_NAME_FIELD, dropout_defaults, dropout_opts,
    NNC_OPT_COUNT_OF(dropout_opts), 1, 1, NNC_LAYERF_MASK_PASS, dropout_build};

nnc_batch_norm_opts nnc_batch_norm_opts_default(void) {
    nnc_batch_norm_opts o = {0.99f, 1e-3f, true, true, NULL, false};
    return o;
}

static nnc_node batch_norm_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                                 const char *name) {
    const nnc_batch_norm_opts *o = opts;
    if (!m || m->sticky) return NNC_NONE;
    if (!(o->momentum >= 0.0f && o->momentum <= 1.0f) || !(o->epsilon > 0.0f)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "BatchNormalization: momentum must be in [0, 1] and "
                             "epsilon positive");
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, &nnc_batch_normalization_desc, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    int c = m->nodes[x].shape.dim[m->nodes[x].shape.rank - 1];
    nnc_shape vs = {1, {c}};
    int ins[5] = {x}, n = 1;
    if (o->scale && (ins[n++] = nnc_layer_param(m, l, "gamma", &vs, nnc_initializer_default(NNC_INIT_ONES), c, c, 1)) < 0)
        return NNC_NONE;
    if (o->center && (ins[n++] = nnc_layer_param(m, l, "beta", &vs, nnc_initializer_default(NNC_INIT_ZEROS), c, c, 1)) < 0)
        return NNC_NONE;
    if ((ins[n++] = nnc_layer_param(m, l, "moving_mean", &vs, nnc_initializer_default(NNC_INIT_ZEROS), c, c, 0)) < 0 ||
        (ins[n++] = nnc_layer_param(m, l, "moving_variance", &vs, nnc_initializer_default(NNC_INIT_ONES), c, c, 0)) < 0)
        return NNC_NONE;
    nnc_op_attr at = {0};
    at.momentum = o->momentum;
    at.eps = o->epsilon;
    at.center = o->center;
    at.scale_on = o->scale;
    at.synced = o->synchronized;
    int y = nnc_graph_op(m, NNC_OP_BATCH_NORM, ins, n, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_batch_normalization(nnc_model *m, nnc_node x, const nnc_batch_norm_opts *o) {
    return batch_norm_build(m, &x, 1, o, o->name);
}

static void batch_norm_defaults(void *o) { *(nnc_batch_norm_opts *)o = nnc_batch_norm_opts_default(); }

static const nnc_opt_desc batch_norm_opts[] = {
    {.key = "axis", .type = NNC_OPT_CONST, .literal = "-1", .help = "-1 only: the channels"},
    {NNC_OPT_ROW("momentum", NNC_OPT_FLOAT, nnc_batch_norm_opts, momentum, -1), .lo = 0, .hi = 1,
     .help = "of the moving statistics"},
    {NNC_OPT_ROW("epsilon", NNC_OPT_FLOAT, nnc_batch_norm_opts, epsilon, -1), .lo = 1e-30, .hi = 1},
    {NNC_OPT_ROW("center", NNC_OPT_BOOL, nnc_batch_norm_opts, center, -1), .help = "learn an offset beta"},
    {NNC_OPT_ROW("scale", NNC_OPT_BOOL, nnc_batch_norm_opts, scale, -1), .help = "learn a factor gamma"},
    {NNC_OPT_ROW("synchronized", NNC_OPT_BOOL, nnc_batch_norm_opts, synchronized, -1),
     .help = "under mpirun: statistics of the global batch, summed over the ranks"},
};

const nnc_layer_desc nnc_batch_normalization_desc = {
    "BatchNormalization", "batch_normalization", "batch_normalization",
    "batch statistics in fit, moving statistics in evaluate and predict",
    sizeof(nnc_batch_norm_opts), offsetof(nnc_batch_norm_opts, name), batch_norm_defaults,
    batch_norm_opts, NNC_OPT_COUNT_OF(batch_norm_opts), 1, 1, NNC_LAYERF_MASK_PASS,
    batch_norm_build};
