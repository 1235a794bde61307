/* The max-pooling window kernel (kernels.h): AVX2 where the CPU has it, else plain C. The
 * compilers vectorise the plain loop with masked stores (VMASKMOVPS), which are slow on AMD
 * CPUs, so the AVX2 version keeps each 8-channel maximum and its index in registers and
 * blends. Both give the same bits: the first cell holding the maximum wins, and a NaN is the
 * maximum (the first NaN), as in PyTorch, so that it is not lost. */
#include <float.h>
#include <stdint.h>
#include "kernels.h"
#include "gemm_simd.h"

static void max_window_ref(const float *xv, const uint32_t *src, int n, int C, uint32_t arg_base,
                           float *best, uint32_t *arg) {
    for (int c = 0; c < C; c++) {
        float bv = -FLT_MAX;
        uint32_t ba = 0;
        for (int w = 0; w < n; w++) {
            float x = xv[src[w] + (uint32_t)c];
            int gt = x > bv || (x != x && bv == bv);
            bv = gt ? x : bv;
            ba = gt ? arg_base + src[w] + (uint32_t)c : ba;
        }
        best[c] = bv;
        arg[c] = ba;
    }
}

/* A row of windows, one after the other (nnc_max_window_row), with the reference per window. */
static void max_row_ref(const float *xv, const uint32_t *src, int n, int C, int count, uint32_t step,
                        uint32_t arg_base, float *best, uint32_t *arg) {
    uint32_t at[64];
    for (int k = 0; k < count; k++) {
        for (int w = 0; w < n; w++) at[w] = src[w] + (uint32_t)k * step;
        if (arg) {
            max_window_ref(xv, at, n, C, arg_base, best + (size_t)k * C, arg + (size_t)k * C);
            continue;
        }
        for (int c = 0; c < C; c++) { /* the same comparisons, without the index */
            float bv = -FLT_MAX;
            for (int w = 0; w < n; w++) {
                float x = xv[at[w] + (uint32_t)c];
                bv = x > bv || (x != x && bv == bv) ? x : bv;
            }
            best[(size_t)k * C + c] = bv;
        }
    }
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

__attribute__((target("avx2"))) static void max_window_avx2(const float *xv, const uint32_t *src,
                                                             int n, int C, uint32_t arg_base,
                                                             float *best, uint32_t *arg) {
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int c = 0;
    for (; c + 8 <= C; c += 8) {
        __m256 bv = _mm256_set1_ps(-FLT_MAX);
        __m256 ba = _mm256_setzero_ps(); /* the indices, carried as float bits for the blend */
        for (int w = 0; w < n; w++) {
            const __m256 x = _mm256_loadu_ps(xv + src[w] + c);
            const __m256 gt = _mm256_or_ps(_mm256_cmp_ps(x, bv, _CMP_GT_OQ),
                                           _mm256_and_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q),
                                                         _mm256_cmp_ps(bv, bv, _CMP_ORD_Q)));
            const __m256i at =
                _mm256_add_epi32(_mm256_set1_epi32((int)(arg_base + src[w] + (uint32_t)c)), iota);
            bv = _mm256_blendv_ps(bv, x, gt);
            ba = _mm256_blendv_ps(ba, _mm256_castsi256_ps(at), gt);
        }
        _mm256_storeu_ps(best + c, bv);
        _mm256_storeu_si256((__m256i *)(arg + c), _mm256_castps_si256(ba));
    }
    if (c < C) {
        uint32_t rest[64];
        for (int w = 0; w < n && w < 64; w++) rest[w] = src[w] + (uint32_t)c;
        max_window_ref(xv, rest, n < 64 ? n : 64, C - c, arg_base, best + c, arg + c);
    }
}

void nnc_max_window(const float *xv, const uint32_t *src, int n, int C, uint32_t arg_base,
                    float *best, uint32_t *arg) {
    if (n <= 64 && nnc_gemm_cpu_has(NNC_GEMM_AVX2)) max_window_avx2(xv, src, n, C, arg_base, best, arg);
    else max_window_ref(xv, src, n, C, arg_base, best, arg);
}

/* The windows of a row without the index (inference): the same blends of the values alone. */
__attribute__((target("avx2"))) static void max_row_values_avx2(const float *xv, const uint32_t *src, int n,
                                                                 int C, int count, uint32_t step, float *best) {
    for (int k = 0; k < count; k++, xv += step, best += C) {
        int c = 0;
        for (; c + 8 <= C; c += 8) {
            __m256 bv = _mm256_set1_ps(-FLT_MAX);
            for (int w = 0; w < n; w++) {
                const __m256 x = _mm256_loadu_ps(xv + src[w] + c);
                const __m256 gt = _mm256_or_ps(_mm256_cmp_ps(x, bv, _CMP_GT_OQ),
                                               _mm256_and_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q),
                                                             _mm256_cmp_ps(bv, bv, _CMP_ORD_Q)));
                bv = _mm256_blendv_ps(bv, x, gt);
            }
            _mm256_storeu_ps(best + c, bv);
        }
        if (c < C) {
            uint32_t rest[64];
            for (int w = 0; w < n; w++) rest[w] = src[w] + (uint32_t)c;
            max_row_ref(xv, rest, n, C - c, 1, 0, 0, best + c, NULL);
        }
    }
}

void nnc_max_window_row(const float *xv, const uint32_t *src, int n, int C, int count, uint32_t step,
                        uint32_t arg_base, float *best, uint32_t *arg) {
    if (n > 64 || !nnc_gemm_cpu_has(NNC_GEMM_AVX2)) {
        max_row_ref(xv, src, n, C, count, step, arg_base, best, arg);
    } else if (!arg) {
        max_row_values_avx2(xv, src, n, C, count, step, best);
    } else {
        uint32_t at[64];
        for (int k = 0; k < count; k++) {
            for (int w = 0; w < n; w++) at[w] = src[w] + (uint32_t)k * step;
            max_window_avx2(xv, at, n, C, arg_base, best + (size_t)k * C, arg + (size_t)k * C);
        }
    }
}

#else

void nnc_max_window(const float *xv, const uint32_t *src, int n, int C, uint32_t arg_base,
                    float *best, uint32_t *arg) {
    max_window_ref(xv, src, n, C, arg_base, best, arg);
}

void nnc_max_window_row(const float *xv, const uint32_t *src, int n, int C, int count, uint32_t step,
                        uint32_t arg_base, float *best, uint32_t *arg) {
    max_row_ref(xv, src, n, C, count, step, arg_base, best, arg);
}

#endif
