/* The model file's "text_vectorization" metadata: a TextVectorization's options and its
 * vocabulary (without the reserved '' and '[UNK]', which follow from output_mode), as JSON
 * (docs/FORMAT.md); and Keras's TextVectorization config, whose "vocabulary" list nnc writes
 * and reads, or Keras's vocabulary.txt asset when that list is null (Keras 3's
 * TextVectorization.get_config and IndexLookup's save_assets). */
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

/* ---- Keras's TextVectorization config ------------------------------------------------------ */

static void put_int_or_null(nnc_strbuf *sb, const char *key, int v) {
    if (v > 0) nnc_sb_printf(sb, ",\"%s\":%d", key, v);
    else nnc_sb_printf(sb, ",\"%s\":null", key);
}

void nnc_text_vec_keras_config(const nnc_text_vectorizer *t, nnc_strbuf *sb) {
    nnc_text_vec_opts o = nnc_text_vectorizer_opts(t);
    put_int_or_null(sb, "max_tokens", o.max_tokens);
    nnc_sb_puts(sb, ",\"standardize\":");
    if (strcmp(o.standardize, "none")) nnc_sb_json_string(sb, o.standardize);
    else nnc_sb_puts(sb, "null");
    nnc_sb_puts(sb, ",\"split\":");
    nnc_sb_json_string(sb, o.split);
    nnc_sb_puts(sb, ",\"ngrams\":null,\"output_mode\":");
    nnc_sb_json_string(sb, o.output_mode);
    put_int_or_null(sb, "output_sequence_length", o.output_sequence_length);
    nnc_sb_printf(sb, ",\"pad_to_max_tokens\":%s,\"sparse\":false,\"ragged\":false,\"vocabulary\":[",
                  o.pad_to_max_tokens ? "true" : "false");
    size_t reserved = strcmp(o.output_mode, "int") ? 1 : 2, n = nnc_text_vectorizer_vocabulary_size(t);
    for (size_t i = reserved; i < n; i++) {
        if (i > reserved) nnc_sb_puts(sb, ",");
        nnc_sb_json_string(sb, nnc_text_vectorizer_token(t, i));
    }
    nnc_sb_printf(sb, "],\"idf_weights\":null,\"encoding\":\"utf-8\",\"vocabulary_size\":%zu", n);
}

/* A key Keras writes as an int or null (0 here). */
static int int_or_null(const nnc_json *cfg, const char *key, int *out, char *err, size_t n) {
    const nnc_json *v = nnc_json_get(cfg, key);
    *out = 0;
    if (!v || v->type == NNC_JSON_NULL) return 0;
    if (v->type != NNC_JSON_NUMBER || v->number < 0 || v->number > 1 << 30 || v->number != (double)(int)v->number)
        return nnc_msg(err, n, "TextVectorization: %s is not a count", key), -1;
    *out = (int)v->number;
    return 0;
}

/* A string option: absent is Keras's default (dflt), null is None (none; NULL: nnc has no
 * such mode); a serialized function (a custom standardize or split) is Python code nnc cannot
 * run. */
static int string_opt(const nnc_json *cfg, const char *key, const char *dflt, const char *none, const char **out,
                      char *err, size_t n) {
    const nnc_json *v = nnc_json_get(cfg, key);
    if (!v) *out = dflt;
    else if (v->type == NNC_JSON_NULL) *out = none;
    else if (v->type == NNC_JSON_STRING) *out = v->string;
    else return nnc_msg(err, n, "TextVectorization: %s is a custom function (Python code nnc cannot run)", key), -1;
    return *out ? 0 : (nnc_msg(err, n, "TextVectorization: %s=None is not supported", key), -1);
}

