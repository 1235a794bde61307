/* Which variant of the float and int8 products runs, chosen once per process by timing them.
 *
 * A CPU flag says what a core can run, not what runs fastest: AVX-512 on a Zen 4 executes as
 * two 256-bit halves, so its 512-bit kernels may be no faster than the AVX2 ones (and lower
 * the clock on some Intel parts), while a Zen 5 runs them at full width. So where the CPU has
 * both, the first product of the process (or the first model: nnc_model_new calls this; int8
 * at the first quantized layer) times each variant on a few shapes the benchmarks spend their
 * time in, alternately, keeping each one's fastest run, and the variant with the smaller sum of times relative to the best takes
 * every product from then on. The variants give the same bits (gemm_simd.h, qgemm.h), so the
 * choice changes speed only: a model trains to the same weights on any machine and whichever
 * variant the timing picked. This is the only process-wide value of the library; it is
 * written once under pthread_once and read-only afterwards, so models on several threads
 * share it safely.
 *
 * NNC_GEMM=avx512f|avx2+fma|reference and NNC_QGEMM=avx512-vnni|avx-vnni|avx2|reference force
 * a variant (one this CPU runs; another name is ignored), for benchmarks that compare them. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gemm_simd.h"
#include "qgemm.h"

#define ROUNDS 3 /* timed runs of each variant on each shape, alternating */

static pthread_once_t gemm_once = PTHREAD_ONCE_INIT, qgemm_once = PTHREAD_ONCE_INIT, how_once = PTHREAD_ONCE_INIT;
static int gemm_choice = NNC_GEMM_REF, qgemm_choice = NNC_QGEMM_REF;
static char gemm_how[80], qgemm_how[80], how[176];

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The widest variant the CPU runs: the enums count up from the reference. */
static int widest(int count, int (*has)(int)) {
    for (int v = count - 1; v > 0; v--)
        if (has(v)) return v;
    return 0;
}

/* The variant named by the environment variable, if this CPU runs it; else -1. */
static int forced(const char *var, int count, const char *(*name)(int), int (*has)(int)) {
    const char *f = getenv(var);
    for (int v = 0; f && v < count; v++)
        if (!strcmp(f, name(v)) && has(v)) return v;
    return -1;
}

/* One shape raced: run(job, i) runs variant i (0 or 1) once; each is run once to warm, then
 * ROUNDS times alternately, and each one's fastest time relative to the faster of the two is
 * added to score[i] (a variant best on every shape scores the number of shapes). */
static void race(void (*run)(const void *job, int i), const void *job, double score[2]) {
    double best[2] = {1e30, 1e30};
    for (int i = 0; i < 2; i++) run(job, i);
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < 2; i++) {
            const double t0 = now_s();
            run(job, i);
            const double t = now_s() - t0;
            if (t < best[i]) best[i] = t;
        }
    const double lo = best[0] < best[1] ? best[0] : best[1];
    for (int i = 0; i < 2; i++) score[i] += lo > 0 ? best[i] / lo : 1.0;
}

/* The float shapes (about 0.4 ms in all, once): rows of a batch through a wide layer, the weight
 * gradient (op(A) transposed) of such a layer, and B1's first layer at batch 32 (N = 25: masked
 * columns). Variant 0 is AVX-512, 1 AVX2. */
typedef struct {
    int ta, M, N, K;
} fshape;
static const fshape fshapes[] = {{0, 96, 256, 256}, {1, 256, 128, 96}, {0, 32, 25, 784}};
#define NF (int)(sizeof fshapes / sizeof fshapes[0])

typedef struct {
    const fshape *s;
    const float *A, *B;
    float *C;
} gemm_job;

static void run_gemm(const void *job, int i) {
    const gemm_job *j = job;
    const fshape *s = j->s;
    const int lda = s->ta ? s->M : s->K;
    if (i == 0) nnc_gemm_avx512(s->ta, 0, s->M, s->N, s->K, j->A, lda, j->B, s->N, 0.0f, j->C, s->N);
    else nnc_gemm_avx2(s->ta, 0, s->M, s->N, s->K, j->A, lda, j->B, s->N, 0.0f, j->C, s->N);
}

static int time_gemm(double score[2]) {
    size_t fa = 0, fb = 0, fc = 0;
    for (int s = 0; s < NF; s++) {
        const size_t a = (size_t)fshapes[s].M * fshapes[s].K, b = (size_t)fshapes[s].K * fshapes[s].N;
        const size_t c = (size_t)fshapes[s].M * fshapes[s].N;
        fa = a > fa ? a : fa, fb = b > fb ? b : fb, fc = c > fc ? c : fc;
    }
    float *A = malloc(fa * sizeof *A), *B = malloc(fb * sizeof *B), *C = malloc(fc * sizeof *C);
    const int ok = A && B && C;
    if (ok) {
        for (size_t i = 0; i < fa; i++) A[i] = (float)(i % 13) * 0.01f;
        for (size_t i = 0; i < fb; i++) B[i] = (float)(i % 7) * 0.02f - 0.05f;
        score[0] = score[1] = 0.0;
        for (int s = 0; s < NF; s++) race(run_gemm, &(gemm_job){&fshapes[s], A, B, C}, score);
    }
    free(A), free(B), free(C);
    return ok;
}

