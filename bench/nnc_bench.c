/* nnc's side of the benchmarks of bench/README.md: trains B0-B4 and prints one JSON line per
 * run in the shape torch_bench.py prints, so bench/run.sh can set them side by side.
 * Usage: nnc_bench BENCH THREADS EPOCHS RUNS [infer [SAVE]]   (BENCH: B0 B1 B2 B3 B4)
 * With "infer" (P1): trains EPOCHS epochs once, then times nnc_predict_ex over the test set at
 * batch 1000 (samples per second) and on 1000 examples one at a time (µs per example), best
 * of RUNS, as torch_bench.py's "infer" loop does, in wall time and (cpu_*) in process CPU time. SAVE (e.g. b2.onnx) is where the trained model
 * is written (nnc_model_save, by its extension) for bench/ort_bench.js to time the same weights.
 * Usage: nnc_bench kernels   (the product kernels this CPU runs and how they were chosen)
 * Usage: nnc_bench F1|F2 THREADS STEPS ROUNDS   (issue 15: a frozen front vs the same model
 * unfrozen). F1: Dense 1024 -> Dense 1024 (frozen) -> Dense 10 on 784 features; F2: B3's
 * convolutions (frozen) -> Dense 128 -> Dense 10. Both models train STEPS steps at batch 128 on
 * random data, alternately, ROUNDS times; the median CPU time per step of each
 * (CLOCK_PROCESS_CPUTIME_ID, so a shared machine's queue is not counted) and their ratio,
 * and the forward pass alone (predict at the same batch) for comparison.
 * Time per epoch is the shuffle and every training step (nnc_fit's per-epoch seconds), with
 * the data already in memory; accuracy is measured after the last epoch as the peer does. */
#define _POSIX_C_SOURCE 200809L
#include <nnc.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *specs[5] = {
    "input 64\ndense 25 activation=relu\ndense 15 activation=relu\ndense 10\n",
    "input 784\ndense 25 activation=relu\ndense 15 activation=relu\ndense 10\n",
    "input 784\ndense 512 activation=relu\ndense 256 activation=relu\ndense 10\n",
    ("input 28 28 1\nconv2d 32 3 activation=relu\nmax_pooling2d 2\nconv2d 64 3 activation=relu\n"
     "max_pooling2d 2\nflatten\ndense 128 activation=relu\ndense 10\n"),
    "input 28 28\nlstm 128\ndense 10\n", /* B4 (issue 14): the image's rows as 28 steps */
};
static const int batches[5] = {32, 32, 128, 128, 128};

typedef struct {
    double s[4096];
    int n;
} times;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static bool on_epoch(void *user, const nnc_epoch_info *info) {
    times *t = user;
    if (t->n < 4096) t->s[t->n++] = info->seconds;
    return false;
}

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* F1/F2: the step time of a model whose front is frozen against the same model unfrozen. */
static int frozen_bench(char **argv) {
    static const char *fspecs[2] = {
        "input 784\ndense 1024 activation=relu name=front_1%s\ndense 1024 activation=relu name=front_2%s\ndense 10\n",
        ("input 28 28 1\nconv2d 32 3 activation=relu name=front_1%s\nmax_pooling2d 2\n"
         "conv2d 64 3 activation=relu name=front_2%s\nmax_pooling2d 2\nflatten\ndense 128 activation=relu\n"
         "dense 10\n")};
    const int f = argv[1][1] - '1', threads = atoi(argv[2]), steps = atoi(argv[3]), rounds = atoi(argv[4]);
    if (f < 0 || f > 1 || steps < 1 || rounds < 1 || rounds > 64) return fprintf(stderr, "usage: nnc_bench F1|F2 THREADS STEPS ROUNDS\n"), 2;
    const int batch = 128, features = 784;
    const size_t n = (size_t)steps * batch;
    float *x = malloc(n * features * sizeof(float)), *y = malloc(n * sizeof(float));
    nnc_model *m[2] = {NULL, NULL};
    nnc_error err = {""};
    for (size_t i = 0; x && y && i < n * features; i++) x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    for (size_t i = 0; x && y && i < n; i++) y[i] = (float)(i % 10);
    for (int k = 0; k < 2; k++) {
        char spec[1024], body[768];
        const char *fr = k ? " trainable=false" : "";
        snprintf(body, sizeof body, fspecs[f], fr, fr);
        snprintf(spec, sizeof spec, "%sloss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n", body);
        if (!(m[k] = nnc_model_from_spec_text(spec, strlen(spec), argv[1], &err)) || !x || !y) {
            fprintf(stderr, "nnc_bench: %s\n", err.message);
            return 1;
        }
        nnc_model_set_threads(m[k], threads);
    }
    nnc_fit_opts o = nnc_fit_opts_default();
    o.batch_size = batch;
    o.verbose = 0;
    o.shuffle = false;
    double t[2][64];
    for (int r = -1; r < rounds; r++) /* round -1 warms up */
        for (int k = 0; k < 2; k++) {
            double t0 = cpu_now();
            if (nnc_fit(m[k], x, y, n, &o, NULL)) return fprintf(stderr, "nnc_bench: %s\n", nnc_last_error(m[k])), 1;
            if (r >= 0) t[k][r] = (cpu_now() - t0) / steps;
        }
    /* the forward pass alone (predict at the same batch), what a frozen front should cost */
    float *out = malloc(n * 10 * sizeof(float));
    double fw[64];
    for (int r = 0; out && r < rounds; r++) {
        double t0 = cpu_now();
        nnc_predict_ex(m[1], x, n, out, batch, false);
        fw[r] = (cpu_now() - t0) / steps;
    }
    free(out);
    qsort(fw, (size_t)rounds, sizeof(double), cmp_double);
    qsort(t[0], (size_t)rounds, sizeof(double), cmp_double);
    qsort(t[1], (size_t)rounds, sizeof(double), cmp_double);
    const double full = t[0][rounds / 2], frozen = t[1][rounds / 2];
    printf("{\"bench\": \"%s\", \"threads\": %d, \"loop\": \"frozen_front\", \"batch\": %d, \"steps\": %d, "
           "\"rounds\": %d, \"trainable_ms_per_step\": %.3f, \"frozen_ms_per_step\": %.3f, \"ratio\": %.3f, \"forward_ms_per_batch\": %.3f}\n",
           argv[1], threads, batch, steps, rounds, full * 1e3, frozen * 1e3, frozen / full, fw[rounds / 2] * 1e3);
    nnc_model_free(m[0]);
    nnc_model_free(m[1]);
    free(x);
    free(y);
    return 0;
}

