/* How fast Keras files load, and whether a model read from one predicts as fast as the same
 * model read from nnc's safetensors file (the same graph, so it should).
 *
 *   keras_bench MODEL.h5|MODEL.keras [REPEATS]
 *
 * Prints the best and the median of REPEATS loads (default 20), then saves the model as
 * safetensors in /tmp, loads that, and times predict on 2000 seeded random rows from each
 * (best of 5). A benchmark, not a test: the numbers depend on the machine. */
#define _POSIX_C_SOURCE 200809L
#include <nnc.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Best of 5 predictions of n rows, in seconds. */
static double predict_time(nnc_model *m, const float *x, size_t n, float *y) {
    double best = 1e30;
    for (int k = 0; k < 5; k++) {
        double t0 = now();
        if (nnc_predict(m, x, n, y) != NNC_OK) return -1.0;
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.h5|MODEL.keras [REPEATS]\n", argv[0]);
        return 2;
    }
    int repeats = argc > 2 ? atoi(argv[2]) : 20;
    if (repeats < 1) repeats = 1;
    double *t = calloc((size_t)repeats, sizeof *t);
    nnc_error e = {""};
    nnc_model *m = NULL;
    for (int i = 0; i < repeats; i++) {
        double t0 = now();
        nnc_model *l = nnc_model_load(argv[1], &e);
        t[i] = now() - t0;
        if (!l) {
            fprintf(stderr, "%s\n", e.message);
            return 1;
        }
        if (m) nnc_model_free(m);
        m = l;
    }
    qsort(t, (size_t)repeats, sizeof *t, by_value);
    printf("%s: load best %.2f ms, median %.2f ms (%d loads, %zu parameters)\n", argv[1], 1e3 * t[0],
           1e3 * t[repeats / 2], repeats, nnc_param_count(m));
    char st[64];
    snprintf(st, sizeof st, "/tmp/keras_bench_%d.safetensors", (int)getpid());
    nnc_model *s = nnc_model_save(m, st, NULL) == NNC_OK ? nnc_model_load(st, &e) : NULL;
    unlink(st);
    size_t n = 2000, in = nnc_input_size(m), out = nnc_output_size(m);
    float *x = malloc(n * in * sizeof *x), *y = malloc(n * out * sizeof *y), *y2 = malloc(n * out * sizeof *y2);
    uint64_t r = 42;
    for (size_t i = 0; x && i < n * in; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)(r >> 40) / (float)(1 << 24);
    }
    if (!s || !x || !y || !y2) {
        fprintf(stderr, "the safetensors copy failed: %s\n", s ? "out of memory" : e.message);
        return 1;
    }
    double a = predict_time(m, x, n, y), b = predict_time(s, x, n, y2);
    printf("predict %zu rows: from the Keras file %.2f ms, from safetensors %.2f ms (ratio %.3f), outputs %s\n", n,
           1e3 * a, 1e3 * b, a / b, memcmp(y, y2, n * out * sizeof *y) ? "DIFFER" : "identical");
    nnc_model_free(m);
    nnc_model_free(s);
    free(t);
    free(x);
    free(y);
    free(y2);
    return 0;
}
