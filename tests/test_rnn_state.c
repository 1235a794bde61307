/* Keras's return_state and initial_state (issue 14; src/ops/recurrent.c's RNN_STATE and initial
 * states, src/layers/recurrent_layers.c):
 * - gradient checks of encoder-decoder models, the encoder's states both feeding the decoder's
 *   initial_state and read downstream, for every cell, with go_backwards and with a mask;
 *   Bidirectional with return_state and initial_state;
 * - semantics: the state h is the output (return_sequences false) or its last step; a run split
 *   in two (the first half's states as the second's initial_state) is the whole run; masked
 *   trailing steps carry the state;
 * - bit-identical training with 1 and 2 threads; errors naming the layer;
 * - a spec with states (from=enc:1, initial_state=[enc:1,enc:2]) saved as nnc's file, .keras
 *   and .h5 and loaded: the same config and predictions; Keras 2's and Keras 3's configs of a
 *   layer reading another's states. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "config_model.h"
#include "fixture.h"
#include "core/model_impl.h"
#include "core/layers_impl.h"
#include "io/keras_config.h"

static nnc_node add_rnn(nnc_model *m, nnc_node x, int gates, const nnc_rnn_opts *o) {
    return gates == 1 ? nnc_simple_rnn(m, x, o) : gates == 3 ? nnc_gru(m, x, o) : nnc_lstm(m, x, o);
}

static void compile_mse(nnc_model *m) {
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
    nnc_compile(m, &co);
}

typedef struct {
    const char *name;
    int gates, units, go_backwards, return_sequences, reset_after;
} fx_case;

static const fx_case fx_cases[] = {
    {"lstm_state", 4, 4, 0, 1, 1}, {"lstm_state_back", 4, 3, 1, 0, 1},      {"gru_state", 3, 4, 0, 0, 1},
    {"gru_v1_state_back", 3, 3, 1, 1, 0}, {"simple_rnn_state", 1, 3, 0, 1, 1},
};

/* One fixture case: the layer from inputs h0 (c0) with return_state; the model's output is
 * [y, h_n, c_n] side by side, whose gradient is set to [w, w_h, w_c]. */
