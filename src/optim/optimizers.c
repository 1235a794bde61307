/* SGD, Adam (amsgrad), AdamW, RMSprop, Adagrad, Adadelta, Nadam and Adamax with Keras 3's
 * update rules (keras/src/optimizers/<name>.py), which differ from PyTorch's in where epsilon
 * sits: Keras's Adam folds the bias correction into the step size and adds epsilon to the
 * uncorrected sqrt(v); RMSprop, Adagrad and Adadelta add it inside the square root. Weight
 * decay is folded into each update loop, so a step is one pass over the arena. */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include "optim.h"

static nnc_optimizer base(nnc_optimizer_kind k, float lr) {
    nnc_optimizer o;
    memset(&o, 0, sizeof o);
    o.kind = k;
    o.learning_rate = lr;
    o.beta_1 = 0.9f;
    o.beta_2 = 0.999f;
    o.epsilon = 1e-7f;
    o.rho = 0.9f;
    o.initial_accumulator_value = 0.1f;
    o.schedule.kind = NNC_SCHEDULE_NONE;
    return o;
}

/* Defaults of keras/src/optimizers/<name>.py. */
nnc_optimizer nnc_sgd_default(void) { return base(NNC_OPT_SGD, 0.01f); }
nnc_optimizer nnc_adam_default(void) { return base(NNC_OPT_ADAM, 0.001f); }
nnc_optimizer nnc_rmsprop_default(void) { return base(NNC_OPT_RMSPROP, 0.001f); }
nnc_optimizer nnc_adagrad_default(void) { return base(NNC_OPT_ADAGRAD, 0.001f); }
nnc_optimizer nnc_adadelta_default(void) {
    nnc_optimizer o = base(NNC_OPT_ADADELTA, 0.001f);
    o.rho = 0.95f;
    return o;
}
nnc_optimizer nnc_adamw_default(void) {
    nnc_optimizer o = base(NNC_OPT_ADAMW, 0.001f);
    o.weight_decay = 0.004f;
    return o;
}
nnc_optimizer nnc_nadam_default(void) { return base(NNC_OPT_NADAM, 0.001f); }
nnc_optimizer nnc_adamax_default(void) { return base(NNC_OPT_ADAMAX, 0.001f); }

/* ---- the descriptors ----------------------------------------------------------------------
 * Each optimizer's own arguments in the order of Keras 3's get_config, after the base
 * optimizer's (nnc_optimizer_base_opts). The ranges are those the spec file accepts. */

#define F(key, field, lo_, hi_) {NNC_OPT_ROW(key, NNC_OPT_FLOAT, nnc_optimizer, field, -1), .lo = lo_, .hi = hi_}
#define B(key, field) {NNC_OPT_ROW(key, NNC_OPT_BOOL, nnc_optimizer, field, -1)}
#define BIG 3.4e38
#define BELOW_1 0.999999999

const nnc_opt_desc nnc_optimizer_base_opts[] = {
    {NNC_OPT_ROW("weight_decay", NNC_OPT_FLOAT_OR_NONE, nnc_optimizer, weight_decay, -1), .lo = 0, .hi = BIG,
     .help = "w -= lr·weight_decay·w before each update; None (0) is off"},
    {NNC_OPT_ROW("clipnorm", NNC_OPT_FLOAT_OR_NONE, nnc_optimizer, clipnorm, -1), .lo = 0, .hi = BIG,
     .help = "each variable's gradient scaled to this L2 norm at most"},
    {NNC_OPT_ROW("global_clipnorm", NNC_OPT_FLOAT_OR_NONE, nnc_optimizer, global_clipnorm, -1), .lo = 0, .hi = BIG,
     .help = "all gradients scaled together to this L2 norm at most"},
    {NNC_OPT_ROW("clipvalue", NNC_OPT_FLOAT_OR_NONE, nnc_optimizer, clipvalue, -1), .lo = 0, .hi = BIG,
     .help = "each gradient element clipped to [-clipvalue, clipvalue]"},
    {.key = "use_ema", .type = NNC_OPT_CONST, .literal = "false", .help = "false only"},
    {.key = "ema_momentum", .type = NNC_OPT_FIXED, .literal = "0.99"},
    {.key = "ema_overwrite_frequency", .type = NNC_OPT_FIXED, .literal = "null"},
    {.key = "loss_scale_factor", .type = NNC_OPT_FIXED, .literal = "null"},
    {.key = "gradient_accumulation_steps", .type = NNC_OPT_FIXED, .literal = "null"},
};
const int nnc_optimizer_base_count = NNC_OPT_COUNT_OF(nnc_optimizer_base_opts);

