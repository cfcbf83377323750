/* filecheck.h -- before workers read the inputs themselves, each node
 * checks that it sees the files rank 0 sees (worker_reads = all).
 *
 * The protocol, before the first SETUP and only when rank 0 has opened
 * the inputs and planned the run: rank 0 sends every worker FILES (each
 * input's path and its identity as rank 0 sees it, fileid.h); on each
 * node one rank, the lowest but rank 0 (nodes_checker), compares what it
 * sees and answers with one CHECK; then rank 0 sends every worker GO,
 * saying whether it reads its partitions itself -- yes on a node that
 * sees the same files, no on one that does not (rank 0 then sends that
 * node's workers the values, as with worker_reads = off).  Rank 0 waits
 * for exactly one CHECK per node from a known rank, so nobody waits on a
 * message that is not coming.
 *
 * For the tests of the fallback on one machine, H5BATCH_TEST_FILES_DIFFER
 * = 1 makes every check report a difference (only the check's result: the
 * files are still compared).
 */
#ifndef H5B_FILECHECK_H
#define H5B_FILECHECK_H

#include <stddef.h>

#include "h5batch/operator.h"
#include "nodes.h"
#include "wire.h"

#define FILECHECK_WHY_MAX 512

/* Rank 0's view after the check. */
struct filecheck {
    int *same;              /* per node: 1 same files, 0 not, -1 no check
                               (rank 0 alone there) */
    char (*why)[FILECHECK_WHY_MAX]; /* per node, when same is 0 */
    unsigned char *reads;   /* per world rank: that worker reads itself */
};

/* Rank 0: run the check with the workers of `nodes` over files[0..n).
 * Fails without sending anything when rank 0 cannot describe a file (a
 * message naming it); after that only when MPI fails.  fc is the
 * caller's to free with filecheck_free in every case. */
int filecheck_master(const struct nodes *nodes, char *const *files, size_t n,
                     struct filecheck *fc, struct h5b_error *err);

void filecheck_free(struct filecheck *fc);

/* A worker, having received FILES (msg, len): decode the list into
 * *files (wire_files_free), check it if this rank is its node's checker
 * and answer CHECK, then wait for GO: *reads gets whether this worker
 * reads its partitions itself. */
int filecheck_worker(const unsigned char *msg, size_t len, int checker,
                     struct wire_files *files, int *reads,
                     struct h5b_error *err);

#endif
