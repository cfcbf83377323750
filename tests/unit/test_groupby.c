/* test_groupby.c -- unit tests of the group-by module (src/groupby.c).
 *
 * Expected values come from an independent computation here: the records
 * are grouped by sorting (key, record) pairs, each key's values are
 * gathered into a plain array and reduced in long double with a two-pass
 * mean and variance, exact counts, min and max.  Results are read back
 * through the real results list.  The merge tests replay the master:
 * reduce each partition into a fresh partial, ship it (or not, as rank 0
 * alone would) through encode/decode, merge in partition order into an
 * empty accumulator.  Crafted wire bytes follow the format documented in
 * groupby.c, written out by hand.
 */
#define _GNU_SOURCE
#include "unit.h"

#include <sys/resource.h>
#include <time.h>

#include "err.h"
#include "groupby.h"
#include "results.h"

#define NCOL 4

static const char *const all_ops[] = {"count", "sum", "mean", "var", "std",
                                      "min", "max", NULL};
static const char *const count_only[] = {"count", NULL};
static const char *const groups[] = {"a_i32", "b_u8", "c_f64", "d_i64",
                                     "e", "f", "g", "h", "i", "j"};
static const char *const stat_names[] = {"sum", "mean", "var", "std", "min",
                                         "max"};

/* ---- data ------------------------------------------------------------- */

static uint64_t rng_state;

/* xorshift64*: a fixed, seedable sequence. */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

/* Uniform in [-1, 1). */
static double unit_noise(void)
{
    return (double)(rnd() >> 11) * 0x1p-52 - 1.0;
}

static const int64_t special_keys[] = {
    INT64_MIN, INT64_MIN + 1, -1000000007, -5, -1, 0, 1, 7, 42,
    INT64_C(1) << 40, INT64_MAX - 1, INT64_MAX
};
#define NSPECIAL (sizeof special_keys / sizeof special_keys[0])
#define ALL_NAN_KEY 42      /* its float column holds only NaN */

struct data {
    uint64_t n;
    int64_t *keys;
    int32_t *i32;
    uint8_t *u8;
    double *f64;
    int64_t *i64;
    const void *col[NCOL];
};

static const h5b_type main_types[NCOL] = {H5B_INT32, H5B_UINT8, H5B_FLOAT64,
                                          H5B_INT64};

/* Per-key level so that each key's values sit far from 0 (1e9 + noise):
 * the shift must keep every digit of their variance. */
static double level(int64_t key)
{
    return (double)((uint64_t)key % 1000) + 1e9;
}

/* n records: keys mostly from special_keys (repeated, unsorted), the rest
 * random and mostly unique; float values with NaNs. */
static void data_make(struct data *d, uint64_t n, uint64_t seed)
{
    rng_state = seed;
    d->n = n;
    d->keys = malloc(n * sizeof *d->keys);
    d->i32 = malloc(n * sizeof *d->i32);
    d->u8 = malloc(n * sizeof *d->u8);
    d->f64 = malloc(n * sizeof *d->f64);
    d->i64 = malloc(n * sizeof *d->i64);
    assert_true(d->keys && d->i32 && d->u8 && d->f64 && d->i64);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = rnd();
        int64_t k = r % 3 ? special_keys[r % NSPECIAL] : (int64_t)rnd();
        d->keys[i] = k;
        d->i32[i] = (int32_t)(level(k) + (double)(rnd() % 2001) - 1000);
        d->u8[i] = (uint8_t)rnd();
        d->f64[i] = rnd() % 10 == 0 || k == ALL_NAN_KEY ? NAN :
                    level(k) + unit_noise();
        d->i64[i] = (k < 0 ? -1 : 1) * (INT64_C(1000000000000000) +
                                         (int64_t)(rnd() % 1000000));
    }
    d->col[0] = d->i32;
    d->col[1] = d->u8;
    d->col[2] = d->f64;
    d->col[3] = d->i64;
}

static void data_free(struct data *d)
{
    free(d->keys);
    free(d->i32);
    free(d->u8);
    free(d->f64);
    free(d->i64);
}

static struct gb_config config(const h5b_type *types, size_t ncol,
                               const char *const *outputs, int ddof)
{
    struct gb_config c = {.ncol = ncol, .type = types, .elems = 1,
                          .outputs = outputs, .ddof = ddof};
    return c;
}

/* ---- independent reference --------------------------------------------- */

/* Value i of a column of type t, widened without loss. */
static long double elem(h5b_type t, const void *v, uint64_t i)
{
    switch (t) {
    case H5B_INT8: return ((const int8_t *)v)[i];
    case H5B_UINT8: return ((const uint8_t *)v)[i];
    case H5B_INT16: return ((const int16_t *)v)[i];
    case H5B_UINT16: return ((const uint16_t *)v)[i];
    case H5B_INT32: return ((const int32_t *)v)[i];
    case H5B_UINT32: return ((const uint32_t *)v)[i];
    case H5B_INT64: return ((const int64_t *)v)[i];
    case H5B_UINT64: return ((const uint64_t *)v)[i];
    case H5B_FLOAT32: return ((const float *)v)[i];
    case H5B_FLOAT64: return ((const double *)v)[i];
    }
    return NAN;
}

struct pair {
    int64_t key;
    uint64_t rec;
};

static int pair_cmp(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->rec > y->rec) - (x->rec < y->rec);
}

/* The records grouped by key: pairs sorted by key then record. */
static struct pair *group(const int64_t *keys, uint64_t n)
{
    struct pair *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (uint64_t i = 0; i < n; i++) {
        p[i].key = keys[i];
        p[i].rec = i;
    }
    qsort(p, n, sizeof *p, pair_cmp);
    return p;
}

struct ref {
    uint64_t n, nan;
    long double sum, abs_sum, mean, ss, min, max;
};

/* Two-pass statistics of the values of records rec[0..m) of column v. */
static struct ref reference(h5b_type t, const void *v, const struct pair *g,
                           uint64_t m)
{
    struct ref r = {.min = INFINITY, .max = -INFINITY};
    long double *x = malloc((m ? m : 1) * sizeof *x);
    assert_non_null(x);
    for (uint64_t i = 0; i < m; i++) {
        long double y = elem(t, v, g[i].rec);
        if (isnan(y)) {
            r.nan++;
            continue;
        }
        x[r.n++] = y;
        r.sum += y;
        r.abs_sum += fabsl(y);
        r.min = y < r.min ? y : r.min;
        r.max = y > r.max ? y : r.max;
    }
    r.mean = r.n ? r.sum / r.n : NAN;
    /* Corrected two-pass: subtracting (sum of deviations)^2 / n takes out
     * the error of the rounded mean, which for values near 4e15 would
     * otherwise cost the reference digits at 1e-11. */
    long double dev = 0;
    for (uint64_t i = 0; i < r.n; i++) {
        r.ss += (x[i] - r.mean) * (x[i] - r.mean);
        dev += x[i] - r.mean;
    }
    if (r.n)
        r.ss -= dev * dev / r.n;
    free(x);
    return r;
}

/* ---- running the module ----------------------------------------------- */

static const void *col_at(const void *col, h5b_type t, uint64_t first)
{
    return (const unsigned char *)col + first * h5b_type_size(t);
}

/* Reduce records [a, b) into a fresh partial, in one update or in pieces
 * of `piece` records (0: one update). */
static struct gb_partial *reduce(const struct gb_config *c,
                                 const int64_t *keys, const void *const *col,
                                 uint64_t a, uint64_t b, uint64_t piece)
{
    struct h5b_error err = {""};
    struct gb_partial *p = NULL;
    if (gb_create(c, &p, &err) != 0)
        fail_msg("gb_create: %s", err.msg);
    for (uint64_t s = a; s < b || s == a; s += piece ? piece : b - a + 1) {
        uint64_t e = piece && s + piece < b ? s + piece : b;
        const void *v[GB_MAX_COLUMNS];
        for (size_t j = 0; j < c->ncol; j++)
            v[j] = col_at(col[j], c->type[j], s);
        if (gb_update(p, keys + s, v, e - s, &err) != 0)
            fail_msg("gb_update: %s", err.msg);
    }
    return p;
}

static unsigned char *encode(const struct gb_partial *p, size_t *len)
{
    struct h5b_error err = {""};
    *len = gb_encoded_size(p);
    unsigned char *buf = malloc(*len);
    assert_non_null(buf);
    if (gb_encode(p, buf, *len, &err) != 0)
        fail_msg("gb_encode: %s", err.msg);
    return buf;
}

