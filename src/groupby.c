/* groupby.c -- per-key count, sum, mean, var, std, min and max of columns.
 *
 * A partial is a dense array of distinct keys and, key-major, one cell per
 * (key, column).  While records are folded, an open-addressing hash table
 * (linear probing, splitmix64 mix, load <= 0.7, doubling) maps a key to
 * its row; records are handled in blocks: first every key of the block is
 * looked up, then each column's values are folded by a kernel generated
 * per element type, with Welford's update relative to the cell's shift.
 * At the end of gb_update() the rows are sorted by key: the hash slots
 * are packed into the array to radix-sort, the rows follow the sorted
 * slots cycle by cycle in place, and the table is freed: a worker's
 * partial is always sorted.
 *
 * Merging on the master is by hash too: the accumulator keeps its table
 * between merges and appends keys it has not seen, so a merge costs
 * O(keys of `later`) however large the accumulator; a merge-join would
 * move the whole accumulator for every partition that brings a new key.
 * Each key's cells are still merged strictly in partition order (Chan et
 * al. with shifts, as op_moments), so the cells do not depend on the
 * table; the row order does not reach bytes or results either, since
 * encode and finalize visit keys in sorted order (`sorted` flags when the
 * rows already are).
 *
 * On the wire a cell carries only the fields the requested outputs need;
 * the others decode to their empty values and are never written out.  In
 * memory too: a cell holds the counts and the shifted moments, and the
 * Neumaier sum and min/max are parallel arrays (`sums`, `mm`) that exist
 * only when an output reads them and move with the rows like `xs` (the
 * merge is bound by memory: count mean std touch 56 bytes a cell, not 72).
 *
 * With exact sums ([reduce] exact = yes) every cell also has an exact
 * accumulator of its values and squares (exactsum.h) in `xs`, a parallel
 * array of the same shape that moves with the rows; sum, mean, var and
 * std then come from it.  Accumulators are normalised at the end of
 * gb_update (only those it left pending: a list of them is kept while it
 * runs, not a scan of every key) and by merge and decode.
 *
 * With histogram or quantiles, every cell also has its per-key stores
 * (gbdist.h) in `ds`, nst per cell, a third parallel array that moves with
 * the rows like `xs`; the stores are in canonical form after every add
 * and merge, so their bytes, like the cells', depend only on the records.
 * Quantiles need min and max, so those travel whenever quantiles are
 * asked for.
 */
#include "groupby.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "exactsum.h"
#include "gbdist.h"
#include "hugepage.h"
#include "stats.h"
#include "varint.h"

/* Records whose keys are looked up before their values are folded. */
#define BLOCK 1024
#define MIN_SLOTS 16
/* Keys gb_update sizes its table for before it starts (at most). */
#define HASH_PRESIZE ((uint64_t)1 << 16)
#define MAGIC "h5bgrpb1"
#define MAGIC_BYTES "h5bgrpk1"  /* keys as bytes (key parts) */
#define MAGIC_LEN 8

/* mean is relative to shift (the first value, if finite): the true mean
 * is shift + mean.  Empty: all zero. */
struct cell {
    uint64_t n, nan;
    double shift, mean, m2;
};

/* The rest of a cell, in parallel arrays kept only when an output reads
 * them: the Neumaier sum (F_SUM: sum, and mean when it is not finite) in
 * `sums`, min and max (F_MIN, F_MAX) in `mm`.  So count, mean and std
 * touch 56 bytes per cell, not 72.  Empty: sums zero, min = +inf, max =
 * -inf. */
struct csum {
    double sum, comp;
};

struct cmm {
    double min, max;
};

/* A cell's extension: either part NULL where the partial has none. */
struct cext {
    struct csum *s;
    struct cmm *m;
};

/* A hash slot: idx1 is the row + 1, 0 when the slot is free. */
struct slot {
    int64_t key;
    uint64_t idx1;
};

enum want {
    W_SUM = 1, W_MEAN = 2, W_VAR = 4, W_STD = 8, W_MIN = 16, W_MAX = 32,
    W_HIST = 64, W_QUANT = 128      /* per-key distributions (gbdist.h) */
};
#define W_DIST (W_HIST | W_QUANT)
/* Outputs: the six one-number outputs, then the two distributions. */
#define N_SCALAR 6
#define N_OUTPUTS 8

/* Cell fields on the wire, by the outputs that read them. */
enum field {
    F_MOMENT = 1,   /* shift, mean: mean, var, std */
    F_M2 = 2,       /* var, std */
    F_SUM = 4,      /* sum, comp: sum, and mean when it is not finite */
    F_MIN = 8,
    F_MAX = 16,
    F_EXACT = 32,   /* the exact accumulator: sum, mean, var, std */
    F_HIST = 64,    /* per-key histogram stores */
    F_QUANT = 128   /* per-key sketch stores (with min and max) */
};
/* Fields kept in `mm` (F_SUM's are in `sums`). */
#define F_MM (F_MIN | F_MAX)

struct gb_partial {
    size_t ncol;            /* cells per row: nval, or 1 to count rows */
    size_t nval;            /* value columns (0: counts alone) */
    h5b_type type[GB_MAX_COLUMNS];
    unsigned want, fields;
    int ddof;
    uint64_t max_keys, mem_keys;
    int broken;             /* a failed update or merge: only destroy */
    int sorted;             /* keys[] ascending */
    uint64_t nkeys, cap;    /* rows held and allocated */
    int64_t *keys;          /* the keys; with kw, their hashes */
    size_t kw;              /* bytes of a key (key parts), or 0 */
    unsigned char *kb;      /* with kw: nkeys * kw key bytes */
    size_t nparts;
    struct gb_keypart part[GB_MAX_PARTS];
    struct cell *cells;     /* nkeys * ncol, key-major */
    struct csum *sums;      /* the same shape with F_SUM, else NULL */
    struct cmm *mm;         /* the same shape with F_MM, else NULL */
    struct exactsum *xs;    /* the same shape, with exact sums; or NULL */
    struct gbd_config *dist;    /* ncol, with histogram or quantiles */
    size_t nst;                 /* stores per cell (gbd_nstores) or 0 */
    struct gbd_store *ds;       /* nkeys * ncol * nst, key-major */
    struct slot *slot;      /* hash of keys -> row, or NULL */
    uint64_t nslot;         /* power of two */
};

static const char *const out_names[] = {"sum", "mean", "var", "std",
                                        "min", "max", "histogram",
                                        "quantiles"};

static int is_float(h5b_type t)
{
    return t == H5B_FLOAT32 || t == H5B_FLOAT64;
}

/* ---- configuration --------------------------------------------------- */

/* The want bits of outputs; H5B_EINPUT and a message for a name that
 * group-by cannot compute. */
static int parse_outputs(const char *const *outputs, unsigned *want,
                         struct h5b_error *err)
{
    *want = 0;
    for (const char *const *o = outputs; o && *o; o++) {
        unsigned i = 0;
        while (i < N_OUTPUTS && strcmp(*o, out_names[i]) != 0)
            i++;
        if (i < N_OUTPUTS)
            *want |= 1u << i;
        else if (strcmp(*o, "count") != 0)
            return err_set(err, H5B_EINPUT, "group_by cannot compute '%s' "
                           "(it computes count sum mean var std min max "
                           "histogram quantiles)",
                           *o);
    }
    return 0;
}

static unsigned fields_of(unsigned want)
{
    unsigned f = 0;
    if (want & (W_MEAN | W_VAR | W_STD))
        f |= F_MOMENT;
    if (want & (W_VAR | W_STD))
        f |= F_M2;
    if (want & (W_SUM | W_MEAN))
        f |= F_SUM;
    if (want & W_MIN)
        f |= F_MIN;
    if (want & (W_MAX | W_QUANT))
        f |= F_MAX;
    if (want & W_QUANT)
        f |= F_MIN | F_QUANT;
    if (want & W_HIST)
        f |= F_HIST;
    return f;
}

int gb_check(const struct gb_config *c, struct h5b_error *err)
{
    unsigned want;
    if (c->elems != 1)
        return err_set(err, H5B_EINPUT, "group_by needs one element per "
                       "record (1-D data), but records here have %llu "
                       "elements", (unsigned long long)c->elems);
    if (c->ncol > GB_MAX_COLUMNS)
        return err_set(err, H5B_EINPUT, "group_by needs at most %d value "
                       "columns, not %zu", GB_MAX_COLUMNS, c->ncol);
    for (size_t j = 0; j < c->ncol; j++)
        if (!h5b_type_size(c->type[j]))
            return err_set(err, H5B_ERUN, "group_by: column %zu has "
                           "invalid type %d", j, (int)c->type[j]);
    if (c->ddof != 0 && c->ddof != 1)
        return err_set(err, H5B_EINPUT, "group_by: ddof %d is not 0 or 1",
                       c->ddof);
    if (c->nparts > GB_MAX_PARTS)
        return err_set(err, H5B_EINPUT, "group_by has %zu parts; at most %d "
                       "are allowed", c->nparts, GB_MAX_PARTS);
    if (c->nparts && gb_key_bytes(c) > GB_MAX_KEY_BYTES)
        return err_set(err, H5B_EINPUT, "group_by keys of %zu bytes; at most "
                       "%d are allowed", gb_key_bytes(c), GB_MAX_KEY_BYTES);
    int rc = parse_outputs(c->outputs, &want, err);
    unsigned w = 0;
    while (w < N_OUTPUTS && !(want & (1u << w)))
        w++;
    if (rc == 0 && c->ncol == 0 && want)
        rc = err_set(err, H5B_EINPUT, "group_by: no value column is left "
                     "beside the key, so only count (rows per key) can be "
                     "computed, not '%s'", out_names[w]);
    for (size_t j = 0; rc == 0 && (want & W_DIST) && j < c->ncol; j++)
        if (!c->dist || !c->dist[j].hist != !(want & W_HIST) ||
            !c->dist[j].quant != !(want & W_QUANT))
            rc = err_set(err, H5B_ERUN, "group_by: column %zu has no "
                         "histogram or quantile parameters", j);
    return rc;
}

