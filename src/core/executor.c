/* The executor: plans every buffer a batch needs, and runs the tape forward and backward.
 * nnc_plan plans activations for a batch size, once, before the steps that use it, so a
 * training step allocates nothing. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"
#include "../backend/cpu/parallel.h"

/* n zeroed floats at a 64-byte boundary (a cache line, an AVX-512 vector), freed with free():
 * calloc gives 16 bytes, so the SIMD kernels' rows of weights would straddle cache lines. For
 * the parameter, gradient and optimizer arenas (src/train/compile.c): the model's size. */
float *nnc_zalloc_floats(size_t n) {
    const size_t bytes = ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void nnc_plan_free(nnc_model *m) {
    free(m->act_arena);
    free(m->work);
    free(m->zero_ranges);
    m->act_arena = m->work = NULL;
    m->zero_ranges = NULL;
    m->n_zero_ranges = 0;
    m->work_floats = 0;
    m->planned_batch = 0;
}

/* The gradients to zero before a step: those with no first writer, merged when adjacent. */
static nnc_status plan_zero_ranges(nnc_model *m, int batch) {
    m->zero_ranges = malloc(2 * (size_t)(m->n_nodes + 1) * sizeof *m->zero_ranges);
    if (!m->zero_ranges) return NNC_ERR_NOMEM;
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
    return NNC_OK;
}

nnc_status nnc_plan(nnc_model *m, int batch) {
    if (batch <= m->planned_batch) return NNC_OK;
    nnc_plan_free(m);
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
    /* calloc: a large arena's pages stay unmapped until used (inference never touches the
     * gradients' half) */
    m->act_arena = calloc(2 * total + aux + 1, sizeof(float));
    m->work = calloc(work + 1, sizeof(float));
    m->work_floats = work;
    if (!m->act_arena || !m->work) {
        nnc_plan_free(m);
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
    if (plan_zero_ranges(m, batch)) {
        nnc_plan_free(m);
        return nnc_fail(m, NNC_ERR_NOMEM, "out of memory planning a batch of %d", batch);
    }
    m->planned_batch = batch;
    return NNC_OK;
}

nnc_model *nnc_replica_new(const nnc_model *m, int batch) {
    nnc_model *r = malloc(sizeof *r);
    nnc_node_rec *nodes = malloc((size_t)(m->n_nodes ? m->n_nodes : 1) * sizeof *nodes);
    if (!r || !nodes) {
        free(r);
        free(nodes);
        return NULL;
    }
    *r = *m;
    memcpy(nodes, m->nodes, (size_t)m->n_nodes * sizeof *nodes);
    r->nodes = nodes;
    r->cap_nodes = m->n_nodes;
    /* its own batch plan (the parameters' nodes keep pointing into the model's arena), no
     * threads and nothing of the model's training across ranks */
    r->pool = NULL;
    r->act_arena = r->work = NULL;
    r->zero_ranges = NULL;
    r->n_zero_ranges = 0;
    r->work_floats = 0;
    r->planned_batch = 0;
    r->comm = NULL;
    r->grad_ready = NULL;
    r->reduce_sums = NULL;
    if (nnc_plan(r, batch)) {
        nnc_replica_free(r);
        return NULL;
    }
    return r;
}

void nnc_replica_free(nnc_model *r) {
    if (!r) return;
    nnc_plan_free(r);
    free(r->nodes);
    free(r);
}

void nnc_zero_act_grads(nnc_model *m) {
    for (int r = 0; r < m->n_zero_ranges; r++)
        memset(m->act_arena + m->zero_ranges[2 * r], 0, m->zero_ranges[2 * r + 1] * sizeof(float));
}

void nnc_zero_grads(nnc_model *m) {
    /* only the trained variables' gradients are read (state and frozen weights take none) */
    memset(m->grad_arena, 0, m->n_trainable_floats * sizeof(float));
    nnc_zero_act_grads(m);
}

void nnc_forward(nnc_model *m, int n, int training) {
    nnc_exec e = {m, n, training};
    /* an inference batch is a round the pool times (a training step's round is the whole step) */
    if (!training) nnc_pool_round_begin(m->pool, NNC_ROUND_INFER, n);
    for (int t = 0; t < m->n_tape; t++) {
        int id = m->tape[t];
        nnc_op_table[m->nodes[id].op]->forward(&e, id);
    }
    if (!training) nnc_pool_round_end(m->pool);
}

void nnc_backward(nnc_model *m, int n) {
    nnc_exec e = {m, n, 1};
    for (int t = m->n_tape - 1; t >= 0; t--) {
        int id = m->tape[t];
        nnc_node_rec *nd = &m->nodes[id];
        if (nd->needs_grad && !nd->skip_backward) nnc_op_table[nd->op]->backward(&e, id);
        if (m->grad_ready) m->grad_ready(m->grad_ready_ctx, t);
    }
#ifdef NNC_FAULT_INJECTION
    /* A deliberately wrong gradient, so tests can show that gradient checks catch one. */
    if (m->fault_grad_scale != 0.0f)
        for (size_t i = 0; i < m->n_trainable_floats; i++) m->grad_arena[i] *= 1.0f + m->fault_grad_scale;
#endif
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
        if (in->live && j->idx && f * sizeof(float) >= 1024)
            /* shuffled rows wait on memory: ask for every row's first lines at once, so that
             * their misses overlap instead of coming one row at a time in the copies */
            for (size_t r = r0; r < r0 + count; r++) {
                const char *p = (const char *)(j->x + j->idx[j->first + r] * row + off);
                for (size_t o = 0; o < 512 && o < f * sizeof(float); o += 64) __builtin_prefetch(p + o, 0, 3);
            }
        if (in->live)
            for (size_t r = r0; r < r0 + count; r++) {
                size_t src = j->idx ? j->idx[j->first + r] : j->first + r;
                memcpy(in->value + r * f, j->x + src * row + off, f * sizeof(float));
            }
        off += f;
    }
}

/* Shuffled rows are scattered through memory, so the copy waits on memory: a large batch is
 * copied by all the threads at once. */
void nnc_gather_inputs(nnc_model *m, const float *x, const size_t *idx, size_t first, int n) {
    gather_job j = {m, x, idx, first};
    const size_t row_bytes = nnc_input_size(m) * sizeof(float);
    nnc_parallel_range(m->pool, (size_t)n, row_bytes ? (16384 + row_bytes - 1) / row_bytes : (size_t)n,
                       gather_rows, &j);
}
