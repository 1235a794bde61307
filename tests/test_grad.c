/* Gradient checks. Every op row's backward against central differences of its forward
 * (J = Σ r·out for a fixed random r, summed in double), every loss against differences of its
 * value, and whole models along a random direction: ⟨∇L, δ⟩ vs (L(w+δ) − L(w−δ)) / 2. Inputs
 * near an activation's kink are moved away, since the derivative is not defined there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"
#include "compare.h"
#include "core/layers_impl.h"
#include "core/rng.h"
#include "train/train_impl.h"
#include "direction_check.h"

#define GB 3 /* batch of the op checks */

typedef struct {
    nnc_model *m;
    int in[6], n_in, out;
    float *bufs[24];
    int nbufs;
    int training; /* the exec mode of the checked passes */
    double r[4096];
} op_case;

static float *buf(op_case *c, size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    c->bufs[c->nbufs++] = p;
    return p;
}

static int add_input(op_case *c, int rank, const int *dims, int batched) {
    nnc_shape s = {rank, {0}};
    for (int i = 0; i < rank; i++) s.dim[i] = dims[i];
    int id = nnc_graph_node(c->m, batched ? NNC_OP_INPUT : NNC_OP_PARAM, NULL, 0, &s, batched);
    c->in[c->n_in++] = id;
    return id;
}

/* Allocates buffers, fills inputs with values away from kinks. */
static void setup(op_case *c, nnc_rng *rng, double lo, double hi, const double *kinks, int nk,
                  double margin) {
    nnc_model *m = c->m;
    for (int i = 0; i < m->n_nodes; i++) {
        nnc_node_rec *n = &m->nodes[i];
        size_t sz = nnc_node_numel(m, i, GB);
        n->value = buf(c, sz);
        n->grad = buf(c, sz);
        const nnc_op_def *d = nnc_op_table[n->op];
        if (d->aux_size && d->aux_size(m, i, GB)) n->aux = buf(c, d->aux_size(m, i, GB));
        if (d->work_size) m->work = buf(c, d->work_size(m, i, GB));
        n->needs_grad = 1;
        n->live = 1;
        if (i == c->out) continue;
        for (size_t k = 0; k < sz; k++) {
            double v;
            int bad;
            do {
                v = lo + (hi - lo) * nnc_rng_uniform(rng);
                bad = 0;
                for (int q = 0; q < nk; q++) bad |= fabs(v - kinks[q]) < margin;
            } while (bad);
            n->value[k] = (float)v;
        }
    }
    size_t on = nnc_node_numel(m, c->out, GB);
    for (size_t k = 0; k < on; k++) c->r[k] = nnc_rng_uniform(rng) * 2.0 - 1.0;
}

static double objective(op_case *c) {
    nnc_exec e = {c->m, GB, c->training};
    nnc_op_table[c->m->nodes[c->out].op]->forward(&e, c->out);
    size_t on = nnc_node_numel(c->m, c->out, GB);
    double j = 0.0;
    for (size_t k = 0; k < on; k++) j += c->r[k] * (double)c->m->nodes[c->out].value[k];
    return j;
}

/* Compares analytic and numerical gradients of every input element. */
static void check_op(test_run *r, op_case *c, float eps, double atol, double rtol) {
    nnc_model *m = c->m;
    nnc_exec e = {m, GB, c->training};
    objective(c);
    nnc_node_rec *o = &m->nodes[c->out];
    size_t on = nnc_node_numel(m, c->out, GB);
    for (size_t k = 0; k < on; k++) o->grad[k] = (float)c->r[k];
    for (int i = 0; i < c->n_in; i++)
        memset(m->nodes[c->in[i]].grad, 0, nnc_node_numel(m, c->in[i], GB) * sizeof(float));
    nnc_op_table[o->op]->backward(&e, c->out);
    double worst = 0.0;
    for (int i = 0; i < c->n_in; i++) {
        nnc_node_rec *x = &m->nodes[c->in[i]];
        if (!x->needs_grad) continue; /* state such as moving statistics: no gradient */
        size_t n = nnc_node_numel(m, c->in[i], GB);
        double *num = malloc(n * sizeof(double));
        if (!CHECK(r, num != NULL, "out of memory")) return;
        for (size_t k = 0; k < n; k++) {
            float keep = x->value[k];
            x->value[k] = keep + eps;
            double jp = objective(c);
            x->value[k] = keep - eps;
            double jm = objective(c);
            x->value[k] = keep;
            num[k] = (jp - jm) / (2.0 * (double)eps);
        }
        CHECK_NEAR_F32_F64(r, x->grad, n, num, n, atol, rtol, &worst, "input %d: backward vs numerical", i);
        free(num);
    }
    t_info(r, "max |backward - numerical| = %.3g (tolerance %.1g + %.1g*|num|)", worst, atol, rtol);
}