static void fixture_case(test_run *r, const fx_file *f, const fx_case *c) {
    if (!t_begin(r, "rnn_state/torch/%s", c->name)) return;
    char k[96];
#define FX(s) (snprintf(k, sizeof k, "%s.%s", c->name, s), fx_need(r, f, k))
    const int ns = c->gates == 4 ? 2 : 1;
    const fx_tensor *x = FX("x"), *y = FX("y"), *w = FX("w"), *fin[2] = {FX("hn"), NULL}, *wf[2] = {FX("wh"), NULL};
    const fx_tensor *init[2] = {FX("h0"), NULL};
    if (ns == 2) fin[1] = FX("cn"), wf[1] = FX("wc"), init[1] = FX("c0");
    if (!x || !y || !w || !fin[ns - 1] || !wf[ns - 1] || !init[ns - 1]) {
        t_end(r);
        return;
    }
    const int Nx = x->shape[0], Tx = x->shape[1], Fx = x->shape[2], u = c->units;
    nnc_model *m = nnc_model_new(NULL);
    nnc_node in = nnc_input(m, (int[]){Tx, Fx}, 2, "x"), st[2], all[3];
    for (int i = 0; i < ns; i++) st[i] = nnc_input(m, (int[]){u}, 1, i ? "c0" : "h0");
    nnc_rnn_opts o = nnc_rnn_opts_default(u);
    o.go_backwards = c->go_backwards, o.return_sequences = c->return_sequences, o.reset_after = c->reset_after;
    o.return_state = true, o.initial_state = st, o.n_initial_state = ns, o.name = "rnn";
    nnc_node out = add_rnn(m, in, c->gates, &o);
    all[0] = c->return_sequences ? nnc_flatten(m, out, NULL) : out;
    nnc_rnn_states(m, out, all + 1, 2);
    nnc_node cat = nnc_concatenate(m, all, 1 + ns, -1, NULL);
    nnc_set_outputs(m, &cat, 1);
    compile_mse(m);
    const size_t ylen = y->n / (size_t)Nx, row = ylen + (size_t)ns * u, xrow = (size_t)Tx * Fx + (size_t)ns * u;
    float *xv = malloc((size_t)Nx * xrow * sizeof *xv), *g = malloc((size_t)Nx * row * sizeof *g);
    if (CHECK(r, out >= 0 && m->compiled && xv && g, "build: %s", nnc_last_error(m))) {
        static const char *const vars[3] = {"kernel", "recurrent_kernel", "bias"};
        for (int i = 0; i < 3; i++) {
            char name[48];
            snprintf(name, sizeof name, "rnn.%s", vars[i]);
            const fx_tensor *t = FX(vars[i]);
            float *v = fx_floats(t);
            CHECK(r, v && nnc_set_variable(m, name, v, t->n) == NNC_OK, "set %s: %s", name, nnc_last_error(m));
            free(v);
        }
        for (int n = 0; n < Nx; n++) { /* rows of x: the sequence, then h0 (and c0); of the gradient: w, w_h, w_c */
            for (size_t j = 0; j < (size_t)Tx * Fx; j++) xv[n * xrow + j] = (float)x->v[(size_t)n * Tx * Fx + j];
            for (size_t j = 0; j < ylen; j++) g[n * row + j] = (float)w->v[n * ylen + j];
            for (int i = 0; i < ns; i++)
                for (int j = 0; j < u; j++) {
                    xv[n * xrow + (size_t)Tx * Fx + (size_t)i * u + j] = (float)init[i]->v[n * u + j];
                    g[n * row + ylen + (size_t)i * u + j] = (float)wf[i]->v[n * u + j];
                }
        }
        for (int i = 0; i < ns; i++) m->nodes[st[i]].needs_grad = 1; /* their gradients are compared too */
        double worst = 0.0;
        if (CHECK(r, nnc_plan(m, Nx) == NNC_OK, "plan")) {
            nnc_gather_inputs(m, xv, NULL, 0, Nx);
            nnc_forward(m, Nx, 1);
            const nnc_layer_rec *l = &m->layers[nnc_find_layer(m, "rnn")];
            CHECK_NEAR_FX(r, m->nodes[out].value, y->n, y, 1e-5, 1e-4, &worst, "%s output", c->name);
            for (int i = 0; i < ns; i++)
                CHECK_NEAR_FX(r, m->nodes[l->more[i]].value, fin[i]->n, fin[i], 1e-5, 1e-4, &worst, "%s state %d",
                              c->name, i);
            nnc_zero_grads(m);
            memcpy(m->nodes[cat].grad, g, (size_t)Nx * row * sizeof *g);
            nnc_backward(m, Nx);
            for (int i = 0; i < 3; i++) {
                char gname[48], name[48];
                snprintf(gname, sizeof gname, "d%s", vars[i]);
                snprintf(name, sizeof name, "rnn.%s", vars[i]);
                const fx_tensor *ref = FX(gname);
                int p = nnc_find_param(m, name);
                if (CHECK(r, p >= 0 && ref, "%s", name))
                    CHECK_NEAR_FX(r, m->nodes[m->params[p].node].grad, ref->n, ref, 1e-5, 1e-4, &worst, "%s", gname);
            }
            for (int i = 0; i < ns; i++) {
                const fx_tensor *ref = FX(i ? "dc0" : "dh0");
                if (ref) CHECK_NEAR_FX(r, m->nodes[st[i]].grad, ref->n, ref, 1e-5, 1e-4, &worst, "d%s0", i ? "c" : "h");
            }
        }
        t_info(r, "max |nnc - torch| = %.3g", worst);
    }
#undef FX
    free(xv), free(g);
    nnc_model_free(m);
    t_end(r);
}

enum { N = 6, T = 4, F = 3, T2 = 3, F2 = 2 };

/* An encoder over x (return_state) whose states start a decoder over x2 and are read again by
 * the head: Dense(2)(Concatenate([decoder output, last state])). With mask_steps the encoder's
 * input carries a mask input that drops the last mask_steps steps of odd rows. Its rows' width
 * in *row. */
static nnc_model *enc_dec(int gates, int back, int mask_steps, int *row) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_node x = nnc_input(m, (int[]){T, F}, 2, "x"), x2 = nnc_input(m, (int[]){T2, F2}, 2, "x2");
    if (mask_steps) m->nodes[x].mask = nnc_input(m, (int[]){T}, 1, "mask");
    *row = T * F + T2 * F2 + (mask_steps ? T : 0);
    nnc_rnn_opts o = nnc_rnn_opts_default(4);
    o.return_state = true, o.go_backwards = back, o.name = "enc";
    o.bias_initializer = nnc_initializer_default(NNC_INIT_RANDOM_UNIFORM);
    nnc_node e = add_rnn(m, x, gates, &o), st[2] = {NNC_NONE, NNC_NONE};
    int ns = nnc_rnn_states(m, e, st, 2);
    nnc_rnn_opts d = nnc_rnn_opts_default(4);
    d.initial_state = st, d.n_initial_state = ns, d.name = "dec";
    d.bias_initializer = o.bias_initializer;
    nnc_node y = add_rnn(m, x2, gates, &d);
    nnc_node cat[3] = {y, st[ns - 1], e};
    nnc_node h = nnc_concatenate(m, cat, 3, -1, NULL);
    nnc_dense_opts dd = nnc_dense_opts_default(2);
    h = nnc_dense(m, h, &dd);
    nnc_set_outputs(m, &h, 1);
    compile_mse(m);
    return m;
}

