/* groupby.h -- group-by aggregation: per-key statistics of value columns.
 *
 * `[reduce] group_by` splits the records of a 1-D dataset by an integer
 * key and computes, for every distinct key and every value column, count
 * and any of sum mean var std min max (plus nan_count for float columns).
 * A partial holds, for the keys seen so far, one cell per value column:
 * count, NaN count, a shift (the key's first value in that column, if
 * finite), the mean relative to the shift and M2 (Welford per value, Chan
 * et al. to merge, as op_moments), a Neumaier-compensated sum, and min/max
 * as double.
 *
 * Determinism: within a key, values are folded in record order and
 * partials merged in partition order, so a key's cells depend only on the
 * partition boundaries (one gb_update of a partition or several of its
 * consecutive pieces give the same bits).  Rows are kept in whatever order
 * keys arrived, but gb_update() ends by sorting them, gb_decode() accepts
 * only strictly increasing keys, and gb_encode()/gb_finalize() always
 * visit keys in increasing order, so neither hash-table nor row order
 * reaches bytes or results.
 *
 * Keys are int64, or (key parts: string and composite keys) fixed-width
 * byte strings compared with memcmp: their rows keep a hash in keys[] and
 * the bytes beside, and they are radix-sorted by their bytes.
 *
 * With histogram or quantiles, every (key, column) also has a per-key
 * histogram over the column's one shared range and/or a sketch with the
 * whole-column sketch's accuracy, as sparse stores (gbdist.h).
 *
 * Memory: a partial holds 8 + 72 * ncol bytes per distinct key at most
 * (rows grow by half; the sum is kept only for sum and mean, min and max
 * only for min, max and quantiles: count, mean and std take 56 bytes per
 * cell, count, var and std 40), and with distributions 16 bytes per store per (key, column)
 * plus its pairs (gbd_bytes).  gb_update() adds a hash table of 16-byte slots (load <= 0.7:
 * 23..46 bytes per key), sorts in it (with 16 bytes per key of scratch)
 * and frees it before returning.  An accumulator keeps its table between
 * gb_merge() calls, so that a merge costs O(keys of `later`) rather than
 * O(keys so far).  gb_encode() and gb_finalize() of an accumulator take
 * 32 bytes per key while they run.  Nothing is proportional to the
 * records.  No MPI, no HDF5.
 */
#ifndef H5B_GROUPBY_H
#define H5B_GROUPBY_H

#include <stddef.h>
#include <stdint.h>

#include "gbdist.h"
#include "h5batch/operator.h"
#include "results.h"

#define GB_MAX_COLUMNS 256
#define GB_MAX_PARTS 8
#define GB_PART_NAME 128
#define GB_MAX_KEY_BYTES 4096

/* One part of a key given as bytes (see gb_config.nparts): an integer
 * (width 0: 8 bytes in the key, as gb_key_put_int() writes them) or a
 * fixed-length string of `width` bytes, NUL-padded.  Keys compare as
 * their bytes (memcmp), so parts sort lexicographically in order. */
struct gb_keypart {
    char name[GB_PART_NAME];    /* names the part's output dataset */
    uint32_t width;             /* string bytes; 0: an integer */
};

/* What to compute.  gb_create() copies what it needs: the config and the
 * arrays it points to need not outlive the call. */
struct gb_config {
    size_t ncol;                /* value columns, 0..GB_MAX_COLUMNS; 0
                                 * counts the rows per key (only the
                                 * output count may be asked for) */
    const h5b_type *type;       /* ncol types of the values given to
                                 * gb_update (after any CF conversion) */
    uint64_t elems;             /* elements per record: must be 1 */
    const char *const *outputs; /* requested names, NULL-terminated; each
                                 * one of count sum mean var std min max
                                 * histogram quantiles */
    const struct gbd_config *dist; /* with histogram or quantiles: ncol
                                 * columns' parameters (gbdist.h), each
                                 * asking for what outputs asks */
    int ddof;                   /* 0 or 1 */
    int exact;                  /* exact sums (exactsum.h) for sum, mean,
                                 * var and std */
    uint64_t max_keys;          /* distinct keys a partial may hold; 0: no
                                 * limit */
    uint64_t mem_keys;          /* the same, from the memory limit rather
                                 * than the user (memplan_key_cap); 0: no
                                 * limit */
    size_t nparts;              /* 0: one integer key, given to gb_update
                                 * as int64; 1..GB_MAX_PARTS: keys given
                                 * as bytes, the parts' concatenation */
    const struct gb_keypart *parts;
};

struct gb_partial;

/* Check c as gb_create() would, without allocating: H5B_EINPUT with a
 * message for a config the user can fix (records of more than one
 * element, an output group-by cannot compute, ddof, column count). */
int gb_check(const struct gb_config *c, struct h5b_error *err);

/* Allocate an empty partial for c in *p.  On failure *p is NULL. */
int gb_create(const struct gb_config *c, struct gb_partial **p,
              struct h5b_error *err);

/* Most bytes a partial of nkeys keys over ncol columns holds, with its
 * rows and hash table grown in steps and a sort's scratch (memplan.h);
 * exact: with exact sums. */