static void free_case(op_case *c) {
    for (int i = 0; i < c->nbufs; i++) free(c->bufs[i]);
    c->m->work = NULL; /* owned by the case, not the model */
    nnc_model_free(c->m);
}

/* One op check: inputs (rank/dims/batched each), op, attr. */
static void op_check(test_run *r, const char *name, nnc_op op, nnc_op_attr attr, int n_in,
                     const int ranks[], const int dims[][4], const int batched[], double lo,
                     double hi, const double *kinks, int nk) {
    if (!t_begin(r, "grad/op/%s", name)) return;
    op_case c;
    memset(&c, 0, sizeof c);
    c.m = nnc_model_new(NULL);
    for (int i = 0; i < n_in; i++) add_input(&c, ranks[i], dims[i], batched[i]);
    c.out = nnc_graph_op(c.m, op, c.in, n_in, attr);
    if (!CHECK(r, c.out >= 0, "shape inference failed: %s", nnc_last_error(c.m))) {
        free_case(&c);
        t_end(r);
        return;
    }
    nnc_rng rng;
    nnc_rng_seed(&rng, 42);
    setup(&c, &rng, lo, hi, kinks, nk, 0.05);
    check_op(r, &c, 1e-2f, 2e-3, 2e-2);
    free_case(&c);
    t_end(r);
}

/* Ops with more inputs or a training mode: x batched with the given example shape, then
 * parameters; `training` 2 reuses the dropout masks drawn by a first training pass. */
static void op_check_ex(test_run *r, const char *name, nnc_op op, nnc_op_attr attr, int xrank,
                        const int *xdims, int nparams, const int (*pshape)[5], int training,
                        double lo, double hi) {
    if (!t_begin(r, "grad/op/%s", name)) return;
    op_case c;
    memset(&c, 0, sizeof c);
    c.m = nnc_model_new(NULL);
    add_input(&c, xrank, xdims, 1);
    for (int i = 0; i < nparams; i++) add_input(&c, pshape[i][0], pshape[i] + 1, 0);
    c.out = nnc_graph_op(c.m, op, c.in, c.n_in, attr);
    if (!CHECK(r, c.out >= 0, "shape inference failed: %s", nnc_last_error(c.m))) {
        free_case(&c);
        t_end(r);
        return;
    }
    nnc_rng rng;
    nnc_rng_seed(&rng, 43);
    setup(&c, &rng, lo, hi, NULL, 0, 0.0);
    if (op == NNC_OP_MAX_POOL || op == NNC_OP_GLOBAL_MAX) {
        /* Distinct values 0.1 apart: no window holds a tie within ±ε. */
        nnc_node_rec *x = &c.m->nodes[c.in[0]];
        size_t n = nnc_node_numel(c.m, c.in[0], GB);
        for (size_t i = 0; i < n; i++) x->value[i] = (float)(0.1 * (double)i - 0.05 * (double)n);
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)nnc_rng_below(&rng, i + 1);
            float t = x->value[i];
            x->value[i] = x->value[j];
            x->value[j] = t;
        }
    }
    if (op == NNC_OP_BATCH_NORM) /* moving statistics are state, not trained */
        c.m->nodes[c.in[c.n_in - 1]].needs_grad = c.m->nodes[c.in[c.n_in - 2]].needs_grad = 0;
    if (op == NNC_OP_NORMALIZE) {
        /* The statistics are state set by adapt, never trained: the gradient goes to x only.
         * A mean off zero and a spread of variances, one of them 0 so that the divisor's floor
         * (ε, not sqrt(0)) is on the checked path. */
        nnc_node_rec *mu = &c.m->nodes[c.in[1]], *var = &c.m->nodes[c.in[2]];
        size_t nf = nnc_node_numel(c.m, c.in[1], GB);
        for (size_t j = 0; j < nf; j++) {
            mu->value[j] = 0.7f - 0.45f * (float)j;
            var->value[j] = j == 1 ? 0.0f : 0.25f + 1.5f * (float)j;
        }
        mu->needs_grad = var->needs_grad = 0;
    }
    c.training = 1;
    if (training == 2) objective(&c); /* draws the masks once */
    c.training = training;
    check_op(r, &c, 1e-2f, 2e-3, 2e-2);
    if (op == NNC_OP_NORMALIZE)
        t_info(r, "feature 1 divides by the floor 1e-7: its gradients are ~1e7, hence the absolute maximum");
    free_case(&c);
    t_end(r);
}

