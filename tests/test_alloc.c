/* No allocation inside a training step: the test binary is linked with malloc, calloc and
 * realloc wrapped (-Wl,--wrap), and the count must not move between one batch's end and the
 * next, for an MLP and for a CNN with dropout and batch normalization, on 1 and 2 threads. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "nnc.h"

static atomic_long n_allocs;
static atomic_size_t largest; /* the largest single request since t_alloc_largest_reset */

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);

static void note(size_t n) {
    atomic_fetch_add(&n_allocs, 1);
    size_t was = atomic_load(&largest);
    while (n > was && !atomic_compare_exchange_weak(&largest, &was, n)) {}
}

void *__wrap_malloc(size_t n) {
    note(n);
    return __real_malloc(n);
}
void *__wrap_calloc(size_t a, size_t b) {
    note(b && a > SIZE_MAX / b ? SIZE_MAX : a * b);
    return __real_calloc(a, b);
}
void *__wrap_realloc(void *p, size_t n) {
    note(n);
    return __real_realloc(p, n);
}

void t_alloc_largest_reset(void) { atomic_store(&largest, 0); }
long t_alloc_count(void) { return atomic_load(&n_allocs); }
size_t t_alloc_largest(void) { return atomic_load(&largest); }

typedef struct {
    long last;
    int last_epoch, batches, moved;
} watch;

static bool on_batch(void *user, const nnc_batch_info *b) {
    watch *w = user;
    long now = atomic_load(&n_allocs);
    if (b->epoch == w->last_epoch && now != w->last) w->moved++;
    w->last_epoch = b->epoch;
    w->batches++;
    w->last = atomic_load(&n_allocs); /* after our own bookkeeping */
    return false;
}

static void check(test_run *r, const char *name, const char *spec, int in, int threads) {
    if (!t_begin(r, "alloc/%s_%d_threads", name, threads)) return;
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), "t.nnc", &e);
    enum { N = 96 };
    float *x = malloc(sizeof(float) * N * (size_t)in), y[N];
    for (int i = 0; i < N * in; i++) x[i] = (float)((i * 7919) % 113) / 113.0f;
    for (int i = 0; i < N; i++) y[i] = (float)(i % 10);
    if (CHECK(r, m != NULL, "%s", e.message) &&
        CHECK(r, nnc_model_set_threads(m, threads) == NNC_OK, "set_threads: %s", nnc_last_error(m))) {
        watch w = {0, -1, 0, 0};
        nnc_fit_opts o = nnc_fit_opts_default();
        o.verbose = 0;
        o.epochs = 2;
        o.batch_size = 16;
        o.validation_split = 0.2f;
        o.on_batch_end = on_batch;
        o.user = &w;
        CHECK(r, nnc_fit(m, x, y, N, &o, NULL) == NNC_OK, "fit: %s", nnc_last_error(m));
        CHECK(r, w.batches >= 8, "%d batches", w.batches);
        CHECK(r, w.moved == 0, "%d of %d training steps allocated memory", w.moved, w.batches);
        t_info(r, "%d steps watched, %d allocated", w.batches, w.moved);
    }
    nnc_model_free(m);
    free(x);
    t_end(r);
}

void suite_alloc(test_run *r);
void suite_alloc(test_run *r) {
    const char *mlp = "input 64\ndense 32 activation=relu\ndense 10\nloss sparse_categorical_crossentropy from_logits=true\n"
                      "optimizer adam\nmetrics accuracy\n";
    const char *cnn = "input 64\nreshape 8 8 1\nconv2d 8 3 activation=relu padding=same\nbatch_normalization\n"
                      "max_pooling2d 2\nflatten\ndropout 0.3\ndense 10 kernel_regularizer=l2(0.01)\n"
                      "loss sparse_categorical_crossentropy from_logits=true\noptimizer adamw\nmetrics accuracy\n";
    /* the fused paths: conv + ReLU + max pooling as one op, the second convolution in groups */
    const char *fused = "input 784\nreshape 28 28 1\nconv2d 16 3 activation=relu\nmax_pooling2d 2\n"
                        "conv2d 32 3 activation=relu\nmax_pooling2d 2\nflatten\ndense 10\n"
                        "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n";
    /* attention (issue 14): a residual block with attention dropout and positions */
    const char *attention = "input 64\nreshape 8 8 name=r\nposition_embedding 8 name=p\nadd from=[r,p] name=x\n"
                            "multi_head_attention 2 4 dropout=0.2 use_causal_mask=true from=[x,x] name=a\n"
                            "add from=[x,a]\nlayer_normalization\nglobal_average_pooling1d\ndense 10\n"
                            "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n";
    /* metrics (issue 15): their state is planned at compile, the exact AUC's before each pass */
    const char *metrics = "input 64\ndense 10\nloss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n"
                          "metrics accuracy precision recall(top_k=2) auc auc(exact=true) f1_score(average=macro)\n"
                          "metrics sparse_top_k_categorical_accuracy(k=3) f1_score r2_score(None)\nweighted_metrics auc(curve=PR)\n";
    for (int t = 1; t <= 2; t++) {
        check(r, "metrics", metrics, 64, t);
        check(r, "attention", attention, 64, t);
        check(r, "mlp", mlp, 64, t);
        check(r, "cnn", cnn, 64, t);
        check(r, "cnn_fused", fused, 784, t);
    }
}
