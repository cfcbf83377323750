/* test_atomicfile.c -- unit tests of whole-file writes under a temporary
 * name (atomicfile.h).
 *
 * Success replaces the target and leaves nothing else in the directory;
 * each failure leaves the old target byte for byte, no temporary file,
 * and a message with the path, the step and strerror.  (A full or
 * read-only file system is tested for real, on mounts, in tests/hostile.)
 */
#define _GNU_SOURCE
#include "unit.h"

#include <dirent.h>
#include <sys/stat.h>

#include "atomicfile.h"
#include "err.h"

/* Entries of dir, not counting . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    assert_non_null(d);
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void read_back(const char *path, const char *want)
{
    char buf[64] = "";
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void writes_and_replaces(void **state)
{
    (void)state;
    struct h5b_error err = {""};
    char path[160];
    unit_write_file("a.bin", "old", 3, path, sizeof path);
    int before = entries(unit_dir);
    assert_int_equal(atomicfile_write(path, "results", "new bytes", 9, &err),
                     0);
    read_back(path, "new bytes");
    assert_int_equal(entries(unit_dir), before);    /* no temporary left */
}

static void missing_directory_names_the_step(void **state)
{
    (void)state;
    struct h5b_error err = {""};
    char path[160];
    snprintf(path, sizeof path, "%s/no/such/dir/x.h5", unit_dir);
    assert_int_equal(atomicfile_write(path, "results", "x", 1, &err),
                     H5B_ERUN);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "writing results failed");
    assert_contains(err.msg, "creating a temporary file");
    assert_contains(err.msg, strerror(ENOENT));
}

/* rename(2) of a file over a directory fails (EISDIR): the last step. */
static void failed_rename_leaves_no_temporary(void **state)
{
    (void)state;
    struct h5b_error err = {""};
    char path[160];
    snprintf(path, sizeof path, "%s/target.d", unit_dir);
    assert_int_equal(mkdir(path, 0755), 0);
    int before = entries(unit_dir);
    assert_int_equal(atomicfile_write(path, "checkpoint", "x", 1, &err),
                     H5B_ERUN);
    assert_contains(err.msg, "writing checkpoint failed: renaming");
    assert_contains(err.msg, strerror(EISDIR));
    assert_int_equal(entries(unit_dir), before);
    assert_int_equal(rmdir(path), 0);
}

/* A file in the way of the first temporary name is left alone. */
static void existing_temporary_name_is_skipped(void **state)
{
    (void)state;
    struct h5b_error err = {""};
    char path[160], squat[200];
    snprintf(path, sizeof path, "%s/b.bin", unit_dir);
    snprintf(squat, sizeof squat, "%s/.b.bin.tmp.%ld.0", unit_dir,
             (long)getpid());
    FILE *f = fopen(squat, "wb");
    assert_non_null(f);
    fputs("someone else's", f);
    fclose(f);
    assert_int_equal(atomicfile_write(path, "results", "mine", 4, &err), 0);
    read_back(path, "mine");
    read_back(squat, "someone else's");
    assert_int_equal(unlink(squat), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_and_replaces),
        cmocka_unit_test(missing_directory_names_the_step),
        cmocka_unit_test(failed_rename_leaves_no_temporary),
        cmocka_unit_test(existing_temporary_name_is_skipped),
    };
    return cmocka_run_group_tests(tests, unit_dir_setup, unit_dir_teardown);
}
