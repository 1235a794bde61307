/* The direct convolution of conv_direct.h: AVX-512F tiles of up to 12 pixels x 32 channels
 * (24 accumulators), op(A) broadcast from x in place, the kernel's rows read in place (f
 * floats apart, masked past the last filter), and the plain C oracle. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "conv_direct.h"
#include "gemm_simd.h"

#define DMR 12 /* pixels per tile */
#define DNR 32 /* channels per strip */

void nnc_dconv_rows_ref(const nnc_dconv *s, const float *x, const float *kernel, int oh0, int rows, int cols,
                        float *y, ptrdiff_t ldrow) {
    for (int oh = oh0; oh < oh0 + rows; oh++)
        for (int o = 0; o < cols; o++)
            for (int n = 0; n < s->f; n++) {
                float acc = 0.0f;
                for (int i = 0; i < s->kh; i++)
                    for (int j = 0; j < s->kw; j++)
                        for (int c = 0; c < s->c; c++) {
                            const float xv = x[(((size_t)oh * s->sh + (size_t)i * s->dh) * s->w + (size_t)o * s->sw + j) *
                                                   s->c + c];
                            acc = fmaf(xv, kernel[(((size_t)i * s->kw + j) * s->c + c) * s->f + n], acc);
                        }
                y[(oh - oh0) * ldrow + (ptrdiff_t)o * s->f + n] = acc;
            }
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INLINE inline __attribute__((always_inline))
#define NOINLINE __attribute__((noinline))

/* 512-bit code like the AVX-512 products: used where they were timed faster (choose.c) */
int nnc_dconv_available(void) { return nnc_gemm_variant() == NNC_GEMM_AVX512; }
int nnc_dconv_cpu_has(void) { return nnc_gemm_cpu_has(NNC_GEMM_AVX512); }

/* mr pixels (x windows lda apart) x nb <= 32 channels (nv vectors): the kh runs of rlen floats,
 * kernel row i's run at a + i·rstep, its kernel rows at b + i·rlen·ldc (the kernel's rows are
 * as wide as the output's). mr and nv are constants at each instantiation, so the accumulators
 * stay in registers. */
static AVX512 INLINE void dtile(const int mr, const int nv, const int part, int kh, ptrdiff_t rstep, int rlen, const float *a,
                                ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc, int nb, int load) {
    __m512 acc[DMR][2];
    const int last = nb - 16 * (nv - 1);
    const __mmask16 m = last >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << last) - 1);
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            if (!load)
                acc[r][v] = _mm512_setzero_ps();
            else if (v == nv - 1)
                acc[r][v] = _mm512_maskz_loadu_ps(m, c + r * ldc + 16 * v);
            else
                acc[r][v] = _mm512_loadu_ps(c + r * ldc + 16 * v);
        }
    /* one loop over k (the kernel's rows follow each other), a stepping to the next window row
     * after each run: with two nested loops GCC kept the accumulators in memory */
    const int K = kh * rlen;
    for (int k = 0, left = rlen; k < K; k++, b += ldc, a++) {
        /* masked loads only in a strip's part past the last filter: with one in the loop GCC
         * kept the accumulators in memory, stored at every k */
        const __m512 b0 = nv > 1 || !part ? _mm512_loadu_ps(b) : _mm512_maskz_loadu_ps(m, b);
        const __m512 b1 = nv > 1 ? (part ? _mm512_maskz_loadu_ps(m, b + 16) : _mm512_loadu_ps(b + 16)) : b0;
        for (int r = 0; r < mr; r++) {
            const __m512 xv = _mm512_set1_ps(a[r * lda]);
            acc[r][0] = _mm512_fmadd_ps(xv, b0, acc[r][0]);
            if (nv > 1) acc[r][1] = _mm512_fmadd_ps(xv, b1, acc[r][1]);
        }
        if (--left == 0) {
            left = rlen;
            a += rstep - rlen;
        }
    }
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            if (v == nv - 1)
                _mm512_mask_storeu_ps(c + r * ldc + 16 * v, m, acc[r][v]);
            else
                _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
        }
}

typedef void (*dtile_fn)(int kh, ptrdiff_t rstep, int rlen, const float *a, ptrdiff_t lda, const float *b, float *c,
                         ptrdiff_t ldc, int nb, int load);

