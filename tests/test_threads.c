/* Threads change nothing but speed: the same seed gives bit-identical weights with 1, 2 and 3
 * threads, for a convolutional network and for a wide Dense network whose products are large
 * enough to be split (over 4 MFLOP: src/backend/cpu/parallel.c). And models share no state:
 * two models trained at the same time in two threads, each with its own 2-thread pool, end as
 * they do when trained one after the other. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "core/model_impl.h"
#include "core/rng.h"
#include "backend/cpu/thread_pool.h"

static float *train(const char *spec, int threads, int in, int n, size_t *count) {
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), "t.nnc", &e);
    if (!m) {
        fprintf(stderr, "%s\n", e.message);
        return NULL;
    }
    if (nnc_model_set_threads(m, threads) != NNC_OK) {
        fprintf(stderr, "set_threads: %s\n", nnc_last_error(m));
        nnc_model_free(m);
        return NULL;
    }
    float *x = malloc((size_t)n * (size_t)in * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
    nnc_rng r;
    nnc_rng_seed(&r, 5);
    for (int i = 0; i < n * in; i++) x[i] = (float)nnc_rng_uniform(&r);
    for (int i = 0; i < n; i++) y[i] = (float)(i % 10);
    nnc_fit_opts o = nnc_fit_opts_default();
    o.epochs = 2;
    o.batch_size = 64;
    o.verbose = 0;
    float *w = NULL;
    if (nnc_fit(m, x, y, (size_t)n, &o, NULL) == NNC_OK) {
        *count = m->n_param_floats;
        w = malloc(*count * sizeof(float));
        memcpy(w, m->param_arena, *count * sizeof(float));
    }
    free(x);
    free(y);
    nnc_model_free(m);
    return w;
}

static void check_threads(test_run *r, const char *name, const char *spec, int in, int n) {
    if (!t_begin(r, "threads/%s", name)) return;
    size_t c1 = 0, c2 = 0, c3 = 0;
    float *w1 = train(spec, 1, in, n, &c1), *w2 = train(spec, 2, in, n, &c2), *w3 = train(spec, 3, in, n, &c3);
    if (CHECK(r, w1 && w2 && w3 && c1 == c2 && c1 == c3, "training failed")) {
        CHECK(r, !memcmp(w1, w2, c1 * sizeof(float)), "1 and 2 threads give different weights");
        CHECK(r, !memcmp(w1, w3, c1 * sizeof(float)), "1 and 3 threads give different weights");
    }
    free(w1);
    free(w2);
    free(w3);
    t_end(r);
}

typedef struct {
    const char *spec;
    int in, n;
    size_t count;
    float *w;
} train_arg;

static void *train_thread(void *p) {
    train_arg *a = p;
    a->w = train(a->spec, 2, a->in, a->n, &a->count);
    return NULL;
}

static void check_concurrent(test_run *r, const char *spec_a, const char *spec_b, int in, int n) {
    if (!t_begin(r, "threads/two_models_train_at_once")) return;
    train_arg a = {spec_a, in, n, 0, NULL}, b = {spec_b, in, n, 0, NULL};
    pthread_t ta, tb;
    int started = !pthread_create(&ta, NULL, train_thread, &a);
    started += !pthread_create(&tb, NULL, train_thread, &b);
    if (started > 0) pthread_join(ta, NULL);
    if (started > 1) pthread_join(tb, NULL);
    size_t ca = 0, cb = 0;
    float *wa = train(spec_a, 1, in, n, &ca), *wb = train(spec_b, 1, in, n, &cb);
    if (CHECK(r, started == 2 && a.w && b.w && wa && wb && a.count == ca && b.count == cb, "training failed")) {
        CHECK(r, !memcmp(a.w, wa, ca * sizeof(float)), "model A differs when trained beside model B");
        CHECK(r, !memcmp(b.w, wb, cb * sizeof(float)), "model B differs when trained beside model A");
    }
    free(a.w);
    free(b.w);
    free(wa);
    free(wb);
    t_end(r);
}

/* Products with a few rows and a large op(B) (inference at batch 1) are split by columns even
 * under 1 MFLOP (src/backend/cpu/parallel.c): predictions at batch 1 and 5 and training at batch
 * 8 give the same bits with 1, 2 and 3 threads. */
static float *few_rows(int threads) {
    static const char spec[] = "input 512\ndense 300 activation=relu\ndense 10\n"
                               "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n";
    enum { IN = 512, N = 24, OUT = 10 };
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), "t.nnc", &e);
    float *x = malloc(N * IN * sizeof(float)), *y = malloc(N * sizeof(float));
    float *res = malloc((2 * N * OUT + 1) * sizeof(float));
    nnc_fit_opts o = nnc_fit_opts_default();
    o.epochs = 2;
    o.batch_size = 8;
    o.verbose = 0;
    nnc_rng r;
    nnc_rng_seed(&r, 9);
    for (int i = 0; m && x && y && i < N * IN; i++) x[i] = (float)nnc_rng_uniform(&r);
    for (int i = 0; y && i < N; i++) y[i] = (float)(i % OUT);
    int ok = m && x && y && res && nnc_model_set_threads(m, threads) == NNC_OK &&
             nnc_fit(m, x, y, N, &o, NULL) == NNC_OK;
    for (int i = 0; ok && i < N; i++) ok = nnc_predict_ex(m, x + i * IN, 1, res + i * OUT, 1, false) == NNC_OK;
    ok = ok && nnc_predict_ex(m, x, N, res + N * OUT, 5, false) == NNC_OK;
    if (ok) res[2 * N * OUT] = m->param_arena[m->n_param_floats - 1];
    free(x);
    free(y);
    nnc_model_free(m);
    if (!ok) free(res);
    return ok ? res : NULL;
}

