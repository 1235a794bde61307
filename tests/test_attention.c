/* MultiHeadAttention (issue 14): the gradient check over heads, causal and key != value, with
 * masks (a mask node made by hand: an Input of 0/1 per step set as a node's mask, as Embedding
 * and Masking set it); the same bits with any thread count; and a Transformer encoder block that
 * learns a task only attention can do. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "test.h"
#include "compare.h"
#include "fixture.h"
#include "train/train_impl.h"
#include "format/json.h"
#include "io/keras_config.h"
#include "layers/layers.h"

enum { T = 5, F = 3 };

typedef struct {
    int heads, key_dim, value_dim, causal, own_key, qmask, vmask;
    float dropout;
} mha_case;

/* Input x [T, F] (then a mask input [T] when the case has one) -> Dense -> MHA -> pooled ->
 * Dense(3). The key (own_key) is another Dense of x, narrower than the value. */
static nnc_model *mha_model(const mha_case *c) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_node x = nnc_input(m, (int[]){T, F}, 2, NULL);
    nnc_node mask = c->qmask || c->vmask ? nnc_input(m, (int[]){T}, 1, "mask") : NNC_NONE;
    nnc_dense_opts d4 = nnc_dense_opts_default(4), d2 = nnc_dense_opts_default(2);
    d4.bias_initializer = d2.bias_initializer = nnc_initializer_default(NNC_INIT_RANDOM_NORMAL);
    nnc_node q = nnc_dense(m, x, &d4), v = nnc_dense(m, x, &d4), k = c->own_key ? nnc_dense(m, x, &d2) : NNC_NONE;
    if (c->qmask) m->nodes[q].mask = mask;
    if (c->vmask) m->nodes[v].mask = mask;
    if (c->vmask && c->own_key) m->nodes[k].mask = mask;
    nnc_mha_opts o = nnc_mha_opts_default(c->heads, c->key_dim);
    o.value_dim = c->value_dim, o.use_causal_mask = c->causal, o.dropout = c->dropout;
    o.bias_initializer = nnc_initializer_default(NNC_INIT_RANDOM_NORMAL);
    nnc_node a = nnc_multi_head_attention(m, q, v, k, &o);
    if (a >= 0) m->nodes[a].mask = -1; /* the query's mask stops here: Flatten reads every step */
    nnc_dense_opts d3 = nnc_dense_opts_default(3);
    nnc_node out = nnc_dense(m, nnc_flatten(m, a, NULL), &d3);
    nnc_set_outputs(m, &out, 1);
    return m;
}

static void fill_inputs(float *x, size_t n, int with_mask) {
    const int per = T * F + (with_mask ? T : 0);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < per; j++) {
            float *v = x + i * (size_t)per + j;
            if (j < T * F) *v = (float)(((i * 31 + (size_t)j * 17) % 23)) / 11.0f - 1.0f;
            else *v = ((i + (size_t)j) % 3 == 0 && j != T * F + 1) ? 0.0f : 1.0f; /* step 1 always kept */
        }
}

static void test_gradcheck(test_run *r) {
    static const mha_case cases[] = {
        {1, 3, 0, 0, 0, 0, 0, 0.0f}, {2, 2, 3, 1, 0, 0, 0, 0.0f}, {3, 2, 1, 0, 1, 0, 0, 0.0f},
        {2, 3, 2, 1, 1, 0, 0, 0.3f}, {2, 2, 0, 0, 1, 0, 1, 0.0f}, {2, 2, 3, 1, 0, 1, 1, 0.0f},
        {1, 2, 0, 0, 0, 1, 0, 0.0f},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const mha_case *c = &cases[ci];
        if (!t_begin(r, "attention/gradcheck_h%d_k%d_v%d%s%s%s%s%s", c->heads, c->key_dim, c->value_dim,
                     c->causal ? "_causal" : "", c->own_key ? "_key" : "", c->qmask ? "_qmask" : "",
                     c->vmask ? "_vmask" : "", c->dropout > 0 ? "_dropout" : ""))
            continue;
        enum { N = 6 };
        nnc_model *m = mha_model(c);
        nnc_compile_opts co = nnc_compile_opts_default();
        co.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
        co.loss.from_logits = true;
        float x[N * (T * F + T)], y[N];
        fill_inputs(x, N, c->qmask || c->vmask);
        for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
        nnc_gradcheck_result res[16];
        nnc_gradcheck_opts go = nnc_gradcheck_opts_default();
        go.batch_size = N;
        int failed = -1;
        if (CHECK(r, nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m)) &&
            CHECK(r, nnc_variable_count(m) <= 16, "%d variables", nnc_variable_count(m)) &&
            CHECK(r, nnc_gradcheck(m, x, y, N, &go, res, &failed) == NNC_OK, "gradcheck: %s", nnc_last_error(m))) {
            double worst = 0.0;
            size_t checked = 0;
            for (int i = 0; i < nnc_variable_count(m); i++) {
                checked += res[i].checked;
                if (res[i].max_rel_err > worst || res[i].max_rel_err != res[i].max_rel_err) worst = res[i].max_rel_err;
                CHECK(r, res[i].failed == 0 && res[i].checked > 0, "%s: %zu of %zu failed (worst relative error %.3g)",
                      nnc_variable_name(m, i), res[i].failed, res[i].checked, res[i].max_rel_err);
            }
            CHECK(r, failed == 0, "%d variables failed", failed);
            t_info(r, "%zu elements, worst relative error %.2g", checked, worst);
        }
        nnc_model_free(m);
        t_end(r);
    }
}

