/* The thread pool behind nnc_model_set_threads: persistent workers woken by a generation
 * counter; the caller is worker 0 so a one-thread pool costs nothing.
 *
 * A training step hands the pool a dozen or more short jobs (one per large product), with
 * little serial work between them. Waking a sleeping thread through a condition variable took
 * tens of microseconds on the project's virtual machine, which cost more than the second
 * thread gained on B2 (2.7 ms a step on 2 threads against 2.1 on 1). So waiting threads first
 * spin a little on the atomic counters, then yield the core (sched_yield) while still polling,
 * and only then sleep on the condition variables.
 *
 * Sharing the machine. Tasks are claimed, not assigned: every thread, the caller included,
 * takes the next unclaimed task of the job from one atomic ticket until none is left. With
 * another process busy on one core, a worker may be descheduled for a whole time slice (some
 * milliseconds); a static split (task t on worker t % threads) then made the caller wait for
 * it at every product, and spinning while it waited took the core from the very thread it
 * waited for: B3's epoch on 2 threads took 16.8 s against 12.5 s on 1 under such load. Now
 * the caller runs the tasks the absent worker has not claimed, and only waits for tasks
 * actually started; waiting yields the core. Which thread runs a task changes no bit: the
 * tasks are the same (parallel.c cuts by the shape and the thread count only) and each writes
 * its own outputs. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include "thread_pool.h"

#define SPIN_ROUNDS 2000   /* pause instructions before yielding: a few microseconds */
#define YIELD_ROUNDS 200   /* sched_yield calls before sleeping: ~0.1 ms on an idle core */
#define STALL_S 200e-6     /* a wait this long (and twice the caller's own work) is a stall */
#define SOLO_MIN 64        /* jobs run on the caller alone after a stall, doubling ... */
#define SOLO_MAX 4096      /* ... up to this while stalls repeat */

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
    atomic_ulong generation;  /* bumped for every job; workers wait for a new one */
    /* the job's next unclaimed task in the low 32 bits, its generation in the high 32: a
     * worker that wakes late cannot claim a task of a newer job as one of its own */
    atomic_uint_fast64_t ticket;
    atomic_int finished;      /* tasks of this job done */
    atomic_int stop;
    /* Adapting to a shared machine (read and written by the caller alone): after a job whose
     * caller waited for a worker much longer than its own share took (the worker held a task
     * while another process had its core), the next `solo` jobs run on the caller alone;
     * solo_len doubles while such stalls repeat and falls back once a job runs clean. */
    int solo, solo_len;
    atomic_int n_tasks;       /* read before a claim, so possibly a newer job's: atomic */
    void (*fn)(void *, int);
    void *ctx;
};

/* Claims and runs tasks of job gen until none is left; the number run. */
static int run_claimed(nnc_pool *p, uint32_t gen) {
    int ran = 0;
    uint_fast64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(t >> 32) != gen) return ran;
        uint32_t task = (uint32_t)t;
        /* a newer job's n_tasks (read late) only makes the exchange below fail */
        if ((int)task >= atomic_load_explicit(&p->n_tasks, memory_order_relaxed)) return ran;
        if (atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            p->fn(p->ctx, (int)task);
            ran++;
            t = atomic_load_explicit(&p->ticket, memory_order_acquire);
        }
    }
}

/* Waits until pred(p, arg) holds: spins, then yields, then sleeps on cond (which whoever makes
 * pred true signals under the mutex). */
static void wait_until(nnc_pool *p, int (*pred)(nnc_pool *, unsigned long), unsigned long arg,
                       pthread_cond_t *cond) {
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (pred(p, arg)) return;
        cpu_relax();
    }
    for (int i = 0; i < YIELD_ROUNDS; i++) {
        if (pred(p, arg)) return;
        sched_yield();
    }
    pthread_mutex_lock(&p->mu);
    while (!pred(p, arg)) pthread_cond_wait(cond, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int new_job(nnc_pool *p, unsigned long seen) {
    return atomic_load_explicit(&p->generation, memory_order_acquire) != seen ||
           atomic_load_explicit(&p->stop, memory_order_relaxed);
}

static int job_done(nnc_pool *p, unsigned long n_tasks) {
    return atomic_load_explicit(&p->finished, memory_order_acquire) == (int)n_tasks;
}

static void *worker(void *arg) {
    nnc_pool *p = arg;
    unsigned long seen = 0;
    for (;;) {
        wait_until(p, new_job, seen, &p->wake);
        if (atomic_load(&p->stop)) break;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        int ran = run_claimed(p, (uint32_t)seen);
        /* the job cannot end before this worker's tasks are counted, so n is still its own */
        int n = atomic_load_explicit(&p->n_tasks, memory_order_relaxed);
        if (ran && atomic_fetch_add_explicit(&p->finished, ran, memory_order_acq_rel) + ran == n) {
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
    p->solo_len = SOLO_MIN;
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
            if (pthread_create(&p->ids[i], NULL, worker, p)) {
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
    if (!p || p->threads == 1 || n_tasks <= 1 || p->solo > 0) {
        if (p && p->solo > 0 && n_tasks > 1) p->solo--;
        for (int t = 0; t < n_tasks; t++) fn(ctx, t);
        return;
    }
    const double t0 = seconds();
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->n_tasks, n_tasks, memory_order_relaxed);
    atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
    unsigned long gen = atomic_load_explicit(&p->generation, memory_order_relaxed) + 1;
    /* the release publishes fn, ctx, n_tasks and finished to whoever claims from the ticket;
     * bumping the generation under the mutex means a worker about to sleep either sees it or
     * is woken */
    atomic_store_explicit(&p->ticket, (uint_fast64_t)(uint32_t)gen << 32, memory_order_release);
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->generation, gen, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    int ran = run_claimed(p, (uint32_t)gen);
    if (atomic_fetch_add_explicit(&p->finished, ran, memory_order_acq_rel) + ran == n_tasks) {
        p->solo_len = SOLO_MIN;
        return;
    }
    const double t1 = seconds();
    wait_until(p, job_done, (unsigned long)n_tasks, &p->done);
    const double waited = seconds() - t1;
    if (waited > STALL_S && waited > 2.0 * (t1 - t0)) { /* a worker was held off its core */
        p->solo = p->solo_len;
        p->solo_len = p->solo_len < SOLO_MAX ? 2 * p->solo_len : SOLO_MAX;
    } else {
        p->solo_len = SOLO_MIN;
    }
}
