/* ncdims.c -- netCDF-4 dimensions and CF attributes (see ncdims.h). */
#define _DEFAULT_SOURCE
#include "ncdims.h"

#include <hdf5_hl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfmeta.h"
#include "h5util.h"

#define NOT_A_VARIABLE "This is a netCDF dimension but not a netCDF variable."

/* Attributes of a coordinate variable that describe HDF5 plumbing, not
 * the variable: not copied. */
static const char *const PLUMBING[] = {
    "CLASS", "NAME", "REFERENCE_LIST", "DIMENSION_LIST", "DIMENSION_LABELS",
    "_Netcdf4Dimid", "_Netcdf4Coordinates", "_nc3_strict", NULL};

/* ---- reading the input ------------------------------------------------- */


struct scale_seen {
    char path[1024];
};

static herr_t first_scale(hid_t did, unsigned dim, hid_t dsid, void *data)
{
    struct scale_seen *s = data;
    (void)did;
    (void)dim;
    if (H5Iget_name(dsid, s->path, sizeof s->path) <= 0)
        s->path[0] = '\0';
    return 1;
}

/* Is the scale at path a coordinate variable of len values: not a
 * netCDF dimension-only scale, 1-D, integer or float? */
static int is_coordinate(hid_t fid, const char *path, uint64_t len)
{
    char name[128];
    hid_t ds = H5Dopen2(fid, path, H5P_DEFAULT);
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
    hid_t t = ds >= 0 ? H5Dget_type(ds) : H5I_INVALID_HID;
    hsize_t n = 0;
    int ok = sp >= 0 && t >= 0 && H5Sget_simple_extent_ndims(sp) == 1 &&
             H5Sget_simple_extent_dims(sp, &n, NULL) == 1 && n == len &&
             (H5Tget_class(t) == H5T_INTEGER || H5Tget_class(t) == H5T_FLOAT);
    if (ok) {
        h5util_get_text(ds, "NAME", name, sizeof name);
        ok = strncmp(name, NOT_A_VARIABLE, strlen(NOT_A_VARIABLE)) != 0;
    }
    H5E_BEGIN_TRY {
        H5Tclose(t);
        H5Sclose(sp);
        H5Dclose(ds);
    } H5E_END_TRY;
    return ok;
}

/* Name axis k of did: its first scale (and coordinate variable), else its
 * label, else BASE_dimK. */
static void describe_axis(struct ncdims *d, hid_t fid, hid_t did, int k,
                          const char *base, uint64_t len)
{
    struct scale_seen s = {""};
    unsigned idx = 0;
    char label[NCDIMS_NAME_MAX] = "";
    if (did >= 0 && H5DSget_num_scales(did, (unsigned)k) > 0 &&
        H5DSiterate_scales(did, (unsigned)k, (int *)&idx, first_scale, &s) > 0
        && s.path[0]) {
        const char *b = strrchr(s.path, '/');
        snprintf(d->name[k], sizeof d->name[k], "%s", b ? b + 1 : s.path);
        if (is_coordinate(fid, s.path, len))
            snprintf(d->coord[k], sizeof d->coord[k], "%s", s.path);
        return;
    }
    if (did >= 0 &&
        H5DSget_label(did, (unsigned)k, label, sizeof label) > 0 &&
        !strchr(label, '/'))
        snprintf(d->name[k], sizeof d->name[k], "%s", label);
    else
        snprintf(d->name[k], sizeof d->name[k], "%s_dim%d", base, k);
}

void ncdims_select(struct ncdims *d, const uint64_t *first,
                   const uint64_t *step)
{
    for (int k = 0; k < d->rank && k < H5B_MAX_RANK; k++) {
        d->first[k] = first[k];
        d->step[k] = step[k];
    }
}

