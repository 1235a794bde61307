/* The recurrence of Keras's SimpleRNN, GRU and LSTM over a whole sequence, as one op, so that
 * the input projection of every step is one GEMM before the loop and each step is one GEMM of
 * the state by the recurrent kernel covering all gates (equations: Keras 3's SimpleRNNCell,
 * GRUCell and LSTMCell documentation; Hochreiter & Schmidhuber 1997, Cho et al. 2014).
 *   inputs: x [T, in], kernel W [in, G·u], recurrent_kernel U [u, G·u], bias (optional:
 *           [G·u], or GRU reset_after [2, G·u]: input then recurrent), mask (optional: [T])
 *   SimpleRNN  h = act(x·W + b + h₋·U)
 *   LSTM       i, f, o = rec_act(·), g = act(·) (Keras's column order i, f, c, o);
 *              c = f·c₋ + i·g,  h = o·act(c)
 *   GRU        z, r = rec_act(x·W + b + h₋·U + b_rec); reset_after: h̃ = act(x·W_h + b_h +
 *              r·(h₋·U_h + b_rec,h)); else h̃ = act(x·W_h + b_h + (r·h₋)·U_h);
 *              h = z·h₋ + (1 − z)·h̃
 * go_backwards reads the steps last to first and returns the outputs in that order (as Keras).
 * A masked step (mask 0) carries h and c over, and its output is the carried h (Keras's
 * default zero_output_for_mask=False). Dropout multiplies the input and the state read by U by
 * one mask per sequence and feature, fixed across steps (Keras 3's cells); the carried state
 * itself (h₋ in GRU's blend, c₋) is not dropped.
 * Initial states (Keras's initial_state: h0, and c0 for LSTM, [units] per example) start the
 * recurrence instead of zeros; their gradients are the carried state's at the start.
 * Backward is backpropagation through time over the values kept in aux.
 * RNN_STATE reads the final h or c of a RECURRENT node from its aux (Keras's return_state: the
 * state after the last step run, which with go_backwards is input step 0, and which masked
 * steps at the end carry over); its gradient goes back through aux's dfinal, which the
 * RECURRENT node zeroes in forward and reads at the start of its backward (a reader's backward
 * runs before the backward of what it reads). */
#include <string.h>
#include "op_util.h"
#include "activation.h"
#include "../backend/cpu/parallel.h"

/* Sizes of one node's run. */
typedef struct {
    int B, T, I, u, G, GU;
} rnn_dims;

static rnn_dims dims_of(const nnc_model *m, int id, int batch) {
    const nnc_node_rec *y = CNODE(m, id), *x = CNODE(m, y->in[0]);
    rnn_dims d = {batch, x->shape.dim[0], x->shape.dim[1], y->attr.rnn.units, y->attr.rnn.gates, 0};
    d.GU = d.G * d.u;
    return d;
}

/* The buffers kept from forward to backward, carved from aux in this order. */
typedef struct {
    float *pre;   /* [T][B][G·u] pre-activations (GRU's h block: h̃'s) */
    float *post;  /* [T][B][G·u] activations */
    float *h;     /* [T+1][B][u] states in processing order, h[0] = 0 */
    float *c;     /* [T+1][B][u] LSTM cells */
    float *extra; /* [T][B][u] LSTM act(c); GRU reset_after h₋·U_h + b_rec,h; else r·h₋' */
    float *hin;   /* [T][B][u] the state as U reads it (dropped out) */
    float *xmask; /* [B][in] */
    float *hmask; /* [B][u] */
    float *dfinal;/* [2][B][u] the gradients of the final h and c from RNN_STATE readers */
} rnn_aux;

static size_t aux_floats(rnn_dims d) {
    size_t tb = (size_t)d.T * d.B;
    return 2 * tb * d.GU + 2 * (tb + d.B) * d.u + 2 * tb * d.u + (size_t)d.B * d.I + 3 * (size_t)d.B * d.u;
}

