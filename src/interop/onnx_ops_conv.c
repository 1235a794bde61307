/* The ONNX exporters of the convolution family's ops (the table is in onnx_ops.c): CONV (plain,
 * grouped, depthwise; Conv2D, Conv1D with 'causal', DepthwiseConv2D, SeparableConv2D's two
 * halves), CONV_TRANSPOSE, the poolings, ZERO_PAD, CROP and UPSAMPLE. Conv, ConvTranspose,
 * MaxPool and AveragePool take channels first; padding, cropping, resizing and the global
 * poolings work on whichever layout their input is held in, so a convolutional stack stays
 * channels first. Semantics are ONNX's operator specification (onnx/docs/Operators.md,
 * opset 17) matched to nnc's ops (src/ops/conv*.c, pooling.c, shape.c, upsample.c). */
#ifdef NNC_HAVE_ONNX
#include "onnx_ops.h"

#define NODE(c, id) (&(c)->m->nodes[id])

/* kernel_shape, strides, dilations and pads of a window over 1 or 2 spatial axes. TensorFlow's
 * padding puts the odd cell after; the after-padding is what makes ONNX's floor formula give
 * nnc's output size, never negative (a 'valid' window may leave cells unused). Conv1D's
 * 'causal' is all its padding before, which the same formula carries. */
static int window_attrs(onnx_ctx *c, int id, Onnx__NodeProto *node, int with_dilation) {
    const nnc_node_rec *n = NODE(c, id), *x = NODE(c, n->in[0]);
    const int two_d = n->shape.rank == 3;
    const int k[2] = {n->attr.win.kh, n->attr.win.kw}, s[2] = {n->attr.win.sh, n->attr.win.sw};
    const int d[2] = {with_dilation ? n->attr.win.dh : 1, with_dilation ? n->attr.win.dw : 1};
    const int before[2] = {n->attr.win.pt, n->attr.win.pl};
    int64_t ks[2], ss[2], ds[2], pads[4];
    int axes = two_d ? 2 : 1;
    for (int a = 0; a < axes; a++) {
        int w = two_d ? a : 1; /* a 1-D window is the "width" of nnc's window */
        int in = x->shape.dim[a], out = n->shape.dim[a];
        int after = (out - 1) * s[w] + (k[w] - 1) * d[w] + 1 - in - before[w];
        ks[a] = k[w], ss[a] = s[w], ds[a] = d[w];
        pads[a] = before[w];
        pads[axes + a] = after > 0 ? after : 0;
        /* ONNX's size, floor((in + pads − dilated window) / stride) + 1, must be nnc's: a
         * window this writer does not read right is an error, never a wrong graph */
        if (s[w] < 1 || (in + pads[a] + pads[axes + a] - (k[w] - 1) * d[w] - 1) / s[w] + 1 != out)
            return onnx_fail(c, id, "its window does not map onto ONNX's (axis %d: %d cells to %d)", a + 1, in, out);
    }
    onnx_attr_ints(c, node, "kernel_shape", ks, axes);
    onnx_attr_ints(c, node, "strides", ss, axes);
    if (with_dilation) onnx_attr_ints(c, node, "dilations", ds, axes);
    onnx_attr_ints(c, node, "pads", pads, 2 * axes);
    return c->failed ? -1 : 0;
}

/* Conv on channels first; the kernel [kh, kw, C/groups, F] (Conv1D: [k, C/groups, F]) is
 * stored as ONNX's [F, C/groups, kh, kw] under the Keras name, and groups is Conv's `group`:
 * both split channels and filters into consecutive blocks, group g reading channels
 * g·C/groups.. and writing filters g·F/groups... A depthwise kernel [kh, kw, C, m] writes
 * output channel c·m + j from channel c: read as [kh, kw, 1, C·m] it is the grouped kernel of
 * C groups, ONNX's [C·m, 1, kh, kw]. A following bias is Conv's B. */
