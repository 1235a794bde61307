/* The ONNX form of the recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional; onnx_ops.h):
 * ONNX's RNN, LSTM and GRU (onnx/docs/Operators.md, opset 17) with nnc's weights rearranged
 * into ONNX's layouts. What differs from Keras, by the specification:
 *   - ONNX's W [dirs, G·units, input] and R [dirs, G·units, units] are the transposes of Keras's
 *     kernel [input, G·units] and recurrent_kernel [units, G·units]; B [dirs, 2·G·units] is the
 *     input bias then the recurrent bias.
 *   - gate order: LSTM's is i, o, f, c in ONNX and i, f, c, o in Keras (blocks 0, 3, 1, 2 of
 *     Keras's); GRU's z, r, h and RNN's one block are the same in both.
 *   - GRU: Keras's reset_after=True (bias [2, 3·units]: input bias, recurrent bias) is ONNX's
 *     linear_before_reset=1 with B = both rows; reset_after=False (bias [3·units]) is
 *     linear_before_reset=0 with the recurrent bias zero. Both update h = z·h_prev + (1−z)·h̃.
 *   - LSTM: Keras has no peepholes and no recurrent bias: P is left out, Rb is zero.
 *   - activations: recurrent_activation is ONNX's f, activation its g (and LSTM's h).
 *   - layout 0 (time major): X [T, batch, input], Y [T, dirs, batch, units], Y_h [dirs, batch,
 *     units]. ONNX Runtime refuses layout=1, so the batch-major [batch, T, ...] of nnc is
 *     transposed in and out.
 *   - direction "reverse" reads the steps last to first but writes Y at each input step's
 *     place; Keras's go_backwards returns its sequence in the order it ran, so that Y is
 *     reversed along time (unless the op turns it back: reverse_output, Bidirectional's
 *     backward copy). Y_h is the state after the last step run in both.
 *   - Bidirectional is direction "bidirectional" (the backward copy's sequence is already in the
 *     input's order in ONNX, as Keras flips it back): concat interleaves Y's two directions
 *     per step (Transpose, Reshape), sum, mul and ave reduce over them (ReduceSum, ReduceProd,
 *     ReduceMean).
 * A sequence that carries a mask has no exporter here (Keras keeps the state over masked steps
 * anywhere in the sequence; ONNX's sequence_lens only cuts the end). These conventions were
 * checked against ONNX Runtime 1.30 on graphs built by hand before this was written (RNN, GRU
 * both forms, LSTM; reverse; bidirectional with each merge; HardSigmoid and Affine: at most
 * 1.2e-7 from tools/keras_reference.py). */
#ifdef NNC_HAVE_ONNX
#include <stdint.h>
#include <string.h>
#include "onnx_ops.h"


/* Keras's gate block of ONNX's block j. */
static int keras_block(int gates, int j) {
    static const int lstm[4] = {0, 3, 1, 2};
    return gates == 4 ? lstm[j] : j;
}

static const float *values(const onnx_ctx *c, int node) {
    return node < 0 ? NULL : c->m->param_arena + c->m->params[c->m->nodes[node].param].offset;
}

/* W, R and B for d's directions, gates reordered (see the top). */
static int weights(onnx_ctx *c, int id, const onnx_rnn_desc *d, const char **names) {
    const int G = d->gates, u = d->units, gu = G * u, dirs = d->directions;
    const int in = c->m->params[c->m->nodes[d->kernel[0]].param].shape.dim[0];
    float *W = onnx_alloc(c, (size_t)dirs * gu * in * sizeof *W), *R = onnx_alloc(c, (size_t)dirs * gu * u * sizeof *R);
    float *B = onnx_alloc(c, (size_t)dirs * 2 * gu * sizeof *B);
    if (!W || !R || !B) return -1;
    memset(B, 0, (size_t)dirs * 2 * gu * sizeof *B);
    for (int k = 0; k < dirs; k++) {
        const float *kernel = values(c, d->kernel[k]), *rec = values(c, d->recurrent[k]), *bias = values(c, d->bias[k]);
        for (int j = 0; j < G; j++) {
            const int from = keras_block(G, j) * u;
            for (int r = 0; r < u; r++) {
                const size_t row = (size_t)k * gu + (size_t)j * u + (size_t)r;
                for (int i = 0; i < in; i++) W[row * in + i] = kernel[(size_t)i * gu + from + r];
                for (int i = 0; i < u; i++) R[row * u + i] = rec[(size_t)i * gu + from + r];
                if (!bias) continue;
                B[(size_t)k * 2 * gu + (size_t)j * u + r] = bias[from + r];
                if (d->reset_after) B[(size_t)k * 2 * gu + gu + (size_t)j * u + r] = bias[gu + from + r];
            }
        }
    }
    const int64_t wd[3] = {dirs, gu, in}, rd[3] = {dirs, gu, u}, bd[2] = {dirs, 2 * gu};
    names[0] = onnx_const_f32(c, id, "W", W, wd, 3);
    names[1] = onnx_const_f32(c, id, "R", R, rd, 3);
    names[2] = onnx_const_f32(c, id, "B", B, bd, 2);
    return names[0] && names[1] && names[2] ? 0 : -1;
}

