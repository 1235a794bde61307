/* A layer's bias and activation computed inside its matrix multiply or convolution (the
 * fusion decided by src/core/fuse.c), and the bias gradient that BIAS_ADD shares with it.
 * The fused passes do the same float operations in the same order as the separate ops, so a
 * model gives bit-identical results with and without fusion (tests/test_fusion.c). */
#ifndef NNC_EPILOGUE_H
#define NNC_EPILOGUE_H

#include <stddef.h>
#include "op_util.h"
#include "../backend/cpu/kernels.h"

/* What the GEMM epilogue of node `id` needs; fill with nnc_epilogue_prepare. */
typedef struct {
    const float *bias; /* NULL: none */
    int has_act;
    nnc_activation act;
    float alpha;
    nnc_gemm_epilogue ep;
} nnc_epilogue;

/* NULL when node id has nothing fused, else &e->ep ready for nnc_gemm_par_ex. */
const nnc_gemm_epilogue *nnc_epilogue_prepare(const nnc_model *m, int id, nnc_epilogue *e);

/* Backward of the fused part of node id, before its own backward: its grad (the activation's
 * output gradient) becomes the gradient before the activation, in place, and the bias
 * gradient receives its column sums. */
void nnc_epilogue_backward(const nnc_exec *e, int id);

/* db[c] += Σ_rows g[rows, c], summed in row chunks fixed by the shape (so, over the pool, the
 * same bits with any thread count); the partial sums use the model's workspace. */
void nnc_bias_grad(const nnc_exec *e, const float *g, size_t rows, size_t c, float *db);
/* Workspace floats nnc_bias_grad needs for c columns. */
size_t nnc_bias_grad_work(size_t c);
/* Its last step, for ops that produce the rows piece by piece: the partial sums
 * partial[t·c + k] of the row chunks t (op_sum_chunk_rows) added up in chunk order, into db. */
void nnc_bias_grad_combine(const float *partial, size_t rows, size_t c, float *db);

#endif
