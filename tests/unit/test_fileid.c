/* test_fileid.c -- unit tests of the file identity check (fileid.h).
 *
 * A scratch file is described, then changed in one respect at a time:
 * its size, its modification time (set with utimensat), one byte inside
 * the hashed head (size and time restored), one byte past it; each change
 * but the last must be told apart, with what differs.
 */
#define _GNU_SOURCE
#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileid.h"

#define BYTES (FILEID_HEAD_BYTES + 4096)

static char path[128];
static unsigned char data[BYTES];

static int setup(void **state)
{
    if (unit_dir_setup(state) != 0)
        return -1;
    for (size_t k = 0; k < BYTES; k++)
        data[k] = (unsigned char)(k * 13 % 256);
    unit_write_file("f.bin", data, BYTES, path, sizeof path);
    return 0;
}

/* Overwrite byte at with v, keeping the modification time of *id. */
static void poke(size_t at, unsigned char v, const struct fileid *id)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &v, 1, (off_t)at), 1);
    close(fd);
    struct timespec t[2] = {{id->mtime_s, id->mtime_ns},
                            {id->mtime_s, id->mtime_ns}};
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static void tells_changes_apart(void **state)
{
    (void)state;
    struct fileid a, b;
    struct h5b_error err = {""};
    char why[256] = "";
    assert_int_equal(fileid_get(path, &a, &err), 0);
    assert_int_equal(a.size, BYTES);
    assert_int_equal(fileid_get(path, &b, &err), 0);
    assert_int_equal(fileid_compare(&b, &a, why, sizeof why), 0);
    /* a byte inside the head, same size and time */
    poke(100, (unsigned char)(data[100] ^ 1), &a);
    assert_int_equal(fileid_get(path, &b, &err), 0);
    assert_int_equal(fileid_compare(&b, &a, why, sizeof why), -1);
    assert_contains(why, "first 65536 bytes");
    poke(100, data[100], &a);
    /* a byte past the head: not seen, by design */
    poke(FILEID_HEAD_BYTES + 10, 0, &a);
    assert_int_equal(fileid_get(path, &b, &err), 0);
    assert_int_equal(fileid_compare(&b, &a, why, sizeof why), 0);
    /* the time */
    struct timespec t[2] = {{a.mtime_s + 5, 0}, {a.mtime_s + 5, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
    assert_int_equal(fileid_get(path, &b, &err), 0);
    assert_int_equal(fileid_compare(&b, &a, why, sizeof why), -1);
    assert_contains(why, "modified at");
    /* the size */
    assert_int_equal(truncate(path, 10), 0);
    assert_int_equal(fileid_get(path, &b, &err), 0);
    assert_int_equal(fileid_compare(&b, &a, why, sizeof why), -1);
    assert_contains(why, "size 10 bytes, rank 0 sees 69632");
}

static void missing_file_names_it(void **state)
{
    (void)state;
    struct fileid a;
    struct h5b_error err = {""};
    char missing[160];
    snprintf(missing, sizeof missing, "%s.gone", path);
    assert_int_equal(fileid_get(missing, &a, &err), H5B_EINPUT);
    assert_contains(err.msg, missing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tells_changes_apart),
        cmocka_unit_test(missing_file_names_it),
    };
    return cmocka_run_group_tests(tests, setup, unit_dir_teardown);
}
