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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNC_VERSION_STRING "0.1.0"

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

/* ---- building a model ------------------------------------------------------------------ */

typedef struct nnc_model nnc_model;

/* A symbolic tensor in the model's graph (Keras's KerasTensor): the output of a layer. */
typedef int nnc_node;
#define NNC_NONE (-1) /* returned by a builder call that failed */
#define NNC_PREV (-2) /* as an input: the output of the most recently added layer (Sequential) */
#define NNC_MAX_RANK 4 /* dimensions of one example, batch axis not counted */

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
    const char *name;                /* NULL: "dense", "dense_1", ... as Keras names them */
} nnc_dense_opts;

/* Dense options with Keras's defaults. */
nnc_dense_opts nnc_dense_opts_default(int units);
/* Keras's Dense: y = activation(x·W + b), W [in, units]; applies to the last axis of x. */
nnc_node nnc_dense(nnc_model *m, nnc_node x, const nnc_dense_opts *o);
/* Keras's Activation layer. */
nnc_node nnc_activation_layer(nnc_model *m, nnc_node x, nnc_activation a, const char *name);
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
    int dilation_rate[2];    /* (1, 1) */
    nnc_activation activation;
    bool use_bias;           /* true */
    nnc_initializer kernel_initializer; /* glorot_uniform, fans from kh·kw·in and kh·kw·out */
    nnc_initializer bias_initializer;   /* zeros */
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
} nnc_batch_norm_opts;

/* Keras's BatchNormalization defaults (axis -1). */
nnc_batch_norm_opts nnc_batch_norm_opts_default(void);
/* Keras's BatchNormalization: batch statistics in fit, moving statistics in evaluate and
 * predict; variables gamma, beta (trainable), moving_mean, moving_variance (not). */
nnc_node nnc_batch_normalization(nnc_model *m, nnc_node x, const nnc_batch_norm_opts *o);
/* Declares the model's outputs (functional models). Sequential models need not call it:
 * the last layer added is the output. */
nnc_status nnc_set_outputs(nnc_model *m, const nnc_node *outs, int n);
/* Computes with this many threads (default 1): large products and convolutions are split over
 * them. Results are bit-identical whatever the count. */
nnc_status nnc_model_set_threads(nnc_model *m, int threads);
int nnc_model_threads(const nnc_model *m);
/* Seeds the model's random generator (initial weights, shuffling). Default seed 0. */
void nnc_model_set_seed(nnc_model *m, uint64_t seed);

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

typedef enum { NNC_OPT_SGD, NNC_OPT_ADAM, NNC_OPT_RMSPROP, NNC_OPT_COUNT } nnc_optimizer_kind;

typedef struct {
    nnc_optimizer_kind kind;
    float learning_rate; /* SGD 0.01, Adam and RMSprop 0.001 */
    float momentum;      /* SGD and RMSprop: default 0 */
    bool nesterov;       /* SGD: default false */
    float beta_1;        /* Adam: 0.9 */
    float beta_2;        /* Adam: 0.999 */
    float epsilon;       /* Adam and RMSprop: 1e-7 */
    float rho;           /* RMSprop: 0.9 */
    bool centered;       /* RMSprop: default false */
} nnc_optimizer;

/* Keras's SGD(), Adam() and RMSprop() defaults. */
nnc_optimizer nnc_sgd_default(void);
nnc_optimizer nnc_adam_default(void);
nnc_optimizer nnc_rmsprop_default(void);
/* Keras's name ("sgd", "adam", "rmsprop"). */
const char *nnc_optimizer_name(nnc_optimizer_kind k);
/* Parses a Keras optimizer name into its defaults; NNC_ERR_ARG when unknown. */
nnc_status nnc_optimizer_parse(const char *name, nnc_optimizer *out);

typedef enum {
    NNC_METRIC_ACCURACY, /* binary, sparse categorical or categorical, chosen from the loss */
    NNC_METRIC_MSE,
    NNC_METRIC_MAE,
    NNC_METRIC_COUNT
} nnc_metric;

/* Keras's name of a metric ("accuracy", "mse", "mae"). */
const char *nnc_metric_name(nnc_metric k);
/* Parses a metric name ("accuracy"/"acc", "mse", "mae", long forms too). */
nnc_status nnc_metric_parse(const char *name, nnc_metric *out);

#define NNC_MAX_METRICS 8

typedef struct {
    nnc_loss loss;
    nnc_optimizer optimizer;
    nnc_metric metrics[NNC_MAX_METRICS];
    int n_metrics;
} nnc_compile_opts;

/* MSE loss, Adam, no metrics. */
nnc_compile_opts nnc_compile_opts_default(void);
/* Checks the graph, infers shapes, plans parameter memory and initialises the weights.
 * Fails with NNC_ERR_SHAPE when the loss does not fit the output. */
nnc_status nnc_compile(nnc_model *m, const nnc_compile_opts *o);

/* ---- logs and history ------------------------------------------------------------------ */

#define NNC_MAX_LOGS 16

/* Named values of one epoch or one evaluation: "loss", "accuracy", "val_loss", ... */
typedef struct {
    int count;
    char names[NNC_MAX_LOGS][32];
    double values[NNC_MAX_LOGS];
} nnc_logs;

