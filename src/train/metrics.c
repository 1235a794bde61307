/* Metrics on a model (their rows and arithmetic: metric_defs.c, metric_stream.c), the logs,
 * and the checks of training data. "accuracy" resolves from the loss as Keras does: binary for
 * binary cross-entropy (threshold 0.5 on probabilities; 0 on logits, our deliberate
 * improvement), sparse categorical or categorical for the categorical losses, and for
 * regression losses binary when there is one output, categorical otherwise. Metrics that read
 * probabilities (precision, recall, auc, the f-scores) get the sigmoid or softmax of a logit
 * output (loss from_logits), which Keras leaves to the user (thresholds=0 and the like). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "train_impl.h"
#include "../format/json.h"

/* ---- compile: arguments, checks, keys, state ------------------------------------------------ */

/* Keras's CompileMetrics.result(): the metrics list first, a name met again gets _1, _2, ...;
 * then the weighted list, where a name met again becomes weighted_<name> (then _1, ...). The
 * metrics of one output of several are named after it ("out1_accuracy"), as Keras 3 names
 * them, and each output's names are made unique among its own. */
static void name_keys(nnc_train_state *ts, const nnc_model *m, int from, int to) {
    char stem[NNC_LOG_NAME_MAX] = "";
    if (ts->n_heads > 1) snprintf(stem, sizeof stem, "%.32s_", nnc_model_output_name_at(m, ts->metric_head[from]));
    for (int pass = 0; pass < 2; pass++)
        for (int i = from; i < to; i++) {
            const nnc_metric_config *c = &ts->mcfg[i];
            if ((int)c->weighted != pass) continue;
            char base[96], first[112], key[128];
            snprintf(base, sizeof base, "%.34s%.56s", stem, c->name[0] ? c->name : nnc_metric_name(c->kind));
            snprintf(first, sizeof first, "%s%.95s", pass ? "weighted_" : "", base);
            snprintf(key, sizeof key, "%s", base);
            for (int round = 0, index = 0;; round++) {
                int taken = 0;
                for (int j = from; j < to; j++)
                    taken |= ts->metric_key[j][0] && !strcmp(ts->metric_key[j], key);
                if (!taken) break;
                if (pass && round == 0) snprintf(key, sizeof key, "%s", first);
                else snprintf(key, sizeof key, "%.111s_%d", pass ? first : base, ++index);
            }
            snprintf(ts->metric_key[i], sizeof ts->metric_key[i], "%.*s", NNC_LOG_NAME_MAX - 1, key);
        }
}

static const nnc_metric_ctx *ctx_of(const nnc_train_state *ts, int i) {
    return &ts->metric_ctx[ts->metric_head[i]];
}

/* The values a metric logs: one, or one per class. */
static int metric_values(const nnc_metric_config *c, const nnc_metric_ctx *x) {
    int per_class = ((c->kind == NNC_METRIC_F1_SCORE || c->kind == NNC_METRIC_FBETA_SCORE) && c->average == NNC_AVERAGE_NONE) ||
                    (c->kind == NNC_METRIC_R2_SCORE && c->class_aggregation == NNC_R2_NONE);
    return per_class ? x->k : 1;
}

