/* eval_report.c: the classification report of `nnc eval --report` and its picture (see
 * eval_report.h). Precision, recall and F1 per class are scikit-learn's
 * precision_recall_fscore_support (0 where a class is never predicted or never true), the
 * averages its classification_report's: accuracy, macro (unweighted mean) and weighted (by
 * support); a multi-label report has micro, macro and weighted averages. The curves are the
 * exact ones (a point at each distinct probability), their areas roc_auc_score and
 * average_precision_score. */
#define _POSIX_C_SOURCE 200809L
#include "eval_report.h"
#include "textbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- counting ------------------------------------------------------------------------------ */

static const nnc_column *target_col(const nnc_model *m, size_t k) {
    size_t n, seen = 0;
    const nnc_column *c = nnc_model_columns(m, &n);
    for (size_t i = 0; c && i < n; i++)
        if (c[i].role == NNC_COLUMN_TARGET && seen++ == k) return &c[i];
    return NULL;
}

static char *dup_name(const char *s, size_t i) {
    char num[32];
    if (!s) snprintf(num, sizeof num, "%zu", i), s = num;
    char *p = malloc(strlen(s) + 1);
    if (p) strcpy(p, s);
    return p;
}

/* Class names: the recorded target's, else 0, 1, ...; labels: the recorded columns' names.
 * first: the output's first target column among the model's. */
static int name_classes(const nnc_model *m, cli_report *r, size_t first) {
    r->names = calloc(r->classes, sizeof *r->names);
    if (!r->names) return -1;
    const nnc_column *t = target_col(m, first);
    for (size_t i = 0; i < r->classes; i++) {
        const char *s = NULL;
        if (r->kind == REPORT_MULTILABEL) {
            const nnc_column *c = target_col(m, first + i);
            s = c && c->name[0] ? c->name : NULL;
        } else if (t && t->values && t->n_values == r->classes) {
            s = t->values[i];
        }
        if (!(r->names[i] = dup_name(s, i))) return -1;
    }
    return 0;
}

static size_t argmax(const float *v, size_t k) {
    size_t b = 0;
    for (size_t j = 1; j < k; j++)
        if (v[j] > v[b]) b = j;
    return b;
}

static void count(cli_report *r, const float *p, const float *y, size_t k, size_t t) {
    for (size_t i = 0; i < r->n; i++) {
        const float *pi = p + i * k, *yi = y + i * t;
        if (r->kind == REPORT_MULTILABEL) {
            for (size_t j = 0; j < k; j++) {
                int pred = pi[j] > 0.5f, truth = yi[j] > 0.5f;
                r->cm[4 * j + (pred ? (truth ? 0 : 1) : (truth ? 2 : 3))] += 1.0;
            }
            continue;
        }
        size_t truth, pred;
        if (r->kind == REPORT_BINARY) {
            truth = yi[0] > 0.5f, pred = pi[0] > 0.5f;
            r->score[i] = pi[0];
            r->truth[i] = (unsigned char)truth;
        } else {
            truth = t == 1 ? (size_t)yi[0] : argmax(yi, t);
            pred = argmax(pi, k);
        }
        if (truth < r->classes) r->cm[truth * r->classes + pred] += 1.0;
    }
}

int cli_report_is_classifier(const nnc_model *m, int output) {
    const nnc_compile_opts co = nnc_model_compile_opts(m);
    const nnc_loss_kind lk = co.n_outputs ? co.outputs[output].loss.kind : co.loss.kind;
    return lk == NNC_LOSS_BINARY_CROSSENTROPY || lk == NNC_LOSS_CATEGORICAL_CROSSENTROPY ||
           lk == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
}

/* Output h's block of each row of a (rows of `all` values), from `at` on, into out [n, k]. */
static void gather(const float *a, size_t n, size_t all, size_t at, size_t k, float *out) {
    for (size_t i = 0; i < n; i++) memcpy(out + i * k, a + i * all + at, k * sizeof *out);
}

