/* The losses of Keras 3 (keras/src/losses), each reduced by the mean over the batch, and for
 * elementwise losses over the outputs too (Keras takes the mean over the last axis).
 * From logits, the cross-entropies never take the log of a rounded probability:
 *   binary:      max(z, 0) − z·y + log1p(e^−|z|)          ∂/∂z = σ(z) − y
 *   categorical: logsumexp(z) − Σ y·z  (Σy = 1)           ∂/∂z = softmax(z)·Σy − y
 * From probabilities they clip to [ε, 1 − ε] as Keras does, so their gradient vanishes where
 * the clip is active; that is the unstable path the course warns about. Sums are in double. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "losses.h"

static const char *const loss_names[NNC_LOSS_COUNT] = {
    [NNC_LOSS_MEAN_SQUARED_ERROR] = "mean_squared_error",
    [NNC_LOSS_MEAN_ABSOLUTE_ERROR] = "mean_absolute_error",
    [NNC_LOSS_HUBER] = "huber",
    [NNC_LOSS_BINARY_CROSSENTROPY] = "binary_crossentropy",
    [NNC_LOSS_CATEGORICAL_CROSSENTROPY] = "categorical_crossentropy",
    [NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY] = "sparse_categorical_crossentropy",
};

static const struct {
    const char *alias;
    nnc_loss_kind kind;
} loss_aliases[] = {
    {"mse", NNC_LOSS_MEAN_SQUARED_ERROR},
    {"mae", NNC_LOSS_MEAN_ABSOLUTE_ERROR},
    {"huber_loss", NNC_LOSS_HUBER},
};

const char *nnc_loss_name(nnc_loss_kind k) {
    return (unsigned)k < NNC_LOSS_COUNT ? loss_names[k] : "?";
}

const char *nnc_loss_class(nnc_loss_kind k) {
    static const char *const classes[NNC_LOSS_COUNT] = {
        [NNC_LOSS_MEAN_SQUARED_ERROR] = "MeanSquaredError",
        [NNC_LOSS_MEAN_ABSOLUTE_ERROR] = "MeanAbsoluteError",
        [NNC_LOSS_HUBER] = "Huber",
        [NNC_LOSS_BINARY_CROSSENTROPY] = "BinaryCrossentropy",
        [NNC_LOSS_CATEGORICAL_CROSSENTROPY] = "CategoricalCrossentropy",
        [NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY] = "SparseCategoricalCrossentropy",
    };
    return (unsigned)k < NNC_LOSS_COUNT ? classes[k] : "?";
}

nnc_status nnc_loss_parse(const char *name, nnc_loss_kind *out) {
    if (!name) return NNC_ERR_ARG;
    for (int i = 0; i < NNC_LOSS_COUNT; i++)
        if (!strcmp(name, loss_names[i]) || !strcmp(name, nnc_loss_class((nnc_loss_kind)i))) {
            *out = (nnc_loss_kind)i;
            return NNC_OK;
        }
    for (size_t i = 0; i < sizeof loss_aliases / sizeof *loss_aliases; i++)
        if (!strcmp(name, loss_aliases[i].alias)) {
            *out = loss_aliases[i].kind;
            return NNC_OK;
        }
    return NNC_ERR_ARG;
}

nnc_loss nnc_loss_default(nnc_loss_kind kind) {
    nnc_loss l = {kind, false, 1.0f};
    return l;
}

static double sigmoid_d(double z) {
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

/* Regression losses: elementwise, mean over all n·k values. */
static double regression(const nnc_loss *L, const float *p, const float *y, size_t nk,
                         float *grad) {
    double sum = 0.0, inv = 1.0 / (double)nk, d = (double)L->delta;
    for (size_t i = 0; i < nk; i++) {
        double e = (double)p[i] - (double)y[i], ae = fabs(e), g;
        switch (L->kind) {
        case NNC_LOSS_MEAN_SQUARED_ERROR: sum += e * e; g = 2.0 * e; break;        /* e² */
        case NNC_LOSS_MEAN_ABSOLUTE_ERROR: sum += ae; g = (e > 0) - (e < 0); break; /* |e| */
        default: /* Huber: ½e² inside δ, δ(|e| − ½δ) outside */
            if (ae <= d) sum += 0.5 * e * e, g = e;
            else sum += d * (ae - 0.5 * d), g = e > 0 ? d : -d;
            break;
        }
        if (grad) grad[i] = (float)(g * inv);
    }
    return sum * inv;
}

