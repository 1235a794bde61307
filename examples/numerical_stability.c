/* numerical_stability.c: round-off error, and why the course recommends from_logits=True.
 *
 * Advanced Learning Algorithms, week 2, "Numerical round-off, and from_logits":
 *
 *     x1 = 2.0 / 10000                          # 0.000200000000000000
 *     x2 = 1 + (1 / 10000) - (1 - 1 / 10000)    # 0.000199999999999978
 *
 * Part 1 computes both in double and in float (nnc trains in float) and prints them with
 * %.18f.
 *
 * Part 2 shows the same effect inside a loss. A tiny model, Input(1) -> Dense(1, linear) with
 * kernel 1 and bias 0 (set with nnc_set_variable), outputs its input as a logit z, so we can
 * feed it extreme logits. For each (z, y) the table prints
 *   exact       the true binary cross-entropy, log(1 + e^-z) for y = 1, computed in double;
 *   logits      nnc_evaluate with BinaryCrossentropy(from_logits=true): the stable path;
 *   sig layer   the same model with a sigmoid last layer and BinaryCrossentropy(): nnc, like
 *               Keras on TensorFlow, notices that the output comes straight from a sigmoid and
 *               scores it from the logit, so this is stable too;
 *   prob        what happens when the loss only sees the probability: p = sigmoid(z) rounded
 *               to float (nnc_predict, then nnc_sigmoid as tf.nn.sigmoid), clipped to
 *               [1e-7, 1 - 1e-7] as Keras does, then -log(p) or -log(1 - p): 16.118 for
 *               y = 1 and 15.942 for y = 0 (1 - 1e-7 rounds to 1 - 2^-23 in float), whatever
 *               z is.
 * Then the same for SparseCategoricalCrossentropy with three logits, Input(3) -> Dense(3)
 * with an identity kernel: logits [1000, 0, -1000] and label 2 cost exactly 2000, but a
 * rounded softmax gives p = 0 for class 2, clipped to 1e-7: 16.118.
 *
 * Exits 0 when every from_logits (and fused layer) loss is finite and within 1e-3 of the
 * exact value, relative (absolute for exact values below 1).
 */
#include <nnc.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TOLERANCE 1e-3
#define EPSILON 1e-7f /* Keras's backend.epsilon(), the clip of probability-based losses */

/* ---- part 1 ---------------------------------------------------------------------------- */

static void roundoff(void) {
    /* volatile keeps the compiler from folding the float expression at higher precision */
    volatile double one = 1.0, ten_k = 10000.0;
    volatile float onef = 1.0f, ten_kf = 10000.0f;
    double x1 = 2.0 / ten_k;
    double x2 = one + one / ten_k - (one - one / ten_k);
    float x1f = 2.0f / ten_kf;
    float x2f = onef + onef / ten_kf - (onef - onef / ten_kf);
    printf("Part 1: round-off\n");
    printf("  double  x1 = 2.0/10000                   = %.18f\n", x1);
    printf("  double  x2 = 1 + 1/10000 - (1 - 1/10000) = %.18f   error %.1e\n", x2, x2 - x1);
    printf("  float   x1                               = %.18f\n", (double)x1f);
    printf("  float   x2                               = %.18f   error %.1e\n\n", (double)x2f,
           (double)x2f - (double)x1f);
}

/* ---- helpers --------------------------------------------------------------------------- */

/* A compiled model Input(k) -> Dense(k, act) named "z" with an identity kernel and zero bias,
 * so that its pre-activation equals its input. NULL on error (printed). */