static const nnc_opt_desc sgd_opts[] = {F("momentum", momentum, 0, 1), B("nesterov", nesterov)};
static const nnc_opt_desc rmsprop_opts[] = {F("rho", rho, 0, BELOW_1), F("momentum", momentum, 0, 1),
                                            F("epsilon", epsilon, 0, 1), B("centered", centered)};
static const nnc_opt_desc adagrad_opts[] = {F("initial_accumulator_value", initial_accumulator_value, 0, BIG),
                                            F("epsilon", epsilon, 0, 1)};
static const nnc_opt_desc adadelta_opts[] = {F("rho", rho, 0, BELOW_1), F("epsilon", epsilon, 0, 1)};
static const nnc_opt_desc adam_opts[] = {F("beta_1", beta_1, 0, BELOW_1), F("beta_2", beta_2, 0, BELOW_1),
                                         F("epsilon", epsilon, 0, 1), B("amsgrad", amsgrad)};
/* Nadam and Adamax: Adam's without amsgrad */

static const nnc_optimizer_desc optimizers[NNC_OPT_COUNT] = {
    [NNC_OPT_SGD] = {NNC_OPT_SGD, "SGD", "sgd", nnc_sgd_default, sgd_opts, 2},
    [NNC_OPT_ADAM] = {NNC_OPT_ADAM, "Adam", "adam", nnc_adam_default, adam_opts, 4},
    [NNC_OPT_RMSPROP] = {NNC_OPT_RMSPROP, "RMSprop", "rmsprop", nnc_rmsprop_default, rmsprop_opts, 4},
    [NNC_OPT_ADAGRAD] = {NNC_OPT_ADAGRAD, "Adagrad", "adagrad", nnc_adagrad_default, adagrad_opts, 2},
    [NNC_OPT_ADADELTA] = {NNC_OPT_ADADELTA, "Adadelta", "adadelta", nnc_adadelta_default, adadelta_opts, 2},
    [NNC_OPT_ADAMW] = {NNC_OPT_ADAMW, "AdamW", "adamw", nnc_adamw_default, adam_opts, 4},
    [NNC_OPT_NADAM] = {NNC_OPT_NADAM, "Nadam", "nadam", nnc_nadam_default, adam_opts, 3},
    [NNC_OPT_ADAMAX] = {NNC_OPT_ADAMAX, "Adamax", "adamax", nnc_adamax_default, adam_opts, 3},
};

const nnc_optimizer_desc *nnc_optimizer_desc_of(nnc_optimizer_kind k) {
    return (unsigned)k < NNC_OPT_COUNT ? &optimizers[k] : NULL;
}

const char *nnc_optimizer_name(nnc_optimizer_kind k) {
    return (unsigned)k < NNC_OPT_COUNT ? optimizers[k].name : "?";
}

const char *nnc_optimizer_class(nnc_optimizer_kind k) {
    return (unsigned)k < NNC_OPT_COUNT ? optimizers[k].keras_class : "?";
}

/* ASCII case-insensitive equality: "RMSprop", "rmsprop" and "AdamW", "adamw" are one name. */
static int same_name(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        int x = *a >= 'A' && *a <= 'Z' ? *a - 'A' + 'a' : *a;
        int y = *b >= 'A' && *b <= 'Z' ? *b - 'A' + 'a' : *b;
        if (x != y) return 0;
    }
    return *a == *b;
}

