/* The spec's `text_vectorization` line (docs/SPEC.md): Keras's TextVectorization as the model's
 * first line, standing for its input of raw text. Text is not a float tensor, so the layer is
 * kept out of the graph: the line makes the model's vectorizer (src/data/text_vec.c, not yet
 * adapted: `nnc train` adapts it on the training texts) and an Input as wide as what the
 * vectorizer writes, named after the line. Keras's arguments and defaults, with two rules a
 * graph built before adapt needs: int mode takes output_sequence_length, and the other modes
 * take max_tokens and are padded to it (pad_to_max_tokens, implied). Out of scope: ngrams,
 * split=None, custom callables, a vocabulary given in the spec. */
#include <string.h>
#include "spec_text.h"

static int is_none(const char *s) { return !strcmp(s, "None") || !strcmp(s, "none"); }

/* An integer argument in [lo, hi], or None (0). */
static int int_or_none(spec_ctx *c, int pos, const char *key, long lo, long hi, int *out) {
    spec_word *w = spec_arg(c, pos, key);
    long v;
    if (!w || is_none(w->val)) return 0;
    if (spec_parse_long(w->val, &v) || v < lo || v > hi)
        return spec_fail(c, "%s: bad value '%s' for %s (expected an integer in [%ld, %ld] or None)", c->stmt, w->val,
                         key, lo, hi);
    *out = (int)v;
    return 0;
}

/* A word argument that must be one of names (a comma list); *out keeps its default when absent. */
static int one_of(spec_ctx *c, const char *key, const char *names, const char **out) {
    spec_word *w = spec_arg(c, -1, key);
    char buf[256];
    if (!w) return 0;
    size_t len = strlen(w->val);
    for (const char *s = names; *s;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (n == len && !strncmp(s, w->val, n)) return *out = w->val, 0;
        s += n + (comma ? 2 : 0);
    }
    spec_near near;
    spec_near_start(&near, w->val);
    spec_near_list(&near, names, buf, sizeof buf);
    char tail[300];
    snprintf(tail, sizeof tail, "one of %s", names);
    return spec_fail_near(c, &near, tail, "%s: unknown %s '%s'", c->stmt, key, w->val);
}

int nnc_spec_text_vectorization(spec_ctx *c) {
    nnc_text_vec_opts o = nnc_text_vec_opts_default();
    const char *name = "text_vectorization", *std = "lower_and_strip_punctuation";
    bool pad = true;
    spec_word *pad_word = spec_keyed(c, "pad_to_max_tokens");
    if (int_or_none(c, 0, "max_tokens", 1, 1 << 24, &o.max_tokens) ||
        int_or_none(c, -1, "output_sequence_length", 1, 1 << 20, &o.output_sequence_length) ||
        one_of(c, "standardize", "lower_and_strip_punctuation, lower, strip_punctuation, None", &std) ||
        one_of(c, "split", "whitespace, character", &o.split) ||
        one_of(c, "output_mode", "int, multi_hot, count", &o.output_mode) || spec_bool(c, -1, "pad_to_max_tokens", &pad) ||
        spec_string(c, -1, "name", &name) ||
        spec_check_all_used(c, "max_tokens, standardize, split, output_mode, output_sequence_length, "
                               "pad_to_max_tokens, name"))
        return -1;
    o.standardize = is_none(std) ? "none" : std;
    int int_mode = !strcmp(o.output_mode, "int");
    if (int_mode && !o.output_sequence_length)
        return spec_fail(c, "%s: output_mode int needs output_sequence_length (the model's input is that many token "
                         "ids, padded or cut)", c->stmt);
    if (!int_mode && o.output_sequence_length)
        return spec_fail(c, "%s: output_sequence_length is for output_mode int only", c->stmt);
    if (!int_mode && !o.max_tokens)
        return spec_fail(c, "%s: output_mode %s needs max_tokens (the model's input is max_tokens wide)", c->stmt,
                         o.output_mode);
    if (!int_mode && pad_word && !pad)
        return spec_fail(c, "%s: pad_to_max_tokens=false: the model's input must be as wide before adapt as after "
                         "(a spec pads output_mode %s to max_tokens)", c->stmt, o.output_mode);
    o.pad_to_max_tokens = int_mode ? pad_word && pad : true;
    nnc_text_vectorizer *t = NULL;
    nnc_error e = {""};
    if (nnc_text_vectorizer_new(&o, &t, &e)) {
        const char *msg = strncmp(e.message, "TextVectorization: ", 19) ? e.message : e.message + 19;
        return spec_fail(c, "%s: %s", c->stmt, msg);
    }
    int width = (int)nnc_text_vectorizer_output_size(t);
    nnc_status s = nnc_model_set_text_vectorizer(c->m, t);
    nnc_text_vectorizer_free(t);
    if (s) return spec_fail(c, "%s: %s", c->stmt, nnc_last_error(c->m));
    if (nnc_input(c->m, &width, 1, name) == NNC_NONE) return spec_fail(c, "%s: %s", c->stmt, nnc_last_error(c->m));
    return 0;
}
