/* Pooling over [H, W, C] per example, channels last, or [L, C] (a height of 1): max and
 * average over windows (average excludes padded cells, as TensorFlow's 'same' does), and
 * global max and average over every axis but the channels. */
#include <float.h>
#include <stdint.h>
#include <string.h>
#include "../backend/cpu/kernels.h"
#include "../backend/cpu/parallel.h"
#include "op_util.h"
#include "conv_pool.h"

/* Height, width and channels of [H, W, C], or of [L, C] as [1, L, C]. */
static void pool_dims(const nnc_shape *s, int *h, int *w, int *c) {
    *h = s->rank == 3 ? s->dim[0] : 1;
    *w = s->dim[s->rank - 2];
    *c = s->dim[s->rank - 1];
}

static int pool_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                      nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]);
    const int r = x->shape.rank;
    if (r != 2 && r != 3) {
        snprintf(err, n, "pooling needs examples of shape (length, channels) or (height, width, channels), "
                 "got rank %d", r);
        return -1;
    }
    int h, w, c;
    pool_dims(&x->shape, &h, &w, &c);
    if (h + a->win.pt + a->win.pb < a->win.kh || w + a->win.pl + a->win.pr < a->win.kw) {
        snprintf(err, n, "a %dx%d pool does not fit an input of %dx%d", a->win.kh, a->win.kw, h, w);
        return -1;
    }
    out->rank = r;
    if (r == 3) out->dim[0] = (h + a->win.pt + a->win.pb - a->win.kh) / a->win.sh + 1;
    out->dim[r - 2] = (w + a->win.pl + a->win.pr - a->win.kw) / a->win.sw + 1;
    out->dim[r - 1] = c;
    *batched = 1;
    return 0;
}

/* The window of output (oh, ow) clipped to the input: rows [ia, ib), columns [ja, jb). */
typedef struct {
    int ia, ib, ja, jb;
} window;

static window clip(const nnc_op_attr *at, int oh, int ow, int H, int W) {
    int i0 = oh * at->win.sh - at->win.pt, j0 = ow * at->win.sw - at->win.pl;
    window w = {i0 < 0 ? 0 : i0, i0 + at->win.kh > H ? H : i0 + at->win.kh, j0 < 0 ? 0 : j0,
                j0 + at->win.kw > W ? W : j0 + at->win.kw};
    return w;
}

/* Max pooling keeps, per output value, the input offset of its window's first maximum (in the
 * node's aux buffer, as 32-bit integers), so the backward pass is one scatter. A NaN in a
 * window is its maximum (the first NaN), as in PyTorch. The channel
 * loop is innermost: channels are contiguous (channels last), so it vectorises. */
static size_t max_aux(const nnc_model *m, int id, int batch) { return nnc_node_numel(m, id, batch); }

typedef struct {
    const nnc_node_rec *x, *y;
    int store;      /* backward: dx = (zeroed here) rather than += */
    int values;     /* forward in inference: the maxima only, no argmax (nothing reads it) */
    const float *v; /* forward: the input's values, v[0] being example `base`'s first */
    size_t base;
    int backward;   /* average pooling: which pass */
} pool_job;

/* The plain loop, for windows clipped by the input's edge and for very large ones: cloned for
 * AVX2 (chosen at load time), where the blend of value and index vectorises. */
__attribute__((target_clones("avx2", "default")))
static void max_plain(const float *restrict xv, const uint32_t *src, int n, int C, uint32_t arg_base,
                      float *restrict best, uint32_t *restrict arg, int init) {
    if (init)
        for (int c = 0; c < C; c++) best[c] = -FLT_MAX, arg[c] = 0;
    for (int w = 0; w < n; w++) {
        const float *restrict xs = xv + src[w];
        for (int c = 0; c < C; c++) {
            /* the first NaN wins, as in PyTorch: a NaN must not vanish in a maximum */
            int gt = xs[c] > best[c] || (xs[c] != xs[c] && best[c] == best[c]);
            best[c] = gt ? xs[c] : best[c];
            arg[c] = gt ? arg_base + src[w] + (uint32_t)c : arg[c];
        }
    }
}

/* Whole windows inside the input take the kernel (nnc_max_window); those clipped by the edge
 * the plain loop, and windows over MAX_WINDOW cells the plain loop in pieces. */
#define MAX_WINDOW 64

