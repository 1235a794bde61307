/* Spec files (docs/SPEC.md): what they build, the errors they give (each naming the file, the
 * line and the word), their round trip through the model file, and the preprocessing layers
 * they bring (Rescaling, Normalization with adapt, LeakyReLU). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "compare.h"
#include "train/train_impl.h"
#include "format/json.h"
#include "io/keras_config.h"
#include "io/spec_docs.h"
#include "io/model_file.h"
#include "layers/layers.h"

static nnc_model *build(const char *text, nnc_error *e) {
    return nnc_model_from_spec_text(text, strlen(text), "t.nnc", e);
}

static const char *digits_spec =
    "# the course's digits 0-9 model\n"
    "input 64\n"
    "rescaling 0.0625                       # pixels 0..16 -> 0..1\n"
    "dense 25 activation=relu name=layer_1\n"
    "dense 15 activation=relu name=layer_2\n"
    "dense 10 activation=linear name=layer_3\n"
    "loss sparse_categorical_crossentropy from_logits=true\n"
    "optimizer adam learning_rate=0.001\n"
    "metrics accuracy\n"
    "fit epochs=100 batch_size=32\n";

static void test_builds(test_run *r) {
    if (t_begin(r, "spec/digits_model")) {
        nnc_error e = {""};
        nnc_model *m = build(digits_spec, &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            CHECK(r, m->n_layers == 5 && !strcmp(m->layers[2].name, "layer_1"), "layers");
            CHECK(r, nnc_param_count(m) == 2175, "%zu params", nnc_param_count(m));
            CHECK(r, m->train->copts.loss.kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && m->train->copts.loss.from_logits, "loss");
            CHECK(r, m->train->copts.optimizer.kind == NNC_OPT_ADAM, "optimizer");
            CHECK(r, m->train->copts.n_metrics == 1 && m->train->copts.metrics[0] == NNC_METRIC_ACCURACY, "metrics");
            nnc_fit_opts fo = nnc_fit_opts_default();
            CHECK(r, nnc_model_fit_defaults(m, &fo) == NNC_OK, "fit_defaults: %s", nnc_last_error(m));
            CHECK(r, fo.epochs == 100 && fo.batch_size == 32 && fo.shuffle, "fit line: %d %d", fo.epochs, fo.batch_size);
        }
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "spec/defaults_rmsprop_and_no_metrics")) {
        nnc_error e = {""};
        nnc_model *m = build("input 3\ndense 1\nloss mse\n", &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            CHECK(r, m->train->copts.optimizer.kind == NNC_OPT_RMSPROP, "Keras's default optimizer is rmsprop");
            CHECK(r, m->train->copts.n_metrics == 0, "no metrics");
        }
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "spec/layers_and_values")) {
        nnc_error e = {""};
        nnc_model *m = build("input shape=[2,3]\nnormalization\ndense 4 activation=tanh use_bias=false "
                             "kernel_initializer=he_normal\nleaky_relu 0.1\nactivation softmax name=probs\n"
                             "loss mse\noptimizer sgd learning_rate=0.1 momentum=0.9 "
                             "nesterov=true\nmetrics accuracy mse mae\nfit validation_split=0.25 shuffle=false\n", &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            CHECK(r, m->nodes[m->inputs[0]].shape.rank == 2, "input rank");
            const nnc_dense_opts *dense = nnc_layer_opts(&m->layers[2]);
            const nnc_leaky_relu_opts *leaky = nnc_layer_opts(&m->layers[3]);
            CHECK(r, dense->use_bias == false && dense->kernel_initializer.kind == NNC_INIT_HE_NORMAL,
                  "dense options");
            CHECK_NEAR(r, (double)leaky->negative_slope, (double)0.1f, 1e-7, 0.0, NULL, "slope");
            CHECK(r, m->train->copts.optimizer.nesterov && m->train->copts.n_metrics == 3, "optimizer/metrics");
            nnc_fit_opts fo = nnc_fit_opts_default();
            CHECK(r, nnc_model_fit_defaults(m, &fo) == NNC_OK, "fit_defaults: %s", nnc_last_error(m));
            CHECK(r, fo.validation_split == 0.25f && !fo.shuffle, "fit line");
        }
        nnc_model_free(m);
        t_end(r);
    }
}

static void test_errors(test_run *r) {
    static const struct {
        const char *name, *text, *expect;
    } cases[] = {
        {"unknown_layer", "input 4\ndense2 3\nloss mse\n", "t.nnc:2: unknown layer or statement 'dense2' (did you mean 'dense'?)"},
        {"unknown_key", "input 4\ndense 3 unit=4\nloss mse\n", "t.nnc:2: dense: unknown key 'unit'"},
        {"bad_value", "input 4\ndense three\nloss mse\n", "t.nnc:2: dense: bad value 'three' for units"},
        {"bad_activation", "input 4\ndense 3 activation=rleu\nloss mse\n", "t.nnc:2: dense: unknown activation 'rleu'"},
        {"bad_bool", "input 4\ndense 3 use_bias=yes\nloss mse\n", "t.nnc:2: dense: bad value 'yes' for use_bias"},
        {"missing_input", "dense 3\nloss mse\n", "t.nnc:1: the first statement must be 'input'"},
        {"no_input_at_all", "# nothing\n", "t.nnc: no 'input' line"},
        {"no_loss", "input 4\ndense 3\n", "t.nnc: no 'loss' line"},
        {"loss_does_not_fit", "input 4\ndense 1 name=out\nloss sparse_categorical_crossentropy\n",
         "t.nnc:3: compile: loss sparse_categorical_crossentropy needs at least 2 classes; layer 'out'"},
        {"unknown_loss", "input 4\ndense 1\nloss msee\n", "t.nnc:3: loss: unknown loss 'msee'"},
        {"unknown_optimizer", "input 4\ndense 1\nloss mse\noptimizer adamw2\n", "t.nnc:4: optimizer: unknown optimizer 'adamw2'"},
        {"negative_learning_rate", "input 4\ndense 1\nloss mse\noptimizer adam learning_rate=-1\n", "t.nnc:4: optimizer: bad value '-1' for learning_rate"},
        {"layer_after_loss", "input 4\ndense 1\nloss mse\ndense 2\n", "t.nnc:4: dense: layers must come before the outputs and loss lines"},
        {"input_last", "input 4\ndense 1\ninput 5 name=b\nloss mse\n", "t.nnc:4: loss: the model would output its input 'b'"},
        {"bad_input_dim", "input 0\ndense 1\nloss mse\n", "t.nnc:1: input: bad dimension '0'"},
        {"duplicate_name", "input 4\ndense 3 name=a\ndense 1 name=a\nloss mse\n", "t.nnc:3: layer name 'a' is used twice"},
        {"bad_name", "input 4\ndense 3 name=9x\nloss mse\n", "t.nnc:2: layer name '9x' is not valid"},
        {"unknown_metric", "input 4\ndense 1\nloss mse\nmetrics acuracy\n", "t.nnc:4: metrics: unknown metric 'acuracy'"},
        {"fit_epochs_zero", "input 4\ndense 1\nloss mse\nfit epochs=0\n", "t.nnc:4: fit: bad value '0' for epochs"},
        {"key_twice", "input 4\ndense 1 units=2 units=3\nloss mse\n", "t.nnc:2: dense: units given twice"},
        {"extra_positional", "input 4\ndense 1 relu linear\nloss mse\n", "t.nnc:2: dense: unexpected value 'linear'"},
        {"missing_value", "input 4\ndense units=\nloss mse\n", "t.nnc:2: dense: missing value for units"},
        {"nul_byte", "input 4\0\n", "not a text spec file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!t_begin(r, "spec/bad/%s", cases[i].name)) continue;
        nnc_error e = {""};
        size_t len = i + 1 == sizeof cases / sizeof *cases ? 9 : strlen(cases[i].text);
        nnc_model *m = nnc_model_from_spec_text(cases[i].text, len, "t.nnc", &e);
        CHECK(r, m == NULL, "accepted");
        CHECK(r, strstr(e.message, cases[i].expect) != NULL, "message '%s' lacks '%s'", e.message, cases[i].expect);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "spec/bad/missing_file")) {
        nnc_error e = {""};
        CHECK(r, nnc_model_from_spec("/nonexistent/x.nnc", &e) == NULL, "loaded");
        CHECK(r, strstr(e.message, "/nonexistent/x.nnc: cannot open") != NULL, "%s", e.message);
        t_end(r);
    }
}

/* A spec-built model saved and loaded is the same model: same config, same predictions. */
static void test_round_trip(test_run *r) {
    if (!t_begin(r, "spec/round_trip_through_model_file")) return;
    nnc_error e = {""};
    nnc_model *m = build("input 5\nnormalization\nrescaling 2 offset=0.5\ndense 4 activation=gelu\n"
                         "leaky_relu\ndense 3 activation=softmax\nloss sparse_categorical_crossentropy\n"
                         "optimizer rmsprop learning_rate=0.01 centered=true momentum=0.5\nmetrics accuracy\n", &e);
    if (!CHECK(r, m != NULL, "%s", e.message)) {
        t_end(r);
        return;
    }
    float x[40 * 5], y[40];
    for (int i = 0; i < 40; i++) {
        y[i] = (float)(i % 3);
        for (int j = 0; j < 5; j++) x[i * 5 + j] = (float)(10 + 3 * ((i * 7 + j * 3) % 11) + j);
    }
    CHECK(r, nnc_adapt(m, x, 40) == NNC_OK, "adapt: %s", nnc_last_error(m));
    nnc_fit_opts fo = nnc_fit_opts_default();
    fo.verbose = 0;
    fo.epochs = 2;
    CHECK(r, nnc_fit(m, x, y, 40, &fo, NULL) == NNC_OK, "fit: %s", nnc_last_error(m));
    char dir[] = "/tmp/nnc_spec_XXXXXX", path[64];
    if (CHECK(r, mkdtemp(dir) != NULL, "mkdtemp failed")) {
        snprintf(path, sizeof path, "%s/m.safetensors", dir);
        CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save: %s", nnc_last_error(m));
        nnc_model *l = nnc_model_load(path, &e);
        float p1[40 * 3], p2[40 * 3];
        if (CHECK(r, l != NULL, "load: %s", e.message) &&
            CHECK(r, nnc_predict(m, x, 40, p1) == NNC_OK, "predict: %s", nnc_last_error(m)) &&
            CHECK(r, nnc_predict(l, x, 40, p2) == NNC_OK, "predict: %s", nnc_last_error(l))) {
            CHECK(r, !memcmp(p1, p2, sizeof p1), "predictions differ after load");
            nnc_strbuf a = {0}, b = {0};
            nnc_config_json(m, &a);
            nnc_config_json(l, &b);
            CHECK(r, a.buf && b.buf && !strcmp(a.buf, b.buf), "configs differ:\n%s\n%s", a.buf, b.buf);
            nnc_sb_free(&a);
            nnc_sb_free(&b);
            CHECK(r, l->train->copts.optimizer.kind == NNC_OPT_RMSPROP && l->train->copts.optimizer.centered &&
                         l->train->n_slots == 3, "optimizer config lost");
        }
        nnc_model_free(l);
        unlink(path);
        rmdir(dir);
    }
    nnc_model_free(m);
    t_end(r);
}

