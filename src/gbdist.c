/* gbdist.c -- per-key histograms and quantile sketches (see gbdist.h).
 *
 * A value looks its code up by binary search in its key's sorted pairs
 * and either bumps a count or inserts a pair (memmove of the tail): keys
 * of a few values cost a few pairs, and a key of many values pays the
 * insert only for buckets it has not seen, of which a sketch sign has at
 * most SKETCH_MAX_BINS.  Merging two stores is a linear merge of sorted
 * pairs into a new array of exactly their union.
 */
#include "gbdist.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "varint.h"

/* Sketch codes (gbd.h): the bucket index i of a magnitude is below 2^29
 * in absolute value for any accuracy >= 1e-6 (idx_lim), so these ranges
 * neither overlap nor overflow int32. */
#define C_NINF INT32_MIN
#define C_PINF INT32_MAX
#define C_BASE (INT32_C(1) << 30)

static int is_pos(int32_t c)
{
    return c > 0 && c < C_PINF;
}

/* The sketch code of a non-NaN x. */
static int32_t quant_code(const struct sketch_params *sp, double x)
{
    x += 0.0;
    if (x > SKETCH_TINY && x <= DBL_MAX)
        return C_BASE + (int32_t)sketch_bucket(sp->mult, x);
    if (x < -SKETCH_TINY && x >= -DBL_MAX)
        return -C_BASE - (int32_t)sketch_bucket(sp->mult, -x);
    if (x > DBL_MAX)
        return C_PINF;
    return x < -DBL_MAX ? C_NINF : 0;
}

