/* weightsread.c -- [reduce] weights against the input (weightsread.h). */
#include "weightsread.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "h5util.h"
#include "ncdims.h"
#include "weights.h"

#define KEY "[reduce] weights = %s: "

/* The extents of dataset path in file into a (rank, dims).  Returns 0, or
 * -1 when it cannot be opened as a dataset with a simple dataspace. */
static int read_shape(const char *file, const char *path,
                      struct weights_array *a)
{
    hid_t fid = H5I_INVALID_HID, ds = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hsize_t dims[H5B_MAX_RANK];
    int rank = -1;
    H5E_BEGIN_TRY {
        fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
        ds = fid >= 0 ? H5Dopen2(fid, path, H5P_DEFAULT) : H5I_INVALID_HID;
        sp = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
        rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
        if (rank >= 0 && rank <= H5B_MAX_RANK &&
            H5Sget_simple_extent_dims(sp, dims, NULL) != rank)
            rank = -1;
        H5Sclose(sp);
        H5Dclose(ds);
        H5Fclose(fid);
    } H5E_END_TRY;
    H5Eclear2(H5E_DEFAULT);
    if (rank < 0 || rank > H5B_MAX_RANK)
        return -1;
    a->rank = rank;
    for (int k = 0; k < rank; k++)
        a->dims[k] = dims[k];
    return 0;
}

/* All n values of dataset path in file as doubles into out.  Returns 0,
 * or -1 when they cannot be read (not numeric, say). */
static int read_values(const char *file, const char *path, double *out)
{
    hid_t fid = H5I_INVALID_HID, ds = H5I_INVALID_HID, t = H5I_INVALID_HID;
    int rc = -1;
    const char *why = NULL;
    H5E_BEGIN_TRY {
        fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
        ds = fid >= 0 ? H5Dopen2(fid, path, H5P_DEFAULT) : H5I_INVALID_HID;
        t = ds >= 0 ? H5Dget_type(ds) : H5I_INVALID_HID;
        if (t >= 0 && h5util_classify(t, &why) &&
            H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                    out) >= 0)
            rc = 0;
        H5Tclose(t);
        H5Dclose(ds);
        H5Fclose(fid);
    } H5E_END_TRY;
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

/* The cells of s: full lengths, names (from d) and the selection. */
static void cells_of(const struct source *s, const struct selection *sel,
                     const struct ncdims *d, struct weights_cells *c)
{
    memset(c, 0, sizeof *c);
    c->rank = s->rank - 1;
    for (int k = 1; k < s->rank; k++) {
        c->len[k - 1] = s->stored[k] ? s->stored[k] : s->dims[k];
        c->name[k - 1] = d->name[k];
        c->range[k - 1] = sel->active ? sel->range[k]
                          : (struct select_range){0, c->len[k - 1], 1};
    }
}

/* The axis names of dataset path in file: its scales or labels, "" for
 * the generated ones. */
static void array_names(const char *file, const char *path,
                        struct weights_array *a)
{
    struct ncdims wd;
    char gen[300];
    const char *b = strrchr(path, '/');
    ncdims_describe(&wd, file, path, a->rank, a->dims, 0, 0);
    for (int k = 0; k < a->rank; k++) {
        snprintf(gen, sizeof gen, "%s_dim%d", b && b[1] ? b + 1 : path, k);
        snprintf(a->name[k], sizeof a->name[k], "%s",
                 strcmp(wd.name[k], gen) ? wd.name[k] : "");
    }
}

/* The cell dimension of latitude (see weightsread.h), or -1. */
static int find_lat(const char *file, const struct ncdims *d,
                    const struct weights_cells *c)
{
    for (int k = 0; k < c->rank; k++)
        if (strcasecmp(c->name[k], "lat") == 0 ||
            strcasecmp(c->name[k], "latitude") == 0)
            return d->coord[k + 1][0] ? k : -1;
    for (int k = 0; k < c->rank; k++) {
        struct ncdims cd;
        if (!d->coord[k + 1][0])
            continue;
        ncdims_describe(&cd, file, d->coord[k + 1], 1, &c->len[k], 0, 0);
        if (strcmp(cd.standard_name, "latitude") == 0)
            return k;
    }
    return -1;
}