static void test_preprocessing(test_run *r) {
    if (t_begin(r, "spec/normalization_adapt_statistics")) {
        nnc_error e = {""};
        nnc_model *m = build("input 2\nnormalization\ndense 1\nloss mse\n", &e);
        float x[6] = {1, 10, 2, 20, 3, 30};
        float mean[2], var[2], count;
        if (CHECK(r, m != NULL, "%s", e.message) &&
            CHECK(r, nnc_adapt(m, x, 3) == NNC_OK, "adapt: %s", nnc_last_error(m)) &&
            CHECK(r, nnc_get_variable(m, "normalization.mean", mean, 2) == NNC_OK &&
                         nnc_get_variable(m, "normalization.variance", var, 2) == NNC_OK &&
                         nnc_get_variable(m, "normalization.count", &count, 1) == NNC_OK,
                  "get_variable: %s", nnc_last_error(m))) {
            /* summed in double, then rounded to float: within a few float ulps */
            CHECK_NEAR_F32_F64(r, mean, 2, ((const double[]){2.0, 20.0}), 2, 0.0, 5e-7, NULL, "mean");
            CHECK_NEAR_F32_F64(r, var, 2, ((const double[]){2.0 / 3.0, 200.0 / 3.0}), 2, 0.0, 1.5e-6, NULL,
                               "biased variance");
            CHECK(r, count == 3.0f, "count %g", (double)count);
            /* The statistics are state: they never train, and the summary counts them apart. */
            CHECK(r, m->n_trainable_floats == 3 && nnc_param_count(m) == 8, "trainable %zu of %zu",
                  m->n_trainable_floats, nnc_param_count(m));
        }
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "spec/rescaling_and_leaky_relu_values")) {
        nnc_error e = {""};
        nnc_model *m = build("input 3\nrescaling 0.5 offset=-1\nleaky_relu\nloss mse\n", &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            float x[3] = {4, 0, -2}, out[3];
            /* 4·0.5−1 = 1; 0·0.5−1 = −1 → −0.3; −2·0.5−1 = −2 → −0.6 (LeakyReLU's 0.3) */
            const float want[3] = {1.0f, -0.3f, -0.6f};
            if (CHECK(r, nnc_predict(m, x, 1, out) == NNC_OK, "predict: %s", nnc_last_error(m)))
                CHECK_NEAR_F32(r, out, 3, want, 3, 1e-7, 0.0, NULL, "Rescaling then LeakyReLU");
        }
        nnc_model_free(m);
        t_end(r);
    }
}

