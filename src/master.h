/* master.h -- rank 0's side of a run (see master.c for the protocol). */
#ifndef H5B_MASTER_H
#define H5B_MASTER_H

#include "table.h"
#include "plan.h"
#include "progress.h"
#include "source.h"

struct master_args {
    struct table *tables[2];    /* [0] full tiles, [1] the short last one */
    struct source *src;
    const struct plan *plan;
    int nworkers;           /* ranks 1..nworkers; 0: rank 0 works alone */
    int prefetch;
    int more;               /* on success, STOP says another SETUP follows */
    struct progress *prog;
};

/* Reduce every partition of the plan into acc[0..ntiles) (created here,
 * one per tile of cells), merging in partition order, and stop every
 * worker whatever happens.  On failure acc holds nothing and err says
 * which rank or file failed. */
int master_run(const struct master_args *a, struct table_partial *acc,
               struct h5b_error *err);

/* Free acc[0..n) from master_run. */
void master_free_accs(const struct master_args *a, struct table_partial *acc,
                      uint64_t n);

#endif
