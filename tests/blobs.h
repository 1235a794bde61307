/* Synthetic data shared by the test suites. */
#ifndef NNC_TEST_BLOBS_H
#define NNC_TEST_BLOBS_H
#include <stdint.h>

/* A small classification problem: n rows of 3 gaussian blobs in 4-D (row i is class i % 3,
 * centred 2 along axis i % 3, σ 0.7), x [n, 4] and the labels y [n], from seed. */
void blobs(uint64_t seed, int n, float *x, float *y);

#endif
