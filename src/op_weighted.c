/* op_weighted.c -- weighted sum, mean, var and std of each cell, and the
 * sum of the weights ([reduce] weights).
 *
 * The opset runs this operator beside moments when the config carries
 * weights (h5b_op_config.weights); moments then keeps count, nan_count,
 * min and max, and this one writes weight_sum, and sum = sum(w x), mean =
 * sum(w x) / sum(w), var = sum(w (x - mean)^2) / sum(w) and std =
 * sqrt(var) as they are asked for (xarray's weighted(w).sum/mean/var/
 * std).  A NaN value carries no weight (CF fill and masked values reach
 * the operators as NaN).  ddof is refused with weights by the job.
 *
 * One state per cell: the weight sum W (Neumaier-compensated), a shift
 * (the cell's first value), the weighted mean relative to the shift, M2
 * = sum(w (x - mean)^2), and the compensated sum(w x).  update() gathers
 * up to BLOCK values and their weights, takes the block's weighted mean
 * about the shift and then its M2 about that mean, and folds the block
 * into the cell with the weighted form of Chan et al.'s formula:
 *     W = Wa + Wb, d = mb - ma, mean = ma + d Wb / W,
 *     M2 = M2a + M2b + d^2 Wa Wb / W.
 * merge() is the same formula between partials, in partition order, so
 * the bits do not depend on the number of ranks.
 *
 * Invariant: a cell with W == 0 has mean and M2 0 and writes NaN for
 * mean, var and std.  No MPI, no HDF5.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h5batch/operator.h"
#include "op.h"
#include "stats.h"

#define BLOCK 1024
#define WCELL_BYTES 56

struct wcell {
    double w, wc;           /* weight sum and its compensation */
    double shift, mean, m2; /* mean relative to shift */
    double s, sc;           /* sum(w x) and its compensation */
};

enum wwant { WW_SUM = 1, WW_MEAN = 2, WW_VAR = 4, WW_STD = 8 };

struct weighted {
    const struct h5b_op_config *cfg;
    unsigned want;
    struct wcell *c;
};

static const char *const provides[] = {"weight_sum", NULL};

static unsigned wanted(const struct h5b_op_config *cfg)
{
    static const char *const names[] = {"sum", "mean", "var", "std"};
    unsigned w = 0;
    for (size_t i = 0; cfg->outputs && cfg->outputs[i]; i++)
        for (unsigned k = 0; k < 4; k++)
            if (strcmp(cfg->outputs[i], names[k]) == 0)
                w |= 1u << k;
    return w;
}

static void weighted_destroy(void *state)
{
    struct weighted *m = state;
    if (m)
        free(m->c);
    free(m);
}

static int weighted_create(const struct h5b_op_config *cfg, void **state,
                           struct h5b_error *err)
{
    *state = NULL;
    if (!cfg->weights || cfg->nweights == 0)
        return h5b_fail(err, "weighted statistics need [reduce] weights");
    struct weighted *m = calloc(1, sizeof *m);
    if (m)
        m->c = calloc(cfg->ncell ? cfg->ncell : 1, sizeof *m->c);
    if (!m || !m->c) {
        weighted_destroy(m);
        return h5b_fail(err, "out of memory for %llu weighted cells",
                        (unsigned long long)cfg->ncell);
    }
    m->cfg = cfg;
    m->want = wanted(cfg);
    *state = m;
    return 0;
}

/* Fold a block into c: weight wb, mean mb about c->shift, M2 m2b, and
 * sum(w x) pb.  The weighted Chan step (see the top). */
static void wcell_combine(struct wcell *c, double wb, double mb, double m2b,
                          double pb)
{
    stats_neumaier(&c->s, &c->sc, pb);
    if (!(wb > 0))
        return;
    double wa = c->w + c->wc;
    if (!(wa > 0)) {
        c->mean = mb;
        c->m2 = m2b;
    } else {
        double wt = wa + wb, d = mb - c->mean, f = wb / wt;
        c->mean += d * f;
        c->m2 += m2b + d * d * wa * f;
    }
    stats_neumaier(&c->w, &c->wc, wb);
}

/* Fold len gathered values x (NaN: no weight) with weights w into c. */
static void wcell_block(struct wcell *c, const double *x, const double *w,
                        size_t len)
{
    double wb = 0, sb = 0, pb = 0, m2b = 0;
    if (!(c->w + c->wc > 0))
        for (size_t i = 0; i < len; i++)
            if (isfinite(x[i]) && w[i] > 0) {
                c->shift = x[i];
                break;
            }
    const double k = c->shift;
    for (size_t i = 0; i < len; i++) {
        if (isnan(x[i]) || w[i] == 0)
            continue;
        wb += w[i];
        sb += w[i] * (x[i] - k);
        pb += w[i] * x[i];
    }
    if (!(wb > 0))
        return;
    double mb = sb / wb;
    for (size_t i = 0; i < len; i++) {
        if (isnan(x[i]) || w[i] == 0)
            continue;
        double d = x[i] - k - mb;
        m2b += w[i] * d * d;
    }
    wcell_combine(c, wb, mb, m2b, pb);
}

