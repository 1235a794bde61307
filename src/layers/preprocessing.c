/* Keras's preprocessing and activation layers that carry settings: Rescaling, Normalization
 * (with adapt) and LeakyReLU. Normalization's statistics are non-trainable variables, so they
 * are saved with the model and never touched by the optimizer. */
#include <math.h>
#include <string.h>
#include "layers.h"

nnc_node nnc_rescaling(nnc_model *m, nnc_node x, float scale, float offset, const char *name) {
    if (m && !m->sticky && !(isfinite(scale) && isfinite(offset))) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Rescaling: scale and offset must be finite");
        return NNC_NONE;
    }
    int l = nnc_layer_one_input(m, NNC_LAYER_RESCALING, &x, name);
    if (l < 0) return NNC_NONE;
    m->layers[l].cfg.rescaling.scale = scale;
    m->layers[l].cfg.rescaling.offset = offset;
    int y = nnc_graph_op(m, NNC_OP_AFFINE, &x, 1, (nnc_op_attr){.scale = scale, .offset = offset});
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_normalization(nnc_model *m, nnc_node x, const char *name) {
    int l = nnc_layer_one_input(m, NNC_LAYER_NORMALIZATION, &x, name);
    if (l < 0) return NNC_NONE;
    int c = m->nodes[x].shape.dim[m->nodes[x].shape.rank - 1];
    nnc_shape vs = {1, {c}}, scalar = {0, {0}};
    int mean = nnc_layer_param(m, l, "mean", &vs, nnc_initializer_default(NNC_INIT_ZEROS), c, c, 0);
    int var = nnc_layer_param(m, l, "variance", &vs, nnc_initializer_default(NNC_INIT_ONES), c, c, 0);
    int count = nnc_layer_param(m, l, "count", &scalar, nnc_initializer_default(NNC_INIT_ZEROS), 1, 1, 0);
    if (mean < 0 || var < 0 || count < 0) return NNC_NONE;
    int in[3] = {x, mean, var};
    int y = nnc_graph_op(m, NNC_OP_NORMALIZE, in, 3, (nnc_op_attr){0});
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_leaky_relu(nnc_model *m, nnc_node x, float negative_slope, const char *name) {
    if (m && !m->sticky && !isfinite(negative_slope)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "LeakyReLU: negative_slope must be finite");
        return NNC_NONE;
    }
    int l = nnc_layer_one_input(m, NNC_LAYER_LEAKY_RELU, &x, name);
    if (l < 0) return NNC_NONE;
    m->layers[l].cfg.negative_slope = negative_slope;
    int y = nnc_graph_op(m, NNC_OP_ACT, &x, 1,
                         (nnc_op_attr){.act = NNC_ACT_LEAKY_RELU, .alpha = negative_slope});
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

