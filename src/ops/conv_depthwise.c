/* The depthwise convolution (CONV with one group per input channel: DepthwiseConv2D,
 * SeparableConv2D's first half), computed directly rather than by im2col and one product per
 * channel: each output value is a kh·kw-term sum, and one product per channel of N = depth
 * multiplier columns spent its time in the GEMM's packing (a training step of a 3x3
 * DepthwiseConv2D on 32 examples of 32x32x32 took 1.4 times a full Conv2D's of the same size,
 * with 1/32 of its arithmetic; directly, about half, on a busy 2-core machine). Channels last
 * keep the innermost loop on contiguous channels, where it vectorises.
 *   y[p, c·dm + j] = Σ_taps x[p + tap, c] · K[tap, c·dm + j]      (K read as [kh·kw, C·dm])
 *   dK[tap, f] += Σ_p dy[p, f] · x[p + tap, f / dm]     one task per tap, positions in order
 *   dx[q, c]  += Σ dy[p, c·dm + j] · K[tap, c·dm + j]   one task per example, scattered in order
 * Every sum runs in an order fixed by the shape, so any thread count gives the same bits. */
#include <stddef.h>
#include <string.h>
#include "conv_impl.h"
#include "epilogue.h"
#include "../backend/cpu/parallel.h"

typedef struct {
    conv_geom g;
    const float *x, *k, *dy;
    float *y, *dx, *dk;
    const nnc_gemm_epilogue *ep;
    int store; /* dx is this op's alone: zeroed here, then added to */
} dw_job;

/* The offset of the input cell under tap (i, j) of output (oh, ow) of example b, or -1
 * outside the image (padding). */
static inline ptrdiff_t cell(const conv_geom *g, size_t b, int oh, int ow, int i, int j) {
    const int ih = oh * g->sh - g->pt + i * g->dh, iw = ow * g->sw - g->pl + j * g->dw;
    if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) return -1;
    return (ptrdiff_t)(((b * (size_t)g->h + (size_t)ih) * g->w + (size_t)iw) * g->c);
}

__attribute__((target_clones("avx2", "default")))
static void forward_task(void *ctx, size_t first, size_t count) {
    const dw_job *t = ctx;
    const conv_geom *g = &t->g;
    const int dm = g->f / g->c, F = g->f;
    for (size_t b = first; b < first + count; b++) {
        float *yb = t->y + b * (size_t)g->oh * g->ow * F;
        for (int oh = 0; oh < g->oh; oh++)
            for (int ow = 0; ow < g->ow; ow++) {
                float *restrict yo = yb + ((size_t)oh * g->ow + ow) * F;
                memset(yo, 0, (size_t)F * sizeof(float));
                for (int i = 0; i < g->kh; i++)
                    for (int j = 0; j < g->kw; j++) {
                        const ptrdiff_t at = cell(g, b, oh, ow, i, j);
                        if (at < 0) continue;
                        const float *restrict xi = t->x + at, *restrict kt = t->k + ((size_t)i * g->kw + j) * F;
                        if (dm == 1)
                            for (int f = 0; f < F; f++) yo[f] += xi[f] * kt[f];
                        else
                            for (int c = 0; c < g->c; c++)
                                for (int q = 0; q < dm; q++) yo[c * dm + q] += xi[c] * kt[c * dm + q];
                    }
            }
        if (t->ep) t->ep->fn(t->ep->ctx, yb, F, g->oh * g->ow, t->ep->col0, F);
    }
}

