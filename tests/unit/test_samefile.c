/* test_samefile.c -- unit tests of the output-is-an-input check
 * (samefile.h).
 *
 * A scratch directory holds an input, a symlink and a hard link to it and
 * a file that is no input; each target is checked against the inputs as
 * glob would list them.  The expected answers come from how the files
 * were made here, not from samefile.c.
 */
#define _GNU_SOURCE
#include "unit.h"

#include <sys/stat.h>

#include "err.h"
#include "samefile.h"

static char in_path[128], other_path[128], sym_path[160], hard_path[160];
static char cwd_before[4096];

static int setup(void **state)
{
    if (unit_dir_setup(state) != 0 || !getcwd(cwd_before, sizeof cwd_before))
        return -1;
    unit_write_file("in.h5", "input", 5, in_path, sizeof in_path);
    unit_write_file("other.h5", "other", 5, other_path, sizeof other_path);
    snprintf(sym_path, sizeof sym_path, "%s/sym.out", unit_dir);
    snprintf(hard_path, sizeof hard_path, "%s/hard.out", unit_dir);
    return symlink(in_path, sym_path) == 0 && link(in_path, hard_path) == 0
           ? 0 : -1;
}

static int teardown(void **state)
{
    if (chdir(cwd_before) != 0)
        return -1;
    return unit_dir_teardown(state);
}

/* samefile_check of one output and one checkpoint against in.h5. */
static int check(const char *out, const char *ckpt, const char *patterns,
                 struct h5b_error *err)
{
    char *inputs[] = {in_path};
    struct samefile_target t[2] = {{out, "the output"},
                                   {ckpt, "the checkpoint"}};
    err->msg[0] = '\0';
    return samefile_check(t, 2, inputs, 1, patterns, err);
}

static void distinct_files_pass(void **state)
{
    (void)state;
    struct h5b_error err;
    char out[160], ck[170];
    snprintf(out, sizeof out, "%s/new.h5", unit_dir);
    snprintf(ck, sizeof ck, "%s.ckpt", out);
    assert_int_equal(check(out, ck, in_path, &err), 0);
    assert_int_equal(check(other_path, ck, in_path, &err), 0);
}

static void output_by_path_is_refused(void **state)
{
    (void)state;
    struct h5b_error err;
    assert_int_equal(check(in_path, "/nonexistent/x.ckpt", in_path, &err),
                     H5B_EINPUT);
    assert_contains(err.msg, in_path);
    assert_contains(err.msg, "is both an input");
    assert_contains(err.msg, "and the output");
}

static void symlink_and_hard_link_are_refused(void **state)
{
    (void)state;
    struct h5b_error err;
    const char *links[] = {sym_path, hard_path};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(check(links[i], "/nonexistent/x.ckpt", in_path,
                               &err), H5B_EINPUT);
        assert_contains(err.msg, links[i]);
        assert_contains(err.msg, in_path);
        assert_contains(err.msg, "under another name");
    }
}

static void checkpoint_on_input_is_refused(void **state)
{
    (void)state;
    struct h5b_error err;
    char out[160];
    snprintf(out, sizeof out, "%s/new.h5", unit_dir);
    assert_int_equal(check(out, hard_path, in_path, &err), H5B_EINPUT);
    assert_contains(err.msg, "the checkpoint");
    assert_contains(err.msg, hard_path);
}

static void input_from_a_glob_says_so(void **state)
{
    (void)state;
    struct h5b_error err;
    char pattern[160];
    snprintf(pattern, sizeof pattern, "%s/*.h5", unit_dir);
    assert_int_equal(check(in_path, "/nonexistent/x.ckpt", pattern, &err),
                     H5B_EINPUT);
    assert_contains(err.msg, pattern);
    assert_contains(err.msg, "earlier run");
}

/* Neither exists yet: the same directory entry spelled two ways. */
static void output_equal_to_checkpoint_is_refused(void **state)
{
    (void)state;
    struct h5b_error err;
    char out[160], ck[170];
    snprintf(out, sizeof out, "%s/new.h5", unit_dir);
    snprintf(ck, sizeof ck, "%s/.//new.h5", unit_dir);
    assert_int_equal(check(out, ck, in_path, &err), H5B_EINPUT);
    assert_contains(err.msg, "the output");
    assert_contains(err.msg, "the checkpoint");
    assert_contains(err.msg, "same file");
    /* and when both exist: compared by inode */
    assert_int_equal(check(other_path, other_path, in_path, &err),
                     H5B_EINPUT);
}

static void pattern_match_is_textual_and_absolute(void **state)
{
    (void)state;
    char got[256], abs_out[200];
    assert_int_equal(chdir(unit_dir), 0);
    snprintf(abs_out, sizeof abs_out, "%s/data/../stats.h5", unit_dir);
    assert_int_equal(samefile_pattern("a.nc *.h5", "stats.h5", got,
                                      sizeof got), 0);
    assert_string_equal(got, "*.h5");
    assert_int_equal(samefile_pattern("x.nc, ./*.h5", abs_out, got,
                                      sizeof got), 0);
    assert_string_equal(got, "./*.h5");
    assert_int_equal(samefile_pattern("*.h5", "stats.nc", got, sizeof got),
                     -1);
    /* glob's rules: * matches no leading dot, nor a slash */
    assert_int_equal(samefile_pattern("*.h5", ".hidden.h5", got, sizeof got),
                     -1);
    assert_int_equal(samefile_pattern("*.h5", "sub/x.h5", got, sizeof got),
                     -1);
    assert_int_equal(chdir(cwd_before), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distinct_files_pass),
        cmocka_unit_test(output_by_path_is_refused),
        cmocka_unit_test(symlink_and_hard_link_are_refused),
        cmocka_unit_test(checkpoint_on_input_is_refused),
        cmocka_unit_test(input_from_a_glob_says_so),
        cmocka_unit_test(output_equal_to_checkpoint_is_refused),
        cmocka_unit_test(pattern_match_is_textual_and_absolute),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
