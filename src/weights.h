/* weights.h -- [reduce] weights: which cell dimension each axis of a
 * weights array lies along, and the weight of every value of a record.
 *
 * The weights are given per cell of the input's record (the dimensions
 * after the record dimension, dim 0), before [input] select; they follow
 * the selection, so a record's k-th selected value gets the weight of its
 * cell.  An axis of the weights lies along one cell dimension, or has
 * length 1 (broadcast).  How the axes are matched (weights_match):
 *   1. by name: every axis of the weights has a dimension scale (or
 *      label) naming a distinct cell dimension;
 *   2. else a 1-D array by length: the one cell dimension of its length
 *      (two or more of that length: ambiguous, an error);
 *   3. else numpy's broadcasting: axes aligned from the right, each of
 *      the cell dimension's length or 1.
 * coslat is the 1-D array cos(lat * pi / 180) along the latitude
 * dimension, as numpy computes np.cos(np.deg2rad(lat)).  Weights must be
 * finite and >= 0, and those of the selected cells must not all be 0.
 * No MPI, no HDF5.
 */
#ifndef H5B_WEIGHTS_H
#define H5B_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"
#include "select.h"

/* The cell shape weights apply to: rank, full lengths and names of the
 * cell dimensions, and the selection along each. */
struct weights_cells {
    int rank;
    uint64_t len[H5B_MAX_RANK];
    const char *name[H5B_MAX_RANK];
    struct select_range range[H5B_MAX_RANK];
};

/* A weights array: rank, extents, each axis's name ("" when it has none)
 * and, from weights_match, the cell dimension of each axis (-1: length
 * 1, broadcast). */
struct weights_array {
    int rank;
    uint64_t dims[H5B_MAX_RANK];
    char name[H5B_MAX_RANK][256];
    int along[H5B_MAX_RANK];
};

/* Fill a->along by the rules above.  On failure why names the rule that
 * failed and both shapes. */
int weights_match(struct weights_array *a, const struct weights_cells *c,
                  char *why, size_t n);

/* Check the n values of w (finite, >= 0).  On failure why names the
 * first bad index and value. */
int weights_check(const double *w, uint64_t n, char *why, size_t whylen);

/* The weight of every selected cell of c, row-major, into out (as many
 * as the selected cells) from the matched array a with values w.  Fails
 * (why) when they are all 0. */
int weights_expand(const double *w, const struct weights_array *a,
                   const struct weights_cells *c, double *out, char *why,
                   size_t n);

/* cos(lat[i] * pi / 180) for the n latitudes in degrees into out; a
 * latitude outside [-90, 90] or not finite fails (why). */
int weights_coslat(const double *lat, uint64_t n, double *out, char *why,
                   size_t whylen);

/* Selected cells of c (the product of the range counts). */
uint64_t weights_ncells(const struct weights_cells *c);

#endif
