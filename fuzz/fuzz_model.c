/* libFuzzer target for model files (nnc_model_load_buffer, src/io/model_file.c): the
 * safetensors container (src/io/safetensors.c), the JSON in its metadata (src/io/json.c), the
 * Keras config that rebuilds the model and the weights checked against it. Any bytes must
 * give a working model or an error message, never a crash, an out-of-bounds access, undefined
 * behaviour or a leak. A model that loads is also used: summary, config JSON and a prediction.
 * Out of scope: file I/O and atomic saving (covered by the unit tests). */
#define _POSIX_C_SOURCE 200809L
#include "io/model_file.h"

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
    nnc_strbuf sb = {0};
    nnc_config_json(m, &sb);
    nnc_sb_free(&sb);
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
    nnc_model *m = nnc_model_load_buffer(data, size, "fuzz.safetensors", &err);
    if (m) {
        exercise(m);
        nnc_model_free(m);
    } else if (!err.message[0]) {
        abort(); /* a failure must say why */
    }
    return 0;
}
