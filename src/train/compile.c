/* Compile: checks that the loss fits the output, gathers the regularizers, builds the tape,
 * and plans parameter, gradient and optimizer memory (fixed for the model's life). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "train_impl.h"
#include "dist.h"
#include "../optim/optim.h"

/* A variable's first values: its initializer's draw, then the span set to 1 (unit_forget_bias). */
static void param_fill(nnc_model *m, const nnc_param_rec *p) {
    float *w = m->param_arena + p->offset;
    nnc_init_fill(&m->rng, p->init, p->fan_in, p->fan_out, w, p->size);
    for (int k = 0; k < p->ones_count && (size_t)(p->ones_first + k) < p->size; k++) w[p->ones_first + k] = 1.0f;
}

static void train_state_free(nnc_train_state *ts) {
    if (!ts) return;
    free(ts->penalties);
    free(ts->opt_slots);
    free(ts->state_backup);
    free(ts->batch_y);
    free(ts->batch_w);
    free(ts->fit_callbacks);
    nnc_metrics_free(ts);
    nnc_dist_free(ts->dist);
    for (int i = 0; i < ts->n_spec_callbacks; i++) nnc_callback_free(ts->spec_callbacks[i]);
    free(ts);
}

nnc_train_state *nnc_train_state_of(nnc_model *m) {
    if (m->train) return m->train;
    nnc_train_state *ts = calloc(1, sizeof *ts);
    if (!ts) {
        nnc_fail(m, NNC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    ts->fused_loss_node = -1;
    ts->grad_seed_scale = 1.0f;
    ts->spec_fit.shuffle = -1;
    ts->spec_fit.validation_split = -1.0f;
    m->train = ts;
    m->train_free = train_state_free;
    return ts;
}

nnc_status nnc_train_plan(nnc_model *m, int batch) {
    nnc_status st = nnc_plan(m, batch);
    nnc_train_state *ts = m->train;
    if (st || batch <= ts->planned_batch) return st;
    free(ts->batch_y);
    free(ts->batch_w);
    free(ts->batch_prob);
    ts->batch_w = calloc((size_t)batch + 1, sizeof(float));
    ts->batch_y = calloc((size_t)batch * (nnc_target_size(m) + 1), sizeof(float));
    /* probabilities for the metrics of a model trained from logits */
    size_t probs = nnc_metrics_prob_floats(m);
    ts->batch_prob = probs ? calloc((size_t)batch * probs + 1, sizeof(float)) : NULL;
    ts->planned_batch = ts->batch_y && ts->batch_w && (!probs || ts->batch_prob) ? batch : 0;
    if (!ts->planned_batch) return nnc_fail(m, NNC_ERR_NOMEM, "out of memory planning a batch of %d", batch);
    return NNC_OK;
}

nnc_compile_opts nnc_compile_opts_default(void) {
    nnc_compile_opts o;
    memset(&o, 0, sizeof o);
    o.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
    o.optimizer = nnc_adam_default();
    return o;
}

nnc_output_opts nnc_output_opts_default(nnc_loss loss) {
    nnc_output_opts o;
    memset(&o, 0, sizeof o);
    o.loss = loss;
    o.weight = 1.0f;
    return o;
}

nnc_compile_opts nnc_model_compile_opts(const nnc_model *m) {
    return m && m->compiled ? m->train->copts : nnc_compile_opts_default();
}

size_t nnc_target_size(const nnc_model *m) {
    if (!m || !m->compiled) return 0;
    size_t t = 0;
    for (int h = 0; h < m->train->n_heads; h++) t += (size_t)m->train->heads[h].t;
    return t;
}

size_t nnc_target_size_at(const nnc_model *m, int i) {
    if (!m || !m->compiled || i < 0 || i >= m->train->n_heads) return 0;
    return (size_t)m->train->heads[i].t;
}

/* Checks that the head's loss can read its output; decides the fused (stable) path. */
static nnc_status check_loss(nnc_model *m, nnc_head *H) {
    const nnc_loss *L = &H->o.loss;
    nnc_node_rec *o = &m->nodes[H->node];
    const char *lname = nnc_loss_name(L->kind);
    const char *layer = o->layer >= 0 ? m->layers[o->layer].name : "?";
    char shape[64];
    nnc_shape_str(&o->shape, 1, shape, sizeof shape);
    if ((unsigned)L->kind >= NNC_LOSS_COUNT) return nnc_fail(m, NNC_ERR_ARG, "compile: unknown loss");
    if (L->kind == NNC_LOSS_HUBER && !(L->delta > 0.0f))
        return nnc_fail(m, NNC_ERR_ARG, "compile: huber delta must be positive");
    int ce = L->kind == NNC_LOSS_BINARY_CROSSENTROPY || L->kind == NNC_LOSS_CATEGORICAL_CROSSENTROPY ||
             L->kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    if (ce && o->shape.rank != 1)
        return nnc_fail(m, NNC_ERR_SHAPE,
                        "compile: loss %s needs an output of shape (None, classes); layer '%s' "
                        "outputs %s", lname, layer, shape);
    if ((L->kind == NNC_LOSS_CATEGORICAL_CROSSENTROPY ||
         L->kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) && o->shape.dim[0] < 2)
        return nnc_fail(m, NNC_ERR_SHAPE,
                        "compile: loss %s needs at least 2 classes; layer '%s' outputs %s "
                        "(use binary_crossentropy for one sigmoid output)", lname, layer, shape);
    /* The stable path: a probability straight from sigmoid/softmax is scored from its logits. */
    H->fused = -1;
    if (!L->from_logits && ((L->kind == NNC_LOSS_BINARY_CROSSENTROPY && o->op == NNC_OP_ACT &&
                             o->attr.act == NNC_ACT_SIGMOID) ||
                            (ce && L->kind != NNC_LOSS_BINARY_CROSSENTROPY && o->op == NNC_OP_SOFTMAX)))
        H->fused = o->in[0];
    H->k = (int)nnc_shape_size(&o->shape);
    H->t = L->kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? 1 : H->k;
    return NNC_OK;
}

static nnc_status check_metrics(nnc_model *m, const nnc_metric *mets, int n) {
    if (n < 0 || n > NNC_MAX_METRICS)
        return nnc_fail(m, NNC_ERR_ARG, "compile: %d metrics (at most %d)", n, NNC_MAX_METRICS);
    for (int i = 0; i < n; i++)
        if ((unsigned)mets[i] >= NNC_METRIC_COUNT)
            return nnc_fail(m, NNC_ERR_ARG, "compile: unknown metric %d", (int)mets[i]);
    return NNC_OK;
}

/* One head per output: its own settings (o->outputs) or the shared loss and metrics. */
static nnc_status make_heads(nnc_model *m, const nnc_compile_opts *o) {
    nnc_train_state *ts = m->train;
    const int n = m->n_outputs;
    char list[256];
    nnc_model_output_list(m, list, sizeof list);
    if (n > NNC_MAX_OUTPUTS)
        return nnc_fail(m, NNC_ERR_ARG, "compile: the model has %d outputs (at most %d)", n, NNC_MAX_OUTPUTS);
    if (o->n_outputs < 0 || (o->n_outputs && o->n_outputs != n))
        return nnc_fail(m, NNC_ERR_ARG, "compile: %d output losses for a model of %d output%s (%s)", o->n_outputs,
                        n, n == 1 ? "" : "s", list);
    size_t off = 0;
    nnc_status st;
    for (int h = 0; h < n; h++) {
        nnc_head *H = &ts->heads[h];
        for (int j = 0; j < h; j++)
            if (m->outputs[j] == m->outputs[h])
                return nnc_fail(m, NNC_ERR_ARG, "compile: outputs %d and %d are the same tensor ('%s')", j, h,
                                nnc_model_output_name_at(m, h));
        memset(H, 0, sizeof *H);
        H->node = m->outputs[h];
        if (o->n_outputs) {
            H->o = o->outputs[h];
        } else {
            H->o = nnc_output_opts_default(o->loss);
            memcpy(H->o.metrics, o->metrics, sizeof o->metrics);
            memcpy(H->o.metric_config, o->metric_config, sizeof o->metric_config);
            H->o.n_metrics = o->n_metrics;
        }
        if (!(H->o.weight >= 0.0f) || isinf(H->o.weight))
            return nnc_fail(m, NNC_ERR_ARG, "compile: output '%s': loss weight %g must be finite and >= 0",
                            nnc_model_output_name_at(m, h), (double)H->o.weight);
        if ((st = check_metrics(m, H->o.metrics, H->o.n_metrics)) || (st = check_loss(m, H))) {
            if (n == 1) return st;
            char msg[sizeof m->error]; /* name the output the message is about */
            snprintf(msg, sizeof msg, "%s", m->error);
            return nnc_fail(m, st, "%s (output '%s')", msg, nnc_model_output_name_at(m, h));
        }
        H->t_off = off;
        off += (size_t)H->t;
    }
    ts->n_heads = n;
    ts->fused_loss_node = ts->heads[0].fused;
    return NNC_OK;
}

static nnc_status check_opts(nnc_model *m, const nnc_compile_opts *o) {
    if (m->n_inputs == 0) return nnc_fail(m, NNC_ERR_STATE, "compile: the model has no Input");
    if (m->n_outputs == 0) {
        m->outputs[0] = m->last;
        m->n_outputs = 1;
    }
    const char *bad = nnc_optimizer_check(&o->optimizer);
    if (bad) return nnc_fail(m, NNC_ERR_ARG, "compile: optimizer %s: %s",
                             nnc_optimizer_name(o->optimizer.kind), bad);
    return o->n_outputs ? NNC_OK : check_metrics(m, o->metrics, o->n_metrics);
}

/* One penalty per penalised variable or live layer output, in layer order. */
static nnc_status gather_penalties(nnc_model *m) {
    nnc_train_state *ts = m->train;
    free(ts->penalties);
    ts->penalties = malloc(((size_t)m->n_layers * NNC_LAYER_REGULARIZERS + 1) * sizeof *ts->penalties);
    if (!ts->penalties) return nnc_fail(m, NNC_ERR_NOMEM, "compile: out of memory");
    ts->n_penalties = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const nnc_layer_rec *l = &m->layers[i];
        nnc_regularizer rs[NNC_LAYER_REGULARIZERS];
        if (!nnc_layer_regularizers(l, rs)) continue;
        for (int k = 0; k < NNC_LAYER_REGULARIZERS; k++) {
            if (rs[k].l1 == 0.0f && rs[k].l2 == 0.0f) continue;
            const int activity = k == NNC_LAYER_REGULARIZERS - 1;
            int node = activity ? l->output : k < l->n_params ? m->params[l->first_param + k].node : -1;
            if (node < 0 || !m->nodes[node].live) continue;
            /* Keras 3 sums the regularizers of trainable weights only (Layer.
             * _get_regularization_losses): a frozen layer's weights add nothing */
            if (!activity && !m->params[m->nodes[node].param].trainable) continue;
            ts->penalties[ts->n_penalties].node = node;
            ts->penalties[ts->n_penalties++].r = rs[k];
            m->nodes[node].pinned = 1;
            /* A fused output's own backward is skipped because the loss seeds its logits
             * directly; a penalty on that output needs it back (its gradient then holds
             * only the penalty's share). */
            for (int h = 0; h < ts->n_heads; h++)
                if (node == ts->heads[h].node) m->nodes[node].skip_backward = 0;
        }
    }
    return NNC_OK;
}

/* What a re-compile keeps (nnc_layer_set_trainable on a compiled model): the old arenas, and
 * each variable's old place and whether it was trained. */
typedef struct {
    float *params, *grads, *slots;
    size_t *offset;
    int *trained;
    size_t n_trainable;
} kept_state;

/* Places the variables of one group (0 trained, 1 state, 2 frozen weights) from total on. */
static size_t place_group(nnc_model *m, int group, size_t total) {
    for (int i = 0; i < m->n_params; i++) {
        nnc_param_rec *p = &m->params[i];
        if ((p->trainable ? 0 : p->state ? 1 : 2) != group) continue;
        p->offset = total;
        total += p->size;
    }
    return total;
}

/* Each variable's first values: drawn (compile), or the old ones with their optimizer slots
 * where the variable was trained before and still is (a re-compile). */
static void fill_parameters(nnc_model *m, const kept_state *k) {
    nnc_train_state *ts = m->train;
    for (int i = 0; i < m->n_params; i++) {
        nnc_param_rec *p = &m->params[i];
        m->nodes[p->node].value = m->param_arena + p->offset;
        m->nodes[p->node].grad = m->grad_arena + p->offset;
        if (!k) {
            param_fill(m, p);
            continue;
        }
        memcpy(m->param_arena + p->offset, k->params + k->offset[i], p->size * sizeof(float));
        for (int s = 0; p->trainable && k->trained[i] && s < ts->n_slots; s++)
            memcpy(ts->opt_slots + (size_t)s * m->n_trainable_floats + p->offset,
                   k->slots + (size_t)s * k->n_trainable + k->offset[i], p->size * sizeof(float));
    }
}

/* Parameter, gradient and optimizer arenas: one flat block each, same layout, trained
 * variables first so that the optimizer's pass is one contiguous range, then the state that
 * a step may move (moving statistics: backed up before each step), then frozen weights. */
static nnc_status plan_parameters(nnc_model *m, const nnc_optimizer *opt, const kept_state *k) {
    nnc_train_state *ts = m->train;
    m->n_trainable_floats = place_group(m, 0, 0);
    m->n_state_floats = place_group(m, 1, m->n_trainable_floats) - m->n_trainable_floats;
    size_t total = place_group(m, 2, m->n_trainable_floats + m->n_state_floats);
#ifdef NNC_FAULT_INJECTION
    if (m->max_param_floats && total > m->max_param_floats)
        return nnc_fail(m, NNC_ERR_ARG, "compile: the model has %zu parameters, more than the %zu allowed here", total,
                        m->max_param_floats);
#endif
    m->n_param_floats = total;
    ts->n_slots = nnc_optimizer_slots(opt);
    size_t alloc = total ? total : 1;
    m->param_arena = nnc_zalloc_floats(alloc);
    m->grad_arena = nnc_zalloc_floats(alloc);
    ts->opt_slots = nnc_zalloc_floats((m->n_trainable_floats + 1) * (size_t)(ts->n_slots ? ts->n_slots : 1));
    free(ts->state_backup);
    ts->state_backup = malloc((m->n_state_floats + 1) * sizeof(float));
    if (!m->param_arena || !m->grad_arena || !ts->opt_slots || !ts->state_backup)
        return nnc_fail(m, NNC_ERR_NOMEM, "compile: out of memory for %zu parameters", total);
    nnc_optimizer_init_slots(opt, ts->opt_slots, m->n_trainable_floats);
    fill_parameters(m, k);
    return NNC_OK;
}

/* The graph's plan: liveness and gradients, the fused loss, the penalties, the tape. */
static nnc_status plan_graph(nnc_model *m) {
    nnc_tape_mark(m);
    nnc_train_state *ts = m->train;
    for (int h = 0; h < ts->n_heads; h++) {
        nnc_head *H = &ts->heads[h];
        /* an output that another live layer reads gets a gradient from it too: its own
         * backward must run, so its loss reads it rather than its logits */
        for (int i = 0; i < m->n_nodes && H->fused >= 0; i++)
            for (int k = 0; k < m->nodes[i].n_in; k++)
                if (m->nodes[i].live && m->nodes[i].in[k] == H->node) H->fused = -1;
        if (H->fused >= 0) {
            m->nodes[H->node].skip_backward = 1;
            m->nodes[H->fused].pinned = 1;
        }
    }
    ts->fused_loss_node = ts->heads[0].fused;
    nnc_status st = gather_penalties(m);
    return st ? st : nnc_tape_build(m);
}

/* An input of any length (Keras's None time axis) must reach only layers that run at any
 * length: tried one step longer, then back. */
static nnc_status check_any_length(nnc_model *m) {
    if (!m->var_length_inputs) return NNC_OK;
    int id = 0;
    while (!((m->var_length_inputs >> id) & 1u)) id++;
    const nnc_node_rec *in = &m->nodes[m->inputs[id]];
    int len = in->shape.dim[0];
    const char *name = in->layer >= 0 ? m->layers[in->layer].name : "?";
    if (nnc_model_set_sequence_length(m, len + 1) == NNC_OK && nnc_model_set_sequence_length(m, len) == NNC_OK)
        return NNC_OK;
    char why[NNC_ERR_MAX / 2];
    snprintf(why, sizeof why, "%.250s", m->error);
    return nnc_fail(m, NNC_ERR_SHAPE, "input '%s' has a time axis of any length (None), but %s: a model of any "
                    "length may hold only layers that act per step or pool the steps away", name, why);
}

nnc_status nnc_compile(nnc_model *m, const nnc_compile_opts *o) {
    if (!m || !o) return NNC_ERR_ARG;
    if (m->sticky) return m->sticky;
    if (m->compiled) return nnc_fail(m, NNC_ERR_STATE, "compile: the model is already compiled");
    nnc_status st = check_opts(m, o);
    if (st || !nnc_train_state_of(m)) return st ? st : NNC_ERR_NOMEM;
    if ((st = make_heads(m, o)) || (st = nnc_metrics_compile(m, o)) || (st = check_any_length(m))) return st;
    nnc_train_state *ts = m->train;
    if ((st = plan_graph(m)) || (st = plan_parameters(m, &o->optimizer, NULL))) return st;
    ts->copts = *o;
    if (o->n_outputs) ts->copts.loss = o->outputs[0].loss; /* the first output's, for readers of one loss */
    if (o->n_outputs == 1) { /* the one output's settings are the model's */
        memcpy(ts->copts.metrics, o->outputs[0].metrics, sizeof o->metrics);
        memcpy(ts->copts.metric_config, o->outputs[0].metric_config, sizeof o->metric_config);
        ts->copts.n_metrics = o->outputs[0].n_metrics;
    }
    ts->iterations = 0;
    ts->epochs_done = 0;
    m->compiled = 1;
    m->error[0] = '\0';
    return NNC_OK;
}

nnc_status nnc_model_set_seed(nnc_model *m, uint64_t seed) {
    if (!m) return NNC_ERR_ARG;
    if (!m->compiled) {
        nnc_rng_seed(&m->rng, seed);
        return NNC_OK;
    }
    return nnc_reinitialize(m, seed);
}

nnc_status nnc_reinitialize(nnc_model *m, uint64_t seed) {
    if (!m) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "reinitialize: the model must be compiled first");
    nnc_train_state *ts = m->train;
    nnc_rng_seed(&m->rng, seed);
    for (int i = 0; i < m->n_params; i++) {
        nnc_param_rec *p = &m->params[i];
        /* statistics that come from the data (Normalization's adapt), not from a seed */
        if (nnc_layer_state_from_data(&m->layers[p->layer])) continue;
        param_fill(m, p);
    }
    memset(ts->opt_slots, 0, (m->n_trainable_floats + 1) * (size_t)(ts->n_slots ? ts->n_slots : 1) * sizeof(float));
    nnc_optimizer_init_slots(&ts->copts.optimizer, ts->opt_slots, m->n_trainable_floats);
    ts->iterations = 0;
    ts->epochs_done = 0;
    return NNC_OK;
}

