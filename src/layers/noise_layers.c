/* Keras's regularization layers other than Dropout (keras/src/layers/regularization):
 * SpatialDropout1D and SpatialDropout2D (whole channels dropped), GaussianNoise (additive),
 * GaussianDropout (multiplicative), all active in fit only and drawn from the model's RNG as
 * Dropout is; and ActivityRegularization, the identity whose output carries an l1/l2 penalty
 * (the activity-regularizer machinery of Dense: src/train/compile.c gathers it). Keras's
 * `seed` is written as null and ignored on reading: nnc's draws follow the model's seed. */
#include <math.h>
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_spatial_dropout1d_desc, nnc_spatial_dropout2d_desc, nnc_gaussian_noise_desc,
    nnc_gaussian_dropout_desc, nnc_activity_regularization_desc;

#define SEED_ROW {.key = "seed", .type = NNC_OPT_FIXED, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY}

/* A layer made of one op on one input; its input must have rank example dimensions when rank
 * is not 0 (named as Keras counts, with the batch axis). */
static nnc_node one_op(nnc_model *m, const nnc_layer_desc *d, const nnc_node *in, int n_in, const void *opts,
                       const char *name, nnc_op op, nnc_op_attr at, int rank) {
    int x;
    int l = nnc_layer_start(m, d, in, n_in, opts, name, &x);
    if (l < 0) return NNC_NONE;
    if (rank && m->nodes[x].shape.rank != rank) {
        char s[64];
        nnc_shape_str(&m->nodes[x].shape, 1, s, sizeof s);
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "%s '%s': needs inputs of rank %d, got %s", d->keras_class,
                             m->layers[l].name, rank + 1, s);
        return NNC_NONE;
    }
    int y = nnc_graph_op(m, op, &x, 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

/* A rate in [0, 1), named in the error. */
static int rate_ok(nnc_model *m, const nnc_layer_desc *d, const char *name, float rate) {
    if (!m || m->sticky) return 0;
    if (rate >= 0.0f && rate < 1.0f) return 1;
    m->sticky = nnc_fail(m, NNC_ERR_ARG, "%s '%s': rate %g is not in [0, 1)", d->keras_class, name ? name : d->stem,
                         (double)rate);
    return 0;
}

static void rate_defaults(void *o) { ((nnc_dropout_opts *)o)->rate = 0.0f; }

/* ---- SpatialDropout1D and SpatialDropout2D ------------------------------------------------ */

static nnc_node spatial_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name,
                              const nnc_layer_desc *d, int rank) {
    const float rate = ((const nnc_dropout_opts *)opts)->rate;
    if (!rate_ok(m, d, name, rate)) return NNC_NONE;
    nnc_op_attr at = {0};
    at.rate = rate;
    return one_op(m, d, in, n_in, opts, name, NNC_OP_SPATIAL_DROPOUT, at, rank);
}

static nnc_node spatial1d_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    return spatial_build(m, in, n_in, opts, name, &nnc_spatial_dropout1d_desc, 2);
}

static nnc_node spatial2d_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    return spatial_build(m, in, n_in, opts, name, &nnc_spatial_dropout2d_desc, 3);
}

nnc_node nnc_spatial_dropout1d(nnc_model *m, nnc_node x, float rate, const char *name) {
    nnc_dropout_opts o = {rate};
    return spatial1d_build(m, &x, 1, &o, name);
}

nnc_node nnc_spatial_dropout2d(nnc_model *m, nnc_node x, float rate, const char *name) {
    nnc_dropout_opts o = {rate};
    return spatial2d_build(m, &x, 1, &o, name);
}

static const nnc_opt_desc spatial1d_opts[] = {
    {NNC_OPT_ROW("rate", NNC_OPT_FLOAT, nnc_dropout_opts, rate, 0), .lo = 0, .hi = 0.999999,
     .flags = NNC_OPTF_REQUIRED, .example = "spatial_dropout1d 0.2", .help = "the fraction of channels dropped"},
    SEED_ROW,
};

static const nnc_opt_desc spatial2d_opts[] = {
    {NNC_OPT_ROW("rate", NNC_OPT_FLOAT, nnc_dropout_opts, rate, 0), .lo = 0, .hi = 0.999999,
     .flags = NNC_OPTF_REQUIRED, .example = "spatial_dropout2d 0.2", .help = "the fraction of channels dropped"},
    {.key = "data_format", .type = NNC_OPT_CONST, .literal = "\"channels_last\"",
     .help = "channels_last only: examples are (height, width, channels)"},
    SEED_ROW,
};

/* Keras's spatial dropouts take no "trainable" key (their __init__ has rate, seed, name, dtype) */
const nnc_layer_desc nnc_spatial_dropout1d_desc = {
    "SpatialDropout1D", "spatial_dropout1d", "spatial_dropout1d",
    "(steps, channels): whole channels dropped in training, identity in inference", sizeof(nnc_dropout_opts),
    NNC_NO_NAME_FIELD, rate_defaults, spatial1d_opts, NNC_OPT_COUNT_OF(spatial1d_opts), 1, 1,
    NNC_LAYERF_NO_TRAINABLE_KEY | NNC_LAYERF_MASK_PASS, spatial1d_build};

const nnc_layer_desc nnc_spatial_dropout2d_desc = {
    "SpatialDropout2D", "spatial_dropout2d", "spatial_dropout2d",
    "(height, width, channels): whole channels dropped in training, identity in inference",
    sizeof(nnc_dropout_opts), NNC_NO_NAME_FIELD, rate_defaults, spatial2d_opts, NNC_OPT_COUNT_OF(spatial2d_opts),
    1, 1, NNC_LAYERF_NO_TRAINABLE_KEY, spatial2d_build};

