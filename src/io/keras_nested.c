/* Wrapper layers in Keras configs (keras_config.h): Bidirectional and TimeDistributed hold the
 * config of the layer they wrap, as Keras 3's Wrapper.get_config writes it:
 *   {"name": ..., "merge_mode": "concat",
 *    "layer": {"module": "keras.layers", "class_name": "LSTM", "config": {"name": "forward_lstm", ...}},
 *    "backward_layer": {... the same layer, "name": "backward_lstm", "go_backwards": true}}
 * ("backward_layer" is Bidirectional's alone, and Keras 2 writes it only for a backward layer
 * the user gave). In nnc the wrapped layer's options are rows of the wrapper's own descriptor,
 * flagged NNC_OPTF_NESTED, with one CHOICE row (NNC_OPTF_NESTED_CLASS) naming the wrapped
 * layer by its spec keyword; the Keras class and the default name come from that layer's own
 * descriptor. Keras names the two copies "forward_<name>" and "backward_<name>". */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <string.h>
#include "keras_config.h"
#include "../layers/layers.h"

static int has_nested(const nnc_layer_desc *d) {
    for (int i = 0; i < d->n_opts; i++)
        if (d->opts[i].flags & NNC_OPTF_NESTED) return 1;
    return 0;
}

static const nnc_opt_desc *row_with(const nnc_layer_desc *d, unsigned flag, const char *key) {
    for (int i = 0; i < d->n_opts; i++)
        if ((flag && (d->opts[i].flags & flag)) || (key && !strcmp(d->opts[i].key, key))) return &d->opts[i];
    return NULL;
}

/* Name k of a CHOICE row's literal ("simple_rnn|lstm|gru"). */
static void choice_name(const nnc_opt_desc *row, int k, char *out, size_t n) {
    const char *p = row->literal;
    for (; k > 0 && strchr(p, '|'); k--) p = strchr(p, '|') + 1;
    snprintf(out, n, "%.*s", (int)strcspn(p, "|"), p);
}

/* The descriptor of a wrapped layer named by its spec keyword or its Keras class. */
static const nnc_layer_desc *wrapped_desc(const char *name) {
    const nnc_layer_desc *w = nnc_layer_by_keyword(name);
    return w ? w : nnc_layer_by_class(name);
}

static int is_bidirectional(const nnc_layer_desc *d) { return !strcmp(d->keras_class, "Bidirectional"); }

/* The options with go_backwards the other way (Bidirectional's backward copy) into out. */
static void flipped(const nnc_layer_desc *d, const void *opts, unsigned char *out) {
    const nnc_opt_desc *gb = row_with(d, 0, "go_backwards");
    memcpy(out, opts, d->opts_size);
    if (gb && gb->type == NNC_OPT_BOOL) *(bool *)(out + gb->offset) = !*(const bool *)(out + gb->offset);
}

/* The wrapped layer's config: the nested rows its own class has (a wrapper holding LSTM or GRU
 * writes LSTM's unit_forget_bias only for an LSTM; Keras refuses a key the class lacks). */
static void put_one(nnc_strbuf *sb, const nnc_layer_desc *d, const nnc_layer_desc *w, const char *cls,
                    const char *prefix, const char *stem, const void *opts, const void *def, int frozen) {
    nnc_sb_printf(sb, "{\"module\":\"keras.layers\",\"class_name\":\"%s\",\"config\":{\"name\":\"%s%s\","
                  "\"trainable\":%s,\"dtype\":\"float32\"", cls, prefix, stem, frozen ? "false" : "true");
    nnc_opt_desc rows[64];
    int n = 0;
    for (int i = 0; i < d->n_opts && n < 64; i++) {
        int has = !w;
        for (int k = 0; w && k < w->n_opts && !has; k++) has = !strcmp(w->opts[k].key, d->opts[i].key);
        if (has) rows[n++] = d->opts[i];
    }
    nnc_config_put_nested_rows(sb, rows, n, opts, def);
    nnc_sb_puts(sb, "},\"registered_name\":null}");
}

