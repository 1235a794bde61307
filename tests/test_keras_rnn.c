/* Recurrent layers in Keras files (src/io/keras_nested.c, src/interop/keras_weights.c and
 * keras_save.c), issue 14:
 * - the wrapper configs' mechanism on a descriptor made here (a Bidirectional wrapping SimpleRNN
 *   rows): written as Keras 3's nested "layer" and "backward_layer", read back to the same
 *   options; a backward layer that is not the forward one flipped, a class the wrapper cannot
 *   hold, a missing "layer" and stateful=true are refused with the key named;
 * - files made as Keras 3.10 lays them out (tools/make_keras_rnn_files.py: GRU in both
 *   reset_after forms, SimpleRNN with relu and softsign, TimeDistributed(Dense), Bidirectional
 *   with each merge mode, go_backwards, return_sequences, use_bias false), each as .keras and
 *   legacy .h5: nnc loads them and predicts what tools/keras_reference.py computes, within
 *   1e-5 + 1e-4·|ref|;
 * - where the variables of the objects a layer holds go (a recurrent cell, Bidirectional's two
 *   layers, TimeDistributed's layer), on layers of this file's own with Keras's class names:
 *   the groups and weight_names Keras uses, and the weights back bit for bit;
 * - every recurrent layer and both wrappers with their flags away from the defaults, saved as
 *   .keras and .h5 and loaded: the same config text, weights and predictions, bit for bit. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "files.h"
#include "keras_fixtures.h"
#include "shell.h"
#include "format/json.h"
#include "io/keras_config.h"
#include "layers/layers.h"
#include "core/layers_impl.h"

/* ---- the mechanism, on a descriptor of this file's own ---------------------------------- */

typedef struct {
    int wrapped;      /* the NESTED_CLASS choice */
    int units;
    bool go_backwards;
    nnc_activation activation;
    int merge_mode;
} fake_opts;

static const nnc_opt_desc fake_rows[] = {
    {NNC_OPT_ROW("layer", NNC_OPT_CHOICE, fake_opts, wrapped, 0), .flags = NNC_OPTF_NESTED | NNC_OPTF_NESTED_CLASS,
     .literal = "simple_rnn"},
    {NNC_OPT_ROW("units", NNC_OPT_INT, fake_opts, units, 1), .lo = 1, .hi = 1 << 20, .flags = NNC_OPTF_NESTED},
    {NNC_OPT_ROW("go_backwards", NNC_OPT_BOOL, fake_opts, go_backwards, -1), .flags = NNC_OPTF_NESTED},
    {NNC_OPT_ROW("activation", NNC_OPT_ACTIVATION, fake_opts, activation, -1), .flags = NNC_OPTF_NESTED},
    {NNC_OPT_ROW("merge_mode", NNC_OPT_CHOICE, fake_opts, merge_mode, -1), .literal = "sum|mul|concat|ave"},
};

static void fake_defaults(void *p) {
    fake_opts *o = p;
    memset(o, 0, sizeof *o);
    o->units = 1;
    o->activation = NNC_ACT_LINEAR;
    o->merge_mode = 2;
}

static const nnc_layer_desc fake_bidirectional = {
    .keras_class = "Bidirectional", .keyword = "fake", .stem = "fake", .opts_size = sizeof(fake_opts),
    .name_offset = NNC_NO_NAME_FIELD, .defaults = fake_defaults, .opts = fake_rows,
    .n_opts = NNC_OPT_COUNT_OF(fake_rows), .min_inputs = 1, .max_inputs = 1,
};

/* The options read from text (the config of the wrapper); 0, or -1 with why in msg. */
static int read_fake(const char *text, fake_opts *o, char *msg, size_t n) {
    nnc_json *j = nnc_json_parse(text, strlen(text), msg, n);
    fake_defaults(o);
    int rc = !j || nnc_config_read_opts(fake_rows, NNC_OPT_COUNT_OF(fake_rows), j, o, NULL, msg, n) ||
             nnc_config_read_wrapped(&fake_bidirectional, j, o, NULL, msg, n) ? -1 : 0;
    nnc_json_free(j);
    return rc;
}

