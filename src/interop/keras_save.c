/* nnc models as Keras files (interop.h: nnc_keras_save), laid out as Keras 3 writes them so
 * that keras.saving.load_model opens them:
 *   1. .keras, a zip of (stored, as Python's zipfile writes by default)
 *        metadata.json     {"keras_version": "3.10.0"}, and nnc's "nnc_columns" when the model
 *                          records its training data's columns
 *        config.json       the architecture as nnc writes it for its own file (Keras 3's
 *                          get_config), with "registered_name", "build_config" and
 *                          "compile_config" as serialize_keras_object adds them
 *        model.weights.h5  layers/<class_snake>[_N]/vars/<i> for each layer of model.layers
 *                          (a Sequential's without its InputLayer), each vars group with the
 *                          layer's name as attribute "name"; the trainable variables, then the
 *                          others; the objects a layer holds below it (nnc_kw_parts:
 *                          layers/lstm/cell/vars/<i>, .../forward_layer/cell/vars/<i>); vars (the model's own: none); optimizer/vars/<i>: the
 *                          iteration count (int64), the learning rate unless it is a schedule,
 *                          the slots in Keras 3's order (nnc_keras_slot_order), Nadam's
 *                          u_product;
 *   2. legacy .h5 (legacy_h5_format.save_model_to_hdf5): root attributes keras_version,
 *      backend (str), model_config and training_config (JSON bytes), nnc_columns (nnc's); model_weights/ with
 *      layer_names, backend and keras_version, one group per layer with weight_names
 *      ("<model>/<layer>/<var>", trainable first) and the datasets at those paths, and
 *      top_level_model_weights; optimizer_weights/ with weight_names
 *      ("<optimizer>/iteration", "<optimizer>/<model>_<layer>_<var>_<slot>", ...) in the
 *      same order as the zip's.
 * Both are built in memory and written atomically (src/format/atomic.c), as every nnc save. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include "interop.h"
#include "keras_read.h"
#include "keras_optstate.h"
#include "zip_io.h"
#include "../format/atomic.h"
#include "../format/message.h"
#include "../io/columns.h"
#include "../layers/layers.h"
#include "../optim/optim.h"
#include "../train/train_state.h"

#define KERAS_VERSION "3.10.0" /* the layout written is that of this version */

/* The layers Keras's model.layers lists: a Sequential's InputLayer is left out. */
static int keras_layer(const nnc_model *m, int l) {
    return !(nnc_model_is_sequential(m) && (m->layers[l].desc->flags & NNC_LAYERF_INPUT));
}

/* Layer l's variables in Keras's order: its weights first, then its state (a frozen layer too). */
static int keras_vars(const nnc_model *m, int l, int *params) {
    const nnc_layer_rec *L = &m->layers[l];
    int k = 0;
    for (int state = 0; state <= 1; state++)
        for (int p = 0; p < L->n_params; p++)
            if (m->params[L->first_param + p].state == state) params[k++] = L->first_param + p;
    return k;
}

static int write_param(hid_t loc, const char *name, const nnc_model *m, int p) {
    const nnc_param_rec *pr = &m->params[p];
    return nnc_h5_write_floats(loc, name, m->param_arena + pr->offset, pr->shape.rank, pr->shape.dim);
}

/* ---- the optimizer's variables ----------------------------------------------------------- */

typedef struct {
    int count;          /* slot variables */
    int *param, *slot;  /* [count] in Keras 3's order */
    int T, S;
} opt_order;

static int optimizer_order(const nnc_model *m, opt_order *o) {
    memset(o, 0, sizeof *o);
    o->S = m->train->n_slots;
    int *trainable = malloc(((size_t)m->n_params + 1) * sizeof *trainable);
    if (!trainable) return -1;
    for (int p = 0; p < m->n_params; p++)
        if (m->params[p].trainable) trainable[o->T++] = p;
    o->count = o->T * o->S;
    int *index = malloc(((size_t)o->count + 1) * sizeof *index);
    o->param = malloc(((size_t)o->count + 1) * sizeof *o->param);
    o->slot = malloc(((size_t)o->count + 1) * sizeof *o->slot);
    int rc = index && o->param && o->slot ? 0 : -1;
    if (!rc) nnc_keras_slot_order(&m->train->copts.optimizer, o->T, o->S, index);
    for (int t = 0; !rc && t < o->T; t++)
        for (int s = 0; s < o->S; s++) {
            o->param[index[t * o->S + s]] = trainable[t];
            o->slot[index[t * o->S + s]] = s;
        }
    free(index);
    free(trainable);
    return rc;
}

