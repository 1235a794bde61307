/* SGD and Adam with Keras 3's update rules (keras/src/optimizers), which differ from
 * PyTorch's in where Adam's epsilon sits: Keras folds the bias correction into the step size
 * and adds epsilon to the uncorrected sqrt(v). */
#include <math.h>
#include <stddef.h>
#include "optim.h"

const char *nnc_optimizer_name(nnc_optimizer_kind k) {
    return k == NNC_OPT_SGD ? "sgd" : k == NNC_OPT_ADAM ? "adam" : "?";
}

nnc_optimizer nnc_sgd_default(void) {
    nnc_optimizer o = {NNC_OPT_SGD, 0.01f, 0.0f, false, 0.9f, 0.999f, 1e-7f};
    return o;
}

nnc_optimizer nnc_adam_default(void) {
    nnc_optimizer o = {NNC_OPT_ADAM, 0.001f, 0.0f, false, 0.9f, 0.999f, 1e-7f};
    return o;
}

int nnc_optimizer_slots(const nnc_optimizer *o) {
    if (o->kind == NNC_OPT_ADAM) return 2;
    return o->momentum != 0.0f ? 1 : 0;
}

const char *nnc_optimizer_slot_name(const nnc_optimizer *o, int i) {
    (void)o;
    return i == 0 ? "momentum" : "velocity";
}

const char *nnc_optimizer_check(const nnc_optimizer *o) {
    if ((unsigned)o->kind >= NNC_OPT_COUNT) return "unknown optimizer";
    if (!(o->learning_rate >= 0.0f) || isinf(o->learning_rate))
        return "learning_rate must be a finite number >= 0";
    if (o->kind == NNC_OPT_SGD && !(o->momentum >= 0.0f && o->momentum <= 1.0f))
        return "momentum must be in [0, 1]";
    if (o->kind == NNC_OPT_ADAM &&
        !(o->beta_1 >= 0.0f && o->beta_1 < 1.0f && o->beta_2 >= 0.0f && o->beta_2 < 1.0f))
        return "beta_1 and beta_2 must be in [0, 1)";
    if (o->kind == NNC_OPT_ADAM && !(o->epsilon >= 0.0f)) return "epsilon must be >= 0";
    return NULL;
}

void nnc_optimizer_step(const nnc_optimizer *o, float *w, const float *g, float *slots, size_t n,
                        int64_t step) {
    const float lr = o->learning_rate;
    if (o->kind == NNC_OPT_SGD) {
        if (o->momentum == 0.0f) {
            for (size_t i = 0; i < n; i++) w[i] -= lr * g[i];
            return;
        }
        /* v ← μ·v − lr·g ;  w ← w + v  (nesterov: w ← w + μ·v − lr·g) */
        const float mu = o->momentum;
        float *v = slots;
        if (o->nesterov)
            for (size_t i = 0; i < n; i++) {
                v[i] = mu * v[i] - lr * g[i];
                w[i] += mu * v[i] - lr * g[i];
            }
        else
            for (size_t i = 0; i < n; i++) {
                v[i] = mu * v[i] - lr * g[i];
                w[i] += v[i];
            }
        return;
    }
    /* m ← m + (g − m)(1 − β1) ; v ← v + (g² − v)(1 − β2) ;
     * w ← w − lr·sqrt(1 − β2ᵗ)/(1 − β1ᵗ) · m / (sqrt(v) + ε) */
    const float b1 = o->beta_1, b2 = o->beta_2, eps = o->epsilon;
    const float alpha = (float)((double)lr * sqrt(1.0 - pow((double)b2, (double)step)) / (1.0 - pow((double)b1, (double)step)));
    float *m = slots, *v = slots + n;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        m[i] += (gi - m[i]) * (1.0f - b1);
        v[i] += (gi * gi - v[i]) * (1.0f - b2);
        w[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
    }
}
