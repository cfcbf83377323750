/* test_op_moments.c -- unit tests of the moments operator through the
 * opset API (opset_init/reduce/merge/encode/decode/finalize).
 *
 * Every expected value comes from an independent computation here: a
 * straightforward two-pass mean and variance in long double over the very
 * values handed to the operator, and exact min, max and counts.  A sink
 * captures what finalize writes.  The merge tests replay what rank 0 does:
 * reduce each piece, ship it through encode/decode, merge in order into an
 * empty accumulator.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "err.h"
#include "op.h"

#define MAX_RESULTS 16

static const char *const all_ops[] = {"count", "sum", "mean", "var", "std",
                                      "min", "max", NULL};

/* ---- capturing sink ----------------------------------------------------- */

struct result {
    char name[32];
    h5b_type type;
    int rank;
    uint64_t dims[H5B_MAX_RANK];
    uint64_t nvalues;
    void *data;
};

struct capture {
    size_t n;
    struct result r[MAX_RESULTS];
    int cell_rank;                  /* shape put_cells() prefixes */
    uint64_t cell_dims[H5B_MAX_RANK];
};

static int capture_put(void *ctx, const char *name, h5b_type type, int rank,
                       const uint64_t *dims, const void *data,
                       struct h5b_error *err)
{
    struct capture *cap = ctx;
    (void)err;
    assert_true(cap->n < MAX_RESULTS);
    assert_true(rank >= 0 && rank <= H5B_MAX_RANK);
    struct result *r = &cap->r[cap->n++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->type = type;
    r->rank = rank;
    r->nvalues = 1;
    for (int d = 0; d < rank; d++) {
        r->dims[d] = dims[d];
        r->nvalues *= dims[d];
    }
    size_t bytes = (size_t)r->nvalues * h5b_type_size(type);
    r->data = malloc(bytes ? bytes : 1);
    assert_non_null(r->data);
    memcpy(r->data, data, bytes);
    return 0;
}

/* put_cells(): the cell shape of the config, then the extra dims. */
static int capture_put_cells(void *ctx, const char *name, h5b_type type,
                             int extra_rank, const uint64_t *extra_dims,
                             const void *data, struct h5b_error *err)
{
    struct capture *cap = ctx;
    uint64_t dims[H5B_MAX_RANK];
    int rank = cap->cell_rank + extra_rank;
    assert_true(extra_rank >= 0 && rank <= H5B_MAX_RANK);
    memcpy(dims, cap->cell_dims, (size_t)cap->cell_rank * sizeof *dims);
    for (int d = 0; d < extra_rank; d++)
        dims[cap->cell_rank + d] = extra_dims[d];
    return capture_put(ctx, name, type, rank, dims, data, err);
}

static void capture_free(struct capture *cap)
{
    for (size_t i = 0; i < cap->n; i++)
        free(cap->r[i].data);
    cap->n = 0;
}

static const struct result *find(const struct capture *cap, const char *name)
{
    for (size_t i = 0; i < cap->n; i++)
        if (strcmp(cap->r[i].name, name) == 0)
            return &cap->r[i];
    return NULL;
}

static const struct result *get(const struct capture *cap, const char *name)
{
    const struct result *r = find(cap, name);
    if (!r)
        fail_msg("finalize wrote no '%s'", name);
    return r;
}

/* Value i of n values of type t at d, widened without loss. */
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

static long double value(const struct result *r, uint64_t j)
{
    assert_true(j < r->nvalues);
    return elem(r->type, r->data, j);
}

/* ---- configuration ------------------------------------------------------ */

/* cfg.arg: arg_ctx is the ddof string (or NULL). */
static const char *ddof_arg(const struct h5b_op_config *cfg, const char *key)
{
    return strcmp(key, "ddof") == 0 ? cfg->arg_ctx : NULL;
}

static void init_set(struct opset *set, h5b_type t, uint64_t ncell, int rank,
                     const uint64_t *dims, const char *ddof,
                     const char *const *outputs)
{
    struct h5b_op_config shape = {.type = t, .ncell = ncell,
                                  .cell_rank = rank, .arg = ddof_arg,
                                  .arg_ctx = ddof};
    struct h5b_error err = {""};
    for (int d = 0; d < rank; d++)
        shape.cell_dims[d] = dims[d];
    if (opset_init(set, &shape, outputs, &err) != 0)
        fail_msg("opset_init: %s", err.msg);
}

static void init_scalar(struct opset *set, h5b_type t, const char *ddof)
{
    init_set(set, t, 1, 0, NULL, ddof, all_ops);
}

static void reduce(const struct opset *set, const void *data, size_t nbytes,
                   struct partial *p)
{
    struct h5b_error err = {""};
    if (opset_reduce(set, data, nbytes, 0, p, &err) != 0)
        fail_msg("opset_reduce: %s", err.msg);
}

static void finalize(const struct opset *set, const struct partial *p,
                     struct capture *cap)
{
    struct h5b_error err = {""};
    struct h5b_sink sink = {cap, capture_put_cells, capture_put};
    memset(cap, 0, sizeof *cap);
    cap->cell_rank = set->cfg.cell_rank;
    memcpy(cap->cell_dims, set->cfg.cell_dims, sizeof cap->cell_dims);
    if (opset_finalize(set, p, &sink, &err) != 0)
        fail_msg("opset_finalize: %s", err.msg);
}

/* Reduce nbytes of data in one piece and finalize into cap. */
static void run(const struct opset *set, const void *data, size_t nbytes,
                struct capture *cap)
{
    struct partial p;
    reduce(set, data, nbytes, &p);
    finalize(set, &p, cap);
    opset_destroy(set, &p);
}

/* ---- independent reference ---------------------------------------------- */

struct ref {
    uint64_t n, nan;
    long double sum, abs_sum, mean, var0, var1, min, max;
};

/* Two-pass statistics in long double of cell `cell` of nrec records of
 * ncell values of type t, NaNs skipped. */
static struct ref reference(h5b_type t, const void *data, uint64_t nrec,
                            uint64_t ncell, uint64_t cell)
{
    struct ref r = {.min = INFINITY, .max = -INFINITY};
    long double ss = 0;
    for (uint64_t i = 0; i < nrec; i++) {
        long double x = elem(t, data, i * ncell + cell);
        if (isnan(x)) {
            r.nan++;
            continue;
        }
        r.n++;
        r.sum += x;
        r.abs_sum += fabsl(x);
        r.min = x < r.min ? x : r.min;
        r.max = x > r.max ? x : r.max;
    }
    r.mean = r.n ? r.sum / r.n : NAN;
    for (uint64_t i = 0; i < nrec; i++) {
        long double x = elem(t, data, i * ncell + cell);
        if (!isnan(x))
            ss += (x - r.mean) * (x - r.mean);
    }
    r.var0 = r.n > 0 ? ss / r.n : NAN;
    r.var1 = r.n > 1 ? ss / (r.n - 1) : NAN;
    return r;
}

static int is_float(h5b_type t)
{
    return t == H5B_FLOAT32 || t == H5B_FLOAT64;
}

/* Results of cell j against r: counts, min and max exact; sum and mean
 * within tol of the sum of magnitudes; var and std within tol relative. */
static void check_cell(const struct capture *cap, h5b_type t, uint64_t j,
                       const struct ref *r, int ddof, double tol)
{
    long double var = ddof ? r->var1 : r->var0;
    assert_int_equal(value(get(cap, "count"), j), r->n);
    if (is_float(t))
        assert_int_equal(value(get(cap, "nan_count"), j), r->nan);
    else
        assert_null(find(cap, "nan_count"));
    assert_close_scaled(value(get(cap, "sum"), j), r->sum, tol, r->abs_sum);
    assert_close_scaled(value(get(cap, "mean"), j), r->mean, tol,
                        r->abs_sum / r->n);
    assert_close(value(get(cap, "var"), j), var, tol);
    assert_close(value(get(cap, "std"), j), sqrtl(var), tol);
    assert_int_equal(get(cap, "min")->type, t);
    assert_int_equal(get(cap, "max")->type, t);
    assert_close(value(get(cap, "min"), j), r->min, 0);
    assert_close(value(get(cap, "max"), j), r->max, 0);
}

/* Every result must have the shape rank/dims. */
static void check_shapes(const struct capture *cap, int rank,
                         const uint64_t *dims)
{
    for (size_t i = 0; i < cap->n; i++) {
        assert_int_equal(cap->r[i].rank, rank);
        for (int d = 0; d < rank; d++)
            assert_int_equal(cap->r[i].dims[d], dims[d]);
    }
}

/* ---- deterministic data of every type ----------------------------------- */

struct type_info {
    h5b_type t;
    long double lo, hi;
};

static const struct type_info types[] = {
    {H5B_INT8, INT8_MIN, INT8_MAX},
    {H5B_UINT8, 0, UINT8_MAX},
    {H5B_INT16, INT16_MIN, INT16_MAX},
    {H5B_UINT16, 0, UINT16_MAX},
    {H5B_INT32, INT32_MIN, INT32_MAX},
    {H5B_UINT32, 0, UINT32_MAX},
    {H5B_INT64, INT64_MIN, INT64_MAX},
    {H5B_UINT64, 0, UINT64_MAX},
    {H5B_FLOAT32, -1000, 3000},
    {H5B_FLOAT64, -1000, 3000},
};

static const struct type_info *info(h5b_type t)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].t == t)
            return &types[i];
    fail_msg("no type %d", (int)t);
    return NULL;
}