/* ONNX's name of an activation, with its alpha and beta when it takes them (count 0, 1 or 2);
 * NULL when ONNX's recurrent ops have none for it. */
static const char *activation(nnc_activation a, float *alpha, float *beta, int *count) {
    *count = 0;
    switch (a) {
    case NNC_ACT_TANH: return "Tanh";
    case NNC_ACT_SIGMOID: return "Sigmoid";
    case NNC_ACT_RELU: return "Relu";
    case NNC_ACT_SOFTSIGN: return "Softsign";
    case NNC_ACT_SOFTPLUS: return "Softplus";
    case NNC_ACT_LINEAR: *alpha = 1.0f, *beta = 0.0f, *count = 2; return "Affine";
    case NNC_ACT_HARD_SIGMOID: *alpha = 1.0f / 6.0f, *beta = 0.5f, *count = 2; return "HardSigmoid"; /* Keras 3 */
    case NNC_ACT_ELU: *alpha = 1.0f, *count = 1; return "Elu";
    default: return NULL;
    }
}

/* The activations attribute: RNN's f (Keras's activation), GRU's f, g and LSTM's f, g, h
 * (recurrent_activation, then activation) per direction, with the alphas and betas of those
 * that take them in the same order (as ONNX Runtime reads them). */
static int activations(onnx_ctx *c, int id, Onnx__NodeProto *n, const onnx_rnn_desc *d) {
    const char *names[6];
    float alphas[6], betas[6];
    int k = 0, na = 0, nb = 0;
    const int G = d->gates, per = G == 1 ? 1 : G == 3 ? 2 : 3;
    const nnc_activation acts[3] = {G == 1 ? d->act : d->rec_act, d->act, d->act};
    for (int dir = 0; dir < d->directions; dir++)
        for (int i = 0; i < per; i++) {
            float a = 0.0f, b = 0.0f;
            int count;
            if (!(names[k++] = activation(acts[i], &a, &b, &count)))
                return onnx_fail(c, id, "activation %s has no form in ONNX's recurrent ops", nnc_activation_name(acts[i]));
            if (count >= 1) alphas[na++] = a;
            if (count >= 2) betas[nb++] = b;
        }
    onnx_attr_strings(c, n, "activations", names, k);
    if (na) onnx_attr_floats(c, n, "activation_alpha", alphas, na);
    if (nb) onnx_attr_floats(c, n, "activation_beta", betas, nb);
    return 0;
}

/* x [batch, T, input] (nnc's) as ONNX's time-major [T, batch, input]. */
static const char *time_major(onnx_ctx *c, int id, int x) {
    static const int64_t perm[3] = {1, 0, 2};
    const char *in = onnx_in(c, x, ONNX_LAST);
    Onnx__NodeProto *t = onnx_node(c, id, "Transpose", &in, 1, "time_major");
    onnx_attr_ints(c, t, "perm", perm, 3);
    return onnx_out(t);
}

/* A tensor reversed along axis (Slice with step −1). */
static const char *flip(onnx_ctx *c, int id, const char *v, int64_t axis) {
    const int64_t start = -1, end = INT64_MIN, step = -1;
    const char *ins[5] = {v, onnx_const_i64(c, id, "flip_starts", &start, 1), onnx_const_i64(c, id, "flip_ends", &end, 1),
                          onnx_const_i64(c, id, "flip_axes", &axis, 1), onnx_const_i64(c, id, "flip_steps", &step, 1)};
    return onnx_out(onnx_node(c, id, "Slice", ins, 5, "flipped"));
}