int gb_create(const struct gb_config *c, struct gb_partial **p,
              struct h5b_error *err)
{
    *p = NULL;
    int rc = gb_check(c, err);
    if (rc < 0)
        return rc;
    struct gb_partial *g = calloc(1, sizeof *g);
    if (!g)
        return err_set(err, H5B_ERUN, "out of memory for a group-by "
                       "partial");
    g->nval = c->ncol;
    g->ncol = c->ncol ? c->ncol : 1;
    if (c->ncol)    /* counts alone may give no type array */
        memcpy(g->type, c->type, c->ncol * sizeof *c->type);
    parse_outputs(c->outputs, &g->want, NULL);
    g->fields = fields_of(g->want);
    if (c->exact && (g->want & (W_SUM | W_MEAN | W_VAR | W_STD)))
        g->fields |= F_EXACT;
    g->ddof = c->ddof;
    g->kw = gb_key_bytes(c);
    g->nparts = c->nparts;
    if (c->nparts)
        memcpy(g->part, c->parts, c->nparts * sizeof *c->parts);
    g->max_keys = c->max_keys;
    g->mem_keys = c->mem_keys;
    g->sorted = 1;
    if (g->want & W_DIST) {
        g->dist = malloc(c->ncol * sizeof *g->dist);
        if (!g->dist) {
            free(g);
            return err_set(err, H5B_ERUN, "out of memory for a group-by "
                           "partial");
        }
        memcpy(g->dist, c->dist, c->ncol * sizeof *g->dist);
        g->nst = gbd_nstores(&c->dist[0]);
    }
    *p = g;
    return 0;
}

/* Free the stores of the first nrows rows of ds (p's shape). */
static void ds_free(const struct gb_partial *p, struct gbd_store *ds,
                    uint64_t nrows)
{
    for (uint64_t i = 0; ds && i < nrows * p->ncol; i++)
        gbd_clear(&p->dist[i % p->ncol], ds + i * p->nst);
    free(ds);
}

void gb_destroy(struct gb_partial *p)
{
    if (!p)
        return;
    ds_free(p, p->ds, p->nkeys);
    free(p->dist);
    free(p->keys);
    free(p->kb);
    free(p->cells);
    free(p->sums);
    free(p->mm);
    free(p->xs);
    free(p->slot);
    free(p);
}

uint64_t gb_nkeys(const struct gb_partial *p)
{
    return p->nkeys;
}

/* ---- cells ----------------------------------------------------------- */

static struct cell *row(const struct gb_partial *p, uint64_t i)
{
    return p->cells + i * p->ncol;
}

/* The extension of row i's cell in column j. */
static struct cext ext_at(const struct gb_partial *p, uint64_t i, size_t j)
{
    uint64_t k = i * p->ncol + j;
    struct cext e = {p->sums ? p->sums + k : NULL, p->mm ? p->mm + k : NULL};
    return e;
}

/* Empty c and its extension e. */
static void cell_clear(struct cell *c, struct cext e)
{
    memset(c, 0, sizeof *c);
    if (e.s)
        memset(e.s, 0, sizeof *e.s);
    if (e.m) {
        e.m->min = INFINITY;
        e.m->max = -INFINITY;
    }
}

/* Fold one non-NaN value: Welford relative to the shift, which is the
 * key's first value if that is finite (else 0); e's parts, where set,
 * get the value's sum, min and max. */
static inline void cell_add(struct cell *c, struct cext e, double x)
{
    if (c->n == 0 && isfinite(x))
        c->shift = x;
    double y = x - c->shift;
    double d = y - c->mean;
    c->n++;
    c->mean += d / (double)c->n;
    c->m2 += d * (y - c->mean);
    if (e.s)
        stats_neumaier(&e.s->sum, &e.s->comp, x);
    if (e.m) {
        e.m->min = x < e.m->min ? x : e.m->min;
        e.m->max = x > e.m->max ? x : e.m->max;
    }
}

/* x := x (+) y, y covering records after x's, with their extensions xe
 * and ye (of one partial's shape).  y's mean is moved to x's shift
 * exactly as op_moments' merge_cell does: (ys - xs) + (ym - xm). */
static void cell_merge(struct cell *x, struct cext xe, const struct cell *y,
                       struct cext ye)
{
    struct stats_mom a = {x->n, x->shift, x->mean, x->m2};
    struct stats_mom b = {y->n, y->shift, y->mean, y->m2};
    stats_merge(&a, &b);
    x->n = a.n;
    x->shift = a.shift;
    x->mean = a.mean;
    x->m2 = a.m2;
    x->nan += y->nan;
    if (xe.s) {
        stats_neumaier(&xe.s->sum, &xe.s->comp, ye.s->sum);
        xe.s->comp += ye.s->comp;
    }
    if (xe.m) {
        xe.m->min = ye.m->min < xe.m->min ? ye.m->min : xe.m->min;
        xe.m->max = ye.m->max > xe.m->max ? ye.m->max : xe.m->max;
    }
}

/* Fold len values of one column into the cells of rows idx[]; `cells`
 * points at the column's cell in row 0, e at its extension there (parts
 * NULL where there are none).  NaN is counted, not folded. */
#define GB_FOLD(SUF, T)                                                      \
static void fold_##SUF(struct cell *cells, struct cext e, size_t ncol,       \
                       const uint64_t *idx, const T *v, size_t len)          \
{                                                                            \
    for (size_t r = 0; r < len; r++) {                                       \
        uint64_t k = idx[r] * ncol;                                          \
        double x = (double)v[r];                                             \
        struct cext ek = {e.s ? e.s + k : NULL, e.m ? e.m + k : NULL};       \
        if (isnan(x))                                                        \
            cells[k].nan++;                                                  \
        else                                                                 \
            cell_add(cells + k, ek, x);                                      \
    }                                                                        \
}

GB_FOLD(i8, int8_t)
GB_FOLD(u8, uint8_t)
GB_FOLD(i16, int16_t)
GB_FOLD(u16, uint16_t)
GB_FOLD(i32, int32_t)
GB_FOLD(u32, uint32_t)
GB_FOLD(i64, int64_t)
GB_FOLD(u64, uint64_t)
GB_FOLD(f32, float)
GB_FOLD(f64, double)

/* The exact accumulators (indices into xs[]) that an update left with
 * values pending, each listed when its pending count left 0: so the
 * update normalises only those, not every key's. */
struct touched {
    uint64_t *at;
    size_t n, cap;
};

/* Room for len more entries in t. */
static int touched_reserve(struct touched *t, size_t len,
                           struct h5b_error *err)
{
    if (t->n + len <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap * 2 : 4096;
    cap = cap < t->n + len ? t->n + len : cap;
    uint64_t *a = cap <= SIZE_MAX / sizeof *a ? realloc(t->at,
                                                         cap * sizeof *a)
                                              : NULL;
    if (!a)
        return err_set(err, H5B_ERUN, "out of memory for group-by exact "
                       "sums");
    t->at = a;
    t->cap = cap;
    return 0;
}

/* Add len values of one column to the exact accumulators of rows idx;
 * `xs` points at the column's accumulator in row 0, x0 at xs[0].  NaN is
 * skipped (the cells count it); ADD is the exact add for T (XS_TYPES).
 * t has room for len more entries. */
#define GB_EXACT(SUF, T, ADD)                                                \
static void exact_##SUF(struct exactsum *xs, const struct exactsum *x0,      \
                        size_t ncol, const uint64_t *idx, const T *v,        \
                        size_t len, struct touched *t)                       \
{                                                                            \
    for (size_t r = 0; r < len; r++) {                                       \
        struct exactsum *a = xs + idx[r] * ncol;                             \
        if (v[r] != v[r])                                                    \
            continue;                                                        \
        if (!a->pending)                                                     \
            t->at[t->n++] = (uint64_t)(a - x0);                              \
        ADD(a, v[r]);                                                        \
    }                                                                        \
}

XS_TYPES(GB_EXACT)

#define GB_EXACT_CASE(SUF, T)                                                \
    exact_##SUF(x, p->xs, nc, idx, (const T *)v + r0, len, t);               \
    break

static int fold_exact(struct gb_partial *p, size_t j, const void *v,
                      uint64_t r0, const uint64_t *idx, size_t len,
                      struct touched *t, struct h5b_error *err)
{
    struct exactsum *x = p->xs + j;
    size_t nc = p->ncol;
    if (touched_reserve(t, len, err) < 0)
        return H5B_ERUN;
    switch (p->type[j]) {
    H5B_TYPE_CASES(GB_EXACT_CASE);
    }
    return 0;
}

/* The stores of row i, column j (p->ds set). */
static struct gbd_store *ds_at(const struct gb_partial *p, uint64_t i,
                               size_t j)
{
    return p->ds + (i * p->ncol + j) * p->nst;
}

/* Count len values of column j into the stores of rows idx; NaN is
 * skipped (the cells count it). */
#define GB_DIST(SUF, T)                                                      \
static int dist_##SUF(struct gb_partial *p, size_t j, const uint64_t *idx,  \
                      const T *v, size_t len, struct h5b_error *err)         \
{                                                                            \
    int rc = 0;                                                              \
    for (size_t r = 0; rc == 0 && r < len; r++) {                            \
        double x = (double)v[r];                                             \
        if (!isnan(x))                                                       \
            rc = gbd_add(&p->dist[j], ds_at(p, idx[r], j), x, err);          \
    }                                                                        \
    return rc;                                                               \
}

GB_DIST(i8, int8_t)
GB_DIST(u8, uint8_t)
GB_DIST(i16, int16_t)
GB_DIST(u16, uint16_t)
GB_DIST(i32, int32_t)
GB_DIST(u32, uint32_t)
GB_DIST(i64, int64_t)
GB_DIST(u64, uint64_t)
GB_DIST(f32, float)
GB_DIST(f64, double)

#define GB_DIST_CASE(SUF, T)                                                     return dist_##SUF(p, j, idx, (const T *)v + r0, len, err)

/* Fold records r0 .. r0 + len - 1 of column j (all of v) into rows idx;
 * t collects the exact accumulators left pending. */