/* Store v, clamped to [lo, hi] and truncated for integers, as value i. */
static void set_elem(const struct type_info *ti, void *d, size_t i,
                     long double v)
{
    v = v < ti->lo ? ti->lo : v > ti->hi ? ti->hi : v;
    switch (ti->t) {
    case H5B_INT8: ((int8_t *)d)[i] = (int8_t)v; break;
    case H5B_UINT8: ((uint8_t *)d)[i] = (uint8_t)v; break;
    case H5B_INT16: ((int16_t *)d)[i] = (int16_t)v; break;
    case H5B_UINT16: ((uint16_t *)d)[i] = (uint16_t)v; break;
    case H5B_INT32: ((int32_t *)d)[i] = (int32_t)v; break;
    case H5B_UINT32: ((uint32_t *)d)[i] = (uint32_t)v; break;
    case H5B_INT64: ((int64_t *)d)[i] = (int64_t)v; break;
    case H5B_UINT64: ((uint64_t *)d)[i] = (uint64_t)v; break;
    case H5B_FLOAT32: ((float *)d)[i] = (float)v; break;
    case H5B_FLOAT64: ((double *)d)[i] = (double)v; break;
    }
}

/* n values spread over the type's range (a multiplicative hash picks the
 * fraction), with the range's ends at 700 and 1300 when n allows. */
static void *make_data(const struct type_info *ti, size_t n)
{
    void *d = malloc(n * h5b_type_size(ti->t));
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) {
        long double frac = (long double)((i * 2654435761u) % 10007) / 10006;
        set_elem(ti, d, i, ti->lo + (ti->hi - ti->lo) * frac);
    }
    if (n > 1300) {
        set_elem(ti, d, 700, ti->lo);
        set_elem(ti, d, 1300, ti->hi);
    }
    return d;
}

/* Reduce nrec records of ncell values of type t with ddof and compare
 * every cell with the reference. */
static void check_type(h5b_type t, uint64_t nrec, uint64_t ncell, int ddof)
{
    const struct type_info *ti = info(t);
    void *data = make_data(ti, nrec * ncell);
    struct opset set;
    struct capture cap;
    uint64_t dims[1] = {ncell};
    init_set(&set, t, ncell, ncell > 1, dims, ddof ? "1" : "0", all_ops);
    run(&set, data, nrec * ncell * h5b_type_size(t), &cap);
    for (uint64_t j = 0; j < ncell; j++) {
        struct ref r = reference(t, data, nrec, ncell, j);
        check_cell(&cap, t, j, &r, ddof, 1e-13);
    }
    check_shapes(&cap, ncell > 1, dims);
    capture_free(&cap);
    free(data);
}

/* 1500 values span three 512-value blocks; ddof 0 and 1. */
static void check_type_1d(h5b_type t)
{
    check_type(t, 1500, 1, 0);
    check_type(t, 1500, 1, 1);
}

static void test_int8_matches_reference(void **state)
{
    (void)state;
    check_type_1d(H5B_INT8);
}

static void test_uint8_matches_reference(void **state)
{
    (void)state;
    check_type_1d(H5B_UINT8);
}

static void test_int16_matches_reference(void **state)
{
    (void)state;
    check_type_1d(H5B_INT16);
}

static void test_uint16_matches_reference(void **state)
{
    (void)state;
    check_type_1d(H5B_UINT16);
}

static void test_int32_matches_reference(void **state)
{
    (void)state;
    check_type_1d(H5B_INT32);
}

static void test_uint32_matches_reference(void **state)
{
    (void)state;
    check_type_1d(H5B_UINT32);
}

static void test_int64_matches_reference(void **state)
{
    (void)state;
    check_type_1d(H5B_INT64);
}

static void test_uint64_matches_reference(void **state)
{
    (void)state;
    check_type_1d(H5B_UINT64);
}

static void test_float32_matches_reference(void **state)
{
    (void)state;
    check_type_1d(H5B_FLOAT32);
}

static void test_float64_matches_reference(void **state)
{
    (void)state;
    check_type_1d(H5B_FLOAT64);
}

static void test_every_type_three_cells(void **state)
{
    (void)state;
    /* 3000 records of 3 cells: more than one 1365-record block. */
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        check_type(types[i].t, 3000, 3, 0);
        check_type(types[i].t, 3000, 3, 1);
    }
}

/* ---- NaN ---------------------------------------------------------------- */

/* n float64 values around 500 with NaN in the first 600, every 7th from 3
 * and the last. */
static double *nan_data(size_t n)
{
    double *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = i < 600 || i % 7 == 3 || i == n - 1
                   ? NAN : 500.0 + (double)((i * 7919) % 1009) / 8;
    return x;
}

static void test_float64_nan_skipped_and_counted(void **state)
{
    (void)state;
    double *x = nan_data(2000);
    struct opset set;
    struct capture cap;
    init_scalar(&set, H5B_FLOAT64, "1");
    run(&set, x, 2000 * sizeof *x, &cap);
    struct ref r = reference(H5B_FLOAT64, x, 2000, 1, 0);
    assert_true(r.nan > 600);
    check_cell(&cap, H5B_FLOAT64, 0, &r, 1, 1e-13);
    capture_free(&cap);
    free(x);
}

static void test_float32_nan_skipped_and_counted(void **state)
{
    (void)state;
    double *x = nan_data(2000);
    float *f = malloc(2000 * sizeof *f);
    struct opset set;
    struct capture cap;
    assert_non_null(f);
    for (size_t i = 0; i < 2000; i++)
        f[i] = (float)x[i];
    init_scalar(&set, H5B_FLOAT32, "0");
    run(&set, f, 2000 * sizeof *f, &cap);
    struct ref r = reference(H5B_FLOAT32, f, 2000, 1, 0);
    check_cell(&cap, H5B_FLOAT32, 0, &r, 0, 1e-13);
    capture_free(&cap);
    free(f);
    free(x);
}

