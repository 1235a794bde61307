/* Sequence lengths (issue 14): an input of any length (Keras's None time axis) built by the
 * spec's `input None` or nnc_input's shape[0] 0, run at the length of the data (the same
 * outputs as a model built for that length, saved and loaded as None), Keras 2's input_length
 * checked against the input, and an ONNX file whose time axis is symbolic, run by ONNX Runtime
 * at two lengths. The command line at the data's length: tests/test_seq_length.c. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test.h"
#include "config_model.h"
#include "files.h"
#include "shell.h"
#include "format/json.h"
#include "io/keras_config.h"

static nnc_model *config_model_keras2(const char *text, char *msg, size_t n) { return config_model(text, 1, msg, n); }

static nnc_model *spec(const char *text, nnc_error *e) {
    return nnc_model_from_spec_text(text, strlen(text), "t.nnc", e);
}

/* Copies every variable of a into b (the same names and sizes). */
static int copy_variables(nnc_model *a, nnc_model *b) {
    for (int i = 0; i < nnc_variable_count(a); i++) {
        int shape[NNC_MAX_RANK], rank = nnc_variable_shape(a, i, shape);
        size_t n = 1;
        for (int k = 0; k < rank; k++) n *= (size_t)shape[k];
        float *v = malloc(n * sizeof *v);
        int bad = !v || nnc_get_variable(a, nnc_variable_name(a, i), v, n) ||
                  nnc_set_variable(b, nnc_variable_name(a, i), v, n);
        free(v);
        if (bad) return -1;
    }
    return 0;
}

/* The model of any length at `len` steps against the model built for len steps with the same
 * weights: the same outputs, bit for bit. */
static void same_as_fixed(test_run *r, const char *any_text, const char *fixed_text, int len, const float *x, size_t n) {
    nnc_error e = {""};
    nnc_model *a = spec(any_text, &e), *f = a ? spec(fixed_text, &e) : NULL;
    float pa[8], pf[8];
    if (CHECK(r, a && f, "%s", e.message) && CHECK(r, !copy_variables(a, f), "copy") &&
        CHECK(r, nnc_model_set_sequence_length(a, len) == NNC_OK, "%s", nnc_last_error(a)) &&
        CHECK(r, nnc_predict(a, x, n, pa) == NNC_OK && nnc_predict(f, x, n, pf) == NNC_OK, "predict: %s / %s",
              nnc_last_error(a), nnc_last_error(f)))
        CHECK(r, !memcmp(pa, pf, n * nnc_output_size(f) * sizeof *pa), "%d steps: %g vs %g", len, (double)pa[0],
              (double)pf[0]);
    nnc_model_free(a);
    nnc_model_free(f);
}

static void test_spec_input_none(test_run *r) {
    if (!t_begin(r, "seqlen/spec_input_none_runs_as_the_fixed_model")) return;
    const float ids[10] = {1, 2, 0, 5, 3, 4, 4, 0, 0, 1};
    const char *tail = "embedding 6 3 mask_zero=true\ndense 2 activation=tanh\nglobal_average_pooling1d\ndense 1\nloss mse\n";
    char any[256], fixed[256];
    snprintf(any, sizeof any, "input None\n%s", tail);
    for (int len = 5; len >= 2; len -= 3) {
        snprintf(fixed, sizeof fixed, "input %d\n%s", len, tail);
        same_as_fixed(r, any, fixed, len, ids, 10 / (size_t)len);
    }
    const float steps[12] = {0.5f, -1, 2, 0, 0, 0, 1, 1, 1, -0.5f, 0.25f, 3};
    same_as_fixed(r, "input None 3\nmasking\nlstm 4\ndense 1\nloss mse\n", "input 4 3\nmasking\nlstm 4\ndense 1\nloss mse\n",
                  4, steps, 1);
    nnc_error e = {""};
    nnc_model *m = spec(any, &e);
    nnc_input_info in;
    if (CHECK(r, m != NULL, "%s", e.message) && CHECK(r, nnc_model_input_info(m, 0, &in) == NNC_OK, "info"))
        CHECK(r, nnc_model_sequence_inputs(m) == 1 && in.any_length && in.rank == 1 && in.ids_layer &&
                     !strcmp(in.ids_layer, "embedding") && in.input_dim == 6 && !strcmp(in.name, "input_layer"),
              "input info: any %d, ids %s", (int)in.any_length, in.ids_layer ? in.ids_layer : "-");
    nnc_model_free(m);
    static const char *const bad[][2] = {
        {"input 4 None\ndense 1\nloss mse\n", "t.nnc:1: input: None is the first axis only"},
        {"input None\nembedding 5 2\nflatten\ndense 1\nloss mse\n", "layer 'flatten' cannot run at another sequence length"},
        {"input None 2\nconv1d 4 1\nglobal_max_pooling1d\ndense 1\nloss mse\n", "but layer 'conv1d' cannot run"},
    };
    for (int k = 0; k < 3; k++) {
        m = spec(bad[k][0], &e);
        CHECK(r, !m && strstr(e.message, bad[k][1]) && !strchr(e.message, '\n'), "%s", m ? "built" : e.message);
        nnc_model_free(m);
    }
    /* from C: shape[0] 0 is None */
    m = nnc_model_new(NULL);
    nnc_input(m, (int[]){0, 2}, 2, "steps");
    nnc_dense_opts d = nnc_dense_opts_default(3);
    nnc_dense(m, NNC_PREV, &d);
    nnc_global_max_pooling1d(m, NNC_PREV, NULL);
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
    CHECK(r, nnc_compile(m, &co) == NNC_OK && nnc_model_sequence_inputs(m) == 1 && nnc_input_size(m) == 2 &&
                 nnc_model_set_sequence_length(m, 7) == NNC_OK && nnc_input_size(m) == 14,
          "C input of any length: %s", nnc_last_error(m));
    nnc_model_free(m);
    t_end(r);
}

