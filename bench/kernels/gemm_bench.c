/* nnc_gemm speed at the shapes nnc's models run, beside the reference and OpenBLAS.
 *
 * Columns: GFLOP/s (2·M·N·K per call) of nnc_gemm_ref, of each SIMD variant this CPU runs
 * (avx2, avx512), and of OpenBLAS cblas_sgemm when the build found it (NNC_HAVE_CBLAS); then
 * avx2 over OpenBLAS, and the variant nnc_gemm dispatches to over OpenBLAS. Each number is the
 * median of REPS timed repeats, each looping the call for at least --sec seconds (default 0.1)
 * after one warm-up call; the repeats take turns between the implementations.
 * Before timing, every variant is checked against the reference at that shape.
 *
 * Run single-threaded: OPENBLAS_NUM_THREADS=1 ./gemm_bench [--sec S] [--no-ref] [--wall] [FILTER]
 * (FILTER: only shapes whose label contains it). */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/cpu/gemm_simd.h"
#include "backend/cpu/kernels.h"

#ifdef NNC_HAVE_CBLAS
#include <cblas.h>
#endif

#define REPS 7

typedef struct {
    const char *label;
    int ta, tb, M, N, K;
    float beta;
} shape;

/* M rows = batch × positions. fwd: y = x·W; dW: += xᵀ·dy; dX: += dy·Wᵀ (im2col: dcol = dy·Kᵀ). */
static const shape shapes[] = {
    {"B1 L1 fwd 32x784.784x25", 0, 0, 32, 25, 784, 0},
    {"B1 L1 dW  784x25 K=32", 1, 0, 784, 25, 32, 1},
    {"B1 L1 dX  32x784 K=25", 0, 1, 32, 784, 25, 1},
    {"B1 L2 fwd 32x25.25x15", 0, 0, 32, 15, 25, 0},
    {"B1 L2 dW  25x15 K=32", 1, 0, 25, 15, 32, 1},
    {"B1 L2 dX  32x25 K=15", 0, 1, 32, 25, 15, 1},
    {"B2 L1 fwd 128x784.784x512", 0, 0, 128, 512, 784, 0},
    {"B2 L1 dW  784x512 K=128", 1, 0, 784, 512, 128, 1},
    {"B2 L2 fwd 128x512.512x256", 0, 0, 128, 256, 512, 0},
    {"B2 L2 dW  512x256 K=128", 1, 0, 512, 256, 128, 1},
    {"B2 L2 dX  128x512 K=256", 0, 1, 128, 512, 256, 1},
    {"B2 L3 fwd 128x256.256x10", 0, 0, 128, 10, 256, 0},
    {"B2 L3 dW  256x10 K=128", 1, 0, 256, 10, 128, 1},
    {"B2 L3 dX  128x256 K=10", 0, 1, 128, 256, 10, 1},
    {"B3 c1 fwd 86528x9.9x32", 0, 0, 86528, 32, 9, 0},
    {"B3 c1 dW  9x32 K=86528", 1, 0, 9, 32, 86528, 1},
    {"B3 c2 fwd 15488x288.288x64", 0, 0, 15488, 64, 288, 0},
    {"B3 c2 dW  288x64 K=15488", 1, 0, 288, 64, 15488, 1},
    {"B3 c2 dcol 15488x288 K=64", 0, 1, 15488, 288, 64, 0},
    {"B3 d1 fwd 128x1600.1600x128", 0, 0, 128, 128, 1600, 0},
    {"B3 d1 dW  1600x128 K=128", 1, 0, 1600, 128, 128, 1},
    {"B3 d1 dX  128x1600 K=128", 0, 1, 128, 1600, 128, 1},
    {"P1 b1 fwd 1x784.784x512", 0, 0, 1, 512, 784, 0},
    {"P1 B2 L1 1000x784.784x512", 0, 0, 1000, 512, 784, 0},
    {"P1 B2 L2 1000x512.512x256", 0, 0, 1000, 256, 512, 0},
    {"P1 B2 L3 1000x256.256x10", 0, 0, 1000, 10, 256, 0},
    {"P1 B3 c2 fwd 121000x288.288x64", 0, 0, 121000, 64, 288, 0},
    {"P1 B3 d1 1000x1600.1600x128", 0, 0, 1000, 128, 1600, 0},
    {"sq NN 512^3", 0, 0, 512, 512, 512, 0},
    {"sq TN 512^3", 1, 0, 512, 512, 512, 0},
    {"sq NT 512^3", 0, 1, 512, 512, 512, 0},
    {"sq TT 512^3", 1, 1, 512, 512, 512, 0},
    {"sq NN 1024^3", 0, 0, 1024, 1024, 1024, 0},
};

typedef void (*gemm_fn)(int, int, int, int, int, const float *, int, const float *, int, float,
                        float *, int);

#ifdef NNC_HAVE_CBLAS
static void blas_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
#endif

/* Timing uses this thread's CPU time by default: the machines are shared, and wall time would
 * count the slices other processes take from us. --wall switches to CLOCK_MONOTONIC. */
static clockid_t bench_clock = CLOCK_THREAD_CPUTIME_ID;

