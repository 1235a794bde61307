/* regression.c: regression with a linear output layer and MeanSquaredError, against a
 * least-squares baseline.
 *
 * Advanced Learning Algorithms, week 2: "Regression uses MeanSquaredError()" and, from
 * "Activations", "regression with any sign -> linear output". Also the remark that a network
 * of linear layers is just linear regression: here the baseline is exactly that model, fitted
 * in closed form, and the network has to at least roughly tie it.
 *
 *     model = Sequential([Input(10), Dense(32, activation='relu'),
 *                         Dense(16, activation='relu'), Dense(1, activation='linear')])
 *     model.compile(loss=MeanSquaredError(), optimizer=Adam(learning_rate=0.01),
 *                   metrics=['mae'])
 *
 * Data: the bundled "diabetes" set (442 patients, 10 raw features such as age, sex, BMI and
 * blood pressure; the target is a disease-progression score, 25..346). A seeded 20% is held
 * out. The features are standardised with the mean and standard deviation of the training
 * split only (computed here in C), so nothing is learned from the test rows.
 *
 * The target is left in its own units: the output layer's bias starts at the training mean
 * (bias_initializer = constant(mean)), so the network starts as the "predict the mean" model
 * and only has to learn the deviations, and the loss and nnc's "mae" metric read directly in
 * progression points. Adam is insensitive to the scale of the gradient, so the large raw MSE
 * (thousands) needs no other change. Standardising the target would work equally well but
 * would need the predictions to be mapped back before computing the MAE.
 *
 * The baseline is ordinary least squares with an intercept: the 11x11 normal equations
 * (X^T X) w = X^T y solved in double by Cholesky.
 *
 * Prints the test MAE of both and exits 0 when the network's is at most 1.15 times the
 * baseline's.
 *
 * Usage: example_regression [seed]
 */
#include <nnc.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SEED 1u
#define EPOCHS 60
#define LEARNING_RATE 0.01f
#define MAX_RATIO 1.15
#define P 11 /* 10 features + intercept */

/* Standardises the columns of both splits with the train split's mean and std. */
static void standardise(nnc_dataset *train, nnc_dataset *test) {
    size_t f = train->features;
    for (size_t j = 0; j < f; j++) {
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < train->n; i++) sum += (double)train->x[i * f + j];
        double mean = sum / (double)train->n;
        for (size_t i = 0; i < train->n; i++) {
            double d = (double)train->x[i * f + j] - mean;
            sq += d * d;
        }
        double sd = sqrt(sq / (double)train->n);
        if (sd == 0.0) sd = 1.0;
        for (size_t i = 0; i < train->n; i++)
            train->x[i * f + j] = (float)(((double)train->x[i * f + j] - mean) / sd);
        for (size_t i = 0; i < test->n; i++)
            test->x[i * f + j] = (float)(((double)test->x[i * f + j] - mean) / sd);
    }
}

/* Least squares with an intercept: solves (A^T A) w = A^T y, A = [1, x], by Cholesky.
 * Returns false when the system is not positive definite. */
static bool least_squares(const nnc_dataset *d, double w[P]) {
    double a[P][P] = {{0}}, b[P] = {0}, row[P];
    size_t f = d->features;
    for (size_t i = 0; i < d->n; i++) {
        row[0] = 1.0;
        for (size_t j = 0; j < f; j++) row[j + 1] = (double)d->x[i * f + j];
        for (int r = 0; r < P; r++) {
            b[r] += row[r] * (double)d->y[i];
            for (int c = 0; c < P; c++) a[r][c] += row[r] * row[c];
        }
    }
    /* A^T A = L L^T, L stored in the lower triangle of a */
    for (int j = 0; j < P; j++) {
        double s = a[j][j];
        for (int k = 0; k < j; k++) s -= a[j][k] * a[j][k];
        if (s <= 0.0) return false;
        a[j][j] = sqrt(s);
        for (int i = j + 1; i < P; i++) {
            double t = a[i][j];
            for (int k = 0; k < j; k++) t -= a[i][k] * a[j][k];
            a[i][j] = t / a[j][j];
        }
    }
    /* L z = b, then L^T w = z */
    for (int i = 0; i < P; i++) {
        double t = b[i];
        for (int k = 0; k < i; k++) t -= a[i][k] * w[k];
        w[i] = t / a[i][i];
    }
    for (int i = P - 1; i >= 0; i--) {
        double t = w[i];
        for (int k = i + 1; k < P; k++) t -= a[k][i] * w[k];
        w[i] = t / a[i][i];
    }
    return true;
}

static double baseline_mae(const nnc_dataset *d, const double w[P]) {
    double sum = 0.0;
    for (size_t i = 0; i < d->n; i++) {
        double pred = w[0];
        for (size_t j = 0; j < d->features; j++) pred += w[j + 1] * (double)d->x[i * d->features + j];
        sum += fabs(pred - (double)d->y[i]);
    }
    return sum / (double)d->n;
}

