/* CSV data for the command line (DESIGN §7): which columns are the features and the targets
 * (by name when the model records the columns it was trained on, else by --label-column or
 * --targets), how text cells become numbers (one-hot features, class names for labels), and
 * what happens to rows with a missing value. Each refusal names the file, line and column. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* How one feature or target is read from the table. */
typedef struct {
    size_t col;                 /* table column */
    const char *const *values;  /* one-hot categories or class names; NULL: numbers */
    size_t n_values;
    struct named *order;        /* values in byte order with their index, for lookups */
} use;

typedef struct {
    const cli_data_opts *o;
    const cli_load_ctx *ctx;
    cli_data *d;
    nnc_table t;
    use *feat, *targ;
    size_t n_feat, n_targ;
    char *err;
    size_t errlen;
    int text;                   /* for a model with a TextVectorization: feat[0] is the text */
    const char *sample;         /* --stream: the file's first records, read in its place */
    size_t sample_len;
} job;

static int fail(job *J, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(job *J, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(J->err, J->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* "column 3 ('class')", or "column 3" in a file without names. */
static void col_words(const nnc_table *t, size_t c, char *buf, size_t n) {
    size_t file_col = c + 1 + (t->row_names ? 1 : 0);
    if (t->columns[c].name[0]) snprintf(buf, n, "column %zu ('%.60s')", file_col, t->columns[c].name);
    else snprintf(buf, n, "column %zu", file_col);
}

/* Hands p (a malloc'd block) to d, which frees it with the data; NULL when out of memory. */
static void *own(job *J, void *p) {
    cli_data *d = J->d;
    char **grown = p ? realloc(d->strings, (d->n_strings + 1) * sizeof *grown) : NULL;
    if (!grown) return free(p), NULL;
    d->strings = grown;
    d->strings[d->n_strings++] = p;
    return p;
}

/* ---- reading the table ---------------------------------------------------------------------- */

static int csv_opts(job *J, nnc_csv_opts *co) {
    const cli_data_opts *o = J->o;
    *co = nnc_csv_opts_default();
    if (o->delimiter) {
        const char *s = o->delimiter;
        if (!strcmp(s, "tab") || !strcmp(s, "\\t") || !strcmp(s, "\t")) co->delimiter = '\t';
        else if (strlen(s) == 1 && strchr(",;|", s[0])) co->delimiter = s[0];
        else return fail(J, "--delimiter must be ',', ';', tab or '|', not '%s'", s);
    }
    if (o->header) {
        if (!strcmp(o->header, "yes")) co->header = NNC_HEADER_YES;
        else if (!strcmp(o->header, "no")) co->header = NNC_HEADER_NO;
        else if (strcmp(o->header, "auto")) return fail(J, "--header must be auto, yes or no, not '%s'", o->header);
    }
    if (o->no_header) {
        if (co->header == NNC_HEADER_YES) return fail(J, "--header yes and --no-header contradict each other");
        co->header = NNC_HEADER_NO;
    }
    return 0;
}

static int read_table(job *J) {
    nnc_csv_opts co;
    nnc_error e = {""};
    if (csv_opts(J, &co)) return -1;
    if (J->sample ? nnc_table_parse_csv(J->sample, J->sample_len, J->o->data, &co, &J->t, &e)
                  : nnc_table_read_csv(J->o->data, &co, &J->t, &e))
        return fail(J, "%s", e.message);
    if (co.header == NNC_HEADER_AUTO && !J->t.header)
        cli_note(J->d, "%s: line 1 holds numbers where the columns hold numbers, so it is read as data, not "
                 "as a header (--header yes says otherwise)", J->o->data);
    if (J->t.row_names)
        cli_note(J->d, "%s: column 1 has no name: read as row names and left out", J->o->data);
    return 0;
}

/* ---- which columns ------------------------------------------------------------------------- */

/* The table column named (or numbered, from 1) s; -1 when none. */
static long find_column(const nnc_table *t, const char *s, size_t len) {
    for (size_t c = 0; c < t->cols; c++)
        if (t->header && strlen(t->columns[c].name) == len && !strncmp(t->columns[c].name, s, len)) return (long)c;
    char *end;
    char num[24];
    if (!len || len >= sizeof num) return -1;
    memcpy(num, s, len);
    num[len] = '\0';
    long k = strtol(num, &end, 10) - 1 - (t->row_names ? 1 : 0);
    return *end || num[0] < '0' || num[0] > '9' || k < 0 || (size_t)k >= t->cols ? -1 : k;
}

static int names_list(const nnc_table *t, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (size_t c = 0; c < t->cols && len + 4 < n; c++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", c ? ", " : "", t->columns[c].name);
    return 0;
}

/* Parses a comma list of columns (--label-column, --one-hot) into is[c] = 1. */
static int mark_list(job *J, const char *list, const char *flag, unsigned char *is, size_t *count) {
    char names[600];
    *count = 0;
    for (const char *s = list; *s;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        long c = find_column(&J->t, s, len);
        if (c < 0 && J->t.header) {
            names_list(&J->t, names, sizeof names);
            return fail(J, "%s: %s '%.*s': no such column (columns: %s)", J->o->data, flag, (int)len, s, names);
        }
        if (c < 0)
            return fail(J, "%s: %s '%.*s': the file has no header, so columns go by number, from 1 to %zu",
                        J->o->data, flag, (int)len, s, J->t.cols + (J->t.row_names ? 1 : 0));
        if (is[c]) return fail(J, "%s: %s names column '%.*s' twice", J->o->data, flag, (int)len, s);
        is[c] = 1;
        ++*count;
        s += len + (comma ? 1 : 0);
        if (comma && !*s) return fail(J, "%s: %s ends with a comma", J->o->data, flag);
    }
    return 0;
}

static int add_use(job *J, int target, size_t col, const nnc_column *rec) {
    use **list = target ? &J->targ : &J->feat;
    size_t *n = target ? &J->n_targ : &J->n_feat;
    use *grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown) return fail(J, "out of memory");
    *list = grown;
    use u = {col, rec ? rec->values : NULL, rec && rec->values ? rec->n_values : 0, NULL};
    grown[(*n)++] = u;
    return 0;
}

/* A text model's columns without a record: the labels (--label-column, else --targets N or the
 * last column not the text's; none in predict unless named) and one column of text
 * (--text-column, else the only column of text left). The others are left out with a note. */
static int pick_text_columns(job *J) {
    const nnc_table *t = &J->t;
    const cli_data_opts *o = J->o;
    unsigned char *target = calloc(t->cols, 1), *ignored = calloc(t->cols, 1);
    size_t count = 0, found = 0, unused = 0, len = 0;
    long text = -1;
    char names[600], list[400] = "";
    int rc = -1;
    if (!target || !ignored) {
        fail(J, "out of memory");
        goto out;
    }
    if (o->one_hot) {
        fail(J, "%s: --one-hot: the model reads one column of text (its TextVectorization encodes it)", o->data);
        goto out;
    }
    if (o->ignore && mark_list(J, o->ignore, "--ignore-column", ignored, &count)) goto out;
    if (o->text_column && (text = find_column(t, o->text_column, strlen(o->text_column))) < 0) {
        names_list(t, names, sizeof names);
        fail(J, "%s: no column '%s' (--text-column names the column of text; columns: %s)", o->data, o->text_column, names);
        goto out;
    }
    if (o->label_column) {
        if (mark_list(J, o->label_column, "--label-column", target, &count)) goto out;
    } else if (!J->ctx->predict || o->targets_given) {
        size_t want = o->targets_given ? (size_t)o->targets : 1;
        for (size_t c = t->cols; c-- > 0 && want;)
            if ((long)c != text && !ignored[c]) target[c] = 1, want--;
    }
    for (size_t c = 0; c < t->cols; c++)
        if (target[c] && (ignored[c] || (long)c == text)) {
            fail(J, "%s: %s names a label column", o->data, ignored[c] ? "--ignore-column" : "--text-column");
            goto out;
        }
    for (size_t c = 0; !o->text_column && c < t->cols; c++)
        if (!target[c] && !ignored[c] && (t->columns[c].texts || t->columns[c].too_many_texts) && !found++) text = (long)c;
    if (!o->text_column && found != 1) {
        fail(J, "%s: %s text column for the model's TextVectorization; --text-column NAME picks one", o->data,
             found ? "more than one" : "no");
        goto out;
    }
    for (size_t c = 0; c < t->cols; c++)
        if (target[c] && add_use(J, 1, c, NULL)) goto out;
    if (add_use(J, 0, (size_t)text, NULL)) goto out;
    for (size_t c = 0; c < t->cols; c++)
        if (!target[c] && !ignored[c] && (long)c != text && unused++ < 6 && len + 4 < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s'%.40s'", len ? ", " : "", t->columns[c].name);
    if (unused)
        cli_note(J->d, "%s: %zu column(s) besides the text and the labels left out: %s%s", o->data, unused, list,
                 unused > 6 ? ", ..." : "");
    rc = 0;
out:
    free(target);
    free(ignored);
    return rc;
}

/* Without a record: --label-column, --targets, or the count rule; the rest are features. */
static int pick_by_options(job *J) {
    nnc_table *t = &J->t;
    const cli_load_ctx *x = J->ctx;
    unsigned char *is_target = calloc(t->cols, 1);
    size_t n_targets = 0;
    int rc = -1;
    if (!is_target) return fail(J, "out of memory");
    if (J->o->label_column) {
        if (mark_list(J, J->o->label_column, "--label-column", is_target, &n_targets)) goto out;
    } else {
        size_t want = J->o->targets_given ? (size_t)J->o->targets : 1;
        if (!J->o->targets_given && x->m && nnc_model_n_outputs(x->m) > 1) want = nnc_target_size(x->m);
        /* predict reads no labels: every column is a feature when they make the input, or when
         * the model takes sequences of any length (the count cannot tell a label then) */
        if (x->predict && !J->o->targets_given && x->m &&
            (t->cols == nnc_input_size(x->m) || nnc_model_step_values(x->m)))
            want = 0;
        else if (x->predict && !J->o->targets_given && x->m) want = nnc_target_size(x->m);
        if (want >= t->cols) {
            fail(J, "%s: %zu columns leave no features beside %zu target column(s)", J->o->data, t->cols, want);
            goto out;
        }
        for (size_t c = t->cols - want; c < t->cols; c++) is_target[c] = 1;
        n_targets = want;
    }
    if (n_targets >= t->cols) {
        fail(J, "%s: %zu columns leave no features beside %zu target column(s)", J->o->data, t->cols, n_targets);
        goto out;
    }
    unsigned char *ignored = calloc(t->cols, 1);
    size_t n_ignored = 0;
    rc = !ignored ? fail(J, "out of memory")
         : J->o->ignore ? mark_list(J, J->o->ignore, "--ignore-column", ignored, &n_ignored) : 0;
    for (size_t c = 0; c < t->cols && !rc; c++)
        if (ignored[c] && is_target[c]) rc = fail(J, "%s: --ignore-column names a label column", J->o->data);
    for (size_t c = 0; c < t->cols && !rc; c++)
        if (!ignored[c] && add_use(J, is_target[c], c, NULL)) rc = -1;
    if (!rc && !J->n_feat) rc = fail(J, "%s: no feature columns are left", J->o->data);
    free(ignored);
out:
    free(is_target);
    return rc;
}

/* Table columns sorted by name, for lookups by the names a model records. */
typedef struct named {
    const char *name;
    size_t col;
} named;

static int cmp_named(const void *a, const void *b) { return strcmp(((const named *)a)->name, ((const named *)b)->name); }

static long by_name(const named *idx, size_t n, const char *name) {
    named key = {name, 0};
    const named *hit = bsearch(&key, idx, n, sizeof *idx, cmp_named);
    return hit ? (long)hit->col : -1;
}

/* The recorded columns found by name in the table's header; the others noted as unused. */
static int pick_by_name(job *J, unsigned char *used) {
    const nnc_table *t = &J->t;
    const cli_load_ctx *x = J->ctx;
    named *idx = malloc(t->cols * sizeof *idx);
    char words[160];
    int rc = -1;
    if (!idx) return fail(J, "out of memory");
    for (size_t c = 0; c < t->cols; c++) idx[c].name = t->columns[c].name, idx[c].col = c;
    qsort(idx, t->cols, sizeof *idx, cmp_named);
    size_t given = 0;
    if (J->o->label_column && mark_list(J, J->o->label_column, "--label-column", used, &given)) goto out;
    for (size_t c = 0; c < t->cols && given; c++)
        if (used[c] && add_use(J, 1, c, NULL)) goto out;
    for (size_t i = 0, k = 0; i < x->n_cols; i++) {
        const nnc_column *rc_ = &x->cols[i];
        int target = rc_->role == NNC_COLUMN_TARGET;
        const char *want = J->text && !target && J->o->text_column ? J->o->text_column : rc_->name;
        long c = by_name(idx, t->cols, want);
        if (target && given) { /* --label-column stands for the recorded labels, in order */
            if (k < J->n_targ) J->targ[k].values = rc_->values, J->targ[k].n_values = rc_->values ? rc_->n_values : 0;
            k++;
            continue;
        }
        if (c < 0 && target && x->predict) continue;
        if (c < 0) {
            fail(J, "%s:1: no column '%.60s', which the model %s (the model's columns are matched by header name%s)",
                 J->o->data, want, target ? "takes as its label" : J->text ? "reads as its text" : "takes as a feature",
                 target ? "; --label-column NAME names another" : J->text ? "; --text-column NAME names another" : "");
            goto out;
        }
        if (used[c] && target) continue; /* --label-column named it already */
        if (used[c]) {
            col_words(t, (size_t)c, words, sizeof words);
            fail(J, "%s: %s is the model's feature '%s' and also a label", J->o->data, words, rc_->name);
            goto out;
        }
        used[c] = 1;
        if (add_use(J, target, (size_t)c, rc_)) goto out;
    }
    rc = 0;
out:
    free(idx);
    return rc;
}

/* Columns taken by position: the file has no header, or the model recorded no names. */
static int pick_by_position(job *J, unsigned char *used) {
    const nnc_table *t = &J->t;
    const cli_load_ctx *x = J->ctx;
    size_t n_feat = 0;
    for (size_t i = 0; i < x->n_cols; i++) n_feat += x->cols[i].role == NNC_COLUMN_FEATURE;
    if (t->cols != x->n_cols && t->cols != n_feat)
        return fail(J, "%s: %zu columns, but the model was trained on %zu (%zu features and %zu labels); a file "
                    "without a header must have the same columns in the same order (or only the features)",
                    J->o->data, t->cols, x->n_cols, n_feat, x->n_cols - n_feat);
    if (J->o->label_column)
        return fail(J, "%s: --label-column: the model records its columns; without names in the file they go by "
                    "position", J->o->data);
    for (size_t i = 0, c = 0; i < x->n_cols; i++) {
        int target = x->cols[i].role == NNC_COLUMN_TARGET;
        if (target && t->cols == n_feat) continue;
        used[c] = 1;
        if (add_use(J, target, c++, &x->cols[i])) return -1;
    }
    return 0;
}

static int pick_recorded(job *J) {
    const nnc_table *t = &J->t;
    if (J->o->targets_given)
        return fail(J, "%s: --targets: the model records its columns; give --label-column NAME to name others",
                    J->o->data);
    int named_cols = t->header;
    for (size_t i = 0; i < J->ctx->n_cols; i++) named_cols &= J->ctx->cols[i].name[0] != '\0';
    unsigned char *used = calloc(t->cols, 1);
    if (!used) return fail(J, "out of memory");
    int rc = named_cols ? pick_by_name(J, used) : pick_by_position(J, used);
    unsigned char *ignored = rc ? NULL : calloc(t->cols, 1);
    size_t n_ignored = 0;
    if (!rc && (!ignored || (J->o->ignore && mark_list(J, J->o->ignore, "--ignore-column", ignored, &n_ignored))))
        rc = ignored ? -1 : fail(J, "out of memory");
    for (size_t c = 0; !rc && c < t->cols; c++)
        if (ignored[c] && used[c]) {
            char words[160];
            col_words(t, c, words, sizeof words);
            rc = fail(J, "%s: --ignore-column: the model uses %s", J->o->data, words);
        }
    free(ignored);
    if (!rc) {
        char list[400];
        size_t len = 0, unused = 0;
        for (size_t c = 0; c < t->cols; c++)
            if (!used[c] && unused++ < 6 && len + 4 < sizeof list)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s'%.40s'", len ? ", " : "", t->columns[c].name);
        if (unused)
            cli_note(J->d, "%s: %zu column(s) the model does not use left out: %s%s", J->o->data, unused, list,
                     unused > 6 ? ", ..." : "");
        if (J->ctx->predict && J->n_targ)
            cli_note(J->d, "%s: the label column(s) are not used by predict", J->o->data);
    }
    free(used);
    return rc;
}

/* ---- how text becomes numbers ---------------------------------------------------------------- */

/* The text that stands for a cell in lookups: the text itself, or a number as %.9g writes it
 * (so that a column read as numbers in one file and as texts in another matches). */
static const char *cell_key(const nnc_table *t, size_t c, float v, char *buf, size_t n) {
    if (t->columns[c].texts) return t->columns[c].texts[(size_t)v];
    snprintf(buf, n, "%.9g", (double)v);
    return buf;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The line where column c shows its (cap+1)-th distinct value: index_of maps a row's value to
 * its index among the column's n distinct values. */
static size_t line_past_cap(const job *J, size_t c, size_t n, size_t cap, const float *distinct) {
    const nnc_table *t = &J->t;
    unsigned char *seen = calloc(n ? n : 1, 1);
    size_t count = 0, r = 0;
    for (; seen && r < t->rows; r++) {
        float v = t->values[r * t->cols + c];
        if (isnan(v)) continue;
        const float *hit = distinct ? bsearch(&v, distinct, n, sizeof *distinct, cmp_float) : NULL;
        size_t i = distinct ? (size_t)(hit - distinct) : (size_t)v;
        if (!seen[i]) seen[i] = 1, count++;
        if (count > cap) break;
    }
    free(seen);
    return nnc_table_line(t, r < t->rows ? r : t->rows - 1);
}

/* --one-hot on a column of numbers: its distinct values, in numeric order, as keys. */
static int number_categories(job *J, use *u) {
    const nnc_table *t = &J->t;
    float *v = malloc((t->rows ? t->rows : 1) * sizeof *v);
    size_t n = 0, distinct = 0;
    char key[32], words[160];
    if (!v) return fail(J, "out of memory");
    for (size_t r = 0; r < t->rows; r++)
        if (!isnan(t->values[r * t->cols + u->col])) v[n++] = t->values[r * t->cols + u->col];
    qsort(v, n, sizeof *v, cmp_float);
    for (size_t i = 0; i < n; i++)
        if (!i || v[i] != v[i - 1]) v[distinct++] = v[i];
    if (distinct > NNC_MAX_ONE_HOT) {
        size_t line = line_past_cap(J, u->col, distinct, NNC_MAX_ONE_HOT, v);
        free(v);
        col_words(t, u->col, words, sizeof words);
        return fail(J, "%s:%zu: --one-hot: %s has more than %d distinct values (a number or an ID, not a category?)",
                    J->o->data, line, words, NNC_MAX_ONE_HOT);
    }
    const char **names = own(J, malloc((distinct ? distinct : 1) * sizeof *names));
    int rc = names ? 0 : fail(J, "out of memory");
    for (size_t i = 0; !rc && i < distinct; i++) {
        snprintf(key, sizeof key, "%.9g", (double)v[i]);
        if (!(names[i] = own(J, strdup(key)))) rc = fail(J, "out of memory");
    }
    free(v);
    u->values = names, u->n_values = distinct;
    return rc;
}

/* --one-hot (train): each named feature column becomes one input per category. */
static int apply_one_hot(job *J) {
    const nnc_table *t = &J->t;
    unsigned char *is = calloc(t->cols, 1);
    size_t count;
    char words[160];
    if (!is) return fail(J, "out of memory");
    int rc = J->o->one_hot ? mark_list(J, J->o->one_hot, "--one-hot", is, &count) : 0;
    for (size_t i = 0; !rc && i < J->n_targ; i++)
        if (is[J->targ[i].col]) {
            col_words(t, J->targ[i].col, words, sizeof words);
            rc = fail(J, "%s: --one-hot: %s is a label column; class names need no encoding", J->o->data, words);
        }
    for (size_t i = 0; !rc && i < J->n_feat; i++) {
        use *u = &J->feat[i];
        const nnc_table_column *c = &t->columns[u->col];
        if (!is[u->col]) continue;
        col_words(t, u->col, words, sizeof words);
        if (c->too_many_texts || c->n_texts > NNC_MAX_ONE_HOT)
            rc = fail(J, "%s:%zu: --one-hot: %s has more than %d distinct values (an ID or free text, not a category?)",
                      J->o->data, c->too_many_texts ? c->too_many_line : line_past_cap(J, u->col, c->n_texts, NNC_MAX_ONE_HOT, NULL),
                      words, NNC_MAX_ONE_HOT);
        else if (c->texts)
            u->values = (const char *const *)c->texts, u->n_values = c->n_texts;
        else
            rc = number_categories(J, u);
    }
    free(is);
    return rc;
}

/* A label column of texts (train): its texts are the class names, which the loss of its output
 * (the one target column ti of a row belongs to) must take. */
static int class_names(job *J, use *u, size_t ti) {
    const nnc_table_column *c = &J->t.columns[u->col];
    const nnc_model *m = J->ctx->m;
    char words[160];
    col_words(&J->t, u->col, words, sizeof words);
    if (c->too_many_texts)
        return fail(J, "%s:%zu: %s: more than %d distinct class names", J->o->data, c->too_many_line, words,
                    NNC_MAX_CLASS_NAMES);
    for (size_t i = 0; i < c->n_texts; i++) {
        const char *s = c->texts[i];
        while (*s == ' ' || *s == '\t') s++;
        if (*s) continue;
        size_t r = 0;
        while (r + 1 < J->t.rows && J->t.values[r * J->t.cols + u->col] != (float)i) r++;
        return fail(J, "%s:%zu: %s: an empty class name ('%s')", J->o->data, nnc_table_line(&J->t, r), words,
                    c->texts[i]);
    }
    const nnc_compile_opts co = nnc_model_compile_opts(m);
    int h = 0;
    for (size_t t0 = nnc_target_size_at(m, 0); h + 1 < nnc_model_n_outputs(m) && ti >= t0; t0 += nnc_target_size_at(m, ++h))
        ;
    const nnc_loss L = co.n_outputs ? co.outputs[h].loss : co.loss;
    size_t k = nnc_output_size_at(m, h);
    const char *loss = nnc_loss_name(L.kind);
    if (L.kind == NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && c->n_texts != k)
        return fail(J, "%s: %s holds %zu class names ('%s', ...), but output layer '%s' has %zu units", J->o->data, words,
                    c->n_texts, c->texts[0], nnc_model_output_name_at(m, h), k);
    if (L.kind == NNC_LOSS_BINARY_CROSSENTROPY && c->n_texts != 2)
        return fail(J, "%s: %s holds %zu class names ('%s', ...); binary_crossentropy needs exactly 2", J->o->data, words,
                    c->n_texts, c->texts[0]);
    if (L.kind == NNC_LOSS_CATEGORICAL_CROSSENTROPY)
        return fail(J, "%s: %s holds class names ('%s', ...); categorical_crossentropy takes one-hot targets: use loss "
                    "sparse_categorical_crossentropy for class labels", J->o->data, words, c->texts[0]);
    if (L.kind != NNC_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && L.kind != NNC_LOSS_BINARY_CROSSENTROPY)
        return fail(J, "%s:%zu: %s: not a number: '%s'; loss %s needs numbers", J->o->data, c->first_text_line, words,
                    c->first_text, loss);
    u->values = (const char *const *)c->texts;
    u->n_values = c->n_texts;
    J->d->text_labels = 1;
    return 0;
}

/* A lookup of u's values: (text, index) pairs in byte order. */
static int make_order(job *J, use *u) {
    named *o = own(J, malloc((u->n_values ? u->n_values : 1) * sizeof *o));
    if (!o) return fail(J, "out of memory");
    for (size_t i = 0; i < u->n_values; i++) o[i].name = u->values[i], o[i].col = i;
    qsort(o, u->n_values, sizeof *o, cmp_named);
    u->order = o;
    return 0;
}

/* Each use checked against its column: numbers where numbers are read, a lookup where texts are. */
static int check_uses(job *J) {
    nnc_table *t = &J->t;
    const int train = !J->ctx->cols;
    char words[160];
    nnc_error e = {""};
    for (size_t i = 0; i < J->n_feat + J->n_targ; i++) {
        int target = i >= J->n_feat;
        use *u = target ? &J->targ[i - J->n_feat] : &J->feat[i];
        if (target && J->ctx->predict) continue;
        const nnc_table_column *tc = &t->columns[u->col];
        if (target && train && (tc->texts || tc->too_many_texts) && class_names(J, u, i - J->n_feat)) return -1;
        col_words(t, u->col, words, sizeof words);
        if (J->text && !target) {
            if (tc->too_many_texts)
                return fail(J, "%s:%zu: %s: over %d distinct texts, which nnc does not read yet", J->o->data,
                            tc->too_many_line, words, NNC_TABLE_MAX_TEXTS);
            if (!tc->texts)
                return fail(J, "%s: %s %s, not text for the model's TextVectorization", J->o->data, words,
                            tc->missing < t->rows ? "holds numbers" : "is empty");
            continue;
        }
        if (u->values && t->columns[u->col].too_many_texts)
            return fail(J, "%s:%zu: %s: more than %d distinct texts", J->o->data, t->columns[u->col].too_many_line,
                        words, NNC_TABLE_MAX_TEXTS);
        if (u->values) {
            if (make_order(J, u)) return -1;
            continue;
        }
        if (nnc_table_check_numbers(t, u->col, true, &e) == NNC_OK) continue;
        if (target || strstr(e.message, "decimal comma") || strstr(e.message, "the delimiter?"))
            return fail(J, "%s", e.message);
        return fail(J, "%s; %s", e.message,
                    train ? "a column of categories needs encoding: --one-hot NAME makes one input per value (free "
                            "text: a spec whose first line is text_vectorization)"
                          : "the model was trained on numbers in this column");
    }
    return 0;
}

/* The index of row r's cell among u's values, or a message when it is none of them. */
static int lookup(job *J, const use *u, size_t r, float v, int target, long *idx) {
    char key[32], words[160], known[200];
    const char *text = cell_key(&J->t, u->col, v, key, sizeof key);
    named k = {text, 0}, *hit = bsearch(&k, u->order, u->n_values, sizeof *u->order, cmp_named);
    if (hit) return *idx = (long)hit->col, 0;
    size_t len = 0;
    for (size_t i = 0; i < u->n_values && i < 5 && len + 4 < sizeof known; i++)
        len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", u->values[i]);
    col_words(&J->t, u->col, words, sizeof words);
    return fail(J, "%s:%zu: %s: '%.60s' is not one of the %zu %s the model was trained on (%s%s)", J->o->data,
                nnc_table_line(&J->t, r), words, text, u->n_values, target ? "classes" : "categories", known,
                u->n_values > 5 ? ", ..." : "");
}

/* Row r's targets into y and features into x (one-hot expanded); *miss gets the table column
 * of a missing cell, or SIZE_MAX. Targets are read first: x may overwrite the row in place. */
static int encode_row(job *J, size_t r, float *x, float *y, size_t *miss) {
    const nnc_table *t = &J->t;
    const float *row = t->values + r * t->cols;
    const size_t ny = J->ctx->predict ? 0 : J->n_targ;
    long idx;
    *miss = SIZE_MAX;
    for (size_t k = 0; k < ny; k++) {
        const use *u = &J->targ[k];
        float v = row[u->col];
        if (!isnan(v) && u->values) {
            if (lookup(J, u, r, v, 1, &idx)) return -1;
            v = (float)idx;
        }
        if (isnan(v) && *miss == SIZE_MAX) *miss = u->col;
        y[k] = v;
    }
    for (size_t j = 0, xi = 0; j < J->n_feat; j++) {
        const use *u = &J->feat[j];
        float v = row[u->col];
        if (J->text) { /* the index of the row's text; an empty cell is an empty text, as in Keras */
            x[xi++] = isnan(v) ? -1.0f : v;
            continue;
        }
        if (isnan(v) && *miss == SIZE_MAX) *miss = u->col;
        if (!u->values) {
            x[xi++] = v;
            continue;
        }
        if (!isnan(v) && lookup(J, u, r, v, 0, &idx)) return -1;
        for (size_t i = 0; i < u->n_values; i++) x[xi++] = isnan(v) ? NAN : (long)i == idx ? 1.0f : 0.0f;
    }
    return 0;
}

/* ---- the arrays -------------------------------------------------------------------------------- */

/* Rows with a missing value: an error naming the first, or (--drop-missing) left out. */
static int missing_rows(job *J, size_t n_miss, size_t first_row, size_t first_col) {
    cli_data *d = J->d;
    char words[160];
    if (!n_miss) return 0;
    col_words(&J->t, first_col, words, sizeof words);
    if (!J->o->drop_missing)
        return fail(J, "%s:%zu: %s: a missing value (empty, NA or ?); %zu row(s) have one; --drop-missing leaves "
                    "such rows out", J->o->data, d->line[first_row], words, n_miss);
    if (n_miss == d->n) return fail(J, "%s: every row has a missing value (the first on line %zu in %s)", J->o->data,
                                    d->line[first_row], words);
    size_t kept = 0;
    for (size_t r = 0; r < d->n; r++) {
        int bad = 0;
        for (size_t j = 0; j < d->features && !bad; j++) bad = isnan(d->x[r * d->features + j]);
        for (size_t k = 0; k < d->targets && !bad; k++) bad = isnan(d->y[r * d->targets + k]);
        if (bad) continue;
        memmove(d->x + kept * d->features, d->x + r * d->features, d->features * sizeof *d->x);
        memmove(d->y + kept * d->targets, d->y + r * d->targets, d->targets * sizeof *d->y);
        d->line[kept++] = d->line[r];
    }
    cli_note(J->d, "%s: %zu row(s) with a missing value left out (--drop-missing), %zu kept", J->o->data, n_miss,
             kept);
    d->n = kept;
    return 0;
}

static int build(job *J) {
    nnc_table *t = &J->t;
    cli_data *d = J->d;
    size_t width = 0, ny = J->ctx->predict ? 0 : J->n_targ;
    int in_place = 1;
    for (size_t j = 0; j < J->n_feat; j++) {
        width += J->feat[j].values ? J->feat[j].n_values : 1;
        in_place &= !J->feat[j].values && (j == 0 || J->feat[j].col > J->feat[j - 1].col);
    }
    if (t->rows > ((size_t)1 << 40) / (width ? width : 1)) return fail(J, "%s: too large", J->o->data);
    d->n = t->rows, d->features = width, d->targets = ny;
    d->x = in_place ? t->values : malloc(t->rows * width * sizeof *d->x + 1); /* in place: t->values stays the source */
    d->y = malloc(t->rows * (ny ? ny : 1) * sizeof *d->y);
    d->line = malloc(t->rows * sizeof *d->line);
    d->col_index = malloc((J->n_feat + ny + 1) * sizeof *d->col_index);
    if (!d->x || !d->y || !d->line || !d->col_index) return fail(J, "%s: out of memory", J->o->data);
    for (size_t j = 0; j < J->n_feat + ny; j++) {
        const use *u = j < J->n_feat ? &J->feat[j] : &J->targ[j - J->n_feat];
        d->col_index[j] = u->col;
        d->categorical |= u->values != NULL;
    }
    size_t n_miss = 0, first_row = 0, first_col = 0, miss;
    for (size_t r = 0; r < t->rows; r++) {
        d->line[r] = nnc_table_line(t, r);
        if (encode_row(J, r, d->x + r * width, d->y + r * ny, &miss)) return -1;
        if (miss != SIZE_MAX && !n_miss++) first_row = r, first_col = miss;
    }
    if (!in_place) free(t->values);
    t->values = NULL;
    if (in_place && t->rows && width) {
        float *shrunk = realloc(d->x, t->rows * width * sizeof *d->x);
        if (shrunk) d->x = shrunk;
    }
    return missing_rows(J, n_miss, first_row, first_col);
}

/* What `train` records in the model: the columns it used, in the file's order. */
static int record_columns(job *J) {
    cli_data *d = J->d;
    const nnc_table *t = &J->t;
    const size_t n = J->n_feat + J->n_targ;
    if (!(d->columns = calloc(n, sizeof *d->columns))) return fail(J, "out of memory");
    d->n_columns = n;
    for (size_t c = 0, k = 0; c < t->cols; c++)
        for (size_t i = 0; i < n; i++) {
            int target = i >= J->n_feat;
            const use *u = target ? &J->targ[i - J->n_feat] : &J->feat[i];
            if (u->col != c) continue;
            nnc_column *col = &d->columns[k++];
            col->name = t->columns[c].name;
            col->role = target ? NNC_COLUMN_TARGET : NNC_COLUMN_FEATURE;
            col->values = u->values;
            col->n_values = u->values ? u->n_values : 0;
        }
    return 0;
}

/* Each target's column in words, for messages about labels. */
static int label_names(job *J) {
    cli_data *d = J->d;
    char words[160];
    if (!J->n_targ) return 0;
    if (!(d->label_name = calloc(J->n_targ, sizeof *d->label_name))) return fail(J, "out of memory");
    d->n_label_names = J->n_targ;
    for (size_t k = 0; k < J->n_targ; k++) {
        col_words(&J->t, J->targ[k].col, words, sizeof words);
        if (!(d->label_name[k] = strdup(words))) return fail(J, "out of memory");
    }
    return 0;
}

/* The inputs the features make, against the model's input: an error listing the columns. */
static int check_width(job *J) {
    if (J->text) return 0; /* checked once vectorized */
    size_t width = 0, one_hot = 0, len = 0;
    char list[400];
    list[0] = '\0';
    for (size_t j = 0; j < J->n_feat; j++) {
        width += J->feat[j].values ? J->feat[j].n_values : 1;
        one_hot += J->feat[j].values != NULL;
        if (j < 8 && len + 4 < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%.40s", j ? ", " : "", J->t.columns[J->feat[j].col].name);
    }
    size_t want = J->ctx->m ? nnc_input_size(J->ctx->m) : width;
    const size_t per = J->ctx->m ? nnc_model_step_values(J->ctx->m) : 0;
    if (width == want && !per) return 0;
    if (per && !one_hot) { /* a None time axis: the rows say the length */
        if (width % per || width / per > (1u << 24))
            return fail(J, "%s: %zu feature columns are not a whole number of steps of %zu values (the model's input "
                        "takes sequences of any length)", J->o->data, width, per);
        J->d->steps = (int)(width / per);
        cli_note(J->d, "%s: the model reads sequences of any length: run at %d steps of %zu value(s), as the rows "
                 "hold", J->o->data, J->d->steps, per);
        return 0;
    }
    if (one_hot)
        return fail(J, "%s: the %zu feature columns (%s%s) make %zu inputs after one-hot encoding, but the model's "
                    "input takes %zu values", J->o->data, J->n_feat, list, J->n_feat > 8 ? ", ..." : "", width, want);
    return fail(J, "%s: %zu feature columns (%s%s), but the model's input takes %zu values%s", J->o->data, J->n_feat,
                list, J->n_feat > 8 ? ", ..." : "", want,
                J->t.header && width > want ? "; --ignore-column NAME leaves a column out" : "");
}

int cli_load_csv(const cli_data_opts *o, const cli_load_ctx *ctx, cli_data *d, char *err, size_t errlen) {
    return cli_load_csv_sample(o, ctx, d, NULL, 0, err, errlen);
}

int cli_load_csv_sample(const cli_data_opts *o, const cli_load_ctx *ctx, cli_data *d, const char *sample, size_t len,
                        char *err, size_t errlen) {
    job J = {o, ctx, d, {0}, NULL, NULL, 0, 0, err, errlen, ctx->m && nnc_model_text_vectorizer(ctx->m), sample, len};
    int rc = read_table(&J) || (ctx->cols ? pick_recorded(&J) : J.text ? pick_text_columns(&J) : pick_by_options(&J)) ||
             (!ctx->cols && apply_one_hot(&J)) || check_width(&J) || check_uses(&J) || label_names(&J) || build(&J) ||
             (!ctx->cols && record_columns(&J));
    size_t text_col = J.text && J.n_feat ? J.feat[0].col : 0;
    free(J.feat);
    free(J.targ);
    if (J.t.values != d->x) free(J.t.values); /* a build that failed in place left them shared */
    J.t.values = NULL;
    d->table = J.t; /* the names and texts the columns point to */
    if (!rc && J.text) d->texts = (const char *const *)J.t.columns[text_col].texts, d->n_texts = J.t.columns[text_col].n_texts;
    return rc ? -1 : 0;
}
