/* exceed.c -- h5batch plugin: values above a threshold, and the longest run.
 *
 * Per cell: how many values are above `threshold` (a required argument of
 * the plugin's job-file section), and the longest run of consecutive
 * records whose value is above it.  NaN is never above.  For integer input
 * "above" is exact (v > threshold as real numbers), also beyond 2^53; for
 * float32 the value is widened to double first, which is exact.  With
 * axis = all, "consecutive records" are consecutive values in row-major
 * order.
 *
 * A run may cross partition boundaries, so a cell's partial keeps, besides
 * its count and longest run, the run at its start (prefix) and the run at
 * its end (suffix); merging A then B gives
 *   longest = max(A.longest, B.longest, A.suffix + B.prefix)
 *   prefix  = A is one run ? A.nrec + B.prefix : A.prefix
 *   suffix  = B is one run ? A.suffix + B.nrec : B.suffix
 * which is associative.  "Is one run" is prefix == nrec: the whole partial
 * is above (an empty partial counts as one run of length 0, the identity).
 * nrec, the records covered, is the same for every cell of a state, so it
 * is kept once per state, not per cell.  update() folds records one at a
 * time into exactly this form, so several update() calls per partition
 * give the same state as one.
 *
 * Invariant of every cell: count, prefix, suffix, longest <= nrec;
 * longest >= max(prefix, suffix); count >= longest; prefix == nrec iff
 * suffix == nrec.  decode() rejects anything else.
 *
 * Encoding (little-endian u64): ncell, nrec, the threshold's bits, then per
 * cell count, prefix, suffix, longest.
 *
 * Outputs: exceed/count and exceed/longest_run (uint64 per cell) and
 * exceed/threshold (float64 scalar).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <h5batch/operator.h>

#define HEADER_BYTES 24
#define CELL_BYTES 32

struct run_cell {
    uint64_t count, prefix, suffix, longest;
};

/* How integers are compared: v > threshold  <=>  v >= lo (exact), unless
 * `never` (the threshold is at or above every value of the type). */
struct bound {
    int never;
    int64_t lo_i;       /* signed types */
    uint64_t lo_u;      /* unsigned types */
};

struct exceed {
    h5b_type type;
    uint64_t ncell;
    uint64_t nrec;          /* records folded in */
    double threshold;
    struct bound b;
    struct run_cell *c;
};

static const char *const provides[] = {"exceed", NULL};

static int is_signed(h5b_type t)
{
    return t == H5B_INT8 || t == H5B_INT16 || t == H5B_INT32 ||
           t == H5B_INT64;
}

/* Exact integer bounds for threshold t (finite).  Every integer v of a
 * signed type fits int64, of an unsigned one uint64; v > t <=> v >=
 * floor(t) + 1. */
static struct bound make_bound(h5b_type type, double t)
{
    struct bound b = {0, 0, 0};
    double f = floor(t);
    if (is_signed(type)) {
        if (f >= 9223372036854775808.0)            /* 2^63 */
            b.never = 1;
        else if (f < -9223372036854775808.0)
            b.lo_i = INT64_MIN;
        else
            b.lo_i = (int64_t)f + 1;     /* f <= 2^63 - 1024: no overflow */
    } else {
        if (f >= 18446744073709551616.0)           /* 2^64 */
            b.never = 1;
        else if (f < 0)
            b.lo_u = 0;
        else
            b.lo_u = (uint64_t)f + 1;    /* f <= 2^64 - 2048 */
    }
    return b;
}

/* Parse the threshold: a finite number, blanks around it allowed. */
static int parse_threshold(const char *s, double *out, struct h5b_error *err)
{
    char *end;
    if (!s)
        return h5b_fail(err, "argument 'threshold' is missing: give "
                        "threshold = NUMBER in the plugin's job-file "
                        "section");
    double t = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == s || *end || !isfinite(t))
        return h5b_fail(err, "threshold '%s' is not a finite number", s);
    *out = t;
    return 0;
}

static void exceed_destroy(void *state)
{
    struct exceed *e = state;
    if (!e)
        return;
    free(e->c);
    free(e);
}

static int exceed_create(const struct h5b_op_config *cfg, void **state,
                         struct h5b_error *err)
{
    *state = NULL;
    double t = 0;
    const char *arg = cfg->arg ? cfg->arg(cfg, "threshold") : NULL;
    if (parse_threshold(arg, &t, err) < 0)
        return -1;
    if (!h5b_type_size(cfg->type))
        return h5b_fail(err, "unsupported element type %d", (int)cfg->type);
    if (cfg->ncell == 0 || cfg->ncell > SIZE_MAX / CELL_BYTES)
        return h5b_fail(err, "bad cell count %llu",
                        (unsigned long long)cfg->ncell);
    struct exceed *e = calloc(1, sizeof *e);
    if (e)
        e->c = calloc((size_t)cfg->ncell, sizeof *e->c);
    if (!e || !e->c) {
        exceed_destroy(e);
        return h5b_fail(err, "out of memory for %llu cells",
                        (unsigned long long)cfg->ncell);
    }
    e->type = cfg->type;
    e->ncell = cfg->ncell;
    e->threshold = t;
    e->b = make_bound(cfg->type, t);
    *state = e;
    return 0;
}

