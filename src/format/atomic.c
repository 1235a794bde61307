/* The atomic writer (atomic.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "atomic.h"

/* Splits path into its directory ("." when none) and base name. */
static void split(const char *path, char *dir, size_t dn, const char **base) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dn, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, dn, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, dn, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    }
}

int nnc_check_writable(const char *path, char *err, size_t errlen) {
    char dir[4096];
    const char *base;
    split(path, dir, sizeof dir, &base);
    struct stat st;
    if (!*base) {
        snprintf(err, errlen, "%s: not a file name", path);
        return -1;
    }
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: directory '%s' does not exist", path, dir);
        return -1;
    }
    if (access(dir, W_OK)) {
        snprintf(err, errlen, "%s: directory '%s' is not writable: %s", path, dir, strerror(errno));
        return -1;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory", path);
        return -1;
    }
    return 0;
}

static void release(nnc_atomic_file *f) {
    if (f->fd >= 0) close(f->fd);
    if (f->tmp) unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    f->fd = -1;
    f->tmp = f->path = NULL;
}

int nnc_atomic_open(nnc_atomic_file *f, const char *path, char *err, size_t errlen) {
    char dir[4096];
    const char *base;
    memset(f, 0, sizeof *f);
    f->fd = -1;
#ifdef NNC_FAULT_INJECTION
    f->fail_after = -1;
#endif
    if (!path) {
        snprintf(err, errlen, "(null): no file name");
        return -1;
    }
    split(path, dir, sizeof dir, &base);
    if (!*base) {
        snprintf(err, errlen, "%s: path names a directory", path);
        return -1;
    }
    size_t n = strlen(dir) + strlen(base) + 10;
    f->path = strdup(path);
    f->tmp = malloc(n);
    if (!f->path || !f->tmp) {
        release(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(f->tmp, n, "%s/.%s.XXXXXX", dir, base);
    if ((f->fd = mkstemp(f->tmp)) < 0) {
        free(f->tmp); /* nothing to remove */
        f->tmp = NULL;
        snprintf(err, errlen, "%s: cannot create a temporary file in '%s': %s", path, dir, strerror(errno));
        release(f);
        return -1;
    }
    /* mkstemp makes the file 0600; keep an existing target's mode, else the common 0644 */
    struct stat st;
    if (fchmod(f->fd, stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644)) f->error = errno;
    return 0;
}

void nnc_atomic_write(nnc_atomic_file *f, const void *data, size_t len) {
    const char *p = data;
    while (len && !f->error) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : len;
#ifdef NNC_FAULT_INJECTION
        if (f->fail_after >= 0 && (unsigned long long)f->fail_after < chunk) chunk = (size_t)f->fail_after;
        if (!chunk) {
            f->error = EIO; /* the injected fault */
            break;
        }
#endif
        ssize_t w = write(f->fd, p, chunk);
        if (w < 0) {
            if (errno != EINTR) f->error = errno;
            continue;
        }
        p += w;
        len -= (size_t)w;
#ifdef NNC_FAULT_INJECTION
        if (f->fail_after >= 0) f->fail_after -= w;
#endif
    }
}

void nnc_atomic_abort(nnc_atomic_file *f) { release(f); }

int nnc_atomic_commit(nnc_atomic_file *f, char *err, size_t errlen) {
    char dir[4096];
    const char *base;
    int e = f->error;
    if (!e && fsync(f->fd)) e = errno;
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) && !e) e = errno;
    if (e) {
        snprintf(err, errlen, "%s: cannot write: %s", f->path, strerror(e));
        release(f);
        return -1;
    }
    if (rename(f->tmp, f->path)) {
        snprintf(err, errlen, "%s: cannot rename '%s' over it: %s", f->path, f->tmp, strerror(errno));
        release(f);
        return -1;
    }
    free(f->tmp); /* renamed: nothing left to remove */
    f->tmp = NULL;
    /* Without syncing the folder a crash could forget the rename. Some file systems cannot sync
     * a folder (EINVAL); the data itself is on disk then. */
    split(f->path, dir, sizeof dir, &base);
    int rc = 0, dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        int sr = fsync(dfd), se = errno;
        close(dfd);
        if (sr && se != EINVAL) {
            snprintf(err, errlen, "%s: written, but syncing '%s' failed: %s", f->path, dir, strerror(se));
            rc = -1;
        }
    }
    release(f);
    return rc;
}

int nnc_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen) {
    nnc_atomic_file f;
    if (nnc_atomic_open(&f, path, err, errlen)) return -1;
    nnc_atomic_write(&f, data, len);
    return nnc_atomic_commit(&f, err, errlen);
}

/* Creates the folders leading to a file's path ("a/b/c.x": a and a/b). */
int nnc_make_parent_dirs(const char *path, char *msg, size_t msglen) {
    char buf[4096];
    if (strlen(path) >= sizeof buf) {
        snprintf(msg, msglen, "%.64s...: path too long", path);
        return -1;
    }
    memcpy(buf, path, strlen(path) + 1);
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf) return 0;
    *slash = '\0';
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        struct stat sb;
        if (stat(buf, &sb) != 0 && mkdir(buf, 0777) != 0 && errno != EEXIST) {
            snprintf(msg, msglen, "%s: cannot create the folder: %s", buf, strerror(errno));
            return -1;
        }
        *p = c;
        if (!c) break;
    }
    return 0;
}
