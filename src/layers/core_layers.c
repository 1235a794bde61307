/* Keras's core layers: Input, Dense, Activation, Add, Concatenate. Each builder checks its
 * arguments, then expresses the layer as ops on the graph. */
#include <string.h>
#include "layers.h"

static const struct {
    const char *cls, *stem;
} layer_names[NNC_LAYER_KIND_COUNT] = {
    [NNC_LAYER_INPUT] = {"InputLayer", "input_layer"},
    [NNC_LAYER_DENSE] = {"Dense", "dense"},
    [NNC_LAYER_ACTIVATION] = {"Activation", "activation"},
    [NNC_LAYER_ADD] = {"Add", "add"},
    [NNC_LAYER_CONCATENATE] = {"Concatenate", "concatenate"},
    [NNC_LAYER_RESCALING] = {"Rescaling", "rescaling"},
    [NNC_LAYER_NORMALIZATION] = {"Normalization", "normalization"},
    [NNC_LAYER_LEAKY_RELU] = {"LeakyReLU", "leaky_re_lu"},
    [NNC_LAYER_CONV2D] = {"Conv2D", "conv2d"},
    [NNC_LAYER_CONV1D] = {"Conv1D", "conv1d"},
    [NNC_LAYER_MAX_POOL2D] = {"MaxPooling2D", "max_pooling2d"},
    [NNC_LAYER_AVG_POOL2D] = {"AveragePooling2D", "average_pooling2d"},
    [NNC_LAYER_GLOBAL_AVG_POOL2D] = {"GlobalAveragePooling2D", "global_average_pooling2d"},
    [NNC_LAYER_GLOBAL_MAX_POOL2D] = {"GlobalMaxPooling2D", "global_max_pooling2d"},
    [NNC_LAYER_FLATTEN] = {"Flatten", "flatten"},
    [NNC_LAYER_RESHAPE] = {"Reshape", "reshape"},
    [NNC_LAYER_ZERO_PAD2D] = {"ZeroPadding2D", "zero_padding2d"},
    [NNC_LAYER_DROPOUT] = {"Dropout", "dropout"},
    [NNC_LAYER_BATCH_NORM] = {"BatchNormalization", "batch_normalization"},
};

const char *nnc_layer_class(nnc_layer_kind k) { return layer_names[k].cls; }
const char *nnc_layer_stem(nnc_layer_kind k) { return layer_names[k].stem; }

int nnc_layer_regularizers(const nnc_layer_rec *l, nnc_regularizer rs[3]) {
    if (l->kind == NNC_LAYER_DENSE) {
        rs[0] = l->cfg.dense.kernel_regularizer, rs[1] = l->cfg.dense.bias_regularizer;
        rs[2] = l->cfg.dense.activity_regularizer;
        return 1;
    }
    if (l->kind == NNC_LAYER_CONV2D || l->kind == NNC_LAYER_CONV1D) {
        rs[0] = l->cfg.conv.kernel_regularizer, rs[1] = l->cfg.conv.bias_regularizer;
        rs[2] = l->cfg.conv.activity_regularizer;
        return 1;
    }
    return 0;
}

int nnc_layer_state_from_data(const nnc_layer_rec *l) { return l->kind == NNC_LAYER_NORMALIZATION; }

int nnc_layer_one_input(nnc_model *m, nnc_layer_kind kind, nnc_node *x, const char *name) {
    if (!m || m->sticky) return -1;
    if ((*x = nnc_graph_resolve(m, *x, name ? name : nnc_layer_stem(kind))) < 0) return -1;
    int l = nnc_layer_begin(m, kind, nnc_layer_stem(kind), name);
    if (l < 0) return -1;
    m->layers[l].inputs[0] = *x;
    m->layers[l].n_inputs = 1;
    return l;
}


nnc_node nnc_input(nnc_model *m, const int *shape, int rank, const char *name) {
    if (!m) return NNC_NONE;
    if (m->sticky) return NNC_NONE;
    if (rank < 1 || rank > NNC_MAX_RANK || !shape) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Input: rank %d is not in 1..%d", rank, NNC_MAX_RANK);
        return NNC_NONE;
    }
    nnc_shape s = {rank, {0}};
    for (int i = 0; i < rank; i++) {
        if (shape[i] <= 0) {
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "Input: dimension %d is %d, not positive", i + 1,
                                 shape[i]);
            return NNC_NONE;
        }
        s.dim[i] = shape[i];
    }
    if (m->n_inputs == NNC_MAX_INPUTS) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Input: at most %d inputs", NNC_MAX_INPUTS);
        return NNC_NONE;
    }
    int l = nnc_layer_begin(m, NNC_LAYER_INPUT, nnc_layer_stem(NNC_LAYER_INPUT), name);
    if (l < 0) return NNC_NONE;
    int id = nnc_graph_node(m, NNC_OP_INPUT, NULL, 0, &s, 1);
    if (id < 0) return NNC_NONE;
    m->nodes[id].input_index = m->n_inputs;
    m->inputs[m->n_inputs++] = id;
    nnc_layer_end(m, l, id);
    return id;
}

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

