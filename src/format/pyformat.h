/* Python's text formatting as Keras uses it (src/format/pyformat.c): repr of a float, as
 * CSVLogger writes values, and str.format of a ModelCheckpoint filepath. */
#ifndef NNC_PYFORMAT_H
#define NNC_PYFORMAT_H
#include <stddef.h>
#include "nnc.h"

/* Python's repr of a float ("0.1", "1e-05", "100.0", "nan"), as Keras writes logs. */
void nnc_format_pyfloat(double v, char *buf, size_t n);
/* ModelCheckpoint's filepath: Python's str.format with epoch (the 1-based int) and the log
 * values ({epoch:02d}, {val_loss:.2f}, {{ and }}). logs NULL only checks the syntax. Returns 0,
 * or -1 with msg saying what is wrong. */
int nnc_format_filepath(const char *fmt, int epoch, const nnc_logs *logs, char *out, size_t n,
                        char *msg, size_t msglen);
/* The value of key in logs (1), or 0 when absent; and the keys, comma separated. */
int nnc_logs_find(const nnc_logs *l, const char *key, double *v);
void nnc_logs_keys(const nnc_logs *l, char *buf, size_t n);
/* Room for a formatted filepath: every field at its longest. */
size_t nnc_filepath_cap(const char *fmt);

#endif
