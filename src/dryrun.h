/* dryrun.h -- what --dry-run prints: the plan, the nodes, the memory. */
#ifndef H5B_DRYRUN_H
#define H5B_DRYRUN_H

#include <stdio.h>

#include "prep.h"

/* Print p's plan to out: the job and its columns and files, partitions,
 * operators, tiles, decoding, reading, nodes and transport, rank 0's
 * part, the memory plan and its limit, the output and checkpoint. */
void dryrun_print(const struct prep *p, FILE *out);

#endif
