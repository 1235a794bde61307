/* Tests for nnc_gemm (src/backend/cpu): every SIMD variant this CPU runs, and the dispatched
 * nnc_gemm, against the plain C reference nnc_gemm_ref, over the four transpose modes, beta 0
 * and 1, odd sizes, padded leading dimensions, several k blocks and the shapes the models run.
 * Tolerance per element: |x - ref| <= 1e-5 · (|C0| + Σ_k |op(A)[i,k]·op(B)[k,j]|).
 * Then the properties the threading relies on: C computed in two calls split over M, or over
 * N, is bit-identical to C computed whole, and the SIMD variants agree bit for bit.
 * Out of scope: speed (bench/kernels/gemm_bench.c). */
#include "backend/cpu/gemm_simd.h"
#include "backend/cpu/kernels.h"
#include "test.h"
#include "compare.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef void (*gemm_fn)(int, int, int, int, int, const float *, int, const float *, int, float,
                        float *, int);

typedef struct {
    const char *name;
    gemm_fn fn;
} variant;

/* The dispatched nnc_gemm, then each SIMD variant this CPU runs. */
static int variants(variant *v) {
    int n = 0;
    v[n++] = (variant){"nnc_gemm", nnc_gemm};
    if (nnc_gemm_cpu_has(NNC_GEMM_AVX2)) v[n++] = (variant){"avx2", nnc_gemm_avx2};
    if (nnc_gemm_cpu_has(NNC_GEMM_AVX512)) v[n++] = (variant){"avx512", nnc_gemm_avx512};
    return n;
}

static uint32_t rng_state = 12345u;

static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / 8388608.0f - 1.0f;
}

static float *rand_buf(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (p)
        for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

/* A problem with its own buffers, sized exactly (so ASan sees overruns), with padding columns
 * when the leading dimensions are wider than the rows. */
typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float beta;
    float *A, *B, *C0;
    size_t na, nb, nc;
} problem;

static int problem_init(problem *p, int ta, int tb, int M, int N, int K, int pad, float beta) {
    p->ta = ta, p->tb = tb, p->M = M, p->N = N, p->K = K, p->beta = beta;
    p->lda = (ta ? M : K) + pad;
    p->ldb = (tb ? K : N) + pad;
    p->ldc = N + pad;
    /* the last row needs only its width, not the full leading dimension */
    int arows = ta ? K : M, brows = tb ? N : K;
    p->na = arows ? (size_t)(arows - 1) * p->lda + (size_t)(ta ? M : K) : 0;
    p->nb = brows ? (size_t)(brows - 1) * p->ldb + (size_t)(tb ? K : N) : 0;
    p->nc = M ? (size_t)(M - 1) * p->ldc + (size_t)N : 0;
    p->A = rand_buf(p->na);
    p->B = rand_buf(p->nb);
    p->C0 = rand_buf(p->nc);
    return p->A && p->B && p->C0;
}

static void problem_free(problem *p) {
    free(p->A);
    free(p->B);
    free(p->C0);
}

static float *run(const problem *p, gemm_fn f) {
    float *C = malloc((p->nc ? p->nc : 1) * sizeof *C);
    if (!C) return NULL;
    if (p->nc) memcpy(C, p->C0, p->nc * sizeof *C);
    f(p->ta, p->tb, p->M, p->N, p->K, p->A, p->lda, p->B, p->ldb, p->beta, C, p->ldc);
    return C;
}

static float opa(const problem *p, int i, int k) {
    return p->ta ? p->A[(size_t)k * p->lda + i] : p->A[(size_t)i * p->lda + k];
}

static float opb(const problem *p, int k, int j) {
    return p->tb ? p->B[(size_t)j * p->ldb + k] : p->B[(size_t)k * p->ldb + j];
}

