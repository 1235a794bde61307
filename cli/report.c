/* report.c: the history CSV and the learning-curve SVG behind `nnc train --history` and
 * `nnc train --plot` (see report.h). The SVG is drawn by hand in the look of a matplotlib
 * plot of Keras's history: framed axes, light grid, tab:blue training and dashed tab:orange
 * validation curves, rounded ticks, a legend placed where the curves are not.
 *
 * Out of scope: anything but writing these two files (no parsing, no other formats, no
 * log-scale axes), and fonts: the SVG names common sans-serif families and lets the viewer
 * choose, so text widths used for layout are estimates. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- a growable text buffer ---------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom; /* an allocation failed: the text is incomplete */
} textbuf;

static void tb_printf(textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(textbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        va_end(ap2);
        return;
    }
    if (!b->p || b->len + (size_t)n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->len + (size_t)n + 1) nc *= 2;
        char *q = realloc(b->p, nc);
        if (!q) {
            b->oom = 1;
            va_end(ap2);
            return;
        }
        b->p = q;
        b->cap = nc;
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap2);
    }
    va_end(ap2);
    b->len += (size_t)n;
}

/* ---- atomic file writing ------------------------------------------------------------- */

/* Writes len bytes to path through a temporary file in the same folder: written, flushed,
 * fsynced and closed (every step checked), then renamed over path. On failure the temporary
 * is removed and an existing path is left as it was. */
/* Output files are replaced atomically (src/io/atomic.c), so a failed write keeps the old one. */
static int write_atomic(const char *path, const char *data, size_t len, char *err,
                        size_t errlen) {
    if (!path || !*path) {
        set_err(err, errlen, "(no file name): cannot write: the path is empty");
        return -1;
    }
    const char *slash = strrchr(path, '/');
    if (!*(slash ? slash + 1 : path)) {
        set_err(err, errlen, "%s: cannot write: the path names a folder", path);
        return -1;
    }
    nnc_error e = {""};
    if (!nnc_file_write_atomic(path, data, len, &e)) return 0;
    if (err) snprintf(err, errlen, "%s", e.message);
    return -1;
}

/* ---- the keys of a history ------------------------------------------------------------ */

#define MAX_KEYS (4 * NNC_MAX_LOGS)

typedef struct {
    int n;
    char names[MAX_KEYS][sizeof(((nnc_logs *)0)->names[0])];
} keylist;

/* Every key of every epoch: the first epoch's in its order, then later newcomers. */
static int collect_keys(const nnc_history *h, keylist *k) {
    k->n = 0;
    int epochs = nnc_history_epochs(h);
    for (int e = 0; e < epochs; e++) {
        const nnc_logs *l = nnc_history_logs(h, e);
        for (int i = 0; l && i < l->count && i < NNC_MAX_LOGS; i++) {
            int seen = 0;
            for (int j = 0; j < k->n && !seen; j++) seen = !strcmp(k->names[j], l->names[i]);
            if (seen) continue;
            if (k->n == MAX_KEYS) return -1;
            snprintf(k->names[k->n++], sizeof k->names[0], "%s", l->names[i]);
        }
    }
    return 0;
}

/* The value of key in epoch e's logs; NAN when absent. */
static double history_value(const nnc_history *h, int e, const char *key) {
    const nnc_logs *l = nnc_history_logs(h, e);
    return l ? nnc_logs_get(l, key) : (double)NAN;
}

/* ---- CSV ------------------------------------------------------------------------------ */

/* A header field, quoted as RFC 4180 says when it holds a comma, quote or line break. */
static void csv_field(textbuf *b, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        tb_printf(b, "%s", s);
        return;
    }
    tb_printf(b, "\"");
    for (; *s; s++) tb_printf(b, *s == '"' ? "\"\"" : "%c", *s);
    tb_printf(b, "\"");
}

