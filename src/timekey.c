/* timekey.c -- the time coordinate of group_by on a field, and its keys
 * (see timekey.h). */
#include "timekey.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "cftime.h"
#include "err.h"
#include "h5util.h"
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

/* Records of a key dataset read at a time while counting: 1 MiB of keys
 * (and as much of time values), whatever the file's length. */
#define KEY_PIECE ((uint64_t)1 << 17)

/* What counting the keys holds: a piece of a file's keys (and of its
 * time values, for a time key), and the distinct keys so far, sorted. */
struct keycount {
    int part;
    const struct cftime *tc;
    int64_t *keys;          /* KEY_PIECE */
    double *v;              /* KEY_PIECE, for a time key */
    int64_t *all, *merged;  /* the distinct keys; room to merge into */
    uint64_t nall, cap;
};

/* Keys of records [start, start + n) of the key dataset did of file
 * path into kc->keys. */
static int piece_keys(struct keycount *kc, hid_t did, const char *path,
                      const char *key, uint64_t start, uint64_t n,
                      struct h5b_error *err)
{
    hsize_t off = start, cnt = n;
    char why[256];
    int rc = h5util_read_slab(did, kc->v ? H5T_NATIVE_DOUBLE
                                         : H5T_NATIVE_INT64, 1, &off, NULL,
                              &cnt, kc->v ? (void *)kc->v : (void *)kc->keys,
                              why, sizeof why) < 0
             ? err_set(err, H5B_ERUN, "%s: cannot read group_by key '%s'",
                       path, key) : 0;
    for (uint64_t r = 0; rc == 0 && kc->v && r < n; r++)
        if (cftime_key(kc->tc, kc->part, kc->v[r], &kc->keys[r]) < 0)
            rc = err_set(err, H5B_EINPUT, "%s: group_by: value %g of '%s' "
                         "at index %llu is not a date", path, kc->v[r], key,
                         (unsigned long long)(start + r));
    return rc;
}

/* Merge the n sorted distinct keys of a piece into kc->all. */
static int merge_keys(struct keycount *kc, uint64_t n, struct h5b_error *err)
{
    if (kc->nall + n > kc->cap) {
        uint64_t cap = (kc->nall + n) * 2;
        int64_t *a = realloc(kc->all, cap * sizeof *a);
        int64_t *m = a ? realloc(kc->merged, cap * sizeof *m) : NULL;
        if (a)
            kc->all = a;
        if (m)
            kc->merged = m;
        if (!a || !m)
            return err_set(err, H5B_ERUN, "out of memory for %llu distinct "
                           "group_by keys", (unsigned long long)cap);
        kc->cap = cap;
    }
    uint64_t i = 0, j = 0, k = 0;
    while (i < kc->nall || j < n) {
        int64_t x = j == n || (i < kc->nall && kc->all[i] <= kc->keys[j])
                    ? kc->all[i] : kc->keys[j];
        i += i < kc->nall && kc->all[i] == x;
        j += j < n && kc->keys[j] == x;
        kc->merged[k++] = x;
    }
    int64_t *t = kc->all;
    kc->all = kc->merged;
    kc->merged = t;
    kc->nall = k;
    return 0;
}

/* Add the distinct keys of file i, a piece at a time. */
static int file_keys(struct keycount *kc, const struct source *s, size_t i,
                     struct h5b_error *err)
{
    const char *path = s->file[i].path, *key = s->key_path[0];
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t did = fid >= 0 ? H5Dopen2(fid, key, H5P_DEFAULT)
                         : H5I_INVALID_HID;
    int rc = did < 0 ? err_set(err, H5B_ERUN, "%s: cannot read group_by "
                               "key '%s'", path, key) : 0;
    for (uint64_t at = 0; rc == 0 && at < s->file[i].nrec; at += KEY_PIECE) {
        uint64_t n = s->file[i].nrec - at < KEY_PIECE
                     ? s->file[i].nrec - at : KEY_PIECE;
        rc = piece_keys(kc, did, path, key, at, n, err);
        if (rc == 0)
            rc = merge_keys(kc, unique(kc->keys, n), err);
    }
    H5E_BEGIN_TRY {
        H5Dclose(did);
        H5Fclose(fid);
    } H5E_END_TRY;
    return rc;
}

int timekey_count(const struct source *s, int part, const struct cftime *tc,
                  uint64_t *nkeys, struct h5b_error *err)
{
    struct keycount kc = {.part = part, .tc = tc};
    kc.keys = malloc(KEY_PIECE * sizeof *kc.keys);
    kc.v = part >= 0 ? malloc(KEY_PIECE * sizeof *kc.v) : NULL;
    int rc = !kc.keys || (part >= 0 && !kc.v)
             ? err_set(err, H5B_ERUN, "out of memory for keys") : 0;
    for (size_t i = 0; rc == 0 && i < s->nfiles; i++)
        rc = file_keys(&kc, s, i, err);
    *nkeys = kc.nall;
    free(kc.keys);
    free(kc.v);
    free(kc.all);
    free(kc.merged);
    return rc;
}
