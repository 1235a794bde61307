/* SIMD variants of nnc_gemm for x86-64: AVX2+FMA (8 floats a vector) and AVX-512F (16).
 * Only the functions that use the instructions carry a target attribute, so the rest of the
 * library stays baseline x86-64, and the dispatcher in gemm.c calls a variant only after
 * checking the CPU.
 *
 * Scheme (register blocking with a packed B panel, after Goto and van de Geijn):
 *   for each block of MC rows of C                          A block (MC x KC) stays in L2
 *     for each block of KC values of k, in increasing k     the fma chains go on through C
 *       for each strip of NR columns of C
 *         pack op(B)[k block, strip] into bp (KC x NR)      on the stack, stays in L1
 *         for each tile of MR rows
 *           MR x NR register tile, op(A) read in place by broadcasts
 * AVX2 uses 6 x 16 tiles (12 accumulators of 16 registers), AVX-512 12 x 32 (24 of 32).
 * op(A) is never packed: its rows (ta = 0) or its MR-float groups (ta = 1) are read where they
 * lie, so nothing scales with M or N and the only buffer is bp (16 KiB on the stack). When C is
 * small (weight gradients) the k blocks go outermost instead, so that A and B stream through
 * once. Edges use masked loads and stores (N) and smaller tiles (M); every path keeps the one
 * chain order per element described in gemm_simd.h, so all of them give the same bits.
 *
 * Each tile shape is its own function rather than one big inlined routine: the code is as fast,
 * and compilers (clang with ASan especially) take superlinear time on huge functions. */
#include <stddef.h>
#include <string.h>
#include "kernels.h"
#include "gemm_simd.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define NNC_GEMM_X86 1
#include <immintrin.h>
#endif

#ifdef NNC_GEMM_X86

#define MC_BYTES (192 * 1024)   /* A block (MC x KC floats) meant to stay in L2 */
#define C_L2_BYTES (128 * 1024) /* C this small stays in L2 across k blocks */
#define BP_FLOATS 4096          /* the packed panel, 16 KiB: KC_MAX x NR of every variant */

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INLINE inline __attribute__((always_inline))
#define NOINLINE __attribute__((noinline))

/* A packing routine: bp[k*NR + j] = op(B)[k, j] for k < kb, j < nb, zero for nb <= j < the
 * width the tile reads. B points at op(B)[0, 0] of the panel. */
typedef void (*pack_fn)(const float *B, ptrdiff_t ldb, int kb, int nb, float *bp);
/* All row tiles of one strip: C[0..mb, 0..nb) (+)= op(A)[0..mb, 0..kb) · bp. */
typedef void (*strip_fn)(int mb, int kb, const float *a, ptrdiff_t lda, const float *bp,
                         float *c, ptrdiff_t ldc, int nb, int load, const float *eb, int relu);
/* One register tile of fewer than MR rows. */
typedef void (*tile_fn)(int kb, const float *a, ptrdiff_t lda, const float *bp, float *c,
                        ptrdiff_t ldc, int nb, int load, const float *eb, int relu);

typedef void (*rows_fn)(int N, int kb, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
                        ptrdiff_t ldc, int load);

/* The batch-wide product (see gemm_batchv512): C[M, N] (+)= A[M, K]·B[K, N] with eb/relu the
 * fused epilogue; bp holds at least KC5_MAX x 32 floats. */
typedef void (*batchv_fn)(int M, int N, int K, int kc, const float *A, ptrdiff_t lda, const float *B,
                          ptrdiff_t ldb, int load, float *C, ptrdiff_t ldc, const float *eb, int relu,
                          float *bp);

typedef struct {
    int mr, nr, kc_max;
    pack_fn pack_n, pack_t; /* tb = 0, tb = 1 */
    strip_fn strip[2][2];   /* [ta][vectors per row - 1]; one vector when nb <= NR/2 */
    rows_fn few[2];         /* few rows (M <= 4, tb = 0): [one row, two rows] */
    batchv_fn batchv;       /* ta = tb = 0, M 16 or 32, 16 < N <= 32; NULL: none */
} kernel_set;

/* ---- AVX2 + FMA: 6 x 16 tiles --------------------------------------------------------- */

#define MR 6
#define NR 16
#define KC_MAX 256 /* a 256 x 16 panel is 16 KiB */

