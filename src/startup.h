/* startup.h -- H5BATCH_STARTUP_TIMES=1: where a process's time went
 * around the run: start-up, MPI_Init, the run, MPI_Finalize.  No MPI.
 *
 * main() marks each step (startup_mark) and rank 0 prints one line at the
 * end (startup_report).  The first span, from the process's start to
 * main(), comes from the kernel's start time of the process
 * (/proc/self/stat, clock ticks since boot: 10 ms steps at 100 Hz), so it
 * includes the dynamic loader mapping libmpi, libhdf5 and the rest; the
 * other spans are CLOCK_MONOTONIC differences.
 */
#ifndef H5B_STARTUP_H
#define H5B_STARTUP_H

#include <stddef.h>

#include "launch.h"

enum startup_step {
    STARTUP_MAIN,           /* main() entered */
    STARTUP_INIT,           /* MPI_Init called (alone: the run starts) */
    STARTUP_INITED,         /* MPI_Init returned (alone: the same) */
    STARTUP_RAN,            /* the run returned */
    STARTUP_FINALIZED,      /* MPI_Finalize returned (alone: the same) */
    STARTUP_NSTEPS
};

/* What one process measured: seconds on one clock per step (0 = not
 * reached), and the process's age at main() (negative: unknown). */
struct startup_times {
    double at[STARTUP_NSTEPS];
    double age_at_main;
};

/* Record step now in the process's own times (one clock read; two at
 * STARTUP_MAIN, whose boot time gives the process's age at the report). */
void startup_mark(enum startup_step step);

/* The age of a process in seconds from its /proc/PID/stat line, the
 * CLOCK_BOOTTIME now (seconds) and clock ticks per second: 0 and *age
 * set, or -1 when the line does not parse.  The command name (field 2)
 * may hold spaces and parentheses: fields are counted after its last ')'. */
int startup_age(const char *stat, double boot_now, long hz, double *age);

/* Format the line rank 0 prints into buf (size len, always terminated):
 * "h5batch: startup: to_main=S to_init=S init=S run=S finalize=S total=S
 * pml=VALUE (WHY)" in seconds; init and finalize are "-" without MPI
 * (mpi == 0), to_main "?" when the age is unknown.  pml NULL: "default". */
void startup_format(char *buf, size_t len, const struct startup_times *t,
                    int mpi, const char *pml, const char *why);

/* If get("H5BATCH_STARTUP_TIMES") is "1" and rank0, print the line of the
 * process's own times to stderr (reading /proc/self/stat for the age). */
void startup_report(launch_getenv get, int rank0, int mpi, const char *pml,
                    const char *why);

#endif
