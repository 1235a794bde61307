/* Compile and run: turns the graph into a tape, plans every buffer, and runs forward and
 * backward passes. compile plans parameters, gradients and optimizer state (fixed for the
 * model's life); nnc_plan plans activations for a batch size, once, before the steps that use
 * it, so a training step allocates nothing. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "../core/model_impl.h"
#include "../optim/optim.h"
#include "train_impl.h"
#include "../backend/cpu/parallel.h"

nnc_compile_opts nnc_compile_opts_default(void) {
    nnc_compile_opts o;
    memset(&o, 0, sizeof o);
    o.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
    o.optimizer = nnc_adam_default();
    return o;
}

size_t nnc_input_size(const nnc_model *m) {
    size_t s = 0;
    for (int i = 0; i < m->n_inputs; i++) s += nnc_shape_size(&m->nodes[m->inputs[i]].shape);
    return s;
}

size_t nnc_output_size(const nnc_model *m) {
    int out = m->n_outputs ? m->outputs[0] : m->last;
    return out >= 0 ? nnc_shape_size(&m->nodes[out].shape) : 0;
}

size_t nnc_target_size(const nnc_model *m) {
    return m->copts.loss.kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? 1 : nnc_output_size(m);
}

size_t nnc_param_count(const nnc_model *m) { return m->n_param_floats; }

/* Checks that the loss can read the output; fills the fusion decision. */
static nnc_status check_loss(nnc_model *m, const nnc_loss *L) {
    int out = m->outputs[0];
    nnc_node_rec *o = &m->nodes[out];
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
    m->fused_loss_node = -1;
    if (!L->from_logits && ((L->kind == NNC_LOSS_BINARY_CROSSENTROPY && o->op == NNC_OP_ACT &&
                             o->attr.act == NNC_ACT_SIGMOID) ||
                            (ce && L->kind != NNC_LOSS_BINARY_CROSSENTROPY && o->op == NNC_OP_SOFTMAX)))
        m->fused_loss_node = o->in[0];
    return NNC_OK;
}

static void free_plan(nnc_model *m) {
    free(m->act_arena);
    free(m->batch_y);
    free(m->work);
    free(m->batch_w);
    free(m->zero_ranges);
    m->act_arena = m->batch_y = m->work = m->batch_w = NULL;
    m->zero_ranges = NULL;
    m->n_zero_ranges = 0;
    m->work_floats = 0;
    m->planned_batch = 0;
}

/* The tape: live ops in creation order, less those fused into another op's pass. */
static nnc_status build_tape(nnc_model *m) {
    nnc_status st = nnc_fuse_epilogues(m);
    if (st) return st;
    free(m->tape);
    m->tape = malloc((size_t)m->n_nodes * sizeof *m->tape);
    if (!m->tape) return nnc_fail(m, NNC_ERR_NOMEM, "compile: out of memory");
    m->n_tape = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nnc_node_rec *n = &m->nodes[i];
        if (n->live && n->op != NNC_OP_INPUT && n->op != NNC_OP_PARAM && n->fused_into < 0)
            m->tape[m->n_tape++] = i;
    }
    return nnc_plan_grad_writers(m);
}

/* needs_grad: a trainable parameter lies upstream (creation order is topological). */
static void mark_needs_grad(nnc_model *m) {
    for (int i = 0; i < m->n_nodes; i++) {
        nnc_node_rec *n = &m->nodes[i];
        n->needs_grad = n->op == NNC_OP_PARAM && m->params[n->param].trainable;
        for (int k = 0; k < n->n_in; k++) n->needs_grad |= m->nodes[n->in[k]].needs_grad;
    }
}

nnc_status nnc_set_fusion(nnc_model *m, int on) {
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "set_fusion: the model must be compiled first");
    m->no_fusion = !on;
    free_plan(m);
    mark_needs_grad(m); /* fusion may have widened it */
    return build_tape(m);
}

