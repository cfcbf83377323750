/* test_job.c -- unit tests of the job file: parsing, defaults, errors,
 * overrides, sizes and input globbing.
 *
 * Each test writes its job file with mkstemps into a scratch directory the
 * group creates and removes.  Every error case asserts H5B_EINPUT and the
 * message fragments a user needs: the key, and "path:LINE" for errors
 * inside the file.
 */
#define _GNU_SOURCE
#include "unit.h"

#include <sys/stat.h>

#include "err.h"
#include "job.h"

/* The three required keys and nothing else. */
#define MINIMAL "[input]\nfiles = data/*.h5\ndataset = /x\n" \
                "[output]\nfile = out.h5\n"

/* Write len bytes of text to a fresh job_XXXXXX.ini; path gets its name. */
static void write_job(const char *text, size_t len, char *path, size_t n)
{
    snprintf(path, n, "%s/job_XXXXXX.ini", unit_dir);
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), len);
    assert_int_equal(close(fd), 0);
}

/* Load text as a job file into job; path (PATH_MAX) gets the file name. */
static int load_len(const char *text, size_t len, struct job *job,
                    struct h5b_error *err, char *path)
{
    write_job(text, len, path, 256);
    memset(job, 0, sizeof *job);
    return job_load(job, path, err);
}

static int load(const char *text, struct job *job, struct h5b_error *err,
                char *path)
{
    return load_len(text, strlen(text), job, err, path);
}

/* Load and finish text, which must succeed. */
static void load_ok(const char *text, struct job *job, char *path)
{
    struct h5b_error err = {""};
    int rc = load(text, job, &err, path);
    if (rc == 0)
        rc = job_finish(job, &err);
    if (rc != 0) {
        job_free(job);
        fail_msg("job rejected: %s", err.msg);
    }
}

/* Loading len bytes of text must fail with H5B_EINPUT, a message holding
 * "path:line:", fragment and (if not NULL) also. */
static void expect_load_error_len(const char *text, size_t len, int line,
                                  const char *fragment, const char *also)
{
    struct job job;
    struct h5b_error err = {""};
    char path[256], where[300];
    int rc = load_len(text, len, &job, &err, path);
    assert_int_equal(rc, H5B_EINPUT);
    snprintf(where, sizeof where, "%s:%d:", path, line);
    assert_contains(err.msg, where);
    assert_contains(err.msg, fragment);
    if (also)
        assert_contains(err.msg, also);
    job_free(&job);
}

static void expect_load_error(const char *text, int line,
                              const char *fragment)
{
    expect_load_error_len(text, strlen(text), line, fragment, NULL);
}

/* Loading text succeeds; job_finish must fail with H5B_EINPUT, naming the
 * file and each fragment. */
static void expect_finish_error(const char *text, const char *frag1,
                                const char *frag2)
{
    struct job job;
    struct h5b_error err = {""};
    char path[256];
    assert_int_equal(load(text, &job, &err, path), 0);
    assert_int_equal(job_finish(&job, &err), H5B_EINPUT);
    assert_contains(err.msg, path);
    assert_contains(err.msg, frag1);
    assert_contains(err.msg, frag2);
    job_free(&job);
}

/* A job whose line 2 is "key = value" in [section]: loading must fail at
 * line 2, naming "[section] key" and fragment. */
static void expect_value_error(const char *section, const char *key,
                               const char *value, const char *fragment)
{
    char text[512], named[128];
    snprintf(text, sizeof text, "[%s]\n%s = %s\n" MINIMAL, section, key,
             value);
    snprintf(named, sizeof named, "[%s] %s", section, key);
    expect_load_error_len(text, strlen(text), 2, named, fragment);
}

static void assert_ops(const struct job *job, const char *const *want)
{
    size_t i = 0;
    for (; want[i]; i++) {
        assert_non_null(job->ops[i]);
        assert_string_equal(job->ops[i], want[i]);
    }
    assert_null(job->ops[i]);
}

/* ---- good files --------------------------------------------------------- */

static const char good_text[] =
    "; a full job file\n"
    "[job]\n"
    "name = nightly\n"
    "[input]\n"
    "files = a/*.h5 b/*.h5\n"
    "dataset = /group/values\n"
    "partition_size = 4M\n"
    "[reduce]\n"
    "ops = mean, std\n"
    "axis = all\n"
    "ddof = 1\n"
    "[run]\n"
    "prefetch = 4\n"
    "shared_memory = off\n"
    "worker_decode = off\n"
    "read_ahead = off\n"
    "rank0_reduces = off\n"
    "worker_reads = off\n"
    "[output]\n"
    "file = results/out.h5\n";

