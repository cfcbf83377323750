/* test_select.c -- unit tests of [input] select parsing and resolving.
 *
 * Expectations are closed-form: an index range [a, b] with stride s
 * selects floor((b - a) / s) + 1 indices from a; a coordinate range
 * selects the indices whose values lie within it, written out by hand
 * for small coordinate arrays; the per-file split of a global range is
 * checked against a brute-force walk over every index.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "select.h"

static struct select_list parse_ok(const char *text)
{
    struct select_list l;
    char why[256] = "";
    if (select_parse(text, &l, why, sizeof why) < 0)
        fail_msg("'%s' refused: %s", text, why);
    return l;
}

static void parse_bad(const char *text, const char *fragment)
{
    struct select_list l;
    char why[256] = "";
    assert_int_equal(select_parse(text, &l, why, sizeof why), -1);
    assert_contains(why, fragment);
}

static void test_parse_kinds(void **state)
{
    (void)state;
    struct select_list l = parse_ok(" time,0,3649  lat,-30.,30. lon,0.,90.,2 ");
    assert_int_equal(l.n, 3);
    assert_string_equal(l.spec[0].dim, "time");
    assert_int_equal(l.spec[0].lo_kind, SELECT_INDEX);
    assert_int_equal(l.spec[0].hi_kind, SELECT_INDEX);
    assert_int_equal(l.spec[0].lo_index, 0);
    assert_int_equal(l.spec[0].hi_index, 3649);
    assert_int_equal(l.spec[0].stride, 1);
    assert_int_equal(l.spec[1].lo_kind, SELECT_COORD);
    assert_true(l.spec[1].lo_coord == -30.0 && l.spec[1].hi_coord == 30.0);
    assert_int_equal(l.spec[2].stride, 2);
    assert_true(select_uses_coord(&l.spec[1]));
    assert_false(select_uses_coord(&l.spec[0]));
}

static void test_parse_open_and_single(void **state)
{
    (void)state;
    struct select_list l = parse_ok("time,,10 lat,5 lon,1e1,,3");
    assert_int_equal(l.spec[0].lo_kind, SELECT_OPEN);
    assert_int_equal(l.spec[0].hi_index, 10);
    /* dim,i: just index i, as NCO */
    assert_int_equal(l.spec[1].lo_kind, SELECT_INDEX);
    assert_int_equal(l.spec[1].hi_kind, SELECT_INDEX);
    assert_int_equal(l.spec[1].lo_index, 5);
    assert_int_equal(l.spec[1].hi_index, 5);
    assert_int_equal(l.spec[2].lo_kind, SELECT_COORD);  /* an exponent */
    assert_true(l.spec[2].lo_coord == 10.0);
    assert_int_equal(l.spec[2].hi_kind, SELECT_OPEN);
    assert_int_equal(l.spec[2].stride, 3);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    parse_bad("time,1,2,0", "stride 0");
    parse_bad("time,1,2,x", "stride 'x'");
    parse_bad("time,1,2,", "stride ''");
    parse_bad("time", "not dim,min,max[,stride]");
    parse_bad(",1,2", "not dim,min,max[,stride]");
    parse_bad("time,1,2,3,4", "not dim,min,max[,stride]");
    parse_bad("lat,-30,30", "negative index");
    parse_bad("lat,abc,3", "bound 'abc'");
    parse_bad("lat,nan.,3.", "bound 'nan.'");
    parse_bad("time,1,2 time,3,4", "selected twice");
    parse_bad("   ", "no spec");
    parse_bad("time,99999999999999999999999,1", "too large");
}

static struct select_range resolve_ok(const char *text, uint64_t len,
                                      const double *coord)
{
    struct select_list l = parse_ok(text);
    struct select_range r;
    char why[256] = "";
    if (select_resolve(&l.spec[0], len, coord, &r, why, sizeof why) < 0)
        fail_msg("'%s' unresolved: %s", text, why);
    return r;
}

static void resolve_bad(const char *text, uint64_t len, const double *coord,
                        const char *fragment)
{
    struct select_list l = parse_ok(text);
    struct select_range r;
    char why[256] = "";
    assert_int_equal(select_resolve(&l.spec[0], len, coord, &r, why,
                                    sizeof why), -1);
    assert_contains(why, fragment);
}

