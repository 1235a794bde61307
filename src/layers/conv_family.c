/* Keras's DepthwiseConv2D, SeparableConv2D and Conv2DTranspose, channels last, with Keras 3's
 * variables: names, shapes and order (DepthwiseConv2D `kernel` [kh, kw, C, dm] and `bias`;
 * SeparableConv2D `depthwise_kernel` [kh, kw, C, dm], `pointwise_kernel` [1, 1, C·dm, filters]
 * and `bias`; Conv2DTranspose `kernel` [kh, kw, filters, C] and `bias`). Initializers get the
 * fans Keras computes from each variable's shape: the receptive field times its last two axes.
 * A depthwise convolution is the CONV op with one group per channel; a transposed one the
 * CONV_TRANSPOSE op (src/ops/conv_transpose.c). */
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_depthwise_conv2d_desc, nnc_separable_conv2d_desc, nnc_conv2d_transpose_desc;

#define CHANNELS_LAST {.key = "data_format", .type = NNC_OPT_CONST, .literal = "\"channels_last\"", \
                       .help = "channels_last only: examples are (height, width, channels)"}

/* The window checks every convolution shares, as Keras makes them; 0 or -1 with the error set. */
static int check_window(nnc_model *m, const nnc_layer_desc *d, const char *name, const int *k, const int *s,
                        const int *dil) {
    const char *who = name ? name : d->stem;
    for (int i = 0; i < 2; i++)
        if (k[i] <= 0 || s[i] <= 0 || dil[i] <= 0) {
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': kernel_size, strides and dilation_rate must be positive",
                                 d->keras_class, who);
            return -1;
        }
    if ((s[0] > 1 || s[1] > 1) && (dil[0] > 1 || dil[1] > 1)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': strides > 1 and dilation_rate > 1 cannot be combined (as in "
                             "Keras)", d->keras_class, who);
        return -1;
    }
    return 0;
}

/* The layer's input, which must be (None, height, width, channels): its node, or -1. */
static int image_input(nnc_model *m, int l, int x, const nnc_layer_desc *d) {
    if (m->nodes[x].shape.rank == 3) return x;
    char s[64];
    nnc_shape_str(&m->nodes[x].shape, 1, s, sizeof s);
    m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "layer '%s': %s needs inputs of shape (None, height, width, channels), "
                         "got %s", m->layers[l].name, d->keras_class, s);
    return -1;
}

/* The depthwise convolution of x by kernel node k ([kh, kw, C, dm]): a CONV of C groups. */
static int depthwise_op(nnc_model *m, int x, int k, const int *ks, const int *st, const int *dil, int same) {
    const nnc_shape *xs = &m->nodes[x].shape;
    nnc_op_attr at = {0};
    at.win.kh = ks[0], at.win.kw = ks[1], at.win.sh = st[0], at.win.sw = st[1], at.win.dh = dil[0], at.win.dw = dil[1];
    at.win.groups = xs->dim[2];
    at.win.depthwise = 1;
    nnc_same_padding(xs->dim[0], (ks[0] - 1) * dil[0] + 1, st[0], same, &at.win.pt, &at.win.pb);
    nnc_same_padding(xs->dim[1], (ks[1] - 1) * dil[1] + 1, st[1], same, &at.win.pl, &at.win.pr);
    int ops[2] = {x, k};
    return nnc_graph_op(m, NNC_OP_CONV, ops, 2, at);
}

/* y + bias (node b, or none when b < 0), then the activation; the layer's output or -1. */
static int bias_and_activation(nnc_model *m, int y, int b, nnc_activation a) {
    if (y >= 0 && b >= 0) {
        int bo[2] = {y, b};
        y = nnc_graph_op(m, NNC_OP_BIAS_ADD, bo, 2, (nnc_op_attr){0});
    }
    return y < 0 ? -1 : nnc_apply_activation(m, y, a);
}

