/* Keras's core layers: Input, Dense, Activation, Add, Concatenate. Each builder checks its
 * arguments, then expresses the layer as ops on the graph; each layer's descriptor row
 * (layers.h) sits beside its builder. */
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_input_desc, nnc_dense_desc, nnc_activation_desc,
    nnc_softmax_desc, nnc_add_desc, nnc_concatenate_desc;

static const nnc_opt_desc no_opts[1] = {{0}};

static void no_defaults(void *o) { memset(o, 0, sizeof(nnc_no_opts)); }
static void last_axis(void *o) { ((nnc_axis_opts *)o)->axis = -1; }

/* ---- Input -------------------------------------------------------------------------------- */

static nnc_node input_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                            const char *name) {
    (void)in, (void)n_in;
    const nnc_shape *s = &((const nnc_input_opts *)opts)->shape;
    return nnc_input(m, s->dim, s->rank, name);
}

static void input_defaults(void *o) { memset(o, 0, sizeof(nnc_input_opts)); }

static const nnc_opt_desc input_opts[] = {
    {NNC_OPT_ROW("shape", NNC_OPT_SHAPE, nnc_input_opts, shape, 0), .config_key = "batch_shape",
     .alias = "batch_input_shape", .lo = 1, .hi = 1 << 24,
     .flags = NNC_OPTF_REQUIRED | NNC_OPTF_REST | NNC_OPTF_BATCHED | NNC_OPTF_NONE_FIRST, .example = "input 28 28 1",
     .help = "one example's shape, the batch axis excluded; a first `None` is a time axis of any length"},
    {.key = "dtype", .type = NNC_OPT_FIXED, .literal = "\"float32\"", .flags = NNC_OPTF_CONFIG_ONLY},
    {.key = "sparse", .type = NNC_OPT_CONST, .literal = "false", .flags = NNC_OPTF_CONFIG_ONLY},
};

const nnc_layer_desc nnc_input_desc = {
    "InputLayer", "input", "input_layer", "the model's input (Keras's Input(shape))",
    sizeof(nnc_input_opts), NNC_NO_NAME_FIELD, input_defaults, input_opts, NNC_OPT_COUNT_OF(input_opts),
    0, 0, NNC_LAYERF_INPUT, input_build};

nnc_node nnc_input(nnc_model *m, const int *shape, int rank, const char *name) {
    if (!m) return NNC_NONE;
    if (m->sticky) return NNC_NONE;
    if (rank < 1 || rank > NNC_MAX_RANK || !shape) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Input: rank %d is not in 1..%d", rank, NNC_MAX_RANK);
        return NNC_NONE;
    }
    nnc_input_opts o = {{rank, {0}}};
    int any_length = shape[0] == 0; /* Keras's None time axis: built at 1 step, written None */
    for (int i = any_length; i < rank; i++) {
        if (shape[i] <= 0) {
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "Input: dimension %d is %d, not positive", i + 1,
                                 shape[i]);
            return NNC_NONE;
        }
        o.shape.dim[i] = shape[i];
    }
    if (m->n_inputs == NNC_MAX_INPUTS) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Input: at most %d inputs", NNC_MAX_INPUTS);
        return NNC_NONE;
    }
    int l = nnc_layer_start(m, &nnc_input_desc, NULL, 0, &o, name, NULL);
    if (l < 0) return NNC_NONE;
    nnc_shape s = o.shape;
    if (any_length) s.dim[0] = 1;
    int id = nnc_graph_node(m, NNC_OP_INPUT, NULL, 0, &s, 1);
    if (id < 0) return NNC_NONE;
    if (any_length) m->var_length_inputs |= 1u << m->n_inputs;
    m->nodes[id].input_index = m->n_inputs;
    m->inputs[m->n_inputs++] = id;
    nnc_layer_end(m, l, id);
    return id;
}

/* ---- Dense -------------------------------------------------------------------------------- */

nnc_dense_opts nnc_dense_opts_default(int units) {
    nnc_dense_opts o;
    memset(&o, 0, sizeof o);
    o.units = units;
    o.activation = NNC_ACT_LINEAR;
    o.use_bias = true;
    o.kernel_initializer = nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM);
    o.bias_initializer = nnc_initializer_default(NNC_INIT_ZEROS);
    return o;
}

