/* test_op_quantile.c -- unit tests of the quantile sketch operator.
 *
 * The operator is driven through its own op_quantile table (create,
 * update, merge, encode, decode, finalize), the way the opset drives it.
 * Every expected quantile comes from an independent computation here: the
 * non-NaN values, sorted with qsort in long double, and the rank numpy's
 * np.quantile(x, q, method="inverted_cdf") takes -- max(1, ceil(n * q))
 * with n * q rounded to float64, as numpy computes it; a table of ranks
 * printed by numpy 1.24 pins that formula down.  A sink captures what
 * finalize writes.  Merge tests replay rank 0: reduce each piece, ship it
 * through encode/decode, merge into an empty accumulator -- here in any
 * order, since counts add and the sketch promises the same bytes.
 */
#define _GNU_SOURCE
#include "unit.h"

#include <float.h>

#include "err.h"
#include "op.h"

/* Declared in op.h once the operator is registered; repeating an extern
 * declaration is harmless. */
extern const h5b_operator op_quantile;

#define MAX_BINS 2048           /* SKETCH_MAX_BINS of the operator */
#define NQ_STD 8

static const double std_q[NQ_STD] = {0, 0.001, 0.01, 0.25, 0.29, 0.5,
                                     0.99, 1};
static const char *const std_q_arg = "0, 0.001, 0.01, 0.25, 0.29, 0.5, "
                                     "0.99, 1";

/* ---- capturing sink ----------------------------------------------------- */

struct result {
    char name[64];
    int per_cell;               /* written by put_cells() */
    int rank;
    uint64_t dims[H5B_MAX_RANK];
    uint64_t nvalues;
    double *data;
};

/* What finalize wrote; cfg gives the cell shape put_cells() prefixes. */
struct capture {
    const struct h5b_op_config *cfg;
    size_t n;
    struct result r[4];
};

