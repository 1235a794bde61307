/* Keras's LayerNormalization (keras/src/layers/normalization/layer_normalization.py): each
 * example normalized over the given axes with its own mean and biased variance, then scaled by
 * gamma and shifted by beta, both shaped as those axes; the same in fit and predict. nnc takes
 * the axes Keras does (an int or a list; Keras's count, 1 the first after the batch, negative
 * from the end) as long as they are consecutive, which covers -1 and "every axis but the
 * batch". Variables gamma then beta, Keras's order. */
#include <math.h>
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_layer_normalization_desc;

nnc_layer_norm_opts nnc_layer_norm_opts_default(void) {
    nnc_layer_norm_opts o;
    memset(&o, 0, sizeof o);
    o.axis[0] = -1;
    o.n_axes = 1;
    o.epsilon = 1e-3f;
    o.center = o.scale = true;
    o.beta_initializer = nnc_initializer_default(NNC_INIT_ZEROS);
    o.gamma_initializer = nnc_initializer_default(NNC_INIT_ONES);
    return o;
}

/* The axes as example axes first .. first + count − 1; 0, or -1 with why in msg. */
static int ln_axes(const nnc_shape *axes, int rank, int *first, int *count, char *msg, size_t n) {
    int seen = 0, lo = NNC_MAX_RANK, hi = -1;
    if (axes->rank < 1) {
        snprintf(msg, n, "axis needs at least one axis");
        return -1;
    }
    for (int i = 0; i < axes->rank; i++) {
        int a = axes->dim[i] < 0 ? axes->dim[i] + rank + 1 : axes->dim[i];
        if (a < 1 || a > rank || (seen & (1 << a))) {
            snprintf(msg, n, "axis %d is %s for inputs of rank %d (1 is the first after the batch)", axes->dim[i],
                     a >= 1 && a <= rank ? "given twice" : "not an axis", rank + 1);
            return -1;
        }
        seen |= 1 << a;
        lo = a < lo ? a : lo;
        hi = a > hi ? a : hi;
    }
    if (hi - lo + 1 != axes->rank) {
        snprintf(msg, n, "axes that are not consecutive are not supported");
        return -1;
    }
    *first = lo - 1;
    *count = axes->rank;
    return 0;
}

static int bad_factor(const nnc_regularizer *r) {
    return !(r->l1 >= 0.0f && r->l2 >= 0.0f && r->l1 < 1e30f && r->l2 < 1e30f);
}

static nnc_node ln_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_layer_norm_layer_opts *o = opts;
    if (!m || m->sticky) return NNC_NONE;
    if (!(o->epsilon > 0.0f && o->epsilon < 1e30f) || (unsigned)o->beta_initializer.kind >= NNC_INIT_COUNT ||
        (unsigned)o->gamma_initializer.kind >= NNC_INIT_COUNT || bad_factor(&o->beta_regularizer) ||
        bad_factor(&o->gamma_regularizer)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "LayerNormalization '%s': epsilon must be positive, the initializers "
                             "known and the regularization factors finite and >= 0",
                             name ? name : "layer_normalization");
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, &nnc_layer_normalization_desc, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    nnc_op_attr at = {0};
    char why[160];
    const nnc_shape xs = m->nodes[x].shape;
    if (ln_axes(&o->axis, xs.rank, &at.axis, &at.axis_count, why, sizeof why)) {
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "LayerNormalization '%s': %s", m->layers[l].name, why);
        return NNC_NONE;
    }
    nnc_shape vs = {at.axis_count, {0}};
    for (int i = 0; i < at.axis_count; i++) vs.dim[i] = xs.dim[at.axis + i];
    int fi, fo, ins[3] = {x}, n = 1;
    nnc_keras_fans(&vs, &fi, &fo);
    if (o->scale && (ins[n++] = nnc_layer_param(m, l, "gamma", &vs, o->gamma_initializer, fi, fo, 1)) < 0)
        return NNC_NONE;
    if (o->center && (ins[n++] = nnc_layer_param(m, l, "beta", &vs, o->beta_initializer, fi, fo, 1)) < 0)
        return NNC_NONE;
    at.eps = o->epsilon;
    at.scale_on = o->scale;
    at.center = o->center;
    int y = nnc_graph_op(m, NNC_OP_LAYER_NORM, ins, n, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_layer_normalization(nnc_model *m, nnc_node x, const nnc_layer_norm_opts *o) {
    if (m && !m->sticky && (o->n_axes < 1 || o->n_axes > NNC_MAX_RANK)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "LayerNormalization: %d axes (1..%d)", o->n_axes, NNC_MAX_RANK);
        return NNC_NONE;
    }
    nnc_layer_norm_layer_opts lo = {{o->n_axes, {0}}, o->epsilon, o->center, o->scale, o->beta_initializer,
                                    o->gamma_initializer, o->beta_regularizer, o->gamma_regularizer};
    for (int i = 0; i < o->n_axes; i++) lo.axis.dim[i] = o->axis[i];
    return ln_build(m, &x, 1, &lo, o->name);
}

