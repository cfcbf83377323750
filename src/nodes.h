/* nodes.h -- which ranks share a node, and that node's name.
 *
 * At start every rank tells rank 0 its host name and the lowest world
 * rank on its node (shm.c: the node communicator of
 * MPI_Comm_split_type).  From those rank 0 numbers the nodes in order of
 * their lowest rank -- so node 0 is rank 0's -- for --dry-run (`nodes:`),
 * the summary (`nodes`, each worker's `host`) and the file checks of
 * worker_reads = all, which one rank per node makes: the lowest worker
 * rank there (nodes_checker).  No MPI, no HDF5.
 */
#ifndef H5B_NODES_H
#define H5B_NODES_H

#include <stddef.h>

#include "h5batch/operator.h"

#define NODES_HOST_MAX 256

struct nodes {
    int size;               /* ranks */
    int count;              /* nodes */
    int *node;              /* node[r]: the node of rank r, 0..count-1 */
    char (*host)[NODES_HOST_MAX];   /* host[k]: node k's name */
};

/* Number the nodes of `size` ranks, where rank r is on the node whose
 * lowest rank is lowest[r] (lowest[r] <= r) and is called
 * hosts[r * NODES_HOST_MAX] (NUL-terminated within that).  On failure
 * (a lowest[] that is not a rank of the same node) n holds nothing. */
int nodes_build(struct nodes *n, int size, const int *lowest,
                const char *hosts, struct h5b_error *err);

/* One node of `size` ranks named host: a run without MPI, or a test. */
int nodes_single(struct nodes *n, int size, const char *host,
                 struct h5b_error *err);

void nodes_free(struct nodes *n);

/* The ranks of node k as text, "0-1" or "2, 5-7", into out (len bytes). */
void nodes_ranks_text(const struct nodes *n, int k, char *out, size_t len);

/* The rank that checks node k's files: its lowest rank but 0, or -1
 * when rank 0 is alone there. */
int nodes_checker(const struct nodes *n, int k);

/* Ranks on node k. */
int nodes_ranks_on(const struct nodes *n, int k);

#endif
