/* Keras's Normalization.adapt: the statistics of Normalization layers from data, computed by
 * running the model forward (inference) up to each such layer's input. */
#include <stdlib.h>
#include "train_impl.h"

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

const char *nnc_adapt_layer(const nnc_model *m) {
    for (int i = 0; m && i < m->n_layers; i++)
        if (nnc_layer_state_from_data(&m->layers[i])) return m->layers[i].name;
    return NULL;
}

nnc_status nnc_adapt(nnc_model *m, const float *x, size_t n) {
    if (!m) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "adapt: the model must be compiled first");
    if (!x || n == 0) return nnc_fail(m, NNC_ERR_ARG, "adapt: no data");
    nnc_status st = nnc_check_data(m, x, NULL, n);
    if (st || (st = nnc_train_plan(m, 256))) return st;
    for (int i = 0; i < m->n_layers; i++)
        if (nnc_layer_state_from_data(&m->layers[i]) &&
            (st = adapt_layer(m, &m->layers[i], x, n)))
            return st;
    return NNC_OK;
}
