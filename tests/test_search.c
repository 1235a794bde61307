/* The searches for a better minimum (src/train/search.c): annealing's acceptance rule and
 * schedules, the genetic operators on small vectors, the best weights left in the model,
 * bit-identical weights for 1 and 3 threads, bad options as one-line errors, and
 * nnc train --search from the command line. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "shell.h"
#include "core/model_impl.h"
#include "core/rng.h"
#include "train/search.h"

static void rule_cases(test_run *r) {
    if (t_begin(r, "search: annealing accepts a worse candidate with probability exp(-delta/T)")) {
        CHECK(r, nnc_anneal_acceptance(-0.5, 0.1) == 1.0 && nnc_anneal_acceptance(0.0, 0.1) == 1.0, "not worse: always");
        CHECK(r, fabs(nnc_anneal_acceptance(0.1, 0.1) - exp(-1.0)) < 1e-15, "delta = T: 1/e");
        CHECK(r, nnc_anneal_acceptance((double)NAN, 1.0) == 0.0, "NaN: never");
        /* the rule as the search applies it: u < p with u uniform */
        nnc_rng g;
        nnc_rng_seed(&g, 3);
        int acc = 0, N = 100000;
        for (int i = 0; i < N; i++) acc += nnc_rng_uniform(&g) < nnc_anneal_acceptance(0.05, 0.1);
        double share = (double)acc / N, want = exp(-0.5);
        CHECK(r, fabs(share - want) < 0.01, "accepted %.4f of the draws, want %.4f", share, want);
        t_end(r);
    }
    if (t_begin(r, "search: geometric and linear cooling from t_start to t_end")) {
        nnc_search_opts s = nnc_search_opts_default(NNC_SEARCH_ANNEAL);
        s.t_start = 1.0, s.t_end = 0.01, s.steps = 3;
        CHECK(r, nnc_anneal_temperature(&s, 0) == 1.0 && fabs(nnc_anneal_temperature(&s, 1) - 0.1) < 1e-12 &&
                     fabs(nnc_anneal_temperature(&s, 2) - 0.01) < 1e-12, "geometric: 1, 0.1, 0.01");
        s.cooling = NNC_COOL_LINEAR;
        CHECK(r, fabs(nnc_anneal_temperature(&s, 1) - 0.505) < 1e-12, "linear: the midpoint 0.505");
        t_end(r);
    }
}

static void operator_cases(test_run *r) {
    nnc_rng g;
    nnc_rng_seed(&g, 11);
    if (t_begin(r, "search: tournament of 2 out of 4 picks the best with probability 7/16")) {
        double fit[4] = {0.3, 0.1, (double)NAN, 0.2};
        int best = 0, worst = 0, N = 100000;
        for (int i = 0; i < N; i++) {
            int w = nnc_ga_tournament(fit, 4, 2, &g);
            best += w == 1, worst += w == 2;
        }
        CHECK(r, fabs((double)best / N - 7.0 / 16.0) < 0.01, "best picked %.4f", (double)best / N);
        CHECK(r, fabs((double)worst / N - 1.0 / 16.0) < 0.005, "NaN (worst) picked %.4f, want 1/16", (double)worst / N);
        t_end(r);
    }
    enum { L = 20000 };
    float *a = malloc(3 * L * sizeof(float)), *b = a + L, *c = b + L;
    for (int i = 0; i < L; i++) a[i] = 1.0f, b[i] = 3.0f;
    if (t_begin(r, "search: uniform crossover takes each weight from either parent, half and half")) {
        nnc_ga_crossover(a, b, c, L, 0, 0.0f, &g);
        int from_a = 0, other = 0;
        for (int i = 0; i < L; i++) from_a += c[i] == 1.0f, other += c[i] != 1.0f && c[i] != 3.0f;
        CHECK(r, other == 0 && fabs((double)from_a / L - 0.5) < 0.02, "%d from a, %d from neither", from_a, other);
        t_end(r);
    }
    if (t_begin(r, "search: blend crossover stays in the widened range, centred on the parents")) {
        nnc_ga_crossover(a, b, c, L, 1, 0.5f, &g);
        double lo = 1e9, hi = -1e9, mean = 0.0;
        for (int i = 0; i < L; i++) lo = fmin(lo, (double)c[i]), hi = fmax(hi, (double)c[i]), mean += (double)c[i];
        mean /= L;
        CHECK(r, lo >= 0.0 && hi <= 4.0 && lo < 0.1 && hi > 3.9, "range [%g, %g], want [0, 4]", lo, hi);
        CHECK(r, fabs(mean - 2.0) < 0.03, "mean %g, want 2", mean);
        t_end(r);
    }
    if (t_begin(r, "search: mutation changes the rate's share of the weights by the scale")) {
        memcpy(c, a, L * sizeof(float));
        size_t k = nnc_ga_mutate(c, L, 0.1f, 0.5f, &g);
        double changed = 0, ss = 0.0;
        for (int i = 0; i < L; i++)
            if (c[i] != 1.0f) changed++, ss += ((double)c[i] - 1.0) * ((double)c[i] - 1.0);
        CHECK(r, fabs(changed / L - 0.1) < 0.01 && (size_t)changed == k, "%g changed (%zu counted), want 10%%", changed, k);
        CHECK(r, fabs(sqrt(ss / changed) - 0.5) < 0.03, "step sd %g, want 0.5", sqrt(ss / changed));
        CHECK(r, nnc_ga_mutate(c, L, 0.0f, 1.0f, &g) == 0 && nnc_ga_mutate(c, 100, 1.0f, 1.0f, &g) == 100, "rates 0 and 1");
        t_end(r);
    }
    free(a);
}

