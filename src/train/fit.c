/* fit, evaluate and predict: Keras's training loop. fit shuffles from the model's RNG each
 * epoch, takes the validation split from the end of the data before shuffling (as Keras does),
 * uses the last, smaller batch, reports the batch-size-weighted mean loss and metrics, and
 * evaluates the validation data in inference mode after each epoch. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "train_impl.h"
#include "callbacks.h"
#include "progress.h"
#include "dist.h"
#include "loader.h"
#include "../backend/cpu/thread_pool.h"

struct nnc_history {
    int epochs, cap;
    nnc_logs *logs;
};

static nnc_status history_push(nnc_history **hp, const nnc_logs *l);

int nnc_history_epochs(const nnc_history *h) { return h ? h->epochs : 0; }
const nnc_logs *nnc_history_logs(const nnc_history *h, int e) {
    return h && e >= 0 && e < h->epochs ? &h->logs[e] : NULL;
}
void nnc_history_free(nnc_history *h) {
    if (!h) return;
    free(h->logs);
    free(h);
}

nnc_fit_opts nnc_fit_opts_default(void) {
    nnc_fit_opts o;
    memset(&o, 0, sizeof o);
    o.epochs = 1;
    o.batch_size = 32;
    o.shuffle = true;
    o.verbose = 1;
    return o;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static nnc_status require_compiled(nnc_model *m, const char *who) {
    if (!m) return NNC_ERR_ARG;
    if (!m->compiled)
        return nnc_fail(m, NNC_ERR_STATE, "%s: the model must be compiled first", who);
    return NNC_OK;
}

nnc_status nnc_require_float(nnc_model *m, const char *who) {
    /* its backward would train the float kernels while the forward reads the int8 ones */
    if (m->n_qlayers)
        return nnc_fail(m, NNC_ERR_STATE, "%s: the model is quantized to %s, which is for inference only; train "
                        "the float model and quantize it again", who, nnc_model_bf16_layers(m) ? "bf16" : "int8");
    return NNC_OK;
}

/* Loss and metrics over n rows, inference mode, in batches of bs. */
static nnc_status evaluate_into(nnc_model *m, const float *x, const float *y, size_t n, int bs,
                                nnc_metric_acc *acc) {
    m->train->use_weights = 0; /* validation and evaluation losses are unweighted, as in Keras */
    nnc_status st = nnc_train_plan(m, bs);
    if (st || (st = nnc_metrics_begin(m, acc, 1, n))) return st;
    /* Data parallel: each rank evaluates its fixed share of the rows, the sums are added. */
    size_t lo = 0, hi = n;
    if (nnc_dist_on(m)) nnc_dist_share(m, n, &lo, &hi);
    for (size_t first = lo; first < hi; first += (size_t)bs) {
        int b = (int)(hi - first < (size_t)bs ? hi - first : (size_t)bs);
        nnc_gather_inputs(m, x, NULL, first, b);
        nnc_gather_targets(m, y, NULL, first, b);
        nnc_forward(m, b, 0);
        nnc_metrics_add(m, acc, b, nnc_loss_forward(m, b, 0));
    }
    return nnc_dist_on(m) ? nnc_dist_reduce_acc(m, acc) : NNC_OK;
}

/* evaluate_into over a source's rows first..first+n, read one batch ahead. */
static nnc_status evaluate_src(nnc_model *m, const nnc_row_source *src, size_t first, size_t n, int bs,
                               nnc_metric_acc *acc) {
    m->train->use_weights = 0;
    nnc_status st = nnc_train_plan(m, bs);
    if (st || (st = nnc_metrics_begin(m, acc, 1, n))) return st;
    size_t lo = 0, hi = n;
    if (nnc_dist_on(m)) nnc_dist_share(m, n, &lo, &hi);
    nnc_loader *L = nnc_loader_new(src, (size_t)bs, nnc_input_size(m), nnc_target_size(m));
    if (!L) return nnc_fail(m, NNC_ERR_NOMEM, "evaluate: out of memory");
    const size_t steps = (hi - lo + (size_t)bs - 1) / (size_t)bs;
    size_t asked = 0, taken = 0;
    for (; asked < 2 && asked < steps; asked++) {
        size_t a = lo + asked * (size_t)bs;
        nnc_loader_request(L, NULL, first + a, hi - a < (size_t)bs ? hi - a : (size_t)bs);
    }
    nnc_error e = {""};
    for (; taken < steps && !st; taken++) {
        const size_t a = lo + taken * (size_t)bs;
        const int b = (int)(hi - a < (size_t)bs ? hi - a : (size_t)bs);
        const float *x, *y;
        if ((st = nnc_loader_take(L, &x, &y, &e)) || (st = nnc_check_data(m, x, y, (size_t)b))) break;
        nnc_gather_inputs(m, x, NULL, 0, b);
        nnc_gather_targets(m, y, NULL, 0, b);
        if (asked < steps) {
            size_t c = lo + asked++ * (size_t)bs;
            nnc_loader_request(L, NULL, first + c, hi - c < (size_t)bs ? hi - c : (size_t)bs);
        }
        nnc_forward(m, b, 0);
        nnc_metrics_add(m, acc, b, nnc_loss_forward(m, b, 0));
    }
    nnc_loader_free(L); /* waits for what is still being read */
    if (st && e.message[0]) nnc_fail(m, st, "evaluate: %s", e.message);
    if (nnc_dist_on(m)) { /* every rank learns of a failure, with the lowest failing rank's message */
        int who = nnc_comm_agree(m->comm, st != NNC_OK, m->error, sizeof m->error);
        if (who >= 0) return st ? st : NNC_ERR_DATA;
        return nnc_dist_reduce_acc(m, acc);
    }
    return st;
}

