/* prep.h -- rank 0's state for one run, shared by run.c (orchestration),
 * dryrun.c (what --dry-run prints) and rangepass.c (the histogram range
 * pass).  Internal to those three files. */
#ifndef H5B_PREP_H
#define H5B_PREP_H

#include <stdint.h>
#include <stdio.h>

#include "cftime.h"
#include "checkpoint.h"
#include "cli.h"
#include "filecheck.h"
#include "job.h"
#include "memlimits.h"
#include "memplan.h"
#include "nodes.h"
#include "plan.h"
#include "progress.h"
#include "results.h"
#include "selread.h"
#include "shm.h"
#include "source.h"
#include "table.h"
#include "timing.h"

struct prep {
    struct cli cli;
    struct job job;
    char **files;
    size_t nfiles;
    struct source src;
    char time_path[1024];   /* group_by = time.PART: the coordinate, */
    int time_part;          /* the part (cftime.h) */
    struct cftime tc;       /* and its units and calendar */
    struct selection sel;   /* [input] select (sel.active: given) */
    const char *sel_off;    /* why worker reads and decoding are off for
                               the selection, or NULL */
    double *weights;        /* [reduce] weights: one per value of a
                               record (weightsread.h), or NULL */
    uint64_t nweights;
    struct plan plan;
    struct table table[2];  /* whole records or full tiles; short last tile */
    struct table twin[2];   /* the same for the twin thread (master_args.
                               twin), when prep_twin_ok */
    int twin_off;           /* the twin's partials would pass the memory
                               limit: read ahead only */
    struct h5b_op_config shape; /* of whole records */
    uint64_t fingerprint;   /* of the job and its inputs, for checkpoints */
    char ckpt_path[4096];
    unsigned char *ckpt;    /* the checkpoint resumed from (--resume) */
    size_t ckpt_len;
    struct ckpt_info resumed;
    struct run_timing timing;
    double t0;              /* the first pass's start (0: not started) */
    const struct shm_node *node;
    const struct nodes *nodes;  /* the node of every rank (nodes.h) */
    struct nodes solo;      /* that, when there is no shm_node */
    struct filecheck fc;    /* worker_reads = all: each node's check */
    unsigned char *reads;   /* per world rank: that worker may read its
                               partitions itself (master_args.reads) */
    int shared;             /* partitions go through a shared pool */
    int size;               /* ranks in the run */
    int threads;            /* a second thread may read (no MPI, or
                               MPI_THREAD_FUNNELED provided) */
    struct memplan_job memjob;  /* the memory plan (memplan.h) */
    struct memplan mem;
    struct memlimits limits;
};

/* Whether rank 0, alone, reads and reduces every other partition in a
 * second thread (master_args.twin) rather than only reading ahead. */
int prep_twin_ok(const struct prep *p);

/* Rank 0's tables for running the operators of `job` (p->job, or the
 * first pass's) over p's source and plan; group-by tables capped at the
 * keys that fit the memory limit when the memory check found one. */
int prep_tables(struct prep *p, const struct job *job, struct h5b_error *err);

/* Send SETUP to every worker: status, and when running, `job`. */
int prep_send_setup(const struct prep *p, const struct job *job, int size,
                    int32_t status, struct h5b_error *err);

/* Run every partition through the workers (or alone) with p's tables
 * and put the results into rs; more: another SETUP follows this pass. */
int prep_reduce_all(struct prep *p, int size, int more,
                    struct progress *prog, struct results *rs,
                    struct h5b_error *err);

/* Whether rank 0, working alone, reads in a second thread. */
int prep_read_ahead_ok(const struct prep *p);

/* Why rank 0, with workers, does not reduce a partition itself, or NULL
 * when it does. */
const char *prep_helps_not(const struct job *job, int size);

/* How many workers may read their partitions themselves (p->reads). */
int prep_count_readers(const struct prep *p);

#endif
