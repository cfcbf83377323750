/* xfold.h -- exact sums of a run of float64 values by error-free folds.
 *
 * The "binned" deposit of J. Demmel and H. D. Nguyen, "Parallel
 * reproducible summation", IEEE Trans. Computers 64(7), 2015 (ReproBLAS's
 * indexed sums), made exact rather than reproducible: a run's values go
 * into a few float64 "folds" S_k, each started at M_k = 1.5 * 2^(m_k).
 * Depositing r into a fold is q = S_k + r; h = q - S_k; S_k = q; r = r - h,
 * which is exact while |S_k - M_k| stays below 2^(m_k - 1) (S_k keeps its
 * exponent, so q - S_k is exact and r - h is the rounding error of the
 * add): the fold keeps the bits of r down to its ulp 2^(m_k - 52), the
 * remainder goes on to the next fold.  The boundaries come from the run's
 * largest exponent, with room for XF_RUN values (2 XF_RUN deposits) a
 * fold, and there are as many folds as the run's span needs for the last
 * remainder to be zero (the values are multiples of the smallest one's
 * ulp).  So S_k - M_k is the exact sum of fold k's bits, and the folds'
 * sum is the exact sum.  The squares: x x = p + e exactly (p = x * x, e
 * = fma(x, x, -p), the product's rounding error), p deposited from fold 0
 * and e, below 2^-52 of p's bound, from fold 1.  The runs' folds meet in
 * the superaccumulator of R. M. Neal, "Fast exact summation using small
 * and large superaccumulators", 2015 (exactsum.h).
 *
 * A run qualifies when its values are finite and either zero, NaN
 * (skipped: taken as zero) or normal between 2^-400 and 2^501 (so every
 * fold and every e is a normal float64, nothing under- or overflows), its
 * span fits the folds compiled in (up to 39 binades), and the CPU has
 * AVX2 + FMA; else the caller uses another exact path (exactsum.c).
 * Results are exact, so both versions (AVX-512, AVX2 + FMA) and the other
 * paths give the same bits.  No MPI, no HDF5.
 */
#ifndef H5B_XFOLD_H
#define H5B_XFOLD_H

#include <stddef.h>

/* The most values of one run. */
#define XF_RUN 4096
/* The most folds of the sum and of the squares. */
#define XF_SUM_FOLDS 3
#define XF_SQ_FOLDS 5

struct xf_plan {
    int kind;                   /* which fold counts (xfold.c) */
    int ks, kq;                 /* folds of the sum and of the squares */
    double ms[XF_SUM_FOLDS];    /* their starting values M_k */
    double mq[XF_SQ_FOLDS];
};

/* Plan the folds of a run whose normal values have exponent fields lo to
 * hi (lo <= hi; biased, as in the IEEE encoding), with no subnormal or
 * infinity among them.  Returns 1 and fills p, or 0 when the run does not
 * qualify (or xf_level() is 0). */
int xf_plan(struct xf_plan *p, unsigned lo, unsigned hi);

/* The vector versions the CPU runs: 0 none, 1 AVX2 + FMA, 2 also
 * AVX-512. */
int xf_level(void);

/* Cap xf_level() at level (tests run each version, and 0 the other
 * paths, on one machine).  Not thread-safe: for tests only. */
void xf_cap(int level);

/* Deposit the n (<= XF_RUN) values at x, planned by p, with the version
 * of level (1 <= level <= xf_level()), NaN as zero; ds[k] and dq[k] (p->ks and p->kq
 * of them) become the exact sums of fold k's bits of the values and of
 * their squares: float64 values whose sum is the exact sum. */
void xf_run_at(int level, const struct xf_plan *p, const double *x,
               size_t n, double *ds, double *dq);

/* xf_run_at with the widest version. */
void xf_run(const struct xf_plan *p, const double *x, size_t n, double *ds,
            double *dq);

#endif
