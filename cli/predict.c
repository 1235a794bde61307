/* nnc eval and nnc predict (DESIGN §7): a saved model on data read as it was trained (its
 * recorded columns picked by name), optionally on exactly the rows `train --test-split F
 * --seed N` held out. predict writes a CSV (or JSON lines) with class names where the model
 * knows them. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "eval_report.h"
#include "textbuf.h"

typedef struct {
    const char *model, *output;
    cli_data_opts data;
    int threads, json, seed, help;
    double test_split;
} use_args;

/* The options eval and predict share. */
#define USE_ROWS(a)                                                                                      \
    CLI_DATA_ROWS(&(a)->data, "data: bundled name (its test part), CSV or IDX file"),                    \
    CLI_TARGET_ROWS(&(a)->data), CLI_CSV_ROWS(&(a)->data),                                               \
    {"--test-split", OPT_FLOAT, &(a)->test_split, "only the rows `train --test-split F --seed N` held out", "F", NULL}, \
    {"--seed", OPT_INT, &(a)->seed, "the seed of that split (default 0)", "N", NULL},                    \
    CLI_TEXT_ROW(&(a)->data),                                                                            \
    CLI_THREADS_ROW(&(a)->threads)

static int check_use_args(const char *cmd, const use_args *a) {
    const char *bad = NULL;
    if (!a->data.data) bad = "missing --data D";
    else if (a->threads < 1) bad = "--threads must be at least 1";
    else if (a->seed < 0) bad = "--seed must be >= 0";
    else if (!(a->test_split >= 0.0 && a->test_split < 1.0)) bad = "--test-split must be in [0, 1)";
    if (!bad) return CLI_OK;
    cli_error(cmd, "%s", bad);
    return CLI_USAGE;
}

/* The model and its data: the rows held out by --test-split when it is given. */
static int load_model_data(const char *cmd, const use_args *a, int predict, nnc_model **mp, cli_data *d) {
    char err[1536];
    nnc_error e = {""};
    nnc_model *m = *mp = nnc_model_load(a->model, &e);
    if (!m) {
        cli_error(cmd, "%s", e.message);
        return -1;
    }
    nnc_model_set_threads(m, a->threads);
    size_t n_cols;
    const nnc_column *cols = nnc_model_columns(m, &n_cols);
    /* train split rows that had labels: with --test-split, predict reads them too, so that a
     * row dropped for a missing label is dropped here as well */
    int split = a->test_split > 0.0;
    cli_load_ctx ctx = {cmd, "test", m, cols, n_cols, predict && !split};
    cli_data all = {0}, train = {0};
    /* text: vectorized with the model's vocabulary before any split, as each row is alone */
    int text = nnc_model_text_vectorizer(m) != NULL;
    if (cli_load(&a->data, &ctx, &all, err, sizeof err) || (text && cli_text_vectorize(m, &all, err, sizeof err)) ||
        (!text && cli_apply_steps(m, &all, err, sizeof err)) ||
        (!ctx.predict && cli_check_targets(m, &all, err, sizeof err))) {
        cli_error(cmd, "%s", err);
        cli_data_free(&all);
        return -1;
    }
    if (!split) {
        *d = all;
        cli_print_notes(cmd, m); /* once the load has succeeded, as the data's notes */
        return 0;
    }
    int rc = cli_split(&all, a->test_split, (uint64_t)a->seed, &train, d, err, sizeof err);
    if (rc) cli_error(cmd, "%s", err);
    else cli_print_notes(cmd, m);
    cli_data_free(&all);
    cli_data_free(&train);
    return rc;
}

/* ---- eval --------------------------------------------------------------------------------- */

/* --report and --plot: the classification report after the logs; a model of several outputs
 * has one per classifier output, under its name, and --plot draws the one there is. */
