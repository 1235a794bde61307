/* Ops that behave differently in training and in inference, as Keras's layers do:
 * - Dropout: in training, y = x·mask/(1 − rate) with mask ~ Bernoulli(1 − rate) drawn from the
 *   model's RNG (inverted dropout); in inference y = x. The mask is kept for the backward pass.
 * - BatchNormalization (axis −1): in training, batch statistics over every axis but the last,
 *   y = γ·(x − μ)/sqrt(σ² + ε) + β, and the moving statistics move towards them with Keras's
 *   momentum (moving = moving·momentum + batch·(1 − momentum), biased variance); in inference
 *   the moving statistics are used. */
#include <math.h>
#include "op_util.h"

static int same_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                      nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    (void)a;
    (void)err;
    (void)n;
    *out = CNODE(m, in[0])->shape;
    *batched = CNODE(m, in[0])->batched;
    return 0;
}

static size_t dropout_aux(const nnc_model *m, int id, int batch) { return nnc_node_numel(m, id, batch); }

static void dropout_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t n = nnc_node_numel(e->m, id, e->batch);
    const float rate = y->attr.rate, keep = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < n; i++) {
        float mask = 1.0f;
        if (e->training == 2) mask = y->aux[i];
        else if (e->training && rate > 0.0f) mask = nnc_rng_uniform(&e->m->rng) >= (double)rate ? keep : 0.0f;
        y->aux[i] = mask;
        y->value[i] = x->value[i] * mask;
    }
}

/* dx += dy · mask */
static void dropout_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t n = nnc_node_numel(e->m, id, e->batch);
    for (size_t i = 0; i < n; i++) x->grad[i] += y->grad[i] * y->aux[i];
}

const nnc_op_def nnc_op_dropout = {"dropout", same_infer, dropout_forward, dropout_backward, dropout_aux, NULL};

/* in: x, then gamma (if scale), beta (if center), moving_mean, moving_variance. */
typedef struct {
    nnc_node_rec *x, *gamma, *beta, *mm, *mv;
} bn_inputs;

static bn_inputs bn_in(const nnc_exec *e, nnc_node_rec *y) {
    bn_inputs b = {NODE(e, y->in[0]), NULL, NULL, NULL, NULL};
    int k = 1;
    if (y->attr.scale_on) b.gamma = NODE(e, y->in[k++]);
    if (y->attr.center) b.beta = NODE(e, y->in[k++]);
    b.mm = NODE(e, y->in[k++]);
    b.mv = NODE(e, y->in[k]);
    return b;
}

/* aux: per channel mean, then 1/sqrt(var + ε), of the last training batch. */
static size_t bn_aux(const nnc_model *m, int id, int batch) {
    (void)batch;
    return 2 * (size_t)op_last_dim(CNODE(m, id));
}

static void bn_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    bn_inputs in = bn_in(e, y);
    const size_t c = (size_t)op_last_dim(y), rows = op_rows(in.x, e->batch);
    float *mean = y->aux, *inv = y->aux + c;
    const float eps = y->attr.eps, mom = y->attr.momentum;
    for (size_t k = 0; k < c; k++) {
        float mu, var;
        if (e->training) {
            double s = 0.0, s2 = 0.0;
            for (size_t r = 0; r < rows; r++) s += (double)in.x->value[r * c + k];
            double md = s / (double)rows;
            for (size_t r = 0; r < rows; r++) {
                double d = (double)in.x->value[r * c + k] - md;
                s2 += d * d;
            }
            mu = (float)md;
            var = (float)(s2 / (double)rows);
            in.mm->value[k] = in.mm->value[k] * mom + mu * (1.0f - mom);
            in.mv->value[k] = in.mv->value[k] * mom + var * (1.0f - mom);
        } else {
            mu = in.mm->value[k];
            var = in.mv->value[k];
        }
        mean[k] = mu;
        inv[k] = 1.0f / sqrtf(var + eps);
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < c; k++) {
            float xh = (in.x->value[r * c + k] - mean[k]) * inv[k];
            y->value[r * c + k] = (in.gamma ? in.gamma->value[k] : 1.0f) * xh + (in.beta ? in.beta->value[k] : 0.0f);
        }
}

/* With x̂ = (x − μ)·inv over M rows (training):
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·inv/M · (M·dy − dβ − x̂·dγ);
 * in inference the statistics are constants and dx = γ·inv·dy. */
static void bn_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    bn_inputs in = bn_in(e, y);
    const size_t c = (size_t)op_last_dim(y), rows = op_rows(in.x, e->batch);
    const float *mean = y->aux, *inv = y->aux + c;
    for (size_t k = 0; k < c; k++) {
        double db = 0.0, dg = 0.0;
        for (size_t r = 0; r < rows; r++) {
            float g = y->grad[r * c + k], xh = (in.x->value[r * c + k] - mean[k]) * inv[k];
            db += (double)g;
            dg += (double)g * (double)xh;
        }
        if (in.beta && in.beta->needs_grad) in.beta->grad[k] += (float)db;
        if (in.gamma && in.gamma->needs_grad) in.gamma->grad[k] += (float)dg;
        if (!in.x->needs_grad) continue;
        const float gam = in.gamma ? in.gamma->value[k] : 1.0f, M = (float)rows;
        for (size_t r = 0; r < rows; r++) {
            float g = y->grad[r * c + k];
            if (e->training) {
                float xh = (in.x->value[r * c + k] - mean[k]) * inv[k];
                in.x->grad[r * c + k] += gam * inv[k] / M * (M * g - (float)db - xh * (float)dg);
            } else {
                in.x->grad[r * c + k] += gam * inv[k] * g;
            }
        }
    }
}

const nnc_op_def nnc_op_batch_norm = {"batch_norm", same_infer, bn_forward, bn_backward, bn_aux, NULL};
