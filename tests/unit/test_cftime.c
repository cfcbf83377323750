/* test_cftime.c -- unit tests of CF time units, calendars and parts.
 *
 * Expected dates are cftime 1.6's num2date (printed once with it and
 * written here) or closed form: a 360_day year is 360 days, noleap 365,
 * all_leap 366, and 400 Gregorian years are 146097 days; a sweep over
 * day numbers checks that date -> day number -> date round-trips and
 * that consecutive days are consecutive dates.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "cftime.h"
#include "err.h"

static struct cftime parse_ok(const char *units, const char *cal)
{
    struct cftime t;
    struct h5b_error err = {""};
    if (cftime_parse(&t, units, cal, "/time", &err) < 0)
        fail_msg("'%s' '%s' refused: %s", units, cal ? cal : "", err.msg);
    return t;
}

static void expect(const char *cal, const char *units, double v, int64_t y,
                   int m, int d, int doy)
{
    struct cftime t = parse_ok(units, cal);
    struct cftime_date o;
    assert_int_equal(cftime_date_of(&t, v, &o), 0);
    if (o.year != y || o.month != m || o.day != d || o.dayofyear != doy)
        fail_msg("%s '%s' %g: got %lld-%d-%d doy %d, expected %lld-%d-%d "
                 "doy %d", cal ? cal : "(none)", units, v,
                 (long long)o.year, o.month, o.day, o.dayofyear,
                 (long long)y, m, d, doy);
}

/* Values printed by cftime.num2date(v, units, calendar). */
static void test_cftime_values(void **state)
{
    (void)state;
    expect("standard", "days since 1850-01-01", 0, 1850, 1, 1, 1);
    expect(NULL, "days since 1850-01-01", 59, 1850, 3, 1, 60);
    expect("gregorian", "days since 1582-10-04", 1, 1582, 10, 15, 288);
    expect("standard", "days since 1582-10-04", -1, 1582, 10, 3, 276);
    expect("standard", "hours since 1900-01-01 12:00:00", 12, 1900, 1, 2, 2);
    expect("proleptic_gregorian", "days since 1582-10-04", 1, 1582, 10, 5,
           278);
    expect("noleap", "days since 2000-01-01", 59, 2000, 3, 1, 60);
    expect("all_leap", "days since 2001-01-01", 59, 2001, 2, 29, 60);
    expect("360_day", "days since 2000-01-01", 359.5, 2000, 12, 30, 360);
    expect("360_day", "days since 2000-01-01", 360, 2001, 1, 1, 1);
    expect("standard", "days since 1500-03-01", -1, 1500, 2, 29, 60);
    expect("standard", "seconds since 1970-01-01T00:00:00Z", 951782400,
           2000, 2, 29, 60);
    expect("noleap", "days since 0001-01-01", -1, 0, 12, 31, 365);
    expect("365_day", "minutes since 2000-01-01 00:00", 1440 * 365 - 1,
           2000, 12, 31, 365);
    /* 0.1 days ten times is a day: microsecond rounding, as cftime */
    expect("standard", "days since 2000-01-01", 0.1 * 10, 2000, 1, 2, 2);
}

/* Closed form: years of fixed length, 400 Gregorian years, the switch. */
static void test_cftime_lengths(void **state)
{
    (void)state;
    expect("360_day", "days since 1-01-01", 360.0 * 2023, 2024, 1, 1, 1);
    expect("noleap", "days since 1-01-01", 365.0 * 2023, 2024, 1, 1, 1);
    expect("366_day", "days since 1-01-01", 366.0 * 2023, 2024, 1, 1, 1);
    expect("proleptic_gregorian", "days since 1600-03-01", 146097, 2000,
           3, 1, 61);
    /* Julian before the switch: 1500 is a leap year there */
    expect("standard", "days since 1500-02-28", 1, 1500, 2, 29, 60);
    expect("proleptic_gregorian", "days since 1500-02-28", 1, 1500, 3, 1,
           60);
}

/* Every day of 1500..2100 of each calendar: the next day number is the
 * next date, and the date's day number is the day number. */
static void test_cftime_sweep(void **state)
{
    (void)state;
    for (int cal = CFTIME_STANDARD; cal <= CFTIME_360_DAY; cal++) {
        int64_t first, last;
        assert_int_equal(cftime_day_number(cal, 1500, 1, 1, &first), 0);
        assert_int_equal(cftime_day_number(cal, 2100, 12, 30, &last), 0);
        struct cftime t = {cal, 86400, first, 0};
        struct cftime_date prev = {1499, 12, 31, 0};
        for (int64_t n = first; n <= last; n++) {
            struct cftime_date o;
            int64_t back = -1;
            assert_int_equal(cftime_date_of(&t, (double)(n - first), &o), 0);
            assert_int_equal(cftime_day_number(cal, o.year, o.month, o.day,
                                               &back), 0);
            assert_int_equal(back, n);
            int next = o.day == prev.day + 1 && o.month == prev.month &&
                       o.year == prev.year;
            int newmonth = o.day == 1 && (o.month == prev.month + 1 ||
                                          (o.month == 1 && prev.month == 12));
            /* standard skips 1582-10-05..14 */
            int gap = cal == CFTIME_STANDARD && o.year == 1582 &&
                      o.month == 10 && o.day == 15 && prev.day == 4;
            if (!next && !newmonth && !gap)
                fail_msg("calendar %d: %lld-%d-%d after %lld-%d-%d", cal,
                         (long long)o.year, o.month, o.day,
                         (long long)prev.year, prev.month, prev.day);
            prev = o;
        }
    }
}

