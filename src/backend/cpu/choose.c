/* Which variant of the float and int8 products runs, chosen once per process by timing them.
 *
 * A CPU flag says what a core can run, not what runs fastest: AVX-512 on a Zen 4 executes as
 * two 256-bit halves, so its 512-bit kernels may be no faster than the AVX2 ones (and lower
 * the clock on some Intel parts), while a Zen 5 runs them at full width. So where the CPU has
 * both, the first product of the process (or the first model: nnc_model_new calls this; int8
 * at the first quantized layer) times each variant on a few shapes the benchmarks spend their time in, alternately, keeping each
 * one's fastest run, and the variant with the smaller sum of times relative to the best takes
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

static int feature_best_gemm(void) {
    if (nnc_gemm_cpu_has(NNC_GEMM_AVX512)) return NNC_GEMM_AVX512;
    if (nnc_gemm_cpu_has(NNC_GEMM_AVX2)) return NNC_GEMM_AVX2;
    return NNC_GEMM_REF;
}

static int feature_best_qgemm(void) {
    for (int v = NNC_QGEMM_COUNT - 1; v > 0; v--)
        if (nnc_qgemm_cpu_has(v)) return v;
    return NNC_QGEMM_REF;
}

/* The variant named by the environment variable, if this CPU runs it; else -1. */
static int forced(const char *var, int count, const char *(*name)(int), int (*has)(int)) {
    const char *f = getenv(var);
    for (int v = 0; f && v < count; v++)
        if (!strcmp(f, name(v)) && has(v)) return v;
    return -1;
}

/* The float shapes (about 0.4 ms in all, once): rows of a batch through a wide layer, the weight gradient (op(A)
 * transposed) of such a layer, and B1's first layer at batch 32 (N = 25: masked columns). */
typedef struct {
    int ta, M, N, K;
} fshape;
static const fshape fshapes[] = {{0, 96, 256, 256}, {1, 256, 128, 96}, {0, 32, 25, 784}};
#define NF (int)(sizeof fshapes / sizeof fshapes[0])

static void run_gemm(int v, const fshape *s, const float *A, const float *B, float *C) {
    const int lda = s->ta ? s->M : s->K;
    if (v == NNC_GEMM_AVX512) nnc_gemm_avx512(s->ta, 0, s->M, s->N, s->K, A, lda, B, s->N, 0.0f, C, s->N);
    else nnc_gemm_avx2(s->ta, 0, s->M, s->N, s->K, A, lda, B, s->N, 0.0f, C, s->N);
}

/* Seconds of each of the two variants on the shapes (best run of ROUNDS), summed relative to
 * the faster one per shape: score[i] >= NF, NF for a variant best on every shape. */
static int time_gemm(double score[2]) {
    size_t fa = 0, fb = 0, fc = 0;
    for (int s = 0; s < NF; s++) {
        const size_t a = (size_t)fshapes[s].M * fshapes[s].K, b = (size_t)fshapes[s].K * fshapes[s].N;
        const size_t c = (size_t)fshapes[s].M * fshapes[s].N;
        fa = a > fa ? a : fa, fb = b > fb ? b : fb, fc = c > fc ? c : fc;
    }
    float *A = malloc(fa * sizeof *A), *B = malloc(fb * sizeof *B), *C = malloc(fc * sizeof *C);
    if (!A || !B || !C) {
        free(A), free(B), free(C);
        return 0;
    }
    for (size_t i = 0; i < fa; i++) A[i] = (float)(i % 13) * 0.01f;
    for (size_t i = 0; i < fb; i++) B[i] = (float)(i % 7) * 0.02f - 0.05f;
    const int v[2] = {NNC_GEMM_AVX512, NNC_GEMM_AVX2};
    score[0] = score[1] = 0.0;
    for (int s = 0; s < NF; s++) {
        double best[2] = {1e30, 1e30};
        for (int i = 0; i < 2; i++) run_gemm(v[i], &fshapes[s], A, B, C); /* warm */
        for (int r = 0; r < ROUNDS; r++)
            for (int i = 0; i < 2; i++) {
                const double t0 = now_s();
                run_gemm(v[i], &fshapes[s], A, B, C);
                const double t = now_s() - t0;
                if (t < best[i]) best[i] = t;
            }
        const double lo = best[0] < best[1] ? best[0] : best[1];
        for (int i = 0; i < 2; i++) score[i] += lo > 0 ? best[i] / lo : 1.0;
    }
    free(A), free(B), free(C);
    return 1;
}

