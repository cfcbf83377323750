/* test_err.c -- unit tests of err_set and err_prefix: every message one
 * line, safe for a terminal.  Expected strings are written out by hand. */
#define _XOPEN_SOURCE 700
#include "unit.h"

#include "err.h"
#include "utf8.h"

static void check(const char *in, const char *want)
{
    struct h5b_error err = {""};
    assert_int_equal(err_set(&err, H5B_EINPUT, "%s", in), H5B_EINPUT);
    assert_string_equal(err.msg, want);
}

static void test_plain_and_utf8_unchanged(void **state)
{
    (void)state;
    check("", "");
    check("no dataset '/a b' in f.h5 (100%)", "no dataset '/a b' in f.h5 (100%)");
    check("temp\xC3\xA9rature \xE2\x82\xAC \xF0\x9F\x98\x80",
          "temp\xC3\xA9rature \xE2\x82\xAC \xF0\x9F\x98\x80");
    check("back\\slash", "back\\slash");
}

static void test_line_breaks_become_spaces(void **state)
{
    (void)state;
    check("a\nb\rc\td", "a b c d");
}

static void test_control_bytes_escaped(void **state)
{
    (void)state;
    check("key '\x1b]0;owned\x07\x1b[2J'", "key '\\x1B]0;owned\\x07\\x1B[2J'");
    check("\x01\x7f", "\\x01\\x7F");
}

static void test_ill_formed_utf8_escaped(void **state)
{
    (void)state;
    check("a\xFF" "b", "a\\xFFb");
    check("\xC0\xAF", "\\xC0\\xAF");                /* overlong '/' */
    check("end\xE2\x82", "end\\xE2\\x82");          /* cut sequence */
    check("\xED\xA0\x80", "\\xED\\xA0\\x80");       /* U+D800 */
}

/* A message longer than the buffer is cut between sequences: what is left
 * is well-formed UTF-8 with no half escape. */
static void test_cut_between_sequences(void **state)
{
    (void)state;
    char in[1200];
    struct h5b_error err = {""};
    for (size_t i = 0; i + 2 < sizeof in; i += 2)
        memcpy(in + i, "\xC3\xA9", 2);
    in[sizeof in - 2] = '\0';
    err_set(&err, H5B_EINPUT, "%s", in);
    size_t n = strlen(err.msg);
    assert_true(n < sizeof err.msg && n >= sizeof err.msg - 2);
    assert_int_equal(n % 2, 0);
    for (size_t i = 0; i < n; i += 2)
        assert_int_equal(utf8_sequence(err.msg + i), 2);
    memset(in, '\x01', 600);
    in[600] = '\0';
    err_set(&err, H5B_EINPUT, "%s", in);
    n = strlen(err.msg);
    assert_int_equal(n % 4, 0);
    assert_true(n + 4 >= sizeof err.msg);
}

/* err_prefix keeps an escaped message as it is (no double escaping). */
static void test_prefix_keeps_escapes(void **state)
{
    (void)state;
    struct h5b_error err = {""};
    err_set(&err, H5B_EINPUT, "key '\x1b'");
    assert_int_equal(err_prefix(&err, H5B_ERUN, "job.ini:%d", 3), H5B_ERUN);
    assert_string_equal(err.msg, "job.ini:3: key '\\x1B'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_utf8_unchanged),
        cmocka_unit_test(test_line_breaks_become_spaces),
        cmocka_unit_test(test_control_bytes_escaped),
        cmocka_unit_test(test_ill_formed_utf8_escaped),
        cmocka_unit_test(test_cut_between_sequences),
        cmocka_unit_test(test_prefix_keeps_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
