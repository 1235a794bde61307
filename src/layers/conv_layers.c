/* Keras's layers for convolutional networks: Conv2D, Conv1D, pooling, Flatten, Reshape,
 * ZeroPadding2D, Dropout and BatchNormalization. Padding follows TensorFlow: 'same' gives
 * ceil(n / stride) outputs with total padding max((out − 1)·stride + (k − 1)·dilation + 1 − n, 0),
 * the odd cell at the bottom/right. */
#include <math.h>
#include <string.h>
#include "layers.h"

nnc_conv_opts nnc_conv_opts_default(int filters, int kernel_size) {
    nnc_conv_opts o;
    memset(&o, 0, sizeof o);
    o.filters = filters;
    o.kernel_size[0] = o.kernel_size[1] = kernel_size;
    o.strides[0] = o.strides[1] = 1;
    o.dilation_rate[0] = o.dilation_rate[1] = 1;
    o.activation = NNC_ACT_LINEAR;
    o.use_bias = true;
    o.kernel_initializer = nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM);
    o.bias_initializer = nnc_initializer_default(NNC_INIT_ZEROS);
    return o;
}

nnc_pool_opts nnc_pool_opts_default(int pool_size) {
    nnc_pool_opts o;
    memset(&o, 0, sizeof o);
    o.pool_size[0] = o.pool_size[1] = pool_size;
    return o;
}

nnc_batch_norm_opts nnc_batch_norm_opts_default(void) {
    nnc_batch_norm_opts o = {0.99f, 1e-3f, true, true, NULL};
    return o;
}

/* Padding before and after one axis of n cells for a window of effective size k. */
static void same_padding(int n, int k_eff, int stride, int same, int *before, int *after) {
    if (!same) {
        *before = *after = 0;
        return;
    }
    int out = (n + stride - 1) / stride, total = (out - 1) * stride + k_eff - n;
    if (total < 0) total = 0;
    *before = total / 2;
    *after = total - total / 2;
}