/* Fits a spec's model for 2 epochs on 20 examples of n_in features, saves, loads: the loaded
 * model predicts the same bits and writes the same config. */
static void fit_save_load_same(test_run *r, const char *spec, int n_in) {
    nnc_error e = {""};
    nnc_model *m = build(spec, &e);
    float *x = malloc(20 * (size_t)n_in * sizeof(float)), y[20];
    if (CHECK(r, m != NULL, "%s", e.message) && CHECK(r, x != NULL, "out of memory")) {
        for (int i = 0; i < 20 * n_in; i++) x[i] = (float)((i * 37) % 101) / 101.0f;
        for (int i = 0; i < 20; i++) y[i] = (float)(i % 3);
        nnc_fit_opts fo = nnc_fit_opts_default();
        fo.verbose = 0;
        fo.epochs = 2;
        fo.batch_size = 8;
        CHECK(r, nnc_fit(m, x, y, 20, &fo, NULL) == NNC_OK, "fit: %s", nnc_last_error(m));
        char dir[] = "/tmp/nnc_cnn_XXXXXX", path[64];
        if (CHECK(r, mkdtemp(dir) != NULL, "mkdtemp failed")) {
            snprintf(path, sizeof path, "%s/m.safetensors", dir);
            CHECK(r, nnc_model_save(m, path, NULL) == NNC_OK, "save: %s", nnc_last_error(m));
            nnc_model *l = nnc_model_load(path, &e);
            float p1[60], p2[60];
            if (CHECK(r, l != NULL, "load: %s", e.message) &&
                CHECK(r, nnc_predict(m, x, 20, p1) == NNC_OK, "predict: %s", nnc_last_error(m)) &&
                CHECK(r, nnc_predict(l, x, 20, p2) == NNC_OK, "predict: %s", nnc_last_error(l))) {
                CHECK(r, !memcmp(p1, p2, sizeof p1), "predictions differ after load");
                nnc_strbuf a = {0}, b = {0};
                nnc_config_json(m, &a);
                nnc_config_json(l, &b);
                CHECK(r, a.buf && b.buf && !strcmp(a.buf, b.buf), "configs differ:\n%s\n%s", a.buf, b.buf);
                nnc_sb_free(&a);
                nnc_sb_free(&b);
            }
            nnc_model_free(l);
            unlink(path);
            rmdir(dir);
        }
    }
    free(x);
    nnc_model_free(m);
}

