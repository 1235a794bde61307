/* Sequences (issue 14): Embedding's rows, the mask of mask_zero and Masking carried through the
 * layers that act per step and refused by the others (one line naming both layers), the masked
 * 1-D global poolings against values computed by hand, token ids refused where data enters,
 * the gradient check of a masked model, and fit giving the same bits on 1 and 3 threads. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "config_model.h"
#include "compare.h"
#include "format/json.h"
#include "io/keras_config.h"
#include "layers/layers.h"

static nnc_model *spec(const char *text, nnc_error *e) {
    return nnc_model_from_spec_text(text, strlen(text), "t.nnc", e);
}

/* The table row r of Embedding(4, 2) as set by the tests: (r, 10·r + 1). */
static void set_table(nnc_model *m, const char *var) {
    float t[8];
    for (int r = 0; r < 4; r++) t[2 * r] = (float)r, t[2 * r + 1] = 10.0f * (float)r + 1.0f;
    nnc_set_variable(m, var, t, 8);
}

static void test_values(test_run *r) {
    if (!t_begin(r, "embedding/rows_and_masked_pooling")) return;
    /* ids of two rows: [2, 0, 3] and [0, 0, 0] (every step padding: the poolings give 0) */
    const float x[6] = {2, 0, 3, 0, 0, 0};
    static const char *const tails[3] = {"", "global_average_pooling1d\n", "global_max_pooling1d\n"};
    const double want[3][12] = {
        {2, 21, 0, 1, 3, 31, 0, 1, 0, 1, 0, 1},
        {2.5, 26, 0, 0}, /* mean of rows 2 and 3 only */
        {3, 31, 0, 0},
    };
    const size_t outs[3] = {12, 4, 4};
    for (int k = 0; k < 3; k++) {
        char text[256];
        snprintf(text, sizeof text, "input 3\nembedding 4 2 mask_zero=true\n%sloss mse\n", tails[k]);
        nnc_error e = {""};
        nnc_model *m = spec(text, &e);
        float got[12];
        if (CHECK(r, m != NULL, "%s", e.message)) {
            set_table(m, "embedding.embeddings");
            if (CHECK(r, nnc_predict(m, x, 2, got) == NNC_OK, "predict: %s", nnc_last_error(m)))
                CHECK_NEAR_F32_F64(r, got, outs[k], want[k], outs[k], 0.0, 0.0, NULL, "%s", tails[k]);
        }
        nnc_model_free(m);
    }
    /* Masking(0.5) of [T=3, F=2]: step 1 (0.5, 0.5) is padding, zeroed and left out of the mean */
    const float s[6] = {1, 2, 0.5f, 0.5f, 3, 0.5f};
    const double mean[2] = {2, 1.25};
    nnc_error e = {""};
    nnc_model *m = spec("input 3 2\nmasking 0.5\nglobal_average_pooling1d\nloss mse\n", &e);
    float got[2];
    if (CHECK(r, m != NULL, "%s", e.message) && CHECK(r, nnc_predict(m, s, 1, got) == NNC_OK, "%s", nnc_last_error(m)))
        CHECK_NEAR_F32_F64(r, got, 2, mean, 2, 0.0, 1e-7, NULL, "Masking then the masked mean");
    nnc_model_free(m);
    t_end(r);
}

