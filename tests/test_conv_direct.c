/* The direct convolution (src/backend/cpu/conv_direct.h) against its plain C oracle and against
 * im2col + nnc_gemm, bit for bit, over odd shapes: channels 1..5, filters that fill no strip
 * of 32, windows 1x1..3x3 with strides and row dilation, a subset of rows and columns written
 * with a padded row stride. Skipped where the CPU lacks AVX-512F (the ops then use im2col). */
#include "backend/cpu/conv_direct.h"
#include "backend/cpu/kernels.h"
#include "core/rng.h"
#include "test.h"

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
    float *work = malloc(sizeof(float) * nnc_dconv_packed_floats(&s)), *col = malloc(sizeof(float) * (size_t)px * K);
    const size_t ny = (size_t)px * f + 64;
    float *y = malloc(sizeof(float) * ny), *ref = malloc(sizeof(float) * ny), *gem = malloc(sizeof(float) * ny);
    nnc_rng g;
    nnc_rng_seed(&g, (uint64_t)(h * 131 + c * 17 + f * 7 + kh * 3 + kw + sh * 5 + dh * 11));
    for (int i = 0; i < h * w * c; i++) x[i] = (float)(2.0 * nnc_rng_uniform(&g) - 1.0);
    for (int i = 0; i < K * f; i++) k[i] = (float)(2.0 * nnc_rng_uniform(&g) - 1.0);
    const float *bp = nnc_dconv_pack(&s, k, work);
    nnc_dconv_rows(&s, x, bp, 0, s.oh, s.ow, y, (ptrdiff_t)s.ow * f);
    nnc_dconv_rows_ref(&s, x, k, 0, s.oh, s.ow, ref, (ptrdiff_t)s.ow * f);
    im2col_example(&s, x, col);
    nnc_gemm(0, 0, px, f, K, col, K, k, f, 0.0f, gem, f);
    int ok = !memcmp(y, ref, sizeof(float) * (size_t)px * f) && !memcmp(y, gem, sizeof(float) * (size_t)px * f);
    /* rows 1.. and the first cols − 1 columns, rows ldrow = OW·f + 5 apart: nothing else written */
    if (s.oh > 1 && s.ow > 1) {
        const ptrdiff_t ld = (ptrdiff_t)s.ow * f + 5;
        for (size_t i = 0; i < ny; i++) y[i] = -7.0f;
        nnc_dconv_rows(&s, x, bp, 1, s.oh - 1, s.ow - 1, y, ld);
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
    free(x), free(k), free(work), free(col), free(y), free(ref), free(gem);
    return ok;
}

void suite_conv_direct(test_run *r);
void suite_conv_direct(test_run *r) {
    if (!t_begin(r, "conv_direct: bit-identical to im2col + nnc_gemm and to the fmaf oracle, odd shapes")) return;
    if (!nnc_dconv_available()) {
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
}
