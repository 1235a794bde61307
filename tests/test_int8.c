/* Int8 inference (issue 17): the int8 products of every variant against a plain triple loop,
 * the input quantizer, quantized models against their float selves (digits, small CNN), the
 * model file round trip, thread counts, the refusals, and (slow) Fashion-MNIST B2 and B3. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "shell.h"
#include "nnc.h"
#include "../src/backend/cpu/qgemm.h"

/* A fixed pseudo-random sequence (xorshift), so that failures repeat. */
static uint32_t next(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* C = Σ_k (A − 128)·W over the unpacked kernel: the oracle. */
static void naive(int M, int N, int K, const uint8_t *A, int lda, const int8_t *W, int32_t *C) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            int64_t s = 0;
            for (int k = 0; k < K; k++) s += ((int)A[(size_t)i * lda + k] - 128) * W[(size_t)k * N + j];
            C[(size_t)i * N + j] = (int32_t)s;
        }
}

/* One shape: every variant this CPU runs gives the oracle's int32, and the same float bits. */
static void check_shape(test_run *r, int M, int N, int K, int extreme, uint32_t seed) {
    const int lda = nnc_qrow_bytes(K);
    uint8_t *A = malloc((size_t)M * lda);
    int8_t *W = malloc((size_t)K * N), *bp = malloc(nnc_qpack_bytes(K, N));
    int32_t *want = malloc((size_t)M * N * sizeof *want), *got = malloc((size_t)M * N * sizeof *got);
    int32_t *comp = malloc((size_t)N * sizeof *comp);
    float *scale = malloc((size_t)N * sizeof *scale), *f0 = malloc((size_t)M * N * sizeof *f0),
          *f1 = malloc((size_t)M * N * sizeof *f1);
    for (int i = 0; i < M * lda; i++) A[i] = (uint8_t)(i % lda >= K ? 128 : extreme ? (i & 1 ? 255 : 1) : 1 + next(&seed) % 255);
    for (int i = 0; i < K * N; i++) W[i] = (int8_t)(extreme ? (i & 2 ? 127 : -127) : (int)(next(&seed) % 255) - 127);
    for (int j = 0; j < N; j++) scale[j] = 1e-3f * (float)(1 + j % 7);
    nnc_qpack(W, K, N, bp, comp);
    naive(M, N, K, A, lda, W, want);
    nnc_qgemm(NNC_QGEMM_REF, M, N, K, A, lda, bp, comp, scale, f0, NULL, N);
    for (int v = 0; v < NNC_QGEMM_COUNT; v++) {
        if (!nnc_qgemm_cpu_has(v)) continue;
        memset(got, 0x55, (size_t)M * N * sizeof *got);
        nnc_qgemm(v, M, N, K, A, lda, bp, comp, scale, NULL, got, N);
        size_t bad = 0;
        for (size_t i = 0; i < (size_t)M * N; i++) bad += got[i] != want[i];
        CHECK(r, !bad, "%s, M %d N %d K %d%s: %zu of %d sums differ from the triple loop",
              nnc_qgemm_variant_name(v), M, N, K, extreme ? " (extremes)" : "", bad, M * N);
        nnc_qgemm(v, M, N, K, A, lda, bp, comp, scale, f1, NULL, N);
        CHECK(r, !memcmp(f0, f1, (size_t)M * N * sizeof *f0), "%s, M %d N %d K %d: float output differs from the "
              "reference's bits", nnc_qgemm_variant_name(v), M, N, K);
    }
    free(A), free(W), free(bp), free(want), free(got), free(comp), free(scale), free(f0), free(f1);
}

static void kernels(test_run *r) {
    if (!t_begin(r, "int8/kernels_bit_equal")) return;
    static const int shapes[][3] = {{1, 1, 1}, {1, 10, 784}, {7, 13, 5}, {13, 33, 67}, {25, 17, 300},
                                    {6, 48, 31}, {19, 64, 288}, {5, 15, 3}, {3, 129, 130}};
    uint32_t seed = 2463534242u;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        check_shape(r, shapes[i][0], shapes[i][1], shapes[i][2], 0, seed + (uint32_t)i);
        check_shape(r, shapes[i][0], shapes[i][1], shapes[i][2], 1, seed);
    }
    for (int v = 1; v < NNC_QGEMM_COUNT; v++)
        t_info(r, "%s: %s", nnc_qgemm_variant_name(v), nnc_qgemm_cpu_has(v) ? "compared" : "not on this CPU");
    t_end(r);
}

