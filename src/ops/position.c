/* POSITION: keras-hub's position layers, whose output is to be added to their input (x [T, d]):
 *   learned (a second input, the table [sequence_length, d]): y[b, t] = table[t] for t < T;
 *   sine (no table): y[b, t, 2i] = sin(t/w^(2i/d)), y[b, t, 2i+1] = cos(t/w^(2i/d)), w the
 *   max_wavelength (Vaswani et al. 2017, §3.5; keras-hub's SinePositionEncoding).
 * x contributes its shape only, so it gets no gradient; the table gets Σ over the batch, in
 * example order. */
#include <math.h>
#include <string.h>
#include "op_util.h"

static int pos_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a, nnc_shape *out,
                     int *batched, char *err, size_t n) {
    const nnc_node_rec *x = CNODE(m, in[0]);
    if (!x->batched || x->shape.rank != 2) {
        snprintf(err, n, "position embeddings need sequences (steps, features)");
        return -1;
    }
    if (n_in == 2) {
        const nnc_node_rec *t = CNODE(m, in[1]);
        if (t->batched || t->shape.rank != 2 || t->shape.dim[1] != x->shape.dim[1] || t->shape.dim[0] < x->shape.dim[0]) {
            snprintf(err, n, "position embedding: %d steps of %d features do not fit a table of %d positions", x->shape.dim[0],
                     x->shape.dim[1], t->shape.rank == 2 ? t->shape.dim[0] : 0);
            return -1;
        }
    } else if (!(a->max_wavelength > 0.0f)) {
        snprintf(err, n, "sine position encoding: max_wavelength must be positive");
        return -1;
    }
    *out = x->shape;
    *batched = 1;
    return 0;
}

static void pos_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    const size_t T = (size_t)y->shape.dim[0], d = (size_t)y->shape.dim[1], per = T * d;
    if (y->n_in == 2) {
        memcpy(y->value, NODE(e, y->in[1])->value, per * sizeof(float));
    } else {
        const double w = (double)y->attr.max_wavelength;
        for (size_t t = 0; t < T; t++)
            for (size_t i = 0; i < d; i++) {
                const double angle = (double)t * pow(w, -(double)(2 * (i / 2)) / (double)d);
                y->value[t * d + i] = (float)(i % 2 ? cos(angle) : sin(angle));
            }
    }
    for (int b = 1; b < e->batch; b++) memcpy(y->value + (size_t)b * per, y->value, per * sizeof(float));
}

static void pos_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id);
    if (y->n_in < 2 || !NODE(e, y->in[1])->needs_grad) return;
    float *g = NODE(e, y->in[1])->grad;
    const size_t per = (size_t)y->shape.dim[0] * (size_t)y->shape.dim[1];
    for (int b = 0; b < e->batch; b++)
        for (size_t i = 0; i < per; i++) g[i] += y->grad[(size_t)b * per + i];
}

const nnc_op_def nnc_op_position = {"position", pos_infer, pos_forward, pos_backward, NULL, NULL};
