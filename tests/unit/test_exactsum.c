/* test_exactsum.c -- unit tests for the exact superaccumulator.
 *
 * Expected values are closed forms: cancellations whose exact sum is a
 * small number, ties at the rounding point, subnormals, and integer data
 * whose exact sum fits an int64 (or __int128), so one correctly rounded C
 * conversion or division of exact operands gives the reference.
 */
#define _GNU_SOURCE
#include "unit.h"

#include <float.h>

#include "exactsum.h"
#include "xfold.h"
#include "xscan.h"

static double sum_of(const double *x, size_t n)
{
    struct exactsum a;
    xs_clear(&a);
    for (size_t i = 0; i < n; i++)
        xs_add_f64(&a, x[i]);
    return xs_sum(&a);
}

#define SUM(...)                                                         \
    sum_of((const double[]){__VA_ARGS__},                                \
           sizeof((const double[]){__VA_ARGS__}) / sizeof(double))

static void assert_same(double a, double e)
{
    if (memcmp(&a, &e, 8) != 0 && !(isnan(a) && isnan(e)))
        fail_msg("got %a (%.17g), expected %a (%.17g)", a, a, e, e);
}

static void test_cancellation(void **state)
{
    (void)state;
    assert_same(SUM(1e308, 1.0, -1e308), 1.0);
    assert_same(SUM(1e16, 1.0, -1e16), 1.0);
    assert_same(SUM(1e100, 1e-100, -1e100, 1e-100), 2e-100);
    assert_same(SUM(1e308, 1e308, -1e308), 1e308);
    assert_same(SUM(0.1, 0.2, -0.3), 2.7755575615628914e-17); /* fsum */
    assert_same(SUM(1.0, -1.0), 0.0);
    assert_same(SUM(-0.0, -0.0), 0.0); /* as math.fsum */
}

static void test_subnormals(void **state)
{
    (void)state;
    double d = 4.9406564584124654e-324; /* 2^-1074 */
    assert_same(SUM(d, d, d), 3 * d);
    assert_same(SUM(DBL_MIN / 2, DBL_MIN / 2), DBL_MIN);
    assert_same(SUM(DBL_MIN, -d), DBL_MIN - d);
    assert_same(SUM(1.0, d, -1.0), d);
    assert_same(SUM(-d, -d), -2 * d);
}

static void test_ties_to_even(void **state)
{
    (void)state;
    double u = ldexp(1, -53), d = ldexp(1, -1074);
    assert_same(SUM(1.0, u), 1.0);                        /* tie, even */
    assert_same(SUM(1.0, u, d), nextafter(1.0, 2));      /* above tie */
    assert_same(SUM(1.0, 2 * u, u), 1.0 + 4 * u);        /* tie, up */
    assert_same(SUM(-1.0, -u), -1.0);
    assert_same(SUM(-1.0, -u, -d), -nextafter(1.0, 2));
    assert_same(SUM(1.0, u, -d), 1.0);                    /* below tie */
}

static void test_overflow_inf_nan(void **state)
{
    (void)state;
    assert_same(SUM(DBL_MAX, DBL_MAX), INFINITY);
    assert_same(SUM(-DBL_MAX, -DBL_MAX), -INFINITY);
    /* DBL_MAX + half an ulp is the tie to 2^1024: IEEE gives inf. */
    assert_same(SUM(DBL_MAX, ldexp(1, 970)), INFINITY);
    assert_same(SUM(DBL_MAX, ldexp(1, 969)), DBL_MAX);
    assert_same(SUM(INFINITY, 1.0), INFINITY);
    assert_same(SUM(-INFINITY, 1e308, 1e308), -INFINITY);
    assert_is_nan(SUM(INFINITY, -INFINITY));
    assert_is_nan(SUM(NAN, 1.0));
}

/* Integers k * 2^-20, |k| < 2^40: the exact sum fits an int64. */
static void test_random_against_int(void **state)
{
    (void)state;
    srand(7);
    for (int t = 0; t < 200; t++) {
        struct exactsum a;
        int64_t k = 0;
        int n = 1 + rand() % 3000;
        xs_clear(&a);
        for (int i = 0; i < n; i++) {
            int64_t v = ((int64_t)rand() << 20 ^ rand()) % ((int64_t)1 << 40);
            v = i % 7 == 6 ? -v : v;
            k += v;
            xs_add_f64(&a, ldexp((double)v, -20));
        }
        assert_same(xs_sum(&a), ldexp((double)k, -20));
        /* (double)k and n are exact when |k| < 2^53: one division. */
        if (llabs(k) < (int64_t)1 << 53)
            assert_same(xs_mean(&a, (uint64_t)n),
                        ldexp((double)k / n, -20));
    }
}

