/* The metrics' state and arithmetic: what one batch adds, and the result of a pass, each as
 * Keras 3 defines it (keras/src/metrics/: accuracy_metrics.py, confusion_metrics.py,
 * f_score_metrics.py, regression_metrics.py, metrics_utils.py). Sums are kept in double;
 * Keras keeps float32 variables, so results agree to float32's precision.
 *
 *   - Mean metrics (the accuracies, mse, mae, mape): sum of w·value and sum of w, per example
 *     (a value per example is the mean over its outputs).
 *   - Precision, recall: weighted true and false positives (negatives) over every (example,
 *     output) pair, or only the class_id column; predicted positive when above the threshold
 *     and, with top_k, among the row's top_k values (ties: the lower index first).
 *   - AUC: Keras's num_thresholds linearly spaced thresholds, the ends moved out by 1e-7
 *     (thresholds_distributed_evenly: a prediction p falls in bucket ceil(p·(T−1)) − 1,
 *     at least 0, computed in float32 as Keras does), true and false positives per bucket;
 *     the area as AUC.result() sums it (Riemann 'interpolation': mid-point heights for ROC,
 *     Davis & Goadrich's interpolation of true and false positives for PR; 'minoring' and
 *     'majoring'). The exact form keeps every prediction, sorted, for scikit-learn's
 *     roc_auc_score and average_precision_score.
 *   - F-scores: per class (one sum for average micro) weighted tp, fp, fn and support, the
 *     result with Keras's 1e-7 in each division.
 *   - R2: per output sums of y, y², (y − p)² and weights, the result as R2Score.result(). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

#define KERAS_EPSILON 1e-7

static double wt(const nnc_metric_batch *b, int r) { return b->w ? (double)b->w[r] : 1.0; }

static int argmax(const float *v, int k) {
    int best = 0;
    for (int j = 1; j < k; j++)
        if (v[j] > v[best]) best = j;
    return best;
}

/* The target of row r, output j, as a number (sparse labels one-hot). */
static double yv(const nnc_metric_ctx *x, const nnc_metric_batch *b, int r, int j) {
    return x->sparse ? (double)((int)b->y[r] == j) : (double)b->y[(size_t)r * (size_t)x->k + (size_t)j];
}

/* The class of row r's target: the label, or the one-hot row's argmax. */
static int ycls(const nnc_metric_ctx *x, const nnc_metric_batch *b, int r) {
    return x->sparse ? (int)b->y[r] : argmax(b->y + (size_t)r * (size_t)x->k, x->k);
}

