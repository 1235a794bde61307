/* digits_01.c: the course's first neural network: handwritten 0 versus 1.
 *
 * Advanced Learning Algorithms, week 2, "The three steps in Keras":
 *
 *     model = Sequential([Dense(25, activation='sigmoid', name='layer_1'),
 *                         Dense(15, activation='sigmoid', name='layer_2'),
 *                         Dense(1,  activation='sigmoid', name='layer_3')])
 *     model.compile(loss=BinaryCrossentropy(), optimizer=Adam(learning_rate=1e-3))
 *     model.fit(X, Y, epochs=100)
 *
 * and then the same model written the numerically preferred way ("Numerical round-off, and
 * from_logits"): a linear last layer and BinaryCrossentropy(from_logits=True); predictions
 * are logits, so nnc_sigmoid turns them into probabilities (as tf.nn.sigmoid does).
 *
 * Data: the bundled "digits_01" set (360 8x8 images of 0s and 1s, pixels 0..16, label 0/1).
 * Pixels are scaled to 0..1 in C; a seeded 20% (72 images) is held out for the test.
 * Both variants train with the same seed, Adam(learning_rate=1e-3), 100 epochs, batch 32.
 * The default learning rate is enough: 100 epochs of 9 batches take well under a second.
 *
 * Prints, for each variant, its test loss, its test accuracy (from nnc_evaluate) and the
 * number of misclassified test images (counted from nnc_predict and checked against the
 * accuracy). The two variants compute the same function and, with the same seed, train to
 * the same results (up to rounding): nnc, like Keras, scores a sigmoid output's
 * BinaryCrossentropy from its logit anyway. Exits 0 when both reach
 * a test accuracy of at least 0.98 (at most one error out of 72).
 *
 * Usage: example_digits_01 [seed]
 */
#include <nnc.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SEED 1u
#define TARGET_ACCURACY 0.98
#define EPOCHS 100

static void scale(nnc_dataset *d, float factor) {
    for (size_t i = 0; i < d->n * d->features; i++) d->x[i] *= factor;
}

static nnc_node dense(nnc_model *m, int units, nnc_activation act, const char *name) {
    nnc_dense_opts d = nnc_dense_opts_default(units);
    d.activation = act;
    d.name = name;
    return nnc_dense(m, NNC_PREV, &d);
}

/* Builds, trains and tests one variant; returns its test accuracy, or -1 on an error.
 * from_logits selects the linear last layer + BinaryCrossentropy(from_logits=true). */
