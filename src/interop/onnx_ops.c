/* What each op of nnc's graph becomes in ONNX (opset 17): one exporter per op, one row per op
 * in the table at the bottom. A layer is exported through the ops it is made of, so a new
 * layer built from existing ops needs nothing here, and a new op needs one function and one
 * row (tests/test_onnx.c fails while an op has none). Formulas are ONNX's operator
 * specification (onnx/docs/Operators.md, opset 17) matched to nnc's ops (src/ops/).
 *
 * Peepholes, where ONNX has one node for two of nnc's: a Dense's MATMUL + BIAS_ADD on 2-D
 * inputs is one Gemm, a convolution's bias is Conv's third input. Dropout and a linear
 * Activation are no node at all (inference is the identity). */
#ifdef NNC_HAVE_ONNX
#include <string.h>
#include "onnx_graph.h"

#define NODE(c, id) (&(c)->m->nodes[id])

/* Node id's value under the same tensor as node src (an identity). */
static int alias(onnx_ctx *c, int id, int src) {
    onnx_layout l;
    const char *x = onnx_in_any(c, src, &l);
    if (!x) return -1;
    c->held[ONNX_LAST][id] = c->held[ONNX_LAST][src];
    c->held[ONNX_FIRST][id] = c->held[ONNX_FIRST][src];
    c->done[id] = 1;
    return 0;
}

/* The one live node reading id, or -1 when there are none or several. */
static int only_reader(const onnx_ctx *c, int id) { return c->readers[id] == 1 ? c->reader[id] : -1; }

/* A BIAS_ADD of a parameter that is id's only reader, which id's ONNX node can take in. */
static int bias_after(const onnx_ctx *c, int id) {
    int b = only_reader(c, id);
    if (b < 0 || NODE(c, b)->op != NNC_OP_BIAS_ADD || NODE(c, b)->in[0] != id) return -1;
    return NODE(c, NODE(c, b)->in[1])->op == NNC_OP_PARAM ? b : -1;
}

static int finish(onnx_ctx *c, int id, const Onnx__NodeProto *n, onnx_layout l) {
    if (!n) return -1;
    onnx_set(c, id, onnx_out(n), l);
    return 0;
}

/* ---- sources ------------------------------------------------------------------------------ */

/* Inputs are named by onnx_save.c before the walk; parameters become initializers when read. */
static int ex_source(onnx_ctx *c, int id) {
    (void)c, (void)id;
    return 0;
}

/* ---- Dense and elementwise arithmetic ----------------------------------------------------- */

static int ex_matmul(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    int b = bias_after(c, id);
    if (b >= 0 && onnx_rank(c, n->in[0]) == 2 && NODE(c, n->in[1])->op == NNC_OP_PARAM) {
        const char *ins[3] = {onnx_in(c, n->in[0], ONNX_LAST), onnx_param(c, n->in[1]),
                              onnx_param(c, NODE(c, b)->in[1])};
        Onnx__NodeProto *g = onnx_node(c, id, "Gemm", ins, 3, NULL);
        c->done[id] = 1;
        return finish(c, b, g, ONNX_LAST);
    }
    const char *ins[2] = {onnx_in(c, n->in[0], ONNX_LAST), onnx_in(c, n->in[1], ONNX_LAST)};
    return finish(c, id, onnx_node(c, id, "MatMul", ins, 2, NULL), ONNX_LAST);
}

/* x + b[c] along the last axis (a bias not taken in by its Gemm or Conv). */
static int ex_bias_add(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const char *ins[2] = {onnx_in(c, n->in[0], ONNX_LAST), onnx_in(c, n->in[1], ONNX_LAST)};
    return finish(c, id, onnx_node(c, id, "Add", ins, 2, "bias_add"), ONNX_LAST);
}

/* Add, Sub, Mul: NumPy broadcasting as nnc's (elementwise.c). Two examples of the same rank
 * combine in any layout, so they stay in the first operand's. */
