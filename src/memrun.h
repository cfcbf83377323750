/* memrun.h -- the memory plan's inputs (memplan.h) from an opened run:
 * the job, the source and the partition plan, and how the run is laid
 * out over the ranks. */
#ifndef H5B_MEMRUN_H
#define H5B_MEMRUN_H

#include "job.h"
#include "memplan.h"
#include "plan.h"
#include "source.h"

struct memrun_layout {
    int size;               /* ranks */
    int node_ranks;         /* ranks on rank 0's node */
    int shared, helps, read_ahead, twin;
    uint64_t ncell;         /* cells per result of whole records */
    int readers;            /* worker_reads = all: workers that read their
                               partitions themselves (HDF5, any layout) */
};

void memrun_job(const struct job *job, const struct source *src,
                const struct plan *plan, const struct memrun_layout *lay,
                struct memplan_job *j);

#endif
