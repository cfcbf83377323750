/* asblock.h -- a block of values of any element type as doubles.
 *
 * AS_BLOCK_FUNCTIONS(LEN) defines, in the including file, one
 * as_block_SUF(x, n, buf) per element type (the suffixes of
 * H5B_TYPE_CASES, with f64 for double): the n <= LEN values at x as LEN
 * doubles, padded with NaN -- widened into buf (returned; exact up to
 * 2^53, within 2^-53 relative beyond), or, for a full block of doubles,
 * x itself (no copy).  Kernels that map a block at once (op_hist,
 * op_quantile) take their blocks so.
 */
#ifndef H5B_ASBLOCK_H
#define H5B_ASBLOCK_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define AS_BLOCK_ONE(SUF, T, LEN)                                            \
static const double *as_block_##SUF(const T *x, size_t n, double *buf)      \
{                                                                            \
    for (size_t j = 0; j < n; j++)                                           \
        buf[j] = (double)x[j];                                               \
    for (size_t j = n; j < (LEN); j++)                                       \
        buf[j] = NAN;                                                        \
    return buf;                                                              \
}

#define AS_BLOCK_FUNCTIONS(LEN)                                              \
AS_BLOCK_ONE(i8, int8_t, LEN)                                                \
AS_BLOCK_ONE(u8, uint8_t, LEN)                                               \
AS_BLOCK_ONE(i16, int16_t, LEN)                                              \
AS_BLOCK_ONE(u16, uint16_t, LEN)                                             \
AS_BLOCK_ONE(i32, int32_t, LEN)                                              \
AS_BLOCK_ONE(u32, uint32_t, LEN)                                             \
AS_BLOCK_ONE(i64, int64_t, LEN)                                              \
AS_BLOCK_ONE(u64, uint64_t, LEN)                                             \
AS_BLOCK_ONE(f32, float, LEN)                                                \
AS_BLOCK_ONE(d64, double, LEN)                                               \
static const double *as_block_f64(const double *x, size_t n, double *buf)   \
{                                                                            \
    return n == (LEN) ? x : as_block_d64(x, n, buf);                         \
}

#endif
