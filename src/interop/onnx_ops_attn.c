/* The ONNX exporter of MHA (src/ops/attention.c; the table is in onnx_ops.c), in opset 17's
 * plain operators (onnx/docs/Operators.md): each projection a MatMul by its kernel read as
 * [d, heads·dim] and an Add of its bias, Reshape to [batch, steps, heads, dim] and Transpose to
 * [batch, heads, steps, dim]; the scores one MatMul per batch of heads, times 1/√key_dim; the
 * allowed steps a 0/1 tensor M (a constant lower triangle when causal, times the masks, each
 * unsqueezed to broadcast over [batch, heads, T, S]), applied as Keras's masked Softmax does:
 * scores + (1 − M)·(−1e9), Softmax over the last axis, times M; then MatMul by V, Transpose and
 * Reshape back to [batch, T, heads·value_dim] and the output projection. Inference has no
 * dropout. */
#ifdef NNC_HAVE_ONNX
#include <math.h>
#include "onnx_ops.h"

#define NODE(c, id) (&(c)->m->nodes[id])

/* x·W + b as [batch, steps, heads, dim] transposed by perm (a head-major layout). */
static const char *heads_of(onnx_ctx *c, int id, int x, int w, int b, int steps, int H, int dim, const int64_t *perm,
                            const char *what) {
    static const int keep2[2] = {0, 1}, keep1[1] = {0};
    const nnc_shape ws = {2, {NODE(c, x)->shape.dim[1], H * dim}}, bs = {1, {H * dim}};
    const char *mm[2] = {onnx_in(c, x, ONNX_LAST), onnx_param_reshaped(c, w, &ws, keep2)};
    const char *y = onnx_out(onnx_node(c, id, "MatMul", mm, 2, what));
    if (b >= 0) {
        const char *add[2] = {y, onnx_param_reshaped(c, b, &bs, keep1)};
        y = onnx_out(onnx_node(c, id, "Add", add, 2, what));
    }
    const int64_t shape[4] = {0, steps, H, dim};
    const char *rs[2] = {y, onnx_const_i64(c, id, "heads_shape", shape, 4)};
    const char *r = onnx_out(onnx_node(c, id, "Reshape", rs, 2, what));
    Onnx__NodeProto *t = onnx_node(c, id, "Transpose", &r, 1, what);
    onnx_attr_ints(c, t, "perm", perm, 4);
    return onnx_out(t);
}

/* A mask [batch, n] as 0/1 (a step is kept where the mask is not 0, as nnc reads it: Equal, Not,
 * Cast), unsqueezed at the given axes to broadcast against [batch, heads, T, S]. */
