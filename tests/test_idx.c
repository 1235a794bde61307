/* Tests for the IDX reader (src/data/idx.c) and the IDX dataset loaders in src/data/dataset.c:
 * round trips of generated files (plain and gzip), big-endian decoding of every element type,
 * one case per rejected input with its message, nnc_dataset_load_idx, "fashion_mnist" from a
 * folder of tiny generated files, and (with --slow) the real Fashion-MNIST.
 * Out of scope: training on IDX data (the training tests use CSV sets). */
#define _POSIX_C_SOURCE 200809L
#include "data/idx.h"
#include "nnc.h"
#include "test.h"
#include "files.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_FILE "x.idx"

/* ---- helpers ------------------------------------------------------------------------------ */

/* An IDX image in memory: the 4-byte magic, ndim big-endian sizes, then data. Free with free(). */
static unsigned char *make_idx(int type, int ndim, const uint32_t *dims, const void *data, size_t datalen,
                               size_t *len) {
    size_t hb = 4 + 4 * (size_t)ndim;
    unsigned char *b = malloc(hb + datalen + 1);
    if (!b) return NULL;
    b[0] = 0;
    b[1] = 0;
    b[2] = (unsigned char)type;
    b[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) {
        b[4 + 4 * i] = (unsigned char)(dims[i] >> 24);
        b[5 + 4 * i] = (unsigned char)(dims[i] >> 16);
        b[6 + 4 * i] = (unsigned char)(dims[i] >> 8);
        b[7 + 4 * i] = (unsigned char)dims[i];
    }
    if (datalen) memcpy(b + hb, data, datalen);
    *len = hb + datalen;
    return b;
}

/* Parses a copy that ends exactly at len, so over-reads trip the sanitizer. */
static int parse_exact(const void *buf, size_t len, nnc_idx *x, char *err, size_t errlen) {
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy) return -2;
    if (len) memcpy(copy, buf, len);
    int rc = nnc_idx_parse(copy, len, IDX_FILE, x, err, errlen);
    free(copy);
    return rc;
}

