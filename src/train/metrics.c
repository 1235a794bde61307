/* Metrics (Keras 3 names and definitions) and the checks of training data. "accuracy"
 * resolves from the loss as Keras does: binary for binary cross-entropy (threshold 0.5 on
 * probabilities; 0 on logits, our deliberate improvement), sparse categorical or categorical
 * for the categorical losses, and for regression losses binary when there is one output,
 * categorical otherwise. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "train_impl.h"
#include "../format/json.h"

static const char *const metric_names[NNC_METRIC_COUNT] = {
    [NNC_METRIC_ACCURACY] = "accuracy", [NNC_METRIC_MSE] = "mse", [NNC_METRIC_MAE] = "mae"};

const char *nnc_metric_name(nnc_metric k) {
    return (unsigned)k < NNC_METRIC_COUNT ? metric_names[k] : "?";
}

nnc_status nnc_metric_parse(const char *name, nnc_metric *out) {
    static const struct { const char *s; nnc_metric k; } names[] = {
        {"accuracy", NNC_METRIC_ACCURACY}, {"acc", NNC_METRIC_ACCURACY},
        {"mse", NNC_METRIC_MSE}, {"mean_squared_error", NNC_METRIC_MSE},
        {"mae", NNC_METRIC_MAE}, {"mean_absolute_error", NNC_METRIC_MAE}};
    for (size_t i = 0; name && i < sizeof names / sizeof *names; i++)
        if (!strcmp(name, names[i].s)) {
            *out = names[i].k;
            return NNC_OK;
        }
    return NNC_ERR_ARG;
}

static int argmax(const float *v, int k) {
    int b = 0;
    for (int j = 1; j < k; j++)
        if (v[j] > v[b]) b = j;
    return b;
}

void nnc_metrics_add(const nnc_model *m, nnc_metric_acc *acc, int n, double batch_loss) {
    const nnc_node_rec *o = &m->nodes[m->outputs[0]];
    const float *p = o->value, *y = m->train->batch_y;
    int k = (int)nnc_output_size(m);
    nnc_loss_kind lk = m->train->copts.loss.kind;
    acc->loss_sum += batch_loss * n;
    acc->count += n;
    for (int i = 0; i < m->train->copts.n_metrics; i++) {
        double s = 0.0;
        size_t nk = (size_t)n * (size_t)k;
        switch (m->train->copts.metrics[i]) {
        case NNC_METRIC_ACCURACY:
            if (lk == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) {
                for (int r = 0; r < n; r++) s += argmax(p + (size_t)r * k, k) == (int)y[r];
            } else if (lk == NNC_LOSS_BINARY_CROSSENTROPY || k == 1) {
                /* Mean over the outputs of each row, then over rows: per-label accuracy. */
                float th = lk == NNC_LOSS_BINARY_CROSSENTROPY && m->train->copts.loss.from_logits ? 0.0f : 0.5f;
                double hits = 0.0;
                for (size_t j = 0; j < nk; j++) hits += (p[j] > th) == (y[j] > 0.5f);
                s = hits / k;
            } else {
                for (int r = 0; r < n; r++)
                    s += argmax(p + (size_t)r * k, k) == argmax(y + (size_t)r * k, k);
            }
            break;
        case NNC_METRIC_MSE:
        case NNC_METRIC_MAE: {
            /* Regression metrics compare the output itself; sparse targets have no row. */
            if (lk == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) break;
            double e = 0.0;
            for (size_t j = 0; j < nk; j++) {
                double d = (double)p[j] - (double)y[j];
                e += m->train->copts.metrics[i] == NNC_METRIC_MSE ? d * d : fabs(d);
            }
            s = e / k;
            break;
        }
        default: break;
        }
        acc->sums[i] += s;
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

void nnc_metrics_logs(const nnc_model *m, const nnc_metric_acc *acc, const char *prefix,
                      nnc_logs *logs) {
    char key[32];
    double c = acc->count > 0 ? acc->count : 1;
    snprintf(key, sizeof key, "%sloss", prefix);
    nnc_logs_set(logs, key, acc->loss_sum / c);
    for (int i = 0; i < m->train->copts.n_metrics; i++) {
        snprintf(key, sizeof key, "%s%s", prefix, nnc_metric_name(m->train->copts.metrics[i]));
        nnc_logs_set(logs, key, acc->sums[i] / c);
    }
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
    const int bad = any_nonfinite(x, n * f);
    for (size_t r = 0; bad && r < n; r++) /* the first one, for the message */
        for (size_t j = 0; j < f; j++)
            if (!isfinite(x[r * f + j]))
                return nnc_fail(m, NNC_ERR_DATA, "x[%zu][%zu] is %g: inputs must be finite", r,
                                j, (double)x[r * f + j]);
    nnc_status st = check_token_ids(m, x, n, f);
    if (st || !y) return st;
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
