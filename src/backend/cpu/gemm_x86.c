/* SIMD variants of nnc_gemm for x86-64: AVX2+FMA (8 floats a vector). Each function carries
 * its own target attribute, so the rest of the library stays baseline x86-64 and the
 * dispatcher in gemm.c calls a variant only after checking the CPU.
 *
 * Scheme (register blocking with a packed B panel, after Goto and van de Geijn):
 *   for each block of MC rows of C                        A block (MC x KC) stays in L2
 *     for each block of KC values of k, in increasing k   the fma chains go on through C
 *       for each strip of NR = 16 columns of C
 *         pack op(B)[k block, strip] into bp (KC x 16)    16 KiB on the stack, lives in L1
 *         for each tile of MR = 6 rows
 *           6x16 micro-kernel: 12 accumulators, op(A) read in place by broadcasts
 * op(A) is never packed: its rows (ta = 0) or its 6-float groups (ta = 1) are read where they
 * lie, so nothing scales with M or N and the only buffer is bp. Edges use masked loads and
 * stores (N) and smaller register tiles (M), always in the same per-element chain order
 * described in gemm_simd.h. */
#include <stddef.h>
#include <string.h>
#include "kernels.h"
#include "gemm_simd.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define NNC_GEMM_X86 1
#include <immintrin.h>
#endif

#ifdef NNC_GEMM_X86

#define MR 6         /* rows of the register tile */
#define NR 16        /* columns of the register tile: two AVX2 vectors */
#define KC_MAX 256   /* k block: a 6x256 A sliver and a 256x16 B panel (16 KiB) fit L1 */
#define MC_BYTES (192 * 1024) /* A block (MC x KC floats) meant to stay in L2 */
#define C_L2_BYTES (128 * 1024) /* C this small stays in L2 across k blocks */

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

static int has_avx512(void);

int nnc_gemm_cpu_has(int variant) {
    switch (variant) {
    case NNC_GEMM_REF: return 1;
    case NNC_GEMM_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case NNC_GEMM_AVX512: return has_avx512();
    default: return 0;
    }
}

/* Lanes 0..n-1 on (n may be <= 0 or >= 8). */
AVX2 INLINE __m256i lane_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* bp[k*16 + j] = op(B)[pc+k, jc+j] for k < kb, j < 16, zero where j >= nb (tb = 0: B[k, j]). */
AVX2 INLINE void pack_b_n(const float *B, ptrdiff_t ldb, int kb, int nb, float *bp) {
    if (nb == NR) {
        for (int k = 0; k < kb; k++) {
            const float *s = B + k * ldb;
            _mm256_store_ps(bp + k * NR, _mm256_loadu_ps(s));
            _mm256_store_ps(bp + k * NR + 8, _mm256_loadu_ps(s + 8));
        }
    } else if (nb > 8) {
        const __m256i m1 = lane_mask(nb - 8);
        for (int k = 0; k < kb; k++) {
            const float *s = B + k * ldb;
            _mm256_store_ps(bp + k * NR, _mm256_loadu_ps(s));
            _mm256_store_ps(bp + k * NR + 8, _mm256_maskload_ps(s + 8, m1));
        }
    } else {
        const __m256i m0 = lane_mask(nb);
        for (int k = 0; k < kb; k++) {
            _mm256_store_ps(bp + k * NR, _mm256_maskload_ps(B + k * ldb, m0));
            _mm256_store_ps(bp + k * NR + 8, _mm256_setzero_ps());
        }
    }
}

/* The 8x8 transpose: r[i] holds row i; afterwards r[q] holds column q. */
AVX2 INLINE void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* Same panel when tb = 1: op(B)[k, j] = B[j*ldb + k], so rows of B become columns of bp. Eight
 * rows of B at a time are read 8 k-values wide and transposed in registers. w is the panel's
 * width (16 here, 32 for AVX-512). */
