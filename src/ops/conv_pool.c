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
    const int p = CNODE(m, pool_id)->pool_conv;
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

static const float *fused_col(const nnc_exec *e, const fused_plan *f, int b0, int nb) {
    const nnc_node_rec *x = NODE(e, NODE(e, f->p)->in[0]);
    if (f->point) return x->value + (size_t)b0 * f->px * f->kc;
    nnc_conv_col_run(e, &f->g, x->value, f->col, 1, b0, nb, 0);
    return f->col;
}

void nnc_conv_pool_forward(const nnc_exec *e, int pool_id) {
    fused_plan f;
    fused_setup(e, pool_id, &f);
    const nnc_node_rec *k = NODE(e, NODE(e, f.p)->in[1]);
    nnc_epilogue epi;
    const nnc_gemm_epilogue *ep = nnc_epilogue_prepare(e->m, f.p, &epi);
    for (int b0 = 0; b0 < e->batch; b0 += f.gs) {
        const int nb = e->batch - b0 < f.gs ? e->batch - b0 : f.gs;
        if (NODE(e, f.p)->qlayer >= 0) { /* int8: inference only, so no backward needs col */
            nnc_qconv_group(e, f.p, b0, nb, f.col, f.out, ep);
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