static void opt_order_free(opt_order *o) {
    free(o->param);
    free(o->slot);
}

/* The variables of Keras's optimizer: name ("iteration", "learning_rate", "<slot name>" of a
 * parameter, "u_product") and values; -1 past the last. */
typedef struct {
    const char *name;
    int param;              /* the parameter of a slot, else -1 */
    const float *data;      /* NULL: the iteration count */
} opt_var;

static int optimizer_var(const nnc_model *m, const opt_order *o, int i, opt_var *v, float *scalar) {
    const nnc_train_state *ts = m->train;
    const nnc_optimizer *opt = &ts->copts.optimizer;
    int lr = opt->schedule.kind == NNC_SCHEDULE_NONE;
    memset(v, 0, sizeof *v);
    v->param = -1;
    if (i == 0) {
        v->name = "iteration";
        return 0;
    }
    if (lr && i == 1) {
        *scalar = nnc_optimizer_learning_rate(opt, ts->iterations);
        v->name = "learning_rate";
        v->data = scalar;
        return 0;
    }
    int k = i - 1 - lr;
    if (k < o->count) {
        v->param = o->param[k];
        v->name = nnc_optimizer_slot_name(opt, o->slot[k]);
        v->data = ts->opt_slots + (size_t)o->slot[k] * m->n_trainable_floats + m->params[o->param[k]].offset;
        return 0;
    }
    if (opt->kind == NNC_OPT_NADAM && k == o->count) {
        *scalar = (float)nnc_nadam_u_product((double)opt->beta_1, ts->iterations);
        v->name = "u_product";
        v->data = scalar;
        return 0;
    }
    return -1;
}

static int write_opt_var(hid_t loc, const char *name, const nnc_model *m, const opt_var *v) {
    if (!v->data) return nnc_h5_write_int64(loc, name, m->train->iterations);
    if (v->param < 0) return nnc_h5_write_floats(loc, name, v->data, 0, NULL);
    const nnc_param_rec *p = &m->params[v->param];
    return nnc_h5_write_floats(loc, name, v->data, p->shape.rank, p->shape.dim);
}

/* ---- .keras ---------------------------------------------------------------------------------- */

/* Layer l's variables under layers/<group>: its own vars group (the layer's name as its
 * attribute), and each part's (a recurrent cell, Bidirectional's two layers) below it. */
static int layer_vars_v3(const nnc_model *m, hid_t f, int l, const char *group, int *params) {
    nnc_kw_part parts[NNC_KW_PARTS];
    int np = nnc_kw_parts(m, l, parts), nv = keras_vars(m, l, params), rc = 0;
    char path[400], ds[32];
    snprintf(path, sizeof path, "layers/%s/vars", group);
    hid_t g = nnc_h5_group(f, path);
    rc = g < 0 || nnc_h5_set_string(g, "name", m->layers[l].name, 1);
    for (int k = 0; !rc && k < np; k++) {
        const nnc_kw_part *P = &parts[k];
        if (P->v3[0]) {
            H5Gclose(g);
            snprintf(path, sizeof path, "layers/%.250s/%.60s/vars", group, P->v3);
            g = nnc_h5_group(f, path);
            const char *last = strrchr(P->v3, '/');
            rc = g < 0 || nnc_h5_set_string(g, "name", last ? last + 1 : P->v3, 1);
        }
        int at = 0, first = m->layers[l].first_param;
        for (int i = 0; !rc && i < nv; i++) {
            if (params[i] < first + P->first || params[i] >= first + P->first + P->count) continue;
            snprintf(ds, sizeof ds, "%d", at++);
            rc = write_param(g, ds, m, params[i]);
        }
    }
    if (g >= 0) H5Gclose(g);
    /* Keras saves every object a layer holds, variables or none: the layers between a
     * Bidirectional and its cells, and the unbuilt layer it was given (its "layer") */
    const int bi = !strcmp(nnc_layer_class(&m->layers[l]), "Bidirectional");
    const char *empty[4] = {bi ? "forward_layer" : NULL, bi ? "backward_layer" : NULL, bi ? "layer" : NULL,
                            bi ? "layer/cell" : NULL};
    for (int k = 0; !rc && k < 4 && empty[k]; k++) {
        snprintf(path, sizeof path, "layers/%.250s/%s/vars", group, empty[k]);
        hid_t e = nnc_h5_group(f, path);
        rc = e < 0;
        if (e >= 0) H5Gclose(e);
    }
    return rc;
}

