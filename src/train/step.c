/* One training step on a gathered batch: forward, the loss and the regularization penalties,
 * backward, gradient clipping and the optimizer's update over the parameter arena. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <string.h>
#include "train_impl.h"
#include "../optim/optim.h"
#include "../backend/cpu/parallel.h"

void nnc_gather_targets(nnc_model *m, const float *y, const size_t *idx, size_t first, int n) {
    nnc_train_state *ts = m->train;
    const size_t T = nnc_target_size(m);
    for (int h = 0; h < ts->n_heads; h++) {
        const nnc_head *H = &ts->heads[h];
        float *dst = nnc_head_targets(m, h);
        for (int r = 0; r < n; r++) {
            size_t src = idx ? idx[first + (size_t)r] : first + (size_t)r;
            memcpy(dst + (size_t)r * (size_t)H->t, y + src * T + H->t_off, (size_t)H->t * sizeof(float));
        }
    }
}

float *nnc_head_targets(const nnc_model *m, int h) {
    const nnc_train_state *ts = m->train;
    return ts->batch_y + (size_t)ts->planned_batch * ts->heads[h].t_off;
}

/* Keras's total: Σ weight_h · loss_h over the outputs (one output: its loss, weighted). */
double nnc_loss_forward(nnc_model *m, int n, int with_grad) {
    nnc_train_state *ts = m->train;
    double total = 0.0;
    for (int h = 0; h < ts->n_heads; h++) {
        nnc_head *H = &ts->heads[h];
        const int src = H->fused >= 0 ? H->fused : H->node;
        const int logits = H->fused >= 0 || H->o.loss.from_logits;
        nnc_node_rec *s = &m->nodes[src];
        H->last_loss = nnc_loss_compute_weighted(&H->o.loss, logits, s->value, nnc_head_targets(m, h), n, H->k,
                                                 ts->use_weights ? ts->batch_w : NULL,
                                                 with_grad ? s->grad : NULL);
        const float seed = ts->grad_seed_scale * H->o.weight;
        if (with_grad && seed != 1.0f)
            for (size_t i = 0; i < (size_t)n * (size_t)H->k; i++) s->grad[i] *= seed;
        total += H->o.weight == 1.0f ? H->last_loss : (double)H->o.weight * H->last_loss;
    }
    return total + nnc_penalties_apply(m, ts->penalties, ts->n_penalties, n, with_grad, ts->grad_seed_scale);
}

/* Keras's gradient clipping (BaseOptimizer._clip_gradients), in place before the update:
 * clipnorm per variable, global_clipnorm over all trainable gradients, clipvalue per element. */
static void clip_gradients(nnc_model *m) {
    const nnc_optimizer *o = &m->train->copts.optimizer;
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
static void optimizer_range(void *ctx, size_t first, size_t count) {
    nnc_model *m = ctx;
    nnc_train_state *ts = m->train;
    nnc_optimizer_step_range(&ts->copts.optimizer, m->param_arena + first, m->grad_arena + first,
                             ts->opt_slots + first, count, m->n_trainable_floats, ts->iterations);
}

nnc_status nnc_train_step(nnc_model *m, int n, double *loss) {
    return nnc_train_micro_step(m, n, loss, 1, 1, 1.0f);
}

static nnc_status micro_step(nnc_model *m, int n, double *loss, int first, int apply, float share);

/* Each step is a round the pool times (thread_pool.h), to run on one thread when that is faster. */
nnc_status nnc_train_micro_step(nnc_model *m, int n, double *loss, int first, int apply,
                                float share) {
    nnc_pool_round_begin(m->pool, NNC_ROUND_TRAIN, n);
    nnc_status st = micro_step(m, n, loss, first, apply, share);
    nnc_pool_round_end(m->pool);
    return st;
}

static nnc_status micro_step(nnc_model *m, int n, double *loss, int first, int apply, float share) {
    nnc_train_state *ts = m->train;
    if (first) nnc_zero_grads(m);
    else nnc_zero_act_grads(m);
    /* Batch normalization moves its statistics in the forward pass: keep them, so a step
     * that turns out non-finite leaves the whole model as it was. */
    const size_t state = m->n_state_floats;
    memcpy(ts->state_backup, m->param_arena + m->n_trainable_floats, state * sizeof(float));
    nnc_forward(m, n, 1);
    ts->grad_seed_scale = share;
    *loss = nnc_loss_forward(m, n, 1);
    ts->grad_seed_scale = 1.0f;
    if (!isfinite(*loss)) {
        memcpy(m->param_arena + m->n_trainable_floats, ts->state_backup, state * sizeof(float));
        return NNC_ERR_NUMERIC;
    }
    nnc_backward(m, n);
    if (apply) nnc_train_apply(m);
    return NNC_OK;
}

void nnc_train_apply(nnc_model *m) {
    m->train->iterations++;
    clip_gradients(m);
    nnc_parallel_range(m->pool, m->n_trainable_floats, 1 << 13, optimizer_range, m);
}