static double run(const char *title, bool from_logits, uint64_t seed, const nnc_dataset *train,
                  const nnc_dataset *test) {
    double acc = -1.0;
    float *out = NULL;
    nnc_model *m = nnc_model_new(from_logits ? "digits_01_logits" : "digits_01");
    if (!m) {
        fprintf(stderr, "digits_01: out of memory\n");
        return -1.0;
    }
    nnc_input(m, (int[]){64}, 1, NULL);
    dense(m, 25, NNC_ACT_SIGMOID, "layer_1");
    dense(m, 15, NNC_ACT_SIGMOID, "layer_2");
    dense(m, 1, from_logits ? NNC_ACT_LINEAR : NNC_ACT_SIGMOID, "layer_3");

    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_BINARY_CROSSENTROPY);
    c.loss.from_logits = from_logits;
    c.optimizer = nnc_adam_default();
    c.optimizer.learning_rate = 1e-3f;
    c.metrics[c.n_metrics++] = NNC_METRIC_ACCURACY;
    nnc_model_set_seed(m, seed);
    if (nnc_compile(m, &c) != NNC_OK) {
        fprintf(stderr, "digits_01: compile: %s\n", nnc_last_error(m));
        goto done;
    }

    nnc_fit_opts f = nnc_fit_opts_default();
    f.epochs = EPOCHS;
    f.batch_size = 32;
    f.verbose = 0;
    nnc_history *h = NULL;
    if (nnc_fit(m, train->x, train->y, train->n, &f, &h) != NNC_OK) {
        fprintf(stderr, "digits_01: fit: %s\n", nnc_last_error(m));
        nnc_history_free(h);
        goto done;
    }
    const nnc_logs *last = nnc_history_logs(h, nnc_history_epochs(h) - 1);
    double train_loss = last ? nnc_logs_get(last, "loss") : -1.0;
    nnc_history_free(h);

    nnc_logs logs;
    if (nnc_evaluate(m, test->x, test->y, test->n, 32, &logs) != NNC_OK) {
        fprintf(stderr, "digits_01: evaluate: %s\n", nnc_last_error(m));
        goto done;
    }

    /* Count the errors ourselves: a probability > 0.5 (Keras's rule) means "1". */
    out = malloc(sizeof(float) * test->n);
    if (!out) {
        fprintf(stderr, "digits_01: out of memory\n");
        goto done;
    }
    if (nnc_predict(m, test->x, test->n, out) != NNC_OK) {
        fprintf(stderr, "digits_01: predict: %s\n", nnc_last_error(m));
        goto done;
    }
    if (from_logits) nnc_sigmoid(out, test->n); /* logits -> probabilities, as tf.nn.sigmoid */
    size_t errors = 0;
    for (size_t i = 0; i < test->n; i++)
        if ((out[i] > 0.5f ? 1.0f : 0.0f) != test->y[i]) errors++;

    acc = nnc_logs_get(&logs, "accuracy");
    if (!(fabs(acc - (1.0 - (double)errors / (double)test->n)) <= 1e-6)) { /* NaN: a mismatch */
        printf("MISMATCH: nnc_evaluate's accuracy %.6f but nnc_predict gives %zu errors of %zu\n",
               acc, errors, test->n);
        acc = -1.0;
        goto done;
    }
    printf("%-42s train loss %.4f  test loss %.4f  test accuracy %.4f  (%zu/%zu wrong)\n",
           title, train_loss, nnc_logs_get(&logs, "loss"), acc, errors, test->n);
    printf("%-42s first test probabilities:", "");
    for (size_t i = 0; i < 6 && i < test->n; i++)
        printf(" %.3f(y=%d)", (double)out[i], (int)test->y[i]);
    printf("\n");

done:
    free(out);
    nnc_model_free(m);
    return acc;
}

int main(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : DEFAULT_SEED;
    nnc_error err;
    nnc_dataset all = {0}, train = {0}, test = {0};
    int rc = 1;

    if (nnc_dataset_load("digits_01", 0, &all, &err) != NNC_OK ||
        nnc_dataset_split(&all, 0.2, seed, &train, &test, &err) != NNC_OK) {
        fprintf(stderr, "digits_01: %s\n", err.message);
        goto done;
    }
    scale(&train, 1.0f / 16.0f);
    scale(&test, 1.0f / 16.0f);
    printf("digits_01: %zu images of 0 and 1, %zu pixels; train %zu, test %zu (seed %llu)\n",
           all.n, all.features, train.n, test.n, (unsigned long long)seed);
    printf("25 -> 15 -> 1 units, hidden sigmoid, Adam(1e-3), %d epochs, batch 32\n\n", EPOCHS);

    double a1 = run("sigmoid output, BinaryCrossentropy()", false, seed, &train, &test);
    double a2 = run("linear output, BinaryCrossentropy(logits)", true, seed, &train, &test);
    if (a1 < 0 || a2 < 0) goto done;

    printf("\n");
    /* written so that a NaN accuracy misses the target */
    if (!(a1 >= TARGET_ACCURACY && a2 >= TARGET_ACCURACY)) {
        printf("FAIL: test accuracies %.4f and %.4f; both must be at least %.2f\n", a1, a2,
               TARGET_ACCURACY);
        goto done;
    }
    printf("OK: both variants reach test accuracy >= %.2f (%.4f, %.4f)\n", TARGET_ACCURACY, a1,
           a2);
    rc = 0;

done:
    nnc_dataset_free(&test);
    nnc_dataset_free(&train);
    nnc_dataset_free(&all);
    return rc;
}
