/* test_op_hist.c -- unit tests of the histogram operator, called through
 * the op_hist table (create/update/merge/encode/decode/finalize).
 *
 * Expected counts come from an independent reference: numpy's edges
 * (linspace, written out again here) and, for each value, a binary search
 * for the last edge <= x, the last bin closed.  That agrees with numpy
 * whenever the edges strictly increase; a case where they do not is pinned
 * to numpy 1.24's own output.  Closed-form cases are worked by hand.  A
 * capturing sink keeps what finalize writes.  The merge tests replay rank
 * 0: each piece reduced, shipped through encode/decode, merged in order
 * into an empty accumulator.
 */
#define _GNU_SOURCE
#include "unit.h"

#include <float.h>

#include "op.h"

/* Declared in op.h once the histogram is registered. */
extern const h5b_operator op_hist;

#define MAX_RESULTS 8
#define LIMIT_CELLS_62_BINS 524288  /* 2^19 cells x 64 counts x 8 = 256 MiB */

/* ---- capturing sink ----------------------------------------------------- */

struct result {
    char name[32];
    h5b_type type;
    int per_cell;           /* written by put_cells */
    int rank;
    uint64_t dims[H5B_MAX_RANK];
    uint64_t nvalues;
    void *data;
};

struct capture {
    int cell_rank;          /* the cell shape put_cells prepends */
    uint64_t cell_dims[H5B_MAX_RANK];
    size_t n;
    struct result r[MAX_RESULTS];
};