nnc_status nnc_evaluate_source(nnc_model *m, const nnc_row_source *src, int batch_size, nnc_logs *out) {
    nnc_status st = require_compiled(m, "evaluate");
    if (st) return st;
    if (!src || !src->read || src->n == 0) return nnc_fail(m, NNC_ERR_ARG, "evaluate: no data");
    nnc_metric_acc acc;
    if ((st = evaluate_src(m, src, 0, src->n, batch_size > 0 ? batch_size : 32, &acc))) return st;
    memset(out, 0, sizeof *out);
    nnc_metrics_logs(m, &acc, "", out);
    return NNC_OK;
}

nnc_status nnc_evaluate(nnc_model *m, const float *x, const float *y, size_t n, int batch_size,
                        nnc_logs *out) {
    nnc_status st = require_compiled(m, "evaluate");
    if (st) return st;
    if (!x || !y || n == 0) return nnc_fail(m, NNC_ERR_ARG, "evaluate: no data");
    if ((st = nnc_check_data(m, x, y, n))) return st;

    nnc_metric_acc acc;
    if ((st = evaluate_into(m, x, y, n, batch_size > 0 ? batch_size : 32, &acc))) return st;
    memset(out, 0, sizeof *out);
    nnc_metrics_logs(m, &acc, "", out);
    return NNC_OK;
}

/* Rows that inference runs through every layer at a time. Layer after layer over a large batch,
 * each layer's output goes out to memory and comes back for the next: B3's 1000 rows write 21 MB
 * after the first pooling alone, so its int8 forward pass waited on memory more than it
 * multiplied. A slice whose values fit a core's L2 (about 1 MB: every x86-64 core of the last
 * years has at least that) keeps them there. Every row's outputs are the same bits at any batch
 * size, so only the speed changes. */
#define SLICE_CACHE_BYTES ((size_t)1 << 20)
#define SLICE_MIN_ROWS 16
static size_t row_bytes(const nnc_model *m) {
    size_t row = 0;
    for (int i = 0; i < m->n_nodes; i++) { /* the values inference writes: not those fused away */
        const nnc_node_rec *nd = &m->nodes[i];
        if (nd->live && nd->batched && nd->fused_into < 0 && nd->infer_pool < 0)
            row += nnc_shape_size(&nd->shape) * sizeof(float);
    }
    return row;
}

/* The rows of one slice for one core: values of `row` bytes each within its L2. */
static size_t slice_rows(size_t row) {
    const size_t s = row ? SLICE_CACHE_BYTES / row : 0;
    return s < SLICE_MIN_ROWS ? SLICE_MIN_ROWS : s;
}

/* Slices of one batch shared by the threads (each with its L2) read the weights again each:
 * worth it only where a row's values outweigh the weights' share of it (B3: 38 KB a row
 * against 900 KB / 54 rows = 17 KB; B2's 6 KB against its 2.1 MB of weights is not). 0: run the
 * batch whole. */
static size_t infer_slice(const nnc_model *m) {
    const size_t row = row_bytes(m), s = slice_rows(row) * (size_t)nnc_pool_threads(m->pool);
    return row && m->n_param_floats * sizeof(float) / s < row ? s : 0;
}

/* Copies the outputs of rows first..first+b, computed by m or a replica of it, into out. */
static void copy_outputs(const nnc_model *m, float *out, size_t first, int b) {
    const size_t k = nnc_output_size(m);
    if (m->train->n_heads == 1) {
        memcpy(out + first * k, m->nodes[m->outputs[0]].value, (size_t)b * k * sizeof(float));
        return;
    }
    size_t off = 0; /* several outputs: each row's side by side, in output order */
    for (int h = 0; h < m->train->n_heads; h++) {
        const size_t kh = (size_t)m->train->heads[h].k;
        const float *o = m->nodes[m->train->heads[h].node].value;
        for (int r = 0; r < b; r++) memcpy(out + (first + (size_t)r) * k + off, o + (size_t)r * kh, kh * sizeof(float));
        off += kh;
    }
}

/* Inference over several threads, a whole slice per thread at a time: each thread runs its
 * slice through every layer on a replica of the model (its own values, the weights shared),
 * so its values stay in its own core's cache and the threads never wait for each other
 * between layers. Splitting each layer's product instead made both threads meet at every
 * layer and pass each layer's output from one core's cache to the other's: B3 in int8 ran
 * only 1.13x faster on 2 threads than on 1. The slices are claimed in turn, so a thread held
 * up by another process takes fewer. Each row's outputs are the same bits as on one thread. */
typedef struct {
    nnc_model **rep;
    atomic_int *busy; /* replica i is in use */
    int n_rep, rows;
    const float *x;
    float *out;
    size_t n;
} slices_job;

