/* Internal structures of a model: the graph of nodes, the layers that created them, the
 * parameters, and the plan (tape order, buffers) made by compile. Shared by every part of
 * src/; never exposed to users (include/nnc.h only forward-declares nnc_model). */
#ifndef NNC_MODEL_IMPL_H
#define NNC_MODEL_IMPL_H

#include <stddef.h>
#include "nnc.h"
#include "rng.h"
#include "op.h"
#include "../format/strmap.h"

#define NNC_MAX_INPUTS 16  /* inputs of one node (Add, Concatenate; MultiHeadAttention has 14) */
#define NNC_NAME_MAX 64
#define NNC_ERR_MAX 512

size_t nnc_shape_size(const nnc_shape *s);
int nnc_shape_eq(const nnc_shape *a, const nnc_shape *b);
/* "(None, 26, 26, 32)" for a batched shape, "(3, 4)" for a parameter. */
void nnc_shape_str(const nnc_shape *s, int batched, char *buf, size_t n);

/* A node of the graph: a value produced by one op. Activations are batched (a leading batch
 * axis of the planned size); parameters are not. */
typedef struct {
    nnc_op op;
    int in[NNC_MAX_INPUTS];
    int n_in;
    nnc_shape shape;
    int batched;
    int layer;        /* the layer that created it, -1 for none */
    nnc_op_attr attr; /* per-op settings (activation, axis) */
    int param;        /* NNC_OP_PARAM: index into model->params */
    int input_index;  /* NNC_OP_INPUT: index among the model's inputs */
    /* planned by compile / plan: */
    int live;         /* reachable from an output */
    int needs_grad;   /* some parameter lies upstream */
    int skip_backward;/* its gradient is produced by a fused loss instead */
    int pinned;       /* its value is read from outside the tape (an output, the loss's
                       * logits, a regularized output): never fused away (set by compile) */
    float *value;     /* [batch, shape] or [shape] */
    float *grad;
    float *aux;       /* the op's own planned buffer (nnc_op_def.aux_size) */
    /* Fusion, decided by compile (src/core/fuse.c): a MATMUL or CONV node may take the
     * BIAS_ADD and the activation that follow it into its own pass (its epilogue), so that the
     * largest tensors are written once; its value is then the activation's output. The nodes
     * taken leave the tape and share its value and grad buffers. */
    int epi_bias;     /* the bias PARAM node added in the epilogue, or -1 */
    int epi_has_act;  /* an activation applied in the epilogue: epi_act, epi_alpha */
    nnc_activation epi_act;
    float epi_alpha;
    int fused_into;   /* BIAS_ADD / ACT: the node that computes it, or -1 */
    int pool_conv;    /* MAX_POOL: the convolution (with ReLU) it computes too, or -1; that
                       * convolution and its fused nodes are fused_into this node and have no
                       * buffers of their own (src/ops/conv_pool.h) */
    int infer_conv;   /* MAX_POOL: the convolution with ReLU read by it alone that it computes
                       * in inference (src/ops/conv_pool.c), or -1 */
    int infer_pool;   /* CONV: that pooling, or -1 (then the convolution skips its own pass) */
    /* The node whose backward writes this node's gradient first and alone, so it stores (=)
     * rather than adds (+=) and the gradient needs no zeroing before the step; -1: zeroed, and
     * every reader adds. Decided by compile (src/core/fuse.c). */
    int grad_overwrite;
    /* Keras's mask of a sequence: the node holding, per example and time step, 1 (a step to
     * use) or 0 (padding to skip), batched with shape [T]; -1 when the value has none. Made by
     * Embedding(mask_zero) and Masking; carried by the layers that act per step and read by
     * those that consume it (recurrent layers, 1-D global poolings, attention). */
    int mask;
    int qlayer;       /* MATMUL, CONV: its int8 record in model->qlayers (src/core/quant.h), -1 */
} nnc_node_rec;

struct nnc_layer_desc; /* src/layers/layers.h: what the layer is and how it is built */

#define NNC_LAYER_CFG_BYTES 256
#define NNC_LAYER_MORE_OUTPUTS 4 /* Bidirectional(LSTM, return_state): 2 states each way */

/* A layer: a named group of nodes and parameters, as Keras shows and saves it. */
typedef struct {
    const struct nnc_layer_desc *desc;
    char name[NNC_NAME_MAX];
    int inputs[NNC_MAX_INPUTS]; /* input nodes */
    int n_inputs;
    int output;                 /* output node (Keras's output tensor 0) */
    int more[NNC_LAYER_MORE_OUTPUTS]; /* its further output tensors 1, 2, ... (return_state: */
    int n_more;                 /* the final states), nodes */
    int first_param, n_params;  /* range in model->params */
    int mask;                   /* the sequence mask its output gets (NNC_LAYERF_MASK_PASS), -1 */
    int frozen;                 /* Keras's trainable=False (nnc_layer_set_trainable): its weights
                                 * take no gradient and no optimizer slots, and BatchNormalization
                                 * runs in inference mode */
    union {
        max_align_t align;
        unsigned char bytes[NNC_LAYER_CFG_BYTES]; /* its options struct (desc->opts_size) */
    } cfg;
} nnc_layer_rec;

