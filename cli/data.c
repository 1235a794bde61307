/* Data for the command line (DESIGN §7): a bundled dataset by name, a CSV file with its label
 * column(s) chosen by --label-column or --targets, or an IDX file with --labels; and the
 * checks that name the file, line and column of a bad label. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int is_idx(const char *p) {
    return ends_with(p, "-ubyte") || ends_with(p, "-ubyte.gz") || ends_with(p, ".idx") ||
           ends_with(p, ".idx.gz");
}

static const char *const bundled[] = {"digits", "digits_01", "digits_multilabel", "iris", "wine",
                                      "breast_cancer", "diabetes", "fashion_mnist", "fortunes"};

static int is_bundled(const char *d) {
    for (size_t i = 0; i < sizeof bundled / sizeof *bundled; i++)
        if (!strcmp(d, bundled[i])) return 1;
    return 0;
}

int cli_has_test_part(const char *data) { return data && (!strcmp(data, "fashion_mnist") || !strcmp(data, "fortunes")); }

int cli_apply_steps(nnc_model *m, const cli_data *d, char *err, size_t errlen) {
    if (!d->steps || nnc_model_set_sequence_length(m, d->steps) == NNC_OK) return 0;
    snprintf(err, errlen, "%s: %s", d->source, nnc_last_error(m));
    return -1;
}

void cli_data_free(cli_data *d) {
    free(d->x);
    free(d->y);
    free(d->line);
    for (size_t t = 0; d->label_name && t < d->n_label_names; t++) free(d->label_name[t]);
    free(d->label_name);
    free(d->columns);
    free(d->col_index);
    cli_stream_free(d->streamer);
    for (size_t i = 0; i < d->n_strings; i++) free(d->strings[i]);
    free(d->strings);
    nnc_table_free(&d->table);
    memset(d, 0, sizeof *d);
}

void cli_note(cli_data *d, const char *fmt, ...) {
    size_t len = strlen(d->notes);
    va_list ap;
    va_start(ap, fmt);
    if (len + 2 < sizeof d->notes) vsnprintf(d->notes + len, sizeof d->notes - len - 1, fmt, ap);
    va_end(ap);
    len = strlen(d->notes);
    if (len + 1 < sizeof d->notes) d->notes[len] = '\n', d->notes[len + 1] = '\0';
}

static void from_dataset(nnc_dataset *ds, cli_data *d) {
    d->x = ds->x;
    d->y = ds->y;
    d->n = ds->n;
    d->features = ds->features;
    d->targets = ds->targets;
}

/* The bundled text dataset (fortunes, or its test part) as text data: each row's x is the index
 * of its text, y its class; the columns it records name the classes for predict. */
static int load_texts(const char *name, cli_data *d, char *err, size_t errlen) {
    nnc_text_dataset ds;
    nnc_error e = {""};
    if (nnc_text_dataset_load(name, &ds, &e)) return snprintf(err, errlen, "%s", e.message), -1;
    d->strings = ds.texts, d->n_strings = ds.n; /* owned by d from here */
    d->texts = (const char *const *)ds.texts, d->n_texts = ds.n;
    d->x = malloc((ds.n ? ds.n : 1) * sizeof *d->x);
    d->y = malloc((ds.n ? ds.n : 1) * sizeof *d->y);
    d->columns = calloc(2, sizeof *d->columns);
    int ok = d->x && d->y && d->columns;
    for (size_t i = 0; ok && i < ds.n; i++) d->x[i] = (float)i, d->y[i] = (float)ds.labels[i];
    d->n = ds.n, d->features = 1, d->targets = 1;
    if (ok) {
        d->columns[0] = (nnc_column){"text", NNC_COLUMN_FEATURE, NULL, 0};
        d->columns[1] = (nnc_column){"category", NNC_COLUMN_TARGET, ds.class_names, (size_t)ds.n_classes};
        d->n_columns = 2;
    }
    free(ds.labels);
    return ok ? 0 : (snprintf(err, errlen, "%s: out of memory", name), -1);
}

