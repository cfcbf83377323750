/* run.h -- one h5batch run on this rank (see run.c). */
#ifndef H5B_RUN_H
#define H5B_RUN_H


/* Run h5batch; returns the exit status.  With mpi set, MPI is
 * initialised and every rank calls this.  Without it the process is alone
 * (launch.h): it runs as rank 0 with no worker and makes no MPI call --
 * this function is the one place where that is decided. */
int run(int argc, char **argv, int mpi);

#endif
