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

/* Zero padding and cropping of [H, W, C] examples, or [L, C] ones (a height of 1, padded or
 * cut on the length only). */
static void hwc(const nnc_shape *s, int *h, int *w, int *c) {
    *h = s->rank == 3 ? s->dim[0] : 1;
    *w = s->dim[s->rank - 2];
    *c = s->dim[s->rank - 1];
}

/* sign +1 pads, −1 crops: the output is the input with pt/pb rows and pl/pr columns added or cut. */
static int pad_or_crop_infer(const nnc_model *m, int x_id, const nnc_op_attr *a, int sign, nnc_shape *out,
                             int *batched, char *err, size_t n) {
    const nnc_node_rec *x = CNODE(m, x_id);
    const int r = x->shape.rank;
    if (r != 2 && r != 3) {
        snprintf(err, n, "%s needs examples of shape (length, channels) or (height, width, channels)",
                 sign > 0 ? "zero padding" : "cropping");
        return -1;
    }
    *out = x->shape;
    if (r == 3) out->dim[0] += sign * (a->win.pt + a->win.pb);
    out->dim[r - 2] += sign * (a->win.pl + a->win.pr);
    if ((r == 3 && out->dim[0] < 1) || out->dim[r - 2] < 1) {
        char xs[64];
        nnc_shape_str(&x->shape, 1, xs, sizeof xs);
        snprintf(err, n, "cropping (%d, %d) rows and (%d, %d) columns leaves nothing of %s", a->win.pt,
                 a->win.pb, a->win.pl, a->win.pr, xs);
        return -1;
    }
    if ((r == 3 && out->dim[0] > (1 << 24)) || out->dim[r - 2] > (1 << 24)) {
        snprintf(err, n, "padding makes too large an output");
        return -1;
    }
    *batched = 1;
    return 0;
}

static int pad_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                     nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    return pad_or_crop_infer(m, in[0], a, 1, out, batched, err, n);
}

static int crop_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                      nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    return pad_or_crop_infer(m, in[0], a, -1, out, batched, err, n);
}

/* The small image's rows are runs of the large one's: big[b, i + top, left.., :] = small[b, i, :, :]
 * (padding: small is x; cropping: small is y). */
static void window_copy(const nnc_exec *e, int id, int backward, int crop) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const nnc_node_rec *small = crop ? y : x, *big = crop ? x : y;
    int H, W, C, BH, BW, c;
    hwc(&small->shape, &H, &W, &C);
    hwc(&big->shape, &BH, &BW, &c);
    const int top = y->shape.rank == 3 ? y->attr.win.pt : 0, left = y->attr.win.pl;
    if (!backward && !crop) memset(y->value, 0, nnc_node_numel(e->m, id, e->batch) * sizeof(float));
    for (int b = 0; b < e->batch; b++)
        for (int i = 0; i < H; i++) {
            size_t so = (((size_t)b * H + i) * W) * C;
            size_t bo = (((size_t)b * BH + i + top) * BW + left) * C;
            size_t xo = crop ? bo : so, yo = crop ? so : bo;
            if (!backward) memcpy(y->value + yo, x->value + xo, (size_t)W * C * sizeof(float));
            else
                for (size_t k = 0; k < (size_t)W * C; k++) x->grad[xo + k] += y->grad[yo + k];
        }
}

static void pad_forward(const nnc_exec *e, int id) { window_copy(e, id, 0, 0); }
static void pad_backward(const nnc_exec *e, int id) { window_copy(e, id, 1, 0); }
static void crop_forward(const nnc_exec *e, int id) { window_copy(e, id, 0, 1); }
static void crop_backward(const nnc_exec *e, int id) { window_copy(e, id, 1, 1); }

const nnc_op_def nnc_op_zero_pad = {"zero_pad", pad_infer, pad_forward, pad_backward, NULL, NULL};
const nnc_op_def nnc_op_crop = {"crop", crop_infer, crop_forward, crop_backward, NULL, NULL};
