/* gen.c -- h5batch-gen, the deterministic synthetic HDF5 data generator.
 *
 * Every value is a pure function of (--seed, distribution options, global
 * row-major element index i); nothing depends on how the dataset is sliced
 * for writing or chunked on disk.  The random source is splitmix64 used as a
 * counter-based generator: element i owns outputs 4i..4i+3 of the stream
 * seeded with --seed (lane 0 = NaN decision, lanes 1-2 = the value's random
 * bits / Box-Muller pair, lane 3 = sensor spike), and output n is
 * mix64(seed + (n+1)*golden), so any element is computed without generating
 * its predecessors -- one stream per element index, no 65536-element blocks.
 * log, sin and cos are computed here from + - * / and floor/frexp only,
 * because libm results differ between C libraries in the last bit; with
 * IEEE-754 doubles and no FMA contraction (-std=c11 turns GCC's contraction
 * off, the pragma below turns clang's off; never build with -ffast-math) the
 * values are bit-identical on every machine.
 * The dataset is written in slabs of about GEN_SLAB_BYTES: slabs advance
 * along dim 0 (or, for rows larger than the budget, along the first dimension
 * whose trailing extent fits), aligned to the chunk so no chunk is written
 * twice.  Memory is one slab plus HDF5's caches, whatever the dataset size.
 * The file type carries the requested byte order; we always write from the
 * native memory type and HDF5 converts.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include <hdf5.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(__GNUC__)
#define GEN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GEN_PRINTF(f, a)
#endif

#define GEN_PROG "h5batch-gen"
#define GEN_MAX_RANK 8
#define GEN_SLAB_BYTES ((hsize_t)8 << 20)
#define GEN_AUTO_CHUNK_BYTES ((hsize_t)1 << 20)
#define GEN_MAX_CHUNK_BYTES ((hsize_t)0xFFFFFFFFu) /* HDF5 1.10 limit */
#define GEN_MAX_BYTES ((hsize_t)1 << 62)           /* keeps 4*i in range */
#define GEN_BLOCK 4096 /* elements generated per inner step */
#define GEN_LANES 4    /* PRNG outputs owned by each element */
#define GEN_GOLDEN UINT64_C(0x9E3779B97F4A7C15)
#define GEN_COLUMN_SALT UINT64_C(0x6A09E667F3BCC909)

#define GEN_REASON_LEN 512 /* HDF5's innermost error description */

#define GEN_HELP 1
#define GEN_EIO (-1)
#define GEN_EUSAGE (-2)

/* Options whose use depends on the distribution (gen_opts.given bits). */
#define GIVEN_MEAN 1u
#define GIVEN_STD 2u
#define GIVEN_LO 4u
#define GIVEN_HI 8u
#define GIVEN_KEYS 16u

#define SENSOR_DAY 86400u
#define SENSOR_DRIFT_PERIOD (30u * 86400u)
#define SENSOR_SPIKE_P 1e-4

struct gen_err {
    char msg[1024];
};

enum gen_kind {
    K_I8,
    K_U8,
    K_I16,
    K_U16,
    K_I32,
    K_U32,
    K_I64,
    K_U64,
    K_F32,
    K_F64
};
enum gen_order { ORDER_NATIVE, ORDER_LE, ORDER_BE };

struct gen_type {
    const char *name;
    enum gen_kind kind;
    size_t size;
    int is_float;
    int is_signed;
    int64_t min; /* integer types: clamp range */
    uint64_t max;
    uint64_t exact; /* see gen_types; 0 means 2^64 */
};

/* Indexed by gen_kind.  exact is the ramp modulus and the --keys bound:
 * 2^bits (2^(bits-1) signed) for integers, the exact-integer range for floats.
 */
static const struct gen_type gen_types[] = {
    [K_I8] = { "i8", K_I8, 1, 0, 1, INT8_MIN, INT8_MAX, UINT64_C(1) << 7 },
    [K_U8] = { "u8", K_U8, 1, 0, 0, 0, UINT8_MAX, UINT64_C(1) << 8 },
    [K_I16] = { "i16", K_I16, 2, 0, 1, INT16_MIN, INT16_MAX,
                UINT64_C(1) << 15 },
    [K_U16] = { "u16", K_U16, 2, 0, 0, 0, UINT16_MAX, UINT64_C(1) << 16 },
    [K_I32] = { "i32", K_I32, 4, 0, 1, INT32_MIN, INT32_MAX,
                UINT64_C(1) << 31 },
    [K_U32] = { "u32", K_U32, 4, 0, 0, 0, UINT32_MAX, UINT64_C(1) << 32 },
    [K_I64] = { "i64", K_I64, 8, 0, 1, INT64_MIN, INT64_MAX,
                UINT64_C(1) << 63 },
    [K_U64] = { "u64", K_U64, 8, 0, 0, 0, UINT64_MAX, 0 },
    [K_F32] = { "f32", K_F32, 4, 1, 1, 0, 0, UINT64_C(1) << 24 },
    [K_F64] = { "f64", K_F64, 8, 1, 1, 0, 0, UINT64_C(1) << 53 },
};

struct gen_dist;

struct gen_opts {
    const char *output;
    const char *dataset;
    const struct gen_type *type;
    enum gen_order order;
    int rank;
    hsize_t dims[GEN_MAX_RANK];
    int chunk_rank; /* 0: contiguous */
    hsize_t chunk[GEN_MAX_RANK];
    int deflate; /* 0: off */
    int shuffle;
    const struct gen_dist *dist;
    double mean, std, lo, hi, nan_frac;
    uint64_t keys, seed;
    int append, quiet;
    unsigned given; /* GIVEN_* bits */
};

/* What the fill functions read: options plus values derived once. */
struct gen_ctx {
    const struct gen_opts *o;
    uint64_t cols;       /* elements per dim-0 index (sensor columns) */
    uint64_t column_key; /* seed of the per-column offset stream */
};

/* One block of generated values, exact integers or reals. */
struct gen_vals {
    int exact;
    double d[GEN_BLOCK];
    uint64_t u[GEN_BLOCK];
};

/* A distribution: fill writes the values of elements i0..i0+n-1 into v,
 * either v->d (reals, rounded and clamped later for integer types) or v->u
 * (exact integers, already in range), and says which in v->exact. */
struct gen_dist {
    const char *name;
    unsigned accepts; /* GIVEN_* options meaningful for this distribution */
    void (*fill)(const struct gen_ctx *g, uint64_t i0, size_t n,
                 struct gen_vals *v);
};