/* The value named key; NAN when absent. */
double nnc_logs_get(const nnc_logs *l, const char *key);

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

typedef struct {
    int epochs;               /* 1: train until this epoch count */
    int initial_epoch;        /* 0: Keras's initial_epoch, for resuming */
    int batch_size;           /* 32 */
    bool shuffle;             /* true: reshuffled each epoch from the model's RNG */
    float validation_split;   /* 0: the last fraction of (x, y), taken before shuffling */
    const float *validation_x; /* explicit validation data, overrides validation_split */
    const float *validation_y;
    size_t validation_n;
    int64_t seed;             /* >= 0: reseeds the model's RNG first; -1 (default): leave it */
    int verbose;              /* 0 silent, 1 progress bar (default), 2 one line per epoch */
    FILE *out;                /* where verbose output goes; NULL: stdout */
    nnc_epoch_callback on_epoch_end;
    void *user;
} nnc_fit_opts;

/* Reseeds the model's RNG and draws every variable again from its initializer, clearing the
 * optimizer state: the model as a fresh compile with that seed would make it. */
nnc_status nnc_reinitialize(nnc_model *m, uint64_t seed);

/* Keras's fit defaults. */
nnc_fit_opts nnc_fit_opts_default(void);
/* Trains on n examples. *history (optional) receives the per-epoch logs; free it with
 * nnc_history_free. Stops with NNC_ERR_NUMERIC, naming the epoch and batch, when the loss
 * becomes NaN or infinite; the weights are then those before the failing step. */
nnc_status nnc_fit(nnc_model *m, const float *x, const float *y, size_t n,
                   const nnc_fit_opts *o, nnc_history **history);
/* Loss and metrics over n examples in inference mode, batch by batch (batch_size <= 0: 32). */
nnc_status nnc_evaluate(nnc_model *m, const float *x, const float *y, size_t n, int batch_size,
                        nnc_logs *out);
/* Writes the model's output for n examples to out [n, nnc_output_size(m)]. Like Keras, a
 * model trained from logits predicts logits: apply nnc_softmax_rows/nnc_sigmoid yourself. */
nnc_status nnc_predict(nnc_model *m, const float *x, size_t n, float *out);
/* Keras's Normalization.adapt: sets every Normalization layer's mean and variance (biased)
 * from n examples of x, in layer order. Call after compile, before fit. */
nnc_status nnc_adapt(nnc_model *m, const float *x, size_t n);
/* Features per example over all inputs, and output values per example. */
size_t nnc_input_size(const nnc_model *m);
size_t nnc_output_size(const nnc_model *m);

/* In-place softmax of each of the n rows of k values, and elementwise sigmoid. */
void nnc_softmax_rows(float *v, size_t n, size_t k);
void nnc_sigmoid(float *v, size_t n);

/* ---- inspection ------------------------------------------------------------------------ */

/* Prints Keras's summary table (Layer (type), Output Shape, Param #, totals). */
nnc_status nnc_summary(nnc_model *m, FILE *f);
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

/* ---- data ------------------------------------------------------------------------------ */

typedef struct {
    float *x;        /* [n, features], row-major */
    float *y;        /* [n, targets] */
    size_t n, features, targets;
} nnc_dataset;

/* Loads a bundled dataset by name ("digits", "digits_01", "digits_multilabel", "iris", "wine",
 * "breast_cancer", "diabetes"; found through $NNC_DATA_DIR, the source tree or the install
 * prefix) or a CSV file (.csv or .csv.gz, a header row, numbers only) whose last `targets`
 * columns are the targets (0: the dataset's own count, 1 for a CSV). Values are as stored.
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

/* ---- spec files ------------------------------------------------------------------------ */

/* Builds and compiles a model from a spec file (docs/SPEC.md: one statement a line, `input`,
 * layers, `loss`, `optimizer`, `metrics`, `fit`). NULL on failure, with err naming the file,
 * line and word at fault. */
nnc_model *nnc_model_from_spec(const char *path, nnc_error *err);
/* The same from text in memory; name stands for the file in messages. */
nnc_model *nnc_model_from_spec_text(const char *text, size_t len, const char *name,
                                    nnc_error *err);
/* Applies the spec's `fit` line (epochs, batch_size, validation_split, shuffle) to o. */
void nnc_model_fit_defaults(const nnc_model *m, nnc_fit_opts *o);

/* ---- files ----------------------------------------------------------------------------- */

typedef struct {
    bool include_optimizer; /* true: optimizer state is saved too (resumable) */
} nnc_save_opts;

/* include_optimizer = true. */
nnc_save_opts nnc_save_opts_default(void);
/* Saves as a safetensors file (docs/FORMAT.md): architecture, compile config, weights and
 * optimizer state. Atomic: a failed save leaves an existing file untouched. o may be NULL. */
nnc_status nnc_model_save(nnc_model *m, const char *path, const nnc_save_opts *o);
/* Loads a model saved by nnc_model_save, compiled and ready to predict or train further.
 * NULL on failure, with the reason (naming the file) in err (which may be NULL). */
nnc_model *nnc_model_load(const char *path, nnc_error *err);

#ifdef __cplusplus
}
#endif
#endif
