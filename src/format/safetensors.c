/* safetensors reader and atomic writer for weights and checkpoints. Every input is treated
 * as hostile (files get fuzzed), so the reader validates the whole header before handing out
 * pointers. Out of scope: mmap, lazy loading, and dtypes other than F32/F64/I64/I32/U8.
 *
 * The format, as implemented here (https://github.com/huggingface/safetensors):
 *  1. Bytes 0..7 hold N, an unsigned 64-bit little-endian integer: the header's byte length.
 *  2. Bytes 8..8+N hold the header: a UTF-8 JSON object. Writers pad it with trailing spaces
 *     to a multiple of 8 bytes; readers accept any N up to 100 MiB.
 *  3. Every key except "__metadata__" names a tensor, mapped to
 *     {"dtype": "F32"|"F64"|"I64"|"I32"|"U8"|..., "shape": [d0, ...], "data_offsets": [b, e]}.
 *     Shape entries are non-negative integers; [] is a scalar (one element).
 *  4. "__metadata__", when present, is an object whose values are all strings.
 *  5. Offsets are relative to byte 8+N (the data section), with b <= e and
 *     e - b == prod(shape) * dtype size.
 *  6. The tensors cover the data section exactly, in any order: no overlaps, no gaps, and no
 *     bytes after the last tensor.
 *  7. Element data is little-endian and row-major. */
#define _POSIX_C_SOURCE 200809L
#include "safetensors.h"
#include "message.h"
#include "json.h"
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tensor data is written and read in host order; a big-endian port would need byte swaps. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nnc safetensors I/O assumes a little-endian host"
#endif

#define HEADER_MAX ((uint64_t)100 << 20) /* the reference implementation's limit */
#define INT_EXACT 9007199254740992.0    /* 2^53: larger doubles are not exact integers */

static const struct { const char *name; size_t size; } dtypes[NNC_ST_DTYPE_COUNT] = {
    {"F32", 4}, {"F64", 8}, {"I64", 8}, {"I32", 4}, {"U8", 1}};

const char *nnc_st_dtype_name(nnc_st_dtype d) {
    return (unsigned)d < NNC_ST_DTYPE_COUNT ? dtypes[d].name : "?";
}

size_t nnc_st_dtype_size(nnc_st_dtype d) {
    return (unsigned)d < NNC_ST_DTYPE_COUNT ? dtypes[d].size : 0;
}

/* prod(shape) * elem_size, or 0 with *ok cleared on size_t overflow. */
static size_t shape_bytes(const int64_t *shape, int ndim, size_t elem, int *ok) {
    size_t total = elem;
    *ok = 1;
    for (int i = 0; i < ndim; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (d && total > SIZE_MAX / d) { *ok = 0; return 0; }
        total *= (size_t)d;
    }
    return total;
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Returns the first duplicated name, or NULL. names is sorted in place. */
static const char *find_duplicate(const char **names, size_t n) {
    qsort(names, n, sizeof *names, cmp_str_ptr);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(names[i - 1], names[i])) return names[i];
    return NULL;
}

/* ---- reading ---- */

typedef struct { uint64_t begin, end; size_t idx; } span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static int as_index(const nnc_json *v, uint64_t *out) {
    if (!v || v->type != NNC_JSON_NUMBER || !(v->number >= 0) || v->number > INT_EXACT ||
        v->number != (double)(uint64_t)v->number)
        return 0;
    *out = (uint64_t)v->number;
    return 1;
}

