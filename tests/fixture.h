/* Reader for the reference fixtures written by tools/make_fixtures.py.
 *
 * A fixture file holds one tensor per line, fields separated by spaces:
 *     name ndim d0 ... d{ndim-1} v0 v1 ... vN
 * values row-major; a scalar has ndim 0 and one value. Blank lines and lines
 * whose first non-blank character is '#' are ignored. Values are read as
 * double; the generator writes them with "%.9e", so converting a value that
 * started as a float32 input back to float gives that float exactly. */
#ifndef NNC_TEST_FIXTURE_H
#define NNC_TEST_FIXTURE_H
#include <stddef.h>

#define FX_MAX_NAME 64
#define FX_MAX_DIMS 4

typedef struct {
    char name[FX_MAX_NAME];
    int ndim;
    int shape[FX_MAX_DIMS];
    size_t n;   /* number of values: product of shape, 1 for a scalar */
    double *v;  /* n values, row-major */
} fx_tensor;

typedef struct {
    fx_tensor *t;
    int n;
} fx_file;

/* Loads every tensor of the file at `path` into *f. Returns 0 on success; on
 * error prints why (file and line) to stderr, leaves *f empty and returns -1.
 * A duplicate name, a wrong value count or trailing garbage is an error. */
int fx_load(const char *path, fx_file *f);

/* The tensor called `name`, or NULL when the file has none. */
const fx_tensor *fx_get(const fx_file *f, const char *name);

/* Frees what fx_load allocated and empties *f (safe on an emptied file). */
void fx_free(fx_file *f);

/* ---- for the suites that compare nnc with the fixtures (test_fixtures.c, test_cnn_fixtures.c) */
#include "test.h"

/* Loads tests/fixtures/<file> of the source tree; a failure is recorded in the open case.
 * Returns 1 when loaded. */
int fx_load_fixture(test_run *r, const char *file, fx_file *f);

/* The tensor called `name`; when the file has none, records a failure and returns NULL. */
const fx_tensor *fx_need(test_run *r, const fx_file *f, const char *name);

/* The tensor's values rounded to float, in a malloc'd array (free()); NULL when t is NULL or
 * memory runs out. */
float *fx_floats(const fx_tensor *t);

/* CHECK_NEAR_F32_F64 (compare.h) of n floats against a fixture tensor, which may be NULL
 * (missing: a failure). */
#define CHECK_NEAR_FX(r, got, n, ref, atol, rtol, worst, ...) \
    fx_near_at((r), __FILE__, __LINE__, (got), (n), (ref), (atol), (rtol), (worst), __VA_ARGS__)
int fx_near_at(test_run *r, const char *file, int line, const float *got, size_t n,
               const fx_tensor *ref, double atol, double rtol, double *worst, const char *fmt, ...)
    __attribute__((format(printf, 10, 11)));

#endif