/* Keep a copy of a result of shape dims0 followed by dims1. */
static void capture(struct capture *cap, const char *name, h5b_type type,
                    int per_cell, int rank0, const uint64_t *dims0,
                    int rank1, const uint64_t *dims1, const void *data)
{
    assert_true(cap->n < MAX_RESULTS);
    assert_true(rank0 >= 0 && rank1 >= 0 && rank0 + rank1 <= H5B_MAX_RANK);
    struct result *r = &cap->r[cap->n++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->type = type;
    r->per_cell = per_cell;
    r->rank = rank0 + rank1;
    r->nvalues = 1;
    for (int d = 0; d < r->rank; d++) {
        r->dims[d] = d < rank0 ? dims0[d] : dims1[d - rank0];
        r->nvalues *= r->dims[d];
    }
    size_t bytes = (size_t)r->nvalues * h5b_type_size(type);
    r->data = malloc(bytes ? bytes : 1);
    assert_non_null(r->data);
    memcpy(r->data, data, bytes);
}

static int capture_put(void *ctx, const char *name, h5b_type type, int rank,
                       const uint64_t *dims, const void *data,
                       struct h5b_error *err)
{
    (void)err;
    capture(ctx, name, type, 0, rank, dims, 0, NULL, data);
    return 0;
}

static int capture_put_cells(void *ctx, const char *name, h5b_type type,
                             int extra_rank, const uint64_t *extra_dims,
                             const void *data, struct h5b_error *err)
{
    struct capture *cap = ctx;
    (void)err;
    capture(cap, name, type, 1, cap->cell_rank, cap->cell_dims, extra_rank,
            extra_dims, data);
    return 0;
}

static void capture_free(struct capture *cap)
{
    for (size_t i = 0; i < cap->n; i++)
        free(cap->r[i].data);
    cap->n = 0;
}

static const struct result *get(const struct capture *cap, const char *name)
{
    for (size_t i = 0; i < cap->n; i++)
        if (strcmp(cap->r[i].name, name) == 0)
            return &cap->r[i];
    fail_msg("finalize wrote no '%s'", name);
    return NULL;
}

static const uint64_t *u64s(const struct capture *cap, const char *name)
{
    const struct result *r = get(cap, name);
    assert_int_equal(r->type, H5B_UINT64);
    return r->data;
}

/* ---- configuration ------------------------------------------------------ */

struct args {
    const char *bins, *range;
};

/* cfg.arg: arg_ctx is a struct args. */
static const char *test_arg(const struct h5b_op_config *cfg, const char *key)
{
    const struct args *a = cfg->arg_ctx;
    if (strcmp(key, "histogram_bins") == 0)
        return a->bins;
    if (strcmp(key, "histogram_range") == 0)
        return a->range;
    return NULL;
}

/* A configuration of ncell cells shaped dims[0..rank) reading a. */
static struct h5b_op_config make_cfg(h5b_type t, uint64_t ncell, int rank,
                                     const uint64_t *dims,
                                     const struct args *a)
{
    struct h5b_op_config cfg = {.type = t, .ncell = ncell, .cell_rank = rank,
                                .arg = test_arg, .arg_ctx = a};
    for (int d = 0; d < rank; d++)
        cfg.cell_dims[d] = dims[d];
    return cfg;
}

static void *create(const struct h5b_op_config *cfg)
{
    struct h5b_error err = {""};
    void *s = NULL;
    if (op_hist.create(cfg, &s, &err) != 0)
        fail_msg("create: %s", err.msg);
    assert_non_null(s);
    return s;
}

/* Feed nrec records at data to s. */
static void update(void *s, const void *data, uint64_t nrec)
{
    struct h5b_error err = {""};
    struct h5b_block blk = {data, nrec, 0};
    if (op_hist.update(s, &blk, &err) != 0)
        fail_msg("update: %s", err.msg);
}

/* Finalize s, created from cfg, into cap: counts, underflow and overflow
 * per cell, the edges once. */
static void finalize(const struct h5b_op_config *cfg, const void *s,
                     struct capture *cap)
{
    struct h5b_error err = {""};
    struct h5b_sink sink = {.ctx = cap, .put_cells = capture_put_cells,
                            .put = capture_put};
    memset(cap, 0, sizeof *cap);
    cap->cell_rank = cfg->cell_rank;
    memcpy(cap->cell_dims, cfg->cell_dims, sizeof cap->cell_dims);
    if (op_hist.finalize(s, &sink, &err) != 0)
        fail_msg("finalize: %s", err.msg);
    assert_int_equal(cap->n, 4);
    for (size_t i = 0; i < cap->n; i++)
        assert_int_equal(cap->r[i].per_cell,
                         strcmp(cap->r[i].name, "histogram/edges") != 0);
}

/* Create, update with nrec records, finalize into cap. */
static void run(const struct h5b_op_config *cfg, const void *data,
                uint64_t nrec, struct capture *cap)
{
    void *s = create(cfg);
    update(s, data, nrec);
    finalize(cfg, s, cap);
    op_hist.destroy(s);
}

/* create() must fail with a message holding `want`. */
static void check_refused(const struct h5b_op_config *cfg, const char *want)
{
    struct h5b_error err = {""};
    void *s = (void *)&err;
    assert_true(op_hist.create(cfg, &s, &err) < 0);
    assert_null(s);
    assert_contains(err.msg, want);
}

/* ---- independent reference ---------------------------------------------- */

/* Value i of type t at d, as double (numpy's astype(float64)). */
static double elem(h5b_type t, const void *d, size_t i)
{
    switch (t) {
    case H5B_INT8: return ((const int8_t *)d)[i];
    case H5B_UINT8: return ((const uint8_t *)d)[i];
    case H5B_INT16: return ((const int16_t *)d)[i];
    case H5B_UINT16: return ((const uint16_t *)d)[i];
    case H5B_INT32: return ((const int32_t *)d)[i];
    case H5B_UINT32: return ((const uint32_t *)d)[i];
    case H5B_INT64: return (double)((const int64_t *)d)[i];
    case H5B_UINT64: return (double)((const uint64_t *)d)[i];
    case H5B_FLOAT32: return ((const float *)d)[i];
    case H5B_FLOAT64: return ((const double *)d)[i];
    }
    return NAN;
}

/* numpy.linspace(lo, hi, nb + 1): i * step + lo, two roundings (volatile
 * stops a fused multiply-add), the last edge hi itself. */
static double *ref_edges(double lo, double hi, uint64_t nb)
{
    double *e = malloc((nb + 1) * sizeof *e);
    double step = (hi - lo) / (double)nb;
    assert_non_null(e);
    for (uint64_t i = 0; i < nb; i++) {
        volatile double y = (double)i * step;
        e[i] = y + lo;
    }
    e[nb] = hi;
    return e;
}

/* Last i in [0, nb) with e[i] <= x, for lo <= x <= hi. */
static uint64_t ref_bin(const double *e, uint64_t nb, double x)
{
    uint64_t a = 0, b = nb;     /* e[a] <= x; answer in [a, b) */
    while (b - a > 1) {
        uint64_t m = a + (b - a) / 2;
        if (e[m] <= x)
            a = m;
        else
            b = m;
    }
    return a;
}

struct ref {
    uint64_t nb, ncell;
    double *e;
    uint64_t *bin, *under, *over;   /* ncell x nb, ncell, ncell */
};

static struct ref reference(h5b_type t, const void *data, uint64_t nrec,
                            uint64_t ncell, double lo, double hi, uint64_t nb)
{
    struct ref r = {nb, ncell, ref_edges(lo, hi, nb),
                    calloc(ncell * nb, 8), calloc(ncell, 8),
                    calloc(ncell, 8)};
    assert_true(r.bin && r.under && r.over);
    for (uint64_t i = 0; i < nrec * ncell; i++) {
        double x = elem(t, data, i);
        uint64_t j = i % ncell;
        if (isnan(x))
            continue;
        else if (x < lo)
            r.under[j]++;
        else if (x > hi)
            r.over[j]++;
        else
            r.bin[j * nb + ref_bin(r.e, nb, x)]++;
    }
    return r;
}

static void ref_free(struct ref *r)
{
    free(r->e);
    free(r->bin);
    free(r->under);
    free(r->over);
}

/* The n uint64 at a equal those at b; name the first that differs. */
static void check_u64s(const uint64_t *a, const uint64_t *b, uint64_t n,
                       const char *what)
{
    for (uint64_t i = 0; i < n; i++)
        if (a[i] != b[i])
            fail_msg("%s[%llu]: actual %llu, expected %llu", what,
                     (unsigned long long)i, (unsigned long long)a[i],
                     (unsigned long long)b[i]);
}

/* Everything finalize wrote against r, edges bit for bit. */
static void check_ref(const struct capture *cap, const struct ref *r)
{
    const struct result *e = get(cap, "histogram/edges");
    assert_int_equal(e->type, H5B_FLOAT64);
    assert_int_equal(e->rank, 1);
    assert_int_equal(e->dims[0], r->nb + 1);
    assert_bytes_equal(e->data, r->e, (r->nb + 1) * sizeof(double));
    check_u64s(u64s(cap, "histogram/counts"), r->bin, r->ncell * r->nb,
               "counts");
    check_u64s(u64s(cap, "histogram/underflow"), r->under, r->ncell,
               "underflow");
    check_u64s(u64s(cap, "histogram/overflow"), r->over, r->ncell,
               "overflow");
}

/* Histogram nrec records of ncell values of type t over B bins of [lo, hi]
 * and compare with the reference. */
static void check_data(h5b_type t, const void *data, uint64_t nrec,
                       uint64_t ncell, double lo, double hi, uint64_t nb)
{
    char bins[32], range[96];
    snprintf(bins, sizeof bins, "%llu", (unsigned long long)nb);
    snprintf(range, sizeof range, "%.17g, %.17g", lo, hi);
    struct args a = {bins, range};
    uint64_t dims[1] = {ncell};
    struct h5b_op_config cfg = make_cfg(t, ncell, ncell > 1, dims, &a);
    struct capture cap;
    struct ref r = reference(t, data, nrec, ncell, lo, hi, nb);
    run(&cfg, data, nrec, &cap);
    check_ref(&cap, &r);
    ref_free(&r);
    capture_free(&cap);
}

/* ---- closed-form cases -------------------------------------------------- */

static void test_integers_on_unit_edges(void **state)
{
    (void)state;
    /* [0, 10] in 10 bins: edges 0..10 exactly; 10 falls in the last bin. */
    const double x[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0.5, 9.999,
                        -1e-300, 10.000000000000002, NAN};
    const uint64_t want[10] = {2, 1, 1, 1, 1, 1, 1, 1, 1, 3};
    struct args a = {"10", "0, 10"};
    struct h5b_op_config cfg = make_cfg(H5B_FLOAT64, 1, 0, NULL, &a);
    struct capture cap;
    run(&cfg, x, 16, &cap);
    check_u64s(u64s(&cap, "histogram/counts"), want, 10, "counts");
    assert_int_equal(u64s(&cap, "histogram/underflow")[0], 1);
    assert_int_equal(u64s(&cap, "histogram/overflow")[0], 1);
    const double *e = get(&cap, "histogram/edges")->data;
    for (int i = 0; i <= 10; i++)
        assert_true(e[i] == i);
    capture_free(&cap);
}

static void test_negative_to_positive_quarters(void **state)
{
    (void)state;
    /* [-1, 1] in 4: [-1,-.5) [-.5,0) [0,.5) [.5,1]. */
    const float x[] = {-1, -0.75f, -0.5f, -0.25f, -0.0f, 0, 0.25f, 0.5f,
                       0.75f, 1, -1.5f, 2, INFINITY, -INFINITY, NAN};
    const uint64_t want[4] = {2, 2, 3, 3};
    struct args a = {"4", " -1 ,1 "};
    struct h5b_op_config cfg = make_cfg(H5B_FLOAT32, 1, 0, NULL, &a);
    struct capture cap;
    run(&cfg, x, 15, &cap);
    check_u64s(u64s(&cap, "histogram/counts"), want, 4, "counts");
    assert_int_equal(u64s(&cap, "histogram/underflow")[0], 2);
    assert_int_equal(u64s(&cap, "histogram/overflow")[0], 2);
    capture_free(&cap);
}

static void test_edges_are_numpys_linspace(void **state)
{
    (void)state;
    /* np.linspace(0, 1, 11)[3] is 0.30000000000000004, not 0.3. */
    struct args a = {"10", "0, 1"};
    struct h5b_op_config cfg = make_cfg(H5B_FLOAT64, 1, 0, NULL, &a);
    struct capture cap;
    const double x[] = {0.3, 0.30000000000000004};
    const uint64_t want[10] = {0, 0, 1, 1, 0, 0, 0, 0, 0, 0};
    run(&cfg, x, 2, &cap);
    const double *e = get(&cap, "histogram/edges")->data;
    assert_true(e[3] == 0.30000000000000004);
    assert_true(e[10] == 1.0);
    check_u64s(u64s(&cap, "histogram/counts"), want, 10, "counts");
    capture_free(&cap);
}

static void test_int64_beyond_2_53_rounds_to_double(void **state)
{
    (void)state;
    /* 2^53 + 1 becomes 2^53 as a double; INT64_MAX becomes 2^63 = HI, in
     * the closed last bin. */
    const int64_t two53 = (int64_t)1 << 53;
    const int64_t x[] = {two53 + 1, two53 - 1, two53 + 2, INT64_MAX,
                         INT64_MIN};
    struct args a = {"2", "9007199254740990, 9223372036854775808"};
    struct h5b_op_config cfg = make_cfg(H5B_INT64, 1, 0, NULL, &a);
    struct capture cap;
    run(&cfg, x, 5, &cap);
    const uint64_t *c = u64s(&cap, "histogram/counts");
    assert_int_equal(c[0], 3);
    assert_int_equal(c[1], 1);
    assert_int_equal(u64s(&cap, "histogram/underflow")[0], 1);
    capture_free(&cap);
}

static void test_uint64_max_is_on_the_last_edge(void **state)
{
    (void)state;
    const uint64_t x[] = {UINT64_MAX, 0, (uint64_t)1 << 63};
    const uint64_t want[4] = {1, 0, 1, 1};
    struct args a = {"4", "0, 18446744073709551616"};
    struct h5b_op_config cfg = make_cfg(H5B_UINT64, 1, 0, NULL, &a);
    struct capture cap;
    run(&cfg, x, 3, &cap);
    check_u64s(u64s(&cap, "histogram/counts"), want, 4, "counts");
    capture_free(&cap);
}

static void test_one_bin(void **state)
{
    (void)state;
    const int16_t x[] = {-3, -2, 0, 5, 7, 8, 100};
    const uint64_t want[1] = {4};
    struct args a = {"1", "-2, 7.5"};
    struct h5b_op_config cfg = make_cfg(H5B_INT16, 1, 0, NULL, &a);
    struct capture cap;
    run(&cfg, x, 7, &cap);
    check_u64s(u64s(&cap, "histogram/counts"), want, 1, "counts");
    assert_int_equal(u64s(&cap, "histogram/underflow")[0], 1);
    assert_int_equal(u64s(&cap, "histogram/overflow")[0], 2);
    assert_int_equal(get(&cap, "histogram/edges")->dims[0], 2);
    capture_free(&cap);
}

static void test_default_is_64_bins(void **state)
{
    (void)state;
    const uint8_t x[] = {0, 63, 64, 255};
    struct args a = {NULL, "0, 64"};
    struct h5b_op_config cfg = make_cfg(H5B_UINT8, 1, 0, NULL, &a);
    struct capture cap;
    run(&cfg, x, 4, &cap);
    const struct result *c = get(&cap, "histogram/counts");
    assert_int_equal(c->rank, 1);
    assert_int_equal(c->dims[0], 64);
    assert_int_equal(((uint64_t *)c->data)[0], 1);
    assert_int_equal(((uint64_t *)c->data)[63], 2);
    assert_int_equal(u64s(&cap, "histogram/overflow")[0], 1);
    capture_free(&cap);
}

static void test_colliding_edges_match_numpy(void **state)
{
    (void)state;
    /* [1e16, 1e16 + 4] in 1000 bins: doubles there are 2 apart, so the
     * edges collide and numpy's one-step correction is not a search.
     * numpy 1.24: np.histogram([lo, lo+2, lo+4], 1000, (lo, lo+4)) counts
     * one each in bins 1, 501 and 999. */
    const double x[] = {1e16, 1e16 + 2, 1e16 + 4};
    struct args a = {"1000", "1e16, 10000000000000004"};
    struct h5b_op_config cfg = make_cfg(H5B_FLOAT64, 1, 0, NULL, &a);
    struct capture cap;
    run(&cfg, x, 3, &cap);
    const uint64_t *c = u64s(&cap, "histogram/counts");
    for (uint64_t i = 0; i < 1000; i++)
        if (c[i] != (i == 1 || i == 501 || i == 999))
            fail_msg("counts[%llu] = %llu", (unsigned long long)i,
                     (unsigned long long)c[i]);
    capture_free(&cap);
}

/* ---- every edge and its neighbours -------------------------------------- */

/* Each edge of [lo, hi] in nb bins, and the doubles either side. */
static void check_edges_f64(double lo, double hi, uint64_t nb)
{
    double *e = ref_edges(lo, hi, nb);
    double *x = malloc(3 * (nb + 1) * sizeof *x);
    assert_non_null(x);
    for (uint64_t i = 0; i <= nb; i++) {
        x[3 * i] = e[i];
        x[3 * i + 1] = nextafter(e[i], -INFINITY);
        x[3 * i + 2] = nextafter(e[i], INFINITY);
    }
    check_data(H5B_FLOAT64, x, 3 * (nb + 1), 1, lo, hi, nb);
    free(x);
    free(e);
}

/* The same in float32: each edge rounded to float, and its neighbours. */
static void check_edges_f32(double lo, double hi, uint64_t nb)
{
    double *e = ref_edges(lo, hi, nb);
    float *x = malloc(3 * (nb + 1) * sizeof *x);
    assert_non_null(x);
    for (uint64_t i = 0; i <= nb; i++) {
        x[3 * i] = (float)e[i];
        x[3 * i + 1] = nextafterf((float)e[i], -INFINITY);
        x[3 * i + 2] = nextafterf((float)e[i], INFINITY);
    }
    check_data(H5B_FLOAT32, x, 3 * (nb + 1), 1, lo, hi, nb);
    free(x);
    free(e);
}

static const struct {
    double lo, hi;
    uint64_t nb;
} ranges[] = {
    {0, 1, 10}, {-3.7, 12.1, 1000}, {-5e-3, -1e-3, 7}, {1e-3, 5e-3, 1000},
    {-1e300, 1e300, 999}, {0.1, 0.7, 3}, {1e6, 1e6 + 1, 1000},
    {-1e-308, 1e-308, 1}, {-123456.789, -0.001, 64}, {0, 1, 1},
};

#define NRANGES (sizeof ranges / sizeof ranges[0])

static void test_float64_every_edge_and_neighbours(void **state)
{
    (void)state;
    for (size_t i = 0; i < NRANGES; i++)
        check_edges_f64(ranges[i].lo, ranges[i].hi, ranges[i].nb);
}

static void test_float32_every_edge_and_neighbours(void **state)
{
    (void)state;
    for (size_t i = 0; i < NRANGES; i++)
        check_edges_f32(ranges[i].lo, ranges[i].hi, ranges[i].nb);
}

static void test_dense_values_1000_bins(void **state)
{
    (void)state;
    /* 200000 values sweeping [lo - 10%, hi + 10%] over 1000 bins of two
     * awkward ranges, a fraction of them NaN. */
    enum { N = 200000 };
    double *x = malloc(N * sizeof *x);
    assert_non_null(x);
    for (size_t r = 0; r < 2; r++) {
        double lo = r ? -0.3 : 1.1, hi = r ? 0.7 : 7.7;
        for (size_t i = 0; i < N; i++) {
            double f = (double)((i * 2654435761u) % 100003) / 100002;
            x[i] = i % 97 == 0 ? NAN : lo - 0.1 * (hi - lo) +
                                           1.2 * (hi - lo) * f;
        }
        check_data(H5B_FLOAT64, x, N, 1, lo, hi, 1000);
    }
    free(x);
}

/* ---- every element type ------------------------------------------------- */

struct type_info {
    h5b_type t;
    double lo, hi;      /* the type's range, as double */
};

static const struct type_info types[] = {
    {H5B_INT8, INT8_MIN, INT8_MAX},
    {H5B_UINT8, 0, UINT8_MAX},
    {H5B_INT16, INT16_MIN, INT16_MAX},
    {H5B_UINT16, 0, UINT16_MAX},
    {H5B_INT32, INT32_MIN, INT32_MAX},
    {H5B_UINT32, 0, UINT32_MAX},
    {H5B_INT64, -9.2e18, 9.2e18},
    {H5B_UINT64, 0, 1.8e19},
    {H5B_FLOAT32, -3e5, 3e5},
    {H5B_FLOAT64, -3e5, 3e5},
};

#define NTYPES (sizeof types / sizeof types[0])

/* Store v (within the type's range) as value i. */
static void set_elem(h5b_type t, void *d, size_t i, double v)
{
    switch (t) {
    case H5B_INT8: ((int8_t *)d)[i] = (int8_t)v; break;
    case H5B_UINT8: ((uint8_t *)d)[i] = (uint8_t)v; break;
    case H5B_INT16: ((int16_t *)d)[i] = (int16_t)v; break;
    case H5B_UINT16: ((uint16_t *)d)[i] = (uint16_t)v; break;
    case H5B_INT32: ((int32_t *)d)[i] = (int32_t)v; break;
    case H5B_UINT32: ((uint32_t *)d)[i] = (uint32_t)v; break;
    case H5B_INT64: ((int64_t *)d)[i] = (int64_t)v; break;
    case H5B_UINT64: ((uint64_t *)d)[i] = (uint64_t)v; break;
    case H5B_FLOAT32: ((float *)d)[i] = (float)v; break;
    case H5B_FLOAT64: ((double *)d)[i] = v; break;
    }
}

/* n values over the whole type range, then every edge of [lo, hi] in nb
 * bins truncated to the type, and its neighbours. */
static void *type_data(const struct type_info *ti, size_t n, double lo,
                       double hi, uint64_t nb, size_t *len)
{
    double *e = ref_edges(lo, hi, nb);
    *len = n + 3 * (nb + 1);
    void *d = malloc(*len * h5b_type_size(ti->t));
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) {
        double f = (double)((i * 2654435761u) % 10007) / 10006;
        set_elem(ti->t, d, i, ti->lo + (ti->hi - ti->lo) * f);
    }
    for (uint64_t i = 0; i <= nb; i++) {
        double step = ti->t >= H5B_FLOAT32 ? fabs(e[i]) * 1e-7 : 1;
        for (int k = -1; k <= 1; k++) {
            double v = e[i] + k * step;
            v = v < ti->lo ? ti->lo : v > ti->hi ? ti->hi : v;
            set_elem(ti->t, d, n + 3 * i + (size_t)(k + 1), v);
        }
    }
    free(e);
    return d;
}