/* A refused step changes nothing: with the value mask, the output of a query does not depend on
 * the values of masked steps; causal, step t does not depend on later steps. */
static void test_masks_hide_steps(test_run *r) {
    if (!t_begin(r, "attention/masked_and_later_steps_are_not_read")) return;
    const mha_case c = {2, 2, 0, 1, 0, 0, 1, 0.0f};
    nnc_model *m = nnc_model_new(NULL);
    nnc_node x = nnc_input(m, (int[]){T, F}, 2, NULL);
    nnc_node mask = nnc_input(m, (int[]){T}, 1, "mask");
    nnc_dense_opts d4 = nnc_dense_opts_default(4);
    nnc_node q = nnc_dense(m, x, &d4), v = nnc_dense(m, x, &d4);
    m->nodes[v].mask = mask;
    nnc_mha_opts o = nnc_mha_opts_default(c.heads, c.key_dim);
    o.use_causal_mask = true;
    nnc_node a = nnc_multi_head_attention(m, q, v, NNC_NONE, &o);
    nnc_set_outputs(m, &a, 1);
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
    if (CHECK(r, nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m))) {
        float in[2][T * F + T], out[2][T * 4];
        fill_inputs(in[0], 1, 1);
        for (int s = 0; s < T; s++) in[0][T * F + s] = s == 3 ? 0.0f : 1.0f;
        memcpy(in[1], in[0], sizeof in[0]);
        for (int f = 0; f < F; f++) in[1][3 * F + f] += 5.0f, in[1][4 * F + f] -= 3.0f; /* step 3 masked */
        nnc_predict(m, in[0], 1, out[0]);
        nnc_predict(m, in[1], 1, out[1]);
        /* steps 0..2 read steps 0..t only, none changed (step 3's own query changed) */
        CHECK(r, !memcmp(out[0], out[1], 3 * 4 * sizeof(float)), "a masked or later step changed earlier outputs");
        CHECK(r, memcmp(out[0] + 16, out[1] + 16, 4 * sizeof(float)) != 0, "step 4 did not see its own change");
    }
    nnc_model_free(m);
    t_end(r);
}

/* Training with attention dropout gives the same weights with 1 and 3 threads. */
static void test_threads(test_run *r) {
    if (!t_begin(r, "attention/same_bits_any_thread_count")) return;
    enum { N = 64 };
    const mha_case c = {3, 4, 5, 1, 1, 1, 1, 0.2f};
    float x[N * (T * F + T)], y[N], p[2][N * 3];
    fill_inputs(x, N, 1);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    for (int k = 0; k < 2; k++) {
        nnc_model *m = mha_model(&c);
        nnc_model_set_threads(m, k ? 3 : 1);
        nnc_compile_opts co = nnc_compile_opts_default();
        co.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
        co.loss.from_logits = true;
        nnc_fit_opts fo = nnc_fit_opts_default();
        fo.verbose = 0, fo.epochs = 2, fo.batch_size = 16;
        CHECK(r, nnc_compile(m, &co) == NNC_OK && nnc_fit(m, x, y, N, &fo, NULL) == NNC_OK &&
                     nnc_predict(m, x, N, p[k]) == NNC_OK,
              "fit: %s", nnc_last_error(m));
        nnc_model_free(m);
    }
    CHECK(r, !memcmp(p[0], p[1], sizeof p[0]), "1 and 3 threads differ");
    t_end(r);
}

/* ---- the PyTorch fixtures (tools/make_attention_fixtures.py) ------------------------------ */

