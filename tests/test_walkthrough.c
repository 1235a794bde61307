/* The README's "Bring your own CSV" walkthrough is a test: each "$ command" of the block after
 * the walkthrough marker runs in a fresh folder (with examples/ linked in and the nnc under
 * test first on PATH), and its output must be the lines the README shows under it. Text must
 * match exactly; numbers to a relative 1e-3, since the last printed digit of a probability may
 * differ between CPUs whose kernels sum in another order. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "files.h"
#include "shell.h"

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0, got;
    char *p = malloc(cap);
    while (p && (got = fread(p + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *q = realloc(p, cap *= 2);
            if (!q) free(p);
            p = q;
        }
    }
    fclose(f);
    if (p) p[len] = '\0';
    return p;
}

static int number_at(const char *s) {
    return isdigit((unsigned char)s[0]) || ((s[0] == '-' || s[0] == '.') && isdigit((unsigned char)s[1]));
}

/* Whether got reads as want: the same text, numbers within a relative 1e-3. */
static int same_output(const char *want, const char *got) {
    while (*want && *got) {
        if (number_at(want) && number_at(got)) {
            char *we, *ge;
            double w = strtod(want, &we), g = strtod(got, &ge);
            if (!(fabs(w - g) <= 1e-3 * fabs(w) + 1e-9)) return 0;
            want = we, got = ge;
            continue;
        }
        if (*want++ != *got++) return 0;
    }
    return *want == *got;
}

/* The block after the marker: its "$ " lines and what follows each. */
static void run_block(test_run *r, char *block, const char *dir) {
    int n = 0;
    char *cmd = strstr(block, "$ ");
    while (cmd) {
        char *eol = strchr(cmd, '\n');
        if (!eol) break;
        *eol = '\0';
        char *next = strstr(eol + 1, "\n$ ");
        char *want = eol + 1;
        if (next) next[0] = '\0'; /* the expected lines end before the next "$ " line */
        size_t wl = strlen(want);
        while (wl && want[wl - 1] == '\n') want[--wl] = '\0'; /* the blank line between commands */
        int st;
        char *got = t_shell(dir, cmd + 2, &st);
        size_t gl = got ? strlen(got) : 0;
        while (gl && got[gl - 1] == '\n') got[--gl] = '\0';
        CHECK(r, got && st == 0, "'%s' exited with %d: %s", cmd + 2, st, got ? got : "(not run)");
        CHECK(r, got && same_output(want, got), "'%s' printed\n%s\n-- but the README shows --\n%s", cmd + 2,
              got ? got : "", want);
        free(got);
        n++;
        cmd = next ? next + 1 : NULL;
    }
    CHECK(r, n >= 5, "only %d commands found in the walkthrough", n);
    t_info(r, "%d commands run", n);
}

void suite_walkthrough(test_run *r);
void suite_walkthrough(test_run *r) {
    if (!t_begin(r, "readme/bring_your_own_csv")) return;
    char path[1024], dir[] = "/tmp/nnc_walk_XXXXXX", link[1100];
    snprintf(path, sizeof path, "%s/../README.md", t_srcdir());
    char *readme = slurp(path);
    char *mark = readme ? strstr(readme, "<!-- walkthrough:") : NULL;
    char *open = mark ? strstr(mark, "\n```\n") : NULL;
    char *close = open ? strstr(open + 5, "\n```\n") : NULL;
    if (CHECK(r, close != NULL, "README.md has no walkthrough block") && CHECK(r, mkdtemp(dir) != NULL, "mkdtemp")) {
        close[1] = '\0';
        snprintf(path, sizeof path, "%s/../examples", t_srcdir());
        snprintf(link, sizeof link, "%s/examples", dir);
        if (CHECK(r, symlink(path, link) == 0, "link examples")) run_block(r, open + 5, dir);
        remove_tree(dir);
    }
    free(readme);
    t_end(r);
}
