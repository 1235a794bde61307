/* Data for the command line (DESIGN §7): a bundled dataset by name, a CSV file with its label
 * column(s) chosen by --label-column or --targets, or an IDX file with --labels; and the
 * checks that name the file, line and column of a bad label. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
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
                                      "breast_cancer", "diabetes", "fashion_mnist"};

static int is_bundled(const char *d) {
    for (size_t i = 0; i < sizeof bundled / sizeof *bundled; i++)
        if (!strcmp(d, bundled[i])) return 1;
    return 0;
}

int cli_has_test_part(const char *data) { return data && !strcmp(data, "fashion_mnist"); }

void cli_data_free(cli_data *d) {
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

static int from_dataset(nnc_dataset *ds, cli_data *d) {
    d->x = ds->x;
    d->y = ds->y;
    d->n = ds->n;
    d->features = ds->features;
    d->targets = ds->targets;
    for (size_t t = 0; t < d->targets && t < 64; t++) d->label_col[t] = (int)(d->features + t + 1);
    return 0;
}

/* A CSV file: the targets are --label-column, the last --targets columns, or the last one. */
static int load_csv(const cli_data_opts *o, size_t want_features, int allow_no_labels, cli_data *d,
                    char *err, size_t errlen) {
    nnc_table csv;
    nnc_error e = {""};
    if (nnc_table_read_csv(o->data, &csv, &e)) {
        snprintf(err, errlen, "%s", e.message);
        return -1;
    }
    int label = -1; /* column index of --label-column */
    size_t t = o->targets > 0 ? (size_t)o->targets : 1;
    if (o->label_column) {
        for (size_t c = 0; c < csv.cols; c++)
            if (!strcmp(csv.names[c], o->label_column)) label = (int)c;
        if (label < 0) {
            char names[512];
            size_t len = 0;
            for (size_t c = 0; c < csv.cols && len < sizeof names; c++)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", c ? ", " : "", csv.names[c]);
            snprintf(err, errlen, "%s: no column named '%s' (columns: %s)", o->data, o->label_column, names);
            nnc_table_free(&csv);
            return -1;
        }
        t = 1;
    }
    if (allow_no_labels && csv.cols == want_features && !o->label_column) t = 0;
    if (csv.cols <= t || t > 64) {
        snprintf(err, errlen, "%s: %zu columns leave no features beside %zu target column(s)", o->data, csv.cols, t);
        nnc_table_free(&csv);
        return -1;
    }
    bool *is_target = calloc(csv.cols, sizeof *is_target);
    if (!is_target) {
        snprintf(err, errlen, "%s: out of memory", o->data);
        nnc_table_free(&csv);
        return -1;
    }
    const size_t f = csv.cols - t;
    for (size_t c = 0, ty = 0; c < csv.cols; c++) {
        is_target[c] = label >= 0 ? (int)c == label : c >= f;
        if (is_target[c] && ty < 64) {
            d->label_col[ty] = (int)c + 1;
            snprintf(d->label_name[ty], sizeof d->label_name[ty], "%s", csv.names[c]);
            ty++;
        }
    }
    nnc_dataset ds;
    nnc_status st = nnc_dataset_from_table(&csv, is_target, &ds, &e);
    free(is_target);
    if (st) {
        snprintf(err, errlen, "%s: %s", o->data, e.message);
        return -1;
    }
    d->x = ds.x;
    d->y = ds.y;
    d->n = ds.n;
    d->features = ds.features;
    d->targets = ds.targets;
    d->csv = 1;
    return 0;
}

int cli_load(const cli_data_opts *o, const char *role, size_t want_features, int allow_no_labels,
             cli_data *d, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    if (o->targets_given && o->targets < 1) {
        snprintf(err, errlen, "--targets must be at least 1, not %d", o->targets);
        return -1;
    }
    nnc_error e = {""};
    snprintf(d->source, sizeof d->source, "%s", o->data);
    if (is_bundled(o->data) && access(o->data, F_OK) != 0) {
        if (o->label_column || o->labels) {
            snprintf(err, errlen, "%s: a bundled dataset takes no --label-column or --labels", o->data);
            return -1;
        }
        const char *name = o->data;
        if (!strcmp(name, "fashion_mnist") && !strcmp(role, "test")) name = "fashion_mnist_test";
        nnc_dataset ds;
        if (nnc_dataset_load(name, o->targets, &ds, &e)) {
            snprintf(err, errlen, "%s", e.message);
            return -1;
        }
        from_dataset(&ds, d);
    } else if (is_idx(o->data)) {
        if (!o->labels && !allow_no_labels) {
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
        if (load_csv(o, want_features, allow_no_labels, d, err, errlen)) return -1;
    } else {
        snprintf(err, errlen,
                 "%s: no such file, and not a bundled dataset (digits, digits_01, digits_multilabel, "
                 "iris, wine, breast_cancer, diabetes, fashion_mnist)", o->data);
        return -1;
    }
    if (want_features && d->features != want_features) {
        snprintf(err, errlen, "%s: %zu feature columns, but the model's input takes %zu values", d->source,
                 d->features, want_features);
        cli_data_free(d);
        return -1;
    }
    return 0;
}

/* "file:line: column c ('name')" for a CSV, "file: row r" otherwise. */
static void where(const cli_data *d, size_t r, size_t t, char *buf, size_t n) {
    if (d->csv)
        snprintf(buf, n, "%s:%zu: column %d ('%s')", d->source, r + 2, d->label_col[t], d->label_name[t]);
    else
        snprintf(buf, n, "%s: example %zu", d->label_source[0] ? d->label_source : d->source, r + 1);
}

int cli_check_targets(const nnc_model *m, const cli_data *d, char *err, size_t errlen) {
    size_t k = nnc_output_size(m), need = nnc_target_size(m);
    const nnc_compile_opts co = nnc_model_compile_opts(m);
    const nnc_loss *L = &co.loss;
    const char *out = nnc_model_output_name(m);
    if (d->targets != need) {
        snprintf(err, errlen,
                 "%s: %zu target column(s), but loss %s with output layer '%s' of %zu value(s) needs %zu%s",
                 d->source, d->targets, nnc_loss_name(L->kind), out, k, need,
                 need > 1 ? " (use --targets N)" : "");
        return -1;
    }
    char at[1200];
    for (size_t r = 0; r < d->n; r++)
        for (size_t t = 0; t < d->targets; t++) {
            double v = (double)d->y[r * d->targets + t];
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
                where(d, r, t, at, sizeof at);
                if (L->kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)
                    snprintf(err, errlen, "%s: label %g %s for the %zu classes of output layer '%s'", at, v, bad, k, out);
                else
                    snprintf(err, errlen, "%s: target %g %s", at, v, bad);
                return -1;
            }
        }
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
        memcpy(outs[i]->label_col, all->label_col, sizeof all->label_col);
        memcpy(outs[i]->label_name, all->label_name, sizeof all->label_name);
        outs[i]->x = parts[i].x;
        outs[i]->y = parts[i].y;
        outs[i]->n = parts[i].n;
        outs[i]->features = parts[i].features;
        outs[i]->targets = parts[i].targets;
    }
    return 0;
}