static int load(const cli_data_opts *o, const cli_load_ctx *ctx, cli_data *d, char *err, size_t errlen) {
    nnc_error e = {""};
    snprintf(d->source, sizeof d->source, "%s", o->data);
    int csv_flags = o->label_column || o->delimiter || o->header || o->no_header || o->drop_missing || o->one_hot;
    int text = ctx->m && nnc_model_text_vectorizer(ctx->m), named = is_bundled(o->data) && access(o->data, F_OK) != 0;
    if (o->text_column && !text) {
        snprintf(err, errlen, "--text-column: the model reads no text (a spec whose first line is text_vectorization does)");
        return -1;
    }
    if (named && (csv_flags || o->labels)) {
        snprintf(err, errlen, "%s: a bundled dataset takes no --labels or CSV options (--label-column, "
                 "--delimiter, --header, --drop-missing, --one-hot)", o->data);
        return -1;
    }
    if (named && !strcmp(o->data, "fortunes") != !!text) {
        snprintf(err, errlen, text ? "%s: numbers, but the model reads text (its first line is text_vectorization): "
                                     "--data fortunes, or a CSV file with a column of text"
                                   : "%s: text, but the model reads numbers: a spec whose first line is "
                                     "text_vectorization reads text", o->data);
        return -1;
    }
    if (named && text) {
        if (load_texts(strcmp(ctx->role, "test") ? "fortunes" : "fortunes_test", d, err, errlen)) return -1;
    } else if (named) {
        const char *name = o->data;
        if (!strcmp(name, "fashion_mnist") && !strcmp(ctx->role, "test")) name = "fashion_mnist_test";
        nnc_dataset ds;
        if (nnc_dataset_load(name, o->targets, &ds, &e)) {
            snprintf(err, errlen, "%s", e.message);
            return -1;
        }
        from_dataset(&ds, d);
    } else if (is_idx(o->data)) {
        if (text) {
            snprintf(err, errlen, "%s: images, but the model reads text (its first line is text_vectorization)", o->data);
            return -1;
        }
        if (csv_flags) {
            snprintf(err, errlen, "%s: an IDX file takes no CSV options (--label-column, --delimiter, --header, "
                     "--drop-missing, --one-hot)", o->data);
            return -1;
        }
        if (!o->labels && !ctx->predict) {
            snprintf(err, errlen, "%s: an IDX images file needs its labels file (--labels FILE)", o->data);
            return -1;
        }
        nnc_dataset ds;
        if (nnc_dataset_load_idx(o->data, o->labels, &ds, &e)) {
            snprintf(err, errlen, "%s", e.message);
            return -1;
        }
        from_dataset(&ds, d);
        if (o->labels) snprintf(d->label_source, sizeof d->label_source, "%s", o->labels);
    } else if (ends_with(o->data, ".csv") || ends_with(o->data, ".csv.gz") || access(o->data, F_OK) == 0) {
        if (o->labels) {
            snprintf(err, errlen, "%s: --labels is for IDX images; a CSV holds its labels", o->data);
            return -1;
        }
        if (cli_load_csv(o, ctx, d, err, errlen)) return -1;
    } else {
        snprintf(err, errlen,
                 "%s: no such file, and not a bundled dataset (digits, digits_01, digits_multilabel, "
                 "iris, wine, breast_cancer, diabetes, fashion_mnist, fortunes)", o->data);
        return -1;
    }
    size_t want = ctx->m && !text ? nnc_input_size(ctx->m) : 0; /* text: once vectorized */
    if (d->steps && !text) want = (size_t)d->steps * nnc_model_step_values(ctx->m); /* the length the rows make */
    if (want && d->features != want) {
        snprintf(err, errlen, "%s: %zu feature %s, but the model's input takes %zu values", d->source, d->features,
                 d->columns || d->table.cols ? "inputs (after one-hot encoding)" : "columns", want);
        return -1;
    }
    return 0;
}

/* Output OUT=COL[,COL...] of a --targets: the output's index, -1 (with the error) when none. */
static int target_output(const nnc_model *m, const char *arg, size_t name_len, char *err, size_t errlen) {
    char list[256];
    for (int h = 0; m && h < nnc_model_n_outputs(m); h++) {
        const char *name = nnc_model_output_name_at(m, h);
        if (strlen(name) == name_len && !strncmp(name, arg, name_len)) return h;
    }
    if (!m) {
        snprintf(err, errlen, "--targets %s: columns by output are for a model's outputs", arg);
        return -1;
    }
    nnc_model_output_list(m, list, sizeof list);
    snprintf(err, errlen, "--targets %s: the model has no output '%.*s' (its outputs: %s)", arg, (int)name_len, arg,
             list);
    return -1;
}

/* --targets: N (the last N columns), or OUT=COL[,COL...] once per output of the model, which
 * become the label columns in the outputs' order (buf holds them). */
