/* A Keras weights file into a compiled model (keras_read.h). The file's variables are found by
 * layer, checked against nnc's (present, float32, the same shape) into a staging copy, and
 * only then copied in, so that a failed read changes nothing.
 *   1. legacy (HDF5 from model.save("x.h5") or save_weights): the layer group's weight_names
 *      give its datasets in order ("dense/kernel:0" in Keras 2, "sequential/dense/kernel" in
 *      Keras 3); each is matched to nnc's variable by its last component ("kernel"), or by
 *      position when no name matches.
 *   2. v3 (.keras, .weights.h5): layers/<class_snake>[_N]/vars/<i>, N counting the layers of
 *      each class in model order, i over the trainable variables then the others; a zip
 *      written on Windows names the group "layers\<name>" (one name with a backslash), Keras
 *      2.13 "_layer_checkpoint_dependencies/<name>". The objects a layer holds have groups of
 *      their own below its group (nnc_kw_parts): layers/lstm/cell/vars/<i>,
 *      layers/bidirectional/forward_layer/cell/vars/<i>, layers/time_distributed/layer/vars/<i>.
 * The optimizer's state is keras_optstate.c's. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "keras_read.h"
#include "keras_optstate.h"
#include "../format/message.h"
#include "../layers/layers.h"

void nnc_keras_snake_case(const char *cls, char *out, size_t n) {
    char a[256], b[512];
    size_t k = 0, j = 0;
    for (size_t i = 0; cls[i] && k + 1 < sizeof a; i++) /* re.sub(r"\W+", "", name) */
        if (isalnum((unsigned char)cls[i]) || cls[i] == '_') a[k++] = cls[i];
    a[k] = '\0';
    for (size_t i = 0; i < k && j + 3 < sizeof b;) { /* re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name) */
        if (i + 2 < k + 1 && isupper((unsigned char)a[i + 1]) && islower((unsigned char)a[i + 2])) {
            b[j++] = a[i++];
            b[j++] = '_';
            b[j++] = a[i++];
            while (i < k && islower((unsigned char)a[i]) && j + 1 < sizeof b) b[j++] = a[i++];
        } else {
            b[j++] = a[i++];
        }
    }
    b[j] = '\0';
    size_t o = 0;
    for (size_t i = 0; b[i] && o + 2 < n; i++) { /* re.sub("([a-z])([A-Z])", r"\1_\2", name).lower() */
        out[o++] = (char)tolower((unsigned char)b[i]);
        if (islower((unsigned char)b[i]) && isupper((unsigned char)b[i + 1])) {
            out[o++] = '_';
            out[o++] = (char)tolower((unsigned char)b[++i]);
        }
    }
    if (n) out[o < n ? o : n - 1] = '\0';
}

/* ---- what a layer holds ----------------------------------------------------------------------- */

/* The recurrent class whose cell holds variables vars[0..n) (kernel, recurrent_kernel[, bias]):
 * told by the recurrent kernel's columns, 1, 3 or 4 times its rows (SimpleRNN, GRU, LSTM); NULL
 * when they are not a recurrent layer's. */
static const char *recurrent_class(const nnc_model *m, int first, int n) {
    for (int p = first; p < first + n; p++) {
        const nnc_param_rec *pr = &m->params[p];
        if (strcmp(nnc_kw_var_name(m, p), "recurrent_kernel") || pr->shape.rank != 2 || pr->shape.dim[0] <= 0) continue;
        int k = pr->shape.dim[1] / pr->shape.dim[0];
        return k == 1 ? "SimpleRNN" : k == 3 ? "GRU" : k == 4 ? "LSTM" : NULL;
    }
    return NULL;
}

const char *nnc_kw_var_name(const nnc_model *m, int p) {
    static const char *const prefixes[] = {"forward_", "backward_", "forward.", "backward."};
    const char *v = m->params[p].var;
    for (int i = 0; i < 4; i++)
        if (!strncmp(v, prefixes[i], strlen(prefixes[i]))) return v + strlen(prefixes[i]);
    return v;
}

/* A recurrent class's cell, as Keras names it ("lstm_cell"). */
static void cell_name(const char *cls, char *out, size_t n) {
    char snake[64];
    nnc_keras_snake_case(cls, snake, sizeof snake);
    snprintf(out, n, "%s_cell", snake);
}

