/* exactsum.c -- exact sums, their carries, rounding and encoding.
 *
 * The accumulators are Neal's small superaccumulator (exactsum.h); long
 * runs of float64 values pass through error-free folds (xfold.h) or, when
 * those do not qualify, his large superaccumulator first
 * (xs_add_f64s_skipnan), which is flushed into the small one.  The
 * results need more than a conversion: the mean is the exact sum over a
 * count and the variance a difference of exact integers over a product of
 * counts.  Both are done on non-negative big integers of 32-bit digits
 * (struct big): the numerator is shifted up by enough digits that the
 * integer quotient keeps at least 64 significant bits, the remainder
 * becomes a sticky bit, and the one rounding to float64 happens in
 * big_to_double (round to nearest, ties to even, IEEE's gradual
 * underflow and overflow).  The variance numerator n Sxx - Sx^2 is exact,
 * so no cancellation can cost a digit (the bound the issue asks for,
 * 1e-15, is met with room: the result is correctly rounded).
 */
#include <math.h>

#include "exactsum.h"
#include "simd.h"
#include "xfold.h"
#include "xscan.h"

/* Digits of the largest big integer: Sx^2 (2 * 70 digits) and n Sxx
 * (136 + 2), each shifted up by SHIFT_DIGITS. */
#define BIG_DIGITS 152
#define SHIFT_DIGITS 6

struct big {
    uint32_t d[BIG_DIGITS];     /* little-endian */
    int n;                      /* digits in use; d[n-1] != 0 unless n == 0 */
};

void xs_clear(struct exactsum *a)
{
    memset(a, 0, sizeof *a);
}

/* Carry chunk i into chunk i + 1 so chunk i lies in [-2^31, 2^31). */
static void carry(int64_t *c, int n)
{
    for (int i = 0; i < n - 1; i++) {
        int64_t k = (c[i] + ((int64_t)1 << 31)) >> 32;
        c[i] -= (int64_t)((uint64_t)k << 32);
        c[i + 1] += k;
    }
}

void xs_normalize(struct exactsum *a)
{
    carry(a->s, XS_SUM_CHUNKS);
    carry(a->q, XS_SQ_CHUNKS);
    a->pending = 0;
}

/* c += sign * mag * 2^pos (pos in the accumulator's bits), one 32-bit
 * digit per chunk so each chunk takes less than 2^32. */
static void add_mag(int64_t *c, int neg, unsigned __int128 mag, unsigned pos)
{
    unsigned i = pos >> 5, s = pos & 31;
    int64_t d = (int64_t)(((uint64_t)mag << s) & 0xffffffffu);
    c[i] += neg ? -d : d;
    for (mag >>= 32 - s; mag; mag >>= 32) {
        d = (int64_t)((uint64_t)mag & 0xffffffffu);
        c[++i] += neg ? -d : d;
    }
}

/* 2^0 is bit 1074 of the sum and bit 2148 of the squares. */
#define SUM_ONE 1074
#define SQ_ONE 2148

void xs_add_u64(struct exactsum *a, uint64_t v)
{
    add_mag(a->s, 0, v, SUM_ONE);
    add_mag(a->q, 0, (unsigned __int128)v * v, SQ_ONE);
    if (++a->pending == XS_PENDING)
        xs_normalize(a);
}

void xs_add_i64(struct exactsum *a, int64_t v)
{
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    add_mag(a->s, v < 0, m, SUM_ONE);
    add_mag(a->q, 0, (unsigned __int128)m * m, SQ_ONE);
    if (++a->pending == XS_PENDING)
        xs_normalize(a);
}

/* Values per lane between flushes of the large accumulator: a signed
 * mantissa is below 2^53 in size, so 512 of them fit an int64 entry (and
 * 512 squares, below 2^106, a 128-bit one). */
#define LARGE_RUN (512 * XS_LANES)
_Static_assert(LARGE_RUN <= XF_RUN, "a run must fit the fold path");