/* Slot i is metric j of output h: its arguments resolved and checked against that output. */
static nnc_status check_metric(nnc_model *m, int i, int h, int j) {
    nnc_train_state *ts = m->train;
    const nnc_output_opts *o = &ts->heads[h].o;
    char why[400];
    if ((unsigned)o->metrics[j] >= NNC_METRIC_COUNT)
        return nnc_fail(m, NNC_ERR_ARG, "compile: unknown metric %d", (int)o->metrics[j]);
    ts->mcfg[i] = nnc_output_metric(o, j);
    ts->metric_head[i] = h;
    const nnc_metric_config *c = &ts->mcfg[i];
    const nnc_metric_desc *d = nnc_metric_desc_of(c->kind);
    if (c->kind != o->metrics[j])
        return nnc_fail(m, NNC_ERR_ARG, "compile: metrics[%d] is %s but metric_config[%d] is for %s", j,
                        nnc_metric_name(o->metrics[j]), j, nnc_metric_name(c->kind));
    const char *bad = d->check(c, &ts->metric_ctx[h], why, sizeof why);
    if (!bad && c->kind == NNC_METRIC_AUC && (c->num_thresholds < 2 || c->num_thresholds > 1 << 20))
        bad = "num_thresholds must be in [2, 1048576]";
    if (!bad && c->kind == NNC_METRIC_FBETA_SCORE && !(c->beta > 0.0f)) bad = "beta must be > 0";
    if (!bad && (c->kind == NNC_METRIC_TOP_K_CATEGORICAL_ACCURACY || c->kind == NNC_METRIC_SPARSE_TOP_K_CATEGORICAL_ACCURACY) && c->k < 1)
        bad = "k must be >= 1";
    if (bad) {
        const char *layer = m->layers[m->nodes[ts->heads[h].node].layer].name;
        return nnc_fail(m, NNC_ERR_ARG, "compile: metric %s (output layer '%s'): %s", nnc_metric_name(c->kind), layer, bad);
    }
    return NNC_OK;
}

/* Metric i's v-th log key (one per class when it logs several). */
static void log_key(const nnc_train_state *ts, int i, int v, int nv, char *key, size_t n) {
    if (nv > 1) snprintf(key, n, "%s_%d", ts->metric_key[i], v);
    else snprintf(key, n, "%s", ts->metric_key[i]);
}

/* Whether a log key is taken by a loss ("loss", "out1_loss"). */
static int is_loss_key(const nnc_model *m, const char *key) {
    const nnc_train_state *ts = m->train;
    if (!strcmp(key, "loss")) return 1;
    for (int h = 0; ts->n_heads > 1 && h < ts->n_heads; h++) {
        char own[NNC_LOG_NAME_MAX + 16];
        snprintf(own, sizeof own, "%.32s_loss", nnc_model_output_name_at(m, h));
        if (!strcmp(key, own)) return 1;
    }
    return 0;
}

/* A per-class key may meet another metric's name ("f1_score_1"): refused, one line. */
static nnc_status check_key_clash(nnc_model *m, int n) {
    const nnc_train_state *ts = m->train;
    char a[NNC_LOG_NAME_MAX + 16], b[NNC_LOG_NAME_MAX + 16];
    for (int i = 0; i < n; i++) {
        int ni = metric_values(&ts->mcfg[i], ctx_of(ts, i));
        for (int u = 0; u < ni; u++) {
            log_key(ts, i, u, ni, a, sizeof a);
            int clash = is_loss_key(m, a);
            for (int j = i + 1; j < n && !clash; j++) {
                int nj = metric_values(&ts->mcfg[j], ctx_of(ts, j));
                for (int v = 0; v < nj && !clash; v++) {
                    log_key(ts, j, v, nj, b, sizeof b);
                    clash = !strcmp(a, b);
                }
            }
            if (clash)
                return nnc_fail(m, NNC_ERR_ARG, "compile: two values would be logged as '%s'; give a metric another "
                                "name (f1_score(name=f1_per_class))", a);
        }
    }
    return NNC_OK;
}

static void set_ctx(nnc_metric_ctx *x, const nnc_head *H) {
    x->k = H->k;
    x->loss = H->o.loss.kind;
    x->sparse = H->o.loss.kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    x->from_logits = H->o.loss.from_logits && H->o.loss.kind >= NNC_LOSS_BINARY_CROSSENTROPY;
}

