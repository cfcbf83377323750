/* test_startup.c -- unit tests of H5BATCH_STARTUP_TIMES: the process age
 * from a /proc/PID/stat line, and the line rank 0 prints.  Expected
 * values are worked out by hand from the inputs. */
#define _XOPEN_SOURCE 500     /* nftw, in unit.h */
#include "unit.h"

#include "startup.h"

/* A stat line of a process whose starttime (field 22) is 1234 ticks. */
#define STAT_TAIL " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 1234 " \
                  "999 5\n"

static void test_age(void **state)
{
    (void)state;
    double age = -1;
    assert_int_equal(startup_age("42 (h5batch)" STAT_TAIL, 20.0, 100, &age),
                     0);
    assert_close(age, 20.0 - 12.34, 1e-12);
    /* A command name with spaces and parentheses: fields after its last
     * ')' count. */
    assert_int_equal(startup_age("42 (a) b (c))" STAT_TAIL, 13.0, 100, &age),
                     0);
    assert_close(age, 13.0 - 12.34, 1e-12);
    assert_int_equal(startup_age("42 (h5batch) S 1 2 3", 1.0, 100, &age), -1);
    assert_int_equal(startup_age("no parenthesis", 1.0, 100, &age), -1);
    assert_int_equal(startup_age("42 (x)" STAT_TAIL, 1.0, 0, &age), -1);
    assert_int_equal(startup_age("42 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 "
                                 "15 16 17 18 12x4 1", 1.0, 100, &age), -1);
}

static void test_format_mpi(void **state)
{
    (void)state;
    struct startup_times t = {.at = {10.0, 10.001, 10.301, 10.451, 10.501},
                              .age_at_main = 0.05};
    char line[512];
    startup_format(line, sizeof line, &t, 1, "ob1", "one node");
    assert_string_equal(line, "h5batch: startup: to_main=0.050 "
                        "to_init=0.051 init=0.300 run=0.150 finalize=0.050 "
                        "total=0.551 pml=ob1 (one node)");
    startup_format(line, sizeof line, &t, 1, NULL, "several nodes");
    assert_contains(line, " pml=default (several nodes)");
}

static void test_format_alone(void **state)
{
    (void)state;
    struct startup_times t = {.at = {5.0, 5.002, 5.002, 5.202, 5.202},
                              .age_at_main = -1};
    char line[512];
    startup_format(line, sizeof line, &t, 0, "-", "no MPI");
    assert_string_equal(line, "h5batch: startup: to_main=? to_init=? init=- "
                        "run=0.200 finalize=- total=? pml=- (no MPI)");
    char small[20];
    startup_format(small, sizeof small, &t, 0, "-", "no MPI");
    assert_int_equal(strlen(small), sizeof small - 1);    /* cut, ended */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_format_mpi),
        cmocka_unit_test(test_format_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
