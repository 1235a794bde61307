/* The model file's "text_vectorization" metadata (src/io/text_meta.c). */
#ifndef NNC_IO_TEXT_META_H
#define NNC_IO_TEXT_META_H
#include "nnc.h"
#include "../format/json.h"

/* The vectorizer's options and vocabulary as a JSON object (docs/FORMAT.md). */
void nnc_text_vec_json(const nnc_text_vectorizer *t, nnc_strbuf *sb);
/* Parses that object and gives the model the vectorizer; NNC_ERR_FORMAT with the reason in
 * err (a vocabulary over max_tokens, an unknown option) otherwise. */
nnc_status nnc_text_vec_from_json(nnc_model *m, const char *text, char *err, size_t n);

#endif