typedef struct {
    char name[2 * NNC_NAME_MAX]; /* "layer_1.kernel" */
    char var[NNC_NAME_MAX];      /* "kernel", "bias" */
    nnc_shape shape;
    size_t offset, size;         /* in floats, within the parameter arena */
    int node;
    int layer;
    nnc_initializer init;
    int fan_in, fan_out;
    int trainable;               /* trained now: a weight (not state) of a layer not frozen */
    int state;                   /* 1: state such as Normalization's mean or BatchNormalization's
                                  * moving statistics (never trained; Keras's trainable=False
                                  * variable, saved after the layer's weights) */
    int ones_first, ones_count;  /* values set to 1 after the initializer (LSTM's
                                  * unit_forget_bias: the forget gate's bias) */
} nnc_param_rec;

struct nnc_pool;
struct nnc_train_state;

/* The model: its graph (nodes, layers, parameters) and how the graph runs (tape, buffers,
 * threads). What training adds (the compile settings, the optimizer's slots, iterations, the
 * spec's fit settings and callbacks) is a separate struct owned by src/train/ (train_state.h);
 * the model only holds it and its destructor, so this layer never needs to know it. */
struct nnc_model {
    char name[NNC_NAME_MAX];
    char error[NNC_ERR_MAX];
    nnc_status sticky;         /* first builder error, returned again by compile */
    nnc_rng rng;
    struct nnc_pool *pool;     /* NULL: one thread (nnc_model_set_threads) */
#ifdef NNC_FAULT_INJECTION
    /* Test hooks, compiled into fault-injection builds only (the nnc_testing library). */
    float fault_grad_scale;    /* backward scales gradients by 1 + this (0: off) */
    int no_fusion;             /* no fused ops, every gradient zeroed and added */
    size_t max_param_floats;   /* compile refuses more parameters (0: no limit; the fuzz
                                * targets set one: a valid but huge model is not a finding) */
#endif

    nnc_node_rec *nodes;
    int n_nodes, cap_nodes;
    nnc_layer_rec *layers;
    int n_layers, cap_layers;
    nnc_param_rec *params;
    int n_params, cap_params;
    int inputs[NNC_MAX_INPUTS];
    int n_inputs;
    int outputs[NNC_MAX_INPUTS];
    int n_outputs;
    int last;                  /* output of the latest layer, for NNC_PREV */
    unsigned var_length_inputs; /* bit i: input i's first axis is Keras's None (any length; its
                                * current length in its shape, nnc_model_set_sequence_length) */
    nnc_strmap layer_names;    /* name -> layer index */
    nnc_strmap stem_counts;    /* default-name stem -> the next number to try */
    nnc_strmap param_names;    /* "layer.var" -> parameter index */

    /* compile */
    int compiled;
    int weights_loaded;        /* weights were read from a file (a trained model, for quantizing) */
    int *tape;                 /* live nodes in execution order */
    int n_tape;
    float *param_arena;        /* every parameter, contiguous */
    float *grad_arena;         /* their gradients, same layout */
    size_t n_param_floats;
    size_t n_trainable_floats; /* trainable parameters come first in the arenas, then the state */
    size_t n_state_floats;     /* variables (moving statistics), then frozen layers' weights */

    /* plan for a batch size */
    int planned_batch;
    float *act_arena;          /* values, then gradients, of batched nodes */
    size_t act_floats;         /* floats of values (as many again of gradients) */
    size_t *zero_ranges;       /* (offset, count) pairs in act_arena: the gradients zeroed */
    int n_zero_ranges;         /* before a step (those of no first writer: grad_overwrite) */
    float *work;               /* workspace shared by ops (im2col), planned per batch */
    size_t work_floats;        /* its size */

    nnc_column *columns;       /* the training data's columns (nnc_model_set_columns), each */
    size_t n_columns;          /* string owned */
    void *text_vec;            /* the TextVectorization before the Input (src/data/text_vec.c), */
    void (*text_vec_free)(void *); /* owned; NULL: none */

    char **notes;              /* what a load changed or left out (nnc_model_note), each owned */
    int n_notes, n_notes_dropped;
    char notes_more[48];       /* "... and N more notes" once some were dropped */

    struct nnc_qlayer *qlayers; /* the int8 nodes (nnc_quantize_int8), each owning its arrays */
    int n_qlayers;

    struct nnc_train_state *train;                   /* NULL until training code needs it */
    void (*train_free)(struct nnc_train_state *ts);  /* frees it with the model */
    /* Data-parallel training (src/dist/, src/train/dist.c): the ranks it trains with (not
     * owned; NULL: alone), and a hook the backward pass calls after each tape position, so
     * the reduction of a layer's gradients starts as soon as they are final. */
    struct nnc_comm *comm;
    void (*grad_ready)(void *ctx, int tape_pos);
    void *grad_ready_ctx;
    /* Sums n doubles over the ranks in place (synchronized BatchNormalization); set by the
     * data-parallel step around its passes, NULL otherwise. */
    void (*reduce_sums)(struct nnc_model *m, double *buf, size_t n);
};

