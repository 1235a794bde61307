/* The op table, indexed by nnc_op. Each row is defined in the file of its op. */
#include "op_util.h"

extern const nnc_op_def nnc_op_input, nnc_op_param, nnc_op_matmul, nnc_op_bias_add, nnc_op_add,
    nnc_op_sub, nnc_op_mul, nnc_op_sum, nnc_op_mean, nnc_op_concat, nnc_op_act, nnc_op_softmax,
    nnc_op_affine, nnc_op_normalize, nnc_op_conv, nnc_op_max_pool, nnc_op_avg_pool,
    nnc_op_global_avg, nnc_op_global_max, nnc_op_reshape, nnc_op_zero_pad, nnc_op_dropout,
    nnc_op_batch_norm;
extern const nnc_op_def nnc_op_conv_transpose, nnc_op_upsample, nnc_op_crop;
/* the activation, noise, merge and normalization layers (layers-a2) */
extern const nnc_op_def nnc_op_act_ex, nnc_op_prelu, nnc_op_softmax_axis, nnc_op_spatial_dropout,
    nnc_op_gaussian_noise, nnc_op_gaussian_dropout, nnc_op_maximum, nnc_op_minimum, nnc_op_batch_dot,
    nnc_op_l2_normalize, nnc_op_layer_norm, nnc_op_permute, nnc_op_repeat;
/* sequences: attention */
extern const nnc_op_def nnc_op_mha, nnc_op_position;
/* sequences: recurrent */
extern const nnc_op_def nnc_op_recurrent, nnc_op_rnn_state;
/* sequences: embedding and masks */
extern const nnc_op_def nnc_op_embedding, nnc_op_seq_mask;

const nnc_op_def *const nnc_op_table[NNC_OP_COUNT] = {
    [NNC_OP_INPUT] = &nnc_op_input,     [NNC_OP_PARAM] = &nnc_op_param,
    [NNC_OP_MATMUL] = &nnc_op_matmul,   [NNC_OP_BIAS_ADD] = &nnc_op_bias_add,
    [NNC_OP_ADD] = &nnc_op_add,         [NNC_OP_SUB] = &nnc_op_sub,
    [NNC_OP_MUL] = &nnc_op_mul,         [NNC_OP_SUM] = &nnc_op_sum,
    [NNC_OP_MEAN] = &nnc_op_mean,       [NNC_OP_CONCAT] = &nnc_op_concat,
    [NNC_OP_ACT] = &nnc_op_act,         [NNC_OP_SOFTMAX] = &nnc_op_softmax,
    [NNC_OP_AFFINE] = &nnc_op_affine,   [NNC_OP_NORMALIZE] = &nnc_op_normalize,
    [NNC_OP_CONV] = &nnc_op_conv,       [NNC_OP_MAX_POOL] = &nnc_op_max_pool,
    [NNC_OP_AVG_POOL] = &nnc_op_avg_pool, [NNC_OP_GLOBAL_AVG] = &nnc_op_global_avg,
    [NNC_OP_GLOBAL_MAX] = &nnc_op_global_max, [NNC_OP_RESHAPE] = &nnc_op_reshape,
    [NNC_OP_ZERO_PAD] = &nnc_op_zero_pad, [NNC_OP_DROPOUT] = &nnc_op_dropout,
    [NNC_OP_BATCH_NORM] = &nnc_op_batch_norm,
    /* the convolution family's shape ops (layers-b) */
    [NNC_OP_CONV_TRANSPOSE] = &nnc_op_conv_transpose, [NNC_OP_UPSAMPLE] = &nnc_op_upsample,
    [NNC_OP_CROP] = &nnc_op_crop,
    /* the activation, noise, merge and normalization layers (layers-a2) */
    [NNC_OP_ACT_EX] = &nnc_op_act_ex,   [NNC_OP_PRELU] = &nnc_op_prelu,
    [NNC_OP_SOFTMAX_AXIS] = &nnc_op_softmax_axis, [NNC_OP_SPATIAL_DROPOUT] = &nnc_op_spatial_dropout,
    [NNC_OP_GAUSSIAN_NOISE] = &nnc_op_gaussian_noise, [NNC_OP_GAUSSIAN_DROPOUT] = &nnc_op_gaussian_dropout,
    [NNC_OP_MAXIMUM] = &nnc_op_maximum, [NNC_OP_MINIMUM] = &nnc_op_minimum,
    [NNC_OP_BATCH_DOT] = &nnc_op_batch_dot, [NNC_OP_L2_NORMALIZE] = &nnc_op_l2_normalize,
    [NNC_OP_LAYER_NORM] = &nnc_op_layer_norm, [NNC_OP_PERMUTE] = &nnc_op_permute,
    [NNC_OP_REPEAT] = &nnc_op_repeat,
    /* sequences: attention */
    [NNC_OP_MHA] = &nnc_op_mha, [NNC_OP_POSITION] = &nnc_op_position,
    /* sequences: recurrent */
    [NNC_OP_RECURRENT] = &nnc_op_recurrent,
    [NNC_OP_RNN_STATE] = &nnc_op_rnn_state,
    /* sequences: embedding and masks */
    [NNC_OP_EMBEDDING] = &nnc_op_embedding, [NNC_OP_SEQ_MASK] = &nnc_op_seq_mask,
};
_Static_assert(NNC_OP_COUNT == 45, "a new op needs a row in nnc_op_table");

size_t nnc_node_numel(const nnc_model *m, int id, int batch) {
    const nnc_node_rec *n = CNODE(m, id);
    size_t s = n->batched ? (size_t)batch : 1;
    for (int i = 0; i < n->shape.rank; i++) s *= (size_t)n->shape.dim[i];
    return s;
}
