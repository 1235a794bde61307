/* Synthetic data shared by the test suites (blobs.h). */
#include "blobs.h"
#include "core/rng.h"

void blobs(uint64_t seed, int n, float *x, float *y) {
    nnc_rng r;
    nnc_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int c = i % 3;
        y[i] = (float)c;
        for (int j = 0; j < 4; j++) x[i * 4 + j] = (float)(nnc_rng_normal(&r) * 0.7 + (j == c ? 2.0 : 0.0));
    }
}
