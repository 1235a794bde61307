/* Tests for the safetensors reader/writer (src/io/safetensors.c): round trips, the atomic
 * write under injected faults, one case per rejected header, and a small mutation fuzz.
 * Out of scope: interoperability with other implementations (checked by hand with Python). */
#define _POSIX_C_SOURCE 200809L
#include "format/safetensors.h"
#include "test.h"
#include "files.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_FILE "bad.safetensors"

static int make_tmpdir(char *dir) {
    strcpy(dir, "/tmp/nnc_test_XXXXXX");
    return mkdtemp(dir) != NULL;
}

/* Counts directory entries (other than . and ..), which must include no leftover temp file. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
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

/* A file image: 8-byte length prefix, the header text, then datalen pattern bytes. */
static unsigned char *image(const char *hdr, size_t datalen, size_t *len) {
    size_t h = strlen(hdr);
    unsigned char *b = malloc(8 + h + datalen + 1);
    *len = 0;
    if (!b) return NULL;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, hdr, h);
    for (size_t i = 0; i < datalen; i++) b[8 + h + i] = (unsigned char)(i * 7 + 1);
    *len = 8 + h + datalen;
    return b;
}

typedef struct {
    float kernel[6];
    double f64[2];
    int64_t step;
    int32_t idx[4];
    unsigned char mask[3];
    nnc_st_tensor t[7];
    nnc_st_meta meta[2];
} sample;

static void tensor(nnc_st_tensor *t, const char *name, nnc_st_dtype dt, int ndim, const int64_t *shape,
                   const void *data, size_t nbytes) {
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->data = data;
    t->nbytes = nbytes;
}

/* Mixed dtypes in an order that would misalign 8-byte tensors if written as given. */
static void make_sample(sample *s, float scale) {
    static const int64_t s23[] = {2, 3}, s3[] = {3}, s04[] = {0, 4}, s22[] = {2, 2}, s2[] = {2};
    for (int i = 0; i < 6; i++) s->kernel[i] = scale * (float)(i + 1) - 0.5f;
    s->f64[0] = 1.0 / 3.0, s->f64[1] = -1e300;
    s->step = 123456789012LL;
    for (int i = 0; i < 4; i++) s->idx[i] = -7 * i;
    s->mask[0] = 1, s->mask[1] = 0, s->mask[2] = 255;
    tensor(&s->t[0], "mask", NNC_ST_U8, 1, s3, s->mask, 3);
    tensor(&s->t[1], "dense.kernel", NNC_ST_F32, 2, s23, s->kernel, sizeof s->kernel);
    tensor(&s->t[2], "step", NNC_ST_I64, 0, NULL, &s->step, 8);
    tensor(&s->t[3], "empty", NNC_ST_F32, 2, s04, NULL, 0);
    tensor(&s->t[4], "idx", NNC_ST_I32, 2, s22, s->idx, sizeof s->idx);
    tensor(&s->t[5], "f64", NNC_ST_F64, 1, s2, s->f64, sizeof s->f64);
    tensor(&s->t[6], "layer \"q\"/\xc3\xa9", NNC_ST_F32, 1, s2, s->kernel + 1, 8);
    s->meta[0].key = "format", s->meta[0].value = "nnc";
    s->meta[1].key = "note", s->meta[1].value = "line\nbreak \"quoted\" \xc3\xa9";
}

static void check_matches(test_run *r, const nnc_st_file *f, const sample *s) {
    CHECK(r, f->ntensors == 7 && f->nmeta == 2, "%zu tensors, %zu meta", f->ntensors, f->nmeta);
    for (int i = 0; i < 7; i++) {
        const nnc_st_tensor *w = &s->t[i], *g = nnc_st_find(f, w->name);
        if (!CHECK(r, g, "tensor '%s' missing", w->name)) continue;
        CHECK(r, g->dtype == w->dtype && g->ndim == w->ndim && g->nbytes == w->nbytes, "'%s' meta", w->name);
        CHECK(r, !memcmp(g->shape, w->shape, sizeof(int64_t) * (size_t)w->ndim), "'%s' shape", w->name);
        CHECK(r, !w->nbytes || !memcmp(g->data, w->data, w->nbytes), "'%s' data", w->name);
        CHECK(r, (uintptr_t)g->data % nnc_st_dtype_size(g->dtype) == 0, "'%s' misaligned", w->name);
    }
    const char *note = nnc_st_meta_get(f, "note");
    CHECK(r, note && !strcmp(note, s->meta[1].value), "metadata 'note'");
    CHECK(r, !nnc_st_meta_get(f, "absent") && !nnc_st_find(f, "absent"), "absent lookups");
}

