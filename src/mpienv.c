/* mpienv.c -- the pml decision before MPI_Init (mpienv.h has the contract).
 *
 * The order of the rules is the order of who may choose: the user's
 * H5BATCH_PML=keep, the user's OMPI_MCA_pml, the MCA parameter files
 * (user's, then the site's), and only then h5batch, from the launcher's
 * view of where the ranks are.  Every input is the same in every rank of
 * a one-node launch, and a launch over several nodes is left alone, so
 * the ranks never disagree (mpienv.h).
 */
#include "mpienv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PML_VAR "OMPI_MCA_pml"
#define ONE_NODE_PML "ob1"

/* A positive decimal integer, or -1. */
static long count_of(const char *v)
{
    char *end;
    long n = v && *v ? strtol(v, &end, 10) : -1;
    return n > 0 && *end == '\0' ? n : -1;
}

static struct mpienv_pml leave(const char *why)
{
    return (struct mpienv_pml){.set = NULL, .why = why};
}

/* Where the launcher says the ranks are: 1 (one node), 0 (several), -1
 * (it does not say).  Open MPI's own variables first: under mpirun in a
 * Slurm allocation, SLURM_NNODES is the allocation's, not the launch's. */
static int one_node(launch_getenv get)
{
    long size = count_of(get("OMPI_COMM_WORLD_SIZE"));
    long local = count_of(get("OMPI_COMM_WORLD_LOCAL_SIZE"));
    if (size > 0 && local > 0)
        return local == size;
    if (size > 0)
        return -1;
    long nodes = count_of(get("SLURM_STEP_NUM_NODES"));
    if (nodes < 0)
        nodes = count_of(get("SLURM_NNODES"));
    return nodes < 0 ? -1 : nodes == 1;
}

struct mpienv_pml mpienv_pml_decide(launch_getenv get, enum mpienv_file files)
{
    const char *mode = get("H5BATCH_PML");
    if (mode && strcmp(mode, "keep") == 0)
        return leave("H5BATCH_PML=keep");
    if (get(PML_VAR))
        return leave("OMPI_MCA_pml set");
    if (files == MPIENV_FILE_CHOOSES)
        return leave("pml in an MCA parameter file");
    switch (one_node(get)) {
    case 1:
        return (struct mpienv_pml){.set = ONE_NODE_PML, .why = "one node"};
    case 0:
        return leave("several nodes");
    default:
        return leave("no launcher node count");
    }
}

/* Whether the comma-separated list has the name as an element. */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p; p += strcspn(p, ",")) {
        p += strspn(p, ", \t");
        if (strncmp(p, name, n) == 0 && strchr(", \t", p[n]))
            return 1;
    }
    return 0;
}

/* What one line says: SILENT unless it is "pml = VALUE". */
static enum mpienv_file line_says(const char *line, size_t len)
{
    char buf[512];
    if (len >= sizeof buf)
        return MPIENV_FILE_SILENT;
    memcpy(buf, line, len);
    buf[len] = '\0';
    buf[strcspn(buf, "#")] = '\0';
    char *p = buf + strspn(buf, " \t");
    if (strncmp(p, "pml", 3) != 0)
        return MPIENV_FILE_SILENT;
    p += 3 + strspn(p + 3, " \t");
    if (*p != '=')
        return MPIENV_FILE_SILENT;
    p += 1 + strspn(p + 1, " \t");
    size_t end = strlen(p);
    while (end > 0 && strchr(" \t\r", p[end - 1]))
        p[--end] = '\0';
    if (*p == '^')
        return listed(p + 1, ONE_NODE_PML) ? MPIENV_FILE_CHOOSES
                                           : MPIENV_FILE_ALLOWS;
    return MPIENV_FILE_CHOOSES;
}

enum mpienv_file mpienv_params_text(const char *text)
{
    enum mpienv_file says = MPIENV_FILE_SILENT;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        enum mpienv_file s = line_says(p, len);
        if (s != MPIENV_FILE_SILENT)
            says = s;
        p += len + (p[len] == '\n');
    }
    return says;
}

/* What the file at path says; SILENT when it cannot be read.  Parameter
 * files are small: the first 64 KiB are read. */
static enum mpienv_file file_says(const char *path)
{
    static char text[64 << 10];
    FILE *f = fopen(path, "r");
    if (!f)
        return MPIENV_FILE_SILENT;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return mpienv_params_text(text);
}

enum mpienv_file mpienv_params_files(launch_getenv get, const char *system)
{
    char list[4096];
    const char *given = get("OMPI_MCA_mca_base_param_files");
    const char *home = get("HOME");
    int n = given ? snprintf(list, sizeof list, "%s", given)
                  : snprintf(list, sizeof list, "%s/.openmpi/mca-params.conf:%s",
                             home ? home : "", system);
    if (n < 0 || (size_t)n >= sizeof list)
        return MPIENV_FILE_SILENT;
    for (char *path = list, *next; path; path = next) {
        next = strchr(path, ':');
        if (next)
            *next++ = '\0';
        enum mpienv_file s = *path ? file_says(path) : MPIENV_FILE_SILENT;
        if (s != MPIENV_FILE_SILENT)
            return s;
    }
    return MPIENV_FILE_SILENT;
}

int mpienv_apply(struct mpienv_pml *out, struct h5b_error *err)
{
    enum mpienv_file files = mpienv_params_files(launch_env,
                                                 MPIENV_SYSTEM_PARAMS);
    *out = mpienv_pml_decide(launch_env, files);
    if (out->set && setenv(PML_VAR, out->set, 0) != 0)
        return err_set(err, H5B_ERUN, "cannot set %s=%s before MPI_Init",
                       PML_VAR, out->set);
    return 0;
}