/* The CNN of DESIGN §6: Keras's output shapes and parameter counts, and a save/load round trip
 * with every CNN layer (predictions bit-identical, moving statistics kept). */
static void test_cnn(test_run *r) {
    const char *spec = "input 28 28 1\nconv2d 32 3 activation=relu\nmax_pooling2d 2\n"
                       "conv2d 64 3 activation=relu padding=same\nmax_pooling2d 2\nflatten\n"
                       "dense 128 activation=relu\ndropout 0.5\ndense 10\n"
                       "loss sparse_categorical_crossentropy from_logits=true\noptimizer adam learning_rate=0.001\n"
                       "metrics accuracy\n";
    if (t_begin(r, "spec/cnn_summary_shapes_and_params")) {
        nnc_error e = {""};
        nnc_model *m = build(spec, &e);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (CHECK(r, m != NULL, "%s", e.message) && CHECK(r, f != NULL, "open_memstream failed"))
            CHECK(r, nnc_summary(m, f) == NNC_OK, "summary: %s", nnc_last_error(m));
        if (f) fclose(f);
        static const char *const rows[] = {
            "│ conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320 │",
            "│ max_pooling2d (MaxPooling2D)    │ (None, 13, 13, 32)     │             0 │",
            "│ conv2d_1 (Conv2D)               │ (None, 13, 13, 64)     │        18,496 │",
            "│ max_pooling2d_1 (MaxPooling2D)  │ (None, 6, 6, 64)       │             0 │",
            "│ flatten (Flatten)               │ (None, 2304)           │             0 │",
            "│ dense (Dense)                   │ (None, 128)            │       295,040 │",
            "│ dropout (Dropout)               │ (None, 128)            │             0 │",
            "│ dense_1 (Dense)                 │ (None, 10)             │         1,290 │",
            " Total params: 315,146 (1.20 MB)",
        };
        for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
            CHECK(r, buf && strstr(buf, rows[i]), "summary lacks the row:\n%s\n%s", rows[i], buf ? buf : "");
        free(buf);
        nnc_model_free(m);
        t_end(r);
    }
    if (t_begin(r, "spec/cnn_round_trip_every_layer")) {
        fit_save_load_same(r, "input 9 9 2\nzero_padding2d 1\nconv2d 4 3 strides=2 padding=same activation=relu\n"
                              "batch_normalization\naverage_pooling2d 2 padding=same\nconv2d 3 2 dilation_rate=1\n"
                              "global_max_pooling2d\nreshape 3 1\nconv1d 2 1\nflatten\ndropout 0.25\ndense 3\n"
                              "loss sparse_categorical_crossentropy from_logits=true\n", 162);
        t_end(r);
    }
    /* the convolution family (layers-b) in one CNN, 2-D then 1-D */
    if (t_begin(r, "spec/cnn_family_round_trip")) {
        fit_save_load_same(r, "input 8 8 2\nconv2d 4 3 groups=2 padding=same activation=relu\n"
                              "separable_conv2d 6 3 depth_multiplier=2 strides=2 padding=same activation=relu\n"
                              "depthwise_conv2d 3 depth_multiplier=2 padding=same\nmax_pooling2d 2 padding=same\n"
                              "conv2d_transpose 4 3 strides=2 padding=same output_padding=1\n"
                              "up_sampling2d 2 interpolation=bilinear\ncropping2d 2 2 1 3\nzero_padding2d 1\n"
                              "global_average_pooling2d keepdims=true\nreshape 2 2\nup_sampling1d 3\n"
                              "zero_padding1d [1,2]\nconv1d 4 3 padding=causal dilation_rate=2\ncropping1d 1\n"
                              "average_pooling1d 2 padding=same\nmax_pooling1d 2 strides=1\n"
                              "global_max_pooling1d\ndense 3\n"
                              "loss sparse_categorical_crossentropy from_logits=true\n", 128);
        t_end(r);
    }
}

static void test_fit_line(test_run *r) {
    if (!t_begin(r, "spec/fit_class_weight_and_accumulation")) return;
    nnc_error e = {""};
    nnc_model *m = build("input 2\ndense 3\nloss sparse_categorical_crossentropy\n"
                         "fit class_weight=[1,2.5,0] steps_per_update=4\n", &e);
    if (CHECK(r, m != NULL, "%s", e.message)) {
        nnc_fit_opts fo = nnc_fit_opts_default();
        CHECK(r, nnc_model_fit_defaults(m, &fo) == NNC_OK, "fit_defaults: %s", nnc_last_error(m));
        CHECK(r, fo.n_class_weights == 3 && fo.class_weight[1] == 2.5f && fo.class_weight[2] == 0.0f,
              "class_weight not applied");
        CHECK(r, fo.steps_per_update == 4, "steps_per_update %d", fo.steps_per_update);
    }
    nnc_model_free(m);
    t_end(r);
}

