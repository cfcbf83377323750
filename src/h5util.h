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

/* Read the hyperslab off/cnt (rank dims; stride: NULL for 1) of dataset
 * did into buf as memtype: 0, or -1 with HDF5's reason in why (n bytes),
 * taken before any close clears it. */
int h5util_read_slab(hid_t did, hid_t memtype, int rank, const hsize_t *off,
                     const hsize_t *stride, const hsize_t *cnt, void *buf,
                     char *why, size_t n);

/* Native memory type for t (a library constant, not to be closed). */
hid_t h5util_native(h5b_type t);

/* The h5batch type for an HDF5 datatype, or 0 with *why naming its class
 * (e.g. "string", "compound") if it is not a plain integer or float. */
h5b_type h5util_classify(hid_t dtype, const char **why);

/* The little-endian file type for t (a library constant). */
hid_t h5util_file_type(h5b_type t);

/* A new fixed-length string type of width bytes, NUL-padded, UTF-8 or
 * ASCII (the caller closes it); H5I_INVALID_HID on failure. */
hid_t h5util_string_type(size_t width, int utf8);

/* n NUL-padded strings of width bytes at data as the buffer of a
 * variable-length string write (netCDF-4's NC_STRING; netCDF readers do
 * not read fixed-length strings): one malloc'ed block of n pointers and
 * the NUL-terminated copies they point at, freed with free(); NULL if
 * out of memory.  *type gets a new variable-length UTF-8 string type for
 * both file and memory (netCDF's strings are UTF-8; pandas writes UTF-8
 * bytes as ASCII, which h5py would then refuse to decode). */
char **h5util_vlen_strings(const void *data, size_t width, uint64_t n,
                           hid_t *type);

/* Short name such as "float64" or "uint16". */
const char *h5util_type_name(h5b_type t);

/* Attach attribute name to loc: variable-length UTF-8 strings v[0..n),
 * as a scalar when scalar is set (then n is 1).  Returns 0 or -1 (HDF5's
 * error stack says why; nothing is left open). */
int h5util_put_strings(hid_t loc, const char *name, const char *const *v,
                       size_t n, int scalar);

/* h5util_put_strings of the one string v, as a scalar. */
int h5util_put_string(hid_t loc, const char *name, const char *v);

/* Attach a scalar numeric attribute of file type ftype, written from *v
 * of memory type mtype.  Returns 0 or -1. */
int h5util_put_number(hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                      const void *v);

/* String attribute name of obj (fixed or variable length) into out (n
 * bytes); "" when absent or not a string. */
void h5util_get_text(hid_t obj, const char *name, char *out, size_t n);

#endif
