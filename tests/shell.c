/* t_shell (shell.h): fork, exec /bin/sh, read its output through a pipe. The nnc found on PATH
 * is a link to ${NNC_BINARY_DIR}/nnc in a folder of its own, so that nothing else of the build
 * tree shadows the user's commands (head, printf). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "shell.h"

/* dir/.bin/nnc -> the binary under test. */
static int link_binary(const char *dir, char *bin_dir, size_t n) {
    char target[1024], link[1200];
    snprintf(bin_dir, n, "%s/.bin", dir);
    snprintf(target, sizeof target, "%s/nnc", NNC_BINARY_DIR);
    snprintf(link, sizeof link, "%s/nnc", bin_dir);
    if (mkdir(bin_dir, 0755) && access(bin_dir, F_OK)) return -1;
    unlink(link);
    return symlink(target, link);
}

char *t_shell(const char *dir, const char *cmd, int *status) {
    char bin_dir[1100], path[4096];
    int fd[2];
    *status = -1;
    if (link_binary(dir, bin_dir, sizeof bin_dir) || pipe(fd)) return NULL;
    const char *old = getenv("PATH");
    snprintf(path, sizeof path, "%s:%s", bin_dir, old ? old : "/usr/bin:/bin");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return NULL;
    if (pid == 0) {
        close(fd[0]);
        if (chdir(dir) || dup2(fd[1], 1) < 0 || dup2(fd[1], 2) < 0) _exit(126);
        close(fd[1]);
        setenv("PATH", path, 1);
        alarm(60);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    ssize_t got;
    while (out && (got = read(fd[0], out + len, cap - len - 1)) > 0) {
        len += (size_t)got;
        if (len + 1 == cap) {
            char *grown = realloc(out, cap *= 2);
            if (!grown) free(out);
            out = grown;
        }
    }
    close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0) continue;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (out) out[len] = '\0';
    return out;
}
