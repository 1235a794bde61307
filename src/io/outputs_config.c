/* The compile config of a model of several outputs, as Keras 3's get_compile_config keeps it:
 * "loss" a list (output order) or a dict (output names) of losses, "loss_weights" a list or
 * dict of numbers (or null), "metrics" a list of lists or a dict of lists. nnc writes lists
 * in output order, reads both. One output keeps the single form (keras_config.c). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include "keras_config.h"
#include "../losses/losses.h"

/* "metrics" (or "weighted_metrics") of several outputs: a list per output, in output order. */
static void lists_json(const nnc_compile_opts *c, nnc_strbuf *sb, int weighted, int keras) {
    nnc_sb_puts(sb, "[");
    for (int h = 0; h < c->n_outputs; h++) {
        if (h) nnc_sb_puts(sb, ",");
        nnc_metric_list_json(&c->outputs[h], sb, weighted, keras);
    }
    nnc_sb_puts(sb, "]");
}

void nnc_outputs_compile_json(const nnc_compile_opts *c, nnc_strbuf *sb, int keras) {
    if (c->n_outputs < 2) {
        nnc_sb_puts(sb, "\"loss\":");
        nnc_loss_config_json(c->n_outputs ? &c->outputs[0].loss : &c->loss, sb);
        if (c->n_outputs && c->outputs[0].weight != 1.0f)
            nnc_sb_printf(sb, ",\"loss_weights\":[%.9g]", (double)c->outputs[0].weight);
        else nnc_sb_puts(sb, ",\"loss_weights\":null");
        int weighted = nnc_metrics_any_weighted(c);
        for (int w = 0; w < 2; w++) {
            nnc_sb_puts(sb, w ? ",\"weighted_metrics\":" : ",\"metrics\":");
            if (w && !weighted) nnc_sb_puts(sb, "null");
            else if (c->n_outputs) nnc_metric_list_json(&c->outputs[0], sb, w, keras);
            else nnc_metrics_config_json(c, sb, w, keras);
        }
        return;
    }
    nnc_sb_puts(sb, "\"loss\":[");
    for (int h = 0; h < c->n_outputs; h++) {
        if (h) nnc_sb_puts(sb, ",");
        nnc_loss_config_json(&c->outputs[h].loss, sb);
    }
    nnc_sb_puts(sb, "],\"loss_weights\":[");
    for (int h = 0; h < c->n_outputs; h++) nnc_sb_printf(sb, "%s%.9g", h ? "," : "", (double)c->outputs[h].weight);
    nnc_sb_puts(sb, "],\"metrics\":");
    lists_json(c, sb, 0, keras);
    nnc_sb_puts(sb, ",\"weighted_metrics\":");
    if (nnc_metrics_any_weighted(c)) lists_json(c, sb, 1, keras);
    else nnc_sb_puts(sb, "null");
}

/* A loss: its name ("mse") or a serialized object (class_name, config with from_logits and
 * delta). */
static int parse_loss(const nnc_json *e, nnc_loss *L) {
    const char *name = e->type == NNC_JSON_STRING ? e->string : nnc_json_get_string(e, "class_name");
    nnc_loss_kind k;
    if (!name || nnc_loss_parse(name, &k)) return -1;
    *L = nnc_loss_default(k);
    const nnc_json *lc = nnc_json_get(e, "config"), *fl = lc ? nnc_json_get(lc, "from_logits") : NULL;
    double v;
    L->from_logits = fl && fl->type == NNC_JSON_BOOL && fl->boolean;
    if (lc && nnc_json_get_number(lc, "delta", &v)) L->delta = (float)v;
    return 0;
}

/* The entry of a list or dict for output h (dict: by m's output name), NULL when none. */
static const nnc_json *entry(const nnc_json *j, const nnc_model *m, int h) {
    if (!j || j->type == NNC_JSON_NULL) return NULL;
    if (j->type == NNC_JSON_ARRAY) return (size_t)h < j->count ? j->items[h] : NULL;
    return m ? nnc_json_get(j, nnc_model_output_name_at(m, h)) : NULL;
}

