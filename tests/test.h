/* Minimal test framework: one runner binary, many named cases.
 * A case is one check in the report's sense (one op's gradient check, one fixture, one
 * bad-input row). Cases are opened with t_begin and closed with t_end; any failing CHECK
 * inside marks the case failed. The runner's last line is "N passed, N failed, N skipped". */
#ifndef NNC_TEST_H
#define NNC_TEST_H
#include <stddef.h>
#include <stdio.h>

typedef struct test_run test_run;

/* Opens a case named `name` (printf-style). Returns 0 when the name filter skips it. */
int t_begin(test_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records a failure in the open case when cond is false, with a message; returns cond. */
int t_check(test_run *r, int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Closes the open case, counting it passed or failed. */
void t_end(test_run *r);
/* Closes the open case as skipped, printing why. */
void t_skip(test_run *r, const char *why);
/* Prints an informational line under the open case (max differences and the like). */
void t_info(test_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when slow tests were asked for (--slow). */
int t_slow(const test_run *r);
/* Path of the source tree's tests/ folder (for fixtures), set by the build. */
const char *t_srcdir(void);

/* The largest single allocation requested since the last reset (every malloc, calloc and
 * realloc of the test binary is counted, tests/test_alloc.c): shows what a reader holds. */
void t_alloc_largest_reset(void);
size_t t_alloc_largest(void);
/* Every allocation made so far. */
long t_alloc_count(void);

#define CHECK(r, cond, ...) t_check((r), (cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

/* A single-check case: opens, runs body, closes. */
#define CASE(r, name, body) do { if (t_begin((r), "%s", (name))) { body; t_end(r); } } while (0)

/* Each tests/test_*.c file defines one suite function, listed in tests/runner.c. */
typedef void (*test_suite_fn)(test_run *r);

#endif
