/* Keras 3's MultiHeadAttention: four EinsumDense projections (query, key, value: kernel [d, heads,
 * dim], bias [heads, dim]; attention_output: kernel [heads, value_dim, d_out], bias [d_out]) around
 * the scaled dot-product attention of each head, built as one MHA op (src/ops/attention.c).
 * Called as Keras's layer(query, value, key=None): one input is self-attention (query = value),
 * as the spec's Sequential lines use it. Keras's call argument use_causal_mask is an option here.
 * The masks its inputs carry (nnc_node_rec.mask) join the op as its last inputs; its output has
 * the query's mask, as in Keras. */
#include <math.h>
#include <string.h>
#include "layers.h"

extern const nnc_layer_desc nnc_multi_head_attention_desc, nnc_position_embedding_desc,
    nnc_sine_position_encoding_desc;

static int mha_bad(nnc_model *m, const nnc_mha_opts *o, const char *name) {
    if (!m || m->sticky) return 1;
    if (o->num_heads < 1 || o->key_dim < 1 || o->value_dim < 0 || o->output_shape < 0 || !(o->dropout >= 0.0f) ||
        !(o->dropout < 1.0f) || (unsigned)o->kernel_initializer.kind >= NNC_INIT_COUNT ||
        (unsigned)o->bias_initializer.kind >= NNC_INIT_COUNT) {
        m->sticky = nnc_fail(m, NNC_ERR_ARG, "MultiHeadAttention '%s': num_heads and key_dim must be positive, "
                             "dropout in [0, 1) and the initializers known", name ? name : "multi_head_attention");
        return 1;
    }
    return 0;
}

/* A kernel [a, b, c] and (use_bias) a bias [b, c] or [c]: Keras's fans of the kernel for both. */
static int mha_vars(nnc_model *m, int l, const nnc_mha_opts *o, const char *kn, const char *bn, int a, int b, int c,
                    int bias_rank, int *ins, int *n) {
    nnc_shape ks = {3, {a, b, c}}, bs = bias_rank == 2 ? (nnc_shape){2, {b, c}} : (nnc_shape){1, {c}};
    int fi, fo;
    nnc_keras_fans(&ks, &fi, &fo);
    if ((ins[(*n)++] = nnc_layer_param(m, l, kn, &ks, o->kernel_initializer, fi, fo, 1)) < 0) return -1;
    if (o->use_bias && (ins[(*n)++] = nnc_layer_param(m, l, bn, &bs, o->bias_initializer, fi, fo, 1)) < 0)
        return -1;
    return 0;
}

static nnc_node mha_build(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name) {
    const nnc_mha_opts *o = opts;
    if (mha_bad(m, o, name)) return NNC_NONE;
    int x[3];
    int l = nnc_layer_start(m, &nnc_multi_head_attention_desc, in, n_in, o, name, x);
    if (l < 0) return NNC_NONE;
    if (n_in == 1) x[1] = x[0];
    if (n_in < 3) x[2] = x[1];
    nnc_layer_rec *rec = &m->layers[l];
    for (int i = 0; i < 3; i++)
        if (m->nodes[x[i]].shape.rank != 2 || !m->nodes[x[i]].batched) {
            m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "MultiHeadAttention '%s': its inputs must be sequences "
                                 "(steps, features)", rec->name);
            return NNC_NONE;
        }
    /* value_dim's None resolved, as Keras keeps it */
    nnc_mha_opts *kept = (nnc_mha_opts *)rec->cfg.bytes;
    const int dq = m->nodes[x[0]].shape.dim[1], H = o->num_heads, kd = o->key_dim;
    const int vd = o->value_dim ? o->value_dim : kd, dout = o->output_shape ? o->output_shape : dq;
    kept->value_dim = vd; /* Keras's get_config writes value_dim resolved, output_shape as given */
    int ins[NNC_MAX_INPUTS] = {x[0], x[1], x[2]}, n = 3;
    if (mha_vars(m, l, o, "query/kernel", "query/bias", dq, H, kd, 2, ins, &n) ||
        mha_vars(m, l, o, "key/kernel", "key/bias", m->nodes[x[2]].shape.dim[1], H, kd, 2, ins, &n) ||
        mha_vars(m, l, o, "value/kernel", "value/bias", m->nodes[x[1]].shape.dim[1], H, vd, 2, ins, &n) ||
        mha_vars(m, l, o, "attention_output/kernel", "attention_output/bias", H, vd, dout, 1, ins, &n))
        return NNC_NONE;
    nnc_op_attr at = {0};
    at.heads = H, at.key_dim = kd, at.value_dim = vd, at.causal = o->use_causal_mask, at.rate = o->dropout;
    at.mha_in = o->use_bias ? NNC_MHA_BIAS : 0;
    const int qm = m->nodes[x[0]].mask, vm = m->nodes[x[1]].mask, km = m->nodes[x[2]].mask;
    if (qm >= 0) at.mha_in |= NNC_MHA_QMASK, ins[n++] = qm;
    if (vm >= 0) at.mha_in |= NNC_MHA_VMASK, ins[n++] = vm;
    if (km >= 0 && km != vm) at.mha_in |= NNC_MHA_KMASK, ins[n++] = km;
    int y = nnc_graph_op(m, NNC_OP_MHA, ins, n, at);
    if (y < 0) return NNC_NONE;
    m->nodes[y].mask = qm;
    nnc_layer_end(m, l, y);
    return y;
}