int cli_report_build(nnc_model *m, const cli_data *d, int output, cli_report *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    const nnc_compile_opts co = nnc_model_compile_opts(m);
    const nnc_loss loss = co.n_outputs ? co.outputs[output].loss : co.loss;
    const size_t K = nnc_output_size(m), T = nnc_target_size(m);
    const size_t k = nnc_output_size_at(m, output), t = nnc_target_size_at(m, output);
    size_t p_at = 0, y_at = 0;
    for (int h = 0; h < output; h++) p_at += nnc_output_size_at(m, h), y_at += nnc_target_size_at(m, h);
    if (loss.kind == NNC_LOSS_BINARY_CROSSENTROPY) r->kind = k == 1 ? REPORT_BINARY : REPORT_MULTILABEL;
    else if (cli_report_is_classifier(m, output)) r->kind = REPORT_MULTICLASS;
    else {
        snprintf(err, errlen, "--report: a classifier's report (loss binary_crossentropy, categorical_crossentropy or "
                 "sparse_categorical_crossentropy); this model's loss is %s", nnc_loss_name(loss.kind));
        return -1;
    }
    r->n = d->n;
    r->classes = r->kind == REPORT_BINARY ? 2 : k;
    size_t cells = r->kind == REPORT_MULTILABEL ? 4 * k : r->classes * r->classes;
    float *all = malloc(d->n * K * sizeof *all + 1), *p = malloc(d->n * k * sizeof *p + 1);
    float *y = malloc(d->n * t * sizeof *y + 1);
    r->cm = calloc(cells, sizeof *r->cm);
    if (r->kind == REPORT_BINARY) {
        r->score = malloc(d->n * sizeof *r->score + 1);
        r->truth = malloc(d->n + 1);
    }
    int rc = 0;
    if (!all || !p || !y || !r->cm || (r->kind == REPORT_BINARY && (!r->score || !r->truth)) ||
        name_classes(m, r, y_at)) {
        snprintf(err, errlen, "--report: out of memory");
        rc = -1;
    } else if (nnc_predict(m, d->x, d->n, all) != NNC_OK) {
        snprintf(err, errlen, "%s: %s", d->source, nnc_last_error(m));
        rc = -1;
    } else {
        gather(all, d->n, K, p_at, k, p);
        gather(d->y, d->n, T, y_at, t, y);
        if (loss.from_logits && r->kind == REPORT_MULTICLASS) nnc_softmax_rows(p, d->n, k);
        if (loss.from_logits && r->kind != REPORT_MULTICLASS) nnc_sigmoid(p, d->n * k);
        count(r, p, y, k, t);
    }
    free(all), free(p), free(y);
    return rc;
}

void cli_report_free(cli_report *r) {
    for (size_t i = 0; r->names && i < r->classes; i++) free(r->names[i]);
    free(r->names);
    free(r->cm);
    free(r->score);
    free(r->truth);
    memset(r, 0, sizeof *r);
}

/* ---- the table ----------------------------------------------------------------------------- */

typedef struct {
    double precision, recall, f1, support;
} prf;

static double ratio(double a, double b) { return b > 0.0 ? a / b : 0.0; }

static prf from_counts(double tp, double fp, double fn) {
    prf s = {ratio(tp, tp + fp), ratio(tp, tp + fn), 0.0, tp + fn};
    s.f1 = ratio(2.0 * s.precision * s.recall, s.precision + s.recall);
    return s;
}

/* Class (or label) i's tp, fp, fn. */
static prf class_prf(const cli_report *r, size_t i) {
    if (r->kind == REPORT_MULTILABEL) return from_counts(r->cm[4 * i], r->cm[4 * i + 1], r->cm[4 * i + 2]);
    double tp = r->cm[i * r->classes + i], pred = 0.0, truth = 0.0;
    for (size_t j = 0; j < r->classes; j++) pred += r->cm[j * r->classes + i], truth += r->cm[i * r->classes + j];
    return from_counts(tp, pred - tp, truth - tp);
}

