/* cli/report.c: the history CSV and the learning-curve SVG of `nnc train --history/--plot`,
 * on histories from real (tiny) trainings: CSV header, rows and values; SVG well-formed
 * (checked by a small XML scanner here, no external tools), escaped title, one polyline per
 * curve, 4-6 rounded y ticks, gaps for non-finite values, a dot for a single epoch; atomic
 * writes (a missing folder creates nothing, a failed write leaves the old file alone).
 * Out of scope: how the picture looks (checked by eye when it changes). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test.h"
#include "compare.h"
#include "files.h"
#include "report.h"

/* ---- histories from real trainings ------------------------------------------------------ */

/* Input(2) -> Dense(1, sigmoid), binary crossentropy, accuracy, validation_split 0.25, on 16
 * points of two clusters: logs loss, accuracy, val_loss, val_accuracy. */
static nnc_history *train_binary(int epochs) {
    float x[16 * 2], y[16];
    for (int i = 0; i < 16; i++) {
        float s = i % 2 ? 1.0f : -1.0f;
        x[2 * i] = s * (0.5f + 0.05f * (float)i);
        x[2 * i + 1] = 0.3f * (float)((i * 7) % 5 - 2);
        y[i] = i % 2 ? 1.0f : 0.0f;
    }
    nnc_model *m = nnc_model_new(NULL);
    nnc_model_set_seed(m, 7);
    nnc_input(m, (int[]){2}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(1);
    d.activation = NNC_ACT_SIGMOID;
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    c.loss = nnc_loss_default(NNC_LOSS_BINARY_CROSSENTROPY);
    c.optimizer = nnc_sgd_default();
    c.optimizer.learning_rate = 0.3f;
    c.metrics[c.n_metrics++] = NNC_METRIC_ACCURACY;
    nnc_history *h = NULL;
    if (nnc_compile(m, &c) == NNC_OK) {
        nnc_fit_opts f = nnc_fit_opts_default();
        f.epochs = epochs;
        f.batch_size = 4;
        f.validation_split = 0.25f;
        f.verbose = 0;
        if (nnc_fit(m, x, y, 16, &f, &h) != NNC_OK) {
            nnc_history_free(h);
            h = NULL;
        }
    }
    nnc_model_free(m);
    return h;
}

/* Input(1) -> Dense(1, no bias, kernel starting at 0.5·scale), MSE with the mse metric,
 * learning y = 3·scale·x: the losses are those of scale 1 times scale². With val_x given,
 * that validation data is used. lr 0 keeps the weight, so every epoch logs the same. */
static nnc_history *train_linear(int epochs, double scale, float lr, const float *val_x,
                                 const float *val_y, size_t val_n) {
    float x[16], y[16];
    for (int i = 0; i < 16; i++) {
        x[i] = (float)(i - 8) / 7.0f;
        y[i] = (float)(3.0 * scale) * x[i];
    }
    nnc_model *m = nnc_model_new(NULL);
    nnc_model_set_seed(m, 3);
    nnc_input(m, (int[]){1}, 1, NULL);
    nnc_dense_opts d = nnc_dense_opts_default(1);
    d.use_bias = false;
    d.kernel_initializer = nnc_initializer_default(NNC_INIT_CONSTANT);
    d.kernel_initializer.a = (float)(0.5 * scale);
    nnc_dense(m, NNC_PREV, &d);
    nnc_compile_opts c = nnc_compile_opts_default();
    c.optimizer = nnc_sgd_default();
    c.optimizer.learning_rate = lr;
    c.metrics[c.n_metrics++] = NNC_METRIC_MSE;
    nnc_history *h = NULL;
    if (nnc_compile(m, &c) == NNC_OK) {
        nnc_fit_opts f = nnc_fit_opts_default();
        f.epochs = epochs;
        f.batch_size = 4;
        f.shuffle = false;
        f.verbose = 0;
        f.validation_x = val_x;
        f.validation_y = val_y;
        f.validation_n = val_n;
        if (nnc_fit(m, x, y, 16, &f, &h) != NNC_OK) {
            nnc_history_free(h);
            h = NULL;
        }
    }
    nnc_model_free(m);
    return h;
}

/* ---- files -------------------------------------------------------------------------------- */

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) s[n] = '\0';
    fclose(f);
    return s;
}

