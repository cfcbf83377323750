/* test_fileread.c -- unit tests of the byte-range reader (fileread.h).
 *
 * Two scratch files hold a closed-form pattern (byte k of file j is
 * (k * 7 + j) mod 251), so every range read can be checked byte by byte
 * against the formula, including ranges that cross a page boundary and
 * switches from one file to the other and back.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "err.h"
#include "fileread.h"

#define FILE_BYTES 20000

static char path_a[128], path_b[128];

static unsigned char pattern(size_t k, int j)
{
    return (unsigned char)((k * 7 + (size_t)j) % 251);
}

static int setup(void **state)
{
    static unsigned char data[FILE_BYTES];
    if (unit_dir_setup(state) != 0)
        return -1;
    for (int j = 0; j < 2; j++) {
        for (size_t k = 0; k < FILE_BYTES; k++)
            data[k] = pattern(k, j);
        unit_write_file(j ? "b.bin" : "a.bin", data, FILE_BYTES,
                        j ? path_b : path_a, sizeof path_a);
    }
    return 0;
}

static void expect_range(struct fileread *f, const char *path, int j,
                         uint64_t pos, size_t len)
{
    static unsigned char buf[FILE_BYTES];
    struct h5b_error err = {""};
    memset(buf, 0xEE, sizeof buf);
    assert_int_equal(fileread_get(f, path, strlen(path), pos, buf, len, &err),
                     0);
    for (size_t k = 0; k < len; k++)
        if (buf[k] != pattern((size_t)pos + k, j))
            fail_msg("%s: byte %zu of the range at %llu is %u, not %u", path,
                     k, (unsigned long long)pos, buf[k],
                     pattern((size_t)pos + k, j));
    assert_int_equal(buf[len], 0xEE);   /* nothing past the range */
}

static void reads_ranges_and_switches_files(void **state)
{
    (void)state;
    struct fileread f;
    fileread_init(&f);
    expect_range(&f, path_a, 0, 0, 1);
    expect_range(&f, path_a, 0, 4090, 10);          /* across a page */
    expect_range(&f, path_b, 1, 3, FILE_BYTES - 4); /* up to the last byte */
    expect_range(&f, path_a, 0, FILE_BYTES - 1, 1);
    expect_range(&f, path_a, 0, 100, 0);
    fileread_close(&f);
    fileread_close(&f);                             /* twice is harmless */
}

/* The path is a length, not a C string: only its first n bytes count. */
static void path_is_counted_not_terminated(void **state)
{
    (void)state;
    char longer[160];
    unsigned char b;
    struct h5b_error err = {""};
    struct fileread f;
    snprintf(longer, sizeof longer, "%s-not-this-part", path_b);
    fileread_init(&f);
    assert_int_equal(fileread_get(&f, longer, strlen(path_b), 5, &b, 1, &err),
                     0);
    assert_int_equal(b, pattern(5, 1));
    fileread_close(&f);
}

static void short_file_names_it(void **state)
{
    (void)state;
    unsigned char buf[64];
    struct h5b_error err = {""};
    struct fileread f;
    fileread_init(&f);
    int rc = fileread_get(&f, path_a, strlen(path_a), FILE_BYTES - 10, buf,
                          sizeof buf, &err);
    assert_int_equal(rc, H5B_EINPUT);
    assert_contains(err.msg, path_a);
    assert_contains(err.msg, "did it shrink?");
    /* The file stays usable after the failure. */
    expect_range(&f, path_a, 0, 7, 9);
    fileread_close(&f);
}

static void missing_file_names_it(void **state)
{
    (void)state;
    char missing[160];
    unsigned char b;
    struct h5b_error err = {""};
    struct fileread f;
    snprintf(missing, sizeof missing, "%s/no-such.h5", unit_dir);
    fileread_init(&f);
    assert_int_equal(fileread_get(&f, missing, strlen(missing), 0, &b, 1,
                                  &err), H5B_EINPUT);
    assert_contains(err.msg, missing);
    assert_contains(err.msg, "No such file");
    /* A second try with the same path fails the same way, not on a
     * stale descriptor. */
    assert_int_equal(fileread_get(&f, missing, strlen(missing), 0, &b, 1,
                                  &err), H5B_EINPUT);
    assert_contains(err.msg, "No such file");
    expect_range(&f, path_b, 1, 0, 16);
    fileread_close(&f);
}

static void malformed_names_are_refused(void **state)
{
    (void)state;
    unsigned char b;
    struct h5b_error err = {""};
    struct fileread f;
    fileread_init(&f);
    assert_int_equal(fileread_get(&f, "", 0, 0, &b, 1, &err), H5B_ERUN);
    assert_int_equal(fileread_get(&f, "a\0b", 3, 0, &b, 1, &err), H5B_ERUN);
    assert_int_equal(fileread_get(&f, path_a, strlen(path_a), UINT64_MAX - 2,
                                  &b, 1, &err), H5B_ERUN);
    assert_contains(err.msg, "out of range");
    fileread_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_ranges_and_switches_files),
        cmocka_unit_test(path_is_counted_not_terminated),
        cmocka_unit_test(short_file_names_it),
        cmocka_unit_test(missing_file_names_it),
        cmocka_unit_test(malformed_names_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, unit_dir_teardown);
}
