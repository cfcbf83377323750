/* xfold.c -- the fold deposit kernel of exact sums (xfold.h).
 *
 * Bounds, for a run of at most XF_RUN = 2^12 values (2^13 deposits into a
 * fold: p's remainders and e's):  a fold whose deposits are below 2^b in
 * size gets m_k = b + HEAD, HEAD = 13 + 3, so its drift from M_k stays
 * below 2^(m_k - 3), well inside the 2^(m_k - 1) that keeps S_k's
 * exponent (rounding can then never carry it to 2^(m_k + 1)).  A
 * remainder leaving fold k is at most half its ulp, 2^(m_k - 53), so the
 * next fold is m_k - WIDTH, WIDTH = 53 - HEAD: each fold takes 37 new
 * bits.  Values below 2^(E + 1) start the sum at m_0 = E + 1 + HEAD, their
 * squares' p at 2 E + 2 + HEAD and e (below 2^(2 E + 2 - 53)) at fold 1;
 * the sum needs folds down to an ulp of 2^(lo - 52) (m <= lo, the
 * unbiased exponent of the smallest nonzero value), the squares down to
 * 2^(2 lo - 104) (m <= 2 lo - 52).
 *
 * The loop runs on the lanes of a GCC vector type, compiled for AVX2 +
 * FMA (4 lanes) and for AVX-512 (8), the FMA making each square's error
 * exact; lanes and folds are combined only at the end, and every step is
 * exact, so neither version nor any order changes a bit.  Other CPUs and
 * compilers have no version (xf_plan declines, and exactsum.c's older
 * paths, also exact, take the run): a baseline SSE2 build of this loop
 * measured 2.9 ns a value on standard-normal data, slower than those.
 *
 * Measured (`make bench-xsum`, CPU time, values from memory, medians of
 * 9 alternating with the build before DEPOSIT's FMA, load 1.2): 0.37 ns a
 * value (AVX-512, was 0.43) and 0.72 (AVX2, was 0.88) on standard-normal
 * data, 0.30 (0.36) and 0.51 (0.64) on issue 21's 1e9 +- 1e3.
 */
#include <math.h>
#include <string.h>

#include "xfold.h"

#define HEAD 16
#define WIDTH (53 - HEAD)
/* The run's exponents: values in [2^LO_MIN, 2^(HI_MAX + 1)) (unbiased). */
#define HI_MAX 500
#define LO_MIN (-400)

/* Lanes of AVX2 and of AVX-512. */
typedef double xf_v4 __attribute__((vector_size(32)));
typedef long long xf_l4 __attribute__((vector_size(32)));
typedef double xf_v8 __attribute__((vector_size(64)));
typedef long long xf_l8 __attribute__((vector_size(64)));

/* The fold counts compiled in (sum, squares), fewest first. */
static const int kinds[][2] = {{2, 3}, {2, 4}, {3, 5}};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

int xf_plan(struct xf_plan *p, unsigned lo, unsigned hi)
{
    int e = (int)hi - 1023, l = (int)lo - 1023;
    if (e > HI_MAX || l < LO_MIN || lo > hi || xf_level() == 0)
        return 0;
    int s0 = e + 1 + HEAD, q0 = 2 * e + 2 + HEAD, ks = 1, kq = 1;
    while (s0 - WIDTH * (ks - 1) > l)
        ks++;
    while (q0 - WIDTH * (kq - 1) > 2 * l - 52)
        kq++;
    for (int k = 0; k < NKINDS; k++) {
        if (kinds[k][0] < ks || kinds[k][1] < kq)
            continue;
        *p = (struct xf_plan){.kind = k, .ks = kinds[k][0],
                              .kq = kinds[k][1]};
        for (int f = 0; f < p->ks; f++)
            p->ms[f] = ldexp(1.5, s0 - WIDTH * f);
        for (int f = 0; f < p->kq; f++)
            p->mq[f] = ldexp(1.5, q0 - WIDTH * f);
        return 1;
    }
    return 0;
}

/* Deposit R into fold S (see xfold.h); R becomes the remainder.  SUB(A,
 * B) is A - B as one FMA, A * 1 - B (the same rounding: A * 1 is exact):
 * the loop is bound by the add units, and the remainder's subtraction,
 * off the fold's chain of adds, moves to the multiply units (make
 * bench-xsum: 0.43 -> 0.37 ns a value with AVX-512, 0.88 -> 0.72 with
 * AVX2, standard normal; the other subtraction too was slower). */
#define DEPOSIT(S, R, SUB)                                                   \
    do {                                                                     \
        __typeof__(S) q_ = (S) + (R);                                        \
        __typeof__(S) h_ = q_ - (S);                                         \
        (S) = q_;                                                            \
        (R) = SUB((R), h_);                                                  \
    } while (0)

/* One step of FOLD_KERNEL on the values in V: the NaN lanes zeroed, the
 * values down the sum's folds, p and e down the squares'.  The last fold
 * is a plain add: its ulp is at most the values' grain, so it is exact
 * and leaves no remainder. */
#define FOLD_STEP(V, VT, LT, PROD, SUB, KS, KQ)                              \
    do {                                                                     \
        VT r_, p_, e_;                                                       \
        (V) = (VT)((LT)(V) & (LT)((V) == (V)));                              \
        r_ = (V);                                                            \
        for (int k = 0; k < KS - 1; k++)                                     \
            DEPOSIT(S[k], r_, SUB);                                          \
        S[KS - 1] += r_;                                                     \
        p_ = (V) * (V);                                                      \
        PROD(V, p_, e_);                                                     \
        DEPOSIT(Q[0], p_, SUB);                                              \
        for (int k = 1; k < KQ - 1; k++) {                                   \
            DEPOSIT(Q[k], p_, SUB);                                          \
            DEPOSIT(Q[k], e_, SUB);                                          \
        }                                                                    \
        Q[KQ - 1] += p_;                                                     \
        Q[KQ - 1] += e_;                                                     \
    } while (0)

