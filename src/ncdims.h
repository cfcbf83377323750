/* ncdims.h -- the results file's netCDF-4 dimensions, coordinates and CF
 * attributes.
 *
 * netCDF-4 readers (netCDF-C, h5netcdf and so xarray, NCO, ncdump) see
 * an HDF5 dataset's axes as named dimensions only through dimension
 * scales (H5DS): a dataset marked as a scale is the dimension, named
 * after the dataset, and every variable lists its scales in its
 * DIMENSION_LIST attribute.  A scale that is also a variable (a
 * coordinate variable such as `lat`) carries its values; one that is
 * not is an empty float dataset whose NAME attribute begins "This is a
 * netCDF dimension but not a netCDF variable.", followed by its length.
 * Each scale gets `_Netcdf4Dimid`, numbered in creation order, as
 * netCDF-C and h5netcdf write it.
 *
 * ncdims_describe() reads from the first input file what the dataset's
 * axes are called and which have coordinate variables (its own scales,
 * else its h5py dimension labels, else DATASET_dimN), and the
 * dataset's units, long_name and standard_name.  ncdims_write() then
 * gives every result the names of its axes (cell axes after the input's,
 * the others as cfmeta.h says), creating each scale once where it is
 * visible to the results that use it: cell dimensions and their
 * coordinate variables (copied with their values and attributes) in the
 * column's group, the others beside the result.  It also writes the CF
 * attributes (units, long_name, standard_name, cell_methods).  Everything
 * follows from the job and the input, so the bytes do not depend on the
 * number of ranks.
 */
#ifndef H5B_NCDIMS_H
#define H5B_NCDIMS_H

#include <hdf5.h>
#include <stdint.h>

#include "h5batch/operator.h"
#include "results.h"

#define NCDIMS_NAME_MAX 256

struct ncdims {
    const char *file;       /* the input file coordinates come from */
    int rank;               /* of the input dataset */
    int axis_all;           /* reduced over every axis (else over axis 0) */
    int records;            /* axis = records: results over dim 0, 1 with
                               its coordinate (first[0], step[0]), 2
                               from rec_values, or without (output.h) */
    const double *rec_values;   /* records == 2: the selected records'
                                   coordinate values gathered over the
                                   files (rec_len of them), or NULL */
    uint64_t rec_len;
    char name[H5B_MAX_RANK][NCDIMS_NAME_MAX];
    char coord[H5B_MAX_RANK][1024]; /* coordinate variable's path, or "" */
    char units[256], long_name[1024], standard_name[256];
    /* [input] select (ncdims_select): the coordinate values copied for
     * axis k are every step[k]-th from first[k]; step 0: all. */
    uint64_t first[H5B_MAX_RANK], step[H5B_MAX_RANK];
};

/* Describe the axes of dataset (of rank rank, extents dims) in file, as
 * above.  compound: a table, whose columns have no unit.  Never fails:
 * what cannot be read is described by generated names and no unit. */
void ncdims_describe(struct ncdims *d, const char *file, const char *dataset,
                     int rank, const uint64_t *dims, int compound,
                     int axis_all);

/* Copy the coordinate values of a selection (first[k], step[k] for
 * each axis k; step 0: the whole axis) instead of whole axes. */
void ncdims_select(struct ncdims *d, const uint64_t *first,
                   const uint64_t *step);

/* Attach dimension scales to every result of rs already written in fid
 * (as group/name), and write their CF attributes.  A scale whose name is
 * taken by a result, or which would need two lengths, is left out (that
 * axis stays unnamed).  Returns 0, or -1 on an HDF5 failure (its stack
 * says why). */
int ncdims_write(hid_t fid, hid_t dcpl, const struct ncdims *d,
                 const struct results *rs);

#endif
