/* Searches for a better minimum than one gradient descent finds (the course, section 7):
 * simulated annealing and a genetic algorithm over the weight vector, each optionally refined
 * by a few gradient epochs, and the restarts of fit.c behind one entry. Candidates are
 * evaluated one after the other; each pass uses the model's thread pool inside, whose results
 * do not depend on the thread count, so a seed gives bit-identical weights for any count. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "train_impl.h"
#include "search.h"

nnc_search_opts nnc_search_opts_default(nnc_search_kind kind) {
    nnc_search_opts s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.seed = 42;
    s.restarts = 5;
    s.steps = 300;
    s.t_start = 0.1;
    s.t_end = 0.0001;
    s.cooling = NNC_COOL_GEOMETRIC;
    s.step_scale = 0.1f;
    s.population = 20;
    s.generations = 30;
    s.elitism = 2;
    s.tournament = 3;
    s.crossover = NNC_CROSSOVER_UNIFORM;
    s.blend_alpha = 0.5f;
    s.mutation_rate = 0.1f;
    s.mutation_scale = 0.3f;
    return s;
}

double nnc_anneal_acceptance(double delta, double temperature) {
    if (!(delta > 0.0)) return isnan(delta) ? 0.0 : 1.0;
    if (!(temperature > 0.0)) return 0.0;
    return exp(-delta / temperature);
}

double nnc_anneal_temperature(const nnc_search_opts *s, int k) {
    if (s->steps <= 1) return s->t_start;
    double f = (double)k / (double)(s->steps - 1);
    if (s->cooling == NNC_COOL_LINEAR) return s->t_start + (s->t_end - s->t_start) * f;
    return s->t_start * pow(s->t_end / s->t_start, f);
}

static double fit_value(double v) { return isnan(v) ? (double)INFINITY : v; }

int nnc_ga_tournament(const double *fitness, int n, int k, nnc_rng *r) {
    int best = (int)nnc_rng_below(r, (uint64_t)n);
    for (int i = 1; i < k; i++) {
        int c = (int)nnc_rng_below(r, (uint64_t)n);
        if (fit_value(fitness[c]) < fit_value(fitness[best]) ||
            (fit_value(fitness[c]) == fit_value(fitness[best]) && c < best))
            best = c;
    }
    return best;
}

void nnc_ga_crossover(const float *a, const float *b, float *child, size_t n, int blend,
                      float alpha, nnc_rng *r) {
    for (size_t i = 0; i < n; i++) {
        if (!blend) {
            child[i] = nnc_rng_uniform(r) < 0.5 ? a[i] : b[i];
            continue;
        }
        double lo = a[i] < b[i] ? (double)a[i] : (double)b[i], hi = a[i] < b[i] ? (double)b[i] : (double)a[i];
        double d = hi - lo;
        child[i] = (float)(lo - (double)alpha * d + nnc_rng_uniform(r) * (1.0 + 2.0 * (double)alpha) * d);
    }
}

size_t nnc_ga_mutate(float *w, size_t n, float rate, float scale, nnc_rng *r) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (nnc_rng_uniform(r) < (double)rate) {
            w[i] += (float)((double)scale * nnc_rng_normal(r));
            k++;
        }
    return k;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* What a search works with: the rows that train, the rows that judge, scratch options. */
typedef struct {
    nnc_model *m;
    const nnc_fit_opts *o;
    const nnc_search_opts *s;
    const float *x, *y, *vx, *vy;
    size_t n, vn, xw, yw, slot_floats;
    nnc_fit_opts refine;
    nnc_rng rng;
    FILE *out;
    double t0;
    nnc_history *h;
} search_ctx;

