/* model.summary() as Keras 3 prints it (box-drawn table, Output Shape with None for the batch,
 * Param # with thousands separators, totals in bytes), and access to variables by name. */
#include <string.h>
#include "train_impl.h"
#include "../format/json.h"

/* A layer's parameters, adding its non-trainable ones to *frozen. */
static size_t layer_params(const nnc_model *m, const nnc_layer_rec *l, size_t *frozen) {
    size_t np = 0;
    for (int p = l->first_param; p < l->first_param + l->n_params; p++) {
        np += m->params[p].size;
        if (!m->params[p].trainable) *frozen += m->params[p].size;
    }
    return np;
}

static void thousands(size_t v, char *buf, size_t n) {
    char raw[32];
    snprintf(raw, sizeof raw, "%zu", v);
    size_t len = strlen(raw), o = 0;
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
}

static void bytes_str(double b, char *buf, size_t n) {
    const char *u[] = {"B", "KB", "MB", "GB"};
    int i = 0;
    while (b >= 1024.0 && i < 3) b /= 1024.0, i++;
    snprintf(buf, n, "%.2f %s", b, u[i]);
}

/* Prints a horizontal rule of the table: left, fill, join, right as UTF-8 strings. */
static void rule(FILE *f, const int *w, int cols, const char *l, const char *fill, const char *j,
                 const char *r) {
    fputs(l, f);
    for (int c = 0; c < cols; c++) {
        for (int i = 0; i < w[c]; i++) fputs(fill, f);
        fputs(c + 1 < cols ? j : r, f);
    }
    fputc('\n', f);
}

/* A row: texts padded to the widths; the Param # column (index 2) is right-aligned. A cell
 * may hold several lines separated by '\n' (Keras lists each connection on its own line). */
static void row(FILE *f, const int *w, int cols, const char *sep, char **cells) {
    const char *at[4];
    for (int c = 0; c < cols; c++) at[c] = cells[c];
    for (int more = 1; more;) {
        more = 0;
        for (int c = 0; c < cols; c++) {
            const char *nl = at[c] ? strchr(at[c], '\n') : NULL;
            int len = at[c] ? (nl ? (int)(nl - at[c]) : (int)strlen(at[c])) : 0;
            fputs(sep, f);
            if (c == 2) fprintf(f, " %*.*s ", w[c] - 2, len, at[c] ? at[c] : "");
            else fprintf(f, " %-*.*s ", w[c] - 2, len, at[c] ? at[c] : "");
            at[c] = nl ? nl + 1 : NULL;
            more |= at[c] != NULL;
        }
        fputs(sep, f);
        fputc('\n', f);
    }
}

/* Keras's "(None, 200, 16)", with None for a time axis of any length too. */
static void shape_text(const nnc_model *m, int id, char *buf, size_t n) {
    nnc_shape_str(&m->nodes[id].shape, 1, buf, n);
    char *comma = strchr(buf, ',');
    if (!nnc_node_any_length(m, id) || !comma) return;
    char *end = strchr(comma + 1, ',');
    if (!end) end = strchr(comma + 1, ')');
    char rest[64];
    snprintf(rest, sizeof rest, "%s", end ? end : ")");
    snprintf(comma, n - (size_t)(comma - buf), ", None%s", rest);
}

/* The class a row shows: the input of a model with a TextVectorization is that layer. */
static const char *layer_class(const nnc_model *m, const nnc_layer_rec *l) {
    return l->n_inputs == 0 && m->text_vec ? "TextVectorization" : nnc_layer_class(l);
}

