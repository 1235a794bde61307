/* The spec file's callback lines (src/io/spec_callbacks.c). */
#ifndef NNC_SPEC_CALLBACKS_H
#define NNC_SPEC_CALLBACKS_H
#include "spec_args.h"

/* `callback NAME key=value...`: builds the callback and gives it to the model's training
 * state; 0, or -1 with the error in the context. */
int nnc_spec_callback(spec_ctx *c);

#endif