/* The first pair of s whose code is >= code. */
static uint32_t lower(const struct gbd_store *s, int32_t code)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->a[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Fold pairs [from, to) of s into the pair at `into` (one of them, whose
 * code is kept) and close the gap.  Counts were checked to fit. */
static void fold_range(struct gbd_store *s, uint32_t from, uint32_t to,
                       uint32_t into)
{
    uint64_t sum = 0;
    for (uint32_t k = from; k < to; k++)
        sum += s->a[k].count;
    int32_t code = s->a[into].code;
    s->a[from].code = code;
    s->a[from].count = (uint32_t)sum;
    memmove(s->a + from + 1, s->a + to, (s->n - to) * sizeof *s->a);
    s->n -= to - from - 1;
}

/* Sum of counts [from, to) of s. */
static uint64_t count_sum(const struct gbd_store *s, uint32_t from,
                          uint32_t to)
{
    uint64_t sum = 0;
    for (uint32_t k = from; k < to; k++)
        sum += s->a[k].count;
    return sum;
}

/* Bring a sketch store to canonical form: per sign, buckets more than
 * SKETCH_MAX_BINS - 1 below the largest magnitude go into the lowest kept
 * one (gbdist.h).  -1 if a folded count would pass 2^32 - 1. */
static int collapse(struct gbd_store *s)
{
    uint32_t p0 = lower(s, 1), p1 = lower(s, C_PINF);
    if (p1 > p0 && s->a[p1 - 1].code - s->a[p0].code >= SKETCH_MAX_BINS) {
        int32_t keep = s->a[p1 - 1].code - (SKETCH_MAX_BINS - 1);
        uint32_t k = lower(s, keep);    /* first kept */
        uint32_t to = s->a[k].code == keep ? k + 1 : k;
        if (count_sum(s, p0, to) > UINT32_MAX)
            return -1;
        if (to == k)                    /* the lowest kept bucket is new */
            s->a[k - 1].code = keep;
        fold_range(s, p0, to, to - 1);
    }
    uint32_t n0 = lower(s, C_NINF + 1), n1 = lower(s, 0);
    if (n1 > n0 && s->a[n1 - 1].code - s->a[n0].code >= SKETCH_MAX_BINS) {
        int32_t keep = s->a[n0].code + (SKETCH_MAX_BINS - 1);
        uint32_t from = lower(s, keep);     /* the first folded */
        if (count_sum(s, from, n1) > UINT32_MAX)
            return -1;
        s->a[from].code = keep;
        fold_range(s, from, n1, from);
    }
    return 0;
}

/* Make room for one more pair in s. */
static int reserve(struct gbd_store *s)
{
    if (s->n < s->cap)
        return 0;
    uint32_t cap = s->cap ? s->cap * 2 : 3;
    if (s->cap > UINT32_MAX / 2)
        return -1;
    struct gbd_pair *a = realloc(s->a, (size_t)cap * sizeof *a);
    if (!a)
        return -1;
    s->a = a;
    s->cap = cap;
    return 0;
}

/* Add one to code's count in s; a new pair in a sketch store (sketch
 * set) may collapse its sign. */
static int store_add(struct gbd_store *s, int32_t code, int sketch,
                     struct h5b_error *err)
{
    uint32_t k = lower(s, code);
    if (k < s->n && s->a[k].code == code) {
        if (s->a[k].count == UINT32_MAX)
            return err_set(err, H5B_EINPUT, "group_by: more than %u values "
                           "of one key in one histogram or sketch bucket",
                           (unsigned)UINT32_MAX);
        s->a[k].count++;
        return 0;
    }
    if (reserve(s) < 0)
        return err_set(err, H5B_ERUN, "out of memory for a per-key "
                       "distribution");
    memmove(s->a + k + 1, s->a + k, (s->n - k) * sizeof *s->a);
    s->a[k] = (struct gbd_pair){code, 1};
    s->n++;
    if (sketch && collapse(s) < 0)
        return err_set(err, H5B_EINPUT, "group_by: more than %u values "
                       "of one key in one sketch bucket",
                       (unsigned)UINT32_MAX);
    return 0;
}

int gbd_add(const struct gbd_config *c, struct gbd_store *st, double x,
            struct h5b_error *err)
{
    if (c->hist) {
        int64_t b = histbin_of(&c->hb, x);
        int rc = b >= 0 ? store_add(st, (int32_t)b, 0, err) : 0;
        if (rc < 0)
            return rc;
        st++;
    }
    return c->quant ? store_add(st, quant_code(&c->sp, x), 1, err) : 0;
}

/* Whether some code held by both a and b has counts summing past
 * UINT32_MAX (checked before acc changes, so a refused merge leaves it
 * as it was). */
static int counts_overflow(const struct gbd_store *a, const struct gbd_store *b)
{
    for (uint32_t i = 0, j = 0; i < a->n && j < b->n;) {
        if (a->a[i].code < b->a[j].code)
            i++;
        else if (b->a[j].code < a->a[i].code)
            j++;
        else if ((uint64_t)a->a[i++].count + b->a[j++].count > UINT32_MAX)
            return 1;
    }
    return 0;
}

/* acc := acc (+) t for one store, in place: acc grows to hold both (by
 * doubling, as store_add grows it), the pairs are merged from the back,
 * and the gap that codes held by both leave is closed.  A merge of a
 * million keys' stores was a third allocator calls when each built a new
 * array. */
static int store_merge(struct gbd_store *acc, const struct gbd_store *t,
                       int sketch, struct h5b_error *err)
{
    if (!t->n)
        return 0;
    uint64_t n = (uint64_t)acc->n + t->n;
    if (counts_overflow(acc, t))
        return err_set(err, H5B_EINPUT, "group_by: more than %u values of "
                       "one key in one histogram or sketch bucket",
                       (unsigned)UINT32_MAX);
    if (n > acc->cap) {
        uint64_t cap = (uint64_t)acc->cap * 2 > n ? (uint64_t)acc->cap * 2 : n;
        cap = cap < UINT32_MAX ? cap : UINT32_MAX;
        struct gbd_pair *a = n <= UINT32_MAX
                                 ? realloc(acc->a, (size_t)cap * sizeof *a)
                                 : NULL;
        if (!a)
            return err_set(err, H5B_ERUN, "out of memory merging a per-key "
                           "distribution");
        acc->a = a;
        acc->cap = (uint32_t)cap;
    }
    struct gbd_pair *a = acc->a;
    uint32_t i = acc->n, j = t->n, k = (uint32_t)n;
    while (j > 0) {
        if (i > 0 && a[i - 1].code > t->a[j - 1].code) {
            a[--k] = a[--i];
        } else if (i > 0 && a[i - 1].code == t->a[j - 1].code) {
            a[k - 1] = (struct gbd_pair){a[i - 1].code,
                                         a[i - 1].count + t->a[j - 1].count};
            k--;
            i--;
            j--;
        } else {
            a[--k] = t->a[--j];
        }
    }
    /* a[0, i) are in place; the merged tail is a[k, n) */
    if (k > i)
        memmove(a + i, a + k, (size_t)(n - k) * sizeof *a);
    acc->n = i + (uint32_t)(n - k);
    if (sketch && collapse(acc) < 0)
        return err_set(err, H5B_EINPUT, "group_by: more than %u values of "
                       "one key in one histogram or sketch bucket",
                       (unsigned)UINT32_MAX);
    return 0;
}

int gbd_merge(const struct gbd_config *c, struct gbd_store *acc,
              const struct gbd_store *later, struct h5b_error *err)
{
    size_t ns = gbd_nstores(c);
    for (size_t s = 0; s < ns; s++) {
        int rc = store_merge(&acc[s], &later[s], c->quant && s == ns - 1,
                             err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void gbd_clear(const struct gbd_config *c, struct gbd_store *st)
{
    for (size_t s = 0; s < gbd_nstores(c); s++) {
        free(st[s].a);
        st[s] = (struct gbd_store){NULL, 0, 0};
    }
}

/* ---- wire ------------------------------------------------------------ */

static size_t store_size(const struct gbd_store *s)
{
    size_t n = varint_size(s->n);
    for (uint32_t k = 0; k < s->n; k++)
        n += varint_size(k ? (uint64_t)((int64_t)s->a[k].code -
                                        s->a[k - 1].code)
                           : zigzag(s->a[k].code)) +
             varint_size(s->a[k].count);
    return n;
}

size_t gbd_encoded_size(const struct gbd_config *c,
                        const struct gbd_store *st)
{
    size_t n = 0;
    for (size_t s = 0; s < gbd_nstores(c); s++)
        n += store_size(&st[s]);
    return n;
}

unsigned char *gbd_encode(const struct gbd_config *c,
                          const struct gbd_store *st, unsigned char *q)
{
    for (size_t s = 0; s < gbd_nstores(c); s++) {
        q = put_varint(q, st[s].n);
        for (uint32_t k = 0; k < st[s].n; k++) {
            const struct gbd_pair *a = st[s].a;
            q = put_varint(q, k ? (uint64_t)((int64_t)a[k].code -
                                             a[k - 1].code)
                                : zigzag(a[k].code));
            q = put_varint(q, a[k].count);
        }
    }
    return q;
}

/* Whether code is one a store of this kind can hold. */
static int code_ok(const struct gbd_config *c, int sketch, int64_t code)
{
    if (!sketch)
        return code >= 0 && (uint64_t)code < c->hb.nbins;
    int64_t lim = c->sp.idx_lim;
    return code == C_NINF || code == 0 || code == C_PINF ||
           (code > C_BASE - lim - 1 && code < C_BASE + lim + 1) ||
           (code > -C_BASE - lim - 1 && code < -C_BASE + lim + 1);
}

/* Decode one store of kind `sketch` into s; its count sum in *sum. */
static int store_decode(const struct gbd_config *c, int sketch,
                        struct gbd_store *s, const unsigned char **p,
                        const unsigned char *end, uint64_t *sum)
{
    uint64_t n, z, cnt;
    int64_t code = 0;
    *sum = 0;
    if (varint_get(p, end, &n) < 0 || n > (uint64_t)(end - *p) / 2)
        return -1;
    s->a = n ? malloc((size_t)n * sizeof *s->a) : NULL;
    if (n && !s->a)
        return -1;
    s->cap = (uint32_t)n;
    for (uint64_t k = 0; k < n; k++) {
        if (varint_get(p, end, &z) < 0 || varint_get(p, end, &cnt) < 0 ||
            (k && (z == 0 || z > UINT32_MAX)) || cnt == 0 ||
            cnt > UINT32_MAX)
            return -1;
        code = k ? code + (int64_t)z : unzigzag(z);
        if (code < INT32_MIN || code > INT32_MAX || !code_ok(c, sketch, code))
            return -1;
        s->a[k] = (struct gbd_pair){(int32_t)code, (uint32_t)cnt};
        s->n = (uint32_t)k + 1;
        *sum += cnt;
    }
    return 0;
}

/* Whether sketch store s is canonical (collapse would change nothing). */
static int canonical(const struct gbd_store *s)
{
    uint32_t p0 = lower(s, 1), p1 = lower(s, C_PINF);
    uint32_t n0 = lower(s, C_NINF + 1), n1 = lower(s, 0);
    return !(p1 > p0 && s->a[p1 - 1].code - s->a[p0].code >=
                        SKETCH_MAX_BINS) &&
           !(n1 > n0 && s->a[n1 - 1].code - s->a[n0].code >=
                        SKETCH_MAX_BINS);
}

int gbd_decode(const struct gbd_config *c, struct gbd_store *st,
               const unsigned char **p, const unsigned char *end, uint64_t n)
{
    size_t ns = gbd_nstores(c);
    for (size_t s = 0; s < ns; s++) {
        int sketch = c->quant && s == ns - 1;
        uint64_t sum;
        st[s] = (struct gbd_store){NULL, 0, 0};
        if (store_decode(c, sketch, &st[s], p, end, &sum) < 0 ||
            (sketch ? sum != n || !canonical(&st[s]) : sum > n)) {
            gbd_clear(c, st);
            return -1;
        }
    }
    return 0;
}

/* ---- results --------------------------------------------------------- */

void gbd_hist_row(const struct gbd_config *c, const struct gbd_store *st,
                  uint64_t *out)
{
    memset(out, 0, (size_t)c->hb.nbins * sizeof *out);
    for (uint32_t k = 0; c->hist && k < st->n; k++)
        out[st->a[k].code] = st->a[k].count;
}

/* The estimate of sketch code x, memoised in cache (a pure function of
 * the code: a bucket's representative takes a bisection to find). */
static double code_value(const struct sketch_params *sp,
                         struct gbd_repcache *cache, int32_t x)
{
    if (x == C_NINF || x == C_PINF)
        return x == C_PINF ? INFINITY : -INFINITY;
    if (x == 0)
        return 0.0;
    size_t h = (uint32_t)x % GBD_REPCACHE;
    if (cache->full[h] && cache->code[h] == x)
        return cache->rep[h];
    double v = is_pos(x) ? sketch_rep(sp->mult, x - C_BASE)
                         : -sketch_rep(sp->mult, -C_BASE - x);
    cache->full[h] = 1;
    cache->code[h] = x;
    cache->rep[h] = v;
    return v;
}

void gbd_quantiles(const struct gbd_config *c, const struct gbd_store *st,
                   uint64_t n, double min, double max,
                   struct gbd_repcache *cache, double *out)
{
    const struct sketch_params *sp = &c->sp;
    const struct gbd_store *s = st + (c->hist != 0);
    uint64_t seen = 0;
    uint32_t k = 0;
    for (unsigned i = 0; i < sp->nq; i++) {
        unsigned o = sp->order[i];
        if (n == 0) {
            out[o] = NAN;
            continue;
        }
        uint64_t r = sketch_rank(sp->q[o], n);
        while (k < s->n && seen + s->a[k].count < r)
            seen += s->a[k++].count;
        if (r == 1 || r == n || k == s->n) {    /* the ends are exact */
            out[o] = r == 1 ? min : max;
            continue;
        }
        double v = code_value(sp, cache, s->a[k].code);
        out[o] = v < min ? min : v > max ? max : v;
    }
}

uint64_t gbd_bytes(uint64_t nkeys, uint64_t records, size_t ncol,
                   size_t nst)
{
    uint64_t stores = nkeys * (uint64_t)ncol * nst;
    uint64_t per = sizeof(struct gbd_store) * 3 / 2 + 32;
    uint64_t vals = records * (uint64_t)ncol * nst;
    if ((stores && per > UINT64_MAX / stores) || vals > UINT64_MAX / 16 ||
        stores * per > UINT64_MAX - vals * 16)
        return UINT64_MAX;
    return stores * per + vals * 16;
}
