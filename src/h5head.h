/* h5head.h -- open HDF5 files for checking with one read of their head.
 *
 * Opening an HDF5 file and one dataset in it takes HDF5's default (sec2)
 * driver eight small preads: the signature, the superblock, the root
 * group's header, heap, B-tree and symbol node, the dataset's header --
 * usually all inside the file's first few KiB.  Over a thousand files of
 * a job those system calls were a tenth of checking them.  This read-only
 * driver reads the first H5HEAD_BYTES of the file once, when HDF5 opens
 * it, and answers every read inside them from that copy; reads beyond go
 * to pread as sec2's do.  It locks the file as sec2 does (a shared flock,
 * so a file that a writer holds is refused the same way) and never
 * writes.  What HDF5 reads is the same bytes either way.
 *
 * Only the checks of source.c open files through it; reading data keeps
 * HDF5's default driver.
 */
#ifndef H5B_H5HEAD_H
#define H5B_H5HEAD_H

#include <hdf5.h>

/* Bytes read at open (fewer when the file is shorter). */
#define H5HEAD_BYTES 8192

/* A file access property list that opens files read-only through this
 * driver, made on the first call and kept for the life of the process
 * (HDF5 closes it when the library shuts down); H5P_DEFAULT if HDF5
 * refused to register the driver, so callers always get a usable list.
 * Not thread-safe: call it first from one thread. */
hid_t h5head_fapl(void);

#endif
