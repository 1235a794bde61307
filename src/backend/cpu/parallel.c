/* Splitting kernels over the model's pool. A product under 1 megaflop (B0's are 0.1) is not worth
 * handing to a thread: the course's digits network runs its whole step on the caller. B1's
 * 32x784x25 (1.3 MFLOP) is: with the pool's workers spinning between jobs, splitting it (and
 * the update of its 20k parameters) made B1's epoch about 18 % shorter on 2 threads.
 *
 * A product is cut into one block of rows (or columns) per thread: every element of C is one
 * k chain whichever block computes it (gemm_simd.h), so the cut may follow the thread count
 * without changing a bit, and equal blocks keep the threads equally busy (a fixed 8-way cut
 * in multiples of 48 rows left B2's 784-row gradient at 3 blocks against 3 smaller ones). */
#include <stddef.h>
#include "kernels.h"
#include "parallel.h"

#define PAR_MIN_FLOPS (1 << 20)
#define PAR_MIN_B_FLOATS ((size_t)1 << 17) /* 512 KiB of op(B) */
#define PAR_FINE_FLOPS (16.0 * (1 << 20))
#define FINE_PARTS 4

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc, by_rows, step;
    const float *A, *B;
    float beta;
    float *C;
    const nnc_gemm_epilogue *ep;
} gemm_job;

static void gemm_task(void *ctx, int t) {
    const gemm_job *j = ctx;
    int first = t * j->step, total = j->by_rows ? j->M : j->N;
    if (first >= total) return;
    int count = total - first < j->step ? total - first : j->step;
    if (j->by_rows) {
        const float *a = j->ta ? j->A + first : j->A + (size_t)first * j->lda;
        nnc_gemm_ex(j->ta, j->tb, count, j->N, j->K, a, j->lda, j->B, j->ldb, j->beta,
                    j->C + (size_t)first * j->ldc, j->ldc, j->ep);
    } else {
        const float *b = j->tb ? j->B + (size_t)first * j->ldb : j->B + first;
        nnc_gemm_epilogue ep;
        if (j->ep) ep = *j->ep, ep.col0 += first;
        nnc_gemm_ex(j->ta, j->tb, j->M, count, j->K, j->A, j->lda, b, j->ldb, j->beta,
                    j->C + first, j->ldc, j->ep ? &ep : NULL);
    }
}

void nnc_gemm_par(nnc_pool *p, int ta, int tb, int M, int N, int K, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc) {
    nnc_gemm_par_ex(p, ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, NULL);
}

void nnc_gemm_par_ex(nnc_pool *p, int ta, int tb, int M, int N, int K, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc,
                     const nnc_gemm_epilogue *ep) {
    double flops = 2.0 * M * N * K;
    /* a product with few rows but a large op(B) (inference at batch 1: B2's 784x512 weights,
     * 1.6 MB) is bound by reading B: split by columns, each thread reads (and keeps in its own
     * L2 from one call to the next) only its part */
    const int b_bound = M <= 16 && (size_t)K * N >= PAR_MIN_B_FLOATS;
    if (nnc_pool_width(p) < 2 || (flops < PAR_MIN_FLOPS && !b_bound) || (M < 32 && N < 32)) {
        nnc_gemm_ex(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, ep);
        return;
    }
    gemm_job j = {ta, tb, M, N, K, lda, ldb, ldc, M >= N && !b_bound, 0, A, B, beta, C, ep};
    int total = j.by_rows ? M : N, threads = nnc_pool_width(p);
    /* Whole register tiles per block where blocks are large: rows in multiples of 12 (the
     * AVX-512 tile; two AVX2 tiles), columns in multiples of 16. A small product is cut evenly
     * instead (B1's 32 rows: 16 + 16, not 24 + 8). */
    const int tile = j.by_rows ? 12 : 16;
    /* A large product is cut finer, FINE_PARTS blocks a thread of at least 4 tiles each: the
     * threads claim them (thread_pool.c), so a worker that another process holds off its core
     * delays a quarter of its share, not all of it. */
    int parts = threads;
    if (flops >= PAR_FINE_FLOPS && total / (FINE_PARTS * threads) >= 4 * tile) parts = FINE_PARTS * threads;
    j.step = (total + parts - 1) / parts;
    if (j.step >= 4 * tile) j.step = (j.step + tile - 1) / tile * tile;
    int tasks = (total + j.step - 1) / j.step;
    nnc_pool_run(p, tasks, gemm_task, &j);
}

typedef struct {
    size_t n, chunk;
    void (*fn)(void *, size_t, size_t);
    void *ctx;
} range_job;

static void range_task(void *ctx, int t) {
    const range_job *r = ctx;
    size_t first = (size_t)t * r->chunk;
    if (first < r->n) r->fn(r->ctx, first, r->n - first < r->chunk ? r->n - first : r->chunk);
}

void nnc_parallel_range(nnc_pool *p, size_t n, size_t grain,
                        void (*fn)(void *ctx, size_t first, size_t count), void *ctx) {
    if (nnc_pool_width(p) < 2 || n <= grain) {
        fn(ctx, 0, n);
        return;
    }
    /* FINE_PARTS chunks a thread (claimed, as the products' blocks), or one chunk per thread
     * where that would make chunks smaller than grain, but none smaller than grain */
    const size_t threads = (size_t)nnc_pool_width(p);
    range_job r = {n, (n + FINE_PARTS * threads - 1) / (FINE_PARTS * threads), fn, ctx};
    if (r.chunk < grain) r.chunk = (n + threads - 1) / threads;
    if (r.chunk < grain) r.chunk = grain;
    nnc_pool_run(p, (int)((n + r.chunk - 1) / r.chunk), range_task, &r);
}