/* For each type, ranges inside its values with integer edges, with
 * fractional edges and across zero; 1 and 3 cells. */
static void test_every_type_matches_reference(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTYPES; i++) {
        const struct type_info *ti = &types[i];
        double w = ti->hi - ti->lo;
        const double lo[3] = {ti->lo + 0.25 * w, ti->lo + w / 3, -0.5};
        const double hi[3] = {ti->lo + 0.75 * w, ti->hi - w / 7, 99.5};
        const uint64_t nb[3] = {16, 37, 100};
        for (size_t r = 0; r < 3; r++) {
            size_t len;
            void *d = type_data(ti, 3000, lo[r], hi[r], nb[r], &len);
            check_data(ti->t, d, len, 1, lo[r], hi[r], nb[r]);
            check_data(ti->t, d, len / 3, 3, lo[r], hi[r], nb[r]);
            free(d);
        }
    }
}

/* ---- the one-cell block path -------------------------------------------- */

/* One cell and at most 4096 bins take a block path (slots per 512 values,
 * sub-counts) once an update brings B / 4 values or more; smaller updates
 * and more bins take the per-value one.  Both must give the reference's
 * counts for every value, block boundaries and tails included. */

#define FAST_N 200003       /* 390 blocks of 512 and a tail of 323 */

