/* timekey.c -- the time coordinate of group_by on a field, and its keys
 * (see timekey.h). */
#include "timekey.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "cftime.h"
#include "err.h"
#include "ncdims.h"

int timekey_resolve(const char *file, const char *dataset,
                    const char *group_by, char *path, size_t n,
                    struct h5b_error *err)
{
    size_t name_len = 0;
    if (cftime_group_part(group_by, &name_len) < 0)
        return 0;
    hid_t fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t did = fid >= 0 ? H5Dopen2(fid, dataset, H5P_DEFAULT)
                         : H5I_INVALID_HID;
    hid_t sid = did >= 0 ? H5Dget_space(did) : H5I_INVALID_HID;
    hsize_t hd[H5B_MAX_RANK];
    int rank = sid >= 0 ? H5Sget_simple_extent_ndims(sid) : -1;
    if (rank > 0 && rank <= H5B_MAX_RANK)
        H5Sget_simple_extent_dims(sid, hd, NULL);
    H5E_BEGIN_TRY {
        H5Sclose(sid);
        H5Dclose(did);
        H5Fclose(fid);
    } H5E_END_TRY;
    if (rank < 1 || rank > H5B_MAX_RANK)
        return 0;   /* the source's own checks say what is wrong */
    uint64_t dims[H5B_MAX_RANK];
    for (int d = 0; d < rank; d++)
        dims[d] = hd[d];
    struct ncdims *nd = malloc(sizeof *nd);
    if (!nd)
        return err_set(err, H5B_ERUN, "out of memory");
    ncdims_describe(nd, file, dataset, rank, dims, 0, 0);
    int len = (int)name_len;
    int ok = strlen(nd->name[0]) == name_len &&
             !strncmp(nd->name[0], group_by, name_len) && nd->coord[0][0];
    int rc = ok ? 1 : err_set(err, H5B_EINPUT, "%s: [reduce] group_by = %s: "
                              "dim 0 of '%s' is '%s'%s, not a time "
                              "coordinate '%.*s'", file, group_by, dataset,
                              nd->name[0], nd->coord[0][0] ? ""
                              : " without a coordinate variable", len,
                              group_by);
    if (ok)
        snprintf(path, n, "%s", nd->coord[0]);
    free(nd);
    return rc;
}

int timekey_opts(const char *file, const char *dataset,
                 struct source_opts *o, char *path, size_t n,
                 struct h5b_error *err)
{
    int rc = timekey_resolve(file, dataset, o->group_by, path, n, err);
    if (rc == 1) {
        o->group_by = path;
        o->key_time = 1;
    }
    return rc < 0 ? rc : 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sort v[0..n) and keep each value once; the count left. */
static uint64_t unique(int64_t *v, uint64_t n)
{
    uint64_t m = 0;
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    for (uint64_t i = 0; i < n; i++)
        if (!m || v[i] != v[m - 1])
            v[m++] = v[i];
    return m;
}

/* The keys of the whole key dataset of file i into keys (nrec of them). */
static int file_keys(const struct source *s, int part,
                     const struct cftime *tc, size_t i, int64_t *keys,
                     struct h5b_error *err)
{
    uint64_t n = s->file[i].nrec;
    double *v = part >= 0 ? malloc(n * sizeof *v + 1) : NULL;
    hid_t fid = H5Fopen(s->file[i].path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t did = fid >= 0 ? H5Dopen2(fid, s->key_path[0], H5P_DEFAULT)
                         : H5I_INVALID_HID;
    int rc = 0;
    if (did < 0 || (part >= 0 && !v) ||
        H5Dread(did, v ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, H5S_ALL,
                H5S_ALL, H5P_DEFAULT, v ? (void *)v : (void *)keys) < 0)
        rc = err_set(err, H5B_ERUN, "%s: cannot read group_by key '%s'",
                     s->file[i].path, s->key_path[0]);
    for (uint64_t r = 0; rc == 0 && v && r < n; r++)
        if (cftime_key(tc, part, v[r], &keys[r]) < 0)
            rc = err_set(err, H5B_EINPUT, "%s: group_by: value %g of '%s' "
                         "at index %llu is not a date", s->file[i].path,
                         v[r], s->key_path[0], (unsigned long long)r);
    H5E_BEGIN_TRY {
        H5Dclose(did);
        H5Fclose(fid);
    } H5E_END_TRY;
    free(v);
    return rc;
}

int timekey_count(const struct source *s, int part, const struct cftime *tc,
                  uint64_t *nkeys, struct h5b_error *err)
{
    int64_t *all = NULL, *keys = NULL;
    uint64_t nall = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->nfiles; i++) {
        uint64_t n = s->file[i].nrec;
        keys = realloc(keys, n * sizeof *keys + 1);
        rc = keys ? file_keys(s, part, tc, i, keys, err)
                  : err_set(err, H5B_ERUN, "out of memory for keys");
        n = rc == 0 ? unique(keys, n) : 0;
        int64_t *grown = rc == 0 ? realloc(all, (nall + n) * sizeof *all + 1)
                                 : NULL;
        if (rc == 0 && !grown)
            rc = err_set(err, H5B_ERUN, "out of memory for keys");
        if (rc == 0) {
            all = grown;
            memcpy(all + nall, keys, n * sizeof *keys);
            nall = unique(all, nall + n);
        }
    }
    free(keys);
    free(all);
    *nkeys = nall;
    return rc;
}
