/* test_cfmeta.c -- unit tests of the netCDF/CF naming rules.
 *
 * Expected strings are written by hand: squared units in UDUNITS' syntax
 * of plain powers (a name followed by an integer exponent, terms
 * separated by spaces), CF cell method names from the CF conventions'
 * Appendix E, dimension names from README's Output section.
 */
#define _XOPEN_SOURCE 700
#include "unit.h"

#include "cfmeta.h"

static void squared(const char *u, const char *want)
{
    char out[64];
    int rc = cfmeta_units_squared(u, out, sizeof out);
    if (want) {
        assert_int_equal(rc, 0);
        assert_string_equal(out, want);
    } else {
        assert_int_equal(rc, -1);
        assert_string_equal(out, "");
    }
}

static void test_units_squared(void **state)
{
    (void)state;
    squared("K", "K2");
    squared("m s-1", "m2 s-2");
    squared("kg m-2 s-1", "kg2 m-4 s-2");
    squared("  m2 ", "m4");
    squared("1", "1");
    squared("days since 2000-01-01", NULL);
    squared("degC/100", NULL);
    squared("m^2", NULL);
    squared("", NULL);
    squared("10 m", NULL);
    squared("m-", NULL);
    squared("m+", NULL);
}

static void test_units_too_long(void **state)
{
    char out[4];
    (void)state;
    assert_int_equal(cfmeta_units_squared("kg m", out, sizeof out), -1);
    assert_string_equal(out, "");
}

static void test_unit_of(void **state)
{
    (void)state;
    assert_int_equal(cfmeta_unit_of("mean"), CFMETA_SAME_UNIT);
    assert_int_equal(cfmeta_unit_of("std"), CFMETA_SAME_UNIT);
    assert_int_equal(cfmeta_unit_of("var"), CFMETA_UNIT_SQUARED);
    assert_int_equal(cfmeta_unit_of("count"), CFMETA_NO_UNIT);
    assert_int_equal(cfmeta_unit_of("nan_count"), CFMETA_NO_UNIT);
    assert_int_equal(cfmeta_unit_of("quantiles/values"), CFMETA_SAME_UNIT);
    assert_int_equal(cfmeta_unit_of("quantiles/probabilities"),
                     CFMETA_NO_UNIT);
    assert_int_equal(cfmeta_unit_of("histogram/counts"), CFMETA_NO_UNIT);
    assert_int_equal(cfmeta_unit_of("groupby/max"), CFMETA_SAME_UNIT);
    assert_int_equal(cfmeta_unit_of("groupby/var"), CFMETA_UNIT_SQUARED);
    assert_int_equal(cfmeta_unit_of("groupby/keys"), CFMETA_NO_UNIT);
    assert_int_equal(cfmeta_unit_of("groupby/quantiles"), CFMETA_SAME_UNIT);
    assert_int_equal(cfmeta_unit_of("groupby/histogram_edges"),
                     CFMETA_SAME_UNIT);
    assert_int_equal(cfmeta_unit_of("groupby/histogram"), CFMETA_NO_UNIT);
    assert_int_equal(cfmeta_unit_of("plugin/deep/mean"), CFMETA_NO_UNIT);
}

static void test_methods(void **state)
{
    (void)state;
    assert_string_equal(cfmeta_method("min"), "minimum");
    assert_string_equal(cfmeta_method("max"), "maximum");
    assert_string_equal(cfmeta_method("std"), "standard_deviation");
    assert_string_equal(cfmeta_method("var"), "variance");
    assert_null(cfmeta_method("count"));
    assert_null(cfmeta_method("groupby/mean"));
}

static void axis(const char *name, int per_cell, int extra, const char *want)
{
    char out[64];
    cfmeta_axis_name(name, per_cell, extra, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_axis_names(void **state)
{
    (void)state;
    axis("histogram/counts", 1, 0, "bin");
    axis("histogram/edges", 0, 0, "bin_edge");
    axis("quantiles/values", 1, 0, "quantile");
    axis("quantiles/probabilities", 0, 0, "quantile");
    axis("groupby/mean", 0, 0, "key");
    axis("groupby/histogram", 0, 0, "key");
    axis("groupby/histogram", 0, 1, "bin");
    axis("groupby/histogram_edges", 0, 0, "bin_edge");
    axis("groupby/quantiles", 0, 1, "quantile");
    axis("groupby/probabilities", 0, 0, "quantile");
    axis("exceed", 1, 0, "exceed_dim0");
    axis("top/values", 1, 1, "values_dim1");
    axis("runs", 0, 0, "runs_dim0");
    assert_string_equal(cfmeta_axis_coord("quantile"), "probabilities");
    assert_string_equal(cfmeta_axis_coord("key"), "keys");
    assert_null(cfmeta_axis_coord("bin"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_units_squared),
        cmocka_unit_test(test_units_too_long),
        cmocka_unit_test(test_unit_of),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_axis_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
