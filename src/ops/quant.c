/* Int8 forward passes (quant_ops.h). Only the products are int8: the input is quantized per
 * tensor (its calibrated scale), the kernel per output channel, the int32 sums are exact, and
 * each sum times in_scale·w_scale[j] becomes the float that the bias and activation take.
 * Every step is elementwise or one exact sum, so any thread count gives the same bits. */
#include <stdint.h>
#include <string.h>
#include "quant_ops.h"
#include "epilogue.h"
#include "conv_impl.h"
#include "../core/quant.h"
#include "../backend/cpu/qgemm.h"
#include "../backend/cpu/parallel.h"

static size_t bytes_as_floats(size_t bytes) { return (bytes + sizeof(float) - 1) / sizeof(float); }

typedef struct {
    const float *x;
    ptrdiff_t ldx;
    int k, lda;
    float inv;
    uint8_t *a;
} quantize_job;

static void quantize_task(void *ctx, size_t first, size_t count) {
    const quantize_job *j = ctx;
    nnc_quantize_rows(j->x + (ptrdiff_t)first * j->ldx, (int)count, j->k, j->ldx, j->inv,
                      j->a + first * (size_t)j->lda, j->lda);
}

/* The rows' quantized copy, split over the pool by rows. */
static void quantize(const nnc_exec *e, const nnc_qlayer *q, const float *x, size_t rows, uint8_t *a) {
    quantize_job j = {x, q->k, q->k, q->lda, q->inv_in_scale, a};
    nnc_parallel_range(e->m->pool, rows, 64, quantize_task, &j);
}

size_t nnc_qmatmul_work(const nnc_model *m, int id, int batch) {
    const nnc_qlayer *q = nnc_quant_of(m, id);
    return bytes_as_floats(op_rows(CNODE(m, CNODE(m, id)->in[0]), batch) * (size_t)q->lda * (q->bits / 8));
}

typedef struct {
    const float *x;
    ptrdiff_t ldx;
    int k, lda;
    uint16_t *a;
} bf16_job;

static void bf16_task(void *ctx, size_t first, size_t count) {
    const bf16_job *j = ctx;
    nnc_bf16_rows(j->x + (ptrdiff_t)first * j->ldx, (int)count, j->k, j->ldx, j->a + first * (size_t)j->lda, j->lda);
}

/* bf16: the rows rounded to bf16 into a (the workspace), then the bf16 product. */
static void bf16_product(const nnc_exec *e, const nnc_qlayer *q, const float *x, size_t rows, uint16_t *a,
                         float *y, const nnc_gemm_epilogue *ep) {
    bf16_job j = {x, q->k, q->k, q->lda, a};
    nnc_parallel_range(e->m->pool, rows, 64, bf16_task, &j);
    nnc_bgemm_par(e->m->pool, (int)rows, q->n, q->k, a, q->lda, q->wbf, y, q->n, ep);
}

void nnc_qmatmul_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const nnc_qlayer *q = nnc_quant_of(e->m, id);
    const size_t rows = op_rows(x, e->batch);
    uint8_t *a = (uint8_t *)e->m->work;
    nnc_epilogue epi;
    if (q->bits == 16) {
        bf16_product(e, q, x->value, rows, (uint16_t *)e->m->work, y->value, nnc_epilogue_prepare(e->m, id, &epi));
        return;
    }
    quantize(e, q, x->value, rows, a);
    nnc_qgemm_par(e->m->pool, q->variant, (int)rows, q->n, q->k, a, q->lda, q->wp, q->comp, q->out_scale,
                  y->value, q->n, nnc_epilogue_prepare(e->m, id, &epi));
}

/* A group of examples at a time, as the float convolution: the group's input quantized (bytes,
 * a quarter of the floats), then its col built from those bytes, both in the workspace. The
 * float col is never made: on B3's second convolution it is 9 times the input. */
static size_t per_example(const conv_geom *g, const nnc_qlayer *q) {
    if (q->bits == 16) /* bf16: the float col (conv.c's im2col), then its bf16 copy */
        return (size_t)g->oh * g->ow * ((size_t)q->k + (size_t)q->lda / 2);
    return bytes_as_floats((size_t)g->h * g->w * g->c) + bytes_as_floats((size_t)g->oh * g->ow * (size_t)q->lda);
}

size_t nnc_qconv_ws_floats(const nnc_model *m, int id, int examples) {
    conv_geom g;
    nnc_conv_geom(m, id, &g);
    return (size_t)examples * per_example(&g, nnc_quant_of(m, id));
}

size_t nnc_qconv_work(const nnc_model *m, int id, int batch) {
    conv_geom g;
    nnc_conv_geom(m, id, &g);
    const size_t per = per_example(&g, nnc_quant_of(m, id));
    return (size_t)nnc_conv_group_size(per, 0, batch, nnc_pool_threads(m->pool), 0) * per;
}

typedef struct {
    const conv_geom *g;
    const uint8_t *xq; /* the group's input, [nb, H, W, C] bytes */
    uint8_t *col;      /* [nb·OH·OW, lda] */
    int lda;
} qcol_job;

