/* results.h -- the named results of a run, collected in memory.
 *
 * Operators write through an h5b_sink; the sink built here copies each
 * result into a list under the current group (one group per result column)
 * so that the HDF5 writer and the text/JSON summary read the same values.
 * Results are per-cell maps, small next to the data.  No MPI, no HDF5.
 */
#ifndef H5B_RESULTS_H
#define H5B_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"

struct result {
    char *group, *name;     /* name may contain '/' */
    h5b_type type;
    int rank;
    uint64_t dims[H5B_MAX_RANK];
    uint64_t nelem;
    void *data;
};

struct results {
    struct result *r;
    size_t n;
    const char *group;      /* group for the next put(); caller-owned */
};

/* A sink whose put() appends a copy to rs under rs->group. */
struct h5b_sink results_sink(struct results *rs);

/* The result group/name, or NULL. */
const struct result *results_find(const struct results *rs,
                                  const char *group, const char *name);

/* Value j of r as a double (for printing). */
double results_value(const struct result *r, uint64_t j);

void results_free(struct results *rs);

#endif
