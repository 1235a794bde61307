/* The spec's `text_vectorization` line (src/io/spec_text.c). */
#ifndef NNC_SPEC_TEXT_H
#define NNC_SPEC_TEXT_H
#include "spec_args.h"

/* Reads the statement in c (its words), gives c->m its TextVectorization and the Input that
 * takes what it writes; 0, or -1 with the message in c. */
int nnc_spec_text_vectorization(spec_ctx *c);

#endif