static void test_good_file_fills_every_field(void **state)
{
    (void)state;
    struct job job;
    char path[256];
    load_ok(good_text, &job, path);
    assert_string_equal(job.name, "nightly");
    assert_string_equal(job.files, "a/*.h5 b/*.h5");
    assert_string_equal(job.dataset, "/group/values");
    assert_string_equal(job.output, "results/out.h5");
    assert_int_equal(job.partition_bytes, 4u << 20);
    assert_ops(&job, (const char *const[]){"mean", "std", NULL});
    assert_int_equal(job.axis_all, 1);
    assert_int_equal(job.ddof, 1);
    assert_int_equal(job.prefetch, 4);
    assert_int_equal(job.shared_memory, 0);
    assert_int_equal(job.worker_decode, 0);
    assert_int_equal(job.read_ahead, 0);
    assert_int_equal(job.rank0_reduces, 0);
    assert_int_equal(job.worker_reads, 0);
    job_free(&job);
}

static void test_good_file_keeps_path_text_and_entries(void **state)
{
    (void)state;
    struct job job;
    char path[256];
    load_ok(good_text, &job, path);
    assert_string_equal(job.path, path);
    assert_string_equal(job.text, good_text);
    assert_string_equal(job_get(&job, "input", "partition_size"), "4M");
    assert_string_equal(job_get(&job, "reduce", "ops"), "mean, std");
    assert_null(job_get(&job, "reduce", "nosuch"));
    assert_null(job_get(&job, "nosuch", "ops"));
    job_free(&job);
}

static void test_defaults(void **state)
{
    (void)state;
    struct job job;
    char path[256], stem[256];
    load_ok(MINIMAL, &job, path);
    snprintf(stem, sizeof stem, "%s", strrchr(path, '/') + 1);
    stem[strlen(stem) - strlen(".ini")] = '\0';
    assert_string_equal(job.name, stem);
    assert_int_equal(job.partition_bytes, 1u << 20);
    assert_ops(&job, (const char *const[]){"count", "sum", "mean", "var",
                                           "std", "min", "max", NULL});
    assert_int_equal(job.axis_all, 0);
    assert_int_equal(job.ddof, 0);
    assert_int_equal(job.prefetch, 2);
    assert_int_equal(job.shared_memory, 1);
    assert_int_equal(job.worker_decode, 1);
    assert_int_equal(job.read_ahead, 1);
    assert_int_equal(job.rank0_reduces, 1);
    assert_int_equal(job.worker_reads, JOB_READS_AUTO);
    job_free(&job);
}

/* worker_reads takes auto, all and off (the README's three values). */
static void test_worker_reads_values(void **state)
{
    (void)state;
    static const char *const text[] = {"auto", "all", "off"};
    static const int want[] = {JOB_READS_AUTO, JOB_READS_ALL, JOB_READS_OFF};
    for (int i = 0; i < 3; i++) {
        char buf[256];
        struct job job;
        char path[256];
        snprintf(buf, sizeof buf, "%s[run]\nworker_reads = %s\n", MINIMAL,
                 text[i]);
        load_ok(buf, &job, path);
        assert_int_equal(job.worker_reads, want[i]);
        job_free(&job);
    }
}

static void test_default_name_drops_only_last_extension(void **state)
{
    (void)state;
    struct job job = {0};
    struct h5b_error err = {""};
    char path[256];
    unit_write_file("my.job.ini", MINIMAL, strlen(MINIMAL), path,
                    sizeof path);
    assert_int_equal(job_load(&job, path, &err), 0);
    assert_int_equal(job_finish(&job, &err), 0);
    assert_string_equal(job.name, "my.job");
    job_free(&job);
}

static void test_comments_and_blank_lines_are_ignored(void **state)
{
    (void)state;
    struct job job;
    char path[256];
    load_ok("\n# hash comment\n; semicolon comment\n\n" MINIMAL "\n\n",
            &job, path);
    assert_string_equal(job.dataset, "/x");
    job_free(&job);
}