static int binary(onnx_ctx *c, int id, const char *op_type) {
    const nnc_node_rec *n = NODE(c, id), *a = NODE(c, n->in[0]), *b = NODE(c, n->in[1]);
    onnx_layout l = ONNX_LAST;
    const char *x = a->batched && b->batched && a->shape.rank == b->shape.rank
                        ? onnx_in_any(c, n->in[0], &l)
                        : onnx_in(c, n->in[0], ONNX_LAST);
    const char *ins[2] = {x, onnx_in(c, n->in[1], l)};
    return finish(c, id, onnx_node(c, id, op_type, ins, 2, NULL), l);
}

static int ex_add(onnx_ctx *c, int id) { return binary(c, id, "Add"); }
static int ex_sub(onnx_ctx *c, int id) { return binary(c, id, "Sub"); }
static int ex_mul(onnx_ctx *c, int id) { return binary(c, id, "Mul"); }

/* SUM and MEAN drop one axis of the example (reduce.c). Opset 17's ReduceSum takes its axes
 * as an input, ReduceMean as an attribute. */
static int ex_sum(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    int64_t axis = n->attr.axis + 1;
    const char *ins[2] = {onnx_in(c, n->in[0], ONNX_LAST), onnx_const_i64(c, id, "axes", &axis, 1)};
    Onnx__NodeProto *r = onnx_node(c, id, "ReduceSum", ins, 2, NULL);
    onnx_attr_int(c, r, "keepdims", 0);
    return finish(c, id, r, ONNX_LAST);
}

static int ex_mean(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    int64_t axis = n->attr.axis + 1;
    const char *x = onnx_in(c, n->in[0], ONNX_LAST);
    Onnx__NodeProto *r = onnx_node(c, id, "ReduceMean", &x, 1, NULL);
    onnx_attr_ints(c, r, "axes", &axis, 1);
    onnx_attr_int(c, r, "keepdims", 0);
    return finish(c, id, r, ONNX_LAST);
}

/* Concatenate along an example axis; inputs that are all channels first stay so. */
static int ex_concat(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    int rank = onnx_rank(c, id), axis = n->attr.axis + 1;
    onnx_layout l = ONNX_FIRST;
    for (int i = 0; i < n->n_in; i++)
        if (c->held[ONNX_LAST][n->in[i]] || !c->held[ONNX_FIRST][n->in[i]]) l = ONNX_LAST;
    if (l == ONNX_FIRST) axis = axis == rank - 1 ? 1 : axis + 1; /* where that axis went */
    const char *ins[NNC_MAX_INPUTS];
    for (int i = 0; i < n->n_in; i++) ins[i] = onnx_in(c, n->in[i], l);
    Onnx__NodeProto *k = onnx_node(c, id, "Concat", ins, n->n_in, NULL);
    onnx_attr_int(c, k, "axis", axis);
    return finish(c, id, k, l);
}

/* ---- activations -------------------------------------------------------------------------- */

/* gelu(x) = (0.5·x)·(1 + erf(x·√½)), in the order act_apply rounds it (activation.c). */
static const char *gelu(onnx_ctx *c, int id, const char *x) {
    const float k = 0.70710678118654752f, one = 1.0f, half = 0.5f;
    const char *s[2] = {x, onnx_const_f32(c, id, "sqrt_half", &k, NULL, 0)};
    const char *e = onnx_out(onnx_node(c, id, "Mul", s, 2, "gelu_scaled"));
    e = onnx_out(onnx_node(c, id, "Erf", &e, 1, NULL));
    const char *p[2] = {e, onnx_const_f32(c, id, "one", &one, NULL, 0)};
    const char *h[2] = {x, onnx_const_f32(c, id, "half", &half, NULL, 0)};
    const char *f[2] = {onnx_out(onnx_node(c, id, "Mul", h, 2, "gelu_half")),
                        onnx_out(onnx_node(c, id, "Add", p, 2, "gelu_one_plus"))};
    return onnx_out(onnx_node(c, id, "Mul", f, 2, "gelu"));
}

