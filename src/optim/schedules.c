/* Learning-rate schedules with the formulas of Keras 3's keras.optimizers.schedules
 * (keras/src/optimizers/schedules/learning_rate_schedule.py), evaluated in double precision
 * and rounded to float once. The optimizer calls them with its iteration count before the
 * step, as BaseOptimizer._get_current_learning_rate does. */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include "optim.h"

/* ---- the descriptors ----------------------------------------------------------------------
 * Each schedule's arguments in the order of its constructor (the spec's positional values) and
 * of Keras 3's get_config, with its config's default `name`. */

#define BIG 3.4e38
#define ROW(key, type, field, pos) NNC_OPT_ROW(key, type, nnc_schedule, field, pos)
#define REQUIRED_F(key, field, pos, lo_) {ROW(key, NNC_OPT_FLOAT, field, pos), .lo = lo_, .hi = BIG, .flags = NNC_OPTF_REQUIRED}
#define NAME(text) {.key = "name", .type = NNC_OPT_FIXED, .literal = "\"" text "\"", .flags = NNC_OPTF_NAME}
#define INITIAL REQUIRED_F("initial_learning_rate", initial_learning_rate, 0, 0)

static const nnc_opt_desc exponential_opts[] = {
    INITIAL, REQUIRED_F("decay_steps", decay_steps, 1, -BIG), REQUIRED_F("decay_rate", decay_rate, 2, 0),
    {ROW("staircase", NNC_OPT_BOOL, staircase, 3)}, NAME("ExponentialDecay")};
static const nnc_opt_desc inverse_time_opts[] = {
    INITIAL, REQUIRED_F("decay_steps", decay_steps, 1, -BIG), REQUIRED_F("decay_rate", decay_rate, 2, 0),
    {ROW("staircase", NNC_OPT_BOOL, staircase, 3)}, NAME("InverseTimeDecay")};
static const nnc_opt_desc piecewise_opts[] = {
    {ROW("boundaries", NNC_OPT_INT64S, boundaries, 0), .aux = offsetof(nnc_schedule, n_boundaries),
     .count = NNC_MAX_BOUNDARIES, .lo = -9e15, .hi = 9e15, .flags = NNC_OPTF_REQUIRED,
     .help = "steps (integers), increasing"},
    {ROW("values", NNC_OPT_FLOATS_AFTER, values, 1), .aux = offsetof(nnc_schedule, n_boundaries), .lo = -BIG,
     .hi = BIG, .flags = NNC_OPTF_REQUIRED, .help = "one rate more than boundaries"},
    NAME("PiecewiseConstant")};
static const nnc_opt_desc polynomial_opts[] = {
    INITIAL, REQUIRED_F("decay_steps", decay_steps, 1, -BIG),
    {ROW("end_learning_rate", NNC_OPT_FLOAT, end_learning_rate, 2), .lo = 0, .hi = BIG},
    {ROW("power", NNC_OPT_FLOAT, power, 3), .lo = 0, .hi = BIG}, {ROW("cycle", NNC_OPT_BOOL, cycle, 4)},
    NAME("PolynomialDecay")};
static const nnc_opt_desc cosine_opts[] = {
    INITIAL, REQUIRED_F("decay_steps", decay_steps, 1, -BIG), {ROW("alpha", NNC_OPT_FLOAT, alpha, 2), .lo = 0, .hi = 1},
    NAME("CosineDecay"),
    {ROW("warmup_target", NNC_OPT_OPTIONAL_FLOAT, warmup_target, -1), .aux = offsetof(nnc_schedule, warmup),
     .lo = 0, .hi = BIG, .help = "None: no warmup"},
    {ROW("warmup_steps", NNC_OPT_FLOAT, warmup_steps, -1), .lo = 0, .hi = BIG}};
static const nnc_opt_desc restarts_opts[] = {
    INITIAL, REQUIRED_F("first_decay_steps", decay_steps, 1, -BIG),
    {ROW("t_mul", NNC_OPT_FLOAT, t_mul, 2), .lo = -BIG, .hi = BIG},
    {ROW("m_mul", NNC_OPT_FLOAT, m_mul, 3), .lo = 0, .hi = BIG},
    {ROW("alpha", NNC_OPT_FLOAT, alpha, 4), .lo = 0, .hi = 1}, NAME("SGDRDecay")};