/* Keep a copy of a float64 result of shape dims[0..rank). */
static int capture(struct capture *cap, const char *name, h5b_type type,
                   int per_cell, int rank, const uint64_t *dims,
                   const void *data)
{
    assert_true(cap->n < 4);
    assert_int_equal(type, H5B_FLOAT64);
    assert_true(rank >= 0 && rank <= H5B_MAX_RANK);
    struct result *r = &cap->r[cap->n++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->per_cell = per_cell;
    r->rank = rank;
    r->nvalues = 1;
    for (int d = 0; d < rank; d++) {
        r->dims[d] = dims[d];
        r->nvalues *= dims[d];
    }
    r->data = malloc(r->nvalues ? r->nvalues * sizeof(double) : 1);
    assert_non_null(r->data);
    memcpy(r->data, data, r->nvalues * sizeof(double));
    return 0;
}

static int capture_put(void *ctx, const char *name, h5b_type type, int rank,
                       const uint64_t *dims, const void *data,
                       struct h5b_error *err)
{
    (void)err;
    return capture(ctx, name, type, 0, rank, dims, data);
}

static int capture_put_cells(void *ctx, const char *name, h5b_type type,
                             int extra_rank, const uint64_t *extra_dims,
                             const void *data, struct h5b_error *err)
{
    struct capture *cap = ctx;
    uint64_t dims[H5B_MAX_RANK];
    int rank = cap->cfg->cell_rank + extra_rank;
    (void)err;
    assert_true(extra_rank >= 0 && rank <= H5B_MAX_RANK);
    memcpy(dims, cap->cfg->cell_dims, sizeof dims);
    for (int d = 0; d < extra_rank; d++)
        dims[cap->cfg->cell_rank + d] = extra_dims[d];
    return capture(cap, name, type, 1, rank, dims, data);
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

/* ---- configuration and the operator's callbacks ------------------------- */

struct args {
    const char *quantiles, *accuracy;
};

/* cfg.arg: arg_ctx is a struct args; NULL members are absent keys. */
static const char *args_arg(const struct h5b_op_config *cfg, const char *key)
{
    const struct args *a = cfg->arg_ctx;
    if (strcmp(key, "quantiles") == 0)
        return a->quantiles;
    if (strcmp(key, "quantile_accuracy") == 0)
        return a->accuracy;
    return NULL;
}

/* A config for ncell cells of shape dims (rank cell_rank); a must outlive
 * it and every state created from it. */
static struct h5b_op_config config(h5b_type t, uint64_t ncell, int rank,
                                   const uint64_t *dims,
                                   const struct args *a)
{
    struct h5b_op_config cfg = {.type = t, .ncell = ncell,
                                .cell_rank = rank, .arg = args_arg,
                                .arg_ctx = a};
    for (int d = 0; d < rank; d++)
        cfg.cell_dims[d] = dims[d];
    return cfg;
}

static void *create(const struct h5b_op_config *cfg)
{
    struct h5b_error err = {""};
    void *s = NULL;
    if (op_quantile.create(cfg, &s, &err) != 0)
        fail_msg("create: %s", err.msg);
    assert_non_null(s);
    return s;
}

static void update(void *s, const void *data, uint64_t nrec)
{
    struct h5b_error err = {""};
    struct h5b_block blk = {data, nrec, 0};
    if (op_quantile.update(s, &blk, &err) != 0)
        fail_msg("update: %s", err.msg);
}

/* A state holding nrec records of data. */
static void *reduce(const struct h5b_op_config *cfg, const void *data,
                    uint64_t nrec)
{
    void *s = create(cfg);
    update(s, data, nrec);
    return s;
}

static unsigned char *encode(const void *s, size_t *len)
{
    struct h5b_error err = {""};
    *len = op_quantile.encoded_size(s);
    unsigned char *buf = malloc(*len);
    assert_non_null(buf);
    if (op_quantile.encode(s, buf, *len, &err) != 0)
        fail_msg("encode: %s", err.msg);
    return buf;
}

/* A created state holding the decoded bytes. */
static void *decode(const struct h5b_op_config *cfg,
                    const unsigned char *buf, size_t len)
{
    struct h5b_error err = {""};
    void *s = create(cfg);
    if (op_quantile.decode(s, buf, len, &err) != 0)
        fail_msg("decode: %s", err.msg);
    return s;
}

static void merge(void *acc, const void *later)
{
    struct h5b_error err = {""};
    if (op_quantile.merge(acc, later, &err) != 0)
        fail_msg("merge: %s", err.msg);
}

static void finalize(const struct h5b_op_config *cfg, const void *s,
                     struct capture *cap)
{
    struct h5b_error err = {""};
    struct h5b_sink sink = {.ctx = cap, .put_cells = capture_put_cells,
                            .put = capture_put};
    memset(cap, 0, sizeof *cap);
    cap->cfg = cfg;
    if (op_quantile.finalize(s, &sink, &err) != 0)
        fail_msg("finalize: %s", err.msg);
}

/* The encodings of a and b must be the same bytes. */
static void assert_same_state(const void *a, const void *b)
{
    size_t na, nb;
    unsigned char *ea = encode(a, &na), *eb = encode(b, &nb);
    assert_int_equal(na, nb);
    assert_bytes_equal(ea, eb, na);
    free(ea);
    free(eb);
}

/* ---- independent reference ---------------------------------------------- */

/* Value i of type t at d, widened without loss. */
static long double elem(h5b_type t, const void *d, size_t i)
{
    switch (t) {
    case H5B_INT8: return ((const int8_t *)d)[i];
    case H5B_UINT8: return ((const uint8_t *)d)[i];
    case H5B_INT16: return ((const int16_t *)d)[i];
    case H5B_UINT16: return ((const uint16_t *)d)[i];
    case H5B_INT32: return ((const int32_t *)d)[i];
    case H5B_UINT32: return ((const uint32_t *)d)[i];
    case H5B_INT64: return ((const int64_t *)d)[i];
    case H5B_UINT64: return ((const uint64_t *)d)[i];
    case H5B_FLOAT32: return ((const float *)d)[i];
    case H5B_FLOAT64: return ((const double *)d)[i];
    }
    return NAN;
}

static int cmp_ld(const void *a, const void *b)
{
    long double x = *(const long double *)a, y = *(const long double *)b;
    return (x > y) - (x < y);
}

struct ref {
    size_t n;
    long double *v;             /* the non-NaN values, ascending */
};

/* The sorted non-NaN values of cell `cell` of nrec records. */
static struct ref reference(h5b_type t, const void *data, uint64_t nrec,
                            uint64_t ncell, uint64_t cell)
{
    struct ref r = {0, malloc((nrec ? nrec : 1) * sizeof(long double))};
    assert_non_null(r.v);
    for (uint64_t i = 0; i < nrec; i++) {
        long double x = elem(t, data, i * ncell + cell);
        if (!isnan(x))
            r.v[r.n++] = x;
    }
    qsort(r.v, r.n, sizeof *r.v, cmp_ld);
    return r;
}

/* numpy's inverted_cdf: index (n*q) - 1 in float64, floor if integral,
 * else the next one; i.e. rank max(1, ceil(fl(n*q))). */
static long double ref_quantile(const struct ref *r, double q)
{
    double k = ceil((double)r->n * q);
    size_t rank = k < 1 ? 1 : (size_t)k;
    assert_true(rank <= r->n);
    return r->v[rank - 1];
}

/* Every quantile of cell j in cap within rel of the reference (NaN if
 * the cell has no values). */
static void check_cell(const struct capture *cap, const struct ref *r,
                       uint64_t j, const double *q, size_t nq, double rel)
{
    const struct result *v = get(cap, "quantiles/values");
    assert_int_equal(v->dims[v->rank - 1], nq);
    for (size_t k = 0; k < nq; k++) {
        double est = v->data[j * nq + k];
        if (r->n == 0)
            assert_is_nan(est);
        else
            assert_close(est, ref_quantile(r, q[k]), rel);
    }
}

/* Reduce n scalar values of type t at accuracy acc with the standard
 * quantiles and check them all. */
static void check_scalar(h5b_type t, const void *data, uint64_t n,
                         const char *acc)
{
    struct args a = {std_q_arg, acc};
    struct h5b_op_config cfg = config(t, 1, 0, NULL, &a);
    struct capture cap;
    void *s = reduce(&cfg, data, n);
    finalize(&cfg, s, &cap);
    struct ref r = reference(t, data, n, 1, 0);
    check_cell(&cap, &r, 0, std_q, NQ_STD, strtod(acc, NULL));
    free(r.v);
    capture_free(&cap);
    op_quantile.destroy(s);
}

/* ---- deterministic data ------------------------------------------------- */

static uint64_t next_u64(uint64_t *seed)
{
    uint64_t z = (*seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double uniform(uint64_t *seed)
{
    return (double)(next_u64(seed) >> 11) * 0x1p-53;
}

/* Standard normal (Box-Muller). */
static double normal(uint64_t *seed)
{
    double u = uniform(seed), v = uniform(seed);
    return sqrt(-2 * log(1 - u)) * cos(6.283185307179586 * v);
}

enum dist { UNIFORM, LOGNORMAL, MIXED_SIGN, WITH_ZEROS, LOG_UNIFORM_HUGE };

/* One value of distribution d. */
static double draw(enum dist d, uint64_t *seed)
{
    double s = uniform(seed) < 0.5 ? -1 : 1;
    switch (d) {
    case UNIFORM: return -5 + 105 * uniform(seed);
    case LOGNORMAL: return exp(3 * normal(seed));
    case MIXED_SIGN: return s * exp(2 * normal(seed)) * 1e3;
    case WITH_ZEROS:
        return uniform(seed) < 0.3 ? (s < 0 ? -0.0 : 0.0)
                                   : s * exp(normal(seed));
    case LOG_UNIFORM_HUGE: return pow(10, -200 + 400 * uniform(seed));
    }
    return NAN;
}

static double *doubles(enum dist d, size_t n, uint64_t seed)
{
    double *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = draw(d, &seed);
    return x;
}

/* ---- accuracy against the reference ------------------------------------- */

static void check_dist(enum dist d, size_t n, uint64_t seed)
{
    double *x = doubles(d, n, seed);
    check_scalar(H5B_FLOAT64, x, n, "0.01");
    check_scalar(H5B_FLOAT64, x, n, "0.05");
    free(x);
}

static void test_uniform(void **state)
{
    (void)state;
    check_dist(UNIFORM, 20000, 1);
    check_dist(UNIFORM, 7, 2);
}

static void test_lognormal(void **state)
{
    (void)state;
    check_dist(LOGNORMAL, 20000, 3);
}

static void test_mixed_sign(void **state)
{
    (void)state;
    check_dist(MIXED_SIGN, 20000, 4);
    check_dist(MIXED_SIGN, 101, 5);
}

static void test_with_zeros(void **state)
{
    (void)state;
    check_dist(WITH_ZEROS, 20000, 6);
}

static void test_all_negative(void **state)
{
    (void)state;
    double *x = doubles(LOGNORMAL, 5000, 7);
    for (size_t i = 0; i < 5000; i++)
        x[i] = -x[i];
    check_scalar(H5B_FLOAT64, x, 5000, "0.01");
    check_scalar(H5B_FLOAT64, x, 5000, "0.05");
    free(x);
}

static void test_float32(void **state)
{
    (void)state;
    enum { N = 10000 };
    float *f = malloc(N * sizeof *f);
    uint64_t seed = 8;
    assert_non_null(f);
    for (size_t i = 0; i < N; i++)
        f[i] = (float)draw(i % 2 ? MIXED_SIGN : WITH_ZEROS, &seed);
    check_scalar(H5B_FLOAT32, f, N, "0.01");
    check_scalar(H5B_FLOAT32, f, N, "0.05");
    free(f);
}

/* Random bit patterns: every value of an integer type, both signs. */
static void test_integers_of_every_type(void **state)
{
    (void)state;
    static const h5b_type ints[] = {H5B_INT8, H5B_UINT8, H5B_INT16,
                                    H5B_UINT16, H5B_INT32, H5B_UINT32,
                                    H5B_INT64, H5B_UINT64};
    enum { N = 5000 };
    uint64_t *bits = malloc(N * sizeof *bits);
    assert_non_null(bits);
    for (size_t t = 0; t < sizeof ints / sizeof ints[0]; t++) {
        uint64_t seed = 100 + t;
        unsigned char *b = (unsigned char *)bits;
        for (size_t i = 0; i < N; i++)
            bits[i] = next_u64(&seed);
        for (size_t i = 0; i < N * 8; i += 37)
            b[i] = 0;               /* some zeros in the small types */
        size_t n = N * 8 / h5b_type_size(ints[t]);
        check_scalar(ints[t], bits, n, "0.01");
        check_scalar(ints[t], bits, n, "0.05");
    }
    free(bits);
}

/* int64 around +-2^62 (and a few near 0) and uint64 near 2^64. */
static void test_int64_near_2_62(void **state)
{
    (void)state;
    enum { N = 3000 };
    int64_t x[N];
    uint64_t u[N], seed = 9;
    for (size_t i = 0; i < N; i++) {
        int64_t off = (int64_t)(next_u64(&seed) % 2000001) - 1000000;
        x[i] = i % 3 == 0 ? ((int64_t)1 << 62) + off
             : i % 3 == 1 ? -((int64_t)1 << 62) + off : off;
        u[i] = UINT64_MAX - next_u64(&seed) % 1000000;
    }
    check_scalar(H5B_INT64, x, N, "0.01");
    check_scalar(H5B_INT64, x, N, "0.05");
    check_scalar(H5B_UINT64, u, N, "0.01");
}

/* Ranks as numpy 1.24 gives them: x = np.arange(1, 101.);
 * np.quantile(x, q, method="inverted_cdf") for each q below. */
static void test_ranks_match_numpy(void **state)
{
    (void)state;
    static const double q[] = {0.07, 0.14, 0.28, 0.29, 0.55, 0.56, 0.57,
                               0.001, 0.01, 0.99, 0, 1};
    static const double numpy[] = {8, 15, 29, 29, 56, 57, 57, 1, 1, 99, 1,
                                   100};
    struct args a = {"0.07 0.14 0.28 0.29 0.55 0.56 0.57 0.001 0.01 0.99 "
                     "0 1", "0.001"};
    struct h5b_op_config cfg = config(H5B_INT32, 1, 0, NULL, &a);
    int32_t x[100];
    struct capture cap;
    for (int i = 0; i < 100; i++)
        x[i] = 100 - i;             /* order of input is irrelevant */
    void *s = reduce(&cfg, x, 100);
    finalize(&cfg, s, &cap);
    const struct result *v = get(&cap, "quantiles/values");
    for (size_t k = 0; k < 12; k++) {
        assert_close(v->data[k], numpy[k], 0.001);
        assert_close(get(&cap, "quantiles/probabilities")->data[k], q[k], 0);
    }
    capture_free(&cap);
    op_quantile.destroy(s);
}

/* Values on the bucket boundaries gamma^k of the nominal gamma = (1+a)/(1-a)
 * and one ulp either side, and log-uniform ones: the middle of {-1, v, v}
 * must be within a of v for every accuracy, the extremes included. */
static void test_bucket_boundaries_keep_the_bound(void **state)
{
    (void)state;
    static const char *const accs[] = {"0.01", "0.05", "0.001", "1e-6",
                                       "0.49"};
    enum { M = 12000 };
    uint64_t dims[1] = {M}, seed = 20;
    double *x = malloc(3 * M * sizeof *x);
    assert_non_null(x);
    for (size_t t = 0; t < sizeof accs / sizeof accs[0]; t++) {
        double a = strtod(accs[t], NULL), g = (1 + a) / (1 - a);
        struct args args = {"0.5", accs[t]};
        struct h5b_op_config cfg = config(H5B_FLOAT64, M, 1, dims, &args);
        struct capture cap;
        for (size_t j = 0; j < M; j++) {
            double k = fmod((double)(j / 3 % 2000) - 1000,
                            floor(600 / log(g)));
            double v = pow(g, k);
            if (j % 3)
                v = nextafter(v, j % 3 == 1 ? 0 : INFINITY);
            if (j >= M / 2)
                v = exp(200 * uniform(&seed) - 100);
            x[j] = -1;
            x[M + j] = x[2 * M + j] = v;
        }
        void *s = reduce(&cfg, x, 3);
        finalize(&cfg, s, &cap);
        for (size_t j = 0; j < M; j++)
            assert_close(get(&cap, "quantiles/values")->data[j], x[M + j], a);
        capture_free(&cap);
        op_quantile.destroy(s);
    }
    free(x);
}

/* ---- special values ----------------------------------------------------- */

static void test_nan_skipped(void **state)
{
    (void)state;
    enum { N = 6000 };
    double *x = doubles(MIXED_SIGN, N, 10);
    float f[N];
    for (size_t i = 0; i < N; i++) {
        x[i] = i % 3 == 0 ? NAN : x[i];
        f[i] = (float)x[i];
    }
    check_scalar(H5B_FLOAT64, x, N, "0.01");
    check_scalar(H5B_FLOAT32, f, N, "0.01");
    free(x);
}

static void test_empty_is_nan(void **state)
{
    (void)state;
    struct args a = {std_q_arg, NULL};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    double nan[50];
    struct capture cap;
    for (size_t i = 0; i < 50; i++)
        nan[i] = NAN;
    void *s = reduce(&cfg, nan, 50);
    void *e = create(&cfg);
    assert_same_state(s, e);        /* NaN leaves no trace at all */
    finalize(&cfg, s, &cap);
    for (size_t k = 0; k < NQ_STD; k++)
        assert_is_nan(get(&cap, "quantiles/values")->data[k]);
    capture_free(&cap);
    op_quantile.destroy(s);
    op_quantile.destroy(e);
}

/* -inf and +inf sit at the ends, as in numpy's sort. */
static void test_infinities_counted_at_the_ends(void **state)
{
    (void)state;
    enum { N = 1000 };
    double *x = doubles(LOGNORMAL, N, 11);
    for (size_t i = 0; i < N; i += 50)
        x[i] = -INFINITY;           /* 20: ranks 1..20 */
    for (size_t i = 7; i < N; i += 100)
        x[i] = INFINITY;            /* 10: ranks 991..1000 */
    check_scalar(H5B_FLOAT64, x, N, "0.01");
    struct args a = {"0 0.02 0.021 0.99 0.991 1", "0.01"};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    struct capture cap;
    void *s = reduce(&cfg, x, N);
    finalize(&cfg, s, &cap);
    const double *v = get(&cap, "quantiles/values")->data;
    assert_true(v[0] == -INFINITY && v[1] == -INFINITY);
    assert_true(isfinite(v[2]) && isfinite(v[3]));
    assert_true(v[4] == INFINITY && v[5] == INFINITY);
    capture_free(&cap);
    op_quantile.destroy(s);
    free(x);
}

/* |x| < 1e-300 counts as zero (documented); the clamp to [min, max] still
 * makes a cell of such values exact. */
static void test_tiny_values_count_as_zero(void **state)
{
    (void)state;
    struct args a = {"0 0.5 1", "0.01"};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    const double tiny[4] = {1e-310, 3e-305, 2e-301, 1e-305};
    const double mixed[4] = {-1e-305, 2e-301, 5, 6};
    struct capture cap;
    void *s = reduce(&cfg, tiny, 4);
    finalize(&cfg, s, &cap);
    const double *v = get(&cap, "quantiles/values")->data;
    assert_close(v[0], 1e-310, 0);
    assert_true(v[1] >= 1e-310 && v[1] <= 2e-301);
    assert_close(v[2], 2e-301, 0);
    capture_free(&cap);
    op_quantile.destroy(s);
    s = reduce(&cfg, mixed, 4);
    finalize(&cfg, s, &cap);
    v = get(&cap, "quantiles/values")->data;
    assert_close(v[0], -1e-305, 0);
    assert_close(v[1], 0, 0);       /* rank 2 is 2e-301, counted as zero */
    assert_close(v[2], 6, 0);
    capture_free(&cap);
    op_quantile.destroy(s);
}

static void test_negative_zero_same_bytes(void **state)
{
    (void)state;
    struct args a = {NULL, NULL};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    const double x[3] = {0.0, -0.0, 0.0}, y[3] = {-0.0, 0.0, -0.0};
    void *s = reduce(&cfg, x, 3), *t = reduce(&cfg, y, 3);
    assert_same_state(s, t);
    op_quantile.destroy(s);
    op_quantile.destroy(t);
}

/* ---- cells and output shapes -------------------------------------------- */

static void test_scalar_output_shapes(void **state)
{
    (void)state;
    struct args a = {std_q_arg, NULL};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    const double x[3] = {1, 2, 3};
    struct capture cap;
    void *s = reduce(&cfg, x, 3);
    finalize(&cfg, s, &cap);
    assert_int_equal(cap.n, 2);
    const struct result *p = get(&cap, "quantiles/probabilities");
    const struct result *v = get(&cap, "quantiles/values");
    assert_false(p->per_cell);      /* the same for every cell */
    assert_true(v->per_cell);       /* h5batch may stitch tiles of cells */
    assert_int_equal(p->rank, 1);
    assert_int_equal(p->dims[0], NQ_STD);
    assert_int_equal(v->rank, 1);
    assert_int_equal(v->dims[0], NQ_STD);
    for (size_t k = 0; k < NQ_STD; k++)
        assert_close(p->data[k], std_q[k], 0);
    capture_free(&cap);
    op_quantile.destroy(s);
}

/* ncell = 3, cell_rank 1: cell 0 uniform, cell 1 negative lognormal,
 * cell 2 NaN throughout. */
static void test_three_cells_rank1(void **state)
{
    (void)state;
    enum { NREC = 4000 };
    uint64_t dims[1] = {3}, seed = 12;
    struct args a = {std_q_arg, "0.01"};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 3, 1, dims, &a);
    double *x = malloc(3 * NREC * sizeof *x);
    struct capture cap;
    assert_non_null(x);
    for (size_t i = 0; i < NREC; i++) {
        x[3 * i] = draw(UNIFORM, &seed);
        x[3 * i + 1] = -draw(LOGNORMAL, &seed);
        x[3 * i + 2] = NAN;
    }
    void *s = reduce(&cfg, x, NREC);
    finalize(&cfg, s, &cap);
    const struct result *v = get(&cap, "quantiles/values");
    assert_int_equal(v->rank, 2);
    assert_int_equal(v->dims[0], 3);
    assert_int_equal(v->dims[1], NQ_STD);
    for (uint64_t j = 0; j < 3; j++) {
        struct ref r = reference(H5B_FLOAT64, x, NREC, 3, j);
        check_cell(&cap, &r, j, std_q, NQ_STD, 0.01);
        free(r.v);
    }
    capture_free(&cap);
    op_quantile.destroy(s);
    free(x);
}

/* int16 cells of shape [2, 3]: values shape [2, 3, nq]. */
static void test_rank2_cells_int16(void **state)
{
    (void)state;
    enum { NREC = 2000 };
    uint64_t dims[2] = {2, 3}, seed = 13;
    struct args a = {"0.5, 0.1 0.9", "0.05"};
    const double q[3] = {0.5, 0.1, 0.9};
    struct h5b_op_config cfg = config(H5B_INT16, 6, 2, dims, &a);
    int16_t x[6 * NREC];
    struct capture cap;
    for (size_t i = 0; i < 6 * NREC; i++)
        x[i] = (int16_t)((int64_t)(next_u64(&seed) % 2001) - 1000 +
                         (int64_t)(i % 6) * 3000);
    void *s = reduce(&cfg, x, NREC);
    finalize(&cfg, s, &cap);
    const struct result *v = get(&cap, "quantiles/values");
    assert_int_equal(v->rank, 3);
    assert_int_equal(v->dims[0], 2);
    assert_int_equal(v->dims[1], 3);
    assert_int_equal(v->dims[2], 3);
    for (uint64_t j = 0; j < 6; j++) {
        struct ref r = reference(H5B_INT16, x, NREC, 6, j);
        check_cell(&cap, &r, j, q, 3, 0.05);
        free(r.v);
    }
    capture_free(&cap);
    op_quantile.destroy(s);
}

/* ---- merging ------------------------------------------------------------ */

#define MERGE_N 6000

/* Wide-range data of both signs with zeros, NaN and infinities; with
 * `huge`, log-uniform over 1e-200..1e200 so that windows collapse. */
static double *merge_data(int huge)
{
    uint64_t seed = 14;
    double *x = malloc(MERGE_N * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < MERGE_N; i++) {
        double s = i % 5 == 1 ? -1 : 1;
        x[i] = huge ? s * draw(LOG_UNIFORM_HUGE, &seed)
                    : draw(i % 2 ? MIXED_SIGN : WITH_ZEROS, &seed);
        x[i] = i % 101 == 3 ? NAN : i % 997 == 5 ? INFINITY
             : i % 991 == 8 ? -INFINITY : x[i];
    }
    return x;
}

/* Ascending cut points in (0, n), between 1 and max of them. */
static size_t random_cuts(uint64_t *seed, size_t n, size_t *cuts,
                          size_t max)
{
    size_t k = 1 + next_u64(seed) % max, m = 0;
    for (size_t i = 0; i < k; i++) {
        size_t c = 1 + next_u64(seed) % (n - 1), j = m;
        while (j > 0 && cuts[j - 1] > c) {
            cuts[j] = cuts[j - 1];
            j--;
        }
        if (j > 0 && cuts[j - 1] == c) {
            memmove(cuts + j, cuts + j + 1, (m - j) * sizeof *cuts);
            continue;
        }
        cuts[j] = c;
        m++;
    }
    return m;
}

/* Reduce x cut before each of cuts[0..ncuts), ship each piece through
 * encode/decode and merge them into an empty state in the order perm
 * (a permutation of the pieces). */
static void *split_merge(const struct h5b_op_config *cfg, const double *x,
                         size_t n, const size_t *cuts, size_t ncuts,
                         const size_t *perm)
{
    void *acc = create(cfg);
    for (size_t k = 0; k <= ncuts; k++) {
        size_t i = perm[k], len;
        size_t lo = i ? cuts[i - 1] : 0, hi = i < ncuts ? cuts[i] : n;
        void *p = reduce(cfg, x + lo, hi - lo);
        unsigned char *b = encode(p, &len);
        op_quantile.destroy(p);
        p = decode(cfg, b, len);
        merge(acc, p);
        op_quantile.destroy(p);
        free(b);
    }
    return acc;
}

/* A random permutation of 0..n-1 (forward when mode 0, reversed when 1). */
static void permutation(uint64_t *seed, size_t *perm, size_t n, int mode)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = mode == 1 ? n - 1 - i : i;
    for (size_t i = n; mode == 2 && i > 1; i--) {
        size_t j = next_u64(seed) % i, t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

static void check_any_split_any_order(int huge)
{
    double *x = merge_data(huge);
    struct args a = {std_q_arg, "0.01"};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    uint64_t seed = 15;
    void *whole = reduce(&cfg, x, MERGE_N);
    for (int round = 0; round < 60; round++) {
        size_t cuts[40], perm[41];
        size_t nc = random_cuts(&seed, MERGE_N, cuts, 40);
        permutation(&seed, perm, nc + 1, round % 3);
        void *acc = split_merge(&cfg, x, MERGE_N, cuts, nc, perm);
        assert_same_state(acc, whole);
        op_quantile.destroy(acc);
    }
    op_quantile.destroy(whole);
    free(x);
}

static void test_merge_any_split_any_order_same_bytes(void **state)
{
    (void)state;
    check_any_split_any_order(0);
}

static void test_merge_collapsed_any_order_same_bytes(void **state)
{
    (void)state;
    check_any_split_any_order(1);
}

/* Both halves of a cut at every position, merged both ways round. */
static void test_one_cut_at_every_position(void **state)
{
    (void)state;
    enum { N = 700 };
    double *x = merge_data(1);
    struct args a = {std_q_arg, "0.05"};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    void *whole = reduce(&cfg, x, N);
    for (size_t c = 1; c < N; c++) {
        size_t fwd[2] = {0, 1}, back[2] = {1, 0};
        void *p = split_merge(&cfg, x, N, &c, 1, fwd);
        void *q = split_merge(&cfg, x, N, &c, 1, back);
        assert_same_state(p, whole);
        assert_same_state(q, whole);
        op_quantile.destroy(p);
        op_quantile.destroy(q);
    }
    op_quantile.destroy(whole);
    free(x);
}

/* Many small update() calls give the state one call gives. */
static void test_small_blocks_same_bytes(void **state)
{
    (void)state;
    double *x = merge_data(1);
    struct args a = {NULL, NULL};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    void *whole = reduce(&cfg, x, MERGE_N), *s = create(&cfg);
    for (size_t i = 0; i < MERGE_N; i += 7)
        update(s, x + i, MERGE_N - i < 7 ? MERGE_N - i : 7);
    assert_same_state(s, whole);
    op_quantile.destroy(s);
    op_quantile.destroy(whole);
    free(x);
}

static void test_empty_merge_is_identity(void **state)
{
    (void)state;
    double *x = merge_data(0);
    struct args a = {NULL, NULL};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    void *p = reduce(&cfg, x, MERGE_N), *e = create(&cfg);
    void *ref = reduce(&cfg, x, MERGE_N), *e2 = create(&cfg);
    merge(p, e);                    /* p + empty */
    merge(e2, ref);                 /* empty + p */
    assert_same_state(p, ref);
    assert_same_state(e2, ref);
    op_quantile.destroy(p);
    op_quantile.destroy(e);
    op_quantile.destroy(e2);
    op_quantile.destroy(ref);
    free(x);
}

static void test_merge_rejects_other_sketches(void **state)
{
    (void)state;
    uint64_t d3[1] = {3}, d2[1] = {2};
    struct args a = {NULL, "0.01"}, b = {NULL, "0.02"};
    struct h5b_op_config c3 = config(H5B_FLOAT64, 3, 1, d3, &a);
    struct h5b_op_config c2 = config(H5B_FLOAT64, 2, 1, d2, &a);
    struct h5b_op_config c3b = config(H5B_FLOAT64, 3, 1, d3, &b);
    struct h5b_error err = {""};
    void *x = create(&c3), *y = create(&c2), *z = create(&c3b);
    assert_true(op_quantile.merge(x, y, &err) < 0);
    assert_contains(err.msg, "cells");
    assert_true(op_quantile.merge(x, z, &err) < 0);
    assert_contains(err.msg, "accuracy");
    op_quantile.destroy(x);
    op_quantile.destroy(y);
    op_quantile.destroy(z);
}

/* ---- the bucket mapping ------------------------------------------------- */

/* The mapping is probed from outside: a state of n cells holding one
 * value each shows each value's bucket as its positive store's lo in the
 * encoding, and one of n cells holding {-inf, v, v, +inf} reports the
 * representative of v's bucket, unclamped, as its median (rank 2 of 4). */

#define PROBE_CELLS 100000
static const char *const map_accs[] = {"0.01", "0.001", "1e-6", "0.05"};

/* The buckets of the n positive values v into idx. */
static void buckets_of(const char *acc, const double *v, size_t n,
                       int64_t *idx)
{
    for (size_t at = 0; at < n; at += PROBE_CELLS) {
        uint64_t m = n - at < PROBE_CELLS ? n - at : PROBE_CELLS;
        struct args a = {"0.5", acc};
        struct h5b_op_config cfg = config(H5B_FLOAT64, m, 1, &m, &a);
        size_t len;
        void *s = reduce(&cfg, v + at, 1);
        unsigned char *b = encode(s, &len), *p = b + 16;
        for (uint64_t j = 0; j < m; j++) {
            p += 48;                                /* cell header */
            assert_int_equal(h5b_get_u64(p + 8), 0);    /* no negatives */
            p += 16;
            assert_int_equal(h5b_get_u64(p + 8), 1);    /* one bucket */
            idx[at + j] = (int64_t)h5b_get_u64(p);
            p += 16 + 8;
        }
        assert_true(p == b + len);
        free(b);
        op_quantile.destroy(s);
    }
}

/* Every reported representative of the n positive values v is within
 * relative error acc of v. */
static void check_representatives(const char *acc, const double *v,
                                  size_t n)
{
    double a = strtod(acc, NULL);
    double *x = malloc(4 * PROBE_CELLS * sizeof *x);
    assert_non_null(x);
    for (size_t at = 0; at < n; at += PROBE_CELLS) {
        uint64_t m = n - at < PROBE_CELLS ? n - at : PROBE_CELLS;
        struct args args = {"0.5", acc};
        struct h5b_op_config cfg = config(H5B_FLOAT64, m, 1, &m, &args);
        struct capture cap;
        for (size_t j = 0; j < m; j++) {
            x[j] = -INFINITY;
            x[m + j] = x[2 * m + j] = v[at + j];
            x[3 * m + j] = INFINITY;
        }
        void *s = reduce(&cfg, x, 4);
        finalize(&cfg, s, &cap);
        const double *rep = get(&cap, "quantiles/values")->data;
        for (size_t j = 0; j < m; j++)
            assert_close(rep[j], v[at + j], a);
        capture_free(&cap);
        op_quantile.destroy(s);
    }
    free(x);
}

static double from_bits(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static uint64_t to_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static int cmp_double(const void *p, const void *q)
{
    double x = *(const double *)p, y = *(const double *)q;
    return (x > y) - (x < y);
}

/* n magnitudes in (1e-300, DBL_MAX], sorted: random bit patterns (so
 * uniform in the exponent), every power of two in range and 1 and 2 ulps
 * either side. */
static double *probe_values(size_t nrand, size_t *n)
{
    size_t cap = nrand + 5 * 2100, k = 0;
    double *v = malloc(cap * sizeof *v);
    uint64_t seed = 30;
    assert_non_null(v);
    while (k < nrand) {
        double x = from_bits(next_u64(&seed) >> 1);
        if (x > 1e-300 && x <= DBL_MAX)
            v[k++] = x;
    }
    for (int e = -996; e <= 1023; e++) {
        double p = ldexp(1, e), lo = p, hi = p;
        v[k++] = p;
        for (int u = 0; u < 2; u++) {
            lo = nextafter(lo, 0);
            hi = nextafter(hi, INFINITY);
            if (lo > 1e-300)
                v[k++] = lo;
            if (hi <= DBL_MAX)
                v[k++] = hi;
        }
    }
    v[k++] = DBL_MAX;
    v[k++] = nextafter(1e-300, 1);
    qsort(v, k, sizeof *v, cmp_double);
    *n = k;
    return v;
}

/* The last value below and the first at each of up to max bucket
 * boundaries between neighbours in the sorted v (buckets idx), found by
 * bisection on the bits, all at once; 2 * count of them in out. */
static size_t boundaries(const char *acc, const double *v,
                         const int64_t *idx, size_t n, size_t max,
                         double *out)
{
    size_t nb = 0, changes = 0, step;
    uint64_t *lo = malloc(max * sizeof *lo), *hi = malloc(max * sizeof *hi);
    double *mid = malloc(max * sizeof *mid);
    int64_t *mi = malloc(max * sizeof *mi);
    int64_t *want = malloc(max * sizeof *want);
    assert_true(lo && hi && mid && mi && want);
    for (size_t j = 0; j + 1 < n; j++)
        changes += idx[j] < idx[j + 1];
    step = changes / max + 1;           /* take every step-th boundary */
    for (size_t j = 0, c = 0; j + 1 < n && nb < max; j++)
        if (idx[j] < idx[j + 1] && c++ % step == 0) {
            lo[nb] = to_bits(v[j]);
            hi[nb] = to_bits(v[j + 1]);
            want[nb++] = idx[j + 1];    /* first value in bucket >= this */
        }
    for (int round = 0; round < 64; round++) {
        for (size_t b = 0; b < nb; b++)
            mid[b] = from_bits(lo[b] + (hi[b] - lo[b]) / 2);
        buckets_of(acc, mid, nb, mi);
        for (size_t b = 0; b < nb; b++) {
            if (hi[b] - lo[b] <= 1)
                continue;
            if (mi[b] >= want[b])
                hi[b] = to_bits(mid[b]);
            else
                lo[b] = to_bits(mid[b]);
        }
    }
    for (size_t b = 0; b < nb; b++) {
        assert_true(hi[b] - lo[b] == 1);
        out[2 * b] = from_bits(lo[b]);
        out[2 * b + 1] = from_bits(hi[b]);
    }
    free(lo);
    free(hi);
    free(mid);
    free(mi);
    free(want);
    return 2 * nb;
}

/* 10^6 magnitudes over the whole range, every power of two and its
 * neighbours, and the exact ends of 2000 buckets: the bucket index never
 * decreases as the value grows, and every representative is within a of
 * its value, for each accuracy. */
static void test_mapping_monotone_and_within_a(void **state)
{
    (void)state;
    size_t n;
    double *v = probe_values(1000000, &n);
    int64_t *idx = malloc(n * sizeof *idx);
    double *ends = malloc(2 * 2000 * sizeof *ends);
    assert_true(idx && ends);
    for (size_t t = 0; t < sizeof map_accs / sizeof map_accs[0]; t++) {
        buckets_of(map_accs[t], v, n, idx);
        for (size_t j = 0; j + 1 < n; j++)
            if (idx[j] > idx[j + 1])
                fail_msg("a = %s: %.17g in bucket %lld, above %.17g in "
                         "%lld", map_accs[t], v[j], (long long)idx[j],
                         v[j + 1], (long long)idx[j + 1]);
        size_t ne = boundaries(map_accs[t], v, idx, n, 2000, ends);
        assert_true(ne > 1000);
        check_representatives(map_accs[t], v, n);
        check_representatives(map_accs[t], ends, ne);
    }
    free(v);
    free(idx);
    free(ends);
}

/* Closed form: 1 = 2^0 and 2^e have e + P(0) = e, so their buckets are
 * k e rounded, k = 0.7 / log(gamma) with gamma = (1+a)/(1-a) and a the
 * accuracy shrunk by 2^-16 (powers whose k e lies within 1e-6 of a tie
 * are skipped). */
static void test_powers_of_two_in_closed_form_buckets(void **state)
{
    (void)state;
    enum { NE = 2020 };
    double *v = malloc(NE * sizeof *v);
    int64_t *idx = malloc(NE * sizeof *idx);
    assert_true(v && idx);
    for (size_t t = 0; t < sizeof map_accs / sizeof map_accs[0]; t++) {
        long double a = strtod(map_accs[t], NULL);
        a -= a / 65536;
        long double k = 0.7L / logl((1 + a) / (1 - a));
        for (int e = -996; e <= 1023; e++)
            v[e + 996] = ldexp(1, e);
        buckets_of(map_accs[t], v, NE, idx);
        for (int e = -996; e <= 1023; e++) {
            long double ke = k * e, frac = ke - floorl(ke);
            if (fabsl(frac - 0.5L) < 1e-6L)
                continue;
            assert_int_equal(idx[e + 996], (int64_t)llroundl(ke));
        }
    }
    free(v);
    free(idx);
}

/* One cell goes by blocks, several cells value by value: each cell of a
 * two-cell state fed the same values twice over must encode as the
 * one-cell state does, for every block length and float type. */
static void check_one_cell_path(h5b_type t, const void *data, size_t n,
                                size_t width, size_t blk)
{
    struct args a = {NULL, "0.01"};
    uint64_t two = 2;
    struct h5b_op_config c1 = config(t, 1, 0, NULL, &a);
    struct h5b_op_config c2 = config(t, 2, 1, &two, &a);
    unsigned char *pair = malloc(2 * n * width);
    assert_non_null(pair);
    for (size_t i = 0; i < n; i++) {
        memcpy(pair + 2 * i * width, (const char *)data + i * width, width);
        memcpy(pair + (2 * i + 1) * width, (const char *)data + i * width,
               width);
    }
    void *s1 = create(&c1), *s2 = reduce(&c2, pair, n);
    for (size_t i = 0; i < n; i += blk)
        update(s1, (const char *)data + i * width, n - i < blk ? n - i : blk);
    size_t l1, l2;
    unsigned char *b1 = encode(s1, &l1), *b2 = encode(s2, &l2);
    size_t cell = l1 - 16;
    assert_int_equal(l2, 16 + 2 * cell);
    assert_bytes_equal(b1 + 16, b2 + 16, cell);
    assert_bytes_equal(b1 + 16, b2 + 16 + cell, cell);
    free(b1);
    free(b2);
    free(pair);
    op_quantile.destroy(s1);
    op_quantile.destroy(s2);
}

static void test_one_cell_blocks_match_value_by_value(void **state)
{
    (void)state;
    static const size_t blks[] = {1, 7, 255, 256, 257, 1000, MERGE_N};
    for (int huge = 0; huge < 2; huge++) {
        double *x = merge_data(huge);
        float *f = malloc(MERGE_N * sizeof *f);
        assert_non_null(f);
        for (size_t i = 0; i < MERGE_N; i++) {
            x[i] = i % 37 == 4 ? -0.0 : i % 41 == 6 ? 1e-301 : x[i];
            f[i] = (float)x[i];
        }
        for (size_t b = 0; b < sizeof blks / sizeof blks[0]; b++) {
            check_one_cell_path(H5B_FLOAT64, x, MERGE_N, 8, blks[b]);
            check_one_cell_path(H5B_FLOAT32, f, MERGE_N, 4, blks[b]);
        }
        free(f);
        free(x);
    }
}

/* ---- encode / decode ---------------------------------------------------- */

static void test_round_trip_is_bit_exact(void **state)
{
    (void)state;
    double *x = merge_data(1);
    uint64_t dims[1] = {3};
    struct args a = {std_q_arg, "0.01"};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 3, 1, dims, &a);
    struct capture c1, c2;
    size_t n1, n2;
    void *p = reduce(&cfg, x, MERGE_N / 3);
    unsigned char *b1 = encode(p, &n1);
    void *q = decode(&cfg, b1, n1);
    unsigned char *b2 = encode(q, &n2);
    assert_int_equal(n1, n2);
    assert_bytes_equal(b1, b2, n1);
    finalize(&cfg, p, &c1);
    finalize(&cfg, q, &c2);
    for (size_t i = 0; i < 2; i++)
        assert_bytes_equal(c1.r[i].data, c2.r[i].data,
                           c1.r[i].nvalues * sizeof(double));
    capture_free(&c1);
    capture_free(&c2);
    op_quantile.destroy(p);
    op_quantile.destroy(q);
    free(b1);
    free(b2);
    free(x);
}

/* A 2-cell state with data in both stores and its encoding. */
static unsigned char *sample_bytes(struct h5b_op_config *cfg, size_t *len)
{
    static const struct args a = {NULL, "0.05"};
    static const uint64_t dims[1] = {2};
    const double x[12] = {-3, 5, 0, 7, -20, 9, 1e3, NAN, INFINITY, 11,
                          -0.5, 13};
    *cfg = config(H5B_FLOAT64, 2, 1, dims, &a);
    void *s = reduce(cfg, x, 6);
    unsigned char *b = encode(s, len);
    op_quantile.destroy(s);
    return b;
}

/* Decode len bytes of buf (an exact heap copy) into a state holding
 * data; must fail with a message and leave that state as it was. */
static void expect_decode_fails(const struct h5b_op_config *cfg,
                                const unsigned char *buf, size_t len)
{
    struct h5b_error err = {""};
    const double x[4] = {1, -2, 3, 4};
    unsigned char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, buf, len);
    void *s = reduce(cfg, x, 2), *before = reduce(cfg, x, 2);
    if (op_quantile.decode(s, copy, len, &err) >= 0)
        fail_msg("decoding %zu bytes succeeded", len);
    assert_true(err.msg[0] != '\0');
    assert_same_state(s, before);
    op_quantile.destroy(s);
    op_quantile.destroy(before);
    free(copy);
}

static void test_decode_rejects_every_short_length(void **state)
{
    (void)state;
    struct h5b_op_config cfg;
    size_t len;
    unsigned char *buf = sample_bytes(&cfg, &len);
    for (size_t n = 0; n < len; n++)
        expect_decode_fails(&cfg, buf, n);
    unsigned char *longer = calloc(len + 1, 1);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    expect_decode_fails(&cfg, longer, len + 1);
    free(longer);
    free(buf);
}

/* Overwrite the u64 at off in a copy of buf and expect decode to fail. */
static void expect_field_rejected(const struct h5b_op_config *cfg,
                                  const unsigned char *buf, size_t len,
                                  size_t off, uint64_t v)
{
    unsigned char *b = malloc(len);
    assert_non_null(b);
    memcpy(b, buf, len);
    h5b_put_u64(b + off, v);
    expect_decode_fails(cfg, b, len);
    free(b);
}

/* Layout (see op_quantile.c): 16-byte header; per cell 48 bytes (n, zero,
 * ninf, pinf, min, max), then per store lo, bins and the counters. */
static void test_decode_rejects_corrupt_fields(void **state)
{
    (void)state;
    struct h5b_op_config cfg;
    size_t len;
    unsigned char *buf = sample_bytes(&cfg, &len);
    size_t cell = 16, neg = cell + 48, nbins = h5b_get_u64(buf + neg + 8);
    size_t pos = neg + 16 + 8 * nbins;
    double other = 0.01;
    uint64_t acc;
    memcpy(&acc, &other, sizeof acc);
    assert_true(nbins > 0 && h5b_get_u64(buf + pos + 8) > 0);
    expect_field_rejected(&cfg, buf, len, 0, 3);            /* ncell */
    expect_field_rejected(&cfg, buf, len, 8, acc);          /* accuracy */
    expect_field_rejected(&cfg, buf, len, cell, 99);        /* n */
    expect_field_rejected(&cfg, buf, len, cell + 8, 1000);  /* zero */
    expect_field_rejected(&cfg, buf, len, cell + 24, UINT64_MAX);
    expect_field_rejected(&cfg, buf, len, cell + 32, 0x7ff8000000000000ull);
    expect_field_rejected(&cfg, buf, len, neg, (uint64_t)INT64_MIN);
    expect_field_rejected(&cfg, buf, len, neg, (uint64_t)INT64_MAX);
    expect_field_rejected(&cfg, buf, len, neg, 1u << 30);   /* lo range */
    expect_field_rejected(&cfg, buf, len, neg + 8, nbins + 1);
    expect_field_rejected(&cfg, buf, len, neg + 8, MAX_BINS + 1);
    expect_field_rejected(&cfg, buf, len, neg + 8, UINT64_MAX);
    expect_field_rejected(&cfg, buf, len, neg + 8, UINT64_MAX / 8 + 1);
    expect_field_rejected(&cfg, buf, len, neg + 16, 0);     /* end bucket */
    expect_field_rejected(&cfg, buf, len, neg + 16, UINT64_MAX);
    expect_field_rejected(&cfg, buf, len, pos + 8, 0);      /* bins 0 */
    /* A zero end bucket, with n lowered to match: counts add up, but the
     * window is not canonical. */
    uint64_t c0 = h5b_get_u64(buf + neg + 16), n0 = h5b_get_u64(buf + cell);
    h5b_put_u64(buf + cell, n0 - c0);
    expect_field_rejected(&cfg, buf, len, neg + 16, 0);
    free(buf);
}

/* Flipping any byte must never make decode read out of bounds; when the
 * result still decodes, finalize must run. */
static void test_decode_survives_every_flipped_byte(void **state)
{
    (void)state;
    struct h5b_op_config cfg;
    size_t len;
    unsigned char *buf = sample_bytes(&cfg, &len);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            struct h5b_error err = {""};
            struct capture cap;
            unsigned char *b = malloc(len);
            assert_non_null(b);
            memcpy(b, buf, len);
            b[i] ^= (unsigned char)(1u << bit);
            void *s = create(&cfg);
            if (op_quantile.decode(s, b, len, &err) == 0) {
                finalize(&cfg, s, &cap);
                capture_free(&cap);
            }
            op_quantile.destroy(s);
            free(b);
        }
    }
    free(buf);
}

static void test_encode_rejects_wrong_length(void **state)
{
    (void)state;
    struct args a = {NULL, NULL};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    struct h5b_error err = {""};
    const double x[3] = {1, 2, 3};
    unsigned char buf[4096];
    void *s = reduce(&cfg, x, 3);
    size_t need = op_quantile.encoded_size(s);
    assert_true(need < sizeof buf);
    assert_true(op_quantile.encode(s, buf, need - 1, &err) < 0);
    assert_true(op_quantile.encode(s, buf, need + 1, &err) < 0);
    op_quantile.destroy(s);
}

/* ---- bounded memory ----------------------------------------------------- */

/* 10^6 values log-uniform over 1e-200..1e200: the window collapses, the
 * encoding stays within one full store, and the top quantiles -- within
 * 1e12 of the max, and 2048 buckets span at least gamma^(25/26 * 2047)
 * ~ 1.2e17 -- keep their accuracy. */
static void test_memory_bound_huge_range(void **state)
{
    (void)state;
    enum { N = 1000000 };
    double *x = doubles(LOG_UNIFORM_HUGE, N, 16);
    static const double q[] = {0, 0.97, 0.99, 0.999, 1};
    struct args a = {"0 0.97 0.99 0.999 1", "0.01"};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    struct capture cap;
    size_t len;
    void *s = reduce(&cfg, x, N);
    unsigned char *b = encode(s, &len);
    assert_int_equal(len, 16 + 48 + 2 * 16 + 8 * MAX_BINS);
    finalize(&cfg, s, &cap);
    struct ref r = reference(H5B_FLOAT64, x, N, 1, 0);
    check_cell(&cap, &r, 0, q, 5, 0.01);
    free(r.v);
    capture_free(&cap);
    free(b);
    op_quantile.destroy(s);
    /* Both signs, three cells: never more than two full stores a cell. */
    uint64_t dims[1] = {3};
    cfg = config(H5B_FLOAT64, 3, 1, dims, &a);
    for (size_t i = 0; i < N; i += 2)
        x[i] = -x[i];
    s = reduce(&cfg, x, N / 3);
    assert_true(op_quantile.encoded_size(s) <=
                16 + 3 * (48 + 2 * 16 + 2 * 8 * MAX_BINS));
    op_quantile.destroy(s);
    free(x);
}

/* With the default accuracy 17 decades (1e-8..1e9) of each sign fit in
 * the buckets: no quantile loses accuracy. */
static void test_no_collapse_over_17_decades(void **state)
{
    (void)state;
    enum { N = 20000 };
    uint64_t seed = 17;
    double *x = malloc(N * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < N; i++)
        x[i] = (i % 2 ? -1 : 1) * pow(10, -8 + 17 * uniform(&seed));
    check_scalar(H5B_FLOAT64, x, N, "0.01");
    free(x);
}

/* ---- arguments ---------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    struct args a = {NULL, NULL};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    struct h5b_op_config bare = cfg;
    const double x[2] = {1, 2};
    struct capture cap;
    size_t len;
    bare.arg = NULL;
    void *s = reduce(&cfg, x, 2), *t = create(&bare);
    finalize(&cfg, s, &cap);
    const struct result *p = get(&cap, "quantiles/probabilities");
    assert_int_equal(p->dims[0], 3);
    assert_close(p->data[0], 0.01, 0);
    assert_close(p->data[1], 0.5, 0);
    assert_close(p->data[2], 0.99, 0);
    unsigned char *b = encode(s, &len);
    assert_close(h5b_get_f64(b + 8), 0.01, 0);      /* accuracy field */
    capture_free(&cap);
    free(b);
    op_quantile.destroy(s);
    op_quantile.destroy(t);
}

