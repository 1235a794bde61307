/* Zip archives (zip_io.h) over libzip. Reading checks each member's declared sizes against
 * the file before inflating anything (APPNOTE.TXT 4.4.8-4.4.9: compressed and uncompressed
 * sizes): a stored member is its own size, a deflated one at most 1100 times its compressed
 * size (deflate's largest ratio is 1032, RFC 1951's 258-byte matches from two 1-bit codes; the
 * rest is slack for block headers), and no member beyond the caller's cap; then exactly the declared bytes are read, and libzip checks the
 * CRC-32 at their end. Writing builds the archive in memory, so that nnc's atomic writer puts
 * it on disk like any other file. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>
#include "zip_io.h"
#include "../format/message.h"

struct nnc_zip {
    zip_t *z;
    const char *path;
    size_t file_size;
};

nnc_zip *nnc_zip_open(const char *path, char *msg, size_t n) {
    struct stat sb;
    if (stat(path, &sb)) {
        nnc_msg(msg, n, "%s: cannot open", path);
        return NULL;
    }
    int code = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!z) {
        zip_error_t e;
        zip_error_init_with_code(&e, code);
        nnc_msg(msg, n, "%s: not a complete zip file (%s%s)", path, zip_error_strerror(&e),
                code == ZIP_ER_NOZIP || code == ZIP_ER_INCONS ? "; truncated?" : "");
        zip_error_fini(&e);
        return NULL;
    }
    nnc_zip *r = calloc(1, sizeof *r);
    if (!r) {
        zip_discard(z);
        nnc_msg(msg, n, "%s: out of memory", path);
        return NULL;
    }
    r->z = z;
    r->path = path;
    r->file_size = (size_t)sb.st_size;
    return r;
}

void nnc_zip_close(nnc_zip *z) {
    if (!z) return;
    zip_discard(z->z);
    free(z);
}

int nnc_zip_read(nnc_zip *z, const char *name, size_t cap, void **out, size_t *len, char *msg, size_t n) {
    *out = NULL;
    *len = 0;
    zip_int64_t idx = zip_name_locate(z->z, name, 0);
    if (idx < 0) return 0;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z->z, (zip_uint64_t)idx, 0, &st) ||
        (st.valid & (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD)) !=
            (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD))
        return nnc_msg(msg, n, "%s: member '%s' has unreadable sizes", z->path, name);
    if (st.comp_size > z->file_size)
        return nnc_msg(msg, n, "%s: member '%s' declares %llu compressed bytes, more than the whole file's %zu "
                       "(truncated?)", z->path, name, (unsigned long long)st.comp_size, z->file_size);
    int stored = st.comp_method == ZIP_CM_STORE;
    unsigned long long size = st.size, comp = st.comp_size;
    if (stored && size != comp)
        return nnc_msg(msg, n, "%s: member '%s' declares %llu bytes but stores %llu (a damaged or forged zip)", z->path,
                       name, size, comp);
    if (!stored && size / 1100 > comp + 64)
        return nnc_msg(msg, n, "%s: member '%s' declares %llu bytes inflated from %llu, more than deflate can give "
                       "(a zip bomb?)", z->path, name, size, comp);
    if (size > cap)
        return nnc_msg(msg, n, "%s: member '%s' declares %llu bytes, more than the %zu nnc reads from one member",
                       z->path, name, size, cap);
    char *buf = malloc((size_t)st.size + 1);
    zip_file_t *f = buf ? zip_fopen_index(z->z, (zip_uint64_t)idx, 0) : NULL;
    zip_int64_t got = 0;
    char extra;
    if (f) {
        while ((zip_uint64_t)got < st.size) {
            zip_int64_t r = zip_fread(f, buf + got, st.size - (zip_uint64_t)got);
            if (r <= 0) break;
            got += r;
        }
    }
    /* one more byte must be the end: data that inflate past the declared size are damaged */
    int bad = !f || (zip_uint64_t)got != st.size || zip_fread(f, &extra, 1) != 0;
    if (bad) {
        nnc_msg(msg, n, "%s: member '%s' cannot be read whole (%s)", z->path, name,
                !buf ? "out of memory" : f ? zip_file_strerror(f) : zip_strerror(z->z));
        if (f) zip_fclose(f);
        free(buf);
        return -1;
    }
    zip_fclose(f);
    buf[st.size] = '\0';
    *out = buf;
    *len = (size_t)st.size;
    return 1;
}

void *nnc_zip_write(const nnc_zip_member *members, int count, size_t *len, char *msg, size_t n) {
    zip_error_t e;
    zip_error_init(&e);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &e);
    zip_t *z = NULL;
    void *bytes = NULL;
    if (src) {
        zip_source_keep(src); /* it outlives the archive: its bytes are the result */
        z = zip_open_from_source(src, ZIP_TRUNCATE, &e);
    }
    int ok = z != NULL;
    for (int i = 0; ok && i < count; i++) {
        zip_source_t *m = zip_source_buffer(z, members[i].data, members[i].len, 0);
        zip_int64_t idx = m ? zip_file_add(z, members[i].name, m, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0 && m) zip_source_free(m);
        /* 1980-01-01, the earliest date a zip holds: the same model gives the same bytes */
        ok = idx >= 0 && zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0) == 0 &&
             zip_file_set_mtime(z, (zip_uint64_t)idx, 315532800 + 43200, 0) == 0;
    }
    if (ok && zip_close(z) == 0) {
        z = NULL;
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_source_stat(src, &st) == 0 && (st.valid & ZIP_STAT_SIZE) && zip_source_open(src) == 0) {
            bytes = malloc(st.size ? st.size : 1);
            if (bytes && zip_source_read(src, bytes, st.size) != (zip_int64_t)st.size) {
                free(bytes);
                bytes = NULL;
            }
            zip_source_close(src);
            *len = (size_t)st.size;
        }
    }
    if (!bytes) nnc_msg(msg, n, "cannot make the zip archive (%s)", z ? zip_strerror(z) : zip_error_strerror(&e));
    if (z) zip_discard(z);
    if (src) zip_source_free(src);
    zip_error_fini(&e);
    return bytes;
}