/* How the dataset is cut into slabs; see the file comment. */
struct gen_plan {
    int split;     /* dimension the slabs advance along */
    hsize_t outer; /* product of the dims before split */
    hsize_t inner; /* elements per index of split */
    hsize_t step;  /* split-dim indices per slab */
};

/* What the summary line reports besides the options. */
struct gen_report {
    hsize_t stored;
    double seconds;
};

/* ---- errors ------------------------------------------------------------ */

/* Format a message into err; returns code so callers can return it. */
GEN_PRINTF(3, 4)
static int gen_fail(struct gen_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

/* H5Ewalk2 callback: keep the innermost (most specific) description. */
static herr_t gen_h5_innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    char *reason = data;

    if (n == 0 && e->desc != NULL)
        snprintf(reason, GEN_REASON_LEN, "%s", e->desc);
    return 0;
}

/* Like gen_fail with GEN_EIO, appending the reason from HDF5's error stack.
 * Must be called right after the failing HDF5 call, before any other. */
GEN_PRINTF(2, 3)
static int gen_fail_h5(struct gen_err *err, const char *fmt, ...)
{
    char reason[GEN_REASON_LEN] = "";
    va_list ap;
    size_t len;

    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, gen_h5_innermost, reason);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len, ": %s",
             reason[0] != '\0' ? reason : "HDF5 error");
    for (; err->msg[len] != '\0'; len++) {
        if (err->msg[len] == '\n' || err->msg[len] == '\r')
            err->msg[len] = ' '; /* some HDF5 messages embed ctime() */
    }
    return GEN_EIO;
}

/* ---- deterministic random numbers and math ------------------------------ */

/* splitmix64 finaliser: a bijective 64-bit mix. */
static uint64_t gen_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Output 4i+lane of the splitmix64 stream seeded with seed. */
static uint64_t gen_draw(uint64_t seed, uint64_t i, unsigned lane)
{
    uint64_t n = i * GEN_LANES + lane;

    return gen_mix64(seed + (n + 1) * GEN_GOLDEN);
}

/* Top 53 bits of r as a double in [0, 1). */
static double gen_unit(uint64_t r)
{
    return (double)(r >> 11) * 0x1p-53;
}

/* Natural log of finite x > 0 from + - * / only: x = m * 2^e with m in
 * [sqrt(1/2), sqrt(2)), log m = 2 atanh(f), f = (m-1)/(m+1), |f| < 0.172,
 * series to f^23 (next term below 2^-60 relative). */
static double det_log(double x)
{
    static const double c[] = { 1.0 / 3,  1.0 / 5,  1.0 / 7,  1.0 / 9,
                                1.0 / 11, 1.0 / 13, 1.0 / 15, 1.0 / 17,
                                1.0 / 19, 1.0 / 21, 1.0 / 23 };
    int e, k;
    double m = frexp(x, &e), f, f2, s;

    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e--;
    }
    f = (m - 1.0) / (m + 1.0);
    f2 = f * f;
    s = c[10];
    for (k = 9; k >= 0; k--)
        s = s * f2 + c[k];
    return (double)e * 0.69314718055994530942 + 2.0 * (f + f * f2 * s);
}

/* sin(a) for |a| <= pi/4, Taylor series to a^17 (last term < 2^-53). */
static double det_sin_small(double a)
{
    static const double c[] = { -1.0 / 6,
                                1.0 / 120,
                                -1.0 / 5040,
                                1.0 / 362880,
                                -1.0 / 39916800,
                                1.0 / 6227020800.0,
                                -1.0 / 1307674368000.0,
                                1.0 / 355687428096000.0 };
    double a2 = a * a, s = c[7];
    int k;

    for (k = 6; k >= 0; k--)
        s = s * a2 + c[k];
    return a + a * a2 * s;
}

/* cos(a) for |a| <= pi/4, Taylor series to a^18. */
static double det_cos_small(double a)
{
    static const double c[] = { -1.0 / 2,
                                1.0 / 24,
                                -1.0 / 720,
                                1.0 / 40320,
                                -1.0 / 3628800,
                                1.0 / 479001600,
                                -1.0 / 87178291200.0,
                                1.0 / 20922789888000.0,
                                -1.0 / 6402373705728000.0 };
    double a2 = a * a, s = c[8];
    int k;

    for (k = 7; k >= 0; k--)
        s = s * a2 + c[k];
    return 1.0 + a2 * s;
}

/* sin(2*pi*t + shift*pi/2) for 0 <= t < 2^50: shift 0 is sine, 1 cosine.
 * Reduction works in turns so it is exact before the final multiply. */
static double det_turns(double t, unsigned shift)
{
    double x = 4.0 * t, q = floor(x + 0.5);
    double a = (x - q) * 1.57079632679489661923;
    unsigned quadrant = (unsigned)(((uint64_t)q + shift) & 3u);

    switch (quadrant) {
    case 0: return det_sin_small(a);
    case 1: return det_cos_small(a);
    case 2: return -det_sin_small(a);
    default: return -det_cos_small(a);
    }
}

/* Standard normal for element i: Box-Muller on lanes 1 and 2, cosine branch. */
static double gen_normal(uint64_t seed, uint64_t i)
{
    double u1 = ((double)(gen_draw(seed, i, 1) >> 11) + 1.0) * 0x1p-53;
    double u2 = gen_unit(gen_draw(seed, i, 2));

    return sqrt(-2.0 * det_log(u1)) * det_turns(u2, 1);
}

/* ---- distributions ------------------------------------------------------ */

/* normal(mean, std). */
static void fill_normal(const struct gen_ctx *g, uint64_t i0, size_t n,
                        struct gen_vals *v)
{
    size_t k;

    v->exact = 0;
    for (k = 0; k < n; k++)
        v->d[k] = g->o->mean + g->o->std * gen_normal(g->o->seed, i0 + k);
}

/* lo + (hi-lo)*u can round up to hi; map that case to lo to keep [lo, hi). */
static void fill_uniform(const struct gen_ctx *g, uint64_t i0, size_t n,
                         struct gen_vals *v)
{
    double lo = g->o->lo, span = g->o->hi - g->o->lo, x;
    size_t k;

    v->exact = 0;
    for (k = 0; k < n; k++) {
        x = lo + span * gen_unit(gen_draw(g->o->seed, i0 + k, 1));
        v->d[k] = x < g->o->hi ? x : lo;
    }
}

/* Per-column offset in [-10, 10) for sensor data with trailing dims. */
static double sensor_column_offset(const struct gen_ctx *g, uint64_t c)
{
    return 20.0 * gen_unit(gen_mix64(g->column_key + (c + 1) * GEN_GOLDEN)) -
           10.0;
}