static int weights_v3(const nnc_model *m, hid_t f, int with_opt) {
    nnc_strmap counts = {0};
    int *params = malloc(((size_t)m->n_params + 1) * sizeof *params), rc = params ? 0 : -1;
    char snake[256], group[300], ds[420];
    for (int l = 0; !rc && l < m->n_layers; l++) {
        if (!keras_layer(m, l)) continue;
        nnc_keras_snake_case(nnc_layer_class(&m->layers[l]), snake, sizeof snake);
        int *c = nnc_strmap_get(&counts, snake), k = c ? *c : 0;
        rc = nnc_strmap_put(&counts, snake, k + 1);
        if (k) snprintf(group, sizeof group, "%s_%d", snake, k);
        else snprintf(group, sizeof group, "%s", snake);
        rc = rc || layer_vars_v3(m, f, l, group, params);
    }
    hid_t g = rc ? -1 : nnc_h5_group(f, "vars");
    rc = rc || g < 0 || nnc_h5_set_string(g, "name", nnc_model_display_name(m), 1);
    if (g >= 0) H5Gclose(g);
    opt_order o;
    if (!rc && with_opt && !(rc = optimizer_order(m, &o))) {
        hid_t og = nnc_h5_group(f, "optimizer/vars");
        const nnc_optimizer_desc *d = nnc_optimizer_desc_of(m->train->copts.optimizer.kind);
        rc = og < 0 || nnc_h5_set_string(og, "name", d->name, 1);
        opt_var v;
        float scalar;
        for (int i = 0; !rc && optimizer_var(m, &o, i, &v, &scalar) == 0; i++) {
            snprintf(ds, sizeof ds, "%d", i);
            rc = write_opt_var(og, ds, m, &v);
        }
        if (og >= 0) H5Gclose(og);
        opt_order_free(&o);
    }
    free(params);
    nnc_strmap_free(&counts);
    return rc ? -1 : 0;
}

/* The input shape(s) Keras's build_config records: [null, d...], a list of them for several. */
static void input_shapes(const nnc_model *m, nnc_strbuf *sb) {
    if (m->n_inputs > 1) nnc_sb_puts(sb, "[");
    for (int i = 0; i < m->n_inputs; i++) {
        const nnc_shape *s = &m->nodes[m->inputs[i]].shape;
        nnc_sb_puts(sb, i ? ",[null" : "[null");
        for (int d = 0; d < s->rank; d++) nnc_sb_printf(sb, ",%d", s->dim[d]);
        nnc_sb_puts(sb, "]");
    }
    if (m->n_inputs > 1) nnc_sb_puts(sb, "]");
}

/* config.json: nnc's config with what serialize_keras_object adds around it. */
static void zip_config(const nnc_model *m, nnc_strbuf *sb) {
    nnc_config_json_keras(m, sb);
    if (!sb->buf || sb->oom) return;
    sb->buf[--sb->len] = '\0'; /* reopen the object */
    nnc_sb_puts(sb, ",\"registered_name\":null,\"build_config\":{\"input_shape\":");
    input_shapes(m, sb);
    const nnc_compile_opts *c = &m->train->copts; /* Model.get_compile_config's keys */
    nnc_sb_puts(sb, "},\"compile_config\":{\"optimizer\":");
    nnc_optimizer_config_json(&c->optimizer, sb);
    nnc_sb_puts(sb, ",");
    nnc_outputs_compile_json(c, sb, 1);
    nnc_sb_puts(sb, ",\"run_eagerly\":false,\"steps_per_execution\":1,\"jit_compile\":false}}");
}

/* metadata.json: the version whose layout this is, and the training data's columns when the
 * model records them (nnc's own key: Keras reads only keras_version). */
static void metadata(const nnc_model *m, nnc_strbuf *sb) {
    nnc_sb_puts(sb, "{\"keras_version\": \"" KERAS_VERSION "\"");
    if (m->n_columns) {
        nnc_strbuf cols = {0};
        nnc_columns_json(m, &cols);
        nnc_sb_puts(sb, ", \"nnc_columns\": ");
        nnc_sb_json_string(sb, cols.buf ? cols.buf : "");
        sb->oom |= cols.oom;
        nnc_sb_free(&cols);
    }
    nnc_sb_puts(sb, "}");
}

