/* Direct (implicit-GEMM) convolution, fp32, channels last, for unpadded windows whose columns
 * are not dilated: the product im2col + GEMM computes, without building col. A tile of up to
 * 12 output pixels of one output row (their windows are a fixed stride apart in x) times 32
 * output channels stays in registers over the whole window; op(A) is read from x where it lies
 * (one run of kw·C contiguous floats per kernel row), the kernel's rows where they lie too (no
 * packing: nothing to keep in step with the weights).
 *
 * Each output is the same chain of fused multiply-adds as nnc_gemm's (gemm_simd.h) over the
 * same k order, (i·kw + j)·C + c, started from 0: the result is bit-identical to im2col + the
 * SIMD GEMM, whatever the tiles or the split of rows between threads. AVX-512F only (the
 * caller falls back to im2col + GEMM elsewhere). */
#ifndef NNC_CONV_DIRECT_H
#define NNC_CONV_DIRECT_H
#include <stddef.h>
#include "kernels.h"

/* One example's geometry: input h x w x c, output oh x ow x f, window kh x kw with strides
 * sh, sw and row dilation dh; no padding, no column dilation. */
typedef struct {
    int h, w, c, oh, ow, f, kh, kw, sh, sw, dh;
} nnc_dconv;

/* 1 when this CPU runs the direct kernel (AVX-512F). */
int nnc_dconv_cpu_has(void);
/* 1 when the convolutions use it: the CPU runs it and the AVX-512 products were timed the
 * faster (choose.c). */
int nnc_dconv_available(void);
/* Output rows oh0 .. oh0 + rows - 1 of one example x, columns 0 .. cols - 1 (cols <= ow), for
 * kernel [kh·kw·c, f] (row-major, Keras's layout):
 * pixel (oh, o) at y + (oh − oh0)·ldrow + o·f. No epilogue: the caller's. */
void nnc_dconv_rows(const nnc_dconv *s, const float *x, const float *kernel, int oh0, int rows, int cols,
                    float *y, ptrdiff_t ldrow);

/* Inference's tail of conv + bias + ReLU + max pooling: buf holds kh output rows of cols = pw·kw
 * pixels of f channels (cols·f floats a row); y[o·f + c] = the maximum over window o's cells
 * (i, j), in that order, of relu(buf[...] + bias[c]), with the epilogue's ReLU (a NaN stays)
 * and max pooling's comparisons (the first NaN wins): the separate passes' values. */
void nnc_dconv_bias_relu_pool(const float *buf, const float *bias, int f, int cols, int pw, int kh, int kw,
                              float *y);

/* The same, in plain C with fmaf (the tests' oracle: the same bits). */
void nnc_dconv_rows_ref(const nnc_dconv *s, const float *x, const float *kernel, int oh0, int rows, int cols,
                        float *y, ptrdiff_t ldrow);

#endif
