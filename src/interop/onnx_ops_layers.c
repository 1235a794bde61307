/* The ONNX exporters of the ops of Keras's activation, merge, normalization and reordering
 * layers (layers-a2; the table is in onnx_ops.c): ACT_EX (ReLU with threshold or ceiling,
 * ELU(alpha)), PRELU, SOFTMAX_AXIS, BATCH_DOT and L2_NORMALIZE (Dot), LAYER_NORM, PERMUTE and
 * REPEAT. Semantics are ONNX's operator specification (onnx/docs/Operators.md, opset 17)
 * matched to nnc's ops (src/ops/activation_layers.c, merge.c, layer_norm.c, reorder.c). */
#ifdef NNC_HAVE_ONNX
#include <math.h>
#include "onnx_ops.h"

#define NODE(c, id) (&(c)->m->nodes[id])

/* A float32 scalar constant of node id's layer. */
static const char *scalar(onnx_ctx *c, int id, const char *what, float v) {
    return onnx_const_f32(c, id, what, &v, NULL, 0);
}

/* ---- activations -------------------------------------------------------------------------- */

/* ReLU(max_value, negative_slope s, threshold t): min(x, max_value) for x > t, s·(x − t)
 * otherwise (activation_layers.c); ELU(alpha): Elu. The layer makes this op only when a plain
 * (leaky) relu would not do, so the general case is Where(x > t, Min(x, max), s·(x − t)); a
 * ceiling alone (relu6) is Clip(x, 0, max). The layout is kept. */
int onnx_ex_act_ex(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const float s = n->attr.alpha, t = n->attr.threshold, hi = n->attr.max_value;
    const int ceiling = hi < INFINITY;
    onnx_layout l;
    const char *x = onnx_in_any(c, n->in[0], &l);
    Onnx__NodeProto *y;
    if (n->attr.act == NNC_ACT_ELU) {
        y = onnx_node(c, id, "Elu", &x, 1, NULL);
        onnx_attr_float(c, y, "alpha", s);
        return onnx_finish(c, id, y, l);
    }
    if (n->attr.act != NNC_ACT_RELU) return onnx_fail(c, id, "activation %d has no ONNX form here", (int)n->attr.act);
    if (t == 0.0f && s == 0.0f && (!ceiling || hi >= 0.0f)) {
        if (!ceiling) return onnx_finish(c, id, onnx_node(c, id, "Relu", &x, 1, NULL), l);
        const char *ins[3] = {x, scalar(c, id, "min", 0.0f), scalar(c, id, "max", hi)};
        return onnx_finish(c, id, onnx_node(c, id, "Clip", ins, 3, NULL), l);
    }
    if (t == 0.0f && !ceiling) {
        y = onnx_node(c, id, "LeakyRelu", &x, 1, NULL);
        onnx_attr_float(c, y, "alpha", s);
        return onnx_finish(c, id, y, l);
    }
    const char *th = scalar(c, id, "threshold", t);
    const char *above = x, *below = x;
    if (ceiling) {
        const char *mn[2] = {x, scalar(c, id, "max_value", hi)};
        above = onnx_out(onnx_node(c, id, "Min", mn, 2, "ceiling"));
    }
    if (t != 0.0f) {
        const char *sub[2] = {x, th};
        below = onnx_out(onnx_node(c, id, "Sub", sub, 2, "below_threshold"));
    }
    const char *mul[2] = {below, scalar(c, id, "negative_slope", s)};
    const char *gt[2] = {x, th};
    const char *where[3] = {onnx_out(onnx_node(c, id, "Greater", gt, 2, "above_threshold")), above,
                            onnx_out(onnx_node(c, id, "Mul", mul, 2, "sloped"))};
    return onnx_finish(c, id, onnx_node(c, id, "Where", where, 3, NULL), l);
}

/* PReLU: PRelu(x, alpha), alpha [example shape, 1 on shared axes] broadcasting from the right
 * against [batch, ...] as ONNX's unidirectional broadcasting does. A channels-first input keeps
 * its layout with alpha transposed to match ([C, d0, ...]). */
