/* Peer benchmark driver for KANN (attractivechaos/kann), the counterpart of nnc_bench.c for
 * the small-MLP benchmarks B0 and B1 of bench/README.md. Prints one JSON line per run in the
 * shape nnc_bench prints, so bench/run.py can read both.
 *
 * Usage: kann_bench B0|B1 THREADS EPOCHS RUNS
 *   THREADS is accepted and printed, but KANN is run single-threaded (kann_mt is not used);
 *   with the CBLAS build, pin OpenBLAS with OPENBLAS_NUM_THREADS=1.
 *   B0: digits (DIGITS_CSV, default data/digits.csv.gz), 64-25-15-10, accuracy on
 *       the training set.  B1: Fashion-MNIST (FMNIST_DIR, default
 *       /usr/share/datasets/fashion-mnist), 784-25-15-10, accuracy on the 10000 test images.
 *   Both: ReLU hidden layers, softmax + multi-class cross-entropy (KANN_C_CEM), batch 32,
 *   RMSprop lr 1e-3 (decay 0.9, as kann_train_fnn1 uses); KANN has no Adam.
 *
 * Time per epoch covers the Fisher-Yates shuffle and every training step, with the data
 * already in memory; no validation split is made. Accuracy is computed after the last epoch
 * with kann_apply1 in inference mode.
 *
 * Build (KANN sources outside the project, e.g. in /tmp/kann):
 *   gcc -O3 -std=gnu99 -DHAVE_CBLAS -c kann.c kautodiff.c && ar rcs libkann.a kann.o kautodiff.o
 *   gcc -O3 -Wall -Wextra -I/tmp/kann -o kann_bench bench/kann_bench.c /tmp/kann/libkann.a \
 *       -lopenblas -lz -lm
 * (drop -DHAVE_CBLAS and -lopenblas to use KANN's own sgemm). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <zlib.h>
#include "kann.h"

#define N_CLASS 10
#define BATCH 32
#define LR 1e-3f
#define MAX_EPOCHS 4096

typedef struct {
    int n, d;   /* examples, features */
    float *x;   /* n * d, row-major */
    int *y;     /* n labels in [0, N_CLASS) */
} dataset;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* splitmix64: the driver's own fixed-seed RNG for the per-epoch shuffle */
static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void shuffle(int *idx, int n, uint64_t *s) { /* Fisher-Yates */
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(rng_next(s) % (uint64_t)(i + 1));
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

static int load_digits(const char *path, dataset *ds) {
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "kann_bench: cannot open %s\n", path);
        return -1;
    }
    char line[8192];
    int cap = 2048;
    ds->d = 64;
    ds->n = 0;
    ds->x = malloc((size_t)cap * 64 * sizeof(float));
    ds->y = malloc((size_t)cap * sizeof(int));
    if (!gzgets(f, line, sizeof line)) { /* header: p0,...,p63,label */
        gzclose(f);
        return -1;
    }
    while (gzgets(f, line, sizeof line)) {
        if (line[0] == '\n' || line[0] == '\r' || line[0] == '\0') continue;
        if (ds->n == cap) {
            cap *= 2;
            ds->x = realloc(ds->x, (size_t)cap * 64 * sizeof(float));
            ds->y = realloc(ds->y, (size_t)cap * sizeof(int));
        }
        char *p = line, *end;
        float *row = ds->x + (size_t)ds->n * 64;
        for (int j = 0; j < 64; j++) {
            double v = strtod(p, &end);
            if (end == p) {
                fprintf(stderr, "kann_bench: bad digits row %d\n", ds->n + 2);
                gzclose(f);
                return -1;
            }
            row[j] = (float)(v / 16.0);
            p = end;
            if (*p == ',') p++;
        }
        long lab = strtol(p, &end, 10);
        if (end == p || lab < 0 || lab >= N_CLASS) {
            fprintf(stderr, "kann_bench: bad digits label at row %d\n", ds->n + 2);
            gzclose(f);
            return -1;
        }
        ds->y[ds->n++] = (int)lab;
    }
    gzclose(f);
    return ds->n > 0 ? 0 : -1;
}

static int read_be32(gzFile f, uint32_t *v) {
    unsigned char b[4];
    if (gzread(f, b, 4) != 4) return -1;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
    return 0;
}

static int load_idx(const char *dir, const char *images, const char *labels, dataset *ds) {
    char path[4096];
    uint32_t magic, n, rows, cols, nl;
    snprintf(path, sizeof path, "%s/%s", dir, images);
    gzFile f = gzopen(path, "rb");
    if (!f || read_be32(f, &magic) || magic != 2051 || read_be32(f, &n) || read_be32(f, &rows) ||
        read_be32(f, &cols)) {
        fprintf(stderr, "kann_bench: cannot read IDX images %s\n", path);
        if (f) gzclose(f);
        return -1;
    }
    size_t len = (size_t)n * rows * cols;
    unsigned char *buf = malloc(len);
    if (!buf || gzread(f, buf, (unsigned)len) != (int)len) {
        fprintf(stderr, "kann_bench: short read in %s\n", path);
        gzclose(f);
        free(buf);
        return -1;
    }
    gzclose(f);
    ds->n = (int)n;
    ds->d = (int)(rows * cols);
    ds->x = malloc(len * sizeof(float));
    for (size_t i = 0; i < len; i++) ds->x[i] = (float)buf[i] / 255.0f;
    free(buf);

    snprintf(path, sizeof path, "%s/%s", dir, labels);
    f = gzopen(path, "rb");
    if (!f || read_be32(f, &magic) || magic != 2049 || read_be32(f, &nl) || nl != n) {
        fprintf(stderr, "kann_bench: cannot read IDX labels %s\n", path);
        if (f) gzclose(f);
        return -1;
    }
    buf = malloc(n);
    if (!buf || gzread(f, buf, n) != (int)n) {
        fprintf(stderr, "kann_bench: short read in %s\n", path);
        gzclose(f);
        free(buf);
        return -1;
    }
    gzclose(f);
    ds->y = malloc((size_t)n * sizeof(int));
    for (uint32_t i = 0; i < n; i++) {
        if (buf[i] >= N_CLASS) {
            free(buf);
            return -1;
        }
        ds->y[i] = buf[i];
    }
    free(buf);
    return 0;
}

