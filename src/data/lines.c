/* Lines from memory or from a file read a megabyte at a time (lines.h). A line that crosses a
 * chunk boundary is put together in a buffer of its own; every other line is returned where it
 * lies in the chunk, so reading costs one pass and no copy. */
#include "lines.h"
#include "../format/message.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK ((size_t)1 << 20)

void nnc_lines_from_text(nnc_lines *L, const char *text, size_t len, const char *name, char *err, size_t errlen) {
    memset(L, 0, sizeof *L);
    L->text = text;
    L->len = text ? len : 0;
    L->name = name;
    L->err = err;
    L->errlen = errlen;
}

int nnc_lines_open(nnc_lines *L, const char *path, char *err, size_t errlen) {
    memset(L, 0, sizeof *L);
    L->name = path;
    L->err = err;
    L->errlen = errlen;
    errno = 0;
    L->g = gzopen(path, "rb");
    if (!L->g) return nnc_msg(err, errlen, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    if (!(L->buf = malloc(CHUNK))) {
        gzclose(L->g);
        L->g = NULL;
        return nnc_msg(err, errlen, "%s: out of memory", path);
    }
    return 0;
}

/* Refills buf from the file; 0 at the end, -1 on a read error (the message set). */
static int fill(nnc_lines *L) {
    if (L->eof) return 0;
    int r = gzread(L->g, L->buf, (unsigned)CHUNK);
    if (r < 0) {
        int code;
        const char *msg = gzerror(L->g, &code);
        return nnc_msg(L->err, L->errlen, "%s: read error: %s", L->name, code == Z_ERRNO ? strerror(errno) : msg);
    }
    if (r == 0) { /* a gzip stream that ends early reads as EOF; only gzerror tells */
        int code;
        gzerror(L->g, &code);
        L->eof = 1;
        if (code != Z_OK) return nnc_msg(L->err, L->errlen, "%s: truncated or corrupt gzip data", L->name);
        return 0;
    }
    L->start = 0;
    L->end = (size_t)r;
    return 1;
}

/* Appends n bytes to the line being put together. */
static int line_add(nnc_lines *L, size_t *have, const char *p, size_t n) {
    if (*have + n + 1 > L->line_cap) {
        size_t cap = L->line_cap ? L->line_cap : 4096;
        while (cap < *have + n + 1) cap *= 2;
        char *b = realloc(L->line, cap);
        if (!b) return nnc_msg(L->err, L->errlen, "%s: out of memory", L->name);
        L->line = b;
        L->line_cap = cap;
    }
    memcpy(L->line + *have, p, n);
    *have += n;
    return 0;
}

/* The next line of a file, from buf or put together in line. */
static int next_file_line(nnc_lines *L, const char **s, size_t *n) {
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

int nnc_lines_next(nnc_lines *L, const char **s, size_t *n) {
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

int nnc_lines_rewind(nnc_lines *L) {
    L->pos = L->start = L->end = 0;
    L->lineno = 0;
    L->eof = 0;
    if (L->g && gzrewind(L->g)) return nnc_msg(L->err, L->errlen, "%s: cannot read the file a second time", L->name);
    return 0;
}

int nnc_lines_close(nnc_lines *L) {
    int rc = L->g && gzclose(L->g) != Z_OK ? -1 : 0;
    free(L->buf);
    free(L->line);
    memset(L, 0, sizeof *L);
    return rc;
}
