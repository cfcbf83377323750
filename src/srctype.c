/* srctype.c -- the result columns of an input dataset, from its HDF5 type.
 *
 * A plain integer or float dataset is one column, named after the
 * dataset's last path component.  A compound dataset gives one column per
 * numeric field (or per field named in `fields`), read through a packed
 * compound memory type of the selected fields in native types, so HDF5
 * converts byte order and drops the other fields on rank 0 while reading.
 * CF attributes are read from plain datasets only: in netCDF-4 files a
 * variable is a plain dataset.
 */
#define _DEFAULT_SOURCE
#include "srctype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "groupby.h"
#include "h5util.h"

#define SEPARATORS " \t,"

/* Copy src as a column name: '/' would nest groups in the results file. */
static void column_name(char *dst, const char *src)
{
    snprintf(dst, TABLE_NAME_MAX, "%s", *src ? src : "data");
    for (char *p = dst; *p; p++)
        if (*p == '/')
            *p = '_';
}

/* Read numeric attribute `name` of did into v[0..n).  Returns 1 if read,
 * 0 if absent, or an error naming the attribute. */
static int read_attr(hid_t did, const char *name, double *v, hssize_t n,
                     const char *where, struct h5b_error *err)
{
    htri_t have = H5Aexists(did, name);
    if (have <= 0)
        return have < 0 ? err_set(err, H5B_EINPUT, "%s: cannot check "
                                  "attribute %s", where, name) : 0;
    hid_t a = H5Aopen(did, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    H5T_class_t c = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    int rc = 1;
    if (c != H5T_INTEGER && c != H5T_FLOAT)
        rc = err_set(err, H5B_EINPUT, "%s: attribute %s is not numeric",
                     where, name);
    else if (H5Sget_simple_extent_npoints(sp) != n)
        rc = err_set(err, H5B_EINPUT, "%s: attribute %s should hold %d "
                     "value%s", where, name, (int)n, n == 1 ? "" : "s");
    else if (H5Aread(a, H5T_NATIVE_DOUBLE, v) < 0)
        rc = err_set(err, H5B_EINPUT, "%s: cannot read attribute %s", where,
                     name);
    H5E_BEGIN_TRY {
        H5Sclose(sp);
        H5Tclose(t);
        H5Aclose(a);
    } H5E_END_TRY;
    return rc;
}

/* The CF description of plain dataset did. */
static int read_cf(hid_t did, const char *where, struct cf *cf,
                   struct h5b_error *err)
{
    double range[2], scale = 1.0, add = 0.0;
    int r[7];
    memset(cf, 0, sizeof *cf);
    r[0] = read_attr(did, "_FillValue", &cf->fill, 1, where, err);
    r[1] = r[0] < 0 ? -1 : read_attr(did, "missing_value", &cf->missing, 1,
                                     where, err);
    r[2] = r[1] < 0 ? -1 : read_attr(did, "valid_min", &cf->vmin, 1, where,
                                     err);
    r[3] = r[2] < 0 ? -1 : read_attr(did, "valid_max", &cf->vmax, 1, where,
                                     err);
    r[4] = r[3] < 0 ? -1 : read_attr(did, "valid_range", range, 2, where,
                                     err);
    r[5] = r[4] < 0 ? -1 : read_attr(did, "scale_factor", &scale, 1, where,
                                     err);
    r[6] = r[5] < 0 ? -1 : read_attr(did, "add_offset", &add, 1, where, err);
    if (r[6] < 0)
        return H5B_EINPUT;
    cf->flags = (r[0] ? CF_FILL : 0) | (r[1] ? CF_MISSING : 0) |
                (r[2] || r[4] ? CF_VMIN : 0) | (r[3] || r[4] ? CF_VMAX : 0) |
                (r[5] || r[6] ? CF_SCALE : 0);
    if (r[4]) {
        cf->vmin = range[0];
        cf->vmax = range[1];
    }
    cf->scale = scale;
    cf->offset = add;
    return 0;
}

/* The TABLE_STRING code of HDF5 type t if it is a fixed-length string a
 * group_by key can be, else 0. */
static uint32_t string_code(hid_t t)
{
    size_t size = H5Tget_size(t);
    if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) != 0 ||
        size == 0 || size > TABLE_STRING_MAX)
        return 0;
    return TABLE_STRING | (uint32_t)size |
           (H5Tget_cset(t) == H5T_CSET_UTF8 ? TABLE_UTF8 : 0);
}

