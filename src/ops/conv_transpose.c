/* Transposed convolution (Keras's Conv2DTranspose), channels last: x [H, W, C] per example,
 * kernel [kh, kw, F, C], output [OH, OW, F] with OH, OW in the attribute's target (the layer
 * computes them as Keras does). It is the adjoint of the convolution that would take an
 * [OH, OW, F] image to [H, W, C] with the attribute's window, strides and padding before
 * (TensorFlow's conv2d_transpose is that convolution's input gradient), so it reuses the
 * convolution's im2col and col2im with the roles swapped:
 *   forward    dcol = X · Kᵀ (K read as [kh·kw·F, C]),  y = col2im(dcol)
 *   backward   col = im2col(dY),  dx += col · K,  dK += colᵀ · X
 * The bias and activation are separate ops. Examples go in groups sized as the convolution's. */
#include <string.h>
#include "op_util.h"
#include "conv_impl.h"
#include "../backend/cpu/parallel.h"

/* The geometry of the convolution this op is the adjoint of: its image is y, its output x. */
static void transpose_geom(const nnc_model *m, int id, conv_geom *g) {
    const nnc_node_rec *y = CNODE(m, id), *x = CNODE(m, y->in[0]);
    g->h = y->shape.dim[0], g->w = y->shape.dim[1], g->c = y->shape.dim[2];
    g->oh = x->shape.dim[0], g->ow = x->shape.dim[1], g->f = x->shape.dim[2];
    g->kh = y->attr.win.kh, g->kw = y->attr.win.kw;
    g->sh = y->attr.win.sh, g->sw = y->attr.win.sw;
    g->dh = y->attr.win.dh, g->dw = y->attr.win.dw;
    g->pt = y->attr.win.pt, g->pl = y->attr.win.pl;
    g->groups = 1;
}

/* in: x, kernel. The output's height and width are target.dim[0..1]; the convolution from
 * them with the window must give back x's height and width. */
static int transpose_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                           nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]), *k = CNODE(m, in[1]);
    if (x->shape.rank != 3 || k->shape.rank != 4) {
        snprintf(err, n, "transposed convolution needs examples of shape (height, width, channels)");
        return -1;
    }
    if (k->shape.dim[3] != x->shape.dim[2]) {
        snprintf(err, n, "kernel expects %d input channels, the input has %d", k->shape.dim[3], x->shape.dim[2]);
        return -1;
    }
    const int oh = a->target.dim[0], ow = a->target.dim[1];
    const int ekh = (a->win.kh - 1) * a->win.dh + 1, ekw = (a->win.kw - 1) * a->win.dw + 1;
    const int back_h = oh + a->win.pt + a->win.pb >= ekh ? (oh + a->win.pt + a->win.pb - ekh) / a->win.sh + 1 : 0;
    const int back_w = ow + a->win.pl + a->win.pr >= ekw ? (ow + a->win.pl + a->win.pr - ekw) / a->win.sw + 1 : 0;
    if (oh < 1 || ow < 1 || back_h != x->shape.dim[0] || back_w != x->shape.dim[1]) {
        snprintf(err, n, "an output of %dx%d does not match an input of %dx%d", oh, ow, x->shape.dim[0],
                 x->shape.dim[1]);
        return -1;
    }
    out->rank = 3;
    out->dim[0] = oh, out->dim[1] = ow, out->dim[2] = k->shape.dim[2];
    *batched = 1;
    return 0;
}

/* Floats of col per example: one row of kh·kw·F per input cell. */
static size_t col_per_example(const conv_geom *g) { return (size_t)g->oh * g->ow * g->kh * g->kw * g->c; }

static size_t transpose_work(const nnc_model *m, int id, int batch) {
    conv_geom g;
    transpose_geom(m, id, &g);
    const size_t per = col_per_example(&g);
    return (size_t)nnc_conv_group_size(per, 0, batch, nnc_pool_threads(m->pool), 0) * per;
}

static int group_size(const nnc_exec *e, const conv_geom *g) {
    return nnc_conv_group_size(col_per_example(g), 0, e->batch, nnc_pool_threads(e->m->pool), e->m->work_floats);
}

static void transpose_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *k = NODE(e, y->in[1]);
    conv_geom g;
    transpose_geom(e->m, id, &g);
    const int kc = g.kh * g.kw * g.c, gs = group_size(e, &g);
    const size_t px = (size_t)g.oh * g.ow;
    for (int b0 = 0; b0 < e->batch; b0 += gs) {
        const int nb = e->batch - b0 < gs ? e->batch - b0 : gs;
        nnc_gemm_par(e->m->pool, 0, 1, nb * (int)px, kc, g.f, x->value + (size_t)b0 * px * g.f, g.f, k->value, g.f,
                     0.0f, e->m->work, kc);
        nnc_conv_col_run(e, &g, e->m->work, y->value, 0, b0, nb, 1); /* y = col2im, zeroed first */
    }
}

static void transpose_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *k = NODE(e, y->in[1]);
    conv_geom g;
    transpose_geom(e->m, id, &g);
    const int kc = g.kh * g.kw * g.c, gs = group_size(e, &g);
    const size_t px = (size_t)g.oh * g.ow;
    const int store = x->grad_overwrite == id;
    for (int b0 = 0; b0 < e->batch; b0 += gs) {
        const int nb = e->batch - b0 < gs ? e->batch - b0 : gs, rows = nb * (int)px;
        nnc_conv_col_run(e, &g, y->grad, e->m->work, 1, b0, nb, 0); /* col = im2col(dY) */
        if (x->needs_grad)
            nnc_gemm_par(e->m->pool, 0, 0, rows, g.f, kc, e->m->work, kc, k->value, g.f, store ? 0.0f : 1.0f,
                         x->grad + (size_t)b0 * px * g.f, g.f);
        if (k->needs_grad)
            nnc_gemm_par(e->m->pool, 1, 0, kc, g.f, rows, e->m->work, kc, x->value + (size_t)b0 * px * g.f, g.f,
                         1.0f, k->grad, g.f);
    }
}

const nnc_op_def nnc_op_conv_transpose = {"conv_transpose", transpose_infer, transpose_forward,
                                          transpose_backward, NULL, transpose_work};