/* scale[i*N + j] = |C0[i,j]| (beta 1) + Σ_k |op(A)[i,k]·op(B)[k,j]|. */
static double *scales(const problem *p) {
    double *sc = malloc(((size_t)p->M * p->N + 1) * sizeof *sc);
    if (!sc) return NULL;
    for (int i = 0; i < p->M; i++)
        for (int j = 0; j < p->N; j++) {
            double s = p->beta != 0.0f ? fabs((double)p->C0[(size_t)i * p->ldc + j]) : 0.0;
            for (int k = 0; k < p->K; k++) s += fabs((double)opa(p, i, k) * (double)opb(p, k, j));
            sc[(size_t)i * p->N + j] = s;
        }
    return sc;
}

/* Checks got against the reference within tolerance, and that padding columns of C kept their
 * values. Returns the worst |got - ref| / scale, or a negative value on failure. */
static double compare(test_run *r, const problem *p, const float *got, const float *ref,
                      const double *sc, const char *who) {
    double worst = 0;
    for (int i = 0; i < p->M; i++) {
        for (int j = 0; j < p->ldc && (size_t)i * p->ldc + j < p->nc; j++) {
            size_t at = (size_t)i * p->ldc + j;
            if (j >= p->N) {
                if (!CHECK(r, memcmp(&got[at], &p->C0[at], sizeof *got) == 0,
                           "%s wrote padding C[%d,%d]", who, i, j))
                    return -1;
                continue;
            }
            double scale = sc[(size_t)i * p->N + j];
            if (!CHECK(r, cmp_near((double)got[at], (double)ref[at], 1e-5 * scale, 0.0),
                       "%s ta=%d tb=%d M=%d N=%d K=%d beta=%g: C[%d,%d] = %.9g, reference %.9g",
                       who, p->ta, p->tb, p->M, p->N, p->K, (double)p->beta, i, j,
                       (double)got[at], (double)ref[at]))
                return -1;
            if (scale > 0) worst = cmp_max(worst, fabs((double)got[at] - (double)ref[at]) / scale);
        }
    }
    return worst;
}

/* Every variant against the reference on one problem; returns the worst relative error. */
static double check_problem(test_run *r, int ta, int tb, int M, int N, int K, int pad,
                            float beta) {
    problem p;
    variant v[4];
    int nv = variants(v);
    double worst = 0;
    if (!CHECK(r, problem_init(&p, ta, tb, M, N, K, pad, beta), "out of memory")) {
        problem_free(&p);
        return -1;
    }
    float *ref = run(&p, nnc_gemm_ref);
    double *sc = scales(&p);
    if (!CHECK(r, ref && sc, "out of memory")) worst = -1;
    for (int i = 0; i < nv && worst >= 0; i++) {
        float *got = run(&p, v[i].fn);
        double w = got ? compare(r, &p, got, ref, sc, v[i].name) : -1;
        free(got);
        if (w < 0) {
            worst = -1;
            break;
        }
        if (w > worst) worst = w;
    }
    free(ref);
    free(sc);
    problem_free(&p);
    return worst;
}

static const int odd_sizes[] = {1, 2, 3, 5, 6, 7, 8, 9, 11, 13, 15, 16, 17, 23, 31, 33, 47, 61, 67};
#define N_ODD ((int)(sizeof odd_sizes / sizeof odd_sizes[0]))

static void test_odd_sizes(test_run *r) {
    for (int mode = 0; mode < 4; mode++)
        for (int b = 0; b < 2; b++) {
            int ta = mode >> 1, tb = mode & 1;
            if (!t_begin(r, "gemm: ta=%d tb=%d beta=%d, M and N in 1..67, K 1..67", ta, tb, b))
                continue;
            double worst = 0;
            for (int mi = 0; mi < N_ODD && worst >= 0; mi++)
                for (int ni = 0; ni < N_ODD && worst >= 0; ni++) {
                    int K = odd_sizes[(mi * 7 + ni * 3) % N_ODD];
                    double w = check_problem(r, ta, tb, odd_sizes[mi], odd_sizes[ni], K, 0,
                                             (float)b);
                    worst = w < 0 ? w : fmax(worst, w);
                }
            t_info(r, "worst |x - ref| / scale = %.3g", worst);
            t_end(r);
        }
}