nnc_status nnc_optimizer_parse(const char *name, nnc_optimizer *out) {
    if (!name || !out) return NNC_ERR_ARG;
    for (int k = 0; k < NNC_OPT_COUNT; k++)
        if (same_name(name, optimizers[k].name)) {
            *out = optimizers[k].defaults();
            return NNC_OK;
        }
    return NNC_ERR_ARG;
}

static int adam_like(nnc_optimizer_kind k) {
    return k == NNC_OPT_ADAM || k == NNC_OPT_ADAMW || k == NNC_OPT_NADAM || k == NNC_OPT_ADAMAX;
}

/* Slots in order, per optimizer, with Keras 3's names (add_optimizer_variables). */
int nnc_optimizer_slots(const nnc_optimizer *o) {
    switch (o->kind) {
    case NNC_OPT_ADAM:
    case NNC_OPT_ADAMW: return 2 + o->amsgrad;                     /* momentum, velocity, velocity_hat */
    case NNC_OPT_RMSPROP: return 1 + (o->momentum > 0.0f) + o->centered; /* velocity, ... */
    case NNC_OPT_ADAGRAD: return 1;                                /* accumulator */
    case NNC_OPT_ADADELTA: return 2;                  /* accumulated_grad, accumulated_delta_var */
    case NNC_OPT_NADAM: return 2;                                  /* momentum, velocity */
    case NNC_OPT_ADAMAX: return 2;                                 /* momentum, norm */
    default: return o->momentum != 0.0f ? 1 : 0;                   /* momentum */
    }
}

const char *nnc_optimizer_slot_name(const nnc_optimizer *o, int i) {
    switch (o->kind) {
    case NNC_OPT_ADAM:
    case NNC_OPT_ADAMW:
    case NNC_OPT_NADAM: return i == 0 ? "momentum" : i == 1 ? "velocity" : "velocity_hat";
    case NNC_OPT_RMSPROP:
        if (i == 0) return "velocity";
        if (i == 1 && o->momentum > 0.0f) return "momentum";
        return "average_gradient";
    case NNC_OPT_ADAGRAD: return "accumulator";
    case NNC_OPT_ADADELTA: return i == 0 ? "accumulated_grad" : "accumulated_delta_var";
    case NNC_OPT_ADAMAX: return i == 0 ? "momentum" : "norm";
    default: return "momentum";
    }
}

void nnc_optimizer_init_slots(const nnc_optimizer *o, float *slots, size_t n) {
    size_t total = n * (size_t)nnc_optimizer_slots(o);
    if (o->kind == NNC_OPT_ADAGRAD) /* initializers.Constant(initial_accumulator_value) */
        for (size_t i = 0; i < total; i++) slots[i] = o->initial_accumulator_value;
    else
        memset(slots, 0, total * sizeof(float));
}

static int finite_nonneg(float v) { return v >= 0.0f && !isinf(v); }

const char *nnc_optimizer_check(const nnc_optimizer *o) {
    if ((unsigned)o->kind >= NNC_OPT_COUNT) return "unknown optimizer";
    if (!finite_nonneg(o->learning_rate)) return "learning_rate must be a finite number >= 0";
    if ((o->kind == NNC_OPT_SGD || o->kind == NNC_OPT_RMSPROP) &&
        !(o->momentum >= 0.0f && o->momentum <= 1.0f))
        return "momentum must be in [0, 1]";
    if (adam_like(o->kind) &&
        !(o->beta_1 >= 0.0f && o->beta_1 < 1.0f && o->beta_2 >= 0.0f && o->beta_2 < 1.0f))
        return "beta_1 and beta_2 must be in [0, 1)";
    if ((o->kind == NNC_OPT_RMSPROP || o->kind == NNC_OPT_ADADELTA) && !(o->rho >= 0.0f && o->rho < 1.0f))
        return "rho must be in [0, 1)";
    if (!(o->epsilon >= 0.0f)) return "epsilon must be >= 0";
    if (o->kind == NNC_OPT_ADAGRAD && !finite_nonneg(o->initial_accumulator_value))
        return "initial_accumulator_value must be a finite number >= 0";
    if (!finite_nonneg(o->weight_decay)) return "weight_decay must be a finite number >= 0";
    if (!finite_nonneg(o->clipnorm) || !finite_nonneg(o->clipvalue) || !finite_nonneg(o->global_clipnorm))
        return "clipnorm, clipvalue and global_clipnorm must be finite numbers >= 0";
    if ((o->clipnorm > 0.0f) + (o->clipvalue > 0.0f) + (o->global_clipnorm > 0.0f) > 1)
        return "only one of clipnorm, clipvalue and global_clipnorm can be set";
    return nnc_schedule_check(&o->schedule);
}

