/* Losses (internal). A loss is not a graph op: it reads the output (or, fused, the logits
 * before a sigmoid/softmax output) and seeds that node's gradient. */
#ifndef NNC_LOSSES_H
#define NNC_LOSSES_H
#include "nnc.h"

#define NNC_PROB_EPSILON 1e-7f /* Keras's backend.epsilon(): probabilities are clipped to it */

/* Keras's class name of a loss ("SparseCategoricalCrossentropy"). */
const char *nnc_loss_class(nnc_loss_kind k);

/* Mean loss over n examples of k outputs. v holds logits when `logits` (from_logits, or the
 * fused path), else the output values. y is [n] class indices for the sparse loss, [n, k]
 * otherwise. When grad is not NULL it receives d(loss)/d(v) [n, k]. */
double nnc_loss_compute(const nnc_loss *L, int logits, const float *v, const float *y, int n,
                        int k, float *grad);

/* The same with a weight per example (Keras's sample_weight, class_weight): Σ w_r·loss_r / n,
 * the mean over the batch as Keras's sum_over_batch_size reduction takes it. */
double nnc_loss_compute_weighted(const nnc_loss *L, int logits, const float *v, const float *y,
                                 int n, int k, const float *w, float *grad);

/* e^x for x <= 0 as the softmax cross-entropy computes it (vectorisable; within 2 ulp of the
 * library's exp for x >= -708, 0 below). Exposed for tests/test_weights.c. */
double nnc_exp_nonpos(double x);

#endif
