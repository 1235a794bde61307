/* multilabel.c: multi-label classification, several yes/no answers per input.
 *
 * Advanced Learning Algorithms, week 2, end of "Multiclass and softmax": multi-label
 * classification (is there a car? a bus? a pedestrian?) is not multiclass: each label gets
 * its own sigmoid output and the loss is binary cross-entropy over all of them.
 *
 *     model = Sequential([Input(64), Dense(25, activation='relu'),
 *                         Dense(15, activation='relu'), Dense(3, activation='sigmoid')])
 *     model.compile(loss=BinaryCrossentropy(), optimizer=Adam(learning_rate=1e-3),
 *                   metrics=['accuracy'])
 *
 * Data: the bundled "digits_multilabel" set: the 1797 digit images (pixels 0..16, scaled to
 * 0..1 here) with three 0/1 targets per image: is the digit even, is it >= 5, is it prime.
 * A seeded 20% is held out.
 *
 * Prints nnc_evaluate's loss and accuracy (binary accuracy over all 3 x n answers), then the
 * per-label accuracy computed here from nnc_predict (p > 0.5 means yes, Keras's rule), the
 * overall accuracy (all answers, checked against nnc_evaluate's) and the exact-match ratio (all three right), and a few images'
 * answers. Exits 0 when each label's accuracy is at least 0.90.
 *
 * Usage: example_multilabel [seed]
 */
#include <nnc.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SEED 1u
#define EPOCHS 100
#define TARGET_ACCURACY 0.90
#define LABELS 3

static const char *const label_names[LABELS] = {"even", ">= 5", "prime"};

static void scale(nnc_dataset *d, float factor) {
    for (size_t i = 0; i < d->n * d->features; i++) d->x[i] *= factor;
}

static nnc_node dense(nnc_model *m, int units, nnc_activation act) {
    nnc_dense_opts d = nnc_dense_opts_default(units);
    d.activation = act;
    return nnc_dense(m, NNC_PREV, &d);
}