/* Layers acting per step pass the mask; merges take the logical and; others refuse it. */
static void test_mask_flow(test_run *r) {
    if (!t_begin(r, "embedding/mask_passed_and_refused")) return;
    nnc_error e = {""};
    nnc_model *m = spec("input 3\nembedding 4 2 mask_zero=true\nflatten\ndense 1\nloss mse\n", &e);
    CHECK(r, !m && strstr(e.message, "layer 'flatten' (Flatten) cannot take a mask from 'embedding' (mask_zero=True)"),
          "%s", e.message);
    nnc_model_free(m);
    m = spec("input 3 2\nmasking\nconv1d 2 2\nloss mse\n", &e);
    CHECK(r, !m && strstr(e.message, "(Conv1D) cannot take a mask from 'masking' (Masking)"), "%s", e.message);
    nnc_model_free(m);
    m = spec("input 3\nembedding 4 2 mask_zero=true\ndense 3 activation=relu\ndropout 0.5\nlayer_normalization\n"
             "activation tanh\nglobal_max_pooling1d\nloss mse\n", &e);
    if (CHECK(r, m != NULL, "%s", e.message)) {
        int gm = m->layers[m->n_layers - 1].output;
        CHECK(r, m->nodes[gm].n_in == 2, "the pooling has no mask input");
        CHECK(r, m->nodes[gm].mask < 0, "the pooled output still has a mask");
    }
    nnc_model_free(m);
    /* two masks added: the output's mask is their product (a logical and) */
    m = nnc_model_new(NULL);
    nnc_node a = nnc_input(m, (int[]){3}, 1, NULL), b = nnc_input(m, (int[]){3}, 1, NULL);
    nnc_embedding_opts eo = nnc_embedding_opts_default(4, 2);
    eo.mask_zero = true;
    nnc_node ea = nnc_embedding(m, a, &eo), eb = nnc_embedding(m, b, &eo);
    nnc_node s = nnc_add(m, (nnc_node[]){ea, eb}, 2, NULL);
    nnc_node p = nnc_global_average_pooling1d(m, s, NULL);
    nnc_set_outputs(m, &p, 1);
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
    if (CHECK(r, nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m))) {
        set_table(m, "embedding.embeddings");
        set_table(m, "embedding_1.embeddings");
        const float x[6] = {1, 0, 2, 3, 3, 0}; /* a: [1, 0, 2], b: [3, 3, 0]: only step 0 used by both */
        const double want[2] = {1 + 3, 11 + 31};
        float got[2];
        if (CHECK(r, nnc_predict(m, x, 1, got) == NNC_OK, "predict: %s", nnc_last_error(m)))
            CHECK_NEAR_F32_F64(r, got, 2, want, 2, 0.0, 0.0, NULL, "Add of two masked sequences, pooled");
    }
    nnc_model_free(m);
    t_end(r);
}

/* Ids that are not whole numbers in [0, input_dim) are refused by fit, evaluate and predict. */
static void test_bad_ids(test_run *r) {
    if (!t_begin(r, "embedding/bad_token_ids_refused")) return;
    nnc_error e = {""};
    nnc_model *m = spec("input 3\nembedding 4 2 name=words\nglobal_average_pooling1d\ndense 1\nloss mse\n", &e);
    static const float bad[3] = {4, -1, 1.5f};
    static const char *const says[3] = {"token id 4,", "token id -1,", "token id 1.5,"};
    if (CHECK(r, m != NULL, "%s", e.message))
        for (int k = 0; k < 3; k++) {
            float x[6] = {1, 2, 3, 0, 1, 2}, y[2] = {0, 1}, out[2];
            x[4] = bad[k];
            nnc_fit_opts fo = nnc_fit_opts_default();
            fo.verbose = 0;
            nnc_logs logs;
            CHECK(r, nnc_predict(m, x, 2, out) != NNC_OK, "predict took id %g", (double)bad[k]);
            const char *msg = nnc_last_error(m);
            CHECK(r, strstr(msg, "layer 'words' (Embedding): row 1, step 1") && strstr(msg, says[k]), "%s", msg);
            CHECK(r, nnc_fit(m, x, y, 2, &fo, NULL) != NNC_OK, "fit took id %g", (double)bad[k]);
            CHECK(r, nnc_evaluate(m, x, y, 2, 2, &logs) != NNC_OK, "evaluate took id %g", (double)bad[k]);
        }
    nnc_model_free(m);
    t_end(r);
}

static const char *const masked_model =
    "input 6\nembedding 5 4 mask_zero=true\ndense 3 activation=tanh\nglobal_average_pooling1d\n"
    "dense 2\nloss sparse_categorical_crossentropy from_logits=true\n";

