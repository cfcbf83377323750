/* shm.c -- the partition pool rank 0 shares with its node (see shm.h). */
#include "shm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "transport.h"

/* On rank 0: which world ranks share its node. */
static int mark_local(struct shm_node *n, int size, struct h5b_error *err)
{
    MPI_Group world, node;
    int nn = 0, rc;
    n->local = calloc((size_t)size, 1);
    if (!n->local)
        return err_set(err, H5B_ERUN, "out of memory");
    MPI_Comm_size(n->comm, &nn);
    int *in = malloc((size_t)nn * sizeof *in);
    int *out = malloc((size_t)nn * sizeof *out);
    rc = in && out ? 0 : err_set(err, H5B_ERUN, "out of memory");
    for (int i = 0; rc == 0 && i < nn; i++)
        in[i] = i;
    if (rc == 0)
        rc = tr_check(MPI_Comm_group(MPI_COMM_WORLD, &world), "group", err);
    if (rc == 0 && (rc = tr_check(MPI_Comm_group(n->comm, &node), "group",
                                  err)) == 0) {
        rc = tr_check(MPI_Group_translate_ranks(node, nn, in, world, out),
                      "translate ranks", err);
        MPI_Group_free(&node);
        MPI_Group_free(&world);
    }
    for (int i = 0; rc == 0 && i < nn; i++)
        if (out[i] > 0 && out[i] < size) {
            n->local[out[i]] = 1;
            n->nlocal++;
        }
    free(in);
    free(out);
    return rc;
}

/* Is world rank 0 in this node's communicator? */
static int has_rank0(const struct shm_node *n, int *yes, struct h5b_error *err)
{
    MPI_Group world, node;
    int zero = 0, r = MPI_UNDEFINED;
    int rc = tr_check(MPI_Comm_group(MPI_COMM_WORLD, &world), "group", err);
    if (rc == 0 && (rc = tr_check(MPI_Comm_group(n->comm, &node), "group",
                                  err)) == 0) {
        rc = tr_check(MPI_Group_translate_ranks(world, 1, &zero, node, &r),
                      "translate ranks", err);
        MPI_Group_free(&node);
        MPI_Group_free(&world);
    }
    *yes = rc == 0 && r != MPI_UNDEFINED;
    return rc;
}

/* This rank's node: the lowest world rank there, whether this rank is
 * the node's checker, and on rank 0 the nodes of every rank. */
static int map_nodes(struct shm_node *n, int rank, int size,
                     struct h5b_error *err)
{
    struct {
        int lowest;
        char host[NODES_HOST_MAX];
    } me;
    int worker = rank > 0 ? rank : size, low = 0, len = 0;
    memset(&me, 0, sizeof me);
    int rc = tr_check(MPI_Allreduce(&rank, &me.lowest, 1, MPI_INT, MPI_MIN,
                                    n->comm), "node's lowest rank", err);
    if (rc == 0)
        rc = tr_check(MPI_Allreduce(&worker, &low, 1, MPI_INT, MPI_MIN,
                                    n->comm), "node's checker", err);
    n->checker = rc == 0 && rank > 0 && low == rank;
    char name[MPI_MAX_PROCESSOR_NAME + 1] = "";
    if (rc == 0)
        rc = tr_check(MPI_Get_processor_name(name, &len), "host name", err);
    snprintf(me.host, sizeof me.host, "%s", name);
    int *lowest = rank == 0 ? calloc((size_t)size, sizeof *lowest) : NULL;
    char *hosts = rank == 0 ? calloc((size_t)size, NODES_HOST_MAX) : NULL;
    int mine = rc == 0 ? me.lowest : -1;
    /* both gathers run whatever rc is: every rank takes part */
    int grc = tr_check(MPI_Gather(&mine, 1, MPI_INT, lowest, 1, MPI_INT, 0,
                                  MPI_COMM_WORLD), "gather nodes", err);
    if (grc == 0)
        grc = tr_check(MPI_Gather(me.host, NODES_HOST_MAX, MPI_CHAR, hosts,
                                  NODES_HOST_MAX, MPI_CHAR, 0,
                                  MPI_COMM_WORLD), "gather hosts", err);
    if (rc == 0)
        rc = grc;
    if (rc == 0 && rank == 0)
        rc = lowest && hosts ? nodes_build(&n->nodes, size, lowest, hosts,
                                           err)
                             : err_set(err, H5B_ERUN, "out of memory");
    free(lowest);
    free(hosts);
    return rc;
}

int shm_node_init(struct shm_node *n, int rank, int size,
                  struct h5b_error *err)
{
    memset(n, 0, sizeof *n);
    n->comm = MPI_COMM_NULL;
    int rc = tr_check(MPI_Comm_split_type(MPI_COMM_WORLD,
                                          MPI_COMM_TYPE_SHARED, 0,
                                          MPI_INFO_NULL, &n->comm),
                      "split by node", err);
    if (rc == 0)
        rc = has_rank0(n, &n->with_rank0, err);
    if (rc == 0 && rank == 0)
        rc = mark_local(n, size, err);
    if (rc == 0)
        rc = map_nodes(n, rank, size, err);
    return rc;
}

void shm_node_free(struct shm_node *n)
{
    if (n->comm != MPI_COMM_NULL)
        MPI_Comm_free(&n->comm);
    free(n->local);
    nodes_free(&n->nodes);
    memset(n, 0, sizeof *n);
    n->comm = MPI_COMM_NULL;
}

/* A collective of the node failed here: the other ranks of the node may
 * wait in it (or in the next) for ever, and no message reaches them, so
 * end the whole job now with the reason. */
static void abort_job(const struct h5b_error *err)
{
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr, "h5batch: rank %d: error: %s\n", rank, err->msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

int shm_pool_open(const struct shm_node *n, size_t bytes, struct shm_pool *p,
                  struct h5b_error *err)
{
    MPI_Aint size = 0;
    int disp = 0;
    void *mine = NULL;
    memset(p, 0, sizeof *p);
    int rc = tr_check(MPI_Win_allocate_shared((MPI_Aint)bytes, 1,
                                              MPI_INFO_NULL, n->comm, &mine,
                                              &p->win),
                      "allocate the shared partition pool", err);
    p->have_win = rc == 0;
    if (rc == 0)
        rc = tr_check(MPI_Win_shared_query(p->win, 0, &size, &disp,
                                           &p->base),
                      "map the shared partition pool", err);
    if (rc == 0)
        rc = tr_check(MPI_Win_lock_all(MPI_MODE_NOCHECK, p->win),
                      "lock the shared partition pool", err);
    p->locked = rc == 0;
    p->bytes = rc == 0 ? (size_t)size : 0;
    if (rc < 0)
        abort_job(err);
    return rc;
}

void shm_pool_sync(const struct shm_pool *p)
{
    if (p->locked)
        MPI_Win_sync(p->win);
}

void shm_pool_close(struct shm_pool *p)
{
    if (p->locked)
        MPI_Win_unlock_all(p->win);
    if (p->have_win)
        MPI_Win_free(&p->win);
    memset(p, 0, sizeof *p);
}
