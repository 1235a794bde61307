/* The int8 forward passes of quantized MATMUL and CONV nodes (quant.c; the records are
 * src/core/quant.h): the input is quantized into the shared workspace, multiplied by the packed
 * int8 kernel, and each finished block goes through the node's fused bias and activation in
 * float, as the float product's blocks do (src/ops/epilogue.c). */
#ifndef NNC_QUANT_OPS_H
#define NNC_QUANT_OPS_H
#include "op_util.h"
#include "../backend/cpu/kernels.h"

void nnc_qmatmul_forward(const nnc_exec *e, int id);
void nnc_qconv_forward(const nnc_exec *e, int id);
/* Examples b0..b0+nb of int8 convolution id into out (their first row), with the epilogue;
 * ws: nnc_qconv_ws_floats(m, id, nb) floats of workspace (the fused conv + pool op's group). */
void nnc_qconv_group(const nnc_exec *e, int id, int b0, int nb, float *ws, float *out,
                     const nnc_gemm_epilogue *ep);
size_t nnc_qconv_ws_floats(const nnc_model *m, int id, int examples);
/* Floats of the workspace the int8 pass of node id needs at this batch size. */
size_t nnc_qmatmul_work(const nnc_model *m, int id, int batch);
size_t nnc_qconv_work(const nnc_model *m, int id, int batch);

#endif