static void slice_task(void *ctx, int t) {
    slices_job *j = ctx;
    const size_t first = (size_t)t * (size_t)j->rows;
    const int b = (int)(j->n - first < (size_t)j->rows ? j->n - first : (size_t)j->rows);
    int i = 0; /* no more tasks run at once than there are threads, so one is free */
    while (atomic_exchange(&j->busy[i], 1)) i = (i + 1) % j->n_rep;
    nnc_model *r = j->rep[i];
    nnc_gather_inputs(r, j->x, NULL, first, b);
    nnc_forward(r, b, 0);
    copy_outputs(r, j->out, first, b);
    atomic_store(&j->busy[i], 0);
}

/* Runs n rows on replicas when that applies (NNC_OK); NNC_ERR_STATE when it does not (one
 * thread, too few rows, no memory for the replicas): then the caller runs them itself. */
static nnc_status predict_on_replicas(nnc_model *m, const float *x, size_t n, float *out, size_t cap) {
    const int threads = nnc_pool_threads(m->pool);
    size_t rows = slice_rows(row_bytes(m));
    /* here each slice reads the weights again on its own core, from the shared cache: B2's
     * 2.1 MB of weights every 167 rows cost less than the 1.3x the replicas gain */
    if (rows > (n + (size_t)threads - 1) / (size_t)threads) rows = (n + (size_t)threads - 1) / (size_t)threads;
    if (rows < SLICE_MIN_ROWS) rows = SLICE_MIN_ROWS; /* many threads, few rows: fewer slices */
    if (rows > cap) rows = cap;
    const size_t tasks = (n + rows - 1) / rows;
    if (threads < 2 || n < 2 * rows || n < 2 * SLICE_MIN_ROWS || tasks > INT32_MAX) return NNC_ERR_STATE;
    const int n_rep = tasks < (size_t)threads ? (int)tasks : threads; /* no more run at once */
    slices_job j = {calloc((size_t)n_rep, sizeof *j.rep), calloc((size_t)n_rep, sizeof *j.busy), n_rep,
                    (int)rows, x, out, n};
    nnc_status st = j.rep && j.busy ? NNC_OK : NNC_ERR_STATE;
    for (int i = 0; !st && i < n_rep; i++) {
        atomic_init(&j.busy[i], 0);
        if (!(j.rep[i] = nnc_replica_new(m, (int)rows))) st = NNC_ERR_STATE;
    }
    if (!st) {
        nnc_pool_round_begin(m->pool, NNC_ROUND_INFER, (int)(n < INT32_MAX ? n : INT32_MAX));
        nnc_pool_run(m->pool, (int)tasks, slice_task, &j);
        nnc_pool_round_end(m->pool);
    }
    for (int i = 0; j.rep && i < n_rep; i++) nnc_replica_free(j.rep[i]);
    free(j.rep);
    free((void *)j.busy);
    return st;
}

/* Keras's predict runs batches of 32. Here a batch only bounds the values held at once (each
 * row's outputs are the same bits at any batch size), and 32 rows are too few for a wide
 * model's products (B2 on 1 thread: 129 k samples/s at 32 rows, 178 k at 335), so
 * nnc_predict takes as many rows as keep the values within 2 MB, never fewer than 32 (more
 * was no faster: B2 in int8 fell from 475 k to 412 k samples/s at 16 MB). */
#define PREDICT_VALUE_BYTES ((size_t)2 << 20)
nnc_status nnc_predict(nnc_model *m, const float *x, size_t n, float *out) {
    size_t bs = 32; /* nnc_predict_ex bounds it by n */
    const size_t row = m && m->compiled ? row_bytes(m) : 0;
    if (row && PREDICT_VALUE_BYTES / row > bs) bs = PREDICT_VALUE_BYTES / row;
    return nnc_predict_ex(m, x, n, out, bs < INT32_MAX ? (int)bs : INT32_MAX, false);
}

nnc_status nnc_predict_ex(nnc_model *m, const float *x, size_t n, float *out, int batch_size,
                          bool training) {
    nnc_status st = require_compiled(m, "predict");
    if (st) return st;
    if (!x || !out) return nnc_fail(m, NNC_ERR_ARG, "predict: no data");
    if (batch_size < 1) return nnc_fail(m, NNC_ERR_ARG, "predict: batch_size %d must be >= 1", batch_size);
    if ((st = nnc_check_data(m, x, NULL, n))) return st;
    /* the batch asked for bounds the rows in memory at once */
    const size_t cap = (size_t)batch_size < n || n == 0 ? (size_t)batch_size : n;
    if (!training && predict_on_replicas(m, x, n, out, cap) == NNC_OK) return NNC_OK;
    /* in training mode (dropout on) the batch is the user's: its masks are drawn batch by
     * batch; in inference a slice shared by the threads, each with its L2 */
    size_t slice = training ? 0 : infer_slice(m);
    const int bs = (int)(slice && slice < cap ? slice : cap);
    if ((st = nnc_train_plan(m, bs))) return st;
    for (size_t first = 0; first < n; first += bs) {
        int b = (int)(n - first < (size_t)bs ? n - first : (size_t)bs);
        nnc_gather_inputs(m, x, NULL, first, b);
        nnc_forward(m, b, training ? 1 : 0);
        copy_outputs(m, out, first, b);
    }
    return NNC_OK;
}