nnc_status nnc_summary(const nnc_model *m, FILE *f) {
    if (!m || !f) return NNC_ERR_ARG;
    if (m->sticky) return m->sticky;
    int seq = nnc_model_is_sequential(m), cols = seq ? 3 : 4;
    int w[4] = {33, 24, 15, 0};
    if (!seq) w[0] = 31, w[1] = 22, w[2] = 11, w[3] = 24;
    fprintf(f, "Model: \"%s\"\n", nnc_model_display_name(m));
    rule(f, w, cols, "\xe2\x94\x8f", "\xe2\x94\x81", "\xe2\x94\xb3", "\xe2\x94\x93");
    char *head[4] = {"Layer (type)", "Output Shape", "Param #", "Connected to"};
    row(f, w, cols, "\xe2\x94\x83", head);
    rule(f, w, cols, "\xe2\x94\xa1", "\xe2\x94\x81", "\xe2\x95\x87", "\xe2\x94\xa9");
    size_t total = 0, frozen = 0;
    int shown = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const nnc_layer_rec *l = &m->layers[i];
        /* Keras hides the input in Sequential; a TextVectorization, which stands for the text
         * input here (src/io/spec_text.c), is a layer there and shown */
        if (seq && l->n_inputs == 0 && !m->text_vec) continue;
        size_t np = layer_params(m, l, &frozen);
        total += np;
        char name[176], shape[64 * (1 + NNC_LAYER_MORE_OUTPUTS)], params[32], conn[160] = "-";
        /* A name too wide for its column wraps before the class, as Keras's table does. */
        char cls[80]; /* an int8 layer says so after its class */
        const char *prec = nnc_layer_precision(m, i);
        snprintf(cls, sizeof cls, "%s%s%s", layer_class(m, l), strcmp(prec, "float32") ? " " : "",
                 strcmp(prec, "float32") ? prec : "");
        int fits = (int)(strlen(l->name) + strlen(cls) + 3) <= w[0] - 2;
        snprintf(name, sizeof name, "%s%s(%s)", l->name, fits ? " " : "\n", cls);
        shape_text(m, l->output, shape + (l->n_more ? 1 : 0), sizeof shape - 1);
        for (int k = 0; k < l->n_more; k++) { /* several outputs (return_state): Keras's list */
            size_t at = strlen(shape);
            shape[0] = '[';
            snprintf(shape + at, sizeof shape - at, ",\n ");
            shape_text(m, l->more[k], shape + at + 3, sizeof shape - at - 3);
            if (k == l->n_more - 1) snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "]");
        }
        thousands(np, params, sizeof params);
        size_t cl = 0;
        for (int k = 0; k < l->n_inputs && cl < sizeof conn; k++) {
            const nnc_node_rec *src = &m->nodes[l->inputs[k]];
            const int t = nnc_node_tensor_index(m, l->inputs[k]);
            cl += (size_t)snprintf(conn + cl, sizeof conn - cl, "%s%s[0][%d]", k ? "\n" : "",
                                   src->layer >= 0 ? m->layers[src->layer].name : "?", t > 0 ? t : 0);
        }
        if (shown++)
            rule(f, w, cols, "\xe2\x94\x9c", "\xe2\x94\x80", "\xe2\x94\xbc", "\xe2\x94\xa4");
        char *cells[4] = {name, shape, params, conn};
        row(f, w, cols, "\xe2\x94\x82", cells);
    }
    rule(f, w, cols, "\xe2\x94\x94", "\xe2\x94\x80", "\xe2\x94\xb4", "\xe2\x94\x98");
    const size_t counts[3] = {total, total - frozen, frozen};
    const char *labels[3] = {"Total", "Trainable", "Non-trainable"};
    for (int i = 0; i < 3; i++) {
        char num[32], bytes[32];
        thousands(counts[i], num, sizeof num);
        bytes_str(4.0 * (double)counts[i], bytes, sizeof bytes);
        fprintf(f, " %s params: %s (%s)\n", labels[i], num, bytes);
    }
    if (nnc_model_int8_layers(m))
        fprintf(f, " Int8 layers: %d (kernels: %s; the rest run in float)\n", nnc_model_int8_layers(m),
                nnc_int8_kernel());
    if (nnc_model_bf16_layers(m))
        fprintf(f, " Bf16 layers: %d (kernels: avx512-bf16; the rest run in float)\n", nnc_model_bf16_layers(m));
    return NNC_OK;
}

