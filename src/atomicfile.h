/* atomicfile.h -- write a whole file under a temporary name, then rename.
 *
 * The results file and the checkpoint are both written this way: the
 * bytes go to a new file beside the target, which is fsync'd, closed and
 * renamed over the target, then the directory is fsync'd.  So a reader
 * sees the old file or the new one, never a partial one, and a failure
 * (a full disk, an I/O error, a quota, a read-only file system) leaves the
 * old file as it was.  The temporary file is always a new one (O_EXCL),
 * so it can never be an existing file such as an input.  Each step that
 * can fail is named in the message, with strerror.  No MPI, no HDF5.
 */
#ifndef H5B_ATOMICFILE_H
#define H5B_ATOMICFILE_H

#include <stddef.h>

#include "h5batch/operator.h"

/* Write the len bytes at buf to path atomically (see above); `what` names
 * the contents for the message ("results", "checkpoint").  On failure the
 * temporary file is removed, path is untouched, and err holds one line:
 * "PATH: writing WHAT failed: STEP: strerror" with STEP one of creating,
 * writing, flushing, closing or renaming a named temporary file.  Returns
 * 0 or H5B_ERUN. */
int atomicfile_write(const char *path, const char *what, const void *buf,
                     size_t len, struct h5b_error *err);

/* The directory part of path into dir ("." for a bare name). */
void atomicfile_dir(const char *path, char *dir, size_t n);

#endif