static void gather_weights_of(nnc_model *m, const nnc_fit_opts *o, const float *y, const size_t *yidx,
                              size_t yfirst, const size_t *idx, size_t first, int n);

/* Each row's loss weight: sample_weight times the class_weight of its label. */
static void gather_weights(nnc_model *m, const nnc_fit_opts *o, const float *y, const size_t *idx,
                           size_t first, int n) {
    gather_weights_of(m, o, y, idx, first, idx, first, n);
}

/* The same with the labels apart from the rows' numbers (a streamed batch: its labels in
 * order, its rows' numbers for sample_weight in idx). */
static void gather_weights_of(nnc_model *m, const nnc_fit_opts *o, const float *y, const size_t *yidx,
                              size_t yfirst, const size_t *idx, size_t first, int n) {
    m->train->use_weights = o->sample_weight || o->class_weight;
    if (!m->train->use_weights) return;
    size_t t = nnc_target_size(m);
    for (int r = 0; r < n; r++) {
        size_t row = idx ? idx[first + (size_t)r] : first + (size_t)r;
        size_t src = yidx ? yidx[yfirst + (size_t)r] : yfirst + (size_t)r;
        float w = o->sample_weight ? o->sample_weight[row] : 1.0f;
        if (o->class_weight) {
            /* the class: the label, or the one-hot target's argmax */
            size_t c = 0;
            if (t == 1) c = (size_t)y[src];
            else
                for (size_t j = 1; j < t; j++)
                    if (y[src * t + j] > y[src * t + c]) c = j;
            w *= c < (size_t)o->n_class_weights ? o->class_weight[c] : 1.0f;
        }
        m->train->batch_w[r] = w;
    }
}

nnc_history *nnc_history_new(void) { return calloc(1, sizeof(nnc_history)); }

nnc_status nnc_history_append(nnc_history *h, const nnc_logs *l) { return h ? history_push(&h, l) : NNC_OK; }

static nnc_status history_push(nnc_history **hp, const nnc_logs *l) {
    if (!hp) return NNC_OK;
    nnc_history *h = *hp;
    if (h->epochs == h->cap) {
        int nc = h->cap ? 2 * h->cap : 16;
        nnc_logs *q = realloc(h->logs, (size_t)nc * sizeof *q);
        if (!q) return NNC_ERR_NOMEM;
        h->logs = q;
        h->cap = nc;
    }
    h->logs[h->epochs++] = *l;
    return NNC_OK;
}

/* The arguments fit cannot train with, refused before anything changes. */
static nnc_status check_fit(nnc_model *m, const float *x, const float *y, const nnc_row_source *src, size_t n,
                           const nnc_fit_opts *o) {
    nnc_status st;
    if ((!src && (!x || !y)) || n == 0) return nnc_fail(m, NNC_ERR_ARG, "fit: no training data");
    if (o->epochs < 1) return nnc_fail(m, NNC_ERR_ARG, "fit: epochs is %d, must be >= 1", o->epochs);
    if (o->initial_epoch < 0 || o->initial_epoch >= o->epochs)
        return nnc_fail(m, NNC_ERR_ARG, "fit: initial_epoch %d is not in [0, epochs %d)",
                        o->initial_epoch, o->epochs);
    if (o->batch_size < 1)
        return nnc_fail(m, NNC_ERR_ARG, "fit: batch_size is %d, must be >= 1", o->batch_size);
    if (!(o->validation_split >= 0.0f && o->validation_split < 1.0f))
        return nnc_fail(m, NNC_ERR_ARG, "fit: validation_split %g is not in [0, 1)",
                        (double)o->validation_split);
    if (!src && (st = nnc_check_data(m, x, y, n))) return st; /* a source's batches: as they are read */
    if (o->steps_per_update < 0 || o->steps_per_update > 1 << 20)
        return nnc_fail(m, NNC_ERR_ARG, "fit: steps_per_update %d is not in [1, 2^20]", o->steps_per_update);
    if (o->class_weight && m->train->n_heads > 1)
        return nnc_fail(m, NNC_ERR_ARG, "fit: class_weight is for a model of one output (this one has %d), as in "
                        "Keras; use sample_weight", m->train->n_heads);
    if (o->class_weight) {
        if (o->n_class_weights < 1)
            return nnc_fail(m, NNC_ERR_ARG, "fit: class_weight needs n_class_weights");
        /* Sparse labels must have a weight; one-hot rows fall back to 1 past the table. */
        for (size_t r = 0; !src && nnc_target_size(m) == 1 && r < n; r++)
            if ((double)y[r] < 0 || (double)y[r] >= o->n_class_weights)
                return nnc_fail(m, NNC_ERR_ARG, "fit: class_weight has %d entries, y[%zu] is class %g",
                                o->n_class_weights, r, (double)y[r]);
    }
    for (size_t r = 0; o->sample_weight && r < n; r++)
        if (!(o->sample_weight[r] >= 0.0f) || isinf(o->sample_weight[r]))
            return nnc_fail(m, NNC_ERR_DATA, "fit: sample_weight[%zu] is %g, must be finite and >= 0", r,
                            (double)o->sample_weight[r]);
    return NNC_OK;
}

