/* fileid.h -- whether a process sees the same input file as rank 0.
 *
 * With worker_reads = all, workers on every node open the input files by
 * the paths rank 0 expanded.  Before any data is read, one rank per node
 * compares what it sees there with what rank 0 saw: the size, the
 * modification time (seconds and nanoseconds) and an FNV-1a hash of the
 * first FILEID_HEAD_BYTES bytes (the HDF5 superblock and, for small
 * files, everything).  A stale copy, another version of the file or a
 * mount that is missing on that node all differ in one of them; two
 * files that agree in all three are taken to be the same.  No MPI, no
 * HDF5.
 */
#ifndef H5B_FILEID_H
#define H5B_FILEID_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"

#define FILEID_HEAD_BYTES 65536

struct fileid {
    uint64_t size;
    int64_t mtime_s, mtime_ns;
    uint64_t head;          /* FNV-1a 64 of the first bytes */
};

/* Fill *id for the file at path.  Fails (H5B_EINPUT, a message naming
 * the file) when it cannot be stat'ed, opened or read. */
int fileid_get(const char *path, struct fileid *id, struct h5b_error *err);

/* 0 when here and rank0 describe the same file; else -1 with what
 * differs ("size 100, rank 0 sees 200") in why (n bytes). */
int fileid_compare(const struct fileid *here, const struct fileid *rank0,
                   char *why, size_t n);

#endif
