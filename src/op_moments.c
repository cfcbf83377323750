/* op_moments.c -- count, sum, mean, var, std, min and max of each cell.
 *
 * One state per result cell: count, NaN count, a shift (the cell's first
 * value), mean relative to the shift and M2 (sum of squared
 * deviations), a Neumaier-compensated sum, and min/max kept in a 64-bit
 * form of the input type (int64, uint64 or double), so integers above 2^53
 * stay exact.  update() works in blocks: a first pass takes the block's
 * count, sum, min and max, a second its M2 about the block mean, and the
 * block is folded into the cell with Chan et al.'s pairwise formula.  That
 * keeps every digit on data such as 1e9 + noise, with one division per
 * block rather than per value.  The kernels are generated per element type
 * by a macro, so there is no call or type switch per value.
 *
 * With [reduce] exact = yes each cell also carries an exact accumulator of
 * its values and their squares (exactsum.h); sum, mean, var and std then
 * come from it, rounded once, so they do not depend on how the records
 * were cut into partitions.  Float values of one cell go through the
 * large accumulator in place; those of many cells through the rows path,
 * XS_ROW_CELLS cells a row at a time, when they span few binades (most
 * fields), else gathered a cell at a time into the large accumulator when
 * an update brings enough records, else value by value (scratches are one
 * a state, made on first use).  Count, NaN count, min and max are exact either
 * way; for one float cell only their pass runs (cnt1), the moment fields
 * of the cell then stay 0.
 *
 * Invariant: min/max hold sentinels (type max / type min, +inf / -inf)
 * while n == 0; finalize writes NaN for such cells.  Exact accumulators
 * are normalised (exactsum.h) between calls.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exactsum.h"
#include "h5batch/operator.h"
#include "op.h"
#include "simd.h"
#include "stats.h"

/* Values per block for 1-D data: small enough to stay in L1. */
#define BLOCK 1024
/* Values per block for multi-cell data; the record count follows. */
#define CELL_BLOCK 4096

union ext {
    int64_t i;
    uint64_t u;
    double f;
};

/* mean is relative to shift (the cell's first value): the true mean is
 * shift + mean. */
struct cell {
    uint64_t n, nan;
    double shift, mean, m2, sum, comp;
    union ext min, max;
};

enum want {
    W_SUM = 1, W_MEAN = 2, W_VAR = 4, W_STD = 8, W_MIN = 16, W_MAX = 32
};

struct moments {
    const struct h5b_op_config *cfg;
    unsigned want;
    int ddof;
    uint64_t ncell;
    struct cell *c;
    double *scratch;        /* SCRATCH_PER_CELL * ncell (blockn_) */
    struct exactsum *x;     /* per cell with exact = yes, else NULL */
    struct xs_large *large; /* its scratch for one float cell (lazily) */
    struct xs_rows *rows;   /* and for rows of many float cells (lazily) */
};

/* Per cell, for a block of many cells: sum, M2, count, shift, mean, and
 * min and max (as the widened type, 8 bytes). */
#define SCRATCH_PER_CELL 7

#define CELL_BYTES 72

static const char *const provides[] = {
    "count", "sum", "mean", "var", "std", "min", "max", NULL
};

static int is_float(h5b_type t)
{
    return t == H5B_FLOAT32 || t == H5B_FLOAT64;
}

static int is_signed(h5b_type t)
{
    return t == H5B_INT8 || t == H5B_INT16 || t == H5B_INT32 ||
           t == H5B_INT64;
}

/* Put a cell into its empty state. */
static void cell_clear(struct cell *c, h5b_type t)
{
    memset(c, 0, sizeof *c);
    if (is_float(t)) {
        c->min.f = INFINITY;
        c->max.f = -INFINITY;
    } else if (is_signed(t)) {
        c->min.i = INT64_MAX;
        c->max.i = INT64_MIN;
    } else {
        c->min.u = UINT64_MAX;
        c->max.u = 0;
    }
}

/* Fold a block of nb values into c: their mean is c->shift + mb, M2 m2b,
 * and their sum nb * shift + sb.  Both sides share c's shift, so the
 * difference of means is exact to the last bit of the noise. */
static void cell_combine(struct cell *c, uint64_t nb, double mb, double m2b,
                         double sb)
{
    if (nb == 0)
        return;
    if (c->n == 0) {
        c->mean = mb;
        c->m2 = m2b;
    } else {
        uint64_t n = c->n + nb;
        double d = mb - c->mean;
        double f = (double)nb / (double)n;
        c->mean += d * f;
        c->m2 += m2b + d * d * (double)c->n * f;
    }
    c->n += nb;
    stats_neumaier(&c->sum, &c->comp, (double)nb * c->shift);
    stats_neumaier(&c->sum, &c->comp, sb);
}

/* Generate the update kernels for element type T, widened to W and kept
 * in union member F.  SKIP(v) tells a NaN; it is constant 0 for integers.
 * Values are shifted by the cell's first value, so sums and deviations
 * are of small numbers even for 1e9 + noise. */
#define MOMENTS_KERNELS(SUF, T, W, F, SKIP)                                  \
/* Give an empty cell its shift: the first finite value of the block. */   \
static void shift_##SUF(struct cell *c, const T *p, uint64_t len,           \
                        uint64_t stride)                                     \
{                                                                            \
    for (uint64_t j = 0; c->n == 0 && j < len; j++) {                        \
        W v = p[j * stride];                                                 \
        if (!SKIP(v) && isfinite((double)v)) {                               \
            c->shift = (double)v;                                            \
            return;                                                          \
        }                                                                    \
    }                                                                        \
}

/* The scalar kernel of one cell, for integer types (min and max stay
 * exact in 64 bits, so they cannot go through double lanes). */
