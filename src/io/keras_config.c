/* Keras 3's configs through the descriptors (keras_config.h). A layer is written as
 *   {"module":"keras.layers","class_name":C,"config":{"name":N,"trainable":true,
 *    "dtype":"float32", <its option rows in order>}}
 * with, in a Functional model, its name and inbound_nodes after the config; optimizers and
 * schedules as keras.optimizers(.schedules).serialize writes them. Reading takes each row's key
 * (or an older alias) when present, keeps the default when it is absent or null, and refuses
 * a value outside the row's range or a CONST key with another value, naming the layer. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "keras_config.h"
#include "text_meta.h"
#include "../layers/layers.h"
#include "../losses/losses.h"
#include "../optim/optim.h"

/* ---- values ------------------------------------------------------------------------------ */

static void put_initializer(nnc_strbuf *sb, nnc_initializer in) {
    nnc_sb_printf(sb, "{\"module\":\"keras.initializers\",\"class_name\":\"%s\",\"config\":{",
                  nnc_init_class(in.kind));
    if (in.kind == NNC_INIT_RANDOM_NORMAL)
        nnc_sb_printf(sb, "\"mean\":%.9g,\"stddev\":%.9g,", (double)in.a, (double)in.b);
    if (in.kind == NNC_INIT_RANDOM_UNIFORM)
        nnc_sb_printf(sb, "\"minval\":%.9g,\"maxval\":%.9g,", (double)in.a, (double)in.b);
    if (in.kind == NNC_INIT_CONSTANT) nnc_sb_printf(sb, "\"value\":%.9g", (double)in.a);
    if (in.kind == NNC_INIT_ORTHOGONAL) nnc_sb_printf(sb, "\"gain\":%.9g,", (double)in.a);
    /* only the random ones take a seed: Keras 3's Zeros(seed=None) is a TypeError */
    if (in.kind != NNC_INIT_ZEROS && in.kind != NNC_INIT_ONES && in.kind != NNC_INIT_CONSTANT)
        nnc_sb_puts(sb, "\"seed\":null");
    nnc_sb_puts(sb, "},\"registered_name\":null}");
}

/* Keras's VarianceScaling(scale, mode, distribution) as the named initializer it is (Keras 2
 * writes GlorotUniform so); -1 when it is none of them. */
static int variance_scaling(const nnc_json *c, nnc_init_kind *k) {
    double scale = 1.0;
    const char *mode = c ? nnc_json_get_string(c, "mode") : NULL;
    const char *dist = c ? nnc_json_get_string(c, "distribution") : NULL;
    if (c) nnc_json_get_number(c, "scale", &scale);
    if (!mode || !dist) return -1;
    int uniform = !strcmp(dist, "uniform"), normal = !strcmp(dist, "truncated_normal") || !strcmp(dist, "normal");
    if (!uniform && !normal) return -1;
    if (scale == 1.0 && !strcmp(mode, "fan_avg")) *k = uniform ? NNC_INIT_GLOROT_UNIFORM : NNC_INIT_GLOROT_NORMAL;
    else if (scale == 2.0 && !strcmp(mode, "fan_in")) *k = uniform ? NNC_INIT_HE_UNIFORM : NNC_INIT_HE_NORMAL;
    else if (scale == 1.0 && !strcmp(mode, "fan_in")) *k = uniform ? NNC_INIT_LECUN_UNIFORM : NNC_INIT_LECUN_NORMAL;
    else return -1;
    return 0;
}

static int parse_initializer(const nnc_json *j, nnc_initializer *out) {
    const char *cls = j->type == NNC_JSON_STRING ? j->string : nnc_json_get_string(j, "class_name");
    const nnc_json *c = nnc_json_get(j, "config");
    nnc_init_kind k;
    if (cls && !strcmp(cls, "OrthogonalInitializer")) cls = "Orthogonal"; /* Keras 3.0 to 3.4's class name */
    if (!cls || (nnc_init_parse(cls, &k) && (strcmp(cls, "VarianceScaling") || variance_scaling(c, &k))))
        return -1;
    *out = nnc_initializer_default(k);
    double v;
    if (c && nnc_json_get_number(c, "mean", &v)) out->a = (float)v;
    if (c && nnc_json_get_number(c, "stddev", &v)) out->b = (float)v;
    if (c && nnc_json_get_number(c, "minval", &v)) out->a = (float)v;
    if (c && nnc_json_get_number(c, "maxval", &v)) out->b = (float)v;
    if (c && nnc_json_get_number(c, "value", &v)) out->a = (float)v;
    if (c && k == NNC_INIT_ORTHOGONAL && nnc_json_get_number(c, "gain", &v)) out->a = (float)v;
    return 0;
}

/* An activation as Keras writes it: a name, or (Keras 3 with a function object) an object
 * {"class_name": "function", "config": "relu"}. */
static const char *activation_text(const nnc_json *v) {
    if (v->type == NNC_JSON_STRING) return v->string;
    const char *cls = nnc_json_get_string(v, "class_name");
    return cls && !strcmp(cls, "function") ? nnc_json_get_string(v, "config") : NULL;
}