float nnc_optimizer_learning_rate(const nnc_optimizer *o, int64_t iterations) {
    return o->schedule.kind == NNC_SCHEDULE_NONE ? o->learning_rate
                                                 : nnc_schedule_value(&o->schedule, iterations);
}

/* keras/src/optimizers/base_optimizer.py, _clip_by_norm and clip_by_global_norm: the gradients
 * are scaled by c / max(‖g‖₂, c), so a norm at or below c leaves them as they are. */
void nnc_clip_by_norm(float *g, size_t n, float c) {
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)g[i] * (double)g[i];
    double norm = sqrt(ss);
    if (!(norm > (double)c)) return;
    const float scale = (float)((double)c / norm);
    for (size_t i = 0; i < n; i++) g[i] *= scale;
}

/* ops.clip(g, −v, v) */
void nnc_clip_by_value(float *g, size_t n, float v) {
    for (size_t i = 0; i < n; i++) g[i] = g[i] < -v ? -v : g[i] > v ? v : g[i];
}

/* Keras's _apply_weight_decay (base_optimizer.py), folded into each update loop: before the
 * update, w ← w − w·wd·lr with the step's (scheduled) learning rate. wdlr = wd·lr; 0 is off. */
static inline float decayed(float w, float wdlr) { return wdlr != 0.0f ? w - w * wdlr : w; }

/* The update loops are cloned for AVX-512 and AVX2 (picked at load time): they are pure
 * elementwise IEEE arithmetic (no contraction into FMAs, sqrt and division correctly rounded),
 * so every clone gives the same bits, 4 to 16 floats at a time. On B1 the baseline SSE2 loop
 * of Adam was over half of the training step. */
#define UPDATE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

UPDATE_CLONES
static void sgd(const nnc_optimizer *o, float lr, float wdlr, float *w, const float *g, float *v,
                size_t n) {
    const float mu = o->momentum;
    if (mu == 0.0f) {
        for (size_t i = 0; i < n; i++) w[i] = decayed(w[i], wdlr) - lr * g[i];
        return;
    }
    /* v ← μ·v − lr·g ;  w ← w + v  (nesterov: w ← w + μ·v − lr·g) */
    if (o->nesterov)
        for (size_t i = 0; i < n; i++) {
            v[i] = mu * v[i] - lr * g[i];
            w[i] = decayed(w[i], wdlr) + (mu * v[i] - lr * g[i]);
        }
    else
        for (size_t i = 0; i < n; i++) {
            v[i] = mu * v[i] - lr * g[i];
            w[i] = decayed(w[i], wdlr) + v[i];
        }
}

/* keras/src/optimizers/adam.py (AdamW is Adam with weight decay, adamw.py):
 * m ← m + (g − m)(1 − β1) ; v ← v + (g² − v)(1 − β2) ; amsgrad: v̂ ← max(v̂, v), used for v ;
 * w ← w − lr·sqrt(1 − β2ᵗ)/(1 − β1ᵗ) · m / (sqrt(v) + ε) */
