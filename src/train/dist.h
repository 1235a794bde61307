/* Data-parallel training over the model's communicator (src/train/dist.c): each rank's share
 * of a global batch, the step whose gradients are summed over the ranks in buckets that start
 * reducing during the backward pass, the reductions of metrics, and the checks at the start
 * of fit that every rank trains the same model on the same data. */
#ifndef NNC_TRAIN_DIST_H
#define NNC_TRAIN_DIST_H
#include "train_impl.h"

typedef struct nnc_dist nnc_dist;

/* Whether m trains with other ranks. */
bool nnc_dist_on(const nnc_model *m);
/* Rows [*lo, *hi) of a global batch of b rows are this rank's (a fixed split). */
void nnc_dist_share(const nnc_model *m, size_t b, size_t *lo, size_t *hi);
/* At the start of a data-parallel fit: plans the buckets and the buffers (the only
 * allocation) and checks that every rank has the same model, options and data. */
nnc_status nnc_dist_begin(nnc_model *m, const nnc_fit_opts *o, const float *x, const float *y,
                          uint64_t src_hash, size_t n, int batch);
/* Before an epoch's shuffle: every rank takes rank 0's generator, so all shuffle alike. */
nnc_status nnc_dist_sync_rng(nnc_model *m);
/* After the shuffle: ranks other than 0 move to a stream of their own for dropout. */
void nnc_dist_split_rng(nnc_model *m);
/* One micro step of this rank's b rows (b may be 0) with the gradient summed over the ranks
 * when apply. batch gets the global batch's losses (this rank's metric state its rows); *stop is set when some rank was
 * interrupted. NNC_ERR_NUMERIC on every rank when any rank's loss is not finite (the model is
 * then as before the step). */
nnc_status nnc_dist_micro_step(nnc_model *m, int b, int first, int apply, float share, bool interrupted,
                               nnc_metric_acc *batch, bool *stop);
/* Sums an evaluation's losses and metric state over the ranks. */
nnc_status nnc_dist_reduce_acc(nnc_model *m, nnc_metric_acc *acc);
/* Sums a pass's metric state over the ranks (a training epoch's: its losses were summed step by
 * step). */
nnc_status nnc_dist_reduce_metrics(nnc_model *m, nnc_metric_acc *acc);
/* NNC_ERR_UNSUPPORTED for a metric whose state the ranks cannot add (the exact AUC). */
nnc_status nnc_dist_check_metrics(nnc_model *m);
/* The largest v over the ranks (an epoch's seconds: the slowest rank's). */
nnc_status nnc_dist_max(nnc_model *m, double *v);
void nnc_dist_free(nnc_dist *d);

#endif