static int resolve_targets(cli_data_opts *o, const nnc_model *m, char *buf, size_t bufn, char *err, size_t errlen) {
    if (o->n_target_args == 1 && !strchr(o->target_args[0], '=')) {
        char *end;
        long v = strtol(o->target_args[0], &end, 10);
        if (*end || v < -2147483647L || v > 2147483647L) {
            snprintf(err, errlen, "--targets %s: not a count N (or OUTPUT=COLUMN[,COLUMN...] per output)", o->target_args[0]);
            return -1;
        }
        o->targets = (int)v, o->targets_given = 1;
        return 0;
    }
    const char *cols[CLI_MAX_LIST] = {0};
    for (int i = 0; i < o->n_target_args; i++) {
        const char *a = o->target_args[i], *eq = strchr(a, '=');
        if (!eq || eq == a || !eq[1]) {
            snprintf(err, errlen, "--targets %s: give OUTPUT=COLUMN[,COLUMN...] for each output (or one count N)", a);
            return -1;
        }
        int h = target_output(m, a, (size_t)(eq - a), err, errlen);
        if (h < 0) return -1;
        if (cols[h]) {
            snprintf(err, errlen, "--targets: output '%s' given twice", nnc_model_output_name_at(m, h));
            return -1;
        }
        cols[h] = eq + 1;
        size_t given = 1, want = nnc_target_size_at(m, h);
        for (const char *c = eq + 1; *c; c++) given += *c == ',';
        if (!o->one_hot && want && given != want) {
            snprintf(err, errlen, "--targets %s: output '%s' takes %zu target column%s, not %zu", a,
                     nnc_model_output_name_at(m, h), want, want == 1 ? "" : "s", given);
            return -1;
        }
    }
    size_t len = 0;
    buf[0] = '\0';
    for (int h = 0; h < nnc_model_n_outputs(m); h++) {
        if (!cols[h]) {
            snprintf(err, errlen, "--targets: no columns for output '%s' (--targets %s=COLUMN)", nnc_model_output_name_at(m, h),
                     nnc_model_output_name_at(m, h));
            return -1;
        }
        int w = snprintf(buf + len, bufn - len, "%s%s", h ? "," : "", cols[h]);
        if (w < 0 || (size_t)w >= bufn - len) {
            snprintf(err, errlen, "--targets: too many columns");
            return -1;
        }
        len += (size_t)w;
    }
    if (o->label_column) {
        snprintf(err, errlen, "--targets and --label-column exclude each other");
        return -1;
    }
    o->label_column = buf;
    return 0;
}

int cli_load(const cli_data_opts *opts, const cli_load_ctx *ctx, cli_data *d, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    cli_data_opts local = *opts, *o = &local;
    char labels[2048];
    if (o->n_target_args && resolve_targets(o, ctx->m, labels, sizeof labels, err, errlen)) return -1;
    if (o->targets_given && o->targets < 1) {
        snprintf(err, errlen, "--targets must be at least 1, not %d", o->targets);
        return -1;
    }
    if (o->targets_given && o->label_column) {
        snprintf(err, errlen, "--targets and --label-column exclude each other");
        return -1;
    }
    if (load(o, ctx, d, err, errlen)) {
        cli_data_free(d);
        return -1;
    }
    for (const char *s = d->notes, *nl; (nl = strchr(s, '\n')); s = nl + 1)
        fprintf(stderr, "nnc %s: note: %.*s\n", ctx->cmd, (int)(nl - s), s);
    d->notes[0] = '\0';
    return 0;
}

/* "file:line: column c ('name')" for a CSV, "file: example r" otherwise. */
static void where(const cli_data *d, size_t r, size_t t, char *buf, size_t n) {
    if (d->line && d->label_name)
        snprintf(buf, n, "%s:%zu: %s", d->source, d->line[r], d->label_name[t]);
    else
        snprintf(buf, n, "%s: example %zu", d->label_source[0] ? d->label_source : d->source,
                 (d->example ? d->example[r] : r) + 1);
}

