/* Frozen layers (Keras's layer.trainable = False) and fine-tuning: a frozen layer's weights and
 * a frozen BatchNormalization's moving statistics stay bit-identical through fit while the
 * others train; summary counts them as non-trainable; the optimizer keeps no slots for them;
 * no gradient is computed for them nor for what lies only before them; trainable=false
 * survives nnc's, Keras's .keras and .h5 files; a change after compile re-compiles in place;
 * a layer that does not exist is a one-line error naming the layers. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "shell.h"
#include "core/model_impl.h"
#include "core/rng.h"
#include "format/json.h"
#include "io/keras_config.h"
#include "train/train_impl.h"

/* f1 and bn frozen; dropout still drops; out trains. */
static const char *spec_frozen =
    "input 8\n"
    "dense 16 activation=relu name=f1 trainable=false kernel_regularizer=l2(0.5)\n"
    "batch_normalization name=bn trainable=false\n"
    "dropout 0.3\n"
    "dense 3 name=out\n"
    "loss sparse_categorical_crossentropy from_logits=true\n"
    "optimizer adam learning_rate=0.01\n";

static nnc_model *build(const char *s) {
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(s, strlen(s), "t.nnc", &e);
    if (!m) fprintf(stderr, "%s\n", e.message);
    return m;
}

enum { N = 64, F = 8 };

static void data(float *x, float *y) {
    nnc_rng g;
    nnc_rng_seed(&g, 7);
    for (int i = 0; i < N * F; i++) x[i] = (float)nnc_rng_normal(&g);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
}

static int fit_quiet(nnc_model *m, const float *x, const float *y, int epochs) {
    nnc_fit_opts o = nnc_fit_opts_default();
    o.epochs = epochs;
    o.batch_size = 16;
    o.verbose = 0;
    return nnc_fit(m, x, y, N, &o, NULL);
}

/* A copy of every variable's values, in variable order. */
static float *snapshot(nnc_model *m) {
    float *s = malloc(m->n_param_floats * sizeof(float) + 1);
    size_t at = 0;
    for (int p = 0; s && p < m->n_params; p++) {
        memcpy(s + at, m->param_arena + m->params[p].offset, m->params[p].size * sizeof(float));
        at += m->params[p].size;
    }
    return s;
}

/* 1 when variable p holds the same bits in a and the snapshot s of the same model. */
static int same_var(const nnc_model *m, const float *s, int p) {
    size_t at = 0;
    for (int q = 0; q < p; q++) at += m->params[q].size;
    return !memcmp(s + at, m->param_arena + m->params[p].offset, m->params[p].size * sizeof(float));
}

static void case_bit_identical(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "frozen/weights_bit_identical_after_fit")) return;
    nnc_model *m = build(spec_frozen);
    float *before = m ? snapshot(m) : NULL;
    if (CHECK(r, m && before, "build") && CHECK(r, fit_quiet(m, x, y, 3) == NNC_OK, "fit: %s", nnc_last_error(m))) {
        for (int p = 0; p < m->n_params; p++) {
            const nnc_param_rec *pr = &m->params[p];
            const int frozen = m->layers[pr->layer].frozen, same = same_var(m, before, p);
            CHECK(r, frozen ? same : !same, "%s %s after fit", pr->name, same ? "unchanged" : "changed");
        }
    }
    /* the same model with bn trainable: its moving statistics move (the check above means something) */
    nnc_model *u = build(spec_frozen);
    free(before);
    before = u ? snapshot(u) : NULL;
    if (CHECK(r, u && before && nnc_layer_set_trainable(u, "bn", true) == NNC_OK, "unfreeze bn") &&
        CHECK(r, fit_quiet(u, x, y, 1) == NNC_OK, "fit: %s", nnc_last_error(u)))
        CHECK(r, !same_var(u, before, nnc_find_param(u, "bn.moving_mean")) &&
                     !same_var(u, before, nnc_find_param(u, "bn.gamma")),
              "a trainable bn moves its statistics and gamma");
    free(before);
    nnc_model_free(u);
    nnc_model_free(m);
    t_end(r);
}

