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
 * its own outputs.
 *
 * Whether to use the pool at all. Even claimed tasks cost something: a job handed over is a
 * few microseconds of waking and waiting, which B1's 37 µs step pays a dozen times (on 2 threads
 * its epoch took 0.101 s against 0.075 s on 1, quiet), and with another process busy on one core
 * a worker waits for that core at every job. No rule on shapes knows the machine's load, so the
 * pool measures: the caller brackets each round of repeated work (a training step, an inference
 * batch) and the pool times rounds of the same kind and size run both ways, on the pool and on
 * the caller alone, in alternating blocks, until one way is surely faster (or long enough, then
 * alone), then uses that way for a stretch sixteen times as long as the trial before trying
 * both again. The choice changes no bit (see above), so it
 * may follow the load. NNC_POOL_ADAPT=0 in the environment turns this off (every job on the
 * pool), to measure the pool itself. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <stdatomic.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "thread_pool.h"

#define SPIN_ROUNDS 2000   /* pause instructions before yielding: a few microseconds */
#define YIELD_ROUNDS 200   /* sched_yield calls before sleeping: ~0.1 ms on an idle core */
#define STALL_S 200e-6     /* a wait this long (and twice the caller's own work) is a stall */
#define SOLO_MIN 64        /* jobs run on the caller alone after a stall, doubling ... */
#define SOLO_MAX 4096      /* ... up to this while stalls repeat */

#define ROUND_SLOTS 6      /* kinds and sizes of rounds timed apart (LRU) */
#define WARMUP_ROUNDS 2    /* first rounds of a size (planning, cold caches): not timed */
#define TRIAL_BLOCK 4      /* a trial alternates blocks of this many rounds each way ... */
#define TRIAL_MIN_ROUNDS 6 /* ... until each way has this many timed rounds (a block's first is not) */
#define TRIAL_MIN_S 20e-3  /* ... and the trial has lasted this long: a few of the system's time slices */
#define TRIAL_MAX_S 0.2    /* a trial still undecided after this long, and ... */
#define TRIAL_MAX_ROUNDS 12 /* ... this many timed rounds each way, settles on the caller alone */
#define RUN_FACTOR 16      /* a choice then holds this many times as long as its trial ... */
#define RUN_MIN_ROUNDS 64  /* ... and at least this many rounds */
#define POOL_MARGIN 0.97   /* the pool is chosen only when at least 3 % faster ... */
#define SURE 2.0           /* ... by this many standard errors of the difference of the means */

/* The timing of rounds of one kind and size. */
typedef struct {
    int kind, rows;
    unsigned long used;    /* for replacing the least recently used */
    int phase;             /* 0 warming up, 1 trying both ways, 2 running the choice */
    int rounds;            /* rounds in this phase */
    int choice;            /* 1: the caller alone, 0: the pool, -1: none yet */
    double t_phase;        /* when this phase began */
    double trial_s;        /* how long the last trial took */
    double sum[2], sq[2];  /* a trial's timed seconds, their squares and rounds: [0] pool, [1] alone */
    int cnt[2];
} round_ctl;

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
    /* Rounds (read and written by the caller alone): the open round's slot (NULL: none),
     * its start and whether its jobs run on the caller alone. */
    round_ctl rounds[ROUND_SLOTS];
    int rounds_off;           /* NNC_POOL_ADAPT=0: every job on the pool (for measuring it) */
    unsigned long round_clock;
    round_ctl *round;
    int round_depth;          /* rounds begun inside the open one count as part of it */
    double round_t0;
    int round_alone;
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
    const char *adapt = getenv("NNC_POOL_ADAPT");
    p->rounds_off = adapt && !strcmp(adapt, "0");
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
    if (p && p->round_alone) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t);
        return;
    }
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

static round_ctl *round_slot(nnc_pool *p, int kind, int rows) {
    round_ctl *lru = &p->rounds[0];
    for (int i = 0; i < ROUND_SLOTS; i++) {
        round_ctl *c = &p->rounds[i];
        if (c->used && c->kind == kind && c->rows == rows) return c;
        if (c->used < lru->used) lru = c;
    }
    *lru = (round_ctl){.kind = kind, .rows = rows, .choice = -1};
    return lru;
}

