/* A model built from a Keras model config's JSON text, as a foreign file is read (leniently),
 * for the tests of configs (tests/config_model.c). */
#ifndef NNC_TEST_CONFIG_MODEL_H
#define NNC_TEST_CONFIG_MODEL_H
#include <stddef.h>
#include "nnc.h"

/* keras2: the text is Keras 2's; NULL with why in msg. */
nnc_model *config_model(const char *text, int keras2, char *msg, size_t n);
#endif
