/* Keras's recurrent layers SimpleRNN, GRU and LSTM: their variables in Keras's layouts
 * (kernel [in, G·units], recurrent_kernel [units, G·units], bias) and one RECURRENT op over the
 * sequence (src/ops/recurrent.c). A mask on the input (Embedding(mask_zero), Masking) is read
 * by the op; the output keeps it when it is a sequence. */
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_simple_rnn_desc, nnc_lstm_desc, nnc_gru_desc;

nnc_rnn_opts nnc_rnn_opts_default(int units) {
    nnc_rnn_opts o;
    memset(&o, 0, sizeof o);
    o.units = units;
    o.activation = NNC_ACT_TANH;
    o.recurrent_activation = NNC_ACT_SIGMOID;
    o.use_bias = true;
    o.kernel_initializer = nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM);
    o.recurrent_initializer = nnc_initializer_default(NNC_INIT_ORTHOGONAL);
    o.bias_initializer = nnc_initializer_default(NNC_INIT_ZEROS);
    o.unit_forget_bias = true;
    o.reset_after = true;
    return o;
}

static int check_opts(nnc_model *m, const nnc_layer_desc *d, const nnc_rnn_opts *o, const char *who) {
    const nnc_regularizer *rg[4] = {&o->kernel_regularizer, &o->recurrent_regularizer, &o->bias_regularizer,
                                    &o->activity_regularizer};
    const char *why = NULL;
    for (int i = 0; i < 4; i++)
        if (!(rg[i]->l1 >= 0.0f && rg[i]->l2 >= 0.0f && rg[i]->l1 < 1e30f && rg[i]->l2 < 1e30f))
            why = "regularization factors must be finite and >= 0";
    if (o->units <= 0) why = "units must be positive";
    if ((unsigned)o->activation >= NNC_ACT_COUNT || (unsigned)o->recurrent_activation >= NNC_ACT_COUNT ||
        o->activation == NNC_ACT_SOFTMAX || o->recurrent_activation == NNC_ACT_SOFTMAX)
        why = "activations must be elementwise";
    if (!(o->dropout >= 0.0f && o->dropout < 1.0f) || !(o->recurrent_dropout >= 0.0f && o->recurrent_dropout < 1.0f))
        why = "dropout and recurrent_dropout must be in [0, 1)";
    if (!why) return 0;
    m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': %s", d->keras_class, who, why);
    return -1;
}

/* The variables (named prefix + Keras's name) and the RECURRENT op of one direction on node x,
 * in layer l, starting from the states init[0..n_init) (none: zeros); with return_state, its
 * final states (h, and LSTM's c) as RNN_STATE nodes in states. The op's node, or -1. */
static int recurrent_ops(nnc_model *m, int l, int gates, int x, const nnc_rnn_opts *o, const char *prefix,
                         int reverse_output, const int *init, int n_init, int *states) {
    const int I = m->nodes[x].shape.dim[1], u = o->units, gu = gates * u, two = gates == 3 && o->reset_after;
    nnc_shape ks = {2, {I, gu}}, rs = {2, {u, gu}}, bs = two ? (nnc_shape){2, {2, gu}} : (nnc_shape){1, {gu}};
    char kn[48], rn[48], bn[48];
    snprintf(kn, sizeof kn, "%skernel", prefix);
    snprintf(rn, sizeof rn, "%srecurrent_kernel", prefix);
    snprintf(bn, sizeof bn, "%sbias", prefix);
    int ops[7] = {x, -1, -1, -1, -1, -1, -1}, n = 3;
    ops[1] = nnc_layer_param(m, l, kn, &ks, o->kernel_initializer, I, gu, 1);
    ops[2] = nnc_layer_param(m, l, rn, &rs, o->recurrent_initializer, u, gu, 1);
    if (ops[1] < 0 || ops[2] < 0) return -1;
    if (o->use_bias) {
        if ((ops[n++] = nnc_layer_param(m, l, bn, &bs, o->bias_initializer, I, gu, 1)) < 0) return -1;
        if (gates == 4 && o->unit_forget_bias) { /* Keras: the forget gate's bias starts at 1 */
            nnc_param_rec *p = &m->params[m->nodes[ops[3]].param];
            p->ones_first = u, p->ones_count = u;
        }
    }
    for (int k = 0; k < n_init; k++) ops[n++] = init[k];
    const int mask = m->nodes[x].mask;
    if (mask >= 0) ops[n++] = mask;
    nnc_op_attr at = {0};
    at.rnn.gates = gates, at.rnn.units = u;
    at.rnn.go_backwards = o->go_backwards, at.rnn.return_sequences = o->return_sequences;
    at.rnn.reverse_output = reverse_output;
    at.rnn.reset_after = two, at.rnn.has_bias = o->use_bias, at.rnn.has_mask = mask >= 0, at.rnn.n_init = n_init;
    at.rnn.act = o->activation, at.rnn.rec_act = o->recurrent_activation;
    at.rnn.dropout = o->dropout, at.rnn.rec_dropout = o->recurrent_dropout;
    int y = nnc_graph_op(m, NNC_OP_RECURRENT, ops, n, at);
    if (y >= 0 && o->return_sequences) m->nodes[y].mask = mask;
    for (int k = 0; y >= 0 && o->return_state && k < (gates == 4 ? 2 : 1); k++) {
        nnc_op_attr sa = {0};
        sa.rnn.state = k;
        if ((states[k] = nnc_graph_op(m, NNC_OP_RNN_STATE, &y, 1, sa)) < 0) return -1;
    }
    return y;
}

