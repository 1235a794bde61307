/* Atomic file replacement: write aside, then rename (src/io/atomic.c). */
#ifndef NNC_ATOMIC_H
#define NNC_ATOMIC_H
#include <stddef.h>

/* Writes len bytes to path so that readers see either the old file or the whole new one:
 * a mkstemp temporary in the same directory is written, fsynced and renamed over path, then
 * the directory is fsynced. fail_after >= 0 is a test-only fault: the write fails after that
 * many bytes. Returns 0, or -1 with a message naming the file; the old file is untouched. */
int nnc_write_file_atomic(const char *path, const void *data, size_t len, long long fail_after,
                          char *err, size_t errlen);
/* 0 when a file could be created at path (its directory exists and is writable), else -1
 * with a message: lets a long run fail before it starts rather than at the end. */
int nnc_check_writable(const char *path, char *err, size_t errlen);

#endif