/* Move entries [lo, hi] of every lane of L into a; entry e holds
 * mantissas of weight 2^(e - 1 - 1074) (e >= 1: normal numbers). */
static void large_flush(struct exactsum *a, struct xs_large *L, unsigned lo,
                        unsigned hi)
{
    for (int k = 0; k < XS_LANES; k++) {
        for (unsigned e = lo; e <= hi; e++) {
            int64_t v = L->s[k][e];
            if (v) {
                add_mag(a->s, v < 0, v < 0 ? 0 - (uint64_t)v : (uint64_t)v,
                        e - 1);
            }
            if (L->q[k][e])
                add_mag(a->q, 0, L->q[k][e], 2 * (e - 1));
        }
    }
    /* A chunk took at most a few digits below 2^32 per entry. */
    xs_normalize(a);
}

#define MANT ((UINT64_C(1) << 52) - 1)

/* The narrow path: a run whose normal numbers span at most NARROW_SPAN + 1
 * binades, with no subnormal or infinity (most runs of measured data).
 * Each value becomes an integer v = mantissa << (exponent - lo), below
 * 2^63, of weight 2^(lo - 1075); v = vh 2^32 + vl, and v^2 = vh^2 2^64 +
 * 2 vh vl 2^32 + vl^2 from three 32 x 32 -> 64-bit products.  The signed
 * halves of v and the 32-bit halves of the products are summed in
 * separate 64-bit integers: each term is below 2^32, so LARGE_RUN of them
 * cannot overflow.  No scatter by exponent, so the loop vectorises; the
 * sums are integers, so their order changes nothing. */
#define NARROW_SPAN XS_NARROW_SPAN

/* The terms of the value X for the span's lowest exponent field LO: the
 * signed halves D0, D1 of v and the products P0 = vl^2, P1 = vh vl and
 * P2 = vh^2 (a zero or a NaN gives zeros). */
#define NARROW_TERMS(X, LO)                                                  \
    uint64_t b_;                                                             \
    memcpy(&b_, &(X), 8);                                                    \
    uint64_t e_ = (b_ >> 52) & 0x7ff;                                        \
    int normal_ = e_ >= 1 && e_ <= 0x7fe;                                    \
    uint64_t m_ = normal_ ? (b_ & MANT) | (MANT + 1) : 0;                    \
    uint64_t v_ = m_ << (normal_ ? e_ - (LO) : 0);                           \
    int64_t sign_ = (int64_t)b_ >> 63;                                       \
    uint32_t vl_ = (uint32_t)v_, vh_ = (uint32_t)(v_ >> 32);                 \
    int64_t d0 = ((int64_t)vl_ ^ sign_) - sign_;                             \
    int64_t d1 = ((int64_t)vh_ ^ sign_) - sign_;                             \
    uint64_t p0 = (uint64_t)vl_ * vl_, p1 = (uint64_t)vh_ * vl_,             \
             p2 = (uint64_t)vh_ * vh_

struct narrow {
    int64_t s[2];       /* sum of vl, of vh, signed */
    uint64_t q[6];      /* halves of vl^2, of vh vl, of vh^2: low, high */
};

H5B_CLONES H5B_VECTORISE
static void narrow_sums(const double *x, size_t n, unsigned lo,
                        struct narrow *r)
{
    int64_t s0 = 0, s1 = 0;
    uint64_t q0 = 0, q1 = 0, q2 = 0, q3 = 0, q4 = 0, q5 = 0;
    const uint64_t low = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        NARROW_TERMS(x[i], lo);
        s0 += d0;
        s1 += d1;
        q0 += p0 & low;
        q1 += p0 >> 32;
        q2 += p1 & low;
        q3 += p1 >> 32;
        q4 += p2 & low;
        q5 += p2 >> 32;
    }
    *r = (struct narrow){{s0, s1}, {q0, q1, q2, q3, q4, q5}};
}

/* c += v 2^pos for a signed v. */
static void add_signed(int64_t *c, int64_t v, unsigned pos)
{
    if (v)
        add_mag(c, v < 0, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, pos);
}

