/* quickstart.c: the course's handwritten digits 0-9 model, end to end, as Keras writes it:
 *
 *     model = Sequential([Input(64), Dense(25, activation='relu', name='layer_1'),
 *                         Dense(15, activation='relu', name='layer_2'),
 *                         Dense(10, activation='linear', name='layer_3')])
 *     model.compile(loss=SparseCategoricalCrossentropy(from_logits=True),
 *                   optimizer=Adam(learning_rate=1e-3), metrics=['accuracy'])
 *     model.fit(X_train, y_train, epochs=100)
 *     model.evaluate(X_test, y_test);  tf.nn.softmax(model.predict(X_test[:5]))
 *
 * Bundled "digits" (1797 8x8 images, pixels 0..16), a seeded 20% held out for the test.
 * Prints last "test_accuracy: 0.xxxx"; exits 0 when it is at least 0.95. */
#include <nnc.h>
#include <stdio.h>

#define CHECK(call, what)                                                            \
    if ((call) != NNC_OK) {                                                          \
        fprintf(stderr, "quickstart: %s: %s\n", what, m ? nnc_last_error(m) : err.message); \
        goto done;                                                                   \
    }

int main(void) {
    int rc = 1;
    nnc_error err = {""};
    nnc_dataset all = {0}, train = {0}, test = {0};
    nnc_model *m = NULL;

    /* data: load, hold out 20%, scale pixels from 0..16 to 0..1 */
    CHECK(nnc_dataset_load("digits", 0, &all, &err), "load");
    CHECK(nnc_dataset_split(&all, 0.2, 1, &train, &test, &err), "split");
    for (size_t i = 0; i < train.n * 64; i++) train.x[i] /= 16.0f;
    for (size_t i = 0; i < test.n * 64; i++) test.x[i] /= 16.0f;

    /* 1. the model */
    m = nnc_model_new("digits");
    nnc_input(m, (int[]){64}, 1, NULL);
    const char *names[3] = {"layer_1", "layer_2", "layer_3"};
    const int units[3] = {25, 15, 10};
    for (int i = 0; i < 3; i++) {
        nnc_dense_opts d = nnc_dense_opts_default(units[i]);
        d.activation = i < 2 ? NNC_ACT_RELU : NNC_ACT_LINEAR; /* logits out */
        d.name = names[i];
        nnc_dense(m, NNC_PREV, &d);
    }

    /* 2. loss and optimizer */
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    c.loss.from_logits = true;
    c.optimizer = nnc_adam_default(); /* learning_rate 1e-3 */
    c.metrics[c.n_metrics++] = NNC_METRIC_ACCURACY;
    nnc_model_set_seed(m, 1);
    CHECK(nnc_compile(m, &c), "compile");
    CHECK(nnc_summary(m, stdout), "summary");

    /* 3. train, then evaluate on the held-out 20% */
    nnc_fit_opts f = nnc_fit_opts_default();
    f.epochs = 100;
    f.verbose = 2;
    CHECK(nnc_fit(m, train.x, train.y, train.n, &f, NULL), "fit");
    nnc_logs logs;
    CHECK(nnc_evaluate(m, test.x, test.y, test.n, 32, &logs), "evaluate");

    /* predict: the model outputs logits; softmax gives the probabilities */
    float p[5 * 10];
    CHECK(nnc_predict(m, test.x, 5, p), "predict");
    nnc_softmax_rows(p, 5, 10);
    for (int i = 0; i < 5; i++) {
        int best = 0;
        printf("image %d:", i);
        for (int j = 0; j < 10; j++) {
            printf(" %.2f", (double)p[i * 10 + j]);
            if (p[i * 10 + j] > p[i * 10 + best]) best = j;
        }
        printf("  -> %d (label %d)\n", best, (int)test.y[i]);
    }
    double acc = nnc_logs_get(&logs, "accuracy");
    printf("test_loss: %.4f - test_accuracy: %.4f\n", nnc_logs_get(&logs, "loss"), acc);
    rc = acc >= 0.95 ? 0 : 1;
done:
    nnc_model_free(m);
    nnc_dataset_free(&test);
    nnc_dataset_free(&train);
    nnc_dataset_free(&all);
    return rc;
}
