/* A model's thread pool (src/backend/cpu/thread_pool.c). Work is split into tasks whose number and content
 * never depend on the thread count, and each task writes its own outputs, so results are the
 * same bit for bit with any number of threads. */
#ifndef NNC_THREAD_POOL_H
#define NNC_THREAD_POOL_H

typedef struct nnc_pool nnc_pool;

/* A pool of `threads` workers including the caller (1: no thread is started). NULL on failure. */
nnc_pool *nnc_pool_new(int threads);
void nnc_pool_free(nnc_pool *p);
int nnc_pool_threads(const nnc_pool *p);
/* Runs fn(ctx, t) for every task t in [0, n_tasks) and returns when all are done. Each thread,
 * the caller included, claims the next task left until none is (so a worker the system has
 * descheduled delays only the task it holds); a NULL pool runs them all on the caller. */
void nnc_pool_run(nnc_pool *p, int n_tasks, void (*fn)(void *ctx, int task), void *ctx);

#endif