/* What a worker and rank 0 do: encode p, decode into a fresh partial. */
static struct gb_partial *ship(const struct gb_config *c,
                               struct gb_partial *p)
{
    struct h5b_error err = {""};
    struct gb_partial *q = NULL;
    size_t len;
    unsigned char *buf = encode(p, &len);
    gb_destroy(p);
    assert_int_equal(gb_create(c, &q, &err), 0);
    if (gb_decode(q, buf, len, &err) != 0)
        fail_msg("gb_decode: %s", err.msg);
    free(buf);
    return q;
}

static void merge(struct gb_partial *acc, const struct gb_partial *later)
{
    struct h5b_error err = {""};
    if (gb_merge(acc, later, &err) != 0)
        fail_msg("gb_merge: %s", err.msg);
}

/* Keys that run_cuts reserves room for in its accumulator (gb_reserve). */
static uint64_t acc_reserve;

/* The master over partitions [cut[i], cut[i+1]): partition i is shipped
 * when bit (i % 64) of ship_mask is set, else merged as rank 0 would
 * merge its own; merged in order into an empty accumulator. */
static struct gb_partial *run_cuts(const struct gb_config *c,
                                   const struct data *d,
                                   const uint64_t *cut, size_t ncut,
                                   uint64_t ship_mask)
{
    struct h5b_error err = {""};
    struct gb_partial *acc = NULL;
    assert_int_equal(gb_create(c, &acc, &err), 0);
    gb_reserve(acc, acc_reserve);
    for (size_t i = 0; i + 1 < ncut; i++) {
        struct gb_partial *p = reduce(c, d->keys, d->col, cut[i], cut[i + 1],
                                      0);
        if (ship_mask >> (i % 64) & 1)
            p = ship(c, p);
        merge(acc, p);
        gb_destroy(p);
    }
    return acc;
}

static void finalize(const struct gb_partial *p, struct results *rs)
{
    struct h5b_error err = {""};
    memset(rs, 0, sizeof *rs);
    if (gb_finalize(p, groups, rs, &err) != 0)
        fail_msg("gb_finalize: %s", err.msg);
}

static const struct result *get(const struct results *rs, const char *group,
                                const char *name)
{
    char full[64];
    snprintf(full, sizeof full, "groupby/%s", name);
    const struct result *r = results_find(rs, group, full);
    if (!r)
        fail_msg("no result %s/%s", group, full);
    return r;
}

/* ---- checking results against the reference ---------------------------- */

/* Check one key's statistics (row j of column group g) against ref. */
static void check_stats(const struct results *rs, const char *g, uint64_t j,
                        const struct ref *e, int ddof, double rel)
{
    long double var = e->n > (uint64_t)ddof ? e->ss / (e->n - ddof) : NAN;
    assert_int_equal(((const uint64_t *)get(rs, g, "count")->data)[j], e->n);
    assert_close_scaled(results_value(get(rs, g, "sum"), j), e->sum, 1e-15,
                        e->abs_sum + 1);
    if (e->n)
        assert_close_scaled(results_value(get(rs, g, "mean"), j), e->mean,
                            1e-14, e->abs_sum / e->n);
    else
        assert_is_nan(results_value(get(rs, g, "mean"), j));
    assert_close(results_value(get(rs, g, "var"), j), var, rel);
    assert_close(results_value(get(rs, g, "std"), j), sqrtl(var), rel);
    if (e->n) {
        assert_true(results_value(get(rs, g, "min"), j) == (double)e->min);
        assert_true(results_value(get(rs, g, "max"), j) == (double)e->max);
    } else {
        assert_is_nan(results_value(get(rs, g, "min"), j));
        assert_is_nan(results_value(get(rs, g, "max"), j));
    }
}

static void check_nan_count(const struct results *rs, const char *g,
                            h5b_type t, uint64_t j, const struct ref *e)
{
    if (t == H5B_FLOAT32 || t == H5B_FLOAT64)
        assert_int_equal(((const uint64_t *)get(rs, g, "nan_count")->data)[j],
                         e->nan);
}

/* Shapes, types and names of column group g holding nkeys keys. */
static void check_shapes(const struct results *rs, const char *g,
                         h5b_type t, uint64_t nkeys)
{
    const struct result *k = get(rs, g, "keys");
    assert_int_equal(k->type, H5B_INT64);
    assert_int_equal(k->rank, 1);
    assert_int_equal(k->dims[0], nkeys);
    assert_int_equal(get(rs, g, "count")->type, H5B_UINT64);
    assert_int_equal(get(rs, g, "count")->dims[0], nkeys);
    int flt = t == H5B_FLOAT32 || t == H5B_FLOAT64;
    assert_int_equal(results_find(rs, g, "groupby/nan_count") != NULL, flt);
    if (flt)
        assert_int_equal(get(rs, g, "nan_count")->type, H5B_UINT64);
    for (int i = 0; i < 6; i++) {
        const struct result *r = get(rs, g, stat_names[i]);
        assert_int_equal(r->type, H5B_FLOAT64);
        assert_int_equal(r->rank, 1);
        assert_int_equal(r->dims[0], nkeys);
    }
}

/* Check everything finalize wrote for n records of keys/col against the
 * reference: keys sorted and distinct, every statistic of every key. */
static void check_all(const struct results *rs, const int64_t *keys,
                      const void *const *col, const h5b_type *types,
                      size_t ncol, uint64_t n, int ddof, double rel)
{
    struct pair *gp = group(keys, n);
    uint64_t nkeys = 0;
    for (uint64_t i = 0; i < n; i++)
        nkeys += i == 0 || gp[i].key != gp[i - 1].key;
    size_t nres = 0;
    for (size_t c = 0; c < ncol; c++)
        nres += 8 + (types[c] == H5B_FLOAT32 || types[c] == H5B_FLOAT64);
    assert_int_equal(rs->n, nres);
    for (size_t c = 0; c < ncol; c++) {
        const char *g = groups[c];
        check_shapes(rs, g, types[c], nkeys);
        const int64_t *k = get(rs, g, "keys")->data;
        for (uint64_t i = 0, j = 0; i < n; j++) {
            uint64_t m = 1;
            while (i + m < n && gp[i + m].key == gp[i].key)
                m++;
            assert_true(k[j] == gp[i].key);
            struct ref e = reference(types[c], col[c], gp + i, m);
            check_stats(rs, g, j, &e, ddof, rel);
            check_nan_count(rs, g, types[c], j, &e);
            i += m;
        }
    }
    free(gp);
}

/* Bitwise equality of two result lists. */
static void assert_results_equal(const struct results *a,
                                 const struct results *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct result *x = &a->r[i], *y = &b->r[i];
        assert_string_equal(x->group, y->group);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->nelem, y->nelem);
        assert_bytes_equal(x->data, y->data,
                           x->nelem * h5b_type_size(x->type));
    }
}

static void assert_same_bytes(const struct gb_partial *a,
                              const struct gb_partial *b)
{
    size_t la, lb;
    unsigned char *x = encode(a, &la), *y = encode(b, &lb);
    assert_int_equal(la, lb);
    assert_bytes_equal(x, y, la);
    free(x);
    free(y);
}

/* ---- tests: values ----------------------------------------------------- */

static void check_one_partition(int ddof)
{
    struct data d;
    struct results rs;
    data_make(&d, 3000, 0x5eed + ddof);
    struct gb_config c = config(main_types, NCOL, all_ops, ddof);
    struct gb_partial *p = reduce(&c, d.keys, d.col, 0, d.n, 0);
    finalize(p, &rs);
    check_all(&rs, d.keys, d.col, main_types, NCOL, d.n, ddof, 1e-13);
    results_free(&rs);
    gb_destroy(p);
    data_free(&d);
}

static void test_values_ddof0(void **state)
{
    (void)state;
    check_one_partition(0);
}

static void test_values_ddof1(void **state)
{
    (void)state;
    check_one_partition(1);
}