/* One cell (axis = all): the weights of a run of values are a run of the
 * weights (wrapping at nweights), so they are used in place, and float64
 * values too; other types are widened into buf. */
#define WEIGHTED_RUN(SUF, T)                                                 \
static void wrun_##SUF(struct weighted *m, const struct h5b_block *blk)     \
{                                                                            \
    const uint64_t nw = m->cfg->nweights;                                    \
    const T *data = blk->data;                                               \
    double buf[BLOCK];                                                       \
    uint64_t pos = blk->first_record % nw;                                   \
    for (uint64_t i = 0; i < blk->nrec;) {                                   \
        uint64_t len = blk->nrec - i < BLOCK ? blk->nrec - i : BLOCK;        \
        len = len < nw - pos ? len : nw - pos;                               \
        const double *xv = buf;                                              \
        if (sizeof(T) == sizeof(double) && (T)0.5 == 0.5)                    \
            xv = (const double *)(const void *)(data + i);                   \
        else                                                                 \
            for (uint64_t j = 0; j < len; j++)                               \
                buf[j] = (double)data[i + j];                                \
        wcell_block(&m->c[0], xv, m->cfg->weights + pos, (size_t)len);       \
        i += len;                                                            \
        pos = pos + len == nw ? 0 : pos + len;                               \
    }                                                                        \
}

/* Fold blk in: one cell through wrun_; several by gathering each cell's
 * values of up to BLOCK records as double, with their weights.  T is the
 * element type. */
#define WEIGHTED_KERNEL(SUF, T)                                              \
WEIGHTED_RUN(SUF, T)                                                         \
static void wupd_##SUF(struct weighted *m, const struct h5b_block *blk)     \
{                                                                            \
    const uint64_t nc = m->cfg->ncell, nw = m->cfg->nweights;               \
    const double *wt = m->cfg->weights;                                      \
    const T *data = blk->data;                                               \
    double x[BLOCK], w[BLOCK];                                               \
    if (nc == 1) {                                                           \
        wrun_##SUF(m, blk);                                                  \
        return;                                                              \
    }                                                                        \
    for (uint64_t j = 0; j < nc; j++) {                                      \
        const uint64_t step = nc % nw;                                       \
        uint64_t pos = (uint64_t)(((unsigned __int128)(blk->first_record %  \
                        nw) * step + j) % nw);                               \
        for (uint64_t r0 = 0; r0 < blk->nrec; r0 += BLOCK) {                 \
            size_t len = blk->nrec - r0 < BLOCK ? blk->nrec - r0 : BLOCK;    \
            for (size_t i = 0; i < len; i++) {                               \
                x[i] = (double)data[(r0 + i) * nc + j];                      \
                w[i] = wt[pos];                                              \
                pos += step;                                                 \
                pos -= pos >= nw ? nw : 0;                                   \
            }                                                                \
            wcell_block(&m->c[j], x, w, len);                                \
        }                                                                    \
    }                                                                        \
}
WEIGHTED_KERNEL(i8, int8_t)
WEIGHTED_KERNEL(u8, uint8_t)
WEIGHTED_KERNEL(i16, int16_t)
WEIGHTED_KERNEL(u16, uint16_t)
WEIGHTED_KERNEL(i32, int32_t)
WEIGHTED_KERNEL(u32, uint32_t)
WEIGHTED_KERNEL(i64, int64_t)
WEIGHTED_KERNEL(u64, uint64_t)
WEIGHTED_KERNEL(f32, float)
WEIGHTED_KERNEL(f64, double)

#define WDISPATCH(SUF, T)                                                    \
    wupd_##SUF(m, blk);                                                      \
    return 0

static int weighted_update(void *state, const struct h5b_block *blk,
                           struct h5b_error *err)
{
    struct weighted *m = state;
    switch (m->cfg->type) {
    H5B_TYPE_CASES(WDISPATCH);
    }
    return h5b_fail(err, "unsupported element type %d", (int)m->cfg->type);
}

/* x := x (+) y, y's values following x's; y's mean moves to x's shift as
 * (ys - xs) + (ym - xm), as stats_merge does. */
static void wcell_merge(struct wcell *x, const struct wcell *y)
{
    double wy = y->w + y->wc;
    if (!(wy > 0)) {
        stats_neumaier(&x->s, &x->sc, y->s);
        x->sc += y->sc;
        return;
    }
    if (!(x->w + x->wc > 0))
        x->shift = y->shift;
    double mb = (y->shift - x->shift) + y->mean;
    wcell_combine(x, wy, mb, y->m2, y->s);
    x->sc += y->sc;
}