enum { N = 256, F = 64 };

static nnc_model *model(int hidden, int threads) {
    char spec[256];
    snprintf(spec, sizeof spec, "input %d\ndense %d activation=tanh\ndense 1 activation=sigmoid\n"
                                "loss binary_crossentropy\noptimizer sgd learning_rate=0.5\n", F, hidden);
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(spec, strlen(spec), "s.nnc", &e);
    if (m) nnc_model_set_threads(m, threads);
    return m;
}

static void data(float *x, float *y) {
    nnc_rng g;
    nnc_rng_seed(&g, 5);
    for (int i = 0; i < N * F; i++) x[i] = (float)nnc_rng_normal(&g);
    for (int i = 0; i < N; i++) y[i] = x[i * F] * x[i * F + 1] > 0.0f ? 1.0f : 0.0f; /* XOR of two signs */
}

/* Runs a search; the weights (malloc'd) and the loss of the model at the end. */
static float *search(test_run *r, const nnc_search_opts *s, int hidden, int threads, const float *x,
                     const float *y, nnc_history **h, double *loss) {
    nnc_model *m = model(hidden, threads);
    nnc_fit_opts o = nnc_fit_opts_default();
    o.verbose = 0, o.batch_size = N;
    float *w = NULL;
    if (CHECK(r, m && nnc_fit_search(m, x, y, N, &o, s, h) == NNC_OK, "search: %s", m ? nnc_last_error(m) : "build")) {
        w = malloc(m->n_param_floats * sizeof(float));
        memcpy(w, m->param_arena, m->n_param_floats * sizeof(float));
        nnc_logs l;
        nnc_evaluate(m, x, y, N, N, &l);
        *loss = nnc_logs_get(&l, "loss");
    }
    nnc_model_free(m);
    return w;
}

static void model_cases(test_run *r) {
    float *x = malloc(N * F * sizeof(float)), *y = malloc(N * sizeof(float));
    data(x, y);
    for (int kind = 0; kind < 2; kind++) {
        nnc_search_opts s = nnc_search_opts_default(kind ? NNC_SEARCH_GENETIC : NNC_SEARCH_ANNEAL);
        s.steps = 12, s.population = 5, s.generations = 3, s.refine_epochs = 1, s.seed = 9;
        const char *name = kind ? "genetic" : "anneal";
        if (t_begin(r, "search: %s gives bit-identical weights with 1 and 3 threads", name)) {
            double l1 = 0, l3 = 0;
            float *w1 = search(r, &s, 256, 1, x, y, NULL, &l1), *w3 = search(r, &s, 256, 3, x, y, NULL, &l3);
            CHECK(r, w1 && w3 && !memcmp(w1, w3, (F * 256 + 256 + 257) * sizeof(float)), "weights differ");
            free(w1), free(w3);
            t_end(r);
        }
        if (t_begin(r, "search: %s leaves the best weights seen, its history never worse", name)) {
            nnc_history *h = NULL;
            double loss = 0;
            s.refine_epochs = 0, s.steps = 60, s.generations = 6;
            float *w = search(r, &s, 4, 1, x, y, &h, &loss);
            int n = nnc_history_epochs(h), mono = 1;
            for (int e = 1; e < n; e++)
                mono &= nnc_logs_get(nnc_history_logs(h, e), "loss") <= nnc_logs_get(nnc_history_logs(h, e - 1), "loss");
            double last = n ? nnc_logs_get(nnc_history_logs(h, n - 1), "loss") : (double)NAN;
            CHECK(r, n == (kind ? 6 : 60) && mono, "%d entries, non-increasing %d", n, mono);
            CHECK(r, fabs(loss - last) < 1e-6, "the model's loss %.7f, the best seen %.7f", loss, last);
            nnc_history_free(h);
            free(w);
            t_end(r);
        }
    }
    if (t_begin(r, "search: a population of 0 and a temperature <= 0 are one-line errors")) {
        nnc_model *m = model(4, 1);
        nnc_search_opts s = nnc_search_opts_default(NNC_SEARCH_GENETIC);
        s.population = 0;
        float before = m ? m->param_arena[0] : 0.0f;
        CHECK(r, m && nnc_fit_search(m, x, y, N, NULL, &s, NULL) == NNC_ERR_ARG &&
                     strstr(nnc_last_error(m), "population size 0") && !strchr(nnc_last_error(m), '\n'),
              "population 0: %s", m ? nnc_last_error(m) : "");
        s = nnc_search_opts_default(NNC_SEARCH_ANNEAL);
        s.t_end = -1.0;
        CHECK(r, m && nnc_fit_search(m, x, y, N, NULL, &s, NULL) == NNC_ERR_ARG &&
                     strstr(nnc_last_error(m), "temperature -1, must be > 0"), "t_end -1: %s", m ? nnc_last_error(m) : "");
        CHECK(r, m && m->param_arena[0] == before, "the weights untouched");
        nnc_model_free(m);
        t_end(r);
    }
    free(x), free(y);
}

