/* xscan.c -- the range and tally pass of exact sums (xscan.h).
 *
 * Lane by lane: the largest magnitude and the smallest nonzero one
 * (magnitudes of doubles order as their bits, and a NaN fails every
 * comparison, so it is skipped; the AVX-512 step finds the smallest on
 * the bits), the count of non-NaN values, the minimum and the maximum.  A run whose extreme
 * magnitudes are an infinity or a subnormal is rescanned value by value
 * for its range (rare).  The minimum and maximum are op_moments' pass 1:
 * "replace only when strictly beyond", lane by lane, the 16 lanes combined
 * in order at the end of each block.  Written on GCC vectors of the
 * build's native width (a wider vector's comparisons would be split into
 * scalars), 16 lanes a step: AVX-512 (in single instructions of the same
 * results), AVX2 and the portable baseline; every version computes the
 * same bits.  (target_clones of such a loop hit a GCC 12 internal error,
 * as op_moments' cnt1 does, so the versions are built and picked here.)
 */
#include <math.h>
#include <string.h>

#include "simd.h"
#include "xscan.h"

#pragma GCC diagnostic ignored "-Wpsabi" /* vectors never cross a call */
typedef double v2d __attribute__((vector_size(16)));
typedef long long v2l __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));
typedef long long v8l __attribute__((vector_size(64)));

#define ABS_BITS INT64_C(0x7fffffffffffffff)
#define INF_BITS INT64_C(0x7ff0000000000000)
#define MIN_NORMAL_BITS INT64_C(0x0010000000000000)
#define EXPONENTS 2048
#define LANES 16

/* The range of the run at x, value by value: for runs that hold an
 * infinity or a subnormal, where the extremes of the magnitudes are not
 * normal. */
static void range_slow(const double *x, size_t n, struct xscan_range *r)
{
    unsigned mn = EXPONENTS, mx = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t b;
        memcpy(&b, &x[i], 8);
        unsigned e = (unsigned)(b >> 52) & 0x7ff;
        if (e >= 1 && e <= 0x7fe) {
            mn = e < mn ? e : mn;
            mx = e > mx ? e : mx;
        }
    }
    *r = (struct xscan_range){mn, mx, 1};
}

/* r from the largest magnitude mx (0 when every value is zero or NaN)
 * and the smallest nonzero one mn (+inf when none) of the run at x. */
static void range_from(const double *x, size_t n, double mx, double mn,
                       struct xscan_range *r)
{
    int64_t hi, lo;
    memcpy(&hi, &mx, 8);
    memcpy(&lo, &mn, 8);
    if (hi == INF_BITS || lo < MIN_NORMAL_BITS) {
        range_slow(x, n, r);
        return;
    }
    r->lo = hi == 0 ? EXPONENTS : (unsigned)(lo >> 52);
    r->hi = (unsigned)(hi >> 52);
    r->odd = 0;
}

H5B_CLONES H5B_VECTORISE
void xscan_range(const double *x, size_t n, struct xscan_range *r)
{
    int64_t mn = ABS_BITS - 1, mx = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t b;
        memcpy(&b, &x[i], 8);
        b &= ABS_BITS;
        int64_t up = b > INF_BITS ? 0 : b;          /* NaN: as a zero */
        int64_t down = (b - 1) & ABS_BITS;          /* zero: past NaN */
        mx = up > mx ? up : mx;
        mn = down < mn ? down : mn;
    }
    mn = mn + 1 > INF_BITS ? INF_BITS : mn + 1;     /* none: +inf */
    double hi, lo;
    memcpy(&hi, &mx, 8);
    memcpy(&lo, &mn, 8);
    range_from(x, n, hi, lo, r);
}

/* The magnitudes of the n values at p, one at a time (a block's tail). */
static void tail(const double *p, size_t n, double *mx, double *mn,
                 struct xscan_tally *t)
{
    for (size_t i = 0; i < n; i++) {
        double a = fabs(p[i]);
        *mx = a > *mx ? a : *mx;
        *mn = a < *mn && a != 0 ? a : *mn;
        if (isnan(p[i]))
            continue;
        t->n++;
        t->min = p[i] < t->min ? p[i] : t->min;
        t->max = p[i] > t->max ? p[i] : t->max;
    }
}

/* X where mask M (of integer vector type VL) is set, else Y. */
#define VSEL(VL, M, X, Y)                                                    \
    ((__typeof__(X))(((VL)(X) & (M)) | ((VL)(Y) & ~(M))))

