/* Ops of Keras's activation layers that carry settings (keras/src/layers/activations):
 * - ACT_EX: ReLU(max_value, negative_slope, threshold) as keras.activations.relu computes it,
 *   and ELU(alpha);
 * - PRELU: x above 0, alpha·x below, with alpha a trained variable shaped as the example (the
 *   shared axes of size 1);
 * - SOFTMAX_AXIS: Softmax(axis) over an example axis that is not the last (the last axis is the
 *   softmax op, which the losses fuse). */
#include <math.h>
#include <string.h>
#include "op_util.h"

static int same_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                      nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in, (void)a, (void)err, (void)n;
    *out = CNODE(m, in[0])->shape;
    *batched = CNODE(m, in[0])->batched;
    return 0;
}

/* ---- ACT_EX ------------------------------------------------------------------------------ */

/* keras.activations.relu(x, negative_slope=s, max_value=M, threshold=t):
 *   y = min(x, M)       for x > t
 *   y = s·(x − t)       otherwise (Keras: clip(x·[x > t], 0, M) − s·relu(t − x))
 *   y' = [x < M] above t, s below.
 * ELU(alpha): y = x for x > 0, alpha·(eˣ − 1) otherwise;  y' = 1 above 0, y + alpha below. */
static void act_ex_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const size_t n = nnc_node_numel(e->m, id, e->batch);
    const float s = y->attr.alpha, t = y->attr.threshold, hi = y->attr.max_value;
    const float *restrict xv = x->value;
    float *restrict yv = y->value;
    if (y->attr.act == NNC_ACT_ELU)
        for (size_t i = 0; i < n; i++) yv[i] = xv[i] > 0.0f ? xv[i] : s * expm1f(xv[i]);
    else
        for (size_t i = 0; i < n; i++) yv[i] = xv[i] > t ? (xv[i] < hi ? xv[i] : hi) : s * (xv[i] - t);
}

static void act_ex_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const size_t n = nnc_node_numel(e->m, id, e->batch);
    const float s = y->attr.alpha, t = y->attr.threshold, hi = y->attr.max_value;
    const float *restrict xv = x->value, *restrict yv = y->value, *restrict g = y->grad;
    float *restrict gx = x->grad;
    if (y->attr.act == NNC_ACT_ELU)
        for (size_t i = 0; i < n; i++) gx[i] += xv[i] > 0.0f ? g[i] : g[i] * (yv[i] + s);
    else
        for (size_t i = 0; i < n; i++) gx[i] += xv[i] > t ? (xv[i] < hi ? g[i] : 0.0f) : g[i] * s;
}

const nnc_op_def nnc_op_act_ex = {"activation_ex", same_infer, act_ex_forward, act_ex_backward, NULL, NULL};

/* ---- PRELU ------------------------------------------------------------------------------- */

/* in: x [batch, d0..], alpha [d0..] with each axis its size or 1 (shared). */
static int prelu_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                       nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in, (void)a;
    const nnc_node_rec *x = CNODE(m, in[0]), *al = CNODE(m, in[1]);
    int ok = x->batched && !al->batched && al->shape.rank == x->shape.rank;
    for (int i = 0; ok && i < x->shape.rank; i++)
        ok = al->shape.dim[i] == x->shape.dim[i] || al->shape.dim[i] == 1;
    if (!ok) {
        char xs[64], as[64];
        nnc_shape_str(&x->shape, x->batched, xs, sizeof xs);
        nnc_shape_str(&al->shape, 0, as, sizeof as);
        snprintf(err, n, "alpha %s does not fit inputs %s", as, xs);
        return -1;
    }
    *out = x->shape;
    *batched = 1;
    return 0;
}

/* Walks one example's elements in order with the matching offset into alpha (a size-1 axis
 * of alpha has stride 0). */
typedef struct {
    int rank, dim[NNC_MAX_RANK], idx[NNC_MAX_RANK];
    size_t stride[NNC_MAX_RANK], at;
} alpha_walk;

static void alpha_walk_start(alpha_walk *w, const nnc_node_rec *x, const nnc_node_rec *al) {
    size_t s = 1;
    w->rank = x->shape.rank;
    for (int i = w->rank - 1; i >= 0; i--) {
        w->dim[i] = x->shape.dim[i];
        w->idx[i] = 0;
        w->stride[i] = al->shape.dim[i] == 1 ? 0 : s;
        s *= (size_t)al->shape.dim[i];
    }
    w->at = 0;
}