static void ids(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 7 + i / 5) % 5);
}

/* The numerical gradient of every variable of masked models (average and max pooled). */
static void test_gradcheck(test_run *r) {
    if (!t_begin(r, "embedding/gradcheck_masked_models")) return;
    static const char *const pools[2] = {"global_average_pooling1d", "global_max_pooling1d"};
    for (int k = 0; k < 2; k++) {
        char text[512];
        snprintf(text, sizeof text,
                 "input 6\nembedding 5 4 mask_zero=true\ndense 3 activation=tanh\n%s\n"
                 "dense 2\nloss sparse_categorical_crossentropy from_logits=true\n", pools[k]);
        enum { N = 8 };
        float x[N * 6], y[N];
        ids(x, N * 6);
        for (int i = 0; i < N; i++) y[i] = (float)(i % 2);
        nnc_error e = {""};
        nnc_model *m = spec(text, &e);
        nnc_gradcheck_result res[8];
        nnc_gradcheck_opts go = nnc_gradcheck_opts_default();
        int failed = -1;
        if (CHECK(r, m != NULL, "%s", e.message) &&
            CHECK(r, nnc_gradcheck(m, x, y, N, &go, res, &failed) == NNC_OK, "gradcheck: %s", nnc_last_error(m))) {
            double worst = 0;
            for (int i = 0; i < nnc_variable_count(m); i++) {
                CHECK(r, res[i].failed == 0, "%s: %zu of %zu failed (worst %.3g)", nnc_variable_name(m, i),
                      res[i].failed, res[i].checked, res[i].max_rel_err);
                if (res[i].max_rel_err > worst) worst = res[i].max_rel_err;
            }
            t_info(r, "%s: worst relative error %.3g", pools[k], worst);
        }
        nnc_model_free(m);
    }
    t_end(r);
}

/* fit on 1 and 3 threads: the same table, bit for bit (the scatter-add runs in a fixed order). */
static void test_threads(test_run *r) {
    if (!t_begin(r, "embedding/fit_same_bits_on_1_and_3_threads")) return;
    enum { N = 32 };
    float x[N * 6], y[N], t[2][20];
    ids(x, N * 6);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 2);
    for (int k = 0; k < 2; k++) {
        nnc_error e = {""};
        nnc_model *m = spec(masked_model, &e);
        nnc_fit_opts fo = nnc_fit_opts_default();
        fo.verbose = 0, fo.epochs = 3, fo.batch_size = 8;
        if (CHECK(r, m != NULL, "%s", e.message) && CHECK(r, nnc_model_set_threads(m, k ? 3 : 1) == NNC_OK, "threads") &&
            CHECK(r, nnc_fit(m, x, y, N, &fo, NULL) == NNC_OK, "fit: %s", nnc_last_error(m)))
            CHECK(r, nnc_get_variable(m, "embedding.embeddings", t[k], 20) == NNC_OK, "get: %s", nnc_last_error(m));
        nnc_model_free(m);
    }
    CHECK(r, !memcmp(t[0], t[1], sizeof t[0]), "the tables differ");
    CHECK(r, t[0][0] != t[1][0] || memcmp(t[0], (float[20]){0}, sizeof t[0]), "no table");
    t_end(r);
}

/* Keras 2's Embedding (input_length, batch_input_shape with a None axis) and Keras 3's, and
 * Masking: read, and a None time axis run at two lengths; a None axis before a Flatten is
 * refused naming it. */
