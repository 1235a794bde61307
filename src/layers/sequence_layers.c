/* Keras's Embedding and Masking (keras/src/layers/core/embedding.py, masking.py): the layers
 * that start a sequence's mask (nnc_node_rec.mask), which the layers after them pass on or
 * consume (registry.c). */
#include <string.h>
#include "layers.h"

/* ---- Embedding ----------------------------------------------------------------------------- */

nnc_embedding_opts nnc_embedding_opts_default(int input_dim, int output_dim) {
    nnc_embedding_opts o;
    memset(&o, 0, sizeof o);
    o.input_dim = input_dim;
    o.output_dim = output_dim;
    o.embeddings_initializer = nnc_initializer_default(NNC_INIT_RANDOM_UNIFORM);
    return o;
}

static nnc_node embedding_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts,
                                const char *name) {
    const nnc_embedding_opts *o = opts;
    if (!m || m->sticky) return NNC_NONE;
    const nnc_regularizer *r = &o->embeddings_regularizer;
    if (o->input_dim <= 0 || o->output_dim <= 0 || (unsigned)o->embeddings_initializer.kind >= NNC_INIT_COUNT ||
        !(r->l1 >= 0.0f && r->l2 >= 0.0f && r->l1 < 1e30f && r->l2 < 1e30f)) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "Embedding '%s': input_dim and output_dim must be positive, the "
                             "initializer known and the regularizer finite and >= 0", name ? name : "embedding");
        return NNC_NONE;
    }
    int x;
    int l = nnc_layer_start(m, &nnc_embedding_desc, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    if (o->input_length > 0 && (nnc_node_any_length(m, x) || m->nodes[x].shape.dim[0] != o->input_length)) {
        if (nnc_node_any_length(m, x))
            m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "Embedding '%s': input_length %d, but its input takes sequences "
                                 "of any length (None): which length the model runs at is ambiguous (give the input "
                                 "that length, or drop input_length)", m->layers[l].name, o->input_length);
        else
            m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "Embedding '%s': input_length %d, but its input has %d steps: "
                                 "nnc never cuts or pads a sequence", m->layers[l].name, o->input_length,
                                 m->nodes[x].shape.dim[0]);
        return NNC_NONE;
    }
    nnc_shape ts = {2, {o->input_dim, o->output_dim}};
    int t = nnc_layer_param(m, l, "embeddings", &ts, o->embeddings_initializer, o->input_dim, o->output_dim, 1);
    if (t < 0) return NNC_NONE;
    int mask = -1;
    if (o->mask_zero) { /* made before the output: registry.c finds a mask's layer that way */
        nnc_op_attr at = {0};
        at.scale = 0.0f;
        if ((mask = nnc_graph_op(m, NNC_OP_SEQ_MASK, &x, 1, at)) < 0) return NNC_NONE;
    }
    int ops[2] = {x, t};
    int y = nnc_graph_op(m, NNC_OP_EMBEDDING, ops, 2, (nnc_op_attr){0});
    if (y < 0) return NNC_NONE;
    m->nodes[y].mask = mask;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_embedding(nnc_model *m, nnc_node ids, const nnc_embedding_opts *o) {
    return embedding_build(m, &ids, 1, o, o->name);
}

static void embedding_defaults(void *o) { *(nnc_embedding_opts *)o = nnc_embedding_opts_default(0, 0); }