static void alpha_walk_next(alpha_walk *w) {
    for (int i = w->rank - 1; i >= 0; i--) {
        w->at += w->stride[i];
        if (++w->idx[i] < w->dim[i]) return;
        w->at -= w->stride[i] * (size_t)w->dim[i];
        w->idx[i] = 0;
    }
}

/* y = x for x > 0, alpha·x otherwise (Keras: relu(x) − alpha·relu(−x)) */
static void prelu_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *al = NODE(e, y->in[1]);
    const size_t per = nnc_shape_size(&x->shape);
    const float *restrict a = al->value;
    for (int b = 0; b < e->batch; b++) {
        const float *restrict xv = x->value + (size_t)b * per;
        float *restrict yv = y->value + (size_t)b * per;
        if (nnc_shape_size(&al->shape) == per) { /* no shared axis: alpha is indexed as x */
            for (size_t i = 0; i < per; i++) yv[i] = xv[i] > 0.0f ? xv[i] : a[i] * xv[i];
            continue;
        }
        alpha_walk w;
        alpha_walk_start(&w, x, al);
        for (size_t i = 0; i < per; i++, alpha_walk_next(&w)) yv[i] = xv[i] > 0.0f ? xv[i] : al->value[w.at] * xv[i];
    }
}

/* dx += dy·(1 above 0, alpha below);  dalpha += Σ dy·min(x, 0) over the batch and the shared
 * axes, in element order (the same sum with any number of threads) */
static void prelu_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *al = NODE(e, y->in[1]);
    const size_t per = nnc_shape_size(&x->shape);
    for (int b = 0; b < e->batch; b++) {
        const float *xv = x->value + (size_t)b * per, *g = y->grad + (size_t)b * per;
        float *gx = x->needs_grad ? x->grad + (size_t)b * per : NULL;
        if (nnc_shape_size(&al->shape) == per) { /* no shared axis: alpha is indexed as x */
            for (size_t i = 0; i < per; i++) {
                const int pos = xv[i] > 0.0f;
                if (gx) gx[i] += pos ? g[i] : al->value[i] * g[i];
                if (al->needs_grad && !pos) al->grad[i] += g[i] * xv[i];
            }
            continue;
        }
        alpha_walk w;
        alpha_walk_start(&w, x, al);
        for (size_t i = 0; i < per; i++, alpha_walk_next(&w)) {
            const int pos = xv[i] > 0.0f;
            if (gx) gx[i] += pos ? g[i] : al->value[w.at] * g[i];
            if (al->needs_grad && !pos) al->grad[w.at] += g[i] * xv[i];
        }
    }
}

const nnc_op_def nnc_op_prelu = {"prelu", prelu_infer, prelu_forward, prelu_backward, NULL, NULL};

/* ---- SOFTMAX_AXIS ------------------------------------------------------------------------ */

static int softmax_axis_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                              nnc_shape *out, int *batched, char *err, size_t n) {
    const nnc_node_rec *x = CNODE(m, in[0]);
    if (!x->batched || a->axis < 0 || a->axis >= x->shape.rank) {
        snprintf(err, n, "softmax axis %d is not an axis of an example of rank %d", a->axis + 1, x->shape.rank);
        return -1;
    }
    return same_infer(m, in, n_in, a, out, batched, err, n);
}

/* Over each line along the axis: y = exp(x − max) / Σ exp(x − max) */
static void softmax_axis_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t outer, len, inner;
    op_axis_view(x, y->attr.axis, e->batch, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const float *xv = x->value + o * len * inner + i;
            float *yv = y->value + o * len * inner + i, mx = xv[0], s = 0.0f;
            for (size_t l = 1; l < len; l++) mx = xv[l * inner] > mx ? xv[l * inner] : mx;
            for (size_t l = 0; l < len; l++) s += (yv[l * inner] = expf(xv[l * inner] - mx));
            for (size_t l = 0; l < len; l++) yv[l * inner] /= s;
        }
}

/* dx_l += y_l · (dy_l − Σ_k dy_k·y_k) along the axis */
static void softmax_axis_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t outer, len, inner;
    op_axis_view(x, y->attr.axis, e->batch, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const size_t base = o * len * inner + i;
            const float *yv = y->value + base, *g = y->grad + base;
            float dot = 0.0f;
            for (size_t l = 0; l < len; l++) dot += g[l * inner] * yv[l * inner];
            for (size_t l = 0; l < len; l++) x->grad[base + l * inner] += yv[l * inner] * (g[l * inner] - dot);
        }
}

const nnc_op_def nnc_op_softmax_axis = {"softmax_axis", softmax_axis_infer, softmax_axis_forward,
                                        softmax_axis_backward, NULL, NULL};
