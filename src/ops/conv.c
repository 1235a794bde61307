/* Convolution, channels last (Keras's layouts): x [H, W, C] per example, kernel [kh, kw, C, F],
 * output [OH, OW, F]; 1-D convolution is the same with H = 1 ([L, C], kernel [k, C, F]).
 * Computed as im2col + one matrix multiply over the whole batch, so it shares the optimised
 * GEMM with Dense: col [N·OH·OW, kh·kw·C] · kernel [kh·kw·C, F], with the layer's bias and
 * activation in the product's epilogue when compile fused them (src/ops/epilogue.c). In
 * training, col is kept in the node's own buffer for the backward pass (unless it is huge: then
 * the backward pass builds it again in the shared workspace), which computes
 *   dK += colᵀ · dY,  dcol = dY · Kᵀ,  dx += col2im(dcol). */
#include <string.h>
#include "op_util.h"
#include "epilogue.h"
#include "../backend/cpu/parallel.h"

/* Geometry of one convolution: example sizes with a unit height for 1-D. */
typedef struct {
    int h, w, c, oh, ow, f, kh, kw, sh, sw, dh, dw, pt, pl;
} conv_geom;

static void geom(const nnc_model *m, int id, conv_geom *g) {
    const nnc_node_rec *y = CNODE(m, id), *x = CNODE(m, y->in[0]);
    int r = x->shape.rank;
    g->h = r == 3 ? x->shape.dim[0] : 1;
    g->w = x->shape.dim[r - 2];
    g->c = x->shape.dim[r - 1];
    g->oh = r == 3 ? y->shape.dim[0] : 1;
    g->ow = y->shape.dim[r - 2];
    g->f = y->shape.dim[r - 1];
    g->kh = y->attr.win.kh, g->kw = y->attr.win.kw;
    g->sh = y->attr.win.sh, g->sw = y->attr.win.sw;
    g->dh = y->attr.win.dh, g->dw = y->attr.win.dw;
    g->pt = y->attr.win.pt, g->pl = y->attr.win.pl;
}

/* in: x, kernel. The padding and window are in the attributes, set by the layer. */
static int conv_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                      nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]), *k = CNODE(m, in[1]);
    int r = x->shape.rank;
    if (r != 2 && r != 3) {
        snprintf(err, n, "convolution needs examples of shape (length, channels) or (height, "
                         "width, channels), got rank %d", r);
        return -1;
    }
    int h = r == 3 ? x->shape.dim[0] : 1, w = x->shape.dim[r - 2], c = x->shape.dim[r - 1];
    int kc = k->shape.dim[k->shape.rank - 2];
    if (kc != c) {
        snprintf(err, n, "kernel expects %d input channels, the input has %d", kc, c);
        return -1;
    }
    const int ekh = (a->win.kh - 1) * a->win.dh + 1, ekw = (a->win.kw - 1) * a->win.dw + 1;
    int oh = (h + a->win.pt + a->win.pb - ekh) / a->win.sh + 1;
    int ow = (w + a->win.pl + a->win.pr - ekw) / a->win.sw + 1;
    if (h + a->win.pt + a->win.pb < ekh || w + a->win.pl + a->win.pr < ekw || oh < 1 || ow < 1) {
        snprintf(err, n, "a %dx%d window does not fit an input of %dx%d", ekh, ekw, h, w);
        return -1;
    }
    out->rank = r;
    if (r == 3) out->dim[0] = oh;
    out->dim[r - 2] = ow;
    out->dim[r - 1] = k->shape.dim[k->shape.rank - 1];
    *batched = 1;
    return 0;
}

/* col[(n·OH + oh)·OW + ow, (i·kw + j)·C + c] = x[n, oh·sh − pt + i·dh, ow·sw − pl + j·dw, c]
 * for examples first..first+count. Channels last make a window row that lies inside the image
 * (no column dilation) one contiguous run of kw·C floats, copied at once. */
static void im2col(const conv_geom *g, const float *x, int first, int count, float *col) {
    const size_t c = (size_t)g->c, run = (size_t)g->kw * c, kcols = (size_t)g->kh * run;
    for (int b = first; b < first + count; b++)
        for (int oh = 0; oh < g->oh; oh++)
            for (int ow = 0; ow < g->ow; ow++) {
                float *row = col + (((size_t)b * g->oh + oh) * g->ow + ow) * kcols;
                const int iw0 = ow * g->sw - g->pl;
                const int whole = g->dw == 1 && iw0 >= 0 && iw0 + g->kw <= g->w;
                for (int i = 0; i < g->kh; i++) {
                    const int ih = oh * g->sh - g->pt + i * g->dh;
                    float *dst = row + (size_t)i * run;
                    if (ih < 0 || ih >= g->h) {
                        memset(dst, 0, run * sizeof(float));
                        continue;
                    }
                    const float *src = x + ((size_t)b * g->h + ih) * g->w * c;
                    if (whole) {
                        memcpy(dst, src + (size_t)iw0 * c, run * sizeof(float));
                        continue;
                    }
                    for (int j = 0; j < g->kw; j++) {
                        const int iw = iw0 + j * g->dw;
                        if (iw < 0 || iw >= g->w) memset(dst + (size_t)j * c, 0, c * sizeof(float));
                        else memcpy(dst + (size_t)j * c, src + (size_t)iw * c, c * sizeof(float));
                    }
                }
            }
}

