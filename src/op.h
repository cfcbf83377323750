/* op.h -- the operator registry and the set of operators one job runs.
 *
 * Every operator, built-in or (later) loaded from a plugin, is a const
 * h5b_operator table listed in one registry.  An opset is the operators a
 * job needs plus the shared h5b_op_config; a "partial" is one state per
 * operator in the set.  The opset moves partials through their life:
 * create, update with a block of records, merge in partition order,
 * encode/decode for the wire, finalize into a sink.  No MPI, no HDF5.
 */
#ifndef H5B_OP_H
#define H5B_OP_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"

#define OPSET_MAX 16

/* Most memory the counts of one column's histogram may take. */
#define OP_HIST_MAX_BYTES ((uint64_t)256 << 20)

/* Most bytes one partial of a built-in operator holds over ncell cells
 * (the memory plan, memplan.h): moments' cells and merge scratch (and
 * exact accumulators with [reduce] exact = yes); a
 * histogram's counts, edges and one-cell sub-counts for `bins` bins; a
 * quantile sketch's cells with both stores at their largest. */
uint64_t op_moments_bytes(uint64_t ncell, int exact);
uint64_t op_hist_bytes(uint64_t ncell, uint64_t bins);
uint64_t op_quantile_bytes(uint64_t ncell);
/* ... and the weighted statistics' cells ([reduce] weights). */
uint64_t op_weighted_bytes(uint64_t ncell);
/* ... and the per-record summaries of `records` records (axis = records). */
uint64_t op_records_bytes(uint64_t records);

/* Most bytes a histogram partial of `records` records (each a value per
 * cell) takes encoded: dense counts, or the nonzero ones when fewer. */
uint64_t op_hist_encoded_bytes(uint64_t ncell, uint64_t bins,
                               uint64_t records);

/* Built-in operators. */
extern const h5b_operator op_moments;
extern const h5b_operator op_hist;
extern const h5b_operator op_quantile;
/* Not in the registry: the opset adds it after moments when its config
 * carries weights, and moments then leaves sum, mean, var and std to it. */
extern const h5b_operator op_weighted;
/* Not in the registry either: with axis = records (cfg.per_record) it is
 * the opset's only operator and provides every output the job may ask. */
extern const h5b_operator op_records;

/* The operator that provides output `name` (e.g. "mean") or the plugin
 * registered as `name`, or NULL. */
const h5b_operator *op_find_output(const char *name);

/* Register a loaded plugin operator under `name` (kept, not copied).
 * Registering the same name again replaces it. */
int op_register_plugin(const char *name, const h5b_operator *op,
                       struct h5b_error *err);

/* Is `name` the name of an output some registered operator provides? */
int op_known_output(const char *name);

/* Space-separated list of every known output name, for messages. */
const char *op_output_names(void);

struct opset {
    size_t nops;
    const h5b_operator *ops[OPSET_MAX];
    struct h5b_op_config cfg;               /* shared part */
    struct h5b_op_config opcfg[OPSET_MAX];  /* per operator: cfg + op_name */
    const char *names[OPSET_MAX];           /* each operator's job name */
};

/* A partial result: one state per operator of the set. */
struct partial {
    void *state[OPSET_MAX];
};

/* Fill set with the operators providing each name in outputs
 * (NULL-terminated, owned by the caller and kept alive), the moments
 * operator always first, then the weighted one when shape has weights;
 * with shape->per_record, op_records alone.  cfg's type, ncell, cell shape and arg lookup are
 * copied from `shape`. */
int opset_init(struct opset *set, const struct h5b_op_config *shape,
               const char *const *outputs, struct h5b_error *err);

/* Create an empty partial.  On failure nothing is left allocated. */
int opset_create(const struct opset *set, struct partial *p,
                 struct h5b_error *err);

/* Free every state of p (safe on a zeroed or half-created partial). */
void opset_destroy(const struct opset *set, struct partial *p);

int opset_update(const struct opset *set, struct partial *p,
                 const struct h5b_block *blk, struct h5b_error *err);

/* acc := acc (+) later, later covering the records right after acc's. */
int opset_merge(const struct opset *set, struct partial *acc,
                const struct partial *later, struct h5b_error *err);

/* Bytes opset_encode will write for p. */
size_t opset_encoded_size(const struct opset *set, const struct partial *p);

/* Encode p as, per operator, a u64 length then its bytes. */
int opset_encode(const struct opset *set, const struct partial *p,
                 unsigned char *buf, size_t len, struct h5b_error *err);

/* Decode bytes from opset_encode into a created partial; every length is
 * checked against len. */
int opset_decode(const struct opset *set, struct partial *p,
                 const unsigned char *buf, size_t len, struct h5b_error *err);

int opset_finalize(const struct opset *set, const struct partial *p,
                   const struct h5b_sink *sink, struct h5b_error *err);

/* Create p and fold into it nbytes of values, whole cfg.ncell-value
 * records of cfg.type starting at record first_record.  The one path by
 * which a partition becomes a partial, on a worker or on rank 0 alone. */
int opset_reduce(const struct opset *set, const void *data, size_t nbytes,
                 uint64_t first_record, struct partial *p,
                 struct h5b_error *err);
#endif
