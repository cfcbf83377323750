/* worker.h -- the loop of a worker rank (see worker.c for the protocol). */
#ifndef H5B_WORKER_H
#define H5B_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "shm.h"
#include "table.h"
#include "wire.h"

/* How a worker reads a partition itself (worker_reads = all): read the
 * nrec records that r names (ncols wide when tiled) into buf, exactly
 * len bytes, as rank 0's source_read would.  The worker's own HDF5 input
 * lives behind ctx, so this loop stays free of HDF5. */
struct worker_reader {
    int (*read)(void *ctx, const struct wire_read *r, uint64_t nrec,
                uint64_t ncols, void *buf, size_t len, struct h5b_error *err);
    void *ctx;
};

/* Serve rank 0 until its STOP, with `prefetch` receive buffers of
 * slot_bytes each.  tables[0] reduces whole records or full tiles of
 * tile_width columns, tables[1] (NULL if none) the short last tile.  With
 * node non-NULL the worker first maps rank 0's shared pool (collective on
 * the node, see shm.h) and reduces the partitions it names in place.  If
 * failed_setup is non-NULL the worker could not set itself up: it reports
 * that message to rank 0 and only drains.  reader (NULL: none) reads the
 * partitions that come as read requests (WIRE_FORM_READ).  *status
 * gets STOP's status (0, or the exit code rank 0 ends the run with).  A
 * negative return means MPI itself failed. */
int worker_run(struct table *const tables[2], uint64_t tile_width,
               size_t slot_bytes, int prefetch, const struct shm_node *node,
               const struct worker_reader *reader,
               const char *failed_setup, int32_t *status,
               struct h5b_error *err);

#endif
