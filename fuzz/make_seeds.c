/* Writes the model seeds of fuzz/corpus/model: a few tiny real models saved by nnc_model_save
 * (Sequential and functional, with and without optimizer state, each optimizer and the
 * preprocessing layers), so the fuzzer starts from files that load.
 * Usage: fuzz_make_seeds DIR   (fuzz/README.md). Out of scope: the other targets' seeds, which
 * are written by hand or by fuzz/run.sh's seed step. */
#include <nnc.h>

#include <stdio.h>
#include <stdlib.h>

#define ROWS 8

static nnc_node dense(nnc_model *m, nnc_node x, int units, nnc_activation act, const char *name) {
    nnc_dense_opts d = nnc_dense_opts_default(units);
    d.activation = act;
    d.name = name;
    return nnc_dense(m, x, &d);
}

/* Compiles, adapts when asked, trains one epoch on fixed data (so optimizer slots hold values)
 * and saves; returns 0 on success. */
static int finish(nnc_model *m, nnc_loss_kind loss, bool logits, nnc_optimizer opt, bool adapt,
                  bool with_optimizer, const char *dir, const char *file) {
    char path[1024];
    float x[ROWS * 4], y[ROWS * 2];
    int rc = 1;
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(loss);
    c.loss.from_logits = logits;
    c.optimizer = opt;
    c.metrics[c.n_metrics++] = loss == NNC_LOSS_MEAN_SQUARED_ERROR ? NNC_METRIC_MAE : NNC_METRIC_ACCURACY;
    nnc_model_set_seed(m, 7);
    if (nnc_compile(m, &c) != NNC_OK) goto done;
    size_t in = nnc_input_size(m), out = nnc_output_size(m);
    if (in > 4 || out > 2) goto done;
    for (size_t i = 0; i < ROWS * in; i++) x[i] = (float)((i * 7) % 5) - 2.0f;
    for (size_t i = 0; i < ROWS; i++)
        for (size_t k = 0; k < out; k++)
            y[i * out + k] = loss == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? (float)(i % 2)
                             : loss == NNC_LOSS_BINARY_CROSSENTROPY    ? (float)((i + k) % 2)
                                                                       : 0.25f * (float)i;
    if (adapt && nnc_adapt(m, x, ROWS) != NNC_OK) goto done;
    nnc_fit_opts f = nnc_fit_opts_default();
    f.epochs = 1;
    f.batch_size = 4;
    f.verbose = 0;
    if (nnc_fit(m, x, y, ROWS, &f, NULL) != NNC_OK) goto done;
    nnc_save_opts s = nnc_save_opts_default();
    s.include_optimizer = with_optimizer;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (nnc_model_save(m, path, &s) != NNC_OK) goto done;
    printf("wrote %s\n", path);
    rc = 0;
done:
    if (rc) fprintf(stderr, "%s: %s\n", file, nnc_last_error(m));
    nnc_model_free(m);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int bad = 0;

    /* Sequential: rescaling, two dense layers, softmax classes from logits, Adam. */
    nnc_model *m = nnc_model_new("tiny_sequential");
    nnc_input(m, (int[]){4}, 1, NULL);
    nnc_rescaling(m, NNC_PREV, 0.5f, 0.0f, NULL);
    dense(m, NNC_PREV, 3, NNC_ACT_RELU, "layer_1");
    dense(m, NNC_PREV, 2, NNC_ACT_LINEAR, "layer_2");
    bad |= finish(m, NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, true, nnc_adam_default(), false, true, dir,
                  "sequential_adam.safetensors");

    /* Sequential: normalization (adapted), leaky_relu, a sigmoid output, SGD with momentum,
     * saved without optimizer state. */
    m = nnc_model_new(NULL);
    nnc_input(m, (int[]){3}, 1, NULL);
    nnc_normalization(m, NNC_PREV, NULL);
    dense(m, NNC_PREV, 2, NNC_ACT_LINEAR, NULL);
    nnc_leaky_relu(m, NNC_PREV, 0.3f, NULL);
    dense(m, NNC_PREV, 1, NNC_ACT_SIGMOID, NULL);
    nnc_optimizer sgd = nnc_sgd_default();
    sgd.momentum = 0.9f;
    bad |= finish(m, NNC_LOSS_BINARY_CROSSENTROPY, false, sgd, true, false, dir, "sequential_sgd_weights.safetensors");

    /* Functional: two branches concatenated, RMSprop, regression. */
    m = nnc_model_new("two_branches_concat");
    nnc_node in = nnc_input(m, (int[]){3}, 1, "features");
    nnc_node br[2] = {dense(m, in, 2, NNC_ACT_RELU, "a"), dense(m, in, 1, NNC_ACT_TANH, "b")};
    nnc_node cat = nnc_concatenate(m, br, 2, -1, NULL);
    nnc_node outs = dense(m, cat, 2, NNC_ACT_LINEAR, "out");
    nnc_set_outputs(m, &outs, 1);
    bad |= finish(m, NNC_LOSS_MEAN_SQUARED_ERROR, false, nnc_rmsprop_default(), false, true, dir,
                  "functional_concat.safetensors");

    /* Functional: two branches added, an activation layer, softmax classes, Adam. */
    m = nnc_model_new("two_branches_add");
    in = nnc_input(m, (int[]){4}, 1, NULL);
    br[0] = dense(m, in, 2, NNC_ACT_SWISH, NULL);
    br[1] = dense(m, in, 2, NNC_ACT_ELU, NULL);
    nnc_node sum = nnc_add(m, br, 2, NULL);
    outs = nnc_activation_layer(m, sum, NNC_ACT_SOFTMAX, NULL);
    nnc_set_outputs(m, &outs, 1);
    bad |= finish(m, NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false, nnc_adam_default(), false, true, dir,
                  "functional_add.safetensors");
    return bad ? 1 : 0;
}
