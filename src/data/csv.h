/* Internal strict reader for numeric CSV datasets (plain or gzip-compressed).
 * Out of scope: quoting, non-numeric columns, missing values, other separators and locales. */
#ifndef NNC_DATA_CSV_H
#define NNC_DATA_CSV_H
#include <stddef.h>

typedef struct {
    float *values;  /* [rows, cols] row-major */
    size_t rows, cols;
    char **header;  /* cols names, spaces trimmed */
} nnc_csv;

/* Reads a .csv or .csv.gz (gzip is detected from the content, not the name). Returns 0, or -1
 * with a one-line "file:line: column N ('name'): problem" message in err and *out zeroed. */
int nnc_csv_read(const char *path, nnc_csv *out, char *err, size_t errlen);
/* The same from memory; text need not be NUL-terminated. */
int nnc_csv_parse(const char *text, size_t len, const char *name_for_errors, nnc_csv *out, char *err,
                  size_t errlen);
void nnc_csv_free(nnc_csv *c);

#endif