static Onnx__NodeProto *squeeze(onnx_ctx *c, int id, const char *v, int64_t axis, const char *what) {
    const char *ins[2] = {v, onnx_const_i64(c, id, "squeeze_axes", &axis, 1)};
    return onnx_node(c, id, "Squeeze", ins, 2, what);
}

/* An initial state [batch, units] as ONNX's initial_h or initial_c [1, batch, units]. */
static const char *initial(onnx_ctx *c, int id, int node, const char *what) {
    const int64_t axis = 0;
    const char *ins[2] = {onnx_in(c, node, ONNX_LAST), onnx_const_i64(c, id, "state_axes", &axis, 1)};
    return ins[0] ? onnx_out(onnx_node(c, id, "Unsqueeze", ins, 2, what)) : NULL;
}

/* ONNX's node for d reading x (nnc node) from d's initial states, with Y (sequences) or Y_h as
 * its first output; that output's name, NULL on failure. Y_h and Y_c also give d's RNN_STATE
 * nodes their values (Keras's return_state: ONNX's Y_h is the state after the last step run). */
static const char *recurrent_node(onnx_ctx *c, int id, const onnx_rnn_desc *d, int x) {
    static const char *const types[5] = {NULL, "RNN", NULL, "GRU", "LSTM"};
    const char *w[3];
    if (weights(c, id, d, w)) return NULL;
    const char *ins[7] = {time_major(c, id, x), w[0], w[1], w[2], "", NULL, NULL}; /* no sequence_lens */
    const int n_in = d->init[1] >= 0 ? 7 : d->init[0] >= 0 ? 6 : 4;
    for (int k = 0; k < 2; k++)
        if (d->init[k] >= 0 && !(ins[5 + k] = initial(c, id, d->init[k], k ? "initial_c" : "initial_h"))) return NULL;
    const int seq = d->return_sequences;
    Onnx__NodeProto *n = onnx_node(c, id, types[d->gates], ins, n_in, seq ? "Y" : "Y_h");
    if (!n || activations(c, id, n, d)) return NULL;
    onnx_attr_int(c, n, "hidden_size", d->units);
    onnx_attr_string(c, n, "direction", d->directions == 2 ? "bidirectional" : d->go_backwards ? "reverse" : "forward");
    if (d->gates == 3) onnx_attr_int(c, n, "linear_before_reset", d->reset_after);
    const int n_out = d->states[1] >= 0 ? 3 : !seq || d->states[0] >= 0 ? 2 : 1;
    if (n_out == 1) return n->output[0];
    char **out = onnx_alloc(c, 3 * sizeof *out); /* outputs Y, Y_h, Y_c: those not read left out */
    if (!out || !(out[0] = seq ? n->output[0] : onnx_strdup(c, ""))) return NULL;
    if (!(out[1] = seq ? onnx_name(c, id, "Y_h") : n->output[0])) return NULL;
    if (n_out == 3 && !(out[2] = onnx_name(c, id, "Y_c"))) return NULL;
    n->output = out;
    n->n_output = (size_t)n_out;
    for (int k = 0; k < 2; k++) /* Y_h, Y_c [1, batch, units] as the states [batch, units] */
        if (d->states[k] >= 0 && onnx_finish(c, d->states[k], squeeze(c, id, out[1 + k], 0, k ? "c" : "h"), ONNX_LAST))
            return NULL;
    return seq ? out[0] : out[1];
}

/* Bidirectional's two directions merged (see the top): Y [T, 2, batch, units] or Y_h [2, batch,
 * units] into nnc's [batch, T, ·] or [batch, ·]. */
