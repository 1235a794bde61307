/* Matrix multiply by a kernel and bias add: the two halves of Dense. The multiply applies to
 * the last axis, so any leading example axes act as more rows. */
#include "op_util.h"
#include "epilogue.h"
#include "quant_ops.h"
#include "../backend/cpu/parallel.h"

/* y[rows, out] = x[rows, in] · W[in, out] */
static int matmul_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                        nnc_shape *out, int *batched, char *err, size_t n) {
    (void)a;
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]), *w = CNODE(m, in[1]);
    if (x->shape.rank < 1 || w->shape.rank != 2 || op_last_dim(x) != w->shape.dim[0]) {
        char xs[64], ws[64];
        nnc_shape_str(&x->shape, x->batched, xs, sizeof xs);
        nnc_shape_str(&w->shape, 0, ws, sizeof ws);
        snprintf(err, n, "matmul: input %s does not fit kernel %s", xs, ws);
        return -1;
    }
    *out = x->shape;
    out->dim[out->rank - 1] = w->shape.dim[1];
    *batched = x->batched;
    return 0;
}

static void matmul_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *w = NODE(e, y->in[1]);
    int rows = (int)op_rows(x, e->batch), k = w->shape.dim[0], n = w->shape.dim[1];
    if (y->qlayer >= 0) {
        nnc_qmatmul_forward(e, id);
        return;
    }
    nnc_epilogue epi;
    nnc_gemm_par_ex(e->m->pool, 0, 0, rows, n, k, x->value, k, w->value, n, 0.0f, y->value, n,
                    nnc_epilogue_prepare(e->m, id, &epi));
#ifdef NNC_INJECT_NAN
    /* A deliberately wrong build (cmake -DNNC_INJECT_NAN=ON, .ci/nan_check.sh): one NaN in every
     * Dense output, which the gradient checks, the fixtures and the examples must all catch. */
    if (rows > 0 && n > 0) y->value[0] = __builtin_nanf("");
#endif
}

/* dx += dy · Wᵀ ;  dW += xᵀ · dy  (dy after the fused activation and bias, if any) */
static void matmul_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *w = NODE(e, y->in[1]);
    int rows = (int)op_rows(x, e->batch), k = w->shape.dim[0], n = w->shape.dim[1];
    nnc_epilogue_backward(e, id);
    if (x->needs_grad)
        nnc_gemm_par(e->m->pool, 0, 1, rows, k, n, y->grad, n, w->value, n,
                     x->grad_overwrite == id ? 0.0f : 1.0f, x->grad, k);
    if (w->needs_grad) nnc_gemm_par(e->m->pool, 1, 0, k, n, rows, x->value, k, y->grad, n, 1.0f, w->grad, n);
}

/* The fused bias's partial sums. */
static size_t matmul_work(const nnc_model *m, int id, int batch) {
    if (CNODE(m, id)->qlayer >= 0) return nnc_qmatmul_work(m, id, batch); /* inference only */
    return CNODE(m, id)->epi_bias >= 0 ? nnc_bias_grad_work((size_t)op_last_dim(CNODE(m, id))) : 0;
}

const nnc_op_def nnc_op_matmul = {"matmul", matmul_infer, matmul_forward, matmul_backward, NULL, matmul_work};

/* y[rows, c] = x[rows, c] + b[c] */
static int bias_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                      nnc_shape *out, int *batched, char *err, size_t n) {
    (void)a;
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]), *b = CNODE(m, in[1]);
    if (x->shape.rank < 1 || b->shape.rank != 1 || op_last_dim(x) != b->shape.dim[0]) {
        snprintf(err, n, "bias_add: bias of %d values does not fit %d features",
                 b->shape.rank ? b->shape.dim[0] : 0, op_last_dim(x));
        return -1;
    }
    *out = x->shape;
    *batched = x->batched;
    return 0;
}

static void bias_forward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *b = NODE(e, y->in[1]);
    size_t rows = op_rows(x, e->batch), c = (size_t)op_last_dim(x);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < c; j++) y->value[r * c + j] = x->value[r * c + j] + b->value[j];
}

/* dx += dy (or = when this op writes dx first: grad_overwrite) ;  db += Σ_rows dy */
static void bias_backward(const nnc_exec *e, int id) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]), *b = NODE(e, y->in[1]);
    size_t rows = op_rows(x, e->batch), c = (size_t)op_last_dim(x);
    if (x->needs_grad) op_grad_flow(x->grad, y->grad, rows * c, x->grad_overwrite == id);
    if (b->needs_grad) nnc_bias_grad(e, y->grad, rows, c, b->grad);
}

static size_t bias_work(const nnc_model *m, int id, int batch) {
    (void)batch;
    return nnc_bias_grad_work((size_t)op_last_dim(CNODE(m, id)));
}

const nnc_op_def nnc_op_bias_add = {"bias_add", bias_infer, bias_forward, bias_backward, NULL, bias_work};