/* Keras's initial_state of layer l: `want` tensors of shape (units); an error naming the layer
 * and what it needs otherwise. */
static int check_initial_state(nnc_model *m, int l, const int *st, int n, int want, int units, const char *what) {
    const nnc_layer_rec *r = &m->layers[l];
    for (int k = 0; k < n && n == want; k++) {
        const nnc_node_rec *s = &m->nodes[st[k]];
        if (s->batched && s->shape.rank == 1 && s->shape.dim[0] == units) continue;
        char sh[64];
        nnc_shape_str(&s->shape, s->batched, sh, sizeof sh);
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "%s '%s': initial_state[%d] is %s, the layer's states are (None, %d)",
                             nnc_layer_class(r), r->name, k, sh, units);
        return -1;
    }
    if (n == want || n == 0) return 0;
    m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': initial_state needs %d tensor%s (%s) of shape (None, %d), got %d",
                         nnc_layer_class(r), r->name, want, want == 1 ? "" : "s", what, units, n);
    return -1;
}

/* Records the final states of layer l as its output tensors 1, 2, ... (return_state). */
static void keep_states(nnc_model *m, int l, const int *states, int n) {
    memcpy(m->layers[l].more, states, (size_t)n * sizeof *states);
    m->layers[l].n_more = n;
}

/* Starts layer d on sequences; its index (and the inputs in x[0..n_in): the sequence, then any
 * initial states), or -1. */
static int start_on_sequences(nnc_model *m, const nnc_layer_desc *d, const nnc_node *in, int n_in, const void *o,
                              const char *name, int *x) {
    int l = nnc_layer_start(m, d, in, n_in, o, name, x);
    if (l < 0) return -1;
    const nnc_node_rec *xn = &m->nodes[x[0]];
    if (xn->shape.rank != 2) {
        char s[64];
        nnc_shape_str(&xn->shape, 1, s, sizeof s);
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': needs sequences (batch, steps, features), got %s",
                             d->keras_class, m->layers[l].name, s);
        return -1;
    }
    return l;
}

static nnc_node recurrent_build(nnc_model *m, const nnc_layer_desc *d, int gates, const nnc_node *in, int n_in,
                                const nnc_rnn_opts *o, const char *name) {
    if (!m || m->sticky) return NNC_NONE;
    if (check_opts(m, d, o, name ? name : d->stem)) return NNC_NONE;
    int x[NNC_MAX_INPUTS], st[2], l = start_on_sequences(m, d, in, n_in, o, name, x);
    const int ns = gates == 4 ? 2 : 1;
    if (l < 0 || check_initial_state(m, l, x + 1, n_in - 1, ns, o->units, gates == 4 ? "h, c" : "h")) return NNC_NONE;
    int y = recurrent_ops(m, l, gates, x[0], o, "", 0, x + 1, n_in - 1, st);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    if (o->return_state) keep_states(m, l, st, ns);
    return y;
}

static nnc_node simple_rnn_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return recurrent_build(m, &nnc_simple_rnn_desc, 1, in, n_in, o, name);
}
static nnc_node gru_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return recurrent_build(m, &nnc_gru_desc, 3, in, n_in, o, name);
}
static nnc_node lstm_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return recurrent_build(m, &nnc_lstm_desc, 4, in, n_in, o, name);
}

/* The C call of a layer: x, then o's initial_state as further inputs; the record keeps no
 * caller's pointer. */