static nnc_node conv(nnc_model *m, nnc_node x, const nnc_conv_opts *o, int two_d) {
    if (!m || m->sticky) return NNC_NONE;
    nnc_layer_kind kind = two_d ? NNC_LAYER_CONV2D : NNC_LAYER_CONV1D;
    const char *who = o->name ? o->name : nnc_layer_stem(kind);
    int kh = two_d ? o->kernel_size[0] : 1, kw = two_d ? o->kernel_size[1] : o->kernel_size[0];
    int sh = two_d ? o->strides[0] : 1, sw = two_d ? o->strides[1] : o->strides[0];
    int dh = two_d ? o->dilation_rate[0] : 1, dw = two_d ? o->dilation_rate[1] : o->dilation_rate[0];
    if (o->filters <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0 ||
        (unsigned)o->activation >= NNC_ACT_COUNT) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': filters, kernel_size, strides and "
                             "dilation_rate must be positive", nnc_layer_class(kind), who);
        return NNC_NONE;
    }
    if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': strides > 1 and dilation_rate > 1 cannot "
                             "be combined (as in Keras)", nnc_layer_class(kind), who);
        return NNC_NONE;
    }
    nnc_node in = x;
    int l = nnc_layer_one_input(m, kind, &in, o->name);
    if (l < 0) return NNC_NONE;
    const nnc_node_rec *xn = &m->nodes[in];
    if (xn->shape.rank != (two_d ? 3 : 2)) {
        char s[64];
        nnc_shape_str(&xn->shape, 1, s, sizeof s);
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "layer '%s': %s needs inputs of shape %s, got %s",
                             m->layers[l].name, nnc_layer_class(kind),
                             two_d ? "(None, height, width, channels)" : "(None, length, channels)", s);
        return NNC_NONE;
    }
    m->layers[l].cfg.conv = *o;
    m->layers[l].cfg.conv.name = NULL;
    int c = xn->shape.dim[xn->shape.rank - 1];
    /* The fans (and the im2col width) must fit an int; a kernel this large never fits an input. */
    if ((long long)kh * kw * c > (1 << 30) || (long long)kh * kw * o->filters > (1 << 30) ||
        (long long)c * o->filters * kh * kw > (1LL << 31)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "layer '%s': a %dx%d kernel over %d channels to %d filters is too large",
                             m->layers[l].name, kh, kw, c, o->filters);
        return NNC_NONE;
    }
    int h = two_d ? xn->shape.dim[0] : 1, w = xn->shape.dim[xn->shape.rank - 2];
    nnc_shape ks = two_d ? (nnc_shape){4, {kh, kw, c, o->filters}} : (nnc_shape){3, {kw, c, o->filters}};
    int k = nnc_layer_param(m, l, "kernel", &ks, o->kernel_initializer, kh * kw * c, kh * kw * o->filters, 1);
    if (k < 0) return NNC_NONE;
    nnc_op_attr at = {0};
    at.win.kh = kh, at.win.kw = kw, at.win.sh = sh, at.win.sw = sw, at.win.dh = dh, at.win.dw = dw;
    same_padding(h, (kh - 1) * dh + 1, sh, o->padding_same, &at.win.pt, &at.win.pb);
    same_padding(w, (kw - 1) * dw + 1, sw, o->padding_same, &at.win.pl, &at.win.pr);
    int ops[2] = {in, k};
    int y = nnc_graph_op(m, NNC_OP_CONV, ops, 2, at);
    if (y < 0) return NNC_NONE;
    if (o->use_bias) {
        nnc_shape bs = {1, {o->filters}};
        int b = nnc_layer_param(m, l, "bias", &bs, o->bias_initializer, kh * kw * c, kh * kw * o->filters, 1);
        if (b < 0) return NNC_NONE;
        int bo[2] = {y, b};
        if ((y = nnc_graph_op(m, NNC_OP_BIAS_ADD, bo, 2, (nnc_op_attr){0})) < 0) return NNC_NONE;
    }
    if ((y = nnc_apply_activation(m, y, o->activation)) < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_conv2d(nnc_model *m, nnc_node x, const nnc_conv_opts *o) { return conv(m, x, o, 1); }
nnc_node nnc_conv1d(nnc_model *m, nnc_node x, const nnc_conv_opts *o) { return conv(m, x, o, 0); }

static nnc_node pool(nnc_model *m, nnc_node x, const nnc_pool_opts *o, nnc_layer_kind kind) {
    if (!m || m->sticky) return NNC_NONE;
    int ph = o->pool_size[0], pw = o->pool_size[1];
    int sh = o->strides[0] ? o->strides[0] : ph, sw = o->strides[1] ? o->strides[1] : pw;
    if (ph <= 0 || pw <= 0 || sh <= 0 || sw <= 0) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': pool_size and strides must be positive",
                             nnc_layer_class(kind), o->name ? o->name : nnc_layer_stem(kind));
        return NNC_NONE;
    }
    int l = nnc_layer_one_input(m, kind, &x, o->name);
    if (l < 0) return NNC_NONE;
    m->layers[l].cfg.pool = *o;
    m->layers[l].cfg.pool.name = NULL;
    const nnc_node_rec *xn = &m->nodes[x];
    nnc_op_attr at = {0};
    at.win.kh = ph, at.win.kw = pw, at.win.sh = sh, at.win.sw = sw, at.win.dh = at.win.dw = 1;
    if (xn->shape.rank == 3) {
        same_padding(xn->shape.dim[0], ph, sh, o->padding_same, &at.win.pt, &at.win.pb);
        same_padding(xn->shape.dim[1], pw, sw, o->padding_same, &at.win.pl, &at.win.pr);
    }
    int y = nnc_graph_op(m, kind == NNC_LAYER_MAX_POOL2D ? NNC_OP_MAX_POOL : NNC_OP_AVG_POOL, &x, 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_max_pooling2d(nnc_model *m, nnc_node x, const nnc_pool_opts *o) {
    return pool(m, x, o, NNC_LAYER_MAX_POOL2D);
}
nnc_node nnc_average_pooling2d(nnc_model *m, nnc_node x, const nnc_pool_opts *o) {
    return pool(m, x, o, NNC_LAYER_AVG_POOL2D);
}

/* A layer made of one op on one input with the given attributes. */
static nnc_node simple(nnc_model *m, nnc_node x, nnc_layer_kind kind, nnc_op op, nnc_op_attr at,
                       const char *name) {
    int l = nnc_layer_one_input(m, kind, &x, name);
    if (l < 0) return NNC_NONE;
    int y = nnc_graph_op(m, op, &x, 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_global_average_pooling2d(nnc_model *m, nnc_node x, const char *name) {
    return simple(m, x, NNC_LAYER_GLOBAL_AVG_POOL2D, NNC_OP_GLOBAL_AVG, (nnc_op_attr){0}, name);
}
nnc_node nnc_global_max_pooling2d(nnc_model *m, nnc_node x, const char *name) {
    return simple(m, x, NNC_LAYER_GLOBAL_MAX_POOL2D, NNC_OP_GLOBAL_MAX, (nnc_op_attr){0}, name);
}

nnc_node nnc_flatten(nnc_model *m, nnc_node x, const char *name) {
    if (!m || m->sticky) return NNC_NONE;
    int r = nnc_graph_resolve(m, x, name ? name : "flatten");
    if (r < 0) return NNC_NONE;
    nnc_op_attr at = {0};
    at.target.rank = 1;
    at.target.dim[0] = (int)nnc_shape_size(&m->nodes[r].shape);
    return simple(m, x, NNC_LAYER_FLATTEN, NNC_OP_RESHAPE, at, name);
}

nnc_node nnc_reshape(nnc_model *m, nnc_node x, const int *shape, int rank, const char *name) {
    if (!m || m->sticky) return NNC_NONE;
    if (!shape || rank < 1 || rank > NNC_MAX_RANK) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Reshape: rank %d is not in 1..%d", rank, NNC_MAX_RANK);
        return NNC_NONE;
    }
    nnc_op_attr at = {0};
    at.target.rank = rank;
    for (int i = 0; i < rank; i++) {
        if (shape[i] <= 0) {
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "Reshape: dimension %d is %d, not positive", i + 1, shape[i]);
            return NNC_NONE;
        }
        at.target.dim[i] = shape[i];
    }
    nnc_node y = simple(m, x, NNC_LAYER_RESHAPE, NNC_OP_RESHAPE, at, name);
    if (y != NNC_NONE) m->layers[m->n_layers - 1].cfg.reshape = at.target;
    return y;
}

nnc_node nnc_zero_padding2d(nnc_model *m, nnc_node x, int top, int bottom, int left, int right,
                            const char *name) {
    if (!m || m->sticky) return NNC_NONE;
    if (top < 0 || bottom < 0 || left < 0 || right < 0) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "ZeroPadding2D: padding must be >= 0");
        return NNC_NONE;
    }
    nnc_op_attr at = {0};
    at.win.pt = top, at.win.pb = bottom, at.win.pl = left, at.win.pr = right;
    nnc_node y = simple(m, x, NNC_LAYER_ZERO_PAD2D, NNC_OP_ZERO_PAD, at, name);
    if (y != NNC_NONE) {
        int *p = m->layers[m->n_layers - 1].cfg.pad;
        p[0] = top, p[1] = bottom, p[2] = left, p[3] = right;
    }
    return y;
}