/* A new memory type for a column of type t (a TABLE_STRING code too:
 * NUL-padded, so HDF5 strips space padding as it reads). */
static hid_t column_memtype(uint32_t t)
{
    if (t & TABLE_STRING)
        return h5util_string_type(table_type_size(t), (t & TABLE_UTF8) != 0);
    return H5Tcopy(h5util_native((h5b_type)t));
}

hid_t srctype_key_memtype(const struct source *s, size_t k)
{
    return column_memtype(s->col[s->ncol - s->nkeyds + k].type);
}

/* Append a column; offsets pack the selected fields. */
static int add_column(struct source *s, const char *name, h5b_type t,
                      struct h5b_error *err)
{
    if (s->ncol == TABLE_MAX_COLUMNS)
        return err_set(err, H5B_EINPUT, "dataset '%s': more than %d fields",
                       s->dataset, TABLE_MAX_COLUMNS);
    struct column_desc *c = &s->col[s->ncol++];
    column_name(c->name, name);
    c->type = t;
    c->offset = s->elem_bytes;
    s->elem_bytes += (uint32_t)table_type_size(t);
    return 0;
}

/* Note a skipped non-numeric field for the summary. */
static void skip_field(struct source *s, const char *name)
{
    size_t used = strlen(s->skipped);
    snprintf(s->skipped + used, sizeof s->skipped - used, "%s%s",
             used ? ", " : "", name);
}

/* Add field `name` of compound tid; missing or non-numeric is an error. */
static int add_named_field(struct source *s, hid_t tid, const char *name,
                           const char *where, struct h5b_error *err)
{
    const char *why = "";
    int idx = H5Tget_member_index(tid, name);
    if (idx < 0)
        return err_set(err, H5B_EINPUT, "%s: [input] fields: no field '%s' "
                       "in dataset '%s'", where, name, s->dataset);
    hid_t mt = H5Tget_member_type(tid, (unsigned)idx);
    h5b_type t = mt >= 0 ? h5util_classify(mt, &why) : 0;
    H5Tclose(mt);
    if (!t)
        return err_set(err, H5B_EINPUT, "%s: [input] fields: field '%s' of "
                       "'%s' is %s, not numeric", where, name, s->dataset,
                       why);
    return add_column(s, name, t, err);
}

/* Whether dataset `path` of did's file is a pandas table: its group has
 * the attribute pandas_type (to_hdf(format="table") writes it). */
static int is_pandas_table(hid_t did, const char *path)
{
    char parent[1024];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= sizeof parent)
        return 0;
    memcpy(parent, path, n);
    snprintf(parent + n, sizeof parent - n, "%s", n ? "" : "/");
    hid_t fid = H5Iget_file_id(did);
    htri_t have = -1;
    H5E_BEGIN_TRY {
        if (fid >= 0)
            have = H5Aexists_by_name(fid, parent, "pandas_type", H5P_DEFAULT);
        H5Fclose(fid);
    } H5E_END_TRY;
    return have > 0;
}

/* Columns of a compound dataset: the fields listed, or every numeric one
 * (but a pandas table's `index`, its row labels, which is no data). */