/* Keras's regularizer objects: L1, L2 or L1L2; null when there is none. */
static void put_regularizer(nnc_strbuf *sb, const nnc_regularizer *r) {
    if (r->l1 == 0.0f && r->l2 == 0.0f) nnc_sb_puts(sb, "null");
    else if (r->l2 == 0.0f)
        nnc_sb_printf(sb, "{\"module\":\"keras.regularizers\",\"class_name\":\"L1\",\"config\":{\"l1\":%.9g},"
                      "\"registered_name\":null}", (double)r->l1);
    else if (r->l1 == 0.0f)
        nnc_sb_printf(sb, "{\"module\":\"keras.regularizers\",\"class_name\":\"L2\",\"config\":{\"l2\":%.9g},"
                      "\"registered_name\":null}", (double)r->l2);
    else
        nnc_sb_printf(sb, "{\"module\":\"keras.regularizers\",\"class_name\":\"L1L2\",\"config\":"
                      "{\"l1\":%.9g,\"l2\":%.9g},\"registered_name\":null}", (double)r->l1, (double)r->l2);
}

static int parse_regularizer(const nnc_json *j, nnc_regularizer *r) {
    const char *cls = nnc_json_get_string(j, "class_name");
    const nnc_json *c = nnc_json_get(j, "config");
    double v;
    r->l1 = r->l2 = 0.0f;
    if (!cls || !c || (strcmp(cls, "L1") && strcmp(cls, "L2") && strcmp(cls, "L1L2"))) return -1;
    if (nnc_json_get_number(c, "l1", &v)) r->l1 = (float)v;
    if (nnc_json_get_number(c, "l2", &v)) r->l2 = (float)v;
    return r->l1 >= 0.0f && r->l2 >= 0.0f && r->l1 < 1e30f && r->l2 < 1e30f ? 0 : -1;
}

/* A JSON scalar as the literal text a CONST row holds ("-1", "false", "\"channels_last\""). */
static void scalar_text(const nnc_json *j, nnc_strbuf *sb) {
    switch (j->type) {
    case NNC_JSON_NULL: nnc_sb_puts(sb, "null"); break;
    case NNC_JSON_BOOL: nnc_sb_puts(sb, j->boolean ? "true" : "false"); break;
    case NNC_JSON_NUMBER: nnc_sb_printf(sb, "%.17g", j->number); break;
    case NNC_JSON_STRING: nnc_sb_json_string(sb, j->string); break;
    case NNC_JSON_ARRAY:
        nnc_sb_puts(sb, "[");
        for (size_t i = 0; i < j->count && i < 8; i++) {
            if (i) nnc_sb_puts(sb, ", ");
            if (j->items[i]->type == NNC_JSON_ARRAY || j->items[i]->type == NNC_JSON_OBJECT) nnc_sb_puts(sb, "...");
            else scalar_text(j->items[i], sb);
        }
        nnc_sb_puts(sb, j->count > 8 ? ", ...]" : "]");
        break;
    default: nnc_sb_puts(sb, "(an object)"); break;
    }
}

static int is_int(const nnc_json *v, double lo, double hi) {
    return v->type == NNC_JSON_NUMBER && v->number == floor(v->number) && v->number >= lo && v->number <= hi;
}

/* ---- option rows --------------------------------------------------------------------------- */

static void put_ints(nnc_strbuf *sb, const int *v, int n) {
    nnc_sb_puts(sb, "[");
    for (int i = 0; i < n; i++) nnc_sb_printf(sb, "%s%d", i ? "," : "", v[i]);
    nnc_sb_puts(sb, "]");
}

