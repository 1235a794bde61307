/* The genetic algorithm's operators, on plain vectors (tested directly). */
#ifndef NNC_TRAIN_SEARCH_H
#define NNC_TRAIN_SEARCH_H
#include <stddef.h>
#include "../core/rng.h"

/* The index of the fittest (lowest, NaN worst) of k members drawn uniformly, with replacement. */
int nnc_ga_tournament(const double *fitness, int n, int k, nnc_rng *r);
/* child[i] from a or b (uniform, blend 0) or uniform in [lo - alpha d, hi + alpha d] (blend). */
void nnc_ga_crossover(const float *a, const float *b, float *child, size_t n, int blend,
                      float alpha, nnc_rng *r);
/* Adds a Gaussian of `scale` to each weight with probability rate; returns how many. */
size_t nnc_ga_mutate(float *w, size_t n, float rate, float scale, nnc_rng *r);

#endif
