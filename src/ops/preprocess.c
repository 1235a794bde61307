/* Preprocessing ops: Keras's Rescaling (x·scale + offset) and Normalization
 * ((x − mean) / max(sqrt(variance), ε), per feature of the last axis). Neither has trainable
 * inputs; their backward passes the gradient through to x so they can sit anywhere. */
#include <math.h>
#include "op_util.h"

#define NORM_EPSILON 1e-7f /* Keras's backend.epsilon(), the floor of the divisor */

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

static void affine_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t n = nnc_node_numel(e->m, id, e->batch);
    for (size_t i = 0; i < n; i++) y->value[i] = x->value[i] * y->attr.scale + y->attr.offset;
}

/* dx += dy · scale */
static void affine_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t n = nnc_node_numel(e->m, id, e->batch);
    for (size_t i = 0; i < n; i++) x->grad[i] += y->grad[i] * y->attr.scale;
}

const nnc_op_def nnc_op_affine = {"rescaling", same_infer, affine_forward, affine_backward, NULL, NULL};

/* in: x [rows, c], mean [c], variance [c] */
static int norm_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                      nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    (void)a;
    const nnc_node_rec *x = CNODE(m, in[0]), *mu = CNODE(m, in[1]);
    if (mu->shape.rank != 1 || mu->shape.dim[0] != op_last_dim(x)) {
        snprintf(err, n, "normalization statistics of %d values do not fit %d features",
                 mu->shape.rank ? mu->shape.dim[0] : 0, op_last_dim(x));
        return -1;
    }
    *out = x->shape;
    *batched = x->batched;
    return 0;
}

static float divisor(float var) {
    float s = sqrtf(var > 0.0f ? var : 0.0f);
    return s > NORM_EPSILON ? s : NORM_EPSILON;
}

static void norm_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *mu = NODE(e, y->in[1]),
                 *var = NODE(e, y->in[2]);
    size_t rows = op_rows(x, e->batch), c = (size_t)op_last_dim(x);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < c; j++)
            y->value[r * c + j] = (x->value[r * c + j] - mu->value[j]) / divisor(var->value[j]);
}

/* dx += dy / max(sqrt(variance), ε); the statistics are constants */
static void norm_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *var = NODE(e, y->in[2]);
    if (!x->needs_grad) return;
    size_t rows = op_rows(x, e->batch), c = (size_t)op_last_dim(x);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < c; j++) x->grad[r * c + j] += y->grad[r * c + j] / divisor(var->value[j]);
}

const nnc_op_def nnc_op_normalize = {"normalization", norm_infer, norm_forward, norm_backward, NULL, NULL};