static void wrapper_mechanism(test_run *r) {
    if (t_begin(r, "keras/rnn/wrapper_config_written_nested_and_read_back")) {
        fake_opts o, def, back;
        fake_defaults(&def);
        fake_defaults(&o);
        o.units = 7;
        o.go_backwards = true;
        o.activation = NNC_ACT_TANH;
        o.merge_mode = 1;
        nnc_strbuf sb = {0};
        nnc_sb_puts(&sb, "{\"name\":\"b\"");
        nnc_config_put_wrapped(&sb, &fake_bidirectional, &o, &def, 0);
        nnc_sb_puts(&sb, ",\"merge_mode\":\"mul\"}");
        char msg[512] = "";
        nnc_json *j = sb.buf ? nnc_json_parse(sb.buf, sb.len, msg, sizeof msg) : NULL;
        const nnc_json *l = j ? nnc_json_get(j, "layer") : NULL, *b = j ? nnc_json_get(j, "backward_layer") : NULL;
        const nnc_json *lc = l ? nnc_json_get(l, "config") : NULL, *bc = b ? nnc_json_get(b, "config") : NULL;
        if (CHECK(r, lc && bc, "no layer and backward_layer configs in %s (%s)", sb.buf ? sb.buf : "", msg)) {
            const nnc_json *gf = nnc_json_get(lc, "go_backwards"), *gb = nnc_json_get(bc, "go_backwards");
            CHECK(r, !strcmp(nnc_json_get_string(l, "class_name"), "SimpleRNN") &&
                         !strcmp(nnc_json_get_string(lc, "name"), "forward_simple_rnn") &&
                         !strcmp(nnc_json_get_string(bc, "name"), "backward_simple_rnn"), "names: %s", sb.buf);
            CHECK(r, gf && gb && gf->boolean && !gb->boolean, "go_backwards must be flipped: %s", sb.buf);
            CHECK(r, !nnc_json_get(lc, "layer") && !nnc_json_get(j, "units"), "the rows must sit in one place: %s", sb.buf);
        }
        CHECK(r, read_fake(sb.buf ? sb.buf : "", &back, msg, sizeof msg) == 0, "read back: %s", msg);
        CHECK(r, !memcmp(&back, &o, sizeof o), "read back: units %d, go_backwards %d, merge %d", back.units,
              (int)back.go_backwards, back.merge_mode);
        nnc_json_free(j);
        nnc_sb_free(&sb);
        t_end(r);
    }
    static const struct { const char *name, *text, *says; } bad[] = {
        {"backward_layer_not_the_flipped_forward",
         "{\"layer\":{\"class_name\":\"SimpleRNN\",\"config\":{\"units\":3}},"
         "\"backward_layer\":{\"class_name\":\"SimpleRNN\",\"config\":{\"units\":4,\"go_backwards\":true}}}",
         "backward_layer is not the forward layer"},
        {"backward_layer_going_the_same_way",
         "{\"layer\":{\"class_name\":\"SimpleRNN\",\"config\":{\"units\":3}},"
         "\"backward_layer\":{\"class_name\":\"SimpleRNN\",\"config\":{\"units\":3}}}", "go_backwards the other way"},
        {"wrapped_class_refused", "{\"layer\":{\"class_name\":\"Conv2D\",\"config\":{}}}", "layer is a Conv2D"},
        {"no_wrapped_layer", "{\"merge_mode\":\"sum\"}", "layer is not a layer"},
        {"stateful_refused", "{\"layer\":{\"class_name\":\"SimpleRNN\",\"config\":{\"stateful\":true}}}", "stateful"},
        {"nested_value_checked", "{\"layer\":{\"class_name\":\"SimpleRNN\",\"config\":{\"units\":0}}}", "units"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (!t_begin(r, "keras/rnn/wrapper_config_refuses_%s", bad[i].name)) continue;
        fake_opts o;
        char msg[512] = "";
        CHECK(r, read_fake(bad[i].text, &o, msg, sizeof msg) != 0, "accepted %s", bad[i].text);
        CHECK(r, strstr(msg, bad[i].says) != NULL, "the message must say '%s': %s", bad[i].says, msg);
        t_end(r);
    }
}

/* ---- where the variables go, on layers of this file's own -------------------------------- */

typedef struct { int units; } cell_opts;
static const nnc_opt_desc cell_rows[] = {{NNC_OPT_ROW("units", NNC_OPT_INT, cell_opts, units, 0), .lo = 1, .hi = 64}};
static void cell_defaults(void *p) { ((cell_opts *)p)->units = 1; }

/* A layer of gates·units columns per direction (kernel, recurrent_kernel, bias [rows, G·u]),
 * without recurrent_kernel when gates is 0 (a wrapped Dense); its output is x·kernel. */
static nnc_node cell_layer(nnc_model *m, const nnc_layer_desc *d, const nnc_node *in, int n_in, const void *opts,
                           const char *name, int gates, int dirs, int bias_rows) {
    const int u = ((const cell_opts *)opts)->units, g = gates ? gates : 1;
    int x, l = nnc_layer_start(m, d, in, n_in, opts, name, &x), first = -1;
    if (l < 0) return NNC_NONE;
    const int fan = m->nodes[x].shape.dim[m->nodes[x].shape.rank - 1];
    static const char *const vars[3][3] = {{"kernel", "recurrent_kernel", "bias"},
                                           {"forward_kernel", "forward_recurrent_kernel", "forward_bias"},
                                           {"backward_kernel", "backward_recurrent_kernel", "backward_bias"}};
    for (int k = 0; k < dirs; k++) {
        const char *const *v = vars[dirs == 1 ? 0 : 1 + k]; /* kept by pointer: literals */
        nnc_shape ks = {2, {fan, g * u}}, rs = {2, {u, g * u}}, bs = {bias_rows, {bias_rows == 2 ? 2 : g * u, g * u}};
        int kn = nnc_layer_param(m, l, v[0], &ks, nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM), fan, g * u, 1);
        if (gates) nnc_layer_param(m, l, v[1], &rs, nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM), u, g * u, 1);
        nnc_layer_param(m, l, v[2], &bs, nnc_initializer_default(NNC_INIT_ZEROS), fan, g * u, 1);
        if (k == 0) first = kn;
    }
    int ops[2] = {x, first}, y = first < 0 ? -1 : nnc_graph_op(m, NNC_OP_MATMUL, ops, 2, (nnc_op_attr){0});
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

