/* The columns a model was trained on (nnc_model_set_columns): checked against the model,
 * copied into it, and kept in the model file's metadata as "columns" (docs/FORMAT.md), so that
 * a model saved by `nnc train` predicts from a file whose columns come in another order and
 * answers with class names. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include "columns.h"
#include "../format/message.h"
#include "../format/strmap.h"

#define NAME_MAX_BYTES 1024

static int blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return 0;
    return 1;
}

/* The values of one column: present, non-empty, distinct, within the cap. */
static nnc_status check_values(nnc_model *m, const nnc_column *c, size_t i) {
    const int target = c->role == NNC_COLUMN_TARGET;
    const size_t cap = target ? NNC_MAX_CLASS_NAMES : NNC_MAX_ONE_HOT;
    const char *what = target ? "class names" : "one-hot categories";
    if (c->n_values > cap)
        return nnc_fail(m, NNC_ERR_ARG, "columns: column %zu ('%.40s') has %zu %s, more than %zu", i + 1, c->name,
                        c->n_values, what, cap);
    if (c->n_values && !c->values) return nnc_fail(m, NNC_ERR_ARG, "columns: column %zu: values missing", i + 1);
    nnc_strmap seen = {0};
    nnc_status st = NNC_OK;
    for (size_t v = 0; v < c->n_values && !st; v++) {
        const char *s = c->values[v];
        if (!s || blank(s) || strlen(s) > NAME_MAX_BYTES)
            st = nnc_fail(m, NNC_ERR_ARG, "columns: column %zu ('%.40s'): %s %zu is %s", i + 1, c->name, what, v + 1,
                          !s ? "missing" : blank(s) ? "empty" : "over 1024 bytes");
        else if (nnc_strmap_get(&seen, s))
            st = nnc_fail(m, NNC_ERR_ARG, "columns: column %zu ('%.40s'): '%.40s' is given twice", i + 1, c->name, s);
        else if (nnc_strmap_put(&seen, s, 1))
            st = nnc_fail(m, NNC_ERR_NOMEM, "columns: out of memory");
    }
    nnc_strmap_free(&seen);
    return st;
}

/* Everything nnc_model_set_columns promises to check. */
static nnc_status check_columns(nnc_model *m, const nnc_column *cols, size_t n) {
    size_t inputs = 0, targets = 0, features = 0;
    nnc_strmap names = {0};
    nnc_status st = NNC_OK;
    for (size_t i = 0; i < n && !st; i++) {
        const nnc_column *c = &cols[i];
        if (!c->name || strlen(c->name) > NAME_MAX_BYTES)
            st = nnc_fail(m, NNC_ERR_ARG, "columns: column %zu has %s", i + 1, c->name ? "a name over 1024 bytes" : "no name");
        else if (c->role != NNC_COLUMN_FEATURE && c->role != NNC_COLUMN_TARGET)
            st = nnc_fail(m, NNC_ERR_ARG, "columns: column %zu ('%.40s') is neither a feature nor a target", i + 1, c->name);
        else if (c->name[0] && nnc_strmap_get(&names, c->name))
            st = nnc_fail(m, NNC_ERR_ARG, "columns: two columns are named '%.40s'", c->name);
        else if (c->name[0] && nnc_strmap_put(&names, c->name, 1))
            st = nnc_fail(m, NNC_ERR_NOMEM, "columns: out of memory");
        else
            st = check_values(m, c, i);
        if (st) break;
        /* a model with a TextVectorization reads one column of text, which makes its whole input */
        if (c->role == NNC_COLUMN_FEATURE) inputs += m->text_vec ? nnc_input_size(m) : c->values ? c->n_values : 1;
        else targets++;
        features += c->role == NNC_COLUMN_FEATURE;
    }
    nnc_strmap_free(&names);
    if (st) return st;
    for (size_t i = 0; m->text_vec && i < n; i++)
        if (features != 1 || (cols[i].role == NNC_COLUMN_FEATURE && cols[i].values))
            return nnc_fail(m, NNC_ERR_ARG, "columns: a model with a TextVectorization reads one column of text, "
                            "not %zu feature column(s)%s", features, features == 1 ? " of categories" : "");
    /* a None time axis: whole steps, of the length the training data had */
    const size_t per = nnc_model_step_values(m);
    if ((per ? inputs == 0 || inputs % per : inputs != nnc_input_size(m)) || targets != nnc_target_size(m))
        return nnc_fail(m, NNC_ERR_ARG, "columns: they make %zu inputs and %zu targets, but the model takes %zu inputs "
                        "and %zu targets", inputs, targets, nnc_input_size(m), nnc_target_size(m));
    for (size_t i = 0, ti = 0; i < n; i++) {
        const nnc_column *c = &cols[i];
        if (c->role != NNC_COLUMN_TARGET) continue;
        int h = 0; /* the output this target column belongs to */
        for (size_t t0 = nnc_target_size_at(m, 0); h + 1 < nnc_model_n_outputs(m) && ti >= t0;)
            t0 += nnc_target_size_at(m, ++h);
        ti++;
        const size_t out = nnc_output_size_at(m, h);
        size_t most = nnc_target_size_at(m, h) == 1 && out > 1 ? out : 2; /* sparse classes, else binary */
        if (c->values && c->n_values > most)
            return nnc_fail(m, NNC_ERR_ARG, "columns: target '%.40s' has %zu class names, but the output layer tells "
                            "%zu classes apart", c->name, c->n_values, most);
    }
    return NNC_OK;
}

static char *dup_or_null(const char *s, int *oom) {
    char *d = strdup(s);
    if (!d) *oom = 1;
    return d;
}

