/* Strict numeric CSV reader for datasets: one header line of column names, then rows of
 * numbers, each error reported with file, line, column and column name so a bad dataset is
 * fixed in one look. Out of scope: quoted fields, missing values, non-numeric columns,
 * separators other than ',' and locales other than "C" (strtod is used as is). */
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

typedef struct {
    const char *text;
    size_t len, pos, lineno;
} lines;

/* Yields the next line without its "\n" or "\r\n"; returns 0 at the end of the text. */
static int next_line(lines *L, const char **s, size_t *n) {
    if (L->pos >= L->len) return 0;
    const char *start = L->text + L->pos, *nl = memchr(start, '\n', L->len - L->pos);
    *s = start;
    *n = nl ? (size_t)(nl - start) : L->len - L->pos;
    L->pos += *n + (nl ? 1 : 0);
    if (*n && start[*n - 1] == '\r') (*n)--;
    L->lineno++;
    return 1;
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
    if (!next_line(L, &s, &n)) return nnc_msg(err, errlen, "%s: empty file", name);
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3, n -= 3; /* UTF-8 byte-order mark */
    if (is_blank(s, n)) {
        const char *rest;
        size_t rn;
        while (next_line(L, &rest, &rn))
            if (!is_blank(rest, rn)) return nnc_msg(err, errlen, "%s:1: the header line is blank", name);
        return nnc_msg(err, errlen, "%s: empty file", name);
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

static int parse_rows(lines *L, const char *name, nnc_csv *out, char *err, size_t errlen) {
    const char *s, *f;
    size_t n, fn, cap = 0, blank = 0, scap = 0;
    char *scratch = NULL;
    int rc = -1;
    while (next_line(L, &s, &n)) {
        if (is_blank(s, n)) {
            if (!blank) blank = L->lineno;
            continue;
        }
        if (blank) { nnc_msg(err, errlen, "%s:%zu: blank line inside the data", name, blank); goto done; }
        size_t got = count_fields(s, n);
        if (got != out->cols) {
            nnc_msg(err, errlen, "%s:%zu: ragged row: expected %zu fields (as in the header), got %zu", name,
                 L->lineno, out->cols, got);
            goto done;
        }
        if (out->rows == cap) {
            size_t nc = cap ? cap * 2 : 64;
            float *v = nc <= SIZE_MAX / sizeof(float) / out->cols
                           ? realloc(out->values, nc * out->cols * sizeof(float)) : NULL;
            if (!v) { nnc_msg(err, errlen, "%s: out of memory", name); goto done; }
            out->values = v;
            cap = nc;
        }
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
    if (!out->rows) { nnc_msg(err, errlen, "%s: header only, no data rows", name); goto done; }
    rc = 0;
done:
    free(scratch);
    return rc;
}

int nnc_csv_parse(const char *text, size_t len, const char *name, nnc_csv *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!name) name = "(memory)";
    if (!text) len = 0;
    lines L = {text, len, 0, 0};
    if (parse_header(&L, name, out, err, errlen) || parse_rows(&L, name, out, err, errlen)) {
        nnc_csv_free(out);
        return -1;
    }
    return 0;
}

int nnc_csv_read(const char *path, nnc_csv *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!path) return nnc_msg(err, errlen, "(null): no path given");
    errno = 0;
    gzFile g = gzopen(path, "rb");
    if (!g) return nnc_msg(err, errlen, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;
    for (;;) {
        if (cap - len < 65536) {
            size_t nc = cap ? cap * 2 : 65536 * 2;
            char *b = nc > cap ? realloc(buf, nc) : NULL;
            if (!b) { nnc_msg(err, errlen, "%s: out of memory", path); goto done; }
            buf = b;
            cap = nc;
        }
        size_t want = cap - len > INT32_MAX ? INT32_MAX : cap - len;
        int r = gzread(g, buf + len, (unsigned)want);
        if (r < 0) {
            int code;
            const char *msg = gzerror(g, &code);
            nnc_msg(err, errlen, "%s: read error: %s", path, code == Z_ERRNO ? strerror(errno) : msg);
            goto done;
        }
        if (r == 0) { /* a gzip stream that ends early reads as EOF; only gzerror tells */
            int code;
            gzerror(g, &code);
            if (code != Z_OK) { nnc_msg(err, errlen, "%s: truncated or corrupt gzip data", path); goto done; }
            break;
        }
        len += (size_t)r;
    }
    rc = nnc_csv_parse(buf, len, path, out, err, errlen);
done:
    if (gzclose(g) != Z_OK && rc == 0) {
        nnc_csv_free(out);
        rc = nnc_msg(err, errlen, "%s: truncated or corrupt gzip data", path);
    }
    free(buf);
    return rc;
}

void nnc_csv_free(nnc_csv *c) {
    if (!c) return;
    for (size_t i = 0; c->header && i < c->cols; i++) free(c->header[i]);
    free(c->header);
    free(c->values);
    memset(c, 0, sizeof *c);
}