/* The output columns [*a, *b) whose windows lie wholly inside the input's columns. */
static void inner_columns(const nnc_op_attr *at, int OW, int W, int *a, int *b) {
    *a = (at->win.pl + at->win.sw - 1) / at->win.sw;
    *b = W >= at->win.kw ? (W - at->win.kw + at->win.pl) / at->win.sw + 1 : 0;
    if (*b > OW) *b = OW;
    if (*a > *b) *a = *b;
}

/* One output position through the general path: nnc_max_window, or the plain loop for windows
 * clipped by the input's edge and in pieces for windows over MAX_WINDOW cells. */
static void max_position(const pool_job *j, const float *xv, uint32_t arg_base, size_t b, int oh, int ow,
                         float *best, uint32_t *arg) {
    int H, W, C;
    pool_dims(&j->x->shape, &H, &W, &C);
    const nnc_op_attr *at = &j->y->attr;
    const window w = clip(at, oh, ow, H, W);
    uint32_t src[MAX_WINDOW];
    int n = 0, init = 1;
    for (int ih = w.ia; ih < w.ib; ih++)
        for (int iw = w.ja; iw < w.jb; iw++) {
            if (n == MAX_WINDOW) { /* a huge window: fold these cells in, go on */
                max_plain(xv, src, n, C, arg_base, best, arg, init);
                n = init = 0;
            }
            src[n++] = (uint32_t)(((b * H + (size_t)ih) * W + (size_t)iw) * (size_t)C);
        }
    if (init && n == at->win.kh * at->win.kw) nnc_max_window(xv, src, n, C, arg_base, best, arg);
    else max_plain(xv, src, n, C, arg_base, best, arg, init);
}

/* Per output row, the run of windows wholly inside the input goes to nnc_max_window_row in one
 * call (B3's 2x2 pools: all but the last column); the rest one by one. Same comparisons in the
 * same order either way. In inference the argmax is left unwritten. */
static void max_forward_range(void *ctx, size_t first, size_t count) {
    const pool_job *j = ctx;
    int H, W, C, OH, OW, yc, ca, cb;
    pool_dims(&j->x->shape, &H, &W, &C);
    pool_dims(&j->y->shape, &OH, &OW, &yc);
    const nnc_op_attr *at = &j->y->attr;
    const int kh = at->win.kh, kw = at->win.kw, full = kh * kw;
    inner_columns(at, OW, W, &ca, &cb);
    if (full > MAX_WINDOW) ca = cb = 0;
    /* src offsets count from example `first`'s first value in j->v; arg from the batch's */
    const uint32_t arg_base = (uint32_t)((j->base + first) * (size_t)H * W * C);
    const float *xv = j->v + first * (size_t)H * W * C;
    for (size_t b = 0; b < count; b++)
        for (int oh = 0; oh < OH; oh++) {
            const size_t dst = (((j->base + first + b) * OH + oh) * OW) * (size_t)C;
            float *best = j->y->value + dst;
            uint32_t *arg = j->values ? NULL : (uint32_t *)j->y->aux + dst;
            const int i0 = oh * at->win.sh - at->win.pt, rows_in = i0 >= 0 && i0 + kh <= H;
            for (int ow = 0; ow < OW; ow++) {
                if (rows_in && ow == ca && cb > ca) {
                    uint32_t src[MAX_WINDOW];
                    const int j0 = ca * at->win.sw - at->win.pl;
                    for (int i = 0, n = 0; i < kh; i++)
                        for (int q = 0; q < kw; q++)
                            src[n++] = (uint32_t)(((b * H + (size_t)(i0 + i)) * W + (size_t)(j0 + q)) * (size_t)C);
                    nnc_max_window_row(xv, src, full, C, cb - ca, (uint32_t)(at->win.sw * C), arg_base,
                                       best + (size_t)ca * C, arg ? arg + (size_t)ca * C : NULL);
                    ow = cb - 1;
                    continue;
                }
                /* the edge's few windows keep their argmax, even in inference */
                max_position(j, xv, arg_base, b, oh, ow, best + (size_t)ow * C,
                             (uint32_t *)j->y->aux + dst + (size_t)ow * C);
            }
        }
}

void nnc_max_pool_examples(const nnc_exec *e, int id, const float *v, int first, int count) {
    pool_job j = {.x = NODE(e, NODE(e, id)->in[0]), .y = NODE(e, id), .v = v, .base = (size_t)first,
                  .values = !e->training};
    nnc_parallel_range(e->m->pool, (size_t)count, 8, max_forward_range, &j);
}

