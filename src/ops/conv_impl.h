/* The convolution's pieces that the fused conv + max pooling op (conv_pool.c) shares with the
 * plain convolution (conv.c). */
#ifndef NNC_CONV_IMPL_H
#define NNC_CONV_IMPL_H

#include "op_util.h"
#include "../backend/cpu/kernels.h"
#include "../backend/cpu/conv_direct.h"

/* Geometry of one convolution: example sizes with a unit height for 1-D. With groups > 1 a
 * row of col holds the groups one after the other, each its kh·kw·(c / groups) window. */
typedef struct {
    int h, w, c, oh, ow, f, kh, kw, sh, sw, dh, dw, pt, pl, groups;
} conv_geom;

/* The geometry of convolution node id. */
void nnc_conv_geom(const nnc_model *m, int id, conv_geom *g);
/* im2col (to_col) or col2im for examples base..base+count over the pool; col's first row is
 * example base's; col2im stores (store) or adds into dst. */
void nnc_conv_col_run(const nnc_exec *e, const conv_geom *g, const float *src, float *dst, int to_col,
                      int base, int count, int store);
/* A 1x1 stride-1 unpadded convolution reads x itself as col. */
int nnc_conv_is_pointwise(const conv_geom *g);
/* Examples per group of the batch when each takes `per` floats of the workspace and `extra`
 * floats follow the group's (work_floats 0: no bound). */
int nnc_conv_group_size(size_t per, size_t extra, int batch, int threads, size_t work_floats);

/* 1 when the direct convolution (conv_direct.h) takes this geometry on this CPU; s its shape. */
int nnc_conv_direct_shape(const conv_geom *g, nnc_dconv *s);
/* y (count examples from x) = the direct convolution of kernel, with the epilogue ep (NULL:
 * none), over the pool by output rows. */
void nnc_conv_direct_run(const nnc_exec *e, const nnc_dconv *s, const float *x, const float *kernel, int count,
                         float *y, const nnc_gemm_epilogue *ep);

/* One group per input channel (DepthwiseConv2D): computed directly (conv_depthwise.c). */
int nnc_conv_is_depthwise(const conv_geom *g);
/* y = depthwise conv of x, with the node's fused epilogue (NULL: none) applied per example. */
void nnc_conv_depthwise_forward(const nnc_exec *e, int id, const conv_geom *g, const nnc_gemm_epilogue *ep);
/* dK and dx from y's grad, after the epilogue's backward. */
void nnc_conv_depthwise_backward(const nnc_exec *e, int id, const conv_geom *g);

#endif