/* ---- GaussianNoise and GaussianDropout ---------------------------------------------------- */

static nnc_node gaussian_noise_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                                     const char *name) {
    const float sd = ((const nnc_gaussian_noise_opts *)opts)->stddev;
    if (m && !m->sticky && !(sd >= 0.0f && sd < 1e30f)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "GaussianNoise '%s': stddev must be finite and >= 0",
                             name ? name : "gaussian_noise");
        return NNC_NONE;
    }
    nnc_op_attr at = {0};
    at.stddev = sd;
    return one_op(m, &nnc_gaussian_noise_desc, in, n_in, opts, name, NNC_OP_GAUSSIAN_NOISE, at, 0);
}

nnc_node nnc_gaussian_noise(nnc_model *m, nnc_node x, float stddev, const char *name) {
    nnc_gaussian_noise_opts o = {stddev};
    return gaussian_noise_build(m, &x, 1, &o, name);
}

static void gaussian_noise_defaults(void *o) { ((nnc_gaussian_noise_opts *)o)->stddev = 0.0f; }

static const nnc_opt_desc gaussian_noise_opts[] = {
    {NNC_OPT_ROW("stddev", NNC_OPT_FLOAT, nnc_gaussian_noise_opts, stddev, 0), .lo = 0, .hi = 1e30,
     .flags = NNC_OPTF_REQUIRED, .example = "gaussian_noise 0.1", .help = "of the noise added in training"},
    SEED_ROW,
};

const nnc_layer_desc nnc_gaussian_noise_desc = {
    "GaussianNoise", "gaussian_noise", "gaussian_noise", "x + N(0, stddev²) in training, identity in inference",
    sizeof(nnc_gaussian_noise_opts), NNC_NO_NAME_FIELD, gaussian_noise_defaults, gaussian_noise_opts,
    NNC_OPT_COUNT_OF(gaussian_noise_opts), 1, 1, NNC_LAYERF_MASK_PASS,
    gaussian_noise_build};

static nnc_node gaussian_dropout_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                                       const char *name) {
    const float rate = ((const nnc_dropout_opts *)opts)->rate;
    if (!rate_ok(m, &nnc_gaussian_dropout_desc, name, rate)) return NNC_NONE;
    nnc_op_attr at = {0};
    at.rate = rate;
    return one_op(m, &nnc_gaussian_dropout_desc, in, n_in, opts, name, NNC_OP_GAUSSIAN_DROPOUT, at, 0);
}

nnc_node nnc_gaussian_dropout(nnc_model *m, nnc_node x, float rate, const char *name) {
    nnc_dropout_opts o = {rate};
    return gaussian_dropout_build(m, &x, 1, &o, name);
}

static const nnc_opt_desc gaussian_dropout_opts[] = {
    {NNC_OPT_ROW("rate", NNC_OPT_FLOAT, nnc_dropout_opts, rate, 0), .lo = 0, .hi = 0.999999,
     .flags = NNC_OPTF_REQUIRED, .example = "gaussian_dropout 0.2",
     .help = "as Dropout's: the noise's variance is rate/(1 − rate)"},
    SEED_ROW,
};

const nnc_layer_desc nnc_gaussian_dropout_desc = {
    "GaussianDropout", "gaussian_dropout", "gaussian_dropout",
    "x·N(1, rate/(1 − rate)) in training, identity in inference", sizeof(nnc_dropout_opts), NNC_NO_NAME_FIELD,
    rate_defaults, gaussian_dropout_opts, NNC_OPT_COUNT_OF(gaussian_dropout_opts), 1, 1, NNC_LAYERF_MASK_PASS,
    gaussian_dropout_build};

/* ---- ActivityRegularization --------------------------------------------------------------- */

static nnc_node activity_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_regularizer *r = opts;
    if (m && !m->sticky && !(r->l1 >= 0.0f && r->l2 >= 0.0f && r->l1 < 1e30f && r->l2 < 1e30f)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "ActivityRegularization '%s': l1 and l2 must be finite and >= 0",
                             name ? name : "activity_regularization");
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, &nnc_activity_regularization_desc, in, n_in, opts, name, &x);
    if (l < 0) return NNC_NONE;
    /* a node of its own (a copy), so that the penalty and later layers' references name it */
    nnc_op_attr at = {0};
    at.target = m->nodes[x].shape;
    int y = nnc_graph_op(m, NNC_OP_RESHAPE, &x, 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_activity_regularization(nnc_model *m, nnc_node x, float l1, float l2, const char *name) {
    nnc_regularizer o = {l1, l2};
    return activity_build(m, &x, 1, &o, name);
}

static void activity_defaults(void *o) { *(nnc_regularizer *)o = (nnc_regularizer){0.0f, 0.0f}; }

static const nnc_opt_desc activity_opts[] = {
    {NNC_OPT_ROW("l1", NNC_OPT_FLOAT, nnc_regularizer, l1, 0), .lo = 0, .hi = 1e30, .help = "factor of Σ abs(y)"},
    {NNC_OPT_ROW("l2", NNC_OPT_FLOAT, nnc_regularizer, l2, 1), .lo = 0, .hi = 1e30, .help = "factor of Σy²"},
};

const nnc_layer_desc nnc_activity_regularization_desc = {
    "ActivityRegularization", "activity_regularization", "activity_regularization",
    "the identity; l1·Σ abs(x) + l2·Σ x² of its output over the batch is added to the loss",
    sizeof(nnc_regularizer), NNC_NO_NAME_FIELD, activity_defaults, activity_opts, NNC_OPT_COUNT_OF(activity_opts),
    1, 1, NNC_LAYERF_ACTIVITY_OPTS | NNC_LAYERF_MASK_PASS, activity_build};
