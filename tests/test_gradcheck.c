/* `nnc gradcheck`, the course's ε check as a tool: it passes on correct float32 models with
 * ReLU (kinks skipped and counted) and fails on a deliberately broken gradient (the test build
 * nnc_faulty scales every gradient by 1 + NNC_BREAK_GRADIENT). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test.h"

/* Runs a command, returning its exit status and its stdout in out. */
static int run(const char *cmd, char *out, size_t n) {
    FILE *p = popen(cmd, "r");
    size_t len = 0;
    if (!p) return -1;
    while (len + 1 < n && fgets(out + len, (int)(n - len), p)) len += strlen(out + len);
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void suite_gradcheck(test_run *r);
void suite_gradcheck(test_run *r) {
    static const struct {
        const char *name, *spec, *data, *env, *bin;
        int want;
        const char *expect;
    } cases[] = {
        {"gradcheck/digits_relu_passes", "digits.nnc", "digits", "", "nnc", 0, "every gradient matches"},
        {"gradcheck/digits_01_sigmoid_passes", "digits_01.nnc", "digits_01", "", "nnc", 0, "every gradient matches"},
        {"gradcheck/regression_normalization_passes", "regression.nnc", "diabetes", "", "nnc", 0, "every gradient matches"},
        {"gradcheck/broken_gradient_fails", "digits.nnc", "digits", "NNC_BREAK_GRADIENT=0.1 ", "nnc_faulty", 1, "FAIL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!t_begin(r, "%s", cases[i].name)) continue;
        char bin[1024], cmd[3072], out[8192];
        snprintf(bin, sizeof bin, "%s/%s", NNC_BINARY_DIR, cases[i].bin);
        if (access(bin, X_OK)) {
            t_skip(r, "the tool is not built");
            continue;
        }
        snprintf(cmd, sizeof cmd, "%s%s gradcheck %s/../examples/%s --data %s 2>&1", cases[i].env, bin,
                 t_srcdir(), cases[i].spec, cases[i].data);
        int rc = run(cmd, out, sizeof out);
        CHECK(r, rc == cases[i].want, "exit status %d, expected %d:\n%s", rc, cases[i].want, out);
        CHECK(r, strstr(out, cases[i].expect) != NULL, "output lacks '%s':\n%s", cases[i].expect, out);
        t_end(r);
    }
}