/* var of integers: n Sxx - Sx^2 in __int128, exact; below 2^53 one
 * division of exact operands is the correctly rounded result. */
static void test_var_integers(void **state)
{
    (void)state;
    srand(11);
    for (int t = 0; t < 200; t++) {
        struct exactsum a;
        __int128 s = 0, q = 0;
        uint64_t n = 2 + (uint64_t)(rand() % 200);
        xs_clear(&a);
        for (uint64_t i = 0; i < n; i++) {
            int64_t v = rand() % 2001 - 1000;
            s += v;
            q += (__int128)v * v;
            xs_add_f64(&a, (double)v);
        }
        for (unsigned ddof = 0; ddof < 2; ddof++) {
            __int128 d = (__int128)n * q - s * s;
            assert_same(xs_var(&a, n, ddof),
                        (double)d / ((double)n * (double)(n - ddof)));
        }
    }
}

/* 1e20 + {0, 1, 2, 3} ulps (16384): var 1.25 * 2^28 exactly. */
static void test_var_cancellation(void **state)
{
    (void)state;
    struct exactsum a;
    xs_clear(&a);
    for (int k = 0; k < 4; k++)
        xs_add_f64(&a, 1e20 + 16384.0 * k);
    assert_same(xs_var(&a, 4, 0), 1.25 * 268435456.0);
    assert_same(xs_var(&a, 4, 1), 5.0 / 3.0 * 268435456.0);
    assert_same(xs_mean(&a, 4), 1e20 + 16384.0 * 1.5);
    assert_is_nan(xs_var(&a, 1, 1));
    assert_same(xs_var(&a, 0, 0) , NAN);
}

static void test_mean_no_overflow(void **state)
{
    (void)state;
    struct exactsum a;
    xs_clear(&a);
    xs_add_f64(&a, DBL_MAX);
    xs_add_f64(&a, DBL_MAX);
    assert_same(xs_sum(&a), INFINITY);
    assert_same(xs_mean(&a, 2), DBL_MAX);
    /* Tiny mean below the subnormal range: rounded, not flushed. */
    xs_clear(&a);
    xs_add_f64(&a, ldexp(1, -1074));
    assert_same(xs_mean(&a, 2), 0.0);           /* tie to even: 0 */
    xs_add_f64(&a, ldexp(1, -1074));
    assert_same(xs_mean(&a, 3), ldexp(1, -1074)); /* 2/3 rounds up */
}

static void test_int64(void **state)
{
    (void)state;
    struct exactsum a;
    xs_clear(&a);
    xs_add_i64(&a, INT64_MAX);
    xs_add_i64(&a, INT64_MAX);
    xs_add_i64(&a, INT64_MIN);
    assert_same(xs_sum(&a), ldexp(1, 63));  /* 2^63 - 2 rounded */
    xs_clear(&a);
    xs_add_u64(&a, UINT64_MAX);
    xs_add_i64(&a, -1);
    xs_add_u64(&a, 3);
    assert_same(xs_sum(&a), ldexp(1, 64));  /* 2^64 + 1 rounded */
    /* var of {2^62 + 1, 2^62 + 3}: 1 (ddof 0), 2 (ddof 1). */
    xs_clear(&a);
    xs_add_i64(&a, ((int64_t)1 << 62) + 1);
    xs_add_i64(&a, ((int64_t)1 << 62) + 3);
    assert_same(xs_var(&a, 2, 0), 1.0);
    assert_same(xs_var(&a, 2, 1), 2.0);
    assert_same(xs_mean(&a, 2), ldexp(1, 62));
}

/* Wide random values: any split into parts, merged in any tree, encodes
 * to the same bytes and sums to the same bits. */
static double wide(void)
{
    double m = (double)rand() / RAND_MAX - 0.5;
    return ldexp(m, rand() % 2000 - 1000);
}