/* Keras 3's activations (activation.c) as ONNX ops; the layout is kept. */
static int ex_act(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    static const char *const single[NNC_ACT_COUNT] = {
        [NNC_ACT_SIGMOID] = "Sigmoid", [NNC_ACT_RELU] = "Relu", [NNC_ACT_TANH] = "Tanh",
        [NNC_ACT_SOFTSIGN] = "Softsign", [NNC_ACT_SOFTPLUS] = "Softplus", [NNC_ACT_EXPONENTIAL] = "Exp",
    };
    if (n->attr.act == NNC_ACT_LINEAR) return alias(c, id, n->in[0]);
    if (n->attr.act == NNC_ACT_SOFTMAX && onnx_rank(c, id) > 2) {
        const char *x = onnx_in(c, n->in[0], ONNX_LAST);
        return finish(c, id, onnx_node(c, id, "Softmax", &x, 1, NULL), ONNX_LAST);
    }
    onnx_layout l;
    const char *x = onnx_in_any(c, n->in[0], &l);
    Onnx__NodeProto *y = NULL;
    switch (n->attr.act) {
    case NNC_ACT_LEAKY_RELU:
        y = onnx_node(c, id, "LeakyRelu", &x, 1, NULL);
        onnx_attr_float(c, y, "alpha", n->attr.alpha);
        break;
    case NNC_ACT_ELU: /* Keras's alpha 1: ONNX's default, written out */
        y = onnx_node(c, id, "Elu", &x, 1, NULL);
        onnx_attr_float(c, y, "alpha", 1.0f);
        break;
    case NNC_ACT_SELU: /* Keras's constants, as nnc rounds them to float */
        y = onnx_node(c, id, "Selu", &x, 1, NULL);
        onnx_attr_float(c, y, "alpha", 1.67326324235437728481f);
        onnx_attr_float(c, y, "gamma", 1.05070098735548049342f);
        break;
    case NNC_ACT_HARD_SIGMOID: /* relu6(x + 3) / 6 = max(0, min(1, x/6 + 1/2)) */
        y = onnx_node(c, id, "HardSigmoid", &x, 1, NULL);
        onnx_attr_float(c, y, "alpha", 1.0f / 6.0f);
        onnx_attr_float(c, y, "beta", 0.5f);
        break;
    case NNC_ACT_SWISH: {
        const char *m[2] = {x, onnx_out(onnx_node(c, id, "Sigmoid", &x, 1, NULL))};
        y = onnx_node(c, id, "Mul", m, 2, "swish");
        break;
    }
    case NNC_ACT_GELU: {
        const char *g = gelu(c, id, x);
        if (g) onnx_set(c, id, g, l);
        return g ? 0 : -1;
    }
    case NNC_ACT_SOFTMAX: /* two axes: the last is the features in either layout */
        y = onnx_node(c, id, "Softmax", &x, 1, NULL);
        break;
    default:
        if ((unsigned)n->attr.act >= NNC_ACT_COUNT || !single[n->attr.act])
            return onnx_fail(c, id, "activation %d has no ONNX form", (int)n->attr.act);
        y = onnx_node(c, id, single[n->attr.act], &x, 1, NULL);
    }
    return finish(c, id, y, l);
}

/* Softmax over the last axis (opset 13 on: over that one axis, as nnc's). */
static int ex_softmax(onnx_ctx *c, int id) {
    const char *x = onnx_in(c, NODE(c, id)->in[0], ONNX_LAST);
    Onnx__NodeProto *s = onnx_node(c, id, "Softmax", &x, 1, NULL);
    onnx_attr_int(c, s, "axis", -1);
    return finish(c, id, s, ONNX_LAST);
}

/* ---- preprocessing ------------------------------------------------------------------------ */

/* Rescaling: x·scale + offset, each step left out when it changes nothing. */
static int ex_affine(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    if (n->attr.scale == 1.0f && n->attr.offset == 0.0f) return alias(c, id, n->in[0]);
    onnx_layout l;
    const char *y = onnx_in_any(c, n->in[0], &l);
    if (n->attr.scale != 1.0f) {
        const char *m[2] = {y, onnx_const_f32(c, id, "scale", &n->attr.scale, NULL, 0)};
        y = onnx_out(onnx_node(c, id, "Mul", m, 2, NULL));
    }
    if (n->attr.offset != 0.0f) {
        const char *a[2] = {y, onnx_const_f32(c, id, "offset", &n->attr.offset, NULL, 0)};
        y = onnx_out(onnx_node(c, id, "Add", a, 2, NULL));
    }
    if (y) onnx_set(c, id, y, l);
    return y ? 0 : -1;
}