static int read_tensor(const char *file, const char *name, const nnc_json *e, size_t datalen,
                       nnc_st_tensor *t, span *sp, char *err, size_t errlen) {
    if (strlen(name) >= NNC_ST_NAME_MAX)
        return nnc_msg(err, errlen, "%s: tensor name '%.40s...' is longer than %d bytes", file, name,
                    NNC_ST_NAME_MAX - 1);
    strcpy(t->name, name);
    if (e->type != NNC_JSON_OBJECT) return nnc_msg(err, errlen, "%s: tensor '%s': entry is not an object", file, name);
    const nnc_json *dt = nnc_json_get(e, "dtype"), *sh = nnc_json_get(e, "shape");
    const nnc_json *off = nnc_json_get(e, "data_offsets");
    if (!dt || !sh || !off)
        return nnc_msg(err, errlen, "%s: tensor '%s': missing \"%s\"", file, name,
                    !dt ? "dtype" : !sh ? "shape" : "data_offsets");
    if (dt->type != NNC_JSON_STRING) return nnc_msg(err, errlen, "%s: tensor '%s': \"dtype\" is not a string", file, name);
    int d = 0;
    while (d < NNC_ST_DTYPE_COUNT && strcmp(dtypes[d].name, dt->string)) d++;
    if (d == NNC_ST_DTYPE_COUNT)
        return nnc_msg(err, errlen, "%s: tensor '%s': unsupported dtype '%.32s' (supported: F32, F64, I64, I32, U8)",
                    file, name, dt->string);
    t->dtype = (nnc_st_dtype)d;
    if (sh->type != NNC_JSON_ARRAY) return nnc_msg(err, errlen, "%s: tensor '%s': \"shape\" is not an array", file, name);
    if (sh->count > NNC_ST_MAX_NDIM)
        return nnc_msg(err, errlen, "%s: tensor '%s': shape has %zu dimensions (at most %d supported)", file,
                    name, sh->count, NNC_ST_MAX_NDIM);
    t->ndim = (int)sh->count;
    for (int i = 0; i < t->ndim; i++) {
        uint64_t v;
        if (!as_index(sh->items[i], &v))
            return nnc_msg(err, errlen, "%s: tensor '%s': shape[%d] is not a non-negative integer", file, name, i);
        t->shape[i] = (int64_t)v;
    }
    if (off->type != NNC_JSON_ARRAY || off->count != 2 || !as_index(off->items[0], &sp->begin) ||
        !as_index(off->items[1], &sp->end))
        return nnc_msg(err, errlen, "%s: tensor '%s': \"data_offsets\" is not two non-negative integers", file, name);
    if (sp->end < sp->begin)
        return nnc_msg(err, errlen, "%s: tensor '%s': data_offsets [%llu, %llu] end before begin", file, name,
                    (unsigned long long)sp->begin, (unsigned long long)sp->end);
    if (sp->end > datalen)
        return nnc_msg(err, errlen, "%s: tensor '%s': data_offsets end %llu is past the data section (%zu bytes)",
                    file, name, (unsigned long long)sp->end, datalen);
    int ok;
    t->nbytes = shape_bytes(t->shape, t->ndim, dtypes[d].size, &ok);
    if (!ok || t->nbytes != sp->end - sp->begin)
        return nnc_msg(err, errlen, "%s: tensor '%s': data_offsets span %llu bytes but its shape and dtype %s need %s%zu",
                    file, name, (unsigned long long)(sp->end - sp->begin), dtypes[d].name, ok ? "" : "more than ",
                    ok ? t->nbytes : SIZE_MAX);
    return 0;
}

/* Copies __metadata__ into one allocation: the entry array followed by the strings. */
static int read_meta(const char *file, const nnc_json *m, nnc_st_file *out, char *err, size_t errlen) {
    if (m->type != NNC_JSON_OBJECT) return nnc_msg(err, errlen, "%s: __metadata__ is not an object", file);
    size_t bytes = m->count * sizeof(nnc_st_meta) + 1;
    for (size_t i = 0; i < m->count; i++) {
        if (m->items[i]->type != NNC_JSON_STRING)
            return nnc_msg(err, errlen, "%s: __metadata__ value for '%.64s' is not a string", file, m->keys[i]);
        bytes += strlen(m->keys[i]) + strlen(m->items[i]->string) + 2;
    }
    if (!(out->meta = malloc(bytes))) return nnc_msg(err, errlen, "%s: out of memory", file);
    char *p = (char *)(out->meta + m->count);
    for (size_t i = 0; i < m->count; i++) {
        size_t kl = strlen(m->keys[i]) + 1, vl = strlen(m->items[i]->string) + 1;
        out->meta[i].key = memcpy(p, m->keys[i], kl);
        out->meta[i].value = memcpy(p + kl, m->items[i]->string, vl);
        p += kl + vl;
    }
    out->nmeta = m->count;
    return 0;
}

/* Fills out->tensors (their offsets, not yet their data) and out->meta from the header, and
 * checks that the tensors cover the data section of out->bloblen bytes exactly. */
