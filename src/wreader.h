/* wreader.h -- a worker's own HDF5 input (worker_reads = all).
 *
 * A worker on a node that sees rank 0's files (filecheck.h) opens the
 * inputs itself, from the list FILES gave (the paths rank 0 expanded,
 * in its order, so file indices agree) and the job's dataset, fields,
 * CF setting and group_by key, through the same source_open as rank 0 --
 * so every layout rank 0 reads, the worker reads: chunked, compressed
 * (HDF5 decodes in the worker), compound tables, tiles, key datasets.
 * It opens them once, at the first SETUP that runs, and keeps them
 * across passes; contiguous files are read with pread as rank 0 does
 * (source_read_values).
 */
#ifndef H5B_WREADER_H
#define H5B_WREADER_H

#include "fileread.h"
#include "job.h"
#include "source.h"
#include "wire.h"
#include "worker.h"

struct wreader {
    struct wire_files files;    /* from FILES (none: not asked) */
    int reads;                  /* GO said this worker reads */
    int opened;
    struct source src;
    struct fileread fr;
    char time_path[1024];       /* group_by = time.PART: the coordinate */
};

void wreader_init(struct wreader *r);

/* Open the input as rank 0 did, once (later calls do nothing); nothing
 * to do when r does not read.  Errors name the file or dataset. */
int wreader_open(struct wreader *r, const struct job *job,
                 struct h5b_error *err);

/* Fill *ops to read through r and return it, or NULL when r does not
 * read. */
const struct worker_reader *wreader_ops(struct wreader *r,
                                        struct worker_reader *ops);

void wreader_close(struct wreader *r);

#endif
