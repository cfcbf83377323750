/* err.h -- return codes and the error message every function fills.
 *
 * Functions return 0 or a negative code and write one line into a
 * caller-supplied struct h5b_error (from the public operator header).  The
 * code decides the process exit status: H5B_EINPUT means the user's input
 * (command line, job file, HDF5 file) is wrong, exit 2; H5B_ERUN is a
 * runtime failure (I/O, MPI, memory), exit 1; H5B_EINTR means a signal
 * stopped the run after a checkpoint, exit 75 ("interrupted, resumable").
 */
#ifndef H5B_ERR_H
#define H5B_ERR_H

#include "h5batch/operator.h"

enum {
    H5B_OK = 0,
    H5B_ERUN = -1,      /* runtime failure: exit 1 */
    H5B_EINPUT = -2,    /* usage, job-file or input error: exit 2 */
    H5B_EINTR = -75     /* interrupted, checkpoint written: exit 75 */
};

/* Exit status for a return code: 0, 1 or 2. */
#define H5B_EXIT_CODE(rc) ((rc) == 0 ? 0 : (rc) == H5B_EINPUT ? 2 : \
                           (rc) == H5B_EINTR ? 75 : 1)

/* Format a one-line message into err (if non-NULL) and return code. */
int err_set(struct h5b_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in err with "<prefix>: ". Returns code. */
int err_prefix(struct h5b_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