int nnc_write_history_csv(const nnc_history *h, const char *path, char *err, size_t errlen) {
    const char *name = path ? path : "(no file name)";
    keylist keys;
    if (collect_keys(h, &keys)) {
        set_err(err, errlen, "%s: cannot write: the history has over %d distinct keys", name,
                MAX_KEYS);
        return -1;
    }
    textbuf b = {0};
    tb_printf(&b, "epoch");
    for (int k = 0; k < keys.n; k++) {
        tb_printf(&b, ",");
        csv_field(&b, keys.names[k]);
    }
    tb_printf(&b, "\n");
    int epochs = nnc_history_epochs(h);
    for (int e = 0; e < epochs; e++) {
        tb_printf(&b, "%d", e + 1);
        for (int k = 0; k < keys.n; k++) {
            double v = history_value(h, e, keys.names[k]);
            if (isfinite(v)) tb_printf(&b, ",%.6g", v);
            else tb_printf(&b, ",");
        }
        tb_printf(&b, "\n");
    }
    int rc;
    if (b.oom) {
        set_err(err, errlen, "%s: cannot write: out of memory", name);
        rc = -1;
    } else {
        rc = write_atomic(path, b.p, b.len, err, errlen);
    }
    free(b.p);
    return rc;
}

/* ---- SVG: text ------------------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at s (1-4), or 0 when it is not one. */
static int utf8_len(const unsigned char *s) {
    unsigned c = s[0];
    int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 2 && c < 0xC2) return 0; /* overlong */
    if (n == 4 && c > 0xF4) return 0; /* past U+10FFFF */
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (n == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))) return 0;
    if (n == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))) return 0;
    return n;
}

/* Text as XML character data: & < > " ' escaped, control characters (not allowed in XML
 * 1.0) and bytes that are not UTF-8 replaced by '?'. */
static void xml_text(textbuf *b, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = utf8_len(p);
        if (n == 1) {
            switch (*p) {
            case '&': tb_printf(b, "&amp;"); break;
            case '<': tb_printf(b, "&lt;"); break;
            case '>': tb_printf(b, "&gt;"); break;
            case '"': tb_printf(b, "&quot;"); break;
            case '\'': tb_printf(b, "&#39;"); break;
            default: tb_printf(b, "%c", *p < 0x20 ? '?' : (char)*p);
            }
        } else if (n > 1) {
            tb_printf(b, "%.*s", n, (const char *)p);
        } else {
            tb_printf(b, "?");
            n = 1;
        }
        p += n;
    }
}

/* Rough width in pixels of a line of text in the sans-serif font at size px. */
static double text_width(const char *s, double px) {
    double w = 0.0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) w += strchr(".,:;!|il1'", *p) ? 0.32 : 0.6;
    return w * px;
}

/* ---- SVG: scales and ticks ------------------------------------------------------------ */

#define MAX_TICKS 16

typedef struct {
    double lo, hi;          /* data range shown */
    int nt;                 /* ticks inside it */
    double t[MAX_TICKS];
    char label[MAX_TICKS][32];
} axis;

/* Ticks at multiples of a step m·10^k inside [lo, hi]: 4-6 of them. The range may grow to
 * take in a tick lying just outside (within 8% of it), so that round steps (1, 2, 5) serve
 * more often; failing those, the mantissas' ratios of at most 1.5 make some step give
 * (hi - lo)/step in [4, 6), hence 4-6 ticks. Scores: roundness, then growing the range as
 * little as possible, then a count near 5. */
static void y_ticks(axis *a) {
    static const double mant[8] = {1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5};
    static const double plain[8] = {0.0, 0.6, 0.0, 0.3, 0.6, 0.45, 0.0, 0.9};
    double span = a->hi - a->lo, best = 0.0, best_score = HUGE_VAL;
    int best_grow = 0;
    a->nt = 0;
    if (!(span > 0.0) || !isfinite(span)) return;
    int k0 = (int)floor(log10(span)) - 2;
    for (int k = k0; k <= k0 + 3; k++)
        for (int m = 0; m < 8; m++) {
            double s = mant[m] * pow(10.0, k);
            double first = ceil(a->lo / s - 1e-9), last = floor(a->hi / s + 1e-9);
            int can_lo = a->lo - (first - 1.0) * s <= 0.08 * span;
            int can_hi = (last + 1.0) * s - a->hi <= 0.08 * span;
            for (int grow = 0; grow < 4; grow++) {
                if (((grow & 1) && !can_lo) || ((grow & 2) && !can_hi)) continue;
                double n = last - first + 1.0 + (grow & 1) + (grow >> 1);
                double score = plain[m] + 0.15 * ((grow & 1) + (grow >> 1)) + 0.1 * fabs(n - 5.0);
                if (n >= 4 && n <= 6 && score < best_score)
                    best = s, best_score = score, best_grow = grow;
            }
        }
    if (best <= 0.0) return;
    double first = ceil(a->lo / best - 1e-9), last = floor(a->hi / best + 1e-9);
    if (best_grow & 1) a->lo = (first -= 1.0) * best;
    if (best_grow & 2) a->hi = (last += 1.0) * best;
    for (double i = first; i <= last && a->nt < MAX_TICKS; i += 1.0) {
        double v = i * best;
        if (fabs(v) < best * 1e-9) v = 0.0; /* no "-0" or "1e-17" */
        a->t[a->nt++] = v;
    }
    /* The step's last significant digit is at 10^p: labels need down to that place. */
    int p = (int)floor(log10(best) + 1e-9);
    for (int i = 0; i < 3; i++) {
        double q = best / pow(10.0, p);
        if (fabs(q - round(q)) < 1e-6 * q) break;
        p--;
    }
    /* Labels: fixed decimals for everyday magnitudes, %g beyond them. */
    double maxabs = 0.0;
    for (int i = 0; i < a->nt; i++) maxabs = fmax(maxabs, fabs(a->t[i]));
    for (int i = 0; i < a->nt; i++) {
        double v = a->t[i];
        if (v == 0.0) {
            snprintf(a->label[i], sizeof a->label[i], "0");
        } else if (maxabs >= 1e-3 && maxabs < 1e5) {
            snprintf(a->label[i], sizeof a->label[i], "%.*f", p < 0 ? -p : 0, v);
        } else {
            int digits = (int)floor(log10(fabs(v)) + 1e-9) - p + 1;
            if (digits < 1) digits = 1;
            if (digits > 15) digits = 15;
            snprintf(a->label[i], sizeof a->label[i], "%.*g", digits, v);
        }
    }
}