/* The tokens of the config's list or the asset's lines, reserved ones left out. */
static nnc_status vocabulary(const nnc_json *voc, const char *asset, size_t len, const char ***toks, size_t *count,
                             char **copy, char *err, size_t n) {
    *toks = NULL, *count = 0, *copy = NULL;
    size_t cap = voc ? voc->count : 1;
    if (!voc && asset) {
        if (!(*copy = malloc(len + 1))) return nnc_msg(err, n, "TextVectorization: out of memory"), NNC_ERR_NOMEM;
        memcpy(*copy, asset, len);
        (*copy)[len] = '\0';
        for (size_t i = 0; i < len; i++) cap += asset[i] == '\n';
    }
    if (!(*toks = malloc(cap * sizeof **toks))) return nnc_msg(err, n, "TextVectorization: out of memory"), NNC_ERR_NOMEM;
    if (voc) {
        for (size_t i = 0; i < voc->count; i++) {
            if (voc->items[i]->type != NNC_JSON_STRING)
                return nnc_msg(err, n, "TextVectorization: vocabulary item %zu is not a string", i), NNC_ERR_FORMAT;
            (*toks)[(*count)++] = voc->items[i]->string;
        }
    } else if (*copy) {
        for (char *p = *copy;; p++) { /* lines joined by '\n', as Keras writes them */
            char *end = strchr(p, '\n');
            if (end) *end = '\0';
            (*toks)[(*count)++] = p;
            if (!end) break;
            p = end;
        }
    }
    size_t skip = 0; /* Keras's lists may start with the reserved '' and '[UNK]' */
    if (skip < *count && !strcmp((*toks)[skip], "")) skip++;
    if (skip < *count && !strcmp((*toks)[skip], "[UNK]")) skip++;
    memmove(*toks, *toks + skip, (*count - skip) * sizeof **toks);
    *count -= skip;
    return NNC_OK;
}

nnc_status nnc_text_vec_from_keras(const nnc_json *cfg, const char *asset, size_t asset_len,
                                   nnc_text_vectorizer **out, char *err, size_t n) {
    nnc_text_vec_opts o = nnc_text_vec_opts_default();
    *out = NULL;
    const nnc_json *ng = nnc_json_get(cfg, "ngrams"), *voc = nnc_json_get(cfg, "vocabulary");
    const nnc_json *pad = nnc_json_get(cfg, "pad_to_max_tokens"), *sp = nnc_json_get(cfg, "sparse");
    const nnc_json *rg = nnc_json_get(cfg, "ragged");
    const char *enc = nnc_json_get_string(cfg, "encoding");
    if (ng && ng->type != NNC_JSON_NULL)
        return nnc_msg(err, n, "TextVectorization: ngrams are not supported (nnc reads single tokens)"), NNC_ERR_UNSUPPORTED;
    if ((sp && sp->type == NNC_JSON_BOOL && sp->boolean) || (rg && rg->type == NNC_JSON_BOOL && rg->boolean))
        return nnc_msg(err, n, "TextVectorization: sparse or ragged outputs are not supported"), NNC_ERR_UNSUPPORTED;
    if (enc && strcmp(enc, "utf-8") && strcmp(enc, "UTF-8"))
        return nnc_msg(err, n, "TextVectorization: encoding '%.40s' is not supported (utf-8)", enc), NNC_ERR_UNSUPPORTED;
    if (int_or_null(cfg, "max_tokens", &o.max_tokens, err, n) ||
        int_or_null(cfg, "output_sequence_length", &o.output_sequence_length, err, n) ||
        string_opt(cfg, "standardize", "lower_and_strip_punctuation", "none", &o.standardize, err, n) ||
        string_opt(cfg, "split", "whitespace", NULL, &o.split, err, n) ||
        string_opt(cfg, "output_mode", "int", NULL, &o.output_mode, err, n))
        return NNC_ERR_UNSUPPORTED;
    if (!strcmp(o.output_mode, "tf_idf"))
        return nnc_msg(err, n, "TextVectorization: output_mode tf_idf is not supported (int, multi_hot, count)"), NNC_ERR_UNSUPPORTED;
    o.pad_to_max_tokens = pad && pad->type == NNC_JSON_BOOL && pad->boolean;
    if (voc && voc->type == NNC_JSON_NULL) voc = NULL;
    if (voc && voc->type != NNC_JSON_ARRAY)
        return nnc_msg(err, n, "TextVectorization: vocabulary is a file path; nnc reads the list or the model's asset"), NNC_ERR_UNSUPPORTED;
    if (!voc && !asset)
        return nnc_msg(err, n, "TextVectorization: no vocabulary (neither in its config nor as the vocabulary.txt asset)"), NNC_ERR_FORMAT;
    const char **toks;
    size_t count;
    char *copy;
    nnc_error e;
    nnc_status s = vocabulary(voc, asset, asset_len, &toks, &count, &copy, err, n);
    if (s == NNC_OK) {
        s = nnc_text_vectorizer_new(&o, out, &e);
        if (s == NNC_OK) s = nnc_text_vectorizer_set_vocabulary(*out, toks, count, &e);
        if (s != NNC_OK) nnc_msg(err, n, "%s", e.message);
    }
    if (s != NNC_OK) {
        nnc_text_vectorizer_free(*out);
        *out = NULL;
    }
    free(toks);
    free(copy);
    return s == NNC_ERR_ARG ? NNC_ERR_FORMAT : s;
}
