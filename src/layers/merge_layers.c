/* Keras's merge layers beyond Add and Concatenate (keras/src/layers/merging): Subtract (two
 * inputs), Multiply, Average, Maximum and Minimum (two or more), and Dot(axes, normalize).
 * The elementwise ones fold their inputs pairwise in order, as Keras's _merge_function does,
 * with Keras's broadcasting: the example axes aligned from the right (Keras expands a shorter
 * input after its batch axis), a size-1 axis stretching; other shapes are refused, naming the
 * layer. Average is the sum times 1/n (Keras divides by n: the two can differ in the last bit
 * for n not a power of 2). */
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_subtract_desc, nnc_multiply_desc, nnc_average_desc, nnc_maximum_desc,
    nnc_minimum_desc, nnc_dot_desc;

static const nnc_opt_desc no_opts[1] = {{0}};
static void no_defaults(void *o) { memset(o, 0, sizeof(nnc_no_opts)); }

/* in[0] op in[1] op ... op in[n-1], left to right; then ×1/n for Average. */
static nnc_node fold(nnc_model *m, const nnc_layer_desc *d, const nnc_node *xs, int n, const void *opts,
                     const char *name, nnc_op op, int average) {
    int in[NNC_MAX_INPUTS];
    int l = nnc_layer_start(m, d, xs, n, opts, name, in);
    if (l < 0) return NNC_NONE;
    int y = in[0];
    for (int i = 1; i < n; i++) {
        int pair[2] = {y, in[i]};
        if ((y = nnc_graph_op(m, op, pair, 2, (nnc_op_attr){0})) < 0) return NNC_NONE;
    }
    if (average && (y = nnc_graph_op(m, NNC_OP_AFFINE, &y, 1, (nnc_op_attr){.scale = 1.0f / (float)n})) < 0)
        return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

static nnc_node subtract_build(nnc_model *m, const nnc_node *xs, int n, const void *o, const char *name) {
    return fold(m, &nnc_subtract_desc, xs, n, o, name, NNC_OP_SUB, 0);
}
static nnc_node multiply_build(nnc_model *m, const nnc_node *xs, int n, const void *o, const char *name) {
    return fold(m, &nnc_multiply_desc, xs, n, o, name, NNC_OP_MUL, 0);
}
static nnc_node average_build(nnc_model *m, const nnc_node *xs, int n, const void *o, const char *name) {
    return fold(m, &nnc_average_desc, xs, n, o, name, NNC_OP_ADD, 1);
}
static nnc_node maximum_build(nnc_model *m, const nnc_node *xs, int n, const void *o, const char *name) {
    return fold(m, &nnc_maximum_desc, xs, n, o, name, NNC_OP_MAXIMUM, 0);
}
static nnc_node minimum_build(nnc_model *m, const nnc_node *xs, int n, const void *o, const char *name) {
    return fold(m, &nnc_minimum_desc, xs, n, o, name, NNC_OP_MINIMUM, 0);
}

nnc_node nnc_subtract(nnc_model *m, const nnc_node *xs, int n, const char *name) {
    nnc_no_opts o = {0};
    return subtract_build(m, xs, n, &o, name);
}
nnc_node nnc_multiply(nnc_model *m, const nnc_node *xs, int n, const char *name) {
    nnc_no_opts o = {0};
    return multiply_build(m, xs, n, &o, name);
}
nnc_node nnc_average(nnc_model *m, const nnc_node *xs, int n, const char *name) {
    nnc_no_opts o = {0};
    return average_build(m, xs, n, &o, name);
}
nnc_node nnc_maximum(nnc_model *m, const nnc_node *xs, int n, const char *name) {
    nnc_no_opts o = {0};
    return maximum_build(m, xs, n, &o, name);
}
nnc_node nnc_minimum(nnc_model *m, const nnc_node *xs, int n, const char *name) {
    nnc_no_opts o = {0};
    return minimum_build(m, xs, n, &o, name);
}

/* Two inputs or more, as Add (Keras 2 asked for two; Keras 3 takes one too) */
#define MERGE_DESC(var, cls, kw, help, max, build)                                                                 \
    const nnc_layer_desc var = {cls, kw, kw, help, sizeof(nnc_no_opts), NNC_NO_NAME_FIELD, no_defaults, no_opts, 0, \
                                2, max, NNC_LAYERF_LIST_INPUT | NNC_LAYERF_MASK_PASS, build}

MERGE_DESC(nnc_subtract_desc, "Subtract", "subtract", "its first input less its second", 2, subtract_build);
MERGE_DESC(nnc_multiply_desc, "Multiply", "multiply", "the elementwise product of its inputs", NNC_MAX_INPUTS,
           multiply_build);
MERGE_DESC(nnc_average_desc, "Average", "average", "the elementwise mean of its inputs", NNC_MAX_INPUTS,
           average_build);
MERGE_DESC(nnc_maximum_desc, "Maximum", "maximum", "the elementwise maximum of its inputs", NNC_MAX_INPUTS,
           maximum_build);
MERGE_DESC(nnc_minimum_desc, "Minimum", "minimum", "the elementwise minimum of its inputs", NNC_MAX_INPUTS,
           minimum_build);

/* ---- Dot --------------------------------------------------------------------------------- */

/* Keras's axis a (the batch axis 0) of an input with `rank` example axes, as an example axis;
 * -1 when it is the batch axis or out of range. Negative axes count from the end, per input. */
static int dot_axis(int a, int rank) {
    const int full = rank + 1;
    if (a < 0) a = ((a % full) + full) % full; /* Python's a % full */
    return a >= 1 && a <= rank ? a - 1 : -1;
}

static nnc_node dot_build(nnc_model *m, const nnc_node *xs, int n, const void *opts, const char *name) {
    const nnc_dot_opts *o = opts;
    int in[NNC_MAX_INPUTS];
    int l = nnc_layer_start(m, &nnc_dot_desc, xs, n, opts, name, in);
    if (l < 0) return NNC_NONE;
    nnc_op_attr at = {0};
    const int given = o->axes.rank;
    for (int k = 0; k < 2; k++) {
        const int a = given == 1 ? o->axes.dim[0] : given == 2 ? o->axes.dim[k] : 0;
        at.axes[k] = dot_axis(a, m->nodes[in[k]].shape.rank);
        if (given < 1 || given > 2 || at.axes[k] < 0) {
            m->sticky = nnc_fail(m, NNC_ERR_ARG, "Dot '%s': axes must be one axis or two (one per input), not the "
                                 "batch axis 0; input %d has %d axes with the batch", m->layers[l].name, k + 1,
                                 m->nodes[in[k]].shape.rank + 1);
            return NNC_NONE;
        }
    }
    int ins[2] = {in[0], in[1]};
    for (int k = 0; o->normalize && k < 2; k++) {
        nnc_op_attr na = {0};
        na.axis = at.axes[k];
        if ((ins[k] = nnc_graph_op(m, NNC_OP_L2_NORMALIZE, &in[k], 1, na)) < 0) return NNC_NONE;
    }
    int y = nnc_graph_op(m, NNC_OP_BATCH_DOT, ins, 2, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_dot(nnc_model *m, nnc_node a, nnc_node b, int axis_a, int axis_b, bool normalize, const char *name) {
    nnc_dot_opts o = {{2, {axis_a, axis_b}}, normalize};
    if (axis_a == axis_b) o.axes.rank = 1; /* written as Keras writes Dot(axes=1) */
    nnc_node xs[2] = {a, b};
    return dot_build(m, xs, 2, &o, name);
}

static void dot_defaults(void *o) { *(nnc_dot_opts *)o = (nnc_dot_opts){{0, {0}}, false}; }

static const nnc_opt_desc dot_opts[] = {
    {NNC_OPT_ROW("axes", NNC_OPT_SHAPE, nnc_dot_opts, axes, 0), .lo = -NNC_MAX_RANK - 1, .hi = NNC_MAX_RANK,
     .flags = NNC_OPTF_REQUIRED | NNC_OPTF_SCALAR, .example = "dot 1",
     .help = "the axis summed: one for both inputs or [a,b] (Keras's count: 1 the first after the batch)"},
    {NNC_OPT_ROW("normalize", NNC_OPT_BOOL, nnc_dot_opts, normalize, 1),
     .help = "L2-normalize both along their axis first (cosine similarity)"},
};

const nnc_layer_desc nnc_dot_desc = {
    "Dot", "dot", "dot", "per example, the dot product of its two inputs along an axis of each (inputs of rank 2 or 3)",
    sizeof(nnc_dot_opts), NNC_NO_NAME_FIELD, dot_defaults, dot_opts, NNC_OPT_COUNT_OF(dot_opts), 2, 2,
    NNC_LAYERF_LIST_INPUT, dot_build};