static double divide_no_nan(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

/* ---- mean metrics ------------------------------------------------------------------------ */

/* Row r's top-k hit: fewer than k outputs score strictly above the true class (TensorFlow's
 * in_top_k: a tie at the boundary counts as in). */
static double top_k_hit(const nnc_metric_ctx *x, const float *p, int t, int k) {
    int above = 0;
    for (int j = 0; j < x->k; j++) above += p[j] > p[t];
    return above < k;
}

/* The binary accuracy of a row: per output (p > th) == (y > 0.5), averaged. A logit output with
 * threshold 0.5 is compared at 0, where its sigmoid crosses 0.5. */
static double binary_row(const nnc_metric_ctx *x, const nnc_metric_batch *b, int r, float th) {
    const size_t o = (size_t)r * (size_t)x->k;
    const int logit = x->from_logits && th == 0.5f;
    double hits = 0.0;
    for (int j = 0; j < x->k; j++) {
        int pos = logit ? b->p[o + j] > 0.0f : b->prob[o + j] > th;
        hits += pos == (yv(x, b, r, j) > 0.5);
    }
    return hits / x->k;
}

static double mean_value(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_batch *b, int r) {
    const size_t o = (size_t)r * (size_t)x->k;
    const float *p = b->p + o;
    double s = 0.0;
    switch (c->kind) {
    case NNC_METRIC_ACCURACY:
        if (x->sparse) return argmax(p, x->k) == (int)b->y[r];
        if (x->loss == NNC_LOSS_BINARY_CROSSENTROPY || x->k == 1) return binary_row(x, b, r, 0.5f);
        return argmax(p, x->k) == argmax(b->y + o, x->k);
    case NNC_METRIC_BINARY_ACCURACY: return binary_row(x, b, r, c->threshold);
    case NNC_METRIC_CATEGORICAL_ACCURACY:
    case NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY: return argmax(p, x->k) == ycls(x, b, r);
    case NNC_METRIC_TOP_K_CATEGORICAL_ACCURACY:
    case NNC_METRIC_SPARSE_TOP_K_CATEGORICAL_ACCURACY: return top_k_hit(x, p, ycls(x, b, r), c->k);
    case NNC_METRIC_MSE:
    case NNC_METRIC_MAE:
    case NNC_METRIC_MAPE:
        for (int j = 0; j < x->k; j++) {
            double y = yv(x, b, r, j), d = (double)p[j] - y;
            if (c->kind == NNC_METRIC_MSE) s += d * d;
            else if (c->kind == NNC_METRIC_MAE) s += fabs(d);
            else s += fabs(d) / fmax(fabs(y), KERAS_EPSILON);
        }
        return (c->kind == NNC_METRIC_MAPE ? 100.0 : 1.0) * s / x->k;
    default: return 0.0;
    }
}

static void mean_update(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s,
                        const nnc_metric_batch *b) {
    for (int r = 0; r < b->n; r++) {
        double w = wt(b, r);
        s->st[0] += w * mean_value(c, x, b, r);
        s->st[1] += w;
    }
}

static int mean_result(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s, double *out) {
    (void)c, (void)x;
    out[0] = divide_no_nan(s->st[0], s->st[1]);
    return 1;
}

/* ---- precision and recall ------------------------------------------------------------------ */

/* Output j of a row among its top k (Keras's ops.top_k: ties go to the lower index). */
static int in_top_k(const float *p, int kk, int j, int top_k) {
    int rank = 0;
    for (int i = 0; i < kk; i++) rank += p[i] > p[j] || (p[i] == p[j] && i < j);
    return rank < top_k;
}

static void pr_update(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s,
                      const nnc_metric_batch *b) {
    const float th = c->has_threshold ? c->threshold : c->top_k ? -1e10f : 0.5f;
    const int j0 = c->class_id >= 0 ? c->class_id : 0, j1 = c->class_id >= 0 ? c->class_id + 1 : x->k;
    for (int r = 0; r < b->n; r++) {
        const float *p = b->prob + (size_t)r * (size_t)x->k;
        double w = wt(b, r);
        for (int j = j0; j < j1; j++) {
            int pred = p[j] > th && (!c->top_k || in_top_k(p, x->k, j, c->top_k));
            int pos = yv(x, b, r, j) != 0.0;
            if (c->kind == NNC_METRIC_PRECISION) {
                if (pred) s->st[pos ? 0 : 1] += w; /* tp, fp */
            } else if (pos) {
                s->st[pred ? 0 : 1] += w; /* tp, fn */
            }
        }
    }
}

static int pr_result(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s, double *out) {
    (void)c, (void)x;
    out[0] = divide_no_nan(s->st[0], s->st[0] + s->st[1]);
    return 1;
}

/* ---- AUC -------------------------------------------------------------------------------- */

static int auc_labels(const nnc_metric_config *c, const nnc_metric_ctx *x) { return c->multi_label ? x->k : 1; }

size_t nnc_metric_points_per_row(const nnc_metric_config *c, const nnc_metric_ctx *x) {
    return c->kind == NNC_METRIC_AUC && c->exact ? (size_t)x->k : 0;
}

static size_t auc_size(const nnc_metric_config *c, const nnc_metric_ctx *x) {
    if (c->exact) return 2; /* rows stored, overflow */
    /* per label: true and false positives per bucket and their totals; then room for the
     * cumulative counts of one label */
    return (size_t)auc_labels(c, x) * (2 * (size_t)c->num_thresholds + 2) + 2 * (size_t)c->num_thresholds;
}

/* The score AUC sees: the probability, or the sigmoid of the output for from_logits=true. */
static float auc_score(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_batch *b, size_t i) {
    if (c->from_logits && !x->from_logits) return (float)(1.0 / (1.0 + exp(-(double)b->p[i])));
    return b->prob[i];
}

static int point_cmp(const void *a, const void *b) {
    float x = ((const nnc_auc_point *)a)->score, y = ((const nnc_auc_point *)b)->score;
    return (x > y) - (x < y);
}

/* Adds a batch's points to a sorted region of `have` points: the new ones sorted, then merged. */
static void merge_points(nnc_auc_point *reg, size_t have, size_t add, nnc_auc_point *scratch) {
    qsort(reg + have, add, sizeof *reg, point_cmp);
    memcpy(scratch, reg, have * sizeof *reg);
    size_t i = 0, j = have, o = 0;
    while (i < have && j < have + add) reg[o++] = point_cmp(&scratch[i], &reg[j]) <= 0 ? scratch[i++] : reg[j++];
    while (i < have) reg[o++] = scratch[i++];
}

static void auc_exact_update(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s,
                             const nnc_metric_batch *b) {
    size_t rows = (size_t)s->st[0];
    if (s->st[1] != 0.0 || rows + (size_t)b->n > s->rows_cap) {
        s->st[1] = 1.0; /* not planned for this many rows: the result is NaN */
        return;
    }
    const int regions = auc_labels(c, x);
    const size_t per = (size_t)x->k / (size_t)regions, cap = s->rows_cap * per;
    for (int g = 0; g < regions; g++) {
        nnc_auc_point *reg = s->pts + (size_t)g * cap, *at = reg + rows * per;
        for (int r = 0; r < b->n; r++)
            for (size_t q = 0; q < per; q++) {
                int j = regions > 1 ? g : (int)q;
                size_t i = (size_t)r * (size_t)x->k + (size_t)j;
                *at++ = (nnc_auc_point){auc_score(c, x, b, i), (float)wt(b, r), yv(x, b, r, j) != 0.0};
            }
        merge_points(reg, rows * per, (size_t)b->n * per, s->scratch);
    }
    s->st[0] = (double)(rows + (size_t)b->n);
}

static void auc_update(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s,
                       const nnc_metric_batch *b) {
    if (c->exact) {
        auc_exact_update(c, x, s, b);
        return;
    }
    const int t = c->num_thresholds, labels = auc_labels(c, x);
    const size_t per = 2 * (size_t)t + 2;
    for (int r = 0; r < b->n; r++) {
        double w = wt(b, r);
        for (int j = 0; j < x->k; j++) {
            double *st = s->st + (labels > 1 ? (size_t)j * per : 0);
            float p = auc_score(c, x, b, (size_t)r * (size_t)x->k + (size_t)j);
            p = p < 0.0f ? 0.0f : p > 1.0f ? 1.0f : p; /* Keras clips to [0, 1] */
            int bucket = (int)ceilf(p * (float)(t - 1)) - 1;
            if (bucket < 0 || p != p) bucket = 0;
            if (yv(x, b, r, j) != 0.0) st[bucket] += w, st[2 * t] += w;
            else st[t + bucket] += w, st[2 * t + 1] += w;
        }
    }
}

/* Davis & Goadrich's interpolation, as AUC.interpolate_pr_auc() writes it: true positives and
 * predicted positives vary linearly between thresholds, precision is their ratio. */
static double pr_interpolated(const double *tp, const double *fp, double pos, int t) {
    double sum = 0.0;
    for (int i = 0; i + 1 < t; i++) {
        double dtp = tp[i] - tp[i + 1], p0 = tp[i] + fp[i], p1 = tp[i + 1] + fp[i + 1];
        double slope = divide_no_nan(dtp, fmax(p0 - p1, 0.0));
        double intercept = tp[i + 1] - slope * p1;
        double ratio = p0 > 0.0 && p1 > 0.0 ? divide_no_nan(p0, fmax(p1, 0.0)) : 1.0;
        double fn1 = pos - tp[i + 1];
        sum += divide_no_nan(slope * (dtp + intercept * log(ratio)), fmax(tp[i + 1] + fn1, 0.0));
    }
    return sum;
}

/* tp and fp hold the counts above each threshold (t of them); pos and neg the totals. */
double nnc_auc_from_counts(const double *tp, const double *fp, double pos, double neg, int t, nnc_auc_curve curve,
                           nnc_auc_summation sum) {
    if (curve == NNC_CURVE_PR && sum == NNC_SUMMATION_INTERPOLATION) return pr_interpolated(tp, fp, pos, t);
    double area = 0.0, x0 = 0.0, y0 = 0.0;
    for (int i = 0; i < t; i++) {
        double recall = divide_no_nan(tp[i], pos); /* tp + fn = pos */
        double x1 = curve == NNC_CURVE_ROC ? divide_no_nan(fp[i], neg) : recall;
        double y1 = curve == NNC_CURVE_ROC ? recall : divide_no_nan(tp[i], tp[i] + fp[i]);
        if (i > 0) {
            double h = sum == NNC_SUMMATION_INTERPOLATION ? (y0 + y1) / 2.0
                       : sum == NNC_SUMMATION_MINORING    ? fmin(y0, y1)
                                                          : fmax(y0, y1);
            area += (x0 - x1) * h;
        }
        x0 = x1, y0 = y1;
    }
    return area;
}

/* The exact area over sorted points (ascending): scikit-learn's roc_auc_score (trapezoids
 * between distinct scores) or average_precision_score (sum of recall steps × precision). */
static double auc_exact_region(const nnc_auc_point *pts, size_t n, nnc_auc_curve curve) {
    double pos = 0.0, neg = 0.0;
    for (size_t i = 0; i < n; i++) *(pts[i].pos ? &pos : &neg) += (double)pts[i].weight;
    if (pos == 0.0 || (curve == NNC_CURVE_ROC && neg == 0.0)) return 0.0;
    double tps = 0.0, fps = 0.0, area = 0.0;
    for (size_t i = n; i > 0;) {
        double tp0 = tps, fp0 = fps;
        float s = pts[i - 1].score;
        for (; i > 0 && pts[i - 1].score == s; i--) *(pts[i - 1].pos ? &tps : &fps) += (double)pts[i - 1].weight;
        if (curve == NNC_CURVE_ROC) area += (fps - fp0) * (tps + tp0) / 2.0;
        else if (tps + fps > 0.0) area += (tps - tp0) / pos * (tps / (tps + fps));
    }
    return curve == NNC_CURVE_ROC ? area / (pos * neg) : area;
}

static int auc_result(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s, double *out) {
    const int t = c->num_thresholds, labels = auc_labels(c, x);
    double total = 0.0;
    if (c->exact) {
        if (s->st[1] != 0.0) {
            out[0] = (double)NAN;
            return 1;
        }
        size_t per = (size_t)x->k / (size_t)labels, n = (size_t)s->st[0] * per;
        for (int g = 0; g < labels; g++) total += auc_exact_region(s->pts + (size_t)g * s->rows_cap * per, n, c->curve);
        out[0] = total / labels;
        return 1;
    }
    const size_t per = 2 * (size_t)t + 2;
    double *ctp = s->st + (size_t)labels * per, *cfp = ctp + t;
    for (int g = 0; g < labels; g++) {
        const double *st = s->st + (size_t)g * per;
        double a = 0.0, f = 0.0;
        for (int i = t - 1; i >= 0; i--) ctp[i] = (a += st[i]), cfp[i] = (f += st[t + i]);
        total += nnc_auc_from_counts(ctp, cfp, st[2 * t], st[2 * t + 1], t, c->curve, c->summation_method);
    }
    out[0] = total / labels;
    return 1;
}

/* ---- F-scores ------------------------------------------------------------------------------ */

static size_t fscore_size(const nnc_metric_config *c, const nnc_metric_ctx *x) {
    return c->average == NNC_AVERAGE_MICRO ? 4 : 4 * (size_t)x->k;
}

static void fscore_update(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s,
                          const nnc_metric_batch *b) {
    const int micro = c->average == NNC_AVERAGE_MICRO;
    for (int r = 0; r < b->n; r++) {
        const float *p = b->prob + (size_t)r * (size_t)x->k;
        const float mx = p[argmax(p, x->k)];
        double w = wt(b, r);
        for (int j = 0; j < x->k; j++) {
            /* threshold None: the row's maxima (never an all-zero row); one output: 0.5 */
            int pred = c->has_threshold ? p[j] > c->threshold
                       : x->k == 1      ? p[j] > 0.5f
                                        : p[j] >= mx && fabsf(p[j]) > 1e-9f;
            double y = yv(x, b, r, j), *st = s->st + (micro ? 0 : 4 * (size_t)j);
            st[0] += w * pred * y;
            st[1] += w * pred * (1.0 - y);
            st[2] += w * (1 - pred) * y;
            st[3] += w * y;
        }
    }
}

static double fbeta(const double *st, double beta) {
    double precision = st[0] / (st[0] + st[1] + KERAS_EPSILON), recall = st[0] / (st[0] + st[2] + KERAS_EPSILON);
    double b2 = beta * beta;
    return precision * recall / (b2 * precision + recall + KERAS_EPSILON) * (1.0 + b2);
}

static int fscore_result(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s, double *out) {
    const double beta = c->kind == NNC_METRIC_FBETA_SCORE ? (double)c->beta : 1.0;
    if (c->average == NNC_AVERAGE_MICRO) {
        out[0] = fbeta(s->st, beta);
        return 1;
    }
    double support = 0.0, sum = 0.0;
    for (int j = 0; j < x->k; j++) support += s->st[4 * (size_t)j + 3];
    for (int j = 0; j < x->k; j++) {
        double f = fbeta(s->st + 4 * (size_t)j, beta);
        if (c->average == NNC_AVERAGE_NONE) out[j] = f;
        else sum += c->average == NNC_AVERAGE_WEIGHTED ? f * (s->st[4 * (size_t)j + 3] / (support + KERAS_EPSILON)) : f;
    }
    if (c->average == NNC_AVERAGE_NONE) return x->k;
    out[0] = c->average == NNC_AVERAGE_WEIGHTED ? sum : sum / x->k;
    return 1;
}

/* ---- R2 ------------------------------------------------------------------------------------ */

static size_t r2_size(const nnc_metric_config *c, const nnc_metric_ctx *x) {
    (void)c;
    return 4 * (size_t)x->k + 1;
}

static void r2_update(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s,
                      const nnc_metric_batch *b) {
    (void)c;
    for (int r = 0; r < b->n; r++) {
        double w = wt(b, r);
        for (int j = 0; j < x->k; j++) {
            double y = yv(x, b, r, j), d = y - (double)b->p[(size_t)r * (size_t)x->k + (size_t)j];
            double *st = s->st + 4 * (size_t)j;
            st[0] += w * y;     /* sum */
            st[1] += y * w * y; /* squared_sum */
            st[2] += d * d * w; /* residual */
            st[3] += w;         /* count */
        }
        s->st[4 * (size_t)x->k] += x->k; /* num_samples: every value, as ops.size(y_true) */
    }
}

static int r2_result(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s, double *out) {
    double wsum = 0.0, totals = 0.0, mean_sum = 0.0;
    for (int j = 0; j < x->k; j++) {
        const double *st = s->st + 4 * (size_t)j;
        double mean = st[0] / st[3], total = st[1] - st[0] * mean, raw = 1.0 - st[2] / total;
        if (isinf(raw)) raw = 0.0;
        if (c->class_aggregation == NNC_R2_NONE) out[j] = raw;
        mean_sum += raw, wsum += total * raw, totals += total;
    }
    if (c->class_aggregation == NNC_R2_NONE) return x->k;
    double r2 = c->class_aggregation == NNC_R2_UNIFORM_AVERAGE ? mean_sum / x->k : wsum / totals;
    double n = s->st[4 * (size_t)x->k], p = c->num_regressors;
    if (p != 0.0 && p < n - 1.0) r2 = 1.0 - (1.0 - r2) * (n - 1.0) / (n - p - 1.0);
    out[0] = r2;
    return 1;
}

/* ---- the table's functions ---------------------------------------------------------------- */

static size_t two(const nnc_metric_config *c, const nnc_metric_ctx *x) {
    (void)c, (void)x;
    return 2;
}

void nnc_metric_slot_reset(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s) {
    memset(s->st, 0, nnc_metric_desc_of(c->kind)->fns->state_size(c, x) * sizeof *s->st);
}

const nnc_metric_fns nnc_metric_fns_mean = {two, mean_update, mean_result};
const nnc_metric_fns nnc_metric_fns_pr = {two, pr_update, pr_result};
const nnc_metric_fns nnc_metric_fns_auc = {auc_size, auc_update, auc_result};
const nnc_metric_fns nnc_metric_fns_fscore = {fscore_size, fscore_update, fscore_result};
const nnc_metric_fns nnc_metric_fns_r2 = {r2_size, r2_update, r2_result};
