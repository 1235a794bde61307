/* The CSV reader (csv.h). Three steps over the file, a record at a time:
 *   1. the delimiter, from the first record (unless given);
 *   2. a pass that counts the rows, checks that every record has as many fields as the first,
 *      and notes for each column whether its cells below the first record are numbers or
 *      texts, which decides whether the first record is a header and which columns are texts;
 *   3. a pass that stores the values: numbers, NaN for missing cells, and for a text column the
 *      index of the cell's text among the column's distinct texts (sorted at the end).
 * Every error names the file, the line and the column, because a user fixes a file in an
 * editor that shows line numbers. */
#define _POSIX_C_SOURCE 200809L
#include "csv.h"
#include "lines.h"
#include "../format/message.h"
#include "../format/strmap.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a cell holds. BAD is a number that cannot be used (NaN, Inf, beyond float32): an error
 * in a column of numbers, a text in a column of texts. */
enum { K_NUMBER, K_MISSING, K_TEXT, K_BAD };

static const char candidates[] = ",;\t|";

/* One record's cells, unquoted, each NUL-terminated in buf at off[i]. */
typedef struct {
    nnc_lines L;
    char delim;
    char *buf;
    size_t len, cap;
    size_t *off;
    size_t n, ncap;
    size_t line;      /* where the record starts */
    const char *name; /* the file, for messages */
    char *err;
    size_t errlen;
} reader;

static int oom(reader *R) { return nnc_msg(R->err, R->errlen, "%s: out of memory", R->name); }

static int put(reader *R, const char *p, size_t n) {
    if (R->len + n + 1 > R->cap) {
        size_t cap = R->cap ? R->cap : 256;
        while (cap < R->len + n + 1) cap *= 2;
        char *b = realloc(R->buf, cap);
        if (!b) return oom(R);
        R->buf = b;
        R->cap = cap;
    }
    memcpy(R->buf + R->len, p, n);
    R->len += n;
    return 0;
}

static int cell_begin(reader *R) {
    if (R->n == R->ncap) {
        size_t cap = R->ncap ? 2 * R->ncap : 64;
        size_t *o = realloc(R->off, cap * sizeof *o);
        if (!o) return oom(R);
        R->off = o;
        R->ncap = cap;
    }
    R->off[R->n] = R->len;
    return 0;
}

static int cell_end(reader *R) {
    if (put(R, "", 0)) return -1;
    R->buf[R->len++] = '\0';
    R->n++;
    return 0;
}

static int is_space(const reader *R, char c) { return c == ' ' || (c == '\t' && R->delim != '\t'); }

static int is_blank(const reader *R, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_space(R, s[i])) return 0;
    return 1;
}

static int bad_byte(reader *R, const char *s, size_t n, size_t col) {
    if (memchr(s, '\0', n))
        return nnc_msg(R->err, R->errlen, "%s:%zu: column %zu: a NUL byte (is this a text file?)", R->name,
                       R->L.lineno, col);
    return 0;
}

/* A quoted field from s[*i] (just past the opening quote), across lines when it holds line
 * breaks; *s and *n move to the line where it closes. */
static int quoted_field(reader *R, const char **s, size_t *n, size_t *i, size_t col) {
    const size_t opened = R->L.lineno;
    for (;;) {
        const char *q = memchr(*s + *i, '"', *n - *i);
        if (!q) { /* the line ends inside the quotes: the field goes on */
            if (bad_byte(R, *s + *i, *n - *i, col) || put(R, *s + *i, *n - *i) || put(R, "\n", 1)) return -1;
            int got = nnc_lines_next(&R->L, s, n);
            if (got < 0) return -1;
            if (!got)
                return nnc_msg(R->err, R->errlen, "%s:%zu: column %zu: unterminated quote (the field opened here runs to "
                               "the end of the file)", R->name, opened, col);
            *i = 0;
            continue;
        }
        size_t upto = (size_t)(q - *s);
        if (bad_byte(R, *s + *i, upto - *i, col) || put(R, *s + *i, upto - *i)) return -1;
        *i = upto + 1;
        if (*i < *n && (*s)[*i] == '"') { /* a doubled quote stands for one */
            if (put(R, "\"", 1)) return -1;
            (*i)++;
            continue;
        }
        break;
    }
    while (*i < *n && is_space(R, (*s)[*i])) (*i)++;
    if (*i < *n && (*s)[*i] != R->delim) {
        const char *d = memchr(*s + *i, R->delim, *n - *i);
        size_t shown = (d ? (size_t)(d - *s) : *n) - *i;
        return nnc_msg(R->err, R->errlen, "%s:%zu: column %zu: text after a closing quote: '%.*s' (a quote inside a "
                       "quoted field is written twice: \"\")", R->name, R->L.lineno, col, (int)(shown > 20 ? 20 : shown),
                       *s + *i);
    }
    return 0;
}

