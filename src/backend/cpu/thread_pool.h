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

/* Brackets one round of repeated work (a training step, an inference batch) of `rows` rows.
 * The pool times rounds of each kind and runs a round's jobs on the caller alone when such
 * rounds have lately been faster so (thread_pool.c); the results are the same bits either
 * way. Rounds begun inside an open one are part of it; every begin needs its end. A NULL
 * pool ignores them. */
enum { NNC_ROUND_TRAIN = 0, NNC_ROUND_INFER = 1, NNC_ROUND_KINDS = 2 };
void nnc_pool_round_begin(nnc_pool *p, int kind, int rows);
void nnc_pool_round_end(nnc_pool *p);
/* The threads a job handed to the pool now will run on: 1 in a round run alone, else
 * nnc_pool_threads. Splits whose results do not depend on the cut (parallel.c) follow it, so a
 * round run alone computes its products whole, not in the blocks meant for several threads. */
int nnc_pool_width(const nnc_pool *p);
/* Whether the open round's jobs run on the caller alone (0 when no round is open). */
int nnc_pool_round_alone(const nnc_pool *p);
/* How the last rounds of `kind` ran: 1 on the caller alone, 0 on the pool, -1 not decided. */
int nnc_pool_round_solo(const nnc_pool *p, int kind);

#endif