static void fill(float *x, float *y, int row, int mask_steps) {
    for (int i = 0; i < N; i++) {
        float *r = x + i * row;
        for (int j = 0; j < T * F + T2 * F2; j++) r[j] = (float)(((i * 31 + j * 17) % 23) - 11) / 10.0f;
        for (int t = 0; mask_steps && t < T; t++) r[T * F + T2 * F2 + t] = (i % 2 && t >= T - mask_steps) ? 0.0f : 1.0f;
        y[2 * i] = (float)(i % 3) - 1.0f, y[2 * i + 1] = 0.5f;
    }
}

static void check_grads(test_run *r, nnc_model *m, const float *x, const float *y) {
    nnc_gradcheck_result res[32];
    nnc_gradcheck_opts go = nnc_gradcheck_opts_default();
    int failed = -1;
    if (CHECK(r, m->compiled, "build: %s", nnc_last_error(m)) && CHECK(r, nnc_variable_count(m) <= 32, "variables") &&
        CHECK(r, nnc_gradcheck(m, x, y, N, &go, res, &failed) == NNC_OK, "gradcheck: %s", nnc_last_error(m))) {
        double worst = 0.0;
        for (int i = 0; i < nnc_variable_count(m); i++) {
            CHECK(r, res[i].failed == 0 && res[i].checked > 0, "%s: %zu of %zu failed (worst relative error %.3g)",
                  nnc_variable_name(m, i), res[i].failed, res[i].checked, res[i].max_rel_err);
            if (res[i].max_rel_err > worst) worst = res[i].max_rel_err;
        }
        CHECK(r, failed == 0, "%d variables failed", failed);
        t_info(r, "worst relative error %.3g", worst);
    }
}

static void gradcheck_enc_dec(test_run *r, const char *name, int gates, int back, int mask_steps) {
    if (!t_begin(r, "rnn_state/gradcheck/%s", name)) return;
    int row;
    nnc_model *m = enc_dec(gates, back, mask_steps, &row);
    float x[N * (T * F + T2 * F2 + T)], y[N * 2];
    fill(x, y, row, mask_steps);
    check_grads(r, m, x, y);
    nnc_model_free(m);
    t_end(r);
}

/* Bidirectional(return_state) whose four (or two) states start another Bidirectional. */
static void gradcheck_bidirectional(test_run *r, nnc_rnn_kind kind) {
    if (!t_begin(r, "rnn_state/gradcheck/bidirectional_%d", (int)kind)) return;
    nnc_model *m = nnc_model_new(NULL);
    nnc_node x = nnc_input(m, (int[]){T, F}, 2, "x"), x2 = nnc_input(m, (int[]){T2, F2}, 2, "x2");
    nnc_bidirectional_opts b = nnc_bidirectional_opts_default(kind, 3);
    b.rnn.return_state = true, b.name = "enc";
    b.rnn.bias_initializer = nnc_initializer_default(NNC_INIT_RANDOM_UNIFORM);
    nnc_node e = nnc_bidirectional(m, x, &b), st[4];
    int ns = nnc_rnn_states(m, e, st, 4);
    CHECK(r, ns == (kind == NNC_RNN_LSTM ? 4 : 2), "%d states", ns);
    b.rnn.return_state = false, b.rnn.initial_state = st, b.rnn.n_initial_state = ns, b.name = "dec";
    nnc_node y = nnc_bidirectional(m, x2, &b);
    nnc_node cat[3] = {y, st[0], st[ns - 1]};
    nnc_node h = nnc_concatenate(m, cat, 3, -1, NULL);
    nnc_dense_opts dd = nnc_dense_opts_default(2);
    h = nnc_dense(m, h, &dd);
    compile_mse(m);
    float xv[N * (T * F + T2 * F2)], yv[N * 2];
    fill(xv, yv, T * F + T2 * F2, 0);
    check_grads(r, m, xv, yv);
    nnc_model_free(m);
    t_end(r);
}

