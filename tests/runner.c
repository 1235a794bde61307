/* The test runner: runs every suite, prints one line per case and the closing count.
 * Usage: nnc_tests [--slow] [--suite NAME]... [FILTER...]
 * (a case runs when its name contains any FILTER; --suite runs only the suites named, as in
 * tests/suites.def, with or without "suite_": ctest has one entry per suite). */
#include "test.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct test_run {
    int passed, failed, skipped;
    int open, open_failed, slow;
    char name[256];
    char info[2048]; /* t_info lines of the open case, printed under its status line */
    int nfilters;
    char **filters;
};

#define SUITE(fn) void fn(test_run *r);
#include "suites.def"
#undef SUITE

static const struct { const char *name; test_suite_fn fn; } suites[] = {
#define SUITE(fn) {#fn, fn},
#include "suites.def"
#undef SUITE
};

int t_begin(test_run *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->name, sizeof r->name, fmt, ap);
    va_end(ap);
    if (r->nfilters) {
        int hit = 0;
        for (int i = 0; i < r->nfilters; i++)
            if (strstr(r->name, r->filters[i])) hit = 1;
        if (!hit) return 0;
    }
    r->open = 1;
    r->open_failed = 0;
    return 1;
}

int t_check(test_run *r, int cond, const char *file, int line, const char *fmt, ...) {
    if (cond) return 1;
    r->open_failed = 1;
    fprintf(stdout, "  FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    return 0;
}

void t_info(test_run *r, const char *fmt, ...) {
    size_t len = strlen(r->info);
    if (len + 4 >= sizeof r->info) return;
    len += (size_t)snprintf(r->info + len, sizeof r->info - len, "  ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->info + len, sizeof r->info - len, fmt, ap);
    va_end(ap);
    len = strlen(r->info);
    if (len + 1 < sizeof r->info) r->info[len] = '\n', r->info[len + 1] = '\0';
}

void t_end(test_run *r) {
    if (!r->open) return;
    r->open = 0;
    if (r->open_failed) r->failed++; else r->passed++;
    printf("%s %s\n%s", r->open_failed ? "FAIL" : "ok  ", r->name, r->info);
    r->info[0] = '\0';
    fflush(stdout);
}

void t_skip(test_run *r, const char *why) {
    if (!r->open) return;
    r->open = 0;
    r->skipped++;
    r->info[0] = '\0';
    printf("skip %s: %s\n", r->name, why);
}

int t_slow(const test_run *r) { return r->slow; }

const char *t_srcdir(void) {
    const char *e = getenv("NNC_TEST_SRCDIR");
    return e ? e : NNC_TEST_SRCDIR;
}

/* True when a suite was asked for by its name in suites.def or by that name without "suite_". */
static int suite_named(const char *suite, const char *name) {
    return !strcmp(suite, name) || (!strncmp(suite, "suite_", 6) && !strcmp(suite + 6, name));
}

int main(int argc, char **argv) {
    test_run r = {0};
    size_t nsuites = sizeof suites / sizeof suites[0];
    r.filters = calloc((size_t)argc, sizeof *r.filters);
    unsigned char *chosen = calloc(nsuites, 1);
    int any_chosen = 0, bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--slow")) r.slow = 1;
        else if (!strcmp(argv[i], "--suite")) {
            int found = 0;
            for (size_t s = 0; i + 1 < argc && s < nsuites; s++)
                if (suite_named(suites[s].name, argv[i + 1])) chosen[s] = 1, found = 1;
            if (!found) {
                fprintf(stderr, "nnc_tests: --suite needs one of:");
                for (size_t s = 0; s < nsuites; s++) fprintf(stderr, " %s", suites[s].name);
                fputc('\n', stderr);
                bad = 1;
            }
            any_chosen = 1;
            i++;
        } else r.filters[r.nfilters++] = argv[i];
    }
    for (size_t i = 0; i < nsuites && !bad; i++)
        if (!any_chosen || chosen[i]) suites[i].fn(&r);
    free(chosen);
    free(r.filters);
    if (bad) return 2;
    printf("%d passed, %d failed, %d skipped\n", r.passed, r.failed, r.skipped);
    return r.failed ? 1 : 0;
}
