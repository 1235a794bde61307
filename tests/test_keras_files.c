/* Real Keras files (the shared folder ../shared/keras_models beside the source tree, or
 * $NNC_KERAS_MODELS_DIR; never copied into the project): each file whose layers nnc has loads,
 * and predicts on seeded random inputs what tools/keras_reference.py (numpy and h5py, read
 * independently of nnc) computes, within 1e-5 + 1e-4·|ref| (1e-4 + 1e-4·|ref| for a long
 * sequence: file 16's 60 steps); the files with layers nnc lacks fail with one clear message
 * naming the layer, its class and the file. Every case skips, saying why, when the folder, the Keras support (NNC_INTEROP) or python3 with numpy and h5py
 * is missing. Out of scope: writing Keras files (test_keras_write.c), damaged files
 * (test_cli.c's table, test_keras_config.c). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "files.h"
#include "keras_fixtures.h"
#include "train/train_state.h"

static const char *models_dir(char *buf, size_t n) {
    const char *env = getenv("NNC_KERAS_MODELS_DIR");
    if (env && *env) snprintf(buf, n, "%s", env);
    else snprintf(buf, n, "%s/../../shared/keras_models", t_srcdir());
    return buf;
}

/* The interpreter that has numpy and h5py ($NNC_PYTHON, else /usr/bin/python3); NULL when none. */
const char *keras_python(void) {
    static char cached[512];
    static int state = 0; /* 0 unknown, 1 found, -1 missing */
    if (state == 0) {
        const char *p = getenv("NNC_PYTHON");
        snprintf(cached, sizeof cached, "%s", p && *p ? p : "/usr/bin/python3");
        char cmd[700];
        snprintf(cmd, sizeof cmd, "'%s' -c 'import numpy, h5py' >/dev/null 2>&1", cached);
        state = access(cached, X_OK) == 0 && system(cmd) == 0 ? 1 : -1;
    }
    return state > 0 ? cached : NULL;
}

static uint64_t next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int write_floats(const char *path, const float *v, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t put = fwrite(v, sizeof *v, n, f);
    return fclose(f) == 0 && put == n ? 0 : -1;
}

static float *read_floats(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    float *v = f ? malloc(n * sizeof *v + 1) : NULL;
    size_t got = v ? fread(v, sizeof *v, n + 1, f) : 0;
    if (f) fclose(f);
    if (got != n) {
        free(v);
        return NULL;
    }
    return v;
}

#define ROWS 8
#define STEPS 37

/* The input_dim of an Embedding reading a model input (its data are token ids), else 0. */
static int token_ids(const nnc_model *m) {
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].op == NNC_OP_EMBEDDING && m->nodes[m->nodes[i].in[0]].op == NNC_OP_INPUT)
            return m->nodes[m->nodes[i].in[1]].shape.dim[0];
    return 0;
}

/* A model with a None time axis saved as nnc's file, .keras and .h5 and loaded keeps it. */
static void saved_any_length(test_run *r, nnc_model *m, const char *tmp) {
    static const char *const ext[3] = {"safetensors", "keras", "h5"};
    for (int k = 0; k < 3; k++) {
        char path[700];
        nnc_error e = {""};
        snprintf(path, sizeof path, "%s/any_length.%s", tmp, ext[k]);
        nnc_model *l = NULL;
        if (CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save .%s: %s", ext[k], nnc_last_error(m)) &&
            CHECK(r, (l = nnc_model_load(path, &e)) != NULL, "load .%s: %s", ext[k], e.message))
            CHECK(r, nnc_model_sequence_inputs(l) == 1, ".%s lost the None axis", ext[k]);
        nnc_model_free(l);
        unlink(path);
    }
}

/* Loads the file, predicts ROWS seeded rows, runs the reference on the same rows, compares. */
void keras_compare_with_reference(test_run *r, const char *path, const char *tmp, unsigned long long seed, double atol) {
    nnc_error e = {""};
    nnc_model *m = nnc_model_load(path, &e);
    if (!CHECK(r, m != NULL, "load: %s", e.message)) return;
    /* a None time axis (file 14) runs at STEPS steps, the reference too (NNC_REF_STEPS) */
    int any_len = nnc_model_sequence_inputs(m) != 0, vocab = token_ids(m);
    if (any_len) { /* the summary shows the time axis as Keras does: None */
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        CHECK(r, f && nnc_summary_json(m, f) == NNC_OK && !fclose(f) && strstr(text, "\"output_shape\":[null,null,"),
              "summary: %s", text ? text : "");
        free(text);
        saved_any_length(r, m, tmp);
    }
    if (any_len && !CHECK(r, nnc_model_set_sequence_length(m, STEPS) == NNC_OK, "length: %s", nnc_last_error(m))) {
        nnc_model_free(m);
        return;
    }
    size_t in = nnc_input_size(m), out = nnc_output_size(m);
    float *x = malloc(ROWS * in * sizeof *x), *y = malloc(ROWS * out * sizeof *y), *ref = NULL;
    uint64_t s = seed;
    for (size_t i = 0; x && i < ROWS * in; i++) {
        uint64_t v = next(&s);
        /* token ids: a quarter of them 0 (padding for mask_zero), the others anywhere below input_dim */
        x[i] = vocab ? (float)((v & 3) ? (v >> 40) % (uint64_t)vocab : 0) : (float)(v >> 40) / (float)(1 << 24);
    }
    char xin[600], xout[600], cmd[4200];
    snprintf(xin, sizeof xin, "%s/x.f32", tmp);
    snprintf(xout, sizeof xout, "%s/ref.f32", tmp);
    snprintf(cmd, sizeof cmd, "NNC_REF_STEPS=%d '%s' '%s/../tools/keras_reference.py' '%s' '%s' '%s'", STEPS,
             keras_python(), t_srcdir(), path, xin, xout);
    int ok = x && y && CHECK(r, nnc_predict(m, x, ROWS, y) == NNC_OK, "predict: %s", nnc_last_error(m)) &&
             CHECK(r, write_floats(xin, x, ROWS * in) == 0, "cannot write %s", xin) &&
             CHECK(r, system(cmd) == 0, "the reference failed: %s", cmd) &&
             CHECK(r, (ref = read_floats(xout, ROWS * out)) != NULL, "the reference wrote no %zu outputs", ROWS * out);
    double worst = 0.0, max_abs = 0.0;
    for (size_t i = 0; ok && i < ROWS * out; i++) {
        double d = fabs((double)y[i] - (double)ref[i]), tol = atol + 1e-4 * fabs((double)ref[i]);
        if (!(d <= tol) || !isfinite(y[i])) {
            CHECK(r, 0, "output %zu (row %zu): nnc %.9g, reference %.9g, tolerance %.3g", i, i / out, (double)y[i],
                  (double)ref[i], tol);
            break;
        }
        if (d / tol > worst) worst = d / tol;
        if (d > max_abs) max_abs = d;
    }
    if (ok) t_info(r, "%zu outputs: max |nnc - ref| %.3g (%.2f of the tolerance)", ROWS * out, max_abs, worst);
    free(x);
    free(y);
    free(ref);
    nnc_model_free(m);
}