static void quantizer(test_run *r) {
    if (!t_begin(r, "int8/quantize_rows")) return;
    const float x[7] = {0.0f, 1.0f, -1.0f, 0.5f, 1.5f, 1000.0f, NAN};
    uint8_t a[8];
    nnc_quantize_rows(x, 1, 7, 7, 1.0f, a, 8);
    const uint8_t want[8] = {128, 129, 127, 128, 130, 255, 128, 128}; /* ties to even; clamp; NaN 0; pad */
    CHECK(r, !memcmp(a, want, sizeof want), "got %u %u %u %u %u %u %u %u", a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
    /* the dispatched quantizer (AVX-512 where the CPU has it) against the plain loop: odd widths,
     * rows apart, the whole rows merged, values across the clamp and exact halves */
    enum { ROWS = 5, LDX = 45 };
    float xs[ROWS * LDX];
    uint8_t q0[ROWS * 48], q1[ROWS * 48];
    uint32_t s = 12345;
    for (int i = 0; i < ROWS * LDX; i++) xs[i] = (float)((int)(next(&s) % 601) - 300) * 0.5f;
    xs[3] = NAN, xs[4] = INFINITY, xs[5] = -INFINITY;
    static const int widths[][2] = {{1, 4}, {7, 8}, {16, 16}, {17, 20}, {33, 36}, {45, 48}};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        const int K = widths[w][0], lda = widths[w][1];
        for (int ldx = K; ldx <= LDX; ldx += LDX - K > 0 ? LDX - K : 1) {
            nnc_quantize_rows(xs, ROWS, K, ldx, 1.0f / 1.7f, q0, lda);
            nnc_quantize_rows_ref(xs, ROWS, K, ldx, 1.0f / 1.7f, q1, lda);
            CHECK(r, !memcmp(q0, q1, (size_t)ROWS * lda), "K %d ldx %d lda %d: the quantizers differ", K, ldx, lda);
        }
    }
    t_end(r);
}

/* ---- models ----------------------------------------------------------------------------- */

static const char *MLP = "input 64\nrescaling 0.0625\ndense 64 activation=relu\ndense 32 activation=relu\ndense 10\n"
                         "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\nmetrics accuracy\n";
static const char *CNN = "input 8 8 1\nrescaling 0.0625\nconv2d 16 3 activation=relu padding=same\n"
                         "conv2d 32 3 activation=relu\nmax_pooling2d 2\nflatten\ndense 10\n"
                         "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\nmetrics accuracy\n";

/* A first convolution over 36 values with ReLU and pooling: int8 inside the fused conv + pool op. */
static const char *CNN_POOL = "input 8 8 1\nrescaling 0.0625\nconv2d 16 6 activation=relu padding=same\n"
                              "max_pooling2d 2\nflatten\ndense 10\n"
                              "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam\nmetrics accuracy\n";

