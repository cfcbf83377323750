/* h5util.h -- HDF5 helpers shared by the input and output modules.
 *
 * HDF5's automatic error printing is turned off once; when a call fails
 * we turn the library's error stack into a short phrase for our own
 * one-line message.  Also the mapping between HDF5 and h5batch types.
 */
#ifndef H5B_H5UTIL_H
#define H5B_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>

#include "h5batch/operator.h"

/* Silence HDF5's own error printing (call once, before any HDF5 use). */
void h5util_quiet(void);

/* The innermost HDF5 error message of the current stack, for messages;
 * "" if none.  Clears the stack. */
const char *h5util_detail(char *buf, size_t n);

/* Native memory type for t (a library constant, not to be closed). */
hid_t h5util_native(h5b_type t);

/* The h5batch type for an HDF5 datatype, or 0 with *why naming its class
 * (e.g. "string", "compound") if it is not a plain integer or float. */
h5b_type h5util_classify(hid_t dtype, const char **why);

/* Short name such as "float64" or "uint16". */
const char *h5util_type_name(h5b_type t);

#endif
