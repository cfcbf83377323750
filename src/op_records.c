/* op_records.c -- count, sum, mean, var, std, min and max of each record
 * over its cells ([reduce] axis = records), weighted or not.
 *
 * One summary per record: count and NaN count, the weight sum W (the
 * count without weights), the mean and M2 = sum(w (x - mean)^2) about a
 * shift (the record's first value), the compensated sum(w x), and min and
 * max as float64.  A record is reduced in one update (records are never
 * split in tiles with this axis): a pass for W, the sums, min and max, a
 * second for M2.  A partial holds the consecutive records of its
 * partition; merge() appends the later partial's records after the
 * accumulator's (it checks they follow on), so rank 0 concatenates in
 * record order and holds one summary per record: memory grows with the
 * records, not the cells.  Without weights var is M2 / (count - ddof);
 * with them M2 / W (ddof is refused by the job).  NaN values carry no
 * weight; a record without values gives count 0 and NaN.  finalize()
 * writes 1-D results over the records with put().  No MPI, no HDF5.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h5batch/operator.h"
#include "op.h"
#include "stats.h"

#define REC_FIELDS 10
#define REC_BYTES (8 * REC_FIELDS)

struct rec {
    uint64_t n, nan;
    double w, shift, mean, m2, s, sc, min, max;
};

struct records {
    const struct h5b_op_config *cfg;
    int ddof;
    uint64_t first, n, cap;     /* records [first, first + n) */
    struct rec *r;
};

static const char *const provides[] = {"count", "sum", "mean", "var", "std",
                                       "min", "max", NULL};

static void records_destroy(void *state)
{
    struct records *m = state;
    if (m)
        free(m->r);
    free(m);
}

static int records_create(const struct h5b_op_config *cfg, void **state,
                          struct h5b_error *err)
{
    const char *ddof = cfg->arg ? cfg->arg(cfg, "ddof") : NULL;
    *state = NULL;
    struct records *m = calloc(1, sizeof *m);
    if (!m)
        return h5b_fail(err, "out of memory");
    m->cfg = cfg;
    m->ddof = ddof ? atoi(ddof) : 0;
    *state = m;
    return 0;
}

/* Room for n more records. */
static int grow(struct records *m, uint64_t n, struct h5b_error *err)
{
    if (m->n + n <= m->cap)
        return 0;
    uint64_t cap = m->cap ? m->cap : 64;
    while (cap < m->n + n)
        cap *= 2;
    struct rec *r = realloc(m->r, cap * sizeof *r);
    if (!r)
        return h5b_fail(err, "out of memory for %llu records",
                        (unsigned long long)cap);
    m->r = r;
    m->cap = cap;
    return 0;
}

/* Summarise the nc values x of one record (weights w, or NULL) into r. */
static void record_of(struct rec *r, const double *x, const double *w,
                      uint64_t nc)
{
    memset(r, 0, sizeof *r);
    r->min = INFINITY;
    r->max = -INFINITY;
    double sb = 0;
    for (uint64_t j = 0; j < nc; j++) {
        double wi = w ? w[j] : 1;
        if (isnan(x[j])) {
            r->nan++;
            continue;
        }
        if (r->n++ == 0)
            r->shift = x[j];
        r->min = x[j] < r->min ? x[j] : r->min;
        r->max = x[j] > r->max ? x[j] : r->max;
        if (wi == 0)
            continue;
        r->w += wi;
        sb += wi * (x[j] - r->shift);
        stats_neumaier(&r->s, &r->sc, wi * x[j]);
    }
    if (!(r->w > 0))
        return;
    r->mean = sb / r->w;
    for (uint64_t j = 0; j < nc; j++) {
        double wi = w ? w[j] : 1;
        if (isnan(x[j]) || wi == 0)
            continue;
        double d = x[j] - r->shift - r->mean;
        r->m2 += wi * d * d;
    }
}

/* Append blk's records, widened to double a record at a time. */
#define RECORDS_KERNEL(SUF, T)                                               \
static int rupd_##SUF(struct records *m, const struct h5b_block *blk,       \
                      double *x)                                             \
{                                                                            \
    const uint64_t nc = m->cfg->ncell;                                       \
    const T *data = blk->data;                                               \
    for (uint64_t i = 0; i < blk->nrec; i++) {                               \
        for (uint64_t j = 0; j < nc; j++)                                    \
            x[j] = (double)data[i * nc + j];                                 \
        record_of(&m->r[m->n++], x, m->cfg->weights, nc);                    \
    }                                                                        \
    return 0;                                                                \
}
RECORDS_KERNEL(i8, int8_t)
RECORDS_KERNEL(u8, uint8_t)
RECORDS_KERNEL(i16, int16_t)
RECORDS_KERNEL(u16, uint16_t)
RECORDS_KERNEL(i32, int32_t)
RECORDS_KERNEL(u32, uint32_t)
RECORDS_KERNEL(i64, int64_t)
RECORDS_KERNEL(u64, uint64_t)
RECORDS_KERNEL(f32, float)
RECORDS_KERNEL(f64, double)

