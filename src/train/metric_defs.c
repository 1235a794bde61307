/* The metric rows (metrics.h): Keras 3's names, classes, arguments with their defaults, and
 * which outputs and losses each one fits. The spec parser, the Keras-config writer and reader,
 * the docs' table and compile all read them. */
#include <stdio.h>
#include <string.h>
#include "metrics.h"

#define ROW(k, t, f, p) NNC_OPT_ROW(k, t, nnc_metric_config, f, p)
#define DTYPE {.key = "dtype", .type = NNC_OPT_FIXED, .pos = -1, .literal = "\"float32\""}

static const nnc_opt_desc no_opts[] = {DTYPE};
static const nnc_opt_desc binary_opts[] = {
    DTYPE, {ROW("threshold", NNC_OPT_FLOAT, threshold, -1), .lo = 0, .hi = 1,
            .help = "an output above it is a predicted 1"}};
static const nnc_opt_desc top_k_opts[] = {
    {ROW("k", NNC_OPT_INT, k, 0), .lo = 1, .hi = 1 << 20, .help = "a hit when the true class is among the k highest"},
    DTYPE};
static const nnc_opt_desc pr_opts[] = {
    {ROW("thresholds", NNC_OPT_OPTIONAL_FLOAT, threshold, 0), .aux = offsetof(nnc_metric_config, has_threshold),
     .lo = 0, .hi = 1, .help = "an output above it is predicted positive (None: 0.5, or any value with top_k)"},
    {ROW("top_k", NNC_OPT_INT, top_k, 1), .lo = 0, .hi = 1 << 20, .flags = NNC_OPTF_ZERO_IS_NONE,
     .help = "only the row's top_k outputs may be positive"},
    {ROW("class_id", NNC_OPT_INT, class_id, 2), .lo = -1, .hi = 1 << 20, .flags = NNC_OPTF_NONE_IS_NEG,
     .help = "only this output (class) counts"},
    DTYPE};
static const nnc_opt_desc auc_opts[] = {
    {ROW("num_thresholds", NNC_OPT_INT, num_thresholds, 0), .lo = 2, .hi = 1 << 20,
     .help = "thresholds linearly spaced in [0, 1]"},
    {ROW("curve", NNC_OPT_CHOICE, curve, 1), .literal = "ROC|PR", .help = "ROC or PR (precision-recall)"},
    {ROW("summation_method", NNC_OPT_CHOICE, summation_method, 2), .literal = "interpolation|minoring|majoring",
     .help = "the Riemann sum"},
    DTYPE,
    {.key = "thresholds", .type = NNC_OPT_CONST, .pos = -1, .literal = "null"},
    {ROW("multi_label", NNC_OPT_BOOL, multi_label, -1), .help = "one AUC per output (label), averaged"},
    {.key = "num_labels", .type = NNC_OPT_FIXED, .pos = -1, .literal = "null"},
    {.key = "label_weights", .type = NNC_OPT_CONST, .pos = -1, .literal = "null"},
    {ROW("from_logits", NNC_OPT_BOOL, from_logits, -1), .help = "the output is a logit"},
    {ROW("exact", NNC_OPT_BOOL, exact, -1), .flags = NNC_OPTF_NNC_ONLY,
     .help = "nnc's own: the exact area from every prediction (scikit-learn's roc_auc_score, average_precision_score)"},
};
#define AVERAGE_ROW(p)                                                                                   \
    {ROW("average", NNC_OPT_CHOICE, average, p), .literal = "None|micro|macro|weighted",                 \
     .help = "None: one value per class"}
#define FTHRESHOLD_ROW(p)                                                                                \
    {ROW("threshold", NNC_OPT_OPTIONAL_FLOAT, threshold, p), .aux = offsetof(nnc_metric_config, has_threshold), \
     .lo = 1e-30, .hi = 1, .help = "an output above it is predicted (None: each row's maximum)"}
static const nnc_opt_desc f1_opts[] = {AVERAGE_ROW(0), FTHRESHOLD_ROW(1), DTYPE};
static const nnc_opt_desc fbeta_opts[] = {
    AVERAGE_ROW(0), {ROW("beta", NNC_OPT_FLOAT, beta, 1), .lo = 1e-30, .hi = 1e30, .help = "recall's weight"},
    FTHRESHOLD_ROW(2), DTYPE};
static const nnc_opt_desc r2_opts[] = {
    {ROW("class_aggregation", NNC_OPT_CHOICE, class_aggregation, 0),
     .literal = "uniform_average|variance_weighted_average|None", .help = "None: one value per output"},
    {ROW("num_regressors", NNC_OPT_INT, num_regressors, 1), .lo = 0, .hi = 1 << 30, .help = "adjusted R2's p"},
    DTYPE};

/* ---- checks ---------------------------------------------------------------------------------- */

static int classifier(const nnc_metric_ctx *x) {
    return x->loss == NNC_LOSS_BINARY_CROSSENTROPY || x->loss == NNC_LOSS_CATEGORICAL_CROSSENTROPY ||
           x->loss == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
}