/* xorshift64*, the fixed-seed generator of these tests. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1p-53;
}

/* One of the values that sit on a boundary of [lo, hi] in nb bins with
 * edges e, or far from it, or nowhere. */
static double special(uint64_t *s, const double *e, uint64_t nb, double lo,
                      double hi)
{
    double w = hi - lo, edge = e[rng_next(s) % (nb + 1)];
    switch (rng_next(s) % 16) {
    case 0: return NAN;
    case 1: return rng_next(s) & 1 ? INFINITY : -INFINITY;
    case 2: return lo;
    case 3: return hi;
    case 4: return nextafter(lo, -INFINITY);
    case 5: return nextafter(hi, INFINITY);
    case 6: return nextafter(lo, INFINITY);
    case 7: return nextafter(hi, -INFINITY);
    case 8: return edge;
    case 9: return nextafter(edge, -INFINITY);
    case 10: return nextafter(edge, INFINITY);
    case 11: return rng_next(s) & 1 ? DBL_MAX : -DBL_MAX;
    case 12: return rng_next(s) & 1 ? 1e300 : -1e300;
    case 13: return rng_next(s) & 1 ? lo - w : hi + w;
    case 14: return rng_next(s) & 1 ? -0.0 : 4.9e-324;
    default: return -NAN;
    }
}

/* n doubles: every edge of [lo, hi] in nb bins with both neighbours,
 * then normal-ish values (four uniforms summed) spread over [lo - w / 3,
 * hi + w / 3], one in eight replaced by a special(). */
static double *fast_values(uint64_t seed, size_t n, double lo, double hi,
                           uint64_t nb)
{
    double *e = ref_edges(lo, hi, nb), *x = malloc(n * sizeof *x);
    double mid = lo + (hi - lo) / 2, w = hi - lo;
    uint64_t s = seed;
    assert_non_null(x);
    assert_true(n >= 3 * (nb + 1));
    for (uint64_t i = 0; i <= nb; i++) {
        x[3 * i] = e[i];
        x[3 * i + 1] = nextafter(e[i], -INFINITY);
        x[3 * i + 2] = nextafter(e[i], INFINITY);
    }
    for (size_t i = 3 * (nb + 1); i < n; i++) {
        double g = rng_unit(&s) + rng_unit(&s) + rng_unit(&s) +
                   rng_unit(&s) - 2;
        x[i] = rng_next(&s) % 8 == 0 ? special(&s, e, nb, lo, hi)
                                     : mid + g * w / 3;
    }
    free(e);
    return x;
}

/* The doubles at x as type t in a new array: float32 rounded, int32
 * rounded to nearest and clamped, NaN as 0. */
static void *as_type(h5b_type t, const double *x, size_t n)
{
    void *d = malloc(n * h5b_type_size(t));
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (t == H5B_INT32)
            v = v != v ? 0 : v < INT32_MIN ? INT32_MIN
                : v > INT32_MAX ? INT32_MAX : nearbyint(v);
        if (t == H5B_FLOAT32 && fabs(v) > FLT_MAX && isfinite(v))
            v = v < 0 ? -INFINITY : INFINITY;
        set_elem(t, d, i, v);
    }
    return d;
}

/* Histogram the n records of nc cells at d of type t over [lo, hi] in nb
 * bins twice -- in one update, then in pieces of assorted lengths (below
 * and above B / 4 and the block size) -- and compare both with the
 * reference. */
