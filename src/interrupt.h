/* interrupt.h -- SIGTERM, SIGINT and SIGUSR1 as "checkpoint and stop".
 *
 * On rank 0 the first of these signals only sets a flag that the master
 * loop polls: it stops dispatching, collects the partitions in flight,
 * writes a checkpoint, stops every rank and exits 75.  A second signal,
 * a second or more after the first, ends the process at once (exit 128 +
 * signal).  Workers ignore the three
 * signals: mpirun and Slurm send them to every rank, and rank 0 drives
 * the shutdown.  Every process listens from its first instruction
 * (main.c) until MPI says which rank it is; a stop requested before the
 * run starts is honoured as soon as it starts: a checkpoint of nothing,
 * exit 75.
 */
#ifndef H5B_INTERRUPT_H
#define H5B_INTERRUPT_H

/* Install the handlers: rank 0 listens, workers ignore. */
void interrupt_install(int rank0);

/* The signal that asked to stop, or 0. */
int interrupt_requested(void);

#endif
