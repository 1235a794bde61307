/* local_minima.c: the course's remedies for local minima, side by side (section 7: "train
 * several networks from different random initial values and keep the best; simulated
 * annealing; stochastic gradient descent; genetic algorithms. All are heuristics").
 *
 * Three problems with known bad local minima, each trained from `seeds` seeds by five methods,
 * counting the runs that reach the global minimum, defined per problem:
 *   xor      4 points, 2 -> Dense 2 sigmoid -> 1 sigmoid (the smallest net that can solve
 *            XOR; it has plateaus and local minima): reached = all 4 points right (p > 0.5
 *            for label 1) and the BCE loss < 0.05.
 *   spirals  two interleaved spirals, 2 x 48 points, 1.25 turns each, 2 -> Dense 8 tanh ->
 *            1 sigmoid: reached = training accuracy >= 0.99.
 *   digits01 the bundled digits_01 (360 images, 0 or 1), a seeded 20% held out, 64 ->
 *            Dense 1 sigmoid (a one-unit hidden layer) -> 1 sigmoid: reached = test
 *            accuracy >= 0.99.
 * Methods (E = the problem's epoch count; every optimizer is the spec's, the search's own
 * settings are in the table below):
 *   gd        full-batch gradient descent, E epochs (one update per epoch);
 *   sgd       mini-batches of the problem's small batch size, E epochs;
 *   restarts  5 gd runs (seeds s..s+4), the lowest final loss kept: 5 E epochs;
 *   anneal    simulated annealing over the weights: 16 steps, each a Gaussian step on every
 *             weight then E/4 gd epochs, accepted by exp(-delta/T), T 0.05 -> 0.0005
 *             geometric; the start refined by E/4 epochs too: 17 E/4 epochs;
 *   genetic   8 members, 4 generations, elitism 2, tournament 3, uniform crossover, mutation
 *             rate 0.1 scale 0.5, every member refined by E/8 gd epochs: 4 E epochs;
 *   anneal, no gradient   the pure search: 4 E steps of a fifth of the problem's step scale;
 *   genetic, no gradient  20 members, E/5 generations (about 4 E evaluations).
 * Each run starts from the same initial seed s (1000 + 10 i for run i), fitness is the training
 * loss. Prints one line per problem and method: runs reaching the global minimum, their share,
 * the mean wall time per run and the median final training loss.
 *
 * Usage: example_local_minima [seeds (50)] [threads (1)]
 * Exits 0 when every method ran; the numbers are the result, not a pass mark.
 */
#define _POSIX_C_SOURCE 200809L
#include <nnc.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name, *spec;
    int epochs, small_batch;
    float step_scale;
    const float *x, *y, *tx, *ty; /* training rows; test rows (digits01) */
    size_t n, tn;
} problem;

enum { GD, SGD, RESTARTS, ANNEAL, GENETIC, ANNEAL_PURE, GENETIC_PURE, METHODS };
static const char *const method_names[METHODS] = {"gd", "sgd", "restarts", "anneal", "genetic", "anneal, no gradient",
                                                  "genetic, no gradient"};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Trains one run; returns 1 when it reaches the global minimum, 0 when not, -1 on an error. */
