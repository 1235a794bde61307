/* The README's walkthroughs ("Bring your own CSV", "Keras and ONNX files") are tests: each
 * "$ command" of the block after a walkthrough marker runs in a fresh folder (with examples/ and
 * tools/ linked in and the nnc under test first on PATH), and its output must be the lines the
 * README shows under it. Text must match exactly; numbers to a relative 1e-3, since the last printed digit of a probability may
 * differ between CPUs whose kernels sum in another order. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test.h"
#include "files.h"
#include "shell.h"
#include "interop/interop.h"

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

/* Where ONNX Runtime is (tools/onnx_*.js look there too); "" when it is not installed. */
static const char *onnxruntime_dir(char *buf, size_t n) {
    const char *env = getenv("NNC_ONNXRUNTIME_DIR");
    if (env && *env) snprintf(buf, n, "%s", env);
    else snprintf(buf, n, "%s/../build-onnxruntime", t_srcdir());
    char pkg[1200];
    snprintf(pkg, sizeof pkg, "%s/node_modules/onnxruntime-node", buf);
    return access(pkg, R_OK) == 0 ? buf : "";
}

/* One marked block: "<!-- walkthrough NAME: ... -->" then a fenced block. A marker that says
 * "needs ONNX Runtime" skips without it, and in a build without Keras and ONNX files. */
static void run_marked(test_run *r, char *mark) {
    char name[64] = "", ort[1024], path[1024], link[1100], dir[] = "/tmp/nnc_walk_XXXXXX";
    sscanf(mark, "<!-- walkthrough %63[a-z_]", name);
    char *open = strstr(mark, "\n```\n");
    char *close = open ? strstr(open + 5, "\n```\n") : NULL;
    char *end_mark = strstr(mark, "-->");
    int needs_ort = end_mark && memmem(mark, (size_t)(end_mark - mark), "needs ONNX Runtime", 18) != NULL;
    if (!t_begin(r, "readme/%s", name[0] ? name : "unnamed")) return;
#ifdef NNC_HAVE_KERAS
    const int interop_built = nnc_onnx_has_exporter(NNC_OP_INPUT) >= 0;
#else
    const int interop_built = 0;
#endif
    if (needs_ort && !interop_built) {
        t_skip(r, "Keras and ONNX files are not built into this nnc (NNC_INTEROP off, or no protobuf-c)");
        return;
    }
    if (needs_ort && !onnxruntime_dir(ort, sizeof ort)[0]) {
        t_skip(r, "ONNX Runtime is not installed (README: Building and testing)");
        return;
    }
    if (CHECK(r, close != NULL, "the walkthrough block '%s' has no fenced block", name) &&
        CHECK(r, mkdtemp(dir) != NULL, "mkdtemp")) {
        close[1] = '\0';
        static const char *const linked[] = {"examples", "tools"};
        int ok = 1;
        for (int i = 0; i < 2; i++) {
            snprintf(path, sizeof path, "%s/../%s", t_srcdir(), linked[i]);
            snprintf(link, sizeof link, "%s/%s", dir, linked[i]);
            ok &= CHECK(r, symlink(path, link) == 0, "link %s", linked[i]);
        }
        if (needs_ort) setenv("NNC_ONNXRUNTIME_DIR", ort, 1);
        if (ok) run_block(r, open + 5, dir);
        remove_tree(dir);
    }
    t_end(r);
}

void suite_walkthrough(test_run *r);
void suite_walkthrough(test_run *r) {
    char path[1024];
    snprintf(path, sizeof path, "%s/../README.md", t_srcdir());
    char *readme = slurp(path);
    int n = 0;
    /* each block is cut out (its end overwritten) as it runs, so find every marker first */
    char *marks[16];
    for (char *m = readme ? strstr(readme, "<!-- walkthrough ") : NULL; m && n < 16; m = strstr(m + 1, "<!-- walkthrough "))
        marks[n++] = m;
    if (!n && t_begin(r, "readme/walkthroughs")) {
        CHECK(r, 0, "README.md has no walkthrough block");
        t_end(r);
    }
    for (int i = 0; i < n; i++) run_marked(r, marks[i]);
    free(readme);
}