void ncdims_describe(struct ncdims *d, const char *file, const char *dataset,
                     int rank, const uint64_t *dims, int compound,
                     int axis_all)
{
    memset(d, 0, sizeof *d);
    d->file = file;
    d->rank = rank;
    d->axis_all = axis_all;
    const char *b = strrchr(dataset, '/');
    b = b && b[1] ? b + 1 : dataset;
    hid_t fid = H5I_INVALID_HID, did = H5I_INVALID_HID;
    H5E_BEGIN_TRY {
        fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
        did = fid >= 0 ? H5Dopen2(fid, dataset, H5P_DEFAULT)
                       : H5I_INVALID_HID;
    } H5E_END_TRY;
    for (int k = 0; k < rank && k < H5B_MAX_RANK; k++)
        describe_axis(d, fid, did, k, b, dims[k]);
    if (did >= 0 && !compound) {
        h5util_get_text(did, "units", d->units, sizeof d->units);
        h5util_get_text(did, "long_name", d->long_name, sizeof d->long_name);
        h5util_get_text(did, "standard_name", d->standard_name,
                 sizeof d->standard_name);
    }
    H5E_BEGIN_TRY {
        H5Dclose(did);
        H5Fclose(fid);
    } H5E_END_TRY;
    H5Eclear2(H5E_DEFAULT);
}

/* ---- writing the results ----------------------------------------------- */

struct scale {
    char path[1100];        /* in the results file */
    hid_t id;               /* H5I_INVALID_HID: name taken, not a scale */
    uint64_t len;
};

struct writer {
    hid_t fid, dcpl, in;    /* results file; input (opened when needed) */
    const struct ncdims *d;
    const struct results *rs;
    struct scale *s;
    size_t n;
    int32_t next_id;        /* _Netcdf4Dimid of the next scale */
    int axis;               /* input axis of the scale being made */
};

/* Copy attribute name of src to dst as stored (integer, float or string
 * attributes only; others are skipped). */
