/* readahead.h -- a thread that reads items ahead of their consumer.
 *
 * Rank 0 working alone reads a partition, then reduces it; the CPU and
 * the page cache take turns.  A readahead runs the reads in a second
 * thread into a small ring of buffers, so partition i + 1 is read while
 * partition i is reduced.  Items are handed over strictly in order, so
 * what the consumer computes does not change.  No MPI, no HDF5: the read
 * is a callback (the caller makes it safe to run in another thread).
 */
#ifndef H5B_READAHEAD_H
#define H5B_READAHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"

struct readahead_ops {
    /* Read item i into buf (bytes long); 0 or a negative H5B code with
     * err set.  Called in the reader thread, in item order. */
    int (*read)(void *ctx, uint64_t i, unsigned char *buf,
                struct h5b_error *err);
    /* Called once in the reader thread before the first read (may be
     * NULL): per-thread library settings. */
    void (*thread_init)(void *ctx);
    /* Called by readahead_stop for every item read (rc 0) that the
     * consumer never got, so what read put in its buffer can be released
     * (may be NULL). */
    void (*drop)(void *ctx, uint64_t i, unsigned char *buf);
    void *ctx;
};

struct readahead;

/* The CPUs this process may run on (its affinity mask); at least 1. */
int readahead_cpus(void);

/* Start reading items first, first + step, ... below last (step >= 1)
 * into nbuf (>= 2) buffers of bytes each.  0, or a negative H5B code with
 * err set (out of memory, no thread); on failure *ra is NULL. */
int readahead_start(struct readahead **ra, uint64_t first, uint64_t last,
                    uint64_t step, int nbuf, size_t bytes,
                    const struct readahead_ops *ops, struct h5b_error *err);

/* Wait for the next item in order and point *buf at it; the read's
 * return code (on failure err says why, and no later item is read).
 * *waited gets the seconds spent waiting.  Call readahead_put before the
 * next get. */
int readahead_get(struct readahead *ra, unsigned char **buf, double *waited,
                  struct h5b_error *err);

/* Hand the buffer of the item last got back for reading. */
void readahead_put(struct readahead *ra);

/* Stop reading (a read in progress finishes), join the thread, drop the
 * items read but never got (ops->drop), free ra.  Safe at any point and
 * on NULL, after readahead_put for every item got. */
void readahead_stop(struct readahead *ra);

#endif
