/* Data-parallel training (dist.h). The loss of a global batch of B rows is the mean over its
 * rows, so rank r, holding b_r of them, seeds its backward pass with b_r / B (the share
 * gradient accumulation already uses): the sum of the ranks' gradients is then the gradient of
 * the whole batch, up to the order of the additions. The gradients are reduced in buckets,
 * contiguous ranges of the gradient arena from the last layers to the first, each started as
 * soon as the backward pass has written its last gradient (the hook the executor calls after
 * every tape position), so the reduction of the last layers overlaps the backward pass of the
 * first. Buckets start in the same order on every rank, as MPI requires. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dist.h"
#include "../backend/cpu/parallel.h"
#include "../dist/comm.h"

#define STATS_MAX (NNC_MAX_OUTPUTS + 4) /* loss sum, rows, bad, interrupted, each output's loss */

struct nnc_dist {
    int n_buckets;
    size_t *first, *count; /* each bucket's range of the gradient arena */
    int *ready;            /* the tape position after whose backward the bucket is final */
    int next;              /* buckets started in this step */
    int overlap;           /* start buckets during the backward pass (else all after it) */
    int synced_bn;         /* the model has a synchronized BatchNormalization */
    int *fixed, n_fixed;   /* state variables no step moves (Normalization's statistics) */
    char failed[256];      /* a reduction inside a pass that timed out, reported after it */
    double stats[STATS_MAX];
    double backward_s, wait_s, bytes;
    long steps;
};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

bool nnc_dist_on(const nnc_model *m) { return m->comm && nnc_comm_size(m->comm) > 1; }

void nnc_dist_share(const nnc_model *m, size_t b, size_t *lo, size_t *hi) {
    size_t r = (size_t)nnc_comm_rank(m->comm), p = (size_t)nnc_comm_size(m->comm);
    *lo = b * r / p;
    *hi = b * (r + 1) / p;
}

void nnc_dist_free(nnc_dist *d) {
    if (!d) return;
    free(d->first);
    free(d->count);
    free(d->ready);
    free(d->fixed);
    free(d);
}

nnc_status nnc_model_set_comm(nnc_model *m, nnc_comm *c) {
    if (!m) return NNC_ERR_ARG;
    m->comm = c;
    return NNC_OK;
}
nnc_comm *nnc_model_comm(const nnc_model *m) { return m ? m->comm : NULL; }

nnc_comm_stats nnc_model_comm_stats(const nnc_model *m) {
    nnc_comm_stats s;
    memset(&s, 0, sizeof s);
    const nnc_dist *d = m && m->train ? m->train->dist : NULL;
    if (!d || !d->steps) return s;
    s.backward_s = d->backward_s / (double)d->steps;
    s.wait_s = d->wait_s / (double)d->steps;
    s.bytes_per_step = d->bytes;
    s.buckets = d->n_buckets;
    s.steps = d->steps;
    return s;
}

/* For each trainable parameter, the tape position whose backward writes its gradient: the
 * earliest (last to run) of the positions of the nodes that read it, a fused node counting
 * as the node it runs inside. n_tape: no reader, final from the start. */
static void param_ready(const nnc_model *m, const int *pos, int *ready) {
    for (int i = 0; i < m->n_params; i++) ready[i] = m->n_tape;
    for (int id = 0; id < m->n_nodes; id++) {
        const nnc_node_rec *c = &m->nodes[id];
        int host = id;
        while (host >= 0 && pos[host] < 0) host = m->nodes[host].fused_into;
        if (host < 0) continue;
        for (int k = 0; k < c->n_in; k++) {
            const nnc_node_rec *in = &m->nodes[c->in[k]];
            if (in->op == NNC_OP_PARAM && in->param >= 0 && pos[host] < ready[in->param]) ready[in->param] = pos[host];
        }
    }
}


/* The state a step moves is that of the BatchNormalization layers that train; the rest of the
 * state range (Normalization's statistics, a frozen layer's) keeps its value exactly after the
 * ranks' mean (a mean over 3 ranks of equal values need not give the value back). */
