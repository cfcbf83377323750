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
    int per_cell;           /* leading dims are the cell shape */
    int rank;
    uint64_t dims[H5B_MAX_RANK];
    uint64_t nelem;
    void *data;
    uint32_t str_width;     /* > 0: nelem strings of this many bytes
                             * (NUL-padded) rather than numbers of type */
    /* group_by on a field (keyed.h): key_axis: axis 0 runs over the
     * keys, the rest is the result's own shape (cells first when
     * per_cell); coord_only: the keys themselves, not written as a
     * dataset but as the key axis' coordinate variable (ncdims.h). */
    int key_axis, coord_only;
};

struct results {
    struct result *r;
    size_t n;
    const char *group;      /* group for the next put(); caller-owned */
    int cell_rank;          /* cell shape for put_cells(); caller-set */
    uint64_t cell_dims[H5B_MAX_RANK];
};

/* Append to rs, under rs->group, a copy of n fixed-length strings of
 * width bytes each (NUL-padded) at data, as a 1-D result `name`. */
int results_put_strings(struct results *rs, const char *name,
                        uint32_t width, uint64_t n,
                        const void *data, struct h5b_error *err);

/* Append to rs, under rs->group, the numeric result `name` whose values
 * are data itself, not a copy: rs owns data from the call on (freed by
 * results_free, or at once on failure), so it must come from malloc or
 * hugepage_alloc and hold the product of dims values of type. */
int results_adopt(struct results *rs, const char *name, h5b_type type,
                  int rank, const uint64_t *dims, void *data,
                  struct h5b_error *err);

/* A sink that appends a copy of each result to rs under rs->group. */
struct h5b_sink results_sink(struct results *rs);

/* Copy the results of one tile of cells into rs.  A tile covers indices
 * [col0, col0 + w) of the first cell dimension, whose full length is
 * dim1; per-cell results are placed at their offset in arrays of the full
 * shape (created on first use; with key_axis, for every key along the
 * leading axis), others are taken from the first tile with their flags. */
int results_stitch(struct results *rs, const struct results *tile,
                   uint64_t col0, uint64_t dim1, struct h5b_error *err);

/* The result group/name, or NULL. */
const struct result *results_find(const struct results *rs,
                                  const char *group, const char *name);

/* Value j of r as a double (for printing). */
double results_value(const struct result *r, uint64_t j);

void results_free(struct results *rs);

#endif