static void *keras_zip(const nnc_model *m, int with_opt, size_t *len, char *msg, size_t n) {
    nnc_strbuf cfg = {0}, meta = {0};
    zip_config(m, &cfg);
    metadata(m, &meta);
    size_t wlen = 0;
    void *weights = NULL, *zip = NULL;
    hid_t f = nnc_h5_create_image(msg, n);
    if (f >= 0 && weights_v3(m, f, with_opt)) nnc_msg(msg, n, "HDF5 cannot write the weights");
    else if (f >= 0) weights = nnc_h5_image(f, &wlen, msg, n);
    nnc_h5_close(f);
    if (cfg.oom || !cfg.buf || meta.oom || !meta.buf) nnc_msg(msg, n, "out of memory");
    else if (weights) {
        nnc_zip_member members[3] = {{"metadata.json", meta.buf, meta.len}, {"config.json", cfg.buf, cfg.len},
                                     {"model.weights.h5", weights, wlen}};
        zip = nnc_zip_write(members, 3, len, msg, n);
    }
    free(weights);
    nnc_sb_free(&cfg);
    nnc_sb_free(&meta);
    return zip;
}

/* ---- legacy .h5 ------------------------------------------------------------------------------ */

/* "<model>/<layer>/<var>", Keras 3's variable path, with the name scope of the object that
 * holds it between ("<model>/<layer>/lstm_cell/kernel"). */
static void var_path(const nnc_model *m, int p, char *out, size_t n) {
    const int l = m->params[p].layer;
    nnc_kw_part parts[NNC_KW_PARTS];
    int np = nnc_kw_parts(m, l, parts), k = 0;
    while (k + 1 < np && p - m->layers[l].first_param >= parts[k].first + parts[k].count) k++;
    snprintf(out, n, "%s/%s/%s%s%s", nnc_model_display_name(m), m->layers[l].name, parts[k].legacy,
             parts[k].legacy[0] ? "/" : "", nnc_kw_var_name(m, p));
}

static int legacy_layers(const nnc_model *m, hid_t mw) {
    int nl = 0, rc = 0, *params = malloc(((size_t)m->n_params + 1) * sizeof *params);
    const char **names = malloc(((size_t)m->n_layers + 1) * sizeof *names);
    char (*paths)[300] = calloc((size_t)m->n_params + 1, sizeof *paths);
    if (!params || !names || !paths) rc = -1;
    for (int l = 0; !rc && l < m->n_layers; l++)
        if (keras_layer(m, l)) names[nl++] = m->layers[l].name;
    rc = rc || nnc_h5_set_string_list(mw, "layer_names", names, nl) || nnc_h5_set_string(mw, "backend", "tensorflow", 0) ||
         nnc_h5_set_string(mw, "keras_version", KERAS_VERSION, 0);
    for (int l = 0; !rc && l < m->n_layers; l++) {
        if (!keras_layer(m, l)) continue;
        hid_t g = nnc_h5_group(mw, m->layers[l].name);
        int nv = keras_vars(m, l, params);
        const char *wn[NNC_MAX_INPUTS * 4];
        for (int i = 0; i < nv && i < NNC_MAX_INPUTS * 4; i++) {
            var_path(m, params[i], paths[params[i]], sizeof paths[0]);
            wn[i] = paths[params[i]];
        }
        rc = g < 0 || nv > NNC_MAX_INPUTS * 4 || nnc_h5_set_string_list(g, "weight_names", wn, nv);
        for (int i = 0; !rc && i < nv; i++) rc = write_param(g, wn[i], m, params[i]);
        if (g >= 0) H5Gclose(g);
    }
    hid_t top = rc ? -1 : nnc_h5_group(mw, "top_level_model_weights");
    rc = rc || top < 0 || nnc_h5_set_string_list(top, "weight_names", NULL, 0);
    if (top >= 0) H5Gclose(top);
    free(params);
    free(names);
    free(paths);
    return rc ? -1 : 0;
}