int main(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : DEFAULT_SEED;
    int rc = 1;
    nnc_error err;
    nnc_dataset all = {0}, train = {0}, test = {0};
    nnc_model *m = NULL;
    float *p = NULL;

    if (nnc_dataset_load("digits_multilabel", 0, &all, &err) != NNC_OK ||
        nnc_dataset_split(&all, 0.2, seed, &train, &test, &err) != NNC_OK) {
        fprintf(stderr, "multilabel: %s\n", err.message);
        goto done;
    }
    if (all.targets != LABELS) {
        fprintf(stderr, "multilabel: expected %d targets, got %zu\n", LABELS, all.targets);
        goto done;
    }
    scale(&train, 1.0f / 16.0f);
    scale(&test, 1.0f / 16.0f);
    printf("digits_multilabel: %zu images, %zu pixels, %zu labels (even, >= 5, prime); "
           "train %zu, test %zu (seed %llu)\n",
           all.n, all.features, all.targets, train.n, test.n, (unsigned long long)seed);

    m = nnc_model_new("multilabel");
    if (!m) {
        fprintf(stderr, "multilabel: out of memory\n");
        goto done;
    }
    nnc_input(m, (int[]){64}, 1, NULL);
    dense(m, 25, NNC_ACT_RELU);
    dense(m, 15, NNC_ACT_RELU);
    dense(m, LABELS, NNC_ACT_SIGMOID); /* one independent probability per label */

    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_BINARY_CROSSENTROPY);
    c.optimizer = nnc_adam_default();
    c.metrics[c.n_metrics++] = NNC_METRIC_ACCURACY;
    nnc_model_set_seed(m, seed);
    if (nnc_compile(m, &c) != NNC_OK) {
        fprintf(stderr, "multilabel: compile: %s\n", nnc_last_error(m));
        goto done;
    }
    nnc_fit_opts f = nnc_fit_opts_default();
    f.epochs = EPOCHS;
    f.verbose = 0;
    if (nnc_fit(m, train.x, train.y, train.n, &f, NULL) != NNC_OK) {
        fprintf(stderr, "multilabel: fit: %s\n", nnc_last_error(m));
        goto done;
    }
    printf("64 -> 25 relu -> 15 relu -> 3 sigmoid, BinaryCrossentropy, Adam(1e-3), %d epochs\n\n",
           EPOCHS);

    nnc_logs logs;
    if (nnc_evaluate(m, test.x, test.y, test.n, 32, &logs) != NNC_OK) {
        fprintf(stderr, "multilabel: evaluate: %s\n", nnc_last_error(m));
        goto done;
    }
    printf("nnc_evaluate: test loss %.4f, test accuracy %.4f (all %zu answers)\n\n",
           nnc_logs_get(&logs, "loss"), nnc_logs_get(&logs, "accuracy"), test.n * LABELS);

    p = malloc(sizeof(float) * test.n * LABELS);
    if (!p) {
        fprintf(stderr, "multilabel: out of memory\n");
        goto done;
    }
    if (nnc_predict(m, test.x, test.n, p) != NNC_OK) {
        fprintf(stderr, "multilabel: predict: %s\n", nnc_last_error(m));
        goto done;
    }
    size_t right[LABELS] = {0}, exact = 0, total_right = 0;
    for (size_t i = 0; i < test.n; i++) {
        int all_right = 1;
        for (int k = 0; k < LABELS; k++) {
            float yes = p[i * LABELS + k] > 0.5f ? 1.0f : 0.0f;
            if (yes == test.y[i * LABELS + k]) {
                right[k]++;
                total_right++;
            } else {
                all_right = 0;
            }
        }
        exact += (size_t)all_right;
    }

    /* our overall count and nnc's binary accuracy (Keras's rule: p > 0.5) must agree */
    double overall = (double)total_right / (double)(test.n * LABELS);
    bool ok = fabs(overall - nnc_logs_get(&logs, "accuracy")) < 1e-6;
    if (!ok)
        printf("MISMATCH: nnc_evaluate's accuracy %.6f differs from the count from nnc_predict "
               "%.6f\n", nnc_logs_get(&logs, "accuracy"), overall);
    printf("per-label test accuracy (p > 0.5 means yes):\n");
    for (int k = 0; k < LABELS; k++) {
        double acc = (double)right[k] / (double)test.n;
        printf("  %-6s %.4f  (%zu/%zu)%s\n", label_names[k], acc, right[k], test.n,
               acc >= TARGET_ACCURACY ? "" : "  below target");
        ok = ok && acc >= TARGET_ACCURACY;
    }
    printf("  overall %.4f  (%zu/%zu answers)\n", overall, total_right, test.n * LABELS);
    printf("  exact match (all three right) %.4f  (%zu/%zu images)\n\n",
           (double)exact / (double)test.n, exact, test.n);

    printf("first test images: P(even) P(>=5) P(prime) -> answers / truth\n");
    for (size_t i = 0; i < 5 && i < test.n; i++) {
        const float *q = p + i * LABELS;
        const float *t = test.y + i * LABELS;
        printf("  %.3f %.3f %.3f -> %d%d%d / %d%d%d\n", (double)q[0], (double)q[1], (double)q[2],
               q[0] > 0.5f, q[1] > 0.5f, q[2] > 0.5f, (int)t[0], (int)t[1], (int)t[2]);
    }
    printf("\n");

    if (!ok) {
        printf("FAIL: a label's test accuracy is below %.2f, or the accuracies disagree\n",
               TARGET_ACCURACY);
        goto done;
    }
    printf("OK: every label's test accuracy is at least %.2f\n", TARGET_ACCURACY);
    rc = 0;

done:
    free(p);
    nnc_model_free(m);
    nnc_dataset_free(&test);
    nnc_dataset_free(&train);
    nnc_dataset_free(&all);
    return rc;
}
