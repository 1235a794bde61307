/* Activations: the elementwise ones as one op whose attribute picks a row of the table below
 * (each row: Keras's name, f, and f' right under it), and softmax as its own op because each
 * output depends on a whole row. Definitions are Keras 3's (keras/src/activations). */
#include <math.h>
#include <string.h>
#include "op_util.h"
#include "activation.h"
#include "../backend/cpu/parallel.h"

static float sigmoidf(float x) {
    /* Two branches so that exp never overflows. */
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float z = expf(x);
    return z / (1.0f + z);
}

static float f_linear(float x) { return x; }
static float d_linear(float x, float y) { (void)x; (void)y; return 1.0f; }

static float f_sigmoid(float x) { return sigmoidf(x); }
static float d_sigmoid(float x, float y) { (void)x; return y * (1.0f - y); }

/* A NaN passes through, as in PyTorch: an IEEE max(x, 0) would turn it into 0 and hide it. */
static float f_relu(float x) { return x > 0.0f || x != x ? x : 0.0f; }
static float d_relu(float x, float y) { (void)y; return x > 0.0f ? 1.0f : 0.0f; }

static float f_tanh(float x) { return tanhf(x); }
static float d_tanh(float x, float y) { (void)x; return 1.0f - y * y; }

#define LEAKY_SLOPE 0.2f
static float f_leaky(float x) { return x > 0.0f ? x : LEAKY_SLOPE * x; }
static float d_leaky(float x, float y) { (void)y; return x > 0.0f ? 1.0f : LEAKY_SLOPE; }

static float f_elu(float x) { return x > 0.0f ? x : expm1f(x); }
static float d_elu(float x, float y) { return x > 0.0f ? 1.0f : y + 1.0f; }

#define SELU_ALPHA 1.67326324235437728481f
#define SELU_SCALE 1.05070098735548049342f
static float f_selu(float x) { return SELU_SCALE * (x > 0.0f ? x : SELU_ALPHA * expm1f(x)); }
static float d_selu(float x, float y) {
    (void)y;
    return x > 0.0f ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * expf(x);
}

/* gelu(x) = x·Φ(x) = ½x(1 + erf(x/√2));  gelu'(x) = Φ(x) + x·φ(x) */
static float f_gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
static float d_gelu(float x, float y) {
    (void)y;
    return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) +
           x * 0.39894228040143268f * expf(-0.5f * x * x);
}

/* swish(x) = x·σ(x);  swish'(x) = σ(x) + x·σ(x)(1 − σ(x)) */
static float f_swish(float x) { return x * sigmoidf(x); }
static float d_swish(float x, float y) {
    (void)y;
    float s = sigmoidf(x);
    return s + x * s * (1.0f - s);
}

/* softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^−|x|);  softplus'(x) = σ(x) */
static float f_softplus(float x) { return (x > 0.0f ? x : 0.0f) + log1pf(expf(-fabsf(x))); }
static float d_softplus(float x, float y) { (void)y; return sigmoidf(x); }

/* hard_sigmoid(x) = relu6(x + 3) / 6 */
static float f_hard_sigmoid(float x) {
    float t = (x + 3.0f) / 6.0f;
    return t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
}
static float d_hard_sigmoid(float x, float y) {
    (void)y;
    return x > -3.0f && x < 3.0f ? 1.0f / 6.0f : 0.0f;
}

/* softsign(x) = x / (1 + |x|);  softsign'(x) = 1 / (1 + |x|)² */
static float f_softsign(float x) { return x / (1.0f + fabsf(x)); }
static float d_softsign(float x, float y) {
    (void)y;
    float d = 1.0f + fabsf(x);
    return 1.0f / (d * d);
}

static float f_exp(float x) { return expf(x); }
static float d_exp(float x, float y) { (void)x; return y; }

/* Softmax is not elementwise: its row lives in the softmax op below. */
static float f_none(float x) { return x; }
static float d_none(float x, float y) { (void)x; (void)y; return 1.0f; }

const nnc_activation_def nnc_activation_table[NNC_ACT_COUNT] = {
    [NNC_ACT_LINEAR] = {"linear", f_linear, d_linear},
    [NNC_ACT_SIGMOID] = {"sigmoid", f_sigmoid, d_sigmoid},
    [NNC_ACT_RELU] = {"relu", f_relu, d_relu},
    [NNC_ACT_TANH] = {"tanh", f_tanh, d_tanh},
    [NNC_ACT_SOFTMAX] = {"softmax", f_none, d_none},
    [NNC_ACT_LEAKY_RELU] = {"leaky_relu", f_leaky, d_leaky},
    [NNC_ACT_ELU] = {"elu", f_elu, d_elu},
    [NNC_ACT_SELU] = {"selu", f_selu, d_selu},
    [NNC_ACT_GELU] = {"gelu", f_gelu, d_gelu},
    [NNC_ACT_SWISH] = {"swish", f_swish, d_swish},
    [NNC_ACT_SOFTPLUS] = {"softplus", f_softplus, d_softplus},
    [NNC_ACT_HARD_SIGMOID] = {"hard_sigmoid", f_hard_sigmoid, d_hard_sigmoid},
    [NNC_ACT_SOFTSIGN] = {"softsign", f_softsign, d_softsign},
    [NNC_ACT_EXPONENTIAL] = {"exponential", f_exp, d_exp},
};
_Static_assert(NNC_ACT_COUNT == 14, "a new activation needs a row in nnc_activation_table");