static int fold_dist(struct gb_partial *p, size_t j, const void *v,
                     uint64_t r0, const uint64_t *idx, size_t len,
                     struct h5b_error *err)
{
    switch (p->type[j]) {
    H5B_TYPE_CASES(GB_DIST_CASE);
    }
    return err_set(err, H5B_ERUN, "group_by: bad type");
}

static int fold(struct gb_partial *p, size_t j, const void *v, uint64_t r0,
                const uint64_t *idx, size_t len, struct touched *t,
                struct h5b_error *err)
{
    if (p->xs && fold_exact(p, j, v, r0, idx, len, t, err) < 0)
        return H5B_ERUN;
    if (p->ds) {
        int rc = fold_dist(p, j, v, r0, idx, len, err);
        if (rc < 0)
            return rc;
    }
    struct cell *c = p->cells + j;
    struct cext e = ext_at(p, 0, j);
    size_t nc = p->ncol;
    switch (p->type[j]) {
    case H5B_INT8: fold_i8(c, e, nc, idx, (const int8_t *)v + r0, len); break;
    case H5B_UINT8:
        fold_u8(c, e, nc, idx, (const uint8_t *)v + r0, len);
        break;
    case H5B_INT16:
        fold_i16(c, e, nc, idx, (const int16_t *)v + r0, len);
        break;
    case H5B_UINT16:
        fold_u16(c, e, nc, idx, (const uint16_t *)v + r0, len);
        break;
    case H5B_INT32:
        fold_i32(c, e, nc, idx, (const int32_t *)v + r0, len);
        break;
    case H5B_UINT32:
        fold_u32(c, e, nc, idx, (const uint32_t *)v + r0, len);
        break;
    case H5B_INT64:
        fold_i64(c, e, nc, idx, (const int64_t *)v + r0, len);
        break;
    case H5B_UINT64:
        fold_u64(c, e, nc, idx, (const uint64_t *)v + r0, len);
        break;
    case H5B_FLOAT32:
        fold_f32(c, e, nc, idx, (const float *)v + r0, len);
        break;
    case H5B_FLOAT64:
        fold_f64(c, e, nc, idx, (const double *)v + r0, len);
        break;
    }
    return 0;
}

/* ---- rows and hash table --------------------------------------------- */

/* splitmix64's finalizer: every key bit reaches every slot bit. */
static uint64_t mix(int64_t key)
{
    uint64_t x = (uint64_t)key;
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* The hash of kw key bytes at b (the `key` of a byte key). */
static int64_t bytes_hash(const unsigned char *b, size_t kw)
{
    uint64_t h = kw;
    for (size_t i = 0; i < kw; i += 8) {
        uint64_t w = 0;
        memcpy(&w, b + i, kw - i < 8 ? kw - i : 8);
        h = mix((int64_t)(h ^ w)) + i;
    }
    return (int64_t)h;
}

static const unsigned char *key_at(const struct gb_partial *p, uint64_t i)
{
    return p->kb + i * p->kw;
}

/* Whether row i holds the key whose bytes are kb (always, for int64
 * keys: their slot key is the key itself). */
static int same_key(const struct gb_partial *p, uint64_t i,
                    const unsigned char *kb)
{
    return !p->kw || memcmp(key_at(p, i), kb, p->kw) == 0;
}

/* Whether key (bytes kb) sorts before that of row i. */
static int key_before(const struct gb_partial *p, int64_t key,
                      const unsigned char *kb, uint64_t i)
{
    return p->kw ? memcmp(kb, key_at(p, i), p->kw) < 0 : key < p->keys[i];
}

/* Put key (known absent) with row idx1 - 1 into a table of nslot. */
static void slot_put(struct slot *s, uint64_t nslot, int64_t key,
                     uint64_t idx1)
{
    uint64_t h = mix(key) & (nslot - 1);
    while (s[h].idx1)
        h = (h + 1) & (nslot - 1);
    s[h].key = key;
    s[h].idx1 = idx1;
}

/* Replace p's table by one of nslot slots holding every row. */
static int hash_resize(struct gb_partial *p, uint64_t nslot,
                       struct h5b_error *err)
{
    struct slot *s = nslot <= SIZE_MAX / sizeof *s ?
                     hugepage_zalloc((size_t)nslot * sizeof *s) : NULL;
    if (!s)
        return err_set(err, H5B_ERUN, "out of memory for a group-by hash "
                       "table of %llu slots", (unsigned long long)nslot);
    for (uint64_t i = 0; i < p->nkeys; i++)
        slot_put(s, nslot, p->keys[i], i + 1);
    free(p->slot);
    p->slot = s;
    p->nslot = nslot;
    return 0;
}

/* Make sure the table can take `more` keys at load <= 0.7. */
static int hash_room(struct gb_partial *p, uint64_t more,
                     struct h5b_error *err)
{
    uint64_t n = p->slot ? p->nslot : MIN_SLOTS;
    while ((p->nkeys + more) * 10 > n * 7)
        n *= 2;
    return p->slot && n == p->nslot ? 0 : hash_resize(p, n, err);
}

/* Make sure the table can take one more key at load <= 0.7. */
static int hash_reserve(struct gb_partial *p, struct h5b_error *err)
{
    return hash_room(p, 1, err);
}

/* Make the row arrays cap rows long (cap >= p->nkeys).  On failure p is
 * intact, some arrays perhaps already longer. */
static int rows_resize(struct gb_partial *p, uint64_t cap,
                       struct h5b_error *err)
{
    if (cap > SIZE_MAX / sizeof(struct cell) / p->ncol)
        goto fail;
    int64_t *k = hugepage_realloc(p->keys, (size_t)p->cap * sizeof *k,
                                  (size_t)cap * sizeof *k);
    if (!k)
        goto fail;
    p->keys = k;
    unsigned char *kb = p->kw ? hugepage_realloc(p->kb, (size_t)p->cap * p->kw,
                                                 (size_t)cap * p->kw) : NULL;
    if (p->kw && !kb)
        goto fail;
    p->kb = p->kw ? kb : p->kb;
    struct cell *c = hugepage_realloc(p->cells,
                                      (size_t)(p->cap * p->ncol) * sizeof *c,
                                      (size_t)(cap * p->ncol) * sizeof *c);
    if (!c)
        goto fail;
    p->cells = c;
    size_t had = (size_t)(p->cap * p->ncol), need = (size_t)(cap * p->ncol);
    if (p->fields & F_SUM) {
        struct csum *s = hugepage_realloc(p->sums, had * sizeof *s,
                                          need * sizeof *s);
        if (!s)
            goto fail;
        p->sums = s;
    }
    if (p->fields & F_MM) {
        struct cmm *m = hugepage_realloc(p->mm, had * sizeof *m,
                                         need * sizeof *m);
        if (!m)
            goto fail;
        p->mm = m;
    }
    if (p->fields & F_EXACT) {
        if (cap > SIZE_MAX / sizeof(struct exactsum) / p->ncol)
            goto fail;
        struct exactsum *x = realloc(p->xs, (size_t)(cap * p->ncol) *
                                            sizeof *x);
        if (!x)
            goto fail;
        p->xs = x;
    }
    if (p->nst) {
        size_t per = p->ncol * p->nst;
        if (cap > SIZE_MAX / sizeof(struct gbd_store) / per)
            goto fail;
        struct gbd_store *d = realloc(p->ds, (size_t)cap * per * sizeof *d);
        if (!d)
            goto fail;
        p->ds = d;
    }
    p->cap = cap;
    return 0;
fail:
    return err_set(err, H5B_ERUN, "out of memory for %llu group-by keys",
                   (unsigned long long)cap);
}

/* Make room for one more row. */
static int rows_reserve(struct gb_partial *p, struct h5b_error *err)
{
    if (p->nkeys < p->cap)
        return 0;
    return rows_resize(p, p->cap < 64 ? 64 : p->cap + p->cap / 2, err);
}

/* Bytes of one row: its key, key bytes and cells with what they carry. */
static uint64_t row_bytes(const struct gb_partial *p)
{
    uint64_t cell = sizeof(struct cell) + p->nst * sizeof(struct gbd_store) +
                    (p->fields & F_SUM ? sizeof(struct csum) : 0) +
                    (p->fields & F_MM ? sizeof(struct cmm) : 0) +
                    (p->fields & F_EXACT ? sizeof(struct exactsum) : 0);
    return sizeof(int64_t) + p->kw + p->ncol * cell;
}

void gb_reserve(struct gb_partial *p, uint64_t nkeys)
{
    struct h5b_error ignored;
    uint64_t most = GB_RESERVE_MAX / row_bytes(p);
    if (p->max_keys && nkeys > p->max_keys)
        nkeys = p->max_keys;
    if (p->mem_keys && nkeys > p->mem_keys)
        nkeys = p->mem_keys;
    nkeys = nkeys < most ? nkeys : most;
    if (!p->broken && nkeys > p->cap)
        rows_resize(p, nkeys, &ignored);
}

/* The row of key in p, adding an empty one if the key is new; with key
 * bytes, key is their hash and kb the bytes. */
static int find_or_add(struct gb_partial *p, int64_t key,
                       const unsigned char *kb, uint64_t *idx,
                       struct h5b_error *err)
{
    if (hash_reserve(p, err) < 0)
        return H5B_ERUN;
    uint64_t mask = p->nslot - 1, h = mix(key) & mask;
    for (; p->slot[h].idx1; h = (h + 1) & mask) {
        if (p->slot[h].key == key && same_key(p, p->slot[h].idx1 - 1, kb)) {
            *idx = p->slot[h].idx1 - 1;
            return 0;
        }
    }
    if (p->max_keys && p->nkeys == p->max_keys)
        return err_set(err, H5B_EINPUT, "group_by: more than %llu distinct "
                       "keys ([reduce] max_keys)",
                       (unsigned long long)p->max_keys);
    if (p->mem_keys && p->nkeys == p->mem_keys)
        return err_set(err, H5B_EINPUT, "group_by: more than %llu distinct "
                       "keys do not fit the memory a rank may use "
                       "(--dry-run shows the plan); raise [run] "
                       "memory_limit or give the job more memory",
                       (unsigned long long)p->mem_keys);
    if (rows_reserve(p, err) < 0)
        return H5B_ERUN;
    *idx = p->nkeys;
    if (p->nkeys && key_before(p, key, kb, p->nkeys - 1))
        p->sorted = 0;
    p->keys[p->nkeys] = key;
    if (p->kw)
        memcpy(p->kb + p->nkeys * p->kw, kb, p->kw);
    for (size_t j = 0; j < p->ncol; j++)
        cell_clear(row(p, p->nkeys) + j, ext_at(p, p->nkeys, j));
    for (size_t j = 0; p->xs && j < p->ncol; j++)
        xs_clear(p->xs + p->nkeys * p->ncol + j);
    if (p->nst)
        memset(ds_at(p, p->nkeys, 0), 0,
               p->ncol * p->nst * sizeof(struct gbd_store));
    p->slot[h].key = key;
    p->slot[h].idx1 = ++p->nkeys;
    return 0;
}

/* A key as an unsigned number in the same order. */
static uint64_t key_bits(int64_t k)
{
    return (uint64_t)k ^ (UINT64_C(1) << 63);
}

/* Turn the 256 counts of a radix pass into the first index of each. */
static void prefix_sums(uint64_t *c)
{
    uint64_t sum = 0;
    for (unsigned d = 0; d < 256; d++) {
        uint64_t t = c[d];
        c[d] = sum;
        sum += t;
    }
}

static void swap_slots(struct slot **s, struct slot **tmp)
{
    struct slot *t = *s;
    *s = *tmp;
    *tmp = t;
}

/* Sort the n slots at *s by key: LSD radix sort a byte at a time,
 * skipping bytes that every key shares, moving between *s and *tmp (room
 * for n each).  On return *s holds the sorted slots, *tmp the other
 * array. */
static void slots_sort(struct slot **s, struct slot **tmp, uint64_t n)
{
    uint64_t count[8][256];
    memset(count, 0, sizeof count);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t u = key_bits((*s)[i].key);
        for (unsigned b = 0; b < 8; b++)
            count[b][(u >> (8 * b)) & 0xff]++;
    }
    for (unsigned b = 0; n && b < 8; b++) {
        uint64_t *c = count[b];
        if (c[(key_bits((*s)[0].key) >> (8 * b)) & 0xff] == n)
            continue;
        prefix_sums(c);
        for (uint64_t i = 0; i < n; i++) {
            struct slot x = (*s)[i];
            (*tmp)[c[(key_bits(x.key) >> (8 * b)) & 0xff]++] = x;
        }
        swap_slots(s, tmp);
    }
}