static const nnc_opt_desc embedding_opts[] = {
    {NNC_OPT_ROW("input_dim", NNC_OPT_INT, nnc_embedding_opts, input_dim, 0), .lo = 1, .hi = 1 << 24,
     .flags = NNC_OPTF_REQUIRED, .example = "embedding 10000 16", .help = "the vocabulary: ids 0 .. input_dim − 1"},
    {NNC_OPT_ROW("output_dim", NNC_OPT_INT, nnc_embedding_opts, output_dim, 1), .lo = 1, .hi = 1 << 24,
     .flags = NNC_OPTF_REQUIRED, .example = "embedding 10000 16", .help = "features of each id's vector"},
    {NNC_OPT_ROW("embeddings_initializer", NNC_OPT_INITIALIZER, nnc_embedding_opts, embeddings_initializer, -1)},
    {NNC_OPT_ROW("embeddings_regularizer", NNC_OPT_REGULARIZER, nnc_embedding_opts, embeddings_regularizer, -1),
     .help = "penalty on the table added to the loss"},
    {.key = "activity_regularizer", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
    {NNC_OPT_ROW("mask_zero", NNC_OPT_BOOL, nnc_embedding_opts, mask_zero, -1),
     .help = "id 0 is padding: the output's mask is id != 0"},
    /* Keras 2's fixed length, checked against the Input's shape (which gives it in nnc) */
    {NNC_OPT_ROW("input_length", NNC_OPT_INT, nnc_embedding_opts, input_length, -1), .lo = 0, .hi = 1 << 24,
     .flags = NNC_OPTF_CONFIG_ONLY | NNC_OPTF_UNWRITTEN | NNC_OPTF_ZERO_IS_NONE,
     .help = "Keras 2's fixed sequence length: must be the input's"},
};

const nnc_layer_desc nnc_embedding_desc = {
    "Embedding", "embedding", "embedding", "each token id (a whole number) to its row of a trained table",
    sizeof(nnc_embedding_opts), offsetof(nnc_embedding_opts, name), embedding_defaults, embedding_opts,
    NNC_OPT_COUNT_OF(embedding_opts), 1, 1, NNC_LAYERF_MASK_CONSUME, embedding_build};

/* ---- Masking ------------------------------------------------------------------------------- */

typedef struct { float mask_value; } nnc_masking_opts;

static nnc_node masking_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_masking_opts *o = opts;
    if (!m || m->sticky) return NNC_NONE;
    int x;
    int l = nnc_layer_start(m, &nnc_masking_desc, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    nnc_op_attr at = {0};
    at.scale = o->mask_value;
    int mask = nnc_graph_op(m, NNC_OP_SEQ_MASK, &x, 1, at);
    if (mask < 0) return NNC_NONE;
    int y = x;
    if (m->nodes[x].shape.rank == 2) { /* output = x · mask, the mask broadcast over features */
        nnc_op_attr r = {0};
        r.target = (nnc_shape){2, {m->nodes[x].shape.dim[0], 1}};
        int col = nnc_graph_op(m, NNC_OP_RESHAPE, &mask, 1, r);
        int xm[2] = {x, col};
        if (col < 0 || (y = nnc_graph_op(m, NNC_OP_MUL, xm, 2, (nnc_op_attr){0})) < 0) return NNC_NONE;
    } else {
        int xm[2] = {x, mask};
        if ((y = nnc_graph_op(m, NNC_OP_MUL, xm, 2, (nnc_op_attr){0})) < 0) return NNC_NONE;
    }
    m->nodes[y].mask = mask;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_node nnc_masking(nnc_model *m, nnc_node x, float mask_value, const char *name) {
    nnc_masking_opts o = {mask_value};
    return masking_build(m, &x, 1, &o, name);
}

static void masking_defaults(void *o) { ((nnc_masking_opts *)o)->mask_value = 0.0f; }

static const nnc_opt_desc masking_opts[] = {
    {NNC_OPT_ROW("mask_value", NNC_OPT_FLOAT, nnc_masking_opts, mask_value, 0), .lo = -1e30, .hi = 1e30,
     .help = "a step whose features all equal it is padding"},
};

const nnc_layer_desc nnc_masking_desc = {
    "Masking", "masking", "masking", "steps whose features all equal mask_value are masked (and zeroed)",
    sizeof(nnc_masking_opts), NNC_NO_NAME_FIELD, masking_defaults, masking_opts, NNC_OPT_COUNT_OF(masking_opts),
    1, 1, NNC_LAYERF_MASK_CONSUME, masking_build};