static void test_ops_across_two_lines(void **state)
{
    (void)state;
    struct job job;
    char path[256];
    load_ok("[reduce]\nops = count sum\n  mean\n\tmax\n" MINIMAL, &job,
            path);
    assert_ops(&job, (const char *const[]){"count", "sum", "mean", "max",
                                           NULL});
    job_free(&job);
}

static void test_ops_commas_and_repeats(void **state)
{
    (void)state;
    struct job job;
    char path[256];
    load_ok("[reduce]\nops = min,max, min ,max\n" MINIMAL, &job, path);
    assert_ops(&job, (const char *const[]){"min", "max", NULL});
    job_free(&job);
}

static void test_files_across_two_lines(void **state)
{
    (void)state;
    struct job job;
    char path[256];
    load_ok("[input]\nfiles = a/*.h5\n  b/*.h5\ndataset = /d\n"
            "[output]\nfile = o.h5\n", &job, path);
    assert_string_equal(job.files, "a/*.h5 b/*.h5");
    job_free(&job);
}

static void test_files_continuation_may_start_with_bracket(void **state)
{
    (void)state;
    struct job job;
    char path[256];
    load_ok("[input]\nfiles = a/*.h5\n  [ab]*.h5\ndataset = /d\n"
            "[output]\nfile = o.h5\n", &job, path);
    assert_string_equal(job.files, "a/*.h5 [ab]*.h5");
    job_free(&job);
}

static void test_partition_size_1G_is_the_limit(void **state)
{
    (void)state;
    struct job job;
    char path[256];
    load_ok("[input]\npartition_size = 1G\n" MINIMAL, &job, path);
    assert_int_equal(job.partition_bytes, 1u << 30);
    job_free(&job);
}

static void test_line_of_198_chars_is_accepted(void **state)
{
    (void)state;
    char line[199], text[512];
    struct job job;
    char path[256];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    memcpy(line, "dataset = /", 11);
    snprintf(text, sizeof text, "[input]\nfiles = f.h5\n%s\n[output]\n"
             "file = o.h5\n", line);
    load_ok(text, &job, path);
    assert_int_equal(strlen(job.dataset), 198 - strlen("dataset = "));
    job_free(&job);
}

/* ---- errors in the file ------------------------------------------------- */

static void test_missing_file(void **state)
{
    (void)state;
    struct job job = {0};
    struct h5b_error err = {""};
    char path[256];
    snprintf(path, sizeof path, "%s/no-such-job.ini", unit_dir);
    assert_int_equal(job_load(&job, path, &err), H5B_EINPUT);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "cannot open");
    job_free(&job);
}

static void test_directory_is_unreadable(void **state)
{
    (void)state;
    struct job job = {0};
    struct h5b_error err = {""};
    assert_int_equal(job_load(&job, unit_dir, &err), H5B_EINPUT);
    assert_contains(err.msg, unit_dir);
    assert_contains(err.msg, "cannot");
    job_free(&job);
}

static void test_file_without_permission_is_unreadable(void **state)
{
    (void)state;
    struct job job = {0};
    struct h5b_error err = {""};
    char path[256];
    if (geteuid() == 0)
        skip();     /* root reads a mode-000 file */
    write_job(MINIMAL, strlen(MINIMAL), path, sizeof path);
    assert_int_equal(chmod(path, 0), 0);
    assert_int_equal(job_load(&job, path, &err), H5B_EINPUT);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "cannot open");
    job_free(&job);
}

static void test_syntax_error_names_line(void **state)
{
    (void)state;
    expect_load_error("[input]\nfiles = a.h5\nthis line has no equals\n", 3,
                      "syntax error");
}

static void test_unclosed_section_header(void **state)
{
    (void)state;
    expect_load_error("[input]\nfiles = a.h5\n[output\nfile = o.h5\n", 3,
                      "']'");
}

static void test_unknown_section(void **state)
{
    (void)state;
    expect_load_error(MINIMAL "[bogus]\nx = 1\n", 6, "[bogus]");
}

static void test_empty_unknown_section(void **state)
{
    (void)state;
    expect_load_error("[input]\nfiles = a.h5\n[empty]\n", 3, "[empty]");
}

static void test_unknown_key_names_key_and_line(void **state)
{
    (void)state;
    expect_load_error("[reduce]\naxis = 0\nfoo = 1\n" MINIMAL, 3, "'foo'");
}

/* Text that is not UTF-8 is refused at its line and column; a comment may
 * hold any bytes (they go nowhere). */