/* Epoch ticks: whole multiples of 1, 2, 5, 10, 20, 25, 50, 100, ... inside [lo, hi] (and
 * not below 0), the smallest step giving at most 7. */
static void x_ticks(axis *a) {
    static const double mant[4] = {1.0, 2.0, 2.5, 5.0};
    double from = fmax(a->lo, 0.0), step = 1.0;
    int done = 0;
    for (int k = 0; k < 300 && !done; k++)
        for (int m = 0; m < 4 && !done; m++) {
            if (k == 0 && m == 2) continue;
            step = mant[m] * pow(10.0, k);
            done = floor(a->hi / step) - ceil(from / step) + 1.0 <= 7.0;
        }
    a->nt = 0;
    for (double v = ceil(from / step) * step; v <= a->hi && a->nt < MAX_TICKS; v += step) {
        a->t[a->nt] = v;
        snprintf(a->label[a->nt], sizeof a->label[0], "%.0f", v);
        a->nt++;
    }
}

/* ---- SVG: the picture ----------------------------------------------------------------- */

/* Layout, in pixels. */
#define PANEL_W 460.0
#define PANEL_H 330.0
#define TITLE_H 46.0
#define PAD 14.0
#define FONT "DejaVu Sans, Helvetica, Arial, sans-serif"
#define COLOR_TRAIN "#1f77b4" /* matplotlib's tab:blue */
#define COLOR_VAL "#ff7f0e"   /* tab:orange */
#define COLOR_TEXT "#262626"
#define MARKERS_UP_TO 20 /* epochs up to which every point also gets a dot */

typedef struct {
    char name[40];     /* the quantity: "loss", "accuracy" */
    char key[2][40];   /* training and validation keys; "" when absent */
} quantity;

typedef struct {
    double x, y;
} pt;

typedef struct {
    pt *p;
    size_t n, cap;
} ptlist;

static int pts_add(ptlist *l, double x, double y) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 256;
        pt *q = realloc(l->p, nc * sizeof *q);
        if (!q) return -1;
        l->p = q;
        l->cap = nc;
    }
    l->p[l->n].x = x;
    l->p[l->n].y = y;
    l->n++;
    return 0;
}

/* Values beyond this are drawn as gaps like non-finite ones (their spans would overflow). */
#define PLOT_LIMIT 1e300

static int plottable(double v) { return isfinite(v) && fabs(v) < PLOT_LIMIT; }

/* The panels: "loss" first, then each other quantity in key order; "val_X" goes to X. */
static int collect_quantities(const keylist *keys, quantity *q) {
    int n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < keys->n; k++) {
            const char *key = keys->names[k];
            int val = !strncmp(key, "val_", 4);
            const char *base = val ? key + 4 : key;
            if ((pass == 0) != !strcmp(base, "loss") || !*base) continue;
            int i = 0;
            while (i < n && strcmp(q[i].name, base)) i++;
            if (i == n) {
                memset(&q[n], 0, sizeof q[n]);
                snprintf(q[n].name, sizeof q[n].name, "%s", base);
                n++;
            }
            snprintf(q[i].key[val], sizeof q[i].key[val], "%s", key);
        }
    return n;
}