static nnc_status plan_state(const nnc_model *m, nnc_dist *d) {
    if (!(d->fixed = malloc((size_t)(m->n_params + 1) * sizeof *d->fixed))) return NNC_ERR_NOMEM;
    d->n_fixed = 0;
    for (int i = 0; i < m->n_params; i++) {
        const nnc_param_rec *p = &m->params[i];
        if (p->trainable || !p->state || p->offset < m->n_trainable_floats ||
            p->offset >= m->n_trainable_floats + m->n_state_floats)
            continue;
        int moved = 0;
        for (int id = 0; id < m->n_nodes && !moved; id++) {
            const nnc_node_rec *nd = &m->nodes[id];
            if (nd->op != NNC_OP_BATCH_NORM || (nd->layer >= 0 && m->layers[nd->layer].frozen)) continue;
            for (int k = 0; k < nd->n_in; k++) moved |= nd->in[k] == p->node;
        }
        if (!moved) d->fixed[d->n_fixed++] = i;
    }
    return NNC_OK;
}

/* The buckets: parameters from the highest offset down, in groups of about 64 Ki floats
 * (256 KiB; small models make one bucket and pay one latency), a larger variable cut in
 * pieces of that size. */
static nnc_status plan_buckets(nnc_model *m, nnc_dist *d) {
    int *pos = malloc((size_t)m->n_nodes * sizeof *pos), *ready = malloc((size_t)(m->n_params + 1) * sizeof *ready);
    int *order = malloc((size_t)(m->n_params + 1) * sizeof *order), n = 0;
    nnc_status st = NNC_ERR_NOMEM;
    const char *env = getenv("NNC_BUCKET_FLOATS"); /* a bench knob, not an interface */
    const size_t target = env && atol(env) > 0 ? (size_t)atol(env) : 65536;
    const size_t most = (size_t)m->n_params + 1 + m->n_trainable_floats / target; /* buckets at most */
    d->first = malloc(most * sizeof *d->first);
    d->count = malloc(most * sizeof *d->count);
    d->ready = malloc(most * sizeof *d->ready);
    if (!pos || !ready || !order || !d->first || !d->count || !d->ready) goto done;
    for (int i = 0; i < m->n_nodes; i++) pos[i] = -1;
    for (int t = 0; t < m->n_tape; t++) pos[m->tape[t]] = t;
    param_ready(m, pos, ready);
    for (int i = 0; i < m->n_params; i++)
        if (m->params[i].trainable) order[n++] = i;
    /* insertion sort by offset, highest first: a few hundred parameters at most */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && m->params[order[j]].offset > m->params[order[j - 1]].offset; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t end = m->n_trainable_floats, acc = 0;
    int rd = m->n_tape;
    d->n_buckets = 0;
    for (int k = 0; k < n; k++) {
        const nnc_param_rec *p = &m->params[order[k]];
        acc += p->size;
        if (ready[order[k]] < rd) rd = ready[order[k]];
        if (acc >= target || k == n - 1) {
            /* a large variable makes several buckets, ready together, each reduced apart:
             * MPI's shared-memory path is faster on pieces of this size */
            size_t start = k == n - 1 ? 0 : p->offset;
            for (size_t hi = end; hi > start;) {
                size_t lo = hi - start > 2 * target ? hi - target : start;
                d->first[d->n_buckets] = lo;
                d->count[d->n_buckets] = hi - lo;
                d->ready[d->n_buckets++] = rd;
                hi = lo;
            }
            end = start, acc = 0, rd = m->n_tape;
        }
    }
    d->bytes = (double)m->n_trainable_floats * sizeof(float);
    d->overlap = !getenv("NNC_NO_OVERLAP"); /* a bench knob: what overlapping gains */
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].op == NNC_OP_BATCH_NORM && m->nodes[i].attr.synced && m->nodes[i].live) d->synced_bn = 1;
    if (plan_state(m, d)) goto done;
    st = nnc_comm_reserve(m->comm, d->n_buckets + 4, m->n_trainable_floats + m->n_state_floats);
done:
    free(pos);
    free(ready);
    free(order);
    return st;
}

