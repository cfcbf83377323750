/* op_quantile.c -- quantiles of each cell from a mergeable log-bucket sketch.
 *
 * A DDSketch (Masson, Rim and Lee, VLDB 2019) per cell.  Positive values
 * go to one store of bucket counters, negative values by magnitude to a
 * mirrored one.  Zeros, and nonzero values with |x| < 1e-300 (SKETCH_TINY:
 * below any physical quantity and it bounds the index range), are counted
 * apart and reported as 0.  NaN is skipped and not counted.  -inf and +inf
 * are counted at the two ends, so ranks stay those numpy uses and a
 * quantile landing on them is reported as -inf or +inf.  The exact min
 * and max are kept too: ranks 1 and n report them, which makes q = 0 and
 * q = 1 exact, and every other estimate is clamped into [min, max].
 *
 * The bucket of a magnitude m = 2^e (1 + f), f in [0, 1), is not
 * ceil(log(m) / log(gamma)) but, as in sketches-java's
 * CubicallyInterpolatedMapping, i = k (e + P(f)) rounded to the nearest
 * integer, P(f) = ((A f + B) f + C) f with A = 6/35, B = -3/5, C = 10/7:
 * e and f come from the bits of m, so a value costs a few multiplies and
 * adds and no libm call.  P(0) = 0 and P(1) = 1, so L(m) = e + P(f) is
 * continuous, increasing and equal to log2(m) at powers of two.
 *
 * The derivation of k: a bucket spans 1/k in L; dL/d(log2 m) =
 * (1 + f) ln2 P'(f) lies in
 * [C ln2, (52/35) ln2] (its minimum is at f = 0 and f = 2/3), so a bucket
 * spans at most 1 / (k C ln2) in log2 m.  With k = 1 / (C ln gamma) =
 * 0.7 / ln(gamma), gamma = (1+a)/(1-a), that is log2 gamma: a bucket
 * [lo, hi] has hi/lo <= gamma, and its representative 2 lo hi / (lo + hi)
 * is within relative error (hi - lo)/(hi + lo) <= a of every value in it.
 * A bucket also spans at least (25/26) log2 gamma.
 *
 * Only the top 40 of f's 52 bits are used: P is then evaluated on a grid
 * of step 2^-40, where it rises by at least P'(1) 2^-40 = (26/35) 2^-40
 * per step, far more than the ~2^-50 rounding error of the computed P; so
 * the computed index is exactly monotone in m (rounding is monotone, and
 * the computed P stays below 1) and a bucket is an interval of doubles.
 * Finalize finds that interval's ends exactly, by bisection on the
 * computed mapping, and reports 2 lo hi / (lo + hi).  The arithmetic is
 * written one operation a statement (no contraction into fma, with any
 * compiler) and without division, libm or integer-double conversions, so
 * it is the same bits on any IEEE-754 machine, and vectorises.
 *
 * a is the job's quantile_accuracy shrunk by 2^-16 of itself: dropping 12
 * bits of f moves m by under 2^-40 relative, and the rounding of P, of
 * e + P and of the multiply by k move the bucket ends by under 2^-41 in
 * log2 m; together under 2^-38 relative in hi/lo, far below that margin
 * (a 2^-16 >= 1.5e-11), so the bound a holds despite rounding (for
 * a >= MIN_ACCURACY).
 *
 * Memory is bounded by the sketch, never by the data: a store holds at
 * most SKETCH_MAX_BINS contiguous uint64 counters, a window [lo, lo+n).
 * When a value needs a wider window the lowest buckets are collapsed into
 * the lowest kept one (DDSketch's collapsing-lowest store): only the
 * smallest magnitudes of each sign lose accuracy -- positives nearest zero
 * and, in the mirrored store, negatives nearest zero.  A quantile landing
 * on a value of magnitude below max|x| / gamma^((25/26)(SKETCH_MAX_BINS-1))
 * of its sign loses the guarantee (it is reported too large in magnitude;
 * the clamp to [min, max] still holds).  With the default a = 0.01, 2048
 * buckets span a factor of at least 1.0202^1968 ~ 1.2e17 (4e17 on
 * average: k = 35 buckets an octave), so real data never collapses.  A
 * cell takes at most 2 * 2048 * 8 = 32 KiB of counters plus a 96-byte
 * header, however many values it sees; counters are allocated as the
 * window grows.  Its encoding is 80 bytes plus 8 per bucket in use, at
 * most 32848 bytes.
 *
 * Invariant (the canonical form): a non-empty store's top bucket
 * lo + n - 1 is the highest index ever counted; lo is the lowest index
 * counted, or top - SKETCH_MAX_BINS + 1 if that is higher, and bucket lo
 * then holds every value at or below it; the first and last counters are
 * non-zero.  An empty store has n == 0 and lo == 0.  Hence a state is a
 * function of the multiset of its values alone: any split into partitions
 * and any merge order give the same bytes.  A cell's n is the sum of its
 * zero, infinity and bucket counts.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h5batch/operator.h"
#include "asblock.h"
#include "op.h"
#include "simd.h"
#include "sketchmap.h"
#include "stats.h"

#define MAX_QUANTILES SKETCH_MAX_QUANTILES
#define MIN_ACCURACY 1e-6
#define DEFAULT_ACCURACY "0.01"
#define DEFAULT_QUANTILES "0.01, 0.5, 0.99"
/* Relative shrink of the accuracy that absorbs floating-point rounding. */
#define ACCURACY_MARGIN (1.0 / 65536)

/* The interpolating cubic P(f) = ((A f + B) f + C) f of log2(1 + f). */
#define CUBIC_A (6.0 / 35)
#define CUBIC_B (-3.0 / 5)
#define CUBIC_C (10.0 / 7)
/* Bits of a double: the 40 top bits of the fraction kept; 1.0; the
 * exponent field of 2^52, which makes the low bits an exact integer. */
