/* Ops of Keras's Embedding and Masking layers (keras/src/layers/core/embedding.py,
 * keras/src/layers/core/masking.py):
 * - EMBEDDING: out[b, t, :] = table[ids[b, t], :]; the ids are float32 whole numbers, checked
 *   in [0, input_dim) where data enters fit/evaluate/predict (nnc_check_token_ids), so a step
 *   never reads out of bounds; an id that still is not (a caller of nnc_forward who skipped
 *   the check) reads row 0 rather than past the table. Backward scatter-adds each step's
 *   gradient into its row, in example and step order, on one thread: the same bits whatever
 *   the thread count.
 * - SEQ_MASK: Keras's mask of a sequence, 1.0 where a step is used, 0.0 where it is padding:
 *   for ids [T], id != value (Embedding's mask_zero, value 0); for features [T, F], any
 *   feature != value (Masking). No gradient flows into a mask. */
#include <math.h>
#include "op_util.h"

static int embedding_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                           nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in, (void)a;
    const nnc_node_rec *x = CNODE(m, in[0]), *t = CNODE(m, in[1]);
    if (!x->batched || x->shape.rank < 1 || x->shape.rank >= NNC_MAX_RANK || t->shape.rank != 2) {
        snprintf(err, n, "Embedding takes token ids of rank 1 or more (one id per step), got rank %d",
                 x->shape.rank);
        return -1;
    }
    *out = x->shape;
    out->dim[out->rank++] = t->shape.dim[1];
    *batched = 1;
    return 0;
}

static size_t embedding_row(float id, size_t rows) {
    return id >= 0.0f && id < (float)rows ? (size_t)id : 0;
}

static void embedding_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *t = NODE(e, y->in[1]);
    size_t steps = nnc_node_numel(e->m, y->in[0], e->batch), d = (size_t)t->shape.dim[1];
    size_t rows = (size_t)t->shape.dim[0];
    for (size_t s = 0; s < steps; s++) {
        const float *src = t->value + embedding_row(x->value[s], rows) * d;
        float *dst = y->value + s * d;
        for (size_t k = 0; k < d; k++) dst[k] = src[k];
    }
}

static void embedding_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *t = NODE(e, y->in[1]);
    if (!t->grad) return;
    size_t steps = nnc_node_numel(e->m, y->in[0], e->batch), d = (size_t)t->shape.dim[1];
    size_t rows = (size_t)t->shape.dim[0];
    for (size_t s = 0; s < steps; s++) {
        float *dst = t->grad + embedding_row(x->value[s], rows) * d;
        const float *gy = y->grad + s * d;
        for (size_t k = 0; k < d; k++) dst[k] += gy[k];
    }
}

const nnc_op_def nnc_op_embedding = {"embedding", embedding_infer, embedding_forward, embedding_backward,
                                     NULL, NULL};

static int seq_mask_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                          nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in, (void)a;
    const nnc_node_rec *x = CNODE(m, in[0]);
    if (!x->batched || x->shape.rank < 1 || x->shape.rank > 2) {
        snprintf(err, n, "a sequence mask needs examples [steps] or [steps, features], got rank %d",
                 x->shape.rank);
        return -1;
    }
    out->rank = 1;
    out->dim[0] = x->shape.dim[0];
    *batched = 1;
    return 0;
}

static void seq_mask_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t steps = nnc_node_numel(e->m, id, e->batch);
    size_t f = x->shape.rank == 2 ? (size_t)x->shape.dim[1] : 1;
    float v = y->attr.scale;
    for (size_t s = 0; s < steps; s++) {
        int any = 0;
        for (size_t k = 0; k < f; k++) any |= x->value[s * f + k] != v;
        y->value[s] = any ? 1.0f : 0.0f;
    }
}

static void seq_mask_backward(const nnc_exec *e, int id) { (void)e, (void)id; }

const nnc_op_def nnc_op_seq_mask = {"seq_mask", seq_mask_infer, seq_mask_forward, seq_mask_backward,
                                    NULL, NULL};
