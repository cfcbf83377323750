/* test_suggest.c -- unit tests of the nearest-name suggestion.
 *
 * Distances are counted by hand: one edit per inserted, deleted or
 * substituted character, or per swap of two adjacent characters.
 */
#define _XOPEN_SOURCE 700
#include "unit.h"

#include <string.h>

#include "suggest.h"

static void test_distance(void **state)
{
    (void)state;
    assert_int_equal(suggest_distance("", ""), 0);
    assert_int_equal(suggest_distance("abc", ""), 3);
    assert_int_equal(suggest_distance("partition_sise", "partition_size"), 1);
    assert_int_equal(suggest_distance("partiiton_size", "partition_size"), 1);
    assert_int_equal(suggest_distance("partiton_size", "partition_size"), 1);
    assert_int_equal(suggest_distance("kitten", "sitting"), 3);
    assert_int_equal(suggest_distance("ca", "abc"), 3);     /* OSA, not 2 */
    char big[SUGGEST_MAX_LEN + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(suggest_distance(big, "a"), (size_t)-1);
}

static void test_nearest(void **state)
{
    static const char *const keys[] = {
        "files", "dataset", NULL, "partition_size", "fields", "cf"};
    const size_t n = sizeof keys / sizeof *keys;
    (void)state;
    assert_string_equal(suggest_nearest("partition_sise", keys, n),
                        "partition_size");
    assert_string_equal(suggest_nearest("datset", keys, n), "dataset");
    assert_string_equal(suggest_nearest("file", keys, n), "files");
    assert_string_equal(suggest_nearest("feilds", keys, n), "fields");
    assert_null(suggest_nearest("ops", keys, n));           /* too far */
    assert_null(suggest_nearest("c", keys, n));             /* too short */
    assert_null(suggest_nearest("zzzzzzzzzzzz", keys, n));
    assert_null(suggest_nearest("partition", keys, n));     /* 5 edits */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_nearest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