static void put_value(nnc_strbuf *sb, const nnc_opt_desc *row, const char *base, const char *def) {
    const char *at = base + row->offset;
    switch (row->type) {
    case NNC_OPT_INT:
        if (((row->flags & NNC_OPTF_ZERO_IS_NONE) && *(const int *)at == 0) ||
            ((row->flags & NNC_OPTF_NONE_IS_NEG) && *(const int *)at == -1))
            nnc_sb_puts(sb, "null");
        else nnc_sb_printf(sb, "%d", *(const int *)at);
        break;
    case NNC_OPT_FLOAT: nnc_sb_printf(sb, "%.9g", (double)*(const float *)at); break;
    case NNC_OPT_FLOAT_OR_NONE: /* 0 is None unless None would mean another default */
        if (*(const float *)at == 0.0f && *(const float *)(def + row->offset) == 0.0f) nnc_sb_puts(sb, "null");
        else nnc_sb_printf(sb, "%.9g", (double)*(const float *)at);
        break;
    case NNC_OPT_OPTIONAL_FLOAT:
        if (*(const bool *)(base + row->aux)) nnc_sb_printf(sb, "%.9g", (double)*(const float *)at);
        else nnc_sb_puts(sb, "null");
        break;
    case NNC_OPT_BOOL: nnc_sb_puts(sb, *(const bool *)at ? "true" : "false"); break;
    case NNC_OPT_ACTIVATION: nnc_sb_printf(sb, "\"%s\"", nnc_activation_name(*(const nnc_activation *)at)); break;
    case NNC_OPT_INITIALIZER: put_initializer(sb, *(const nnc_initializer *)at); break;
    case NNC_OPT_REGULARIZER: put_regularizer(sb, (const nnc_regularizer *)at); break;
    case NNC_OPT_PADDING:
        if ((row->flags & NNC_OPTF_CAUSAL) && *(const bool *)(base + row->aux)) nnc_sb_puts(sb, "\"causal\"");
        else nnc_sb_puts(sb, *(const bool *)at ? "\"same\"" : "\"valid\"");
        break;
    case NNC_OPT_CHOICE: {
        const char *names = row->literal;
        for (int k = *(const int *)at; k > 0 && strchr(names, '|'); k--) names = strchr(names, '|') + 1;
        if (strcspn(names, "|") == 4 && !strncmp(names, "None", 4)) nnc_sb_puts(sb, "null");
        else nnc_sb_printf(sb, "\"%.*s\"", (int)strcspn(names, "|"), names);
        break;
    }
    case NNC_OPT_INTS: {
        const int *v = (const int *)at;
        int zero = 1, none = 1;
        for (int i = 0; i < row->count; i++) zero &= v[i] == 0, none &= v[i] == -1;
        if (none && (row->flags & NNC_OPTF_NONE_IS_NEG)) {
            nnc_sb_puts(sb, "null");
            break;
        }
        put_ints(sb, zero && (row->flags & NNC_OPTF_ZERO_IS_AUX) ? (const int *)(base + row->aux) : v, row->count);
        break;
    }
    case NNC_OPT_SHAPE: {
        const nnc_shape *s = (const nnc_shape *)at;
        if (s->rank == 0 && (row->flags & NNC_OPTF_EMPTY_IS_NONE)) {
            nnc_sb_puts(sb, "null");
            break;
        }
        if (s->rank == 1 && (row->flags & NNC_OPTF_SCALAR)) {
            nnc_sb_printf(sb, "%d", s->dim[0]);
            break;
        }
        nnc_sb_puts(sb, row->flags & NNC_OPTF_BATCHED ? "[null" : "[");
        for (int i = 0; i < s->rank; i++) /* 0: a None time axis (keras_graph.c's any-length input) */
            if (s->dim[i] == 0 && (row->flags & NNC_OPTF_BATCHED)) nnc_sb_puts(sb, ",null");
            else nnc_sb_printf(sb, "%s%d", i || (row->flags & NNC_OPTF_BATCHED) ? "," : "", s->dim[i]);
        nnc_sb_puts(sb, "]");
        break;
    }
    case NNC_OPT_PAD2D: {
        const int *p = (const int *)at;
        nnc_sb_printf(sb, "[[%d,%d],[%d,%d]]", p[0], p[1], p[2], p[3]);
        break;
    }
    case NNC_OPT_INT64S: {
        int n = *(const int *)(base + row->aux);
        nnc_sb_puts(sb, "[");
        for (int i = 0; i < n; i++) nnc_sb_printf(sb, "%s%lld", i ? "," : "", (long long)((const int64_t *)at)[i]);
        nnc_sb_puts(sb, "]");
        break;
    }
    case NNC_OPT_FLOATS_AFTER: {
        int n = *(const int *)(base + row->aux) + 1;
        nnc_sb_puts(sb, "[");
        for (int i = 0; i < n; i++) nnc_sb_printf(sb, "%s%.9g", i ? "," : "", (double)((const float *)at)[i]);
        nnc_sb_puts(sb, "]");
        break;
    }
    case NNC_OPT_CONST:
    case NNC_OPT_FIXED: nnc_sb_puts(sb, row->literal); break;
    }
}

/* ,"key":value for each row: the wrapped layer's rows when nested, else the others; def holds
 * the defaults (FLOAT_OR_NONE's None). Rows of call arguments (NNC_OPTF_CALL_ARG) are skipped
 * with skip_call (a functional model's kwargs hold them), written alone with only_call. */
static void put_rows(nnc_strbuf *sb, const nnc_opt_desc *rows, int n, const void *base, const void *def, int nested,
                     int skip_call, int only_call) {
    for (int i = 0; i < n; i++) {
        const int call = (rows[i].flags & NNC_OPTF_CALL_ARG) != 0;
        if ((rows[i].flags & NNC_OPTF_UNWRITTEN) || (call && skip_call) || (!call && only_call) ||
            !(rows[i].flags & NNC_OPTF_NESTED) != !nested || (rows[i].flags & NNC_OPTF_NESTED_CLASS))
            continue;
        nnc_sb_printf(sb, ",\"%s\":", rows[i].config_key ? rows[i].config_key : rows[i].key);
        put_value(sb, &rows[i], base, def);
    }
}

void nnc_config_put_value(nnc_strbuf *sb, const nnc_opt_desc *row, const void *base, const void *def) {
    put_value(sb, row, base, def);
}

static void put_opts(nnc_strbuf *sb, const nnc_opt_desc *rows, int n, const void *base, const void *def) {
    put_rows(sb, rows, n, base, def, 0, 0, 0);
}

void nnc_config_put_nested_rows(nnc_strbuf *sb, const nnc_opt_desc *rows, int n, const void *base, const void *def) {
    put_rows(sb, rows, n, base, def, 1, 0, 0);
}

/* The value of `axis` a layer's CONST row "-1" also accepts: the last axis counted from the
 * batch axis, as a number or a one-element list (Keras 2 writes BatchNormalization's as [3]). */
static int is_last_axis(const nnc_json *v, const nnc_read_ctx *cx) {
    if (v->type == NNC_JSON_ARRAY && v->count == 1) v = v->items[0];
    return cx && cx->last_axis > 0 && v->type == NNC_JSON_NUMBER && v->number == (double)cx->last_axis;
}

/* An activation's name into *a: 0, 1 when it is not one, -1 with why in msg when nnc computes
 * it otherwise (Keras 2's hard_sigmoid, clip(0.2x + 0.5, 0, 1); nnc's is Keras 3's x/6 + 0.5). */
static int read_activation(const nnc_opt_desc *row, const nnc_json *v, nnc_activation *a, const nnc_read_ctx *cx,
                           char *msg, size_t n) {
    const char *name = activation_text(v);
    if (!name || nnc_activation_parse(name, a)) return 1;
    if (cx && cx->keras2 && *a == NNC_ACT_HARD_SIGMOID) {
        snprintf(msg, n, "%s hard_sigmoid is Keras 2's clip(0.2x + 0.5, 0, 1), which nnc does not compute (it has "
                 "Keras 3's x/6 + 0.5)", row->key);
        return -1;
    }
    return 0;
}

