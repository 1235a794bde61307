/* Reductions over one example axis (sum, mean) and concatenation along one axis. Both view a
 * tensor as [outer, len, inner] around the axis; outer includes the batch. */
#include "op_util.h"

static int reduce_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                        nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]);
    if (!x->batched || a->axis < 0 || a->axis >= x->shape.rank) {
        snprintf(err, n, "reduction axis %d is not an axis of an example of rank %d", a->axis,
                 x->shape.rank);
        return -1;
    }
    out->rank = 0;
    for (int i = 0; i < x->shape.rank; i++)
        if (i != a->axis) out->dim[out->rank++] = x->shape.dim[i];
    *batched = 1;
    return 0;
}

static void reduce_forward(const nnc_exec *e, int id, int mean) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t outer, len, inner;
    op_axis_view(x, y->attr.axis, e->batch, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            float s = 0.0f;
            for (size_t l = 0; l < len; l++) s += x->value[(o * len + l) * inner + i];
            y->value[o * inner + i] = mean ? s / (float)len : s;
        }
}

/* sum: dx[o,l,i] += dy[o,i];  mean: dx[o,l,i] += dy[o,i] / len */
static void reduce_backward(const nnc_exec *e, int id, int mean) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t outer, len, inner;
    op_axis_view(x, y->attr.axis, e->batch, &outer, &len, &inner);
    float scale = mean ? 1.0f / (float)len : 1.0f;
    for (size_t o = 0; o < outer; o++)
        for (size_t l = 0; l < len; l++)
            for (size_t i = 0; i < inner; i++)
                x->grad[(o * len + l) * inner + i] += y->grad[o * inner + i] * scale;
}

static void sum_forward(const nnc_exec *e, int id) { reduce_forward(e, id, 0); }
static void sum_backward(const nnc_exec *e, int id) { reduce_backward(e, id, 0); }
static void mean_forward(const nnc_exec *e, int id) { reduce_forward(e, id, 1); }
static void mean_backward(const nnc_exec *e, int id) { reduce_backward(e, id, 1); }

const nnc_op_def nnc_op_sum = {"sum", reduce_infer, sum_forward, sum_backward, NULL, NULL};
const nnc_op_def nnc_op_mean = {"mean", reduce_infer, mean_forward, mean_backward, NULL, NULL};

static int concat_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                        nnc_shape *out, int *batched, char *err, size_t n) {
    const nnc_node_rec *x0 = CNODE(m, in[0]);
    int axis = a->axis;
    if (axis < 0 || axis >= x0->shape.rank) {
        snprintf(err, n, "concatenation axis %d is out of range for rank %d", axis,
                 x0->shape.rank);
        return -1;
    }
    *out = x0->shape;
    for (int k = 1; k < n_in; k++) {
        const nnc_node_rec *x = CNODE(m, in[k]);
        int ok = x->batched && x->shape.rank == x0->shape.rank;
        for (int i = 0; ok && i < x0->shape.rank; i++)
            if (i != axis && x->shape.dim[i] != x0->shape.dim[i]) ok = 0;
        if (!ok) {
            char s0[64], s1[64];
            nnc_shape_str(&x0->shape, 1, s0, sizeof s0);
            nnc_shape_str(&x->shape, x->batched, s1, sizeof s1);
            snprintf(err, n, "cannot concatenate %s and %s along axis %d", s0, s1, axis + 1);
            return -1;
        }
        out->dim[axis] += x->shape.dim[axis];
    }
    *batched = 1;
    return 0;
}

/* Each input fills a slab [outer, len_k, inner] of the output; backward copies the slab back. */
static void concat_run(const nnc_exec *e, int id, int backward) {
    nnc_node_rec *y = NODE(e, id);
    size_t outer, ylen, inner, off = 0;
    op_axis_view(y, y->attr.axis, e->batch, &outer, &ylen, &inner);
    for (int k = 0; k < y->n_in; k++) {
        nnc_node_rec *x = NODE(e, y->in[k]);
        size_t len = (size_t)x->shape.dim[y->attr.axis], w = len * inner;
        if (!backward || x->needs_grad)
            for (size_t o = 0; o < outer; o++) {
                float *ys = (backward ? y->grad : y->value) + o * ylen * inner + off;
                if (backward) {
                    float *xs = x->grad + o * w;
                    for (size_t i = 0; i < w; i++) xs[i] += ys[i];
                } else {
                    const float *xs = x->value + o * w;
                    for (size_t i = 0; i < w; i++) ys[i] = xs[i];
                }
            }
        off += w;
    }
}

static void concat_forward(const nnc_exec *e, int id) { concat_run(e, id, 0); }
static void concat_backward(const nnc_exec *e, int id) { concat_run(e, id, 1); }

const nnc_op_def nnc_op_concat = {"concatenate", concat_infer, concat_forward, concat_backward, NULL, NULL};
