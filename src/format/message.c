#include <stdarg.h>
#include <stdio.h>
#include "message.h"

int nnc_msg(char *buf, size_t n, const char *fmt, ...) {
    if (buf && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}
