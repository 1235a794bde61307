/* Keras's preprocessing and activation layers that carry settings: Rescaling, Normalization
 * and LeakyReLU. Normalization's statistics are non-trainable variables, so they are saved with
 * the model and never touched by the optimizer; nnc_adapt (src/train/adapt.c) sets them. */
#include <math.h>
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_rescaling_desc, nnc_normalization_desc, nnc_leaky_relu_desc;

static nnc_node rescaling_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                                const char *name) {
    const nnc_rescaling_opts *o = opts;
    if (m && !m->sticky && !(isfinite(o->scale) && isfinite(o->offset))) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Rescaling: scale and offset must be finite");
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, &nnc_rescaling_desc, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    int y = nnc_graph_op(m, NNC_OP_AFFINE, &x, 1, (nnc_op_attr){.scale = o->scale, .offset = o->offset});
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_rescaling(nnc_model *m, nnc_node x, float scale, float offset, const char *name) {
    nnc_rescaling_opts o = {scale, offset};
    return rescaling_build(m, &x, 1, &o, name);
}

static void rescaling_defaults(void *o) { *(nnc_rescaling_opts *)o = (nnc_rescaling_opts){1.0f, 0.0f}; }

static const nnc_opt_desc rescaling_opts[] = {
    {NNC_OPT_ROW("scale", NNC_OPT_FLOAT, nnc_rescaling_opts, scale, 0), .lo = -1e30, .hi = 1e30,
     .flags = NNC_OPTF_REQUIRED, .example = "rescaling 0.00392157", .help = "x·scale + offset"},
    {NNC_OPT_ROW("offset", NNC_OPT_FLOAT, nnc_rescaling_opts, offset, 1), .lo = -1e30, .hi = 1e30},
};

const nnc_layer_desc nnc_rescaling_desc = {
    "Rescaling", "rescaling", "rescaling", "x·scale + offset (pixels 0..255 to 0..1: scale 1/255)",
    sizeof(nnc_rescaling_opts), NNC_NO_NAME_FIELD, rescaling_defaults, rescaling_opts,
    NNC_OPT_COUNT_OF(rescaling_opts), 1, 1, 0, rescaling_build};

static nnc_node normalization_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                                    const char *name) {
    int x;
    int l = nnc_layer_start(m, &nnc_normalization_desc, in, n_in, opts, name, &x);
    if (l < 0) return NNC_NONE;
    int c = m->nodes[x].shape.dim[m->nodes[x].shape.rank - 1];
    nnc_shape vs = {1, {c}}, scalar = {0, {0}};
    int mean = nnc_layer_param(m, l, "mean", &vs, nnc_initializer_default(NNC_INIT_ZEROS), c, c, 0);
    int var = nnc_layer_param(m, l, "variance", &vs, nnc_initializer_default(NNC_INIT_ONES), c, c, 0);
    int count = nnc_layer_param(m, l, "count", &scalar, nnc_initializer_default(NNC_INIT_ZEROS), 1, 1, 0);
    if (mean < 0 || var < 0 || count < 0) return NNC_NONE;
    int ins[3] = {x, mean, var};
    int y = nnc_graph_op(m, NNC_OP_NORMALIZE, ins, 3, (nnc_op_attr){0});
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_normalization(nnc_model *m, nnc_node x, const char *name) {
    nnc_axis_opts o = {-1};
    return normalization_build(m, &x, 1, &o, name);
}

static void last_axis(void *o) { ((nnc_axis_opts *)o)->axis = -1; }

static const nnc_opt_desc normalization_opts[] = {
    {.key = "axis", .type = NNC_OPT_CONST, .literal = "-1", .help = "-1 only: each feature"},
    /* statistics given in the constructor instead of adapted: not supported */
    {.key = "mean", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
    {.key = "variance", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
    {.key = "invert", .type = NNC_OPT_CONST, .literal = "false", .flags = NNC_OPTF_CONFIG_ONLY},
};

const nnc_layer_desc nnc_normalization_desc = {
    "Normalization", "normalization", "normalization",
    "(x − mean) / sqrt(variance) per feature, the statistics adapted on the training rows",
    sizeof(nnc_axis_opts), NNC_NO_NAME_FIELD, last_axis, normalization_opts,
    NNC_OPT_COUNT_OF(normalization_opts), 1, 1, NNC_LAYERF_STATE_FROM_DATA, normalization_build};

static nnc_node leaky_relu_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                                 const char *name) {
    float slope = ((const nnc_leaky_relu_opts *)opts)->negative_slope;
    if (m && !m->sticky && !isfinite(slope)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "LeakyReLU: negative_slope must be finite");
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, &nnc_leaky_relu_desc, in, n_in, opts, name, &x);
    if (l < 0) return NNC_NONE;
    int y = nnc_graph_op(m, NNC_OP_ACT, &x, 1, (nnc_op_attr){.act = NNC_ACT_LEAKY_RELU, .alpha = slope});
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_leaky_relu(nnc_model *m, nnc_node x, float negative_slope, const char *name) {
    nnc_leaky_relu_opts o = {negative_slope};
    return leaky_relu_build(m, &x, 1, &o, name);
}

static void leaky_relu_defaults(void *o) { ((nnc_leaky_relu_opts *)o)->negative_slope = 0.3f; }

static const nnc_opt_desc leaky_relu_opts[] = {
    {NNC_OPT_ROW("negative_slope", NNC_OPT_FLOAT, nnc_leaky_relu_opts, negative_slope, 0), .lo = -1e6,
     .hi = 1e6, .alias = "alpha", .help = "the slope below 0"},
};

const nnc_layer_desc nnc_leaky_relu_desc = {
    "LeakyReLU", "leaky_relu", "leaky_re_lu", "x above 0, negative_slope·x below",
    sizeof(nnc_leaky_relu_opts), NNC_NO_NAME_FIELD, leaky_relu_defaults, leaky_relu_opts,
    NNC_OPT_COUNT_OF(leaky_relu_opts), 1, 1, NNC_LAYERF_MASK_PASS, leaky_relu_build};
