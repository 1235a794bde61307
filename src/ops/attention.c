/* MHA: Keras 3's MultiHeadAttention (keras/src/layers/attention/multi_head_attention.py) as
 * one op, so that the per-head products can read the projections in place (a head is a column
 * block of a projection, reached through the GEMM's leading dimension) with nothing copied:
 *   Q = xq·Wq + bq,  K = xk·Wk + bk,  V = xv·Wv + bv       (Wq [dq, H, dk] is [dq, H·dk])
 *   Pₕ = softmax(Qₕ·Kₕᵀ/√dk) over the allowed steps,  Oₕ = drop(Pₕ)·Vₕ,  y = O·Wo + bo
 * (Vaswani et al. 2017, eq. 1 and §3.2.2). A step s is allowed for query step t when the query
 * mask keeps t, the value and key masks keep s and, causal, s <= t (Keras's
 * _compute_attention_mask). Keras's masked softmax adds −1e9 to the refused scores, which
 * underflows their exp to exactly 0 in float32, and then multiplies by the mask, so a row with
 * no allowed step is all zeros: both are what is computed here without the constant. The
 * dropout of the probabilities is inverted dropout, as Keras's _dropout_layer.
 * Per (example, head) pair the products are one task, each writing its own blocks, and the
 * projections are the pool's GEMMs, which split by output blocks: the same bits with any
 * number of threads. */
#include <math.h>
#include <string.h>
#include "op_util.h"
#include "../backend/cpu/parallel.h"

typedef struct {
    int q, v, k, wq, bq, wk, bk, wv, bv, wo, bo, qm, vm, km; /* node ids, −1 when absent */
} mha_ins;

