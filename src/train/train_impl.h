/* Internals of training shared by fit/evaluate/predict, metrics, progress and the file code. */
#ifndef NNC_TRAIN_IMPL_H
#define NNC_TRAIN_IMPL_H
#include "../core/model_impl.h"
#include "../layers/layers.h"
#include "../losses/losses.h"
#include "train_state.h"

/* Copies rows (idx[first..first+n) or, with idx NULL, first..first+n) of y into the target
 * buffer (the inputs: nnc_gather_inputs). */
void nnc_gather_targets(nnc_model *m, const float *y, const size_t *idx, size_t first, int n);
/* Output h's targets in the gathered batch: [rows, heads[h].t]. */
float *nnc_head_targets(const nnc_model *m, int h);
/* The loss of the current forward pass over n rows; seeds the gradient when with_grad. */
double nnc_loss_forward(nnc_model *m, int n, int with_grad);
/* Reseeds the model's RNG and draws every variable again from its initializer, clearing the
 * optimizer state (Normalization's adapted statistics are kept): nnc_model_set_seed after
 * compile. */
nnc_status nnc_reinitialize(nnc_model *m, uint64_t seed);
/* One optimisation step on the gathered batch; NNC_ERR_NUMERIC (weights untouched) when the
 * loss is not finite. */
nnc_status nnc_train_step(nnc_model *m, int n, double *loss);

/* One step of gradient accumulation: first zeroes the gradients, apply updates the weights,
 * share (this batch's rows over the group's) scales its gradient so the group's update
 * equals one batch of all its rows. */
nnc_status nnc_train_micro_step(nnc_model *m, int n, double *loss, int first, int apply,
                                float share);

/* The update from the gradients in the arena: clipping, then the optimizer (counts an
 * iteration). */
void nnc_train_apply(nnc_model *m);

/* Metrics: the loss's running sum over a pass and the pass whose metric state accumulates. */
typedef struct {
    double loss_sum, count;
    double head_loss[NNC_MAX_OUTPUTS]; /* several outputs: each one's loss, summed */
    int pass; /* 0: training, 1: evaluation and validation */
} nnc_metric_acc;

/* Resolves the compile options' metrics against the output and loss (one-line errors), names
 * their log keys as Keras does and allocates their state. */
nnc_status nnc_metrics_compile(nnc_model *m, const nnc_compile_opts *o);
/* Starts a pass of up to `rows` examples: clears the loss sums and the metric state, making
 * room for the exact AUC's predictions when it needs more (never inside a step). */
nnc_status nnc_metrics_begin(nnc_model *m, nnc_metric_acc *acc, int pass, size_t rows);
/* Adds the metrics of the current forward pass over n rows (output vs gathered targets). */
void nnc_metrics_add(const nnc_model *m, nnc_metric_acc *acc, int n, double batch_loss);
/* Writes "loss" and the metric names (with prefix, e.g. "val_") in Keras 3's order. */
void nnc_metrics_logs(const nnc_model *m, const nnc_metric_acc *acc, const char *prefix,
                      nnc_logs *logs);
/* Whether higher is better for a log key ("val_auc", "f1_score_2"): 1, 0, or -1 when no metric
 * of the model has that name (callbacks' mode auto). */
int nnc_metrics_higher_is_better(const nnc_model *m, const char *key);
void nnc_metrics_free(nnc_train_state *ts);
/* Floats per row the metrics need for probabilities of a logit output (0: none). */
size_t nnc_metrics_prob_floats(const nnc_model *m);
void nnc_logs_set(nnc_logs *l, const char *key, double v);

/* An empty history, and one more entry (the searches' per-generation logs). */
nnc_history *nnc_history_new(void);
nnc_status nnc_history_append(nnc_history *h, const nnc_logs *l);

/* Several outputs (src/train/heads.c): the checks of each output's targets. */
nnc_status nnc_heads_check_targets(nnc_model *m, const float *y, size_t n);

/* Checks data before a pass: finite features, targets the loss accepts. who names the data
 * ("x", "validation y"). */
nnc_status nnc_check_data(nnc_model *m, const float *x, const float *y, size_t n);
/* NNC_OK, or NNC_ERR_STATE with "who: the model is quantized ..." recorded (training refused). */
nnc_status nnc_require_float(nnc_model *m, const char *who);

#endif