static int compound_columns(struct source *s, hid_t did, hid_t tid,
                            const char *fields, int keyed, const char *where,
                            struct h5b_error *err)
{
    int rc = 0;
    if (fields) {
        char *buf = strdup(fields);
        for (char *save = NULL, *f = buf ? strtok_r(buf, SEPARATORS, &save)
                                         : NULL;
             f && rc == 0; f = strtok_r(NULL, SEPARATORS, &save))
            rc = add_named_field(s, tid, f, where, err);
        free(buf);
        return buf ? rc : err_set(err, H5B_ERUN, "out of memory");
    }
    int nm = H5Tget_nmembers(tid);
    int pandas = is_pandas_table(did, s->dataset);
    for (int i = 0; i < nm && rc == 0; i++) {
        const char *why;
        char *name = H5Tget_member_name(tid, (unsigned)i);
        hid_t mt = H5Tget_member_type(tid, (unsigned)i);
        h5b_type t = mt >= 0 ? h5util_classify(mt, &why) : 0;
        if (!name)
            rc = err_set(err, H5B_EINPUT, "%s: unreadable field name", where);
        else if (t && !(pandas && strcmp(name, "index") == 0))
            rc = add_column(s, name, t, err);
        else
            skip_field(s, name);
        H5Tclose(mt);
        H5free_memory(name);
    }
    if (rc == 0 && s->ncol == 0 && !keyed)  /* a key field: counts alone */
        rc = err_set(err, H5B_EINPUT, "%s: compound dataset '%s' has no "
                     "numeric field", where, s->dataset);
    return rc;
}

/* The packed native memory type of the columns. */
static int build_memtype(struct source *s, struct h5b_error *err)
{
    if (!s->compound) {
        s->memtype = H5Tcopy(h5util_native(s->col[0].type));
        return s->memtype < 0 ? err_set(err, H5B_ERUN, "H5Tcopy failed") : 0;
    }
    s->memtype = H5Tcreate(H5T_COMPOUND, s->elem_bytes);
    for (size_t i = 0; s->memtype >= 0 && i < s->ncol; i++) {
        const char *field = s->col[i].name;
        hid_t mt = column_memtype(s->col[i].type);
        herr_t rc = mt >= 0 ? H5Tinsert(s->memtype, field, s->col[i].offset,
                                        mt) : -1;
        H5E_BEGIN_TRY { H5Tclose(mt); } H5E_END_TRY;
        if (rc < 0)
            return err_set(err, H5B_ERUN, "cannot build memory type for "
                           "field '%s'", field);
    }
    return s->memtype < 0 ? err_set(err, H5B_ERUN, "H5Tcreate failed") : 0;
}

/* Take `name` out of the skipped fields' list (a string key is used). */
static void unskip(struct source *s, const char *name)
{
    char copy[sizeof s->skipped], *save = NULL;
    memcpy(copy, s->skipped, sizeof copy);
    s->skipped[0] = '\0';
    for (char *f = strtok_r(copy, ", ", &save); f;
         f = strtok_r(NULL, ", ", &save))
        if (strcmp(f, name) != 0)
            skip_field(s, f);
}

/* Add field `field` of compound tid as a string key column if it is a
 * fixed-length string: 1 if added, 0 if it is not one. */
static int string_field(struct source *s, hid_t tid, const char *field,
                        struct h5b_error *err)
{
    int idx = H5Tget_member_index(tid, field);
    hid_t mt = idx >= 0 ? H5Tget_member_type(tid, (unsigned)idx)
                        : H5I_INVALID_HID;
    uint32_t code = mt >= 0 ? string_code(mt) : 0;
    H5E_BEGIN_TRY { H5Tclose(mt); } H5E_END_TRY;
    if (!code)
        return 0;
    unskip(s, field);
    return add_column(s, field, (h5b_type)code, err) < 0 ? H5B_EINPUT : 1;
}

/* Add numeric field `field` of compound tid as a key column; a field of
 * another class (not a string either) is an error saying so. */