/* One fit's view: its data, the validation data, the batch plan and the callbacks. */
typedef struct {
    nnc_model *m;
    const nnc_fit_opts *o;
    const float *x, *y;
    size_t ntrain, steps;
    const float *vx, *vy;
    size_t vn;
    int bs;
    size_t *idx;            /* this epoch's order of the training rows */
    const nnc_row_source *src; /* rows read on demand (nnc_fit_source); x and y NULL */
    nnc_loader *ld;
    size_t vfirst;          /* a source's validation rows: vn rows from here */
    size_t asked, taken;    /* this epoch's batches asked of the loader and taken back */
    nnc_cb_runner cbr;
    nnc_progress pb;
    bool batch_logs;        /* someone reads the running logs after each batch */
} fit_run;

/* Validation: explicit data, or the last fraction before shuffling (Keras: the first
 * ceil(n·(1 − split)) rows train). */
static nnc_status split_validation(fit_run *r, size_t n) {
    nnc_model *m = r->m;
    const nnc_fit_opts *o = r->o;
    r->vx = o->validation_x, r->vy = o->validation_y, r->vn = o->validation_n, r->ntrain = n;
    if (r->vx && r->vy && r->vn) return nnc_check_data(m, r->vx, r->vy, r->vn);
    if (o->validation_split > 0.0f) {
        r->ntrain = (size_t)ceil((double)n * (1.0 - (double)o->validation_split));
        if (r->ntrain == 0 || r->ntrain == n)
            return nnc_fail(m, NNC_ERR_ARG, "fit: validation_split %g of %zu rows leaves %s empty",
                            (double)o->validation_split, n, r->ntrain ? "validation" : "training");
        r->vx = r->src ? NULL : r->x + r->ntrain * nnc_input_size(m);
        r->vy = r->src ? NULL : r->y + r->ntrain * nnc_target_size(m);
        r->vn = n - r->ntrain, r->vfirst = r->ntrain;
    } else {
        r->vx = r->vy = NULL;
        r->vn = 0;
    }
    return NNC_OK;
}

/* Each epoch permutes 0..n-1 afresh (not the previous order), so an epoch's order depends only
 * on the RNG state: a resumed run shuffles as an uninterrupted one. */
static void shuffle_rows(fit_run *r) {
    for (size_t i = 0; i < r->ntrain; i++) r->idx[i] = i;
    if (r->o->shuffle)
        for (size_t i = r->ntrain - 1; i > 0; i--) { /* Fisher–Yates */
            size_t j = (size_t)nnc_rng_below(&r->m->rng, i + 1), t = r->idx[i];
            r->idx[i] = r->idx[j];
            r->idx[j] = t;
        }
}

/* Asks the loader for this rank's rows of batch s of the epoch (none past the last). */
static void ask(fit_run *r, size_t s) {
    if (s >= r->steps) return;
    const size_t bs = (size_t)r->bs, first = s * bs, b = r->ntrain - first < bs ? r->ntrain - first : bs;
    size_t lo = 0, hi = b;
    if (nnc_dist_on(r->m)) nnc_dist_share(r->m, b, &lo, &hi);
    nnc_loader_request(r->ld, r->idx + first + lo, 0, hi - lo);
    r->asked++;
}

/* A streamed batch's checks: nnc_fit's on arrays, and class_weight's labels. */
static nnc_status check_batch(fit_run *r, const float *x, const float *y, int n) {
    nnc_model *m = r->m;
    const nnc_fit_opts *o = r->o;
    nnc_status st = nnc_check_data(m, x, y, (size_t)n);
    for (int i = 0; !st && o->class_weight && nnc_target_size(m) == 1 && i < n; i++)
        if ((double)y[i] < 0 || (double)y[i] >= o->n_class_weights)
            st = nnc_fail(m, NNC_ERR_ARG, "class_weight has %d entries, a row is class %g", o->n_class_weights,
                          (double)y[i]);
    return st;
}

/* Rows idx[first..first+n) into the model: gathered from the arrays, or taken from the loader
 * (which then starts on the batch after next). A source's error ends the fit; data parallel,
 * every rank ends with the lowest failing rank's message. */
static nnc_status load_rows(fit_run *r, size_t first, int n) {
    nnc_model *m = r->m;
    if (!r->src) {
        if (n) {
            nnc_gather_inputs(m, r->x, r->idx, first, n);
            nnc_gather_targets(m, r->y, r->idx, first, n);
            gather_weights(m, r->o, r->y, r->idx, first, n);
        }
        return NNC_OK;
    }
    const float *x, *y;
    nnc_error e = {""};
    nnc_status st = nnc_loader_take(r->ld, &x, &y, &e);
    r->taken++;
    if (!st && n && (st = check_batch(r, x, y, n))) snprintf(e.message, sizeof e.message, "%s", m->error);
    if (nnc_dist_on(m)) {
        int who = nnc_comm_agree(m->comm, st != NNC_OK, e.message, sizeof e.message);
        if (who >= 0 && !st) st = NNC_ERR_DATA;
        if (who > 0) {
            char msg[sizeof e.message];
            snprintf(msg, sizeof msg, "rank %d: %s", who, e.message);
            snprintf(e.message, sizeof e.message, "%s", msg);
        }
    }
    if (st) return nnc_fail(m, st, "fit: %s", e.message);
    if (n) {
        nnc_gather_inputs(m, x, NULL, 0, n);
        nnc_gather_targets(m, y, NULL, 0, n);
        gather_weights_of(m, r->o, y, NULL, 0, r->idx, first, n);
    }
    ask(r, r->asked); /* the slot just gathered is free: the batch after next */
    return NNC_OK;
}