static const char *mask_of(onnx_ctx *c, int id, int mask, const int64_t *axes) {
    const char *eq[2] = {onnx_in(c, mask, ONNX_LAST), onnx_const_f32(c, id, "zero", &(float){0.0f}, NULL, 0)};
    const char *refused = onnx_out(onnx_node(c, id, "Equal", eq, 2, "mask"));
    const char *kept = onnx_out(onnx_node(c, id, "Not", &refused, 1, "mask"));
    Onnx__NodeProto *f = onnx_node(c, id, "Cast", &kept, 1, "mask");
    onnx_attr_int(c, f, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    const char *u[2] = {onnx_out(f), onnx_const_i64(c, id, "mask_axes", axes, 2)};
    return onnx_out(onnx_node(c, id, "Unsqueeze", u, 2, "mask"));
}

/* The product of the allowed-step factors, NULL when nothing is refused. */
static const char *allowed_of(onnx_ctx *c, int id, int T, int S) {
    const nnc_node_rec *n = NODE(c, id);
    const int bits = n->attr.mha_in, bias = bits & NNC_MHA_BIAS;
    int k = 3 + 4 * (bias ? 2 : 1);
    const char *M = NULL;
    if (n->attr.causal) {
        float *tri = onnx_alloc(c, (size_t)T * (size_t)S * sizeof *tri);
        if (!tri) return NULL;
        for (int t = 0; t < T; t++)
            for (int s = 0; s < S; s++) tri[(size_t)t * (size_t)S + (size_t)s] = s <= t ? 1.0f : 0.0f;
        const int64_t dims[2] = {T, S};
        M = onnx_const_f32(c, id, "causal", tri, dims, 2);
    }
    static const int64_t q_axes[2] = {1, 3}, v_axes[2] = {1, 2};
    for (int b = NNC_MHA_QMASK; b <= NNC_MHA_KMASK; b <<= 1) {
        if (!(bits & b)) continue;
        const char *f = mask_of(c, id, n->in[k++], b == NNC_MHA_QMASK ? q_axes : v_axes);
        if (!M) {
            M = f;
            continue;
        }
        const char *mul[2] = {M, f};
        M = onnx_out(onnx_node(c, id, "Mul", mul, 2, "allowed"));
    }
    return M;
}

int onnx_ex_mha(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const int bias = n->attr.mha_in & NNC_MHA_BIAS, H = n->attr.heads, kd = n->attr.key_dim, vd = n->attr.value_dim;
    const int T = n->shape.dim[0], S = NODE(c, n->in[1])->shape.dim[0];
    const int wq = 3, wk = wq + (bias ? 2 : 1), wv = wk + (bias ? 2 : 1), wo = wv + (bias ? 2 : 1);
    static const int64_t to_heads[4] = {0, 2, 1, 3}, to_keys[4] = {0, 2, 3, 1};
    const char *Q = heads_of(c, id, n->in[0], n->in[wq], bias ? n->in[wq + 1] : -1, T, H, kd, to_heads, "query");
    const char *K = heads_of(c, id, n->in[2], n->in[wk], bias ? n->in[wk + 1] : -1, S, H, kd, to_keys, "key");
    const char *V = heads_of(c, id, n->in[1], n->in[wv], bias ? n->in[wv + 1] : -1, S, H, vd, to_heads, "value");
    const char *qk[2] = {Q, K};
    const char *sc[2] = {onnx_out(onnx_node(c, id, "MatMul", qk, 2, "scores")),
                         onnx_const_f32(c, id, "scale", &(float){(float)(1.0 / sqrt((double)kd))}, NULL, 0)};
    const char *scores = onnx_out(onnx_node(c, id, "Mul", sc, 2, "scores"));
    const char *M = allowed_of(c, id, T, S);
    if (M) {
        const char *sub[2] = {M, onnx_const_f32(c, id, "one", &(float){1.0f}, NULL, 0)};
        const char *big[2] = {onnx_out(onnx_node(c, id, "Sub", sub, 2, "refused")),
                              onnx_const_f32(c, id, "large", &(float){1e9f}, NULL, 0)};
        const char *add[2] = {scores, onnx_out(onnx_node(c, id, "Mul", big, 2, "adder"))};
        scores = onnx_out(onnx_node(c, id, "Add", add, 2, "scores"));
    }
    Onnx__NodeProto *sm = onnx_node(c, id, "Softmax", &scores, 1, "probabilities");
    onnx_attr_int(c, sm, "axis", -1);
    const char *P = onnx_out(sm);
    if (M) {
        const char *mul[2] = {P, M};
        P = onnx_out(onnx_node(c, id, "Mul", mul, 2, "probabilities"));
    }
    const char *pv[2] = {P, V};
    const char *o = onnx_out(onnx_node(c, id, "MatMul", pv, 2, "heads_out"));
    Onnx__NodeProto *t = onnx_node(c, id, "Transpose", &o, 1, "heads_out");
    onnx_attr_ints(c, t, "perm", to_heads, 4);
    const int64_t shape[3] = {0, T, (int64_t)H * vd};
    const char *rs[2] = {onnx_out(t), onnx_const_i64(c, id, "concat_shape", shape, 3)};
    const nnc_shape os = {2, {H * vd, n->shape.dim[1]}};
    static const int keep2[2] = {0, 1};
    const char *mm[2] = {onnx_out(onnx_node(c, id, "Reshape", rs, 2, "concat")),
                         onnx_param_reshaped(c, n->in[wo], &os, keep2)};
    Onnx__NodeProto *y = onnx_node(c, id, "MatMul", mm, 2, bias ? "output" : NULL);
    if (!bias) return onnx_finish(c, id, y, ONNX_LAST);
    const char *add[2] = {onnx_out(y), onnx_param(c, n->in[wo + 1])};
    return onnx_finish(c, id, onnx_node(c, id, "Add", add, 2, NULL), ONNX_LAST);
}

/* POSITION: the table's first T rows (Slice) or the sine encoding as a constant [T, d] (computed
 * as the op computes it), Expand-ed to the input's shape (Shape). */
int onnx_ex_position(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const int T = n->shape.dim[0], d = n->shape.dim[1];
    const char *rows;
    if (n->n_in == 2) {
        const int64_t zero = 0, end = T;
        const char *sl[4] = {onnx_param(c, n->in[1]), onnx_const_i64(c, id, "starts", &zero, 1),
                             onnx_const_i64(c, id, "ends", &end, 1), onnx_const_i64(c, id, "axes", &zero, 1)};
        rows = onnx_out(onnx_node(c, id, "Slice", sl, 4, "rows"));
    } else {
        float *v = onnx_alloc(c, (size_t)T * (size_t)d * sizeof *v);
        if (!v) return -1;
        for (int t = 0; t < T; t++)
            for (int i = 0; i < d; i++) {
                const double angle = (double)t * pow((double)n->attr.max_wavelength, -(double)(2 * (i / 2)) / (double)d);
                v[(size_t)t * (size_t)d + (size_t)i] = (float)(i % 2 ? cos(angle) : sin(angle));
            }
        const int64_t dims[2] = {T, d};
        rows = onnx_const_f32(c, id, "encoding", v, dims, 2);
    }
    const char *x = onnx_in(c, n->in[0], ONNX_LAST);
    const char *ex[2] = {rows, onnx_out(onnx_node(c, id, "Shape", &x, 1, "shape"))};
    return onnx_finish(c, id, onnx_node(c, id, "Expand", ex, 2, NULL), ONNX_LAST);
}
#else
typedef int nnc_onnx_ops_attn_not_built; /* ISO C wants a declaration in every file */
#endif