/* macro (0) or weighted (1) average of the classes' scores. */
static prf average(const cli_report *r, int weighted) {
    prf a = {0, 0, 0, 0};
    double total = 0.0;
    for (size_t i = 0; i < r->classes; i++) total += class_prf(r, i).support;
    for (size_t i = 0; i < r->classes; i++) {
        prf s = class_prf(r, i);
        double w = weighted ? ratio(s.support, total) : 1.0 / (double)r->classes;
        a.precision += w * s.precision, a.recall += w * s.recall, a.f1 += w * s.f1;
    }
    a.support = total;
    return a;
}

static prf micro(const cli_report *r) {
    double tp = 0.0, fp = 0.0, fn = 0.0;
    for (size_t i = 0; i < r->classes; i++) tp += r->cm[4 * i], fp += r->cm[4 * i + 1], fn += r->cm[4 * i + 2];
    return from_counts(tp, fp, fn);
}

static double accuracy(const cli_report *r) {
    double hits = 0.0, all = 0.0;
    for (size_t i = 0; i < r->classes; i++)
        for (size_t j = 0; j < r->classes; j++) all += r->cm[i * r->classes + j], hits += i == j ? r->cm[i * r->classes + j] : 0.0;
    return ratio(hits, all);
}

static int name_width(const cli_report *r) {
    int w = 12;
    for (size_t i = 0; i < r->classes; i++)
        if ((int)strlen(r->names[i]) > w) w = (int)strlen(r->names[i]);
    return w > 40 ? 40 : w;
}

static void row(FILE *f, int w, const char *name, prf s) {
    fprintf(f, "%*.*s  %9.4f %9.4f %9.4f %9.0f\n", w, w, name, s.precision, s.recall, s.f1, s.support);
}

static void print_matrix(const cli_report *r, FILE *f, int w) {
    if (r->kind == REPORT_MULTILABEL) {
        fprintf(f, "\nconfusion matrix per label (p > 0.5 predicts the label)\n%*s  %9s %9s %9s %9s\n", w, "label", "tp",
                "fp", "fn", "tn");
        for (size_t i = 0; i < r->classes; i++)
            fprintf(f, "%*.*s  %9.0f %9.0f %9.0f %9.0f\n", w, w, r->names[i], r->cm[4 * i], r->cm[4 * i + 1],
                    r->cm[4 * i + 2], r->cm[4 * i + 3]);
        return;
    }
    int cw = 9;
    for (size_t j = 0; j < r->classes; j++)
        if ((int)strlen(r->names[j]) + 1 > cw) cw = (int)strlen(r->names[j]) + 1;
    if (cw > 24) cw = 24;
    fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted class)\n%*s ", w, "");
    for (size_t j = 0; j < r->classes; j++) fprintf(f, " %*.*s", cw, cw, r->names[j]);
    fputc('\n', f);
    for (size_t i = 0; i < r->classes; i++) {
        fprintf(f, "%*.*s ", w, w, r->names[i]);
        for (size_t j = 0; j < r->classes; j++) fprintf(f, " %*.0f", cw, r->cm[i * r->classes + j]);
        fputc('\n', f);
    }
}

void cli_report_print(const cli_report *r, FILE *f) {
    const int w = name_width(r);
    fprintf(f, "\n%*s  %9s %9s %9s %9s\n\n", w, "", "precision", "recall", "f1-score", "support");
    for (size_t i = 0; i < r->classes; i++) row(f, w, r->names[i], class_prf(r, i));
    fputc('\n', f);
    prf a = average(r, 0);
    if (r->kind == REPORT_MULTILABEL) row(f, w, "micro avg", micro(r));
    else fprintf(f, "%*s  %9s %9s %9.4f %9.0f\n", w, "accuracy", "", "", accuracy(r), a.support);
    row(f, w, "macro avg", a);
    row(f, w, "weighted avg", average(r, 1));
    if (r->kind == REPORT_BINARY) {
        double roc, ap;
        cli_report_auc(r, &roc, &ap);
        fprintf(f, "\nroc_auc: %.4f - average_precision: %.4f\n", roc, ap);
    }
    print_matrix(r, f, w);
}

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void json_prf(FILE *f, const char *key, prf s) {
    fprintf(f, ",\"%s\":{\"precision\":%.9g,\"recall\":%.9g,\"f1_score\":%.9g,\"support\":%.0f}", key, s.precision,
            s.recall, s.f1, s.support);
}

