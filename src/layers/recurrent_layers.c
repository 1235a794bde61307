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
    if (o->return_state) why = "return_state is not supported yet (use return_sequences and take the last step)";
    if (!why) return 0;
    m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': %s", d->keras_class, who, why);
    return -1;
}

static nnc_node recurrent_build(nnc_model *m, const nnc_layer_desc *d, int gates, const nnc_node *in, int n_in,
                                const nnc_rnn_opts *o, const char *name) {
    if (!m || m->sticky) return NNC_NONE;
    if (check_opts(m, d, o, name ? name : d->stem)) return NNC_NONE;
    int x;
    int l = nnc_layer_start(m, d, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    const nnc_node_rec *xn = &m->nodes[x];
    if (xn->shape.rank != 2) {
        char s[64];
        nnc_shape_str(&xn->shape, 1, s, sizeof s);
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': needs sequences (batch, steps, features), got %s",
                             d->keras_class, m->layers[l].name, s);
        return NNC_NONE;
    }
    const int I = xn->shape.dim[1], u = o->units, gu = gates * u, two = gates == 3 && o->reset_after;
    nnc_shape ks = {2, {I, gu}}, rs = {2, {u, gu}}, bs = two ? (nnc_shape){2, {2, gu}} : (nnc_shape){1, {gu}};
    int ops[5] = {x, -1, -1, -1, -1}, n = 3;
    ops[1] = nnc_layer_param(m, l, "kernel", &ks, o->kernel_initializer, I, gu, 1);
    ops[2] = nnc_layer_param(m, l, "recurrent_kernel", &rs, o->recurrent_initializer, u, gu, 1);
    if (ops[1] < 0 || ops[2] < 0) return NNC_NONE;
    if (o->use_bias) {
        if ((ops[n++] = nnc_layer_param(m, l, "bias", &bs, o->bias_initializer, I, gu, 1)) < 0) return NNC_NONE;
        if (gates == 4 && o->unit_forget_bias) { /* Keras: the forget gate's bias starts at 1 */
            nnc_param_rec *p = &m->params[m->nodes[ops[3]].param];
            p->ones_first = u, p->ones_count = u;
        }
    }
    const int mask = m->nodes[x].mask;
    if (mask >= 0) ops[n++] = mask;
    nnc_op_attr at = {0};
    at.rnn.gates = gates, at.rnn.units = u;
    at.rnn.go_backwards = o->go_backwards, at.rnn.return_sequences = o->return_sequences;
    at.rnn.reset_after = two, at.rnn.has_bias = o->use_bias, at.rnn.has_mask = mask >= 0;
    at.rnn.act = o->activation;
    at.rnn.rec_act = o->recurrent_activation;
    at.rnn.dropout = o->dropout, at.rnn.rec_dropout = o->recurrent_dropout;
    int y = nnc_graph_op(m, NNC_OP_RECURRENT, ops, n, at);
    if (y < 0) return NNC_NONE;
    if (o->return_sequences) m->nodes[y].mask = mask;
    nnc_layer_end(m, l, y);
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

nnc_node nnc_simple_rnn(nnc_model *m, nnc_node x, const nnc_rnn_opts *o) { return simple_rnn_build(m, &x, 1, o, o->name); }
nnc_node nnc_gru(nnc_model *m, nnc_node x, const nnc_rnn_opts *o) { return gru_build(m, &x, 1, o, o->name); }
nnc_node nnc_lstm(nnc_model *m, nnc_node x, const nnc_rnn_opts *o) { return lstm_build(m, &x, 1, o, o->name); }

static void rnn_defaults(void *o) { *(nnc_rnn_opts *)o = nnc_rnn_opts_default(0); }

/* The rows of all three, in Keras 3's get_config order; GRU's reset_after and LSTM's
 * unit_forget_bias are rows of theirs only. */
#define RNN_HEAD(ex)                                                                                                  \
    {NNC_OPT_ROW("units", NNC_OPT_INT, nnc_rnn_opts, units, 0), .lo = 1, .hi = 1 << 20, .flags = NNC_OPTF_REQUIRED,    \
     .example = ex, .help = "the state's size"},                                                                      \
        {NNC_OPT_ROW("activation", NNC_OPT_ACTIVATION, nnc_rnn_opts, activation, -1), .help = "of the candidate state"}
#define RNN_REC_ACT                                                                                                   \
    {NNC_OPT_ROW("recurrent_activation", NNC_OPT_ACTIVATION, nnc_rnn_opts, recurrent_activation, -1),                 \
     .help = "of the gates"}
#define RNN_INITS                                                                                                     \
    {NNC_OPT_ROW("use_bias", NNC_OPT_BOOL, nnc_rnn_opts, use_bias, -1)},                                              \
        {NNC_OPT_ROW("kernel_initializer", NNC_OPT_INITIALIZER, nnc_rnn_opts, kernel_initializer, -1)},               \
        {NNC_OPT_ROW("recurrent_initializer", NNC_OPT_INITIALIZER, nnc_rnn_opts, recurrent_initializer, -1)},         \
        {NNC_OPT_ROW("bias_initializer", NNC_OPT_INITIALIZER, nnc_rnn_opts, bias_initializer, -1)}
#define RNN_TAIL                                                                                                      \
    {NNC_OPT_ROW("kernel_regularizer", NNC_OPT_REGULARIZER, nnc_rnn_opts, kernel_regularizer, -1)},                   \
        {NNC_OPT_ROW("recurrent_regularizer", NNC_OPT_REGULARIZER, nnc_rnn_opts, recurrent_regularizer, -1)},         \
        {NNC_OPT_ROW("bias_regularizer", NNC_OPT_REGULARIZER, nnc_rnn_opts, bias_regularizer, -1)},                   \
        {NNC_OPT_ROW("activity_regularizer", NNC_OPT_REGULARIZER, nnc_rnn_opts, activity_regularizer, -1)},           \
        {NNC_OPT_ROW("dropout", NNC_OPT_FLOAT, nnc_rnn_opts, dropout, -1), .lo = 0.0, .hi = 0.999999,                  \
         .help = "of the inputs, one mask per sequence"},                                                             \
        {NNC_OPT_ROW("recurrent_dropout", NNC_OPT_FLOAT, nnc_rnn_opts, recurrent_dropout, -1), .lo = 0.0,             \
         .hi = 0.999999, .help = "of the state read by the recurrent kernel"},                                        \
        {NNC_OPT_ROW("return_sequences", NNC_OPT_BOOL, nnc_rnn_opts, return_sequences, -1),                           \
         .help = "every step's output, not the last only"},                                                           \
        {NNC_OPT_ROW("return_state", NNC_OPT_BOOL, nnc_rnn_opts, return_state, -1), .help = "not supported yet"},     \
        {NNC_OPT_ROW("go_backwards", NNC_OPT_BOOL, nnc_rnn_opts, go_backwards, -1),                                   \
         .help = "read the steps last to first"},                                                                     \
        {.key = "stateful", .type = NNC_OPT_CONST, .literal = "false", .flags = NNC_OPTF_CONFIG_ONLY},                \
        {.key = "unroll", .type = NNC_OPT_FIXED, .literal = "false", .flags = NNC_OPTF_CONFIG_ONLY}

static const nnc_opt_desc simple_rnn_opts[] = {RNN_HEAD("simple_rnn 32"), RNN_INITS, RNN_TAIL};
static const nnc_opt_desc lstm_opts[] = {
    RNN_HEAD("lstm 128"), RNN_REC_ACT, RNN_INITS,
    {NNC_OPT_ROW("unit_forget_bias", NNC_OPT_BOOL, nnc_rnn_opts, unit_forget_bias, -1),
     .help = "start the forget gate's bias at 1"},
    RNN_TAIL};
static const nnc_opt_desc gru_opts[] = {
    RNN_HEAD("gru 64"), RNN_REC_ACT, RNN_INITS, RNN_TAIL,
    {NNC_OPT_ROW("reset_after", NNC_OPT_BOOL, nnc_rnn_opts, reset_after, -1),
     .help = "apply the reset gate after the recurrent kernel (two biases)"}};

#define RNN_DESC(var, cls, kw, help, rows, build)                                                                      \
    const nnc_layer_desc var = {cls, kw, kw, help, sizeof(nnc_rnn_opts), offsetof(nnc_rnn_opts, name), rnn_defaults, \
                                rows, NNC_OPT_COUNT_OF(rows), 1, 1, NNC_LAYERF_MASK_CONSUME, build}
RNN_DESC(nnc_simple_rnn_desc, "SimpleRNN", "simple_rnn", "h = activation(x·W + h·U + b) at each step", simple_rnn_opts,
         simple_rnn_build);
RNN_DESC(nnc_lstm_desc, "LSTM", "lstm", "long short-term memory: gates i, f, c, o over the steps", lstm_opts,
         lstm_build);
RNN_DESC(nnc_gru_desc, "GRU", "gru", "gated recurrent unit: gates z, r, h over the steps", gru_opts, gru_build);