void nnc_config_put_wrapped(nnc_strbuf *sb, const nnc_layer_desc *d, const void *opts, const void *def, int frozen) {
    const nnc_opt_desc *cr = row_with(d, NNC_OPTF_NESTED_CLASS, NULL);
    if (!has_nested(d) || !cr) return;
    char kw[64];
    choice_name(cr, *(const int *)((const char *)opts + cr->offset), kw, sizeof kw);
    const nnc_layer_desc *w = wrapped_desc(kw);
    const char *cls = w ? w->keras_class : kw, *stem = w ? w->stem : kw;
    const int bi = is_bidirectional(d);
    nnc_sb_puts(sb, ",\"layer\":");
    put_one(sb, d, w, cls, bi ? "forward_" : "", stem, opts, def, frozen);
    if (!bi) return;
    union { max_align_t align; unsigned char bytes[NNC_LAYER_CFG_BYTES]; } back;
    flipped(d, opts, back.bytes);
    nnc_sb_puts(sb, ",\"backward_layer\":");
    put_one(sb, d, w, cls, "backward_", stem, back.bytes, def, frozen);
}

int nnc_config_recurrent_keys(const nnc_json *c, char *msg, size_t n) {
    static const char *const refused[][2] = {
        {"stateful", "keeps its state from one batch to the next (stateful)"},
        {"time_major", "takes its sequences time first (time_major)"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        const nnc_json *v = nnc_json_get(c, refused[i][0]);
        if (v && v->type == NNC_JSON_BOOL && v->boolean) {
            snprintf(msg, n, "it %s, which nnc does not support", refused[i][1]);
            return -1;
        }
    }
    return 0;
}

/* The wrapped layer's object j: its class checked against the CHOICE row (stored in opts) and
 * its config returned; NULL with why in msg. */
static const nnc_json *wrapped_config(const nnc_layer_desc *d, const nnc_json *j, const char *key, void *opts, char *msg,
                                      size_t n) {
    const nnc_json *c = j && j->type == NNC_JSON_OBJECT ? nnc_json_get(j, "config") : NULL;
    const char *cls = c ? nnc_json_get_string(j, "class_name") : NULL;
    if (!cls || c->type != NNC_JSON_OBJECT) {
        snprintf(msg, n, "%s is not a layer (an object with class_name and config)", key);
        return NULL;
    }
    const nnc_opt_desc *cr = row_with(d, NNC_OPTF_NESTED_CLASS, NULL);
    int found = -1, count = 1;
    for (const char *p = cr ? cr->literal : ""; (p = strchr(p, '|')); p++) count++;
    for (int k = 0; cr && k < count && found < 0; k++) {
        char kw[64];
        choice_name(cr, k, kw, sizeof kw);
        const nnc_layer_desc *w = wrapped_desc(kw);
        if (!strcmp(w ? w->keras_class : kw, cls)) found = k;
    }
    if (found < 0) {
        snprintf(msg, n, "%s is a %.60s; nnc's %s wraps %s", key, cls, d->keras_class, cr ? cr->literal : "nothing");
        return NULL;
    }
    *(int *)((char *)opts + cr->offset) = found;
    return nnc_config_recurrent_keys(c, msg, n) ? NULL : c;
}

int nnc_config_read_wrapped(const nnc_layer_desc *d, const nnc_json *cfg, void *opts, const nnc_read_ctx *cx,
                            char *msg, size_t n) {
    if (!has_nested(d)) return 0;
    const nnc_json *c = wrapped_config(d, nnc_json_get(cfg, "layer"), "layer", opts, msg, n);
    if (!c || nnc_config_read_nested_rows(d->opts, d->n_opts, c, opts, cx, msg, n)) return -1;
    const nnc_json *b = nnc_json_get(cfg, "backward_layer");
    if (!is_bidirectional(d) || !b || b->type == NNC_JSON_NULL) return 0;
    /* nnc runs one layer both ways: the backward copy must be the forward one flipped */
    union { max_align_t align; unsigned char bytes[NNC_LAYER_CFG_BYTES]; } back, want;
    memcpy(back.bytes, opts, d->opts_size);
    const nnc_json *bc = wrapped_config(d, b, "backward_layer", back.bytes, msg, n);
    if (!bc || nnc_config_read_nested_rows(d->opts, d->n_opts, bc, back.bytes, cx, msg, n)) return -1;
    flipped(d, opts, want.bytes);
    if (memcmp(back.bytes, want.bytes, d->opts_size)) {
        snprintf(msg, n, "backward_layer is not the forward layer with go_backwards the other way (nnc's "
                 "Bidirectional runs one layer's configuration both ways)");
        return -1;
    }
    return 0;
}