static void roundtrip_cases(test_run *r, const char *dir) {
    char path[256], err[512];
    sample s;
    make_sample(&s, 1.0f);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (t_begin(r, "safetensors/round trip of all dtypes, scalar, empty tensor, metadata")) {
        nnc_st_file f;
        int rc = nnc_st_write(path, s.t, 7, s.meta, 2, err, sizeof err);
        CHECK(r, rc == 0, "write: %s", err);
        CHECK(r, count_entries(dir) == 1, "leftover files in %s", dir);
        if (CHECK(r, nnc_st_read(path, &f, err, sizeof err) == 0, "read: %s", err)) check_matches(r, &f, &s);
        nnc_st_free(&f);
        size_t len;
        unsigned char *b = slurp(path, &len);
        uint64_t h = 0;
        for (int i = 7; b && len >= 8 && i >= 0; i--) h = (h << 8) | b[i];
        CHECK(r, b && h % 8 == 0 && h + 8 <= len && b[8] == '{', "header length %llu not padded", (unsigned long long)h);
        if (b && CHECK(r, nnc_st_parse(b, len, "mem", &f, err, sizeof err) == 0, "parse: %s", err))
            check_matches(r, &f, &s);
        nnc_st_free(&f);
        free(b);
        t_end(r);
    }
    if (t_begin(r, "safetensors/overwrite keeps the file mode")) {
        sample s2;
        nnc_st_file f;
        make_sample(&s2, 3.0f);
        struct stat st;
        chmod(path, 0640);
        CHECK(r, nnc_st_write(path, s2.t, 7, NULL, 0, err, sizeof err) == 0, "write: %s", err);
        CHECK(r, stat(path, &st) == 0 && (st.st_mode & 0777) == 0640, "mode %o", (unsigned)(st.st_mode & 0777));
        CHECK(r, nnc_st_read(path, &f, err, sizeof err) == 0 && f.nmeta == 0, "read: %s", err);
        const nnc_st_tensor *k = nnc_st_find(&f, "dense.kernel");
        CHECK(r, k && ((const float *)k->data)[5] == 17.5f, "new data visible");
        nnc_st_free(&f);
        t_end(r);
    }
    if (t_begin(r, "safetensors/no tensors")) {
        char p2[300];
        nnc_st_file f;
        snprintf(p2, sizeof p2, "%s/empty.safetensors", dir);
        CHECK(r, nnc_st_write(p2, NULL, 0, NULL, 0, err, sizeof err) == 0, "write: %s", err);
        CHECK(r, nnc_st_read(p2, &f, err, sizeof err) == 0 && f.ntensors == 0 && f.bloblen == 0, "read: %s", err);
        nnc_st_free(&f);
        unlink(p2);
        t_end(r);
    }
    if (t_begin(r, "safetensors/accepts tensors in any data order")) {
        size_t len;
        nnc_st_file f;
        unsigned char *b = image("{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},"
                                 "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                                 "\"a\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4],\"extra\":1}}", 6, &len);
        int rc = nnc_st_parse(b, len, ST_FILE, &f, err, sizeof err);
        CHECK(r, rc == 0 && f.ntensors == 3, "parse: %s", err);
        const nnc_st_tensor *t = nnc_st_find(&f, "b");
        CHECK(r, t && t->nbytes == 2 && ((const unsigned char *)t->data)[0] == (unsigned char)(4 * 7 + 1), "b data");
        CHECK(r, f.ntensors == 3 && !strcmp(f.tensors[0].name, "b"), "header order kept");
        nnc_st_free(&f);
        free(b);
        t_end(r);
    }
    unlink(path);
}