int onnx_ex_conv(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id), *k = NODE(c, n->in[1]);
    static const int perm2[4] = {3, 2, 0, 1}, perm1[3] = {2, 1, 0};
    const int kr = k->shape.rank, groups = n->attr.win.groups > 1 ? n->attr.win.groups : 1;
    if (k->op != NNC_OP_PARAM)
        return onnx_fail(c, id, "a convolution whose kernel is not a variable has no ONNX form here");
    const int *perm = n->shape.rank == 3 ? perm2 : perm1;
    const char *w;
    if (n->attr.win.depthwise) {
        nnc_shape as = k->shape;
        as.dim[kr - 1] = k->shape.dim[kr - 2] * k->shape.dim[kr - 1];
        as.dim[kr - 2] = 1;
        w = onnx_param_reshaped(c, n->in[1], &as, perm);
    } else {
        w = onnx_param_transposed(c, n->in[1], perm);
    }
    int b = onnx_bias_after(c, id);
    const char *ins[3] = {onnx_in(c, n->in[0], ONNX_FIRST), w, b >= 0 ? onnx_param(c, NODE(c, b)->in[1]) : NULL};
    Onnx__NodeProto *y = onnx_node(c, id, "Conv", ins, b >= 0 ? 3 : 2, NULL);
    if (window_attrs(c, id, y, 1)) return -1;
    if (groups > 1) onnx_attr_int(c, y, "group", groups);
    if (b < 0) return onnx_finish(c, id, y, ONNX_FIRST);
    c->done[id] = 1;
    return onnx_finish(c, b, y, ONNX_FIRST);
}

/* Conv2DTranspose: ConvTranspose on channels first. nnc's op is the adjoint of the convolution
 * from its output (OH x OW) back to its input with the attribute's window and padding pt, pl
 * before (src/ops/conv_transpose.c): input cell i, tap j lands on output cell i·s + j − pt,
 * which is ONNX's ConvTranspose with pads_begin pt. ONNX's size is
 *   s·(in − 1) + output_padding + (k − 1)·d + 1 − pads_begin − pads_end,
 * so the cells Keras's size leaves over are cut by pads_end, and the ones it adds (its
 * output_padding, or a 'valid' kernel smaller than its stride) are ONNX's output_padding, which
 * is below the stride in every case Keras allows. The kernel [kh, kw, F, C] is the adjoint
 * convolution's, so ONNX's [C, F, kh, kw] is the same transpose as Conv's. */
int onnx_ex_conv_transpose(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id), *x = NODE(c, n->in[0]);
    static const int perm[4] = {3, 2, 0, 1};
    if (NODE(c, n->in[1])->op != NNC_OP_PARAM)
        return onnx_fail(c, id, "a convolution whose kernel is not a variable has no ONNX form here");
    int b = onnx_bias_after(c, id);
    const char *ins[3] = {onnx_in(c, n->in[0], ONNX_FIRST), onnx_param_transposed(c, n->in[1], perm),
                          b >= 0 ? onnx_param(c, NODE(c, b)->in[1]) : NULL};
    Onnx__NodeProto *y = onnx_node(c, id, "ConvTranspose", ins, b >= 0 ? 3 : 2, NULL);
    const int k[2] = {n->attr.win.kh, n->attr.win.kw}, s[2] = {n->attr.win.sh, n->attr.win.sw};
    const int d[2] = {n->attr.win.dh, n->attr.win.dw}, before[2] = {n->attr.win.pt, n->attr.win.pl};
    int64_t ks[2], ss[2], ds[2], pads[4], extra[2];
    for (int a = 0; a < 2; a++) {
        long long full = (long long)s[a] * (x->shape.dim[a] - 1) + (long long)(k[a] - 1) * d[a] + 1 - before[a];
        long long after = full - n->shape.dim[a];
        ks[a] = k[a], ss[a] = s[a], ds[a] = d[a];
        pads[a] = before[a];
        pads[2 + a] = after > 0 ? after : 0;
        extra[a] = after < 0 ? -after : 0;
        if (extra[a] >= s[a] && extra[a] > 0)
            return onnx_fail(c, id, "its output size needs an output_padding of %lld, not below the stride %d",
                             (long long)extra[a], s[a]);
    }
    onnx_attr_ints(c, y, "kernel_shape", ks, 2);
    onnx_attr_ints(c, y, "strides", ss, 2);
    onnx_attr_ints(c, y, "dilations", ds, 2);
    onnx_attr_ints(c, y, "pads", pads, 4);
    onnx_attr_ints(c, y, "output_padding", extra, 2);
    if (b < 0) return onnx_finish(c, id, y, ONNX_FIRST);
    c->done[id] = 1;
    return onnx_finish(c, b, y, ONNX_FIRST);
}

