/* SIMD variants of the int8 product (qgemm.h) for x86-64. Each keeps a tile of C in registers
 * for the whole k loop, reads the packed kernel panel by panel and broadcasts four bytes of A
 * (one group of k) at a time. Panels go outermost: a task's rows of A (24 rows, qgemm.c: 19 KB
 * for B2's 784 inputs) stay in L1 while each panel is read once, where rows outermost read all
 * of the kernel again for every 6 rows. Tiles:
 *   AVX-512 VNNI  up to 6 rows x 32 columns, vpdpbusd (u8·s8, four products into each int32)
 *   AVX-VNNI      up to 6 rows x 16 columns, the same instruction on 256 bits
 *   AVX2          up to 4 rows x 16 columns, vpmaddubsw + vpmaddwd
 * vpdpbusd adds the four products to 32 bits exactly, so the VNNI variants take A as it is
 * (unsigned, zero point 128) and subtract comp[j] = 128·Σ_k W[k, j] at the end.
 * vpmaddubsw instead adds two u8·s8 products into a saturating int16: 255·127·2 = 64770 would
 * not fit. The AVX2 variant therefore multiplies |W| (unsigned, at most 127) by the signed
 * input A − 128 carrying W's sign (vpsignb): a pair is at most 2·127·127 = 32258 < 32767, so
 * nothing saturates and the sums are exact, the same int32 as the other variants. (A holds no
 * −128: the quantizer clamps to [−127, 127].) */
#include <stdint.h>
#include <string.h>
#include "qgemm.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

#define V512 __attribute__((target("avx512f,avx512bw,avx512vnni,avx2")))
#define VNNI256 __attribute__((target("avxvnni,avx2")))
#define AVX2 __attribute__((target("avx2")))
#define INLINE inline __attribute__((always_inline))
#define PANEL_BYTES(KG) ((size_t)(KG) * NNC_QPANEL * 4)

static INLINE int32_t load4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

int nnc_qgemm_x86_has(int variant) {
    unsigned a, b, c, d;
    switch (variant) {
    case NNC_QGEMM_AVX2: return __builtin_cpu_supports("avx2");
    case NNC_QGEMM_AVXVNNI: /* CPUID.(7,1):EAX bit 4; the OS saves ymm when avx2 is usable */
        return __builtin_cpu_supports("avx2") && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 4 & 1);
    case NNC_QGEMM_AVX512VNNI:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
    default: return 0;
    }
}

/* ---- the input quantizer --------------------------------------------------------------- */

/* nnc_quantize_rows' arithmetic 16 floats at a time: the same product by inv_scale, the same
 * clamp, and vcvtps2dq rounds to nearest even as nearbyintf does under the default rounding
 * mode, so the bytes are the plain loop's. */
__attribute__((target("avx512f,avx512bw"))) void nnc_quantize_rows_avx512(const float *x, int rows, int K,
                                                                       ptrdiff_t ldx, float inv_scale,
                                                                       uint8_t *a, int lda) {
    const __m512 inv = _mm512_set1_ps(inv_scale), hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
    const __m512i zero_point = _mm512_set1_epi32(128);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        uint8_t *ar = a + (size_t)r * lda;
        for (int k = 0; k < K; k += 16) {
            const __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, xr + k), inv);
            const __mmask16 num = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q); /* NaN becomes 0 */
            v = _mm512_maskz_min_ps(num, _mm512_max_ps(v, lo), hi);
            const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zero_point);
            const __m128i bytes = _mm512_cvtepi32_epi8(q); /* vpmovdb to a register: the masked */
            if (m == 0xFFFF) _mm_storeu_si128((__m128i *)(ar + k), bytes); /* store form is slow on AMD */
            else {
                unsigned char tail[16];
                _mm_storeu_si128((__m128i *)tail, bytes);
                memcpy(ar + k, tail, (size_t)(K - k));
            }
        }
        for (int k = K; k < lda; k++) ar[k] = 128;
    }
}

/* ---- AVX-512 VNNI ----------------------------------------------------------------------- */