nnc_node nnc_dense(nnc_model *m, nnc_node x, const nnc_dense_opts *o) {
    if (!m || m->sticky) return NNC_NONE;
    const char *nm = o->name ? o->name : "dense";
    const nnc_regularizer *rg[3] = {&o->kernel_regularizer, &o->bias_regularizer, &o->activity_regularizer};
    for (int i = 0; i < 3; i++)
        if (!(rg[i]->l1 >= 0.0f && rg[i]->l2 >= 0.0f && rg[i]->l1 < 1e30f && rg[i]->l2 < 1e30f)) {
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "Dense '%s': regularization factors must be finite and >= 0", nm);
            return NNC_NONE;
        }
    if (o->units <= 0 || (unsigned)o->activation >= NNC_ACT_COUNT ||
        (unsigned)o->kernel_initializer.kind >= NNC_INIT_COUNT ||
        (unsigned)o->bias_initializer.kind >= NNC_INIT_COUNT) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Dense '%s': %s", nm,
                             o->units <= 0 ? "units must be positive"
                                           : "unknown activation or initializer");
        return NNC_NONE;
    }
    if ((x = nnc_graph_resolve(m, x, nm)) < 0) return NNC_NONE;
    int l = nnc_layer_begin(m, NNC_LAYER_DENSE, nnc_layer_stem(NNC_LAYER_DENSE), o->name);
    if (l < 0) return NNC_NONE;
    m->layers[l].inputs[0] = x;
    m->layers[l].n_inputs = 1;
    m->layers[l].cfg.dense = *o;
    m->layers[l].cfg.dense.name = NULL;
    int in = m->nodes[x].shape.dim[m->nodes[x].shape.rank - 1];
    nnc_shape ks = {2, {in, o->units}}, bs = {1, {o->units}};
    int k = nnc_layer_param(m, l, "kernel", &ks, o->kernel_initializer, in, o->units, 1);
    if (k < 0) return NNC_NONE;
    int ops[2] = {x, k};
    int y = nnc_graph_op(m, NNC_OP_MATMUL, ops, 2, (nnc_op_attr){0});
    if (y < 0) return NNC_NONE;
    if (o->use_bias) {
        int b = nnc_layer_param(m, l, "bias", &bs, o->bias_initializer, in, o->units, 1);
        if (b < 0) return NNC_NONE;
        int bo[2] = {y, b};
        if ((y = nnc_graph_op(m, NNC_OP_BIAS_ADD, bo, 2, (nnc_op_attr){0})) < 0) return NNC_NONE;
    }
    if ((y = nnc_apply_activation(m, y, o->activation)) < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_activation_layer(nnc_model *m, nnc_node x, nnc_activation a, const char *name) {
    if (!m || m->sticky) return NNC_NONE;
    if ((unsigned)a >= NNC_ACT_COUNT) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Activation: unknown activation %d", (int)a);
        return NNC_NONE;
    }
    if ((x = nnc_graph_resolve(m, x, name ? name : "activation")) < 0) return NNC_NONE;
    int l = nnc_layer_begin(m, NNC_LAYER_ACTIVATION, nnc_layer_stem(NNC_LAYER_ACTIVATION), name);
    if (l < 0) return NNC_NONE;
    m->layers[l].inputs[0] = x;
    m->layers[l].n_inputs = 1;
    m->layers[l].cfg.activation = a;
    int y = a == NNC_ACT_LINEAR ? nnc_graph_op(m, NNC_OP_ACT, &x, 1, (nnc_op_attr){.act = a})
                                : nnc_apply_activation(m, x, a);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

/* Add and Concatenate: n inputs (2..NNC_MAX_INPUTS) of this model. */
static int merge_begin(nnc_model *m, nnc_layer_kind kind, const nnc_node *xs, int n,
                       const char *name, int *in) {
    const char *who = name ? name : nnc_layer_stem(kind);
    if (n < 2 || n > NNC_MAX_INPUTS || !xs) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': needs 2 to %d inputs, got %d",
                             nnc_layer_class(kind), who, NNC_MAX_INPUTS, n);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if ((in[i] = nnc_graph_resolve(m, xs[i], who)) < 0) return -1;
    int l = nnc_layer_begin(m, kind, nnc_layer_stem(kind), name);
    if (l < 0) return -1;
    memcpy(m->layers[l].inputs, in, (size_t)n * sizeof *in);
    m->layers[l].n_inputs = n;
    return l;
}

nnc_node nnc_add(nnc_model *m, const nnc_node *xs, int n, const char *name) {
    if (!m || m->sticky) return NNC_NONE;
    int in[NNC_MAX_INPUTS];
    int l = merge_begin(m, NNC_LAYER_ADD, xs, n, name, in);
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

nnc_node nnc_concatenate(nnc_model *m, const nnc_node *xs, int n, int axis, const char *name) {
    if (!m || m->sticky) return NNC_NONE;
    int in[NNC_MAX_INPUTS];
    int l = merge_begin(m, NNC_LAYER_CONCATENATE, xs, n, name, in);
    if (l < 0) return NNC_NONE;
    int rank = m->nodes[in[0]].shape.rank;
    int ax = axis < 0 ? rank + axis : axis - 1; /* Keras counts the batch axis as 0 */
    m->layers[l].cfg.axis = axis;
    int y = nnc_graph_op(m, NNC_OP_CONCAT, in, n, (nnc_op_attr){.axis = ax});
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

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
