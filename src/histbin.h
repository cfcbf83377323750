/* histbin.h -- the bins of the histogram operator (op_hist.c), shared with
 * group-by's per-key histograms (gbdist.c).
 *
 * One value at a time, the same operations in the same order as op_hist's
 * block kernels, so a value lands in the same bin as numpy.histogram puts
 * it (op_hist.c's header comment).  No MPI, no HDF5.
 */
#ifndef H5B_HISTBIN_H
#define H5B_HISTBIN_H

#include <stdint.h>

#include "h5batch/operator.h"

struct histbin {
    uint64_t nbins;
    double lo, hi, norm, step;
};

/* Parse cfg's histogram_bins and histogram_range into *hb, with the
 * limits op_hist applies to one cell; h5b_fail with a message otherwise. */
int histbin_params(const struct h5b_op_config *cfg, struct histbin *hb,
                   struct h5b_error *err);

/* The bin of x in [0, nbins), or -1 if x is NaN or outside [lo, hi]. */
int64_t histbin_of(const struct histbin *hb, double x);

/* numpy's linspace(lo, hi, nbins + 1) into e (nbins + 1 values). */
void histbin_edges(const struct histbin *hb, double *e);

#endif
