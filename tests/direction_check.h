/* Whole-model gradient check along random directions, shared by the test suites. */
#ifndef NNC_DIRECTION_CHECK_H
#define NNC_DIRECTION_CHECK_H
#include "test.h"
#include "core/model_impl.h"
#include "core/rng.h"

/* Backpropagates the loss of rows x, y[0..n) through the compiled model m, then compares
 * ⟨∇L, δ⟩ with (L(w + δ) − L(w − δ)) / 2 for `trials` random δ (σ 1e-3 per parameter), each
 * trial a CHECK against `bound` on |a − b| / (|a| + |b|). Returns the largest such ratio; the
 * weights are left as they were. */
double direction_check(test_run *r, nnc_model *m, const float *x, const float *y, int n,
                       nnc_rng *rng, int trials, double bound);
/* The same for models with noise layers: the perturbed passes replay the masks and noise of the
 * first pass (exec mode 2), as nnc_gradcheck does, so the loss is one function of the weights. */
double direction_check_replay(test_run *r, nnc_model *m, const float *x, const float *y, int n,
                              nnc_rng *rng, int trials, double bound);

#endif
