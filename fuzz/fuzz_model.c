/* libFuzzer target for model files (nnc_model_load_buffer: safetensors, src/io/model_file.c): the
 * safetensors container (src/io/safetensors.c), the JSON in its metadata (src/io/json.c), the
 * Keras config that rebuilds the model and the weights checked against it. Any bytes must
 * give a working model or an error message, never a crash, an out-of-bounds access, undefined
 * behaviour or a leak. A model that loads is also used: summary, config, and when small a
 * prediction (exercise.h).
 *
 * Two input forms, so that mutations reach past the container's length field:
 *  - raw: the bytes are the file, as saved;
 *  - header-first (the input starts with '{'): the JSON header, then a NUL byte, then the data
 *    section; the harness adds the 8-byte length (padding the header with spaces to a
 *    multiple of 8), so an edit inside the JSON keeps the container's framing valid.
 *    A raw file whose first length byte is 0x7B is read this way too; raw mode loses nothing
 *    that matters, since any other first byte still exercises the length checks.
 * Out of scope: file I/O and atomic saving (covered by the unit tests). */
#include "exercise.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Builds a safetensors image from the header-first form; NULL when out of memory. */
static uint8_t *frame(const uint8_t *data, size_t size, size_t *len) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t hlen = nul ? (size_t)(nul - data) : size, padded = (hlen + 7) / 8 * 8;
    size_t dlen = nul ? size - hlen - 1 : 0;
    uint8_t *b = malloc(8 + padded + dlen + 1);
    if (!b) return NULL;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    memcpy(b + 8, data, hlen);
    memset(b + 8 + hlen, ' ', padded - hlen);
    if (dlen) memcpy(b + 8 + padded, nul + 1, dlen);
    *len = 8 + padded + dlen;
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnc_error err = {{0}};
    uint8_t *framed = NULL;
    if (size && data[0] == '{') {
        if (!(framed = frame(data, size, &size))) return 0;
        data = framed;
    }
    nnc_model *m = nnc_model_load_buffer(data, size, "fuzz.safetensors", &err);
    free(framed);
    if (m) {
        fuzz_exercise(m);
        nnc_model_free(m);
    } else if (!err.message[0]) {
        abort(); /* a failure must say why */
    }
    return 0;
}
