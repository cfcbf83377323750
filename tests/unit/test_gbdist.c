/* test_gbdist.c -- unit tests of group-by's per-key distributions
 * (src/gbdist.c).
 *
 * The references are the whole-column operators: a key's sketch must give
 * the very estimates op_quantile gives for the same values (same buckets,
 * same collapse of the smallest magnitudes), and its histogram the counts
 * op_hist gives (numpy's bins).  Values span 24 decades, both signs,
 * zeros and infinities, so the 2048-bucket collapse happens.  Partitions
 * and merges in any split must give the same bytes; decode must refuse
 * malformed stores.
 */
#define _GNU_SOURCE
#include "unit.h"

#include <float.h>

#include "err.h"
#include "gbdist.h"
#include "groupby.h"
#include "op.h"

#define N 6000
#define NQ 9

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Wide-ranged values: |x| from 1e-12 to 1e12, both signs, some zeros and
 * infinities, a few in histogram range [-5, 5). */
static void fill(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double u = (double)(rnd() >> 11) * 0x1p-53;
        double m = pow(10.0, 24.0 * u - 12.0);
        unsigned k = (unsigned)(rnd() % 100);
        x[i] = k < 3 ? 0.0 : k == 3 ? INFINITY : k == 4 ? -INFINITY
             : k < 30 ? 10.0 * u - 5.0 : (rnd() & 1) ? m : -m;
    }
}

struct args {
    const char *quantiles, *accuracy, *bins, *range;
};

static const char *args_arg(const struct h5b_op_config *cfg, const char *key)
{
    const struct args *a = cfg->arg_ctx;
    return !strcmp(key, "quantiles") ? a->quantiles
         : !strcmp(key, "quantile_accuracy") ? a->accuracy
         : !strcmp(key, "histogram_bins") ? a->bins
         : !strcmp(key, "histogram_range") ? a->range : NULL;
}

static const struct args the_args = {"0 0.001 0.01 0.1 0.3 0.5 0.77 0.99 1",
                                     "0.01", "17", "-5, 5"};

static struct h5b_op_config config(void)
{
    return (struct h5b_op_config){.type = H5B_FLOAT64, .ncell = 1,
                                  .cell_rank = 0, .arg = args_arg,
                                  .arg_ctx = &the_args};
}

static struct gbd_config dist_config(const struct h5b_op_config *cfg)
{
    struct gbd_config c;
    struct h5b_error err = {""};
    memset(&c, 0, sizeof c);
    c.hist = c.quant = 1;
    if (histbin_params(cfg, &c.hb, &err) < 0 ||
        sketch_params(cfg, &c.sp, &err) < 0)
        fail_msg("params: %s", err.msg);
    return c;
}

/* What an operator's finalize wrote (float64 or uint64 values). */
struct capture {
    char name[8][64];
    unsigned char data[8][8 * 64];
    size_t n;
};

static int put(void *ctx, const char *name, h5b_type type, int rank,
               const uint64_t *dims, const void *data, struct h5b_error *err)
{
    struct capture *c = ctx;
    size_t bytes = 8;
    (void)type;
    (void)err;
    for (int d = 0; d < rank; d++)
        bytes *= dims[d];
    assert_true(c->n < 8 && bytes <= sizeof c->data[0]);
    snprintf(c->name[c->n], sizeof c->name[0], "%s", name);
    memcpy(c->data[c->n++], data, bytes);
    return 0;
}

static int put_cells(void *ctx, const char *name, h5b_type type,
                     int extra_rank, const uint64_t *extra_dims,
                     const void *data, struct h5b_error *err)
{
    return put(ctx, name, type, extra_rank, extra_dims, data, err);
}

static const void *got(const struct capture *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->name[i], name))
            return c->data[i];
    fail_msg("no %s", name);
    return NULL;
}

/* Run operator op over x[0..n) and capture its results. */
static void run_op(const h5b_operator *op, const struct h5b_op_config *cfg,
                   const double *x, size_t n, struct capture *cap)
{
    struct h5b_error err = {""};
    struct h5b_sink sink = {.ctx = cap, .put_cells = put_cells, .put = put};
    struct h5b_block blk = {x, n, 0};
    void *s = NULL;
    memset(cap, 0, sizeof *cap);
    if (op->create(cfg, &s, &err) || op->update(s, &blk, &err) ||
        op->finalize(s, &sink, &err))
        fail_msg("%s: %s", op->name, err.msg);
    op->destroy(s);
}

/* Stores of x[0..n) built in `parts` consecutive pieces, each encoded,
 * decoded and merged in order into an empty accumulator. */