/* Normalization: (x − mean) / max(sqrt(max(variance, 0)), 1e-7) (preprocess.c). */
static int ex_normalize(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const float eps = 1e-7f; /* Keras's backend.epsilon(), nnc's NORM_EPSILON */
    const char *var = onnx_param(c, n->in[2]);
    const char *root = onnx_out(onnx_node(c, id, "Relu", &var, 1, "variance_clipped"));
    root = onnx_out(onnx_node(c, id, "Sqrt", &root, 1, NULL));
    const char *mx[2] = {root, onnx_const_f32(c, id, "epsilon", &eps, NULL, 0)};
    const char *sub[2] = {onnx_in(c, n->in[0], ONNX_LAST), onnx_param(c, n->in[1])};
    const char *div[2] = {onnx_out(onnx_node(c, id, "Sub", sub, 2, NULL)),
                          onnx_out(onnx_node(c, id, "Max", mx, 2, "divisor"))};
    return finish(c, id, onnx_node(c, id, "Div", div, 2, NULL), ONNX_LAST);
}

/* ---- convolution and pooling -------------------------------------------------------------- */

/* kernel_shape, strides, dilations and pads of a window over 1 or 2 spatial axes. TensorFlow's
 * padding puts the odd cell after; the after-padding is what makes ONNX's floor formula give
 * nnc's output size, never negative (a 'valid' window may leave cells unused). */
static int window_attrs(onnx_ctx *c, int id, Onnx__NodeProto *node, int with_dilation) {
    const nnc_node_rec *n = NODE(c, id), *x = NODE(c, n->in[0]);
    const int two_d = n->shape.rank == 3;
    const int k[2] = {n->attr.win.kh, n->attr.win.kw}, s[2] = {n->attr.win.sh, n->attr.win.sw};
    const int d[2] = {with_dilation ? n->attr.win.dh : 1, with_dilation ? n->attr.win.dw : 1};
    const int before[2] = {n->attr.win.pt, n->attr.win.pl};
    int64_t ks[2], ss[2], ds[2], pads[4];
    int axes = two_d ? 2 : 1;
    for (int a = 0; a < axes; a++) {
        int w = two_d ? a : 1; /* Conv1D's window is the "width" of nnc's window */
        int in = x->shape.dim[a], out = n->shape.dim[a];
        int after = (out - 1) * s[w] + (k[w] - 1) * d[w] + 1 - in - before[w];
        ks[a] = k[w], ss[a] = s[w], ds[a] = d[w];
        pads[a] = before[w];
        pads[axes + a] = after > 0 ? after : 0;
        /* ONNX's size, floor((in + pads − dilated window) / stride) + 1, must be nnc's: a
         * window this writer does not read right is an error, never a wrong graph */
        if (s[w] < 1 || (in + pads[a] + pads[axes + a] - (k[w] - 1) * d[w] - 1) / s[w] + 1 != out)
            return onnx_fail(c, id, "its window does not map onto ONNX's (axis %d: %d cells to %d)", a + 1, in, out);
    }
    onnx_attr_ints(c, node, "kernel_shape", ks, axes);
    onnx_attr_ints(c, node, "strides", ss, axes);
    if (with_dilation) onnx_attr_ints(c, node, "dilations", ds, axes);
    onnx_attr_ints(c, node, "pads", pads, 2 * axes);
    return c->failed ? -1 : 0;
}

/* Conv on channels first; the kernel [kh, kw, C, F] (Conv1D: [k, C, F]) is stored as ONNX's
 * [F, C, kh, kw] ([F, C, k]) under the Keras name; a following bias is Conv's B. */