/* Sort the n slots at *s by their rows' key bytes: LSD radix sort from
 * the last byte to the first, skipping bytes that every key shares, as
 * slots_sort. */
static void slots_sort_bytes(const struct gb_partial *p, struct slot **s,
                             struct slot **tmp, uint64_t n)
{
    for (size_t b = p->kw; n && b-- > 0;) {
        uint64_t c[256] = {0};
        for (uint64_t i = 0; i < n; i++)
            c[key_at(p, (*s)[i].idx1 - 1)[b]]++;
        if (c[key_at(p, (*s)[0].idx1 - 1)[b]] == n)
            continue;
        prefix_sums(c);
        for (uint64_t i = 0; i < n; i++) {
            struct slot x = (*s)[i];
            (*tmp)[c[key_at(p, x.idx1 - 1)[b]]++] = x;
        }
        swap_slots(s, tmp);
    }
}

/* Sort n slots of p's rows by key (see slots_sort). */
static void sort_slots(const struct gb_partial *p, struct slot **s,
                       struct slot **tmp, uint64_t n)
{
    if (p->kw)
        slots_sort_bytes(p, s, tmp, n);
    else
        slots_sort(s, tmp, n);
}

/* Reorder p's key bytes as the sorted slots s say (row i gets the key of
 * row s[i].idx1 - 1). */
static int order_key_bytes(struct gb_partial *p, const struct slot *s,
                           struct h5b_error *err)
{
    if (!p->kw || !p->nkeys)
        return 0;
    unsigned char *kb = malloc((size_t)p->nkeys * p->kw);
    if (!kb)
        return err_set(err, H5B_ERUN, "out of memory sorting group-by keys");
    for (uint64_t i = 0; i < p->nkeys; i++)
        memcpy(kb + i * p->kw, key_at(p, s[i].idx1 - 1), p->kw);
    free(p->kb);
    p->kb = kb;
    return 0;
}

/* Move the rows of p so that row i is the one at s[i].idx1 - 1, following
 * each cycle of the permutation once; s ends as the identity. */
static int permute_rows(struct gb_partial *p, struct slot *s,
                        struct h5b_error *err)
{
    size_t cb = p->ncol * sizeof(struct cell);
    size_t sb = p->sums ? p->ncol * sizeof(struct csum) : 0;
    size_t mb = p->mm ? p->ncol * sizeof(struct cmm) : 0;
    size_t xb = p->xs ? p->ncol * sizeof(struct exactsum) : 0;
    size_t db = p->ncol * p->nst * sizeof(struct gbd_store);
    unsigned char *tmp = malloc(cb + sb + mb + xb + db), *te = tmp + cb;
    unsigned char *sm = (unsigned char *)p->sums, *mm = (unsigned char *)p->mm;
    unsigned char *x = (unsigned char *)p->xs, *d = (unsigned char *)p->ds;
    if (!tmp)
        return err_set(err, H5B_ERUN, "out of memory sorting group-by keys");
    for (uint64_t i = 0; i < p->nkeys; i++) {
        uint64_t j = i, k = s[i].idx1 - 1;
        if (k == i)
            continue;
        memcpy(tmp, row(p, i), cb);
        if (sb)
            memcpy(te, sm + i * sb, sb);
        if (mb)
            memcpy(te + sb, mm + i * mb, mb);
        if (xb)
            memcpy(te + sb + mb, x + i * xb, xb);
        if (db)
            memcpy(te + sb + mb + xb, d + i * db, db);
        while (k != i) {
            memcpy(row(p, j), row(p, k), cb);
            if (sb)
                memcpy(sm + j * sb, sm + k * sb, sb);
            if (mb)
                memcpy(mm + j * mb, mm + k * mb, mb);
            if (xb)
                memcpy(x + j * xb, x + k * xb, xb);
            if (db)
                memcpy(d + j * db, d + k * db, db);
            s[j].idx1 = j + 1;
            j = k;
            k = s[j].idx1 - 1;
        }
        memcpy(row(p, j), tmp, cb);
        if (sb)
            memcpy(sm + j * sb, te, sb);
        if (mb)
            memcpy(mm + j * mb, te + sb, mb);
        if (xb)
            memcpy(x + j * xb, te + sb + mb, xb);
        if (db)
            memcpy(d + j * db, te + sb + mb + xb, db);
        s[j].idx1 = j + 1;
    }
    free(tmp);
    return 0;
}

/* Sort p's rows by key, with the table's slots as the array to sort, and
 * free the table (it no longer matches the rows). */
static int sort_rows(struct gb_partial *p, struct h5b_error *err)
{
    if (hash_reserve(p, err) < 0)
        return H5B_ERUN;
    struct slot *s = p->slot, *tmp = malloc((size_t)p->nkeys * sizeof *tmp);
    uint64_t w = 0;
    if (!tmp)
        return err_set(err, H5B_ERUN, "out of memory sorting group-by keys");
    for (uint64_t i = 0; i < p->nslot; i++)
        if (s[i].idx1)
            s[w++] = s[i];
    sort_slots(p, &s, &tmp, w);
    int rc = order_key_bytes(p, s, err);
    if (rc == 0)
        rc = permute_rows(p, s, err);
    for (uint64_t i = 0; rc == 0 && i < p->nkeys; i++)
        p->keys[i] = s[i].key;
    free(s);
    free(tmp);
    p->slot = NULL;
    p->nslot = 0;
    p->sorted = rc == 0;
    return rc;
}

/* a shrunk to bytes; a itself when it is NULL or realloc fails (it stays
 * valid, only longer than needed). */
static void *shrunk(void *a, size_t bytes)
{
    void *b = a && bytes ? realloc(a, bytes) : NULL;
    return b ? b : a;
}

/* Give back the unused tail of the row arrays (a failure keeps them
 * longer, which cap allows: it is at most every array's length). */
static void rows_shrink(struct gb_partial *p)
{
    if (p->cap == p->nkeys || p->nkeys == 0)
        return;
    size_t rows = (size_t)p->nkeys, cells = (size_t)(p->nkeys * p->ncol);
    p->keys = shrunk(p->keys, rows * sizeof *p->keys);
    if (p->kw)
        p->kb = shrunk(p->kb, rows * p->kw);
    p->cells = shrunk(p->cells, cells * sizeof *p->cells);
    p->sums = shrunk(p->sums, cells * sizeof *p->sums);
    p->mm = shrunk(p->mm, cells * sizeof *p->mm);
    p->xs = shrunk(p->xs, cells * sizeof *p->xs);
    if (p->nst)
        p->ds = shrunk(p->ds, cells * p->nst * sizeof *p->ds);
    p->cap = p->nkeys;
}

/* ---- update and merge ------------------------------------------------ */

