/* op_hist.c -- histogram of each cell over B uniform bins in [LO, HI].
 *
 * Bins reproduce numpy.histogram(x, bins=B, range=(LO, HI)) of numpy 1.24
 * bit for bit, with values converted to double first: numpy does that for
 * integer input; for float32 input numpy would bin in float32 against
 * float32 edges, where we bin every type against the float64 edges we
 * write, i.e. like numpy on x.astype(float64).  numpy's uniform-bin path
 * computes the index as trunc((x - LO) * norm), norm = B / (HI - LO),
 * maps B to B - 1, then corrects it once against the edges: down one if
 * x < e[k], up one if x >= e[k+1] and k is not the last bin.  The edges
 * are numpy's linspace: e[i] = i * step + LO with step = (HI - LO) / B,
 * e[B] = HI.
 * We do the same operations in the same order, one rounding each: a fused
 * multiply-add would move an edge by an ulp, so linspace() forces the
 * product to be rounded, and the one-cell path, which recomputes edges
 * as k * step + lo, relies on -std=c11 (-ffp-contract=off; checked
 * below).  Values below LO count as underflow, above HI as overflow; NaN
 * counts nowhere.
 *
 * State: one array of ncell * (B + 2) uint64 -- the bin counts cell-major
 * (ncell x B, the layout of histogram/counts), then ncell underflow
 * counts, then ncell overflow counts -- so finalize hands each result to
 * the sink without a copy.  create() refuses a state above
 * HIST_MAX_COUNT_BYTES.  Invariant: every bin index computed lies in
 * [0, B): x >= LO makes the decrement impossible at k = 0, and
 * (x - LO) * norm < B + 1 because create() rejects ranges whose width or
 * norm is not finite.
 *
 * Encoding, little-endian u64 words: B, ncell, a format word, then either
 * (format 0, dense) all ncell * (B + 2) counts in state order, or
 * (format 1, sparse) nnz and nnz (index, count) pairs with strictly
 * increasing indices and non-zero counts.  encode() picks whichever is
 * smaller, so the bytes are a function of the counts alone: any split of
 * the records merges to the same bytes.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h5batch/operator.h"
#include "asblock.h"
#include "histbin.h"
#include "op.h"
#include "stats.h"

/* Most bytes of counts (bins, underflow, overflow) a state may hold. */
#define HIST_MAX_COUNT_BYTES OP_HIST_MAX_BYTES
#define HIST_DEFAULT_BINS 64
#define HIST_MAX_BINS 1000000

/* The one-cell path: values per block, sub-count arrays, most bins. */
#define HIST_BLOCK 512
#define HIST_NSUB 4
#define HIST_SUB_MAX_BINS 4096

#define FMT_DENSE 0
#define FMT_SPARSE 1
/* B, ncell and the format word. */
#define HEADER_BYTES 24

struct hist;

/* Sets the slot word of each of a block's values (see HIST_SLOTS). */
typedef void (*slots_fn)(const struct hist *h, const double *v,
                         int64_t *slot);

struct hist {
    const struct h5b_op_config *cfg;
    uint64_t nbins, ncell;
    uint64_t n;             /* ncell * (nbins + 2), the length of count */
    double lo, hi, norm;    /* norm = nbins / (hi - lo), as numpy */
    double *edges;          /* nbins + 1 */
    uint64_t *count;        /* bins (ncell x nbins), underflow, overflow */
    slots_fn slots;         /* the block paths', for this machine */
    uint64_t *sub;          /* HIST_NSUB x (nbins + 3) sub-counts of the
                             * one-cell path, zero between updates; NULL
                             * unless ncell == 1, nbins <= HIST_SUB_MAX_BINS */
};

static const char *const provides[] = {"histogram", NULL};

static slots_fn pick_slots(void);

/* cfg's job-file argument key, NULL if absent or cfg has no lookup. */
static const char *cfg_arg(const struct h5b_op_config *cfg, const char *key)
{
    return cfg->arg ? cfg->arg(cfg, key) : NULL;
}

/* Parse histogram_bins: decimal digits, an optional '+' and surrounding
 * blanks (what the job file's check lets through), in [1, HIST_MAX_BINS].
 * Absent means HIST_DEFAULT_BINS. */
