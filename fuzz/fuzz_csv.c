/* libFuzzer target for the CSV reader (nnc_csv_parse, src/data/csv.c): any bytes must give
 * either a consistent table or an error message naming the input, never a crash, an
 * out-of-bounds access, undefined behaviour or a leak. Consistent: every value finite, but NaN
 * where the column counts missing cells (or has too many texts to keep), text indices within
 * the column's texts, every name present. Out of scope: gzip (zlib's concern) and file I/O
 * (nnc_csv_read only adds gzread in front of the parser). */
#include "data/csv.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NAME "fuzz.csv"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnc_table c;
    char err[512] = "";
    /* A first byte from 0xF1 to 0xFF picks the options (a delimiter and a header mode), so that
     * each is reached; other inputs, the corpus's CSV files among them, read with the defaults. */
    nnc_csv_opts o = nnc_csv_opts_default();
    if (size && data[0] > 0xF0) {
        static const char delims[] = {0, ',', ';', '\t', '|'};
        o.delimiter = delims[(data[0] - 0xF1) % 5];
        o.header = (nnc_header_mode)((data[0] - 0xF1) / 5);
        data++, size--;
    }
    if (nnc_csv_parse((const char *)data, size, NAME, &o, &c, err, sizeof err) == NNC_OK) {
        if (!c.rows || !c.cols || !c.values || !c.columns || !c.source) abort();
        for (size_t i = 0; i < c.cols; i++)
            if (!c.columns[i].name || (c.columns[i].texts == NULL) != (c.columns[i].n_texts == 0)) abort();
        for (size_t i = 0; i < c.rows * c.cols; i++) {
            const nnc_table_column *col = &c.columns[i % c.cols];
            float v = c.values[i];
            if (isnan(v) ? !col->missing && !col->too_many_texts
                         : !isfinite(v) || (col->texts && (v < 0 || v >= (float)col->n_texts)))
                abort();
        }
        for (size_t r = 1; r < c.rows; r++)
            if (nnc_table_line(&c, r) <= nnc_table_line(&c, r - 1)) abort();
        nnc_table_free(&c);
    } else {
        /* A failure leaves *out empty and a message that names the input. */
        if (c.values || c.columns || c.rows || c.cols) abort();
        if (strncmp(err, NAME, strlen(NAME))) abort();
    }
    return 0;
}
