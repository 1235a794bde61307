/* Keras's activation layers with settings (keras/src/layers/activations): ReLU(max_value,
 * negative_slope, threshold), PReLU(alpha_initializer, alpha_regularizer, alpha_constraint,
 * shared_axes) with its trained variable `alpha`, and ELU(alpha). LeakyReLU is in
 * preprocessing.c and Softmax in core_layers.c. The plain cases run as the activation op, so
 * that they fuse into the Dense or Conv before them; the others as ACT_EX (src/ops/). */
#include <math.h>
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_relu_desc, nnc_prelu_desc, nnc_elu_desc;

/* Keras's fans of a variable of this shape (keras/src/initializers: compute_fans), for a
 * PReLU or LayerNormalization variable drawn from a fan-scaled initializer. */
void nnc_keras_fans(const nnc_shape *s, int *fan_in, int *fan_out) {
    if (s->rank == 0) *fan_in = *fan_out = 1;
    else if (s->rank == 1) *fan_in = *fan_out = s->dim[0];
    else {
        int field = 1;
        for (int i = 0; i + 2 < s->rank; i++) field *= s->dim[i];
        *fan_in = s->dim[s->rank - 2] * field;
        *fan_out = s->dim[s->rank - 1] * field;
    }
}

/* ---- ReLU -------------------------------------------------------------------------------- */

nnc_relu_opts nnc_relu_opts_default(void) {
    nnc_relu_opts o;
    memset(&o, 0, sizeof o);
    return o;
}

static nnc_node relu_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_relu_opts *o = opts;
    if (!m || m->sticky) return NNC_NONE;
    /* Keras refuses the negative values too */
    if (!(o->negative_slope >= 0.0f && o->negative_slope < 1e30f) || !(o->threshold >= 0.0f && o->threshold < 1e30f) ||
        (o->has_max_value && !(o->max_value >= 0.0f && o->max_value < 1e30f))) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "ReLU '%s': max_value, negative_slope and threshold must be finite "
                             "and >= 0", name ? name : "re_lu");
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, &nnc_relu_desc, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    nnc_op_attr at = {0};
    int y;
    if (!o->has_max_value && o->threshold == 0.0f) { /* relu or leaky relu: the fusable op */
        at.act = o->negative_slope == 0.0f ? NNC_ACT_RELU : NNC_ACT_LEAKY_RELU;
        at.alpha = o->negative_slope;
        y = nnc_graph_op(m, NNC_OP_ACT, &x, 1, at);
    } else {
        at.act = NNC_ACT_RELU;
        at.alpha = o->negative_slope;
        at.threshold = o->threshold;
        at.max_value = o->has_max_value ? o->max_value : INFINITY;
        y = nnc_graph_op(m, NNC_OP_ACT_EX, &x, 1, at);
    }
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_relu(nnc_model *m, nnc_node x, const nnc_relu_opts *o) { return relu_build(m, &x, 1, o, o->name); }

static void relu_defaults(void *o) { *(nnc_relu_opts *)o = nnc_relu_opts_default(); }

static const nnc_opt_desc relu_opts[] = {
    {NNC_OPT_ROW("max_value", NNC_OPT_OPTIONAL_FLOAT, nnc_relu_opts, max_value, 0),
     .aux = offsetof(nnc_relu_opts, has_max_value), .lo = 0, .hi = 1e30, .help = "the ceiling (None: none)"},
    {NNC_OPT_ROW("negative_slope", NNC_OPT_FLOAT, nnc_relu_opts, negative_slope, 1), .lo = 0, .hi = 1e30,
     .help = "the slope below the threshold"},
    {NNC_OPT_ROW("threshold", NNC_OPT_FLOAT, nnc_relu_opts, threshold, 2), .lo = 0, .hi = 1e30,
     .help = "values up to it are in the sloped part"},
};

const nnc_layer_desc nnc_relu_desc = {
    "ReLU", "relu", "re_lu", "min(x, max_value) above threshold, negative_slope·(x − threshold) below",
    sizeof(nnc_relu_opts), offsetof(nnc_relu_opts, name), relu_defaults, relu_opts, NNC_OPT_COUNT_OF(relu_opts),
    1, 1, NNC_LAYERF_MASK_PASS, relu_build};

/* ---- PReLU ------------------------------------------------------------------------------- */

nnc_prelu_opts nnc_prelu_opts_default(void) {
    nnc_prelu_opts o;
    memset(&o, 0, sizeof o);
    o.alpha_initializer = nnc_initializer_default(NNC_INIT_ZEROS);
    return o;
}

