/* The op interface: every op of the graph is one row with its name, shape inference, forward
 * and backward, so that the derivative always sits next to the formula it differentiates.
 * The graph and its executor (src/core/) see ops only through this interface; the rows are
 * defined in src/ops/ (the table in src/ops/table.c), which builds on src/core/, never the
 * other way round. Layers compose ops; losses are not ops (see src/losses/). */
#ifndef NNC_OP_H
#define NNC_OP_H

#include <stddef.h>
#include "nnc.h"

typedef enum {
    NNC_OP_INPUT,    /* a model input: value points into the gathered batch */
    NNC_OP_PARAM,    /* a trainable variable: value/grad point into the parameter arenas */
    NNC_OP_MATMUL,   /* x[..., in] · W[in, out] */
    NNC_OP_BIAS_ADD, /* x[..., c] + b[c] */
    NNC_OP_ADD,      /* a + b with broadcasting (also n-ary Add layer as a chain) */
    NNC_OP_SUB,      /* a - b with broadcasting */
    NNC_OP_MUL,      /* a * b with broadcasting */
    NNC_OP_SUM,      /* sum over one axis of an example */
    NNC_OP_MEAN,     /* mean over one axis of an example */
    NNC_OP_CONCAT,   /* concatenation of n inputs along one axis */
    NNC_OP_ACT,      /* elementwise activation */
    NNC_OP_SOFTMAX,  /* softmax over the last axis */
    NNC_OP_AFFINE,   /* x·scale + offset with constant scale and offset (Rescaling) */
    NNC_OP_NORMALIZE,/* (x − mean) / max(sqrt(variance), ε) over the last axis (Normalization) */
    NNC_OP_CONV,     /* convolution, channels last: [H,W,C]·[kh,kw,C,F] (1-D: [L,C]·[k,C,F]) */
    NNC_OP_MAX_POOL, /* max over windows of [H,W,C] */
    NNC_OP_AVG_POOL, /* mean over windows of [H,W,C], padded cells excluded */
    NNC_OP_GLOBAL_AVG,/* mean over every axis but the last */
    NNC_OP_GLOBAL_MAX,/* max over every axis but the last */
    NNC_OP_RESHAPE,  /* the same values in another shape (Flatten, Reshape) */
    NNC_OP_ZERO_PAD, /* zeros around [H,W,C] */
    NNC_OP_DROPOUT,  /* inverted dropout in training, identity in inference */
    NNC_OP_BATCH_NORM,/* batch statistics in training, moving statistics in inference */
    /* the convolution family's shape ops (layers-b) */
    NNC_OP_CONV_TRANSPOSE,/* the adjoint of CONV: [H,W,C]·[kh,kw,F,C] -> [target H, target W, F] */
    NNC_OP_UPSAMPLE, /* each cell repeated (or bilinear) win.kh x win.kw times: [H,W,C] or [L,C] */
    NNC_OP_CROP,     /* [H,W,C] or [L,C] less win.pt/pb rows and win.pl/pr columns */
    /* the activation, noise, merge and normalization layers (layers-a2) */
    NNC_OP_ACT_EX,   /* relu with slope, threshold and ceiling, or elu with alpha (ReLU, ELU) */
    NNC_OP_PRELU,    /* x above 0, alpha·x below; alpha[example shape, shared axes 1] trained */
    NNC_OP_SOFTMAX_AXIS,/* softmax over one example axis that is not the last */
    NNC_OP_SPATIAL_DROPOUT,/* dropout of whole channels (one draw per example and channel) */
    NNC_OP_GAUSSIAN_NOISE,/* x + N(0, stddev²) in training, identity in inference */
    NNC_OP_GAUSSIAN_DROPOUT,/* x·N(1, rate/(1 − rate)) in training, identity in inference */
    NNC_OP_MAXIMUM,  /* max(a, b) with broadcasting */
    NNC_OP_MINIMUM,  /* min(a, b) with broadcasting */
    NNC_OP_BATCH_DOT,/* per example, Σ over one axis of each input (Keras's batch_dot) */
    NNC_OP_L2_NORMALIZE,/* x / sqrt(max(Σx², 1e-14)) over one example axis */
    NNC_OP_LAYER_NORM,/* per example, (x − μ)/sqrt(σ² + ε)·γ + β over consecutive axes */
    NNC_OP_PERMUTE,  /* the example's axes reordered */
    NNC_OP_REPEAT,   /* [F] -> [n, F] (RepeatVector) */
    /* sequences: attention */
    NNC_OP_MHA,      /* Keras's MultiHeadAttention: projections, per-head softmax(QKᵀ/√d)·V, output */
    NNC_OP_POSITION, /* [T, d] -> each example gets table[0..T) (learned) or the sine encoding */
    /* sequences: recurrent */
    NNC_OP_RECURRENT,/* SimpleRNN, GRU or LSTM over a whole sequence [T, in] (attr.rnn) */
    NNC_OP_RNN_STATE,/* the final h or c [units] of the RECURRENT node it reads (return_state) */
    /* sequences: embedding and masks */
    NNC_OP_EMBEDDING,/* ids[...] (float whole numbers) and table[V, D] -> rows [..., D] */
    NNC_OP_SEQ_MASK, /* [T] ids != scale, or [T, F] any feature != scale: 1.0 or 0.0 per step */
    NNC_OP_COUNT
} nnc_op;

/* One example's shape (batch axis excluded), or a parameter's full shape. */
typedef struct {
    int rank;
    int dim[NNC_MAX_RANK];
} nnc_shape;

