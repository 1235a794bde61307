/* The examples are tests too: each example program exits 0 only when it reaches its target
 * (accuracy, MAE, exact loss), so running them here keeps them working and honest. Also checks
 * that the README's C example is examples/quickstart.c word for word. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"

static const char *const examples[] = {"quickstart", "digits_01", "numerical_stability",
                                       "regression", "multilabel", "functional"};

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    size_t got = fread(p, 1, (size_t)n, f);
    p[got] = '\0';
    fclose(f);
    return p;
}

void suite_examples(test_run *r);
void suite_examples(test_run *r) {
    for (size_t i = 0; i < sizeof examples / sizeof *examples; i++) {
        if (!t_begin(r, "example/%s", examples[i])) continue;
        char bin[1024], cmd[1200];
        snprintf(bin, sizeof bin, "%s/example_%s", NNC_BINARY_DIR, examples[i]);
        if (access(bin, X_OK)) {
            t_skip(r, "example not built (NNC_BUILD_EXAMPLES=OFF)");
            continue;
        }
        snprintf(cmd, sizeof cmd, "%s > /dev/null", bin);
        int rc = system(cmd);
        CHECK(r, rc == 0, "%s exited with status %d (run it to see why)", bin, rc);
        t_end(r);
    }
    if (t_begin(r, "example/readme_matches_quickstart")) {
        char path[1024];
        snprintf(path, sizeof path, "%s/../README.md", t_srcdir());
        char *readme = slurp(path);
        snprintf(path, sizeof path, "%s/../examples/quickstart.c", t_srcdir());
        char *qs = slurp(path);
        char *start = readme ? strstr(readme, "```c\n") : NULL;
        char *end = start ? strstr(start + 5, "```") : NULL;
        if (CHECK(r, readme && qs && start && end, "README.md's ```c block or quickstart.c not found")) {
            start += 5;
            *end = '\0';
            CHECK(r, !strcmp(start, qs), "README.md's C example differs from examples/quickstart.c");
        }
        free(readme);
        free(qs);
        t_end(r);
    }
}