/* Lanes 0..n-1 on (n may be <= 0 or >= 8). */
static AVX2 INLINE __m256i lane_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* tb = 0: op(B)[k, j] = B[k*ldb + j], rows copied as they are. */
static AVX2 NOINLINE void pack_n_avx2(const float *B, ptrdiff_t ldb, int kb, int nb, float *bp) {
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
    } else { /* the tile reads only the first 8 columns */
        const __m256i m0 = lane_mask(nb);
        for (int k = 0; k < kb; k++)
            _mm256_store_ps(bp + k * NR, _mm256_maskload_ps(B + k * ldb, m0));
    }
}

/* The 8x8 transpose: r[i] holds row i; afterwards r[q] holds column q. */
static AVX2 INLINE void transpose8(__m256 r[8]) {
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

/* tb = 1: op(B)[k, j] = B[j*ldb + k], so rows of B become columns of bp. Eight rows of B at a
 * time are read 8 k-values wide and transposed in registers. w is the panel's width. */
static AVX2 INLINE void pack_t(const int w, const float *B, ptrdiff_t ldb, int kb, int nb,
                               float *bp) {
    const int gend = nb > w / 2 ? w : w / 2; /* the tile reads half the panel when nb <= w/2 */
    for (int g = 0; g < gend; g += 8) {
        const int rows = nb - g; /* rows of B in this group of 8, may be <= 0 */
        for (int k = 0; k < kb; k += 8) {
            const int kn = kb - k < 8 ? kb - k : 8;
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

static AVX2 NOINLINE void pack_t_avx2(const float *B, ptrdiff_t ldb, int kb, int nb, float *bp) {
    pack_t(NR, B, ldb, kb, nb, bp);
}

/* The register tile: C[0..mr, 0..nb) (+)= op(A)[0..mr, 0..kb) · bp, with nv vectors of 8 columns
 * (nv = 1 when nb <= 8). a points at op(A)[0, 0]: A's rows when ta = 0 (element [i, k] at
 * a[i*lda + k]), A's columns when ta = 1 (element at a[k*lda + i]). load: start from C, else
 * from 0. mr, nv and ta are constants at every call, so each combination compiles to its own
 * fully unrolled loop with the accumulators in registers. */
static AVX2 INLINE void tile(const int mr, const int nv, const int ta, int kb, const float *a,
                             ptrdiff_t lda, const float *bp, float *c, ptrdiff_t ldc, int nb,
                             int load, const float *eb, int relu) {
    __m256 acc[MR][2];
    const int part = nb < 8 * nv; /* only the last vector of a row can be partial */
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
    for (int k = 0; k < kb; k++) {
        const __m256 b0 = _mm256_load_ps(bp + k * NR);
        const __m256 b1 = nv > 1 ? _mm256_load_ps(bp + k * NR + 8) : b0;
        for (int r = 0; r < mr; r++) {
            const __m256 x = _mm256_broadcast_ss(ta ? a + k * lda + r : a + r * lda + k);
            acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
            if (nv > 1) acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    if (eb) /* the epilogue (kernels.h): bias, then relu with NaN kept */
        for (int v = 0; v < nv; v++) {
            const __m256 b = v == nv - 1 && part ? _mm256_maskload_ps(eb + 8 * v, mask)
                                                 : _mm256_loadu_ps(eb + 8 * v);
            for (int r = 0; r < mr; r++) {
                acc[r][v] = _mm256_add_ps(acc[r][v], b);
                if (relu)
                    acc[r][v] = _mm256_and_ps(acc[r][v], _mm256_cmp_ps(acc[r][v], _mm256_setzero_ps(), _CMP_NLE_UQ));
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

/* The tiles of fewer than MR rows, one function each, in tables by [ta][nv - 1][mr]. */
#define TILE_AVX2(mr, nv, ta)                                                                  \
    static AVX2 NOINLINE void tile_avx2_##mr##_##nv##_##ta(int kb, const float *a,            \
                                                            ptrdiff_t lda, const float *bp,    \
                                                            float *c, ptrdiff_t ldc, int nb,   \
                                                            int load, const float *eb, int relu) { \
        tile(mr, nv, ta, kb, a, lda, bp, c, ldc, nb, load, eb, relu);                          \
    }
#define TILES_AVX2(nv, ta)                                                                     \
    TILE_AVX2(1, nv, ta) TILE_AVX2(2, nv, ta) TILE_AVX2(3, nv, ta) TILE_AVX2(4, nv, ta)         \
    TILE_AVX2(5, nv, ta)
#define TABLE_AVX2(nv, ta)                                                                     \
    {NULL, tile_avx2_1_##nv##_##ta, tile_avx2_2_##nv##_##ta, tile_avx2_3_##nv##_##ta,           \
     tile_avx2_4_##nv##_##ta, tile_avx2_5_##nv##_##ta}
TILES_AVX2(1, 0)
TILES_AVX2(2, 0)
TILES_AVX2(1, 1)
TILES_AVX2(2, 1)
static const tile_fn rest_avx2[2][2][MR] = {{TABLE_AVX2(1, 0), TABLE_AVX2(2, 0)},
                                            {TABLE_AVX2(1, 1), TABLE_AVX2(2, 1)}};

/* A strip: the full-height tiles inline, then the rest of the rows. */
#define STRIP_AVX2(nv, ta)                                                                     \
    static AVX2 NOINLINE void strip_avx2_##nv##_##ta(int mb, int kb, const float *a,           \
                                                     ptrdiff_t lda, const float *bp, float *c,  \
                                                     ptrdiff_t ldc, int nb, int load,           \
                                                     const float *eb, int relu) {               \
        const ptrdiff_t astep = ta ? MR : MR * lda;                                            \
        int i = 0;                                                                             \
        for (; i + MR <= mb; i += MR, a += astep, c += MR * ldc)                               \
            tile(MR, nv, ta, kb, a, lda, bp, c, ldc, nb, load, eb, relu);                      \
        if (i < mb) rest_avx2[ta][nv - 1][mb - i](kb, a, lda, bp, c, ldc, nb, load, eb, relu);  \
    }
STRIP_AVX2(1, 0)
STRIP_AVX2(2, 0)
STRIP_AVX2(1, 1)
STRIP_AVX2(2, 1)



/* ---- Few rows, tb = 0 (batch-1 inference): B read in place -------------------------------- */

/* Packing B would cost as much as using it, so a tile of mr rows and nv vectors reads op(B)'s
 * rows where they lie, masked past column nb. */
static AVX2 INLINE void tile_direct(const int mr, const int nv, int kb, const float *a,
                                    ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
                                    ptrdiff_t ldc, int nb, int load) {
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
            const __m256 bv =
                full ? _mm256_loadu_ps(bk + 8 * v) : _mm256_maskload_ps(bk + 8 * v, mask[v]);
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

/* One row pair (or single row) across all columns: 32 (64) columns at a time, then one
 * vector at a time. */
static AVX2 NOINLINE void rows_direct_2(int N, int kb, const float *a, ptrdiff_t lda,
                                        const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                        int load) {
    int j = 0;
    for (; j + 32 <= N; j += 32) tile_direct(2, 4, kb, a, lda, b + j, ldb, c + j, ldc, 32, load);
    for (; j < N; j += 8)
        tile_direct(2, 1, kb, a, lda, b + j, ldb, c + j, ldc, N - j < 8 ? N - j : 8, load);
}

static AVX2 NOINLINE void rows_direct_1(int N, int kb, const float *a, ptrdiff_t lda,
                                        const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                        int load) {
    int j = 0;
    for (; j + 64 <= N; j += 64) tile_direct(1, 8, kb, a, lda, b + j, ldb, c + j, ldc, 64, load);
    for (; j < N; j += 8)
        tile_direct(1, 1, kb, a, lda, b + j, ldb, c + j, ldc, N - j < 8 ? N - j : 8, load);
}

static const kernel_set set_avx2 = {MR, NR, KC_MAX, pack_n_avx2, pack_t_avx2,
                                    {{strip_avx2_1_0, strip_avx2_2_0},
                                     {strip_avx2_1_1, strip_avx2_2_1}},
                                    {rows_direct_1, rows_direct_2}, NULL};

/* M <= 4, ta = tb = 0, in k blocks of kc. */
static void gemm_few_rows(const rows_fn rows[2], int M, int N, int K, int kc, const float *A, ptrdiff_t lda,
                          const float *B, ptrdiff_t ldb, int load0, float *C, ptrdiff_t ldc) {
    for (int pc = 0; pc < K; pc += kc) {
        const int kb = K - pc < kc ? K - pc : kc, load = load0 || pc > 0;
        for (int i = 0; i < M; i += 2) {
            const float *a = A + i * lda + pc, *b = B + pc * ldb;
            rows[M - i >= 2](N, kb, a, lda, b, ldb, C + i * ldc, ldc, load);
        }
    }
}

/* ---- AVX-512F: 12 x 32 tiles ---------------------------------------------------------- */

#define MR5 12
#define NR5 32
#define KC5_MAX 128 /* a 128 x 32 panel is 16 KiB: L1 is 32 KiB on Zen 4 and Skylake-X */

static AVX512 INLINE __mmask16 mask16(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

static AVX512 NOINLINE void pack_n_avx512(const float *B, ptrdiff_t ldb, int kb, int nb,
                                          float *bp) {
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

static AVX512 NOINLINE void pack_t_avx512(const float *B, ptrdiff_t ldb, int kb, int nb,
                                          float *bp) {
    pack_t(NR5, B, ldb, kb, nb, bp);
}

static AVX512 INLINE void tile512(const int mr, const int nv, const int ta, int kb,
                                  const float *a, ptrdiff_t lda, const float *bp, float *c,
                                  ptrdiff_t ldc, int nb, int load, const float *eb, int relu) {
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
    for (int k = 0; k < kb; k++) {
        const __m512 b0 = _mm512_load_ps(bp + k * NR5);
        const __m512 b1 = nv > 1 ? _mm512_load_ps(bp + k * NR5 + 16) : b0;
        for (int r = 0; r < mr; r++) {
            const __m512 x = _mm512_set1_ps(ta ? a[k * lda + r] : a[r * lda + k]);
            acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
            if (nv > 1) acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    if (eb) /* the epilogue (kernels.h): bias, then relu with NaN kept */
        for (int v = 0; v < nv; v++) {
            const __m512 b = v == nv - 1 && part ? _mm512_maskz_loadu_ps(mask, eb + 16 * v)
                                                 : _mm512_loadu_ps(eb + 16 * v);
            for (int r = 0; r < mr; r++) {
                acc[r][v] = _mm512_add_ps(acc[r][v], b);
                if (relu)
                    acc[r][v] = _mm512_maskz_mov_ps(
                        _mm512_cmp_ps_mask(acc[r][v], _mm512_setzero_ps(), _CMP_NLE_UQ), acc[r][v]);
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

#define TILE_AVX512(mr, nv, ta)                                                                \
    static AVX512 NOINLINE void tile_avx512_##mr##_##nv##_##ta(int kb, const float *a,        \
                                                                ptrdiff_t lda, const float *bp,\
                                                                float *c, ptrdiff_t ldc,       \
                                                                int nb, int load, const float *eb, int relu) { \
        tile512(mr, nv, ta, kb, a, lda, bp, c, ldc, nb, load, eb, relu);                       \
    }
#define TILES_AVX512(nv, ta)                                                                   \
    TILE_AVX512(1, nv, ta) TILE_AVX512(2, nv, ta) TILE_AVX512(3, nv, ta)                       \
    TILE_AVX512(4, nv, ta) TILE_AVX512(5, nv, ta) TILE_AVX512(6, nv, ta)                       \
    TILE_AVX512(7, nv, ta) TILE_AVX512(8, nv, ta) TILE_AVX512(9, nv, ta)                       \
    TILE_AVX512(10, nv, ta) TILE_AVX512(11, nv, ta)
#define TABLE_AVX512(nv, ta)                                                                   \
    {NULL, tile_avx512_1_##nv##_##ta, tile_avx512_2_##nv##_##ta, tile_avx512_3_##nv##_##ta,     \
     tile_avx512_4_##nv##_##ta, tile_avx512_5_##nv##_##ta, tile_avx512_6_##nv##_##ta,           \
     tile_avx512_7_##nv##_##ta, tile_avx512_8_##nv##_##ta, tile_avx512_9_##nv##_##ta,           \
     tile_avx512_10_##nv##_##ta, tile_avx512_11_##nv##_##ta}
TILES_AVX512(1, 0)
TILES_AVX512(2, 0)
TILES_AVX512(1, 1)
TILES_AVX512(2, 1)
static const tile_fn rest_avx512[2][2][MR5] = {{TABLE_AVX512(1, 0), TABLE_AVX512(2, 0)},
                                               {TABLE_AVX512(1, 1), TABLE_AVX512(2, 1)}};

#define STRIP_AVX512(nv, ta)                                                                   \
    static AVX512 NOINLINE void strip_avx512_##nv##_##ta(int mb, int kb, const float *a,       \
                                                         ptrdiff_t lda, const float *bp,        \
                                                         float *c, ptrdiff_t ldc, int nb,       \
                                                         int load, const float *eb, int relu) { \
        const ptrdiff_t astep = ta ? MR5 : MR5 * lda;                                          \
        int i = 0;                                                                             \
        for (; i + MR5 <= mb; i += MR5, a += astep, c += MR5 * ldc)                            \
            tile512(MR5, nv, ta, kb, a, lda, bp, c, ldc, nb, load, eb, relu);                  \
        if (i < mb) rest_avx512[ta][nv - 1][mb - i](kb, a, lda, bp, c, ldc, nb, load, eb, relu); \
    }
STRIP_AVX512(1, 0)
STRIP_AVX512(2, 0)
STRIP_AVX512(1, 1)
STRIP_AVX512(2, 1)

/* Few rows, tb = 0, AVX-512: tile_direct's scheme 16 floats a vector (batch-1 inference reads
 * each weight once; half the loads of the AVX2 tile). The same chains, so the same bits. */
static AVX512 INLINE void tile_direct512(const int mr, const int nv, int kb, const float *a, ptrdiff_t lda,
                                         const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int nb, int load) {
    __m512 acc[2][8];
    __mmask16 mask[8];
    for (int v = 0; v < nv; v++) mask[v] = mask16(nb - 16 * v);
    const int full = nb >= 16 * nv;
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++)
            acc[r][v] = !load ? _mm512_setzero_ps()
                        : full ? _mm512_loadu_ps(c + r * ldc + 16 * v)
                               : _mm512_maskz_loadu_ps(mask[v], c + r * ldc + 16 * v);
    for (int k = 0; k < kb; k++) {
        const float *bk = b + k * ldb;
        __m512 x[2];
        for (int r = 0; r < mr; r++) x[r] = _mm512_set1_ps(a[r * lda + k]);
        for (int v = 0; v < nv; v++) {
            const __m512 bv = full ? _mm512_loadu_ps(bk + 16 * v) : _mm512_maskz_loadu_ps(mask[v], bk + 16 * v);
            for (int r = 0; r < mr; r++) acc[r][v] = _mm512_fmadd_ps(x[r], bv, acc[r][v]);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            if (full)
                _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
            else
                _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mask[v], acc[r][v]);
        }
}

static AVX512 NOINLINE void rows_direct512_2(int N, int kb, const float *a, ptrdiff_t lda, const float *b,
                                             ptrdiff_t ldb, float *c, ptrdiff_t ldc, int load) {
    int j = 0;
    for (; j + 64 <= N; j += 64) tile_direct512(2, 4, kb, a, lda, b + j, ldb, c + j, ldc, 64, load);
    for (; j < N; j += 16)
        tile_direct512(2, 1, kb, a, lda, b + j, ldb, c + j, ldc, N - j < 16 ? N - j : 16, load);
}

static AVX512 NOINLINE void rows_direct512_1(int N, int kb, const float *a, ptrdiff_t lda, const float *b,
                                             ptrdiff_t ldb, float *c, ptrdiff_t ldc, int load) {
    int j = 0;
    for (; j + 128 <= N; j += 128) tile_direct512(1, 8, kb, a, lda, b + j, ldb, c + j, ldc, 128, load);
    for (; j < N; j += 16)
        tile_direct512(1, 1, kb, a, lda, b + j, ldb, c + j, ldc, N - j < 16 ? N - j : 16, load);
}

_Static_assert(KC_MAX * NR <= BP_FLOATS && KC5_MAX * NR5 <= BP_FLOATS, "bp too small");

/* ---- Batch-wide tiles (AVX-512, ta = tb = 0, M 16 or 32, 16 < N <= 32) --------------------
 * A layer of 17 to 32 units at batch 16 or 32 (B0's and B1's first layers: 25) leaves 7 of the
 * 32 lanes of a row tile idle. Here the vectors run down the batch instead: A's k block is
 * transposed into bp (bp[k*32 + i] = A[i, k], 16x16 blocks in registers), B's values are
 * broadcast, and the accumulators T[j*32 + i] hold C transposed; at the end the epilogue
 * (bias and relu, a broadcast per column) and a transpose back write C. Every element is the
 * same fma chain over k in increasing order, carried through T between k blocks, so the bits
 * are those of the row tiles. Used from K = 128: below that the two transposes cost what the
 * idle lanes did (B0: 32x64x25 no faster; B1: 32x784x25 9.0 -> 8.0 us, op_profile). */

/* r[i] holds row i of a 16x16 block; afterwards r[c] holds column c. */
static AVX512 INLINE void transpose16(__m512 r[16]) {
    __m512 u[16], w[16];
    for (int i = 0; i < 8; i++) {
        u[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        u[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* w[4g + q], lane L: rows 4g..4g+3 of column 4L + q */
    for (int g = 0; g < 4; g++) {
        w[4 * g + 0] = _mm512_shuffle_ps(u[4 * g], u[4 * g + 2], 0x44);
        w[4 * g + 1] = _mm512_shuffle_ps(u[4 * g], u[4 * g + 2], 0xEE);
        w[4 * g + 2] = _mm512_shuffle_ps(u[4 * g + 1], u[4 * g + 3], 0x44);
        w[4 * g + 3] = _mm512_shuffle_ps(u[4 * g + 1], u[4 * g + 3], 0xEE);
    }
    for (int q = 0; q < 4; q++) {
        const __m512 x0 = _mm512_shuffle_f32x4(w[q], w[4 + q], 0x88), x1 = _mm512_shuffle_f32x4(w[q], w[4 + q], 0xDD);
        const __m512 y0 = _mm512_shuffle_f32x4(w[8 + q], w[12 + q], 0x88),
                     y1 = _mm512_shuffle_f32x4(w[8 + q], w[12 + q], 0xDD);
        r[q] = _mm512_shuffle_f32x4(x0, y0, 0x88);
        r[8 + q] = _mm512_shuffle_f32x4(x0, y0, 0xDD);
        r[4 + q] = _mm512_shuffle_f32x4(x1, y1, 0x88);
        r[12 + q] = _mm512_shuffle_f32x4(x1, y1, 0xDD);
    }
}

/* jn columns from j0 over a k block of kb, for mv vectors of 16 rows: T (+)= A·B */
static AVX512 INLINE void batchv_tile(const int jn, const int mv, int kb, const float *bp, const float *b,
                                      ptrdiff_t ldb, float *T, int load) {
    __m512 acc[13][2];
    for (int j = 0; j < jn; j++)
        for (int v = 0; v < mv; v++) acc[j][v] = load ? _mm512_load_ps(T + j * 32 + 16 * v) : _mm512_setzero_ps();
    for (int k = 0; k < kb; k++) {
        const __m512 x0 = _mm512_load_ps(bp + k * 32), x1 = mv > 1 ? _mm512_load_ps(bp + k * 32 + 16) : x0;
        const float *bk = b + k * ldb;
        for (int j = 0; j < jn; j++) {
            const __m512 w = _mm512_set1_ps(bk[j]);
            acc[j][0] = _mm512_fmadd_ps(x0, w, acc[j][0]);
            if (mv > 1) acc[j][1] = _mm512_fmadd_ps(x1, w, acc[j][1]);
        }
    }
    for (int j = 0; j < jn; j++)
        for (int v = 0; v < mv; v++) _mm512_store_ps(T + j * 32 + 16 * v, acc[j][v]);
}

#define BATCHV_TILE(jn, mv)                                                                    \
    static AVX512 NOINLINE void batchv_tile_##jn##_##mv(int kb, const float *bp, const float *b, \
                                                        ptrdiff_t ldb, float *T, int load) {   \
        batchv_tile(jn, mv, kb, bp, b, ldb, T, load);                                          \
    }
BATCHV_TILE(2, 1) BATCHV_TILE(3, 1) BATCHV_TILE(4, 1) BATCHV_TILE(5, 1) BATCHV_TILE(6, 1)
BATCHV_TILE(7, 1) BATCHV_TILE(8, 1) BATCHV_TILE(9, 1) BATCHV_TILE(10, 1) BATCHV_TILE(11, 1)
BATCHV_TILE(12, 1) BATCHV_TILE(13, 1)
BATCHV_TILE(2, 2) BATCHV_TILE(3, 2) BATCHV_TILE(4, 2) BATCHV_TILE(5, 2) BATCHV_TILE(6, 2)
BATCHV_TILE(7, 2) BATCHV_TILE(8, 2) BATCHV_TILE(9, 2) BATCHV_TILE(10, 2) BATCHV_TILE(11, 2)
BATCHV_TILE(12, 2) BATCHV_TILE(13, 2)
typedef void (*batchv_tile_fn)(int kb, const float *bp, const float *b, ptrdiff_t ldb, float *T, int load);
/* [mv - 1][jn]: N in 17..32 is cut into two or three tiles of 6 to 13 columns */
static const batchv_tile_fn batchv_tiles[2][14] = {
    {NULL, NULL, batchv_tile_2_1, batchv_tile_3_1, batchv_tile_4_1, batchv_tile_5_1, batchv_tile_6_1,
     batchv_tile_7_1, batchv_tile_8_1, batchv_tile_9_1, batchv_tile_10_1, batchv_tile_11_1, batchv_tile_12_1,
     batchv_tile_13_1},
    {NULL, NULL, batchv_tile_2_2, batchv_tile_3_2, batchv_tile_4_2, batchv_tile_5_2, batchv_tile_6_2,
     batchv_tile_7_2, batchv_tile_8_2, batchv_tile_9_2, batchv_tile_10_2, batchv_tile_11_2, batchv_tile_12_2,
     batchv_tile_13_2}};

static AVX512 NOINLINE void gemm_batchv512(int M, int N, int K, int kc, const float *A, ptrdiff_t lda,
                                           const float *B, ptrdiff_t ldb, int load0, float *C, ptrdiff_t ldc,
                                           const float *eb, int relu, float *bp) {
    _Alignas(64) float T[32 * 32];
    const int mv = M / 16, ntiles = (N + 12) / 13;
    if (load0)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) T[j * 32 + i] = C[i * ldc + j];
    for (int pc = 0; pc < K; pc += kc) {
        const int kb = K - pc < kc ? K - pc : kc, load = load0 || pc > 0;
        for (int i0 = 0; i0 < M; i0 += 16)
            for (int k0 = 0; k0 < kb; k0 += 16) {
                const int kn = kb - k0 < 16 ? kb - k0 : 16;
                const __mmask16 m = mask16(kn);
                __m512 r[16];
                for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(m, A + (i0 + i) * lda + pc + k0);
                transpose16(r);
                for (int q = 0; q < kn; q++) _mm512_store_ps(bp + (k0 + q) * 32 + i0, r[q]);
            }
        for (int t = 0, j0 = 0; t < ntiles; t++) {
            const int jn = (N - j0) / (ntiles - t);
            batchv_tiles[mv - 1][jn](kb, bp, B + pc * ldb + j0, ldb, T + j0 * 32, load);
            j0 += jn;
        }
    }
    if (eb) /* the epilogue (kernels.h): bias, then relu with NaN kept */
        for (int j = 0; j < N; j++)
            for (int v = 0; v < mv; v++) {
                __m512 x = _mm512_add_ps(_mm512_load_ps(T + j * 32 + 16 * v), _mm512_set1_ps(eb[j]));
                if (relu) x = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NLE_UQ), x);
                _mm512_store_ps(T + j * 32 + 16 * v, x);
            }
    for (int i0 = 0; i0 < M; i0 += 16)
        for (int j0 = 0; j0 < N; j0 += 16) {
            const int jn = N - j0 < 16 ? N - j0 : 16;
            const __mmask16 m = mask16(jn);
            __m512 r[16];
            for (int j = 0; j < 16; j++)
                r[j] = j < jn ? _mm512_load_ps(T + (j0 + j) * 32 + i0) : _mm512_setzero_ps();
            transpose16(r);
            for (int i = 0; i < 16; i++) _mm512_mask_storeu_ps(C + (i0 + i) * ldc + j0, m, r[i]);
        }
}

static const kernel_set set_avx512 = {MR5, NR5, KC5_MAX, pack_n_avx512, pack_t_avx512,
                                      {{strip_avx512_1_0, strip_avx512_2_0},
                                       {strip_avx512_1_1, strip_avx512_2_1}},
                                      {rows_direct512_1, rows_direct512_2}, gemm_batchv512};

/* ---- The driver, shared by the variants (plain C: it only calls the kernels) --------------- */

/* One (M block, k block): for each strip of NR columns, pack op(B)'s panel and run the strip. */
static void block(const kernel_set *ks, int ta, int tb, int N, int mb, int kb, const float *a,
                  ptrdiff_t lda, const float *B, ptrdiff_t ldb, int load, float *C,
                  ptrdiff_t ldc, float *bp, const float *eb, int relu) {
    for (int jc = 0; jc < N; jc += ks->nr) {
        const int nb = N - jc < ks->nr ? N - jc : ks->nr;
        if (tb)
            ks->pack_t(B + jc * ldb, ldb, kb, nb, bp);
        else
            ks->pack_n(B + jc, ldb, kb, nb, bp);
        ks->strip[ta][nb > ks->nr / 2](mb, kb, a, lda, bp, C + jc, ldc, nb, load, eb ? eb + jc : NULL, relu);
    }
}

static void gemm_blocked(const kernel_set *ks, int ta, int tb, int M, int N, int K,
                         const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb, float beta,
                         float *C, ptrdiff_t ldc, const nnc_gemm_epilogue *ep) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (beta == 0.0f)
            for (int i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof *C);
        if (ep) ep->fn(ep->ctx, C, ldc, M, ep->col0, N);
        return;
    }
    _Alignas(64) float bp[BP_FLOATS];
    /* k blocks of near-equal size; they change the speed, never the result */
    const int nk = (K + ks->kc_max - 1) / ks->kc_max, kc = (K + nk - 1) / nk;
    int mc = MC_BYTES / (kc * (int)sizeof(float)) / ks->mr * ks->mr;
    if (mc < ks->mr) mc = ks->mr;
    const int load0 = beta != 0.0f;
    /* a bias (and relu) epilogue goes into the tiles of the last k block */
    const float *eb = ep && ep->bias ? ep->bias + ep->col0 : NULL;
    const int relu = ep ? ep->relu : 0, call_ep = ep && !eb;
    if (ks->batchv && !ta && !tb && (M == 16 || M == 32) && N > 16 && N <= 32 && K >= 128) {
        ks->batchv(M, N, K, kc, A, lda, B, ldb, load0, C, ldc, eb, relu, bp);
        if (call_ep) ep->fn(ep->ctx, C, ldc, M, ep->col0, N);
        return;
    }
    if (M <= 4 && !ta && !tb) {
        gemm_few_rows(ks->few, M, N, K, kc, A, lda, B, ldb, load0, C, ldc);
        if (ep) ep->fn(ep->ctx, C, ldc, M, ep->col0, N);
        return;
    }
    /* op(A)[ic, pc] and op(B)[pc, 0] */
#define A_AT(ic, pc) (ta ? A + (pc) * lda + (ic) : A + (ic) * lda + (pc))
#define B_AT(pc) (tb ? B + (pc) : B + (pc) * ldb)
    if ((size_t)M * N * sizeof(float) <= C_L2_BYTES) {
        /* C fits in L2 (weight gradients, small layers): k blocks outermost, so A and B
         * stream through once while C stays near */
        for (int pc = 0; pc < K; pc += kc) {
            const int kb = K - pc < kc ? K - pc : kc;
            for (int ic = 0; ic < M; ic += mc)
                block(ks, ta, tb, N, M - ic < mc ? M - ic : mc, kb, A_AT(ic, pc), lda, B_AT(pc),
                      ldb, load0 || pc > 0, C + ic * ldc, ldc, bp, pc + kb == K ? eb : NULL, relu);
        }
        if (call_ep) ep->fn(ep->ctx, C, ldc, M, ep->col0, N);
    } else {
        /* C is big: finish each block of rows over all of k before the next, and give it to
         * the epilogue while it is still in L2 */
        for (int ic = 0; ic < M; ic += mc) {
            const int mb = M - ic < mc ? M - ic : mc;
            for (int pc = 0; pc < K; pc += kc) {
                const int kb = K - pc < kc ? K - pc : kc;
                block(ks, ta, tb, N, mb, kb, A_AT(ic, pc), lda, B_AT(pc), ldb, load0 || pc > 0,
                      C + ic * ldc, ldc, bp, pc + kb == K ? eb : NULL, relu);
            }
            if (call_ep) ep->fn(ep->ctx, C + ic * ldc, ldc, mb, ep->col0, N);
        }
    }
#undef A_AT
#undef B_AT
}

/* ---- Entry points ------------------------------------------------------------------------ */

int nnc_gemm_cpu_has(int variant) {
    switch (variant) {
    case NNC_GEMM_REF: return 1;
    case NNC_GEMM_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case NNC_GEMM_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
    default: return 0;
    }
}

void nnc_gemm_avx2_ex(int ta, int tb, int M, int N, int K, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc,
                      const nnc_gemm_epilogue *ep) {
    gemm_blocked(&set_avx2, ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, ep);
}

void nnc_gemm_avx512_ex(int ta, int tb, int M, int N, int K, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc,
                        const nnc_gemm_epilogue *ep) {
    gemm_blocked(&set_avx512, ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, ep);
}

#else /* not x86 with GCC or Clang: only the reference exists */

int nnc_gemm_cpu_has(int variant) { return variant == NNC_GEMM_REF; }

void nnc_gemm_avx2_ex(int ta, int tb, int M, int N, int K, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc,
                      const nnc_gemm_epilogue *ep) {
    nnc_gemm_ref(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
    if (ep && M > 0 && N > 0) ep->fn(ep->ctx, C, ldc, M, ep->col0, N);
}

void nnc_gemm_avx512_ex(int ta, int tb, int M, int N, int K, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc,
                        const nnc_gemm_epilogue *ep) {
    nnc_gemm_avx2_ex(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, ep);
}

#endif

/* Without an epilogue: the signature the tests and the kernel benchmark compare. */
void nnc_gemm_avx2(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc) {
    nnc_gemm_avx2_ex(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, NULL);
}

void nnc_gemm_avx512(int ta, int tb, int M, int N, int K, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc) {
    nnc_gemm_avx512_ex(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, NULL);
}