/* What an epoch that stopped early left in the loader, taken back unread. */
static void drain(fit_run *r) {
    const float *x, *y;
    for (; r->ld && r->taken < r->asked; r->taken++) nnc_loader_take(r->ld, &x, &y, NULL);
    r->asked = r->taken = 0;
}

/* One data-parallel step: this rank's share of the global batch at first; the batch's
 * metrics (over every rank) go into acc. *bad when some rank's loss is not finite, *stopped
 * when some rank was interrupted. */
static nnc_status dist_step(fit_run *r, size_t first, int b, bool first_micro, bool apply, size_t grows,
                            nnc_metric_acc *acc, double *loss, bool *stopped) {
    nnc_model *m = r->m;
    size_t lo, hi;
    nnc_dist_share(m, (size_t)b, &lo, &hi);
    const int nb = (int)(hi - lo);
    nnc_status st = load_rows(r, first + lo, nb);
    if (st) return st;
    nnc_metric_acc batch;
    bool intr = r->o->interrupt && *r->o->interrupt;
    st = nnc_dist_micro_step(m, nb, first_micro, apply, (float)((double)nb / (double)grows), intr,
                                        &batch, stopped);
    *loss = batch.count > 0 ? batch.loss_sum / batch.count : 0.0;
    if (st == NNC_OK || (st == NNC_ERR_NUMERIC && r->cbr.handles_nan)) {
        acc->loss_sum += batch.loss_sum, acc->count += batch.count;
        for (int h = 0; h < NNC_MAX_OUTPUTS; h++) acc->head_loss[h] += batch.head_loss[h];
    }
    if (st == NNC_ERR_NUMERIC && !isnan(*loss)) *loss = (double)NAN;
    return st;
}

/* The training steps of one epoch; *done gets the batches that counted. */
static nnc_status train_epoch(fit_run *r, int ep, double t0, nnc_metric_acc *acc, size_t *done) {
    nnc_model *m = r->m;
    const nnc_fit_opts *o = r->o;
    const size_t bs = (size_t)r->bs, group = o->steps_per_update > 1 ? (size_t)o->steps_per_update : 1;
    nnc_logs logs;
    for (size_t s = 0; s < r->steps; s++) {
        size_t first = s * bs;
        int b = (int)(r->ntrain - first < bs ? r->ntrain - first : bs);
        /* Gradient accumulation: batches s0..s0+group-1 make one update, each weighted by its
         * share of the group's rows (the last group may be short). */
        size_t g0 = s / group * group, g1 = g0 + group < r->steps ? g0 + group : r->steps;
        size_t grows = (g1 * bs < r->ntrain ? g1 * bs : r->ntrain) - g0 * bs;
        double loss;
        bool bad = false, stopped = false;
        nnc_status st;
        /* the gathering of the rows is part of the step the pool times (thread_pool.h) */
        nnc_pool_round_begin(m->pool, NNC_ROUND_TRAIN, b);
        if (nnc_dist_on(m)) {
            st = dist_step(r, first, b, s == g0, s + 1 == g1, grows, acc, &loss, &stopped);
            bad = st == NNC_ERR_NUMERIC;
        } else if (!(st = load_rows(r, first, b))) {
            /* A non-finite loss leaves the weights untouched; with TerminateOnNaN attached it
             * reaches the batch logs (as in Keras) and stops training cleanly. */
            bad = nnc_train_micro_step(m, b, &loss, s == g0, s + 1 == g1, (float)((double)b / (double)grows)) != NNC_OK;
            if (!bad || r->cbr.handles_nan) nnc_metrics_add(m, acc, b, loss);
        }
        nnc_pool_round_end(m->pool);
        if (st && st != NNC_ERR_NUMERIC) return st;
        if (!bad || r->cbr.handles_nan) {
            *done = s + 1;
            if (r->batch_logs) {
                memset(&logs, 0, sizeof logs);
                nnc_metrics_logs(m, acc, "", &logs);
                nnc_progress_update(&r->pb, (int)s + 1, now_s() - t0, &logs);
                nnc_cb_batch_end(&r->cbr, ep, (int)s, &logs);
                nnc_batch_info bi = {ep, (int)s, b, &logs};
                if (o->on_batch_end && o->on_batch_end(o->user, &bi)) r->cbr.stop = true;
            }
        }
        if (bad && !r->cbr.stop)
            return nnc_fail(m, NNC_ERR_NUMERIC,
                            "fit: the loss became %g at epoch %d, batch %zu; training stopped "
                            "with the weights before that step", loss, ep + 1, s + 1);
        /* data parallel: the interrupt as every rank saw it at this step */
        if (nnc_dist_on(m) ? stopped : o->interrupt && *o->interrupt) {
            if (r->pb.live) fputc('\n', r->pb.f); /* the bar's line stays as it was drawn */
            return nnc_fail(m, NNC_ERR_INTERRUPTED, "fit: interrupted in epoch %d, after batch %zu", ep + 1, s + 1);
        }
        if (r->cbr.stop) break;
    }
    return NNC_OK;
}