static double mean_of(const float *v, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)v[i];
    return s / (double)n;
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
    float *pred = NULL;

    if (nnc_dataset_load("diabetes", 0, &all, &err) != NNC_OK ||
        nnc_dataset_split(&all, 0.2, seed, &train, &test, &err) != NNC_OK) {
        fprintf(stderr, "regression: %s\n", err.message);
        goto done;
    }
    if (train.features != P - 1 || train.targets != 1) {
        fprintf(stderr, "regression: expected 10 features and 1 target, got %zu and %zu\n",
                train.features, train.targets);
        goto done;
    }
    standardise(&train, &test);
    double y_mean = mean_of(train.y, train.n);
    printf("diabetes: %zu patients, %zu features; train %zu, test %zu (seed %llu)\n", all.n,
           all.features, train.n, test.n, (unsigned long long)seed);

    /* the baseline: least squares, and the even simpler "predict the training mean" */
    double w[P];
    if (!least_squares(&train, w)) {
        fprintf(stderr, "regression: the normal equations are singular\n");
        goto done;
    }
    double mae_ls = baseline_mae(&test, w);
    double mae_mean = 0.0;
    for (size_t i = 0; i < test.n; i++) mae_mean += fabs((double)test.y[i] - y_mean);
    mae_mean /= (double)test.n;

    /* the network */
    m = nnc_model_new("diabetes");
    if (!m) {
        fprintf(stderr, "regression: out of memory\n");
        goto done;
    }
    nnc_input(m, (int[]){10}, 1, NULL);
    dense(m, 32, NNC_ACT_RELU);
    dense(m, 16, NNC_ACT_RELU);
    nnc_dense_opts out = nnc_dense_opts_default(1); /* linear: a score of any size */
    out.bias_initializer = nnc_initializer_default(NNC_INIT_CONSTANT);
    out.bias_initializer.a = (float)y_mean;
    nnc_dense(m, NNC_PREV, &out);

    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_MEAN_SQUARED_ERROR);
    c.optimizer = nnc_adam_default();
    c.optimizer.learning_rate = LEARNING_RATE;
    c.metrics[c.n_metrics++] = NNC_METRIC_MAE;
    nnc_model_set_seed(m, seed);
    if (nnc_compile(m, &c) != NNC_OK) {
        fprintf(stderr, "regression: compile: %s\n", nnc_last_error(m));
        goto done;
    }
    nnc_fit_opts f = nnc_fit_opts_default();
    f.epochs = EPOCHS;
    f.batch_size = 32;
    f.verbose = 0;
    nnc_history *h = NULL;
    if (nnc_fit(m, train.x, train.y, train.n, &f, &h) != NNC_OK) {
        fprintf(stderr, "regression: fit: %s\n", nnc_last_error(m));
        nnc_history_free(h);
        goto done;
    }
    const nnc_logs *first = nnc_history_logs(h, 0);
    const nnc_logs *last = nnc_history_logs(h, nnc_history_epochs(h) - 1);
    printf("network 10 -> 32 relu -> 16 relu -> 1 linear, MSE, Adam(%g), %d epochs, batch 32\n",
           (double)LEARNING_RATE, EPOCHS);
    printf("  train mae: epoch 1 %.2f, epoch %d %.2f\n", nnc_logs_get(first, "mae"), EPOCHS,
           nnc_logs_get(last, "mae"));
    nnc_history_free(h);

    nnc_logs logs;
    if (nnc_evaluate(m, test.x, test.y, test.n, 32, &logs) != NNC_OK) {
        fprintf(stderr, "regression: evaluate: %s\n", nnc_last_error(m));
        goto done;
    }
    double mae_nn = nnc_logs_get(&logs, "mae");

    /* a few predictions next to the truth */
    pred = malloc(sizeof(float) * test.n);
    if (!pred) {
        fprintf(stderr, "regression: out of memory\n");
        goto done;
    }
    if (nnc_predict(m, test.x, test.n, pred) != NNC_OK) {
        fprintf(stderr, "regression: predict: %s\n", nnc_last_error(m));
        goto done;
    }
    printf("  first test patients (true / network / least squares):");
    for (size_t i = 0; i < 5 && i < test.n; i++) {
        double ls = w[0];
        for (size_t j = 0; j < test.features; j++)
            ls += w[j + 1] * (double)test.x[i * test.features + j];
        printf("  %.0f/%.0f/%.0f", (double)test.y[i], (double)pred[i], ls);
    }
    printf("\n\n");

    printf("test MAE (progression points, %zu patients):\n", test.n);
    printf("  predict the training mean   %7.2f\n", mae_mean);
    printf("  least squares (closed form) %7.2f\n", mae_ls);
    printf("  network                     %7.2f   (test MSE %.1f)\n", mae_nn,
           nnc_logs_get(&logs, "loss"));
    printf("  ratio network / least squares: %.3f\n\n", mae_nn / mae_ls);

    if (!(mae_nn <= MAX_RATIO * mae_ls)) {
        printf("FAIL: network MAE %.2f is above %.2f x the baseline's %.2f\n", mae_nn, MAX_RATIO,
               mae_ls);
        goto done;
    }
    printf("OK: network MAE %.2f is within %.2f x the least-squares MAE %.2f\n", mae_nn,
           MAX_RATIO, mae_ls);
    rc = 0;

done:
    free(pred);
    nnc_model_free(m);
    nnc_dataset_free(&test);
    nnc_dataset_free(&train);
    nnc_dataset_free(&all);
    return rc;
}