/* One vector A (of NV making the 16 lanes; its integer type VL) into lane
 * set I of the locals of SCAN_KERNEL, in GCC's vector arithmetic. */
#define STEP_PORTABLE(VL, A, I)                                              \
    do {                                                                     \
        __typeof__(A) m_ = (__typeof__(A))((VL)(A) & ABS_BITS);              \
        up[I] = VSEL(VL, m_ > up[I], m_, up[I]);                             \
        dn[I] = VSEL(VL, (m_ < dn[I]) & (m_ != 0), m_, dn[I]);               \
        cnt -= (A) == (A);                                                   \
        mn[I] = VSEL(VL, (A) < mn[I], (A), mn[I]);                           \
        mx[I] = VSEL(VL, (A) > mx[I], (A), mx[I]);                           \
    } while (0)

/* The same in single AVX-512 instructions: vmaxpd and vminpd keep their
 * second operand on a tie or a NaN, as the selects do.  The smallest
 * nonzero magnitude is found on the bits less one compared unsigned (a
 * zero wraps past every other value) in dni, not dn (FINISH_AVX512). */
#define STEP_AVX512(VL, A, I)                                                \
    do {                                                                     \
        __m512d a_ = (__m512d)(A);                                           \
        __m512i b_ = (__m512i)((VL)(A) & ABS_BITS);                          \
        __mmask8 ok_ = _mm512_cmp_pd_mask(a_, a_, _CMP_ORD_Q);               \
        up[I] = (v8d)_mm512_max_pd((__m512d)b_, (__m512d)up[I]);             \
        dni[I] = (VL)_mm512_min_epu64((__m512i)dni[I],                       \
                                      _mm512_sub_epi64(b_, one));            \
        cnt = (VL)_mm512_mask_add_epi64((__m512i)cnt, ok_, (__m512i)cnt,     \
                                        one);                                \
        mn[I] = (v8d)_mm512_min_pd(a_, (__m512d)mn[I]);                      \
        mx[I] = (v8d)_mm512_max_pd(a_, (__m512d)mx[I]);                      \
    } while (0)

/* *LO := the smallest nonzero magnitude in the lanes of DN (the portable
 * steps') or of DNI (the AVX-512 step's: magnitude bits less one). */
#define FINISH_PORTABLE(DN, DNI, W, LO)                                      \
    for (int k_ = 0; k_ < LANES; k_++)                                       \
        *(LO) = LANE(DN, W, k_) < *(LO) ? LANE(DN, W, k_) : *(LO)
#define FINISH_AVX512(DN, DNI, W, LO)                                        \
    do {                                                                     \
        uint64_t m_ = (uint64_t)ABS_BITS - 1;                                \
        double d_;                                                           \
        for (int k_ = 0; k_ < LANES; k_++)                                   \
            m_ = (uint64_t)LANE(DNI, W, k_) < m_ ? (uint64_t)LANE(DNI, W, k_) \
                                                 : m_;                       \
        m_ = m_ + 1 > (uint64_t)INF_BITS ? (uint64_t)INF_BITS : m_ + 1;      \
        memcpy(&d_, &m_, 8);                                                 \
        *(LO) = d_ < *(LO) ? d_ : *(LO);                                     \
    } while (0)

/* Lane k of the 16 in V (NV vectors of W lanes). */
#define LANE(V, W, K) ((V)[(K) / (W)][(K) % (W)])

/* OUT := the first of the 16 lanes of V (NV vectors of W lanes, VL
 * their masks) that no later lane is strictly BELOW (a < b) or above:
 * op_moments' pass 1.  Equal lanes are the same bits but for +0 and -0,
 * so the vectors are first folded lane-wise, and only a zero result takes
 * the fold in lane order. */
#define LANES_FIRST(OUT, V, VL, W, NV, BELOW)                                \
    do {                                                                     \
        __typeof__((V)[0]) w_ = (V)[0];                                      \
        for (int i_ = 1; i_ < (NV); i_++)                                    \
            w_ = VSEL(VL, BELOW((V)[i_], w_), (V)[i_], w_);                  \
        double m_ = w_[0];                                                   \
        for (int k_ = 1; k_ < (W); k_++)                                     \
            m_ = BELOW(w_[k_], m_) ? w_[k_] : m_;                            \
        if (m_ == 0) {                                                       \
            m_ = LANE(V, W, 0);                                              \
            for (int k_ = 1; k_ < LANES; k_++)                               \
                m_ = BELOW(LANE(V, W, k_), m_) ? LANE(V, W, k_) : m_;        \
        }                                                                    \
        (OUT) = m_;                                                          \
    } while (0)