#define DESC(kind, cls, name, rows, f) [kind] = {kind, cls, name, rows, NNC_OPT_COUNT_OF(rows), f}
static const nnc_schedule_desc schedules[NNC_SCHEDULE_COUNT] = {
    [NNC_SCHEDULE_NONE] = {NNC_SCHEDULE_NONE, "Constant", "constant", NULL, 0, "learning_rate"},
    DESC(NNC_SCHEDULE_EXPONENTIAL_DECAY, "ExponentialDecay", "exponential_decay", exponential_opts,
         "initial · decay_rate^(t/decay_steps), the exponent floored when staircase"),
    DESC(NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY, "PiecewiseConstantDecay", "piecewise_constant_decay", piecewise_opts,
         "values[0] while t ≤ boundaries[0], values[i] while boundaries[i-1] < t ≤ boundaries[i], then the last"),
    DESC(NNC_SCHEDULE_POLYNOMIAL_DECAY, "PolynomialDecay", "polynomial_decay", polynomial_opts,
         "(initial − end)(1 − t/decay_steps)^power + end, t capped at decay_steps; cycle: decay_steps · "
         "ceil(t/decay_steps) instead"),
    DESC(NNC_SCHEDULE_INVERSE_TIME_DECAY, "InverseTimeDecay", "inverse_time_decay", inverse_time_opts,
         "initial / (1 + decay_rate · t/decay_steps), floored when staircase"),
    DESC(NNC_SCHEDULE_COSINE_DECAY, "CosineDecay", "cosine_decay", cosine_opts,
         "linear from initial to warmup_target over warmup_steps, then from that rate r: "
         "r((1 − alpha)·½(1 + cos(π·t/decay_steps)) + alpha)"),
    DESC(NNC_SCHEDULE_COSINE_DECAY_RESTARTS, "CosineDecayRestarts", "cosine_decay_restarts", restarts_opts,
         "cosine decay over periods first_decay_steps · t_mulⁱ, the i-th scaled by m_mulⁱ"),
};

const nnc_schedule_desc *nnc_schedule_desc_of(nnc_schedule_kind k) {
    return (unsigned)k < NNC_SCHEDULE_COUNT ? &schedules[k] : NULL;
}

const char *nnc_schedule_name(nnc_schedule_kind k) {
    return (unsigned)k < NNC_SCHEDULE_COUNT ? schedules[k].name : "?";
}

const char *nnc_schedule_class(nnc_schedule_kind k) {
    return (unsigned)k < NNC_SCHEDULE_COUNT ? schedules[k].keras_class : "?";
}

nnc_status nnc_schedule_parse(const char *name, nnc_schedule_kind *out) {
    if (!name || !out) return NNC_ERR_ARG;
    for (int k = 1; k < NNC_SCHEDULE_COUNT; k++)
        if (!strcmp(name, schedules[k].name) || !strcmp(name, schedules[k].keras_class)) {
            *out = (nnc_schedule_kind)k;
            return NNC_OK;
        }
    return NNC_ERR_ARG;
}

nnc_schedule nnc_schedule_default(nnc_schedule_kind kind) {
    nnc_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.end_learning_rate = 0.0001f; /* PolynomialDecay */
    s.power = 1.0f;
    s.t_mul = 2.0f;                /* CosineDecayRestarts */
    s.m_mul = 1.0f;
    return s;
}

static const double PI = 3.14159265358979323846;

static int finite(float v) { return !isnan(v) && !isinf(v); }

const char *nnc_schedule_check(const nnc_schedule *s) {
    if ((unsigned)s->kind >= NNC_SCHEDULE_COUNT) return "unknown learning-rate schedule";
    if (s->kind == NNC_SCHEDULE_NONE) return NULL;
    if (s->kind == NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY) {
        if (s->n_boundaries < 1 || s->n_boundaries > NNC_MAX_BOUNDARIES)
            return "piecewise_constant_decay needs 1 to 16 boundaries and one value more";
        for (int i = 1; i < s->n_boundaries; i++)
            if (s->boundaries[i] <= s->boundaries[i - 1])
                return "piecewise_constant_decay boundaries must be strictly increasing";
        for (int i = 0; i <= s->n_boundaries; i++)
            if (!finite(s->values[i]) || s->values[i] < 0.0f)
                return "piecewise_constant_decay values must be finite numbers >= 0";
        return NULL;
    }
    if (!finite(s->initial_learning_rate) || s->initial_learning_rate < 0.0f)
        return "initial_learning_rate must be a finite number >= 0";
    if (!(s->decay_steps > 0.0f) || !finite(s->decay_steps))
        return s->kind == NNC_SCHEDULE_COSINE_DECAY_RESTARTS ? "first_decay_steps must be > 0"
                                                             : "decay_steps must be > 0";
    switch (s->kind) {
    case NNC_SCHEDULE_EXPONENTIAL_DECAY:
    case NNC_SCHEDULE_INVERSE_TIME_DECAY:
        if (!finite(s->decay_rate) || s->decay_rate < 0.0f) return "decay_rate must be a finite number >= 0";
        break;
    case NNC_SCHEDULE_POLYNOMIAL_DECAY:
        if (!finite(s->end_learning_rate) || s->end_learning_rate < 0.0f)
            return "end_learning_rate must be a finite number >= 0";
        if (!finite(s->power) || s->power < 0.0f) return "power must be a finite number >= 0";
        break;
    case NNC_SCHEDULE_COSINE_DECAY:
        if (!finite(s->alpha) || s->alpha < 0.0f || s->alpha > 1.0f) return "alpha must be in [0, 1]";
        if (s->warmup && (!finite(s->warmup_target) || s->warmup_target < 0.0f))
            return "warmup_target must be a finite number >= 0";
        if (!finite(s->warmup_steps) || s->warmup_steps < 0.0f) return "warmup_steps must be >= 0";
        break;
    case NNC_SCHEDULE_COSINE_DECAY_RESTARTS:
        if (!finite(s->alpha) || s->alpha < 0.0f || s->alpha > 1.0f) return "alpha must be in [0, 1]";
        if (!finite(s->t_mul) || !(s->t_mul > 0.0f)) return "t_mul must be > 0";
        if (!finite(s->m_mul) || s->m_mul < 0.0f) return "m_mul must be a finite number >= 0";
        break;
    default: break;
    }
    return NULL;
}

