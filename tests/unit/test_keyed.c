/* test_keyed.c -- unit tests of per-key partials (group_by on a field).
 *
 * Expected values are plain loops: the per-key, per-cell count and mean
 * of generated records are summed here directly.  Pieces go through
 * encode/decode and are merged in order, as rank 0 merges them; the same
 * cuts twice give the same bits (nothing but the cuts decides them), and
 * malformed bytes or too many keys are refused.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "err.h"
#include "keyed.h"
#include "op.h"
#include "results.h"

#define NCELL 6
#define NREC 120

static const char *const ops[] = {"count", "mean", "std", NULL};

static void init(struct opset *set, struct keyed_config *c)
{
    struct h5b_op_config shape = {.type = H5B_FLOAT64, .ncell = NCELL,
                                  .cell_rank = 2, .cell_dims = {2, 3}};
    struct h5b_error err = {""};
    if (opset_init(set, &shape, ops, &err) != 0)
        fail_msg("opset_init: %s", err.msg);
    memset(c, 0, sizeof *c);
    c->ncol = 1;
    c->set[0] = set;
    c->elems = NCELL;
}

static void data(double *x, int64_t *keys)
{
    for (int r = 0; r < NREC; r++) {
        keys[r] = (r % 12) + 1;         /* months */
        for (int j = 0; j < NCELL; j++)
            x[r * NCELL + j] = 100.0 * j + sin(r * 0.7 + j) * 10 + r * 0.01;
    }
}

/* Reduce records [a, b) into a fresh partial, shipped as bytes. */
static struct keyed_partial *piece(const struct keyed_config *c,
                                   const double *x, const int64_t *keys,
                                   uint64_t a, uint64_t b)
{
    struct h5b_error err = {""};
    struct keyed_partial *p = NULL, *q = NULL;
    assert_int_equal(keyed_create(&p, &err), 0);
    assert_int_equal(keyed_add_keys(c, p, keys + a, b - a, &err), 0);
    assert_int_equal(keyed_update(c, p, 0, keys + a, b - a, x + a * NCELL, a,
                                  &err), 0);
    size_t len = keyed_encoded_size(c, p);
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(keyed_encode(c, p, buf, len, &err), 0);
    assert_int_equal(keyed_create(&q, &err), 0);
    if (keyed_decode(c, q, buf, len, &err) != 0)
        fail_msg("decode: %s", err.msg);
    keyed_destroy(c, p);
    free(buf);
    return q;
}

/* Cut at cuts[] and merge in order; finalize into rs. */
static void run_cuts(const struct keyed_config *c, const double *x,
                     const int64_t *keys, const uint64_t *cuts, size_t n,
                     struct results *rs)
{
    struct h5b_error err = {""};
    struct keyed_partial *acc = NULL;
    uint64_t at = 0;
    assert_int_equal(keyed_create(&acc, &err), 0);
    for (size_t k = 0; k < n; k++) {
        struct keyed_partial *p = piece(c, x, keys, at, cuts[k]);
        assert_int_equal(keyed_merge(c, acc, p, &err), 0);
        keyed_destroy(c, p);
        at = cuts[k];
    }
    const char *groups[] = {"tas"};
    struct keyed_names nm = {groups, "month", 0};
    memset(rs, 0, sizeof *rs);
    if (keyed_finalize(c, acc, &nm, rs, &err) != 0)
        fail_msg("finalize: %s", err.msg);
    keyed_destroy(c, acc);
}

static const struct result *find(const struct results *rs, const char *name)
{
    const struct result *r = results_find(rs, "tas", name);
    if (!r)
        fail_msg("no result %s", name);
    return r;
}

static void test_keyed_values_and_layout(void **state)
{
    (void)state;
    static double x[NREC * NCELL];
    static int64_t keys[NREC];
    struct opset set;
    struct keyed_config c;
    struct results rs;
    uint64_t cuts[] = {7, 30, 31, 90, NREC};
    init(&set, &c);
    data(x, keys);
    run_cuts(&c, x, keys, cuts, 5, &rs);
    const struct result *month = find(&rs, "month");
    const struct result *mean = find(&rs, "mean");
    const struct result *count = find(&rs, "count");
    assert_true(month->coord_only);
    assert_int_equal(month->dims[0], 12);
    assert_int_equal(mean->rank, 3);
    assert_true(mean->key_axis && mean->per_cell);
    assert_int_equal(mean->dims[0], 12);
    assert_int_equal(mean->dims[1], 2);
    assert_int_equal(mean->dims[2], 3);
    for (int k = 0; k < 12; k++) {
        assert_int_equal(((int64_t *)month->data)[k], k + 1);
        for (int j = 0; j < NCELL; j++) {
            double s = 0;
            int n = 0;
            for (int r = k; r < NREC; r += 12, n++)
                s += x[r * NCELL + j];
            assert_int_equal(((uint64_t *)count->data)[k * NCELL + j], n);
            assert_close(((double *)mean->data)[k * NCELL + j], s / n, 1e-14);
        }
    }
    results_free(&rs);
}

/* The same cuts, the same bits: what makes any rank count agree, since
 * the partitions do not depend on it. */
static void test_keyed_cuts_same_bits(void **state)
{
    (void)state;
    static double x[NREC * NCELL];
    static int64_t keys[NREC];
    struct opset set;
    struct keyed_config c;
    struct results a, b;
    uint64_t cuts_a[] = {10, 20, 40, 60, 80, 100, NREC};
    init(&set, &c);
    data(x, keys);
    run_cuts(&c, x, keys, cuts_a, 7, &a);
    run_cuts(&c, x, keys, cuts_a, 7, &b);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        assert_memory_equal(a.r[i].data, b.r[i].data,
                            a.r[i].nelem * h5b_type_size(a.r[i].type));
    results_free(&a);
    results_free(&b);
}

static void test_keyed_refusals(void **state)
{
    (void)state;
    static double x[NREC * NCELL];
    static int64_t keys[NREC];
    struct opset set;
    struct keyed_config c;
    struct h5b_error err = {""};
    struct keyed_partial *p = NULL, *q = NULL;
    init(&set, &c);
    data(x, keys);
    c.max_keys = 5;
    assert_int_equal(keyed_create(&p, &err), 0);
    assert_int_equal(keyed_add_keys(&c, p, keys, NREC, &err), H5B_EINPUT);
    assert_contains(err.msg, "more than 5 distinct keys");
    keyed_destroy(&c, p);
    c.max_keys = 0;
    p = piece(&c, x, keys, 0, 30);
    size_t len = keyed_encoded_size(&c, p);
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(keyed_encode(&c, p, buf, len, &err), 0);
    assert_int_equal(keyed_create(&q, &err), 0);
    assert_int_equal(keyed_decode(&c, q, buf, len - 1, &err), H5B_ERUN);
    keyed_destroy(&c, q);
    /* the second key made equal to the first: not increasing */
    size_t second = 8 + 8;
    for (size_t i = 0; i < 1; i++)
        second += 8 + h5b_get_u64(buf + second);
    h5b_put_u64(buf + second, h5b_get_u64(buf + 8));
    assert_int_equal(keyed_create(&q, &err), 0);
    assert_int_equal(keyed_decode(&c, q, buf, len, &err), H5B_ERUN);
    assert_contains(err.msg, "not increasing");
    keyed_destroy(&c, q);
    keyed_destroy(&c, p);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyed_values_and_layout),
        cmocka_unit_test(test_keyed_cuts_same_bits),
        cmocka_unit_test(test_keyed_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