#define SCALAR_UPD1(SUF, T, W, F, SKIP)                                      \
static void upd1_##SUF(struct cell *c, const T *x, uint64_t n)              \
{                                                                            \
    for (uint64_t i0 = 0; i0 < n; i0 += BLOCK) {                            \
        uint64_t len = n - i0 < BLOCK ? n - i0 : BLOCK;                     \
        const T *p = x + i0;                                                 \
        W mn = c->min.F, mx = c->max.F;                                      \
        double s = 0, q = 0, K;                                              \
        uint64_t k = 0;                                                      \
        shift_##SUF(c, p, len, 1);                                           \
        K = c->shift;                                                        \
        for (uint64_t j = 0; j < len; j++) {                                 \
            W v = p[j];                                                      \
            if (SKIP(v))                                                     \
                continue;                                                    \
            s += (double)v - K;                                              \
            k++;                                                             \
            mn = v < mn ? v : mn;                                            \
            mx = v > mx ? v : mx;                                            \
        }                                                                    \
        c->min.F = mn;                                                       \
        c->max.F = mx;                                                       \
        c->nan += len - k;                                                   \
        if (k == 0)                                                          \
            continue;                                                        \
        double mb = s / (double)k;                                           \
        for (uint64_t j = 0; j < len; j++) {                                 \
            W v = p[j];                                                      \
            double d = ((double)v - K) - mb;                                 \
            q += SKIP(v) ? 0.0 : d * d;                                      \
        }                                                                    \
        cell_combine(c, k, mb, q, s);                                        \
    }                                                                        \
}                                                                            \

/* Generate blockn_SUF: one block of len records of ncell values at p,
 * each cell's statistics through arrays indexed by cell (scratch), so the
 * loops over a record's cells are element-wise (and vectorise with
 * H5B_VECTORISE); a cell's values are still added in record order, so the
 * bits are those of one cell at a time.  The shifts are set (shift_). */
#define BLOCKN_KERNEL(SUF, T, W, F, SKIP)                                    \
H5B_CLONES H5B_VECTORISE                                                     \
static void blockn_##SUF(struct moments *m, const T *p, uint64_t len)       \
{                                                                            \
    const uint64_t nc = m->ncell;                                            \
    double *restrict bs = m->scratch, *restrict bq = bs + nc;                \
    double *restrict bk = bq + nc, *restrict sh = bk + nc;                   \
    double *restrict mb = sh + nc;                                           \
    W *restrict mn = (W *)(mb + nc), *restrict mx = mn + nc;                 \
    for (uint64_t j = 0; j < nc; j++) {                                      \
        bs[j] = bq[j] = bk[j] = 0.0;                                         \
        sh[j] = m->c[j].shift;                                               \
        mn[j] = m->c[j].min.F;                                               \
        mx[j] = m->c[j].max.F;                                               \
    }                                                                        \
    for (uint64_t r = 0; r < len; r++) {                                     \
        const T *restrict q = p + r * nc;                                    \
        for (uint64_t j = 0; j < nc; j++) {                                  \
            W v = q[j];                                                      \
            int skip = SKIP(v);                                              \
            double d = (double)v - sh[j];                                    \
            bs[j] += skip ? 0.0 : d;                                         \
            bk[j] += skip ? 0.0 : 1.0;                                       \
            mn[j] = v < mn[j] ? v : mn[j];                                   \
            mx[j] = v > mx[j] ? v : mx[j];                                   \
        }                                                                    \
    }                                                                        \
    for (uint64_t j = 0; j < nc; j++)                                        \
        mb[j] = bk[j] > 0 ? bs[j] / bk[j] : 0.0;                             \
    for (uint64_t r = 0; r < len; r++) {                                     \
        const T *restrict q = p + r * nc;                                    \
        for (uint64_t j = 0; j < nc; j++) {                                  \
            W v = q[j];                                                      \
            double d = ((double)v - sh[j]) - mb[j];                          \
            bq[j] += SKIP(v) ? 0.0 : d * d;                                  \
        }                                                                    \
    }                                                                        \
    for (uint64_t j = 0; j < nc; j++) {                                      \
        struct cell *c = &m->c[j];                                           \
        uint64_t k = (uint64_t)bk[j];                                        \
        c->min.F = mn[j];                                                    \
        c->max.F = mx[j];                                                    \
        c->nan += len - k;                                                   \
        if (k)                                                               \
            cell_combine(c, k, mb[j], bq[j], bs[j]);                         \
    }                                                                        \
}

/* Generate updn_SUF: many cells by blocks of about CELL_BLOCK values (rb
 * records), each reduced by BLK_SUF after its shifts are set. */
#define UPDN_KERNEL(SUF, T, BLK)                                             \
static void updn_##SUF(struct moments *m, const T *x, uint64_t nrec)        \
{                                                                            \
    uint64_t nc = m->ncell, rb = CELL_BLOCK / nc;                            \
    rb = rb < 8 ? 8 : rb;                                                    \
    for (uint64_t r0 = 0; r0 < nrec; r0 += rb) {                            \
        uint64_t len = nrec - r0 < rb ? nrec - r0 : rb;                     \
        for (uint64_t j = 0; j < nc; j++)                                    \
            shift_##SUF(&m->c[j], x + r0 * nc + j, len, nc);                 \
        BLK##_##SUF(m, x + r0 * nc, len);                                    \
    }                                                                        \
}