/* A line of every layer of the registry that a spec can build, with non-default options. */
static const struct {
    const char *keyword, *spec;
} lines[] = {
    {"dense", "input 6 6 2\ndense 3 activation=tanh use_bias=false kernel_regularizer=l1(0.01)\n"},
    {"activation", "input 6 6 2\nactivation elu\n"},
    {"softmax", "input 6 6 2\nsoftmax\n"},
    {"conv2d", "input 6 6 2\nconv2d 3 kernel_size=[2,3] strides=2 padding=same activation=relu\n"},
    {"conv1d", "input 6 2\nconv1d 4 3 dilation_rate=2 bias_initializer=ones\n"},
    {"max_pooling2d", "input 6 6 2\nmax_pooling2d 3 strides=1 padding=same\n"},
    {"average_pooling2d", "input 6 6 2\naverage_pooling2d 2 3\n"},
    {"global_average_pooling2d", "input 6 6 2\nglobal_average_pooling2d\n"},
    {"global_max_pooling2d", "input 6 6 2\nglobal_max_pooling2d\n"},
    {"flatten", "input 6 6 2\nflatten name=flat\n"},
    {"reshape", "input 6 6 2\nreshape 12 6\n"},
    {"zero_padding2d", "input 6 6 2\nzero_padding2d 1 2 3 4\n"},
    {"dropout", "input 6 6 2\ndropout 0.25\n"},
    {"batch_normalization", "input 6 6 2\nbatch_normalization momentum=0.9 epsilon=0.01 center=false\n"},
    {"rescaling", "input 6 6 2\nrescaling 0.5 offset=1\n"},
    {"normalization", "input 6 6 2\nnormalization axis=-1\n"},
    {"leaky_relu", "input 6 6 2\nleaky_relu 0.1\n"},
    /* the convolution family (layers-b) */
    {"separable_conv2d", "input 6 6 2\nseparable_conv2d 4 3 depth_multiplier=2 padding=same strides=2 "
                         "pointwise_initializer=he_normal depthwise_regularizer=l2(0.01)\n"},
    {"depthwise_conv2d", "input 6 6 2\ndepthwise_conv2d [2,3] depth_multiplier=3 dilation_rate=2 activation=relu\n"},
    {"conv2d_transpose", "input 6 6 2\nconv2d_transpose 3 3 strides=2 padding=same output_padding=[1,0] use_bias=false\n"},
    {"max_pooling1d", "input 7 2\nmax_pooling1d 3 strides=2 padding=same\n"},
    {"average_pooling1d", "input 7 2\naverage_pooling1d 2\n"},
    {"global_average_pooling1d", "input 7 2\nglobal_average_pooling1d keepdims=true\n"},
    {"global_max_pooling1d", "input 7 2\nglobal_max_pooling1d\n"},
    {"up_sampling1d", "input 7 2\nup_sampling1d 3\n"},
    {"up_sampling2d", "input 6 6 2\nup_sampling2d [2,3] interpolation=bilinear\n"},
    {"zero_padding1d", "input 7 2\nzero_padding1d [1,2]\n"},
    {"cropping1d", "input 7 2\ncropping1d 2\n"},
    {"cropping2d", "input 6 6 2\ncropping2d 1 0 2 1\n"},
    /* the activation, noise, reordering and normalization layers (layers-a2) */
    {"softmax", "input 6 6 2\nsoftmax axis=1\n"},
    {"relu", "input 6 6 2\nrelu 6 negative_slope=0.1 threshold=0.5\n"},
    {"prelu", "input 6 6 2\nprelu shared_axes=[1,2] alpha_initializer=ones alpha_regularizer=l2(0.01)\n"},
    {"elu", "input 6 6 2\nelu 0.5\n"},
    {"permute", "input 6 6 2\npermute 3 1 2\n"},
    {"repeat_vector", "input 6\nrepeat_vector 3\n"},
    {"spatial_dropout1d", "input 6 2\nspatial_dropout1d 0.25\n"},
    {"spatial_dropout2d", "input 6 6 2\nspatial_dropout2d 0.25 data_format=channels_last\n"},
    {"gaussian_noise", "input 6 6 2\ngaussian_noise 0.1\n"},
    {"gaussian_dropout", "input 6 6 2\ngaussian_dropout 0.2\n"},
    {"activity_regularization", "input 6 6 2\nactivity_regularization 0.01 l2=0.001\n"},
    {"layer_normalization", "input 6 6 2\nlayer_normalization axis=[-2,-1] epsilon=0.01 center=false\n"},
    /* sequences: attention */
    {"position_embedding", "input 7 2\nposition_embedding 9 initializer=he_uniform\n"},
    {"sine_position_encoding", "input 7 2\nsine_position_encoding 100\n"},
    {"simple_rnn", "input 5 3\nsimple_rnn 4 activation=relu return_sequences=true go_backwards=true dropout=0.1\n"},
    {"lstm", "input 5 3\nlstm 4 unit_forget_bias=false recurrent_dropout=0.2 kernel_regularizer=l2(0.01)\n"},
    {"gru", "input 5 3\ngru 4 reset_after=false recurrent_activation=hard_sigmoid use_bias=false\n"},
    {"bidirectional", "input 5 3\nbidirectional gru 4 merge_mode=ave return_sequences=true reset_after=false\n"},
    {"time_distributed", "input 5 3\ntime_distributed dense 4 activation=relu use_bias=false\n"},
    /* sequences: embedding and masks; a masked sequence pooled before the Flatten that refuses masks */
    {"embedding", "input 6\nembedding 7 3 embeddings_initializer=glorot_uniform mask_zero=true\n"
                  "global_average_pooling1d\n"},
    {"masking", "input 6 2\nmasking 0.5\nglobal_max_pooling1d\n"},
};

