/* SGD, Adam and RMSprop with Keras 3's update rules (keras/src/optimizers), which differ from
 * PyTorch's in where epsilon sits: Keras's Adam folds the bias correction into the step size
 * and adds epsilon to the uncorrected sqrt(v); RMSprop adds it inside the square root. */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include "optim.h"

static const char *const opt_names[NNC_OPT_COUNT] = {
    [NNC_OPT_SGD] = "sgd", [NNC_OPT_ADAM] = "adam", [NNC_OPT_RMSPROP] = "rmsprop"};

const char *nnc_optimizer_name(nnc_optimizer_kind k) {
    return (unsigned)k < NNC_OPT_COUNT ? opt_names[k] : "?";
}

static nnc_optimizer base(nnc_optimizer_kind k, float lr) {
    nnc_optimizer o;
    memset(&o, 0, sizeof o);
    o.kind = k;
    o.learning_rate = lr;
    o.beta_1 = 0.9f;
    o.beta_2 = 0.999f;
    o.epsilon = 1e-7f;
    o.rho = 0.9f;
    return o;
}

nnc_optimizer nnc_sgd_default(void) { return base(NNC_OPT_SGD, 0.01f); }
nnc_optimizer nnc_adam_default(void) { return base(NNC_OPT_ADAM, 0.001f); }
nnc_optimizer nnc_rmsprop_default(void) { return base(NNC_OPT_RMSPROP, 0.001f); }

nnc_status nnc_optimizer_parse(const char *name, nnc_optimizer *out) {
    if (!name) return NNC_ERR_ARG;
    if (!strcmp(name, "sgd") || !strcmp(name, "SGD")) *out = nnc_sgd_default();
    else if (!strcmp(name, "adam") || !strcmp(name, "Adam")) *out = nnc_adam_default();
    else if (!strcmp(name, "rmsprop") || !strcmp(name, "RMSprop")) *out = nnc_rmsprop_default();
    else return NNC_ERR_ARG;
    return NNC_OK;
}

/* Slots in order, per optimizer, with Keras 3's names. */
int nnc_optimizer_slots(const nnc_optimizer *o) {
    switch (o->kind) {
    case NNC_OPT_ADAM: return 2;                                   /* momentum, velocity */
    case NNC_OPT_RMSPROP: return 1 + (o->momentum > 0.0f) + o->centered; /* velocity, ... */
    default: return o->momentum != 0.0f ? 1 : 0;                   /* momentum */
    }
}

const char *nnc_optimizer_slot_name(const nnc_optimizer *o, int i) {
    if (o->kind == NNC_OPT_ADAM) return i == 0 ? "momentum" : "velocity";
    if (o->kind == NNC_OPT_RMSPROP) {
        if (i == 0) return "velocity";
        if (i == 1 && o->momentum > 0.0f) return "momentum";
        return "average_gradient";
    }
    return "momentum";
}

const char *nnc_optimizer_check(const nnc_optimizer *o) {
    if ((unsigned)o->kind >= NNC_OPT_COUNT) return "unknown optimizer";
    if (!(o->learning_rate >= 0.0f) || isinf(o->learning_rate))
        return "learning_rate must be a finite number >= 0";
    if (o->kind != NNC_OPT_ADAM && !(o->momentum >= 0.0f && o->momentum <= 1.0f))
        return "momentum must be in [0, 1]";
    if (o->kind == NNC_OPT_ADAM &&
        !(o->beta_1 >= 0.0f && o->beta_1 < 1.0f && o->beta_2 >= 0.0f && o->beta_2 < 1.0f))
        return "beta_1 and beta_2 must be in [0, 1)";
    if (o->kind == NNC_OPT_RMSPROP && !(o->rho >= 0.0f && o->rho < 1.0f)) return "rho must be in [0, 1)";
    if (!(o->epsilon >= 0.0f)) return "epsilon must be >= 0";
    return NULL;
}

static void sgd(const nnc_optimizer *o, float *w, const float *g, float *v, size_t n) {
    const float lr = o->learning_rate, mu = o->momentum;
    if (mu == 0.0f) {
        for (size_t i = 0; i < n; i++) w[i] -= lr * g[i];
        return;
    }
    /* v ← μ·v − lr·g ;  w ← w + v  (nesterov: w ← w + μ·v − lr·g) */
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
}

/* m ← m + (g − m)(1 − β1) ; v ← v + (g² − v)(1 − β2) ;
 * w ← w − lr·sqrt(1 − β2ᵗ)/(1 − β1ᵗ) · m / (sqrt(v) + ε) */
static void adam(const nnc_optimizer *o, float *w, const float *g, float *slots, size_t n,
                 int64_t step) {
    const float b1 = o->beta_1, b2 = o->beta_2, eps = o->epsilon;
    const float alpha = (float)((double)o->learning_rate * sqrt(1.0 - pow((double)b2, (double)step)) /
                                (1.0 - pow((double)b1, (double)step)));
    float *m = slots, *v = slots + n;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        m[i] += (gi - m[i]) * (1.0f - b1);
        v[i] += (gi * gi - v[i]) * (1.0f - b2);
        w[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
    }
}

/* v ← ρ·v + (1 − ρ)·g² ; centered: a ← ρ·a + (1 − ρ)·g, d = v − a² + ε, else d = v + ε ;
 * step = lr·g / sqrt(d) ; with momentum: m ← μ·m + step, w ← w − m ; else w ← w − step */
static void rmsprop(const nnc_optimizer *o, float *w, const float *g, float *slots, size_t n) {
    const float lr = o->learning_rate, rho = o->rho, eps = o->epsilon, mu = o->momentum;
    float *v = slots, *m = mu > 0.0f ? slots + n : NULL;
    float *a = o->centered ? slots + n * (size_t)(m ? 2 : 1) : NULL;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        v[i] = rho * v[i] + (1.0f - rho) * gi * gi;
        float d = v[i] + eps;
        if (a) {
            a[i] = rho * a[i] + (1.0f - rho) * gi;
            d = v[i] - a[i] * a[i] + eps;
        }
        float step = lr * gi / sqrtf(d);
        if (m) {
            m[i] = mu * m[i] + step;
            w[i] -= m[i];
        } else {
            w[i] -= step;
        }
    }
}

void nnc_optimizer_step(const nnc_optimizer *o, float *w, const float *g, float *slots, size_t n,
                        int64_t step) {
    switch (o->kind) {
    case NNC_OPT_ADAM: adam(o, w, g, slots, n, step); break;
    case NNC_OPT_RMSPROP: rmsprop(o, w, g, slots, n); break;
    default: sgd(o, w, g, slots, n); break;
    }
}