UPDATE_CLONES
static void adam(const nnc_optimizer *o, float lr, float wdlr, float *w, const float *g,
                 float *slots, size_t n, size_t stride, int64_t step) {
    const float b1 = o->beta_1, b2 = o->beta_2, eps = o->epsilon;
    const float alpha = (float)((double)lr * sqrt(1.0 - pow((double)b2, (double)step)) /
                                (1.0 - pow((double)b1, (double)step)));
    float *m = slots, *v = slots + stride, *vh = o->amsgrad ? slots + 2 * stride : NULL;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        m[i] += (gi - m[i]) * (1.0f - b1);
        v[i] += (gi * gi - v[i]) * (1.0f - b2);
        float vi = v[i];
        if (vh) vi = vh[i] = vh[i] > vi ? vh[i] : vi;
        w[i] = decayed(w[i], wdlr) - alpha * m[i] / (sqrtf(vi) + eps);
    }
}

/* v ← ρ·v + (1 − ρ)·g² ; centered: a ← ρ·a + (1 − ρ)·g, d = v − a² + ε, else d = v + ε ;
 * step = lr·g / sqrt(d) ; with momentum: m ← μ·m + step, w ← w − m ; else w ← w − step */
UPDATE_CLONES
static void rmsprop(const nnc_optimizer *o, float lr, float wdlr, float *w, const float *g,
                    float *slots, size_t n, size_t stride) {
    const float rho = o->rho, eps = o->epsilon, mu = o->momentum;
    float *v = slots, *m = mu > 0.0f ? slots + stride : NULL;
    float *a = o->centered ? slots + stride * (size_t)(m ? 2 : 1) : NULL;
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
            w[i] = decayed(w[i], wdlr) - m[i];
        } else {
            w[i] = decayed(w[i], wdlr) - step;
        }
    }
}

/* keras/src/optimizers/adagrad.py (Duchi et al., 2011): the accumulator starts at
 * initial_accumulator_value ; acc ← acc + g² ; w ← w − lr·g / sqrt(acc + ε) */
UPDATE_CLONES
static void adagrad(const nnc_optimizer *o, float lr, float wdlr, float *w, const float *g,
                    float *acc, size_t n) {
    const float eps = o->epsilon;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        acc[i] += gi * gi;
        w[i] = decayed(w[i], wdlr) - lr * gi / sqrtf(acc[i] + eps);
    }
}

/* keras/src/optimizers/adadelta.py (Zeiler, 2012), rms(x) = sqrt(x + ε):
 * A ← ρ·A + (1 − ρ)·g² ; Δ = −rms(D)·g / rms(A) ; D ← ρ·D + (1 − ρ)·Δ² ; w ← w + lr·Δ */
UPDATE_CLONES
static void adadelta(const nnc_optimizer *o, float lr, float wdlr, float *w, const float *g,
                     float *slots, size_t n, size_t stride) {
    const float rho = o->rho, eps = o->epsilon;
    float *ag = slots, *ad = slots + stride;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        ag[i] = rho * ag[i] + (1.0f - rho) * gi * gi;
        float delta = -(sqrtf(ad[i] + eps) * gi) / sqrtf(ag[i] + eps);
        ad[i] = rho * ad[i] + (1.0f - rho) * delta * delta;
        w[i] = decayed(w[i], wdlr) + lr * delta;
    }
}

/* Dozat's momentum schedule as keras/src/optimizers/nadam.py writes it: u_k = β1(1 − ½·0.96^k),
 * and its running product U_t = u_1···u_t (Keras's u_product variable). Keras keeps U_t as a
 * variable; here it is recomputed from t, so it needs no state: past k = 1000, 0.96^k < 2e-18
 * and u_k equals β1 in double precision, so U_t = u_1···u_1000 · β1^(t − 1000). */
static double nadam_u(double b1, int64_t k) { return b1 * (1.0 - 0.5 * pow(0.96, (double)k)); }