/* R rows x NV panels of C from A's rows and the panels at bp (panel v at bp + v·pstride). */
static V512 INLINE void tile512(const int R, const int NV, int KG, const uint8_t *a, int lda,
                                const int8_t *bp, size_t pstride, const int32_t *comp, const float *scale,
                                float *cf, int32_t *ci, int ldc, int ncols) {
    __m512i acc[6][2];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_si512();
    for (int g = 0; g < KG; g++) {
        __m512i w[2];
        for (int v = 0; v < NV; v++) w[v] = _mm512_loadu_si512(bp + v * pstride + (size_t)g * 64);
        for (int r = 0; r < R; r++) {
            const __m512i x = _mm512_set1_epi32(load4(a + (size_t)r * lda + (size_t)g * 4));
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], x, w[v]);
        }
    }
    for (int v = 0; v < NV; v++) {
        const int left = ncols - 16 * v;
        const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        const __m512i cv = _mm512_maskz_loadu_epi32(m, comp + 16 * v);
        const __m512 sv = cf ? _mm512_maskz_loadu_ps(m, scale + 16 * v) : _mm512_setzero_ps();
        for (int r = 0; r < R; r++) {
            const __m512i s = _mm512_sub_epi32(acc[r][v], cv);
            if (cf) _mm512_mask_storeu_ps(cf + (size_t)r * ldc + 16 * v, m, _mm512_mul_ps(_mm512_cvtepi32_ps(s), sv));
            else _mm512_mask_storeu_epi32(ci + (size_t)r * ldc + 16 * v, m, s);
        }
    }
}

#define TILE512(R, NV) tile512(R, NV, KG, a, lda, b, PANEL_BYTES(KG), comp + j, scale ? scale + j : NULL, \
                               cf ? cf + i * ldc + j : NULL, ci ? ci + i * ldc + j : NULL, ldc, N - j)

V512 void nnc_qgemm_avx512vnni(int M, int N, int K, const uint8_t *A, int lda, const int8_t *bp,
                          const int32_t *comp, const float *scale, float *cf, int32_t *ci, int ldc) {
    const int KG = (K + 3) / 4;
    for (int j = 0; j < N; j += 32) {
        const int8_t *b = bp + (size_t)(j / NNC_QPANEL) * PANEL_BYTES(KG);
        for (size_t i = 0; i < (size_t)M; i += 6) {
            const int R = M - (int)i < 6 ? M - (int)i : 6;
            const uint8_t *a = A + i * lda;
            if (N - j > 16) {
                switch (R) {
                case 6: TILE512(6, 2); break;
                case 5: TILE512(5, 2); break;
                case 4: TILE512(4, 2); break;
                case 3: TILE512(3, 2); break;
                case 2: TILE512(2, 2); break;
                default: TILE512(1, 2); break;
                }
            } else {
                switch (R) {
                case 6: TILE512(6, 1); break;
                case 5: TILE512(5, 1); break;
                case 4: TILE512(4, 1); break;
                case 3: TILE512(3, 1); break;
                case 2: TILE512(2, 1); break;
                default: TILE512(1, 1); break;
                }
            }
        }
    }
}

/* ---- AVX-VNNI (256 bits) ---------------------------------------------------------------- */

/* Stores one vector of 8 sums (less comp) as floats times scale, or as int32. */
static AVX2 INLINE void store8(__m256i s, int left, const int32_t *comp, const float *scale, float *cf,
                               int32_t *ci, int with_comp) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    if (with_comp) s = _mm256_sub_epi32(s, _mm256_maskload_epi32(comp, m));
    if (cf) _mm256_maskstore_ps(cf, m, _mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_maskload_ps(scale, m)));
    else _mm256_maskstore_epi32(ci, m, s);
}

static VNNI256 INLINE void tile_vnni256(const int R, int KG, const uint8_t *a, int lda, const int8_t *b,
                                        const int32_t *comp, const float *scale, float *cf, int32_t *ci,
                                        int ldc, int ncols) {
    __m256i acc[6][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int g = 0; g < KG; g++) {
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)(b + (size_t)g * 64));
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(b + (size_t)g * 64 + 32));
        for (int r = 0; r < R; r++) {
            const __m256i x = _mm256_set1_epi32(load4(a + (size_t)r * lda + (size_t)g * 4));
            acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], x, w0);
            acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], x, w1);
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < 2; v++)
            store8(acc[r][v], ncols - 8 * v, comp + 8 * v, scale ? scale + 8 * v : NULL,
                   cf ? cf + (size_t)r * ldc + 8 * v : NULL, ci ? ci + (size_t)r * ldc + 8 * v : NULL, 1);
}

/* ---- AVX2 ------------------------------------------------------------------------------- */

