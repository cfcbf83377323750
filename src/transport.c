/* transport.c -- MPI point-to-point with checked return codes. */
#define _GNU_SOURCE         /* sched_getaffinity, CPU_COUNT */
#include "transport.h"

#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "err.h"
#include "progress.h"

static int broken;
static int patient;         /* more ranks on this node than CPUs */

int tr_broken(void)
{
    return broken;
}

int tr_check(int mpirc, const char *what, struct h5b_error *err)
{
    if (mpirc == MPI_SUCCESS)
        return 0;
    broken = 1;
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(mpirc, s, &n);
    return err_set(err, H5B_ERUN, "MPI %s failed: %s", what, s);
}

int tr_init(int *rank, int *size, struct h5b_error *err)
{
    int rc = tr_check(MPI_Comm_set_errhandler(MPI_COMM_WORLD,
                                              MPI_ERRORS_RETURN),
                      "set_errhandler", err);
    if (rc == 0)
        rc = tr_check(MPI_Comm_rank(MPI_COMM_WORLD, rank), "rank", err);
    if (rc == 0)
        rc = tr_check(MPI_Comm_size(MPI_COMM_WORLD, size), "size", err);
    return rc;
}

int tr_node_init(MPI_Comm node, struct h5b_error *err)
{
    cpu_set_t mine, all;
    int n = 0;
    CPU_ZERO(&mine);
    if (sched_getaffinity(0, sizeof mine, &mine) != 0)
        CPU_SET(0, &mine);
    int rc = tr_check(MPI_Allreduce(&mine, &all, (int)sizeof mine, MPI_BYTE,
                                    MPI_BOR, node), "allreduce", err);
    if (rc == 0)
        rc = tr_check(MPI_Comm_size(node, &n), "size", err);
    patient = rc == 0 && n > CPU_COUNT(&all);
    return rc;
}

int tr_patient(void)
{
    return patient;
}

/* Waiting on an oversubscribed node gives the CPU away: Open MPI's
 * probe and wait poll and keep a core busy, and there that core is taken
 * from the ranks that have work (a worker waiting for its next partition
 * takes it from rank 0).  A wait polls for PATIENT_SPIN_S, then naps
 * between polls, PATIENT_NAP_NS at first and twice as long after each
 * nap up to PATIENT_NAP_MAX_NS (plus the kernel's timer slack): a long
 * wait, such as the workers' while rank 0 writes the results, then costs
 * a few hundred wake-ups a second instead of tens of thousands. */
#define PATIENT_SPIN_S 50e-6
#define PATIENT_NAP_NS 20000L
#define PATIENT_NAP_MAX_NS 500000L

struct patience {
    double t0;
    long nap_ns;
};

static struct patience patience_start(void)
{
    return (struct patience){progress_clock(), PATIENT_NAP_NS};
}

/* Called after each poll that found nothing. */
static void patience_nap(struct patience *p)
{
    if (progress_clock() - p->t0 <= PATIENT_SPIN_S)
        return;
    struct timespec nap = {0, p->nap_ns};
    nanosleep(&nap, NULL);
    p->nap_ns = p->nap_ns * 2 < PATIENT_NAP_MAX_NS ? p->nap_ns * 2
                                                  : PATIENT_NAP_MAX_NS;
}

/* MPI_Probe, patient on an oversubscribed node. */
static int probe(int src, MPI_Status *st)
{
    if (!patient)
        return MPI_Probe(src, TR_TAG, MPI_COMM_WORLD, st);
    struct patience p = patience_start();
    for (;;) {
        int flag = 0;
        int rc = MPI_Iprobe(src, TR_TAG, MPI_COMM_WORLD, &flag, st);
        if (rc != MPI_SUCCESS || flag)
            return rc;
        patience_nap(&p);
    }
}

int tr_wait(MPI_Request *req, MPI_Status *st, struct h5b_error *err)
{
    if (!st)
        st = MPI_STATUS_IGNORE;
    if (!patient)
        return tr_check(MPI_Wait(req, st), "wait", err);
    struct patience p = patience_start();
    for (;;) {
        int done = 0;
        int rc = tr_check(MPI_Test(req, &done, st), "test", err);
        if (rc < 0 || done)
            return rc;
        patience_nap(&p);
    }
}

int tr_send(const void *buf, size_t len, int dest, struct h5b_error *err)
{
    if (len > INT_MAX)
        return err_set(err, H5B_ERUN, "message of %zu bytes too large", len);
    return tr_check(MPI_Send(buf, (int)len, MPI_BYTE, dest, TR_TAG,
                             MPI_COMM_WORLD), "send", err);
}

int tr_isend(const void *buf, size_t len, int dest, MPI_Request *req,
             struct h5b_error *err)
{
    if (len > INT_MAX)
        return err_set(err, H5B_ERUN, "message of %zu bytes too large", len);
    return tr_check(MPI_Isend(buf, (int)len, MPI_BYTE, dest, TR_TAG,
                              MPI_COMM_WORLD, req), "isend", err);
}

int tr_recv(int src, struct tr_buf *b, int *from, struct h5b_error *err)
{
    MPI_Status st;
    int count = 0;
    int rc = tr_check(probe(src, &st), "probe", err);
    if (rc == 0)
        rc = tr_check(MPI_Get_count(&st, MPI_BYTE, &count), "get_count", err);
    if (rc < 0)
        return rc;
    if ((size_t)count > b->cap) {
        unsigned char *p = realloc(b->data, (size_t)count);
        if (!p) {
            /* The message stays unreceived and its sender blocked: only
             * MPI_Abort can end the other ranks now (tr_broken). */
            broken = 1;
            return err_set(err, H5B_ERUN, "out of memory for a message of "
                           "%d bytes", count);
        }
        b->data = p;
        b->cap = (size_t)count;
    }
    rc = tr_check(MPI_Recv(b->data, count, MPI_BYTE, st.MPI_SOURCE, TR_TAG,
                           MPI_COMM_WORLD, MPI_STATUS_IGNORE), "recv", err);
    b->len = (size_t)count;
    if (from)
        *from = st.MPI_SOURCE;
    return rc;
}

int tr_pending(int src, struct h5b_error *err)
{
    int flag = 0;
    int rc = tr_check(MPI_Iprobe(src, TR_TAG, MPI_COMM_WORLD, &flag,
                                 MPI_STATUS_IGNORE), "iprobe", err);
    return rc < 0 ? rc : flag;
}

void tr_buf_free(struct tr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->cap = b->len = 0;
}