static const nnc_layer_desc fake_lstm, fake_bi_gru, fake_td;
static nnc_node lstm_build(nnc_model *m, const nnc_node *in, int n, const void *o, const char *name) {
    return cell_layer(m, &fake_lstm, in, n, o, name, 4, 1, 1);
}
static nnc_node bi_gru_build(nnc_model *m, const nnc_node *in, int n, const void *o, const char *name) {
    return cell_layer(m, &fake_bi_gru, in, n, o, name, 3, 2, 2);
}
static nnc_node td_build(nnc_model *m, const nnc_node *in, int n, const void *o, const char *name) {
    return cell_layer(m, &fake_td, in, n, o, name, 0, 1, 1);
}
#define FAKE(cls, st, fn) {.keras_class = cls, .keyword = st, .stem = st, .opts_size = sizeof(cell_opts), \
    .name_offset = NNC_NO_NAME_FIELD, .defaults = cell_defaults, .opts = cell_rows, .n_opts = 1, .min_inputs = 1, \
    .max_inputs = 1, .build = fn}
static const nnc_layer_desc fake_lstm = FAKE("LSTM", "lstm", lstm_build);
static const nnc_layer_desc fake_bi_gru = FAKE("Bidirectional", "bidirectional", bi_gru_build);
static const nnc_layer_desc fake_td = FAKE("TimeDistributed", "time_distributed", td_build);

static nnc_model *cells_model(float offset) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_node x = nnc_input(m, (int[]){3}, 1, NULL);
    cell_opts a = {2}, b = {3}, c = {2};
    x = fake_lstm.build(m, &x, 1, &a, NULL);
    x = fake_bi_gru.build(m, &x, 1, &b, NULL);
    x = fake_td.build(m, &x, 1, &c, NULL);
    nnc_compile_opts co = nnc_compile_opts_default();
    if (x == NNC_NONE || nnc_compile(m, &co) != NNC_OK) {
        nnc_model_free(m);
        return NULL;
    }
    for (size_t i = 0; i < m->n_param_floats; i++) m->param_arena[i] = offset + 0.001f * (float)i;
    return m;
}