/* An unquoted field from s[*i] up to the delimiter, spaces around it trimmed. */
static int plain_field(reader *R, const char *s, size_t n, size_t *i, size_t col) {
    const char *d = memchr(s + *i, R->delim, n - *i);
    size_t start = *i, end = d ? (size_t)(d - s) : n;
    if (memchr(s + start, '"', end - start))
        return nnc_msg(R->err, R->errlen, "%s:%zu: column %zu: a quote inside an unquoted field (quote the whole "
                       "field, with each quote inside written twice: \"a \"\"b\"\"\")", R->name, R->L.lineno, col);
    if (memchr(s + start, '\r', end - start))
        return nnc_msg(R->err, R->errlen, "%s:%zu: column %zu: a carriage return inside the line (only \\n and \\r\\n "
                       "line ends are read)", R->name, R->L.lineno, col);
    if (bad_byte(R, s + start, end - start, col)) return -1;
    *i = end;
    while (end > start && is_space(R, s[end - 1])) end--;
    return put(R, s + start, end - start);
}

/* The next record: 1 (R->n cells; 0 cells for a blank line), 0 at the end, -1 on an error. */
static int read_record(reader *R) {
    const char *s;
    size_t n, i = 0;
    int got = nnc_lines_next(&R->L, &s, &n);
    if (got <= 0) return got;
    if (R->L.lineno == 1 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, n -= 3; /* UTF-8 byte-order mark */
    R->line = R->L.lineno;
    R->len = R->n = 0;
    if (is_blank(R, s, n)) return 1;
    for (;;) {
        size_t col = R->n + 1;
        if (cell_begin(R)) return -1;
        while (i < n && is_space(R, s[i])) i++;
        if (i < n && s[i] == '"') {
            i++;
            if (quoted_field(R, &s, &n, &i, col)) return -1;
        } else if (plain_field(R, s, n, &i, col)) {
            return -1;
        }
        if (cell_end(R)) return -1;
        if (i >= n) return 1;
        i++; /* past the delimiter; a delimiter at the end leaves one more, empty, field */
    }
}

/* The delimiter of o, or the candidate met most often outside quotes in the first record. */
static int find_delimiter(reader *R, const nnc_csv_opts *o) {
    if (o->delimiter) {
        if (!memchr(candidates, o->delimiter, 4))
            return nnc_msg(R->err, R->errlen, "%s: the delimiter must be ',', ';', tab or '|', not '%c'", R->name,
                           o->delimiter);
        R->delim = o->delimiter;
        return 0;
    }
    size_t count[4] = {0};
    const char *s;
    size_t n;
    int got, in_quote = 0, started = 0;
    R->delim = ',';
    while ((got = nnc_lines_next(&R->L, &s, &n)) > 0) {
        if (!in_quote && !started && is_blank(R, s, n)) continue;
        started = 1;
        for (size_t i = 0; i < n; i++) {
            const char *k = s[i] ? memchr(candidates, s[i], 4) : NULL;
            if (s[i] == '"') in_quote = !in_quote;
            else if (k && !in_quote) count[k - candidates]++;
        }
        if (!in_quote) break;
    }
    if (got < 0 || nnc_lines_rewind(&R->L)) return -1;
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (count[k] > count[best]) best = k;
    for (int k = 0; k < 4; k++)
        if (k != best && count[k] && count[k] == count[best])
            return nnc_msg(R->err, R->errlen, "%s:1: cannot tell the delimiter: '%s' and '%s' both appear %zu times "
                           "(give --delimiter)", R->name, candidates[best] == '\t' ? "\\t" : (char[]){candidates[best], 0},
                           candidates[k] == '\t' ? "\\t" : (char[]){candidates[k], 0}, count[k]);
    if (count[best]) R->delim = candidates[best];
    return 0;
}

/* The kind of a cell and, for a number, its value. strtod's hex floats are texts here: a
 * dataset holding "0x10" more likely means a code than sixteen. */
static int classify(const char *cell, float *v) {
    if (!cell[0] || !strcmp(cell, "NA") || !strcmp(cell, "?")) return K_MISSING;
    char *end;
    double d = strtod(cell, &end);
    if (end == cell || *end || strpbrk(cell, "xX")) return K_TEXT;
    if (!isfinite(d) || !isfinite((float)d)) return K_BAD;
    *v = (float)d;
    return K_NUMBER;
}

/* What the first pass learns. */
typedef struct {
    size_t fields, rows;
    unsigned char *row1;         /* kind of each cell of the first record */
    unsigned char *text_below;   /* a text in a later record */
    unsigned char *number_below; /* a number in a later record */
    size_t first_line;           /* of the first record */
} scan_result;

static void scan_free(scan_result *S) {
    free(S->row1);
    free(S->text_below);
    free(S->number_below);
}

static const char *delim_word(char d) { return d == '\t' ? "tab" : d == ',' ? "','" : d == ';' ? "';'" : "'|'"; }

/* A ragged record: the count, and a word when the record holds another delimiter. */
static int ragged(reader *R, size_t want, size_t first_line) {
    char hint[160] = "";
    for (int k = 0; k < 4; k++)
        if (candidates[k] != R->delim && memchr(R->buf, candidates[k], R->len)) {
            snprintf(hint, sizeof hint, "; the delimiter is %s but this line holds %s: does it change mid-file?",
                     delim_word(R->delim), delim_word(candidates[k]));
            break;
        }
    return nnc_msg(R->err, R->errlen, "%s:%zu: ragged row: expected %zu fields (as in line %zu), got %zu%s", R->name,
                   R->line, want, first_line, R->n, hint);
}

static int scan_first_record(reader *R, scan_result *S) {
    int got;
    size_t blank = 0;
    while ((got = read_record(R)) > 0 && R->n == 0) blank = blank ? blank : R->line;
    if (got < 0) return -1;
    if (!got) return nnc_msg(R->err, R->errlen, "%s: empty file", R->name);
    if (blank) return nnc_msg(R->err, R->errlen, "%s:%zu: the first line is blank", R->name, blank);
    S->fields = R->n;
    S->first_line = R->line;
    S->row1 = calloc(S->fields, 1);
    S->text_below = calloc(S->fields, 1);
    S->number_below = calloc(S->fields, 1);
    if (!S->row1 || !S->text_below || !S->number_below) return oom(R);
    for (size_t c = 0; c < S->fields; c++) {
        float v;
        S->row1[c] = (unsigned char)classify(R->buf + R->off[c], &v);
    }
    return 0;
}

/* The first pass. */
static int scan(reader *R, scan_result *S) {
    if (scan_first_record(R, S)) return -1;
    size_t blank = 0;
    int got;
    while ((got = read_record(R)) > 0) {
        if (R->n == 0) {
            blank = blank ? blank : R->line;
            continue;
        }
        if (blank) return nnc_msg(R->err, R->errlen, "%s:%zu: blank line inside the data", R->name, blank);
        if (R->n != S->fields) return ragged(R, S->fields, S->first_line);
        for (size_t c = 0; c < S->fields; c++) {
            float v;
            int k = classify(R->buf + R->off[c], &v);
            if (k == K_TEXT) S->text_below[c] = 1;
            else if (k == K_NUMBER || k == K_BAD) S->number_below[c] = 1;
        }
        S->rows++;
    }
    return got < 0 ? -1 : 0;
}

/* Whether the first record names the columns (nnc_csv_opts.header). */
static bool has_header(const scan_result *S, nnc_header_mode mode) {
    if (mode != NNC_HEADER_AUTO) return mode == NNC_HEADER_YES;
    bool number = false;
    for (size_t c = 0; c < S->fields; c++) {
        if ((S->row1[c] == K_TEXT || S->row1[c] == K_BAD) && !S->text_below[c] && S->number_below[c]) return true;
        number |= S->row1[c] == K_NUMBER;
    }
    return !number;
}

/* The distinct texts of a column while the values are read: index i stands for list[i]. */
typedef struct {
    nnc_strmap map;
    char **list;
    size_t n, cap;
} vocab;

/* What the second pass fills. */
typedef struct {
    reader *R;
    nnc_table *t;
    vocab *voc;      /* per column; map.cap 0 for a column of numbers */
    bool *is_text;
    size_t skip;     /* 1 when column 1 holds row names */
} filler;

static void cell_where(const filler *F, size_t col, char *buf, size_t n) {
    const char *name = F->t->columns[col].name;
    if (name && name[0])
        snprintf(buf, n, "%s:%zu: column %zu ('%.40s')", F->R->name, F->R->line, col + 1 + F->skip, name);
    else
        snprintf(buf, n, "%s:%zu: column %zu", F->R->name, F->R->line, col + 1 + F->skip);
}

static void note_text(char *dst, size_t dn, const char *cell) {
    snprintf(dst, dn, "%.40s%s", cell, strlen(cell) > 40 ? "..." : "");
}

/* A text cell of a text column: its index in the column's vocab. */
static int text_value(filler *F, size_t col, const char *cell, float *v) {
    vocab *w = &F->voc[col];
    nnc_table_column *c = &F->t->columns[col];
    if (c->too_many_texts) {
        *v = NAN;
        return 0;
    }
    int *have = nnc_strmap_get(&w->map, cell);
    if (have) {
        *v = (float)*have;
        return 0;
    }
    if (w->n == NNC_TABLE_MAX_TEXTS) { /* the list is of no use now: give its memory back */
        c->too_many_texts = true;
        c->too_many_line = F->R->line;
        *v = NAN;
        return 0;
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        char **l = realloc(w->list, cap * sizeof *l);
        if (!l) return oom(F->R);
        w->list = l;
        w->cap = cap;
    }
    if (!(w->list[w->n] = strdup(cell)) || nnc_strmap_put(&w->map, cell, (int)w->n)) return oom(F->R);
    *v = (float)w->n++;
    return 0;
}

static int store_cell(filler *F, size_t col, const char *cell, float *v) {
    nnc_table_column *c = &F->t->columns[col];
    char at[160];
    int k = classify(cell, v);
    if (k == K_MISSING) {
        *v = NAN;
        if (!c->missing++) {
            c->first_missing_line = F->R->line;
            snprintf(c->first_missing, sizeof c->first_missing, "%s", cell);
        }
        return 0;
    }
    if (F->is_text[col]) {
        if ((k == K_TEXT || k == K_BAD) && !c->first_text_line) {
            c->first_text_line = F->R->line;
            note_text(c->first_text, sizeof c->first_text, cell);
        }
        return text_value(F, col, cell, v);
    }
    if (k == K_NUMBER) return 0;
    cell_where(F, col, at, sizeof at);
    if (k == K_TEXT) return nnc_msg(F->R->err, F->R->errlen, "%s: the file changed while it was read", F->R->name);
    char shown[48];
    note_text(shown, sizeof shown, cell);
    double d = strtod(cell, NULL);
    return nnc_msg(F->R->err, F->R->errlen, isfinite(d) ? "%s: value out of float32 range: '%s'" : "%s: NaN or Inf value: '%s'",
                   at, shown);
}

/* Column names from the header record, checked: none empty (but a first one of row names),
 * none twice. */
static int take_names(filler *F) {
    reader *R = F->R;
    nnc_table *t = F->t;
    nnc_strmap seen = {0};
    int rc = 0;
    for (size_t c = 0; c < t->cols && !rc; c++) {
        const char *name = R->buf + R->off[c + F->skip];
        int *dup = nnc_strmap_get(&seen, name);
        if (!name[0])
            rc = nnc_msg(R->err, R->errlen, "%s:%zu: column %zu: empty column name", R->name, R->line, c + 1 + F->skip);
        else if (dup)
            rc = nnc_msg(R->err, R->errlen, "%s:%zu: columns %d and %zu are both named '%.40s'", R->name, R->line,
                         *dup + 1, c + 1 + F->skip, name);
        else if (!(t->columns[c].name = strdup(name)) || nnc_strmap_put(&seen, name, (int)(c + F->skip)))
            rc = oom(R);
    }
    nnc_strmap_free(&seen);
    return rc;
}

static int add_jump(nnc_table *t, size_t row, size_t line, size_t *cap) {
    if (t->n_line_jumps == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        size_t *j = realloc(t->line_jumps, 2 * c * sizeof *j);
        if (!j) return -1;
        t->line_jumps = j;
        *cap = c;
    }
    t->line_jumps[2 * t->n_line_jumps] = row;
    t->line_jumps[2 * t->n_line_jumps + 1] = line;
    t->n_line_jumps++;
    return 0;
}

/* The second pass: the rows into t->values (allocated for S->rows rows). */
static int fill_rows(filler *F, const scan_result *S) {
    reader *R = F->R;
    nnc_table *t = F->t;
    size_t next_line = 0, jump_cap = 0;
    int got;
    while ((got = read_record(R)) > 0) {
        if (R->n == 0) continue; /* blank lines at the end: the first pass refused any other */
        if (R->n != S->fields || t->rows == S->rows)
            return nnc_msg(R->err, R->errlen, "%s: the file changed while it was read", R->name);
        if (R->line != next_line && add_jump(t, t->rows, R->line, &jump_cap)) return oom(R);
        next_line = R->line + 1;
        float *row = t->values + t->rows * t->cols;
        for (size_t c = 0; c < t->cols; c++)
            if (store_cell(F, c, R->buf + R->off[c + F->skip], &row[c])) return -1;
        t->rows++;
    }
    if (got < 0) return -1;
    if (t->rows != S->rows) return nnc_msg(R->err, R->errlen, "%s: the file changed while it was read", R->name);
    return 0;
}

static int cmp_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorts each text column's texts and renumbers its values to match. */
static int finish_texts(filler *F) {
    nnc_table *t = F->t;
    for (size_t c = 0; c < t->cols; c++) {
        vocab *w = &F->voc[c];
        nnc_table_column *col = &t->columns[c];
        if (!F->is_text[c]) continue;
        if (col->too_many_texts) {
            for (size_t r = 0; r < t->rows; r++) t->values[r * t->cols + c] = NAN;
            continue;
        }
        qsort(w->list, w->n, sizeof *w->list, cmp_text);
        float *to = malloc((w->n ? w->n : 1) * sizeof *to);
        if (!to) return oom(F->R);
        for (size_t i = 0; i < w->n; i++) to[*nnc_strmap_get(&w->map, w->list[i])] = (float)i;
        for (size_t r = 0; r < t->rows; r++) {
            float *v = &t->values[r * t->cols + c];
            if (!isnan(*v)) *v = to[(size_t)*v];
        }
        free(to);
        col->texts = w->list, col->n_texts = w->n;
        w->list = NULL, w->n = 0;
    }
    return 0;
}

/* The table's columns, from the first record: their names when it is a header (an unnamed
 * first column is R's and pandas' row names, left out), which of them hold texts. */
static int make_columns(filler *F, const scan_result *S, bool header) {
    reader *R = F->R;
    nnc_table *t = F->t;
    F->skip = header && S->fields > 1 && !R->buf[R->off[0]] ? 1 : 0;
    t->cols = S->fields - F->skip;
    t->header = header;
    t->row_names = F->skip == 1;
    t->delimiter = R->delim;
    F->voc = calloc(t->cols, sizeof *F->voc);
    F->is_text = calloc(t->cols, sizeof *F->is_text);
    t->columns = calloc(t->cols, sizeof *t->columns);
    if (!F->voc || !F->is_text || !t->columns) return oom(R);
    for (size_t c = 0; c < t->cols; c++)
        F->is_text[c] = S->text_below[c + F->skip] || (!header && S->row1[c + F->skip] == K_TEXT);
    if (header) return take_names(F);
    for (size_t c = 0; c < t->cols; c++)
        if (!(t->columns[c].name = strdup(""))) return oom(R);
    return 0;
}

static int alloc_values(reader *R, nnc_table *t, size_t rows) {
    if (!rows) return nnc_msg(R->err, R->errlen, "%s: header only, no data rows", R->name);
    if (t->cols > SIZE_MAX / sizeof(float) / rows) return nnc_msg(R->err, R->errlen, "%s: too large", R->name);
    if (!(t->values = malloc(rows * t->cols * sizeof(float))))
        return nnc_msg(R->err, R->errlen, "%s: out of memory for %zu rows of %zu columns", R->name, rows, t->cols);
    return 0;
}

/* Back to the first record; past it when it is the header. */
static int to_first_row(reader *R, bool header) {
    int got;
    if (nnc_lines_rewind(&R->L)) return -1;
    if (!header) return 0;
    while ((got = read_record(R)) > 0 && R->n == 0) continue;
    return got < 0 ? -1 : 0;
}

static int second_pass(reader *R, const scan_result *S, bool header, nnc_table *t) {
    filler F = {R, t, NULL, NULL, 0};
    scan_result S2 = *S;
    S2.rows = S->rows + (header ? 0 : 1);
    int got, rc = -1;
    if (nnc_lines_rewind(&R->L)) return -1;
    while ((got = read_record(R)) > 0 && R->n == 0) continue;
    if (got < 0) return -1;
    if (!got || R->n != S->fields) return nnc_msg(R->err, R->errlen, "%s: the file changed while it was read", R->name);
    if (!make_columns(&F, S, header) && !alloc_values(R, t, S2.rows) && !to_first_row(R, header))
        rc = fill_rows(&F, &S2) || finish_texts(&F) ? -1 : 0;
    for (size_t c = 0; F.voc && c < t->cols; c++) {
        for (size_t i = 0; i < F.voc[c].n; i++) free(F.voc[c].list[i]);
        free(F.voc[c].list);
        nnc_strmap_free(&F.voc[c].map);
    }
    free(F.voc);
    free(F.is_text);
    return rc;
}

static nnc_status read_table(reader *R, const nnc_csv_opts *o, nnc_table *t) {
    nnc_csv_opts dflt = nnc_csv_opts_default();
    scan_result S = {0};
    if (!o) o = &dflt;
    if (o->header != NNC_HEADER_AUTO && o->header != NNC_HEADER_YES && o->header != NNC_HEADER_NO)
        return nnc_msg(R->err, R->errlen, "%s: header mode %d is none of auto, yes and no", R->name, (int)o->header),
               NNC_ERR_ARG;
    int rc = find_delimiter(R, o) || scan(R, &S) || second_pass(R, &S, has_header(&S, o->header), t);
    scan_free(&S);
    free(R->buf);
    free(R->off);
    if (!rc && !(t->source = strdup(R->name))) rc = oom(R);
    return rc ? NNC_ERR_FORMAT : NNC_OK;
}

nnc_status nnc_csv_parse(const char *text, size_t len, const char *name, const nnc_csv_opts *o, nnc_table *out,
                         char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    reader R = {0};
    R.name = name ? name : "(memory)";
    R.err = err, R.errlen = errlen;
    nnc_lines_from_text(&R.L, text, len, R.name, err, errlen);
    nnc_status st = read_table(&R, o, out);
    if (st) nnc_table_free(out);
    return st;
}

nnc_status nnc_csv_read(const char *path, const nnc_csv_opts *o, nnc_table *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!path) return nnc_msg(err, errlen, "(null): no path given"), NNC_ERR_ARG;
    reader R = {0};
    R.name = path;
    R.err = err, R.errlen = errlen;
    if (nnc_lines_open(&R.L, path, err, errlen)) return NNC_ERR_IO;
    nnc_status st = read_table(&R, o, out);
    if (nnc_lines_close(&R.L) && !st) st = NNC_ERR_IO, nnc_msg(err, errlen, "%s: truncated or corrupt gzip data", path);
    if (st) nnc_table_free(out);
    return st;
}