static mha_ins mha_inputs(const int *in, const nnc_op_attr *a, int *count) {
    const int bias = a->mha_in & NNC_MHA_BIAS;
    int i = 3;
    mha_ins r = {in[0], in[1], in[2], -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    r.wq = in[i++];
    if (bias) r.bq = in[i++];
    r.wk = in[i++];
    if (bias) r.bk = in[i++];
    r.wv = in[i++];
    if (bias) r.bv = in[i++];
    r.wo = in[i++];
    if (bias) r.bo = in[i++];
    if (a->mha_in & NNC_MHA_QMASK) r.qm = in[i++];
    if (a->mha_in & NNC_MHA_VMASK) r.vm = in[i++];
    if (a->mha_in & NNC_MHA_KMASK) r.km = in[i++];
    *count = i;
    return r;
}

static int has_shape(const nnc_node_rec *n, int batched, int rank, int d0, int d1, int d2) {
    const int d[3] = {d0, d1, d2};
    if (n->batched != batched || n->shape.rank != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (n->shape.dim[i] != d[i]) return 0;
    return 1;
}

static int mha_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a, nnc_shape *out,
                     int *batched, char *err, size_t n) {
    int count = 0;
    if (n_in < 7 || a->heads < 1 || a->key_dim < 1 || a->value_dim < 1) goto bad;
    const mha_ins r = mha_inputs(in, a, &count);
    if (count != n_in) goto bad;
    const nnc_node_rec *q = CNODE(m, r.q), *v = CNODE(m, r.v), *k = CNODE(m, r.k), *wo = CNODE(m, r.wo);
    if (!has_shape(q, 1, 2, q->shape.dim[0], q->shape.dim[1], 0) || !has_shape(v, 1, 2, v->shape.dim[0], v->shape.dim[1], 0) ||
        !has_shape(k, 1, 2, v->shape.dim[0], k->shape.dim[1], 0)) {
        snprintf(err, n, "attention needs query, value and key of shape (steps, features), value and key of "
                         "the same steps");
        return -1;
    }
    const int T = q->shape.dim[0], S = v->shape.dim[0], H = a->heads, kd = a->key_dim, vd = a->value_dim;
    const int dout = wo->shape.dim[wo->shape.rank - 1];
    int ok = has_shape(CNODE(m, r.wq), 0, 3, q->shape.dim[1], H, kd) &&
             has_shape(CNODE(m, r.wk), 0, 3, k->shape.dim[1], H, kd) &&
             has_shape(CNODE(m, r.wv), 0, 3, v->shape.dim[1], H, vd) && has_shape(wo, 0, 3, H, vd, dout);
    if (r.bq >= 0)
        ok = ok && has_shape(CNODE(m, r.bq), 0, 2, H, kd, 0) && has_shape(CNODE(m, r.bk), 0, 2, H, kd, 0) &&
             has_shape(CNODE(m, r.bv), 0, 2, H, vd, 0) && has_shape(CNODE(m, r.bo), 0, 1, dout, 0, 0);
    if (r.qm >= 0) ok = ok && has_shape(CNODE(m, r.qm), 1, 1, T, 0, 0);
    if (r.vm >= 0) ok = ok && has_shape(CNODE(m, r.vm), 1, 1, S, 0, 0);
    if (r.km >= 0) ok = ok && has_shape(CNODE(m, r.km), 1, 1, S, 0, 0);
    if (!ok) {
        snprintf(err, n, "attention: a variable or a mask does not fit the inputs");
        return -1;
    }
    *out = (nnc_shape){2, {T, dout}};
    *batched = 1;
    return 0;
bad:
    snprintf(err, n, "attention: %d inputs do not fit its options", n_in);
    return -1;
}

/* The sizes of one node for a batch, and where its buffers start. */
typedef struct {
    int B, T, S, H, kd, vd, dq, dk, dv, dout, drop;
    size_t nq, nk, nv, np, no; /* floats of Q, K, V, the probabilities, O */
} mha_dims;

static mha_dims mha_dims_of(const nnc_model *m, int id, int batch) {
    const nnc_node_rec *y = CNODE(m, id);
    int c;
    const mha_ins r = mha_inputs(y->in, &y->attr, &c);
    mha_dims d;
    d.B = batch, d.T = y->shape.dim[0], d.S = CNODE(m, r.v)->shape.dim[0], d.H = y->attr.heads;
    d.kd = y->attr.key_dim, d.vd = y->attr.value_dim, d.dout = y->shape.dim[1];
    d.dq = CNODE(m, r.q)->shape.dim[1], d.dk = CNODE(m, r.k)->shape.dim[1], d.dv = CNODE(m, r.v)->shape.dim[1];
    d.drop = y->attr.rate > 0.0f;
    const size_t B = (size_t)batch, HT = (size_t)d.H * (size_t)d.T;
    d.nq = B * HT * (size_t)d.kd, d.nk = B * (size_t)d.S * (size_t)d.H * (size_t)d.kd;
    d.nv = B * (size_t)d.S * (size_t)d.H * (size_t)d.vd, d.np = B * HT * (size_t)d.S, d.no = B * HT * (size_t)d.vd;
    return d;
}

/* aux: Q, K, V, the probabilities before dropout, the dropout's factors (when rate > 0), O */
static size_t mha_aux(const nnc_model *m, int id, int batch) {
    const mha_dims d = mha_dims_of(m, id, batch);
    return d.nq + d.nk + d.nv + d.np * (d.drop ? 2 : 1) + d.no;
}

/* work: dO, dQ, dK, dV, then per pair the dropped probabilities and dP */
static size_t mha_work(const nnc_model *m, int id, int batch) {
    const mha_dims d = mha_dims_of(m, id, batch);
    return d.no + d.nq + d.nk + d.nv + 2 * d.np;
}

typedef struct {
    mha_dims d;
    float scale;
    int causal, drop;
    const float *qm, *vm, *km;
    float *Q, *K, *V, *P, *D, *O;    /* aux */
    float *dO, *dQ, *dK, *dV, *Pd, *dP; /* work */
} mha_job;

static mha_job mha_job_of(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    int c;
    const mha_ins r = mha_inputs(y->in, &y->attr, &c);
    mha_job j;
    memset(&j, 0, sizeof j);
    j.d = mha_dims_of(e->m, id, e->batch);
    j.scale = (float)(1.0 / sqrt((double)j.d.kd));
    j.causal = y->attr.causal;
    j.drop = j.d.drop && e->training;
    j.qm = r.qm >= 0 ? NODE(e, r.qm)->value : NULL;
    j.vm = r.vm >= 0 ? NODE(e, r.vm)->value : NULL;
    j.km = r.km >= 0 ? NODE(e, r.km)->value : NULL;
    j.Q = y->aux, j.K = j.Q + j.d.nq, j.V = j.K + j.d.nk, j.P = j.V + j.d.nv;
    j.D = j.d.drop ? j.P + j.d.np : NULL;
    j.O = j.P + j.d.np * (j.d.drop ? 2 : 1);
    j.dO = e->m->work, j.dQ = j.dO + j.d.no, j.dK = j.dQ + j.d.nq, j.dV = j.dK + j.d.nk, j.Pd = j.dV + j.d.nv;
    j.dP = j.Pd + j.d.np;
    return j;
}

static int allowed(const mha_job *j, int b, int t, int s) {
    const mha_dims *d = &j->d;
    if (j->causal && s > t) return 0;
    if (j->qm && j->qm[(size_t)b * (size_t)d->T + (size_t)t] == 0.0f) return 0;
    if (j->vm && j->vm[(size_t)b * (size_t)d->S + (size_t)s] == 0.0f) return 0;
    return !j->km || j->km[(size_t)b * (size_t)d->S + (size_t)s] != 0.0f;
}

/* The probabilities that multiply V: P, or P times the dropout's factors. */
static const float *dropped(const mha_job *j, size_t pair) {
    const size_t ts = (size_t)j->d.T * (size_t)j->d.S;
    const float *P = j->P + pair * ts;
    if (!j->drop) return P;
    float *Pd = j->Pd + pair * ts;
    const float *D = j->D + pair * ts;
    for (size_t i = 0; i < ts; i++) Pd[i] = P[i] * D[i];
    return Pd;
}

/* One (example, head) pair: scores, masked softmax, O's block. */
static void pair_forward(void *ctx, int task) {
    const mha_job *j = ctx;
    const mha_dims *d = &j->d;
    const int b = task / d->H, h = task % d->H, T = d->T, S = d->S, lk = d->H * d->kd, lv = d->H * d->vd;
    const float *Qh = j->Q + (size_t)b * (size_t)T * (size_t)lk + (size_t)h * (size_t)d->kd;
    const float *Kh = j->K + (size_t)b * (size_t)S * (size_t)lk + (size_t)h * (size_t)d->kd;
    const float *Vh = j->V + (size_t)b * (size_t)S * (size_t)lv + (size_t)h * (size_t)d->vd;
    float *P = j->P + (size_t)task * (size_t)T * (size_t)S;
    nnc_gemm(0, 1, T, S, d->kd, Qh, lk, Kh, lk, 0.0f, P, S);
    for (int t = 0; t < T; t++) {
        float *p = P + (size_t)t * (size_t)S, mx = -INFINITY;
        for (int s = 0; s < S; s++)
            if (allowed(j, b, t, s) && p[s] * j->scale > mx) mx = p[s] * j->scale;
        double sum = 0.0;
        for (int s = 0; s < S; s++) {
            p[s] = allowed(j, b, t, s) ? expf(p[s] * j->scale - mx) : 0.0f;
            sum += (double)p[s];
        }
        const float inv = sum > 0.0 ? (float)(1.0 / sum) : 0.0f;
        for (int s = 0; s < S; s++) p[s] *= inv;
    }
    float *Oh = j->O + (size_t)b * (size_t)T * (size_t)lv + (size_t)h * (size_t)d->vd;
    nnc_gemm(0, 0, T, d->vd, S, dropped(j, (size_t)task), S, Vh, lv, 0.0f, Oh, lv);
}

/* y[rows, n] = x[rows, k]·W[k, n] (+ b) */
static void project(nnc_pool *p, const float *x, int rows, int k, const float *w, const float *b, int n, float *y) {
    nnc_gemm_par(p, 0, 0, rows, n, k, x, k, w, n, 0.0f, y, n);
    if (b)
        for (size_t r = 0; r < (size_t)rows; r++)
            for (size_t c = 0; c < (size_t)n; c++) y[r * (size_t)n + c] += b[c];
}

static void mha_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    int c;
    const mha_ins r = mha_inputs(y->in, &y->attr, &c);
    mha_job j = mha_job_of(e, id);
    const mha_dims *d = &j.d;
    nnc_pool *p = e->m->pool;
    const float *none = NULL;
#define BIAS(i) ((i) >= 0 ? NODE(e, i)->value : none)
    project(p, NODE(e, r.q)->value, d->B * d->T, d->dq, NODE(e, r.wq)->value, BIAS(r.bq), d->H * d->kd, j.Q);
    project(p, NODE(e, r.k)->value, d->B * d->S, d->dk, NODE(e, r.wk)->value, BIAS(r.bk), d->H * d->kd, j.K);
    project(p, NODE(e, r.v)->value, d->B * d->S, d->dv, NODE(e, r.wv)->value, BIAS(r.bv), d->H * d->vd, j.V);
    /* the draws in a fixed order before the pairs run, so they do not depend on the threads */
    if (j.drop && e->training != 2) {
        const float rate = y->attr.rate, keep = 1.0f / (1.0f - rate);
        for (size_t i = 0; i < d->np; i++) j.D[i] = nnc_rng_uniform(&e->m->rng) >= (double)rate ? keep : 0.0f;
    }
    nnc_pool_run(p, d->B * d->H, pair_forward, &j);
    project(p, j.O, d->B * d->T, d->H * d->vd, NODE(e, r.wo)->value, BIAS(r.bo), d->dout, y->value);
#undef BIAS
}