static void test_cftime_parts(void **state)
{
    (void)state;
    struct cftime t = parse_ok("days since 2000-01-01", "noleap");
    int64_t k = -1;
    static const int season[12] = {0, 0, 2, 2, 2, 1, 1, 1, 3, 3, 3, 0};
    for (int m = 0; m < 12; m++) {
        int64_t day;
        assert_int_equal(cftime_day_number(CFTIME_NOLEAP, 2000, m + 1, 15,
                                           &day), 0);
        assert_int_equal(cftime_key(&t, CFTIME_MONTH, (double)day -
                                    t.ref_day, &k), 0);
        assert_int_equal(k, m + 1);
        assert_int_equal(cftime_key(&t, CFTIME_SEASON, (double)day -
                                    t.ref_day, &k), 0);
        assert_int_equal(k, season[m]);
    }
    assert_int_equal(cftime_key(&t, CFTIME_YEAR, 365 * 3, &k), 0);
    assert_int_equal(k, 2003);
    assert_int_equal(cftime_key(&t, CFTIME_DAYOFYEAR, 364, &k), 0);
    assert_int_equal(k, 365);
    assert_int_equal(cftime_key(&t, CFTIME_MONTH, NAN, &k), -1);
    assert_int_equal(cftime_key(&t, CFTIME_MONTH, INFINITY, &k), -1);
    assert_string_equal(cftime_season_name(0), "DJF");
    assert_string_equal(cftime_season_name(1), "JJA");
    assert_string_equal(cftime_season_name(2), "MAM");
    assert_string_equal(cftime_season_name(3), "SON");
    assert_int_equal(cftime_part_of("month"), CFTIME_MONTH);
    assert_int_equal(cftime_part_of("season"), CFTIME_SEASON);
    assert_int_equal(cftime_part_of("dayofyear"), CFTIME_DAYOFYEAR);
    assert_int_equal(cftime_part_of("year"), CFTIME_YEAR);
    assert_int_equal(cftime_part_of("week"), -1);
    size_t len = 0;
    assert_int_equal(cftime_group_part("time.month", &len), CFTIME_MONTH);
    assert_int_equal(len, 4);
    assert_int_equal(cftime_group_part("t.dayofyear", &len), CFTIME_DAYOFYEAR);
    assert_int_equal(len, 1);
    assert_int_equal(cftime_group_part("time.week", NULL), -1);
    assert_int_equal(cftime_group_part("/grp/time.month", NULL), -1);
    assert_int_equal(cftime_group_part("time.month, site", NULL), -1);
    assert_int_equal(cftime_group_part(".month", NULL), -1);
    assert_int_equal(cftime_group_part("station", NULL), -1);
    assert_int_equal(cftime_group_part(NULL, NULL), -1);
}

static void parse_bad(const char *units, const char *cal, const char *frag)
{
    struct cftime t;
    struct h5b_error err = {""};
    if (cftime_parse(&t, units, cal, "f.h5: /time", &err) != H5B_EINPUT)
        fail_msg("'%s' '%s' accepted", units ? units : "", cal ? cal : "");
    assert_contains(err.msg, frag);
    assert_contains(err.msg, "f.h5: /time");
}

static void test_cftime_refusals(void **state)
{
    (void)state;
    parse_bad("days since 2000-01-01", "julian", "calendar = 'julian'");
    parse_bad("days since 2000-01-01", "mayan", "calendar = 'mayan'");
    parse_bad("days", NULL, "units = 'days'");
    parse_bad("fortnights since 2000-01-01", NULL, "units = 'fortnights");
    parse_bad("days after 2000-01-01", NULL, "units = 'days after");
    parse_bad("days since 2000-13-01", NULL, "units = ");
    parse_bad("days since 2001-02-29", "noleap", "noleap calendar");
    parse_bad("days since 2000-04-31", "noleap", "units = ");
    parse_bad("days since 2000-01-31", "360_day", "units = ");
    parse_bad("days since 1582-10-10", "standard", "units = ");
    parse_bad("days since 2000-01-01 25:00", NULL, "units = ");
    parse_bad("days since 2000-01-01 +05:00", NULL, "units = ");
    parse_bad(NULL, NULL, "(missing)");
    /* accepted forms */
    parse_ok("Days Since 2000-1-1", "Standard");
    parse_ok("hours since 2000-01-01T06:30", "proleptic_gregorian");
    parse_ok("seconds since 2000-01-01 00:00:00.5 UTC", "360_day");
    parse_ok("days since 2000-02-30", "360_day");
    parse_ok("days since 2000-01-01", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cftime_values),
        cmocka_unit_test(test_cftime_lengths),
        cmocka_unit_test(test_cftime_sweep),
        cmocka_unit_test(test_cftime_parts),
        cmocka_unit_test(test_cftime_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
