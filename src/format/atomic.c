/* Atomic replacement of small output files (CSV, SVG): the whole content is in memory, written
 * to a temporary next to the target and renamed over it. A failure at any point removes the
 * temporary, so an existing target is never left half-written. */
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

int nnc_write_file_atomic(const char *path, const void *data, size_t len, long long fail_after,
                          char *err, size_t errlen) {
    char dir[4096], tmp[4200];
    const char *base;
    split(path, dir, sizeof dir, &base);
    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, base);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create a temporary file in '%s': %s", path, dir, strerror(errno));
        return -1;
    }
    struct stat st;
    fchmod(fd, stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644);
    size_t todo = len, done = 0;
    int bad = 0;
    if (fail_after >= 0 && (size_t)fail_after < len) todo = (size_t)fail_after, bad = EIO;
    while (done < todo) {
        ssize_t w = write(fd, (const char *)data + done, todo - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            bad = errno;
            break;
        }
        done += (size_t)w;
    }
    if (!bad && fsync(fd)) bad = errno;
    if (close(fd) && !bad) bad = errno;
    if (bad || rename(tmp, path)) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(bad ? bad : errno));
        unlink(tmp);
        return -1;
    }
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: some filesystems cannot sync a directory */
        close(dfd);
    }
    return 0;
}