static void atomic_cases(test_run *r, const char *dir) {
    char path[256], err[512];
    sample a, b;
    make_sample(&a, 1.0f);
    make_sample(&b, 2.0f);
    snprintf(path, sizeof path, "%s/ckpt.safetensors", dir);
    if (t_begin(r, "safetensors/atomic write: failure after N bytes leaves the old file")) {
        size_t oldlen, newlen;
        CHECK(r, nnc_st_write(path, a.t, 7, a.meta, 2, err, sizeof err) == 0, "write: %s", err);
        unsigned char *old = slurp(path, &oldlen);
        char p2[300];
        snprintf(p2, sizeof p2, "%s/size_probe", dir);
        CHECK(r, nnc_st_write(p2, b.t, 7, NULL, 0, err, sizeof err) == 0, "probe: %s", err);
        free(slurp(p2, &newlen));
        unlink(p2);
        long long cuts[] = {0, 1, 7, 8, 9, 64, (long long)newlen / 2, (long long)newlen - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            size_t len;
            int rc = nnc_st_write_faulty(path, b.t, 7, NULL, 0, cuts[i], err, sizeof err);
            CHECK(r, rc == -1 && strstr(err, "ckpt.safetensors: cannot write"), "cut %lld: rc %d '%s'",
                  cuts[i], rc, err);
            unsigned char *now = slurp(path, &len);
            CHECK(r, now && old && len == oldlen && !memcmp(now, old, len), "cut %lld: old file changed", cuts[i]);
            CHECK(r, count_entries(dir) == 1, "cut %lld: temp file left behind", cuts[i]);
            free(now);
        }
        CHECK(r, nnc_st_write_faulty(path, b.t, 7, NULL, 0, (long long)newlen, err, sizeof err) == 0,
              "exact budget: %s", err);
        nnc_st_file f;
        CHECK(r, nnc_st_read(path, &f, err, sizeof err) == 0 && f.nmeta == 0, "new file readable: %s", err);
        nnc_st_free(&f);
        free(old);
        unlink(path);
        t_end(r);
    }
    if (t_begin(r, "safetensors/atomic write: failure creates no file")) {
        CHECK(r, nnc_st_write_faulty(path, b.t, 7, NULL, 0, 10, err, sizeof err) == -1, "should fail");
        CHECK(r, count_entries(dir) == 0, "files left behind");
        t_end(r);
    }
    if (t_begin(r, "safetensors/write error: missing directory")) {
        char p2[128], want[512];
        snprintf(p2, sizeof p2, "%s/nodir/model.safetensors", dir);
        snprintf(want, sizeof want, "%s: cannot create a temporary file in '%s/nodir': No such file or directory", p2, dir);
        CHECK(r, nnc_st_write(p2, a.t, 7, NULL, 0, err, sizeof err) == -1 && !strcmp(err, want),
              "got '%s'", err);
        t_end(r);
    }
}

static void write_error_cases(test_run *r, const char *dir) {
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    static const struct { const char *name, *want; } rows[] = {
        {"duplicate name", "duplicate tensor name 'mask'"},
        {"nbytes mismatch", "tensor 'dense.kernel': nbytes 20 does not match"},
        {"reserved name", "'__metadata__' is reserved"},
        {"bad dtype", "tensor 'step': invalid dtype 99"},
        {"NULL data", "tensor 'idx': data is NULL"},
        {"negative dim", "tensor 'f64': shape[0] = -2 is invalid"},
        {"bad ndim", "tensor 'mask': ndim 9 out of range"},
        {"unterminated name", "is not terminated within 160 bytes"},
        {"invalid UTF-8 name", "do not form a valid header"},
        {"NULL metadata value", "metadata entry 0 is NULL"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!t_begin(r, "safetensors/write rejects %s", rows[i].name)) continue;
        sample s;
        make_sample(&s, 1.0f);
        switch (i) {
        case 0: strcpy(s.t[4].name, "mask"); break;
        case 1: s.t[1].nbytes = 20; break;
        case 2: strcpy(s.t[6].name, "__metadata__"); break;
        case 3: s.t[2].dtype = (nnc_st_dtype)99; break;
        case 4: s.t[4].data = NULL; break;
        case 5: s.t[5].shape[0] = -2; break;
        case 6: s.t[0].ndim = 9; break;
        case 7: memset(s.t[3].name, 'n', sizeof s.t[3].name); break;
        case 8: strcpy(s.t[6].name, "bad\xff"); break;
        case 9: s.meta[0].value = NULL; break;
        }
        int rc = nnc_st_write(path, s.t, 7, s.meta, 2, err, sizeof err);
        CHECK(r, rc == -1 && strstr(err, rows[i].want) && !strncmp(err, path, strlen(path)), "got '%s'", err);
        CHECK(r, count_entries(dir) == 0, "file written");
        t_end(r);
    }
}