/* The float kernels run sixteen lanes plus a scalar tail: every length up
 * to three rounds of lanes and a tail (from 3 values), with a NaN, the
 * minimum and the maximum moved through every position, must match the
 * reference. */
static void check_lanes(h5b_type t)
{
    enum { N = 63 };
    for (size_t n = 3; n <= N; n++)
        for (size_t k = 0; k < n; k++) {
            double x[N];
            float f[N];
            struct opset set;
            struct capture cap;
            for (size_t i = 0; i < n; i++)
                x[i] = 10.0 + (double)((i * 7919) % 101) / 16;
            x[k] = NAN;
            x[(k + 1) % n] = -3.0;
            x[(k + 2) % n] = 99.0;
            for (size_t i = 0; i < n; i++)
                f[i] = (float)x[i];
            void *d = t == H5B_FLOAT64 ? (void *)x : (void *)f;
            init_scalar(&set, t, "0");
            run(&set, d, n * h5b_type_size(t), &cap);
            struct ref r = reference(t, d, n, 1, 0);
            check_cell(&cap, t, 0, &r, 0, 1e-13);
            capture_free(&cap);
        }
}

static void test_float64_lanes_and_tail(void **state)
{
    (void)state;
    check_lanes(H5B_FLOAT64);
}

static void test_float32_lanes_and_tail(void **state)
{
    (void)state;
    check_lanes(H5B_FLOAT32);
}

static void test_all_nan_is_an_empty_cell(void **state)
{
    (void)state;
    float f[1000];
    struct opset set;
    struct capture cap;
    for (size_t i = 0; i < 1000; i++)
        f[i] = NAN;
    init_scalar(&set, H5B_FLOAT32, "0");
    run(&set, f, sizeof f, &cap);
    assert_int_equal(value(get(&cap, "count"), 0), 0);
    assert_int_equal(value(get(&cap, "nan_count"), 0), 1000);
    assert_close(value(get(&cap, "sum"), 0), 0, 0);
    assert_is_nan(value(get(&cap, "mean"), 0));
    assert_is_nan(value(get(&cap, "var"), 0));
    assert_int_equal(get(&cap, "min")->type, H5B_FLOAT32);
    assert_is_nan(value(get(&cap, "min"), 0));
    assert_is_nan(value(get(&cap, "max"), 0));
    capture_free(&cap);
}

static void test_nan_in_one_cell_only(void **state)
{
    (void)state;
    /* 3 cells: cell 1 is all NaN, cell 2 NaN every other record. */
    double x[900 * 3];
    struct opset set;
    struct capture cap;
    uint64_t dims[1] = {3};
    for (size_t i = 0; i < 900; i++) {
        x[3 * i] = (double)(i % 17) - 8;
        x[3 * i + 1] = NAN;
        x[3 * i + 2] = i % 2 ? NAN : 1e6 + (double)i;
    }
    init_set(&set, H5B_FLOAT64, 3, 1, dims, "0", all_ops);
    run(&set, x, sizeof x, &cap);
    for (uint64_t j = 0; j < 3; j++) {
        struct ref r = reference(H5B_FLOAT64, x, 900, 3, j);
        if (j == 1) {
            assert_int_equal(value(get(&cap, "count"), 1), 0);
            assert_int_equal(value(get(&cap, "nan_count"), 1), 900);
            assert_is_nan(value(get(&cap, "mean"), 1));
            assert_is_nan(value(get(&cap, "min"), 1));
        } else {
            check_cell(&cap, H5B_FLOAT64, j, &r, 0, 1e-13);
        }
    }
    capture_free(&cap);
}

/* Float data of many cells goes eight cells at a time: every cell of
 * ncell, for counts that leave 0 to 7 cells in a last group, matches the
 * reference; cells differ in scale, sign and NaN pattern (cell 1 is all
 * NaN), over more records than one block holds. */
static void check_many_cells(h5b_type t, uint64_t ncell)
{
    enum { NREC = 1500 };
    size_t w = t == H5B_FLOAT64 ? 8 : 4;
    unsigned char *data = malloc(NREC * ncell * w);
    struct opset set;
    struct capture cap;
    uint64_t dims[1] = {ncell};
    assert_non_null(data);
    for (uint64_t i = 0; i < NREC; i++)
        for (uint64_t j = 0; j < ncell; j++) {
            double v = (double)((i * 7919 + j * 104729) % 1009) / 8 - 60;
            v = j == 1 || (i + j) % (j + 2) == 0 ? NAN
                : j % 3 == 0 ? 1e6 + v : j % 3 == 1 ? -v : v * 1e-3;
            v = i == j && j != 1 ? -0.0 : v;
            if (t == H5B_FLOAT64)
                memcpy(data + (i * ncell + j) * w, &v, w);
            else {
                float f = (float)v;
                memcpy(data + (i * ncell + j) * w, &f, w);
            }
        }
    init_set(&set, t, ncell, 1, dims, "0", all_ops);
    run(&set, data, NREC * ncell * w, &cap);
    for (uint64_t j = 0; j < ncell; j++) {
        struct ref r = reference(t, data, NREC, ncell, j);
        if (j == 1) {
            assert_int_equal(value(get(&cap, "count"), 1), 0);
            assert_int_equal(value(get(&cap, "nan_count"), 1), NREC);
        } else {
            check_cell(&cap, t, j, &r, 0, t == H5B_FLOAT64 ? 1e-13 : 1e-6);
        }
    }
    capture_free(&cap);
    free(data);
}

static void test_many_cells_by_eight(void **state)
{
    (void)state;
    static const uint64_t counts[] = {2, 7, 8, 9, 13, 16, 17, 24};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        check_many_cells(H5B_FLOAT64, counts[i]);
        check_many_cells(H5B_FLOAT32, counts[i]);
    }
}

/* ---- 1e9 + noise -------------------------------------------------------- */

#define HARD_N 1000000

/* 1e9 plus deterministic deviations in [-0.5, 0.5): a variance of about
 * 1/12 under a mean whose square is 1e18. */
static double *hard_data(void)
{
    double *x = malloc(HARD_N * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < HARD_N; i++)
        x[i] = 1e9 + (double)((i * 7919) % 100003) / 100003.0 - 0.5;
    return x;
}

static void test_1e9_plus_noise_var_is_exact(void **state)
{
    (void)state;
    double *x = hard_data();
    struct opset set;
    struct capture cap;
    init_scalar(&set, H5B_FLOAT64, "0");
    run(&set, x, HARD_N * sizeof *x, &cap);
    struct ref r = reference(H5B_FLOAT64, x, HARD_N, 1, 0);
    assert_close(value(get(&cap, "var"), 0), r.var0, 1e-12);
    assert_close(value(get(&cap, "std"), 0), sqrtl(r.var0), 1e-12);
    assert_close(value(get(&cap, "mean"), 0), r.mean, 1e-15);
    assert_close(value(get(&cap, "sum"), 0), r.sum, 1e-15);
    capture_free(&cap);
    free(x);
}