nnc_status nnc_model_set_columns(nnc_model *m, const nnc_column *cols, size_t n) {
    if (!m || (n && !cols)) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "columns: the model must be compiled first");
    nnc_status st = n ? check_columns(m, cols, n) : NNC_OK;
    if (st) return st;
    nnc_column *copy = n ? calloc(n, sizeof *copy) : NULL;
    int oom = n && !copy;
    for (size_t i = 0; i < n && !oom; i++) {
        copy[i].role = cols[i].role;
        copy[i].name = dup_or_null(cols[i].name, &oom);
        if (!cols[i].values) continue;
        const char **v = calloc(cols[i].n_values ? cols[i].n_values : 1, sizeof *v);
        copy[i].values = v;
        oom |= !v;
        copy[i].n_values = v ? cols[i].n_values : 0; /* NULL entries free as nothing */
        for (size_t j = 0; j < copy[i].n_values && !oom; j++) v[j] = dup_or_null(cols[i].values[j], &oom);
    }
    nnc_columns_clear(m);
    m->columns = copy;
    m->n_columns = n;
    if (oom) {
        nnc_columns_clear(m);
        return nnc_fail(m, NNC_ERR_NOMEM, "columns: out of memory");
    }
    return NNC_OK;
}

const nnc_column *nnc_model_columns(const nnc_model *m, size_t *n) {
    if (n) *n = m ? m->n_columns : 0;
    return m && m->n_columns ? m->columns : NULL;
}

void nnc_columns_json(const nnc_model *m, nnc_strbuf *sb) {
    nnc_sb_puts(sb, "[");
    for (size_t i = 0; i < m->n_columns; i++) {
        const nnc_column *c = &m->columns[i];
        nnc_sb_puts(sb, i ? ",{\"name\":" : "{\"name\":");
        nnc_sb_json_string(sb, c->name);
        nnc_sb_puts(sb, c->role == NNC_COLUMN_TARGET ? ",\"role\":\"target\"" : ",\"role\":\"feature\"");
        if (c->values) {
            nnc_sb_puts(sb, c->role == NNC_COLUMN_TARGET ? ",\"classes\":[" : ",\"one_hot\":[");
            for (size_t v = 0; v < c->n_values; v++) {
                if (v) nnc_sb_puts(sb, ",");
                nnc_sb_json_string(sb, c->values[v]);
            }
            nnc_sb_puts(sb, "]");
        }
        nnc_sb_puts(sb, "}");
    }
    nnc_sb_puts(sb, "]");
}

/* One column of the JSON into c (strings borrowed from the DOM). */
static int column_from_json(const nnc_json *j, nnc_column *c, const char ***vals, char *err, size_t n) {
    const char *name = nnc_json_get_string(j, "name"), *role = nnc_json_get_string(j, "role");
    if (!name || !role || (strcmp(role, "feature") && strcmp(role, "target")))
        return nnc_msg(err, n, "a column without a name, or with a role other than feature or target");
    c->name = name;
    c->role = strcmp(role, "target") ? NNC_COLUMN_FEATURE : NNC_COLUMN_TARGET;
    const nnc_json *v = nnc_json_get(j, c->role == NNC_COLUMN_TARGET ? "classes" : "one_hot");
    if (!v) return 0;
    if (v->type != NNC_JSON_ARRAY) return nnc_msg(err, n, "column '%.40s': its values are not a list", name);
    if (v->count > NNC_MAX_CLASS_NAMES) return nnc_msg(err, n, "column '%.40s': too many values", name);
    if (!(*vals = calloc(v->count ? v->count : 1, sizeof **vals))) return nnc_msg(err, n, "out of memory");
    for (size_t i = 0; i < v->count; i++) {
        if (v->items[i]->type != NNC_JSON_STRING) return nnc_msg(err, n, "column '%.40s': a value is not a string", name);
        (*vals)[i] = v->items[i]->string;
    }
    c->values = *vals;
    c->n_values = v->count;
    return 0;
}

nnc_status nnc_columns_from_json(nnc_model *m, const char *text, char *err, size_t n) {
    char msg[256];
    nnc_json *j = nnc_json_parse(text, strlen(text), msg, sizeof msg);
    if (!j) return nnc_msg(err, n, "metadata \"columns\" is not valid JSON: %s", msg), NNC_ERR_FORMAT;
    nnc_status st = NNC_OK;
    nnc_column *cols = NULL;
    const char ***vals = NULL;
    if (j->type != NNC_JSON_ARRAY || !j->count || j->count > (1u << 24)) {
        st = NNC_ERR_FORMAT;
        nnc_msg(err, n, "metadata \"columns\" is not a list of columns");
    } else if (!(cols = calloc(j->count, sizeof *cols)) || !(vals = calloc(j->count, sizeof *vals))) {
        st = NNC_ERR_NOMEM;
        nnc_msg(err, n, "out of memory");
    }
    for (size_t i = 0; !st && i < j->count; i++)
        if (column_from_json(j->items[i], &cols[i], &vals[i], msg, sizeof msg)) {
            st = NNC_ERR_FORMAT;
            nnc_msg(err, n, "metadata \"columns\": %s", msg);
        }
    if (!st && nnc_model_set_columns(m, cols, j->count)) {
        st = NNC_ERR_FORMAT;
        const char *why = nnc_last_error(m);
        nnc_msg(err, n, "metadata \"columns\" do not fit the model: %s", why + (strncmp(why, "columns: ", 9) ? 0 : 9));
    }
    for (size_t i = 0; vals && i < j->count; i++) free(vals[i]);
    free(vals);
    free(cols);
    nnc_json_free(j);
    return st;
}