const char *nnc_activation_name(nnc_activation a) {
    return (unsigned)a < NNC_ACT_COUNT ? nnc_activation_table[a].name : "?";
}

nnc_status nnc_activation_parse(const char *name, nnc_activation *out) {
    if (!name) return NNC_ERR_ARG;
    if (!strcmp(name, "silu")) name = "swish";
    if (!strcmp(name, "None") || !strcmp(name, "none")) name = "linear";
    for (int i = 0; i < NNC_ACT_COUNT; i++)
        if (!strcmp(name, nnc_activation_table[i].name)) {
            *out = (nnc_activation)i;
            return NNC_OK;
        }
    return NNC_ERR_ARG;
}

void nnc_sigmoid(float *v, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = sigmoidf(v[i]);
}

static int same_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                      nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    (void)a;
    (void)err;
    (void)n;
    *out = CNODE(m, in[0])->shape;
    *batched = CNODE(m, in[0])->batched;
    return 0;
}

/* Elementwise, so any split of the range is exact: large tensors go over the pool. */
typedef struct {
    const float *restrict x, *restrict y, *restrict gy;
    float *restrict out;
    nnc_activation act;
    float alpha;
    int store;      /* backward: gx = (this op writes it first) rather than gx += */
} act_job;

/* y = f(x); y may be x (the fused epilogue applies it in place). */
void nnc_act_apply(nnc_activation act, float alpha, const float *x, float *y, size_t n) {
    if (act == NNC_ACT_RELU)
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f || x[i] != x[i] ? x[i] : 0.0f; /* NaN stays */
    else if (act == NNC_ACT_LEAKY_RELU) /* the slope is the layer's: 0.2 or 0.3 */
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
    else if (act != NNC_ACT_LINEAR) {
        float (*f)(float) = nnc_activation_table[act].f;
        for (size_t i = 0; i < n; i++) y[i] = f(x[i]);
    } else if (y != x) {
        for (size_t i = 0; i < n; i++) y[i] = x[i];
    }
}

static void act_forward_range(void *ctx, size_t first, size_t count) {
    const act_job *j = ctx;
    nnc_act_apply(j->act, j->alpha, j->x + first, j->out + first, count);
}

/* dx += dy · f'(x) */
static void act_backward_range(void *ctx, size_t first, size_t count) {
    const act_job *j = ctx;
    const float *restrict x = j->x + first, *restrict y = j->y + first, *restrict gy = j->gy + first;
    float *restrict gx = j->out + first;
    const float a = j->alpha;
    if (j->store) /* the sums below start from 0, as they would from a zeroed dx */
        for (size_t i = 0; i < count; i++) gx[i] = 0.0f;
    if (j->act == NNC_ACT_RELU)
        for (size_t i = 0; i < count; i++) gx[i] += x[i] > 0.0f ? gy[i] : 0.0f;
    else if (j->act == NNC_ACT_LEAKY_RELU)
        for (size_t i = 0; i < count; i++) gx[i] += x[i] > 0.0f ? gy[i] : a * gy[i];
    else {
        float (*df)(float, float) = nnc_activation_table[j->act].df;
        for (size_t i = 0; i < count; i++) gx[i] += gy[i] * df(x[i], y[i]);
    }
}

static void act_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    act_job j = {x->value, NULL, NULL, y->value, y->attr.act, y->attr.alpha, 0};
    nnc_parallel_range(e->m->pool, nnc_node_numel(e->m, id, e->batch), 1 << 14, act_forward_range, &j);
}

static void act_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    act_job j = {x->value, y->value, y->grad, x->grad, y->attr.act, y->attr.alpha, x->grad_overwrite == id};
    nnc_parallel_range(e->m->pool, nnc_node_numel(e->m, id, e->batch), 1 << 14, act_backward_range, &j);
}

const nnc_op_def nnc_op_act = {"activation", same_infer, act_forward, act_backward, NULL, NULL};

void nnc_softmax_rows(float *v, size_t n, size_t k) {
    for (size_t r = 0; r < n; r++) {
        float *z = v + r * k, mx = z[0];
        for (size_t j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
        float s = 0.0f;
        for (size_t j = 0; j < k; j++) s += (z[j] = expf(z[j] - mx));
        for (size_t j = 0; j < k; j++) z[j] /= s;
    }
}

static void softmax_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t rows = op_rows(x, e->batch), k = (size_t)op_last_dim(x);
    memcpy(y->value, x->value, rows * k * sizeof(float));
    nnc_softmax_rows(y->value, rows, k);
}

/* dx_j += y_j · (dy_j − Σ_k dy_k·y_k) */
static void softmax_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    size_t rows = op_rows(x, e->batch), k = (size_t)op_last_dim(x);
    for (size_t r = 0; r < rows; r++) {
        const float *yv = y->value + r * k, *g = y->grad + r * k;
        float dot = 0.0f;
        for (size_t j = 0; j < k; j++) dot += g[j] * yv[j];
        for (size_t j = 0; j < k; j++) x->grad[r * k + j] += yv[j] * (g[j] - dot);
    }
}

const nnc_op_def nnc_op_softmax = {"softmax", same_infer, softmax_forward, softmax_backward, NULL, NULL};