#define RDISPATCH(SUF, T)                                                    \
    rc = rupd_##SUF(m, blk, x);                                              \
    break

static int records_update(void *state, const struct h5b_block *blk,
                          struct h5b_error *err)
{
    struct records *m = state;
    int rc = -1;
    if (m->n && blk->first_record != m->first + m->n)
        return h5b_fail(err, "records from %llu do not follow %llu..%llu",
                        (unsigned long long)blk->first_record,
                        (unsigned long long)m->first,
                        (unsigned long long)(m->first + m->n));
    if (m->cfg->weights && m->cfg->nweights != m->cfg->ncell)
        return h5b_fail(err, "%llu weights for records of %llu values",
                        (unsigned long long)m->cfg->nweights,
                        (unsigned long long)m->cfg->ncell);
    if (grow(m, blk->nrec, err) < 0)
        return -1;
    double *x = malloc((m->cfg->ncell ? m->cfg->ncell : 1) * sizeof *x);
    if (!x)
        return h5b_fail(err, "out of memory for a record");
    m->first = m->n ? m->first : blk->first_record;
    switch (m->cfg->type) {
    H5B_TYPE_CASES(RDISPATCH);
    }
    free(x);
    return rc < 0 ? h5b_fail(err, "unsupported element type %d",
                             (int)m->cfg->type) : 0;
}

static int records_merge(void *acc, const void *later, struct h5b_error *err)
{
    struct records *a = acc;
    const struct records *b = later;
    if (b->n == 0)
        return 0;
    if (a->n && b->first != a->first + a->n)
        return h5b_fail(err, "records from %llu do not follow %llu..%llu",
                        (unsigned long long)b->first,
                        (unsigned long long)a->first,
                        (unsigned long long)(a->first + a->n));
    if (grow(a, b->n, err) < 0)
        return -1;
    a->first = a->n ? a->first : b->first;
    memcpy(a->r + a->n, b->r, b->n * sizeof *b->r);
    a->n += b->n;
    return 0;
}

static size_t records_encoded_size(const void *state)
{
    const struct records *m = state;
    return 24 + (size_t)m->n * REC_BYTES;
}

static int records_encode(const void *state, void *buf, size_t len,
                          struct h5b_error *err)
{
    const struct records *m = state;
    unsigned char *p = buf;
    if (len != records_encoded_size(m))
        return h5b_fail(err, "encode buffer of %zu bytes, need %zu", len,
                        records_encoded_size(m));
    h5b_put_u64(p, m->cfg->ncell);
    h5b_put_u64(p + 8, m->first);
    h5b_put_u64(p + 16, m->n);
    p += 24;
    for (uint64_t i = 0; i < m->n; i++, p += REC_BYTES) {
        const struct rec *r = &m->r[i];
        const double v[8] = {r->w, r->shift, r->mean, r->m2, r->s, r->sc,
                             r->min, r->max};
        h5b_put_u64(p, r->n);
        h5b_put_u64(p + 8, r->nan);
        for (int k = 0; k < 8; k++)
            h5b_put_f64(p + 16 + 8 * k, v[k]);
    }
    return 0;
}

static int records_decode(void *state, const void *buf, size_t len,
                          struct h5b_error *err)
{
    struct records *m = state;
    const unsigned char *p = buf;
    uint64_t n = len >= 24 ? h5b_get_u64(p + 16) : 0;
    if (len < 24 || h5b_get_u64(p) != m->cfg->ncell ||
        n > (len - 24) / REC_BYTES || len != 24 + n * REC_BYTES)
        return h5b_fail(err, "records state of %zu bytes is malformed", len);
    m->n = 0;
    if (grow(m, n, err) < 0)
        return -1;
    m->first = h5b_get_u64(p + 8);
    p += 24;
    for (uint64_t i = 0; i < n; i++, p += REC_BYTES) {
        struct rec *r = &m->r[i];
        double v[8];
        r->n = h5b_get_u64(p);
        r->nan = h5b_get_u64(p + 8);
        for (int k = 0; k < 8; k++)
            v[k] = h5b_get_f64(p + 16 + 8 * k);
        if (!(v[0] >= 0))
            return h5b_fail(err, "record %llu has a negative or NaN weight "
                            "sum", (unsigned long long)i);
        r->w = v[0];
        r->shift = v[1];
        r->mean = v[2];
        r->m2 = v[3];
        r->s = v[4];
        r->sc = v[5];
        r->min = v[6];
        r->max = v[7];
    }
    m->n = n;
    return 0;
}

