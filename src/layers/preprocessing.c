/* Keras's preprocessing and activation layers that carry settings: Rescaling, Normalization
 * (with adapt) and LeakyReLU. Normalization's statistics are non-trainable variables, so they
 * are saved with the model and never touched by the optimizer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "../core/layers_impl.h"
#include "../train/train_impl.h"

int nnc_layer_one_input(nnc_model *m, nnc_layer_kind kind, nnc_node *x, const char *name) {
    if (!m || m->sticky) return -1;
    if ((*x = nnc_graph_resolve(m, *x, name ? name : nnc_layer_stem(kind))) < 0) return -1;
    int l = nnc_layer_begin(m, kind, name);
    if (l < 0) return -1;
    m->layers[l].inputs[0] = *x;
    m->layers[l].n_inputs = 1;
    return l;
}

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

/* Adapts one Normalization layer: runs the model forward (inference) over x in batches and
 * accumulates its input's per-feature sums in double. */
static nnc_status adapt_layer(nnc_model *m, const nnc_layer_rec *l, const float *x, size_t n) {
    const nnc_node_rec *in = &m->nodes[l->inputs[0]];
    size_t c = (size_t)in->shape.dim[in->shape.rank - 1];
    double *sum = calloc(2 * c, sizeof(double)), *sq = sum + c, rows = 0.0;
    if (!sum) return nnc_fail(m, NNC_ERR_NOMEM, "adapt: out of memory");
    const int bs = m->planned_batch;
    for (size_t first = 0; first < n; first += (size_t)bs) {
        int b = (int)(n - first < (size_t)bs ? n - first : (size_t)bs);
        nnc_gather_inputs(m, x, NULL, first, b);
        nnc_forward(m, b, 0);
        size_t r = nnc_node_numel(m, l->inputs[0], b) / c;
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < c; j++) {
                double v = (double)in->value[i * c + j];
                sum[j] += v;
                sq[j] += v * v;
            }
        rows += (double)r;
    }
    float *mean = m->param_arena + m->params[l->first_param].offset;
    float *var = m->param_arena + m->params[l->first_param + 1].offset;
    float *count = m->param_arena + m->params[l->first_param + 2].offset;
    for (size_t j = 0; j < c; j++) {
        double mu = sum[j] / rows, v = sq[j] / rows - mu * mu;
        mean[j] = (float)mu;
        var[j] = (float)(v > 0.0 ? v : 0.0);
    }
    *count = (float)rows;
    free(sum);
    return NNC_OK;
}

nnc_status nnc_adapt(nnc_model *m, const float *x, size_t n) {
    if (!m) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "adapt: the model must be compiled first");
    if (!x || n == 0) return nnc_fail(m, NNC_ERR_ARG, "adapt: no data");
    nnc_status st = nnc_check_data(m, x, NULL, n);
    if (st || (st = nnc_plan(m, 256))) return st;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == NNC_LAYER_NORMALIZATION &&
            (st = adapt_layer(m, &m->layers[i], x, n)))
            return st;
    return NNC_OK;
}