static int run(const problem *p, int method, uint64_t seed, int threads, double *loss) {
    nnc_error e = {""};
    nnc_model *m = nnc_model_from_spec_text(p->spec, strlen(p->spec), p->name, &e);
    if (!m) {
        fprintf(stderr, "%s: %s\n", p->name, e.message);
        return -1;
    }
    nnc_model_set_threads(m, threads);
    nnc_model_set_seed(m, seed);
    nnc_fit_opts o = nnc_fit_opts_default();
    o.verbose = 0;
    o.epochs = p->epochs;
    o.batch_size = method == SGD ? p->small_batch : (int)p->n;
    nnc_search_opts s = nnc_search_opts_default(method == RESTARTS                          ? NNC_SEARCH_RESTARTS
                                                : method == ANNEAL || method == ANNEAL_PURE ? NNC_SEARCH_ANNEAL
                                                                                            : NNC_SEARCH_GENETIC);
    s.seed = seed;
    s.restarts = 5;
    s.steps = 16, s.t_start = 0.05, s.t_end = 0.0005, s.step_scale = p->step_scale;
    s.population = 8, s.generations = 4, s.elitism = 2, s.tournament = 3;
    s.mutation_rate = 0.1f, s.mutation_scale = 0.5f;
    s.refine_epochs = method == RESTARTS ? p->epochs : method == ANNEAL ? p->epochs / 4 : p->epochs / 8;
    if (method == ANNEAL_PURE) s.steps = 4 * p->epochs, s.refine_epochs = 0, s.step_scale = p->step_scale / 5;
    if (method == GENETIC_PURE) s.population = 20, s.generations = p->epochs / 5, s.refine_epochs = 0;
    nnc_status st = method <= SGD ? nnc_fit(m, p->x, p->y, p->n, &o, NULL)
                                  : nnc_fit_search(m, p->x, p->y, p->n, &o, &s, NULL);
    nnc_logs tr, te;
    if (st || nnc_evaluate(m, p->x, p->y, p->n, (int)p->n, &tr) ||
        (p->tn && nnc_evaluate(m, p->tx, p->ty, p->tn, (int)p->tn, &te))) {
        fprintf(stderr, "%s/%s: %s\n", p->name, method_names[method], nnc_last_error(m));
        nnc_model_free(m);
        return -1;
    }
    *loss = nnc_logs_get(&tr, "loss");
    double acc = nnc_logs_get(p->tn ? &te : &tr, "accuracy");
    nnc_model_free(m);
    if (!strcmp(p->name, "xor")) return acc >= 1.0 && *loss < 0.05;
    return acc >= 0.99;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int study(const problem *p, int seeds, int threads) {
    double *losses = malloc((size_t)seeds * sizeof(double));
    if (!losses) return 1;
    for (int k = 0; k < METHODS; k++) {
        int reached = 0;
        double t0 = now_s();
        for (int i = 0; i < seeds; i++) {
            int ok = run(p, k, 1000 + 10 * (uint64_t)i, threads, &losses[i]);
            if (ok < 0) {
                free(losses);
                return 1;
            }
            reached += ok;
        }
        double ms = 1000.0 * (now_s() - t0) / seeds;
        qsort(losses, (size_t)seeds, sizeof(double), cmp_double);
        printf("| %s | %s | %d/%d | %.2f | %.1f | %.4f |\n", p->name, method_names[k], reached, seeds,
               (double)reached / seeds, ms, losses[seeds / 2]);
        fflush(stdout);
    }
    free(losses);
    return 0;
}

#define SPIRAL_POINTS 48

static void spirals(float *x, float *y) {
    const double pi = 3.14159265358979323846;
    for (int i = 0; i < SPIRAL_POINTS; i++) {
        double f = (double)i / (SPIRAL_POINTS - 1), th = f * 2.5 * pi, r = 0.15 + 0.85 * f;
        for (int c = 0; c < 2; c++) {
            int row = 2 * i + c;
            x[2 * row] = (float)((c ? -r : r) * cos(th));
            x[2 * row + 1] = (float)((c ? -r : r) * sin(th));
            y[row] = (float)c;
        }
    }
}

int main(int argc, char **argv) {
    int seeds = argc > 1 ? atoi(argv[1]) : 50, threads = argc > 2 ? atoi(argv[2]) : 1;
    if (seeds < 1 || threads < 1) {
        fprintf(stderr, "usage: example_local_minima [seeds >= 1] [threads >= 1]\n");
        return 2;
    }
    static const float xor_x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, xor_y[4] = {0, 1, 1, 0};
    static float sx[4 * SPIRAL_POINTS], sy[2 * SPIRAL_POINTS];
    spirals(sx, sy);
    nnc_dataset all, train, test;
    nnc_error e = {""};
    if (nnc_dataset_load("digits_01", 0, &all, &e) || nnc_dataset_split(&all, 0.2, 1, &train, &test, &e)) {
        fprintf(stderr, "local_minima: %s\n", e.message);
        return 1;
    }
    const problem problems[] = {
        {"xor",
         "input 2\ndense 2 activation=sigmoid\ndense 1 activation=sigmoid\nloss binary_crossentropy\n"
         "optimizer sgd learning_rate=2\nmetrics accuracy\n",
         2000, 1, 1.0f, xor_x, xor_y, NULL, NULL, 4, 0},
        {"spirals",
         "input 2\ndense 8 activation=tanh\ndense 1 activation=sigmoid\nloss binary_crossentropy\n"
         "optimizer adam learning_rate=0.05\nmetrics accuracy\n",
         1500, 8, 0.5f, sx, sy, NULL, NULL, 2 * SPIRAL_POINTS, 0},
        {"digits01",
         "input 64\nrescaling 0.0625\ndense 1 activation=sigmoid\ndense 1 activation=sigmoid\n"
         "loss binary_crossentropy\noptimizer sgd learning_rate=1\nmetrics accuracy\n",
         100, 8, 0.5f, train.x, train.y, test.x, test.y, train.n, test.n},
    };
    printf("| Problem | Method | Reached | Share | ms per run | Median loss |\n|---|---|---|---|---|---|\n");
    int rc = 0;
    double t0 = now_s();
    for (size_t i = 0; i < sizeof problems / sizeof problems[0] && !rc; i++) rc = study(&problems[i], seeds, threads);
    printf("\n%d seeds, %d thread(s), %.1f s in all\n", seeds, threads, now_s() - t0);
    nnc_dataset_free(&all);
    nnc_dataset_free(&train);
    nnc_dataset_free(&test);
    return rc;
}
