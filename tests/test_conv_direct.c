/* The direct convolution (src/backend/cpu/conv_direct.h) against its plain C oracle and against
 * im2col + nnc_gemm, bit for bit, over odd shapes: channels 1..5, filters that fill no strip
 * of 32, windows 1x1..3x3 with strides and row dilation, a subset of rows and columns written
 * with a padded row stride. Skipped where the CPU lacks AVX-512F (the ops then use im2col). */
#include "backend/cpu/conv_direct.h"
#include "backend/cpu/kernels.h"
#include "core/rng.h"
#include "test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* col[(oh·OW + o), (i·kw + j)·C + c] for the whole example */
static void im2col_example(const nnc_dconv *s, const float *x, float *col) {
    const int K = s->kh * s->kw * s->c;
    for (int oh = 0; oh < s->oh; oh++)
        for (int o = 0; o < s->ow; o++)
            for (int i = 0; i < s->kh; i++)
                for (int j = 0; j < s->kw; j++)
                    for (int c = 0; c < s->c; c++)
                        col[((size_t)oh * s->ow + o) * K + ((size_t)i * s->kw + j) * s->c + c] =
                            x[(((size_t)oh * s->sh + (size_t)i * s->dh) * s->w + (size_t)o * s->sw + j) * s->c + c];
}

static int one_shape(test_run *r, int h, int w, int c, int f, int kh, int kw, int sh, int sw, int dh) {
    nnc_dconv s = {h, w, c, (h - (kh - 1) * dh - 1) / sh + 1, (w - kw) / sw + 1, f, kh, kw, sh, sw, dh};
    const int K = kh * kw * c, px = s.oh * s.ow;
    float *x = malloc(sizeof(float) * (size_t)h * w * c), *k = malloc(sizeof(float) * (size_t)K * f);
    float *col = malloc(sizeof(float) * (size_t)px * K);
    const size_t ny = (size_t)px * f + 64;
    float *y = malloc(sizeof(float) * ny), *ref = malloc(sizeof(float) * ny), *gem = malloc(sizeof(float) * ny);
    nnc_rng g;
    nnc_rng_seed(&g, (uint64_t)(h * 131 + c * 17 + f * 7 + kh * 3 + kw + sh * 5 + dh * 11));
    for (int i = 0; i < h * w * c; i++) x[i] = (float)(2.0 * nnc_rng_uniform(&g) - 1.0);
    for (int i = 0; i < K * f; i++) k[i] = (float)(2.0 * nnc_rng_uniform(&g) - 1.0);
    nnc_dconv_rows(&s, x, k, 0, s.oh, s.ow, y, (ptrdiff_t)s.ow * f);
    nnc_dconv_rows_ref(&s, x, k, 0, s.oh, s.ow, ref, (ptrdiff_t)s.ow * f);
    im2col_example(&s, x, col);
    nnc_gemm(0, 0, px, f, K, col, K, k, f, 0.0f, gem, f);
    int ok = !memcmp(y, ref, sizeof(float) * (size_t)px * f) && !memcmp(y, gem, sizeof(float) * (size_t)px * f);
    /* rows 1.. and the first cols − 1 columns, rows ldrow = OW·f + 5 apart: nothing else written */
    if (s.oh > 1 && s.ow > 1) {
        const ptrdiff_t ld = (ptrdiff_t)s.ow * f + 5;
        for (size_t i = 0; i < ny; i++) y[i] = -7.0f;
        nnc_dconv_rows(&s, x, k, 1, s.oh - 1, s.ow - 1, y, ld);
        for (int oh = 1; oh < s.oh; oh++)
            for (int o = 0; o < s.ow; o++)
                for (int n = 0; n < f; n++) {
                    const float v = y[(oh - 1) * ld + (ptrdiff_t)o * f + n];
                    const float want = o < s.ow - 1 ? ref[((size_t)oh * s.ow + o) * f + n] : -7.0f;
                    if ((size_t)((oh - 1) * ld + (ptrdiff_t)o * f + n) < ny && memcmp(&v, &want, sizeof v)) ok = 0;
                }
    }
    CHECK(r, ok, "%dx%dx%d, %d filters, %dx%d window, strides %d,%d, dilation %d: differs", h, w, c, f, kh, kw, sh, sw,
          dh);
    free(x), free(k), free(col), free(y), free(ref), free(gem);
    return ok;
}

