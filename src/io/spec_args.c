/* Readers of a spec statement's words (spec_args.h). Every reader leaves its output alone when
 * the argument is absent, so the defaults filled in before stay. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "spec_args.h"
#include "../core/op.h"

int spec_fail(spec_ctx *c, const char *fmt, ...) {
    size_t len = (size_t)snprintf(c->err, c->errlen, "%s:%d: ", c->file, c->line);
    if (len < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + len, c->errlen - len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int spec_parse_long(const char *s, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno) return -1;
    *out = v;
    return 0;
}

int spec_parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int spec_fail_near(spec_ctx *c, const spec_near *n, const char *tail, const char *fmt, ...) {
    char head[SPEC_WORD_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    if (n->best) return spec_fail(c, "%s (did you mean '%s'?%s%s)", head, n->best, tail ? " " : "", tail ? tail : "");
    return tail ? spec_fail(c, "%s (%s)", head, tail) : spec_fail(c, "%s", head);
}

spec_word *spec_positional(spec_ctx *c, int i) {
    for (int k = 0; k < c->n; k++)
        if (!c->w[k].key[0] && i-- == 0) return &c->w[k];
    return NULL;
}

spec_word *spec_keyed(spec_ctx *c, const char *key) {
    for (int k = 0; k < c->n; k++)
        if (!strcmp(c->w[k].key, key)) return &c->w[k];
    return NULL;
}

spec_word *spec_arg(spec_ctx *c, int pos, const char *key) {
    spec_word *w = spec_keyed(c, key);
    if (!w && pos >= 0) w = spec_positional(c, pos);
    if (w) w->used = 1;
    return w;
}

static int is_none(const char *s) { return !strcmp(s, "None") || !strcmp(s, "none"); }

/* ---- scalar readers ---------------------------------------------------------------------- */

int spec_int(spec_ctx *c, int pos, const char *key, long lo, long hi, int *out, int required) {
    spec_word *w = spec_arg(c, pos, key);
    long v;
    if (!w) return required ? spec_fail(c, "%s: missing %s", c->stmt, key) : 0;
    if (spec_parse_long(w->val, &v) || v < lo || v > hi)
        return spec_fail(c, "%s: bad value '%s' for %s (expected an integer in [%ld, %ld])", c->stmt,
                         w->val, key, lo, hi);
    *out = (int)v;
    return 0;
}

int spec_float(spec_ctx *c, int pos, const char *key, double lo, double hi, float *out) {
    spec_word *w = spec_arg(c, pos, key);
    double v;
    if (!w) return 0;
    if (spec_parse_double(w->val, &v) || v < lo || v > hi)
        return spec_fail(c, "%s: bad value '%s' for %s (expected a number in [%g, %g])", c->stmt,
                         w->val, key, lo, hi);
    *out = (float)v;
    return 0;
}

int spec_bool(spec_ctx *c, int pos, const char *key, bool *out) {
    spec_word *w = spec_arg(c, pos, key);
    if (!w) return 0;
    if (!strcmp(w->val, "true") || !strcmp(w->val, "True")) *out = true;
    else if (!strcmp(w->val, "false") || !strcmp(w->val, "False")) *out = false;
    else return spec_fail(c, "%s: bad value '%s' for %s (expected true or false)", c->stmt, w->val, key);
    return 0;
}

int spec_double(spec_ctx *c, int pos, const char *key, double lo, double hi, int none_ok, double *out) {
    spec_word *w = spec_arg(c, pos, key);
    double v;
    if (!w) return 0;
    if (none_ok && is_none(w->val)) {
        *out = (double)NAN;
        return 0;
    }
    if (spec_parse_double(w->val, &v) || v < lo || v > hi)
        return spec_fail(c, "%s: bad value '%s' for %s (expected a number in [%g, %g]%s)", c->stmt, w->val,
                         key, lo, hi, none_ok ? " or None" : "");
    *out = v;
    return 0;
}

int spec_string(spec_ctx *c, int pos, const char *key, const char **out) {
    spec_word *w = spec_arg(c, pos, key);
    if (w) *out = w->val;
    return 0;
}