static int weighted_merge(void *acc, const void *later, struct h5b_error *err)
{
    struct weighted *a = acc;
    const struct weighted *b = later;
    if (a->cfg->ncell != b->cfg->ncell)
        return h5b_fail(err, "cell counts differ (%llu vs %llu)",
                        (unsigned long long)a->cfg->ncell,
                        (unsigned long long)b->cfg->ncell);
    for (uint64_t j = 0; j < a->cfg->ncell; j++)
        wcell_merge(&a->c[j], &b->c[j]);
    return 0;
}

static size_t weighted_encoded_size(const void *state)
{
    const struct weighted *m = state;
    return 8 + (size_t)m->cfg->ncell * WCELL_BYTES;
}

static int weighted_encode(const void *state, void *buf, size_t len,
                           struct h5b_error *err)
{
    const struct weighted *m = state;
    unsigned char *p = buf;
    if (len != weighted_encoded_size(m))
        return h5b_fail(err, "encode buffer of %zu bytes, need %zu", len,
                        weighted_encoded_size(m));
    h5b_put_u64(p, m->cfg->ncell);
    p += 8;
    for (uint64_t j = 0; j < m->cfg->ncell; j++, p += WCELL_BYTES) {
        const struct wcell *c = &m->c[j];
        const double v[7] = {c->w, c->wc, c->shift, c->mean, c->m2, c->s,
                             c->sc};
        for (int k = 0; k < 7; k++)
            h5b_put_f64(p + 8 * k, v[k]);
    }
    return 0;
}

static int weighted_decode(void *state, const void *buf, size_t len,
                           struct h5b_error *err)
{
    struct weighted *m = state;
    const unsigned char *p = buf;
    if (len != weighted_encoded_size(m) || h5b_get_u64(p) != m->cfg->ncell)
        return h5b_fail(err, "weighted state of %zu bytes does not hold "
                        "%llu cells", len,
                        (unsigned long long)m->cfg->ncell);
    p += 8;
    for (uint64_t j = 0; j < m->cfg->ncell; j++, p += WCELL_BYTES) {
        struct wcell *c = &m->c[j];
        double v[7];
        for (int k = 0; k < 7; k++)
            v[k] = h5b_get_f64(p + 8 * k);
        if (!(v[0] + v[1] >= 0))
            return h5b_fail(err, "weighted state of cell %llu has a "
                            "negative or NaN weight sum",
                            (unsigned long long)j);
        *c = (struct wcell){v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
    }
    return 0;
}

static double f_wsum(const struct wcell *c)
{
    return c->w + c->wc;
}

static double f_sum(const struct wcell *c)
{
    return c->s + c->sc;
}

static double f_mean(const struct wcell *c)
{
    return f_wsum(c) > 0 ? c->shift + c->mean : NAN;
}

static double f_var(const struct wcell *c)
{
    return f_wsum(c) > 0 ? c->m2 / f_wsum(c) : NAN;
}

static double f_std(const struct wcell *c)
{
    return sqrt(f_var(c));
}

/* Write one float64 result computed per cell by f. */
static int put(const struct weighted *m, const struct h5b_sink *sink,
               const char *name, double (*f)(const struct wcell *),
               struct h5b_error *err)
{
    double *v = malloc((m->cfg->ncell ? m->cfg->ncell : 1) * sizeof *v);
    if (!v)
        return h5b_fail(err, "out of memory writing %s", name);
    for (uint64_t j = 0; j < m->cfg->ncell; j++)
        v[j] = f(&m->c[j]);
    int rc = sink->put_cells(sink->ctx, name, H5B_FLOAT64, 0, NULL, v, err);
    free(v);
    return rc;
}

static int weighted_finalize(const void *state, const struct h5b_sink *sink,
                             struct h5b_error *err)
{
    const struct weighted *m = state;
    int rc = put(m, sink, "weight_sum", f_wsum, err);
    if (rc == 0 && (m->want & WW_SUM))
        rc = put(m, sink, "sum", f_sum, err);
    if (rc == 0 && (m->want & WW_MEAN))
        rc = put(m, sink, "mean", f_mean, err);
    if (rc == 0 && (m->want & WW_VAR))
        rc = put(m, sink, "var", f_var, err);
    if (rc == 0 && (m->want & WW_STD))
        rc = put(m, sink, "std", f_std, err);
    return rc;
}

const h5b_operator op_weighted = {
    .abi = H5B_OPERATOR_ABI,
    .name = "weighted",
    .provides = provides,
    .create = weighted_create,
    .destroy = weighted_destroy,
    .update = weighted_update,
    .merge = weighted_merge,
    .encoded_size = weighted_encoded_size,
    .encode = weighted_encode,
    .decode = weighted_decode,
    .finalize = weighted_finalize,
};

uint64_t op_weighted_bytes(uint64_t ncell)
{
    return ncell > UINT64_MAX / sizeof(struct wcell)
           ? UINT64_MAX : ncell * sizeof(struct wcell);
}