static nnc_node call(nnc_model *m, nnc_node x, const nnc_rnn_opts *o, const char *cls, nnc_bidirectional_opts *bi,
                     nnc_node (*build)(nnc_model *, const nnc_node *, int, const void *, const char *)) {
    if (!m || m->sticky) return NNC_NONE;
    nnc_node in[NNC_MAX_INPUTS] = {x};
    const int n = o->initial_state ? o->n_initial_state : 0;
    const char *name = bi ? bi->name : o->name;
    if (n < 0 || n > NNC_LAYER_MORE_OUTPUTS) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': initial_state holds at most %d tensors, got %d", cls,
                             name ? name : "?", NNC_LAYER_MORE_OUTPUTS, n);
        return NNC_NONE;
    }
    if (n) memcpy(in + 1, o->initial_state, (size_t)n * sizeof *in);
    nnc_rnn_opts c = *o;
    c.initial_state = NULL, c.n_initial_state = 0, c.name = NULL;
    if (!bi) return build(m, in, 1 + n, &c, o->name);
    bi->rnn = c;
    return build(m, in, 1 + n, bi, bi->name);
}

nnc_node nnc_simple_rnn(nnc_model *m, nnc_node x, const nnc_rnn_opts *o) {
    return call(m, x, o, "SimpleRNN", NULL, simple_rnn_build);
}
nnc_node nnc_gru(nnc_model *m, nnc_node x, const nnc_rnn_opts *o) { return call(m, x, o, "GRU", NULL, gru_build); }
nnc_node nnc_lstm(nnc_model *m, nnc_node x, const nnc_rnn_opts *o) { return call(m, x, o, "LSTM", NULL, lstm_build); }

int nnc_rnn_states(nnc_model *m, nnc_node layer_output, nnc_node *states, int max) {
    if (!m) return -1;
    const int l = layer_output >= 0 && layer_output < m->n_nodes ? m->nodes[layer_output].layer : -1;
    if (l < 0 || m->layers[l].output != layer_output) {
        nnc_fail(m, NNC_ERR_ARG, "nnc_rnn_states: node %d is not a layer's output", layer_output);
        return -1;
    }
    for (int k = 0; k < m->layers[l].n_more && k < max; k++) states[k] = m->layers[l].more[k];
    return m->layers[l].n_more;
}

static void rnn_defaults(void *o) { *(nnc_rnn_opts *)o = nnc_rnn_opts_default(0); }

/* The rows of all three, in Keras 3's get_config order, for options struct ST with the fields
 * under P (empty, or "rnn." inside a wrapper's) and flags FL on each (NNC_OPTF_NESTED in a
 * wrapper). GRU's reset_after and LSTM's unit_forget_bias are rows of theirs only. */
#define RNN_ROW(k, t, ST, P, f, pos, FL) NNC_OPT_ROW(k, t, ST, P f, pos), .flags = (FL)
#define RNN_HEAD(ST, P, FL, ex)                                                                                       \
    {RNN_ROW("units", NNC_OPT_INT, ST, P, units, (FL) ? 1 : 0, NNC_OPTF_REQUIRED | (FL)), .lo = 1, .hi = 1 << 20,     \
     .example = ex, .help = "the state's size"},                                                                      \
        {RNN_ROW("activation", NNC_OPT_ACTIVATION, ST, P, activation, -1, FL), .help = "of the candidate state"}
#define RNN_REC_ACT(ST, P, FL)                                                                                        \
    {RNN_ROW("recurrent_activation", NNC_OPT_ACTIVATION, ST, P, recurrent_activation, -1, FL), .help = "of the gates"}
#define RNN_INITS(ST, P, FL)                                                                                          \
    {RNN_ROW("use_bias", NNC_OPT_BOOL, ST, P, use_bias, -1, FL)},                                                     \
        {RNN_ROW("kernel_initializer", NNC_OPT_INITIALIZER, ST, P, kernel_initializer, -1, FL)},                      \
        {RNN_ROW("recurrent_initializer", NNC_OPT_INITIALIZER, ST, P, recurrent_initializer, -1, FL)},                \
        {RNN_ROW("bias_initializer", NNC_OPT_INITIALIZER, ST, P, bias_initializer, -1, FL)}
#define RNN_FORGET(ST, P, FL)                                                                                         \
    {RNN_ROW("unit_forget_bias", NNC_OPT_BOOL, ST, P, unit_forget_bias, -1, FL),                                      \
     .help = "LSTM: start the forget gate's bias at 1"}
