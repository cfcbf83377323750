/* run.h -- one h5batch run on this rank (see run.c). */
#ifndef H5B_RUN_H
#define H5B_RUN_H


/* Run h5batch with MPI initialised; returns the exit status. */
int run(int argc, char **argv);

#endif