/* What summary_json says of m: trainable and non-trainable counts. */
static int summary_counts(nnc_model *m, double *tr, double *non) {
    FILE *f = tmpfile();
    char buf[8192] = "";
    if (!f || nnc_summary_json(m, f) != NNC_OK) return -1;
    rewind(f);
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    char why[128];
    nnc_json *j = nnc_json_parse(buf, len, why, sizeof why);
    if (!j) return -1;
    *tr = nnc_json_get(j, "trainable_params")->number;
    *non = nnc_json_get(j, "non_trainable_params")->number;
    nnc_json_free(j);
    return 0;
}

static void case_counts(test_run *r) {
    if (!t_begin(r, "frozen/summary_and_optimizer_slots")) return;
    nnc_model *m = build(spec_frozen);
    double tr = 0, non = 0;
    /* f1 8·16+16 = 144 and bn 4·16 = 64 frozen; out 16·3+3 = 51 trained */
    if (CHECK(r, m && summary_counts(m, &tr, &non) == 0, "summary json")) {
        CHECK(r, tr == 51 && non == 208, "trainable %g, non-trainable %g (expected 51, 208)", tr, non);
        CHECK(r, m->n_trainable_floats == 51, "%zu floats trained", m->n_trainable_floats);
        CHECK(r, m->n_state_floats == 32, "%zu floats of state (bn's moving statistics)", m->n_state_floats);
        CHECK(r, m->train->n_slots == 2, "adam: 2 slots");
        CHECK(r, nnc_layer_trainable(m, "f1") == 0 && nnc_layer_trainable(m, "out") == 1 &&
                     nnc_layer_trainable(m, "nope") == -1, "nnc_layer_trainable");
        /* nothing before out trains: neither f1's nodes nor out's input get a gradient */
        const nnc_layer_rec *f1 = &m->layers[nnc_find_layer(m, "f1")], *out = &m->layers[nnc_find_layer(m, "out")];
        CHECK(r, !m->nodes[f1->output].needs_grad && !m->nodes[out->inputs[0]].needs_grad &&
                     m->nodes[out->output].needs_grad, "gradients stop at out's input");
    }
    nnc_model_free(m);
    t_end(r);
}

static void case_regularizer(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "frozen/weight_regularizer_left_out_as_keras3")) return;
    nnc_model *a = build(spec_frozen), *b = build(spec_frozen);
    nnc_logs la, lb;
    if (CHECK(r, a && b && nnc_layer_set_trainable(b, "f1", true) == NNC_OK, "build") &&
        CHECK(r, nnc_evaluate(a, x, y, N, N, &la) == NNC_OK && nnc_evaluate(b, x, y, N, N, &lb) == NNC_OK,
              "evaluate")) {
        float k[F * 16];
        double pen = 0;
        nnc_get_variable(b, "f1.kernel", k, F * 16);
        for (int i = 0; i < F * 16; i++) pen += 0.5 * (double)k[i] * (double)k[i];
        double d = nnc_logs_get(&lb, "loss") - nnc_logs_get(&la, "loss");
        CHECK(r, d > 0.99 * pen && d < 1.01 * pen, "trainable f1 adds its penalty %g (by hand %g), frozen none", d,
              pen);
    }
    nnc_model_free(a);
    nnc_model_free(b);
    t_end(r);
}