int nnc_apply_activation(nnc_model *m, int x, nnc_activation a) {
    if (a == NNC_ACT_LINEAR) return x;
    nnc_op_attr at = {.act = a, .alpha = 0.2f}; /* keras.activations.leaky_relu's slope */
    return nnc_graph_op(m, a == NNC_ACT_SOFTMAX ? NNC_OP_SOFTMAX : NNC_OP_ACT, &x, 1, at);
}

int nnc_dense_opts_check(nnc_model *m, const nnc_dense_opts *o, const char *who, const char *name) {
    const nnc_regularizer *rg[3] = {&o->kernel_regularizer, &o->bias_regularizer, &o->activity_regularizer};
    for (int i = 0; i < 3; i++)
        if (!(rg[i]->l1 >= 0.0f && rg[i]->l2 >= 0.0f && rg[i]->l1 < 1e30f && rg[i]->l2 < 1e30f)) {
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': regularization factors must be finite and >= 0", who, name);
            return -1;
        }
    if (o->units <= 0 || (unsigned)o->activation >= NNC_ACT_COUNT ||
        (unsigned)o->kernel_initializer.kind >= NNC_INIT_COUNT ||
        (unsigned)o->bias_initializer.kind >= NNC_INIT_COUNT) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': %s", who, name,
                             o->units <= 0 ? "units must be positive" : "unknown activation or initializer");
        return -1;
    }
    return 0;
}

int nnc_dense_ops(nnc_model *m, int l, int x, const nnc_dense_opts *o) {
    int fan_in = m->nodes[x].shape.dim[m->nodes[x].shape.rank - 1];
    nnc_shape ks = {2, {fan_in, o->units}}, bs = {1, {o->units}};
    int k = nnc_layer_param(m, l, "kernel", &ks, o->kernel_initializer, fan_in, o->units, 1);
    if (k < 0) return -1;
    int ops[2] = {x, k};
    int y = nnc_graph_op(m, NNC_OP_MATMUL, ops, 2, (nnc_op_attr){0});
    if (y < 0) return -1;
    if (o->use_bias) {
        int b = nnc_layer_param(m, l, "bias", &bs, o->bias_initializer, fan_in, o->units, 1);
        if (b < 0) return -1;
        int bo[2] = {y, b};
        if ((y = nnc_graph_op(m, NNC_OP_BIAS_ADD, bo, 2, (nnc_op_attr){0})) < 0) return -1;
    }
    return nnc_apply_activation(m, y, o->activation);
}

