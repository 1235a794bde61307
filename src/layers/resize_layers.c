/* Keras's layers that change an example's length or size without weights: UpSampling1D,
 * UpSampling2D (nearest, or bilinear as Keras 3's ops.image.resize), ZeroPadding1D,
 * Cropping1D and Cropping2D, channels last. ZeroPadding2D is in conv_layers.c. */
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_up_sampling1d_desc, nnc_up_sampling2d_desc, nnc_zero_padding1d_desc,
    nnc_cropping1d_desc, nnc_cropping2d_desc;

/* A layer of one op on an input of the given rank (2: (length, channels), 3: (height, width,
 * channels)); its output or NNC_NONE with the error set. */
static nnc_node one_op(nnc_model *m, const nnc_layer_desc *d, const nnc_node *in, int n_in, const void *opts,
                       const char *name, int rank, nnc_op op, nnc_op_attr at) {
    int x;
    int l = nnc_layer_start(m, d, in, n_in, opts, name, &x);
    if (l < 0) return NNC_NONE;
    if (m->nodes[x].shape.rank != rank) {
        char s[64];
        nnc_shape_str(&m->nodes[x].shape, 1, s, sizeof s);
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "layer '%s': %s needs inputs of shape %s, got %s", m->layers[l].name,
                             d->keras_class, rank == 3 ? "(None, height, width, channels)" : "(None, length, channels)", s);
        return NNC_NONE;
    }
    int y = nnc_graph_op(m, op, &x, 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

static int bad_arg(nnc_model *m, const nnc_layer_desc *d, const char *name, const char *what) {
    if (m && !m->sticky) m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': %s", d->keras_class, name ? name : d->stem, what);
    return 1;
}

/* ---- UpSampling1D, UpSampling2D ------------------------------------------------------------ */

static nnc_node up1d_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_up_sampling1d_opts *o = opts;
    if (!m || m->sticky) return NNC_NONE;
    if (o->size < 1 && bad_arg(m, &nnc_up_sampling1d_desc, name, "size must be positive")) return NNC_NONE;
    nnc_op_attr at = {0};
    at.win.kh = 1, at.win.kw = o->size;
    return one_op(m, &nnc_up_sampling1d_desc, in, n_in, opts, name, 2, NNC_OP_UPSAMPLE, at);
}

static nnc_node up2d_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_up_sampling2d_opts *o = opts;
    if (!m || m->sticky) return NNC_NONE;
    if ((o->size[0] < 1 || o->size[1] < 1 || o->interpolation < 0 || o->interpolation > 1) &&
        bad_arg(m, &nnc_up_sampling2d_desc, name, "size must be positive, interpolation nearest or bilinear"))
        return NNC_NONE;
    nnc_op_attr at = {0};
    at.win.kh = o->size[0], at.win.kw = o->size[1];
    at.bilinear = o->interpolation == 1;
    return one_op(m, &nnc_up_sampling2d_desc, in, n_in, opts, name, 3, NNC_OP_UPSAMPLE, at);
}

nnc_node nnc_up_sampling1d(nnc_model *m, nnc_node x, int size, const char *name) {
    nnc_up_sampling1d_opts o = {size};
    return up1d_build(m, &x, 1, &o, name);
}

nnc_node nnc_up_sampling2d(nnc_model *m, nnc_node x, int size_h, int size_w, bool bilinear, const char *name) {
    nnc_up_sampling2d_opts o = {{size_h, size_w}, bilinear ? 1 : 0};
    return up2d_build(m, &x, 1, &o, name);
}

static void up1d_defaults(void *o) { ((nnc_up_sampling1d_opts *)o)->size = 2; }
static void up2d_defaults(void *o) {
    nnc_up_sampling2d_opts d = {{2, 2}, 0};
    *(nnc_up_sampling2d_opts *)o = d;
}

static const nnc_opt_desc up1d_opts[] = {
    {NNC_OPT_ROW("size", NNC_OPT_INT, nnc_up_sampling1d_opts, size, 0), .lo = 1, .hi = 1 << 16,
     .help = "times each step is repeated"},
};

static const nnc_opt_desc up2d_opts[] = {
    {NNC_OPT_ROW("size", NNC_OPT_INTS, nnc_up_sampling2d_opts, size, 0), .count = 2, .lo = 1, .hi = 1 << 16,
     .help = "the factors for rows and columns"},
    {.key = "data_format", .type = NNC_OPT_CONST, .literal = "\"channels_last\"",
     .help = "channels_last only: examples are (height, width, channels)"},
    {NNC_OPT_ROW("interpolation", NNC_OPT_CHOICE, nnc_up_sampling2d_opts, interpolation, -1),
     .literal = "nearest|bilinear", .help = "nearest (repeat) or bilinear (half-pixel centers, as Keras 3)"},
};

const nnc_layer_desc nnc_up_sampling1d_desc = {
    "UpSampling1D", "up_sampling1d", "up_sampling1d", "each step of (length, channels) repeated size times",
    sizeof(nnc_up_sampling1d_opts), NNC_NO_NAME_FIELD, up1d_defaults, up1d_opts, NNC_OPT_COUNT_OF(up1d_opts), 1, 1,
    0, up1d_build};
const nnc_layer_desc nnc_up_sampling2d_desc = {
    "UpSampling2D", "up_sampling2d", "up_sampling2d", "each image enlarged size times, nearest or bilinear",
    sizeof(nnc_up_sampling2d_opts), NNC_NO_NAME_FIELD, up2d_defaults, up2d_opts, NNC_OPT_COUNT_OF(up2d_opts), 1, 1,
    0, up2d_build};