static int spit(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Number of entries in a folder, . and .. not counted. */
static int dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int count_of(const char *s, const char *what) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

/* ---- a minimal XML well-formedness check --------------------------------------------------- */

static int entity_ok(const char *p) { /* p at '&' */
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (int i = 0; i < 5; i++)
        if (!strncmp(p, named[i], strlen(named[i]))) return 1;
    if (p[1] != '#') return 0;
    const char *q = p + 2;
    int hex = *q == 'x';
    if (hex) q++;
    const char *d = q;
    while (hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q)) q++;
    return q > d && *q == ';';
}

static int name_char(char c) {
    return isalnum((unsigned char)c) || c == '_' || c == ':' || c == '-' || c == '.';
}

/* 1 when s is one element (after an optional XML declaration) with every element closed in
 * order, attributes quoted, and & only in entity references; else 0 with the reason in why. */
static int xml_well_formed(const char *s, char *why, size_t whylen) {
    char stack[64][32];
    int depth = 0, roots = 0;
    const char *p = s;
#define BAD(...) do { snprintf(why, whylen, __VA_ARGS__); return 0; } while (0)
    if (!strncmp(p, "<?xml", 5)) {
        p = strstr(p, "?>");
        if (!p) BAD("unterminated XML declaration");
        p += 2;
    }
    while (*p) {
        if (*p != '<') {
            if (depth == 0 && !isspace((unsigned char)*p)) BAD("text outside the root at %ld", (long)(p - s));
            if (*p == '&' && !entity_ok(p)) BAD("bare & at %ld", (long)(p - s));
            if (*p == '>') BAD("bare > at %ld", (long)(p - s));
            p++;
            continue;
        }
        if (!strncmp(p, "<!--", 4)) {
            p = strstr(p, "-->");
            if (!p) BAD("unterminated comment");
            p += 3;
            continue;
        }
        int closing = p[1] == '/';
        p += closing ? 2 : 1;
        const char *n0 = p;
        while (name_char(*p)) p++;
        size_t nl = (size_t)(p - n0);
        if (nl == 0 || nl >= sizeof stack[0]) BAD("bad element name at %ld", (long)(n0 - s));
        if (closing) {
            while (isspace((unsigned char)*p)) p++;
            if (*p != '>') BAD("junk in closing tag at %ld", (long)(p - s));
            p++;
            if (depth == 0 || strlen(stack[depth - 1]) != nl || strncmp(stack[depth - 1], n0, nl))
                BAD("</%.*s> does not close the open element", (int)nl, n0);
            depth--;
            continue;
        }
        if (depth == 0 && roots++) BAD("a second root element at %ld", (long)(n0 - s));
        for (;;) {
            int sp = isspace((unsigned char)*p);
            while (isspace((unsigned char)*p)) p++;
            if (*p == '>' || !strncmp(p, "/>", 2)) break;
            if (!sp || !name_char(*p)) BAD("bad attribute at %ld", (long)(p - s));
            while (name_char(*p)) p++;
            if (*p++ != '=') BAD("attribute without = at %ld", (long)(p - s));
            char q = *p++;
            if (q != '"' && q != '\'') BAD("unquoted attribute at %ld", (long)(p - s));
            for (; *p != q; p++) {
                if (!*p || *p == '<') BAD("unterminated attribute at %ld", (long)(p - s));
                if (*p == '&' && !entity_ok(p)) BAD("bare & in attribute at %ld", (long)(p - s));
            }
            p++;
        }
        if (*p == '>') {
            if (depth == (int)(sizeof stack / sizeof stack[0])) BAD("nesting too deep");
            memcpy(stack[depth], n0, nl);
            stack[depth++][nl] = '\0';
            p++;
        } else {
            p += 2;
        }
    }
    if (depth) BAD("<%s> never closed", stack[depth - 1]);
    if (roots != 1) BAD("%d root elements", roots);
#undef BAD
    return 1;
}

