/* The public face of the file writers and readers that live below (src/format/, src/data/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../format/atomic.h"
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