/* The adjoint of im2col: dx[...] += dcol[...] for every position a window read. */
static void col2im_add(const conv_geom *g, const float *col, int first, int count, float *dx) {
    const size_t kcols = (size_t)g->kh * g->kw * g->c;
    for (int b = first; b < first + count; b++)
        for (int oh = 0; oh < g->oh; oh++)
            for (int ow = 0; ow < g->ow; ow++) {
                const float *row = col + (((size_t)b * g->oh + oh) * g->ow + ow) * kcols;
                for (int i = 0; i < g->kh; i++) {
                    int ih = oh * g->sh - g->pt + i * g->dh;
                    if (ih < 0 || ih >= g->h) continue;
                    for (int j = 0; j < g->kw; j++) {
                        int iw = ow * g->sw - g->pl + j * g->dw;
                        if (iw < 0 || iw >= g->w) continue;
                        const float *src = row + ((size_t)i * g->kw + j) * g->c;
                        float *dst = dx + (((size_t)b * g->h + ih) * g->w + iw) * g->c;
                        for (int c = 0; c < g->c; c++) dst[c] += src[c];
                    }
                }
            }
}

/* Both run over the pool by examples: each example's rows of col and of dx are its own. */
typedef struct {
    const conv_geom *g;
    const float *src;
    float *dst;
    int to_col;
} col_job;

static void col_task(void *ctx, size_t first, size_t count) {
    const col_job *j = ctx;
    if (j->to_col) im2col(j->g, j->src, (int)first, (int)count, j->dst);
    else col2im_add(j->g, j->src, (int)first, (int)count, j->dst);
}

static void col_run(const nnc_exec *e, const conv_geom *g, const float *src, float *dst, int to_col) {
    col_job j = {g, src, dst, to_col};
    nnc_parallel_range(e->m->pool, (size_t)e->batch, 4, col_task, &j);
}

/* A 1x1 stride-1 unpadded convolution reads x itself as col. */
static int is_pointwise(const conv_geom *g) {
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0;
}

/* Training keeps each layer's col from the forward pass for the kernel's gradient, rather than
 * building it again, unless it is larger than this (floats; 64 MiB). */
#define KEEP_COL_MAX ((size_t)16 << 20)

static size_t col_floats(const nnc_model *m, int id, int batch) {
    conv_geom g;
    geom(m, id, &g);
    return (size_t)batch * g.oh * g.ow * g.kh * g.kw * g.c;
}

static size_t conv_aux(const nnc_model *m, int id, int batch) {
    conv_geom g;
    geom(m, id, &g);
    size_t n = col_floats(m, id, batch);
    return !is_pointwise(&g) && CNODE(m, CNODE(m, id)->in[1])->needs_grad && n <= KEEP_COL_MAX ? n : 0;
}

static size_t conv_work(const nnc_model *m, int id, int batch) {
    conv_geom g;
    geom(m, id, &g);
    size_t col = (size_t)batch * g.oh * g.ow * g.kh * g.kw * g.c;
    size_t bias = CNODE(m, id)->epi_bias >= 0 ? nnc_bias_grad_work((size_t)g.f) : 0;
    return col > bias ? col : bias;
}

static void conv_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *k = NODE(e, y->in[1]);
    conv_geom g;
    geom(e->m, id, &g);
    const int rows = e->batch * g.oh * g.ow, kc = g.kh * g.kw * g.c;
    const float *col = x->value;
    if (!is_pointwise(&g)) {
        float *buf = y->aux ? y->aux : e->m->work;
        col_run(e, &g, x->value, buf, 1);
        col = buf;
    }
    nnc_epilogue epi;
    nnc_gemm_par_ex(e->m->pool, 0, 0, rows, g.f, kc, col, kc, k->value, g.f, 0.0f, y->value, g.f,
                    nnc_epilogue_prepare(e->m, id, &epi));
}

static void conv_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *k = NODE(e, y->in[1]);
    conv_geom g;
    geom(e->m, id, &g);
    const int rows = e->batch * g.oh * g.ow, kc = g.kh * g.kw * g.c;
    float *col = e->m->work;
    int point = is_pointwise(&g);
    nnc_epilogue_backward(e, id); /* before col takes the workspace */
    if (k->needs_grad) {
        const float *src = x->value;
        if (y->aux) {
            src = y->aux; /* kept by the forward pass */
        } else if (!point) {
            col_run(e, &g, x->value, col, 1);
            src = col;
        }
        nnc_gemm_par(e->m->pool, 1, 0, kc, g.f, rows, src, kc, y->grad, g.f, 1.0f, k->grad, g.f);
    }
    if (x->needs_grad) {
        if (point) {
            nnc_gemm_par(e->m->pool, 0, 1, rows, kc, g.f, y->grad, g.f, k->value, g.f, 1.0f, x->grad, kc);
        } else {
                nnc_gemm_par(e->m->pool, 0, 1, rows, kc, g.f, y->grad, g.f, k->value, g.f, 0.0f, col, kc);
            col_run(e, &g, col, x->grad, 0);
        }
    }
}

const nnc_op_def nnc_op_conv = {"conv", conv_infer, conv_forward, conv_backward, conv_aux, conv_work};