int gb_update(struct gb_partial *p, const void *keys,
              const void *const *values, uint64_t n, struct h5b_error *err)
{
    const unsigned char *kb = keys;
    uint64_t idx[BLOCK];
    struct touched t = {NULL, 0, 0};
    int rc = 0;
    if (p->broken)
        return err_set(err, H5B_ERUN, "group-by partial unusable after an "
                       "earlier failure");
    /* Room for every record to bring a new key, in one step: only
     * address space until rows are used (rows_shrink gives back the
     * tail), where growing by half copied the rows about twenty times in
     * a partition of 32K keys (a third of the update).  A hint: if it
     * cannot be had, rows grow as before. */
    gb_reserve(p, p->nkeys + n);
    /* The table too, up to HASH_PRESIZE keys: past that, a partition of
     * few keys would zero a table it does not need. */
    rc = hash_room(p, n < HASH_PRESIZE ? n : HASH_PRESIZE, err);
    for (uint64_t r0 = 0; rc == 0 && r0 < n; r0 += BLOCK) {
        size_t len = n - r0 < BLOCK ? (size_t)(n - r0) : BLOCK;
        for (size_t r = 0; rc == 0 && r < len; r++) {
            const unsigned char *k = kb + (r0 + r) * p->kw;
            rc = p->kw ? find_or_add(p, bytes_hash(k, p->kw), k, &idx[r], err)
                       : find_or_add(p, ((const int64_t *)keys)[r0 + r], NULL,
                                     &idx[r], err);
        }
        for (size_t j = 0; rc == 0 && j < p->nval; j++)
            rc = fold(p, j, values[j], r0, idx, len, &t, err);
        for (size_t r = 0; rc == 0 && !p->nval && r < len; r++)
            p->cells[idx[r]].n++;
    }
    for (size_t i = 0; i < t.n; i++)
        if (p->xs[t.at[i]].pending)
            xs_normalize(&p->xs[t.at[i]]);
    free(t.at);
    if (rc == 0 && !p->sorted)
        rc = sort_rows(p, err);
    free(p->slot);
    p->slot = NULL;
    p->nslot = 0;
    if (rc == 0)
        rows_shrink(p);
    p->broken = rc < 0;
    return rc;
}

/* Whether a and b count the same distributions with the same bins,
 * range, accuracy and probabilities in every column. */
static int same_dist(const struct gb_partial *a, const struct gb_partial *b)
{
    for (size_t j = 0; a->nst && j < a->nval; j++) {
        const struct gbd_config *x = &a->dist[j], *y = &b->dist[j];
        if (x->hist != y->hist || x->quant != y->quant ||
            (x->hist && (x->hb.nbins != y->hb.nbins || x->hb.lo != y->hb.lo ||
                         x->hb.hi != y->hb.hi)) ||
            (x->quant && (x->sp.accuracy != y->sp.accuracy ||
                          x->sp.nq != y->sp.nq ||
                          memcmp(x->sp.q, y->sp.q,
                                 x->sp.nq * sizeof *x->sp.q) != 0)))
            return 0;
    }
    return 1;
}

static int same_config(const struct gb_partial *a, const struct gb_partial *b,
                       struct h5b_error *err)
{
    if (a->nval != b->nval || a->fields != b->fields || a->kw != b->kw ||
        a->nparts != b->nparts || a->nst != b->nst || !same_dist(a, b) ||
        memcmp(a->type, b->type, a->nval * sizeof *a->type) != 0)
        return err_set(err, H5B_ERUN, "group-by partials of different "
                       "configurations");
    return 0;
}

/* Keys of `later` merged a batch at a time: their hash slots are fetched
 * ahead of the lookups and their rows ahead of the cells' merges, so that
 * the cache misses of a batch overlap instead of queueing (a merge into a
 * million keys is bound by them).  Each key occurs once in a partial, so
 * its cells are still merged in partition order. */
#define MERGE_BATCH 16

/* Ask for every cache line of the n bytes at a.  Always inlined: GCC
 * takes a function of prefetches alone for one without effect and drops
 * the calls (the row prefetches were missing from the binary). */
static inline __attribute__((always_inline)) void
prefetch_bytes(const void *a, size_t n)
{
    const char *c = a, *end = c + n;
    for (; c < end; c += 64)
        __builtin_prefetch(c);
    __builtin_prefetch(end - 1);
}

/* Ask for the memory of row i's cells (and their extensions). */
static inline __attribute__((always_inline)) void
prefetch_row(const struct gb_partial *p, uint64_t i)
{
    prefetch_bytes(row(p, i), p->ncol * sizeof(struct cell));
    if (p->sums)
        prefetch_bytes(p->sums + i * p->ncol, p->ncol * sizeof *p->sums);
    if (p->mm)
        prefetch_bytes(p->mm + i * p->ncol, p->ncol * sizeof *p->mm);
}

/* Merge row t of later (its cells) into row i of acc. */
static int merge_row(struct gb_partial *acc, uint64_t i,
                     const struct gb_partial *later, uint64_t t,
                     struct h5b_error *err)
{
    int rc = 0;
    for (size_t j = 0; rc == 0 && j < acc->ncol; j++) {
        cell_merge(row(acc, i) + j, ext_at(acc, i, j), row(later, t) + j,
                   ext_at(later, t, j));
        if (acc->xs)
            xs_merge(acc->xs + i * acc->ncol + j,
                     later->xs + t * acc->ncol + j);
        if (acc->nst)
            rc = gbd_merge(&acc->dist[j], ds_at(acc, i, j),
                           ds_at(later, t, j), err);
    }
    return rc;
}

/* Merge the n (<= MERGE_BATCH) keys of later from t0 into acc: slots
 * fetched, keys found or added in order, rows fetched, then merged. */
static int merge_batch(struct gb_partial *acc, const struct gb_partial *later,
                       uint64_t t0, size_t n, struct h5b_error *err)
{
    uint64_t idx[MERGE_BATCH];
    for (size_t b = 0; acc->slot && b < n; b++)
        __builtin_prefetch(acc->slot + (mix(later->keys[t0 + b]) &
                                        (acc->nslot - 1)));
    int rc = 0;
    for (size_t b = 0; rc == 0 && b < n; b++) {
        uint64_t t = t0 + b;
        rc = find_or_add(acc, later->keys[t],
                         later->kw ? key_at(later, t) : NULL, &idx[b], err);
        if (rc == 0)
            prefetch_row(acc, idx[b]);
    }
    for (size_t b = 0; rc == 0 && b < n; b++)
        rc = merge_row(acc, idx[b], later, t0 + b, err);
    return rc;
}

int gb_merge(struct gb_partial *acc, const struct gb_partial *later,
             struct h5b_error *err)
{
    int rc = same_config(acc, later, err);
    if (rc < 0)
        return rc;
    if (acc == later)
        return err_set(err, H5B_ERUN, "group-by partial merged into itself");
    if (acc->broken || later->broken)
        return err_set(err, H5B_ERUN, "group-by partial unusable after an "
                       "earlier failure");
    for (uint64_t t = 0; rc == 0 && t < later->nkeys; t += MERGE_BATCH) {
        uint64_t n = later->nkeys - t < MERGE_BATCH ? later->nkeys - t
                                                     : MERGE_BATCH;
        rc = merge_batch(acc, later, t, (size_t)n, err);
    }
    acc->broken = rc < 0;
    return rc;
}

/* ---- wire format ------------------------------------------------------
 *
 *   "h5bgrpb1"  varint ncol  ncol type bytes  u8 fields  varint nkeys
 *   per key, ascending: varint zigzag(key), then per column: varint n,
 *   varint nan (float columns only) and, if n > 0, the f64 fields in the
 *   order shift mean (F_MOMENT) m2 (F_M2) sum comp (F_SUM) min max, then
 *   (F_EXACT) the exact accumulator as xs_encode writes it.
 *   With ncol 0 (counts alone) a key carries one varint n, its rows.
 *   Keys given as bytes (key parts): "h5bgrpk1", then varint kw (bytes of
 *   a key) before ncol, and each key is its kw bytes, not a varint.
 *   Per-key distributions (fields F_HIST, F_QUANT; F_QUANT implies F_MIN
 *   and F_MAX): after the fields byte, per column, (F_HIST) varint bins,
 *   f64 lo, f64 hi and (F_QUANT) f64 accuracy, varint nq, nq f64
 *   probabilities, all checked against the decoder's; and a non-empty
 *   cell ends with its stores as gbd_encode writes them (gbdist.h).
 *   Partials without distributions have the bytes they always had.
 *
 * Varints are LEB128, minimal.  Every key's n + nan is its record count,
 * the same in every column and at least 1; decode checks both. */

/* f64 fields a non-empty cell carries for field set f. */
static size_t nfields(unsigned f)
{
    return 2 * !!(f & F_MOMENT) + !!(f & F_M2) + 2 * !!(f & F_SUM) +
           !!(f & F_MIN) + !!(f & F_MAX);
}

/* The exact accumulator of row i, column j (p->xs set). */
static struct exactsum *xs_at(const struct gb_partial *p, uint64_t i,
                              size_t j)
{
    return p->xs + i * p->ncol + j;
}

static size_t cell_size(const struct gb_partial *p, uint64_t i, size_t j)
{
    const struct cell *c = row(p, i) + j;
    size_t s = varint_size(c->n);
    if (is_float(p->type[j]))
        s += varint_size(c->nan);
    if (c->n && p->xs)
        s += xs_encoded_size(xs_at(p, i, j));
    if (c->n && p->nst)
        s += gbd_encoded_size(&p->dist[j], ds_at(p, i, j));
    return c->n ? s + 8 * nfields(p->fields) : s;
}

/* Bytes of the distributions' parameters in the header. */
static size_t dist_header_size(const struct gb_partial *p)
{
    size_t s = 0;
    for (size_t j = 0; p->nst && j < p->nval; j++) {
        const struct gbd_config *d = &p->dist[j];
        if (d->hist)
            s += varint_size(d->hb.nbins) + 16;
        if (d->quant)
            s += 8 + varint_size(d->sp.nq) + 8 * (size_t)d->sp.nq;
    }
    return s;
}

static unsigned char *put_dist_header(const struct gb_partial *p,
                                      unsigned char *q)
{
    for (size_t j = 0; p->nst && j < p->nval; j++) {
        const struct gbd_config *d = &p->dist[j];
        if (d->hist) {
            q = put_varint(q, d->hb.nbins);
            h5b_put_f64(q, d->hb.lo);
            h5b_put_f64(q + 8, d->hb.hi);
            q += 16;
        }
        if (d->quant) {
            h5b_put_f64(q, d->sp.accuracy);
            q = put_varint(q + 8, d->sp.nq);
            for (unsigned k = 0; k < d->sp.nq; k++, q += 8)
                h5b_put_f64(q, d->sp.q[k]);
        }
    }
    return q;
}

size_t gb_encoded_size(const struct gb_partial *p)
{
    size_t s = MAGIC_LEN + varint_size(p->nval) + p->nval + 1 +
               varint_size(p->nkeys) + (p->kw ? varint_size(p->kw) : 0) +
               dist_header_size(p);
    for (uint64_t i = 0; i < p->nkeys; i++) {
        s += p->kw ? p->kw : varint_size(zigzag(p->keys[i]));
        for (size_t j = 0; j < p->ncol; j++)
            s += cell_size(p, i, j);
    }
    return s;
}