static rnn_aux carve(float *a, rnn_dims d) {
    size_t tb = (size_t)d.T * d.B, tbu = tb * d.u, hs = (tb + d.B) * d.u;
    rnn_aux r;
    r.pre = a, a += tb * d.GU;
    r.post = a, a += tb * d.GU;
    r.h = a, a += hs;
    r.c = a, a += hs;
    r.extra = a, a += tbu;
    r.hin = a, a += tbu;
    r.xmask = a, a += (size_t)d.B * d.I;
    r.hmask = a, a += (size_t)d.B * d.u;
    r.dfinal = a;
    return r;
}

/* Scratch shared by all ops, carved in this order: the input projection (forward) or its
 * gradient (backward), the dropped-out input, and per-step rows. */
typedef struct {
    float *proj;  /* [B·T][G·u] */
    float *xin;   /* [B·T][in] */
    float *rec;   /* [B][G·u] */
    float *dh, *dc, *dhin, *tmp; /* [B][u] each */
} rnn_work;

static size_t work_floats(rnn_dims d) {
    size_t bt = (size_t)d.B * d.T;
    return bt * d.GU + bt * d.I + (size_t)d.B * d.GU + 4 * (size_t)d.B * d.u;
}

static rnn_work carve_work(float *w, rnn_dims d) {
    size_t bt = (size_t)d.B * d.T, bu = (size_t)d.B * d.u;
    rnn_work r;
    r.proj = w, w += bt * d.GU;
    r.xin = w, w += bt * d.I;
    r.rec = w, w += (size_t)d.B * d.GU;
    r.dh = w, w += bu;
    r.dc = w, w += bu;
    r.dhin = w, w += bu;
    r.tmp = w;
    return r;
}

static size_t recurrent_aux(const nnc_model *m, int id, int batch) { return aux_floats(dims_of(m, id, batch)); }
static size_t recurrent_work(const nnc_model *m, int id, int batch) { return work_floats(dims_of(m, id, batch)); }

static int recurrent_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a, nnc_shape *out,
                           int *batched, char *err, size_t n) {
    const nnc_node_rec *x = CNODE(m, in[0]), *w = CNODE(m, in[1]), *u = CNODE(m, in[2]);
    const int G = a->rnn.gates, U = a->rnn.units, want = 3 + a->rnn.has_bias + a->rnn.n_init + a->rnn.has_mask;
    if (n_in != want || x->shape.rank != 2 || !x->batched) {
        snprintf(err, n, "a recurrent layer needs sequences (steps, features)");
        return -1;
    }
    if (w->shape.rank != 2 || w->shape.dim[0] != x->shape.dim[1] || w->shape.dim[1] != G * U ||
        u->shape.rank != 2 || u->shape.dim[0] != U || u->shape.dim[1] != G * U) {
        snprintf(err, n, "recurrent kernels do not fit %d features and %d units", x->shape.dim[1], U);
        return -1;
    }
    if (a->rnn.has_bias) {
        const nnc_node_rec *b = CNODE(m, in[3]);
        int two = G == 3 && a->rnn.reset_after;
        if (nnc_shape_size(&b->shape) != (size_t)(two ? 2 : 1) * G * U) {
            snprintf(err, n, "recurrent bias does not fit %d units", U);
            return -1;
        }
    }
    for (int k = 0; k < a->rnn.n_init; k++) {
        const nnc_node_rec *s = CNODE(m, in[3 + a->rnn.has_bias + k]);
        if (s->shape.rank != 1 || s->shape.dim[0] != U || !s->batched || k >= (G == 4 ? 2 : 1)) {
            snprintf(err, n, "an initial state does not fit %d units", U);
            return -1;
        }
    }
    if (a->rnn.has_mask) {
        const nnc_node_rec *mk = CNODE(m, in[n_in - 1]);
        if (mk->shape.rank != 1 || mk->shape.dim[0] != x->shape.dim[0]) {
            snprintf(err, n, "the mask does not fit %d steps", x->shape.dim[0]);
            return -1;
        }
    }
    out->rank = a->rnn.return_sequences ? 2 : 1;
    out->dim[0] = a->rnn.return_sequences ? x->shape.dim[0] : U;
    out->dim[1] = U;
    *batched = 1;
    return 0;
}