static AVX2 INLINE void tile_avx2(const int R, int KG, const uint8_t *a, int lda, const int8_t *b,
                                  const float *scale, float *cf, int32_t *ci, int ldc, int ncols) {
    __m256i acc[4][2];
    const __m256i flip = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi16(1);
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int g = 0; g < KG; g++) {
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)(b + (size_t)g * 64));
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(b + (size_t)g * 64 + 32));
        const __m256i u0 = _mm256_abs_epi8(w0), u1 = _mm256_abs_epi8(w1);
        for (int r = 0; r < R; r++) {
            /* A − 128 as signed bytes, then W's sign moved onto it */
            const __m256i x = _mm256_xor_si256(_mm256_set1_epi32(load4(a + (size_t)r * lda + (size_t)g * 4)), flip);
            const __m256i p0 = _mm256_maddubs_epi16(u0, _mm256_sign_epi8(x, w0));
            const __m256i p1 = _mm256_maddubs_epi16(u1, _mm256_sign_epi8(x, w1));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(p0, ones));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(p1, ones));
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < 2; v++)
            store8(acc[r][v], ncols - 8 * v, NULL, scale ? scale + 8 * v : NULL,
                   cf ? cf + (size_t)r * ldc + 8 * v : NULL, ci ? ci + (size_t)r * ldc + 8 * v : NULL, 0);
}

#define TILE256(FN, R, ...) FN(R, KG, a, lda, b, __VA_ARGS__ scale ? scale + j : NULL, \
                               cf ? cf + i * ldc + j : NULL, ci ? ci + i * ldc + j : NULL, ldc, N - j)

VNNI256 void nnc_qgemm_avxvnni(int M, int N, int K, const uint8_t *A, int lda, const int8_t *bp,
                       const int32_t *comp, const float *scale, float *cf, int32_t *ci, int ldc) {
    const int KG = (K + 3) / 4;
    for (int j = 0; j < N; j += 16) {
        const int8_t *b = bp + (size_t)(j / NNC_QPANEL) * PANEL_BYTES(KG);
        for (size_t i = 0; i < (size_t)M; i += 6) {
            const int R = M - (int)i < 6 ? M - (int)i : 6;
            const uint8_t *a = A + i * lda;
            switch (R) {
            case 6: TILE256(tile_vnni256, 6, comp + j,); break;
            case 5: TILE256(tile_vnni256, 5, comp + j,); break;
            case 4: TILE256(tile_vnni256, 4, comp + j,); break;
            case 3: TILE256(tile_vnni256, 3, comp + j,); break;
            case 2: TILE256(tile_vnni256, 2, comp + j,); break;
            default: TILE256(tile_vnni256, 1, comp + j,); break;
            }
        }
    }
}

AVX2 void nnc_qgemm_avx2(int M, int N, int K, const uint8_t *A, int lda, const int8_t *bp,
                    const int32_t *comp, const float *scale, float *cf, int32_t *ci, int ldc) {
    (void)comp;
    const int KG = (K + 3) / 4;
    for (int j = 0; j < N; j += 16) {
        const int8_t *b = bp + (size_t)(j / NNC_QPANEL) * PANEL_BYTES(KG);
        for (size_t i = 0; i < (size_t)M; i += 4) {
            const int R = M - (int)i < 4 ? M - (int)i : 4;
            const uint8_t *a = A + i * lda;
            switch (R) {
            case 4: TILE256(tile_avx2, 4, ); break;
            case 3: TILE256(tile_avx2, 3, ); break;
            case 2: TILE256(tile_avx2, 2, ); break;
            default: TILE256(tile_avx2, 1, ); break;
            }
        }
    }
}

#else /* not x86 with GCC or Clang: the reference alone */

int nnc_qgemm_x86_has(int variant) {
    (void)variant;
    return 0;
}

#define NO_SIMD(name)                                                                           \
    void name(int M, int N, int K, const uint8_t *A, int lda, const int8_t *bp, const int32_t *comp, \
              const float *scale, float *cf, int32_t *ci, int ldc) {                            \
        nnc_qgemm(NNC_QGEMM_REF, M, N, K, A, lda, bp, comp, scale, cf, ci, ldc);                \
    }
void nnc_quantize_rows_avx512(const float *x, int rows, int K, ptrdiff_t ldx, float inv_scale, uint8_t *a,
                              int lda) {
    (void)x, (void)rows, (void)K, (void)ldx, (void)inv_scale, (void)a, (void)lda;
}

NO_SIMD(nnc_qgemm_avx2)
NO_SIMD(nnc_qgemm_avxvnni)
NO_SIMD(nnc_qgemm_avx512vnni)

#endif