/* Probabilities stay in the order given, duplicates and all. */
static void test_unsorted_probabilities_keep_their_order(void **state)
{
    (void)state;
    static const double q[] = {0.9, 0.1, 0.5, 0.1, 1, 0};
    struct args a = {" 0.9,0.1\t0.5 , 0.1,1,0 ", "0.02"};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    double *x = doubles(MIXED_SIGN, 3000, 18);
    struct capture cap;
    void *s = reduce(&cfg, x, 3000);
    finalize(&cfg, s, &cap);
    for (size_t k = 0; k < 6; k++)
        assert_close(get(&cap, "quantiles/probabilities")->data[k], q[k], 0);
    struct ref r = reference(H5B_FLOAT64, x, 3000, 1, 0);
    check_cell(&cap, &r, 0, q, 6, 0.02);
    free(r.v);
    capture_free(&cap);
    op_quantile.destroy(s);
    free(x);
}

static void test_64_probabilities_accepted(void **state)
{
    (void)state;
    char list[2048] = "";
    double q[64];
    for (int k = 0; k < 64; k++) {
        q[k] = k / 63.0;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%.17g ",
                 q[k]);
    }
    struct args a = {list, NULL};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    double *x = doubles(LOGNORMAL, 1000, 19);
    struct capture cap;
    void *s = reduce(&cfg, x, 1000);
    finalize(&cfg, s, &cap);
    struct ref r = reference(H5B_FLOAT64, x, 1000, 1, 0);
    check_cell(&cap, &r, 0, q, 64, 0.01);
    free(r.v);
    capture_free(&cap);
    op_quantile.destroy(s);
    free(x);
}

