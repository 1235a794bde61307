/* cli_text (textbuf.h): doubling growth, so appending n bytes costs O(n) amortised. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "textbuf.h"

/* Room for n more bytes and the terminating NUL; 0 when memory ran out. */
static int reserve(cli_text *t, size_t n) {
    if (t->oom) return 0;
    if (t->len + n + 1 <= t->cap) return 1;
    size_t cap = t->cap ? 2 * t->cap : 1 << 15;
    while (cap < t->len + n + 1) cap *= 2;
    char *p = realloc(t->p, cap);
    if (!p) {
        t->oom = 1;
        return 0;
    }
    t->p = p, t->cap = cap;
    return 1;
}

void cli_text_put(cli_text *t, const char *s, size_t n) {
    if (!reserve(t, n)) return;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

void cli_text_printf(cli_text *t, const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof line) {
        cli_text_put(t, line, (size_t)n);
        return;
    }
    if (!reserve(t, (size_t)n)) return; /* longer than the line: formatted again, in place */
    va_start(ap, fmt);
    vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void cli_text_free(cli_text *t) {
    free(t->p);
    *t = (cli_text){0};
}