static void test_not_utf8_names_line_and_column(void **state)
{
    (void)state;
    expect_load_error("[job]\nname = ab\x80\n" MINIMAL, 2,
                      "not UTF-8 text: byte 0x80 at column 10");
    expect_load_error("[job]\nname = \xC0\xAF\n" MINIMAL, 2,
                      "byte 0xC0 at column 8");
    struct job job;
    char path[256];
    load_ok("# temp\xE9rature (Latin-1)\n[job]\nname = temp\xC3\xA9\n"
            MINIMAL, &job, path);
    assert_string_equal(job_get(&job, "job", "name"), "temp\xC3\xA9");
    job_free(&job);
}

static void test_key_outside_section(void **state)
{
    (void)state;
    expect_load_error("name = x\n" MINIMAL, 1, "'name'");
}

static void test_repeated_scalar_key(void **state)
{
    (void)state;
    expect_load_error("[reduce]\naxis = 0\naxis = all\n" MINIMAL, 3,
                      "'axis'");
}

static void test_scalar_key_continued_on_indented_line(void **state)
{
    (void)state;
    expect_load_error("[reduce]\naxis = 0\n  all\n" MINIMAL, 3, "'axis'");
}

static void test_line_of_199_chars_is_rejected(void **state)
{
    (void)state;
    char line[200], text[512];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    memcpy(line, "dataset = /", 11);
    snprintf(text, sizeof text, "[input]\nfiles = f.h5\n%s\n", line);
    expect_load_error(text, 3, "longer than 198");
}

static void test_nul_byte(void **state)
{
    (void)state;
    static const char text[] = "[input]\nfiles = a\0b.h5\n";
    expect_load_error_len(text, sizeof text - 1, 2, "NUL", NULL);
}

static void test_missing_files(void **state)
{
    (void)state;
    expect_finish_error("[input]\ndataset = /x\n[output]\nfile = o.h5\n",
                        "'files'", "[input]");
}

static void test_missing_dataset(void **state)
{
    (void)state;
    expect_finish_error("[input]\nfiles = a.h5\n[output]\nfile = o.h5\n",
                        "'dataset'", "[input]");
}

static void test_missing_output_file(void **state)
{
    (void)state;
    expect_finish_error("[input]\nfiles = a.h5\ndataset = /x\n", "'file'",
                        "[output]");
}

static void test_empty_value(void **state)
{
    (void)state;
    expect_value_error("input", "dataset", "", "empty value");
}

static void test_partition_size_negative(void **state)
{
    (void)state;
    expect_value_error("input", "partition_size", "-1", "'-1'");
}

static void test_partition_size_bad_suffix(void **state)
{
    (void)state;
    expect_value_error("input", "partition_size", "12Q", "'12Q'");
}

static void test_partition_size_zero(void **state)
{
    (void)state;
    expect_value_error("input", "partition_size", "0", "'0'");
}

static void test_partition_size_over_1G(void **state)
{
    (void)state;
    expect_value_error("input", "partition_size", "2G", "1G limit");
}

static void test_partition_size_exponent(void **state)
{
    (void)state;
    expect_value_error("input", "partition_size", "1e30", "'1e30'");
}

static void test_partition_size_overflow(void **state)
{
    (void)state;
    expect_value_error("input", "partition_size", "18446744073709551616K",
                       "'18446744073709551616K'");
}

static void test_ops_unknown(void **state)
{
    (void)state;
    expect_value_error("reduce", "ops", "mean median", "'median'");
}

static void test_ops_empty(void **state)
{
    (void)state;
    expect_value_error("reduce", "ops", ",", "operator names");
}

static void test_axis_3(void **state)
{
    (void)state;
    expect_value_error("reduce", "axis", "3", "'3'");
}

static void test_ddof_5(void **state)
{
    (void)state;
    expect_value_error("reduce", "ddof", "5", "'5'");
}

static void test_ddof_not_a_number(void **state)
{
    (void)state;
    expect_value_error("reduce", "ddof", "1x", "'1x'");
}

static void test_exact_maybe(void **state)
{
    (void)state;
    expect_value_error("reduce", "exact", "maybe", "yes or no");
}

static void test_prefetch_0(void **state)
{
    (void)state;
    expect_value_error("run", "prefetch", "0", "'0'");
}

