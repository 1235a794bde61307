/* --stream: a CSV or IDX file's rows read on demand, for data larger than memory (cli.h,
 * cli_stream_open). One pass over the file keeps where each row starts (and, for a CSV, its
 * line), 16 bytes a row, and a hash of the bytes (the ranks of a data-parallel run compare it);
 * then nnc_fit_source asks for each batch's rows, which are read with pread from a background
 * thread. A CSV's columns are planned by the ordinary loader from the file's first records, so
 * the options (--label-column, --targets, --ignore-column, a model's recorded columns) mean
 * what they mean without --stream; only columns of numbers can be streamed (numbering
 * categories needs every row at once). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

enum { SAMPLE_RECORDS = 200, BLOCK = 1 << 20 };

struct cli_stream {
    int fd, lfd;              /* the file; IDX: its labels file (-1: none) */
    int idx;                  /* an IDX file (else a CSV) */
    char path[1024], lpath[1024];
    size_t n, features, targets;
    const nnc_model *m;       /* the labels' checks (cli_check_targets) */
    /* IDX */
    size_t header, lheader, row_bytes;
    unsigned char *labels;    /* the labels, a byte a row: read once (one read per row less) */
    int type;                 /* 0x08 unsigned bytes (divided by 255), 0x0D big-endian floats */
    /* CSV */
    uint64_t *off;            /* n + 1: row r is the bytes [off[r], off[r + 1]) */
    size_t *line;             /* each row's line */
    uint64_t *off_base;       /* the arrays off and line point into (the header's entry first) */
    size_t *line_base;
    char delim;
    size_t fields;            /* per record, row names included */
    size_t skip;              /* 1 when the first field is row names */
    size_t *slot;             /* each table column's place among the features then the targets (SIZE_MAX: unused) */
    char **col_name;          /* each table column's name, for messages */
    char **label_name;        /* cli_data's label_name, for cli_check_targets */
    size_t n_label_names;
    char *rec;                /* one record's bytes */
    size_t rec_cap;
    size_t *batch_line;       /* the lines (CSV) or example numbers (IDX) of a batch */
    size_t batch_cap;
};

void cli_stream_free(struct cli_stream *s) {
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    if (s->lfd >= 0) close(s->lfd);
    free(s->off_base);
    free(s->line_base);
    free(s->slot);
    for (size_t c = 0; s->col_name && c < s->fields; c++) free(s->col_name[c]);
    free(s->col_name);
    for (size_t t = 0; s->label_name && t < s->n_label_names; t++) free(s->label_name[t]);
    free(s->label_name);
    free(s->rec);
    free(s->labels);
    free(s->batch_line);
    free(s);
}

static uint64_t hash_bytes(uint64_t h, const unsigned char *b, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Reads exactly n bytes at off; 0, or -1 with errno (EIO for a short file). */
static int read_at(int fd, void *buf, size_t n, uint64_t off) {
    for (size_t got = 0; got < n;) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return errno = k < 0 ? errno : EIO, -1;
        got += (size_t)k;
    }
    return 0;
}