/* Fold one value's verdict a (0 or 1) into cell c, which has seen n
 * records before this one. */
#define FOLD(c, a, n)                                                        \
    do {                                                                     \
        uint64_t a_ = (a);                                                   \
        (c)->count += a_;                                                    \
        (c)->prefix += a_ & ((c)->prefix == (n));                            \
        (c)->suffix = a_ ? (c)->suffix + 1 : 0;                              \
        (c)->longest = (c)->suffix > (c)->longest ? (c)->suffix              \
                                                  : (c)->longest;            \
    } while (0)

/* The update kernel for element type T; ABOVE(v) is the verdict for one
 * value v of type T (it may use the bound b and threshold t). */
#define EXCEED_KERNEL(SUF, T, ABOVE)                                         \
static void upd_##SUF(struct exceed *e, const T *x, uint64_t nrec)          \
{                                                                            \
    const struct bound b = e->b;                                             \
    const double t = e->threshold;                                           \
    uint64_t nc = e->ncell, n = e->nrec;                                     \
    (void)b;                                                                 \
    (void)t;                                                                 \
    for (uint64_t r = 0; r < nrec; r++, n++) {                               \
        const T *p = x + r * nc;                                             \
        for (uint64_t j = 0; j < nc; j++) {                                  \
            T v = p[j];                                                      \
            FOLD(&e->c[j], ABOVE(v), n);                                     \
        }                                                                    \
    }                                                                        \
    e->nrec = n;                                                             \
}

#define ABOVE_S(v) ((uint64_t)((int64_t)(v) >= b.lo_i))
#define ABOVE_U(v) ((uint64_t)((uint64_t)(v) >= b.lo_u))
/* NaN > t is false, as wanted. */
#define ABOVE_F(v) ((uint64_t)((double)(v) > t))

EXCEED_KERNEL(i8, int8_t, ABOVE_S)
EXCEED_KERNEL(u8, uint8_t, ABOVE_U)
EXCEED_KERNEL(i16, int16_t, ABOVE_S)
EXCEED_KERNEL(u16, uint16_t, ABOVE_U)
EXCEED_KERNEL(i32, int32_t, ABOVE_S)
EXCEED_KERNEL(u32, uint32_t, ABOVE_U)
EXCEED_KERNEL(i64, int64_t, ABOVE_S)
EXCEED_KERNEL(u64, uint64_t, ABOVE_U)
EXCEED_KERNEL(f32, float, ABOVE_F)
EXCEED_KERNEL(f64, double, ABOVE_F)

/* nrec records of which no value is above: every suffix run ends. */
static void upd_never(struct exceed *e, uint64_t nrec)
{
    if (nrec == 0)
        return;
    for (uint64_t j = 0; j < e->ncell; j++)
        e->c[j].suffix = 0;
    e->nrec += nrec;
}

#define DISPATCH(SUF, T)                                                     \
    upd_##SUF(e, (const T *)blk->data, blk->nrec);                           \
    return 0