#define NEVER(v) 0
MOMENTS_KERNELS(i8, int8_t, int64_t, i, NEVER)
SCALAR_UPD1(i8, int8_t, int64_t, i, NEVER)
BLOCKN_KERNEL(i8, int8_t, int64_t, i, NEVER)
UPDN_KERNEL(i8, int8_t, blockn)
MOMENTS_KERNELS(u8, uint8_t, uint64_t, u, NEVER)
SCALAR_UPD1(u8, uint8_t, uint64_t, u, NEVER)
BLOCKN_KERNEL(u8, uint8_t, uint64_t, u, NEVER)
UPDN_KERNEL(u8, uint8_t, blockn)
MOMENTS_KERNELS(i16, int16_t, int64_t, i, NEVER)
SCALAR_UPD1(i16, int16_t, int64_t, i, NEVER)
BLOCKN_KERNEL(i16, int16_t, int64_t, i, NEVER)
UPDN_KERNEL(i16, int16_t, blockn)
MOMENTS_KERNELS(u16, uint16_t, uint64_t, u, NEVER)
SCALAR_UPD1(u16, uint16_t, uint64_t, u, NEVER)
BLOCKN_KERNEL(u16, uint16_t, uint64_t, u, NEVER)
UPDN_KERNEL(u16, uint16_t, blockn)
MOMENTS_KERNELS(i32, int32_t, int64_t, i, NEVER)
SCALAR_UPD1(i32, int32_t, int64_t, i, NEVER)
BLOCKN_KERNEL(i32, int32_t, int64_t, i, NEVER)
UPDN_KERNEL(i32, int32_t, blockn)
MOMENTS_KERNELS(u32, uint32_t, uint64_t, u, NEVER)
SCALAR_UPD1(u32, uint32_t, uint64_t, u, NEVER)
BLOCKN_KERNEL(u32, uint32_t, uint64_t, u, NEVER)
UPDN_KERNEL(u32, uint32_t, blockn)
MOMENTS_KERNELS(i64, int64_t, int64_t, i, NEVER)
SCALAR_UPD1(i64, int64_t, int64_t, i, NEVER)
BLOCKN_KERNEL(i64, int64_t, int64_t, i, NEVER)
UPDN_KERNEL(i64, int64_t, blockn)
MOMENTS_KERNELS(u64, uint64_t, uint64_t, u, NEVER)
SCALAR_UPD1(u64, uint64_t, uint64_t, u, NEVER)
BLOCKN_KERNEL(u64, uint64_t, uint64_t, u, NEVER)
UPDN_KERNEL(u64, uint64_t, blockn)
MOMENTS_KERNELS(f32, float, double, f, isnan)
MOMENTS_KERNELS(f64, double, double, f, isnan)

/* Vector kernels for float64 and float32 data of one cell (the common
 * case: 1-D data, axis = all).  Sixteen lanes in two GCC vectors of eight
 * doubles: lane l takes the values at offsets l, l + 16, l + 32, ... of a
 * block and keeps their sum, count, min, max and M2; the lanes are then
 * combined in one fixed order.  The compiler maps a vector onto four SSE2,
 * two AVX2 or one AVX-512 register (H5B_CLONES builds upd1 for each); a
 * lane does the same operations in the same order whatever the width, so
 * the bits do not depend on the CPU.  Two vectors, not one, so that the
 * add and compare chains of one vector overlap those of the other.  A NaN
 * is masked out of every lane statistic: (v == v) is false only for NaN. */
#pragma GCC diagnostic ignored "-Wpsabi" /* v8d never crosses a call */
typedef double v8d __attribute__((vector_size(64)));
typedef int64_t v8l __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));

#define LANES 16
#define INLINE static inline __attribute__((always_inline))

INLINE v8d load_f64(const double *p)
{
    v8d v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE v8d load_f32(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, v8d);
}

/* m ? a : b, lane by lane (m is all ones or all zeros).  With m = a < b
 * it is MINPD's rule: b when either is NaN. */
INLINE v8d vsel(v8l m, v8d a, v8d b)
{
    return (v8d)(((v8l)a & m) | ((v8l)b & ~m));
}

INLINE v8d vmask(v8l m, v8d a)
{
    return (v8d)((v8l)a & m);
}

/* Sum of the sixteen lanes of v[0..1] in one fixed order. */
INLINE double lanes_sum(const v8d v[2])
{
    v8d w = v[0] + v[1];
    return ((w[0] + w[2]) + (w[4] + w[6])) + ((w[1] + w[3]) + (w[5] + w[7]));
}

/* Lane statistics of one block: pass 1 (sum of v - K, count, min, max). */
struct lane1 {
    double s, mn, mx;
    uint64_t k;
};

/* NAME (attributes ATTR): cnt1's loop, pass 1 of every block. */
#define CNT1_KERNEL(NAME, ATTR, SUF, T)                                      \
ATTR static void NAME(struct cell *c, const T *x, uint64_t n)               \
{                                                                            \
    for (uint64_t i0 = 0; i0 < n; i0 += BLOCK) {                            \
        uint64_t len = n - i0 < BLOCK ? n - i0 : BLOCK;                     \
        struct lane1 L;                                                      \
        block1_##SUF(c, x + i0, len, len - len % LANES, 0.0, &L);            \
        c->n += L.k;                                                         \
    }                                                                        \
}
/* CNT1_X86(X) is X where GCC builds cnt1 for AVX-512 too (as H5B_CLONES
 * would; its AVX2 build hits the same internal error), and CNT1_PICK(SUF,
 * ARGS) calls it and returns when the CPU runs it (the baseline is left
 * to the caller); the same lanes in the same order, so the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&      \
    defined(__linux__)
#define CNT1_X86(X) X
#define CNT1_PICK(SUF, ARGS)                                                 \
    do {                                                                     \
        if (__builtin_cpu_supports("avx512f")) {                             \
            cnt1_avx512_##SUF ARGS;                                          \
            return;                                                          \
        }                                                                    \
    } while (0)
#else
#define CNT1_X86(X)
#define CNT1_PICK(SUF, ARGS)
#endif

#define VEC_KERNELS(SUF, T)                                                  \
/* Pass 1 over len values of p (len a multiple of LANES), shift K. */       \
INLINE void vpass1_##SUF(const T *p, uint64_t len, double K,                \
                         struct lane1 *out)                                  \
{                                                                            \
    const v8d zero = {0}, k = zero + K;                                      \
    v8d s[2] = {zero, zero}, n[2], x[2];                                     \
    v8l c = {0};                                                             \
    n[0] = n[1] = zero + INFINITY;                                           \
    x[0] = x[1] = zero - INFINITY;                                           \
    for (uint64_t j = 0; j < len; j += LANES)                                \
        _Pragma("GCC unroll 2")                                              \
        for (int i = 0; i < 2; i++) {                                        \
            v8d a = load_##SUF(p + j + 8 * i);                               \
            v8l ok = a == a;                                                 \
            s[i] += vmask(ok, a - k);                                        \
            c -= ok;                                                         \
            n[i] = vsel(a < n[i], a, n[i]);                                  \
            x[i] = vsel(a > x[i], a, x[i]);                                  \
        }                                                                    \
    out->s = lanes_sum(s);                                                   \
    out->k = 0;                                                              \
    out->mn = INFINITY;                                                      \
    out->mx = -INFINITY;                                                     \
    for (int l = 0; l < 8; l++)                                              \
        out->k += (uint64_t)c[l];                                            \
    for (int i = 0; i < 2; i++)                                              \
        for (int l = 0; l < 8; l++) {                                        \
            out->mn = n[i][l] < out->mn ? n[i][l] : out->mn;                 \
            out->mx = x[i][l] > out->mx ? x[i][l] : out->mx;                 \
        }                                                                    \
}                                                                            \
                                                                             \