static void check_cells(h5b_type t, const void *d, size_t n, uint64_t nc,
                        double lo, double hi, uint64_t nb)
{
    static const size_t len[] = {1, 3, 17, 511, 512, 513, 4099, 20000};
    char bins[32], range[96];
    snprintf(bins, sizeof bins, "%llu", (unsigned long long)nb);
    snprintf(range, sizeof range, "%.17g, %.17g", lo, hi);
    struct args a = {bins, range};
    struct h5b_op_config cfg = make_cfg(t, nc, nc > 1, &nc, &a);
    struct ref r = reference(t, d, n, nc, lo, hi, nb);
    struct capture cap;
    size_t esz = h5b_type_size(t) * nc;
    uint64_t s = nb;
    run(&cfg, d, n, &cap);
    check_ref(&cap, &r);
    capture_free(&cap);
    void *st = create(&cfg);
    for (size_t i = 0, m; i < n; i += m) {
        m = len[rng_next(&s) % (sizeof len / sizeof len[0])];
        m = m < n - i ? m : n - i;
        update(st, (const char *)d + i * esz, m);
    }
    finalize(&cfg, st, &cap);
    op_hist.destroy(st);
    check_ref(&cap, &r);
    capture_free(&cap);
    ref_free(&r);
}

/* check_cells for one cell: the one-cell block path. */
static void check_pieces(h5b_type t, const void *d, size_t n, double lo,
                         double hi, uint64_t nb)
{
    check_cells(t, d, n, 1, lo, hi, nb);
}

static const uint64_t fast_bins[] = {1, 2, 64, 1000, 4096, 4097};

#define NFAST_BINS (sizeof fast_bins / sizeof fast_bins[0])

static void test_block_path_float64_matches_reference(void **state)
{
    (void)state;
    const double lo[] = {-6, 0, -123456.789, 1e6};
    const double hi[] = {6, 1, -0.001, 1e6 + 1};
    for (size_t r = 0; r < sizeof lo / sizeof lo[0]; r++)
        for (size_t b = 0; b < NFAST_BINS; b++) {
            double *x = fast_values(r * 131 + b + 1, FAST_N, lo[r], hi[r],
                                    fast_bins[b]);
            check_pieces(H5B_FLOAT64, x, FAST_N, lo[r], hi[r], fast_bins[b]);
            check_pieces(H5B_FLOAT64, x, 1000, lo[r], hi[r], fast_bins[b]);
            free(x);
        }
}

static void test_block_path_float32_matches_reference(void **state)
{
    (void)state;
    for (size_t b = 0; b < NFAST_BINS; b++) {
        double *x = fast_values(b + 7, FAST_N, -6, 6, fast_bins[b]);
        void *f = as_type(H5B_FLOAT32, x, FAST_N);
        check_pieces(H5B_FLOAT32, f, FAST_N, -6, 6, fast_bins[b]);
        free(f);
        free(x);
    }
}

static void test_block_path_int32_matches_reference(void **state)
{
    (void)state;
    for (size_t b = 0; b < NFAST_BINS; b++) {
        double *x = fast_values(b + 11, FAST_N, -3000, 5000, fast_bins[b]);
        void *d = as_type(H5B_INT32, x, FAST_N);
        check_pieces(H5B_INT32, d, FAST_N, -3000, 5000, fast_bins[b]);
        check_pieces(H5B_INT32, d, FAST_N, -2999.5, 4999.5, fast_bins[b]);
        free(d);
        free(x);
    }
}

/* Many cells take a block path too (slots of the values in record order,
 * counted cell by cell): the same edge-heavy values (NaN, infinities, every
 * edge and its neighbours) as 2 to 600 cells, whole and in pieces. */
static void test_many_cells_block_path_matches_reference(void **state)
{
    (void)state;
    static const uint64_t cells[] = {2, 3, 7, 16, 600};
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
        for (size_t b = 0; b < NFAST_BINS; b++) {
            uint64_t nrec = FAST_N / cells[c];
            double *x = fast_values(c * 17 + b + 3, FAST_N, -6, 6,
                                    fast_bins[b]);
            void *f = as_type(H5B_FLOAT32, x, FAST_N);
            check_cells(H5B_FLOAT64, x, nrec, cells[c], -6, 6, fast_bins[b]);
            check_cells(H5B_FLOAT32, f, nrec, cells[c], -6, 6, fast_bins[b]);
            free(f);
            free(x);
        }
}

/* lo, lo + 2, lo + 4 for lo = 1e16, n times each, histogrammed over
 * [lo, lo + 4] in nb bins: counts n in bins want[0..3) alone. */
static void check_colliding(uint64_t nb, const uint64_t want[3], size_t n)
{
    double *x = malloc(3 * n * sizeof *x);
    char bins[32];
    assert_non_null(x);
    for (size_t i = 0; i < 3 * n; i++)
        x[i] = 1e16 + 2 * (double)(i % 3);
    snprintf(bins, sizeof bins, "%llu", (unsigned long long)nb);
    struct args a = {bins, "1e16, 10000000000000004"};
    struct h5b_op_config cfg = make_cfg(H5B_FLOAT64, 1, 0, NULL, &a);
    struct capture cap;
    run(&cfg, x, 3 * n, &cap);
    const uint64_t *c = u64s(&cap, "histogram/counts");
    for (uint64_t i = 0; i < nb; i++)
        if (c[i] != n * (i == want[0] || i == want[1] || i == want[2]))
            fail_msg("%llu bins, counts[%llu] = %llu", (unsigned long long)nb,
                     (unsigned long long)i, (unsigned long long)c[i]);
    capture_free(&cap);
    free(x);
}

static void test_block_path_colliding_edges_match_numpy(void **state)
{
    (void)state;
    /* test_colliding_edges_match_numpy's values, 1000 times each: enough
     * for the block path, which must repeat numpy's one-step correction
     * from trunc((x - lo) * norm) rather than search.  In 999 bins, lo + 2
     * has (x - lo) * norm = 499.5: truncated to 499, then up one to 500
     * (rounding to 500 would go up to 501).  numpy 1.24.2:
     * np.histogram([lo, lo+2, lo+4] * 1000, B, (lo, lo+4)) counts 1000
     * each in bins 1, 501, 999 (B = 1000) and 1, 500, 998 (B = 999); three
     * values take the per-value path. */
    static const uint64_t want1000[3] = {1, 501, 999};
    static const uint64_t want999[3] = {1, 500, 998};
    check_colliding(1000, want1000, 1000);
    check_colliding(999, want999, 1000);
    check_colliding(999, want999, 1);
}

/* ---- NaN, cells and shapes ---------------------------------------------- */

static void test_nan_counted_nowhere(void **state)
{
    (void)state;
    const double x[] = {NAN, 1, -NAN, 2, NAN, 3};
    const float f[] = {NAN, 1, -NAN, 2, NAN, 3};
    const uint64_t want[2] = {1, 2};
    struct args a = {"2", "1, 3"};
    struct capture cap;
    for (int k = 0; k < 2; k++) {
        struct h5b_op_config cfg = make_cfg(k ? H5B_FLOAT32 : H5B_FLOAT64, 1,
                                            0, NULL, &a);
        run(&cfg, k ? (const void *)f : (const void *)x, 6, &cap);
        check_u64s(u64s(&cap, "histogram/counts"), want, 2, "counts");
        assert_int_equal(u64s(&cap, "histogram/underflow")[0], 0);
        assert_int_equal(u64s(&cap, "histogram/overflow")[0], 0);
        capture_free(&cap);
    }
}

