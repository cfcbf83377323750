/* exactsum.h -- exact sums of float64 values and of their squares.
 *
 * A small superaccumulator after R. M. Neal, "Fast exact summation using
 * small and large superaccumulators" (2015, arXiv:1505.05571), section 3:
 * a fixed-point number held in 64-bit signed chunks, chunk i standing for
 * 32 bits of weight 2^(32 i) times the accumulator's lowest bit.  A
 * double's 53-bit mantissa, placed by its exponent, lands in two chunks
 * (Neal's "low" and "high" mantissa parts); the squares' 106-bit mantissa
 * products (an exact 64 x 64 -> 128-bit integer product, no rounding) land
 * in four chunks of a second accumulator of twice the exponent range.  The
 * upper 31 bits of every chunk are carry room: at most XS_PENDING values
 * are added before the carries are propagated (xs_normalize), after which
 * every chunk is a balanced digit in [-2^31, 2^31) and the top chunk's
 * sign is the sum's.  So the state is an exact integer: adding, merging
 * and the order of either change no bit of it.
 *
 * Infinities and NaNs are counted apart from the finite sum, as IEEE
 * arithmetic (and numpy) combine them: any NaN, or +inf with -inf, makes
 * the sum NaN; otherwise an infinity wins.  A finite exact sum whose
 * correct rounding exceeds the float64 range gives +-inf (IEEE's rounding
 * of the exact value; math.fsum raises OverflowError there instead).
 *
 * Results are rounded once, to nearest with ties to even: the sum (bit
 * equal to Python's math.fsum), the mean (exact sum / count) and the
 * variance ((n Sxx - Sx^2) / (n (n - ddof)), an exact integer numerator
 * divided once).  No MPI, no HDF5.
 */
#ifndef H5B_EXACTSUM_H
#define H5B_EXACTSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xscan.h"

/* Chunks of the sum (lowest bit 2^-1074; 2^64 values of up to 2^1024 need
 * bits to 2^1088) and of the squares (lowest bit 2^-2148, up to 2^2112). */
#define XS_SUM_CHUNKS 70
#define XS_SQ_CHUNKS 136
/* Values added between carry propagations: a chunk takes less than 2^53
 * per value (Neal's bound 2^(63-53)), so 512 of them and a balanced digit
 * stay below 2^63. */
#define XS_PENDING 512
/* The most bytes xs_encode writes. */
#define XS_MAX_BYTES (24 + 16 + 4 * (XS_SUM_CHUNKS + XS_SQ_CHUNKS))

struct exactsum {
    int64_t s[XS_SUM_CHUNKS];   /* sum of the finite values */
    int64_t q[XS_SQ_CHUNKS];    /* sum of their squares */
    uint64_t pinf, ninf, nan;   /* +inf, -inf and NaN values seen */
    uint32_t pending;           /* values added since xs_normalize */
};

/* The empty sum: all zero bytes (so calloc'd accumulators are empty). */
void xs_clear(struct exactsum *a);

/* Propagate carries so every chunk is a balanced 32-bit digit (pending
 * becomes 0).  Changes no value. */
void xs_normalize(struct exactsum *a);