/* dK's row of tap `first + k`: the sum over every example and position, in order. */
__attribute__((target_clones("avx2", "default")))
static void kernel_grad_task(void *ctx, size_t first, size_t count, size_t batch) {
    const dw_job *t = ctx;
    const conv_geom *g = &t->g;
    const int dm = g->f / g->c, F = g->f;
    for (size_t tap = first; tap < first + count; tap++) {
        const int i = (int)tap / g->kw, j = (int)tap % g->kw;
        float *restrict dk = t->dk + tap * F;
        for (size_t b = 0; b < batch; b++)
            for (int oh = 0; oh < g->oh; oh++)
                for (int ow = 0; ow < g->ow; ow++) {
                    const ptrdiff_t at = cell(g, b, oh, ow, i, j);
                    if (at < 0) continue;
                    const float *restrict xi = t->x + at;
                    const float *restrict d = t->dy + ((b * g->oh + (size_t)oh) * g->ow + (size_t)ow) * F;
                    if (dm == 1)
                        for (int f = 0; f < F; f++) dk[f] += d[f] * xi[f];
                    else
                        for (int c = 0; c < g->c; c++)
                            for (int q = 0; q < dm; q++) dk[c * dm + q] += d[c * dm + q] * xi[c];
                }
    }
}

typedef struct {
    const dw_job *t;
    size_t batch;
} kgrad_ctx;

static void kernel_grad_range(void *ctx, size_t first, size_t count) {
    const kgrad_ctx *k = ctx;
    kernel_grad_task((void *)k->t, first, count, k->batch);
}

__attribute__((target_clones("avx2", "default")))
static void input_grad_task(void *ctx, size_t first, size_t count) {
    const dw_job *t = ctx;
    const conv_geom *g = &t->g;
    const int dm = g->f / g->c, F = g->f;
    const size_t per = (size_t)g->h * g->w * g->c;
    if (t->store) memset(t->dx + first * per, 0, count * per * sizeof(float));
    for (size_t b = first; b < first + count; b++)
        for (int oh = 0; oh < g->oh; oh++)
            for (int ow = 0; ow < g->ow; ow++) {
                const float *restrict d = t->dy + ((b * g->oh + (size_t)oh) * g->ow + (size_t)ow) * F;
                for (int i = 0; i < g->kh; i++)
                    for (int j = 0; j < g->kw; j++) {
                        const ptrdiff_t at = cell(g, b, oh, ow, i, j);
                        if (at < 0) continue;
                        float *restrict dx = t->dx + at;
                        const float *restrict kt = t->k + ((size_t)i * g->kw + j) * F;
                        if (dm == 1)
                            for (int f = 0; f < F; f++) dx[f] += d[f] * kt[f];
                        else
                            for (int c = 0; c < g->c; c++) {
                                float s = 0.0f;
                                for (int q = 0; q < dm; q++) s += d[c * dm + q] * kt[c * dm + q];
                                dx[c] += s;
                            }
                    }
            }
}

int nnc_conv_is_depthwise(const conv_geom *g) { return g->groups > 1 && g->groups == g->c; }

void nnc_conv_depthwise_forward(const nnc_exec *e, int id, const conv_geom *g, const nnc_gemm_epilogue *ep) {
    const nnc_node_rec *y = NODE(e, id);
    dw_job t = {*g, NODE(e, y->in[0])->value, NODE(e, y->in[1])->value, NULL, y->value, NULL, NULL, ep, 0};
    nnc_parallel_range(e->m->pool, (size_t)e->batch, 1, forward_task, &t);
}

/* After nnc_epilogue_backward: y's grad is the gradient before the bias and activation. */
void nnc_conv_depthwise_backward(const nnc_exec *e, int id, const conv_geom *g) {
    const nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *k = NODE(e, y->in[1]);
    dw_job t = {*g, x->value, k->value, y->grad, NULL, x->grad, k->grad, NULL, x->grad_overwrite == id};
    if (k->needs_grad) {
        kgrad_ctx kc = {&t, (size_t)e->batch};
        nnc_parallel_range(e->m->pool, (size_t)g->kh * g->kw, 1, kernel_grad_range, &kc);
    }
    if (x->needs_grad) nnc_parallel_range(e->m->pool, (size_t)e->batch, 1, input_grad_task, &t);
}
