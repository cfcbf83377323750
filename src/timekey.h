/* timekey.h -- group_by on a field, as rank 0 prepares it from the
 * input: which dataset is the time coordinate of `group_by = time.month`,
 * and how many distinct keys the records may bring.
 *
 * `NAME.PART` names the dataset's dim-0 coordinate variable as ncdims.h
 * finds it in the first file (its dimension scale, NAME being its
 * dimension name); its path then becomes the key dataset the source
 * reads after each partition's values (source_opts.key_time).  The key
 * count is the distinct keys of every record of every file, read once
 * before the run in pieces of 2^17 records (2 MiB at most, whatever the
 * files' lengths, beside 16 bytes per distinct key): an upper bound of
 * what a selection keeps, for the memory estimate of keyed tables (keys
 * x columns x state, README).
 */
#ifndef H5B_TIMEKEY_H
#define H5B_TIMEKEY_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"
#include "cftime.h"
#include "source.h"

/* If group_by is NAME.PART (PART month, year, season or dayofyear):
 * 1 with the path of dataset's dim-0 coordinate variable in file into
 * path (n bytes), or H5B_EINPUT with a one-line message when dim 0 is
 * not NAME or has no coordinate variable.  0 for any other group_by. */
int timekey_resolve(const char *file, const char *dataset,
                    const char *group_by, char *path, size_t n,
                    struct h5b_error *err);

/* o->group_by as timekey_resolve() sees it in file: a time key makes o
 * read the coordinate at path (n bytes, kept alive by the caller) with
 * key_time set; any other group_by leaves o as it is. */
int timekey_opts(const char *file, const char *dataset,
                 struct source_opts *o, char *path, size_t n,
                 struct h5b_error *err);

/* The distinct keys over all records of every file of s of its first key
 * dataset, into *nkeys: its integer values (part < 0), or calendar part
 * `part` (cftime.h) of its values as times of tc.  H5B_EINPUT naming the
 * file and index of a time value that is no date. */
int timekey_count(const struct source *s, int part, const struct cftime *tc,
                  uint64_t *nkeys, struct h5b_error *err);

#endif
