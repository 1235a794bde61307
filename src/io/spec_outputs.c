/* The spec statements about the model's outputs and their losses (docs/SPEC.md, "Several
 * outputs"): `outputs a b` names the model's outputs (Keras's Model(inputs, [a, b])); `loss`
 * gives one loss, or one per output by name (`loss a=mse b=binary_crossentropy`) or in
 * output order; `loss_weights` weighs them (`loss_weights 1 0.2` or `a=1 b=0.2`); `metrics`
 * with output names gives each output its own (`metrics a=accuracy b=[mae,mse]`). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include "spec_outputs.h"
#include "../core/layers_impl.h"
#include "../core/model_impl.h"
#include "../losses/losses.h"

/* The index of the output whose layer is named `name`, or -1 (with the error) when none. */
static int output_named(spec_ctx *c, const char *name) {
    for (int i = 0; i < nnc_model_n_outputs(c->m); i++)
        if (!strcmp(nnc_model_output_name_at(c->m, i), name)) return i;
    char list[256], buf[256];
    nnc_model_output_list(c->m, list, sizeof list);
    spec_near n;
    spec_near_start(&n, name);
    spec_near_list(&n, list, buf, sizeof buf);
    char tail[300];
    snprintf(tail, sizeof tail, "the outputs: %s", list);
    spec_fail_near(c, &n, tail, "%s: no output is named '%s'", c->stmt, name);
    return -1;
}

int spec_stmt_outputs(spec_ctx *c) {
    nnc_node outs[NNC_MAX_OUTPUTS];
    int n = 0;
    for (int k = 0; k < c->n; k++) {
        spec_word *w = &c->w[k];
        if (w->key[0]) return spec_fail(c, "outputs: unexpected key '%s' (list the output layers' names)", w->key);
        char buf[SPEC_WORD_MAX];
        size_t len = strlen(w->val);
        int list = w->val[0] == '[' && len >= 2 && w->val[len - 1] == ']';
        snprintf(buf, sizeof buf, "%.*s", (int)(list ? len - 2 : len), w->val + list);
        for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            const int l = nnc_find_layer(c->m, tok);
            if (l < 0 || c->m->layers[l].output < 0)
                return spec_fail(c, "outputs: no layer is named '%s'", tok);
            if (n == NNC_MAX_OUTPUTS) return spec_fail(c, "outputs: more than %d", NNC_MAX_OUTPUTS);
            for (int j = 0; j < n; j++)
                if (outs[j] == c->m->layers[l].output) return spec_fail(c, "outputs: '%s' named twice", tok);
            outs[n++] = c->m->layers[l].output;
        }
        w->used = 1;
    }
    if (!n) return spec_fail(c, "outputs: name the output layers (outputs a b)");
    return nnc_set_outputs(c->m, outs, n) ? spec_fail(c, "outputs: %s", nnc_last_error(c->m)) : 0;
}

/* A loss's name into *k, or the error with the names it could have been. */
static int loss_name(spec_ctx *c, const char *name, nnc_loss_kind *k) {
    if (!nnc_loss_parse(name, k)) return 0;
    char list[512] = "one of ";
    size_t len = strlen(list);
    spec_near n;
    spec_near_start(&n, name);
    for (int i = 0; i < NNC_LOSS_COUNT && len < sizeof list; i++) {
        spec_near_try_styled(&n, nnc_loss_name((nnc_loss_kind)i), nnc_loss_class((nnc_loss_kind)i));
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", nnc_loss_name((nnc_loss_kind)i));
    }
    spec_near_try(&n, "mse");
    spec_near_try(&n, "mae");
    if (len < sizeof list) snprintf(list + len, sizeof list - len, ", or mse, mae");
    return spec_fail_near(c, &n, list, "loss: unknown loss '%s'", name);
}

/* A loss word: NAME or NAME(from_logits=true, delta=2); base gives the keys it does not. */
static int loss_word(spec_ctx *c, const char *text, const nnc_loss *base, nnc_loss *L) {
    const char *open = strchr(text, '(');
    size_t len = strlen(text);
    char name[64], what[SPEC_WORD_MAX + 16];
    if (open && (open == text || text[len - 1] != ')'))
        return spec_fail(c, "loss: bad loss '%s' (a name, or a call such as huber(delta=2))", text);
    snprintf(name, sizeof name, "%.*s", open ? (int)(open - text) < 63 ? (int)(open - text) : 63 : 63, text);
    nnc_loss_kind k;
    if (loss_name(c, name, &k)) return -1;
    *L = nnc_loss_default(k);
    L->from_logits = base->from_logits;
    L->delta = base->delta;
    if (!open) return 0;
    spec_ctx sub;
    snprintf(what, sizeof what, "loss: %s", text);
    if (spec_split_call(c, open + 1, (size_t)(text + len - 1 - (open + 1)), what, &sub) ||
        spec_bool(&sub, -1, "from_logits", &L->from_logits) || spec_float(&sub, -1, "delta", 1e-30, 1e30, &L->delta))
        return -1;
    return spec_check_all_used(&sub, "from_logits, delta");
}

/* Output h's settings, made from the shared ones the first time a line names it. */
static nnc_output_opts *output_opts(nnc_compile_opts *co, int n_out, int h) {
    if (co->n_outputs != n_out) {
        for (int i = 0; i < n_out; i++) {
            co->outputs[i] = nnc_output_opts_default(co->loss);
            memcpy(co->outputs[i].metrics, co->metrics, sizeof co->metrics);
            memcpy(co->outputs[i].metric_config, co->metric_config, sizeof co->metric_config);
            co->outputs[i].n_metrics = co->n_metrics;
        }
        co->n_outputs = n_out;
    }
    return &co->outputs[h];
}

