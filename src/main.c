/* main.c -- h5batch: start MPI, run, stop MPI.  Only dispatches. */
#include <mpi.h>

#include "run.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int status = run(argc, argv);
    MPI_Finalize();
    return status;
}
