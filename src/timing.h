/* timing.h -- where the time of a run went (filled by master.c). */
#ifndef H5B_TIMING_H
#define H5B_TIMING_H

/* Where the time of a run went: rank 0's reading, sending, waiting for
 * results, merging and reducing (alone, or with helps); each worker's busy
 * and waiting time, from its DONE message.  busy/idle hold nworkers
 * entries. */
struct run_timing {
    double read, send, wait, merge, reduce;
    unsigned long long reduced; /* partitions rank 0 reduced itself */
    unsigned long long direct;  /* partitions workers read from the file */
    int nworkers;
    double *busy, *idle;
};

#endif