nnc_status nnc_compile(nnc_model *m, const nnc_compile_opts *o) {
    if (!m || !o) return NNC_ERR_ARG;
    if (m->sticky) return m->sticky;
    if (m->compiled) return nnc_fail(m, NNC_ERR_STATE, "compile: the model is already compiled");
    if (m->n_inputs == 0) return nnc_fail(m, NNC_ERR_STATE, "compile: the model has no Input");
    if (m->n_outputs == 0) {
        m->outputs[0] = m->last;
        m->n_outputs = 1;
    }
    if (m->n_outputs != 1)
        return nnc_fail(m, NNC_ERR_ARG, "compile: one loss needs one output; the model has %d",
                        m->n_outputs);
    const char *bad = nnc_optimizer_check(&o->optimizer);
    if (bad) return nnc_fail(m, NNC_ERR_ARG, "compile: optimizer %s: %s",
                             nnc_optimizer_name(o->optimizer.kind), bad);
    if (o->n_metrics < 0 || o->n_metrics > NNC_MAX_METRICS)
        return nnc_fail(m, NNC_ERR_ARG, "compile: %d metrics (at most %d)", o->n_metrics, NNC_MAX_METRICS);
    for (int i = 0; i < o->n_metrics; i++)
        if ((unsigned)o->metrics[i] >= NNC_METRIC_COUNT)
            return nnc_fail(m, NNC_ERR_ARG, "compile: unknown metric %d", (int)o->metrics[i]);
    nnc_status st = check_loss(m, &o->loss);
    if (st) return st;

    /* Liveness: nodes only refer to earlier nodes, so one backward sweep marks everything an
     * output depends on, and creation order is already a topological order for the tape. */
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].live = 0;
    m->nodes[m->outputs[0]].live = 1;
    for (int i = m->n_nodes - 1; i >= 0; i--)
        if (m->nodes[i].live)
            for (int k = 0; k < m->nodes[i].n_in; k++) m->nodes[m->nodes[i].in[k]].live = 1;
    mark_needs_grad(m);
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].skip_backward = 0;
    if (m->fused_loss_node >= 0) m->nodes[m->outputs[0]].skip_backward = 1;

    /* Regularizers: one entry per penalised variable or layer output. */
    free(m->penalties);
    m->penalties = malloc(((size_t)m->n_layers * 3 + 1) * sizeof *m->penalties);
    if (!m->penalties) return nnc_fail(m, NNC_ERR_NOMEM, "compile: out of memory");
    m->n_penalties = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const nnc_layer_rec *l = &m->layers[i];
        const nnc_regularizer *kr, *br, *ar;
        if (l->kind == NNC_LAYER_DENSE)
            kr = &l->cfg.dense.kernel_regularizer, br = &l->cfg.dense.bias_regularizer, ar = &l->cfg.dense.activity_regularizer;
        else if (l->kind == NNC_LAYER_CONV2D || l->kind == NNC_LAYER_CONV1D)
            kr = &l->cfg.conv.kernel_regularizer, br = &l->cfg.conv.bias_regularizer, ar = &l->cfg.conv.activity_regularizer;
        else
            continue;
        const nnc_regularizer *rs[3] = {kr, br, ar};
        for (int k = 0; k < 3; k++) {
            if (rs[k]->l1 == 0.0f && rs[k]->l2 == 0.0f) continue;
            int node = k == 2 ? l->output : k < l->n_params ? m->params[l->first_param + k].node : -1;
            if (node < 0 || !m->nodes[node].live) continue;
            m->penalties[m->n_penalties].node = node;
            m->penalties[m->n_penalties++].r = *rs[k];
            /* A fused output's own backward is skipped because the loss seeds its logits
             * directly; a penalty on that output needs it back (its gradient then holds
             * only the penalty's share). */
            if (node == m->outputs[0]) m->nodes[node].skip_backward = 0;
        }
    }

    if ((st = build_tape(m))) return st;

    /* Parameter, gradient and optimizer arenas: one flat block each, same layout. */
    /* Trainable variables first, so the optimizer's pass is one contiguous range. */
    size_t total = 0;
    for (int pass = 1; pass >= 0; pass--) {
        for (int i = 0; i < m->n_params; i++)
            if (m->params[i].trainable == pass) {
                m->params[i].offset = total;
                total += m->params[i].size;
            }
        if (pass == 1) m->n_trainable_floats = total;
    }
    if (m->max_param_floats && total > m->max_param_floats)
        return nnc_fail(m, NNC_ERR_ARG, "compile: the model has %zu parameters, more than the %zu allowed here", total,
                        m->max_param_floats);
    m->n_param_floats = total;
    m->n_slots = nnc_optimizer_slots(&o->optimizer);
    size_t alloc = total ? total : 1;
    m->param_arena = calloc(alloc, sizeof(float));
    m->grad_arena = calloc(alloc, sizeof(float));
    m->opt_slots = calloc((m->n_trainable_floats + 1) * (size_t)(m->n_slots ? m->n_slots : 1),
                          sizeof(float));
    free(m->state_backup);
    m->state_backup = malloc((total - m->n_trainable_floats + 1) * sizeof(float));
    if (!m->param_arena || !m->grad_arena || !m->opt_slots || !m->state_backup)
        return nnc_fail(m, NNC_ERR_NOMEM, "compile: out of memory for %zu parameters", total);
    nnc_optimizer_init_slots(&o->optimizer, m->opt_slots, m->n_trainable_floats);
    for (int i = 0; i < m->n_params; i++) {
        nnc_param_rec *p = &m->params[i];
        m->nodes[p->node].value = m->param_arena + p->offset;
        m->nodes[p->node].grad = m->grad_arena + p->offset;
        nnc_init_fill(&m->rng, p->init, p->fan_in, p->fan_out, m->param_arena + p->offset, p->size);
    }
    m->copts = *o;
    m->iterations = 0;
    m->epochs_done = 0;
    m->compiled = 1;
    free_plan(m);
    m->error[0] = '\0';
    return NNC_OK;
}