#define T(name, dt, shape, off) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" off "}"

static void bad_header_cases(test_run *r) {
    static const struct { const char *name, *hdr; size_t datalen; const char *want; } rows[] = {
        {"header that is not JSON", "{\"w\":", 0, "header is not valid JSON: byte 5: unexpected end of input"},
        {"header with trailing garbage", "{} x", 0, "header is not valid JSON"},
        {"header that is an array", "[]", 0, "header is not a JSON object"},
        {"entry that is not an object", "{\"w\":[1]}", 0, "tensor 'w': entry is not an object"},
        {"missing dtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing \"dtype\""},
        {"missing shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing \"shape\""},
        {"missing data_offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'w': missing \"data_offsets\""},
        {"dtype not a string", "{" T("w", "F32", "[1]", "[0,4]") ",\"v\":{\"dtype\":4,\"shape\":[],\"data_offsets\":[4,8]}}", 8,
         "tensor 'v': \"dtype\" is not a string"},
        {"unknown dtype", "{" T("w", "BF16", "[2]", "[0,4]") "}", 4, "tensor 'w': unsupported dtype 'BF16'"},
        {"shape not an array", "{" T("w", "F32", "4", "[0,4]") "}", 4, "tensor 'w': \"shape\" is not an array"},
        {"negative dim", "{" T("w", "F32", "[-1]", "[0,4]") "}", 4, "tensor 'w': shape[0] is not a non-negative integer"},
        {"non-integer dim", "{" T("w", "F32", "[1,2.5]", "[0,4]") "}", 4, "tensor 'w': shape[1] is not a non-negative integer"},
        {"string dim", "{" T("w", "F32", "[\"1\"]", "[0,4]") "}", 4, "shape[0] is not a non-negative integer"},
        {"huge dim", "{" T("w", "F32", "[1e300]", "[0,4]") "}", 4, "shape[0] is not a non-negative integer"},
        {"too many dims", "{" T("w", "F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4, "shape has 9 dimensions"},
        {"data_offsets not an array", "{" T("w", "F32", "[1]", "0") "}", 4, "\"data_offsets\" is not two non-negative integers"},
        {"data_offsets of length 3", "{" T("w", "F32", "[1]", "[0,4,4]") "}", 4, "\"data_offsets\" is not two"},
        {"negative offset", "{" T("w", "F32", "[1]", "[-4,0]") "}", 4, "\"data_offsets\" is not two"},
        {"end before begin", "{" T("w", "F32", "[0]", "[4,0]") "}", 4, "tensor 'w': data_offsets [4, 0] end before begin"},
        {"end past the data", "{" T("w", "F32", "[2]", "[0,8]") "}", 4, "tensor 'w': data_offsets end 8 is past the data section (4 bytes)"},
        {"byte length not matching shape", "{" T("w", "F32", "[2]", "[0,4]") "}", 4,
         "tensor 'w': data_offsets span 4 bytes but its shape and dtype F32 need 8"},
        {"shape overflowing size_t", "{" T("w", "F64", "[4294967296,4294967296]", "[0,8]") "}", 8, "need more than"},
        {"overlapping tensors", "{" T("a", "F32", "[2]", "[0,8]") "," T("b", "F32", "[1]", "[4,8]") "}", 8,
         "tensors 'a' and 'b' overlap"},
        {"zero-size tensor inside another", "{" T("a", "F32", "[2]", "[0,8]") "," T("z", "F32", "[0]", "[4,4]") "}", 8,
         "tensors 'a' and 'z' overlap"},
        {"gap between tensors", "{" T("a", "F32", "[1]", "[0,4]") "," T("b", "F32", "[1]", "[8,12]") "}", 12,
         "gap in the data section: bytes 4..8 belong to no tensor"},
        {"gap before the first tensor", "{" T("a", "F32", "[1]", "[4,8]") "}", 8, "bytes 0..4 belong to no tensor"},
        {"bytes after the last tensor", "{" T("a", "F32", "[1]", "[0,4]") "}", 6, "bytes 4..6 after the last tensor"},
        {"duplicate tensor names", "{" T("a", "F32", "[1]", "[0,4]") "," T("a", "F32", "[1]", "[4,8]") "}", 8,
         "duplicate key 'a'"},
        {"__metadata__ not an object", "{\"__metadata__\":[]}", 0, "__metadata__ is not an object"},
        {"__metadata__ value not a string", "{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value for 'k' is not a string"},
        {"__metadata__ twice", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate key '__metadata__'"},
    };
    char err[512];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!t_begin(r, "safetensors/rejects %s", rows[i].name)) continue;
        size_t len;
        nnc_st_file f;
        unsigned char *b = image(rows[i].hdr, rows[i].datalen, &len);
        strcpy(err, "(unset)");
        int rc = b ? nnc_st_parse(b, len, ST_FILE, &f, err, sizeof err) : 0;
        CHECK(r, rc == -1, "accepted");
        CHECK(r, strstr(err, rows[i].want) && !strncmp(err, ST_FILE ": ", strlen(ST_FILE) + 2),
              "error '%s' lacks '%s'", err, rows[i].want);
        CHECK(r, rc == 0 || (!f.tensors && !f.blob && !f.meta), "output not cleared");
        if (rc == 0) nnc_st_free(&f);
        free(b);
        t_end(r);
    }
}

static void expect_parse_error(test_run *r, const unsigned char *b, size_t len, const char *want) {
    char err[512] = "(unset)";
    nnc_st_file f;
    int rc = nnc_st_parse(b, len, ST_FILE, &f, err, sizeof err);
    CHECK(r, rc == -1 && strstr(err, want), "rc %d, error '%s' lacks '%s'", rc, err, want);
    if (rc == 0) nnc_st_free(&f);
}

static void bad_file_cases(test_run *r, const char *dir) {
    char err[512], path[256];
    if (t_begin(r, "safetensors/rejects a file shorter than 8 bytes")) {
        static const unsigned char b[5] = {1, 0, 0, 0, 0};
        expect_parse_error(r, b, 5, ST_FILE ": file is 5 bytes, too short for a safetensors header");
        expect_parse_error(r, NULL, 0, "file is 0 bytes");
        t_end(r);
    }
    if (t_begin(r, "safetensors/rejects an absurd header length")) {
        static const unsigned char b[16] = {0, 0, 0, 0, 0, 1, 0, 0, '{', '}'};
        expect_parse_error(r, b, 16, "header length 1099511627776 is absurdly large");
        t_end(r);
    }
    if (t_begin(r, "safetensors/rejects a header length past the end")) {
        static const unsigned char b[12] = {9, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
        expect_parse_error(r, b, 12, "header length 9 runs past the end of the file (12 bytes)");
        t_end(r);
    }
    if (t_begin(r, "safetensors/rejects a tensor name longer than 159 bytes")) {
        char hdr[400], name[200];
        size_t len;
        memset(name, 'n', 160);
        name[160] = '\0';
        snprintf(hdr, sizeof hdr, "{\"%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", name);
        unsigned char *b = image(hdr, 1, &len);
        expect_parse_error(r, b, len, "is longer than 159 bytes");
        free(b);
        name[159] = '\0';
        snprintf(hdr, sizeof hdr, "{\"%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", name);
        b = image(hdr, 1, &len);
        nnc_st_file f;
        CHECK(r, nnc_st_parse(b, len, ST_FILE, &f, err, sizeof err) == 0, "159 bytes is fine: %s", err);
        nnc_st_free(&f);
        free(b);
        t_end(r);
    }
    if (t_begin(r, "safetensors/read: missing file")) {
        nnc_st_file f;
        snprintf(path, sizeof path, "%s/absent.safetensors", dir);
        CHECK(r, nnc_st_read(path, &f, err, sizeof err) == -1 && strstr(err, "absent.safetensors: cannot open: No such file"),
              "got '%s'", err);
        t_end(r);
    }
    if (t_begin(r, "safetensors/read: short file on disk")) {
        nnc_st_file f;
        snprintf(path, sizeof path, "%s/short.safetensors", dir);
        FILE *fp = fopen(path, "wb");
        if (fp) { fputs("abc", fp); fclose(fp); }
        CHECK(r, nnc_st_read(path, &f, err, sizeof err) == -1 && strstr(err, "short.safetensors: file is 3 bytes"),
              "got '%s'", err);
        CHECK(r, nnc_st_read(dir, &f, err, sizeof err) == -1 && strstr(err, "not a regular file"), "dir: '%s'", err);
        unlink(path);
        t_end(r);
    }
}

/* Truncations and random byte mutations of a valid file must fail cleanly or parse into
 * tensors that lie inside the blob; the sanitizers catch anything else. */
static void fuzz_cases(test_run *r, const char *dir) {
    char path[256], err[512];
    sample s;
    make_sample(&s, 1.0f);
    snprintf(path, sizeof path, "%s/fuzz.safetensors", dir);
    if (!t_begin(r, "safetensors/fuzz: truncations and mutations never crash")) return;
    size_t len;
    CHECK(r, nnc_st_write(path, s.t, 7, s.meta, 2, err, sizeof err) == 0, "write: %s", err);
    unsigned char *orig = slurp(path, &len), *b = malloc(len + 1);
    unlink(path);
    if (!orig || !b || len < 16) { CHECK(r, 0, "setup"); free(orig); free(b); t_end(r); return; }
    int accepted_truncation = 0, oob = 0;
    for (size_t cut = 0; cut < len; cut++) {
        nnc_st_file f;
        memcpy(b, orig, cut);
        if (nnc_st_parse(b, cut, "fuzz", &f, err, sizeof err) == 0) accepted_truncation++, nnc_st_free(&f);
    }
    uint64_t state = 12345;
    int iters = t_slow(r) ? 200000 : 4000;
    static const char alphabet[] = "{}[]\":,0123456789-.eE \\uFIU8ab";
    for (int it = 0; it < iters; it++) {
        memcpy(b, orig, len);
        int nmut = 1 + it % 4;
        for (int m = 0; m < nmut; m++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            size_t pos = (size_t)(state >> 33) % (it % 3 ? len : 64);
            b[pos] = it % 2 ? (unsigned char)(state >> 20) : (unsigned char)alphabet[(state >> 20) % (sizeof alphabet - 1)];
        }
        nnc_st_file f;
        if (nnc_st_parse(b, len, "fuzz", &f, err, sizeof err) == 0) {
            for (size_t i = 0; i < f.ntensors; i++) {
                const char *d = f.tensors[i].data, *lo = f.blob;
                if (d < lo || f.tensors[i].nbytes > f.bloblen || (size_t)(d - lo) > f.bloblen - f.tensors[i].nbytes) oob++;
            }
            nnc_st_free(&f);
        }
    }
    CHECK(r, accepted_truncation == 0, "%d truncated files accepted", accepted_truncation);
    CHECK(r, oob == 0, "%d tensors outside the blob", oob);
    t_info(r, "%d mutations, %zu truncations", iters, len);
    free(orig);
    free(b);
    t_end(r);
}

void suite_safetensors(test_run *r);
void suite_safetensors(test_run *r) {
    char dir[64];
    if (!make_tmpdir(dir)) {
        if (t_begin(r, "safetensors/temp dir")) { CHECK(r, 0, "mkdtemp failed"); t_end(r); }
        return;
    }
    roundtrip_cases(r, dir);
    atomic_cases(r, dir);
    write_error_cases(r, dir);
    bad_header_cases(r);
    bad_file_cases(r, dir);
    fuzz_cases(r, dir);
    remove_tree(dir);
}