static void max_forward(const nnc_exec *e, int id) {
    if (NODE(e, id)->pool_conv >= 0) {
        nnc_conv_pool_forward(e, id);
        return;
    }
    if (NODE(e, id)->infer_conv >= 0 && nnc_conv_pool_infer_ok(e, id)) {
        nnc_conv_pool_infer(e, id);
        return;
    }
    nnc_max_pool_examples(e, id, NODE(e, NODE(e, id)->in[0])->value, 0, e->batch);
}

/* dx at the window's first maximum += dy. Windows may overlap, so within an example the
 * scatter keeps its order; examples touch disjoint parts of dx and go over the pool. */
static void max_backward_range(void *ctx, size_t first, size_t count) {
    const pool_job *j = ctx;
    const size_t per = nnc_shape_size(&j->y->shape);
    const uint32_t *restrict arg = (const uint32_t *)j->y->aux;
    const float *restrict gy = j->y->grad;
    float *restrict gx = j->x->grad;
    if (j->store) { /* this op writes dx first: zero these examples' part here, in cache */
        const size_t per_x = nnc_shape_size(&j->x->shape);
        memset(gx + first * per_x, 0, count * per_x * sizeof(float));
    }
    for (size_t i = first * per; i < (first + count) * per; i++) gx[arg[i]] += gy[i];
}

static void max_backward(const nnc_exec *e, int id) {
    if (NODE(e, id)->pool_conv >= 0) {
        nnc_conv_pool_backward(e, id);
        return;
    }
    pool_job j = {.x = NODE(e, NODE(e, id)->in[0]), .y = NODE(e, id),
                  .store = NODE(e, NODE(e, id)->in[0])->grad_overwrite == id};
    nnc_parallel_range(e->m->pool, (size_t)e->batch, 8, max_backward_range, &j);
}

/* Average pooling: each window clipped to the input (clip), channels innermost (they are contiguous),
 * examples over the pool (each writes its own outputs, and in the backward pass its own part of
 * dx). Each channel's sum runs over the cells in scan order. */
static void avg_range(void *ctx, size_t first, size_t count) {
    const pool_job *j = ctx;
    const nnc_node_rec *x = j->x, *y = j->y;
    int H, W, C, OH, OW, yc;
    pool_dims(&x->shape, &H, &W, &C);
    pool_dims(&y->shape, &OH, &OW, &yc);
    for (size_t b = first; b < first + count; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const window w = clip(&y->attr, oh, ow, H, W);
                const size_t o = ((b * OH + (size_t)oh) * OW + (size_t)ow) * (size_t)C;
                if (!j->backward) {
                    float *restrict yv = y->value + o;
                    for (int c = 0; c < C; c++) yv[c] = 0.0f;
                    for (int ih = w.ia; ih < w.ib; ih++)
                        for (int iw = w.ja; iw < w.jb; iw++) {
                            const float *restrict xs = x->value + ((b * H + (size_t)ih) * W + (size_t)iw) * (size_t)C;
                            for (int c = 0; c < C; c++) yv[c] += xs[c];
                        }
                    const float cnt = (float)((w.ib - w.ia) * (w.jb - w.ja));
                    for (int c = 0; c < C; c++) yv[c] = yv[c] / cnt;
                } else { /* backward: dx += dy / (cells in the window) for each cell */
                    const float inv = 1.0f / (float)((w.ib - w.ia) * (w.jb - w.ja));
                    const float *restrict g = y->grad + o;
                    for (int ih = w.ia; ih < w.ib; ih++)
                        for (int iw = w.ja; iw < w.jb; iw++) {
                            float *restrict dx = x->grad + ((b * H + (size_t)ih) * W + (size_t)iw) * (size_t)C;
                            for (int c = 0; c < C; c++) dx[c] += g[c] * inv;
                        }
                }
            }
}

static void avg_forward(const nnc_exec *e, int id) {
    pool_job j = {.x = NODE(e, NODE(e, id)->in[0]), .y = NODE(e, id)};
    nnc_parallel_range(e->m->pool, (size_t)e->batch, 8, avg_range, &j);
}

static void avg_backward(const nnc_exec *e, int id) {
    pool_job j = {.x = NODE(e, NODE(e, id)->in[0]), .y = NODE(e, id), .backward = 1};
    nnc_parallel_range(e->m->pool, (size_t)e->batch, 8, avg_range, &j);
}

