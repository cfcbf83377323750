/* summary.h -- the run summary on stdout: readable text or one JSON document.
 *
 * JSON schema (also in the README): job, dataset, inputs, rows,
 * partitions, ranks, elapsed_s, bytes, output, skipped_fields, timing, and
 * results keyed by group then result name.  A result of up to
 * SUMMARY_INLINE values is inline (a number, or nested lists shaped like
 * the result); a larger one is {"shape": [...], "path": "/group/name"}.
 * NaN and infinities are null.  Every string is valid UTF-8: a byte
 * sequence that is not is cleaned by utf8_clean (U+FFFD).  Written with
 * json-c, which escapes every string.
 */
#ifndef H5B_SUMMARY_H
#define H5B_SUMMARY_H

#include <stdio.h>

#include "output.h"
#include "results.h"

#define SUMMARY_INLINE 1000

/* Print in and rs to out as one JSON document and a newline.  Returns 0,
 * or H5B_ERUN with err set (out of memory) and nothing printed. */
int summary_json(FILE *out, const struct run_info *in,
                 const struct results *rs, struct h5b_error *err);

/* Print in and rs to out as the readable text summary. */
void summary_text(FILE *out, const struct run_info *in,
                  const struct results *rs);

#endif
