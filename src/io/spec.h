/* Internals of the model spec format (src/io/spec.c; the format is docs/SPEC.md). */
#ifndef NNC_SPEC_H
#define NNC_SPEC_H
#include <stddef.h>
#include "nnc.h"

/* nnc_model_from_spec_text with a cap on the model's parameters (0: none): a larger model is
 * refused by compile with an error instead of being allocated. The spec fuzz target sets one,
 * since a valid but huge model is not a finding. */
nnc_model *nnc_spec_build(const char *text, size_t len, const char *name, nnc_error *err,
                          size_t max_param_floats);

#endif