/* The rows of p in key order: *order stays NULL when p is sorted, else
 * it is a malloc'ed array whose i-th idx1 - 1 is the row of key i. */
static int key_order(const struct gb_partial *p, struct slot **order,
                     struct h5b_error *err)
{
    *order = NULL;
    if (p->sorted)
        return 0;
    struct slot *s = malloc((size_t)p->nkeys * sizeof *s);
    struct slot *tmp = malloc((size_t)p->nkeys * sizeof *tmp);
    if (!s || !tmp) {
        free(s);
        free(tmp);
        return err_set(err, H5B_ERUN, "out of memory sorting %llu group-by "
                       "keys", (unsigned long long)p->nkeys);
    }
    for (uint64_t i = 0; i < p->nkeys; i++) {
        s[i].key = p->keys[i];
        s[i].idx1 = i + 1;
    }
    sort_slots(p, &s, &tmp, p->nkeys);
    free(tmp);
    *order = s;
    return 0;
}

static uint64_t nth(const struct slot *order, uint64_t i)
{
    return order ? order[i].idx1 - 1 : i;
}

static unsigned char *put_cell(const struct gb_partial *p, uint64_t i,
                               size_t j, unsigned char *q)
{
    const struct cell *c = row(p, i) + j;
    struct cext e = ext_at(p, i, j);
    double f[7];
    size_t k = 0;
    q = put_varint(q, c->n);
    if (is_float(p->type[j]))
        q = put_varint(q, c->nan);
    if (!c->n)
        return q;
    if (p->fields & F_MOMENT) {
        f[k++] = c->shift;
        f[k++] = c->mean;
    }
    if (p->fields & F_M2)
        f[k++] = c->m2;
    if (p->fields & F_SUM) {
        f[k++] = e.s->sum;
        f[k++] = e.s->comp;
    }
    if (p->fields & F_MIN)
        f[k++] = e.m->min;
    if (p->fields & F_MAX)
        f[k++] = e.m->max;
    for (size_t n = 0; n < k; n++, q += 8)
        h5b_put_f64(q, f[n]);
    if (p->xs)
        q += xs_encode(xs_at(p, i, j), q, XS_MAX_BYTES);
    if (p->nst)
        q = gbd_encode(&p->dist[j], ds_at(p, i, j), q);
    return q;
}

int gb_encode(const struct gb_partial *p, unsigned char *buf, size_t len,
              struct h5b_error *err)
{
    struct slot *order = NULL;
    size_t need = gb_encoded_size(p);
    if (p->broken)
        return err_set(err, H5B_ERUN, "group-by partial unusable after an "
                       "earlier failure");
    if (len != need)
        return err_set(err, H5B_ERUN, "group-by encode buffer of %zu bytes, "
                       "need %zu", len, need);
    if (key_order(p, &order, err) < 0)
        return H5B_ERUN;
    unsigned char *q = buf;
    memcpy(q, p->kw ? MAGIC_BYTES : MAGIC, MAGIC_LEN);
    q += MAGIC_LEN;
    if (p->kw)
        q = put_varint(q, p->kw);
    q = put_varint(q, p->nval);
    for (size_t j = 0; j < p->nval; j++)
        *q++ = (unsigned char)p->type[j];
    *q++ = (unsigned char)p->fields;
    q = put_dist_header(p, q);
    q = put_varint(q, p->nkeys);
    for (uint64_t i = 0; i < p->nkeys; i++) {
        uint64_t r = nth(order, i);
        if (p->kw) {
            memcpy(q, key_at(p, r), p->kw);
            q += p->kw;
        } else {
            q = put_varint(q, zigzag(p->keys[r]));
        }
        for (size_t j = 0; j < p->ncol; j++)
            q = put_cell(p, r, j, q);
    }
    free(order);
    return (size_t)(q - buf) == len ? 0 :
           err_set(err, H5B_ERUN, "group-by encode wrote %zu of %zu bytes",
                   (size_t)(q - buf), len);
}

/* Bytes still to decode, consumed from the front. */
struct reader {
    const unsigned char *p, *end;
};

/* A minimal varint (varint.h). */
static int get_varint(struct reader *r, uint64_t *v)
{
    return varint_get(&r->p, r->end, v);
}

static int get_f64(struct reader *r, double *d)
{
    if (r->end - r->p < 8)
        return -1;
    *d = h5b_get_f64(r->p);
    r->p += 8;
    return 0;
}

/* Read column j's cell of one key into c, and its record count into
 * *total.  -1 if truncated, malformed or self-contradictory. */
static int get_cell(const struct gb_partial *p, size_t j, struct reader *r,
                    struct cell *c, struct cext e, struct exactsum *x,
                    struct gbd_store *d, uint64_t *total)
{
    unsigned f = p->fields;
    int bad = 0;
    cell_clear(c, e);
    if (x)
        xs_clear(x);
    if (get_varint(r, &c->n) < 0 ||
        (is_float(p->type[j]) && get_varint(r, &c->nan) < 0) ||
        c->n > UINT64_MAX - c->nan)
        return -1;
    *total = c->n + c->nan;
    if (!c->n)
        return 0;
    if (f & F_MOMENT)
        bad |= get_f64(r, &c->shift) | get_f64(r, &c->mean);
    if (f & F_M2)
        bad |= get_f64(r, &c->m2);
    if (f & F_SUM)
        bad |= get_f64(r, &e.s->sum) | get_f64(r, &e.s->comp);
    if (f & F_MIN)
        bad |= get_f64(r, &e.m->min);
    if (f & F_MAX)
        bad |= get_f64(r, &e.m->max);
    /* A non-empty cell has a min and max (its sentinels if not sent). */
    if (e.m && (isnan(e.m->min) || isnan(e.m->max) ||
                ((f & F_MIN) && (f & F_MAX) && e.m->min > e.m->max)))
        bad = -1;
    if (bad == 0 && x) {
        size_t k = xs_decode(x, r->p, (size_t)(r->end - r->p));
        bad = k ? 0 : -1;
        r->p += k;
    }
    if (bad == 0 && d)
        bad = gbd_decode(&p->dist[j], d, &r->p, r->end, c->n);
    return bad;
}

/* Whether the distributions' parameters at r are p's; consumes them. */
static int get_dist_header(const struct gb_partial *p, struct reader *r)
{
    size_t n = dist_header_size(p);
    unsigned char buf[4096], *b = n <= sizeof buf ? buf : malloc(n);
    int ok = b && (size_t)(r->end - r->p) >= n;
    if (ok) {
        put_dist_header(p, b);
        ok = memcmp(b, r->p, n) == 0;
        r->p += n;
    }
    if (b != buf)
        free(b);
    return ok;
}

/* Check the header against p's config; *nkeys gets the key count, which
 * the remaining bytes are checked to have room for. */
static int get_header(const struct gb_partial *p, struct reader *r,
                      uint64_t *nkeys, struct h5b_error *err)
{
    uint64_t ncol, kw = 0;
    const char *magic = p->kw ? MAGIC_BYTES : MAGIC;
    int ok = r->end - r->p >= MAGIC_LEN && !memcmp(r->p, magic, MAGIC_LEN);
    if (!ok)
        return err_set(err, H5B_ERUN, "not a group-by partial (bad magic)");
    r->p += MAGIC_LEN;
    ok = !p->kw || (get_varint(r, &kw) == 0 && kw == p->kw);
    ok = ok && get_varint(r, &ncol) == 0 && ncol == p->nval &&
         (size_t)(r->end - r->p) > p->nval;
    for (size_t j = 0; ok && j < p->nval; j++)
        ok = *r->p++ == (unsigned char)p->type[j];
    ok = ok && *r->p++ == (unsigned char)p->fields;
    ok = ok && get_dist_header(p, r);
    if (!ok)
        return err_set(err, H5B_ERUN, "group-by partial of another "
                       "configuration (columns, types or outputs differ)");
    if (get_varint(r, nkeys) < 0 ||
        *nkeys > (uint64_t)(r->end - r->p) /
                 ((p->kw ? p->kw : 1) + p->ncol) ||
        *nkeys > SIZE_MAX / sizeof(struct exactsum) / p->ncol ||
        (p->max_keys && *nkeys > p->max_keys))
        return err_set(err, H5B_ERUN, "group-by partial truncated or "
                       "malformed in its header");
    return 0;
}

/* Read key i's kw bytes into kb (and their hash into keys[i]); -1 if
 * truncated or not after key i-1. */
static int get_key_bytes(const struct gb_partial *p, struct reader *r,
                         uint64_t i, int64_t *keys, unsigned char *kb)
{
    unsigned char *k = kb + i * p->kw;
    if ((size_t)(r->end - r->p) < p->kw)
        return -1;
    memcpy(k, r->p, p->kw);
    r->p += p->kw;
    keys[i] = bytes_hash(k, p->kw);
    return i > 0 && memcmp(k - p->kw, k, p->kw) >= 0 ? -1 : 0;
}

/* Decode key i (and its cells into row i of keys/cells), checking that it
 * follows key i-1 and that every column saw its records. */