static int write_file(const char *path, const void *buf, size_t n, int gz) {
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g) return -1;
        int ok = n == 0 || gzwrite(g, buf, (unsigned)n) == (int)n;
        return gzclose(g) == Z_OK && ok ? 0 : -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(buf, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    *len = 0;
    if (!f) return NULL;
    if (!fseek(f, 0, SEEK_END)) {
        long n = ftell(f);
        rewind(f);
        if (n >= 0 && (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* Writes an IDX file of the given type from raw big-endian data; returns 0 on success. */
static int write_idx(const char *path, int type, int ndim, const uint32_t *dims, const void *data,
                     size_t datalen, int gz) {
    size_t len;
    unsigned char *b = make_idx(type, ndim, dims, data, datalen, &len);
    int rc = b ? write_file(path, b, len, gz) : -1;
    free(b);
    return rc;
}

static int mkdir_ok(const char *path) { return mkdir(path, 0700) == 0; }

/* Saves an environment variable's value so a test can change it and put it back. */
typedef struct {
    const char *name;
    char *old; /* NULL: it was unset */
} saved_env;

static saved_env env_save(const char *name) {
    const char *v = getenv(name);
    saved_env s = {name, NULL};
    if (v) s.old = strdup(v);
    return s;
}

static void env_restore(saved_env *s) {
    if (s->old) setenv(s->name, s->old, 1);
    else unsetenv(s->name);
    free(s->old);
    s->old = NULL;
}

/* ---- good files --------------------------------------------------------------------------- */

static void roundtrip_cases(test_run *r, const char *dir) {
    char path[256], err[512];
    nnc_idx x;
    unsigned char px[3 * 4 * 5];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (unsigned char)((i * 37 + 11) % 256);
    static const uint32_t dims3[3] = {3, 4, 5};
    for (int gz = 0; gz < 2; gz++) {
        if (t_begin(r, "idx/ubyte 3-D images round trip, %s", gz ? "gzip" : "plain")) {
            snprintf(path, sizeof path, "%s/images-idx3-ubyte%s", dir, gz ? ".gz" : "");
            CHECK(r, write_idx(path, NNC_IDX_UBYTE, 3, dims3, px, sizeof px, gz) == 0, "write %s", path);
            int rc = nnc_idx_read(path, &x, err, sizeof err);
            if (CHECK(r, rc == 0, "read: %s", err)) {
                CHECK(r, x.type == NNC_IDX_UBYTE && x.ndim == 3, "type 0x%02x ndim %d", x.type, x.ndim);
                CHECK(r, x.dims[0] == 3 && x.dims[1] == 4 && x.dims[2] == 5 && x.dims[3] == 0, "dims");
                CHECK(r, x.count == 3 && x.item_size == 20, "count %zu item_size %zu", x.count, x.item_size);
                int same = 1;
                for (size_t i = 0; i < sizeof px; i++) same &= x.values[i] == (float)px[i];
                CHECK(r, same, "values differ (raw values expected, not scaled)");
            }
            nnc_idx_free(&x);
            CHECK(r, !x.values && !x.count && !x.ndim, "free resets");
            unlink(path);
            t_end(r);
        }
    }
    if (t_begin(r, "idx/ubyte 1-D labels round trip")) {
        static const unsigned char labels[7] = {0, 9, 3, 3, 255, 1, 7};
        uint32_t d = 7;
        snprintf(path, sizeof path, "%s/labels-idx1-ubyte.gz", dir);
        CHECK(r, write_idx(path, NNC_IDX_UBYTE, 1, &d, labels, sizeof labels, 1) == 0, "write");
        int rc = nnc_idx_read(path, &x, err, sizeof err);
        if (CHECK(r, rc == 0, "read: %s", err)) {
            CHECK(r, x.ndim == 1 && x.count == 7 && x.item_size == 1, "ndim %d count %zu item %zu", x.ndim, x.count,
                  x.item_size);
            CHECK(r, x.values[1] == 9.0f && x.values[4] == 255.0f && x.values[6] == 7.0f, "values");
        }
        nnc_idx_free(&x);
        unlink(path);
        t_end(r);
    }
    if (t_begin(r, "idx/float file round trip, gzip")) {
        /* 2 x 3 floats 0.5, -1.25, 3, 1e-3, 65504, -0 as big-endian words */
        static const unsigned char data[] = {0x3F, 0x00, 0x00, 0x00, 0xBF, 0xA0, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00,
                                             0x3A, 0x83, 0x12, 0x6F, 0x47, 0x7F, 0xE0, 0x00, 0x80, 0x00, 0x00, 0x00};
        static const uint32_t d[2] = {2, 3};
        snprintf(path, sizeof path, "%s/f.idx.gz", dir);
        CHECK(r, write_idx(path, NNC_IDX_FLOAT, 2, d, data, sizeof data, 1) == 0, "write");
        int rc = nnc_idx_read(path, &x, err, sizeof err);
        if (CHECK(r, rc == 0, "read: %s", err)) {
            CHECK(r, x.count == 2 && x.item_size == 3, "shape");
            CHECK(r, x.values[0] == 0.5f && x.values[1] == -1.25f && x.values[2] == 3.0f && x.values[3] == 1e-3f &&
                         x.values[4] == 65504.0f && x.values[5] == 0.0f,
                  "values %g %g %g %g %g", (double)x.values[0], (double)x.values[1], (double)x.values[2],
                  (double)x.values[3], (double)x.values[4]);
        }
        nnc_idx_free(&x);
        unlink(path);
        t_end(r);
    }
}

static void decode_cases(test_run *r) {
    char err[512];
    nnc_idx x;
    size_t len;
    if (t_begin(r, "idx/float big-endian decoding")) {
        static const unsigned char data[] = {0x3F, 0x80, 0x00, 0x00,  /* 1 */
                                             0xC0, 0x49, 0x0F, 0xDB,  /* -pi */
                                             0x00, 0x00, 0x00, 0x01,  /* smallest subnormal */
                                             0x7F, 0x7F, 0xFF, 0xFF}; /* FLT_MAX */
        static const uint32_t bits[4] = {0x3F800000u, 0xC0490FDBu, 0x00000001u, 0x7F7FFFFFu};
        uint32_t d = 4;
        unsigned char *b = make_idx(NNC_IDX_FLOAT, 1, &d, data, sizeof data, &len);
        int rc = parse_exact(b, len, &x, err, sizeof err);
        if (CHECK(r, rc == 0, "parse: %s", err))
            for (int i = 0; i < 4; i++) {
                float want;
                memcpy(&want, &bits[i], sizeof want);
                CHECK(r, memcmp(&x.values[i], &want, sizeof want) == 0, "element %d: %g", i, (double)x.values[i]);
            }
        nnc_idx_free(&x);
        free(b);
        t_end(r);
    }
    if (t_begin(r, "idx/double big-endian decoding")) {
        static const unsigned char data[] = {0x3F, 0xF0, 0, 0, 0, 0, 0, 0,                 /* 1 */
                                             0xC0, 0x00, 0, 0, 0, 0, 0, 0,                 /* -2 */
                                             0x3F, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A}; /* 0.1 */
        uint32_t d[2] = {1, 3};
        unsigned char *b = make_idx(NNC_IDX_DOUBLE, 2, d, data, sizeof data, &len);
        int rc = parse_exact(b, len, &x, err, sizeof err);
        if (CHECK(r, rc == 0, "parse: %s", err))
            CHECK(r, x.values[0] == 1.0f && x.values[1] == -2.0f && x.values[2] == (float)0.1, "values %g %g %g",
                  (double)x.values[0], (double)x.values[1], (double)x.values[2]);
        nnc_idx_free(&x);
        free(b);
        t_end(r);
    }
    if (t_begin(r, "idx/int big-endian decoding, negatives")) {
        static const unsigned char data[] = {0x00, 0x00, 0x01, 0x02, 0xFF, 0xFF, 0xFF, 0xFF,
                                             0x80, 0x00, 0x00, 0x00, 0x7F, 0xFF, 0xFF, 0xFF};
        uint32_t d = 4;
        unsigned char *b = make_idx(NNC_IDX_INT, 1, &d, data, sizeof data, &len);
        int rc = parse_exact(b, len, &x, err, sizeof err);
        if (CHECK(r, rc == 0, "parse: %s", err))
            CHECK(r, x.values[0] == 258.0f && x.values[1] == -1.0f && x.values[2] == -2147483648.0f &&
                         x.values[3] == 2147483648.0f,
                  "values %g %g %g %g", (double)x.values[0], (double)x.values[1], (double)x.values[2],
                  (double)x.values[3]);
        nnc_idx_free(&x);
        free(b);
        t_end(r);
    }
    if (t_begin(r, "idx/short and sbyte decoding")) {
        static const unsigned char sh[] = {0x01, 0x02, 0xFF, 0xFE, 0x80, 0x00, 0x7F, 0xFF};
        static const unsigned char sb[] = {0x7F, 0x80, 0xFF, 0x00};
        uint32_t d = 4;
        unsigned char *b = make_idx(NNC_IDX_SHORT, 1, &d, sh, sizeof sh, &len);
        int rc = parse_exact(b, len, &x, err, sizeof err);
        if (CHECK(r, rc == 0, "short: %s", err))
            CHECK(r, x.values[0] == 258.0f && x.values[1] == -2.0f && x.values[2] == -32768.0f &&
                         x.values[3] == 32767.0f, "short values");
        nnc_idx_free(&x);
        free(b);
        b = make_idx(NNC_IDX_SBYTE, 1, &d, sb, sizeof sb, &len);
        rc = parse_exact(b, len, &x, err, sizeof err);
        if (CHECK(r, rc == 0, "sbyte: %s", err))
            CHECK(r, x.values[0] == 127.0f && x.values[1] == -128.0f && x.values[2] == -1.0f && x.values[3] == 0.0f,
                  "sbyte values");
        nnc_idx_free(&x);
        free(b);
        t_end(r);
    }
    if (t_begin(r, "idx/8 dimensions, the largest count")) {
        uint32_t d[8] = {2, 1, 1, 1, 1, 1, 1, 3};
        unsigned char data[6] = {1, 2, 3, 4, 5, 6};
        unsigned char *b = make_idx(NNC_IDX_UBYTE, 8, d, data, sizeof data, &len);
        int rc = parse_exact(b, len, &x, err, sizeof err);
        CHECK(r, rc == 0 && x.ndim == 8 && x.count == 2 && x.item_size == 3 && x.values[5] == 6.0f, "parse: %s", err);
        nnc_idx_free(&x);
        free(b);
        t_end(r);
    }
}

/* ---- bad input: one case per rejected file ------------------------------------------------- */

static void bad_parse_cases(test_run *r) {
    static const unsigned char ub6[6] = {1, 2, 3, 4, 5, 6};
    static const unsigned char nan_f[8] = {0x3F, 0x80, 0, 0, 0x7F, 0xC0, 0, 0};
    static const unsigned char inf_f[4] = {0xFF, 0x80, 0, 0};
    static const unsigned char big_d[8] = {0x47, 0xEF, 0xFF, 0xFF, 0xE0, 0x00, 0x00, 0x01}; /* > FLT_MAX */
    static const unsigned char gz_head[10] = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3};
    static const unsigned char text[] = "x0,x1,label\n1,2,3\n";
    const struct {
        const char *name;
        int raw;                 /* 1: use bytes/rawlen as the whole file */
        const unsigned char *bytes;
        size_t rawlen;
        int type, ndim;
        uint32_t dims[9];
        size_t datalen;          /* from bytes */
        const char *want;
    } rows[] = {
        {"empty file", 1, NULL, 0, 0, 0, {0}, 0, "x.idx: empty file"},
        {"wrong magic: gzip data", 1, gz_head, sizeof gz_head, 0, 0, {0}, 0,
         "x.idx: not an IDX file: magic bytes 0x1f 0x8b 0x08 0x00 (expected 00 00, then a type code and a dimension "
         "count); this is gzip data, still compressed"},
        {"wrong magic: CSV text", 1, text, sizeof text - 1, 0, 0, {0}, 0,
         "x.idx: not an IDX file: magic bytes 0x78 0x30 0x2c 0x78 (expected 00 00"},
        {"wrong magic: one byte", 1, (const unsigned char *)"\x01", 1, 0, 0, {0}, 0,
         "x.idx: not an IDX file: magic bytes 0x01 (expected 00 00"},
        {"wrong magic: second byte", 1, (const unsigned char *)"\x00\x01\x08\x01", 4, 0, 0, {0}, 0,
         "x.idx: not an IDX file: magic bytes 0x00 0x01 0x08 0x01"},
        {"truncated magic", 1, (const unsigned char *)"\x00\x00\x08", 3, 0, 0, {0}, 0,
         "x.idx: truncated header: 3 bytes, an IDX header has at least 8"},
        {"unknown type code", 0, ub6, 0, 0x0A, 1, {6}, 6,
         "x.idx: unknown IDX type code 0x0a (expected 0x08 ubyte, 0x09 sbyte, 0x0B short, 0x0C int, 0x0D float or "
         "0x0E double)"},
        {"dimension count 0", 0, NULL, 0, NNC_IDX_UBYTE, 0, {0}, 0,
         "x.idx: IDX dimension count 0 is out of range (1 to 8)"},
        {"dimension count 9", 0, ub6, 0, NNC_IDX_UBYTE, 9, {1, 1, 1, 1, 1, 1, 1, 1, 6}, 6,
         "x.idx: IDX dimension count 9 is out of range (1 to 8)"},
        {"truncated header", 1, (const unsigned char *)"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00", 11, 0, 0, {0},
         0, "x.idx: truncated header: 3 dimensions need 16 header bytes, found 11"},
        {"zero dimension", 0, NULL, 0, NNC_IDX_UBYTE, 3, {2, 0, 3}, 0, "x.idx: dimension 2 of 3 is 0"},
        {"dimension product overflows", 0, NULL, 0, NNC_IDX_UBYTE, 4,
         {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, 0,
         "x.idx: dimensions 4294967295 x 4294967295 x 4294967295 x 4294967295 hold more than 2^31 elements"},
        {"more than 2^31 elements", 0, NULL, 0, NNC_IDX_UBYTE, 3, {65536, 32768, 2}, 0,
         "x.idx: dimensions 65536 x 32768 x 2 hold more than 2^31 elements"},
        {"2^31 elements is the limit, then truncated", 0, NULL, 0, NNC_IDX_DOUBLE, 2, {65536, 32768}, 0,
         "x.idx: truncated data: dimensions 65536 x 32768 of double need 17179869184 bytes of data, found 0"},
        {"truncated data", 0, ub6, 0, NNC_IDX_UBYTE, 3, {2, 2, 2}, 6,
         "x.idx: truncated data: dimensions 2 x 2 x 2 of ubyte need 8 bytes of data, found 6"},
        {"truncated last element", 0, ub6, 0, NNC_IDX_INT, 2, {1, 2}, 6,
         "x.idx: truncated data: dimensions 1 x 2 of int need 8 bytes of data, found 6"},
        {"trailing bytes", 0, ub6, 0, NNC_IDX_UBYTE, 2, {1, 4}, 6,
         "x.idx: 2 trailing byte(s) after the data (dimensions 1 x 4 of ubyte need 4 bytes)"},
        {"NaN float", 0, nan_f, 0, NNC_IDX_FLOAT, 1, {2}, 8, "x.idx: element 1 is NaN or infinite"},
        {"infinite float", 0, inf_f, 0, NNC_IDX_FLOAT, 1, {1}, 4, "x.idx: element 0 is NaN or infinite"},
        {"double beyond float32", 0, big_d, 0, NNC_IDX_DOUBLE, 1, {1}, 8, "x.idx: element 0 (3.40282e+38) is out of float32 range"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (!t_begin(r, "idx/rejects %s", rows[i].name)) continue;
        char err[512] = "";
        nnc_idx x;
        size_t len = rows[i].rawlen;
        unsigned char *b = rows[i].raw ? NULL
                                       : make_idx(rows[i].type, rows[i].ndim, rows[i].dims, rows[i].bytes,
                                                  rows[i].datalen, &len);
        int rc = parse_exact(rows[i].raw ? (const void *)rows[i].bytes : b, len, &x, err, sizeof err);
        CHECK(r, rc == -1, "accepted");
        CHECK(r, strstr(err, rows[i].want) == err, "got '%s', want '%s'", err, rows[i].want);
        CHECK(r, !x.values && !x.count && !x.ndim, "out not zeroed");
        free(b);
        t_end(r);
    }
    if (t_begin(r, "idx/parse of NULL is an empty file")) {
        char err[128];
        nnc_idx x;
        CHECK(r, nnc_idx_parse(NULL, 10, NULL, &x, err, sizeof err) == -1 && !strcmp(err, "(memory): empty file"),
              "got '%s'", err);
        t_end(r);
    }
}

static void bad_file_cases(test_run *r, const char *dir) {
    char path[256], want[512], err[512];
    nnc_idx x;
    static const unsigned char px[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    static const uint32_t d3[3] = {3, 2, 2};
    if (t_begin(r, "idx/rejects a missing file")) {
        snprintf(path, sizeof path, "%s/missing-idx3-ubyte.gz", dir);
        snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
        CHECK(r, nnc_idx_read(path, &x, err, sizeof err) == -1 && !strcmp(err, want), "got '%s'", err);
        t_end(r);
    }
    if (t_begin(r, "idx/rejects a directory")) {
        int rc = nnc_idx_read(dir, &x, err, sizeof err);
        CHECK(r, rc == -1 && strstr(err, dir) == err && (strstr(err, "read error") || strstr(err, "cannot open")),
              "got '%s'", err);
        t_end(r);
    }
    for (int gz = 0; gz < 2; gz++) {
        if (t_begin(r, "idx/rejects an empty %s file", gz ? "gzip" : "plain")) {
            snprintf(path, sizeof path, "%s/empty%s", dir, gz ? ".gz" : "");
            CHECK(r, write_file(path, "", 0, gz) == 0, "write");
            snprintf(want, sizeof want, "%s: empty file", path);
            CHECK(r, nnc_idx_read(path, &x, err, sizeof err) == -1 && !strcmp(err, want), "got '%s'", err);
            unlink(path);
            t_end(r);
        }
        if (t_begin(r, "idx/rejects a truncated %s file", gz ? "gzip" : "plain")) {
            size_t len;
            unsigned char *b = make_idx(NNC_IDX_UBYTE, 3, d3, px, sizeof px, &len);
            snprintf(path, sizeof path, "%s/trunc%s", dir, gz ? ".gz" : "");
            CHECK(r, b && write_file(path, b, len - 5, gz) == 0, "write");
            snprintf(want, sizeof want, "%s: truncated data: dimensions 3 x 2 x 2 of ubyte need 12 bytes of data, "
                     "found 7", path);
            CHECK(r, nnc_idx_read(path, &x, err, sizeof err) == -1 && !strcmp(err, want), "got '%s'", err);
            CHECK(r, !x.values, "out not zeroed");
            free(b);
            unlink(path);
            t_end(r);
        }
        if (t_begin(r, "idx/rejects trailing bytes in a %s file", gz ? "gzip" : "plain")) {
            unsigned char big[12 + 5000] = {0};
            size_t len;
            unsigned char *b = make_idx(NNC_IDX_UBYTE, 3, d3, big, sizeof big, &len);
            snprintf(path, sizeof path, "%s/long%s", dir, gz ? ".gz" : "");
            CHECK(r, b && write_file(path, b, len, gz) == 0, "write");
            snprintf(want, sizeof want, "%s: 5000 trailing byte(s) after the data (dimensions 3 x 2 x 2 of ubyte need "
                     "12 bytes)", path);
            CHECK(r, nnc_idx_read(path, &x, err, sizeof err) == -1 && !strcmp(err, want), "got '%s'", err);
            free(b);
            unlink(path);
            t_end(r);
        }
        if (t_begin(r, "idx/header errors name the %s file", gz ? "gzip" : "plain")) {
            static const unsigned char bad[] = {0, 0, 0x08, 9, 0, 0, 0, 1};
            snprintf(path, sizeof path, "%s/ndim9%s", dir, gz ? ".gz" : "");
            CHECK(r, write_file(path, bad, sizeof bad, gz) == 0, "write");
            snprintf(want, sizeof want, "%s: IDX dimension count 9 is out of range (1 to 8)", path);
            CHECK(r, nnc_idx_read(path, &x, err, sizeof err) == -1 && !strcmp(err, want), "got '%s'", err);
            unlink(path);
            t_end(r);
        }
    }
    if (t_begin(r, "idx/rejects a text file by its magic bytes")) {
        snprintf(path, sizeof path, "%s/data.csv", dir);
        CHECK(r, write_file(path, "a,b\n1,2\n", 8, 0) == 0, "write");
        snprintf(want, sizeof want, "%s: not an IDX file: magic bytes 0x61 0x2c 0x62 0x0a (expected 00 00", path);
        CHECK(r, nnc_idx_read(path, &x, err, sizeof err) == -1 && strstr(err, want) == err, "got '%s'", err);
        unlink(path);
        t_end(r);
    }
    /* A valid gzip file, then damaged: the CRC of its trailer, a cut in its deflate stream, and
     * garbage in the middle of the stream. */
    size_t glen = 0;
    unsigned char *gzb = NULL;
    {
        unsigned char data[3 * 2 * 2 * 100];
        uint32_t d[3] = {300, 2, 2};
        for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7919 % 251);
        snprintf(path, sizeof path, "%s/good.gz", dir);
        if (write_idx(path, NNC_IDX_UBYTE, 3, d, data, sizeof data, 1) == 0) gzb = slurp(path, &glen);
        unlink(path);
    }
    if (t_begin(r, "idx/rejects a gzip file with a bad CRC")) {
        snprintf(path, sizeof path, "%s/crc.gz", dir);
        if (CHECK(r, gzb && glen > 20, "gzip fixture")) {
            gzb[glen - 8] ^= 0x55;
            CHECK(r, write_file(path, gzb, glen, 0) == 0, "write");
            gzb[glen - 8] ^= 0x55;
            snprintf(want, sizeof want, "%s: corrupt gzip data", path);
            CHECK(r, nnc_idx_read(path, &x, err, sizeof err) == -1 && strstr(err, want) == err, "got '%s'", err);
            CHECK(r, !x.values, "out not zeroed");
        }
        unlink(path);
        t_end(r);
    }
    if (t_begin(r, "idx/rejects a cut-off gzip stream")) {
        snprintf(path, sizeof path, "%s/cut.gz", dir);
        if (CHECK(r, gzb && glen > 20, "gzip fixture")) {
            CHECK(r, write_file(path, gzb, glen - 12, 0) == 0, "write");
            snprintf(want, sizeof want, "%s: truncated or corrupt gzip data", path);
            CHECK(r, nnc_idx_read(path, &x, err, sizeof err) == -1 && !strcmp(err, want), "got '%s'", err);
        }
        unlink(path);
        t_end(r);
    }
    if (t_begin(r, "idx/rejects garbage inside a gzip stream")) {
        snprintf(path, sizeof path, "%s/garbage.gz", dir);
        if (CHECK(r, gzb && glen > 40, "gzip fixture")) {
            unsigned char *c = malloc(glen);
            memcpy(c, gzb, glen);
            memset(c + 12, 0xFF, glen - 24);
            CHECK(r, write_file(path, c, glen, 0) == 0, "write");
            free(c);
            int rc = nnc_idx_read(path, &x, err, sizeof err);
            CHECK(r, rc == -1 && strstr(err, path) == err && strstr(err, "gzip"), "got '%s'", err);
        }
        unlink(path);
        t_end(r);
    }
    free(gzb);
}

/* ---- datasets ----------------------------------------------------------------------------- */

static void dataset_cases(test_run *r, const char *dir) {
    char im[256], lb[256], want[600];
    nnc_dataset d;
    nnc_error e;
    static const unsigned char px[4 * 2 * 3] = {0, 255, 51, 1, 2, 3, 10, 20, 30, 40, 50, 60,
                                               255, 254, 253, 0, 0, 0, 128, 64, 32, 16, 8, 4};
    static const unsigned char lab4[4] = {0, 9, 3, 1};
    static const uint32_t d3[3] = {4, 2, 3};
    uint32_t n4 = 4, n3 = 3;
    snprintf(im, sizeof im, "%s/ds-images-idx3-ubyte.gz", dir);
    snprintf(lb, sizeof lb, "%s/ds-labels-idx1-ubyte", dir);
    int ok = write_idx(im, NNC_IDX_UBYTE, 3, d3, px, sizeof px, 1) == 0 &&
             write_idx(lb, NNC_IDX_UBYTE, 1, &n4, lab4, sizeof lab4, 0) == 0;
    if (t_begin(r, "idx/dataset: pixels divided by 255, labels as floats")) {
        nnc_status st = nnc_dataset_load_idx(im, lb, &d, &e);
        if (CHECK(r, ok && st == NNC_OK, "load: %s", e.message)) {
            CHECK(r, d.n == 4 && d.features == 6 && d.targets == 1, "n %zu features %zu targets %zu", d.n, d.features,
                  d.targets);
            int same = 1;
            for (size_t i = 0; i < sizeof px; i++) same &= d.x[i] == (float)px[i] / 255.0f;
            CHECK(r, same && d.x[1] == 1.0f && d.x[0] == 0.0f && d.x[2] == 0.2f, "pixels");
            CHECK(r, d.y[0] == 0.0f && d.y[1] == 9.0f && d.y[2] == 3.0f && d.y[3] == 1.0f, "labels");
        }
        nnc_dataset_free(&d);
        t_end(r);
    }
    if (t_begin(r, "idx/dataset: float images are used as stored")) {
        char fim[256];
        static const unsigned char f[8] = {0x43, 0x7F, 0x00, 0x00, 0xBF, 0x80, 0x00, 0x00}; /* 255, -1 */
        uint32_t fd[2] = {2, 1}, two = 2;
        snprintf(fim, sizeof fim, "%s/float-images.idx", dir);
        snprintf(want, sizeof want, "%s/two-labels.idx", dir);
        write_idx(fim, NNC_IDX_FLOAT, 2, fd, f, sizeof f, 0);
        write_idx(want, NNC_IDX_UBYTE, 1, &two, lab4, 2, 0);
        nnc_status st = nnc_dataset_load_idx(fim, want, &d, &e);
        CHECK(r, st == NNC_OK && d.n == 2 && d.features == 1 && d.x[0] == 255.0f && d.x[1] == -1.0f, "load: %s",
              e.message);
        nnc_dataset_free(&d);
        unlink(fim);
        unlink(want);
        t_end(r);
    }
    if (t_begin(r, "idx/dataset: image and label counts must match")) {
        char lb3[256];
        snprintf(lb3, sizeof lb3, "%s/three-labels.idx", dir);
        CHECK(r, write_idx(lb3, NNC_IDX_UBYTE, 1, &n3, lab4, 3, 0) == 0, "write");
        nnc_status st = nnc_dataset_load_idx(im, lb3, &d, &e);
        snprintf(want, sizeof want, "%s has 4 images but %s has 3 labels", im, lb3);
        CHECK(r, st == NNC_ERR_FORMAT && !strcmp(e.message, want), "%d '%s'", st, e.message);
        CHECK(r, !d.x && !d.y && !d.n, "out not zeroed");
        unlink(lb3);
        t_end(r);
    }
    if (t_begin(r, "idx/dataset: images need at least 2 dimensions")) {
        nnc_status st = nnc_dataset_load_idx(lb, lb, &d, &e);
        snprintf(want, sizeof want, "%s: images file must have at least 2 dimensions, has 1", lb);
        CHECK(r, st == NNC_ERR_FORMAT && !strcmp(e.message, want), "%d '%s'", st, e.message);
        CHECK(r, !d.x && !d.y, "out not zeroed");
        t_end(r);
    }
    if (t_begin(r, "idx/dataset: labels need 1 dimension")) {
        nnc_status st = nnc_dataset_load_idx(im, im, &d, &e);
        snprintf(want, sizeof want, "%s: labels file must have 1 dimension, has 3", im);
        CHECK(r, st == NNC_ERR_FORMAT && !strcmp(e.message, want), "%d '%s'", st, e.message);
        t_end(r);
    }
    if (t_begin(r, "idx/dataset: a missing file is an I/O error naming it")) {
        char missing[256];
        snprintf(missing, sizeof missing, "%s/no-labels", dir);
        nnc_status st = nnc_dataset_load_idx(im, missing, &d, &e);
        snprintf(want, sizeof want, "%s: cannot open", missing);
        CHECK(r, st == NNC_ERR_IO && strstr(e.message, want) == e.message, "%d '%s'", st, e.message);
        CHECK(r, !d.x && !d.y, "out not zeroed");
        t_end(r);
    }
    if (t_begin(r, "idx/dataset: a malformed file is a format error naming it")) {
        char bad[256];
        snprintf(bad, sizeof bad, "%s/bad-images", dir);
        write_file(bad, "not idx", 7, 0);
        nnc_status st = nnc_dataset_load_idx(bad, lb, &d, &e);
        snprintf(want, sizeof want, "%s: not an IDX file", bad);
        CHECK(r, st == NNC_ERR_FORMAT && strstr(e.message, want) == e.message, "%d '%s'", st, e.message);
        unlink(bad);
        t_end(r);
    }
    unlink(im);
    unlink(lb);
}

/* Writes tiny Fashion-MNIST look-alikes: n images of 2x2 pixels; returns 0 on success. */
static int write_fake_fashion(const char *dir, const char *part, uint32_t n, int gz) {
    char im[256], lb[256];
    unsigned char px[4 * 8], lab[8];
    uint32_t d[3] = {n, 2, 2};
    for (size_t i = 0; i < sizeof px; i++) px[i] = (unsigned char)(i * 8);
    for (size_t i = 0; i < sizeof lab; i++) lab[i] = (unsigned char)(i % 10);
    snprintf(im, sizeof im, "%s/%s-images-idx3-ubyte%s", dir, part, gz ? ".gz" : "");
    snprintf(lb, sizeof lb, "%s/%s-labels-idx1-ubyte%s", dir, part, gz ? ".gz" : "");
    return write_idx(im, NNC_IDX_UBYTE, 3, d, px, 4 * n, gz) || write_idx(lb, NNC_IDX_UBYTE, 1, &n, lab, n, gz);
}

static void fashion_cases(test_run *r, const char *dir) {
    char fdir[256], want[600];
    nnc_dataset d;
    nnc_error e;
    saved_env env = env_save("NNC_FASHION_MNIST_DIR");
    snprintf(fdir, sizeof fdir, "%s/fashion", dir);
    if (t_begin(r, "idx/fashion_mnist: files not found says how to get them")) {
        setenv("NNC_FASHION_MNIST_DIR", fdir, 1);
        nnc_status st = nnc_dataset_load("fashion_mnist", 0, &d, &e);
        snprintf(want, sizeof want, "fashion_mnist: files not found in %s (apt-get install dataset-fashion-mnist, or "
                 "set NNC_FASHION_MNIST_DIR)", fdir);
        CHECK(r, st == NNC_ERR_IO && !strcmp(e.message, want), "%d '%s'", st, e.message);
        CHECK(r, !d.x && !d.n, "out not zeroed");
        t_end(r);
    }
    int made = mkdir_ok(fdir);
    if (t_begin(r, "idx/fashion_mnist and fashion_mnist_test from NNC_FASHION_MNIST_DIR")) {
        setenv("NNC_FASHION_MNIST_DIR", fdir, 1);
        CHECK(r, made && write_fake_fashion(fdir, "train", 6, 1) == 0 && write_fake_fashion(fdir, "t10k", 3, 1) == 0,
              "write fixtures");
        nnc_status st = nnc_dataset_load("fashion_mnist", 0, &d, &e);
        CHECK(r, st == NNC_OK && d.n == 6 && d.features == 4 && d.targets == 1, "train: %d %s n %zu", st, e.message,
              d.n);
        if (st == NNC_OK) CHECK(r, d.x[1] == 8.0f / 255.0f && d.y[5] == 5.0f, "train values");
        nnc_dataset_free(&d);
        st = nnc_dataset_load("fashion_mnist_test", 1, &d, &e);
        CHECK(r, st == NNC_OK && d.n == 3 && d.features == 4, "test: %d %s n %zu", st, e.message, d.n);
        nnc_dataset_free(&d);
        t_end(r);
    }
    if (t_begin(r, "idx/fashion_mnist_test missing while the train part is there")) {
        char p[300];
        snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", fdir);
        unlink(p);
        setenv("NNC_FASHION_MNIST_DIR", fdir, 1);
        nnc_status st = nnc_dataset_load("fashion_mnist_test", 0, &d, &e);
        snprintf(want, sizeof want, "fashion_mnist_test: files not found in %s (", fdir);
        CHECK(r, st == NNC_ERR_IO && strstr(e.message, want) == e.message, "%d '%s'", st, e.message);
        t_end(r);
    }
    if (t_begin(r, "idx/fashion_mnist reads uncompressed files too")) {
        setenv("NNC_FASHION_MNIST_DIR", fdir, 1);
        CHECK(r, write_fake_fashion(fdir, "t10k", 2, 0) == 0, "write fixtures");
        nnc_status st = nnc_dataset_load("fashion_mnist_test", 0, &d, &e);
        CHECK(r, st == NNC_OK && d.n == 2 && d.features == 4, "%d %s", st, e.message);
        nnc_dataset_free(&d);
        t_end(r);
    }
    if (t_begin(r, "idx/fashion_mnist has one target")) {
        setenv("NNC_FASHION_MNIST_DIR", fdir, 1);
        nnc_status st = nnc_dataset_load("fashion_mnist", 3, &d, &e);
        CHECK(r, st == NNC_ERR_ARG && strstr(e.message, "fashion_mnist: the dataset has 1 target"), "%d '%s'", st,
              e.message);
        t_end(r);
    }
    env_restore(&env);
    remove_tree(fdir);
}

static void real_fashion_case(test_run *r) {
    if (!t_begin(r, "idx/real Fashion-MNIST: 60000 + 10000 images of 784 pixels")) return;
    if (!t_slow(r)) {
        t_skip(r, "needs --slow and dataset-fashion-mnist");
        return;
    }
    const char *env = getenv("NNC_FASHION_MNIST_DIR");
    char p[600];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz",
             env && *env ? env : "/usr/share/datasets/fashion-mnist");
    if (access(p, R_OK)) {
        t_skip(r, "needs --slow and dataset-fashion-mnist");
        return;
    }
    static const char *const names[2] = {"fashion_mnist", "fashion_mnist_test"};
    static const size_t counts[2] = {60000, 10000};
    for (int k = 0; k < 2; k++) {
        nnc_dataset d;
        nnc_error e;
        nnc_status st = nnc_dataset_load(names[k], 0, &d, &e);
        if (CHECK(r, st == NNC_OK, "%s: %s", names[k], e.message)) {
            CHECK(r, d.n == counts[k] && d.features == 784 && d.targets == 1, "%s: %zu x %zu", names[k], d.n,
                  d.features);
            size_t bad_label = 0, bad_px = 0, per_class[10] = {0};
            float maxpx = 0.0f;
            for (size_t i = 0; i < d.n; i++) {
                float y = d.y[i];
                if (!(y >= 0.0f && y <= 9.0f && y == (float)(int)y)) bad_label++;
                else per_class[(int)y]++;
            }
            for (size_t i = 0; i < d.n * d.features; i++) {
                if (!(d.x[i] >= 0.0f && d.x[i] <= 1.0f)) bad_px++;
                if (d.x[i] > maxpx) maxpx = d.x[i];
            }
            CHECK(r, bad_label == 0, "%s: %zu labels outside 0..9", names[k], bad_label);
            CHECK(r, bad_px == 0 && maxpx == 1.0f, "%s: %zu pixels outside [0, 1], max %g", names[k], bad_px,
                  (double)maxpx);
            /* Fashion-MNIST is balanced: 6000 / 1000 images per class. */
            int balanced = 1;
            for (int c = 0; c < 10; c++) balanced &= per_class[c] == counts[k] / 10;
            CHECK(r, balanced, "%s: classes not balanced (class 0: %zu)", names[k], per_class[0]);
        }
        nnc_dataset_free(&d);
    }
    t_end(r);
}

void suite_idx(test_run *r);
void suite_idx(test_run *r) {
    char dir[] = "/tmp/nnc_test_XXXXXX";
    if (!mkdtemp(dir)) {
        if (t_begin(r, "idx/temp dir")) { CHECK(r, 0, "mkdtemp failed"); t_end(r); }
        return;
    }
    roundtrip_cases(r, dir);
    decode_cases(r);
    bad_parse_cases(r);
    bad_file_cases(r, dir);
    dataset_cases(r, dir);
    fashion_cases(r, dir);
    real_fashion_case(r);
    remove_tree(dir);
}
