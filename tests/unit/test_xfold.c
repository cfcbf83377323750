/* test_xfold.c -- unit tests for the fold plan of exact sums.
 *
 * Which runs the fold path takes, from the bounds in xfold.c (closed
 * forms: a span of s binades needs 2 folds of the sum up to s = 20, 3 up
 * to 57; of the squares 3 up to 2, 4 up to 20, 5 up to 39), and that a
 * run's fold sums add up to its exact sum.  That the path gives the
 * state of value by value is test_exactsum.c's test_fold_same_as_small.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "xfold.h"

/* Fail unless a == e, printing both. */
static void assert_same(double a, double e)
{
    if (a != e)
        fail_msg("got %a (%.17g), expected %a (%.17g)", a, a, e, e);
}

/* The exponent field of 2^e. */
#define F(e) ((unsigned)(1023 + (e)))

static void test_plan_folds(void **state)
{
    (void)state;
    struct xf_plan p;
    if (xf_level() == 0)
        skip();
    assert_int_equal(xf_plan(&p, F(29), F(29)), 1);     /* issue 21 */
    assert_int_equal(p.ks, 2);
    assert_int_equal(p.kq, 3);
    assert_int_equal(xf_plan(&p, F(-12), F(2)), 1);     /* normal data */
    assert_int_equal(p.ks, 2);
    assert_int_equal(p.kq, 4);
    assert_int_equal(xf_plan(&p, F(-20), F(0)), 1);
    assert_int_equal(p.kq, 4);
    assert_int_equal(xf_plan(&p, F(-21), F(0)), 1);
    assert_int_equal(p.ks, 3);
    assert_int_equal(p.kq, 5);
    assert_int_equal(xf_plan(&p, F(-39), F(0)), 1);
    assert_int_equal(xf_plan(&p, F(-40), F(0)), 0);     /* too wide */
    assert_int_equal(xf_plan(&p, F(-400), F(-390)), 1); /* the bounds */
    assert_int_equal(xf_plan(&p, F(-401), F(-390)), 0);
    assert_int_equal(xf_plan(&p, F(490), F(500)), 1);
    assert_int_equal(xf_plan(&p, F(490), F(501)), 0);
    assert_same(p.ms[0], ldexp(1.5, 517));   /* M_0 = 1.5 2^m_0 */
    xf_cap(0);
    assert_int_equal(xf_plan(&p, F(29), F(29)), 0);     /* no version */
    xf_cap(2);
}

/* 1e6, 1, -1e6, ... (1365 times) and 2^-20 (39 binades): the fold sums
 * add up to 1365 + 2^-20 (a multiple of 2^-20 below 2^53: exact in any
 * order). */
static void test_run_sums(void **state)
{
    (void)state;
    static double x[XF_RUN];
    if (xf_level() == 0)
        skip();
    for (int i = 0; i < XF_RUN; i++)
        x[i] = i % 3 == 0 ? 1e6 : i % 3 == 1 ? 1.0 : -1e6;
    x[XF_RUN - 1] = ldexp(1, -20);      /* in place of a last 1e6 */
    for (int level = 1; level <= xf_level(); level++) {
        struct xf_plan p;
        double ds[XF_SUM_FOLDS], dq[XF_SQ_FOLDS], s = 0;
        assert_int_equal(xf_plan(&p, F(-20), F(19)), 1);
        xf_run_at(level, &p, x, XF_RUN, ds, dq);
        for (int k = p.ks - 1; k >= 0; k--)
            s += ds[k];
        assert_same(s, 1365 + ldexp(1, -20));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_folds),
        cmocka_unit_test(test_run_sums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
