/* What each op of nnc's graph becomes in ONNX (opset 17): one exporter per op, one row per op
 * in the table at the bottom. A layer is exported through the ops it is made of, so a new
 * layer built from existing ops needs nothing here, and a new op needs one function and one
 * row (tests/test_onnx.c fails while an op has none). Formulas are ONNX's operator
 * specification (onnx/docs/Operators.md, opset 17) matched to nnc's ops (src/ops/).
 *
 * The convolution family's exporters are in onnx_ops_conv.c, those of the activation, merge,
 * normalization and reordering layers' ops in onnx_ops_layers.c (declared in onnx_ops.h).
 *
 * Peepholes, where ONNX has one node for two of nnc's: a Dense's MATMUL + BIAS_ADD on 2-D
 * inputs is one Gemm, a convolution's bias is Conv's (or ConvTranspose's) third input. Dropout,
 * the noise layers, a linear Activation and a reshape to the same shape are no node at all
 * (inference is the identity). */
#ifdef NNC_HAVE_ONNX
#include <string.h>
#include "onnx_ops.h"

#define NODE(c, id) (&(c)->m->nodes[id])

/* ---- sources ------------------------------------------------------------------------------ */

/* Inputs are named by onnx_save.c before the walk; parameters become initializers when read. */
static int ex_source(onnx_ctx *c, int id) {
    (void)c, (void)id;
    return 0;
}

/* ---- Dense and elementwise arithmetic ----------------------------------------------------- */

static int ex_matmul(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    int b = onnx_bias_after(c, id);
    if (b >= 0 && onnx_rank(c, n->in[0]) == 2 && NODE(c, n->in[1])->op == NNC_OP_PARAM) {
        const char *ins[3] = {onnx_in(c, n->in[0], ONNX_LAST), onnx_param(c, n->in[1]),
                              onnx_param(c, NODE(c, b)->in[1])};
        Onnx__NodeProto *g = onnx_node(c, id, "Gemm", ins, 3, NULL);
        c->done[id] = 1;
        return onnx_finish(c, b, g, ONNX_LAST);
    }
    const char *ins[2] = {onnx_in(c, n->in[0], ONNX_LAST), onnx_in(c, n->in[1], ONNX_LAST)};
    return onnx_finish(c, id, onnx_node(c, id, "MatMul", ins, 2, NULL), ONNX_LAST);
}

/* x + b[c] along the last axis (a bias not taken in by its Gemm or Conv). */
static int ex_bias_add(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const char *ins[2] = {onnx_in(c, n->in[0], ONNX_LAST), onnx_in(c, n->in[1], ONNX_LAST)};
    return onnx_finish(c, id, onnx_node(c, id, "Add", ins, 2, "bias_add"), ONNX_LAST);
}

/* Add, Sub, Mul, Max, Min with nnc's broadcasting (elementwise.c): two examples of the same
 * rank combine in any layout, so they stay in the first operand's. A variable (no batch axis)
 * aligns from the right in both. A batched operand of lower rank is another matter: nnc, as
 * Keras, puts its missing axes after its batch axis, ONNX's NumPy rule before it, so it is
 * unsqueezed at axes 1.. first. */
static int binary(onnx_ctx *c, int id, const char *op_type) {
    const nnc_node_rec *n = NODE(c, id), *a = NODE(c, n->in[0]), *b = NODE(c, n->in[1]);
    onnx_layout l = ONNX_LAST;
    const int both = a->batched && b->batched;
    const char *ins[2];
    ins[0] = both && a->shape.rank == b->shape.rank ? onnx_in_any(c, n->in[0], &l) : onnx_in(c, n->in[0], ONNX_LAST);
    ins[1] = onnx_in(c, n->in[1], l);
    for (int k = 0; both && k < 2; k++) {
        const int missing = n->shape.rank - NODE(c, n->in[k])->shape.rank;
        if (missing <= 0) continue;
        int64_t axes[NNC_MAX_RANK];
        for (int i = 0; i < missing; i++) axes[i] = i + 1;
        const char *u[2] = {ins[k], onnx_const_i64(c, id, "axes", axes, missing)};
        ins[k] = onnx_out(onnx_node(c, id, "Unsqueeze", u, 2, NULL));
    }
    return onnx_finish(c, id, onnx_node(c, id, op_type, ins, 2, NULL), l);
}