static int key_numeric_field(struct source *s, hid_t tid, const char *field,
                             const char *where, struct h5b_error *err)
{
    const char *why = "";
    int idx = H5Tget_member_index(tid, field);
    hid_t mt = idx >= 0 ? H5Tget_member_type(tid, (unsigned)idx)
                        : H5I_INVALID_HID;
    h5b_type t = mt >= 0 ? h5util_classify(mt, &why) : 0;
    if (mt >= 0 && H5Tis_variable_str(mt) > 0)
        why = "a variable-length string";
    H5E_BEGIN_TRY { H5Tclose(mt); } H5E_END_TRY;
    if (idx >= 0 && !t)
        return err_set(err, H5B_EINPUT, "%s: field '%s' of '%s' is %s, "
                       "neither an integer nor a fixed-length string", where,
                       field, s->dataset, why);
    return add_named_field(s, tid, field, where, err);
}

/* group_by = FIELD: mark (or add) that integer or string field as the
 * key. */
static int key_field(struct source *s, hid_t tid, const char *field,
                     const char *where, struct h5b_error *err)
{
    if (!s->compound)
        return err_set(err, H5B_EINPUT, "%s: [reduce] group_by = %s: '%s' "
                       "is not a compound dataset (give the key dataset as "
                       "/path)", where, field, s->dataset);
    size_t i = 0;
    while (i < s->ncol && strcmp(s->col[i].name, field) != 0)
        i++;
    int rc = i < s->ncol ? 0 : string_field(s, tid, field, err);
    if (rc == 0 && i == s->ncol)
        rc = key_numeric_field(s, tid, field, where, err);
    if (rc < 0)
        return err_prefix(err, H5B_EINPUT, "[reduce] group_by");
    if (!(s->col[i].type & TABLE_STRING) && !gb_key_type_ok(s->col[i].type))
        return err_set(err, H5B_EINPUT, "%s: [reduce] group_by: field '%s' "
                       "is %s, not an integer or a string", where, field,
                       h5util_type_name(s->col[i].type));
    s->col[i].role = ROLE_KEY_FIELD;
    return 0;
}

/* group_by = PART, ...: mark (or add) each part that is a field as a key
 * column. */
static int key_fields(struct source *s, hid_t tid, const char *group_by,
                      const char *where, struct h5b_error *err)
{
    char *buf = strdup(group_by);
    int rc = buf ? 0 : err_set(err, H5B_ERUN, "out of memory");
    for (char *save = NULL, *f = buf ? strtok_r(buf, SEPARATORS, &save)
                                     : NULL;
         f && rc == 0; f = strtok_r(NULL, SEPARATORS, &save))
        if (f[0] != '/')
            rc = key_field(s, tid, f, where, err);
    free(buf);
    return rc;
}

int srctype_key(struct source *s, hid_t kid, size_t k, const char *where,
                int first, uint64_t nrec, struct h5b_error *err)
{
    const char *path = s->key_path[k];
    const char *why = "";
    hsize_t n = 0;
    hid_t tid = H5Dget_type(kid), sid = H5Dget_space(kid);
    h5b_type t = tid >= 0 ? h5util_classify(tid, &why) : 0;
    uint32_t code = tid >= 0 ? string_code(tid) : 0;
    int rank = sid >= 0 ? H5Sget_simple_extent_ndims(sid) : -1;
    if (rank == 1)
        H5Sget_simple_extent_dims(sid, &n, NULL);
    H5E_BEGIN_TRY {
        H5Tclose(tid);
        H5Sclose(sid);
    } H5E_END_TRY;
    if (code)
        t = (h5b_type)code;
    else if (!t || (!gb_key_type_ok(t) && !s->key_time))
        return err_set(err, H5B_EINPUT, "%s: [reduce] group_by: dataset "
                       "'%s' is neither of an integer type nor a fixed-length "
                       "string", where, path);
    if (rank != 1 || n != nrec)
        return err_set(err, H5B_EINPUT, "%s: [reduce] group_by: dataset "
                       "'%s' has %llu records, '%s' has %llu", where,
                       path, (unsigned long long)n, s->dataset,
                       (unsigned long long)nrec);
    if (!first)
        return t == s->col[s->ncol - s->nkeyds + k].type ? 0
               : err_set(err, H5B_EINPUT, "%s: [reduce] group_by: dataset "
                         "'%s' has another type than in %s", where,
                         path, s->file[0].path);
    const char *slash = strrchr(path, '/');
    struct column_desc *c = &s->col[s->ncol++];
    column_name(c->name, slash ? slash + 1 : path);
    c->type = t;
    c->role = ROLE_KEY_TAIL;
    if (s->key_time) {
        h5util_get_text(kid, "units", c->time_units, sizeof c->time_units);
        h5util_get_text(kid, "calendar", c->calendar, sizeof c->calendar);
    }
    s->key_bytes += (uint32_t)table_type_size(t);
    return 0;
}