static int read_activation(spec_ctx *c, spec_word *w, nnc_activation *out) {
    if (nnc_activation_parse(w->val, out) == NNC_OK) return 0;
    char list[512] = "one of ";
    size_t len = strlen(list);
    spec_near n;
    spec_near_start(&n, w->val);
    for (int i = 0; i < NNC_ACT_COUNT && len < sizeof list; i++) {
        spec_near_try(&n, nnc_activation_name((nnc_activation)i));
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                nnc_activation_name((nnc_activation)i));
    }
    return spec_fail_near(c, &n, list, "%s: unknown activation '%s'", c->stmt, w->val);
}

static int read_initializer(spec_ctx *c, spec_word *w, const char *key, nnc_initializer *out) {
    nnc_init_kind k;
    if (nnc_init_parse(w->val, &k) == NNC_OK) {
        *out = nnc_initializer_default(k);
        return 0;
    }
    char list[512] = "one of ";
    size_t len = strlen(list);
    spec_near n;
    spec_near_start(&n, w->val);
    for (int i = 0; i < NNC_INIT_COUNT && len < sizeof list; i++) {
        spec_near_try(&n, nnc_init_name((nnc_init_kind)i));
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                nnc_init_name((nnc_init_kind)i));
    }
    return spec_fail_near(c, &n, list, "%s: unknown initializer '%s' for %s", c->stmt, w->val, key);
}

/* l1(x), l2(x) or l1_l2(l1=x,l2=y) (also positional: l1_l2(x,y)), as Keras's names. */
static int read_regularizer(spec_ctx *c, spec_word *w, const char *key, nnc_regularizer *out) {
    char name[16], args[SPEC_WORD_MAX];
    const char *open = strchr(w->val, '(');
    size_t len = strlen(w->val);
    if (!open || (size_t)(open - w->val) >= sizeof name || w->val[len - 1] != ')')
        return spec_fail(c, "%s: bad value '%s' for %s (expected l1(x), l2(x) or l1_l2(l1=x,l2=y))", c->stmt,
                         w->val, key);
    snprintf(name, sizeof name, "%.*s", (int)(open - w->val), w->val);
    snprintf(args, sizeof args, "%.*s", (int)(len - (size_t)(open - w->val) - 2), open + 1);
    int is1 = !strcmp(name, "l1"), is2 = !strcmp(name, "l2"), both = !strcmp(name, "l1_l2");
    if (!is1 && !is2 && !both)
        return spec_fail(c, "%s: unknown regularizer '%s' for %s (l1, l2 or l1_l2)", c->stmt, name, key);
    out->l1 = out->l2 = 0.0f;
    int pos = 0;
    for (char *save = NULL, *tok = strtok_r(args, ",", &save); tok; tok = strtok_r(NULL, ",", &save), pos++) {
        char *eq = strchr(tok, '=');
        const char *which = eq ? (*eq = '\0', tok) : (both ? (pos == 0 ? "l1" : "l2") : name);
        double v;
        if (spec_parse_double(eq ? eq + 1 : tok, &v) || v < 0 || (strcmp(which, "l1") && strcmp(which, "l2")) ||
            (!both && strcmp(which, name)))
            return spec_fail(c, "%s: bad value '%s' for %s", c->stmt, w->val, key);
        if (!strcmp(which, "l1")) out->l1 = (float)v;
        else out->l2 = (float)v;
    }
    if (pos == 0 && !both) return spec_fail(c, "%s: %s needs a factor, e.g. %s(0.01)", c->stmt, name, name);
    if (both && pos == 0) out->l1 = out->l2 = 0.01f; /* Keras's l1_l2() defaults */
    return 0;
}

/* A bracketed list's items into buf's tokens: the text between [ and ], or -1. */
static int list_body(const char *s, char *buf, size_t n) {
    size_t len = strlen(s);
    if (len < 3 || s[0] != '[' || s[len - 1] != ']') return -1;
    snprintf(buf, n, "%.*s", (int)(len - 2), s + 1);
    return 0;
}

/* ---- rows of an options table ------------------------------------------------------------ */

/* A tuple of row->count integers: consecutive positional integers from pos (one value means
 * every axis) or a positional [a,b] (Keras's tuple), or key=INT or key=[a,b]. */
