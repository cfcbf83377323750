/* weightsread.h -- [reduce] weights against the input: the weights
 * dataset (or the latitude coordinate, for coslat) read from the first
 * input file, matched to the cell shape and expanded to one weight per
 * selected cell (weights.h says the rules).
 *
 * The cell dimensions are named as ncdims.h reads them; a weights
 * dataset's axes by its own dimension scales or labels.  coslat takes the
 * cell dimension named lat or latitude (any case), else the one whose
 * coordinate variable has standard_name = latitude, and reads that
 * coordinate variable's values.  Rank 0 reads the weights once, before
 * the plan is used; the workers get them in SETUP (wire.h).
 */
#ifndef H5B_WEIGHTSREAD_H
#define H5B_WEIGHTSREAD_H

#include <stdint.h>

#include "selread.h"
#include "source.h"

/* The weight of every selected value of a record of s (with selection
 * sel, inactive when none) into a new array *out of *n values (free()).
 * On failure (a missing or unreadable dataset, a shape not broadcastable
 * to the cells, NaN, infinite or negative weights, all-zero selected
 * weights, coslat without a latitude coordinate) the message starts
 * "[reduce] weights = SPEC" and *out is NULL. */
int weightsread_resolve(const struct source *s, const struct selection *sel,
                        const char *dataset, const char *spec, double **out,
                        uint64_t *n, struct h5b_error *err);

#endif
