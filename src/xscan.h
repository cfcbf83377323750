/* xscan.h -- one pass over a run of float64 values for exact sums: the
 * range of its exponents (which plans the run's exact deposit) and its
 * count, minimum and maximum (a moments cell's other statistics).
 *
 * Exact sums plan each run of up to 4096 values from its smallest and
 * largest normal exponents (xfold.h), and op_moments needs the count of
 * non-NaN values, the minimum and the maximum beside them.  Both come from
 * one pass over the run while it is in L1, rather than two over the whole
 * partition.  The minimum and maximum resolve ties (+0 against -0) as
 * op_moments' pass 1 does: blocks of XSCAN_BLOCK values from the start
 * of the data, 16 lanes (value i of a block in lane i mod 16) and a scalar
 * tail, the earlier lane, block and call winning; so the same bits as the
 * default path's, with or without exact sums.  xscan_range finds the
 * range alone, for short pieces.  No MPI, no HDF5.
 */
#ifndef H5B_XSCAN_H
#define H5B_XSCAN_H

#include <stddef.h>
#include <stdint.h>

/* Values of one tie-breaking block (op_moments.c's BLOCK). */
#define XSCAN_BLOCK 1024

/* Count, minimum and maximum of the non-NaN values seen so far: start
 * with n = 0, min = +inf, max = -inf (or a cell's running values). */
struct xscan_tally {
    uint64_t n;
    double min, max;
};

/* The run's normal exponents: the biased exponent fields lo..hi of its
 * normal numbers (lo > hi when it has none), and odd set when it holds
 * an infinity or a subnormal (zeros and NaN add nothing to a sum). */
struct xscan_range {
    unsigned lo, hi;
    int odd;
};

/* Scan the n values at x (x the start of a tie-breaking block, or n a
 * multiple of XSCAN_BLOCK before the next call): fill r and add the
 * values to t. */
void xscan_run(const double *x, size_t n, struct xscan_range *r,
               struct xscan_tally *t);

/* Only the range of the n values at x, in a loop the compiler vectorises
 * (simd.h): for many short pieces, as the rows of a field, where
 * xscan_run's blocks and lanes would cost more than they scan. */
void xscan_range(const double *x, size_t n, struct xscan_range *r);

/* The versions of xscan_run the CPU runs: 0 the portable one, 1 AVX2,
 * 2 AVX-512. */
int xscan_level(void);

/* Cap xscan_level() at level (tests run each version on one machine).
 * Not thread-safe: for tests only. */
void xscan_cap(int level);

#endif