/* Add the narrow sums r of a run with lowest exponent lo into a. */
static void narrow_flush(struct exactsum *a, const struct narrow *r,
                         unsigned lo)
{
    unsigned ps = lo - 1, pq = 2 * (lo - 1);
    add_signed(a->s, r->s[0], ps);
    add_signed(a->s, r->s[1], ps + 32);
    static const unsigned at[6] = {0, 32, 32, 64, 64, 96};
    for (int k = 0; k < 6; k++) {
        unsigned __int128 v = r->q[k];
        if (v)
            add_mag(a->q, 0, k == 2 || k == 3 ? 2 * v : v, pq + at[k]);
    }
    xs_normalize(a);
}

/* c += d for a finite d, in an accumulator whose bit 0 has the weight of
 * bit `one - 1074` of the sum's (one: 0 for the sum, 1074 the squares). */
static void add_double(int64_t *c, double d, unsigned one)
{
    uint64_t b;
    memcpy(&b, &d, 8);
    uint64_t e = (b >> 52) & 0x7ff, m = b & MANT;
    if (d == 0)
        return;
    m |= e ? MANT + 1 : 0;
    add_mag(c, (int)(b >> 63), m, (unsigned)(e ? e - 1 : 0) + one);
}

/* The fold path (xfold.h) for a run of normal values with exponent
 * fields lo..hi: returns 0 when the run does not qualify. */
static int fold_run(struct exactsum *a, const double *x, size_t n,
                    unsigned lo, unsigned hi)
{
    struct xf_plan p;
    double ds[XF_SUM_FOLDS], dq[XF_SQ_FOLDS];
    if (!xf_plan(&p, lo, hi))
        return 0;
    xf_run(&p, x, n, ds, dq);
    /* Each fold adds a digit below 2^32 to a chunk: at most 8 a run. */
    for (int k = 0; k < p.ks; k++)
        add_double(a->s, ds[k], 0);
    for (int k = 0; k < p.kq; k++)
        add_double(a->q, dq[k], SUM_ONE);
    if (++a->pending == XS_PENDING)
        xs_normalize(a);
    return 1;
}

/* One value into lane K of L.  Normal numbers only; the rest (zeros,
 * subnormals, infinities, NaN) take the rare path: a zero or NaN adds
 * nothing, an infinity is counted, a subnormal goes to a directly. */
#define LARGE_ONE(K, V)                                                      \
    do {                                                                     \
        uint64_t b_;                                                         \
        memcpy(&b_, &(V), 8);                                                \
        unsigned e_ = (unsigned)(b_ >> 52) & 0x7ff;                          \
        if (__builtin_expect(e_ - 1 >= 0x7fe, 0)) {                          \
            rare(a, V);                                                      \
        } else {                                                             \
            uint64_t m_ = (b_ & MANT) | (MANT + 1);                          \
            int64_t s_ = (int64_t)b_ >> 63;                                  \
            L->s[K][e_] += ((int64_t)m_ ^ s_) - s_;                          \
            L->q[K][e_] += (unsigned __int128)m_ * m_;                       \
        }                                                                    \
    } while (0)

static void rare(struct exactsum *a, double v)
{
    if (v != v || v == 0)
        return;
    xs_add_f64(a, v);
}