/* One layer "rnn" over [T, F] with return_state (and initial states from inputs when init);
 * the model's output is its output and states side by side, so that all are computed. */
static nnc_model *one_layer(int gates, int steps, int back, int seq, int init, int mask) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_node x = nnc_input(m, (int[]){steps, F}, 2, "x"), st[2];
    const int ns = gates == 4 ? 2 : 1;
    for (int k = 0; init && k < ns; k++) st[k] = nnc_input(m, (int[]){5}, 1, k ? "c0" : "h0");
    if (mask) m->nodes[x].mask = nnc_input(m, (int[]){steps}, 1, "mask");
    nnc_rnn_opts o = nnc_rnn_opts_default(5);
    o.go_backwards = back, o.return_sequences = seq, o.return_state = true, o.name = "rnn";
    if (init) o.initial_state = st, o.n_initial_state = ns;
    nnc_node y = add_rnn(m, x, gates, &o), all[3];
    all[0] = seq ? nnc_flatten(m, y, NULL) : y;
    nnc_rnn_states(m, y, all + 1, 2);
    y = nnc_concatenate(m, all, 1 + ns, -1, NULL);
    nnc_set_outputs(m, &y, 1);
    nnc_model_set_seed(m, 7);
    compile_mse(m);
    return m;
}

/* Runs m forward on n rows of x; node values copied out by the caller. */
static int run(nnc_model *m, const float *x, int n) {
    if (!m->compiled || nnc_plan(m, n) != NNC_OK) return 0;
    nnc_gather_inputs(m, x, NULL, 0, n);
    nnc_forward(m, n, 0);
    return 1;
}