static nnc_model *trained(const char *spec, const nnc_dataset *d, int epochs) {
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), "int8 test", &e);
    if (!m) return NULL;
    nnc_fit_opts o = nnc_fit_opts_default();
    o.epochs = epochs;
    o.verbose = 0;
    if (nnc_fit(m, d->x, d->y, d->n, &o, NULL)) {
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

static double accuracy(const float *out, const nnc_dataset *d) {
    size_t ok = 0;
    for (size_t i = 0; i < d->n; i++) {
        size_t arg = 0;
        for (size_t j = 1; j < 10; j++)
            if (out[i * 10 + j] > out[i * 10 + arg]) arg = j;
        ok += arg == (size_t)d->y[i];
    }
    return (double)ok / (double)d->n;
}

/* Digits: int8 within 1 point of float, logits close (see the tolerance below). */
static void digits_model(test_run *r, const nnc_dataset *d, const char *name, const char *spec, int layers) {
    if (!t_begin(r, "int8/%s_close_to_float", name)) return;
    nnc_model *m = trained(spec, d, 15);
    float *f = malloc(d->n * 10 * sizeof *f), *q = malloc(d->n * 10 * sizeof *q);
    if (!CHECK(r, m && f && q, "training failed")) goto done;
    nnc_predict_ex(m, d->x, d->n, f, 256, false);
    CHECK(r, nnc_quantize_int8(m, d->x, 500) == NNC_OK, "quantize: %s", nnc_last_error(m));
    CHECK(r, nnc_model_int8_layers(m) == layers, "%d int8 layers, not %d", nnc_model_int8_layers(m), layers);
    nnc_predict_ex(m, d->x, d->n, q, 256, false);
    double fa = accuracy(f, d), qa = accuracy(q, d), worst = 0.0, top = 0.0;
    for (size_t i = 0; i < d->n * 10; i++) {
        worst = fmax(worst, fabs((double)f[i] - (double)q[i]));
        top = fmax(top, fabs((double)f[i]));
    }
    /* 7-bit inputs and kernels bound each product's relative error by about 1% (half a step
     * of 127 on each side), and three layers compound it; 5% of the largest logit leaves room
     * for the sums of many such errors, and still fails if a scale or a channel were wrong
     * (those show as errors of the logits' own size). */
    CHECK(r, worst <= 0.05 * top, "largest logit difference %.4f over largest logit %.4f", worst, top);
    CHECK(r, fabs(fa - qa) <= 0.01, "accuracy float %.4f int8 %.4f", fa, qa);
    t_info(r, "accuracy float %.4f int8 %.4f; largest logit difference %.4f (largest logit %.2f)", fa, qa, worst, top);
done:
    nnc_model_free(m);
    free(f);
    free(q);
    t_end(r);
}

/* The saved int8 file with `from` (first occurrence) replaced by `to` (same length; the
 * metadata is JSON inside a JSON string, so its quotes are escaped): loading fails with one
 * line naming the file and holding want. */
static void damaged(test_run *r, const char *file, const char *from, const char *to, const char *want) {
    FILE *f = fopen(file, "rb");
    char *buf = NULL, bad[96];
    long len = -1;
    if (f && !fseek(f, 0, SEEK_END) && (len = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) && (buf = malloc((size_t)len)) &&
        fread(buf, 1, (size_t)len, f) != (size_t)len)
        len = -1;
    if (f) fclose(f);
    char *at = NULL;
    for (long i = 0; buf && len > 0 && i + (long)strlen(from) <= len && !at; i++)
        if (!memcmp(buf + i, from, strlen(from))) at = buf + i;
    if (CHECK(r, at != NULL, "'%s' not found in the saved file", from)) {
        memcpy(at, to, strlen(to));
        snprintf(bad, sizeof bad, "%s.bad", file);
        FILE *o = fopen(bad, "wb");
        if (o) fwrite(buf, 1, (size_t)len, o), fclose(o);
        nnc_error e = {""};
        nnc_model *m = nnc_model_load(bad, &e);
        CHECK(r, !m && strstr(e.message, bad) && strstr(e.message, want) && !strchr(e.message, '\n'),
              "'%s' -> '%s': got '%s'", from, to, m ? "(loaded)" : e.message);
        nnc_model_free(m);
        unlink(bad);
    }
    free(buf);
}

/* The CNN: 1 and 2 threads give the same bits; the file round trip gives the same bits. */
static void threads_and_file(test_run *r, const nnc_dataset *d) {
    if (!t_begin(r, "int8/threads_and_file")) return;
    nnc_model *m = trained(CNN, d, 3), *back = NULL;
    const size_t n = d->n * 10 * sizeof(float);
    float *a = malloc(n), *b = malloc(n), *c = malloc(n);
    char path[] = "/tmp/nnc-int8-XXXXXX", file[64] = "";
    if (!CHECK(r, m && a && b && c && mkdtemp(path), "setup failed")) goto done;
    snprintf(file, sizeof file, "%s/q.nnc", path);
    CHECK(r, nnc_quantize_int8(m, d->x, d->n) == NNC_OK, "quantize: %s", nnc_last_error(m));
    CHECK(r, nnc_model_int8_layers(m) == 2, "%d int8 layers (the 9-value first convolution stays float)",
          nnc_model_int8_layers(m));
    nnc_model_set_threads(m, 1);
    nnc_predict_ex(m, d->x, d->n, a, 1000, false);
    nnc_model_set_threads(m, 2);
    nnc_predict_ex(m, d->x, d->n, b, 1000, false);
    CHECK(r, !memcmp(a, b, n), "1 and 2 threads differ");
    nnc_error e = {""};
    CHECK(r, nnc_model_save(m, file, NULL) == NNC_OK, "save: %s", nnc_last_error(m));
    back = nnc_model_load(file, &e);
    if (CHECK(r, back != NULL, "load: %s", e.message)) {
        CHECK(r, nnc_model_int8_layers(back) == 2, "loaded: %d int8 layers", nnc_model_int8_layers(back));
        nnc_predict_ex(back, d->x, d->n, c, 1000, false);
        CHECK(r, !memcmp(a, c, n), "the loaded model predicts other bits");
        damaged(r, file, "\\\"scheme\\\":\\\"int8", "\\\"scheme\\\":\\\"int9", "not an int8 or bf16 scheme");
        damaged(r, file, "\\\"kernel_scales\\\":[0.0", "\\\"kernel_scales\\\":[0.1", "not an int8 step");
        damaged(r, file, "\\\"layer\\\":\\\"conv2d_1", "\\\"layer\\\":\\\"conv2d_9", "'conv2d_9' is not a Dense or Conv");
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (f) {
            nnc_summary(back, f);
            fclose(f);
            CHECK(r, text && strstr(text, "(Conv2D int8)") && strstr(text, "(Dense int8)") && strstr(text, "Int8 layers: 2"),
                  "summary lacks the int8 layers:\n%s", text ? text : "");
            free(text);
        }
    }
done:
    if (*file) unlink(file);
    rmdir(path);
    nnc_model_free(m);
    nnc_model_free(back);
    free(a), free(b), free(c);
    t_end(r);
}

/* The error left on m is one line holding want. */
static void one_line(test_run *r, const nnc_model *m, const char *want, const char *what) {
    const char *msg = nnc_last_error(m);
    CHECK(r, msg && strstr(msg, want) && !strchr(msg, '\n'), "%s: got '%s', want one line with '%s'", what,
          msg ? msg : "(none)", want);
}

static void refusals(test_run *r, const nnc_dataset *d) {
    if (!t_begin(r, "int8/refusals")) return;
    nnc_error e = {""};
    nnc_model *fresh = nnc_model_from_spec_text(MLP, strlen(MLP), "int8 test", &e);
    if (CHECK(r, fresh != NULL, "%s", e.message)) {
        CHECK(r, nnc_quantize_int8(fresh, d->x, 100) != NNC_OK, "an untrained model was quantized");
        one_line(r, fresh, "untrained", "untrained");
    }
    nnc_model_free(fresh);
    const char *narrow_spec = "input 8\ndense 10\nloss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n";
    nnc_dataset nd = {d->x, d->y, 200, 8, 1};
    float *x8 = malloc(200 * 8 * sizeof *x8);
    for (size_t i = 0; x8 && i < 200; i++) memcpy(x8 + i * 8, d->x + i * 64, 8 * sizeof *x8);
    nd.x = x8;
    nnc_model *narrow = x8 ? trained(narrow_spec, &nd, 1) : NULL;
    if (CHECK(r, narrow != NULL, "training the narrow model failed")) {
        CHECK(r, nnc_quantize_int8(narrow, x8, 200) != NNC_OK, "a model with no product of 32 values was quantized");
        one_line(r, narrow, "no Dense or Conv layer", "nothing to quantize");
    }
    nnc_model_free(narrow);
    free(x8);
    nnc_model *m = trained(MLP, d, 1);
    if (CHECK(r, m != NULL, "training failed") && CHECK(r, !nnc_quantize_int8(m, d->x, 200), "%s", nnc_last_error(m))) {
        CHECK(r, nnc_quantize_int8(m, d->x, 200) != NNC_OK, "quantized twice");
        one_line(r, m, "already quantized", "twice");
        nnc_fit_opts o = nnc_fit_opts_default();
        o.verbose = 0;
        CHECK(r, nnc_fit(m, d->x, d->y, d->n, &o, NULL) != NNC_OK, "a quantized model was trained");
        one_line(r, m, "quantized to int8", "fit");
        CHECK(r, nnc_model_save(m, "/tmp/nnc-int8-refused.onnx", NULL) != NNC_OK, "saved as ONNX");
        one_line(r, m, "nnc's model file only", "save .onnx");
        CHECK(r, nnc_model_save(m, "/tmp/nnc-int8-refused.keras", NULL) != NNC_OK, "saved as .keras");
        CHECK(r, access("/tmp/nnc-int8-refused.onnx", F_OK) != 0, "a refused save left a file");
    }
    nnc_model_free(m);
    t_end(r);
}

/* The command line: convert, summary, eval, and its one-line errors. */
static void cli(test_run *r, const nnc_dataset *d) {
    if (!t_begin(r, "int8/cli_convert")) return;
    char dir[] = "/tmp/nnc-int8cli-XXXXXX", file[96];
    nnc_model *m = trained(MLP, d, 3);
    if (!CHECK(r, m && mkdtemp(dir), "setup failed")) goto done;
    snprintf(file, sizeof file, "%s/f.nnc", dir);
    CHECK(r, nnc_model_save(m, file, NULL) == NNC_OK, "save: %s", nnc_last_error(m));
    static const struct {
        const char *cmd, *want;
        int status;
    } runs[] = {
        {"nnc convert f.nnc q.nnc --quantize int8 --calibrate digits --calibrate-rows 300", "int8 layers: 3", 0},
        {"nnc summary q.nnc", "(Dense int8)", 0},
        {"nnc eval q.nnc --data digits", "accuracy: 0.", 0},
        {"nnc convert q.nnc q.onnx", "nnc's model file only", 1},
        {"nnc convert f.nnc w.nnc --quantize int8 --calibrate iris", "iris", 1},
        {"nnc convert f.nnc w.nnc --quantize int8", "needs --calibrate", 2},
        {"nnc convert f.nnc w.nnc --quantize int4 --calibrate digits", "int8 or bf16", 2},
        {"nnc convert q.nnc w.nnc --quantize int8 --calibrate digits", "already quantized", 1},
        {"nnc convert f.nnc w.nnc --quantize bf16 --calibrate digits", "--calibrate is for --quantize int8", 2},
    };
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        int status = -1;
        char *out = t_shell(dir, runs[i].cmd, &status);
        size_t lines = 0;
        for (const char *p = out; p && *p; p++) lines += *p == '\n';
        CHECK(r, out && status == runs[i].status && strstr(out, runs[i].want), "'%s': status %d, output:\n%s",
              runs[i].cmd, status, out ? out : "(none)");
        if (runs[i].status) CHECK(r, lines <= 2, "'%s': %zu lines of error:\n%s", runs[i].cmd, lines, out);
        free(out);
    }
    char rm[160];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm)) t_info(r, "could not remove %s", dir);
