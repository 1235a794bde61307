#include <float.h>
#include <stdint.h>
#include <string.h>
#include "conv_impl.h"
#include "conv_pool.h"
#include "epilogue.h"
#include "quant_ops.h"
#include "../backend/cpu/parallel.h"

/* Convolution + ReLU + max pooling as one op (conv_pool.h), run by the pooling node q; the
 * convolution p keeps its attributes and epilogue (bias, ReLU) but has no buffers. Per group of examples, in the workspace: col, then the convolution's
 * output for the group (forward), or its gradient (backward), which is zero but at each
 * window's maximum, where it is q's gradient when the maximum is positive (ReLU). The bias
 * sums go chunk by chunk exactly as nnc_bias_grad's, and the kernel gradient continues its
 * chain from group to group, so the result is the separate ops' to the bit. The convolution's
 * input takes no gradient (the fusion is only made for a first layer). */

/* A group's workspace per example: its col rows (an int8 convolution: its quantized input and
 * col, src/ops/quant.c), then its convolution output rows. */
static size_t col_floats_per_example(const nnc_model *m, int p, const conv_geom *g) {
    if (CNODE(m, p)->qlayer >= 0) return nnc_qconv_ws_floats(m, p, 1);
    return (size_t)g->oh * g->ow * (size_t)g->kh * g->kw * g->c;
}

static size_t fused_floats_per_example(const nnc_model *m, int p, const conv_geom *g) {
    return col_floats_per_example(m, p, g) + (size_t)g->oh * g->ow * (size_t)g->f;
}

size_t nnc_conv_pool_work(const nnc_model *m, int pool_id, int batch) {
    conv_geom g;
    const nnc_node_rec *q = CNODE(m, pool_id);
    if (q->pool_conv < 0) return 0; /* inference only: nothing */
    const int p = q->pool_conv;
    nnc_conv_geom(m, p, &g);
    const size_t per = fused_floats_per_example(m, p, &g), extra = nnc_bias_grad_work((size_t)g.f);
    return (size_t)nnc_conv_group_size(per, extra, batch, nnc_pool_threads(m->pool), 0) * per + extra;
}

/* The group's workspace: col [rows, kc], then the convolution's rows [rows, f], then (after
 * the largest group) the bias partial sums. */
typedef struct {
    conv_geom g;
    int p, gs, kc, point;
    size_t px;
    float *col, *out, *partial;
} fused_plan;

static void fused_setup(const nnc_exec *e, int pool_id, fused_plan *f) {
    f->p = NODE(e, pool_id)->pool_conv;
    nnc_conv_geom(e->m, f->p, &f->g);
    f->gs = nnc_conv_group_size(fused_floats_per_example(e->m, f->p, &f->g), nnc_bias_grad_work((size_t)f->g.f), e->batch,
                       nnc_pool_threads(e->m->pool), e->m->work_floats);
    f->kc = f->g.kh * f->g.kw * f->g.c;
    f->point = nnc_conv_is_pointwise(&f->g);
    f->px = (size_t)f->g.oh * f->g.ow;
    f->col = e->m->work;
    f->out = f->col + (size_t)f->gs * col_floats_per_example(e->m, f->p, &f->g);
    f->partial = f->out + (size_t)f->gs * f->px * f->g.f;
}

/* Inference (nothing reads the argmax or the convolution's output): the direct convolution
 * (conv_direct.h) of the rows under one row of pooling windows at a time, its epilogue and the
 * windows' maxima, through a buffer on the stack. The same values as the separate ops: the
 * same chains, the same epilogue, the same comparisons in the same order (pooling.c). */
#define INFER_FLOATS 8192 /* the stack buffer: 32 KiB */

typedef struct {
    const nnc_dconv *s;
    const float *x, *kernel;
    const nnc_epilogue *epi;
    float *y;
    int ph, pw, kh, kw;
} infer_job;

__attribute__((target_clones("avx2", "default")))
static void pool_rows(const float *restrict buf, int f, int cols, int pw, int kh, int kw, float *restrict y) {
    for (int o = 0; o < pw; o++) {
        float *restrict best = y + (size_t)o * f;
        for (int c = 0; c < f; c++) best[c] = -FLT_MAX;
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++) {
                const float *restrict v = buf + ((size_t)i * cols + (size_t)o * kw + j) * f;
                for (int c = 0; c < f; c++) best[c] = v[c] > best[c] || (v[c] != v[c] && best[c] == best[c]) ? v[c] : best[c];
            }
    }
}