static void test_1e9_plus_noise_sum_within_one_ulp(void **state)
{
    (void)state;
    /* Every value is a multiple of 2^-23 (1e9 lies in [2^29, 2^30)) and
     * x - 1e9 is exact, so the deviations summed in units of 2^-23 as an
     * integer give the exact sum: no accumulation error in the reference. */
    double *x = hard_data();
    struct opset set;
    struct capture cap;
    int64_t units = 0;
    for (size_t i = 0; i < HARD_N; i++)
        units += (int64_t)ldexp(x[i] - 1e9, 23);
    long double exact = (long double)HARD_N * 1e9L + ldexpl(units, -23);
    double ulp = nextafter((double)exact, INFINITY) - (double)exact;
    init_scalar(&set, H5B_FLOAT64, "0");
    run(&set, x, HARD_N * sizeof *x, &cap);
    assert_close_scaled(value(get(&cap, "sum"), 0), exact, 1.0, ulp);
    capture_free(&cap);
    free(x);
}

static void test_1e9_plus_noise_var_ddof1(void **state)
{
    (void)state;
    double *x = hard_data();
    struct opset set;
    struct capture cap;
    init_scalar(&set, H5B_FLOAT64, "1");
    run(&set, x, HARD_N * sizeof *x, &cap);
    struct ref r = reference(H5B_FLOAT64, x, HARD_N, 1, 0);
    assert_close(value(get(&cap, "var"), 0), r.var1, 1e-12);
    capture_free(&cap);
    free(x);
}

static void test_1e9_plus_noise_defeats_naive_formula(void **state)
{
    (void)state;
    /* Sanity check of the data, not of h5batch: E[x^2] - E[x]^2 in double
     * loses every digit of the variance. */
    double *x = hard_data(), s = 0, q = 0;
    for (size_t i = 0; i < HARD_N; i++) {
        s += x[i];
        q += x[i] * x[i];
    }
    double naive = (q - s * s / HARD_N) / HARD_N;
    struct ref r = reference(H5B_FLOAT64, x, HARD_N, 1, 0);
    long double relerr = fabsl(naive - r.var0) / r.var0;
    print_message("naive var %.6g vs %.6Lg: relative error %.3Lg\n", naive,
                  r.var0, relerr);
    assert_true(relerr > 1e-3);
    free(x);
}

/* ---- infinities --------------------------------------------------------- */

/* Sum and mean of data holding +Inf (and no -Inf) are +Inf, wherever the
 * Inf is; the variance is NaN (Inf - Inf). */
static void check_plus_inf(const double *x, size_t n)
{
    struct opset set;
    struct capture cap;
    init_scalar(&set, H5B_FLOAT64, "0");
    run(&set, x, n * sizeof *x, &cap);
    long double max = value(get(&cap, "max"), 0);
    long double sum = value(get(&cap, "sum"), 0);
    long double mean = value(get(&cap, "mean"), 0);
    long double var = value(get(&cap, "var"), 0);
    capture_free(&cap);
    assert_close(max, INFINITY, 0);
    assert_close(sum, INFINITY, 0);
    assert_close(mean, INFINITY, 0);
    assert_is_nan(var);
}

static void test_inf_last_gives_inf_sum_and_mean(void **state)
{
    (void)state;
    const double x[] = {1.0, 2.0, INFINITY};
    check_plus_inf(x, 3);
}

static void test_inf_first_gives_inf_sum_and_mean(void **state)
{
    (void)state;
    const double x[] = {INFINITY, 1.0, 2.0};
    check_plus_inf(x, 3);
}

/* ---- integers beyond 2^53 ----------------------------------------------- */

static void test_int64_near_max_exact(void **state)
{
    (void)state;
    const int64_t x[] = {INT64_MAX - 1, INT64_MAX, INT64_MAX - 3,
                         INT64_MAX - 2};
    struct opset set;
    struct capture cap;
    init_scalar(&set, H5B_INT64, "0");
    run(&set, x, sizeof x, &cap);
    assert_int_equal(get(&cap, "max")->type, H5B_INT64);
    assert_int_equal(((int64_t *)get(&cap, "max")->data)[0], INT64_MAX);
    assert_int_equal(((int64_t *)get(&cap, "min")->data)[0], INT64_MAX - 3);
    assert_int_equal(value(get(&cap, "count"), 0), 4);
    capture_free(&cap);
}

static void test_int64_near_min_exact(void **state)
{
    (void)state;
    const int64_t x[] = {INT64_MIN + 2, INT64_MIN, INT64_MIN + 1};
    struct opset set;
    struct capture cap;
    init_scalar(&set, H5B_INT64, "0");
    run(&set, x, sizeof x, &cap);
    assert_int_equal(((int64_t *)get(&cap, "min")->data)[0], INT64_MIN);
    assert_int_equal(((int64_t *)get(&cap, "max")->data)[0], INT64_MIN + 2);
    capture_free(&cap);
}

static void test_uint64_near_max_exact(void **state)
{
    (void)state;
    const uint64_t two53 = (uint64_t)1 << 53;
    const uint64_t x[] = {UINT64_MAX - 1, UINT64_MAX, two53 + 3, two53 + 1};
    struct opset set;
    struct capture cap;
    init_scalar(&set, H5B_UINT64, "0");
    run(&set, x, sizeof x, &cap);
    assert_int_equal(get(&cap, "max")->type, H5B_UINT64);
    assert_int_equal(((uint64_t *)get(&cap, "max")->data)[0], UINT64_MAX);
    assert_int_equal(((uint64_t *)get(&cap, "min")->data)[0], two53 + 1);
    capture_free(&cap);
}

/* ---- empty input -------------------------------------------------------- */

static void check_empty(h5b_type t)
{
    struct opset set;
    struct capture cap;
    double dummy = 0;
    init_scalar(&set, t, "0");
    run(&set, &dummy, 0, &cap);
    assert_int_equal(value(get(&cap, "count"), 0), 0);
    assert_close(value(get(&cap, "sum"), 0), 0, 0);
    assert_is_nan(value(get(&cap, "mean"), 0));
    assert_is_nan(value(get(&cap, "var"), 0));
    assert_is_nan(value(get(&cap, "std"), 0));
    h5b_type want = is_float(t) ? t : H5B_FLOAT64;
    assert_int_equal(get(&cap, "min")->type, want);
    assert_int_equal(get(&cap, "max")->type, want);
    assert_is_nan(value(get(&cap, "min"), 0));
    assert_is_nan(value(get(&cap, "max"), 0));
    if (is_float(t))
        assert_int_equal(value(get(&cap, "nan_count"), 0), 0);
    capture_free(&cap);
}

static void test_empty_input_every_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        check_empty(types[i].t);
}

static void test_empty_multi_cell_int_min_is_float64(void **state)
{
    (void)state;
    struct opset set;
    struct capture cap;
    uint64_t dims[2] = {2, 3};
    int16_t dummy = 0;
    init_set(&set, H5B_INT16, 6, 2, dims, "0", all_ops);
    run(&set, &dummy, 0, &cap);
    const struct result *mn = get(&cap, "min");
    assert_int_equal(mn->type, H5B_FLOAT64);
    for (uint64_t j = 0; j < 6; j++)
        assert_is_nan(value(mn, j));
    check_shapes(&cap, 2, dims);
    capture_free(&cap);
}

static void test_one_value_ddof1_var_is_nan(void **state)
{
    (void)state;
    const double x[] = {42.5};
    struct opset set;
    struct capture cap;
    init_scalar(&set, H5B_FLOAT64, "1");
    run(&set, x, sizeof x, &cap);
    assert_close(value(get(&cap, "mean"), 0), 42.5, 0);
    assert_is_nan(value(get(&cap, "var"), 0));
    assert_is_nan(value(get(&cap, "std"), 0));
    capture_free(&cap);
}

/* ---- shapes ------------------------------------------------------------- */