nnc_status nnc_reinitialize(nnc_model *m, uint64_t seed) {
    if (!m) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "reinitialize: the model must be compiled first");
    nnc_rng_seed(&m->rng, seed);
    for (int i = 0; i < m->n_params; i++) {
        nnc_param_rec *p = &m->params[i];
        /* Normalization's statistics come from the data (nnc_adapt), not from a seed. */
        if (m->layers[p->layer].kind == NNC_LAYER_NORMALIZATION) continue;
        nnc_init_fill(&m->rng, p->init, p->fan_in, p->fan_out, m->param_arena + p->offset, p->size);
    }
    memset(m->opt_slots, 0, (m->n_trainable_floats + 1) * (size_t)(m->n_slots ? m->n_slots : 1) * sizeof(float));
    nnc_optimizer_init_slots(&m->copts.optimizer, m->opt_slots, m->n_trainable_floats);
    m->iterations = 0;
    m->epochs_done = 0;
    return NNC_OK;
}

nnc_status nnc_plan(nnc_model *m, int batch) {
    if (batch <= m->planned_batch) return NNC_OK;
    free_plan(m);
    size_t total = 0, aux = 0, work = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const nnc_node_rec *n = &m->nodes[i];
        if (!n->live || n->fused_into >= 0) continue;
        if (n->batched) total += nnc_node_numel(m, i, batch);
        const nnc_op_def *d = nnc_op_table[n->op];
        if (d->aux_size) aux += d->aux_size(m, i, batch);
        if (d->work_size) {
            size_t w = d->work_size(m, i, batch);
            work = w > work ? w : work;
        }
    }
    m->act_arena = calloc(2 * total + aux + 1, sizeof(float));
    m->work = calloc(work + 1, sizeof(float));
    m->work_floats = work;
    m->batch_w = calloc((size_t)batch + 1, sizeof(float));
    m->batch_y = calloc((size_t)batch * (nnc_target_size(m) + 1), sizeof(float));
    if (!m->act_arena || !m->batch_y || !m->work || !m->batch_w) {
        free_plan(m);
        return nnc_fail(m, NNC_ERR_NOMEM, "out of memory planning a batch of %d", batch);
    }
    /* Values first, then gradients in the same order, so zeroing the gradients is one memset. */
    size_t off = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        nnc_node_rec *n = &m->nodes[i];
        if (!n->live || !n->batched || n->fused_into >= 0) continue;
        n->value = m->act_arena + off;
        n->grad = m->act_arena + total + off;
        off += nnc_node_numel(m, i, batch);
    }
    for (int i = 0; i < m->n_nodes; i++) { /* fused nodes share their executor's buffers */
        nnc_node_rec *n = &m->nodes[i];
        if (!n->live || n->fused_into < 0) continue;
        const nnc_node_rec *x = &m->nodes[n->fused_into];
        /* those inside a pooling's convolution (conv_pool.h) have none: never read */
        n->value = x->pool_conv >= 0 ? NULL : x->value;
        n->grad = x->pool_conv >= 0 ? NULL : x->grad;
    }
    size_t aoff = 2 * total;
    for (int i = 0; i < m->n_nodes; i++) {
        nnc_node_rec *n = &m->nodes[i];
        const nnc_op_def *d = nnc_op_table[n->op];
        size_t sz = n->live && n->fused_into < 0 && d->aux_size ? d->aux_size(m, i, batch) : 0;
        n->aux = sz ? m->act_arena + aoff : NULL;
        aoff += sz;
    }
    m->act_floats = total;
    /* The gradients to zero before a step: those with no first writer, merged when adjacent. */
    m->zero_ranges = malloc(2 * (size_t)(m->n_nodes + 1) * sizeof *m->zero_ranges);
    if (!m->zero_ranges) {
        free_plan(m);
        return nnc_fail(m, NNC_ERR_NOMEM, "out of memory planning a batch of %d", batch);
    }
    for (int i = 0; i < m->n_nodes; i++) {
        const nnc_node_rec *n = &m->nodes[i];
        if (!n->live || !n->batched || n->fused_into >= 0 || !n->needs_grad || n->grad_overwrite >= 0)
            continue;
        size_t at = (size_t)(n->grad - m->act_arena), cnt = nnc_node_numel(m, i, batch);
        size_t *last = m->n_zero_ranges ? m->zero_ranges + 2 * (m->n_zero_ranges - 1) : NULL;
        if (last && last[0] + last[1] == at) {
            last[1] += cnt;
        } else {
            m->zero_ranges[2 * m->n_zero_ranges] = at;
            m->zero_ranges[2 * m->n_zero_ranges + 1] = cnt;
            m->n_zero_ranges++;
        }
    }
    m->planned_batch = batch;
    return NNC_OK;
}