static void test_merge_any_split(void **state)
{
    (void)state;
    enum { N = 5000 };
    static double x[N];
    static struct exactsum whole, part[8], acc;
    unsigned char b1[XS_MAX_BYTES], b2[XS_MAX_BYTES];
    srand(3);
    for (int i = 0; i < N; i++)
        x[i] = wide();
    xs_clear(&whole);
    for (int i = N - 1; i >= 0; i--)
        xs_add_f64(&whole, x[i]);
    xs_normalize(&whole);
    size_t n1 = xs_encode(&whole, b1, sizeof b1);
    assert_true(n1 > 0);
    for (int t = 0; t < 20; t++) {
        int cut[9] = {0};
        for (int k = 1; k < 8; k++)
            cut[k] = rand() % N;
        cut[8] = N;
        for (int k = 1; k < 8; k++) /* sort the cuts */
            for (int j = k; j > 1 && cut[j - 1] > cut[j]; j--) {
                int c = cut[j];
                cut[j] = cut[j - 1];
                cut[j - 1] = c;
            }
        for (int k = 0; k < 8; k++) {
            xs_clear(&part[k]);
            for (int i = cut[k]; i < cut[k + 1]; i++)
                xs_add_f64(&part[k], x[i]);
        }
        /* Merged in a permuted order (3 is prime to 8). */
        xs_clear(&acc);
        for (int k = 0; k < 8; k++)
            xs_merge(&acc, &part[(k * 3 + t) % 8]);
        assert_int_equal(xs_encode(&acc, b2, sizeof b2), n1);
        assert_bytes_equal(b1, b2, n1);
        assert_same(xs_sum(&acc), xs_sum(&whole));
        for (int k = 7; k > 0; k--)
            xs_merge(&part[k - 1], &part[k]);
        assert_same(xs_var(&part[0], N, 1), xs_var(&whole, N, 1));
    }
}

static void test_encode_round_trip_and_checks(void **state)
{
    (void)state;
    struct exactsum a, b;
    unsigned char buf[XS_MAX_BYTES], buf2[XS_MAX_BYTES];
    xs_clear(&a);
    for (int i = 0; i < 1000; i++)
        xs_add_f64(&a, i % 3 ? 1e9 + i : -(1e9 + i));
    xs_add_f64(&a, INFINITY);
    xs_add_f64(&a, NAN);
    assert_int_equal(xs_encode(&a, buf, sizeof buf), 0); /* pending */
    xs_normalize(&a);
    size_t n = xs_encode(&a, buf, sizeof buf);
    assert_int_equal(n, xs_encoded_size(&a));
    assert_true(n < 100); /* only the nonzero chunks */
    assert_int_equal(xs_decode(&b, buf, n), n);
    assert_int_equal(xs_encode(&b, buf2, sizeof buf2), n);
    assert_bytes_equal(buf, buf2, n);
    assert_int_equal(b.pinf, 1);
    assert_int_equal(b.nan, 1);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(xs_decode(&b, buf, k), 0);
    /* A chunk range past the end of the accumulator. */
    buf[24] = 69;
    buf[28] = 5;
    assert_int_equal(xs_decode(&b, buf, n), 0);
    assert_int_equal(xs_encode(&a, buf, n - 1), 0);
}

/* The sum is the same however many values pass between normalisations:
 * 512 identical values of the largest chunk share never overflow. */
static void test_carry_room(void **state)
{
    (void)state;
    struct exactsum a;
    double big = ldexp(1.0 - ldexp(1, -53), 1000); /* mantissa all ones */
    xs_clear(&a);
    for (int i = 0; i < 100000; i++)
        xs_add_f64(&a, big);
    assert_same(xs_sum(&a), big * 100000.0);
    assert_same(xs_mean(&a, 100000), big);
    assert_same(xs_var(&a, 100000, 0), 0.0);
}

/* The n values at x fed to xs_add_f64s_skipnan in runs of every length
 * step (1, then step * mul + add, below limit) give the state want. */
