/* Raw text for a model that keeps a TextVectorization: one CSV column of text (--text-column,
 * or the file's only text column) turned into the model's input with the stored vocabulary.
 * Out of scope: labels (eval of a text model), more than NNC_TABLE_MAX_TEXTS distinct texts. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int read_table(const cli_data_opts *o, nnc_table *t, char *err, size_t n) {
    nnc_csv_opts co = nnc_csv_opts_default();
    if (o->delimiter) {
        const char *s = o->delimiter;
        if (!strcmp(s, "tab") || !strcmp(s, "\\t") || !strcmp(s, "\t")) co.delimiter = '\t';
        else if (strlen(s) == 1 && strchr(",;|", s[0])) co.delimiter = s[0];
        else return fail(err, n, "--delimiter must be ',', ';', tab or '|', not '%s'", s);
    }
    if (o->header && !strcmp(o->header, "no")) co.header = NNC_HEADER_NO;
    else if (o->header && !strcmp(o->header, "yes")) co.header = NNC_HEADER_YES;
    if (o->no_header) co.header = NNC_HEADER_NO;
    nnc_error e = {""};
    if (nnc_table_read_csv(o->data, &co, t, &e)) return fail(err, n, "%s", e.message);
    return 0;
}

/* The column of text: by name, else the only one. */
static int pick_column(const cli_data_opts *o, const nnc_table *t, size_t *col, char *err, size_t n) {
    size_t found = 0, texts = 0;
    for (size_t c = 0; c < t->cols; c++) {
        int is_text = t->columns[c].texts || t->columns[c].too_many_texts;
        if (o->text_column ? !strcmp(t->columns[c].name, o->text_column) : is_text) {
            if (!found++) *col = c;
        }
        texts += is_text;
    }
    if (o->text_column && !found)
        return fail(err, n, "%s: no column '%s' (--text-column names the column of text)", o->data, o->text_column);
    if (!o->text_column && found != 1)
        return fail(err, n, "%s: %s text column for the model's TextVectorization; --text-column NAME picks one", o->data,
                    found ? "more than one" : "no");
    const nnc_table_column *tc = &t->columns[*col];
    if (tc->too_many_texts)
        return fail(err, n, "%s:%zu: column %zu ('%s'): over %d distinct texts, which nnc does not read yet", o->data,
                    tc->too_many_line, *col + 1, tc->name, NNC_TABLE_MAX_TEXTS);
    if (!tc->texts && tc->missing < t->rows)
        return fail(err, n, "%s: column %zu ('%s') holds numbers, not text for the model's TextVectorization", o->data,
                    *col + 1, tc->name);
    (void)texts;
    return 0;
}

int cli_load_text(const cli_data_opts *o, nnc_model *m, cli_data *d, char *err, size_t n) {
    nnc_text_vectorizer *tv = nnc_model_text_vectorizer(m);
    size_t col = 0;
    memset(d, 0, sizeof *d);
    if (read_table(o, &d->table, err, n) || pick_column(o, &d->table, &col, err, n)) return -1;
    const nnc_table *t = &d->table;
    const nnc_table_column *tc = &t->columns[col];
    size_t w = nnc_text_vectorizer_output_size(tv);
    if (w != nnc_input_size(m))
        return fail(err, n, "%s: the TextVectorization writes %zu values, the model's input takes %zu", o->data, w, nnc_input_size(m));
    const char **texts = malloc((t->rows ? t->rows : 1) * sizeof *texts);
    d->x = malloc((t->rows ? t->rows : 1) * w * sizeof *d->x);
    d->line = malloc((t->rows ? t->rows : 1) * sizeof *d->line);
    if (!texts || !d->x || !d->line) {
        free(texts);
        return fail(err, n, "%s: out of memory", o->data);
    }
    for (size_t r = 0; r < t->rows; r++) {
        float v = t->values[r * t->cols + col];
        /* a missing cell is an empty text: all padding, as Keras vectorizes "" */
        texts[r] = tc->texts && v == v ? tc->texts[(size_t)v] : "";
        d->line[r] = nnc_table_line(t, r);
    }
    nnc_error e = {""};
    int bad = nnc_text_vectorize(tv, texts, t->rows, d->x, &e) != NNC_OK;
    free(texts);
    if (bad) return fail(err, n, "%s: %s", o->data, e.message);
    d->n = t->rows;
    d->features = w;
    snprintf(d->source, sizeof d->source, "%s", o->data);
    return 0;
}
