/* Models of several outputs: each output's loss and metrics in the logs under Keras's names
 * ("out1_loss", "out2_accuracy", "val_out1_loss"), and the checks of each output's targets.
 * The total "loss" is the weighted sum that nnc_loss_forward returns. A model of one output
 * goes through metrics.c alone. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "train_impl.h"

static int argmax(const float *v, int k) {
    int b = 0;
    for (int j = 1; j < k; j++)
        if (v[j] > v[b]) b = j;
    return b;
}

/* One metric of one output over n rows, summed over the rows (as metrics.c's single output). */
static double head_metric(const nnc_head *H, nnc_metric met, const float *p, const float *y, int n) {
    const int k = H->k;
    const nnc_loss_kind lk = H->o.loss.kind;
    const size_t nk = (size_t)n * (size_t)k;
    double s = 0.0;
    switch (met) {
    case NNC_METRIC_ACCURACY:
        if (lk == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) {
            for (int r = 0; r < n; r++) s += argmax(p + (size_t)r * k, k) == (int)y[r];
        } else if (lk == NNC_LOSS_BINARY_CROSSENTROPY || k == 1) {
            float th = lk == NNC_LOSS_BINARY_CROSSENTROPY && H->o.loss.from_logits ? 0.0f : 0.5f;
            double hits = 0.0;
            for (size_t j = 0; j < nk; j++) hits += (p[j] > th) == (y[j] > 0.5f);
            s = hits / k;
        } else {
            for (int r = 0; r < n; r++) s += argmax(p + (size_t)r * k, k) == argmax(y + (size_t)r * k, k);
        }
        break;
    case NNC_METRIC_MSE:
    case NNC_METRIC_MAE:
        if (lk == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) break;
        for (size_t j = 0; j < nk; j++) {
            double d = (double)p[j] - (double)y[j];
            s += met == NNC_METRIC_MSE ? d * d : fabs(d);
        }
        s /= k;
        break;
    default: break;
    }
    return s;
}

void nnc_heads_metrics_add(const nnc_model *m, nnc_metric_acc *acc, int n, double batch_loss) {
    const nnc_train_state *ts = m->train;
    acc->loss_sum += batch_loss * n;
    acc->count += n;
    for (int h = 0; h < ts->n_heads; h++) {
        const nnc_head *H = &ts->heads[h];
        acc->head_sums[h][0] += H->last_loss * n;
        for (int i = 0; i < H->o.n_metrics; i++)
            acc->head_sums[h][1 + i] +=
                head_metric(H, H->o.metrics[i], m->nodes[H->node].value, nnc_head_targets(m, h), n);
    }
}

void nnc_heads_logs(const nnc_model *m, const nnc_metric_acc *acc, const char *prefix, nnc_logs *logs) {
    const nnc_train_state *ts = m->train;
    char key[96];
    const double c = acc->count > 0 ? acc->count : 1;
    snprintf(key, sizeof key, "%sloss", prefix);
    nnc_logs_set(logs, key, acc->loss_sum / c);
    for (int h = 0; h < ts->n_heads; h++) {
        const nnc_head *H = &ts->heads[h];
        const char *name = nnc_model_output_name_at(m, h);
        snprintf(key, sizeof key, "%s%s_loss", prefix, name);
        nnc_logs_set(logs, key, acc->head_sums[h][0] / c);
        for (int i = 0; i < H->o.n_metrics; i++) {
            snprintf(key, sizeof key, "%s%s_%s", prefix, name, nnc_metric_name(H->o.metrics[i]));
            nnc_logs_set(logs, key, acc->head_sums[h][1 + i] / c);
        }
    }
}

nnc_status nnc_heads_check_targets(nnc_model *m, const float *y, size_t n) {
    const nnc_train_state *ts = m->train;
    const size_t T = nnc_target_size(m);
    for (int h = 0; h < ts->n_heads; h++) {
        const nnc_head *H = &ts->heads[h];
        const nnc_loss_kind lk = H->o.loss.kind;
        const char *out = nnc_model_output_name_at(m, h);
        for (size_t r = 0; r < n; r++)
            for (size_t j = H->t_off; j < H->t_off + (size_t)H->t; j++) {
                double v = (double)y[r * T + j];
                if (!isfinite(v))
                    return nnc_fail(m, NNC_ERR_DATA, "y[%zu][%zu] is %g: targets must be finite (output '%s')", r, j,
                                    v, out);
                if (lk == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && (v != floor(v) || v < 0 || v >= H->k))
                    return nnc_fail(m, NNC_ERR_DATA, "y[%zu][%zu] = %g is not a class label in [0, %d) for output "
                                    "layer '%s'", r, j, v, H->k, out);
                if ((lk == NNC_LOSS_BINARY_CROSSENTROPY || lk == NNC_LOSS_CATEGORICAL_CROSSENTROPY) &&
                    (v < 0 || v > 1))
                    return nnc_fail(m, NNC_ERR_DATA, "y[%zu][%zu] = %g is not a %s in [0, 1] for output layer '%s'",
                                    r, j, v, lk == NNC_LOSS_BINARY_CROSSENTROPY ? "binary label" : "one-hot probability",
                                    out);
            }
    }
    return NNC_OK;
}