static void test_configs(test_run *r) {
    if (!t_begin(r, "embedding/keras2_and_keras3_configs")) return;
    static const char *const texts[2] = {
        "[{\"class_name\":\"Embedding\",\"config\":{\"name\":\"e\",\"trainable\":true,\"dtype\":\"float32\","
        "\"batch_input_shape\":[null,7],\"input_dim\":9,\"output_dim\":3,\"embeddings_initializer\":{\"class_name\":"
        "\"RandomUniform\",\"config\":{\"minval\":-0.05,\"maxval\":0.05,\"seed\":null}},\"embeddings_regularizer\":null,"
        "\"activity_regularizer\":null,\"embeddings_constraint\":null,\"mask_zero\":true,\"input_length\":7}},"
        "{\"class_name\":\"GlobalAveragePooling1D\",\"config\":{\"name\":\"g\",\"data_format\":\"channels_last\"}}]",
        "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":[{\"class_name\":\"InputLayer\","
        "\"config\":{\"batch_shape\":[null,null,2],\"name\":\"i\"}},{\"class_name\":\"Masking\",\"config\":{\"name\":"
        "\"m\",\"mask_value\":0.5}},{\"class_name\":\"GlobalMaxPooling1D\",\"config\":{\"name\":\"g\",\"keepdims\":false}}]}}",
    };
    char msg[512];
    nnc_model *m = config_model(texts[0], 1, msg, sizeof msg);
    if (CHECK(r, m != NULL, "Keras 2: %s", msg)) {
        const nnc_embedding_opts *o = nnc_layer_opts(&m->layers[1]);
        CHECK(r, o->input_dim == 9 && o->output_dim == 3 && o->mask_zero, "options %d %d %d", o->input_dim,
              o->output_dim, (int)o->mask_zero);
        CHECK(r, nnc_input_size(m) == 7 && m->nodes[m->layers[2].output].n_in == 2, "input or mask");
    }
    nnc_model_free(m);
    m = config_model(texts[1], 0, msg, sizeof msg);
    if (CHECK(r, m != NULL, "Keras 3: %s", msg) && CHECK(r, nnc_model_sequence_inputs(m) == 1, "no None axis")) {
        nnc_compile_opts co = nnc_compile_opts_default();
        co.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
        const float x[8] = {1, 4, 0.5f, 0.5f, 2, 3, 0.5f, 0.5f}; /* 4 steps of 2, then 2 steps of 2 per row */
        float got[4];
        if (CHECK(r, nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m)) &&
            CHECK(r, nnc_model_set_sequence_length(m, 4) == NNC_OK, "%s", nnc_last_error(m)) &&
            CHECK(r, nnc_predict(m, x, 1, got) == NNC_OK, "%s", nnc_last_error(m))) {
            const double want4[2] = {2, 4};
            CHECK_NEAR_F32_F64(r, got, 2, want4, 2, 0.0, 0.0, NULL, "4 steps");
            const double want2[4] = {1, 4, 2, 3};
            if (CHECK(r, nnc_model_set_sequence_length(m, 2) == NNC_OK, "%s", nnc_last_error(m)) &&
                CHECK(r, nnc_predict(m, x, 2, got) == NNC_OK, "%s", nnc_last_error(m)))
                CHECK_NEAR_F32_F64(r, got, 4, want2, 4, 0.0, 0.0, NULL, "2 rows of 2 steps");
        }
    }
    nnc_model_free(m);
    const char *flat = "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":[{\"class_name\":"
                       "\"InputLayer\",\"config\":{\"batch_shape\":[null,null],\"name\":\"i\"}},{\"class_name\":"
                       "\"Embedding\",\"config\":{\"name\":\"e\",\"input_dim\":4,\"output_dim\":2}},{\"class_name\":"
                       "\"Flatten\",\"config\":{\"name\":\"f\"}},{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":1}}]}}";
    m = config_model(flat, 0, msg, sizeof msg);
    CHECK(r, !m && strstr(msg, "any size (None)") && strstr(msg, "layer 'f'"), "%s", msg);
    nnc_model_free(m);
    t_end(r);
}

void suite_embedding(test_run *r);
void suite_embedding(test_run *r) {
    test_values(r);
    test_mask_flow(r);
    test_bad_ids(r);
    test_gradcheck(r);
    test_threads(r);
    test_configs(r);
}
