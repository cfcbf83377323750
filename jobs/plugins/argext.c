/* argext.c -- h5batch plugin: min and max of each cell and where they occur.
 *
 * Per cell: the smallest and largest value and the global record index
 * where each first occurs (argmin/argmax; ties go to the smallest index,
 * as numpy.nanargmin/nanargmax).  NaN is skipped; a cell with no value
 * other than NaN (or no record at all) has index -1 and value NaN.
 *
 * Values are compared exactly in a 64-bit form of the input type (int64,
 * uint64 or double, as the built-in min/max), so integers beyond 2^53 are
 * ordered exactly; the results are written as float64, so such an integer
 * min or max is rounded to the nearest double (its index is exact).
 *
 * Records are seen in increasing index within a partial and merge(acc,
 * later) gets a later partial, so "strictly smaller replaces" in update()
 * and "later wins only if strictly smaller" in merge() keep the first
 * occurrence; merge is associative.  The record index of a value is
 * blk->first_record + its record's offset in the block: an index along
 * dimension 0, as numpy's argmin(x, axis=0), so the plugin is meant for
 * axis = 0.
 *
 * Invariant of every cell: argmin == -1 iff argmax == -1 (the same values
 * are seen by both); otherwise 0 <= argmin, argmax and min <= max, neither
 * a NaN.  decode() rejects anything else.
 *
 * Encoding (little-endian u64): ncell, type, then per cell the bits of min
 * and max (int64, uint64 or double, per type) and argmin, argmax (int64
 * as two's complement).
 *
 * Outputs: argext/min, argext/max (float64 per cell), argext/argmin,
 * argext/argmax (int64 per cell).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <h5batch/operator.h>

#define HEADER_BYTES 16
#define CELL_BYTES 32

union ext {
    int64_t i;
    uint64_t u;
    double f;
};

struct ext_cell {
    union ext min, max;
    int64_t argmin, argmax;     /* -1: no value yet */
};

enum kind { K_SIGNED, K_UNSIGNED, K_FLOAT };

struct argext {
    h5b_type type;
    enum kind kind;
    uint64_t ncell;
    struct ext_cell *c;
};

static const char *const provides[] = {"argext", NULL};

static enum kind kind_of(h5b_type t)
{
    switch (t) {
    case H5B_INT8: case H5B_INT16: case H5B_INT32: case H5B_INT64:
        return K_SIGNED;
    case H5B_FLOAT32: case H5B_FLOAT64:
        return K_FLOAT;
    default:
        return K_UNSIGNED;
    }
}

static void argext_destroy(void *state)
{
    struct argext *a = state;
    if (!a)
        return;
    free(a->c);
    free(a);
}

static void clear_cells(struct argext *a)
{
    for (uint64_t j = 0; j < a->ncell; j++) {
        memset(&a->c[j], 0, sizeof a->c[j]);
        a->c[j].argmin = a->c[j].argmax = -1;
    }
}

static int argext_create(const struct h5b_op_config *cfg, void **state,
                         struct h5b_error *err)
{
    *state = NULL;
    if (!h5b_type_size(cfg->type))
        return h5b_fail(err, "unsupported element type %d", (int)cfg->type);
    if (cfg->ncell == 0 || cfg->ncell > SIZE_MAX / CELL_BYTES)
        return h5b_fail(err, "bad cell count %llu",
                        (unsigned long long)cfg->ncell);
    struct argext *a = calloc(1, sizeof *a);
    if (a)
        a->c = malloc((size_t)cfg->ncell * sizeof *a->c);
    if (!a || !a->c) {
        argext_destroy(a);
        return h5b_fail(err, "out of memory for %llu cells",
                        (unsigned long long)cfg->ncell);
    }
    a->type = cfg->type;
    a->kind = kind_of(cfg->type);
    a->ncell = cfg->ncell;
    clear_cells(a);
    *state = a;
    return 0;
}

/* The update kernel for element type T, compared as W in union member F;
 * SKIP(v) is true for NaN (constant 0 for integers).  A value replaces
 * the cell's min only if strictly smaller, so the first occurrence stays. */
#define ARGEXT_KERNEL(SUF, T, W, F, SKIP)                                    \
static void upd_##SUF(struct argext *a, const T *x, uint64_t nrec,          \
                      int64_t first)                                         \
{                                                                            \
    uint64_t nc = a->ncell;                                                  \
    for (uint64_t r = 0; r < nrec; r++) {                                    \
        const T *p = x + r * nc;                                             \
        int64_t idx = first + (int64_t)r;                                    \
        for (uint64_t j = 0; j < nc; j++) {                                  \
            W v = p[j];                                                      \
            struct ext_cell *c = &a->c[j];                                   \
            if (SKIP(v))                                                     \
                continue;                                                    \
            if (c->argmin < 0) {                                             \
                c->min.F = c->max.F = v;                                     \
                c->argmin = c->argmax = idx;                                 \
                continue;                                                    \
            }                                                                \
            if (v < c->min.F) {                                              \
                c->min.F = v;                                                \
                c->argmin = idx;                                             \
            }                                                                \
            if (v > c->max.F) {                                              \
                c->max.F = v;                                                \
                c->argmax = idx;                                             \
            }                                                                \
        }                                                                    \
    }                                                                        \
}