static double binary_ce(int logits, const float *v, const float *y, size_t nk, float *grad) {
    double sum = 0.0, inv = 1.0 / (double)nk;
    const double lo = (double)NNC_PROB_EPSILON, hi = 1.0 - (double)NNC_PROB_EPSILON;
    for (size_t i = 0; i < nk; i++) {
        double t = (double)y[i];
        if (logits) {
            double z = (double)v[i];
            sum += (z > 0 ? z : 0) - z * t + log1p(exp(-fabs(z)));
            if (grad) grad[i] = (float)((sigmoid_d(z) - t) * inv);
        } else {
            double p = (double)v[i], pc = p < lo ? lo : p > hi ? hi : p;
            sum += -(t * log(pc) + (1 - t) * log(1 - pc));
            if (grad) grad[i] = (p < lo || p > hi) ? 0.0f : (float)((-t / pc + (1 - t) / (1 - pc)) * inv);
        }
    }
    return sum * inv;
}

/* e^x for x <= 0 (a logit minus its row's maximum), in double, written so that the compiler
 * vectorises a row of them: Cody and Waite's reduction x = n·ln2 + r, |r| <= ln2/2, then e^r by
 * its Taylor series to r^13 (truncation below 1e-17) and 2^n built in the exponent bits. Below
 * -708 it returns 0 where e^x is under 1e-307: added to a sum of at least 1 (the maximum's own
 * e^0), or divided by it and rounded to float, that changes nothing. */
static inline double exp_nonpos(double x) {
    const double log2e = 1.4426950408889634074, ln2_hi = 6.93147180369123816490e-01,
                 ln2_lo = 1.90821492927058770002e-10;
    const double shift = 6755399441055744.0; /* 1.5·2^52: adding it rounds to an integer */
    const double xc = x < -708.0 ? -708.0 : x;
    const double t = xc * log2e + shift, n = t - shift;
    const double r = (xc - n * ln2_hi) - n * ln2_lo;
    double p = 1.0 / 6227020800.0; /* 1/13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t tb, sb;
    memcpy(&tb, &t, sizeof tb);
    sb = (tb - 0x4338000000000000ULL + 1023u) << 52; /* the low bits of t hold n */
    double scale;
    memcpy(&scale, &sb, sizeof scale);
    return x < -708.0 ? 0.0 : p * scale;
}

double nnc_exp_nonpos(double x) { return exp_nonpos(x); }

/* Sparse labels from logits (the usual classifier), the common case on small networks where
 * the loss was a third of a step: no loops over one-hot targets (0 but at the label, so
 * Σy = 1 and Σy·z = z_label exactly), the exponentials a row at a time, vectorised (AVX2
 * clone), and the softmax by one reciprocal per row (in double, within an ulp of dividing,
 * before the gradient is rounded to float). */
__attribute__((target_clones("avx512f", "avx2", "default")))
static double sparse_ce_logits(const float *v, const float *y, int n, int k, float *grad) {
    /* up to 32 rows at a time, held column by column (ez[j·32 + r]) so that every step runs
     * across the rows in vectors: each row's maximum and its sum of exponentials are still
     * taken over j in order, one chain per row as before, but 32 chains side by side rather
     * than one row's latency after another (B0's rows are 10 wide); the exponentials in one
     * flat loop; the loss summed over the rows in order */
    double sum = 0.0, invn = 1.0 / n, ez[64 * 32], mx[32], se[32], inv[32];
    for (int r0 = 0; r0 < n; r0 += 32) {
        const int nr = n - r0 < 32 ? n - r0 : 32;
        const float *zb = v + (size_t)r0 * k;
        for (int r = 0; r < nr; r++)
            for (int j = 0; j < k; j++) ez[j * 32 + r] = (double)zb[(size_t)r * k + j];
        for (int r = 0; r < nr; r++) mx[r] = ez[r];
        for (int j = 1; j < k; j++)
            for (int r = 0; r < nr; r++) mx[r] = ez[j * 32 + r] > mx[r] ? ez[j * 32 + r] : mx[r];
        for (int j = 0; j < k; j++)
            for (int r = 0; r < nr; r++) ez[j * 32 + r] = exp_nonpos(ez[j * 32 + r] - mx[r]);
        for (int r = 0; r < nr; r++) se[r] = 0.0;
        for (int j = 0; j < k; j++)
            for (int r = 0; r < nr; r++) se[r] += ez[j * 32 + r];
        for (int r = 0; r < nr; r++)
            sum += (mx[r] + log(se[r])) - (double)zb[(size_t)r * k + (int)y[r0 + r]];
        if (!grad) continue;
        for (int r = 0; r < nr; r++) inv[r] = 1.0 / se[r];
        for (int r = 0; r < nr; r++) {
            const int label = (int)y[r0 + r];
            float *g = grad + (size_t)(r0 + r) * k;
            for (int j = 0; j < k; j++) g[j] = (float)((ez[j * 32 + r] * inv[r] - (double)(j == label)) * invn);
        }
    }
    return sum * invn;
}

