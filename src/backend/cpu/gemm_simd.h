/* The SIMD variants behind nnc_gemm, for the dispatcher (gemm.c), the tests and the benchmark.
 * Call a variant only when nnc_gemm_cpu_has() says this CPU runs it.
 *
 * The order of the sums, shared by every SIMD variant: C[i,j] is one chain of fused
 * multiply-adds over k = 0, 1, ..., K-1, started from C[i,j] (beta 1) or from 0 (beta 0):
 *     c = fma(op(A)[i,k], op(B)[k,j], c).
 * Blocking over k stores the running c in C and reloads it, which rounds nothing, so the result
 * does not depend on the block sizes, on how M and N are split, or on the vector width: the
 * AVX2 and AVX-512 variants give bit-identical results. The reference (nnc_gemm_ref) rounds
 * each product apart and is only equal within rounding. */
#ifndef NNC_GEMM_SIMD_H
#define NNC_GEMM_SIMD_H
#include "kernels.h"

enum { NNC_GEMM_REF = 0, NNC_GEMM_AVX2 = 1, NNC_GEMM_AVX512 = 2 };

/* 1 when this build has the variant and this CPU runs it (NNC_GEMM_REF: always). */
int nnc_gemm_cpu_has(int variant);
/* The variant nnc_gemm uses on this CPU: AVX-512 or AVX2, whichever ran faster when the
 * process first asked (choose.c), else the widest the CPU runs. */
int nnc_gemm_variant(void);
const char *nnc_gemm_variant_name(int variant);
/* The float and int8 variants chosen and how (timed scores, a forcing variable). */
const char *nnc_kernels_chosen(void);

/* Same contract as nnc_gemm. */
void nnc_gemm_avx2(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc);
void nnc_gemm_avx512(int ta, int tb, int M, int N, int K, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc);
/* The same with an epilogue (nnc_gemm_ex). */
void nnc_gemm_avx2_ex(int ta, int tb, int M, int N, int K, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc,
                      const nnc_gemm_epilogue *ep);
void nnc_gemm_avx512_ex(int ta, int tb, int M, int N, int K, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc,
                        const nnc_gemm_epilogue *ep);

#endif
