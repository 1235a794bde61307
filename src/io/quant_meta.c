/* The model file's "quantization" metadata (docs/FORMAT.md): for an int8 model, each
 * quantized layer's input scale and per-channel kernel scales. The kernels themselves stay F32
 * tensors holding q·scale exactly, so the file loads as any model file; reading it back
 * recovers q = round(w / scale) and checks that q·scale gives w again. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model_file.h"
#include "../core/quant.h"

void nnc_quant_json(const nnc_model *m, nnc_strbuf *sb) {
    if (m->n_qlayers && m->qlayers[0].bits == 16) { /* bf16: the kernels hold bf16 values; no scales */
        nnc_sb_puts(sb, "{\"scheme\":\"bf16\",\"layers\":[");
        for (int i = 0; i < m->n_qlayers; i++) {
            nnc_sb_puts(sb, i ? ",{\"layer\":" : "{\"layer\":");
            nnc_sb_json_string(sb, m->layers[m->nodes[m->qlayers[i].node].layer].name);
            nnc_sb_puts(sb, "}");
        }
        nnc_sb_puts(sb, "]}");
        return;
    }
    nnc_sb_puts(sb, "{\"scheme\":\"int8\",\"weights\":\"symmetric per output channel\","
                    "\"inputs\":\"max_abs per tensor\",\"layers\":[");
    for (int i = 0; i < m->n_qlayers; i++) {
        const nnc_qlayer *q = &m->qlayers[i];
        nnc_sb_puts(sb, i ? ",{\"layer\":" : "{\"layer\":");
        nnc_sb_json_string(sb, m->layers[m->nodes[q->node].layer].name);
        nnc_sb_puts(sb, ",\"input_scale\":");
        nnc_sb_json_number(sb, (double)q->in_scale);
        nnc_sb_puts(sb, ",\"kernel_scales\":[");
        for (int j = 0; j < q->n; j++) {
            if (j) nnc_sb_puts(sb, ",");
            nnc_sb_json_number(sb, (double)q->w_scale[j]);
        }
        nnc_sb_puts(sb, "]}");
    }
    nnc_sb_puts(sb, "]}");
}

/* The node of layer l that int8 runs (its one MATMUL or CONV), -1 when none. */
static int layer_node(const nnc_model *m, int l) {
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].layer == l && m->nodes[i].live && nnc_quant_supported(m, i)) return i;
    return -1;
}

static int one_layer(nnc_model *m, const nnc_json *e, int bf16, float *scales, char *err, size_t n) {
    const char *name = nnc_json_get_string(e, "layer");
    const nnc_json *ks = nnc_json_get(e, "kernel_scales");
    double in_scale = 0.0;
    if (!name || (!bf16 && (!nnc_json_get_number(e, "input_scale", &in_scale) || !ks || ks->type != NNC_JSON_ARRAY))) {
        snprintf(err, n, "quantization: an entry lacks layer%s", bf16 ? "" : ", input_scale or kernel_scales");
        return -1;
    }
    const int *l = nnc_strmap_get(&m->layer_names, name);
    const int id = l ? layer_node(m, *l) : -1;
    if (id < 0) {
        snprintf(err, n, "quantization: '%s' is not a Dense or Conv layer of the model", name);
        return -1;
    }
    if (m->nodes[id].qlayer >= 0) {
        snprintf(err, n, "quantization: layer '%s' is listed twice", name);
        return -1;
    }
    if (bf16) {
        if (!nnc_quant_add_bf16(m, id, 1)) return 0;
        snprintf(err, n, "%s", m->error);
        return -1;
    }
    const nnc_node_rec *w = &m->nodes[m->nodes[id].in[1]];
    if (ks->count != (size_t)w->shape.dim[w->shape.rank - 1]) {
        snprintf(err, n, "quantization: layer '%s' has %zu kernel scales for %d channels", name, ks->count,
                 w->shape.dim[w->shape.rank - 1]);
        return -1;
    }
    for (size_t j = 0; j < ks->count; j++) {
        if (ks->items[j]->type != NNC_JSON_NUMBER) {
            snprintf(err, n, "quantization: layer '%s': kernel scale %zu is not a number", name, j);
            return -1;
        }
        scales[j] = (float)ks->items[j]->number;
    }
    if (nnc_quant_add(m, id, (float)in_scale, scales)) {
        snprintf(err, n, "%s", m->error);
        return -1;
    }
    return 0;
}

int nnc_quant_from_json(nnc_model *m, const char *text, char *err, size_t n) {
    nnc_json *j = nnc_json_parse(text, strlen(text), err, n);
    if (!j) return -1;
    const char *scheme = nnc_json_get_string(j, "scheme");
    const nnc_json *layers = nnc_json_get(j, "layers");
    int rc = 0;
    float *scales = malloc((size_t)m->n_param_floats * sizeof *scales + 1);
    if (!scales) {
        snprintf(err, n, "out of memory");
        rc = -1;
    } else if (!scheme || (strcmp(scheme, "int8") && strcmp(scheme, "bf16")) || !layers ||
               layers->type != NNC_JSON_ARRAY) {
        snprintf(err, n, "quantization: not an int8 or bf16 scheme with a list of layers");
        rc = -1;
    } else if (!strcmp(scheme, "bf16") && !nnc_quant_bf16_available()) {
        snprintf(err, n, "the model is quantized to bf16, which needs a CPU with AVX512_BF16 (this one lacks it); "
                 "convert the float model to int8 instead");
        rc = -1;
    }
    const int bf16 = scheme && !strcmp(scheme, "bf16");
    for (size_t i = 0; !rc && layers && i < layers->count; i++)
        rc = one_layer(m, layers->items[i], bf16, scales, err, n);
    if (!rc && nnc_tape_build(m)) {
        snprintf(err, n, "%s", m->error);
        rc = -1;
    }
    if (rc) nnc_quant_clear(m);
    free(scales);
    nnc_json_free(j);
    return rc;
}
