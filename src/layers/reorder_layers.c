/* Keras's Permute(dims) and RepeatVector(n) (keras/src/layers/reshaping): the same values in
 * another order, or repeated. Permute's dims are Keras's: a permutation of 1..rank, 1 the first
 * axis after the batch. */
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_permute_desc, nnc_repeat_vector_desc;

static nnc_node permute_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_shape *dims = &((const nnc_permute_opts *)opts)->dims;
    int x;
    int l = nnc_layer_start(m, &nnc_permute_desc, in, n_in, opts, name, &x);
    if (l < 0) return NNC_NONE;
    const int rank = m->nodes[x].shape.rank;
    nnc_op_attr at = {0};
    int seen = 0, ok = dims->rank == rank;
    for (int i = 0; ok && i < rank; i++) {
        ok = dims->dim[i] >= 1 && dims->dim[i] <= rank && !(seen & (1 << dims->dim[i]));
        seen |= ok ? 1 << dims->dim[i] : 0;
        at.perm[i] = dims->dim[i] - 1;
    }
    if (!ok) {
        char s[64];
        nnc_shape_str(&m->nodes[x].shape, 1, s, sizeof s);
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "Permute '%s': dims must order the axes 1..%d of inputs %s, each once",
                             m->layers[l].name, rank, s);
        return NNC_NONE;
    }
    int y = nnc_graph_op(m, NNC_OP_PERMUTE, &x, 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_permute(nnc_model *m, nnc_node x, const int *dims, int n, const char *name) {
    nnc_permute_opts o = {{n, {0}}};
    if (m && !m->sticky && (!dims || n < 1 || n > NNC_MAX_RANK)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Permute: %d dims (1..%d)", n, NNC_MAX_RANK);
        return NNC_NONE;
    }
    for (int i = 0; dims && i < n && i < NNC_MAX_RANK; i++) o.dims.dim[i] = dims[i];
    return permute_build(m, &x, 1, &o, name);
}

static void permute_defaults(void *o) { memset(o, 0, sizeof(nnc_permute_opts)); }

static const nnc_opt_desc permute_opts[] = {
    {NNC_OPT_ROW("dims", NNC_OPT_SHAPE, nnc_permute_opts, dims, 0), .lo = 1, .hi = NNC_MAX_RANK,
     .flags = NNC_OPTF_REQUIRED | NNC_OPTF_REST, .example = "permute 2 1",
     .help = "where each output axis comes from (1 the first after the batch)"},
};

const nnc_layer_desc nnc_permute_desc = {
    "Permute", "permute", "permute", "the example's axes reordered (permute 2 1 transposes)",
    sizeof(nnc_permute_opts), NNC_NO_NAME_FIELD, permute_defaults, permute_opts, NNC_OPT_COUNT_OF(permute_opts), 1,
    1, 0, permute_build};

static nnc_node repeat_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const int n = ((const nnc_repeat_vector_opts *)opts)->n;
    if (m && !m->sticky && n < 1) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "RepeatVector '%s': n must be positive, got %d",
                             name ? name : "repeat_vector", n);
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, &nnc_repeat_vector_desc, in, n_in, opts, name, &x);
    if (l < 0) return NNC_NONE;
    nnc_op_attr at = {0};
    at.repeats = n;
    int y = nnc_graph_op(m, NNC_OP_REPEAT, &x, 1, at);
    if (y < 0) return NNC_NONE;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_repeat_vector(nnc_model *m, nnc_node x, int n, const char *name) {
    nnc_repeat_vector_opts o = {n};
    return repeat_build(m, &x, 1, &o, name);
}

static void repeat_defaults(void *o) { ((nnc_repeat_vector_opts *)o)->n = 0; }

static const nnc_opt_desc repeat_opts[] = {
    {NNC_OPT_ROW("n", NNC_OPT_INT, nnc_repeat_vector_opts, n, 0), .lo = 1, .hi = 1 << 24,
     .flags = NNC_OPTF_REQUIRED, .example = "repeat_vector 3", .help = "times each example's vector is repeated"},
};

const nnc_layer_desc nnc_repeat_vector_desc = {
    "RepeatVector", "repeat_vector", "repeat_vector", "(features) to (n, features): the vector n times",
    sizeof(nnc_repeat_vector_opts), NNC_NO_NAME_FIELD, repeat_defaults, repeat_opts, NNC_OPT_COUNT_OF(repeat_opts),
    1, 1, 0, repeat_build};