/* coslat: the array along the latitude dimension, its values in *w. */
static int load_coslat(const char *file, const struct ncdims *d,
                       const struct weights_cells *c, const char *spec,
                       struct weights_array *a, double **w,
                       struct h5b_error *err)
{
    char why[512];
    int k = find_lat(file, d, c);
    if (k < 0)
        return err_set(err, H5B_EINPUT, KEY "no cell dimension is a "
                       "latitude coordinate (a dimension scale named lat or "
                       "latitude, or standard_name = latitude)", spec);
    double *lat = malloc(c->len[k] * sizeof *lat);
    *w = malloc(c->len[k] * sizeof **w);
    int rc = !lat || !*w ? err_set(err, H5B_ERUN, "out of memory") : 0;
    if (rc == 0 && read_values(file, d->coord[k + 1], lat) < 0)
        rc = err_set(err, H5B_EINPUT, KEY "cannot read the latitudes %s",
                     spec, d->coord[k + 1]);
    if (rc == 0 && weights_coslat(lat, c->len[k], *w, why, sizeof why) < 0)
        rc = err_set(err, H5B_EINPUT, KEY "%s: %s", spec, d->coord[k + 1],
                     why);
    a->rank = 1;
    a->dims[0] = c->len[k];
    a->along[0] = k;
    free(lat);
    return rc;
}

/* A weights dataset: matched to the cells, its values in *w. */
static int load_dataset(const char *file, const struct weights_cells *c,
                        const char *spec, struct weights_array *a,
                        double **w, struct h5b_error *err)
{
    char why[1024];
    if (read_shape(file, spec, a) < 0)
        return err_set(err, H5B_EINPUT, KEY "no such dataset in %s", spec,
                       file);
    array_names(file, spec, a);
    if (weights_match(a, c, why, sizeof why) < 0)
        return err_set(err, H5B_EINPUT, KEY "%s", spec, why);
    uint64_t n = 1;
    for (int k = 0; k < a->rank; k++)
        n *= a->dims[k];
    *w = malloc((n ? n : 1) * sizeof **w);
    if (!*w)
        return err_set(err, H5B_ERUN, "out of memory");
    if (read_values(file, spec, *w) < 0)
        return err_set(err, H5B_EINPUT, KEY "cannot read it as numbers",
                       spec);
    if (weights_check(*w, n, why, sizeof why) < 0)
        return err_set(err, H5B_EINPUT, KEY "%s", spec, why);
    return 0;
}

int weightsread_resolve(const struct source *s, const struct selection *sel,
                        const char *dataset, const char *spec, double **out,
                        uint64_t *n, struct h5b_error *err)
{
    struct ncdims d;
    struct weights_cells c;
    struct weights_array a;
    uint64_t dims[H5B_MAX_RANK] = {0};
    double *w = NULL;
    char why[512];
    int rc = 0;
    *out = NULL;
    *n = 0;
    memset(&a, 0, sizeof a);
    for (int k = 0; k < s->rank; k++)
        dims[k] = k == 0 ? s->file[0].nrec
                         : s->stored[k] ? s->stored[k] : s->dims[k];
    ncdims_describe(&d, s->file[0].path, dataset, s->rank, dims, s->compound,
                    0);
    cells_of(s, sel, &d, &c);
    if (c.rank < 1 || s->compound)
        return err_set(err, H5B_EINPUT, KEY "dataset '%s' has no cell "
                       "dimensions to weight (its records are single "
                       "values or table rows)", spec, dataset);
    if (strcmp(spec, "coslat") == 0)
        rc = load_coslat(s->file[0].path, &d, &c, spec, &a, &w, err);
    else
        rc = load_dataset(s->file[0].path, &c, spec, &a, &w, err);
    if (rc == 0) {
        *n = weights_ncells(&c);
        *out = malloc(*n * sizeof **out);
        rc = *out ? 0 : err_set(err, H5B_ERUN, "out of memory");
    }
    if (rc == 0 && weights_expand(w, &a, &c, *out, why, sizeof why) < 0)
        rc = err_set(err, H5B_EINPUT, KEY "%s", spec, why);
    free(w);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}