uint64_t gb_bytes(uint64_t nkeys, size_t ncol, int exact);

/* Bytes a partial of nkeys keys of kw bytes each (gb_key_bytes) holds
 * beside gb_bytes(): the key bytes, grown by half, and their copy while
 * rows are sorted; 0 for int64 keys (kw 0). */
uint64_t gb_key_extra(uint64_t nkeys, size_t kw);

/* Most bytes of rows gb_reserve() asks for. */
#define GB_RESERVE_MAX ((uint64_t)1 << 30)

/* Make room in p for nkeys keys (at most max_keys, mem_keys and
 * GB_RESERVE_MAX bytes of rows), so that an accumulator that will hold
 * many keys is not copied each time it grows.  Only address space: the
 * pages are touched as keys arrive (hugepage.h).  A hint: if the memory
 * cannot be had, p is as before, perhaps with some longer arrays. */
void gb_reserve(struct gb_partial *p, uint64_t nkeys);

/* Free p; NULL is a no-op. */
void gb_destroy(struct gb_partial *p);

/* Distinct keys p holds. */
uint64_t gb_nkeys(const struct gb_partial *p);

/* Fold n records into p: record i has key keys[i] (int64; with key parts,
 * the gb_key_bytes() bytes at keys + i * that) and, in column j, value
 * i of values[j] (n contiguous values of the column's type; NaN is counted
 * in nan_count, not folded).  The records are those right after any
 * already folded.  A call costs O(n) plus, if it brings new keys, a
 * radix sort and a reordering of all keys held: feed whole partitions or
 * large pieces.  H5B_EINPUT if p would hold more than max_keys keys.  On
 * failure p may only be destroyed (other calls on it fail). */
int gb_update(struct gb_partial *p, const void *keys,
              const void *const *values, uint64_t n, struct h5b_error *err);

/* acc := acc (+) later, where later covers the records right after those
 * of acc (the next partition in order).  later is not modified and must
 * not be acc.  Partials of different configs (columns, types, or outputs
 * needing other fields) are refused with acc unchanged.  H5B_EINPUT if
 * acc would hold more than max_keys keys; after that or running out of
 * memory, acc may only be destroyed. */
int gb_merge(struct gb_partial *acc, const struct gb_partial *later,
             struct h5b_error *err);

/* Exact number of bytes gb_encode() writes for p. */
size_t gb_encoded_size(const struct gb_partial *p);

/* Write p into buf, which must be exactly gb_encoded_size(p) bytes:
 * little-endian, host-independent, only the fields the requested outputs
 * need, counts and (zigzag) keys as varints. */
int gb_encode(const struct gb_partial *p, unsigned char *buf, size_t len,
              struct h5b_error *err);

/* Replace the contents of p (from gb_create() with the config of the
 * encoder) with the len bytes at buf; buf is not kept.  Every length is
 * checked: truncated or trailing bytes, a different config, keys out of
 * order or repeated, and counts that disagree between columns are
 * rejected (H5B_ERUN), never read out of bounds.  On failure p is
 * unchanged. */
int gb_decode(struct gb_partial *p, const unsigned char *buf, size_t len,
              struct h5b_error *err);

/* Bytes of one key of config c: 8 per integer part and the width of each
 * string part; 0 for a plain integer key (nparts 0). */
size_t gb_key_bytes(const struct gb_config *c);

/* Write v at dst as the 8 bytes of an integer key part: big-endian with
 * the sign bit flipped, so that memcmp orders as the integers do. */
void gb_key_put_int(unsigned char *dst, int64_t v);

/* Write the results of a fully merged p into rs: for column j, under
 * group group_names[j] (with no value column: group_names[0], the rows
 * per key), "groupby/keys" (int64, sorted), "groupby/count"
 * and for float columns "groupby/nan_count" (uint64), then each requested
 * of "groupby/sum", mean, var, std, min, max (float64; NaN where a key has
 * no values, var/std NaN where count <= ddof).  All have shape [nkeys].
 * With key parts, the keys are instead one dataset per part: with one
 * part "groupby/keys", else "groupby/keys_NAME" for part NAME; integer
 * parts as int64, string parts as strings (results_put_strings).
 * With histogram: "groupby/histogram" (uint64, [nkeys, bins]) and
 * "groupby/histogram_edges" ([bins + 1]); with quantiles:
 * "groupby/quantiles" (float64, [nkeys, nq]; NaN for a key with no
 * values) and "groupby/probabilities" ([nq]).
 * rs->group is restored before returning.  On failure rs may hold some of
 * the results. */
int gb_finalize(const struct gb_partial *p, const char *const *group_names,
                struct results *rs, struct h5b_error *err);

/* Can a column of type t be a group_by key?  (Any integer type.) */
int gb_key_type_ok(h5b_type t);

/* Widen n keys of integer type t at src into dst.  H5B_EINPUT for a
 * non-integer type or a uint64 key above INT64_MAX; dst is then partly
 * written. */
int gb_keys_to_int64(h5b_type t, const void *src, uint64_t n, int64_t *dst,
                     struct h5b_error *err);

#endif