/* An initializer nnc lacks keeps the default: only drawing fresh weights uses it. */
static void note_initializer(const nnc_opt_desc *row, const nnc_json *v, const nnc_initializer *kept,
                             const nnc_read_ctx *cx) {
    const char *cls = v->type == NNC_JSON_STRING ? v->string : nnc_json_get_string(v, "class_name");
    nnc_note(cx->notes, "layer '%s': %s %s is not one nnc has; %s stands in (it matters only when the weights are "
             "drawn again)", cx->layer, row->key, cls ? cls : "(unreadable)", nnc_init_name(kept->kind));
}

/* "valid", "same" or (a CAUSAL row) "causal" into the row's bool(s); -1 for another value. */
static int read_padding(const nnc_opt_desc *row, const nnc_json *v, char *base) {
    const int causal = (row->flags & NNC_OPTF_CAUSAL) && v->type == NNC_JSON_STRING && !strcmp(v->string, "causal");
    if (v->type != NNC_JSON_STRING || (strcmp(v->string, "same") && strcmp(v->string, "valid") && !causal)) return -1;
    *(bool *)(base + row->offset) = !strcmp(v->string, "same");
    if (row->flags & NNC_OPTF_CAUSAL) *(bool *)(base + row->aux) = causal != 0;
    return 0;
}

/* A CHOICE row: the index of the string among the literal's names. */
static int read_choice(const nnc_opt_desc *row, const nnc_json *v, int *at, char *msg, size_t n) {
    int k = 0;
    size_t len = v->type == NNC_JSON_STRING ? strlen(v->string) : 0;
    for (const char *p = row->literal; len && p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL, k++)
        if (strcspn(p, "|") == len && !strncmp(p, v->string, len)) {
            *at = k;
            return 0;
        }
    snprintf(msg, n, "%s %s%s%s is not supported (one of %s)", row->key, len ? "'" : "", len ? v->string : "?",
             len ? "'" : "", row->literal);
    return -1;
}

/* A SHAPE row's value: a list of integers (the batch's null first when BATCHED), or what its
 * flags allow: one integer (SCALAR), an empty list (EMPTY_IS_NONE); 0, or -1 when it is none of
 * these. */
static int read_shape(const nnc_opt_desc *row, const nnc_json *v, nnc_shape *s) {
    const size_t skip = row->flags & NNC_OPTF_BATCHED ? 1 : 0;
    if ((row->flags & NNC_OPTF_SCALAR) && is_int(v, row->lo, row->hi)) { /* Keras's int for a 1-tuple */
        *s = (nnc_shape){1, {(int)v->number}};
        return 0;
    }
    if ((row->flags & NNC_OPTF_EMPTY_IS_NONE) && v->type == NNC_JSON_ARRAY && v->count == skip) {
        s->rank = 0;
        return 0;
    }
    if (v->type != NNC_JSON_ARRAY || v->count <= skip || v->count - skip > NNC_MAX_RANK) return -1;
    for (size_t i = skip; i < v->count; i++)
        if (!is_int(v->items[i], row->lo, row->hi)) return -1;
    s->rank = (int)(v->count - skip);
    for (size_t i = skip; i < v->count; i++) s->dim[i - skip] = (int)v->items[i]->number;
    return 0;
}

/* A CONST row's one value (an axis also as the last axis itself, as Keras 2 writes it). */
static int read_const(const nnc_opt_desc *row, const nnc_json *v, const nnc_read_ctx *cx, char *msg, size_t n) {
    if (!strcmp(row->key, "axis") && !strcmp(row->literal, "-1") && is_last_axis(v, cx)) return 0;
    nnc_strbuf t = {0};
    scalar_text(v, &t);
    int same = t.buf && !strcmp(t.buf, row->literal);
    if (!same) snprintf(msg, n, "%s %s is not supported (only %s)", row->key, t.buf ? t.buf : "?", row->literal);
    nnc_sb_free(&t);
    return same ? 0 : -1;
}