/* x [T, 3] (and its mask, an Input set as x's mask) -> MHA(x, x) -> Flatten -> Dense(3), each
 * variable set from the fixture. The MHA output's mask is dropped before Flatten: the fixture's
 * Flatten ignores it (Keras's Flatten does not take a mask either way). */
static nnc_model *fixture_model(test_run *r, const fx_file *f, int causal, int masked) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_node x = nnc_input(m, (int[]){T, F}, 2, NULL);
    if (masked) m->nodes[x].mask = nnc_input(m, (int[]){T}, 1, "mask");
    nnc_mha_opts o = nnc_mha_opts_default(2, 3);
    o.value_dim = 2, o.output_shape = 4, o.use_causal_mask = causal;
    nnc_node a = nnc_multi_head_attention(m, x, x, NNC_NONE, &o);
    if (a >= 0) m->nodes[a].mask = -1;
    nnc_dense_opts d = nnc_dense_opts_default(3);
    nnc_node out = nnc_dense(m, nnc_flatten(m, a, NULL), &d);
    nnc_set_outputs(m, &out, 1);
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    co.loss.from_logits = true;
    co.optimizer = nnc_adam_default();
    co.optimizer.learning_rate = 0.01f;
    int ok = CHECK(r, nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m));
    for (int i = 0; ok && i < nnc_variable_count(m); i++) {
        const char *name = nnc_variable_name(m, i);
        const fx_tensor *t = fx_need(r, f, name);
        float *w = fx_floats(t);
        ok = CHECK(r, w && nnc_set_variable(m, name, w, t->n) == NNC_OK, "set %s: %s", name, nnc_last_error(m));
        free(w);
    }
    if (!ok) nnc_model_free(m);
    return ok ? m : NULL;
}

/* nnc's input rows: each example's x, then its mask */
static float *fixture_rows(const fx_file *f, int masked) {
    const fx_tensor *xt = fx_get(f, "x"), *mt = fx_get(f, "mask");
    if (!xt || (masked && !mt)) return NULL;
    const size_t n = (size_t)xt->shape[0], per = T * F + (masked ? T : 0);
    float *x = malloc(n * per * sizeof *x);
    for (size_t i = 0; x && i < n; i++)
        for (size_t j = 0; j < per; j++)
            x[i * per + j] = (float)(j < T * F ? xt->v[i * T * F + j] : mt->v[i * T + j - T * F]);
    return x;
}

static void fixture_case(test_run *r, const char *tag, int causal, int masked) {
    if (!t_begin(r, "attention/fixture_%s", tag)) return;
    char file[64];
    snprintf(file, sizeof file, "attention_%s.txt", tag);
    fx_file f = {0};
    nnc_model *m = NULL;
    float *x = NULL, *y = NULL;
    if (fx_load_fixture(r, file, &f) && (m = fixture_model(r, &f, causal, masked)) != NULL &&
        CHECK(r, (x = fixture_rows(&f, masked)) && (y = fx_floats(fx_need(r, &f, "y"))), "x, mask or y missing")) {
        const int n = fx_get(&f, "x")->shape[0];
        double dout = 0, dloss = 0, dgrad = 0, dl = 0, dw = 0, d;
        if (CHECK(r, nnc_train_plan(m, n) == NNC_OK, "plan: %s", nnc_last_error(m))) {
            nnc_gather_inputs(m, x, NULL, 0, n);
            nnc_gather_targets(m, y, NULL, 0, n);
            nnc_zero_grads(m);
            nnc_forward(m, n, 1);
            float loss = (float)nnc_loss_forward(m, n, 1);
            nnc_backward(m, n);
            CHECK_NEAR_FX(r, m->nodes[m->outputs[0]].value, (size_t)n * 3, fx_get(&f, "out"), 1e-5, 1e-4, &dout, "out");
            CHECK_NEAR_FX(r, &loss, 1, fx_get(&f, "loss"), 1e-5, 1e-4, &dloss, "loss");
            for (int i = 0; i < m->n_params; i++) {
                char dn[160];
                snprintf(dn, sizeof dn, "d%s", m->params[i].name);
                CHECK_NEAR_FX(r, m->grad_arena + m->params[i].offset, m->params[i].size, fx_get(&f, dn), 1e-5, 1e-4, &d,
                              "%s", dn);
                if (!(d < dgrad)) dgrad = d;
            }
        }
        nnc_fit_opts fo = nnc_fit_opts_default();
        fo.epochs = 5, fo.batch_size = n, fo.shuffle = false, fo.verbose = 0;
        nnc_history *h = NULL;
        if (CHECK(r, nnc_fit(m, x, y, (size_t)n, &fo, &h) == NNC_OK, "fit: %s", nnc_last_error(m))) {
            float lv[5];
            for (int e = 0; e < 5; e++) lv[e] = (float)nnc_logs_get(nnc_history_logs(h, e), "loss");
            CHECK_NEAR_FX(r, lv, 5, fx_get(&f, "losses"), 1e-5, 1e-4, &dl, "losses");
            for (int i = 0; i < m->n_params; i++) {
                char fn[160];
                snprintf(fn, sizeof fn, "%s_final", m->params[i].name);
                /* The key's bias adds Q·b to every score of a row, which the softmax cancels: its
                 * gradient is 0 up to rounding, and Adam's m/√v turns rounding noise into steps of
                 * up to lr, in torch's float64 as in nnc's float32. Only that bound is checked. */
                if (strstr(fn, ".key/bias")) {
                    const fx_tensor *w0 = fx_get(&f, m->params[i].name);
                    for (size_t k = 0; w0 && k < m->params[i].size; k++)
                        CHECK(r, fabs((double)m->param_arena[m->params[i].offset + k] - w0->v[k]) <= 5 * 0.0101, "%s", fn);
                    continue;
                }
                CHECK_NEAR_FX(r, m->param_arena + m->params[i].offset, m->params[i].size, fx_get(&f, fn), 1e-5, 1e-4,
                              &d, "%s", fn);
                if (!(d < dw)) dw = d;
            }
        }
        nnc_history_free(h);
        t_info(r, "max |nnc - torch|: out %.3g, loss %.3g, gradients %.3g; after 5 Adam steps: losses %.3g, "
               "weights %.3g", dout, dloss, dgrad, dl, dw);
    }
    free(x);
    free(y);
    nnc_model_free(m);
    fx_free(&f);
    t_end(r);
}