AVX2 INLINE void pack_b_t(const int w, const float *B, ptrdiff_t ldb, int kb, int nb, float *bp) {
    const int gend = nb > w / 2 ? w : w / 2; /* the tile reads half the panel when nb <= w/2 */
    for (int g = 0; g < gend; g += 8) {
        int rows = nb - g; /* rows of B in this group of 8, may be <= 0 */
        for (int k = 0; k < kb; k += 8) {
            int kn = kb - k < 8 ? kb - k : 8;
            __m256 r[8];
            if (kn == 8) {
                for (int i = 0; i < 8; i++)
                    r[i] = i < rows ? _mm256_loadu_ps(B + (g + i) * ldb + k) : _mm256_setzero_ps();
            } else {
                const __m256i m = lane_mask(kn);
                for (int i = 0; i < 8; i++)
                    r[i] = i < rows ? _mm256_maskload_ps(B + (g + i) * ldb + k, m)
                                    : _mm256_setzero_ps();
            }
            transpose8(r);
            for (int q = 0; q < kn; q++) _mm256_store_ps(bp + (k + q) * w + g, r[q]);
        }
    }
}

/* The register tile: C[0..mr, 0..nb) (+)= op(A)[0..mr, 0..kb) · bp, with nv vectors of 8 columns
 * (nv = 1 when nb <= 8). a points at op(A)[0, 0]: A's rows when ta = 0 (element [i, k] at
 * a[i*lda + k]), A's columns when ta = 1 (element at a[k*lda + i]). load: start from C, else
 * from 0. mr, nv and ta are constants at every call, so each combination compiles to its own
 * fully unrolled loop with the accumulators in registers. */
AVX2 INLINE void tile(const int mr, const int nv, const int ta, int kb, const float *a,
                      ptrdiff_t lda, const float *bp, float *c, ptrdiff_t ldc, int nb, int load) {
    __m256 acc[MR][2];
    /* Only the last vector of the row can be partial. */
    const int part = nb < 8 * nv;
    const __m256i mask = lane_mask(nb - 8 * (nv - 1));
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            if (!load)
                acc[r][v] = _mm256_setzero_ps();
            else if (v == nv - 1 && part)
                acc[r][v] = _mm256_maskload_ps(c + r * ldc + 8 * v, mask);
            else
                acc[r][v] = _mm256_loadu_ps(c + r * ldc + 8 * v);
        }
    if (ta) {
        for (int k = 0; k < kb; k++) {
            const float *ak = a + k * lda;
            const __m256 b0 = _mm256_load_ps(bp + k * NR);
            const __m256 b1 = nv > 1 ? _mm256_load_ps(bp + k * NR + 8) : b0;
            for (int r = 0; r < mr; r++) {
                const __m256 x = _mm256_broadcast_ss(ak + r);
                acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
                if (nv > 1) acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
            }
        }
    } else {
        for (int k = 0; k < kb; k++) {
            const __m256 b0 = _mm256_load_ps(bp + k * NR);
            const __m256 b1 = nv > 1 ? _mm256_load_ps(bp + k * NR + 8) : b0;
            for (int r = 0; r < mr; r++) {
                const __m256 x = _mm256_broadcast_ss(a + r * lda + k);
                acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
                if (nv > 1) acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
            }
        }
    }
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            if (v == nv - 1 && part)
                _mm256_maskstore_ps(c + r * ldc + 8 * v, mask, acc[r][v]);
            else
                _mm256_storeu_ps(c + r * ldc + 8 * v, acc[r][v]);
        }
}

