/* Matrix multiply: the plain C reference (the fallback, and the oracle in tests/test_gemm.c)
 * and the dispatcher to the SIMD variant (gemm_x86.c) chosen for this CPU (choose.c): AVX-512F
 * or AVX2+FMA, whichever ran faster, else the reference.
 *
 * Reference: loop orders keep the innermost loop contiguous in both the read and the written
 * matrix so that the compiler vectorises it; every output element is summed over k in
 * increasing order whatever the shape, which keeps results independent of how rows are later
 * split between threads. */
#include <string.h>
#include "kernels.h"
#include "gemm_simd.h"

void nnc_gemm_ref(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                  int ldb, float beta, float *C, int ldc) {
    if (beta == 0.0f)
        for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof *C);
    if (!ta && !tb) {
        /* C[i,:] += A[i,k] · B[k,:] */
        for (int i = 0; i < M; i++) {
            float *c = C + (size_t)i * ldc;
            const float *a = A + (size_t)i * lda;
            for (int k = 0; k < K; k++) {
                const float aik = a[k], *b = B + (size_t)k * ldb;
                for (int j = 0; j < N; j++) c[j] += aik * b[j];
            }
        }
    } else if (ta && !tb) {
        /* C[i,:] += A[k,i] · B[k,:] */
        for (int i = 0; i < M; i++) {
            float *c = C + (size_t)i * ldc;
            for (int k = 0; k < K; k++) {
                const float aki = A[(size_t)k * lda + i], *b = B + (size_t)k * ldb;
                for (int j = 0; j < N; j++) c[j] += aki * b[j];
            }
        }
    } else if (!ta && tb) {
        /* C[i,j] += A[i,:] · B[j,:] */
        for (int i = 0; i < M; i++) {
            const float *a = A + (size_t)i * lda;
            for (int j = 0; j < N; j++) {
                const float *b = B + (size_t)j * ldb;
                float s = 0.0f;
                for (int k = 0; k < K; k++) s += a[k] * b[k];
                C[(size_t)i * ldc + j] += s;
            }
        }
    } else {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float s = 0.0f;
                for (int k = 0; k < K; k++) s += A[(size_t)k * lda + i] * B[(size_t)j * ldb + k];
                C[(size_t)i * ldc + j] += s;
            }
    }
}

/* nnc_gemm_variant (choose.c) is the variant timed fastest on this CPU, chosen once. The variants
 * give bit-identical results, so the choice changes speed only. */
const char *nnc_gemm_variant_name(int variant) {
    switch (variant) {
    case NNC_GEMM_AVX2: return "avx2+fma";
    case NNC_GEMM_AVX512: return "avx512f";
    default: return "reference";
    }
}

void nnc_gemm_ex(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                 int ldb, float beta, float *C, int ldc, const nnc_gemm_epilogue *ep) {
    switch (nnc_gemm_variant()) {
    case NNC_GEMM_AVX512: nnc_gemm_avx512_ex(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, ep); break;
    case NNC_GEMM_AVX2: nnc_gemm_avx2_ex(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, ep); break;
    default:
        nnc_gemm_ref(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
        if (ep && M > 0 && N > 0) ep->fn(ep->ctx, C, ldc, M, ep->col0, N);
        break;
    }
}

void nnc_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc) {
    nnc_gemm_ex(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, NULL);
}