/* Reads one row's JSON value (present and not null) into base; 0, or -1 with why in msg. */
static int read_value(const nnc_opt_desc *row, const nnc_json *v, char *base, const nnc_read_ctx *cx, char *msg,
                      size_t n) {
    char *at = base + row->offset;
    switch (row->type) {
    case NNC_OPT_INT:
        if (!is_int(v, row->lo, row->hi)) break;
        *(int *)at = (int)v->number;
        return 0;
    case NNC_OPT_FLOAT:
    case NNC_OPT_FLOAT_OR_NONE:
    case NNC_OPT_OPTIONAL_FLOAT:
        if (v->type != NNC_JSON_NUMBER || !(v->number >= row->lo && v->number <= row->hi)) break;
        *(float *)at = (float)v->number;
        if (row->type == NNC_OPT_OPTIONAL_FLOAT) *(bool *)(base + row->aux) = true;
        return 0;
    case NNC_OPT_BOOL:
        if (v->type != NNC_JSON_BOOL) break;
        *(bool *)at = v->boolean != 0;
        return 0;
    case NNC_OPT_ACTIVATION: {
        int rc = read_activation(row, v, (nnc_activation *)at, cx, msg, n);
        if (rc <= 0) return rc;
        break;
    }
    case NNC_OPT_INITIALIZER:
        if (parse_initializer(v, (nnc_initializer *)at) == 0) return 0;
        if (!cx || !cx->notes) break;
        note_initializer(row, v, (const nnc_initializer *)at, cx);
        return 0;
    case NNC_OPT_REGULARIZER:
        if (parse_regularizer(v, (nnc_regularizer *)at)) break;
        return 0;
    case NNC_OPT_PADDING: return read_padding(row, v, base) ? (snprintf(msg, n, "bad value for %s", row->key), -1) : 0;
    case NNC_OPT_CHOICE: return read_choice(row, v, (int *)at, msg, n);
    case NNC_OPT_INTS: {
        if (is_int(v, row->lo, row->hi)) { /* Keras takes one int for every axis too */
            for (int i = 0; i < row->count; i++) ((int *)at)[i] = (int)v->number;
            return 0;
        }
        if (v->type != NNC_JSON_ARRAY || (int)v->count != row->count) break;
        int ok = 1;
        for (size_t i = 0; i < v->count; i++) ok &= is_int(v->items[i], row->lo, row->hi);
        if (!ok) break;
        for (size_t i = 0; i < v->count; i++) ((int *)at)[i] = (int)v->items[i]->number;
        return 0;
    }
    case NNC_OPT_SHAPE:
        if (read_shape(row, v, (nnc_shape *)at)) break;
        return 0;
    case NNC_OPT_PAD2D: {
        if (v->type != NNC_JSON_ARRAY || v->count != 2) break;
        int ok = 1, p[4];
        for (size_t i = 0; ok && i < 2; i++) {
            const nnc_json *pair = v->items[i];
            ok = pair->type == NNC_JSON_ARRAY && pair->count == 2 && is_int(pair->items[0], row->lo, row->hi) &&
                 is_int(pair->items[1], row->lo, row->hi);
            if (ok) p[2 * i] = (int)pair->items[0]->number, p[2 * i + 1] = (int)pair->items[1]->number;
        }
        if (!ok) break;
        memcpy(at, p, sizeof p);
        return 0;
    }
    case NNC_OPT_INT64S: {
        if (v->type != NNC_JSON_ARRAY || v->count < 1 || (int)v->count > row->count) break;
        int ok = 1;
        for (size_t i = 0; i < v->count; i++) ok &= is_int(v->items[i], row->lo, row->hi);
        if (!ok) break;
        for (size_t i = 0; i < v->count; i++) ((int64_t *)at)[i] = (int64_t)v->items[i]->number;
        *(int *)(base + row->aux) = (int)v->count;
        return 0;
    }
    case NNC_OPT_FLOATS_AFTER: {
        if (v->type != NNC_JSON_ARRAY || (int)v->count != *(int *)(base + row->aux) + 1) break;
        int ok = 1;
        for (size_t i = 0; i < v->count; i++)
            ok &= v->items[i]->type == NNC_JSON_NUMBER && v->items[i]->number >= row->lo && v->items[i]->number <= row->hi;
        if (!ok) break;
        for (size_t i = 0; i < v->count; i++) ((float *)at)[i] = (float)v->items[i]->number;
        return 0;
    }
    case NNC_OPT_CONST: return read_const(row, v, cx, msg, n);
    case NNC_OPT_FIXED: return 0;
    }
    snprintf(msg, n, "bad value for %s", row->key);
    return -1;
}

/* A null for a CHOICE row that has a "None" among its names. */
static void choice_none(const nnc_opt_desc *row, int *at) {
    int k = 0;
    for (const char *p = row->literal; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL, k++)
        if (strcspn(p, "|") == 4 && !strncmp(p, "None", 4)) *at = k;
}

static int read_rows(const nnc_opt_desc *rows, int count, const nnc_json *obj, void *base, const nnc_read_ctx *cx,
                     char *msg, size_t n, int nested) {
    for (int i = 0; i < count; i++) {
        const nnc_opt_desc *row = &rows[i];
        if (!(row->flags & NNC_OPTF_NESTED) != !nested || (row->flags & NNC_OPTF_NESTED_CLASS)) continue;
        const nnc_json *v = nnc_json_get(obj, row->config_key ? row->config_key : row->key);
        if (!v && row->alias) v = nnc_json_get(obj, row->alias);
        if (!v || v->type == NNC_JSON_NULL) {
            if (row->type == NNC_OPT_OPTIONAL_FLOAT) *(bool *)((char *)base + row->aux) = false;
            if (v && row->type == NNC_OPT_CHOICE) choice_none(row, (int *)((char *)base + row->offset));
            if (v && row->type == NNC_OPT_INT && (row->flags & NNC_OPTF_NONE_IS_NEG)) *(int *)((char *)base + row->offset) = -1;
            if (v && row->type == NNC_OPT_INT && (row->flags & NNC_OPTF_ZERO_IS_NONE)) *(int *)((char *)base + row->offset) = 0;
            if (v && row->type == NNC_OPT_CONST && strcmp(row->literal, "null")) {
                snprintf(msg, n, "%s null is not supported (only %s)", row->key, row->literal);
                return -1;
            }
            continue;
        }
        if (read_value(row, v, base, cx, msg, n)) return -1;
    }
    return 0;
}

int nnc_config_read_opts(const nnc_opt_desc *rows, int count, const nnc_json *obj, void *base,
                         const nnc_read_ctx *cx, char *msg, size_t n) {
    return read_rows(rows, count, obj, base, cx, msg, n, 0);
}

int nnc_config_read_nested_rows(const nnc_opt_desc *rows, int count, const nnc_json *obj, void *base,
                                const nnc_read_ctx *cx, char *msg, size_t n) {
    return read_rows(rows, count, obj, base, cx, msg, n, 1);
}