static size_t max_work(const nnc_model *m, int id, int batch) {
    return CNODE(m, id)->pool_conv >= 0 ? nnc_conv_pool_work(m, id, batch) : 0;
}

const nnc_op_def nnc_op_max_pool = {"max_pool", pool_infer, max_forward, max_backward, max_aux, max_work};
const nnc_op_def nnc_op_avg_pool = {"avg_pool", pool_infer, avg_forward, avg_backward, NULL, NULL};

/* Global pooling: [..., C] -> [C] over every other axis of the example; with keepdims those
 * axes stay, of size 1 (the same values, in the same order). */
static int global_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                        nnc_shape *out, int *batched, char *err, size_t n) {
    const nnc_node_rec *x = CNODE(m, in[0]);
    if (x->shape.rank < 2) {
        snprintf(err, n, "global pooling needs examples with spatial axes and channels, got rank %d",
                 x->shape.rank);
        return -1;
    }
    if (n_in == 2) { /* a sequence's mask [T] (Keras's GlobalAveragePooling1D/GlobalMaxPooling1D) */
        const nnc_node_rec *mk = CNODE(m, in[1]);
        if (x->shape.rank != 2 || mk->shape.rank != 1 || mk->shape.dim[0] != x->shape.dim[0]) {
            snprintf(err, n, "a masked global pooling needs a sequence [steps, channels] and a mask [steps]");
            return -1;
        }
    }
    out->rank = a->keepdims ? x->shape.rank : 1;
    for (int i = 0; i < out->rank; i++) out->dim[i] = 1;
    out->dim[out->rank - 1] = x->shape.dim[x->shape.rank - 1];
    *batched = 1;
    return 0;
}

/* With a mask (in[1], 1.0 or 0.0 per step) only the used steps count, as Keras's masked 1-D
 * global poolings: the average divides by their number, the max takes theirs. A sequence with
 * none gives 0 (Keras divides 0 by 0: NaN would poison the whole batch's training). */
static void global_run(const nnc_exec *e, int id, int is_max, int backward) {
    nnc_node_rec *y = NODE(e, id), *x = NODE(e, y->in[0]);
    const nnc_node_rec *mk = y->n_in > 1 ? NODE(e, y->in[1]) : NULL;
    size_t c = (size_t)op_last_dim(x), cells = nnc_node_numel(e->m, y->in[0], 1) / c;
    for (int b = 0; b < e->batch; b++) {
        const float *xv = x->value + (size_t)b * cells * c;
        const float *mv = mk ? mk->value + (size_t)b * cells : NULL;
        float used = 0.0f;
        for (size_t p = 0; p < cells; p++) used += mv ? mv[p] : 1.0f;
        for (size_t k = 0; k < c; k++) {
            float acc = is_max ? -FLT_MAX : 0.0f;
            size_t arg = cells;
            for (size_t p = 0; p < cells; p++) {
                if (mv && mv[p] == 0.0f) continue;
                float v = xv[p * c + k];
                if (is_max && (arg == cells || v > acc || (v != v && acc == acc))) acc = v, arg = p; /* NaN wins */
                if (!is_max) acc += v;
            }
            if (used == 0.0f) acc = 0.0f;
            float *gy = y->grad + (size_t)b * c, *gx = x->grad + (size_t)b * cells * c;
            if (!backward) y->value[(size_t)b * c + k] = is_max || used == 0.0f ? acc : acc / used;
            else if (is_max) {
                if (arg < cells) gx[arg * c + k] += gy[k];
            } else if (used > 0.0f)
                for (size_t p = 0; p < cells; p++)
                    if (!mv || mv[p] != 0.0f) gx[p * c + k] += gy[k] / used;
        }
    }
}

static void gavg_forward(const nnc_exec *e, int id) { global_run(e, id, 0, 0); }
static void gavg_backward(const nnc_exec *e, int id) { global_run(e, id, 0, 1); }
static void gmax_forward(const nnc_exec *e, int id) { global_run(e, id, 1, 0); }
static void gmax_backward(const nnc_exec *e, int id) { global_run(e, id, 1, 1); }

const nnc_op_def nnc_op_global_avg = {"global_avg_pool", global_infer, gavg_forward, gavg_backward, NULL, NULL};
const nnc_op_def nnc_op_global_max = {"global_max_pool", global_infer, gmax_forward, gmax_backward, NULL, NULL};