/* ---- position layers and a Transformer encoder block ------------------------------------ */

/* The learned table gets Σ over the batch (gradient check); the sine encoding is Vaswani's. */
static void test_positions(test_run *r) {
    if (t_begin(r, "attention/position_embedding_gradcheck")) {
        enum { N = 4 };
        nnc_model *m = nnc_model_new(NULL);
        nnc_node x = nnc_input(m, (int[]){T, F}, 2, NULL);
        nnc_node h = nnc_add(m, (nnc_node[]){x, nnc_position_embedding(m, x, T + 2, NULL)}, 2, NULL);
        nnc_dense_opts d3 = nnc_dense_opts_default(3);
        nnc_dense(m, nnc_flatten(m, nnc_dense(m, h, &d3), NULL), &d3);
        nnc_compile_opts co = nnc_compile_opts_default();
        co.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
        co.loss.from_logits = true;
        float xv[N * T * F], y[N] = {0, 1, 2, 1};
        fill_inputs(xv, N, 0);
        nnc_gradcheck_result res[8];
        nnc_gradcheck_opts go = nnc_gradcheck_opts_default();
        int failed = -1;
        if (CHECK(r, nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m)) &&
            CHECK(r, nnc_gradcheck(m, xv, y, N, &go, res, &failed) == NNC_OK, "gradcheck: %s", nnc_last_error(m)))
            CHECK(r, failed == 0 && res[0].checked == (T + 2) * F, "%d failed; table: %zu checked (rows past T: 0)",
                  failed, res[0].checked);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "attention/sine_position_encoding_values")) {
        enum { L = 7, D = 6 };
        nnc_model *m = nnc_model_new(NULL);
        nnc_node x = nnc_input(m, (int[]){L, D}, 2, NULL);
        nnc_sine_position_encoding(m, x, 10000.0f, NULL);
        nnc_compile_opts co = nnc_compile_opts_default();
        float in[2 * L * D] = {0}, out[2 * L * D];
        double worst = 0;
        if (CHECK(r, nnc_compile(m, &co) == NNC_OK && nnc_predict(m, in, 2, out) == NNC_OK, "%s", nnc_last_error(m)))
            for (int b = 0; b < 2; b++)
                for (int t = 0; t < L; t++)
                    for (int i = 0; i < D; i++) {
                        const double a = t / pow(10000.0, (double)(2 * (i / 2)) / D), want = i % 2 ? cos(a) : sin(a);
                        const double diff = fabs((double)out[(b * L + t) * D + i] - want);
                        if (!(diff <= worst)) worst = diff;
                    }
        CHECK(r, worst <= 1e-6, "max |nnc - formula| = %.3g", worst);
        nnc_model_free(m);
        t_end(r);
    }
}

