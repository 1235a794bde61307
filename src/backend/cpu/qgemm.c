/* The int8 product: packing, the plain C reference, the quantizer of inputs, the dispatch and
 * the split over threads. The SIMD variants are in qgemm_x86.c. */
#include <math.h>
#include <string.h>
#include "qgemm.h"
#include "parallel.h"

int nnc_qrow_bytes(int K) { return (K + 3) / 4 * 4; }

size_t nnc_qpack_bytes(int K, int N) {
    return (size_t)((K + 3) / 4) * 4 * (size_t)((N + NNC_QPANEL - 1) / NNC_QPANEL) * NNC_QPANEL;
}

void nnc_qpack(const int8_t *W, int K, int N, int8_t *bp, int32_t *comp) {
    const int KG = (K + 3) / 4;
    memset(bp, 0, nnc_qpack_bytes(K, N));
    for (int j = 0; j < N; j++) comp[j] = 0;
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) {
            const int p = j / NNC_QPANEL, c = j % NNC_QPANEL;
            bp[(((size_t)p * KG + k / 4) * NNC_QPANEL + c) * 4 + k % 4] = W[(size_t)k * N + j];
            comp[j] += 128 * W[(size_t)k * N + j];
        }
}

void nnc_quantize_rows_ref(const float *x, int rows, int K, ptrdiff_t ldx, float inv_scale, uint8_t *a,
                           int lda) {
    for (int r = 0; r < rows; r++) {
        const float *restrict xr = x + r * ldx;
        uint8_t *restrict ar = a + (size_t)r * lda;
        for (int k = 0; k < K; k++) {
            float v = xr[k] * inv_scale;
            /* clamped before the conversion, so it is defined for any float; NaN fails both tests */
            v = v > 127.0f ? 127.0f : v;
            v = v >= -127.0f ? v : (v < -127.0f ? -127.0f : 0.0f);
            ar[k] = (uint8_t)(128 + (int)nearbyintf(v));
        }
        for (int k = K; k < lda; k++) ar[k] = 128;
    }
}

void nnc_quantize_rows(const float *x, int rows, int K, ptrdiff_t ldx, float inv_scale, uint8_t *a,
                       int lda) {
    if (ldx == K && lda == K && (size_t)rows * (size_t)K <= INT32_MAX) { /* one long row: no edge per row */
        K *= rows;
        ldx = K;
        lda = K;
        rows = 1;
    }
    if (nnc_qgemm_x86_has(NNC_QGEMM_AVX512VNNI)) nnc_quantize_rows_avx512(x, rows, K, ldx, inv_scale, a, lda);
    else nnc_quantize_rows_ref(x, rows, K, ldx, inv_scale, a, lda);
}

static void qgemm_ref(int M, int N, int K, const uint8_t *A, int lda, const int8_t *bp,
                      const float *scale, float *cf, int32_t *ci, int ldc) {
    const int KG = (K + 3) / 4;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            const int8_t *w = bp + ((size_t)(j / NNC_QPANEL) * KG * NNC_QPANEL + j % NNC_QPANEL) * 4;
            int32_t s = 0;
            for (int k = 0; k < K; k++)
                s += ((int32_t)A[(size_t)i * lda + k] - 128) * w[(size_t)(k / 4) * NNC_QPANEL * 4 + k % 4];
            if (cf) cf[(size_t)i * ldc + j] = (float)s * scale[j];
            else ci[(size_t)i * ldc + j] = s;
        }
}

int nnc_qgemm_cpu_has(int variant) {
    return variant == NNC_QGEMM_REF || nnc_qgemm_x86_has(variant);
}

const char *nnc_qgemm_variant_name(int variant) {
    switch (variant) {
    case NNC_QGEMM_AVX2: return "avx2";
    case NNC_QGEMM_AVXVNNI: return "avx-vnni";
    case NNC_QGEMM_AVX512VNNI: return "avx512-vnni";
    default: return "reference";
    }
}