static int ex_conv(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id), *k = NODE(c, n->in[1]);
    static const int perm2[4] = {3, 2, 0, 1}, perm1[3] = {2, 1, 0};
    const int kr = k->shape.rank, in_ch = NODE(c, n->in[0])->shape.dim[n->shape.rank - 1];
    if (k->op != NNC_OP_PARAM)
        return onnx_fail(c, id, "a convolution whose kernel is not a variable has no ONNX form here");
    /* a plain convolution's kernel: [..., input channels, output channels] */
    if (k->shape.dim[kr - 2] != in_ch || k->shape.dim[kr - 1] != n->shape.dim[n->shape.rank - 1])
        return onnx_fail(c, id, "a grouped or depthwise convolution has no ONNX exporter yet");
    int b = bias_after(c, id);
    const char *ins[3] = {onnx_in(c, n->in[0], ONNX_FIRST),
                          onnx_param_transposed(c, n->in[1], n->shape.rank == 3 ? perm2 : perm1),
                          b >= 0 ? onnx_param(c, NODE(c, b)->in[1]) : NULL};
    Onnx__NodeProto *y = onnx_node(c, id, "Conv", ins, b >= 0 ? 3 : 2, NULL);
    if (window_attrs(c, id, y, 1)) return -1;
    if (b < 0) return finish(c, id, y, ONNX_FIRST);
    c->done[id] = 1;
    return finish(c, b, y, ONNX_FIRST);
}

static int pool(onnx_ctx *c, int id, const char *op_type, int average) {
    const char *x = onnx_in(c, NODE(c, id)->in[0], ONNX_FIRST);
    Onnx__NodeProto *y = onnx_node(c, id, op_type, &x, 1, NULL);
    if (window_attrs(c, id, y, 0)) return -1;
    /* nnc's average leaves padded cells out of the count (TensorFlow's 'same') */
    if (average) onnx_attr_int(c, y, "count_include_pad", 0);
    return finish(c, id, y, ONNX_FIRST);
}

static int ex_max_pool(onnx_ctx *c, int id) { return pool(c, id, "MaxPool", 0); }
static int ex_avg_pool(onnx_ctx *c, int id) { return pool(c, id, "AveragePool", 1); }

/* Mean or max over every axis but the channels, in whichever layout the input is; an output
 * of the input's rank keeps the pooled axes, of size 1 (and so the layout). */
static int global(onnx_ctx *c, int id, const char *op_type) {
    const nnc_node_rec *n = NODE(c, id);
    onnx_layout l;
    const char *x = onnx_in_any(c, n->in[0], &l);
    int rank = onnx_rank(c, n->in[0]), k = 0, keep = onnx_rank(c, id) == rank;
    int64_t axes[NNC_MAX_RANK];
    for (int a = 1; a < rank; a++)
        if (a != (l == ONNX_FIRST ? 1 : rank - 1)) axes[k++] = a;
    if (!keep && onnx_rank(c, id) != 2)
        return onnx_fail(c, id, "a global pooling to rank %d has no ONNX exporter", n->shape.rank);
    Onnx__NodeProto *y = onnx_node(c, id, op_type, &x, 1, NULL);
    onnx_attr_ints(c, y, "axes", axes, k);
    onnx_attr_int(c, y, "keepdims", keep);
    return finish(c, id, y, keep ? l : ONNX_LAST);
}

static int ex_global_avg(onnx_ctx *c, int id) { return global(c, id, "ReduceMean"); }
static int ex_global_max(onnx_ctx *c, int id) { return global(c, id, "ReduceMax"); }

/* ---- shapes ------------------------------------------------------------------------------- */

/* Flatten and Reshape take nnc's own (channels-last) order of the values. */
static int ex_reshape(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const char *x = onnx_in(c, n->in[0], ONNX_LAST);
    if (n->shape.rank == 1) {
        Onnx__NodeProto *f = onnx_node(c, id, "Flatten", &x, 1, NULL);
        onnx_attr_int(c, f, "axis", 1);
        return finish(c, id, f, ONNX_LAST);
    }
    int64_t shape[NNC_MAX_RANK + 1] = {0}; /* 0: the batch axis as it comes */
    for (int i = 0; i < n->shape.rank; i++) shape[i + 1] = n->shape.dim[i];
    const char *ins[2] = {x, onnx_const_i64(c, id, "shape", shape, n->shape.rank + 1)};
    return finish(c, id, onnx_node(c, id, "Reshape", ins, 2, NULL), ONNX_LAST);
}