/* Small fixed cases whose answers are known by hand. */
static void test_hand_cases(void **state)
{
    (void)state;
    static const int64_t keys[] = {7, -3, 7, INT64_MIN, 7, -3, 99, 5, 5, 5};
    static const double v[] = {1.0, NAN, 2.0, -5.0, 6.0, NAN, 4.0, 1e16,
                               1.0, -1e16};
    const void *col[] = {v};
    h5b_type t = H5B_FLOAT64;
    struct gb_config c = config(&t, 1, all_ops, 1);
    struct gb_partial *p = reduce(&c, keys, col, 0, 10, 0);
    struct results rs;
    finalize(p, &rs);
    const int64_t *k = get(&rs, "a_i32", "keys")->data;
    const uint64_t *n = get(&rs, "a_i32", "count")->data;
    const uint64_t *nn = get(&rs, "a_i32", "nan_count")->data;
    const double *mean = get(&rs, "a_i32", "mean")->data;
    const double *var = get(&rs, "a_i32", "var")->data;
    assert_int_equal(gb_nkeys(p), 5);
    assert_true(k[0] == INT64_MIN && k[1] == -3 && k[2] == 5 && k[3] == 7 &&
                k[4] == 99);
    assert_int_equal(n[0], 1);
    assert_int_equal(n[1], 0);
    assert_int_equal(nn[1], 2);
    assert_int_equal(n[3], 3);
    assert_close(mean[3], 3.0, 0);
    assert_close(var[3], 7.0, 1e-15);           /* ((-2)^2+1+9)/2 */
    /* A plain sum loses the 1 against 1e16; Neumaier keeps it. */
    assert_close(((const double *)get(&rs, "a_i32", "sum")->data)[2], 1, 0);
    assert_is_nan(var[0]);                      /* count 1 <= ddof */
    assert_is_nan(mean[1]);
    assert_close(((const double *)get(&rs, "a_i32", "sum")->data)[1], 0, 0);
    assert_is_nan(((const double *)get(&rs, "a_i32", "min")->data)[1]);
    assert_close(((const double *)get(&rs, "a_i32", "max")->data)[0], -5, 0);
    results_free(&rs);
    gb_destroy(p);
}

/* numpy's answers with infinities: the shifted mean turns NaN, the
 * finalized mean must not. */
static void test_infinities(void **state)
{
    (void)state;
    static const int64_t keys[] = {1, 2, 3, 1, 2, 3, 4, 5, 5};
    static const double v[] = {1.0, INFINITY, 1e308, INFINITY, -INFINITY,
                               1e308, -INFINITY, INFINITY, 1.0};
    const void *col[] = {v};
    h5b_type t = H5B_FLOAT64;
    struct gb_config c = config(&t, 1, all_ops, 0);
    uint64_t cuts[10];
    for (uint64_t s = 0; s < 2; s++) {
        for (int i = 0; i < 10; i++)
            cuts[i] = (uint64_t)i;
        struct data d = {.n = 9, .keys = (int64_t *)keys, .col = {v}};
        struct gb_partial *p = s ? run_cuts(&c, &d, cuts, 10, ~0ull) :
                               reduce(&c, keys, col, 0, 9, 0);
        struct results rs;
        finalize(p, &rs);
        const double *sum = get(&rs, "a_i32", "sum")->data;
        const double *mean = get(&rs, "a_i32", "mean")->data;
        const double *var = get(&rs, "a_i32", "var")->data;
        const double *mx = get(&rs, "a_i32", "max")->data;
        assert_true(sum[0] == INFINITY && mean[0] == INFINITY);
        assert_is_nan(var[0]);
        assert_true(mx[0] == INFINITY);
        assert_is_nan(sum[1]);
        assert_is_nan(mean[1]);
        assert_true(sum[2] == INFINITY && mean[2] == 1e308);
        assert_close(var[2], 0, 0);
        assert_true(mean[3] == -INFINITY);
        assert_true(mean[4] == INFINITY);   /* inf then 1: not NaN */
        assert_true(((const double *)get(&rs, "a_i32", "min")->data)[3] ==
                    -INFINITY);
        results_free(&rs);
        gb_destroy(p);
    }
}

/* Every element type as a value column, including float32 with NaN. */
static void test_every_value_type(void **state)
{
    (void)state;
    static const h5b_type types[10] = {
        H5B_INT8, H5B_UINT8, H5B_INT16, H5B_UINT16, H5B_INT32, H5B_UINT32,
        H5B_INT64, H5B_UINT64, H5B_FLOAT32, H5B_FLOAT64
    };
    enum { N = 500 };
    static unsigned char buf[10][N * 8];
    int64_t keys[N];
    const void *col[10];
    rng_state = 99;
    for (int i = 0; i < N; i++) {
        keys[i] = (int64_t)(rnd() % 37) - 18;
        int64_t v = (int64_t)(rnd() % 200) - (i % 2 ? 0 : 100);
        ((int8_t *)buf[0])[i] = (int8_t)v;
        ((uint8_t *)buf[1])[i] = (uint8_t)(v + 100);
        ((int16_t *)buf[2])[i] = (int16_t)(v * 300);
        ((uint16_t *)buf[3])[i] = (uint16_t)(v + 60000);
        ((int32_t *)buf[4])[i] = (int32_t)(v * 10000000);
        ((uint32_t *)buf[5])[i] = (uint32_t)(v + 4000000000u);
        ((int64_t *)buf[6])[i] = v - INT64_C(4000000000000000);
        ((uint64_t *)buf[7])[i] = (uint64_t)(v + 1000) << 40;
        ((float *)buf[8])[i] = i % 7 ? (float)v / 3 : NAN;
        ((double *)buf[9])[i] = i % 5 ? (double)v / 7 : NAN;
    }
    for (int j = 0; j < 10; j++)
        col[j] = buf[j];
    struct gb_config c = config(types, 10, all_ops, 1);
    struct gb_partial *p = reduce(&c, keys, col, 0, N, 0);
    struct results rs;
    finalize(p, &rs);
    struct pair *gp = group(keys, N);
    for (int j = 0; j < 10; j++) {
        check_shapes(&rs, groups[j], types[j], gb_nkeys(p));
        for (uint64_t i = 0, r = 0; i < N; r++) {
            uint64_t m = 1;
            while (i + m < N && gp[i + m].key == gp[i].key)
                m++;
            struct ref e = reference(types[j], col[j], gp + i, m);
            check_stats(&rs, groups[j], r, &e, 1, 1e-13);
            check_nan_count(&rs, groups[j], types[j], r, &e);
            i += m;
        }
    }
    free(gp);
    results_free(&rs);
    gb_destroy(p);
}

/* ---- tests: partitions and merging -------------------------------------- */

/* With exact sums, different partition boundaries give the same result
 * bits (and still the right values); every truncation of an exact
 * partial is refused. */
static void test_exact_any_boundaries_same_bits(void **state)
{
    (void)state;
    struct data d;
    struct h5b_error err = {""};
    data_make(&d, 3000, 11);
    struct gb_config c = config(main_types, NCOL, all_ops, 1);
    c.exact = 1;
    uint64_t c1[] = {0, 3000}, c2[] = {0, 1, 777, 778, 2000, 3000},
             c3[] = {0, 100, 200, 1500, 2999, 3000};
    struct gb_partial *a = run_cuts(&c, &d, c1, 2, 0);
    struct gb_partial *b = run_cuts(&c, &d, c2, 6, ~0ull);
    struct gb_partial *m = run_cuts(&c, &d, c3, 6, 0x15);
    struct results ra, rb, rm;
    finalize(a, &ra);
    finalize(b, &rb);
    finalize(m, &rm);
    assert_results_equal(&ra, &rb);
    assert_results_equal(&ra, &rm);
    check_all(&ra, d.keys, d.col, main_types, NCOL, d.n, 1, 1e-13);
    size_t len;
    unsigned char *buf = encode(a, &len);
    for (size_t cut = 0; cut < len; cut += 1 + len / 200) {
        struct gb_partial *q = NULL;
        assert_int_equal(gb_create(&c, &q, &err), 0);
        assert_int_not_equal(gb_decode(q, buf, cut, &err), 0);
        gb_destroy(q);
    }
    free(buf);
    results_free(&ra);
    results_free(&rb);
    results_free(&rm);
    gb_destroy(a);
    gb_destroy(b);
    gb_destroy(m);
    data_free(&d);
}

/* The same boundaries give the same bytes and results however the
 * partitions travel (local, shipped, mixed), and feeding a partition in
 * pieces gives the same bytes as in one update, exact sums or not. */
