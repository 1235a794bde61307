/* nnc train --search: the command line's settings into nnc_search_opts. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

int cli_search_opts(const cli_search_args *a, int seed, int restarts, nnc_search_opts *s, char *err, size_t n) {
    nnc_search_kind kind;
    if (!strcmp(a->kind, "anneal")) kind = NNC_SEARCH_ANNEAL;
    else if (!strcmp(a->kind, "genetic")) kind = NNC_SEARCH_GENETIC;
    else if (!strcmp(a->kind, "restarts")) kind = NNC_SEARCH_RESTARTS;
    else return snprintf(err, n, "--search '%s': expected anneal, genetic or restarts", a->kind), -1;
    *s = nnc_search_opts_default(kind);
    s->seed = (uint64_t)seed;
    if (restarts > 1) s->restarts = restarts;
    if (a->refine_given) s->refine_epochs = a->refine;
    if (a->steps_given) s->steps = a->steps;
    if (a->t_start_given) s->t_start = a->t_start;
    if (a->t_end_given) s->t_end = a->t_end;
    if (a->step_scale_given) s->step_scale = (float)a->step_scale;
    if (a->population_given) s->population = a->population;
    if (a->generations_given) s->generations = a->generations;
    if (a->elitism_given) s->elitism = a->elitism;
    if (a->tournament_given) s->tournament = a->tournament;
    if (a->alpha_given) s->blend_alpha = (float)a->blend_alpha;
    if (a->rate_given) s->mutation_rate = (float)a->mutation_rate;
    if (a->scale_given) s->mutation_scale = (float)a->mutation_scale;
    if (a->cooling && !strcmp(a->cooling, "linear")) s->cooling = NNC_COOL_LINEAR;
    else if (a->cooling && strcmp(a->cooling, "geometric"))
        return snprintf(err, n, "--cooling '%s': expected geometric or linear", a->cooling), -1;
    if (a->crossover && !strcmp(a->crossover, "blend")) s->crossover = NNC_CROSSOVER_BLEND;
    else if (a->crossover && strcmp(a->crossover, "uniform"))
        return snprintf(err, n, "--crossover '%s': expected uniform or blend", a->crossover), -1;
    /* the checks the library makes, before any data is read */
    if (kind == NNC_SEARCH_ANNEAL && (!(s->t_start > 0.0) || !(s->t_end > 0.0)))
        return snprintf(err, n, "--t-start/--t-end %g: a temperature must be > 0", !(s->t_start > 0.0) ? s->t_start : s->t_end), -1;
    if (kind == NNC_SEARCH_GENETIC && s->population < 1)
        return snprintf(err, n, "--population %d: the population size must be at least 1", s->population), -1;
    return 0;
}