static int pool(onnx_ctx *c, int id, const char *op_type, int average) {
    const char *x = onnx_in(c, NODE(c, id)->in[0], ONNX_FIRST);
    Onnx__NodeProto *y = onnx_node(c, id, op_type, &x, 1, NULL);
    if (window_attrs(c, id, y, 0)) return -1;
    /* nnc's average leaves padded cells out of the count (TensorFlow's 'same') */
    if (average) onnx_attr_int(c, y, "count_include_pad", 0);
    return onnx_finish(c, id, y, ONNX_FIRST);
}

int onnx_ex_max_pool(onnx_ctx *c, int id) { return pool(c, id, "MaxPool", 0); }
int onnx_ex_avg_pool(onnx_ctx *c, int id) { return pool(c, id, "AveragePool", 1); }

/* Mean or max over every axis but the channels, in whichever layout the input is; an output
 * of the input's rank keeps the pooled axes, of size 1 (and so the layout). */
static int global(onnx_ctx *c, int id, const char *op_type) {
    const nnc_node_rec *n = NODE(c, id);
    onnx_layout l;
    const char *x = onnx_in_any(c, n->in[0], &l);
    int rank = onnx_rank(c, n->in[0]), k = 0, keep = onnx_rank(c, id) == rank;
    int64_t axes[NNC_MAX_RANK];
    for (int a = 1; a < rank; a++)
        if (a != (l == ONNX_FIRST ? 1 : rank - 1)) axes[k++] = a;
    if (!keep && onnx_rank(c, id) != 2)
        return onnx_fail(c, id, "a global pooling to rank %d has no ONNX exporter", n->shape.rank);
    Onnx__NodeProto *y = onnx_node(c, id, op_type, &x, 1, NULL);
    onnx_attr_ints(c, y, "axes", axes, k);
    onnx_attr_int(c, y, "keepdims", keep);
    return onnx_finish(c, id, y, keep ? l : ONNX_LAST);
}

int onnx_ex_global_avg(onnx_ctx *c, int id) {
    return NODE(c, id)->n_in > 1 ? onnx_ex_masked_global(c, id, 0) : global(c, id, "ReduceMean");
}
int onnx_ex_global_max(onnx_ctx *c, int id) {
    return NODE(c, id)->n_in > 1 ? onnx_ex_masked_global(c, id, 1) : global(c, id, "ReduceMax");
}

/* ---- padding, cropping and resizing, in either layout ------------------------------------- */

/* The spatial axes of node id's examples ([H, W, C]: rows and columns; [L, C]: the length) as
 * ONNX axes of layout l, with the window's cells before and after each: ZERO_PAD and CROP keep
 * rows in pt/pb and columns (a sequence's steps) in pl/pr. Returns the count, 1 or 2. */
static int spatial(const onnx_ctx *c, int id, onnx_layout l, int64_t axis[2], int before[2], int after[2]) {
    const nnc_node_rec *n = NODE(c, id);
    if (n->shape.rank == 3) {
        axis[0] = onnx_axis(c, id, 0, l), axis[1] = onnx_axis(c, id, 1, l);
        before[0] = n->attr.win.pt, after[0] = n->attr.win.pb;
        before[1] = n->attr.win.pl, after[1] = n->attr.win.pr;
        return 2;
    }
    axis[0] = onnx_axis(c, id, 0, l);
    before[0] = n->attr.win.pl, after[0] = n->attr.win.pr;
    return 1;
}