/* Labels 1..k for k classes are most likely counted from one. */
static const char *one_based_hint(const cli_data *d, size_t k, char *buf, size_t n) {
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (size_t r = 0; r < d->n; r++) {
        double v = (double)d->y[r];
        if (v != floor(v)) return "";
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    if (lo != 1 || hi != (double)k) return "";
    snprintf(buf, n, " (labels run 1..%zu; classes start at 0: subtract 1 or use class names)", k);
    return buf;
}

/* The labels of output h (loss L, k values, targets t0.. t0 + t - 1 of a row) as DESIGN §7 says. */
static int check_output(const nnc_model *m, const cli_data *d, int h, const nnc_loss *L, size_t t0, size_t t,
                        char *err, size_t errlen) {
    const size_t k = nnc_output_size_at(m, h);
    const char *out = nnc_model_output_name_at(m, h);
    char at[1200], hint[120];
    for (size_t r = 0; r < d->n; r++)
        for (size_t c = t0; c < t0 + t; c++) {
            double v = (double)d->y[r * d->targets + c];
            const char *bad = NULL;
            if (!isfinite(v)) bad = "is not a finite number";
            else if (L->kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && (v != floor(v) || v < 0 || v >= (double)k))
                bad = v != floor(v) ? "is not an integer class label" : "is out of range";
            else if (L->kind == NNC_LOSS_BINARY_CROSSENTROPY && !L->from_logits && v != 0 && v != 1)
                bad = "is not a binary label (0 or 1)";
            else if (L->kind == NNC_LOSS_BINARY_CROSSENTROPY && (v < 0 || v > 1))
                bad = "is not a binary label in [0, 1]";
            else if (L->kind == NNC_LOSS_CATEGORICAL_CROSSENTROPY && v != 0 && v != 1)
                bad = "is not one-hot (0 or 1)";
            if (bad) {
                where(d, r, c, at, sizeof at);
                if (L->kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)
                    snprintf(err, errlen, "%s: label %g %s for the %zu classes of output layer '%s'%s", at, v, bad, k,
                             out, v == (double)k && d->targets == 1 ? one_based_hint(d, k, hint, sizeof hint) : "");
                else if (nnc_model_n_outputs(m) > 1)
                    snprintf(err, errlen, "%s: target %g %s (output '%s')", at, v, bad, out);
                else
                    snprintf(err, errlen, "%s: target %g %s", at, v, bad);
                return -1;
            }
        }
    return 0;
}

int cli_check_targets(const nnc_model *m, const cli_data *d, char *err, size_t errlen) {
    size_t k = nnc_output_size(m), need = nnc_target_size(m);
    const nnc_compile_opts co = nnc_model_compile_opts(m);
    const nnc_loss *L = &co.loss;
    const char *out = nnc_model_output_name(m);
    const int heads = nnc_model_n_outputs(m);
    if (d->targets != need && heads > 1) {
        char list[512];
        size_t len = 0;
        for (int h = 0; h < heads && len < sizeof list; h++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s %zu", h ? ", " : "", nnc_model_output_name_at(m, h),
                                    nnc_target_size_at(m, h));
        snprintf(err, errlen, "%s: %zu target column(s), but the model's %d outputs need %zu (%s; --targets OUT=COL,... "
                 "per output)", d->source, d->targets, heads, need, list);
        return -1;
    }
    if (d->targets != need) {
        int cce_ints = L->kind == NNC_LOSS_CATEGORICAL_CROSSENTROPY && d->targets == 1;
        snprintf(err, errlen,
                 "%s: %zu target column(s), but loss %s with output layer '%s' of %zu value(s) needs %zu%s",
                 d->source, d->targets, nnc_loss_name(L->kind), out, k, need,
                 cce_ints ? " one-hot columns (for one column of class labels use loss sparse_categorical_crossentropy)"
                 : need > 1 ? " (use --targets N or --label-column A,B,...)" : "");
        return -1;
    }
    for (int h = 0, t0 = 0; h < heads; t0 += (int)nnc_target_size_at(m, h), h++)
        if (check_output(m, d, h, co.n_outputs ? &co.outputs[h].loss : L, (size_t)t0, nnc_target_size_at(m, h), err,
                         errlen))
            return -1;
    return 0;
}

/* The test split is the library's (nnc_dataset_split), so the CLI and C programs split alike. */
int cli_split(cli_data *all, double test_fraction, uint64_t seed, cli_data *train, cli_data *test,
              char *err, size_t errlen) {
    nnc_dataset whole = {all->x, all->y, all->n, all->features, all->targets}, parts[2];
    nnc_error e = {""};
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (nnc_dataset_split(&whole, test_fraction, seed, &parts[0], &parts[1], &e)) {
        snprintf(err, errlen, "%s: --test-split %g: %s", all->source, test_fraction, e.message);
        return -1;
    }
    cli_data *outs[2] = {train, test};
    for (int i = 0; i < 2; i++) {
        memcpy(outs[i]->source, all->source, sizeof all->source);
        memcpy(outs[i]->label_source, all->label_source, sizeof all->label_source);
        outs[i]->x = parts[i].x;
        outs[i]->y = parts[i].y;
        outs[i]->n = parts[i].n;
        outs[i]->features = parts[i].features;
        outs[i]->targets = parts[i].targets;
        outs[i]->steps = all->steps;
        outs[i]->texts = all->texts, outs[i]->n_texts = all->n_texts; /* text data: the training part holds them */
    }
    /* What describes the columns goes to the training part; rows' lines do not survive a split. */
    train->text_labels = all->text_labels;
    train->columns = all->columns, train->n_columns = all->n_columns;
    train->strings = all->strings, train->n_strings = all->n_strings;
    train->table = all->table;
    all->columns = NULL, all->n_columns = 0, all->strings = NULL, all->n_strings = 0;
    memset(&all->table, 0, sizeof all->table);
    return 0;
}
