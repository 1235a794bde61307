/* Convolution, channels last (Keras's layouts): x [H, W, C] per example, kernel [kh, kw, C, F],
 * output [OH, OW, F]; 1-D convolution is the same with H = 1 ([L, C], kernel [k, C, F]).
 * Computed as im2col + one matrix multiply over the whole batch, so it shares the optimised
 * GEMM with Dense: col [N·OH·OW, kh·kw·C] · kernel [kh·kw·C, F], with the layer's bias and
 * activation in the product's epilogue when compile fused them (src/ops/epilogue.c). Both
 * passes go through the batch in groups of examples sized so that a group's col stays in
 * cache (see GROUP_BYTES); the backward pass builds each group's col again and computes
 *   dK += colᵀ · dY,  dcol = dY · Kᵀ,  dx += col2im(dcol). */
#include <stdint.h>
#include <string.h>
#include "op_util.h"
#include "epilogue.h"
#include "conv_impl.h"
#include "conv_pool.h"
#include "quant_ops.h"
#include "../backend/cpu/parallel.h"
#include "../backend/cpu/conv_direct.h"

void nnc_conv_geom(const nnc_model *m, int id, conv_geom *g) {
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
    g->groups = y->attr.win.groups > 1 ? y->attr.win.groups : 1;
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
    const int groups = a->win.groups > 1 ? a->win.groups : 1;
    /* a depthwise kernel [kh, kw, C, multiplier] is the grouped kernel [kh, kw, 1, C·multiplier] */
    int kc = a->win.depthwise ? 1 : k->shape.dim[k->shape.rank - 2];
    int f = k->shape.dim[k->shape.rank - 1] * (a->win.depthwise ? c : 1);
    if ((long long)kc * groups != c || (a->win.depthwise && k->shape.dim[k->shape.rank - 2] != c)) {
        snprintf(err, n, "kernel expects %d input channels, the input has %d", a->win.depthwise ?
                 k->shape.dim[k->shape.rank - 2] : kc * groups, c);
        return -1;
    }
    if (f % groups) {
        snprintf(err, n, "%d filters do not split into %d groups", f, groups);
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
    out->dim[r - 1] = f;
    *batched = 1;
    return 0;
}

/* memcpy of a run of floats; the short runs of small C (3 floats for a 3-wide kernel over one
 * channel) become inline moves instead of library calls. */
static inline void copy_run(float *dst, const float *src, size_t n) {
    switch (n) {
    case 1: memcpy(dst, src, 1 * sizeof(float)); break;
    case 2: memcpy(dst, src, 2 * sizeof(float)); break;
    case 3: memcpy(dst, src, 3 * sizeof(float)); break;
    case 4: memcpy(dst, src, 4 * sizeof(float)); break;
    case 5: memcpy(dst, src, 5 * sizeof(float)); break;
    case 6: memcpy(dst, src, 6 * sizeof(float)); break;
    case 7: memcpy(dst, src, 7 * sizeof(float)); break;
    case 8: memcpy(dst, src, 8 * sizeof(float)); break;
    case 9: memcpy(dst, src, 9 * sizeof(float)); break;
    default: memcpy(dst, src, n * sizeof(float)); break;
    }
}

/* col[((n − base)·OH + oh)·OW + ow, (i·kw + j)·C + c] = x[n, oh·sh − pt + i·dh, ow·sw − pl + j·dw, c]
 * for examples first..first+count (base: the example of col's first row). Channels last make a
 * window row that lies inside the image (no column dilation) one contiguous run of kw·C floats,
 * copied at once. */
static void im2col(const conv_geom *g, const float *x, int base, int first, int count, float *col) {
    const size_t c = (size_t)g->c, run = (size_t)g->kw * c, kcols = (size_t)g->kh * run;
    for (int b = first; b < first + count; b++)
        for (int oh = 0; oh < g->oh; oh++)
            for (int ow = 0; ow < g->ow; ow++) {
                float *row = col + (((size_t)(b - base) * g->oh + oh) * g->ow + ow) * kcols;
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
                        copy_run(dst, src + (size_t)iw0 * c, run);
                        continue;
                    }
                    for (int j = 0; j < g->kw; j++) {
                        const int iw = iw0 + j * g->dw;
                        if (iw < 0 || iw >= g->w) memset(dst + (size_t)j * c, 0, c * sizeof(float));
                        else copy_run(dst + (size_t)j * c, src + (size_t)iw * c, c);
                    }
                }
            }
}