#define LESS(A, B) ((A) < (B))
#define MORE(A, B) ((A) > (B))

/* NAME (attributes ATTR): xscan_run's loop on vectors VD of W doubles
 * (VL their integer masks), STEP its step.  Per block of XSCAN_BLOCK:
 * the lanes over the first len - len % LANES values, their min and max
 * folded into t, then a scalar tail; the range and count lanes go on to
 * the end of the run. */
#define SCAN_KERNEL(NAME, ATTR, VD, VL, STEP, FINISH)                        \
    ATTR static void NAME(const double *x, size_t n, struct xscan_range *r,  \
                          struct xscan_tally *t)                             \
    {                                                                        \
        enum { W = sizeof(VD) / sizeof(double), NV = LANES / W };            \
        const VD zero = {0};                                                 \
        VD up[NV], dn[NV], mn[NV], mx[NV];                                   \
        VL cnt = {0}, dni[NV], one = (VL){0} + 1;                            \
        double hi = 0, lo = INFINITY;                                        \
        (void)one, (void)dn, (void)dni;     /* each STEP uses some */        \
        for (int i = 0; i < NV; i++) {                                       \
            up[i] = zero;                                                    \
            dn[i] = zero + INFINITY;                                         \
            dni[i] = (VL){0} + (ABS_BITS - 1);                               \
        }                                                                    \
        for (size_t b0 = 0; b0 < n; b0 += XSCAN_BLOCK) {                     \
            size_t len = n - b0 < XSCAN_BLOCK ? n - b0 : XSCAN_BLOCK;        \
            size_t body = len - len % LANES;                                 \
            const double *p = x + b0;                                        \
            double bmn, bmx;                                                 \
            for (int i = 0; i < NV; i++) {                                   \
                mn[i] = zero + INFINITY;                                     \
                mx[i] = zero - INFINITY;                                     \
            }                                                                \
            for (size_t j = 0; j < body; j += LANES)                         \
                _Pragma("GCC unroll 8")                                      \
                for (int i = 0; i < NV; i++) {                               \
                    VD a;                                                    \
                    memcpy(&a, p + j + W * i, sizeof a);                     \
                    STEP(VL, a, i);                                          \
                }                                                            \
            LANES_FIRST(bmn, mn, VL, W, NV, LESS);                           \
            LANES_FIRST(bmx, mx, VL, W, NV, MORE);                           \
            t->min = bmn < t->min ? bmn : t->min;                            \
            t->max = bmx > t->max ? bmx : t->max;                            \
            tail(p + body, len - body, &hi, &lo, t);                         \
        }                                                                    \
        for (int k = 0; k < LANES; k++)                                      \
            hi = LANE(up, W, k) > hi ? LANE(up, W, k) : hi;                  \
        FINISH(dn, dni, W, &lo);                                             \
        for (int l = 0; l < W; l++)                                          \
            t->n += (uint64_t)cnt[l];                                        \
        range_from(x, n, hi, lo, r);                                         \
    }

SCAN_KERNEL(scan_base, , v2d, v2l, STEP_PORTABLE, FINISH_PORTABLE)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&      \
    defined(__linux__)
#define XSCAN_X86 1
#include <immintrin.h>
SCAN_KERNEL(scan_avx2, __attribute__((target("avx2"))), v4d, v4l,
            STEP_PORTABLE, FINISH_PORTABLE)
SCAN_KERNEL(scan_avx512, __attribute__((target("avx512f"))), v8d, v8l,
            STEP_AVX512, FINISH_AVX512)
#endif

static int level_cap = 2;

void xscan_cap(int level)
{
    level_cap = level;
}

int xscan_level(void)
{
    int l = 0;
#ifdef XSCAN_X86
    l = __builtin_cpu_supports("avx512f") ? 2
      : __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
    return l < level_cap ? l : level_cap;
}

void xscan_run(const double *x, size_t n, struct xscan_range *r,
               struct xscan_tally *t)
{
#ifdef XSCAN_X86
    switch (xscan_level()) {
    case 2:
        scan_avx512(x, n, r, t);
        return;
    case 1:
        scan_avx2(x, n, r, t);
        return;
    }
#endif
    scan_base(x, n, r, t);
}