static void infer_task(void *ctx, size_t first, size_t count) {
    const infer_job *j = ctx;
    const nnc_dconv *s = j->s;
    _Alignas(64) float buf[INFER_FLOATS];
    const int cols = j->pw * j->kw;
    for (size_t u = first; u < first + count; u++) {
        const size_t b = u / (size_t)j->ph, p = u % (size_t)j->ph;
        nnc_dconv_rows(s, j->x + b * (size_t)s->h * s->w * s->c, j->kernel, (int)p * j->kh, j->kh, cols, buf,
                       (ptrdiff_t)cols * s->f);
        float *y = j->y + u * (size_t)j->pw * s->f;
        if (j->epi->bias) { /* ReLU after the bias: one pass with the pooling */
            nnc_dconv_bias_relu_pool(buf, j->epi->bias, s->f, cols, j->pw, j->kh, j->kw, y);
            continue;
        }
        j->epi->ep.fn(j->epi->ep.ctx, buf, s->f, j->kh * cols, j->epi->ep.col0, s->f);
        pool_rows(buf, s->f, cols, j->pw, j->kh, j->kw, y);
    }
}

/* The convolution pooling node q computes in inference, or -1. */
static int infer_conv_of(const nnc_exec *e, int pool_id) {
    const nnc_node_rec *q = NODE(e, pool_id);
    if (e->training) return -1;
    return q->pool_conv >= 0 ? q->pool_conv : q->infer_conv;
}

int nnc_conv_pool_infer_ok(const nnc_exec *e, int pool_id) {
    const int p = infer_conv_of(e, pool_id);
    if (p < 0 || NODE(e, p)->qlayer >= 0) return 0; /* an int8 convolution multiplies in its own op */
    const nnc_node_rec *q = NODE(e, pool_id);
    conv_geom g;
    nnc_dconv s;
    nnc_conv_geom(e->m, p, &g);
    const int kh = q->attr.win.kh, kw = q->attr.win.kw;
    return nnc_conv_direct_shape(&g, &s) && q->attr.win.pt == 0 && q->attr.win.pl == 0 &&
           q->shape.dim[0] * kh <= g.oh && q->shape.dim[1] * kw <= g.ow &&
           (size_t)kh * kw * q->shape.dim[1] * g.f <= INFER_FLOATS;
}

void nnc_conv_pool_infer(const nnc_exec *e, int pool_id) {
    const int p = infer_conv_of(e, pool_id);
    const nnc_node_rec *q = NODE(e, pool_id), *pc = NODE(e, p);
    conv_geom g;
    nnc_dconv s;
    nnc_conv_geom(e->m, p, &g);
    nnc_conv_direct_shape(&g, &s);
    nnc_epilogue epi;
    nnc_epilogue_prepare(e->m, p, &epi); /* ReLU (fuse.c), with or without a bias */
    infer_job j = {&s, NODE(e, pc->in[0])->value, NODE(e, pc->in[1])->value, &epi, q->value, q->shape.dim[0], q->shape.dim[1],
                   q->attr.win.kh, q->attr.win.kw};
    nnc_parallel_range(e->m->pool, (size_t)e->batch * j.ph, 2, infer_task, &j);
}

static const float *fused_col(const nnc_exec *e, const fused_plan *f, int b0, int nb) {
    const nnc_node_rec *x = NODE(e, NODE(e, f->p)->in[0]);
    if (f->point) return x->value + (size_t)b0 * f->px * f->kc;
    nnc_conv_col_run(e, &f->g, x->value, f->col, 1, b0, nb, 0);
    return f->col;
}

void nnc_conv_pool_forward(const nnc_exec *e, int pool_id) {
    if (nnc_conv_pool_infer_ok(e, pool_id)) {
        nnc_conv_pool_infer(e, pool_id);
        return;
    }
    fused_plan f;
    fused_setup(e, pool_id, &f);
    const nnc_node_rec *k = NODE(e, NODE(e, f.p)->in[1]);
    nnc_epilogue epi;
    const nnc_gemm_epilogue *ep = nnc_epilogue_prepare(e->m, f.p, &epi);
    nnc_dconv s;
    const int direct = nnc_conv_direct_shape(&f.g, &s);
    const float *x = NODE(e, NODE(e, f.p)->in[0])->value;
    for (int b0 = 0; b0 < e->batch; b0 += f.gs) {
        const int nb = e->batch - b0 < f.gs ? e->batch - b0 : f.gs;
        if (NODE(e, f.p)->qlayer >= 0) { /* int8: inference only, so no backward needs col */
            nnc_qconv_group(e, f.p, b0, nb, f.col, f.out, ep);
            nnc_max_pool_examples(e, pool_id, f.out, b0, nb);
            continue;
        }
        if (direct) {
            nnc_conv_direct_run(e, &s, x + (size_t)b0 * s.h * s.w * s.c, k->value, nb, f.out, ep);
            nnc_max_pool_examples(e, pool_id, f.out, b0, nb);
            continue;
        }
        const float *col = fused_col(e, &f, b0, nb);
        nnc_gemm_par_ex(e->m->pool, 0, 0, nb * (int)f.px, f.g.f, f.kc, col, f.kc, k->value, f.g.f,
                        0.0f, f.out, f.g.f, ep);
        nnc_max_pool_examples(e, pool_id, f.out, b0, nb);
    }
}