/* Pass 2: the sum of squared deviations from K + mb of the non-NaNs. */    \
INLINE double vpass2_##SUF(const T *p, uint64_t len, double K, double mb)   \
{                                                                            \
    const v8d zero = {0}, k = zero + K, m = zero + mb;                       \
    v8d q[2] = {zero, zero};                                                 \
    for (uint64_t j = 0; j < len; j += LANES)                                \
        _Pragma("GCC unroll 2")                                              \
        for (int i = 0; i < 2; i++) {                                        \
            v8d a = load_##SUF(p + j + 8 * i);                               \
            v8d d = (a - k) - m;                                             \
            q[i] += vmask(a == a, d * d);                                    \
        }                                                                    \
    return lanes_sum(q);                                                     \
}                                                                            \
                                                                             \
/* Pass 1 of a block of len values: lanes for the first body = len -      \
 * len % LANES values, then a scalar tail, in that order; min, max and the  \
 * NaN count go into c. */                                                   \
INLINE void block1_##SUF(struct cell *c, const T *p, uint64_t len,          \
                         uint64_t body, double K, struct lane1 *L)           \
{                                                                            \
    *L = (struct lane1){0.0, INFINITY, -INFINITY, 0};                        \
    if (body)                                                                \
        vpass1_##SUF(p, body, K, L);                                         \
    for (uint64_t j = body; j < len; j++) {                                  \
        double v = p[j];                                                     \
        if (isnan(v))                                                        \
            continue;                                                        \
        L->s += v - K;                                                       \
        L->k++;                                                              \
        L->mn = v < L->mn ? v : L->mn;                                       \
        L->mx = v > L->mx ? v : L->mx;                                       \
    }                                                                        \
    c->min.f = L->mn < c->min.f ? L->mn : c->min.f;                          \
    c->max.f = L->mx > c->max.f ? L->mx : c->max.f;                          \
    c->nan += len - L->k;                                                    \
}                                                                            \
                                                                             \
/* The block kernel: pass 1, then pass 2 about the block's mean. */         \
H5B_CLONES                                                                   \
static void upd1_##SUF(struct cell *c, const T *x, uint64_t n)              \
{                                                                            \
    for (uint64_t i0 = 0; i0 < n; i0 += BLOCK) {                            \
        uint64_t len = n - i0 < BLOCK ? n - i0 : BLOCK;                     \
        uint64_t body = len - len % LANES;                                   \
        const T *p = x + i0;                                                 \
        struct lane1 L;                                                      \
        shift_##SUF(c, p, len, 1);                                           \
        double K = c->shift;                                                 \
        block1_##SUF(c, p, len, body, K, &L);                                \
        if (L.k == 0)                                                        \
            continue;                                                        \
        double mb = L.s / (double)L.k;                                       \
        double q = body ? vpass2_##SUF(p, body, K, mb) : 0.0;                \
        for (uint64_t j = body; j < len; j++) {                              \
            double d = ((double)p[j] - K) - mb;                              \
            q += isnan(p[j]) ? 0.0 : d * d;                                  \
        }                                                                    \
        cell_combine(c, L.k, mb, q, L.s);                                    \
    }                                                                        \
}                                                                            \
                                                                             \
/* With exact sums the cell needs only its count, NaN count, min and max:  \
 * pass 1 alone (its sum of v - 0 unused); the moment fields stay 0.        \
 * GCC 12 fails with an internal error on target clones of this one, so    \
 * cnt1 picks its build itself (CNT1_PICK: the baseline's 64-byte         \
 * vectors in SSE2 registers took 60% of an exact run's CPU). */           \
