/* Ops that behave differently in training and in inference, as Keras's layers do:
 * - Dropout: in training, y = x·mask/(1 − rate) with mask ~ Bernoulli(1 − rate) drawn from the
 *   model's RNG (inverted dropout); in inference y = x. The mask is kept for the backward pass.
 * - BatchNormalization (axis −1): in training, batch statistics over every axis but the last,
 *   y = γ·(x − μ)/sqrt(σ² + ε) + β, and the moving statistics move towards them with Keras's
 *   momentum (moving = moving·momentum + batch·(1 − momentum), biased variance); in inference
 *   the moving statistics are used, and in training too when its layer is frozen
 *   (trainable=False), as Keras 3 does. */
#include <math.h>
#include "op_util.h"
#include "../backend/cpu/parallel.h"

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

/* The per-channel sums go row by row (channels contiguous, so the loops vectorise) in double,
 * in the row chunks of op_sum_chunk_rows, so the result is the same with any number of
 * threads. The elementwise passes split by rows. */

/* Workspace, in doubles: two partial sums per channel per chunk, then the two totals. */
static size_t bn_work(const nnc_model *m, int id, int batch) {
    (void)batch;
    return 2 * 2 * (OP_SUM_CHUNKS + 1) * (size_t)op_last_dim(CNODE(m, id));
}

typedef struct {
    const float *x, *g;      /* inputs; g: the output gradient (backward) */
    const float *mean, *inv; /* per channel */
    const float *gamma, *beta;
    float *out;              /* forward: y; backward: dx */
    double *part;            /* [chunks][2][c] */
    const double *sums;      /* backward: [dβ, dγ] per channel, for dx */
    size_t rows, c, chunk;
    int pass, store;         /* which sums (below); dx stored rather than added */
    double m_rows;           /* backward, synchronized: the global batch's rows (0: rows) */
} bn_job;

enum { BN_SUM, BN_SQDEV, BN_GRADS };

/* Cloned for AVX2 (picked at load time): the loops run across channels, each channel's sum
 * in its own lane and in row order, so every clone gives the same bits. */
#define BN_CLONES __attribute__((target_clones("avx2", "default")))

/* Partial sums of one chunk: Σx, or Σ(x − μ)², or Σdy and Σdy·x̂. */
BN_CLONES
static void bn_sums_chunk(void *ctx, int t) {
    const bn_job *j = ctx;
    const size_t c = j->c, r0 = (size_t)t * j->chunk, r1 = r0 + j->chunk < j->rows ? r0 + j->chunk : j->rows;
    double *restrict a = j->part + (size_t)t * 2 * c, *restrict b = a + c;
    for (size_t k = 0; k < 2 * c; k++) a[k] = 0.0;
    for (size_t r = r0; r < r1; r++) {
        const float *restrict x = j->x + r * c;
        if (j->pass == BN_SUM) {
            for (size_t k = 0; k < c; k++) a[k] += (double)x[k];
        } else if (j->pass == BN_SQDEV) {
            for (size_t k = 0; k < c; k++) {
                double d = (double)x[k] - (double)j->mean[k];
                a[k] += d * d;
            }
        } else {
            const float *restrict g = j->g + r * c;
            for (size_t k = 0; k < c; k++) {
                float xh = (x[k] - j->mean[k]) * j->inv[k];
                a[k] += (double)g[k];
                b[k] += (double)g[k] * (double)xh;
            }
        }
    }
}

/* The chunks' sums, added up in chunk order into out[0..2c). */
static void bn_sums(const nnc_exec *e, bn_job *j, double *out) {
    j->chunk = op_sum_chunk_rows(j->rows);
    const int chunks = (int)((j->rows + j->chunk - 1) / j->chunk);
    nnc_pool_run(e->m->pool, chunks, bn_sums_chunk, j);
    for (size_t k = 0; k < 2 * j->c; k++) {
        double s = j->part[k];
        for (int t = 1; t < chunks; t++) s += j->part[(size_t)t * 2 * j->c + k];
        out[k] = s;
    }
}

BN_CLONES
static void bn_normalize_rows(void *ctx, size_t first, size_t count) {
    const bn_job *j = ctx;
    const size_t c = j->c;
    for (size_t r = first; r < first + count; r++) {
        const float *restrict x = j->x + r * c;
        float *restrict y = j->out + r * c;
        for (size_t k = 0; k < c; k++) {
            float xh = (x[k] - j->mean[k]) * j->inv[k];
            y[k] = (j->gamma ? j->gamma[k] : 1.0f) * xh + (j->beta ? j->beta[k] : 0.0f);
        }
    }
}

/* Batch statistics: training, unless the layer is frozen (Keras 3: `training and trainable`). */
static int bn_training(const nnc_exec *e, const nnc_node_rec *y) {
    return e->training && !(y->layer >= 0 && e->m->layers[y->layer].frozen);
}

