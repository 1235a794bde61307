/* functional.c: the functional API: layers called on tensors, branches and merges.
 *
 * Not a separate section of the course: it trains the course's digits 0-9 task (week 2,
 * "Multiclass and softmax", with a linear output and from_logits=True) with models that are
 * not a plain stack of layers, the way Keras's functional API writes them:
 *
 *     inputs = Input(shape=(64,))
 *     a = Dense(32, activation='relu')(inputs)           # two branches from one input
 *     b = Dense(16, activation='tanh')(inputs)
 *     x = Concatenate()([a, b])                          # (None, 48)
 *     outputs = Dense(10)(x)                             # logits
 *     model = Model(inputs, outputs)
 *
 * and a second model whose two branches have the same width and are summed with Add:
 *
 *     a = Dense(32, activation='relu')(inputs)
 *     b = Dense(32, activation='tanh')(inputs)
 *     x = Add()([a, b])                                  # (None, 32)
 *     outputs = Dense(10)(x)
 *
 * Data: the bundled "digits" set, pixels scaled to 0..1, a seeded 20% held out. Both models:
 * SparseCategoricalCrossentropy(from_logits=True), Adam(1e-3), 50 epochs, batch 32.
 * Prints each model's summary (a functional model's summary has a "Connected to" column)
 * and test accuracy; exits 0 when both reach at least 0.93.
 *
 * Usage: example_functional [seed]
 */
#include <nnc.h>

#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SEED 1u
#define EPOCHS 50
#define TARGET_ACCURACY 0.93

typedef enum { MERGE_CONCATENATE, MERGE_ADD } merge_kind;

static void scale(nnc_dataset *d, float factor) {
    for (size_t i = 0; i < d->n * d->features; i++) d->x[i] *= factor;
}

static nnc_node dense(nnc_model *m, nnc_node x, int units, nnc_activation act, const char *name) {
    nnc_dense_opts d = nnc_dense_opts_default(units);
    d.activation = act;
    d.name = name;
    return nnc_dense(m, x, &d);
}

/* Builds the two-branch model, NULL on an error. The layers' errors are sticky: compile reports
 * them, and so does set_outputs, which is checked for its own. */
static nnc_model *build(merge_kind merge) {
    nnc_model *m = nnc_model_new(merge == MERGE_ADD ? "two_branches_add" : "two_branches_concat");
    if (!m) return NULL;
    nnc_node inputs = nnc_input(m, (int[]){64}, 1, "pixels");
    nnc_node branches[2], x;
    if (merge == MERGE_CONCATENATE) {
        branches[0] = dense(m, inputs, 32, NNC_ACT_RELU, "relu_branch");
        branches[1] = dense(m, inputs, 16, NNC_ACT_TANH, "tanh_branch");
        x = nnc_concatenate(m, branches, 2, -1, "concatenate");
    } else {
        branches[0] = dense(m, inputs, 32, NNC_ACT_RELU, "relu_branch");
        branches[1] = dense(m, inputs, 32, NNC_ACT_TANH, "tanh_branch");
        x = nnc_add(m, branches, 2, "add");
    }
    nnc_node outputs = dense(m, x, 10, NNC_ACT_LINEAR, "logits");
    if (nnc_set_outputs(m, &outputs, 1) != NNC_OK) {
        fprintf(stderr, "functional: set_outputs: %s\n", nnc_last_error(m));
        nnc_model_free(m);
        return NULL;
    }
    return m;
}

/* Compiles, trains and tests one model; returns its test accuracy, or -1 on an error. */
static double run(merge_kind merge, uint64_t seed, const nnc_dataset *train,
                  const nnc_dataset *test) {
    double acc = -1.0;
    nnc_model *m = build(merge);
    if (!m) {
        fprintf(stderr, "functional: out of memory\n");
        return -1.0;
    }
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    c.loss.from_logits = true;
    c.optimizer = nnc_adam_default();
    c.metrics[c.n_metrics++] = NNC_METRIC_ACCURACY;
    nnc_model_set_seed(m, seed);
    if (nnc_compile(m, &c) != NNC_OK) {
        fprintf(stderr, "functional: compile: %s\n", nnc_last_error(m));
        goto done;
    }
    if (nnc_summary(m, stdout) != NNC_OK) {
        fprintf(stderr, "functional: summary: %s\n", nnc_last_error(m));
        goto done;
    }
    printf("\n");

    nnc_fit_opts f = nnc_fit_opts_default();
    f.epochs = EPOCHS;
    f.batch_size = 32;
    f.verbose = 0;
    if (nnc_fit(m, train->x, train->y, train->n, &f, NULL) != NNC_OK) {
        fprintf(stderr, "functional: fit: %s\n", nnc_last_error(m));
        goto done;
    }
    nnc_logs logs;
    if (nnc_evaluate(m, test->x, test->y, test->n, 32, &logs) != NNC_OK) {
        fprintf(stderr, "functional: evaluate: %s\n", nnc_last_error(m));
        goto done;
    }
    acc = nnc_logs_get(&logs, "accuracy");
    printf("%s: %d epochs, test loss %.4f, test accuracy %.4f\n\n",
           merge == MERGE_ADD ? "Add" : "Concatenate", EPOCHS, nnc_logs_get(&logs, "loss"), acc);

done:
    nnc_model_free(m);
    return acc;
}

int main(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : DEFAULT_SEED;
    int rc = 1;
    nnc_error err;
    nnc_dataset all = {0}, train = {0}, test = {0};

    if (nnc_dataset_load("digits", 0, &all, &err) != NNC_OK ||
        nnc_dataset_split(&all, 0.2, seed, &train, &test, &err) != NNC_OK) {
        fprintf(stderr, "functional: %s\n", err.message);
        goto done;
    }
    scale(&train, 1.0f / 16.0f);
    scale(&test, 1.0f / 16.0f);
    printf("digits: train %zu, test %zu (seed %llu)\n\n", train.n, test.n,
           (unsigned long long)seed);

    double concat = run(MERGE_CONCATENATE, seed, &train, &test);
    double add = run(MERGE_ADD, seed, &train, &test);
    if (concat < 0 || add < 0) goto done;
    /* written so that a NaN accuracy misses the target */
    if (!(concat >= TARGET_ACCURACY && add >= TARGET_ACCURACY)) {
        printf("FAIL: test accuracies %.4f (Concatenate) and %.4f (Add); both must be at least "
               "%.2f\n", concat, add, TARGET_ACCURACY);
        goto done;
    }
    printf("OK: both functional models reach test accuracy >= %.2f (%.4f, %.4f)\n",
           TARGET_ACCURACY, concat, add);
    rc = 0;

done:
    nnc_dataset_free(&test);
    nnc_dataset_free(&train);
    nnc_dataset_free(&all);
    return rc;
}