static inline float act_f(nnc_activation a, float x) { return nnc_activation_table[a].f(x); }
static inline float act_df(nnc_activation a, float x, float y) { return nnc_activation_table[a].df(x, y); }

/* Draws (training 1), keeps (training 2) or sets to 1 (inference) a dropout mask of n values. */
static void dropout_mask(const nnc_exec *e, float *mask, size_t n, float rate) {
    if (e->training == 2) return;
    const float keep = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < n; i++)
        mask[i] = e->training && rate > 0.0f ? (nnc_rng_uniform(&e->m->rng) >= (double)rate ? keep : 0.0f) : 1.0f;
}

/* Where step s (processing order) reads the input: go_backwards reads the last step first. */
static inline int input_step(const nnc_node_rec *y, rnn_dims d, int s) {
    return y->attr.rnn.go_backwards ? d.T - 1 - s : s;
}

/* Where step s's output goes in a returned sequence: Keras returns go_backwards's outputs in
 * processing order; Bidirectional's backward layer turns them back (reverse_output). */
static inline int out_step(const nnc_node_rec *y, rnn_dims d, int s) {
    return y->attr.rnn.reverse_output ? d.T - 1 - s : s;
}

/* The gates that read the state through U (all of them, or GRU's z and r) for row b of step s:
 * pre = x·W + b (proj) + state·U (rec) [+ GRU's recurrent bias], post = their activations. */
static void gates_forward(const nnc_node_rec *y, rnn_dims d, rnn_aux *A, const float *rec, const float *proj_row,
                          const float *brec, int s, int b) {
    const nnc_activation act = y->attr.rnn.act, ra = y->attr.rnn.rec_act;
    const size_t row = (size_t)s * d.B + b, u = (size_t)d.u, n = d.G == 3 ? 2 * u : (size_t)d.GU;
    float *pre = A->pre + row * d.GU, *post = A->post + row * d.GU;
    const float *r = rec + (size_t)b * d.GU;
    for (size_t j = 0; j < n; j++) {
        pre[j] = proj_row[j] + r[j] + (brec ? brec[j] : 0.0f);
        int candidate = d.G == 1 || (d.G == 4 && j >= 2 * u && j < 3 * u);
        post[j] = act_f(candidate ? act : ra, pre[j]);
    }
}

/* The new state of row b at step s from its gates (GRU: with h̃'s input part and rec's h
 * block, which is h₋·U_h (reset_after) or (r·h₋)·U_h). A masked row carries h and c over. */
static void state_forward(const nnc_node_rec *y, rnn_dims d, rnn_aux *A, const float *rec, const float *proj_row,
                          const float *brec, int s, int b, int keep) {
    const size_t row = (size_t)s * d.B + b, u = (size_t)d.u;
    float *pre = A->pre + row * d.GU, *post = A->post + row * d.GU;
    const float *hp = A->h + row * u, *cp = A->c + row * u;
    float *h = A->h + (row + d.B) * u, *c = A->c + (row + d.B) * u, *ex = A->extra + row * u;
    const float *r = rec + (size_t)b * d.GU;
    for (size_t j = 0; j < u; j++) {
        if (d.G == 1) {
            h[j] = post[j];
        } else if (d.G == 4) {
            c[j] = post[u + j] * cp[j] + post[j] * post[2 * u + j];
            ex[j] = act_f(y->attr.rnn.act, c[j]);
            h[j] = post[3 * u + j] * ex[j];
        } else {
            float hh = proj_row[2 * u + j];
            if (y->attr.rnn.reset_after) {
                ex[j] = r[2 * u + j] + (brec ? brec[2 * u + j] : 0.0f);
                hh += post[u + j] * ex[j];
            } else {
                hh += r[2 * u + j];
            }
            pre[2 * u + j] = hh;
            post[2 * u + j] = act_f(y->attr.rnn.act, hh);
            h[j] = post[j] * hp[j] + (1.0f - post[j]) * post[2 * u + j];
        }
        if (!keep) h[j] = hp[j], c[j] = cp[j];
    }
}