static void test_scalar_output_shapes(void **state)
{
    (void)state;
    const double x[] = {0.5};
    struct args a = {"5", "0, 1"};
    struct h5b_op_config cfg = make_cfg(H5B_FLOAT64, 1, 0, NULL, &a);
    struct capture cap;
    run(&cfg, x, 1, &cap);
    const struct result *c = get(&cap, "histogram/counts");
    assert_int_equal(c->rank, 1);
    assert_int_equal(c->dims[0], 5);
    assert_int_equal(get(&cap, "histogram/underflow")->rank, 0);
    assert_int_equal(get(&cap, "histogram/overflow")->rank, 0);
    assert_int_equal(get(&cap, "histogram/underflow")->type, H5B_UINT64);
    assert_int_equal(get(&cap, "histogram/edges")->dims[0], 6);
    capture_free(&cap);
}

static void test_cells_rank2_shapes_and_counts(void **state)
{
    (void)state;
    /* 2 x 3 cells, 50 records; cell j holds j - 1 + r / 10, so each cell
     * has its own counts, underflow and overflow. */
    enum { NREC = 50, NCELL = 6, NB = 4 };
    int32_t x[NREC * NCELL];
    uint64_t dims[2] = {2, 3};
    struct args a = {"4", "0, 4"};
    struct h5b_op_config cfg = make_cfg(H5B_INT32, NCELL, 2, dims, &a);
    struct capture cap;
    for (int r = 0; r < NREC; r++)
        for (int j = 0; j < NCELL; j++)
            x[r * NCELL + j] = j - 1 + r / 10;
    run(&cfg, x, NREC, &cap);
    const struct result *c = get(&cap, "histogram/counts");
    assert_int_equal(c->rank, 3);
    assert_int_equal(c->dims[0], 2);
    assert_int_equal(c->dims[1], 3);
    assert_int_equal(c->dims[2], NB);
    for (int k = 0; k < 2; k++) {
        const struct result *u = get(&cap, k ? "histogram/overflow"
                                             : "histogram/underflow");
        assert_int_equal(u->rank, 2);
        assert_int_equal(u->dims[0], 2);
        assert_int_equal(u->dims[1], 3);
    }
    /* Cell 0 sees -1, 0, 1, 2, 3 ten times each; cell 5 sees 4..8. */
    const uint64_t want0[NB] = {10, 10, 10, 10}, want5[NB] = {0, 0, 0, 10};
    check_u64s(c->data, want0, NB, "cell 0");
    check_u64s((const uint64_t *)c->data + 5 * NB, want5, NB, "cell 5");
    assert_int_equal(u64s(&cap, "histogram/underflow")[0], 10);
    assert_int_equal(u64s(&cap, "histogram/overflow")[5], 40);
    capture_free(&cap);
    check_data(H5B_INT32, x, NREC, NCELL, 0, 4, NB);
}

/* ---- merge, encode, decode ---------------------------------------------- */

static unsigned char *encode(const void *s, size_t *len)
{
    struct h5b_error err = {""};
    *len = op_hist.encoded_size(s);
    unsigned char *buf = malloc(*len);
    assert_non_null(buf);
    if (op_hist.encode(s, buf, *len, &err) != 0)
        fail_msg("encode: %s", err.msg);
    return buf;
}

/* A fresh state holding the decoded bytes. */
static void *decode(const struct h5b_op_config *cfg, const unsigned char *buf,
                    size_t len)
{
    struct h5b_error err = {""};
    void *s = create(cfg);
    if (op_hist.decode(s, buf, len, &err) != 0)
        fail_msg("decode: %s", err.msg);
    return s;
}

/* op_hist_encoded_bytes (the memory plan's size of a RESULT in a
 * worker's ring) bounds what encode takes, for partitions whose values
 * spread over as many bins as they can (the sparse worst case) and for
 * ones that fill every bin (dense). */
static void test_encoded_bytes_bound_encode(void **state)
{
    (void)state;
    enum { NCELL = 64, NB = 100 };
    const uint64_t nrecs[] = {0, 1, 3, 40, 101, 102, 500};
    uint64_t dims[1] = {NCELL};
    struct args a = {"100", "0, 100"};
    struct h5b_op_config cfg = make_cfg(H5B_FLOAT64, NCELL, 1, dims, &a);
    for (size_t k = 0; k < sizeof nrecs / sizeof nrecs[0]; k++) {
        uint64_t nrec = nrecs[k];
        double *x = malloc((nrec ? nrec : 1) * NCELL * sizeof *x);
        assert_non_null(x);
        for (uint64_t r = 0; r < nrec; r++)   /* record r: bin r, and the */
            for (uint64_t c = 0; c < NCELL; c++)  /* out-of-range ones */
                x[r * NCELL + c] = (double)(r % (NB + 2)) - 1 + 0.5;
        void *s = create(&cfg);
        if (nrec)
            update(s, x, nrec);
        size_t n = op_hist.encoded_size(s);
        uint64_t bound = op_hist_encoded_bytes(NCELL, NB, nrec);
        if (n > bound)
            fail_msg("%llu records: encoded %zu bytes > bound %llu",
                     (unsigned long long)nrec, n, (unsigned long long)bound);
        assert_true(bound <= op_hist_bytes(NCELL, NB));
        op_hist.destroy(s);
        free(x);
    }
    /* one record in every cell: nonzero counts are the cells, sparse */
    assert_int_equal(op_hist_encoded_bytes(NCELL, NB, 1),
                     24 + 8 + 16 * NCELL);
    assert_int_equal(op_hist_encoded_bytes(NCELL, NB, 1000),
                     24 + 8 * NCELL * (NB + 2));
}

/* Reduce nrec records cut before each of cuts[0..ncuts), each piece fed
 * in updates of `step` records, shipped through encode/decode and merged
 * in order into an empty accumulator; return the encoded result. */
static unsigned char *split_reduce(const struct h5b_op_config *cfg,
                                   const double *x, uint64_t nrec,
                                   const uint64_t *cuts, size_t ncuts,
                                   uint64_t step, size_t *len)
{
    struct h5b_error err = {""};
    void *acc = create(cfg);
    for (size_t k = 0; k <= ncuts; k++) {
        uint64_t a = k ? cuts[k - 1] : 0, b = k < ncuts ? cuts[k] : nrec;
        void *piece = create(cfg);
        for (uint64_t r = a; r < b; r += step)
            update(piece, x + r * cfg->ncell, b - r < step ? b - r : step);
        size_t n;
        unsigned char *buf = encode(piece, &n);
        void *shipped = decode(cfg, buf, n);
        assert_int_equal(op_hist.merge(acc, shipped, &err), 0);
        op_hist.destroy(shipped);
        op_hist.destroy(piece);
        free(buf);
    }
    unsigned char *out = encode(acc, len);
    op_hist.destroy(acc);
    return out;
}