static void assert_runs_give(const struct exactsum *want, const double *x,
                             size_t n, size_t limit, size_t mul, size_t add)
{
    static struct exactsum b;
    static struct xs_large L;
    unsigned char b1[XS_MAX_BYTES], b2[XS_MAX_BYTES];
    memset(&L, 0xa5, sizeof L);     /* the scratch needs no zeroing */
    size_t n1 = xs_encode(want, b1, sizeof b1);
    for (size_t step = 1; step < limit; step = step * mul + add) {
        xs_clear(&b);
        for (size_t i = 0; i < n; i += step)
            xs_add_f64s_skipnan(&b, &L, x + i, n - i < step ? n - i : step);
        assert_int_equal(xs_encode(&b, b2, sizeof b2), n1);
        assert_bytes_equal(b1, b2, n1);
    }
}

/* The large accumulator's path gives the same state as value by value,
 * on values of every exponent, zeros, subnormals and infinities (NaN
 * skipped there, so left out of the other). */
static void test_large_same_as_small(void **state)
{
    (void)state;
    enum { N = 30011 };
    static double x[N];
    static struct exactsum a;
    srand(17);
    xs_clear(&a);
    for (int i = 0; i < N; i++) {
        x[i] = i % 97 == 0 ? 0.0 : i % 89 == 0 ? ldexp(rand() % 4096, -1074)
             : i % 1009 == 0 ? -INFINITY : i % 331 == 0 ? NAN : wide();
        if (x[i] == x[i])
            xs_add_f64(&a, x[i]);
    }
    xs_normalize(&a);
    assert_runs_give(&a, x, N, 40000, 3, 1);
}

/* The narrow path (runs within 11 binades, exactsum.c) gives the state
 * of value by value: signed values, zeros and NaN among them, at the
 * bottom and the top of the normal range and in between, over spans of
 * 1 to 11 binades, cut into runs of every length. */
static void test_narrow_same_as_small(void **state)
{
    (void)state;
    enum { N = 9001 };
    static double x[N];
    static struct exactsum a;
    const int bases[] = {-1022, -600, -3, 0, 29, 700, 1013};
    srand(23);
    for (size_t t = 0; t < sizeof bases / sizeof bases[0]; t++) {
        int span = 1 + (int)(t * 5 % 11);
        xs_clear(&a);
        for (int i = 0; i < N; i++) {
            double m = 1.0 + (double)rand() / RAND_MAX;
            x[i] = i % 53 == 0 ? 0.0 : i % 71 == 0 ? NAN
                 : ldexp(i % 3 ? m : -m, bases[t] + rand() % span);
            if (x[i] == x[i])
                xs_add_f64(&a, x[i]);
        }
        xs_normalize(&a);
        assert_runs_give(&a, x, N, 20000, 4, 3);
    }
}

/* The rows path gives each cell the state of its values added one by
 * one: 300 cells (a partial block of XS_ROW_CELLS) of narrow values with
 * zeros and NaN, flushed after every few rows; and xs_span refuses rows
 * that hold an infinity, a subnormal or a span of 12 binades. */
static void test_rows_same_as_small(void **state)
{
    (void)state;
    enum { W = 300, R = 97 };
    static double x[R][W];
    static struct exactsum want[W], got[W];
    static struct xs_rows rows;
    srand(29);
    for (int j = 0; j < W; j++) {
        xs_clear(&want[j]);
        xs_clear(&got[j]);
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < W; j++) {
            double m = 1.0 + (double)rand() / RAND_MAX;
            x[r][j] = (r + j) % 41 == 0 ? 0.0 : (r * j) % 67 == 5 ? NAN
                    : ldexp(j % 2 ? m : -m, 7 + rand() % 3);
            if (x[r][j] == x[r][j])
                xs_add_f64(&want[j], x[r][j]);
        }
    for (int r0 = 0; r0 < R; r0 += 10) {
        struct xs_span sp;
        xs_span_init(&sp);
        for (int r = r0; r < R && r < r0 + 10; r++)
            xs_span_add(&sp, x[r], W);
        assert_true(xs_span_narrow(&sp));
        xs_rows_start(&rows, &sp, W);
        for (int r = r0; r < R && r < r0 + 10; r++)
            xs_rows_add(&rows, x[r]);
        xs_rows_flush(&rows, got);
    }
    unsigned char b1[XS_MAX_BYTES], b2[XS_MAX_BYTES];
    for (int j = 0; j < W; j++) {
        xs_normalize(&want[j]);
        size_t n1 = xs_encode(&want[j], b1, sizeof b1);
        assert_int_equal(xs_encode(&got[j], b2, sizeof b2), n1);
        assert_bytes_equal(b1, b2, n1);
    }
    const double odd[] = {INFINITY, ldexp(1.0, -1070), ldexp(1.0, 18)};
    for (int k = 0; k < 3; k++) {
        struct xs_span sp;
        xs_span_init(&sp);
        xs_span_add(&sp, x[0], W);
        xs_span_add(&sp, &odd[k], 1);
        assert_false(xs_span_narrow(&sp));
    }
}