/* ZeroPadding2D: Pad with zeros, on rows and columns of whichever layout the input is in. */
static int ex_zero_pad(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    if (onnx_rank(c, id) != 4)
        return onnx_fail(c, id, "zero padding of rank-%d examples has no ONNX exporter yet", n->shape.rank);
    onnx_layout l;
    const char *x = onnx_in_any(c, n->in[0], &l);
    int64_t pads[8] = {0};
    int row = l == ONNX_FIRST ? 2 : 1; /* the height axis; the width follows it */
    pads[row] = n->attr.win.pt, pads[row + 1] = n->attr.win.pl;
    pads[4 + row] = n->attr.win.pb, pads[4 + row + 1] = n->attr.win.pr;
    const char *ins[2] = {x, onnx_const_i64(c, id, "pads", pads, 8)};
    Onnx__NodeProto *y = onnx_node(c, id, "Pad", ins, 2, NULL);
    return finish(c, id, y, l); /* mode "constant" and value 0 are Pad's defaults */
}

/* ---- inference forms of the training-mode ops -------------------------------------------- */

static int ex_dropout(onnx_ctx *c, int id) { return alias(c, id, NODE(c, id)->in[0]); }

/* BatchNormalization's inference op on channels first, with the moving statistics; a layer
 * without gamma or beta gets ones or zeros. */
static int ex_batch_norm(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    int k = 1, ch = n->shape.dim[n->shape.rank - 1];
    const char *ins[5] = {onnx_in(c, n->in[0], ONNX_FIRST)};
    float *fill = onnx_alloc(c, (size_t)ch * sizeof *fill);
    if (!fill) return -1;
    int64_t dims[1] = {ch};
    if (n->attr.scale_on) ins[1] = onnx_param(c, n->in[k++]);
    else {
        for (int i = 0; i < ch; i++) fill[i] = 1.0f;
        ins[1] = onnx_const_f32(c, id, "gamma", fill, dims, 1);
    }
    if (n->attr.center) ins[2] = onnx_param(c, n->in[k++]);
    else {
        for (int i = 0; i < ch; i++) fill[i] = 0.0f;
        ins[2] = onnx_const_f32(c, id, "beta", fill, dims, 1);
    }
    ins[3] = onnx_param(c, n->in[k++]);
    ins[4] = onnx_param(c, n->in[k]);
    Onnx__NodeProto *y = onnx_node(c, id, "BatchNormalization", ins, 5, NULL);
    onnx_attr_float(c, y, "epsilon", n->attr.eps);
    return finish(c, id, y, ONNX_FIRST);
}

/* ---- the table ---------------------------------------------------------------------------- */

static const onnx_export_fn exporters[NNC_OP_COUNT] = {
    [NNC_OP_INPUT] = ex_source,         [NNC_OP_PARAM] = ex_source,
    [NNC_OP_MATMUL] = ex_matmul,        [NNC_OP_BIAS_ADD] = ex_bias_add,
    [NNC_OP_ADD] = ex_add,              [NNC_OP_SUB] = ex_sub,
    [NNC_OP_MUL] = ex_mul,              [NNC_OP_SUM] = ex_sum,
    [NNC_OP_MEAN] = ex_mean,            [NNC_OP_CONCAT] = ex_concat,
    [NNC_OP_ACT] = ex_act,              [NNC_OP_SOFTMAX] = ex_softmax,
    [NNC_OP_AFFINE] = ex_affine,        [NNC_OP_NORMALIZE] = ex_normalize,
    [NNC_OP_CONV] = ex_conv,            [NNC_OP_MAX_POOL] = ex_max_pool,
    [NNC_OP_AVG_POOL] = ex_avg_pool,    [NNC_OP_GLOBAL_AVG] = ex_global_avg,
    [NNC_OP_GLOBAL_MAX] = ex_global_max, [NNC_OP_RESHAPE] = ex_reshape,
    [NNC_OP_ZERO_PAD] = ex_zero_pad,    [NNC_OP_DROPOUT] = ex_dropout,
    [NNC_OP_BATCH_NORM] = ex_batch_norm,
};

onnx_export_fn nnc_onnx_exporter(nnc_op op) {
    return (unsigned)op < NNC_OP_COUNT ? exporters[op] : NULL;
}
#else
typedef int nnc_onnx_ops_not_built; /* ISO C wants a declaration in every file */
#endif