/* P1: nnc_predict_ex over the test set at batch 1000 and on 1000 examples one at a time, best
 * of runs, in wall and process CPU time, and the accuracy; one JSON line. */
static void print_infer(nnc_model *m, const nnc_dataset *te, float *out, size_t k, int runs, const char *bench,
                        int threads, const char *loop) {
    double best1000 = 1e30, best1 = 1e30, cpu1000 = 1e30, cpu1 = 1e30; /* wall, process CPU */
    size_t one = te->n < 1000 ? te->n : 1000, correct = 0;
    for (int run = 0; run < runs; run++) {
        double t0 = now(), c0 = cpu_now();
        nnc_predict_ex(m, te->x, te->n, out, 1000, false);
        double t1 = now(), c1 = cpu_now();
        for (size_t i = 0; i < one; i++) nnc_predict_ex(m, te->x + i * te->features, 1, out, 1, false);
        double t2 = now(), c2 = cpu_now();
        best1000 = t1 - t0 < best1000 ? t1 - t0 : best1000;
        best1 = t2 - t1 < best1 ? t2 - t1 : best1;
        cpu1000 = c1 - c0 < cpu1000 ? c1 - c0 : cpu1000;
        cpu1 = c2 - c1 < cpu1 ? c2 - c1 : cpu1;
    }
    nnc_predict_ex(m, te->x, te->n, out, 1000, false);
    for (size_t i = 0; i < te->n; i++) {
        size_t arg = 0;
        for (size_t j = 1; j < k; j++)
            if (out[i * k + j] > out[i * k + arg]) arg = j;
        correct += arg == (size_t)te->y[i];
    }
    printf("{\"bench\": \"%s\", \"threads\": %d, \"loop\": \"%s\", \"samples_per_s\": %.1f, "
           "\"us_per_example_bs1\": %.2f, \"cpu_samples_per_s\": %.1f, \"cpu_us_per_example_bs1\": %.2f, "
           "\"acc\": %.4f}\n", bench, threads, loop, (double)te->n / best1000, best1 / (double)one * 1e6,
           (double)te->n / cpu1000, cpu1 / (double)one * 1e6, (double)correct / (double)te->n);
}

/* bf16 (issue 17) on a copy of the trained float model (saved and loaded back), where the CPU
 * has AVX512_BF16; a note on stderr otherwise. */
static void print_bf16(const nnc_model *m, const nnc_dataset *te, float *out, size_t k, int runs, const char *bench,
                       int threads) {
    char path[] = "/tmp/nnc_bench_bf16_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return;
    close(fd);
    nnc_error err = {""};
    nnc_model *c = nnc_model_save((nnc_model *)m, path, NULL) ? NULL : nnc_model_load(path, &err);
    unlink(path);
    if (c) nnc_model_set_threads(c, threads);
    if (c && nnc_quantize_bf16(c) == NNC_OK) print_infer(c, te, out, k, runs, bench, threads, "infer_bf16");
    else fprintf(stderr, "nnc_bench: no bf16: %s\n", c ? nnc_last_error(c) : err.message);
    nnc_model_free(c);
}