/* The adjoint of im2col: dx[...] += dcol[...] for every position a window read. */
static void col2im_add(const conv_geom *g, const float *col, int base, int first, int count,
                       float *dx) {
    const size_t kcols = (size_t)g->kh * g->kw * g->c;
    for (int b = first; b < first + count; b++)
        for (int oh = 0; oh < g->oh; oh++)
            for (int ow = 0; ow < g->ow; ow++) {
                const float *row = col + (((size_t)(b - base) * g->oh + oh) * g->ow + ow) * kcols;
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

/* Grouped convolution: col's row holds group 0's window (kh·kw·cg floats, cg = c / groups),
 * then group 1's, ...; the group's run of cg channels at each cell is one copy. With one group
 * this is im2col's layout, which keeps that faster path. */
static void im2col_grouped(const conv_geom *g, const float *x, int base, int first, int count, float *col) {
    const size_t cg = (size_t)(g->c / g->groups), taps = (size_t)g->kh * g->kw, kcols = taps * g->c;
    for (int b = first; b < first + count; b++)
        for (int oh = 0; oh < g->oh; oh++)
            for (int ow = 0; ow < g->ow; ow++) {
                float *row = col + (((size_t)(b - base) * g->oh + oh) * g->ow + ow) * kcols;
                for (int i = 0; i < g->kh; i++)
                    for (int j = 0; j < g->kw; j++) {
                        const int ih = oh * g->sh - g->pt + i * g->dh, iw = ow * g->sw - g->pl + j * g->dw;
                        const int in = ih >= 0 && ih < g->h && iw >= 0 && iw < g->w;
                        const float *src = x + (((size_t)b * g->h + (in ? ih : 0)) * g->w + (in ? iw : 0)) * g->c;
                        for (int q = 0; q < g->groups; q++) {
                            float *dst = row + ((size_t)q * taps + (size_t)i * g->kw + j) * cg;
                            if (in) copy_run(dst, src + q * cg, cg);
                            else memset(dst, 0, cg * sizeof(float));
                        }
                    }
            }
}

static void col2im_add_grouped(const conv_geom *g, const float *col, int base, int first, int count, float *dx) {
    const size_t cg = (size_t)(g->c / g->groups), taps = (size_t)g->kh * g->kw, kcols = taps * g->c;
    for (int b = first; b < first + count; b++)
        for (int oh = 0; oh < g->oh; oh++)
            for (int ow = 0; ow < g->ow; ow++) {
                const float *row = col + (((size_t)(b - base) * g->oh + oh) * g->ow + ow) * kcols;
                for (int i = 0; i < g->kh; i++)
                    for (int j = 0; j < g->kw; j++) {
                        const int ih = oh * g->sh - g->pt + i * g->dh, iw = ow * g->sw - g->pl + j * g->dw;
                        if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) continue;
                        float *dst = dx + (((size_t)b * g->h + ih) * g->w + iw) * g->c;
                        for (int q = 0; q < g->groups; q++) {
                            const float *src = row + ((size_t)q * taps + (size_t)i * g->kw + j) * cg;
                            for (size_t c = 0; c < cg; c++) dst[q * cg + c] += src[c];
                        }
                    }
            }
}

/* Both run over the pool by examples: each example's rows of col and of dx are its own. */
typedef struct {
    const conv_geom *g;
    const float *src;
    float *dst;
    int to_col, base;
    int store; /* col2im: this op writes dx first, so each example's dx is zeroed here */
} col_job;

/* Cloned for AVX2 (picked at load time): col2im's adds vectorise 8 wide. */
__attribute__((target_clones("avx2", "default")))
static void col_task(void *ctx, size_t first, size_t count) {
    const col_job *j = ctx;
    const int b = j->base + (int)first;
    const int grouped = j->g->groups > 1;
    if (j->to_col) {
        if (grouped) im2col_grouped(j->g, j->src, j->base, b, (int)count, j->dst);
        else im2col(j->g, j->src, j->base, b, (int)count, j->dst);
        return;
    }
    if (j->store) {
        const size_t per = (size_t)j->g->h * j->g->w * j->g->c;
        memset(j->dst + (size_t)b * per, 0, (size_t)count * per * sizeof(float));
    }
    if (grouped) col2im_add_grouped(j->g, j->src, j->base, b, (int)count, j->dst);
    else col2im_add(j->g, j->src, j->base, b, (int)count, j->dst);
}

/* im2col (to_col) or col2im for examples base..base+count; col's first row is example base's. */
void nnc_conv_col_run(const nnc_exec *e, const conv_geom *g, const float *src, float *dst, int to_col,
                    int base, int count, int store) {
    col_job j = {g, src, dst, to_col, base, store};
    nnc_parallel_range(e->m->pool, (size_t)count, 2, col_task, &j);
}

/* A 1x1 stride-1 unpadded convolution reads x itself as col. */
int nnc_conv_is_pointwise(const conv_geom *g) {
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0;
}

/* The batch goes through in groups of examples whose col fits in about GROUP_BYTES per thread
 * (a share of L2), so col and dcol are written and read back in cache and never travel to
 * memory: on B3 they were 18 MB each per step. Every output and gradient element keeps its one
 * summation order whatever the grouping (the kernel gradient continues its k chain from one
 * group to the next, which rounds nothing: see src/backend/cpu/gemm_simd.h), so the group size
 * may follow the thread count without changing a bit of the result. */
#define GROUP_BYTES ((size_t)1 << 20)

static size_t col_floats_per_example(const conv_geom *g) {
    return (size_t)g->oh * g->ow * g->kh * g->kw * g->c;
}

/* Examples per group when each takes `per` floats of the workspace and `extra` floats follow
 * the group's; work_floats (0: no bound) caps it at what the plan gave the workspace, should
 * the thread count have grown since. */
int nnc_conv_group_size(size_t per, size_t extra, int batch, int threads, size_t work_floats) {
    size_t n = GROUP_BYTES * (size_t)threads / (per * sizeof(float));
    if (work_floats && n * per + extra > work_floats) n = (work_floats - extra) / per;
    return n < 1 ? 1 : n > (size_t)batch ? batch : (int)n;
}

static size_t conv_work(const nnc_model *m, int id, int batch) {
    if (CNODE(m, id)->qlayer >= 0) return nnc_qconv_work(m, id, batch); /* inference only */
    conv_geom g;
    nnc_conv_geom(m, id, &g);
    const size_t per = col_floats_per_example(&g);
    size_t col = nnc_conv_is_depthwise(&g) ? 0 : (size_t)nnc_conv_group_size(per, 0, batch, nnc_pool_threads(m->pool), 0) * per;
    size_t bias = CNODE(m, id)->epi_bias >= 0 ? nnc_bias_grad_work((size_t)g.f) : 0;
    return col > bias ? col : bias;
}

static int exec_group_size(const nnc_exec *e, const conv_geom *g) {
    return nnc_conv_group_size(col_floats_per_example(g), 0, e->batch, nnc_pool_threads(e->m->pool),
                      e->m->work_floats);
}

/* The direct convolution (src/backend/cpu/conv_direct.h) takes unpadded windows without column
 * dilation or groups, when this CPU runs it; it gives im2col + GEMM's bits. A 1x1 convolution
 * already reads x as col. */
int nnc_conv_direct_shape(const conv_geom *g, nnc_dconv *s) {
    *s = (nnc_dconv){g->h, g->w, g->c, g->oh, g->ow, g->f, g->kh, g->kw, g->sh, g->sw, g->dh};
    return nnc_dconv_available() && g->groups == 1 && g->dw == 1 && g->pt == 0 && g->pl == 0 &&
           !nnc_conv_is_pointwise(g) && (g->oh - 1) * g->sh + (g->kh - 1) * g->dh < g->h &&
           (g->ow - 1) * g->sw + g->kw <= g->w;
}

typedef struct {
    const nnc_dconv *s;
    const float *x, *kernel;
    float *y;
    const nnc_gemm_epilogue *ep;
} direct_job;

/* Output rows first .. first + count − 1 of the batch (example b's row r is b·OH + r), in runs
 * within one example, each run's pixels then through the epilogue while in cache. */
static void direct_task(void *ctx, size_t first, size_t count) {
    const direct_job *j = ctx;
    const nnc_dconv *s = j->s;
    const size_t per_x = (size_t)s->h * s->w * s->c, row_y = (size_t)s->ow * s->f;
    for (size_t u = first; u < first + count;) {
        const size_t b = u / (size_t)s->oh, r = u % (size_t)s->oh;
        const size_t n = (size_t)s->oh - r < first + count - u ? (size_t)s->oh - r : first + count - u;
        float *y = j->y + u * row_y;
        nnc_dconv_rows(s, j->x + b * per_x, j->kernel, (int)r, (int)n, s->ow, y, (ptrdiff_t)row_y);
        if (j->ep) j->ep->fn(j->ep->ctx, y, s->f, (int)(n * (size_t)s->ow), j->ep->col0, s->f);
        u += n;
    }
}

/* y (count examples from x) = the direct convolution with its epilogue, over the pool by output
 * rows. */
void nnc_conv_direct_run(const nnc_exec *e, const nnc_dconv *s, const float *x, const float *kernel, int count,
                         float *y, const nnc_gemm_epilogue *ep) {
    direct_job j = {s, x, kernel, y, ep};
    nnc_parallel_range(e->m->pool, (size_t)count * s->oh, 2, direct_task, &j);
}

/* With groups, group q multiplies its columns of col, [rows, kcg] at column q·kcg, by its
 * filters, the kernel's columns q·fg.., into the output's columns q·fg..: one GEMM per group
 * over strided views, so one group is exactly the plain product. */
static void conv_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *k = NODE(e, y->in[1]);
    if (y->qlayer >= 0) {
        nnc_qconv_forward(e, id);
        return;
    }
    conv_geom g;
    nnc_conv_geom(e->m, id, &g);
    const int kc = g.kh * g.kw * g.c, point = nnc_conv_is_pointwise(&g), gs = exec_group_size(e, &g);
    const int kcg = kc / g.groups, fg = g.f / g.groups;
    const size_t px = (size_t)g.oh * g.ow; /* output positions (col rows) per example */
    nnc_epilogue epi;
    const nnc_gemm_epilogue *ep = nnc_epilogue_prepare(e->m, id, &epi);
    if (nnc_conv_is_depthwise(&g)) {
        nnc_conv_depthwise_forward(e, id, &g, ep);
        return;
    }
    /* in inference the max pooling reading this alone computes it (src/ops/conv_pool.c) */
    if (y->infer_pool >= 0 && nnc_conv_pool_infer_ok(e, y->infer_pool)) return;
    nnc_dconv s;
    if (nnc_conv_direct_shape(&g, &s)) {
        nnc_conv_direct_run(e, &s, x->value, k->value, e->batch, y->value, ep);
        return;
    }
    for (int b0 = 0; b0 < e->batch; b0 += gs) {
        const int nb = e->batch - b0 < gs ? e->batch - b0 : gs;
        const float *col = x->value + (size_t)b0 * px * kc;
        if (!point) {
            nnc_conv_col_run(e, &g, x->value, e->m->work, 1, b0, nb, 0);
            col = e->m->work;
        }
        for (int q = 0; q < g.groups; q++) {
            nnc_gemm_epilogue eq;
            if (ep) eq = *ep, eq.col0 += q * fg; /* the bias of this group's columns */
            nnc_gemm_par_ex(e->m->pool, 0, 0, nb * (int)px, fg, kcg, col + (size_t)q * kcg, kc,
                            k->value + (size_t)q * fg, g.f, 0.0f, y->value + (size_t)b0 * px * g.f + (size_t)q * fg,
                            g.f, ep ? &eq : NULL);
        }
    }
}