static int read_header(const char *file, const char *hdr, size_t hlen, nnc_st_file *out, char *err,
                       size_t errlen) {
    char jerr[128];
    nnc_json *j = nnc_json_parse(hdr, hlen, jerr, sizeof jerr);
    if (!j) return nnc_msg(err, errlen, "%s: header is not valid JSON: %s", file, jerr);
    span *spans = NULL;
    int rc = -1, seen_meta = 0;
    if (j->type != NNC_JSON_OBJECT) { nnc_msg(err, errlen, "%s: header is not a JSON object", file); goto done; }
    spans = malloc((j->count + 1) * sizeof *spans);
    out->tensors = calloc(j->count + 1, sizeof *out->tensors);
    if (!spans || !out->tensors) { nnc_msg(err, errlen, "%s: out of memory", file); goto done; }
    for (size_t i = 0; i < j->count; i++) {
        if (!strcmp(j->keys[i], "__metadata__")) {
            if (seen_meta++) { nnc_msg(err, errlen, "%s: __metadata__ appears twice", file); goto done; }
            if (read_meta(file, j->items[i], out, err, errlen)) goto done;
            continue;
        }
        size_t k = out->ntensors;
        if (read_tensor(file, j->keys[i], j->items[i], out->bloblen, &out->tensors[k], &spans[k], err, errlen))
            goto done;
        out->tensors[k].offset = spans[k].begin;
        spans[k].idx = k;
        const char *tname = out->tensors[k].name;
        if (nnc_strmap_get(&out->index, tname)) {
            nnc_msg(err, errlen, "%s: duplicate tensor name '%s'", file, tname);
            goto done;
        }
        if (nnc_strmap_put(&out->index, tname, (int)k)) { nnc_msg(err, errlen, "%s: out of memory", file); goto done; }
        out->ntensors++;
    }
    qsort(spans, out->ntensors, sizeof *spans, cmp_span);
    uint64_t at = 0;
    for (size_t i = 0; i < out->ntensors; i++) {
        if (spans[i].begin < at) {
            nnc_msg(err, errlen, "%s: tensors '%s' and '%s' overlap in the data section", file,
                 out->tensors[spans[i - 1].idx].name, out->tensors[spans[i].idx].name);
            goto done;
        }
        if (spans[i].begin > at) {
            nnc_msg(err, errlen, "%s: gap in the data section: bytes %llu..%llu belong to no tensor", file,
                 (unsigned long long)at, (unsigned long long)spans[i].begin);
            goto done;
        }
        at = spans[i].end;
    }
    if (at != out->bloblen) {
        nnc_msg(err, errlen, "%s: gap in the data section: bytes %llu..%zu after the last tensor belong to no tensor",
             file, (unsigned long long)at, out->bloblen);
        goto done;
    }
    rc = 0;
done:
    free(spans);
    nnc_json_free(j);
    return rc;
}

/* Checks the 8-byte prefix against the total size; returns the header length or -1. */
static int check_prefix(const char *file, const unsigned char *p8, uint64_t total, uint64_t *hlen,
                        char *err, size_t errlen) {
    if (total < 8)
        return nnc_msg(err, errlen, "%s: file is %llu bytes, too short for a safetensors header", file,
                    (unsigned long long)total);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | p8[i];
    if (n > HEADER_MAX)
        return nnc_msg(err, errlen, "%s: header length %llu is absurdly large (limit %llu)", file,
                    (unsigned long long)n, (unsigned long long)HEADER_MAX);
    if (n > total - 8)
        return nnc_msg(err, errlen, "%s: header length %llu runs past the end of the file (%llu bytes)", file,
                    (unsigned long long)n, (unsigned long long)total);
    *hlen = n;
    return 0;
}

int nnc_st_parse(const void *buf, size_t len, const char *name, nnc_st_file *out, char *err, size_t errlen) {
    const unsigned char *b = buf;
    uint64_t hlen;
    memset(out, 0, sizeof *out);
    if (!name) name = "(memory)";
    if (!buf && len) return nnc_msg(err, errlen, "%s: no buffer", name);
    if (check_prefix(name, b, len, &hlen, err, errlen)) return -1;
    out->bloblen = len - 8 - (size_t)hlen;
    if (read_header(name, (const char *)b + 8, (size_t)hlen, out, err, errlen)) { nnc_st_free(out); return -1; }
    if (!(out->blob = malloc(out->bloblen + 1))) { nnc_st_free(out); return nnc_msg(err, errlen, "%s: out of memory", name); }
    if (out->bloblen) memcpy(out->blob, b + 8 + hlen, out->bloblen);
    for (size_t i = 0; i < out->ntensors; i++) out->tensors[i].data = (char *)out->blob + out->tensors[i].offset;
    return 0;
}

