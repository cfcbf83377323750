/* main.c -- h5batch: settle what needs no MPI, then run with MPI or alone.
 * Only dispatches.  --help, --version and usage errors never start MPI;
 * nor does a process that no launcher started (launch.h): it runs alone,
 * as rank 0 with no worker, and makes no MPI call (run.h).  Under a
 * launcher the transport is settled first (mpienv.h: ob1 when every rank
 * is on one node), then MPI is asked for MPI_THREAD_FUNNELED: rank 0 alone
 * may read in a second thread (readahead.h), which never calls MPI.
 * H5BATCH_STARTUP_TIMES=1 times each step (startup.h). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>         /* defines __GLIBC__ on glibc systems */
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cli.h"
#include "interrupt.h"
#include "launch.h"
#include "mpienv.h"
#include "run.h"
#include "startup.h"

/* HDF5 allocates and frees a buffer for every chunk it decodes.  With
 * glibc's defaults a 1 MiB chunk buffer is mmap()ed and unmapped each
 * time, and every page of it faults again: keep buffers up to 32 MiB on
 * the heap and let it hold up to 64 MiB free.  Memory stays bounded by
 * those two numbers plus what the run holds. */
static void tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

/* A signal during start-up is a stop request, so the handlers go in as
 * early as code of ours can run: from the executable's .preinit_array,
 * which the dynamic loader calls before any shared library's constructor
 * (the executable's own constructors run after them).  Before that, while
 * the loader maps and relocates libmpi, libhdf5 and the rest, a signal
 * takes its default action: nothing in the process can catch it. */
#ifdef __ELF__
static void early_install(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    interrupt_install(1);
}
__attribute__((section(".preinit_array"), used))
static void (*early_install_entry)(int, char **, char **) = early_install;
#endif

/* Rank 0 alone, no launcher: no MPI call on this path (run.h). */
static int alone(int argc, char **argv)
{
    startup_mark(STARTUP_INIT);
    startup_mark(STARTUP_INITED);
    int status = run(argc, argv, 0);
    startup_mark(STARTUP_RAN);
    startup_mark(STARTUP_FINALIZED);
    startup_report(launch_env, 1, 0, "-", "no MPI");
    return status;
}

/* Under a launcher: the transport settings first (mpienv.h: every rank
 * decides alike), then MPI.  A rank that cannot apply them ends before
 * MPI_Init, and the launcher ends the others. */
static int with_mpi(int argc, char **argv)
{
    struct mpienv_pml pml;
    struct h5b_error err = {0};
    if (mpienv_apply(&pml, &err) != 0) {
        fprintf(stderr, "h5batch: error: %s\n", err.msg);
        return H5B_EXIT_CODE(H5B_ERUN);
    }
    int provided;           /* run() asks MPI_Query_thread */
    /* Open MPI 4.1 leaves these handlers alone in MPI_Init (checked with
     * sigaction before and after); run() installs them again, per rank,
     * once MPI is up.  They are not blocked across MPI_Init: a hung
     * MPI_Init must still end on a second SIGTERM or SIGINT. */
    startup_mark(STARTUP_INIT);
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    startup_mark(STARTUP_INITED);
    int status = run(argc, argv, 1);
    startup_mark(STARTUP_RAN);
    MPI_Finalize();
    startup_mark(STARTUP_FINALIZED);
    startup_report(launch_env, launch_rank(launch_env) == 0, 1,
                   getenv("OMPI_MCA_pml"), pml.why);
    return status;
}

int main(int argc, char **argv)
{
    startup_mark(STARTUP_MAIN);
    interrupt_install(1);   /* again, where there is no .preinit_array */
    int early = cli_early(argc, argv, launch_rank(launch_env) == 0);
    if (early >= 0)
        return early;
    tune_malloc();
    if (!launch_mark(launch_env))
        return alone(argc, argv);
    return with_mpi(argc, argv);
}
