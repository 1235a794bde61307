/* JSON DOM parser (RFC 8259) and string-buffer writer used by the model and checkpoint
 * formats. The parser never reads past the given length, because headers come straight from
 * untrusted files without a NUL terminator. Out of scope: streaming, comments, extensions,
 * U+0000 inside strings, and numbers outside the double range (rejected, not clamped). */
#include "json.h"
#include "strmap.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

typedef struct {
    const char *s;
    size_t len, pos;
    int depth;
    char *err;
    size_t errlen;
} parser;

static void fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(parser *p, const char *fmt, ...) {
    if (!p->err || !p->errlen) return;
    int n = snprintf(p->err, p->errlen, "byte %zu: ", p->pos);
    if (n < 0 || (size_t)n >= p->errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static nnc_json *new_node(parser *p, nnc_json_type t) {
    nnc_json *j = calloc(1, sizeof *j);
    if (!j) fail(p, "out of memory");
    else j->type = t;
    return j;
}

/* Length of the valid UTF-8 sequence at s (Unicode 15 table 3-7), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        if (c == 0xED) hi = 0x9F;      /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        if (c == 0xF4) hi = 0x8F;      /* above U+10FFFF */
    } else return 0;
    if (avail < n || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return n;
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d;
        if (IS_DIGIT(c)) d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
        else return 0;
        v = v * 16 + d;
    }
    *out = v;
    return 1;
}

static size_t utf8_encode(unsigned cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Called with pos on the opening quote. The closing quote is located first so the output
 * can be allocated once: decoding never makes a string longer than its escaped form. */
static char *parse_string(parser *p) {
    const char *s = p->s;
    size_t start = p->pos + 1, end = start;
    while (end < p->len && s[end] != '"') end += s[end] == '\\' ? 2 : 1;
    if (end >= p->len) { fail(p, "unterminated string"); return NULL; }
    char *out = malloc(end - start + 1);
    if (!out) { fail(p, "out of memory"); return NULL; }
    size_t o = 0, k = start;
    while (k < end) {
        unsigned char c = (unsigned char)s[k];
        p->pos = k;
        if (c < 0x20) { fail(p, "unescaped control character 0x%02x in string", c); goto bad; }
        if (c >= 0x80) {
            size_t n = utf8_seq_len((const unsigned char *)s + k, end - k);
            if (!n) { fail(p, "invalid UTF-8 in string"); goto bad; }
            memcpy(out + o, s + k, n);
            o += n, k += n;
            continue;
        }
        if (c != '\\') { out[o++] = (char)c; k++; continue; }
        char e = s[k + 1]; /* end >= k + 2 because the scan above skipped it */
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            out[o++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            k += 2;
            continue;
        }
        if (e != 'u') { fail(p, "invalid escape '\\%c'", e); goto bad; }
        unsigned cp, lo;
        if (end - k < 6 || !hex4(s + k + 2, &cp)) { fail(p, "invalid \\u escape"); goto bad; }
        k += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) { fail(p, "unpaired low surrogate"); goto bad; }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end - k < 6 || s[k] != '\\' || s[k + 1] != 'u' || !hex4(s + k + 2, &lo) ||
                lo < 0xDC00 || lo > 0xDFFF) {
                fail(p, "high surrogate not followed by a low surrogate");
                goto bad;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            k += 6;
        }
        if (cp == 0) { fail(p, "\\u0000 is not supported in strings"); goto bad; }
        o += utf8_encode(cp, out + o);
    }
    out[o] = '\0';
    p->pos = end + 1;
    return out;
bad:
    free(out);
    return NULL;
}

