/* The recurrent layers (src/ops/recurrent.c, src/layers/recurrent_layers.c), issue 14:
 * - PyTorch fixtures (tools/make_recurrent_fixtures.py; torch.nn.RNN/LSTM/GRU with Keras's
 *   weights mapped, GRU reset_after=False written out): forward outputs and the gradients of
 *   the variables for a loss Σ y·w, within 1e-5 + 1e-4·|ref|;
 * - gradient checks of stacked layers (the second's input gradient reaches the first's
 *   variables) for every cell and flag, masks and dropout included;
 * - semantics: go_backwards on x equals the forward layer on x reversed; masked trailing steps
 *   equal a shorter sequence; bit-identical with 1 and 2 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "compare.h"
#include "fixture.h"
#include "core/model_impl.h"
#include "core/layers_impl.h"

typedef struct {
    const char *name;
    int gates, units, go_backwards, return_sequences, reset_after;
} rnn_case;

static const rnn_case cases[] = {
    {"simple_rnn", 1, 3, 0, 1, 1}, {"lstm", 4, 4, 0, 0, 1}, {"lstm_back_seq", 4, 3, 1, 1, 1},
    {"gru", 3, 4, 0, 0, 1},        {"gru_back_seq", 3, 3, 1, 1, 1}, {"gru_v1", 3, 3, 0, 1, 0},
};

static nnc_node add_rnn(nnc_model *m, nnc_node x, int gates, const nnc_rnn_opts *o) {
    return gates == 1 ? nnc_simple_rnn(m, x, o) : gates == 3 ? nnc_gru(m, x, o) : nnc_lstm(m, x, o);
}

static void compile_mse(nnc_model *m) {
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
    nnc_compile(m, &co);
}

static void set_var(test_run *r, nnc_model *m, const char *var, const fx_tensor *t) {
    float *v = fx_floats(t);
    CHECK(r, v && nnc_set_variable(m, var, v, t->n) == NNC_OK, "set %s: %s", var, nnc_last_error(m));
    free(v);
}

/* One fixture case: forward, then backward from dy = w, compared with torch. */
static void fixture_case(test_run *r, const fx_file *f, const rnn_case *c) {
    if (!t_begin(r, "recurrent/torch/%s", c->name)) return;
    char k[96];
#define FX(s) (snprintf(k, sizeof k, "%s.%s", c->name, s), fx_need(r, f, k))
    const fx_tensor *x = FX("x"), *y = FX("y"), *w = FX("w");
    if (!x || !y || !w) {
        t_end(r);
        return;
    }
    const int N = x->shape[0], T = x->shape[1], F = x->shape[2];
    nnc_model *m = nnc_model_new(NULL);
    nnc_node in = nnc_input(m, (int[]){T, F}, 2, NULL);
    nnc_rnn_opts o = nnc_rnn_opts_default(c->units);
    o.go_backwards = c->go_backwards, o.return_sequences = c->return_sequences, o.reset_after = c->reset_after;
    o.name = "rnn";
    nnc_node out = add_rnn(m, in, c->gates, &o);
    compile_mse(m);
    if (CHECK(r, out >= 0 && m->compiled, "build: %s", nnc_last_error(m))) {
        set_var(r, m, "rnn.kernel", FX("kernel"));
        set_var(r, m, "rnn.recurrent_kernel", FX("recurrent_kernel"));
        set_var(r, m, "rnn.bias", FX("bias"));
        float *xv = fx_floats(x), *wv = fx_floats(w);
        double worst = 0.0;
        if (CHECK(r, nnc_plan(m, N) == NNC_OK, "plan")) {
            nnc_gather_inputs(m, xv, NULL, 0, N);
            nnc_forward(m, N, 1);
            CHECK_NEAR_FX(r, m->nodes[out].value, y->n, y, 1e-5, 1e-4, &worst, "%s output", c->name);
            nnc_zero_grads(m);
            memcpy(m->nodes[out].grad, wv, w->n * sizeof(float));
            nnc_backward(m, N);
            static const char *const vars[3] = {"kernel", "recurrent_kernel", "bias"};
            for (int i = 0; i < 3; i++) {
                char g[48], name[48];
                snprintf(g, sizeof g, "d%s", vars[i]);
                snprintf(name, sizeof name, "rnn.%s", vars[i]);
                const fx_tensor *ref = FX(g);
                int p = nnc_find_param(m, name);
                if (CHECK(r, p >= 0 && ref, "%s", name))
                    CHECK_NEAR_FX(r, m->nodes[m->params[p].node].grad, ref->n, ref, 1e-5, 1e-4, &worst, "%s", g);
            }
        }
        t_info(r, "max |nnc - torch| relative to the tolerance: %.3g", worst);
        free(xv), free(wv);
    }
#undef FX
    nnc_model_free(m);
    t_end(r);
}

