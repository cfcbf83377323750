/* main.c -- h5batch: start MPI, run, stop MPI.  Only dispatches. */
#include <mpi.h>

#include "interrupt.h"
#include "run.h"

int main(int argc, char **argv)
{
    interrupt_install(1);   /* a signal during start-up is a stop request */
    MPI_Init(&argc, &argv);
    int status = run(argc, argv);
    MPI_Finalize();
    return status;
}