static int read_all(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { if (r == 0) errno = EIO; return -1; } /* EOF: the file shrank under us */
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int nnc_st_read(const char *path, nnc_st_file *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!path) return nnc_msg(err, errlen, "(null): no path given");
    int fd = open(path, O_RDONLY);
    if (fd < 0) return nnc_msg(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    unsigned char p8[8];
    char *hdr = NULL;
    uint64_t hlen;
    int rc = -1;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) { nnc_msg(err, errlen, "%s: not a regular file", path); goto done; }
    if ((uint64_t)st.st_size > SIZE_MAX) { nnc_msg(err, errlen, "%s: file too large", path); goto done; }
    size_t total = (size_t)st.st_size;
    if (total >= 8 && read_all(fd, p8, 8)) goto ioerr;
    if (check_prefix(path, p8, total, &hlen, err, errlen)) goto done;
    out->bloblen = total - 8 - (size_t)hlen;
    /* the header first: its offsets must cover the rest of the file exactly before the data
     * section is allocated and read */
    if (!(hdr = malloc((size_t)hlen + 1))) { nnc_msg(err, errlen, "%s: out of memory", path); goto done; }
    if (read_all(fd, hdr, (size_t)hlen)) goto ioerr;
    if (read_header(path, hdr, (size_t)hlen, out, err, errlen)) goto done;
    if (!(out->blob = malloc(out->bloblen + 1))) { nnc_msg(err, errlen, "%s: out of memory", path); goto done; }
    if (read_all(fd, out->blob, out->bloblen)) goto ioerr;
    for (size_t i = 0; i < out->ntensors; i++) out->tensors[i].data = (char *)out->blob + out->tensors[i].offset;
    rc = 0;
    goto done;
ioerr:
    nnc_msg(err, errlen, "%s: read error: %s", path, strerror(errno));
done:
    close(fd);
    free(hdr);
    if (rc) nnc_st_free(out);
    return rc;
}

void nnc_st_free(nnc_st_file *f) {
    if (!f) return;
    nnc_strmap_free(&f->index);
    free(f->blob);
    free(f->tensors);
    free(f->meta);
    memset(f, 0, sizeof *f);
}

const nnc_st_tensor *nnc_st_find(const nnc_st_file *f, const char *name) {
    const int *i = f && name ? nnc_strmap_get(&f->index, name) : NULL;
    return i ? &f->tensors[*i] : NULL;
}

const char *nnc_st_meta_get(const nnc_st_file *f, const char *key) {
    for (size_t i = 0; f && key && i < f->nmeta; i++)
        if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
    return NULL;
}

/* ---- writing ---- */

typedef struct { const nnc_st_tensor *t; size_t idx; } ordered;

/* Larger elements first, then input order: keeps every offset aligned and the sort stable. */
static int cmp_ordered(const void *a, const void *b) {
    const ordered *x = a, *y = b;
    size_t sx = dtypes[x->t->dtype].size, sy = dtypes[y->t->dtype].size;
    if (sx != sy) return sx > sy ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static int check_input(const char *path, const nnc_st_tensor *t, char *err, size_t errlen) {
    if (!memchr(t->name, '\0', sizeof t->name))
        return nnc_msg(err, errlen, "%s: tensor name '%.40s...' is not terminated within %d bytes", path, t->name,
                    NNC_ST_NAME_MAX);
    if (!strcmp(t->name, "__metadata__"))
        return nnc_msg(err, errlen, "%s: '__metadata__' is reserved and cannot name a tensor", path);
    if ((unsigned)t->dtype >= NNC_ST_DTYPE_COUNT)
        return nnc_msg(err, errlen, "%s: tensor '%s': invalid dtype %d", path, t->name, (int)t->dtype);
    if (t->ndim < 0 || t->ndim > NNC_ST_MAX_NDIM)
        return nnc_msg(err, errlen, "%s: tensor '%s': ndim %d out of range", path, t->name, t->ndim);
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] < 0 || (double)t->shape[i] > INT_EXACT)
            return nnc_msg(err, errlen, "%s: tensor '%s': shape[%d] = %lld is invalid", path, t->name, i,
                        (long long)t->shape[i]);
    int ok;
    size_t need = shape_bytes(t->shape, t->ndim, dtypes[t->dtype].size, &ok);
    if (!ok || need != t->nbytes)
        return nnc_msg(err, errlen, "%s: tensor '%s': nbytes %zu does not match its shape and dtype", path, t->name,
                    t->nbytes);
    if (t->nbytes && !t->data) return nnc_msg(err, errlen, "%s: tensor '%s': data is NULL", path, t->name);
    return 0;
}

