/* Strict numeric CSV reader for datasets: one header line of column names, then rows of
 * numbers, each error reported with file, line, column and column name so a bad dataset is
 * fixed in one look. A file is read twice, a line at a time: the first pass counts the rows,
 * so the values are allocated once at their size and the text is never held whole (a load
 * needs the floats, rows × columns × 4 bytes, and one line). Out of scope: quoted fields,
 * missing values, non-numeric columns, separators other than ',' and locales other than "C"
 * (strtod is used as is). */
#include "csv.h"
#include "../format/message.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CELL "%s:%zu: column %zu ('%.40s'): "

/* Lines from memory or from a (possibly gzip-compressed) file read in chunks. */
typedef struct {
    const char *text;    /* memory: the whole text */
    size_t len, pos;
    gzFile g;            /* file: read through buf */
    char *buf;
    size_t start, end;   /* buf[start, end) not yet returned */
    char *line;          /* a line that crosses chunks, put together */
    size_t line_cap;
    int eof;
    size_t lineno;
    const char *name;    /* for messages */
    char *err;           /* where a read error goes */
    size_t errlen;
    int failed;
} lines;

#define CHUNK ((size_t)1 << 20)

/* Refills buf from the file; 0 at the end, -1 on a read error (the message set). */
static int fill(lines *L) {
    if (L->eof) return 0;
    int r = gzread(L->g, L->buf, (unsigned)CHUNK);
    if (r < 0) {
        int code;
        const char *msg = gzerror(L->g, &code);
        nnc_msg(L->err, L->errlen, "%s: read error: %s", L->name, code == Z_ERRNO ? strerror(errno) : msg);
        L->failed = 1;
        return -1;
    }
    if (r == 0) { /* a gzip stream that ends early reads as EOF; only gzerror tells */
        int code;
        gzerror(L->g, &code);
        L->eof = 1;
        if (code != Z_OK) {
            nnc_msg(L->err, L->errlen, "%s: truncated or corrupt gzip data", L->name);
            L->failed = 1;
            return -1;
        }
        return 0;
    }
    L->start = 0;
    L->end = (size_t)r;
    return 1;
}

/* Appends n bytes to the line being put together. */
static int line_add(lines *L, size_t *have, const char *p, size_t n) {
    if (*have + n + 1 > L->line_cap) {
        size_t cap = L->line_cap ? L->line_cap : 4096;
        while (cap < *have + n + 1) cap *= 2;
        char *b = realloc(L->line, cap);
        if (!b) {
            nnc_msg(L->err, L->errlen, "%s: out of memory", L->name);
            L->failed = 1;
            return -1;
        }
        L->line = b;
        L->line_cap = cap;
    }
    memcpy(L->line + *have, p, n);
    *have += n;
    return 0;
}

/* The next line of a file, from buf or put together in line. */
static int next_file_line(lines *L, const char **s, size_t *n) {
    size_t have = 0;
    int joined = 0;
    for (;;) {
        if (L->start == L->end) {
            int r = fill(L);
            if (r < 0) return -1;
            if (r == 0) {
                if (!joined) return 0;
                *s = L->line, *n = have;
                return 1;
            }
        }
        const char *from = L->buf + L->start, *nl = memchr(from, '\n', L->end - L->start);
        size_t take = nl ? (size_t)(nl - from) : L->end - L->start;
        if (nl && !joined) { /* the common case: the whole line is in the chunk */
            *s = from, *n = take;
            L->start += take + 1;
            return 1;
        }
        if (line_add(L, &have, from, take)) return -1;
        joined = 1;
        L->start += take + (nl ? 1 : 0);
        if (nl) {
            *s = L->line, *n = have;
            return 1;
        }
    }
}

/* Yields the next line without its "\n" or "\r\n"; returns 0 at the end, -1 on a read error. */
static int next_line(lines *L, const char **s, size_t *n) {
    if (L->g) {
        int r = next_file_line(L, s, n);
        if (r <= 0) return r;
    } else {
        if (L->pos >= L->len) return 0;
        const char *start = L->text + L->pos, *nl = memchr(start, '\n', L->len - L->pos);
        *s = start;
        *n = nl ? (size_t)(nl - start) : L->len - L->pos;
        L->pos += *n + (nl ? 1 : 0);
    }
    if (*n && (*s)[*n - 1] == '\r') (*n)--;
    L->lineno++;
    return 1;
}

