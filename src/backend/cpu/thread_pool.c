/* The thread pool behind nnc_model_set_threads: persistent workers woken by a generation
 * counter. Tasks are assigned statically (task t to worker t % threads), which keeps the split
 * reproducible; the caller is worker 0 so a one-thread pool costs nothing.
 *
 * A training step hands the pool a dozen or more short jobs (one per large product), with
 * little serial work between them. Waking a sleeping thread through a condition variable took
 * tens of microseconds on the project's virtual machine, which cost more than the second
 * thread gained on B2 (2.7 ms a step on 2 threads against 2.1 on 1). So both sides first spin
 * a while on the atomic counters (about a tenth of a millisecond) and only then sleep on the
 * condition variables; a pool left idle costs nothing after that. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "thread_pool.h"

#define SPIN_ROUNDS 20000 /* pause instructions before sleeping: ~0.1-0.3 ms */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

struct nnc_pool {
    int threads;
    pthread_t *ids;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_ulong generation;  /* bumped for every run; workers wait for a new one */
    atomic_int pending;       /* workers still busy with this generation */
    atomic_int stop;
    int n_tasks;
    void (*fn)(void *, int);
    void *ctx;
};

typedef struct {
    nnc_pool *p;
    int index;
} worker_arg;

static void run_share(nnc_pool *p, int index) {
    for (int t = index; t < p->n_tasks; t += p->threads) p->fn(p->ctx, t);
}

/* Spins, then sleeps, until the generation moves past seen or the pool stops. */
static unsigned long wait_generation(nnc_pool *p, unsigned long seen) {
    unsigned long g;
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        g = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (g != seen || atomic_load_explicit(&p->stop, memory_order_relaxed)) return g;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen &&
           !atomic_load_explicit(&p->stop, memory_order_relaxed))
        pthread_cond_wait(&p->wake, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker(void *arg) {
    worker_arg *w = arg;
    nnc_pool *p = w->p;
    int index = w->index;
    free(w);
    unsigned long seen = 0;
    for (;;) {
        seen = wait_generation(p, seen);
        if (atomic_load(&p->stop)) break;
        run_share(p, index);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu); /* the caller may be asleep: see nnc_pool_run */
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

nnc_pool *nnc_pool_new(int threads) {
    if (threads < 1) threads = 1;
    nnc_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (threads > 1) {
        p->ids = calloc((size_t)threads, sizeof *p->ids);
        if (!p->ids) {
            nnc_pool_free(p);
            return NULL;
        }
        for (int i = 1; i < threads; i++) {
            worker_arg *w = malloc(sizeof *w);
            if (!w || (w->p = p, w->index = i, pthread_create(&p->ids[i], NULL, worker, w))) {
                free(w);
                p->threads = i; /* the workers started so far are joined by free */
                nnc_pool_free(p);
                return NULL;
            }
        }
    }
    return p;
}

void nnc_pool_free(nnc_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; p->ids && i < p->threads; i++) pthread_join(p->ids[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->ids);
    free(p);
}

int nnc_pool_threads(const nnc_pool *p) { return p ? p->threads : 1; }

void nnc_pool_run(nnc_pool *p, int n_tasks, void (*fn)(void *ctx, int task), void *ctx) {
    if (!p || p->threads == 1 || n_tasks <= 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->pending, p->threads - 1, memory_order_relaxed);
    /* the release publishes fn, ctx and n_tasks to the workers that see the new generation;
     * bumping it under the mutex means a worker about to sleep either sees it or is woken */
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_share(p, 0);
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) return;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