/* Leading dimensions wider than the rows, and K across several k blocks. */
static void test_strides_and_k_blocks(test_run *r) {
    static const int ks[] = {0, 1, 255, 256, 257, 511, 600, 1031};
    static const int pads[] = {1, 3, 8, 13, 16};
    for (int mode = 0; mode < 4; mode++) {
        int ta = mode >> 1, tb = mode & 1;
        if (!t_begin(r, "gemm: ta=%d tb=%d, padded lda/ldb/ldc, K 0..1031", ta, tb)) continue;
        double worst = 0;
        for (int i = 0; i < (int)(sizeof ks / sizeof ks[0]) && worst >= 0; i++)
            for (int b = 0; b < 2 && worst >= 0; b++) {
                int pad = pads[(i + b) % (int)(sizeof pads / sizeof pads[0])];
                int M = 13 + 6 * i, N = 9 + 5 * i + b;
                double w = check_problem(r, ta, tb, M, N, ks[i], pad, (float)b);
                if (w >= 0) w = fmax(w, check_problem(r, ta, tb, 5, 37, ks[i], 0, (float)b));
                worst = w < 0 ? w : fmax(worst, w);
            }
        t_info(r, "worst |x - ref| / scale = %.3g", worst);
        t_end(r);
    }
}

/* The shapes of the benchmark models (see bench/kernels/gemm_bench.c). With --slow the CNN
 * shapes run at batch 128, otherwise at batch 4 (fewer rows, same K and N). */
static void test_model_shapes(test_run *r) {
    int b = t_slow(r) ? 128 : 4;
    const struct { const char *name; int ta, tb, M, N, K, beta; } s[] = {
        {"B1 L1 fwd", 0, 0, 32, 25, 784, 0},     {"B1 L1 dW", 1, 0, 784, 25, 32, 1},
        {"B1 L1 dX", 0, 1, 32, 784, 25, 1},      {"B1 L2 fwd", 0, 0, 32, 15, 25, 0},
        {"B1 L2 dW", 1, 0, 25, 15, 32, 1},       {"B1 L2 dX", 0, 1, 32, 25, 15, 1},
        {"B2 L1 fwd", 0, 0, 128, 512, 784, 0},   {"B2 L1 dW", 1, 0, 784, 512, 128, 1},
        {"B2 L2 fwd", 0, 0, 128, 256, 512, 0},   {"B2 L2 dW", 1, 0, 512, 256, 128, 1},
        {"B2 L2 dX", 0, 1, 128, 512, 256, 1},    {"B2 L3 fwd", 0, 0, 128, 10, 256, 0},
        {"B2 L3 dW", 1, 0, 256, 10, 128, 1},     {"B2 L3 dX", 0, 1, 128, 256, 10, 1},
        {"B3 c1 fwd", 0, 0, b * 676, 32, 9, 0},  {"B3 c1 dW", 1, 0, 9, 32, b * 676, 1},
        {"B3 c2 fwd", 0, 0, b * 121, 64, 288, 0}, {"B3 c2 dW", 1, 0, 288, 64, b * 121, 1},
        {"B3 c2 dcol", 0, 1, b * 121, 288, 64, 0}, {"B3 d1 fwd", 0, 0, 128, 128, 1600, 0},
        {"B3 d1 dW", 1, 0, 1600, 128, 128, 1},   {"B3 d1 dX", 0, 1, 128, 1600, 128, 1},
        {"P1 batch 1", 0, 0, 1, 512, 784, 0},    {"P1 batch 1 L2", 0, 0, 1, 256, 512, 0},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        if (!t_begin(r, "gemm: %s %dx%d K=%d (ta=%d tb=%d beta=%d)", s[i].name, s[i].M, s[i].N,
                     s[i].K, s[i].ta, s[i].tb, s[i].beta))
            continue;
        double w = check_problem(r, s[i].ta, s[i].tb, s[i].M, s[i].N, s[i].K, 0,
                                 (float)s[i].beta);
        if (w >= 0) t_info(r, "worst |x - ref| / scale = %.3g", w);
        t_end(r);
    }
}