static void test_three_cells_rank1(void **state)
{
    (void)state;
    /* Cells on different scales: around 1e6, small integers, negative. */
    double x[2000 * 3];
    struct opset set;
    struct capture cap;
    uint64_t dims[1] = {3};
    for (size_t i = 0; i < 2000; i++) {
        x[3 * i] = 1e6 + (double)((i * 31) % 101) / 4;
        x[3 * i + 1] = (double)(i % 5);
        x[3 * i + 2] = -1e-3 * (double)((i * 7) % 13);
    }
    init_set(&set, H5B_FLOAT64, 3, 1, dims, "0", all_ops);
    run(&set, x, sizeof x, &cap);
    for (uint64_t j = 0; j < 3; j++) {
        struct ref r = reference(H5B_FLOAT64, x, 2000, 3, j);
        check_cell(&cap, H5B_FLOAT64, j, &r, 0, 1e-13);
    }
    check_shapes(&cap, 1, dims);
    assert_int_equal(get(&cap, "mean")->nvalues, 3);
    capture_free(&cap);
}

static void test_wide_cells_rank2(void **state)
{
    (void)state;
    /* 600 cells: fewer than 8 records fit the 4096-value block. */
    enum { NREC = 50, NCELL = 600 };
    const struct type_info *ti = info(H5B_INT32);
    void *data = make_data(ti, NREC * NCELL);
    struct opset set;
    struct capture cap;
    uint64_t dims[2] = {20, 30};
    init_set(&set, H5B_INT32, NCELL, 2, dims, "1", all_ops);
    run(&set, data, NREC * NCELL * sizeof(int32_t), &cap);
    for (uint64_t j = 0; j < NCELL; j++) {
        struct ref r = reference(H5B_INT32, data, NREC, NCELL, j);
        check_cell(&cap, H5B_INT32, j, &r, 1, 1e-13);
    }
    check_shapes(&cap, 2, dims);
    capture_free(&cap);
    free(data);
}

static void test_axis_all_over_3d_data(void **state)
{
    (void)state;
    /* A 40 x 5 x 6 dataset reduced over everything: ncell 1, rank 0, and
     * 1200 "records" of one value. */
    int16_t x[40 * 5 * 6];
    struct opset set;
    struct capture cap;
    for (size_t i = 0; i < 1200; i++)
        x[i] = (int16_t)((int)((i * 7919) % 2001) - 1000);
    init_scalar(&set, H5B_INT16, "0");
    run(&set, x, sizeof x, &cap);
    struct ref r = reference(H5B_INT16, x, 1200, 1, 0);
    check_cell(&cap, H5B_INT16, 0, &r, 0, 1e-13);
    check_shapes(&cap, 0, NULL);
    assert_int_equal(get(&cap, "var")->nvalues, 1);
    capture_free(&cap);
}

/* ---- outputs and configuration ------------------------------------------ */

static void test_only_requested_outputs_written(void **state)
{
    (void)state;
    static const char *const ops[] = {"mean", NULL};
    const float x[] = {1, 2, 3};
    struct opset set;
    struct capture cap;
    init_set(&set, H5B_FLOAT32, 1, 0, NULL, NULL, ops);
    run(&set, x, sizeof x, &cap);
    assert_int_equal(cap.n, 3);
    assert_non_null(find(&cap, "count"));
    assert_non_null(find(&cap, "nan_count"));
    assert_close(value(get(&cap, "mean"), 0), 2, 0);
    assert_null(find(&cap, "var"));
    assert_null(find(&cap, "min"));
    capture_free(&cap);
}

static void test_ddof_absent_means_0(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3, 4};
    struct opset set;
    struct capture cap;
    init_scalar(&set, H5B_FLOAT64, NULL);
    set.cfg.arg = NULL;
    run(&set, x, sizeof x, &cap);
    assert_close(value(get(&cap, "var"), 0), 1.25, 1e-15);  /* 5/4 */
    capture_free(&cap);
}

static void test_ddof_1_from_arg(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3, 4};
    struct opset set;
    struct capture cap;
    init_scalar(&set, H5B_FLOAT64, "1");
    run(&set, x, sizeof x, &cap);
    assert_close(value(get(&cap, "var"), 0), 5.0L / 3, 1e-15);
    assert_close(value(get(&cap, "std"), 0), sqrtl(5.0L / 3), 1e-15);
    capture_free(&cap);
}

static void test_unknown_output_rejected(void **state)
{
    (void)state;
    static const char *const ops[] = {"mean", "median", NULL};
    struct opset set;
    struct h5b_op_config shape = {.type = H5B_FLOAT64, .ncell = 1};
    struct h5b_error err = {""};
    assert_int_equal(opset_init(&set, &shape, ops, &err), H5B_EINPUT);
    assert_contains(err.msg, "'median'");
}

static void test_partial_record_rejected(void **state)
{
    (void)state;
    const double x[7] = {0};
    struct opset set;
    struct partial p;
    struct h5b_error err = {""};
    uint64_t dims[1] = {3};
    init_set(&set, H5B_FLOAT64, 3, 1, dims, "0", all_ops);
    assert_true(opset_reduce(&set, x, sizeof x, 0, &p, &err) < 0);
    assert_contains(err.msg, "56 bytes");
}

/* ---- merge, encode, decode ---------------------------------------------- */

/* Encode p into a fresh buffer; *len gets its size. */
static unsigned char *encode(const struct opset *set, const struct partial *p,
                             size_t *len)
{
    struct h5b_error err = {""};
    *len = opset_encoded_size(set, p);
    unsigned char *buf = malloc(*len);
    assert_non_null(buf);
    if (opset_encode(set, p, buf, *len, &err) != 0)
        fail_msg("opset_encode: %s", err.msg);
    return buf;
}

/* A created partial holding the decoded bytes. */
static void decode(const struct opset *set, const unsigned char *buf,
                   size_t len, struct partial *p)
{
    struct h5b_error err = {""};
    assert_int_equal(opset_create(set, p, &err), 0);
    if (opset_decode(set, p, buf, len, &err) != 0)
        fail_msg("opset_decode: %s", err.msg);
}

static void merge(const struct opset *set, struct partial *acc,
                  const struct partial *later)
{
    struct h5b_error err = {""};
    if (opset_merge(set, acc, later, &err) != 0)
        fail_msg("opset_merge: %s", err.msg);
}

/* Reduce x (n values) cut before each of cuts[0..ncuts) into pieces,
 * reducing the pieces last to first when `backwards`; ship each through
 * encode/decode and merge in order into an empty accumulator, as rank 0
 * does.  acc gets the result. */
static void split_reduce(const struct opset *set, const double *x, size_t n,
                         const size_t *cuts, size_t ncuts, int backwards,
                         struct partial *acc)
{
    unsigned char *bytes[64];
    size_t len[64], nb = ncuts + 1;
    assert_true(nb <= 64);
    for (size_t k = 0; k < nb; k++) {
        size_t i = backwards ? nb - 1 - k : k;
        size_t lo = i ? cuts[i - 1] : 0, hi = i < ncuts ? cuts[i] : n;
        struct partial p;
        reduce(set, x + lo, (hi - lo) * sizeof *x, &p);
        bytes[i] = encode(set, &p, &len[i]);
        opset_destroy(set, &p);
    }
    struct h5b_error err = {""};
    assert_int_equal(opset_create(set, acc, &err), 0);
    for (size_t i = 0; i < nb; i++) {
        struct partial p;
        decode(set, bytes[i], len[i], &p);
        merge(set, acc, &p);
        opset_destroy(set, &p);
        free(bytes[i]);
    }
}

