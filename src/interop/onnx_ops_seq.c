/* The ONNX exporters of the sequence ops (issue 14; the table is in onnx_ops.c): EMBEDDING as
 * Gather of the table's rows by the ids cast to int64, SEQ_MASK as Cast(Not(Equal)) (with a
 * ReduceMax over the features for Masking), and GLOBAL_AVG / GLOBAL_MAX with a mask as
 * arithmetic on the mask. Semantics are ONNX's operator specification (onnx/docs/Operators.md,
 * opset 17) matched to nnc's ops (src/ops/embedding.c, pooling.c). */
#ifdef NNC_HAVE_ONNX
#include <float.h>
#include "onnx_ops.h"

#define NODE(c, id) (&(c)->m->nodes[id])

enum { ONNX_FLOAT = 1, ONNX_INT64 = 7 }; /* TensorProto.DataType */

static const char *cast(onnx_ctx *c, int id, const char *x, int to, const char *what) {
    Onnx__NodeProto *n = onnx_node(c, id, "Cast", &x, 1, what);
    if (n) onnx_attr_int(c, n, "to", to);
    return onnx_out(n);
}

/* Embedding: Gather(table, Cast(ids, int64), axis 0); the ids were checked where data entered. */
int onnx_ex_embedding(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const char *g[2] = {onnx_in(c, n->in[1], ONNX_LAST), NULL};
    const char *ids = onnx_in(c, n->in[0], ONNX_LAST);
    g[1] = ids ? cast(c, id, ids, ONNX_INT64, "ids") : NULL;
    Onnx__NodeProto *y = onnx_node(c, id, "Gather", g, 2, NULL);
    if (y) onnx_attr_int(c, y, "axis", 0);
    return onnx_finish(c, id, y, ONNX_LAST);
}

/* The mask: Cast(Not(Equal(x, value)), float); over the features of [T, F], their ReduceMax. */
int onnx_ex_seq_mask(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    float v = n->attr.scale;
    const char *eq[2] = {onnx_in(c, n->in[0], ONNX_LAST), onnx_const_f32(c, id, "mask_value", &v, NULL, 0)};
    const char *e = onnx_out(onnx_node(c, id, "Equal", eq, 2, "padding"));
    const char *ne = onnx_out(onnx_node(c, id, "Not", &e, 1, "used"));
    if (NODE(c, n->in[0])->shape.rank == 1) {
        Onnx__NodeProto *y = onnx_node(c, id, "Cast", &ne, 1, NULL);
        if (y) onnx_attr_int(c, y, "to", ONNX_FLOAT);
        return onnx_finish(c, id, y, ONNX_LAST);
    }
    const char *f = cast(c, id, ne, ONNX_FLOAT, "used_features");
    Onnx__NodeProto *y = onnx_node(c, id, "ReduceMax", &f, 1, NULL);
    const int64_t axis = 2;
    if (y) {
        onnx_attr_ints(c, y, "axes", &axis, 1);
        onnx_attr_int(c, y, "keepdims", 0);
    }
    return onnx_finish(c, id, y, ONNX_LAST);
}

/* GlobalAveragePooling1D / GlobalMaxPooling1D of x [B, T, C] with mask [B, T] (m = the mask as
 * [B, T, 1], k = its sum over the steps): the average is ReduceSum(x·m) / Max(k, 1), the max
 * ReduceMax(Where(m > 0, x, −FLT_MAX)); a sequence with no used step gives 0, as the op does. */
int onnx_ex_masked_global(onnx_ctx *c, int id, int is_max) {
    const nnc_node_rec *n = NODE(c, id);
    const int keep = n->shape.rank == 2;
    const int64_t feat = 2, steps = 1;
    const char *x = onnx_in(c, n->in[0], ONNX_LAST);
    const char *u[2] = {onnx_in(c, n->in[1], ONNX_LAST), onnx_const_i64(c, id, "feature_axis", &feat, 1)};
    const char *mk = onnx_out(onnx_node(c, id, "Unsqueeze", u, 2, "mask"));
    const char *ax = onnx_const_i64(c, id, "step_axis", &steps, 1);
    const char *ks[2] = {mk, ax};
    Onnx__NodeProto *kn = onnx_node(c, id, "ReduceSum", ks, 2, "used_steps");
    if (kn) onnx_attr_int(c, kn, "keepdims", keep);
    const char *k = onnx_out(kn);
    float zero = 0.0f, one = 1.0f, lowest = -FLT_MAX;
    if (is_max) {
        const char *gt[2] = {mk, onnx_const_f32(c, id, "zero", &zero, NULL, 0)};
        const char *w[3] = {onnx_out(onnx_node(c, id, "Greater", gt, 2, "used")), x,
                            onnx_const_f32(c, id, "lowest", &lowest, NULL, 0)};
        const char *xm = onnx_out(onnx_node(c, id, "Where", w, 3, "steps"));
        Onnx__NodeProto *r = onnx_node(c, id, "ReduceMax", &xm, 1, "max");
        if (r) {
            onnx_attr_ints(c, r, "axes", &steps, 1);
            onnx_attr_int(c, r, "keepdims", keep);
        }
        const char *any[2] = {k, onnx_const_f32(c, id, "none", &zero, NULL, 0)};
        const char *z[3] = {onnx_out(onnx_node(c, id, "Greater", any, 2, "any_used")), onnx_out(r),
                            onnx_const_f32(c, id, "empty", &zero, NULL, 0)};
        return onnx_finish(c, id, onnx_node(c, id, "Where", z, 3, NULL), ONNX_LAST);
    }
    const char *mul[2] = {x, mk};
    const char *s[2] = {onnx_out(onnx_node(c, id, "Mul", mul, 2, "masked")), ax};
    Onnx__NodeProto *sn = onnx_node(c, id, "ReduceSum", s, 2, "sum");
    if (sn) onnx_attr_int(c, sn, "keepdims", keep);
    const char *mx[2] = {k, onnx_const_f32(c, id, "one", &one, NULL, 0)};
    const char *dv[2] = {onnx_out(sn), onnx_out(onnx_node(c, id, "Max", mx, 2, "count"))};
    return onnx_finish(c, id, onnx_node(c, id, "Div", dv, 2, NULL), ONNX_LAST);
}
#else
typedef int nnc_onnx_ops_seq_not_built; /* ISO C wants a declaration in every file */
#endif