/* A 64-bit hash of bytes, word by word (FNV-1a's constants on 8-byte words). */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t hash_model(const nnc_model *m, const nnc_fit_opts *o) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < m->n_nodes; i++) {
        int64_t v[3] = {m->nodes[i].op, m->nodes[i].n_in, (int64_t)nnc_shape_size(&m->nodes[i].shape)};
        h = hash_bytes(h, v, sizeof v);
    }
    h = hash_bytes(h, m->param_arena, m->n_param_floats * sizeof(float));
    const nnc_compile_opts *c = &m->train->copts;
    double v[8] = {c->loss.kind, c->optimizer.kind, (double)c->optimizer.learning_rate, o->epochs, o->batch_size,
                   o->shuffle, (double)o->validation_split, o->steps_per_update};
    return hash_bytes(h, v, sizeof v);
}

/* Every rank's hash against rank 0's: the ranks that differ, named in the error. */
static nnc_status check_same(nnc_model *m, uint64_t mine, uint64_t *all, const char *what) {
    char err[256] = "", list[160] = "";
    if (nnc_comm_allgather_u64(m->comm, mine, all, err, sizeof err)) return nnc_fail(m, NNC_ERR_IO, "fit: %s", err);
    int bad = 0;
    for (int r = 1; r < nnc_comm_size(m->comm); r++)
        if (all[r] != all[0] && strlen(list) + 12 < sizeof list) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%d", bad++ ? ", " : "", r);
        }
    if (bad)
        return nnc_fail(m, NNC_ERR_ARG, "fit: rank%s %s and rank 0 disagree on %s (every rank must run the same "
                        "command on the same files)", bad > 1 ? "s" : "", list, what);
    return NNC_OK;
}

nnc_status nnc_dist_begin(nnc_model *m, const nnc_fit_opts *o, const float *x, const float *y,
                          uint64_t src_hash, size_t n, int batch) {
    nnc_train_state *ts = m->train;
    const int p = nnc_comm_size(m->comm);
    /* Planned at each fit (not inside a step): freezing a layer changes the tape. */
    nnc_dist_free(ts->dist);
    if (!(ts->dist = calloc(1, sizeof *ts->dist)) || plan_buckets(m, ts->dist)) {
        nnc_dist_free(ts->dist);
        ts->dist = NULL;
        return nnc_fail(m, NNC_ERR_NOMEM, "fit: out of memory");
    }
    nnc_dist *d = ts->dist;
    d->backward_s = d->wait_s = 0.0;
    d->steps = 0;
    uint64_t *all = malloc((size_t)p * sizeof *all);
    if (!all) return nnc_fail(m, NNC_ERR_NOMEM, "fit: out of memory");
    /* a row source (x NULL) says what its rows are by its own hash, with their count */
    uint64_t hd = x ? hash_bytes(hash_bytes(0xcbf29ce484222325ull, x, n * nnc_input_size(m) * sizeof(float)), y,
                                 n * nnc_target_size(m) * sizeof(float))
                    : hash_bytes(hash_bytes(0xcbf29ce484222325ull, &src_hash, sizeof src_hash), &n, sizeof n);
    if (o->validation_x && o->validation_y)
        hd = hash_bytes(hash_bytes(hd, o->validation_x, o->validation_n * nnc_input_size(m) * sizeof(float)),
                        o->validation_y, o->validation_n * nnc_target_size(m) * sizeof(float));
    nnc_status st = nnc_dist_check_metrics(m);
    if (!st) st = check_same(m, hash_model(m, o), all, "the model (its spec, seed, weights or fit options)");
    if (!st) st = check_same(m, hd, all, "the training data");
    free(all);
    if (!st && batch < p)
        st = nnc_fail(m, NNC_ERR_ARG, "fit: the global batch of %d rows is smaller than the %d ranks: every rank "
                      "needs a row of each batch", batch, p);
    size_t ntrain = o->validation_x ? n : (size_t)ceil((double)n * (1.0 - (double)o->validation_split));
    size_t last = ntrain % (size_t)batch;
    if (!st && d->synced_bn && last && last < (size_t)p)
        st = nnc_fail(m, NNC_ERR_ARG, "fit: the last batch has %zu rows, fewer than the %d ranks, and a synchronized "
                      "BatchNormalization needs rows on every rank: change the batch size", last, p);
    return st;
}

nnc_status nnc_dist_sync_rng(nnc_model *m) {
    char err[256] = "";
    if (nnc_comm_start_bcast(m->comm, &m->rng, sizeof m->rng, 0) || nnc_comm_wait(m->comm, err, sizeof err))
        return nnc_fail(m, NNC_ERR_IO, "fit: %s", err);
    return NNC_OK;
}

