/* libFuzzer target for model spec text (nnc_model_from_spec_text, DESIGN section 6): any bytes
 * must give a compiled model or an error message, never a crash, an out-of-bounds access,
 * undefined behaviour or a leak. A model that builds is also used: summary, config, fit
 * defaults and, when small, a prediction (exercise.h).
 * Out of scope: reading the file (nnc_model_from_spec adds only that). */
#include "exercise.h"
#include "io/spec.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnc_error err = {{0}};
    /* models over 16M parameters are refused before they are allocated (out of scope) */
    nnc_model *m = nnc_spec_build((const char *)data, size, "fuzz.spec", &err, (size_t)1 << 24);
    if (m) {
        fuzz_exercise(m);
        nnc_model_free(m);
    } else if (!err.message[0]) {
        abort(); /* a failure must say why */
    }
    return 0;
}