int nnc_kw_parts(const nnc_model *m, int l, nnc_kw_part parts[NNC_KW_PARTS]) {
    const nnc_layer_rec *L = &m->layers[l];
    const char *cls = nnc_layer_class(L);
    char cell[80], snake[64];
    memset(parts, 0, NNC_KW_PARTS * sizeof *parts);
    parts[0].count = L->n_params;
    if (!strcmp(cls, "SimpleRNN") || !strcmp(cls, "LSTM") || !strcmp(cls, "GRU")) {
        cell_name(cls, cell, sizeof cell);
        snprintf(parts[0].v3, sizeof parts[0].v3, "cell");
        snprintf(parts[0].legacy, sizeof parts[0].legacy, "%s", cell);
        return 1;
    }
    if (!strcmp(cls, "Bidirectional") && L->n_params % 2 == 0) {
        const char *inner = recurrent_class(m, L->first_param, L->n_params / 2);
        nnc_keras_snake_case(inner ? inner : "RNN", snake, sizeof snake);
        cell_name(inner ? inner : "RNN", cell, sizeof cell);
        for (int k = 0; k < 2; k++) {
            const char *dir = k ? "backward" : "forward";
            snprintf(parts[k].v3, sizeof parts[k].v3, "%s_layer/cell", dir);
            snprintf(parts[k].legacy, sizeof parts[k].legacy, "%s_%.40s/%.60s", dir, snake, cell);
            parts[k].first = k * L->n_params / 2;
            parts[k].count = L->n_params / 2;
        }
        return 2;
    }
    if (!strcmp(cls, "MultiHeadAttention")) { /* "query/kernel", "query/bias", "key/kernel", ... */
        static const char *const sub[][2] = {
            {"query", "query_dense"}, {"key", "key_dense"}, {"value", "value_dense"}, {"attention_output", "output_dense"}};
        int np = 0;
        for (int p = 0; p < L->n_params; np++) {
            const char *v = m->params[L->first_param + p].var;
            const size_t len = strcspn(v, "/");
            int k = 0;
            while (k < 4 && (strlen(sub[k][0]) != len || strncmp(v, sub[k][0], len))) k++;
            if (k == 4 || np == NNC_KW_PARTS) { /* not Keras's layout: the layer's own group */
                memset(parts, 0, NNC_KW_PARTS * sizeof *parts);
                parts[0].count = L->n_params;
                return 1;
            }
            snprintf(parts[np].v3, sizeof parts[np].v3, "%s", sub[k][1]);
            parts[np].first = p;
            parts[np].count = 0;
            while (p < L->n_params && !strncmp(m->params[L->first_param + p].var, v, len + 1)) p++, parts[np].count++;
        }
        return np ? np : 1;
    }
    if (!strcmp(cls, "TimeDistributed")) {
        const char *inner = recurrent_class(m, L->first_param, L->n_params);
        if (inner) cell_name(inner, cell, sizeof cell);
        nnc_keras_snake_case(inner ? inner : "Dense", snake, sizeof snake);
        snprintf(parts[0].v3, sizeof parts[0].v3, inner ? "layer/cell" : "layer");
        snprintf(parts[0].legacy, sizeof parts[0].legacy, "%.60s%s%.60s", snake, inner ? "/" : "", inner ? cell : "");
    }
    return 1;
}

int nnc_kw_open(nnc_kw_file *f, char *msg, size_t n) {
    f->root = H5I_INVALID_HID;
    if (nnc_h5_exists(f->file, "model_weights")) {
        f->layout = NNC_KW_LEGACY;
        f->root = H5Gopen2(f->file, "model_weights", H5P_DEFAULT);
    } else if (H5Aexists(f->file, "layer_names") > 0 || H5Aexists(f->file, "layer_names0") > 0) {
        f->layout = NNC_KW_LEGACY; /* save_weights("x.h5") */
        f->root = H5Gopen2(f->file, "/", H5P_DEFAULT);
    } else {
        f->layout = NNC_KW_V3;
        f->root = H5Gopen2(f->file, "/", H5P_DEFAULT);
    }
    if (f->root < 0)
        return nnc_msg(msg, n, "%s%s%s: its weights cannot be opened", f->path, f->member ? ": " : "",
                       f->member ? f->member : "");
    return 0;
}

void nnc_kw_close(nnc_kw_file *f) {
    if (f->root >= 0) H5Gclose(f->root);
    f->root = H5I_INVALID_HID;
}

