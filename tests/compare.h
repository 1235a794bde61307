/* The one tolerance rule of the test suites: a value is close to its reference when
 *     |got − ref| <= atol + rtol·|ref|.
 * Every check is written as that `<=` holding, never as a `>` failing, so a NaN or an infinite
 * difference is a failure: a test whose result turned into NaN must not pass.
 *
 * The CHECK_NEAR macros record one failure per comparison in the open case (file and line of
 * the caller), naming how many values are off, the first and the worst; they return 1 when all
 * is well. `worst`, when not NULL, is raised to the largest |got − ref| seen (cmp_max: a NaN
 * sticks), so a case can report one figure over several comparisons with t_info. */
#ifndef NNC_TEST_COMPARE_H
#define NNC_TEST_COMPARE_H
#include <math.h>
#include <stddef.h>
#include "test.h"

/* 1 when got is within atol + rtol·|ref| of ref; 0 when not, or when anything is NaN. */
static inline int cmp_near(double got, double ref, double atol, double rtol) {
    return fabs(got - ref) <= atol + rtol * fabs(ref);
}

/* The larger of a running maximum and a new difference, where NaN counts as the largest and,
 * once seen, stays (fmax would drop it). */
static inline double cmp_max(double worst, double d) {
    if (isnan(worst)) return worst;
    return d <= worst ? worst : d;
}

/* One value against its reference. */
#define CHECK_NEAR(r, got, ref, atol, rtol, worst, ...) \
    cmp_scalar_at((r), __FILE__, __LINE__, (got), (ref), (atol), (rtol), (worst), __VA_ARGS__)
/* n floats against nref floats (the lengths must agree). */
#define CHECK_NEAR_F32(r, got, n, ref, nref, atol, rtol, worst, ...) \
    cmp_f32_at((r), __FILE__, __LINE__, (got), (n), (ref), (nref), (atol), (rtol), (worst), __VA_ARGS__)
/* n floats against nref doubles (a reference computed, or read, in double). */
#define CHECK_NEAR_F32_F64(r, got, n, ref, nref, atol, rtol, worst, ...) \
    cmp_f32_f64_at((r), __FILE__, __LINE__, (got), (n), (ref), (nref), (atol), (rtol), (worst), __VA_ARGS__)
/* n doubles against nref doubles. */
#define CHECK_NEAR_F64(r, got, n, ref, nref, atol, rtol, worst, ...) \
    cmp_f64_at((r), __FILE__, __LINE__, (got), (n), (ref), (nref), (atol), (rtol), (worst), __VA_ARGS__)

int cmp_scalar_at(test_run *r, const char *file, int line, double got, double ref, double atol,
                  double rtol, double *worst, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));
int cmp_f32_at(test_run *r, const char *file, int line, const float *got, size_t n,
               const float *ref, size_t nref, double atol, double rtol, double *worst,
               const char *fmt, ...) __attribute__((format(printf, 11, 12)));
int cmp_f32_f64_at(test_run *r, const char *file, int line, const float *got, size_t n,
                   const double *ref, size_t nref, double atol, double rtol, double *worst,
                   const char *fmt, ...) __attribute__((format(printf, 11, 12)));
int cmp_f64_at(test_run *r, const char *file, int line, const double *got, size_t n,
               const double *ref, size_t nref, double atol, double rtol, double *worst,
               const char *fmt, ...) __attribute__((format(printf, 11, 12)));

#endif