static int read_ints(spec_ctx *c, const nnc_opt_desc *row, int *out, int *given) {
    const int n = row->count;
    const long lo = (long)row->lo, hi = (long)row->hi;
    spec_word *w = spec_keyed(c, row->key);
    long v;
    *given = 0;
    if (!w && row->pos >= 0 && (w = spec_positional(c, row->pos)) && (w->used || w->val[0] != '[')) w = NULL;
    if (w && (row->flags & NNC_OPTF_NONE_IS_NEG) && is_none(w->val)) {
        w->used = 1;
        for (int k = 0; k < n; k++) out[k] = -1;
        *given = 1;
        return 0;
    }
    if (w) {
        w->used = 1;
        char buf[SPEC_WORD_MAX];
        int k = 0;
        if (!list_body(w->val, buf, sizeof buf)) {
            for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (k == n || spec_parse_long(tok, &v) || v < lo || v > hi)
                    return spec_fail(c, "%s: bad value '%s' for %s (expected %d integers >= %ld)", c->stmt, w->val,
                                     row->key, n, lo);
                out[k++] = (int)v;
            }
            if (k != n)
                return spec_fail(c, "%s: bad value '%s' for %s (expected %d integers)", c->stmt, w->val, row->key, n);
        } else {
            if (spec_parse_long(w->val, &v) || v < lo || v > hi)
                return spec_fail(c, "%s: bad value '%s' for %s (expected an integer >= %ld or a list)", c->stmt,
                                 w->val, row->key, lo);
            for (k = 0; k < n; k++) out[k] = (int)v;
        }
        *given = 1;
        return 0;
    }
    int k = 0;
    for (spec_word *p; k < n && row->pos >= 0 && (p = spec_positional(c, row->pos + k)) && !p->used; k++) {
        if (spec_parse_long(p->val, &v) || v < lo || v > hi)
            return spec_fail(c, "%s: bad value '%s' for %s (expected an integer >= %ld)", c->stmt, p->val, row->key, lo);
        p->used = 1;
        out[k] = (int)v;
    }
    if (k == 0) return 0;
    if (k == 1)
        for (int i = 1; i < n; i++) out[i] = out[0];
    else if (k != n)
        return spec_fail(c, "%s: %s takes 1 or %d integers, got %d", c->stmt, row->key, n, k);
    *given = 1;
    return 0;
}

/* A shape: key=[a,b,c], or (REST) the positional values from pos on. */
static int read_shape(spec_ctx *c, const nnc_opt_desc *row, nnc_shape *s, int *given) {
    const long lo = (long)row->lo, hi = (long)row->hi;
    spec_word *w = spec_keyed(c, row->key);
    int rank = 0;
    long v;
    *given = 0;
    if (w) {
        char buf[SPEC_WORD_MAX];
        w->used = 1;
        if ((row->flags & NNC_OPTF_EMPTY_IS_NONE) && is_none(w->val)) {
            s->rank = 0;
            *given = 1;
            return 0;
        }
        if ((row->flags & NNC_OPTF_SCALAR) && !spec_parse_long(w->val, &v) && v >= lo && v <= hi) {
            *s = (nnc_shape){1, {(int)v}};
            *given = 1;
            return 0;
        }
        if (list_body(w->val, buf, sizeof buf))
            return spec_fail(c, "%s: bad value '%s' for %s (expected a list like [%s])", c->stmt, w->val,
                             row->key, row->flags & NNC_OPTF_SCALAR ? "1,2] or a number" : "28,28,1]");
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (rank == 0 && (row->flags & NNC_OPTF_NONE_FIRST) && is_none(tok)) { /* any length */
                s->dim[rank++] = 0;
                continue;
            }
            if (rank == NNC_MAX_RANK || spec_parse_long(tok, &v) || v < lo || v > hi)
                return spec_fail(c, "%s: bad value '%s' for %s", c->stmt, w->val, row->key);
            s->dim[rank++] = (int)v;
        }
    } else {
        for (spec_word *p; row->pos >= 0 && (p = spec_positional(c, row->pos + rank)) && !p->used; rank++) {
            p->used = 1;
            if (rank == 0 && (row->flags & NNC_OPTF_NONE_FIRST) && is_none(p->val)) { /* any length */
                s->dim[rank] = 0;
                continue;
            }
            if ((row->flags & NNC_OPTF_NONE_FIRST) && is_none(p->val))
                return spec_fail(c, "%s: None is the first axis only (a time axis of any length: 'input None 8')",
                                 c->stmt);
            if (rank == NNC_MAX_RANK || spec_parse_long(p->val, &v) || v < lo || v > hi)
                return spec_fail(c, "%s: bad dimension '%s' (expected up to %d integers in [%ld, %ld])", c->stmt,
                                 p->val, NNC_MAX_RANK, lo, hi);
            s->dim[rank] = (int)v;
        }
    }
    if (rank) {
        s->rank = rank;
        *given = 1;
    }
    return 0;
}