/* The group's output gradient: q's gradient at each window's maximum when it is positive, zero
 * elsewhere. Written row by row in order rather than zeroed and scattered into: each output
 * element compares its own offset with its window's argmax, which vectorises over channels. */
typedef struct {
    const nnc_node_rec *q;
    const conv_geom *g;
    float *out;
    int b0;
} spread_job;

__attribute__((target_clones("avx2", "default")))
static void spread_task(void *ctx, size_t first, size_t count) {
    const spread_job *j = ctx;
    const conv_geom *g = j->g;
    const int PH = j->q->shape.dim[0], PW = j->q->shape.dim[1], C = g->f;
    const int kh = j->q->attr.win.kh, kw = j->q->attr.win.kw, pt = j->q->attr.win.pt, pl = j->q->attr.win.pl;
    const uint32_t *restrict arg = (const uint32_t *)j->q->aux;
    const float *restrict qv = j->q->value, *restrict qg = j->q->grad;
    for (size_t b = (size_t)j->b0 + first; b < (size_t)j->b0 + first + count; b++)
        for (int oh = 0; oh < g->oh; oh++)
            for (int ow = 0; ow < g->ow; ow++) {
                const size_t row = ((b * g->oh + oh) * g->ow + ow) * (size_t)C; /* arg's offsets */
                float *restrict o = j->out + row - (size_t)j->b0 * g->oh * g->ow * C;
                /* the one window holding this position (windows do not overlap), if any */
                const int ph = (oh + pt) / kh, pw = (ow + pl) / kw;
                if (ph >= PH || pw >= PW) {
                    for (int c = 0; c < C; c++) o[c] = 0.0f;
                    continue;
                }
                const size_t p = ((b * PH + ph) * PW + pw) * (size_t)C;
                const uint32_t at = (uint32_t)row;
                const uint32_t *restrict a = arg + p;
                const float *restrict v = qv + p, *restrict gq = qg + p;
                for (int c = 0; c < C; c++) { /* as max pooling's scatter, then ReLU's mask */
                    const int hit = (a[c] == at + (uint32_t)c) & (v[c] > 0.0f);
                    const float d = 0.0f + gq[c]; /* loaded always, so the select vectorises */
                    o[c] = hit ? d : 0.0f;
                }
            }
}

void nnc_conv_pool_backward(const nnc_exec *e, int pool_id) {
    fused_plan f;
    fused_setup(e, pool_id, &f);
    const nnc_node_rec *q = NODE(e, pool_id), *p = NODE(e, f.p), *k = NODE(e, p->in[1]);
    const nnc_node_rec *b = p->epi_bias >= 0 ? NODE(e, p->epi_bias) : NULL;
    const int bias = b && b->needs_grad;
    const size_t c = (size_t)f.g.f, rows = (size_t)e->batch * f.px, chunk = op_sum_chunk_rows(rows);
    if (bias) memset(f.partial, 0, nnc_bias_grad_work(c) * sizeof(float));
    for (int b0 = 0; b0 < e->batch; b0 += f.gs) {
        const int nb = e->batch - b0 < f.gs ? e->batch - b0 : f.gs;
        spread_job sj = {q, &f.g, f.out, b0};
        nnc_parallel_range(e->m->pool, (size_t)nb, 2, spread_task, &sj);
        if (bias)
            for (size_t r = 0; r < (size_t)nb * f.px; r++) {
                float *restrict part = f.partial + ((size_t)b0 * f.px + r) / chunk * c;
                const float *restrict g = f.out + r * c;
                for (size_t j = 0; j < c; j++) part[j] += g[j];
            }
        if (k->needs_grad) {
            const float *col = fused_col(e, &f, b0, nb);
            nnc_gemm_par(e->m->pool, 1, 0, f.kc, f.g.f, nb * (int)f.px, col, f.kc, f.out, f.g.f, 1.0f,
                         k->grad, f.g.f);
        }
    }
    if (bias) nnc_bias_grad_combine(f.partial, rows, c, b->grad);
}