/* Row t is time in seconds: daily cycle, 30-day drift, noise, rare spikes. */
static double sensor_value(const struct gen_ctx *g, uint64_t i)
{
    uint64_t t = i / g->cols, r = gen_draw(g->o->seed, i, 3);
    double day = (double)(t % SENSOR_DAY) / SENSOR_DAY;
    double month = (double)(t % SENSOR_DRIFT_PERIOD) / SENSOR_DRIFT_PERIOD;
    double u = gen_unit(r);
    double x = 20.0 + 5.0 * det_turns(day, 0) + 2.0 * det_turns(month, 0) +
               0.5 * gen_normal(g->o->seed, i);

    if (g->o->rank > 1)
        x += sensor_column_offset(g, i % g->cols);
    if (u < SENSOR_SPIKE_P)
        x += ((r & 1u) ? 1.0 : -1.0) * (10.0 + 40.0 * (u / SENSOR_SPIKE_P));
    return x;
}

/* See sensor_value. */
static void fill_sensor(const struct gen_ctx *g, uint64_t i0, size_t n,
                        struct gen_vals *v)
{
    size_t k;

    v->exact = 0;
    for (k = 0; k < n; k++)
        v->d[k] = sensor_value(g, i0 + k);
}

/* 1e9 + normal(0, 1): large mean, small variance (breaks naive variance). */
static void fill_offset(const struct gen_ctx *g, uint64_t i0, size_t n,
                        struct gen_vals *v)
{
    size_t k;

    v->exact = 0;
    for (k = 0; k < n; k++)
        v->d[k] = 1e9 + gen_normal(g->o->seed, i0 + k);
}

/* i mod the type's exact range: fully deterministic, no PRNG. */
static void fill_ramp(const struct gen_ctx *g, uint64_t i0, size_t n,
                      struct gen_vals *v)
{
    uint64_t mod = g->o->type->exact;
    size_t k;

    v->exact = 1;
    for (k = 0; k < n; k++)
        v->u[k] = mod != 0 ? (i0 + k) % mod : i0 + k;
}

/* r % K: the modulo bias is at most K / 2^64, far below sampling noise. */
static void fill_keys(const struct gen_ctx *g, uint64_t i0, size_t n,
                      struct gen_vals *v)
{
    size_t k;

    v->exact = 1;
    for (k = 0; k < n; k++)
        v->u[k] = gen_draw(g->o->seed, i0 + k, 1) % g->o->keys;
}

/* Integer types: all 64 random bits, truncated to the type's width (so
 * 64-bit types get values far above 2^53); floats: normal with std 1e6. */
static void fill_wide(const struct gen_ctx *g, uint64_t i0, size_t n,
                      struct gen_vals *v)
{
    size_t k;

    v->exact = !g->o->type->is_float;
    for (k = 0; k < n; k++) {
        if (v->exact)
            v->u[k] = gen_draw(g->o->seed, i0 + k, 1);
        else
            v->d[k] = 1e6 * gen_normal(g->o->seed, i0 + k);
    }
}

static const struct gen_dist gen_dists[] = {
    { .name = "normal",
      .accepts = GIVEN_MEAN | GIVEN_STD,
      .fill = fill_normal },
    { .name = "uniform", .accepts = GIVEN_LO | GIVEN_HI, .fill = fill_uniform },
    { .name = "sensor", .accepts = 0, .fill = fill_sensor },
    { .name = "offset", .accepts = 0, .fill = fill_offset },
    { .name = "ramp", .accepts = 0, .fill = fill_ramp },
    { .name = "keys", .accepts = GIVEN_KEYS, .fill = fill_keys },
    { .name = "wide", .accepts = 0, .fill = fill_wide },
};

/* ---- conversion to the memory type -------------------------------------- */

/* Round x to nearest (ties away from zero), clamp to t's range, and return
 * the two's-complement bit pattern of the result. */
static uint64_t gen_int_bits(const struct gen_type *t, double x)
{
    double r = round(x);

    if (r != r)
        return 0;
    if (r <= (double)t->min)
        return (uint64_t)t->min;
    if (r >= (double)t->max) /* (double)max rounds up for 64-bit types */
        return t->max;
    return t->is_signed ? (uint64_t)(int64_t)r : (uint64_t)r;
}

/* Store n float values, applying --nan-frac from lane 0. */
static void gen_store_float(const struct gen_ctx *g, const struct gen_vals *v,
                            uint64_t i0, size_t n, void *dst)
{
    const struct gen_opts *o = g->o;
    double x;
    size_t k;

    for (k = 0; k < n; k++) {
        x = v->exact ? (double)v->u[k] : v->d[k];
        if (o->nan_frac > 0.0 &&
            gen_unit(gen_draw(o->seed, i0 + k, 0)) < o->nan_frac)
            x = NAN;
        if (o->type->size == 4)
            ((float *)dst)[k] = (float)x;
        else
            ((double *)dst)[k] = x;
    }
}

/* Store n integers; intN_t and uintN_t share representation, so writing the
 * low bits through the unsigned type yields the signed value too. */
static void gen_store_int(const struct gen_type *t, const struct gen_vals *v,
                          size_t n, void *dst)
{
    uint64_t b;
    size_t k;

    for (k = 0; k < n; k++) {
        b = v->exact ? v->u[k] : gen_int_bits(t, v->d[k]);
        switch (t->size) {
        case 1: ((uint8_t *)dst)[k] = (uint8_t)b; break;
        case 2: ((uint16_t *)dst)[k] = (uint16_t)b; break;
        case 4: ((uint32_t *)dst)[k] = (uint32_t)b; break;
        default: ((uint64_t *)dst)[k] = b; break;
        }
    }
}

/* Fill buf with the n elements starting at global index i0, in the native
 * memory type.  vals is scratch space. */
static void gen_fill(const struct gen_ctx *g, uint64_t i0, size_t n, void *buf,
                     struct gen_vals *vals)
{
    const struct gen_type *t = g->o->type;
    size_t done, m;
    char *dst;

    for (done = 0; done < n; done += m) {
        m = n - done < GEN_BLOCK ? n - done : GEN_BLOCK;
        dst = (char *)buf + done * t->size;
        g->o->dist->fill(g, i0 + done, m, vals);
        if (t->is_float)
            gen_store_float(g, vals, i0 + done, m, dst);
        else
            gen_store_int(t, vals, m, dst);
    }
}

/* ---- argument parsing --------------------------------------------------- */