void nnc_dist_split_rng(nnc_model *m) {
    uint64_t r = (uint64_t)nnc_comm_rank(m->comm);
    if (r) nnc_rng_seed(&m->rng, nnc_rng_next(&m->rng) + 0x9E3779B97F4A7C15ull * r);
}

/* Synchronized BatchNormalization's sums, inside the passes: reduced at once (waiting for the
 * buckets in flight too); a timeout is kept and reported when the step ends. */
static void reduce_sums(nnc_model *m, double *buf, size_t n) {
    nnc_dist *d = m->train->dist;
    char err[256] = "";
    if (d->failed[0]) return;
    if (nnc_comm_start_reduce(m->comm, buf, n, NNC_T_DOUBLE, NNC_RED_SUM) || nnc_comm_wait(m->comm, err, sizeof err))
        snprintf(d->failed, sizeof d->failed, "%s", err[0] ? err : "a reduction failed");
}

/* The executor's hook: starts, in their fixed order, the buckets whose gradients are final
 * once tape position t has run its backward, and lets MPI move those in flight along. */
static void grad_ready(void *ctx, int t) {
    nnc_model *m = ctx;
    nnc_dist *d = m->train->dist;
    while (d->next < d->n_buckets && d->ready[d->next] >= t) {
        nnc_comm_start_reduce(m->comm, m->grad_arena + d->first[d->next], d->count[d->next], NNC_T_FLOAT, NNC_RED_SUM);
        d->next++;
    }
    nnc_comm_progress(m->comm);
}

/* The backward pass with the buckets started along it (apply), or alone. */
static void backward(nnc_model *m, int b, int run, int apply) {
    nnc_dist *d = m->train->dist;
    double t0 = now_s();
    d->next = 0;
    if (run && apply && d->overlap) {
        m->grad_ready = grad_ready, m->grad_ready_ctx = m;
        nnc_backward(m, b);
        m->grad_ready = NULL, m->grad_ready_ctx = NULL;
    } else if (run) {
        nnc_backward(m, b);
    }
    if (apply) grad_ready(m, -1); /* what is left: every bucket of a rank without rows or a bad loss */
    d->backward_s += now_s() - t0;
}

nnc_status nnc_dist_micro_step(nnc_model *m, int b, int first, int apply, float share, bool interrupted,
                               nnc_metric_acc *batch, bool *stop) {
    nnc_train_state *ts = m->train;
    nnc_dist *d = ts->dist;
    const int nh = ts->n_heads > 1 ? ts->n_heads : 0;
    if (first) nnc_zero_grads(m);
    else nnc_zero_act_grads(m);
    const size_t state = m->n_state_floats;
    float *st_vals = m->param_arena + m->n_trainable_floats;
    memcpy(ts->state_backup, st_vals, state * sizeof(float));
    memset(batch, 0, sizeof *batch); /* pass 0: this rank's metric state takes its rows */
    bool bad = false;
    m->reduce_sums = d->synced_bn ? reduce_sums : NULL;
    if (b > 0) {
        nnc_forward(m, b, 1);
        ts->grad_seed_scale = share;
        double loss = nnc_loss_forward(m, b, 1);
        ts->grad_seed_scale = 1.0f;
        bad = !isfinite(loss);
        nnc_metrics_add(m, batch, b, loss);
    }
    /* The batch's losses, a non-finite loss anywhere and an interrupt anywhere, reduced while
     * the backward pass runs: every rank then decides alike. The metrics' state stays each
     * rank's until the epoch's end (nnc_dist_reduce_metrics). */
    d->stats[0] = batch->loss_sum, d->stats[1] = batch->count, d->stats[2] = bad, d->stats[3] = interrupted;
    for (int h = 0; h < nh; h++) d->stats[4 + h] = batch->head_loss[h];
    nnc_comm_start_reduce(m->comm, d->stats, (size_t)(4 + nh), NNC_T_DOUBLE, NNC_RED_SUM);
    /* Moving statistics (BatchNormalization) move with each rank's own batch; their mean over
     * the ranks keeps every rank's model the same. */
    nnc_comm_start_reduce(m->comm, st_vals, state, NNC_T_FLOAT, NNC_RED_SUM);
    /* with synchronized statistics every rank must run its backward pass, whose reductions
     * the others wait for, even when its loss is not finite (the step is then undone) */
    backward(m, b, b > 0 && (!bad || d->synced_bn), apply);
    m->reduce_sums = NULL;
    char err[256] = "";
    double t0 = now_s();
    nnc_status st = nnc_comm_wait(m->comm, err, sizeof err);
    d->wait_s += now_s() - t0;
    if (!st && d->failed[0]) st = NNC_ERR_IO, snprintf(err, sizeof err, "%s", d->failed);
    if (st) return nnc_fail(m, NNC_ERR_IO, "fit: %s", err);
    batch->loss_sum = d->stats[0], batch->count = d->stats[1];
    for (int h = 0; h < nh; h++) batch->head_loss[h] = d->stats[4 + h];
    *stop = d->stats[3] > 0.0;
    if (d->stats[2] > 0.0) {
        memcpy(st_vals, ts->state_backup, state * sizeof(float));
        return NNC_ERR_NUMERIC;
    }
    const float inv = 1.0f / (float)nnc_comm_size(m->comm);
    for (size_t i = 0; i < state; i++) st_vals[i] *= inv;
    for (int i = 0; i < d->n_fixed; i++) {
        const nnc_param_rec *p = &m->params[d->fixed[i]];
        const size_t at = p->offset - m->n_trainable_floats;
        memcpy(st_vals + at, ts->state_backup + at, p->size * sizeof(float));
    }
    if (apply) {
        d->steps++;
        nnc_train_apply(m);
    }
    return NNC_OK;
}

