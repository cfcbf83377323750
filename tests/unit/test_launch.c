/* test_launch.c -- unit tests of finding a launcher in the environment.
 *
 * The environment is a table set per test (fake_env), read through the
 * getenv stand-in that launch.h takes, so no test touches the process's
 * own environment. */
#define _XOPEN_SOURCE 500     /* nftw, in unit.h */
#include "unit.h"

#include "launch.h"

static const char *const *fake_env;     /* NAME, VALUE, ..., NULL */

static const char *fake_getenv(const char *name)
{
    for (const char *const *p = fake_env; p && *p; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

#define ENV(...) (fake_env = (const char *const[]){__VA_ARGS__, NULL})

static void test_alone_has_no_mark(void **state)
{
    (void)state;
    fake_env = NULL;
    assert_null(launch_mark(fake_getenv));
    ENV("SLURM_JOB_ID", "12", "SLURM_PROCID", "0", "HOME", "/root");
    assert_null(launch_mark(fake_getenv));   /* a batch script, no step */
}

static void test_each_launcher_is_found(void **state)
{
    (void)state;
    ENV("OMPI_COMM_WORLD_SIZE", "4");
    assert_string_equal(launch_mark(fake_getenv), "OMPI_COMM_WORLD_SIZE");
    ENV("PMIX_RANK", "0");
    assert_string_equal(launch_mark(fake_getenv), "PMIX_RANK");
    ENV("PMI_RANK", "3", "PMI_SIZE", "4");
    assert_string_equal(launch_mark(fake_getenv), "PMI_RANK");
    ENV("PMI_FD", "7");
    assert_string_equal(launch_mark(fake_getenv), "PMI_FD");
    ENV("PMI_SIZE", "2");
    assert_string_equal(launch_mark(fake_getenv), "PMI_SIZE");
}

static void test_empty_value_is_no_mark(void **state)
{
    (void)state;
    ENV("OMPI_COMM_WORLD_SIZE", "", "PMIX_RANK", "");
    assert_null(launch_mark(fake_getenv));
}

static void test_override(void **state)
{
    (void)state;
    ENV("H5BATCH_MPI", "1");
    assert_string_equal(launch_mark(fake_getenv), "H5BATCH_MPI");
    ENV("H5BATCH_MPI", "0", "OMPI_COMM_WORLD_SIZE", "4");
    assert_null(launch_mark(fake_getenv));
    ENV("H5BATCH_MPI", "yes", "PMI_RANK", "1");      /* not 0 or 1: ignored */
    assert_string_equal(launch_mark(fake_getenv), "PMI_RANK");
}

static void test_rank(void **state)
{
    (void)state;
    fake_env = NULL;
    assert_int_equal(launch_rank(fake_getenv), 0);
    ENV("OMPI_COMM_WORLD_RANK", "2", "PMIX_RANK", "2");
    assert_int_equal(launch_rank(fake_getenv), 2);
    ENV("PMI_RANK", "5");
    assert_int_equal(launch_rank(fake_getenv), 5);
    ENV("SLURM_PROCID", "7");
    assert_int_equal(launch_rank(fake_getenv), 7);
    ENV("PMI_RANK", "x1", "SLURM_PROCID", "3");      /* not a number: next */
    assert_int_equal(launch_rank(fake_getenv), 3);
    ENV("PMI_RANK", "-1");
    assert_int_equal(launch_rank(fake_getenv), 0);
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
