/* h5util.c -- HDF5 error stack, type mapping. */
#include "h5util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void h5util_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

struct detail {
    char *buf;
    size_t n;
    int done;
};

/* Walk callback: keep the first (innermost) entry's description. */
static herr_t take_first(unsigned n, const H5E_error2_t *e, void *data)
{
    struct detail *d = data;
    (void)n;
    if (d->done)
        return 0;
    char minor[160] = "";
    H5Eget_msg(e->min_num, NULL, minor, sizeof minor);
    if (e->desc && *e->desc)
        snprintf(d->buf, d->n, "%s (%s)", e->desc, minor);
    else
        snprintf(d->buf, d->n, "%s", minor);
    d->done = 1;
    return 0;
}

const char *h5util_detail(char *buf, size_t n)
{
    struct detail d = {buf, n, 0};
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_first, &d);
    H5Eclear2(H5E_DEFAULT);
    return buf;
}

hid_t h5util_native(h5b_type t)
{
    switch (t) {
    case H5B_INT8: return H5T_NATIVE_INT8;
    case H5B_UINT8: return H5T_NATIVE_UINT8;
    case H5B_INT16: return H5T_NATIVE_INT16;
    case H5B_UINT16: return H5T_NATIVE_UINT16;
    case H5B_INT32: return H5T_NATIVE_INT32;
    case H5B_UINT32: return H5T_NATIVE_UINT32;
    case H5B_INT64: return H5T_NATIVE_INT64;
    case H5B_UINT64: return H5T_NATIVE_UINT64;
    case H5B_FLOAT32: return H5T_NATIVE_FLOAT;
    case H5B_FLOAT64: return H5T_NATIVE_DOUBLE;
    }
    return H5I_INVALID_HID;
}

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length";
    case H5T_ARRAY: return "array";
    case H5T_OPAQUE: return "opaque";
    case H5T_BITFIELD: return "bitfield";
    case H5T_REFERENCE: return "reference";
    case H5T_TIME: return "time";
    default: return "unknown";
    }
}

h5b_type h5util_classify(hid_t dtype, const char **why)
{
    static const h5b_type ints[2][4] = {
        {H5B_UINT8, H5B_UINT16, H5B_UINT32, H5B_UINT64},
        {H5B_INT8, H5B_INT16, H5B_INT32, H5B_INT64}};
    H5T_class_t c = H5Tget_class(dtype);
    size_t size = H5Tget_size(dtype);
    *why = class_name(c);
    if (c == H5T_INTEGER) {
        int sgn = H5Tget_sign(dtype) == H5T_SGN_2;
        int k = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2
              : size == 8 ? 3 : -1;
        *why = "integer of unsupported size";
        return k < 0 ? 0 : ints[sgn][k];
    }
    if (c == H5T_FLOAT) {
        *why = "float of unsupported size";
        return size == 4 ? H5B_FLOAT32 : size == 8 ? H5B_FLOAT64 : 0;
    }
    return 0;
}

const char *h5util_type_name(h5b_type t)
{
    static const char *const names[] = {
        "?", "int8", "uint8", "int16", "uint16", "int32", "uint32",
        "int64", "uint64", "float32", "float64"};
    return (unsigned)t <= H5B_FLOAT64 ? names[t] : "?";
}

int h5util_put_strings(hid_t loc, const char *name, const char *const *v,
                       size_t n, int scalar)
{
    hsize_t dim = n;
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5I_INVALID_HID, a = H5I_INVALID_HID;
    int rc = -1;
    if (t < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0)
        goto done;
    sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    a = sp >= 0 ? H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)
                : H5I_INVALID_HID;
    if (a >= 0 && H5Awrite(a, t, v) >= 0)
        rc = 0;
done:
    H5E_BEGIN_TRY {
        H5Aclose(a);
        H5Sclose(sp);
        H5Tclose(t);
    } H5E_END_TRY;
    return rc;
}

int h5util_put_string(hid_t loc, const char *name, const char *v)
{
    return h5util_put_strings(loc, name, &v, 1, 1);
}