/* Reads every output's metrics from its head (compile's make_heads filled them from o). */
nnc_status nnc_metrics_compile(nnc_model *m, const nnc_compile_opts *o) {
    (void)o;
    nnc_train_state *ts = m->train;
    nnc_status st0;
    memset(ts->metric_key, 0, sizeof ts->metric_key);
    int values = ts->n_heads > 1 ? 1 + ts->n_heads : 1; /* the losses */
    int n = 0;
    ts->metric_off[0] = ts->metric_pts_off[0] = 0;
    for (int h = 0; h < ts->n_heads; h++) {
        set_ctx(&ts->metric_ctx[h], &ts->heads[h]);
        int from = n;
        for (int j = 0; j < ts->heads[h].o.n_metrics; j++, n++) {
            nnc_status st = check_metric(m, n, h, j);
            if (st) return st;
            values += metric_values(&ts->mcfg[n], &ts->metric_ctx[h]);
            ts->metric_off[n + 1] = ts->metric_off[n] +
                                    nnc_metric_desc_of(ts->mcfg[n].kind)->fns->state_size(&ts->mcfg[n], &ts->metric_ctx[h]);
            ts->metric_pts_off[n + 1] = ts->metric_pts_off[n] + nnc_metric_points_per_row(&ts->mcfg[n], &ts->metric_ctx[h]);
        }
        if (n > from) name_keys(ts, m, from, n);
    }
    ts->n_metric_slots = n;
    if (2 * values + 2 > NNC_MAX_LOGS)
        return nnc_fail(m, NNC_ERR_ARG, "compile: the losses and metrics give %d values per pass (one per class for "
                        "f1_score or fbeta_score with average=None, r2_score with class_aggregation=None), more than "
                        "the %d the logs hold with validation; average them (average=macro) or drop some", values,
                        NNC_MAX_LOGS / 2 - 1);
    if ((st0 = check_key_clash(m, n))) return st0;
    for (int p = 0; p < 2; p++) {
        free(ts->metric_state[p]);
        ts->metric_state[p] = calloc(ts->metric_off[n] + 1, sizeof(double));
        if (!ts->metric_state[p]) return nnc_fail(m, NNC_ERR_NOMEM, "compile: out of memory for the metrics");
    }
    return NNC_OK;
}

size_t nnc_metrics_prob_floats(const nnc_model *m) {
    const nnc_train_state *ts = m->train;
    size_t most = 0;
    for (int i = 0; i < ts->n_metric_slots; i++) {
        const nnc_metric_ctx *x = ctx_of(ts, i);
        if (x->from_logits && (size_t)x->k > most) most = (size_t)x->k;
    }
    return most;
}

void nnc_metrics_free(nnc_train_state *ts) {
    for (int p = 0; p < 2; p++) {
        free(ts->metric_state[p]);
        free(ts->metric_pts[p]);
        free(ts->metric_scratch[p]);
    }
    free(ts->batch_prob);
}

/* ---- passes ------------------------------------------------------------------------------- */

static nnc_metric_slot slot_of(const nnc_train_state *ts, int pass, int i) {
    nnc_metric_slot s = {ts->metric_state[pass] + ts->metric_off[i], NULL, ts->metric_scratch[pass],
                         ts->metric_rows_cap[pass]};
    if (ts->metric_pts_off[i + 1] > ts->metric_pts_off[i]) s.pts = ts->metric_pts[pass] + ts->metric_pts_off[i] * s.rows_cap;
    return s;
}

nnc_status nnc_metrics_begin(nnc_model *m, nnc_metric_acc *acc, int pass, size_t rows) {
    nnc_train_state *ts = m->train;
    const int n = ts->n_metric_slots;
    memset(acc, 0, sizeof *acc);
    acc->pass = pass;
    size_t per_row = 0, region = 0;
    for (int i = 0; i < n; i++) {
        size_t k = nnc_metric_points_per_row(&ts->mcfg[i], ctx_of(ts, i));
        per_row += k;
        if (k > region) region = k;
    }
    if (per_row && rows > ts->metric_rows_cap[pass]) {
        free(ts->metric_pts[pass]);
        free(ts->metric_scratch[pass]);
        ts->metric_pts[pass] = malloc(rows * per_row * sizeof(nnc_auc_point));
        ts->metric_scratch[pass] = malloc(rows * region * sizeof(nnc_auc_point));
        ts->metric_rows_cap[pass] = ts->metric_pts[pass] && ts->metric_scratch[pass] ? rows : 0;
        if (!ts->metric_rows_cap[pass])
            return nnc_fail(m, NNC_ERR_NOMEM, "out of memory for the exact AUC of %zu rows", rows);
    }
    for (int i = 0; i < n; i++) {
        nnc_metric_slot s = slot_of(ts, pass, i);
        nnc_metric_slot_reset(&ts->mcfg[i], ctx_of(ts, i), &s);
    }
    return NNC_OK;
}

