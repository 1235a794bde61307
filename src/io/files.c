/* The public face of the file writers and readers that live below (src/format/, src/data/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../format/atomic.h"
#include "../data/csv.h"
#include "../format/message.h"
#include "nnc.h"

nnc_status nnc_file_write_atomic(const char *path, const void *data, size_t len, nnc_error *err) {
    char msg[512];
    if (!path || (len && !data)) {
        if (err) snprintf(err->message, sizeof err->message, "write: no path or no data");
        return NNC_ERR_ARG;
    }
    if (!nnc_write_file_atomic(path, data, len, msg, sizeof msg)) return NNC_OK;
    if (err) snprintf(err->message, sizeof err->message, "%s", msg);
    return NNC_ERR_IO;
}

nnc_status nnc_file_check_writable(const char *path, nnc_error *err) {
    char msg[512];
    if (!path) return NNC_ERR_ARG;
    if (!nnc_check_writable(path, msg, sizeof msg)) return NNC_OK;
    if (err) snprintf(err->message, sizeof err->message, "%s", msg);
    return NNC_ERR_IO;
}

nnc_status nnc_table_read_csv(const char *path, nnc_table *out, nnc_error *err) {
    char msg[512];
    nnc_csv c;
    if (!out) return NNC_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!path) return NNC_ERR_ARG;
    if (nnc_csv_read(path, &c, msg, sizeof msg)) {
        if (err) snprintf(err->message, sizeof err->message, "%s", msg);
        return NNC_ERR_FORMAT;
    }
    out->values = c.values;
    out->rows = c.rows;
    out->cols = c.cols;
    out->names = c.header;
    return NNC_OK;
}

void nnc_table_free(nnc_table *t) {
    if (!t) return;
    nnc_csv c = {t->values, t->rows, t->cols, t->names};
    nnc_csv_free(&c);
    memset(t, 0, sizeof *t);
}