static int parse_bins(const char *s, uint64_t *bins, struct h5b_error *err)
{
    uint64_t v = 0;
    const char *p = s;
    if (!s) {
        *bins = HIST_DEFAULT_BINS;
        return 0;
    }
    while (isspace((unsigned char)*p))
        p++;
    p += *p == '+';
    const char *digits = p;
    for (; isdigit((unsigned char)*p) && v <= HIST_MAX_BINS; p++)
        v = v * 10 + (uint64_t)(*p - '0');
    while (isspace((unsigned char)*p))
        p++;
    if (p == digits || *p || v < 1 || v > HIST_MAX_BINS)
        return h5b_fail(err, "histogram_bins '%s' is not an integer in "
                        "[1, %d]", s, HIST_MAX_BINS);
    *bins = v;
    return 0;
}

/* Parse "LO, HI": two finite numbers separated by commas or blanks, as the
 * job file's list syntax allows, with LO < HI.  strtod rounds correctly,
 * as Python's float() does (in the C locale h5batch runs in). */
static int parse_range(const char *s, double *lo, double *hi,
                       struct h5b_error *err)
{
    static const char sep[] = " \t,";
    double v[2] = {0, 0};
    int k = 0;
    if (!s)
        return h5b_fail(err, "histogram needs histogram_range = LO, HI in "
                        "[reduce]");
    const char *p = s + strspn(s, sep);
    while (*p && k < 2) {
        char *end = NULL;
        v[k] = strtod(p, &end);
        if (end == p || (*end && !strchr(sep, *end)) || !isfinite(v[k]))
            break;
        k++;
        p = end + strspn(end, sep);
    }
    if (k != 2 || *p)
        return h5b_fail(err, "histogram_range '%s' is not two finite "
                        "numbers LO, HI", s);
    if (!(v[0] < v[1]))
        return h5b_fail(err, "histogram_range '%s': LO must be less than HI",
                        s);
    *lo = v[0];
    *hi = v[1];
    return 0;
}

/* Refuse what the state cannot hold: an output rank above H5B_MAX_RANK,
 * counts above HIST_MAX_COUNT_BYTES, a range too wide or too narrow for
 * double. */
static int check_limits(const struct h5b_op_config *cfg, uint64_t bins,
                        double lo, double hi, struct h5b_error *err)
{
    uint64_t per_cell = bins + 2;
    if (cfg->ncell == 0 || cfg->cell_rank < 0 ||
        cfg->cell_rank >= H5B_MAX_RANK)
        return h5b_fail(err, "histogram of %llu cells of rank %d is not "
                        "supported", (unsigned long long)cfg->ncell,
                        cfg->cell_rank);
    if (cfg->ncell > HIST_MAX_COUNT_BYTES / 8 / per_cell)
        return h5b_fail(err, "histogram_bins %llu over %llu cells needs "
                        "%.0f MiB of counts, more than the %llu MiB limit; "
                        "lower histogram_bins",
                        (unsigned long long)bins,
                        (unsigned long long)cfg->ncell,
                        ceil((double)cfg->ncell * (double)per_cell * 8 /
                             (1 << 20)),
                        (unsigned long long)(HIST_MAX_COUNT_BYTES >> 20));
    if (!isfinite(hi - lo) || !isfinite((double)bins / (hi - lo)))
        return h5b_fail(err, "histogram_range %.17g, %.17g with %llu bins: "
                        "the bin width does not fit in a double", lo, hi,
                        (unsigned long long)bins);
    return 0;
}

/* numpy 1.24's linspace(lo, hi, nbins + 1).  Its other branch, for a
 * step that underflows to 0, is unreachable: check_limits has refused
 * such ranges because nbins / (hi - lo) overflows first.  The volatile
 * product keeps i * step + lo two roundings, as numpy's, even where the
 * compiler would fuse them (-ffp-contract=fast, gcc's default in gnu
 * modes, with FMA hardware). */
static void linspace(double *e, uint64_t nbins, double lo, double hi)
{
    double step = (hi - lo) / (double)nbins;
    for (uint64_t i = 0; i < nbins; i++) {
        volatile double y = (double)i * step;
        e[i] = y + lo;
    }
    e[nbins] = hi;
}

