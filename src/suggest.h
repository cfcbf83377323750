/* suggest.h -- "did you mean ...?": the known name nearest a misspelt one.
 *
 * Nearness is the optimal string alignment distance (Levenshtein's
 * insertions, deletions and substitutions, plus swapping two adjacent
 * characters, each costing 1), so "partition_sise", "partiton_size" and
 * "partiiton_size" are all one edit from "partition_size".  A name is
 * suggested only when it is close enough to be what was meant: at most
 * a third of the word's length away (at least 1, at most 3 edits).
 * Words longer than SUGGEST_MAX_LEN get no suggestion, which bounds the
 * work.  No MPI, no HDF5.
 */
#ifndef H5B_SUGGEST_H
#define H5B_SUGGEST_H

#include <stddef.h>

#define SUGGEST_MAX_LEN 64

/* The edit distance between a and b as above, or (size_t)-1 when either
 * is longer than SUGGEST_MAX_LEN. */
size_t suggest_distance(const char *a, const char *b);

/* The candidate of cand[0..n) nearest word and close enough (the first
 * of equally near ones), or NULL.  NULL entries are skipped. */
const char *suggest_nearest(const char *word, const char *const *cand,
                            size_t n);

#endif