/* The --help text; keep it in step with the README. */
static const char gen_help[] =
    "usage: " GEN_PROG " -o FILE [options]\n"
    "Write a deterministic synthetic dataset to an HDF5 file.\n"
    "\n"
    "  -o, --output FILE     HDF5 file to write (created/truncated; with\n"
    "                        --append opened and a new dataset added)\n"
    "  -d, --dataset PATH    dataset path, intermediate groups created\n"
    "                        (default /data)\n"
    "  -t, --type T          i8 u8 i16 u16 i32 u32 i64 u64 f32 f64, with an\n"
    "                        optional byte-order suffix: f64be, i32le ...\n"
    "                        (default f64, native order)\n"
    "  -s, --shape N[xD1[xD2...]]\n"
    "                        e.g. 1000000 or 100x180x360; up to 8 dims;\n"
    "                        N may be 0 (default 1000000)\n"
    "  -c, --chunk C0[xC1...]\n"
    "                        chunked layout with this chunk shape (same\n"
    "                        rank as shape); default contiguous\n"
    "  -z, --deflate LEVEL   deflate 1-9; needs chunking: without --chunk\n"
    "                        a chunk of about 1 MiB along dim 0 is picked\n"
    "      --shuffle         shuffle filter (same rule)\n"
    "  -D, --dist D          normal | uniform | sensor | offset | ramp |\n"
    "                        keys | wide (default normal)\n"
    "      --mean M --std S  for normal (default 0, 1)\n"
    "      --lo L --hi H     for uniform (default 0, 1)\n"
    "      --keys K          for keys (default 1000)\n"
    "      --nan-frac F      fraction of values set to NaN (float types)\n"
    "      --seed S          uint64 seed, decimal or 0x hex (default 1)\n"
    "      --append          add the dataset to an existing file\n"
    "  -q, --quiet           no summary line\n"
    "  -h, --help            this help\n"
    "\n"
    "Distributions (i = row-major element index, t = dim-0 index):\n"
    "  normal   mean + std * standard normal (Box-Muller)\n"
    "  uniform  values in [lo, hi)\n"
    "  sensor   20 + 5 sin(2 pi t / 1 day) + 2 sin(2 pi t / 30 days)\n"
    "           + normal(0, 0.5) + spikes of 10-50 with probability 1e-4,\n"
    "           + an offset in [-10, 10) per column when rank > 1\n"
    "  offset   1e9 + normal(0, 1)\n"
    "  ramp     i mod 2^bits (2^(bits-1) signed, 2^24 f32, 2^53 f64)\n"
    "  keys     integers in [0, K)\n"
    "  wide     integers: all 64 random bits cut to the type's width;\n"
    "           floats: normal with std 1e6\n"
    "Integer types round to nearest and clamp to the type's range.\n"
    "Values depend only on the arguments and i: element i uses outputs\n"
    "4i..4i+3 of a splitmix64 stream seeded with --seed.\n"
    "Exit status: 0 success, 1 I/O failure, 2 bad arguments.\n";

/* Parse a finite double from the whole of s. */
static int gen_parse_double(const char *s, const char *opt, double *out,
                            struct gen_err *err)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(*out))
        return gen_fail(err, GEN_EUSAGE, "%s: '%s' is not a finite number", opt,
                        s);
    return 0;
}

/* Parse an unsigned 64-bit integer (decimal or 0x hex) from the whole of s. */
static int gen_parse_u64(const char *s, const char *opt, uint64_t *out,
                         struct gen_err *err)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno == ERANGE)
        return gen_fail(err, GEN_EUSAGE,
                        "%s: '%s' is not an unsigned 64-bit integer", opt, s);
    *out = (uint64_t)v;
    return 0;
}

/* Parse "A[xBxC...]" into dims; zero extents allowed only if allow_zero. */
static int gen_parse_dims(const char *s, const char *opt, int allow_zero,
                          hsize_t *dims, int *rank, struct gen_err *err)
{
    const char *p = s;
    char *end;
    unsigned long long v;
    int r = 0;

    for (;;) {
        errno = 0;
        v = strtoull(p, &end, 10);
        if (*p < '0' || *p > '9' || errno == ERANGE || (v == 0 && !allow_zero))
            return gen_fail(err, GEN_EUSAGE, "%s: bad extent in '%s'", opt, s);
        if (r == GEN_MAX_RANK)
            return gen_fail(err, GEN_EUSAGE, "%s: more than %d dims in '%s'",
                            opt, GEN_MAX_RANK, s);
        dims[r++] = (hsize_t)v;
        if (*end == '\0')
            break;
        if (*end != 'x')
            return gen_fail(err, GEN_EUSAGE,
                            "%s: bad separator in '%s' (use x)", opt, s);
        p = end + 1;
    }
    *rank = r;
    return 0;
}

/* Parse "f64", "i32be", "u16le" ... into o->type and o->order. */
static int gen_parse_type(const char *s, struct gen_opts *o,
                          struct gen_err *err)
{
    size_t len = strlen(s), i;

    o->order = ORDER_NATIVE;
    if (len > 2 && strcmp(s + len - 2, "le") == 0)
        o->order = ORDER_LE;
    else if (len > 2 && strcmp(s + len - 2, "be") == 0)
        o->order = ORDER_BE;
    if (o->order != ORDER_NATIVE)
        len -= 2;
    for (i = 0; i < sizeof gen_types / sizeof gen_types[0]; i++) {
        if (strlen(gen_types[i].name) == len &&
            strncmp(s, gen_types[i].name, len) == 0) {
            o->type = &gen_types[i];
            return 0;
        }
    }
    return gen_fail(err, GEN_EUSAGE, "--type: unknown type '%s'", s);
}

/* Look the --dist name up in gen_dists. */
static int gen_parse_dist(const char *s, struct gen_opts *o,
                          struct gen_err *err)
{
    size_t i;

    for (i = 0; i < sizeof gen_dists / sizeof gen_dists[0]; i++) {
        if (strcmp(s, gen_dists[i].name) == 0) {
            o->dist = &gen_dists[i];
            return 0;
        }
    }
    return gen_fail(err, GEN_EUSAGE, "--dist: unknown distribution '%s'", s);
}

/* --deflate LEVEL: a single digit 1-9. */
static int gen_parse_level(const char *s, struct gen_opts *o,
                           struct gen_err *err)
{
    if (s[0] < '1' || s[0] > '9' || s[1] != '\0')
        return gen_fail(err, GEN_EUSAGE, "--deflate: level '%s' is not 1-9", s);
    o->deflate = s[0] - '0';
    return 0;
}