/* C computed whole, then in two calls over rows [0, m1) and [m1, M), then over columns [0, n1)
 * and [n1, N): all three must be bit-identical, for every variant. */
static int split_case(test_run *r, gemm_fn f, const char *who, int ta, int tb, int M, int N,
                      int K, int m1, int n1, float beta) {
    problem p;
    int ok = 0;
    float *whole = NULL, *rows = NULL, *cols = NULL;
    if (!CHECK(r, problem_init(&p, ta, tb, M, N, K, 2, beta), "out of memory")) goto done;
    whole = run(&p, f);
    rows = malloc(p.nc * sizeof *rows);
    cols = malloc(p.nc * sizeof *cols);
    if (!CHECK(r, whole && rows && cols, "out of memory")) goto done;
    memcpy(rows, p.C0, p.nc * sizeof *rows);
    memcpy(cols, p.C0, p.nc * sizeof *cols);
    /* rows: op(A) rows m1.. start at A + m1 (ta) or A + m1*lda */
    f(ta, tb, m1, N, K, p.A, p.lda, p.B, p.ldb, beta, rows, p.ldc);
    f(ta, tb, M - m1, N, K, ta ? p.A + m1 : p.A + (size_t)m1 * p.lda, p.lda, p.B, p.ldb, beta,
      rows + (size_t)m1 * p.ldc, p.ldc);
    /* columns: op(B) columns n1.. start at B + n1*ldb (tb) or B + n1 */
    f(ta, tb, M, n1, K, p.A, p.lda, p.B, p.ldb, beta, cols, p.ldc);
    f(ta, tb, M, N - n1, K, p.A, p.lda, tb ? p.B + (size_t)n1 * p.ldb : p.B + n1, p.ldb, beta,
      cols + n1, p.ldc);
    ok = CHECK(r, memcmp(whole, rows, p.nc * sizeof *rows) == 0,
               "%s ta=%d tb=%d %dx%d K=%d: rows split at %d differ from the whole", who, ta, tb,
               M, N, K, m1) &
         CHECK(r, memcmp(whole, cols, p.nc * sizeof *cols) == 0,
               "%s ta=%d tb=%d %dx%d K=%d: columns split at %d differ from the whole", who, ta,
               tb, M, N, K, n1);
done:
    free(whole);
    free(rows);
    free(cols);
    problem_free(&p);
    return ok;
}

static void test_split_determinism(test_run *r) {
    variant v[4];
    int nv = variants(v);
    const struct { int M, N, K, m1, n1; } s[] = {
        {37, 41, 300, 18, 20}, {64, 64, 64, 1, 1},   {61, 67, 600, 7, 9},
        {128, 100, 513, 64, 50}, {13, 290, 1031, 6, 16}, {200, 19, 17, 100, 8},
    };
    for (int mode = 0; mode < 4; mode++) {
        int ta = mode >> 1, tb = mode & 1;
        if (!t_begin(r, "gemm: ta=%d tb=%d, split over M and over N is bit-identical", ta, tb))
            continue;
        for (int i = 0; i < nv; i++)
            for (size_t j = 0; j < sizeof s / sizeof s[0]; j++)
                for (int b = 0; b < 2; b++)
                    split_case(r, v[i].fn, v[i].name, ta, tb, s[j].M, s[j].N, s[j].K, s[j].m1,
                               s[j].n1, (float)b);
        t_end(r);
    }
}

