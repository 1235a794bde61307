/* Int8 forward passes (quant_ops.h). Only the products are int8: the input is quantized per
 * tensor (its calibrated scale), the kernel per output channel, the int32 sums are exact, and
 * each sum times in_scale·w_scale[j] becomes the float that the bias and activation take.
 * Every step is elementwise or one exact sum, so any thread count gives the same bits. */
#include <stdint.h>
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
    return bytes_as_floats(op_rows(CNODE(m, CNODE(m, id)->in[0]), batch) * (size_t)q->lda);
}

void nnc_qmatmul_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const nnc_qlayer *q = nnc_quant_of(e->m, id);
    const size_t rows = op_rows(x, e->batch);
    uint8_t *a = (uint8_t *)e->m->work;
    quantize(e, q, x->value, rows, a);
    nnc_epilogue epi;
    nnc_qgemm_par(e->m->pool, q->variant, (int)rows, q->n, q->k, a, q->lda, q->wp, q->comp, q->out_scale,
                  y->value, q->n, nnc_epilogue_prepare(e->m, id, &epi));
}

/* A group of examples at a time, as the float convolution: its col (float, im2col's layout)
 * then the col quantized, both in the workspace. */
static size_t per_example(const conv_geom *g, const nnc_qlayer *q, int point) {
    const size_t px = (size_t)g->oh * g->ow;
    return (point ? 0 : px * (size_t)q->k) + bytes_as_floats(px * (size_t)q->lda);
}

size_t nnc_qconv_work(const nnc_model *m, int id, int batch) {
    conv_geom g;
    nnc_conv_geom(m, id, &g);
    const nnc_qlayer *q = nnc_quant_of(m, id);
    const size_t per = per_example(&g, q, nnc_conv_is_pointwise(&g));
    return (size_t)nnc_conv_group_size(per, 0, batch, nnc_pool_threads(m->pool), 0) * per;
}

void nnc_qconv_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const nnc_qlayer *q = nnc_quant_of(e->m, id);
    conv_geom g;
    nnc_conv_geom(e->m, id, &g);
    const int point = nnc_conv_is_pointwise(&g);
    const size_t px = (size_t)g.oh * g.ow, per = per_example(&g, q, point);
    const int gs = nnc_conv_group_size(per, 0, e->batch, nnc_pool_threads(e->m->pool), e->m->work_floats);
    nnc_epilogue epi;
    const nnc_gemm_epilogue *ep = nnc_epilogue_prepare(e->m, id, &epi);
    for (int b0 = 0; b0 < e->batch; b0 += gs) {
        const int nb = e->batch - b0 < gs ? e->batch - b0 : gs;
        const size_t rows = (size_t)nb * px;
        const float *col = x->value + (size_t)b0 * px * q->k;
        uint8_t *a = (uint8_t *)e->m->work;
        if (!point) {
            nnc_conv_col_run(e, &g, x->value, e->m->work, 1, b0, nb, 0);
            col = e->m->work;
            a = (uint8_t *)(e->m->work + rows * (size_t)q->k);
        }
        quantize(e, q, col, rows, a);
        nnc_qgemm_par(e->m->pool, q->variant, (int)rows, q->n, q->k, a, q->lda, q->wp, q->comp, q->out_scale,
                      y->value + (size_t)b0 * px * q->n, q->n, ep);
    }
}
