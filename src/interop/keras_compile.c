/* What Keras stored about training, as compile settings for nnc (keras_read.h): the loss, the
 * metrics and the optimizer of a legacy file's training_config (Keras 2 and 3) or a .keras
 * zip's compile_config. Keras writes them in several shapes:
 *   1. loss: a name ("categorical_crossentropy"), a serialized object ({"class_name":
 *      "BinaryCrossentropy", "config": {"from_logits": ...}}), a function object ({"class_name":
 *      "function", "config": "mse"}), or one per output (a dict or a list);
 *   2. metrics and weighted_metrics: names, objects (MeanMetricWrapper, Precision, AUC ...,
 *      their arguments read by the metric rows), or a list per output;
 *   3. optimizer: "optimizer" (compile_config) or "optimizer_config" (training_config), as
 *      {class_name, config}; Keras 2's "lr" and "decay" (lr / (1 + decay·iterations), which
 *      is InverseTimeDecay with decay_steps 1); mixed precision's LossScaleOptimizer around
 *      the real one.
 * What nnc has not (a loss, a metric, an optimizer, label smoothing) is replaced or dropped
 * with a note on the model, never refused: the weights predict the same whatever trains them. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include "keras_read.h"
#include "../io/keras_config.h"
#include "../losses/losses.h"

/* The one entry of a per-output dict or list (nnc models have one output). */
static const nnc_json *single(const nnc_json *j) {
    while (j && (j->type == NNC_JSON_ARRAY || (j->type == NNC_JSON_OBJECT && !nnc_json_get(j, "class_name"))) &&
           j->count == 1)
        j = j->items[0];
    return j;
}

/* A loss's or metric's name: the string, a function object's config, or the class name. */
static const char *object_name(const nnc_json *j) {
    if (!j) return NULL;
    if (j->type == NNC_JSON_STRING) return j->string;
    const char *cls = nnc_json_get_string(j, "class_name");
    if (cls && !strcmp(cls, "function")) return nnc_json_get_string(j, "config");
    return cls;
}

/* The loss whose output layer makes it the natural one: softmax probabilities are scored by
 * categorical cross-entropy, a sigmoid by binary cross-entropy, anything else by MSE. */
static nnc_loss loss_for_output(const nnc_model *m, const char **why) {
    int out = nnc_output_node(m);
    const nnc_node_rec *o = out >= 0 ? &m->nodes[out] : NULL;
    if (o && o->op == NNC_OP_SOFTMAX && o->shape.rank == 1 && o->shape.dim[0] >= 2) {
        *why = "the output is a softmax";
        return nnc_loss_default(NNC_LOSS_CATEGORICAL_CROSSENTROPY);
    }
    if (o && o->op == NNC_OP_ACT && o->attr.act == NNC_ACT_SIGMOID && o->shape.rank == 1) {
        *why = "the output is a sigmoid";
        return nnc_loss_default(NNC_LOSS_BINARY_CROSSENTROPY);
    }
    *why = "the output is not a softmax or a sigmoid";
    return nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
}

static void read_loss(nnc_model *m, const nnc_json *loss, nnc_loss *out) {
    const nnc_json *l = single(loss);
    const char *name = object_name(l), *why;
    if (!name || nnc_loss_parse(name, &out->kind)) {
        *out = loss_for_output(m, &why);
        nnc_note(m, "the file's loss %s%s%s is not one nnc has (one output, one of its losses); compiled with %s "
                 "(%s) to predict and evaluate; a spec's loss line trains with another", name ? "'" : "",
                 name ? name : "(several, or unreadable)", name ? "'" : "", nnc_loss_name(out->kind), why);
        return;
    }
    const nnc_json *c = l->type == NNC_JSON_OBJECT ? nnc_json_get(l, "config") : NULL;
    const nnc_json *fl = c && c->type == NNC_JSON_OBJECT ? nnc_json_get(c, "from_logits") : NULL;
    double v;
    *out = nnc_loss_default(out->kind);
    out->from_logits = fl && fl->type == NNC_JSON_BOOL && fl->boolean;
    if (c && c->type == NNC_JSON_OBJECT && nnc_json_get_number(c, "delta", &v) && v > 0.0) out->delta = (float)v;
    if (c && c->type == NNC_JSON_OBJECT && nnc_json_get_number(c, "label_smoothing", &v) && v != 0.0)
        nnc_note(m, "the loss's label_smoothing %g is dropped (nnc has none; it matters only in training)", v);
}

/* A metrics list (or one per output) read leniently: what nnc has not is dropped with a note;
 * a metric already in the list is not added twice. */
static void read_metrics(nnc_model *m, const nnc_json *mets, nnc_compile_opts *c, int weighted) {
    mets = single(mets);
    if (!mets || mets->type == NNC_JSON_NULL) return;
    const nnc_json *one[1] = {mets};
    const nnc_json *const *items = mets->type == NNC_JSON_ARRAY ? (const nnc_json *const *)mets->items : one;
    size_t count = mets->type == NNC_JSON_ARRAY ? mets->count : 1;
    for (size_t i = 0; i < count; i++) {
        nnc_metric_config mc;
        char why[400];
        if (nnc_metric_config_parse(items[i], &mc, why, sizeof why)) {
            const char *name = object_name(items[i]);
            int unknown = !strncmp(why, "unknown metric", 14);
            nnc_note(m, "the file's %smetric '%s' is dropped (%s)", weighted ? "weighted " : "", name ? name : "?",
                     unknown ? "not one of nnc's metrics: docs/SPEC.md lists them" : why);
            continue;
        }
        mc.weighted = weighted != 0;
        int dup = 0;
        for (int j = 0; j < c->n_metrics; j++) {
            nnc_metric_config o = nnc_compile_metric(c, j);
            dup |= o.kind == mc.kind && o.weighted == mc.weighted && !memcmp(&o, &mc, sizeof o);
        }
        if (!dup && nnc_compile_add_metric(c, &mc) != NNC_OK)
            nnc_note(m, "the file's metric '%s' is dropped (nnc keeps %d)", nnc_metric_name(mc.kind), NNC_MAX_METRICS);
    }
}

