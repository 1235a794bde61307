/* The layer descriptors: one row per Keras layer class, holding its class name, its spec
 * keyword, the stem of its default names, its options (src/core/options.h rows with offsetof
 * into its options struct) and the function that builds its subgraph. Everything that reads or
 * writes layers goes through these rows: the spec parser, the Keras-config writer and reader,
 * summary, did-you-mean lists and the docs' tables. A new layer is its options struct and
 * table, its build function and its row, side by side in its file, plus one line in the
 * registry (registry.c). */
#ifndef NNC_LAYERS_H
#define NNC_LAYERS_H
#include "../core/layers_impl.h"
#include "../core/options.h"

enum {
    NNC_LAYERF_INPUT = 1u << 0,           /* the model's Input: the spec's `input` statement */
    NNC_LAYERF_STATE_FROM_DATA = 1u << 1, /* its variables are statistics of the data (set by
                                           * nnc_adapt), not draws from an initializer */
    NNC_LAYERF_LIST_INPUT = 1u << 2,      /* takes its inputs as one list (Keras's merge layers) */
    /* the activation, noise, merge and normalization layers (layers-a2) */
    NNC_LAYERF_NO_TRAINABLE_KEY = 1u << 8, /* its config has no "trainable" (Keras's spatial
                                            * dropouts refuse the key) */
    NNC_LAYERF_ACTIVITY_OPTS = 1u << 9,   /* its options are an nnc_regularizer on its output
                                           * (ActivityRegularization's l1, l2) */
    /* sequences (issue 14): what a layer does with its input's mask (nnc_node_rec.mask). A
     * layer with neither flag refuses a masked input with an error naming it, as Keras does. */
    NNC_LAYERF_MASK_PASS = 1u << 10,      /* acts per time step: its output has its input's mask */
    NNC_LAYERF_MASK_CONSUME = 1u << 11,   /* reads the mask itself (its build sets the output's) */
    /* recurrent layers (issue 14): up to NNC_LAYER_MORE_OUTPUTS inputs after its max_inputs are
     * Keras's call argument initial_state, not data (spec: initial_state=[...]; Keras 3's
     * config: the call's kwargs; Keras 2's: further inbound tensors); its build checks them */
    NNC_LAYERF_INITIAL_STATE = 1u << 12,
};

typedef struct nnc_layer_desc {
    const char *keras_class; /* "Dense" */
    const char *keyword;     /* the spec's statement: "dense" */
    const char *stem;        /* default names: "dense", "dense_1", ... */
    const char *help;        /* one line for the docs */
    size_t opts_size;        /* its options struct, kept in the layer record */
    size_t name_offset;      /* offsetof its `const char *name`, or NNC_NO_NAME_FIELD */
    void (*defaults)(void *opts); /* Keras's defaults */
    const nnc_opt_desc *opts;
    int n_opts;
    int min_inputs, max_inputs;
    unsigned flags;          /* NNC_LAYERF_* */
    /* Appends the layer to the graph: n_in inputs (NNC_PREV allowed), its options, its name
     * (NULL: the default); its output, or NNC_NONE with the error recorded on m. */
    nnc_node (*build)(nnc_model *m, const nnc_node *in, int n_in, const void *opts, const char *name);
} nnc_layer_desc;

#define NNC_NO_NAME_FIELD ((size_t)-1)

/* Options of the layers whose public builders take plain arguments. */
typedef struct { nnc_shape shape; } nnc_input_opts;
typedef struct { nnc_activation activation; } nnc_activation_layer_opts;
typedef struct { int axis; } nnc_axis_opts;             /* Concatenate, Normalization, Softmax */
typedef struct { float scale, offset; } nnc_rescaling_opts;
typedef struct { float negative_slope; } nnc_leaky_relu_opts;
typedef struct { nnc_shape target_shape; } nnc_reshape_opts;
typedef struct { int padding[4]; } nnc_zero_padding_opts; /* top, bottom, left, right */
typedef struct { float rate; } nnc_dropout_opts;
typedef struct { int unused; } nnc_no_opts;
/* the convolution family's shape layers (layers-b) */
typedef struct { int padding[2]; } nnc_pad1d_opts;       /* ZeroPadding1D, Cropping1D: (left, right) */
typedef struct { int size; } nnc_up_sampling1d_opts;
typedef struct { int size[2]; int interpolation; } nnc_up_sampling2d_opts; /* 0 nearest, 1 bilinear */

