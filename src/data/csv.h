/* The CSV reader behind nnc_table_read_csv (include/nnc.h says what it accepts): RFC 4180
 * records over nnc_lines, read in two passes so that the values are allocated once at their
 * size and the text is never held whole. Out of scope: locales other than "C" (strtod is used
 * as is), encodings other than UTF-8/ASCII (bytes are kept as they are). */
#ifndef NNC_DATA_CSV_H
#define NNC_DATA_CSV_H
#include <stddef.h>
#include "nnc.h"

/* Reads a .csv or .csv.gz (gzip told by the content). NNC_OK, or NNC_ERR_IO / NNC_ERR_FORMAT /
 * NNC_ERR_NOMEM with a one-line "file:line: column N ('name'): problem" in err and *out
 * zeroed. o may be NULL. */
nnc_status nnc_csv_read(const char *path, const nnc_csv_opts *o, nnc_table *out, char *err, size_t errlen);
/* The same from memory; text need not be NUL-terminated. */
nnc_status nnc_csv_parse(const char *text, size_t len, const char *name, const nnc_csv_opts *o, nnc_table *out,
                         char *err, size_t errlen);

#endif
