/* timing.h -- where the time of a run went (filled by master.c and run.c). */
#ifndef H5B_TIMING_H
#define H5B_TIMING_H

/* Where the time of a run went: rank 0's reading, sending, waiting for
 * results, merging and reducing (alone, or with helps); each worker's busy
 * and waiting time, from its DONE message.  busy/idle hold nworkers
 * entries.  These count the reduction pass only; range is the whole
 * first pass of histogram_range = auto (0 without one).  rank 0's items
 * are spans of its main thread that never overlap, so they add up to at
 * most the run's elapsed time -- except read when rank 0 alone reads
 * ahead in a second thread (then read overlaps the rest). */
struct run_timing {
    double read, send, wait, merge, reduce, range;
    unsigned long long reduced; /* partitions rank 0 reduced itself */
    unsigned long long direct;  /* partitions workers read from the file */
    int nworkers;
    double *busy, *idle;
    unsigned long long *file_reads; /* per worker: partitions it read from
                                       the file itself (or NULL) */
    unsigned long long *rss;    /* each worker's peak resident bytes, from
                                   its DONE (the largest over the passes) */
    /* Rank 0 alone with a twin (master_args.twin): the second thread's
     * reading and reducing, beside the main thread's, and how many
     * partitions it reduced (0: no twin ran). */
    double twin_read, twin_reduce;
    unsigned long long twin_parts;
};

#endif
