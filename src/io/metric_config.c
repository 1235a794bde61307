/* Metrics in a compile config (keras_config.h), as Keras 3's Model.get_compile_config() writes
 * them: compile(metrics=["accuracy", "auc"]) keeps the strings, compile(metrics=[Precision(
 * thresholds=0.3)]) the serialized object {"module": "keras.metrics", "class_name":
 * "Precision", "config": {"name": "precision", "dtype": "float32", "thresholds": 0.3, ...},
 * "registered_name": null}. nnc writes a metric with its default arguments and name as the
 * string, any other as the object, each argument from the metric's option rows. */
#include <stdio.h>
#include <string.h>
#include "keras_config.h"
#include "../train/metrics.h"

/* The compile options' own list (a model of one output) as an output's. */
static nnc_output_opts shared_list(const nnc_compile_opts *c) {
    nnc_output_opts o = nnc_output_opts_default(c->loss);
    o.n_metrics = c->n_metrics < 0 ? 0 : c->n_metrics > NNC_MAX_METRICS ? NNC_MAX_METRICS : c->n_metrics;
    memcpy(o.metrics, c->metrics, sizeof o.metrics);
    memcpy(o.metric_config, c->metric_config, sizeof o.metric_config);
    return o;
}

int nnc_metric_list_any_weighted(const nnc_output_opts *o) {
    for (int i = 0; i < o->n_metrics; i++)
        if (nnc_output_metric(o, i).weighted) return 1;
    return 0;
}

int nnc_metrics_any_weighted(const nnc_compile_opts *c) {
    for (int h = 0; h < c->n_outputs; h++)
        if (nnc_metric_list_any_weighted(&c->outputs[h])) return 1;
    nnc_output_opts o = shared_list(c);
    return !c->n_outputs && nnc_metric_list_any_weighted(&o);
}

/* Whether a metric differs from its kind's defaults (its name apart). */
static int is_default(const nnc_metric_config *mc, int keras) {
    const nnc_metric_desc *d = nnc_metric_desc_of(mc->kind);
    const nnc_metric_config def = nnc_metric_default(mc->kind);
    for (int i = 0; i < d->n_opts; i++) {
        const nnc_opt_desc *row = &d->opts[i];
        if (row->type == NNC_OPT_FIXED || row->type == NNC_OPT_CONST || (keras && (row->flags & NNC_OPTF_NNC_ONLY)))
            continue;
        nnc_strbuf a = {0}, b = {0};
        nnc_config_put_value(&a, row, mc, &def);
        nnc_config_put_value(&b, row, &def, &def);
        int same = a.buf && b.buf && !strcmp(a.buf, b.buf);
        nnc_sb_free(&a);
        nnc_sb_free(&b);
        if (!same) return 0;
    }
    return 1;
}

static void put_metric(nnc_strbuf *sb, const nnc_metric_config *mc, int keras) {
    const nnc_metric_desc *d = nnc_metric_desc_of(mc->kind);
    /* "accuracy" is resolved from the loss: only its string says so */
    if (mc->kind == NNC_METRIC_ACCURACY || (!mc->name[0] && is_default(mc, keras))) {
        nnc_sb_json_string(sb, d->name);
        return;
    }
    const nnc_metric_config def = nnc_metric_default(mc->kind);
    nnc_sb_printf(sb, "{\"module\":\"keras.metrics\",\"class_name\":\"%s\",\"config\":{\"name\":", d->keras_class);
    nnc_sb_json_string(sb, mc->name[0] ? mc->name : d->name);
    for (int i = 0; i < d->n_opts; i++) {
        const nnc_opt_desc *row = &d->opts[i];
        if (keras && (row->flags & NNC_OPTF_NNC_ONLY)) continue;
        nnc_sb_printf(sb, ",\"%s\":", row->config_key ? row->config_key : row->key);
        nnc_config_put_value(sb, row, mc, &def);
    }
    nnc_sb_puts(sb, "},\"registered_name\":null}");
}

void nnc_metric_list_json(const nnc_output_opts *o, nnc_strbuf *sb, int weighted, int keras) {
    int first = 1;
    nnc_sb_puts(sb, "[");
    for (int i = 0; i < o->n_metrics; i++) {
        nnc_metric_config mc = nnc_output_metric(o, i);
        if ((int)mc.weighted != weighted) continue;
        if (!first) nnc_sb_puts(sb, ",");
        put_metric(sb, &mc, keras);
        first = 0;
    }
    nnc_sb_puts(sb, "]");
}

void nnc_metrics_config_json(const nnc_compile_opts *c, nnc_strbuf *sb, int weighted, int keras) {
    nnc_output_opts o = shared_list(c);
    nnc_metric_list_json(&o, sb, weighted, keras);
}

int nnc_metric_config_parse(const nnc_json *e, nnc_metric_config *mc, char *msg, size_t n) {
    const char *name = e->type == NNC_JSON_STRING ? e->string : nnc_json_get_string(e, "class_name");
    const nnc_json *cfg = e->type == NNC_JSON_OBJECT ? nnc_json_get(e, "config") : NULL;
    char why[300];
    if (name && !strcmp(name, "MeanMetricWrapper") && cfg && cfg->type == NNC_JSON_OBJECT)
        name = nnc_json_get_string(cfg, "name"); /* a function's wrapper: its name says which */
    const nnc_metric_desc *d = nnc_metric_desc_by_name(name);
    if (!d) {
        snprintf(msg, n, "unknown metric '%s'", name ? name : "?");
        return -1;
    }
    *mc = nnc_metric_default(d->kind);
    if (!cfg || cfg->type != NNC_JSON_OBJECT) return 0;
    if (nnc_config_read_opts(d->opts, d->n_opts, cfg, mc, NULL, why, sizeof why)) {
        snprintf(msg, n, "metric %s: %s", d->keras_class, why);
        return -1;
    }
    const char *own = nnc_json_get_string(cfg, "name");
    if (own && strcmp(own, d->name) && strcmp(own, name) && strlen(own) < sizeof mc->name)
        snprintf(mc->name, sizeof mc->name, "%s", own);
    return 0;
}

int nnc_metric_list_parse(const nnc_json *list, nnc_output_opts *o, int weighted, char *msg, size_t n) {
    if (!list || list->type == NNC_JSON_NULL) return 0;
    if (list->type != NNC_JSON_ARRAY) {
        snprintf(msg, n, "compile_config: %s is not a list", weighted ? "weighted_metrics" : "metrics");
        return -1;
    }
    for (size_t i = 0; i < list->count; i++) {
        nnc_metric_config mc;
        char why[400];
        if (o->n_metrics == NNC_MAX_METRICS) {
            snprintf(msg, n, "compile_config: more than %d metrics", NNC_MAX_METRICS);
            return -1;
        }
        if (nnc_metric_config_parse(list->items[i], &mc, why, sizeof why)) {
            snprintf(msg, n, "compile_config: %s", why);
            return -1;
        }
        mc.weighted = weighted != 0;
        nnc_output_add_metric(o, &mc);
    }
    return 0;
}

int nnc_metrics_config_parse(const nnc_json *list, nnc_compile_opts *c, int weighted, char *msg, size_t n) {
    nnc_output_opts o = shared_list(c);
    if (nnc_metric_list_parse(list, &o, weighted, msg, n)) return -1;
    memcpy(c->metrics, o.metrics, sizeof o.metrics);
    memcpy(c->metric_config, o.metric_config, sizeof o.metric_config);
    c->n_metrics = o.n_metrics;
    return 0;
}