/* ZeroPadding2D's padding: 1 value (every side), 2 (rows, columns) or 4 (top, bottom, left,
 * right), positional or as key=N / key=[a,b] / key=[t,b,l,r]. */
static int read_pad2d(spec_ctx *c, const nnc_opt_desc *row, int *p, int *given) {
    int v[4], n = 0;
    long x;
    spec_word *w = spec_keyed(c, row->key);
    char buf[SPEC_WORD_MAX];
    *given = 0;
    if (w) {
        w->used = 1;
        if (list_body(w->val, buf, sizeof buf)) snprintf(buf, sizeof buf, "%s", w->val);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (n == 4 || spec_parse_long(tok, &x) || x < (long)row->lo || x > (long)row->hi)
                return spec_fail(c, "%s: bad padding '%s'", c->stmt, w->val);
            v[n++] = (int)x;
        }
    } else {
        for (spec_word *q; n < 4 && row->pos >= 0 && (q = spec_positional(c, row->pos + n)); n++) {
            if (spec_parse_long(q->val, &x) || x < (long)row->lo || x > (long)row->hi)
                return spec_fail(c, "%s: bad padding '%s'", c->stmt, q->val);
            q->used = 1;
            v[n] = (int)x;
        }
    }
    if (n == 0) return 0;
    if (n == 3) return spec_fail(c, "%s: give 1, 2 or 4 integers", c->stmt);
    if (n == 1) p[0] = p[1] = p[2] = p[3] = v[0];
    else if (n == 2) p[0] = p[1] = v[0], p[2] = p[3] = v[1];
    else memcpy(p, v, sizeof v);
    *given = 1;
    return 0;
}

/* A list [a,b,...] of at most max numbers into out; *n gets the count. */
static int read_numbers(spec_ctx *c, spec_word *w, const char *key, int max, double *out, int *n) {
    char buf[SPEC_WORD_MAX];
    *n = 0;
    if (list_body(w->val, buf, sizeof buf))
        return spec_fail(c, "%s: bad value '%s' for %s (expected a list like [100,200])", c->stmt, w->val, key);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == max) return spec_fail(c, "%s: %s holds more than %d numbers", c->stmt, key, max);
        if (spec_parse_double(tok, &out[*n]))
            return spec_fail(c, "%s: bad value '%s' in %s (expected numbers)", c->stmt, tok, key);
        (*n)++;
    }
    return 0;
}

/* A CONST row given in the spec must say the one supported value (strings without quotes). */
static int read_const(spec_ctx *c, const nnc_opt_desc *row, spec_word *w) {
    char want[64];
    size_t len = strlen(row->literal);
    if (row->literal[0] == '"' && len >= 2) snprintf(want, sizeof want, "%.*s", (int)(len - 2), row->literal + 1);
    else snprintf(want, sizeof want, "%s", row->literal);
    if (strcmp(w->val, want))
        return spec_fail(c, "%s: bad value '%s' for %s (only %s is supported)", c->stmt, w->val, row->key, want);
    return 0;
}

/* The key of the list whose length a FLOATS_AFTER row follows. */
static const char *list_before(const nnc_opt_desc *rows, int n, const nnc_opt_desc *row) {
    for (int i = 0; i < n; i++)
        if (&rows[i] != row && rows[i].type == NNC_OPT_INT64S && rows[i].aux == row->aux) return rows[i].key;
    return "the list before it";
}