static void case_after_compile(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "frozen/set_after_compile_recompiles")) return;
    nnc_model *m = build(spec_frozen);
    float *before = NULL;
    if (CHECK(r, m && fit_quiet(m, x, y, 1) == NNC_OK, "fit") && (before = snapshot(m)) &&
        CHECK(r, nnc_layer_set_trainable(m, "out", false) == NNC_OK &&
                     nnc_layer_set_trainable(m, "f1", true) == NNC_OK,
              "set_trainable: %s", nnc_last_error(m))) {
        for (int p = 0; p < m->n_params; p++) CHECK(r, same_var(m, before, p), "%s kept", m->params[p].name);
        CHECK(r, m->n_trainable_floats == 144, "f1 trains now (%zu floats)", m->n_trainable_floats);
        free(before);
        before = snapshot(m);
        if (CHECK(r, fit_quiet(m, x, y, 1) == NNC_OK, "fit again: %s", nnc_last_error(m))) {
            CHECK(r, same_var(m, before, nnc_find_param(m, "out.kernel")), "out frozen now");
            CHECK(r, !same_var(m, before, nnc_find_param(m, "f1.kernel")), "f1 trains now");
        }
    }
    free(before);
    nnc_model_free(m);
    t_end(r);
}

typedef struct {
    nnc_model *m;
    float *snap;
} hook_ctx;

/* After the first epoch: out frozen from inside fit, and the weights taken. */
static bool freeze_out(void *user, const nnc_epoch_info *info) {
    hook_ctx *h = user;
    if (info->epoch == 0 && nnc_layer_set_trainable(h->m, "out", false) == NNC_OK) h->snap = snapshot(h->m);
    return false;
}

static void case_inside_fit(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "frozen/set_inside_fit")) return;
    hook_ctx h = {build(spec_frozen), NULL};
    nnc_fit_opts o = nnc_fit_opts_default();
    o.epochs = 2;
    o.batch_size = 16;
    o.verbose = 0;
    o.on_epoch_end = freeze_out;
    o.user = &h;
    if (CHECK(r, h.m && nnc_fit(h.m, x, y, N, &o, NULL) == NNC_OK, "fit: %s", h.m ? nnc_last_error(h.m) : "build") &&
        CHECK(r, h.snap != NULL, "frozen after epoch 1"))
        CHECK(r, same_var(h.m, h.snap, nnc_find_param(h.m, "out.kernel")), "out unchanged in epoch 2");
    free(h.snap);
    nnc_model_free(h.m);
    t_end(r);
}

/* The model saved to path and loaded back: f1 and bn still frozen, the same weights, the
 * optimizer's slots and iterations kept. */
static void round_trip(test_run *r, nnc_model *m, const char *path) {
    nnc_save_opts so = nnc_save_opts_default();
    nnc_error e = {""};
    if (!CHECK(r, nnc_model_save(m, path, &so) == NNC_OK, "save %s: %s", path, nnc_last_error(m))) return;
    nnc_model *b = nnc_model_load(path, &e);
    if (!CHECK(r, b != NULL, "load %s: %s", path, e.message)) return;
    CHECK(r, nnc_layer_trainable(b, "f1") == 0 && nnc_layer_trainable(b, "bn") == 0 &&
                 nnc_layer_trainable(b, "out") == 1, "%s: trainable flags", path);
    CHECK(r, b->n_trainable_floats == m->n_trainable_floats, "%s: %zu trained floats", path, b->n_trainable_floats);
    int same = b->n_params == m->n_params;
    for (int p = 0; same && p < m->n_params; p++)
        same = !memcmp(b->param_arena + b->params[p].offset, m->param_arena + m->params[p].offset,
                       m->params[p].size * sizeof(float));
    CHECK(r, same, "%s: the same weights", path);
    CHECK(r, b->train->iterations == m->train->iterations &&
                 !memcmp(b->train->opt_slots, m->train->opt_slots,
                         m->n_trainable_floats * (size_t)m->train->n_slots * sizeof(float)),
          "%s: optimizer state (iterations %lld and %lld)", path, (long long)b->train->iterations,
          (long long)m->train->iterations);
    t_info(r, "%s: trainable flags, weights and optimizer state read back", strrchr(path, '.'));
    nnc_model_free(b);
}