static nnc_status check_search(nnc_model *m, const nnc_search_opts *s) {
    const char *k = s->kind == NNC_SEARCH_ANNEAL ? "anneal" : "genetic";
    if (s->kind == NNC_SEARCH_RESTARTS) return NNC_OK;
    if (s->refine_epochs < 0) return nnc_fail(m, NNC_ERR_ARG, "%s: refine epochs %d, must be >= 0", k, s->refine_epochs);
    if (s->kind == NNC_SEARCH_ANNEAL) {
        if (!(s->t_start > 0.0) || !(s->t_end > 0.0))
            return nnc_fail(m, NNC_ERR_ARG, "anneal: temperature %g, must be > 0",
                            !(s->t_start > 0.0) ? s->t_start : s->t_end);
        if (s->steps < 1) return nnc_fail(m, NNC_ERR_ARG, "anneal: %d steps, need at least 1", s->steps);
        if (!(s->step_scale > 0.0f)) return nnc_fail(m, NNC_ERR_ARG, "anneal: step scale %g, must be > 0", (double)s->step_scale);
        return NNC_OK;
    }
    if (s->kind != NNC_SEARCH_GENETIC) return nnc_fail(m, NNC_ERR_ARG, "search: unknown kind %d", (int)s->kind);
    if (s->population < 1) return nnc_fail(m, NNC_ERR_ARG, "genetic: population size %d, need at least 1", s->population);
    if (s->generations < 1) return nnc_fail(m, NNC_ERR_ARG, "genetic: %d generations, need at least 1", s->generations);
    if (s->elitism < 0 || s->elitism > s->population)
        return nnc_fail(m, NNC_ERR_ARG, "genetic: elitism %d, must be 0..%d (the population)", s->elitism, s->population);
    if (s->tournament < 1) return nnc_fail(m, NNC_ERR_ARG, "genetic: tournament size %d, need at least 1", s->tournament);
    if (!(s->mutation_rate >= 0.0f && s->mutation_rate <= 1.0f))
        return nnc_fail(m, NNC_ERR_ARG, "genetic: mutation rate %g, must be in [0, 1]", (double)s->mutation_rate);
    if (!(s->mutation_scale >= 0.0f)) return nnc_fail(m, NNC_ERR_ARG, "genetic: mutation scale %g, must be >= 0", (double)s->mutation_scale);
    if (!(s->blend_alpha >= 0.0f)) return nnc_fail(m, NNC_ERR_ARG, "genetic: blend alpha %g, must be >= 0", (double)s->blend_alpha);
    return NNC_OK;
}

/* The loss of the model's weights on the judging rows; +inf when not finite. */
static nnc_status judge(search_ctx *c, double *loss) {
    nnc_logs l;
    nnc_status st = nnc_evaluate(c->m, c->vx, c->vy, c->vn, c->o->batch_size, &l);
    if (st) return st;
    *loss = fit_value(nnc_logs_get(&l, "loss"));
    if (!isfinite(*loss)) *loss = (double)INFINITY;
    return NNC_OK;
}

/* A few gradient epochs from the model's weights, the optimizer state cleared first. */
static nnc_status refine(search_ctx *c) {
    if (c->s->refine_epochs < 1) return NNC_OK;
    memset(c->m->train->opt_slots, 0, c->slot_floats * sizeof(float));
    c->m->train->iterations = 0;
    c->m->train->epochs_done = 0;
    nnc_status st = nnc_fit(c->m, c->x, c->y, c->n, &c->refine, NULL);
    return st == NNC_ERR_NUMERIC ? NNC_OK : st; /* a diverging child: judged as it is */
}

static nnc_status search_setup(search_ctx *c, nnc_model *m, const float *x, const float *y, size_t n,
                               const nnc_fit_opts *o, const nnc_search_opts *s) {
    memset(c, 0, sizeof *c);
    c->m = m, c->o = o, c->s = s, c->x = x, c->y = y, c->n = n;
    c->xw = nnc_input_size(m), c->yw = nnc_target_size(m);
    c->vx = x, c->vy = y, c->vn = n;
    if (o->validation_x && o->validation_y && o->validation_n) {
        c->vx = o->validation_x, c->vy = o->validation_y, c->vn = o->validation_n;
    } else if (o->validation_split > 0.0f) {
        size_t keep = (size_t)ceil((double)n * (1.0 - (double)o->validation_split));
        if (keep < 1 || keep >= n) return nnc_fail(m, NNC_ERR_ARG, "search: validation split %g leaves no rows", (double)o->validation_split);
        c->n = keep, c->vx = x + keep * c->xw, c->vy = y + keep * c->yw, c->vn = n - keep;
    }
    c->slot_floats = (m->n_trainable_floats + 1) * (size_t)(m->train->n_slots ? m->train->n_slots : 1);
    c->refine = *o;
    c->refine.epochs = s->refine_epochs > 0 ? s->refine_epochs : 1;
    c->refine.initial_epoch = 0;
    c->refine.validation_split = 0.0f;
    c->refine.validation_x = c->refine.validation_y = NULL;
    c->refine.validation_n = 0;
    c->refine.verbose = 0;
    c->refine.on_epoch_end = NULL;
    c->refine.on_batch_end = NULL;
    c->refine.callbacks = NULL;
    c->refine.n_callbacks = 0;
    nnc_rng_seed(&c->rng, s->seed ^ 0x5ea4c4a11ea1ULL);
    c->out = o->out ? o->out : stdout;
    c->t0 = now_s();
    return NNC_OK;
}