/* first == last over sequences of one-hot tokens: a step must read another step, which only
 * attention does here (the feed-forward layers act per step, the pooling averages). */
enum { SEQ = 8, VOCAB = 6, TRAIN_N = 2048, TEST_N = 512 };

static void first_equals_last(float *x, float *y, int n, unsigned long long seed) {
    memset(x, 0, (size_t)n * SEQ * VOCAB * sizeof *x);
    for (int i = 0; i < n; i++) {
        int tok[SEQ];
        for (int t = 0; t < SEQ; t++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            tok[t] = (int)((seed >> 33) % VOCAB);
        }
        y[i] = (float)(i % 2);
        if (i % 2) tok[SEQ - 1] = tok[0];
        else if (tok[SEQ - 1] == tok[0]) tok[SEQ - 1] = (tok[0] + 1 + (int)(seed >> 40) % (VOCAB - 1)) % VOCAB;
        for (int t = 0; t < SEQ; t++) x[(size_t)i * SEQ * VOCAB + (size_t)t * VOCAB + (size_t)tok[t]] = 1.0f;
    }
}

/* Input -> Dense -> + PositionEmbedding -> MHA self-attention -> Add -> LayerNormalization ->
 * Dense(relu) -> Dense -> Add -> LayerNormalization -> GlobalAveragePooling1D -> Dense(2). */
static nnc_model *encoder_block(int attention) {
    nnc_model *m = nnc_model_new("transformer_block");
    nnc_node x = nnc_input(m, (int[]){SEQ, VOCAB}, 2, NULL);
    nnc_dense_opts d16 = nnc_dense_opts_default(16), ff = nnc_dense_opts_default(32), d2 = nnc_dense_opts_default(2);
    ff.activation = NNC_ACT_RELU;
    nnc_node h = nnc_dense(m, x, &d16);
    h = nnc_add(m, (nnc_node[]){h, nnc_position_embedding(m, h, SEQ, NULL)}, 2, NULL);
    nnc_mha_opts mo = nnc_mha_opts_default(2, 8);
    nnc_layer_norm_opts lo = nnc_layer_norm_opts_default();
    if (attention) {
        nnc_node a = nnc_multi_head_attention(m, h, h, NNC_NONE, &mo);
        h = nnc_layer_normalization(m, nnc_add(m, (nnc_node[]){h, a}, 2, NULL), &lo);
    }
    nnc_node f = nnc_dense(m, nnc_dense(m, h, &ff), &d16);
    h = nnc_layer_normalization(m, nnc_add(m, (nnc_node[]){h, f}, 2, NULL), &lo);
    nnc_node out = nnc_dense(m, nnc_global_average_pooling1d(m, h, NULL), &d2);
    nnc_set_outputs(m, &out, 1);
    return m;
}

/* Held-out accuracy of the block trained 12 epochs, with or without its attention (2: the spec
 * file examples/transformer_block.nnc); -1 on failure. */
static double encoder_accuracy(test_run *r, const float *x, const float *y, int attention, double *seconds) {
    nnc_model *m = NULL;
    if (attention == 2) {
        char path[512];
        nnc_error e = {""};
        snprintf(path, sizeof path, "%s/../examples/transformer_block.nnc", t_srcdir());
        m = nnc_model_from_spec(path, &e);
        if (!CHECK(r, m != NULL, "%s", e.message)) return -1.0;
    } else {
        m = encoder_block(attention);
    }
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    co.loss.from_logits = true;
    co.optimizer = nnc_adam_default();
    co.optimizer.learning_rate = 0.005f;
    co.metrics[co.n_metrics++] = NNC_METRIC_ACCURACY;
    nnc_fit_opts fo = nnc_fit_opts_default();
    fo.epochs = 12, fo.batch_size = 32, fo.verbose = 0;
    const clock_t t0 = clock();
    nnc_logs logs;
    double acc = -1.0;
    if (attention == 2) {
        nnc_model_fit_defaults(m, &fo);
        fo.verbose = 0;
    }
    if (CHECK(r, attention == 2 || nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m)) &&
        CHECK(r, nnc_fit(m, x, y, TRAIN_N, &fo, NULL) == NNC_OK, "fit: %s", nnc_last_error(m)) &&
        CHECK(r, nnc_evaluate(m, x + (size_t)TRAIN_N * SEQ * VOCAB, y + TRAIN_N, TEST_N, 64, &logs) == NNC_OK,
              "evaluate: %s", nnc_last_error(m)))
        acc = nnc_logs_get(&logs, "accuracy");
    *seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    nnc_model_free(m);
    return acc;
}

