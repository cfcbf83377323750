/* output.h -- the HDF5 results file, written atomically.
 *
 * The file is built in memory (HDF5's core driver), then written under a
 * temporary name in the target directory, flushed to disk and renamed
 * into place only when complete (atomicfile.h), so a failed run never
 * leaves a partial file nor touches an existing one, and an I/O error is
 * reported with the step and strerror.  Building in memory holds the
 * file's bytes once more on rank 0 while it is written.  Object
 * modification times are not recorded, so two runs of the same job give
 * the same bytes apart from the attributes that say when and on how many
 * ranks it ran.
 */
#ifndef H5B_OUTPUT_H
#define H5B_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"
#include "job.h"
#include "nodes.h"
#include "timing.h"
#include "results.h"

/* What the root attributes and the summary say about a run. */
struct memplan;

struct run_info {
    const char *job_name, *job_text, *dataset, *output;
    char *const *inputs;
    size_t ninputs;
    const char *skipped;                /* non-numeric fields left out */
    uint64_t rows, partitions, bytes;
    int ranks;
    char started[32], finished[32];     /* ISO 8601 UTC */
    double elapsed;                     /* first read to results written */
    const struct run_timing *timing;    /* where the time went, or NULL */
    const struct memplan *mem;          /* the memory plan, or NULL */
    unsigned long long rss;             /* rank 0's peak resident bytes */
    const struct nodes *nodes;          /* every rank's node, or NULL */
    const unsigned char *shm;           /* shm[w]: world rank w gets its
                                           partitions through the shared
                                           window (NULL: none does) */
    const int *files_same;              /* per node, worker_reads = all:
                                           1, 0 (fell back), -1 (no check);
                                           NULL without the check */
    /* The input dataset's shape, for the results' dimensions (ncdims.h). */
    int in_rank, compound, axis_all;
    const uint64_t *in_dims;            /* as stored */
    /* [input] select along dims >= 1: index first[d], step step[d] (0:
     * the whole dimension); NULL without one. */
    const uint64_t *in_first, *in_step;
    /* axis = records: the results are over the records (dim 0); 1: with
     * the coordinate variable of dim 0 copied (index in_first[0], step
     * in_step[0]), 2: from several files, with rec_values as its values
     * when every file has them (else without a coordinate variable). */
    int records;
    const double *rec_values;
    uint64_t rec_len;
};

/* Check that the directory of path exists and that we can create files in
 * it (by creating and removing a probe file). */
int output_check_dir(const char *path, struct h5b_error *err);

/* Write rs and info to path atomically (see above).  On failure err says
 * "PATH: writing results failed: STEP: reason" and path is untouched. */
int output_write(const char *path, const struct run_info *info,
                 const struct results *rs, struct h5b_error *err);

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void output_now(char *buf, size_t n);

#endif