static void test_shared_memory_not_auto_or_off(void **state)
{
    (void)state;
    expect_value_error("run", "shared_memory", "yes", "'yes'");
    expect_value_error("run", "worker_decode", "on", "'on'");
    expect_value_error("run", "read_ahead", "1", "'1'");
    expect_value_error("run", "rank0_reduces", "yes", "'yes'");
    expect_value_error("run", "worker_reads", "true", "'true'");
}

static void test_prefetch_over_max(void **state)
{
    (void)state;
    expect_value_error("run", "prefetch", "65", "'65'");
}

/* ---- --set overrides ---------------------------------------------------- */

static void test_override_replaces_file_value(void **state)
{
    (void)state;
    struct job job;
    struct h5b_error err = {""};
    char path[256];
    assert_int_equal(load("[reduce]\naxis = 0\n" MINIMAL, &job, &err, path),
                     0);
    assert_int_equal(job_override(&job, "reduce.axis=all", &err), 0);
    assert_int_equal(job_override(&job, "output.file=other.h5", &err), 0);
    assert_int_equal(job_finish(&job, &err), 0);
    assert_int_equal(job.axis_all, 1);
    assert_string_equal(job.output, "other.h5");
    job_free(&job);
}

static void test_override_value_may_hold_equals_and_dots(void **state)
{
    (void)state;
    struct job job = {0};
    struct h5b_error err = {""};
    assert_int_equal(job_override(&job, "input.dataset=/a.b=c", &err), 0);
    assert_string_equal(job_get(&job, "input", "dataset"), "/a.b=c");
    job_free(&job);
}

/* job_override(assignment) must fail with H5B_EINPUT naming each fragment. */
static void expect_override_error(const char *assignment, const char *frag1,
                                  const char *frag2)
{
    struct job job = {0};
    struct h5b_error err = {""};
    assert_int_equal(job_override(&job, assignment, &err), H5B_EINPUT);
    assert_contains(err.msg, frag1);
    assert_contains(err.msg, frag2);
    assert_null(job_get(&job, "reduce", "axis"));
    job_free(&job);
}

/* A long assignment: the reason is given, the value cut to 60 characters. */
static void test_override_too_long_says_so(void **state)
{
    (void)state;
    char a[2000];
    snprintf(a, sizeof a, "input.dataset=/%01900d", 0);
    struct job job = {0};
    struct h5b_error err = {""};
    assert_int_equal(job_override(&job, a, &err), H5B_EINPUT);
    assert_contains(err.msg, "--set input.dataset=/000");
    assert_contains(err.msg, "...: longer than 1023 characters");
    assert_true(strlen(err.msg) < 120);
    job_free(&job);
    expect_override_error("job.name=a\xFF", "--set job.name=a",
                          "not UTF-8 text: byte 0xFF at column 11");
}

static void test_override_bad_value(void **state)
{
    (void)state;
    expect_override_error("reduce.axis=3", "--set reduce.axis=3", "axis");
}

static void test_override_unknown_section(void **state)
{
    (void)state;
    expect_override_error("nosuch.key=1", "--set nosuch.key=1", "[nosuch]");
}

static void test_override_unknown_key(void **state)
{
    (void)state;
    expect_override_error("reduce.nosuch=1", "'nosuch'", "[reduce]");
}

static void test_override_without_dot(void **state)
{
    (void)state;
    expect_override_error("missingdot=1", "missingdot=1",
                          "section.key=value");
}

static void test_override_without_equals(void **state)
{
    (void)state;
    expect_override_error("reduce.axis", "reduce.axis",
                          "section.key=value");
}

static void test_override_dot_only_in_value(void **state)
{
    (void)state;
    expect_override_error("axis=a.b", "axis=a.b", "section.key=value");
}

static void test_overrides_alone_make_a_job(void **state)
{
    (void)state;
    struct job job = {0};
    struct h5b_error err = {""};
    assert_int_equal(job_override(&job, "input.files=a.h5", &err), 0);
    assert_int_equal(job_override(&job, "input.dataset=/d", &err), 0);
    assert_int_equal(job_override(&job, "output.file=o.h5", &err), 0);
    assert_int_equal(job_override(&job, "reduce.axis=all", &err), 0);
    assert_int_equal(job_finish(&job, &err), 0);
    assert_int_equal(job.axis_all, 1);
    job_free(&job);
}

/* ---- job_parse_size ----------------------------------------------------- */