/* Ascending cut points in (0, n), from a seeded generator. */
static size_t random_cuts(uint64_t *seed, size_t n, size_t *cuts,
                          size_t max)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    size_t k = 1 + (*seed >> 33) % max, m = 0;
    for (size_t i = 0; i < k; i++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t c = 1 + (*seed >> 33) % (n - 1), j = m;
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

#define MERGE_N 5000

/* 1e9 + noise with NaNs: hard for both the moments and the merge. */
static double *merge_data(void)
{
    double *x = malloc(MERGE_N * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < MERGE_N; i++)
        x[i] = i % 97 == 5 ? NAN
                           : 1e9 + (double)((i * 7919) % 10007) / 10007 - 0.5;
    return x;
}

static void test_same_boundaries_same_bytes(void **state)
{
    (void)state;
    double *x = merge_data();
    struct opset set;
    uint64_t seed = 1;
    init_scalar(&set, H5B_FLOAT64, "1");
    for (int round = 0; round < 50; round++) {
        size_t cuts[32], len_a, len_b;
        size_t nc = random_cuts(&seed, MERGE_N, cuts, 31);
        struct partial a, b;
        split_reduce(&set, x, MERGE_N, cuts, nc, 0, &a);
        split_reduce(&set, x, MERGE_N, cuts, nc, 1, &b);
        unsigned char *ea = encode(&set, &a, &len_a);
        unsigned char *eb = encode(&set, &b, &len_b);
        assert_int_equal(len_a, len_b);
        assert_bytes_equal(ea, eb, len_a);
        free(ea);
        free(eb);
        opset_destroy(&set, &a);
        opset_destroy(&set, &b);
    }
    free(x);
}

/* cfg.arg with [reduce] exact = yes and ddof = arg_ctx. */
static const char *exact_arg(const struct h5b_op_config *cfg, const char *key)
{
    if (strcmp(key, "exact") == 0)
        return "yes";
    return strcmp(key, "ddof") == 0 ? cfg->arg_ctx : NULL;
}

/* The data: about 1e9 +- 1e3, every seventh negated, as k 2^-20
 * for integers k, so the exact sum is an __int128. */
static double *exact_data(size_t n, __int128 *k)
{
    double *x = malloc(n * sizeof *x);
    uint64_t seed = 21;
    assert_non_null(x);
    *k = 0;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int64_t v = ((int64_t)1000000000 << 20) +
                    (int64_t)(seed >> 33) % ((int64_t)2000 << 20) -
                    ((int64_t)1000 << 20);
        v = i % 7 == 6 ? -v : v;
        *k += v;
        x[i] = ldexp((double)v, -20);
    }
    return x;
}

/* With exact = yes, sum, mean, var and std have the same bits however the
 * values are cut into partials, and the sum is the exact one rounded. */
static void test_exact_same_bits_any_split(void **state)
{
    (void)state;
    enum { N = 20000 };
    static const char *const names[] = {"sum", "mean", "var", "std"};
    __int128 k;
    double *x = exact_data(N, &k);
    struct opset set;
    struct partial whole, acc;
    struct capture want, got;
    struct h5b_op_config shape = {.type = H5B_FLOAT64, .ncell = 1,
                                  .arg = exact_arg, .arg_ctx = "1"};
    struct h5b_error err = {""};
    assert_int_equal(opset_init(&set, &shape, all_ops, &err), 0);
    reduce(&set, x, N * sizeof *x, &whole);
    finalize(&set, &whole, &want);
    assert_true(value(get(&want, "sum"), 0) == ldexp((double)k, -20));
    uint64_t seed = 5;
    for (int t = 0; t < 20; t++) {
        size_t cuts[40], nc = random_cuts(&seed, N, cuts, 40);
        split_reduce(&set, x, N, cuts, nc, t & 1, &acc);
        finalize(&set, &acc, &got);
        for (int i = 0; i < 4; i++) {
            double a = (double)value(get(&got, names[i]), 0);
            double b = (double)value(get(&want, names[i]), 0);
            assert_memory_equal(&a, &b, sizeof a);
        }
        capture_free(&got);
        opset_destroy(&set, &acc);
    }
    /* Every truncation of the encoding is refused. */
    size_t len;
    unsigned char *buf = encode(&set, &whole, &len);
    for (size_t cut = 0; cut < len; cut += 7) {
        struct partial p;
        assert_int_equal(opset_create(&set, &p, &err), 0);
        assert_int_not_equal(opset_decode(&set, &p, buf, cut, &err), 0);
        opset_destroy(&set, &p);
    }
    free(buf);
    capture_free(&want);
    opset_destroy(&set, &whole);
    free(x);
}

/* One float64 cell: exact = yes takes count, NaN count, min and max from
 * the pass that plans its exact sums (xscan.h); they are the default
 * path's bits, the sign of a zero minimum or maximum included, on NaN,
 * zeros of both signs, infinities and a length with a tail. */
static void test_exact_tally_as_default(void **state)
{
    (void)state;
    enum { N = 5000 + 13 };
    static const char *const names[] = {"count", "nan_count", "min", "max"};
    static double x[N];
    struct h5b_op_config plain = {.type = H5B_FLOAT64, .ncell = 1};
    struct h5b_op_config exact = {.type = H5B_FLOAT64, .ncell = 1,
                                  .arg = exact_arg, .arg_ctx = "0"};
    for (int t = 0; t < 3; t++) {
        for (int i = 0; i < N; i++) {
            /* a rare zero of each sign, in lanes 4 and 9 of 16 */
            int z = i % 512 == 100 || i % 512 == 201;
            double s = i % 512 == 100 ? 0.0 : -0.0;
            x[i] = i % 11 == 0 ? NAN : z ? s
                 : t == 0 ? 1.0 + i : t == 1 ? -1.0 - i
                 : i % 999 == 0 ? -INFINITY : s;
        }
        struct capture cap[2];
        const struct h5b_op_config *shape[2] = {&plain, &exact};
        for (int k = 0; k < 2; k++) {
            struct opset set;
            struct partial p;
            struct h5b_error err = {""};
            assert_int_equal(opset_init(&set, shape[k], all_ops, &err), 0);
            reduce(&set, x, sizeof x, &p);
            finalize(&set, &p, &cap[k]);
            opset_destroy(&set, &p);
        }
        for (int i = 0; i < 4; i++) {
            double a = (double)value(get(&cap[0], names[i]), 0);
            double b = (double)value(get(&cap[1], names[i]), 0);
            assert_memory_equal(&a, &b, sizeof a);
        }
        capture_free(&cap[0]);
        capture_free(&cap[1]);
    }
}

/* Many cells: the gathered large-accumulator path (a partial of 3000
 * records) and the value-by-value path (partials under 256 records) give
 * the same bits. */
static void test_exact_cells_both_paths_same_bits(void **state)
{
    (void)state;
    enum { NREC = 3000, NC = 6 };
    static const char *const names[] = {"sum", "mean", "var", "std"};
    static const uint64_t dims[2] = {2, 3};
    __int128 k;
    double *x = exact_data(NREC * NC, &k);
    for (int i = 0; i < NREC * NC; i += 97)
        x[i] = NAN;
    struct opset set;
    struct partial whole, acc;
    struct capture want, got;
    struct h5b_op_config shape = {.type = H5B_FLOAT64, .ncell = NC,
                                  .cell_rank = 2, .arg = exact_arg,
                                  .arg_ctx = "0"};
    struct h5b_error err = {""};
    memcpy(shape.cell_dims, dims, sizeof dims);
    assert_int_equal(opset_init(&set, &shape, all_ops, &err), 0);
    reduce(&set, x, sizeof(double) * NREC * NC, &whole);
    finalize(&set, &whole, &want);
    size_t cuts[40], nc = 0;
    for (size_t c = 100; c < NREC; c += 100)
        cuts[nc++] = c * NC;        /* cuts in values, whole records */
    split_reduce(&set, x, NREC * NC, cuts, nc, 0, &acc);
    finalize(&set, &acc, &got);
    for (int i = 0; i < 4; i++)
        assert_bytes_equal(get(&got, names[i])->data,
                           get(&want, names[i])->data, NC * sizeof(double));
    capture_free(&got);
    capture_free(&want);
    opset_destroy(&set, &acc);
    opset_destroy(&set, &whole);
    free(x);
}