/* The activation gradients that are accumulated (+=); the others are stored by their reader. */
static void zero_act_grads(nnc_model *m) {
    for (int r = 0; r < m->n_zero_ranges; r++)
        memset(m->act_arena + m->zero_ranges[2 * r], 0, m->zero_ranges[2 * r + 1] * sizeof(float));
}

void nnc_zero_grads(nnc_model *m, int n) {
    (void)n;
    memset(m->grad_arena, 0, m->n_param_floats * sizeof(float));
    zero_act_grads(m);
}

void nnc_forward(nnc_model *m, int n, int training) {
    nnc_exec e = {m, n, training};
    for (int t = 0; t < m->n_tape; t++) {
        int id = m->tape[t];
        nnc_op_table[m->nodes[id].op]->forward(&e, id);
    }
}

void nnc_backward(nnc_model *m, int n) {
    nnc_exec e = {m, n, 1};
    for (int t = m->n_tape - 1; t >= 0; t--) {
        int id = m->tape[t];
        nnc_node_rec *nd = &m->nodes[id];
        if (nd->needs_grad && !nd->skip_backward) nnc_op_table[nd->op]->backward(&e, id);
    }
    /* A deliberately wrong gradient, so tests can show that gradient checks catch one. */
    if (m->fault_grad_scale != 0.0f)
        for (size_t i = 0; i < m->n_trainable_floats; i++) m->grad_arena[i] *= 1.0f + m->fault_grad_scale;
}

typedef struct {
    nnc_model *m;
    const float *x;
    const size_t *idx;
    size_t first;
} gather_job;

static void gather_rows(void *ctx, size_t r0, size_t count) {
    const gather_job *j = ctx;
    nnc_model *m = j->m;
    size_t row = nnc_input_size(m), off = 0;
    for (int k = 0; k < m->n_inputs; k++) {
        nnc_node_rec *in = &m->nodes[m->inputs[k]];
        size_t f = nnc_shape_size(&in->shape);
        if (in->live)
            for (size_t r = r0; r < r0 + count; r++) {
                size_t src = j->idx ? j->idx[j->first + r] : j->first + r;
                memcpy(in->value + r * f, j->x + src * row + off, f * sizeof(float));
            }
        off += f;
    }
}

/* Copies rows idx[0..n) of x (all inputs' features per row) into the input nodes. Shuffled
 * rows are scattered through memory, so the copy waits on memory: a large batch is copied by
 * all the threads at once. */
void nnc_gather_inputs(nnc_model *m, const float *x, const size_t *idx, size_t first, int n) {
    gather_job j = {m, x, idx, first};
    const size_t row_bytes = nnc_input_size(m) * sizeof(float);
    nnc_parallel_range(m->pool, (size_t)n, row_bytes ? (16384 + row_bytes - 1) / row_bytes : (size_t)n,
                       gather_rows, &j);
}

void nnc_gather_targets(nnc_model *m, const float *y, const size_t *idx, size_t first, int n) {
    size_t t = nnc_target_size(m);
    for (int r = 0; r < n; r++) {
        size_t src = idx ? idx[first + (size_t)r] : first + (size_t)r;
        memcpy(m->batch_y + (size_t)r * t, y + src * t, t * sizeof(float));
    }
}

