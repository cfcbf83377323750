/* master.h -- rank 0's side of a run (see master.c for the protocol). */
#ifndef H5B_MASTER_H
#define H5B_MASTER_H

#include "table.h"
#include "timing.h"
#include "plan.h"
#include "progress.h"
#include "shm.h"
#include "source.h"

/* master_args.helps: never; when no result comes within a read's time;
 * at every chance (a test hook, so tests take that path often). */
enum { MASTER_HELPS_OFF, MASTER_HELPS_AUTO, MASTER_HELPS_EAGER };

/* master_args.direct: never; for workers on rank 0's node; staged unread
 * but read at dispatch as for workers on other nodes (a test hook, so
 * tests on one node take that path). */
enum { MASTER_DIRECT_OFF, MASTER_DIRECT_AUTO, MASTER_DIRECT_REMOTE,
       /* worker_reads = all: every partition is staged as a read request
        * (wire_read) for the workers that read (master_args.reads) */
       MASTER_DIRECT_ALL };

struct master_args {
    struct table *tables[2];    /* [0] full tiles, [1] the short last one */
    struct source *src;
    const struct plan *plan;
    int nworkers;           /* ranks 1..nworkers; 0: rank 0 works alone */
    int prefetch;
    const struct shm_node *node;
    int shared;             /* SETUP announced a shared pool (shm.h) */
    int worker_decode;      /* send deflate/shuffle chunks undecoded */
    int direct;             /* workers on rank 0's node read contiguous
                               values from the file themselves
                               (source_direct, fileread.h;
                               MASTER_DIRECT_*) */
    /* reads[w] for world rank w: that worker may get partitions unread
     * (AUTO: a file range; ALL: a read request).  Rank 0 reads the
     * values for the others at dispatch. */
    const unsigned char *reads;
    int read_ahead;         /* alone: read in a thread (readahead.h) */
    /* Alone, or NULL: the tables of a second thread that reads and
     * reduces every other partition itself (built as tables[] are, and
     * only for operators that may run in two threads at once). */
    struct table *twin[2];
    int helps;              /* with workers: reduce a partition here when
                               every worker holds `prefetch` of them
                               (MASTER_HELPS_*) */
    int more;               /* on success, STOP says another SETUP follows */
    struct progress *prog;
    uint64_t start;         /* partitions [0, start) are in acc (resume) */
    double ckpt_every;      /* seconds between checkpoints; 0: none */
    /* Save acc, holding partitions [0, merged) merged in order. */
    int (*save)(void *ctx, struct table_partial *acc, uint64_t merged,
                struct h5b_error *err);
    void *save_ctx;
    struct run_timing *timing;  /* filled in (may be NULL) */
};

/* Create acc[0..ntiles): one empty accumulator per tile of cells, with
 * room for keys as many as the plan's records (table_reserve). */
int master_create_accs(const struct master_args *a,
                       struct table_partial *acc, struct h5b_error *err);

/* Free acc[0..n). */
void master_free_accs(const struct master_args *a, struct table_partial *acc,
                      uint64_t n);

/* Reduce partitions [a->start, nparts) into acc (one accumulator per
 * tile, already holding [0, a->start)), merging in partition order, and
 * stop every worker whatever happens (rc != 0: rank 0 already failed, only
 * stop them).  A signal makes it merge what is in flight, save a
 * checkpoint and return H5B_EINTR.  On failure err says which rank or
 * file failed; acc is the caller's to free in every case. */
int master_run(const struct master_args *a, struct table_partial *acc,
               int rc, struct h5b_error *err);

#endif