/* getopt_long values of the long-only options. */
enum {
    OPT_MEAN = 256,
    OPT_STD,
    OPT_LO,
    OPT_HI,
    OPT_NAN,
    OPT_SEED,
    OPT_APPEND,
    OPT_SHUFFLE,
    OPT_KEYS
};

static const struct option gen_long_opts[] = {
    { "output", required_argument, NULL, 'o' },
    { "dataset", required_argument, NULL, 'd' },
    { "type", required_argument, NULL, 't' },
    { "shape", required_argument, NULL, 's' },
    { "chunk", required_argument, NULL, 'c' },
    { "deflate", required_argument, NULL, 'z' },
    { "shuffle", no_argument, NULL, OPT_SHUFFLE },
    { "dist", required_argument, NULL, 'D' },
    { "mean", required_argument, NULL, OPT_MEAN },
    { "std", required_argument, NULL, OPT_STD },
    { "lo", required_argument, NULL, OPT_LO },
    { "hi", required_argument, NULL, OPT_HI },
    { "keys", required_argument, NULL, OPT_KEYS },
    { "nan-frac", required_argument, NULL, OPT_NAN },
    { "seed", required_argument, NULL, OPT_SEED },
    { "append", no_argument, NULL, OPT_APPEND },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* Apply option c with argument arg to o.  Returns 0, GEN_HELP or GEN_EUSAGE. */
static int gen_apply_opt(int c, const char *arg, struct gen_opts *o,
                         struct gen_err *err)
{
    switch (c) {
    case 'o': o->output = arg; return 0;
    case 'd': o->dataset = arg; return 0;
    case 't': return gen_parse_type(arg, o, err);
    case 's': return gen_parse_dims(arg, "--shape", 1, o->dims, &o->rank, err);
    case 'c':
        return gen_parse_dims(arg, "--chunk", 0, o->chunk, &o->chunk_rank, err);
    case 'z': return gen_parse_level(arg, o, err);
    case 'D': return gen_parse_dist(arg, o, err);
    case 'q': o->quiet = 1; return 0;
    case 'h': return GEN_HELP;
    case OPT_SHUFFLE: o->shuffle = 1; return 0;
    case OPT_APPEND: o->append = 1; return 0;
    case OPT_MEAN:
        o->given |= GIVEN_MEAN;
        return gen_parse_double(arg, "--mean", &o->mean, err);
    case OPT_STD:
        o->given |= GIVEN_STD;
        return gen_parse_double(arg, "--std", &o->std, err);
    case OPT_LO:
        o->given |= GIVEN_LO;
        return gen_parse_double(arg, "--lo", &o->lo, err);
    case OPT_HI:
        o->given |= GIVEN_HI;
        return gen_parse_double(arg, "--hi", &o->hi, err);
    case OPT_NAN: return gen_parse_double(arg, "--nan-frac", &o->nan_frac, err);
    case OPT_SEED: return gen_parse_u64(arg, "--seed", &o->seed, err);
    case OPT_KEYS:
        o->given |= GIVEN_KEYS;
        return gen_parse_u64(arg, "--keys", &o->keys, err);
    default:
        return gen_fail(err, GEN_EUSAGE, "internal: unhandled option %d", c);
    }
}

/* The defaults documented in --help. */
static void gen_defaults(struct gen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dataset = "/data";
    o->type = &gen_types[K_F64];
    o->order = ORDER_NATIVE;
    o->rank = 1;
    o->dims[0] = 1000000;
    o->dist = &gen_dists[0];
    o->std = 1.0;
    o->hi = 1.0;
    o->keys = 1000;
    o->seed = 1;
}

/* Reject options that do not apply to the chosen distribution. */
static int gen_check_dist_opts(const struct gen_opts *o, struct gen_err *err)
{
    static const char *const names[] = { "--mean", "--std", "--lo", "--hi",
                                         "--keys" };
    unsigned bad = o->given & ~o->dist->accepts;
    unsigned b;

    for (b = 0; b < 5; b++) {
        if (bad & (1u << b))
            return gen_fail(err, GEN_EUSAGE, "%s does not apply to --dist %s",
                            names[b], o->dist->name);
    }
    if (o->std < 0.0)
        return gen_fail(err, GEN_EUSAGE, "--std: must be >= 0");
    if (!(o->lo < o->hi) || !isfinite(o->hi - o->lo))
        return gen_fail(err, GEN_EUSAGE,
                        "--lo/--hi: need lo < hi with a finite span");
    return 0;
}

/* Check options that depend on the type. */
static int gen_check_type_opts(const struct gen_opts *o, struct gen_err *err)
{
    const struct gen_type *t = o->type;

    if (!(o->nan_frac >= 0.0 && o->nan_frac <= 1.0))
        return gen_fail(err, GEN_EUSAGE, "--nan-frac: %g is not in [0, 1]",
                        o->nan_frac);
    if (o->nan_frac > 0.0 && !t->is_float)
        return gen_fail(err, GEN_EUSAGE,
                        "--nan-frac: type %s is an integer type", t->name);
    if (o->keys == 0)
        return gen_fail(err, GEN_EUSAGE, "--keys: must be >= 1");
    if (o->dist->fill == fill_keys && !t->is_float && o->keys - 1 > t->max)
        return gen_fail(err, GEN_EUSAGE, "--keys: %llu keys do not fit type %s",
                        (unsigned long long)o->keys, t->name);
    if (o->dist->fill == fill_keys && t->is_float && o->keys > t->exact)
        return gen_fail(err, GEN_EUSAGE,
                        "--keys: %llu keys are not exact in type %s",
                        (unsigned long long)o->keys, t->name);
    return 0;
}

/* Reject shapes over GEN_MAX_BYTES (which also keeps 4*i + 3 in range). */
static int gen_check_size(const struct gen_opts *o, struct gen_err *err)
{
    hsize_t limit = GEN_MAX_BYTES / o->type->size, total = 1;
    int j;

    for (j = 0; j < o->rank; j++) {
        if (o->dims[j] == 0)
            return 0;
        if (o->dims[j] > limit / total)
            return gen_fail(err, GEN_EUSAGE,
                            "--shape: dataset larger than 2^62 bytes");
        total *= o->dims[j];
    }
    return 0;
}

/* About GEN_AUTO_CHUNK_BYTES: whole trailing dims while they fit, then a
 * partial extent, then 1 (so dim 0 is the one cut for ordinary shapes). */
static void gen_auto_chunk(struct gen_opts *o)
{
    hsize_t budget = GEN_AUTO_CHUNK_BYTES / o->type->size, d;
    int j;

    for (j = o->rank - 1; j >= 0; j--) {
        d = o->dims[j] > 0 ? o->dims[j] : 1;
        o->chunk[j] = d <= budget ? d : budget;
        budget = d <= budget ? budget / d : 1;
    }
    o->chunk_rank = o->rank;
}

/* Check the chunk shape against the dataset shape and HDF5's limits. */
static int gen_check_chunk(struct gen_opts *o, struct gen_err *err)
{
    hsize_t bytes = o->type->size;
    int j;

    if (o->chunk_rank == 0 && (o->deflate || o->shuffle))
        gen_auto_chunk(o);
    if (o->chunk_rank == 0)
        return 0;
    if (o->chunk_rank != o->rank)
        return gen_fail(err, GEN_EUSAGE,
                        "--chunk: rank %d differs from --shape rank %d",
                        o->chunk_rank, o->rank);
    for (j = 0; j < o->rank; j++) {
        if (o->dims[j] > 0 && o->chunk[j] > o->dims[j])
            return gen_fail(err, GEN_EUSAGE,
                            "--chunk: dim %d (%llu) exceeds shape (%llu)", j,
                            (unsigned long long)o->chunk[j],
                            (unsigned long long)o->dims[j]);
        if (o->chunk[j] > GEN_MAX_CHUNK_BYTES / bytes)
            return gen_fail(err, GEN_EUSAGE, "--chunk: chunk of 4 GiB or more");
        bytes *= o->chunk[j];
    }
    return 0;
}

/* Parse argv into o.  Returns 0, GEN_HELP, or GEN_EUSAGE with err filled. */
static int gen_parse_args(int argc, char **argv, struct gen_opts *o,
                          struct gen_err *err)
{
    int c, rc = 0;

    gen_defaults(o);
    opterr = 0;
    for (;;) {
        c = getopt_long(argc, argv, ":o:d:t:s:c:z:D:qh", gen_long_opts, NULL);
        if (c == -1)
            break;
        if (c == ':')
            return gen_fail(err, GEN_EUSAGE, "option '%s' needs a value",
                            argv[optind - 1]);
        if (c == '?' && optopt != 0)
            return gen_fail(err, GEN_EUSAGE,
                            "unknown option '-%c' (try --help)", optopt);
        if (c == '?')
            return gen_fail(err, GEN_EUSAGE, "unknown option '%s' (try --help)",
                            argv[optind - 1]);
        rc = gen_apply_opt(c, optarg, o, err);
        if (rc != 0)
            return rc;
    }
    if (optind < argc)
        return gen_fail(err, GEN_EUSAGE, "unexpected argument '%s'",
                        argv[optind]);
    if (o->output == NULL || o->output[0] == '\0')
        return gen_fail(err, GEN_EUSAGE,
                        "missing -o/--output FILE (try --help)");
    if (o->dataset[0] == '\0')
        return gen_fail(err, GEN_EUSAGE, "--dataset: empty path");
    rc = gen_check_dist_opts(o, err);
    if (rc == 0)
        rc = gen_check_type_opts(o, err);
    if (rc == 0)
        rc = gen_check_size(o, err);
    if (rc == 0)
        rc = gen_check_chunk(o, err);
    return rc;
}

/* ---- HDF5 output -------------------------------------------------------- */

/* HDF5's native memory type for k (not to be closed). */
static hid_t gen_native_type(enum gen_kind k)
{
    switch (k) {
    case K_I8: return H5T_NATIVE_INT8;
    case K_U8: return H5T_NATIVE_UINT8;
    case K_I16: return H5T_NATIVE_INT16;
    case K_U16: return H5T_NATIVE_UINT16;
    case K_I32: return H5T_NATIVE_INT32;
    case K_U32: return H5T_NATIVE_UINT32;
    case K_I64: return H5T_NATIVE_INT64;
    case K_U64: return H5T_NATIVE_UINT64;
    case K_F32: return H5T_NATIVE_FLOAT;
    default: return H5T_NATIVE_DOUBLE;
    }
}

/* Suffix for the byte order actually written: "le", "be", or "" for
 * one-byte types, which have none. */
static const char *gen_order_name(const struct gen_opts *o)
{
    if (o->type->size == 1)
        return "";
    if (o->order == ORDER_NATIVE)
        return H5Tget_order(gen_native_type(o->type->kind)) == H5T_ORDER_BE
                   ? "be"
                   : "le";
    return o->order == ORDER_BE ? "be" : "le";
}

/* New file datatype: the native type with the requested byte order.
 * Caller closes it.  Returns H5I_INVALID_HID with err filled on failure. */
static hid_t gen_file_type(const struct gen_opts *o, struct gen_err *err)
{
    hid_t t = H5Tcopy(gen_native_type(o->type->kind));

    if (t < 0) {
        gen_fail_h5(err, "%s: cannot copy type %s", o->output, o->type->name);
        return H5I_INVALID_HID;
    }
    if (o->order != ORDER_NATIVE &&
        H5Tset_order(t, o->order == ORDER_BE ? H5T_ORDER_BE : H5T_ORDER_LE) <
            0) {
        gen_fail_h5(err, "%s: cannot set byte order of %s", o->output,
                    o->type->name);
        H5E_BEGIN_TRY {
            H5Tclose(t);
        } H5E_END_TRY;
        return H5I_INVALID_HID;
    }
    return t;
}

/* New dataset creation property list with layout and filters (shuffle
 * before deflate).  Caller closes it; H5I_INVALID_HID on failure. */
static hid_t gen_make_dcpl(const struct gen_opts *o, struct gen_err *err)
{
    hid_t dcpl;
    int ok;

    if (o->deflate > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0) {
        gen_fail(err, GEN_EIO, "%s: this HDF5 has no deflate filter for %s",
                 o->output, o->dataset);
        return H5I_INVALID_HID;
    }
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ok = dcpl >= 0;
    if (ok && o->chunk_rank > 0)
        ok = H5Pset_chunk(dcpl, o->rank, o->chunk) >= 0;
    if (ok && o->shuffle)
        ok = H5Pset_shuffle(dcpl) >= 0;
    if (ok && o->deflate > 0)
        ok = H5Pset_deflate(dcpl, (unsigned)o->deflate) >= 0;
    if (ok)
        return dcpl;
    gen_fail_h5(err, "%s: cannot set up layout/filters for %s", o->output,
                o->dataset);
    H5E_BEGIN_TRY {
        H5Pclose(dcpl);
    } H5E_END_TRY;
    return H5I_INVALID_HID;
}

/* New dataspace of the requested shape; zero extents of a chunked dataset
 * get an unlimited maximum since HDF5 wants chunk <= max extent. */
static hid_t gen_make_space(const struct gen_opts *o, struct gen_err *err)
{
    hsize_t maxdims[GEN_MAX_RANK];
    hid_t space;
    int j;

    for (j = 0; j < o->rank; j++)
        maxdims[j] =
            (o->dims[j] == 0 && o->chunk_rank > 0) ? H5S_UNLIMITED : o->dims[j];
    space = H5Screate_simple(o->rank, o->dims, maxdims);
    if (space < 0)
        gen_fail_h5(err, "%s: cannot create dataspace for %s", o->output,
                    o->dataset);
    return space;
}

/* Create the dataset (and intermediate groups) in file.  Returns the open
 * dataset or H5I_INVALID_HID with err filled; nothing is linked on failure. */
static hid_t gen_create_dataset(hid_t file, const struct gen_opts *o,
                                struct gen_err *err)
{
    hid_t ftype = H5I_INVALID_HID, space = H5I_INVALID_HID,
          dcpl = H5I_INVALID_HID;
    hid_t lcpl = H5I_INVALID_HID, dset = H5I_INVALID_HID;

    ftype = gen_file_type(o, err);
    if (ftype < 0)
        goto done;
    space = gen_make_space(o, err);
    if (space < 0)
        goto done;
    dcpl = gen_make_dcpl(o, err);
    if (dcpl < 0)
        goto done;
    lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        gen_fail_h5(err, "%s: cannot create link properties", o->output);
        goto done;
    }
    dset = H5Dcreate2(file, o->dataset, ftype, space, lcpl, dcpl, H5P_DEFAULT);
    if (dset < 0)
        gen_fail_h5(err, "%s: cannot create dataset %s", o->output, o->dataset);
done:
    H5E_BEGIN_TRY {
        H5Tclose(ftype);
        H5Sclose(space);
        H5Pclose(dcpl);
        H5Pclose(lcpl);
    } H5E_END_TRY;
    return dset;
}

