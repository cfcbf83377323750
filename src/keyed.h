/* keyed.h -- per-key partials of a field's columns: group_by on records
 * of many cells (climatologies).
 *
 * A keyed partial holds, for every key its records brought, one opset
 * partial per value column: the same per-cell state the column keeps
 * for axis = 0, so every statistic, weights and exact sums work per key
 * as they do for the whole field.  Keys are int64 (a key dataset's
 * values, or a calendar part of a CF time coordinate, cftime.h), held in
 * increasing order.  Determinism: within a partition a key's records are
 * folded in record order, a run of consecutive records of one key at a
 * time (so a key's bits depend on the partition boundaries only, as
 * op.h's contract asks), and partials are merged in partition order key
 * by key; a key new to the accumulator gets a created state first, into
 * which the partial is merged (as rank 0's accumulators start).  Memory: keys x columns x the opset's state per cell
 * (op_moments_bytes and the rest); nothing grows with the records.  No
 * MPI, no HDF5.
 */
#ifndef H5B_KEYED_H
#define H5B_KEYED_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"
#include "op.h"
#include "results.h"

#define KEYED_MAX_COLUMNS 256

/* What a keyed partial holds; set[] are the columns' opsets (kept alive
 * by the caller). */
struct keyed_config {
    size_t ncol;
    const struct opset *set[KEYED_MAX_COLUMNS];
    uint64_t elems;         /* values of a column per record */
    uint64_t max_keys;      /* most keys a partial may hold; 0: no limit */
};

struct keyed_partial {
    uint64_t n, cap;
    int64_t *key;           /* n keys, strictly increasing */
    struct partial *p;      /* n * ncol partials, key-major */
};

/* An empty partial in *kp (NULL on failure). */
int keyed_create(struct keyed_partial **kp, struct h5b_error *err);

/* Free kp and its partials; NULL is a no-op. */
void keyed_destroy(const struct keyed_config *c, struct keyed_partial *kp);

/* Make sure kp holds every one of the n keys (creating empty partials for
 * the new ones).  H5B_EINPUT naming the limit when there would be more
 * than max_keys. */
int keyed_add_keys(const struct keyed_config *c, struct keyed_partial *kp,
                   const int64_t *keys, uint64_t n, struct h5b_error *err);

/* Fold n records of column col into kp: record r has key keys[r] (added
 * by keyed_add_keys) and its c->elems values at vals + r * elems * the
 * column type's size; first_record is the global index of record 0. */
int keyed_update(const struct keyed_config *c, struct keyed_partial *kp,
                 size_t col, const int64_t *keys, uint64_t n,
                 const void *vals, uint64_t first_record,
                 struct h5b_error *err);

/* acc := acc (+) later, later covering the records right after acc's. */
int keyed_merge(const struct keyed_config *c, struct keyed_partial *acc,
                const struct keyed_partial *later, struct h5b_error *err);

/* Bytes keyed_encode writes: u64 keys, then per key an i64 key and per
 * column a u64 length and the opset's bytes. */
size_t keyed_encoded_size(const struct keyed_config *c,
                          const struct keyed_partial *kp);

int keyed_encode(const struct keyed_config *c, const struct keyed_partial *kp,
                 unsigned char *buf, size_t len, struct h5b_error *err);

/* Decode into an empty partial; lengths checked, keys must increase. */
int keyed_decode(const struct keyed_config *c, struct keyed_partial *kp,
                 const unsigned char *buf, size_t len, struct h5b_error *err);

/* How finalize names things: groups[col] is column col's group;
 * key_name the key axis ("month", or a key dataset's name); season: keys
 * 0..3 are written as the strings cftime_season_name() gives. */
struct keyed_names {
    const char *const *groups;
    const char *key_name;
    int season;
};

/* Write into rs, per column, each result of the opset stacked over the
 * keys: shape (keys, the result's own shape...), marked key_axis, and
 * the keys as a coordinate-only result named key_name in the column's
 * group (results.h). */
int keyed_finalize(const struct keyed_config *c,
                   const struct keyed_partial *kp,
                   const struct keyed_names *names, struct results *rs,
                   struct h5b_error *err);

#endif
