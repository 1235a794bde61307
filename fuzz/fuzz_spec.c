/* libFuzzer target for model spec text (nnc_model_from_spec_text, DESIGN section 6): any bytes
 * must give a compiled model or an error message, never a crash, an out-of-bounds access,
 * undefined behaviour or a leak. A model that builds is also used: summary, fit defaults and
 * a prediction. Out of scope: reading the file (nnc_model_from_spec adds only that). */
#define _POSIX_C_SOURCE 200809L
#include "nnc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUES ((size_t)1 << 16) /* predict only when a row is this small */

static void exercise(nnc_model *m) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        nnc_summary(m, f);
        fclose(f);
    }
    free(text);
    nnc_fit_opts o = nnc_fit_opts_default();
    nnc_model_fit_defaults(m, &o);
    size_t in = nnc_input_size(m), out = nnc_output_size(m);
    if (in && out && in <= MAX_VALUES && out <= MAX_VALUES) {
        float *x = calloc(2 * in, sizeof *x), *y = calloc(2 * out, sizeof *y);
        if (x && y) nnc_predict(m, x, 2, y);
        free(x);
        free(y);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnc_error err = {{0}};
    nnc_model *m = nnc_model_from_spec_text((const char *)data, size, "fuzz.spec", &err);
    if (m) {
        exercise(m);
        nnc_model_free(m);
    } else if (!err.message[0]) {
        abort(); /* a failure must say why */
    }
    return 0;
}
