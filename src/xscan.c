/* xscan.c -- the range and tally pass of exact sums (xscan.h).
 *
 * The exponent range works on the magnitudes' bits, whose integer order is
 * the order of the values: the largest below NaN's and the smallest above
 * zero's, as element-wise integer max and min.  A run whose extremes are
 * an infinity or a subnormal is rescanned value by value (rare).  The
 * tally is op_moments' pass 1 without its sum: count, then min and max
 * kept by "replace only when strictly beyond", lane by lane, the lanes
 * combined in order 0..15 at the end of each block.  Written on GCC
 * vectors of 8 lanes, two a step; built for AVX-512 and for the baseline
 * (a target_clones build of such a loop hits a GCC 12 internal error, as
 * op_moments' cnt1 does); every version computes the same bits.
 */
#include <math.h>
#include <string.h>

#include "xscan.h"

#pragma GCC diagnostic ignored "-Wpsabi" /* v8d never crosses a call */
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

/* r from the largest magnitude bits mx (NaN as zero) and the smallest
 * nonzero mn - 1 (zero wrapped past NaN) of the run at x. */
static void range_from(const double *x, size_t n, int64_t mx, int64_t mn,
                       struct xscan_range *r)
{
    mn += 1;
    if (mx == INF_BITS || mn < MIN_NORMAL_BITS) {
        range_slow(x, n, r);
        return;
    }
    /* mx == 0: no normal number (mn is then ABS_BITS, past INF_BITS) */
    r->lo = mx == 0 ? EXPONENTS : (unsigned)(mn >> 52);
    r->hi = (unsigned)(mx >> 52);
    r->odd = 0;
}

static inline __attribute__((always_inline)) v8l vmax(v8l a, v8l b)
{
    v8l m = a > b;
    return (a & m) | (b & ~m);
}

static inline __attribute__((always_inline)) v8l vmin(v8l a, v8l b)
{
    v8l m = a < b;
    return (a & m) | (b & ~m);
}

static inline __attribute__((always_inline)) v8d vsel(v8l m, v8d a, v8d b)
{
    return (v8d)(((v8l)a & m) | ((v8l)b & ~m));
}

/* One vector A of lane set I into the lanes (locals of SCAN_BLOCK),
 * through the operations of the build: STEP_PORTABLE in GCC's vector
 * arithmetic, STEP_AVX512 in single AVX-512 instructions of the same
 * results (vminpd and vmaxpd keep their second operand on a tie or a NaN,
 * as the selects do; magnitude bits less one compared unsigned put zero
 * past every other value, as the mask does). */
#define STEP_PORTABLE(A, I)                                                  \
    do {                                                                     \
        v8l ok_ = (A) == (A), b_ = (v8l)(A) & ABS_BITS;                      \
        up##I = vmax(up##I, b_ & ok_);                                       \
        dn##I = vmin(dn##I, (b_ - 1) & ABS_BITS);                            \
        cnt -= ok_;                                                          \
        mn##I = vsel((A) < mn##I, (A), mn##I);                               \
        mx##I = vsel((A) > mx##I, (A), mx##I);                               \
    } while (0)

#define STEP_AVX512(A, I)                                                    \
    do {                                                                     \
        __m512d a_ = (__m512d)(A);                                           \
        __mmask8 ok_ = _mm512_cmp_pd_mask(a_, a_, _CMP_ORD_Q);               \
        __m512i b_ = _mm512_and_si512((__m512i)a_, _mm512_set1_epi64(ABS_BITS)); \
        up##I = (v8l)_mm512_mask_max_epi64((__m512i)up##I, ok_,              \
                                           (__m512i)up##I, b_);              \
        dn##I = (v8l)_mm512_min_epu64(                                       \
            (__m512i)dn##I, _mm512_sub_epi64(b_, _mm512_set1_epi64(1)));     \
        cnt = (v8l)_mm512_mask_add_epi64((__m512i)cnt, ok_, (__m512i)cnt,    \
                                         _mm512_set1_epi64(1));              \
        mn##I = (v8d)_mm512_min_pd(a_, (__m512d)mn##I);                      \
        mx##I = (v8d)_mm512_max_pd(a_, (__m512d)mx##I);                      \
    } while (0)

/* The first of the 16 lanes of v0, v1 (lane l of v1 is lane 8 + l) that
 * no later lane is strictly below (BELOW(a, b): a < b) or above: the fold
 * op_moments' pass 1 does.  Equal lanes are the same bits but for +0 and
 * -0, so only a zero result needs the ordered fold. */
#define LANES_FIRST(OUT, V0, V1, BELOW)                                      \
    do {                                                                     \
        v8d w_ = vsel(BELOW(V1, V0), V1, V0);                                \
        double m_ = w_[0];                                                   \
        for (int l_ = 1; l_ < 8; l_++)                                       \
            m_ = BELOW(w_[l_], m_) ? w_[l_] : m_;                            \
        if (m_ == 0) {                                                       \
            m_ = (V0)[0];                                                    \
            for (int l_ = 1; l_ < 16; l_++) {                                \
                double x_ = l_ < 8 ? (V0)[l_] : (V1)[l_ - 8];                \
                m_ = BELOW(x_, m_) ? x_ : m_;                                \
            }                                                                \
        }                                                                    \
        (OUT) = m_;                                                          \
    } while (0)
