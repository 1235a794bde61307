/* The table of elementwise activations (src/ops/activation.c). */
#ifndef NNC_ACTIVATION_H
#define NNC_ACTIVATION_H
#include <stddef.h>
#include "nnc.h"

typedef struct {
    const char *name;
    float (*f)(float x);
    float (*df)(float x, float y); /* derivative at x, given y = f(x) */
} nnc_activation_def;

extern const nnc_activation_def nnc_activation_table[NNC_ACT_COUNT];

/* y[i] = f(x[i]) for an elementwise activation (alpha: leaky_relu's slope); y may equal x. */
void nnc_act_apply(nnc_activation act, float alpha, const float *x, float *y, size_t n);

#endif
