/* rangepass.h -- the first pass of histogram_range = auto: every
 * column's min and max, read with the run's own plan, become its range. */
#ifndef H5B_RANGEPASS_H
#define H5B_RANGEPASS_H

#include "prep.h"

/* Does the job want a histogram without a range (a first pass)? */
int rangepass_needed(const struct job *job);

/* Run the first pass and set each column's hist_range.  On success the
 * workers wait for the next SETUP; on failure they have been stopped.
 * The run's clock starts here (p->t0), and the pass is timing.range. */
int rangepass_run(struct prep *p, int size, struct progress *prog,
                  struct h5b_error *err);

#endif