static void semantics(test_run *r) {
    enum { U = 5, TT = 6 };
    float x[N * TT * F], xm[N * (TT * F + TT)];
    for (int i = 0; i < N * TT * F; i++) x[i] = sinf((float)i * 0.7f);
    for (int g = 1; g <= 4; g++) {
        if (g == 2) continue;
        const int ns = g == 4 ? 2 : 1;
        for (int back = 0; back < 2; back++)
            for (int seq = 0; seq < 2; seq++) {
                if (!t_begin(r, "rnn_state/h_is_the_last_output/%d_gates%s%s", g, back ? "_backwards" : "",
                             seq ? "_sequences" : ""))
                    continue;
                nnc_model *m = one_layer(g, TT, back, seq, 0, 0);
                const nnc_layer_rec *l = &m->layers[nnc_find_layer(m, "rnn")];
                if (CHECK(r, l->n_more == ns, "%d states", l->n_more) && CHECK(r, run(m, x, N), "run")) {
                    const float *y = m->nodes[l->output].value, *h = m->nodes[l->more[0]].value;
                    int same = 1;
                    for (int n = 0; n < N; n++) /* the last step run is the sequence's last row */
                        same &= !memcmp(h + n * U, y + (seq ? (n * TT + TT - 1) * U : n * U), U * sizeof(float));
                    CHECK(r, same, "h differs from the last output");
                }
                nnc_model_free(m);
                t_end(r);
            }
        if (t_begin(r, "rnn_state/split_run_is_the_whole_run/%d_gates", g)) {
            /* steps 0..2 with return_state, then 3..5 from those states: the whole run's output */
            nnc_model *whole = one_layer(g, TT, 0, 0, 0, 0), *a = one_layer(g, 3, 0, 0, 0, 0), *b = one_layer(g, 3, 0, 0, 1, 0);
            static const char *const vars[3] = {"rnn.kernel", "rnn.recurrent_kernel", "rnn.bias"};
            float w[5 * 4 * 5 * 2], xa[N * 3 * F], xb[N * (3 * F + 2 * U)], want[N * U];
            int ok = whole->compiled && a->compiled && b->compiled;
            for (int v = 0; v < 3 && ok; v++) {
                size_t n = (size_t)(v == 0 ? F : v == 1 ? U : g == 3 ? 2 : 1) * g * U;
                ok &= nnc_get_variable(whole, vars[v], w, n) == NNC_OK && nnc_set_variable(a, vars[v], w, n) == NNC_OK &&
                      nnc_set_variable(b, vars[v], w, n) == NNC_OK;
            }
            for (int n = 0; n < N; n++) {
                memcpy(xa + n * 3 * F, x + n * TT * F, 3 * F * sizeof(float));
                memcpy(xb + n * (3 * F + ns * U), x + n * TT * F + 3 * F, 3 * F * sizeof(float));
            }
            if (CHECK(r, ok, "build: %s", nnc_last_error(whole)) && CHECK(r, run(whole, x, N), "run")) {
                memcpy(want, whole->nodes[whole->layers[nnc_find_layer(whole, "rnn")].output].value, sizeof want);
                if (CHECK(r, run(a, xa, N), "run")) {
                    const nnc_layer_rec *l = &a->layers[nnc_find_layer(a, "rnn")];
                    for (int n = 0; n < N; n++)
                        for (int k = 0; k < ns; k++)
                            memcpy(xb + n * (3 * F + ns * U) + 3 * F + k * U, a->nodes[l->more[k]].value + n * U,
                                   U * sizeof(float));
                }
                if (CHECK(r, run(b, xb, N), "run")) {
                    const float *got = b->nodes[b->layers[nnc_find_layer(b, "rnn")].output].value;
                    double worst = 0.0;
                    for (int i = 0; i < N * U; i++) worst = fmax(worst, fabs((double)got[i] - (double)want[i]));
                    CHECK(r, worst <= 1e-6, "split run differs by %.3g", worst);
                    t_info(r, "max |split - whole| = %.3g", worst);
                }
            }
            nnc_model_free(whole), nnc_model_free(a), nnc_model_free(b);
            t_end(r);
        }
        if (t_begin(r, "rnn_state/masked_end_carries_the_state/%d_gates", g)) {
            /* the last 2 steps masked: the states of the first 4 steps (h and c) */
            nnc_model *mk = one_layer(g, TT, 0, 0, 0, 1), *sh = one_layer(g, TT - 2, 0, 0, 0, 0);
            float xs[N * (TT - 2) * F];
            for (int n = 0; n < N; n++) {
                memcpy(xm + n * (TT * F + TT), x + n * TT * F, TT * F * sizeof(float));
                for (int t = 0; t < TT; t++) xm[n * (TT * F + TT) + TT * F + t] = t < TT - 2 ? 1.0f : 0.0f;
                memcpy(xs + n * (TT - 2) * F, x + n * TT * F, (TT - 2) * F * sizeof(float));
            }
            if (CHECK(r, run(mk, xm, N) && run(sh, xs, N), "run")) {
                const nnc_layer_rec *a = &mk->layers[nnc_find_layer(mk, "rnn")];
                const nnc_layer_rec *b = &sh->layers[nnc_find_layer(sh, "rnn")];
                for (int k = 0; k < ns; k++)
                    CHECK(r, !memcmp(mk->nodes[a->more[k]].value, sh->nodes[b->more[k]].value, N * U * sizeof(float)),
                          "state %d differs from the shorter sequence's", k);
            }
            nnc_model_free(mk), nnc_model_free(sh);
            t_end(r);
        }
    }
}

/* Training an encoder-decoder with dropout gives the same bits with 1 and 2 threads. */
static void threads(test_run *r) {
    if (!t_begin(r, "rnn_state/same_bits_with_1_and_2_threads")) return;
    enum { M = 64 };
    float x[M * (T * F + T2 * F2)], y[M * 2], w[2][1000];
    for (int i = 0; i < M * (T * F + T2 * F2); i++) x[i] = cosf((float)i * 0.37f);
    for (int i = 0; i < M * 2; i++) y[i] = (float)(i % 5) / 5.0f;
    size_t count[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        nnc_model *m = nnc_model_new(NULL);
        nnc_node a = nnc_input(m, (int[]){T, F}, 2, NULL), b = nnc_input(m, (int[]){T2, F2}, 2, NULL), st[2];
        nnc_rnn_opts o = nnc_rnn_opts_default(16);
        o.dropout = 0.2f, o.recurrent_dropout = 0.3f, o.return_state = true;
        nnc_node e = nnc_lstm(m, a, &o);
        int ns = nnc_rnn_states(m, e, st, 2);
        o.return_state = false, o.initial_state = st, o.n_initial_state = ns;
        nnc_node h = nnc_lstm(m, b, &o);
        nnc_dense_opts d = nnc_dense_opts_default(2);
        h = nnc_dense(m, h, &d);
        nnc_set_outputs(m, &h, 1);
        nnc_model_set_threads(m, k + 1);
        nnc_model_set_seed(m, 3);
        compile_mse(m);
        nnc_fit_opts fo = nnc_fit_opts_default();
        fo.epochs = 2, fo.batch_size = 16, fo.verbose = 0;
        if (CHECK(r, m->compiled && nnc_fit(m, x, y, M, &fo, NULL) == NNC_OK, "fit: %s", nnc_last_error(m))) {
            count[k] = m->n_param_floats < 1000 ? m->n_param_floats : 1000;
            memcpy(w[k], m->param_arena, count[k] * sizeof(float));
        }
        nnc_model_free(m);
    }
    CHECK(r, count[0] > 0 && count[0] == count[1] && !memcmp(w[0], w[1], count[0] * sizeof(float)),
          "weights differ between 1 and 2 threads");
    t_end(r);
}

