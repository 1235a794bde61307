/* Keras configs into graphs (src/io/keras_graph.c) from hand-written JSON in the shapes each
 * Keras version writes (not copied from real files): Keras 2.0-2.2's bare lists, Sequential
 * without InputLayer, Model with nested-list inbound nodes, Keras 3's flat input_layers, layers
 * out of order; what is refused (cycles, shared layers, None axes, Keras 2's hard_sigmoid) and
 * what is only noted (constraints, unknown initializers, odd names); a frozen layer is read. Then
 * Keras files made by tests/keras_fixtures.c: they predict what the same model built in C
 * predicts, bit for bit, and a NaN weight loads with a note. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "files.h"
#include "keras_fixtures.h"
#include "config_model.h"
#include "layers/layers.h"
#include "io/keras_config.h"

static int has_note(const nnc_model *m, const char *text) {
    for (int i = 0; i < nnc_model_note_count(m); i++)
        if (strstr(nnc_model_note(m, i), text)) return 1;
    return 0;
}

#define DENSE(name, units, extra) "{\"class_name\":\"Dense\",\"config\":{\"name\":\"" name "\",\"units\":" #units extra "}}"

static void accepted(test_run *r) {
    char msg[512];
    static const char bare[] = "[" DENSE("d1", 3, ",\"batch_input_shape\":[null,4],\"activation\":\"relu\","
                                          "\"kernel_initializer\":{\"class_name\":\"VarianceScaling\",\"config\":"
                                          "{\"scale\":2.0,\"mode\":\"fan_in\",\"distribution\":\"truncated_normal\"}}")
                               ",{\"class_name\":\"Dropout\",\"config\":{\"name\":\"dr\",\"rate\":0.5}}," DENSE("d2", 2, "") "]";
    if (t_begin(r, "keras/config/keras2_bare_list_without_input")) {
        nnc_model *m = config_model(bare, 1, msg, sizeof msg);
        if (CHECK(r, m != NULL, "%s", msg)) {
            CHECK(r, m->n_layers == 4 && !strcmp(m->layers[0].name, "d1_input") && m->n_inputs == 1,
                  "%d layers, the first '%s'", m->n_layers, m->layers[0].name);
            const nnc_dense_opts *d = nnc_layer_opts(&m->layers[1]);
            CHECK(r, d->kernel_initializer.kind == NNC_INIT_HE_NORMAL, "VarianceScaling(2, fan_in) is he_normal, got %d",
                  (int)d->kernel_initializer.kind);
        }
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "keras/config/keras2_sequential_config_as_a_list")) {
        char text[1024];
        snprintf(text, sizeof text, "{\"class_name\":\"Sequential\",\"config\":%s}", bare);
        nnc_model *m = config_model(text, 1, msg, sizeof msg);
        CHECK(r, m && m->n_layers == 4, "%s", m ? "wrong layer count" : msg);
        nnc_model_free(m);
        t_end(r);
    }
    /* inputs b then a in input_layers (rows of x: b's features first), layers out of order */
    static const char model2[] =
        "{\"class_name\":\"Model\",\"config\":{\"name\":\"two\",\"layers\":["
        "{\"class_name\":\"Concatenate\",\"config\":{\"name\":\"cat\",\"axis\":-1},\"name\":\"cat\","
        "\"inbound_nodes\":[[[\"da\",0,0,{}],[\"b\",0,0,{}]]]},"
        "{\"class_name\":\"InputLayer\",\"config\":{\"batch_input_shape\":[null,2],\"name\":\"a\"},\"name\":\"a\",\"inbound_nodes\":[]},"
        "{\"class_name\":\"Dense\",\"config\":{\"name\":\"da\",\"units\":3},\"name\":\"da\",\"inbound_nodes\":[[[\"a\",0,0,{}]]]},"
        "{\"class_name\":\"InputLayer\",\"config\":{\"batch_input_shape\":[null,5],\"name\":\"b\"},\"name\":\"b\",\"inbound_nodes\":[]}],"
        "\"input_layers\":[[\"b\",0,0],[\"a\",0,0]],\"output_layers\":[[\"cat\",0,0]]}}";
    if (t_begin(r, "keras/config/keras2_model_nested_inbound_out_of_order")) {
        nnc_model *m = config_model(model2, 1, msg, sizeof msg);
        if (CHECK(r, m != NULL, "%s", msg)) {
            CHECK(r, m->n_inputs == 2 && m->nodes[m->inputs[0]].shape.dim[0] == 5 && m->nodes[m->inputs[1]].shape.dim[0] == 2,
                  "inputs not in input_layers' order");
            int out = nnc_output_node(m);
            CHECK(r, out >= 0 && m->nodes[out].shape.dim[0] == 8, "the output is not the concatenation");
        }
        nnc_model_free(m);
        t_end(r);
    }
    static const char functional3[] =
        "{\"class_name\":\"Functional\",\"config\":{\"name\":\"f\",\"layers\":["
        "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,8,8,2],\"name\":\"in\"},\"name\":\"in\",\"inbound_nodes\":[]},"
        "{\"class_name\":\"BatchNormalization\",\"config\":{\"name\":\"my-bn.1\",\"axis\":[3],\"gamma_constraint\":{\"class_name\":\"NonNeg\"},"
        "\"trainable\":false},\"name\":\"my-bn.1\",\"inbound_nodes\":[{\"args\":[{\"class_name\":\"__keras_tensor__\","
        "\"config\":{\"shape\":[null,8,8,2],\"keras_history\":[\"in\",0,0]}}],\"kwargs\":{\"training\":false}}]}],"
        "\"input_layers\":[\"in\",0,0],\"output_layers\":[\"my-bn.1\",0,0]}}";
    if (t_begin(r, "keras/config/keras3_flat_io_axis_list_names_and_notes")) {
        nnc_model *m = config_model(functional3, 0, msg, sizeof msg);
        if (CHECK(r, m != NULL, "%s", msg)) {
            CHECK(r, nnc_find_layer(m, "my_bn_1") >= 0, "the layer was not renamed my_bn_1");
            CHECK(r, has_note(m, "'my-bn.1' is called 'my_bn_1'"), "no note of the new name");
            CHECK(r, has_note(m, "gamma_constraint"), "no note of the dropped constraint");
            CHECK(r, m->layers[nnc_find_layer(m, "my_bn_1")].frozen && !has_note(m, "frozen"),
                  "trainable false is read (a frozen layer), not noted");
        }
        nnc_model_free(m);
        t_end(r);
    }
}