/* An INT row's word: an integer in its range, or None where its flags allow it (0 or -1). */
static int read_int(spec_ctx *c, const nnc_opt_desc *row, const spec_word *w, int *at) {
    long v;
    if ((row->flags & (NNC_OPTF_ZERO_IS_NONE | NNC_OPTF_NONE_IS_NEG)) && is_none(w->val)) {
        *at = row->flags & NNC_OPTF_NONE_IS_NEG ? -1 : 0;
        return 1;
    }
    if (spec_parse_long(w->val, &v) || v < (long)row->lo || v > (long)row->hi)
        return spec_fail(c, "%s: bad value '%s' for %s (expected an integer in [%ld, %ld])", c->stmt, w->val,
                         row->key, (long)row->lo, (long)row->hi);
    *at = (int)v;
    return 1;
}

static int read_row(spec_ctx *c, const nnc_opt_desc *rows, int n_rows, const nnc_opt_desc *row, void *base) {
    char *at = (char *)base + row->offset;
    int given = 0;
    spec_word *w = NULL;
    switch (row->type) {
    case NNC_OPT_INTS: return read_ints(c, row, (int *)at, &given) ? -1 : given;
    case NNC_OPT_SHAPE: return read_shape(c, row, (nnc_shape *)at, &given) ? -1 : given;
    case NNC_OPT_PAD2D: return read_pad2d(c, row, (int *)at, &given) ? -1 : given;
    default: break;
    }
    /* CONST rows (written without NNC_OPT_ROW, so pos is 0) are keyword only */
    if (!(w = spec_arg(c, row->type == NNC_OPT_CONST ? -1 : row->pos, row->key))) return 0;
    switch (row->type) {
    case NNC_OPT_INT: return read_int(c, row, w, (int *)at);
    case NNC_OPT_FLOAT:
    case NNC_OPT_FLOAT_OR_NONE:
    case NNC_OPT_OPTIONAL_FLOAT: {
        double v = 0.0;
        if (row->type != NNC_OPT_FLOAT && is_none(w->val)) {
            if (row->type == NNC_OPT_OPTIONAL_FLOAT) *(bool *)((char *)base + row->aux) = false;
            else *(float *)at = 0.0f;
            return 1;
        }
        if (spec_parse_double(w->val, &v) || v < row->lo || v > row->hi)
            return spec_fail(c, "%s: bad value '%s' for %s (expected a number in [%g, %g])", c->stmt, w->val,
                             row->key, row->lo, row->hi);
        *(float *)at = (float)v;
        if (row->type == NNC_OPT_OPTIONAL_FLOAT) *(bool *)((char *)base + row->aux) = true;
        return 1;
    }
    case NNC_OPT_BOOL:
        if (!strcmp(w->val, "true") || !strcmp(w->val, "True")) *(bool *)at = true;
        else if (!strcmp(w->val, "false") || !strcmp(w->val, "False")) *(bool *)at = false;
        else return spec_fail(c, "%s: bad value '%s' for %s (expected true or false)", c->stmt, w->val, row->key);
        return 1;
    case NNC_OPT_ACTIVATION: return read_activation(c, w, (nnc_activation *)at) ? -1 : 1;
    case NNC_OPT_INITIALIZER: return read_initializer(c, w, row->key, (nnc_initializer *)at) ? -1 : 1;
    case NNC_OPT_REGULARIZER: return read_regularizer(c, w, row->key, (nnc_regularizer *)at) ? -1 : 1;
    case NNC_OPT_PADDING: {
        const int causal = (row->flags & NNC_OPTF_CAUSAL) && !strcmp(w->val, "causal");
        if (strcmp(w->val, "same") && strcmp(w->val, "valid") && !causal)
            return spec_fail(c, "%s: bad value '%s' for %s (expected valid%s or same)", c->stmt, w->val, row->key,
                             row->flags & NNC_OPTF_CAUSAL ? ", causal" : "");
        *(bool *)at = !strcmp(w->val, "same");
        if (row->flags & NNC_OPTF_CAUSAL) *(bool *)((char *)base + row->aux) = causal != 0;
        return 1;
    }
    case NNC_OPT_CHOICE: {
        int k = 0;
        const size_t len = strlen(w->val);
        for (const char *p = row->literal; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL, k++)
            if ((strcspn(p, "|") == len && !strncmp(p, w->val, len)) ||
                (is_none(w->val) && strcspn(p, "|") == 4 && !strncmp(p, "None", 4))) {
                *(int *)at = k;
                return 1;
            }
        return spec_fail(c, "%s: bad value '%s' for %s (expected one of %s)", c->stmt, w->val, row->key, row->literal);
    }
    case NNC_OPT_INT64S: {
        double v[64];
        int n = 0;
        if (read_numbers(c, w, row->key, row->count < 64 ? row->count : 64, v, &n)) return -1;
        for (int i = 0; i < n; i++) {
            if (v[i] != floor(v[i]) || v[i] < row->lo || v[i] > row->hi)
                return spec_fail(c, "%s: %s must be integers in [%g, %g], not %g", c->stmt, row->key, row->lo,
                                 row->hi, v[i]);
            ((int64_t *)at)[i] = (int64_t)v[i];
        }
        *(int *)((char *)base + row->aux) = n;
        return 1;
    }
    case NNC_OPT_FLOATS_AFTER: {
        double v[65];
        int n = 0, before = *(int *)((char *)base + row->aux);
        if (read_numbers(c, w, row->key, 65, v, &n)) return -1;
        if (n != before + 1) {
            const char *other = list_before(rows, n_rows, row);
            return spec_fail(c, "%s: %s needs one number more than %s (%d %s, %d %s)", c->stmt, row->key, other,
                             before, other, n, row->key);
        }
        for (int i = 0; i < n; i++) {
            if (v[i] < row->lo || v[i] > row->hi)
                return spec_fail(c, "%s: bad value %g in %s (expected numbers in [%g, %g])", c->stmt, v[i],
                                 row->key, row->lo, row->hi);
            ((float *)at)[i] = (float)v[i];
        }
        return 1;
    }
    case NNC_OPT_CONST: return read_const(c, row, w) ? -1 : 1;
    default: return 1;
    }
}