/* Validates the RFC grammar itself because strtod also accepts hex, "inf", leading '+', etc. */
static nnc_json *parse_number(parser *p) {
    const char *s = p->s;
    size_t i = p->pos, n = p->len, start = p->pos;
    if (s[i] == '-') i++;
    if (i < n && s[i] == '0') i++;
    else if (i < n && IS_DIGIT(s[i])) while (i < n && IS_DIGIT(s[i])) i++;
    else { p->pos = i; fail(p, "expected a digit"); return NULL; }
    if (i < n && s[i] == '.') {
        if (++i >= n || !IS_DIGIT(s[i])) { p->pos = i; fail(p, "expected a digit after '.'"); return NULL; }
        while (i < n && IS_DIGIT(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !IS_DIGIT(s[i])) { p->pos = i; fail(p, "expected a digit in exponent"); return NULL; }
        while (i < n && IS_DIGIT(s[i])) i++;
    }
    char small[64], *buf = small;
    size_t L = i - start;
    if (L >= sizeof small && !(buf = malloc(L + 1))) { fail(p, "out of memory"); return NULL; }
    memcpy(buf, s + start, L);
    buf[L] = '\0';
    double v = strtod(buf, NULL);
    if (buf != small) free(buf);
    if (!isfinite(v)) { fail(p, "number out of range"); return NULL; }
    nnc_json *j = new_node(p, NNC_JSON_NUMBER);
    if (j) j->number = v;
    p->pos = i;
    return j;
}

static nnc_json *parse_value(parser *p);

static int append(parser *p, nnc_json *j, size_t *cap, char *key, nnc_json *v) {
    if (j->count == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        nnc_json **items = realloc(j->items, nc * sizeof *items);
        if (items) j->items = items;
        char **keys = items && j->type == NNC_JSON_OBJECT ? realloc(j->keys, nc * sizeof *keys) : NULL;
        if (keys) j->keys = keys;
        if (!items || (j->type == NNC_JSON_OBJECT && !keys)) { fail(p, "out of memory"); return 0; }
        *cap = nc;
    }
    if (j->keys) j->keys[j->count] = key;
    j->items[j->count++] = v;
    return 1;
}

/* A key given twice in one object is refused, as the reference safetensors reader does: which
 * of the two values counts would otherwise be the reader's guess. Small objects compare pairs;
 * large ones (a header of many tensors) go through a map. */
static int has_duplicate_key(parser *p, const nnc_json *j) {
    if (j->count <= 16) {
        for (size_t a = 1; a < j->count; a++)
            for (size_t b = 0; b < a; b++)
                if (!strcmp(j->keys[a], j->keys[b])) return fail(p, "duplicate key '%.64s'", j->keys[a]), 1;
        return 0;
    }
    nnc_strmap seen = {0};
    int dup = 0;
    for (size_t a = 0; a < j->count && !dup; a++) {
        if (nnc_strmap_get(&seen, j->keys[a])) dup = 1, fail(p, "duplicate key '%.64s'", j->keys[a]);
        else if (nnc_strmap_put(&seen, j->keys[a], 1)) dup = 1, fail(p, "out of memory");
    }
    nnc_strmap_free(&seen);
    return dup;
}

static nnc_json *parse_container(parser *p, int is_obj) {
    char close = is_obj ? '}' : ']';
    if (++p->depth > JSON_MAX_DEPTH) { fail(p, "nesting deeper than %d levels", JSON_MAX_DEPTH); return NULL; }
    nnc_json *j = new_node(p, is_obj ? NNC_JSON_OBJECT : NNC_JSON_ARRAY);
    if (!j) return NULL;
    size_t cap = 0;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) { p->pos++; p->depth--; return j; }
    for (;;) {
        char *key = NULL;
        if (is_obj) {
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"') { fail(p, "expected a string key"); goto bad; }
            if (!(key = parse_string(p))) goto bad;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') { free(key); fail(p, "expected ':'"); goto bad; }
            p->pos++;
        }
        nnc_json *v = parse_value(p);
        if (!v || !append(p, j, &cap, key, v)) { free(key); nnc_json_free(v); goto bad; }
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == close) break;
        if (p->pos >= p->len || p->s[p->pos] != ',') {
            fail(p, "%sexpected ',' or '%c'", p->pos >= p->len ? "unexpected end of input, " : "", close);
            goto bad;
        }
        p->pos++;
    }
    p->pos++;
    p->depth--;
    if (is_obj && has_duplicate_key(p, j)) goto bad;
    return j;
bad:
    nnc_json_free(j);
    return NULL;
}

static nnc_json *parse_literal(parser *p, const char *word, nnc_json_type t, int b) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) { fail(p, "invalid literal"); return NULL; }
    nnc_json *j = new_node(p, t);
    if (j) j->boolean = b;
    p->pos += n;
    return j;
}