static void build(const struct gbd_config *c, const double *x, size_t n,
                  size_t parts, struct gbd_store acc[2])
{
    struct h5b_error err = {""};
    memset(acc, 0, 2 * sizeof *acc);
    for (size_t p = 0; p < parts; p++) {
        struct gbd_store one[2] = {{0}}, back[2] = {{0}};
        size_t lo = n * p / parts, hi = n * (p + 1) / parts, cnt = 0;
        for (size_t i = lo; i < hi; i++)
            if (gbd_add(c, one, x[i], &err) < 0)
                fail_msg("add: %s", err.msg);
        for (size_t i = lo; i < hi; i++)
            cnt += !isnan(x[i]);
        size_t len = gbd_encoded_size(c, one);
        unsigned char *buf = malloc(len + 1);
        assert_non_null(buf);
        assert_ptr_equal(gbd_encode(c, one, buf), buf + len);
        const unsigned char *q = buf;
        assert_int_equal(gbd_decode(c, back, &q, buf + len, cnt), 0);
        assert_ptr_equal(q, buf + len);
        if (gbd_merge(c, acc, back, &err) < 0)
            fail_msg("merge: %s", err.msg);
        gbd_clear(c, one);
        gbd_clear(c, back);
        free(buf);
    }
}

static void minmax(const double *x, size_t n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = x[i] + 0.0;
        *lo = v < *lo ? v : *lo;
        *hi = v > *hi ? v : *hi;
    }
}

/* One key's sketch and histogram equal op_quantile's and op_hist's, bit
 * for bit, in any split into partitions. */
static void test_same_as_whole_column(void **state)
{
    (void)state;
    static double x[N];
    struct h5b_op_config cfg = config();
    struct gbd_config c = dist_config(&cfg);
    struct capture q, h;
    double lo, hi, est[NQ];
    uint64_t row[17];
    fill(x, N);
    minmax(x, N, &lo, &hi);
    run_op(&op_quantile, &cfg, x, N, &q);
    run_op(&op_hist, &cfg, x, N, &h);
    for (size_t parts = 1; parts <= 64; parts *= 4) {
        struct gbd_store st[2];
        build(&c, x, N, parts, st);
        assert_true(st[1].n <= 2 * SKETCH_MAX_BINS + 3);
        static struct gbd_repcache cache;   /* kept across splits */
        gbd_quantiles(&c, st, N, lo, hi, &cache, est);
        assert_memory_equal(est, got(&q, "quantiles/values"), sizeof est);
        gbd_hist_row(&c, st, row);
        assert_memory_equal(row, got(&h, "histogram/counts"), sizeof row);
        gbd_clear(&c, st);
    }
}

/* Any split gives the same bytes (the canonical form). */
static void test_split_same_bytes(void **state)
{
    (void)state;
    static double x[N];
    struct h5b_op_config cfg = config();
    struct gbd_config c = dist_config(&cfg);
    unsigned char a[1 << 16], b[1 << 16];
    struct gbd_store s1[2], s2[2];
    fill(x, N);
    build(&c, x, N, 1, s1);
    build(&c, x, N, 37, s2);
    size_t la = gbd_encoded_size(&c, s1), lb = gbd_encoded_size(&c, s2);
    assert_true(la <= sizeof a);
    assert_int_equal(la, lb);
    gbd_encode(&c, s1, a);
    gbd_encode(&c, s2, b);
    assert_memory_equal(a, b, la);
    gbd_clear(&c, s1);
    gbd_clear(&c, s2);
}

/* Decode of hand-written stores: a histogram of bins {1: 2, 4: 1} then a
 * sketch; wrong counts, codes out of order or range are refused. */
static void test_decode_refuses(void **state)
{
    (void)state;
    struct h5b_op_config cfg = config();
    struct gbd_config c = dist_config(&cfg);
    struct gbd_store st[2];
    /* hist: n=2, zigzag(1)=2 count 2, gap 3 count 1; sketch: n=1, code 0
     * (zero) count 3 */
    const unsigned char ok[] = {2, 2, 2, 3, 1, 1, 0, 3};
    const unsigned char bad[][8] = {
        {2, 2, 2, 0, 1, 1, 0, 3},       /* gap 0: a repeated code */
        {2, 2, 2, 3, 1, 1, 0, 4},       /* sketch counts 4, not 3 */
        {2, 2, 2, 3, 1, 1, 0, 0},       /* a zero count */
        {2, 2, 2, 30, 1, 1, 0, 3},      /* bin 31 of 17 */
        {2, 1, 2, 3, 1, 1, 0, 3},       /* code -1 */
    };
    const unsigned char *p = ok;
    assert_int_equal(gbd_decode(&c, st, &p, ok + sizeof ok, 3), 0);
    assert_ptr_equal(p, ok + sizeof ok);
    assert_int_equal(st[0].n, 2);
    assert_int_equal(st[0].a[1].code, 4);
    gbd_clear(&c, st);
    p = ok;
    assert_int_equal(gbd_decode(&c, st, &p, ok + 5, 3), -1);    /* truncated */
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        p = bad[k];
        if (gbd_decode(&c, st, &p, bad[k] + 8, 3) != -1)
            fail_msg("bad store %zu decoded", k);
        assert_null(st[0].a);
    }
}