/* An epoch's end: its logs with the validation's, the callbacks, the progress line, the
 * history and the fit's own hook, in Keras's order. */
static nnc_status end_epoch(fit_run *r, int ep, double secs, const nnc_metric_acc *acc, size_t done,
                            nnc_history **history) {
    nnc_model *m = r->m;
    nnc_logs logs;
    nnc_status st;
    memset(&logs, 0, sizeof logs);
    nnc_metrics_logs(m, acc, "", &logs);
    if (r->vn) {
        nnc_metric_acc vacc;
        if ((st = r->vx ? evaluate_into(m, r->vx, r->vy, r->vn, r->bs, &vacc)
                        : evaluate_src(m, r->src, r->vfirst, r->vn, r->bs, &vacc)))
            return st;
        nnc_metrics_logs(m, &vacc, "val_", &logs);
    }
    m->train->epochs_done++;
    /* callbacks first: they may add "learning_rate" to the logs */
    if ((st = nnc_cb_epoch_end(&r->cbr, ep, &logs))) return st;
    nnc_progress_end(&r->pb, (int)done, secs, &logs);
    if (history && history_push(history, &logs)) return nnc_fail(m, NNC_ERR_NOMEM, "fit: out of memory");
    nnc_epoch_info info = {ep, &logs, secs};
    if (r->o->on_epoch_end && r->o->on_epoch_end(r->o->user, &info)) r->cbr.stop = true;
    return NNC_OK;
}

static nnc_status fit_run_all(fit_run *r, nnc_history **history);

static nnc_status fit_impl(nnc_model *m, const float *x, const float *y, const nnc_row_source *src, size_t n,
                           const nnc_fit_opts *o, nnc_history **history) {
    nnc_status st = require_compiled(m, "fit");
    if (st || (st = nnc_require_float(m, "fit"))) return st;
    nnc_fit_opts def = nnc_fit_opts_default();
    if (!o) o = &def;
    fit_run r;
    memset(&r, 0, sizeof r);
    r.m = m, r.o = o, r.x = x, r.y = y, r.src = src;
    if ((st = check_fit(m, x, y, src, n, o)) || (st = split_validation(&r, n))) return st;
    r.bs = (size_t)o->batch_size > r.ntrain ? (int)r.ntrain : o->batch_size;
    if ((st = nnc_train_plan(m, r.bs))) return st;
    if (nnc_dist_on(m) && (st = nnc_dist_begin(m, o, x, y, src ? src->hash : 0, n, r.bs))) return st;
    if (!(r.idx = malloc(r.ntrain * sizeof *r.idx))) return nnc_fail(m, NNC_ERR_NOMEM, "fit: out of memory");
    if (src && !(r.ld = nnc_loader_new(src, (size_t)r.bs, nnc_input_size(m), nnc_target_size(m)))) {
        free(r.idx);
        return nnc_fail(m, NNC_ERR_NOMEM, "fit: out of memory");
    }
    st = fit_run_all(&r, history);
    nnc_loader_free(r.ld);
    free(r.idx);
    return st;
}

nnc_status nnc_fit(nnc_model *m, const float *x, const float *y, size_t n, const nnc_fit_opts *o,
                   nnc_history **history) {
    return fit_impl(m, x, y, NULL, n, o, history);
}

nnc_status nnc_fit_source(nnc_model *m, const nnc_row_source *src, const nnc_fit_opts *o, nnc_history **history) {
    if (m && (!src || !src->read)) return nnc_fail(m, NNC_ERR_ARG, "fit: no row source");
    return fit_impl(m, NULL, NULL, src, src ? src->n : 0, o, history);
}

