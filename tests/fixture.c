/* Reader for the fixture text format, and the suites' helpers around it; see fixture.h. */
#include "fixture.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compare.h"

/* Reads the whole file into a NUL-terminated buffer. */
static char *read_all(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "fixture: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) goto oom;
    for (;;) {
        if (cap - n < 2) {
            if (cap > SIZE_MAX / 2) goto oom;
            char *nb = realloc(buf, cap * 2);
            if (!nb) goto oom;
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0) break;
    }
    if (ferror(fp)) {
        fprintf(stderr, "fixture: read error on %s\n", path);
        free(buf);
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    buf[n] = '\0';
    *len = n;
    return buf;
oom:
    fprintf(stderr, "fixture: out of memory reading %s\n", path);
    free(buf);
    fclose(fp);
    return NULL;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static char *skip_blanks(char *s) {
    while (is_blank(*s)) s++;
    return s;
}

/* Parses one integer field at *s (after blanks) into *out; advances *s. */
static int parse_int(char **s, long lo, long hi, long *out) {
    char *p = skip_blanks(*s), *end;
    if (*p == '\0') return -1;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno != 0 || v < lo || v > hi) return -1;
    if (*end != '\0' && !is_blank(*end)) return -1;
    *s = end;
    *out = v;
    return 0;
}

/* Parses one value field at *s (after blanks) into *out; advances *s.
 * Overflow is an error; underflow to a denormal or zero is accepted. */
static int parse_double(char **s, double *out) {
    char *p = skip_blanks(*s), *end;
    if (*p == '\0') return -1;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p) return -1;
    if (errno == ERANGE && (v > 1.0 || v < -1.0)) return -1;
    if (*end != '\0' && !is_blank(*end)) return -1;
    *s = end;
    *out = v;
    return 0;
}

/* Parses one tensor line (NUL-terminated, no newline) into *t. */
static int parse_line(char *line, fx_tensor *t, const char **why) {
    char *p = skip_blanks(line);
    size_t len = 0;
    while (p[len] != '\0' && !is_blank(p[len])) len++;
    if (len >= FX_MAX_NAME) { *why = "name too long"; return -1; }
    memcpy(t->name, p, len);
    t->name[len] = '\0';
    p += len;

    long v;
    if (parse_int(&p, 0, FX_MAX_DIMS, &v)) { *why = "bad ndim"; return -1; }
    t->ndim = (int)v;
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (parse_int(&p, 0, INT_MAX, &v)) { *why = "bad dimension"; return -1; }
        t->shape[i] = (int)v;
        if (v != 0 && n > (SIZE_MAX / sizeof(double)) / (size_t)v) {
            *why = "tensor too large";
            return -1;
        }
        n *= (size_t)v;
    }
    for (int i = t->ndim; i < FX_MAX_DIMS; i++) t->shape[i] = 0;
    t->n = n;
    t->v = malloc(n ? n * sizeof(double) : 1);
    if (!t->v) { *why = "out of memory"; return -1; }
    for (size_t i = 0; i < n; i++) {
        if (parse_double(&p, &t->v[i])) {
            *why = "missing or bad value";
            free(t->v);
            t->v = NULL;
            return -1;
        }
    }
    if (*skip_blanks(p) != '\0') {
        *why = "more values than the shape holds";
        free(t->v);
        t->v = NULL;
        return -1;
    }
    return 0;
}

int fx_load(const char *path, fx_file *f) {
    f->t = NULL;
    f->n = 0;
    size_t len;
    char *buf = read_all(path, &len);
    if (!buf) return -1;

    int cap = 0, lineno = 0;
    char *line = buf, *bufend = buf + len;
    while (line < bufend) {
        char *nl = memchr(line, '\n', (size_t)(bufend - line));
        char *next = nl ? nl + 1 : bufend;
        if (nl) *nl = '\0';
        lineno++;
        if (strlen(line) != (size_t)((nl ? nl : bufend) - line)) {
            fprintf(stderr, "fixture: %s:%d: NUL byte in line\n", path, lineno);
            goto fail;
        }
        char *p = skip_blanks(line);
        if (*p == '\0' || *p == '#') {
            line = next;
            continue;
        }
        if (f->n == cap) {
            int ncap = cap ? cap * 2 : 16;
            fx_tensor *nt = realloc(f->t, (size_t)ncap * sizeof *nt);
            if (!nt) {
                fprintf(stderr, "fixture: %s:%d: out of memory\n", path, lineno);
                goto fail;
            }
            f->t = nt;
            cap = ncap;
        }
        fx_tensor *t = &f->t[f->n];
        const char *why = NULL;
        if (parse_line(p, t, &why)) {
            fprintf(stderr, "fixture: %s:%d: %s\n", path, lineno, why);
            goto fail;
        }
        if (fx_get(f, t->name)) {
            fprintf(stderr, "fixture: %s:%d: duplicate tensor '%s'\n", path, lineno, t->name);
            free(t->v);
            goto fail;
        }
        f->n++;
        line = next;
    }
    free(buf);
    return 0;
fail:
    free(buf);
    fx_free(f);
    return -1;
}

const fx_tensor *fx_get(const fx_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

void fx_free(fx_file *f) {
    for (int i = 0; i < f->n; i++) free(f->t[i].v);
    free(f->t);
    f->t = NULL;
    f->n = 0;
}

int fx_load_fixture(test_run *r, const char *file, fx_file *f) {
    char path[1024];
    snprintf(path, sizeof path, "%s/fixtures/%s", t_srcdir(), file);
    return CHECK(r, fx_load(path, f) == 0, "cannot load %s", path);
}

const fx_tensor *fx_need(test_run *r, const fx_file *f, const char *name) {
    const fx_tensor *t = fx_get(f, name);
    CHECK(r, t != NULL, "tensor '%s' missing in the fixture", name);
    return t;
}

float *fx_floats(const fx_tensor *t) {
    if (!t) return NULL;
    float *p = malloc((t->n ? t->n : 1) * sizeof(float));
    for (size_t i = 0; p && i < t->n; i++) p[i] = (float)t->v[i];
    return p;
}

int fx_near_at(test_run *r, const char *file, int line, const float *got, size_t n,
               const fx_tensor *ref, double atol, double rtol, double *worst, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!ref) {
        if (worst) *worst = cmp_max(*worst, (double)INFINITY);
        return t_check(r, 0, file, line, "%s: missing in the fixture", what);
    }
    return cmp_f32_f64_at(r, file, line, got, n, ref->v, ref->n, atol, rtol, worst, "%s", what);
}
