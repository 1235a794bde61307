/* LAYER_NORM: Keras's LayerNormalization over consecutive example axes (axis .. axis + count −
 * 1), the same in training and inference. Each group (one example, one position on the other
 * axes) of N values is normalized with its own statistics (keras.ops.layer_normalization: the
 * biased variance), then scaled and shifted per position on the normalized axes:
 *   μ = Σx/N,  σ² = Σ(x − μ)²/N,  x̂ = (x − μ)/sqrt(σ² + ε),  y = γ·x̂ + β.
 * The statistics go in double, two passes (mean, then squared deviations). in: x, then gamma
 * (scale_on), then beta (center), each [the normalized axes' sizes]. */
#include <math.h>
#include "op_util.h"

static void ln_view(const nnc_node_rec *x, const nnc_op_attr *a, int batch, size_t *outer, size_t *len,
                    size_t *inner) {
    size_t o = x->batched ? (size_t)batch : 1, l = 1, in = 1;
    for (int i = 0; i < x->shape.rank; i++) {
        size_t d = (size_t)x->shape.dim[i];
        if (i < a->axis) o *= d;
        else if (i < a->axis + a->axis_count) l *= d;
        else in *= d;
    }
    *outer = o, *len = l, *inner = in;
}

static int ln_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a, nnc_shape *out,
                    int *batched, char *err, size_t n) {
    const nnc_node_rec *x = CNODE(m, in[0]);
    if (!x->batched || a->axis < 0 || a->axis_count < 1 || a->axis + a->axis_count > x->shape.rank ||
        n_in != 1 + (a->scale_on != 0) + (a->center != 0)) {
        snprintf(err, n, "layer normalization axes %d..%d are not axes of an example of rank %d", a->axis + 1,
                 a->axis + a->axis_count, x->shape.rank);
        return -1;
    }
    for (int k = 1; k < n_in; k++) {
        const nnc_node_rec *p = CNODE(m, in[k]);
        int ok = !p->batched && p->shape.rank == a->axis_count;
        for (int i = 0; ok && i < a->axis_count; i++) ok = p->shape.dim[i] == x->shape.dim[a->axis + i];
        if (!ok) {
            snprintf(err, n, "layer normalization: a variable's shape does not match the normalized axes");
            return -1;
        }
    }
    *out = x->shape;
    *batched = 1;
    return 0;
}

/* aux: each group's mean, then its 1/sqrt(σ² + ε) */
static size_t ln_aux(const nnc_model *m, int id, int batch) {
    const nnc_node_rec *y = CNODE(m, id);
    size_t outer, len, inner;
    ln_view(y, &y->attr, batch, &outer, &len, &inner);
    return 2 * outer * inner;
}

typedef struct {
    const float *gamma, *beta; /* NULL when absent */
    float *dgamma, *dbeta;     /* NULL when absent or not trained */
} ln_vars;

static ln_vars ln_vars_of(const nnc_exec *e, const nnc_node_rec *y) {
    ln_vars v = {NULL, NULL, NULL, NULL};
    int k = 1;
    if (y->attr.scale_on) {
        nnc_node_rec *g = NODE(e, y->in[k++]);
        v.gamma = g->value;
        v.dgamma = g->needs_grad ? g->grad : NULL;
    }
    if (y->attr.center) {
        nnc_node_rec *b = NODE(e, y->in[k]);
        v.beta = b->value;
        v.dbeta = b->needs_grad ? b->grad : NULL;
    }
    return v;
}

static void ln_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const ln_vars v = ln_vars_of(e, y);
    size_t outer, len, inner;
    ln_view(x, &y->attr, e->batch, &outer, &len, &inner);
    float *mean = y->aux, *inv = y->aux + outer * inner;
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const size_t base = o * len * inner + i, grp = o * inner + i;
            const float *xv = x->value + base;
            float *yv = y->value + base;
            double s = 0.0, sq = 0.0;
            for (size_t l = 0; l < len; l++) s += (double)xv[l * inner];
            const double mu = s / (double)len;
            for (size_t l = 0; l < len; l++) sq += ((double)xv[l * inner] - mu) * ((double)xv[l * inner] - mu);
            mean[grp] = (float)mu;
            inv[grp] = (float)(1.0 / sqrt(sq / (double)len + (double)y->attr.eps));
            for (size_t l = 0; l < len; l++) {
                float xh = (xv[l * inner] - mean[grp]) * inv[grp];
                yv[l * inner] = (v.gamma ? v.gamma[l] : 1.0f) * xh + (v.beta ? v.beta[l] : 0.0f);
            }
        }
}

/* Per group, with d = dy·γ:  dx = inv/N·(N·d − Σd − x̂·Σ d·x̂);  dγ += Σ dy·x̂ and dβ += Σ dy over
 * the groups, in group order */
static void ln_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const ln_vars v = ln_vars_of(e, y);
    size_t outer, len, inner;
    ln_view(x, &y->attr, e->batch, &outer, &len, &inner);
    const float *mean = y->aux, *inv = y->aux + outer * inner, N = (float)len;
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const size_t base = o * len * inner + i, grp = o * inner + i;
            const float *xv = x->value + base, *g = y->grad + base;
            double sd = 0.0, sdx = 0.0;
            for (size_t l = 0; l < len; l++) {
                const float xh = (xv[l * inner] - mean[grp]) * inv[grp], d = g[l * inner] * (v.gamma ? v.gamma[l] : 1.0f);
                sd += (double)d;
                sdx += (double)d * (double)xh;
                if (v.dgamma) v.dgamma[l] += g[l * inner] * xh;
                if (v.dbeta) v.dbeta[l] += g[l * inner];
            }
            if (!x->needs_grad) continue;
            float *gx = x->grad + base;
            for (size_t l = 0; l < len; l++) {
                const float xh = (xv[l * inner] - mean[grp]) * inv[grp], d = g[l * inner] * (v.gamma ? v.gamma[l] : 1.0f);
                gx[l * inner] += inv[grp] / N * (N * d - (float)sd - xh * (float)sdx);
            }
        }
}

const nnc_op_def nnc_op_layer_norm = {"layer_norm", ln_infer, ln_forward, ln_backward, ln_aux, NULL};
