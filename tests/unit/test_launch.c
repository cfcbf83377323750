/* test_launch.c -- unit tests of finding a launcher in the environment.
 *
 * The environment is a table set per test (UNIT_ENV in unit.h), read
 * through the getenv stand-in that launch.h takes, so no test touches the
 * process's own environment. */
#define _XOPEN_SOURCE 500     /* nftw, in unit.h */
#include "unit.h"

#include "launch.h"

static void test_alone_has_no_mark(void **state)
{
    (void)state;
    unit_env = NULL;
    assert_null(launch_mark(unit_getenv));
    UNIT_ENV("SLURM_JOB_ID", "12", "SLURM_PROCID", "0", "HOME", "/root");
    assert_null(launch_mark(unit_getenv));   /* a batch script, no step */
}

static void test_each_launcher_is_found(void **state)
{
    (void)state;
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "4");
    assert_string_equal(launch_mark(unit_getenv), "OMPI_COMM_WORLD_SIZE");
    UNIT_ENV("PMIX_RANK", "0");
    assert_string_equal(launch_mark(unit_getenv), "PMIX_RANK");
    UNIT_ENV("PMI_RANK", "3", "PMI_SIZE", "4");
    assert_string_equal(launch_mark(unit_getenv), "PMI_RANK");
    UNIT_ENV("PMI_FD", "7");
    assert_string_equal(launch_mark(unit_getenv), "PMI_FD");
    UNIT_ENV("PMI_SIZE", "2");
    assert_string_equal(launch_mark(unit_getenv), "PMI_SIZE");
}

static void test_empty_value_is_no_mark(void **state)
{
    (void)state;
    UNIT_ENV("OMPI_COMM_WORLD_SIZE", "", "PMIX_RANK", "");
    assert_null(launch_mark(unit_getenv));
}

static void test_override(void **state)
{
    (void)state;
    UNIT_ENV("H5BATCH_MPI", "1");
    assert_string_equal(launch_mark(unit_getenv), "H5BATCH_MPI");
    UNIT_ENV("H5BATCH_MPI", "0", "OMPI_COMM_WORLD_SIZE", "4");
    assert_null(launch_mark(unit_getenv));
    UNIT_ENV("H5BATCH_MPI", "yes", "PMI_RANK", "1");      /* not 0 or 1: ignored */
    assert_string_equal(launch_mark(unit_getenv), "PMI_RANK");
}

static void test_rank(void **state)
{
    (void)state;
    unit_env = NULL;
    assert_int_equal(launch_rank(unit_getenv), 0);
    UNIT_ENV("OMPI_COMM_WORLD_RANK", "2", "PMIX_RANK", "2");
    assert_int_equal(launch_rank(unit_getenv), 2);
    UNIT_ENV("PMI_RANK", "5");
    assert_int_equal(launch_rank(unit_getenv), 5);
    UNIT_ENV("SLURM_PROCID", "7");
    assert_int_equal(launch_rank(unit_getenv), 7);
    UNIT_ENV("PMI_RANK", "x1", "SLURM_PROCID", "3");      /* not a number: next */
    assert_int_equal(launch_rank(unit_getenv), 3);
    UNIT_ENV("PMI_RANK", "-1");
    assert_int_equal(launch_rank(unit_getenv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alone_has_no_mark),
        cmocka_unit_test(test_each_launcher_is_found),
        cmocka_unit_test(test_empty_value_is_no_mark),
        cmocka_unit_test(test_override),
        cmocka_unit_test(test_rank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