/* The SIMD variants share one order of operations, so they agree bit for bit. */
static void test_variants_agree(test_run *r) {
    if (!t_begin(r, "gemm: SIMD variants are bit-identical to each other")) return;
    if (!nnc_gemm_cpu_has(NNC_GEMM_AVX2) || !nnc_gemm_cpu_has(NNC_GEMM_AVX512)) {
        t_skip(r, "this CPU runs fewer than two SIMD variants");
        return;
    }
    for (int mode = 0; mode < 4; mode++)
        for (int b = 0; b < 2; b++) {
            problem p;
            if (!CHECK(r, problem_init(&p, mode >> 1, mode & 1, 71, 83, 700, 1, (float)b),
                       "out of memory")) {
                problem_free(&p);
                continue;
            }
            float *x = run(&p, nnc_gemm_avx2), *y = run(&p, nnc_gemm_avx512);
            CHECK(r, x && y && memcmp(x, y, p.nc * sizeof *x) == 0,
                  "ta=%d tb=%d beta=%d: avx2 and avx512 differ", mode >> 1, mode & 1, b);
            free(x);
            free(y);
            problem_free(&p);
        }
    t_end(r);
}

/* beta 0 overwrites C: NaN and Inf already there must not leak into the result. */
static void test_beta0_overwrites(test_run *r) {
    if (!t_begin(r, "gemm: beta 0 ignores NaN and Inf in C; K = 0 and empty shapes")) return;
    variant v[4];
    int nv = variants(v);
    for (int i = 0; i < nv; i++)
        for (int mode = 0; mode < 4; mode++) {
            problem p;
            if (!CHECK(r, problem_init(&p, mode >> 1, mode & 1, 19, 27, 40, 0, 0.0f),
                       "out of memory")) {
                problem_free(&p);
                continue;
            }
            for (size_t k = 0; k < p.nc; k++) p.C0[k] = k % 2 ? NAN : INFINITY;
            float *got = run(&p, v[i].fn);
            int finite = got != NULL;
            for (size_t k = 0; got && k < p.nc; k++) finite &= isfinite(got[k]) != 0;
            CHECK(r, finite, "%s ta=%d tb=%d: NaN or Inf from C survived beta 0", v[i].name,
                  mode >> 1, mode & 1);
            free(got);
            problem_free(&p);
        }
    /* K = 0: beta 0 zeroes C, beta 1 leaves it; M = 0 or N = 0 touch nothing */
    for (int i = 0; i < nv; i++) {
        float C[6] = {1, 2, 3, 4, 5, 6}, A[1] = {7}, B[1] = {8};
        v[i].fn(0, 0, 2, 3, 0, A, 1, B, 3, 1.0f, C, 3);
        CHECK(r, C[0] == 1 && C[5] == 6, "%s: K = 0 with beta 1 changed C", v[i].name);
        v[i].fn(0, 0, 0, 3, 1, A, 1, B, 3, 0.0f, C, 3);
        v[i].fn(0, 0, 2, 0, 1, A, 1, B, 3, 0.0f, C, 3);
        CHECK(r, C[0] == 1 && C[5] == 6, "%s: an empty shape changed C", v[i].name);
        v[i].fn(0, 0, 2, 3, 0, A, 1, B, 3, 0.0f, C, 3);
        CHECK(r, C[0] == 0 && C[5] == 0, "%s: K = 0 with beta 0 did not zero C", v[i].name);
    }
    t_end(r);
}

/* The max-pooling window kernel (AVX2 where the CPU has it) against the plain definition:
 * the first maximum wins ties, the first NaN wins over numbers (as PyTorch propagates NaN);
 * channel counts with and without a remainder past the 8-wide vectors. */