static void ln_defaults(void *p) {
    const nnc_layer_norm_opts o = nnc_layer_norm_opts_default();
    *(nnc_layer_norm_layer_opts *)p = (nnc_layer_norm_layer_opts){
        {1, {-1}}, o.epsilon, o.center, o.scale, o.beta_initializer, o.gamma_initializer, o.beta_regularizer,
        o.gamma_regularizer};
}

/* The regularizer rows in the order of the variables (gamma, then beta), each counted only when
 * its variable exists (NNC_OPTF_IF_AUX): the penalties follow the variables by place. */
static const nnc_opt_desc ln_opts[] = {
    {NNC_OPT_ROW("axis", NNC_OPT_SHAPE, nnc_layer_norm_layer_opts, axis, 0), .lo = -NNC_MAX_RANK - 1,
     .hi = NNC_MAX_RANK, .flags = NNC_OPTF_SCALAR,
     .help = "the axes normalized together: one or a list of consecutive ones (Keras's count)"},
    {NNC_OPT_ROW("epsilon", NNC_OPT_FLOAT, nnc_layer_norm_layer_opts, epsilon, 1), .lo = 1e-30, .hi = 1e30,
     .help = "added to the variance"},
    {NNC_OPT_ROW("center", NNC_OPT_BOOL, nnc_layer_norm_layer_opts, center, -1), .help = "learn an offset beta"},
    {NNC_OPT_ROW("scale", NNC_OPT_BOOL, nnc_layer_norm_layer_opts, scale, -1), .help = "learn a factor gamma"},
    {.key = "rms_scaling", .type = NNC_OPT_CONST, .literal = "false", .flags = NNC_OPTF_CONFIG_ONLY},
    {NNC_OPT_ROW("beta_initializer", NNC_OPT_INITIALIZER, nnc_layer_norm_layer_opts, beta_initializer, -1)},
    {NNC_OPT_ROW("gamma_initializer", NNC_OPT_INITIALIZER, nnc_layer_norm_layer_opts, gamma_initializer, -1)},
    {NNC_OPT_ROW("gamma_regularizer", NNC_OPT_REGULARIZER, nnc_layer_norm_layer_opts, gamma_regularizer, -1),
     .aux = offsetof(nnc_layer_norm_layer_opts, scale), .flags = NNC_OPTF_IF_AUX},
    {NNC_OPT_ROW("beta_regularizer", NNC_OPT_REGULARIZER, nnc_layer_norm_layer_opts, beta_regularizer, -1),
     .aux = offsetof(nnc_layer_norm_layer_opts, center), .flags = NNC_OPTF_IF_AUX},
    {.key = "beta_constraint", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
    {.key = "gamma_constraint", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
};

const nnc_layer_desc nnc_layer_normalization_desc = {
    "LayerNormalization", "layer_normalization", "layer_normalization",
    "each example's (x − mean)/sqrt(variance + epsilon)·gamma + beta over the given axes, in fit and predict alike",
    sizeof(nnc_layer_norm_layer_opts), NNC_NO_NAME_FIELD, ln_defaults, ln_opts, NNC_OPT_COUNT_OF(ln_opts), 1, 1,
    NNC_LAYERF_MASK_PASS, ln_build};