static void test_any_split_merges_to_same_bytes(void **state)
{
    (void)state;
    enum { NREC = 3000, NCELL = 3 };
    double *x = malloc(NREC * NCELL * sizeof *x);
    uint64_t dims[1] = {NCELL};
    struct args a = {"50", "-1, 1"};
    struct h5b_op_config cfg = make_cfg(H5B_FLOAT64, NCELL, 1, dims, &a);
    static const uint64_t cuts[][4] = {
        {1, 2, 3, 2999}, {1000, 1001, 2000, 2500}, {0, 0, 3000, 3000},
        {17, 400, 401, 1700},
    };
    assert_non_null(x);
    for (size_t i = 0; i < NREC * NCELL; i++)
        x[i] = i % 31 == 0 ? NAN : sin((double)i) * 1.2;
    size_t n0, n;
    unsigned char *whole = split_reduce(&cfg, x, NREC, NULL, 0, NREC, &n0);
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        for (uint64_t step = 1; step <= 1000; step *= 10) {
            unsigned char *b = split_reduce(&cfg, x, NREC, cuts[c], 4, step,
                                            &n);
            assert_int_equal(n, n0);
            assert_bytes_equal(b, whole, n);
            free(b);
        }
    }
    /* The merged state finalizes to the reference. */
    void *s = decode(&cfg, whole, n0);
    struct capture cap;
    struct ref r = reference(H5B_FLOAT64, x, NREC, NCELL, -1, 1, 50);
    finalize(&cfg, s, &cap);
    check_ref(&cap, &r);
    ref_free(&r);
    capture_free(&cap);
    op_hist.destroy(s);
    free(whole);
    free(x);
}

static void test_merge_refuses_other_shape(void **state)
{
    (void)state;
    struct args a4 = {"4", "0, 1"}, a5 = {"5", "0, 1"};
    struct h5b_op_config c4 = make_cfg(H5B_FLOAT64, 1, 0, NULL, &a4);
    struct h5b_op_config c5 = make_cfg(H5B_FLOAT64, 1, 0, NULL, &a5);
    struct h5b_error err = {""};
    void *x = create(&c4), *y = create(&c5);
    assert_true(op_hist.merge(x, y, &err) < 0);
    assert_contains(err.msg, "differ");
    op_hist.destroy(x);
    op_hist.destroy(y);
}

/* A state of small_cfg() fed nrec records of x. */
static void *small_state(const struct h5b_op_config *cfg, const double *x,
                         uint64_t nrec)
{
    void *s = create(cfg);
    update(s, x, nrec);
    return s;
}

static const struct args small_args = {"10", "0, 10"};

static struct h5b_op_config small_cfg(void)
{
    static const uint64_t dims[1] = {2};
    return make_cfg(H5B_FLOAT64, 2, 1, dims, &small_args);
}

/* Two records: a sparse state (4 of 24 counts set). */
static const double few[] = {1.5, -1, 20, 9.5};
/* Twenty records filling every bin, underflow and overflow. */
static double many[40];

static void fill_many(void)
{
    for (int i = 0; i < 40; i++)
        many[i] = (double)(i / 2 % 12) - 0.5;
}

static void test_round_trip_sparse_and_dense(void **state)
{
    (void)state;
    struct h5b_op_config cfg = small_cfg();
    fill_many();
    for (int k = 0; k < 2; k++) {
        void *s = k ? small_state(&cfg, many, 20) : small_state(&cfg, few, 2);
        size_t n, n2;
        unsigned char *b = encode(s, &n);
        /* header, then nnz and 4 pairs; or all 24 counts */
        assert_int_equal(n, k ? 24 + 8 * 24 : 24 + 8 + 16 * 4);
        assert_int_equal(h5b_get_u64(b + 16), k ? 0 : 1);
        void *t = decode(&cfg, b, n);
        unsigned char *b2 = encode(t, &n2);
        assert_int_equal(n2, n);
        assert_bytes_equal(b2, b, n);
        struct capture c1, c2;
        finalize(&cfg, s, &c1);
        finalize(&cfg, t, &c2);
        for (size_t i = 0; i < 4; i++)
            assert_bytes_equal(c1.r[i].data, c2.r[i].data,
                               c1.r[i].nvalues * 8);
        capture_free(&c1);
        capture_free(&c2);
        op_hist.destroy(s);
        op_hist.destroy(t);
        free(b);
        free(b2);
    }
}

/* Decoding len bytes of buf (copied to a buffer of exactly len bytes) into
 * a state holding `few` must fail, name `want` if non-NULL, and leave the
 * state as it was. */
static void check_bad_decode(const unsigned char *buf, size_t len,
                             const char *want)
{
    struct h5b_op_config cfg = small_cfg();
    struct h5b_error err = {""};
    void *s = small_state(&cfg, few, 2);
    size_t n0, n1;
    unsigned char *before = encode(s, &n0);
    unsigned char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, buf, len);
    if (op_hist.decode(s, copy, len, &err) == 0)
        fail_msg("decode of %zu bytes succeeded", len);
    assert_true(err.msg[0] != '\0');
    if (want)
        assert_contains(err.msg, want);
    unsigned char *after = encode(s, &n1);
    assert_int_equal(n1, n0);
    assert_bytes_equal(after, before, n0);
    free(after);
    free(before);
    free(copy);
    op_hist.destroy(s);
}

static void test_decode_truncated_every_length(void **state)
{
    (void)state;
    struct h5b_op_config cfg = small_cfg();
    fill_many();
    for (int k = 0; k < 2; k++) {
        void *s = k ? small_state(&cfg, many, 20) : small_state(&cfg, few, 2);
        size_t n;
        unsigned char *b = encode(s, &n);
        unsigned char *longer = calloc(n + 8, 1);
        assert_non_null(longer);
        memcpy(longer, b, n);
        for (size_t len = 0; len < n; len++)
            check_bad_decode(b, len, NULL);
        for (size_t extra = 1; extra <= 8; extra++)
            check_bad_decode(longer, n + extra, NULL);
        free(longer);
        free(b);
        op_hist.destroy(s);
    }
}

/* Encode `few`, set u64 word `word` to v, and expect decode to fail. */
static void check_corrupt_word(size_t word, uint64_t v, const char *want)
{
    struct h5b_op_config cfg = small_cfg();
    void *s = small_state(&cfg, few, 2);
    size_t n;
    unsigned char *b = encode(s, &n);
    assert_true(8 * word + 8 <= n);
    h5b_put_u64(b + 8 * word, v);
    check_bad_decode(b, n, want);
    free(b);
    op_hist.destroy(s);
}

static void test_decode_rejects_corrupt_fields(void **state)
{
    (void)state;
    /* few encodes sparse as words [10 bins, 2 cells, format 1, nnz 4,
     * (1, 1), (19, 1), (21, 1), (22, 1)]: cell 0's bin 1, cell 1's bin 9
     * (at 10 + 9), cell 1's underflow (at 20 + 1), cell 0's overflow (at
     * 22 + 0). */
    check_corrupt_word(0, 11, "cells x");
    check_corrupt_word(1, 3, "cells x");
    check_corrupt_word(2, 2, "unknown histogram encoding");
    check_corrupt_word(2, 0, "dense histogram body");
    check_corrupt_word(3, 5, "malformed");
    check_corrupt_word(3, 3, "malformed");
    check_corrupt_word(3, UINT64_MAX, "malformed");
    check_corrupt_word(3, (uint64_t)1 << 60, "malformed");
    check_corrupt_word(4, 24, "out of order or range");
    check_corrupt_word(4, UINT64_MAX, "out of order or range");
    check_corrupt_word(6, 1, "out of order or range");    /* duplicate */
    check_corrupt_word(6, 0, "out of order or range");    /* decreasing */
    check_corrupt_word(5, 0, "zero count");
    check_corrupt_word(11, 0, "zero count");
}

/* ---- configuration and limits ------------------------------------------- */