int histbin_params(const struct h5b_op_config *cfg, struct histbin *hb,
                   struct h5b_error *err)
{
    struct h5b_op_config one = *cfg;
    one.ncell = 1;
    one.cell_rank = 0;
    memset(hb, 0, sizeof *hb);
    if (parse_bins(cfg_arg(cfg, "histogram_bins"), &hb->nbins, err) < 0 ||
        parse_range(cfg_arg(cfg, "histogram_range"), &hb->lo, &hb->hi,
                    err) < 0 ||
        check_limits(&one, hb->nbins, hb->lo, hb->hi, err) < 0)
        return -1;
    hb->norm = (double)hb->nbins / (hb->hi - hb->lo);
    hb->step = (hb->hi - hb->lo) / (double)hb->nbins;
    return 0;
}

/* HIST_SLOTS for one value: trunc, then one correction against the edges
 * k * step + lo and (k + 1) * step + lo, each rounded twice. */
int64_t histbin_of(const struct histbin *hb, double x)
{
    if (!(x >= hb->lo && x <= hb->hi))
        return -1;
    double f = (x - hb->lo) * hb->norm, top = (double)hb->nbins - 1;
    double k = trunc(f < top ? f : top);
    volatile double y0 = k * hb->step, y1 = (k + 1) * hb->step;
    double e0 = y0 + hb->lo, e1 = y1 + hb->lo;
    int64_t b = (int64_t)k;
    if (x < e0)
        b--;
    else if (x >= e1 && b != (int64_t)hb->nbins - 1)
        b++;
    return b;
}

void histbin_edges(const struct histbin *hb, double *e)
{
    linspace(e, hb->nbins, hb->lo, hb->hi);
}

static void hist_destroy(void *state)
{
    struct hist *h = state;
    if (!h)
        return;
    free(h->edges);
    free(h->count);
    free(h->sub);
    free(h);
}

static int hist_create(const struct h5b_op_config *cfg, void **state,
                       struct h5b_error *err)
{
    uint64_t bins = 0;
    double lo = 0, hi = 0;
    struct hist *h = NULL;
    *state = NULL;
    if (parse_bins(cfg_arg(cfg, "histogram_bins"), &bins, err) < 0 ||
        parse_range(cfg_arg(cfg, "histogram_range"), &lo, &hi, err) < 0 ||
        check_limits(cfg, bins, lo, hi, err) < 0)
        return -1;
    h = calloc(1, sizeof *h);
    if (!h)
        goto fail;
    *h = (struct hist){.cfg = cfg, .nbins = bins, .ncell = cfg->ncell,
                       .n = cfg->ncell * (bins + 2), .lo = lo, .hi = hi};
    h->norm = (double)bins / (hi - lo);
    h->edges = malloc((size_t)(bins + 1) * sizeof *h->edges);
    h->count = calloc((size_t)h->n, sizeof *h->count);
    int one_cell = cfg->ncell == 1 && bins <= HIST_SUB_MAX_BINS;
    if (one_cell)
        h->sub = calloc(HIST_NSUB * (size_t)(bins + 3), sizeof *h->sub);
    h->slots = pick_slots();
    if (!h->edges || !h->count || (one_cell && !h->sub))
        goto fail;
    linspace(h->edges, bins, lo, hi);
    *state = h;
    return 0;
fail:
    hist_destroy(h);
    return h5b_fail(err, "out of memory for a histogram of %llu cells x %llu "
                    "bins", (unsigned long long)cfg->ncell,
                    (unsigned long long)bins);
}

/* ---- one cell, few bins: slots per block, then counts ------------------
 *
 * A block of HIST_BLOCK values, converted to double, first gets a slot
 * each -- its bin, B for underflow, B + 1 for overflow, B + 2 for NaN --
 * from a loop without branches over four values at a time; then the
 * slots are counted into HIST_NSUB sub-count arrays in turn, so that runs
 * of values in one bin (common: most data sits in a few bins) do not wait
 * on each other's increments.  The sub-counts are folded into the counts
 * at the end of each update.  The slot is the per-value kernel's result
 * exactly (HIST_SLOTS says why), for every element type. */

/* The slots need k * step + lo rounded twice.  -std=c11 implies
 * -ffp-contract=off, and neither version below has FMA instructions;
 * refuse a build that has them and may contract. */
#if defined(__FMA__) && !defined(__STRICT_ANSI__)
#error "op_hist.c needs -std=c11 (-ffp-contract=off) when FMA is enabled"
#endif

