/* Ops that move values without arithmetic: reshape (Flatten, Reshape) and zero padding. The
 * target shape is set by the layer before the node is made; reshape only checks the size. */
#include <string.h>
#include "op_util.h"

/* The layer puts the wanted shape in the attribute; this checks that the sizes agree. */
static int reshape_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                         nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]);
    nnc_shape want = a->target;
    if (want.rank < 1 || nnc_shape_size(&want) != nnc_shape_size(&x->shape)) {
        char xs[64], ws[64];
        nnc_shape_str(&x->shape, 1, xs, sizeof xs);
        nnc_shape_str(&want, 1, ws, sizeof ws);
        snprintf(err, n, "cannot reshape %s (%zu values) to %s", xs, nnc_shape_size(&x->shape), ws);
        return -1;
    }
    *out = want;
    *batched = 1;
    return 0;
}

static void reshape_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    memcpy(y->value, x->value, nnc_node_numel(e->m, id, e->batch) * sizeof(float));
}

static void reshape_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t n = nnc_node_numel(e->m, id, e->batch);
    op_grad_flow(x->grad, y->grad, n, x->grad_overwrite == id);
}

const nnc_op_def nnc_op_reshape = {"reshape", reshape_infer, reshape_forward, reshape_backward, NULL, NULL};

static int pad_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                     nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]);
    if (x->shape.rank != 3) {
        snprintf(err, n, "2-D zero padding needs examples of shape (height, width, channels)");
        return -1;
    }
    *out = x->shape;
    out->dim[0] += a->win.pt + a->win.pb;
    out->dim[1] += a->win.pl + a->win.pr;
    *batched = 1;
    return 0;
}

/* y[b, i + pt, j + pl, :] = x[b, i, j, :]; zeros elsewhere. Backward reads the same window. */
static void pad_run(const nnc_exec *e, int id, int backward) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const int H = x->shape.dim[0], W = x->shape.dim[1], C = x->shape.dim[2];
    const int OH = y->shape.dim[0], OW = y->shape.dim[1];
    if (!backward) memset(y->value, 0, nnc_node_numel(e->m, id, e->batch) * sizeof(float));
    for (int b = 0; b < e->batch; b++)
        for (int i = 0; i < H; i++) {
            size_t xo = (((size_t)b * H + i) * W) * C;
            size_t yo = (((size_t)b * OH + i + y->attr.win.pt) * OW + y->attr.win.pl) * C;
            if (!backward) memcpy(y->value + yo, x->value + xo, (size_t)W * C * sizeof(float));
            else
                for (size_t k = 0; k < (size_t)W * C; k++) x->grad[xo + k] += y->grad[yo + k];
        }
}

static void pad_forward(const nnc_exec *e, int id) { pad_run(e, id, 0); }
static void pad_backward(const nnc_exec *e, int id) { pad_run(e, id, 1); }

const nnc_op_def nnc_op_zero_pad = {"zero_pad", pad_infer, pad_forward, pad_backward, NULL, NULL};
