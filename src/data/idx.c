/* IDX reader (the MNIST format): checks every header field and the data length, and names the
 * file and the problem in every error so a bad download is diagnosed in one look.
 * Out of scope: writing IDX, memory mapping, and any interpretation of the values (scaling and
 * label checks belong to the dataset loader and to training).
 *
 * The format (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS"), as this reader enforces it:
 *  1. Byte 0 and byte 1 are zero.
 *  2. Byte 2 is the element type: 0x08 unsigned byte, 0x09 signed byte, 0x0B short (2 bytes),
 *     0x0C int (4 bytes), 0x0D float (4 bytes), 0x0E double (8 bytes). Other codes are errors.
 *  3. Byte 3 is the number of dimensions D; this reader takes 1 <= D <= 8.
 *  4. D sizes follow, each a big-endian unsigned 32-bit integer. None may be zero, and their
 *     product (the element count) may not exceed 2^31.
 *  5. The data follows: count elements, row-major (the last dimension varies fastest), each
 *     big-endian; signed types are two's complement, float and double IEEE 754.
 *  6. The file ends with the data: fewer bytes is a truncated file, more is an error too.
 *  7. float and double values must be finite, and doubles within float32's range, because
 *     values are returned as float32.
 *  8. The file may be gzip-compressed (zlib's gzread reads both); a corrupt or cut-off gzip
 *     stream is an error, not a short file. */
#include "idx.h"
#include "../format/message.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_ELEMENTS ((uint64_t)1 << 31)

static size_t type_size(int type) {
    switch (type) {
    case NNC_IDX_UBYTE: case NNC_IDX_SBYTE: return 1;
    case NNC_IDX_SHORT: return 2;
    case NNC_IDX_INT: case NNC_IDX_FLOAT: return 4;
    case NNC_IDX_DOUBLE: return 8;
    default: return 0;
    }
}