/* Add x and x^2 exactly (a NaN or infinity is only counted). */
static inline void xs_add_f64(struct exactsum *a, double x)
{
    uint64_t b;
    memcpy(&b, &x, 8);
    uint64_t e = (b >> 52) & 0x7ff, m = b & ((UINT64_C(1) << 52) - 1);
    if (e == 0x7ff) {
        if (m)
            a->nan++;
        else if (b >> 63)
            a->ninf++;
        else
            a->pinf++;
        return;
    }
    /* x = m * 2^(pos - 1074): pos 0 for subnormals and zeros. */
    uint64_t pos = e ? e - 1 : 0;
    m |= e ? UINT64_C(1) << 52 : 0;
    unsigned lo = pos & 31, hi = (unsigned)(pos >> 5);
    int64_t l = (int64_t)((m << lo) & 0xffffffffu);
    int64_t h = (int64_t)(m >> (32 - lo));
    if (b >> 63) {
        a->s[hi] -= l;
        a->s[hi + 1] -= h;
    } else {
        a->s[hi] += l;
        a->s[hi + 1] += h;
    }
    /* x^2 = m^2 * 2^(2 pos - 2148); m^2 < 2^106, shifted by < 32 bits
     * it spans four chunks, the top one below 2^41. */
    unsigned __int128 m2 = (unsigned __int128)m * m;
    unsigned q = (unsigned)(2 * pos), qs = q & 31, qi = q >> 5;
    unsigned __int128 r = m2 >> (32 - qs);
    a->q[qi] += (int64_t)(((uint64_t)m2 << qs) & 0xffffffffu);
    a->q[qi + 1] += (int64_t)((uint64_t)r & 0xffffffffu);
    a->q[qi + 2] += (int64_t)((uint64_t)(r >> 32) & 0xffffffffu);
    a->q[qi + 3] += (int64_t)(uint64_t)(r >> 64);
    if (++a->pending == XS_PENDING)
        xs_normalize(a);
}

/* Add a 64-bit integer and its square exactly (no float rounding even
 * above 2^53). */
void xs_add_i64(struct exactsum *a, int64_t v);
void xs_add_u64(struct exactsum *a, uint64_t v);

/* Neal's large superaccumulator (section 4 of the paper), as a scratch
 * for long runs of float64 values of one sum: one 64-bit integer per
 * exponent for the signed mantissas and a 128-bit one for their squares,
 * flushed into the small accumulator every 512 values a lane: adding a
 * value is two integer adds and one 64 x 64 -> 128-bit product, with no
 * split into chunks.  XS_LANES copies of each, value i going to copy
 * i % XS_LANES, so runs of values of one exponent are independent chains
 * of adds rather than one.  A run zeroes the entries of its exponents
 * first, so the scratch needs no initial state.  About 390 KB: one per
 * operator state, not per cell. */
#define XS_LANES 8
#define XS_EXPONENTS 2048
/* Entries a lane spans: 8 more than the exponents, so that no two
 * lanes' (or arrays') entries of one exponent are a multiple of 4 KiB
 * apart, which x86 cores take for a possible store-to-load dependency. */
#define XS_STRIDE (XS_EXPONENTS + 8)
struct xs_large {
    int64_t s[XS_LANES][XS_STRIDE];
    unsigned __int128 q[XS_LANES][XS_STRIDE];
};

/* Add the n float64 values at x (contiguous) and their squares exactly
 * into a, through the scratch L (any contents; overwritten).  NaNs are skipped,
 * not counted (for NaN-skipping statistics that count them apart);
 * infinities are counted.  Leaves a normalised.  Runs of 4096 values take
 * the fold kernel (xfold.h) when it qualifies, else the narrow path
 * (below) when their span is narrow, else L. */
void xs_add_f64s_skipnan(struct exactsum *a, struct xs_large *L,
                         const double *x, size_t n);

/* xs_add_f64s_skipnan that also adds the values' count, minimum and
 * maximum to t, from the pass that plans each run (xscan.h: x must start
 * a block of XSCAN_BLOCK values for its ties to break as op_moments'
 * pass 1 does). */
void xs_add_f64s_tally(struct exactsum *a, struct xs_large *L,
                       const double *x, size_t n, struct xscan_tally *t);

/* Many sums at once, row by row: records of up to XS_ROW_CELLS values
 * (one per cell, each cell its own sum), as a per-cell reduction of a
 * field feeds them.  The narrow path of xs_add_f64s_skipnan across cells:
 * when every normal value of the rows a caller will add spans at most
 * XS_NARROW_SPAN + 1 binades and none is subnormal or infinite (xs_span
 * says so, from a first pass over the same rows), each value is an
 * integer v = mantissa << (exponent - lo) below 2^63, and a row adds the
 * signed 32-bit halves of v and the 32-bit halves of the three 32 x 32-bit
 * products of v^2 to 64-bit integers per cell, in a loop over the cells
 * that the compiler vectorises.  Each term is below 2^32, so up to 2^31
 * rows fit between flushes.  NaNs and zeros add nothing (NaN is counted
 * by the caller's statistics). */
