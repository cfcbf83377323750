/* selread.c -- [input] select against the input (see selread.h). */
#include "selread.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "h5util.h"

#define KEY "[input] select"

/* Read values [off, off + cnt) of the 1-D coordinate variable path of
 * file (len values) as doubles into out.  Returns 0, or -1 when it
 * cannot be read. */
static int read_coord(const char *file, const char *path, uint64_t len,
                      uint64_t off, uint64_t cnt, double *out)
{
    hid_t fid = H5I_INVALID_HID, ds = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hid_t msp = H5I_INVALID_HID;
    hsize_t n = 0, o = off, c = cnt;
    int rc = -1;
    H5E_BEGIN_TRY {
        fid = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
        ds = fid >= 0 ? H5Dopen2(fid, path, H5P_DEFAULT) : H5I_INVALID_HID;
        sp = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
        msp = cnt ? H5Screate_simple(1, &c, NULL) : H5I_INVALID_HID;
        if (sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 &&
            H5Sget_simple_extent_dims(sp, &n, NULL) == 1 && n == len &&
            off + cnt <= len &&
            (cnt == 0 || (msp >= 0 &&
             H5Sselect_hyperslab(sp, H5S_SELECT_SET, &o, NULL, &c, NULL) >= 0
             && H5Dread(ds, H5T_NATIVE_DOUBLE, msp, sp, H5P_DEFAULT,
                        out) >= 0)))
            rc = 0;
        H5Sclose(msp);
        H5Sclose(sp);
        H5Dclose(ds);
        H5Fclose(fid);
    } H5E_END_TRY;
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

/* The coordinate variable of dimension k in file i of s, into path (""
 * when it has none). */
static void coord_path(const struct source *s, const char *dataset,
                       size_t i, int k, char *path, size_t n)
{
    struct ncdims d;
    uint64_t dims[H5B_MAX_RANK];
    memcpy(dims, s->dims, sizeof dims);
    dims[0] = s->file[i].nrec;
    ncdims_describe(&d, s->file[i].path, dataset, s->rank, dims, s->compound,
                    0);
    snprintf(path, n, "%s", d.coord[k]);
}

/* The coordinate value at index g of dimension k (over all files for
 * dim 0) into *v.  Returns 0, or -1 when there is none. */
static int value_at(const struct source *s, const char *dataset, int k,
                    uint64_t g, double *v)
{
    char path[1024];
    size_t i = 0;
    while (k == 0 && i + 1 < s->nfiles && g >= s->file[i].nrec)
        g -= s->file[i++].nrec;
    coord_path(s, dataset, i, k, path, sizeof path);
    return path[0] ? read_coord(s->file[i].path, path, k ? s->dims[k]
                                : s->file[i].nrec, g, 1, v) : -1;
}

/* The coordinate values of dimension k (len of them) into a new array
 * *out, or NULL when some file has none. */
static int load_coord(const struct source *s, const char *dataset, int k,
                      uint64_t len, double **out, struct h5b_error *err)
{
    char path[1024];
    uint64_t at = 0;
    *out = NULL;
    double *v = malloc((len ? len : 1) * sizeof *v);
    if (!v)
        return err_set(err, H5B_ERUN, KEY ": out of memory for %llu "
                       "coordinate values", (unsigned long long)len);
    for (size_t i = 0; i < (k == 0 ? s->nfiles : 1); i++) {
        uint64_t n = k == 0 ? s->file[i].nrec : len;
        coord_path(s, dataset, i, k, path, sizeof path);
        if (!path[0] || read_coord(s->file[i].path, path, n, 0, n,
                                   v + at) < 0) {
            free(v);
            return 0;
        }
        at += n;
    }
    *out = v;
    return 0;
}

/* The dimension spec names: its index, or -1 with the known names in
 * the message. */
static int find_dim(const struct selection *sel, int rank, const char *name,
                    struct h5b_error *err)
{
    char known[1024] = "";
    size_t used = 0;
    for (int k = 0; k < rank; k++) {
        char alias[16];
        snprintf(alias, sizeof alias, "dim%d", k);
        if (strcmp(name, sel->name[k]) == 0 || strcmp(name, alias) == 0)
            return k;
        int w = snprintf(known + used, sizeof known - used, "%s%s",
                         k ? ", " : "", sel->name[k]);
        used += w > 0 && (size_t)w < sizeof known - used ? (size_t)w : 0;
    }
    err_set(err, H5B_EINPUT, KEY ": unknown dimension '%s'; the dataset's "
            "dimensions are %s (or dim0..dim%d)", name, known, rank - 1);
    return -1;
}

/* Resolve spec sp of dimension k into sel. */
static int resolve_dim(struct selection *sel, const struct source *s,
                       const char *dataset, int k,
                       const struct select_spec *sp, struct h5b_error *err)
{
    char why[512];
    double *coord = NULL;
    int rc = 0;
    if (select_uses_coord(sp))
        rc = load_coord(s, dataset, k, sel->len[k], &coord, err);
    if (rc == 0 && select_resolve(sp, sel->len[k], coord, &sel->range[k],
                                  why, sizeof why) < 0)
        rc = err_set(err, H5B_EINPUT, KEY ": %s", why);
    if (rc == 0) {      /* the values at both ends, for --dry-run */
        const struct select_range *r = &sel->range[k];
        uint64_t last = r->first + (r->count - 1) * r->stride;
        sel->has_values[k] = coord ||
            (value_at(s, dataset, k, r->first, &sel->first_value[k]) == 0 &&
             value_at(s, dataset, k, last, &sel->last_value[k]) == 0);
        if (coord) {
            sel->first_value[k] = coord[r->first];
            sel->last_value[k] = coord[last];
        }
    }
    sel->selected[k] = rc == 0;
    free(coord);
    return rc;
}

/* Split the dim-0 range over the files. */
static int split_files(struct selection *sel, const struct source *s,
                       struct h5b_error *err)
{
    uint64_t at = 0;
    sel->first = calloc(s->nfiles ? s->nfiles : 1, sizeof *sel->first);
    sel->nrec = calloc(s->nfiles ? s->nfiles : 1, sizeof *sel->nrec);
    if (!sel->first || !sel->nrec)
        return err_set(err, H5B_ERUN, "out of memory");
    for (size_t i = 0; i < s->nfiles; i++) {
        sel->nrec[i] = select_in_file(&sel->range[0], at, s->file[i].nrec,
                                      &sel->first[i]);
        at += s->file[i].nrec;
    }
    return 0;
}

int selread_resolve(struct selection *sel, const struct source *s,
                    const char *dataset, const char *text,
                    struct h5b_error *err)
{
    struct select_list l;
    struct ncdims d;
    char why[512];
    int rc = 0;
    memset(sel, 0, sizeof *sel);
    if (select_parse(text, &l, why, sizeof why) < 0)
        return err_set(err, H5B_EINPUT, KEY ": %s", why);
    ncdims_describe(&d, s->file[0].path, dataset, s->rank, s->dims,
                    s->compound, 0);
    for (int k = 0; k < s->rank; k++) {
        memcpy(sel->name[k], d.name[k], sizeof sel->name[k]);
        sel->len[k] = k ? s->dims[k] : s->nrec;
        sel->range[k] = (struct select_range){0, sel->len[k], 1};
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        int k = find_dim(sel, s->rank, l.spec[i].dim, err);
        rc = k < 0 ? H5B_EINPUT
                   : resolve_dim(sel, s, dataset, k, &l.spec[i], err);
    }
    if (rc == 0)
        rc = split_files(sel, s, err);
    sel->active = rc == 0;
    if (rc < 0)
        selread_free(sel);
    return rc;
}

int selread_record_values(const struct selection *sel,
                          const struct source *s, const char *dataset,
                          double **out, uint64_t *n, struct h5b_error *err)
{
    uint64_t all = 0;
    double *v = NULL;
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < s->nfiles; i++)
        all += s->file[i].nrec;
    int rc = load_coord(s, dataset, 0, all, &v, err);
    if (rc < 0 || !v)
        return rc;
    struct select_range r = sel->active ? sel->range[0]
                                        : (struct select_range){0, all, 1};
    for (uint64_t i = 0; i < r.count; i++)     /* in place: i <= index */
        v[i] = v[r.first + i * r.stride];
    *out = v;
    *n = r.count;
    return 0;
}

void selread_print(const struct selection *sel, FILE *out)
{
    for (int k = 0; sel->active && k < H5B_MAX_RANK; k++) {
        const struct select_range *r = &sel->range[k];
        if (!sel->selected[k])
            continue;
        uint64_t last = r->first + (r->count - 1) * r->stride;
        fprintf(out, "select: %s (dim %d): indices %llu..%llu", sel->name[k],
                k, (unsigned long long)r->first, (unsigned long long)last);
        if (r->stride > 1)
            fprintf(out, " step %llu", (unsigned long long)r->stride);
        fprintf(out, ", %llu of %llu", (unsigned long long)r->count,
                (unsigned long long)sel->len[k]);
        if (sel->has_values[k])
            fprintf(out, "; coordinate values %.17g..%.17g",
                    sel->first_value[k], sel->last_value[k]);
        else
            fputs("; no coordinate values", out);
        fputc('\n', out);
    }
}

void selread_free(struct selection *sel)
{
    free(sel->first);
    free(sel->nrec);
    memset(sel, 0, sizeof *sel);
}