/* Target value of class j for row r: one-hot from a label, or the given row. */
static double target(int sparse, const float *y, int r, int j, int k) {
    return sparse ? (double)((int)y[r] == j) : (double)y[(size_t)r * k + j];
}

static double categorical_ce(int sparse, int logits, const float *v, const float *y, int n,
                             int k, float *grad) {
    if (sparse && logits && k <= 64) return sparse_ce_logits(v, y, n, k, grad);
    double sum = 0.0, invn = 1.0 / n;
    const double lo = (double)NNC_PROB_EPSILON, hi = 1.0 - (double)NNC_PROB_EPSILON;
    for (int r = 0; r < n; r++) {
        const float *z = v + (size_t)r * k;
        float *g = grad ? grad + (size_t)r * k : NULL;
        double ysum = 0.0;
        for (int j = 0; j < k; j++) ysum += target(sparse, y, r, j, k);
        if (logits) {
            /* exp(z_j − max) once per logit: the softmax of the gradient reuses it. */
            double mx = (double)z[0], se = 0.0, yz = 0.0, ez[64];
            for (int j = 1; j < k; j++) mx = (double)z[j] > mx ? (double)z[j] : mx;
            for (int j = 0; j < k; j++) {
                double e = exp((double)z[j] - mx);
                if (j < 64) ez[j] = e;
                se += e;
                yz += target(sparse, y, r, j, k) * (double)z[j];
            }
            double lse = mx + log(se);
            sum += lse * ysum - yz;
            if (g)
                for (int j = 0; j < k; j++) {
                    double p = j < 64 ? ez[j] / se : exp((double)z[j] - lse);
                    g[j] = (float)((p * ysum - target(sparse, y, r, j, k)) * invn);
                }
        } else {
            /* q = p / Σp, clipped; ∂L/∂p_j = (g_j − Σ_i g_i·q_i) / Σp with g_i = −y_i/q_i where
             * the clip is inactive, 0 where it is active. */
            double s = 0.0, gq = 0.0;
            for (int j = 0; j < k; j++) s += (double)z[j];
            for (int j = 0; j < k; j++) {
                double q = (double)z[j] / s, qc = q < lo ? lo : q > hi ? hi : q, t = target(sparse, y, r, j, k);
                sum += -t * log(qc);
                if (!(q < lo || q > hi)) gq += (-t / qc) * q;
            }
            if (g)
                for (int j = 0; j < k; j++) {
                    double q = (double)z[j] / s, gj = (q < lo || q > hi) ? 0.0 : -target(sparse, y, r, j, k) / q;
                    g[j] = (float)((gj - gq) / s * invn);
                }
        }
    }
    return sum * invn;
}

double nnc_loss_compute(const nnc_loss *L, int logits, const float *v, const float *y, int n,
                        int k, float *grad) {
    size_t nk = (size_t)n * (size_t)k;
    switch (L->kind) {
    case NNC_LOSS_BINARY_CROSSENTROPY: return binary_ce(logits, v, y, nk, grad);
    case NNC_LOSS_CATEGORICAL_CROSSENTROPY: return categorical_ce(0, logits, v, y, n, k, grad);
    case NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY: return categorical_ce(1, logits, v, y, n, k, grad);
    default: return regression(L, v, y, nk, grad);
    }
}

double nnc_loss_compute_weighted(const nnc_loss *L, int logits, const float *v, const float *y,
                                 int n, int k, const float *w, float *grad) {
    if (!w) return nnc_loss_compute(L, logits, v, y, n, k, grad);
    /* Each example alone gives its own loss (the mean over its outputs, as Keras's per-sample
     * loss) and gradient; weighting and the batch mean follow. */
    const size_t t = L->kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? 1 : (size_t)k;
    double sum = 0.0;
    for (int r = 0; r < n; r++) {
        float *g = grad ? grad + (size_t)r * k : NULL;
        double lr = nnc_loss_compute(L, logits, v + (size_t)r * k, y + (size_t)r * t, 1, k, g);
        sum += (double)w[r] * lr;
        if (g)
            for (int j = 0; j < k; j++) g[j] = (float)((double)g[j] * (double)w[r] / n);
    }
    return sum / n;
}