static int get_key(const struct gb_partial *p, struct reader *r, uint64_t i,
                   int64_t *keys, unsigned char *kb, struct cell *cells,
                   struct csum *sums, struct cmm *mm, struct exactsum *xs,
                   struct gbd_store *ds, struct h5b_error *err)
{
    uint64_t z, total = 0, t;
    if (p->kw && get_key_bytes(p, r, i, keys, kb) < 0)
        return err_set(err, H5B_ERUN, "group-by partial truncated, or keys "
                       "not strictly increasing, at key %llu",
                       (unsigned long long)i);
    if (!p->kw && get_varint(r, &z) < 0)
        return err_set(err, H5B_ERUN, "group-by partial truncated or "
                       "malformed at key %llu", (unsigned long long)i);
    if (!p->kw)
        keys[i] = unzigzag(z);
    if (!p->kw && i > 0 && keys[i] <= keys[i - 1])
        return err_set(err, H5B_ERUN, "group-by partial has key %lld after "
                       "%lld (keys must be strictly increasing)",
                       (long long)keys[i], (long long)keys[i - 1]);
    for (size_t j = 0; j < p->ncol; j++) {
        size_t at = i * p->ncol + j;
        struct cext e = {sums ? sums + at : NULL, mm ? mm + at : NULL};
        if (get_cell(p, j, r, cells + at, e, xs ? xs + at : NULL,
                     ds ? ds + at * p->nst : NULL, &t) < 0)
            return err_set(err, H5B_ERUN, "group-by partial truncated or "
                           "malformed at key %lld, column %zu",
                           (long long)keys[i], j);
        if (t == 0 || (j > 0 && t != total))
            return err_set(err, H5B_ERUN, "group-by partial counts "
                           "inconsistent at key %lld, column %zu",
                           (long long)keys[i], j);
        total = t;
    }
    return 0;
}

int gb_decode(struct gb_partial *p, const unsigned char *buf, size_t len,
              struct h5b_error *err)
{
    struct reader r = {buf, buf + len};
    int64_t *keys = NULL;
    unsigned char *kb = NULL;
    struct cell *cells = NULL;
    struct csum *sums = NULL;
    struct cmm *mm = NULL;
    struct exactsum *xs = NULL;
    struct gbd_store *ds = NULL;
    uint64_t nkeys = 0;
    int exact = (p->fields & F_EXACT) != 0;
    int has_s = (p->fields & F_SUM) != 0, has_m = (p->fields & F_MM) != 0;
    int rc = get_header(p, &r, &nkeys, err);
    if (rc == 0 && nkeys) {
        keys = malloc((size_t)nkeys * sizeof *keys);
        kb = p->kw ? malloc((size_t)nkeys * p->kw) : NULL;
        cells = malloc((size_t)(nkeys * p->ncol) * sizeof *cells);
        if (has_s)
            sums = malloc((size_t)(nkeys * p->ncol) * sizeof *sums);
        if (has_m)
            mm = malloc((size_t)(nkeys * p->ncol) * sizeof *mm);
        if (exact)
            xs = malloc((size_t)(nkeys * p->ncol) * sizeof *xs);
        if (p->nst)
            ds = calloc((size_t)(nkeys * p->ncol * p->nst), sizeof *ds);
        if (!keys || !cells || (p->kw && !kb) || (exact && !xs) ||
            (p->nst && !ds) || (has_s && !sums) || (has_m && !mm))
            rc = err_set(err, H5B_ERUN, "out of memory for %llu group-by "
                         "keys", (unsigned long long)nkeys);
        hugepage_advise(keys, (size_t)nkeys * sizeof *keys);
        hugepage_advise(cells, (size_t)(nkeys * p->ncol) * sizeof *cells);
        hugepage_advise(sums, has_s ? (size_t)(nkeys * p->ncol) * sizeof *sums
                                    : 0);
        hugepage_advise(mm, has_m ? (size_t)(nkeys * p->ncol) * sizeof *mm : 0);
    }
    for (uint64_t i = 0; rc == 0 && i < nkeys; i++)
        rc = get_key(p, &r, i, keys, kb, cells, sums, mm, xs, ds, err);
    if (rc == 0 && r.p != r.end)
        rc = err_set(err, H5B_ERUN, "group-by partial has %zu trailing "
                     "bytes", (size_t)(r.end - r.p));
    if (rc < 0) {
        free(keys);
        free(kb);
        free(cells);
        free(sums);
        free(mm);
        free(xs);
        ds_free(p, ds, nkeys);
        return rc;
    }
    ds_free(p, p->ds, p->nkeys);
    p->ds = ds;
    free(p->keys);
    free(p->kb);
    free(p->cells);
    free(p->sums);
    free(p->mm);
    free(p->xs);
    free(p->slot);
    p->keys = keys;
    p->kb = kb;
    p->cells = cells;
    p->sums = sums;
    p->mm = mm;
    p->xs = xs;
    p->slot = NULL;
    p->nslot = 0;
    p->nkeys = p->cap = nkeys;
    p->sorted = 1;
    p->broken = 0;
    return 0;
}

/* ---- results ---------------------------------------------------------- */

/* Output w of a cell with exact sums x: sum, mean, var and std from x,
 * min and max from the cell's extension e. */
static double exact_value(const struct gb_partial *p, const struct cell *c,
                          struct cext e, const struct exactsum *x,
                          unsigned w)
{
    switch (1u << w) {
    case W_SUM: return xs_sum(x);
    case W_MEAN: return xs_mean(x, c->n);
    case W_VAR: return xs_var(x, c->n, (unsigned)p->ddof);
    case W_STD: return sqrt(xs_var(x, c->n, (unsigned)p->ddof));
    }
    return c->n ? (1u << w == W_MIN ? e.m->min : e.m->max) : NAN;
}

/* Output w (a want bit index into out_names) of cell c, with its
 * extension e (whose parts are set whenever w reads them). */
static double out_value(const struct gb_partial *p, const struct cell *c,
                        struct cext e, unsigned w)
{
    double mean = c->shift + c->mean, var = NAN;
    if (c->n > (uint64_t)p->ddof)
        var = c->m2 / (double)(c->n - (uint64_t)p->ddof);
    switch (1u << w) {
    case W_SUM: return e.s->sum + e.s->comp;
    /* Infinite values make the shifted mean NaN; the sum has the IEEE
     * answer (inf, or NaN for inf - inf). */
    case W_MEAN:
        return !c->n ? NAN : isfinite(mean) ? mean :
               (e.s->sum + e.s->comp) / (double)c->n;
    case W_VAR: return var;
    case W_STD: return sqrt(var);
    case W_MIN: return c->n ? e.m->min : NAN;
    case W_MAX: return c->n ? e.m->max : NAN;
    }
    return NAN;
}

/* The integer at the 8 key bytes b (gb_key_put_int's inverse). */
static int64_t key_get_int(const unsigned char *b)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | b[i];
    u ^= UINT64_C(1) << 63;
    return u <= INT64_MAX ? (int64_t)u : -(int64_t)~u - 1;
}

/* Write part k of the byte keys, in the order given, with buf (room for
 * nkeys 8-byte values) as scratch. */
static int put_part(const struct gb_partial *p, size_t k,
                    const struct slot *order, void *buf, struct results *rs,
                    struct h5b_error *err)
{
    const struct gb_keypart *kp = &p->part[k];
    uint64_t dims[1] = {p->nkeys};
    size_t at = 0;
    char name[GB_PART_NAME + 16];
    for (size_t i = 0; i < k; i++)
        at += p->part[i].width ? p->part[i].width : 8;
    snprintf(name, sizeof name, p->nparts == 1 ? "groupby/keys"
             : "groupby/keys_%s", kp->name);
    if (!kp->width) {
        int64_t *v = buf;
        for (uint64_t i = 0; i < p->nkeys; i++)
            v[i] = key_get_int(key_at(p, nth(order, i)) + at);
        struct h5b_sink sink = results_sink(rs);
        return sink.put(sink.ctx, name, H5B_INT64, 1, dims, v, err);
    }
    unsigned char *str = malloc(p->nkeys ? (size_t)p->nkeys * kp->width : 1);
    if (!str)
        return err_set(err, H5B_ERUN, "out of memory writing group-by keys");
    for (uint64_t i = 0; i < p->nkeys; i++)
        memcpy(str + i * kp->width, key_at(p, nth(order, i)) + at, kp->width);
    int rc = results_put_strings(rs, name, kp->width, p->nkeys, str, err);
    free(str);
    return rc;
}

/* Write the keys, in the order given, with buf (room for nkeys 8-byte
 * values) as scratch. */
static int put_keys(const struct gb_partial *p, const struct slot *order,
                    void *buf, struct results *rs, struct h5b_error *err)
{
    uint64_t dims[1] = {p->nkeys};
    int64_t *k = buf;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->nparts; i++)
        rc = put_part(p, i, order, buf, rs, err);
    if (p->nparts)
        return rc;
    for (uint64_t i = 0; i < p->nkeys; i++)
        k[i] = p->keys[nth(order, i)];
    struct h5b_sink sink = results_sink(rs);
    return sink.put(sink.ctx, "groupby/keys", H5B_INT64, 1, dims, k, err);
}

/* Column j's per-key histograms: "groupby/histogram", nkeys x bins
 * counts (uint64), and "groupby/histogram_edges", the bins + 1 edges
 * shared by every key. */
static int put_hist(const struct gb_partial *p, size_t j,
                    const struct slot *order, const struct h5b_sink *sink,
                    struct h5b_error *err)
{
    const struct gbd_config *d = &p->dist[j];
    uint64_t dims[2] = {p->nkeys, d->hb.nbins}, ne = d->hb.nbins + 1;
    uint64_t *m = p->nkeys <= SIZE_MAX / 8 / d->hb.nbins ?
                  malloc(p->nkeys ? (size_t)(p->nkeys * d->hb.nbins) * 8
                                  : 8) : NULL;
    double *e = malloc((size_t)ne * sizeof *e);
    int rc = m && e ? 0 : err_set(err, H5B_ERUN, "out of memory for %llu "
                                  "per-key histograms of %llu bins",
                                  (unsigned long long)p->nkeys,
                                  (unsigned long long)d->hb.nbins);
    for (uint64_t i = 0; rc == 0 && i < p->nkeys; i++)
        gbd_hist_row(d, ds_at(p, nth(order, i), j), m + i * d->hb.nbins);
    if (rc == 0) {
        histbin_edges(&d->hb, e);
        rc = sink->put(sink->ctx, "groupby/histogram", H5B_UINT64, 2, dims,
                       m, err);
    }
    if (rc == 0)
        rc = sink->put(sink->ctx, "groupby/histogram_edges", H5B_FLOAT64, 1,
                       &ne, e, err);
    free(m);
    free(e);
    return rc;
}

/* Column j's per-key quantiles: "groupby/quantiles", nkeys x nq, and
 * "groupby/probabilities", the nq probabilities as given. */