typedef struct {
    double x0, y0, x1, y1; /* plot area in pixels (y0 top) */
    axis ax, ay;
} frame;

static double fx(const frame *f, double v) {
    return f->x0 + (v - f->ax.lo) / (f->ax.hi - f->ax.lo) * (f->x1 - f->x0);
}
static double fy(const frame *f, double v) {
    return f->y1 - (v - f->ay.lo) / (f->ay.hi - f->ay.lo) * (f->y1 - f->y0);
}

/* One curve: a polyline per run of plottable points, a dot for a point alone (and for every
 * point when there are few epochs). Points that the legend should avoid go to avoid. */
static int draw_curve(textbuf *b, const frame *f, const double *v, int epochs, int val,
                      ptlist *avoid) {
    const char *color = val ? COLOR_VAL : COLOR_TRAIN;
    int e = 0;
    while (e < epochs) {
        if (!plottable(v[e])) {
            e++;
            continue;
        }
        int end = e;
        while (end < epochs && plottable(v[end])) end++;
        if (end - e == 1) {
            double x = fx(f, e + 1), y = fy(f, v[e]);
            if (isfinite(x) && isfinite(y)) {
                tb_printf(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%s\"/>\n", x, y,
                          color);
                if (pts_add(avoid, x, y)) return -1;
            }
        } else {
            tb_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" "
                      "stroke-linejoin=\"round\" stroke-linecap=\"%s\"%s points=\"",
                      color, val ? "butt" : "round", val ? " stroke-dasharray=\"6 3.5\"" : "");
            double px = (double)NAN, py = (double)NAN;
            for (int i = e; i < end; i++) {
                double x = fx(f, i + 1), y = fy(f, v[i]);
                if (!isfinite(x) || !isfinite(y)) continue;
                tb_printf(b, "%s%.2f,%.2f", i > e ? " " : "", x, y);
                if (isfinite(px))
                    for (int s = 1; s < 8; s++)
                        if (pts_add(avoid, px + (x - px) * s / 8.0, py + (y - py) * s / 8.0)) return -1;
                if (pts_add(avoid, x, y)) return -1;
                px = x;
                py = y;
            }
            tb_printf(b, "\"/>\n");
            if (epochs <= MARKERS_UP_TO)
                for (int i = e; i < end; i++) {
                    double x = fx(f, i + 1), y = fy(f, v[i]);
                    if (isfinite(x) && isfinite(y))
                        tb_printf(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.6\" fill=\"%s\"/>\n",
                                  x, y, color);
                }
        }
        e = end;
    }
    return 0;
}

/* The legend, at matplotlib's "best" place: the candidate spot covering fewest curve points. */
static void draw_legend(textbuf *b, const frame *f, const quantity *q, const ptlist *avoid,
                        int dots) {
    int n = 0;
    const char *labels[2];
    int which[2];
    for (int c = 0; c < 2; c++)
        if (q->key[c][0]) {
            labels[n] = c ? "validation" : "training";
            which[n++] = c;
        }
    if (!n) return;
    double w = 14.0 + 28.0 + 6.0 + text_width(n == 2 || which[0] ? "validation" : "training", 11.0);
    double h = 8.0 + 18.0 * n;
    /* (fraction across, fraction down) of the free room: upper right first, as matplotlib. */
    static const double spots[9][2] = {{1, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 0.5},
                                       {0, 0.5}, {0.5, 1}, {0.5, 0}, {0.5, 0.5}};
    const double m = 8.0;
    double bx = 0.0, by = 0.0;
    size_t best = (size_t)-1;
    for (int s = 0; s < 9; s++) {
        double x = f->x0 + m + spots[s][0] * (f->x1 - f->x0 - 2 * m - w);
        double y = f->y0 + m + spots[s][1] * (f->y1 - f->y0 - 2 * m - h);
        size_t hits = 0;
        for (size_t i = 0; i < avoid->n; i++)
            hits += avoid->p[i].x >= x - 4 && avoid->p[i].x <= x + w + 4 &&
                    avoid->p[i].y >= y - 4 && avoid->p[i].y <= y + h + 4;
        if (hits < best) best = hits, bx = x, by = y;
        if (!hits) break;
    }
    tb_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" rx=\"3\" "
              "fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#cccccc\"/>\n", bx, by, w, h);
    for (int i = 0; i < n; i++) {
        int val = which[i];
        double ly = by + 4.0 + 18.0 * i + 9.0;
        tb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
                  "stroke-width=\"1.8\"%s/>\n", bx + 8.0, ly, bx + 36.0, ly,
                  val ? COLOR_VAL : COLOR_TRAIN, val ? " stroke-dasharray=\"6 3.5\"" : "");
        if (dots)
            tb_printf(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.6\" fill=\"%s\"/>\n", bx + 22.0,
                      ly, val ? COLOR_VAL : COLOR_TRAIN);
        tb_printf(b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" fill=\"%s\" "
                  "dy=\"0.35em\">%s</text>\n", bx + 42.0, ly + 0.5, COLOR_TEXT,
                  labels[i]);
    }
}