#define NEVER(v) 0
ARGEXT_KERNEL(i8, int8_t, int64_t, i, NEVER)
ARGEXT_KERNEL(u8, uint8_t, uint64_t, u, NEVER)
ARGEXT_KERNEL(i16, int16_t, int64_t, i, NEVER)
ARGEXT_KERNEL(u16, uint16_t, uint64_t, u, NEVER)
ARGEXT_KERNEL(i32, int32_t, int64_t, i, NEVER)
ARGEXT_KERNEL(u32, uint32_t, uint64_t, u, NEVER)
ARGEXT_KERNEL(i64, int64_t, int64_t, i, NEVER)
ARGEXT_KERNEL(u64, uint64_t, uint64_t, u, NEVER)
ARGEXT_KERNEL(f32, float, double, f, isnan)
ARGEXT_KERNEL(f64, double, double, f, isnan)

#define DISPATCH(SUF, T)                                                     \
    upd_##SUF(a, (const T *)blk->data, blk->nrec, (int64_t)blk->first_record);\
    return 0

static int argext_update(void *state, const struct h5b_block *blk,
                         struct h5b_error *err)
{
    struct argext *a = state;
    if (blk->first_record > (uint64_t)INT64_MAX ||
        blk->nrec > (uint64_t)INT64_MAX - blk->first_record)
        return h5b_fail(err, "record index %llu + %llu does not fit int64",
                        (unsigned long long)blk->first_record,
                        (unsigned long long)blk->nrec);
    switch (a->type) {
    case H5B_INT8: DISPATCH(i8, int8_t);
    case H5B_UINT8: DISPATCH(u8, uint8_t);
    case H5B_INT16: DISPATCH(i16, int16_t);
    case H5B_UINT16: DISPATCH(u16, uint16_t);
    case H5B_INT32: DISPATCH(i32, int32_t);
    case H5B_UINT32: DISPATCH(u32, uint32_t);
    case H5B_INT64: DISPATCH(i64, int64_t);
    case H5B_UINT64: DISPATCH(u64, uint64_t);
    case H5B_FLOAT32: DISPATCH(f32, float);
    case H5B_FLOAT64: DISPATCH(f64, double);
    }
    return h5b_fail(err, "unsupported element type %d", (int)a->type);
}

/* Is x < y (is_max: x > y) in the state's kind? */
static int better(enum kind k, union ext x, union ext y, int is_max)
{
    switch (k) {
    case K_SIGNED: return is_max ? x.i > y.i : x.i < y.i;
    case K_UNSIGNED: return is_max ? x.u > y.u : x.u < y.u;
    case K_FLOAT: return is_max ? x.f > y.f : x.f < y.f;
    }
    return 0;
}

/* Per cell, a value of the later partial wins only if strictly better, so
 * the earlier (smaller) index wins ties. */
static int argext_merge(void *acc, const void *later, struct h5b_error *err)
{
    struct argext *a = acc;
    const struct argext *b = later;
    if (a->ncell != b->ncell || a->type != b->type)
        return h5b_fail(err, "states differ in cells or type");
    for (uint64_t j = 0; j < a->ncell; j++) {
        struct ext_cell *x = &a->c[j];
        const struct ext_cell *y = &b->c[j];
        if (y->argmin < 0)
            continue;
        if (x->argmin < 0) {
            *x = *y;
            continue;
        }
        if (better(a->kind, y->min, x->min, 0)) {
            x->min = y->min;
            x->argmin = y->argmin;
        }
        if (better(a->kind, y->max, x->max, 1)) {
            x->max = y->max;
            x->argmax = y->argmax;
        }
    }
    return 0;
}

static size_t argext_encoded_size(const void *state)
{
    const struct argext *a = state;
    return HEADER_BYTES + (size_t)a->ncell * CELL_BYTES;
}

