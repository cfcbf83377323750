/* srctype.h -- result columns from an input dataset's HDF5 type (srctype.c). */
#ifndef H5B_SRCTYPE_H
#define H5B_SRCTYPE_H

#include <hdf5.h>

#include "source.h"

/* Fill s's columns, memory type, element size and skipped-field list from
 * dataset did (of the first file, `where`).  s->dataset must be set. */
int srctype_describe(struct source *s, hid_t did, const char *where,
                     const struct source_opts *o, struct h5b_error *err);

/* Check that dataset did of a later file has the same columns (names,
 * types and CF attributes) as s. */
int srctype_check(const struct source *s, hid_t did, const char *where,
                  const struct source_opts *o, struct h5b_error *err);

/* A new HDF5 memory type for the values of s's key dataset (the last
 * column): native integers, or NUL-padded strings; the caller closes it. */
hid_t srctype_key_memtype(const struct source *s);

/* Check the group_by key dataset of one file: an integer type, 1-D, with
 * nrec records.  Adds the key column (first file) or checks its type. */
int srctype_key(struct source *s, hid_t kid, const char *where, int first,
                uint64_t nrec, struct h5b_error *err);

#endif