/* The y range of a panel: the finite values of its curves with 5% margins, as matplotlib.
 * A constant gets ±5% of its value (±0.05 around 0); so does a curve varying by less than a
 * millionth of its value, which is float rounding (batches summed in another order), not
 * something to magnify into a wiggle. */
static void y_range(const double *const *series, int ns, int epochs, axis *a) {
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (int s = 0; s < ns; s++)
        for (int e = 0; series[s] && e < epochs; e++)
            if (plottable(series[s][e])) {
                lo = fmin(lo, series[s][e]);
                hi = fmax(hi, series[s][e]);
            }
    if (lo > hi) {
        lo = 0.0;
        hi = 1.0;
    } else if (hi - lo <= 1e-6 * fmax(fabs(lo), fabs(hi))) {
        double mid = 0.5 * (lo + hi), d = fabs(mid) * 0.05;
        if (d == 0.0) d = 0.05;
        lo = mid - d;
        hi = mid + d;
    } else {
        double m = 0.05 * (hi - lo);
        lo -= m;
        hi += m;
    }
    a->lo = lo;
    a->hi = hi;
}

static int draw_panel(textbuf *b, const nnc_history *h, const quantity *q, double x, double y,
                      int epochs, double *vals) {
    double *series[2] = {NULL, NULL};
    for (int c = 0; c < 2; c++) {
        if (!q->key[c][0]) continue;
        series[c] = vals + (size_t)c * (size_t)epochs;
        for (int e = 0; e < epochs; e++) series[c][e] = history_value(h, e, q->key[c]);
    }
    frame f;
    memset(&f, 0, sizeof f);
    y_range((const double *const *)series, 2, epochs, &f.ay);
    y_ticks(&f.ay);
    double pad = epochs > 1 ? 0.04 * (epochs - 1) : 0.5;
    f.ax.lo = 1.0 - pad;
    f.ax.hi = epochs + pad;
    x_ticks(&f.ax);

    double lw = 0.0;
    for (int i = 0; i < f.ay.nt; i++) lw = fmax(lw, text_width(f.ay.label[i], 11.0));
    f.x0 = x + 34.0 + lw + 8.0;
    f.x1 = x + PANEL_W - 18.0;
    f.y0 = y + 34.0;
    f.y1 = y + PANEL_H - 48.0;
    double cx = 0.5 * (f.x0 + f.x1), cy = 0.5 * (f.y0 + f.y1);

    tb_printf(b, "<g>\n<text x=\"%.2f\" y=\"%.2f\" font-size=\"14\" text-anchor=\"middle\" "
              "fill=\"%s\">", cx, y + 22.0, COLOR_TEXT);
    xml_text(b, q->name);
    tb_printf(b, "</text>\n");
    /* grid */
    tb_printf(b, "<g stroke=\"#e8e8e8\" stroke-width=\"0.8\">\n");
    for (int i = 0; i < f.ay.nt; i++)
        tb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", f.x0,
                  fy(&f, f.ay.t[i]), f.x1, fy(&f, f.ay.t[i]));
    for (int i = 0; i < f.ax.nt; i++)
        tb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n",
                  fx(&f, f.ax.t[i]), f.y0, fx(&f, f.ax.t[i]), f.y1);
    tb_printf(b, "</g>\n");
    /* curves: training, then validation over it */
    ptlist avoid = {0};
    int rc = 0;
    for (int c = 0; c < 2 && !rc; c++)
        if (series[c]) rc = draw_curve(b, &f, series[c], epochs, c, &avoid);
    /* frame, ticks, labels */
    tb_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
              "stroke=\"%s\" stroke-width=\"1\"/>\n", f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0,
              COLOR_TEXT);
    tb_printf(b, "<g stroke=\"%s\" stroke-width=\"1\">\n", COLOR_TEXT);
    for (int i = 0; i < f.ay.nt; i++)
        tb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", f.x0 - 4.0,
                  fy(&f, f.ay.t[i]), f.x0, fy(&f, f.ay.t[i]));
    for (int i = 0; i < f.ax.nt; i++)
        tb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n",
                  fx(&f, f.ax.t[i]), f.y1, fx(&f, f.ax.t[i]), f.y1 + 4.0);
    tb_printf(b, "</g>\n<g font-size=\"11\" fill=\"%s\">\n", COLOR_TEXT);
    for (int i = 0; i < f.ay.nt; i++)
        tb_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" "
                  "dy=\"0.35em\">%s</text>\n", f.x0 - 7.0,
                  fy(&f, f.ay.t[i]), f.ay.label[i]);
    for (int i = 0; i < f.ax.nt; i++)
        tb_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n",
                  fx(&f, f.ax.t[i]), f.y1 + 17.0, f.ax.label[i]);
    tb_printf(b, "</g>\n");
    tb_printf(b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"12\" text-anchor=\"middle\" "
              "fill=\"%s\">epoch</text>\n", cx, f.y1 + 36.0, COLOR_TEXT);
    tb_printf(b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"12\" text-anchor=\"middle\" "
              "fill=\"%s\" transform=\"rotate(-90 %.2f %.2f)\">", x + 16.0, cy, COLOR_TEXT,
              x + 16.0, cy);
    xml_text(b, q->name);
    tb_printf(b, "</text>\n");
    if (!rc) draw_legend(b, &f, q, &avoid, epochs <= MARKERS_UP_TO);
    tb_printf(b, "</g>\n");
    free(avoid.p);
    return rc;
}

