/* Text data for a model that keeps a TextVectorization (a spec whose first line is
 * text_vectorization): cli_load reads the texts (the bundled fortunes, or a CSV column of text,
 * csv_data.c) as one feature holding each row's index into d->texts; here the vectorizer learns
 * its vocabulary from the training rows and turns each part's texts into the model's input. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* The texts of rows [0, n) of d (an index of -1, or a missing one, is the empty text). */
static const char **texts_of(const cli_data *d, size_t n) {
    const char **t = malloc((n ? n : 1) * sizeof *t);
    for (size_t r = 0; t && r < n; r++) {
        float v = d->x[r * d->features];
        t[r] = v >= 0.0f && (size_t)v < d->n_texts ? d->texts[(size_t)v] : "";
    }
    return t;
}

static int check_text_data(const nnc_model *m, const cli_data *d, char *err, size_t n) {
    if (!nnc_model_text_vectorizer(m)) return snprintf(err, n, "%s: the model has no TextVectorization", d->source), -1;
    if (!d->texts || d->features != 1) return snprintf(err, n, "%s: not text data", d->source), -1;
    return 0;
}

int cli_text_adapt(nnc_model *m, const cli_data *d, size_t rows, char *err, size_t n) {
    if (check_text_data(m, d, err, n)) return -1;
    if (rows > d->n) rows = d->n;
    const char **t = texts_of(d, rows);
    nnc_error e = {""};
    int rc = t ? nnc_text_vectorizer_adapt(nnc_model_text_vectorizer(m), t, rows, &e) : NNC_ERR_NOMEM;
    free(t);
    if (rc) snprintf(err, n, "%s: %s", d->source, t ? e.message : "out of memory");
    return rc ? -1 : 0;
}

int cli_text_vectorize(const nnc_model *m, cli_data *d, char *err, size_t n) {
    if (check_text_data(m, d, err, n)) return -1;
    nnc_text_vectorizer *tv = nnc_model_text_vectorizer(m);
    size_t w = nnc_text_vectorizer_output_size(tv);
    if (w != nnc_input_size(m))
        return snprintf(err, n, "%s: the TextVectorization writes %zu values, the model's input takes %zu", d->source, w,
                        nnc_input_size(m)), -1;
    const char **t = texts_of(d, d->n);
    float *x = d->n > ((size_t)1 << 40) / (w ? w : 1) ? NULL : malloc((d->n ? d->n : 1) * w * sizeof *x);
    nnc_error e = {""};
    int rc = t && x ? nnc_text_vectorize(tv, t, d->n, x, &e) : NNC_ERR_NOMEM;
    free(t);
    if (rc) {
        free(x);
        return snprintf(err, n, "%s: %s", d->source, rc == NNC_ERR_NOMEM && !e.message[0] ? "out of memory" : e.message), -1;
    }
    free(d->x);
    d->x = x;
    d->features = w;
    d->texts = NULL, d->n_texts = 0; /* x holds the input now */
    return 0;
}