/* Saved (nnc's file, .keras, .h5) and loaded: still of any length, the same outputs. */
static void test_round_trip(test_run *r) {
    if (!t_begin(r, "seqlen/any_length_saved_and_loaded")) return;
    nnc_error e = {""};
    nnc_model *m = spec("input None\nembedding 6 3\nglobal_average_pooling1d\ndense 2\nloss mse\n", &e);
    char dir[] = "/tmp/nnc_seqlen_XXXXXX";
    const float ids[6] = {1, 2, 3, 4, 5, 0};
    float want[4], got[4];
    static const char *const exts[3] = {"safetensors", "keras", "h5"};
    if (CHECK(r, m && mkdtemp(dir), "%s", e.message) && CHECK(r, nnc_model_set_sequence_length(m, 3) == NNC_OK, "len") &&
        CHECK(r, nnc_predict(m, ids, 2, want) == NNC_OK, "%s", nnc_last_error(m)))
        for (int k = 0; k < 3; k++) {
#ifndef NNC_HAVE_KERAS
            if (k) continue; /* a build without Keras's files */
#endif
            char path[128];
            snprintf(path, sizeof path, "%s/m.%s", dir, exts[k]);
            nnc_model *b = NULL;
            if (CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "%s: %s", exts[k], nnc_last_error(m)) &&
                CHECK(r, (b = nnc_model_load(path, &e)) != NULL, "%s: %s", exts[k], e.message) &&
                CHECK(r, nnc_model_sequence_inputs(b) == 1, "%s: no longer of any length", exts[k]) &&
                CHECK(r, nnc_model_set_sequence_length(b, 3) == NNC_OK && nnc_predict(b, ids, 2, got) == NNC_OK,
                      "%s: %s", exts[k], nnc_last_error(b)))
                CHECK(r, !memcmp(want, got, sizeof want), "%s: other outputs", exts[k]);
            nnc_model_free(b);
        }
    remove_tree(dir);
    nnc_model_free(m);
    t_end(r);
}


/* Keras 2's Embedding(input_length) against its batch_input_shape: equal is read, another
 * length or a None axis is refused (which length would run is not clear). And a NaN token id
 * is named as a token id. */
static void test_input_length(test_run *r) {
    if (!t_begin(r, "seqlen/keras2_input_length_must_agree")) return;
    static const struct { const char *shape, *len, *says; } cases[] = {
        {"7", "7", NULL}, {"7", "null", NULL}, {"7", "9", "input_length 9, but its input has 7 steps"},
        {"null", "9", "input_length 9, but its input takes sequences of any length (None)"},
    };
    for (int k = 0; k < 4; k++) {
        char text[512], msg[512] = "";
        snprintf(text, sizeof text,
                 "[{\"class_name\":\"Embedding\",\"config\":{\"name\":\"e\",\"batch_input_shape\":[null,%s],"
                 "\"input_dim\":9,\"output_dim\":3,\"input_length\":%s}},{\"class_name\":\"GlobalAveragePooling1D\","
                 "\"config\":{\"name\":\"g\"}}]", cases[k].shape, cases[k].len);
        nnc_model *m = config_model_keras2(text, msg, sizeof msg);
        if (cases[k].says) CHECK(r, !m && strstr(msg, cases[k].says) && strstr(msg, "'e'"), "%s: %s", text, msg);
        else CHECK(r, m != NULL, "%s: %s", text, msg);
        nnc_model_free(m);
    }
    nnc_error e = {""};
    nnc_model *m = spec("input 3\nembedding 4 2 name=words\nglobal_average_pooling1d\ndense 1\nloss mse\n", &e);
    const float x[3] = {1, NAN, 2};
    float out[1];
    if (CHECK(r, m != NULL, "%s", e.message))
        CHECK(r, nnc_predict(m, x, 1, out) != NNC_OK && strstr(nnc_last_error(m), "layer 'words' (Embedding): row 0, step 1") &&
                     strstr(nnc_last_error(m), "token id nan"), "%s", nnc_last_error(m));
    nnc_model_free(m);
    t_end(r);
}