static void test_round_trip_is_bit_exact(void **state)
{
    (void)state;
    double *x = merge_data();
    struct opset set;
    struct partial p, q;
    size_t len_p, len_q;
    init_scalar(&set, H5B_FLOAT64, "0");
    reduce(&set, x, MERGE_N * sizeof *x, &p);
    unsigned char *ep = encode(&set, &p, &len_p);
    decode(&set, ep, len_p, &q);
    unsigned char *eq = encode(&set, &q, &len_q);
    assert_int_equal(len_p, len_q);
    assert_bytes_equal(ep, eq, len_p);
    free(ep);
    free(eq);
    opset_destroy(&set, &p);
    opset_destroy(&set, &q);
    free(x);
}

/* Results of cap must match want: counts, min, max exactly, the rest
 * within rel. */
static void check_same_results(const struct capture *cap,
                               const struct capture *want, double rel)
{
    static const char *const exact[] = {"count", "nan_count", "min", "max"};
    static const char *const approx[] = {"sum", "mean", "var", "std"};
    for (size_t i = 0; i < 4; i++) {
        assert_close(value(get(cap, exact[i]), 0),
                     value(get(want, exact[i]), 0), 0);
        assert_close(value(get(cap, approx[i]), 0),
                     value(get(want, approx[i]), 0), rel);
    }
}

static void test_other_boundaries_within_1e13(void **state)
{
    (void)state;
    double *x = merge_data();
    struct opset set;
    struct capture whole, cap;
    uint64_t seed = 7;
    init_scalar(&set, H5B_FLOAT64, "1");
    run(&set, x, MERGE_N * sizeof *x, &whole);
    for (int round = 0; round < 200; round++) {
        size_t cuts[64];
        size_t nc = random_cuts(&seed, MERGE_N, cuts, 63);
        struct partial acc;
        split_reduce(&set, x, MERGE_N, cuts, nc, 0, &acc);
        finalize(&set, &acc, &cap);
        check_same_results(&cap, &whole, 1e-13);
        capture_free(&cap);
        opset_destroy(&set, &acc);
    }
    struct ref r = reference(H5B_FLOAT64, x, MERGE_N, 1, 0);
    assert_close(value(get(&whole, "var"), 0), r.var1, 1e-12);
    capture_free(&whole);
    free(x);
}

static void test_one_cut_at_every_position(void **state)
{
    (void)state;
    enum { N = 1100 };          /* more than two 512-value blocks */
    double *x = merge_data();
    struct opset set;
    struct capture whole, cap;
    init_scalar(&set, H5B_FLOAT64, "0");
    run(&set, x, N * sizeof *x, &whole);
    for (size_t c = 1; c < N; c++) {
        struct partial acc;
        split_reduce(&set, x, N, &c, 1, 0, &acc);
        finalize(&set, &acc, &cap);
        check_same_results(&cap, &whole, 1e-13);
        capture_free(&cap);
        opset_destroy(&set, &acc);
    }
    capture_free(&whole);
    free(x);
}

static void test_merge_associative(void **state)
{
    (void)state;
    double *x = merge_data();
    struct opset set;
    struct partial a1, b1, c1, a2, b2, c2;
    struct capture left, right;
    init_scalar(&set, H5B_FLOAT64, "0");
    reduce(&set, x, 1000 * sizeof *x, &a1);
    reduce(&set, x + 1000, 2500 * sizeof *x, &b1);
    reduce(&set, x + 3500, 1500 * sizeof *x, &c1);
    reduce(&set, x, 1000 * sizeof *x, &a2);
    reduce(&set, x + 1000, 2500 * sizeof *x, &b2);
    reduce(&set, x + 3500, 1500 * sizeof *x, &c2);
    merge(&set, &a1, &b1);              /* (a + b) + c */
    merge(&set, &a1, &c1);
    merge(&set, &b2, &c2);              /* a + (b + c) */
    merge(&set, &a2, &b2);
    finalize(&set, &a1, &left);
    finalize(&set, &a2, &right);
    check_same_results(&left, &right, 1e-13);
    capture_free(&left);
    capture_free(&right);
    struct partial *all[] = {&a1, &b1, &c1, &a2, &b2, &c2};
    for (size_t i = 0; i < 6; i++)
        opset_destroy(&set, all[i]);
    free(x);
}

/* Merging an empty partial on either side changes no bit. */
static void test_empty_partial_is_identity(void **state)
{
    (void)state;
    double *x = merge_data();
    struct opset set;
    struct partial p, e1, e2;
    struct h5b_error err = {""};
    size_t n0, n1, n2;
    init_scalar(&set, H5B_FLOAT64, "0");
    reduce(&set, x, MERGE_N * sizeof *x, &p);
    assert_int_equal(opset_create(&set, &e1, &err), 0);
    assert_int_equal(opset_create(&set, &e2, &err), 0);
    unsigned char *before = encode(&set, &p, &n0);
    merge(&set, &e1, &p);               /* empty + p */
    merge(&set, &p, &e2);               /* p + empty */
    unsigned char *left = encode(&set, &e1, &n1);
    unsigned char *right = encode(&set, &p, &n2);
    assert_bytes_equal(left, before, n0);
    assert_bytes_equal(right, before, n0);
    free(before);
    free(left);
    free(right);
    opset_destroy(&set, &p);
    opset_destroy(&set, &e1);
    opset_destroy(&set, &e2);
    free(x);
}

static void test_big_ints_survive_merge(void **state)
{
    (void)state;
    const uint64_t x[] = {UINT64_MAX - 2, (uint64_t)1 << 60, UINT64_MAX,
                          ((uint64_t)1 << 53) + 1, UINT64_MAX - 1};
    struct opset set;
    struct capture cap;
    struct partial acc;
    init_scalar(&set, H5B_UINT64, "0");
    for (size_t c = 1; c < 5; c++) {
        struct partial p1, p2;
        size_t n1, n2;
        reduce(&set, x, c * sizeof *x, &p1);
        reduce(&set, x + c, (5 - c) * sizeof *x, &p2);
        unsigned char *b1 = encode(&set, &p1, &n1);
        unsigned char *b2 = encode(&set, &p2, &n2);
        opset_destroy(&set, &p1);
        opset_destroy(&set, &p2);
        decode(&set, b1, n1, &acc);
        decode(&set, b2, n2, &p2);
        merge(&set, &acc, &p2);
        finalize(&set, &acc, &cap);
        assert_int_equal(((uint64_t *)get(&cap, "max")->data)[0], UINT64_MAX);
        assert_int_equal(((uint64_t *)get(&cap, "min")->data)[0],
                         ((uint64_t)1 << 53) + 1);
        capture_free(&cap);
        opset_destroy(&set, &acc);
        opset_destroy(&set, &p2);
        free(b1);
        free(b2);
    }
}

