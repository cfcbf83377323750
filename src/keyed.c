/* keyed.c -- per-key opset partials (see keyed.h). */
#include "keyed.h"

#include <stdlib.h>
#include <string.h>

#include "cftime.h"
#include "err.h"

int keyed_create(struct keyed_partial **kp, struct h5b_error *err)
{
    *kp = calloc(1, sizeof **kp);
    return *kp ? 0 : err_set(err, H5B_ERUN, "out of memory for a keyed "
                             "partial");
}

void keyed_destroy(const struct keyed_config *c, struct keyed_partial *kp)
{
    if (!kp)
        return;
    for (uint64_t k = 0; kp->p && k < kp->n; k++)
        for (size_t i = 0; i < c->ncol; i++)
            opset_destroy(c->set[i], &kp->p[k * c->ncol + i]);
    free(kp->key);
    free(kp->p);
    free(kp);
}

/* Index of key in kp, or where it would go (*found 0). */
static uint64_t find(const struct keyed_partial *kp, int64_t key, int *found)
{
    uint64_t lo = 0, hi = kp->n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (kp->key[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < kp->n && kp->key[lo] == key;
    return lo;
}

static int grow(const struct keyed_config *c, struct keyed_partial *kp,
                struct h5b_error *err)
{
    if (kp->n < kp->cap)
        return 0;
    uint64_t cap = kp->cap ? kp->cap * 2 : 16;
    int64_t *key = realloc(kp->key, cap * sizeof *key);
    if (key)
        kp->key = key;
    struct partial *p = key ? realloc(kp->p, cap * c->ncol * sizeof *p)
                            : NULL;
    if (!p)
        return err_set(err, H5B_ERUN, "out of memory for %llu keys",
                       (unsigned long long)cap);
    kp->p = p;
    kp->cap = cap;
    return 0;
}

/* Insert key at index at with empty partials for every column. */
static int insert(const struct keyed_config *c, struct keyed_partial *kp,
                  uint64_t at, int64_t key, struct h5b_error *err)
{
    if (c->max_keys && kp->n >= c->max_keys)
        return err_set(err, H5B_EINPUT, "group_by: more than %llu distinct "
                       "keys", (unsigned long long)c->max_keys);
    int rc = grow(c, kp, err);
    struct partial fresh[KEYED_MAX_COLUMNS];
    size_t made = 0;
    memset(fresh, 0, c->ncol * sizeof *fresh);
    for (; rc == 0 && made < c->ncol; made++)
        rc = opset_create(c->set[made], &fresh[made], err);
    if (rc < 0) {
        for (size_t i = 0; i < made; i++)
            opset_destroy(c->set[i], &fresh[i]);
        return rc;
    }
    memmove(kp->key + at + 1, kp->key + at, (kp->n - at) * sizeof *kp->key);
    memmove(kp->p + (at + 1) * c->ncol, kp->p + at * c->ncol,
            (kp->n - at) * c->ncol * sizeof *kp->p);
    kp->key[at] = key;
    memcpy(kp->p + at * c->ncol, fresh, c->ncol * sizeof *fresh);
    kp->n++;
    return 0;
}

int keyed_add_keys(const struct keyed_config *c, struct keyed_partial *kp,
                   const int64_t *keys, uint64_t n, struct h5b_error *err)
{
    int found = 0;
    for (uint64_t r = 0; r < n; r++) {
        if (r && keys[r] == keys[r - 1])
            continue;
        uint64_t at = find(kp, keys[r], &found);
        int rc = found ? 0 : insert(c, kp, at, keys[r], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int keyed_update(const struct keyed_config *c, struct keyed_partial *kp,
                 size_t col, const int64_t *keys, uint64_t n,
                 const void *vals, uint64_t first_record,
                 struct h5b_error *err)
{
    const struct opset *set = c->set[col];
    size_t rec = (size_t)c->elems * h5b_type_size(set->cfg.type);
    uint64_t per = c->elems / set->cfg.ncell;   /* opset records/record */
    for (uint64_t r0 = 0, r1; r0 < n; r0 = r1) {
        int found = 0;
        for (r1 = r0 + 1; r1 < n && keys[r1] == keys[r0]; r1++)
            ;
        uint64_t at = find(kp, keys[r0], &found);
        if (!found)
            return err_set(err, H5B_ERUN, "keyed update: key %lld not "
                           "added", (long long)keys[r0]);
        struct h5b_block blk = {(const unsigned char *)vals + r0 * rec,
                                (r1 - r0) * per, (first_record + r0) * per};
        int rc = opset_update(set, &kp->p[at * c->ncol + col], &blk, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int keyed_merge(const struct keyed_config *c, struct keyed_partial *acc,
                const struct keyed_partial *later, struct h5b_error *err)
{
    int rc = 0;
    for (uint64_t k = 0; rc == 0 && k < later->n; k++) {
        int found = 0;
        uint64_t at = find(acc, later->key[k], &found);
        if (!found)
            rc = insert(c, acc, at, later->key[k], err);
        /* a key new to acc starts from a created state, as rank 0's
         * accumulators do (master.c), and merges later into it */
        for (size_t i = 0; rc == 0 && i < c->ncol; i++)
            rc = opset_merge(c->set[i], &acc->p[at * c->ncol + i],
                             &later->p[k * c->ncol + i], err);
    }
    return rc;
}

size_t keyed_encoded_size(const struct keyed_config *c,
                          const struct keyed_partial *kp)
{
    size_t n = 8;
    for (uint64_t k = 0; k < kp->n; k++) {
        n += 8;
        for (size_t i = 0; i < c->ncol; i++)
            n += 8 + opset_encoded_size(c->set[i], &kp->p[k * c->ncol + i]);
    }
    return n;
}

int keyed_encode(const struct keyed_config *c, const struct keyed_partial *kp,
                 unsigned char *buf, size_t len, struct h5b_error *err)
{
    if (len != keyed_encoded_size(c, kp))
        return err_set(err, H5B_ERUN, "keyed encode: buffer of %zu bytes",
                       len);
    size_t off = 8;
    h5b_put_u64(buf, kp->n);
    for (uint64_t k = 0; k < kp->n; k++) {
        h5b_put_u64(buf + off, (uint64_t)kp->key[k]);
        off += 8;
        for (size_t i = 0; i < c->ncol; i++) {
            const struct partial *p = &kp->p[k * c->ncol + i];
            size_t n = opset_encoded_size(c->set[i], p);
            h5b_put_u64(buf + off, n);
            if (opset_encode(c->set[i], p, buf + off + 8, n, err) < 0)
                return err_prefix(err, H5B_ERUN, "key %lld",
                                  (long long)kp->key[k]);
            off += 8 + n;
        }
    }
    return 0;
}

int keyed_decode(const struct keyed_config *c, struct keyed_partial *kp,
                 const unsigned char *buf, size_t len, struct h5b_error *err)
{
    uint64_t nkeys = len >= 8 ? h5b_get_u64(buf) : 0;
    size_t off = 8;
    if (len < 8 || kp->n || nkeys > (len - 8) / 8)
        return err_set(err, H5B_ERUN, "keyed partial of %zu bytes: bad "
                       "key count", len);
    for (uint64_t k = 0; k < nkeys; k++) {
        int64_t key = len - off >= 8 ? (int64_t)h5b_get_u64(buf + off) : 0;
        if (len - off < 8 || (k && key <= kp->key[k - 1]))
            return err_set(err, H5B_ERUN, "keyed partial of %zu bytes: "
                           "keys truncated or not increasing", len);
        off += 8;
        int rc = insert(c, kp, k, key, err);
        for (size_t i = 0; rc == 0 && i < c->ncol; i++) {
            uint64_t n = len - off >= 8 ? h5b_get_u64(buf + off) : 0;
            if (len - off < 8 || n > len - off - 8)
                return err_set(err, H5B_ERUN, "keyed partial of %zu bytes "
                               "truncated at key %lld", len, (long long)key);
            rc = opset_decode(c->set[i], &kp->p[k * c->ncol + i],
                              buf + off + 8, (size_t)n, err);
            off += 8 + (size_t)n;
        }
        if (rc < 0)
            return rc;
    }
    return off == len ? 0 : err_set(err, H5B_ERUN, "keyed partial of %zu "
                                    "bytes has %zu left over", len,
                                    len - off);
}

/* The keys as column group's coordinate: int64, or season strings. */
static int put_keys(const struct keyed_partial *kp,
                    const struct keyed_names *nm, struct results *rs,
                    struct h5b_error *err)
{
    uint64_t dims[1] = {kp->n};
    char *s = nm->season ? calloc(kp->n ? kp->n : 1, 3) : NULL;
    int rc = 0;
    if (nm->season && !s)
        return err_set(err, H5B_ERUN, "out of memory");
    for (uint64_t k = 0; s && k < kp->n; k++)
        memcpy(s + 3 * k, cftime_season_name(kp->key[k]), 3);
    if (s)
        rc = results_put_strings(rs, nm->key_name, 3, kp->n, s, err);
    else {
        struct h5b_sink sink = results_sink(rs);
        rc = sink.put(sink.ctx, nm->key_name, H5B_INT64, 1, dims, kp->key,
                      err);
    }
    free(s);
    if (rc == 0)
        rs->r[rs->n - 1].coord_only = 1;
    return rc;
}

/* Append result j of every key's results one[] stacked along a new
 * leading axis of kp->n keys. */
static int stack(const struct results *one, uint64_t nkeys, size_t j,
                 struct results *rs, struct h5b_error *err)
{
    const struct result *r = &one[0].r[j];
    uint64_t dims[H5B_MAX_RANK];
    size_t bytes = (size_t)r->nelem * h5b_type_size(r->type);
    if (r->rank + 1 > H5B_MAX_RANK || r->str_width)
        return err_set(err, H5B_ERUN, "result '%s' cannot be stacked by key",
                       r->name);
    dims[0] = nkeys;
    memcpy(dims + 1, r->dims, (size_t)r->rank * sizeof *dims);
    unsigned char *data = malloc(bytes * nkeys + 1);
    if (!data)
        return err_set(err, H5B_ERUN, "out of memory for result '%s'",
                       r->name);
    for (uint64_t k = 0; k < nkeys; k++)
        memcpy(data + k * bytes, one[k].r[j].data, bytes);
    struct h5b_sink sink = results_sink(rs);
    int rc = sink.put(sink.ctx, r->name, r->type, r->rank + 1, dims, data,
                      err);
    free(data);
    if (rc == 0) {
        rs->r[rs->n - 1].per_cell = r->per_cell;
        rs->r[rs->n - 1].key_axis = 1;
    }
    return rc;
}

/* Finalize column col of every key into one[] and stack them into rs. */
static int finalize_column(const struct keyed_config *c,
                           const struct keyed_partial *kp, size_t col,
                           struct results *one, struct results *rs,
                           struct h5b_error *err)
{
    const struct opset *set = c->set[col];
    int rc = 0;
    for (uint64_t k = 0; rc == 0 && k < kp->n; k++) {
        one[k].group = rs->group;
        one[k].cell_rank = set->cfg.cell_rank;
        memcpy(one[k].cell_dims, set->cfg.cell_dims, sizeof one[k].cell_dims);
        struct h5b_sink sink = results_sink(&one[k]);
        rc = opset_finalize(set, &kp->p[k * c->ncol + col], &sink, err);
        if (rc == 0 && k && one[k].n != one[0].n)
            rc = err_set(err, H5B_ERUN, "keys gave different results");
    }
    for (size_t j = 0; rc == 0 && kp->n && j < one[0].n; j++)
        rc = stack(one, kp->n, j, rs, err);
    return rc;
}

int keyed_finalize(const struct keyed_config *c,
                   const struct keyed_partial *kp,
                   const struct keyed_names *names, struct results *rs,
                   struct h5b_error *err)
{
    struct results *one = calloc(kp->n ? kp->n : 1, sizeof *one);
    int rc = one ? 0 : err_set(err, H5B_ERUN, "out of memory");
    for (size_t i = 0; rc == 0 && i < c->ncol; i++) {
        rs->group = names->groups[i];
        rs->cell_rank = c->set[i]->cfg.cell_rank;
        memcpy(rs->cell_dims, c->set[i]->cfg.cell_dims,
               sizeof rs->cell_dims);
        rc = put_keys(kp, names, rs, err);
        if (rc == 0)
            rc = finalize_column(c, kp, i, one, rs, err);
        for (uint64_t k = 0; one && k < kp->n; k++)
            results_free(&one[k]);
        if (rc < 0)
            rc = err_prefix(err, rc, "column %s", names->groups[i]);
    }
    free(one);
    return rc;
}