/* Sums n doubles over the ranks, in place. */
static nnc_status sum_doubles(nnc_model *m, double *v, size_t n) {
    char err[256] = "";
    if (n && (nnc_comm_start_reduce(m->comm, v, n, NNC_T_DOUBLE, NNC_RED_SUM) || nnc_comm_wait(m->comm, err, sizeof err)))
        return nnc_fail(m, NNC_ERR_IO, "%s", err[0] ? err : "a reduction over the ranks failed");
    return NNC_OK;
}

/* The metrics' state is counts and sums (metrics.h), so the ranks' states add up to the one
 * of every row; the exact AUC's list of predictions does not, and is refused at fit. */
nnc_status nnc_dist_reduce_metrics(nnc_model *m, nnc_metric_acc *acc) {
    const nnc_train_state *ts = m->train;
    return sum_doubles(m, ts->metric_state[acc->pass], ts->metric_off[ts->n_metric_slots]);
}

nnc_status nnc_dist_reduce_acc(nnc_model *m, nnc_metric_acc *acc) {
    double v[STATS_MAX];
    const int nh = m->train->n_heads > 1 ? m->train->n_heads : 0;
    v[0] = acc->loss_sum, v[1] = acc->count;
    for (int h = 0; h < nh; h++) v[2 + h] = acc->head_loss[h];
    nnc_status st = sum_doubles(m, v, (size_t)(2 + nh));
    if (st) return st;
    acc->loss_sum = v[0], acc->count = v[1];
    for (int h = 0; h < nh; h++) acc->head_loss[h] = v[2 + h];
    return nnc_dist_reduce_metrics(m, acc);
}

/* Every metric can be summed over the ranks but the exact AUC (its predictions, not counts). */
nnc_status nnc_dist_check_metrics(nnc_model *m) {
    const nnc_train_state *ts = m->train;
    for (int i = 0; i < ts->n_metric_slots; i++)
        if (nnc_metric_points_per_row(&ts->mcfg[i], &ts->metric_ctx[ts->metric_head[i]]))
            return nnc_fail(m, NNC_ERR_UNSUPPORTED, "fit: metric '%s' (auc with exact=true) keeps every prediction, "
                            "which the ranks do not add up; use Keras's auc (num_thresholds) with several ranks",
                            ts->metric_key[i]);
    return NNC_OK;
}

nnc_status nnc_dist_max(nnc_model *m, double *v) {
    char err[256] = "";
    if (nnc_comm_start_reduce(m->comm, v, 1, NNC_T_DOUBLE, NNC_RED_MAX) || nnc_comm_wait(m->comm, err, sizeof err))
        return nnc_fail(m, NNC_ERR_IO, "fit: %s", err);
    return NNC_OK;
}