/* ZeroPadding1D/2D: Pad with zeros ("constant" and 0 are Pad's defaults). */
int onnx_ex_zero_pad(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const int r = onnx_rank(c, id);
    if (n->shape.rank != 2 && n->shape.rank != 3)
        return onnx_fail(c, id, "zero padding of rank-%d examples has no ONNX exporter", n->shape.rank);
    onnx_layout l;
    const char *x = onnx_in_any(c, n->in[0], &l);
    int64_t axis[2], pads[2 * (NNC_MAX_RANK + 1)] = {0};
    int before[2], after[2], k = spatial(c, id, l, axis, before, after);
    for (int a = 0; a < k; a++) pads[axis[a]] = before[a], pads[r + axis[a]] = after[a];
    const char *ins[2] = {x, onnx_const_i64(c, id, "pads", pads, 2 * r)};
    return onnx_finish(c, id, onnx_node(c, id, "Pad", ins, 2, NULL), l);
}

/* Cropping1D/2D: Slice of the kept cells, [before, size − after) on each spatial axis. */
int onnx_ex_crop(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id), *x = NODE(c, n->in[0]);
    onnx_layout l;
    const char *in = onnx_in_any(c, n->in[0], &l);
    int64_t axis[2], starts[2], ends[2];
    int before[2], after[2], k = spatial(c, id, l, axis, before, after);
    for (int a = 0; a < k; a++) starts[a] = before[a], ends[a] = x->shape.dim[a] - after[a];
    const char *ins[4] = {in, onnx_const_i64(c, id, "starts", starts, k), onnx_const_i64(c, id, "ends", ends, k),
                          onnx_const_i64(c, id, "axes", axis, k)};
    return onnx_finish(c, id, onnx_node(c, id, "Slice", ins, 4, NULL), l);
}

/* UpSampling1D/2D: Resize by the integer factors win.kh (rows), win.kw (columns, or a
 * sequence's steps), on whichever layout the input is in.
 * - nearest: output cell i repeats input cell floor(i / f) (upsample.c), which is Resize's
 *   "asymmetric" transform (x_original = i / f) with nearest_mode "floor";
 * - bilinear: nnc reads input (i + 0.5)·(in / out) − 0.5 between its floor and ceiling, both
 *   clamped to the image: Resize's "half_pixel" transform with mode "linear", whose outside
 *   coordinates ONNX Runtime clamps to the edge cells the same way. */
int onnx_ex_upsample(onnx_ctx *c, int id) {
    const nnc_node_rec *n = NODE(c, id);
    const int r = onnx_rank(c, id);
    onnx_layout l;
    const char *x = onnx_in_any(c, n->in[0], &l);
    float scales[NNC_MAX_RANK + 1];
    for (int a = 0; a < r; a++) scales[a] = 1.0f;
    if (n->shape.rank == 3) {
        scales[onnx_axis(c, id, 0, l)] = (float)n->attr.win.kh;
        scales[onnx_axis(c, id, 1, l)] = (float)n->attr.win.kw;
    } else {
        scales[onnx_axis(c, id, 0, l)] = (float)n->attr.win.kw;
    }
    const int64_t dims[1] = {r};
    const char *ins[3] = {x, "", onnx_const_f32(c, id, "scales", scales, dims, 1)}; /* "": no roi */
    Onnx__NodeProto *y = onnx_node(c, id, "Resize", ins, 3, NULL);
    if (n->attr.bilinear) {
        onnx_attr_string(c, y, "mode", "linear");
        onnx_attr_string(c, y, "coordinate_transformation_mode", "half_pixel");
    } else {
        onnx_attr_string(c, y, "mode", "nearest");
        onnx_attr_string(c, y, "coordinate_transformation_mode", "asymmetric");
        onnx_attr_string(c, y, "nearest_mode", "floor");
    }
    return onnx_finish(c, id, y, l);
}
#else
typedef int nnc_onnx_ops_conv_not_built; /* ISO C wants a declaration in every file */
#endif