/* Kernels whose fans or sizes would not fit an int never fit an input either. */
static int too_large(nnc_model *m, int l, long long a, long long b, long long c, long long d) {
    if (a * b * c * d <= (1LL << 30) && a * b * c <= (1LL << 30) && a * b * d <= (1LL << 30)) return 0;
    m->sticky = nnc_fail(m, NNC_ERR_ARG, "layer '%s': a %lldx%lld kernel of %lld x %lld is too large",
                         m->layers[l].name, a, b, c, d);
    return 1;
}

/* ---- DepthwiseConv2D ---------------------------------------------------------------------- */

nnc_depthwise_conv_opts nnc_depthwise_conv_opts_default(int kernel_size) {
    nnc_depthwise_conv_opts o;
    memset(&o, 0, sizeof o);
    o.kernel_size[0] = o.kernel_size[1] = kernel_size;
    o.strides[0] = o.strides[1] = 1;
    o.depth_multiplier = 1;
    o.dilation_rate[0] = o.dilation_rate[1] = 1;
    o.activation = NNC_ACT_LINEAR;
    o.use_bias = true;
    o.depthwise_initializer = nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM);
    o.bias_initializer = nnc_initializer_default(NNC_INIT_ZEROS);
    return o;
}

static nnc_node depthwise_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_depthwise_conv_opts *o = opts;
    const nnc_layer_desc *d = &nnc_depthwise_conv2d_desc;
    if (!m || m->sticky) return NNC_NONE;
    if (check_window(m, d, name, o->kernel_size, o->strides, o->dilation_rate)) return NNC_NONE;
    if (o->depth_multiplier <= 0 || (unsigned)o->activation >= NNC_ACT_COUNT) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': depth_multiplier must be positive", d->keras_class,
                             name ? name : d->stem);
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, d, in, n_in, o, name, &x);
    if (l < 0 || (x = image_input(m, l, x, d)) < 0) return NNC_NONE;
    const int kh = o->kernel_size[0], kw = o->kernel_size[1], c = m->nodes[x].shape.dim[2], dm = o->depth_multiplier;
    if (too_large(m, l, kh, kw, c, dm)) return NNC_NONE;
    nnc_shape ks = {4, {kh, kw, c, dm}}, bs = {1, {c * dm}};
    int k = nnc_layer_param(m, l, "kernel", &ks, o->depthwise_initializer, kh * kw * c, kh * kw * dm, 1);
    int b = k >= 0 && o->use_bias ? nnc_layer_param(m, l, "bias", &bs, o->bias_initializer, kh * kw * c, kh * kw * dm, 1) : -1;
    if (k < 0 || (o->use_bias && b < 0)) return NNC_NONE;
    int y = depthwise_op(m, x, k, o->kernel_size, o->strides, o->dilation_rate, o->padding_same);
    if ((y = bias_and_activation(m, y, b, o->activation)) < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_depthwise_conv2d(nnc_model *m, nnc_node x, const nnc_depthwise_conv_opts *o) {
    return depthwise_build(m, &x, 1, o, o->name);
}

static void depthwise_defaults(void *o) { *(nnc_depthwise_conv_opts *)o = nnc_depthwise_conv_opts_default(1); }

#define WINDOW_ROWS(st, kpos, ex)                                                                               \
    {NNC_OPT_ROW("kernel_size", NNC_OPT_INTS, st, kernel_size, kpos), .count = 2, .lo = 1, .hi = 1 << 24,      \
     .flags = NNC_OPTF_REQUIRED, .example = ex, .help = "the window: one value for both axes, or two"},         \
    {NNC_OPT_ROW("strides", NNC_OPT_INTS, st, strides, -1), .count = 2, .lo = 1, .hi = 1 << 24},              \
    {NNC_OPT_ROW("padding", NNC_OPT_PADDING, st, padding_same, -1), .help = "valid or same"}

static const nnc_opt_desc depthwise_opts[] = {
    {NNC_OPT_ROW("depth_multiplier", NNC_OPT_INT, nnc_depthwise_conv_opts, depth_multiplier, -1), .lo = 1,
     .hi = 1 << 24, .help = "outputs per input channel"},
    WINDOW_ROWS(nnc_depthwise_conv_opts, 0, "depthwise_conv2d 3"),
    CHANNELS_LAST,
    {NNC_OPT_ROW("dilation_rate", NNC_OPT_INTS, nnc_depthwise_conv_opts, dilation_rate, -1), .count = 2, .lo = 1,
     .hi = 1 << 24},
    {NNC_OPT_ROW("activation", NNC_OPT_ACTIVATION, nnc_depthwise_conv_opts, activation, -1)},
    {NNC_OPT_ROW("use_bias", NNC_OPT_BOOL, nnc_depthwise_conv_opts, use_bias, -1)},
    {NNC_OPT_ROW("depthwise_initializer", NNC_OPT_INITIALIZER, nnc_depthwise_conv_opts, depthwise_initializer, -1)},
    {NNC_OPT_ROW("bias_initializer", NNC_OPT_INITIALIZER, nnc_depthwise_conv_opts, bias_initializer, -1)},
    {NNC_OPT_ROW("depthwise_regularizer", NNC_OPT_REGULARIZER, nnc_depthwise_conv_opts, depthwise_regularizer, -1)},
    {NNC_OPT_ROW("bias_regularizer", NNC_OPT_REGULARIZER, nnc_depthwise_conv_opts, bias_regularizer, -1)},
    {NNC_OPT_ROW("activity_regularizer", NNC_OPT_REGULARIZER, nnc_depthwise_conv_opts, activity_regularizer, -1)},
};

const nnc_layer_desc nnc_depthwise_conv2d_desc = {
    "DepthwiseConv2D", "depthwise_conv2d", "depthwise_conv2d",
    "each channel convolved alone with depth_multiplier filters", sizeof(nnc_depthwise_conv_opts),
    offsetof(nnc_depthwise_conv_opts, name), depthwise_defaults, depthwise_opts, NNC_OPT_COUNT_OF(depthwise_opts),
    1, 1, 0, depthwise_build};

/* ---- SeparableConv2D ---------------------------------------------------------------------- */

nnc_separable_conv_opts nnc_separable_conv_opts_default(int filters, int kernel_size) {
    nnc_separable_conv_opts o;
    memset(&o, 0, sizeof o);
    o.filters = filters;
    o.kernel_size[0] = o.kernel_size[1] = kernel_size;
    o.strides[0] = o.strides[1] = 1;
    o.dilation_rate[0] = o.dilation_rate[1] = 1;
    o.depth_multiplier = 1;
    o.activation = NNC_ACT_LINEAR;
    o.use_bias = true;
    o.depthwise_initializer = o.pointwise_initializer = nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM);
    o.bias_initializer = nnc_initializer_default(NNC_INIT_ZEROS);
    return o;
}

