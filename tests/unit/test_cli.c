/* test_cli.c -- unit tests of command-line parsing.
 *
 * getopt keeps hidden state between calls, so every test starts from a
 * full reset (optind = 0) made here; the one test about that state does
 * not reset between its two parses.  argv arrays are fresh per call
 * because GNU getopt permutes them.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "cli.h"
#include "err.h"

/* argv and argc for "h5batch" followed by the given words. */
#define ARGV(...) ((char *[]){"h5batch", __VA_ARGS__, NULL})
#define ARGC(...) \
    ((int)(sizeof((char *[]){"h5batch", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(c, err, ...) \
    cli_parse((c), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (err))

/* Make glibc drop everything it remembers from an earlier parse. */
static int reset_getopt(void **state)
{
    (void)state;
    char *argv[] = {"reset", NULL};
    optind = 0;
    while (getopt(1, argv, "") != -1)
        ;
    return 0;
}

#define TEST(f) cmocka_unit_test_setup(f, reset_getopt)

/* PARSE must fail with H5B_EINPUT and a message holding fragment. */
static void expect_usage_error(int rc, const struct h5b_error *err,
                               const char *fragment)
{
    assert_int_equal(rc, H5B_EINPUT);
    assert_int_equal(H5B_EXIT_CODE(rc), 2);
    assert_contains(err->msg, fragment);
}

static void test_job_file_only(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    assert_int_equal(PARSE(&c, &err, "job.ini"), 0);
    assert_string_equal(c.jobfile, "job.ini");
    assert_null(c.output);
    assert_int_equal(c.nsets, 0);
    assert_int_equal(c.dry_run + c.json + c.quiet + c.help + c.version, 0);
    cli_free(&c);
}

static void test_flags(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    assert_int_equal(PARSE(&c, &err, "--dry-run", "-q", "job.ini"), 0);
    assert_int_equal(c.dry_run, 1);
    assert_int_equal(c.quiet, 1);
    assert_string_equal(c.jobfile, "job.ini");
    cli_free(&c);
    reset_getopt(NULL);
    assert_int_equal(PARSE(&c, &err, "--quiet", "job.ini"), 0);
    assert_int_equal(c.quiet, 1);
    cli_free(&c);
}

static void test_set_repeated_in_order(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    assert_int_equal(PARSE(&c, &err, "--set", "reduce.axis=all",
                           "--set=run.prefetch=4", "job.ini", "--set",
                           "reduce.ddof=1"), 0);
    assert_int_equal(c.nsets, 3);
    assert_string_equal(c.sets[0], "reduce.axis=all");
    assert_string_equal(c.sets[1], "run.prefetch=4");
    assert_string_equal(c.sets[2], "reduce.ddof=1");
    assert_string_equal(c.jobfile, "job.ini");
    cli_free(&c);
    assert_null(c.sets);
    assert_int_equal(c.nsets, 0);
}

static void test_output_short(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    assert_int_equal(PARSE(&c, &err, "-o", "out.h5", "job.ini"), 0);
    assert_string_equal(c.output, "out.h5");
    assert_string_equal(c.jobfile, "job.ini");
    cli_free(&c);
}

static void test_output_attached_and_long(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    assert_int_equal(PARSE(&c, &err, "-oa.h5", "job.ini"), 0);
    assert_string_equal(c.output, "a.h5");
    cli_free(&c);
    reset_getopt(NULL);
    assert_int_equal(PARSE(&c, &err, "-o", "a.h5", "--output=b.h5",
                           "job.ini"), 0);
    assert_string_equal(c.output, "b.h5");     /* the last one wins */
    cli_free(&c);
}

static void test_format_json_and_text(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    assert_int_equal(PARSE(&c, &err, "--format", "json", "job.ini"), 0);
    assert_int_equal(c.json, 1);
    cli_free(&c);
    reset_getopt(NULL);
    assert_int_equal(PARSE(&c, &err, "--format=json", "--format=text",
                           "job.ini"), 0);
    assert_int_equal(c.json, 0);
    cli_free(&c);
}

static void test_format_bad(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    int rc = PARSE(&c, &err, "--format", "xml", "job.ini");
    expect_usage_error(rc, &err, "--format");
    assert_contains(err.msg, "'xml'");
    cli_free(&c);
}

static void test_format_without_value(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    int rc = PARSE(&c, &err, "job.ini", "--format");
    expect_usage_error(rc, &err, "--format");
    assert_contains(err.msg, "needs a value");
    cli_free(&c);
}

static void test_output_without_value(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    int rc = PARSE(&c, &err, "job.ini", "-o");
    expect_usage_error(rc, &err, "-o");
    assert_contains(err.msg, "needs a value");
    cli_free(&c);
}

static void test_unknown_long_option(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    int rc = PARSE(&c, &err, "--nosuch", "job.ini");
    expect_usage_error(rc, &err, "'--nosuch'");
    cli_free(&c);
}

static void test_unknown_short_option(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    int rc = PARSE(&c, &err, "-x", "job.ini");
    expect_usage_error(rc, &err, "'-x'");
    cli_free(&c);
}

static void test_unknown_short_option_first_in_cluster(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    int rc = PARSE(&c, &err, "-xq", "job.ini");
    expect_usage_error(rc, &err, "-x");
    cli_free(&c);
}

static void test_missing_job_file(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    char *argv[] = {"h5batch", NULL};
    int rc = cli_parse(&c, 1, argv, &err);
    expect_usage_error(rc, &err, "no job file");
    cli_free(&c);
}

static void test_missing_job_file_after_options(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    int rc = PARSE(&c, &err, "-q", "--set", "a.b=1");
    expect_usage_error(rc, &err, "no job file");
    cli_free(&c);
}

static void test_two_job_files(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    int rc = PARSE(&c, &err, "a.ini", "-q", "b.ini");
    expect_usage_error(rc, &err, "got 2");
    cli_free(&c);
}

static void test_help_without_job_file(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    assert_int_equal(PARSE(&c, &err, "--help"), 0);
    assert_int_equal(c.help, 1);
    assert_null(c.jobfile);
    cli_free(&c);
    reset_getopt(NULL);
    assert_int_equal(PARSE(&c, &err, "-h"), 0);
    assert_int_equal(c.help, 1);
    cli_free(&c);
}

static void test_version_without_job_file(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    assert_int_equal(PARSE(&c, &err, "--version"), 0);
    assert_int_equal(c.version, 1);
    assert_null(c.jobfile);
    cli_free(&c);
    reset_getopt(NULL);
    assert_int_equal(PARSE(&c, &err, "-V"), 0);
    assert_int_equal(c.version, 1);
    cli_free(&c);
}

static void test_help_with_two_job_files_is_still_help(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    assert_int_equal(PARSE(&c, &err, "a.ini", "b.ini", "--help"), 0);
    assert_int_equal(c.help, 1);
    cli_free(&c);
}

static void test_double_dash_ends_options(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    assert_int_equal(PARSE(&c, &err, "-q", "--", "-odd.ini"), 0);
    assert_string_equal(c.jobfile, "-odd.ini");
    assert_null(c.output);
    cli_free(&c);
}

static void test_parse_twice_is_independent(void **state)
{
    (void)state;
    struct cli c;
    struct h5b_error err = {""};
    assert_int_equal(PARSE(&c, &err, "-xh", "job.ini"), H5B_EINPUT);
    cli_free(&c);
    assert_int_equal(PARSE(&c, &err, "job.ini"), 0);
    assert_int_equal(c.help, 0);
    assert_string_equal(c.jobfile, "job.ini");
    cli_free(&c);
}

static void test_usage_lists_every_option(void **state)
{
    (void)state;
    static const char *const words[] = {
        "JOBFILE", "--set", "--output", "-o", "--dry-run", "--format",
        "--quiet", "--help", "--version", "2 usage"};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    cli_usage(f);
    assert_int_equal(fclose(f), 0);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        assert_contains(text, words[i]);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_job_file_only),
        TEST(test_flags),
        TEST(test_set_repeated_in_order),
        TEST(test_output_short),
        TEST(test_output_attached_and_long),
        TEST(test_format_json_and_text),
        TEST(test_format_bad),
        TEST(test_format_without_value),
        TEST(test_output_without_value),
        TEST(test_unknown_long_option),
        TEST(test_unknown_short_option),
        TEST(test_unknown_short_option_first_in_cluster),
        TEST(test_missing_job_file),
        TEST(test_missing_job_file_after_options),
        TEST(test_two_job_files),
        TEST(test_help_without_job_file),
        TEST(test_version_without_job_file),
        TEST(test_help_with_two_job_files_is_still_help),
        TEST(test_double_dash_ends_options),
        TEST(test_parse_twice_is_independent),
        TEST(test_usage_lists_every_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
