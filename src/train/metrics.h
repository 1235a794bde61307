/* Metrics as descriptor rows (src/train/metric_defs.c) and their streaming state
 * (src/train/metric_stream.c).
 *
 * Each metric kind is one row: Keras's snake_case name (the spec's word and the default log
 * key), its class name, its arguments as option rows (src/core/options.h) over
 * nnc_metric_config, whether higher is better (callbacks' mode auto), a check against the
 * model's output and loss, the size of its state, an update that adds one batch to the state
 * and a result that turns the state into one value or one per class.
 *
 * The state is accumulated as Keras accumulates it: counts and sums over every batch of a pass
 * (an epoch's precision is tp/(tp+fp) of the whole epoch, not a mean of batch precisions). It
 * lives in arenas sized at compile (nnc_metrics_compile); the exact AUC's list of predictions
 * is sized by nnc_metrics_plan before a pass, so that a training step never allocates. */
#ifndef NNC_TRAIN_METRICS_H
#define NNC_TRAIN_METRICS_H
#include <stddef.h>
#include "nnc.h"
#include "../core/options.h"

/* What a metric is computed over. */
typedef struct {
    int k;              /* output values per example */
    nnc_loss_kind loss;
    int sparse;         /* targets are class indices (sparse categorical cross-entropy) */
    int from_logits;    /* the output is logits: probabilities are its sigmoid (binary
                         * cross-entropy) or softmax (categorical ones) */
} nnc_metric_ctx;

/* One batch: predictions, targets, weights. */
typedef struct {
    const float *p;     /* [n, k] the output as the model gives it */
    const float *prob;  /* [n, k] probabilities: p itself unless from_logits */
    const float *y;     /* [n, 1] class indices when sparse, else [n, k] */
    const float *w;     /* [n] weights, or NULL for 1 */
    int n;
} nnc_metric_batch;

/* A prediction kept for the exact AUC. */
typedef struct {
    float score, weight;
    int pos;
} nnc_auc_point;

/* Where a metric's state lives during one pass. */
typedef struct {
    double *st;           /* state_size doubles */
    nnc_auc_point *pts;   /* exact AUC: regions of rows_cap points each, kept sorted */
    nnc_auc_point *scratch; /* exact AUC: room for one region's merge */
    size_t rows_cap;
} nnc_metric_slot;

/* A metric's state: its size in doubles, what a batch adds, the result of a pass (1 value, or
 * one per class; out has room for k + 1), as metric_stream.c implements them. */
typedef struct {
    size_t (*state_size)(const nnc_metric_config *c, const nnc_metric_ctx *x);
    void (*update)(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s,
                   const nnc_metric_batch *b);
    int (*result)(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s, double *out);
} nnc_metric_fns;

extern const nnc_metric_fns nnc_metric_fns_mean, nnc_metric_fns_pr, nnc_metric_fns_auc, nnc_metric_fns_fscore,
    nnc_metric_fns_r2;

typedef struct nnc_metric_desc {
    nnc_metric kind;
    const char *name;        /* Keras's snake_case name */
    const char *keras_class; /* Keras's class ("Precision") */
    const char *aliases;     /* other accepted names, '|' separated, or NULL */
    const nnc_opt_desc *opts;
    int n_opts;
    int higher_is_better;
    const char *help;        /* one line for the docs' table */
    /* NULL when the metric fits the output and loss, else the reason (written into msg). */
    const char *(*check)(const nnc_metric_config *c, const nnc_metric_ctx *x, char *msg, size_t n);
    const nnc_metric_fns *fns;
} nnc_metric_desc;

const nnc_metric_desc *nnc_metric_desc_of(nnc_metric k);
/* The row of a name (snake_case, class name or alias); NULL when unknown. */
const nnc_metric_desc *nnc_metric_desc_by_name(const char *name);
/* Every metric's name, comma separated, for messages. */
void nnc_metric_names_list(char *buf, size_t n);

/* Exact-AUC points each example adds to a slot (0 for any other metric) and regions. */
size_t nnc_metric_points_per_row(const nnc_metric_config *c, const nnc_metric_ctx *x);
/* Clears a slot (the start of a pass). */
void nnc_metric_slot_reset(const nnc_metric_config *c, const nnc_metric_ctx *x, const nnc_metric_slot *s);

/* Keras's AUC from bucket counts (metric_stream.c), shared with the report. */
double nnc_auc_from_counts(const double *tp, const double *fp, double pos, double neg, int t,
                           nnc_auc_curve curve, nnc_auc_summation sum);

#endif
