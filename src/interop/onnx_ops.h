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

/* sequences: attention (onnx_ops_attn.c) */
int onnx_ex_mha(onnx_ctx *c, int id);
int onnx_ex_position(onnx_ctx *c, int id);
/* onnx_ops_recurrent.c: a recurrent layer (SimpleRNN, GRU, LSTM, or Bidirectional around one)
 * as ONNX's RNN, GRU or LSTM node with its weights rearranged, reading node x ([batch, T,
 * input]) and giving node id's value ([batch, T, ·] with return_sequences, else [batch, ·]).
 * An op's exporter fills the description from its node and calls it. */
typedef struct {
    int gates;                   /* 1 SimpleRNN, 3 GRU, 4 LSTM: the kernels' column blocks */
    int units;
    nnc_activation act, rec_act; /* activation, recurrent_activation (SimpleRNN: act only) */
    int go_backwards, return_sequences;
    int reset_after;             /* GRU: bias [2, 3·units] (input, recurrent), else [3·units] */
    int directions;              /* 1, or 2 for Bidirectional (the forward layer's first) */
    const char *merge;           /* Bidirectional: "concat", "sum", "mul" or "ave" */
    int kernel[2], recurrent[2], bias[2]; /* PARAM nodes per direction, Keras's layouts; bias
                                           * -1: use_bias false */
    int reverse_output;          /* the sequence turned back after the run (Bidirectional's
                                  * backward copy as a layer of its own) */
    int init[2];                 /* one direction: the initial h and c nodes ([batch, units]), -1 */
    int states[2];               /* one direction: the RNN_STATE nodes given Y_h and Y_c, -1 */
} onnx_rnn_desc;
int onnx_rnn_export(onnx_ctx *c, int id, int x, const onnx_rnn_desc *d);
/* The RECURRENT op's exporter (one direction; a mask has no ONNX form here); it also gives its
 * RNN_STATE readers their values (ONNX's Y_h, Y_c), so theirs only fails when called. */
int onnx_ex_recurrent(onnx_ctx *c, int id);
int onnx_ex_rnn_state(onnx_ctx *c, int id);
/* onnx_ops_seq.c: sequences, embedding and masks */
int onnx_ex_embedding(onnx_ctx *c, int id);
int onnx_ex_seq_mask(onnx_ctx *c, int id);
int onnx_ex_masked_global(onnx_ctx *c, int id, int is_max); /* GLOBAL_AVG/MAX with a mask input */

#endif
#endif