/* A key of a few values costs tens of bytes, not a sketch window. */
static void test_small_keys_small_stores(void **state)
{
    (void)state;
    struct h5b_op_config cfg = config();
    struct gbd_config c = dist_config(&cfg);
    struct gbd_store st[2] = {{0}};
    struct h5b_error err = {""};
    for (int i = 0; i < 3; i++)
        assert_int_equal(gbd_add(&c, st, 1.0 + i, &err), 0);
    assert_true(st[1].cap <= 3 && st[0].cap <= 3);
    gbd_clear(&c, st);
    assert_true(gbd_bytes(1000000, 3000000, 1, 1) < (uint64_t)100 << 20);
}

/* A group-by partial of 200 records over 7 keys with distributions of c. */
static struct gb_partial *grouped(const struct gbd_config *c)
{
    static const char *const outs[] = {"count", "histogram", "quantiles",
                                       NULL};
    static const h5b_type t[] = {H5B_FLOAT64};
    struct gb_config g = {.ncol = 1, .type = t, .elems = 1, .outputs = outs,
                          .dist = c};
    struct h5b_error err = {""};
    struct gb_partial *p = NULL;
    int64_t keys[200];
    double x[200];
    const void *vals[1] = {x};
    fill(x, 200);
    for (int i = 0; i < 200; i++)
        keys[i] = (int64_t)(rnd() % 7) - 3;
    if (gb_create(&g, &p, &err) < 0 || gb_update(p, keys, vals, 200, &err))
        fail_msg("group-by: %s", err.msg);
    return p;
}

static unsigned char *gb_bytes_of(const struct gb_partial *p, size_t *len)
{
    struct h5b_error err = {""};
    *len = gb_encoded_size(p);
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    if (gb_encode(p, b, *len, &err) < 0)
        fail_msg("encode: %s", err.msg);
    return b;
}

/* A group-by partial with distributions round-trips to the same bytes;
 * one encoded with another histogram range or accuracy is refused. */
static void test_groupby_wire(void **state)
{
    (void)state;
    struct h5b_op_config cfg = config();
    struct gbd_config c = dist_config(&cfg), other = c;
    struct h5b_error err = {""};
    size_t la, lb;
    struct gb_partial *p = grouped(&c), *q = grouped(&c);
    unsigned char *a = gb_bytes_of(p, &la);
    assert_int_equal(gb_decode(q, a, la, &err), 0);
    unsigned char *b = gb_bytes_of(q, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    other.hb.hi = 6;
    struct gb_partial *r = grouped(&other);
    assert_int_not_equal(gb_decode(r, a, la, &err), 0);
    assert_contains(err.msg, "another configuration");
    gb_destroy(r);
    other = c;
    other.sp.accuracy = 0.02;
    r = grouped(&other);
    assert_int_not_equal(gb_decode(r, a, la, &err), 0);
    a[la - 1] ^= 0x40;              /* the last count or code */
    assert_int_not_equal(gb_decode(q, a, la, &err), 0);
    gb_destroy(r);
    gb_destroy(p);
    gb_destroy(q);
    free(a);
    free(b);
}

/* A merge whose counts of one bucket would pass 2^32 - 1 is refused, in
 * the histogram's store and in the sketch's, and leaves the accumulator
 * as it was (the refusal is checked before the in-place merge). */
static void test_merge_refuses_overflow(void **state)
{
    (void)state;
    struct h5b_op_config cfg = config();
    struct gbd_config c = dist_config(&cfg);
    for (int s = 0; s < 2; s++) {
        struct h5b_error err = {""};
        struct gbd_store acc[2] = {{0}}, t[2] = {{0}};
        for (int i = 0; i < 3; i++)
            if (gbd_add(&c, acc, 0.5 + i, &err) < 0 ||
                gbd_add(&c, t, 0.5 + i, &err) < 0)
                fail_msg("add: %s", err.msg);
        uint32_t n0 = acc[s].n;
        assert_true(n0 > 0 && n0 <= 8);
        acc[s].a[n0 - 1].count = UINT32_MAX;
        struct gbd_pair before[8];
        memcpy(before, acc[s].a, n0 * sizeof *before);
        assert_int_not_equal(gbd_merge(&c, acc, t, &err), 0);
        assert_contains(err.msg, "more than");
        assert_int_equal(acc[s].n, n0);
        assert_memory_equal(acc[s].a, before, n0 * sizeof *before);
        gbd_clear(&c, acc);
        gbd_clear(&c, t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_whole_column),
        cmocka_unit_test(test_split_same_bytes),
        cmocka_unit_test(test_decode_refuses),
        cmocka_unit_test(test_small_keys_small_stores),
        cmocka_unit_test(test_groupby_wire),
        cmocka_unit_test(test_merge_refuses_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