#define FRAC_KEPT 0x000ffffffffff000ull
#define ONE_BITS 0x3ff0000000000000ull
#define INT_BITS 0x4330000000000000ull
#define SIGN_BIT 0x8000000000000000ull
/* Adding 1.5 * 2^52 rounds a double of magnitude < 2^51 to an integer. */
#define ROUNDER 0x1.8p52
/* Values a one-cell kernel maps to buckets at once. */
#define BLOCK 256

/* Encoded sizes: state header (ncell, accuracy), cell header (n, zero,
 * ninf, pinf, min, max), store header (lo, bins), then 8 per bin. */
#define HEAD_BYTES 16
#define CELL_BYTES 48
#define STORE_BYTES 16

/* The per-value path must not cost a call: GCC at -O2 does not inline
 * cell_add into ten kernels on its own. */
#define HOT static inline __attribute__((always_inline))

/* Buckets [lo, lo + n) in c[0..n); cap counters allocated. */
struct store {
    int64_t lo;
    uint32_t n, cap;
    uint64_t *c;
};

struct cell {
    uint64_t n, zero, ninf, pinf;
    double min, max;            /* +inf / -inf while n == 0 */
    struct store neg, pos;      /* neg counts magnitudes of negatives */
};

struct quantile {
    const struct h5b_op_config *cfg;
    uint64_t ncell;
    double accuracy;            /* as given: checked on decode and merge */
    double mult;                /* k = 0.7 / log(gamma) */
    int64_t idx_lim;            /* |bucket index| never exceeds this */
    unsigned nq;
    double q[MAX_QUANTILES];    /* as given */
    unsigned order[MAX_QUANTILES]; /* indexes of q, ascending q */
    struct cell *c;
};

static const char *const provides[] = {"quantiles", NULL};

/* ---- stores ------------------------------------------------------------- */

/* Make room for need (<= SKETCH_MAX_BINS) counters, growing geometrically.
 * On failure s is unchanged. */
static int store_reserve(struct store *s, uint32_t need)
{
    if (need <= s->cap)
        return 0;
    uint32_t cap = s->cap ? 2 * s->cap : 16;
    cap = cap < need ? need : cap;
    cap = cap > SKETCH_MAX_BINS ? SKETCH_MAX_BINS : cap;
    uint64_t *c = realloc(s->c, cap * sizeof *c);
    if (!c)
        return -1;
    s->c = c;
    s->cap = cap;
    return 0;
}

/* The canonical window [*lo, *hi] of s's values plus indexes [lo2, hi2].
 * s->lo stands in for s's lowest index: if s collapsed, its lowest index
 * is below the new window anyway. */
static void store_window(const struct store *s, int64_t lo2, int64_t hi2,
                         int64_t *lo, int64_t *hi)
{
    if (s->n) {
        int64_t top = s->lo + (int64_t)s->n - 1;
        lo2 = s->lo < lo2 ? s->lo : lo2;
        hi2 = top > hi2 ? top : hi2;
    }
    *hi = hi2;
    *lo = hi2 - (SKETCH_MAX_BINS - 1) > lo2 ? hi2 - (SKETCH_MAX_BINS - 1)
                                             : lo2;
}

/* Move s's window to [lo, hi], folding buckets below lo into bucket lo.
 * Needs hi >= s's top bucket and hi - lo + 1 counters reserved. */
static void store_reframe(struct store *s, int64_t lo, int64_t hi)
{
    uint32_t want = (uint32_t)(hi - lo + 1);
    if (s->n == 0) {
        memset(s->c, 0, want * sizeof *s->c);
    } else if (lo >= s->lo) {
        uint64_t d = (uint64_t)(lo - s->lo), below = 0;
        uint32_t fold = d < s->n ? (uint32_t)d : s->n, keep = s->n - fold;
        for (uint32_t k = 0; k < fold; k++)
            below += s->c[k];
        memmove(s->c, s->c + fold, keep * sizeof *s->c);
        memset(s->c + keep, 0, (want - keep) * sizeof *s->c);
        s->c[0] += below;
    } else {
        uint32_t d = (uint32_t)(s->lo - lo);
        memmove(s->c + d, s->c, s->n * sizeof *s->c);
        memset(s->c, 0, d * sizeof *s->c);
        memset(s->c + d + s->n, 0, (want - d - s->n) * sizeof *s->c);
    }
    s->lo = lo;
    s->n = want;
}

/* Count one value of bucket i outside s's window: the slow path of
 * store_add.  On failure (no memory) s is unchanged. */
static int store_widen(struct store *s, int64_t i)
{
    int64_t lo, hi;
    store_window(s, i, i, &lo, &hi);
    if (store_reserve(s, (uint32_t)(hi - lo + 1)) < 0)
        return -1;
    store_reframe(s, lo, hi);
    s->c[i > lo ? i - lo : 0]++;
    return 0;
}

/* Count one value of bucket i.  Inline: the common case is an increment;
 * a value below a full window is collapsed into its lowest bucket. */
HOT int store_add(struct store *s, int64_t i)
{
    uint64_t k = (uint64_t)i - (uint64_t)s->lo;
    if (k < s->n) {
        s->c[k]++;
        return 0;
    }
    if (i < s->lo && s->n == SKETCH_MAX_BINS) {
        s->c[0]++;
        return 0;
    }
    return store_widen(s, i);
}

/* Reserve in s the room a merge with t needs; the window goes to
 * [*lo, *hi].  On failure s is unchanged. */
static int store_prepare(struct store *s, const struct store *t,
                         int64_t *lo, int64_t *hi)
{
    if (t->n == 0)
        return 0;
    store_window(s, t->lo, t->lo + (int64_t)t->n - 1, lo, hi);
    return store_reserve(s, (uint32_t)(*hi - *lo + 1));
}