static void start_phase(round_ctl *c, int phase, double now) {
    c->phase = phase;
    c->rounds = 0;
    c->t_phase = now;
    c->sum[0] = c->sum[1] = c->sq[0] = c->sq[1] = 0.0;
    c->cnt[0] = c->cnt[1] = 0;
}

void nnc_pool_round_begin(nnc_pool *p, int kind, int rows) {
    if (!p || p->threads == 1 || p->rounds_off || p->round_depth++) return;
    round_ctl *c = round_slot(p, kind, rows);
    c->used = ++p->round_clock;
    const double now = seconds();
    if (c->phase == 2 && c->rounds >= RUN_MIN_ROUNDS && now - c->t_phase >= RUN_FACTOR * c->trial_s)
        start_phase(c, 1, now);
    p->round = c;
    p->round_alone = c->phase == 1 ? (c->rounds / TRIAL_BLOCK) & 1 : c->phase == 2 ? c->choice : 0;
    p->round_t0 = now;
}

void nnc_pool_round_end(nnc_pool *p) {
    if (!p || p->threads == 1 || p->rounds_off || p->round_depth <= 0 || --p->round_depth) return;
    round_ctl *c = p->round;
    const double now = seconds();
    const int alone = p->round_alone;
    p->round = NULL;
    p->round_alone = 0;
    if (c->phase == 0) {
        if (++c->rounds >= WARMUP_ROUNDS) start_phase(c, 1, now);
        return;
    }
    if (c->phase == 2) {
        c->rounds++;
        return;
    }
    /* a block's first round pays for the switch (a worker asleep since the last block) */
    if (c->rounds % TRIAL_BLOCK) {
        const double t = now - p->round_t0;
        c->sum[alone] += t, c->sq[alone] += t * t, c->cnt[alone]++;
    }
    c->rounds++;
    if (c->cnt[0] < TRIAL_MIN_ROUNDS || c->cnt[1] < TRIAL_MIN_ROUNDS || now - c->t_phase < TRIAL_MIN_S ||
        c->rounds % TRIAL_BLOCK)
        return;
    /* The pool only when surely faster. Beside a busy core its rounds are fast while the worker
     * has a core and slow when it waits for one, so their spread is wide; the trial then goes
     * on until the difference stands out of it, or settles on the caller alone. */
    double mean[2], var[2];
    for (int k = 0; k < 2; k++) {
        mean[k] = c->sum[k] / c->cnt[k];
        var[k] = c->sq[k] / c->cnt[k] - mean[k] * mean[k];
        if (var[k] < 0) var[k] = 0;
    }
    const double se = sqrt(var[0] / c->cnt[0] + var[1] / c->cnt[1]);
    const double gap = POOL_MARGIN * mean[1] - mean[0]; /* > 0: the pool faster by the margin */
    const int sure = gap > SURE * se || gap < -SURE * se;
    const int long_enough = now - c->t_phase >= TRIAL_MAX_S && c->cnt[0] >= TRIAL_MAX_ROUNDS &&
                            c->cnt[1] >= TRIAL_MAX_ROUNDS;
    if (!sure && !long_enough) return;
    c->choice = sure && gap > 0 ? 0 : 1;
    c->trial_s = now - c->t_phase;
    start_phase(c, 2, now);
}

int nnc_pool_width(const nnc_pool *p) { return !p ? 1 : p->round_alone ? 1 : p->threads; }

int nnc_pool_round_alone(const nnc_pool *p) { return p && p->round_depth ? p->round_alone : 0; }

int nnc_pool_round_solo(const nnc_pool *p, int kind) {
    if (!p || p->threads == 1) return 1;
    const round_ctl *best = NULL;
    for (int i = 0; i < ROUND_SLOTS; i++)
        if (p->rounds[i].used && p->rounds[i].kind == kind && (!best || p->rounds[i].used > best->used))
            best = &p->rounds[i];
    return best ? best->choice : -1;
}