/* Outputs a list or dict of the config gives: its count, or the model's for a dict. */
static int count_of(const nnc_json *j, const nnc_model *m) {
    if (j && j->type == NNC_JSON_ARRAY) return (int)j->count;
    return m ? nnc_model_n_outputs(m) : -1;
}

/* One output's metrics (weighted or not): a name, or a list of names and serialized objects.
 * From a Keras file (notes given) what nnc has not is dropped with a note; nnc's own file is
 * read strictly. */
static int parse_metrics(const nnc_json *e, nnc_output_opts *o, int weighted, nnc_model *notes, char *msg, size_t n) {
    const nnc_json *one[1] = {e};
    const nnc_json *const *items = e->type == NNC_JSON_ARRAY ? (const nnc_json *const *)e->items : one;
    const size_t count = e->type == NNC_JSON_ARRAY ? e->count : 1;
    for (size_t i = 0; i < count; i++) {
        nnc_metric_config mc;
        char why[400];
        if (nnc_metric_config_parse(items[i], &mc, why, sizeof why)) {
            if (!notes) return snprintf(msg, n, "compile_config: %s", why), -1;
            nnc_note(notes, "the file's %smetric is dropped (%s)", weighted ? "weighted " : "", why);
            continue;
        }
        mc.weighted = weighted != 0;
        if (nnc_output_add_metric(o, &mc)) {
            if (!notes) return snprintf(msg, n, "compile_config: more than %d metrics for one output", NNC_MAX_METRICS), -1;
            nnc_note(notes, "the file's metric '%s' is dropped (nnc keeps %d per output)", nnc_metric_name(mc.kind),
                     NNC_MAX_METRICS);
        }
    }
    return 0;
}

int nnc_outputs_config_parse(nnc_model *m, const nnc_json *j, nnc_compile_opts *c, char *msg, size_t n) {
    const nnc_json *loss = nnc_json_get(j, "loss"), *lw = nnc_json_get(j, "loss_weights"),
                   *mets = nnc_json_get(j, "metrics"), *wmets = nnc_json_get(j, "weighted_metrics");
    const int count = count_of(loss, m);
    if (count < 1 || count > NNC_MAX_OUTPUTS) {
        snprintf(msg, n, "compile_config: %d losses (1 to %d outputs)", count, NNC_MAX_OUTPUTS);
        return -1;
    }
    if (lw && lw->type == NNC_JSON_ARRAY && (int)lw->count != count) {
        snprintf(msg, n, "compile_config: %zu loss_weights for %d losses", lw->count, count);
        return -1;
    }
    c->n_outputs = count;
    for (int h = 0; h < count; h++) {
        nnc_output_opts *o = &c->outputs[h];
        const nnc_json *e = entry(loss, m, h), *w = entry(lw, m, h), *me = entry(mets, m, h);
        *o = nnc_output_opts_default(nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR));
        if (!e || parse_loss(e, &o->loss)) {
            snprintf(msg, n, "compile_config: output %d (%s): no loss nnc has", h, m ? nnc_model_output_name_at(m, h) : "?");
            return -1;
        }
        if (w && (w->type != NNC_JSON_NUMBER || !(w->number >= 0) || w->number > 1e30)) {
            snprintf(msg, n, "compile_config: output %d: loss weight is not a number >= 0", h);
            return -1;
        }
        if (w) o->weight = (float)w->number;
        /* a flat list of names with several outputs: each output's (Keras 2's reading) */
        if (!me && mets && mets->type == NNC_JSON_ARRAY && mets->count && mets->items[0]->type == NNC_JSON_STRING &&
            (int)mets->count != count)
            me = mets;
        if (me && me->type != NNC_JSON_NULL && parse_metrics(me, o, 0, m, msg, n)) return -1;
        const nnc_json *we = entry(wmets, m, h);
        if (we && we->type != NNC_JSON_NULL && parse_metrics(we, o, 1, m, msg, n)) return -1;
    }
    c->loss = c->outputs[0].loss;
    return 0;
}
