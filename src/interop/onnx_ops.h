/* The exporters that live outside onnx_ops.c, whose table lists every op's: the convolution
 * family (onnx_ops_conv.c) and Keras's activation, merge, normalization and reordering layers'
 * ops (onnx_ops_layers.c). Each adds the ONNX nodes computing nnc node id (onnx_export_fn). */
#ifndef NNC_ONNX_OPS_H
#define NNC_ONNX_OPS_H
#ifdef NNC_HAVE_ONNX
#include "onnx_graph.h"

/* onnx_ops_conv.c */
int onnx_ex_conv(onnx_ctx *c, int id);
int onnx_ex_conv_transpose(onnx_ctx *c, int id);
int onnx_ex_max_pool(onnx_ctx *c, int id);
int onnx_ex_avg_pool(onnx_ctx *c, int id);
int onnx_ex_global_avg(onnx_ctx *c, int id);
int onnx_ex_global_max(onnx_ctx *c, int id);
int onnx_ex_zero_pad(onnx_ctx *c, int id);
int onnx_ex_crop(onnx_ctx *c, int id);
int onnx_ex_upsample(onnx_ctx *c, int id);

/* onnx_ops_layers.c */
int onnx_ex_act_ex(onnx_ctx *c, int id);
int onnx_ex_prelu(onnx_ctx *c, int id);
int onnx_ex_softmax_axis(onnx_ctx *c, int id);
int onnx_ex_batch_dot(onnx_ctx *c, int id);
int onnx_ex_l2_normalize(onnx_ctx *c, int id);
int onnx_ex_layer_norm(onnx_ctx *c, int id);
int onnx_ex_permute(onnx_ctx *c, int id);
int onnx_ex_repeat(onnx_ctx *c, int id);

/* onnx_ops_seq.c: sequences, embedding and masks */
int onnx_ex_embedding(onnx_ctx *c, int id);
int onnx_ex_seq_mask(onnx_ctx *c, int id);
int onnx_ex_masked_global(onnx_ctx *c, int id, int is_max); /* GLOBAL_AVG/MAX with a mask input */

#endif
#endif