static nnc_op_attr window(int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pb, int pl, int pr) {
    nnc_op_attr a = {0};
    a.win.kh = kh, a.win.kw = kw, a.win.sh = sh, a.win.sw = sw, a.win.dh = dh, a.win.dw = dw;
    a.win.pt = pt, a.win.pb = pb, a.win.pl = pl, a.win.pr = pr;
    return a;
}

/* The convolution family (layers-b): groups, depthwise, causal and transposed convolutions,
 * upsampling, cropping, 1-D padding and pooling, global pooling with keepdims. */
static void conv_family_checks(test_run *r) {
    const int x554[3] = {5, 5, 4}, x553[3] = {5, 5, 3}, x73[2] = {7, 3}, x332[3] = {3, 3, 2}, x322[3] = {3, 2, 2};
    const int x342[3] = {3, 4, 2}, x552[3] = {5, 5, 2};
    const int kg[1][5] = {{4, 3, 3, 2, 6}}, kdw[1][5] = {{4, 3, 3, 3, 2}}, kpg[1][5] = {{4, 1, 1, 2, 4}};
    const int kc1[1][5] = {{3, 3, 3, 2}}, kt[1][5] = {{4, 3, 3, 4, 2}};
    nnc_op_attr a = window(3, 3, 2, 2, 1, 1, 1, 1, 1, 1);
    a.win.groups = 2;
    op_check_ex(r, "conv2d_groups2_same_stride2", NNC_OP_CONV, a, 3, x554, 1, kg, 1, -1, 1);
    a = window(1, 1, 1, 1, 1, 1, 0, 0, 0, 0);
    a.win.groups = 2;
    op_check_ex(r, "conv2d_groups2_pointwise", NNC_OP_CONV, a, 3, x554, 1, kpg, 1, -1, 1);
    a = window(3, 3, 1, 1, 2, 2, 2, 2, 2, 2);
    a.win.groups = 3, a.win.depthwise = 1;
    op_check_ex(r, "depthwise_conv2d_dilation2_same", NNC_OP_CONV, a, 3, x553, 1, kdw, 1, -1, 1);
    a = window(3, 3, 2, 2, 1, 1, 0, 1, 0, 1);
    a.win.groups = 3, a.win.depthwise = 1;
    op_check_ex(r, "depthwise_conv2d_stride2_same", NNC_OP_CONV, a, 3, x553, 1, kdw, 1, -1, 1);
    op_check_ex(r, "conv1d_causal_dilation2", NNC_OP_CONV, window(1, 3, 1, 1, 1, 2, 0, 0, 4, 0), 2, x73, 1, kc1, 1, -1, 1);
    a = window(3, 3, 2, 2, 1, 1, 0, 0, 0, 0);
    a.target.rank = 2, a.target.dim[0] = a.target.dim[1] = 7;
    op_check_ex(r, "conv2d_transpose_valid_stride2", NNC_OP_CONV_TRANSPOSE, a, 3, x332, 1, kt, 1, -1, 1);
    a = window(3, 3, 2, 3, 1, 1, 0, 1, 0, 0); /* 'same', output_padding (1, 2): 6x6 */
    a.target.rank = 2, a.target.dim[0] = a.target.dim[1] = 6;
    op_check_ex(r, "conv2d_transpose_same_output_padding", NNC_OP_CONV_TRANSPOSE, a, 3, x322, 1, kt, 1, -1, 1);
    a = window(2, 3, 0, 0, 0, 0, 0, 0, 0, 0);
    op_check_ex(r, "up_sampling2d_nearest", NNC_OP_UPSAMPLE, a, 3, x322, 0, NULL, 1, -1, 1);
    a.bilinear = 1;
    op_check_ex(r, "up_sampling2d_bilinear", NNC_OP_UPSAMPLE, a, 3, x342, 0, NULL, 1, -1, 1);
    op_check_ex(r, "up_sampling1d", NNC_OP_UPSAMPLE, window(1, 2, 0, 0, 0, 0, 0, 0, 0, 0), 2, x73, 0, NULL, 1, -1, 1);
    op_check_ex(r, "cropping2d", NNC_OP_CROP, window(0, 0, 1, 1, 1, 1, 1, 0, 2, 1), 3, x552, 0, NULL, 1, -1, 1);
    op_check_ex(r, "cropping1d", NNC_OP_CROP, window(0, 0, 1, 1, 1, 1, 0, 0, 2, 1), 2, x73, 0, NULL, 1, -1, 1);
    op_check_ex(r, "zero_padding1d", NNC_OP_ZERO_PAD, window(0, 0, 1, 1, 1, 1, 0, 0, 1, 2), 2, x73, 0, NULL, 1, -1, 1);
    op_check_ex(r, "max_pooling1d_same", NNC_OP_MAX_POOL, window(1, 3, 1, 2, 1, 1, 0, 0, 1, 1), 2, x73, 0, NULL, 1, -4, 4);
    op_check_ex(r, "average_pooling1d_same", NNC_OP_AVG_POOL, window(1, 3, 1, 2, 1, 1, 0, 0, 1, 1), 2, x73, 0, NULL, 1, -1, 1);
    nnc_op_attr keep = {0};
    keep.keepdims = 1;
    op_check_ex(r, "global_average_pooling1d_keepdims", NNC_OP_GLOBAL_AVG, keep, 2, x73, 0, NULL, 1, -1, 1);
    op_check_ex(r, "global_max_pooling2d_keepdims", NNC_OP_GLOBAL_MAX, keep, 3, x552, 0, NULL, 1, -4, 4);
}