/* s := s (+) t, after store_prepare(s, t, &lo, &hi) succeeded. */
static void store_merge(struct store *s, const struct store *t, int64_t lo,
                        int64_t hi)
{
    if (t->n == 0)
        return;
    store_reframe(s, lo, hi);
    for (uint32_t k = 0; k < t->n; k++) {
        int64_t i = t->lo + k;
        s->c[i > lo ? i - lo : 0] += t->c[k];
    }
}

/* ---- update ------------------------------------------------------------- */

/* The bits of x, and the double of bits b. */
HOT uint64_t dbl_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

HOT double bits_dbl(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* Bucket of the magnitude with bits b (sign clear): k (e + P(f)) rounded
 * to the nearest integer (ties to even, which keeps it monotone).  Defined
 * for any b, a bucket only for m in (SKETCH_TINY, DBL_MAX], where
 * |k (e + P(f))| < 2^51 so the rounding trick is exact.  One operation a
 * statement, so no compiler fuses a multiply and an add. */
HOT int64_t bucket(uint64_t b, double mult)
{
    double e = bits_dbl(INT_BITS | b >> 52);     /* 2^52 + biased e */
    double f = bits_dbl(ONE_BITS | (b & FRAC_KEPT));     /* 1 + f */
    e -= 0x1p52 + 1023;
    f -= 1;
    double p = CUBIC_A * f;
    p += CUBIC_B;
    p *= f;
    p += CUBIC_C;
    p *= f;
    double t = e + p;
    t *= mult;
    t += ROUNDER;                               /* ROUNDER + round(t) */
    return (int64_t)dbl_bits(t) - (int64_t)dbl_bits(ROUNDER);
}

/* Count x into c; NaN is skipped.  Inlined into every kernel, so a value
 * costs the arithmetic of bucket() and an increment; only a value outside
 * its store's window takes a call.  On failure (no memory) c is
 * unchanged. */
HOT int cell_add(struct cell *c, double x, double mult)
{
    int rc = 0;
    if (isnan(x))
        return 0;
    x += 0.0;                   /* -0 becomes +0: min/max bytes agree */
    if (x > SKETCH_TINY && x <= DBL_MAX)
        rc = store_add(&c->pos, bucket(dbl_bits(x), mult));
    else if (x < -SKETCH_TINY && x >= -DBL_MAX)
        rc = store_add(&c->neg, bucket(dbl_bits(-x), mult));
    else if (x > DBL_MAX)
        c->pinf++;
    else if (x < -DBL_MAX)
        c->ninf++;
    else
        c->zero++;
    if (rc < 0)
        return -1;
    c->n++;
    c->min = x < c->min ? x : c->min;
    c->max = x > c->max ? x : c->max;
    return 0;
}

/* cell_add as a call: the rare path of block_count. */
static int cell_add_slow(struct cell *c, double x, double mult)
{
    return cell_add(c, x, mult);
}

/* The buckets of the BLOCK magnitudes |x[j]| into idx; meaningless for a
 * value cell_add does not put in a store (NaN, zero, tiny, infinite).
 * Branch-free over a fixed count, so the compiler vectorises it (as wide
 * as the CPU allows: integer work and one rounding per operation, the
 * same bits in every clone). */
H5B_CLONES
static void block_buckets(const double *x, int64_t *idx, double mult)
{
    for (int j = 0; j < BLOCK; j++)
        idx[j] = bucket(dbl_bits(x[j]) & ~SIGN_BIT, mult);
}

/* Fold the min and max of the BLOCK values x into c as cell_add does
 * (NaN skipped, -0 as +0).  In eight lanes, so the compiler vectorises
 * it; no lane ever holds NaN or -0, so how they combine does not matter. */
H5B_CLONES
static void block_minmax(struct cell *c, const double *x)
{
    double lo[8], hi[8];
    for (int l = 0; l < 8; l++) {
        lo[l] = c->min;
        hi[l] = c->max;
    }
    for (int j = 0; j < BLOCK; j += 8)
        for (int l = 0; l < 8; l++) {
            double v = x[j + l] + 0.0;
            lo[l] = v < lo[l] ? v : lo[l];
            hi[l] = v > hi[l] ? v : hi[l];
        }
    for (int l = 0; l < 8; l++) {
        c->min = lo[l] < c->min ? lo[l] : c->min;
        c->max = hi[l] > c->max ? hi[l] : c->max;
    }
}

/* A copy of a store's window, indexed by sign bit in block_count, so the
 * sign (random in typical data) picks a store without a branch. */
struct window {
    int64_t lo;
    uint64_t n;
    uint64_t *c;
};

/* Copy c's store windows into w: w[0] positive, w[1] negative. */
static void windows_get(const struct cell *c, struct window *w)
{
    w[0] = (struct window){c->pos.lo, c->pos.n, c->pos.c};
    w[1] = (struct window){c->neg.lo, c->neg.n, c->neg.c};
}

/* Whether the value with bits b has a bucket: its magnitude (the bits
 * doubled, so the sign drops out) is in [SKETCH_TINY's next, DBL_MAX]
 * -- not zero, subnormal, tiny, infinite or NaN.  Branch-free. */
static inline uint64_t has_bucket(uint64_t b)
{
    const uint64_t lo2 = 2 * dbl_bits(SKETCH_TINY) + 2;
    return 2 * b - lo2 <= 2 * dbl_bits(DBL_MAX) - lo2;
}

/* A slot of block_slots: the address of the value's counter, as an
 * integer (so that the count needs no load to find its store); SLOT_SLOW,
 * never a counter's address, for a value that cell_add must take. */
#define SLOT_SLOW UINT64_MAX

/* The slots of the BLOCK values x[j] with buckets idx[j] in the windows
 * w: a value is counted at its slot when its magnitude is in the sketch's
 * range and its bucket in its store's window.  Branch-free over a fixed
 * count, so the compiler vectorises it. */
H5B_CLONES
static void block_slots(const double *restrict x,
                        const int64_t *restrict idx, const struct window *w,
                        uint64_t *restrict slot)
{
    const uint64_t lo0 = (uint64_t)w[0].lo, dlo = lo0 ^ (uint64_t)w[1].lo;
    const uint64_t n0 = w[0].n, dn = n0 ^ w[1].n;
    const uint64_t c0 = (uint64_t)(uintptr_t)w[0].c;
    const uint64_t dc = c0 ^ (uint64_t)(uintptr_t)w[1].c;
    for (size_t j = 0; j < BLOCK; j++) {
        uint64_t b = dbl_bits(x[j]), neg = 0 - (b >> 63);  /* all ones */
        uint64_t k = (uint64_t)idx[j] - (lo0 ^ (dlo & neg));
        uint64_t ok = (k < (n0 ^ (dn & neg))) & has_bucket(b);
        uint64_t at = (c0 ^ (dc & neg)) + k * sizeof(uint64_t);
        slot[j] = at | (ok - 1);                        /* !ok: all ones */
    }
}

static int same_windows(const struct window *a, const struct window *b)
{
    return a[0].lo == b[0].lo && a[0].n == b[0].n && a[0].c == b[0].c &&
           a[1].lo == b[1].lo && a[1].n == b[1].n && a[1].c == b[1].c;
}

/* Count the n values x[j] with buckets idx[j] (from block_buckets) into
 * c, in order, all but their min and max (block_minmax): a value whose
 * bucket is in its store's window is counted here, any other by cell_add
 * (after which the slots are redone if a window moved).
 * On failure (no memory) c holds the values before the failing one. */
static int block_count(struct cell *c, const double *x, const int64_t *idx,
                       size_t n, double mult)
{
    struct window w[2], now[2];
    uint64_t slot[BLOCK], fast = 0;
    int rc = 0;
    windows_get(c, w);
    block_slots(x, idx, w, slot);
    for (size_t j = 0; j < n; j++) {
        uint64_t sl = slot[j];
        if (sl != SLOT_SLOW) {
            (*(uint64_t *)(uintptr_t)sl)++;
            fast++;
            continue;
        }
        if (cell_add_slow(c, x[j], mult) < 0) {
            rc = -1;
            break;
        }
        windows_get(c, now);
        if (!same_windows(w, now)) {
            memcpy(w, now, sizeof w);
            block_slots(x, idx, w, slot);
        }
    }
    c->n += fast;
    return rc;
}

/* A block of values as BLOCK doubles (asblock.h). */
AS_BLOCK_FUNCTIONS(BLOCK)

/* Count the m values x[j] that follow one another in record-major order,
 * the first of cell *cell, with buckets idx[j] (block_buckets) into their
 * cells as cell_add does: a value whose bucket is in its store's window
 * here, without a branch on its sign, any other by cell_add.  *cell moves
 * on past them.  On failure (no memory) the cells hold the values before
 * the failing one. */
static int cells_count(struct quantile *s, const double *x,
                       const int64_t *idx, size_t m, uint64_t *cell)
{
    uint64_t cj = *cell;
    for (size_t j = 0; j < m; j++) {
        struct cell *c = &s->c[cj];
        uint64_t b = dbl_bits(x[j]);
        struct store *st = b >> 63 ? &c->neg : &c->pos;
        uint64_t k = (uint64_t)idx[j] - (uint64_t)st->lo;
        if (k < st->n && has_bucket(b)) {
            double v = x[j];
            st->c[k]++;
            c->n++;
            c->min = v < c->min ? v : c->min;
            c->max = v > c->max ? v : c->max;
        } else if (cell_add_slow(c, x[j], s->mult) < 0) {
            return -1;
        }
        cj = cj + 1 == s->ncell ? 0 : cj + 1;
    }
    *cell = cj;
    return 0;
}

/* Generate the update kernel for element type T: nrec records of ncell
 * values, record-major, each as a double (as_block), by blocks whose
 * buckets are mapped all at once.  One cell, the common case, also takes
 * the min and max all at once, then counts; c ends as cell_add one by one
 * leaves it (on failure its min and max may include the rest of the
 * block).  Many cells are counted value by value (cells_count). */
#define QUANTILE_KERNEL(SUF, T)                                              \
static int upd_##SUF(struct quantile *s, const T *x, uint64_t nrec)          \
{                                                                            \
    uint64_t nc = s->ncell;                                                  \
    double mult = s->mult;                                                   \
    if (nc == 1) {                                                           \
        double buf[BLOCK];                                                   \
        int64_t idx[BLOCK];                                                  \
        for (uint64_t r = 0; r < nrec; r += BLOCK) {                         \
            size_t n = nrec - r < BLOCK ? (size_t)(nrec - r) : BLOCK;        \
            const double *v = as_block_##SUF(x + r, n, buf);                 \
            block_buckets(v, idx, mult);                                     \
            block_minmax(s->c, v);                                           \
            if (block_count(s->c, v, idx, n, mult) < 0)                      \
                return -1;                                                   \
        }                                                                    \
        return 0;                                                            \
    }                                                                        \
    double buf[BLOCK];                                                       \
    int64_t idx[BLOCK];                                                      \
    uint64_t n = nrec * nc, cell = 0;                                        \
    for (uint64_t i = 0; i < n; i += BLOCK) {                                \
        size_t m = n - i < BLOCK ? (size_t)(n - i) : BLOCK;                  \
        const double *v = as_block_##SUF(x + i, m, buf);                     \
        block_buckets(v, idx, mult);                                         \
        if (cells_count(s, v, idx, m, &cell) < 0)                            \
            return -1;                                                       \
    }                                                                        \
    return 0;                                                                \
}

QUANTILE_KERNEL(i8, int8_t)
QUANTILE_KERNEL(u8, uint8_t)
QUANTILE_KERNEL(i16, int16_t)
QUANTILE_KERNEL(u16, uint16_t)
QUANTILE_KERNEL(i32, int32_t)
QUANTILE_KERNEL(u32, uint32_t)
QUANTILE_KERNEL(i64, int64_t)
QUANTILE_KERNEL(u64, uint64_t)
QUANTILE_KERNEL(f32, float)
QUANTILE_KERNEL(f64, double)

/* Dispatch one block to the kernel for its type. */
#define DISPATCH(SUF, T)                                                     \
    rc = upd_##SUF(s, (const T *)blk->data, blk->nrec);                      \
    break

static int quantile_update(void *state, const struct h5b_block *blk,
                           struct h5b_error *err)
{
    struct quantile *s = state;
    int rc;
    switch (s->cfg->type) {
    H5B_TYPE_CASES(DISPATCH);
    default:
        return h5b_fail(err, "unsupported element type %d",
                        (int)s->cfg->type);
    }
    if (rc < 0)
        return h5b_fail(err, "out of memory for sketch buckets");
    return 0;
}

/* ---- create / destroy --------------------------------------------------- */

static void cell_clear(struct cell *c)
{
    memset(c, 0, sizeof *c);
    c->min = INFINITY;
    c->max = -INFINITY;
}

static void cells_free(struct cell *c, uint64_t ncell)
{
    for (uint64_t j = 0; c && j < ncell; j++) {
        free(c[j].neg.c);
        free(c[j].pos.c);
    }
    free(c);
}

/* ncell empty cells, or NULL. */
static struct cell *cells_new(uint64_t ncell)
{
    struct cell *c = malloc(ncell * sizeof *c);
    for (uint64_t j = 0; c && j < ncell; j++)
        cell_clear(&c[j]);
    return c;
}

static void quantile_destroy(void *state)
{
    struct quantile *s = state;
    if (!s)
        return;
    cells_free(s->c, s->ncell);
    free(s);
}

#define SEPARATORS " \t\r\n,"

/* Parse the `quantiles` list v (numbers in [0, 1], separated by commas
 * and/or blanks) into s->q and sort s->order by it. */
static int parse_quantiles(struct quantile *s, const char *v,
                           struct h5b_error *err)
{
    const char *p = v;
    s->nq = 0;
    for (;;) {
        p += strspn(p, SEPARATORS);
        if (!*p)
            break;
        char *end;
        double q = strtod(p, &end);
        size_t len = strcspn(p, SEPARATORS);
        if (end != p + len || !(q >= 0 && q <= 1))
            return h5b_fail(err, "quantiles: '%.*s' is not a probability "
                            "in [0, 1]", (int)(len > 64 ? 64 : len), p);
        if (s->nq == MAX_QUANTILES)
            return h5b_fail(err, "quantiles: more than %d probabilities",
                            MAX_QUANTILES);
        s->q[s->nq++] = q + 0.0;       /* no -0 in the output */
        p += len;
    }
    if (s->nq == 0)
        return h5b_fail(err, "quantiles: no probabilities in '%s'", v);
    for (unsigned k = 0; k < s->nq; k++) {      /* stable insertion sort */
        unsigned j = k;
        for (; j > 0 && s->q[s->order[j - 1]] > s->q[k]; j--)
            s->order[j] = s->order[j - 1];
        s->order[j] = k;
    }
    return 0;
}

/* Parse `quantile_accuracy` v and derive the bucket constants. */
static int parse_accuracy(struct quantile *s, const char *v,
                          struct h5b_error *err)
{
    char *end;
    double a = strtod(v, &end);
    end += strspn(end, " \t");
    if (end == v || *end || !(a >= MIN_ACCURACY && a < 0.5))
        return h5b_fail(err, "quantile_accuracy: '%s' is not a number in "
                        "[%g, 0.5)", v, MIN_ACCURACY);
    s->accuracy = a;
    a -= a * ACCURACY_MARGIN;
    s->mult = 1 / (CUBIC_C * log1p(2 * a / (1 - a)));  /* 0.7 / log gamma */
    /* -997 <= e + P(f) < 1024 for m in [SKETCH_TINY, DBL_MAX]. */
    s->idx_lim = (int64_t)(1024 * s->mult) + 2;
    return 0;
}

/* The job-file argument key, or NULL. */
static const char *get_arg(const struct h5b_op_config *cfg, const char *key)
{
    return cfg->arg ? cfg->arg(cfg, key) : NULL;
}

int sketch_params(const struct h5b_op_config *cfg, struct sketch_params *sp,
                  struct h5b_error *err)
{
    const char *qs = get_arg(cfg, "quantiles");
    const char *acc = get_arg(cfg, "quantile_accuracy");
    struct quantile s;
    memset(&s, 0, sizeof s);
    memset(sp, 0, sizeof *sp);
    int rc = parse_quantiles(&s, qs ? qs : DEFAULT_QUANTILES, err);
    if (rc == 0)
        rc = parse_accuracy(&s, acc ? acc : DEFAULT_ACCURACY, err);
    if (rc < 0)
        return rc;
    sp->accuracy = s.accuracy;
    sp->mult = s.mult;
    sp->idx_lim = s.idx_lim;
    sp->nq = s.nq;
    memcpy(sp->q, s.q, sizeof sp->q);
    memcpy(sp->order, s.order, sizeof sp->order);
    return 0;
}

static int quantile_create(const struct h5b_op_config *cfg, void **state,
                           struct h5b_error *err)
{
    const char *qs = get_arg(cfg, "quantiles");
    const char *acc = get_arg(cfg, "quantile_accuracy");
    struct quantile *s = calloc(1, sizeof *s);
    *state = NULL;
    if (!s)
        return h5b_fail(err, "out of memory");
    s->cfg = cfg;
    s->ncell = cfg->ncell;
    int rc = parse_quantiles(s, qs ? qs : DEFAULT_QUANTILES, err);
    if (rc == 0)
        rc = parse_accuracy(s, acc ? acc : DEFAULT_ACCURACY, err);
    if (rc == 0 && (cfg->cell_rank < 0 || cfg->cell_rank >= H5B_MAX_RANK))
        rc = h5b_fail(err, "cells of rank %d leave no room for the "
                      "quantile dimension", cfg->cell_rank);
    if (rc == 0 && (s->ncell == 0 ||
                    s->ncell > SIZE_MAX / MAX_QUANTILES / sizeof(double)))
        rc = h5b_fail(err, "bad cell count %llu",
                      (unsigned long long)s->ncell);
    if (rc == 0) {
        s->c = cells_new(s->ncell);
        if (!s->c)
            rc = h5b_fail(err, "out of memory for %llu cells",
                          (unsigned long long)s->ncell);
    }
    if (rc < 0) {
        quantile_destroy(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* ---- merge -------------------------------------------------------------- */

/* x := x (+) y.  Memory is reserved before anything changes, so on
 * failure x is unchanged. */
static int cell_merge(struct cell *x, const struct cell *y,
                      struct h5b_error *err)
{
    int64_t nlo = 0, nhi = 0, plo = 0, phi = 0;
    if (y->n == 0)
        return 0;
    if (x->n > UINT64_MAX - y->n)
        return h5b_fail(err, "value count overflows");
    if (store_prepare(&x->neg, &y->neg, &nlo, &nhi) < 0 ||
        store_prepare(&x->pos, &y->pos, &plo, &phi) < 0)
        return h5b_fail(err, "out of memory for sketch buckets");
    store_merge(&x->neg, &y->neg, nlo, nhi);
    store_merge(&x->pos, &y->pos, plo, phi);
    x->n += y->n;
    x->zero += y->zero;
    x->ninf += y->ninf;
    x->pinf += y->pinf;
    x->min = y->min < x->min ? y->min : x->min;
    x->max = y->max > x->max ? y->max : x->max;
    return 0;
}

/* Counts add, so merging is exact and commutative as well as associative. */
static int quantile_merge(void *acc, const void *later, struct h5b_error *err)
{
    struct quantile *a = acc;
    const struct quantile *b = later;
    if (a->ncell != b->ncell || a->accuracy != b->accuracy)
        return h5b_fail(err, "sketches differ (%llu vs %llu cells, accuracy "
                        "%g vs %g)", (unsigned long long)a->ncell,
                        (unsigned long long)b->ncell, a->accuracy,
                        b->accuracy);
    for (uint64_t j = 0; j < a->ncell; j++)
        if (cell_merge(&a->c[j], &b->c[j], err) < 0)
            return -1;
    return 0;
}

/* ---- encode / decode ---------------------------------------------------- */

static size_t quantile_encoded_size(const void *state)
{
    const struct quantile *s = state;
    size_t n = HEAD_BYTES;
    for (uint64_t j = 0; j < s->ncell; j++)
        n += CELL_BYTES + 2 * STORE_BYTES +
             8 * ((size_t)s->c[j].neg.n + s->c[j].pos.n);
    return n;
}

static unsigned char *store_encode(const struct store *s, unsigned char *p)
{
    h5b_put_u64(p, (uint64_t)s->lo);
    h5b_put_u64(p + 8, s->n);
    p += STORE_BYTES;
    for (uint32_t k = 0; k < s->n; k++, p += 8)
        h5b_put_u64(p, s->c[k]);
    return p;
}

static int quantile_encode(const void *state, void *buf, size_t len,
                           struct h5b_error *err)
{
    const struct quantile *s = state;
    unsigned char *p = buf;
    if (len != quantile_encoded_size(s))
        return h5b_fail(err, "encode buffer of %zu bytes, need %zu", len,
                        quantile_encoded_size(s));
    h5b_put_u64(p, s->ncell);
    h5b_put_f64(p + 8, s->accuracy);
    p += HEAD_BYTES;
    for (uint64_t j = 0; j < s->ncell; j++) {
        const struct cell *c = &s->c[j];
        h5b_put_u64(p, c->n);
        h5b_put_u64(p + 8, c->zero);
        h5b_put_u64(p + 16, c->ninf);
        h5b_put_u64(p + 24, c->pinf);
        h5b_put_f64(p + 32, c->min);
        h5b_put_f64(p + 40, c->max);
        p = store_encode(&c->neg, p + CELL_BYTES);
        p = store_encode(&c->pos, p);
    }
    return 0;
}

/* A bounds-checked reader over the bytes being decoded. */
struct reader {
    const unsigned char *p;
    size_t left;
};

/* Take n bytes, or NULL if fewer are left. */
static const unsigned char *take(struct reader *r, size_t n)
{
    if (n > r->left)
        return NULL;
    const unsigned char *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

/* Decode one store into the empty s and add its counts to *sum; checks
 * the window against SKETCH_MAX_BINS and lim and the canonical form. */
static int store_decode(struct store *s, struct reader *r, int64_t lim,
                        uint64_t *sum, struct h5b_error *err)
{
    const unsigned char *h = take(r, STORE_BYTES), *p;
    if (!h)
        return h5b_fail(err, "store header truncated");
    int64_t lo = (int64_t)h5b_get_u64(h);
    uint64_t n = h5b_get_u64(h + 8);
    if (n > SKETCH_MAX_BINS || (n == 0 && lo != 0) || lo < -lim ||
        lo > lim - (int64_t)n + 1)
        return h5b_fail(err, "store window of %llu bins at %lld is invalid",
                        (unsigned long long)n, (long long)lo);
    p = take(r, (size_t)n * 8);
    if (!p)
        return h5b_fail(err, "store of %llu bins truncated",
                        (unsigned long long)n);
    if (n && (store_reserve(s, (uint32_t)n) < 0))
        return h5b_fail(err, "out of memory for sketch buckets");
    for (uint64_t k = 0; k < n; k++) {
        s->c[k] = h5b_get_u64(p + 8 * k);
        if (__builtin_add_overflow(*sum, s->c[k], sum))
            return h5b_fail(err, "bucket counts overflow");
    }
    if (n && (s->c[0] == 0 || s->c[n - 1] == 0))
        return h5b_fail(err, "store window has an empty end bucket");
    s->lo = lo;
    s->n = (uint32_t)n;
    return 0;
}

/* Decode one cell into the empty c and check its counts add up. */
static int cell_decode(struct cell *c, struct reader *r, int64_t lim,
                       struct h5b_error *err)
{
    const unsigned char *h = take(r, CELL_BYTES);
    uint64_t sum = 0;
    if (!h)
        return h5b_fail(err, "cell header truncated");
    c->n = h5b_get_u64(h);
    c->zero = h5b_get_u64(h + 8);
    c->ninf = h5b_get_u64(h + 16);
    c->pinf = h5b_get_u64(h + 24);
    c->min = h5b_get_f64(h + 32);
    c->max = h5b_get_f64(h + 40);
    if (store_decode(&c->neg, r, lim, &sum, err) < 0 ||
        store_decode(&c->pos, r, lim, &sum, err) < 0)
        return -1;
    if (__builtin_add_overflow(sum, c->zero, &sum) ||
        __builtin_add_overflow(sum, c->ninf, &sum) ||
        __builtin_add_overflow(sum, c->pinf, &sum) || sum != c->n)
        return h5b_fail(err, "cell counts do not add up to %llu",
                        (unsigned long long)c->n);
    if (c->n ? !(c->min <= c->max)
             : !(c->min == INFINITY && c->max == -INFINITY))
        return h5b_fail(err, "cell min %g / max %g are inconsistent",
                        c->min, c->max);
    return 0;
}

/* Decode into fresh cells and swap them in, so a failure leaves the state
 * as it was. */
static int quantile_decode(void *state, const void *buf, size_t len,
                           struct h5b_error *err)
{
    struct quantile *s = state;
    struct reader r = {buf, len};
    const unsigned char *h = take(&r, HEAD_BYTES);
    if (!h || h5b_get_u64(h) != s->ncell)
        return h5b_fail(err, "state of %zu bytes does not hold %llu cells",
                        len, (unsigned long long)s->ncell);
    if (h5b_get_f64(h + 8) != s->accuracy)
        return h5b_fail(err, "state has accuracy %g, expected %g",
                        h5b_get_f64(h + 8), s->accuracy);
    struct cell *c = cells_new(s->ncell);
    int rc = 0;
    if (!c)
        return h5b_fail(err, "out of memory for %llu cells",
                        (unsigned long long)s->ncell);
    for (uint64_t j = 0; rc == 0 && j < s->ncell; j++)
        rc = cell_decode(&c[j], &r, s->idx_lim, err);
    if (rc == 0 && r.left)
        rc = h5b_fail(err, "state has %zu trailing bytes", r.left);
    if (rc < 0) {
        cells_free(c, s->ncell);
        return -1;
    }
    cells_free(s->c, s->ncell);
    s->c = c;
    return 0;
}

/* ---- finalize ----------------------------------------------------------- */

/* The 1-based rank numpy's method="inverted_cdf" picks for q among n
 * values: max(1, ceil(n * q)) with n * q rounded to float64 first, as
 * numpy computes it (its index (n*q) - 1 is exact, n*q >= 1 being a
 * multiple of its ulp).  Matching numpy is the point, so no tolerance:
 * 0.29 * 100 = 28.999999999999996 gives 29, and 0.07 * 100 =
 * 7.000000000000001 gives 8, as numpy does. */
static uint64_t target_rank(double q, uint64_t n)
{
    double r = ceil((double)n * q);
    return r < 1 ? 1 : r >= (double)n ? n : (uint64_t)r;
}

/* One pass over a cell's values in ascending order, handing out the
 * estimates of the ranks still pending (rank[next..nq), ascending). */
struct walk {
    const struct quantile *s;
    const struct cell *c;
    const uint64_t *rank;
    double *out;
    uint64_t seen;
    unsigned next;
};

/* Pass count more values; how many pending ranks they reach. */
static unsigned walk_take(struct walk *w, uint64_t count)
{
    unsigned m = 0;
    w->seen += count;
    while (w->next + m < w->s->nq && w->rank[w->next + m] <= w->seen)
        m++;
    return m;
}

/* Report v, clamped to the cell's [min, max], for the next m ranks. */
static void walk_put(struct walk *w, unsigned m, double v)
{
    v = v < w->c->min ? w->c->min : v > w->c->max ? w->c->max : v;
    for (; m > 0; m--)
        w->out[w->s->order[w->next++]] = v;
}

/* The bits of the least magnitude in (SKETCH_TINY, DBL_MAX] whose bucket
 * is at least i, DBL_MAX's if none is: a bisection on the bits, which
 * order positive doubles as the (monotone) mapping does.  The bracket
 * starts around the root of e + P(f) = (i - 1/2) / k, found by Newton's
 * method, and falls back to the whole range should rounding defeat it. */
static uint64_t bucket_start(double mult, int64_t i)
{
    uint64_t lo = dbl_bits(SKETCH_TINY), hi = dbl_bits(DBL_MAX);
    double l = ((double)i - 0.5) / mult, e = floor(l), y = l - e, f = y;
    for (int n = 0; n < 8; n++)     /* P' >= 26/35 on [0, 1] */
        f -= (((CUBIC_A * f + CUBIC_B) * f + CUBIC_C) * f - y) /
             ((3 * CUBIC_A * f + 2 * CUBIC_B) * f + CUBIC_C);
    double g = ldexp(1 + f, (int)fmax(fmin(e, 1100), -1100));
    uint64_t glo = dbl_bits(g * (1 - 0x1p-30));
    uint64_t ghi = dbl_bits(g * (1 + 0x1p-30));
    if (glo > lo && ghi < hi && bucket(glo, mult) < i &&
        bucket(ghi, mult) >= i) {
        lo = glo;
        hi = ghi;
    }
    if (bucket(hi, mult) < i)
        return hi;
    while (hi - lo > 1) {          /* bucket(lo) < i <= bucket(hi) */
        uint64_t mid = lo + (hi - lo) / 2;
        if (bucket(mid, mult) >= i)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/* The representative of bucket i: of its least and greatest magnitudes
 * lo and hi, 2 lo hi / (lo + hi), within (hi - lo) / (hi + lo) <= a of
 * both and of every magnitude between.  i is clamped into the buckets of
 * (SKETCH_TINY, DBL_MAX] first: a decoded state may hold any index. */
static double bucket_rep(double mult, int64_t i)
{
    int64_t first = bucket(dbl_bits(SKETCH_TINY) + 1, mult);
    int64_t last = bucket(dbl_bits(DBL_MAX), mult);
    i = i < first ? first : i > last ? last : i;
    double lo = bits_dbl(bucket_start(mult, i));
    double hi = i == last ? DBL_MAX
                          : bits_dbl(bucket_start(mult, i + 1) - 1);
    return lo * (2 / (1 + lo / hi));
}

/* Pass the count values of bucket i of sign sign (+1 or -1). */
static void walk_bucket(struct walk *w, uint64_t count, int64_t i,
                        double sign)
{
    unsigned m = walk_take(w, count);
    if (m)
        walk_put(w, m, sign * bucket_rep(w->s->mult, i));
}

/* The nq estimates of cell c into out, in the order of s->q; NaN for an
 * empty cell. */
static void cell_quantiles(const struct quantile *s, const struct cell *c,
                           double *out)
{
    uint64_t rank[MAX_QUANTILES];
    struct walk w = {s, c, rank, out, 0, 0};
    if (c->n == 0) {
        for (unsigned k = 0; k < s->nq; k++)
            out[k] = NAN;
        return;
    }
    for (unsigned k = 0; k < s->nq; k++)
        rank[k] = target_rank(s->q[s->order[k]], c->n);
    walk_put(&w, walk_take(&w, c->ninf), -INFINITY);
    for (uint32_t k = c->neg.n; k-- > 0;)
        walk_bucket(&w, c->neg.c[k], c->neg.lo + k, -1.0);
    walk_put(&w, walk_take(&w, c->zero), 0.0);
    for (uint32_t k = 0; k < c->pos.n; k++)
        walk_bucket(&w, c->pos.c[k], c->pos.lo + k, 1.0);
    walk_put(&w, walk_take(&w, c->pinf), INFINITY);
    for (unsigned k = 0; k < s->nq; k++)    /* the ends are known exactly */
        if (rank[k] == 1 || rank[k] == c->n)
            out[s->order[k]] = rank[k] == 1 ? c->min : c->max;
}

/* Writes quantiles/probabilities, shape [nq], the same for every cell,
 * and quantiles/values per cell, shape cell shape + [nq]. */
static int quantile_finalize(const void *state, const struct h5b_sink *sink,
                             struct h5b_error *err)
{
    const struct quantile *s = state;
    uint64_t nq = s->nq;
    int rc = sink->put(sink->ctx, "quantiles/probabilities", H5B_FLOAT64, 1,
                       &nq, s->q, err);
    if (rc < 0)
        return rc;
    double *v = malloc((size_t)s->ncell * nq * sizeof *v);
    if (!v)
        return h5b_fail(err, "out of memory writing quantiles/values");
    for (uint64_t j = 0; j < s->ncell; j++)
        cell_quantiles(s, &s->c[j], v + j * nq);
    rc = sink->put_cells(sink->ctx, "quantiles/values", H5B_FLOAT64, 1, &nq,
                         v, err);
    free(v);
    return rc;
}

const h5b_operator op_quantile = {
    .abi = H5B_OPERATOR_ABI,
    .name = "quantiles",
    .provides = provides,
    .create = quantile_create,
    .destroy = quantile_destroy,
    .update = quantile_update,
    .merge = quantile_merge,
    .encoded_size = quantile_encoded_size,
    .encode = quantile_encode,
    .decode = quantile_decode,
    .finalize = quantile_finalize,
};

int64_t sketch_bucket(double mult, double m)
{
    return bucket(dbl_bits(m), mult);
}

double sketch_rep(double mult, int64_t i)
{
    return bucket_rep(mult, i);
}

uint64_t sketch_rank(double q, uint64_t n)
{
    return target_rank(q, n);
}

uint64_t op_quantile_bytes(uint64_t ncell)
{
    uint64_t per = sizeof(struct cell) + 2 * SKETCH_MAX_BINS *
                   sizeof(uint64_t);
    return ncell > UINT64_MAX / per ? UINT64_MAX : ncell * per;
}