static int eval_report(nnc_model *m, const cli_data *d, const use_args *a, int report, const char *plot) {
    char err[1536];
    const int n_out = nnc_model_n_outputs(m);
    int classifiers = 0, drawn = -1;
    for (int h = 0; h < n_out; h++)
        if (cli_report_is_classifier(m, h)) classifiers++, drawn = drawn < 0 ? h : drawn;
    if (n_out > 1 && !classifiers) {
        cli_error("eval", "--report: none of the model's %d outputs is a classifier (loss binary_crossentropy, "
                  "categorical_crossentropy or sparse_categorical_crossentropy)", n_out);
        return CLI_FAIL;
    }
    if (n_out > 1 && plot && classifiers > 1) {
        cli_error("eval", "--plot draws one classifier; this model has %d classifier outputs: use --report for their "
                  "tables", classifiers);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    for (int h = 0; h < n_out && rc == CLI_OK; h++) {
        if (n_out > 1 && !cli_report_is_classifier(m, h)) continue;
        cli_report rep;
        if (cli_report_build(m, d, h, &rep, err, sizeof err)) {
            cli_error("eval", "%s", err);
            cli_report_free(&rep);
            return CLI_FAIL;
        }
        if (report && n_out > 1 && !a->json) printf("\noutput '%s':\n", nnc_model_output_name_at(m, h));
        if (report && a->json) cli_report_json(&rep, n_out > 1 ? nnc_model_output_name_at(m, h) : NULL, stdout);
        else if (report) cli_report_print(&rep, stdout);
        if (plot && (n_out == 1 || h == drawn) && cli_report_svg(&rep, a->model, plot, err, sizeof err)) {
            cli_error("eval", "%s", err);
            rc = CLI_FAIL;
        }
        cli_report_free(&rep);
    }
    return rc;
}

int cmd_eval(int argc, char **argv) {
    use_args a = {0};
    int report = 0;
    const char *plot = NULL;
    a.threads = cli_default_threads();
    const cli_opt opts[] = {
        USE_ROWS(&a),
        {"--json", OPT_FLAG, &a.json, "print one JSON object (and one for --report)", NULL, NULL},
        {"--report", OPT_FLAG, &report, "a classifier's precision, recall, F1 and support per class, and its confusion matrix",
         NULL, NULL},
        {"--plot", OPT_STRING, &plot, "draw the confusion matrix (and a binary model's ROC and PR curves) as SVG",
         "FILE.svg", NULL},
    };
    int rc = cli_parse("eval", argc, argv, 2, opts, CLI_NOPTS(opts), &a.model, "MODEL", &a.help);
    if (a.help) {
        printf("Usage: nnc eval MODEL --data D [options]\n\nLoss and metrics of a saved model on D.\n\n");
        cli_print_options(opts, CLI_NOPTS(opts));
        return CLI_OK;
    }
    if (rc || (rc = check_use_args("eval", &a))) return rc;
    nnc_model *m = NULL;
    cli_data d = {0};
    nnc_logs l;
    rc = CLI_FAIL;
    if (load_model_data("eval", &a, 0, &m, &d)) {
        /* reported */
    } else if (nnc_evaluate(m, d.x, d.y, d.n, 32, &l) != NNC_OK) {
        cli_error("eval", "%s: %s", d.source, nnc_last_error(m));
    } else {
        const nnc_logs *parts[1] = {&l};
        if (a.json) cli_print_json(1, parts, NULL);
        else cli_print_logs(&l, "");
        rc = report || plot ? eval_report(m, &d, &a, report, plot) : CLI_OK;
    }
    cli_data_free(&d);
    nnc_model_free(m);
    return rc;
}

/* ---- predict ------------------------------------------------------------------------------ */

/* A text as a CSV field (quoted when it must be) or as a JSON string. */
static void put_text(cli_text *t, const char *s, int json) {
    if (json) {
        cli_text_put(t, "\"", 1);
        for (; *s; s++) {
            unsigned char c = (unsigned char)*s;
            if (c == '"' || c == '\\') cli_text_printf(t, "\\%c", c);
            else if (c < 0x20) cli_text_printf(t, "\\u%04x", c);
            else cli_text_put(t, s, 1);
        }
        cli_text_put(t, "\"", 1);
        return;
    }
    size_t n = strlen(s);
    if (!strpbrk(s, ",\"\r\n") && (!n || (s[0] != ' ' && s[n - 1] != ' '))) {
        cli_text_put(t, s, n);
        return;
    }
    cli_text_put(t, "\"", 1);
    for (; *s; s++) cli_text_put(t, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    cli_text_put(t, "\"", 1);
}

/* The output's columns: their names, and what each row holds there. */
typedef enum { OUT_CLASS, OUT_DECISION, OUT_VALUE } out_kind;
typedef struct {
    char name[160];
    out_kind kind;
    size_t j;                   /* the output value it shows (or decides on), in the whole row */
    const nnc_column *target;   /* the recorded target, for class names */
    size_t off, k;              /* OUT_CLASS: the output's values in the row */
} out_col;

/* The recorded target columns in order (NULL entries when the model records none). */
static const nnc_column *target_col(const nnc_model *m, size_t k) {
    size_t n, seen = 0;
    const nnc_column *c = nnc_model_columns(m, &n);
    for (size_t i = 0; c && i < n; i++)
        if (c[i].role == NNC_COLUMN_TARGET && seen++ == k) return &c[i];
    return NULL;
}

/* One output of the model: its loss, its values' place in a row (off, k) and its targets'
 * (t0: the first of its recorded target columns). */
typedef struct {
    nnc_loss loss;
    size_t off, k, t0;
} out_head;

/* DESIGN §7: a softmax classifier gives the class and its probabilities, one sigmoid output
 * the decision and its probability, several sigmoid outputs a decision and a probability
 * each, regression the values; named after the classes and columns the model records. */
static size_t plan_output(const nnc_model *m, const out_head *h, out_col *oc) {
    const size_t k = h->k, o = h->off;
    int softmax = h->loss.kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
                  h->loss.kind == NNC_LOSS_CATEGORICAL_CROSSENTROPY;
    int binary = h->loss.kind == NNC_LOSS_BINARY_CROSSENTROPY;
    size_t n = 0;
    if (softmax) {
        const nnc_column *t = target_col(m, h->t0);
        int names = t && t->values && t->n_values == k;
        oc[n++] = (out_col){"predicted", OUT_CLASS, 0, names ? t : NULL, o, k};
        for (size_t j = 0; j < k; j++) {
            oc[n] = (out_col){"", OUT_VALUE, o + j, NULL, o, k};
            if (names) snprintf(oc[n].name, sizeof oc[n].name, "prob_%.150s", t->values[j]);
            else snprintf(oc[n].name, sizeof oc[n].name, "prob_%zu", j);
            n++;
        }
        return n;
    }
    for (size_t j = 0; binary && j < k; j++) {
        const nnc_column *t = target_col(m, h->t0 + j);
        int names = t && t->values && t->n_values == 2;
        oc[n] = (out_col){"", OUT_DECISION, o + j, names ? t : NULL, o, k};
        if (k == 1) snprintf(oc[n].name, sizeof oc[n].name, "predicted");
        else if (t && t->name[0]) snprintf(oc[n].name, sizeof oc[n].name, "pred_%.150s", t->name);
        else snprintf(oc[n].name, sizeof oc[n].name, "pred_%zu", j);
        n++;
    }
    for (size_t j = 0; j < k; j++) {
        const nnc_column *t = target_col(m, h->t0 + j);
        oc[n] = (out_col){"", OUT_VALUE, o + j, NULL, o, k};
        const char *stem = binary ? "prob" : "y";
        if (binary && k == 1 && t && t->values && t->n_values == 2)
            snprintf(oc[n].name, sizeof oc[n].name, "prob_%.150s", t->values[1]);
        else if (binary && k == 1) snprintf(oc[n].name, sizeof oc[n].name, "prob_1");
        else if (t && t->name[0]) snprintf(oc[n].name, sizeof oc[n].name, "%s%s%.150s", binary ? stem : "",
                                           binary ? "_" : "", t->name);
        else snprintf(oc[n].name, sizeof oc[n].name, "%s_%zu", stem, j);
        n++;
    }
    return n;
}

static void put_cell(cli_text *t, const out_col *c, const float *p, int json) {
    char num[32];
    if (c->kind == OUT_VALUE) {
        cli_text_printf(t, "%.7g", (double)p[c->j]);
        return;
    }
    size_t cls = 0;
    if (c->kind == OUT_CLASS)
        for (size_t j = 1; j < c->k; j++) cls = p[c->off + j] > p[c->off + cls] ? j : cls;
    else
        cls = p[c->j] > 0.5f;
    if (c->target) {
        put_text(t, c->target->values[cls], json);
        return;
    }
    snprintf(num, sizeof num, "%zu", cls);
    cli_text_put(t, num, strlen(num));
}

/* Output h of the model; a model trained from logits gets its probabilities in out. */
static out_head head_of(const nnc_model *m, int h, float *out, size_t n, size_t row) {
    const nnc_compile_opts co = nnc_model_compile_opts(m);
    out_head oh = {co.n_outputs ? co.outputs[h].loss : co.loss, 0, nnc_output_size_at(m, h), 0};
    for (int i = 0; i < h; i++) oh.off += nnc_output_size_at(m, i), oh.t0 += nnc_target_size_at(m, i);
    const nnc_loss_kind lk = oh.loss.kind;
    for (size_t r = 0; oh.loss.from_logits && r < n; r++) {
        if (lk == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY || lk == NNC_LOSS_CATEGORICAL_CROSSENTROPY)
            nnc_softmax_rows(out + r * row + oh.off, 1, oh.k);
        if (lk == NNC_LOSS_BINARY_CROSSENTROPY) nnc_sigmoid(out + r * row + oh.off, oh.k);
    }
    return oh;
}

static void predictions(const nnc_model *m, float *out, size_t n, int json, cli_text *t) {
    const size_t k = nnc_output_size(m);
    const int heads = nnc_model_n_outputs(m);
    out_col *oc = malloc((2 * k + (size_t)heads) * sizeof *oc);
    if (!oc) {
        t->oom = 1;
        return;
    }
    size_t nc = 0;
    for (int h = 0; h < heads; h++) {
        const out_head oh = head_of(m, h, out, n, k);
        const size_t first = nc;
        nc += plan_output(m, &oh, oc + nc);
        for (size_t c = first; heads > 1 && c < nc; c++) { /* several outputs: "cls_predicted", "reg_y_0" */
            char name[sizeof oc[c].name];
            snprintf(name, sizeof name, "%s_%s", nnc_model_output_name_at(m, h), oc[c].name);
            memcpy(oc[c].name, name, sizeof name);
        }
    }
    for (size_t c = 0; !json && c < nc; c++) {
        if (c) cli_text_put(t, ",", 1);
        put_text(t, oc[c].name, 0);
    }
    if (!json) cli_text_put(t, "\n", 1);
    for (size_t r = 0; r < n; r++) {
        if (json) cli_text_put(t, "{", 1);
        for (size_t c = 0; c < nc; c++) {
            if (c) cli_text_put(t, ",", 1);
            if (json) put_text(t, oc[c].name, 1), cli_text_put(t, ":", 1);
            put_cell(t, &oc[c], out + r * k, json);
        }
        cli_text_put(t, json ? "}\n" : "\n", json ? 2 : 1);
    }
    free(oc);
}

int cmd_predict(int argc, char **argv) {
    use_args a = {0};
    a.threads = cli_default_threads();
    const cli_opt opts[] = {
        USE_ROWS(&a),
        {"--output", OPT_STRING, &a.output, "write the CSV here (atomic) instead of stdout", "FILE.csv", NULL},
        {"--json", OPT_FLAG, &a.json, "one JSON object per example instead of CSV", NULL, NULL},
    };
    int rc = cli_parse("predict", argc, argv, 2, opts, CLI_NOPTS(opts), &a.model, "MODEL", &a.help);
    if (a.help) {
        printf("Usage: nnc predict MODEL --data D [--output FILE.csv]\n\n"
               "One CSV row per example: the class and probabilities (classifiers) or values.\n\n");
        cli_print_options(opts, CLI_NOPTS(opts));
        return CLI_OK;
    }
    if (rc || (rc = check_use_args("predict", &a))) return rc;
    nnc_error e = {""};
    if (a.output && nnc_file_check_writable(a.output, &e)) {
        cli_error("predict", "%s", e.message);
        return CLI_FAIL;
    }
    nnc_model *m = NULL;
    cli_data d = {0};
    float *out = NULL;
    cli_text t = {0};
    rc = CLI_FAIL;
    if (load_model_data("predict", &a, 1, &m, &d)) {
        /* reported */
    } else if (!(out = malloc(d.n * nnc_output_size(m) * sizeof(float) + 1))) {
        cli_error("predict", "out of memory");
    } else if (nnc_predict(m, d.x, d.n, out) != NNC_OK) {
        cli_error("predict", "%s: %s", d.source, nnc_last_error(m));
    } else {
        predictions(m, out, d.n, a.json, &t);
        if (t.oom) cli_error("predict", "out of memory");
        else if (!a.output) fputs(t.p, stdout), rc = CLI_OK;
        else if (nnc_file_write_atomic(a.output, t.p, t.len, &e)) cli_error("predict", "%s", e.message);
        else rc = CLI_OK;
    }
    cli_text_free(&t);
    free(out);
    cli_data_free(&d);
    nnc_model_free(m);
    return rc;
}