static void test_encoder_block(test_run *r) {
    if (!t_begin(r, "attention/transformer_block_learns_first_equals_last")) return;
    float *x = malloc((size_t)(TRAIN_N + TEST_N) * SEQ * VOCAB * sizeof *x), *y = malloc((TRAIN_N + TEST_N) * sizeof *y);
    if (CHECK(r, x && y, "out of memory")) {
        first_equals_last(x, y, TRAIN_N + TEST_N, 14);
        double s1, s0;
        double s2;
        const double with = encoder_accuracy(r, x, y, 1, &s1), without = encoder_accuracy(r, x, y, 0, &s0);
        const double spec = encoder_accuracy(r, x, y, 2, &s2);
        CHECK(r, with >= 0.95, "held-out accuracy %.3f < 0.95", with);
        CHECK(r, spec >= 0.95, "examples/transformer_block.nnc: held-out accuracy %.3f < 0.95", spec);
        CHECK(r, without >= 0.0 && without <= 0.7, "without attention %.3f: the task does not need it", without);
        t_info(r, "held-out accuracy %.3f after 12 epochs of %d examples (%.2f s CPU); the same block without its "
               "attention %.3f; examples/transformer_block.nnc %.3f (%.2f s)", with, TRAIN_N, s1, without, spec, s2);
    }
    free(x);
    free(y);
    t_end(r);
}

/* Cross-attention, causal (a call argument: the kwargs of its inbound node), with key != value,
 * value_dim and output_shape, after keras-hub's sine encoding. */
static nnc_model *causal_cross_model(void) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_node x = nnc_input(m, (int[]){SEQ, VOCAB}, 2, NULL);
    x = nnc_add(m, (nnc_node[]){x, nnc_sine_position_encoding(m, x, 100.0f, NULL)}, 2, NULL);
    nnc_dense_opts d4 = nnc_dense_opts_default(4), d3 = nnc_dense_opts_default(3), d2 = nnc_dense_opts_default(2);
    nnc_mha_opts o = nnc_mha_opts_default(3, 2);
    o.value_dim = 3, o.output_shape = 5, o.use_causal_mask = true, o.dropout = 0.1f;
    nnc_node a = nnc_multi_head_attention(m, x, nnc_dense(m, x, &d4), nnc_dense(m, x, &d3), &o);
    nnc_node out = nnc_dense(m, nnc_global_average_pooling1d(m, a, NULL), &d2);
    nnc_set_outputs(m, &out, 1);
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    co.loss.from_logits = true;
    nnc_compile(m, &co);
    return m;
}

/* Saved as nnc's file, .keras and .h5 and loaded: the same config text and the same predictions,
 * bit for bit. */
static void round_trip(test_run *r, const char *what, nnc_model *m) {
    char path[512], dir[] = "/tmp/nnc_attn_XXXXXX";
    nnc_error e = {""};
    enum { N = 16 };
    float x[N * SEQ * VOCAB], y[N], p1[N * 2], p2[N * 2];
    first_equals_last(x, y, N, 3);
    nnc_fit_opts fo = nnc_fit_opts_default();
    fo.verbose = 0, fo.epochs = 1, fo.batch_size = 8;
    if (!CHECK(r, m != NULL && mkdtemp(dir) != NULL, "%s: no model or no folder", what) ||
        !CHECK(r, nnc_fit(m, x, y, N, &fo, NULL) == NNC_OK && nnc_predict(m, x, N, p1) == NNC_OK, "%s: %s", what,
               nnc_last_error(m)))
        return;
    static const char *const ext[] = {"safetensors", "keras", "h5"};
    for (int f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/m.%s", dir, ext[f]);
        nnc_status st = nnc_model_save(m, path, NULL);
        if (f && st == NNC_ERR_UNSUPPORTED) continue;
        nnc_model *l = NULL;
        if (CHECK(r, st == NNC_OK, "%s .%s: save: %s", what, ext[f], nnc_last_error(m)) &&
            CHECK(r, (l = nnc_model_load(path, &e)) != NULL, "%s .%s: load: %s", what, ext[f], e.message)) {
            nnc_strbuf a = {0}, b = {0};
            nnc_config_json(m, &a);
            nnc_config_json(l, &b);
            CHECK(r, a.buf && b.buf && !strcmp(a.buf, b.buf), "%s .%s: configs differ:\n%s\n%s", what, ext[f], a.buf,
                  b.buf);
            if (f == 1) /* Keras 3's call argument is in the call's kwargs, not in the config */
                CHECK(r, !strstr(what, "causal") || (a.buf && strstr(a.buf, "\"kwargs\":{\"use_causal_mask\":true}")),
                      "%s: use_causal_mask is not a call argument", what);
            nnc_sb_free(&a);
            nnc_sb_free(&b);
            CHECK(r, nnc_predict(l, x, N, p2) == NNC_OK && !memcmp(p1, p2, sizeof p1), "%s .%s: predictions differ",
                  what, ext[f]);
        }
        nnc_model_free(l);
        unlink(path);
    }
    rmdir(dir);
}