/* Plan slabs of about GEN_SLAB_BYTES; needs every extent > 0. */
static void gen_plan_slabs(const struct gen_opts *o, struct gen_plan *p)
{
    hsize_t size = o->type->size, c;
    int j, k = o->rank - 1;

    p->inner = 1;
    while (k > 0 && p->inner * o->dims[k] * size <= GEN_SLAB_BYTES)
        p->inner *= o->dims[k--];
    p->split = k;
    p->step = GEN_SLAB_BYTES / (p->inner * size);
    if (o->chunk_rank > 0) {
        c = o->chunk[k];
        p->step = p->step >= c ? p->step / c * c : c;
    }
    if (p->step > o->dims[k])
        p->step = o->dims[k];
    p->outer = 1;
    for (j = 0; j < k; j++)
        p->outer *= o->dims[j];
}

/* Select in fspace the slab at outer index q, split-dim position pos with
 * cnt indices; set *i0 to its first global element index. */
static herr_t gen_select_slab(const struct gen_opts *o,
                              const struct gen_plan *p, hid_t fspace, hsize_t q,
                              hsize_t pos, hsize_t cnt, uint64_t *i0)
{
    hsize_t start[GEN_MAX_RANK], count[GEN_MAX_RANK], rest = q;
    int j;

    for (j = o->rank - 1; j >= 0; j--) {
        start[j] = 0;
        count[j] = o->dims[j];
        if (j < p->split) {
            start[j] = rest % o->dims[j];
            rest /= o->dims[j];
            count[j] = 1;
        }
    }
    start[p->split] = pos;
    count[p->split] = cnt;
    *i0 = (q * o->dims[p->split] + pos) * p->inner;
    return H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count,
                               NULL);
}

