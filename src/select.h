/* select.h -- [input] select: NCO-style hyperslabs, parsed and resolved.
 *
 * The value is a list of specs `dim,min,max[,stride]`, one per dimension,
 * separated by spaces (NCO's -d convention).  A bound written as an
 * integer is an index; one with a decimal point or an exponent is a
 * coordinate value.  Both are inclusive, and either may be left empty
 * (the dimension's start or end).  A coordinate range [min, max] selects
 * the indices whose coordinate values lie within it; the coordinate must
 * then be monotonic (increasing or decreasing), so that those indices are
 * one run.  The stride (an integer >= 1) steps through that run from its
 * first index.  Everything here is plain C over plain arrays: reading
 * names and coordinate values is the caller's (selread.h).  No MPI, no
 * HDF5.
 */
#ifndef H5B_SELECT_H
#define H5B_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"

#define SELECT_NAME_MAX 256

/* One bound of a spec. */
enum select_bound { SELECT_OPEN = 0, SELECT_INDEX, SELECT_COORD };

struct select_spec {
    char dim[SELECT_NAME_MAX];
    enum select_bound lo_kind, hi_kind;
    uint64_t lo_index, hi_index;    /* for SELECT_INDEX */
    double lo_coord, hi_coord;      /* for SELECT_COORD */
    uint64_t stride;                /* >= 1 */
};

struct select_list {
    size_t n;
    struct select_spec spec[H5B_MAX_RANK];
};

/* What a spec resolves to along its dimension: indices first,
 * first + stride, ..., count of them. */
struct select_range {
    uint64_t first, count, stride;
};

/* Parse text into l.  On failure (a malformed spec, stride 0, a
 * dimension named twice, more specs than H5B_MAX_RANK) why gets a
 * one-line reason naming the spec, and l holds nothing useful. */
int select_parse(const char *text, struct select_list *l, char *why,
                 size_t whylen);

/* Whether spec s has a coordinate bound. */
int select_uses_coord(const struct select_spec *s);

/* Resolve s along a dimension of len indices, whose coordinate values
 * are coord[0..len) (NULL when it has none), into r.  Fails (why gets a
 * reason naming the dimension) on an index bound past the end, a
 * coordinate bound without coordinate values or outside their range, a
 * coordinate that is not monotonic, and an empty selection. */
int select_resolve(const struct select_spec *s, uint64_t len,
                   const double *coord, struct select_range *r, char *why,
                   size_t whylen);

/* The part of r (indices over all files, dim 0) in a file holding
 * indices [file_first, file_first + file_len): *first the first selected
 * index within the file, return value how many. */
uint64_t select_in_file(const struct select_range *r, uint64_t file_first,
                        uint64_t file_len, uint64_t *first);

#endif