/* NAME (attributes ATTR): fold the n values at x into KS and KQ folds
 * planned by p and write their sums to ds and dq; PROD the exact
 * product, SUB DEPOSIT's subtraction.  A last partial vector is padded
 * with zeros. */
#define FOLD_KERNEL(NAME, ATTR, VT, LT, PROD, SUB, KS, KQ)                   \
    ATTR static void NAME(const struct xf_plan *p, const double *x,          \
                          size_t n, double *ds, double *dq)                  \
    {                                                                        \
        enum { W_ = sizeof(VT) / sizeof(double) };                           \
        VT S[KS], Q[KQ], v;                                                  \
        size_t i = 0;                                                        \
        for (int k = 0; k < KS; k++)                                         \
            S[k] = (VT){0} + p->ms[k];                                       \
        for (int k = 0; k < KQ; k++)                                         \
            Q[k] = (VT){0} + p->mq[k];                                       \
        for (; i + W_ <= n; i += W_) {                                       \
            memcpy(&v, x + i, sizeof v);                                     \
            FOLD_STEP(v, VT, LT, PROD, SUB, KS, KQ);                         \
        }                                                                    \
        if (i < n) {                                                         \
            double t_[W_] = {0};                                             \
            memcpy(t_, x + i, (n - i) * sizeof t_[0]);                       \
            memcpy(&v, t_, sizeof v);                                        \
            FOLD_STEP(v, VT, LT, PROD, SUB, KS, KQ);                         \
        }                                                                    \
        for (int k = 0; k < KS; k++)                                         \
            LANES_SUM(S[k], p->ms[k], ds[k]);                                \
        for (int k = 0; k < KQ; k++)                                         \
            LANES_SUM(Q[k], p->mq[k], dq[k]);                                \
    }

/* OUT := the sum of V's lanes less M each: exact, as the drifts of one
 * fold are multiples of its ulp and together below 2^(m_k - 3).  (A
 * macro: a function taking the vector would change its ABI by level.) */
#define LANES_SUM(V, M, OUT)                                                 \
    do {                                                                     \
        double l_[sizeof(V) / sizeof(double)], s_ = 0;                       \
        memcpy(l_, &(V), sizeof l_);                                         \
        for (size_t j_ = 0; j_ < sizeof l_ / sizeof l_[0]; j_++)             \
            s_ += l_[j_] - (M);                                              \
        (OUT) = s_;                                                          \
    } while (0)

typedef void kernel(const struct xf_plan *, const double *, size_t,
                    double *, double *);

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#define XF_X86 1

/* E := X X - P with one FMA of 4 lanes (AVX2 + FMA) or of 8. */
#define PROD_FMA4(X, P, E)                                                   \
    ((E) = (xf_v4)_mm256_fmsub_pd((__m256d)(X), (__m256d)(X), (__m256d)(P)))
#define PROD_FMA8(X, P, E)                                                   \
    ((E) = (xf_v8)_mm512_fmsub_pd((__m512d)(X), (__m512d)(X), (__m512d)(P)))

/* A - B as A * 1 - B in one FMA of 4 lanes or of 8 (DEPOSIT). */
#define SUB_FMA4(A, B)                                                       \
    ((xf_v4)_mm256_fmsub_pd((__m256d)(A), _mm256_set1_pd(1.0), (__m256d)(B)))
#define SUB_FMA8(A, B)                                                       \
    ((xf_v8)_mm512_fmsub_pd((__m512d)(A), _mm512_set1_pd(1.0), (__m512d)(B)))

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))
FOLD_KERNEL(avx2_23, AVX2, xf_v4, xf_l4, PROD_FMA4, SUB_FMA4, 2, 3)
FOLD_KERNEL(avx2_24, AVX2, xf_v4, xf_l4, PROD_FMA4, SUB_FMA4, 2, 4)
FOLD_KERNEL(avx2_35, AVX2, xf_v4, xf_l4, PROD_FMA4, SUB_FMA4, 3, 5)
FOLD_KERNEL(avx512_23, AVX512, xf_v8, xf_l8, PROD_FMA8, SUB_FMA8, 2, 3)
FOLD_KERNEL(avx512_24, AVX512, xf_v8, xf_l8, PROD_FMA8, SUB_FMA8, 2, 4)
FOLD_KERNEL(avx512_35, AVX512, xf_v8, xf_l8, PROD_FMA8, SUB_FMA8, 3, 5)

static kernel *const kernels[2][NKINDS] = {
    {avx2_23, avx2_24, avx2_35},
    {avx512_23, avx512_24, avx512_35},
};
#endif

static int level_cap = 2;

void xf_cap(int level)
{
    level_cap = level;
}

int xf_level(void)
{
    int l = 0;
#ifdef XF_X86
    if (__builtin_cpu_supports("avx512f"))
        l = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        l = 1;
#endif
    return l < level_cap ? l : level_cap;
}

void xf_run_at(int level, const struct xf_plan *p, const double *x,
               size_t n, double *ds, double *dq)
{
#ifdef XF_X86
    kernels[level - 1][p->kind](p, x, n, ds, dq);
#else
    (void)level, (void)p, (void)x, (void)n, (void)ds, (void)dq;
#endif
}

void xf_run(const struct xf_plan *p, const double *x, size_t n, double *ds,
            double *dq)
{
    xf_run_at(xf_level(), p, x, n, ds, dq);
}