static herr_t copy_attr(hid_t src, const char *name, const H5A_info_t *info,
                        void *data)
{
    hid_t dst = *(hid_t *)data;
    (void)info;
    for (size_t i = 0; PLUMBING[i]; i++)
        if (strcmp(name, PLUMBING[i]) == 0)
            return 0;
    hid_t a = H5Aopen(src, name, H5P_DEFAULT), b = H5I_INVALID_HID;
    hid_t t = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    H5T_class_t c = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    void *buf = NULL;
    int rc = -1;
    if (c != H5T_INTEGER && c != H5T_FLOAT && c != H5T_STRING) {
        rc = 0;                 /* references, compounds: not CF */
        goto done;
    }
    buf = np >= 0 ? calloc((size_t)np + 1, H5Tget_size(t)) : NULL;
    if (buf && H5Aread(a, t, buf) >= 0) {
        b = H5Acreate2(dst, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
        rc = b >= 0 && H5Awrite(b, t, buf) >= 0 ? 0 : -1;
        if (H5Tis_variable_str(t) > 0)
            H5Dvlen_reclaim(t, sp, H5P_DEFAULT, buf);
    }
done:
    free(buf);
    H5E_BEGIN_TRY {
        H5Aclose(b);
        H5Sclose(sp);
        H5Tclose(t);
        H5Aclose(a);
    } H5E_END_TRY;
    return rc;
}

/* Create dataset path of file type ft and len elements, written from buf
 * (memory type mt) unless buf is NULL.  Returns the open dataset. */
static hid_t make_vector(struct writer *w, const char *path, hid_t ft,
                         hid_t mt, uint64_t len, const void *buf)
{
    hsize_t n = len;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t ds = sp >= 0 ? H5Dcreate2(w->fid, path, ft, sp, H5P_DEFAULT,
                                    w->dcpl, H5P_DEFAULT)
                       : H5I_INVALID_HID;
    if (ds >= 0 && buf && len && H5Dwrite(ds, mt, H5S_ALL, H5S_ALL,
                                          H5P_DEFAULT, buf) < 0) {
        H5Dclose(ds);
        ds = H5I_INVALID_HID;
    }
    H5E_BEGIN_TRY { H5Sclose(sp); } H5E_END_TRY;
    return ds;
}

/* Copy the input's coordinate variable src (len values) to path, values
 * and attributes.  Returns the open dataset. */
static hid_t copy_coordinate(struct writer *w, const char *src,
                             const char *path, uint64_t len)
{
    if (w->in < 0)
        w->in = H5Fopen(w->d->file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t from = w->in >= 0 ? H5Dopen2(w->in, src, H5P_DEFAULT)
                            : H5I_INVALID_HID;
    hid_t ft = from >= 0 ? H5Dget_type(from) : H5I_INVALID_HID;
    hid_t mt = ft >= 0 ? H5Tget_native_type(ft, H5T_DIR_ASCEND)
                       : H5I_INVALID_HID;
    void *buf = mt >= 0 ? calloc(len ? len : 1, H5Tget_size(mt)) : NULL;
    hid_t ds = H5I_INVALID_HID, fsp = H5I_INVALID_HID, msp = H5S_ALL;
    uint64_t step = w->axis >= 0 ? w->d->step[w->axis] : 0;
    if (buf && len && step) {   /* the selected values only */
        hsize_t off = w->d->first[w->axis], st = step, n = len;
        fsp = H5Dget_space(from);
        msp = H5Screate_simple(1, &n, NULL);
        if (fsp < 0 || msp < 0 || H5Sselect_hyperslab(fsp, H5S_SELECT_SET,
                                                      &off, &st, &n, NULL) < 0) {
            free(buf);
            buf = NULL;
        }
    }
    if (w->axis == 0 && w->d->rec_values && w->d->rec_len == len) {
        /* axis = records over several files: the values gathered from
         * each (ncdims.h), the attributes from the first. */
        if (from >= 0)
            ds = make_vector(w, path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, len,
                             w->d->rec_values);
    } else if (buf && (!len || H5Dread(from, mt, msp, step ? fsp : H5S_ALL,
                                       H5P_DEFAULT, buf) >= 0)) {
        ds = make_vector(w, path, ft, mt, len, buf);
    }
    if (ds >= 0 && H5Aiterate2(from, H5_INDEX_NAME, H5_ITER_INC, NULL,
                               copy_attr, &ds) < 0) {
        H5Dclose(ds);
        ds = H5I_INVALID_HID;
    }
    free(buf);
    H5E_BEGIN_TRY {
        if (msp != H5S_ALL)
            H5Sclose(msp);
        H5Sclose(fsp);
        H5Tclose(mt);
        H5Tclose(ft);
        H5Dclose(from);
    } H5E_END_TRY;
    return ds;
}

/* Create the scale at path: a coordinate variable copied from the input
 * (incoord) or from the result sib, else a dimension without variable.
 * Returns the open dataset marked as a scale. */
static hid_t make_scale(struct writer *w, const char *path, const char *name,
                        uint64_t len, const char *incoord,
                        const struct result *sib)
{
    char label[96];
    hid_t ds = H5I_INVALID_HID;
    if (incoord) {
        /* An input that changed under us loses its coordinate values,
         * not the results: the dimension stays, without a variable. */
        H5E_BEGIN_TRY {
            ds = copy_coordinate(w, incoord, path, len);
        } H5E_END_TRY;
        if (ds < 0 && H5Lexists(w->fid, path, H5P_DEFAULT) == 0) {
            H5Eclear2(H5E_DEFAULT);
            incoord = NULL;
        }
        else if (ds < 0)
            return H5I_INVALID_HID;
    }
    if (!incoord && sib && sib->str_width) {
        hid_t st = H5I_INVALID_HID;
        char **strs = h5util_vlen_strings(sib->data, sib->str_width, len,
                                          &st);
        ds = strs ? make_vector(w, path, st, st, len, strs) : H5I_INVALID_HID;
        free(strs);
        H5E_BEGIN_TRY { H5Tclose(st); } H5E_END_TRY;
    } else if (!incoord && sib) {
        ds = make_vector(w, path, h5util_file_type(sib->type),
                         h5util_native(sib->type), len, sib->data);
    }
    else if (!incoord)
        ds = make_vector(w, path, H5T_IEEE_F32BE, H5T_NATIVE_FLOAT, len, NULL);
    snprintf(label, sizeof label, "%s%10llu", NOT_A_VARIABLE,
             (unsigned long long)len);
    if (ds >= 0 && (H5DSset_scale(ds, incoord || sib ? name : label) < 0 ||
                    h5util_put_number(ds, "_Netcdf4Dimid", H5T_STD_I32LE,
                                      H5T_NATIVE_INT32, &w->next_id) < 0)) {
        H5Dclose(ds);
        ds = H5I_INVALID_HID;
    }
    w->next_id++;
    return ds;
}

/* The sibling result (same group and directory) named leaf, of rank 1
 * and len values, or NULL. */
static const struct result *sibling(const struct writer *w,
                                    const struct result *r, const char *leaf,
                                    uint64_t len)
{
    char name[1024];
    const char *slash = strrchr(r->name, '/');
    snprintf(name, sizeof name, "%.*s%s%s", slash ? (int)(slash - r->name) : 0,
             r->name, slash ? "/" : "", leaf);
    const struct result *s = results_find(w->rs, r->group, name);
    return s && s->rank == 1 && s->dims[0] == len ? s : NULL;
}

/* The scale named name in group dir of the results file, len long, made
 * on first use (see make_scale); H5I_INVALID_HID when that name is taken
 * by a result or by a scale of another length.  *failed is set on an
 * HDF5 failure. */
static hid_t find_scale(struct writer *w, const char *dir, const char *name,
                        uint64_t len, const char *incoord,
                        const struct result *sib, int *failed)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->s[i].path, path) == 0)
            return w->s[i].len == len ? w->s[i].id : H5I_INVALID_HID;
    struct scale *grown = realloc(w->s, (w->n + 1) * sizeof *grown);
    if (!grown) {
        *failed = 1;
        return H5I_INVALID_HID;
    }
    w->s = grown;
    struct scale *s = &w->s[w->n++];
    snprintf(s->path, sizeof s->path, "%s", path);
    s->len = len;
    s->id = H5I_INVALID_HID;
    htri_t taken = H5Lexists(w->fid, path, H5P_DEFAULT);
    if (taken < 0)
        *failed = 1;
    else if (!taken) {
        s->id = make_scale(w, path, name, len, incoord, sib);
        *failed |= s->id < 0;
    }
    return s->id;
}

