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

#endif