/* "dense/kernel:0" -> "kernel" */
static void last_component(const char *w, char *out, size_t n) {
    const char *s = strrchr(w, '/');
    snprintf(out, n, "%s", s ? s + 1 : w);
    char *colon = strrchr(out, ':');
    if (colon) *colon = '\0';
}

/* ---- where each variable is ------------------------------------------------------------------ */

/* The datasets of one nnc layer in a legacy file: its group's weight_names matched to its
 * variables (ds[p]: the dataset path from f->root; var[p]: Keras's variable path). */
static int bind_legacy_layer(nnc_model *m, const nnc_kw_file *f, int l, const char *group, char (*ds)[512],
                             char (*var)[300], char *msg, size_t n) {
    const nnc_layer_rec *L = &m->layers[l];
    char **w = NULL;
    if (!nnc_h5_exists(f->root, group))
        return nnc_msg(msg, n, "%s: the file has no weights for layer '%s' (%s): no group '%s'", f->path, L->name,
                       nnc_layer_class(L), group);
    hid_t g = H5Gopen2(f->root, group, H5P_DEFAULT);
    int nw = g >= 0 ? nnc_h5_attr_strings(g, "weight_names", &w, msg, n) : -1;
    if (g >= 0) H5Gclose(g);
    if (nw < 0) return nnc_msg(msg, n, "%s: group '%s': weight_names is unreadable", f->path, group);
    int rc = 0, matched = 0, *used = calloc((size_t)nw + 1, sizeof *used);
    if (!used) rc = nnc_msg(msg, n, "%s: out of memory", f->path);
    for (int p = 0; !rc && p < L->n_params; p++) {
        char base[300];
        for (int k = 0; k < nw && !ds[p][0]; k++) {
            last_component(w[k], base, sizeof base);
            if (!used[k] && !strcmp(base, nnc_kw_var_name(m, L->first_param + p))) {
                used[k] = 1, matched++;
                snprintf(ds[p], 512, "%s/%s", group, w[k]);
                snprintf(var[p], 300, "%.*s", (int)strcspn(w[k], ":"), w[k]);
            }
        }
    }
    if (!rc && matched == 0 && nw == L->n_params && nw > 0) { /* names of another kind: by position */
        for (int p = 0; p < nw; p++) {
            snprintf(ds[p], 512, "%s/%s", group, w[p]);
            snprintf(var[p], 300, "%.*s", (int)strcspn(w[p], ":"), w[p]);
        }
        matched = nw;
        nnc_note(m, "layer '%s': the file's weight names (%s, ...) are not nnc's; they are taken in order", L->name, w[0]);
    }
    if (!rc && (matched != L->n_params || nw != L->n_params)) {
        nnc_strbuf have = {0};
        for (int k = 0; k < nw; k++) nnc_sb_printf(&have, "%s'%s'", k ? ", " : "", w[k]);
        rc = nnc_msg(msg, n, "%s: layer '%s' (%s) has %d variables; the file's group '%s' holds %d that do not match "
                     "them (weight_names: %s)", f->path, L->name, nnc_layer_class(L), L->n_params, group, nw,
                     have.buf ? have.buf : "none");
        nnc_sb_free(&have);
    }
    free(used);
    nnc_h5_free_strings(w, nw);
    return rc;
}

/* True when every component of path exists under loc. */
static int path_exists(hid_t loc, const char *path) {
    char part[600];
    for (const char *s = path; (s = strchr(s, '/')); s++) {
        snprintf(part, sizeof part, "%.*s", (int)(s - path), path);
        if (!nnc_h5_exists(loc, part)) return 0;
    }
    return nnc_h5_exists(loc, path);
}

/* The vars group of a v3 layer group name ("dense_1") and a part's path below it ("cell"), by
 * the names Keras versions write; a zip written on Windows joins the path with backslashes
 * into one name ("layers\\lstm\\cell/vars"). */
static int find_vars(hid_t root, const char *name, const char *sub, char *out, size_t n) {
    const char *forms[3] = {"layers/%.280s%s%.60s/vars", "layers\\%.280s%s%.60s/vars",
                            "_layer_checkpoint_dependencies/%.280s%s%.60s/vars"};
    char back[64];
    snprintf(back, sizeof back, "%.60s", sub);
    for (char *c = back; *c; c++) *c = *c == '/' ? '\\' : *c;
    for (int i = 0; i < 3; i++) {
        snprintf(out, n, forms[i], name, *sub ? (i == 1 ? "\\" : "/") : "", i == 1 ? back : sub);
        if (path_exists(root, out)) return 0;
    }
    snprintf(out, n, "layers/%.280s%s%.60s/vars", name, *sub ? "/" : "", sub);
    return -1;
}