static void refused(test_run *r) {
    static const struct { const char *name, *text, *want; int keras2; } cases[] = {
        {"hard_sigmoid_of_keras2", "[" DENSE("d", 3, ",\"batch_input_shape\":[null,4],\"activation\":\"hard_sigmoid\"") "]",
         "hard_sigmoid is Keras 2's", 1},
        {"none_axis", "[" DENSE("d", 3, ",\"batch_input_shape\":[null,null]") "]", "axis 1 of any size (None)", 0},
        {"no_input_shape", "[" DENSE("d", 3, "") "]", "does not say its input's shape", 0},
        {"bn_axis_not_last", "[{\"class_name\":\"BatchNormalization\",\"config\":{\"name\":\"bn\",\"axis\":[1],"
         "\"batch_input_shape\":[null,3,4]}}]", "axis [1] is not supported", 0},
        {"channels_first_flatten", "[{\"class_name\":\"Flatten\",\"config\":{\"name\":\"f\",\"data_format\":\"channels_first\","
         "\"batch_input_shape\":[null,3,4]}}]", "channels_first", 0},
        {"shared_layer", "{\"class_name\":\"Functional\",\"config\":{\"layers\":[{\"class_name\":\"InputLayer\",\"config\":"
         "{\"batch_shape\":[null,3],\"name\":\"i\"},\"inbound_nodes\":[]}," "{\"class_name\":\"Dense\",\"config\":"
         "{\"name\":\"d\",\"units\":3},\"inbound_nodes\":[[[\"i\",0,0,{}]],[[\"d\",0,0,{}]]]}]}}", "called 2 times", 0},
        {"self_loop", "{\"class_name\":\"Model\",\"config\":{\"layers\":[{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\","
         "\"units\":3},\"inbound_nodes\":[[[\"d\",0,0,{}]]]}]}}", "cycle", 0},
        {"subclassed_model", "{\"class_name\":\"MyModel\",\"config\":{}}", "subclassed", 0},
        {"custom_layer", "[{\"class_name\":\"MyDense\",\"registered_name\":\"pkg>MyDense\",\"config\":{\"name\":\"x\"}}]",
         "custom class 'MyDense'", 0},
        {"nested_model", "[{\"class_name\":\"Sequential\",\"config\":{\"name\":\"inner\",\"layers\":[]}}]", "nested models", 0},
        {"duplicate_names", "[" DENSE("d", 3, ",\"batch_input_shape\":[null,4]") "," DENSE("d", 3, "") "]", "both named 'd'", 0},
    };
    char msg[1024];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!t_begin(r, "keras/config/refused/%s", cases[i].name)) continue;
        nnc_model *m = config_model(cases[i].text, cases[i].keras2, msg, sizeof msg);
        CHECK(r, m == NULL, "built a model");
        CHECK(r, m || strstr(msg, cases[i].want), "message lacks '%s': %s", cases[i].want, msg);
        if (!m) t_info(r, "%s", msg);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "keras/config/refused/100MB_deep_json")) {
        size_t n = (size_t)100 << 20;
        char *deep = malloc(n), why[256] = "";
        if (deep) memset(deep, '[', n);
        nnc_json *j = deep ? nnc_json_parse(deep, n, why, sizeof why) : NULL;
        CHECK(r, deep && !j && strstr(why, "nesting deeper than 64"), "parsed, or another error: %s", why);
        nnc_json_free(j);
        free(deep);
        t_end(r);
    }
}