/* ---- layers ------------------------------------------------------------------------------ */

/* Keras 3's serialised KerasTensor: what inbound_nodes lists for each input. */
static void put_tensor_ref(nnc_strbuf *sb, const nnc_model *m, int node) {
    const nnc_node_rec *n = &m->nodes[node];
    nnc_sb_puts(sb, "{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":[null");
    for (int i = 0; i < n->shape.rank; i++) nnc_sb_printf(sb, ",%d", n->shape.dim[i]);
    nnc_sb_puts(sb, "],\"dtype\":\"float32\",\"keras_history\":[");
    nnc_sb_json_string(sb, m->layers[n->layer].name);
    nnc_sb_printf(sb, ",0,%d]}}", nnc_node_tensor_index(m, node) > 0 ? nnc_node_tensor_index(m, node) : 0);
}

/* keras-hub's layers: their module and registered name, as Keras's serialize_keras_object writes
 * them for a class registered as "keras_hub>Class"; NULL for Keras's own. */
static const char *hub_module(const char *cls) {
    if (!strcmp(cls, "PositionEmbedding")) return "keras_hub.src.layers.modeling.position_embedding";
    if (!strcmp(cls, "SinePositionEncoding")) return "keras_hub.src.layers.modeling.sine_position_encoding";
    return NULL;
}

static void put_layer(nnc_strbuf *sb, const nnc_model *m, const nnc_layer_rec *l, int functional) {
    const nnc_layer_desc *d = l->desc;
    const char *hub = hub_module(d->keras_class);
    nnc_sb_printf(sb, "{\"module\":\"%s\",\"class_name\":\"%s\",\"config\":{\"name\":", hub ? hub : "keras.layers",
                  d->keras_class);
    nnc_sb_json_string(sb, l->name);
    if (!(d->flags & NNC_LAYERF_INPUT))
        nnc_sb_puts(sb, d->flags & NNC_LAYERF_NO_TRAINABLE_KEY ? ",\"dtype\":\"float32\""
                        : l->frozen ? ",\"trainable\":false,\"dtype\":\"float32\"" : ",\"trainable\":true,\"dtype\":\"float32\"");
    union { max_align_t align; unsigned char bytes[NNC_LAYER_CFG_BYTES]; } def;
    d->defaults(def.bytes);
    put_rows(sb, d->opts, d->n_opts, nnc_layer_opts(l), def.bytes, 0, functional, 0);
    nnc_config_put_wrapped(sb, d, nnc_layer_opts(l), def.bytes, l->frozen);
    if (hub) nnc_sb_printf(sb, "},\"registered_name\":\"keras_hub>%s\"", d->keras_class);
    else nnc_sb_puts(sb, "},\"registered_name\":null");
    if (functional) {
        nnc_sb_puts(sb, ",\"name\":");
        nnc_sb_json_string(sb, l->name);
        nnc_sb_puts(sb, ",\"inbound_nodes\":[");
        if (l->n_inputs) {
            /* Merge layers take their inputs as one list argument, as Keras serialises them. */
            const int list = (d->flags & NNC_LAYERF_LIST_INPUT) != 0;
            /* a recurrent layer's inputs after the first are the call's initial_state */
            const int n_args = d->flags & NNC_LAYERF_INITIAL_STATE ? 1 : l->n_inputs;
            nnc_sb_puts(sb, list ? "{\"args\":[[" : "{\"args\":[");
            for (int k = 0; k < n_args; k++) {
                if (k) nnc_sb_puts(sb, ",");
                put_tensor_ref(sb, m, l->inputs[k]);
            }
            nnc_strbuf kw = {0};
            for (int k = n_args; k < l->n_inputs; k++) {
                nnc_sb_puts(&kw, k == n_args ? ",\"initial_state\":[" : ",");
                put_tensor_ref(&kw, m, l->inputs[k]);
                if (k == l->n_inputs - 1) nnc_sb_puts(&kw, "]");
            }
            put_rows(&kw, d->opts, d->n_opts, nnc_layer_opts(l), def.bytes, 0, 0, 1);
            nnc_sb_printf(sb, "%s,\"kwargs\":{%s}}", list ? "]]" : "]", kw.buf ? kw.buf + 1 : "");
            nnc_sb_free(&kw);
        }
        nnc_sb_puts(sb, "]");
    }
    nnc_sb_puts(sb, "}");
}

/* A model that reads text, in a Keras file: Keras's string InputLayer ([None, 1], the name of
 * nnc's Input with "_text"), then the TextVectorization under the name of nnc's Input, so that
 * the layers reading that Input read it; the vocabulary is in its config (text_meta.c). */
static void put_text_layers(nnc_strbuf *sb, const nnc_model *m, const nnc_layer_rec *in, int functional) {
    nnc_sb_puts(sb, "{\"module\":\"keras.layers\",\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,1],"
                    "\"dtype\":\"string\",\"sparse\":false,\"name\":");
    nnc_sb_printf(sb, "\"%s_text\"},\"registered_name\":null", in->name);
    if (functional) nnc_sb_printf(sb, ",\"name\":\"%s_text\",\"inbound_nodes\":[]", in->name);
    nnc_sb_puts(sb, "},{\"module\":\"keras.layers\",\"class_name\":\"TextVectorization\",\"config\":{\"name\":");
    nnc_sb_json_string(sb, in->name);
    nnc_sb_puts(sb, ",\"trainable\":true,\"dtype\":\"float32\"");
    nnc_text_vec_keras_config(m->text_vec, sb);
    nnc_sb_puts(sb, "},\"registered_name\":null");
    if (functional) {
        nnc_sb_puts(sb, ",\"name\":");
        nnc_sb_json_string(sb, in->name);
        nnc_sb_printf(sb, ",\"inbound_nodes\":[{\"args\":[{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":"
                      "[null,1],\"dtype\":\"string\",\"keras_history\":[\"%s_text\",0,0]}}],\"kwargs\":{}}]", in->name);
    }
    nnc_sb_puts(sb, "}");
}

static void config_json(const nnc_model *m, nnc_strbuf *sb, int text) {
    int seq = nnc_model_is_sequential(m);
    nnc_sb_printf(sb, "{\"module\":\"keras\",\"class_name\":\"%s\",\"config\":{\"name\":",
                  seq ? "Sequential" : "Functional");
    nnc_sb_json_string(sb, nnc_model_display_name(m));
    nnc_sb_puts(sb, ",\"trainable\":true,\"layers\":[");
    for (int i = 0; i < m->n_layers; i++) {
        if (i) nnc_sb_puts(sb, ",");
        if (text && i == m->nodes[m->inputs[0]].layer) put_text_layers(sb, m, &m->layers[i], !seq);
        else put_layer(sb, m, &m->layers[i], !seq);
    }
    nnc_sb_puts(sb, "]");
    if (!seq) {
        const char *keys[2] = {"input_layers", "output_layers"};
        const int *lists[2] = {m->inputs, m->outputs};
        int counts[2] = {m->n_inputs, m->n_outputs ? m->n_outputs : 1};
        int last[1] = {m->last};
        if (!m->n_outputs) lists[1] = last;
        for (int k = 0; k < 2; k++) { /* one tensor as [name, 0, 0], several as a list: Keras 3's map_tensors */
            nnc_sb_printf(sb, ",\"%s\":%s", keys[k], counts[k] > 1 ? "[" : "");
            for (int i = 0; i < counts[k]; i++) {
                nnc_sb_puts(sb, i ? ",[" : "[");
                const int t = nnc_node_tensor_index(m, lists[k][i]);
                const char *name = m->layers[m->nodes[lists[k][i]].layer].name;
                if (text && k == 0) nnc_sb_printf(sb, "\"%s_text\"", name);
                else nnc_sb_json_string(sb, name);
                nnc_sb_printf(sb, ",0,%d]", t > 0 ? t : 0);
            }
            if (counts[k] > 1) nnc_sb_puts(sb, "]");
        }
    }
    nnc_sb_puts(sb, "}}");
}

void nnc_config_json(const nnc_model *m, nnc_strbuf *sb) { config_json(m, sb, 0); }

void nnc_config_json_keras(const nnc_model *m, nnc_strbuf *sb) {
    config_json(m, sb, m->text_vec && m->n_inputs == 1);
}

/* ---- compile config ---------------------------------------------------------------------- */

/* A schedule as keras.optimizers.schedules.serialize writes it. */
static void put_schedule(const nnc_schedule *s, nnc_strbuf *sb) {
    const nnc_schedule_desc *d = nnc_schedule_desc_of(s->kind);
    const nnc_schedule def = nnc_schedule_default(s->kind);
    nnc_strbuf body = {0};
    put_opts(&body, d->opts, d->n_opts, s, &def);
    nnc_sb_printf(sb, "{\"module\":\"keras.optimizers.schedules\",\"class_name\":\"%s\",\"config\":{%s}"
                  ",\"registered_name\":null}", d->keras_class, body.buf ? body.buf + 1 : "");
    sb->oom |= body.oom;
    nnc_sb_free(&body);
}

void nnc_optimizer_config_json(const nnc_optimizer *o, nnc_strbuf *sb) {
    const nnc_optimizer_desc *d = nnc_optimizer_desc_of(o->kind);
    const nnc_optimizer def = d->defaults();
    nnc_sb_printf(sb, "{\"module\":\"keras.optimizers\",\"class_name\":\"%s\",\"config\":{\"name\":\"%s\","
                  "\"learning_rate\":", d->keras_class, d->name);
    if (o->schedule.kind != NNC_SCHEDULE_NONE) put_schedule(&o->schedule, sb);
    else nnc_sb_printf(sb, "%.9g", (double)o->learning_rate);
    put_opts(sb, nnc_optimizer_base_opts, nnc_optimizer_base_count, o, &def);
    put_opts(sb, d->opts, d->n_opts, o, &def);
    nnc_sb_puts(sb, "},\"registered_name\":null}");
}

void nnc_loss_config_json(const nnc_loss *l, nnc_strbuf *sb) {
    nnc_sb_printf(sb, "{\"module\":\"keras.losses\",\"class_name\":\"%s\",\"config\":"
                  "{\"name\":\"%s\",\"reduction\":\"sum_over_batch_size\"",
                  nnc_loss_class(l->kind), nnc_loss_name(l->kind));
    if (l->kind >= NNC_LOSS_BINARY_CROSSENTROPY)
        nnc_sb_printf(sb, ",\"from_logits\":%s", l->from_logits ? "true" : "false");
    if (l->kind == NNC_LOSS_HUBER) nnc_sb_printf(sb, ",\"delta\":%.9g", (double)l->delta);
    nnc_sb_puts(sb, "},\"registered_name\":null}");
}

void nnc_compile_config_json(const nnc_compile_opts *c, nnc_strbuf *sb) {
    if (c->n_outputs) { /* per output: lists of losses, weights and metrics */
        nnc_sb_puts(sb, "{");
        nnc_outputs_compile_json(c, sb, 0);
        nnc_sb_puts(sb, ",\"optimizer\":");
        nnc_optimizer_config_json(&c->optimizer, sb);
        nnc_sb_puts(sb, "}");
        return;
    }
    nnc_sb_puts(sb, "{\"loss\":");
    nnc_loss_config_json(&c->loss, sb);
    nnc_sb_puts(sb, ",\"optimizer\":");
    nnc_optimizer_config_json(&c->optimizer, sb);
    nnc_sb_puts(sb, ",\"metrics\":");
    nnc_metrics_config_json(c, sb, 0, 0);
    if (nnc_metrics_any_weighted(c)) {
        nnc_sb_puts(sb, ",\"weighted_metrics\":");
        nnc_metrics_config_json(c, sb, 1, 0);
    }
    nnc_sb_puts(sb, "}");
}

/* A serialized schedule (class_name and config) into s. */
static int parse_schedule(const nnc_json *j, nnc_schedule *s, char *msg, size_t n) {
    const char *cls = nnc_json_get_string(j, "class_name");
    const nnc_json *sc = nnc_json_get(j, "config");
    nnc_schedule_kind k;
    char why[256];
    if (!cls || !sc || sc->type != NNC_JSON_OBJECT || nnc_schedule_parse(cls, &k)) {
        snprintf(msg, n, "compile_config: unknown learning-rate schedule '%s'", cls ? cls : "(none)");
        return -1;
    }
    const nnc_schedule_desc *d = nnc_schedule_desc_of(k);
    *s = nnc_schedule_default(k);
    if (nnc_config_read_opts(d->opts, d->n_opts, sc, s, NULL, why, sizeof why)) {
        snprintf(msg, n, "compile_config: %s: %s", cls, why);
        return -1;
    }
    for (int i = 0; i < d->n_opts; i++) /* what the schedule cannot do without */
        if ((d->opts[i].flags & NNC_OPTF_REQUIRED) &&
            !nnc_json_get(sc, d->opts[i].config_key ? d->opts[i].config_key : d->opts[i].key)) {
            snprintf(msg, n, "compile_config: %s: missing %s", cls, d->opts[i].key);
            return -1;
        }
    const char *bad = nnc_schedule_check(s);
    if (bad) {
        snprintf(msg, n, "compile_config: %s: %s", cls, bad);
        return -1;
    }
    return 0;
}

int nnc_optimizer_config_parse(const nnc_json *opt, nnc_optimizer *o, char *msg, size_t n) {
    const char *cls = opt ? nnc_json_get_string(opt, "class_name") : NULL;
    const nnc_json *oc = opt ? nnc_json_get(opt, "config") : NULL;
    char why[256];
    if (!cls || !oc || nnc_optimizer_parse(cls, o)) {
        snprintf(msg, n, "compile_config: unknown optimizer '%s'", cls ? cls : "(none)");
        return -1;
    }
    const nnc_optimizer_desc *d = nnc_optimizer_desc_of(o->kind);
    const nnc_json *lr = nnc_json_get(oc, "learning_rate");
    double v;
    if (lr && lr->type == NNC_JSON_OBJECT) {
        if (parse_schedule(lr, &o->schedule, msg, n)) return -1;
        o->learning_rate = o->schedule.kind == NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY
                               ? o->schedule.values[0] : o->schedule.initial_learning_rate;
    } else if (nnc_json_get_number(oc, "learning_rate", &v) || nnc_json_get_number(oc, "lr", &v)) {
        o->learning_rate = (float)v; /* "lr": Keras 2.0-2.2's name */
    }
    if (nnc_config_read_opts(nnc_optimizer_base_opts, nnc_optimizer_base_count, oc, o, NULL, why, sizeof why) ||
        nnc_config_read_opts(d->opts, d->n_opts, oc, o, NULL, why, sizeof why)) {
        snprintf(msg, n, "compile_config: %s: %s", d->keras_class, why);
        return -1;
    }
    return 0;
}

int nnc_compile_config_parse(const nnc_json *j, nnc_compile_opts *c, char *msg, size_t n) {
    *c = nnc_compile_opts_default();
    const nnc_json *loss = nnc_json_get(j, "loss");
    if (loss && loss->type == NNC_JSON_ARRAY) /* per output */
        return nnc_outputs_config_parse(NULL, j, c, msg, n) ||
                       nnc_optimizer_config_parse(nnc_json_get(j, "optimizer"), &c->optimizer, msg, n) ? -1 : 0;
    const char *lname = loss ? (loss->type == NNC_JSON_STRING ? loss->string
                                                              : nnc_json_get_string(loss, "class_name"))
                             : NULL;
    if (!lname || nnc_loss_parse(lname, &c->loss.kind)) {
        snprintf(msg, n, "compile_config: unknown loss '%s'", lname ? lname : "(none)");
        return -1;
    }
    const nnc_json *lc = nnc_json_get(loss, "config"), *fl = lc ? nnc_json_get(lc, "from_logits") : NULL;
    double v;
    c->loss.from_logits = fl && fl->type == NNC_JSON_BOOL && fl->boolean;
    if (lc && nnc_json_get_number(lc, "delta", &v)) c->loss.delta = (float)v;
    if (nnc_optimizer_config_parse(nnc_json_get(j, "optimizer"), &c->optimizer, msg, n)) return -1;
    if (nnc_metrics_config_parse(nnc_json_get(j, "metrics"), c, 0, msg, n) ||
        nnc_metrics_config_parse(nnc_json_get(j, "weighted_metrics"), c, 1, msg, n))
        return -1;
    return 0;
}
