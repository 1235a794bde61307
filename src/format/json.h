/* Internal JSON support: a small DOM parser for reading headers and configs, and a growable
 * string buffer for writing them. Out of scope: streaming, comments, NaN/Infinity literals,
 * pretty-printing, and strings holding U+0000 (strings are NUL-terminated C strings). */
#ifndef NNC_IO_JSON_H
#define NNC_IO_JSON_H
#include <stddef.h>

typedef enum {
    NNC_JSON_NULL, NNC_JSON_BOOL, NNC_JSON_NUMBER, NNC_JSON_STRING, NNC_JSON_ARRAY, NNC_JSON_OBJECT
} nnc_json_type;

typedef struct nnc_json nnc_json;
struct nnc_json {
    nnc_json_type type;
    int boolean;
    double number;
    char *string;      /* NUL-terminated, unescaped UTF-8 */
    size_t count;      /* array/object element count */
    nnc_json **items;  /* array/object values */
    char **keys;       /* object keys, NULL for arrays */
};

/* Parses exactly `len` bytes (no NUL terminator needed; nothing past len is read). The whole
 * input must be one RFC 8259 value plus whitespace. Nesting is limited to 64 levels.
 * Returns NULL on error with "byte N: what" in err (err may be NULL). */
nnc_json *nnc_json_parse(const char *text, size_t len, char *err, size_t errlen);
void nnc_json_free(nnc_json *j);

/* Duplicate keys are kept in the DOM; lookups return the LAST one, as JavaScript and Python do. */
const nnc_json *nnc_json_get(const nnc_json *obj, const char *key); /* NULL if absent or not an object */
const char *nnc_json_get_string(const nnc_json *obj, const char *key); /* NULL if absent or not a string */
int nnc_json_get_number(const nnc_json *obj, const char *key, double *out); /* 1 if present and a number */

/* Zero-initialised is an empty buffer. After an allocation failure `oom` is set and later
 * writes are ignored, so callers check once at the end. buf is NUL-terminated once non-empty. */
typedef struct { char *buf; size_t len, cap; int oom; } nnc_strbuf;

void nnc_sb_puts(nnc_strbuf *sb, const char *s);
void nnc_sb_printf(nnc_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nnc_sb_json_string(nnc_strbuf *sb, const char *s); /* quoted and escaped */
void nnc_sb_json_number(nnc_strbuf *sb, double v);     /* shortest round-tripping form; non-finite -> null */
void nnc_sb_free(nnc_strbuf *sb);

#endif