/* A stack of two recurrent layers and a Dense, gradient-checked. mask_steps > 0 masks the last
 * mask_steps steps of odd rows through a second input (a hand-made mask node). */
static void gradcheck_case(test_run *r, const char *name, int gates, int reset_after, int back, int use_bias,
                           float dropout, int mask_steps) {
    if (!t_begin(r, "recurrent/gradcheck/%s", name)) return;
    enum { N = 6, T = 4, F = 3 };
    nnc_model *m = nnc_model_new(NULL);
    nnc_node in = nnc_input(m, (int[]){T, F}, 2, NULL);
    if (mask_steps) {
        nnc_node mk = nnc_input(m, (int[]){T}, 1, "mask");
        m->nodes[in].mask = mk;
    }
    nnc_rnn_opts o = nnc_rnn_opts_default(4);
    o.return_sequences = true, o.go_backwards = back, o.use_bias = use_bias, o.reset_after = reset_after;
    o.dropout = dropout, o.recurrent_dropout = dropout;
    o.bias_initializer = nnc_initializer_default(NNC_INIT_RANDOM_UNIFORM);
    nnc_node h = add_rnn(m, in, gates, &o);
    o.units = 3, o.return_sequences = false, o.go_backwards = !back;
    h = add_rnn(m, h, gates, &o);
    nnc_dense_opts d = nnc_dense_opts_default(2);
    nnc_dense(m, h, &d);
    compile_mse(m);
    float x[N * (T * F + T)], y[N * 2];
    for (int i = 0; i < N; i++) {
        float *row = x + i * (T * F + (mask_steps ? T : 0));
        for (int j = 0; j < T * F; j++) row[j] = (float)(((i * 31 + j * 17) % 23) - 11) / 10.0f;
        for (int t = 0; mask_steps && t < T; t++) row[T * F + t] = (i % 2 && t >= T - mask_steps) ? 0.0f : 1.0f;
        y[2 * i] = (float)(i % 3) - 1.0f, y[2 * i + 1] = 0.5f;
    }
    nnc_gradcheck_result res[16];
    nnc_gradcheck_opts go = nnc_gradcheck_opts_default();
    int failed = -1;
    if (CHECK(r, m->compiled, "build: %s", nnc_last_error(m)) &&
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
    nnc_model_free(m);
    t_end(r);
}

/* Predictions of a one-layer model on n rows of x (F features, T steps). */
static nnc_model *one_layer(int gates, int T, int F, int back, int seq, int mask, int threads) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_node in = nnc_input(m, (int[]){T, F}, 2, NULL);
    if (mask) m->nodes[in].mask = nnc_input(m, (int[]){T}, 1, "mask");
    nnc_rnn_opts o = nnc_rnn_opts_default(5);
    o.go_backwards = back, o.return_sequences = seq, o.name = "rnn";
    add_rnn(m, in, gates, &o);
    nnc_model_set_threads(m, threads);
    nnc_model_set_seed(m, 7);
    compile_mse(m);
    return m;
}