/* The optimizer, or Keras's default (rmsprop) with a note; *known tells whether the file's
 * optimizer state may be mapped onto it. */
static void read_optimizer(nnc_model *m, const nnc_json *opt, nnc_optimizer *o, int *known) {
    char why[300];
    const char *cls = opt ? nnc_json_get_string(opt, "class_name") : NULL;
    const nnc_json *oc = opt ? nnc_json_get(opt, "config") : NULL;
    if (cls && !strcmp(cls, "LossScaleOptimizer") && oc) { /* mixed precision: the real one inside */
        opt = nnc_json_get(oc, "inner_optimizer");
        oc = opt ? nnc_json_get(opt, "config") : NULL;
        cls = opt ? nnc_json_get_string(opt, "class_name") : NULL;
    }
    *known = 0;
    *o = nnc_rmsprop_default();
    if (opt && opt->type == NNC_JSON_STRING) { /* compile(optimizer="adam"): its defaults */
        if (nnc_optimizer_parse(opt->string, o) == NNC_OK) *known = 1;
        else nnc_note(m, "the file's optimizer '%s' is not one nnc has; rmsprop (Keras's default) stands in and its "
                      "state is dropped", opt->string);
        return;
    }
    if (!opt || nnc_optimizer_config_parse(opt, o, why, sizeof why)) {
        *o = nnc_rmsprop_default();
        if (opt) nnc_note(m, "the file's optimizer cannot be used (%s); rmsprop (Keras's default) stands in and "
                          "its state is dropped", why);
        return;
    }
    double decay;
    if (oc && nnc_json_get_number(oc, "decay", &decay) && decay > 0.0 && o->schedule.kind == NNC_SCHEDULE_NONE) {
        /* Keras 2's lr / (1 + decay·iterations) */
        o->schedule = nnc_schedule_default(NNC_SCHEDULE_INVERSE_TIME_DECAY);
        o->schedule.initial_learning_rate = o->learning_rate;
        o->schedule.decay_steps = 1.0f;
        o->schedule.decay_rate = (float)decay;
    }
    double steps;
    if (oc && nnc_json_get_number(oc, "gradient_accumulation_steps", &steps) && steps > 1.0)
        nnc_note(m, "the optimizer's gradient_accumulation_steps %g is not kept (nnc train --steps-per-update "
                 "does it)", steps);
    *known = 1;
}

void nnc_keras_compile_opts(nnc_model *m, const nnc_json *tc, nnc_compile_opts *c, int *optimizer_known) {
    *c = nnc_compile_opts_default();
    *optimizer_known = 0;
    const char *why;
    if (!tc || tc->type != NNC_JSON_OBJECT) {
        c->loss = loss_for_output(m, &why);
        c->optimizer = nnc_rmsprop_default();
        nnc_note(m, "the file holds no compile settings (Keras saved the model uncompiled): compiled with loss %s "
                 "(%s) and rmsprop to predict and evaluate; a spec's loss line trains with another",
                 nnc_loss_name(c->loss.kind), why);
        return;
    }
    const nnc_json *loss = nnc_json_get(tc, "loss");
    char msg[300];
    if (nnc_model_n_outputs(m) > 1 && loss &&
        (loss->type == NNC_JSON_ARRAY || (loss->type == NNC_JSON_OBJECT && !nnc_json_get(loss, "class_name")))) {
        /* per output: a list in output order, or a dict of output names */
        if (nnc_outputs_config_parse(m, tc, c, msg, sizeof msg)) {
            c->n_outputs = 0;
            c->loss = loss_for_output(m, &why);
            nnc_note(m, "the file's losses cannot be used (%s): compiled with %s for every output (%s)", msg,
                     nnc_loss_name(c->loss.kind), why);
        }
    } else if (!loss || loss->type == NNC_JSON_NULL) {
        c->loss = loss_for_output(m, &why);
        nnc_note(m, "the file's compile settings have no loss: compiled with %s (%s)", nnc_loss_name(c->loss.kind), why);
    } else {
        read_loss(m, loss, &c->loss);
    }
    if (!c->n_outputs) { /* several outputs: read with their losses above */
        read_metrics(m, nnc_json_get(tc, "metrics"), c, 0);
        read_metrics(m, nnc_json_get(tc, "weighted_metrics"), c, 1);
    }
    const nnc_json *opt = nnc_json_get(tc, "optimizer");
    if (!opt || (opt->type != NNC_JSON_OBJECT && opt->type != NNC_JSON_STRING)) opt = nnc_json_get(tc, "optimizer_config");
    int usable = opt && (opt->type == NNC_JSON_OBJECT || opt->type == NNC_JSON_STRING);
    read_optimizer(m, usable ? opt : NULL, &c->optimizer, optimizer_known);
}
