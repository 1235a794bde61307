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

/* Metrics: running sums over a pass, turned into logs at the end. */
typedef struct {
    double loss_sum, count;
    double sums[NNC_MAX_METRICS];
} nnc_metric_acc;

/* Adds the metrics of the current forward pass over n rows (output vs gathered targets). */
void nnc_metrics_add(const nnc_model *m, nnc_metric_acc *acc, int n, double batch_loss);
/* Writes "loss" and the metric names (with prefix, e.g. "val_") in Keras 3's order. */
void nnc_metrics_logs(const nnc_model *m, const nnc_metric_acc *acc, const char *prefix,
                      nnc_logs *logs);
void nnc_logs_set(nnc_logs *l, const char *key, double v);

/* An empty history, and one more entry (the searches' per-generation logs). */
nnc_history *nnc_history_new(void);
nnc_status nnc_history_append(nnc_history *h, const nnc_logs *l);

/* Checks data before a pass: finite features, targets the loss accepts. who names the data
 * ("x", "validation y"). */
nnc_status nnc_check_data(nnc_model *m, const float *x, const float *y, size_t n);

#endif