static int put_quant(const struct gb_partial *p, size_t j,
                     const struct slot *order, const struct h5b_sink *sink,
                     struct h5b_error *err)
{
    const struct gbd_config *d = &p->dist[j];
    uint64_t nq = d->sp.nq, dims[2] = {p->nkeys, nq};
    double *v = p->nkeys <= SIZE_MAX / 8 / nq ?
                malloc(p->nkeys ? (size_t)(p->nkeys * nq) * 8 : 8) : NULL;
    struct gbd_repcache *cache = calloc(1, sizeof *cache);
    int rc = v && cache ? 0 : err_set(err, H5B_ERUN, "out of memory for "
                                      "%llu per-key quantiles",
                                      (unsigned long long)p->nkeys);
    for (uint64_t i = 0; rc == 0 && i < p->nkeys; i++) {
        uint64_t r = nth(order, i);
        const struct cell *c = row(p, r) + j;
        const struct cmm *m = p->mm + r * p->ncol + j;  /* F_QUANT: F_MM */
        gbd_quantiles(d, ds_at(p, r, j), c->n, m->min, m->max, cache,
                      v + i * nq);
    }
    free(cache);
    if (rc == 0)
        rc = sink->put(sink->ctx, "groupby/quantiles", H5B_FLOAT64, 2, dims,
                       v, err);
    if (rc == 0)
        rc = sink->put(sink->ctx, "groupby/probabilities",
                       H5B_FLOAT64, 1, &nq, d->sp.q, err);
    free(v);
    return rc;
}

/* Column j's one-number outputs, for every key in order: filled by one
 * pass over the rows for all columns (outputs_fill; a pass per output and
 * column read the rows, in key order scattered, a dozen times) and then
 * handed to the results, not copied (outputs_put).  A NULL array is not
 * an output of the column. */
struct col_outputs {
    uint64_t *count, *nan;      /* nan: float columns only */
    double *v[N_SCALAR];        /* the wanted ones */
};

static void outputs_free(struct col_outputs *o, size_t ncol)
{
    for (size_t j = 0; o && j < ncol; j++) {
        free(o[j].count);
        free(o[j].nan);
        for (unsigned w = 0; w < N_SCALAR; w++)
            free(o[j].v[w]);
    }
    free(o);
}

/* The arrays of every column's outputs (8 bytes a key each), or NULL
 * with err set. */
static struct col_outputs *outputs_alloc(const struct gb_partial *p,
                                         struct h5b_error *err)
{
    size_t bytes = p->nkeys ? (size_t)p->nkeys * 8 : 8;
    struct col_outputs *o = calloc(p->ncol, sizeof *o);
    int ok = o != NULL;
    for (size_t j = 0; ok && j < p->ncol; j++) {
        o[j].count = hugepage_alloc(bytes);
        o[j].nan = is_float(p->type[j]) ? hugepage_alloc(bytes) : NULL;
        ok = o[j].count && (o[j].nan || !is_float(p->type[j]));
        for (unsigned w = 0; ok && w < N_SCALAR; w++) {
            o[j].v[w] = p->want & (1u << w) ? hugepage_alloc(bytes) : NULL;
            ok = o[j].v[w] || !(p->want & (1u << w));
        }
    }
    if (ok)
        return o;
    outputs_free(o, p->ncol);
    err_set(err, H5B_ERUN, "out of memory for the outputs of %llu group-by "
            "keys", (unsigned long long)p->nkeys);
    return NULL;
}

/* Fill o for every key in the order given. */
static void outputs_fill(const struct gb_partial *p, const struct slot *order,
                         struct col_outputs *o)
{
    for (uint64_t i = 0; i < p->nkeys; i++) {
        uint64_t r = nth(order, i);
        if (i + MERGE_BATCH < p->nkeys)
            prefetch_row(p, nth(order, i + MERGE_BATCH));
        for (size_t j = 0; j < p->ncol; j++) {
            const struct cell *c = row(p, r) + j;
            o[j].count[i] = c->n;
            if (o[j].nan)
                o[j].nan[i] = c->nan;
            for (unsigned w = 0; w < N_SCALAR; w++)
                if (o[j].v[w])
                    o[j].v[w][i] = p->xs ? exact_value(p, c, ext_at(p, r, j),
                                                       xs_at(p, r, j), w)
                                         : out_value(p, c, ext_at(p, r, j), w);
        }
    }
}

/* Hand *a (nkeys values of type t) to rs as `name`; *a is NULL after. */
static int adopt(struct results *rs, const char *name, h5b_type t,
                 uint64_t nkeys, void *a, void **slot, struct h5b_error *err)
{
    uint64_t dims[1] = {nkeys};
    *slot = NULL;
    return results_adopt(rs, name, t, 1, dims, a, err);
}

/* Write column j's results, keys in the order given, with buf (room for
 * nkeys 8-byte values) as scratch and its outputs o, which rs takes. */
static int put_column(const struct gb_partial *p, size_t j,
                      const struct slot *order, void *buf,
                      struct col_outputs *o, struct results *rs,
                      struct h5b_error *err)
{
    struct h5b_sink sinkv = results_sink(rs);
    char name[32];
    int rc = put_keys(p, order, buf, rs, err);
    if (rc == 0)
        rc = adopt(rs, "groupby/count", H5B_UINT64, p->nkeys, o->count,
                   (void **)&o->count, err);
    if (rc == 0 && o->nan)
        rc = adopt(rs, "groupby/nan_count", H5B_UINT64, p->nkeys, o->nan,
                   (void **)&o->nan, err);
    for (unsigned w = 0; rc == 0 && w < N_SCALAR; w++) {
        if (!o->v[w])
            continue;
        snprintf(name, sizeof name, "groupby/%s", out_names[w]);
        rc = adopt(rs, name, H5B_FLOAT64, p->nkeys, o->v[w],
                   (void **)&o->v[w], err);
    }
    if (rc == 0 && (p->want & W_HIST))
        rc = put_hist(p, j, order, &sinkv, err);
    if (rc == 0 && (p->want & W_QUANT))
        rc = put_quant(p, j, order, &sinkv, err);
    return rc;
}

int gb_finalize(const struct gb_partial *p, const char *const *group_names,
                struct results *rs, struct h5b_error *err)
{
    struct slot *order = NULL;
    const char *group = rs->group;
    if (p->broken)
        return err_set(err, H5B_ERUN, "group-by partial unusable after an "
                       "earlier failure");
    if (key_order(p, &order, err) < 0)
        return H5B_ERUN;
    void *buf = malloc(p->nkeys ? (size_t)p->nkeys * 8 : 1);
    struct col_outputs *o = buf ? outputs_alloc(p, err) : NULL;
    int rc = o ? 0 : buf ? H5B_ERUN
                         : err_set(err, H5B_ERUN, "out of memory writing "
                                   "%llu group-by keys",
                                   (unsigned long long)p->nkeys);
    if (rc == 0)
        outputs_fill(p, order, o);
    for (size_t j = 0; rc == 0 && j < p->ncol; j++) {
        rs->group = group_names[j];
        rc = put_column(p, j, order, buf, &o[j], rs, err);
        if (rc < 0)
            err_prefix(err, rc, "group_by column %s", group_names[j]);
    }
    rs->group = group;
    outputs_free(o, p->ncol);
    free(buf);
    free(order);
    return rc;
}

/* ---- keys ------------------------------------------------------------ */

size_t gb_key_bytes(const struct gb_config *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nparts; i++)
        n += c->parts[i].width ? c->parts[i].width : 8;
    return n;
}

void gb_key_put_int(unsigned char *dst, int64_t v)
{
    uint64_t u = (uint64_t)v ^ (UINT64_C(1) << 63);
    for (int i = 7; i >= 0; i--, u >>= 8)
        dst[i] = (unsigned char)u;
}

int gb_key_type_ok(h5b_type t)
{
    return t >= H5B_INT8 && t <= H5B_UINT64;
}

#define WIDEN(T)                                                             \
    for (uint64_t i = 0; i < n; i++)                                         \
        dst[i] = ((const T *)src)[i];                                        \
    return 0

int gb_keys_to_int64(h5b_type t, const void *src, uint64_t n, int64_t *dst,
                     struct h5b_error *err)
{
    switch (t) {
    case H5B_INT8: WIDEN(int8_t);
    case H5B_UINT8: WIDEN(uint8_t);
    case H5B_INT16: WIDEN(int16_t);
    case H5B_UINT16: WIDEN(uint16_t);
    case H5B_INT32: WIDEN(int32_t);
    case H5B_UINT32: WIDEN(uint32_t);
    case H5B_INT64: WIDEN(int64_t);
    case H5B_UINT64:
        for (uint64_t i = 0; i < n; i++) {
            uint64_t v = ((const uint64_t *)src)[i];
            if (v > INT64_MAX)
                return err_set(err, H5B_EINPUT, "group_by key %llu (record "
                               "%llu of the block) does not fit int64",
                               (unsigned long long)v, (unsigned long long)i);
            dst[i] = (int64_t)v;
        }
        return 0;
    case H5B_FLOAT32:
    case H5B_FLOAT64:
        break;
    }
    return err_set(err, H5B_EINPUT, "group_by keys must be integers, not "
                   "floating point (type %d)", (int)t);
}

uint64_t gb_bytes(uint64_t nkeys, size_t ncol, int exact)
{
    /* rows grow by half (cap + cap / 2), slots double at load 0.7, and a
     * reorder holds one more slot array.  Cells are counted with their
     * extension, which only some outputs need. */
    uint64_t row = sizeof(int64_t) + (uint64_t)(ncol ? ncol : 1) *
                   (sizeof(struct cell) + sizeof(struct csum) +
                    sizeof(struct cmm) +
                    (exact ? sizeof(struct exactsum) : 0));
    uint64_t per = row * 3 / 2 + sizeof(struct slot) * 3 +
                   sizeof(struct slot);
    return nkeys > UINT64_MAX / per ? UINT64_MAX : nkeys * per;
}

uint64_t gb_key_extra(uint64_t nkeys, size_t kw)
{
    uint64_t per = (uint64_t)kw * 5 / 2;
    return per && nkeys > UINT64_MAX / per ? UINT64_MAX : nkeys * per;
}