int srctype_describe(struct source *s, hid_t did, const char *where,
                     const struct source_opts *o, struct h5b_error *err)
{
    const char *fields = o->fields;
    int cf = o->cf;
    const char *why = "";
    const char *slash = strrchr(s->dataset, '/');
    hid_t tid = H5Dget_type(did);
    int rc = 0;
    s->compound = tid >= 0 && H5Tget_class(tid) == H5T_COMPOUND;
    h5b_type t = tid >= 0 && !s->compound ? h5util_classify(tid, &why) : 0;
    if (s->compound)
        rc = compound_columns(s, did, tid, fields,
                              o->group_by != NULL, where,
                              err);
    else if (!t)
        rc = err_set(err, H5B_EINPUT, "%s: dataset '%s' has %s type; only "
                     "integer, float and compound datasets can be reduced",
                     where, s->dataset, why);
    else if (fields)
        rc = err_set(err, H5B_EINPUT, "%s: [input] fields given, but '%s' "
                     "is not a compound dataset", where, s->dataset);
    else
        rc = add_column(s, slash ? slash + 1 : s->dataset, t, err);
    if (rc == 0 && cf && !s->compound)
        rc = read_cf(did, where, &s->col[0].cf, err);
    if (rc == 0 && o->group_by)
        rc = key_fields(s, tid, o->group_by, where, err);
    if (rc == 0)
        rc = build_memtype(s, err);
    H5E_BEGIN_TRY {
        H5Tclose(tid);
    } H5E_END_TRY;
    return rc;
}

int srctype_check(const struct source *s, hid_t did, const char *where,
                  const struct source_opts *o_, struct h5b_error *err)
{
    const struct source_opts *opts = o_;
    struct source *o = calloc(1, sizeof *o);
    if (!o)
        return err_set(err, H5B_ERUN, "out of memory");
    o->dataset = s->dataset;
    o->memtype = H5I_INVALID_HID;
    int rc = srctype_describe(o, did, where, opts, err);
    size_t ncol = s->ncol - s->nkeyds;
    if (rc == 0 && (o->ncol != ncol || o->compound != s->compound))
        rc = err_set(err, H5B_EINPUT, "%s: dataset '%s' has other fields "
                     "than in %s", where, s->dataset, s->file[0].path);
    for (size_t i = 0; rc == 0 && i < ncol; i++) {
        if (strcmp(o->col[i].name, s->col[i].name) ||
            o->col[i].type != s->col[i].type)
            rc = err_set(err, H5B_EINPUT, "%s: dataset '%s' is %s but %s "
                         "has %s", where, s->dataset,
                         h5util_type_name(o->col[i].type), s->file[0].path,
                         h5util_type_name(s->col[i].type));
        else if (memcmp(&o->col[i].cf, &s->col[i].cf, sizeof o->col[i].cf))
            rc = err_set(err, H5B_EINPUT, "%s: CF attributes of '%s' differ "
                         "from those in %s", where, s->dataset,
                         s->file[0].path);
    }
    H5E_BEGIN_TRY {
        H5Tclose(o->memtype);
    } H5E_END_TRY;
    free(o);
    return rc;
}