static void test_same_boundaries_same_bytes(void **state)
{
    (void)state;
    struct data d;
    data_make(&d, 3000, 7);
    struct gb_config c = config(main_types, NCOL, all_ops, 1);
    uint64_t cuts[] = {0, 1, 2, 500, 501, 1700, 2999, 3000};
    size_t nc = sizeof cuts / sizeof cuts[0];
    struct gb_partial *a = run_cuts(&c, &d, cuts, nc, 0);
    struct gb_partial *b = run_cuts(&c, &d, cuts, nc, ~0ull);
    struct gb_partial *m = run_cuts(&c, &d, cuts, nc, 0x55);
    /* room reserved for every record (as rank 0 does) is only room */
    acc_reserve = d.n;
    struct gb_partial *r = run_cuts(&c, &d, cuts, nc, 0x55);
    acc_reserve = 0;
    assert_same_bytes(a, b);
    assert_same_bytes(a, m);
    assert_same_bytes(a, r);
    gb_destroy(r);
    struct results ra, rb;
    finalize(a, &ra);
    finalize(b, &rb);
    assert_results_equal(&ra, &rb);
    check_all(&ra, d.keys, d.col, main_types, NCOL, d.n, 1, 1e-13);
    results_free(&ra);
    results_free(&rb);
    /* With exact sums each update normalises the accumulators it left
     * pending (and only those): xs_encode refuses a pending one. */
    for (c.exact = 0; c.exact < 2; c.exact++)
        for (uint64_t piece = 1; piece < 3000; piece = piece * 3 + 1) {
            struct gb_partial *one = reduce(&c, d.keys, d.col, 500, 1700, 0);
            struct gb_partial *pcs = reduce(&c, d.keys, d.col, 500, 1700,
                                            piece);
            assert_same_bytes(one, pcs);
            gb_destroy(one);
            gb_destroy(pcs);
        }
    gb_destroy(a);
    gb_destroy(b);
    gb_destroy(m);
    data_free(&d);
}

/* Two partitions cut at every position agree with the reference. */
static void test_one_cut_at_every_position(void **state)
{
    (void)state;
    struct data d;
    data_make(&d, 400, 11);
    struct gb_config c = config(main_types, NCOL, all_ops, 0);
    for (uint64_t k = 0; k <= d.n; k++) {
        uint64_t cuts[] = {0, k, d.n};
        struct gb_partial *acc = run_cuts(&c, &d, cuts, 3, k & 1 ? 1 : 2);
        struct results rs;
        finalize(acc, &rs);
        check_all(&rs, d.keys, d.col, main_types, NCOL, d.n, 0, 1e-13);
        results_free(&rs);
        gb_destroy(acc);
    }
    data_free(&d);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Random splits into 2..40 partitions (some empty) agree with the reference. */
static void test_random_splits(void **state)
{
    (void)state;
    struct data d;
    data_make(&d, 3000, 13);
    struct gb_config c = config(main_types, NCOL, all_ops, 1);
    uint64_t cuts[42];
    for (int trial = 0; trial < 60; trial++) {
        size_t np = 2 + (size_t)(rnd() % 39), nc = np + 1;
        for (size_t i = 0; i < nc; i++)
            cuts[i] = rnd() % (d.n + 1);
        cuts[0] = 0;
        cuts[nc - 1] = d.n;
        qsort(cuts, nc, sizeof *cuts, u64_cmp);
        struct gb_partial *acc = run_cuts(&c, &d, cuts, nc, rnd());
        struct results rs;
        finalize(acc, &rs);
        check_all(&rs, d.keys, d.col, main_types, NCOL, d.n, 1, 1e-13);
        results_free(&rs);
        gb_destroy(acc);
    }
    data_free(&d);
}

/* Merging accumulators (whose rows are not in key order) agrees with the
 * sequential merge, and their bytes do not depend on row order. */
static void test_merge_of_accumulators(void **state)
{
    (void)state;
    struct data d;
    data_make(&d, 3000, 17);
    struct gb_config c = config(main_types, NCOL, all_ops, 0);
    uint64_t left[] = {0, 700, 1500}, right[] = {1500, 2200, 3000};
    struct gb_partial *a = run_cuts(&c, &d, left, 3, 0);
    struct gb_partial *b = run_cuts(&c, &d, right, 3, 0);
    struct gb_partial *b2 = ship(&c, run_cuts(&c, &d, right, 3, 0));
    merge(a, b);
    struct gb_partial *a2 = ship(&c, run_cuts(&c, &d, left, 3, 0));
    merge(a2, b2);
    assert_same_bytes(a, a2);   /* local rows unsorted, shipped sorted */
    struct results ra, rb;
    finalize(a, &ra);
    finalize(a2, &rb);
    assert_results_equal(&ra, &rb);
    check_all(&ra, d.keys, d.col, main_types, NCOL, d.n, 0, 1e-13);
    results_free(&ra);
    results_free(&rb);
    gb_destroy(a);
    gb_destroy(a2);
    gb_destroy(b);
    gb_destroy(b2);
    data_free(&d);
}

/* Records folded straight into an accumulator (unsorted rows, a live hash
 * table) after merges land where they belong. */
static void test_update_after_merge(void **state)
{
    (void)state;
    struct data d;
    struct h5b_error err = {""};
    data_make(&d, 3000, 43);
    struct gb_config c = config(main_types, NCOL, all_ops, 1);
    uint64_t cuts[] = {0, 1000, 2000};
    struct gb_partial *acc = run_cuts(&c, &d, cuts, 3, 0);
    const void *v[NCOL];
    for (size_t j = 0; j < NCOL; j++)
        v[j] = col_at(d.col[j], main_types[j], 2000);
    assert_int_equal(gb_update(acc, d.keys + 2000, v, 1000, &err), 0);
    struct results rs;
    finalize(acc, &rs);
    check_all(&rs, d.keys, d.col, main_types, NCOL, d.n, 1, 1e-13);
    results_free(&rs);
    gb_destroy(acc);
    data_free(&d);
}

/* An empty partial (no records) merges as the identity on both sides, and
 * an empty run writes zero-length results. */
static void test_empty_partial(void **state)
{
    (void)state;
    struct data d;
    data_make(&d, 1000, 19);
    struct gb_config c = config(main_types, NCOL, all_ops, 0);
    struct gb_partial *p = reduce(&c, d.keys, d.col, 0, d.n, 0);
    struct gb_partial *e = reduce(&c, d.keys, d.col, 5, 5, 0);
    struct gb_partial *acc = reduce(&c, d.keys, d.col, 5, 5, 0);
    assert_int_equal(gb_nkeys(e), 0);
    merge(acc, p);
    merge(acc, e);
    assert_same_bytes(acc, p);
    struct results rs;
    finalize(e, &rs);
    check_shapes(&rs, "c_f64", H5B_FLOAT64, 0);
    results_free(&rs);
    e = ship(&c, e);
    assert_int_equal(gb_nkeys(e), 0);
    gb_destroy(p);
    gb_destroy(e);
    gb_destroy(acc);
    data_free(&d);
}

/* Only the requested statistics are written (count and keys always), and
 * the encoding only carries what they need. */
static void test_only_requested_outputs(void **state)
{
    (void)state;
    static const char *const some[] = {"max", "count", NULL};
    struct data d;
    data_make(&d, 500, 23);
    struct gb_config c = config(main_types, NCOL, some, 0);
    struct gb_config call = config(main_types, NCOL, all_ops, 0);
    struct gb_config ccount = config(main_types, NCOL, count_only, 0);
    struct gb_partial *p = reduce(&c, d.keys, d.col, 0, d.n, 0);
    struct gb_partial *pall = reduce(&call, d.keys, d.col, 0, d.n, 0);
    struct gb_partial *pc = reduce(&ccount, d.keys, d.col, 0, d.n, 0);
    struct results rs;
    finalize(p, &rs);
    assert_int_equal(rs.n, NCOL * 3 + 1);
    assert_non_null(results_find(&rs, "c_f64", "groupby/nan_count"));
    assert_non_null(results_find(&rs, "a_i32", "groupby/max"));
    assert_null(results_find(&rs, "a_i32", "groupby/min"));
    assert_null(results_find(&rs, "a_i32", "groupby/mean"));
    assert_null(results_find(&rs, "a_i32", "count"));
    assert_true(gb_encoded_size(pc) < gb_encoded_size(p));
    assert_true(gb_encoded_size(p) < gb_encoded_size(pall));
    print_message("encoded bytes per key: count %.1f, count+max %.1f, all "
                  "%.1f (4 columns)\n",
                  (double)gb_encoded_size(pc) / (double)gb_nkeys(pc),
                  (double)gb_encoded_size(p) / (double)gb_nkeys(p),
                  (double)gb_encoded_size(pall) / (double)gb_nkeys(pall));
    p = ship(&c, p);
    struct results rs2;
    finalize(p, &rs2);
    assert_results_equal(&rs, &rs2);
    results_free(&rs);
    results_free(&rs2);
    gb_destroy(p);
    gb_destroy(pall);
    gb_destroy(pc);
    data_free(&d);
}

/* ---- tests: wire format ------------------------------------------------ */

static void test_round_trip_is_bit_exact(void **state)
{
    (void)state;
    struct data d;
    data_make(&d, 2000, 29);
    struct gb_config c = config(main_types, NCOL, all_ops, 1);
    struct gb_partial *p = reduce(&c, d.keys, d.col, 0, d.n, 0);
    struct results ra, rb;
    finalize(p, &ra);
    struct gb_partial *q = reduce(&c, d.keys, d.col, 0, d.n, 0);
    q = ship(&c, q);
    assert_same_bytes(p, q);
    finalize(q, &rb);
    assert_results_equal(&ra, &rb);
    results_free(&ra);
    results_free(&rb);
    gb_destroy(p);
    gb_destroy(q);
    data_free(&d);
}

/* Decode a heap copy of exactly len bytes (so ASan sees any over-read);
 * returns the return code. */
static int decode_copy(struct gb_partial *p, const unsigned char *buf,
                       size_t len, struct h5b_error *err)
{
    unsigned char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, buf, len);
    err->msg[0] = '\0';
    int rc = gb_decode(p, copy, len, err);
    free(copy);
    return rc;
}