CNT1_KERNEL(cnt1_base_##SUF, , SUF, T)                                       \
CNT1_X86(CNT1_KERNEL(cnt1_avx512_##SUF,                                      \
                     __attribute__((target("avx512f"))), SUF, T))           \
__attribute__((unused))     /* f64: exact_float's tally (xscan.h) */     \
static void cnt1_##SUF(struct cell *c, const T *x, uint64_t n)              \
{                                                                            \
    CNT1_PICK(SUF, (c, x, n));                                               \
    cnt1_base_##SUF(c, x, n);                                                \
}

VEC_KERNELS(f64, double)
VEC_KERNELS(f32, float)

/* Float data of many cells: blockn's statistics for eight cells at a
 * time, a cell a lane of a GCC vector kept in registers over the block's
 * records.  A cell's values are added in record order with blockn's
 * operations, so the bits are those of blockn (and of one cell at a time),
 * whatever the vector width.  A last group of fewer than eight cells is
 * loaded padded with NaN, which every statistic skips; its spare lanes
 * are never stored. */
#define BLOCKV_KERNEL(SUF, T)                                                \
/* The w <= 8 values at p, padded with NaN. */                             \
INLINE v8d loadn_##SUF(const T *p, unsigned w)                               \
{                                                                            \
    T t[8];                                                                  \
    if (w == 8)                                                              \
        return load_##SUF(p);                                                \
    for (unsigned l = 0; l < 8; l++)                                         \
        t[l] = l < w ? p[l] : (T)NAN;                                        \
    return load_##SUF(t);                                                    \
}                                                                            \
                                                                             \
H5B_CLONES                                                                   \
static void blockv_##SUF(struct moments *m, const T *p, uint64_t len)       \
{                                                                            \
    const uint64_t nc = m->ncell;                                            \
    const v8d zero = {0};                                                    \
    for (uint64_t j0 = 0; j0 < nc; j0 += 8) {                                \
        unsigned w = nc - j0 < 8 ? (unsigned)(nc - j0) : 8;                  \
        struct cell *c = m->c + j0;                                          \
        v8d sh = zero, mn = zero + INFINITY, mx = zero - INFINITY;           \
        v8d s = zero, k = zero, q = zero, mb;                                \
        for (unsigned l = 0; l < w; l++) {                                   \
            sh[l] = c[l].shift;                                              \
            mn[l] = c[l].min.f;                                              \
            mx[l] = c[l].max.f;                                              \
        }                                                                    \
        for (uint64_t r = 0; r < len; r++) {                                 \
            v8d v = loadn_##SUF(p + r * nc + j0, w);                         \
            v8l ok = v == v;                                                 \
            s += vmask(ok, v - sh);                                          \
            k += vmask(ok, zero + 1.0);                                      \
            mn = vsel(v < mn, v, mn);                                        \
            mx = vsel(v > mx, v, mx);                                        \
        }                                                                    \
        mb = vsel(k > zero, s / k, zero);                                    \
        for (uint64_t r = 0; r < len; r++) {                                 \
            v8d v = loadn_##SUF(p + r * nc + j0, w);                         \
            v8d d = (v - sh) - mb;                                           \
            q += vmask(v == v, d * d);                                       \
        }                                                                    \
        for (unsigned l = 0; l < w; l++) {                                   \
            uint64_t kl = (uint64_t)k[l];                                    \
            c[l].min.f = mn[l];                                              \
            c[l].max.f = mx[l];                                              \
            c[l].nan += len - kl;                                            \
            if (kl)                                                          \
                cell_combine(&c[l], kl, mb[l], q[l], s[l]);                  \
        }                                                                    \
    }                                                                        \
}

BLOCKV_KERNEL(f64, double)
UPDN_KERNEL(f64, double, blockv)
BLOCKV_KERNEL(f32, float)
UPDN_KERNEL(f32, float, blockv)

/* Which optional outputs cfg asks for. */
static unsigned wanted(const struct h5b_op_config *cfg)
{
    static const char *const names[] = {"sum", "mean", "var", "std",
                                        "min", "max"};
    unsigned w = 0;
    for (const char *const *o = cfg->outputs; o && *o; o++)
        for (unsigned i = 0; i < 6; i++)
            if (strcmp(*o, names[i]) == 0)
                w |= 1u << i;
    /* With weights, op_weighted writes these (op.h). */
    if (cfg->weights)
        w &= ~(unsigned)(W_SUM | W_MEAN | W_VAR | W_STD);
    return w;
}

static void moments_destroy(void *state)
{
    struct moments *m = state;
    if (!m)
        return;
    free(m->c);
    free(m->scratch);
    free(m->x);
    free(m->large);
    free(m->rows);
    free(m);
}

static int moments_create(const struct h5b_op_config *cfg, void **state,
                          struct h5b_error *err)
{
    *state = NULL;
    const char *ddof = cfg->arg ? cfg->arg(cfg, "ddof") : NULL;
    const char *exact = cfg->arg ? cfg->arg(cfg, "exact") : NULL;
    struct moments *m = calloc(1, sizeof *m);
    if (!m || cfg->ncell == 0 ||
        cfg->ncell > SIZE_MAX / (SCRATCH_PER_CELL * sizeof(double)))
        goto fail;
    m->cfg = cfg;
    m->want = wanted(cfg);
    m->ddof = ddof ? atoi(ddof) : 0;
    m->ncell = cfg->ncell;
    m->c = malloc(m->ncell * sizeof *m->c);
    if (!m->c)
        goto fail;
    if (m->ncell > 1) {
        m->scratch = malloc(SCRATCH_PER_CELL * m->ncell * sizeof *m->scratch);
        if (!m->scratch)
            goto fail;
    }
    if (exact && strcmp(exact, "yes") == 0) {
        /* cleared: the empty sum is all zero bytes (exactsum.h); calloc's
         * fresh pages cost nothing until a cell's sum first touches them */
        m->x = calloc(m->ncell, sizeof *m->x);
        if (!m->x)
            goto fail;
    }
    for (uint64_t j = 0; j < m->ncell; j++)
        cell_clear(&m->c[j], cfg->type);
    *state = m;
    return 0;
fail:
    moments_destroy(m);
    return h5b_fail(err, "out of memory for %llu cells",
                    (unsigned long long)cfg->ncell);
}

/* Dispatch one block to the kernel for its type. */
#define DISPATCH(SUF, T)                                                     \
    if (m->ncell == 1)                                                       \
        upd1_##SUF(m->c, (const T *)blk->data, blk->nrec);                   \
    else                                                                     \
        updn_##SUF(m, (const T *)blk->data, blk->nrec);                      \
    return 0

/* Feed nrec records of values of type T at p into the exact accumulators
 * (NaN skipped: it is counted by the kernels), in record order; ADD is
 * the exact add for T (XS_TYPES). */
#define EXACT_KERNEL(SUF, T, ADD)                                            \
static void exact_##SUF(struct moments *m, const T *p, uint64_t nrec)       \
{                                                                            \
    const uint64_t nc = m->ncell;                                            \
    for (uint64_t r = 0; r < nrec; r++, p += nc)                            \
        for (uint64_t j = 0; j < nc; j++)                                    \
            if (p[j] == p[j])                                                \
                ADD(&m->x[j], p[j]);                                         \
    for (uint64_t j = 0; j < nc; j++)                                        \
        xs_normalize(&m->x[j]);                                              \
}
XS_TYPES(EXACT_KERNEL)

#define DISPATCH_EXACT(SUF, T)                                               \
    exact_##SUF(m, (const T *)blk->data, blk->nrec);                         \
    break

/* Records per gather of one cell's values for the large accumulator; a
 * block of fewer records per update goes value by value instead (each
 * pass of the large accumulator ends in a flush and a normalisation). */
#define GATHER BLOCK
#define GATHER_MIN 256

/* Value i of the float block blk as float64. */
static double float_at(const struct h5b_block *blk, int f32, uint64_t i)
{
    return f32 ? ((const float *)blk->data)[i] : ((const double *)blk->data)[i];
}

/* Cells [j0, j0 + w) of the float block: row r into buf (float64). */
static const double *float_row(const struct h5b_block *blk, int f32,
                               uint64_t nc, uint64_t r, uint64_t j0,
                               uint64_t w, double *buf)
{
    const uint64_t at = r * nc + j0;
    if (!f32)
        return (const double *)blk->data + at;
    for (uint64_t j = 0; j < w; j++)
        buf[j] = ((const float *)blk->data)[at + j];
    return buf;
}

/* Cells [j0, j0 + w) through the rows path (exactsum.h) when their values
 * in blk span few enough binades; returns 0 when they do not (nothing
 * added). */
static int exact_rows(struct moments *m, const struct h5b_block *blk,
                      int f32, uint64_t j0, uint64_t w)
{
    const uint64_t nc = m->ncell;
    double buf[XS_ROW_CELLS];
    struct xs_span sp;
    xs_span_init(&sp);
    for (uint64_t r = 0; r < blk->nrec; r++)
        xs_span_add(&sp, float_row(blk, f32, nc, r, j0, w, buf), w);
    if (!xs_span_narrow(&sp))
        return 0;
    xs_rows_start(m->rows, &sp, w);
    for (uint64_t r = 0; r < blk->nrec; r++)
        xs_rows_add(m->rows, float_row(blk, f32, nc, r, j0, w, buf));
    xs_rows_flush(m->rows, &m->x[j0]);
    return 1;
}

/* Cells [j0, j0 + w) of a float block otherwise: each cell's values of up
 * to GATHER records widened into one buffer for the large accumulator,
 * or value by value when the block has few records. */
static void exact_cells(struct moments *m, const struct h5b_block *blk,
                        int f32, uint64_t j0, uint64_t w)
{
    const uint64_t nc = m->ncell, n = blk->nrec;
    double buf[GATHER];
    for (uint64_t j = j0; j < j0 + w; j++) {
        if (n < GATHER_MIN) {
            for (uint64_t i = 0; i < n; i++) {
                double v = float_at(blk, f32, i * nc + j);
                if (v == v)
                    xs_add_f64(&m->x[j], v);
            }
            xs_normalize(&m->x[j]);
            continue;
        }
        for (uint64_t i0 = 0; i0 < n; i0 += GATHER) {
            uint64_t len = n - i0 < GATHER ? n - i0 : GATHER;
            for (uint64_t i = 0; i < len; i++)
                buf[i] = float_at(blk, f32, (i0 + i) * nc + j);
            xs_add_f64s_skipnan(&m->x[j], m->large, buf, len);
        }
    }
}

/* m's large-accumulator scratch, made on first use (its contents need
 * not be 0); NULL when out of memory. */
static struct xs_large *large_scratch(struct moments *m)
{
    if (!m->large)
        m->large = malloc(sizeof *m->large);
    return m->large;
}

/* The exact sums of float cells (the fast paths): one-cell float64 data
 * in place through the large accumulator; many cells XS_ROW_CELLS at a
 * time through the rows path, or else exact_cells. */
static int exact_float(struct moments *m, const struct h5b_block *blk,
                       struct h5b_error *err)
{
    const uint64_t nc = m->ncell;
    int f32 = m->cfg->type == H5B_FLOAT32;
    if (nc == 1 && !f32) {
        /* count, min and max from the pass that plans each run */
        struct cell *c = m->c;
        struct xscan_tally t = {c->n, c->min.f, c->max.f};
        if (!large_scratch(m))
            goto oom;
        xs_add_f64s_tally(m->x, m->large, blk->data, blk->nrec, &t);
        c->nan += blk->nrec - (t.n - c->n);
        c->n = t.n;
        c->min.f = t.min;
        c->max.f = t.max;
        return 0;
    }
    if (!m->rows && !(m->rows = malloc(sizeof *m->rows)))
        goto oom;
    for (uint64_t j0 = 0; j0 < nc; j0 += XS_ROW_CELLS) {
        uint64_t w = nc - j0 < XS_ROW_CELLS ? nc - j0 : XS_ROW_CELLS;
        if (exact_rows(m, blk, f32, j0, w))
            continue;
        if (!large_scratch(m))
            goto oom;
        exact_cells(m, blk, f32, j0, w);
    }
    return 0;
oom:
    return h5b_fail(err, "out of memory for an exact sum scratch");
}

/* Feed blk into the exact accumulators. */
static int exact_update(struct moments *m, const struct h5b_block *blk,
                        struct h5b_error *err)
{
    if (is_float(m->cfg->type))
        return exact_float(m, blk, err);
    switch (m->cfg->type) {
    H5B_TYPE_CASES(DISPATCH_EXACT);
    }
    return 0;
}

static int moments_update(void *state, const struct h5b_block *blk,
                          struct h5b_error *err)
{
    struct moments *m = state;
    if (m->x && exact_update(m, blk, err) < 0)
        return -1;
    if (m->x && m->ncell == 1 && m->cfg->type == H5B_FLOAT64)
        return 0;               /* exact_float took count, min and max */
    if (m->x && m->ncell == 1 && m->cfg->type == H5B_FLOAT32) {
        cnt1_f32(m->c, blk->data, blk->nrec);
        return 0;
    }
    switch (m->cfg->type) {
    H5B_TYPE_CASES(DISPATCH);
    }
    return h5b_fail(err, "unsupported element type %d", (int)m->cfg->type);
}

/* x := x (+) y for one cell; y's mean is moved to x's shift exactly:
 * shifts are data values, and (ys - xs) + (ym - xm) keeps the digits. */
static void merge_cell(struct cell *x, const struct cell *y)
{
    struct stats_mom a = {x->n, x->shift, x->mean, x->m2};
    struct stats_mom b = {y->n, y->shift, y->mean, y->m2};
    stats_merge(&a, &b);
    x->n = a.n;
    x->shift = a.shift;
    x->mean = a.mean;
    x->m2 = a.m2;
    stats_neumaier(&x->sum, &x->comp, y->sum);
    x->comp += y->comp;
}

static int moments_merge(void *acc, const void *later, struct h5b_error *err)
{
    struct moments *a = acc;
    const struct moments *b = later;
    if (a->ncell != b->ncell)
        return h5b_fail(err, "cell counts differ (%llu vs %llu)",
                        (unsigned long long)a->ncell,
                        (unsigned long long)b->ncell);
    int flt = is_float(a->cfg->type), sgn = is_signed(a->cfg->type);
    for (uint64_t j = 0; j < a->ncell; j++) {
        struct cell *x = &a->c[j];
        const struct cell *y = &b->c[j];
        merge_cell(x, y);
        if (a->x)
            xs_merge(&a->x[j], &b->x[j]);
        x->nan += y->nan;
        if (flt) {
            x->min.f = y->min.f < x->min.f ? y->min.f : x->min.f;
            x->max.f = y->max.f > x->max.f ? y->max.f : x->max.f;
        } else if (sgn) {
            x->min.i = y->min.i < x->min.i ? y->min.i : x->min.i;
            x->max.i = y->max.i > x->max.i ? y->max.i : x->max.i;
        } else {
            x->min.u = y->min.u < x->min.u ? y->min.u : x->min.u;
            x->max.u = y->max.u > x->max.u ? y->max.u : x->max.u;
        }
    }
    return 0;
}

static size_t moments_encoded_size(const void *state)
{
    const struct moments *m = state;
    size_t n = 8 + (size_t)m->ncell * CELL_BYTES;
    for (uint64_t j = 0; m->x && j < m->ncell; j++)
        n += xs_encoded_size(&m->x[j]);
    return n;
}

static int moments_encode(const void *state, void *buf, size_t len,
                          struct h5b_error *err)
{
    const struct moments *m = state;
    unsigned char *p = buf;
    if (len != moments_encoded_size(m))
        return h5b_fail(err, "encode buffer of %zu bytes, need %zu", len,
                        moments_encoded_size(m));
    h5b_put_u64(p, m->ncell);
    p += 8;
    for (uint64_t j = 0; j < m->ncell; j++, p += CELL_BYTES) {
        const struct cell *c = &m->c[j];
        h5b_put_u64(p, c->n);
        h5b_put_u64(p + 8, c->nan);
        h5b_put_f64(p + 16, c->shift);
        h5b_put_f64(p + 24, c->mean);
        h5b_put_f64(p + 32, c->m2);
        h5b_put_f64(p + 40, c->sum);
        h5b_put_f64(p + 48, c->comp);
        h5b_put_u64(p + 56, c->min.u);
        h5b_put_u64(p + 64, c->max.u);
    }
    /* Then each cell's exact accumulator (it has its own lengths). */
    const unsigned char *end = (const unsigned char *)buf + len;
    for (uint64_t j = 0; m->x && j < m->ncell; j++) {
        size_t k = xs_encode(&m->x[j], p, (size_t)(end - p));
        if (k == 0)
            return h5b_fail(err, "cannot encode the exact sum of cell %llu",
                            (unsigned long long)j);
        p += k;
    }
    return 0;
}

static int moments_decode(void *state, const void *buf, size_t len,
                          struct h5b_error *err)
{
    struct moments *m = state;
    const unsigned char *p = buf, *end = p + len;
    size_t fixed = 8 + (size_t)m->ncell * CELL_BYTES;
    if ((m->x ? len < fixed : len != fixed) || h5b_get_u64(p) != m->ncell)
        return h5b_fail(err, "state of %zu bytes does not hold %llu cells",
                        len, (unsigned long long)m->ncell);
    p += 8;
    for (uint64_t j = 0; j < m->ncell; j++, p += CELL_BYTES) {
        struct cell *c = &m->c[j];
        c->n = h5b_get_u64(p);
        c->nan = h5b_get_u64(p + 8);
        c->shift = h5b_get_f64(p + 16);
        c->mean = h5b_get_f64(p + 24);
        c->m2 = h5b_get_f64(p + 32);
        c->sum = h5b_get_f64(p + 40);
        c->comp = h5b_get_f64(p + 48);
        c->min.u = h5b_get_u64(p + 56);
        c->max.u = h5b_get_u64(p + 64);
    }
    for (uint64_t j = 0; m->x && j < m->ncell; j++) {
        size_t k = xs_decode(&m->x[j], p, (size_t)(end - p));
        if (k == 0)
            return h5b_fail(err, "exact sum of cell %llu truncated or "
                            "malformed", (unsigned long long)j);
        p += k;
    }
    if (p != end)
        return h5b_fail(err, "state of %zu bytes has %zu bytes left over",
                        len, (size_t)(end - p));
    return 0;
}

/* Write one float64 result computed per cell by f. */
static int put_f64(const struct moments *m, const struct h5b_sink *sink,
                   const char *name, double (*f)(const struct moments *,
                                                 const struct cell *),
                   struct h5b_error *err)
{
    double *v = malloc(m->ncell * sizeof *v);
    if (!v)
        return h5b_fail(err, "out of memory writing %s", name);
    for (uint64_t j = 0; j < m->ncell; j++)
        v[j] = f(m, &m->c[j]);
    int rc = sink->put_cells(sink->ctx, name, H5B_FLOAT64, 0, NULL, v, err);
    free(v);
    return rc;
}

/* The exact accumulator of cell c (m->x set). */
static const struct exactsum *exact_of(const struct moments *m,
                                       const struct cell *c)
{
    return &m->x[c - m->c];
}

static double f_sum(const struct moments *m, const struct cell *c)
{
    if (m->x)
        return xs_sum(exact_of(m, c));
    return c->sum + c->comp;
}

static double f_mean(const struct moments *m, const struct cell *c)
{
    if (m->x)
        return xs_mean(exact_of(m, c), c->n);
    return c->n ? c->shift + c->mean : NAN;
}

static double f_var(const struct moments *m, const struct cell *c)
{
    if (m->x)
        return xs_var(exact_of(m, c), c->n, (unsigned)m->ddof);
    return c->n > (uint64_t)m->ddof ? c->m2 / (double)(c->n - m->ddof) : NAN;
}

static double f_std(const struct moments *m, const struct cell *c)
{
    return sqrt(f_var(m, c));
}

/* Narrow a cell's min or max to the input type into dst[j]. */
static void narrow(h5b_type t, void *dst, uint64_t j, union ext v)
{
    switch (t) {
    case H5B_INT8: ((int8_t *)dst)[j] = (int8_t)v.i; break;
    case H5B_UINT8: ((uint8_t *)dst)[j] = (uint8_t)v.u; break;
    case H5B_INT16: ((int16_t *)dst)[j] = (int16_t)v.i; break;
    case H5B_UINT16: ((uint16_t *)dst)[j] = (uint16_t)v.u; break;
    case H5B_INT32: ((int32_t *)dst)[j] = (int32_t)v.i; break;
    case H5B_UINT32: ((uint32_t *)dst)[j] = (uint32_t)v.u; break;
    case H5B_INT64: ((int64_t *)dst)[j] = v.i; break;
    case H5B_UINT64: ((uint64_t *)dst)[j] = v.u; break;
    case H5B_FLOAT32: ((float *)dst)[j] = (float)v.f; break;
    case H5B_FLOAT64: ((double *)dst)[j] = v.f; break;
    }
}

/* Write min or max: in the input type, except that integer input with an
 * empty cell is written as float64 with NaN (an integer has no NaN). */
static int put_extreme(const struct moments *m, const struct h5b_sink *sink,
                       int is_max, struct h5b_error *err)
{
    h5b_type t = m->cfg->type;
    int as_f64 = 0;
    for (uint64_t j = 0; j < m->ncell && !is_float(t); j++)
        as_f64 |= m->c[j].n == 0;
    h5b_type out = as_f64 ? H5B_FLOAT64 : t;
    void *v = malloc(m->ncell * h5b_type_size(out));
    if (!v)
        return h5b_fail(err, "out of memory writing min/max");
    for (uint64_t j = 0; j < m->ncell; j++) {
        const struct cell *c = &m->c[j];
        union ext e = is_max ? c->max : c->min;
        if (c->n == 0 || as_f64)
            e.f = NAN;
        narrow(out, v, j, e);
    }
    int rc = sink->put_cells(sink->ctx, is_max ? "max" : "min", out, 0,
                             NULL, v, err);
    free(v);
    return rc;
}

/* Write count (always) and nan_count (float input). */
static int put_counts(const struct moments *m, const struct h5b_sink *sink,
                      struct h5b_error *err)
{
    uint64_t *v = malloc(m->ncell * sizeof *v);
    int rc = 0;
    if (!v)
        return h5b_fail(err, "out of memory writing count");
    for (uint64_t j = 0; j < m->ncell; j++)
        v[j] = m->c[j].n;
    rc = sink->put_cells(sink->ctx, "count", H5B_UINT64, 0, NULL, v, err);
    if (rc == 0 && is_float(m->cfg->type)) {
        for (uint64_t j = 0; j < m->ncell; j++)
            v[j] = m->c[j].nan;
        rc = sink->put_cells(sink->ctx, "nan_count", H5B_UINT64, 0, NULL, v,
                             err);
    }
    free(v);
    return rc;
}

static int moments_finalize(const void *state, const struct h5b_sink *sink,
                            struct h5b_error *err)
{
    const struct moments *m = state;
    int rc = put_counts(m, sink, err);
    if (rc == 0 && (m->want & W_SUM))
        rc = put_f64(m, sink, "sum", f_sum, err);
    if (rc == 0 && (m->want & W_MEAN))
        rc = put_f64(m, sink, "mean", f_mean, err);
    if (rc == 0 && (m->want & W_VAR))
        rc = put_f64(m, sink, "var", f_var, err);
    if (rc == 0 && (m->want & W_STD))
        rc = put_f64(m, sink, "std", f_std, err);
    if (rc == 0 && (m->want & W_MIN))
        rc = put_extreme(m, sink, 0, err);
    if (rc == 0 && (m->want & W_MAX))
        rc = put_extreme(m, sink, 1, err);
    return rc;
}

const h5b_operator op_moments = {
    .abi = H5B_OPERATOR_ABI,
    .name = "moments",
    .provides = provides,
    .create = moments_create,
    .destroy = moments_destroy,
    .update = moments_update,
    .merge = moments_merge,
    .encoded_size = moments_encoded_size,
    .encode = moments_encode,
    .decode = moments_decode,
    .finalize = moments_finalize,
};

uint64_t op_moments_bytes(uint64_t ncell, int exact)
{
    uint64_t per = sizeof(struct cell) +
                   (ncell > 1 ? SCRATCH_PER_CELL * sizeof(double) : 0) +
                   (exact ? sizeof(struct exactsum) : 0);
    /* and with exact sums the large accumulator's scratch, once a state */
    uint64_t once = exact ? sizeof(struct xs_large) : 0;
    return ncell > (UINT64_MAX - once) / per ? UINT64_MAX : ncell * per + once;
}
