/* Python's formatting of floats and of str.format fields, as far as Keras's callbacks use it
 * (pyformat.h). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pyformat.h"

#define FIELD_MAX 512 /* one formatted filepath field */

int nnc_logs_find(const nnc_logs *l, const char *key, double *v) {
    for (int i = 0; l && i < l->count; i++)
        if (!strcmp(l->names[i], key)) {
            *v = l->values[i];
            return 1;
        }
    return 0;
}

void nnc_logs_keys(const nnc_logs *l, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->count && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? "," : "", l->names[i]);
}

void nnc_format_pyfloat(double v, char *buf, size_t n) {
    if (isnan(v)) {
        snprintf(buf, n, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, n, "%s", v < 0 ? "-inf" : "inf");
        return;
    }
    /* The shortest digits that read back as v, then Python's layout: fixed for exponents in
     * [-4, 16), else scientific with a two-digit exponent at least. */
    char e[48];
    for (int p = 0; p <= 16; p++) {
        snprintf(e, sizeof e, "%.*e", p, v);
        if (strtod(e, NULL) == v) break;
    }
    const char *s = e;
    char out[64], digits[24];
    size_t len = 0;
    int nd = 0;
    if (*s == '-') {
        out[len++] = '-';
        s++;
    }
    for (; *s && *s != 'e' && nd < 20; s++)
        if (*s != '.') digits[nd++] = *s;
    int exp = *s == 'e' ? atoi(s + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            out[len++] = '0';
            out[len++] = '.';
            for (int i = 0; i < -exp - 1; i++) out[len++] = '0';
            for (int i = 0; i < nd; i++) out[len++] = digits[i];
        } else {
            for (int i = 0; i <= exp; i++) out[len++] = i < nd ? digits[i] : '0';
            out[len++] = '.';
            if (nd > exp + 1)
                for (int i = exp + 1; i < nd; i++) out[len++] = digits[i];
            else
                out[len++] = '0';
        }
        out[len] = '\0';
    } else {
        out[len++] = digits[0];
        if (nd > 1) {
            out[len++] = '.';
            for (int i = 1; i < nd; i++) out[len++] = digits[i];
        }
        snprintf(out + len, sizeof out - len, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
    snprintf(buf, n, "%s", out);
}

/* ---- ModelCheckpoint's filepath: Python's str.format -------------------------------------- */

typedef struct {
    char fill, align, sign, type;
    int zero, width, precision; /* precision -1: none */
} fmt_spec;

static int parse_spec(const char *s, size_t len, fmt_spec *f) {
    size_t i = 0;
    memset(f, 0, sizeof *f);
    f->fill = ' ';
    f->sign = '-';
    f->precision = -1;
    if (len >= 2 && strchr("<>=^", s[1])) {
        f->fill = s[0];
        f->align = s[1];
        i = 2;
    } else if (len >= 1 && strchr("<>=^", s[0])) {
        f->align = s[0];
        i = 1;
    }
    if (i < len && strchr("+- ", s[i])) f->sign = s[i++];
    if (i < len && s[i] == '0') {
        f->zero = 1;
        i++;
    }
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        f->width = f->width * 10 + (s[i++] - '0');
        if (f->width > 256) return -1;
    }
    if (i < len && s[i] == '.') {
        if (++i == len || s[i] < '0' || s[i] > '9') return -1;
        f->precision = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            f->precision = f->precision * 10 + (s[i++] - '0');
            if (f->precision > 64) return -1;
        }
    }
    if (i < len && strchr("dfFeEgG%", s[i])) f->type = s[i++];
    return i == len ? 0 : -1;
}

