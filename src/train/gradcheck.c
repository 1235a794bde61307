/* The course's ε derivative check (nnc_gradcheck). For every trainable variable it compares
 * the backpropagation gradient of the batch loss J with the central difference
 * (J(w + ε) − J(w − ε)) / 2ε. J is summed in double; ε is chosen per parameter
 * (1e-3·max(1, |w|)); the tolerance combines a relative bound with the float32 round-off that
 * the difference itself carries. A parameter whose ±ε moves a kink (a ReLU input across 0, a
 * hard_sigmoid input across ±3) is skipped and counted, since the derivative is not defined
 * there. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "train_impl.h"

/* One bit per input element of every kinked activation: which side of its kink it is on. */
typedef struct {
    unsigned char *bits;
    size_t n;
} kink_sig;

/* Maximum and minimum of two operands of the output's size: which one wins is the side (with
 * broadcasting the operands are not followed). */
static int is_same_size_choice(const nnc_model *m, const nnc_node_rec *nd) {
    return (nd->op == NNC_OP_MAXIMUM || nd->op == NNC_OP_MINIMUM) &&
           nnc_shape_size(&m->nodes[nd->in[0]].shape) == nnc_shape_size(&nd->shape) &&
           nnc_shape_size(&m->nodes[nd->in[1]].shape) == nnc_shape_size(&nd->shape) &&
           m->nodes[nd->in[0]].batched && m->nodes[nd->in[1]].batched;
}

static int is_kinked(const nnc_model *m, const nnc_node_rec *nd) {
    /* an activation fused into a Dense or Conv pass (relu, leaky_relu) is read from its
     * output, whose sign is its input's */
    if (nd->epi_has_act) return nd->epi_act == NNC_ACT_RELU || nd->epi_act == NNC_ACT_LEAKY_RELU;
    if (nd->op == NNC_OP_MAX_POOL && nd->pool_conv >= 0) return 1; /* its ReLU: the pooled sign */
    /* ReLU with a threshold or ceiling, ELU with alpha, PReLU: kinks of the layers' settings */
    if (nd->op == NNC_OP_ACT_EX || nd->op == NNC_OP_PRELU || is_same_size_choice(m, nd)) return 1;
    return nd->op == NNC_OP_ACT &&
           (nd->attr.act == NNC_ACT_RELU || nd->attr.act == NNC_ACT_LEAKY_RELU ||
            nd->attr.act == NNC_ACT_SELU || nd->attr.act == NNC_ACT_HARD_SIGMOID);
}

/* Which side of its kinks element i of a kinked node's input x is on. */
static int kink_side(const nnc_model *m, const nnc_node_rec *nd, const float *x, size_t i) {
    if (nd->epi_has_act || nd->op == NNC_OP_MAX_POOL || nd->op == NNC_OP_PRELU) return x[i] > 0.0f;
    if (nd->op == NNC_OP_ACT_EX)
        return nd->attr.act == NNC_ACT_ELU ? x[i] > 0.0f : (x[i] > nd->attr.threshold) + (x[i] >= nd->attr.max_value);
    if (nd->op == NNC_OP_MAXIMUM || nd->op == NNC_OP_MINIMUM) return x[i] >= m->nodes[nd->in[1]].value[i];
    if (nd->attr.act == NNC_ACT_HARD_SIGMOID) return (x[i] > -3.0f) + (x[i] > 3.0f);
    return x[i] > 0.0f;
}

static size_t kink_count(const nnc_model *m, int batch) {
    size_t n = 0;
    for (int t = 0; t < m->n_tape; t++)
        if (is_kinked(m, &m->nodes[m->tape[t]])) n += nnc_node_numel(m, m->tape[t], batch);
    return n;
}

static void kink_read(const nnc_model *m, int batch, kink_sig *s) {
    size_t k = 0;
    for (int t = 0; t < m->n_tape; t++) {
        const nnc_node_rec *nd = &m->nodes[m->tape[t]];
        if (!is_kinked(m, nd)) continue;
        const float *x = nd->epi_has_act || nd->op == NNC_OP_MAX_POOL ? nd->value : m->nodes[nd->in[0]].value;
        size_t n = nnc_node_numel(m, m->tape[t], batch);
        for (size_t i = 0; i < n; i++, k++) s->bits[k] = (unsigned char)kink_side(m, nd, x, i);
    }
}

static double loss_at(nnc_model *m, int batch, kink_sig *s) {
    nnc_forward(m, batch, 2); /* training mode with the first pass's dropout masks */
    if (s) kink_read(m, batch, s);
    return nnc_loss_forward(m, batch, 0);
}

