/* Direct (implicit-GEMM) convolution, fp32, channels last, for unpadded windows whose columns
 * are not dilated: the product im2col + GEMM computes, without building col. A tile of up to
 * 12 output pixels of one output row (their windows are a fixed stride apart in x) times 32
 * output channels stays in registers over the whole window; op(A) is read from x where it lies
 * (one run of kw·C contiguous floats per kernel row), the kernel from a panel packed once per
 * call (nnc_dconv_pack).
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

/* 1 when this CPU runs the direct kernel. */
int nnc_dconv_available(void);
/* Floats of the packed kernel (kh·kw·c rows of f rounded up to 32), plus 16 for alignment. */
size_t nnc_dconv_packed_floats(const nnc_dconv *s);
/* Packs kernel [kh·kw·c, f] (row-major) into work (at least nnc_dconv_packed_floats); returns
 * the packed panel (work rounded up to 64 bytes). */
float *nnc_dconv_pack(const nnc_dconv *s, const float *kernel, float *work);
/* Output rows oh0 .. oh0 + rows - 1 of one example x, columns 0 .. cols - 1 (cols <= ow):
 * pixel (oh, o) at y + (oh − oh0)·ldrow + o·f. No epilogue: the caller's. */
void nnc_dconv_rows(const nnc_dconv *s, const float *x, const float *bp, int oh0, int rows, int cols,
                    float *y, ptrdiff_t ldrow);

/* The same, in plain C with fmaf (the tests' oracle: the same bits). */
void nnc_dconv_rows_ref(const nnc_dconv *s, const float *x, const float *kernel, int oh0, int rows, int cols,
                        float *y, ptrdiff_t ldrow);

#endif
