/* Ops of Keras's Dot layer (keras/src/layers/merging/dot.py):
 * - BATCH_DOT: Keras's batch_dot for examples of rank 1 or 2. Per example, the sum over one
 *   axis of each input; the output's axes are x's other axis, then y's other axis, or [1]
 *   when neither has one:  out[b, i, j] = Σ_k x[b, i, k] · y[b, j, k]  (k at axes[0] of x and
 *   axes[1] of y);
 * - L2_NORMALIZE: keras.ops.normalize(x, axis, order=2) as Dot(normalize=True) applies it:
 *   y = x / sqrt(max(Σx², ε²)) along the axis, ε = 1e-7 (Keras's backend epsilon). */
#include <math.h>
#include "op_util.h"

/* ---- BATCH_DOT --------------------------------------------------------------------------- */

/* One input's view: free = its other axis's size (1 when it has none), and the strides of the
 * free and the summed axis within an example. */
typedef struct {
    size_t free, len, s_free, s_sum, per;
} dot_view;

static dot_view dot_view_of(const nnc_node_rec *n, int axis) {
    dot_view v = {1, (size_t)n->shape.dim[axis], 0, 1, nnc_shape_size(&n->shape)};
    if (n->shape.rank == 2) {
        const size_t d1 = (size_t)n->shape.dim[1];
        v.free = (size_t)n->shape.dim[1 - axis];
        v.s_sum = axis == 0 ? d1 : 1;
        v.s_free = axis == 0 ? 1 : d1;
    }
    return v;
}

static int dot_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                     nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]), *y = CNODE(m, in[1]);
    const nnc_node_rec *xs[2] = {x, y};
    for (int k = 0; k < 2; k++)
        if (!xs[k]->batched || xs[k]->shape.rank < 1 || xs[k]->shape.rank > 2 || a->axes[k] < 0 ||
            a->axes[k] >= xs[k]->shape.rank) {
            snprintf(err, n, "Dot takes examples of rank 1 or 2 (inputs of rank 2 or 3 with the batch axis) "
                     "and an axis of each; input %d has rank %d, axis %d", k + 1, xs[k]->shape.rank + 1,
                     a->axes[k] + 1);
            return -1;
        }
    if (x->shape.dim[a->axes[0]] != y->shape.dim[a->axes[1]]) {
        char s0[64], s1[64];
        nnc_shape_str(&x->shape, 1, s0, sizeof s0);
        nnc_shape_str(&y->shape, 1, s1, sizeof s1);
        snprintf(err, n, "cannot take the dot product of %s (axis %d) and %s (axis %d): %d != %d", s0,
                 a->axes[0] + 1, s1, a->axes[1] + 1, x->shape.dim[a->axes[0]], y->shape.dim[a->axes[1]]);
        return -1;
    }
    out->rank = 0;
    for (int k = 0; k < 2; k++)
        if (xs[k]->shape.rank == 2) out->dim[out->rank++] = xs[k]->shape.dim[1 - a->axes[k]];
    if (!out->rank) out->dim[out->rank++] = 1;
    *batched = 1;
    return 0;
}

static void dot_forward(const nnc_exec *e, int id) {
    nnc_node_rec *o = NODE(e, id), *x = NODE(e, o->in[0]), *y = NODE(e, o->in[1]);
    const dot_view vx = dot_view_of(x, o->attr.axes[0]), vy = dot_view_of(y, o->attr.axes[1]);
    for (int b = 0; b < e->batch; b++) {
        const float *xb = x->value + (size_t)b * vx.per, *yb = y->value + (size_t)b * vy.per;
        float *ob = o->value + (size_t)b * vx.free * vy.free;
        for (size_t i = 0; i < vx.free; i++)
            for (size_t j = 0; j < vy.free; j++) {
                float s = 0.0f;
                for (size_t k = 0; k < vx.len; k++) s += xb[i * vx.s_free + k * vx.s_sum] * yb[j * vy.s_free + k * vy.s_sum];
                ob[i * vy.free + j] = s;
            }
    }
}