/* AVX2 and AVX-512 versions of the slots beside the baseline one, the
 * widest the CPU runs picked by hist_create.  To test each on any machine:
 * -DHIST_NO_AVX512 leaves AVX2 and the baseline, -DHIST_NO_AVX2 the
 * baseline alone.  Every version does the same operations on each value,
 * so they give the same slots. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(HIST_NO_AVX2)
#define HIST_AVX2 1
#include <immintrin.h>
#if !defined(HIST_NO_AVX512)
#define HIST_AVX512 1
#endif
#endif

/* Four lanes of double and of int64 (GNU vector extensions: SSE2 pairs in
 * the baseline, one AVX register in the AVX2 version); eight for
 * AVX-512. */
typedef double hv_d __attribute__((vector_size(32)));
typedef int64_t hv_l __attribute__((vector_size(32)));
typedef double hw_d __attribute__((vector_size(64)));
typedef int64_t hw_l __attribute__((vector_size(64)));

/* Every lane of vector type VD X; A where mask M is set (all ones), B
 * elsewhere. */
#define HV_ALL(VD, X) ((VD){0} + (X))
#define HV_PICK(M, A, B) (((A) & (M)) | ((B) & ~(M)))

/* Baseline K_TRUNC: K = trunc(min(F, TOP)) and KB, the encoding of K +
 * 2^52 (K in its low bits), for F >= 0 in range: F + 2^52 rounds it to an
 * integer, one less if that went above F.  Other lanes get garbage. */
#define TRUNC_BASE(F, TOP, BIAS, K, KB)                                      \
    do {                                                                     \
        hv_d f_ = (hv_d)HV_PICK((F) < (TOP), (hv_l)(F), (hv_l)(TOP));       \
        hv_d r_ = f_ + (BIAS);                                               \
        (KB) = (hv_l)r_ + (r_ - (BIAS) > f_);                                \
        (K) = (hv_d)(KB) - (BIAS);                                           \
    } while (0)

/* AVX2 K_TRUNC: the same with vminpd (TOP where F is NaN, as above) and
 * vroundpd towards zero. */
#define TRUNC_AVX2(F, TOP, BIAS, K, KB)                                      \
    do {                                                                     \
        (K) = _mm256_round_pd(_mm256_min_pd((F), (TOP)),                     \
                              _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);       \
        (KB) = (hv_l)((K) + (BIAS));                                         \
    } while (0)

/* AVX-512 K_TRUNC: the same in eight lanes (vminpd, vrndscalepd towards
 * zero keeping no fraction bits). */
#define TRUNC_AVX512(F, TOP, BIAS, K, KB)                                    \
    do {                                                                     \
        (K) = _mm512_roundscale_pd(_mm512_min_pd((F), (TOP)),                \
                                   _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);  \
        (KB) = (hw_l)((K) + (BIAS));                                         \
    } while (0)

/* Generate NAME (attributes ATTR), which sets slot[i] for the HIST_BLOCK
 * values at v (see above), in lanes of vector types VD and VL; its k is
 * numpy's trunc((x - lo) * norm) mapped from B to B - 1 by K_TRUNC
 * (clamping to B - 1 before truncating is the same, B - 1 being an
 * integer).
 * Doubles hold every integer involved exactly; the slot is kept in the
 * low bits of the encoding of slot + 2^52, and stored so: its low 32 bits
 * are the slot (block_count takes those).
 * The edges are recomputed, not loaded, exactly as linspace() does:
 * k * step then + lo, two roundings (no fused multiply-add: see above) --
 * e[k] bit for bit for every k < B; e[B] is never needed, as the
 * up-correction is off at k = B - 1.  linspace's edges never decrease
 * (each rounding is monotonic), so "down" (x < e[k]) and "up"
 * (x >= e[k + 1]) exclude each other and both can be tested on the first
 * k, where numpy tests up on the corrected one.  Lanes outside [lo, hi]
 * and NaN compute garbage (no conversion, no load) that the last picks
 * replace. */