int h5util_put_number(hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                      const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    int rc = -1;
    if (sp >= 0)
        a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0 && H5Awrite(a, mtype, v) >= 0)
        rc = 0;
    H5E_BEGIN_TRY {
        H5Aclose(a);
        H5Sclose(sp);
    } H5E_END_TRY;
    return rc;
}

hid_t h5util_string_type(size_t width, int utf8)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, width) < 0 ||
                   H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
                   H5Tset_cset(t, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII) < 0)) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

char **h5util_vlen_strings(const void *data, size_t width, uint64_t n,
                           hid_t *type)
{
    *type = h5util_string_type(1, 1);
    if (*type < 0 || H5Tset_size(*type, H5T_VARIABLE) < 0 ||
        H5Tset_strpad(*type, H5T_STR_NULLTERM) < 0 ||
        n > SIZE_MAX / (sizeof(char *) + width + 1)) {
        H5E_BEGIN_TRY { H5Tclose(*type); } H5E_END_TRY;
        *type = H5I_INVALID_HID;
        return NULL;
    }
    char **p = malloc(n ? (size_t)n * (sizeof *p + width + 1) : 1);
    char *s = (char *)(p + n);
    for (uint64_t i = 0; p && i < n; i++, s += width + 1) {
        memcpy(s, (const char *)data + i * width, width);
        s[width] = '\0';
        p[i] = s;
    }
    return p;
}

hid_t h5util_file_type(h5b_type t)
{
    switch (t) {
    case H5B_INT8: return H5T_STD_I8LE;
    case H5B_UINT8: return H5T_STD_U8LE;
    case H5B_INT16: return H5T_STD_I16LE;
    case H5B_UINT16: return H5T_STD_U16LE;
    case H5B_INT32: return H5T_STD_I32LE;
    case H5B_UINT32: return H5T_STD_U32LE;
    case H5B_INT64: return H5T_STD_I64LE;
    case H5B_UINT64: return H5T_STD_U64LE;
    case H5B_FLOAT32: return H5T_IEEE_F32LE;
    case H5B_FLOAT64: return H5T_IEEE_F64LE;
    }
    return H5I_INVALID_HID;
}

/* String attribute name of obj (fixed or variable length) into out;
 * "" when absent or not a string. */
void h5util_get_text(hid_t obj, const char *name, char *out, size_t n)
{
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    hid_t sp = H5I_INVALID_HID;
    out[0] = '\0';
    if (H5Aexists(obj, name) <= 0)
        return;
    a = H5Aopen(obj, name, H5P_DEFAULT);
    t = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    if (t < 0 || sp < 0 || H5Tget_class(t) != H5T_STRING ||
        H5Sget_simple_extent_npoints(sp) != 1)
        goto done;
    if (H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        mt = H5Tcopy(t);
        if (mt >= 0 && H5Aread(a, mt, &v) >= 0 && v)
            snprintf(out, n, "%s", v);
        if (v)
            H5free_memory(v);
    } else {
        size_t len = H5Tget_size(t);
        char *v = len ? calloc(len + 1, 1) : NULL;
        if (v && H5Aread(a, t, v) >= 0)
            snprintf(out, n, "%s", v);
        free(v);
    }
done:
    H5E_BEGIN_TRY {
        H5Tclose(mt);
        H5Tclose(t);
        H5Sclose(sp);
        H5Aclose(a);
    } H5E_END_TRY;
}

int h5util_read_slab(hid_t did, hid_t memtype, int rank, const hsize_t *off,
                     const hsize_t *stride, const hsize_t *cnt, void *buf,
                     char *why, size_t n)
{
    hid_t fsp = H5Dget_space(did), msp = H5Screate_simple(rank, cnt, NULL);
    int rc = fsp < 0 || msp < 0 ||
             H5Sselect_hyperslab(fsp, H5S_SELECT_SET, off, stride, cnt,
                                 NULL) < 0 ||
             H5Dread(did, memtype, msp, fsp, H5P_DEFAULT, buf) < 0 ? -1 : 0;
    if (rc < 0)
        h5util_detail(why, n);
    H5E_BEGIN_TRY {
        H5Sclose(fsp);
        H5Sclose(msp);
    } H5E_END_TRY;
    return rc;
}