/* Each bad initial_state is one line naming the layer. */
static void errors(test_run *r) {
    static const struct {
        const char *name;
        int gates, n, width;
        const char *want;
    } rows[] = {
        {"lstm_one_state", 4, 1, 4, "LSTM 'dec': initial_state needs 2 tensors (h, c) of shape (None, 4), got 1"},
        {"gru_two_states", 3, 2, 4, "GRU 'dec': initial_state needs 1 tensor (h) of shape (None, 4), got 2"},
        {"lstm_wrong_width", 4, 2, 3, "LSTM 'dec': initial_state[0] is (None, 3), the layer's states are (None, 4)"},
        {"simple_rnn_wrong_width", 1, 1, 5, "SimpleRNN 'dec': initial_state[0] is (None, 5), the layer's states are (None, 4)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (!t_begin(r, "rnn_state/errors/%s", rows[i].name)) continue;
        nnc_model *m = nnc_model_new(NULL);
        nnc_node x = nnc_input(m, (int[]){T, F}, 2, "x"), st[2];
        for (int k = 0; k < rows[i].n; k++) st[k] = nnc_input(m, (int[]){rows[i].width}, 1, k ? "c" : "h");
        nnc_rnn_opts o = nnc_rnn_opts_default(4);
        o.initial_state = st, o.n_initial_state = rows[i].n, o.name = "dec";
        nnc_node y = add_rnn(m, x, rows[i].gates, &o);
        CHECK(r, y == NNC_NONE && !strcmp(nnc_last_error(m), rows[i].want), "got '%s'", nnc_last_error(m));
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "rnn_state/errors/states_of_a_layer_without_return_state")) {
        nnc_model *m = nnc_model_new(NULL);
        nnc_node x = nnc_input(m, (int[]){T, F}, 2, "x"), st[2];
        nnc_rnn_opts o = nnc_rnn_opts_default(4);
        nnc_node y = nnc_lstm(m, x, &o);
        CHECK(r, nnc_rnn_states(m, y, st, 2) == 0, "states without return_state");
        CHECK(r, nnc_rnn_states(m, x + 100, st, 2) == -1, "states of no layer's output");
        nnc_model_free(m);
        t_end(r);
    }
}

/* An encoder-decoder spec: LSTM states start an LSTM, a GRU's state (through a Dense) starts a
 * SimpleRNN, Bidirectional(LSTM) states start another; states are read by the head too. */
static const char spec_text[] =
    "input 8 6 name=tokens\n"
    "lstm 6 return_sequences=true return_state=true name=enc\n"
    "gru 5 return_state=true go_backwards=true reset_after=false name=genc from=tokens\n"
    "dense 4 from=genc:1 name=init\n"
    "lstm 6 from=enc initial_state=[enc:1,enc:2] name=dec\n"
    "simple_rnn 4 from=enc initial_state=init name=dec2\n"
    "bidirectional lstm 3 return_sequences=true return_state=true from=tokens name=bienc\n"
    "bidirectional lstm 3 from=bienc initial_state=[bienc:1, bienc:2, bienc:3, bienc:4] name=bidec\n"
    "concatenate from=[dec,dec2,genc:1,enc:2,bidec,bienc:4] name=cat\n"
    "dense 2 name=logits\n"
    "loss sparse_categorical_crossentropy from_logits=true\n"
    "optimizer adam learning_rate=0.01\n";

/* Saved as nnc's file, .keras and .h5 and loaded: the same config text and the same predictions,
 * bit for bit. */