/* ---- ZeroPadding1D, Cropping1D, Cropping2D ------------------------------------------------- */

static nnc_node pad1d_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const int *p = ((const nnc_pad1d_opts *)opts)->padding;
    if (!m || m->sticky) return NNC_NONE;
    if ((p[0] < 0 || p[1] < 0) && bad_arg(m, &nnc_zero_padding1d_desc, name, "padding must be >= 0")) return NNC_NONE;
    nnc_op_attr at = {0};
    at.win.pl = p[0], at.win.pr = p[1];
    return one_op(m, &nnc_zero_padding1d_desc, in, n_in, opts, name, 2, NNC_OP_ZERO_PAD, at);
}

static nnc_node crop1d_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const int *p = ((const nnc_pad1d_opts *)opts)->padding;
    if (!m || m->sticky) return NNC_NONE;
    if ((p[0] < 0 || p[1] < 0) && bad_arg(m, &nnc_cropping1d_desc, name, "cropping must be >= 0")) return NNC_NONE;
    nnc_op_attr at = {0};
    at.win.pl = p[0], at.win.pr = p[1];
    return one_op(m, &nnc_cropping1d_desc, in, n_in, opts, name, 2, NNC_OP_CROP, at);
}

static nnc_node crop2d_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const int *p = ((const nnc_zero_padding_opts *)opts)->padding;
    if (!m || m->sticky) return NNC_NONE;
    if ((p[0] < 0 || p[1] < 0 || p[2] < 0 || p[3] < 0) && bad_arg(m, &nnc_cropping2d_desc, name, "cropping must be >= 0"))
        return NNC_NONE;
    nnc_op_attr at = {0};
    at.win.pt = p[0], at.win.pb = p[1], at.win.pl = p[2], at.win.pr = p[3];
    return one_op(m, &nnc_cropping2d_desc, in, n_in, opts, name, 3, NNC_OP_CROP, at);
}

nnc_node nnc_zero_padding1d(nnc_model *m, nnc_node x, int left, int right, const char *name) {
    nnc_pad1d_opts o = {{left, right}};
    return pad1d_build(m, &x, 1, &o, name);
}

nnc_node nnc_cropping1d(nnc_model *m, nnc_node x, int left, int right, const char *name) {
    nnc_pad1d_opts o = {{left, right}};
    return crop1d_build(m, &x, 1, &o, name);
}

nnc_node nnc_cropping2d(nnc_model *m, nnc_node x, int top, int bottom, int left, int right, const char *name) {
    nnc_zero_padding_opts o = {{top, bottom, left, right}};
    return crop2d_build(m, &x, 1, &o, name);
}

static void one_each_side(void *o) { ((nnc_pad1d_opts *)o)->padding[0] = ((nnc_pad1d_opts *)o)->padding[1] = 1; }
static void no_cropping(void *o) { memset(o, 0, sizeof(nnc_zero_padding_opts)); }

static const nnc_opt_desc pad1d_opts[] = {
    {NNC_OPT_ROW("padding", NNC_OPT_INTS, nnc_pad1d_opts, padding, 0), .count = 2, .lo = 0, .hi = 1 << 16,
     .help = "zeros before and after: one value for both, or two"},
    {.key = "data_format", .type = NNC_OPT_CONST, .literal = "\"channels_last\"", .flags = NNC_OPTF_UNWRITTEN,
     .help = "channels_last only (a key of newer Keras versions, not written)"},
};

static const nnc_opt_desc crop1d_opts[] = {
    {NNC_OPT_ROW("cropping", NNC_OPT_INTS, nnc_pad1d_opts, padding, 0), .count = 2, .lo = 0, .hi = 1 << 16,
     .help = "steps cut at the start and the end: one value for both, or two"},
};

static const nnc_opt_desc crop2d_opts[] = {
    {NNC_OPT_ROW("cropping", NNC_OPT_PAD2D, nnc_zero_padding_opts, padding, 0), .lo = 0, .hi = 1 << 16,
     .flags = NNC_OPTF_REST, .help = "1, 2 (rows, columns) or 4 (top, bottom, left, right) values"},
    {.key = "data_format", .type = NNC_OPT_CONST, .literal = "\"channels_last\"",
     .help = "channels_last only: examples are (height, width, channels)"},
};

const nnc_layer_desc nnc_zero_padding1d_desc = {
    "ZeroPadding1D", "zero_padding1d", "zero_padding1d", "zeros before and after each sequence",
    sizeof(nnc_pad1d_opts), NNC_NO_NAME_FIELD, one_each_side, pad1d_opts, NNC_OPT_COUNT_OF(pad1d_opts), 1, 1, 0,
    pad1d_build};
const nnc_layer_desc nnc_cropping1d_desc = {
    "Cropping1D", "cropping1d", "cropping1d", "steps cut from the start and end of each sequence",
    sizeof(nnc_pad1d_opts), NNC_NO_NAME_FIELD, one_each_side, crop1d_opts, NNC_OPT_COUNT_OF(crop1d_opts), 1, 1, 0,
    crop1d_build};
const nnc_layer_desc nnc_cropping2d_desc = {
    "Cropping2D", "cropping2d", "cropping2d", "rows and columns cut from the edges of each image",
    sizeof(nnc_zero_padding_opts), NNC_NO_NAME_FIELD, no_cropping, crop2d_opts, NNC_OPT_COUNT_OF(crop2d_opts), 1, 1,
    0, crop2d_build};