done:
    nnc_model_free(m);
    t_end(r);
}

/* Slow: issue 17's accuracy target on Fashion-MNIST, B2 (MLP 784-512-256-10) and B3 (the
 * CNN of bench/README.md) trained 2 epochs, int8 within 0.5 points of float on the test set. */
static void fashion(test_run *r) {
    static const char *const specs[2] = {
        "input 784\ndense 512 activation=relu\ndense 256 activation=relu\ndense 10\n",
        "input 28 28 1\nconv2d 32 3 activation=relu\nmax_pooling2d 2\nconv2d 64 3 activation=relu\n"
        "max_pooling2d 2\nflatten\ndense 128 activation=relu\ndense 10\n"};
    for (int b = 0; b < 2; b++) {
        if (!t_begin(r, "slow/int8_fashion_mnist_B%d", b + 2)) continue;
        if (!t_slow(r)) {
            t_skip(r, "slow test: run nnc_tests --slow");
            continue;
        }
        const char *dir = getenv("NNC_FASHION_MNIST_DIR"); /* as the loader looks for it */
        char images[1024];
        snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", dir ? dir : "/usr/share/datasets/fashion-mnist");
        if (access(images, R_OK)) {
            t_skip(r, "needs Fashion-MNIST in /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist) "
                      "or NNC_FASHION_MNIST_DIR");
            continue;
        }
        nnc_dataset tr = {0}, te = {0};
        nnc_error e = {""};
        char spec[512];
        snprintf(spec, sizeof spec, "%sloss sparse_categorical_crossentropy from_logits=true\noptimizer adam\n", specs[b]);
        nnc_model *m = NULL;
        float *f = NULL, *q = NULL, *cal = NULL;
        if (!CHECK(r, !nnc_dataset_load("fashion_mnist", 0, &tr, &e) && !nnc_dataset_load("fashion_mnist_test", 0, &te, &e),
                   "%s", e.message))
            goto next;
        m = trained(spec, &tr, 2);
        f = malloc(te.n * 10 * sizeof *f), q = malloc(te.n * 10 * sizeof *q), cal = malloc(2000 * tr.features * sizeof *cal);
        if (!CHECK(r, m && f && q && cal, "training failed")) goto next;
        for (size_t i = 0; i < 2000; i++) /* calibration: 2000 training rows spread over the set */
            memcpy(cal + i * tr.features, tr.x + (i * tr.n / 2000) * tr.features, tr.features * sizeof *cal);
        nnc_predict_ex(m, te.x, te.n, f, 1000, false);
        CHECK(r, nnc_quantize_int8(m, cal, 2000) == NNC_OK, "quantize: %s", nnc_last_error(m));
        nnc_predict_ex(m, te.x, te.n, q, 1000, false);
        double fa = accuracy(f, &te), qa = accuracy(q, &te);
        CHECK(r, fabs(fa - qa) <= 0.005, "B%d: float %.4f, int8 %.4f: more than 0.5 points apart", b + 2, fa, qa);
        t_info(r, "B%d test accuracy: float %.4f, int8 %.4f (%d int8 layers)", b + 2, fa, qa, nnc_model_int8_layers(m));
    next:
        nnc_model_free(m);
        free(f), free(q), free(cal);
        nnc_dataset_free(&tr);
        nnc_dataset_free(&te);
        t_end(r);
    }
}

