/* Atomic file replacement, the one writer of every file nnc saves (models, checkpoints,
 * histories, plots, predictions): the content goes to a temporary in the target's folder,
 * is synced and renamed over the target, and the folder is synced. Readers see the old file
 * or the whole new one, never a part; on failure the temporary is removed and an existing
 * target is left as it was (src/format/atomic.c).
 *
 * Where the file system has O_TMPFILE the temporary has no name until it is complete, so a
 * process killed while writing leaves nothing behind; elsewhere it is ".<name>.XXXXXX", and
 * every save removes the temporaries of that pattern left by processes that are gone (those
 * not written since before the running process started). */
#ifndef NNC_ATOMIC_H
#define NNC_ATOMIC_H
#include <stddef.h>

/* A file being written aside. */
typedef struct {
    int fd;          /* -1 once closed */
    char *path;      /* the target */
    char *tmp;       /* the temporary, removed unless renamed */
    int error;       /* errno of the first failed write, 0 when none */
    int unnamed;     /* an O_TMPFILE: tmp is only the name it takes at commit */
#ifdef NNC_FAULT_INJECTION
    long long fail_after; /* tests: writes fail (EIO) after this many bytes; -1: off */
    long long kill_after; /* tests: the process kills itself after this many bytes; -1: off
                           * (from $NNC_KILL_WRITE_AFTER) */
#endif
} nnc_atomic_file;

/* Creates the temporary for path (with the target's mode, 0644 for a new file). Returns 0,
 * or -1 with a message naming the file. */
int nnc_atomic_open(nnc_atomic_file *f, const char *path, char *err, size_t errlen);
/* Appends len bytes; a failure is kept and reported by nnc_atomic_commit. */
void nnc_atomic_write(nnc_atomic_file *f, const void *data, size_t len);
/* Syncs, closes and renames the temporary over the target, then syncs the folder. Returns 0,
 * or -1 with a message (the temporary removed, the target untouched). Releases f either way. */
int nnc_atomic_commit(nnc_atomic_file *f, char *err, size_t errlen);
/* Gives up: removes the temporary and releases f. */
void nnc_atomic_abort(nnc_atomic_file *f);

/* The whole of a file in memory, written atomically as above. */
int nnc_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);
/* 0 when a file could be created at path (its directory exists and is writable), else -1
 * with a message: lets a long run fail before it starts rather than at the end. */
int nnc_check_writable(const char *path, char *err, size_t errlen);

/* Creates the missing folders leading to a file's path ("a/b/c.x": a and a/b). Returns 0, or
 * -1 with a message naming the folder. */
int nnc_make_parent_dirs(const char *path, char *msg, size_t msglen);

#endif