static void cnn_op_checks(test_run *r) {
    const int x552[3] = {5, 5, 2}, x662[3] = {6, 6, 2}, x73[2] = {7, 3};
    const int k3323[1][5] = {{4, 3, 3, 2, 3}}, k1123[1][5] = {{4, 1, 1, 2, 3}}, k233[1][5] = {{3, 2, 3, 3}};
    op_check_ex(r, "conv2d_valid", NNC_OP_CONV, window(3, 3, 1, 1, 1, 1, 0, 0, 0, 0), 3, x552, 1, k3323, 1, -1, 1);
    op_check_ex(r, "conv2d_same_stride2", NNC_OP_CONV, window(3, 3, 2, 2, 1, 1, 1, 1, 1, 1), 3, x552, 1, k3323, 1, -1, 1);
    op_check_ex(r, "conv2d_same_stride2_odd_padding", NNC_OP_CONV, window(3, 3, 2, 2, 1, 1, 0, 1, 0, 1), 3, x662, 1, k3323, 1, -1, 1);
    op_check_ex(r, "conv2d_dilation2", NNC_OP_CONV, window(3, 3, 1, 1, 2, 2, 0, 0, 0, 0), 3, x552, 1, k3323, 1, -1, 1);
    op_check_ex(r, "conv2d_pointwise", NNC_OP_CONV, window(1, 1, 1, 1, 1, 1, 0, 0, 0, 0), 3, x552, 1, k1123, 1, -1, 1);
    op_check_ex(r, "conv1d_stride2", NNC_OP_CONV, window(1, 2, 1, 2, 1, 1, 0, 0, 0, 0), 2, x73, 1, k233, 1, -1, 1);
    /* Pooling: values spread apart so that no window holds a near tie for its maximum. */
    op_check_ex(r, "max_pooling2d", NNC_OP_MAX_POOL, window(2, 2, 2, 2, 1, 1, 0, 0, 0, 0), 3, x552, 0, NULL, 1, -4, 4);
    op_check_ex(r, "max_pooling2d_same", NNC_OP_MAX_POOL, window(2, 2, 2, 2, 1, 1, 0, 1, 0, 1), 3, x552, 0, NULL, 1, -4, 4);
    op_check_ex(r, "average_pooling2d", NNC_OP_AVG_POOL, window(2, 2, 2, 2, 1, 1, 0, 0, 0, 0), 3, x552, 0, NULL, 1, -1, 1);
    op_check_ex(r, "average_pooling2d_same", NNC_OP_AVG_POOL, window(3, 3, 2, 2, 1, 1, 1, 1, 1, 1), 3, x552, 0, NULL, 1, -1, 1);
    op_check_ex(r, "global_average_pooling2d", NNC_OP_GLOBAL_AVG, (nnc_op_attr){0}, 3, x552, 0, NULL, 1, -1, 1);
    op_check_ex(r, "global_max_pooling2d", NNC_OP_GLOBAL_MAX, (nnc_op_attr){0}, 3, x552, 0, NULL, 1, -4, 4);
    nnc_op_attr flat = {0};
    flat.target.rank = 1;
    flat.target.dim[0] = 50;
    op_check_ex(r, "reshape", NNC_OP_RESHAPE, flat, 3, x552, 0, NULL, 1, -1, 1);
    op_check_ex(r, "zero_padding2d", NNC_OP_ZERO_PAD, window(0, 0, 1, 1, 1, 1, 1, 2, 0, 1), 3, x552, 0, NULL, 1, -1, 1);
    nnc_op_attr drop = {0};
    drop.rate = 0.4f;
    op_check_ex(r, "dropout_fixed_mask", NNC_OP_DROPOUT, drop, 3, x552, 0, NULL, 2, -1, 1);
    const int bnp[4][5] = {{1, 2}, {1, 2}, {1, 2}, {1, 2}};
    nnc_op_attr bn = {0};
    bn.momentum = 0.99f, bn.eps = 1e-3f, bn.center = 1, bn.scale_on = 1;
    op_check_ex(r, "batch_normalization_training", NNC_OP_BATCH_NORM, bn, 3, x552, 4, bnp, 1, -1, 1);
    op_check_ex(r, "batch_normalization_inference", NNC_OP_BATCH_NORM, bn, 3, x552, 4, bnp, 0, 0.2, 1);
    const int x34[2] = {3, 4}, stats[2][5] = {{1, 4}, {1, 4}};
    op_check_ex(r, "normalization", NNC_OP_NORMALIZE, (nnc_op_attr){0}, 2, x34, 2, stats, 1, -2, 2);
    conv_family_checks(r);
}

