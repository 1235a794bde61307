/* The atomic writer (atomic.h). */
#define _GNU_SOURCE /* O_TMPFILE, linkat's AT_SYMLINK_FOLLOW */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <time.h>
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
    if (f->tmp && !f->unnamed) unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    f->fd = -1;
    f->tmp = f->path = NULL;
}

/* When the running process started (seconds since the epoch), from /proc; 0 when unknown. */
static time_t process_start(void) {
    char buf[1024];
    FILE *st = fopen("/proc/self/stat", "r");
    size_t n = st ? fread(buf, 1, sizeof buf - 1, st) : 0;
    if (st) fclose(st);
    buf[n] = '\0';
    /* field 22, starttime in clock ticks since boot, counted after the ')' that ends field 2 */
    const char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
    unsigned long long ticks;
    if (!p || sscanf(p + 1, "%llu", &ticks) != 1) return 0;
    FILE *s = fopen("/proc/stat", "r");
    unsigned long long btime = 0;
    char line[256];
    while (s && fgets(line, sizeof line, s))
        if (sscanf(line, "btime %llu", &btime) == 1) break;
    if (s) fclose(s);
    long hz = sysconf(_SC_CLK_TCK);
    return btime && hz > 0 ? (time_t)(btime + ticks / (unsigned long long)hz) : 0;
}

/* Removes ".<base>.XXXXXX" temporaries in dir that nobody has written since before this
 * process started: their writers were killed (a save into a folder without O_TMPFILE). */
static void remove_stale(const char *dir, const char *base) {
    time_t start = process_start();
    DIR *d = start ? opendir(dir) : NULL;
    if (!d) return;
    size_t bl = strlen(base);
    for (struct dirent *e; (e = readdir(d));) {
        const char *nm = e->d_name;
        size_t nl = strlen(nm);
        if (nl != bl + 8 || nm[0] != '.' || memcmp(nm + 1, base, bl) || nm[bl + 1] != '.') continue;
        int ours = 1;
        for (size_t i = bl + 2; i < nl; i++)
            ours &= (nm[i] >= 'A' && nm[i] <= 'Z') || (nm[i] >= 'a' && nm[i] <= 'z') || (nm[i] >= '0' && nm[i] <= '9');
        char p[4200];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, nm);
        if (ours && lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime < start) unlink(p);
    }
    closedir(d);
}

/* A fresh name ".<base>.XXXXXX" beside the target, for the unnamed temporary to take. */
static void fresh_name(nnc_atomic_file *f) {
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    unsigned long long x = (unsigned long long)t.tv_nsec ^ ((unsigned long long)getpid() << 32) ^
                           (unsigned long long)(size_t)f;
    char *end = f->tmp + strlen(f->tmp) - 6;
    for (int i = 0; i < 6; i++, x /= 62) end[i] = chars[x % 62];
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
    remove_stale(dir, base);
#ifdef NNC_FAULT_INJECTION
    const char *kill = getenv("NNC_KILL_WRITE_AFTER");
    f->kill_after = kill ? atoll(kill) : -1;
#endif
    struct stat st;
    const mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
#ifdef O_TMPFILE
    if ((f->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode)) >= 0) {
        f->unnamed = 1;
        if (fchmod(f->fd, mode)) f->error = errno; /* the umask applied to open's mode */
        return 0;
    }
#endif
    if ((f->fd = mkstemp(f->tmp)) < 0) {
        free(f->tmp); /* nothing to remove */
        f->tmp = NULL;
        snprintf(err, errlen, "%s: cannot create a temporary file in '%s': %s", path, dir, strerror(errno));
        release(f);
        return -1;
    }
    /* mkstemp makes the file 0600; keep an existing target's mode, else the common 0644 */
    if (fchmod(f->fd, mode)) f->error = errno;
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
#ifdef NNC_FAULT_INJECTION
        if (f->kill_after >= 0 && (unsigned long long)f->kill_after < chunk) {
            if (f->kill_after > 0 && write(f->fd, p, (size_t)f->kill_after) < 0) f->error = errno;
            raise(SIGKILL); /* a crash in the middle of a save */
        }
        if (f->kill_after >= 0) f->kill_after -= (long long)chunk;
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
    /* an unnamed temporary gets its name now, when it is whole, then moves over the target */
    for (int tries = 0; !e && f->unnamed && tries < 100; tries++) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
        fresh_name(f);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, f->tmp, AT_SYMLINK_FOLLOW) == 0) f->unnamed = 0;
        else if (errno != EEXIST) e = errno;
    }
    if (!e && f->unnamed) e = EEXIST;
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
