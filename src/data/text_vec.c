/* Keras's TextVectorization outside the float graph: text is standardized, split into tokens,
 * looked up in a vocabulary adapted on training text, and written as floats (token ids, or a
 * multi-hot/count vector over the vocabulary) that feed a model's Input. Rules follow Keras 3's
 * TextVectorization and IndexLookup documentation; what differs is said where it is done.
 * Out of scope: tf_idf, ngrams, custom callables, Unicode case folding. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nnc.h"
#include "../core/model_impl.h"
#include "../format/strmap.h"

struct nnc_text_vectorizer {
    nnc_text_vec_opts o;
    int lower, strip, by_char, mode; /* mode: 0 int, 1 multi_hot, 2 count */
    char **vocab;
    size_t n_vocab;
    nnc_strmap index; /* token -> its place in vocab */
    char *buf;        /* the standardized text being split; grown as texts need */
    size_t cap;
};

enum { MODE_INT, MODE_MULTI_HOT, MODE_COUNT };

static void set_err(nnc_error *err, const char *fmt, ...) {
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

nnc_text_vec_opts nnc_text_vec_opts_default(void) {
    nnc_text_vec_opts o = {0, 0, "lower_and_strip_punctuation", "whitespace", "int", false};
    return o;
}

static int pick(const char *v, const char *const *names, int n, const char *dflt) {
    if (!v) v = dflt;
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) return i;
    return -1;
}

nnc_status nnc_text_vectorizer_new(const nnc_text_vec_opts *opts, nnc_text_vectorizer **out, nnc_error *err) {
    static const char *const stds[] = {"lower_and_strip_punctuation", "lower", "strip_punctuation", "none"};
    static const char *const splits[] = {"whitespace", "character"};
    static const char *const modes[] = {"int", "multi_hot", "count"};
    nnc_text_vec_opts o = opts ? *opts : nnc_text_vec_opts_default();
    *out = NULL;
    int s = pick(o.standardize, stds, 4, stds[0]), sp = pick(o.split, splits, 2, splits[0]);
    int m = pick(o.output_mode, modes, 3, modes[0]);
    if (s < 0) return set_err(err, "TextVectorization: standardize '%s' is not one of lower_and_strip_punctuation, lower, strip_punctuation, none", o.standardize), NNC_ERR_ARG;
    if (sp < 0) return set_err(err, "TextVectorization: split '%s' is not one of whitespace, character", o.split), NNC_ERR_ARG;
    if (m < 0) return set_err(err, "TextVectorization: output_mode '%s' is not one of int, multi_hot, count (tf_idf is not supported)", o.output_mode), NNC_ERR_ARG;
    if (o.max_tokens < 0 || (o.max_tokens > 0 && o.max_tokens < (m == MODE_INT ? 3 : 2)))
        return set_err(err, "TextVectorization: max_tokens %d must be 0 (no limit) or above the reserved tokens", o.max_tokens), NNC_ERR_ARG;
    if (m != MODE_INT && o.pad_to_max_tokens && !o.max_tokens)
        return set_err(err, "TextVectorization: pad_to_max_tokens needs max_tokens"), NNC_ERR_ARG;
    if (m == MODE_INT ? o.output_sequence_length < 1 : o.output_sequence_length != 0)
        return set_err(err, "TextVectorization: output_sequence_length %d: output_mode int needs at least 1, the other modes 0", o.output_sequence_length), NNC_ERR_ARG;
    nnc_text_vectorizer *t = calloc(1, sizeof *t);
    if (!t) return set_err(err, "TextVectorization: out of memory"), NNC_ERR_NOMEM;
    o.standardize = stds[s];
    o.split = splits[sp];
    o.output_mode = modes[m];
    t->o = o;
    t->lower = s == 0 || s == 1;
    t->strip = s == 0 || s == 2;
    t->by_char = sp == 1;
    t->mode = m;
    *out = t;
    return NNC_OK;
}

static void clear_vocab(nnc_text_vectorizer *t) {
    for (size_t i = 0; i < t->n_vocab; i++) free(t->vocab[i]);
    free(t->vocab);
    t->vocab = NULL;
    t->n_vocab = 0;
    nnc_strmap_free(&t->index);
}

void nnc_text_vectorizer_free(nnc_text_vectorizer *t) {
    if (!t) return;
    clear_vocab(t);
    free(t->buf);
    free(t);
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included, RFC 3629). */
static size_t utf8_len(const unsigned char *p, size_t n) {
    if (p[0] < 0x80) return 1;
    size_t len = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (!len || p[0] > 0xF4 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    if (len == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0))) return 0;
    if (len == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))) return 0;
    return len;
}

/* Standardizes text into t->buf. Invalid UTF-8 becomes U+FFFD per bad byte, as TensorFlow's
 * string ops do with errors="replace". Lowercasing is ASCII-only and punctuation is ASCII's
 * (Python's string.punctuation): Keras 3 calls tf.strings.lower without an encoding and strips
 * with the regex of exactly those characters, so non-ASCII letters and marks are kept as they
 * are. Returns the length, or SIZE_MAX when out of memory. */
