/* Int8 inference (nnc_quantize_int8): the record of one quantized MATMUL or CONV node. The
 * graph is unchanged; such a node's forward multiplies int8 by int8 (src/ops/quant.c) instead
 * of float by float. Its float kernel parameter holds the dequantized weights q·scale exactly,
 * so that the model file, the summary and any reader of the parameters see what is computed. */
#ifndef NNC_QUANT_H
#define NNC_QUANT_H
#include <stdint.h>
#include "model_impl.h"

typedef struct nnc_qlayer {
    int node;          /* the MATMUL or CONV node */
    int bits;          /* 8: int8 (the fields below); 16: bf16 (k, n, lda in elements, wbf) */
    int k, n;          /* the product's reduction length and output columns */
    int lda;           /* bytes of one quantized input row (nnc_qrow_bytes) */
    int variant;       /* the int8 kernel this CPU runs (NNC_QGEMM_*), chosen once */
    float in_scale;    /* the input is quantized as round(x / in_scale), clamped to ±127 */
    float inv_in_scale;
    float *w_scale;    /* [n] per output channel: w ≈ w_scale[j]·q[k, j] */
    float *out_scale;  /* [n] in_scale·w_scale[j]: an int32 sum times it is the float product */
    int32_t *comp;     /* [n] 128·Σ_k q[k, j] (the zero point's share of each sum) */
    int8_t *wp;        /* the packed kernel (nnc_qpack) */
    uint16_t *wbf;     /* bf16: the packed kernel (nnc_bf16_pack) */
} nnc_qlayer;

/* Whether node id is a MATMUL or CONV that int8 can run: its second input is a kernel
 * parameter, one group, not depthwise. */
int nnc_quant_supported(const nnc_model *m, int id);
/* Whether nnc_quantize_int8 quantizes it: supported, and a product over at least 32 values. */
int nnc_quant_worth(const nnc_model *m, int id);
/* Quantizes node id's kernel per output channel with the given scales (NULL: max|w| / 127 per
 * channel) and records in_scale for its input; rewrites the float kernel as q·scale. Fails
 * (NNC_ERR_FORMAT) when given scales do not reproduce the kernel exactly (a damaged file). */
nnc_status nnc_quant_add(nnc_model *m, int id, float in_scale, const float *w_scale);
/* The bf16 form of node id (its float kernel rounded to bf16 and rewritten); with exact, a
 * kernel that is not already bf16 values is an error (a damaged file). */
nnc_status nnc_quant_add_bf16(nnc_model *m, int id, int exact);
/* Whether this CPU runs the bf16 product (AVX512_BF16). */
int nnc_quant_bf16_available(void);
/* The record of node id, NULL when it runs in float. */
const nnc_qlayer *nnc_quant_of(const nnc_model *m, int id);
/* Drops every record (the model runs in float again). */
void nnc_quant_clear(nnc_model *m);

#endif