/* ---- the command line ------------------------------------------------------------------------ */

typedef struct {
    char dir[64];
    char err[2048]; /* the last run's stderr */
} env;



/* Runs `nnc ARGS` in the folder; its exit status (-1: no exit), stderr in v->err. */

/* n rows of len token ids in [1, 20) and a label yes/no, with a header (t0, ..., label) or not. */

/* The prob_yes column of predict's CSV output against the library's outputs. */


/* Two inputs of any length: refused (a row cannot say where one ends); one of any length
 * beside a fixed one: the steps are what the fixed input leaves. */


/* Raw text with invalid UTF-8 and empty cells through `nnc predict` of a model that keeps a
 * TextVectorization: replaced and padded, one row each, no error. */

/* The ONNX file of a model of any length: its time axis symbolic ("steps"), ONNX Runtime at
 * two lengths against nnc_predict (skipped without node and onnxruntime-node). */
static void test_onnx(test_run *r, env *v) {
    if (!t_begin(r, "seqlen/onnx_steps_axis_runs_at_two_lengths")) return;
    const char *dir = getenv("NNC_ONNXRUNTIME_DIR");
    char pkg[1200];
    snprintf(pkg, sizeof pkg, "%s/node_modules/onnxruntime-node/package.json", dir && *dir ? dir : "");
    if (!dir || !*dir || access(pkg, R_OK)) {
        t_skip(r, "no onnxruntime-node (set NNC_ONNXRUNTIME_DIR)");
        return;
    }
    nnc_error e = {""};
    nnc_model *m = spec("input None 2\nmasking\ndense 3 activation=tanh\nglobal_average_pooling1d\ndense 1\nloss mse\n", &e);
    char path[128];
    snprintf(path, sizeof path, "%s/any.onnx", v->dir);
    nnc_status st = m ? nnc_model_save(m, path, NULL) : NNC_ERR_ARG;
    if (st == NNC_ERR_UNSUPPORTED) {
        t_skip(r, "built without ONNX");
        nnc_model_free(m);
        return;
    }
    static const float x[20] = {0.5f, 1, 0, 0, 2, 3, 1, 1, 0.2f, 0.3f, 1, 1, 1, 1, 0, 0, 4, 4, 0, 0};
    for (int len = 3; CHECK(r, st == NNC_OK, "%s", m ? nnc_last_error(m) : e.message) && len <= 5; len += 2) {
        float want[2], got[2] = {0, 0};
        char cmd[1024], in[128];
        snprintf(in, sizeof in, "%s/x.bin", v->dir);
        FILE *f = fopen(in, "wb");
        int wrote = f && fwrite(x, sizeof *x, (size_t)(4 * len), f) == (size_t)(4 * len);
        if (f) fclose(f);
        snprintf(cmd, sizeof cmd, "node '%s/../tools/onnx_check.js' any.onnx y.bin 2 x.bin:%d,2", t_srcdir(), len);
        int status;
        char *out = wrote ? t_shell(v->dir, cmd, &status) : NULL;
        snprintf(in, sizeof in, "%s/y.bin", v->dir);
        f = out && status == 0 ? fopen(in, "rb") : NULL;
        int read = f && fread(got, sizeof *got, 2, f) == 2;
        if (f) fclose(f);
        if (CHECK(r, read, "%d steps: %s", len, out ? out : "not run") &&
            CHECK(r, nnc_model_set_sequence_length(m, len) == NNC_OK && nnc_predict(m, x, 2, want) == NNC_OK, "%s",
                  nnc_last_error(m)))
            for (int i = 0; i < 2; i++)
                CHECK(r, fabs((double)(got[i] - want[i])) <= 1e-5 + 1e-4 * fabs((double)want[i]), "%d steps: ONNX %g, nnc %g",
                      len, (double)got[i], (double)want[i]);
        free(out);
    }
    nnc_model_free(m);
    t_end(r);
}

void suite_seqlen(test_run *r);
void suite_seqlen(test_run *r) {
    test_spec_input_none(r);
    test_round_trip(r);
    test_input_length(r);
    env v = {"/tmp/nnc_seqcli_XXXXXX", ""};
    if (!mkdtemp(v.dir)) return;
    test_onnx(r, &v);
    remove_tree(v.dir);
}
