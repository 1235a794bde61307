/* CPU kernels shared by ops. The plain C versions here are the reference: the oracle in tests
 * and the fallback for every shape. */
#ifndef NNC_KERNELS_H
#define NNC_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* Work done on C's rows as soon as they are final, while they are still in cache (a layer's
 * bias and activation fused into its product): fn(ctx, c, ldc, rows, col0, cols) gets a block of
 * `rows` whole rows of this call's C, and col0, the column of the full product where this call's
 * C starts (calls split by columns pass their offset). Each element is visited exactly once, after
 * its sum is complete, so the result is the same as a separate pass afterwards. */
typedef struct {
    void (*fn)(const void *ctx, float *c, ptrdiff_t ldc, int rows, int col0, int cols);
    const void *ctx;
    int col0;
    /* When bias is set, fn's whole work is c = c + bias[col0 + j], then with relu
     * c = (c > 0 || c is NaN) ? c : 0: the SIMD kernels then do it to their register tiles
     * before the last store instead of calling fn, the same operations on the same values
     * (a separate pass would reread rows just written by masked stores, which do not forward
     * to loads: B0's epilogue was a tenth of its step). */
    const float *bias;
    int relu;
} nnc_gemm_epilogue;

/* C[M,N] = beta·C + op(A)·op(B), row-major; op(A) is [M,K] (A is [K,M] when ta), op(B) is
 * [K,N] (B is [N,K] when tb). beta is 0 (overwrite) or 1 (accumulate, for gradients).
 * Picks the fastest variant this CPU runs (gemm.c). Every variant sums each C element over k
 * in an order fixed by K and the variant alone, so splitting M or N between calls (threads)
 * gives bit-identical results. Allocates nothing; uses about 17 KiB of stack. */
void nnc_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc);
/* nnc_gemm with an epilogue (NULL: none). */
void nnc_gemm_ex(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                 int ldb, float beta, float *C, int ldc, const nnc_gemm_epilogue *ep);

/* Max pooling over one window, for C channels: best[c] is the largest xv[src[w] + c] over the
 * n cells w (the first one on ties; NaN never wins; -FLT_MAX when none is larger) and arg[c]
 * is arg_base + src[w] + c for that cell (0 when none). AVX2 when the CPU has it
 * (window_x86.c). */
void nnc_max_window(const float *xv, const uint32_t *src, int n, int C, uint32_t arg_base,
                    float *best, uint32_t *arg);

/* count windows of n cells (n <= 64 for the AVX2 path), window k's cells at src[w] + k·step:
 * nnc_max_window for each, best and arg advancing by C per window. arg NULL: the maxima only
 * (inference), the same values. */
void nnc_max_window_row(const float *xv, const uint32_t *src, int n, int C, int count, uint32_t step,
                        uint32_t arg_base, float *best, uint32_t *arg);

/* The plain C reference: same contract, no SIMD beyond what the compiler finds. */
void nnc_gemm_ref(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                  int ldb, float beta, float *C, int ldc);

#endif