static void case_files(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "frozen/config_and_files_round_trip")) return;
    nnc_model *m = build(spec_frozen);
    char dir[] = "/tmp/nnc_frozen_XXXXXX", path[64];
    if (CHECK(r, m && mkdtemp(dir), "build") && CHECK(r, fit_quiet(m, x, y, 1) == NNC_OK, "fit")) {
        nnc_strbuf sb = {0};
        nnc_config_json(m, &sb);
        CHECK(r, sb.buf && strstr(sb.buf, "{\"name\":\"f1\",\"trainable\":false,") &&
                     strstr(sb.buf, "{\"name\":\"out\",\"trainable\":true,"),
              "config writes trainable");
        nnc_sb_free(&sb);
        const char *ext[3] = {"safetensors", "keras", "h5"};
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/m.%s", dir, ext[i]);
#ifndef NNC_HAVE_KERAS
            if (i) continue;
#endif
            round_trip(r, m, path);
            unlink(path);
        }
        rmdir(dir);
    }
    nnc_model_free(m);
    t_end(r);
}

static void case_errors(test_run *r) {
    if (!t_begin(r, "frozen/bad_input")) return;
    nnc_model *m = build(spec_frozen);
    nnc_error e = {""};
    if (CHECK(r, m != NULL, "build")) {
        CHECK(r, nnc_layer_set_trainable(m, "nope", false) == NNC_ERR_ARG, "unknown layer refused");
        const char *msg = nnc_last_error(m);
        CHECK(r, strstr(msg, "no layer is named 'nope'") && strstr(msg, "input_layer, f1, bn, dropout, out") &&
                     !strchr(msg, '\n'),
              "one line naming the layers: %s", msg);
    }
    const char *bad[3] = {"input 4\ndense 3 trainable=maybe\nloss mse\n",
                          "input 4 trainable=false\ndense 3\nloss mse\n",
                          "input 4 2\nspatial_dropout1d 0.1 trainable=false\ndense 3\nloss mse\n"};
    for (int i = 0; i < 3; i++) {
        nnc_model *b = nnc_model_from_spec_text(bad[i], strlen(bad[i]), "t.nnc", &e);
        CHECK(r, !b && strstr(e.message, "trainable"), "spec %d refused: %s", i, e.message);
        nnc_model_free(b);
    }
    nnc_model_free(m);
    t_end(r);
}

/* The fine-tuning workflow from the shell: train, then --init-from with --freeze; the frozen
 * layer's weights are the same bits in both files, summary counts them as non-trainable. */
