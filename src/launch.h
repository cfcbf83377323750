/* launch.h -- whether an MPI launcher started this process.  No MPI.
 *
 * h5batch initialises MPI only when a launcher started it: mpirun or
 * mpiexec (Open MPI, MPICH's Hydra and the MPICH-derived MPIs), or srun
 * with a PMI or PMIx plugin.  Each of these leaves its mark in the
 * environment before exec; a process with none of the marks is alone, and
 * rank 0 then runs without MPI at all (run.h), which spares the half
 * second of a singleton MPI_Init.  H5BATCH_MPI=1 forces MPI on (a launcher
 * whose mark is not listed here); H5BATCH_MPI=0 forces it off.
 */
#ifndef H5B_LAUNCH_H
#define H5B_LAUNCH_H

/* getenv, or a stand-in for the tests. */
typedef const char *(*launch_getenv)(const char *name);

/* The process's own environment: getenv as a launch_getenv. */
const char *launch_env(const char *name);

/* The environment variable that shows a launcher, or NULL when there is
 * none (or H5BATCH_MPI=0).  H5BATCH_MPI=1 gives "H5BATCH_MPI". */
const char *launch_mark(launch_getenv get);

/* This process's rank as the launcher gave it, or 0 when none says. */
int launch_rank(launch_getenv get);

#endif