/* One 16-column strip of one (M block, k block): every row tile against the packed panel. */
AVX2 INLINE void strip(const int nv, const int ta, int mb, int kb, const float *a, ptrdiff_t lda,
                       const float *bp, float *c, ptrdiff_t ldc, int nb, int load) {
    const ptrdiff_t astep = ta ? MR : MR * lda; /* from one row tile of op(A) to the next */
    int i = 0;
    for (; i + MR <= mb; i += MR, a += astep, c += MR * ldc)
        tile(MR, nv, ta, kb, a, lda, bp, c, ldc, nb, load);
    switch (mb - i) {
    case 5: tile(5, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 4: tile(4, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 3: tile(3, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 2: tile(2, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 1: tile(1, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    default: break;
    }
}

/* Few rows and tb = 0 (batch-1 inference): packing B would cost as much as using it, so a
 * tile of mr rows and nv vectors reads op(B)'s rows in place, masked past column nb. */
AVX2 INLINE void tile_direct(const int mr, const int nv, int kb, const float *a, ptrdiff_t lda,
                             const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int nb,
                             int load) {
    __m256 acc[2][8];
    __m256i mask[8];
    for (int v = 0; v < nv; v++) mask[v] = lane_mask(nb - 8 * v);
    const int full = nb >= 8 * nv;
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++)
            acc[r][v] = !load ? _mm256_setzero_ps()
                        : full ? _mm256_loadu_ps(c + r * ldc + 8 * v)
                               : _mm256_maskload_ps(c + r * ldc + 8 * v, mask[v]);
    for (int k = 0; k < kb; k++) {
        const float *bk = b + k * ldb;
        __m256 x[2];
        for (int r = 0; r < mr; r++) x[r] = _mm256_broadcast_ss(a + r * lda + k);
        for (int v = 0; v < nv; v++) {
            const __m256 bv = full ? _mm256_loadu_ps(bk + 8 * v) : _mm256_maskload_ps(bk + 8 * v, mask[v]);
            for (int r = 0; r < mr; r++) acc[r][v] = _mm256_fmadd_ps(x[r], bv, acc[r][v]);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            if (full)
                _mm256_storeu_ps(c + r * ldc + 8 * v, acc[r][v]);
            else
                _mm256_maskstore_ps(c + r * ldc + 8 * v, mask[v], acc[r][v]);
        }
}

/* C[0..M) for M <= 4 and tb = 0 over one k block: pairs of rows 32 columns at a time, a last
 * single row 64 at a time, and what is left of the columns one vector at a time. */
AVX2 INLINE void rows_direct(int M, int N, int kb, const float *a, ptrdiff_t lda,
                             const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int load) {
    for (int i = 0; i < M;) {
        const int two = M - i >= 2, w = two ? 32 : 64;
        int j = 0;
        for (; j + w <= N; j += w) {
            if (two) tile_direct(2, 4, kb, a, lda, b + j, ldb, c + j, ldc, w, load);
            else tile_direct(1, 8, kb, a, lda, b + j, ldb, c + j, ldc, w, load);
        }
        for (; j < N; j += 8) {
            const int nb = N - j < 8 ? N - j : 8;
            if (two) tile_direct(2, 1, kb, a, lda, b + j, ldb, c + j, ldc, nb, load);
            else tile_direct(1, 1, kb, a, lda, b + j, ldb, c + j, ldc, nb, load);
        }
        i += two ? 2 : 1;
        a += (two ? 2 : 1) * lda;
        c += (two ? 2 : 1) * ldc;
    }
}

/* One (M block, k block): for each strip of 16 columns, pack op(B)'s panel and run the strip. */
AVX2 INLINE void block(int ta, int tb, int N, int ic, int mb, int pc, int kb, const float *A,
                       ptrdiff_t lda, const float *B, ptrdiff_t ldb, int load, float *C,
                       ptrdiff_t ldc, float *bp) {
    const float *a = ta ? A + pc * lda + ic : A + ic * lda + pc;
    for (int jc = 0; jc < N; jc += NR) {
        const int nb = N - jc < NR ? N - jc : NR;
        if (tb)
            pack_b_t(NR, B + jc * ldb + pc, ldb, kb, nb, bp);
        else
            pack_b_n(B + pc * ldb + jc, ldb, kb, nb, bp);
        float *c = C + ic * ldc + jc;
        if (nb > 8) {
            if (ta) strip(2, 1, mb, kb, a, lda, bp, c, ldc, nb, load);
            else strip(2, 0, mb, kb, a, lda, bp, c, ldc, nb, load);
        } else {
            if (ta) strip(1, 1, mb, kb, a, lda, bp, c, ldc, nb, load);
            else strip(1, 0, mb, kb, a, lda, bp, c, ldc, nb, load);
        }
    }
}

AVX2 void nnc_gemm_avx2(int ta, int tb, int M, int N, int K, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (beta == 0.0f)
            for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof *C);
        return;
    }
    _Alignas(64) float bp[KC_MAX * NR];
    /* k blocks of near-equal size; they do not change the result, only the speed. */
    const int nk = (K + KC_MAX - 1) / KC_MAX, kc = (K + nk - 1) / nk;
    int mc = MC_BYTES / (kc * (int)sizeof(float)) / MR * MR;
    if (mc < MR) mc = MR;
    const int load0 = beta != 0.0f;
    if (M <= 4 && !ta && !tb) {
        for (int pc = 0; pc < K; pc += kc)
            rows_direct(M, N, K - pc < kc ? K - pc : kc, A + pc, lda, B + (size_t)pc * ldb, ldb,
                        C, ldc, load0 || pc > 0);
        return;
    }
    if ((size_t)M * N * sizeof(float) <= C_L2_BYTES) {
        /* C fits in L2 (weight gradients, small layers): k blocks outermost, so A and B
         * stream through once and C stays near. */
        for (int pc = 0; pc < K; pc += kc) {
            const int kb = K - pc < kc ? K - pc : kc;
            for (int ic = 0; ic < M; ic += mc)
                block(ta, tb, N, ic, M - ic < mc ? M - ic : mc, pc, kb, A, lda, B, ldb,
                      load0 || pc > 0, C, ldc, bp);
        }
    } else {
        /* C is big: finish each block of rows over all of k before the next. */
        for (int ic = 0; ic < M; ic += mc)
            for (int pc = 0; pc < K; pc += kc)
                block(ta, tb, N, ic, M - ic < mc ? M - ic : mc, pc, K - pc < kc ? K - pc : kc,
                      A, lda, B, ldb, load0 || pc > 0, C, ldc, bp);
    }
}

/* ---- AVX-512F: the same scheme with 16-float vectors and 32 registers ------------------- */

#define MR5 12      /* 12 x 32 register tile: 24 accumulators */
#define NR5 32
#define KC5_MAX 256 /* 256 x 32 B panel: 32 KiB */

#define AVX512 __attribute__((target("avx512f,avx2,fma")))

static int has_avx512(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
}

AVX512 INLINE __mmask16 mask16(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

AVX512 INLINE void pack_b_n512(const float *B, ptrdiff_t ldb, int kb, int nb, float *bp) {
    if (nb == NR5) {
        for (int k = 0; k < kb; k++) {
            const float *s = B + k * ldb;
            _mm512_store_ps(bp + k * NR5, _mm512_loadu_ps(s));
            _mm512_store_ps(bp + k * NR5 + 16, _mm512_loadu_ps(s + 16));
        }
    } else if (nb > 16) {
        const __mmask16 m1 = mask16(nb - 16);
        for (int k = 0; k < kb; k++) {
            const float *s = B + k * ldb;
            _mm512_store_ps(bp + k * NR5, _mm512_loadu_ps(s));
            _mm512_store_ps(bp + k * NR5 + 16, _mm512_maskz_loadu_ps(m1, s + 16));
        }
    } else { /* the tile reads only the first 16 columns */
        const __mmask16 m0 = mask16(nb);
        for (int k = 0; k < kb; k++)
            _mm512_store_ps(bp + k * NR5, _mm512_maskz_loadu_ps(m0, B + k * ldb));
    }
}

AVX512 INLINE void tile512(const int mr, const int nv, const int ta, int kb, const float *a,
                           ptrdiff_t lda, const float *bp, float *c, ptrdiff_t ldc, int nb,
                           int load) {
    __m512 acc[MR5][2];
    const int part = nb < 16 * nv;
    const __mmask16 mask = mask16(nb - 16 * (nv - 1));
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            if (!load)
                acc[r][v] = _mm512_setzero_ps();
            else if (v == nv - 1 && part)
                acc[r][v] = _mm512_maskz_loadu_ps(mask, c + r * ldc + 16 * v);
            else
                acc[r][v] = _mm512_loadu_ps(c + r * ldc + 16 * v);
        }
    if (ta) {
        for (int k = 0; k < kb; k++) {
            const float *ak = a + k * lda;
            const __m512 b0 = _mm512_load_ps(bp + k * NR5);
            const __m512 b1 = nv > 1 ? _mm512_load_ps(bp + k * NR5 + 16) : b0;
            for (int r = 0; r < mr; r++) {
                const __m512 x = _mm512_set1_ps(ak[r]);
                acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
                if (nv > 1) acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
            }
        }
    } else {
        for (int k = 0; k < kb; k++) {
            const __m512 b0 = _mm512_load_ps(bp + k * NR5);
            const __m512 b1 = nv > 1 ? _mm512_load_ps(bp + k * NR5 + 16) : b0;
            for (int r = 0; r < mr; r++) {
                const __m512 x = _mm512_set1_ps(a[r * lda + k]);
                acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
                if (nv > 1) acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
            }
        }
    }
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            if (v == nv - 1 && part)
                _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mask, acc[r][v]);
            else
                _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
        }
}

AVX512 INLINE void strip512(const int nv, const int ta, int mb, int kb, const float *a,
                            ptrdiff_t lda, const float *bp, float *c, ptrdiff_t ldc, int nb,
                            int load) {
    const ptrdiff_t astep = ta ? MR5 : MR5 * lda;
    int i = 0;
    for (; i + MR5 <= mb; i += MR5, a += astep, c += MR5 * ldc)
        tile512(MR5, nv, ta, kb, a, lda, bp, c, ldc, nb, load);
    switch (mb - i) {
    case 11: tile512(11, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 10: tile512(10, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 9: tile512(9, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 8: tile512(8, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 7: tile512(7, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 6: tile512(6, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 5: tile512(5, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 4: tile512(4, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 3: tile512(3, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 2: tile512(2, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    case 1: tile512(1, nv, ta, kb, a, lda, bp, c, ldc, nb, load); break;
    default: break;
    }
}

AVX512 INLINE void block512(int ta, int tb, int N, int ic, int mb, int pc, int kb,
                            const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb,
                            int load, float *C, ptrdiff_t ldc, float *bp) {
    const float *a = ta ? A + pc * lda + ic : A + ic * lda + pc;
    for (int jc = 0; jc < N; jc += NR5) {
        const int nb = N - jc < NR5 ? N - jc : NR5;
        if (tb)
            pack_b_t(NR5, B + jc * ldb + pc, ldb, kb, nb, bp);
        else
            pack_b_n512(B + pc * ldb + jc, ldb, kb, nb, bp);
        float *c = C + ic * ldc + jc;
        if (nb > 16) {
            if (ta) strip512(2, 1, mb, kb, a, lda, bp, c, ldc, nb, load);
            else strip512(2, 0, mb, kb, a, lda, bp, c, ldc, nb, load);
        } else {
            if (ta) strip512(1, 1, mb, kb, a, lda, bp, c, ldc, nb, load);
            else strip512(1, 0, mb, kb, a, lda, bp, c, ldc, nb, load);
        }
    }
}

AVX512 void nnc_gemm_avx512(int ta, int tb, int M, int N, int K, const float *A, int lda,
                            const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (beta == 0.0f)
            for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof *C);
        return;
    }
    _Alignas(64) float bp[KC5_MAX * NR5];
    const int nk = (K + KC5_MAX - 1) / KC5_MAX, kc = (K + nk - 1) / nk;
    int mc = MC_BYTES / (kc * (int)sizeof(float)) / MR5 * MR5;
    if (mc < MR5) mc = MR5;
    const int load0 = beta != 0.0f;
    if (M <= 4 && !ta && !tb) { /* the AVX2 code: memory bound, and it gives the same bits */
        for (int pc = 0; pc < K; pc += kc)
            rows_direct(M, N, K - pc < kc ? K - pc : kc, A + pc, lda, B + (size_t)pc * ldb, ldb,
                        C, ldc, load0 || pc > 0);
        return;
    }
    if ((size_t)M * N * sizeof(float) <= C_L2_BYTES) {
        for (int pc = 0; pc < K; pc += kc) {
            const int kb = K - pc < kc ? K - pc : kc;
            for (int ic = 0; ic < M; ic += mc)
                block512(ta, tb, N, ic, M - ic < mc ? M - ic : mc, pc, kb, A, lda, B, ldb,
                         load0 || pc > 0, C, ldc, bp);
        }
    } else {
        for (int ic = 0; ic < M; ic += mc)
            for (int pc = 0; pc < K; pc += kc)
                block512(ta, tb, N, ic, M - ic < mc ? M - ic : mc, pc,
                         K - pc < kc ? K - pc : kc, A, lda, B, ldb, load0 || pc > 0, C, ldc, bp);
    }
}

#else /* not x86 with GCC or Clang: only the reference exists */

int nnc_gemm_cpu_has(int variant) { return variant == NNC_GEMM_REF; }

void nnc_gemm_avx2(int ta, int tb, int M, int N, int K, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc) {
    nnc_gemm_ref(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

void nnc_gemm_avx512(int ta, int tb, int M, int N, int K, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc) {
    nnc_gemm_ref(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

#endif
