/* nnc: neural networks in C, with Keras's workflow.
 *
 * Build a model (Sequential or functional), compile it with a loss, an optimizer and metrics,
 * fit it, evaluate it, predict with it, save and load it. Words and defaults are Keras 3's.
 *
 *     #include <nnc.h>
 *     nnc_model *m = nnc_model_new("digits");
 *     nnc_input(m, (int[]){64}, 1, NULL);
 *     nnc_dense_opts d = nnc_dense_opts_default(25);
 *     d.activation = NNC_ACT_RELU; d.name = "layer_1";
 *     nnc_dense(m, NNC_PREV, &d);                     // Sequential: follows the previous layer
 *     ...
 *     nnc_compile_opts c = nnc_compile_opts_default();
 *     c.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
 *     c.loss.from_logits = true;
 *     c.optimizer = nnc_adam_default();
 *     c.metrics[c.n_metrics++] = NNC_METRIC_ACCURACY;
 *     nnc_metric_config f1 = nnc_metric_default(NNC_METRIC_F1_SCORE);  // with arguments
 *     f1.average = NNC_AVERAGE_MACRO;
 *     nnc_compile_add_metric(&c, &f1);                // logs "f1_score", "val_f1_score"
 *     if (nnc_compile(m, &c) != NNC_OK) fprintf(stderr, "%s\n", nnc_last_error(m));
 *     nnc_fit_opts f = nnc_fit_opts_default(); f.epochs = 100;
 *     nnc_history *h = NULL;
 *     nnc_fit(m, x, y, n, &f, &h);
 *
 * examples/quickstart.c is the complete program. Conventions:
 * - Errors are values: functions return nnc_status; the message is in nnc_last_error(model).
 *   Builder calls are "sticky": after a failed call, later builder calls on the same model
 *   return NNC_NONE and nnc_compile returns the first error.
 * - Data is float32, row-major, one row per example. A row of x holds the features of every
 *   model input in input order; y holds one label per row (sparse categorical) or the
 *   output's values per row.
 * - No global state: models are independent and may train at once in different threads.
 */
#ifndef NNC_H
#define NNC_H

#include <signal.h> /* sig_atomic_t, for nnc_fit_opts.interrupt */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nnc_version.h" /* NNC_VERSION_MAJOR, _MINOR, _PATCH, _STRING */

