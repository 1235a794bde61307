/* nnc_quantize_int8: calibration and quantization of a trained model's Dense and Conv layers
 * (the int8 records are src/core/quant.h, the passes src/ops/quant.c).
 *
 * Each quantized layer's input gets one scale, max|x| / 127 over the calibration rows, with x
 * taken from the float model (every layer calibrated at once). Max-abs rather than a percentile:
 * nothing is clipped, so no input the calibration saw can saturate, and the inputs here are
 * pixels or ReLU outputs whose largest values are the ones that decide a class; the price is
 * resolution when a rare value is far above the rest, which the Fashion-MNIST networks do not
 * show (their int8 accuracy is within 0.2 points of float: docs/PERFORMANCE.md). The kernels'
 * per-channel scales are max|w| / 127 per output channel, so every weight is representable. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "train_impl.h"
#include "../core/quant.h"
#include "../backend/cpu/qgemm.h"

#define CALIBRATION_BATCH 256

static int count_bits(const nnc_model *m, int bits) {
    int n = 0;
    for (int q = 0; m && q < m->n_qlayers; q++) n += m->qlayers[q].bits == bits;
    return n;
}

int nnc_model_int8_layers(const nnc_model *m) { return count_bits(m, 8); }
int nnc_model_bf16_layers(const nnc_model *m) { return count_bits(m, 16); }

const char *nnc_layer_precision(const nnc_model *m, int i) {
    for (int q = 0; m && q < m->n_qlayers; q++)
        if (m->nodes[m->qlayers[q].node].layer == i) return m->qlayers[q].bits == 8 ? "int8" : "bf16";
    return "float32";
}

int nnc_layer_is_int8(const nnc_model *m, int i) { return !strcmp(nnc_layer_precision(m, i), "int8"); }

const char *nnc_int8_kernel(void) { return nnc_qgemm_variant_name(nnc_qgemm_best()); }

/* max|x| of each listed node's input over the rows, batch by batch in inference mode. */
static nnc_status calibrate(nnc_model *m, const float *x, size_t n, const int *ids, int k, float *maxabs) {
    const int bs = n < CALIBRATION_BATCH ? (int)n : CALIBRATION_BATCH;
    nnc_status st = nnc_train_plan(m, bs);
    if (st) return st;
    for (int i = 0; i < k; i++) maxabs[i] = 0.0f;
    for (size_t first = 0; first < n; first += (size_t)bs) {
        const int b = (int)(n - first < (size_t)bs ? n - first : (size_t)bs);
        nnc_gather_inputs(m, x, NULL, first, b);
        nnc_forward(m, b, 0);
        for (int i = 0; i < k; i++) {
            const nnc_node_rec *in = &m->nodes[m->nodes[ids[i]].in[0]];
            const size_t count = nnc_shape_size(&in->shape) * (in->batched ? (size_t)b : 1);
            float mx = maxabs[i];
            for (size_t j = 0; j < count; j++) mx = fmaxf(mx, fabsf(in->value[j]));
            maxabs[i] = mx;
        }
    }
    return NNC_OK;
}

/* What both schemes refuse: an uncompiled, quantized or untrained model. */
static nnc_status check_model(nnc_model *m) {
    if (!m) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "quantize: the model must be compiled first");
    if (m->n_qlayers) return nnc_fail(m, NNC_ERR_STATE, "quantize: the model is already quantized to %s",
                                            nnc_model_bf16_layers(m) ? "bf16" : "int8");
    if (!m->weights_loaded && m->train->iterations == 0 && m->train->epochs_done == 0)
        return nnc_fail(m, NNC_ERR_STATE, "quantize: the model is untrained (never fit, no weights loaded): "
                        "quantize a trained model");
    return NNC_OK;
}

nnc_status nnc_quantize_bf16(nnc_model *m) {
    nnc_status st = check_model(m);
    if (st) return st;
    if (!nnc_bf16_cpu_has())
        return nnc_fail(m, NNC_ERR_UNSUPPORTED, "quantize: bf16 needs a CPU with AVX512_BF16 (vdpbf16ps), which this "
                        "one lacks; int8 runs on any x86-64");
    float *backup = malloc(m->n_param_floats * sizeof *backup + 1);
    if (!backup) return nnc_fail(m, NNC_ERR_NOMEM, "quantize: out of memory");
    memcpy(backup, m->param_arena, m->n_param_floats * sizeof *backup);
    for (int i = 0; i < m->n_nodes && !st; i++)
        if (m->nodes[i].live && nnc_quant_worth(m, i)) st = nnc_quant_add_bf16(m, i, 0);
    if (!st && !m->n_qlayers)
        st = nnc_fail(m, NNC_ERR_UNSUPPORTED, "quantize: the model has no Dense or Conv layer that bf16 can run");
    if (!st) st = nnc_tape_build(m);
    if (st) {
        nnc_quant_clear(m);
        memcpy(m->param_arena, backup, m->n_param_floats * sizeof *backup);
        nnc_tape_build(m);
    }
    free(backup);
    return st;
}

nnc_status nnc_quantize_int8(nnc_model *m, const float *x, size_t n) {
    nnc_status st = check_model(m);
    if (st) return st;
    if (!x || n == 0) return nnc_fail(m, NNC_ERR_ARG, "quantize: no calibration rows");
    if ((st = nnc_check_data(m, x, NULL, n))) return st;
    int *ids = malloc((size_t)m->n_nodes * sizeof *ids);
    float *maxabs = malloc((size_t)m->n_nodes * sizeof *maxabs);
    float *backup = malloc(m->n_param_floats * sizeof *backup + 1);
    int k = 0;
    if (!ids || !maxabs || !backup) {
        st = nnc_fail(m, NNC_ERR_NOMEM, "quantize: out of memory");
        goto done;
    }
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].live && nnc_quant_worth(m, i)) ids[k++] = i;
    if (!k) {
        st = nnc_fail(m, NNC_ERR_UNSUPPORTED, "quantize: the model has no Dense or Conv layer that int8 can run");
        goto done;
    }
    if ((st = calibrate(m, x, n, ids, k, maxabs))) goto done;
    /* a failure half-way must leave the float model as it was */
    memcpy(backup, m->param_arena, m->n_param_floats * sizeof *backup);
    for (int i = 0; i < k && !st; i++)
        st = nnc_quant_add(m, ids[i], maxabs[i] > 0.0f ? maxabs[i] / 127.0f : 1.0f, NULL);
    if (!st) st = nnc_tape_build(m); /* a quantized convolution leaves the fused conv + pool op */
    if (st) {
        nnc_quant_clear(m);
        memcpy(m->param_arena, backup, m->n_param_floats * sizeof *backup);
        nnc_tape_build(m);
    }
done:
    free(ids);
    free(maxabs);
    free(backup);
    return st;
}