static int legacy_optimizer(const nnc_model *m, hid_t f) {
    opt_order o;
    if (optimizer_order(m, &o)) return -1;
    const char *oname = nnc_optimizer_desc_of(m->train->copts.optimizer.kind)->name;
    int count = 0, rc = 0;
    opt_var v;
    float scalar;
    while (optimizer_var(m, &o, count, &v, &scalar) == 0) count++;
    char (*names)[400] = calloc((size_t)count + 1, sizeof *names);
    const char **list = calloc((size_t)count + 1, sizeof *list);
    hid_t g = names && list ? nnc_h5_group(f, "optimizer_weights") : -1;
    rc = g < 0;
    for (int i = 0; !rc && i < count; i++) {
        optimizer_var(m, &o, i, &v, &scalar);
        if (v.param >= 0) { /* add_variable_from_reference: the variable's path, '/' as '_' */
            char vp[300];
            var_path(m, v.param, vp, sizeof vp);
            for (char *c = vp; *c; c++) *c = *c == '/' ? '_' : *c;
            snprintf(names[i], sizeof names[i], "%s/%s_%s", oname, vp, v.name);
        } else {
            snprintf(names[i], sizeof names[i], "%s/%s", oname, v.name);
        }
        list[i] = names[i];
        rc = write_opt_var(g, names[i], m, &v);
    }
    rc = rc || nnc_h5_set_string_list(g, "weight_names", list, count);
    if (g >= 0) H5Gclose(g);
    free(names);
    free(list);
    opt_order_free(&o);
    return rc ? -1 : 0;
}

/* training_config as Keras 3 writes it: the compile config with the optimizer as
 * optimizer_config. */
static void training_config(const nnc_model *m, nnc_strbuf *sb) {
    const nnc_compile_opts *c = &m->train->copts;
    nnc_sb_puts(sb, "{");
    nnc_outputs_compile_json(c, sb, 1);
    nnc_sb_puts(sb, ",\"run_eagerly\":false,\"steps_per_execution\":1,\"jit_compile\":false,"
                    "\"optimizer_config\":");
    nnc_optimizer_config_json(&c->optimizer, sb);
    nnc_sb_puts(sb, "}");
}

static void *keras_h5(const nnc_model *m, int with_opt, size_t *len, char *msg, size_t n) {
    nnc_strbuf cfg = {0}, train = {0}, cols = {0};
    nnc_config_json_keras(m, &cfg);
    training_config(m, &train);
    if (m->n_columns) nnc_columns_json(m, &cols); /* nnc's own attribute: Keras reads the others */
    void *bytes = NULL;
    hid_t f = cfg.oom || train.oom || cols.oom ? -1 : nnc_h5_create_image(msg, n);
    hid_t mw = f >= 0 ? nnc_h5_group(f, "model_weights") : -1;
    int rc = f < 0 || mw < 0 || (cols.buf && nnc_h5_set_string(f, "nnc_columns", cols.buf, 1)) ||
             nnc_h5_set_string(f, "keras_version", KERAS_VERSION, 1) ||
             nnc_h5_set_string(f, "backend", "tensorflow", 1) || nnc_h5_set_string(f, "model_config", cfg.buf, 0) ||
             nnc_h5_set_string(f, "training_config", train.buf, 0) || legacy_layers(m, mw) ||
             (with_opt && legacy_optimizer(m, f));
    if (mw >= 0) H5Gclose(mw);
    if (rc && f >= 0) nnc_msg(msg, n, "HDF5 cannot write the model");
    else if (!rc) bytes = nnc_h5_image(f, len, msg, n);
    if (cfg.oom || train.oom || cols.oom) nnc_msg(msg, n, "out of memory");
    nnc_h5_close(f);
    nnc_sb_free(&cfg);
    nnc_sb_free(&train);
    nnc_sb_free(&cols);
    return bytes;
}

nnc_status nnc_keras_save(nnc_model *m, const char *path, int legacy_h5, const nnc_save_opts *o) {
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "save: the model must be compiled first");
    int with_opt = o ? o->include_optimizer : 1;
    char msg[600] = "", err[700] = "";
    size_t len = 0;
    nnc_h5_quiet q;
    nnc_h5_quiet_begin(&q);
    void *bytes = legacy_h5 ? keras_h5(m, with_opt, &len, msg, sizeof msg) : keras_zip(m, with_opt, &len, msg, sizeof msg);
    nnc_h5_quiet_end(&q);
    if (!bytes) return nnc_fail(m, NNC_ERR_IO, "%s: %s", path, msg[0] ? msg : "cannot make the file");
    int rc = nnc_write_file_atomic(path, bytes, len, err, sizeof err);
    free(bytes);
    return rc ? nnc_fail(m, NNC_ERR_IO, "%s", err) : NNC_OK;
}
