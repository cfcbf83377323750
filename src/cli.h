/* cli.h -- the command line: h5batch [options] JOBFILE.  No MPI. */
#ifndef H5B_CLI_H
#define H5B_CLI_H

#include <stdio.h>

#include "h5batch/operator.h"

struct cli {
    const char *jobfile;
    const char *output;     /* -o: overrides [output] file */
    const char **sets;      /* --set values, in order */
    int nsets;
    int dry_run, json, quiet, help, version, resume;
};

/* Parse argv into c (pointers into argv).  Errors are one line, exit 2.
 * cli_free() is needed in every case. */
int cli_parse(struct cli *c, int argc, char **argv, struct h5b_error *err);

void cli_usage(FILE *out);

/* Settle what needs no job and no MPI: --help and --version print (when
 * print is set: rank 0 of a launcher's ranks, or a process alone) and give
 * 0; a usage error prints its one line and gives 2.  Gives -1 when the
 * run goes on.  main() calls it before MPI is initialised. */
int cli_early(int argc, char **argv, int print);

void cli_free(struct cli *c);

#endif