#define LESS(A, B) ((A) < (B))
#define MORE(A, B) ((A) > (B))

/* One block of len values at p: min and max over lanes of the first len
 * - len % LANES (the range and count lanes of the run going on), then a
 * scalar tail, into *mx, *mn (magnitude bits) and t. */
#define SCAN_BLOCK(STEP, p, len, mxp, mnp, t)                                \
    do {                                                                     \
        size_t body_ = (len) - (len) % LANES;                                \
        const v8d zero_ = {0};                                               \
        v8d mn0 = zero_ + INFINITY, mn1 = mn0;                               \
        v8d mx0 = zero_ - INFINITY, mx1 = mx0;                               \
        double bmn_, bmx_;                                                   \
        for (size_t j_ = 0; j_ < body_; j_ += LANES) {                       \
            v8d a0_, a1_;                                                    \
            memcpy(&a0_, (p) + j_, sizeof a0_);                              \
            memcpy(&a1_, (p) + j_ + 8, sizeof a1_);                          \
            STEP(a0_, 0);                                                    \
            STEP(a1_, 1);                                                    \
        }                                                                    \
        LANES_FIRST(bmn_, mn0, mn1, LESS);                                   \
        LANES_FIRST(bmx_, mx0, mx1, MORE);                                   \
        (t)->min = bmn_ < (t)->min ? bmn_ : (t)->min;                        \
        (t)->max = bmx_ > (t)->max ? bmx_ : (t)->max;                        \
        tail((p) + body_, (len) - body_, mxp, mnp, t);                       \
    } while (0)

/* The scalar tail of a block. */
static void tail(const double *p, size_t n, int64_t *mx, int64_t *mn,
                 struct xscan_tally *t)
{
    for (size_t i = 0; i < n; i++) {
        int64_t b;
        memcpy(&b, &p[i], 8);
        b &= ABS_BITS;
        int64_t up = b > INF_BITS ? 0 : b, down = (b - 1) & ABS_BITS;
        *mx = up > *mx ? up : *mx;
        *mn = down < *mn ? down : *mn;
        if (isnan(p[i]))
            continue;
        t->n++;
        t->min = p[i] < t->min ? p[i] : t->min;
        t->max = p[i] > t->max ? p[i] : t->max;
    }
}

/* NAME (attributes ATTR): xscan_run's loop, STEP its vector step. */
#define SCAN_KERNEL(NAME, ATTR, STEP)                                        \
    ATTR static void NAME(const double *x, size_t n, struct xscan_range *r,  \
                          struct xscan_tally *t)                             \
    {                                                                        \
        int64_t mx = 0, mn = ABS_BITS - 1;                                   \
        v8l up0 = {0}, up1 = {0}, cnt = {0};                                 \
        v8l dn0 = (v8l){0} + (ABS_BITS - 1), dn1 = dn0;                      \
        for (size_t b0 = 0; b0 < n; b0 += XSCAN_BLOCK) {                     \
            size_t len = n - b0 < XSCAN_BLOCK ? n - b0 : XSCAN_BLOCK;        \
            SCAN_BLOCK(STEP, x + b0, len, &mx, &mn, t);                      \
        }                                                                    \
        for (int l = 0; l < 8; l++) {                                        \
            t->n += (uint64_t)cnt[l];                                        \
            mx = up0[l] > mx ? up0[l] : mx;                                  \
            mx = up1[l] > mx ? up1[l] : mx;                                  \
            mn = dn0[l] < mn ? dn0[l] : mn;                                  \
            mn = dn1[l] < mn ? dn1[l] : mn;                                  \
        }                                                                    \
        range_from(x, n, mx, mn, r);                                         \
    }

SCAN_KERNEL(scan_base, , STEP_PORTABLE)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&      \
    defined(__linux__)
#define XSCAN_X86 1
#include <immintrin.h>
SCAN_KERNEL(scan_avx512, __attribute__((target("avx512f"))), STEP_AVX512)
#endif

static int level_cap = 1;

void xscan_cap(int level)
{
    level_cap = level;
}

int xscan_level(void)
{
    int l = 0;
#ifdef XSCAN_X86
    l = __builtin_cpu_supports("avx512f") ? 1 : 0;
#endif
    return l < level_cap ? l : level_cap;
}

void xscan_run(const double *x, size_t n, struct xscan_range *r,
               struct xscan_tally *t)
{
#ifdef XSCAN_X86
    if (xscan_level() == 1) {
        scan_avx512(x, n, r, t);
        return;
    }
#endif
    scan_base(x, n, r, t);
}