/* The epochs of a planned fit. */
static nnc_status fit_run_all(fit_run *rp, nnc_history **history) {
    fit_run r = *rp; /* copied back at the end: the loader's counts */
    nnc_model *m = r.m;
    const nnc_fit_opts *o = r.o;
    nnc_status st;
    if (history && !(*history = calloc(1, sizeof **history))) return nnc_fail(m, NNC_ERR_NOMEM, "fit: out of memory");
    /* Keras's on_train_begin: BackupAndRestore may move the first epoch. */
    int first_epoch = o->initial_epoch;
    if ((st = nnc_cb_train_begin(&r.cbr, m, o, &first_epoch))) return st;
    r.steps = (r.ntrain + (size_t)r.bs - 1) / (size_t)r.bs;
    /* Data parallel: rank 0 alone prints */
    nnc_progress_init(&r.pb, nnc_comm_rank(m->comm) ? 0 : o->verbose, o->out ? o->out : stdout, (int)r.steps);
    r.batch_logs = r.pb.live || o->on_batch_end || r.cbr.wants_batch;
    for (int ep = first_epoch; ep < o->epochs && st == NNC_OK && !r.cbr.stop; ep++) {
        if ((st = nnc_cb_epoch_begin(&r.cbr, ep))) break;
        nnc_progress_epoch(&r.pb, ep + 1, o->epochs);
        double t0 = now_s();
        /* Data parallel: every rank shuffles as rank 0 (the 1-process shuffle), then draws its
         * dropout masks from a stream of its own. */
        if (nnc_dist_on(m) && (st = nnc_dist_sync_rng(m))) break;
        shuffle_rows(&r);
        if (nnc_dist_on(m)) nnc_dist_split_rng(m);
        if (r.src) ask(&r, 0), ask(&r, 1);
        nnc_metric_acc acc;
        size_t done = 0;
        st = nnc_metrics_begin(m, &acc, 0, r.ntrain);
        if (!st) st = train_epoch(&r, ep, t0, &acc, &done);
        drain(&r); /* an epoch stopped early leaves batches asked */
        if (st) break;
        /* Data parallel: the losses were summed over the ranks step by step, the metrics' state
         * is summed once here */
        if (nnc_dist_on(m) && (st = nnc_dist_reduce_metrics(m, &acc))) break;
        double secs = now_s() - t0; /* the slowest rank's */
        if (nnc_dist_on(m) && (st = nnc_dist_max(m, &secs))) break;
        st = end_epoch(&r, ep, secs, &acc, done, history);
        /* Data parallel: rank 0 alone writes the callbacks' files, so it alone can fail there;
         * every rank then stops with its message. */
        if (nnc_dist_on(m) && nnc_comm_agree(m->comm, st != NNC_OK, m->error, sizeof m->error) >= 0 && !st)
            st = NNC_ERR_IO;
    }
    nnc_status end = nnc_cb_train_end(&r.cbr, st == NNC_OK);
    if (st == NNC_OK) st = end;
    m->train->use_weights = 0;
    *rp = r;
    return st;
}

int nnc_model_epochs_done(const nnc_model *m) { return m && m->train ? m->train->epochs_done : 0; }

/* The state a run leaves in the model, kept for the best of the restarts. */
typedef struct {
    float *params, *slots;
    int64_t iterations;
    int epochs_done;
    nnc_rng rng;
} run_state;

static void save_state(const nnc_model *m, run_state *s, size_t slot_floats) {
    memcpy(s->params, m->param_arena, m->n_param_floats * sizeof(float));
    memcpy(s->slots, m->train->opt_slots, slot_floats * sizeof(float));
    s->iterations = m->train->iterations;
    s->epochs_done = m->train->epochs_done;
    s->rng = m->rng;
}

nnc_status nnc_fit_restarts(nnc_model *m, const float *x, const float *y, size_t n,
                            const nnc_fit_opts *o, int restarts, uint64_t first_seed,
                            nnc_history **history) {
    nnc_status st = require_compiled(m, "fit_restarts");
    if (st || (st = nnc_require_float(m, "fit_restarts"))) return st;
    if (restarts < 1) return nnc_fail(m, NNC_ERR_ARG, "fit_restarts: %d restarts, need at least 1", restarts);
    nnc_fit_opts def = nnc_fit_opts_default();
    if (!o) o = &def;
    const size_t slot_floats = (m->n_trainable_floats + 1) * (size_t)(m->train->n_slots ? m->train->n_slots : 1);
    run_state best = {malloc(m->n_param_floats * sizeof(float) + 1), malloc(slot_floats * sizeof(float)), 0, 0, {{0}}};
    if (!best.params || !best.slots) {
        free(best.params);
        free(best.slots);
        return nnc_fail(m, NNC_ERR_NOMEM, "fit_restarts: out of memory");
    }
    const uint64_t base = first_seed;
    double best_score = (double)INFINITY;
    nnc_history *best_hist = NULL;
    nnc_fit_opts run = *o;
    FILE *out = o->out ? o->out : stdout;
    for (int k = 0; k < restarts; k++) {
        nnc_history *h = NULL;
        nnc_reinitialize(m, base + (uint64_t)k);
        if ((st = nnc_fit(m, x, y, n, &run, &h))) {
            nnc_history_free(h);
            break;
        }
        const nnc_logs *last = nnc_history_logs(h, nnc_history_epochs(h) - 1);
        double v = nnc_logs_get(last, "val_loss"), score = isnan(v) ? nnc_logs_get(last, "loss") : v;
        if (o->verbose)
            fprintf(out, "restart %d/%d (seed %llu): %s %.4f%s\n", k + 1, restarts,
                    (unsigned long long)(base + (uint64_t)k), isnan(v) ? "loss" : "val_loss", score,
                    score < best_score ? " (best so far)" : "");
        if (score < best_score) {
            best_score = score;
            save_state(m, &best, slot_floats);
            nnc_history_free(best_hist);
            best_hist = h;
        } else {
            nnc_history_free(h);
        }
    }
    if (best_hist && st != NNC_ERR_INTERRUPTED) { /* the best run's state back into the model */
        memcpy(m->param_arena, best.params, m->n_param_floats * sizeof(float));
        memcpy(m->train->opt_slots, best.slots, slot_floats * sizeof(float));
        m->train->iterations = best.iterations;
        m->train->epochs_done = best.epochs_done;
        m->rng = best.rng;
    }
    if (history) *history = best_hist;
    else nnc_history_free(best_hist);
    free(best.params);
    free(best.slots);
    return st;
}
