/* The int8 matrix product behind quantized Dense and Conv2D (src/ops/quant.c):
 *   C[i, j] = Σ_k (A[i, k] − 128) · W[k, j]
 * A is the layer's input quantized to unsigned bytes with the zero point 128 (x ≈ s·(A − 128)),
 * W the kernel as signed bytes in [−127, 127], packed once (nnc_qpack). Each sum is exact in
 * int32 (|Σ| <= K·127·127 < 2^31 for K up to 133 000, checked when quantizing), so every
 * variant (plain C, AVX2, AVX-VNNI, AVX-512 VNNI) gives the same int32 and therefore the same
 * float, whatever the split of rows or columns between threads. */
#ifndef NNC_QGEMM_H
#define NNC_QGEMM_H
#include <stddef.h>
#include <stdint.h>
#include "kernels.h"
#include "thread_pool.h"

enum { NNC_QGEMM_REF = 0, NNC_QGEMM_AVX2 = 1, NNC_QGEMM_AVXVNNI = 2, NNC_QGEMM_AVX512VNNI = 3,
       NNC_QGEMM_COUNT };

#define NNC_QPANEL 16       /* columns of W per packed panel */
#define NNC_QMAX_K 133000   /* longest exact sum: 133000·127·127 < 2^31 */

/* 1 when this build has the variant and this CPU runs it (NNC_QGEMM_REF: always). */
int nnc_qgemm_cpu_has(int variant);
/* The variant for this CPU: the widest it runs, or the faster of the two VNNI variants by
 * timing (choose.c). */
int nnc_qgemm_best(void);
const char *nnc_qgemm_variant_name(int variant);

/* Bytes of one quantized input row: K rounded up to a multiple of 4 (the padding holds 128). */
int nnc_qrow_bytes(int K);
/* Bytes of the packed kernel: ceil(K/4) groups of 4 k by ceil(N/16) panels of 16 columns. */
size_t nnc_qpack_bytes(int K, int N);
/* Packs W [K, N] (row-major, int8) as bp[((p·KG + g)·16 + c)·4 + t] = W[4g + t, 16p + c], zero
 * outside W, and comp[j] = 128·Σ_k W[k, j] (what the unsigned zero point adds to each sum). */
void nnc_qpack(const int8_t *W, int K, int N, int8_t *bp, int32_t *comp);
/* a[r, k] = 128 + clamp(round_even(x[r, k]·inv_scale), −127, 127), a NaN as 0; the row's
 * padding up to lda is 128. */
void nnc_quantize_rows(const float *x, int rows, int K, ptrdiff_t ldx, float inv_scale, uint8_t *a,
                       int lda);
/* The same in plain C (the reference the SIMD quantizer is tested against). */
void nnc_quantize_rows_ref(const float *x, int rows, int K, ptrdiff_t ldx, float inv_scale, uint8_t *a,
                           int lda);

/* One variant: rows M of A (lda bytes apart) times the packed kernel. With cf, C[i, j] =
 * (float)sum · scale[j] (ldc floats apart), else ci[i, j] = sum (ldc int32 apart). Call only a
 * variant nnc_qgemm_cpu_has() accepts. Allocates nothing. */
void nnc_qgemm(int variant, int M, int N, int K, const uint8_t *A, int lda, const int8_t *bp,
               const int32_t *comp, const float *scale, float *cf, int32_t *ci, int ldc);
/* The float form over the pool, with the epilogue (NULL: none) run by each task on its own
 * block. Blocks of rows (columns for a few rows), fixed by the shape. */
void nnc_qgemm_par(nnc_pool *p, int variant, int M, int N, int K, const uint8_t *A, int lda,
                   const int8_t *bp, const int32_t *comp, const float *scale, float *C, int ldc,
                   const nnc_gemm_epilogue *ep);

/* nnc_qgemm_par for bf16 (nnc_bgemm over the pool). */
void nnc_bgemm_par(nnc_pool *p, int M, int N, int K, const uint16_t *A, int lda, const uint16_t *bp, float *C,
                   int ldc, const nnc_gemm_epilogue *ep);

/* The SIMD variants (qgemm_x86.c); the same contract as nnc_qgemm. */
typedef void (*nnc_qgemm_fn)(int M, int N, int K, const uint8_t *A, int lda, const int8_t *bp,
                             const int32_t *comp, const float *scale, float *cf, int32_t *ci, int ldc);
void nnc_qgemm_avx2(int M, int N, int K, const uint8_t *A, int lda, const int8_t *bp,
                    const int32_t *comp, const float *scale, float *cf, int32_t *ci, int ldc);
void nnc_qgemm_avxvnni(int M, int N, int K, const uint8_t *A, int lda, const int8_t *bp,
                       const int32_t *comp, const float *scale, float *cf, int32_t *ci, int ldc);
void nnc_qgemm_avx512vnni(int M, int N, int K, const uint8_t *A, int lda, const int8_t *bp,
                          const int32_t *comp, const float *scale, float *cf, int32_t *ci, int ldc);
int nnc_qgemm_x86_has(int variant);
/* nnc_quantize_rows with AVX-512 (the same bytes); only where nnc_qgemm_x86_has(AVX512VNNI). */
void nnc_quantize_rows_avx512(const float *x, int rows, int K, ptrdiff_t ldx, float inv_scale, uint8_t *a,
                              int lda);

/* ---- bf16 (bf16_x86.c) ---- */
/* 1 when this CPU runs AVX512_BF16 (and the build has the kernel). */
int nnc_bf16_cpu_has(void);
/* f rounded to bfloat16 (nearest even), as a float. */
float nnc_bf16_round(float f);
/* Elements of the packed bf16 kernel: ceil(K/2) pairs of k by ceil(N/16) panels of 16 columns. */
size_t nnc_bf16_pack_elems(int K, int N);
/* bp[((p·KH + h)·16 + c)·2 + t] = bf16(W[2h + t, 16p + c]), zero outside W. */
void nnc_bf16_pack(const float *W, int K, int N, uint16_t *bp);
/* a[r, k] = bf16(x[r, k]), zero up to lda (even). */
void nnc_bf16_rows(const float *x, int rows, int K, ptrdiff_t ldx, uint16_t *a, int lda);
/* C[M, N] = A·W over bf16 with float sums; only where nnc_bf16_cpu_has(). */
void nnc_bgemm(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *bp, float *C, int ldc);

#endif
