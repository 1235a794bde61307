/* The bf16 product behind `--quantize bf16` (qgemm.h): C[i, j] = Σ_k A[i, k]·W[k, j] with A
 * and W rounded to bfloat16 (8 bits of mantissa) and the sums in float, by AVX512_BF16's
 * vdpbf16ps (two bf16 products into each float lane per instruction). There is no fallback:
 * quantizing or loading a bf16 model on a CPU without AVX512_BF16 is refused, since a plain C
 * emulation of the instruction's rounding would be slower than float itself. Each C element is
 * one chain over k in a fixed order, so the result does not depend on the split over threads. */
#include <stdint.h>
#include <string.h>
#include "qgemm.h"

/* float -> bf16, round to nearest even (what vcvtneps2bf16 does for normal numbers); a NaN stays
 * a quiet NaN. */
static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float nnc_bf16_round(float f) {
    uint32_t u = (uint32_t)to_bf16(f) << 16;
    float r;
    memcpy(&r, &u, 4);
    return r;
}

size_t nnc_bf16_pack_elems(int K, int N) {
    return (size_t)((K + 1) / 2) * 2 * (size_t)((N + NNC_QPANEL - 1) / NNC_QPANEL) * NNC_QPANEL;
}

void nnc_bf16_pack(const float *W, int K, int N, uint16_t *bp) {
    const int KH = (K + 1) / 2;
    memset(bp, 0, nnc_bf16_pack_elems(K, N) * sizeof *bp);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++)
            bp[(((size_t)(j / NNC_QPANEL) * KH + k / 2) * NNC_QPANEL + j % NNC_QPANEL) * 2 + k % 2] =
                to_bf16(W[(size_t)k * N + j]);
}

void nnc_bf16_rows(const float *x, int rows, int K, ptrdiff_t ldx, uint16_t *a, int lda) {
    for (int r = 0; r < rows; r++) {
        for (int k = 0; k < K; k++) a[(size_t)r * lda + k] = to_bf16(x[r * ldx + k]);
        for (int k = K; k < lda; k++) a[(size_t)r * lda + k] = 0;
    }
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

int nnc_bf16_cpu_has(void) {
    unsigned a, b, c, d; /* CPUID.(7,1):EAX bit 5 */
    return __builtin_cpu_supports("avx512f") && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 5 & 1);
}

#define BF16 __attribute__((target("avx512f,avx512bf16")))
#define INLINE inline __attribute__((always_inline))

static BF16 INLINE void tile_bf16(const int R, const int NV, int KH, const uint16_t *a, int lda, const uint16_t *bp,
                                  size_t pstride, float *c, int ldc, int ncols) {
    __m512 acc[6][2];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    for (int h = 0; h < KH; h++) {
        __m512i w[2];
        for (int v = 0; v < NV; v++) w[v] = _mm512_loadu_si512(bp + v * pstride + (size_t)h * 32);
        for (int r = 0; r < R; r++) {
            int32_t pair;
            memcpy(&pair, a + (size_t)r * lda + (size_t)h * 2, 4);
            const __m512i x = _mm512_set1_epi32(pair);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], (__m512bh)x, (__m512bh)w[v]);
        }
    }
    for (int v = 0; v < NV; v++) {
        const int left = ncols - 16 * v;
        const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        for (int r = 0; r < R; r++) _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * v, m, acc[r][v]);
    }
}

#define TILEB(R, NV) tile_bf16(R, NV, KH, a, lda, b, (size_t)KH * 32, C + i * ldc + j, ldc, N - j)

BF16 void nnc_bgemm(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *bp, float *C, int ldc) {
    const int KH = (K + 1) / 2;
    for (int j = 0; j < N; j += 32) {
        const uint16_t *b = bp + (size_t)(j / NNC_QPANEL) * KH * 32;
        for (size_t i = 0; i < (size_t)M; i += 6) {
            const int R = M - (int)i < 6 ? M - (int)i : 6;
            const uint16_t *a = A + i * lda;
            if (N - j > 16) {
                switch (R) {
                case 6: TILEB(6, 2); break;
                case 5: TILEB(5, 2); break;
                case 4: TILEB(4, 2); break;
                case 3: TILEB(3, 2); break;
                case 2: TILEB(2, 2); break;
                default: TILEB(1, 2); break;
                }
            } else {
                switch (R) {
                case 6: TILEB(6, 1); break;
                case 5: TILEB(5, 1); break;
                case 4: TILEB(4, 1); break;
                case 3: TILEB(3, 1); break;
                case 2: TILEB(2, 1); break;
                default: TILEB(1, 1); break;
                }
            }
        }
    }
}

#else

int nnc_bf16_cpu_has(void) { return 0; }

void nnc_bgemm(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *bp, float *C, int ldc) {
    (void)M, (void)N, (void)K, (void)A, (void)lda, (void)bp, (void)C, (void)ldc;
}

#endif
