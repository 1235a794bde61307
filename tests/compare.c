/* The tolerance checks of compare.h. */
#include "compare.h"
#include <stdarg.h>
#include <stdio.h>

/* Either a float or a double array, so that one loop serves every pairing of types. */
typedef struct {
    const float *f;
    const double *d;
} values;

static double at(values v, size_t i) { return v.f ? (double)v.f[i] : v.d[i]; }

static int present(values v) { return v.f != NULL || v.d != NULL; }

static int compare(test_run *r, const char *file, int line, values got, size_t n, values ref,
                   size_t nref, double atol, double rtol, double *worst, const char *fmt,
                   va_list ap) {
    char what[256];
    vsnprintf(what, sizeof what, fmt, ap);
    if (n != nref) {
        if (worst) *worst = cmp_max(*worst, (double)INFINITY);
        return t_check(r, 0, file, line, "%s: %zu values, the reference has %zu", what, n, nref);
    }
    if (n > 0 && !(present(got) && present(ref))) {
        if (worst) *worst = cmp_max(*worst, (double)INFINITY);
        return t_check(r, 0, file, line, "%s: %s missing", what, present(got) ? "reference" : "values");
    }
    size_t off = 0, first = 0, worst_at = 0;
    double w = 0.0;
    for (size_t i = 0; i < n; i++) {
        double g = at(got, i), e = at(ref, i), d = fabs(g - e);
        if (!cmp_near(g, e, atol, rtol) && off++ == 0) first = i;
        if (i == 0 || (!isnan(w) && !(d <= w))) w = d, worst_at = i; /* the first NaN stays */
    }
    if (worst) *worst = cmp_max(*worst, w);
    if (off == 0) return 1;
    return t_check(r, 0, file, line,
                   "%s: %zu of %zu values off by more than %.3g + %.3g*|ref|; first [%zu] %.9g "
                   "vs %.9g; worst [%zu] %.9g vs %.9g (diff %.3g)",
                   what, off, n, atol, rtol, first, at(got, first), at(ref, first), worst_at,
                   at(got, worst_at), at(ref, worst_at), w);
}

int cmp_scalar_at(test_run *r, const char *file, int line, double got, double ref, double atol,
                  double rtol, double *worst, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (worst) *worst = cmp_max(*worst, fabs(got - ref));
    return t_check(r, cmp_near(got, ref, atol, rtol), file, line,
                   "%s: %.9g vs reference %.9g (diff %.3g, allowed %.3g + %.3g*|ref|)", what, got,
                   ref, fabs(got - ref), atol, rtol);
}

int cmp_f32_at(test_run *r, const char *file, int line, const float *got, size_t n,
               const float *ref, size_t nref, double atol, double rtol, double *worst,
               const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int ok = compare(r, file, line, (values){got, NULL}, n, (values){ref, NULL}, nref, atol, rtol,
                     worst, fmt, ap);
    va_end(ap);
    return ok;
}

int cmp_f32_f64_at(test_run *r, const char *file, int line, const float *got, size_t n,
                   const double *ref, size_t nref, double atol, double rtol, double *worst,
                   const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int ok = compare(r, file, line, (values){got, NULL}, n, (values){NULL, ref}, nref, atol, rtol,
                     worst, fmt, ap);
    va_end(ap);
    return ok;
}

int cmp_f64_at(test_run *r, const char *file, int line, const double *got, size_t n,
               const double *ref, size_t nref, double atol, double rtol, double *worst,
               const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int ok = compare(r, file, line, (values){NULL, got}, n, (values){NULL, ref}, nref, atol, rtol,
                     worst, fmt, ap);
    va_end(ap);
    return ok;
}