/* Add the run of len values at p, whose range r is, to a (L scratch). */
static void add_run(struct exactsum *a, struct xs_large *L, const double *p,
                    size_t len, const struct xscan_range *r)
{
    unsigned lo = r->lo, hi = r->hi;
    size_t i = 0;
    if (!r->odd && lo <= hi && fold_run(a, p, len, lo, hi))
        return;
    if (!r->odd && lo <= hi && hi - lo <= NARROW_SPAN) {
        struct narrow nr;
        narrow_sums(p, len, lo, &nr);
        narrow_flush(a, &nr, lo);
        return;
    }
    /* Only the entries of the run's exponents are used: zero those. */
    for (int k = 0; k < XS_LANES && lo <= hi; k++) {
        memset(&L->s[k][lo], 0, (hi - lo + 1) * sizeof L->s[k][0]);
        memset(&L->q[k][lo], 0, (hi - lo + 1) * sizeof L->q[k][0]);
    }
    for (; i + XS_LANES <= len; i += XS_LANES) {
        LARGE_ONE(0, p[i]);
        LARGE_ONE(1, p[i + 1]);
        LARGE_ONE(2, p[i + 2]);
        LARGE_ONE(3, p[i + 3]);
        LARGE_ONE(4, p[i + 4]);
        LARGE_ONE(5, p[i + 5]);
        LARGE_ONE(6, p[i + 6]);
        LARGE_ONE(7, p[i + 7]);
    }
    for (; i < len; i++)
        LARGE_ONE(0, p[i]);
    if (lo <= hi)
        large_flush(a, L, lo, hi);
}

void xs_add_f64s_tally(struct exactsum *a, struct xs_large *L,
                       const double *x, size_t n, struct xscan_tally *t)
{
    xs_normalize(a);
    for (size_t i0 = 0; i0 < n; i0 += LARGE_RUN) {
        size_t len = n - i0 < LARGE_RUN ? n - i0 : LARGE_RUN;
        struct xscan_range r;
        xscan_run(x + i0, len, &r, t);
        add_run(a, L, x + i0, len, &r);
    }
    xs_normalize(a);
}

void xs_add_f64s_skipnan(struct exactsum *a, struct xs_large *L,
                         const double *x, size_t n)
{
    struct xscan_tally t = {0, INFINITY, -INFINITY};
    xs_add_f64s_tally(a, L, x, n, &t);
}

void xs_span_init(struct xs_span *sp)
{
    *sp = (struct xs_span){XS_EXPONENTS, 0, 0};
}

void xs_span_add(struct xs_span *sp, const double *x, size_t n)
{
    struct xscan_range r;
    xscan_range(x, n, &r);
    sp->odd |= r.odd;
    sp->lo = r.lo < sp->lo ? r.lo : sp->lo;
    sp->hi = r.hi > sp->hi ? r.hi : sp->hi;
}

int xs_span_narrow(const struct xs_span *sp)
{
    return !sp->odd && (sp->lo > sp->hi || sp->hi - sp->lo <= NARROW_SPAN);
}

void xs_rows_start(struct xs_rows *R, const struct xs_span *sp, size_t ncell)
{
    R->lo = sp->lo <= sp->hi ? sp->lo : 1;  /* no normal value: any */
    R->ncell = ncell;
    for (int k = 0; k < 2; k++)
        memset(R->s[k], 0, ncell * sizeof R->s[k][0]);
    for (int k = 0; k < 6; k++)
        memset(R->q[k], 0, ncell * sizeof R->q[k][0]);
}

/* narrow_sums across cells: the same terms, one cell's sums per lane. */
H5B_CLONES H5B_VECTORISE
void xs_rows_add(struct xs_rows *R, const double *row)
{
    const uint64_t lo = R->lo, low = 0xffffffffu;
    int64_t *restrict s0 = R->s[0], *restrict s1 = R->s[1];
    uint64_t *restrict q0 = R->q[0], *restrict q1 = R->q[1],
             *restrict q2 = R->q[2], *restrict q3 = R->q[3],
             *restrict q4 = R->q[4], *restrict q5 = R->q[5];
    for (size_t j = 0; j < R->ncell; j++) {
        NARROW_TERMS(row[j], lo);
        s0[j] += d0;
        s1[j] += d1;
        q0[j] += p0 & low;
        q1[j] += p0 >> 32;
        q2[j] += p1 & low;
        q3[j] += p1 >> 32;
        q4[j] += p2 & low;
        q5[j] += p2 >> 32;
    }
}

