/* Ops that copy values into another order without arithmetic, for Keras's Permute and
 * RepeatVector (keras/src/layers/reshaping):
 * - PERMUTE: output axis i of an example is its input axis perm[i];
 * - REPEAT: [F] -> [n, F], the example's vector n times.
 * Backward adds each output gradient back where its value came from. */
#include "op_util.h"

/* ---- PERMUTE ----------------------------------------------------------------------------- */

static int permute_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                         nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]);
    int seen = 0, ok = x->batched;
    for (int i = 0; ok && i < x->shape.rank; i++) {
        ok = a->perm[i] >= 0 && a->perm[i] < x->shape.rank && !(seen & (1 << a->perm[i]));
        if (ok) seen |= 1 << a->perm[i];
    }
    if (!ok) {
        snprintf(err, n, "the permutation is not one of the %d axes of an example", x->shape.rank);
        return -1;
    }
    out->rank = x->shape.rank;
    for (int i = 0; i < out->rank; i++) out->dim[i] = x->shape.dim[a->perm[i]];
    *batched = 1;
    return 0;
}

/* Walks the output in order; `at` follows the matching input offset. */
static void permute_run(const nnc_exec *e, int id, int backward) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const int r = y->shape.rank;
    size_t xs[NNC_MAX_RANK], s = 1, stride[NNC_MAX_RANK];
    for (int i = r - 1; i >= 0; i--) {
        xs[i] = s;
        s *= (size_t)x->shape.dim[i];
    }
    for (int i = 0; i < r; i++) stride[i] = xs[y->attr.perm[i]];
    const size_t per = s;
    for (int b = 0; b < e->batch; b++) {
        int idx[NNC_MAX_RANK] = {0};
        size_t at = (size_t)b * per;
        for (size_t o = (size_t)b * per; o < (size_t)(b + 1) * per; o++) {
            if (backward) x->grad[at] += y->grad[o];
            else y->value[o] = x->value[at];
            for (int i = r - 1; i >= 0; i--) {
                at += stride[i];
                if (++idx[i] < y->shape.dim[i]) break;
                at -= stride[i] * (size_t)y->shape.dim[i];
                idx[i] = 0;
            }
        }
    }
}

static void permute_forward(const nnc_exec *e, int id) { permute_run(e, id, 0); }
static void permute_backward(const nnc_exec *e, int id) { permute_run(e, id, 1); }

const nnc_op_def nnc_op_permute = {"permute", permute_infer, permute_forward, permute_backward, NULL, NULL};

/* ---- REPEAT ------------------------------------------------------------------------------ */

static int repeat_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                        nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]);
    if (!x->batched || x->shape.rank != 1 || a->repeats < 1) {
        char xs[64];
        nnc_shape_str(&x->shape, x->batched, xs, sizeof xs);
        snprintf(err, n, "RepeatVector takes inputs of shape (batch, features), not %s", xs);
        return -1;
    }
    *out = (nnc_shape){2, {a->repeats, x->shape.dim[0]}};
    *batched = 1;
    return 0;
}

/* y[b, r, f] = x[b, f] */
static void repeat_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const size_t f = (size_t)x->shape.dim[0], reps = (size_t)y->attr.repeats;
    for (size_t b = 0; b < (size_t)e->batch; b++)
        for (size_t r = 0; r < reps; r++)
            for (size_t k = 0; k < f; k++) y->value[(b * reps + r) * f + k] = x->value[b * f + k];
}

/* dx[b, f] += Σ_r dy[b, r, f] */
static void repeat_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const size_t f = (size_t)x->shape.dim[0], reps = (size_t)y->attr.repeats;
    for (size_t b = 0; b < (size_t)e->batch; b++)
        for (size_t r = 0; r < reps; r++)
            for (size_t k = 0; k < f; k++) x->grad[b * f + k] += y->grad[(b * reps + r) * f + k];
}

const nnc_op_def nnc_op_repeat = {"repeat_vector", repeat_infer, repeat_forward, repeat_backward, NULL, NULL};