static void check_few_rows(test_run *r) {
    if (!t_begin(r, "threads/few_rows_split_by_columns_1_2_3")) return;
    const size_t bytes = (2 * 24 * 10 + 1) * sizeof(float);
    float *a = few_rows(1), *b = few_rows(2), *c = few_rows(3);
    if (CHECK(r, a && b && c, "training or prediction failed")) {
        CHECK(r, !memcmp(a, b, bytes), "1 and 2 threads predict differently");
        CHECK(r, !memcmp(a, c, bytes), "1 and 3 threads predict differently");
    }
    free(a);
    free(b);
    free(c);
    t_end(r);
}

typedef struct {
    pthread_t caller;
    atomic_int off_caller; /* tasks run by a worker */
    atomic_int sink;
} round_probe;

static void probe_task(void *ctx, int t) {
    round_probe *p = ctx;
    if (!pthread_equal(pthread_self(), p->caller)) atomic_fetch_add(&p->off_caller, 1);
    for (int i = 0; i < 20000; i++) atomic_fetch_add_explicit(&p->sink, i + t, memory_order_relaxed);
}

/* The pool's rounds (thread_pool.c): a round run on the caller alone hands no task to a worker;
 * the trial runs rounds both ways and then a choice is made. Which way is faster is the
 * machine's business, so only the mechanics are checked. */
static void check_rounds(test_run *r) {
    if (!t_begin(r, "threads/rounds_alone_stay_on_the_caller_and_a_choice_is_made")) return;
    const char *adapt = getenv("NNC_POOL_ADAPT");
    if (adapt && !strcmp(adapt, "0")) {
        t_skip(r, "NNC_POOL_ADAPT=0: rounds are not timed");
        return;
    }
    nnc_pool *p = nnc_pool_new(2);
    round_probe pr = {.caller = pthread_self()};
    int alone = 0, shared = 0, leaked = 0, rounds = 0;
    if (CHECK(r, p != NULL, "no pool")) {
        CHECK(r, nnc_pool_round_solo(p, NNC_ROUND_TRAIN) == -1, "a choice before any round");
        for (; rounds < 5000 && nnc_pool_round_solo(p, NNC_ROUND_TRAIN) == -1; rounds++) {
            nnc_pool_round_begin(p, NNC_ROUND_TRAIN, 32);
            nnc_pool_round_begin(p, NNC_ROUND_TRAIN, 7); /* nested: part of the open round */
            const int a = nnc_pool_round_alone(p), before = atomic_load(&pr.off_caller);
            nnc_pool_run(p, 4, probe_task, &pr);
            if (a) alone++, leaked += atomic_load(&pr.off_caller) - before;
            else shared++;
            nnc_pool_round_end(p);
            nnc_pool_round_end(p);
        }
        CHECK(r, !nnc_pool_round_alone(p), "a round is still open");
        const int choice = nnc_pool_round_solo(p, NNC_ROUND_TRAIN);
        CHECK(r, choice == 0 || choice == 1, "no choice after %d rounds", rounds);
        CHECK(r, nnc_pool_round_solo(p, NNC_ROUND_INFER) == -1, "inference rounds decided by training rounds");
        CHECK(r, alone >= 6 && shared >= 6, "the trial ran %d rounds alone and %d on the pool", alone, shared);
        CHECK(r, leaked == 0, "%d tasks of rounds run alone went to a worker", leaked);
        t_info(r, "decided after %d rounds (%d alone, %d on the pool): %s", rounds, alone, shared,
               choice == 1 ? "alone" : "pool");
    }
    nnc_pool_free(p);
    nnc_pool *one = nnc_pool_new(1);
    CHECK(r, one && nnc_pool_round_solo(one, NNC_ROUND_TRAIN) == 1, "a 1-thread pool is not alone");
    nnc_pool_free(one);
    t_end(r);
}

/* Inference runs a large batch through the layers in slices of rows that fit a core's cache
 * (fit.c, infer_slice), on several threads each slice through its own replica of the model
 * (predict_on_replicas): every row's outputs must be the bits of a batch of 1, whatever the
 * slice, the batch asked for and the threads. 150 rows of 70 KB of values each are sliced. */
