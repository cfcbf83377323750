/* sketchmap.h -- the bucket mapping of the quantile sketch (op_quantile.c),
 * shared with group-by's per-key sketches (gbdist.c).
 *
 * A nonzero finite magnitude m with SKETCH_TINY < m goes to bucket
 * sketch_bucket(mult, m); every magnitude in a bucket is within relative
 * error `accuracy` of sketch_rep(mult, i) (op_quantile.c's header comment
 * has the proof).  A store keeps at most SKETCH_MAX_BINS buckets of one
 * sign, collapsing the lowest magnitudes into the lowest kept bucket.
 * Exposed so that both sketches give the same buckets and the same
 * estimates from the same counts.  No MPI, no HDF5.
 */
#ifndef H5B_SKETCHMAP_H
#define H5B_SKETCHMAP_H

#include <stdint.h>

#include "h5batch/operator.h"

#define SKETCH_MAX_BINS 2048
#define SKETCH_TINY 1e-300
#define SKETCH_MAX_QUANTILES 64

/* The quantiles and accuracy of a job, as op_quantile parses them. */
struct sketch_params {
    double accuracy;            /* as given */
    double mult;                /* the bucket constant k */
    int64_t idx_lim;            /* |bucket index| never exceeds this */
    unsigned nq;
    double q[SKETCH_MAX_QUANTILES];         /* as given */
    unsigned order[SKETCH_MAX_QUANTILES];   /* indexes of q, ascending */
};

/* Parse cfg's quantiles and quantile_accuracy (or their defaults) into
 * *sp; H5B_EINPUT-style failure (h5b_fail) with a message otherwise. */
int sketch_params(const struct h5b_op_config *cfg, struct sketch_params *sp,
                  struct h5b_error *err);

/* The bucket of magnitude m, SKETCH_TINY < m <= DBL_MAX. */
int64_t sketch_bucket(double mult, double m);

/* The estimate reported for every magnitude of bucket i. */
double sketch_rep(double mult, int64_t i);

/* The 1-based rank numpy's method="inverted_cdf" picks for q among n. */
uint64_t sketch_rank(double q, uint64_t n);

#endif