static void semantics(test_run *r) {
    enum { N = 5, T = 6, F = 3, U = 5 };
    float x[N * T * F], xr[N * T * F], a[N * T * U], b[N * T * U];
    for (int i = 0; i < N * T * F; i++) x[i] = sinf((float)i * 0.7f);
    for (int n = 0; n < N; n++)
        for (int t = 0; t < T; t++) memcpy(xr + (n * T + t) * F, x + (n * T + T - 1 - t) * F, F * sizeof(float));
    for (int g = 1; g <= 4; g++) {
        if (g == 2) continue;
        if (t_begin(r, "recurrent/go_backwards_reads_reversed/%d_gates", g)) {
            nnc_model *fw = one_layer(g, T, F, 0, 0, 0, 1), *bw = one_layer(g, T, F, 1, 0, 0, 1);
            if (CHECK(r, fw->compiled && bw->compiled, "build") && nnc_predict(fw, xr, N, a) == NNC_OK &&
                nnc_predict(bw, x, N, b) == NNC_OK)
                CHECK(r, !memcmp(a, b, sizeof(float) * N * U), "go_backwards on x differs from forward on x reversed");
            nnc_model_free(fw), nnc_model_free(bw);
            t_end(r);
        }
        if (t_begin(r, "recurrent/masked_steps_are_skipped/%d_gates", g)) {
            /* the last 2 steps masked give what the first 4 steps alone give */
            nnc_model *mk = one_layer(g, T, F, 0, 0, 1, 1), *sh = one_layer(g, T - 2, F, 0, 0, 0, 1);
            float xm[N * (T * F + T)], xs[N * (T - 2) * F];
            for (int n = 0; n < N; n++) {
                memcpy(xm + n * (T * F + T), x + n * T * F, T * F * sizeof(float));
                for (int t = 0; t < T; t++) xm[n * (T * F + T) + T * F + t] = t < T - 2 ? 1.0f : 0.0f;
                memcpy(xs + n * (T - 2) * F, x + n * T * F, (T - 2) * F * sizeof(float));
            }
            if (CHECK(r, mk->compiled && sh->compiled, "build") && nnc_predict(mk, xm, N, a) == NNC_OK &&
                nnc_predict(sh, xs, N, b) == NNC_OK)
                CHECK(r, !memcmp(a, b, sizeof(float) * N * U), "masked steps changed the state");
            nnc_model_free(mk), nnc_model_free(sh);
            t_end(r);
        }
    }
}

/* Training steps with dropout give the same bits with 1 and 2 threads. */
static void threads(test_run *r) {
    if (!t_begin(r, "recurrent/same_bits_with_1_and_2_threads")) return;
    enum { N = 64, T = 7, F = 5 };
    float x[N * T * F], y[N * 2], w[2][2 * 500];
    for (int i = 0; i < N * T * F; i++) x[i] = cosf((float)i * 0.37f);
    for (int i = 0; i < N * 2; i++) y[i] = (float)(i % 5) / 5.0f;
    size_t count[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        nnc_model *m = nnc_model_new(NULL);
        nnc_node in = nnc_input(m, (int[]){T, F}, 2, NULL);
        nnc_rnn_opts o = nnc_rnn_opts_default(16);
        o.dropout = 0.2f, o.recurrent_dropout = 0.3f, o.return_sequences = true;
        nnc_node h = nnc_lstm(m, in, &o);
        o.return_sequences = false;
        h = nnc_gru(m, h, &o);
        nnc_dense_opts d = nnc_dense_opts_default(2);
        nnc_dense(m, h, &d);
        nnc_model_set_threads(m, k + 1);
        nnc_model_set_seed(m, 3);
        compile_mse(m);
        nnc_fit_opts fo = nnc_fit_opts_default();
        fo.epochs = 2, fo.batch_size = 16, fo.verbose = 0;
        if (CHECK(r, m->compiled && nnc_fit(m, x, y, N, &fo, NULL) == NNC_OK, "fit: %s", nnc_last_error(m))) {
            count[k] = m->n_param_floats < 1000 ? m->n_param_floats : 1000;
            memcpy(w[k], m->param_arena, count[k] * sizeof(float));
        }
        nnc_model_free(m);
    }
    CHECK(r, count[0] > 0 && count[0] == count[1] && !memcmp(w[0], w[1], count[0] * sizeof(float)),
          "weights differ between 1 and 2 threads");
    t_end(r);
}