nnc_mha_opts nnc_mha_opts_default(int num_heads, int key_dim) {
    nnc_mha_opts o;
    memset(&o, 0, sizeof o);
    o.num_heads = num_heads, o.key_dim = key_dim, o.use_bias = true;
    o.kernel_initializer = nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM);
    o.bias_initializer = nnc_initializer_default(NNC_INIT_ZEROS);
    return o;
}

nnc_node nnc_multi_head_attention(nnc_model *m, nnc_node query, nnc_node value, nnc_node key, const nnc_mha_opts *o) {
    const nnc_node in[3] = {query, value, key};
    return mha_build(m, in, key == NNC_NONE ? 2 : 3, o, o->name);
}

static void mha_defaults(void *p) { *(nnc_mha_opts *)p = nnc_mha_opts_default(0, 0); }

static const nnc_opt_desc mha_opts[] = {
    {NNC_OPT_ROW("num_heads", NNC_OPT_INT, nnc_mha_opts, num_heads, 0), .lo = 1, .hi = 4096,
     .flags = NNC_OPTF_REQUIRED, .help = "the attention heads"},
    {NNC_OPT_ROW("key_dim", NNC_OPT_INT, nnc_mha_opts, key_dim, 1), .lo = 1, .hi = 1 << 20,
     .flags = NNC_OPTF_REQUIRED, .help = "each head's query and key width"},
    {NNC_OPT_ROW("value_dim", NNC_OPT_INT, nnc_mha_opts, value_dim, -1), .lo = 0, .hi = 1 << 20,
     .help = "each head's value width (0: key_dim)"},
    {NNC_OPT_ROW("dropout", NNC_OPT_FLOAT, nnc_mha_opts, dropout, -1), .lo = 0, .hi = 0.999999,
     .help = "dropout of the attention probabilities in fit"},
    {NNC_OPT_ROW("use_bias", NNC_OPT_BOOL, nnc_mha_opts, use_bias, -1), .help = "biases in the four projections"},
    {NNC_OPT_ROW("output_shape", NNC_OPT_INT, nnc_mha_opts, output_shape, -1), .lo = 0, .hi = 1 << 20,
     .flags = NNC_OPTF_ZERO_IS_NONE, .help = "the output's features (0: the query's)"},
    {NNC_OPT_ROW("use_causal_mask", NNC_OPT_BOOL, nnc_mha_opts, use_causal_mask, -1), .flags = NNC_OPTF_CALL_ARG,
     .help = "a step attends to itself and earlier steps only (Keras's call argument)"},
    {.key = "attention_axes", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
    {NNC_OPT_ROW("kernel_initializer", NNC_OPT_INITIALIZER, nnc_mha_opts, kernel_initializer, -1)},
    {NNC_OPT_ROW("bias_initializer", NNC_OPT_INITIALIZER, nnc_mha_opts, bias_initializer, -1)},
    {.key = "kernel_regularizer", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
    {.key = "bias_regularizer", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
    {.key = "activity_regularizer", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
    {.key = "kernel_constraint", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
    {.key = "bias_constraint", .type = NNC_OPT_CONST, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
    {.key = "seed", .type = NNC_OPT_FIXED, .literal = "null", .flags = NNC_OPTF_CONFIG_ONLY},
};

const nnc_layer_desc nnc_multi_head_attention_desc = {
    "MultiHeadAttention", "multi_head_attention", "multi_head_attention",
    "softmax(Q·Kᵀ/sqrt(key_dim))·V over num_heads heads of projected query, key and value, then projected "
    "(one input: self-attention)",
    sizeof(nnc_mha_opts), offsetof(nnc_mha_opts, name), mha_defaults, mha_opts, NNC_OPT_COUNT_OF(mha_opts), 1, 3,
    NNC_LAYERF_MASK_CONSUME, mha_build};

/* ---- keras-hub's PositionEmbedding and SinePositionEncoding --------------------------------- */

typedef struct {
    int sequence_length;
    nnc_initializer initializer;
} nnc_position_embedding_opts;
typedef struct { float max_wavelength; } nnc_sine_position_opts;

/* The POSITION node after x [T, d], with the table [sequence_length, d] when learned. */
static nnc_node position_build(nnc_model *m, const nnc_layer_desc *d, const nnc_node *in, int n_in, const void *o,
                               const char *name, int learned) {
    int x;
    int l = nnc_layer_start(m, d, in, n_in, o, name, &x);
    if (l < 0) return NNC_NONE;
    const nnc_shape xs = m->nodes[x].shape;
    if (xs.rank != 2) {
        m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "%s '%s': needs sequences (steps, features)", d->keras_class,
                             m->layers[l].name);
        return NNC_NONE;
    }
    nnc_op_attr at = {0};
    int ins[2] = {x, -1};
    if (learned) {
        const nnc_position_embedding_opts *p = o;
        if (p->sequence_length < xs.dim[0] || (unsigned)p->initializer.kind >= NNC_INIT_COUNT) {
            m->sticky = nnc_fail(m, NNC_ERR_SHAPE, "PositionEmbedding '%s': sequence_length %d is shorter than the "
                                 "input's %d steps, or the initializer is unknown", m->layers[l].name,
                                 p->sequence_length, xs.dim[0]);
            return NNC_NONE;
        }
        nnc_shape ts = {2, {p->sequence_length, xs.dim[1]}};
        if ((ins[1] = nnc_layer_param(m, l, "embeddings", &ts, p->initializer, ts.dim[0], ts.dim[1], 1)) < 0)
            return NNC_NONE;
    } else {
        at.max_wavelength = ((const nnc_sine_position_opts *)o)->max_wavelength;
    }
    int y = nnc_graph_op(m, NNC_OP_POSITION, ins, learned ? 2 : 1, at);
    if (y < 0) return NNC_NONE;
    m->nodes[y].mask = m->nodes[x].mask;
    nnc_layer_end(m, l, y);
    return y;
}

static nnc_node pe_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return position_build(m, &nnc_position_embedding_desc, in, n_in, o, name, 1);
}
static nnc_node spe_build(nnc_model *m, const nnc_node *in, int n_in, const void *o, const char *name) {
    return position_build(m, &nnc_sine_position_encoding_desc, in, n_in, o, name, 0);
}

nnc_node nnc_position_embedding(nnc_model *m, nnc_node x, int sequence_length, const char *name) {
    nnc_position_embedding_opts o = {sequence_length, nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM)};
    return pe_build(m, &x, 1, &o, name);
}
nnc_node nnc_sine_position_encoding(nnc_model *m, nnc_node x, float max_wavelength, const char *name) {
    nnc_sine_position_opts o = {max_wavelength};
    return spe_build(m, &x, 1, &o, name);
}

static void pe_defaults(void *p) {
    *(nnc_position_embedding_opts *)p = (nnc_position_embedding_opts){0, nnc_initializer_default(NNC_INIT_GLOROT_UNIFORM)};
}
static void spe_defaults(void *p) { *(nnc_sine_position_opts *)p = (nnc_sine_position_opts){10000.0f}; }

static const nnc_opt_desc pe_opts[] = {
    {NNC_OPT_ROW("sequence_length", NNC_OPT_INT, nnc_position_embedding_opts, sequence_length, 0), .lo = 1,
     .hi = 1 << 24, .flags = NNC_OPTF_REQUIRED, .help = "the longest sequence: the table's rows"},
    {NNC_OPT_ROW("initializer", NNC_OPT_INITIALIZER, nnc_position_embedding_opts, initializer, -1)},
};
static const nnc_opt_desc spe_opts[] = {
    {NNC_OPT_ROW("max_wavelength", NNC_OPT_FLOAT, nnc_sine_position_opts, max_wavelength, 0), .lo = 1e-6, .hi = 1e30,
     .help = "the longest wavelength of the sines"},
};

const nnc_layer_desc nnc_position_embedding_desc = {
    "PositionEmbedding", "position_embedding", "position_embedding",
    "a learned [sequence_length, features] table's first rows, one per step, to add to its input (keras-hub)",
    sizeof(nnc_position_embedding_opts), NNC_NO_NAME_FIELD, pe_defaults, pe_opts, NNC_OPT_COUNT_OF(pe_opts), 1, 1,
    NNC_LAYERF_MASK_PASS, pe_build};

const nnc_layer_desc nnc_sine_position_encoding_desc = {
    "SinePositionEncoding", "sine_position_encoding", "sine_position_encoding",
    "sin and cos of step/max_wavelength^(2i/features), to add to its input (keras-hub; no variables)",
    sizeof(nnc_sine_position_opts), NNC_NO_NAME_FIELD, spe_defaults, spe_opts, NNC_OPT_COUNT_OF(spe_opts), 1, 1,
    NNC_LAYERF_MASK_PASS, spe_build};