#define HIST_SLOTS(NAME, ATTR, K_TRUNC, VD, VL)                              \
ATTR static void NAME(const struct hist *h, const double *restrict v,        \
                      int64_t *restrict slot)                                \
{                                                                            \
    const double nb = (double)h->nbins;                                      \
    const VD lo = HV_ALL(VD, h->lo), hi = HV_ALL(VD, h->hi);                 \
    const VD norm = HV_ALL(VD, h->norm), one = HV_ALL(VD, 1.0);              \
    const VD step = HV_ALL(VD, (h->hi - h->lo) / nb);                        \
    const VD top = HV_ALL(VD, nb - 1);                                       \
    const VD bias = HV_ALL(VD, 0x1p52);                                      \
    const VL bias_bits = (VL)bias;                                           \
    const VL last = bias_bits + (int64_t)h->nbins - 1;                       \
    const VL under = bias_bits + (int64_t)h->nbins;                          \
    const VL over = under + 1, none = under + 2;                             \
    for (int i = 0; i < HIST_BLOCK; i += (int)(sizeof(VD) / 8)) {            \
        VD x, f, k, e0, e1;                                                  \
        VL kb;                                                               \
        memcpy(&x, v + i, sizeof x);                                         \
        f = x - lo;                                                          \
        f *= norm;                                                           \
        K_TRUNC(f, top, bias, k, kb);                                        \
        e0 = k * step;                                                       \
        e0 += lo;                                                            \
        e1 = k + one;                                                        \
        e1 *= step;                                                          \
        e1 += lo;                                                            \
        kb += x < e0;                                                        \
        kb -= (x >= e1) & ~(kb == last);                                     \
        kb = HV_PICK(x < lo, under, kb);                                     \
        kb = HV_PICK(x > hi, over, kb);                                      \
        kb = HV_PICK(x != x, none, kb);                                      \
        memcpy(slot + i, &kb, sizeof kb);                                    \
    }                                                                        \
}

HIST_SLOTS(slots_base, , TRUNC_BASE, hv_d, hv_l)
#ifdef HIST_AVX2
HIST_SLOTS(slots_avx2, __attribute__((target("avx2"))), TRUNC_AVX2, hv_d,
           hv_l)
#endif
#ifdef HIST_AVX512
HIST_SLOTS(slots_avx512, __attribute__((target("avx512f"))), TRUNC_AVX512,
           hw_d, hw_l)
#endif

/* The slots version for this machine. */
static slots_fn pick_slots(void)
{
#ifdef HIST_AVX512
    if (__builtin_cpu_supports("avx512f"))
        return slots_avx512;
#endif
#ifdef HIST_AVX2
    if (__builtin_cpu_supports("avx2"))
        return slots_avx2;
#endif
    return slots_base;
}

_Static_assert(HIST_NSUB == 4 && HIST_BLOCK % HIST_NSUB == 0,
               "block_count unrolls by four sub-count arrays");

/* Count the HIST_BLOCK slots (the low 32 bits of each slot word) into
 * h->sub, slot i into array i % 4. */
static void block_count(struct hist *h, const int64_t *slot)
{
    const size_t w = (size_t)h->nbins + 3;
    uint64_t *c0 = h->sub, *c1 = c0 + w, *c2 = c1 + w, *c3 = c2 + w;
    for (int i = 0; i < HIST_BLOCK; i += HIST_NSUB) {
        c0[(uint32_t)slot[i]]++;
        c1[(uint32_t)slot[i + 1]]++;
        c2[(uint32_t)slot[i + 2]]++;
        c3[(uint32_t)slot[i + 3]]++;
    }
}

/* Count the m slots of values that follow one another in record-major
 * order, the first of cell *cell, into their cells' bins, underflow or
 * overflow (a NaN's slot, B + 2, nowhere); *cell moves on past them. */
static void count_cells(struct hist *h, const int64_t *slot, uint64_t m,
                        uint64_t *cell)
{
    const uint64_t nc = h->ncell, nb = h->nbins;
    uint64_t *bin = h->count, *under = bin + nc * nb, *over = under + nc;
    uint64_t c = *cell;
    for (uint64_t j = 0; j < m; j++) {
        uint64_t s = (uint32_t)slot[j];
        if (s < nb)
            bin[c * nb + s]++;
        else if (s == nb)
            under[c]++;
        else if (s == nb + 1)
            over[c]++;
        c = c + 1 == nc ? 0 : c + 1;
    }
    *cell = c;
}

/* Add the sub-counts of bins, underflow and overflow (slots 0..B + 1, the
 * one-cell count layout) to h->count; zero the sub-counts. */