#define DTILE(mr, nv, part)                                                                                \
    static AVX512 NOINLINE void dtile_##mr##_##nv##_##part(int kh, ptrdiff_t rstep, int rlen, const float *a, \
                                                           ptrdiff_t lda, const float *b, float *c,            \
                                                           ptrdiff_t ldc, int nb, int load) {                  \
        dtile(mr, nv, part, kh, rstep, rlen, a, lda, b, c, ldc, nb, load);                                    \
    }
#define DTILES(nv, part)                                                                                       \
    DTILE(1, nv, part) DTILE(2, nv, part) DTILE(3, nv, part) DTILE(4, nv, part) DTILE(5, nv, part)             \
    DTILE(6, nv, part) DTILE(7, nv, part) DTILE(8, nv, part) DTILE(9, nv, part) DTILE(10, nv, part)            \
    DTILE(11, nv, part) DTILE(12, nv, part)
#define DTABLE(nv, part)                                                                                       \
    {NULL, dtile_1_##nv##_##part, dtile_2_##nv##_##part, dtile_3_##nv##_##part, dtile_4_##nv##_##part,          \
     dtile_5_##nv##_##part, dtile_6_##nv##_##part, dtile_7_##nv##_##part, dtile_8_##nv##_##part,               \
     dtile_9_##nv##_##part, dtile_10_##nv##_##part, dtile_11_##nv##_##part, dtile_12_##nv##_##part}
DTILES(1, 0)
DTILES(2, 0)
DTILES(1, 1)
DTILES(2, 1)
/* [the strip's last vector is partial][two vectors][pixels] */
static const dtile_fn dtiles[2][2][DMR + 1] = {{DTABLE(1, 0), DTABLE(2, 0)}, {DTABLE(1, 1), DTABLE(2, 1)}};

/* Kernel rows per k block: a strip of the block's kernel rows (runs x rlen x 32 floats) stays
 * within 16 KiB, in L1 while every tile of the call's rows uses it. */
static int runs_per_block(const nnc_dconv *s) {
    const int per = s->kw * s->c * DNR, n = 4096 / per;
    return n < 1 ? 1 : n > s->kh ? s->kh : n;
}

/* For each strip of 32 channels and each k block (whole kernel rows, in increasing k), every
 * output row of the call in near-equal tiles of at most 12 pixels (26 as 9 + 9 + 8, not
 * 12 + 12 + 2). A k block after the first continues each output's chain from y, which rounds
 * nothing. */
void nnc_dconv_rows(const nnc_dconv *s, const float *x, const float *kernel, int oh0, int rows, int cols, float *y,
                    ptrdiff_t ldrow) {
    const int rlen = s->kw * s->c, tiles = (cols + DMR - 1) / DMR, rb = runs_per_block(s);
    const ptrdiff_t lda = (ptrdiff_t)s->sw * s->c, rstep = (ptrdiff_t)s->dh * s->w * s->c;
    for (int q = 0; q * DNR < s->f; q++) {
        const int nb = s->f - q * DNR < DNR ? s->f - q * DNR : DNR;
        const dtile_fn *fn = dtiles[nb % 16 != 0][nb > 16];
        for (int i0 = 0; i0 < s->kh; i0 += rb) {
            const int nr = s->kh - i0 < rb ? s->kh - i0 : rb;
            const float *bq = kernel + (size_t)i0 * rlen * s->f + (size_t)q * DNR;
            for (int oh = oh0; oh < oh0 + rows; oh++) {
                const float *xr = x + ((size_t)oh * s->sh * s->w) * s->c + (size_t)i0 * rstep;
                float *yr = y + (oh - oh0) * ldrow + q * DNR;
                for (int t = 0, o = 0; t < tiles; t++) {
                    const int mr = (cols - o + (tiles - t) - 1) / (tiles - t);
                    fn[mr](nr, rstep, rlen, xr + o * lda, lda, bq, yr + (ptrdiff_t)o * s->f, s->f, nb, i0 > 0);
                    o += mr;
                }
            }
        }
    }
}

/* 16 channels at a time, the tail masked: the epilogue's add and ReLU, then the pooling's
 * comparison, as mask compares (NLE_UQ is "greater, or unordered"): the exact order of the
 * separate passes, NaN included, at the price of a chain of dependent compares per window. */
static AVX512 __m512 window_exact(const float *p, size_t row, size_t col, int kh, int kw, __mmask16 m, __m512 b) {
    const __m512 zero = _mm512_setzero_ps();
    __m512 best = _mm512_set1_ps(-FLT_MAX);
    for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) {
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, p + (size_t)i * row + (size_t)j * col), b);
            v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, zero, _CMP_NLE_UQ), v);
            const __mmask16 gt = _mm512_cmp_ps_mask(v, best, _CMP_NLE_UQ) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q);
            best = _mm512_mask_mov_ps(best, gt, v);
        }
    return best;
}