/* CosineDecay._decay_function: from · ((1 − α)·½(1 + cos(π·step/decay_steps)) + α). */
static double cosine(double from, double step, double decay_steps, double alpha) {
    double c = 0.5 * (1.0 + cos(PI * (step / decay_steps)));
    return from * ((1.0 - alpha) * c + alpha);
}

/* CosineDecayRestarts: period i lasts first·t_mulⁱ steps and peaks at m_mulⁱ. Keras finds i
 * as floor(log(1 − f(1 − t_mul)) / log(t_mul)) for f = step / first; the two checks after it
 * put a step that falls exactly on a restart into the new period even when the logarithms
 * round the quotient just below an integer. */
static double restarts(const nnc_schedule *s, double step) {
    const double t_mul = (double)s->t_mul, f = step / (double)s->decay_steps;
    double i, frac;
    if (t_mul == 1.0) {
        i = floor(f);
        frac = f - i;
    } else {
        i = floor(log(1.0 - f * (1.0 - t_mul)) / log(t_mul));
        if (i < 0.0) i = 0.0;
        /* sum_r(i) = (1 − t_mulⁱ)/(1 − t_mul): the periods before period i, in first-periods */
        if ((1.0 - pow(t_mul, i + 1.0)) / (1.0 - t_mul) <= f) i += 1.0;
        else if (i > 0.0 && (1.0 - pow(t_mul, i)) / (1.0 - t_mul) > f) i -= 1.0;
        double sum_r = (1.0 - pow(t_mul, i)) / (1.0 - t_mul);
        frac = (f - sum_r) / pow(t_mul, i);
    }
    const double alpha = (double)s->alpha;
    double c = 0.5 * pow((double)s->m_mul, i) * (1.0 + cos(PI * frac));
    return (double)s->initial_learning_rate * ((1.0 - alpha) * c + alpha);
}

float nnc_schedule_value(const nnc_schedule *s, int64_t step_i) {
    const double step = (double)step_i, init = (double)s->initial_learning_rate;
    const double ds = (double)s->decay_steps;
    double lr = init;
    switch (s->kind) {
    case NNC_SCHEDULE_EXPONENTIAL_DECAY: {
        /* initial · decay_rate^p, p = step/decay_steps (floored when staircase) */
        double p = step / ds;
        if (s->staircase) p = floor(p);
        lr = init * pow((double)s->decay_rate, p);
        break;
    }
    case NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY: {
        /* values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
         * boundaries[i], values[n] after boundaries[n-1] */
        int i = 0;
        while (i < s->n_boundaries && step_i > s->boundaries[i]) i++;
        return s->values[i];
    }
    case NNC_SCHEDULE_POLYNOMIAL_DECAY: {
        /* (initial − end)·(1 − step/d)^power + end, with step = min(step, d); cycle: d is
         * decay_steps times ceil(step/decay_steps) (1 at step 0) and step is not capped */
        double d = ds, t = step;
        if (s->cycle) d = ds * (step == 0.0 ? 1.0 : ceil(step / ds));
        else t = t < ds ? t : ds;
        double end = (double)s->end_learning_rate;
        lr = (init - end) * pow(1.0 - t / d, (double)s->power) + end;
        break;
    }
    case NNC_SCHEDULE_INVERSE_TIME_DECAY: {
        /* initial / (1 + decay_rate·p), p = step/decay_steps (floored when staircase) */
        double p = step / ds;
        if (s->staircase) p = floor(p);
        lr = init / (1.0 + (double)s->decay_rate * p);
        break;
    }
    case NNC_SCHEDULE_COSINE_DECAY: {
        const double alpha = (double)s->alpha;
        if (!s->warmup) {
            lr = cosine(init, step < ds ? step : ds, ds, alpha);
            break;
        }
        /* linear warmup from initial to warmup_target over warmup_steps, then the cosine
         * decay from warmup_target; step capped at decay_steps + warmup_steps */
        const double ws = (double)s->warmup_steps, target = (double)s->warmup_target;
        double t = step < ds + ws ? step : ds + ws;
        lr = t < ws ? (target - init) * (t / ws) + init : cosine(target, t - ws, ds, alpha);
        break;
    }
    case NNC_SCHEDULE_COSINE_DECAY_RESTARTS: lr = restarts(s, step); break;
    default: break;
    }
    return (float)lr;
}