static void op_checks(test_run *r) {
    nnc_op_attr none = {0};
    {
        int ranks[] = {1, 2}, b[] = {1, 0}, d[][4] = {{4}, {4, 3}};
        op_check(r, "matmul", NNC_OP_MATMUL, none, 2, ranks, d, b, -1, 1, NULL, 0);
    }
    {
        int ranks[] = {2, 2}, b[] = {1, 0}, d[][4] = {{2, 4}, {4, 3}};
        op_check(r, "matmul_rank3", NNC_OP_MATMUL, none, 2, ranks, d, b, -1, 1, NULL, 0);
    }
    {
        int ranks[] = {1, 1}, b[] = {1, 0}, d[][4] = {{5}, {5}};
        op_check(r, "bias_add", NNC_OP_BIAS_ADD, none, 2, ranks, d, b, -1, 1, NULL, 0);
    }
    {
        int ranks[] = {2}, b[] = {1}, d[][4] = {{3, 4}};
        op_check(r, "rescaling", NNC_OP_AFFINE, (nnc_op_attr){.scale = -1.7f, .offset = 0.3f}, 1,
                 ranks, d, b, -1, 1, NULL, 0);
    }
    static const struct { const char *name; nnc_op op; } bins[] = {
        {"add", NNC_OP_ADD}, {"subtract", NNC_OP_SUB}, {"multiply", NNC_OP_MUL}};
    for (int i = 0; i < 3; i++) {
        char nm[64];
        int ranks[] = {2, 2}, b[] = {1, 1}, d[][4] = {{3, 4}, {3, 4}};
        snprintf(nm, sizeof nm, "%s", bins[i].name);
        op_check(r, nm, bins[i].op, none, 2, ranks, d, b, -1, 1, NULL, 0);
        int ranks2[] = {2, 1}, b2[] = {1, 0}, d2[][4] = {{3, 4}, {4}};
        snprintf(nm, sizeof nm, "%s_broadcast_param", bins[i].name);
        op_check(r, nm, bins[i].op, none, 2, ranks2, d2, b2, -1, 1, NULL, 0);
        int ranks3[] = {2, 2}, b3[] = {1, 1}, d3[][4] = {{3, 1}, {1, 4}};
        snprintf(nm, sizeof nm, "%s_broadcast_both", bins[i].name);
        op_check(r, nm, bins[i].op, none, 2, ranks3, d3, b3, -1, 1, NULL, 0);
    }
    for (int ax = 0; ax < 2; ax++) {
        char nm[64];
        int ranks[] = {2}, b[] = {1}, d[][4] = {{3, 4}};
        snprintf(nm, sizeof nm, "sum_axis%d", ax + 1);
        op_check(r, nm, NNC_OP_SUM, (nnc_op_attr){.axis = ax}, 1, ranks, d, b, -1, 1, NULL, 0);
        snprintf(nm, sizeof nm, "mean_axis%d", ax + 1);
        op_check(r, nm, NNC_OP_MEAN, (nnc_op_attr){.axis = ax}, 1, ranks, d, b, -1, 1, NULL, 0);
        int ranks3[] = {2, 2, 2}, b3[] = {1, 1, 1}, d3[][4] = {{2, 3}, {2, 3}, {2, 3}};
        d3[1][ax] = 4;
        snprintf(nm, sizeof nm, "concatenate_axis%d", ax + 1);
        op_check(r, nm, NNC_OP_CONCAT, (nnc_op_attr){.axis = ax}, 3, ranks3, d3, b3, -1, 1, NULL, 0);
    }
    /* Each activation away from its kinks. */
    static const double kinks[] = {0.0, -3.0, 3.0};
    for (int a = 0; a < NNC_ACT_COUNT; a++) {
        char nm[64];
        int ranks[] = {2}, b[] = {1}, d[][4] = {{2, 5}};
        snprintf(nm, sizeof nm, "%s", nnc_activation_name((nnc_activation)a));
        nnc_op op = a == NNC_ACT_SOFTMAX ? NNC_OP_SOFTMAX : NNC_OP_ACT;
        op_check(r, nm, op, (nnc_op_attr){.act = (nnc_activation)a, .alpha = 0.2f}, 1, ranks, d, b,
                 -4, 4, kinks, 3);
    }
}

