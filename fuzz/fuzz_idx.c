/* libFuzzer target for the IDX reader (nnc_idx_parse, src/data/idx.c): any bytes must give a
 * consistent array of finite values or an error naming the input, never a crash, an
 * out-of-bounds access, undefined behaviour or a leak. Out of scope: gzip and file I/O
 * (nnc_idx_read puts gzread in front of the same checks). */
#include "data/idx.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NAME "fuzz.idx"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnc_idx x;
    char err[512] = "";
    if (nnc_idx_parse(data, size, NAME, &x, err, sizeof err) == 0) {
        if (x.ndim < 1 || x.ndim > NNC_IDX_MAX_NDIM || !x.values) abort();
        size_t total = 1;
        for (int i = 0; i < x.ndim; i++) total *= x.dims[i];
        if (x.count != x.dims[0] || x.count * x.item_size != total) abort();
        /* The whole input was consumed: header, then exactly the data. */
        size_t elem = x.type == NNC_IDX_DOUBLE ? 8 : x.type == NNC_IDX_SHORT ? 2
                    : x.type == NNC_IDX_INT || x.type == NNC_IDX_FLOAT ? 4 : 1;
        if (size != 4 + 4 * (size_t)x.ndim + total * elem) abort();
        for (size_t i = 0; i < total; i++)
            if (!isfinite(x.values[i])) abort();
        nnc_idx_free(&x);
    } else {
        if (x.values || x.count || x.ndim) abort();
        if (strncmp(err, NAME ": ", strlen(NAME) + 2)) abort();
    }
    return 0;
}