/* An output's probabilities for a model trained from logits: sigmoid or softmax. */
static const float *probabilities(const nnc_model *m, const nnc_metric_ctx *x, const float *p, int n) {
    const nnc_train_state *ts = m->train;
    if (!x->from_logits || !ts->batch_prob) return p;
    float *q = ts->batch_prob;
    size_t nk = (size_t)n * (size_t)x->k;
    memcpy(q, p, nk * sizeof *q);
    if (x->loss == NNC_LOSS_BINARY_CROSSENTROPY) nnc_sigmoid(q, nk);
    else nnc_softmax_rows(q, (size_t)n, (size_t)x->k);
    return q;
}

/* The metrics that read an output's values themselves (argmax, top k, errors; accuracy of logits
 * compared at 0): for them alone no probabilities are computed (B0's softmax with expf was a
 * sixth of its step, for an accuracy that reads the argmax of the logits). */
static int reads_prob(nnc_metric k) {
    switch (k) {
    case NNC_METRIC_ACCURACY:
    case NNC_METRIC_MSE:
    case NNC_METRIC_MAE:
    case NNC_METRIC_MAPE:
    case NNC_METRIC_CATEGORICAL_ACCURACY:
    case NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY:
    case NNC_METRIC_TOP_K_CATEGORICAL_ACCURACY:
    case NNC_METRIC_SPARSE_TOP_K_CATEGORICAL_ACCURACY: return 0;
    default: return 1;
    }
}

void nnc_metrics_add(const nnc_model *m, nnc_metric_acc *acc, int n, double batch_loss) {
    const nnc_train_state *ts = m->train;
    acc->loss_sum += batch_loss * n;
    acc->count += n;
    for (int h = 0; ts->n_heads > 1 && h < ts->n_heads; h++) acc->head_loss[h] += ts->heads[h].last_loss * n;
    int i = 0;
    for (int h = 0; h < ts->n_heads; h++) {
        if (i >= ts->n_metric_slots || ts->metric_head[i] != h) continue;
        const nnc_metric_ctx *x = &ts->metric_ctx[h];
        nnc_metric_batch b = {m->nodes[ts->heads[h].node].value, NULL, nnc_head_targets(m, h), NULL, n};
        int need = 0;
        for (int j = i; j < ts->n_metric_slots && ts->metric_head[j] == h; j++) need |= reads_prob(ts->mcfg[j].kind);
        b.prob = need ? probabilities(m, x, b.p, n) : b.p;
        for (; i < ts->n_metric_slots && ts->metric_head[i] == h; i++) {
            const nnc_metric_config *c = &ts->mcfg[i];
            nnc_metric_slot s = slot_of(ts, acc->pass, i);
            b.w = c->weighted && ts->use_weights ? ts->batch_w : NULL;
            nnc_metric_desc_of(c->kind)->fns->update(c, x, &s, &b);
        }
    }
}

void nnc_logs_set(nnc_logs *l, const char *key, double v) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->names[i], key)) {
            l->values[i] = v;
            return;
        }
    if (l->count == NNC_MAX_LOGS) return;
    /* Keras 3 prints logs in sorted order; keep them sorted as they are added. */
    int at = l->count;
    while (at > 0 && strcmp(l->names[at - 1], key) > 0) {
        memcpy(l->names[at], l->names[at - 1], sizeof l->names[at]);
        l->values[at] = l->values[at - 1];
        at--;
    }
    snprintf(l->names[at], sizeof l->names[at], "%s", key);
    l->values[at] = v;
    l->count++;
}