#define XS_ROW_CELLS 512
#define XS_NARROW_SPAN 10

struct xs_span {
    unsigned lo, hi;        /* exponent fields of the normal values */
    int odd;                /* a subnormal or an infinity was seen */
};

void xs_span_init(struct xs_span *sp);
/* Take the n values at x into the span. */
void xs_span_add(struct xs_span *sp, const double *x, size_t n);
/* Whether rows whose values made sp may take the rows path. */
int xs_span_narrow(const struct xs_span *sp);

struct xs_rows {
    unsigned lo;            /* the span's lowest exponent field */
    size_t ncell;
    int64_t s[2][XS_ROW_CELLS];
    uint64_t q[6][XS_ROW_CELLS];
};

/* Start rows of ncell (<= XS_ROW_CELLS) values for the narrow span sp. */
void xs_rows_start(struct xs_rows *R, const struct xs_span *sp, size_t ncell);
/* Add one row: ncell values, the value of cell j at row[j]. */
void xs_rows_add(struct xs_rows *R, const double *row);
/* Add each cell's sums into a[j] (ncell of them), leaving them normalised. */
void xs_rows_flush(const struct xs_rows *R, struct exactsum *a);

/* M(suffix, C type, add) for every element type (the suffixes of
 * stats.h's H5B_TYPE_CASES), with the add that is exact for it: 64-bit
 * integers their own (a double rounds above 2^53), the rest as float64. */
#define XS_TYPES(M)                                                          \
    M(i8, int8_t, xs_add_f64)                                                \
    M(u8, uint8_t, xs_add_f64)                                               \
    M(i16, int16_t, xs_add_f64)                                              \
    M(u16, uint16_t, xs_add_f64)                                             \
    M(i32, int32_t, xs_add_f64)                                              \
    M(u32, uint32_t, xs_add_f64)                                             \
    M(i64, int64_t, xs_add_i64)                                              \
    M(u64, uint64_t, xs_add_u64)                                             \
    M(f32, float, xs_add_f64)                                                \
    M(f64, double, xs_add_f64)

/* a := a + b (exact; b is not modified).  Leaves a normalised. */
void xs_merge(struct exactsum *a, const struct exactsum *b);

/* The sum rounded once to float64 (see the header comment for inf/NaN). */
double xs_sum(const struct exactsum *a);

/* The exact sum divided by n, rounded once; NaN for n == 0. */
double xs_mean(const struct exactsum *a, uint64_t n);

/* (n Sxx - Sx^2) / (n (n - ddof)) rounded once, for n values; NaN when
 * n <= ddof or an infinity or NaN was added. */
double xs_var(const struct exactsum *a, uint64_t n, unsigned ddof);

/* Bytes xs_encode writes for a (normalised: call xs_normalize first). */
size_t xs_encoded_size(const struct exactsum *a);

/* Write a (normalised) into buf of len bytes: the counts pinf, ninf, nan
 * (u64), then per accumulator u32 first chunk, u32 chunk count and the
 * chunks as i32; zero chunks outside that range are left out.  Returns
 * the bytes written, or 0 if len is too small or a is not normalised. */
size_t xs_encode(const struct exactsum *a, unsigned char *buf, size_t len);

/* Read one encoding from buf (at most len bytes) into a.  Returns the
 * bytes used, or 0 if it is truncated or malformed (a range outside the
 * accumulator, a chunk that is not a balanced digit); a is then left
 * cleared. */
size_t xs_decode(struct exactsum *a, const unsigned char *buf, size_t len);

#endif