static void test_round_trip(test_run *r) {
    if (!t_begin(r, "attention/round_trips_through_every_format")) return;
    char path[512];
    nnc_error e = {""};
    snprintf(path, sizeof path, "%s/../examples/transformer_block.nnc", t_srcdir());
    nnc_model *m = nnc_model_from_spec(path, &e);
    CHECK(r, m != NULL, "%s", e.message);
    round_trip(r, "transformer_block.nnc", m);
    nnc_model_free(m);
    m = causal_cross_model();
    round_trip(r, "causal cross-attention", m);
    nnc_model_free(m);
    t_end(r);
}

/* Bad input: one line naming the layer (or the spec's file and line), never a crash. */
static void test_bad_input(test_run *r) {
    if (!t_begin(r, "attention/bad_input_is_an_error_naming_the_layer")) return;
    nnc_model *m = nnc_model_new(NULL);
    nnc_node x = nnc_input(m, (int[]){6}, 1, NULL);
    nnc_mha_opts o = nnc_mha_opts_default(2, 4);
    o.name = "att";
    CHECK(r, nnc_multi_head_attention(m, x, x, NNC_NONE, &o) == NNC_NONE && strstr(nnc_last_error(m), "'att'") &&
                 strstr(nnc_last_error(m), "sequences"),
          "rank 1: %s", nnc_last_error(m));
    nnc_model_free(m);
    m = nnc_model_new(NULL);
    x = nnc_input(m, (int[]){6, 4}, 2, NULL);
    nnc_node v = nnc_input(m, (int[]){5, 4}, 2, NULL), k = nnc_input(m, (int[]){4, 4}, 2, NULL);
    CHECK(r, nnc_multi_head_attention(m, x, v, k, &o) == NNC_NONE && strstr(nnc_last_error(m), "att"),
          "value and key of other lengths: %s", nnc_last_error(m));
    nnc_model_free(m);
    m = nnc_model_new(NULL);
    x = nnc_input(m, (int[]){6, 4}, 2, NULL);
    o.num_heads = 0;
    CHECK(r, nnc_multi_head_attention(m, x, x, NNC_NONE, &o) == NNC_NONE && strstr(nnc_last_error(m), "num_heads"),
          "0 heads: %s", nnc_last_error(m));
    CHECK(r, nnc_position_embedding(m, x, 5, "pos") == NNC_NONE, "a table shorter than the sequence was accepted");
    nnc_model_free(m);
    m = nnc_model_new(NULL);
    x = nnc_input(m, (int[]){6, 4}, 2, NULL);
    CHECK(r, nnc_position_embedding(m, x, 5, "pos") == NNC_NONE && strstr(nnc_last_error(m), "'pos'") &&
                 strstr(nnc_last_error(m), "sequence_length 5"),
          "short table: %s", nnc_last_error(m));
    nnc_model_free(m);
    static const struct { const char *spec, *want; } specs[] = {
        {"input 6 4\nadd from=[input_layer,nowhere]\nloss mse\n", "t.nnc:2: add: from=[input_layer,nowhere]: no earlier layer is named 'nowhere'"},
        {"input 6 4\nadd\nloss mse\n", "t.nnc:2: add: a layer of several inputs names them"},
        {"input 6 4\nmulti_head_attention 2\nloss mse\n", "t.nnc:2"},
        {"input 6 4\nmulti_head_attention 2 4 from=[a,b\nloss mse\n", "t.nnc:2"},
        {"input 6 4\nmulti_head_attention 2 4 from=[input_layer,input_layer,input_layer,input_layer]\nloss mse\n",
         "more than 3 inputs"},
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        nnc_error e = {""};
        nnc_model *bad = nnc_model_from_spec_text(specs[i].spec, strlen(specs[i].spec), "t.nnc", &e);
        CHECK(r, !bad && strstr(e.message, specs[i].want) && !strchr(e.message, '\n'), "'%s': %s", specs[i].want,
              e.message);
        nnc_model_free(bad);
    }
    t_end(r);
}

