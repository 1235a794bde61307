/* A growing text buffer, for output the CLI builds whole and then writes at once (predictions,
 * a report's SVG): one file write, atomic, or nothing at all when memory runs out. */
#ifndef CLI_TEXTBUF_H
#define CLI_TEXTBUF_H
#include <stddef.h>

typedef struct {
    char *p;      /* NUL-terminated once anything is written */
    size_t len, cap;
    int oom;      /* a growth failed: everything after it was dropped */
} cli_text;

/* Appends n bytes of s. */
void cli_text_put(cli_text *t, const char *s, size_t n);
/* Appends printf's output, whole however long. */
void cli_text_printf(cli_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_text_free(cli_text *t);

#endif