double nnc_nadam_u_product(double b1, int64_t t) {
    double p = 1.0, d = 1.0;
    int64_t lim = t < 1000 ? t : 1000;
    for (int64_t k = 1; k <= lim; k++) {
        d *= 0.96;
        p *= b1 * (1.0 - 0.5 * d);
    }
    return t > lim ? p * pow(b1, (double)(t - lim)) : p;
}

/* keras/src/optimizers/nadam.py: m and v as Adam ;
 * m̂ = u_{t+1}·m / (1 − U_t·u_{t+1}) + (1 − u_t)·g / (1 − U_t) ; v̂ = v / (1 − β2ᵗ) ;
 * w ← w − lr·m̂ / (sqrt(v̂) + ε) */
UPDATE_CLONES
static void nadam(const nnc_optimizer *o, float lr, float wdlr, float *w, const float *g,
                  float *slots, size_t n, size_t stride, int64_t step) {
    const float b1 = o->beta_1, b2 = o->beta_2, eps = o->epsilon;
    const double ut = nadam_u((double)b1, step), ut1 = nadam_u((double)b1, step + 1);
    const double prod = nnc_nadam_u_product((double)b1, step);
    const float cm = (float)(ut1 / (1.0 - prod * ut1)), cg = (float)((1.0 - ut) / (1.0 - prod));
    const float cv = (float)(1.0 / (1.0 - pow((double)b2, (double)step)));
    float *m = slots, *v = slots + stride;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        m[i] += (gi - m[i]) * (1.0f - b1);
        v[i] += (gi * gi - v[i]) * (1.0f - b2);
        float mh = cm * m[i] + cg * gi;
        w[i] = decayed(w[i], wdlr) - lr * mh / (sqrtf(v[i] * cv) + eps);
    }
}

/* keras/src/optimizers/adamax.py (Kingma & Ba, 2014, section 7.1):
 * m ← m + (g − m)(1 − β1) ; u ← max(β2·u, |g|) ; w ← w − lr·m / ((1 − β1ᵗ)(u + ε)) */
UPDATE_CLONES
static void adamax(const nnc_optimizer *o, float lr, float wdlr, float *w, const float *g,
                   float *slots, size_t n, size_t stride, int64_t step) {
    const float b1 = o->beta_1, b2 = o->beta_2, eps = o->epsilon;
    const float c = (float)(1.0 - pow((double)b1, (double)step));
    float *m = slots, *u = slots + stride;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i], ag = fabsf(gi), bu = b2 * u[i];
        m[i] += (gi - m[i]) * (1.0f - b1);
        u[i] = bu > ag ? bu : ag;
        w[i] = decayed(w[i], wdlr) - lr * m[i] / (c * (u[i] + eps));
    }
}

void nnc_optimizer_step(const nnc_optimizer *o, float *w, const float *g, float *slots, size_t n,
                        int64_t step) {
    nnc_optimizer_step_range(o, w, g, slots, n, n, step);
}

void nnc_optimizer_step_range(const nnc_optimizer *o, float *w, const float *g, float *slots,
                              size_t n, size_t stride, int64_t step) {
    /* Keras evaluates the schedule at the iteration count before the step. */
    const float lr = nnc_optimizer_learning_rate(o, step - 1);
    const float wdlr = o->weight_decay * lr;
    switch (o->kind) {
    case NNC_OPT_ADAM:
    case NNC_OPT_ADAMW: adam(o, lr, wdlr, w, g, slots, n, stride, step); break;
    case NNC_OPT_RMSPROP: rmsprop(o, lr, wdlr, w, g, slots, n, stride); break;
    case NNC_OPT_ADAGRAD: adagrad(o, lr, wdlr, w, g, slots, n); break;
    case NNC_OPT_ADADELTA: adadelta(o, lr, wdlr, w, g, slots, n, stride); break;
    case NNC_OPT_NADAM: nadam(o, lr, wdlr, w, g, slots, n, stride, step); break;
    case NNC_OPT_ADAMAX: adamax(o, lr, wdlr, w, g, slots, n, stride, step); break;
    default: sgd(o, lr, wdlr, w, g, slots, n); break;
    }
}