static void where_variables_go(test_run *r, const char *dir) {
    static const char *const want[2][7] = {
        {"layers/lstm/cell/vars/2 (8,)", "layers/lstm/vars ", "layers/bidirectional/forward_layer/cell/vars/0 (8, 9)",
         "layers/bidirectional/backward_layer/cell/vars/2 (2, 9)", "layers/bidirectional/layer/cell/vars ",
         "layers/time_distributed/layer/vars/1 (2,)", "layers/time_distributed/vars "},
        {"sequential/lstm/lstm_cell/recurrent_kernel (2, 8)", "sequential/bidirectional/forward_gru/gru_cell/kernel",
         "sequential/bidirectional/backward_gru/gru_cell/bias (2, 9)", "sequential/time_distributed/dense/kernel (9, 2)",
         "sequential_lstm_lstm_cell_kernel_momentum", "sequential_bidirectional_backward_gru_gru_cell_bias_velocity", ""}};
    for (int h5 = 0; h5 < 2; h5++) {
        if (!t_begin(r, "keras/rnn/variables_of_held_objects_%s", h5 ? "h5" : "keras")) continue;
        char path[256], cmd[1024];
        snprintf(path, sizeof path, "%s/cells.%s", dir, h5 ? "h5" : "keras");
        nnc_model *a = cells_model(0.5f), *b = cells_model(-3.0f);
        int st = -1;
        if (CHECK(r, a && b, "the model of fake layers did not build") &&
            CHECK(r, nnc_model_save(a, path, NULL) == NNC_OK, "save: %s", nnc_last_error(a)) &&
            CHECK(r, nnc_model_load_weights(b, path, NULL) == NNC_OK, "load_weights: %s", nnc_last_error(b)))
            CHECK(r, !memcmp(a->param_arena, b->param_arena, a->n_param_floats * sizeof(float)), "weights differ");
        /* every group and dataset of the weights, with each legacy weight_names entry */
        snprintf(cmd, sizeof cmd, "'%s' -c \"import h5py, io, sys, zipfile\n"
                 "p = sys.argv[1]\nf = h5py.File(io.BytesIO(zipfile.ZipFile(p).read('model.weights.h5')) if "
                 "p.endswith('.keras') else p, 'r')\ndef v(n, o):\n    print(n, getattr(o, 'shape', ''))\n"
                 "    for w in o.attrs.get('weight_names', []): print(w if isinstance(w, str) else w.decode())\n"
                 "f.visititems(v)\n\" '%s'", keras_python() ? keras_python() : "python3", path);
        char *out = a && b && keras_python() ? t_shell(dir, cmd, &st) : NULL;
        for (int k = 0; out && st == 0 && k < 7; k++)
            CHECK(r, strstr(out, want[h5][k]) != NULL, "no '%s' in the file:\n%s", want[h5][k], out);
        if (!keras_python()) t_info(r, "the layout is not checked: no python3 with h5py");
        free(out);
        nnc_model_free(a);
        nnc_model_free(b);
        t_end(r);
    }
}

/* ---- round trips with every flag ------------------------------------------------------------ */

static nnc_model *flags_model(int which) {
    nnc_model *m = nnc_model_new(NULL);
    nnc_node x = nnc_input(m, (int[]){5, 3}, 2, NULL);
    nnc_rnn_opts a = nnc_rnn_opts_default(4), b = nnc_rnn_opts_default(3);
    if (which == 0) {
        a.return_sequences = a.go_backwards = true, a.unit_forget_bias = a.use_bias = false;
        a.activation = NNC_ACT_RELU, a.recurrent_activation = NNC_ACT_HARD_SIGMOID;
        a.dropout = 0.125f, a.recurrent_dropout = 0.25f, a.kernel_regularizer.l2 = 0.01f;
        a.recurrent_initializer = nnc_initializer_default(NNC_INIT_HE_NORMAL);
        b.reset_after = false, b.recurrent_regularizer.l1 = 0.001f, b.bias_initializer = nnc_initializer_default(NNC_INIT_ONES);
        x = nnc_gru(m, nnc_lstm(m, x, &a), &b);
    } else if (which == 2) {
        nnc_bidirectional_opts bi = nnc_bidirectional_opts_default(NNC_RNN_GRU, 3);
        nnc_bidirectional_opts b2 = nnc_bidirectional_opts_default(NNC_RNN_LSTM, 2);
        bi.rnn.return_sequences = true, bi.rnn.reset_after = false, bi.merge_mode = NNC_MERGE_AVE;
        bi.rnn.recurrent_activation = NNC_ACT_HARD_SIGMOID, bi.rnn.kernel_regularizer.l1 = 0.01f;
        b2.rnn.go_backwards = true, b2.rnn.unit_forget_bias = false, b2.rnn.activation = NNC_ACT_RELU;
        nnc_dense_opts td = nnc_dense_opts_default(4);
        td.activation = NNC_ACT_SOFTSIGN, td.use_bias = false;
        x = nnc_bidirectional(m, nnc_time_distributed_dense(m, nnc_bidirectional(m, x, &bi), &td), &b2);
    } else {
        a.return_sequences = true, a.recurrent_activation = NNC_ACT_TANH, a.activity_regularizer.l2 = 0.5f;
        b.activation = NNC_ACT_SOFTSIGN, b.go_backwards = true, b.return_sequences = true, b.use_bias = false;
        x = nnc_flatten(m, nnc_simple_rnn(m, nnc_gru(m, x, &a), &b), NULL);
    }
    nnc_compile_opts c = nnc_compile_opts_default();
    nnc_model_set_seed(m, 11);
    if (x == NNC_NONE || nnc_compile(m, &c) != NNC_OK) {
        nnc_model_free(m);
        return NULL;
    }
    for (size_t i = 0; i < m->n_param_floats; i++) m->param_arena[i] += 0.01f * (float)(i % 7); /* biases too */
    return m;
}