/* The bits of v: union ext is 8 bytes whatever member is in use. */
static uint64_t bits(union ext v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static union ext from_bits(uint64_t u)
{
    union ext v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static int argext_encode(const void *state, void *buf, size_t len,
                         struct h5b_error *err)
{
    const struct argext *a = state;
    unsigned char *p = buf;
    if (len != argext_encoded_size(a))
        return h5b_fail(err, "encode buffer of %zu bytes, need %zu", len,
                        argext_encoded_size(a));
    h5b_put_u64(p, a->ncell);
    h5b_put_u64(p + 8, (uint64_t)a->type);
    p += HEADER_BYTES;
    for (uint64_t j = 0; j < a->ncell; j++, p += CELL_BYTES) {
        const struct ext_cell *c = &a->c[j];
        h5b_put_u64(p, bits(c->min));
        h5b_put_u64(p + 8, bits(c->max));
        h5b_put_u64(p + 16, (uint64_t)c->argmin);
        h5b_put_u64(p + 24, (uint64_t)c->argmax);
    }
    return 0;
}

/* Two's complement u64 back to int64 without implementation-defined
 * conversion. */
static int64_t to_i64(uint64_t u)
{
    int64_t i;
    memcpy(&i, &u, sizeof i);
    return i;
}

/* Does c satisfy the invariant for kind k? */
static int cell_valid(enum kind k, const struct ext_cell *c)
{
    if (c->argmin < 0 || c->argmax < 0)
        return c->argmin == -1 && c->argmax == -1;
    if (k == K_FLOAT && (isnan(c->min.f) || isnan(c->max.f)))
        return 0;
    return !better(k, c->max, c->min, 0);
}

static int argext_decode(void *state, const void *buf, size_t len,
                         struct h5b_error *err)
{
    struct argext *a = state;
    const unsigned char *p = buf;
    if (len != argext_encoded_size(a) || h5b_get_u64(p) != a->ncell ||
        h5b_get_u64(p + 8) != (uint64_t)a->type)
        return h5b_fail(err, "state of %zu bytes does not hold %llu cells "
                        "of type %d", len, (unsigned long long)a->ncell,
                        (int)a->type);
    p += HEADER_BYTES;
    /* Check every cell before changing any: on failure a is unchanged. */
    for (int store = 0; store < 2; store++)
        for (uint64_t j = 0; j < a->ncell; j++) {
            const unsigned char *q = p + j * CELL_BYTES;
            struct ext_cell c = {from_bits(h5b_get_u64(q)),
                                 from_bits(h5b_get_u64(q + 8)),
                                 to_i64(h5b_get_u64(q + 16)),
                                 to_i64(h5b_get_u64(q + 24))};
            if (store)
                a->c[j] = c;
            else if (!cell_valid(a->kind, &c))
                return h5b_fail(err, "cell %llu of the state is "
                                "inconsistent", (unsigned long long)j);
        }
    return 0;
}

/* The cell's min or max as float64; NaN for an empty cell. */
static double as_f64(enum kind k, const struct ext_cell *c, int is_max)
{
    union ext v = is_max ? c->max : c->min;
    if (c->argmin < 0)
        return NAN;
    switch (k) {
    case K_SIGNED: return (double)v.i;
    case K_UNSIGNED: return (double)v.u;
    case K_FLOAT: return v.f;
    }
    return NAN;
}

/* Write argext/min or argext/max and its index. */
static int put_extreme(const struct argext *a, const struct h5b_sink *sink,
                       int is_max, struct h5b_error *err)
{
    double *v = malloc((size_t)a->ncell * sizeof *v);
    int64_t *ix = malloc((size_t)a->ncell * sizeof *ix);
    int rc = 0;
    if (!v || !ix)
        rc = h5b_fail(err, "out of memory writing results");
    for (uint64_t j = 0; rc == 0 && j < a->ncell; j++) {
        v[j] = as_f64(a->kind, &a->c[j], is_max);
        ix[j] = is_max ? a->c[j].argmax : a->c[j].argmin;
    }
    if (rc == 0)
        rc = sink->put_cells(sink->ctx, is_max ? "argext/max" : "argext/min",
                             H5B_FLOAT64, 0, NULL, v, err);
    if (rc == 0)
        rc = sink->put_cells(sink->ctx, is_max ? "argext/argmax"
                                               : "argext/argmin",
                             H5B_INT64, 0, NULL, ix, err);
    free(v);
    free(ix);
    return rc;
}

static int argext_finalize(const void *state, const struct h5b_sink *sink,
                           struct h5b_error *err)
{
    const struct argext *a = state;
    int rc = put_extreme(a, sink, 0, err);
    if (rc == 0)
        rc = put_extreme(a, sink, 1, err);
    return rc;
}

const h5b_operator h5batch_plugin = {
    .abi = H5B_OPERATOR_ABI,
    .name = "argext",
    .provides = provides,
    .create = argext_create,
    .destroy = argext_destroy,
    .update = argext_update,
    .merge = argext_merge,
    .encoded_size = argext_encoded_size,
    .encode = argext_encode,
    .decode = argext_decode,
    .finalize = argext_finalize,
};