int spec_read_opts(spec_ctx *c, const nnc_opt_desc *rows, int n, void *base) {
    for (int i = 0; i < n; i++) {
        const nnc_opt_desc *row = &rows[i];
        if ((row->flags & NNC_OPTF_CONFIG_ONLY) || row->type == NNC_OPT_FIXED) continue;
        int got = read_row(c, rows, n, row, base);
        if (got < 0) return -1;
        if (!got && (row->flags & NNC_OPTF_REQUIRED)) {
            if (row->example) return spec_fail(c, "%s: missing %s (e.g. '%s')", c->stmt, row->key, row->example);
            return spec_fail(c, "%s: missing %s", c->stmt, row->key);
        }
    }
    return 0;
}

void spec_keys(const nnc_opt_desc *rows, int n, const char *extra, char *buf, size_t len) {
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && at < len; i++) {
        if ((rows[i].flags & NNC_OPTF_CONFIG_ONLY) || rows[i].type == NNC_OPT_FIXED) continue;
        at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "", rows[i].key);
    }
    if (extra && at < len) at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "", extra);
    if (!at) snprintf(buf, len, "no keys");
}

int spec_check_all_used(spec_ctx *c, const char *keys) {
    for (int k = 0; k < c->n; k++)
        if (!c->w[k].used) {
            if (c->w[k].key[0]) {
                char buf[512];
                spec_near n;
                spec_near_start(&n, c->w[k].key);
                if (strcmp(keys, "no keys")) spec_near_list(&n, keys, buf, sizeof buf);
                if (n.best)
                    return spec_fail(c, "%s: unknown key '%s' (did you mean '%s'? keys: %s)", c->stmt, c->w[k].key,
                                     n.best, keys);
                return spec_fail(c, "%s: unknown key '%s' (expected %s)", c->stmt, c->w[k].key, keys);
            }
            return spec_fail(c, "%s: unexpected value '%s'", c->stmt, c->w[k].val);
        }
    return 0;
}

