/* quickstart.c: the course's handwritten digits 0-9 model, end to end.
 *
 * Advanced Learning Algorithms, week 2, "Multiclass and softmax" with the improved,
 * numerically stable version from "Numerical round-off, and from_logits":
 *
 *     model = Sequential([Input(64),
 *                         Dense(25, activation='relu',   name='layer_1'),
 *                         Dense(15, activation='relu',   name='layer_2'),
 *                         Dense(10, activation='linear', name='layer_3')])
 *     model.compile(loss=SparseCategoricalCrossentropy(from_logits=True),
 *                   optimizer=Adam(learning_rate=1e-3), metrics=['accuracy'])
 *     model.fit(X_train, y_train, epochs=100)
 *     model.evaluate(X_test, y_test)
 *     p = tf.nn.softmax(model.predict(X_test[:5]))
 *
 * Data: the bundled "digits" set (1797 8x8 images, pixels 0..16, label 0..9). Pixels are
 * scaled to 0..1 here in C. A seeded 20% of the rows is held out for the test.
 * The program prints Keras-like training lines (verbose 2), the summary, the test loss and
 * accuracy, the softmax probabilities of the first five test images, and finally the line
 * "test_accuracy: 0.xxxx". It exits 0 when the test accuracy is at least 0.95.
 *
 * Usage: example_quickstart [seed]   (the seed defaults to the one this file was checked with)
 */
#include <nnc.h>

#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SEED 1u
#define TARGET_ACCURACY 0.95

static nnc_node dense(nnc_model *m, int units, nnc_activation act, const char *name) {
    nnc_dense_opts d = nnc_dense_opts_default(units);
    d.activation = act;
    d.name = name;
    return nnc_dense(m, NNC_PREV, &d);
}

static void scale(nnc_dataset *d, float factor) {
    for (size_t i = 0; i < d->n * d->features; i++) d->x[i] *= factor;
}

int main(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : DEFAULT_SEED;
    int rc = 1;
    nnc_error err;
    nnc_dataset all = {0}, train = {0}, test = {0};
    nnc_model *m = NULL;
    nnc_history *h = NULL;
    float *logits = NULL;

    /* 1. data: load, hold out 20%, scale the pixels from 0..16 to 0..1 */
    if (nnc_dataset_load("digits", 0, &all, &err) != NNC_OK ||
        nnc_dataset_split(&all, 0.2, seed, &train, &test, &err) != NNC_OK) {
        fprintf(stderr, "quickstart: %s\n", err.message);
        goto done;
    }
    scale(&train, 1.0f / 16.0f);
    scale(&test, 1.0f / 16.0f);
    printf("digits: %zu rows, %zu pixels; train %zu, test %zu (split seed %llu)\n", all.n,
           all.features, train.n, test.n, (unsigned long long)seed);

    /* 2. the model: specify how to compute the output from x */
    m = nnc_model_new("digits");
    if (!m) {
        fprintf(stderr, "quickstart: out of memory\n");
        goto done;
    }
    nnc_input(m, (int[]){64}, 1, NULL);
    dense(m, 25, NNC_ACT_RELU, "layer_1");
    dense(m, 15, NNC_ACT_RELU, "layer_2");
    dense(m, 10, NNC_ACT_LINEAR, "layer_3"); /* logits: softmax is folded into the loss */

    /* 3. loss and optimizer */
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    c.loss.from_logits = true;
    c.optimizer = nnc_adam_default();
    c.optimizer.learning_rate = 1e-3f;
    c.metrics[c.n_metrics++] = NNC_METRIC_ACCURACY;
    nnc_model_set_seed(m, seed);
    if (nnc_compile(m, &c) != NNC_OK) {
        fprintf(stderr, "quickstart: compile: %s\n", nnc_last_error(m));
        goto done;
    }

    /* 4. train */
    nnc_fit_opts f = nnc_fit_opts_default();
    f.epochs = 100;
    f.batch_size = 32;
    f.verbose = 2;
    if (nnc_fit(m, train.x, train.y, train.n, &f, &h) != NNC_OK) {
        fprintf(stderr, "quickstart: fit: %s\n", nnc_last_error(m));
        goto done;
    }
    printf("\n");
    if (nnc_summary(m, stdout) != NNC_OK) {
        fprintf(stderr, "quickstart: summary: %s\n", nnc_last_error(m));
        goto done;
    }

    /* 5. evaluate on the held-out 20% */
    nnc_logs logs;
    if (nnc_evaluate(m, test.x, test.y, test.n, 32, &logs) != NNC_OK) {
        fprintf(stderr, "quickstart: evaluate: %s\n", nnc_last_error(m));
        goto done;
    }
    double acc = nnc_logs_get(&logs, "accuracy");
    printf("\ntest loss %.4f, test accuracy %.4f (%zu images)\n", nnc_logs_get(&logs, "loss"),
           acc, test.n);

    /* 6. predict: the model outputs logits, so apply softmax as the course does with
     *    tf.nn.softmax, then take the most probable class */
    enum { SHOW = 5, K = 10 };
    size_t k = nnc_output_size(m);
    if (k != K) {
        fprintf(stderr, "quickstart: expected %d outputs, got %zu\n", K, k);
        goto done;
    }
    logits = malloc(sizeof(float) * SHOW * K);
    if (!logits) {
        fprintf(stderr, "quickstart: out of memory\n");
        goto done;
    }
    if (nnc_predict(m, test.x, SHOW, logits) != NNC_OK) {
        fprintf(stderr, "quickstart: predict: %s\n", nnc_last_error(m));
        goto done;
    }
    nnc_softmax_rows(logits, SHOW, K);
    printf("\nsoftmax of the first %d test images:\n  ", SHOW);
    for (int j = 0; j < K; j++) printf("     %d", j);
    printf("  argmax label\n");
    for (int i = 0; i < SHOW; i++) {
        const float *p = logits + (size_t)i * K;
        int best = 0;
        printf("  ");
        for (int j = 0; j < K; j++) {
            printf(" %.3f", (double)p[j]);
            if (p[j] > p[best]) best = j;
        }
        int label = (int)test.y[i];
        printf("  %6d %5d%s\n", best, label, best == label ? "" : "  (wrong)");
    }
    printf("\n");

    if (acc < TARGET_ACCURACY) {
        printf("FAIL: test accuracy %.4f is below the target %.2f\n", acc, TARGET_ACCURACY);
        printf("test_accuracy: %.4f\n", acc);
        goto done;
    }
    printf("test_accuracy: %.4f\n", acc);
    rc = 0;

done:
    free(logits);
    nnc_history_free(h);
    nnc_model_free(m);
    nnc_dataset_free(&test);
    nnc_dataset_free(&train);
    nnc_dataset_free(&all);
    return rc;
}