static void round_trip(test_run *r) {
    if (!t_begin(r, "rnn_state/round_trips_through_every_format")) return;
    enum { M = 16 };
    char path[512], dir[] = "/tmp/nnc_rstate_XXXXXX";
    float x[M * 48], y[M], p1[M * 2], p2[M * 2];
    for (int i = 0; i < M * 48; i++) x[i] = (float)((i * 7919) % 13 == 0);
    for (int i = 0; i < M; i++) y[i] = (float)(i % 2);
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(spec_text, strlen(spec_text), "t.nnc", &e);
    nnc_fit_opts fo = nnc_fit_opts_default();
    fo.verbose = 0, fo.epochs = 1, fo.batch_size = 8;
    if (!CHECK(r, m != NULL, "spec: %s", e.message) || !CHECK(r, mkdtemp(dir) != NULL, "no folder") ||
        !CHECK(r, nnc_fit(m, x, y, M, &fo, NULL) == NNC_OK && nnc_predict(m, x, M, p1) == NNC_OK, "%s",
               nnc_last_error(m))) {
        nnc_model_free(m);
        t_end(r);
        return;
    }
    nnc_strbuf a = {0};
    nnc_config_json(m, &a);
    CHECK(r, a.buf && strstr(a.buf, "\"kwargs\":{\"initial_state\":[{\"class_name\":\"__keras_tensor__\"") &&
                 strstr(a.buf, "\"keras_history\":[\"enc\",0,2]") && strstr(a.buf, "\"keras_history\":[\"bienc\",0,4]") &&
                 strstr(a.buf, "\"return_state\":true"),
          "the config lacks the states: %s", a.buf);
    static const char *const ext[] = {"safetensors", "keras", "h5"};
    for (int f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/m.%s", dir, ext[f]);
        nnc_status st = nnc_model_save(m, path, NULL);
        if (f && st == NNC_ERR_UNSUPPORTED) continue;
        nnc_model *l = NULL;
        if (CHECK(r, st == NNC_OK, ".%s: save: %s", ext[f], nnc_last_error(m)) &&
            CHECK(r, (l = nnc_model_load(path, &e)) != NULL, ".%s: load: %s", ext[f], e.message)) {
            nnc_strbuf b = {0};
            nnc_config_json(l, &b);
            CHECK(r, a.buf && b.buf && !strcmp(a.buf, b.buf), ".%s: configs differ:\n%s\n%s", ext[f], a.buf, b.buf);
            nnc_sb_free(&b);
            CHECK(r, nnc_predict(l, x, M, p2) == NNC_OK && !memcmp(p1, p2, sizeof p1), ".%s: predictions differ",
                  ext[f]);
        }
        nnc_model_free(l);
        unlink(path);
    }
    nnc_sb_free(&a);
    rmdir(dir);
    nnc_model_free(m);
    t_end(r);
}

/* Keras 3's and Keras 2's ways of writing LSTM(return_state) whose h and c start another LSTM
 * and whose c is an output (hand-written from Keras's serialize_node / Node.serialize). */
static void keras_configs(test_run *r) {
#define K3T(name, t) "{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":[null,4],\"dtype\":\"float32\"," \
                     "\"keras_history\":[\"" name "\",0," #t "]}}"
#define LAYERS(enc_in, dec_in)                                                                                       \
    "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,5,3],\"name\":\"x\"},\"name\":\"x\","            \
    "\"inbound_nodes\":[]},"                                                                                         \
    "{\"class_name\":\"LSTM\",\"config\":{\"name\":\"enc\",\"units\":4,\"return_state\":true},\"name\":\"enc\","      \
    "\"inbound_nodes\":" enc_in "},"                                                                                 \
    "{\"class_name\":\"LSTM\",\"config\":{\"name\":\"dec\",\"units\":4},\"name\":\"dec\",\"inbound_nodes\":" dec_in "}"
    static const struct {
        const char *name, *text;
        int keras2;
    } cases[] = {
        {"keras3",
         "{\"class_name\":\"Functional\",\"config\":{\"name\":\"f\",\"layers\":[" LAYERS(
             "[{\"args\":[" K3T("x", 0) "],\"kwargs\":{}}]",
             "[{\"args\":[" K3T("x", 0) "],\"kwargs\":{\"initial_state\":[" K3T("enc", 1) "," K3T("enc", 2) "]}}]")
         "],\"input_layers\":[[\"x\",0,0]],\"output_layers\":[[\"dec\",0,0],[\"enc\",0,2]]}}", 0},
        {"keras2",
         "{\"class_name\":\"Model\",\"config\":{\"name\":\"f\",\"layers\":[" LAYERS(
             "[[[\"x\",0,0,{}]]]", "[[[\"x\",0,0,{}],[\"enc\",0,1,{}],[\"enc\",0,2,{}]]]")
         "],\"input_layers\":[[\"x\",0,0]],\"output_layers\":[[\"dec\",0,0],[\"enc\",0,2]]}}", 1},
    };
#undef LAYERS
#undef K3T
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!t_begin(r, "rnn_state/reads_%s_configs", cases[i].name)) continue;
        char msg[512] = "";
        nnc_model *m = config_model(cases[i].text, cases[i].keras2, msg, sizeof msg);
        if (CHECK(r, m != NULL, "%s", msg)) {
            const nnc_layer_rec *enc = &m->layers[nnc_find_layer(m, "enc")], *dec = &m->layers[nnc_find_layer(m, "dec")];
            CHECK(r, enc->n_more == 2 && dec->n_inputs == 3 && dec->inputs[1] == enc->more[0] &&
                         dec->inputs[2] == enc->more[1],
                  "dec reads %d inputs", dec->n_inputs);
            CHECK(r, m->n_outputs == 2 && m->outputs[1] == enc->more[1], "outputs");
        }
        nnc_model_free(m);
        t_end(r);
    }
}