/* The depthwise convolution (strides, padding, dilation), then a 1x1 convolution of stride 1 to
 * the filters, which the CONV op runs as one product on its input (no im2col). */
static nnc_node separable_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_separable_conv_opts *o = opts;
    const nnc_layer_desc *d = &nnc_separable_conv2d_desc;
    if (!m || m->sticky) return NNC_NONE;
    if (check_window(m, d, name, o->kernel_size, o->strides, o->dilation_rate)) return NNC_NONE;
    if (o->filters <= 0 || o->depth_multiplier <= 0 || (unsigned)o->activation >= NNC_ACT_COUNT) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': filters and depth_multiplier must be positive", d->keras_class,
                             name ? name : d->stem);
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, d, in, n_in, o, name, &x);
    if (l < 0 || (x = image_input(m, l, x, d)) < 0) return NNC_NONE;
    const int kh = o->kernel_size[0], kw = o->kernel_size[1], c = m->nodes[x].shape.dim[2];
    const int dm = o->depth_multiplier, f = o->filters;
    if (too_large(m, l, kh, kw, c, dm) || too_large(m, l, 1, 1, (long long)c * dm, f)) return NNC_NONE;
    nnc_shape dks = {4, {kh, kw, c, dm}}, pks = {4, {1, 1, c * dm, f}}, bs = {1, {f}};
    int dk = nnc_layer_param(m, l, "depthwise_kernel", &dks, o->depthwise_initializer, kh * kw * c, kh * kw * dm, 1);
    int pk = dk < 0 ? -1 : nnc_layer_param(m, l, "pointwise_kernel", &pks, o->pointwise_initializer, c * dm, f, 1);
    int b = pk >= 0 && o->use_bias ? nnc_layer_param(m, l, "bias", &bs, o->bias_initializer, c * dm, f, 1) : -1;
    if (pk < 0 || (o->use_bias && b < 0)) return NNC_NONE;
    int y = depthwise_op(m, x, dk, o->kernel_size, o->strides, o->dilation_rate, o->padding_same);
    if (y >= 0) {
        nnc_op_attr at = {0};
        at.win.kh = at.win.kw = at.win.sh = at.win.sw = at.win.dh = at.win.dw = 1;
        int ops[2] = {y, pk};
        y = nnc_graph_op(m, NNC_OP_CONV, ops, 2, at);
    }
    if ((y = bias_and_activation(m, y, b, o->activation)) < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_separable_conv2d(nnc_model *m, nnc_node x, const nnc_separable_conv_opts *o) {
    return separable_build(m, &x, 1, o, o->name);
}

static void separable_defaults(void *o) { *(nnc_separable_conv_opts *)o = nnc_separable_conv_opts_default(0, 1); }

static const nnc_opt_desc separable_opts[] = {
    {NNC_OPT_ROW("depth_multiplier", NNC_OPT_INT, nnc_separable_conv_opts, depth_multiplier, -1), .lo = 1,
     .hi = 1 << 24, .help = "depthwise outputs per input channel"},
    {NNC_OPT_ROW("filters", NNC_OPT_INT, nnc_separable_conv_opts, filters, 0), .lo = 1, .hi = 1 << 24,
     .flags = NNC_OPTF_REQUIRED, .example = "separable_conv2d 32 3", .help = "output channels"},
    WINDOW_ROWS(nnc_separable_conv_opts, 1, "separable_conv2d 32 3"),
    CHANNELS_LAST,
    {NNC_OPT_ROW("dilation_rate", NNC_OPT_INTS, nnc_separable_conv_opts, dilation_rate, -1), .count = 2, .lo = 1,
     .hi = 1 << 24},
    {NNC_OPT_ROW("activation", NNC_OPT_ACTIVATION, nnc_separable_conv_opts, activation, -1)},
    {NNC_OPT_ROW("use_bias", NNC_OPT_BOOL, nnc_separable_conv_opts, use_bias, -1)},
    {NNC_OPT_ROW("depthwise_initializer", NNC_OPT_INITIALIZER, nnc_separable_conv_opts, depthwise_initializer, -1)},
    {NNC_OPT_ROW("pointwise_initializer", NNC_OPT_INITIALIZER, nnc_separable_conv_opts, pointwise_initializer, -1)},
    {NNC_OPT_ROW("bias_initializer", NNC_OPT_INITIALIZER, nnc_separable_conv_opts, bias_initializer, -1)},
    {NNC_OPT_ROW("depthwise_regularizer", NNC_OPT_REGULARIZER, nnc_separable_conv_opts, depthwise_regularizer, -1)},
    {NNC_OPT_ROW("pointwise_regularizer", NNC_OPT_REGULARIZER, nnc_separable_conv_opts, pointwise_regularizer, -1)},
    {NNC_OPT_ROW("bias_regularizer", NNC_OPT_REGULARIZER, nnc_separable_conv_opts, bias_regularizer, -1)},
    {NNC_OPT_ROW("activity_regularizer", NNC_OPT_REGULARIZER, nnc_separable_conv_opts, activity_regularizer, -1)},
};

const nnc_layer_desc nnc_separable_conv2d_desc = {
    "SeparableConv2D", "separable_conv2d", "separable_conv2d",
    "a depthwise convolution, then a 1x1 convolution to the filters", sizeof(nnc_separable_conv_opts),
    offsetof(nnc_separable_conv_opts, name), separable_defaults, separable_opts, NNC_OPT_COUNT_OF(separable_opts),
    1, 1, 0, separable_build};

/* ---- Conv2DTranspose ---------------------------------------------------------------------- */

nnc_conv_transpose_opts nnc_conv_transpose_opts_default(int filters, int kernel_size) {
    nnc_conv_transpose_opts o;
    memset(&o, 0, sizeof o);
    o.filters = filters;
    o.kernel_size[0] = o.kernel_size[1] = kernel_size;
    o.strides[0] = o.strides[1] = 1;
    o.output_padding[0] = o.output_padding[1] = -1;
    o.dilation_rate[0] = o.dilation_rate[1] = 1;
    o.activation = NNC_ACT_LINEAR;
    o.use_bias = true;
    o.kernel_initializer = nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM);
    o.bias_initializer = nnc_initializer_default(NNC_INIT_ZEROS);
    return o;
}

