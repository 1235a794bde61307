/* CPU kernels shared by ops. The plain C versions here are the reference: the oracle in tests
 * and the fallback for every shape. */
#ifndef NNC_KERNELS_H
#define NNC_KERNELS_H

/* C[M,N] = beta·C + op(A)·op(B), row-major; op(A) is [M,K] (A is [K,M] when ta), op(B) is
 * [K,N] (B is [N,K] when tb). beta is 0 (overwrite) or 1 (accumulate, for gradients). */
void nnc_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc);

#endif