static const char *type_name(int type) {
    switch (type) {
    case NNC_IDX_UBYTE: return "ubyte";
    case NNC_IDX_SBYTE: return "sbyte";
    case NNC_IDX_SHORT: return "short";
    case NNC_IDX_INT: return "int";
    case NNC_IDX_FLOAT: return "float";
    case NNC_IDX_DOUBLE: return "double";
    default: return "?";
    }
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* "60000 x 28 x 28" */
static void dims_str(const nnc_idx *x, char *s, size_t n) {
    size_t used = 0;
    s[0] = '\0';
    for (int i = 0; i < x->ndim && used < n; i++) {
        int w = snprintf(s + used, n - used, "%s%lu", i ? " x " : "", (unsigned long)x->dims[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

/* Validates rules 1-4 on the first len bytes; fills type, ndim, dims, count and item_size,
 * and the header's size and the data's size in bytes. */
static int check_header(const unsigned char *b, size_t len, const char *name, nnc_idx *out,
                        size_t *header_bytes, size_t *data_bytes, char *err, size_t errlen) {
    if (len == 0) return nnc_msg(err, errlen, "%s: empty file", name);
    if (b[0] != 0 || (len > 1 && b[1] != 0)) {
        char got[40];
        size_t used = 0;
        for (size_t i = 0; i < len && i < 4; i++)
            used += (size_t)snprintf(got + used, sizeof got - used, "%s0x%02x", i ? " " : "", b[i]);
        return nnc_msg(err, errlen, "%s: not an IDX file: magic bytes %s (expected 00 00, then a type code and "
                    "a dimension count)%s", name, got,
                    len > 1 && b[0] == 0x1f && b[1] == 0x8b ? "; this is gzip data, still compressed" : "");
    }
    if (len < 4)
        return nnc_msg(err, errlen, "%s: truncated header: %zu bytes, an IDX header has at least 8", name, len);
    if (!type_size(b[2]))
        return nnc_msg(err, errlen, "%s: unknown IDX type code 0x%02x (expected 0x08 ubyte, 0x09 sbyte, 0x0B short, "
                    "0x0C int, 0x0D float or 0x0E double)", name, b[2]);
    if (b[3] == 0 || b[3] > NNC_IDX_MAX_NDIM)
        return nnc_msg(err, errlen, "%s: IDX dimension count %d is out of range (1 to %d)", name, b[3],
                    NNC_IDX_MAX_NDIM);
    out->type = b[2];
    out->ndim = b[3];
    size_t hb = 4 + 4 * (size_t)out->ndim;
    if (len < hb)
        return nnc_msg(err, errlen, "%s: truncated header: %d dimensions need %zu header bytes, found %zu", name,
                    out->ndim, hb, len);
    uint64_t total = 1;
    int too_big = 0;
    for (int i = 0; i < out->ndim; i++) {
        out->dims[i] = be32(b + 4 + 4 * i);
        if (!out->dims[i])
            return nnc_msg(err, errlen, "%s: dimension %d of %d is 0", name, i + 1, out->ndim);
        if (too_big || total > MAX_ELEMENTS / out->dims[i]) too_big = 1;
        else total *= out->dims[i];
    }
    if (too_big) {
        char ds[128];
        dims_str(out, ds, sizeof ds);
        return nnc_msg(err, errlen, "%s: dimensions %s hold more than 2^31 elements", name, ds);
    }
    out->count = out->dims[0];
    out->item_size = (size_t)(total / out->dims[0]);
    *header_bytes = hb;
    *data_bytes = (size_t)total * type_size(out->type);
    return 0;
}

static int truncated(const nnc_idx *x, const char *name, size_t want, size_t got, char *err, size_t errlen) {
    char ds[128];
    dims_str(x, ds, sizeof ds);
    return nnc_msg(err, errlen, "%s: truncated data: dimensions %s of %s need %zu bytes of data, found %zu", name,
                ds, type_name(x->type), want, got);
}

static int trailing(const nnc_idx *x, const char *name, size_t want, size_t extra, char *err, size_t errlen) {
    char ds[128];
    dims_str(x, ds, sizeof ds);
    return nnc_msg(err, errlen, "%s: %zu trailing byte(s) after the data (dimensions %s of %s need %zu bytes)",
                name, extra, ds, type_name(x->type), want);
}

/* Rule 5 and 7: converts n big-endian elements to floats. */
static int decode(const unsigned char *p, size_t n, int type, const char *name, float *v, char *err,
                  size_t errlen) {
    size_t i;
    switch (type) {
    case NNC_IDX_UBYTE:
        for (i = 0; i < n; i++) v[i] = (float)p[i];
        return 0;
    case NNC_IDX_SBYTE:
        for (i = 0; i < n; i++) v[i] = (float)((int)p[i] - (p[i] >= 0x80 ? 256 : 0));
        return 0;
    case NNC_IDX_SHORT:
        for (i = 0; i < n; i++) {
            long u = (long)p[2 * i] << 8 | (long)p[2 * i + 1];
            v[i] = (float)(u - (u >= 0x8000 ? 0x10000 : 0));
        }
        return 0;
    case NNC_IDX_INT:
        for (i = 0; i < n; i++) {
            int64_t u = be32(p + 4 * i);
            v[i] = (float)(u - (u >= INT64_C(0x80000000) ? INT64_C(0x100000000) : 0));
        }
        return 0;
    case NNC_IDX_FLOAT:
        for (i = 0; i < n; i++) {
            uint32_t u = be32(p + 4 * i);
            float f;
            memcpy(&f, &u, sizeof f);
            if (!isfinite(f)) return nnc_msg(err, errlen, "%s: element %zu is NaN or infinite", name, i);
            v[i] = f;
        }
        return 0;
    case NNC_IDX_DOUBLE:
        for (i = 0; i < n; i++) {
            uint64_t u = (uint64_t)be32(p + 8 * i) << 32 | be32(p + 8 * i + 4);
            double d;
            memcpy(&d, &u, sizeof d);
            if (!isfinite(d)) return nnc_msg(err, errlen, "%s: element %zu is NaN or infinite", name, i);
            if (fabs(d) > (double)FLT_MAX)
                return nnc_msg(err, errlen, "%s: element %zu (%g) is out of float32 range", name, i, d);
            v[i] = (float)d;
        }
        return 0;
    default:
        return nnc_msg(err, errlen, "%s: unknown IDX type code 0x%02x", name, (unsigned)type);
    }
}

int nnc_idx_parse(const void *buf, size_t len, const char *name, nnc_idx *out, char *err, size_t errlen) {
    const unsigned char *b = buf;
    size_t hb = 0, db = 0;
    memset(out, 0, sizeof *out);
    if (!name) name = "(memory)";
    if (!b) len = 0;
    if (check_header(b, len, name, out, &hb, &db, err, errlen)) goto bad;
    if (len - hb < db) {
        truncated(out, name, db, len - hb, err, errlen);
        goto bad;
    }
    if (len - hb > db) {
        trailing(out, name, db, len - hb - db, err, errlen);
        goto bad;
    }
    size_t n = out->count * out->item_size;
    if (!(out->values = malloc(n * sizeof(float)))) {
        nnc_msg(err, errlen, "%s: out of memory for %zu values", name, n);
        goto bad;
    }
    if (decode(b + hb, n, out->type, name, out->values, err, errlen)) goto bad;
    return 0;
bad:
    nnc_idx_free(out);
    return -1;
}

/* Reads up to n bytes; returns the count read (short only at the end of the data), or -1 on a
 * read error or a corrupt or cut-off gzip stream (rule 8), with the message set. */
static long long read_some(gzFile g, const char *path, unsigned char *p, size_t n, char *err, size_t errlen) {
    size_t got = 0;
    while (got < n) {
        size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
        int r = gzread(g, p + got, (unsigned)want);
        if (r < 0) {
            int code;
            const char *msg = gzerror(g, &code);
            if (code == Z_ERRNO) return nnc_msg(err, errlen, "%s: read error: %s", path, strerror(errno));
            return nnc_msg(err, errlen, "%s: corrupt gzip data: %s", path, msg);
        }
        if (r == 0) { /* a gzip stream that ends early reads as EOF; only gzerror tells */
            int code;
            gzerror(g, &code);
            if (code != Z_OK) return nnc_msg(err, errlen, "%s: truncated or corrupt gzip data", path);
            break;
        }
        got += (size_t)r;
    }
    return (long long)got;
}

/* Reads the header, then exactly the data the header announces, growing the buffer as data
 * arrives (so a forged header cannot make it allocate more than the file holds), then counts
 * any trailing bytes without keeping them. */
static int read_all(gzFile g, const char *path, nnc_idx *out, char *err, size_t errlen) {
    unsigned char head[4 + 4 * NNC_IDX_MAX_NDIM], *buf = NULL;
    size_t hb = 0, db = 0, len, cap;
    long long r = read_some(g, path, head, 4, err, errlen);
    if (r < 0) return -1;
    len = (size_t)r;
    if (len == 4 && head[0] == 0 && head[1] == 0 && head[3] >= 1 && head[3] <= NNC_IDX_MAX_NDIM) {
        if ((r = read_some(g, path, head + 4, 4 * (size_t)head[3], err, errlen)) < 0) return -1;
        len += (size_t)r;
    }
    nnc_idx hdr;
    memset(&hdr, 0, sizeof hdr);
    if (check_header(head, len, path, &hdr, &hb, &db, err, errlen)) return -1;
    cap = db < (1u << 20) ? db : (1u << 20);
    if (!(buf = malloc(hb + cap))) return nnc_msg(err, errlen, "%s: out of memory", path);
    memcpy(buf, head, hb);
    len = 0; /* data bytes read */
    for (;;) {
        if ((r = read_some(g, path, buf + hb + len, cap - len, err, errlen)) < 0) goto bad;
        len += (size_t)r;
        if (len < cap || cap == db) break;
        size_t nc = cap > db / 2 ? db : cap * 2;
        unsigned char *nb = realloc(buf, hb + nc);
        if (!nb) {
            nnc_msg(err, errlen, "%s: out of memory", path);
            goto bad;
        }
        buf = nb;
        cap = nc;
    }
    if (len < db) {
        truncated(&hdr, path, db, len, err, errlen);
        goto bad;
    }
    size_t extra = 0;
    unsigned char scratch[4096];
    do {
        if ((r = read_some(g, path, scratch, sizeof scratch, err, errlen)) < 0) goto bad;
        extra += (size_t)r;
    } while (r > 0);
    if (extra) {
        trailing(&hdr, path, db, extra, err, errlen);
        goto bad;
    }
    int rc = nnc_idx_parse(buf, hb + db, path, out, err, errlen);
    free(buf);
    return rc;
bad:
    free(buf);
    return -1;
}

int nnc_idx_read(const char *path, nnc_idx *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!path) return nnc_msg(err, errlen, "(null): no path given");
    errno = 0;
    gzFile g = gzopen(path, "rb");
    if (!g) return nnc_msg(err, errlen, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    int rc = read_all(g, path, out, err, errlen);
    if (gzclose(g) != Z_OK && rc == 0) {
        nnc_idx_free(out);
        rc = nnc_msg(err, errlen, "%s: truncated or corrupt gzip data", path);
    }
    return rc;
}

void nnc_idx_free(nnc_idx *x) {
    if (!x) return;
    free(x->values);
    memset(x, 0, sizeof *x);
}