static void case_cli(test_run *r) {
    if (!t_begin(r, "frozen/cli_init_from_freeze")) return;
#ifndef NNC_HAVE_KERAS
    t_skip(r, "saves a .keras file: Keras files are not built (NNC_INTEROP off)");
    return;
#endif
    char dir[] = "/tmp/nnc_frozen_cli_XXXXXX", path[128];
    int st = -1;
    char *out = NULL;
    if (!CHECK(r, mkdtemp(dir) != NULL, "mkdtemp")) {
        t_end(r);
        return;
    }
    snprintf(path, sizeof path, "%s/s.nnc", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("input 4\ndense 8 activation=relu\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n"
              "optimizer adam learning_rate=0.01\n", f);
        fclose(f);
    }
    out = t_shell(dir, "nnc train s.nnc --data iris --epochs 1 --quiet --save a.safetensors && "
                       "nnc train --init-from a.safetensors --freeze dense --data iris --epochs 2 --quiet "
                       "--save b.keras && nnc summary b.keras --json", &st);
    nnc_error e = {""};
    snprintf(path, sizeof path, "%s/a.safetensors", dir);
    nnc_model *a = nnc_model_load(path, &e);
    snprintf(path, sizeof path, "%s/b.keras", dir);
    nnc_model *b = nnc_model_load(path, &e);
    if (CHECK(r, st == 0 && out && a && b, "status %d: %s %s", st, out ? out : "", e.message)) {
        CHECK(r, strstr(out, "\"trainable_params\":27,\"non_trainable_params\":40"), "summary: %s", out);
        CHECK(r, strstr(out, "\"name\":\"dense\",\"class\":\"Dense\",\"output_shape\":[null,8],\"params\":40,"
                             "\"trainable\":false"), "summary: the layer frozen: %s", out);
        float ka[32], kb[32], oa[24], ob[24];
        nnc_get_variable(a, "dense.kernel", ka, 32);
        nnc_get_variable(b, "dense.kernel", kb, 32);
        nnc_get_variable(a, "dense_1.kernel", oa, 24);
        nnc_get_variable(b, "dense_1.kernel", ob, 24);
        CHECK(r, !memcmp(ka, kb, sizeof ka) && memcmp(oa, ob, sizeof oa), "the frozen kernel kept, the other trained");
        CHECK(r, nnc_layer_trainable(b, "dense") == 0, "b.keras keeps dense frozen");
    }
    nnc_model_free(a);
    nnc_model_free(b);
    free(out);
    const char *files[4] = {"s.nnc", "a.safetensors", "b.keras", NULL};
    for (int i = 0; files[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    t_end(r);
}

/* A frozen BatchNormalization between trained layers: the gradient through its inference
 * branch matches the numerical derivative; its variables are not checked. */
static void case_gradcheck(test_run *r, const float *x, const float *y) {
    if (!t_begin(r, "frozen/gradcheck_through_frozen_batch_norm")) return;
    nnc_model *m = build("input 8\ndense 6 activation=tanh\nbatch_normalization name=bn trainable=false\ndense 3\n"
                         "loss sparse_categorical_crossentropy from_logits=true\n");
    nnc_gradcheck_result res[16];
    int failed = -1;
    nnc_gradcheck_opts o = nnc_gradcheck_opts_default();
    if (CHECK(r, m && nnc_variable_count(m) <= 16, "build") &&
        CHECK(r, nnc_gradcheck(m, x, y, N, &o, res, &failed) == NNC_OK, "gradcheck: %s", nnc_last_error(m))) {
        CHECK(r, failed == 0, "%d variables failed", failed);
        const int g = nnc_find_param(m, "bn.gamma"), k = nnc_find_param(m, "dense.kernel");
        CHECK(r, !res[g].trainable && res[k].trainable && res[k].checked == 48, "checked: the trained variables only");
    }
    nnc_model_free(m);
    t_end(r);
}

/* Keras 3's config of a model set trainable=False as a whole: every layer frozen. */
static void case_model_trainable_false(test_run *r) {
    if (!t_begin(r, "frozen/keras_model_trainable_false")) return;
    static const char cfg[] =
        "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"trainable\":false,\"layers\":["
        "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,4],\"name\":\"in\"}},"
        "{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":3,\"trainable\":true}}]}}";
    char msg[256] = "";
    nnc_json *j = nnc_json_parse(cfg, sizeof cfg - 1, msg, sizeof msg);
    nnc_model *m = nnc_model_new(NULL);
    if (CHECK(r, j && m && nnc_config_build(m, j, msg, sizeof msg) == 0, "build: %s", msg))
        CHECK(r, nnc_layer_trainable(m, "d") == 0 && !m->params[0].trainable, "d frozen with its model");
    nnc_json_free(j);
    nnc_model_free(m);
    t_end(r);
}

void suite_frozen(test_run *r);
void suite_frozen(test_run *r) {
    float x[N * F], y[N];
    data(x, y);
    case_bit_identical(r, x, y);
    case_counts(r);
    case_regularizer(r, x, y);
    case_after_compile(r, x, y);
    case_inside_fit(r, x, y);
    case_files(r, x, y);
    case_errors(r);
    case_gradcheck(r, x, y);
    case_model_trainable_false(r);
    case_cli(r);
}