/* Every coordinate-like attribute holds only digits, '.', '-', ',' and spaces: no "nan",
 * "inf" or exponents in the geometry. Returns the offending attribute or NULL. */
static const char *bad_coordinate(const char *svg) {
    static const char *const attrs[] = {" x=\"", " y=\"", " x1=\"", " y1=\"", " x2=\"", " y2=\"",
                                        " cx=\"", " cy=\"", " r=\"", " width=\"", " height=\"",
                                        " points=\""};
    for (size_t a = 0; a < sizeof attrs / sizeof attrs[0]; a++)
        for (const char *p = svg; (p = strstr(p, attrs[a]));) {
            p += strlen(attrs[a]);
            const char *v = p;
            while (*p && *p != '"') p++;
            if (p == v || strspn(v, "0123456789.-, ") != (size_t)(p - v)) return attrs[a];
        }
    return NULL;
}

/* Polylines, and the point count of the one with the most points. */
static int polylines(const char *svg, int *max_points) {
    int n = 0;
    *max_points = 0;
    for (const char *p = svg; (p = strstr(p, "<polyline"));) {
        n++;
        const char *q = strstr(p, " points=\"");
        if (!q) break;
        q += 9;
        int pts = 1;
        for (; *q && *q != '"'; q++) pts += *q == ' ';
        if (pts > *max_points) *max_points = pts;
        p = q;
    }
    return n;
}

/* Checks every panel's y tick labels (the right-aligned texts): 4-6 of them, numbers, rising.
 * Returns the number of panels, or -1 (with the reason in why). Labels go to all, joined. */
static int check_y_ticks(const char *svg, char *all, size_t alllen, char *why, size_t whylen) {
    int panels = 0;
    all[0] = '\0';
    const char *p = strstr(svg, "\n<g>\n");
    while (p) {
        const char *next = strstr(p + 1, "\n<g>\n");
        int nt = 0;
        double prev = -HUGE_VAL;
        for (const char *t = p; (t = strstr(t, "text-anchor=\"end\"")) && (!next || t < next);) {
            t = strchr(t, '>') + 1;
            char label[64];
            size_t l = strcspn(t, "<");
            snprintf(label, sizeof label, "%.*s", (int)(l < 63 ? l : 63), t);
            char *end;
            double v = strtod(label, &end);
            if (*end || end == label || !(v > prev)) {
                snprintf(why, whylen, "panel %d: tick label '%s' after %g", panels + 1, label, prev);
                return -1;
            }
            prev = v;
            nt++;
            size_t used = strlen(all);
            snprintf(all + used, alllen - used, "%s ", label);
        }
        if (nt < 4 || nt > 6) {
            snprintf(why, whylen, "panel %d has %d y tick labels", panels + 1, nt);
            return -1;
        }
        panels++;
        p = next;
    }
    return panels;
}

/* The common checks on a written SVG; returns its text (to free) or NULL. */
static char *check_svg(test_run *r, const char *path, int want_panels) {
    char *svg = slurp(path);
    if (!CHECK(r, svg != NULL, "%s was not written", path)) return NULL;
    char why[256] = "", ticks[1024];
    CHECK(r, !strncmp(svg, "<?xml", 5) || !strncmp(svg, "<svg", 4), "does not start as XML/SVG");
    CHECK(r, xml_well_formed(svg, why, sizeof why), "not well-formed: %s", why);
    CHECK(r, strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"") != NULL, "no SVG namespace");
    CHECK(r, !strstr(svg, "<script") && !strstr(svg, "href") && !strstr(svg, "@import") &&
                 !strstr(svg, "url("), "refers to something outside");
    const char *bad = bad_coordinate(svg);
    CHECK(r, bad == NULL, "attribute%s...\" holds something other than numbers", bad ? bad : "");
    int panels = check_y_ticks(svg, ticks, sizeof ticks, why, sizeof why);
    CHECK(r, panels == want_panels, "%d panels (want %d): %s", panels, want_panels, why);
    return svg;
}

/* ---- the cases ------------------------------------------------------------------------------ */