static void test_max_window(test_run *r) {
    if (!t_begin(r, "kernels/max_window_matches_definition")) return;
    enum { CELLS = 9, CMAX = 37 };
    float x[CELLS * CMAX];
    uint32_t src[CELLS];
    unsigned s = 7;
    for (int i = 0; i < CELLS * CMAX; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 16) % 5) - 2.0f; /* few values: many ties */
        if ((s >> 8) % 13 == 0) x[i] = NAN;
    }
    for (int c = 0; c < CMAX; c++) /* channel 3: all NaN */
        if (c == 3)
            for (int w = 0; w < CELLS; w++) x[w * CMAX + c] = NAN;
    int bad = 0;
    for (int n = 1; n <= CELLS; n += 3)
        for (int C = 1; C <= CMAX; C += 6) {
            for (int w = 0; w < n; w++) src[w] = (uint32_t)((n - 1 - w) * CMAX); /* cells out of order */
            float best[CMAX];
            uint32_t arg[CMAX];
            nnc_max_window(x, src, n, C, 1000u, best, arg);
            for (int c = 0; c < C; c++) {
                float bv = -FLT_MAX;
                uint32_t ba = 0;
                for (int w = 0; w < n; w++) {
                    const float v = x[src[w] + (uint32_t)c];
                    if (v > bv || (isnan(v) && !isnan(bv))) bv = v, ba = 1000u + src[w] + (uint32_t)c;
                }
                if (memcmp(&bv, &best[c], sizeof bv) || ba != arg[c]) bad++;
            }
        }
    CHECK(r, bad == 0, "%d channels differ from the definition", bad);
    t_end(r);
}

/* The bias (+ relu) epilogue that the SIMD tiles apply before their last store (kernels.h)
 * gives the bits of the product followed by the separate pass, NaN included, with k blocks
 * (K 300) and without, over the transpose modes and every tile height and strip width. */
static void plain_epi(const void *ctx, float *c, ptrdiff_t ldc, int rows, int col0, int cols) {
    const nnc_gemm_epilogue *e = ctx;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            float v = c[i * ldc + j] + e->bias[col0 + j];
            c[i * ldc + j] = !e->relu || v > 0.0f || v != v ? v : 0.0f;
        }
}