/* One field's text, padded as Python pads. value_is_int: the epoch. */
static int format_field(const fmt_spec *f, int is_int, int iv, double dv, char *out, size_t n) {
    char body[FIELD_MAX], flags[3] = {0};
    if (f->sign != '-') flags[0] = f->sign;
    int prec = f->precision < 0 ? 6 : f->precision;
    if (is_int && (f->type == 0 || f->type == 'd')) {
        if (f->precision >= 0) return -1; /* Python: no precision for integers */
        snprintf(body, sizeof body, f->sign == '-' ? "%d" : f->sign == '+' ? "%+d" : "% d", iv);
    } else {
        double v = is_int ? (double)iv : dv;
        char cf[16];
        switch (f->type) {
        case 'd':
            return -1; /* Python: 'd' is for integers */
        case 0:
            if (f->precision < 0) {
                char r[64];
                nnc_format_pyfloat(v, r, sizeof r);
                snprintf(body, sizeof body, "%s%s", f->sign != '-' && !signbit(v) ? flags : "", r);
                goto pad;
            }
            snprintf(cf, sizeof cf, "%%%s.*g", flags);
            break;
        case '%':
            v *= 100.0;
            snprintf(cf, sizeof cf, "%%%s.*f%%%%", flags);
            break;
        default:
            snprintf(cf, sizeof cf, "%%%s.*%c", flags, f->type);
            break;
        }
        snprintf(body, sizeof body, cf, prec, v);
    }
pad:;
    size_t bl = strlen(body), w = (size_t)f->width;
    char align = f->align, fill = f->fill;
    if (!align) {
        align = f->zero ? '=' : '>'; /* numbers align right; '0' pads after the sign */
        if (f->zero) fill = '0';
    }
    if (bl >= w) {
        if (bl >= n) return -1;
        memcpy(out, body, bl + 1);
        return 0;
    }
    if (w >= n) return -1;
    size_t padn = w - bl, left = 0, len = 0;
    if (align == '<') left = 0;
    else if (align == '^') left = padn / 2;
    else left = padn;
    if (align == '=' && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) {
        out[len++] = body[0];
        memmove(body, body + 1, bl--);
    }
    for (size_t i = 0; i < left; i++) out[len++] = fill;
    memcpy(out + len, body, bl);
    len += bl;
    for (size_t i = left; i < padn; i++) out[len++] = fill;
    out[len] = '\0';
    return 0;
}

int nnc_format_filepath(const char *fmt, int epoch, const nnc_logs *logs, char *out, size_t n,
                        char *msg, size_t msglen) {
    size_t len = 0;
    for (const char *s = fmt; *s;) {
        char field[FIELD_MAX];
        const char *text = field;
        size_t tl;
        if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
            field[0] = s[0];
            field[1] = '\0';
            s += 2;
        } else if (*s == '}') {
            snprintf(msg, msglen, "single '}' in filepath '%s' (write '}}' for a brace)", fmt);
            return -1;
        } else if (*s == '{') {
            const char *close = strchr(s, '}'), *colon = strchr(s, ':');
            const char *open = strchr(s + 1, '{');
            if (!close || (open && open < close)) {
                snprintf(msg, msglen, "unmatched '{' in filepath '%s'", fmt);
                return -1;
            }
            const char *name_end = colon && colon < close ? colon : close;
            char name[64];
            size_t nl = (size_t)(name_end - s - 1);
            if (nl == 0 || nl >= sizeof name || memchr(s + 1, '!', nl) || memchr(s + 1, '[', nl)) {
                snprintf(msg, msglen, "bad field '%.*s' in filepath '%s' (expected {epoch} or a log key, "
                         "e.g. {val_loss:.2f})", (int)(close - s + 1), s, fmt);
                return -1;
            }
            memcpy(name, s + 1, nl);
            name[nl] = '\0';
            fmt_spec fs;
            const char *spec = name_end == colon ? colon + 1 : close;
            if (parse_spec(spec, (size_t)(close - spec), &fs)) {
                snprintf(msg, msglen, "bad format spec '%.*s' in filepath '%s'", (int)(close - spec), spec, fmt);
                return -1;
            }
            int is_int = !strcmp(name, "epoch");
            double v = 0.0;
            if (logs && !is_int && !nnc_logs_find(logs, name, &v)) {
                char keys[512];
                nnc_logs_keys(logs, keys, sizeof keys);
                snprintf(msg, msglen, "filepath '%s' names '%s', which is not in the logs (epoch,%s)",
                         fmt, name, keys);
                return -1;
            }
            if (format_field(&fs, is_int, epoch, v, field, sizeof field)) {
                snprintf(msg, msglen, "format spec '%.*s' does not suit %s in filepath '%s'",
                         (int)(close - spec), spec, name, fmt);
                return -1;
            }
            s = close + 1;
        } else {
            const char *next = s + strcspn(s, "{}");
            tl = (size_t)(next - s);
            if (len + tl >= n) goto too_long;
            memcpy(out + len, s, tl);
            len += tl;
            s = next;
            continue;
        }
        tl = strlen(text);
        if (len + tl >= n) goto too_long;
        memcpy(out + len, text, tl);
        len += tl;
    }
    out[len] = '\0';
    return 0;
too_long:
    snprintf(msg, msglen, "filepath '%s' formats to more than %zu bytes", fmt, n - 1);
    return -1;
}

size_t nnc_filepath_cap(const char *fmt) {
    size_t fields = 0;
    for (const char *s = fmt; *s; s++) fields += *s == '{';
    return strlen(fmt) + fields * FIELD_MAX + 1;
}

