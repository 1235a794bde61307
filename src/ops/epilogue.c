/* The fused bias + activation of MATMUL and CONV nodes (see epilogue.h and src/core/fuse.c).
 *
 * Forward: the GEMM hands over each block of finished rows while it is in cache; the epilogue
 * adds the bias and applies the activation in place (y = f(x·W + b)), so the pre-activation
 * values are never written to memory on their own.
 * Backward: one pass over the gradient turns dy into dx = dy·f'(y) in place and sums its
 * columns into the bias gradient, where the separate ops made three passes (ACT, then BIAS_ADD
 * copying dx along and summing) over tensors that had to be zeroed first. */
#include "epilogue.h"
#include "activation.h"
#include "../backend/cpu/parallel.h"

int nnc_act_fusable(nnc_activation a, float alpha) {
    switch (a) {
    case NNC_ACT_LINEAR:
    case NNC_ACT_RELU:
    case NNC_ACT_ELU:
    case NNC_ACT_SIGMOID:
    case NNC_ACT_TANH:
    case NNC_ACT_EXPONENTIAL: return 1;
    case NNC_ACT_LEAKY_RELU: return alpha >= 0.0f; /* then y > 0 exactly when x > 0 */
    default: return 0;
    }
}

/* Cloned for AVX2 (picked at load time), as the passes over the largest tensors. */
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EPI_AVX512 1
#define AVX512 __attribute__((target("avx512f")))

/* Narrow layers (B0's and B1's rows are 10 to 25 floats) leave the compiler's vector loops
 * mostly in their scalar remainders; whole rows in masked 16-float vectors instead. The same
 * operations per element as the C loops below, so the same bits. (The forward epilogue done
 * this way measured slower on Zen 5: the next product's broadcasts read the rows just
 * written by masked stores, which do not forward to loads.) */
static AVX512 __mmask16 lanes16(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* relu's gradient in place (g = y > 0 ? g : 0) and, with p, the column sums p = 0 + g + g ...
 * in row order, over rows [first, last) */
static AVX512 void relu_grad_rows_avx512(const float *y, float *g, size_t first, size_t last, size_t c,
                                         float *p) {
    for (size_t j = 0; j < c; j += 16) {
        const __mmask16 m = lanes16((int)(c - j < 16 ? c - j : 16));
        __m512 s = _mm512_setzero_ps();
        for (size_t r = first; r < last; r++) {
            float *gr = g + r * c + j;
            __m512 v = _mm512_maskz_loadu_ps(m, gr);
            if (y) {
                const __m512 yv = _mm512_maskz_loadu_ps(m, y + r * c + j);
                v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(yv, _mm512_setzero_ps(), _CMP_GT_OQ), v);
                _mm512_mask_storeu_ps(gr, m, v);
            }
            s = _mm512_add_ps(s, v);
        }
        if (p) _mm512_mask_storeu_ps(p + j, m, s);
    }
}

static int has_avx512(void) { return __builtin_cpu_supports("avx512f"); }
#else
#define EPI_AVX512 0
#endif

VECTOR_CLONES
static void epi_forward(const void *ctx, float *c, ptrdiff_t ldc, int rows, int col0, int cols) {
    const nnc_epilogue *e = ctx;
    const int relu = e->has_act && e->act == NNC_ACT_RELU;
    for (int r = 0; r < rows; r++) {
        float *restrict row = c + r * ldc;
        if (relu && e->bias) { /* the common layer, in one pass */
            const float *restrict b = e->bias + col0;
            for (int j = 0; j < cols; j++) {
                float v = row[j] + b[j];
                row[j] = v > 0.0f || v != v ? v : 0.0f; /* a NaN stays a NaN */
            }
            continue;
        }
        if (e->bias) {
            const float *restrict b = e->bias + col0;
            for (int j = 0; j < cols; j++) row[j] += b[j];
        }
        if (e->has_act) nnc_act_apply(e->act, e->alpha, row, row, (size_t)cols);
    }
}

const nnc_gemm_epilogue *nnc_epilogue_prepare(const nnc_model *m, int id, nnc_epilogue *e) {
    const nnc_node_rec *n = CNODE(m, id);
    if (n->epi_bias < 0 && !n->epi_has_act) return NULL;
    e->bias = n->epi_bias >= 0 ? CNODE(m, n->epi_bias)->value : NULL;
    e->has_act = n->epi_has_act;
    e->act = n->epi_act;
    e->alpha = n->epi_alpha;
    e->ep.fn = epi_forward;
    e->ep.ctx = e;
    e->ep.col0 = 0;
    const int relu = e->has_act && e->act == NNC_ACT_RELU;
    e->ep.bias = e->bias && (relu || !e->has_act || e->act == NNC_ACT_LINEAR) ? e->bias : NULL;
    e->ep.relu = relu;
    return &e->ep;
}

