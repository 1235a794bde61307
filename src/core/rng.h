/* The model's random number generator: xoshiro256** (Blackman and Vigna, 2018), seeded through
 * splitmix64. Every model owns one, so two models never share a stream. */
#ifndef NNC_RNG_H
#define NNC_RNG_H
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} nnc_rng;

void nnc_rng_seed(nnc_rng *r, uint64_t seed);
uint64_t nnc_rng_next(nnc_rng *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable in float). */
double nnc_rng_uniform(nnc_rng *r);
/* Standard normal (Box–Muller, one value per call). */
double nnc_rng_normal(nnc_rng *r);
/* Uniform integer in [0, n) without modulo bias. */
uint64_t nnc_rng_below(nnc_rng *r, uint64_t n);

#endif