/* Each loss against central differences of its own value. */
static void loss_checks(test_run *r) {
    static const struct {
        nnc_loss_kind kind;
        int logits;
        const char *tag;
    } cases[] = {
        {NNC_LOSS_MEAN_SQUARED_ERROR, 0, "mse"},
        {NNC_LOSS_MEAN_ABSOLUTE_ERROR, 0, "mae"},
        {NNC_LOSS_HUBER, 0, "huber"},
        {NNC_LOSS_BINARY_CROSSENTROPY, 1, "bce_logits"},
        {NNC_LOSS_BINARY_CROSSENTROPY, 0, "bce_probs"},
        {NNC_LOSS_CATEGORICAL_CROSSENTROPY, 1, "cce_logits"},
        {NNC_LOSS_CATEGORICAL_CROSSENTROPY, 0, "cce_probs"},
        {NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1, "scce_logits"},
        {NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0, "scce_probs"},
    };
    enum { N = 4, K = 3 };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        if (!t_begin(r, "grad/loss/%s", cases[c].tag)) continue;
        nnc_rng rng;
        nnc_rng_seed(&rng, 7 + c);
        nnc_loss L = nnc_loss_default(cases[c].kind);
        float v[N * K], y[N * K], g[N * K];
        int sparse = cases[c].kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
        int ce = cases[c].kind >= NNC_LOSS_BINARY_CROSSENTROPY;
        for (int i = 0; i < N * K; i++) {
            double u = nnc_rng_uniform(&rng);
            /* probabilities in (0.1, 0.9), logits and regression values in (-2, 2), with
             * regression errors kept away from 0 and from Huber's delta */
            v[i] = ce && !cases[c].logits ? (float)(0.1 + 0.8 * u) : (float)(4.0 * u - 2.0);
            y[i] = (float)(nnc_rng_uniform(&rng) > 0.5);
            if (!ce) {
                double e = 0.3 + 0.5 * nnc_rng_uniform(&rng) + (i % 2) * 0.9;
                y[i] = v[i] - (float)(i % 4 < 2 ? e : -e);
            }
        }
        if (sparse)
            for (int i = 0; i < N; i++) y[i] = (float)(i % K);
        if (cases[c].kind == NNC_LOSS_CATEGORICAL_CROSSENTROPY)
            for (int i = 0; i < N; i++)
                for (int j = 0; j < K; j++) y[i * K + j] = (float)(j == (i + 1) % K);
        nnc_loss_compute(&L, cases[c].logits, v, y, N, K, g);
        double num[N * K], worst = 0.0;
        const float eps = 1e-3f;
        for (int i = 0; i < N * K; i++) {
            float keep = v[i];
            v[i] = keep + eps;
            double lp = nnc_loss_compute(&L, cases[c].logits, v, y, N, K, NULL);
            v[i] = keep - eps;
            double lm = nnc_loss_compute(&L, cases[c].logits, v, y, N, K, NULL);
            v[i] = keep;
            num[i] = (lp - lm) / (2.0 * (double)eps);
        }
        CHECK_NEAR_F32_F64(r, g, N * K, num, N * K, 1e-4, 1e-3, &worst, "gradient vs numerical");
        t_info(r, "max |grad - numerical| = %.3g", worst);
        t_end(r);
    }
}