nnc_status nnc_summary_json(const nnc_model *m, FILE *f) {
    if (!m || !f) return NNC_ERR_ARG;
    if (m->sticky) return m->sticky;
    nnc_strbuf sb = {0};
    size_t total = 0, frozen = 0;
    nnc_sb_puts(&sb, "{\"model\":");
    nnc_sb_json_string(&sb, nnc_model_display_name(m));
    nnc_sb_puts(&sb, ",\"layers\":[");
    for (int i = 0; i < m->n_layers; i++) {
        const nnc_layer_rec *l = &m->layers[i];
        const nnc_shape *s = &m->nodes[l->output].shape;
        size_t np = layer_params(m, l, &frozen);
        total += np;
        nnc_sb_puts(&sb, i ? ",{\"name\":" : "{\"name\":");
        nnc_sb_json_string(&sb, l->name);
        nnc_sb_puts(&sb, ",\"class\":");
        nnc_sb_json_string(&sb, layer_class(m, l));
        if (strcmp(nnc_layer_precision(m, i), "float32")) nnc_sb_printf(&sb, ",\"precision\":\"%s\"", nnc_layer_precision(m, i));
        nnc_sb_puts(&sb, ",\"output_shape\":[null");
        for (int k = 0; k < s->rank; k++)
            if (k == 0 && nnc_node_any_length(m, l->output)) nnc_sb_puts(&sb, ",null");
            else nnc_sb_printf(&sb, ",%d", s->dim[k]);
        nnc_sb_printf(&sb, "],\"params\":%zu,\"trainable\":%s,\"inputs\":[", np, l->frozen ? "false" : "true");
        for (int k = 0; k < l->n_inputs; k++) {
            const nnc_node_rec *src = &m->nodes[l->inputs[k]];
            if (k) nnc_sb_puts(&sb, ",");
            nnc_sb_json_string(&sb, src->layer >= 0 ? m->layers[src->layer].name : "?");
        }
        nnc_sb_puts(&sb, "]}");
    }
    nnc_sb_printf(&sb, "],\"total_params\":%zu,\"trainable_params\":%zu,\"non_trainable_params\":%zu}\n", total,
                  total - frozen, frozen);
    nnc_status st = sb.oom ? NNC_ERR_NOMEM : fputs(sb.buf, f) < 0 ? NNC_ERR_IO : NNC_OK;
    nnc_sb_free(&sb);
    return st;
}

int nnc_variable_count(const nnc_model *m) { return m ? m->n_params : 0; }

const char *nnc_variable_name(const nnc_model *m, int i) {
    return m && i >= 0 && i < m->n_params ? m->params[i].name : NULL;
}

int nnc_variable_shape(const nnc_model *m, int i, int shape[NNC_MAX_RANK]) {
    if (!m || i < 0 || i >= m->n_params) return -1;
    for (int k = 0; k < m->params[i].shape.rank; k++) shape[k] = m->params[i].shape.dim[k];
    return m->params[i].shape.rank;
}

static nnc_param_rec *find_var(nnc_model *m, const char *name, size_t n) {
    if (!m->compiled) {
        nnc_fail(m, NNC_ERR_STATE, "variables exist after compile");
        return NULL;
    }
    int i = nnc_find_param(m, name);
    if (i < 0) {
        nnc_fail(m, NNC_ERR_ARG, "no variable named '%s'", name);
        return NULL;
    }
    if (m->params[i].size != n) {
        nnc_fail(m, NNC_ERR_SHAPE, "variable '%s' has %zu values, not %zu", name, m->params[i].size, n);
        return NULL;
    }
    return &m->params[i];
}

nnc_status nnc_get_variable(nnc_model *m, const char *name, float *out, size_t n) {
    nnc_param_rec *p = m && name ? find_var(m, name, n) : NULL;
    if (!p) return m ? (m->compiled ? NNC_ERR_ARG : NNC_ERR_STATE) : NNC_ERR_ARG;
    memcpy(out, m->param_arena + p->offset, n * sizeof(float));
    return NNC_OK;
}

nnc_status nnc_set_variable(nnc_model *m, const char *name, const float *in, size_t n) {
    nnc_param_rec *p = m && name ? find_var(m, name, n) : NULL;
    if (!p) return m ? (m->compiled ? NNC_ERR_ARG : NNC_ERR_STATE) : NNC_ERR_ARG;
    memcpy(m->param_arena + p->offset, in, n * sizeof(float));
    return NNC_OK;
}