/* The fixtures' Keras files predict what the same model built in C predicts. */
static void fixture_files(test_run *r) {
    static const char *const files[] = {"keras_good.h5", "keras_good.keras"};
    char dir[] = "/tmp/nnc-keras-config-XXXXXX", path[256];
    if (!keras_fixtures_built()) {
        if (t_begin(r, "keras/files/fixtures")) t_skip(r, "Keras files are not built (NNC_INTEROP off)");
        return;
    }
    int made = mkdtemp(dir) != NULL;
    /* the fixtures' model and weights: 0.05·(i mod 7) − 0.1 in each variable */
    nnc_model *ref = nnc_model_new(NULL);
    nnc_input(ref, (int[]){4}, 1, "input_layer");
    nnc_dense_opts d = nnc_dense_opts_default(3);
    d.activation = NNC_ACT_RELU;
    nnc_dense(ref, NNC_PREV, &d);
    d.activation = NNC_ACT_LINEAR;
    nnc_dense(ref, NNC_PREV, &d);
    nnc_compile_opts co = nnc_compile_opts_default();
    int ok = nnc_compile(ref, &co) == NNC_OK;
    const char *vars[4] = {"dense.kernel", "dense.bias", "dense_1.kernel", "dense_1.bias"};
    const int sizes[4] = {12, 3, 9, 3};
    float w[12], x[8] = {1, -2, 0.5f, 3, -1, 0.25f, 2, -0.5f}, want[6], got[6];
    for (int v = 0; ok && v < 4; v++) {
        for (int i = 0; i < sizes[v]; i++) w[i] = 0.05f * (float)(i % 7) - 0.1f;
        ok = nnc_set_variable(ref, vars[v], w, (size_t)sizes[v]) == NNC_OK;
    }
    ok = ok && nnc_predict(ref, x, 2, want) == NNC_OK;
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        if (!t_begin(r, "keras/files/%s_predicts_as_built_in_C", files[f])) continue;
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        nnc_error e = {""};
        nnc_model *m = made && ok && keras_fixture(dir, files[f]) == 0 ? nnc_model_load(path, &e) : NULL;
        if (CHECK(r, m != NULL, "%s", made && ok ? e.message : "setup failed")) {
            CHECK(r, nnc_predict(m, x, 2, got) == NNC_OK && !memcmp(got, want, sizeof got), "predictions differ");
            nnc_compile_opts c = nnc_model_compile_opts(m);
            CHECK(r, c.loss.kind == NNC_LOSS_MEAN_SQUARED_ERROR && c.optimizer.kind == NNC_OPT_ADAM && c.n_metrics == 1 &&
                     c.metrics[0] == NNC_METRIC_MAE, "compile settings not the file's");
        }
        nnc_model_free(m);
        t_end(r);
    }
    static const char *const weights[] = {"keras_good.weights.h5", "keras_weights_only.h5", "keras_good.keras"};
    for (size_t f = 0; f < sizeof weights / sizeof *weights; f++) {
        if (!t_begin(r, "keras/files/load_weights_%s", weights[f])) continue;
        snprintf(path, sizeof path, "%s/%s", dir, weights[f]);
        float zero[12] = {0};
        for (int v = 0; ok && v < 4; v++) nnc_set_variable(ref, vars[v], zero, (size_t)sizes[v]);
        int epoch = -1;
        nnc_status st = made && ok && keras_fixture(dir, weights[f]) == 0 ? nnc_model_load_weights(ref, path, &epoch)
                                                                             : NNC_ERR_IO;
        if (CHECK(r, st == NNC_OK, "load_weights: %s", nnc_last_error(ref)))
            CHECK(r, epoch == 0 && nnc_predict(ref, x, 2, got) == NNC_OK && !memcmp(got, want, sizeof got),
                  "predictions differ from the fixture's weights");
        t_end(r);
    }
    if (t_begin(r, "keras/files/nan_weight_loads_with_a_note")) {
        snprintf(path, sizeof path, "%s/keras_nan.h5", dir);
        nnc_error e = {""};
        nnc_model *m = made && keras_fixture(dir, "keras_nan.h5") == 0 ? nnc_model_load(path, &e) : NULL;
        if (CHECK(r, m != NULL, "%s", e.message))
            CHECK(r, has_note(m, "'dense.bias' holds 1 NaN"), "no note of the NaN (%d notes)", nnc_model_note_count(m));
        nnc_model_free(m);
        t_end(r);
    }
    nnc_model_free(ref);
    if (made) remove_tree(dir);
}

void suite_keras_config(test_run *r);
void suite_keras_config(test_run *r) {
    accepted(r);
    refused(r);
    fixture_files(r);
}