static void round_trips(test_run *r, const char *dir) {
    static const char *const names[3] = {"lstm_gru", "gru_simple_rnn", "bidirectional_time_distributed"};
    for (int k = 0; k < 6; k++) {
        const char *ext = k % 2 ? "h5" : "keras";
        if (!t_begin(r, "keras/rnn/round_trip_%s_%s", names[k / 2], ext)) continue;
        char path[256];
        snprintf(path, sizeof path, "%s/flags.%s", dir, ext);
        nnc_error e = {""};
        nnc_model *m = flags_model(k / 2), *l = NULL;
        if (CHECK(r, m != NULL, "the model did not build") &&
            CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save: %s", nnc_last_error(m)) &&
            CHECK(r, (l = nnc_model_load(path, &e)) != NULL, "load: %s", e.message)) {
            nnc_strbuf a = {0}, b = {0};
            nnc_config_json(m, &a);
            nnc_config_json(l, &b);
            CHECK(r, a.buf && b.buf && !strcmp(a.buf, b.buf), "configs differ:\n%s\n%s", a.buf, b.buf);
            nnc_sb_free(&a);
            nnc_sb_free(&b);
            CHECK(r, m->n_param_floats == l->n_param_floats &&
                         !memcmp(m->param_arena, l->param_arena, m->n_param_floats * sizeof(float)), "weights differ");
            enum { N = 3 };
            float x[N * 15], p[N * 15], q[N * 15];
            for (int i = 0; i < N * 15; i++) x[i] = (float)((i * 29) % 31) / 15.0f - 1.0f;
            size_t out = nnc_output_size(m);
            if (CHECK(r, out <= 15 && nnc_predict(m, x, N, p) == NNC_OK && nnc_predict(l, x, N, q) == NNC_OK,
                      "predict: %s", nnc_last_error(l)))
                CHECK(r, !memcmp(p, q, N * out * sizeof *p), "predictions differ after the round trip");
        }
        nnc_model_free(m);
        nnc_model_free(l);
        t_end(r);
    }
}

/* ---- files laid out as Keras writes them ---------------------------------------------------- */

static void keras_made_files(test_run *r) {
    /* each model, and the wrapper it needs (the plain recurrent layers are in every build) */
    static const char *const models[][2] = {
        {"gru_both_forms", "GRU"}, {"simple_rnn_flags", "SimpleRNN"}, {"simple_rnn_time_distributed", "TimeDistributed"},
        {"bidirectional_concat_sum", "Bidirectional"}, {"bidirectional_mul_ave", "Bidirectional"},
        {"lstm_backwards_sequences", "LSTM"}};
    char tmp[] = "/tmp/nnc-keras-rnn-XXXXXX", cmd[2048], path[256];
    const char *why = !keras_fixtures_built() ? "Keras files are not built (NNC_INTEROP off)"
                      : !keras_python() ? "needs python3 with numpy and h5py (or NNC_PYTHON)" : NULL;
    int made = !why && mkdtemp(tmp) != NULL, st = 0;
    if (made) {
        snprintf(cmd, sizeof cmd, "'%s' '%s/../tools/make_keras_rnn_files.py' '%s'", keras_python(), t_srcdir(), tmp);
        char *out = t_shell(tmp, cmd, &st);
        free(out);
    }
    for (size_t i = 0; i < 2 * sizeof models / sizeof *models; i++) {
        const char *ext = i % 2 ? "h5" : "keras";
        if (!t_begin(r, "keras/rnn/made/%s.%s", models[i / 2][0], ext)) continue;
        if (why || !nnc_layer_by_class(models[i / 2][1])) {
            t_skip(r, why ? why : "the wrapper is not in this build yet (branch rnn)");
            continue;
        }
        snprintf(path, sizeof path, "%s/%s.%s", tmp, models[i / 2][0], ext);
        if (CHECK(r, made && st == 0 && access(path, R_OK) == 0, "tools/make_keras_rnn_files.py failed (%d)", st))
            keras_compare_with_reference(r, path, tmp, 77 + i, 1e-5);
        t_end(r);
    }
    if (made) remove_tree(tmp);
}

void suite_keras_rnn(test_run *r);
void suite_keras_rnn(test_run *r) {
    wrapper_mechanism(r);
    char dir[] = "/tmp/nnc-keras-cells-XXXXXX";
    if (keras_fixtures_built() && mkdtemp(dir)) {
        where_variables_go(r, dir);
        round_trips(r, dir);
        remove_tree(dir);
    }
    keras_made_files(r);
}