/* Every truncation and one trailing byte are rejected with a message, and
 * leave the partial as it was. */
static void test_decode_rejects_every_short_length(void **state)
{
    (void)state;
    struct data d;
    struct h5b_error err;
    data_make(&d, 300, 31);
    struct gb_config c = config(main_types, NCOL, all_ops, 1);
    struct gb_partial *p = reduce(&c, d.keys, d.col, 0, d.n, 0);
    struct gb_partial *q = reduce(&c, d.keys, d.col, 0, 10, 0);
    size_t len, qlen;
    unsigned char *buf = encode(p, &len), *before = encode(q, &qlen);
    for (size_t l = 0; l < len; l++) {
        assert_true(decode_copy(q, buf, l, &err) < 0);
        assert_true(err.msg[0] != '\0');
    }
    unsigned char *longer = calloc(len + 1, 1);
    memcpy(longer, buf, len);
    assert_true(decode_copy(q, longer, len + 1, &err) < 0);
    assert_contains(err.msg, "trailing");
    size_t alen;
    unsigned char *after = encode(q, &alen);
    assert_int_equal(alen, qlen);
    assert_bytes_equal(after, before, qlen);
    assert_int_equal(decode_copy(q, buf, len, &err), 0);
    free(after);
    free(longer);
    free(before);
    free(buf);
    gb_destroy(p);
    gb_destroy(q);
    data_free(&d);
}

/* Any single corrupted byte is either rejected or decodes to a state
 * that encodes back to exactly those bytes; nothing reads out of bounds. */
static void test_decode_survives_corruption(void **state)
{
    (void)state;
    static const unsigned char masks[] = {0x01, 0x80, 0xff, 0x40};
    struct data d;
    struct h5b_error err;
    data_make(&d, 120, 37);
    struct gb_config c = config(main_types, NCOL, all_ops, 0);
    struct gb_partial *p = reduce(&c, d.keys, d.col, 0, d.n, 0);
    size_t len, rejected = 0, total = 0;
    unsigned char *buf = encode(p, &len);
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++, total++) {
            buf[i] ^= masks[m];
            if (decode_copy(p, buf, len, &err) < 0) {
                rejected++;
            } else {
                size_t l2;
                unsigned char *again = encode(p, &l2);
                assert_int_equal(l2, len);
                assert_bytes_equal(again, buf, len);
                free(again);
            }
            buf[i] ^= masks[m];
        }
    }
    print_message("corrupted encodings: %zu of %zu rejected\n", rejected,
                  total);
    free(buf);
    gb_destroy(p);
    data_free(&d);
}

/* A config of an int32 and a float64 column, count only: a cell is
 * varint n (plus varint nan for the float column), so bytes are easy to
 * write by hand. */
static const h5b_type craft_types[2] = {H5B_INT32, H5B_FLOAT64};

static int decode_crafted(const unsigned char *b, size_t len,
                          struct h5b_error *err)
{
    struct gb_config c = config(craft_types, 2, count_only, 0);
    struct gb_partial *p = NULL;
    assert_int_equal(gb_create(&c, &p, err), 0);
    int rc = decode_copy(p, b, len, err);
    gb_destroy(p);
    return rc;
}

#define HDR 'h', '5', 'b', 'g', 'r', 'p', 'b', '1', 2, H5B_INT32, \
            H5B_FLOAT64, 0

static void test_decode_crafted_bytes(void **state)
{
    (void)state;
    struct h5b_error err;
    /* keys 3 (zigzag 6): n 2 | n 1 nan 1;  -1 (zigzag 1)... */
    const unsigned char good[] = {HDR, 2, 1, 1, 0, 1, 6, 2, 1, 1};
    const unsigned char unsorted[] = {HDR, 2, 6, 1, 1, 0, 1, 1, 1, 0};
    const unsigned char dup[] = {HDR, 2, 6, 1, 1, 0, 6, 1, 1, 0};
    const unsigned char disagree[] = {HDR, 1, 6, 2, 1, 0};
    const unsigned char no_records[] = {HDR, 1, 6, 0, 0, 0};
    const unsigned char huge[] = {HDR, 0xff, 0xff, 0xff, 0xff, 0x0f, 6, 1,
                                  1, 0};
    const unsigned char overlong[] = {HDR, 1, 0x86, 0x00, 1, 1, 0};
    const unsigned char ten_byte[] = {HDR, 1, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0x7f, 1, 1, 0};
    const unsigned char other_type[] = {'h', '5', 'b', 'g', 'r', 'p', 'b',
                                        '1', 2, H5B_INT32, H5B_FLOAT32, 0,
                                        0};
    const unsigned char other_fields[] = {'h', '5', 'b', 'g', 'r', 'p', 'b',
                                          '1', 2, H5B_INT32, H5B_FLOAT64, 4,
                                          0};
    const unsigned char bad_magic[] = {'h', '5', 'b', 'g', 'r', 'p', 'b',
                                       '2', 2, H5B_INT32, H5B_FLOAT64, 0, 0};
    assert_int_equal(decode_crafted(good, sizeof good, &err), 0);
    assert_true(decode_crafted(unsorted, sizeof unsorted, &err) < 0);
    assert_contains(err.msg, "strictly increasing");
    assert_true(decode_crafted(dup, sizeof dup, &err) < 0);
    assert_contains(err.msg, "key 3 after 3");
    assert_true(decode_crafted(disagree, sizeof disagree, &err) < 0);
    assert_contains(err.msg, "counts inconsistent at key 3");
    assert_true(decode_crafted(no_records, sizeof no_records, &err) < 0);
    assert_contains(err.msg, "counts inconsistent");
    assert_true(decode_crafted(huge, sizeof huge, &err) < 0);
    assert_contains(err.msg, "header");     /* before any allocation */
    assert_true(decode_crafted(overlong, sizeof overlong, &err) < 0);
    assert_contains(err.msg, "malformed at key 0");
    assert_true(decode_crafted(ten_byte, sizeof ten_byte, &err) < 0);
    assert_true(decode_crafted(other_type, sizeof other_type, &err) < 0);
    assert_contains(err.msg, "another configuration");
    assert_true(decode_crafted(other_fields, sizeof other_fields, &err) < 0);
    assert_contains(err.msg, "another configuration");
    assert_true(decode_crafted(bad_magic, sizeof bad_magic, &err) < 0);
    assert_contains(err.msg, "bad magic");
}

/* The hand-written bytes mean what the format says: keys -1 and 3. */
static void test_crafted_bytes_decode_to_their_values(void **state)
{
    (void)state;
    const unsigned char good[] = {HDR, 2, 1, 1, 0, 1, 6, 2, 1, 1};
    struct h5b_error err = {""};
    struct gb_config c = config(craft_types, 2, count_only, 0);
    struct gb_partial *p = NULL;
    assert_int_equal(gb_create(&c, &p, &err), 0);
    assert_int_equal(gb_decode(p, good, sizeof good, &err), 0);
    struct results rs;
    finalize(p, &rs);
    const int64_t *k = get(&rs, "a_i32", "keys")->data;
    assert_true(k[0] == -1 && k[1] == 3);
    assert_int_equal(((const uint64_t *)get(&rs, "a_i32", "count")->data)[1],
                     2);
    assert_int_equal(((const uint64_t *)get(&rs, "b_u8", "count")->data)[1],
                     1);
    assert_int_equal(((const uint64_t *)get(&rs, "b_u8", "nan_count")
                      ->data)[1], 1);
    size_t len;
    unsigned char *again = encode(p, &len);
    assert_int_equal(len, sizeof good);
    assert_bytes_equal(again, good, len);
    free(again);
    results_free(&rs);
    gb_destroy(p);
}

