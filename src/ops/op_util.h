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

#endif
