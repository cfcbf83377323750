/* srctype.h -- result columns from an input dataset's HDF5 type (srctype.c). */
#ifndef H5B_SRCTYPE_H
#define H5B_SRCTYPE_H

#include <hdf5.h>

#include "source.h"

/* Fill s's columns, memory type, element size and skipped-field list from
 * dataset did (of the first file, `where`).  s->dataset must be set. */
int srctype_describe(struct source *s, hid_t did, const char *where,
                     const char *fields, int cf, struct h5b_error *err);

/* Check that dataset did of a later file has the same columns (names,
 * types and CF attributes) as s. */
int srctype_check(const struct source *s, hid_t did, const char *where,
                  const char *fields, int cf, struct h5b_error *err);

#endif