#ifdef NNC_HAVE_KERAS
/* Files 01 (.h5: optimizer variables named) and 02 (.keras: unnamed, placed by Keras 3's
 * layout) hold the same model: both must give the same weights and optimizer state. */
static void same_state(test_run *r, const char *dir) {
    if (!t_begin(r, "keras/real/01_h5_and_02_keras_same_weights_and_optimizer_state")) return;
    char a[1300], b[1300];
    snprintf(a, sizeof a, "%s/01_churn_mlp_k3-10.h5", dir);
    snprintf(b, sizeof b, "%s/02_churn_mlp_k3-10.keras", dir);
    if (access(a, R_OK) || access(b, R_OK)) {
        t_skip(r, "no real Keras files here (../shared/keras_models or NNC_KERAS_MODELS_DIR)");
        return;
    }
    nnc_error e = {""};
    nnc_model *x = nnc_model_load(a, &e), *y = x ? nnc_model_load(b, &e) : NULL;
    if (CHECK(r, x && y, "%s", e.message)) {
        const nnc_train_state *tx = x->train, *ty = y->train;
        CHECK(r, x->n_param_floats == y->n_param_floats &&
                     !memcmp(x->param_arena, y->param_arena, x->n_param_floats * sizeof(float)), "weights differ");
        CHECK(r, tx->n_slots == 2 && ty->n_slots == 2 && tx->iterations == ty->iterations && tx->iterations > 0,
              "iterations %lld and %lld", (long long)tx->iterations, (long long)ty->iterations);
        CHECK(r, !memcmp(tx->opt_slots, ty->opt_slots, 2 * x->n_trainable_floats * sizeof(float)), "optimizer slots differ");
        CHECK(r, nnc_model_note_count(x) == 0 && nnc_model_note_count(y) == 0, "notes: %s", nnc_model_note(x, 0));
    }
    nnc_model_free(x);
    nnc_model_free(y);
    t_end(r);
}
#endif

void suite_keras_files(test_run *r);
void suite_keras_files(test_run *r) {
    /* the absolute tolerance: 1e-4 for long sequences (file 16's LSTMs run 60 steps), whose
     * rounding in float32 grows with every step */
    static const struct { const char *file; double atol; } runs[] = {
        {"01_churn_mlp_k3-10.h5", 1e-5}, {"02_churn_mlp_k3-10.keras", 1e-5}, {"04_mnist_mlp_k3-3.h5", 1e-5},
        {"06_mnist_cnn_activation_layers_k2-3.h5", 1e-5}, {"09_mnist_cnn_same_k2-15_windows.keras", 1e-5},
        {"12_signmnist_cnn_batchnorm_k3-4.h5", 1e-5}, {"14_imdb_embedding_gap1d_k2-11_hdf5_named.keras", 1e-5},
        {"16_stock_lstm_k3-10.h5", 1e-4}, {"18_amazon_stock_lstm_k3-4.keras", 1e-5}};
    char dir[1024], path[1300], tmp[] = "/tmp/nnc-keras-files-XXXXXX";
    models_dir(dir, sizeof dir);
    int have_dir = access(dir, R_OK) == 0, made = 0;
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        const char *file = runs[i].file;
        if (!t_begin(r, "keras/real/%s", file)) continue;
#ifndef NNC_HAVE_KERAS
        t_skip(r, "Keras files are not built (NNC_INTEROP off)");
        continue;
#endif
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (!have_dir || access(path, R_OK)) {
            t_skip(r, "no real Keras files here (../shared/keras_models or NNC_KERAS_MODELS_DIR)");
            continue;
        }
        if (!keras_python()) {
            t_skip(r, "needs python3 with numpy and h5py (apt-get install python3-h5py; or NNC_PYTHON)");
            continue;
        }
        if (!made && !(made = mkdtemp(tmp) != NULL)) {
            CHECK(r, 0, "mkdtemp failed");
            t_end(r);
            continue;
        }
        keras_compare_with_reference(r, path, tmp, 1000 + i, runs[i].atol);
        t_end(r);
    }
    if (made) remove_tree(tmp);
#ifdef NNC_HAVE_KERAS
    same_state(r, dir);
#endif
}
