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

/* A new HDF5 memory type for the values of s's key dataset k (column
 * ncol - nkeyds + k): native integers, or NUL-padded strings; the caller
 * closes it. */
hid_t srctype_key_memtype(const struct source *s, size_t k);

/* Check group_by key dataset k (s->key_path[k]) of one file: an integer
 * or fixed-length string type, 1-D, with nrec records.  Adds its key
 * column (first file, k in order) or checks its type. */
int srctype_key(struct source *s, hid_t kid, size_t k, const char *where,
                int first, uint64_t nrec, struct h5b_error *err);

#endif