/* Data for a model whose layer 1 is an Embedding: token ids below its input_dim (0: not one). */
static int vocabulary(const nnc_model *m) {
    if (m->n_layers < 2 || strcmp(nnc_layer_class(&m->layers[1]), "Embedding")) return 0;
    return ((const nnc_embedding_opts *)nnc_layer_opts(&m->layers[1]))->input_dim;
}

/* A model trained a little, then its predictions next to those of its saved and loaded copy. */
static void check_same_predictions(test_run *r, const char *what, nnc_model *m, nnc_model *l) {
    enum { N = 4 };
    const size_t in = nnc_input_size(m), out = nnc_output_size(m);
    float *x = malloc(N * in * sizeof *x), *p1 = malloc(N * out * sizeof *p1), *p2 = malloc(N * out * sizeof *p2);
    if (CHECK(r, x && p1 && p2, "out of memory")) {
        for (size_t i = 0; i < N * in; i++)
            x[i] = vocabulary(m) ? (float)((i * 37) % (size_t)vocabulary(m)) : (float)((i * 37) % 101) / 50.0f - 1.0f;
        if (CHECK(r, nnc_predict(m, x, N, p1) == NNC_OK, "%s: predict: %s", what, nnc_last_error(m)) &&
            CHECK(r, nnc_predict(l, x, N, p2) == NNC_OK, "%s: predict: %s", what, nnc_last_error(l)))
            CHECK(r, !memcmp(p1, p2, N * out * sizeof *p1), "%s: predictions differ after load", what);
    }
    free(x);
    free(p1);
    free(p2);
}

/* Every layer built from its line, trained an epoch, saved (as nnc's file, .keras and .h5),
 * loaded: the loaded model's config is the same text and its predictions the same bits. A new layer without a line here fails. */
static void test_every_layer(test_run *r) {
    if (!t_begin(r, "spec/every_layer_round_trips")) return;
    for (int i = 0; i < nnc_layer_registry_count; i++) {
        const nnc_layer_desc *d = nnc_layer_registry[i];
        int found = (d->flags & NNC_LAYERF_INPUT) || d->max_inputs > 1; /* those are tested in C */
        for (size_t k = 0; k < sizeof lines / sizeof *lines; k++) found |= !strcmp(lines[k].keyword, d->keyword);
        CHECK(r, found, "layer '%s' has no round-trip line here", d->keyword);
    }
    char dir[] = "/tmp/nnc_layers_XXXXXX", path[80];
    if (!CHECK(r, mkdtemp(dir) != NULL, "mkdtemp failed")) {
        t_end(r);
        return;
    }
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    for (size_t k = 0; k < sizeof lines / sizeof *lines; k++) {
        char text[512];
        snprintf(text, sizeof text, "%sflatten name=out_flat\ndense 2 name=out\nloss mse\n", lines[k].spec);
        nnc_error e = {""};
        nnc_model *m = nnc_model_from_spec_text(text, strlen(text), lines[k].keyword, &e);
        if (!CHECK(r, m != NULL, "%s: %s", lines[k].keyword, e.message)) continue;
        CHECK(r, !strcmp(nnc_layer_class(&m->layers[1]), nnc_layer_by_keyword(lines[k].keyword)->keras_class),
              "%s: layer 1 is %s", lines[k].keyword, nnc_layer_class(&m->layers[1]));
        nnc_model *l = NULL;
        {
            enum { N = 8 };
            const size_t in = nnc_input_size(m);
            float *x = malloc(N * in * sizeof *x), y[N * 2];
            for (size_t i = 0; x && i < N * in; i++)
                x[i] = vocabulary(m) ? (float)((i * 53) % (size_t)vocabulary(m)) : (float)((i * 53) % 97) / 48.0f - 1.0f;
            for (int i = 0; i < N * 2; i++) y[i] = (float)(i % 3) - 1.0f;
            nnc_fit_opts fo = nnc_fit_opts_default();
            fo.verbose = 0;
            fo.batch_size = 4;
            CHECK(r, x && nnc_fit(m, x, y, N, &fo, NULL) == NNC_OK, "%s: fit: %s", lines[k].keyword, nnc_last_error(m));
            free(x);
        }
        /* nnc's own file, and Keras's two (when this build writes them) */
        static const char *const ext[] = {"safetensors", "keras", "h5"};
        for (int f = 0; f < 3; f++) {
            snprintf(path, sizeof path, "%s/m.%s", dir, ext[f]);
            nnc_status st = nnc_model_save(m, path, NULL);
            if (f && st == NNC_ERR_UNSUPPORTED) continue;
            if (CHECK(r, st == NNC_OK, "%s: save .%s: %s", lines[k].keyword, ext[f], nnc_last_error(m)) &&
                CHECK(r, (l = nnc_model_load(path, &e)) != NULL, "%s: load .%s: %s", lines[k].keyword, ext[f], e.message)) {
                nnc_strbuf a = {0}, b = {0};
                nnc_config_json(m, &a);
                nnc_config_json(l, &b);
                CHECK(r, a.buf && b.buf && !strcmp(a.buf, b.buf), "%s (.%s): configs differ:\n%s\n%s", lines[k].keyword,
                      ext[f], a.buf, b.buf);
                nnc_sb_free(&a);
                nnc_sb_free(&b);
                check_same_predictions(r, lines[k].keyword, m, l);
            }
            nnc_model_free(l);
            l = NULL;
            unlink(path);
        }
        nnc_model_free(m);
    }
    rmdir(dir);
    t_end(r);
}