/* ---- decode rejects malformed states ------------------------------------ */

/* A reduced 3-cell partial and its encoding. */
static unsigned char *three_cell_bytes(struct opset *set, size_t *len)
{
    double x[30];
    uint64_t dims[1] = {3};
    struct partial p;
    for (size_t i = 0; i < 30; i++)
        x[i] = (double)i;
    init_set(set, H5B_FLOAT64, 3, 1, dims, "0", all_ops);
    reduce(set, x, sizeof x, &p);
    unsigned char *buf = encode(set, &p, len);
    opset_destroy(set, &p);
    return buf;
}

/* Decoding len bytes of buf (an exact heap copy) into set must fail. */
static void expect_decode_fails(const struct opset *set,
                                const unsigned char *buf, size_t len)
{
    struct partial p;
    struct h5b_error err = {""};
    unsigned char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, buf, len);
    assert_int_equal(opset_create(set, &p, &err), 0);
    if (opset_decode(set, &p, copy, len, &err) >= 0)
        fail_msg("decoding %zu bytes succeeded", len);
    assert_true(err.msg[0] != '\0');
    opset_destroy(set, &p);
    free(copy);
}

static void test_decode_rejects_every_short_length(void **state)
{
    (void)state;
    struct opset set;
    size_t len;
    unsigned char *buf = three_cell_bytes(&set, &len);
    assert_int_equal(len, 8 + 8 + 3 * 72);
    for (size_t n = 0; n < len; n++)
        expect_decode_fails(&set, buf, n);
    free(buf);
}

static void test_decode_rejects_trailing_bytes(void **state)
{
    (void)state;
    struct opset set;
    size_t len;
    unsigned char *buf = three_cell_bytes(&set, &len);
    unsigned char *longer = calloc(len + 1, 1);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    expect_decode_fails(&set, longer, len + 1);
    free(longer);
    free(buf);
}

static void test_decode_rejects_inner_length_lies(void **state)
{
    (void)state;
    struct opset set;
    size_t len;
    unsigned char *buf = three_cell_bytes(&set, &len);
    const uint64_t lies[] = {len - 8 - 1, len - 8 + 1, 72, UINT64_MAX};
    for (size_t i = 0; i < 4; i++) {
        h5b_put_u64(buf, lies[i]);
        expect_decode_fails(&set, buf, len);
    }
    free(buf);
}

static void test_decode_rejects_wrong_cell_count(void **state)
{
    (void)state;
    struct opset set, two;
    size_t len;
    uint64_t dims[1] = {2};
    unsigned char *buf = three_cell_bytes(&set, &len);
    init_set(&two, H5B_FLOAT64, 2, 1, dims, "0", all_ops);
    expect_decode_fails(&two, buf, len);
    h5b_put_u64(buf + 8, 2);            /* the state's own ncell field */
    expect_decode_fails(&set, buf, len);
    free(buf);
}

static void test_moments_decode_checks_length(void **state)
{
    (void)state;
    struct opset set;
    struct partial p;
    struct h5b_error err = {""};
    size_t len;
    unsigned char *buf = three_cell_bytes(&set, &len);
    assert_int_equal(opset_create(&set, &p, &err), 0);
    /* The operator's own bytes follow the opset's 8-byte length. */
    assert_int_equal(op_moments.decode(p.state[0], buf + 8, len - 8, &err),
                     0);
    assert_true(op_moments.decode(p.state[0], buf + 8, len - 9, &err) < 0);
    assert_contains(err.msg, "3 cells");
    opset_destroy(&set, &p);
    free(buf);
}

static void test_encode_rejects_small_buffer(void **state)
{
    (void)state;
    struct opset set;
    struct partial p;
    struct h5b_error err = {""};
    double x[3] = {1, 2, 3};
    unsigned char buf[256];
    init_scalar(&set, H5B_FLOAT64, "0");
    reduce(&set, x, sizeof x, &p);
    size_t need = opset_encoded_size(&set, &p);
    assert_true(need <= sizeof buf);
    assert_true(opset_encode(&set, &p, buf, need - 1, &err) < 0);
    opset_destroy(&set, &p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int8_matches_reference),
        cmocka_unit_test(test_uint8_matches_reference),
        cmocka_unit_test(test_int16_matches_reference),
        cmocka_unit_test(test_uint16_matches_reference),
        cmocka_unit_test(test_int32_matches_reference),
        cmocka_unit_test(test_uint32_matches_reference),
        cmocka_unit_test(test_int64_matches_reference),
        cmocka_unit_test(test_uint64_matches_reference),
        cmocka_unit_test(test_float32_matches_reference),
        cmocka_unit_test(test_float64_matches_reference),
        cmocka_unit_test(test_every_type_three_cells),
        cmocka_unit_test(test_float64_nan_skipped_and_counted),
        cmocka_unit_test(test_float32_nan_skipped_and_counted),
        cmocka_unit_test(test_float64_lanes_and_tail),
        cmocka_unit_test(test_float32_lanes_and_tail),
        cmocka_unit_test(test_all_nan_is_an_empty_cell),
        cmocka_unit_test(test_nan_in_one_cell_only),
        cmocka_unit_test(test_many_cells_by_eight),
        cmocka_unit_test(test_1e9_plus_noise_var_is_exact),
        cmocka_unit_test(test_1e9_plus_noise_sum_within_one_ulp),
        cmocka_unit_test(test_1e9_plus_noise_var_ddof1),
        cmocka_unit_test(test_1e9_plus_noise_defeats_naive_formula),
        cmocka_unit_test(test_inf_last_gives_inf_sum_and_mean),
        cmocka_unit_test(test_inf_first_gives_inf_sum_and_mean),
        cmocka_unit_test(test_int64_near_max_exact),
        cmocka_unit_test(test_int64_near_min_exact),
        cmocka_unit_test(test_uint64_near_max_exact),
        cmocka_unit_test(test_empty_input_every_type),
        cmocka_unit_test(test_empty_multi_cell_int_min_is_float64),
        cmocka_unit_test(test_one_value_ddof1_var_is_nan),
        cmocka_unit_test(test_three_cells_rank1),
        cmocka_unit_test(test_wide_cells_rank2),
        cmocka_unit_test(test_axis_all_over_3d_data),
        cmocka_unit_test(test_only_requested_outputs_written),
        cmocka_unit_test(test_ddof_absent_means_0),
        cmocka_unit_test(test_ddof_1_from_arg),
        cmocka_unit_test(test_unknown_output_rejected),
        cmocka_unit_test(test_partial_record_rejected),
        cmocka_unit_test(test_same_boundaries_same_bytes),
        cmocka_unit_test(test_round_trip_is_bit_exact),
        cmocka_unit_test(test_exact_same_bits_any_split),
        cmocka_unit_test(test_exact_tally_as_default),
        cmocka_unit_test(test_exact_cells_both_paths_same_bits),
        cmocka_unit_test(test_other_boundaries_within_1e13),
        cmocka_unit_test(test_one_cut_at_every_position),
        cmocka_unit_test(test_merge_associative),
        cmocka_unit_test(test_empty_partial_is_identity),
        cmocka_unit_test(test_big_ints_survive_merge),
        cmocka_unit_test(test_decode_rejects_every_short_length),
        cmocka_unit_test(test_decode_rejects_trailing_bytes),
        cmocka_unit_test(test_decode_rejects_inner_length_lies),
        cmocka_unit_test(test_decode_rejects_wrong_cell_count),
        cmocka_unit_test(test_moments_decode_checks_length),
        cmocka_unit_test(test_encode_rejects_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