static nnc_node dense_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                            const char *name) {
    const nnc_dense_opts *o = opts;
    if (!m || m->sticky || nnc_dense_opts_check(m, o, "Dense", name ? name : "dense")) return NNC_NONE;
    int x;
    int l = nnc_layer_start(m, &nnc_dense_desc, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    int y = nnc_dense_ops(m, l, x, o);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_dense(nnc_model *m, nnc_node x, const nnc_dense_opts *o) {
    return dense_build(m, &x, 1, o, o->name);
}

static void dense_defaults(void *o) { *(nnc_dense_opts *)o = nnc_dense_opts_default(0); }

static const nnc_opt_desc dense_opts[] = {
    {NNC_OPT_ROW("units", NNC_OPT_INT, nnc_dense_opts, units, 0), .lo = 1, .hi = 1 << 24,
     .flags = NNC_OPTF_REQUIRED, .example = "dense 25", .help = "outputs"},
    {NNC_OPT_ROW("activation", NNC_OPT_ACTIVATION, nnc_dense_opts, activation, 1), .help = "applied to x·W + b"},
    {NNC_OPT_ROW("use_bias", NNC_OPT_BOOL, nnc_dense_opts, use_bias, -1), .help = "add the bias b"},
    {NNC_OPT_ROW("kernel_initializer", NNC_OPT_INITIALIZER, nnc_dense_opts, kernel_initializer, -1)},
    {NNC_OPT_ROW("bias_initializer", NNC_OPT_INITIALIZER, nnc_dense_opts, bias_initializer, -1)},
    {NNC_OPT_ROW("kernel_regularizer", NNC_OPT_REGULARIZER, nnc_dense_opts, kernel_regularizer, -1),
     .help = "penalty on W added to the loss"},
    {NNC_OPT_ROW("bias_regularizer", NNC_OPT_REGULARIZER, nnc_dense_opts, bias_regularizer, -1)},
    {NNC_OPT_ROW("activity_regularizer", NNC_OPT_REGULARIZER, nnc_dense_opts, activity_regularizer, -1),
     .help = "penalty on the layer's output"},
};

const nnc_layer_desc nnc_dense_desc = {
    "Dense", "dense", "dense", "activation(x·W + b)",
    sizeof(nnc_dense_opts), offsetof(nnc_dense_opts, name), dense_defaults, dense_opts,
    NNC_OPT_COUNT_OF(dense_opts), 1, 1, NNC_LAYERF_MASK_PASS, dense_build};

/* ---- Activation --------------------------------------------------------------------------- */

static nnc_node activation_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                                 const char *name) {
    nnc_activation a = ((const nnc_activation_layer_opts *)opts)->activation;
    if (!m || m->sticky) return NNC_NONE;
    if ((unsigned)a >= NNC_ACT_COUNT) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Activation: unknown activation %d", (int)a);
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, &nnc_activation_desc, in, n_in, opts, name, &x);
    if (l < 0) return NNC_NONE;
    /* a linear Activation still gets a node of its own, so the layer has an output */
    int y = a == NNC_ACT_LINEAR ? nnc_graph_op(m, NNC_OP_ACT, &x, 1, (nnc_op_attr){.act = a})
                                : nnc_apply_activation(m, x, a);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_activation_layer(nnc_model *m, nnc_node x, nnc_activation a, const char *name) {
    nnc_activation_layer_opts o = {a};
    return activation_build(m, &x, 1, &o, name);
}

static void activation_defaults(void *o) {
    ((nnc_activation_layer_opts *)o)->activation = NNC_ACT_LINEAR;
}

static const nnc_opt_desc activation_opts[] = {
    {NNC_OPT_ROW("activation", NNC_OPT_ACTIVATION, nnc_activation_layer_opts, activation, 0),
     .flags = NNC_OPTF_REQUIRED, .example = "activation relu", .help = "the function applied"},
};

const nnc_layer_desc nnc_activation_desc = {
    "Activation", "activation", "activation", "an activation function as a layer",
    sizeof(nnc_activation_layer_opts), NNC_NO_NAME_FIELD, activation_defaults, activation_opts,
    NNC_OPT_COUNT_OF(activation_opts), 1, 1, NNC_LAYERF_MASK_PASS, activation_build};

/* ---- Softmax ---------------------------------------------------------------------------- */

/* Keras's Softmax(axis): an int (or a list of one), counted as Keras does; the last axis is the
 * softmax op that the cross-entropies fuse with, another axis its own op. */
static nnc_node softmax_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                              const char *name) {
    const nnc_shape *axis = &((const nnc_softmax_opts *)opts)->axis;
    int x;
    int l = nnc_layer_start(m, &nnc_softmax_desc, in, n_in, opts, name, &x);
    if (l < 0) return NNC_NONE;
    const int rank = m->nodes[x].shape.rank;
    int a = axis->rank == 1 ? axis->dim[0] : 0;
    if (a < 0) a += rank + 1;
    if (axis->rank != 1 || a < 1 || a > rank) {
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "Softmax '%s': axis must be one axis of inputs of rank %d (-1 the "
                             "last, 1 the first after the batch)", m->layers[l].name, rank + 1);
        return NNC_NONE;
    }
    nnc_op_attr at = {0};
    at.axis = a - 1;
    int y = nnc_graph_op(m, a == rank ? NNC_OP_SOFTMAX : NNC_OP_SOFTMAX_AXIS, &x, 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_softmax_layer(nnc_model *m, nnc_node x, const char *name) {
    return nnc_softmax_axis(m, x, -1, name);
}

nnc_node nnc_softmax_axis(nnc_model *m, nnc_node x, int axis, const char *name) {
    nnc_softmax_opts o = {{1, {axis}}};
    return softmax_build(m, &x, 1, &o, name);
}

static void softmax_defaults(void *o) { *(nnc_softmax_opts *)o = (nnc_softmax_opts){{1, {-1}}}; }

static const nnc_opt_desc softmax_opts[] = {
    {NNC_OPT_ROW("axis", NNC_OPT_SHAPE, nnc_softmax_opts, axis, 0), .lo = -NNC_MAX_RANK - 1, .hi = NNC_MAX_RANK,
     .flags = NNC_OPTF_SCALAR, .help = "Keras's count: -1 the last, 1 the first after the batch"},
};

const nnc_layer_desc nnc_softmax_desc = {
    "Softmax", "softmax", "softmax", "exp(x) / Σ exp(x) along an axis",
    sizeof(nnc_softmax_opts), NNC_NO_NAME_FIELD, softmax_defaults, softmax_opts, NNC_OPT_COUNT_OF(softmax_opts),
    1, 1, 0, softmax_build};

/* ---- Add and Concatenate ------------------------------------------------------------------ */

static nnc_node add_build(nnc_model *m, const nnc_node *xs, int n, const void *opts, const char *name) {
    int in[NNC_MAX_INPUTS];
    int l = nnc_layer_start(m, &nnc_add_desc, xs, n, opts, name, in);
    if (l < 0) return NNC_NONE;
    for (int i = 1; i < n; i++)
        if (!nnc_shape_eq(&m->nodes[in[0]].shape, &m->nodes[in[i]].shape)) {
            char a[64], b[64];
            nnc_shape_str(&m->nodes[in[0]].shape, 1, a, sizeof a);
            nnc_shape_str(&m->nodes[in[i]].shape, 1, b, sizeof b);
            m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "layer '%s': cannot add %s and %s",
                                 m->layers[l].name, a, b);
            return NNC_NONE;
        }
    int y = in[0];
    for (int i = 1; i < n; i++) {
        int pair[2] = {y, in[i]};
        if ((y = nnc_graph_op(m, NNC_OP_ADD, pair, 2, (nnc_op_attr){0})) < 0) return NNC_NONE;
    }
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_add(nnc_model *m, const nnc_node *xs, int n, const char *name) {
    nnc_no_opts o = {0};
    return add_build(m, xs, n, &o, name);
}

const nnc_layer_desc nnc_add_desc = {
    "Add", "add", "add", "the elementwise sum of its inputs",
    sizeof(nnc_no_opts), NNC_NO_NAME_FIELD, no_defaults, no_opts, 0, 2, NNC_MAX_INPUTS,
    NNC_LAYERF_LIST_INPUT | NNC_LAYERF_MASK_PASS, add_build};

static nnc_node concatenate_build(nnc_model *m, const nnc_node *xs, int n, const void *opts,
                                  const char *name) {
    int in[NNC_MAX_INPUTS], axis = ((const nnc_axis_opts *)opts)->axis;
    int l = nnc_layer_start(m, &nnc_concatenate_desc, xs, n, opts, name, in);
    if (l < 0) return NNC_NONE;
    int rank = m->nodes[in[0]].shape.rank;
    int ax = axis < 0 ? rank + axis : axis - 1; /* Keras counts the batch axis as 0 */
    int y = nnc_graph_op(m, NNC_OP_CONCAT, in, n, (nnc_op_attr){.axis = ax});
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_concatenate(nnc_model *m, const nnc_node *xs, int n, int axis, const char *name) {
    nnc_axis_opts o = {axis};
    return concatenate_build(m, xs, n, &o, name);
}

static const nnc_opt_desc concatenate_opts[] = {
    {NNC_OPT_ROW("axis", NNC_OPT_INT, nnc_axis_opts, axis, 0), .lo = -NNC_MAX_RANK - 1,
     .hi = NNC_MAX_RANK, .help = "Keras's count: -1 the last, 1 the first after the batch"},
};

const nnc_layer_desc nnc_concatenate_desc = {
    "Concatenate", "concatenate", "concatenate", "its inputs joined along one axis",
    sizeof(nnc_axis_opts), NNC_NO_NAME_FIELD, last_axis, concatenate_opts,
    NNC_OPT_COUNT_OF(concatenate_opts), 2, NNC_MAX_INPUTS, NNC_LAYERF_LIST_INPUT | NNC_LAYERF_MASK_PASS,
    concatenate_build};

nnc_status nnc_set_outputs(nnc_model *m, const nnc_node *outs, int n) {
    if (!m) return NNC_ERR_ARG;
    if (m->sticky) return m->sticky;
    if (n < 1 || n > NNC_MAX_INPUTS)
        return nnc_fail(m, NNC_ERR_ARG, "set_outputs: %d outputs (1..%d)", n, NNC_MAX_INPUTS);
    for (int i = 0; i < n; i++) {
        if (outs[i] < 0 || outs[i] >= m->n_nodes || !m->nodes[outs[i]].batched)
            return nnc_fail(m, NNC_ERR_ARG, "set_outputs: output %d is not a tensor of the model",
                            i);
        m->outputs[i] = outs[i];
    }
    m->n_outputs = n;
    return NNC_OK;
}
