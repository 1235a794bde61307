/* Regularization penalties (Keras's kernel_, bias_ and activity_regularizer): what each adds to
 * the loss and to the gradients. Compile gathers them from the layers (src/train/compile.c);
 * every step applies them with the loss. */
#ifndef NNC_PENALTIES_H
#define NNC_PENALTIES_H
#include "../core/model_impl.h"

typedef struct {
    int node;          /* a PARAM node (weight penalty) or a layer output (activity) */
    nnc_regularizer r;
} nnc_penalty;

/* Adds l1·Σ|v| + l2·Σv² of each penalised node over a batch of n rows (a weight, or a layer's
 * output for the whole batch) and returns the sum; with with_grad, its gradient times seed goes
 * straight into the variable's gradient, or into the output's so that backward carries it on. */
double nnc_penalties_apply(nnc_model *m, const nnc_penalty *p, int count, int n, int with_grad,
                           float seed);

#endif