/* The int8 shapes (M, N, K): a wide first layer, and a convolution's product (576 = 3·3·64).
 * Variant 0 is AVX-512 VNNI, 1 AVX-VNNI. */
static const int qshapes[][3] = {{32, 256, 784}, {64, 64, 576}};
#define NQ (int)(sizeof qshapes / sizeof qshapes[0])

typedef struct {
    int M, N, K, lda;
    const uint8_t *A;
    const int8_t *bp;
    const int32_t *comp;
    const float *scale;
    float *C;
} qgemm_job;

static void run_qgemm(const void *job, int i) {
    const qgemm_job *j = job;
    nnc_qgemm(i == 0 ? NNC_QGEMM_AVX512VNNI : NNC_QGEMM_AVXVNNI, j->M, j->N, j->K, j->A, j->lda, j->bp, j->comp,
              j->scale, j->C, NULL, j->N);
}

static int time_qgemm(double score[2]) {
    size_t fa = 0, fw = 0, fp = 0, fc = 0, fn = 0;
    for (int s = 0; s < NQ; s++) {
        const int M = qshapes[s][0], N = qshapes[s][1], K = qshapes[s][2];
        const size_t a = (size_t)M * (size_t)nnc_qrow_bytes(K), w = (size_t)K * N, p = nnc_qpack_bytes(K, N);
        fa = a > fa ? a : fa, fw = w > fw ? w : fw, fp = p > fp ? p : fp;
        fc = (size_t)M * N > fc ? (size_t)M * N : fc, fn = (size_t)N > fn ? (size_t)N : fn;
    }
    uint8_t *A = malloc(fa);
    int8_t *W = malloc(fw), *bp = malloc(fp);
    int32_t *comp = malloc(fn * sizeof *comp);
    float *scale = malloc(fn * sizeof *scale), *C = malloc(fc * sizeof *C);
    const int ok = A && W && bp && comp && scale && C;
    if (ok) {
        for (size_t i = 0; i < fa; i++) A[i] = (uint8_t)(i * 37 % 251);
        for (size_t i = 0; i < fw; i++) W[i] = (int8_t)((int)(i * 29 % 255) - 127);
        for (size_t i = 0; i < fn; i++) scale[i] = 1e-3f;
        score[0] = score[1] = 0.0;
        for (int s = 0; s < NQ; s++) {
            const int M = qshapes[s][0], N = qshapes[s][1], K = qshapes[s][2];
            nnc_qpack(W, K, N, bp, comp);
            race(run_qgemm, &(qgemm_job){M, N, K, nnc_qrow_bytes(K), A, bp, comp, scale, C}, score);
        }
    }
    free(A), free(W), free(bp), free(comp), free(scale), free(C);
    return ok;
}

/* One family of variants (float or int8) and where its choice goes. */
typedef struct {
    const char *env;
    int count, wide, narrow, shapes; /* the two variants timed against each other */
    const char *(*name)(int);
    int (*has)(int);
    int (*timed)(double score[2]);
    int *choice;
    char *how;
    size_t how_len;
} family;

/* The forced variant, else the faster of the two widths where the CPU runs both, else the
 * widest it runs; `how` says which and why. */
static void choose(const family *f) {
    double sc[2];
    const int forced_v = forced(f->env, f->count, f->name, f->has);
    int v = widest(f->count, f->has);
    if (forced_v >= 0) {
        v = forced_v;
        snprintf(f->how, f->how_len, "%s (%s)", f->name(v), f->env);
    } else if (v == f->wide && f->has(f->narrow) && f->timed(sc)) {
        v = sc[1] < sc[0] ? f->narrow : f->wide;
        snprintf(f->how, f->how_len, "%s (timed: %s %.2f, %s %.2f)", f->name(v), f->name(f->wide),
                 sc[0] / f->shapes, f->name(f->narrow), sc[1] / f->shapes);
    } else {
        snprintf(f->how, f->how_len, "%s", f->name(v));
    }
    *f->choice = v;
}

static void choose_gemm(void) {
    choose(&(family){"NNC_GEMM", 3, NNC_GEMM_AVX512, NNC_GEMM_AVX2, NF, nnc_gemm_variant_name, nnc_gemm_cpu_has,
                     time_gemm, &gemm_choice, gemm_how, sizeof gemm_how});
}

static void choose_qgemm(void) {
    choose(&(family){"NNC_QGEMM", NNC_QGEMM_COUNT, NNC_QGEMM_AVX512VNNI, NNC_QGEMM_AVXVNNI, NQ,
                     nnc_qgemm_variant_name, nnc_qgemm_cpu_has, time_qgemm, &qgemm_choice, qgemm_how,
                     sizeof qgemm_how});
}

static void describe(void) {
    pthread_once(&gemm_once, choose_gemm);
    pthread_once(&qgemm_once, choose_qgemm);
    snprintf(how, sizeof how, "float %s; int8 %s", gemm_how, qgemm_how);
}

int nnc_gemm_variant(void) {
    pthread_once(&gemm_once, choose_gemm);
    return gemm_choice;
}

/* int8 is timed only once a process quantizes or loads a quantized model */
int nnc_qgemm_best(void) {
    pthread_once(&qgemm_once, choose_qgemm);
    return qgemm_choice;
}

const char *nnc_kernels_chosen(void) {
    pthread_once(&how_once, describe);
    return how;
}