/* The inputs of node y. */
typedef struct {
    nnc_node_rec *x, *w, *u, *b, *mask, *h0, *c0;
} rnn_inputs;

static rnn_inputs inputs_of(const nnc_exec *e, const nnc_node_rec *y) {
    rnn_inputs r = {NODE(e, y->in[0]), NODE(e, y->in[1]), NODE(e, y->in[2]), NULL, NULL, NULL, NULL};
    const int s = 3 + y->attr.rnn.has_bias;
    if (y->attr.rnn.has_bias) r.b = NODE(e, y->in[3]);
    if (y->attr.rnn.n_init >= 1) r.h0 = NODE(e, y->in[s]);
    if (y->attr.rnn.n_init >= 2) r.c0 = NODE(e, y->in[s + 1]);
    if (y->attr.rnn.has_mask) r.mask = NODE(e, y->in[y->n_in - 1]);
    return r;
}

static void recurrent_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    const rnn_dims d = dims_of(e->m, id, e->batch);
    const rnn_inputs in = inputs_of(e, y);
    rnn_aux A = carve(y->aux, d);
    rnn_work W = carve_work(e->m->work, d);
    const size_t u = (size_t)d.u, bt = (size_t)d.B * d.T, bu = (size_t)d.B * u;
    const float *brec = in.b && d.G == 3 && y->attr.rnn.reset_after ? in.b->value + d.GU : NULL;
    dropout_mask(e, A.xmask, (size_t)d.B * d.I, y->attr.rnn.dropout);
    dropout_mask(e, A.hmask, bu, y->attr.rnn.rec_dropout);
    const float *x = in.x->value;
    if (y->attr.rnn.dropout > 0.0f) {
        for (size_t r = 0; r < bt; r++)
            for (int k = 0; k < d.I; k++) W.xin[r * d.I + k] = x[r * d.I + k] * A.xmask[(r / d.T) * d.I + k];
        x = W.xin;
    }
    nnc_gemm_par(e->m->pool, 0, 0, (int)bt, d.GU, d.I, x, d.I, in.w->value, d.GU, 0.0f, W.proj, d.GU);
    if (in.b)
        for (size_t r = 0; r < bt; r++)
            for (int j = 0; j < d.GU; j++) W.proj[r * d.GU + j] += in.b->value[j];
    if (in.h0) memcpy(A.h, in.h0->value, bu * sizeof(float));
    else memset(A.h, 0, bu * sizeof(float));
    if (in.c0) memcpy(A.c, in.c0->value, bu * sizeof(float));
    else memset(A.c, 0, bu * sizeof(float));
    memset(A.dfinal, 0, 2 * bu * sizeof(float));
    const int reset_after = d.G == 3 && y->attr.rnn.reset_after;
    const int ncols = d.G == 3 && !reset_after ? 2 * d.u : d.GU; /* else r·h₋ first */
    for (int s = 0; s < d.T; s++) {
        const int t = input_step(y, d, s);
        float *hin = A.hin + (size_t)s * bu;
        const float *hp = A.h + (size_t)s * bu;
        for (size_t i = 0; i < bu; i++) hin[i] = hp[i] * A.hmask[i];
        nnc_gemm_par(e->m->pool, 0, 0, d.B, ncols, d.u, hin, d.u, in.u->value, d.GU, 0.0f, W.rec, d.GU);
        for (int b = 0; b < d.B; b++)
            gates_forward(y, d, &A, W.rec, W.proj + ((size_t)b * d.T + t) * d.GU, brec, s, b);
        if (d.G == 3 && !reset_after) {
            /* GRU's h block without reset_after: (r·h₋)·U_h, r·h₋ kept in extra */
            float *rh = A.extra + (size_t)s * bu;
            for (int b = 0; b < d.B; b++)
                for (size_t j = 0; j < u; j++)
                    rh[b * u + j] = A.post[((size_t)s * d.B + b) * d.GU + u + j] * hin[b * u + j];
            nnc_gemm_par(e->m->pool, 0, 0, d.B, d.u, d.u, rh, d.u, in.u->value + 2 * u, d.GU, 0.0f, W.rec + 2 * u,
                         d.GU);
        }
        for (int b = 0; b < d.B; b++) {
            int keep = !in.mask || in.mask->value[(size_t)b * d.T + t] != 0.0f;
            state_forward(y, d, &A, W.rec, W.proj + ((size_t)b * d.T + t) * d.GU, brec, s, b, keep);
        }
        if (y->attr.rnn.return_sequences)
            for (int b = 0; b < d.B; b++)
                memcpy(y->value + ((size_t)b * d.T + out_step(y, d, s)) * u, A.h + ((size_t)(s + 1) * d.B + b) * u,
                       u * sizeof(float));
    }
    if (!y->attr.rnn.return_sequences) memcpy(y->value, A.h + (size_t)d.T * bu, bu * sizeof(float));
}