#ifdef __cplusplus
extern "C" {
#endif

/* libnnc is built with hidden visibility: what this header declares is its whole export. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(default)
#endif

/* The library's version at run time; may differ from the NNC_VERSION_STRING compiled against. */
const char *nnc_version(void);
/* The product kernels this process runs, and how they were chosen: where the CPU has both
 * AVX-512 and AVX2 (or both VNNI widths), each is timed once, at the first model, and the
 * faster kept (the same bits either way). E.g. "float avx512f (timed: avx512f 1.00, avx2+fma
 * 1.31); int8 avx512-vnni (...)". NNC_GEMM / NNC_QGEMM in the environment force one. */
const char *nnc_cpu_kernels(void);

/* ---- status ---------------------------------------------------------------------------- */

typedef enum {
    NNC_OK = 0,
    NNC_ERR_ARG,      /* a bad argument: a value out of range, a name that is not known */
    NNC_ERR_SHAPE,    /* shapes that cannot connect */
    NNC_ERR_STATE,    /* a call out of order: fit before compile, build after compile */
    NNC_ERR_DATA,     /* bad training data: NaN/Inf, a label out of range */
    NNC_ERR_NUMERIC,  /* training diverged: the loss became NaN or infinite */
    NNC_ERR_IO,       /* a file could not be read or written */
    NNC_ERR_FORMAT,   /* a file is malformed */
    NNC_ERR_NOMEM,    /* out of memory */
    NNC_ERR_INTERRUPTED, /* fit stopped by its interrupt flag (Ctrl-C) */
    NNC_ERR_UNSUPPORTED, /* asks for what this build or nnc lacks (a format, a Keras layer) */
    NNC_STATUS_COUNT
} nnc_status;

/* A short constant description of a status ("shape mismatch", ...). */
const char *nnc_status_str(nnc_status s);

/* Message buffer for calls that can fail before an object exists (load, from_spec). */
typedef struct {
    char message[512];
} nnc_error;

/* ---- enumerations (the names are Keras's) ---------------------------------------------- */

typedef enum {
    NNC_ACT_LINEAR,
    NNC_ACT_SIGMOID,
    NNC_ACT_RELU,
    NNC_ACT_TANH,
    NNC_ACT_SOFTMAX,
    NNC_ACT_LEAKY_RELU,   /* negative slope 0.2 (keras.activations.leaky_relu) */
    NNC_ACT_ELU,          /* alpha 1 */
    NNC_ACT_SELU,
    NNC_ACT_GELU,         /* exact erf form */
    NNC_ACT_SWISH,        /* x * sigmoid(x), also "silu" */
    NNC_ACT_SOFTPLUS,
    NNC_ACT_HARD_SIGMOID, /* relu6(x + 3) / 6 */
    NNC_ACT_SOFTSIGN,
    NNC_ACT_EXPONENTIAL,
    NNC_ACT_COUNT
} nnc_activation;

/* Keras's name of an activation ("relu"). */
const char *nnc_activation_name(nnc_activation a);
/* Parses a Keras activation name (also "silu" for swish); NNC_ERR_ARG when unknown. */
nnc_status nnc_activation_parse(const char *name, nnc_activation *out);

typedef enum {
    NNC_INIT_GLOROT_UNIFORM,
    NNC_INIT_GLOROT_NORMAL,
    NNC_INIT_HE_UNIFORM,
    NNC_INIT_HE_NORMAL,
    NNC_INIT_LECUN_NORMAL,
    NNC_INIT_LECUN_UNIFORM,
    NNC_INIT_RANDOM_NORMAL,  /* mean a, stddev b (Keras: 0, 0.05) */
    NNC_INIT_RANDOM_UNIFORM, /* minval a, maxval b (Keras: -0.05, 0.05) */
    NNC_INIT_ZEROS,
    NNC_INIT_ONES,
    NNC_INIT_CONSTANT,       /* value a */
    NNC_INIT_ORTHOGONAL,     /* gain a (Keras: 1): rows fan_in, the columns the rest */
    NNC_INIT_COUNT
} nnc_init_kind;

typedef struct {
    nnc_init_kind kind;
    float a, b; /* parameters of random_normal, random_uniform and constant */
} nnc_initializer;

/* An initializer with Keras's default parameters. */
nnc_initializer nnc_initializer_default(nnc_init_kind kind);
/* Keras's snake_case name ("glorot_uniform"). */
const char *nnc_init_name(nnc_init_kind k);
/* Parses a Keras initializer name; NNC_ERR_ARG when unknown. */
nnc_status nnc_init_parse(const char *name, nnc_init_kind *out);

/* Keras's l1(x), l2(x) and l1_l2(l1, l2): adds l1·Σ|w| + l2·Σw² to the loss (no ½, as Keras).
 * Zero is no penalty. */
typedef struct {
    float l1, l2;
} nnc_regularizer;

/* ---- building a model ------------------------------------------------------------------ */

typedef struct nnc_model nnc_model;

/* A symbolic tensor in the model's graph (Keras's KerasTensor): the output of a layer. */
typedef int nnc_node;
#define NNC_NONE (-1) /* returned by a builder call that failed */
#define NNC_PREV (-2) /* as an input: the output of the most recently added layer (Sequential) */
#define NNC_MAX_RANK 4 /* dimensions of one example, batch axis not counted */
#define NNC_MAX_LAYERS 131072 /* layers of one model, from C, a spec file or a model file */

/* A new empty model. name may be NULL (Keras's default: "sequential" or "functional"). */
nnc_model *nnc_model_new(const char *name);
/* Frees the model and everything it owns. NULL is fine. */
void nnc_model_free(nnc_model *m);
/* The message of the last error on this model ("" when none). */
const char *nnc_last_error(const nnc_model *m);

/* Keras's Input(shape): one example's shape, batch axis excluded. name may be NULL. */
nnc_node nnc_input(nnc_model *m, const int *shape, int rank, const char *name);

typedef struct {
    int units;
    nnc_activation activation;       /* default linear */
    bool use_bias;                   /* default true */
    nnc_initializer kernel_initializer; /* default glorot_uniform */
    nnc_initializer bias_initializer;   /* default zeros */
    nnc_regularizer kernel_regularizer, bias_regularizer; /* default none */
    nnc_regularizer activity_regularizer;                 /* on the layer's output */
    const char *name;                /* NULL: "dense", "dense_1", ... as Keras names them */
} nnc_dense_opts;

/* Dense options with Keras's defaults. */
nnc_dense_opts nnc_dense_opts_default(int units);
/* Keras's Dense: y = activation(x·W + b), W [in, units]; applies to the last axis of x. */
nnc_node nnc_dense(nnc_model *m, nnc_node x, const nnc_dense_opts *o);
/* Keras's Activation layer. */
nnc_node nnc_activation_layer(nnc_model *m, nnc_node x, nnc_activation a, const char *name);
/* Keras's Softmax layer (axis -1): exp(x) / Σ exp(x) over the last axis. */
nnc_node nnc_softmax_layer(nnc_model *m, nnc_node x, const char *name);
/* Keras's Add: elementwise sum of n inputs of one shape. */
nnc_node nnc_add(nnc_model *m, const nnc_node *xs, int n, const char *name);
/* Keras's Concatenate along axis, counted as Keras does (-1 the last; 1 the first after the batch). */
nnc_node nnc_concatenate(nnc_model *m, const nnc_node *xs, int n, int axis, const char *name);
/* Keras's Rescaling: x·scale + offset (e.g. scale 1/255 for pixels). */
nnc_node nnc_rescaling(nnc_model *m, nnc_node x, float scale, float offset, const char *name);
/* Keras's Normalization (axis -1): (x − mean) / sqrt(variance) per feature, with mean and
 * variance set by nnc_adapt and saved with the model as non-trainable variables. */
nnc_node nnc_normalization(nnc_model *m, nnc_node x, const char *name);
/* Keras's LeakyReLU layer: x for x > 0, negative_slope·x otherwise (Keras's default 0.3). */
nnc_node nnc_leaky_relu(nnc_model *m, nnc_node x, float negative_slope, const char *name);
typedef struct {
    int filters;
    int kernel_size[2];      /* (height, width); Conv1D uses kernel_size[0] */
    int strides[2];          /* (1, 1) */
    bool padding_same;       /* false: 'valid' (Keras's default); true: 'same' */
    bool padding_causal;     /* Conv1D's 'causal': (k − 1)·dilation zeros before, none after */
    int dilation_rate[2];    /* (1, 1) */
    int groups;              /* 1; g splits channels and filters into g independent convolutions */
    nnc_activation activation;
    bool use_bias;           /* true */
    nnc_initializer kernel_initializer; /* glorot_uniform, fans from kh·kw·in/groups and kh·kw·out */
    nnc_initializer bias_initializer;   /* zeros */
    nnc_regularizer kernel_regularizer, bias_regularizer, activity_regularizer;
    const char *name;
} nnc_conv_opts;

/* Conv2D / Conv1D options with Keras's defaults (a square kernel of kernel_size). */
nnc_conv_opts nnc_conv_opts_default(int filters, int kernel_size);
/* Keras's Conv2D on [H, W, C] examples (channels last), kernel [kh, kw, C, filters]. */
nnc_node nnc_conv2d(nnc_model *m, nnc_node x, const nnc_conv_opts *o);
/* Keras's Conv1D on [length, C] examples, kernel [k, C, filters]. */
nnc_node nnc_conv1d(nnc_model *m, nnc_node x, const nnc_conv_opts *o);

typedef struct {
    int pool_size[2];        /* (2, 2) */
    int strides[2];          /* 0: equal to pool_size, as Keras */
    bool padding_same;       /* false: 'valid' */
    const char *name;
} nnc_pool_opts;

/* Pooling options with Keras's defaults for a square pool. */
nnc_pool_opts nnc_pool_opts_default(int pool_size);
/* Keras's MaxPooling2D and AveragePooling2D ('same' averages exclude the padding). */
nnc_node nnc_max_pooling2d(nnc_model *m, nnc_node x, const nnc_pool_opts *o);
nnc_node nnc_average_pooling2d(nnc_model *m, nnc_node x, const nnc_pool_opts *o);
/* Keras's GlobalAveragePooling2D and GlobalMaxPooling2D: [H, W, C] -> [C]. */
nnc_node nnc_global_average_pooling2d(nnc_model *m, nnc_node x, const char *name);
nnc_node nnc_global_max_pooling2d(nnc_model *m, nnc_node x, const char *name);

/* ---- more of the convolution family (Keras 3's layers of the same names) ---- */

/* Keras's MaxPooling1D and AveragePooling1D on [length, C] examples: pool_size[0] and strides[0]
 * (0: pool_size) of nnc_pool_opts ('same' averages exclude the padding). */
nnc_node nnc_max_pooling1d(nnc_model *m, nnc_node x, const nnc_pool_opts *o);
nnc_node nnc_average_pooling1d(nnc_model *m, nnc_node x, const nnc_pool_opts *o);

typedef struct {
    bool keepdims;           /* false; true keeps the pooled axes with size 1 */
    const char *name;
} nnc_global_pool_opts;

/* Keras's GlobalAveragePooling1D and GlobalMaxPooling1D: [L, C] -> [C] ([1, C] with keepdims);
 * o may be NULL (Keras's defaults). */
nnc_node nnc_global_average_pooling1d(nnc_model *m, nnc_node x, const nnc_global_pool_opts *o);
nnc_node nnc_global_max_pooling1d(nnc_model *m, nnc_node x, const nnc_global_pool_opts *o);
/* The 2-D ones with their options (keepdims: [1, 1, C]). */
nnc_node nnc_global_average_pooling2d_ex(nnc_model *m, nnc_node x, const nnc_global_pool_opts *o);
nnc_node nnc_global_max_pooling2d_ex(nnc_model *m, nnc_node x, const nnc_global_pool_opts *o);

/* ---- sequences: embedding and masks (Keras's Embedding and Masking) ---- */

typedef struct {
    int input_dim;           /* vocabulary size: ids 0 .. input_dim − 1 */
    int output_dim;          /* features per id */
    nnc_initializer embeddings_initializer; /* random_uniform(−0.05, 0.05) */
    nnc_regularizer embeddings_regularizer; /* none */
    bool mask_zero;          /* false; true: id 0 is padding, the output carries the mask id != 0 */
    int input_length;        /* 0 (Keras's None); else Keras 2's input_length: the ids' fixed length,
                              * refused when the input has another (or any) length */
    const char *name;
} nnc_embedding_opts;
nnc_embedding_opts nnc_embedding_opts_default(int input_dim, int output_dim);
/* Keras's Embedding: [T] token ids (float32 whole numbers; fit, evaluate and predict refuse
 * others, negatives and ids >= input_dim, naming the layer, the row and the id) -> [T,
 * output_dim], each id's row of the trained table [input_dim, output_dim]. */
nnc_node nnc_embedding(nnc_model *m, nnc_node ids, const nnc_embedding_opts *o);
/* Keras's Masking: a step of x ([T] or [T, F]) whose features all equal mask_value is masked
 * (the output carries the mask) and zeroed. Layers that act per step (Dense, Dropout, the
 * activation, normalization and merge layers) pass a mask on; GlobalAveragePooling1D and
 * GlobalMaxPooling1D pool over the unmasked steps; other layers refuse a masked input. */
nnc_node nnc_masking(nnc_model *m, nnc_node x, float mask_value, const char *name);
/* Keras's None time axis (an input of any length: nnc_input's shape[0] 0, the spec's
 * `input None`, a Keras file's [null, null]): the model runs at this
 * many steps from now on (each row of x then holds that many per such input), its parameters
 * unchanged. Refused, naming the layer, when a layer's shape was fixed by the length (Flatten,
 * 'same' padding) or the output would change shape; nnc_model_sequence_inputs gives the bit
 * mask of such inputs (0: none). */
nnc_status nnc_model_set_sequence_length(nnc_model *m, int length);
int nnc_model_sequence_inputs(const nnc_model *m);
/* Values per step of a one-input model whose input has a None time axis (a row of n steps holds
 * n times this many), else 0: how a caller tells the length its data's rows make. */
size_t nnc_model_step_values(const nnc_model *m);
/* One input of a model as a row of x holds it (the inputs in order, i from 0 to
 * nnc_model_input_count − 1): its name, one example's shape at the current length (an input
 * of any length, built by nnc_input with shape[0] 0 or read from a Keras file, has any_length
 * set and its current length in shape[0]), its values per example, and the Embedding that
 * reads it as token ids (NULL: none) with that layer's input_dim. Valid until the model
 * changes. */
typedef struct {
    const char *name;
    int rank;
    int shape[NNC_MAX_RANK];
    bool any_length;
    size_t size;            /* the product of shape: values per example */
    const char *ids_layer;  /* an Embedding reading this input directly; NULL: none */
    int input_dim;          /* that Embedding's vocabulary: ids 0 .. input_dim − 1 */
} nnc_input_info;
int nnc_model_input_count(const nnc_model *m);
nnc_status nnc_model_input_info(const nnc_model *m, int i, nnc_input_info *info);

typedef struct {
    int kernel_size[2];      /* (height, width) */
    int strides[2];          /* (1, 1) */
    bool padding_same;       /* false: 'valid' */
    int depth_multiplier;    /* 1: outputs per input channel */
    int dilation_rate[2];    /* (1, 1) */
    nnc_activation activation;
    bool use_bias;           /* true */
    nnc_initializer depthwise_initializer; /* glorot_uniform */
    nnc_initializer bias_initializer;      /* zeros */
    nnc_regularizer depthwise_regularizer, bias_regularizer, activity_regularizer;
    const char *name;
} nnc_depthwise_conv_opts;

/* DepthwiseConv2D options with Keras's defaults (a square kernel). */
nnc_depthwise_conv_opts nnc_depthwise_conv_opts_default(int kernel_size);
/* Keras's DepthwiseConv2D: each channel convolved alone with depth_multiplier filters; variable
 * `kernel` [kh, kw, C, depth_multiplier], output channel c·depth_multiplier + j. */
nnc_node nnc_depthwise_conv2d(nnc_model *m, nnc_node x, const nnc_depthwise_conv_opts *o);

typedef struct {
    int filters;
    int kernel_size[2];
    int strides[2];          /* (1, 1) */
    bool padding_same;       /* false: 'valid' */
    int dilation_rate[2];    /* (1, 1) */
    int depth_multiplier;    /* 1 */
    nnc_activation activation;
    bool use_bias;           /* true */
    nnc_initializer depthwise_initializer, pointwise_initializer; /* glorot_uniform */
    nnc_initializer bias_initializer;                             /* zeros */
    nnc_regularizer depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer;
    const char *name;
} nnc_separable_conv_opts;

/* SeparableConv2D options with Keras's defaults. */
nnc_separable_conv_opts nnc_separable_conv_opts_default(int filters, int kernel_size);
/* Keras's SeparableConv2D: a depthwise convolution (depthwise_kernel [kh, kw, C, dm]) then a
 * 1x1 convolution (pointwise_kernel [1, 1, C·dm, filters]), bias, activation. */
nnc_node nnc_separable_conv2d(nnc_model *m, nnc_node x, const nnc_separable_conv_opts *o);

typedef struct {
    int filters;
    int kernel_size[2];
    int strides[2];          /* (1, 1) */
    bool padding_same;       /* false: 'valid' */
    int output_padding[2];   /* (-1, -1): Keras's None; else each below its stride */
    int dilation_rate[2];    /* (1, 1), the only value supported */
    nnc_activation activation;
    bool use_bias;           /* true */
    nnc_initializer kernel_initializer, bias_initializer; /* glorot_uniform, zeros */
    nnc_regularizer kernel_regularizer, bias_regularizer, activity_regularizer;
    const char *name;
} nnc_conv_transpose_opts;

/* Conv2DTranspose options with Keras's defaults. */
nnc_conv_transpose_opts nnc_conv_transpose_opts_default(int filters, int kernel_size);
/* Keras's Conv2DTranspose: kernel [kh, kw, filters, C]; output size as Keras computes it
 * ('valid': (n − 1)·s + k + output_padding; 'same': n·s, or (n − 1)·s + k % 2 + output_padding). */
nnc_node nnc_conv2d_transpose(nnc_model *m, nnc_node x, const nnc_conv_transpose_opts *o);

/* Keras's UpSampling1D(size): each step of [L, C] repeated size times. */
nnc_node nnc_up_sampling1d(nnc_model *m, nnc_node x, int size, const char *name);
/* Keras's UpSampling2D(size, interpolation): [H, W, C] to [H·sh, W·sw, C], nearest (false) or
 * bilinear (true, half-pixel centers as Keras 3's resize). */
nnc_node nnc_up_sampling2d(nnc_model *m, nnc_node x, int size_h, int size_w, bool bilinear, const char *name);
/* Keras's ZeroPadding1D((left, right)) and Cropping1D((left, right)) on [L, C] examples. */
nnc_node nnc_zero_padding1d(nnc_model *m, nnc_node x, int left, int right, const char *name);
nnc_node nnc_cropping1d(nnc_model *m, nnc_node x, int left, int right, const char *name);
/* Keras's Cropping2D(((top, bottom), (left, right))) on [H, W, C] examples. */
nnc_node nnc_cropping2d(nnc_model *m, nnc_node x, int top, int bottom, int left, int right, const char *name);
/* Keras's Flatten and Reshape (the example's new shape; sizes must agree). */
nnc_node nnc_flatten(nnc_model *m, nnc_node x, const char *name);
nnc_node nnc_reshape(nnc_model *m, nnc_node x, const int *shape, int rank, const char *name);
/* Keras's ZeroPadding2D((top, bottom), (left, right)). */
nnc_node nnc_zero_padding2d(nnc_model *m, nnc_node x, int top, int bottom, int left, int right,
                            const char *name);
/* Keras's Dropout(rate): inverted dropout in training only, masks from the model's RNG. */
nnc_node nnc_dropout(nnc_model *m, nnc_node x, float rate, const char *name);

typedef struct {
    float momentum;          /* 0.99 */
    float epsilon;           /* 1e-3 */
    bool center, scale;      /* beta and gamma: true */
    const char *name;
    bool synchronized;       /* false: data parallel, each rank normalizes by its own rows'
                              * statistics; true: by the whole global batch's, summed over the
                              * ranks (Keras's synchronized=True, SyncBatchNormalization) */
} nnc_batch_norm_opts;

/* Keras's BatchNormalization defaults (axis -1). */
nnc_batch_norm_opts nnc_batch_norm_opts_default(void);
/* Keras's BatchNormalization: batch statistics in fit, moving statistics in evaluate and
 * predict; variables gamma, beta (trainable), moving_mean, moving_variance (not). */
nnc_node nnc_batch_normalization(nnc_model *m, nnc_node x, const nnc_batch_norm_opts *o);
/* ---- activation, noise, merge, reordering and normalization layers ------------------------ */

/* Keras's Softmax along axis (Keras's count: -1 the last, 1 the first after the batch). */
nnc_node nnc_softmax_axis(nnc_model *m, nnc_node x, int axis, const char *name);

typedef struct {
    float max_value;         /* the ceiling, used when has_max_value (Keras's None: none) */
    bool has_max_value;      /* false */
    float negative_slope;    /* 0 */
    float threshold;         /* 0 */
    const char *name;
} nnc_relu_opts;

/* ReLU options with Keras's defaults (a plain relu). */
nnc_relu_opts nnc_relu_opts_default(void);
/* Keras's ReLU layer: min(x, max_value) above threshold, negative_slope·(x − threshold) below;
 * the three settings >= 0, as Keras asks. */
nnc_node nnc_relu(nnc_model *m, nnc_node x, const nnc_relu_opts *o);

typedef struct {
    nnc_initializer alpha_initializer; /* zeros */
    nnc_regularizer alpha_regularizer; /* none */
    int shared_axes[NNC_MAX_RANK];     /* Keras's axes (1 the first after the batch) sharing one alpha */
    int n_shared_axes;                 /* 0: none shared (Keras's None) */
    const char *name;
} nnc_prelu_opts;

/* PReLU options with Keras's defaults. */
nnc_prelu_opts nnc_prelu_opts_default(void);
/* Keras's PReLU: x above 0, alpha·x below, with a trained variable "alpha" shaped as the
 * example, 1 on each shared axis. */
nnc_node nnc_prelu(nnc_model *m, nnc_node x, const nnc_prelu_opts *o);
/* Keras's ELU layer: x above 0, alpha·(eˣ − 1) below (Keras's default alpha 1). */
nnc_node nnc_elu(nnc_model *m, nnc_node x, float alpha, const char *name);
/* Keras's SpatialDropout1D on (steps, channels) and SpatialDropout2D on (height, width,
 * channels): in training whole channels of an example dropped with probability rate and the
 * rest scaled by 1/(1 − rate); identity in inference. Masks from the model's RNG. */
nnc_node nnc_spatial_dropout1d(nnc_model *m, nnc_node x, float rate, const char *name);
nnc_node nnc_spatial_dropout2d(nnc_model *m, nnc_node x, float rate, const char *name);
/* Keras's GaussianNoise: adds N(0, stddev²) in training only, from the model's RNG. */
nnc_node nnc_gaussian_noise(nnc_model *m, nnc_node x, float stddev, const char *name);
/* Keras's GaussianDropout: multiplies by N(1, rate/(1 − rate)) in training only. */
nnc_node nnc_gaussian_dropout(nnc_model *m, nnc_node x, float rate, const char *name);
/* Keras's ActivityRegularization: the identity, adding l1·Σ|x| + l2·Σx² of its output over the
 * batch to the loss, as an activity_regularizer does. */
nnc_node nnc_activity_regularization(nnc_model *m, nnc_node x, float l1, float l2, const char *name);
/* Keras's Permute: dims[i] (1-based, 1 the first axis after the batch) is the input axis that
 * becomes output axis i; n is the example's rank. */
nnc_node nnc_permute(nnc_model *m, nnc_node x, const int *dims, int n, const char *name);
/* Keras's RepeatVector: (features) to (n, features). */
nnc_node nnc_repeat_vector(nnc_model *m, nnc_node x, int n, const char *name);
/* Keras's Subtract (xs[0] − xs[1], n = 2), Multiply, Average, Maximum and Minimum (n >= 2),
 * elementwise with Keras's broadcasting: example axes aligned from the right, size 1 stretches. */
nnc_node nnc_subtract(nnc_model *m, const nnc_node *xs, int n, const char *name);
nnc_node nnc_multiply(nnc_model *m, const nnc_node *xs, int n, const char *name);
nnc_node nnc_average(nnc_model *m, const nnc_node *xs, int n, const char *name);
nnc_node nnc_maximum(nnc_model *m, const nnc_node *xs, int n, const char *name);
nnc_node nnc_minimum(nnc_model *m, const nnc_node *xs, int n, const char *name);
/* Keras's Dot(axes=(axis_a, axis_b), normalize) on inputs of rank 2 or 3 (Keras's axes: 1 the
 * first after the batch, negative from the end): per example, the sum over those axes of a·b;
 * with normalize, both L2-normalized along them first (cosine similarity). */
nnc_node nnc_dot(nnc_model *m, nnc_node a, nnc_node b, int axis_a, int axis_b, bool normalize, const char *name);

typedef struct {
    int axis[NNC_MAX_RANK];  /* Keras's axes normalized together, consecutive: {-1} */
    int n_axes;              /* 1 */
    float epsilon;           /* 1e-3 */
    bool center, scale;      /* beta and gamma: true */
    nnc_initializer beta_initializer, gamma_initializer; /* zeros, ones */
    nnc_regularizer beta_regularizer, gamma_regularizer; /* none */
    const char *name;
} nnc_layer_norm_opts;

/* LayerNormalization options with Keras's defaults (the last axis). */
nnc_layer_norm_opts nnc_layer_norm_opts_default(void);
/* Keras's LayerNormalization: each example's (x − mean)/sqrt(variance + epsilon) over the axes,
 * times gamma plus beta (variables shaped as those axes), in training and inference alike. */
nnc_node nnc_layer_normalization(nnc_model *m, nnc_node x, const nnc_layer_norm_opts *o);

/* sequences: attention (issue 14) */
typedef struct {
    int num_heads, key_dim;  /* required */
    int value_dim;           /* 0: key_dim (Keras's None) */
    float dropout;           /* 0: of the attention probabilities, in fit */
    bool use_bias;           /* true */
    int output_shape;        /* 0: the query's features (Keras's None) */
    bool use_causal_mask;    /* false; Keras's call argument: step t attends to steps <= t only */
    nnc_initializer kernel_initializer, bias_initializer; /* glorot_uniform, zeros */
    const char *name;
} nnc_mha_opts;

/* MultiHeadAttention options with Keras's defaults. */
nnc_mha_opts nnc_mha_opts_default(int num_heads, int key_dim);
/* Keras's MultiHeadAttention(query, value, key) on sequences (steps, features); key NNC_NONE is
 * the value. The masks the inputs carry restrict the attended steps; the output has the query's. */
nnc_node nnc_multi_head_attention(nnc_model *m, nnc_node query, nnc_node value, nnc_node key, const nnc_mha_opts *o);

/* keras-hub's PositionEmbedding(sequence_length): for x [T, d], the first T rows of a learned
 * [sequence_length, d] table (glorot_uniform), the same for every example; add it to x (nnc_add). */
nnc_node nnc_position_embedding(nnc_model *m, nnc_node x, int sequence_length, const char *name);
/* keras-hub's SinePositionEncoding(max_wavelength = 10000): for x [T, d], sin(t/w^(2i/d)) at
 * feature 2i and cos at 2i + 1 (Vaswani et al. 2017); no variables; add it to x. */
nnc_node nnc_sine_position_encoding(nnc_model *m, nnc_node x, float max_wavelength, const char *name);
/* ---- sequences: recurrent layers (Keras's SimpleRNN, LSTM, GRU) ---- */
typedef struct {
    int units;
    nnc_activation activation;           /* default tanh: the candidate state (and LSTM's cell) */
    nnc_activation recurrent_activation; /* default sigmoid: the gates (not SimpleRNN's) */
    bool use_bias;                       /* default true */
    nnc_initializer kernel_initializer;  /* default glorot_uniform */
    nnc_initializer recurrent_initializer; /* default orthogonal */
    nnc_initializer bias_initializer;    /* default zeros */
    nnc_regularizer kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer;
    float dropout, recurrent_dropout;    /* training only: one mask per sequence (default 0) */
    bool return_sequences;               /* every step's output [steps, units], else the last */
    bool return_state;                   /* also the final states (nnc_rnn_states), as Keras's list
                                          * [output, h] (LSTM: [output, h, c]) */
    bool go_backwards;                   /* read the steps last to first (outputs in that order) */
    bool unit_forget_bias;               /* LSTM: the forget gate's bias starts at 1 (default true) */
    bool reset_after;                    /* GRU: reset gate after the recurrent kernel (default true) */
    /* Keras's call argument initial_state=[h, c]: NULL (zeros), or n_initial_state nodes of
     * shape (units): h (SimpleRNN, GRU), h and c (LSTM); Bidirectional: the forward layer's, then
     * the backward one's. Used by the call only, not kept. */
    const nnc_node *initial_state;
    int n_initial_state;
    const char *name;
} nnc_rnn_opts;

/* Recurrent options with Keras's defaults. */
nnc_rnn_opts nnc_rnn_opts_default(int units);
/* Keras's SimpleRNN on sequences x (steps, features): h = activation(x·W + h·U + b). */
nnc_node nnc_simple_rnn(nnc_model *m, nnc_node x, const nnc_rnn_opts *o);
/* Keras's LSTM: gates i, f, c, o in Keras's column order; variables kernel, recurrent_kernel, bias. */
nnc_node nnc_lstm(nnc_model *m, nnc_node x, const nnc_rnn_opts *o);
/* Keras's GRU: gates z, r, h; reset_after (Keras 2.3+'s default) has bias [2, 3·units]. */
nnc_node nnc_gru(nnc_model *m, nnc_node x, const nnc_rnn_opts *o);

typedef enum { NNC_RNN_SIMPLE, NNC_RNN_LSTM, NNC_RNN_GRU } nnc_rnn_kind;
typedef enum { NNC_MERGE_CONCAT, NNC_MERGE_SUM, NNC_MERGE_MUL, NNC_MERGE_AVE } nnc_merge_mode;
typedef struct {
    nnc_rnn_kind layer;        /* the wrapped layer */
    nnc_rnn_opts rnn;          /* its options (the forward one's; the backward one reads the other way) */
    nnc_merge_mode merge_mode; /* default concat */
    const char *name;
} nnc_bidirectional_opts;
/* Bidirectional options with Keras's defaults around a layer of `units`. */
nnc_bidirectional_opts nnc_bidirectional_opts_default(nnc_rnn_kind layer, int units);
/* Keras's Bidirectional: the layer over x forward and backward (its sequence turned back to
 * input order), merged; variables forward_kernel, ..., backward_bias. */
nnc_node nnc_bidirectional(nnc_model *m, nnc_node x, const nnc_bidirectional_opts *o);
/* The final states of the layer whose output is layer_output, built with return_state: h (and
 * LSTM's c); Bidirectional: the forward layer's, then the backward one's (Keras's list after the
 * output). Fills states[0..max) and returns how many there are (0: no return_state), or -1
 * when layer_output is no layer's output. They feed another layer's initial_state:
 *     enc.return_state = true;  nnc_node y = nnc_lstm(m, x, &enc), hc[2];
 *     nnc_rnn_states(m, y, hc, 2);  dec.initial_state = hc, dec.n_initial_state = 2;
 *     nnc_lstm(m, x2, &dec); */
int nnc_rnn_states(nnc_model *m, nnc_node layer_output, nnc_node *states, int max);
/* Keras's TimeDistributed(Dense): the Dense applied to each step of x (steps, features). */
nnc_node nnc_time_distributed_dense(nnc_model *m, nnc_node x, const nnc_dense_opts *o);

/* Declares the model's outputs (functional models). Sequential models need not call it:
 * the last layer added is the output. */
nnc_status nnc_set_outputs(nnc_model *m, const nnc_node *outs, int n);
/* Computes with this many threads (default 1): large products and convolutions are split over
 * them. Results are bit-identical whatever the count. Training steps and inference batches
 * are timed both ways now and then, and run on one thread while that is faster (small
 * models; another process busy on a core). */
nnc_status nnc_model_set_threads(nnc_model *m, int threads);
int nnc_model_threads(const nnc_model *m);
/* The one way to seed a model (default seed 0): its random generator draws the initial
 * weights, each epoch's shuffle and the dropout masks, so the same seed gives the same
 * weights, bit for bit. Called before nnc_compile, it seeds what compile draws. Called after,
 * it starts the model afresh as a compile with that seed would: every variable drawn again
 * from its initializer, the optimizer state and the epoch count cleared (Normalization's
 * adapted statistics are kept). */
nnc_status nnc_model_set_seed(nnc_model *m, uint64_t seed);

/* Keras's layer.trainable: false freezes the named layer (fine-tuning): its weights take no
 * gradient and no optimizer slots and stay bit-identical through fit, summary counts them as
 * non-trainable, a BatchNormalization runs in inference mode (its moving statistics used, not
 * moved), Dropout still drops, and the backward pass stops where nothing before it trains.
 * Their weight regularizers leave the loss (Keras 3 sums those of trainable weights only); an
 * activity regularizer stays. Before nnc_compile it is an attribute compile reads. On a
 * compiled model it re-compiles in place, as Keras asks for a compile() after the change: the
 * same settings, the weights kept, the optimizer state of the variables trained before and
 * after kept, fresh slots for a variable unfrozen (from an epoch hook or callback inside fit,
 * from the next step on). NNC_ERR_ARG for a layer that does not
 * exist, the message listing the layers. */
nnc_status nnc_layer_set_trainable(nnc_model *m, const char *layer, bool trainable);
/* 1 trainable, 0 frozen, -1 no such layer. */
int nnc_layer_trainable(const nnc_model *m, const char *layer);

/* ---- compile --------------------------------------------------------------------------- */

typedef enum {
    NNC_LOSS_MEAN_SQUARED_ERROR,
    NNC_LOSS_MEAN_ABSOLUTE_ERROR,
    NNC_LOSS_HUBER,
    NNC_LOSS_BINARY_CROSSENTROPY,
    NNC_LOSS_CATEGORICAL_CROSSENTROPY,
    NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
    NNC_LOSS_COUNT
} nnc_loss_kind;

typedef struct {
    nnc_loss_kind kind;
    bool from_logits; /* cross-entropies: the output is a logit, not a probability */
    float delta;      /* Huber: default 1.0 */
} nnc_loss;

/* A loss with Keras's defaults (from_logits false, Huber delta 1). */
nnc_loss nnc_loss_default(nnc_loss_kind kind);
/* Keras's function name ("sparse_categorical_crossentropy"). */
const char *nnc_loss_name(nnc_loss_kind k);
/* Parses a Keras loss name or alias ("mse", "bce", ...); NNC_ERR_ARG when unknown. */
nnc_status nnc_loss_parse(const char *name, nnc_loss_kind *out);

typedef enum {
    NNC_OPT_SGD,
    NNC_OPT_ADAM,
    NNC_OPT_RMSPROP,
    NNC_OPT_ADAGRAD,
    NNC_OPT_ADADELTA,
    NNC_OPT_ADAMW,  /* Adam with decoupled weight decay */
    NNC_OPT_NADAM,  /* Adam with Nesterov momentum (Dozat's momentum schedule) */
    NNC_OPT_ADAMAX, /* Adam with the infinity norm */
    NNC_OPT_COUNT
} nnc_optimizer_kind;

/* Learning-rate schedules (keras.optimizers.schedules), evaluated at the optimizer's
 * iteration count before each step, as Keras does (the first step sees step 0). */
typedef enum {
    NNC_SCHEDULE_NONE,                     /* the optimizer's constant learning_rate */
    NNC_SCHEDULE_EXPONENTIAL_DECAY,        /* initial · decay_rate^(step / decay_steps) */
    NNC_SCHEDULE_PIECEWISE_CONSTANT_DECAY, /* values[i] for boundaries[i-1] < step <= boundaries[i] */
    NNC_SCHEDULE_POLYNOMIAL_DECAY,         /* (initial − end)(1 − step/decay_steps)^power + end */
    NNC_SCHEDULE_INVERSE_TIME_DECAY,       /* initial / (1 + decay_rate · step / decay_steps) */
    NNC_SCHEDULE_COSINE_DECAY,             /* optional linear warmup, then cosine decay */
    NNC_SCHEDULE_COSINE_DECAY_RESTARTS,    /* SGDR: cosine decay with warm restarts */
    NNC_SCHEDULE_COUNT
} nnc_schedule_kind;

#define NNC_MAX_BOUNDARIES 16

typedef struct {
    nnc_schedule_kind kind;
    float initial_learning_rate;
    float decay_steps;       /* > 0; CosineDecayRestarts: first_decay_steps */
    float decay_rate;        /* exponential and inverse time decay */
    bool staircase;          /* exponential and inverse time decay: false (floor(step/decay_steps)) */
    float end_learning_rate; /* polynomial: 0.0001 */
    float power;             /* polynomial: 1 */
    bool cycle;              /* polynomial: false */
    float alpha;             /* cosine decay (and restarts): 0, the final fraction of the rate */
    bool warmup;             /* cosine decay: false (Keras's warmup_target=None) */
    float warmup_target;     /* cosine decay with warmup: the rate reached after warmup_steps */
    float warmup_steps;      /* cosine decay: 0 */
    float t_mul, m_mul;      /* restarts: 2 and 1 (period and height factors per restart) */
    int n_boundaries;        /* piecewise: 1..NNC_MAX_BOUNDARIES, strictly increasing */
    int64_t boundaries[NNC_MAX_BOUNDARIES];
    float values[NNC_MAX_BOUNDARIES + 1]; /* piecewise: n_boundaries + 1 values */
} nnc_schedule;

/* A schedule of this kind with Keras's defaults for its optional arguments; the required ones
 * (initial_learning_rate, decay_steps, decay_rate, boundaries, values) are zero. */
nnc_schedule nnc_schedule_default(nnc_schedule_kind kind);
/* Keras's class name in snake_case ("exponential_decay"). */
const char *nnc_schedule_name(nnc_schedule_kind k);
/* Parses "exponential_decay" or "ExponentialDecay" (and so on); NNC_ERR_ARG when unknown. */
nnc_status nnc_schedule_parse(const char *name, nnc_schedule_kind *out);
/* The learning rate at optimizer step `step` (0 for the first update), with Keras's formulas;
 * kind NONE returns initial_learning_rate. */
float nnc_schedule_value(const nnc_schedule *s, int64_t step);

typedef struct {
    nnc_optimizer_kind kind;
    float learning_rate; /* SGD 0.01, the others 0.001; unused when schedule.kind != NONE */
    float momentum;      /* SGD and RMSprop: default 0 */
    bool nesterov;       /* SGD: default false */
    float beta_1;        /* Adam, AdamW, Nadam, Adamax: 0.9 */
    float beta_2;        /* Adam, AdamW, Nadam, Adamax: 0.999 */
    float epsilon;       /* all but SGD: 1e-7 */
    float rho;           /* RMSprop: 0.9; Adadelta: 0.95 */
    bool centered;       /* RMSprop: default false */
    bool amsgrad;        /* Adam, AdamW: default false */
    float weight_decay;  /* any optimizer: w −= lr·weight_decay·w before each update; 0 (Keras's
                          * None) is off; AdamW: 0.004 */
    float initial_accumulator_value; /* Adagrad: 0.1 */
    /* Gradient clipping before the update, as Keras; 0 is off and at most one may be set. */
    float clipnorm;        /* each variable's gradient scaled to an L2 norm of at most this */
    float clipvalue;       /* each gradient element clipped to [-clipvalue, clipvalue] */
    float global_clipnorm; /* all gradients scaled together to a global L2 norm of at most this */
    nnc_schedule schedule; /* kind NNC_SCHEDULE_NONE (default): the constant learning_rate */
} nnc_optimizer;

/* Keras's SGD(), Adam(), RMSprop(), Adagrad(), Adadelta(), AdamW(), Nadam() and Adamax()
 * defaults. */
nnc_optimizer nnc_sgd_default(void);
nnc_optimizer nnc_adam_default(void);
nnc_optimizer nnc_rmsprop_default(void);
nnc_optimizer nnc_adagrad_default(void);
nnc_optimizer nnc_adadelta_default(void);
nnc_optimizer nnc_adamw_default(void);
nnc_optimizer nnc_nadam_default(void);
nnc_optimizer nnc_adamax_default(void);
/* Keras's name ("sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamw", "nadam", "adamax"). */
const char *nnc_optimizer_name(nnc_optimizer_kind k);
/* Parses a Keras optimizer name, snake_case or class name ("adamw", "AdamW"), into its
 * defaults; NNC_ERR_ARG when unknown. */
nnc_status nnc_optimizer_parse(const char *name, nnc_optimizer *out);

typedef enum {
    NNC_METRIC_ACCURACY, /* binary, sparse categorical or categorical, chosen from the loss */
    NNC_METRIC_MSE,
    NNC_METRIC_MAE,
    NNC_METRIC_BINARY_ACCURACY,        /* threshold (0.5) */
    NNC_METRIC_CATEGORICAL_ACCURACY,   /* one-hot targets */
    NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY, /* class-index targets */
    NNC_METRIC_TOP_K_CATEGORICAL_ACCURACY,  /* k (5) */
    NNC_METRIC_SPARSE_TOP_K_CATEGORICAL_ACCURACY, /* k (5) */
    NNC_METRIC_PRECISION,              /* thresholds (None: 0.5), top_k, class_id */
    NNC_METRIC_RECALL,                 /* thresholds (None: 0.5), top_k, class_id */
    NNC_METRIC_AUC,                    /* num_thresholds (200), curve, summation_method, multi_label */
    NNC_METRIC_F1_SCORE,               /* average (None: one value per class), threshold */
    NNC_METRIC_FBETA_SCORE,            /* average, beta (1), threshold */
    NNC_METRIC_MAPE,                   /* mean_absolute_percentage_error */
    NNC_METRIC_R2_SCORE,               /* class_aggregation, num_regressors */
    NNC_METRIC_COUNT
} nnc_metric;

/* Keras's name of a metric ("accuracy", "mse", "mae", "precision", "auc", ...), which is also
 * its key in the logs unless nnc_metric_config.name gives another. */
const char *nnc_metric_name(nnc_metric k);
/* Parses a metric name: Keras's snake_case name, its class name ("Precision", "AUC") or an
 * alias ("acc", "mape", "mean_squared_error"); NNC_ERR_ARG when unknown. */
nnc_status nnc_metric_parse(const char *name, nnc_metric *out);

typedef enum { NNC_AVERAGE_NONE, NNC_AVERAGE_MICRO, NNC_AVERAGE_MACRO, NNC_AVERAGE_WEIGHTED } nnc_metric_average;
typedef enum { NNC_CURVE_ROC, NNC_CURVE_PR } nnc_auc_curve;
typedef enum { NNC_SUMMATION_INTERPOLATION, NNC_SUMMATION_MINORING, NNC_SUMMATION_MAJORING } nnc_auc_summation;
typedef enum { NNC_R2_UNIFORM_AVERAGE, NNC_R2_VARIANCE_WEIGHTED_AVERAGE, NNC_R2_NONE } nnc_r2_aggregation;

/* A metric with its arguments, Keras's names and defaults (docs/SPEC.md lists them). Get one
 * from nnc_metric_default, change what you need, and add it with nnc_compile_add_metric. */
typedef struct {
    nnc_metric kind;
    bool configured;      /* set by nnc_metric_default; a zeroed entry means the kind's defaults */
    float threshold;      /* binary_accuracy: threshold (0.5); precision, recall: thresholds;
                           * f1_score, fbeta_score: threshold; these three when has_threshold */
    bool has_threshold;   /* false is Keras's None: precision/recall 0.5 (any value with top_k),
                           * f-scores the argmax of each row (0.5 for one output) */
    int k;                /* top-k accuracies: 5 */
    int top_k;            /* precision, recall: 0 is None */
    int class_id;         /* precision, recall: -1 is None */
    int num_thresholds;   /* auc: 200 */
    nnc_auc_curve curve;  /* auc: ROC */
    nnc_auc_summation summation_method; /* auc: interpolation */
    bool multi_label;     /* auc: false (all labels flattened into one) */
    bool from_logits;     /* auc: false; predictions are logits (nnc already applies the sigmoid
                           * or softmax when the loss is from_logits) */
    bool exact;           /* auc: false; nnc's own: the exact area from every prediction
                           * (scikit-learn's roc_auc_score, average_precision_score for PR) */
    nnc_metric_average average; /* f-scores: NONE (one value per class) */
    float beta;           /* fbeta_score: 1 */
    nnc_r2_aggregation class_aggregation; /* r2_score: uniform_average */
    int num_regressors;   /* r2_score: 0 */
    bool weighted;        /* one of Keras's weighted_metrics: fit's sample and class weights
                           * weigh it (the metrics list ignores them, as in Keras) */
    char name[32];        /* "": Keras's name (nnc_metric_name) */
} nnc_metric_config;

/* The metric with Keras's defaults for its arguments (configured set). */
nnc_metric_config nnc_metric_default(nnc_metric kind);

#define NNC_MAX_METRICS 16

#define NNC_MAX_OUTPUTS 8

/* One output's loss, its weight in the total loss (Keras's loss_weights) and its metrics. */
typedef struct {
    nnc_loss loss;
    float weight; /* 1 */
    nnc_metric metrics[NNC_MAX_METRICS];
    int n_metrics;
    nnc_metric_config metric_config[NNC_MAX_METRICS]; /* as nnc_compile_opts.metric_config */
} nnc_output_opts;

typedef struct {
    nnc_loss loss;
    nnc_optimizer optimizer;
    nnc_metric metrics[NNC_MAX_METRICS];
    int n_metrics;
    /* The arguments of metrics[i], used when metric_config[i].configured (its kind must then
     * be metrics[i]); otherwise metrics[i] takes its defaults. nnc_compile_add_metric fills
     * both. */
    nnc_metric_config metric_config[NNC_MAX_METRICS];
    /* Several outputs (nnc_set_outputs): 0 gives every output loss and metrics above with
     * weight 1 (Keras's compile(loss="mse") on a model of several outputs); else one entry per
     * output, in nnc_set_outputs's order, and loss and metrics above are unused. The total loss
     * is Keras's: Σ weight_i · loss_i, plus the regularization penalties. Targets (y) hold each
     * output's targets side by side in a row, in output order (nnc_target_size_at). */
    int n_outputs;
    nnc_output_opts outputs[NNC_MAX_OUTPUTS];
} nnc_compile_opts;

/* Appends a metric with its arguments; NNC_ERR_ARG when the list is full or mc is NULL. */
nnc_status nnc_compile_add_metric(nnc_compile_opts *c, const nnc_metric_config *mc);
/* The arguments metric i is compiled with: metric_config[i] or the defaults of metrics[i]. */
nnc_metric_config nnc_compile_metric(const nnc_compile_opts *c, int i);

/* An output's settings with weight 1 and no metrics. */
nnc_output_opts nnc_output_opts_default(nnc_loss loss);
/* Appends a metric with its arguments to one output's list; NNC_ERR_ARG when full or NULL. */
nnc_status nnc_output_add_metric(nnc_output_opts *o, const nnc_metric_config *mc);
/* The arguments an output's metric i is compiled with. */
nnc_metric_config nnc_output_metric(const nnc_output_opts *o, int i);

/* MSE loss, Adam, no metrics. */
nnc_compile_opts nnc_compile_opts_default(void);
/* Checks the graph, infers shapes, plans parameter memory and initialises the weights.
 * Fails with NNC_ERR_SHAPE when the loss does not fit the output. */
nnc_status nnc_compile(nnc_model *m, const nnc_compile_opts *o);
/* The settings the model was compiled with (a loaded model's from its file); the defaults
 * before compile. What the output means follows from its loss: logits when from_logits. */
nnc_compile_opts nnc_model_compile_opts(const nnc_model *m);

/* ---- logs and history ------------------------------------------------------------------ */

#define NNC_MAX_LOGS 64
#define NNC_LOG_NAME_MAX 48

/* Named values of one epoch or one evaluation: "loss", "accuracy", "val_loss", ... A metric
 * with one value per class (f1_score with average None, r2_score with class_aggregation None)
 * gives one key per class: "f1_score_0", "f1_score_1", ... */
typedef struct {
    int count;
    char names[NNC_MAX_LOGS][NNC_LOG_NAME_MAX];
    double values[NNC_MAX_LOGS];
} nnc_logs;

/* The value named key; NAN when absent. */
double nnc_logs_get(const nnc_logs *l, const char *key);
/* The logs as the members of a JSON object, in order, each key after prefix:
 * "loss":0.25,"accuracy":0.9 (numbers in their shortest round-trip form, null when not
 * finite). Returns the length as snprintf does (the text is cut to fit n). */
int nnc_logs_json(const nnc_logs *l, const char *prefix, char *buf, size_t n);

typedef struct nnc_history nnc_history;

/* Number of epochs recorded. */
int nnc_history_epochs(const nnc_history *h);
/* The logs of epoch e (0-based), NULL when out of range. */
const nnc_logs *nnc_history_logs(const nnc_history *h, int e);
/* Frees a history. NULL is fine. */
void nnc_history_free(nnc_history *h);

/* ---- fit, evaluate, predict -------------------------------------------------------------- */

/* What an epoch-end callback sees. */
typedef struct {
    int epoch;            /* 0-based */
    const nnc_logs *logs; /* loss, metrics, val_* */
    double seconds;       /* wall time of the epoch's shuffle and training steps */
} nnc_epoch_info;

/* Called after every epoch; return true to stop training. */
typedef bool (*nnc_epoch_callback)(void *user, const nnc_epoch_info *info);

/* What a batch-end callback sees. */
typedef struct {
    int epoch;            /* 0-based */
    int batch;            /* 0-based within the epoch */
    int size;             /* rows in this batch */
    const nnc_logs *logs; /* Keras's batch logs: the running loss and metrics of the epoch so far */
} nnc_batch_info;

/* Called after every training batch; return true to stop training. As in Keras, the epoch is
 * then closed: its validation runs and the epoch-end callbacks see its logs. */
typedef bool (*nnc_batch_callback)(void *user, const nnc_batch_info *info);

/* A built-in callback (EarlyStopping, ModelCheckpoint, ...), see "callbacks" below. */
typedef struct nnc_callback nnc_callback;

typedef struct {
    int epochs;               /* 1: train until this epoch count */
    int initial_epoch;        /* 0: Keras's initial_epoch, for resuming */
    int batch_size;           /* 32 */
    bool shuffle;             /* true: reshuffled each epoch from the model's RNG */
    float validation_split;   /* 0: the last fraction of (x, y), taken before shuffling */
    const float *validation_x; /* explicit validation data, overrides validation_split */
    const float *validation_y;
    size_t validation_n;
    int verbose;              /* 0 silent, 1 progress bar (default), 2 one line per epoch */
    const float *sample_weight; /* [n] weight of each example's loss (Keras's sample_weight) */
    const float *class_weight;  /* [n_class_weights] weight per class label (class_weight) */
    int n_class_weights;
    int steps_per_update;     /* 1: accumulate the gradients of this many batches per update,
                               * the same step as one batch of all their rows */
    FILE *out;                /* where verbose output goes; NULL: stdout */
    nnc_epoch_callback on_epoch_end; /* after each epoch, after the built-in callbacks */
    void *user;                      /* passed to on_epoch_end and on_batch_end */
    nnc_batch_callback on_batch_end; /* after each batch, after the built-in callbacks */
    nnc_callback *const *callbacks;  /* built-in callbacks, run in this order; the caller owns them */
    int n_callbacks;
    /* NULL, or a flag (a SIGINT handler's) read after each batch: once it is non-zero, fit stops
     * as Keras does on KeyboardInterrupt. The epoch is abandoned (no validation, no epoch-end
     * or train-end callbacks, so a BackupAndRestore backup stays at the last completed epoch),
     * the weights are those after that batch, and fit returns NNC_ERR_INTERRUPTED. */
    const volatile sig_atomic_t *interrupt;
} nnc_fit_opts;

/* Keras's fit defaults. */
nnc_fit_opts nnc_fit_opts_default(void);
/* Trains on n examples. *history (optional) receives the per-epoch logs; free it with
 * nnc_history_free. Stops with NNC_ERR_NUMERIC, naming the epoch and batch, when the loss
 * becomes NaN or infinite (with nnc_terminate_on_nan attached: stops and returns NNC_OK); the
 * weights are then those before the failing step. A callback's failure (a checkpoint that
 * cannot be written) stops training and is returned. */
nnc_status nnc_fit(nnc_model *m, const float *x, const float *y, size_t n,
                   const nnc_fit_opts *o, nnc_history **history);

/* Rows read on demand instead of arrays held in memory, for data larger than memory (nnc train
 * --stream): fit asks for the rows of each batch in the order it trains them, and a background
 * thread reads the next batch while the current one trains. The shuffle, the batches and so
 * the weights are those of nnc_fit on the same rows in memory, bit for bit. */
typedef struct {
    size_t n; /* rows */
    /* Fills x [count, input size] and y [count, target size] with rows[0..count) (each < n, in
     * any order). Returns NNC_OK, or an error with the reason (naming the file and line) in
     * err. Called from one background thread, one call at a time. */
    nnc_status (*read)(void *ctx, const size_t *rows, size_t count, float *x, float *y, nnc_error *err);
    void *ctx;
    uint64_t hash; /* identifies the rows: the ranks of a data-parallel fit compare it (0: unknown) */
} nnc_row_source;

/* nnc_fit over a row source. The options are nnc_fit's; validation_split takes the source's
 * last rows, sample_weight (when given) has src->n entries. Each batch is checked as it is
 * read: a row the source refuses, or one that fails nnc_fit's data checks, ends training with
 * that error (the weights are those before the batch). */
nnc_status nnc_fit_source(nnc_model *m, const nnc_row_source *src, const nnc_fit_opts *o,
                          nnc_history **history);
/* nnc_evaluate over a row source, read one batch ahead. */
nnc_status nnc_evaluate_source(nnc_model *m, const nnc_row_source *src, int batch_size, nnc_logs *out);
/* ---- training on several processes (data parallel over MPI; build with -DNNC_MPI=ON) -----
 * Every rank builds the same model with the same seed and holds the same data; with a
 * communicator set on the model, nnc_fit gives each rank a fixed share of every global batch
 * (batch_size stays the global batch), sums the gradients over the ranks and applies the same
 * update everywhere, so the model stays identical on every rank. nnc_evaluate and fit's
 * validation split their rows over the ranks and reduce the sums. Rank 0 alone prints and
 * writes files (progress, checkpoints, backups, CSV logs). */
typedef struct nnc_comm nnc_comm;

/* Whether this library was built with MPI (NNC_MPI). */
bool nnc_mpi_built(void);
/* The ranks the process was started among by mpirun/srun (from the launcher's environment):
 * 1 when started alone. Works in builds without MPI, to say that they cannot train so. */
int nnc_launched_ranks(void);
/* MPI_COMM_WORLD. Calls MPI_Init_thread only when the program has not initialized MPI (then
 * nnc_comm_free finalizes it). NULL, with the reason in err, in a build without MPI. */
nnc_comm *nnc_comm_world(int *argc, char ***argv, nnc_error *err);
/* A program's own communicator: mpi_comm points to its MPI_Comm (duplicated, so nnc's
 * messages never meet the program's). MPI must be initialized. */
nnc_comm *nnc_comm_from_mpi(const void *mpi_comm, nnc_error *err);
/* This process's rank and the number of ranks (NULL: 0 and 1). */
int nnc_comm_rank(const nnc_comm *c);
int nnc_comm_size(const nnc_comm *c);
/* The longest wait for the other ranks in any collective (default 600 s): past it, fit fails
 * with "no answer from the other ranks" instead of hanging on a dead rank. */
nnc_status nnc_comm_set_timeout(nnc_comm *c, double seconds);
/* Ends every rank of the job (MPI_Abort): after a timeout, finalizing would wait forever. */
void nnc_comm_abort(nnc_comm *c, int code);
/* Frees the communicator (and finalizes MPI when nnc_comm_world initialized it). NULL is fine. */
void nnc_comm_free(nnc_comm *c);
/* A collective vote: returns -1 when no rank failed, else the lowest rank that did, whose
 * msg (n bytes on every rank) every rank then receives: rank 0 can report it. */
int nnc_comm_agree(nnc_comm *c, int failed, char *msg, size_t n);
/* Trains, evaluates and validates data-parallel over c (NULL: alone). The model keeps the
 * pointer; c must outlive its use. nnc_fit and nnc_evaluate are then collective: every rank
 * calls them, with the same arguments (fit checks the model and data by a hash). */
nnc_status nnc_model_set_comm(nnc_model *m, nnc_comm *c);
nnc_comm *nnc_model_comm(const nnc_model *m);

/* Communication of the last fit (data parallel): per step, the mean seconds the backward pass
 * and the reduction of gradients took, and the seconds spent waiting for reductions after the
 * backward pass ended (what was not overlapped); bytes reduced per step. Zeros alone. */
typedef struct {
    double backward_s, wait_s, bytes_per_step;
    int buckets;
    long steps;
} nnc_comm_stats;
nnc_comm_stats nnc_model_comm_stats(const nnc_model *m);

/* The course's remedy for local minima: trains `restarts` initialisations (seeds first_seed,
 * first_seed + 1, ..., each set with nnc_model_set_seed) and keeps the one with the lowest
 * final val_loss (the training loss without validation data), printing each run's result when
 * verbose. The model ends with the best run's weights and optimizer state; *history gets that
 * run's history. An interrupted run (nnc_fit_opts.interrupt) ends them all and stays as it
 * stopped. */
nnc_status nnc_fit_restarts(nnc_model *m, const float *x, const float *y, size_t n,
                            const nnc_fit_opts *o, int restarts, uint64_t first_seed,
                            nnc_history **history);
/* ---- searches for a better minimum (the course's remedies for local minima) ----------------
 * nnc_fit_search runs one of three searches over the weights and leaves the best weights seen in
 * the model. Fitness is the loss (nnc_evaluate) on the validation data when fit's options give
 * some (validation_x or validation_split), else on the training rows. Deterministic for a seed
 * whatever the thread count: candidates are evaluated one after the other, each forward and
 * backward pass split over the model's thread pool (which gives bit-identical results for any
 * thread count), and every random draw comes from one generator seeded from `seed`. */
typedef enum { NNC_SEARCH_RESTARTS, NNC_SEARCH_ANNEAL, NNC_SEARCH_GENETIC } nnc_search_kind;
typedef enum { NNC_COOL_GEOMETRIC, NNC_COOL_LINEAR } nnc_cooling;
typedef enum { NNC_CROSSOVER_UNIFORM, NNC_CROSSOVER_BLEND } nnc_crossover;

typedef struct {
    nnc_search_kind kind;
    uint64_t seed;          /* 42: initialisations use seed, seed + 1, ...; the search's own draws too */
    int refine_epochs;      /* gradient epochs (nnc_fit with fit's options) after each candidate is
                             * made: 0 = a pure search (anneal, genetic); restarts: fit's epochs */
    int restarts;           /* restarts: 5 initialisations */
    /* annealing: a Gaussian step on every trainable weight, kept when not worse, else with
     * probability exp(-delta / T); T falls from t_start to t_end over `steps` steps. */
    int steps;              /* 300 */
    double t_start, t_end;  /* 0.1 and 0.0001, both > 0 */
    nnc_cooling cooling;    /* geometric */
    float step_scale;       /* 0.1: standard deviation of the step, per weight */
    /* genetic: `population` weight vectors, the `elitism` best kept as they are, the others
     * children of two parents each picked by a tournament of `tournament`, crossed (uniform:
     * each weight from either; blend: BLX-alpha, uniform in the parents' range widened by
     * blend_alpha on both sides), then each weight mutated with probability mutation_rate by
     * a Gaussian of mutation_scale. */
    int population;         /* 20 */
    int generations;        /* 30 */
    int elitism;            /* 2 */
    int tournament;         /* 3 */
    nnc_crossover crossover; /* uniform */
    float blend_alpha;      /* 0.5 */
    float mutation_rate;    /* 0.1 */
    float mutation_scale;   /* 0.3 */
} nnc_search_opts;

nnc_search_opts nnc_search_opts_default(nnc_search_kind kind);
/* The search named by s->kind (restarts: nnc_fit_restarts). Progress with fit's verbose (1: about
 * 20 lines, 2: a line per step or generation) to fit's out. *history (optional) gets one entry
 * per annealing step or generation: "loss" (the best so far); annealing: "current_loss" (the
 * current point's), "temperature", "accepted" (the share of steps accepted so far); genetic:
 * "mean_loss" (the generation's mean). Bad options (a population of 0,
 * a temperature <= 0, ...) are a one-line NNC_ERR_ARG before anything changes. */
nnc_status nnc_fit_search(nnc_model *m, const float *x, const float *y, size_t n,
                          const nnc_fit_opts *o, const nnc_search_opts *s, nnc_history **history);
/* Annealing's rule: the probability of accepting a candidate delta worse (delta <= 0: 1). */
double nnc_anneal_acceptance(double delta, double temperature);
/* The temperature of step k (0-based) of s's schedule: t_start at 0, t_end at steps - 1. */
double nnc_anneal_temperature(const nnc_search_opts *s, int k);

/* Loss and metrics over n examples in inference mode, batch by batch (batch_size <= 0: 32). */
nnc_status nnc_evaluate(nnc_model *m, const float *x, const float *y, size_t n, int batch_size,
                        nnc_logs *out);
/* Writes the model's output for n examples to out [n, nnc_output_size(m)] (several outputs:
 * each row holds output 0's values, then output 1's, ...). Like Keras, a
 * model trained from logits predicts logits: apply nnc_softmax_rows/nnc_sigmoid yourself.
 * Runs as many rows at a time as keep the values within 2 MB (at least 32, Keras's batch);
 * the outputs are the same at any batch size (nnc_predict_ex takes the bound from you). */
nnc_status nnc_predict(nnc_model *m, const float *x, size_t n, float *out);
/* nnc_predict in batches of batch_size, in inference mode or, with training true, in training
 * mode (dropout active, batch statistics: Keras's model(x, training=True)). */
nnc_status nnc_predict_ex(nnc_model *m, const float *x, size_t n, float *out, int batch_size,
                          bool training);
/* Keras's Normalization.adapt: sets every Normalization layer's mean and variance (biased)
 * from n examples of x, in layer order. Call after compile, before fit. */
nnc_status nnc_adapt(nnc_model *m, const float *x, size_t n);
/* The first layer whose state nnc_adapt sets from data (a Normalization), NULL when none. */
const char *nnc_adapt_layer(const nnc_model *m);
/* The name of the layer whose output the model gives ("layer_3"); the first output's. */
const char *nnc_model_output_name(const nnc_model *m);
/* The model's outputs (1 for a Sequential model, else those of nnc_set_outputs), the name of
 * output i's layer ("" out of range), its values per example, and the targets per example
 * its loss reads (1 for sparse categorical cross-entropy; 0 before compile). */
int nnc_model_n_outputs(const nnc_model *m);
const char *nnc_model_output_name_at(const nnc_model *m, int i);
size_t nnc_output_size_at(const nnc_model *m, int i);
size_t nnc_target_size_at(const nnc_model *m, int i);
/* The outputs' names as "a, b" into buf (n bytes, cut to fit), for messages that list them. */
void nnc_model_output_list(const nnc_model *m, char *buf, size_t n);
/* Features per example over all inputs, and output values per example over all outputs
 * (predict writes each row's outputs side by side, in output order). */
size_t nnc_input_size(const nnc_model *m);
size_t nnc_output_size(const nnc_model *m);
/* Values per example that y holds for the compiled model's loss: 1 (a class index) for sparse
 * categorical cross-entropy, else nnc_output_size; with several outputs the sum of each
 * output's (nnc_target_size_at), side by side in output order. 0 before compile. */
size_t nnc_target_size(const nnc_model *m);

typedef struct {
    int batch_size; /* 16: the first rows of x make the checked batch */
    double rtol;    /* 0.01: allowed |numerical − analytic| relative to the larger of the two */
} nnc_gradcheck_opts;

/* One variable's verdict. Elements whose ±ε moves a ReLU-like kink are skipped (the
 * derivative is not defined there); failed counts elements beyond the tolerance. */
typedef struct {
    bool trainable;  /* false: a state variable or a frozen layer's weight, not checked */
    size_t checked, skipped, failed;
    double max_abs_err, max_rel_err;
} nnc_gradcheck_result;

/* The gradcheck defaults. */
nnc_gradcheck_opts nnc_gradcheck_opts_default(void);
/* The course's ε check of backpropagation on a compiled model: for every trainable variable,
 * compares the gradient of the loss over one batch with the central difference
 * (J(w + ε) − J(w − ε)) / 2ε, ε = 1e-3·max(1, |w|), in training mode with fixed dropout
 * masks. results holds nnc_variable_count(m) entries, in variable order; *n_failed (may be
 * NULL) gets the number of variables with a failed element. */
nnc_status nnc_gradcheck(nnc_model *m, const float *x, const float *y, size_t n,
                         const nnc_gradcheck_opts *o, nnc_gradcheck_result *results, int *n_failed);

/* In-place softmax of each of the n rows of k values, and elementwise sigmoid. */
void nnc_softmax_rows(float *v, size_t n, size_t k);
void nnc_sigmoid(float *v, size_t n);

/* ---- callbacks (Keras's keras.callbacks) ---------------------------------------------------
 * Each constructor copies its options (strings too) and returns a handle, or NULL with the
 * reason in err (which may be NULL) when an option is invalid. Attach handles to a fit with
 * nnc_fit_opts.callbacks: at each event they run in array order, then the fit's own hooks.
 * A handle is reset when a fit starts (ModelCheckpoint keeps its best value, as Keras's does),
 * serves one fit at a time, and is freed by the caller with nnc_callback_free. Files they name
 * are relative to the current directory. Messages (verbose > 0) go to nnc_fit_opts.out. */

/* How a monitored value improves. auto: higher is better when the name contains "acc"
 * ("accuracy", "val_accuracy"), lower otherwise ("loss", "val_loss", "mse"). */
typedef enum { NNC_MODE_AUTO, NNC_MODE_MIN, NNC_MODE_MAX } nnc_monitor_mode;

typedef struct {
    const char *monitor;       /* "val_loss" */
    double min_delta;          /* 0: an improvement must beat the best by more than |min_delta| */
    int patience;              /* 0: epochs without improvement before stopping */
    int verbose;               /* 0 */
    nnc_monitor_mode mode;     /* auto */
    double baseline;           /* NAN: none; else the wait only restarts on beating it too */
    bool restore_best_weights; /* false: true restores the best epoch's weights when fit ends */
    int start_from_epoch;      /* 0: epochs of warm-up that are not monitored */
} nnc_early_stopping_opts;

/* Keras's EarlyStopping() defaults. */
nnc_early_stopping_opts nnc_early_stopping_opts_default(void);
/* Keras's EarlyStopping: stops when the monitored value has not improved for patience epochs.
 * restore_best_weights copies the weights at each improvement into a buffer made at fit start. */
nnc_callback *nnc_early_stopping(const nnc_early_stopping_opts *o, nnc_error *err);

typedef struct {
    const char *filepath;      /* required: "ckpt-{epoch:02d}-{val_loss:.2f}.safetensors" */
    const char *monitor;       /* "val_loss" */
    int verbose;               /* 0 */
    bool save_best_only;       /* false: true saves only when the monitored value improves */
    bool save_weights_only;    /* false: true saves without the optimizer state */
    nnc_monitor_mode mode;     /* auto */
    double initial_value_threshold; /* NAN: none; else the best value to beat at first */
} nnc_model_checkpoint_opts;

/* Keras's ModelCheckpoint() defaults, with this filepath. */
nnc_model_checkpoint_opts nnc_model_checkpoint_opts_default(const char *filepath);
/* Keras's ModelCheckpoint: saves the model (nnc_model_save, atomic) at the end of each epoch.
 * The filepath's fields, Python's format syntax: {epoch} (1-based) and any log key, with an
 * optional spec ({epoch:02d}, {val_loss:.2f}); missing folders are created. */
nnc_callback *nnc_model_checkpoint(const nnc_model_checkpoint_opts *o, nnc_error *err);

typedef struct {
    const char *monitor;       /* "val_loss" */
    double factor;             /* 0.1: new_lr = lr · factor, in [0, 1) */
    int patience;              /* 10 */
    int verbose;               /* 0 */
    nnc_monitor_mode mode;     /* auto */
    double min_delta;          /* 1e-4 */
    int cooldown;              /* 0: epochs after a reduction during which the wait stays 0 */
    double min_lr;             /* 0 */
} nnc_reduce_lr_opts;

/* Keras's ReduceLROnPlateau() defaults. */
nnc_reduce_lr_opts nnc_reduce_lr_opts_default(void);
/* Keras's ReduceLROnPlateau: multiplies the optimizer's learning rate by factor when the
 * monitored value has not improved for patience epochs; adds "learning_rate" to the logs. */
nnc_callback *nnc_reduce_lr_on_plateau(const nnc_reduce_lr_opts *o, nnc_error *err);

/* A learning-rate schedule: the rate for this epoch (0-based) from the current one. */
typedef double (*nnc_lr_schedule)(void *user, int epoch, double lr);
/* Keras's LearningRateScheduler: sets the learning rate to schedule(user, epoch, lr) at the
 * start of each epoch and adds "learning_rate" to the logs. verbose 1 prints each change. */
nnc_callback *nnc_learning_rate_scheduler(nnc_lr_schedule schedule, void *user, int verbose,
                                          nnc_error *err);

typedef struct {
    const char *filename;      /* required */
    char separator;            /* ',' */
    bool append;               /* false: overwrite; true: append (no second header) */
} nnc_csv_logger_opts;

/* Keras's CSVLogger() defaults, with this filename. */
nnc_csv_logger_opts nnc_csv_logger_opts_default(const char *filename);
/* Keras's CSVLogger: a header "epoch" and the first epoch's log keys (sorted), then a row per
 * epoch: the 0-based epoch and the values ("NA" for a key missing later). */
nnc_callback *nnc_csv_logger(const nnc_csv_logger_opts *o, nnc_error *err);

/* Keras's TerminateOnNaN: stops training, cleanly, when a batch's loss is NaN or infinite; fit
 * then returns NNC_OK with the weights before that step. NULL when out of memory. */
nnc_callback *nnc_terminate_on_nan(void);

typedef struct {
    const char *backup_dir;    /* required */
    bool delete_checkpoint;    /* true: remove the backup when fit ends without an error */
} nnc_backup_and_restore_opts;

/* Keras's BackupAndRestore() defaults, with this folder. */
nnc_backup_and_restore_opts nnc_backup_and_restore_opts_default(const char *backup_dir);
/* Keras's BackupAndRestore: saves the model with its optimizer state, epoch and RNG state to
 * backup_dir/backup.safetensors (atomic) after each epoch. At fit start an existing backup is
 * loaded and training resumes after its epoch, so an interrupted run finishes with the same
 * weights as an uninterrupted one. The folder is created when missing. */
nnc_callback *nnc_backup_and_restore(const nnc_backup_and_restore_opts *o, nnc_error *err);

/* Frees a callback. NULL is fine. */
void nnc_callback_free(nnc_callback *cb);
/* A callback's kind as the spec file names it ("early_stopping", "backup_and_restore", ...,
 * "learning_rate_scheduler"); NULL for NULL. */
const char *nnc_callback_name(const nnc_callback *cb);

/* ---- inspection ------------------------------------------------------------------------ */

/* Prints Keras's summary table (Layer (type), Output Shape, Param #, totals). */
nnc_status nnc_summary(const nnc_model *m, FILE *f);
/* The same as one JSON object and a newline: {"model", "layers": [{"name", "class" (Keras's),
 * "output_shape" ([null, ...]), "params", "trainable" (false: frozen), "inputs" (layer names)}...],
 * "total_params",
 * "trainable_params", "non_trainable_params"}; every layer, the input layer too. */
nnc_status nnc_summary_json(const nnc_model *m, FILE *f);
/* Number of variables (kernels, biases, ...) and their names ("layer_1.kernel"). */
int nnc_variable_count(const nnc_model *m);
const char *nnc_variable_name(const nnc_model *m, int i);
/* Shape of variable i; returns its rank. */
int nnc_variable_shape(const nnc_model *m, int i, int shape[NNC_MAX_RANK]);
/* Copies a variable's values out of / into the model (n must equal its size). */
nnc_status nnc_get_variable(nnc_model *m, const char *name, float *out, size_t n);
nnc_status nnc_set_variable(nnc_model *m, const char *name, const float *in, size_t n);
/* Total number of parameters (after compile). */
size_t nnc_param_count(const nnc_model *m);
/* Epochs the model has completed: those its fits ran (not an interrupted one), counted on from
 * a loaded file's or a BackupAndRestore backup's count. An interrupted fit stopped in epoch
 * nnc_model_epochs_done(m) + 1 (1-based, as the progress bar prints). */
int nnc_model_epochs_done(const nnc_model *m);

/* ---- data ------------------------------------------------------------------------------ */

typedef struct {
    float *x;        /* [n, features], row-major */
    float *y;        /* [n, targets] */
    size_t n, features, targets;
} nnc_dataset;

/* Loads a bundled dataset by name ("digits", "digits_01", "digits_multilabel", "iris", "wine",
 * "breast_cancer", "diabetes"; in $NNC_DATA_DIR if set, else in share/nnc/data beside the
 * program or libnnc.so: README.md) or a CSV file (.csv or .csv.gz, read as
 * nnc_table_read_csv reads it with the defaults; numbers only: a text or missing cell is an
 * error naming its line and column) whose last `targets` columns are the targets (0: the
 * dataset's own count, 1 for a CSV). Values are as stored.
 * Also "fashion_mnist" (its 60000 training images) and "fashion_mnist_test" (its 10000 test
 * images): 784 pixels divided by 255 and a class 0-9 per row, read as IDX from
 * $NNC_FASHION_MNIST_DIR or else /usr/share/datasets/fashion-mnist (Debian's
 * dataset-fashion-mnist); NNC_ERR_IO, saying so, when the files are not there. */
nnc_status nnc_dataset_load(const char *name_or_path, int targets, nnc_dataset *out,
                            nnc_error *err);
/* A seeded random sample of test_fraction of the rows goes to test, the rest (in their
 * original order) to train; both are new copies to free. */
nnc_status nnc_dataset_split(const nnc_dataset *d, double test_fraction, uint64_t seed,
                             nnc_dataset *train, nnc_dataset *test, nnc_error *err);
/* Frees a dataset's arrays and zeroes it. */
void nnc_dataset_free(nnc_dataset *d);

/* Loads IDX files (the MNIST format: big-endian header, .gz or plain): images [n, ...] and
 * their labels [n] (labels may be NULL: images only, targets 0, for prediction). Unsigned-byte
 * pixels are divided by 255; other types are used as stored. */
nnc_status nnc_dataset_load_idx(const char *images, const char *labels, nnc_dataset *out,
                                nnc_error *err);

/* How a CSV file is read (nnc_csv_opts_default: delimiter and header told from the file). */
typedef enum { NNC_HEADER_AUTO = 0, NNC_HEADER_YES, NNC_HEADER_NO } nnc_header_mode;
typedef struct {
    char delimiter;         /* ',', ';', '\t' or '|'; 0: the one of these met most often outside
                             * quotes in the first record (a tie is an error; none: ',') */
    nnc_header_mode header; /* AUTO: the first record names the columns unless it holds a number
                             * and no column has a text there above numbers only (then it is
                             * data: "1,2,3" or "5.1,3.5,setosa"); YES, NO: as said */
} nnc_csv_opts;

/* Distinct texts a column may hold; a column with more keeps none (too_many_texts). */
#define NNC_TABLE_MAX_TEXTS 65536

/* A column of a table. A cell is a number, missing (empty, "NA" or "?": NaN in values) or a
 * text; one text makes the whole column a text column, whose cells are all texts. */
typedef struct {
    char *name;             /* from the header (quotes removed, unquoted spaces trimmed); "" without one */
    char **texts;           /* a text column: its distinct cells in byte order; values hold the
                             * index of each row's text in this list. NULL: a column of numbers */
    size_t n_texts;
    bool too_many_texts;    /* over NNC_TABLE_MAX_TEXTS distinct texts: values NaN, texts NULL */
    size_t too_many_line;   /* the line of the first text past that many */
    size_t missing;         /* cells that are missing */
    size_t first_missing_line, first_text_line; /* line of the first of each; 0: none */
    char first_text[48];    /* the first text cell, cut to 40 bytes and "..." */
    char first_missing[4];  /* the first missing cell: "", "NA" or "?" */
} nnc_table_column;

/* A CSV file as read: values [rows, cols] row-major and each column's description. */
typedef struct {
    float *values;
    size_t rows, cols;
    nnc_table_column *columns;
    char *source;           /* the file's name as given, for messages */
    char delimiter;         /* the one used */
    bool header;            /* the first record held the names */
    bool row_names;         /* the header left column 1 unnamed (R's write.csv, pandas' to_csv):
                             * that column was taken as row names and skipped */
    size_t *line_jumps;     /* nnc_table_line's record of rows that do not start one line after
                             * the previous row (quoted line breaks): pairs (row, line) */
    size_t n_line_jumps;
} nnc_table;

/* Keras-like defaults: delimiter 0 (told from the file), header NNC_HEADER_AUTO. */
nnc_csv_opts nnc_csv_opts_default(void);
/* Reads a CSV file (plain, or gzip-compressed: told by its content) as RFC 4180 writes it:
 * quoted fields with doubled quotes and line breaks inside, "\n" or "\r\n" line ends, an
 * optional UTF-8 byte-order mark, blank lines at the end. Numbers are read in the C locale
 * ('.' decimal point). o may be NULL (the defaults). NNC_ERR_IO / NNC_ERR_FORMAT with
 * "file:line: column N ('name'): problem" in err, *out zeroed: a malformed quote, a ragged
 * row, a NaN, Inf or out-of-float32 number in a column of numbers, a duplicate column name. */
nnc_status nnc_table_read_csv(const char *path, const nnc_csv_opts *o, nnc_table *out, nnc_error *err);
/* The same from text in memory (len bytes, not NUL-terminated); name is the file the
 * messages name. */
nnc_status nnc_table_parse_csv(const char *text, size_t len, const char *name, const nnc_csv_opts *o, nnc_table *out,
                               nnc_error *err);
/* The line of the file on which row r (0-based) starts. */
size_t nnc_table_line(const nnc_table *t, size_t r);
/* NNC_OK when column c holds only numbers (and no missing cell unless allow_missing); else
 * NNC_ERR_FORMAT with "file:line: column N ('name'): not a number: 'abc'" (with a hint for a
 * decimal comma or another delimiter) or "...: missing value" in err. */
nnc_status nnc_table_check_numbers(const nnc_table *t, size_t c, bool allow_missing, nnc_error *err);
/* Frees a table's arrays and zeroes it. */
void nnc_table_free(nnc_table *t);
/* A dataset from a table of numbers (every column passes nnc_table_check_numbers without
 * missing cells): the columns with is_target[c] set become y (in column order), the others x.
 * The table is consumed (its values become x in place, so no second copy of the
 * data is made) and zeroed, also on failure. */
nnc_status nnc_dataset_from_table(nnc_table *t, const bool *is_target, nnc_dataset *out, nnc_error *err);

/* ---- text: Keras's TextVectorization, before a model's float Input ---------------------- */

/* Text is not a float tensor, so the vectorizer stands before the graph: it turns texts into
 * the floats a model's Input takes (token ids, or a vector over the vocabulary). */
typedef struct nnc_text_vectorizer nnc_text_vectorizer;
typedef struct {
    int max_tokens;             /* vocabulary cap, reserved tokens included; 0: none */
    int output_sequence_length; /* int mode: ids per text, padded with 0 / cut at the end; else 0 */
    const char *standardize;    /* "lower_and_strip_punctuation" (NULL), "lower", "strip_punctuation", "none" */
    const char *split;          /* "whitespace" (NULL) or "character" */
    const char *output_mode;    /* "int" (NULL), "multi_hot" or "count" */
    bool pad_to_max_tokens;     /* multi_hot and count: max_tokens values per text whatever the
                                 * vocabulary's size (the tail zeros), so that the width is known
                                 * before adapt; needs max_tokens. Ignored in int mode, as Keras does */
} nnc_text_vec_opts;

/* Keras's defaults (output_sequence_length 0: set it for int mode). */
nnc_text_vec_opts nnc_text_vec_opts_default(void);
/* A vectorizer without vocabulary; NNC_ERR_ARG naming the bad option. */
nnc_status nnc_text_vectorizer_new(const nnc_text_vec_opts *o, nnc_text_vectorizer **out, nnc_error *err);
/* Keras's adapt: the vocabulary is '' (padding, int mode only) and '[UNK]' (out of vocabulary),
 * then the texts' tokens by descending count, ties by descending bytes, up to max_tokens. */
nnc_status nnc_text_vectorizer_adapt(nnc_text_vectorizer *t, const char *const *texts, size_t n, nnc_error *err);
/* Sets the vocabulary (tokens without the reserved ones); NNC_ERR_ARG when over max_tokens, or a
 * token is repeated, '' or '[UNK]'. */
nnc_status nnc_text_vectorizer_set_vocabulary(nnc_text_vectorizer *t, const char *const *tokens, size_t n, nnc_error *err);
/* Writes n rows of nnc_text_vectorizer_output_size floats. Invalid UTF-8 counts as U+FFFD per
 * bad byte; an empty text is all padding (zeros), as in Keras. Not thread-safe per vectorizer. */
nnc_status nnc_text_vectorize(nnc_text_vectorizer *t, const char *const *texts, size_t n, float *out, nnc_error *err);
/* Floats per text: output_sequence_length in int mode, else max_tokens with pad_to_max_tokens,
 * else the vocabulary's size. */
size_t nnc_text_vectorizer_output_size(const nnc_text_vectorizer *t);
/* The vocabulary, reserved tokens included: its size and token i (NULL past the end). */
size_t nnc_text_vectorizer_vocabulary_size(const nnc_text_vectorizer *t);
const char *nnc_text_vectorizer_token(const nnc_text_vectorizer *t, size_t i);
/* The options, with the names filled in. */
nnc_text_vec_opts nnc_text_vectorizer_opts(const nnc_text_vectorizer *t);
void nnc_text_vectorizer_free(nnc_text_vectorizer *t);
/* Gives the model a copy of t (NULL: none), saved in its .safetensors file (metadata
 * "text_vectorization") and loaded with it; a .keras or .h5 file holds it as Keras's string
 * InputLayer and TextVectorization layer, an ONNX file in its metadata (docs/FORMAT.md). */
nnc_status nnc_model_set_text_vectorizer(nnc_model *m, const nnc_text_vectorizer *t);
/* The model's vectorizer (owned by the model; NULL: none): nnc_text_vectorize with it makes
 * the model's input from raw text. */
nnc_text_vectorizer *nnc_model_text_vectorizer(const nnc_model *m);

/* Labelled texts (a bundled text dataset). */
typedef struct {
    char **texts;
    int *labels;          /* 0..n_classes-1 */
    size_t n;
    int n_classes;
    const char *const *class_names;
} nnc_text_dataset;

/* "fortunes" (training part) or "fortunes_test": the computers, food, law, sports and startrek
 * files of Debian's fortunes package, entries split at lines holding '%', each file's every
 * fifth entry (index 4, 9, ...) in the test part (in file order), the others in the training
 * part in a fixed shuffled order (so that its last rows, which a validation split takes, hold
 * every category). Read from $NNC_FORTUNES_DIR, else
 * /usr/share/games/fortunes; NNC_ERR_IO saying so when a file is not there. */
nnc_status nnc_text_dataset_load(const char *name, nnc_text_dataset *out, nnc_error *err);
void nnc_text_dataset_free(nnc_text_dataset *d);

/* ---- the columns a model was trained on ---------------------------------------------------- */

/* Caps on what a model records of its data: class names per target, one-hot categories per
 * feature column (a column with more is more likely an ID or a number). */
#define NNC_MAX_CLASS_NAMES 65536
#define NNC_MAX_ONE_HOT 10000

typedef enum { NNC_COLUMN_FEATURE = 0, NNC_COLUMN_TARGET = 1 } nnc_column_role;

/* One column of the training data, in the file's order. */
typedef struct {
    const char *name;          /* its header name ("" when the file had none) */
    nnc_column_role role;
    const char *const *values; /* a feature: its categories, one-hot encoded in this order (one
                                * input each); a target: its class names (class i is values[i]);
                                * NULL: numbers, one input or target as they are */
    size_t n_values;
} nnc_column;

/* Records the columns of a compiled model's training data (copied), so that eval and predict
 * can pick columns by name and print class names; nnc_model_save stores them. Checked: the
 * features make nnc_input_size inputs (a model with a TextVectorization: one feature column,
 * its text, without values), the targets are nnc_target_size, names are distinct,
 * values are non-empty and distinct and within the caps above. n = 0 forgets them. */
nnc_status nnc_model_set_columns(nnc_model *m, const nnc_column *cols, size_t n);
/* The recorded columns (their count in *n); NULL when none. Valid until the model is freed or
 * its columns set again. */
const nnc_column *nnc_model_columns(const nnc_model *m, size_t *n);

/* ---- spec files ------------------------------------------------------------------------ */

/* Builds and compiles a model from a spec file (docs/SPEC.md: one statement a line, `input`,
 * layers, `loss`, `optimizer`, `metrics`, `fit`, `callback`). NULL on failure, with err naming the file,
 * line and word at fault. */
nnc_model *nnc_model_from_spec(const char *path, nnc_error *err);
/* The same from text in memory; name stands for the file in messages. */
nnc_model *nnc_model_from_spec_text(const char *text, size_t len, const char *name,
                                    nnc_error *err);
/* A model on base's layers (a loaded model, left as it is) with a spec file that holds no input
 * or layer lines: its loss, optimizer and metrics lines replace base's, its fit and callback
 * lines apply. base's weights and columns are copied; its optimizer state, epoch count and
 * random state too unless the spec has an optimizer line. NULL on failure, err naming the line. */
nnc_model *nnc_model_from_spec_on(const char *path, const nnc_model *base, nnc_error *err);
/* Applies the spec's `fit` line (epochs, batch_size, validation_split, shuffle, ...) to o, and
 * adds its `callback` lines after the callbacks o already lists: o->callbacks then points at
 * a list the model keeps (valid until the next call or nnc_model_free). The handles stay
 * with whoever made them: free your own as before, never the spec's (the model frees those).
 * A model not built from a spec leaves o as it is. */
nnc_status nnc_model_fit_defaults(nnc_model *m, nnc_fit_opts *o);

/* ---- files ----------------------------------------------------------------------------- */

typedef struct {
    bool include_optimizer; /* true: optimizer state is saved too (resumable) */
} nnc_save_opts;

/* include_optimizer = true. */
nnc_save_opts nnc_save_opts_default(void);
/* Saves the model: architecture, compile config, weights and optimizer state, in the format
 * the extension names: ".keras" (a Keras 3 zip) or ".h5"/".hdf5" (Keras's legacy HDF5), laid out
 * as Keras 3 writes them; ".onnx" the inference graph for ONNX Runtime (opset 17, input and
 * output channels last, variables under Keras's names); else nnc's safetensors file
 * (docs/FORMAT.md). Atomic: a failed save leaves an existing file untouched. o may be NULL. */
nnc_status nnc_model_save(nnc_model *m, const char *path, const nnc_save_opts *o);
/* Loads a model file, compiled and ready to predict or train further: nnc's (nnc_model_save),
 * a Keras 3 .keras zip or a legacy Keras .h5 (Keras 2 or 3), told by its first bytes, not its
 * name (docs/FORMAT.md). A Keras file brings its compile settings and, where they map onto
 * nnc's slots, its optimizer state; what nnc had to drop or choose is in nnc_model_note. NULL
 * on failure, with the reason (naming the file and the layer or dataset) in err (may be NULL). */
nnc_model *nnc_model_load(const char *path, nnc_error *err);
/* Notes a load left on the model: what it dropped, changed or chose for lack of information
 * (a Keras file's optimizer state nnc cannot map, NaN weights, a default loss), one line each. */
int nnc_model_note_count(const nnc_model *m);
/* Note i (0-based), NULL when out of range; valid until the model is freed. */
const char *nnc_model_note(const nnc_model *m, int i);
/* Keras's load_weights: copies every variable of the compiled model from a safetensors file
 * (an nnc model file, or any file with the same tensor names and shapes) or a Keras file (a
 * whole model, or save_weights' .h5 or .weights.h5: the layers with weights matched in order)
 * after checking them all; nothing changes on failure. When the file (nnc's) also holds the
 * complete optimizer state, that is loaded too, with the RNG state and the count of epochs
 * trained, and *epoch (may be NULL) gets that count, the initial_epoch of a resumed fit;
 * otherwise the optimizer starts afresh and *epoch is 0. */
nnc_status nnc_model_load_weights(nnc_model *m, const char *path, int *epoch);

/* Int8 inference: quantizes every Dense and Conv1D/Conv2D layer of a trained, compiled model.
 * Kernels are symmetric int8 per output channel; each layer's input gets one scale, the largest
 * |value| it takes over the n calibration rows x (features as for nnc_predict). Products then
 * run in int8 with int32 sums, bias and activation in float. The model is for inference only
 * afterwards (fit refuses it) and is saved as nnc's model file only. */
nnc_status nnc_quantize_int8(nnc_model *m, const float *x, size_t n);
/* bf16 inference: every Dense and Conv1D/Conv2D layer of a trained, compiled model multiplies in
 * bfloat16 with float sums (AVX512_BF16; NNC_ERR_UNSUPPORTED on a CPU without it). No
 * calibration; inference only afterwards, saved as nnc's model file only, as int8. */
nnc_status nnc_quantize_bf16(nnc_model *m);
/* The layers of m that run in int8 (0: none). */
int nnc_model_int8_layers(const nnc_model *m);
/* The layers of m that run in bf16 (0: none). */
int nnc_model_bf16_layers(const nnc_model *m);
/* Whether layer i (0-based, as nnc_summary counts them) runs in int8. */
int nnc_layer_is_int8(const nnc_model *m, int i);
/* What layer i multiplies in: "int8", "bf16" or "float32". */
const char *nnc_layer_precision(const nnc_model *m, int i);
/* The int8 kernel this CPU runs: "avx512-vnni", "avx-vnni", "avx2" or "reference". */
const char *nnc_int8_kernel(void);

/* Writes len bytes to path as every save of nnc does: to a temporary file in the same folder,
 * synced, then renamed over path, so that readers see the old file or the whole new one.
 * NNC_ERR_IO, with the reason naming the file in err (may be NULL), on failure; an existing
 * file is then left untouched. */
nnc_status nnc_file_write_atomic(const char *path, const void *data, size_t len, nnc_error *err);
/* NNC_OK when a file could be created at path (its folder exists and is writable), else
 * NNC_ERR_IO with the reason: lets a long run fail before it starts rather than at its end. */
nnc_status nnc_file_check_writable(const char *path, nnc_error *err);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