/* dx[b, i, k] += Σ_j dout[b, i, j]·y[b, j, k];  dy[b, j, k] += Σ_i dout[b, i, j]·x[b, i, k] */
static void dot_backward(const nnc_exec *e, int id) {
    nnc_node_rec *o = NODE(e, id), *x = NODE(e, o->in[0]), *y = NODE(e, o->in[1]);
    const dot_view vx = dot_view_of(x, o->attr.axes[0]), vy = dot_view_of(y, o->attr.axes[1]);
    for (int b = 0; b < e->batch; b++) {
        const float *xb = x->value + (size_t)b * vx.per, *yb = y->value + (size_t)b * vy.per;
        const float *gb = o->grad + (size_t)b * vx.free * vy.free;
        float *gx = x->grad + (size_t)b * vx.per, *gy = y->grad + (size_t)b * vy.per;
        for (size_t k = 0; k < vx.len; k++) {
            if (x->needs_grad)
                for (size_t i = 0; i < vx.free; i++) {
                    float s = 0.0f;
                    for (size_t j = 0; j < vy.free; j++) s += gb[i * vy.free + j] * yb[j * vy.s_free + k * vy.s_sum];
                    gx[i * vx.s_free + k * vx.s_sum] += s;
                }
            if (y->needs_grad)
                for (size_t j = 0; j < vy.free; j++) {
                    float s = 0.0f;
                    for (size_t i = 0; i < vx.free; i++) s += gb[i * vy.free + j] * xb[i * vx.s_free + k * vx.s_sum];
                    gy[j * vy.s_free + k * vy.s_sum] += s;
                }
        }
    }
}

const nnc_op_def nnc_op_batch_dot = {"batch_dot", dot_infer, dot_forward, dot_backward, NULL, NULL};

/* ---- L2_NORMALIZE ------------------------------------------------------------------------ */

#define L2_FLOOR 1e-14f /* ε² for Keras's ε = 1e-7 */

static int l2_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                    nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]);
    if (!x->batched || a->axis < 0 || a->axis >= x->shape.rank) {
        snprintf(err, n, "normalization axis %d is not an axis of an example of rank %d", a->axis + 1,
                 x->shape.rank);
        return -1;
    }
    *out = x->shape;
    *batched = 1;
    return 0;
}

/* 1 / sqrt(max(Σx², ε²)) of the line at base (len values inner apart) */
static float l2_inv(const float *x, size_t len, size_t inner) {
    float s = 0.0f;
    for (size_t l = 0; l < len; l++) s += x[l * inner] * x[l * inner];
    return 1.0f / sqrtf(s > L2_FLOOR ? s : L2_FLOOR);
}

static void l2_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t outer, len, inner;
    op_axis_view(x, y->attr.axis, e->batch, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const size_t base = o * len * inner + i;
            const float inv = l2_inv(x->value + base, len, inner);
            for (size_t l = 0; l < len; l++) y->value[base + l * inner] = x->value[base + l * inner] * inv;
        }
}

/* With r = 1/‖x‖ and y = x·r:  dx = r·(dy − y·Σ dy·y); below the floor r is a constant and
 * dx = r·dy */
static void l2_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t outer, len, inner;
    op_axis_view(x, y->attr.axis, e->batch, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const size_t base = o * len * inner + i;
            const float *xv = x->value + base, *yv = y->value + base, *g = y->grad + base;
            float s = 0.0f, dot = 0.0f;
            for (size_t l = 0; l < len; l++) s += xv[l * inner] * xv[l * inner];
            const float inv = 1.0f / sqrtf(s > L2_FLOOR ? s : L2_FLOOR);
            if (s > L2_FLOOR)
                for (size_t l = 0; l < len; l++) dot += g[l * inner] * yv[l * inner];
            for (size_t l = 0; l < len; l++) x->grad[base + l * inner] += inv * (g[l * inner] - yv[l * inner] * dot);
        }
}

const nnc_op_def nnc_op_l2_normalize = {"l2_normalize", l2_infer, l2_forward, l2_backward, NULL, NULL};