static nnc_node prelu_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_prelu_layer_opts *o = opts;
    if (!m || m->sticky) return NNC_NONE;
    const nnc_regularizer *r = &o->alpha_regularizer;
    if ((unsigned)o->alpha_initializer.kind >= NNC_INIT_COUNT ||
        !(r->l1 >= 0.0f && r->l2 >= 0.0f && r->l1 < 1e30f && r->l2 < 1e30f)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "PReLU '%s': unknown initializer or a regularization factor that is "
                             "not finite and >= 0", name ? name : "p_re_lu");
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, &nnc_prelu_desc, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    nnc_shape as = m->nodes[x].shape; /* Keras: the input's shape less its batch axis ... */
    for (int i = 0; i < o->shared_axes.rank; i++) {
        const int a = o->shared_axes.dim[i];
        if (a < 1 || a > as.rank) {
            m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "PReLU '%s': shared axis %d is not an axis of inputs of rank %d "
                                 "(1 is the first after the batch)", m->layers[l].name, a, as.rank + 1);
            return NNC_NONE;
        }
        as.dim[a - 1] = 1; /* ... with 1 on each shared axis */
    }
    int fi, fo;
    nnc_keras_fans(&as, &fi, &fo);
    int alpha = nnc_layer_param(m, l, "alpha", &as, o->alpha_initializer, fi, fo, 1);
    if (alpha < 0) return NNC_NONE;
    int ins[2] = {x, alpha};
    int y = nnc_graph_op(m, NNC_OP_PRELU, ins, 2, (nnc_op_attr){0});
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_prelu(nnc_model *m, nnc_node x, const nnc_prelu_opts *o) {
    nnc_prelu_layer_opts lo = {o->alpha_initializer, o->alpha_regularizer, {0, {0}}};
    if (m && !m->sticky && (o->n_shared_axes < 0 || o->n_shared_axes > NNC_MAX_RANK)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "PReLU: %d shared axes (0..%d)", o->n_shared_axes, NNC_MAX_RANK);
        return NNC_NONE;
    }
    lo.shared_axes.rank = o->n_shared_axes;
    for (int i = 0; i < o->n_shared_axes; i++) lo.shared_axes.dim[i] = o->shared_axes[i];
    return prelu_build(m, &x, 1, &lo, o->name);
}

static void prelu_defaults(void *o) {
    nnc_prelu_opts d = nnc_prelu_opts_default();
    *(nnc_prelu_layer_opts *)o = (nnc_prelu_layer_opts){d.alpha_initializer, d.alpha_regularizer, {0, {0}}};
}

static const nnc_opt_desc prelu_opts[] = {
    {NNC_OPT_ROW("alpha_initializer", NNC_OPT_INITIALIZER, nnc_prelu_layer_opts, alpha_initializer, -1)},
    {NNC_OPT_ROW("alpha_regularizer", NNC_OPT_REGULARIZER, nnc_prelu_layer_opts, alpha_regularizer, -1),
     .help = "penalty on alpha added to the loss"},
    {.key = "alpha_constraint", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
    {NNC_OPT_ROW("shared_axes", NNC_OPT_SHAPE, nnc_prelu_layer_opts, shared_axes, -1), .lo = 1, .hi = NNC_MAX_RANK,
     .flags = NNC_OPTF_SCALAR | NNC_OPTF_EMPTY_IS_NONE,
     .help = "axes (1 the first after the batch) sharing one alpha, e.g. [1,2] for images"},
};

const nnc_layer_desc nnc_prelu_desc = {
    "PReLU", "prelu", "p_re_lu", "x above 0, alpha·x below, alpha trained (one per value, less shared axes)",
    sizeof(nnc_prelu_layer_opts), NNC_NO_NAME_FIELD, prelu_defaults, prelu_opts, NNC_OPT_COUNT_OF(prelu_opts),
    1, 1, NNC_LAYERF_MASK_PASS, prelu_build};

/* ---- ELU --------------------------------------------------------------------------------- */

static nnc_node elu_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const float alpha = ((const nnc_elu_opts *)opts)->alpha;
    if (m && !m->sticky && !(fabsf(alpha) < 1e30f)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "ELU '%s': alpha must be finite", name ? name : "elu");
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, &nnc_elu_desc, in, n_in, opts, name, &x);
    if (l < 0) return NNC_NONE;
    /* alpha 1 is the elu activation, which fuses */
    nnc_op_attr at = {.act = NNC_ACT_ELU, .alpha = alpha};
    int y = nnc_graph_op(m, alpha == 1.0f ? NNC_OP_ACT : NNC_OP_ACT_EX, &x, 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_elu(nnc_model *m, nnc_node x, float alpha, const char *name) {
    nnc_elu_opts o = {alpha};
    return elu_build(m, &x, 1, &o, name);
}

static void elu_defaults(void *o) { ((nnc_elu_opts *)o)->alpha = 1.0f; }

static const nnc_opt_desc elu_opts[] = {
    /* Keras 3's ELU does not write alpha (its get_config is the base one); Keras 2 did */
    {NNC_OPT_ROW("alpha", NNC_OPT_FLOAT, nnc_elu_opts, alpha, 0), .lo = -1e30, .hi = 1e30,
     .help = "the scale of the negative part"},
};

const nnc_layer_desc nnc_elu_desc = {
    "ELU", "elu", "elu", "x above 0, alpha·(eˣ − 1) below", sizeof(nnc_elu_opts), NNC_NO_NAME_FIELD, elu_defaults,
    elu_opts, NNC_OPT_COUNT_OF(elu_opts), 1, 1, NNC_LAYERF_MASK_PASS, elu_build};