int onnx_ex_prelu(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id), *al = NODE(c, n->in[1]);
    onnx_layout l;
    const char *x = onnx_in_any(c, n->in[0], &l), *slope;
    if (l == ONNX_FIRST && al->op == NNC_OP_PARAM) {
        int perm[NNC_MAX_RANK], r = al->shape.rank;
        perm[0] = r - 1;
        for (int i = 1; i < r; i++) perm[i] = i - 1;
        slope = onnx_param_transposed(c, n->in[1], perm);
    } else {
        if (l == ONNX_FIRST) {
            l = ONNX_LAST;
            x = onnx_in(c, n->in[0], ONNX_LAST);
        }
        slope = onnx_in(c, n->in[1], ONNX_LAST);
    }
    const char *ins[2] = {x, slope};
    return onnx_finish(c, id, onnx_node(c, id, "PRelu", ins, 2, NULL), l);
}

/* Softmax(axis): opset 13 on, ONNX's Softmax is over that one axis, as nnc's. */
int onnx_ex_softmax_axis(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    onnx_layout l;
    const char *x = onnx_in_any(c, n->in[0], &l);
    Onnx__NodeProto *y = onnx_node(c, id, "Softmax", &x, 1, NULL);
    onnx_attr_int(c, y, "axis", onnx_axis(c, id, n->attr.axis, l));
    return onnx_finish(c, id, y, l);
}

/* ---- Dot ---------------------------------------------------------------------------------- */

/* One operand of BATCH_DOT as a batch of matrices for MatMul: the first as [batch, I, K], the
 * second as [batch, K, J] (K the summed axis; a vector's missing axis is 1). */
static const char *dot_operand(onnx_ctx *c, int id, int k) {
    const nnc_node_rec *n = NODE(c, id);
    const int in = n->in[k], axis = n->attr.axes[k];
    const char *x = onnx_in(c, in, ONNX_LAST);
    if (NODE(c, in)->shape.rank == 1) {
        const int64_t at = k == 0 ? 1 : 2;
        const char *ins[2] = {x, onnx_const_i64(c, id, k == 0 ? "x_axes" : "y_axes", &at, 1)};
        return onnx_out(onnx_node(c, id, "Unsqueeze", ins, 2, k == 0 ? "x_matrix" : "y_matrix"));
    }
    if (axis == (k == 0 ? 1 : 0)) return x; /* already in place */
    static const int64_t swap[3] = {0, 2, 1};
    Onnx__NodeProto *t = onnx_node(c, id, "Transpose", &x, 1, k == 0 ? "x_matrix" : "y_matrix");
    onnx_attr_ints(c, t, "perm", swap, 3);
    return onnx_out(t);
}

/* Keras's batch_dot as nnc computes it (merge.c): out[b, i, j] = Σ_k x[b, i, k]·y[b, j, k],
 * k at each input's axis. One MatMul of [batch, I, K] by [batch, K, J], reshaped to nnc's
 * output ([I, J], [I], [J] or [1]). */
int onnx_ex_batch_dot(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const char *ins[2] = {dot_operand(c, id, 0), dot_operand(c, id, 1)};
    Onnx__NodeProto *p = onnx_node(c, id, "MatMul", ins, 2, NULL);
    if (n->shape.rank == 2) return onnx_finish(c, id, p, ONNX_LAST);
    const int64_t shape[2] = {0, n->shape.dim[0]}; /* 0: the batch axis as it comes */
    const char *r[2] = {onnx_out(p), onnx_const_i64(c, id, "shape", shape, 2)};
    return onnx_finish(c, id, onnx_node(c, id, "Reshape", r, 2, NULL), ONNX_LAST);
}

/* Dot(normalize=True)'s x / sqrt(max(Σx², 1e-14)) along the axis (merge.c): ReduceSumSquare
 * (opset 17: axes an attribute), Max, Sqrt, Div; in either layout. */
int onnx_ex_l2_normalize(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    onnx_layout l;
    const char *x = onnx_in_any(c, n->in[0], &l);
    const int64_t axis = onnx_axis(c, id, n->attr.axis, l);
    Onnx__NodeProto *ss = onnx_node(c, id, "ReduceSumSquare", &x, 1, NULL);
    onnx_attr_ints(c, ss, "axes", &axis, 1);
    onnx_attr_int(c, ss, "keepdims", 1);
    const char *mx[2] = {onnx_out(ss), scalar(c, id, "floor", 1e-14f)}; /* Keras's epsilon 1e-7, squared */
    const char *root = onnx_out(onnx_node(c, id, "Max", mx, 2, NULL));
    const char *div[2] = {x, onnx_out(onnx_node(c, id, "Sqrt", &root, 1, NULL))};
    return onnx_finish(c, id, onnx_node(c, id, "Div", div, 2, NULL), l);
}

