/* The words of one spec statement and their readers (src/io/spec_args.c): positional values
 * and key=value pairs, each read by the type its option row gives (src/core/options.h), with
 * messages that name the file, the line, the statement and the word at fault. */
#ifndef NNC_SPEC_ARGS_H
#define NNC_SPEC_ARGS_H
#include <stdbool.h>
#include <stddef.h>
#include "nnc.h"
#include "../core/options.h"

#define SPEC_MAX_WORDS 32
#define SPEC_WORD_MAX 512 /* a 16-boundary piecewise_constant_decay fits */

typedef struct {
    char key[64];   /* "" for a positional value */
    char val[SPEC_WORD_MAX];
    int used;
} spec_word;

typedef struct {
    const char *file;
    int line;
    const char *stmt;       /* the statement's keyword (or what messages call it) */
    spec_word w[SPEC_MAX_WORDS]; /* the words after the keyword */
    int n;
    nnc_model *m;
    char *err;
    size_t errlen;
} spec_ctx;

/* Writes "file:line: message" into the context's error and returns -1. */
int spec_fail(spec_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The i-th positional word / the word of key, or NULL; neither marks it used. */
spec_word *spec_positional(spec_ctx *c, int i);
spec_word *spec_keyed(spec_ctx *c, const char *key);
/* The argument given as positional `pos` (-1: keyword only) or as key=...; marks it used. */
spec_word *spec_arg(spec_ctx *c, int pos, const char *key);

int spec_parse_long(const char *s, long *out);
int spec_parse_double(const char *s, double *out);

/* Typed readers used outside option tables (absent: *out unchanged, 0 returned). */
int spec_int(spec_ctx *c, int pos, const char *key, long lo, long hi, int *out, int required);
int spec_float(spec_ctx *c, int pos, const char *key, double lo, double hi, float *out);
int spec_bool(spec_ctx *c, int pos, const char *key, bool *out);
/* A double in [lo, hi], or None (NAN) when none_ok. */
int spec_double(spec_ctx *c, int pos, const char *key, double lo, double hi, int none_ok, double *out);
/* The word itself (the context's storage); always 0, to chain with the other readers. */
int spec_string(spec_ctx *c, int pos, const char *key, const char **out);

/* Reads every row of an options table (those a spec may give) into the struct at base. */
int spec_read_opts(spec_ctx *c, const nnc_opt_desc *rows, int n, void *base);
/* The keys a statement with these rows accepts, comma separated, then `extra` (may be NULL). */
void spec_keys(const nnc_opt_desc *rows, int n, const char *extra, char *buf, size_t len);
/* After a statement: every word must have been used; `keys` lists what was expected. */
int spec_check_all_used(spec_ctx *c, const char *keys);
/* Splits the arguments of NAME(a,b,key=v,...) (lists [a,b] kept whole) into sub, a context
 * whose messages say `what`. */
int spec_split_call(spec_ctx *c, const char *args, size_t len, const char *what, spec_ctx *sub);

/* Writes a row's value in spec syntax ("glorot_uniform", "[2,2]", "none"), for the docs. */
void spec_format_value(const nnc_opt_desc *row, const void *base, char *buf, size_t len);

/* Edit distance (Damerau–Levenshtein, ignoring case), for "did you mean" hints (99 for words
 * longer than 30). */
int spec_edit_distance(const char *a, const char *b);

/* The one "did you mean" search every message uses: start it with the unknown word, try each
 * candidate; best is the closest within a third of the word's length (NULL: none close). */
typedef struct {
    const char *word, *best;
    int dist;
} spec_near;
void spec_near_start(spec_near *n, const char *word);
void spec_near_try(spec_near *n, const char *candidate);
/* Tries a name in both spellings ("dense", "Dense"), the one styled as the word first, so that
 * a tie suggests the style the user writes. */
void spec_near_try_styled(spec_near *n, const char *snake, const char *camel);
/* Tries each name of a comma-separated list; best then points into buf. */
void spec_near_list(spec_near *n, const char *list, char *buf, size_t len);
/* Fails with "<fmt...> (did you mean 'BEST'? TAIL)", or "(TAIL)" when nothing was near (tail
 * may be NULL: left out). */
int spec_fail_near(spec_ctx *c, const spec_near *n, const char *tail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