/* One progress line when verbose asks for step k of n. */
static int wants_line(const search_ctx *c, int k, int n) {
    if (c->o->verbose >= 2) return 1;
    if (c->o->verbose < 1) return 0;
    int every = n > 20 ? n / 20 : 1;
    return k == 0 || (k + 1) % every == 0 || k == n - 1;
}

static nnc_status log_step(search_ctx *c, const char *what, int k, int n, double best, double cur,
                           const char *cur_name, double temp, double accepted) {
    nnc_logs l = {0};
    nnc_logs_set(&l, "loss", best);
    nnc_logs_set(&l, cur_name, cur);
    if (!isnan(temp)) nnc_logs_set(&l, "temperature", temp);
    if (!isnan(accepted)) nnc_logs_set(&l, "accepted", accepted);
    if (c->h && nnc_history_append(c->h, &l)) return nnc_fail(c->m, NNC_ERR_NOMEM, "search: out of memory");
    if (wants_line(c, k, n)) {
        fprintf(c->out, "%s %d/%d - %.2fs - best_loss: %.4f - %s: %.4f", what, k + 1, n, now_s() - c->t0,
                best, cur_name, cur);
        if (!isnan(temp)) fprintf(c->out, " - temperature: %.4g - accepted: %.2f", temp, accepted);
        fputc('\n', c->out);
        fflush(c->out);
    }
    return NNC_OK;
}

static int interrupted(const search_ctx *c) { return c->o->interrupt && *c->o->interrupt; }

static nnc_status anneal(search_ctx *c, float *cur, float *best) {
    nnc_model *m = c->m;
    const size_t np = m->n_param_floats, nt = m->n_trainable_floats;
    double cur_loss, best_loss;
    nnc_status st = nnc_reinitialize(m, c->s->seed);
    if (st || (st = refine(c)) || (st = judge(c, &cur_loss))) return st;
    memcpy(cur, m->param_arena, np * sizeof(float));
    memcpy(best, cur, np * sizeof(float));
    best_loss = cur_loss;
    int accepted = 0;
    for (int k = 0; k < c->s->steps && !interrupted(c); k++) {
        const double T = nnc_anneal_temperature(c->s, k);
        memcpy(m->param_arena, cur, np * sizeof(float));
        for (size_t i = 0; i < nt; i++)
            m->param_arena[i] += (float)((double)c->s->step_scale * nnc_rng_normal(&c->rng));
        double loss;
        if ((st = refine(c)) || (st = judge(c, &loss))) return st;
        const double u = nnc_rng_uniform(&c->rng);
        if (u < nnc_anneal_acceptance(loss - cur_loss, T)) {
            memcpy(cur, m->param_arena, np * sizeof(float));
            cur_loss = loss;
            accepted++;
            if (loss < best_loss) {
                best_loss = loss;
                memcpy(best, cur, np * sizeof(float));
            }
        }
        if ((st = log_step(c, "Step", k, c->s->steps, best_loss, cur_loss, "current_loss", T,
                           (double)accepted / (double)(k + 1))))
            return st;
    }
    return NNC_OK;
}

