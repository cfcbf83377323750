/* stats.h -- numerics and type dispatch shared by the built-in operators.
 *
 * Compensated summation and the merge of (count, shift, mean, M2)
 * summaries are used by op_moments and groupby alike, and must stay the
 * same code so both give the same bits.  H5B_TYPE_CASES expands to one
 * `case` per element type, calling M(suffix, C type) -- the one place the
 * list of types is spelled out for kernels generated per type.
 */
#ifndef H5B_STATS_H
#define H5B_STATS_H

#include <math.h>
#include <stdint.h>

#include "h5batch/operator.h"

#define H5B_TYPE_CASES(M)                                                    \
    case H5B_INT8: M(i8, int8_t);                                            \
    case H5B_UINT8: M(u8, uint8_t);                                          \
    case H5B_INT16: M(i16, int16_t);                                         \
    case H5B_UINT16: M(u16, uint16_t);                                       \
    case H5B_INT32: M(i32, int32_t);                                         \
    case H5B_UINT32: M(u32, uint32_t);                                       \
    case H5B_INT64: M(i64, int64_t);                                         \
    case H5B_UINT64: M(u64, uint64_t);                                       \
    case H5B_FLOAT32: M(f32, float);                                         \
    case H5B_FLOAT64: M(f64, double)

/* sum += x with Neumaier's compensation kept in *comp.  Once the sum is
 * infinite or NaN the compensation stops (inf - inf would make it NaN). */
static inline void stats_neumaier(double *sum, double *comp, double x)
{
    double t = *sum + x;
    if (!isfinite(t))
        ;
    else if (fabs(*sum) >= fabs(x))
        *comp += (*sum - t) + x;
    else
        *comp += (x - t) + *sum;
    *sum = t;
}

/* A summary of values: count, a shift (a data value), the mean relative
 * to the shift, and M2 (the sum of squared deviations). */
struct stats_mom {
    uint64_t n;
    double shift, mean, m2;
};

/* x := x (+) y (Chan et al.), y's values following x's.  y's mean is
 * moved to x's shift as (ys - xs) + (ym - xm): shifts are data values, so
 * their difference is exact where it matters and the noise keeps its
 * digits even on data like 1e9 + noise. */
static inline void stats_merge(struct stats_mom *x, const struct stats_mom *y)
{
    if (y->n && !x->n) {
        *x = *y;
    } else if (y->n) {
        uint64_t n = x->n + y->n;
        double d = (y->shift - x->shift) + (y->mean - x->mean);
        double f = (double)y->n / (double)n;
        x->mean += d * f;
        x->m2 += y->m2 + d * d * (double)x->n * f;
        x->n = n;
    }
}

#endif
