/* test_utf8.c -- unit tests of utf8_clean.
 *
 * Expected strings are written out by hand from the Unicode standard:
 * table 3-7 (well-formed byte sequences) and the worked example of table
 * 3-8 (U+FFFD for maximal subparts), which Python's
 * bytes.decode("utf-8", "replace") reproduces as well.
 */
#define _XOPEN_SOURCE 700
#include "unit.h"

#include "utf8.h"

#define FFFD "\xEF\xBF\xBD"

static void check(const char *in, const char *want)
{
    char *got = utf8_clean(in);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_well_formed_unchanged(void **state)
{
    (void)state;
    check("", "");
    check("plain \"quoted\" back\\slash \x01\t", "plain \"quoted\" back\\slash \x01\t");
    check("temp\xC3\xA9rature", "temp\xC3\xA9rature");           /* é */
    check("\xE2\x82\xAC \xED\x9F\xBF \xEF\xBF\xBF", "\xE2\x82\xAC \xED\x9F\xBF \xEF\xBF\xBF");
    check("\xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF", "\xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF");
}

/* Table 3-8: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64. */
static void test_unicode_table_3_8(void **state)
{
    (void)state;
    check("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
          "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d");
}

static void test_lone_and_truncated(void **state)
{
    (void)state;
    check("\xFF", FFFD);
    check("a\xFE" "b", "a" FFFD "b");
    check("end\xE2\x82", "end" FFFD);              /* cut at the end */
    check("end\xF0\x9F\x98", "end" FFFD);
    check("\xC3", FFFD);
}

static void test_overlong_surrogate_too_big(void **state)
{
    (void)state;
    check("\xC0\xAF", FFFD FFFD);                   /* overlong '/' */
    check("\xE0\x80\xAF", FFFD FFFD FFFD);          /* overlong, 3 bytes */
    check("\xED\xA0\x80", FFFD FFFD FFFD);          /* U+D800 */
    check("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* U+110000 */
    check("\xF5\x80", FFFD FFFD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed_unchanged),
        cmocka_unit_test(test_unicode_table_3_8),
        cmocka_unit_test(test_lone_and_truncated),
        cmocka_unit_test(test_overlong_surrogate_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
