/* libFuzzer target for the CSV reader (nnc_csv_parse, src/data/csv.c): any bytes must give
 * either a consistent table or an error message naming the input, never a crash, an
 * out-of-bounds access, undefined behaviour or a leak. Consistent: every value finite, but NaN
 * where the column counts missing cells (or has too many texts to keep), text indices within
 * the column's texts, every name present. Out of scope: gzip (zlib's concern) and file I/O
 * (nnc_csv_read only adds gzread in front of the parser). Text columns also go through the
 * TextVectorization (src/data/text_vec.c), as `nnc predict` sends a model's text column. */
#include "data/csv.h"
#include "nnc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NAME "fuzz.csv"

/* The text-column path: a text column's cells adapted and vectorized as a TextVectorization
 * does (two settings: int with words, count with characters); every id must lie within the
 * vocabulary, every count within the text's length. */
static void vectorize_texts(const nnc_table_column *col) {
    static const char *const modes[2][3] = {{"lower_and_strip_punctuation", "whitespace", "int"},
                                             {"none", "character", "count"}};
    for (int k = 0; k < 2; k++) {
        nnc_text_vec_opts o = nnc_text_vec_opts_default();
        o.standardize = modes[k][0], o.split = modes[k][1], o.output_mode = modes[k][2];
        o.max_tokens = 40;
        o.output_sequence_length = k ? 0 : 8;
        nnc_text_vectorizer *t = NULL;
        nnc_error e;
        if (nnc_text_vectorizer_new(&o, &t, &e) || nnc_text_vectorizer_adapt(t, (const char *const *)col->texts, col->n_texts, &e)) abort();
        size_t w = nnc_text_vectorizer_output_size(t), v = nnc_text_vectorizer_vocabulary_size(t);
        float *out = malloc(col->n_texts * w * sizeof *out + 1);
        if (!out || v > 40 || nnc_text_vectorize(t, (const char *const *)col->texts, col->n_texts, out, &e)) abort();
        for (size_t i = 0; i < col->n_texts * w; i++)
            if (!(out[i] >= 0 && out[i] < (k ? (float)(3 * strlen(col->texts[i / w]) + 1) : (float)v))) abort();
        free(out);
        nnc_text_vectorizer_free(t);
    }
}

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
        for (size_t i = 0; i < c.cols; i++)
            if (c.columns[i].texts) vectorize_texts(&c.columns[i]);
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
