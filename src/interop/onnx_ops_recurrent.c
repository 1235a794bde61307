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
 * A sequence that carries a mask is unrolled (masked_export): Keras keeps the state over masked
 * steps anywhere in the sequence, which ONNX's sequence_lens cannot say (it only cuts the end),
 * so each step is the recurrent op over one step from the carried state, and the state that
 * leaves a step is Where(mask, new, carried); the time axis must be fixed. These conventions were
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
    const char *names[6] = {NULL};
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

/* One step of an unrolled sequence: x_t = xt[t] ([1, batch, input]) and mask_t =
 * used[t] ([1, batch, 1]), from the carried h (and c): the new carried states in h, c. */
static int masked_step(onnx_ctx *c, int id, const onnx_rnn_desc *d, const char *xt, const char *used,
                       const char *const *w, int64_t t, const char **h, const char **cs) {
    static const char *const types[5] = {NULL, "RNN", NULL, "GRU", "LSTM"};
    const int lstm = d->gates == 4;
    const int64_t t1 = t + 1, axis = 0;
    const char *at = onnx_const_i64(c, id, "step", &t, 1), *to = onnx_const_i64(c, id, "step_end", &t1, 1),
               *ax = onnx_const_i64(c, id, "step_axis", &axis, 1);
    const char *sx[4] = {xt, at, to, ax}, *sm[4] = {used, at, to, ax};
    const char *ins[7] = {onnx_out(onnx_node(c, id, "Slice", sx, 4, "x_step")), w[0], w[1], w[2], "", *h, *cs};
    const char *mt = onnx_out(onnx_node(c, id, "Slice", sm, 4, "mask_step"));
    Onnx__NodeProto *n = onnx_node(c, id, types[d->gates], ins, lstm ? 7 : 6, "Y_step");
    char **out = onnx_alloc(c, 3 * sizeof *out);
    if (!n || !mt || !out || activations(c, id, n, d)) return -1;
    onnx_attr_int(c, n, "hidden_size", d->units);
    onnx_attr_string(c, n, "direction", "forward");
    if (d->gates == 3) onnx_attr_int(c, n, "linear_before_reset", d->reset_after);
    if (!(out[0] = onnx_strdup(c, "")) || !(out[1] = onnx_name(c, id, "h_step")) ||
        (lstm && !(out[2] = onnx_name(c, id, "c_step"))))
        return -1;
    n->output = out;
    n->n_output = lstm ? 3 : 2;
    const char *wh[3] = {mt, out[1], *h};
    *h = onnx_out(onnx_node(c, id, "Where", wh, 3, "h"));
    if (lstm) {
        const char *wc[3] = {mt, out[2], *cs};
        *cs = onnx_out(onnx_node(c, id, "Where", wc, 3, "c"));
    }
    return *h && (!lstm || *cs) ? 0 : -1;
}

/* A zero state [1, batch, units], its batch from x's shape. */
static const char *zero_state(onnx_ctx *c, int id, int x, int units, const char *what) {
    const int64_t one = 1, u = units;
    const char *in = onnx_in(c, x, ONNX_LAST);
    Onnx__NodeProto *sh = onnx_node(c, id, "Shape", &in, 1, "batch");
    if (!sh) return NULL;
    onnx_attr_int(c, sh, "start", 0);
    onnx_attr_int(c, sh, "end", 1);
    const char *dims[3] = {onnx_const_i64(c, id, "one", &one, 1), onnx_out(sh), onnx_const_i64(c, id, "units", &u, 1)};
    Onnx__NodeProto *cat = onnx_node(c, id, "Concat", dims, 3, "state_shape");
    if (!cat) return NULL;
    onnx_attr_int(c, cat, "axis", 0);
    const char *shape = onnx_out(cat);
    return onnx_out(onnx_node(c, id, "ConstantOfShape", &shape, 1, what));
}

/* A masked sequence (see the top): T steps unrolled, Keras's masked step exactly. */
static int masked_export(onnx_ctx *c, int id, const onnx_rnn_desc *d, int x, int mask) {
    static const int64_t p2[2] = {1, 0}, p3[3] = {1, 0, 2};
    const int T = c->m->nodes[x].shape.dim[0], lstm = d->gates == 4;
    if (T <= 0)
        return onnx_fail(c, id, "a masked sequence of any length has no ONNX form here (its steps are unrolled: give "
                         "the input a fixed length)");
    const char *w[3];
    if (weights(c, id, d, w)) return -1;
    const char *xt = time_major(c, id, x), *mk = onnx_in(c, mask, ONNX_LAST);
    Onnx__NodeProto *mt = onnx_node(c, id, "Transpose", &mk, 1, "mask_steps");
    if (!mt) return -1;
    onnx_attr_ints(c, mt, "perm", p2, 2);
    const int64_t feat = 2;
    const float zero = 0.0f;
    const char *u[2] = {onnx_out(mt), onnx_const_i64(c, id, "mask_axis", &feat, 1)};
    const char *gt[2] = {onnx_out(onnx_node(c, id, "Unsqueeze", u, 2, "mask_3d")), onnx_const_f32(c, id, "zero", &zero, NULL, 0)};
    const char *used = onnx_out(onnx_node(c, id, "Greater", gt, 2, "used"));
    const char *h = d->init[0] >= 0 ? initial(c, id, d->init[0], "initial_h") : zero_state(c, id, x, d->units, "h0");
    const char *cs = !lstm ? "" : d->init[1] >= 0 ? initial(c, id, d->init[1], "initial_c") : zero_state(c, id, x, d->units, "c0");
    const char **seq = d->return_sequences ? onnx_alloc(c, (size_t)T * sizeof *seq) : NULL;
    if (!xt || !used || !h || !cs || (d->return_sequences && !seq)) return -1;
    for (int s = 0; s < T; s++) {
        if (masked_step(c, id, d, xt, used, w, d->go_backwards ? T - 1 - s : s, &h, &cs)) return -1;
        if (seq) seq[d->reverse_output ? T - 1 - s : s] = h; /* as the op writes its outputs */
    }
    for (int k = 0; k < 2; k++) /* return_state: the carried h and c after the last step */
        if (d->states[k] >= 0 && onnx_finish(c, d->states[k], squeeze(c, id, k ? cs : h, 0, k ? "c" : "h"), ONNX_LAST))
            return -1;
    if (!seq) return onnx_finish(c, id, squeeze(c, id, h, 0, NULL), ONNX_LAST);
    Onnx__NodeProto *cat = onnx_node(c, id, "Concat", seq, T, "steps");
    if (!cat) return -1;
    onnx_attr_int(c, cat, "axis", 0);
    const char *all = onnx_out(cat);
    Onnx__NodeProto *t = onnx_node(c, id, "Transpose", &all, 1, NULL);
    if (t) onnx_attr_ints(c, t, "perm", p3, 3);
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
    if (n->attr.rnn.has_mask) return masked_export(c, id, &d, n->in[0], n->in[n->n_in - 1]);
    return onnx_rnn_export(c, id, n->in[0], &d);
}

/* RNN_STATE: given its value by its RECURRENT node's exporter (above), which comes first. */
int onnx_ex_rnn_state(onnx_ctx *c, int id) {
    return onnx_fail(c, id, "its recurrent layer's export gave no final state");
}

#endif