int spec_split_call(spec_ctx *c, const char *args, size_t len, const char *what, spec_ctx *sub) {
    memset(sub, 0, sizeof *sub);
    sub->file = c->file;
    sub->line = c->line;
    sub->stmt = what;
    sub->m = c->m;
    sub->err = c->err;
    sub->errlen = c->errlen;
    const char *p = args, *end = args + len;
    while (p < end) {
        const char *q = p;
        int depth = 0;
        while (q < end && (depth > 0 || *q != ',')) {
            depth += (*q == '[' || *q == '(') - (*q == ']' || *q == ')');
            q++;
        }
        if (q == p) return spec_fail(sub, "%s: an empty argument", what);
        if (sub->n == SPEC_MAX_WORDS) return spec_fail(sub, "%s: more than %d arguments", what, SPEC_MAX_WORDS);
        spec_word *w = &sub->w[sub->n++];
        memset(w, 0, sizeof *w);
        const char *eq = memchr(p, '=', (size_t)(q - p)), *br = memchr(p, '[', (size_t)(q - p));
        if (eq && (!br || eq < br)) {
            if (eq == p || (size_t)(eq - p) >= sizeof w->key || eq + 1 == q)
                return spec_fail(sub, "%s: bad argument '%.*s'", what, (int)(q - p), p);
            snprintf(w->key, sizeof w->key, "%.*s", (int)(eq - p), p);
            snprintf(w->val, sizeof w->val, "%.*s", (int)(q - eq - 1), eq + 1);
            for (int i = 0; i + 1 < sub->n; i++)
                if (!strcmp(sub->w[i].key, w->key)) return spec_fail(sub, "%s: %s given twice", what, w->key);
        } else {
            snprintf(w->val, sizeof w->val, "%.*s", (int)(q - p), p);
        }
        p = q < end ? q + 1 : q;
        if (q < end && p == end) return spec_fail(sub, "%s: an empty argument", what);
    }
    return 0;
}