/* A whole model: ⟨∇L, δ⟩ against (L(w + δ) − L(w − δ)) / 2 for a random δ. */
static void model_check(test_run *r, const char *tag, nnc_activation hidden, nnc_loss_kind lk,
                        nnc_activation out_act, int k) {
    if (!t_begin(r, "grad/model/%s", tag)) return;
    enum { N = 8, F = 6 };
    nnc_model *m = nnc_model_new(NULL);
    nnc_input(m, (int[]){F}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(7);
    d.activation = hidden;
    nnc_node h = nnc_dense(m, NNC_PREV, &d);
    nnc_dense_opts d2 = nnc_dense_opts_default(5);
    d2.activation = NNC_ACT_SIGMOID;
    nnc_node h2 = nnc_dense(m, h, &d2);
    nnc_node cat = nnc_concatenate(m, (nnc_node[]){h, h2}, 2, -1, NULL);
    nnc_dense_opts d3 = nnc_dense_opts_default(k);
    d3.activation = out_act;
    nnc_dense(m, cat, &d3);
    nnc_compile_opts co = nnc_compile_opts_default();
    co.loss = nnc_loss_default(lk);
    if (CHECK(r, nnc_compile(m, &co) == NNC_OK, "compile: %s", nnc_last_error(m))) {
        nnc_rng rng;
        nnc_rng_seed(&rng, 99);
        float x[N * F], y[N * 4];
        for (int i = 0; i < N * F; i++) x[i] = (float)(nnc_rng_normal(&rng));
        for (int i = 0; i < N * k; i++) y[i] = lk == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? (float)(i % k) : (float)(nnc_rng_uniform(&rng) > 0.5);
        double worst = direction_check(r, m, x, y, N, &rng, 5, 2e-2);
        t_info(r, "max |a-b|/(|a|+|b|) = %.3g over 5 random directions", worst);
    }
    nnc_model_free(m);
    t_end(r);
}

void suite_grad(test_run *r);
void suite_grad(test_run *r) {
    op_checks(r);
    cnn_op_checks(r);
    loss_checks(r);
    model_check(r, "tanh_softmax_scce", NNC_ACT_TANH, NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NNC_ACT_SOFTMAX, 4);
    model_check(r, "gelu_sigmoid_bce", NNC_ACT_GELU, NNC_LOSS_BINARY_CROSSENTROPY, NNC_ACT_SIGMOID, 3);
    model_check(r, "swish_linear_mse", NNC_ACT_SWISH, NNC_LOSS_MEAN_SQUARED_ERROR, NNC_ACT_LINEAR, 2);
}