/* g = g·f'(y) for the fusable activations, written as the ACT op writes dy·f'(x, y), so that
 * the bits are the same (x > 0 and y > 0 agree for relu, leaky_relu (slope >= 0) and elu). */
static inline void act_grad_in_place(nnc_activation a, float alpha, const float *restrict y,
                              float *restrict g, size_t n) {
    switch (a) {
    case NNC_ACT_RELU:
        for (size_t i = 0; i < n; i++) g[i] = y[i] > 0.0f ? g[i] : 0.0f;
        break;
    case NNC_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) g[i] = y[i] > 0.0f ? g[i] : alpha * g[i];
        break;
    case NNC_ACT_ELU:
        for (size_t i = 0; i < n; i++) g[i] = g[i] * (y[i] > 0.0f ? 1.0f : y[i] + 1.0f);
        break;
    case NNC_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) g[i] = g[i] * (y[i] * (1.0f - y[i]));
        break;
    case NNC_ACT_TANH:
        for (size_t i = 0; i < n; i++) g[i] = g[i] * (1.0f - y[i] * y[i]);
        break;
    case NNC_ACT_EXPONENTIAL:
        for (size_t i = 0; i < n; i++) g[i] = g[i] * y[i];
        break;
    default: break; /* linear */
    }
}

typedef struct {
    const float *y;  /* the activation's output, NULL: no activation */
    nnc_activation act;
    float alpha;
    float *g;        /* [rows, c], transformed in place when y is set */
    size_t rows, c, chunk;
    float *partial;  /* [chunks, c], NULL: no bias */
} grad_job;

VECTOR_CLONES
static void grad_chunk(void *ctx, int t) {
    const grad_job *j = ctx;
    size_t first = (size_t)t * j->chunk, last = first + j->chunk < j->rows ? first + j->chunk : j->rows;
    float *restrict p = j->partial ? j->partial + (size_t)t * j->c : NULL;
#if EPI_AVX512
    if ((!j->y || j->act == NNC_ACT_RELU) && j->c <= 64 && has_avx512()) {
        relu_grad_rows_avx512(j->y, j->g, first, last, j->c, p);
        return;
    }
#endif
    if (p)
        for (size_t k = 0; k < j->c; k++) p[k] = 0.0f;
    for (size_t r = first; r < last; r++) {
        float *restrict g = j->g + r * j->c;
        if (j->y) act_grad_in_place(j->act, j->alpha, j->y + r * j->c, g, j->c);
        if (p)
            for (size_t k = 0; k < j->c; k++) p[k] += g[k];
    }
}

size_t nnc_bias_grad_work(size_t c) { return OP_SUM_CHUNKS * c; }

void nnc_bias_grad_combine(const float *partial, size_t rows, size_t c, float *db) {
    const size_t chunk = op_sum_chunk_rows(rows), chunks = (rows + chunk - 1) / chunk;
    for (size_t k = 0; k < c; k++) {
        float s = partial[k];
        for (size_t t = 1; t < chunks; t++) s += partial[t * c + k];
        db[k] += s;
    }
}

/* The shared pass: optional activation gradient in place, optional bias sums. */
static void grad_pass(const nnc_exec *e, const float *y, nnc_activation act, float alpha,
                      float *g, size_t rows, size_t c, float *db) {
    const size_t chunk = op_sum_chunk_rows(rows);
    const int chunks = (int)((rows + chunk - 1) / chunk);
    grad_job j = {y, act, alpha, g, rows, c, chunk, db ? e->m->work : NULL};
    nnc_pool_run(e->m->pool, chunks, grad_chunk, &j);
    if (db) nnc_bias_grad_combine(j.partial, rows, c, db);
}

void nnc_bias_grad(const nnc_exec *e, const float *g, size_t rows, size_t c, float *db) {
    grad_pass(e, NULL, NNC_ACT_LINEAR, 0.0f, (float *)g, rows, c, db);
}

void nnc_epilogue_backward(const nnc_exec *e, int id) {
    nnc_node_rec *n = NODE(e, id);
    nnc_node_rec *b = n->epi_bias >= 0 ? NODE(e, n->epi_bias) : NULL;
    float *db = b && b->needs_grad ? b->grad : NULL;
    int act = n->epi_has_act && n->epi_act != NNC_ACT_LINEAR;
    if (!db && !act) return;
    size_t rows = op_rows(n, e->batch), c = (size_t)op_last_dim(n);
    grad_pass(e, act ? n->value : NULL, n->epi_act, n->epi_alpha, n->grad, rows, c, db);
}
