/* transport.h -- the thin layer of MPI point-to-point calls h5batch uses.
 *
 * All h5batch messages travel on one tag of MPI_COMM_WORLD, so that
 * messages from one sender are received in the order sent (MPI's
 * non-overtaking rule), which the shutdown protocol relies on.  The
 * communicator's error handler is MPI_ERRORS_RETURN; a failed MPI call
 * becomes an H5B_ERUN with the MPI error string.
 */
#ifndef H5B_TRANSPORT_H
#define H5B_TRANSPORT_H

#include <mpi.h>
#include <stddef.h>

#include "h5batch/operator.h"

#define TR_TAG 17

/* A receive buffer that grows to fit. */
struct tr_buf {
    unsigned char *data;
    size_t cap, len;
};

/* Set the error handler; *rank and *size of MPI_COMM_WORLD. */
int tr_init(int *rank, int *size, struct h5b_error *err);

/* Collective over node (the ranks of one node): find out whether the
 * node has more ranks than CPUs (the union of their affinity masks).  If
 * so, tr_recv and tr_wait nap between polls instead of spinning. */
int tr_node_init(MPI_Comm node, struct h5b_error *err);

/* Whether tr_node_init found this node oversubscribed. */
int tr_patient(void);

/* Blocking send of len bytes to dest. */
int tr_send(const void *buf, size_t len, int dest, struct h5b_error *err);

/* Non-blocking send; *req completes when buf may be reused. */
int tr_isend(const void *buf, size_t len, int dest, MPI_Request *req,
             struct h5b_error *err);

/* Receive the next message from src (or MPI_ANY_SOURCE) into b, growing
 * it as needed; *from gets the sender.  Spins while it waits, or on an
 * oversubscribed node (tr_node_init) naps. */
int tr_recv(int src, struct tr_buf *b, int *from, struct h5b_error *err);

/* MPI_Wait on *req (st may be NULL), napping between polls on an
 * oversubscribed node as tr_recv does. */
int tr_wait(MPI_Request *req, MPI_Status *st, struct h5b_error *err);

/* Non-blocking: 1 if a message from src is waiting, else 0. */
int tr_pending(int src, struct h5b_error *err);

void tr_buf_free(struct tr_buf *b);

/* Has any MPI call failed, or a message too large to allocate been left
 * unreceived?  Then the protocol cannot be trusted and the only safe end
 * is MPI_Abort. */
int tr_broken(void);

/* Turn an MPI return code into H5B_ERUN with a message (0 stays 0). */
int tr_check(int mpirc, const char *what, struct h5b_error *err);

#endif