static int ex_add(onnx_ctx *c, int id) { return binary(c, id, "Add"); }
static int ex_sub(onnx_ctx *c, int id) { return binary(c, id, "Sub"); }
static int ex_mul(onnx_ctx *c, int id) { return binary(c, id, "Mul"); }
static int ex_maximum(onnx_ctx *c, int id) { return binary(c, id, "Max"); }
static int ex_minimum(onnx_ctx *c, int id) { return binary(c, id, "Min"); }

/* SUM and MEAN drop one axis of the example (reduce.c). Opset 17's ReduceSum takes its axes
 * as an input, ReduceMean as an attribute. */
static int ex_sum(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    int64_t axis = n->attr.axis + 1;
    const char *ins[2] = {onnx_in(c, n->in[0], ONNX_LAST), onnx_const_i64(c, id, "axes", &axis, 1)};
    Onnx__NodeProto *r = onnx_node(c, id, "ReduceSum", ins, 2, NULL);
    onnx_attr_int(c, r, "keepdims", 0);
    return onnx_finish(c, id, r, ONNX_LAST);
}

static int ex_mean(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    int64_t axis = n->attr.axis + 1;
    const char *x = onnx_in(c, n->in[0], ONNX_LAST);
    Onnx__NodeProto *r = onnx_node(c, id, "ReduceMean", &x, 1, NULL);
    onnx_attr_ints(c, r, "axes", &axis, 1);
    onnx_attr_int(c, r, "keepdims", 0);
    return onnx_finish(c, id, r, ONNX_LAST);
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
    return onnx_finish(c, id, k, l);
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
    if (n->attr.act == NNC_ACT_LINEAR) return onnx_alias(c, id, n->in[0]);
    if (n->attr.act == NNC_ACT_SOFTMAX && onnx_rank(c, id) > 2) {
        const char *x = onnx_in(c, n->in[0], ONNX_LAST);
        return onnx_finish(c, id, onnx_node(c, id, "Softmax", &x, 1, NULL), ONNX_LAST);
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
    return onnx_finish(c, id, y, l);
}

/* Softmax over the last axis (opset 13 on: over that one axis, as nnc's). */
static int ex_softmax(onnx_ctx *c, int id) {
    const char *x = onnx_in(c, NODE(c, id)->in[0], ONNX_LAST);
    Onnx__NodeProto *s = onnx_node(c, id, "Softmax", &x, 1, NULL);
    onnx_attr_int(c, s, "axis", -1);
    return onnx_finish(c, id, s, ONNX_LAST);
}

/* ---- preprocessing ------------------------------------------------------------------------ */

/* Rescaling: x·scale + offset, each step left out when it changes nothing. */
static int ex_affine(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    if (n->attr.scale == 1.0f && n->attr.offset == 0.0f) return onnx_alias(c, id, n->in[0]);
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
    return onnx_finish(c, id, onnx_node(c, id, "Div", div, 2, NULL), ONNX_LAST);
}

/* ---- shapes ------------------------------------------------------------------------------- */

/* Flatten and Reshape take nnc's own (channels-last) order of the values. A reshape to the
 * shape it had (ActivityRegularization's copy, a Flatten of vectors) is no node. */
static int ex_reshape(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id), *in = NODE(c, n->in[0]);
    if (in->shape.rank == n->shape.rank &&
        !memcmp(in->shape.dim, n->shape.dim, (size_t)n->shape.rank * sizeof *n->shape.dim))
        return onnx_alias(c, id, n->in[0]);
    const char *x = onnx_in(c, n->in[0], ONNX_LAST);
    if (n->shape.rank == 1) {
        Onnx__NodeProto *f = onnx_node(c, id, "Flatten", &x, 1, NULL);
        onnx_attr_int(c, f, "axis", 1);
        return onnx_finish(c, id, f, ONNX_LAST);
    }
    int64_t shape[NNC_MAX_RANK + 1] = {0}; /* 0: the batch axis as it comes */
    for (int i = 0; i < n->shape.rank; i++) shape[i + 1] = n->shape.dim[i];
    if (nnc_node_any_length(c->m, n->in[0])) shape[1] = 0; /* a None time axis as it comes (Masking's [T, 1]) */
    const char *ins[2] = {x, onnx_const_i64(c, id, "shape", shape, n->shape.rank + 1)};
    return onnx_finish(c, id, onnx_node(c, id, "Reshape", ins, 2, NULL), ONNX_LAST);
}