/* Checks one variable's elements against the difference quotient. */
static void check_variable(nnc_model *m, const nnc_param_rec *pr, int batch, double rtol, kink_sig *base,
                           kink_sig *probe, nnc_gradcheck_result *res) {
    float *w = m->param_arena + pr->offset;
    const float *g = m->grad_arena + pr->offset;
    for (size_t i = 0; i < pr->size; i++) {
        float keep = w[i], eps = 1e-3f * (fabsf(keep) > 1.0f ? fabsf(keep) : 1.0f);
        w[i] = keep + eps;
        double jp = loss_at(m, batch, probe);
        int kink = memcmp(base->bits, probe->bits, base->n) != 0;
        w[i] = keep - eps;
        double jm = loss_at(m, batch, probe);
        kink |= memcmp(base->bits, probe->bits, base->n) != 0;
        w[i] = keep;
        if (kink) {
            res->skipped++;
            continue;
        }
        double num = (jp - jm) / (2.0 * (double)eps), ana = (double)g[i];
        double diff = fabs(num - ana), scale = fabs(num) > fabs(ana) ? fabs(num) : fabs(ana);
        /* What float32 round-off in J alone can put into the difference quotient. */
        double noise = 4.0 * 0x1p-23 * (fabs(jp) + fabs(jm)) / (2.0 * (double)eps);
        if (!(diff <= noise + rtol * scale)) res->failed++; /* NaN fails */
        if (!(diff <= res->max_abs_err)) res->max_abs_err = diff;
        if (scale > noise && !(diff / scale <= res->max_rel_err)) res->max_rel_err = diff / scale;
        res->checked++;
    }
}

nnc_gradcheck_opts nnc_gradcheck_opts_default(void) {
    nnc_gradcheck_opts o = {16, 1e-2};
    return o;
}

nnc_status nnc_gradcheck(nnc_model *m, const float *x, const float *y, size_t n,
                         const nnc_gradcheck_opts *o, nnc_gradcheck_result *results, int *n_failed) {
    if (!m) return NNC_ERR_ARG;
    if (!m->compiled) return nnc_fail(m, NNC_ERR_STATE, "gradcheck: the model must be compiled first");
    nnc_gradcheck_opts def = nnc_gradcheck_opts_default();
    if (!o) o = &def;
    if (!x || !y || n == 0 || !results) return nnc_fail(m, NNC_ERR_ARG, "gradcheck: no data");
    if (o->batch_size < 1 || !(o->rtol > 0.0))
        return nnc_fail(m, NNC_ERR_ARG, "gradcheck: batch_size must be >= 1 and rtol > 0");
    nnc_status st = nnc_check_data(m, x, y, n);
    const int batch = (size_t)o->batch_size > n ? (int)n : o->batch_size;
    if (st || (st = nnc_train_plan(m, batch))) return st;
#ifdef NNC_FAULT_INJECTION
    /* Test builds only: a wrong backward pass that the check must catch. */
    const char *fault = getenv("NNC_BREAK_GRADIENT");
    if (fault) m->fault_grad_scale = (float)atof(fault);
#endif
    nnc_gather_inputs(m, x, NULL, 0, batch);
    nnc_gather_targets(m, y, NULL, 0, batch);
    /* The analytic gradient, from one training pass (it draws the dropout masks). */
    nnc_zero_grads(m);
    nnc_forward(m, batch, 1);
    nnc_loss_forward(m, batch, 1);
    nnc_backward(m, batch);
    kink_sig base = {NULL, kink_count(m, batch)}, probe = base;
    base.bits = calloc(base.n + 1, 1);
    probe.bits = calloc(base.n + 1, 1);
    if (!base.bits || !probe.bits) {
        free(base.bits);
        free(probe.bits);
        return nnc_fail(m, NNC_ERR_NOMEM, "gradcheck: out of memory");
    }
    loss_at(m, batch, &base);
    int failed = 0;
    for (int p = 0; p < m->n_params; p++) {
        nnc_gradcheck_result *res = &results[p];
        memset(res, 0, sizeof *res);
        res->trainable = m->params[p].trainable;
        if (!res->trainable) continue;
        check_variable(m, &m->params[p], batch, o->rtol, &base, &probe, res);
        failed += res->failed != 0;
    }
    free(base.bits);
    free(probe.bits);
    if (n_failed) *n_failed = failed;
    return NNC_OK;
}