void xs_rows_flush(const struct xs_rows *R, struct exactsum *a)
{
    for (size_t j = 0; j < R->ncell; j++) {
        struct narrow r = {{R->s[0][j], R->s[1][j]},
                           {R->q[0][j], R->q[1][j], R->q[2][j], R->q[3][j],
                            R->q[4][j], R->q[5][j]}};
        narrow_flush(&a[j], &r, R->lo);
    }
}

void xs_merge(struct exactsum *a, const struct exactsum *b)
{
    xs_normalize(a);
    struct exactsum t = *b;
    xs_normalize(&t);
    for (int i = 0; i < XS_SUM_CHUNKS; i++)
        a->s[i] += t.s[i];
    for (int i = 0; i < XS_SQ_CHUNKS; i++)
        a->q[i] += t.q[i];
    a->pinf += t.pinf;
    a->ninf += t.ninf;
    a->nan += t.nan;
    xs_normalize(a);
}

/* ---- big integers -------------------------------------------------- */

static void big_trim(struct big *x)
{
    while (x->n > 0 && x->d[x->n - 1] == 0)
        x->n--;
}

/* |chunks| as a big integer shifted up by `shift` digits; *neg its sign.
 * The chunks need not be normalised (each below 2^62 in size). */
static void big_from_chunks(struct big *x, const int64_t *c, int nc,
                            int shift, int *neg)
{
    int64_t k = 0;
    memset(x, 0, sizeof *x);
    for (int i = 0; i < nc; i++) {
        int64_t v = c[i] + k;
        x->d[shift + i] = (uint32_t)v;
        k = v >> 32;
    }
    /* k is now 0 or -1 (the sum fits the top chunk): the two's
     * complement sign of the shift + nc digits. */
    *neg = k < 0;
    x->n = shift + nc;
    if (*neg) {
        uint64_t cy = 1;
        for (int i = 0; i < x->n; i++) {
            uint64_t v = (uint64_t)(uint32_t)~x->d[i] + cy;
            x->d[i] = (uint32_t)v;
            cy = v >> 32;
        }
    }
    big_trim(x);
}

/* r := x * x. */
static void big_square(struct big *r, const struct big *x)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < x->n; i++) {
        uint64_t cy = 0;
        for (int j = 0; j < x->n; j++) {
            uint64_t v = (uint64_t)x->d[i] * x->d[j] + r->d[i + j] + cy;
            r->d[i + j] = (uint32_t)v;
            cy = v >> 32;
        }
        r->d[i + x->n] = (uint32_t)cy;
    }
    r->n = 2 * x->n;
    big_trim(r);
}

/* x := x * m. */
static void big_mul_u64(struct big *x, uint64_t m)
{
    uint32_t ml = (uint32_t)m, mh = (uint32_t)(m >> 32);
    struct big r = {{0}, x->n + 2};
    for (int i = 0; i < x->n; i++) {
        uint64_t v = (uint64_t)x->d[i] * ml + r.d[i];
        r.d[i] = (uint32_t)v;
        uint64_t w = (uint64_t)x->d[i] * mh + r.d[i + 1] + (v >> 32);
        r.d[i + 1] = (uint32_t)w;
        r.d[i + 2] = (uint32_t)(w >> 32);
    }
    big_trim(&r);
    *x = r;
}

/* -1, 0 or 1 as x <, = or > y. */
static int big_cmp(const struct big *x, const struct big *y)
{
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    for (int i = x->n - 1; i >= 0; i--)
        if (x->d[i] != y->d[i])
            return x->d[i] < y->d[i] ? -1 : 1;
    return 0;
}

/* x := x - y, given x >= y. */
static void big_sub(struct big *x, const struct big *y)
{
    int64_t b = 0;
    for (int i = 0; i < x->n; i++) {
        int64_t v = (int64_t)x->d[i] - (i < y->n ? y->d[i] : 0) + b;
        x->d[i] = (uint32_t)v;
        b = v >> 32;
    }
    big_trim(x);
}