#define RNN_RESET(ST, P, FL)                                                                                          \
    {RNN_ROW("reset_after", NNC_OPT_BOOL, ST, P, reset_after, -1, FL),                                                \
     .help = "GRU: apply the reset gate after the recurrent kernel (two biases)"}
#define RNN_TAIL(ST, P, FL)                                                                                           \
    {RNN_ROW("kernel_regularizer", NNC_OPT_REGULARIZER, ST, P, kernel_regularizer, -1, FL)},                          \
        {RNN_ROW("recurrent_regularizer", NNC_OPT_REGULARIZER, ST, P, recurrent_regularizer, -1, FL)},                \
        {RNN_ROW("bias_regularizer", NNC_OPT_REGULARIZER, ST, P, bias_regularizer, -1, FL)},                          \
        {RNN_ROW("activity_regularizer", NNC_OPT_REGULARIZER, ST, P, activity_regularizer, -1, FL)},                  \
        {RNN_ROW("dropout", NNC_OPT_FLOAT, ST, P, dropout, -1, FL), .lo = 0.0, .hi = 0.999999,                         \
         .help = "of the inputs, one mask per sequence"},                                                             \
        {RNN_ROW("recurrent_dropout", NNC_OPT_FLOAT, ST, P, recurrent_dropout, -1, FL), .lo = 0.0, .hi = 0.999999,    \
         .help = "of the state read by the recurrent kernel"},                                                        \
        {RNN_ROW("return_sequences", NNC_OPT_BOOL, ST, P, return_sequences, -1, FL),                                  \
         .help = "every step's output, not the last only"},                                                           \
        {RNN_ROW("return_state", NNC_OPT_BOOL, ST, P, return_state, -1, FL),                                          \
         .help = "the final states too: [output, h] (LSTM: [output, h, c])"},                                        \
        {RNN_ROW("go_backwards", NNC_OPT_BOOL, ST, P, go_backwards, -1, FL), .help = "read the steps last to first"}, \
        {.key = "stateful", .type = NNC_OPT_CONST, .literal = "false", .flags = NNC_OPTF_CONFIG_ONLY | (FL)},         \
        {.key = "unroll", .type = NNC_OPT_FIXED, .literal = "false", .flags = NNC_OPTF_CONFIG_ONLY | (FL)}

#define P0 /* the fields at the top of nnc_rnn_opts */
static const nnc_opt_desc simple_rnn_opts[] = {RNN_HEAD(nnc_rnn_opts, P0, 0, "simple_rnn 32"),
                                               RNN_INITS(nnc_rnn_opts, P0, 0), RNN_TAIL(nnc_rnn_opts, P0, 0)};
static const nnc_opt_desc lstm_opts[] = {RNN_HEAD(nnc_rnn_opts, P0, 0, "lstm 128"), RNN_REC_ACT(nnc_rnn_opts, P0, 0),
                                         RNN_INITS(nnc_rnn_opts, P0, 0), RNN_FORGET(nnc_rnn_opts, P0, 0),
                                         RNN_TAIL(nnc_rnn_opts, P0, 0)};
static const nnc_opt_desc gru_opts[] = {RNN_HEAD(nnc_rnn_opts, P0, 0, "gru 64"), RNN_REC_ACT(nnc_rnn_opts, P0, 0),
                                        RNN_INITS(nnc_rnn_opts, P0, 0), RNN_TAIL(nnc_rnn_opts, P0, 0),
                                        RNN_RESET(nnc_rnn_opts, P0, 0)};

#define RNN_DESC(var, cls, kw, help, rows, build)                                                                  \
    const nnc_layer_desc var = {cls, kw, kw, help, sizeof(nnc_rnn_opts), offsetof(nnc_rnn_opts, name), rnn_defaults, \
                                rows, NNC_OPT_COUNT_OF(rows), 1, 1,                                                    \
                                NNC_LAYERF_MASK_CONSUME | NNC_LAYERF_INITIAL_STATE, build}
RNN_DESC(nnc_simple_rnn_desc, "SimpleRNN", "simple_rnn", "h = activation(x·W + h·U + b) at each step", simple_rnn_opts,
         simple_rnn_build);
RNN_DESC(nnc_lstm_desc, "LSTM", "lstm", "long short-term memory: gates i, f, c, o over the steps", lstm_opts,
         lstm_build);
RNN_DESC(nnc_gru_desc, "GRU", "gru", "gated recurrent unit: gates z, r, h over the steps", gru_opts, gru_build);