static const char *check_any(const nnc_metric_config *c, const nnc_metric_ctx *x, char *msg, size_t n) {
    (void)c, (void)x, (void)msg, (void)n;
    return NULL;
}

static const char *check_categorical(const nnc_metric_config *c, const nnc_metric_ctx *x, char *msg, size_t n) {
    const char *name = nnc_metric_name(c->kind);
    const int sparse_kind = c->kind == NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY ||
                            c->kind == NNC_METRIC_SPARSE_TOP_K_CATEGORICAL_ACCURACY;
    const int top = c->kind == NNC_METRIC_TOP_K_CATEGORICAL_ACCURACY ||
                    c->kind == NNC_METRIC_SPARSE_TOP_K_CATEGORICAL_ACCURACY;
    if (x->k < 2) snprintf(msg, n, "%s needs an output of 2 or more classes; the output has %d", name, x->k);
    else if (sparse_kind && !x->sparse)
        snprintf(msg, n, "%s reads class-index targets (sparse_categorical_crossentropy's); these are one-hot rows "
                 "(use %s)", name, name + strlen("sparse_"));
    else if (top && c->k >= x->k)
        snprintf(msg, n, "%s: k=%d needs more than %d classes; the output has %d", name, c->k, c->k, x->k);
    else return NULL;
    return msg;
}

static const char *check_classifier(const nnc_metric_config *c, const nnc_metric_ctx *x, char *msg, size_t n) {
    const char *name = nnc_metric_name(c->kind);
    const int pr = c->kind == NNC_METRIC_PRECISION || c->kind == NNC_METRIC_RECALL;
    if (!classifier(x))
        snprintf(msg, n, "%s needs a classifier's loss (binary_crossentropy, categorical_crossentropy or "
                 "sparse_categorical_crossentropy), not %s", name, nnc_loss_name(x->loss));
    else if (pr && c->class_id >= x->k)
        snprintf(msg, n, "%s: class_id=%d is not a class of an output of %d", name, c->class_id, x->k);
    else if (pr && c->top_k > 0 && c->top_k >= x->k)
        snprintf(msg, n, "%s: top_k=%d needs more than %d classes; the output has %d", name, c->top_k, c->top_k, x->k);
    else return NULL;
    return msg;
}

/* ---- the rows ------------------------------------------------------------------------------ */

#define OPTS(a) a, NNC_OPT_COUNT_OF(a)

static const nnc_metric_desc rows[NNC_METRIC_COUNT] = {
    {NNC_METRIC_ACCURACY, "accuracy", "Accuracy", "acc", OPTS(no_opts), 1,
     "binary_accuracy, sparse_categorical_accuracy or categorical_accuracy, chosen from the loss", check_any,
     &nnc_metric_fns_mean},
    {NNC_METRIC_MSE, "mse", "MeanSquaredError", "mean_squared_error", OPTS(no_opts), 0,
     "mean of (output − target)²", check_any, &nnc_metric_fns_mean},
    {NNC_METRIC_MAE, "mae", "MeanAbsoluteError", "mean_absolute_error", OPTS(no_opts), 0,
     "mean of abs(output − target)", check_any, &nnc_metric_fns_mean},
    {NNC_METRIC_BINARY_ACCURACY, "binary_accuracy", "BinaryAccuracy", NULL, OPTS(binary_opts), 1,
     "share of outputs where (output > threshold) equals (target > 0.5)", check_any, &nnc_metric_fns_mean},
    {NNC_METRIC_CATEGORICAL_ACCURACY, "categorical_accuracy", "CategoricalAccuracy", NULL, OPTS(no_opts), 1,
     "share of rows whose highest output is the one-hot target's class", check_categorical, &nnc_metric_fns_mean},
    {NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY, "sparse_categorical_accuracy", "SparseCategoricalAccuracy", NULL,
     OPTS(no_opts), 1, "share of rows whose highest output is the target class index", check_categorical,
     &nnc_metric_fns_mean},
    {NNC_METRIC_TOP_K_CATEGORICAL_ACCURACY, "top_k_categorical_accuracy", "TopKCategoricalAccuracy", NULL,
     OPTS(top_k_opts), 1, "share of rows whose one-hot class is among the k highest outputs", check_categorical,
     &nnc_metric_fns_mean},
    {NNC_METRIC_SPARSE_TOP_K_CATEGORICAL_ACCURACY, "sparse_top_k_categorical_accuracy",
     "SparseTopKCategoricalAccuracy", NULL, OPTS(top_k_opts), 1,
     "share of rows whose class index is among the k highest outputs", check_categorical, &nnc_metric_fns_mean},
    {NNC_METRIC_PRECISION, "precision", "Precision", NULL, OPTS(pr_opts), 1,
     "tp / (tp + fp) over every output (or class_id's), counted over the whole pass", check_classifier,
     &nnc_metric_fns_pr},
    {NNC_METRIC_RECALL, "recall", "Recall", NULL, OPTS(pr_opts), 1,
     "tp / (tp + fn) over every output (or class_id's), counted over the whole pass", check_classifier,
     &nnc_metric_fns_pr},
    {NNC_METRIC_AUC, "auc", "AUC", NULL, OPTS(auc_opts), 1,
     "area under the ROC or precision-recall curve, from num_thresholds buckets as Keras (or exact)",
     check_classifier, &nnc_metric_fns_auc},
    {NNC_METRIC_F1_SCORE, "f1_score", "F1Score", NULL, OPTS(f1_opts), 1,
     "2·precision·recall / (precision + recall), per class or averaged", check_classifier, &nnc_metric_fns_fscore},
    {NNC_METRIC_FBETA_SCORE, "fbeta_score", "FBetaScore", NULL, OPTS(fbeta_opts), 1,
     "(1 + β²)·precision·recall / (β²·precision + recall), per class or averaged", check_classifier,
     &nnc_metric_fns_fscore},
    {NNC_METRIC_MAPE, "mean_absolute_percentage_error", "MeanAbsolutePercentageError", "mape", OPTS(no_opts), 0,
     "100 · mean of abs(target − output) / max(abs(target), 1e-7)", check_any, &nnc_metric_fns_mean},
    {NNC_METRIC_R2_SCORE, "r2_score", "R2Score", NULL, OPTS(r2_opts), 1,
     "1 − Σ(target − output)² / Σ(target − mean)², per output, averaged", check_any, &nnc_metric_fns_r2},
};