/* x := floor(x / m) for m > 0; returns whether the remainder is nonzero. */
static int big_div_u64(struct big *x, uint64_t m)
{
    unsigned __int128 rem = 0;
    for (int i = x->n - 1; i >= 0; i--) {
        unsigned __int128 v = (rem << 32) | x->d[i];
        x->d[i] = (uint32_t)(v / m);
        rem = v % m;
    }
    big_trim(x);
    return rem != 0;
}

/* Bit b of x. */
static unsigned big_bit(const struct big *x, int b)
{
    return b / 32 < x->n ? (x->d[b / 32] >> (b % 32)) & 1u : 0;
}

/* Any of bits [0, b) of x set? */
static int big_any_below(const struct big *x, int b)
{
    for (int i = 0; i < b / 32 && i < x->n; i++)
        if (x->d[i])
            return 1;
    return b / 32 < x->n && (x->d[b / 32] & ((1u << (b % 32)) - 1)) != 0;
}

/* (-1)^neg * (x + sticky') * 2^e rounded once to float64, where a set
 * sticky stands for a nonzero fraction below x's lowest bit (callers keep
 * x at 64 bits or more then, so it only breaks ties). */
static double big_to_double(const struct big *x, int e, int sticky, int neg)
{
    if (x->n == 0)
        return neg ? -0.0 : 0.0;
    int top = 32 * (x->n - 1) + 31;
    while (!big_bit(x, top))
        top--;
    /* The kept bits: 53 below the top, none under 2^-1074. */
    int low = top - 52;
    if (low + e < -1074)
        low = -1074 - e;
    uint64_t m = 0;
    for (int b = top; b >= low; b--)
        m = (m << 1) | (b >= 0 ? big_bit(x, b) : 0);
    if (low > 0) {
        unsigned half = big_bit(x, low - 1);
        int rest = sticky || big_any_below(x, low - 1);
        if (half && (rest || (m & 1)))
            m++;
    }
    double r = ldexp((double)m, low + e);
    return neg ? -r : r;
}

/* ---- results ------------------------------------------------------- */

/* The value for non-finite inputs: NaN, +-inf, or 0 if there were none
 * (then the finite result stands). */
static double nonfinite(const struct exactsum *a)
{
    if (a->nan || (a->pinf && a->ninf))
        return NAN;
    if (a->pinf)
        return INFINITY;
    return a->ninf ? -INFINITY : 0.0;
}

double xs_sum(const struct exactsum *a)
{
    if (a->nan || a->pinf || a->ninf)
        return nonfinite(a);
    struct big x;
    int neg;
    big_from_chunks(&x, a->s, XS_SUM_CHUNKS, 0, &neg);
    /* fsum returns +0.0 for an exact zero, whatever the signs of zeros. */
    return x.n ? big_to_double(&x, -SUM_ONE, 0, neg) : 0.0;
}

double xs_mean(const struct exactsum *a, uint64_t n)
{
    if (n == 0)
        return NAN;
    if (a->nan || a->pinf || a->ninf)
        return nonfinite(a);
    struct big x;
    int neg;
    big_from_chunks(&x, a->s, XS_SUM_CHUNKS, SHIFT_DIGITS, &neg);
    if (x.n == 0)
        return 0.0;
    int sticky = big_div_u64(&x, n);
    return big_to_double(&x, -SUM_ONE - 32 * SHIFT_DIGITS, sticky, neg);
}