static void cli_cases(test_run *r) {
    if (!t_begin(r, "search: nnc train --search anneal|genetic|restarts runs; bad values are one-line errors")) return;
    char dir[] = "/tmp/nnc_search_XXXXXX";
    if (!CHECK(r, mkdtemp(dir) != NULL, "mkdtemp")) {
        t_end(r);
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "%s/s.nnc", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("input 4\ndense 3 activation=tanh\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n"
              "optimizer adam learning_rate=0.05\nmetrics accuracy\n", f);
        fclose(f);
    }
    static const struct { const char *args, *want; int status; } rows[] = {
        {"--search anneal --anneal-steps 40 --cooling linear", "Step 40/40 - ", 0},
        {"--search genetic --population 6 --generations 3 --crossover blend --refine-epochs 1", "Generation 3/3 - ", 0},
        {"--search restarts --restarts 2 --epochs 2", "restart 2/2 (seed 2)", 0},
        {"--search genetic --population 3 --generations 2 --json", "\n{\"generation\":2,\"loss\":", 0},
        {"--search genetic --population 0", "nnc train: --population 0: the population size must be at least 1\n", 1},
        {"--search anneal --t-start 0", "nnc train: --t-start/--t-end 0: a temperature must be > 0\n", 1},
        {"--search hill", "nnc train: --search 'hill': expected anneal, genetic or restarts\n", 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "nnc train s.nnc --data iris --seed 1 --history h.csv %s", rows[i].args);
        int st = -1;
        char *out = t_shell(dir, cmd, &st);
        int ok = out && (rows[i].status ? !strcmp(out, rows[i].want) : strstr(out, rows[i].want) != NULL);
        CHECK(r, ok && (st == 0) == (rows[i].status == 0), "'%s': status %d:\n%s", rows[i].args, st, out ? out : "");
        free(out);
    }
    int st;
    char *out = t_shell(dir, "head -1 h.csv; nnc train s.nnc --data iris --search anneal --anneal-steps 5 --threads 1 "
                             "--json --save a.safetensors && nnc train s.nnc --data iris --search anneal --anneal-steps 5 "
                             "--threads 2 --json --save b.safetensors && cmp a.safetensors b.safetensors && echo same", &st);
    CHECK(r, out && strstr(out, "same") && strstr(out, "loss"), "history and the same weights for 1 and 2 threads: %s", out ? out : "");
    free(out);
    char rm[96];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    free(t_shell("/tmp", rm, &st));
    t_end(r);
}

/* The study runs and prints its table: 1 seed, 50 with --slow (about 30 s). */
static void study_case(test_run *r) {
    if (!t_begin(r, "search: example_local_minima prints its table (--slow: 50 seeds)")) return;
    char bin[1024], cmd[1100];
    snprintf(bin, sizeof bin, "%s/example_local_minima", NNC_BINARY_DIR);
    snprintf(cmd, sizeof cmd, "%s %d", bin, t_slow(r) ? 50 : 1);
    if (access(bin, X_OK)) {
        t_skip(r, "example not built (NNC_BUILD_EXAMPLES=OFF)");
        return;
    }
    int st = -1;
    char *out = t_shell("/tmp", cmd, &st);
    int rows = 0;
    for (const char *p = out; p && (p = strstr(p, "\n| ")); p++) rows++;
    CHECK(r, st == 0 && rows == 21, "status %d, %d rows:\n%s", st, rows, out ? out : "");
    free(out);
    t_end(r);
}

void suite_search(test_run *r);
void suite_search(test_run *r) {
    rule_cases(r);
    operator_cases(r);
    model_cases(r);
    cli_cases(r);
    study_case(r);
}
