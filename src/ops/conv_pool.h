/* A convolution with ReLU followed by a max pooling of non-overlapping windows, computed as one
 * op by the pooling node (its pool_conv names the convolution; src/core/fuse.c decides it): the
 * convolution's output, the largest tensor of a CNN's first layer, then lives only one group of
 * examples at a time in cache (src/ops/conv.c). Same bits as the separate ops. */
#ifndef NNC_CONV_POOL_H
#define NNC_CONV_POOL_H

#include "op_util.h"

/* The pooling op's own pass over examples first..first+count, reading its input from v, whose
 * first value is example first's (src/ops/pooling.c). */
void nnc_max_pool_examples(const nnc_exec *e, int id, const float *v, int first, int count);

/* The fused op, run by the pooling node `pool_id` (src/ops/conv_pool.c). */
void nnc_conv_pool_forward(const nnc_exec *e, int pool_id);
void nnc_conv_pool_backward(const nnc_exec *e, int pool_id);
size_t nnc_conv_pool_work(const nnc_model *m, int pool_id, int batch);
/* Inference of a pooling that computes its convolution (pool_conv, or infer_conv: one read by
 * the pooling alone): 1 when the direct path takes it, and that path. */
int nnc_conv_pool_infer_ok(const nnc_exec *e, int pool_id);
void nnc_conv_pool_infer(const nnc_exec *e, int pool_id);

#endif
