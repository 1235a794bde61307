/* libFuzzer target for the CSV reader (nnc_csv_parse, src/data/csv.c): any bytes must give
 * either a table of finite numbers or an error message naming the input, never a crash, an
 * out-of-bounds access, undefined behaviour or a leak. Out of scope: gzip (zlib's concern) and
 * file I/O (nnc_csv_read only adds gzread in front of the parser). */
#include "data/csv.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NAME "fuzz.csv"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnc_csv c;
    char err[512] = "";
    if (nnc_csv_parse((const char *)data, size, NAME, &c, err, sizeof err) == 0) {
        if (!c.rows || !c.cols || !c.values || !c.header) abort();
        for (size_t i = 0; i < c.cols; i++)
            if (!c.header[i]) abort();
        for (size_t i = 0; i < c.rows * c.cols; i++)
            if (!isfinite(c.values[i])) abort();
        nnc_csv_free(&c);
    } else {
        /* A failure leaves *out empty and a message that names the input. */
        if (c.values || c.header || c.rows || c.cols) abort();
        if (strncmp(err, NAME, strlen(NAME))) abort();
    }
    return 0;
}
