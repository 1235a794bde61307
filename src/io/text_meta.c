/* The model file's "text_vectorization" metadata: a TextVectorization's options and its
 * vocabulary (without the reserved '' and '[UNK]', which follow from output_mode), as JSON
 * (docs/FORMAT.md). Out of scope: Keras's asset files (saving those formats is refused). */
#include <stdlib.h>
#include <string.h>
#include "nnc.h"
#include "text_meta.h"
#include "../format/message.h"

void nnc_text_vec_json(const nnc_text_vectorizer *t, nnc_strbuf *sb) {
    nnc_text_vec_opts o = nnc_text_vectorizer_opts(t);
    nnc_sb_printf(sb, "{\"max_tokens\": %d, \"output_sequence_length\": %d, \"standardize\": ", o.max_tokens,
                  o.output_sequence_length);
    nnc_sb_json_string(sb, o.standardize);
    nnc_sb_puts(sb, ", \"split\": ");
    nnc_sb_json_string(sb, o.split);
    nnc_sb_puts(sb, ", \"output_mode\": ");
    nnc_sb_json_string(sb, o.output_mode);
    nnc_sb_printf(sb, ", \"pad_to_max_tokens\": %s, \"vocabulary\": [", o.pad_to_max_tokens ? "true" : "false");
    size_t reserved = strcmp(o.output_mode, "int") ? 1 : 2, n = nnc_text_vectorizer_vocabulary_size(t);
    for (size_t i = reserved; i < n; i++) {
        if (i > reserved) nnc_sb_puts(sb, ", ");
        nnc_sb_json_string(sb, nnc_text_vectorizer_token(t, i));
    }
    nnc_sb_puts(sb, "]}");
}

static int get_int(const nnc_json *j, const char *key, int *out) {
    double v;
    if (!nnc_json_get_number(j, key, &v) || v != (double)(int)v || v < 0) return 0;
    *out = (int)v;
    return 1;
}

static nnc_status from_dom(nnc_model *m, const nnc_json *j, char *err, size_t n) {
    nnc_text_vec_opts o = nnc_text_vec_opts_default();
    const nnc_json *voc = nnc_json_get(j, "vocabulary");
    o.standardize = nnc_json_get_string(j, "standardize");
    o.split = nnc_json_get_string(j, "split");
    o.output_mode = nnc_json_get_string(j, "output_mode");
    const nnc_json *pad = nnc_json_get(j, "pad_to_max_tokens"); /* absent: false (files before it) */
    if (pad && pad->type != NNC_JSON_BOOL)
        return nnc_msg(err, n, "text_vectorization: pad_to_max_tokens is not true or false"), NNC_ERR_FORMAT;
    o.pad_to_max_tokens = pad && pad->boolean;
    if (j->type != NNC_JSON_OBJECT || !get_int(j, "max_tokens", &o.max_tokens) ||
        !get_int(j, "output_sequence_length", &o.output_sequence_length) || !o.standardize || !o.split ||
        !o.output_mode || !voc || voc->type != NNC_JSON_ARRAY)
        return nnc_msg(err, n, "text_vectorization: needs max_tokens, output_sequence_length, standardize, split, output_mode and a vocabulary list"), NNC_ERR_FORMAT;
    const char **toks = malloc((voc->count ? voc->count : 1) * sizeof *toks);
    if (!toks) return nnc_msg(err, n, "text_vectorization: out of memory"), NNC_ERR_NOMEM;
    for (size_t i = 0; i < voc->count; i++) {
        toks[i] = voc->items[i]->type == NNC_JSON_STRING ? voc->items[i]->string : NULL;
        if (!toks[i]) {
            free(toks);
            return nnc_msg(err, n, "text_vectorization: vocabulary item %zu is not a string", i), NNC_ERR_FORMAT;
        }
    }
    nnc_text_vectorizer *t = NULL;
    nnc_error e;
    nnc_status s = nnc_text_vectorizer_new(&o, &t, &e);
    if (s == NNC_OK) s = nnc_text_vectorizer_set_vocabulary(t, toks, voc->count, &e);
    free(toks);
    if (s != NNC_OK) {
        nnc_msg(err, n, "%s", e.message);
        nnc_text_vectorizer_free(t);
        return s == NNC_ERR_NOMEM ? s : NNC_ERR_FORMAT;
    }
    s = nnc_model_set_text_vectorizer(m, t);
    if (s != NNC_OK) nnc_msg(err, n, "%s", nnc_last_error(m));
    nnc_text_vectorizer_free(t);
    return s;
}

nnc_status nnc_text_vec_from_json(nnc_model *m, const char *text, char *err, size_t n) {
    char jerr[128];
    nnc_json *j = nnc_json_parse(text, strlen(text), jerr, sizeof jerr);
    if (!j) return nnc_msg(err, n, "text_vectorization: not JSON: %s", jerr), NNC_ERR_FORMAT;
    nnc_status s = from_dom(m, j, err, n);
    nnc_json_free(j);
    return s;
}