/* Everything one slab write needs; the caller owns every handle. */
struct gen_writer {
    const struct gen_ctx *g;
    struct gen_plan plan;
    hid_t dset, mtype, fspace, mspace;
    void *buf;
    struct gen_vals *vals;
};

/* Generate and write one slab (see gen_select_slab for q, pos, cnt). */
static int gen_write_slab(struct gen_writer *w, hsize_t q, hsize_t pos,
                          hsize_t cnt, struct gen_err *err)
{
    const struct gen_opts *o = w->g->o;
    hsize_t zero = 0, n = cnt * w->plan.inner;
    uint64_t i0;

    if (gen_select_slab(o, &w->plan, w->fspace, q, pos, cnt, &i0) < 0 ||
        H5Sselect_hyperslab(w->mspace, H5S_SELECT_SET, &zero, NULL, &n, NULL) <
            0)
        return gen_fail_h5(err, "%s: cannot select slab of %s", o->output,
                           o->dataset);
    gen_fill(w->g, i0, (size_t)n, w->buf, w->vals);
    if (H5Dwrite(w->dset, w->mtype, w->mspace, w->fspace, H5P_DEFAULT, w->buf) <
        0)
        return gen_fail_h5(err, "%s: cannot write %s at element %llu",
                           o->output, o->dataset, (unsigned long long)i0);
    return 0;
}

/* Write all values of a dataset whose extents are all > 0. */
static int gen_write_all(struct gen_writer *w, struct gen_err *err)
{
    const struct gen_opts *o = w->g->o;
    hsize_t q, pos, cnt, len = o->dims[w->plan.split];
    int rc = 0;

    for (q = 0; rc == 0 && q < w->plan.outer; q++) {
        for (pos = 0; rc == 0 && pos < len; pos += w->plan.step) {
            cnt = len - pos < w->plan.step ? len - pos : w->plan.step;
            rc = gen_write_slab(w, q, pos, cnt, err);
        }
    }
    return rc;
}

/* Allocate the slab buffers and spaces, write every slab of dset, free. */
static int gen_write_values(hid_t dset, const struct gen_ctx *g,
                            struct gen_err *err)
{
    const struct gen_opts *o = g->o;
    struct gen_writer w = { .g = g,
                            .dset = dset,
                            .fspace = H5I_INVALID_HID,
                            .mspace = H5I_INVALID_HID,
                            .buf = NULL,
                            .vals = NULL };
    hsize_t slab;
    int rc = 0, j;