int main(int argc, char **argv) {
    if (argc == 5 && argv[1][0] == 'F') return frozen_bench(argv);
    if (argc == 2 && !strcmp(argv[1], "kernels")) { /* what the products run on, and why */
        nnc_model_free(nnc_model_new("kernels"));
        return printf("%s\n", nnc_cpu_kernels()) < 0;
    }
    int infer = (argc == 6 || argc == 7) && !strcmp(argv[5], "infer");
    if ((argc != 5 && !infer) || strlen(argv[1]) != 2 || argv[1][0] != 'B' || argv[1][1] < '0' || argv[1][1] > '4') {
        fprintf(stderr, "usage: nnc_bench B0|B1|B2|B3|B4 THREADS EPOCHS RUNS\n");
        return 2;
    }
    int b = argv[1][1] - '0', threads = atoi(argv[2]), epochs = atoi(argv[3]), runs = atoi(argv[4]);
    nnc_error err = {""};
    nnc_dataset train = {0}, test = {0};
    if (b == 0) {
        if (nnc_dataset_load("digits", 0, &train, &err)) goto fail;
        for (size_t i = 0; i < train.n * train.features; i++) train.x[i] /= 16.0f;
    } else if (nnc_dataset_load("fashion_mnist", 0, &train, &err) ||
               nnc_dataset_load("fashion_mnist_test", 0, &test, &err)) {
        goto fail;
    }
    const nnc_dataset *te = b == 0 ? &train : &test; /* B0 reports training accuracy, as the peer */
    char spec[1024];
    snprintf(spec, sizeof spec, "%sloss sparse_categorical_crossentropy from_logits=true\n"
             "optimizer adam learning_rate=0.001\nmetrics accuracy\n", specs[b]);
    if (infer) {
        nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), argv[1], &err);
        if (!m) goto fail;
        nnc_model_set_threads(m, threads);
        nnc_fit_opts o = nnc_fit_opts_default();
        o.epochs = epochs;
        o.batch_size = batches[b];
        o.verbose = 0;
        size_t k = nnc_output_size(m);
        float *out = malloc(te->n * k * sizeof(float));
        if (!out || (epochs > 0 && nnc_fit(m, train.x, train.y, train.n, &o, NULL))) { /* 0: untrained (timing only) */
            fprintf(stderr, "nnc_bench: %s\n", nnc_last_error(m));
            return 1;
        }
        if (argc == 7 && nnc_model_save(m, argv[6], NULL)) { /* P1's model for ONNX Runtime (bench/ort_bench.js) */
            fprintf(stderr, "nnc_bench: %s\n", nnc_last_error(m));
            return 1;
        }
        print_infer(m, te, out, k, runs, argv[1], threads, "infer");
        print_bf16(m, te, out, k, runs, argv[1], threads);
        /* int8 (issue 17): the same trained weights, calibrated on 2000 training rows spread
         * over the set, timed in the same process so the ratio to float is fair */
        size_t nc = train.n < 2000 ? train.n : 2000;
        float *cal = malloc(nc * train.features * sizeof(float));
        for (size_t i = 0; cal && i < nc; i++)
            memcpy(cal + i * train.features, train.x + (i * train.n / nc) * train.features, train.features * sizeof(float));
        if (!cal || nnc_quantize_int8(m, cal, nc)) {
            fprintf(stderr, "nnc_bench: %s\n", nnc_last_error(m));
            return 1;
        }
        free(cal);
        print_infer(m, te, out, k, runs, argv[1], threads, "infer_int8");
        free(out);
        nnc_model_free(m);
        nnc_dataset_free(&train);
        nnc_dataset_free(&test);
        return 0;
    }
    for (int run = 0; run < runs; run++) {
        nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), argv[1], &err);
        if (!m) goto fail;
        nnc_model_set_seed(m, (uint64_t)run);
        nnc_model_set_threads(m, threads);
        times t = {{0}, 0};
        nnc_fit_opts o = nnc_fit_opts_default();
        o.epochs = epochs;
        o.batch_size = batches[b];
        o.verbose = 0;
        o.on_epoch_end = on_epoch;
        o.user = &t;
        nnc_logs l;
        if (nnc_fit(m, train.x, train.y, train.n, &o, NULL) ||
            nnc_evaluate(m, te->x, te->y, te->n, 1000, &l)) {
            fprintf(stderr, "nnc_bench: %s\n", nnc_last_error(m));
            nnc_model_free(m);
            return 1;
        }
        double total = 0.0;
        printf("{\"bench\": \"%s\", \"threads\": %d, \"loop\": \"nnc\", \"run\": %d, \"batch\": %d, "
               "\"n\": %zu, \"epoch_s\": [", argv[1], threads, run, batches[b], train.n);
        for (int i = 0; i < t.n; i++) {
            printf("%s%.5f", i ? ", " : "", t.s[i]);
            total += t.s[i];
        }
        printf("], \"total_s\": %.4f, \"acc\": %.4f}\n", total, nnc_logs_get(&l, "accuracy"));
        fflush(stdout);
        nnc_model_free(m);
    }
    nnc_dataset_free(&train);
    nnc_dataset_free(&test);
    return 0;
fail:
    fprintf(stderr, "nnc_bench: %s\n", err.message);
    return 1;
}
