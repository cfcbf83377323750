/* progress.h -- progress on stderr, for a terminal or for a batch log.
 *
 * On a terminal: one line rewritten in place at most five times a second
 * (percent, partitions, GB/s, ETA).  Anywhere else, as in a Slurm output
 * file: one plain timestamped line every PROGRESS_LOG_SECONDS, never a
 * control character.  A final line gives elapsed time, bytes, throughput
 * and ranks.  Disabled entirely by --quiet.
 */
#ifndef H5B_PROGRESS_H
#define H5B_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

struct h5b_error;

#define PROGRESS_LOG_SECONDS 10.0

struct progress {
    FILE *out;              /* NULL when quiet */
    int tty;
    double t0, last;
    uint64_t bytes, parts;  /* totals */
    uint64_t base_bytes;    /* done before this run started (--resume) */
};

/* Monotonic seconds. */
double progress_clock(void);

void progress_start(struct progress *p, FILE *out, int quiet,
                    uint64_t bytes, uint64_t parts);

/* A resumed run: base_bytes were done by an earlier run; rates and the
 * final line count only what this run does. */
void progress_resume(struct progress *p, uint64_t base_bytes);

/* Report that done_parts partitions (done_bytes bytes, base included) are
 * merged. */
void progress_update(struct progress *p, uint64_t done_parts,
                     uint64_t done_bytes);

/* Final line; elapsed from the start. */
void progress_finish(struct progress *p, uint64_t bytes, int ranks);

/* Test hook: with H5BATCH_TEST_PAUSE_MS=N in the environment, every
 * partition's reduction (on a worker, or on rank 0 alone) starts N ms
 * late, so the fault tests can interrupt a run mid-way however fast the
 * machine is.  Does nothing otherwise. */
void progress_test_pause(void);

/* Test hook: with H5BATCH_TEST_FAIL_PARTITION=N in the environment, the
 * reduction of partition N fails as a failed reduction would, on
 * whichever rank reduces it (a worker, or rank 0 when it helps).
 * Returns 0 for every other partition. */
int progress_test_fail(uint64_t index, struct h5b_error *err);

#endif
