/* gbdist.h -- group-by's per-key distributions: a histogram and a quantile
 * sketch per key and column, each a sparse store of the buckets it uses.
 *
 * A store is a sorted array of (code, count) pairs with strictly
 * increasing codes and non-zero counts, so it costs 16 bytes plus 8 per
 * bucket in use (capacity grows 3, 6, 12, ...), never bins x 8 bytes or a
 * whole sketch window.  A histogram's code is its bin (histbin.h: the
 * bins of op_hist, numpy's).  A sketch's code orders the buckets of
 * op_quantile's mapping (sketchmap.h) as their values: -inf, negatives by
 * decreasing magnitude, zero (and |x| <= SKETCH_TINY), positives, +inf.
 * Like op_quantile's stores, a sign keeps at most SKETCH_MAX_BINS buckets
 * below its largest magnitude and collapses the smallest magnitudes into
 * the lowest kept one, at once, so a store is always in this canonical
 * form: a function of its multiset of values, whatever the partitions
 * and merge order.  Hence the same relative accuracy as the whole-column
 * sketch, and the same bytes on any number of ranks.
 *
 * Counts are uint32 per bucket: a key with more than 2^32 - 1 values in
 * one bucket is refused (H5B_EINPUT), never wrapped.  No MPI, no HDF5.
 */
#ifndef H5B_GBDIST_H
#define H5B_GBDIST_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"
#include "histbin.h"
#include "sketchmap.h"

struct gbd_pair {
    int32_t code;
    uint32_t count;
};

/* n pairs at a, cap allocated; all zero when empty. */
struct gbd_store {
    struct gbd_pair *a;
    uint32_t n, cap;
};

/* One column's distributions: which, and their parameters. */
struct gbd_config {
    int hist, quant;
    struct histbin hb;
    struct sketch_params sp;
};

/* Stores per (key, column): the histogram's first, then the sketch's. */
static inline size_t gbd_nstores(const struct gbd_config *c)
{
    return (size_t)(c->hist != 0) + (size_t)(c->quant != 0);
}

/* Count the non-NaN value x into st (gbd_nstores(c) stores).  On failure
 * (no memory, a count past 2^32 - 1) st may only be cleared. */
int gbd_add(const struct gbd_config *c, struct gbd_store *st, double x,
            struct h5b_error *err);

/* acc := acc (+) later, store by store.  On failure a store of acc may
 * be merged and the next not: acc may then only be cleared. */
int gbd_merge(const struct gbd_config *c, struct gbd_store *acc,
              const struct gbd_store *later, struct h5b_error *err);

/* Free the pairs of st's stores and zero them. */
void gbd_clear(const struct gbd_config *c, struct gbd_store *st);

/* Encoded bytes of st; gbd_encode writes them at q and returns q + that:
 * per store varint n, then per pair varint (code, zigzag, for the first;
 * the gap to the previous after) and varint count. */
size_t gbd_encoded_size(const struct gbd_config *c,
                        const struct gbd_store *st);
unsigned char *gbd_encode(const struct gbd_config *c,
                          const struct gbd_store *st, unsigned char *q);

/* Decode st (empty) from [*p, end) for a key of n non-NaN values; advance
 * *p.  -1 if truncated, codes out of order or range, counts that do not
 * add up (the sketch's to n, the histogram's to at most n) or a sketch
 * not in canonical form; st is then empty. */
int gbd_decode(const struct gbd_config *c, struct gbd_store *st,
               const unsigned char **p, const unsigned char *end,
               uint64_t n);

/* The histogram row (nbins counts) of st into out. */
void gbd_hist_row(const struct gbd_config *c, const struct gbd_store *st,
                  uint64_t *out);

/* Bucket representatives already computed, by code (direct-mapped);
 * zero it before first use, and use it with one sketch_params only. */
#define GBD_REPCACHE 4096
struct gbd_repcache {
    int32_t code[GBD_REPCACHE];
    unsigned char full[GBD_REPCACHE];
    double rep[GBD_REPCACHE];
};

/* The nq quantile estimates of st (a key of n values, min and max) into
 * out, in the order of c->sp.q; NaN if n == 0.  cache (see above) only
 * saves time: the estimates do not depend on it. */
void gbd_quantiles(const struct gbd_config *c, const struct gbd_store *st,
                   uint64_t n, double min, double max,
                   struct gbd_repcache *cache, double *out);

/* Most bytes the stores of nkeys keys x ncol columns take with nst
 * stores each, after `records` values in all (per column): the headers
 * (rows grow by half), an allocation of at least 32 bytes per store in
 * use, and 16 bytes per value that opens a bucket (capacity doubles). */
uint64_t gbd_bytes(uint64_t nkeys, uint64_t records, size_t ncol,
                   size_t nst);

#endif