/* Runs of a few dozen bytes (B3's second convolution: 96) as inline 16-byte moves, not library
 * calls: a call per run cost as much as the copying. */
static inline void copy_bytes(uint8_t *restrict dst, const uint8_t *restrict src, size_t n) {
    size_t t = 0;
    for (; t + 16 <= n; t += 16) memcpy(dst + t, src + t, 16);
    for (; t < n; t++) dst[t] = src[t];
}

static inline void fill_bytes(uint8_t *dst, size_t n) {
    for (size_t t = 0; t < n; t++) dst[t] = 128;
}

/* im2col over bytes (conv.c's layout); cells outside the image and the row's padding hold the
 * zero point 128. A window row inside the image (no column dilation) is one run of kw·C bytes. */
static void qcol_task(void *ctx, size_t first, size_t count) {
    const qcol_job *j = ctx;
    const conv_geom *g = j->g;
    const size_t c = (size_t)g->c, run = (size_t)g->kw * c;
    for (size_t b = first; b < first + count; b++)
        for (int oh = 0; oh < g->oh; oh++)
            for (int ow = 0; ow < g->ow; ow++) {
                uint8_t *row = j->col + ((b * (size_t)g->oh + (size_t)oh) * (size_t)g->ow + (size_t)ow) * (size_t)j->lda;
                uint8_t *dst = row;
                const int iw0 = ow * g->sw - g->pl, whole = g->dw == 1 && iw0 >= 0 && iw0 + g->kw <= g->w;
                for (int i = 0; i < g->kh; i++, dst += run) {
                    const int ih = oh * g->sh - g->pt + i * g->dh;
                    const uint8_t *src = j->xq + (b * (size_t)g->h + (size_t)(ih < 0 ? 0 : ih)) * (size_t)g->w * c;
                    if (ih < 0 || ih >= g->h) fill_bytes(dst, run);
                    else if (whole) copy_bytes(dst, src + (size_t)iw0 * c, run);
                    else
                        for (int k = 0; k < g->kw; k++) {
                            const int iw = iw0 + k * g->dw;
                            if (iw < 0 || iw >= g->w) fill_bytes(dst + (size_t)k * c, c);
                            else copy_bytes(dst + (size_t)k * c, src + (size_t)iw * c, c);
                        }
                }
                fill_bytes(dst, (size_t)(row + j->lda - dst));
            }
}

void nnc_qconv_group(const nnc_exec *e, int id, int b0, int nb, float *ws, float *out,
                     const nnc_gemm_epilogue *ep) {
    const nnc_node_rec *x = NODE(e, NODE(e, id)->in[0]);
    const nnc_qlayer *q = nnc_quant_of(e->m, id);
    conv_geom g;
    nnc_conv_geom(e->m, id, &g);
    const size_t px = (size_t)g.oh * g.ow, cells = (size_t)g.h * g.w;
    uint8_t *xq = (uint8_t *)ws, *col = (uint8_t *)(ws + bytes_as_floats((size_t)nb * cells * g.c));
    quantize_job qj = {x->value + (size_t)b0 * cells * g.c, g.c, g.c, g.c, q->inv_in_scale, xq};
    nnc_parallel_range(e->m->pool, (size_t)nb * cells, 256, quantize_task, &qj);
    qcol_job cj = {&g, xq, col, q->lda};
    nnc_parallel_range(e->m->pool, (size_t)nb, 2, qcol_task, &cj);
    nnc_qgemm_par(e->m->pool, q->variant, nb * (int)px, q->n, q->k, col, q->lda, q->wp, q->comp, q->out_scale, out,
                  q->n, ep);
}

void nnc_qconv_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    conv_geom g;
    nnc_conv_geom(e->m, id, &g);
    const size_t px = (size_t)g.oh * g.ow, per = per_example(&g, nnc_quant_of(e->m, id));
    const int gs = nnc_conv_group_size(per, 0, e->batch, nnc_pool_threads(e->m->pool), e->m->work_floats);
    nnc_epilogue epi;
    const nnc_gemm_epilogue *ep = nnc_epilogue_prepare(e->m, id, &epi);
    const nnc_qlayer *q = nnc_quant_of(e->m, id);
    const float *xv = NODE(e, y->in[0])->value;
    for (int b0 = 0; b0 < e->batch; b0 += gs) {
        const int nb = e->batch - b0 < gs ? e->batch - b0 : gs;
        float *out = y->value + (size_t)b0 * px * g.f;
        if (q->bits == 8) {
            nnc_qconv_group(e, id, b0, nb, e->m->work, out, ep);
            continue;
        }
        const size_t rows = (size_t)nb * px;
        const float *col = xv + (size_t)b0 * px * (size_t)q->k;
        if (!nnc_conv_is_pointwise(&g)) {
            nnc_conv_col_run(e, &g, xv, e->m->work, 1, b0, nb, 0);
            col = e->m->work;
        }
        bf16_product(e, q, col, rows, (uint16_t *)(e->m->work + (size_t)gs * px * (size_t)q->k), out, ep);
    }
}