double nnc_logs_get(const nnc_logs *l, const char *key) {
    for (int i = 0; l && i < l->count; i++)
        if (!strcmp(l->names[i], key)) return l->values[i];
    return (double)NAN;
}

int nnc_logs_json(const nnc_logs *l, const char *prefix, char *buf, size_t n) {
    nnc_strbuf sb = {0};
    for (int i = 0; l && i < l->count; i++) {
        char key[96];
        snprintf(key, sizeof key, "%s%s", prefix ? prefix : "", l->names[i]);
        if (i) nnc_sb_puts(&sb, ",");
        nnc_sb_json_string(&sb, key);
        nnc_sb_puts(&sb, ":");
        nnc_sb_json_number(&sb, l->values[i]);
    }
    int len = sb.oom ? -1 : (int)snprintf(buf, n, "%s", sb.buf ? sb.buf : "");
    nnc_sb_free(&sb);
    return len;
}

/* Keras 3's keys: "loss", then for several outputs each one's "<output>_loss", then every
 * metric ("<output>_<metric>" when there are several outputs). */
void nnc_metrics_logs(const nnc_model *m, const nnc_metric_acc *acc, const char *prefix,
                      nnc_logs *logs) {
    const nnc_train_state *ts = m->train;
    char key[NNC_LOG_NAME_MAX + 16];
    double c = acc->count > 0 ? acc->count : 1, out[NNC_MAX_LOGS + 1];
    snprintf(key, sizeof key, "%sloss", prefix);
    nnc_logs_set(logs, key, acc->loss_sum / c);
    for (int h = 0; ts->n_heads > 1 && h < ts->n_heads; h++) {
        snprintf(key, sizeof key, "%s%.32s_loss", prefix, nnc_model_output_name_at(m, h));
        nnc_logs_set(logs, key, acc->head_loss[h] / c);
    }
    for (int i = 0; i < ts->n_metric_slots; i++) {
        const nnc_metric_config *mc = &ts->mcfg[i];
        nnc_metric_slot s = slot_of(ts, acc->pass, i);
        int nv = metric_values(mc, ctx_of(ts, i));
        if (nv > NNC_MAX_LOGS) continue; /* refused by compile */
        int got = nnc_metric_desc_of(mc->kind)->fns->result(mc, ctx_of(ts, i), &s, out);
        for (int v = 0; v < got; v++) {
            char own[NNC_LOG_NAME_MAX + 16];
            log_key(ts, i, v, got, own, sizeof own);
            snprintf(key, sizeof key, "%s%.*s", prefix, NNC_LOG_NAME_MAX, own);
            nnc_logs_set(logs, key, out[v]);
        }
    }
}

int nnc_metrics_higher_is_better(const nnc_model *m, const char *key) {
    if (!m || !m->train || !key) return -1;
    const nnc_train_state *ts = m->train;
    if (!strncmp(key, "val_", 4)) key += 4;
    for (int i = 0; i < ts->n_metric_slots; i++) {
        size_t len = strlen(ts->metric_key[i]);
        if (strncmp(key, ts->metric_key[i], len)) continue;
        const char *rest = key + len;
        int per_class = rest[0] == '_' && rest[1] >= '0' && rest[1] <= '9' && strspn(rest + 1, "0123456789") == strlen(rest + 1);
        if (!rest[0] || per_class) return nnc_metric_desc_of(ts->mcfg[i].kind)->higher_is_better;
    }
    return -1;
}

/* Token ids read by an Embedding straight from a model input: whole numbers in [0, input_dim),
 * checked here, where data enters, so that a training step never reads past the table. */