static void test_bad_args_refused(void **state)
{
    (void)state;
    static const struct {
        const char *bins, *range, *want;
    } cases[] = {
        {"10", NULL, "histogram_range = LO, HI"},
        {"10", "", "histogram_range '' is not two finite numbers"},
        {"10", "1", "not two finite numbers"},
        {"10", "1,", "not two finite numbers"},
        {"10", ",2", "not two finite numbers"},
        {"10", "1 2 3", "not two finite numbers"},
        {"10", "1;2", "not two finite numbers"},
        {"10", "1, 2, 3", "not two finite numbers"},
        {"10", "a, b", "not two finite numbers"},
        {"10", "1, 2x", "not two finite numbers"},
        {"10", "nan, 1", "not two finite numbers"},
        {"10", "0, inf", "not two finite numbers"},
        {"10", "0, 1e999", "not two finite numbers"},
        {"10", "auto", "not two finite numbers"},
        {"10", "2, 1", "LO must be less than HI"},
        {"10", "1, 1", "LO must be less than HI"},
        {"10", "-1e308, 1e308", "bin width does not fit"},
        {"10", "0, 1e-320", "bin width does not fit"},
        {"0", "0, 1", "histogram_bins '0' is not an integer in [1, 1000000]"},
        {"-1", "0, 1", "histogram_bins '-1'"},
        {"1000001", "0, 1", "histogram_bins '1000001'"},
        {"99999999999999999999999", "0, 1", "histogram_bins"},
        {"1.5", "0, 1", "histogram_bins '1.5'"},
        {"1e3", "0, 1", "histogram_bins '1e3'"},
        {"", "0, 1", "histogram_bins ''"},
        {"abc", "0, 1", "histogram_bins"},
        {"++1", "0, 1", "histogram_bins '++1'"},
        {"+-1", "0, 1", "histogram_bins"},
        {"64x", "0, 1", "histogram_bins"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct args a = {cases[i].bins, cases[i].range};
        struct h5b_op_config cfg = make_cfg(H5B_FLOAT64, 1, 0, NULL, &a);
        check_refused(&cfg, cases[i].want);
    }
}

static void test_args_accepted_with_blanks(void **state)
{
    (void)state;
    static const struct {
        struct args a;
        uint64_t nb;
        double lo, hi;
    } ok[] = {
        {{" 7 ", " -2.5 , 3e0 "}, 7, -2.5, 3},
        {{"1000000", "0,1"}, 1000000, 0, 1},
        {{"1", "-1e-300, 0"}, 1, -1e-300, 0}, {{"+5", "1 2"}, 5, 1, 2},
        {{"5", ",1,\t2,"}, 5, 1, 2}, {{"5", "1,,2"}, 5, 1, 2},
    };
    const double x = 0;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct h5b_op_config cfg = make_cfg(H5B_FLOAT64, 1, 0, NULL,
                                            &ok[i].a);
        struct capture cap;
        run(&cfg, &x, 1, &cap);
        const struct result *e = get(&cap, "histogram/edges");
        assert_int_equal(e->dims[0], ok[i].nb + 1);
        assert_true(((double *)e->data)[0] == ok[i].lo);
        assert_true(((double *)e->data)[ok[i].nb] == ok[i].hi);
        capture_free(&cap);
    }
}

static void test_no_arg_lookup_means_no_range(void **state)
{
    (void)state;
    struct h5b_op_config cfg = {.type = H5B_FLOAT64, .ncell = 1};
    check_refused(&cfg, "histogram_range");
}

static void test_memory_limit_refused(void **state)
{
    (void)state;
    struct args a62 = {"62", "0, 1"}, amax = {"1000000", "0, 1"};
    uint64_t dims[1];
    /* 2^19 cells x (62 + 2) x 8 bytes is the limit itself: allowed. */
    dims[0] = LIMIT_CELLS_62_BINS;
    struct h5b_op_config cfg = make_cfg(H5B_FLOAT64, dims[0], 1, dims, &a62);
    op_hist.destroy(create(&cfg));
    dims[0] = cfg.cell_dims[0] = cfg.ncell = LIMIT_CELLS_62_BINS + 1;
    check_refused(&cfg, "histogram_bins 62 over 524289 cells needs 257 MiB");
    check_refused(&cfg, "256 MiB limit");
    /* 34 x 1000002 x 8 > 256 MiB; 33 cells fit. */
    cfg = make_cfg(H5B_FLOAT64, 34, 1, (uint64_t[]){34}, &amax);
    check_refused(&cfg, "histogram_bins 1000000");
    cfg = make_cfg(H5B_FLOAT64, 33, 1, (uint64_t[]){33}, &amax);
    op_hist.destroy(create(&cfg));
    /* A cell count whose byte count would overflow. */
    cfg = make_cfg(H5B_FLOAT64, UINT64_MAX / 2, 1, (uint64_t[]){1}, &a62);
    check_refused(&cfg, "histogram_bins");
}

static void test_rank_32_cells_refused(void **state)
{
    (void)state;
    /* counts would need rank 33. */
    uint64_t dims[H5B_MAX_RANK];
    struct args a = {"2", "0, 1"};
    for (int d = 0; d < H5B_MAX_RANK; d++)
        dims[d] = 1;
    struct h5b_op_config cfg = make_cfg(H5B_FLOAT64, 1, H5B_MAX_RANK, dims,
                                        &a);
    check_refused(&cfg, "rank 32");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers_on_unit_edges),
        cmocka_unit_test(test_negative_to_positive_quarters),
        cmocka_unit_test(test_edges_are_numpys_linspace),
        cmocka_unit_test(test_int64_beyond_2_53_rounds_to_double),
        cmocka_unit_test(test_uint64_max_is_on_the_last_edge),
        cmocka_unit_test(test_one_bin),
        cmocka_unit_test(test_default_is_64_bins),
        cmocka_unit_test(test_colliding_edges_match_numpy),
        cmocka_unit_test(test_float64_every_edge_and_neighbours),
        cmocka_unit_test(test_float32_every_edge_and_neighbours),
        cmocka_unit_test(test_dense_values_1000_bins),
        cmocka_unit_test(test_every_type_matches_reference),
        cmocka_unit_test(test_block_path_float64_matches_reference),
        cmocka_unit_test(test_block_path_float32_matches_reference),
        cmocka_unit_test(test_block_path_int32_matches_reference),
        cmocka_unit_test(test_block_path_colliding_edges_match_numpy),
        cmocka_unit_test(test_many_cells_block_path_matches_reference),
        cmocka_unit_test(test_nan_counted_nowhere),
        cmocka_unit_test(test_scalar_output_shapes),
        cmocka_unit_test(test_cells_rank2_shapes_and_counts),
        cmocka_unit_test(test_any_split_merges_to_same_bytes),
        cmocka_unit_test(test_merge_refuses_other_shape),
        cmocka_unit_test(test_round_trip_sparse_and_dense),
        cmocka_unit_test(test_decode_truncated_every_length),
        cmocka_unit_test(test_decode_rejects_corrupt_fields),
        cmocka_unit_test(test_bad_args_refused),
        cmocka_unit_test(test_args_accepted_with_blanks),
        cmocka_unit_test(test_no_arg_lookup_means_no_range),
        cmocka_unit_test(test_memory_limit_refused),
        cmocka_unit_test(test_rank_32_cells_refused),
        cmocka_unit_test(test_encoded_bytes_bound_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
