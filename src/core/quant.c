/* The int8 records of quantized nodes (quant.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "quant.h"
#include "../backend/cpu/qgemm.h"

int nnc_quant_supported(const nnc_model *m, int id) {
    const nnc_node_rec *n = &m->nodes[id];
    if (n->op != NNC_OP_MATMUL && n->op != NNC_OP_CONV) return 0;
    if (n->n_in != 2 || m->nodes[n->in[1]].op != NNC_OP_PARAM) return 0;
    return !(n->op == NNC_OP_CONV && (n->attr.win.groups > 1 || n->attr.win.depthwise));
}

int nnc_quant_worth(const nnc_model *m, int id) {
    /* A product over fewer than 32 values (a first convolution over 1 channel: 9) stays in
     * float: int8 would save little multiply work and add a quantizing pass, and the float
     * path has the fused conv + ReLU + max pooling op for it. */
    const nnc_node_rec *w = &m->nodes[m->nodes[id].in[1]];
    return nnc_quant_supported(m, id) && nnc_shape_size(&w->shape) / (size_t)w->shape.dim[w->shape.rank - 1] >= 32;
}

const nnc_qlayer *nnc_quant_of(const nnc_model *m, int id) {
    const int q = m->nodes[id].qlayer;
    return q >= 0 && q < m->n_qlayers ? &m->qlayers[q] : NULL;
}

static void qlayer_free(nnc_qlayer *q) {
    free(q->w_scale);
    free(q->out_scale);
    free(q->comp);
    free(q->wp);
    free(q->wbf);
}

void nnc_quant_clear(nnc_model *m) {
    for (int i = 0; i < m->n_qlayers; i++) {
        m->nodes[m->qlayers[i].node].qlayer = -1;
        qlayer_free(&m->qlayers[i]);
    }
    free(m->qlayers);
    m->qlayers = NULL;
    m->n_qlayers = 0;
}

/* q = round(w / s) within ±127; with w = fl(q·s) from a file this gives q back exactly (the
 * relative error of fl(q·s) / s is far below 0.5 / 127). */
static int8_t quant1(float w, float s) {
    float v = nearbyintf(w / s);
    return (int8_t)(v > 127.0f ? 127 : v < -127.0f ? -127 : (int)v);
}