/* ---- tests: configuration and limits ------------------------------------ */

static void expect_config_error(const struct gb_config *c, const char *frag)
{
    struct h5b_error err = {""};
    struct gb_partial *p = (struct gb_partial *)&err;
    assert_int_equal(gb_check(c, &err), H5B_EINPUT);
    assert_contains(err.msg, frag);
    err.msg[0] = '\0';
    assert_int_equal(gb_create(c, &p, &err), H5B_EINPUT);
    assert_null(p);
    assert_contains(err.msg, frag);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const char *const median[] = {"count", "median", NULL};
    struct gb_config c = config(main_types, NCOL, all_ops, 0);
    c.elems = 3;
    expect_config_error(&c, "one element per record (1-D data), but "
                        "records here have 3 elements");
    c = config(main_types, 0, all_ops, 0);
    expect_config_error(&c, "only count (rows per key) can be computed, "
                        "not 'sum'");
    c = config(main_types, GB_MAX_COLUMNS + 1, all_ops, 0);
    expect_config_error(&c, "at most 256 value columns, not 257");
    c = config(main_types, NCOL, median, 0);
    expect_config_error(&c, "cannot compute 'median'");
    c = config(main_types, NCOL, all_ops, 2);
    expect_config_error(&c, "ddof 2");
    c = config(main_types, NCOL, NULL, 0);
    struct h5b_error err = {""};
    assert_int_equal(gb_check(&c, &err), 0);
}

static void test_merge_rejects_other_config(void **state)
{
    (void)state;
    struct data d;
    struct h5b_error err = {""};
    data_make(&d, 200, 41);
    struct gb_config c = config(main_types, NCOL, all_ops, 0);
    struct gb_config c3 = config(main_types, 3, all_ops, 0);
    struct gb_partial *a = reduce(&c, d.keys, d.col, 0, 100, 0);
    struct gb_partial *b = reduce(&c3, d.keys, d.col, 100, 200, 0);
    size_t l1, l2;
    unsigned char *before = encode(a, &l1);
    assert_true(gb_merge(a, b, &err) < 0);
    assert_contains(err.msg, "different configurations");
    unsigned char *after = encode(a, &l2);
    assert_int_equal(l1, l2);
    assert_bytes_equal(before, after, l1);
    unsigned char *bb = encode(b, &l2);
    assert_true(decode_copy(a, bb, l2, &err) < 0);
    assert_contains(err.msg, "another configuration");
    free(before);
    free(after);
    free(bb);
    gb_destroy(a);
    gb_destroy(b);
    data_free(&d);
}

/* max_keys bounds update, merge and decode. */
static void test_max_keys(void **state)
{
    (void)state;
    static const int64_t keys[] = {5, 1, 5, 2, 3, 1};
    static const uint8_t v[] = {1, 2, 3, 4, 5, 6};
    const void *col[] = {v};
    h5b_type t = H5B_UINT8;
    struct h5b_error err = {""};
    struct gb_config c = config(&t, 1, all_ops, 0);
    struct gb_partial *p = NULL, *q = NULL, *big;
    c.max_keys = 3;
    assert_int_equal(gb_create(&c, &p, &err), 0);
    assert_int_equal(gb_update(p, keys, col, 4, &err), 0);  /* 5 1 2 */
    assert_int_equal(gb_update(p, keys + 4, (const void *[]){v + 4}, 2,
                               &err), H5B_EINPUT);
    assert_contains(err.msg, "more than 3 distinct keys");
    assert_true(gb_update(p, keys, col, 1, &err) < 0);
    assert_contains(err.msg, "earlier failure");
    gb_destroy(p);
    assert_int_equal(gb_create(&c, &p, &err), 0);
    assert_int_equal(gb_create(&c, &q, &err), 0);
    assert_int_equal(gb_update(p, keys, col, 2, &err), 0);  /* 5 1 */
    assert_int_equal(gb_update(q, keys + 3, (const void *[]){v + 3}, 2,
                               &err), 0);                   /* 2 3 */
    gb_reserve(p, 1000);    /* room is not a licence for more keys */
    assert_int_equal(gb_merge(p, q, &err), H5B_EINPUT);
    gb_destroy(p);
    c.max_keys = 0;
    big = reduce(&c, keys, col, 0, 6, 0);
    size_t len;
    unsigned char *buf = encode(big, &len);
    c.max_keys = 3;
    assert_int_equal(gb_create(&c, &p, &err), 0);
    assert_true(gb_decode(p, buf, len, &err) < 0);
    free(buf);
    gb_destroy(p);
    gb_destroy(q);
    gb_destroy(big);
}

static void test_keys_to_int64(void **state)
{
    (void)state;
    struct h5b_error err = {""};
    int64_t out[3];
    const int8_t i8[] = {-128, 0, 127};
    const uint16_t u16[] = {0, 1, 65535};
    const uint32_t u32[] = {0, 7, 4294967295u};
    const uint64_t u64[] = {0, INT64_MAX, (uint64_t)INT64_MAX + 1};
    const int64_t i64[] = {INT64_MIN, -1, INT64_MAX};
    const float f[] = {1, 2, 3};
    assert_int_equal(gb_keys_to_int64(H5B_INT8, i8, 3, out, &err), 0);
    assert_true(out[0] == -128 && out[2] == 127);
    assert_int_equal(gb_keys_to_int64(H5B_UINT16, u16, 3, out, &err), 0);
    assert_true(out[2] == 65535);
    assert_int_equal(gb_keys_to_int64(H5B_UINT32, u32, 3, out, &err), 0);
    assert_true(out[2] == 4294967295);
    assert_int_equal(gb_keys_to_int64(H5B_INT64, i64, 3, out, &err), 0);
    assert_true(out[0] == INT64_MIN && out[2] == INT64_MAX);
    assert_int_equal(gb_keys_to_int64(H5B_UINT64, u64, 2, out, &err), 0);
    assert_true(out[1] == INT64_MAX);
    assert_int_equal(gb_keys_to_int64(H5B_UINT64, u64, 3, out, &err),
                     H5B_EINPUT);
    assert_contains(err.msg, "9223372036854775808");
    assert_int_equal(gb_keys_to_int64(H5B_FLOAT32, f, 3, out, &err),
                     H5B_EINPUT);
    assert_contains(err.msg, "must be integers");
    assert_true(gb_key_type_ok(H5B_UINT64) && gb_key_type_ok(H5B_INT8));
    assert_false(gb_key_type_ok(H5B_FLOAT64));
}

/* ---- test: a million keys ----------------------------------------------- */

