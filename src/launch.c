/* launch.c -- finding a launcher's marks in the environment. */
#include "launch.h"

#include <stdlib.h>
#include <string.h>

/* Variables a launcher sets in every rank's environment: Open MPI's
 * mpirun; PMIx (Open MPI 4+, srun --mpi=pmix); PMI-1 and PMI-2 (MPICH's
 * Hydra, Intel MPI, MVAPICH, srun --mpi=pmi2, Cray PMI).  Debian's MPICH
 * 4.0 Hydra sets PMI_RANK, PMI_SIZE and PMI_FD (mpiexec.mpich -n 2 env). */
static const char *const MARKS[] = {
    "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_FD", "PMI_SIZE",
};

/* The same launchers' rank variables, and Slurm's. */
static const char *const RANKS[] = {
    "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID",
};

const char *launch_env(const char *name)
{
    return getenv(name);
}

const char *launch_mark(launch_getenv get)
{
    const char *force = get("H5BATCH_MPI");
    if (force && strcmp(force, "0") == 0)
        return NULL;
    if (force && strcmp(force, "1") == 0)
        return "H5BATCH_MPI";
    for (size_t i = 0; i < sizeof MARKS / sizeof MARKS[0]; i++) {
        const char *v = get(MARKS[i]);
        if (v && *v)
            return MARKS[i];
    }
    return NULL;
}

int launch_rank(launch_getenv get)
{
    for (size_t i = 0; i < sizeof RANKS / sizeof RANKS[0]; i++) {
        const char *v = get(RANKS[i]);
        char *end;
        long r = v && *v ? strtol(v, &end, 10) : -1;
        if (r >= 0 && r <= 1L << 30 && *end == '\0')
            return (int)r;
    }
    return 0;
}
