/* fileread.h -- read a byte range of a file by path, keeping it open.
 *
 * A worker on rank 0's node reads the values of a contiguous, unfiltered
 * dataset straight from the file (master.c: direct reads): rank 0 sends
 * the path and the byte offset, and the worker reads the range into its
 * own buffer, so rank 0 copies nothing and the workers read in parallel.
 * The last file stays open, so a run over one file opens it once.
 * No MPI, no HDF5: plain POSIX pread.
 */
#ifndef H5B_FILEREAD_H
#define H5B_FILEREAD_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"

struct fileread {
    char *path;     /* of the open file, or NULL */
    int fd;         /* -1 when none is open */
};

void fileread_init(struct fileread *f);

/* Read exactly len bytes at byte pos of the file at path[0..pathlen)
 * (not NUL-terminated) into buf.  Fails with a message naming the file
 * when it cannot be opened or read, or ends before pos + len (it shrank
 * since rank 0 checked it).  Returns 0 or H5B_EINPUT/H5B_ERUN. */
int fileread_get(struct fileread *f, const char *path, size_t pathlen,
                 uint64_t pos, void *buf, size_t len, struct h5b_error *err);

/* Close the open file, if any; f may be reused after fileread_init. */
void fileread_close(struct fileread *f);

#endif
