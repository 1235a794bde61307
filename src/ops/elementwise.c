/* Binary elementwise ops with broadcasting as Keras's merge layers do it: the example axes
 * aligned from the right (Keras expands the shorter input after its batch axis), the batch
 * axes of batched operands aligned with each other, a parameter (no batch axis) aligned from
 * the right; a size-1 axis stretches. The backward pass sums the output gradient over the axes
 * an operand was broadcast along. Maximum and minimum send the gradient where TensorFlow does:
 * to a where a >= b (maximum) or a <= b (minimum), ties to the first input. */
#include "op_util.h"

#define FULL_MAX (NNC_MAX_RANK + 1)

/* Full shape of a node in FULL_MAX axes: the batch axis first (1 for a parameter), the
 * example's axes right-aligned after it (missing axes are 1). */
static void full_shape(const nnc_node_rec *n, int batch, size_t d[FULL_MAX]) {
    for (int i = 0; i < FULL_MAX; i++) d[i] = 1;
    int r = n->shape.rank;
    for (int i = 0; i < r; i++) d[FULL_MAX - r + i] = (size_t)n->shape.dim[i];
    if (n->batched) d[0] = (size_t)batch;
}

static int bin_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                     nnc_shape *out, int *batched, char *err, size_t n) {
    (void)a;
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]), *y = CNODE(m, in[1]);
    int r = x->shape.rank > y->shape.rank ? x->shape.rank : y->shape.rank;
    out->rank = r;
    for (int i = 0; i < r; i++) {
        int xi = i - (r - x->shape.rank), yi = i - (r - y->shape.rank);
        int dx = xi >= 0 ? x->shape.dim[xi] : 1, dy = yi >= 0 ? y->shape.dim[yi] : 1;
        if (dx != dy && dx != 1 && dy != 1) {
            char xs[64], ys[64];
            nnc_shape_str(&x->shape, x->batched, xs, sizeof xs);
            nnc_shape_str(&y->shape, y->batched, ys, sizeof ys);
            snprintf(err, n, "shapes %s and %s cannot be broadcast together", xs, ys);
            return -1;
        }
        out->dim[i] = dx > dy ? dx : dy;
    }
    /* A parameter's extra leading axis would stand where the batch axis is. */
    if ((x->batched && !y->batched && y->shape.rank > x->shape.rank) ||
        (y->batched && !x->batched && x->shape.rank > y->shape.rank)) {
        snprintf(err, n, "an unbatched operand has more axes than the batched one");
        return -1;
    }
    *batched = x->batched || y->batched;
    return 0;
}

typedef enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_MAX, BIN_MIN } bin_kind;

/* Whether a, rather than b, is the result of maximum (min: minimum); a NaN operand wins. */
static inline int first_wins(float a, float b, int min) {
    return (min ? a <= b : a >= b) || a != a;
}

/* Walks every output element with the matching offsets into both operands. */
#define BROADCAST_LOOP(e, o, a, b, ...)                                                      \
    do {                                                                                     \
        size_t da[FULL_MAX], db[FULL_MAX], dout[FULL_MAX], sa[FULL_MAX], sb[FULL_MAX];       \
        full_shape(a, (e)->batch, da);                                                       \
        full_shape(b, (e)->batch, db);                                                       \
        full_shape(o, (e)->batch, dout);                                                     \
        size_t stra = 1, strb = 1, total = 1;                                                \
        for (int ax = FULL_MAX - 1; ax >= 0; ax--) {                                         \
            sa[ax] = da[ax] == 1 ? 0 : stra;                                                 \
            sb[ax] = db[ax] == 1 ? 0 : strb;                                                 \
            stra *= da[ax];                                                                  \
            strb *= db[ax];                                                                  \
            total *= dout[ax];                                                               \
        }                                                                                    \
        size_t idx[FULL_MAX] = {0}, ia = 0, ib = 0;                                          \
        for (size_t i = 0; i < total; i++) {                                                 \
            __VA_ARGS__;                                                                     \
            for (int ax = FULL_MAX - 1; ax >= 0; ax--) {                                     \
                idx[ax]++;                                                                   \
                ia += sa[ax];                                                                \
                ib += sb[ax];                                                                \
                if (idx[ax] < dout[ax]) break;                                               \
                ia -= sa[ax] * dout[ax];                                                     \
                ib -= sb[ax] * dout[ax];                                                     \
                idx[ax] = 0;                                                                 \
            }                                                                                \
        }                                                                                    \
    } while (0)