typedef struct {
    /* the activation, noise, merge and normalization layers (layers-a2); they also use axis
     * (SOFTMAX_AXIS, L2_NORMALIZE, LAYER_NORM: an example axis), alpha (ACT_EX), rate
     * (SPATIAL_DROPOUT, GAUSSIAN_DROPOUT), eps, center and scale_on (LAYER_NORM) */
    float threshold, max_value; /* ACT_EX relu: below threshold the slope alpha; max_value
                                 * INFINITY for Keras's None */
    float stddev;       /* GAUSSIAN_NOISE */
    int axes[2];        /* BATCH_DOT: the summed example axis of each input */
    int axis_count;     /* LAYER_NORM: the axes axis .. axis + axis_count − 1 */
    int perm[NNC_MAX_RANK]; /* PERMUTE: output axis i is input axis perm[i] */
    int repeats;        /* REPEAT */
    nnc_activation act; /* NNC_OP_ACT */
    float alpha;        /* ACT leaky_relu: the negative slope */
    int axis;           /* SUM, MEAN, CONCAT: axis of the example shape (batch excluded) */
    float scale, offset;/* AFFINE */
    struct {
        int kh, kw;     /* window (kernel or pool) */
        int sh, sw;     /* strides */
        int dh, dw;     /* dilation */
        int pt, pl;     /* padding before (top, left); the rest is after */
        int pb, pr;     /* padding after (ZERO_PAD); cells cut (CROP) */
        int groups;     /* CONV: channel groups (0 or 1: one) */
        int depthwise;  /* CONV: the kernel is [kh, kw, C, multiplier] and groups == C */
    } win;              /* CONV, CONV_TRANSPOSE, MAX_POOL, AVG_POOL, ZERO_PAD, CROP, UPSAMPLE */
    int keepdims;       /* GLOBAL_AVG, GLOBAL_MAX: the pooled axes stay, of size 1 */
    int bilinear;       /* UPSAMPLE: bilinear (half-pixel centers) rather than nearest */
    float rate;         /* DROPOUT */
    float momentum, eps;/* BATCH_NORM */
    int center, scale_on;/* BATCH_NORM: beta and gamma present */
    int synced;         /* BATCH_NORM: statistics summed over the ranks (model->reduce_sums) */
    nnc_shape target;   /* RESHAPE: the example's new shape; CONV_TRANSPOSE: (height, width) out */
    /* sequences: attention; MHA also uses rate (the attention probabilities' dropout) */
    int heads, key_dim, value_dim; /* MHA: the heads, each one's query/key and value widths */
    int causal;         /* MHA: step t attends to steps s <= t only */
    int mha_in;         /* MHA: NNC_MHA_* bits, which optional inputs the node has */
    float max_wavelength; /* POSITION without a table: the sine encoding's longest wavelength */
    struct {
        int gates;          /* 1 SimpleRNN, 3 GRU (z, r, h), 4 LSTM (i, f, c, o) */
        int units;
        int go_backwards, return_sequences;
        int reverse_output; /* the sequence output in input order (Bidirectional's backward layer) */
        int reset_after;    /* GRU: bias [2, 3·units] (input, recurrent), the reset after U */
        int has_bias, has_mask; /* inputs: x, kernel, recurrent_kernel, [bias], [h0, c0], [mask] */
        int n_init;         /* initial states given (Keras's initial_state): 0, or 1 (h0), 2 with
                             * LSTM's c0, each [units] */
        int state;          /* RNN_STATE: 0 the final h, 1 the final c */
        nnc_activation act, rec_act;
        float dropout, rec_dropout; /* one mask per sequence, as Keras's cells draw them */
    } rnn;              /* RECURRENT */
} nnc_op_attr;

/* MHA's inputs: query, value, key, then per projection (query, key, value, output) its kernel
 * and (NNC_MHA_BIAS) its bias, then the masks present, in this order. */
enum { NNC_MHA_BIAS = 1, NNC_MHA_QMASK = 2, NNC_MHA_VMASK = 4, NNC_MHA_KMASK = 8 };

struct nnc_model;

/* What an op sees when it runs: the model (for its nodes) and the rows in this batch. */
typedef struct {
    struct nnc_model *m;
    int batch;
    int training;   /* 0 inference; 1 training (dropout and batch normalization as in fit);
                     * 2 training with the dropout masks of the previous pass (gradient checks) */
} nnc_exec;

typedef struct {
    const char *name;
    /* Shape inference: the output shape of this op on nodes in[0..n_in), or -1 with a message
     * in err (the caller adds the layer's name). */
    int (*infer)(const struct nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                 nnc_shape *out, int *batched, char *err, size_t n);
    /* Forward: computes node `id`'s value from its inputs' values. */
    void (*forward)(const nnc_exec *e, int id);
    /* Backward: adds (+=) to each input's grad that input's share of node `id`'s grad. */
    void (*backward)(const nnc_exec *e, int id);
    /* Optional: floats of the node's own buffer kept from forward to backward (a dropout mask,
     * batch statistics), and of the workspace shared by all ops (im2col), for a batch. */
    size_t (*aux_size)(const struct nnc_model *m, int id, int batch);
    size_t (*work_size)(const struct nnc_model *m, int id, int batch);
} nnc_op_def;

extern const nnc_op_def *const nnc_op_table[NNC_OP_COUNT];

/* Full extent of a node's value in floats for a batch (batch ignored for unbatched nodes). */
size_t nnc_node_numel(const struct nnc_model *m, int id, int batch);

/* 1 when an activation can run in a MATMUL or CONV epilogue: its derivative can be read from
 * its output alone, so it may overwrite its input (src/ops/epilogue.c; the fusion pass in
 * src/core/fuse.c asks). */
int nnc_act_fusable(nnc_activation a, float alpha);

#endif