static nnc_status check_token_ids(nnc_model *m, const float *x, size_t n, size_t f) {
    for (int e = 0; e < m->n_nodes; e++) {
        const nnc_node_rec *nd = &m->nodes[e];
        if (nd->op != NNC_OP_EMBEDDING || m->nodes[nd->in[0]].op != NNC_OP_INPUT) continue;
        const nnc_node_rec *in = &m->nodes[nd->in[0]];
        size_t off = 0, len = nnc_shape_size(&in->shape);
        for (int i = 0; i < in->input_index; i++) off += nnc_shape_size(&m->nodes[m->inputs[i]].shape);
        double vocab = m->nodes[nd->in[1]].shape.dim[0];
        for (size_t r = 0; r < n; r++)
            for (size_t j = 0; j < len; j++) {
                double v = (double)x[r * f + off + j];
                if (v != floor(v) || v < 0 || v >= vocab)
                    return nnc_fail(m, NNC_ERR_DATA, "layer '%s' (Embedding): row %zu, step %zu has token id %g, "
                                    "not a whole number in [0, input_dim %g)", m->layers[nd->layer].name, r, j, v,
                                    vocab);
            }
    }
    return NNC_OK;
}

/* Whether x[0..n) holds an infinity or a NaN (all exponent bits set): a branch-free OR over
 * blocks, which vectorises (a predict call checks its whole input: 7.8 M floats for P1's test
 * set, where the element-by-element test with its early exit cost ~5 % of B2's inference). */
static int any_nonfinite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i += 4096) {
        const size_t end = n - i < 4096 ? n : i + 4096;
        unsigned bad = 0;
        for (size_t k = i; k < end; k++) {
            uint32_t u;
            memcpy(&u, x + k, sizeof u);
            bad |= (u & 0x7f800000u) == 0x7f800000u;
        }
        if (bad) return 1;
    }
    return 0;
}

nnc_status nnc_check_data(nnc_model *m, const float *x, const float *y, size_t n) {
    size_t f = nnc_input_size(m), t = nnc_target_size(m);
    nnc_status st = check_token_ids(m, x, n, f); /* first: a NaN id is named as an id */
    if (st) return st;
    const int bad = any_nonfinite(x, n * f);
    for (size_t r = 0; bad && r < n; r++) /* the first one, for the message */
        for (size_t j = 0; j < f; j++)
            if (!isfinite(x[r * f + j]))
                return nnc_fail(m, NNC_ERR_DATA, "x[%zu][%zu] is %g: inputs must be finite", r,
                                j, (double)x[r * f + j]);
    if (!y) return NNC_OK;
    if (m->train->n_heads > 1) return nnc_heads_check_targets(m, y, n);
    const nnc_loss *L = &m->train->copts.loss;
    int k = (int)nnc_output_size(m);
    const char *out = m->layers[m->nodes[m->outputs[0]].layer].name;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < t; j++) {
            double v = (double)y[r * t + j];
            if (!isfinite(v))
                return nnc_fail(m, NNC_ERR_DATA, "y[%zu][%zu] is %g: targets must be finite", r, j, v);
            if (L->kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && (v != floor(v) || v < 0 || v >= k))
                return nnc_fail(m, NNC_ERR_DATA,
                                "y[%zu] = %g is not a class label in [0, %d) for output layer '%s'",
                                r, v, k, out);
            if (L->kind == NNC_LOSS_BINARY_CROSSENTROPY && (v < 0 || v > 1))
                return nnc_fail(m, NNC_ERR_DATA,
                                "y[%zu][%zu] = %g is not a binary label in [0, 1] for output layer '%s'",
                                r, j, v, out);
            if (L->kind == NNC_LOSS_CATEGORICAL_CROSSENTROPY && (v < 0 || v > 1))
                return nnc_fail(m, NNC_ERR_DATA,
                                "y[%zu][%zu] = %g is not a one-hot probability in [0, 1]", r, j, v);
        }
    return NNC_OK;
}