static void bin_forward(const nnc_exec *e, int id, bin_kind k) {
    nnc_node_rec *o = NODE(e, id), *a = NODE(e, o->in[0]), *b = NODE(e, o->in[1]);
    const float *va = a->value, *vb = b->value;
    float *vo = o->value;
    if (k == BIN_MAX || k == BIN_MIN) {
        const int min = k == BIN_MIN;
        BROADCAST_LOOP(e, o, a, b, {
            float x = va[ia], y = vb[ib];
            vo[i] = first_wins(x, y, min) ? x : y;
        });
        return;
    }
    BROADCAST_LOOP(e, o, a, b, {
        float x = va[ia], y = vb[ib];
        vo[i] = k == BIN_ADD ? x + y : k == BIN_SUB ? x - y : x * y;
    });
}

/* add: da += g, db += g;  sub: da += g, db -= g;  mul: da += g·b, db += g·a;
 * max, min: g to the operand chosen */
static void bin_backward(const nnc_exec *e, int id, bin_kind k) {
    nnc_node_rec *o = NODE(e, id), *a = NODE(e, o->in[0]), *b = NODE(e, o->in[1]);
    const float *g = o->grad, *va = a->value, *vb = b->value;
    float *ga = a->needs_grad ? a->grad : NULL, *gb = b->needs_grad ? b->grad : NULL;
    if (k == BIN_MAX || k == BIN_MIN) {
        const int min = k == BIN_MIN;
        BROADCAST_LOOP(e, o, a, b, {
            const int first = first_wins(va[ia], vb[ib], min);
            if (ga && first) ga[ia] += g[i];
            if (gb && !first) gb[ib] += g[i];
        });
        return;
    }
    BROADCAST_LOOP(e, o, a, b, {
        float gi = g[i];
        if (ga) ga[ia] += k == BIN_MUL ? gi * vb[ib] : gi;
        if (gb) gb[ib] += k == BIN_MUL ? gi * va[ia] : k == BIN_SUB ? -gi : gi;
    });
}

static void add_forward(const nnc_exec *e, int id) { bin_forward(e, id, BIN_ADD); }
static void add_backward(const nnc_exec *e, int id) { bin_backward(e, id, BIN_ADD); }
static void sub_forward(const nnc_exec *e, int id) { bin_forward(e, id, BIN_SUB); }
static void sub_backward(const nnc_exec *e, int id) { bin_backward(e, id, BIN_SUB); }
static void mul_forward(const nnc_exec *e, int id) { bin_forward(e, id, BIN_MUL); }
static void mul_backward(const nnc_exec *e, int id) { bin_backward(e, id, BIN_MUL); }

static void max_forward(const nnc_exec *e, int id) { bin_forward(e, id, BIN_MAX); }
static void max_backward(const nnc_exec *e, int id) { bin_backward(e, id, BIN_MAX); }
static void min_forward(const nnc_exec *e, int id) { bin_forward(e, id, BIN_MIN); }
static void min_backward(const nnc_exec *e, int id) { bin_backward(e, id, BIN_MIN); }

const nnc_op_def nnc_op_add = {"add", bin_infer, add_forward, add_backward, NULL, NULL};
const nnc_op_def nnc_op_sub = {"subtract", bin_infer, sub_forward, sub_backward, NULL, NULL};
const nnc_op_def nnc_op_mul = {"multiply", bin_infer, mul_forward, mul_backward, NULL, NULL};
const nnc_op_def nnc_op_maximum = {"maximum", bin_infer, max_forward, max_backward, NULL, NULL};
const nnc_op_def nnc_op_minimum = {"minimum", bin_infer, min_forward, min_backward, NULL, NULL};