/* Bidirectional(merge) of a stack, gradient-checked: both directions' variables. */
static void gradcheck_bidirectional(test_run *r, nnc_merge_mode mode, nnc_rnn_kind kind) {
    static const char *const names[] = {"concat", "sum", "mul", "ave"};
    if (!t_begin(r, "recurrent/gradcheck/bidirectional_%s_%d", names[mode], (int)kind)) return;
    enum { N = 6, T = 4, F = 3 };
    nnc_model *m = nnc_model_new(NULL);
    nnc_node in = nnc_input(m, (int[]){T, F}, 2, NULL);
    nnc_bidirectional_opts b = nnc_bidirectional_opts_default(kind, 3);
    b.merge_mode = mode, b.rnn.return_sequences = true;
    b.rnn.bias_initializer = nnc_initializer_default(NNC_INIT_RANDOM_UNIFORM);
    nnc_node h = nnc_bidirectional(m, in, &b);
    nnc_dense_opts d = nnc_dense_opts_default(2);
    h = nnc_time_distributed_dense(m, h, &d);
    b.rnn.return_sequences = false;
    h = nnc_bidirectional(m, h, &b);
    nnc_dense(m, h, &d);
    compile_mse(m);
    float x[N * T * F], y[N * 2];
    for (int i = 0; i < N * T * F; i++) x[i] = (float)(((i * 29) % 19) - 9) / 8.0f;
    for (int i = 0; i < N * 2; i++) y[i] = (float)(i % 3) - 1.0f;
    nnc_gradcheck_result res[32];
    nnc_gradcheck_opts go = nnc_gradcheck_opts_default();
    int failed = -1;
    if (CHECK(r, m->compiled, "build: %s", nnc_last_error(m)) && CHECK(r, nnc_variable_count(m) <= 32, "variables") &&
        CHECK(r, nnc_gradcheck(m, x, y, N, &go, res, &failed) == NNC_OK, "gradcheck: %s", nnc_last_error(m))) {
        for (int i = 0; i < nnc_variable_count(m); i++)
            CHECK(r, res[i].failed == 0 && res[i].checked > 0, "%s: %zu of %zu failed (worst relative error %.3g)",
                  nnc_variable_name(m, i), res[i].failed, res[i].checked, res[i].max_rel_err);
        CHECK(r, failed == 0, "%d variables failed", failed);
    }
    nnc_model_free(m);
    t_end(r);
}

/* Bidirectional(concat, return_sequences) is the forward layer's sequence beside the backward
 * layer's (go_backwards) turned back to input order, with the same weights. */