static int merge(onnx_ctx *c, int id, const onnx_rnn_desc *d, const char *y) {
    const int seq = d->return_sequences;
    const int64_t axis = seq ? 1 : 0;
    Onnx__NodeProto *n;
    if (!strcmp(d->merge, "concat")) {
        static const int64_t p4[4] = {2, 0, 1, 3}, p3[3] = {1, 0, 2};
        const int64_t shape[3] = {0, seq ? 0 : 2 * d->units, 2 * d->units};
        Onnx__NodeProto *t = onnx_node(c, id, "Transpose", &y, 1, "batch_major");
        onnx_attr_ints(c, t, "perm", seq ? p4 : p3, seq ? 4 : 3);
        const char *ins[2] = {onnx_out(t), onnx_const_i64(c, id, "shape", shape, seq ? 3 : 2)};
        return onnx_finish(c, id, onnx_node(c, id, "Reshape", ins, 2, NULL), ONNX_LAST);
    }
    if (!strcmp(d->merge, "sum")) {
        const char *ins[2] = {y, onnx_const_i64(c, id, "directions", &axis, 1)};
        n = onnx_node(c, id, "ReduceSum", ins, 2, NULL);
    } else {
        n = onnx_node(c, id, !strcmp(d->merge, "mul") ? "ReduceProd" : "ReduceMean", &y, 1, NULL);
        onnx_attr_ints(c, n, "axes", &axis, 1);
    }
    onnx_attr_int(c, n, "keepdims", 0);
    if (!seq) return onnx_finish(c, id, n, ONNX_LAST);
    static const int64_t perm[3] = {1, 0, 2};
    const char *s = onnx_out(n);
    Onnx__NodeProto *t = onnx_node(c, id, "Transpose", &s, 1, NULL);
    onnx_attr_ints(c, t, "perm", perm, 3);
    return onnx_finish(c, id, t, ONNX_LAST);
}

int onnx_rnn_export(onnx_ctx *c, int id, int x, const onnx_rnn_desc *d) {
    static const int64_t perm[3] = {1, 0, 2};
    if (d->gates != 1 && d->gates != 3 && d->gates != 4) return onnx_fail(c, id, "not a recurrent layer ONNX has");
    if (d->directions == 2 && d->go_backwards)
        return onnx_fail(c, id, "a Bidirectional around a go_backwards layer has no ONNX form here");
    const char *y = recurrent_node(c, id, d, x);
    if (!y) return -1;
    if (d->directions == 2) return merge(c, id, d, y);
    if (!d->return_sequences) return onnx_finish(c, id, squeeze(c, id, y, 0, NULL), ONNX_LAST);
    /* Keras returns the steps in the order they ran, unless turned back (reverse_output) */
    if (d->go_backwards != d->reverse_output) y = flip(c, id, y, 0);
    const char *s = onnx_out(squeeze(c, id, y, 1, "steps"));
    Onnx__NodeProto *t = onnx_node(c, id, "Transpose", &s, 1, NULL);
    onnx_attr_ints(c, t, "perm", perm, 3);
    return onnx_finish(c, id, t, ONNX_LAST);
}

/* RECURRENT (src/ops/recurrent.c): inputs x, kernel, recurrent_kernel, [bias], [mask]. */
int onnx_ex_recurrent(onnx_ctx *c, int id) {
    const nnc_node_rec *n = &c->m->nodes[id];
    const int has_bias = n->attr.rnn.has_bias;
    if (n->attr.rnn.has_mask)
        return onnx_fail(c, id, "a masked sequence has no ONNX form here (Keras carries the state over masked steps; "
                         "ONNX's sequence_lens only cuts a sequence's end)");
    for (int k = 1; k < 3 + has_bias; k++)
        if (c->m->nodes[n->in[k]].op != NNC_OP_PARAM) return onnx_fail(c, id, "its weights are not variables");
    onnx_rnn_desc d = {n->attr.rnn.gates, n->attr.rnn.units, n->attr.rnn.act, n->attr.rnn.rec_act,
                       n->attr.rnn.go_backwards, n->attr.rnn.return_sequences, n->attr.rnn.reset_after, 1,
                       "concat", {n->in[1], -1}, {n->in[2], -1}, {has_bias ? n->in[3] : -1, -1},
                       n->attr.rnn.reverse_output, {-1, -1}, {-1, -1}};
    for (int k = 0; k < n->attr.rnn.n_init; k++) d.init[k] = n->in[3 + has_bias + k];
    for (int j = id + 1; j < c->m->n_nodes; j++) /* its live RNN_STATE readers */
        if (c->m->nodes[j].op == NNC_OP_RNN_STATE && c->m->nodes[j].in[0] == id && c->live[j])
            d.states[c->m->nodes[j].attr.rnn.state] = j;
    return onnx_rnn_export(c, id, n->in[0], &d);
}

/* RNN_STATE: given its value by its RECURRENT node's exporter (above), which comes first. */
int onnx_ex_rnn_state(onnx_ctx *c, int id) {
    return onnx_fail(c, id, "its recurrent layer's export gave no final state");
}

#endif