void cli_report_json(const cli_report *r, const char *output, FILE *f) {
    static const char *const fields[] = {"precision", "recall", "f1_score", "support"};
    fputc('{', f);
    if (output) {
        fputs("\"output\":", f);
        json_string(f, output);
        fputc(',', f);
    }
    fprintf(f, "\"report\":{\"kind\":\"%s\",\"classes\":[",
            r->kind == REPORT_BINARY ? "binary" : r->kind == REPORT_MULTILABEL ? "multi_label" : "multi_class");
    for (size_t i = 0; i < r->classes; i++) {
        if (i) fputc(',', f);
        json_string(f, r->names[i]);
    }
    fputc(']', f);
    for (int q = 0; q < 4; q++) {
        fprintf(f, ",\"%s\":[", fields[q]);
        for (size_t i = 0; i < r->classes; i++) {
            prf s = class_prf(r, i);
            double v = q == 0 ? s.precision : q == 1 ? s.recall : q == 2 ? s.f1 : s.support;
            fprintf(f, q == 3 ? "%s%.0f" : "%s%.9g", i ? "," : "", v);
        }
        fputc(']', f);
    }
    if (r->kind == REPORT_MULTILABEL) json_prf(f, "micro_avg", micro(r));
    else fprintf(f, ",\"accuracy\":%.9g", accuracy(r));
    json_prf(f, "macro_avg", average(r, 0));
    json_prf(f, "weighted_avg", average(r, 1));
    if (r->kind == REPORT_BINARY) {
        double roc, ap;
        cli_report_auc(r, &roc, &ap);
        fprintf(f, ",\"roc_auc\":%.9g,\"average_precision\":%.9g", roc, ap);
    }
    size_t cols = r->kind == REPORT_MULTILABEL ? 4 : r->classes;
    fprintf(f, ",\"confusion_matrix\":[");
    for (size_t i = 0; i < r->classes; i++) {
        fprintf(f, "%s[", i ? "," : "");
        for (size_t j = 0; j < cols; j++) fprintf(f, "%s%.0f", j ? "," : "", r->cm[i * cols + j]);
        fputc(']', f);
    }
    fprintf(f, "]}}\n");
    fflush(f);
}

/* ---- the curves --------------------------------------------------------------------------- */

typedef struct {
    float s;
    unsigned char t;
} scored;