static void test_fused_epilogue(test_run *r) {
    if (!t_begin(r, "gemm: the bias and relu epilogue in the tiles equals a pass after the product")) return;
    typedef void (*gemm_ex_fn)(int, int, int, int, int, const float *, int, const float *, int, float,
                               float *, int, const nnc_gemm_epilogue *);
    gemm_ex_fn fns[2] = {nnc_gemm_avx2_ex, nnc_gemm_avx512_ex};
    const int has[2] = {nnc_gemm_cpu_has(NNC_GEMM_AVX2), nnc_gemm_cpu_has(NNC_GEMM_AVX512)};
    const int Ms[] = {1, 5, 13, 16, 32, 40}, Ns[] = {1, 10, 15, 17, 25, 32, 33, 70}, Ks[] = {7, 64, 130, 300};
    float *A = malloc(40 * 300 * sizeof *A), *B = malloc(300 * 70 * sizeof *B), *bias = malloc(80 * sizeof *bias);
    float *c0 = malloc(40 * 70 * sizeof *c0), *c1 = malloc(40 * 70 * sizeof *c1), *c2 = malloc(40 * 70 * sizeof *c2);
    if (!CHECK(r, A && B && bias && c0 && c1 && c2, "out of memory")) goto done;
    uint32_t s = 12345;
    for (int i = 0; i < 40 * 300; i++) A[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int i = 0; i < 300 * 70; i++) B[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int i = 0; i < 80; i++) bias[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    A[3] = NAN; /* row 0 of C (ta = 0) or a column (ta = 1) becomes NaN and must stay NaN */
    for (int v = 0; v < 2; v++) {
        if (!has[v]) continue;
        for (int mode = 0; mode < 4; mode++)
            for (int relu = 0; relu < 2; relu++)
                for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++)
                    for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++)
                        for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++) {
                            const int ta = mode >> 1, tb = mode & 1, M = Ms[mi], N = Ns[ni], K = Ks[ki];
                            const int lda = ta ? M : K, ldb = tb ? K : N;
                            nnc_gemm_epilogue fused = {plain_epi, NULL, 3, bias, relu}, pass = fused;
                            fused.ctx = &fused;
                            pass.ctx = &pass;
                            pass.bias = bias; /* plain_epi reads it; the kernel must not: */
                            nnc_gemm_epilogue sep = {plain_epi, &pass, 3, NULL, 0};
                            fns[v](ta, tb, M, N, K, A, lda, B, ldb, 0.0f, c0, N, &fused);
                            fns[v](ta, tb, M, N, K, A, lda, B, ldb, 0.0f, c1, N, &sep);
                            if (!CHECK(r, memcmp(c0, c1, (size_t)M * N * sizeof *c0) == 0,
                                       "%s ta=%d tb=%d relu=%d M=%d N=%d K=%d differ", v ? "avx512" : "avx2",
                                       ta, tb, relu, M, N, K))
                                goto done;
                            /* and the variants agree (AVX-512 has tiles of its own for some shapes:
                             * batch-wide ones at M 16 and 32) */
                            if (v == 1 && has[0]) {
                                fns[0](ta, tb, M, N, K, A, lda, B, ldb, 0.0f, c2, N, &fused);
                                if (!CHECK(r, memcmp(c0, c2, (size_t)M * N * sizeof *c0) == 0,
                                           "avx2 and avx512 ta=%d tb=%d relu=%d M=%d N=%d K=%d differ", ta, tb,
                                           relu, M, N, K))
                                    goto done;
                                memcpy(c1, B, (size_t)M * N * sizeof *c1); /* beta 1 from the same C */
                                memcpy(c2, B, (size_t)M * N * sizeof *c2);
                                fns[1](ta, tb, M, N, K, A, lda, B, ldb, 1.0f, c1, N, NULL);
                                fns[0](ta, tb, M, N, K, A, lda, B, ldb, 1.0f, c2, N, NULL);
                                if (!CHECK(r, memcmp(c1, c2, (size_t)M * N * sizeof *c1) == 0,
                                           "avx2 and avx512 beta=1 ta=%d tb=%d M=%d N=%d K=%d differ", ta, tb, M,
                                           N, K))
                                    goto done;
                            }
                        }
    }
done:
    free(A);
    free(B);
    free(bias);
    free(c0);
    free(c1);
    free(c2);
    t_end(r);
}

void suite_gemm(test_run *r);
void suite_gemm(test_run *r) {
    if (t_begin(r, "gemm: dispatch picks %s", nnc_gemm_variant_name(nnc_gemm_variant()))) {
        CHECK(r, nnc_gemm_cpu_has(nnc_gemm_variant()), "the picked variant is not supported");
        /* choose.c: timed where the CPU has both widths, else the widest it runs */
        const char *how = nnc_kernels_chosen();
        CHECK(r, strstr(how, nnc_gemm_variant_name(nnc_gemm_variant())) != NULL, "'%s' does not name %s", how,
              nnc_gemm_variant_name(nnc_gemm_variant()));
        if (nnc_gemm_cpu_has(NNC_GEMM_AVX512) && nnc_gemm_cpu_has(NNC_GEMM_AVX2) && !getenv("NNC_GEMM"))
            CHECK(r, strstr(how, "timed") != NULL, "both widths run here, yet '%s' was not timed", how);
        else if (!nnc_gemm_cpu_has(NNC_GEMM_AVX512) && !getenv("NNC_GEMM"))
            CHECK(r, nnc_gemm_variant() == (nnc_gemm_cpu_has(NNC_GEMM_AVX2) ? NNC_GEMM_AVX2 : NNC_GEMM_REF),
                  "not the widest variant");
        t_info(r, "%s", how);
        t_end(r);
    }
    test_odd_sizes(r);
    test_strides_and_k_blocks(r);
    test_model_shapes(r);
    test_split_determinism(r);
    test_variants_agree(r);
    test_beta0_overwrites(r);
    test_fused_epilogue(r);
    test_max_window(r);
}