/* create() with these arguments must fail naming `key`. */
static void expect_create_fails(const char *quantiles, const char *accuracy,
                                const char *key)
{
    struct args a = {quantiles, accuracy};
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, 0, NULL, &a);
    struct h5b_error err = {""};
    void *s = (void *)&err;
    if (op_quantile.create(&cfg, &s, &err) >= 0)
        fail_msg("create with quantiles '%s', accuracy '%s' succeeded",
                 quantiles ? quantiles : "(none)",
                 accuracy ? accuracy : "(none)");
    assert_null(s);
    assert_contains(err.msg, key);
}

static void test_bad_quantiles_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {"1.5", "-0.1", "abc", "0.5x", "",
                                      " , ,", "nan", "inf", "0.5;0.6",
                                      "1.0000001", "0.5 2"};
    char many[1024] = "";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_create_fails(bad[i], NULL, "quantiles");
    for (int k = 0; k < 65; k++)
        strcat(many, "0.5 ");
    expect_create_fails(many, NULL, "quantiles");
}

static void test_bad_accuracy_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {"0", "0.5", "0.6", "-0.01", "x", "",
                                      "1e-7", "nan", "0.01x", "inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_create_fails(NULL, bad[i], "quantile_accuracy");
}

static void test_rank_32_cells_rejected(void **state)
{
    (void)state;
    uint64_t dims[H5B_MAX_RANK];
    struct args a = {NULL, NULL};
    struct h5b_error err = {""};
    void *s = NULL;
    for (int d = 0; d < H5B_MAX_RANK; d++)
        dims[d] = 1;
    struct h5b_op_config cfg = config(H5B_FLOAT64, 1, H5B_MAX_RANK, dims,
                                      &a);
    assert_true(op_quantile.create(&cfg, &s, &err) < 0);
    assert_null(s);
    assert_contains(err.msg, "rank");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_lognormal),
        cmocka_unit_test(test_mixed_sign),
        cmocka_unit_test(test_with_zeros),
        cmocka_unit_test(test_all_negative),
        cmocka_unit_test(test_float32),
        cmocka_unit_test(test_integers_of_every_type),
        cmocka_unit_test(test_int64_near_2_62),
        cmocka_unit_test(test_ranks_match_numpy),
        cmocka_unit_test(test_bucket_boundaries_keep_the_bound),
        cmocka_unit_test(test_nan_skipped),
        cmocka_unit_test(test_empty_is_nan),
        cmocka_unit_test(test_infinities_counted_at_the_ends),
        cmocka_unit_test(test_tiny_values_count_as_zero),
        cmocka_unit_test(test_negative_zero_same_bytes),
        cmocka_unit_test(test_scalar_output_shapes),
        cmocka_unit_test(test_three_cells_rank1),
        cmocka_unit_test(test_rank2_cells_int16),
        cmocka_unit_test(test_merge_any_split_any_order_same_bytes),
        cmocka_unit_test(test_merge_collapsed_any_order_same_bytes),
        cmocka_unit_test(test_one_cut_at_every_position),
        cmocka_unit_test(test_small_blocks_same_bytes),
        cmocka_unit_test(test_empty_merge_is_identity),
        cmocka_unit_test(test_merge_rejects_other_sketches),
        cmocka_unit_test(test_mapping_monotone_and_within_a),
        cmocka_unit_test(test_powers_of_two_in_closed_form_buckets),
        cmocka_unit_test(test_one_cell_blocks_match_value_by_value),
        cmocka_unit_test(test_round_trip_is_bit_exact),
        cmocka_unit_test(test_decode_rejects_every_short_length),
        cmocka_unit_test(test_decode_rejects_corrupt_fields),
        cmocka_unit_test(test_decode_survives_every_flipped_byte),
        cmocka_unit_test(test_encode_rejects_wrong_length),
        cmocka_unit_test(test_memory_bound_huge_range),
        cmocka_unit_test(test_no_collapse_over_17_decades),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_unsorted_probabilities_keep_their_order),
        cmocka_unit_test(test_64_probabilities_accepted),
        cmocka_unit_test(test_bad_quantiles_rejected),
        cmocka_unit_test(test_bad_accuracy_rejected),
        cmocka_unit_test(test_rank_32_cells_rejected),
    };
    unit_slow("test_mapping_monotone_and_within_a");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