/* assert_runs_give at every vector level of the fold path (xfold.h)
 * this CPU runs, and at none (the older paths take every run), each with
 * every version of the scan that plans the runs (xscan.h). */
static void assert_levels_give(const struct exactsum *want, const double *x,
                               size_t n)
{
    int top = xf_level(), stop = xscan_level();
    for (int s = 0; s <= stop; s++) {
        xscan_cap(s);
        for (int l = 0; l <= top; l++) {
            xf_cap(l);
            assert_runs_give(want, x, n, 20000, 5, 3);
        }
    }
    xf_cap(2);
    xscan_cap(2);
}

/* A standard-normal value (Box-Muller over rand()). */
static double normal(void)
{
    double u = ((double)rand() + 1) / ((double)RAND_MAX + 2);
    double v = (double)rand() / RAND_MAX;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Value i of adversarial set t for the fold path: standard normal; issue
 * 21's 1e9 +- 1e3 with every seventh negated; 1e16 + 1 - 1e16; huge and
 * tiny alternating within the folds' reach (38 binades) and beyond it;
 * the folds' exponent bounds 2^-400 and 2^500 and just past them; NaN,
 * zeros of both signs, infinities and subnormals among normal values;
 * values near 1e308. */
static double adversarial(int t, int i)
{
    double m = 1.0 + (double)rand() / RAND_MAX;
    switch (t) {
    case 0:
        return normal();
    case 1:
        return (i % 7 ? 1 : -1) * (1e9 + (2.0 * rand() / RAND_MAX - 1) * 1e3);
    case 2:
        return i % 3 == 0 ? 1e16 : i % 3 == 1 ? 1.0 : -1e16;
    case 3:
        return i % 2 ? ldexp(m, 20) : -ldexp(m, -18);
    case 4:
        return i % 2 ? ldexp(m, 500) : ldexp(i % 4 ? m : -m, -400);
    case 5:
        return i < 4500 ? ldexp(i % 2 ? m : -m, i % 3 ? 500 : 501)
                        : ldexp(i % 2 ? m : -m, i % 3 ? -400 : -401);
    case 6:
        return i % 13 == 0 ? NAN : i % 17 == 0 ? -0.0 : i % 19 == 0 ? 0.0
             : i % 4999 == 0 ? INFINITY : i % 6007 == 0 ? -INFINITY
             : i % 3001 == 0 ? ldexp(m, -1060) : normal() * 1e-3;
    default:
        return (i % 2 ? 1 : -1) * ldexp(m, 1022 - rand() % 3);
    }
}

/* The fold path and the paths beside it give the state of value by
 * value on every adversarial set, cut into runs of every length, at
 * every vector level; 1e16 + 1 - 1e16 sums to the count of ones. */
static void test_fold_same_as_small(void **state)
{
    (void)state;
    enum { N = 9000, SETS = 8 };
    static double x[N];
    static struct exactsum a;
    srand(31);
    for (int t = 0; t < SETS; t++) {
        xs_clear(&a);
        for (int i = 0; i < N; i++) {
            x[i] = adversarial(t, i);
            if (x[i] == x[i])
                xs_add_f64(&a, x[i]);
        }
        xs_normalize(&a);
        if (t == 2)
            assert_same(xs_sum(&a), N / 3);
        assert_levels_give(&a, x, N);
    }
}

/* v replaces *m when BELOW (strictly): the first of equals stays. */
static void keep_first(double *m, double v, int below)
{
    if (below ? v < *m : v > *m)
        *m = v;
}

/* The count, min and max of op_moments' pass 1 over the n values at x
 * (blocks of XSCAN_BLOCK, 16 lanes, a scalar tail; the first of equal
 * values kept at each step), value by value. */
static struct xscan_tally pass1_reference(const double *x, size_t n)
{
    struct xscan_tally t = {0, INFINITY, -INFINITY};
    for (size_t b0 = 0; b0 < n; b0 += XSCAN_BLOCK) {
        size_t len = n - b0 < XSCAN_BLOCK ? n - b0 : XSCAN_BLOCK;
        size_t body = len - len % 16;
        double bmn = INFINITY, bmx = -INFINITY;
        for (size_t l = 0; l < 16 && body; l++) {
            double lmn = INFINITY, lmx = -INFINITY;
            for (size_t j = l; j < body; j += 16) {
                keep_first(&lmn, x[b0 + j], 1);
                keep_first(&lmx, x[b0 + j], 0);
            }
            keep_first(&bmn, lmn, 1);
            keep_first(&bmx, lmx, 0);
        }
        for (size_t j = body; j < len; j++) {
            keep_first(&bmn, x[b0 + j], 1);
            keep_first(&bmx, x[b0 + j], 0);
        }
        keep_first(&t.min, bmn, 1);
        keep_first(&t.max, bmx, 0);
        for (size_t j = 0; j < len; j++)
            t.n += x[b0 + j] == x[b0 + j];
    }
    return t;
}

/* Value i of a tally set: zeros of both signs (alone, below and above
 * every other value, and rare), NaN, infinities, subnormals, normal
 * values. */
static double tally_value(int set, int i)
{
    double z = (i * 7919) % 5 < 2 ? -0.0 : 0.0;
    switch (set) {
    case 0:
        return z;
    case 1:
        return i % 11 == 0 ? NAN : i % 3 == 0 ? z : 1.0 + i;
    case 2:
        return i % 11 == 0 ? NAN : i % 3 == 0 ? z : -1.0 - i;
    case 3:     /* a rare +0 and -0, in lanes 4 and 9 of 16 */
        return i % 512 == 100 ? 0.0 : i % 512 == 201 ? -0.0 : 1.0 + i;
    default:
        return adversarial(6, i);
    }
}

/* xs_add_f64s_tally's count, min and max are those of op_moments' pass 1
 * bit for bit (the sign of a zero included) at every version of the scan,
 * over lengths with and without tails and in calls of whole blocks. */
static void test_tally_as_pass1(void **state)
{
    (void)state;
    enum { N = 9000 };
    static double x[N];
    static struct exactsum a;
    static struct xs_large L;
    static const size_t lens[] = {1, 17, 1000, 1024, 4097, N};
    int stop = xscan_level();
    srand(37);
    for (int set = 0; set < 5; set++) {
        for (int i = 0; i < N; i++)
            x[i] = tally_value(set, i);
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            struct xscan_tally want = pass1_reference(x, lens[k]);
            for (int s = 0; s <= stop; s++) {
                xscan_cap(s);
                for (size_t step = XSCAN_BLOCK; step <= N; step *= 3) {
                    struct xscan_tally t = {0, INFINITY, -INFINITY};
                    xs_clear(&a);
                    for (size_t i = 0; i < lens[k]; i += step)
                        xs_add_f64s_tally(&a, &L, x + i,
                                          lens[k] - i < step ? lens[k] - i
                                                             : step, &t);
                    assert_int_equal(t.n, want.n);
                    assert_same(t.min, want.min);
                    assert_same(t.max, want.max);
                }
            }
            xscan_cap(2);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancellation),
        cmocka_unit_test(test_subnormals),
        cmocka_unit_test(test_ties_to_even),
        cmocka_unit_test(test_overflow_inf_nan),
        cmocka_unit_test(test_random_against_int),
        cmocka_unit_test(test_var_integers),
        cmocka_unit_test(test_var_cancellation),
        cmocka_unit_test(test_mean_no_overflow),
        cmocka_unit_test(test_int64),
        cmocka_unit_test(test_merge_any_split),
        cmocka_unit_test(test_encode_round_trip_and_checks),
        cmocka_unit_test(test_carry_room),
        cmocka_unit_test(test_large_same_as_small),
        cmocka_unit_test(test_narrow_same_as_small),
        cmocka_unit_test(test_rows_same_as_small),
        cmocka_unit_test(test_fold_same_as_small),
        cmocka_unit_test(test_tally_as_pass1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