/* Builds the padded header; returns its length in *len, or NULL with err set. */
static char *build_header(const char *path, const ordered *ord, size_t n, const nnc_st_meta *meta,
                          size_t nmeta, size_t *len, char *err, size_t errlen) {
    nnc_strbuf sb = {0};
    nnc_sb_puts(&sb, "{");
    if (nmeta) {
        nnc_sb_puts(&sb, "\"__metadata__\":{");
        for (size_t i = 0; i < nmeta; i++) {
            nnc_sb_puts(&sb, i ? "," : "");
            nnc_sb_json_string(&sb, meta[i].key);
            nnc_sb_puts(&sb, ":");
            nnc_sb_json_string(&sb, meta[i].value);
        }
        nnc_sb_puts(&sb, n ? "}," : "}");
    }
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const nnc_st_tensor *t = ord[i].t;
        nnc_sb_puts(&sb, i ? "," : "");
        nnc_sb_json_string(&sb, t->name);
        nnc_sb_printf(&sb, ":{\"dtype\":\"%s\",\"shape\":[", dtypes[t->dtype].name);
        for (int d = 0; d < t->ndim; d++) nnc_sb_printf(&sb, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        nnc_sb_printf(&sb, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)at,
                      (unsigned long long)(at + t->nbytes));
        at += t->nbytes;
    }
    nnc_sb_puts(&sb, "}");
    while (!sb.oom && sb.len % 8) nnc_sb_puts(&sb, " ");
    if (sb.oom) { nnc_sb_free(&sb); nnc_msg(err, errlen, "%s: out of memory", path); return NULL; }
    /* Re-parsing catches names or metadata that are not valid UTF-8 before anything is written. */
    char jerr[128];
    nnc_json *j = nnc_json_parse(sb.buf, sb.len, jerr, sizeof jerr);
    if (!j) {
        nnc_sb_free(&sb);
        nnc_msg(err, errlen, "%s: tensor names or metadata do not form a valid header (%s)", path, jerr);
        return NULL;
    }
    nnc_json_free(j);
    *len = sb.len;
    return sb.buf;
}

/* The file's bytes: the header's length, the header, then each tensor's data in layout order. */
static int write_impl(const char *path, const nnc_st_tensor *ts, size_t n, const nnc_st_meta *meta, size_t nmeta,
                      long long fail_after, char *err, size_t errlen) {
    if (!path || (n && !ts) || (nmeta && !meta)) return nnc_msg(err, errlen, "%s: invalid arguments", path ? path : "(null)");
    for (size_t i = 0; i < nmeta; i++)
        if (!meta[i].key || !meta[i].value) return nnc_msg(err, errlen, "%s: metadata entry %zu is NULL", path, i);
    ordered *ord = malloc((n + 1) * sizeof *ord);
    const char **names = malloc((n + 1) * sizeof *names);
    char *hdr = NULL;
    int rc = -1;
    size_t hlen = 0;
    if (!ord || !names) { nnc_msg(err, errlen, "%s: out of memory", path); goto done; }
    for (size_t i = 0; i < n; i++) {
        if (check_input(path, &ts[i], err, errlen)) goto done;
        ord[i].t = &ts[i];
        ord[i].idx = i;
        names[i] = ts[i].name;
    }
    const char *dup = find_duplicate(names, n);
    if (dup) { nnc_msg(err, errlen, "%s: duplicate tensor name '%s'", path, dup); goto done; }
    qsort(ord, n, sizeof *ord, cmp_ordered);
    if (!(hdr = build_header(path, ord, n, meta, nmeta, &hlen, err, errlen))) goto done;
    nnc_atomic_file f;
    if (nnc_atomic_open(&f, path, err, errlen)) goto done;
#ifdef NNC_FAULT_INJECTION
    f.fail_after = fail_after;
#else
    (void)fail_after;
#endif
    unsigned char p8[8];
    for (int i = 0; i < 8; i++) p8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    nnc_atomic_write(&f, p8, 8);
    nnc_atomic_write(&f, hdr, hlen);
    for (size_t i = 0; i < n; i++) nnc_atomic_write(&f, ord[i].t->data, ord[i].t->nbytes);
    rc = nnc_atomic_commit(&f, err, errlen);
done:
    free(ord);
    free(names);
    free(hdr);
    return rc;
}

int nnc_st_write(const char *path, const nnc_st_tensor *ts, size_t n, const nnc_st_meta *meta, size_t nmeta,
                 char *err, size_t errlen) {
    return write_impl(path, ts, n, meta, nmeta, -1, err, errlen);
}

#ifdef NNC_FAULT_INJECTION
int nnc_st_write_faulty(const char *path, const nnc_st_tensor *ts, size_t n, const nnc_st_meta *meta,
                        size_t nmeta, long long fail_after_bytes, char *err, size_t errlen) {
    return write_impl(path, ts, n, meta, nmeta, fail_after_bytes, err, errlen);
}
#endif