static void bidirectional_is_two_layers(test_run *r) {
    if (!t_begin(r, "recurrent/bidirectional_is_forward_beside_backward_reversed")) return;
    enum { N = 3, T = 5, F = 2, U = 4 };
    nnc_model *bi = nnc_model_new(NULL), *fw = nnc_model_new(NULL), *bw = nnc_model_new(NULL);
    nnc_node in = nnc_input(bi, (int[]){T, F}, 2, NULL);
    nnc_bidirectional_opts b = nnc_bidirectional_opts_default(NNC_RNN_LSTM, U);
    b.rnn.return_sequences = true, b.name = "bi";
    nnc_bidirectional(bi, in, &b);
    nnc_rnn_opts o = b.rnn;
    o.name = "rnn";
    nnc_lstm(fw, nnc_input(fw, (int[]){T, F}, 2, NULL), &o);
    o.go_backwards = true;
    nnc_lstm(bw, nnc_input(bw, (int[]){T, F}, 2, NULL), &o);
    compile_mse(bi), compile_mse(fw), compile_mse(bw);
    static const char *const vars[] = {"kernel", "recurrent_kernel", "bias"};
    float w[4 * U * 8], x[N * T * F], yb[N * T * 2 * U], yf[N * T * U], yr[N * T * U];
    int ok = bi->compiled && fw->compiled && bw->compiled;
    for (int d = 0; d < 2 && ok; d++)
        for (int v = 0; v < 3; v++) {
            char name[64];
            snprintf(name, sizeof name, "bi.%s_%s", d ? "backward" : "forward", vars[v]);
            size_t n = v == 0 ? F * 4 * U : v == 1 ? U * 4 * U : 4 * U;
            char dst[32];
            snprintf(dst, sizeof dst, "rnn.%s", vars[v]);
            ok &= nnc_get_variable(bi, name, w, n) == NNC_OK && nnc_set_variable(d ? bw : fw, dst, w, n) == NNC_OK;
        }
    for (int i = 0; i < N * T * F; i++) x[i] = cosf((float)i);
    if (CHECK(r, ok, "build or variables: %s", nnc_last_error(bi)) && nnc_predict(bi, x, N, yb) == NNC_OK &&
        nnc_predict(fw, x, N, yf) == NNC_OK && nnc_predict(bw, x, N, yr) == NNC_OK) {
        int same = 1;
        for (int n = 0; n < N; n++)
            for (int t = 0; t < T; t++) {
                same &= !memcmp(yb + (n * T + t) * 2 * U, yf + (n * T + t) * U, U * sizeof(float));
                same &= !memcmp(yb + (n * T + t) * 2 * U + U, yr + (n * T + T - 1 - t) * U, U * sizeof(float));
            }
        CHECK(r, same, "Bidirectional differs from its two layers");
    }
    nnc_model_free(bi), nnc_model_free(fw), nnc_model_free(bw);
    t_end(r);
}

void suite_recurrent(test_run *r);
void suite_recurrent(test_run *r) {
    fx_file f = {0};
    if (t_begin(r, "recurrent/fixtures_load")) {
        fx_load_fixture(r, "recurrent.txt", &f);
        t_end(r);
    }
    for (size_t i = 0; f.n && i < sizeof cases / sizeof *cases; i++) fixture_case(r, &f, &cases[i]);
    fx_free(&f);
    gradcheck_case(r, "simple_rnn", 1, 1, 0, 1, 0.0f, 0);
    gradcheck_case(r, "lstm", 4, 1, 0, 1, 0.0f, 0);
    gradcheck_case(r, "lstm_backwards_no_bias", 4, 1, 1, 0, 0.0f, 0);
    gradcheck_case(r, "gru_reset_after", 3, 1, 0, 1, 0.0f, 0);
    gradcheck_case(r, "gru_reset_before", 3, 0, 1, 1, 0.0f, 0);
    gradcheck_case(r, "lstm_masked", 4, 1, 0, 1, 0.0f, 2);
    gradcheck_case(r, "gru_masked_backwards", 3, 1, 1, 1, 0.0f, 1);
    gradcheck_case(r, "lstm_dropout", 4, 1, 0, 1, 0.25f, 0);
    gradcheck_case(r, "gru_v1_dropout_masked", 3, 0, 0, 1, 0.25f, 2);
    gradcheck_case(r, "simple_rnn_dropout", 1, 1, 1, 1, 0.25f, 0);
    for (int k = 0; k < 4; k++) gradcheck_bidirectional(r, (nnc_merge_mode)k, k == 1 ? NNC_RNN_GRU : NNC_RNN_LSTM);
    gradcheck_bidirectional(r, NNC_MERGE_CONCAT, NNC_RNN_SIMPLE);
    bidirectional_is_two_layers(r);
    semantics(r);
    threads(r);
}