/* The keys of a key_axis result r: the coordinate-only result of its
 * group (keyed.h), or NULL. */
static const struct result *key_coord(const struct writer *w,
                                      const struct result *r)
{
    for (size_t i = 0; i < w->rs->n; i++)
        if (w->rs->r[i].coord_only && !strcmp(w->rs->r[i].group, r->group))
            return &w->rs->r[i];
    return NULL;
}

/* Attach a scale to axis a of result r (open as ds). */
static int attach_axis(struct writer *w, const struct result *r, hid_t ds,
                       int a, int cell_rank)
{
    char dir[1100], name[NCDIMS_NAME_MAX + 32];
    const char *incoord = NULL;
    const struct result *sib = NULL;
    int failed = 0;
    int lead = r->key_axis ? 1 : 0;     /* the keys' axis before cells */
    if (r->key_axis && a == 0 && key_coord(w, r)) {
        /* group_by on a field: the keys, named as group_by's part */
        sib = key_coord(w, r);
        snprintf(dir, sizeof dir, "%s", r->group);
        snprintf(name, sizeof name, "%s", sib->name);
        w->axis = -1;
    } else if (w->d->records && !r->per_cell && a == 0) {
        snprintf(dir, sizeof dir, "%s", r->group);
        snprintf(name, sizeof name, "%s", w->d->name[0]);
        incoord = (w->d->records == 1 || w->d->rec_values) &&
                  w->d->coord[0][0] ? w->d->coord[0] : NULL;
        w->axis = 0;
    } else if (r->per_cell && a >= lead && a - lead < cell_rank) {
        int k = a - lead + (w->d->rank - cell_rank);
        snprintf(dir, sizeof dir, "%s", r->group);
        snprintf(name, sizeof name, "%s", w->d->name[k]);
        incoord = w->d->coord[k][0] ? w->d->coord[k] : NULL;
        w->axis = k;
    } else {
        w->axis = -1;
        const char *slash = strrchr(r->name, '/');
        snprintf(dir, sizeof dir, "%s%s%.*s", r->group, slash ? "/" : "",
                 slash ? (int)(slash - r->name) : 0, r->name);
        cfmeta_axis_name(r->name, r->per_cell,
                         a - lead - (r->per_cell ? cell_rank : 0), name,
                         sizeof name);
        const char *leaf = cfmeta_axis_coord(name);
        sib = leaf ? sibling(w, r, leaf, r->dims[a]) : NULL;
    }
    hid_t sc = find_scale(w, dir, name, r->dims[a], incoord, sib, &failed);
    if (sc >= 0 && H5DSattach_scale(ds, sc, (unsigned)a) < 0)
        failed = 1;
    return failed ? -1 : 0;
}

