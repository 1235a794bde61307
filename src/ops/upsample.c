/* Upsampling (Keras's UpSampling1D and UpSampling2D), channels last: [H, W, C] (or [L, C], a
 * height of 1) to [H·sh, W·sw, C] with the factors in win.kh, win.kw.
 * - nearest: each cell repeated (ops.repeat along each axis, as Keras does);
 * - bilinear: Keras 3 resizes through ops.image.resize, which in every backend is bilinear
 *   interpolation with half-pixel centers and no antialiasing when enlarging (TensorFlow's
 *   resize_bilinear with half_pixel_centers, written down in its image_resizer_state.h and
 *   resize_bilinear_op.cc): output cell i reads the input at in = (i + 0.5)·(H / OH) − 0.5,
 *   between rows max(floor(in), 0) and min(ceil(in), H − 1) with weight in − floor(in), and
 *   likewise across; value = top + (bottom − top)·ly with top = tl + (tr − tl)·lx.
 * Examples run over the pool; each writes its own output and its own part of dx. */
#include <math.h>
#include <string.h>
#include "op_util.h"
#include "../backend/cpu/parallel.h"

static void dims(const nnc_shape *s, int *h, int *w, int *c) {
    *h = s->rank == 3 ? s->dim[0] : 1;
    *w = s->dim[s->rank - 2];
    *c = s->dim[s->rank - 1];
}

static int upsample_infer(const nnc_model *m, const int *in, int n_in, const nnc_op_attr *a,
                          nnc_shape *out, int *batched, char *err, size_t n) {
    (void)n_in;
    const nnc_node_rec *x = CNODE(m, in[0]);
    const int r = x->shape.rank;
    if (r != 2 && r != 3) {
        snprintf(err, n, "upsampling needs examples of shape (length, channels) or (height, width, channels)");
        return -1;
    }
    if ((r == 3 && (long long)x->shape.dim[0] * a->win.kh > (1 << 24)) ||
        (long long)x->shape.dim[r - 2] * a->win.kw > (1 << 24)) {
        snprintf(err, n, "upsampling by %dx%d makes too large an output", a->win.kh, a->win.kw);
        return -1;
    }
    *out = x->shape;
    if (r == 3) out->dim[0] *= a->win.kh;
    out->dim[r - 2] *= a->win.kw;
    *batched = 1;
    return 0;
}

/* One axis of the bilinear map: output cell i reads cells lo and hi with weight t on hi. */
typedef struct {
    int lo, hi;
    float t;
} lerp_at;

static lerp_at lerp_of(int i, int in, int out) {
    const float scale = (float)in / (float)out;
    const float at = ((float)i + 0.5f) * scale - 0.5f, fl = floorf(at);
    lerp_at l = {fl > 0.0f ? (int)fl : 0, (int)ceilf(at), at - fl};
    if (l.hi > in - 1) l.hi = in - 1;
    if (l.hi < 0) l.hi = 0;
    return l;
}

typedef struct {
    const nnc_node_rec *x, *y;
    int backward;
} up_job;

static void nearest_range(const up_job *j, size_t first, size_t count) {
    int H, W, C, OH, OW, c;
    dims(&j->x->shape, &H, &W, &C);
    dims(&j->y->shape, &OH, &OW, &c);
    const int fh = j->y->attr.win.kh, fw = j->y->attr.win.kw;
    for (size_t b = first; b < first + count; b++)
        for (int i = 0; i < OH; i++)
            for (int k = 0; k < OW; k++) {
                const size_t yo = ((b * OH + (size_t)i) * OW + (size_t)k) * (size_t)C;
                const size_t xo = ((b * H + (size_t)(i / fh)) * W + (size_t)(k / fw)) * (size_t)C;
                if (!j->backward) memcpy(j->y->value + yo, j->x->value + xo, (size_t)C * sizeof(float));
                else
                    for (int q = 0; q < C; q++) j->x->grad[xo + q] += j->y->grad[yo + q];
            }
}

/* The derivative of top + (bottom − top)·ly, top = tl + (tr − tl)·lx (and bottom alike), by
 * each corner: the products of (1 − lx or lx) and (1 − ly or ly). */
static void bilinear_range(const up_job *j, size_t first, size_t count) {
    int H, W, C, OH, OW, c;
    dims(&j->x->shape, &H, &W, &C);
    dims(&j->y->shape, &OH, &OW, &c);
    for (size_t b = first; b < first + count; b++)
        for (int i = 0; i < OH; i++) {
            const lerp_at ly = lerp_of(i, H, OH);
            const float *xv = j->x->value + b * (size_t)H * W * C;
            float *gx = j->x->grad + b * (size_t)H * W * C;
            for (int k = 0; k < OW; k++) {
                const lerp_at lx = lerp_of(k, W, OW);
                const size_t tl = ((size_t)ly.lo * W + lx.lo) * C, tr = ((size_t)ly.lo * W + lx.hi) * C;
                const size_t bl = ((size_t)ly.hi * W + lx.lo) * C, br = ((size_t)ly.hi * W + lx.hi) * C;
                const size_t yo = ((b * OH + (size_t)i) * OW + (size_t)k) * (size_t)C;
                if (!j->backward) {
                    float *yv = j->y->value + yo;
                    for (int q = 0; q < C; q++) {
                        const float top = xv[tl + q] + (xv[tr + q] - xv[tl + q]) * lx.t;
                        const float bottom = xv[bl + q] + (xv[br + q] - xv[bl + q]) * lx.t;
                        yv[q] = top + (bottom - top) * ly.t;
                    }
                    continue;
                }
                const float *g = j->y->grad + yo;
                for (int q = 0; q < C; q++) {
                    const float top = g[q] * (1.0f - ly.t), bottom = g[q] * ly.t;
                    gx[tl + q] += top * (1.0f - lx.t);
                    gx[tr + q] += top * lx.t;
                    gx[bl + q] += bottom * (1.0f - lx.t);
                    gx[br + q] += bottom * lx.t;
                }
            }
        }
}

static void up_task(void *ctx, size_t first, size_t count) {
    const up_job *j = ctx;
    if (j->y->attr.bilinear) bilinear_range(j, first, count);
    else nearest_range(j, first, count);
}

static void upsample_forward(const nnc_exec *e, int id) {
    up_job j = {NODE(e, NODE(e, id)->in[0]), NODE(e, id), 0};
    nnc_parallel_range(e->m->pool, (size_t)e->batch, 8, up_task, &j);
}

static void upsample_backward(const nnc_exec *e, int id) {
    up_job j = {NODE(e, NODE(e, id)->in[0]), NODE(e, id), 1};
    nnc_parallel_range(e->m->pool, (size_t)e->batch, 8, up_task, &j);
}

const nnc_op_def nnc_op_upsample = {"upsample", upsample_infer, upsample_forward, upsample_backward, NULL, NULL};
