/* Text lines from memory or from a file, plain or gzip-compressed (told by its content), read
 * in chunks so that a file is never held whole. The CSV reader reads through this twice. */
#ifndef NNC_DATA_LINES_H
#define NNC_DATA_LINES_H
#include <stddef.h>
#include <zlib.h>

typedef struct {
    const char *text;    /* memory: the whole text */
    size_t len, pos;
    gzFile g;            /* file: read through buf */
    char *buf;
    size_t start, end;   /* buf[start, end) not yet returned */
    char *line;          /* a line that crosses chunks, put together */
    size_t line_cap;
    int eof;
    size_t lineno;       /* of the line last returned, from 1 */
    const char *name;    /* for messages */
    char *err;           /* where a read error goes */
    size_t errlen;
} nnc_lines;

/* Over text in memory (need not be NUL-terminated). */
void nnc_lines_from_text(nnc_lines *L, const char *text, size_t len, const char *name, char *err, size_t errlen);
/* Over a file; -1 with the message in err when it cannot be opened. */
int nnc_lines_open(nnc_lines *L, const char *path, char *err, size_t errlen);
/* The next line without its "\n" or "\r\n" (valid until the next call); 1, 0 at the end, or -1
 * on a read error (the message set). */
int nnc_lines_next(nnc_lines *L, const char **s, size_t *n);
/* Back to the first line; -1 with the message set when the file cannot be read again. */
int nnc_lines_rewind(nnc_lines *L);
/* Closes the file and frees the buffers; -1 (no message set) when gzip data turned out corrupt. */
int nnc_lines_close(nnc_lines *L);

#endif