#define MK_KEYS 1000000u
#define MK_REPS 3u
#define MK_MULT UINT64_C(0x9e3779b97f4a7c15)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* The inverse of odd a modulo 2^64 (Newton's iteration). */
static uint64_t inverse(uint64_t a)
{
    uint64_t x = a;
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

/* Key k (0 <= k < MK_KEYS) is a scrambled int64; its MK_REPS records have
 * f64 values k + r and int32 values (k % 1000) - r, r = 0, 1, 2, so
 * every expected statistic is known in closed form. */
static void check_million(const struct results *rs)
{
    uint64_t inv = inverse(MK_MULT);
    const int64_t *k = get(rs, "a_i32", "keys")->data;
    const uint64_t *n = get(rs, "a_i32", "count")->data;
    const double *mf = get(rs, "a_i32", "mean")->data;
    const double *vf = get(rs, "a_i32", "var")->data;
    const double *mi = get(rs, "b_u8", "mean")->data;
    const double *lo = get(rs, "b_u8", "min")->data;
    assert_int_equal(get(rs, "a_i32", "keys")->nelem, MK_KEYS);
    for (uint64_t j = 0; j < MK_KEYS; j++) {
        uint64_t kk = (uint64_t)k[j] * inv;
        assert_true(kk < MK_KEYS);
        assert_true(j == 0 || k[j] > k[j - 1]);
        assert_int_equal(n[j], MK_REPS);
        assert_close(mf[j], (double)kk + 1, 1e-15);
        assert_close(vf[j], 1.0, 1e-15);            /* ddof 1: (1+0+1)/2 */
        assert_close(mi[j], (double)(kk % 1000) - 1, 1e-15);
        assert_close(lo[j], (double)(kk % 1000) - 2, 0);
    }
}

static void test_million_keys(void **state)
{
    (void)state;
    static const h5b_type types[2] = {H5B_FLOAT64, H5B_INT32};
    uint64_t n = (uint64_t)MK_KEYS * MK_REPS;
    int64_t *keys = malloc(n * sizeof *keys);
    double *f = malloc(n * sizeof *f);
    int32_t *i = malloc(n * sizeof *i);
    assert_true(keys && f && i);
    for (uint64_t r = 0; r < n; r++) {
        uint64_t k = r % MK_KEYS, rep = r / MK_KEYS;
        keys[r] = (int64_t)(k * MK_MULT);
        f[r] = (double)(k + rep);
        i[r] = (int32_t)(k % 1000) - (int32_t)rep;
    }
    struct data d = {.n = n, .keys = keys, .col = {f, i}};
    struct gb_config c = config(types, 2, all_ops, 1);
    double rss0 = peak_mib(), t0 = now();
    struct gb_partial *one = reduce(&c, keys, d.col, 0, n, 0);
    double t1 = now();
    size_t len = gb_encoded_size(one);
    double rss1 = peak_mib();
    gb_destroy(one);
    uint64_t cuts[] = {0, n / 3, 2 * n / 3, n};
    double t2 = now();
    struct gb_partial *acc = run_cuts(&c, &d, cuts, 4, ~0ull);
    double t3 = now();
    struct results rs;
    finalize(acc, &rs);
    double t4 = now();
    print_message("1M keys, 3M records, 2 columns: one update of all "
                  "%.2f s (encoded %.1f MiB); 3 partitions reduced, shipped "
                  "and merged %.2f s; finalize %.2f s\n", t1 - t0,
                  len / 1048576.0, t3 - t2, t4 - t3);
    print_message("peak RSS: %.0f MiB before, %.0f MiB after the one "
                  "update, %.0f MiB at the end (input %.0f MiB, a partial "
                  "%.0f MiB, results %.0f MiB)\n", rss0, rss1, peak_mib(),
                  n * 20 / 1048576.0, MK_KEYS * (8 + 2 * 72) / 1048576.0,
                  MK_KEYS * 8.0 * 19 / 1048576.0);
    check_million(&rs);
    results_free(&rs);
    gb_destroy(acc);
    free(keys);
    free(f);
    free(i);
}

/* Counts alone (no value column): the rows per key, the same through any
 * cuts and shipping; only count may be asked for; a key of no rows on the
 * wire is refused. */
static void test_counts_alone(void **state)
{
    (void)state;
    static const char *const count_ops[] = {"count", NULL};
    static const char *const mean_ops[] = {"count", "mean", NULL};
    static const char *const key_group[] = {"station", NULL};
    struct h5b_error err = {""};
    struct data d;
    data_make(&d, 5000, 77);
    struct gb_config c = config(NULL, 0, count_ops, 0);
    struct gb_config bad = config(NULL, 0, mean_ops, 0);
    assert_int_equal(gb_check(&bad, &err), H5B_EINPUT);
    assert_non_null(strstr(err.msg, "only count"));
    uint64_t cuts[] = {0, 1, 1700, 1701, 4999, 5000};
    struct gb_partial *acc = run_cuts(&c, &d, cuts, 6, 0x15);
    struct gb_partial *one = reduce(&c, d.keys, d.col, 0, d.n, 0);
    size_t la, lo;
    unsigned char *ba = encode(acc, &la), *bo = encode(one, &lo);
    assert_int_equal(la, lo);
    assert_memory_equal(ba, bo, la);
    struct results rs;
    memset(&rs, 0, sizeof rs);
    assert_int_equal(gb_finalize(acc, key_group, &rs, &err), 0);
    struct pair *g = group(d.keys, d.n);
    const int64_t *keys = get(&rs, "station", "keys")->data;
    const uint64_t *count = get(&rs, "station", "count")->data;
    uint64_t j = 0;
    for (uint64_t i = 0; i < d.n; j++) {
        uint64_t m = 1;
        while (i + m < d.n && g[i + m].key == g[i].key)
            m++;
        assert_int_equal(keys[j], g[i].key);
        assert_int_equal(count[j], m);
        i += m;
    }
    assert_int_equal(j, gb_nkeys(acc));
    assert_null(results_find(&rs, "station", "groupby/nan_count"));
    /* the last key's count (the last byte) set to 0 */
    bo[lo - 1] = 0;
    struct gb_partial *q = NULL;
    assert_int_equal(gb_create(&c, &q, &err), 0);
    assert_int_equal(gb_decode(q, bo, lo, &err), H5B_ERUN);
    free(g);
    free(ba);
    free(bo);
    results_free(&rs);
    gb_destroy(q);
    gb_destroy(one);
    gb_destroy(acc);
    data_free(&d);
}

/* ---- keys as bytes (string and composite keys) -------------------------- */

#define BK_W 5                  /* string part bytes */
#define BK_KW (BK_W + 8)        /* key bytes: the string, then an int64 */

struct bk_rec {
    unsigned char key[BK_KW];
    double v;
};

static int bk_cmp(const void *a, const void *b)
{
    return memcmp(((const struct bk_rec *)a)->key,
                  ((const struct bk_rec *)b)->key, BK_KW);
}

/* Keys of two parts (a NUL-padded string, an integer) compared as bytes:
 * the same bits through any cuts and shipping, sorted lexicographically by
 * the parts (strings by bytes, integers by value, negatives first), each
 * key's count and sum those of its records; a partial with keys out of
 * order is refused. */
static void test_byte_keys(void **state)
{
    (void)state;
    static const char *const pool[] = {"", "a", "ab", "abc", "b", "zz9z",
                                       "\xce\xa9x", "ab\x7f", "B", "abcde"};
    static const char *const sum_ops[] = {"count", "sum", NULL};
    static const char *const one_group[] = {"v", NULL};
    const struct gb_keypart parts[2] = {{"station", BK_W}, {"year", 0}};
    const h5b_type f64 = H5B_FLOAT64;
    struct h5b_error err = {""};
    uint64_t n = 6000;
    unsigned char *keys = calloc(n, BK_KW);
    double *v = malloc(n * sizeof *v);
    struct bk_rec *rec = calloc(n, sizeof *rec);
    assert_true(keys && v && rec);
    rng_state = 99;
    for (uint64_t i = 0; i < n; i++) {
        const char *s = pool[rnd() % 10];
        memcpy(keys + i * BK_KW, s, strlen(s));
        gb_key_put_int(keys + i * BK_KW + BK_W, (int64_t)(rnd() % 7) - 3);
        v[i] = (double)(rnd() % 1000);
        memcpy(rec[i].key, keys + i * BK_KW, BK_KW);
        rec[i].v = v[i];
    }
    struct gb_config c = config(&f64, 1, sum_ops, 0);
    c.nparts = 2;
    c.parts = parts;
    assert_int_equal(gb_key_bytes(&c), BK_KW);
    struct gb_partial *one = NULL, *acc = NULL;
    assert_int_equal(gb_create(&c, &one, &err), 0);
    assert_int_equal(gb_create(&c, &acc, &err), 0);
    assert_int_equal(gb_update(one, keys, (const void *[]){v}, n, &err), 0);
    uint64_t cuts[] = {0, 1, 999, 3000, 5999, 6000};
    for (size_t i = 0; i + 1 < 6; i++) {
        struct gb_partial *p = NULL;
        assert_int_equal(gb_create(&c, &p, &err), 0);
        assert_int_equal(gb_update(p, keys + cuts[i] * BK_KW,
                                   (const void *[]){v + cuts[i]},
                                   cuts[i + 1] - cuts[i], &err), 0);
        p = ship(&c, p);
        merge(acc, p);
        gb_destroy(p);
    }
    size_t la, lo;
    unsigned char *ba = encode(acc, &la), *bo = encode(one, &lo);
    assert_int_equal(la, lo);
    assert_memory_equal(ba, bo, la);
    struct results rs;
    memset(&rs, 0, sizeof rs);
    assert_int_equal(gb_finalize(acc, one_group, &rs, &err), 0);
    const struct result *ks = results_find(&rs, "v", "groupby/keys_station");
    const struct result *ky = results_find(&rs, "v", "groupby/keys_year");
    assert_true(ks && ky && ks->str_width == BK_W && ky->type == H5B_INT64);
    const uint64_t *count = get(&rs, "v", "count")->data;
    const double *sum = get(&rs, "v", "sum")->data;
    qsort(rec, n, sizeof *rec, bk_cmp);
    uint64_t j = 0;
    for (uint64_t i = 0; i < n; j++) {
        uint64_t m = 0;
        double t = 0;
        for (; i + m < n && !bk_cmp(&rec[i], &rec[i + m]); m++)
            t += rec[i + m].v;
        unsigned char y[8];
        gb_key_put_int(y, ((const int64_t *)ky->data)[j]);
        assert_memory_equal((const char *)ks->data + j * BK_W, rec[i].key,
                            BK_W);
        assert_memory_equal(y, rec[i].key + BK_W, 8);
        assert_int_equal(count[j], m);
        assert_true(sum[j] == t);
        i += m;
    }
    assert_int_equal(j, gb_nkeys(acc));
    assert_int_equal(ks->nelem, j);
    /* the first key made larger than the second: refused */
    unsigned char first[BK_KW];
    memcpy(first, rec[0].key, BK_KW);
    unsigned char *at = memmem(bo, lo, first, BK_KW);
    assert_non_null(at);
    at[0] = 0xff;
    struct gb_partial *q = NULL;
    assert_int_equal(gb_create(&c, &q, &err), 0);
    assert_int_equal(gb_decode(q, bo, lo, &err), H5B_ERUN);
    assert_non_null(strstr(err.msg, "not strictly increasing"));
    /* a plain-key partial does not decode as one of key bytes */
    struct gb_config plain = config(&f64, 1, sum_ops, 0);
    struct gb_partial *pl = NULL;
    assert_int_equal(gb_create(&plain, &pl, &err), 0);
    assert_int_equal(gb_decode(pl, ba, la, &err), H5B_ERUN);
    assert_int_equal(gb_merge(pl, acc, &err), H5B_ERUN);
    results_free(&rs);
    gb_destroy(pl);
    gb_destroy(q);
    gb_destroy(one);
    gb_destroy(acc);
    free(ba);
    free(bo);
    free(keys);
    free(v);
    free(rec);
}

/* More than GB_MAX_PARTS parts, or keys too wide, are refused. */
static void test_key_parts_limits(void **state)
{
    (void)state;
    static const char *const count_ops[] = {"count", NULL};
    struct gb_keypart parts[GB_MAX_PARTS + 1] = {{"a", 0}};
    const h5b_type f64 = H5B_FLOAT64;
    struct gb_config c = config(&f64, 1, count_ops, 0);
    c.parts = parts;
    c.nparts = GB_MAX_PARTS + 1;
    expect_config_error(&c, "group_by has 9 parts; at most 8");
    c.nparts = 2;
    parts[1].width = GB_MAX_KEY_BYTES;
    expect_config_error(&c, "keys of 4104 bytes");
}

/* Byte keys of 20 bytes from int keys: an integer part (k >> 3, so that
 * neighbours share their first 8 bytes) and 12 bytes of k's low bits. */
static unsigned char *byte_keys_of(const int64_t *keys, uint64_t n)
{
    unsigned char *b = malloc(n * 20);
    assert_non_null(b);
    for (uint64_t i = 0; i < n; i++) {
        char s[16];
        gb_key_put_int(b + i * 20, keys[i] >> 3);
        snprintf(s, sizeof s, "%012llx",
                 (unsigned long long)keys[i] & 0xffffffffffffull);
        memcpy(b + i * 20 + 8, s, 12);
    }
    return b;
}

/* Partials of [cut[i], cut[i+1]) merged into acc in order: straight
 * through, or up to partition `resume`, then encoded and decoded as a
 * checkpoint and resume would, then the rest. */
enum merge_way { STRAIGHT, RESUMED };

static struct gb_partial *merge_cuts(const struct gb_config *c,
                                     const void *keys, size_t kw,
                                     const void *const *col,
                                     const uint64_t *cut, size_t ncut,
                                     enum merge_way way, size_t resume)
{
    struct h5b_error err = {""};
    struct gb_partial *acc = NULL;
    assert_int_equal(gb_create(c, &acc, &err), 0);
    gb_reserve(acc, acc_reserve);
    for (size_t i = 0; i + 1 < ncut; i++) {
        struct gb_partial *p = NULL;
        const void *v[NCOL];
        assert_int_equal(gb_create(c, &p, &err), 0);
        for (size_t j = 0; j < c->ncol; j++)
            v[j] = col_at(col[j], c->type[j], cut[i]);
        if (gb_update(p, (const unsigned char *)keys + cut[i] * (kw ? kw : 8),
                      v, cut[i + 1] - cut[i], &err) != 0)
            fail_msg("gb_update: %s", err.msg);
        if (way == RESUMED && i == resume)
            acc = ship(c, acc);
        merge(acc, p);
        gb_destroy(p);
    }
    return acc;
}

/* Each key's cells are folded in partition order, so wherever a
 * checkpoint cuts the merges, the bytes are those of merging straight
 * through; with int64
 * and with long byte keys (ties on the first 8 bytes), exact sums or not,
 * over 79 partitions, with keys that recur across them. */
static void test_resume_any_cut_same_bits(void **state)
{
    (void)state;
    struct data d;
    uint64_t cut[80];
    data_make(&d, 12000, 23);
    for (uint64_t i = 0; i < d.n; i++)
        if (d.keys[i] > (INT64_C(1) << 40) + 1 || d.keys[i] < -1000000007)
            d.keys[i] = (int64_t)(rnd() % 4000) - 2000;
    cut[0] = 0;
    cut[79] = d.n;
    for (size_t i = 1; i < 79; i++)
        cut[i] = rnd() % d.n;
    qsort(cut + 1, 78, sizeof *cut, u64_cmp);
    unsigned char *kb = byte_keys_of(d.keys, d.n);
    const struct gb_keypart parts[2] = {{"k", 0}, {"low", 12}};
    for (int v = 0; v < 4; v++) {
        struct gb_config c = config(main_types, NCOL, all_ops, 1);
        c.exact = v & 1;
        if (v & 2) {
            c.nparts = 2;
            c.parts = parts;
        }
        const void *keys = v & 2 ? (const void *)kb : (const void *)d.keys;
        size_t kw = v & 2 ? 20 : 0;
        struct gb_partial *one = merge_cuts(&c, keys, kw, d.col, cut, 80,
                                            STRAIGHT, 0), *all;
        for (size_t r = 1; r < 79; r += 13) {
            all = merge_cuts(&c, keys, kw, d.col, cut, 80, RESUMED, r);
            assert_same_bytes(one, all);
            gb_destroy(all);
        }
        if (!(v & 2)) {
            struct results rs;
            finalize(one, &rs);
            check_all(&rs, d.keys, d.col, main_types, NCOL, d.n, 1, 1e-9);
            results_free(&rs);
        }
        gb_destroy(one);
    }
    free(kb);
    data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_ddof0),
        cmocka_unit_test(test_values_ddof1),
        cmocka_unit_test(test_hand_cases),
        cmocka_unit_test(test_infinities),
        cmocka_unit_test(test_every_value_type),
        cmocka_unit_test(test_same_boundaries_same_bytes),
        cmocka_unit_test(test_exact_any_boundaries_same_bits),
        cmocka_unit_test(test_one_cut_at_every_position),
        cmocka_unit_test(test_random_splits),
        cmocka_unit_test(test_merge_of_accumulators),
        cmocka_unit_test(test_update_after_merge),
        cmocka_unit_test(test_empty_partial),
        cmocka_unit_test(test_only_requested_outputs),
        cmocka_unit_test(test_round_trip_is_bit_exact),
        cmocka_unit_test(test_decode_rejects_every_short_length),
        cmocka_unit_test(test_decode_survives_corruption),
        cmocka_unit_test(test_decode_crafted_bytes),
        cmocka_unit_test(test_crafted_bytes_decode_to_their_values),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_merge_rejects_other_config),
        cmocka_unit_test(test_max_keys),
        cmocka_unit_test(test_keys_to_int64),
        cmocka_unit_test(test_counts_alone),
        cmocka_unit_test(test_byte_keys),
        cmocka_unit_test(test_key_parts_limits),
        cmocka_unit_test(test_million_keys),
        cmocka_unit_test(test_resume_any_cut_same_bits),
    };
    unit_slow("test_million_keys");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