/* conv's epilogue (bias, then ReLU keeping NaN) and max pooling's comparisons, as the separate
 * passes make them, against the one-pass kernel, over values with NaN, -0 and negatives */
static void bias_relu_pool(test_run *r) {
    if (!t_begin(r, "conv_direct: bias + ReLU + max pooling in one pass, the separate passes' bits")) return;
    if (!nnc_dconv_cpu_has()) {
        t_skip(r, "no AVX-512F");
        return;
    }
    nnc_rng g;
    nnc_rng_seed(&g, 5);
    int bad = 0;
    static const int fs[] = {1, 7, 16, 33, 64};
    for (size_t fi = 0; fi < sizeof fs / sizeof *fs; fi++)
        for (int k = 1; k <= 3; k++) {
            const int f = fs[fi], pw = 5, cols = pw * k, n = k * cols * f;
            float buf[3 * 15 * 64], work[3 * 15 * 64], bias[64], y[5 * 64], want[5 * 64];
            for (int i = 0; i < n; i++) {
                const double u = nnc_rng_uniform(&g);
                buf[i] = u < 0.05 ? NAN : u < 0.1 ? -0.0f : (float)(2.0 * nnc_rng_uniform(&g) - 1.0);
            }
            for (int c = 0; c < f; c++) bias[c] = c % 5 == 0 ? 0.0f : (float)(nnc_rng_uniform(&g) - 0.5);
            for (int i = 0; i < n; i++) {
                const float v = buf[i] + bias[i % f];
                work[i] = v > 0.0f || v != v ? v : 0.0f;
            }
            for (int o = 0; o < pw; o++)
                for (int c = 0; c < f; c++) {
                    float bv = -FLT_MAX;
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++) {
                            const float v = work[(i * cols + o * k + j) * f + c];
                            bv = v > bv || (v != v && bv == bv) ? v : bv;
                        }
                    want[o * f + c] = bv;
                }
            nnc_dconv_bias_relu_pool(buf, bias, f, cols, pw, k, k, y);
            bad += memcmp(y, want, sizeof(float) * (size_t)pw * f) != 0;
        }
    CHECK(r, bad == 0, "%d shapes differ", bad);
    t_end(r);
}

void suite_conv_direct(test_run *r);
void suite_conv_direct(test_run *r) {
    if (!t_begin(r, "conv_direct: bit-identical to im2col + nnc_gemm and to the fmaf oracle, odd shapes")) return;
    if (!nnc_dconv_cpu_has()) {
        t_skip(r, "no AVX-512F: the convolutions use im2col + GEMM");
        return;
    }
    static const int filters[] = {1, 10, 16, 17, 32, 37, 64, 70};
    int n = 0;
    for (int c = 1; c <= 5; c += 2)
        for (size_t fi = 0; fi < sizeof filters / sizeof *filters; fi++)
            for (int kk = 1; kk <= 3; kk++) {
                const int f = filters[fi];
                n += one_shape(r, 13, 29, c, f, kk, kk, 1, 1, 1);
                n += one_shape(r, 11, 17, c, f, kk, 3, 2, 1, 1);
                n += one_shape(r, 12, 15, c, f, 3, kk, 1, 2, 2);
            }
    n += one_shape(r, 28, 28, 1, 32, 3, 3, 1, 1, 1); /* B3's two convolutions */
    n += one_shape(r, 13, 13, 32, 64, 3, 3, 1, 1, 1);
    t_info(r, "%d shapes", n);
    t_end(r);
    bias_relu_pool(r);
}