/* One axis of n cells: Keras's output size (keras/src/backend/common/backend_utils.py,
 * _get_output_shape_given_tf_padding) and the padding before and after of the convolution
 * from it back to n, as TensorFlow pads that convolution. op < 0 is output_padding None. */
static int transpose_axis(int n, int k, int s, int op, int same, int *before, int *after) {
    long long out;
    if (!same) out = (long long)(n - 1) * s + k + (op < 0 ? (k > s ? k : s) - k : op);
    else out = op < 0 ? (long long)n * s : (long long)(n - 1) * s + k % 2 + op;
    long long total = same ? (long long)(n - 1) * s + k - out : 0;
    if (total < 0) total = 0;
    *before = (int)(total / 2);
    *after = (int)(total - total / 2);
    return out < 1 || out > (1 << 24) ? -1 : (int)out;
}

static nnc_node transpose_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_conv_transpose_opts *o = opts;
    const nnc_layer_desc *d = &nnc_conv2d_transpose_desc;
    if (!m || m->sticky) return NNC_NONE;
    const char *who = name ? name : d->stem;
    if (check_window(m, d, name, o->kernel_size, o->strides, o->dilation_rate)) return NNC_NONE;
    if (o->filters <= 0 || o->dilation_rate[0] != 1 || o->dilation_rate[1] != 1 ||
        (unsigned)o->activation >= NNC_ACT_COUNT) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': filters must be positive and dilation_rate 1", d->keras_class, who);
        return NNC_NONE;
    }
    const int none = o->output_padding[0] == -1 && o->output_padding[1] == -1;
    for (int i = 0; i < 2 && !none; i++)
        if (o->output_padding[i] < 0 || o->output_padding[i] >= o->strides[i]) {
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': output_padding (%d, %d) must be >= 0 and < strides (%d, %d)",
                                 d->keras_class, who, o->output_padding[0], o->output_padding[1], o->strides[0],
                                 o->strides[1]);
            return NNC_NONE;
        }
    int x;
    int l = nnc_layer_start(m, d, in, n_in, o, name, &x);
    if (l < 0 || (x = image_input(m, l, x, d)) < 0) return NNC_NONE;
    const int kh = o->kernel_size[0], kw = o->kernel_size[1], c = m->nodes[x].shape.dim[2], f = o->filters;
    if (too_large(m, l, kh, kw, f, c)) return NNC_NONE;
    nnc_op_attr at = {0};
    at.win.kh = kh, at.win.kw = kw, at.win.sh = o->strides[0], at.win.sw = o->strides[1], at.win.dh = at.win.dw = 1;
    at.target.rank = 2;
    at.target.dim[0] = transpose_axis(m->nodes[x].shape.dim[0], kh, o->strides[0], none ? -1 : o->output_padding[0],
                                      o->padding_same, &at.win.pt, &at.win.pb);
    at.target.dim[1] = transpose_axis(m->nodes[x].shape.dim[1], kw, o->strides[1], none ? -1 : o->output_padding[1],
                                      o->padding_same, &at.win.pl, &at.win.pr);
    if (at.target.dim[0] < 0 || at.target.dim[1] < 0) {
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "layer '%s': Conv2DTranspose would make an empty or too large output",
                             m->layers[l].name);
        return NNC_NONE;
    }
    /* Keras computes the fans from the kernel's shape [kh, kw, filters, C]: filters are its "in" */
    nnc_shape ks = {4, {kh, kw, f, c}}, bs = {1, {f}};
    int k = nnc_layer_param(m, l, "kernel", &ks, o->kernel_initializer, kh * kw * f, kh * kw * c, 1);
    int b = k >= 0 && o->use_bias ? nnc_layer_param(m, l, "bias", &bs, o->bias_initializer, kh * kw * f, kh * kw * c, 1) : -1;
    if (k < 0 || (o->use_bias && b < 0)) return NNC_NONE;
    int ops[2] = {x, k};
    int y = nnc_graph_op(m, NNC_OP_CONV_TRANSPOSE, ops, 2, at);
    if ((y = bias_and_activation(m, y, b, o->activation)) < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_conv2d_transpose(nnc_model *m, nnc_node x, const nnc_conv_transpose_opts *o) {
    return transpose_build(m, &x, 1, o, o->name);
}

static void transpose_defaults(void *o) { *(nnc_conv_transpose_opts *)o = nnc_conv_transpose_opts_default(0, 1); }

static const nnc_opt_desc transpose_opts[] = {
    {NNC_OPT_ROW("filters", NNC_OPT_INT, nnc_conv_transpose_opts, filters, 0), .lo = 1, .hi = 1 << 24,
     .flags = NNC_OPTF_REQUIRED, .example = "conv2d_transpose 16 3", .help = "output channels"},
    WINDOW_ROWS(nnc_conv_transpose_opts, 1, "conv2d_transpose 16 3"),
    {NNC_OPT_ROW("output_padding", NNC_OPT_INTS, nnc_conv_transpose_opts, output_padding, -1), .count = 2,
     .lo = -1, .hi = 1 << 24, .flags = NNC_OPTF_NONE_IS_NEG,
     .help = "extra cells after, each below its stride; None: Keras's default size"},
    CHANNELS_LAST,
    {NNC_OPT_ROW("dilation_rate", NNC_OPT_INTS, nnc_conv_transpose_opts, dilation_rate, -1), .count = 2, .lo = 1,
     .hi = 1, .help = "1 only"},
    {NNC_OPT_ROW("activation", NNC_OPT_ACTIVATION, nnc_conv_transpose_opts, activation, -1)},
    {NNC_OPT_ROW("use_bias", NNC_OPT_BOOL, nnc_conv_transpose_opts, use_bias, -1)},
    {NNC_OPT_ROW("kernel_initializer", NNC_OPT_INITIALIZER, nnc_conv_transpose_opts, kernel_initializer, -1)},
    {NNC_OPT_ROW("bias_initializer", NNC_OPT_INITIALIZER, nnc_conv_transpose_opts, bias_initializer, -1)},
    {NNC_OPT_ROW("kernel_regularizer", NNC_OPT_REGULARIZER, nnc_conv_transpose_opts, kernel_regularizer, -1)},
    {NNC_OPT_ROW("bias_regularizer", NNC_OPT_REGULARIZER, nnc_conv_transpose_opts, bias_regularizer, -1)},
    {NNC_OPT_ROW("activity_regularizer", NNC_OPT_REGULARIZER, nnc_conv_transpose_opts, activity_regularizer, -1)},
};

const nnc_layer_desc nnc_conv2d_transpose_desc = {
    "Conv2DTranspose", "conv2d_transpose", "conv2d_transpose",
    "the transpose of Conv2D: each input cell spreads a kernel over the larger output",
    sizeof(nnc_conv_transpose_opts), offsetof(nnc_conv_transpose_opts, name), transpose_defaults, transpose_opts,
    NNC_OPT_COUNT_OF(transpose_opts), 1, 1, 0, transpose_build};