static void check_predict_slices(test_run *r) {
    if (!t_begin(r, "threads/predict_in_cache_sized_slices_same_bits_as_batch_1")) return;
    static const char spec[] = "input 28 28 1\nconv2d 16 3 activation=relu\nconv2d 16 3 activation=relu\n"
                               "max_pooling2d 2\nflatten\ndense 10\n"
                               "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n";
    enum { N = 150, IN = 784, OUT = 10 };
    float *x = malloc(sizeof(float) * N * IN), *one = malloc(sizeof(float) * N * OUT),
          *big = malloc(sizeof(float) * N * OUT);
    nnc_rng g;
    nnc_rng_seed(&g, 3);
    for (int i = 0; x && i < N * IN; i++) x[i] = (float)nnc_rng_uniform(&g);
    /* 8 threads: more replicas than slices at batch 16 and 37 */
    for (int threads = 1; threads <= 8 && x && one && big; threads = threads == 3 ? 8 : threads + 1) {
        nnc_error e = {""};
        nnc_model *m = nnc_model_from_spec_text(spec, sizeof spec - 1, "t.nnc", &e);
        int ok = m && nnc_model_set_threads(m, threads) == NNC_OK;
        for (int i = 0; ok && i < N; i++) ok = nnc_predict_ex(m, x + i * IN, 1, one + i * OUT, 1, false) == NNC_OK;
        const int batches[] = {N, 1000, 37, 16, 7};
        for (int b = 0; ok && b < 5; b++) {
            ok = nnc_predict_ex(m, x, N, big, batches[b], false) == NNC_OK;
            CHECK(r, ok && !memcmp(one, big, sizeof(float) * N * OUT),
                  "%d thread(s), batch %d: not the bits of batch 1", threads, batches[b]);
        }
        CHECK(r, ok, "predict failed: %s", m ? nnc_last_error(m) : e.message);
        nnc_model_free(m);
    }
    free(x), free(one), free(big);
    t_end(r);
}

/* nnc_predict runs as many rows at a time as keep 2 MB of values (fit.c): a narrow model's 300
 * rows in one batch must give the bits of batch 1, on 1 and 2 threads. */
static void check_predict_default_batch(test_run *r) {
    if (!t_begin(r, "threads/predict_default_batch_same_bits_as_batch_1")) return;
    static const char spec[] = "input 8\ndense 16 activation=relu\ndense 3 activation=softmax\n"
                               "loss sparse_categorical_crossentropy\noptimizer adam\n";
    enum { N = 300, IN = 8, OUT = 3 };
    float x[N * IN], one[N * OUT], all[N * OUT];
    nnc_rng g;
    nnc_rng_seed(&g, 5);
    for (int i = 0; i < N * IN; i++) x[i] = (float)nnc_rng_normal(&g);
    for (int threads = 1; threads <= 2; threads++) {
        nnc_error e = {""};
        nnc_model *m = nnc_model_from_spec_text(spec, sizeof spec - 1, "t.nnc", &e);
        int ok = m && nnc_model_set_threads(m, threads) == NNC_OK;
        for (int i = 0; ok && i < N; i++) ok = nnc_predict_ex(m, x + i * IN, 1, one + i * OUT, 1, false) == NNC_OK;
        ok = ok && nnc_predict(m, x, N, all) == NNC_OK;
        if (CHECK(r, ok, "predict failed: %s", m ? nnc_last_error(m) : e.message))
            CHECK(r, !memcmp(one, all, sizeof one), "%d thread(s): nnc_predict differs from batch 1", threads);
        nnc_model_free(m);
    }
    t_end(r);
}

void suite_threads(test_run *r);
void suite_threads(test_run *r) {
    check_few_rows(r);
    check_rounds(r);
    check_predict_slices(r);
    check_predict_default_batch(r);
    check_threads(r, "cnn_bit_identical_1_2_3",
                  "input 64\nreshape 8 8 1\nconv2d 16 3 activation=relu padding=same\nmax_pooling2d 2\n"
                  "conv2d 32 3 activation=relu padding=same\nbatch_normalization\nflatten\ndropout 0.2\ndense 10\n"
                  "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n", 64, 256);
    check_threads(r, "wide_mlp_bit_identical_1_2_3",
                  "input 256\ndense 512 activation=relu\ndense 128 activation=relu\ndense 10\n"
                  "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n", 256, 256);
    /* col is 24 KB and 70 KB an example here, so the convolutions run the batch of 64 in
     * groups whose size follows the thread count (src/ops/conv.c): 43 + 21 examples, then 14
     * at a time, on one thread; one group, then 28 at a time, on two */
    check_threads(r, "cnn_grouped_bit_identical_1_2_3",
                  "input 784\nreshape 28 28 1\nconv2d 16 3 activation=relu\nmax_pooling2d 2\n"
                  "conv2d 32 3 activation=relu\nmax_pooling2d 2\nflatten\ndense 10\n"
                  "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n", 784, 256);
    check_concurrent(r,
                     "input 64\nreshape 8 8 1\nconv2d 16 3 activation=relu padding=same\nmax_pooling2d 2\n"
                     "flatten\ndense 10\nloss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n",
                     "input 64\ndense 512 activation=tanh\ndense 10 activation=softmax\n"
                     "loss sparse_categorical_crossentropy\noptimizer rmsprop\n", 64, 256);
}