double nnc_loss_forward(nnc_model *m, int n, int with_grad) {
    int out = m->outputs[0];
    int src = m->fused_loss_node >= 0 ? m->fused_loss_node : out;
    int logits = m->fused_loss_node >= 0 || m->copts.loss.from_logits;
    nnc_node_rec *s = &m->nodes[src];
    const int k = (int)nnc_output_size(m);
    double loss = nnc_loss_compute_weighted(&m->copts.loss, logits, s->value, m->batch_y, n, k,
                                            m->use_weights ? m->batch_w : NULL,
                                            with_grad ? s->grad : NULL);
    const float seed = m->grad_seed_scale;
    if (with_grad && seed != 1.0f)
        for (size_t i = 0; i < (size_t)n * (size_t)k; i++) s->grad[i] *= seed;
    /* Regularization losses, added as Keras adds model.losses: l1·Σ|v| + l2·Σv² over a weight,
     * or over a layer's output for the whole batch (activity). Their gradients go straight into
     * the variable's gradient, or into the output's so that backward carries them on. */
    for (int i = 0; i < m->n_penalties; i++) {
        const struct nnc_penalty *p = &m->penalties[i];
        nnc_node_rec *nd = &m->nodes[p->node];
        size_t cnt = nnc_node_numel(m, p->node, n);
        const float l1 = p->r.l1, l2 = p->r.l2;
        double sum = 0.0;
        for (size_t j = 0; j < cnt; j++) {
            float v = nd->value[j];
            sum += (double)l1 * fabs((double)v) + (double)l2 * (double)v * (double)v;
            if (with_grad && nd->needs_grad)
                nd->grad[j] += seed * (l1 * (float)((v > 0.0f) - (v < 0.0f)) + 2.0f * l2 * v);
        }
        loss += sum;
    }
    return loss;
}

/* Keras's gradient clipping (BaseOptimizer._clip_gradients), in place before the update:
 * clipnorm per variable, global_clipnorm over all trainable gradients, clipvalue per element. */
static void clip_gradients(nnc_model *m) {
    const nnc_optimizer *o = &m->copts.optimizer;
    if (o->clipnorm > 0.0f) {
        for (int i = 0; i < m->n_params; i++)
            if (m->params[i].trainable)
                nnc_clip_by_norm(m->grad_arena + m->params[i].offset, m->params[i].size, o->clipnorm);
    } else if (o->global_clipnorm > 0.0f) {
        nnc_clip_by_norm(m->grad_arena, m->n_trainable_floats, o->global_clipnorm);
    } else if (o->clipvalue > 0.0f) {
        nnc_clip_by_value(m->grad_arena, m->n_trainable_floats, o->clipvalue);
    }
}

/* The update, split over the pool by ranges of parameters (elementwise, so exact). */
typedef struct {
    nnc_model *m;
} opt_job;

static void optimizer_range(void *ctx, size_t first, size_t count) {
    nnc_model *m = ((opt_job *)ctx)->m;
    nnc_optimizer_step_range(&m->copts.optimizer, m->param_arena + first, m->grad_arena + first,
                             m->opt_slots + first, count, m->n_trainable_floats, m->iterations);
}

static void optimizer_run(nnc_model *m) {
    opt_job j = {m};
    nnc_parallel_range(m->pool, m->n_trainable_floats, 1 << 13, optimizer_range, &j);
}

nnc_status nnc_train_step(nnc_model *m, int n, double *loss) {
    return nnc_train_micro_step(m, n, loss, 1, 1, 1.0f);
}

nnc_status nnc_train_micro_step(nnc_model *m, int n, double *loss, int first, int apply,
                                float share) {
    if (first) nnc_zero_grads(m, n);
    else zero_act_grads(m);
    /* Batch normalization moves its statistics in the forward pass: keep them, so a step
     * that turns out non-finite leaves the whole model as it was. */
    const size_t state = m->n_param_floats - m->n_trainable_floats;
    memcpy(m->state_backup, m->param_arena + m->n_trainable_floats, state * sizeof(float));
    nnc_forward(m, n, 1);
    m->grad_seed_scale = share;
    *loss = nnc_loss_forward(m, n, 1);
    m->grad_seed_scale = 1.0f;
    if (!isfinite(*loss)) {
        memcpy(m->param_arena + m->n_trainable_floats, m->state_backup, state * sizeof(float));
        return NNC_ERR_NUMERIC;
    }
    nnc_backward(m, n);
    if (!apply) return NNC_OK;
    m->iterations++;
    clip_gradients(m);
    optimizer_run(m);
    return NNC_OK;
}
