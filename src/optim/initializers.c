/* Weight initializers with Keras 3's definitions (keras/src/initializers): VarianceScaling
 * gives glorot (fan_avg), he (fan_in, scale 2) and lecun (fan_in); its normal variants draw a
 * truncated normal (cut at 2σ) whose σ is divided by 0.8796... so the variance stays right. */
#include <math.h>
#include <string.h>
#include "optim.h"

/* Keras's function name and class name of each initializer. */
static const struct {
    const char *name, *keras_class;
} inits[NNC_INIT_COUNT] = {
    [NNC_INIT_GLOROT_UNIFORM] = {"glorot_uniform", "GlorotUniform"},
    [NNC_INIT_GLOROT_NORMAL] = {"glorot_normal", "GlorotNormal"},
    [NNC_INIT_HE_UNIFORM] = {"he_uniform", "HeUniform"},
    [NNC_INIT_HE_NORMAL] = {"he_normal", "HeNormal"},
    [NNC_INIT_LECUN_NORMAL] = {"lecun_normal", "LecunNormal"},
    [NNC_INIT_LECUN_UNIFORM] = {"lecun_uniform", "LecunUniform"},
    [NNC_INIT_RANDOM_NORMAL] = {"random_normal", "RandomNormal"},
    [NNC_INIT_RANDOM_UNIFORM] = {"random_uniform", "RandomUniform"},
    [NNC_INIT_ZEROS] = {"zeros", "Zeros"},
    [NNC_INIT_ONES] = {"ones", "Ones"},
    [NNC_INIT_CONSTANT] = {"constant", "Constant"},
    [NNC_INIT_ORTHOGONAL] = {"orthogonal", "Orthogonal"},
};

const char *nnc_init_name(nnc_init_kind k) {
    return (unsigned)k < NNC_INIT_COUNT ? inits[k].name : "?";
}

const char *nnc_init_class(nnc_init_kind k) {
    return (unsigned)k < NNC_INIT_COUNT ? inits[k].keras_class : "?";
}

nnc_status nnc_init_parse(const char *name, nnc_init_kind *out) {
    for (int i = 0; name && i < NNC_INIT_COUNT; i++)
        if (!strcmp(name, inits[i].name) || !strcmp(name, inits[i].keras_class)) {
            *out = (nnc_init_kind)i;
            return NNC_OK;
        }
    return NNC_ERR_ARG;
}

nnc_initializer nnc_initializer_default(nnc_init_kind kind) {
    nnc_initializer i = {kind, 0.0f, 0.0f};
    if (kind == NNC_INIT_RANDOM_NORMAL) i.b = 0.05f;
    if (kind == NNC_INIT_RANDOM_UNIFORM) i.a = -0.05f, i.b = 0.05f;
    if (kind == NNC_INIT_ORTHOGONAL) i.a = 1.0f;
    return i;
}

static double truncated_normal(nnc_rng *r) {
    double z;
    do z = nnc_rng_normal(r);
    while (z < -2.0 || z > 2.0);
    return z;
}

/* Keras's Orthogonal: a [rows, cols] matrix (rows: the product of all axes but the last, which
 * is fan_in) with orthonormal columns (rows >= cols) or rows, times gain: a normal draw made
 * orthonormal by modified Gram-Schmidt, in place (the QR of Keras's definition, with the signs
 * its diag(R) correction gives: every R_ii positive). */
static void orthogonal(nnc_rng *r, float gain, int fan_in, float *w, size_t n) {
    size_t rows = fan_in > 0 ? (size_t)fan_in : 1, cols = n / rows;
    for (size_t i = 0; i < n; i++) w[i] = (float)nnc_rng_normal(r);
    if (rows * cols != n || !cols) return;
    /* vectors k of length len at w[k·vs + i·es]: columns when tall, rows when wide */
    const int tall = rows >= cols;
    const size_t count = tall ? cols : rows, len = tall ? rows : cols, vs = tall ? 1 : cols, es = tall ? cols : 1;
    for (size_t k = 0; k < count; k++) {
        for (size_t p = 0; p < k; p++) {
            double dot = 0.0;
            for (size_t i = 0; i < len; i++) dot += (double)w[k * vs + i * es] * (double)w[p * vs + i * es];
            for (size_t i = 0; i < len; i++) w[k * vs + i * es] -= (float)(dot * (double)w[p * vs + i * es]);
        }
        double norm = 0.0;
        for (size_t i = 0; i < len; i++) norm += (double)w[k * vs + i * es] * (double)w[k * vs + i * es];
        norm = norm > 0.0 ? 1.0 / sqrt(norm) : 0.0;
        for (size_t i = 0; i < len; i++) w[k * vs + i * es] = (float)((double)w[k * vs + i * es] * norm);
    }
    for (size_t i = 0; i < n; i++) w[i] *= gain;
}

void nnc_init_fill(nnc_rng *r, nnc_initializer init, int fan_in, int fan_out, float *w,
                   size_t n) {
    double scale = 1.0, fan = fan_in;
    int uniform = 1;
    switch (init.kind) {
    case NNC_INIT_GLOROT_NORMAL: uniform = 0; /* fall through */
    case NNC_INIT_GLOROT_UNIFORM: fan = (fan_in + fan_out) / 2.0; break;
    case NNC_INIT_HE_NORMAL: uniform = 0; /* fall through */
    case NNC_INIT_HE_UNIFORM: scale = 2.0; break;
    case NNC_INIT_LECUN_NORMAL: uniform = 0; /* fall through */
    case NNC_INIT_LECUN_UNIFORM: break;
    case NNC_INIT_RANDOM_NORMAL:
        for (size_t i = 0; i < n; i++) w[i] = (float)((double)init.a + (double)init.b * nnc_rng_normal(r));
        return;
    case NNC_INIT_ORTHOGONAL: orthogonal(r, init.a, fan_in, w, n); return;
    case NNC_INIT_RANDOM_UNIFORM:
        for (size_t i = 0; i < n; i++) w[i] = (float)((double)init.a + (double)(init.b - init.a) * nnc_rng_uniform(r));
        return;
    case NNC_INIT_ZEROS:
    case NNC_INIT_ONES:
    case NNC_INIT_CONSTANT:
    default: {
        float v = init.kind == NNC_INIT_ONES ? 1.0f : init.kind == NNC_INIT_CONSTANT ? init.a : 0.0f;
        for (size_t i = 0; i < n; i++) w[i] = v;
        return;
    }
    }
    if (fan < 1.0) fan = 1.0;
    if (uniform) {
        double limit = sqrt(3.0 * scale / fan); /* glorot: sqrt(6 / (in + out)) */
        for (size_t i = 0; i < n; i++) w[i] = (float)(limit * (2.0 * nnc_rng_uniform(r) - 1.0));
    } else {
        double sd = sqrt(scale / fan) / 0.87962566103423978;
        for (size_t i = 0; i < n; i++) w[i] = (float)(sd * truncated_normal(r));
    }
}