static size_t standardize(nnc_text_vectorizer *t, const char *text) {
    size_t n = strlen(text), need = 3 * n + 1;
    if (need > t->cap) {
        char *b = realloc(t->buf, need);
        if (!b) return SIZE_MAX;
        t->buf = b;
        t->cap = need;
    }
    const unsigned char *p = (const unsigned char *)text;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(p + i, n - i);
        if (!len) {
            memcpy(t->buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            continue;
        }
        unsigned char c = p[i];
        if (len == 1 && t->strip && c < 0x80 && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) && c) {
            i++;
            continue;
        }
        if (len == 1 && t->lower && c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
        t->buf[o++] = (char)c;
        for (size_t k = 1; k < len; k++) t->buf[o++] = (char)p[i + k];
        i += len;
    }
    t->buf[o] = '\0';
    return o;
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The next token of the standardized text from *pos, NUL-terminated in place (the byte after
 * it is saved in *saved and restored by the caller's next call); NULL at the end. Whitespace
 * splitting drops empty tokens, as tf.strings.split does; character splitting yields every
 * code point, spaces included, as tf.strings.unicode_split does. */
static char *next_token(nnc_text_vectorizer *t, size_t len, size_t *pos, char *saved) {
    char *b = t->buf;
    if (*pos > 0 && *pos <= len) b[*pos] = *saved;
    size_t i = *pos;
    if (!t->by_char)
        while (i < len && is_space(b[i])) i++;
    if (i >= len) return NULL;
    size_t j = i;
    if (t->by_char)
        j += utf8_len((const unsigned char *)b + i, len - i);
    else
        while (j < len && !is_space(b[j])) j++;
    *saved = b[j];
    b[j] = '\0';
    *pos = j;
    return b + i;
}

typedef struct {
    char *tok;
    size_t count;
} tok_count;

/* Keras's IndexLookup sorts by count and breaks ties by the token itself: np.lexsort over
 * (tokens, counts) reversed, so a tie puts the byte-wise greater token first. Followed here so
 * that a vocabulary adapted by nnc and by Keras on the same text is the same list. */
static int by_count(const void *a, const void *b) {
    const tok_count *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return -strcmp(x->tok, y->tok);
}

static int is_reserved(const char *tok) {
    return !*tok || !strcmp(tok, "[UNK]");
}

static nnc_status count_tokens(nnc_text_vectorizer *t, const char *const *texts, size_t n, nnc_strmap *map,
                               tok_count **counts, size_t *n_counts, size_t *cap, nnc_error *err) {
    for (size_t r = 0; r < n; r++) {
        size_t len = standardize(t, texts[r] ? texts[r] : ""), pos = 0;
        if (len == SIZE_MAX) return set_err(err, "TextVectorization: out of memory"), NNC_ERR_NOMEM;
        char saved = 0, *tok;
        while ((tok = next_token(t, len, &pos, &saved))) {
            if (is_reserved(tok)) continue;
            int *v = nnc_strmap_get(map, tok);
            if (v) {
                (*counts)[*v].count++;
                continue;
            }
            if (*n_counts == *cap) {
                size_t nc = *cap ? 2 * *cap : 1024;
                tok_count *g = realloc(*counts, nc * sizeof *g);
                if (!g) return set_err(err, "TextVectorization: out of memory"), NNC_ERR_NOMEM;
                *counts = g;
                *cap = nc;
            }
            char *copy = strdup(tok);
            if (!copy || nnc_strmap_put(map, tok, (int)*n_counts)) {
                free(copy);
                return set_err(err, "TextVectorization: out of memory"), NNC_ERR_NOMEM;
            }
            (*counts)[(*n_counts)++] = (tok_count){copy, 1};
        }
    }
    return NNC_OK;
}

nnc_status nnc_text_vectorizer_adapt(nnc_text_vectorizer *t, const char *const *texts, size_t n, nnc_error *err) {
    nnc_strmap map = {0};
    tok_count *counts = NULL;
    size_t n_counts = 0, cap = 0;
    nnc_status s = count_tokens(t, texts, n, &map, &counts, &n_counts, &cap, err);
    nnc_strmap_free(&map);
    if (s == NNC_OK) {
        if (n_counts) qsort(counts, n_counts, sizeof *counts, by_count);
        size_t reserved = t->mode == MODE_INT ? 2 : 1, keep = n_counts;
        if (t->o.max_tokens > 0 && keep > (size_t)t->o.max_tokens - reserved) keep = (size_t)t->o.max_tokens - reserved;
        const char **toks = malloc((keep ? keep : 1) * sizeof *toks);
        if (!toks) {
            s = NNC_ERR_NOMEM;
            set_err(err, "TextVectorization: out of memory");
        } else {
            for (size_t i = 0; i < keep; i++) toks[i] = counts[i].tok;
            s = nnc_text_vectorizer_set_vocabulary(t, toks, keep, err);
            free(toks);
        }
    }
    for (size_t i = 0; i < n_counts; i++) free(counts[i].tok);
    free(counts);
    return s;
}

nnc_status nnc_text_vectorizer_set_vocabulary(nnc_text_vectorizer *t, const char *const *tokens, size_t n, nnc_error *err) {
    size_t reserved = t->mode == MODE_INT ? 2 : 1;
    if (t->o.max_tokens > 0 && n + reserved > (size_t)t->o.max_tokens)
        return set_err(err, "TextVectorization: a vocabulary of %zu tokens (with the reserved ones) is over max_tokens %d", n + reserved, t->o.max_tokens), NNC_ERR_ARG;
    clear_vocab(t);
    t->vocab = calloc(n + reserved, sizeof *t->vocab);
    if (!t->vocab) return set_err(err, "TextVectorization: out of memory"), NNC_ERR_NOMEM;
    t->n_vocab = n + reserved;
    const char *lead[2] = {"", "[UNK]"};
    for (size_t i = 0; i < t->n_vocab; i++) {
        const char *tok = i < reserved ? lead[i + 2 - reserved] : tokens[i - reserved];
        t->vocab[i] = strdup(tok ? tok : "");
        if (!t->vocab[i]) return clear_vocab(t), set_err(err, "TextVectorization: out of memory"), NNC_ERR_NOMEM;
        if (i >= reserved && (is_reserved(tok ? tok : "") || nnc_strmap_get(&t->index, tok))) {
            set_err(err, "TextVectorization: vocabulary token %zu ('%.40s') is reserved or repeated", i - reserved, tok ? tok : "");
            clear_vocab(t);
            return NNC_ERR_ARG;
        }
        if (nnc_strmap_put(&t->index, t->vocab[i], (int)i)) return clear_vocab(t), set_err(err, "TextVectorization: out of memory"), NNC_ERR_NOMEM;
    }
    return NNC_OK;
}

size_t nnc_text_vectorizer_output_size(const nnc_text_vectorizer *t) {
    if (t->mode == MODE_INT) return (size_t)t->o.output_sequence_length;
    return t->o.pad_to_max_tokens ? (size_t)t->o.max_tokens : t->n_vocab;
}

size_t nnc_text_vectorizer_vocabulary_size(const nnc_text_vectorizer *t) { return t->n_vocab; }

const char *nnc_text_vectorizer_token(const nnc_text_vectorizer *t, size_t i) {
    return i < t->n_vocab ? t->vocab[i] : NULL;
}

nnc_text_vec_opts nnc_text_vectorizer_opts(const nnc_text_vectorizer *t) { return t->o; }

/* An empty text gives all padding in int mode and zeros in the others, as Keras does. */
nnc_status nnc_text_vectorize(nnc_text_vectorizer *t, const char *const *texts, size_t n, float *out, nnc_error *err) {
    if (!t->n_vocab) return set_err(err, "TextVectorization: no vocabulary: adapt it first"), NNC_ERR_STATE;
    size_t width = nnc_text_vectorizer_output_size(t);
    memset(out, 0, n * width * sizeof *out);
    for (size_t r = 0; r < n; r++) {
        size_t len = standardize(t, texts[r] ? texts[r] : ""), pos = 0, k = 0;
        if (len == SIZE_MAX) return set_err(err, "TextVectorization: out of memory"), NNC_ERR_NOMEM;
        float *row = out + r * width;
        char saved = 0, *tok;
        while ((tok = next_token(t, len, &pos, &saved))) {
            int *v = nnc_strmap_get(&t->index, tok);
            size_t id = v ? (size_t)*v : (t->mode == MODE_INT ? 1 : 0); /* unknown: OOV */
            if (t->mode == MODE_INT) {
                if (k == width) break;
                row[k++] = (float)id;
            } else if (t->mode == MODE_MULTI_HOT) {
                row[id] = 1.0f;
            } else {
                row[id] += 1.0f;
            }
        }
    }
    return NNC_OK;
}

static void free_any(void *p) { nnc_text_vectorizer_free(p); }

nnc_status nnc_model_set_text_vectorizer(nnc_model *m, const nnc_text_vectorizer *t) {
    if (!m) return NNC_ERR_ARG;
    nnc_text_vectorizer *copy = NULL;
    nnc_error e;
    if (t) {
        nnc_status s = nnc_text_vectorizer_new(&t->o, &copy, &e);
        size_t reserved = t->mode == MODE_INT ? 2 : 1;
        if (s == NNC_OK && t->n_vocab)
            s = nnc_text_vectorizer_set_vocabulary(copy, (const char *const *)t->vocab + reserved, t->n_vocab - reserved, &e);
        if (s != NNC_OK) {
            nnc_text_vectorizer_free(copy);
            return nnc_fail(m, s, "%s", e.message);
        }
    }
    if (m->text_vec_free) m->text_vec_free(m->text_vec);
    m->text_vec = copy;
    m->text_vec_free = copy ? free_any : NULL;
    return NNC_OK;
}

nnc_text_vectorizer *nnc_model_text_vectorizer(const nnc_model *m) {
    return m ? m->text_vec : NULL;
}
