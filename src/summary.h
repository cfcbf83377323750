/* summary.h -- the run summary on stdout: readable text or one JSON document.
 *
 * JSON schema (also in the README): job, dataset, inputs, rows,
 * partitions, ranks, elapsed_s, bytes, output, and results keyed by group
 * then result name.  A result of up to SUMMARY_INLINE values is inline
 * (a number, or nested lists shaped like the result); a larger one is
 * {"shape": [...], "path": "/group/name"}.  NaN and infinities are null.
 */
#ifndef H5B_SUMMARY_H
#define H5B_SUMMARY_H

#include <stdio.h>

#include "output.h"
#include "results.h"

#define SUMMARY_INLINE 1000

void summary_json(FILE *out, const struct run_info *in,
                  const struct results *rs);

void summary_text(FILE *out, const struct run_info *in,
                  const struct results *rs);

#endif
