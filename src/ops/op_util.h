/* Helpers the op files share: node access and the [outer, len, inner] view of an axis. */
#ifndef NNC_OP_UTIL_H
#define NNC_OP_UTIL_H

#include <stdio.h>
#include "../core/model_impl.h"

#define NODE(e, i) (&(e)->m->nodes[(i)])
#define CNODE(m, i) (&(m)->nodes[(i)])

/* Rows of a batched node when its last axis is the feature axis: batch · dims[0..rank-1). */
static inline size_t op_rows(const nnc_node_rec *n, int batch) {
    size_t r = n->batched ? (size_t)batch : 1;
    for (int i = 0; i + 1 < n->shape.rank; i++) r *= (size_t)n->shape.dim[i];
    return r;
}

static inline int op_last_dim(const nnc_node_rec *n) {
    return n->shape.rank ? n->shape.dim[n->shape.rank - 1] : 1;
}

/* Splits a batched node around example axis `axis`: outer (with the batch), len, inner. */
static inline void op_axis_view(const nnc_node_rec *n, int axis, int batch, size_t *outer,
                                size_t *len, size_t *inner) {
    size_t o = n->batched ? (size_t)batch : 1, in = 1;
    for (int i = 0; i < axis; i++) o *= (size_t)n->shape.dim[i];
    for (int i = axis + 1; i < n->shape.rank; i++) in *= (size_t)n->shape.dim[i];
    *outer = o;
    *len = (size_t)n->shape.dim[axis];
    *inner = in;
}

/* gx = gy (store: the op writes gx first, see nnc_node_rec.grad_overwrite) or gx += gy. The
 * stored value is gy + 0, the bits that 0 += gy gives (−0 included). */
static inline void op_grad_flow(float *restrict gx, const float *restrict gy, size_t n, int store) {
    if (store)
        for (size_t i = 0; i < n; i++) gx[i] = gy[i] + 0.0f;
    else
        for (size_t i = 0; i < n; i++) gx[i] += gy[i];
}

/* Row chunks for sums that must give the same bits with any number of threads: at most
 * OP_SUM_CHUNKS chunks of at least 64 rows, fixed by the row count alone; chunk t holds rows
 * [t·n, (t+1)·n) for n = op_sum_chunk_rows(rows). Each chunk is summed from 0 in row order,
 * then the chunks in order (the bias gradient, batch normalization's statistics). */
#define OP_SUM_CHUNKS 8

static inline size_t op_sum_chunk_rows(size_t rows) {
    size_t n = (rows + OP_SUM_CHUNKS - 1) / OP_SUM_CHUNKS;
    return n < 64 ? 64 : n;
}

#endif