    for (j = 0; j < o->rank; j++) {
        if (o->dims[j] == 0)
            return 0;
    }
    gen_plan_slabs(o, &w.plan);
    slab = w.plan.step * w.plan.inner;
    w.mtype = gen_native_type(o->type->kind);
    w.buf = malloc((size_t)slab * o->type->size);
    w.vals = malloc(sizeof *w.vals);
    if (w.buf == NULL || w.vals == NULL) {
        rc = gen_fail(err, GEN_EIO, "%s: out of memory for a %llu-element slab",
                      o->output, (unsigned long long)slab);
        goto done;
    }
    w.fspace = H5Dget_space(dset);
    w.mspace = H5Screate_simple(1, &slab, NULL);
    if (w.fspace < 0 || w.mspace < 0) {
        rc = gen_fail_h5(err, "%s: cannot get dataspaces of %s", o->output,
                         o->dataset);
        goto done;
    }
    rc = gen_write_all(&w, err);
done:
    H5E_BEGIN_TRY {
        H5Sclose(w.fspace);
        H5Sclose(w.mspace);
    } H5E_END_TRY;
    free(w.buf);
    free(w.vals);
    return rc;
}

/* Create, fill and close the dataset.  *linked is set once the dataset
 * exists in the file (so the caller can unlink it on failure). */
static int gen_write_dataset(hid_t file, const struct gen_opts *o, int *linked,
                             hsize_t *stored, struct gen_err *err)
{
    struct gen_ctx g = { .o = o,
                         .cols = 1,
                         .column_key = gen_mix64(o->seed ^ GEN_COLUMN_SALT) };
    hid_t dset;
    int rc, j;

    for (j = 1; j < o->rank; j++)
        g.cols *= o->dims[j];
    dset = gen_create_dataset(file, o, err);
    if (dset < 0)
        return GEN_EIO;
    *linked = 1;
    rc = gen_write_values(dset, &g, err);
    if (rc == 0 && H5Dflush(dset) < 0)
        rc = gen_fail_h5(err, "%s: cannot flush %s", o->output, o->dataset);
    *stored = rc == 0 ? H5Dget_storage_size(dset) : 0;
    if (rc != 0) {
        H5E_BEGIN_TRY {
            H5Dclose(dset);
        } H5E_END_TRY;
    } else if (H5Dclose(dset) < 0) {
        rc = gen_fail_h5(err, "%s: cannot close %s", o->output, o->dataset);
    }
    return rc;
}

/* Open (--append) or create the output file.  *created is set only when
 * this call created or truncated it. */
static hid_t gen_open_file(const struct gen_opts *o, int *created,
                           struct gen_err *err)
{
    hid_t file;

    if (o->append) {
        file = H5Fopen(o->output, H5F_ACC_RDWR, H5P_DEFAULT);
        if (file < 0)
            gen_fail_h5(err, "%s: cannot open for --append", o->output);
        return file;
    }
    file = H5Fcreate(o->output, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0)
        gen_fail_h5(err, "%s: cannot create file", o->output);
    *created = file >= 0;
    return file;
}

/* Monotonic wall-clock seconds. */
static double gen_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Remove a half-written output, but never a device or other non-regular
 * file that happened to be named as output (e.g. -o /dev/full). */
static void gen_remove_output(const char *path)
{
    struct stat st;

    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
        remove(path);
}

/* Write the whole output.  On failure a file this call created is removed,
 * and with --append a dataset it added is unlinked. */
static int gen_run(const struct gen_opts *o, struct gen_report *rep,
                   struct gen_err *err)
{
    double t0 = gen_now();
    int created = 0, linked = 0, rc;
    hid_t file = gen_open_file(o, &created, err);

    if (file < 0)
        return GEN_EIO;
    rc = gen_write_dataset(file, o, &linked, &rep->stored, err);
    if (rc != 0 && linked && o->append) {
        H5E_BEGIN_TRY {
            H5Ldelete(file, o->dataset, H5P_DEFAULT);
        } H5E_END_TRY;
    }
    if (rc != 0) {
        H5E_BEGIN_TRY {
            H5Fclose(file);
        } H5E_END_TRY;
    } else if (H5Fclose(file) < 0) {
        rc = gen_fail_h5(err, "%s: cannot close file", o->output);
    }
    if (rc != 0 && created)
        gen_remove_output(o->output);
    rep->seconds = gen_now() - t0;
    return rc;
}

/* ---- summary and main --------------------------------------------------- */

/* Format dims as "AxBxC" into buf (always terminated). */
static void gen_format_dims(char *buf, size_t len, const hsize_t *dims,
                            int rank)
{
    size_t used = 0;
    int j;

    buf[0] = '\0';
    for (j = 0; j < rank && used < len; j++)
        used += (size_t)snprintf(buf + used, len - used, "%s%llu", j ? "x" : "",
                                 (unsigned long long)dims[j]);
}

/* The one-line success summary on stdout; bytes are the uncompressed data
 * size, stored what HDF5 allocated for it. */
static void gen_print_summary(const struct gen_opts *o,
                              const struct gen_report *r)
{
    char shape[256], chunk[256] = "contiguous", filters[32] = "none";
    hsize_t bytes = o->type->size;
    int j;

    for (j = 0; j < o->rank; j++)
        bytes *= o->dims[j];
    gen_format_dims(shape, sizeof shape, o->dims, o->rank);
    if (o->chunk_rank > 0)
        gen_format_dims(chunk, sizeof chunk, o->chunk, o->rank);
    if (o->shuffle && o->deflate)
        snprintf(filters, sizeof filters, "shuffle,deflate=%d", o->deflate);
    else if (o->deflate)
        snprintf(filters, sizeof filters, "deflate=%d", o->deflate);
    else if (o->shuffle)
        snprintf(filters, sizeof filters, "shuffle");
    printf("%s: wrote %s:%s type=%s%s shape=%s chunk=%s filters=%s "
           "bytes=%llu stored=%llu seconds=%.3f\n",
           GEN_PROG, o->output, o->dataset, o->type->name, gen_order_name(o),
           shape, chunk, filters, (unsigned long long)bytes,
           (unsigned long long)r->stored, r->seconds);
}

int main(int argc, char **argv)
{
    struct gen_opts o;
    struct gen_err err = { "" };
    struct gen_report rep = { 0, 0.0 };
    int rc;

    /* HDF5 1.10 leaves a file ID half-freed when H5Fclose fails (e.g. the
     * final flush hits ENOSPC) and its atexit teardown then segfaults
     * (HDFGroup/hdf5 issue 2257, fixed by PR 2291).  Every handle is closed
     * explicitly, so the teardown has nothing to do for us anyway. */
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    rc = gen_parse_args(argc, argv, &o, &err);
    if (rc == GEN_HELP) {
        fputs(gen_help, stdout);
        return 0;
    }
    if (rc == 0)
        rc = gen_run(&o, &rep, &err);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", GEN_PROG, err.msg);
        return rc == GEN_EUSAGE ? 2 : 1;
    }
    if (!o.quiet)
        gen_print_summary(&o, &rep);
    return 0;
}