int spec_stmt_loss(spec_ctx *c, nnc_compile_opts *co) {
    nnc_loss base = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
    if (spec_bool(c, -1, "from_logits", &base.from_logits) || spec_float(c, -1, "delta", 1e-30, 1e30, &base.delta))
        return -1;
    const int n_out = nnc_model_n_outputs(c->m);
    int named = 0, pos = 0;
    for (int k = 0; k < c->n; k++) {
        if (c->w[k].used) continue;
        if (c->w[k].key[0]) named++;
        else pos++;
    }
    if (!named && !pos) return spec_fail(c, "loss: missing the loss's name");
    if (named && pos) return spec_fail(c, "loss: give the losses by output name (a=mse b=mae) or in output order, not both");
    char list[256];
    nnc_model_output_list(c->m, list, sizeof list);
    if (pos > 1 && pos != n_out)
        return spec_fail(c, "loss: %d losses for %d output%s (%s)", pos, n_out, n_out == 1 ? "" : "s", list);
    if (n_out == 1 && !named) { /* one output, one loss: Keras's compile(loss=...) */
        spec_word *w = spec_positional(c, 0);
        w->used = 1;
        if (loss_word(c, w->val, &base, &co->loss)) return -1;
        if (co->n_outputs == 1) co->outputs[0].loss = co->loss;
        return spec_check_all_used(c, "from_logits, delta");
    }
    int given[NNC_MAX_OUTPUTS] = {0};
    for (int k = 0, i = 0; k < c->n; k++) {
        spec_word *w = &c->w[k];
        if (w->used) continue;
        const int h = named ? output_named(c, w->key) : i++;
        if (h < 0) return -1;
        nnc_loss L;
        if (loss_word(c, w->val, &base, &L)) return -1;
        w->used = 1;
        for (int j = pos == 1 ? 0 : h; j < (pos == 1 ? n_out : h + 1); j++) {
            output_opts(co, n_out, j)->loss = L;
            given[j] = 1;
        }
        if (pos == 1) co->loss = L;
    }
    for (int h = 0; h < n_out; h++)
        if (!given[h])
            return spec_fail(c, "loss: no loss for output '%s' (name every output: %s)", nnc_model_output_name_at(c->m, h),
                             list);
    return 0;
}

int spec_stmt_loss_weights(spec_ctx *c, nnc_compile_opts *co) {
    const int n_out = nnc_model_n_outputs(c->m);
    char list[256];
    nnc_model_output_list(c->m, list, sizeof list);
    int named = 0, pos = 0;
    for (int k = 0; k < c->n; k++) c->w[k].key[0] ? named++ : pos++;
    if (named && pos) return spec_fail(c, "loss_weights: give the weights by output name (a=1 b=0.2) or in output order, not both");
    if (pos && pos != n_out)
        return spec_fail(c, "loss_weights: %d weight%s for %d output%s (%s)", pos, pos == 1 ? "" : "s", n_out,
                         n_out == 1 ? "" : "s", list);
    if (!named && !pos) return spec_fail(c, "loss_weights: one weight per output (%s)", list);
    for (int k = 0, i = 0; k < c->n; k++) {
        spec_word *w = &c->w[k];
        const int h = named ? output_named(c, w->key) : i++;
        double v;
        if (h < 0) return -1;
        if (spec_parse_double(w->val, &v) || !(v >= 0) || v > 1e30)
            return spec_fail(c, "loss_weights: bad weight '%s' (a number >= 0)", w->val);
        output_opts(co, n_out, h)->weight = (float)v;
        w->used = 1;
    }
    return 0;
}

/* The next metric of a list, up to a comma or space outside brackets: "auc(curve=PR, x=1)". */
static const char *next_metric(const char *p, char *out, size_t n) {
    while (*p == ',' || *p == ' ') p++;
    size_t len = 0;
    for (int depth = 0; *p && (depth || (*p != ',' && *p != ' ')); p++) {
        depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
        if (len + 1 < n) out[len++] = *p;
    }
    out[len] = '\0';
    return p;
}

int spec_stmt_metrics_outputs(spec_ctx *c, nnc_compile_opts *co) {
    const int n_out = nnc_model_n_outputs(c->m);
    for (int k = 0; k < c->n; k++) {
        spec_word *w = &c->w[k];
        const int h = w->key[0] ? output_named(c, w->key) : 0;
        if (h < 0) return -1;
        char buf[SPEC_WORD_MAX], tok[SPEC_WORD_MAX];
        size_t len = strlen(w->val);
        int list = w->val[0] == '[' && len >= 2 && w->val[len - 1] == ']';
        snprintf(buf, sizeof buf, "%.*s", (int)(list ? len - 2 : len), w->val + list);
        for (const char *p = next_metric(buf, tok, sizeof tok); tok[0]; p = next_metric(p, tok, sizeof tok)) {
            nnc_metric_config mc;
            if (spec_metric(c, tok, &mc)) return -1;
            for (int j = w->key[0] ? h : 0; j < (w->key[0] ? h + 1 : n_out); j++) /* unnamed: every output */
                if (nnc_output_add_metric(output_opts(co, n_out, j), &mc))
                    return spec_fail(c, "%s: at most %d per output", c->stmt, NNC_MAX_METRICS);
        }
        w->used = 1;
    }
    return 0;
}