/* bf16 (AVX512_BF16 only): the product against a double sum of the same bf16 values, a digits
 * MLP against float, 1 and 2 threads, the file round trip, the summary. */
static void bf16(test_run *r, const nnc_dataset *d) {
    if (!t_begin(r, "bf16/product_and_model")) return;
    if (!nnc_bf16_cpu_has()) {
        t_skip(r, "this CPU lacks AVX512_BF16 (bf16 is refused there, with a message)");
        return;
    }
    enum { M = 13, N = 37, K = 75 };
    static float a[M * K], w[K * N], c[M * N];
    static uint16_t a16[M * 76], w16[76 * 48];
    uint32_t s = 99;
    for (int i = 0; i < M * K; i++) a[i] = (float)((int)(next(&s) % 2001) - 1000) / 300.0f;
    for (int i = 0; i < K * N; i++) w[i] = (float)((int)(next(&s) % 2001) - 1000) / 700.0f;
    nnc_bf16_rows(a, M, K, K, a16, 76);
    nnc_bf16_pack(w, K, N, w16);
    nnc_bgemm(M, N, K, a16, 76, w16, c, N);
    double worst = 0.0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double sum = 0.0, mag = 0.0;
            for (int k = 0; k < K; k++) {
                const double p = (double)nnc_bf16_round(a[i * K + k]) * (double)nnc_bf16_round(w[k * N + j]);
                sum += p, mag += fabs(p);
            }
            worst = fmax(worst, fabs((double)c[i * N + j] - sum) / (mag + 1e-30));
        }
    /* float sums of K exact bf16 products: at most about K·2^-24 of Σ|p| apart from the exact sum */
    CHECK(r, worst <= K * 6e-8, "bf16 product off the exact sum by %.3g of Σ|a·w|", worst);
    nnc_model *m = trained(MLP, d, 15), *back = NULL;
    const size_t bytes = d->n * 10 * sizeof(float);
    float *f = malloc(bytes), *q1 = malloc(bytes), *q2 = malloc(bytes), *q3 = malloc(bytes);
    char path[] = "/tmp/nnc-bf16-XXXXXX", file[64] = "";
    if (!CHECK(r, m && f && q1 && q2 && q3 && mkdtemp(path), "setup failed")) goto done;
    snprintf(file, sizeof file, "%s/b.nnc", path);
    nnc_predict_ex(m, d->x, d->n, f, 256, false);
    CHECK(r, nnc_quantize_bf16(m) == NNC_OK && nnc_model_bf16_layers(m) == 3, "quantize: %s", nnc_last_error(m));
    nnc_model_set_threads(m, 1);
    nnc_predict_ex(m, d->x, d->n, q1, 1000, false);
    nnc_model_set_threads(m, 2);
    nnc_predict_ex(m, d->x, d->n, q2, 1000, false);
    CHECK(r, !memcmp(q1, q2, bytes), "bf16: 1 and 2 threads differ");
    double diff = 0.0, top = 0.0;
    for (size_t i = 0; i < d->n * 10; i++) {
        diff = fmax(diff, fabs((double)f[i] - (double)q1[i]));
        top = fmax(top, fabs((double)f[i]));
    }
    /* 8-bit mantissas: about 0.4% per factor, three layers: 2% of the largest logit is ample */
    CHECK(r, diff <= 0.02 * top, "bf16 logits off float by %.4f (largest %.4f)", diff, top);
    CHECK(r, fabs(accuracy(f, d) - accuracy(q1, d)) <= 0.01, "accuracy float %.4f bf16 %.4f", accuracy(f, d),
          accuracy(q1, d));
    nnc_error e = {""};
    CHECK(r, nnc_model_save(m, file, NULL) == NNC_OK, "save: %s", nnc_last_error(m));
    back = nnc_model_load(file, &e);
    if (CHECK(r, back != NULL, "load: %s", e.message)) {
        nnc_predict_ex(back, d->x, d->n, q3, 1000, false);
        CHECK(r, !memcmp(q1, q3, bytes), "the loaded bf16 model predicts other bits");
        CHECK(r, nnc_model_bf16_layers(back) == 3 && !strcmp(nnc_layer_precision(back, 2), "bf16") &&
                 !strcmp(nnc_layer_precision(back, 1), "float32"), "the loaded model's layers are not bf16");
    }
    t_info(r, "bf16 product within %.2g of Σ|a·w|; logits within %.4f of float; accuracy %.4f / %.4f", worst, diff,
           accuracy(f, d), accuracy(q1, d));
done:
    if (*file) unlink(file);
    rmdir(path);
    nnc_model_free(m);
    nnc_model_free(back);
    free(f), free(q1), free(q2), free(q3);
    t_end(r);
}

void suite_int8(test_run *r);
void suite_int8(test_run *r) {
    fashion(r);
    kernels(r);
    quantizer(r);
    nnc_dataset d = {0};
    nnc_error e = {""};
    if (nnc_dataset_load("digits", 0, &d, &e)) {
        if (t_begin(r, "int8/digits")) {
            CHECK(r, 0, "digits: %s", e.message);
            t_end(r);
        }
        return;
    }
    digits_model(r, &d, "mlp", MLP, 3);
    digits_model(r, &d, "cnn", CNN, 2); /* its first convolution sums 9 values: float */
    digits_model(r, &d, "cnn_pool", CNN_POOL, 2);
    threads_and_file(r, &d);
    refusals(r, &d);
    cli(r, &d);
    bf16(r, &d);
    nnc_dataset_free(&d);
}