nnc_node nnc_dropout(nnc_model *m, nnc_node x, float rate, const char *name) {
    if (!m || m->sticky) return NNC_NONE;
    if (!(rate >= 0.0f && rate < 1.0f)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Dropout '%s': rate %g is not in [0, 1)",
                             name ? name : "dropout", (double)rate);
        return NNC_NONE;
    }
    nnc_op_attr at = {0};
    at.rate = rate;
    nnc_node y = simple(m, x, NNC_LAYER_DROPOUT, NNC_OP_DROPOUT, at, name);
    if (y != NNC_NONE) m->layers[m->n_layers - 1].cfg.rate = rate;
    return y;
}

nnc_node nnc_batch_normalization(nnc_model *m, nnc_node x, const nnc_batch_norm_opts *o) {
    if (!m || m->sticky) return NNC_NONE;
    if (!(o->momentum >= 0.0f && o->momentum <= 1.0f) || !(o->epsilon > 0.0f)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "BatchNormalization: momentum must be in [0, 1] and "
                             "epsilon positive");
        return NNC_NONE;
    }
    int l = nnc_layer_one_input(m, NNC_LAYER_BATCH_NORM, &x, o->name);
    if (l < 0) return NNC_NONE;
    m->layers[l].cfg.bn = *o;
    m->layers[l].cfg.bn.name = NULL;
    int c = m->nodes[x].shape.dim[m->nodes[x].shape.rank - 1];
    nnc_shape vs = {1, {c}};
    int in[5] = {x}, n = 1;
    if (o->scale && (in[n++] = nnc_layer_param(m, l, "gamma", &vs, nnc_initializer_default(NNC_INIT_ONES), c, c, 1)) < 0)
        return NNC_NONE;
    if (o->center && (in[n++] = nnc_layer_param(m, l, "beta", &vs, nnc_initializer_default(NNC_INIT_ZEROS), c, c, 1)) < 0)
        return NNC_NONE;
    if ((in[n++] = nnc_layer_param(m, l, "moving_mean", &vs, nnc_initializer_default(NNC_INIT_ZEROS), c, c, 0)) < 0 ||
        (in[n++] = nnc_layer_param(m, l, "moving_variance", &vs, nnc_initializer_default(NNC_INIT_ONES), c, c, 0)) < 0)
        return NNC_NONE;
    nnc_op_attr at = {0};
    at.momentum = o->momentum;
    at.eps = o->epsilon;
    at.center = o->center;
    at.scale_on = o->scale;
    int y = nnc_graph_op(m, NNC_OP_BATCH_NORM, in, n, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}