static int bind_v3_layer(nnc_model *m, const nnc_kw_file *f, int l, const char *group, char (*ds)[512],
                         char *msg, size_t n) {
    const nnc_layer_rec *L = &m->layers[l];
    nnc_kw_part parts[NNC_KW_PARTS];
    int np = nnc_kw_parts(m, l, parts);
    for (int k = 0; k < np; k++) {
        char vars[400];
        const nnc_kw_part *P = &parts[k];
        if (find_vars(f->root, group, P->v3, vars, sizeof vars))
            return nnc_msg(msg, n, "%s%s%s: no group '%s' for layer '%s' (%s)", f->path, f->member ? ": " : "",
                           f->member ? f->member : "", vars, L->name, nnc_layer_class(L));
        H5G_info_t gi;
        hid_t g = H5Gopen2(f->root, vars, H5P_DEFAULT);
        int ok = g >= 0 && H5Gget_info(g, &gi) >= 0;
        if (g >= 0) H5Gclose(g);
        if (!ok || gi.nlinks != (hsize_t)P->count)
            return nnc_msg(msg, n, "%s%s%s: group '%s' holds %llu variables; layer '%s' (%s) has %d there", f->path,
                           f->member ? ": " : "", f->member ? f->member : "", vars,
                           ok ? (unsigned long long)gi.nlinks : 0ULL, L->name, nnc_layer_class(L), P->count);
        /* Keras's save_own_variables: the weights (trainable=True variables, a frozen layer's too),
         * then the state, each in order */
        int i = 0;
        for (int state = 0; state <= 1; state++)
            for (int p = P->first; p < P->first + P->count; p++)
                if (m->params[L->first_param + p].state == state) snprintf(ds[p], 512, "%s/%d", vars, i++);
    }
    return 0;
}

/* The Keras layer name (legacy group) or v3 group name of each nnc layer with variables. */
static int group_names(nnc_model *m, const nnc_kw_file *f, const nnc_config_layer *cl, int ncl, char (*names)[300],
                       char *msg, size_t n) {
    nnc_strmap counts = {0};
    int rc = 0;
    if (cl && f->layout == NNC_KW_LEGACY) {
        for (int i = 0; i < ncl; i++)
            if (cl[i].layer >= 0) snprintf(names[cl[i].layer], 300, "%s", cl[i].keras_name);
    } else if (f->layout == NNC_KW_V3) {
        int nl = cl ? ncl : m->n_layers;
        for (int i = 0; i < nl && !rc; i++) {
            char snake[256];
            nnc_keras_snake_case(cl ? cl[i].class_name : nnc_layer_class(&m->layers[i]), snake, sizeof snake);
            int *c = nnc_strmap_get(&counts, snake), k = c ? *c : 0, l = cl ? cl[i].layer : i;
            if (nnc_strmap_put(&counts, snake, k + 1)) rc = nnc_msg(msg, n, "%s: out of memory", f->path);
            if (l < 0) continue;
            if (k) snprintf(names[l], 300, "%s_%d", snake, k);
            else snprintf(names[l], 300, "%s", snake);
        }
    } else { /* load_weights on a legacy file: in order among the layers with weights */
        char **ln = NULL;
        int nln = nnc_h5_attr_strings(f->root, "layer_names", &ln, msg, n), k = 0, have = 0;
        for (int i = 0; i < nln; i++) {
            hid_t g = nnc_h5_exists(f->root, ln[i]) ? H5Gopen2(f->root, ln[i], H5P_DEFAULT) : -1;
            char **w = NULL;
            int nw = g >= 0 ? nnc_h5_attr_strings(g, "weight_names", &w, msg, n) : 0;
            if (g >= 0) H5Gclose(g);
            nnc_h5_free_strings(w, nw);
            if (nw <= 0) continue;
            have++;
            while (k < m->n_layers && m->layers[k].n_params == 0) k++;
            if (k < m->n_layers) snprintf(names[k++], 300, "%s", ln[i]);
        }
        int want = 0;
        for (int i = 0; i < m->n_layers; i++) want += m->layers[i].n_params > 0;
        if (nln < 0) rc = nnc_msg(msg, n, "%s: layer_names is unreadable", f->path);
        else if (have != want)
            rc = nnc_msg(msg, n, "%s: the file has weights for %d layers, the model %d layers with weights", f->path,
                         have, want);
        nnc_h5_free_strings(ln, nln);
    }
    nnc_strmap_free(&counts);
    return rc;
}

