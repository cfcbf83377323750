/* selread.h -- [input] select against the input: the dimensions' names
 * and coordinate values, resolved to indices (select.h does the rules).
 *
 * Dimension k of the dataset is named by its dimension scale or h5py
 * label as ncdims.h reads them (in the first file), and always also
 * dimK.  Coordinate values of dim 0 are those of each file's own
 * coordinate variable, concatenated over the files in order, because a
 * selection counts records over all files; those of other dimensions
 * come from the first file.  All coordinate values of a dimension are
 * read only for a coordinate bound on it, and freed once it is resolved
 * (8 bytes per index of that dimension, before the run starts); for
 * --dry-run's line of an index-only spec just the two end values are
 * read.
 */
#ifndef H5B_SELREAD_H
#define H5B_SELREAD_H

#include <stdint.h>
#include <stdio.h>

#include "ncdims.h"
#include "select.h"
#include "source.h"

struct selection {
    int active;                 /* [input] select was given */
    int selected[H5B_MAX_RANK]; /* dimension k has a spec */
    struct select_range range[H5B_MAX_RANK];
    char name[H5B_MAX_RANK][NCDIMS_NAME_MAX];
    int has_values[H5B_MAX_RANK];   /* coordinate values known */
    double first_value[H5B_MAX_RANK], last_value[H5B_MAX_RANK];
    uint64_t len[H5B_MAX_RANK]; /* the dimension's length (dim 0: all
                                   records) */
    uint64_t *first, *nrec;     /* per file: first selected record within
                                   it, and how many (dim 0) */
};

/* Resolve text (the value of [input] select) against source s into sel,
 * which owns per-file arrays afterwards (selread_free).  On failure the
 * message names the key and the dimension, and sel holds nothing. */
int selread_resolve(struct selection *sel, const struct source *s,
                    const char *dataset, const char *text,
                    struct h5b_error *err);

/* The coordinate values of the selected records (dim 0 over every file,
 * sel's range, or all records when sel is inactive) into a new array *out
 * of *n values (free()); *out NULL when some file has none.  Fails only
 * when out of memory. */
int selread_record_values(const struct selection *sel,
                          const struct source *s, const char *dataset,
                          double **out, uint64_t *n, struct h5b_error *err);

/* One line per selected dimension, for --dry-run. */
void selread_print(const struct selection *sel, FILE *out);

void selread_free(struct selection *sel);

#endif