/* Keras's class names work as statements for every layer (`Dense` as `dense`, `Input` and
 * `InputLayer` as `input`) and build the same model. */
static void test_class_names(test_run *r) {
    if (!t_begin(r, "spec/keras_class_names_for_every_layer")) return;
    for (size_t k = 0; k < sizeof lines / sizeof *lines; k++) {
        const nnc_layer_desc *d = nnc_layer_by_keyword(lines[k].keyword);
        const char *layer = strchr(lines[k].spec, '\n') + 1;
        char snake[512], camel[512];
        snprintf(snake, sizeof snake, "%sflatten\ndense 2\nloss mse\n", lines[k].spec);
        snprintf(camel, sizeof camel, "%s %.*s%s%sFlatten\nDense 2\nloss mse\n", k % 2 ? "Input" : "InputLayer",
                 (int)(layer - lines[k].spec - strlen("input")), lines[k].spec + strlen("input"), d->keras_class,
                 layer + strlen(lines[k].keyword));
        nnc_error e1 = {""}, e2 = {""};
        nnc_model *a = build(snake, &e1), *b = build(camel, &e2);
        if (CHECK(r, a && b, "%s: %s%s\n%s", d->keras_class, e1.message, e2.message, camel)) {
            nnc_strbuf ca = {0}, cb = {0};
            nnc_config_json(a, &ca);
            nnc_config_json(b, &cb);
            CHECK(r, ca.buf && cb.buf && !strcmp(ca.buf, cb.buf), "%s: configs differ:\n%s\n%s", d->keras_class,
                  ca.buf, cb.buf);
            nnc_sb_free(&ca);
            nnc_sb_free(&cb);
        }
        nnc_model_free(a);
        nnc_model_free(b);
    }
    for (int i = 0; i < nnc_layer_registry_count; i++) { /* several inputs: the same message both ways */
        const nnc_layer_desc *d = nnc_layer_registry[i];
        if (d->min_inputs < 2) continue; /* MultiHeadAttention takes one: self-attention */
        char text[256];
        nnc_error e = {""};
        snprintf(text, sizeof text, "input 4\n%s\nloss mse\n", d->keras_class);
        CHECK(r, !build(text, &e) && strstr(e.message, "functional model"), "%s: %s", d->keras_class, e.message);
    }
    t_end(r);
}