static void test_csv(test_run *r, const char *dir) {
    char path[256];
    for (int epochs = 1; epochs <= 5; epochs += 4) {
        if (!t_begin(r, "report/csv_%d_epochs", epochs)) continue;
        nnc_history *h = train_binary(epochs);
        snprintf(path, sizeof path, "%s/history_%d.csv", dir, epochs);
        char err[256] = "";
        CHECK(r, h && nnc_history_epochs(h) == epochs, "training gave no %d-epoch history", epochs);
        if (h && CHECK(r, nnc_write_history_csv(h, path, err, sizeof err) == 0, "%s", err)) {
            char *csv = slurp(path);
            CHECK(r, csv && !strncmp(csv, "epoch,accuracy,loss,val_accuracy,val_loss\n", 42),
                  "header: %.60s", csv ? csv : "(none)");
            CHECK(r, csv && count_of(csv, "\n") == epochs + 1, "%d lines, want %d",
                  csv ? count_of(csv, "\n") : 0, epochs + 1);
            const char *p = csv ? strchr(csv, '\n') : NULL;
            const nnc_logs *l0 = nnc_history_logs(h, 0);
            for (int e = 0; p && p[1] && e < epochs; e++) {
                p++;
                char *end;
                long ep = strtol(p, &end, 10);
                CHECK(r, ep == e + 1, "row %d: epoch %ld", e + 1, ep);
                const nnc_logs *l = nnc_history_logs(h, e);
                for (int k = 0; k < l0->count; k++) {
                    CHECK(r, *end == ',', "row %d: field %d missing", e + 1, k + 2);
                    double v = strtod(end + 1, &end), want = nnc_logs_get(l, l0->names[k]);
                    CHECK_NEAR(r, v, want, 1e-12, 1e-5, NULL, "row %d %s vs the logs", e + 1, l0->names[k]);
                }
                CHECK(r, *end == '\n', "row %d: extra fields", e + 1);
                p = strchr(p, '\n');
            }
            free(csv);
        }
        nnc_history_free(h);
        t_end(r);
    }
    if (t_begin(r, "report/csv_nonfinite_empty_fields")) {
        /* Validation points so large that the output overflows float once the weight has
         * grown: val_loss is finite for the first epochs, then inf. */
        float vx[2] = {2e38f, -2e38f}, vy[2] = {0.0f, 0.0f};
        nnc_history *h = train_linear(12, 1.0, 0.05f, vx, vy, 2);
        snprintf(path, sizeof path, "%s/nonfinite.csv", dir);
        char err[256] = "";
        int inf_epochs = 0;
        for (int e = 0; h && e < nnc_history_epochs(h); e++)
            inf_epochs += !isfinite(nnc_logs_get(nnc_history_logs(h, e), "val_loss"));
        CHECK(r, h && inf_epochs > 0 && inf_epochs < 12, "want some non-finite val_loss, got %d",
              inf_epochs);
        if (h && CHECK(r, nnc_write_history_csv(h, path, err, sizeof err) == 0, "%s", err)) {
            char *csv = slurp(path);
            CHECK(r, csv && !strncmp(csv, "epoch,loss,mse,val_loss,val_mse\n", 32), "header");
            CHECK(r, csv && count_of(csv, ",,\n") == inf_epochs, "%d rows ending in two empty "
                  "fields, want %d", csv ? count_of(csv, ",,\n") : 0, inf_epochs);
            CHECK(r, csv && !strstr(csv, "inf") && !strstr(csv, "nan"), "non-finite text");
            free(csv);
        }
        nnc_history_free(h);
        t_end(r);
    }
}

