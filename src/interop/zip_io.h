/* Zip archives for Keras's .keras files (src/interop/zip_io.c), over libzip: reading named
 * members whole with a cap on what may be inflated, and writing an archive in memory. */
#ifndef NNC_ZIP_IO_H
#define NNC_ZIP_IO_H
#include <stddef.h>

typedef struct nnc_zip nnc_zip;

/* Opens path for reading; NULL with "path: why" in msg (not a zip, truncated, damaged). */
nnc_zip *nnc_zip_open(const char *path, char *msg, size_t n);
void nnc_zip_close(nnc_zip *z);
/* Reads member `name` whole (malloc'd, NUL-terminated after len bytes). Returns 1, 0 when the
 * archive has no such member, -1 with "path: member 'name': why" in msg when it cannot be
 * read: a size past what the file can hold (more than a deflate stream's 1032:1 ratio, or
 * over `cap` bytes), data that inflate to another size or fail their CRC. */
int nnc_zip_read(nnc_zip *z, const char *name, size_t cap, void **out, size_t *len, char *msg, size_t n);

/* One member of an archive to write. */
typedef struct {
    const char *name;
    const void *data;
    size_t len;
} nnc_zip_member;

/* An archive of the members, stored uncompressed as Python's zipfile writes by default, with
 * a fixed date so that the same model gives the same bytes; malloc'd bytes, or NULL with why. */
void *nnc_zip_write(const nnc_zip_member *members, int count, size_t *len, char *msg, size_t n);

#endif
