/* The tolerance rule itself (compare.h): a NaN or an infinity is never close, the bound is
 * inclusive, and the running maximum keeps a NaN once seen. The array checks built on it are
 * proven by .ci/nan_check.sh, where they must fail. */
#include <math.h>
#include "test.h"
#include "compare.h"

void suite_compare(test_run *r);
void suite_compare(test_run *r) {
    if (t_begin(r, "compare/nan_and_inf_are_never_close")) {
        const double nan = (double)NAN, inf = (double)INFINITY;
        CHECK(r, !cmp_near(nan, 1.0, 1e9, 1e9), "NaN got passed");
        CHECK(r, !cmp_near(1.0, nan, 1e9, 1e9), "NaN reference passed");
        CHECK(r, !cmp_near(nan, nan, 1e9, 1e9), "NaN against NaN passed");
        CHECK(r, !cmp_near(inf, 1.0, 1e9, 1e9), "Inf got passed");
        CHECK(r, !cmp_near(inf, inf, 0.0, 1.0), "Inf against Inf passed");
        CHECK(r, !cmp_near(1.0, 2.0, nan, 0.0), "a NaN tolerance passed");
        t_end(r);
    }
    if (t_begin(r, "compare/bound_is_atol_plus_rtol_times_ref")) {
        CHECK(r, cmp_near(1.5, 1.0, 0.5, 0.0), "|d| = atol is within");
        CHECK(r, !cmp_near(1.5000001, 1.0, 0.5, 0.0), "|d| > atol is not");
        CHECK(r, cmp_near(-3.0, -2.0, 0.0, 0.5), "rtol scales |ref|: 1 <= 0.5*2");
        CHECK(r, !cmp_near(-3.0, -2.0, 0.0, 0.375), "rtol scales |ref|, not |got|: 1 > 0.375*2");
        CHECK(r, cmp_near(-2.0, -3.0, 0.25, 0.25), "atol adds: 1 <= 0.25 + 0.25*3");
        CHECK(r, !cmp_near(-2.0, -3.0, 0.25, 0.2), "1 > 0.25 + 0.2*3");
        t_end(r);
    }
    if (t_begin(r, "compare/running_max_keeps_nan")) {
        double w = 0.0;
        w = cmp_max(w, 2.0);
        CHECK(r, w == 2.0, "max %g", w);
        w = cmp_max(w, 1.0);
        CHECK(r, w == 2.0, "max %g", w);
        w = cmp_max(w, (double)NAN);
        CHECK(r, isnan(w), "a NaN was dropped");
        w = cmp_max(w, 5.0);
        CHECK(r, isnan(w), "a NaN was replaced by a number");
        t_end(r);
    }
}