/* Spec lines naming states that are not there: one line naming the file, line and layer. */
static void spec_errors(test_run *r) {
    static const struct { const char *spec, *want; } specs[] = {
        {"input 5 3\nlstm 4 return_state=true name=enc\nlstm 4 from=input_layer initial_state=[enc:1,enc:3]\n"
         "loss mse\n", "t.nnc:3: lstm: initial_state=[enc:1,enc:3]: layer 'enc' has no output 3 (it has 3;"},
        {"input 5 3\nlstm 4 return_state=true name=enc\nlstm 4 from=input_layer initial_state=enc:1\nloss mse\n",
         "t.nnc:3: LSTM 'lstm': initial_state needs 2 tensors (h, c) of shape (None, 4), got 1"},
        {"input 5 3\ngru 4 name=enc\ngru 4 from=input_layer initial_state=enc:1\nloss mse\n",
         "t.nnc:3: gru: initial_state=enc:1: layer 'enc' has no output 1 (it has 1;"},
        {"input 5 3\ngru 4 return_state=true name=enc\ngru 3 from=input_layer initial_state=enc:1\nloss mse\n",
         "t.nnc:3: GRU 'gru': initial_state[0] is (None, 4), the layer's states are (None, 3)"},
        {"input 5 3\ngru 4 return_state=true name=enc\ndense 3 initial_state=enc:1\nloss mse\n", "t.nnc:3: dense:"},
        {"input 5 3\ngru 4 return_state=true name=enc\ndense 3 from=enc:x\nloss mse\n",
         "t.nnc:3: dense: from=enc:x: 'enc:x' is not NAME or NAME:OUTPUT"},
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        if (!t_begin(r, "rnn_state/spec_errors/%zu", i)) continue;
        nnc_error e = {""};
        nnc_model *bad = nnc_model_from_spec_text(specs[i].spec, strlen(specs[i].spec), "t.nnc", &e);
        CHECK(r, !bad && strstr(e.message, specs[i].want) && !strchr(e.message, '\n'), "want '%s', got '%s'",
              specs[i].want, e.message);
        nnc_model_free(bad);
        t_end(r);
    }
}

void suite_rnn_state(test_run *r);
void suite_rnn_state(test_run *r) {
    fx_file f = {0};
    if (t_begin(r, "rnn_state/fixtures_load")) {
        fx_load_fixture(r, "recurrent_state.txt", &f);
        t_end(r);
    }
    for (size_t i = 0; f.n && i < sizeof fx_cases / sizeof *fx_cases; i++) fixture_case(r, &f, &fx_cases[i]);
    fx_free(&f);
    static const char *const cells[5] = {NULL, "simple_rnn", NULL, "gru", "lstm"};
    for (int g = 1; g <= 4; g++) {
        if (g == 2) continue;
        char name[64];
        for (int v = 0; v < 3; v++) {
            snprintf(name, sizeof name, "%s%s", cells[g], v == 1 ? "_backwards" : v == 2 ? "_masked" : "");
            gradcheck_enc_dec(r, name, g, v == 1, v == 2 ? 2 : 0);
        }
    }
    gradcheck_bidirectional(r, NNC_RNN_LSTM);
    gradcheck_bidirectional(r, NNC_RNN_GRU);
    semantics(r);
    threads(r);
    errors(r);
    round_trip(r);
    keras_configs(r);
    spec_errors(r);
}