static void conv_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *k = NODE(e, y->in[1]);
    conv_geom g;
    nnc_conv_geom(e->m, id, &g);
    const int kc = g.kh * g.kw * g.c, point = nnc_conv_is_pointwise(&g), gs = exec_group_size(e, &g);
    const int kcg = kc / g.groups, fg = g.f / g.groups;
    const size_t px = (size_t)g.oh * g.ow;
    nnc_epilogue_backward(e, id); /* whole tensor, before the groups take the workspace */
    if (nnc_conv_is_depthwise(&g)) {
        nnc_conv_depthwise_backward(e, id, &g);
        return;
    }
    for (int b0 = 0; b0 < e->batch; b0 += gs) {
        const int nb = e->batch - b0 < gs ? e->batch - b0 : gs, rows = nb * (int)px;
        const float *dy = y->grad + (size_t)b0 * px * g.f;
        if (k->needs_grad) { /* dK += colᵀ · dY */
            const float *col = x->value + (size_t)b0 * px * kc;
            if (!point) {
                nnc_conv_col_run(e, &g, x->value, e->m->work, 1, b0, nb, 0);
                col = e->m->work;
            }
            for (int q = 0; q < g.groups; q++)
                nnc_gemm_par(e->m->pool, 1, 0, kcg, fg, rows, col + (size_t)q * kcg, kc, dy + (size_t)q * fg, g.f,
                             1.0f, k->grad + (size_t)q * fg, g.f);
        }
        if (!x->needs_grad) continue;
        const int store = x->grad_overwrite == id; /* dx is this op's alone: = rather than += */
        /* dx += dY · Kᵀ (pointwise), else dcol = dY · Kᵀ over this group's col, dx += col2im(dcol) */
        float *dst = point ? x->grad + (size_t)b0 * px * kc : e->m->work;
        for (int q = 0; q < g.groups; q++)
            nnc_gemm_par(e->m->pool, 0, 1, rows, kcg, fg, dy + (size_t)q * fg, g.f, k->value + (size_t)q * fg, g.f,
                         point && !store ? 1.0f : 0.0f, dst + (size_t)q * kcg, kc);
        if (!point) nnc_conv_col_run(e, &g, e->m->work, x->grad, 0, b0, nb, store);
    }
}

const nnc_op_def nnc_op_conv = {"conv", conv_infer, conv_forward, conv_backward, NULL, conv_work};