static void test_parse_size_good(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t want;
    } t[] = {
        {"1", 1}, {"0", 0}, {"4096", 4096}, {"1K", 1024}, {"1k", 1024},
        {"512K", 512 * 1024}, {"1M", 1u << 20}, {"1m", 1u << 20},
        {"1G", 1u << 30}, {"1T", 1ull << 40}, {"1KiB", 1024},
        {"1kb", 1024}, {"1KB", 1024}, {"3MiB", 3u << 20}, {"1B", 1},
        {"18446744073709551615", UINT64_MAX},
        {"16777215T", 16777215ull << 40},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint64_t got = 12345;
        if (job_parse_size(t[i].s, &got) != 0)
            fail_msg("job_parse_size(\"%s\") failed, expected %llu", t[i].s,
                     (unsigned long long)t[i].want);
        if (got != t[i].want)
            fail_msg("job_parse_size(\"%s\") = %llu, expected %llu", t[i].s,
                     (unsigned long long)got, (unsigned long long)t[i].want);
    }
}

static void test_parse_size_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "K", "-1", "+1", " 1", "1 ", "1.5M", "1e3", "12Q", "1KK",
        "1iB", "0x10", "1bK", "1MiBx", "18446744073709551616",
        "16777216T", "18446744073709551615K",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t got = 777;
        if (job_parse_size(bad[i], &got) != -1)
            fail_msg("job_parse_size(\"%s\") accepted, gave %llu", bad[i],
                     (unsigned long long)got);
        assert_int_equal(got, 777);
    }
    assert_int_equal(job_parse_size(NULL, &(uint64_t){0}), -1);
}

/* ---- job_expand_files --------------------------------------------------- */

static char glob_dir[300];

/* Make glob_dir holding a1.h5 a2.h5 b1.h5 b2.h5 c.txt (once). */
static void make_glob_dir(void)
{
    static const char *const names[] = {"b2.h5", "a2.h5", "c.txt", "a1.h5",
                                        "b1.h5"};
    char name[64], path[400];
    if (glob_dir[0])
        return;
    snprintf(glob_dir, sizeof glob_dir, "%s/glob", unit_dir);
    assert_int_equal(mkdir(glob_dir, 0700), 0);
    for (size_t i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "glob/%s", names[i]);
        unit_write_file(name, "", 0, path, sizeof path);
    }
}

/* Expand patterns (each "%s" is glob_dir) and compare with the names,
 * NULL-terminated, which are relative to glob_dir. */
static void expect_expansion(const char *patterns,
                             const char *const *want)
{
    char spec[1024], path[400];
    struct job job = {0};
    struct h5b_error err = {""};
    char **files = NULL;
    size_t n = 0, i = 0;
    make_glob_dir();
    snprintf(spec, sizeof spec, patterns, glob_dir, glob_dir, glob_dir);
    job.files = spec;
    if (job_expand_files(&job, &files, &n, &err) != 0)
        fail_msg("expanding '%s' failed: %s", spec, err.msg);
    for (; want[i]; i++) {
        assert_true(i < n);
        snprintf(path, sizeof path, "%s/%s", glob_dir, want[i]);
        assert_string_equal(files[i], path);
    }
    assert_int_equal(n, i);
    job_free_files(files, n);
}

static void test_expand_sorted(void **state)
{
    (void)state;
    expect_expansion("%s/*.h5", (const char *const[]){"a1.h5", "a2.h5",
                                                      "b1.h5", "b2.h5",
                                                      NULL});
}

static void test_expand_overlapping_patterns_deduplicated(void **state)
{
    (void)state;
    expect_expansion("%s/b*.h5 %s/*1.h5 %s/a*.h5",
                     (const char *const[]){"a1.h5", "a2.h5", "b1.h5",
                                           "b2.h5", NULL});
}

static void test_expand_comma_and_space_separators(void **state)
{
    (void)state;
    expect_expansion("%s/b1.h5,%s/c.txt , \t%s/a2.h5",
                     (const char *const[]){"a2.h5", "b1.h5", "c.txt",
                                           NULL});
}

static void test_expand_same_file_twice(void **state)
{
    (void)state;
    expect_expansion("%s/a1.h5 %s/a1.h5", (const char *const[]){"a1.h5",
                                                                NULL});
}