/* Indices of the population by fitness, best first (ties: the lower index). */
static void rank(const double *fit, int *order, int n) {
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i;
        while (j > 0 && (fit[order[j - 1]] > fit[v] || (fit[order[j - 1]] == fit[v] && order[j - 1] > v))) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

static nnc_status evaluate_member(search_ctx *c, float *w, double *fit) {
    memcpy(c->m->param_arena, w, c->m->n_param_floats * sizeof(float));
    nnc_status st = refine(c);
    if (st || (st = judge(c, fit))) return st;
    memcpy(w, c->m->param_arena, c->m->n_param_floats * sizeof(float)); /* Lamarckian: refined weights kept */
    return NNC_OK;
}

static nnc_status genetic(search_ctx *c, float *pop, float *next, double *fit, double *nfit, int *order,
                          float *best) {
    nnc_model *m = c->m;
    const nnc_search_opts *s = c->s;
    const size_t np = m->n_param_floats, nt = m->n_trainable_floats;
    const int P = s->population;
    nnc_status st;
    for (int i = 0; i < P; i++) {
        if ((st = nnc_reinitialize(m, s->seed + (uint64_t)i))) return st;
        memcpy(pop + (size_t)i * np, m->param_arena, np * sizeof(float));
        if ((st = evaluate_member(c, pop + (size_t)i * np, &fit[i]))) return st;
    }
    for (int g = 0; g < s->generations && !interrupted(c); g++) {
        rank(fit, order, P);
        int i = 0;
        for (; i < s->elitism; i++) {
            memcpy(next + (size_t)i * np, pop + (size_t)order[i] * np, np * sizeof(float));
            nfit[i] = fit[order[i]];
        }
        for (; i < P; i++) {
            const float *a = pop + (size_t)nnc_ga_tournament(fit, P, s->tournament, &c->rng) * np;
            const float *b = pop + (size_t)nnc_ga_tournament(fit, P, s->tournament, &c->rng) * np;
            float *child = next + (size_t)i * np;
            memcpy(child, a, np * sizeof(float)); /* the state (not trained) from the first parent */
            nnc_ga_crossover(a, b, child, nt, s->crossover == NNC_CROSSOVER_BLEND, s->blend_alpha, &c->rng);
            nnc_ga_mutate(child, nt, s->mutation_rate, s->mutation_scale, &c->rng);
            if ((st = evaluate_member(c, child, &nfit[i]))) return st;
        }
        memcpy(pop, next, (size_t)P * np * sizeof(float));
        memcpy(fit, nfit, (size_t)P * sizeof(double));
        rank(fit, order, P);
        double mean = 0.0;
        for (int j = 0; j < P; j++) mean += fit[j];
        if ((st = log_step(c, "Generation", g, s->generations, fit[order[0]], mean / P, "mean_loss", (double)NAN,
                           (double)NAN)))
            return st;
    }
    rank(fit, order, P);
    memcpy(best, pop + (size_t)order[0] * np, np * sizeof(float));
    return NNC_OK;
}

static nnc_status run_genetic(search_ctx *c, float *best) {
    const size_t np = c->m->n_param_floats, P = (size_t)c->s->population;
    float *pop = malloc(2 * P * np * sizeof(float) + 1);
    double *fit = malloc(2 * P * sizeof(double));
    int *order = malloc(P * sizeof(int));
    nnc_status st = pop && fit && order ? genetic(c, pop, pop + P * np, fit, fit + P, order, best)
                                        : nnc_fail(c->m, NNC_ERR_NOMEM, "genetic: out of memory");
    free(pop);
    free(fit);
    free(order);
    return st;
}

nnc_status nnc_fit_search(nnc_model *m, const float *x, const float *y, size_t n,
                          const nnc_fit_opts *o, const nnc_search_opts *s, nnc_history **history) {
    if (!m) return NNC_ERR_ARG;
    if (!m->train) return nnc_fail(m, NNC_ERR_STATE, "search: the model is not compiled");
    if (!s) return nnc_fail(m, NNC_ERR_ARG, "search: no options");
    if (nnc_require_float(m, "search")) return NNC_ERR_STATE;
    nnc_fit_opts def = nnc_fit_opts_default();
    if (!o) o = &def;
    nnc_status st = check_search(m, s);
    if (st) return st;
    if (s->kind == NNC_SEARCH_RESTARTS) {
        nnc_fit_opts r = *o;
        if (s->refine_epochs > 0) r.epochs = s->refine_epochs;
        return nnc_fit_restarts(m, x, y, n, &r, s->restarts, s->seed, history);
    }
    if (!x || !y || n == 0) return nnc_fail(m, NNC_ERR_ARG, "search: no training data");
    if (o->batch_size < 1) return nnc_fail(m, NNC_ERR_ARG, "search: batch size %d, must be >= 1", o->batch_size);
    if ((st = nnc_check_data(m, x, y, n))) return st;
    search_ctx c;
    if ((st = search_setup(&c, m, x, y, n, o, s))) return st;
    float *work = malloc(2 * m->n_param_floats * sizeof(float) + 1);
    if (!work || (history && !(c.h = nnc_history_new()))) {
        free(work);
        return nnc_fail(m, NNC_ERR_NOMEM, "search: out of memory");
    }
    float *best = work + m->n_param_floats;
    st = s->kind == NNC_SEARCH_ANNEAL ? anneal(&c, work, best) : run_genetic(&c, best);
    if (st == NNC_OK || st == NNC_ERR_INTERRUPTED) { /* the best weights seen, fresh optimizer state */
        memcpy(m->param_arena, best, m->n_param_floats * sizeof(float));
        memset(m->train->opt_slots, 0, c.slot_floats * sizeof(float));
        m->train->iterations = 0;
        if (interrupted(&c)) st = NNC_ERR_INTERRUPTED;
    }
    free(work);
    if (history) *history = c.h;
    else nnc_history_free(c.h);
    return st;
}