/* "a, b, c" of the model's layers, cut to fit n. */
static void layer_list(const nnc_model *m, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < m->n_layers && len + 8 < n; i++) {
        int w = snprintf(buf + len, n - len, "%s%s", i ? ", " : "", m->layers[i].name);
        if (w < 0 || len + (size_t)w + 8 >= n) {
            snprintf(buf + len, n - len, "%s...", i ? ", " : "");
            return;
        }
        len += (size_t)w;
    }
}

/* Plans the graph and the arenas again after a change of trainability, keeping the values. */
static nnc_status recompile(nnc_model *m, kept_state *k) {
    nnc_train_state *ts = m->train;
    const int batch = m->planned_batch; /* planned again: a callback may call this inside fit */
    nnc_status st = plan_graph(m);
    if (!st) st = plan_parameters(m, &ts->copts.optimizer, k);
    if (!st && batch) st = nnc_plan(m, batch);
    if (m->param_arena != k->params) free(k->params);
    if (m->grad_arena != k->grads) free(k->grads);
    if (ts->opt_slots != k->slots) free(k->slots);
    return st;
}

nnc_status nnc_layer_set_trainable(nnc_model *m, const char *name, bool trainable) {
    if (!m || !name) return NNC_ERR_ARG;
    if (m->sticky) return m->sticky;
    const int l = nnc_find_layer(m, name);
    if (l < 0) {
        char list[400];
        layer_list(m, list, sizeof list);
        return nnc_fail(m, NNC_ERR_ARG, "no layer is named '%.64s' (the layers: %s)", name, list);
    }
    nnc_layer_rec *L = &m->layers[l];
    if (L->frozen == !trainable) return NNC_OK;
    kept_state k = {0};
    if (m->compiled) {
        k = (kept_state){m->param_arena, m->grad_arena, m->train->opt_slots,
                         malloc(((size_t)m->n_params + 1) * sizeof *k.offset),
                         malloc(((size_t)m->n_params + 1) * sizeof *k.trained), m->n_trainable_floats};
        if (!k.offset || !k.trained) {
            free(k.offset);
            free(k.trained);
            return nnc_fail(m, NNC_ERR_NOMEM, "set_trainable: out of memory");
        }
        for (int i = 0; i < m->n_params; i++) k.offset[i] = m->params[i].offset, k.trained[i] = m->params[i].trainable;
    }
    L->frozen = !trainable;
    for (int p = L->first_param; p < L->first_param + L->n_params; p++)
        m->params[p].trainable = trainable && !m->params[p].state;
    nnc_status st = m->compiled ? recompile(m, &k) : NNC_OK;
    free(k.offset);
    free(k.trained);
    return st;
}

int nnc_layer_trainable(const nnc_model *m, const char *name) {
    const int l = m && name ? nnc_find_layer(m, name) : -1;
    return l < 0 ? -1 : !m->layers[l].frozen;
}