/* The int8 shapes (M, N, K): a wide first layer, and a convolution's product (576 = 3·3·64). */
static const int qshapes[][3] = {{32, 256, 784}, {64, 64, 576}};
#define NQ (int)(sizeof qshapes / sizeof qshapes[0])

static int time_qgemm(int v0, int v1, double score[2]) {
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
    int ok = A && W && bp && comp && scale && C;
    if (ok) {
        for (size_t i = 0; i < fa; i++) A[i] = (uint8_t)(i * 37 % 251);
        for (size_t i = 0; i < fw; i++) W[i] = (int8_t)((int)(i * 29 % 255) - 127);
        for (size_t i = 0; i < fn; i++) scale[i] = 1e-3f;
        const int v[2] = {v0, v1};
        score[0] = score[1] = 0.0;
        for (int s = 0; s < NQ; s++) {
            const int M = qshapes[s][0], N = qshapes[s][1], K = qshapes[s][2], lda = nnc_qrow_bytes(K);
            nnc_qpack(W, K, N, bp, comp);
            double best[2] = {1e30, 1e30};
            for (int i = 0; i < 2; i++) nnc_qgemm(v[i], M, N, K, A, lda, bp, comp, scale, C, NULL, N);
            for (int r = 0; r < ROUNDS; r++)
                for (int i = 0; i < 2; i++) {
                    const double t0 = now_s();
                    nnc_qgemm(v[i], M, N, K, A, lda, bp, comp, scale, C, NULL, N);
                    const double t = now_s() - t0;
                    if (t < best[i]) best[i] = t;
                }
            const double lo = best[0] < best[1] ? best[0] : best[1];
            for (int i = 0; i < 2; i++) score[i] += lo > 0 ? best[i] / lo : 1.0;
        }
    }
    free(A), free(W), free(bp), free(comp), free(scale), free(C);
    return ok;
}

static void choose_gemm(void) {
    double sc[2];
    gemm_choice = feature_best_gemm();
    const int f = forced("NNC_GEMM", 3, nnc_gemm_variant_name, nnc_gemm_cpu_has);
    if (f >= 0) {
        gemm_choice = f;
        snprintf(gemm_how, sizeof gemm_how, "%s (NNC_GEMM)", nnc_gemm_variant_name(f));
    } else if (gemm_choice == NNC_GEMM_AVX512 && nnc_gemm_cpu_has(NNC_GEMM_AVX2) && time_gemm(sc)) {
        gemm_choice = sc[1] < sc[0] ? NNC_GEMM_AVX2 : NNC_GEMM_AVX512;
        snprintf(gemm_how, sizeof gemm_how, "%s (timed: avx512f %.2f, avx2+fma %.2f)",
                 nnc_gemm_variant_name(gemm_choice), sc[0] / NF, sc[1] / NF);
    } else {
        snprintf(gemm_how, sizeof gemm_how, "%s", nnc_gemm_variant_name(gemm_choice));
    }
}

static void choose_qgemm(void) {
    double sc[2];
    qgemm_choice = feature_best_qgemm();
    const int q = forced("NNC_QGEMM", NNC_QGEMM_COUNT, nnc_qgemm_variant_name, nnc_qgemm_cpu_has);
    if (q >= 0) {
        qgemm_choice = q;
        snprintf(qgemm_how, sizeof qgemm_how, "%s (NNC_QGEMM)", nnc_qgemm_variant_name(q));
    } else if (qgemm_choice == NNC_QGEMM_AVX512VNNI && nnc_qgemm_cpu_has(NNC_QGEMM_AVXVNNI) &&
               time_qgemm(NNC_QGEMM_AVX512VNNI, NNC_QGEMM_AVXVNNI, sc)) {
        qgemm_choice = sc[1] < sc[0] ? NNC_QGEMM_AVXVNNI : NNC_QGEMM_AVX512VNNI;
        snprintf(qgemm_how, sizeof qgemm_how, "%s (timed: avx512-vnni %.2f, avx-vnni %.2f)",
                 nnc_qgemm_variant_name(qgemm_choice), sc[0] / NQ, sc[1] / NQ);
    } else {
        snprintf(qgemm_how, sizeof qgemm_how, "%s", nnc_qgemm_variant_name(qgemm_choice));
    }
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