/* Row b of step s backward: from dh (and dc) of its state, the gradient of its pre-activations
 * into dpre (the x·W part, [G·u]) and of what U read into drec ([G·u]: GRU's h block is the
 * gradient of h₋·U_h + b_rec,h, or of (r·h₋)·U_h); dh and dc become the carried state's direct
 * share (GRU: z·dh; LSTM: f·dc). A masked row passes dh and dc through. */
static void cell_backward(const nnc_node_rec *y, rnn_dims d, const rnn_aux *A, int s, int b, int keep, float *dh,
                          float *dc, float *dpre, float *drec) {
    const nnc_activation act = y->attr.rnn.act, ra = y->attr.rnn.rec_act;
    const size_t row = (size_t)s * d.B + b, u = (size_t)d.u;
    const float *pre = A->pre + row * d.GU, *post = A->post + row * d.GU;
    const float *hp = A->h + row * u, *cp = A->c + row * u, *ex = A->extra + row * u;
    if (!keep) {
        memset(dpre, 0, (size_t)d.GU * sizeof(float));
        memset(drec, 0, (size_t)d.GU * sizeof(float));
        return;
    }
    for (size_t j = 0; j < u; j++) {
        if (d.G == 1) {
            dpre[j] = dh[j] * act_df(act, pre[j], post[j]);
            drec[j] = dpre[j];
            dh[j] = 0.0f;
        } else if (d.G == 4) {
            const float i = post[j], f = post[u + j], g = post[2 * u + j], o = post[3 * u + j];
            const float c = A->c[(row + d.B) * u + j];
            float dcj = dc[j] + dh[j] * o * act_df(act, c, ex[j]);
            dpre[j] = dcj * g * act_df(ra, pre[j], i);
            dpre[u + j] = dcj * cp[j] * act_df(ra, pre[u + j], f);
            dpre[2 * u + j] = dcj * i * act_df(act, pre[2 * u + j], g);
            dpre[3 * u + j] = dh[j] * ex[j] * act_df(ra, pre[3 * u + j], o);
            for (int k = 0; k < 4; k++) drec[k * u + j] = dpre[k * u + j];
            dc[j] = dcj * f;
            dh[j] = 0.0f;
        } else {
            const float z = post[j], r = post[u + j], hh = post[2 * u + j];
            const float dhh = dh[j] * (1.0f - z) * act_df(act, pre[2 * u + j], hh);
            const float dz = dh[j] * (hp[j] - hh) * act_df(ra, pre[j], z);
            float dr;
            dpre[2 * u + j] = dhh;
            if (y->attr.rnn.reset_after) {
                dr = dhh * ex[j];
                drec[2 * u + j] = dhh * r;
            } else {
                dr = 0.0f; /* from (r·h₋)·U_h, added by the caller */
                drec[2 * u + j] = dhh;
            }
            dpre[j] = drec[j] = dz;
            dpre[u + j] = drec[u + j] = dr * act_df(ra, pre[u + j], r);
            dh[j] = dh[j] * z;
        }
    }
}

