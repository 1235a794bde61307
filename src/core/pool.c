/* The thread pool behind nnc_model_set_threads: persistent workers woken by a generation
 * counter under a mutex. Tasks are assigned statically (task t to worker t % threads), which
 * keeps the split reproducible; the caller is worker 0 so a one-thread pool costs nothing. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include "pool.h"

struct nnc_pool {
    int threads;
    pthread_t *ids;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    unsigned long generation; /* bumped for every run; workers wait for a new one */
    int pending;              /* workers still busy with this generation */
    int stop;
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

static void *worker(void *arg) {
    worker_arg *w = arg;
    nnc_pool *p = w->p;
    int index = w->index;
    free(w);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->generation == seen && !p->stop) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_share(p, index);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
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
    p->stop = 1;
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
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    p->pending = p->threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_share(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