static kann_t *build_mlp(int n_in) {
    kad_node_t *t = kann_layer_input(n_in);
    t = kad_relu(kann_layer_dense(t, 25));
    t = kad_relu(kann_layer_dense(t, 15));
    return kann_new(kann_layer_cost(t, N_CLASS, KANN_C_CEM), 0);
}

static double accuracy(kann_t *ann, const dataset *ds) {
    int correct = 0;
    kann_switch(ann, 0);
    for (int i = 0; i < ds->n; i++) {
        const float *out = kann_apply1(ann, ds->x + (size_t)i * ds->d);
        int arg = 0;
        for (int k = 1; k < N_CLASS; k++)
            if (out[k] > out[arg]) arg = k;
        correct += arg == ds->y[i];
    }
    return (double)correct / (double)ds->n;
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[1], "B0") && strcmp(argv[1], "B1"))) {
        fprintf(stderr, "usage: kann_bench B0|B1 THREADS EPOCHS RUNS\n");
        return 2;
    }
    int b1 = argv[1][1] == '1', threads = atoi(argv[2]), epochs = atoi(argv[3]), runs = atoi(argv[4]);
    if (epochs < 1 || epochs > MAX_EPOCHS || runs < 1) {
        fprintf(stderr, "kann_bench: EPOCHS must be in 1..%d and RUNS >= 1\n", MAX_EPOCHS);
        return 2;
    }
    dataset train = {0, 0, NULL, NULL}, test = {0, 0, NULL, NULL};
    if (!b1) {
        const char *p = getenv("DIGITS_CSV");
        if (load_digits(p && *p ? p : "data/digits.csv.gz", &train)) return 1;
    } else {
        const char *dir = getenv("FMNIST_DIR");
        if (!dir || !*dir) dir = "/usr/share/datasets/fashion-mnist";
        if (load_idx(dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", &train) ||
            load_idx(dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", &test))
            return 1;
    }
    const dataset *te = b1 ? &test : &train; /* B0 reports training accuracy */
    int n = train.n, d = train.d;

    /* one-hot truth rows, prepared once (part of "data in memory") */
    float *onehot = calloc((size_t)n * N_CLASS, sizeof(float));
    int *idx = malloc((size_t)n * sizeof(int));
    float *x1 = malloc((size_t)BATCH * d * sizeof(float));
    float *y1 = malloc((size_t)BATCH * N_CLASS * sizeof(float));
    double *epoch_s = malloc((size_t)epochs * sizeof(double));
    if (!onehot || !idx || !x1 || !y1 || !epoch_s) {
        fprintf(stderr, "kann_bench: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) onehot[(size_t)i * N_CLASS + train.y[i]] = 1.0f;
    kann_verbose = 0;

    for (int run = 0; run < runs; run++) {
        kann_srand((uint64_t)(11 + run)); /* KANN's weight initialisation */
        kann_t *ann = build_mlp(d);
        if (!ann) {
            fprintf(stderr, "kann_bench: failed to build the network\n");
            return 1;
        }
        int n_var = kann_size_var(ann);
        float *r = calloc((size_t)n_var, sizeof(float)); /* RMSprop memory */
        uint64_t seed = 0x5EED0000ULL + (uint64_t)run;
        for (int i = 0; i < n; i++) idx[i] = i;
        kann_feed_bind(ann, KANN_F_IN, 0, &x1);
        kann_feed_bind(ann, KANN_F_TRUTH, 0, &y1);

        for (int e = 0; e < epochs; e++) {
            double t0 = now();
            shuffle(idx, n, &seed);
            kann_switch(ann, 1);
            for (int off = 0; off < n; off += BATCH) {
                int ms = n - off < BATCH ? n - off : BATCH;
                for (int k = 0; k < ms; k++) {
                    int j = idx[off + k];
                    memcpy(x1 + (size_t)k * d, train.x + (size_t)j * d, (size_t)d * sizeof(float));
                    memcpy(y1 + (size_t)k * N_CLASS, onehot + (size_t)j * N_CLASS, N_CLASS * sizeof(float));
                }
                kann_set_batch_size(ann, ms);
                kann_cost(ann, 0, 1);
                kann_RMSprop(n_var, LR, NULL, 0.9f, ann->g, ann->x, r);
            }
            epoch_s[e] = now() - t0;
        }

        double acc = accuracy(ann, te), total = 0.0;
        printf("{\"bench\": \"%s\", \"threads\": %d, \"loop\": \"kann\", \"run\": %d, \"batch\": %d, "
               "\"n\": %d, \"epoch_s\": [", argv[1], threads, run, BATCH, n);
        for (int e = 0; e < epochs; e++) {
            printf("%s%.5f", e ? ", " : "", epoch_s[e]);
            total += epoch_s[e];
        }
        printf("], \"total_s\": %.4f, \"acc\": %.4f}\n", total, acc);
        fflush(stdout);
        free(r);
        kann_delete(ann);
    }
    free(epoch_s);
    free(y1);
    free(x1);
    free(idx);
    free(onehot);
    free(train.x);
    free(train.y);
    free(test.x);
    free(test.y);
    return 0;
}