static nnc_json *parse_value(parser *p) {
    skip_ws(p);
    if (p->pos >= p->len) { fail(p, "unexpected end of input"); return NULL; }
    unsigned char c = (unsigned char)p->s[p->pos];
    switch (c) {
    case '{': case '[': return parse_container(p, c == '{');
    case 't': return parse_literal(p, "true", NNC_JSON_BOOL, 1);
    case 'f': return parse_literal(p, "false", NNC_JSON_BOOL, 0);
    case 'n': return parse_literal(p, "null", NNC_JSON_NULL, 0);
    case '"': {
        nnc_json *j = new_node(p, NNC_JSON_STRING);
        if (j && !(j->string = parse_string(p))) { free(j); j = NULL; }
        return j;
    }
    default:
        if (c == '-' || IS_DIGIT(c)) return parse_number(p);
        if (c >= 0x20 && c < 0x7F) fail(p, "unexpected character '%c'", c);
        else fail(p, "unexpected byte 0x%02x", c);
        return NULL;
    }
}

nnc_json *nnc_json_parse(const char *text, size_t len, char *err, size_t errlen) {
    parser p = {text, len, 0, 0, err, errlen};
    if (err && errlen) err[0] = '\0';
    if (!text) { fail(&p, "no input"); return NULL; }
    nnc_json *j = parse_value(&p);
    if (!j) return NULL;
    skip_ws(&p);
    if (p.pos != len) { fail(&p, "trailing characters after the JSON value"); nnc_json_free(j); return NULL; }
    return j;
}

void nnc_json_free(nnc_json *j) {
    if (!j) return;
    for (size_t i = 0; i < j->count; i++) {
        nnc_json_free(j->items[i]);
        if (j->keys) free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->string);
    free(j);
}

const nnc_json *nnc_json_get(const nnc_json *obj, const char *key) {
    if (!obj || obj->type != NNC_JSON_OBJECT || !key) return NULL;
    for (size_t i = obj->count; i-- > 0;)
        if (!strcmp(obj->keys[i], key)) return obj->items[i];
    return NULL;
}

const char *nnc_json_get_string(const nnc_json *obj, const char *key) {
    const nnc_json *v = nnc_json_get(obj, key);
    return v && v->type == NNC_JSON_STRING ? v->string : NULL;
}

int nnc_json_get_number(const nnc_json *obj, const char *key, double *out) {
    const nnc_json *v = nnc_json_get(obj, key);
    if (!v || v->type != NNC_JSON_NUMBER) return 0;
    if (out) *out = v->number;
    return 1;
}

/* ---- writer ---- */

static int sb_reserve(nnc_strbuf *sb, size_t extra) {
    if (sb->oom) return 0;
    if (extra > SIZE_MAX - sb->len - 1) { sb->oom = 1; return 0; }
    size_t need = sb->len + extra + 1, cap = sb->cap ? sb->cap : 64;
    if (need <= sb->cap) return 1;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *b = realloc(sb->buf, cap);
    if (!b) { sb->oom = 1; return 0; }
    sb->buf = b;
    sb->cap = cap;
    return 1;
}

static void sb_putn(nnc_strbuf *sb, const char *s, size_t n) {
    if (!sb_reserve(sb, n)) return;
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void nnc_sb_puts(nnc_strbuf *sb, const char *s) { sb_putn(sb, s, strlen(s)); }

void nnc_sb_printf(nnc_strbuf *sb, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0) sb->oom = 1;
    else if (sb_reserve(sb, (size_t)n)) {
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap2);
        sb->len += (size_t)n;
    }
    va_end(ap2);
    va_end(ap);
}

void nnc_sb_json_string(nnc_strbuf *sb, const char *s) {
    static const char named[] = "\"\\\b\f\n\r\t", letter[] = "\"\\bfnrt";
    const char *run = s;
    sb_putn(sb, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sb_putn(sb, run, (size_t)(s - run));
        const char *k = strchr(named, c);
        if (k) {
            char esc[2] = {'\\', letter[k - named]};
            sb_putn(sb, esc, 2);
        } else {
            nnc_sb_printf(sb, "\\u%04x", (unsigned)c);
        }
        run = s + 1;
    }
    sb_putn(sb, run, (size_t)(s - run));
    sb_putn(sb, "\"", 1);
}

void nnc_sb_json_number(nnc_strbuf *sb, double v) {
    if (!isfinite(v)) { nnc_sb_puts(sb, "null"); return; }
    char buf[40];
    if (v == floor(v) && fabs(v) < 1e15) { /* a whole number as one: "epoch":80, not 8e+01 */
        snprintf(buf, sizeof buf, "%.0f", v);
        nnc_sb_puts(sb, buf);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    nnc_sb_puts(sb, buf);
}

void nnc_sb_free(nnc_strbuf *sb) {
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    sb->oom = 0;
}