static void test_svg(test_run *r, const char *dir) {
    char path[256], err[256];
    const char *title = "digits.nnc on <digits> & \"friends\"";
    if (t_begin(r, "report/svg_5_epochs")) {
        nnc_history *h = train_binary(5);
        snprintf(path, sizeof path, "%s/five.svg", dir);
        CHECK(r, h != NULL, "training failed");
        if (h && CHECK(r, nnc_write_history_svg(h, title, path, err, sizeof err) == 0, "%s", err)) {
            char *svg = check_svg(r, path, 2);
            if (svg) {
                int maxp = 0;
                CHECK(r, strstr(svg, "digits.nnc on &lt;digits&gt; &amp; &quot;friends&quot;") != NULL,
                      "escaped title missing");
                CHECK(r, !strstr(svg, "<digits>"), "raw title in the SVG");
                int np = polylines(svg, &maxp);
                CHECK(r, np == 4 && maxp == 5, "%d polylines, longest %d points: want 4 of 5", np,
                      maxp);
                CHECK(r, count_of(svg, "stroke-dasharray") == 4, "want 2 dashed curves + 2 legend "
                      "samples, got %d", count_of(svg, "stroke-dasharray"));
                CHECK(r, strstr(svg, ">loss</text>") && strstr(svg, ">accuracy</text>"),
                      "panel titles missing");
                CHECK(r, count_of(svg, ">training</text>") == 2 && count_of(svg, ">validation</text>") == 2,
                      "legends missing");
                CHECK(r, count_of(svg, ">epoch</text>") == 2, "x axis titles missing");
                CHECK(r, strstr(svg, ">5</text>") != NULL, "no tick for epoch 5");
                CHECK(r, strstr(svg, ">loss</text>") < strstr(svg, ">accuracy</text>"),
                      "loss is not the first panel");
            }
            free(svg);
        }
        nnc_history_free(h);
        t_end(r);
    }
    if (t_begin(r, "report/svg_1_epoch_dots")) {
        nnc_history *h = train_binary(1);
        snprintf(path, sizeof path, "%s/one.svg", dir);
        CHECK(r, h != NULL, "training failed");
        if (h && CHECK(r, nnc_write_history_svg(h, "one epoch", path, err, sizeof err) == 0, "%s", err)) {
            char *svg = check_svg(r, path, 2);
            int maxp = 0;
            /* 4 curves of one point: a dot each (plus legend dots), no lines. */
            CHECK(r, svg && polylines(svg, &maxp) == 0, "polylines for single points");
            CHECK(r, svg && count_of(svg, "<circle") >= 4, "%d dots", svg ? count_of(svg, "<circle") : 0);
            CHECK(r, svg && strstr(svg, ">1</text>") != NULL, "no tick for epoch 1");
            free(svg);
        }
        nnc_history_free(h);
        t_end(r);
    }
    if (t_begin(r, "report/svg_300_epochs")) {
        nnc_history *h = train_binary(300);
        snprintf(path, sizeof path, "%s/many.svg", dir);
        CHECK(r, h != NULL, "training failed");
        if (h && CHECK(r, nnc_write_history_svg(h, NULL, path, err, sizeof err) == 0, "%s", err)) {
            char *svg = check_svg(r, path, 2);
            int maxp = 0;
            CHECK(r, svg && polylines(svg, &maxp) == 4 && maxp == 300, "want 4 polylines of 300 points");
            CHECK(r, svg && !strstr(svg, "<title>"), "a title with none given");
            CHECK(r, svg && strstr(svg, ">300</text>") != NULL, "no tick for epoch 300");
            CHECK(r, svg && count_of(svg, "<circle") == 0, "dots on a long curve");
            free(svg);
        }
        nnc_history_free(h);
        t_end(r);
    }
    if (t_begin(r, "report/svg_nonfinite_gaps")) {
        float vx[2] = {2e38f, -2e38f}, vy[2] = {0.0f, 0.0f};
        nnc_history *h = train_linear(30, 1.0, 0.05f, vx, vy, 2);
        snprintf(path, sizeof path, "%s/gaps.svg", dir);
        int finite = 0;
        for (int e = 0; h && e < nnc_history_epochs(h); e++)
            finite += isfinite(nnc_logs_get(nnc_history_logs(h, e), "val_loss"));
        CHECK(r, h && finite >= 2 && finite < 30, "want some finite val_loss, got %d", finite);
        if (h && CHECK(r, nnc_write_history_svg(h, "gaps", path, err, sizeof err) == 0, "%s", err)) {
            char *svg = check_svg(r, path, 2);
            int maxp = 0;
            /* training curves whole; validation ones only over their finite epochs */
            CHECK(r, svg && polylines(svg, &maxp) == 4 && maxp == 30, "want 4 polylines");
            CHECK(r, svg && count_of(svg, "stroke-dasharray=\"6 3.5\" points") == 2, "dashed curves");
            int short_ones = 0;
            for (const char *p = svg; svg && (p = strstr(p, "points=\"")); p++) {
                int pts = 1;
                for (const char *q = p + 8; *q != '"'; q++) pts += *q == ' ';
                short_ones += pts == finite;
            }
            CHECK(r, short_ones == 2, "%d polylines of %d points, want 2", short_ones, finite);
            CHECK(r, svg && !strstr(svg, "nan") && !strstr(svg, "inf"), "non-finite text");
            free(svg);
        }
        nnc_history_free(h);
        t_end(r);
    }
    /* Value scales: tick labels in %g form for tiny and huge values; constant curves. */
    static const struct {
        const char *name;
        double scale;
        float lr;
        const char *want;
    } scales[] = {
        {"report/svg_tiny_values", 1e-6, 0.05f, "e-"},
        {"report/svg_huge_values", 1e6, 0.05f, "e+"},
        {"report/svg_everyday_values", 1.0, 0.05f, "0."},
        {"report/svg_constant_curve", 1.0, 0.0f, "."},
    };
    for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
        if (!t_begin(r, "%s", scales[i].name)) continue;
        nnc_history *h = train_linear(8, scales[i].scale, scales[i].lr, NULL, NULL, 0);
        snprintf(path, sizeof path, "%s/scale_%zu.svg", dir, i);
        CHECK(r, h != NULL, "training failed");
        if (h && CHECK(r, nnc_write_history_svg(h, scales[i].name, path, err, sizeof err) == 0,
                       "%s", err)) {
            char *svg = check_svg(r, path, 2);
            char ticks[1024], why[256] = "";
            if (svg && check_y_ticks(svg, ticks, sizeof ticks, why, sizeof why) > 0) {
                CHECK(r, strstr(ticks, scales[i].want) != NULL, "tick labels %s", ticks);
                /* a flat curve gets a few rounded labels, not rounding noise magnified */
                CHECK(r, scales[i].lr != 0.0f || strspn(ticks, "0123456789. ") == strlen(ticks),
                      "tick labels %s", ticks);
                for (const char *w = ticks; scales[i].lr == 0.0f && *w; w += strcspn(w, " ") + 1)
                    CHECK(r, strcspn(w, " ") <= 4, "long tick label in %s", ticks);
                t_info(r, "y ticks: %s", ticks);
            }
            int maxp = 0;
            CHECK(r, svg && polylines(svg, &maxp) == 2 && maxp == 8, "want 2 polylines of 8");
            CHECK(r, svg && !strstr(svg, ">validation</text>"), "validation legend without data");
            free(svg);
        }
        nnc_history_free(h);
        t_end(r);
    }
}