/* A file's bytes hashed, read in blocks (the ranks check they read the same files). */
static int hash_file(int fd, uint64_t *h, char *buf) {
    uint64_t off = 0;
    for (;;) {
        ssize_t k = pread(fd, buf, BLOCK, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        if (k == 0) return 0;
        *h = hash_bytes(*h, (const unsigned char *)buf, (size_t)k);
        off += (uint64_t)k;
    }
}

/* ---- IDX ---------------------------------------------------------------------------------- */

/* An IDX header: its type, its first dimension and the product of the others. */
static int idx_header(int fd, const char *path, int *type, size_t *n, size_t *per, size_t *header, char *err,
                      size_t errlen) {
    unsigned char h[4 + 4 * 8];
    if (read_at(fd, h, 4, 0) || h[0] || h[1] || (h[2] != 0x08 && h[2] != 0x0D) || h[3] < 1 || h[3] > 8 ||
        read_at(fd, h + 4, 4u * h[3], 4))
        return snprintf(err, errlen, "%s: not an IDX file of unsigned bytes or floats --stream can read", path), -1;
    *type = h[2], *n = 0, *per = 1;
    for (int d = 0; d < h[3]; d++) {
        const unsigned char *p = h + 4 + 4 * d;
        size_t v = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (d == 0) *n = v;
        else if (v == 0 || *per > ((size_t)1 << 32) / v) return snprintf(err, errlen, "%s: dimension %d is %zu", path, d + 1, v), -1;
        else *per *= v;
    }
    *header = 4 + 4 * (size_t)h[3];
    off_t end = lseek(fd, 0, SEEK_END);
    const size_t bytes = *per * (*type == 0x08 ? 1 : 4);
    if (end < 0 || (uint64_t)end != *header + (uint64_t)*n * bytes)
        return snprintf(err, errlen, "%s: %lld bytes, but its header says %zu rows of %zu bytes after %zu", path,
                        (long long)end, *n, bytes, *header), -1;
    return 0;
}

static int idx_open(struct cli_stream *s, const cli_data_opts *o, const cli_load_ctx *ctx, char *err, size_t errlen) {
    size_t ln = 0, lper = 0;
    int ltype = 0;
    s->idx = 1;
    if (idx_header(s->fd, s->path, &s->type, &s->n, &s->features, &s->header, err, errlen)) return -1;
    s->row_bytes = s->features * (s->type == 0x08 ? 1 : 4);
    if (!o->labels) {
        if (ctx->predict) return 0;
        return snprintf(err, errlen, "%s: an IDX images file needs its labels file (--labels FILE)", s->path), -1;
    }
    snprintf(s->lpath, sizeof s->lpath, "%s", o->labels);
    if ((s->lfd = open(o->labels, O_RDONLY)) < 0)
        return snprintf(err, errlen, "%s: %s", o->labels, strerror(errno)), -1;
    if (idx_header(s->lfd, s->lpath, &ltype, &ln, &lper, &s->lheader, err, errlen)) return -1;
    if (ltype != 0x08 || lper != 1)
        return snprintf(err, errlen, "%s: labels must be one unsigned byte per row", s->lpath), -1;
    if (ln != s->n) return snprintf(err, errlen, "%s: %zu labels for the %zu images of %s", s->lpath, ln, s->n, s->path), -1;
    if (!(s->labels = malloc(s->n + 1)) || read_at(s->lfd, s->labels, s->n, s->lheader))
        return snprintf(err, errlen, "%s: %s", s->lpath, s->labels ? strerror(errno) : "out of memory"), -1;
    s->targets = 1;
    return 0;
}

static int idx_rows(struct cli_stream *s, const size_t *rows, size_t count, float *x, float *y, nnc_error *e) {
    unsigned char *b = (unsigned char *)s->rec;
    for (size_t i = 0; i < count; i++) {
        const size_t r = rows[i];
        if (read_at(s->fd, b, s->row_bytes, s->header + (uint64_t)r * s->row_bytes))
            return snprintf(e->message, sizeof e->message, "%.300s: row %zu: %s", s->path, r + 1, strerror(errno)), -1;
        float *xr = x + i * s->features;
        for (size_t j = 0; j < s->features; j++) {
            if (s->type == 0x08) {
                xr[j] = (float)b[j] / 255.0f;
                continue;
            }
            uint32_t u = (uint32_t)b[4 * j] << 24 | (uint32_t)b[4 * j + 1] << 16 | (uint32_t)b[4 * j + 2] << 8 | b[4 * j + 3];
            memcpy(&xr[j], &u, sizeof u);
            if (!isfinite(xr[j]))
                return snprintf(e->message, sizeof e->message, "%.300s: example %zu, value %zu is %g: inputs must be finite",
                                s->path, r + 1, j + 1, (double)xr[j]), -1;
        }
        if (s->labels) y[i] = (float)s->labels[r];
    }
    return 0;
}

/* ---- CSV ---------------------------------------------------------------------------------- */

typedef struct {
    uint64_t *off;
    size_t *line;
    size_t n, cap;
    size_t blank_at;           /* the line of a blank record, 0: none (blank lines may only end the file) */
} records;

static int add_record(records *R, uint64_t off, size_t line) {
    if (R->n + 2 > R->cap) {
        size_t cap = R->cap ? 2 * R->cap : 4096;
        uint64_t *o = realloc(R->off, cap * sizeof *o);
        if (o) R->off = o;
        size_t *l = realloc(R->line, cap * sizeof *l);
        if (l) R->line = l;
        if (!o || !l) return -1;
        R->cap = cap;
    }
    R->off[R->n] = off, R->line[R->n++] = line;
    return 0;
}

/* A record ends: a blank one is kept in mind (blank lines may only end the file). */
static int end_record(struct cli_stream *s, records *R, int empty, uint64_t start, size_t line, char *err,
                      size_t errlen) {
    if (empty) {
        if (!R->blank_at) R->blank_at = line;
        return 0;
    }
    if (R->blank_at) return snprintf(err, errlen, "%s:%zu: a blank line between rows", s->path, R->blank_at), -1;
    if (add_record(R, start, line)) return snprintf(err, errlen, "%s: out of memory", s->path), -1;
    return 0;
}

/* The pass over a CSV: each record's start (quoted line breaks stay inside a record) and line,
 * the byte-order mark, the hash. off[n] is the end of the last record. */
static int csv_index(struct cli_stream *s, records *R, uint64_t *hash, char *buf, char *err, size_t errlen) {
    uint64_t off = 0, start = 0;
    size_t line = 1, start_line = 1;
    int quoted = 0, empty = 1;
    for (;;) {
        ssize_t k = pread(s->fd, buf, BLOCK, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return snprintf(err, errlen, "%s: %s", s->path, strerror(errno)), -1;
        if (k == 0) break;
        if (off == 0 && k >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b)
            return snprintf(err, errlen, "%s: compressed: --stream reads rows at their offsets in a plain file "
                            "(gunzip it first)", s->path), -1;
        if (off == 0 && k >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) start = 3;
        *hash = hash_bytes(*hash, (const unsigned char *)buf, (size_t)k);
        for (ssize_t i = 0; i < k; i++) {
            const char c = buf[i];
            if (c == '"') quoted = !quoted;
            if (c == '\n' && !quoted) {
                if (end_record(s, R, empty, start, start_line, err, errlen)) return -1;
                line++;
                start = off + (uint64_t)i + 1, start_line = line, empty = 1;
            } else if (c != '\r' && (off + (uint64_t)i >= start)) {
                empty = 0;
            }
        }
        off += (uint64_t)k;
    }
    if (quoted) return snprintf(err, errlen, "%s:%zu: a quote is never closed", s->path, start_line), -1;
    if (!empty && end_record(s, R, 0, start, start_line, err, errlen)) return -1;
    if (!R->off) { /* no record: room for the end alone */
        if (add_record(R, 0, 0)) return snprintf(err, errlen, "%s: out of memory", s->path), -1;
        R->n = 0;
    }
    R->off[R->n] = off; /* the end (add_record keeps room for it) */
    return 0;
}

/* The field of a record that starts at i (quotes removed, spaces and the line end trimmed)
 * into out; returns where the next one starts (past len: none). */
static size_t next_field(const char *rec, size_t len, size_t i, char delim, char *out, size_t cap) {
    size_t o = 0;
    int q = 0;
    for (; i < len && (q || rec[i] != delim); i++) {
        if (rec[i] == '"') {
            if (!(q && i + 1 < len && rec[i + 1] == '"')) {
                q = !q;
                continue;
            }
            i++;
        }
        if (o + 1 < cap) out[o++] = rec[i];
    }
    while (o && (out[o - 1] == '\r' || out[o - 1] == '\n' || out[o - 1] == ' ')) o--;
    size_t b = 0;
    while (b < o && out[b] == ' ') b++;
    memmove(out, out + b, o - b);
    out[o - b] = '\0';
    return i + 1;
}

/* Row r's record into row i of x and y: one pass over its fields, each used one parsed. */
static int csv_row(struct cli_stream *s, size_t r, const char *rec, size_t len, float *x, float *y, nnc_error *e) {
    char cell[128];
    const size_t nf = s->features;
    size_t f = 0;
    for (size_t i = 0; i <= len; f++) { /* a record holds at least its line end: len > 0 */
        i = next_field(rec, len, i, s->delim, cell, sizeof cell);
        const size_t c = f - s->skip;
        if (f < s->skip || f >= s->fields || s->slot[c] == SIZE_MAX) continue;
        char *end;
        const double v = strtod(cell, &end);
        const char *bad = !cell[0] || !strcmp(cell, "NA") || !strcmp(cell, "?") ? "a missing value (--stream takes no "
                          "missing values; without --stream, --drop-missing leaves such rows out)"
                          : *end || end == cell ? "not a number" : !isfinite(v) || fabs(v) > 3.4028234663852886e38
                          ? "not a finite float32 number" : NULL;
        if (bad)
            return snprintf(e->message, sizeof e->message, "%.300s:%zu: column %zu ('%.40s'): %s: '%.40s'", s->path,
                            s->line[r], c + 1, s->col_name[c], bad, cell), -1;
        const size_t j = s->slot[c];
        if (j < nf) x[j] = (float)v;
        else y[j - nf] = (float)v;
    }
    if (f != s->fields)
        return snprintf(e->message, sizeof e->message, "%.300s:%zu: %zu fields, but the file's first rows have %zu",
                        s->path, s->line[r], f, s->fields), -1;
    return 0;
}

static int csv_rows(struct cli_stream *s, const size_t *rows, size_t count, float *x, float *y, nnc_error *e) {
    for (size_t i = 0; i < count; i++) {
        const size_t r = rows[i], len = (size_t)(s->off[r + 1] - s->off[r]);
        if (len + 1 > s->rec_cap) {
            char *b = realloc(s->rec, len + 1);
            if (!b) return snprintf(e->message, sizeof e->message, "%.300s: out of memory", s->path), -1;
            s->rec = b, s->rec_cap = len + 1;
        }
        if (read_at(s->fd, s->rec, len, s->off[r]))
            return snprintf(e->message, sizeof e->message, "%.300s:%zu: %s (did the file change?)", s->path, s->line[r],
                            strerror(errno)), -1;
        if (csv_row(s, r, s->rec, len, x + i * s->features, y + i * s->targets, e)) return -1;
    }
    return 0;
}

/* ---- the source --------------------------------------------------------------------------- */

static nnc_status read_rows(void *ctx, const size_t *rows, size_t count, float *x, float *y, nnc_error *e) {
    struct cli_stream *s = ctx;
    if (count > s->batch_cap) {
        size_t *b = realloc(s->batch_line, count * sizeof *b);
        if (!b) return snprintf(e->message, sizeof e->message, "out of memory"), NNC_ERR_NOMEM;
        s->batch_line = b, s->batch_cap = count;
    }
    if (s->idx ? idx_rows(s, rows, count, x, y, e) : csv_rows(s, rows, count, x, y, e)) return NNC_ERR_DATA;
    if (!s->targets || !s->m) return NNC_OK;
    /* the labels' checks of cli_load, naming the row's line (CSV) or example (IDX) */
    cli_data view = {0};
    snprintf(view.source, sizeof view.source, "%s", s->path);
    if (s->idx) snprintf(view.label_source, sizeof view.label_source, "%s", s->lpath);
    for (size_t i = 0; i < count; i++) s->batch_line[i] = s->idx ? rows[i] : s->line[rows[i]];
    view.x = x, view.y = y, view.n = count, view.features = s->features, view.targets = s->targets;
    view.line = s->idx ? NULL : s->batch_line;
    view.example = s->idx ? s->batch_line : NULL;
    view.label_name = s->label_name, view.n_label_names = s->n_label_names;
    return cli_check_targets(s->m, &view, e->message, sizeof e->message) ? NNC_ERR_DATA : NNC_OK;
}

/* The CSV's plan from its first records (cli_load_csv_sample), then its rows. */
static int csv_open(struct cli_stream *s, const cli_data_opts *o, const cli_load_ctx *ctx, cli_data *d,
                    records *R, char *err, size_t errlen) {
    if (R->n == 0) return snprintf(err, errlen, "%s: empty file", s->path), -1;
    const size_t k = R->n < SAMPLE_RECORDS + 1 ? R->n : SAMPLE_RECORDS + 1, len = (size_t)(R->off[k] - R->off[0]);
    char *sample = malloc(len + 1);
    if (!sample) return snprintf(err, errlen, "%s: out of memory", s->path), -1;
    int rc = read_at(s->fd, sample, len, R->off[0]) ? (snprintf(err, errlen, "%s: %s", s->path, strerror(errno)), -1)
                                                    : cli_load_csv_sample(o, ctx, d, sample, len, err, errlen);
    free(sample);
    if (rc) return -1;
    if (d->categorical || d->texts)
        return snprintf(err, errlen, "%s: --stream reads columns of numbers only: a column of text here is numbered "
                        "(one-hot features, class names or text), which needs every row at once; drop --stream", s->path), -1;
    if (o->drop_missing) return snprintf(err, errlen, "--stream and --drop-missing exclude each other"), -1;
    const size_t first = d->table.header ? 1 : 0;
    s->n = R->n - first, s->features = d->features, s->targets = d->targets;
    s->delim = d->table.delimiter, s->skip = d->table.row_names ? 1 : 0;
    s->fields = d->table.cols + s->skip;
    s->slot = malloc((d->table.cols + 1) * sizeof *s->slot);
    s->col_name = calloc(s->fields, sizeof *s->col_name);
    s->label_name = calloc(d->n_label_names + 1, sizeof *s->label_name);
    if (!s->slot || !s->col_name || !s->label_name) return snprintf(err, errlen, "out of memory"), -1;
    for (size_t c = 0; c < d->table.cols; c++) s->slot[c] = SIZE_MAX;
    for (size_t j = 0; j < s->features + s->targets; j++) s->slot[d->col_index[j]] = j;
    for (size_t c = 0; c < d->table.cols; c++)
        if (!(s->col_name[c] = strdup(d->table.columns[c].name))) return snprintf(err, errlen, "out of memory"), -1;
    for (s->n_label_names = 0; s->n_label_names < d->n_label_names; s->n_label_names++)
        if (!(s->label_name[s->n_label_names] = strdup(d->label_name[s->n_label_names])))
            return snprintf(err, errlen, "out of memory"), -1;
    s->off_base = R->off, s->line_base = R->line; /* the stream's now, read from the first row on */
    R->off = NULL, R->line = NULL;
    s->off = s->off_base + first, s->line = s->line_base + first;
    return 0;
}

int cli_stream_open(const cli_data_opts *o, const cli_load_ctx *ctx, cli_data *d, char *err, size_t errlen) {
    struct cli_stream *s = calloc(1, sizeof *s);
    char *buf = malloc(BLOCK);
    records R = {0};
    uint64_t hash = 0xcbf29ce484222325ull;
    int rc = -1;
    if (!s || !buf) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    s->lfd = -1, s->m = ctx->m;
    snprintf(s->path, sizeof s->path, "%s", o->data);
    snprintf(d->source, sizeof d->source, "%s", o->data);
    if ((s->fd = open(o->data, O_RDONLY)) < 0) {
        snprintf(err, errlen, "%s: %s (--stream reads a CSV or IDX file, not a bundled dataset)", o->data, strerror(errno));
        goto done;
    }
    unsigned char magic[3] = {1, 1, 0};
    if (read_at(s->fd, magic, 3, 0) && errno != EIO) {
        snprintf(err, errlen, "%s: %s", o->data, strerror(errno));
        goto done;
    }
    if (!magic[0] && !magic[1]) { /* IDX: two zero bytes, then the type */
        if (idx_open(s, o, ctx, err, errlen) || hash_file(s->fd, &hash, buf) || (s->lfd >= 0 && hash_file(s->lfd, &hash, buf)))
            goto done;
        if (!(s->rec = malloc(s->row_bytes + 1))) goto done;
        d->features = s->features, d->targets = ctx->predict ? 0 : s->targets;
        if (o->labels) snprintf(d->label_source, sizeof d->label_source, "%s", o->labels);
        size_t want = ctx->m ? nnc_input_size(ctx->m) : s->features;
        if (want != s->features) {
            snprintf(err, errlen, "%s: %zu values per image, but the model's input takes %zu", o->data, s->features, want);
            goto done;
        }
    } else {
        if (o->labels) {
            snprintf(err, errlen, "%s: --labels is for IDX images; a CSV holds its labels", o->data);
            goto done;
        }
        if (csv_index(s, &R, &hash, buf, err, errlen) || csv_open(s, o, ctx, d, &R, err, errlen)) goto done;
        free(d->x), free(d->y), free(d->line); /* the sample's rows */
        d->x = d->y = NULL, d->line = NULL;
    }
    if (s->n == 0) {
        snprintf(err, errlen, "%s: no rows", o->data);
        goto done;
    }
    d->n = s->n;
    d->stream = (nnc_row_source){s->n, read_rows, s, hash};
    d->streamer = s, s = NULL;
    rc = 0;
done:
    free(R.off);
    free(R.line);
    free(buf);
    cli_stream_free(s);
    return rc;
}