static nnc_model *identity_model(int k, nnc_activation act, nnc_loss loss) {
    nnc_model *m = nnc_model_new(NULL);
    if (!m) {
        fprintf(stderr, "numerical_stability: out of memory\n");
        return NULL;
    }
    nnc_input(m, (int[]){k}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(k);
    d.activation = act;
    d.name = "z";
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = loss;
    nnc_model_set_seed(m, 0);
    if (nnc_compile(m, &c) != NNC_OK) goto fail;

    float w[9] = {0}, b[3] = {0};
    for (int i = 0; i < k; i++) w[i * k + i] = 1.0f;
    if (nnc_set_variable(m, "z.kernel", w, (size_t)(k * k)) != NNC_OK ||
        nnc_set_variable(m, "z.bias", b, (size_t)k) != NNC_OK)
        goto fail;
    return m;
fail:
    fprintf(stderr, "numerical_stability: %s\n", nnc_last_error(m));
    nnc_model_free(m);
    return NULL;
}

/* The model's loss on one example; NAN on error (printed). */
static double loss_of(nnc_model *m, const float *x, float y) {
    nnc_logs logs;
    if (nnc_evaluate(m, x, &y, 1, 1, &logs) != NNC_OK) {
        fprintf(stderr, "numerical_stability: evaluate: %s\n", nnc_last_error(m));
        return (double)NAN;
    }
    return nnc_logs_get(&logs, "loss");
}

static float clip(float p) {
    const float hi = 1.0f - EPSILON;
    return p < EPSILON ? EPSILON : p > hi ? hi : p;
}

/* log(1 + e^t) in double without overflow */
static double softplus(double t) {
    return (t > 0 ? t : 0.0) + log1p(exp(-fabs(t)));
}

static bool close_enough(double got, double exact) {
    double scale = fabs(exact) > 1.0 ? fabs(exact) : 1.0;
    return isfinite(got) && fabs(got - exact) <= TOLERANCE * scale;
}

static const char *mark(double got, double exact) {
    return close_enough(got, exact) ? "" : "*";
}

/* ---- part 2: binary cross-entropy -------------------------------------------------------- */

static bool binary(void) {
    static const struct {
        float z, y;
    } cases[] = {{2, 1}, {-100, 1}, {100, 0}, {-1000, 1}, {1000, 0}, {100, 1}};
    const int n = (int)(sizeof cases / sizeof cases[0]);
    bool ok = false;
    nnc_loss bce = nnc_loss_default(NNC_LOSS_BINARY_CROSSENTROPY);
    nnc_loss bce_logits = bce;
    bce_logits.from_logits = true;
    nnc_model *logit_m = identity_model(1, NNC_ACT_LINEAR, bce_logits);
    nnc_model *sig_m = identity_model(1, NNC_ACT_SIGMOID, bce);
    if (!logit_m || !sig_m) goto done;

    printf("Part 2: BinaryCrossentropy of a logit z (Input(1) -> Dense(1), kernel 1, bias 0)\n");
    printf("  %7s %2s | %14s | %14s | %14s | %14s\n", "z", "y", "exact", "logits", "sig layer",
           "prob (float)");
    ok = true;
    for (int i = 0; i < n; i++) {
        float z = cases[i].z, y = cases[i].y;
        double exact = softplus(y == 1.0f ? -(double)z : (double)z);
        double from_logits = loss_of(logit_m, &z, y);
        double fused = loss_of(sig_m, &z, y);
        /* the probability path: predict the logit, round sigmoid(z) to float, clip, log */
        float p;
        if (nnc_predict(logit_m, &z, 1, &p) != NNC_OK) {
            fprintf(stderr, "numerical_stability: predict: %s\n", nnc_last_error(logit_m));
            ok = false;
            break;
        }
        nnc_sigmoid(&p, 1);
        float pc = clip(p);
        float prob = y == 1.0f ? -logf(pc) : -logf(1.0f - pc);
        printf("  %7.0f %2.0f | %14.6g | %13.6g%1s | %13.6g%1s | %14.6g\n", (double)z, (double)y,
               exact, from_logits, mark(from_logits, exact), fused, mark(fused, exact),
               (double)prob);
        ok = ok && close_enough(from_logits, exact) && close_enough(fused, exact);
    }
    printf("\n");
done:
    nnc_model_free(sig_m);
    nnc_model_free(logit_m);
    return ok;
}

/* ---- part 3: sparse categorical cross-entropy ------------------------------------------- */

static bool sparse(void) {
    static const struct {
        float z[3];
        float label;
    } cases[] = {{{2, 1, 0.1f}, 0},     {{100, 0, -100}, 2},   {{1000, 0, -1000}, 2},
                 {{1000, 0, -1000}, 1}, {{1000, 0, -1000}, 0}, {{-1000, 1000, 0}, 0}};
    const int n = (int)(sizeof cases / sizeof cases[0]);
    bool ok = false;
    nnc_loss scce = nnc_loss_default(NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    nnc_loss scce_logits = scce;
    scce_logits.from_logits = true;
    nnc_model *logit_m = identity_model(3, NNC_ACT_LINEAR, scce_logits);
    nnc_model *soft_m = identity_model(3, NNC_ACT_SOFTMAX, scce);
    if (!logit_m || !soft_m) goto done;

    printf("Part 3: SparseCategoricalCrossentropy of three logits (Dense(3), identity kernel)\n");
    printf("  %-20s %5s | %14s | %14s | %14s | %14s\n", "logits", "label", "exact", "logits",
           "softmax layer", "prob (float)");
    ok = true;
    for (int i = 0; i < n; i++) {
        const float *z = cases[i].z;
        int label = (int)cases[i].label;
        /* exact: logsumexp(z) - z[label] in double */
        double mx = fmax(fmax((double)z[0], (double)z[1]), (double)z[2]);
        double sum = 0.0;
        for (int j = 0; j < 3; j++) sum += exp((double)z[j] - mx);
        double exact = mx + log(sum) - (double)z[label];
        double from_logits = loss_of(logit_m, z, cases[i].label);
        double fused = loss_of(soft_m, z, cases[i].label);
        float p[3];
        if (nnc_predict(logit_m, z, 1, p) != NNC_OK) {
            fprintf(stderr, "numerical_stability: predict: %s\n", nnc_last_error(logit_m));
            ok = false;
            break;
        }
        nnc_softmax_rows(p, 1, 3); /* as tf.nn.softmax */
        float prob = -logf(clip(p[label]));
        char text[64];
        snprintf(text, sizeof text, "[%g, %g, %g]", (double)z[0], (double)z[1], (double)z[2]);
        printf("  %-20s %5d | %14.6g | %13.6g%1s | %13.6g%1s | %14.6g\n", text, label, exact,
               from_logits, mark(from_logits, exact), fused, mark(fused, exact), (double)prob);
        ok = ok && close_enough(from_logits, exact) && close_enough(fused, exact);
    }
    printf("\n");
done:
    nnc_model_free(soft_m);
    nnc_model_free(logit_m);
    return ok;
}

int main(void) {
    roundoff();
    bool b = binary();
    bool s = sparse();
    printf("The probability column saturates at -log(1e-7) = %.3f (or -log(2^-23) = %.3f):\n"
           "once sigmoid/softmax has rounded p to 0 or 1 the information is gone.\n"
           "From the logit the loss is exact.\n\n",
           -log(1e-7), -log(ldexp(1.0, -23)));
    if (!b || !s) {
        printf("FAIL: a from_logits or fused loss (marked *) is not within %g of the exact "
               "value\n", TOLERANCE);
        return 1;
    }
    printf("OK: every from_logits and fused loss matches the exact value within %g\n",
           TOLERANCE);
    return 0;
}