void spec_format_value(const nnc_opt_desc *row, const void *base, char *buf, size_t len) {
    const char *at = (const char *)base + row->offset;
    buf[0] = '\0';
    switch (row->type) {
    case NNC_OPT_INT: {
        int v = *(const int *)at;
        if ((v == 0 && (row->flags & NNC_OPTF_ZERO_IS_NONE)) || (v == -1 && (row->flags & NNC_OPTF_NONE_IS_NEG)))
            snprintf(buf, len, "None");
        else snprintf(buf, len, "%d", v);
        break;
    }
    case NNC_OPT_FLOAT: snprintf(buf, len, "%g", (double)*(const float *)at); break;
    case NNC_OPT_FLOAT_OR_NONE: {
        float v = *(const float *)at;
        if (v == 0.0f) snprintf(buf, len, "None");
        else snprintf(buf, len, "%g", (double)v);
        break;
    }
    case NNC_OPT_OPTIONAL_FLOAT:
        if (*(const bool *)((const char *)base + row->aux)) snprintf(buf, len, "%g", (double)*(const float *)at);
        else snprintf(buf, len, "None");
        break;
    case NNC_OPT_BOOL: snprintf(buf, len, "%s", *(const bool *)at ? "true" : "false"); break;
    case NNC_OPT_ACTIVATION: snprintf(buf, len, "%s", nnc_activation_name(*(const nnc_activation *)at)); break;
    case NNC_OPT_INITIALIZER: snprintf(buf, len, "%s", nnc_init_name(((const nnc_initializer *)at)->kind)); break;
    case NNC_OPT_REGULARIZER: {
        const nnc_regularizer *r = (const nnc_regularizer *)at;
        if (r->l1 == 0.0f && r->l2 == 0.0f) snprintf(buf, len, "None");
        else snprintf(buf, len, "l1_l2(%g,%g)", (double)r->l1, (double)r->l2);
        break;
    }
    case NNC_OPT_PADDING:
        if ((row->flags & NNC_OPTF_CAUSAL) && *(const bool *)((const char *)base + row->aux)) snprintf(buf, len, "causal");
        else snprintf(buf, len, "%s", *(const bool *)at ? "same" : "valid");
        break;
    case NNC_OPT_CHOICE: {
        const char *names = row->literal;
        for (int k = *(const int *)at; k > 0 && strchr(names, '|'); k--) names = strchr(names, '|') + 1;
        snprintf(buf, len, "%.*s", (int)strcspn(names, "|"), names);
        break;
    }
    case NNC_OPT_INTS: {
        const int *v = (const int *)at;
        int none = 1;
        for (int i = 0; i < row->count; i++) none &= v[i] == -1;
        if (none && (row->flags & NNC_OPTF_NONE_IS_NEG)) {
            snprintf(buf, len, "None");
            break;
        }
        size_t n = (size_t)snprintf(buf, len, "[");
        for (int i = 0; i < row->count && n < len; i++) n += (size_t)snprintf(buf + n, len - n, "%s%d", i ? "," : "", v[i]);
        if (n < len) snprintf(buf + n, len - n, "]");
        int zero = 1;
        for (int i = 0; i < row->count; i++) zero &= v[i] == 0;
        if (zero && (row->flags & NNC_OPTF_ZERO_IS_AUX)) snprintf(buf, len, "None");
        break;
    }
    case NNC_OPT_PAD2D: {
        const int *v = (const int *)at;
        snprintf(buf, len, "[%d,%d,%d,%d]", v[0], v[1], v[2], v[3]);
        break;
    }
    case NNC_OPT_SHAPE: { /* nothing for no values, unless they mean None */
        const nnc_shape *s = (const nnc_shape *)at;
        if (s->rank == 0 && (row->flags & NNC_OPTF_EMPTY_IS_NONE)) snprintf(buf, len, "None");
        else if (s->rank == 1 && (row->flags & NNC_OPTF_SCALAR)) snprintf(buf, len, "%d", s->dim[0]);
        else if (s->rank > 0) {
            size_t n = (size_t)snprintf(buf, len, "[");
            for (int i = 0; i < s->rank && n < len; i++)
                n += s->dim[i] == 0 && (row->flags & NNC_OPTF_NONE_FIRST)
                         ? (size_t)snprintf(buf + n, len - n, "%sNone", i ? "," : "")
                         : (size_t)snprintf(buf + n, len - n, "%s%d", i ? "," : "", s->dim[i]);
            if (n < len) snprintf(buf + n, len - n, "]");
        }
        break;
    }
    case NNC_OPT_CONST: {
        size_t l = strlen(row->literal);
        if (row->literal[0] == '"' && l >= 2) snprintf(buf, len, "%.*s", (int)(l - 2), row->literal + 1);
        else snprintf(buf, len, "%s", row->literal);
        break;
    }
    default: break;
    }
}

/* Damerau–Levenshtein (optimal string alignment) distance, case-insensitive so that `Relu`
 * or `ADAM` find their spelling; 99 for words longer than 30. */
int spec_edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b), d[32][32];
    if (la > 30 || lb > 30) return 99;
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int ai = tolower((unsigned char)a[i - 1]), bj = tolower((unsigned char)b[j - 1]);
            int best = d[i - 1][j - 1] + (ai != bj);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ai == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == bj &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

void spec_near_start(spec_near *n, const char *word) {
    /* a third of the word's letters may be wrong (1 to 3): 'dens' finds dense, 'xyz' nothing */
    int len = (int)strlen(word), limit = len / 3 < 1 ? 1 : len / 3 > 3 ? 3 : len / 3;
    n->word = word;
    n->best = NULL;
    n->dist = limit + 1;
}

void spec_near_try(spec_near *n, const char *candidate) {
    if (!candidate) return;
    int d = spec_edit_distance(n->word, candidate);
    if (d < n->dist && d < (int)strlen(candidate)) n->dist = d, n->best = candidate;
}

void spec_near_try_styled(spec_near *n, const char *snake, const char *camel) {
    int camel_first = isupper((unsigned char)n->word[0]);
    spec_near_try(n, camel_first ? camel : snake);
    spec_near_try(n, camel_first ? snake : camel);
}

void spec_near_list(spec_near *n, const char *list, char *buf, size_t len) {
    snprintf(buf, len, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
        spec_near_try(n, tok);
}
