/* memplan.h -- what each rank will hold at its peak, from the plan and the
 * job, and whether that fits the limits of the machine (memlimits.h).
 *
 * The model follows the code (README, Memory):
 *  - rank 0 with workers reads into nworkers*prefetch+1 slots (+1 when it
 *    reduces too) of one WORK header plus the largest partition
 *    (master.c); with shared memory those slots are the node's
 *    shared-memory window, 64-byte aligned, which rank 0 fills (shm.c);
 *  - rank 0 alone holds one partition buffer, two with read-ahead;
 *  - rank 0 merges into one accumulator per tile and keeps up to
 *    W = max(16, 4 * slots) partials waiting in its merge window, plus
 *    the one RESULT being decoded;
 *  - a worker posts `prefetch` receive buffers of a slot each, a values
 *    buffer of a slot when it decodes chunks or reads the file itself
 *    (with worker_reads = all through its own HDF5, which decodes a
 *    deflate/shuffle chunk in three chunks, as on rank 0),
 *    one partial being reduced and a ring of prefetch+1 encoded results
 *    (worker.c);
 *  - a table of several columns extracts a column at a time into scratch
 *    of up to one partition (table.c); decoding a deflate/shuffle chunk
 *    takes three chunks in HDF5's filter pipeline on rank 0 (the stored
 *    chunk, inflated, unshuffled) and two in a worker's chunk scratch
 *    (chunkdec.c); other filters are not modelled;
 *  - operator states are op_*_bytes() (op.h) per column, per partial,
 *    and per key with group_by on a field (keyed_keys, at most a
 *    partial's records);
 *    group-by tables gb_bytes() (groupby.h) of up to max_keys keys, or
 *    the partition's or the dataset's records;
 *  - at the end rank 0 finalizes the accumulators into results (8 bytes
 *    a value), then writes them through an in-memory HDF5 file, whose
 *    buffer a realloc may hold twice while it grows (output.c).
 * Every rank's figure starts from `base`.  Figures are what is allocated (so what RLIMIT_AS sees), an upper bound
 * of what is resident.  Plugins' states are not counted.  No MPI, no HDF5.
 */
#ifndef H5B_MEMPLAN_H
#define H5B_MEMPLAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "h5batch/operator.h"
#include "memlimits.h"

/* What the model needs to know about the run. */
struct memplan_job {
    uint64_t slot_bytes;    /* WIRE_WORK_HEADER + the largest partition */
    uint64_t part_records;  /* records in the largest partition */
    uint64_t records;       /* in the dataset */
    uint64_t nparts, ntiles;
    int nworkers;           /* ranks - 1 */
    int node_ranks;         /* ranks on rank 0's node, rank 0 included */
    int prefetch;
    int shared;             /* partitions go through the shared window */
    int helps;              /* rank 0 reduces partitions too */
    int read_ahead;         /* rank 0 alone reads in a second thread */
    int twin;               /* which also reduces every other partition:
                               its own scratch, and up to two partials
                               made ahead (master.c) */
    int worker_values;      /* workers decode chunks or read the file */
    int direct;             /* workers on rank 0's node read every
                               partition from the file themselves */
    uint64_t chunk_bytes;   /* a deflate/shuffle chunk, decoded; 0: none */
    int rank0_decodes;      /* rank 0 reads such chunks through HDF5 */
    int workers_decode;     /* the workers inflate them (chunkdec.h) */
    int workers_read;       /* worker_reads = all: workers read with their
                               own HDF5 (three chunks to decode, as rank
                               0), into their values buffer */
    uint64_t ncell;         /* cells of one partial (one full tile) */
    size_t ncol;            /* value columns */
    int moments, histogram, quantiles, grouped;
    int exact;              /* [reduce] exact = yes: moments carry exact
                               accumulators (exactsum.h) */
    int per_record;         /* axis = records: a partial holds a summary
                               per record (op_records_bytes) */
    uint64_t weights;       /* [reduce] weights: bytes of the weight of
                               each value of a record, held by every rank
                               (0: none); the weighted state rides with
                               moments */
    uint64_t bins;          /* histogram bins */
    uint64_t max_keys;      /* group-by keys a table may hold; 0: records */
    uint64_t key_bytes;     /* group-by keys as bytes (strings, several
                             * parts): bytes of one key; 0: int64 keys */
    uint64_t keyed_keys;    /* group_by on a field (keyed.h): its distinct
                               keys; a partial then holds every operator's
                               state per key of its records (up to the
                               smaller of them), the results one value per
                               key; grouped is 0.  0: not keyed */
    int keys_fit_limit;     /* max_keys is memplan_key_cap's, not the
                               user's */
    uint64_t ncell_all;     /* cells of a result (all tiles) */
    unsigned moment_outputs;    /* outputs of the moments operator */
    unsigned nq;            /* quantiles asked for */
    uint64_t base;          /* resident before the run allocates anything
                               (libraries, MPI, HDF5): rank 0's, measured
                               at validation, taken for every rank's */
};

enum memplan_part {
    MP_BUFFERS, MP_WINDOW, MP_SCRATCH, MP_MOMENTS, MP_HIST, MP_QUANT,
    MP_GROUPBY, MP_NPARTS
};

/* A rank's figures while partitions are reduced (part[], whose sum is
 * `running`) and, on rank 0, at the end: the results beside the
 * accumulators they are finalized from, then built into an in-memory
 * HDF5 file whose buffer a realloc may hold twice while it grows
 * (output.c): three times the results.
 * total is the larger. */
struct memplan_rank {
    uint64_t part[MP_NPARTS];
    uint64_t nstates;       /* partials and accumulators held at once */
    uint64_t running;
    uint64_t results;       /* rank 0: bytes of the results */
    uint64_t ending;        /* rank 0: max(accumulators + results,
                               3 x results) */
    uint64_t total;
    uint64_t resident;      /* of total, what the rank touches (below) */
};

struct memplan {
    struct memplan_rank rank0, worker;  /* worker: each worker */
    uint64_t window;        /* the shared-memory window, on rank 0's node */
    uint64_t slots;         /* rank 0's partition buffers */
    uint64_t keys;          /* group-by keys an accumulator may hold */
};

/* The plan for j. */
void memplan_build(const struct memplan_job *j, struct memplan *m);

/* What part p is, for people ("partition buffers"). */
const char *memplan_part_name(int p);

/* The --dry-run lines: rank 0, each worker, the window per node. */
void memplan_print(const struct memplan *m, const struct memplan_job *j,
                   FILE *out);

/* H5B_EINPUT, one line naming the figure, the limit and the key to
 * change, when a rank's plan or the window does not fit l. */
int memplan_check(const struct memplan *m, const struct memplan_job *j,
                  const struct memlimits *l, struct h5b_error *err);

/* Without [reduce] max_keys, group-by accumulators are bounded only by the
 * records.  The most keys they may hold for the plan of j (its max_keys
 * taken as that figure) to pass memplan_check against l: 0 when every
 * record may be a key (no cap needed), or when even the partitions' own
 * records do not fit (then the check fails on its own).  Partials hold
 * at most a partition's records, so the cap is never below those. */
uint64_t memplan_key_cap(const struct memplan_job *j,
                         const struct memlimits *l);

/* "1.5 GiB", "64 MiB", "512 bytes" into buf. */
const char *memplan_size(uint64_t bytes, char *buf, size_t n);

#endif