/* Back to the first line, for the second pass. */
static int rewind_lines(lines *L) {
    L->pos = L->start = L->end = 0;
    L->lineno = 0;
    L->eof = 0;
    if (L->g && gzrewind(L->g)) {
        nnc_msg(L->err, L->errlen, "%s: cannot read the file a second time", L->name);
        return -1;
    }
    return 0;
}

static void trim(const char **s, size_t *n) {
    while (*n && (**s == ' ' || **s == '\t')) (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

static int is_blank(const char *s, size_t n) {
    trim(&s, &n);
    return n == 0;
}

/* Splits off the field before the next comma (or the end of the line), trimmed. */
static void next_field(const char **s, size_t *n, const char **f, size_t *fn) {
    const char *comma = memchr(*s, ',', *n);
    size_t len = comma ? (size_t)(comma - *s) : *n;
    *f = *s;
    *fn = len;
    trim(f, fn);
    *s += len + (comma ? 1 : 0);
    *n -= len + (comma ? 1 : 0);
}

static size_t count_fields(const char *s, size_t n) {
    size_t c = 1;
    for (const char *p; (p = memchr(s, ',', n)); n -= (size_t)(p - s) + 1, s = p + 1) c++;
    return c;
}

static int parse_header(lines *L, const char *name, nnc_csv *out, char *err, size_t errlen) {
    const char *s, *f;
    size_t n, fn;
    int got = next_line(L, &s, &n);
    if (got < 0) return -1;
    if (!got) return nnc_msg(err, errlen, "%s: empty file", name);
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, n -= 3; /* UTF-8 byte-order mark */
    if (is_blank(s, n)) {
        const char *rest;
        size_t rn;
        while ((got = next_line(L, &rest, &rn)) > 0)
            if (!is_blank(rest, rn)) return nnc_msg(err, errlen, "%s:1: the header line is blank", name);
        return got < 0 ? -1 : nnc_msg(err, errlen, "%s: empty file", name);
    }
    if (memchr(s, '\r', n)) /* old Mac line endings would otherwise read as one long header */
        return nnc_msg(err, errlen, "%s:1: carriage return inside the header line (only \\n and \\r\\n line ends are supported)", name);
    out->cols = count_fields(s, n);
    if (!(out->header = calloc(out->cols, sizeof *out->header))) return nnc_msg(err, errlen, "%s: out of memory", name);
    for (size_t c = 0; c < out->cols; c++) {
        next_field(&s, &n, &f, &fn);
        if (!fn) return nnc_msg(err, errlen, "%s:1: column %zu: empty column name", name, c + 1);
        if (!(out->header[c] = malloc(fn + 1))) return nnc_msg(err, errlen, "%s: out of memory", name);
        memcpy(out->header[c], f, fn);
        out->header[c][fn] = '\0';
    }
    return 0;
}

/* Parses one trimmed, non-empty cell; scratch holds at least n+1 bytes. */
static int parse_cell(const char *name, size_t line, size_t col, const char *colname, const char *f, size_t fn,
                      char *scratch, float *out, char *err, size_t errlen) {
    const char *dots = fn > 32 ? "..." : "";
    if (!fn) return nnc_msg(err, errlen, CELL "empty field", name, line, col + 1, colname);
    memcpy(scratch, f, fn);
    scratch[fn] = '\0';
    char *end;
    double d = strtod(scratch, &end);
    /* strtod also takes hex floats; a dataset containing "0x10" is more likely an error. */
    if (end != scratch + fn || memchr(f, 'x', fn) || memchr(f, 'X', fn))
        return nnc_msg(err, errlen, CELL "not a number: '%.32s%s'", name, line, col + 1, colname, scratch, dots);
    if (!isfinite(d))
        return nnc_msg(err, errlen, CELL "NaN or Inf value: '%.32s%s'", name, line, col + 1, colname, scratch, dots);
    float v = (float)d;
    if (!isfinite(v))
        return nnc_msg(err, errlen, CELL "value out of float32 range: '%.32s%s'", name, line, col + 1, colname,
                    scratch, dots);
    *out = v;
    return 0;
}

/* The first pass: the data rows (the lines after the header that are not blank). */
static int count_rows(lines *L, size_t *rows) {
    const char *s;
    size_t n;
    int got;
    *rows = 0;
    while ((got = next_line(L, &s, &n)) > 0) *rows += !is_blank(s, n);
    return got;
}

/* The second pass: rows parsed into out->values, allocated for `rows` rows by the caller. */
static int parse_rows(lines *L, const char *name, size_t rows, nnc_csv *out, char *err, size_t errlen) {
    const char *s, *f;
    size_t n, fn, blank = 0, scap = 0;
    char *scratch = NULL;
    int rc = -1, got;
    while ((got = next_line(L, &s, &n)) > 0) {
        if (is_blank(s, n)) {
            if (!blank) blank = L->lineno;
            continue;
        }
        if (blank) { nnc_msg(err, errlen, "%s:%zu: blank line inside the data", name, blank); goto done; }
        size_t fields = count_fields(s, n);
        if (fields != out->cols) {
            nnc_msg(err, errlen, "%s:%zu: ragged row: expected %zu fields (as in the header), got %zu", name,
                 L->lineno, out->cols, fields);
            goto done;
        }
        if (out->rows == rows) { nnc_msg(err, errlen, "%s: the file grew while it was read", name); goto done; }
        if (n + 1 > scap) {
            char *b = realloc(scratch, n + 1);
            if (!b) { nnc_msg(err, errlen, "%s: out of memory", name); goto done; }
            scratch = b;
            scap = n + 1;
        }
        float *row = out->values + out->rows * out->cols;
        for (size_t c = 0; c < out->cols; c++) {
            next_field(&s, &n, &f, &fn);
            if (parse_cell(name, L->lineno, c, out->header[c], f, fn, scratch, &row[c], err, errlen)) goto done;
        }
        out->rows++;
    }
    if (got < 0) goto done;
    if (!out->rows) { nnc_msg(err, errlen, "%s: header only, no data rows", name); goto done; }
    if (out->rows != rows) { nnc_msg(err, errlen, "%s: the file shrank while it was read", name); goto done; }
    rc = 0;
done:
    free(scratch);
    return rc;
}

/* Both passes over L. */
static int read_lines(lines *L, const char *name, nnc_csv *out, char *err, size_t errlen) {
    size_t rows;
    const char *s;
    size_t n;
    if (parse_header(L, name, out, err, errlen) || count_rows(L, &rows) < 0) return -1;
    if (rows && out->cols > SIZE_MAX / sizeof(float) / rows) return nnc_msg(err, errlen, "%s: too large", name);
    if (rows && !(out->values = malloc(rows * out->cols * sizeof(float))))
        return nnc_msg(err, errlen, "%s: out of memory for %zu rows of %zu columns", name, rows, out->cols);
    if (rewind_lines(L) || next_line(L, &s, &n) <= 0) return -1; /* past the header again */
    return parse_rows(L, name, rows, out, err, errlen);
}

int nnc_csv_parse(const char *text, size_t len, const char *name, nnc_csv *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!name) name = "(memory)";
    if (!text) len = 0;
    lines L;
    memset(&L, 0, sizeof L);
    L.text = text, L.len = len, L.name = name, L.err = err, L.errlen = errlen;
    if (read_lines(&L, name, out, err, errlen)) {
        nnc_csv_free(out);
        return -1;
    }
    return 0;
}

int nnc_csv_read(const char *path, nnc_csv *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!path) return nnc_msg(err, errlen, "(null): no path given");
    errno = 0;
    lines L;
    memset(&L, 0, sizeof L);
    L.name = path, L.err = err, L.errlen = errlen;
    L.g = gzopen(path, "rb");
    if (!L.g) return nnc_msg(err, errlen, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    int rc = -1;
    if (!(L.buf = malloc(CHUNK))) nnc_msg(err, errlen, "%s: out of memory", path);
    else rc = read_lines(&L, path, out, err, errlen);
    if (gzclose(L.g) != Z_OK && rc == 0) rc = nnc_msg(err, errlen, "%s: truncated or corrupt gzip data", path);
    if (rc) nnc_csv_free(out);
    free(L.buf);
    free(L.line);
    return rc;
}

void nnc_csv_free(nnc_csv *c) {
    if (!c) return;
    for (size_t i = 0; c->header && i < c->cols; i++) free(c->header[i]);
    free(c->header);
    free(c->values);
    memset(c, 0, sizeof *c);
}
