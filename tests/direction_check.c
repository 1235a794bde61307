/* Gradient check of whole models along random directions (kann's kad_check_grad idea, with a
 * verdict): one backward pass, then two forward passes per direction. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "direction_check.h"
#include "compare.h"
#include "train/train_impl.h"

static double loss_at(nnc_model *m, int n, int mode) {
    nnc_forward(m, n, mode);
    return nnc_loss_forward(m, n, 0);
}

static double check(test_run *r, nnc_model *m, const float *x, const float *y, int n, nnc_rng *rng, int trials,
                    double bound, int mode) {
    if (!CHECK(r, nnc_train_plan(m, n) == NNC_OK, "plan: %s", nnc_last_error(m))) return (double)INFINITY;
    nnc_gather_inputs(m, x, NULL, 0, n);
    nnc_gather_targets(m, y, NULL, 0, n);
    nnc_zero_grads(m);
    nnc_forward(m, n, 1);
    nnc_loss_forward(m, n, 1);
    nnc_backward(m, n);
    size_t P = m->n_param_floats;
    float *w0 = malloc(P * sizeof(float)), *delta = malloc(P * sizeof(float));
    memcpy(w0, m->param_arena, P * sizeof(float));
    double worst = 0.0;
    for (int trial = 0; trial < trials; trial++) {
        double dot = 0.0;
        for (size_t i = 0; i < P; i++) {
            delta[i] = (float)(1e-3 * nnc_rng_normal(rng));
            dot += (double)m->grad_arena[i] * (double)delta[i];
        }
        for (size_t i = 0; i < P; i++) m->param_arena[i] = w0[i] + delta[i];
        double lp = loss_at(m, n, mode);
        for (size_t i = 0; i < P; i++) m->param_arena[i] = w0[i] - delta[i];
        double lm = loss_at(m, n, mode);
        memcpy(m->param_arena, w0, P * sizeof(float));
        double num = (lp - lm) / 2.0, rel = fabs(num - dot) / (fabs(num) + fabs(dot) + 1e-12);
        worst = cmp_max(worst, rel);
        /* |a − b| <= bound·(|a| + |b| + 1e-12), in compare.h's form with b as the reference */
        CHECK(r, cmp_near(dot, num, bound * (fabs(dot) + 1e-12), bound),
              "direction %d: <grad, d> = %.6g vs difference %.6g", trial, dot, num);
    }
    free(w0);
    free(delta);
    return worst;
}

double direction_check(test_run *r, nnc_model *m, const float *x, const float *y, int n,
                       nnc_rng *rng, int trials, double bound) {
    return check(r, m, x, y, n, rng, trials, bound, 1);
}

double direction_check_replay(test_run *r, nnc_model *m, const float *x, const float *y, int n,
                              nnc_rng *rng, int trials, double bound) {
    return check(r, m, x, y, n, rng, trials, bound, 2);
}
