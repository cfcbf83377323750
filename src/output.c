/* output.c -- writing the results file (see output.h). */
#define _DEFAULT_SOURCE
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "h5util.h"
#include "version.h"


void output_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Directory part of path into dir. */
static void dir_of(const char *path, char *dir, size_t n)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(dir, n, "%s", dirname(tmp));
}

int output_check_dir(const char *path, struct h5b_error *err)
{
    char dir[4096], probe[4200];
    struct stat st;
    dir_of(path, dir, sizeof dir);
    if (stat(dir, &st) != 0)
        return err_set(err, H5B_EINPUT, "[output] file: directory '%s' of "
                       "'%s': %s", dir, path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_set(err, H5B_EINPUT, "[output] file: '%s' is not a "
                       "directory", dir);
    snprintf(probe, sizeof probe, "%s/.h5batch-probe.%ld", dir,
             (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return err_set(err, H5B_EINPUT, "[output] file: cannot create files "
                       "in '%s': %s", dir, strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

/* Attach a variable-length UTF-8 string array attribute (n == 0: scalar). */
static int put_strings(hid_t loc, const char *name, const char *const *v,
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

static int put_string(hid_t loc, const char *name, const char *v)
{
    return put_strings(loc, name, &v, 1, 1);
}

/* Attach a scalar numeric attribute. */
static int put_number(hid_t loc, const char *name, hid_t ftype, hid_t mtype,
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

static int put_root_attrs(hid_t fid, const struct run_info *in)
{
    int32_t ranks = in->ranks;
    int rc = put_string(fid, "h5batch_version", H5BATCH_VERSION);
    rc |= put_string(fid, "job_name", in->job_name);
    rc |= put_string(fid, "job", in->job_text ? in->job_text : "");
    rc |= put_strings(fid, "inputs", (const char *const *)in->inputs,
                      in->ninputs, 0);
    rc |= put_string(fid, "dataset", in->dataset);
    rc |= put_number(fid, "rows", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                     &in->rows);
    rc |= put_number(fid, "partitions", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                     &in->partitions);
    rc |= put_number(fid, "ranks", H5T_STD_I32LE, H5T_NATIVE_INT32, &ranks);
    rc |= put_string(fid, "started", in->started);
    rc |= put_string(fid, "finished", in->finished);
    return rc;
}

/* The little-endian file type for t. */
static hid_t file_type(h5b_type t)
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

/* Create every group on the way to the last component of path, with
 * gcpl (so that no creation time is recorded). */
static int ensure_groups(hid_t fid, const char *path, hid_t gcpl)
{
    char prefix[1024];
    for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
        snprintf(prefix, sizeof prefix, "%.*s", (int)(s - path), path);
        htri_t have = H5Lexists(fid, prefix, H5P_DEFAULT);
        if (have < 0)
            return -1;
        if (!have) {
            hid_t g = H5Gcreate2(fid, prefix, H5P_DEFAULT, gcpl, H5P_DEFAULT);
            if (g < 0)
                return -1;
            H5Gclose(g);
        }
    }
    return 0;
}

/* Write one result as dataset "group/name". */
static int put_result(hid_t fid, hid_t gcpl, hid_t dcpl,
                      const struct result *r)
{
    char path[1024];
    hsize_t dims[H5B_MAX_RANK];
    for (int d = 0; d < r->rank; d++)
        dims[d] = r->dims[d];
    snprintf(path, sizeof path, "%s/%s", r->group, r->name);
    if (ensure_groups(fid, path, gcpl) < 0)
        return -1;
    hid_t sp = r->rank ? H5Screate_simple(r->rank, dims, NULL)
                       : H5Screate(H5S_SCALAR);
    hid_t ds = sp >= 0 ? H5Dcreate2(fid, path, file_type(r->type), sp,
                                    H5P_DEFAULT, dcpl, H5P_DEFAULT)
                       : H5I_INVALID_HID;
    int rc = ds >= 0 && H5Dwrite(ds, h5util_native(r->type), H5S_ALL,
                                 H5S_ALL, H5P_DEFAULT, r->data) >= 0 ? 0 : -1;
    H5E_BEGIN_TRY {
        H5Dclose(ds);
        H5Sclose(sp);
    } H5E_END_TRY;
    return rc;
}

/* Create the HDF5 file at tmp and write everything into it. */
static int write_file(const char *tmp, const struct run_info *in,
                      const struct results *rs)
{
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t fid = H5I_INVALID_HID;
    int rc = -1;
    if (fcpl < 0 || fapl < 0 || gcpl < 0 || dcpl < 0 ||
        H5Pset_obj_track_times(fcpl, 0) < 0 ||
        H5Pset_attr_phase_change(fcpl, 0, 0) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
        H5Pset_obj_track_times(gcpl, 0) < 0 ||
        H5Pset_obj_track_times(dcpl, 0) < 0)
        goto done;
    fid = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (fid < 0 || put_root_attrs(fid, in) != 0)
        goto done;
    rc = 0;
    for (size_t i = 0; i < rs->n && rc == 0; i++)
        rc = put_result(fid, gcpl, dcpl, &rs->r[i]);
    if (rc == 0 && H5Fflush(fid, H5F_SCOPE_GLOBAL) < 0)
        rc = -1;
done:
    H5E_BEGIN_TRY {
        if (fid >= 0 && H5Fclose(fid) < 0)
            rc = -1;
        H5Pclose(fcpl);
        H5Pclose(fapl);
        H5Pclose(gcpl);
        H5Pclose(dcpl);
    } H5E_END_TRY;
    return rc;
}

/* fsync a file or directory by path. */
static int sync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int output_write(const char *path, const struct run_info *info,
                 const struct results *rs, struct h5b_error *err)
{
    char dir[4096], tmp[4300], why[256];
    dir_of(path, dir, sizeof dir);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, base, (long)getpid());
    if (write_file(tmp, info, rs) != 0) {
        int rc = err_set(err, H5B_ERUN, "%s: writing results failed: %s",
                         path, h5util_detail(why, sizeof why));
        unlink(tmp);
        return rc;
    }
    if (sync_path(tmp) != 0 || rename(tmp, path) != 0) {
        int rc = err_set(err, H5B_ERUN, "%s: cannot put results in place: "
                         "%s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    sync_path(dir);
    return 0;
}
