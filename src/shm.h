/* shm.h -- the partition pool rank 0 shares with the workers on its node.
 *
 * On a node, copying a partition from rank 0's buffer into a worker's is
 * a second pass over every byte.  Instead rank 0 reads partitions into an
 * MPI-3 shared-memory window (MPI_Win_allocate_shared on the ranks of its
 * node) and sends those workers only a WORK header naming the offset; the
 * worker reduces the values in place and its RESULT hands the slot back.
 * Workers on other nodes keep receiving the bytes point to point.
 *
 * shm_node_init is collective over MPI_COMM_WORLD, once per process;
 * shm_pool_open and shm_pool_close are collective over the ranks of rank
 * 0's node, once per SETUP that announces a pool.  The window is held in
 * one passive-target epoch (lock_all) from open to close; shm_pool_sync
 * (MPI_Win_sync) orders a process's stores to the pool before the message
 * that announces them, and after the message that announced them.
 */
#ifndef H5B_SHM_H
#define H5B_SHM_H

#include <mpi.h>
#include <stddef.h>

#include "h5batch/operator.h"
#include "nodes.h"

struct shm_node {
    MPI_Comm comm;          /* the ranks on this process's node */
    int with_rank0;         /* this node is rank 0's */
    int nlocal;             /* on rank 0: workers on its node */
    unsigned char *local;   /* on rank 0: local[w] for world rank w */
    int checker;            /* this rank checks its node's files: the
                               lowest rank there but rank 0 (nodes.h) */
    struct nodes nodes;     /* on rank 0: every rank's node and host */
};

/* All zeros: no pool (shm_pool_close does nothing). */
struct shm_pool {
    MPI_Win win;            /* valid while have_win */
    unsigned char *base;    /* rank 0's segment, mapped here */
    size_t bytes;
    int have_win, locked;
};

/* Find the ranks sharing this node, and on rank 0 the nodes of all
 * ranks with their host names (MPI_Get_processor_name); collective over
 * MPI_COMM_WORLD. */
int shm_node_init(struct shm_node *n, int rank, int size,
                  struct h5b_error *err);
void shm_node_free(struct shm_node *n);

/* Map a pool of `bytes` owned by rank 0 (workers pass 0) on rank 0's
 * node (collective there).  p->base then points at rank 0's segment.
 * If an MPI call fails (MPI_Win_allocate_shared above all, when the
 * window's backing file does not fit), the other ranks of the node may
 * be waiting in the collective: the reason is printed and the job ends
 * with MPI_Abort, so it never hangs. */
int shm_pool_open(const struct shm_node *n, size_t bytes, struct shm_pool *p,
                  struct h5b_error *err);
void shm_pool_sync(const struct shm_pool *p);
void shm_pool_close(struct shm_pool *p);

#endif