/* Without NaN the same result comes from plain maxima: ReLU commutes with the maximum, and
 * after it every value is +0 or positive, so the order of the comparisons cannot show (vmaxps
 * picks its second operand on ±0 ties, and the final max with +0 turns -0 into +0 as ReLU
 * does). So each window takes the maximum of its sums, then ReLU, and only a window where
 * some sum is NaN (rare: one is checked on the side, off the chain) is done again exactly. */
AVX512 void nnc_dconv_bias_relu_pool(const float *buf, const float *bias, int f, int cols, int pw, int kh, int kw,
                                     float *y) {
    const __m512 zero = _mm512_setzero_ps();
    const size_t row = (size_t)cols * f, col = (size_t)f;
    if (kh == 2 && kw == 2 && f % 16 == 0) { /* the common 2x2 window, unrolled */
        for (int o = 0; o < pw; o++)
            for (int c = 0; c < f; c += 16) {
                const __m512 b = _mm512_loadu_ps(bias + c);
                const float *p = buf + (size_t)o * 2 * col + c;
                const __m512 v0 = _mm512_add_ps(_mm512_loadu_ps(p), b), v1 = _mm512_add_ps(_mm512_loadu_ps(p + col), b);
                const __m512 v2 = _mm512_add_ps(_mm512_loadu_ps(p + row), b);
                const __m512 v3 = _mm512_add_ps(_mm512_loadu_ps(p + row + col), b);
                const __mmask16 nan = _mm512_cmp_ps_mask(v0, v1, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(v2, v3, _CMP_UNORD_Q);
                const __m512 best = nan ? window_exact(p, row, col, 2, 2, 0xFFFF, b)
                                        : _mm512_max_ps(_mm512_max_ps(_mm512_max_ps(v0, v1), _mm512_max_ps(v2, v3)), zero);
                _mm512_storeu_ps(y + (size_t)o * f + c, best);
            }
        return;
    }
    for (int o = 0; o < pw; o++)
        for (int c = 0; c < f; c += 16) {
            const __mmask16 m = f - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (f - c)) - 1);
            const __m512 b = _mm512_maskz_loadu_ps(m, bias + c);
            const float *p = buf + (size_t)o * kw * col + c;
            __m512 best = _mm512_set1_ps(-FLT_MAX);
            __mmask16 nan = 0;
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++) {
                    const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, p + (size_t)i * row + (size_t)j * col), b);
                    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                    best = _mm512_max_ps(v, best);
                }
            best = nan ? window_exact(p, row, col, kh, kw, m, b) : _mm512_max_ps(best, zero);
            _mm512_mask_storeu_ps(y + (size_t)o * f + c, m, best);
        }
}

#else

int nnc_dconv_available(void) { return 0; }
int nnc_dconv_cpu_has(void) { return 0; }

void nnc_dconv_bias_relu_pool(const float *buf, const float *bias, int f, int cols, int pw, int kh, int kw,
                              float *y) {
    (void)buf, (void)bias, (void)f, (void)cols, (void)pw, (void)kh, (void)kw, (void)y;
}

void nnc_dconv_rows(const nnc_dconv *s, const float *x, const float *kernel, int oh0, int rows, int cols, float *y,
                    ptrdiff_t ldrow) {
    (void)s, (void)x, (void)kernel, (void)oh0, (void)rows, (void)cols, (void)y, (void)ldrow;
}

#endif