/* Synchronized (data parallel): sums over every rank's rows; *rows becomes their count. */
static void bn_sync(const nnc_exec *e, const nnc_node_rec *y, double *s, size_t n, double *rows) {
    if (!y->attr.synced || !e->m->reduce_sums) return;
    e->m->reduce_sums(e->m, s, n);
    if (rows) e->m->reduce_sums(e->m, rows, 1);
}

static void bn_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    bn_inputs in = bn_in(e, y);
    const size_t c = (size_t)op_last_dim(y), rows = op_rows(in.x, e->batch);
    float *mean = y->aux, *inv = y->aux + c;
    const float eps = y->attr.eps, mom = y->attr.momentum;
    bn_job j = {in.x->value, NULL, mean, inv, in.gamma ? in.gamma->value : NULL,
                in.beta ? in.beta->value : NULL, y->value, (double *)(void *)e->m->work, NULL,
                rows, c, 0, BN_SUM, 0, 0.0};
    if (bn_training(e, y)) {
        /* two passes (mean, then squared deviations) rather than Σx² − nμ², which cancels */
        double *s = j.part + 2 * OP_SUM_CHUNKS * c; /* the totals, after the chunks' sums */
        double n = (double)rows;
        bn_sums(e, &j, s);
        bn_sync(e, y, s, c, &n);
        for (size_t k = 0; k < c; k++) mean[k] = (float)(s[k] / n);
        j.pass = BN_SQDEV;
        bn_sums(e, &j, s);
        bn_sync(e, y, s, c, NULL);
        for (size_t k = 0; k < c; k++) {
            const float mu = mean[k], var = (float)(s[k] / n);
            in.mm->value[k] = in.mm->value[k] * mom + mu * (1.0f - mom);
            in.mv->value[k] = in.mv->value[k] * mom + var * (1.0f - mom);
            inv[k] = 1.0f / sqrtf(var + eps);
        }
    } else {
        for (size_t k = 0; k < c; k++) {
            mean[k] = in.mm->value[k];
            inv[k] = 1.0f / sqrtf(in.mv->value[k] + eps);
        }
    }
    nnc_parallel_range(e->m->pool, rows, 64, bn_normalize_rows, &j);
}

/* dx (+)= γ·inv/M · (M·dy − dβ − x̂·dγ) in training, γ·inv·dy in inference */
BN_CLONES
static void bn_dx_rows(void *ctx, size_t first, size_t count) {
    const bn_job *j = ctx;
    const size_t c = j->c;
    const float M = j->m_rows > 0.0 ? (float)j->m_rows : (float)j->rows;
    for (size_t r = first; r < first + count; r++) {
        const float *restrict x = j->x + r * c, *restrict g = j->g + r * c;
        float *restrict dx = j->out + r * c;
        for (size_t k = 0; k < c; k++) {
            const float gam = j->gamma ? j->gamma[k] : 1.0f;
            float d;
            if (j->sums) {
                float xh = (x[k] - j->mean[k]) * j->inv[k];
                d = gam * j->inv[k] / M * (M * g[k] - (float)j->sums[k] - xh * (float)j->sums[c + k]);
            } else {
                d = gam * j->inv[k] * g[k];
            }
            dx[k] = j->store ? d : dx[k] + d;
        }
    }
}

/* With x̂ = (x − μ)·inv over M rows (training):
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·inv/M · (M·dy − dβ − x̂·dγ);
 * in inference the statistics are constants and dx = γ·inv·dy. */
static void bn_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    bn_inputs in = bn_in(e, y);
    const size_t c = (size_t)op_last_dim(y), rows = op_rows(in.x, e->batch);
    bn_job j = {in.x->value, y->grad, y->aux, y->aux + c, in.gamma ? in.gamma->value : NULL, NULL,
                in.x->grad, (double *)(void *)e->m->work, NULL, rows, c, 0, BN_GRADS,
                in.x->grad_overwrite == id, 0.0};
    double *s = j.part + 2 * OP_SUM_CHUNKS * c;
    const int training = bn_training(e, y);
    if (training || (in.beta && in.beta->needs_grad) || (in.gamma && in.gamma->needs_grad)) {
        bn_sums(e, &j, s); /* s: dβ, then dγ */
        for (size_t k = 0; k < c; k++) {
            if (in.beta && in.beta->needs_grad) in.beta->grad[k] += (float)s[k];
            if (in.gamma && in.gamma->needs_grad) in.gamma->grad[k] += (float)s[c + k];
        }
        /* synchronized: this rank's dβ and dγ go to the gradients (summed with the others'
         * later), the global ones into dx, over the global batch's rows */
        if (training && y->attr.synced && e->m->reduce_sums) {
            j.m_rows = (double)rows;
            bn_sync(e, y, s, 2 * c, &j.m_rows);
        }
    }
    if (!in.x->needs_grad) return;
    j.sums = training ? s : NULL;
    nnc_parallel_range(e->m->pool, rows, 64, bn_dx_rows, &j);
}

const nnc_op_def nnc_op_batch_norm = {"batch_norm", same_infer, bn_forward, bn_backward, bn_aux, bn_work};