static int exceed_update(void *state, const struct h5b_block *blk,
                         struct h5b_error *err)
{
    struct exceed *e = state;
    if (blk->nrec > UINT64_MAX - e->nrec)
        return h5b_fail(err, "record count overflows");
    if (e->b.never && e->type != H5B_FLOAT32 && e->type != H5B_FLOAT64) {
        upd_never(e, blk->nrec);
        return 0;
    }
    switch (e->type) {
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
    return h5b_fail(err, "unsupported element type %d", (int)e->type);
}

static int exceed_merge(void *acc, const void *later, struct h5b_error *err)
{
    struct exceed *a = acc;
    const struct exceed *b = later;
    if (a->ncell != b->ncell)
        return h5b_fail(err, "cell counts differ (%llu vs %llu)",
                        (unsigned long long)a->ncell,
                        (unsigned long long)b->ncell);
    if (b->nrec > UINT64_MAX - a->nrec)
        return h5b_fail(err, "record count overflows");
    for (uint64_t j = 0; j < a->ncell; j++) {
        struct run_cell *x = &a->c[j];
        const struct run_cell *y = &b->c[j];
        uint64_t across = x->suffix + y->prefix;
        uint64_t longest = x->longest > y->longest ? x->longest : y->longest;
        x->longest = across > longest ? across : longest;
        if (x->prefix == a->nrec)
            x->prefix = a->nrec + y->prefix;
        x->suffix = y->suffix == b->nrec ? x->suffix + b->nrec : y->suffix;
        x->count += y->count;
    }
    a->nrec += b->nrec;
    return 0;
}

static size_t exceed_encoded_size(const void *state)
{
    const struct exceed *e = state;
    return HEADER_BYTES + (size_t)e->ncell * CELL_BYTES;
}

static int exceed_encode(const void *state, void *buf, size_t len,
                         struct h5b_error *err)
{
    const struct exceed *e = state;
    unsigned char *p = buf;
    if (len != exceed_encoded_size(e))
        return h5b_fail(err, "encode buffer of %zu bytes, need %zu", len,
                        exceed_encoded_size(e));
    h5b_put_u64(p, e->ncell);
    h5b_put_u64(p + 8, e->nrec);
    h5b_put_f64(p + 16, e->threshold);
    p += HEADER_BYTES;
    for (uint64_t j = 0; j < e->ncell; j++, p += CELL_BYTES) {
        h5b_put_u64(p, e->c[j].count);
        h5b_put_u64(p + 8, e->c[j].prefix);
        h5b_put_u64(p + 16, e->c[j].suffix);
        h5b_put_u64(p + 24, e->c[j].longest);
    }
    return 0;
}

/* Does c satisfy the invariant of a state covering n records? */
static int cell_valid(const struct run_cell *c, uint64_t n)
{
    return c->count <= n && c->prefix <= n && c->suffix <= n &&
           c->longest <= n && c->longest >= c->prefix &&
           c->longest >= c->suffix && c->count >= c->longest &&
           (c->prefix == n) == (c->suffix == n);
}

static int exceed_decode(void *state, const void *buf, size_t len,
                         struct h5b_error *err)
{
    struct exceed *e = state;
    const unsigned char *p = buf;
    if (len != exceed_encoded_size(e) || h5b_get_u64(p) != e->ncell)
        return h5b_fail(err, "state of %zu bytes does not hold %llu cells",
                        len, (unsigned long long)e->ncell);
    uint64_t nrec = h5b_get_u64(p + 8);
    double t = h5b_get_f64(p + 16);
    if (memcmp(&t, &e->threshold, sizeof t) != 0)
        return h5b_fail(err, "state was computed with threshold %g, not %g",
                        t, e->threshold);
    p += HEADER_BYTES;
    /* Check every cell before changing any: on failure e is unchanged. */
    for (int store = 0; store < 2; store++)
        for (uint64_t j = 0; j < e->ncell; j++) {
            const unsigned char *q = p + j * CELL_BYTES;
            struct run_cell c = {h5b_get_u64(q), h5b_get_u64(q + 8),
                                 h5b_get_u64(q + 16), h5b_get_u64(q + 24)};
            if (store)
                e->c[j] = c;
            else if (!cell_valid(&c, nrec))
                return h5b_fail(err, "cell %llu of the state is "
                                "inconsistent", (unsigned long long)j);
        }
    e->nrec = nrec;
    return 0;
}

/* Write field `which` (0: count, 1: longest) of every cell as uint64. */
static int put_field(const struct exceed *e, const struct h5b_sink *sink,
                     int which, struct h5b_error *err)
{
    const char *name = which ? "exceed/longest_run" : "exceed/count";
    uint64_t *v = malloc((size_t)e->ncell * sizeof *v);
    if (!v)
        return h5b_fail(err, "out of memory writing %s", name);
    for (uint64_t j = 0; j < e->ncell; j++)
        v[j] = which ? e->c[j].longest : e->c[j].count;
    int rc = sink->put_cells(sink->ctx, name, H5B_UINT64, 0, NULL, v, err);
    free(v);
    return rc;
}

static int exceed_finalize(const void *state, const struct h5b_sink *sink,
                           struct h5b_error *err)
{
    const struct exceed *e = state;
    int rc = put_field(e, sink, 0, err);
    if (rc == 0)
        rc = put_field(e, sink, 1, err);
    if (rc == 0)
        rc = sink->put(sink->ctx, "exceed/threshold", H5B_FLOAT64, 0, NULL,
                       &e->threshold, err);
    return rc;
}

const h5b_operator h5batch_plugin = {
    .abi = H5B_OPERATOR_ABI,
    .name = "exceed",
    .provides = provides,
    .create = exceed_create,
    .destroy = exceed_destroy,
    .update = exceed_update,
    .merge = exceed_merge,
    .encoded_size = exceed_encoded_size,
    .encode = exceed_encode,
    .decode = exceed_decode,
    .finalize = exceed_finalize,
};