/* ---- Bidirectional ------------------------------------------------------------------------ */

nnc_bidirectional_opts nnc_bidirectional_opts_default(nnc_rnn_kind layer, int units) {
    nnc_bidirectional_opts o;
    memset(&o, 0, sizeof o);
    o.layer = layer;
    o.rnn = nnc_rnn_opts_default(units);
    o.merge_mode = NNC_MERGE_CONCAT;
    return o;
}

static const int kind_gates[3] = {1, 4, 3}; /* nnc_rnn_kind: SimpleRNN, LSTM, GRU */

/* The same layer run forward and backward over x (the backward one's sequence turned back to
 * input order, as Keras's Bidirectional does), merged: concatenated, summed, multiplied or
 * averaged. Variables forward_kernel, ..., backward_bias: nnc's names of Keras's
 * forward_layer/cell and backward_layer/cell groups. */
static nnc_node bidirectional_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    extern const nnc_layer_desc nnc_bidirectional_desc;
    const nnc_bidirectional_opts *o = opts;
    if (!m || m->sticky) return NNC_NONE;
    const nnc_layer_desc *d = &nnc_bidirectional_desc;
    if ((unsigned)o->layer > NNC_RNN_GRU || (unsigned)o->merge_mode > NNC_MERGE_AVE) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Bidirectional '%s': unknown layer or merge_mode", name ? name : d->stem);
        return NNC_NONE;
    }
    if (check_opts(m, d, &o->rnn, name ? name : d->stem)) return NNC_NONE;
    int x[NNC_MAX_INPUTS], st[4], l = start_on_sequences(m, d, in, n_in, o, name, x);
    const int g = kind_gates[o->layer], ns = g == 4 ? 2 : 1, half = n_in > 1 ? ns : 0;
    if (l < 0 || check_initial_state(m, l, x + 1, n_in - 1, 2 * ns, o->rnn.units,
                                     g == 4 ? "forward h, c, backward h, c" : "forward h, backward h"))
        return NNC_NONE;
    nnc_rnn_opts back = o->rnn;
    back.go_backwards = !back.go_backwards;
    int ys[2] = {recurrent_ops(m, l, g, x[0], &o->rnn, "forward_", 0, x + 1, half, st), -1};
    if (ys[0] >= 0)
        ys[1] = recurrent_ops(m, l, g, x[0], &back, "backward_", o->rnn.return_sequences, x + 1 + half, half, st + ns);
    if (ys[1] < 0) return NNC_NONE;
    const int mask = m->nodes[ys[0]].mask;
    int y;
    if (o->merge_mode == NNC_MERGE_CONCAT)
        y = nnc_graph_op(m, NNC_OP_CONCAT, ys, 2, (nnc_op_attr){.axis = m->nodes[ys[0]].shape.rank - 1});
    else
        y = nnc_graph_op(m, o->merge_mode == NNC_MERGE_MUL ? NNC_OP_MUL : NNC_OP_ADD, ys, 2, (nnc_op_attr){0});
    if (y >= 0 && o->merge_mode == NNC_MERGE_AVE) y = nnc_graph_op(m, NNC_OP_AFFINE, &y, 1, (nnc_op_attr){.scale = 0.5f});
    if (y < 0) return NNC_NONE;
    m->nodes[y].mask = mask;
    nnc_layer_end(m, l, y);
    if (o->rnn.return_state) keep_states(m, l, st, 2 * ns);
    return y;
}

nnc_node nnc_bidirectional(nnc_model *m, nnc_node x, const nnc_bidirectional_opts *o) {
    nnc_bidirectional_opts b = *o;
    return call(m, x, &o->rnn, "Bidirectional", &b, bidirectional_build);
}

static void bidirectional_defaults(void *o) {
    *(nnc_bidirectional_opts *)o = nnc_bidirectional_opts_default(NNC_RNN_LSTM, 0);
}

