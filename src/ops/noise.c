/* Ops of Keras's noise layers (keras/src/layers/regularization), active in training only, as
 * Dropout (train_mode.c):
 * - SPATIAL_DROPOUT: one Bernoulli(1 − rate) draw per example and channel (the last axis),
 *   kept channels scaled by 1/(1 − rate), for every position of the example;
 * - GAUSSIAN_NOISE: y = x + stddev·N(0, 1);
 * - GAUSSIAN_DROPOUT: y = x·(1 + sqrt(rate/(1 − rate))·N(0, 1)).
 * Draws come from the model's RNG in element order (example-major), so a seed gives the same
 * bits with any number of threads. aux keeps what was drawn for the backward pass; exec mode
 * 2 (gradient checks) reuses it instead of drawing, and inference writes the identity there. */
#include <math.h>
#include "op_util.h"

static int same_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                      nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in, (void)a, (void)err, (void)n;
    *out = CNODE(m, in[0])->shape;
    *batched = CNODE(m, in[0])->batched;
    return 0;
}

static size_t numel_aux(const nnc_model *m, int id, int batch) { return nnc_node_numel(m, id, batch); }

/* ---- SPATIAL_DROPOUT --------------------------------------------------------------------- */

static int spatial_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                         nnc_shape *out, int *batched, char *err, size_t n) {
    const nnc_node_rec *x = CNODE(m, in[0]);
    if (!x->batched || x->shape.rank < 2) {
        snprintf(err, n, "spatial dropout needs examples of (positions..., channels)");
        return -1;
    }
    return same_infer(m, in, n_in, a, out, batched, err, n);
}

/* aux: [batch, channels], the mask of each example's channels */
static size_t spatial_aux(const nnc_model *m, int id, int batch) {
    return (size_t)batch * (size_t)op_last_dim(CNODE(m, id));
}

static void spatial_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const size_t c = (size_t)op_last_dim(y), per = nnc_shape_size(&y->shape), masks = (size_t)e->batch * c;
    const float rate = y->attr.rate, keep = 1.0f / (1.0f - rate);
    if (e->training != 2)
        for (size_t k = 0; k < masks; k++)
            y->aux[k] = e->training && rate > 0.0f ? (nnc_rng_uniform(&e->m->rng) >= (double)rate ? keep : 0.0f) : 1.0f;
    for (int b = 0; b < e->batch; b++) {
        const float *mask = y->aux + (size_t)b * c;
        for (size_t i = 0; i < per; i++) y->value[(size_t)b * per + i] = x->value[(size_t)b * per + i] * mask[i % c];
    }
}

/* dx += dy · mask[example, channel] */
static void spatial_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const size_t c = (size_t)op_last_dim(y), per = nnc_shape_size(&y->shape);
    for (int b = 0; b < e->batch; b++) {
        const float *mask = y->aux + (size_t)b * c;
        for (size_t i = 0; i < per; i++) x->grad[(size_t)b * per + i] += y->grad[(size_t)b * per + i] * mask[i % c];
    }
}

const nnc_op_def nnc_op_spatial_dropout = {"spatial_dropout", spatial_infer, spatial_forward, spatial_backward,
                                           spatial_aux, NULL};

/* ---- GAUSSIAN_NOISE ---------------------------------------------------------------------- */

/* aux: the noise added to each element */
static void noise_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const size_t n = nnc_node_numel(e->m, id, e->batch);
    const double sd = (double)y->attr.stddev;
    for (size_t i = 0; i < n; i++) {
        if (e->training != 2) y->aux[i] = e->training && sd > 0.0 ? (float)(sd * nnc_rng_normal(&e->m->rng)) : 0.0f;
        y->value[i] = x->value[i] + y->aux[i];
    }
}

/* dx += dy: the noise does not depend on x */
static void noise_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    op_grad_flow(x->grad, y->grad, nnc_node_numel(e->m, id, e->batch), 0);
}

const nnc_op_def nnc_op_gaussian_noise = {"gaussian_noise", same_infer, noise_forward, noise_backward, numel_aux,
                                          NULL};

/* ---- GAUSSIAN_DROPOUT -------------------------------------------------------------------- */

/* aux: the factor of each element, 1 + sqrt(rate/(1 − rate))·N(0, 1) */
static void gdrop_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const size_t n = nnc_node_numel(e->m, id, e->batch);
    const double rate = (double)y->attr.rate, sd = sqrt(rate / (1.0 - rate));
    for (size_t i = 0; i < n; i++) {
        if (e->training != 2)
            y->aux[i] = e->training && rate > 0.0 ? (float)(1.0 + sd * nnc_rng_normal(&e->m->rng)) : 1.0f;
        y->value[i] = x->value[i] * y->aux[i];
    }
}

/* dx += dy · factor */
static void gdrop_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const size_t n = nnc_node_numel(e->m, id, e->batch);
    for (size_t i = 0; i < n; i++) x->grad[i] += y->grad[i] * y->aux[i];
}

const nnc_op_def nnc_op_gaussian_dropout = {"gaussian_dropout", same_infer, gdrop_forward, gdrop_backward,
                                            numel_aux, NULL};