/* What Keras users type: spaces around '=', commas between arguments, lists with spaces. */
static void test_keras_syntax(test_run *r) {
    if (t_begin(r, "spec/spaces_around_equals_and_commas")) {
        nnc_error e = {""};
        nnc_model *m = build("input shape = [2, 3]\n"
                             "Dense units = 8, activation = relu\n"
                             "dense 4, activation= tanh,  use_bias =false , name =out\n"
                             "loss mse\n"
                             "optimizer sgd learning_rate = exponential_decay(0.1, decay_steps = 100, decay_rate=0.5), "
                             "momentum=0.9\n"
                             "callback csv_logger filename=log.csv separator=,\n"
                             "callback csv_logger log2.csv, separator = ;,\n", &e);
        if (CHECK(r, m != NULL, "%s", e.message)) {
            const nnc_dense_opts *d1 = nnc_layer_opts(&m->layers[1]), *d2 = nnc_layer_opts(&m->layers[2]);
            CHECK(r, m->nodes[m->inputs[0]].shape.rank == 2 && m->nodes[m->inputs[0]].shape.dim[1] == 3, "input");
            CHECK(r, d1->units == 8 && d1->activation == NNC_ACT_RELU, "Dense units = 8, activation = relu");
            CHECK(r, d2->units == 4 && d2->activation == NNC_ACT_TANH && !d2->use_bias &&
                         !strcmp(m->layers[2].name, "out"), "dense 4, activation= tanh, ...");
            const nnc_optimizer *o = &m->train->copts.optimizer;
            CHECK(r, o->schedule.kind == NNC_SCHEDULE_EXPONENTIAL_DECAY && o->schedule.decay_steps == 100 &&
                         o->momentum == 0.9f, "optimizer line");
            CHECK(r, m->train->n_spec_callbacks == 2, "%d callbacks", m->train->n_spec_callbacks);
        }
        nnc_model_free(m);
        t_end(r);
    }
    static const struct {
        const char *name, *text, *expect;
    } bad[] = {
        {"equals_without_key", "input 4\ndense 3 name=a =relu\nloss mse\n", "t.nnc:2: dense: '=relu' has no key"},
        {"equals_at_the_end", "input 4\ndense units =\nloss mse\n", "t.nnc:2: dense: missing value for units"},
        {"comma_alone_is_no_value", "input 4\ndense 3 activation=,\nloss mse\n", "unknown activation ','"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (!t_begin(r, "spec/bad/%s", bad[i].name)) continue;
        nnc_error e = {""};
        nnc_model *m = build(bad[i].text, &e);
        CHECK(r, !m && strstr(e.message, bad[i].expect), "'%s' lacks '%s'", e.message, bad[i].expect);
        nnc_model_free(m);
        t_end(r);
    }
}

/* A near miss of any name gets "did you mean", the closest spelling in the style typed. */
static void test_did_you_mean(test_run *r) {
    static const struct {
        const char *name, *line, *expect;
    } cases[] = {
        {"key", "dense 3 activaton=softmax", "dense: unknown key 'activaton' (did you mean 'activation'? keys: units, "
                                             "activation, use_bias,"},
        {"key_far", "dense 3 colour=red", "dense: unknown key 'colour' (expected units, activation,"},
        {"layer", "dens 3", "unknown layer or statement 'dens' (did you mean 'dense'?)"},
        {"layer_class", "Dens 3", "unknown layer or statement 'Dens' (did you mean 'Dense'?)"},
        {"layer_class_2d", "MaxPooling 2", "(did you mean 'MaxPooling2D'?)"},
        {"activation", "dense 3 activation=rleu", "unknown activation 'rleu' (did you mean 'relu'? one of linear,"},
        {"activation_case", "dense 3 activation=ReLU", "unknown activation 'ReLU' (did you mean 'relu'?"},
        {"initializer", "dense 3 kernel_initializer=glorot_unifrom",
         "unknown initializer 'glorot_unifrom' for kernel_initializer (did you mean 'glorot_uniform'? one of"},
        {"loss", "loss mean_sqared_error", "unknown loss 'mean_sqared_error' (did you mean 'mean_squared_error'?"},
        {"loss_far", "loss hinge", "unknown loss 'hinge' (one of mean_squared_error,"},
        {"optimizer_class", "optimizer Adma", "unknown optimizer 'Adma' (did you mean 'Adam'? one of sgd,"},
        {"metric", "metrics acuracy", "unknown metric 'acuracy' (did you mean 'accuracy'? one of accuracy, mse, mae, binary_accuracy,"},
        {"schedule", "optimizer sgd learning_rate=exponential_decy(0.1,10,0.5)",
         "unknown learning-rate schedule 'exponential_decy' in learning_rate=exponential_decy(0.1,10,0.5) "
         "(did you mean 'exponential_decay'?"},
        {"schedule_key", "optimizer sgd learning_rate=exponential_decay(0.1,10,0.5,stair_case=true)",
         "unknown key 'stair_case' (did you mean 'staircase'?"},
        {"callback_class", "callback EarlyStoping", "unknown callback 'EarlyStoping' (did you mean 'EarlyStopping'?"},
        {"callback_key", "callback early_stopping patiance=3", "unknown key 'patiance' (did you mean 'patience'?"},
        {"no_keys", "callback terminate_on_nan key=1", "callback terminate_on_nan: unknown key 'key' (expected no keys)"},
        {"statement", "optimiser adam", "unknown layer or statement 'optimiser' (did you mean 'optimizer'?)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!t_begin(r, "spec/did_you_mean/%s", cases[i].name)) continue;
        char text[512];
        int layer = strncmp(cases[i].line, "loss", 4) && strncmp(cases[i].line, "optim", 5) &&
                    strncmp(cases[i].line, "metrics", 7) && strncmp(cases[i].line, "callback", 8);
        if (layer) snprintf(text, sizeof text, "input 4\n%s\nloss mse\n", cases[i].line);
        else if (!strncmp(cases[i].line, "loss", 4)) snprintf(text, sizeof text, "input 4\ndense 1\n%s\n", cases[i].line);
        else snprintf(text, sizeof text, "input 4\ndense 1\nloss mse\n%s\n", cases[i].line);
        nnc_error e = {""};
        nnc_model *m = build(text, &e);
        CHECK(r, !m && strstr(e.message, cases[i].expect), "'%s' lacks '%s'", e.message, cases[i].expect);
        nnc_model_free(m);
        t_end(r);
    }
}

/* docs/SPEC.md's tables of keys are what the descriptors say (tools/update_docs.sh). */
static void test_docs_current(test_run *r) {
    if (!t_begin(r, "spec/docs_tables_current")) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/../docs/SPEC.md", t_srcdir());
    FILE *f = fopen(path, "rb");
    char *doc = NULL;
    size_t len = 0;
    if (f) {
        doc = malloc(1 << 20);
        len = doc ? fread(doc, 1, (1 << 20) - 1, f) : 0;
        if (doc) doc[len] = '\0';
        fclose(f);
    }
    nnc_strbuf want = {0};
    nnc_spec_docs(&want);
    const char *b = doc ? strstr(doc, NNC_SPEC_DOCS_BEGIN) : NULL, *e = b ? strstr(b, NNC_SPEC_DOCS_END) : NULL;
    if (CHECK(r, b && e && want.buf, "%s: no generated section", path)) {
        size_t got = (size_t)(e - b) + strlen(NNC_SPEC_DOCS_END);
        CHECK(r, got == want.len && !memcmp(b, want.buf, got),
              "%s: the tables of keys are out of date: run tools/update_docs.sh", path);
    }
    nnc_sb_free(&want);
    free(doc);
    t_end(r);
}

void suite_spec(test_run *r);
void suite_spec(test_run *r) {
    test_docs_current(r);
    test_every_layer(r);
    test_builds(r);
    test_errors(r);
    test_round_trip(r);
    test_preprocessing(r);
    test_cnn(r);
    test_fit_line(r);
    test_class_names(r);
    test_keras_syntax(r);
    test_did_you_mean(r);
}