/* One pair backward, from its block of dO: dV's block = dropped(P)ᵀ·dO; dP = dO·Vᵀ (times the
 * dropout's factors); the softmax's dS = P∘(dP − Σₛ P∘dP)·scale; dQ's block = dS·K, dK's = dSᵀ·Q.
 * A refused step has P = 0, so it gets no gradient. */
static void pair_backward(void *ctx, int task) {
    const mha_job *j = ctx;
    const mha_dims *d = &j->d;
    const int b = task / d->H, h = task % d->H, T = d->T, S = d->S, lk = d->H * d->kd, lv = d->H * d->vd;
    const size_t qo = (size_t)b * (size_t)T * (size_t)lk + (size_t)h * (size_t)d->kd;
    const size_t ko = (size_t)b * (size_t)S * (size_t)lk + (size_t)h * (size_t)d->kd;
    const size_t vo = (size_t)b * (size_t)S * (size_t)lv + (size_t)h * (size_t)d->vd;
    const size_t oo = (size_t)b * (size_t)T * (size_t)lv + (size_t)h * (size_t)d->vd, ts = (size_t)T * (size_t)S;
    const float *P = j->P + (size_t)task * ts;
    float *dP = j->dP + (size_t)task * ts;
    nnc_gemm(1, 0, S, d->vd, T, dropped(j, (size_t)task), S, j->dO + oo, lv, 0.0f, j->dV + vo, lv);
    nnc_gemm(0, 1, T, S, d->vd, j->dO + oo, lv, j->V + vo, lv, 0.0f, dP, S);
    if (j->drop)
        for (size_t i = 0; i < ts; i++) dP[i] *= j->D[(size_t)task * ts + i];
    for (size_t t = 0; t < (size_t)T; t++) {
        const float *p = P + t * (size_t)S;
        float *g = dP + t * (size_t)S;
        double dot = 0.0;
        for (int s = 0; s < S; s++) dot += (double)p[s] * (double)g[s];
        for (int s = 0; s < S; s++) g[s] = p[s] * (g[s] - (float)dot) * j->scale;
    }
    nnc_gemm(0, 0, T, d->kd, S, dP, S, j->K + ko, lk, 0.0f, j->dQ + qo, lk);
    nnc_gemm(1, 0, S, d->kd, T, dP, S, j->Q + qo, lk, 0.0f, j->dK + ko, lk);
}