static void fold_sub(struct hist *h)
{
    const size_t w = (size_t)h->nbins + 3;
    for (size_t k = 0; k < w - 1; k++) {
        uint64_t t = 0;
        for (size_t j = 0; j < HIST_NSUB; j++)
            t += h->sub[j * w + k];
        h->count[k] += t;
    }
    memset(h->sub, 0, HIST_NSUB * w * sizeof *h->sub);
}

/* A block of values as HIST_BLOCK doubles (asblock.h); a NaN pad gets
 * slot B + 2, counted nowhere. */
AS_BLOCK_FUNCTIONS(HIST_BLOCK)

/* Generate the update kernels for element type T: upd_one_SUF, the one-
 * cell path by blocks (the last one padded with NaN); upd_many_SUF, many
 * cells by blocks of their values in record-major order (a slot does not
 * depend on the cell), counted cell by cell; upd_SUF, numpy's index, its
 * one correction against the edges and the count, inline for each value
 * -- the one-cell path's fallback: above HIST_SUB_MAX_BINS, or when fewer
 * than B / 4 values would not pay for fold_sub's pass over 4 (B + 3)
 * sub-counts. */
#define HIST_KERNEL(SUF, T)                                                  \
static void upd_one_##SUF(struct hist *h, const T *x, uint64_t n)           \
{                                                                            \
    double v[HIST_BLOCK];                                                    \
    int64_t slot[HIST_BLOCK];                                                \
    for (uint64_t i = 0; i < n; i += HIST_BLOCK) {                           \
        uint64_t m = n - i < HIST_BLOCK ? n - i : HIST_BLOCK;                \
        h->slots(h, as_block_##SUF(x + i, m, v), slot);                      \
        block_count(h, slot);                                                \
    }                                                                        \
    fold_sub(h);                                                             \
}                                                                            \
                                                                             \
static void upd_many_##SUF(struct hist *h, const T *x, uint64_t nrec)       \
{                                                                            \
    double v[HIST_BLOCK];                                                    \
    int64_t slot[HIST_BLOCK];                                                \
    uint64_t n = nrec * h->ncell, cell = 0;                                  \
    for (uint64_t i = 0; i < n; i += HIST_BLOCK) {                           \
        uint64_t m = n - i < HIST_BLOCK ? n - i : HIST_BLOCK;                \
        h->slots(h, as_block_##SUF(x + i, m, v), slot);                      \
        count_cells(h, slot, m, &cell);                                      \
    }                                                                        \
}                                                                            \
                                                                             \
static void upd_##SUF(struct hist *h, const T *x, uint64_t nrec)            \
{                                                                            \
    const uint64_t nc = h->ncell, nb = h->nbins;                             \
    const double lo = h->lo, hi = h->hi, norm = h->norm;                     \
    const double *e = h->edges;                                              \
    uint64_t *bin = h->count, *under = bin + nc * nb, *over = under + nc;    \
    if (h->sub && nrec >= nb / 4) {                                          \
        upd_one_##SUF(h, x, nrec);                                           \
        return;                                                              \
    }                                                                        \
    if (nc > 1) {                                                            \
        upd_many_##SUF(h, x, nrec);                                          \
        return;                                                              \
    }                                                                        \
    for (uint64_t r = 0; r < nrec; r++, x += nc) {                           \
        for (uint64_t j = 0; j < nc; j++) {                                  \
            double v = (double)x[j];                                         \
            if (v < lo) {                                                    \
                under[j]++;                                                  \
                continue;                                                    \
            }                                                                \
            if (v > hi) {                                                    \
                over[j]++;                                                   \
                continue;                                                    \
            }                                                                \
            if (v != v)                                                      \
                continue;                                                    \
            double f = v - lo;                                               \
            f *= norm;                                                       \
            uint64_t k = (uint64_t)f;                                        \
            k = k >= nb ? nb - 1 : k;                                        \
            k -= v < e[k];                                                   \
            k += v >= e[k + 1] && k != nb - 1;                               \
            bin[j * nb + k]++;                                               \
        }                                                                    \
    }                                                                        \
}

HIST_KERNEL(i8, int8_t)
HIST_KERNEL(u8, uint8_t)
HIST_KERNEL(i16, int16_t)
HIST_KERNEL(u16, uint16_t)
HIST_KERNEL(i32, int32_t)
HIST_KERNEL(u32, uint32_t)
HIST_KERNEL(i64, int64_t)
HIST_KERNEL(u64, uint64_t)
HIST_KERNEL(f32, float)
HIST_KERNEL(f64, double)

#define DISPATCH(SUF, T)                                                     \
    upd_##SUF(h, (const T *)blk->data, blk->nrec);                           \
    return 0

static int hist_update(void *state, const struct h5b_block *blk,
                       struct h5b_error *err)
{
    struct hist *h = state;
    switch (h->cfg->type) {
    H5B_TYPE_CASES(DISPATCH);
    }
    return h5b_fail(err, "unsupported element type %d", (int)h->cfg->type);
}

static int hist_merge(void *acc, const void *later, struct h5b_error *err)
{
    struct hist *a = acc;
    const struct hist *b = later;
    if (a->nbins != b->nbins || a->ncell != b->ncell)
        return h5b_fail(err, "histograms differ (%llu x %llu vs %llu x %llu "
                        "cells x bins)", (unsigned long long)a->ncell,
                        (unsigned long long)a->nbins,
                        (unsigned long long)b->ncell,
                        (unsigned long long)b->nbins);
    for (uint64_t i = 0; i < a->n; i++)
        a->count[i] += b->count[i];
    return 0;
}

static uint64_t nonzero(const struct hist *h)
{
    uint64_t nnz = 0;
    for (uint64_t i = 0; i < h->n; i++)
        nnz += h->count[i] != 0;
    return nnz;
}

static size_t dense_size(uint64_t n)
{
    return HEADER_BYTES + 8 * (size_t)n;
}

static size_t sparse_size(uint64_t nnz)
{
    return HEADER_BYTES + 8 + 16 * (size_t)nnz;
}

static int is_sparse(const struct hist *h, uint64_t nnz)
{
    return sparse_size(nnz) < dense_size(h->n);
}

static size_t hist_encoded_size(const void *state)
{
    const struct hist *h = state;
    uint64_t nnz = nonzero(h);
    return is_sparse(h, nnz) ? sparse_size(nnz) : dense_size(h->n);
}

static int hist_encode(const void *state, void *buf, size_t len,
                       struct h5b_error *err)
{
    const struct hist *h = state;
    unsigned char *p = buf;
    uint64_t nnz = nonzero(h);
    int sparse = is_sparse(h, nnz);
    size_t need = sparse ? sparse_size(nnz) : dense_size(h->n);
    if (len != need)
        return h5b_fail(err, "encode buffer of %zu bytes, need %zu", len,
                        need);
    h5b_put_u64(p, h->nbins);
    h5b_put_u64(p + 8, h->ncell);
    h5b_put_u64(p + 16, sparse ? FMT_SPARSE : FMT_DENSE);
    p += HEADER_BYTES;
    if (sparse) {
        h5b_put_u64(p, nnz);
        p += 8;
    }
    for (uint64_t i = 0; i < h->n; i++) {
        if (!sparse) {
            h5b_put_u64(p, h->count[i]);
            p += 8;
        } else if (h->count[i]) {
            h5b_put_u64(p, i);
            h5b_put_u64(p + 8, h->count[i]);
            p += 16;
        }
    }
    return 0;
}

/* Check the pairs of a sparse body of nnz entries at p against h: indices
 * strictly increasing and below h->n, counts non-zero. */
static int check_sparse(const struct hist *h, const unsigned char *p,
                        uint64_t nnz, struct h5b_error *err)
{
    for (uint64_t k = 0; k < nnz; k++, p += 16) {
        uint64_t i = h5b_get_u64(p);
        if (i >= h->n || (k > 0 && i <= h5b_get_u64(p - 16)))
            return h5b_fail(err, "sparse entry %llu has index %llu out of "
                            "order or range (%llu counts)",
                            (unsigned long long)k, (unsigned long long)i,
                            (unsigned long long)h->n);
        if (h5b_get_u64(p + 8) == 0)
            return h5b_fail(err, "sparse entry %llu has a zero count",
                            (unsigned long long)k);
    }
    return 0;
}

/* Check a sparse body (after the header) of len bytes and load it. */
static int decode_sparse(struct hist *h, const unsigned char *p, size_t len,
                         struct h5b_error *err)
{
    uint64_t nnz = len >= 8 ? h5b_get_u64(p) : 0;
    if (len < 8 || nnz > h->n || len - 8 != 16 * (size_t)nnz)
        return h5b_fail(err, "sparse histogram body of %zu bytes is "
                        "malformed", len);
    if (check_sparse(h, p + 8, nnz, err) < 0)
        return -1;
    memset(h->count, 0, (size_t)h->n * sizeof *h->count);
    for (p += 8; nnz > 0; nnz--, p += 16)
        h->count[h5b_get_u64(p)] = h5b_get_u64(p + 8);
    return 0;
}

/* On failure the state is left unchanged. */
static int hist_decode(void *state, const void *buf, size_t len,
                       struct h5b_error *err)
{
    struct hist *h = state;
    const unsigned char *p = buf;
    if (len < HEADER_BYTES)
        return h5b_fail(err, "histogram state of %zu bytes is truncated",
                        len);
    if (h5b_get_u64(p) != h->nbins || h5b_get_u64(p + 8) != h->ncell)
        return h5b_fail(err, "histogram state is of %llu cells x %llu bins, "
                        "expected %llu x %llu",
                        (unsigned long long)h5b_get_u64(p + 8),
                        (unsigned long long)h5b_get_u64(p),
                        (unsigned long long)h->ncell,
                        (unsigned long long)h->nbins);
    uint64_t fmt = h5b_get_u64(p + 16);
    p += HEADER_BYTES;
    len -= HEADER_BYTES;
    if (fmt == FMT_SPARSE)
        return decode_sparse(h, p, len, err);
    if (fmt != FMT_DENSE)
        return h5b_fail(err, "unknown histogram encoding %llu",
                        (unsigned long long)fmt);
    if (len != 8 * (size_t)h->n)
        return h5b_fail(err, "dense histogram body of %zu bytes, expected "
                        "%zu", len, 8 * (size_t)h->n);
    for (uint64_t i = 0; i < h->n; i++, p += 8)
        h->count[i] = h5b_get_u64(p);
    return 0;
}

/* Counts, underflow and overflow are per cell (put_cells: the cell shape,
 * then [B] for counts); the edges are shared by every cell (put). */
static int hist_finalize(const void *state, const struct h5b_sink *sink,
                         struct h5b_error *err)
{
    const struct hist *h = state;
    const uint64_t *under = h->count + h->ncell * h->nbins;
    uint64_t nedges = h->nbins + 1;
    int rc = sink->put_cells(sink->ctx, "histogram/counts", H5B_UINT64, 1,
                             &h->nbins, h->count, err);
    if (rc == 0)
        rc = sink->put(sink->ctx, "histogram/edges", H5B_FLOAT64, 1, &nedges,
                       h->edges, err);
    if (rc == 0)
        rc = sink->put_cells(sink->ctx, "histogram/underflow", H5B_UINT64, 0,
                             NULL, under, err);
    if (rc == 0)
        rc = sink->put_cells(sink->ctx, "histogram/overflow", H5B_UINT64, 0,
                             NULL, under + h->ncell, err);
    return rc;
}

const h5b_operator op_hist = {
    .abi = H5B_OPERATOR_ABI,
    .name = "histogram",
    .provides = provides,
    .create = hist_create,
    .destroy = hist_destroy,
    .update = hist_update,
    .merge = hist_merge,
    .encoded_size = hist_encoded_size,
    .encode = hist_encode,
    .decode = hist_decode,
    .finalize = hist_finalize,
};

uint64_t op_hist_bytes(uint64_t ncell, uint64_t bins)
{
    uint64_t sub = ncell == 1 && bins <= HIST_SUB_MAX_BINS
                   ? HIST_NSUB * (bins + 3) * sizeof(uint64_t) : 0;
    uint64_t per = (bins + 2) * sizeof(uint64_t);
    if (bins > UINT64_MAX / 16 || ncell > UINT64_MAX / 2 / per)
        return UINT64_MAX;
    return ncell * per + (bins + 1) * sizeof(double) + sub;
}

uint64_t op_hist_encoded_bytes(uint64_t ncell, uint64_t bins,
                               uint64_t records)
{
    if (bins > UINT64_MAX / 16 || ncell > UINT64_MAX / 16 / (bins + 2))
        return UINT64_MAX;
    uint64_t n = ncell * (bins + 2);
    uint64_t nnz = records < bins + 2 ? ncell * records : n;
    uint64_t dense = HEADER_BYTES + 8 * n, sparse = HEADER_BYTES + 8 +
                                                    16 * nnz;
    return sparse < dense ? sparse : dense;
}