nnc_status nnc_quant_add(nnc_model *m, int id, float in_scale, const float *w_scale) {
    const nnc_node_rec *n = &m->nodes[id];
    const nnc_node_rec *wn = &m->nodes[n->in[1]];
    const char *lname = n->layer >= 0 ? m->layers[n->layer].name : "?";
    const int N = wn->shape.dim[wn->shape.rank - 1];
    const size_t total = nnc_shape_size(&wn->shape);
    const int K = (int)(total / (size_t)N);
    if (!nnc_quant_supported(m, id))
        return nnc_fail(m, NNC_ERR_ARG, "quantize: layer '%s' is not a Dense or Conv layer int8 can run", lname);
    if (K > NNC_QMAX_K)
        return nnc_fail(m, NNC_ERR_ARG, "quantize: layer '%s' sums %d inputs, more than the %d an int32 holds exactly",
                        lname, K, NNC_QMAX_K);
    if (!(in_scale > 0.0f) || !isfinite(in_scale))
        return nnc_fail(m, NNC_ERR_FORMAT, "quantize: layer '%s': input scale %g is not a positive number", lname,
                        (double)in_scale);
    nnc_qlayer q = {.node = id, .bits = 8, .k = K, .n = N, .lda = nnc_qrow_bytes(K), .variant = nnc_qgemm_best(),
                    .in_scale = in_scale, .inv_in_scale = 1.0f / in_scale};
    nnc_qlayer *grown = realloc(m->qlayers, (size_t)(m->n_qlayers + 1) * sizeof *grown);
    int8_t *w8 = malloc(total);
    q.w_scale = malloc((size_t)N * sizeof *q.w_scale);
    q.out_scale = malloc((size_t)N * sizeof *q.out_scale);
    q.comp = malloc((size_t)N * sizeof *q.comp);
    q.wp = malloc(nnc_qpack_bytes(K, N));
    if (grown) m->qlayers = grown;
    nnc_status st = NNC_OK;
    if (!grown || !w8 || !q.w_scale || !q.out_scale || !q.comp || !q.wp) {
        st = nnc_fail(m, NNC_ERR_NOMEM, "quantize: out of memory");
        goto fail;
    }
    float *w = wn->value;
    for (int j = 0; j < N; j++) {
        float s = w_scale ? w_scale[j] : 0.0f;
        if (!w_scale) {
            for (int k = 0; k < K; k++) s = fmaxf(s, fabsf(w[(size_t)k * N + j]));
            s = s > 0.0f ? s / 127.0f : 1.0f; /* an all-zero channel: any scale gives zeros */
        }
        if (!(s > 0.0f) || !isfinite(s)) {
            st = nnc_fail(m, NNC_ERR_FORMAT, "quantize: layer '%s': kernel scale %g of channel %d is not a positive "
                          "number", lname, (double)s, j);
            goto fail;
        }
        q.w_scale[j] = s;
        q.out_scale[j] = in_scale * s;
        for (int k = 0; k < K; k++) {
            const size_t at = (size_t)k * N + j;
            w8[at] = quant1(w[at], s);
            if (w_scale && (float)w8[at] * s != w[at]) {
                st = nnc_fail(m, NNC_ERR_FORMAT, "quantize: layer '%s': kernel value %zu is not an int8 step of its "
                              "channel's scale (a damaged file?)", lname, at);
                goto fail;
            }
        }
    }
    for (size_t i = 0; i < total; i++) w[i] = (float)w8[i] * q.w_scale[i % (size_t)N];
    nnc_qpack(w8, K, N, q.wp, q.comp);
    free(w8);
    m->nodes[id].qlayer = m->n_qlayers;
    m->qlayers[m->n_qlayers++] = q;
    return NNC_OK;
fail:
    free(w8);
    qlayer_free(&q);
    return st;
}

nnc_status nnc_quant_add_bf16(nnc_model *m, int id, int exact) {
    const nnc_node_rec *n = &m->nodes[id], *wn = &m->nodes[n->in[1]];
    const char *lname = n->layer >= 0 ? m->layers[n->layer].name : "?";
    const int N = wn->shape.dim[wn->shape.rank - 1];
    const size_t total = nnc_shape_size(&wn->shape);
    const int K = (int)(total / (size_t)N);
    if (!nnc_quant_supported(m, id))
        return nnc_fail(m, NNC_ERR_ARG, "quantize: layer '%s' is not a Dense or Conv layer bf16 can run", lname);
    float *w = wn->value;
    for (size_t i = 0; exact && i < total; i++)
        if (nnc_bf16_round(w[i]) != w[i])
            return nnc_fail(m, NNC_ERR_FORMAT, "quantize: layer '%s': kernel value %zu is not a bf16 value (a damaged "
                            "file?)", lname, i);
    nnc_qlayer q = {.node = id, .bits = 16, .k = K, .n = N, .lda = (K + 1) / 2 * 2};
    nnc_qlayer *grown = realloc(m->qlayers, (size_t)(m->n_qlayers + 1) * sizeof *grown);
    if (grown) m->qlayers = grown;
    q.wbf = malloc(nnc_bf16_pack_elems(K, N) * sizeof *q.wbf);
    if (!grown || !q.wbf) {
        free(q.wbf);
        return nnc_fail(m, NNC_ERR_NOMEM, "quantize: out of memory");
    }
    for (size_t i = 0; i < total; i++) w[i] = nnc_bf16_round(w[i]);
    nnc_bf16_pack(w, K, N, q.wbf);
    m->nodes[id].qlayer = m->n_qlayers;
    m->qlayers[m->n_qlayers++] = q;
    return NNC_OK;
}

int nnc_quant_bf16_available(void) { return nnc_bf16_cpu_has(); }
