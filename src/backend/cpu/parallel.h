/* Kernels split over a model's thread pool (src/backend/cpu/parallel.c). The split depends only
 * on the problem's shape, never on the number of threads, and every task writes its own rows,
 * so the results are bit-identical with 1 or N threads. */
#ifndef NNC_PARALLEL_H
#define NNC_PARALLEL_H
#include <stddef.h>
#include "thread_pool.h"
#include "kernels.h"

/* nnc_gemm over the pool: C is cut into blocks of rows (or of columns when C is wide and
 * short), one task each: one block a thread, four for large products. Small products run on
 * the caller. */
void nnc_gemm_par(nnc_pool *p, int ta, int tb, int M, int N, int K, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc);
/* The same with an epilogue run by each task on its own rows (nnc_gemm_ex). */
void nnc_gemm_par_ex(nnc_pool *p, int ta, int tb, int M, int N, int K, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc,
                     const nnc_gemm_epilogue *ep);

/* Runs fn(ctx, first, count) over [0, n) in a few chunks per thread, claimed by the threads
 * (none smaller than grain but the last). For work whose result does not depend on the chunks (each element written
 * by one call); sums that must not depend on the thread count use fixed chunks instead
 * (src/ops/epilogue.c). */
void nnc_parallel_range(nnc_pool *p, size_t n, size_t grain,
                        void (*fn)(void *ctx, size_t first, size_t count), void *ctx);

#endif