static double now(void) {
    struct timespec t;
    clock_gettime(bench_clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One timed repeat: GFLOP/s of f looped for at least min_sec. */
static double time_once(gemm_fn f, const shape *s, const float *A, const float *B, float *C,
                        double min_sec) {
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    long it = 0;
    double t0 = now(), t;
    do {
        f(s->ta, s->tb, s->M, s->N, s->K, A, lda, B, ldb, s->beta, C, s->N);
        it++;
        t = now() - t0;
    } while (t < min_sec);
    return 2.0 * s->M * s->N * s->K * (double)it / t * 1e-9;
}

#define NIMPL 4
enum { I_REF, I_AVX2, I_AVX512, I_BLAS };

/* Median GFLOP/s of each implementation that is on. The repeats take turns between the
 * implementations, so a burst of load from other processes hits all of them alike. */
static void time_all(gemm_fn *fns, const shape *s, const float *A, const float *B, float *C,
                     double min_sec, double *out) {
    double g[NIMPL][REPS];
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    for (int i = 0; i < NIMPL; i++) /* warm-up */
        if (fns[i]) fns[i](s->ta, s->tb, s->M, s->N, s->K, A, lda, B, ldb, s->beta, C, s->N);
    for (int r = 0; r < REPS; r++)
        for (int i = 0; i < NIMPL; i++)
            if (fns[i]) g[i][r] = time_once(fns[i], s, A, B, C, min_sec);
    for (int i = 0; i < NIMPL; i++) {
        out[i] = (double)NAN;
        if (!fns[i]) continue;
        qsort(g[i], REPS, sizeof g[i][0], cmp_double);
        out[i] = g[i][REPS / 2];
    }
}

/* Largest |x - ref| / (Σ|a·b| + tiny) over C, for C from zero with beta 0. */
static double check(gemm_fn f, const shape *s, const float *A, const float *B, float *C,
                    float *R) {
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    size_t n = (size_t)s->M * s->N;
    f(s->ta, s->tb, s->M, s->N, s->K, A, lda, B, ldb, 0.0f, C, s->N);
    nnc_gemm_ref(s->ta, s->tb, s->M, s->N, s->K, A, lda, B, ldb, 0.0f, R, s->N);
    double worst = 0;
    /* inputs lie in [-0.5, 0.5], so Σ|a·b| <= K/4; use that bound for the scale */
    double scale = 0.25 * s->K;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)C[i] - (double)R[i]) / scale;
        if (d > worst) worst = d;
    }
    return worst;
}

int main(int argc, char **argv) {
    double min_sec = 0.1;
    int no_ref = 0;
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sec") && i + 1 < argc) min_sec = atof(argv[++i]);
        else if (!strcmp(argv[i], "--no-ref")) no_ref = 1;
        else if (!strcmp(argv[i], "--wall")) bench_clock = CLOCK_MONOTONIC;
        else filter = argv[i];
    }
    int has512 = nnc_gemm_cpu_has(NNC_GEMM_AVX512), has2 = nnc_gemm_cpu_has(NNC_GEMM_AVX2);
    int variant = nnc_gemm_variant();
    printf("nnc_gemm dispatches to: %s (the ratio uses that column)\n",
           nnc_gemm_variant_name(variant));
#ifdef NNC_HAVE_CBLAS
    const char *envt = getenv("OPENBLAS_NUM_THREADS");
    printf("OpenBLAS: cblas_sgemm, OPENBLAS_NUM_THREADS=%s\n", envt ? envt : "(unset)");
#else
    printf("OpenBLAS: not found at build time, column skipped\n");
#endif
    printf("GFLOP/s, median of %d repeats of >= %.2f s of %s time\n\n", REPS, min_sec,
           bench_clock == CLOCK_MONOTONIC ? "wall" : "thread CPU");
    printf("| shape | ta tb | M | N | K | ref | avx2 | avx512 | OpenBLAS | avx2/OpenBLAS "
           "| nnc/OpenBLAS |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *s = &shapes[si];
        if (filter && !strstr(s->label, filter)) continue;
        size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
        float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B);
        float *C = malloc(nc * sizeof *C), *R = malloc(nc * sizeof *R);
        if (!A || !B || !C || !R) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < na; i++) A[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
        for (size_t i = 0; i < nb; i++) B[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
        memset(C, 0, nc * sizeof *C);
        double err = 0;
        if (has2) err = fmax(err, check(nnc_gemm_avx2, s, A, B, C, R));
        if (has512) err = fmax(err, check(nnc_gemm_avx512, s, A, B, C, R));
        if (err > 1e-5) printf("<!-- %s: error %.3g against the reference -->\n", s->label, err);
        gemm_fn fns[NIMPL] = {no_ref ? NULL : nnc_gemm_ref, has2 ? nnc_gemm_avx2 : NULL,
                              has512 ? nnc_gemm_avx512 : NULL, NULL};
#ifdef NNC_HAVE_CBLAS
        fns[I_BLAS] = blas_gemm;
#endif
        double g[NIMPL];
        time_all(fns, s, A, B, C, min_sec, g);
        double nnc = g[variant == NNC_GEMM_AVX512 ? I_AVX512 : variant == NNC_GEMM_AVX2 ? I_AVX2
                                                                                      : I_REF];
        printf("| %s | %d %d | %d | %d | %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |\n",
               s->label, s->ta, s->tb, s->M, s->N, s->K, g[I_REF], g[I_AVX2], g[I_AVX512],
               g[I_BLAS], g[I_AVX2] / g[I_BLAS], nnc / g[I_BLAS]);
        fflush(stdout);
        free(A);
        free(B);
        free(C);
        free(R);
    }
    return 0;
}