/* ---- LayerNormalization ------------------------------------------------------------------- */

/* LayerNormalization (opset 17) normalizes the axes from `axis` to the last, with a Scale of
 * their shape (ones when the layer has no gamma) and an optional B (beta). nnc's axes are
 * consecutive; when axes follow them, a Transpose moves those before the normalized ones and
 * another puts them back. */
int onnx_ex_layer_norm(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const int r = onnx_rank(c, id), first = n->attr.axis + 1, count = n->attr.axis_count;
    const int trailing = first + count == r;
    int64_t perm[NNC_MAX_RANK + 1], back[NNC_MAX_RANK + 1], dims[NNC_MAX_RANK];
    const char *x = onnx_in(c, n->in[0], ONNX_LAST);
    if (!trailing) {
        int k = 0;
        for (int a = 0; a < first; a++) perm[k++] = a;
        for (int a = first + count; a < r; a++) perm[k++] = a;
        for (int a = first; a < first + count; a++) perm[k++] = a;
        for (int a = 0; a < r; a++) back[perm[a]] = a;
        Onnx__NodeProto *t = onnx_node(c, id, "Transpose", &x, 1, "normalized_last");
        onnx_attr_ints(c, t, "perm", perm, r);
        x = onnx_out(t);
    }
    const char *ins[3] = {x, NULL, NULL};
    int k = 1;
    if (n->attr.scale_on) {
        ins[1] = onnx_param(c, n->in[k++]);
    } else {
        size_t size = 1;
        for (int a = 0; a < count; a++) size *= (size_t)(dims[a] = n->shape.dim[n->attr.axis + a]);
        float *ones = onnx_alloc(c, size * sizeof *ones);
        if (!ones) return -1;
        for (size_t i = 0; i < size; i++) ones[i] = 1.0f;
        ins[1] = onnx_const_f32(c, id, "gamma", ones, dims, count);
    }
    if (n->attr.center) ins[2] = onnx_param(c, n->in[k]);
    Onnx__NodeProto *y = onnx_node(c, id, "LayerNormalization", ins, n->attr.center ? 3 : 2, NULL);
    onnx_attr_int(c, y, "axis", r - count);
    onnx_attr_float(c, y, "epsilon", n->attr.eps);
    if (!trailing) {
        const char *yt = onnx_out(y);
        y = onnx_node(c, id, "Transpose", &yt, 1, "normalized_back");
        onnx_attr_ints(c, y, "perm", back, r);
    }
    return onnx_finish(c, id, y, ONNX_LAST);
}

/* ---- reordering --------------------------------------------------------------------------- */

/* Permute: Transpose of nnc's own axes, the batch axis staying first. */
int onnx_ex_permute(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    int64_t perm[NNC_MAX_RANK + 1] = {0};
    for (int i = 0; i < n->shape.rank; i++) perm[i + 1] = n->attr.perm[i] + 1;
    const char *x = onnx_in(c, n->in[0], ONNX_LAST);
    Onnx__NodeProto *t = onnx_node(c, id, "Transpose", &x, 1, NULL);
    onnx_attr_ints(c, t, "perm", perm, n->shape.rank + 1);
    return onnx_finish(c, id, t, ONNX_LAST);
}

/* RepeatVector(n): [batch, F] -> Unsqueeze to [batch, 1, F] -> Tile by [1, n, 1]. */
int onnx_ex_repeat(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const int64_t axis = 1, reps[3] = {1, n->attr.repeats, 1};
    const char *u[2] = {onnx_in(c, n->in[0], ONNX_LAST), onnx_const_i64(c, id, "axes", &axis, 1)};
    const char *t[2] = {onnx_out(onnx_node(c, id, "Unsqueeze", u, 2, NULL)), onnx_const_i64(c, id, "repeats", reps, 3)};
    return onnx_finish(c, id, onnx_node(c, id, "Tile", t, 2, NULL), ONNX_LAST);
}
#else
typedef int nnc_onnx_ops_layers_not_built; /* ISO C wants a declaration in every file */
#endif