/* Records an error (printf-style) on the model and returns status. Keeps the first error of a
 * builder sequence sticky. */
nnc_status nnc_fail(nnc_model *m, nnc_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a note (printf-style): what a reader of another framework's file left out, changed or
 * found odd, for nnc_model_note. At most NNC_MAX_NOTES are kept; the last then counts the rest. */
#define NNC_MAX_NOTES 32
void nnc_note(nnc_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Graph construction used by layers: appends a node, returns its index or -1. */
int nnc_graph_node(nnc_model *m, nnc_op op, const int *in, int n_in, const nnc_shape *shape,
                   int batched);
/* Resolves NNC_PREV and validates a node index; -1 with an error recorded when invalid. */
int nnc_graph_resolve(nnc_model *m, nnc_node x, const char *who);

/* Frees the recorded columns and their strings. */
void nnc_columns_clear(nnc_model *m);

/* ---- the executor (src/core/executor.c) ---------------------------------------------------- */

/* 1 when node id's first example axis is a None time axis (src/core/seq_length.c): shown and
 * written as None, its size the length the model runs at now. */
int nnc_node_any_length(const nnc_model *m, int id);
/* Allocates activations for batch size n (no-op when already planned at least that large). */
nnc_status nnc_plan(nnc_model *m, int batch);
/* A replica of compiled model m for inference on one thread beside others: its own nodes and
 * batch plan (for up to `batch` rows), no pool; the parameters, int8 records, layers and the
 * rest are m's, read only, so m must not change, recompile or be freed while it lives. Runs
 * with nnc_gather_inputs and nnc_forward(r, n, 0) like m itself, giving the same bits. NULL
 * when out of memory. */
nnc_model *nnc_replica_new(const nnc_model *m, int batch);
void nnc_replica_free(nnc_model *r);
/* Runs the tape forward for a batch of n rows already gathered into the input nodes. */
void nnc_forward(nnc_model *m, int n, int training);
/* Runs the tape backward (after the loss has seeded its gradient and nnc_zero_grads). */
void nnc_backward(nnc_model *m, int n);
/* Zeroes parameter gradients and the activation gradients that are accumulated. */
void nnc_zero_grads(nnc_model *m);
/* Zeroes only the accumulated activation gradients (gradient accumulation's later steps). */
void nnc_zero_act_grads(nnc_model *m);
/* Copies rows (idx[first..first+n) or, with idx NULL, first..first+n) of x into the input
 * nodes. */
void nnc_gather_inputs(nnc_model *m, const float *x, const size_t *idx, size_t first, int n);

/* ---- the tape (src/core/tape.c) ------------------------------------------------------------- */

/* Marks the nodes the outputs depend on (live) and those with a trainable parameter upstream
 * (needs_grad); the caller then sets pinned and skip_backward. */
void nnc_tape_mark(nnc_model *m);
/* Builds the tape: live ops in creation order, less those fused into another op's pass; plans
 * the fusions and the first gradient writers (src/core/fuse.c). Frees any batch plan. */
nnc_status nnc_tape_build(nnc_model *m);
/* Frees the buffers of the batch plan (the next pass plans again). */
void nnc_plan_free(nnc_model *m);

/* Decides which BIAS_ADD / activation nodes run inside the MATMUL or CONV before them (after
 * liveness, needs_grad and pinned are known; src/core/fuse.c). */
nnc_status nnc_fuse_epilogues(nnc_model *m);
/* Marks the gradients whose one reader may store rather than add (after the tape is built). */
nnc_status nnc_plan_grad_writers(nnc_model *m);
/* n zeroed floats aligned to 64 bytes (free() frees them): the parameter arenas (src/core/executor.c). */
float *nnc_zalloc_floats(size_t n);
#ifdef NNC_FAULT_INJECTION
/* Tests: turns fusion off (0) or on (1) on a compiled model; the next step plans again. */
nnc_status nnc_set_fusion(nnc_model *m, int on);
#endif

/* ---- the graph (src/core/graph.c) ---------------------------------------------------------- */

/* True when every layer follows the previous one (Keras prints it as "Sequential"). */
int nnc_model_is_sequential(const nnc_model *m);
/* Layer l's output tensor k as Keras counts them (0 its output, 1, 2, ... its further ones:
 * return_state's states); -1 when it has none. */
int nnc_layer_tensor(const nnc_model *m, int l, int k);
/* Which of its layer's output tensors node is (Keras's tensor index), -1 when none. */
int nnc_node_tensor_index(const nnc_model *m, int node);
/* The model's name, or Keras's default for its kind. */
const char *nnc_model_display_name(const nnc_model *m);
/* The node the model outputs (the declared output, else the last layer's), -1 when none. */
int nnc_output_node(const nnc_model *m);

#endif