/* TensorFlow's 'same' on an axis of n cells for a window of effective size k_eff: ceil(n /
 * stride) outputs, total padding max((out − 1)·stride + k_eff − n, 0), the odd cell after;
 * zeros when !same. */
static inline void nnc_same_padding(int n, int k_eff, int stride, int same, int *before, int *after) {
    int out = (n + stride - 1) / stride, total = same ? (out - 1) * stride + k_eff - n : 0;
    if (total < 0) total = 0;
    *before = total / 2;
    *after = total - total / 2;
}
/* the activation, noise, merge and normalization layers (layers-a2) */
typedef struct { nnc_shape axis; } nnc_softmax_opts;      /* Keras's int or list of one */
typedef struct { float alpha; } nnc_elu_opts;
typedef struct { float stddev; } nnc_gaussian_noise_opts;
typedef struct { nnc_shape dims; } nnc_permute_opts;
typedef struct { int n; } nnc_repeat_vector_opts;
typedef struct { nnc_shape axes; bool normalize; } nnc_dot_opts; /* axes: one or two */
typedef struct {
    nnc_initializer alpha_initializer;
    nnc_regularizer alpha_regularizer;
    nnc_shape shared_axes;                /* Keras's axes; rank 0 is None */
} nnc_prelu_layer_opts;
typedef struct {
    nnc_shape axis;                       /* Keras's axes, consecutive */
    float epsilon;
    bool center, scale;
    nnc_initializer beta_initializer, gamma_initializer;
    nnc_regularizer beta_regularizer, gamma_regularizer;
} nnc_layer_norm_layer_opts;

/* sequences: embedding and masks */
extern const nnc_layer_desc nnc_embedding_desc, nnc_masking_desc;

/* The registry, in the order the docs list the layers. */
extern const nnc_layer_desc *const nnc_layer_registry[];
extern const int nnc_layer_registry_count;
/* The row of a spec keyword or a Keras class name; NULL when none. */
const nnc_layer_desc *nnc_layer_by_keyword(const char *keyword);
const nnc_layer_desc *nnc_layer_by_class(const char *keras_class);

/* What the code above needs to know of a layer. */
static inline const char *nnc_layer_class(const nnc_layer_rec *l) { return l->desc->keras_class; }
/* Its variables' regularizers (rs[i] for its variable i < 3, in the order of its regularizer
 * rows: kernel then bias, or depthwise, pointwise, bias) and its activity regularizer (rs[3]);
 * 0 when the layer has none. */
#define NNC_LAYER_REGULARIZERS 4
int nnc_layer_regularizers(const nnc_layer_rec *l, nnc_regularizer rs[NNC_LAYER_REGULARIZERS]);
/* True for layers whose variables come from nnc_adapt (Normalization). */
static inline int nnc_layer_state_from_data(const nnc_layer_rec *l) {
    return (l->desc->flags & NNC_LAYERF_STATE_FROM_DATA) != 0;
}
/* The options a layer was built with. */
static inline const void *nnc_layer_opts(const nnc_layer_rec *l) { return l->cfg.bytes; }

/* Keras's fans of a variable of this shape (compute_fans), for fan-scaled initializers. */
void nnc_keras_fans(const nnc_shape *s, int *fan_in, int *fan_out);

/* A layer's activation as a node after x (x itself for linear); -1 on error. */
int nnc_apply_activation(nnc_model *m, int x, nnc_activation a);
/* Dense's options checked (who: the class the error names): 0, or -1 with the error set. */
int nnc_dense_opts_check(nnc_model *m, const nnc_dense_opts *o, const char *who, const char *name);
/* Dense's ops in layer l on node x's last axis (kernel, bias, activation), as Dense and
 * TimeDistributed(Dense) build them: the output node, or -1. */
int nnc_dense_ops(nnc_model *m, int l, int x, const nnc_dense_opts *o);


/* For build functions: resolves the inputs, starts the layer (its name checked or made) and
 * keeps a copy of its options; the layer's index, or -1 with the error recorded. */
int nnc_layer_start(nnc_model *m, const nnc_layer_desc *d, const nnc_node *in, int n_in,
                    const void *opts, const char *name, int *resolved);

#endif