const nnc_metric_desc *nnc_metric_desc_of(nnc_metric k) {
    return (unsigned)k < NNC_METRIC_COUNT ? &rows[k] : NULL;
}

static int in_list(const char *list, const char *name) {
    size_t len = strlen(name);
    for (const char *p = list; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
        if (strcspn(p, "|") == len && !strncmp(p, name, len)) return 1;
    return 0;
}

const nnc_metric_desc *nnc_metric_desc_by_name(const char *name) {
    for (int i = 0; name && i < NNC_METRIC_COUNT; i++)
        if (!strcmp(name, rows[i].name) || !strcmp(name, rows[i].keras_class) ||
            (rows[i].aliases && in_list(rows[i].aliases, name)))
            return &rows[i];
    return NULL;
}

void nnc_metric_names_list(char *buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < NNC_METRIC_COUNT && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", rows[i].name);
}

const char *nnc_metric_name(nnc_metric k) {
    return (unsigned)k < NNC_METRIC_COUNT ? rows[k].name : "?";
}

nnc_status nnc_metric_parse(const char *name, nnc_metric *out) {
    const nnc_metric_desc *d = nnc_metric_desc_by_name(name);
    if (!d) return NNC_ERR_ARG;
    *out = d->kind;
    return NNC_OK;
}

nnc_metric_config nnc_metric_default(nnc_metric kind) {
    nnc_metric_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.configured = true;
    c.threshold = 0.5f;
    c.k = 5;
    c.class_id = -1;
    c.num_thresholds = 200;
    c.beta = 1.0f;
    return c;
}

/* A list of metrics with their arguments, as nnc_compile_opts and nnc_output_opts hold it. */
static nnc_status add_metric(nnc_metric *kinds, nnc_metric_config *cfg, int *n, const nnc_metric_config *mc) {
    if (!mc || *n < 0 || *n >= NNC_MAX_METRICS || (unsigned)mc->kind >= NNC_METRIC_COUNT) return NNC_ERR_ARG;
    cfg[*n] = *mc;
    cfg[*n].configured = true;
    kinds[(*n)++] = mc->kind;
    return NNC_OK;
}

static nnc_metric_config metric_at(const nnc_metric *kinds, const nnc_metric_config *cfg, int n, int i) {
    if (i >= 0 && i < n && cfg[i].configured) return cfg[i];
    return nnc_metric_default(i >= 0 && i < n ? kinds[i] : NNC_METRIC_ACCURACY);
}

nnc_status nnc_compile_add_metric(nnc_compile_opts *c, const nnc_metric_config *mc) {
    return c ? add_metric(c->metrics, c->metric_config, &c->n_metrics, mc) : NNC_ERR_ARG;
}

nnc_metric_config nnc_compile_metric(const nnc_compile_opts *c, int i) {
    return c ? metric_at(c->metrics, c->metric_config, c->n_metrics, i) : nnc_metric_default(NNC_METRIC_ACCURACY);
}

nnc_status nnc_output_add_metric(nnc_output_opts *o, const nnc_metric_config *mc) {
    return o ? add_metric(o->metrics, o->metric_config, &o->n_metrics, mc) : NNC_ERR_ARG;
}

nnc_metric_config nnc_output_metric(const nnc_output_opts *o, int i) {
    return o ? metric_at(o->metrics, o->metric_config, o->n_metrics, i) : nnc_metric_default(NNC_METRIC_ACCURACY);
}
