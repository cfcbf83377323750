/* samefile.h -- h5batch never writes its inputs.
 *
 * Before anything runs, every path h5batch will write (the results file,
 * the checkpoint) is compared with every input file and with each other.
 * Two paths are the same file when both exist and stat() gives the same
 * device and inode, so a symlink to an input and a hard link to one
 * count; when neither exists yet, when they name the same entry: the same
 * directory (device and inode) and the same last component.  Temporary
 * files need no check: they are always new (atomicfile.h, O_EXCL).
 *
 * An output that matches an input pattern but is not yet an input is
 * allowed: samefile_pattern says which pattern a rerun would read it
 * through (by the text of the paths, made absolute; a warning only -- the
 * refusal itself is by inode).  No MPI, no HDF5.
 */
#ifndef H5B_SAMEFILE_H
#define H5B_SAMEFILE_H

#include <stddef.h>

#include "h5batch/operator.h"

/* A path h5batch writes, and what it is ("the output", "the checkpoint"). */
struct samefile_target {
    const char *path;
    const char *what;
};

/* Refuse, with H5B_EINPUT and one line naming both paths, the first of
 * the n targets that is the same file as one of the ninputs inputs or as
 * an earlier target.  patterns is the [input] files text, to say which
 * pattern gave the input.  Returns 0 when no two are the same. */
int samefile_check(const struct samefile_target *t, size_t n,
                   char *const *inputs, size_t ninputs, const char *patterns,
                   struct h5b_error *err);

/* The first of patterns (separated as [input] files) that would match
 * path, copied into out (n bytes); 0 if one does, -1 if none. */
int samefile_pattern(const char *patterns, const char *path, char *out,
                     size_t n);

#endif
