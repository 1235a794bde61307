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

/* Keras's TextVectorization config keys (get_config of Keras 3), inside the braces: the
 * vocabulary goes in "vocabulary" (Keras's input vocabulary, so no asset file is needed). */
void nnc_text_vec_keras_config(const nnc_text_vectorizer *t, nnc_strbuf *sb);
/* A Keras TextVectorization config into a new vectorizer: the vocabulary from the config's list
 * or, when null, from asset (Keras's vocabulary.txt, one token a line, reserved ones first;
 * NULL: none). NNC_ERR_UNSUPPORTED naming what nnc lacks (ngrams, tf_idf, a custom function),
 * NNC_ERR_FORMAT for what is not a TextVectorization config; the reason in err. */
nnc_status nnc_text_vec_from_keras(const nnc_json *cfg, const char *asset, size_t asset_len,
                                   nnc_text_vectorizer **out, char *err, size_t n);

#endif