/* CF attributes of result r (open as ds). */
static int put_cf(const struct writer *w, const struct result *r, hid_t ds)
{
    const struct ncdims *d = w->d;
    enum cfmeta_unit u = cfmeta_unit_of(r->name);
    char sq[256], cm[1024] = "";
    int rc = 0;
    if (u == CFMETA_SAME_UNIT && d->units[0])
        rc |= h5util_put_string(ds, "units", d->units);
    if (u == CFMETA_UNIT_SQUARED && d->units[0] &&
        cfmeta_units_squared(d->units, sq, sizeof sq) == 0)
        rc |= h5util_put_string(ds, "units", sq);
    if (u == CFMETA_SAME_UNIT && d->long_name[0])
        rc |= h5util_put_string(ds, "long_name", d->long_name);
    if (u == CFMETA_SAME_UNIT && d->standard_name[0])
        rc |= h5util_put_string(ds, "standard_name", d->standard_name);
    const char *m = cfmeta_method(r->name);
    int reduced = d->axis_all ? d->rank : 1;
    for (int k = d->records ? 1 : 0; m && k < (d->records ? d->rank
                                                          : reduced); k++)
        snprintf(cm + strlen(cm), sizeof cm - strlen(cm), "%s: ", d->name[k]);
    if (m && snprintf(cm + strlen(cm), sizeof cm - strlen(cm), "%s", m) > 0)
        rc |= h5util_put_string(ds, "cell_methods", cm);
    return rc;
}

/* Name the axes of result r and describe it. */
static int annotate(struct writer *w, const struct result *r, int cell_rank)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", r->group, r->name);
    if (r->coord_only)
        return 0;   /* not a dataset: its values make a scale */
    hid_t ds = H5Dopen2(w->fid, path, H5P_DEFAULT);
    int rc = ds >= 0 ? 0 : -1;
    for (int a = 0; a < r->rank && rc == 0; a++)
        rc = attach_axis(w, r, ds, a, cell_rank);
    if (rc == 0)
        rc = put_cf(w, r, ds);
    H5E_BEGIN_TRY { H5Dclose(ds); } H5E_END_TRY;
    return rc;
}

int ncdims_write(hid_t fid, hid_t dcpl, const struct ncdims *d,
                 const struct results *rs)
{
    struct writer w = {.fid = fid, .dcpl = dcpl, .in = H5I_INVALID_HID,
                       .d = d, .rs = rs, .axis = -1};
    int cell_rank = d->axis_all ? 0 : d->rank - 1;
    int rc = 0;
    for (size_t i = 0; i < rs->n && rc == 0; i++)
        rc = annotate(&w, &rs->r[i], cell_rank);
    H5E_BEGIN_TRY {
        for (size_t i = 0; i < w.n; i++)
            H5Dclose(w.s[i].id);
        H5Fclose(w.in);
    } H5E_END_TRY;
    free(w.s);
    return rc;
}