int nnc_write_history_svg(const nnc_history *h, const char *title, const char *path, char *err,
                          size_t errlen) {
    const char *name = path ? path : "(no file name)";
    int epochs = nnc_history_epochs(h);
    if (epochs < 1) {
        set_err(err, errlen, "%s: nothing to plot: the history has no epochs", name);
        return -1;
    }
    keylist keys;
    quantity q[MAX_KEYS];
    if (collect_keys(h, &keys)) {
        set_err(err, errlen, "%s: cannot write: the history has over %d distinct keys", name,
                MAX_KEYS);
        return -1;
    }
    int nq = collect_quantities(&keys, q);
    if (nq == 0) {
        set_err(err, errlen, "%s: nothing to plot: the history has no values", name);
        return -1;
    }
    int has_title = title && *title;
    int cols = nq == 1 ? 1 : 2, rows = (nq + cols - 1) / cols;
    double top = has_title ? TITLE_H : PAD;
    double W = cols * PANEL_W + 2 * PAD;
    if (has_title) W = fmax(W, text_width(title, 17.0) + 4 * PAD);
    double H = top + rows * PANEL_H + PAD;
    double left = 0.5 * (W - cols * PANEL_W);

    double *vals = malloc(2 * (size_t)epochs * sizeof *vals);
    textbuf b = {0};
    int rc = vals ? 0 : -1;
    tb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
              "viewBox=\"0 0 %.0f %.0f\" font-family=\"%s\">\n", W, H, W, H, FONT);
    if (has_title) {
        tb_printf(&b, "<title>");
        xml_text(&b, title);
        tb_printf(&b, "</title>\n");
    }
    tb_printf(&b, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", W, H);
    if (has_title) {
        tb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"17\" text-anchor=\"middle\" "
                  "fill=\"%s\">", 0.5 * W, 30.0, COLOR_TEXT);
        xml_text(&b, title);
        tb_printf(&b, "</text>\n");
    }
    for (int i = 0; i < nq && !rc; i++)
        rc = draw_panel(&b, h, &q[i], left + (i % cols) * PANEL_W, top + (i / cols) * PANEL_H,
                        epochs, vals);
    tb_printf(&b, "</svg>\n");
    if (rc || b.oom) {
        set_err(err, errlen, "%s: cannot write: out of memory", name);
        rc = -1;
    } else {
        rc = write_atomic(path, b.p, b.len, err, errlen);
    }
    free(vals);
    free(b.p);
    return rc;
}
