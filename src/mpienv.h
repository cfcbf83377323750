/* mpienv.h -- the MPI settings h5batch makes in its own environment before
 * MPI_Init.  No MPI.
 *
 * One setting so far, Open MPI's point-to-point layer (pml).  When every
 * rank is on one node, h5batch sets OMPI_MCA_pml=ob1 unless the user or the
 * site chose a pml: ob1 over shared memory (vader) is what Open MPI picks
 * there anyway, and naming it spares MPI_Init the opening of the other
 * candidates (Debian's Open MPI 4.1: the cm pml's psm and psm2 MTLs, about
 * 0.2 s per MPI_Init on a machine without their hardware; README.md,
 * "Start-up").  MPICH and its derivatives ignore OMPI_* variables.
 *
 * The contract that keeps the ranks together: a pml that differs between
 * ranks makes MPI_Init fail or hang, so every rank must decide alike.  The
 * decision reads only what is the same in every rank of one launch:
 * OMPI_COMM_WORLD_SIZE and, per node, OMPI_COMM_WORLD_LOCAL_SIZE (if one
 * rank sees LOCAL_SIZE == SIZE, its node holds every rank, so every rank
 * sees it; if one rank sees less, no node holds them all, so none sees
 * it); else Slurm's SLURM_STEP_NUM_NODES (or SLURM_NNODES), the same in
 * every task of a step; OMPI_MCA_pml and H5BATCH_PML, which a launcher
 * passes alike to every rank unless the user gives ranks different
 * environments on purpose (mpirun -x per application context, an MPMD
 * line); and the MCA parameter files, which on one node are the same files
 * for every rank.  A launch over several nodes is never touched.
 */
#ifndef H5B_MPIENV_H
#define H5B_MPIENV_H

#include "err.h"
#include "launch.h"

/* Open MPI's system MCA parameter file (ompi_info --path sysconfdir);
 * Debian's, unless the build says otherwise. */
#ifndef MPIENV_SYSTEM_PARAMS
#define MPIENV_SYSTEM_PARAMS "/etc/openmpi/openmpi-mca-params.conf"
#endif

/* What an MCA parameter file says about pml. */
enum mpienv_file {
    MPIENV_FILE_SILENT,     /* no pml line: the next file may say */
    MPIENV_FILE_ALLOWS,     /* an exclusion that spares ob1 (Debian: ^ucx) */
    MPIENV_FILE_CHOOSES,    /* pml = a list, or an exclusion of ob1 */
};

/* What to do about OMPI_MCA_pml, and why (for H5BATCH_STARTUP_TIMES). */
struct mpienv_pml {
    const char *set;        /* the value to set, or NULL: leave it alone */
    const char *why;        /* a few words; static storage */
};

/* The decision from the environment (get) and what the parameter files
 * say (files).  Pure: reads only through get. */
struct mpienv_pml mpienv_pml_decide(launch_getenv get, enum mpienv_file files);

/* What the text of one MCA parameter file says about pml: the last
 * "pml = VALUE" line counts; '#' starts a comment. */
enum mpienv_file mpienv_params_text(const char *text);

/* What the parameter files Open MPI reads say: the colon-separated list in
 * OMPI_MCA_mca_base_param_files, else $HOME/.openmpi/mca-params.conf and
 * then system; the first file with a pml line decides, as in Open MPI
 * (the user's file wins over the system's).  A file that cannot be read
 * says nothing. */
enum mpienv_file mpienv_params_files(launch_getenv get, const char *system);

/* Decide from the process's environment and files and apply: setenv
 * OMPI_MCA_pml when the decision says so; *out gets the decision.
 * Returns 0, or H5B_ERUN with err set when setenv fails (no memory): the
 * caller must then end before MPI_Init, since this rank would otherwise
 * start with a pml the others may not have. */
int mpienv_apply(struct mpienv_pml *out, struct h5b_error *err);

#endif