void nnc_qgemm(int variant, int M, int N, int K, const uint8_t *A, int lda, const int8_t *bp,
               const int32_t *comp, const float *scale, float *cf, int32_t *ci, int ldc) {
    if (M <= 0 || N <= 0) return;
    switch (variant) {
    case NNC_QGEMM_AVX512VNNI: nnc_qgemm_avx512vnni(M, N, K, A, lda, bp, comp, scale, cf, ci, ldc); break;
    case NNC_QGEMM_AVXVNNI: nnc_qgemm_avxvnni(M, N, K, A, lda, bp, comp, scale, cf, ci, ldc); break;
    case NNC_QGEMM_AVX2: nnc_qgemm_avx2(M, N, K, A, lda, bp, comp, scale, cf, ci, ldc); break;
    default: qgemm_ref(M, N, K, A, lda, bp, scale, cf, ci, ldc); break;
    }
}

typedef struct {
    int variant, M, N, K, lda, ldc, by_cols;
    const uint8_t *A;
    const int8_t *bp;
    const uint16_t *A16, *bp16; /* bf16 (variant NNC_QGEMM_COUNT) */
    const int32_t *comp;
    const float *scale;
    float *C;
    const nnc_gemm_epilogue *ep;
} qjob;

#define ROW_BLOCK 24 /* rows a task: a multiple of every variant's tile height */

static void qgemm_run(nnc_pool *p, qjob *jp);

/* Rows (or panels) first..first+count: every element is one exact sum, so the split changes
 * nothing in the result. */
static void qtask(void *ctx, size_t first, size_t count) {
    const qjob *j = ctx;
    int r0 = 0, rows = j->M, c0 = 0, cols = j->N;
    if (j->by_cols) {
        c0 = (int)first * NNC_QPANEL;
        cols = (int)(first + count) * NNC_QPANEL < j->N ? (int)count * NNC_QPANEL : j->N - c0;
    } else {
        r0 = (int)first * ROW_BLOCK;
        rows = (int)(first + count) * ROW_BLOCK < j->M ? (int)count * ROW_BLOCK : j->M - r0;
    }
    const int KG = (j->K + 3) / 4;
    float *c = j->C + (size_t)r0 * j->ldc + c0;
    if (j->A16) {
        nnc_bgemm(rows, cols, j->K, j->A16 + (size_t)r0 * j->lda, j->lda,
                  j->bp16 + (size_t)(c0 / NNC_QPANEL) * ((j->K + 1) / 2) * NNC_QPANEL * 2, c, j->ldc);
        if (j->ep) j->ep->fn(j->ep->ctx, c, j->ldc, rows, j->ep->col0 + c0, cols);
        return;
    }
    nnc_qgemm(j->variant, rows, cols, j->K, j->A + (size_t)r0 * j->lda, j->lda,
              j->bp + (size_t)(c0 / NNC_QPANEL) * KG * NNC_QPANEL * 4, j->comp + c0, j->scale + c0, c, NULL,
              j->ldc);
    if (j->ep) j->ep->fn(j->ep->ctx, c, j->ldc, rows, j->ep->col0 + c0, cols);
}

void nnc_qgemm_par(nnc_pool *p, int variant, int M, int N, int K, const uint8_t *A, int lda,
                   const int8_t *bp, const int32_t *comp, const float *scale, float *C, int ldc,
                   const nnc_gemm_epilogue *ep) {
    if (M <= 0 || N <= 0) return;
    qjob j = {variant, M, N, K, lda, ldc, M < 2 * ROW_BLOCK, A, bp, NULL, NULL, comp, scale, C, ep};
    qgemm_run(p, &j);
}

void nnc_bgemm_par(nnc_pool *p, int M, int N, int K, const uint16_t *A, int lda, const uint16_t *bp, float *C,
                   int ldc, const nnc_gemm_epilogue *ep) {
    if (M <= 0 || N <= 0) return;
    qjob j = {NNC_QGEMM_COUNT, M, N, K, lda, ldc, M < 2 * ROW_BLOCK, NULL, NULL, A, bp, NULL, NULL, C, ep};
    qgemm_run(p, &j);
}

static void qgemm_run(nnc_pool *p, qjob *jp) {
    qjob j = *jp;
    const int M = j.M, N = j.N, K = j.K;
    const size_t panels = (size_t)(N + NNC_QPANEL - 1) / NNC_QPANEL, blocks = (size_t)(M + ROW_BLOCK - 1) / ROW_BLOCK;
    /* under about 4 million multiply-adds a hand-over to a thread costs more than it saves */
    const int small = (double)M * N * K < 4e6;
    if (small) {
        qtask(&j, 0, j.by_cols ? panels : blocks);
        return;
    }
    nnc_parallel_range(p, j.by_cols ? panels : blocks, 1, qtask, &j);
}