static double f_sum(const struct records *m, const struct rec *r)
{
    (void)m;
    return r->s + r->sc;
}

static double f_mean(const struct records *m, const struct rec *r)
{
    (void)m;
    return r->w > 0 ? r->shift + r->mean : NAN;
}

static double f_var(const struct records *m, const struct rec *r)
{
    if (m->cfg->weights)
        return r->w > 0 ? r->m2 / r->w : NAN;
    return r->n > (uint64_t)m->ddof ? r->m2 / (double)(r->n - m->ddof) : NAN;
}

static double f_std(const struct records *m, const struct rec *r)
{
    return sqrt(f_var(m, r));
}

static double f_min(const struct records *m, const struct rec *r)
{
    (void)m;
    return r->n ? r->min : NAN;
}

static double f_max(const struct records *m, const struct rec *r)
{
    (void)m;
    return r->n ? r->max : NAN;
}

static double f_wsum(const struct records *m, const struct rec *r)
{
    (void)m;
    return r->w;
}

typedef double (*rec_fn)(const struct records *, const struct rec *);

/* Write one float64 result over the records. */
static int put_f64(const struct records *m, const struct h5b_sink *sink,
                   const char *name, rec_fn f, struct h5b_error *err)
{
    double *v = malloc((m->n ? m->n : 1) * sizeof *v);
    uint64_t dims[1] = {m->n};
    if (!v)
        return h5b_fail(err, "out of memory writing %s", name);
    for (uint64_t i = 0; i < m->n; i++)
        v[i] = f(m, &m->r[i]);
    int rc = sink->put(sink->ctx, name, H5B_FLOAT64, 1, dims, v, err);
    free(v);
    return rc;
}

/* count (always) and nan_count (float input). */
static int put_counts(const struct records *m, const struct h5b_sink *sink,
                      struct h5b_error *err)
{
    uint64_t *v = malloc((m->n ? m->n : 1) * sizeof *v);
    uint64_t dims[1] = {m->n};
    h5b_type t = m->cfg->type;
    if (!v)
        return h5b_fail(err, "out of memory writing count");
    for (uint64_t i = 0; i < m->n; i++)
        v[i] = m->r[i].n;
    int rc = sink->put(sink->ctx, "count", H5B_UINT64, 1, dims, v, err);
    for (uint64_t i = 0; i < m->n; i++)
        v[i] = m->r[i].nan;
    if (rc == 0 && (t == H5B_FLOAT32 || t == H5B_FLOAT64))
        rc = sink->put(sink->ctx, "nan_count", H5B_UINT64, 1, dims, v, err);
    free(v);
    return rc;
}

static int wanted(const struct records *m, const char *name)
{
    for (const char *const *o = m->cfg->outputs; o && *o; o++)
        if (strcmp(*o, name) == 0)
            return 1;
    return 0;
}

static int records_finalize(const void *state, const struct h5b_sink *sink,
                            struct h5b_error *err)
{
    static const struct {
        const char *name;
        rec_fn f;
    } outs[] = {{"sum", f_sum}, {"mean", f_mean}, {"var", f_var},
                {"std", f_std}, {"min", f_min}, {"max", f_max}};
    const struct records *m = state;
    int rc = put_counts(m, sink, err);
    if (rc == 0 && m->cfg->weights)
        rc = put_f64(m, sink, "weight_sum", f_wsum, err);
    for (size_t k = 0; rc == 0 && k < sizeof outs / sizeof *outs; k++)
        if (wanted(m, outs[k].name))
            rc = put_f64(m, sink, outs[k].name, outs[k].f, err);
    return rc;
}

const h5b_operator op_records = {
    .abi = H5B_OPERATOR_ABI,
    .name = "records",
    .provides = provides,
    .create = records_create,
    .destroy = records_destroy,
    .update = records_update,
    .merge = records_merge,
    .encoded_size = records_encoded_size,
    .encode = records_encode,
    .decode = records_decode,
    .finalize = records_finalize,
};

uint64_t op_records_bytes(uint64_t records)
{
    return records > UINT64_MAX / sizeof(struct rec)
           ? UINT64_MAX : records * sizeof(struct rec);
}