static void test_failures(test_run *r, const char *dir) {
    char path[256], err[256];
    nnc_history *h = train_binary(3);
    if (t_begin(r, "report/missing_folder_creates_nothing")) {
        char sub[200];
        snprintf(sub, sizeof sub, "%s/nodir", dir);
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof path, "%s/out.%s", sub, k ? "svg" : "csv");
            err[0] = '\0';
            int rc = k ? nnc_write_history_svg(h, "t", path, err, sizeof err)
                       : nnc_write_history_csv(h, path, err, sizeof err);
            CHECK(r, rc == -1, "%s: rc %d", path, rc);
            CHECK(r, !strncmp(err, path, strlen(path)) && strstr(err, strerror(ENOENT)) &&
                         !strchr(err, '\n'), "message: '%s'", err);
            CHECK(r, access(sub, F_OK) != 0, "%s was created", sub);
        }
        t_end(r);
    }
    if (t_begin(r, "report/failed_write_keeps_old_file")) {
        /* A file size limit makes the temporary file's write fail (as a full disk would). */
        char sub[200];
        snprintf(sub, sizeof sub, "%s/keep", dir);
        mkdir(sub, 0755);
        struct rlimit old;
        getrlimit(RLIMIT_FSIZE, &old);
        void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof path, "%s/h.%s", sub, k ? "svg" : "csv");
            CHECK(r, spit(path, "old contents\n") == 0, "cannot make %s", path);
            struct rlimit lim = old;
            lim.rlim_cur = 40;
            setrlimit(RLIMIT_FSIZE, &lim);
            err[0] = '\0';
            int rc = k ? nnc_write_history_svg(h, "t", path, err, sizeof err)
                       : nnc_write_history_csv(h, path, err, sizeof err);
            setrlimit(RLIMIT_FSIZE, &old);
            CHECK(r, rc == -1 && !strncmp(err, path, strlen(path)), "rc %d, '%s'", rc, err);
            char *now = slurp(path);
            CHECK(r, now && !strcmp(now, "old contents\n"), "%s changed", path);
            free(now);
            t_info(r, "%s", err);
        }
        signal(SIGXFSZ, old_handler);
        CHECK(r, dir_entries(sub) == 2, "%d files left in %s, want the 2 old ones", dir_entries(sub), sub);
        /* Without the limit the same calls replace the files. */
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof path, "%s/h.%s", sub, k ? "svg" : "csv");
            int rc = k ? nnc_write_history_svg(h, "t", path, err, sizeof err)
                       : nnc_write_history_csv(h, path, err, sizeof err);
            char *now = slurp(path);
            CHECK(r, rc == 0 && now && !strncmp(now, k ? "<?xml" : "epoch,", k ? 5 : 6), "%s not replaced", path);
            free(now);
        }
        CHECK(r, dir_entries(sub) == 2, "temporary files left in %s", sub);
        t_end(r);
    }
    if (t_begin(r, "report/target_is_a_folder")) {
        char sub[200];
        snprintf(sub, sizeof sub, "%s/afolder", dir);
        mkdir(sub, 0755);
        int before = dir_entries(dir);
        int rc = nnc_write_history_svg(h, "t", sub, err, sizeof err);
        CHECK(r, dir_entries(dir) == before, "a temporary file was left beside it");
        struct stat st;
        CHECK(r, rc == -1 && !strncmp(err, sub, strlen(sub)), "rc %d '%s'", rc, err);
        CHECK(r, stat(sub, &st) == 0 && S_ISDIR(st.st_mode), "the folder is gone");
        CHECK(r, dir_entries(sub) == 0, "something written in it");
        snprintf(path, sizeof path, "%s/", sub);
        CHECK(r, nnc_write_history_csv(h, path, err, sizeof err) == -1, "a path ending in /");
        t_end(r);
    }
    if (t_begin(r, "report/empty_history")) {
        snprintf(path, sizeof path, "%s/empty.svg", dir);
        CHECK(r, nnc_write_history_svg(NULL, "t", path, err, sizeof err) == -1 &&
                     strstr(err, "no epochs"), "'%s'", err);
        CHECK(r, access(path, F_OK) != 0, "an empty plot was written");
        snprintf(path, sizeof path, "%s/empty.csv", dir);
        int rc = nnc_write_history_csv(NULL, path, err, sizeof err);
        char *csv = rc == 0 ? slurp(path) : NULL;
        CHECK(r, csv && !strcmp(csv, "epoch\n"), "empty CSV: '%s'", csv ? csv : err);
        free(csv);
        t_end(r);
    }
    nnc_history_free(h);
}

void suite_report(test_run *r);
void suite_report(test_run *r) {
    char dir[64] = "/tmp/nnc_report_XXXXXX";
    if (!mkdtemp(dir)) {
        if (t_begin(r, "report/tmpdir")) t_skip(r, "cannot make a temporary folder");
        return;
    }
    test_csv(r, dir);
    test_svg(r, dir);
    test_failures(r, dir);
    if (!getenv("NNC_KEEP_REPORTS")) remove_tree(dir);
    else printf("report files kept in %s\n", dir);
}