static void recurrent_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    const rnn_dims d = dims_of(e->m, id, e->batch);
    const rnn_inputs in = inputs_of(e, y);
    const rnn_aux A = carve(y->aux, d);
    rnn_work W = carve_work(e->m->work, d);
    const size_t u = (size_t)d.u, bt = (size_t)d.B * d.T, bu = (size_t)d.B * u;
    const int reset_after = d.G == 3 && y->attr.rnn.reset_after, plain_gru = d.G == 3 && !reset_after;
    memcpy(W.dh, A.dfinal, bu * sizeof(float)); /* the final state's readers (return_state) */
    memcpy(W.dc, A.dfinal + bu, bu * sizeof(float));
    for (int s = d.T - 1; s >= 0; s--) {
        const int t = input_step(y, d, s);
        const float *hin = A.hin + (size_t)s * bu;
        for (int b = 0; b < d.B; b++) {
            const float *gy = y->attr.rnn.return_sequences ? y->grad + ((size_t)b * d.T + out_step(y, d, s)) * u
                              : s == d.T - 1                ? y->grad + (size_t)b * u
                                                            : NULL;
            if (gy)
                for (size_t j = 0; j < u; j++) W.dh[b * u + j] += gy[j];
        }
        for (int b = 0; b < d.B; b++) {
            int keep = !in.mask || in.mask->value[(size_t)b * d.T + t] != 0.0f;
            cell_backward(y, d, &A, s, b, keep, W.dh + b * u, W.dc + b * u, W.proj + ((size_t)b * d.T + t) * d.GU,
                          W.rec + (size_t)b * d.GU);
        }
        if (plain_gru) {
            /* the h block read r·h₋: dU_h += (r·h₋)ᵀ·drec_h; d(r·h₋) = drec_h·U_hᵀ feeds r and h₋ */
            const float *rh = A.extra + (size_t)s * bu;
            if (in.u->needs_grad)
                nnc_gemm_par(e->m->pool, 1, 0, d.u, d.u, d.B, rh, d.u, W.rec + 2 * u, d.GU, 1.0f, in.u->grad + 2 * u,
                             d.GU);
            nnc_gemm_par(e->m->pool, 0, 1, d.B, d.u, d.u, W.rec + 2 * u, d.GU, in.u->value + 2 * u, d.GU, 0.0f, W.tmp,
                         d.u);
            for (int b = 0; b < d.B; b++) {
                const size_t row = (size_t)s * d.B + b;
                const float *post = A.post + row * d.GU, *pre = A.pre + row * d.GU;
                int keep = !in.mask || in.mask->value[(size_t)b * d.T + t] != 0.0f;
                for (size_t j = 0; j < u && keep; j++) {
                    float dr = W.tmp[b * u + j] * hin[b * u + j] * act_df(y->attr.rnn.rec_act, pre[u + j], post[u + j]);
                    W.proj[((size_t)b * d.T + t) * d.GU + u + j] = dr;
                    W.rec[(size_t)b * d.GU + u + j] = dr;
                    W.tmp[b * u + j] *= post[u + j]; /* d(h₋ as U read it) from the h block */
                }
                if (!keep) memset(W.tmp + b * u, 0, u * sizeof(float));
            }
        }
        const int ncols = plain_gru ? 2 * d.u : d.GU;
        if (in.u->needs_grad)
            nnc_gemm_par(e->m->pool, 1, 0, d.u, ncols, d.B, hin, d.u, W.rec, d.GU, 1.0f, in.u->grad, d.GU);
        nnc_gemm_par(e->m->pool, 0, 1, d.B, d.u, ncols, W.rec, d.GU, in.u->value, d.GU, 0.0f, W.dhin, d.u);
        for (size_t i = 0; i < bu; i++) {
            float g = W.dhin[i] + (plain_gru ? W.tmp[i] : 0.0f);
            W.dh[i] += g * A.hmask[i];
        }
        if (reset_after && in.b && in.b->needs_grad)
            for (int b = 0; b < d.B; b++)
                for (size_t j = 0; j < (size_t)d.GU; j++) in.b->grad[d.GU + j] += W.rec[(size_t)b * d.GU + j];
    }
    if (in.h0 && in.h0->needs_grad) /* dh, dc now hold the gradients of the states before step 0 */
        for (size_t i = 0; i < bu; i++) in.h0->grad[i] += W.dh[i];
    if (in.c0 && in.c0->needs_grad)
        for (size_t i = 0; i < bu; i++) in.c0->grad[i] += W.dc[i];
    if (in.b && in.b->needs_grad)
        for (size_t r = 0; r < bt; r++)
            for (int j = 0; j < d.GU; j++) in.b->grad[j] += W.proj[r * d.GU + j];
    const float *x = in.x->value;
    if (y->attr.rnn.dropout > 0.0f) { /* the dropped-out input again: work is not kept */
        for (size_t r = 0; r < bt; r++)
            for (int k = 0; k < d.I; k++) W.xin[r * d.I + k] = x[r * d.I + k] * A.xmask[(r / d.T) * d.I + k];
        x = W.xin;
    }
    if (in.w->needs_grad)
        nnc_gemm_par(e->m->pool, 1, 0, d.I, d.GU, (int)bt, x, d.I, W.proj, d.GU, 1.0f, in.w->grad, d.GU);
    if (in.x->needs_grad) {
        float *gx = in.x->grad;
        if (y->attr.rnn.dropout > 0.0f) {
            /* dx = (dP·Wᵀ)·mask: computed into xin (no longer needed), then masked in */
            nnc_gemm_par(e->m->pool, 0, 1, (int)bt, d.I, d.GU, W.proj, d.GU, in.w->value, d.GU, 0.0f, W.xin, d.I);
            for (size_t r = 0; r < bt; r++)
                for (int k = 0; k < d.I; k++)
                    gx[r * d.I + k] += W.xin[r * d.I + k] * A.xmask[(r / d.T) * d.I + k];
        } else {
            nnc_gemm_par(e->m->pool, 0, 1, (int)bt, d.I, d.GU, W.proj, d.GU, in.w->value, d.GU, 1.0f, gx, d.I);
        }
    }
}

