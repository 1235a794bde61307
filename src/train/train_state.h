/* What training adds to a model: the compile settings, the optimizer's state, the counters a
 * resumed run needs, the spec file's fit settings and callbacks, and the per-batch buffers of
 * the loss. The model (src/core/) holds it as an opaque pointer; this layer owns it. */
#ifndef NNC_TRAIN_STATE_H
#define NNC_TRAIN_STATE_H
#include "../core/model_impl.h"
#include "../losses/penalties.h"
#include "metrics.h"

#define NNC_MAX_CLASS_WEIGHTS 64
#define NNC_MAX_SPEC_CALLBACKS 16
/* The metrics of every output together. */
#define NNC_MAX_METRIC_SLOTS (NNC_MAX_METRICS * NNC_MAX_OUTPUTS)

/* One output as the loss and the metrics see it (every model has at least one). */
typedef struct {
    int node;                  /* the output node */
    int fused;                 /* -1, or the logits node the loss reads instead of the output */
    int k;                     /* values per example */
    int t;                     /* targets per example: 1 (a class index) or k */
    size_t t_off;              /* where its targets start in a row of y */
    nnc_output_opts o;         /* its loss, weight and metrics */
    double last_loss;          /* the last pass's loss over the batch (unweighted by o.weight) */
} nnc_head;

typedef struct nnc_train_state {
    nnc_compile_opts copts;
    int fused_loss_node;       /* -1, or the logits node the loss reads instead of the output */
    nnc_head heads[NNC_MAX_OUTPUTS]; /* one per output; batch_y holds output h's targets from
                                      * planned_batch · t_off on, [batch, t] */
    int n_heads;
    nnc_penalty *penalties;    /* the regularizers of every layer, gathered by compile */
    int n_penalties;
    float *opt_slots;          /* optimizer state: n_slots arenas of the trainable floats */
    int n_slots;
    float *state_backup;       /* the non-trainable variables before a step (moving statistics) */
    int64_t iterations;        /* optimizer steps taken */
    int epochs_done;

    struct {
        int epochs, batch_size, shuffle, steps_per_update;
        float validation_split;
        float class_weight[NNC_MAX_CLASS_WEIGHTS];
        int n_class_weights;
    } spec_fit;                /* the spec file's fit line; 0 / -1 where not given */
    nnc_callback *spec_callbacks[NNC_MAX_SPEC_CALLBACKS]; /* its callback lines, owned here */
    int n_spec_callbacks;
    nnc_callback **fit_callbacks; /* the list nnc_model_fit_defaults hands to fit (not owned) */

    int planned_batch;         /* rows of the buffers below */
    float *batch_y;            /* [batch, targets] gathered for the loss */
    float *batch_w;            /* [batch] example weights, used when use_weights */
    int use_weights;           /* fit with sample_weight or class_weight */
    float grad_seed_scale;     /* the loss's gradient times this (accumulation: b / group rows) */
    float *batch_prob;         /* [batch, k] an output's probabilities when from_logits (one output at a time) */

    /* metrics (nnc_metrics_compile): every output's, in output order, with their arguments,
     * outputs and log keys, and the state of two passes (0: training, 1: evaluation and
     * validation) */
    nnc_metric_config mcfg[NNC_MAX_METRIC_SLOTS];
    int metric_head[NNC_MAX_METRIC_SLOTS];
    char metric_key[NNC_MAX_METRIC_SLOTS][NNC_LOG_NAME_MAX];
    int n_metric_slots;
    nnc_metric_ctx metric_ctx[NNC_MAX_OUTPUTS]; /* what each output's metrics are computed over */
    size_t metric_off[NNC_MAX_METRIC_SLOTS + 1]; /* each metric's doubles in a pass's state */
    size_t metric_pts_off[NNC_MAX_METRIC_SLOTS + 1]; /* exact AUC: its points per row before it */
    double *metric_state[2];
    nnc_auc_point *metric_pts[2], *metric_scratch[2]; /* exact AUC: every prediction of a pass */
    size_t metric_rows_cap[2];
    struct nnc_dist *dist;     /* data-parallel training's buckets and buffers (dist.c); NULL alone */
} nnc_train_state;

/* The model's training state, made on first use; NULL (with the error recorded) when out of
 * memory. */
nnc_train_state *nnc_train_state_of(nnc_model *m);
/* Plans the graph's buffers (nnc_plan) and the loss's for batches of up to `batch` rows. */
nnc_status nnc_train_plan(nnc_model *m, int batch);

#endif