#define PB rnn.
#define NB NNC_OPTF_NESTED
static const nnc_opt_desc bidirectional_opts[] = {
    {NNC_OPT_ROW("layer", NNC_OPT_CHOICE, nnc_bidirectional_opts, layer, 0), .literal = "simple_rnn|lstm|gru",
     .flags = NNC_OPTF_REQUIRED | NNC_OPTF_NESTED | NNC_OPTF_NESTED_CLASS, .example = "bidirectional lstm 64",
     .help = "the recurrent layer run both ways"},
    RNN_HEAD(nnc_bidirectional_opts, PB, NB, "bidirectional lstm 64"),
    RNN_REC_ACT(nnc_bidirectional_opts, PB, NB),
    RNN_INITS(nnc_bidirectional_opts, PB, NB),
    RNN_FORGET(nnc_bidirectional_opts, PB, NB),
    RNN_TAIL(nnc_bidirectional_opts, PB, NB),
    RNN_RESET(nnc_bidirectional_opts, PB, NB),
    {NNC_OPT_ROW("merge_mode", NNC_OPT_CHOICE, nnc_bidirectional_opts, merge_mode, -1),
     .literal = "concat|sum|mul|ave", .help = "how the two directions' outputs combine"},
};

const nnc_layer_desc nnc_bidirectional_desc = {
    "Bidirectional", "bidirectional", "bidirectional", "a recurrent layer forward and backward, merged",
    sizeof(nnc_bidirectional_opts), offsetof(nnc_bidirectional_opts, name), bidirectional_defaults,
    bidirectional_opts, NNC_OPT_COUNT_OF(bidirectional_opts), 1, 1, NNC_LAYERF_MASK_CONSUME | NNC_LAYERF_INITIAL_STATE,
    bidirectional_build};

/* ---- TimeDistributed(Dense) --------------------------------------------------------------- */

typedef struct {
    int layer;          /* the wrapped layer: Dense only */
    nnc_dense_opts dense;
} nnc_time_distributed_opts;

/* Dense already acts on the last axis, so each step gets the same kernel and bias; the layer is
 * Keras's wrapper so that its name, config and variable groups are Keras's. */
static nnc_node time_distributed_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                                       const char *name) {
    extern const nnc_layer_desc nnc_time_distributed_desc;
    const nnc_time_distributed_opts *o = opts;
    const nnc_dense_opts *d = &o->dense;
    if (!m || m->sticky || nnc_dense_opts_check(m, d, "TimeDistributed", name ? name : "time_distributed"))
        return NNC_NONE;
    int x, l = start_on_sequences(m, &nnc_time_distributed_desc, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    int y = nnc_dense_ops(m, l, x, d);
    if (y < 0) return NNC_NONE;
    m->nodes[y].mask = m->nodes[x].mask;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_time_distributed_dense(nnc_model *m, nnc_node x, const nnc_dense_opts *o) {
    nnc_time_distributed_opts t = {0, *o};
    t.dense.name = NULL; /* the record keeps no caller's string */
    return time_distributed_build(m, &x, 1, &t, o->name);
}

static void time_distributed_defaults(void *o) {
    nnc_time_distributed_opts *t = o;
    t->layer = 0;
    t->dense = nnc_dense_opts_default(0);
}

#define TD(k, t, f, pos) NNC_OPT_ROW(k, t, nnc_time_distributed_opts, dense.f, pos), .flags = NNC_OPTF_NESTED
static const nnc_opt_desc time_distributed_opts[] = {
    {NNC_OPT_ROW("layer", NNC_OPT_CHOICE, nnc_time_distributed_opts, layer, 0), .literal = "dense",
     .flags = NNC_OPTF_REQUIRED | NNC_OPTF_NESTED | NNC_OPTF_NESTED_CLASS, .example = "time_distributed dense 8",
     .help = "the layer applied to each step (Dense)"},
    {TD("units", NNC_OPT_INT, units, 1), .lo = 1, .hi = 1 << 24, .help = "outputs per step"},
    {TD("activation", NNC_OPT_ACTIVATION, activation, -1)},
    {TD("use_bias", NNC_OPT_BOOL, use_bias, -1)},
    {TD("kernel_initializer", NNC_OPT_INITIALIZER, kernel_initializer, -1)},
    {TD("bias_initializer", NNC_OPT_INITIALIZER, bias_initializer, -1)},
    {TD("kernel_regularizer", NNC_OPT_REGULARIZER, kernel_regularizer, -1)},
    {TD("bias_regularizer", NNC_OPT_REGULARIZER, bias_regularizer, -1)},
};

const nnc_layer_desc nnc_time_distributed_desc = {
    "TimeDistributed", "time_distributed", "time_distributed", "a Dense applied to each step",
    sizeof(nnc_time_distributed_opts), NNC_NO_NAME_FIELD, time_distributed_defaults, time_distributed_opts,
    NNC_OPT_COUNT_OF(time_distributed_opts), 1, 1, NNC_LAYERF_MASK_PASS, time_distributed_build};