static int by_score_desc(const void *a, const void *b) {
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

/* The curve's points at each distinct score, highest first: false and true positive counts.
 * Returns the count (into fp, tp of room n + 1), or 0 when out of memory. */
static size_t curve_points(const cli_report *r, double *fp, double *tp, double *pos, double *neg) {
    scored *v = malloc(r->n * sizeof *v + 1);
    if (!v) return 0;
    *pos = *neg = 0.0;
    for (size_t i = 0; i < r->n; i++) {
        v[i] = (scored){r->score[i], r->truth[i]};
        *(v[i].t ? pos : neg) += 1.0;
    }
    qsort(v, r->n, sizeof *v, by_score_desc);
    size_t m = 0;
    double a = 0.0, b = 0.0;
    fp[m] = tp[m] = 0.0, m++;
    for (size_t i = 0; i < r->n;) {
        float s = v[i].s;
        for (; i < r->n && v[i].s == s; i++) *(v[i].t ? &a : &b) += 1.0;
        fp[m] = b, tp[m] = a, m++;
    }
    free(v);
    return m;
}

void cli_report_auc(const cli_report *r, double *roc_auc, double *average_precision) {
    *roc_auc = *average_precision = (double)NAN;
    double *fp = malloc((r->n + 1) * sizeof *fp), *tp = malloc((r->n + 1) * sizeof *tp), pos, neg;
    size_t m = fp && tp ? curve_points(r, fp, tp, &pos, &neg) : 0;
    if (m && pos > 0.0 && neg > 0.0) {
        double roc = 0.0, ap = 0.0;
        for (size_t i = 1; i < m; i++) {
            roc += (fp[i] - fp[i - 1]) * (tp[i] + tp[i - 1]) / 2.0;
            ap += (tp[i] - tp[i - 1]) / pos * ratio(tp[i], tp[i] + fp[i]);
        }
        *roc_auc = roc / (pos * neg), *average_precision = ap;
    }
    free(fp);
    free(tp);
}

/* ---- SVG ------------------------------------------------------------------------------------ */

static void xml(cli_text *b, const char *s) {
    for (; *s; s++) {
        if (*s == '&') cli_text_printf(b, "&amp;");
        else if (*s == '<') cli_text_printf(b, "&lt;");
        else if (*s == '>') cli_text_printf(b, "&gt;");
        else if (*s == '"') cli_text_printf(b, "&quot;");
        else cli_text_printf(b, "%c", (unsigned char)*s < 0x20 ? '?' : *s);
    }
}

#define FONT "DejaVu Sans, Helvetica, Arial, sans-serif"
#define BLUE "#1f77b4"
#define PANEL 380.0

/* The matrix as a heat map: each cell shaded by its share of its row (the true class). */
static void svg_matrix(cli_text *b, const cli_report *r, double x0, double y0) {
    const size_t k = r->kind == REPORT_MULTILABEL ? 2 : r->classes;
    const double size = PANEL - 80.0, cell = size / (double)k, left = x0 + 70.0, top = y0 + 40.0;
    cli_text_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\">confusion matrix</text>\n",
        left + size / 2, y0 + 20.0);
    for (size_t i = 0; i < k; i++) {
        double total = 0.0;
        for (size_t j = 0; j < k; j++) total += r->cm[i * k + j];
        for (size_t j = 0; j < k; j++) {
            double v = r->cm[i * k + j], share = ratio(v, total);
            int c = (int)lround(255.0 - 200.0 * share);
            cli_text_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"rgb(%d,%d,255)\" stroke=\"#fff\"/>\n",
                left + (double)j * cell, top + (double)i * cell, cell, cell, c, c);
            if (k <= 30)
                cli_text_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" text-anchor=\"middle\" fill=\"%s\">%.0f</text>\n",
                    left + ((double)j + 0.5) * cell, top + ((double)i + 0.5) * cell + 4.0, fmin(13.0, cell / 3.0),
                    share > 0.6 ? "#fff" : "#262626", v);
        }
    }
    for (size_t i = 0; i < k && k <= 30; i++) {
        cli_text_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">", left - 4.0,
            top + ((double)i + 0.5) * cell + 3.0);
        xml(b, r->names[i]);
        cli_text_printf(b, "</text>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">", left + ((double)i + 0.5) * cell,
            top + size + 14.0);
        xml(b, r->names[i]);
        cli_text_printf(b, "</text>\n");
    }
    cli_text_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">predicted</text>\n", left + size / 2,
        top + size + 32.0);
    cli_text_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f %.1f)\">true"
        "</text>\n", x0 + 14.0, top + size / 2, x0 + 14.0, top + size / 2);
}