const nnc_op_def nnc_op_recurrent = {"recurrent", recurrent_infer, recurrent_forward, recurrent_backward,
                                     recurrent_aux, recurrent_work};

/* ---- RNN_STATE: the final h or c of a RECURRENT node ---------------------------------------- */

static int final_state_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a, nnc_shape *out,
                             int *batched, char *err, size_t n) {
    const nnc_node_rec *r = n_in == 1 ? CNODE(m, in[0]) : NULL;
    if (!r || r->op != NNC_OP_RECURRENT || a->rnn.state < 0 || a->rnn.state > (r->attr.rnn.gates == 4 ? 1 : 0)) {
        snprintf(err, n, "a recurrent state reads a recurrent layer's own op");
        return -1;
    }
    out->rank = 1;
    out->dim[0] = r->attr.rnn.units;
    *batched = 1;
    return 0;
}

static void final_state_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *r = NODE(e, y->in[0]);
    const rnn_dims d = dims_of(e->m, y->in[0], e->batch);
    const rnn_aux A = carve(r->aux, d);
    const size_t bu = (size_t)d.B * d.u;
    memcpy(y->value, (y->attr.rnn.state ? A.c : A.h) + (size_t)d.T * bu, bu * sizeof(float));
}

static void final_state_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *r = NODE(e, y->in[0]);
    const rnn_dims d = dims_of(e->m, y->in[0], e->batch);
    const rnn_aux A = carve(r->aux, d);
    const size_t bu = (size_t)d.B * d.u;
    float *g = A.dfinal + (size_t)y->attr.rnn.state * bu;
    for (size_t i = 0; i < bu; i++) g[i] += y->grad[i];
}

const nnc_op_def nnc_op_rnn_state = {"rnn_state", final_state_infer, final_state_forward, final_state_backward,
                                     NULL, NULL};