static void test_expand_no_match_names_pattern(void **state)
{
    (void)state;
    char spec[1024], bad[400];
    struct job job = {0};
    struct h5b_error err = {""};
    char **files = (char **)1;
    size_t n = 99;
    make_glob_dir();
    snprintf(bad, sizeof bad, "%s/z*.h5", glob_dir);
    snprintf(spec, sizeof spec, "%s/a*.h5 %s", glob_dir, bad);
    job.files = spec;
    assert_int_equal(job_expand_files(&job, &files, &n, &err), H5B_EINPUT);
    assert_contains(err.msg, bad);
    assert_contains(err.msg, "files");
    assert_null(files);
    assert_int_equal(n, 0);
}

static void test_expand_no_pattern(void **state)
{
    (void)state;
    struct job job = {.files = " , "};
    struct h5b_error err = {""};
    char **files = NULL;
    size_t n = 0;
    assert_int_equal(job_expand_files(&job, &files, &n, &err), H5B_EINPUT);
    assert_contains(err.msg, "files");
    assert_null(files);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file_fills_every_field),
        cmocka_unit_test(test_good_file_keeps_path_text_and_entries),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_worker_reads_values),
        cmocka_unit_test(test_default_name_drops_only_last_extension),
        cmocka_unit_test(test_comments_and_blank_lines_are_ignored),
        cmocka_unit_test(test_ops_across_two_lines),
        cmocka_unit_test(test_ops_commas_and_repeats),
        cmocka_unit_test(test_files_across_two_lines),
        cmocka_unit_test(test_files_continuation_may_start_with_bracket),
        cmocka_unit_test(test_partition_size_1G_is_the_limit),
        cmocka_unit_test(test_line_of_198_chars_is_accepted),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_directory_is_unreadable),
        cmocka_unit_test(test_file_without_permission_is_unreadable),
        cmocka_unit_test(test_syntax_error_names_line),
        cmocka_unit_test(test_unclosed_section_header),
        cmocka_unit_test(test_unknown_section),
        cmocka_unit_test(test_empty_unknown_section),
        cmocka_unit_test(test_unknown_key_names_key_and_line),
        cmocka_unit_test(test_key_outside_section),
        cmocka_unit_test(test_repeated_scalar_key),
        cmocka_unit_test(test_scalar_key_continued_on_indented_line),
        cmocka_unit_test(test_line_of_199_chars_is_rejected),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_missing_dataset),
        cmocka_unit_test(test_missing_output_file),
        cmocka_unit_test(test_empty_value),
        cmocka_unit_test(test_partition_size_negative),
        cmocka_unit_test(test_partition_size_bad_suffix),
        cmocka_unit_test(test_partition_size_zero),
        cmocka_unit_test(test_partition_size_over_1G),
        cmocka_unit_test(test_partition_size_exponent),
        cmocka_unit_test(test_partition_size_overflow),
        cmocka_unit_test(test_ops_unknown),
        cmocka_unit_test(test_ops_empty),
        cmocka_unit_test(test_axis_3),
        cmocka_unit_test(test_ddof_5),
        cmocka_unit_test(test_ddof_not_a_number),
        cmocka_unit_test(test_exact_maybe),
        cmocka_unit_test(test_prefetch_0),
        cmocka_unit_test(test_prefetch_over_max),
        cmocka_unit_test(test_shared_memory_not_auto_or_off),
        cmocka_unit_test(test_override_replaces_file_value),
        cmocka_unit_test(test_override_value_may_hold_equals_and_dots),
        cmocka_unit_test(test_override_bad_value),
        cmocka_unit_test(test_override_unknown_section),
        cmocka_unit_test(test_override_unknown_key),
        cmocka_unit_test(test_override_without_dot),
        cmocka_unit_test(test_override_without_equals),
        cmocka_unit_test(test_override_dot_only_in_value),
        cmocka_unit_test(test_overrides_alone_make_a_job),
        cmocka_unit_test(test_parse_size_good),
        cmocka_unit_test(test_parse_size_bad),
        cmocka_unit_test(test_expand_sorted),
        cmocka_unit_test(test_expand_overlapping_patterns_deduplicated),
        cmocka_unit_test(test_expand_comma_and_space_separators),
        cmocka_unit_test(test_expand_same_file_twice),
        cmocka_unit_test(test_expand_no_match_names_pattern),
        cmocka_unit_test(test_expand_no_pattern),
        cmocka_unit_test(test_not_utf8_names_line_and_column),
        cmocka_unit_test(test_override_too_long_says_so),
    };
    return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