/* A curve in a unit square: ROC (fpr, tpr) or PR (recall, precision). */
static void svg_curve(cli_text *b, const double *fp, const double *tp, size_t m, double pos, double neg, int pr,
                      double area, double x0, double y0) {
    const double size = PANEL - 90.0, left = x0 + 60.0, top = y0 + 40.0;
    cli_text_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\">%s (%s %.4f)</text>\n",
        left + size / 2, y0 + 20.0, pr ? "precision-recall curve" : "ROC curve", pr ? "AP" : "AUC", area);
    cli_text_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#262626\"/>\n", left, top,
        size, size);
    for (int t = 0; t <= 4; t++) {
        double v = t / 4.0;
        cli_text_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%.2g</text>\n", left + v * size,
            top + size + 14.0, v);
        cli_text_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.2g</text>\n", left - 4.0,
            top + (1.0 - v) * size + 3.0, v);
    }
    if (!pr)
        cli_text_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n", left,
            top + size, left + size, top);
    cli_text_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" points=\"", BLUE);
    for (size_t i = pr ? 1 : 0; i < m; i++) {
        double x = pr ? ratio(tp[i], pos) : ratio(fp[i], neg), y = pr ? ratio(tp[i], tp[i] + fp[i]) : ratio(tp[i], pos);
        if (pr && i > 1) { /* a step: recall moves at the previous precision */
            double py = ratio(tp[i - 1], tp[i - 1] + fp[i - 1]);
            cli_text_printf(b, "%.2f,%.2f ", left + x * size, top + (1.0 - py) * size);
        }
        cli_text_printf(b, "%.2f,%.2f ", left + x * size, top + (1.0 - y) * size);
    }
    cli_text_printf(b, "\"/>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%s</text>\n", left + size / 2,
        top + size + 32.0, pr ? "recall" : "false positive rate");
    cli_text_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f %.1f)\">%s"
        "</text>\n", x0 + 16.0, top + size / 2, x0 + 16.0, top + size / 2, pr ? "precision" : "true positive rate");
}

int cli_report_svg(const cli_report *r, const char *title, const char *path, char *err, size_t errlen) {
    cli_text b = {0};
    const int panels = r->kind == REPORT_BINARY ? 3 : 1;
    const double w = PANEL * panels, h = PANEL + 40.0;
    cli_text_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
        "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"%s\" fill=\"#262626\">\n<rect width=\"100%%\" "
        "height=\"100%%\" fill=\"#fff\"/>\n", w, h, w, h, FONT);
    if (title && *title) {
        cli_text_printf(&b, "<text x=\"%.1f\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">", w / 2);
        xml(&b, title);
        cli_text_printf(&b, "</text>\n");
    }
    if (r->kind == REPORT_MULTILABEL) {
        /* one matrix of all labels' counts summed: tp fn / fp tn as a 2×2 (rows: true) */
        cli_report sum = *r;
        double cm[4] = {0, 0, 0, 0};
        char *names[2] = {"1", "0"};
        for (size_t i = 0; i < r->classes; i++)
            cm[0] += r->cm[4 * i], cm[1] += r->cm[4 * i + 2], cm[2] += r->cm[4 * i + 1], cm[3] += r->cm[4 * i + 3];
        sum.cm = cm, sum.names = names;
        svg_matrix(&b, &sum, 0.0, 30.0);
    } else {
        svg_matrix(&b, r, 0.0, 30.0);
    }
    if (r->kind == REPORT_BINARY) {
        double *fp = malloc((r->n + 1) * sizeof *fp), *tp = malloc((r->n + 1) * sizeof *tp), pos = 0, neg = 0, roc, ap;
        size_t m = fp && tp ? curve_points(r, fp, tp, &pos, &neg) : 0;
        cli_report_auc(r, &roc, &ap);
        if (m) {
            svg_curve(&b, fp, tp, m, pos, neg, 0, roc, PANEL, 30.0);
            svg_curve(&b, fp, tp, m, pos, neg, 1, ap, 2 * PANEL, 30.0);
        } else {
            b.oom = 1;
        }
        free(fp);
        free(tp);
    }
    cli_text_printf(&b, "</svg>\n");
    nnc_error e = {""};
    int rc = 0;
    if (b.oom) snprintf(err, errlen, "%s: cannot write: out of memory", path), rc = -1;
    else if (nnc_file_write_atomic(path, b.p, b.len, &e) != NNC_OK) snprintf(err, errlen, "%s", e.message), rc = -1;
    cli_text_free(&b);
    return rc;
}