static void test_resolve_indices(void **state)
{
    (void)state;
    struct select_range r = resolve_ok("t,3,10,3", 20, NULL);
    assert_int_equal(r.first, 3);       /* 3, 6, 9 */
    assert_int_equal(r.count, 3);
    assert_int_equal(r.stride, 3);
    r = resolve_ok("t,,", 20, NULL);
    assert_int_equal(r.first, 0);
    assert_int_equal(r.count, 20);
    r = resolve_ok("t,19,19", 20, NULL);
    assert_int_equal(r.first, 19);
    assert_int_equal(r.count, 1);
    r = resolve_ok("t,0,19,7", 20, NULL);   /* 0, 7, 14 */
    assert_int_equal(r.count, 3);
    resolve_bad("t,3,20", 20, NULL, "index 20 is past its end (indices 0..19)");
    resolve_bad("t,5,4", 20, NULL, "the selection is empty");
    resolve_bad("t,1.,4.", 20, NULL, "no coordinate values");
}

static void test_resolve_coordinates(void **state)
{
    (void)state;
    const double up[] = {-60, -30, 0, 30, 60, 90};
    const double down[] = {90, 60, 30, 0, -30, -60};
    struct select_range r = resolve_ok("lat,-30.,30.", 6, up);
    assert_int_equal(r.first, 1);       /* -30, 0, 30: inclusive */
    assert_int_equal(r.count, 3);
    r = resolve_ok("lat,-25.,45.", 6, up);
    assert_int_equal(r.first, 2);       /* 0, 30 */
    assert_int_equal(r.count, 2);
    r = resolve_ok("lat,-30.,30.", 6, down);
    assert_int_equal(r.first, 2);       /* 30, 0, -30 */
    assert_int_equal(r.count, 3);
    r = resolve_ok("lat,-60.,90.,2", 6, down);
    assert_int_equal(r.first, 0);       /* 90, 30, -30 */
    assert_int_equal(r.count, 3);
    r = resolve_ok("lat,2,30.", 6, up);     /* index and value: 0, 30 */
    assert_int_equal(r.first, 2);
    assert_int_equal(r.count, 2);
    r = resolve_ok("lat,,0.", 6, up);
    assert_int_equal(r.first, 0);
    assert_int_equal(r.count, 3);
    resolve_bad("lat,10.,20.", 6, up, "the selection is empty");
    resolve_bad("lat,30.,-30.", 6, up, "the selection is empty");
    resolve_bad("lat,-61.,0.", 6, up, "outside its coordinate range [-60, 90]");
    resolve_bad("lat,0.,90.5", 6, down, "outside its coordinate range");
    const double bumpy[] = {0, 1, 1, 2};
    resolve_bad("x,0.,1.", 4, bumpy, "neither increasing nor decreasing");
}

/* select_in_file against a walk over every index. */
static void test_in_file(void **state)
{
    (void)state;
    const uint64_t len[] = {7, 0, 5, 9, 1};
    for (uint64_t first = 0; first < 22; first++)
        for (uint64_t stride = 1; stride < 6; stride++)
            for (uint64_t count = 1; first + (count - 1) * stride < 22;
                 count++) {
                struct select_range r = {first, count, stride};
                uint64_t at = 0, total = 0;
                for (size_t f = 0; f < 5; f++) {
                    uint64_t want = 0, want_first = 0, got_first = 0;
                    for (uint64_t j = 0; j < count; j++) {
                        uint64_t g = first + j * stride;
                        if (g >= at && g < at + len[f] && want++ == 0)
                            want_first = g - at;
                    }
                    uint64_t got = select_in_file(&r, at, len[f], &got_first);
                    assert_int_equal(got, want);
                    if (want)
                        assert_int_equal(got_first, want_first);
                    total += got;
                    at += len[f];
                }
                assert_int_equal(total, count);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_kinds),
        cmocka_unit_test(test_parse_open_and_single),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_resolve_indices),
        cmocka_unit_test(test_resolve_coordinates),
        cmocka_unit_test(test_in_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