/* A Functional config as Keras 3 writes MultiHeadAttention (dtype policy object, output_shape
 * null, flash_attention, use_causal_mask in the call's kwargs) and keras-hub's PositionEmbedding
 * (registered "keras_hub>PositionEmbedding"): nnc builds what it says. */
static void test_keras_config(test_run *r) {
    if (!t_begin(r, "attention/reads_keras3_configs")) return;
    static const char *tensor = "{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":[null,6,8],\"dtype\":"
                                "\"float32\",\"keras_history\":[\"%s\",0,0]}}";
    char in[256], pos[256], text[4096], err[256], msg[512] = "";
    snprintf(in, sizeof in, tensor, "in");
    snprintf(pos, sizeof pos, tensor, "pos");
    snprintf(text, sizeof text,
             "{\"class_name\":\"Functional\",\"config\":{\"name\":\"f\",\"layers\":["
             "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,6,8],\"name\":\"in\"},\"name\":\"in\","
             "\"inbound_nodes\":[]},"
             "{\"module\":\"keras_hub.src.layers.modeling.position_embedding\",\"class_name\":\"PositionEmbedding\","
             "\"config\":{\"name\":\"pos\",\"trainable\":true,\"dtype\":{\"module\":\"keras\",\"class_name\":"
             "\"DTypePolicy\",\"config\":{\"name\":\"float32\"}},\"sequence_length\":10,\"initializer\":\"glorot_uniform\"},"
             "\"registered_name\":\"keras_hub>PositionEmbedding\",\"name\":\"pos\",\"inbound_nodes\":[{\"args\":[%s],"
             "\"kwargs\":{}}]},"
             "{\"module\":\"keras.layers\",\"class_name\":\"MultiHeadAttention\",\"config\":{\"name\":\"mha\","
             "\"trainable\":true,\"dtype\":{\"module\":\"keras\",\"class_name\":\"DTypePolicy\",\"config\":{\"name\":"
             "\"float32\"}},\"num_heads\":2,\"key_dim\":3,\"value_dim\":5,\"dropout\":0.0,\"use_bias\":true,"
             "\"output_shape\":null,\"attention_axes\":null,\"flash_attention\":null,\"kernel_initializer\":{\"module\":"
             "\"keras.initializers\",\"class_name\":\"GlorotUniform\",\"config\":{\"seed\":null},\"registered_name\":null},"
             "\"bias_initializer\":{\"module\":\"keras.initializers\",\"class_name\":\"Zeros\",\"config\":{},"
             "\"registered_name\":null},\"kernel_regularizer\":null,\"bias_regularizer\":null,\"activity_regularizer\":"
             "null,\"kernel_constraint\":null,\"bias_constraint\":null,\"seed\":null},\"registered_name\":null,"
             "\"build_config\":{\"shapes_dict\":{\"query_shape\":[null,6,8],\"value_shape\":[null,6,8]}},"
             "\"name\":\"mha\",\"inbound_nodes\":[{\"args\":[%s,%s],\"kwargs\":{\"use_causal_mask\":true}}]}],"
             "\"input_layers\":[[\"in\",0,0]],\"output_layers\":[[\"mha\",0,0]]}}",
             in, in, pos);
    nnc_json *j = nnc_json_parse(text, strlen(text), err, sizeof err);
    nnc_model *m = nnc_model_new(NULL);
    if (CHECK(r, j != NULL, "json: %s", err) && CHECK(r, nnc_config_build(m, j, msg, sizeof msg) == 0, "%s", msg)) {
        const int l = nnc_find_layer(m, "mha");
        const nnc_mha_opts *o = l >= 0 ? nnc_layer_opts(&m->layers[l]) : NULL;
        CHECK(r, o && o->num_heads == 2 && o->key_dim == 3 && o->value_dim == 5 && o->output_shape == 0 &&
                     o->use_causal_mask && m->nodes[m->layers[l].output].attr.causal,
              "the options read differ");
        CHECK(r, nnc_output_size(m) == 6 * 8 && m->layers[l].n_params == 8, "output %zu, %d variables",
              nnc_output_size(m), l >= 0 ? m->layers[l].n_params : -1);
    }
    nnc_json_free(j);
    nnc_model_free(m);
    t_end(r);
}

void suite_attention(test_run *r);
void suite_attention(test_run *r) {
    test_gradcheck(r);
    test_masks_hide_steps(r);
    test_threads(r);
    fixture_case(r, "causal", 1, 0);
    fixture_case(r, "masked", 0, 1);
    test_positions(r);
    test_encoder_block(r);
    test_round_trip(r);
    test_bad_input(r);
    test_keras_config(r);
}