/* From dy[rows, n] of y = x·W + b: dW += xᵀ·dy, db += Σ_rows dy (in row order), dx += dy·Wᵀ. */
static void project_back(const nnc_exec *e, int xi, int wi, int bi, int rows, int k, int n, const float *dy) {
    nnc_node_rec *x = NODE(e, xi), *w = NODE(e, wi);
    nnc_pool *p = e->m->pool;
    if (w->needs_grad) nnc_gemm_par(p, 1, 0, k, n, rows, x->value, k, dy, n, 1.0f, w->grad, n);
    if (bi >= 0 && NODE(e, bi)->needs_grad) {
        float *db = NODE(e, bi)->grad;
        for (size_t r = 0; r < (size_t)rows; r++)
            for (size_t c = 0; c < (size_t)n; c++) db[c] += dy[r * (size_t)n + c];
    }
    if (x->needs_grad) nnc_gemm_par(p, 0, 1, rows, k, n, dy, n, w->value, n, 1.0f, x->grad, k);
}

static void mha_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    int c;
    const mha_ins r = mha_inputs(y->in, &y->attr, &c);
    mha_job j = mha_job_of(e, id);
    const mha_dims *d = &j.d;
    nnc_node_rec *wo = NODE(e, r.wo);
    const int BT = d->B * d->T, BS = d->B * d->S, ov = d->H * d->vd;
    if (wo->needs_grad) nnc_gemm_par(e->m->pool, 1, 0, ov, d->dout, BT, j.O, ov, y->grad, d->dout, 1.0f, wo->grad, d->dout);
    if (r.bo >= 0 && NODE(e, r.bo)->needs_grad) {
        float *db = NODE(e, r.bo)->grad;
        for (size_t i = 0; i < (size_t)BT; i++)
            for (size_t o = 0; o < (size_t)d->dout; o++) db[o] += y->grad[i * (size_t)d->dout + o];
    }
    nnc_gemm_par(e->m->pool, 0, 1, BT, ov, d->dout, y->grad, d->dout, wo->value, d->dout, 0.0f, j.dO, ov);
    nnc_pool_run(e->m->pool, d->B * d->H, pair_backward, &j);
    project_back(e, r.q, r.wq, r.bq, BT, d->dq, d->H * d->kd, j.dQ);
    project_back(e, r.k, r.wk, r.bk, BS, d->dk, d->H * d->kd, j.dK);
    project_back(e, r.v, r.wv, r.bv, BS, d->dv, ov, j.dV);
}

const nnc_op_def nnc_op_mha = {"multi_head_attention", mha_infer, mha_forward, mha_backward, mha_aux, mha_work};