double xs_var(const struct exactsum *a, uint64_t n, unsigned ddof)
{
    if (n <= ddof || a->nan || a->pinf || a->ninf)
        return NAN;
    struct big s, s2, q;
    int neg;
    big_from_chunks(&s, a->s, XS_SUM_CHUNKS, 0, &neg);
    big_square(&s2, &s);
    big_from_chunks(&q, a->q, XS_SQ_CHUNKS, 0, &neg);
    big_mul_u64(&q, n);
    /* n Sxx - Sx^2 >= 0 (Cauchy-Schwarz) unless the state was forged. */
    if (neg || big_cmp(&q, &s2) < 0)
        return NAN;
    big_sub(&q, &s2);
    if (q.n == 0)
        return 0.0;
    memmove(q.d + SHIFT_DIGITS, q.d, (size_t)q.n * sizeof q.d[0]);
    memset(q.d, 0, SHIFT_DIGITS * sizeof q.d[0]);
    q.n += SHIFT_DIGITS;
    /* floor(floor(D / n) / (n - ddof)) = floor(D / (n (n - ddof))). */
    int sticky = big_div_u64(&q, n);
    sticky |= big_div_u64(&q, n - ddof);
    return big_to_double(&q, -SQ_ONE - 32 * SHIFT_DIGITS, sticky, 0);
}

/* ---- encoding ------------------------------------------------------ */

/* The range [*lo, *hi) of nonzero chunks of c (empty: 0, 0). */
static void nonzero_range(const int64_t *c, int n, int *lo, int *hi)
{
    *lo = 0;
    *hi = n;
    while (*hi > 0 && c[*hi - 1] == 0)
        (*hi)--;
    while (*lo < *hi && c[*lo] == 0)
        (*lo)++;
    if (*lo == *hi)
        *lo = *hi = 0;
}

size_t xs_encoded_size(const struct exactsum *a)
{
    int sl, sh, ql, qh;
    nonzero_range(a->s, XS_SUM_CHUNKS, &sl, &sh);
    nonzero_range(a->q, XS_SQ_CHUNKS, &ql, &qh);
    return 24 + 16 + 4 * (size_t)(sh - sl + qh - ql);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get_u64(const unsigned char *p)
{
    return get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Write chunks [lo, hi) of c at p: u32 lo, u32 count, count i32. */
static unsigned char *put_chunks(unsigned char *p, const int64_t *c, int n)
{
    int lo, hi;
    nonzero_range(c, n, &lo, &hi);
    put_u32(p, (uint32_t)lo);
    put_u32(p + 4, (uint32_t)(hi - lo));
    p += 8;
    for (int i = lo; i < hi; i++, p += 4)
        put_u32(p, (uint32_t)(int32_t)c[i]);
    return p;
}

size_t xs_encode(const struct exactsum *a, unsigned char *buf, size_t len)
{
    size_t need = xs_encoded_size(a);
    if (len < need || a->pending)
        return 0;
    put_u64(buf, a->pinf);
    put_u64(buf + 8, a->ninf);
    put_u64(buf + 16, a->nan);
    unsigned char *p = put_chunks(buf + 24, a->s, XS_SUM_CHUNKS);
    put_chunks(p, a->q, XS_SQ_CHUNKS);
    return need;
}

/* Read chunks written by put_chunks from [*p, end) into c (n chunks);
 * returns 0 if they do not fit.  Digits are i32, so balanced. */
static int get_chunks(const unsigned char **p, const unsigned char *end,
                      int64_t *c, int n)
{
    if (end - *p < 8)
        return 0;
    uint32_t lo = get_u32(*p), cnt = get_u32(*p + 4);
    *p += 8;
    if (lo > (uint32_t)n || cnt > (uint32_t)n - lo ||
        (size_t)(end - *p) / 4 < cnt)
        return 0;
    for (uint32_t i = 0; i < cnt; i++, *p += 4)
        c[lo + i] = (int32_t)get_u32(*p);
    return 1;
}

size_t xs_decode(struct exactsum *a, const unsigned char *buf, size_t len)
{
    const unsigned char *p = buf + 24, *end = buf + len;
    xs_clear(a);
    if (len < 24)
        return 0;
    if (!get_chunks(&p, end, a->s, XS_SUM_CHUNKS) ||
        !get_chunks(&p, end, a->q, XS_SQ_CHUNKS)) {
        xs_clear(a);
        return 0;
    }
    a->pinf = get_u64(buf);
    a->ninf = get_u64(buf + 8);
    a->nan = get_u64(buf + 16);
    return (size_t)(p - buf);
}