/* ---- inference forms of the training-mode ops -------------------------------------------- */

/* Dropout, SpatialDropout1D/2D, GaussianNoise and GaussianDropout: the identity. */
static int ex_dropout(onnx_ctx *c, int id) { return onnx_alias(c, id, NODE(c, id)->in[0]); }

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
    return onnx_finish(c, id, y, ONNX_FIRST);
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
    [NNC_OP_CONV] = onnx_ex_conv,       [NNC_OP_MAX_POOL] = onnx_ex_max_pool,
    [NNC_OP_AVG_POOL] = onnx_ex_avg_pool, [NNC_OP_GLOBAL_AVG] = onnx_ex_global_avg,
    [NNC_OP_GLOBAL_MAX] = onnx_ex_global_max, [NNC_OP_RESHAPE] = ex_reshape,
    [NNC_OP_ZERO_PAD] = onnx_ex_zero_pad, [NNC_OP_DROPOUT] = ex_dropout,
    [NNC_OP_BATCH_NORM] = ex_batch_norm,
    /* the convolution family (onnx_ops_conv.c) */
    [NNC_OP_CONV_TRANSPOSE] = onnx_ex_conv_transpose, [NNC_OP_UPSAMPLE] = onnx_ex_upsample,
    [NNC_OP_CROP] = onnx_ex_crop,
    /* the activation, noise, merge and normalization layers (onnx_ops_layers.c) */
    [NNC_OP_ACT_EX] = onnx_ex_act_ex,   [NNC_OP_PRELU] = onnx_ex_prelu,
    [NNC_OP_SOFTMAX_AXIS] = onnx_ex_softmax_axis, [NNC_OP_SPATIAL_DROPOUT] = ex_dropout,
    [NNC_OP_GAUSSIAN_NOISE] = ex_dropout, [NNC_OP_GAUSSIAN_DROPOUT] = ex_dropout,
    [NNC_OP_MAXIMUM] = ex_maximum,      [NNC_OP_MINIMUM] = ex_minimum,
    [NNC_OP_BATCH_DOT] = onnx_ex_batch_dot, [NNC_OP_L2_NORMALIZE] = onnx_ex_l2_normalize,
    [NNC_OP_LAYER_NORM] = onnx_ex_layer_norm, [NNC_OP_PERMUTE] = onnx_ex_permute,
    [NNC_OP_REPEAT] = onnx_ex_repeat,
    /* sequences: attention */
    [NNC_OP_MHA] = onnx_ex_mha, [NNC_OP_POSITION] = onnx_ex_position,
    /* sequences: recurrent */
    [NNC_OP_RECURRENT] = onnx_ex_recurrent, [NNC_OP_RNN_STATE] = onnx_ex_rnn_state,
    /* sequences: embedding and masks */
    [NNC_OP_EMBEDDING] = onnx_ex_embedding, [NNC_OP_SEQ_MASK] = onnx_ex_seq_mask,
};

onnx_export_fn nnc_onnx_exporter(nnc_op op) {
    return (unsigned)op < NNC_OP_COUNT ? exporters[op] : NULL;
}
#else
typedef int nnc_onnx_ops_not_built; /* ISO C wants a declaration in every file */
#endif