/* ---- reading --------------------------------------------------------------------------------- */

/* Checks dataset ds against variable p and reads it into stage (at the variable's offset). */
static int read_variable(nnc_model *m, const nnc_kw_file *f, const nnc_param_rec *p, const char *ds, float *stage,
                         char *msg, size_t n) {
    nnc_h5_dataset_info info;
    char why[600];
    const char *in = f->member ? f->member : "", *sep = f->member ? ": " : "";
    if (nnc_h5_dataset_info_of(f->root, ds, &info, why, sizeof why))
        return nnc_msg(msg, n, "%s%s%s: %s (variable '%s')", f->path, sep, in, why, p->name);
    if (!info.is_float32 && !(info.is_integer && !strcmp(p->var, "count")))
        return nnc_msg(msg, n, "%s%s%s: dataset '%s' holds %s, not float32 as nnc's variable '%s' (a wrong dtype)",
                       f->path, sep, in, info.path, info.is_integer ? "integers" : "another type", p->name);
    int same = info.rank == p->shape.rank;
    for (int d = 0; same && d < info.rank; d++) same = info.dims[d] == (hsize_t)p->shape.dim[d];
    if (!same) {
        char got[96] = "[", want[96] = "[";
        for (int d = 0; d < info.rank; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", d ? ", " : "", (unsigned long long)info.dims[d]);
        for (int d = 0; d < p->shape.rank; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", d ? ", " : "", p->shape.dim[d]);
        return nnc_msg(msg, n, "%s%s%s: dataset '%s' has shape %s], the model's '%s' needs %s] (the weights do not "
                       "fit the config)", f->path, sep, in, info.path, got, p->name, want);
    }
    float *at = stage + p->offset;
    if (nnc_h5_read_floats(f->root, ds, at, p->size, why, sizeof why))
        return nnc_msg(msg, n, "%s%s%s: %s", f->path, sep, in, why);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < p->size; i++)
        if (!isfinite(at[i]) && !bad++) first = i;
    if (bad)
        nnc_note(m, "variable '%s' holds %zu NaN or infinite values (the first at index %zu): what flows through "
                 "it will not be finite", p->name, bad, first);
    return 0;
}

int nnc_kw_read(nnc_model *m, const nnc_kw_file *f, const nnc_config_layer *cl, int ncl, int with_optimizer,
                char *msg, size_t n) {
    char (*names)[300] = calloc((size_t)m->n_layers + 1, sizeof *names);
    char (*ds)[512] = calloc((size_t)m->n_params + 1, sizeof *ds);
    char (*var)[300] = calloc((size_t)m->n_params + 1, sizeof *var);
    float *stage = malloc((m->n_param_floats + 1) * sizeof *stage);
    int rc = !names || !ds || !var || !stage ? nnc_msg(msg, n, "%s: out of memory", f->path) : 0;
    if (!rc) rc = group_names(m, f, cl, ncl, names, msg, n);
    for (int l = 0; !rc && l < m->n_layers; l++) {
        const nnc_layer_rec *L = &m->layers[l];
        if (!L->n_params) continue;
        if (!names[l][0]) {
            rc = nnc_msg(msg, n, "%s: layer '%s' is not in the file's config", f->path, L->name);
            break;
        }
        rc = f->layout == NNC_KW_LEGACY
                 ? bind_legacy_layer(m, f, l, names[l], ds + L->first_param, var + L->first_param, msg, n)
                 : bind_v3_layer(m, f, l, names[l], ds + L->first_param, msg, n);
    }
    int notes = m->n_notes;
    for (int p = 0; !rc && p < m->n_params; p++) rc = read_variable(m, f, &m->params[p], ds[p], stage, msg, n);
    if (!rc) {
        memcpy(m->param_arena, stage, m->n_param_floats * sizeof *stage);
        m->weights_loaded = 1;
        if (with_optimizer) nnc_kw_read_optimizer(m, f, (const char (*)[300])var);
    } else {
        while (m->n_notes > notes) free(m->notes[--m->n_notes]); /* a failed read leaves no notes */
    }
    free(names);
    free(ds);
    free(var);
    free(stage);
    return rc;
}
