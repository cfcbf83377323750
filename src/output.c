/* output.c -- writing the results file (see output.h). */
#define _DEFAULT_SOURCE
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "cfmeta.h"
#include "err.h"
#include "h5util.h"
#include "hugepage.h"
#include "ncdims.h"
#include "version.h"


void output_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int output_check_dir(const char *path, struct h5b_error *err)
{
    char dir[4096], probe[4200];
    struct stat st;
    atomicfile_dir(path, dir, sizeof dir);
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

/* The CF history line, as NCO and CDO write it: when, what, on what. */
static int put_history(hid_t fid, const struct run_info *in)
{
    char line[2048];
    snprintf(line, sizeof line, "%s: h5batch %s: job %s reduced %s of %zu "
             "file%s%s%s", in->finished, H5BATCH_VERSION, in->job_name,
             in->dataset, in->ninputs, in->ninputs == 1 ? "" : "s",
             in->ninputs ? " from " : "", in->ninputs ? in->inputs[0] : "");
    return h5util_put_string(fid, "history", line);
}

static int put_root_attrs(hid_t fid, const struct run_info *in)
{
    int32_t ranks = in->ranks;
    int rc = h5util_put_string(fid, "h5batch_version", H5BATCH_VERSION);
    rc |= h5util_put_string(fid, "job_name", in->job_name);
    rc |= h5util_put_string(fid, "job", in->job_text ? in->job_text : "");
    rc |= h5util_put_strings(fid, "inputs", (const char *const *)in->inputs,
                      in->ninputs, 0);
    rc |= h5util_put_string(fid, "dataset", in->dataset);
    rc |= h5util_put_number(fid, "rows", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                     &in->rows);
    rc |= h5util_put_number(fid, "partitions", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                     &in->partitions);
    rc |= h5util_put_number(fid, "ranks", H5T_STD_I32LE, H5T_NATIVE_INT32, &ranks);
    rc |= h5util_put_string(fid, "started", in->started);
    rc |= h5util_put_string(fid, "finished", in->finished);
    rc |= put_history(fid, in);
    return rc;
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
    hid_t st = H5I_INVALID_HID;
    char **strs = r->str_width ? h5util_vlen_strings(r->data, r->str_width,
                                                     r->nelem, &st)
                               : NULL;
    hid_t ft = r->str_width ? st : h5util_file_type(r->type);
    hid_t ds = sp >= 0 && ft >= 0 && (strs || !r->str_width)
               ? H5Dcreate2(fid, path, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT)
               : H5I_INVALID_HID;
    hid_t mt = r->str_width ? st : h5util_native(r->type);
    const void *buf = r->str_width ? (const void *)strs : r->data;
    int rc = ds >= 0 && H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                 buf) >= 0 ? 0 : -1;
    free(strs);
    H5E_BEGIN_TRY {
        H5Dclose(ds);
        H5Tclose(st);
        H5Sclose(sp);
    } H5E_END_TRY;
    return rc;
}

/* Whether result r is also copied as an axis' coordinate variable
 * (ncdims.h: a sibling named by cfmeta_axis_coord, such as the keys of a
 * group-by column, which every column's group holds as its `key`). */
static int copied_as_coordinate(const struct result *r)
{
    const char *slash = strrchr(r->name, '/');
    const char *leaf = slash ? slash + 1 : r->name;
    const char *axes[] = {"key", "quantile"};
    for (size_t i = 0; i < sizeof axes / sizeof *axes; i++)
        if (strcmp(leaf, cfmeta_axis_coord(axes[i])) == 0)
            return 1;
    return 0;
}

/* Bytes of result r in the file: its values, or for strings (written
 * variable-length) a 16-byte reference each and a global heap object of
 * 16 bytes of header and the string rounded up to 8. */
static size_t result_bytes(const struct result *r)
{
    size_t each = r->str_width ? 32 + ((r->str_width + 7) & ~(size_t)7)
                               : h5b_type_size(r->type);
    return (size_t)r->nelem * each;
}

/* Bytes to reserve for the image of rs: the values, those also written as
 * a coordinate twice, plus room for the metadata, in whole MiB.  The core
 * driver grows by this much at a time, and growing moves the image into
 * pages it zeroes one 4 KiB fault at a time (a third of the writing of a
 * million group-by keys), so the guess should not fall short. */
static size_t image_guess(const struct results *rs)
{
    size_t n = 1 << 20;
    for (size_t i = 0; i < rs->n; i++)
        n += result_bytes(&rs->r[i]) * (copied_as_coordinate(&rs->r[i]) ? 2
                                                                      : 1) +
             4096;
    return (n + (1 << 20) - 1) & ~(size_t)((1 << 20) - 1);
}

/* Write everything into the open file fid.  why gets HDF5's first error
 * line on failure, before anything else clears the stack. */
static int put_all(hid_t fid, hid_t gcpl, hid_t dcpl,
                   const struct run_info *in, const struct results *rs,
                   char *why, size_t nwhy)
{
    int rc = put_root_attrs(fid, in);
    for (size_t i = 0; i < rs->n && rc == 0; i++)
        if (!rs->r[i].coord_only)
            rc = put_result(fid, gcpl, dcpl, &rs->r[i]);
    if (rc == 0 && in->ninputs) {
        struct ncdims *d = malloc(sizeof *d);
        if (d)
            ncdims_describe(d, in->inputs[0], in->dataset, in->in_rank,
                            in->in_dims, in->compound, in->axis_all);
        if (d && in->in_first && in->in_step)
            ncdims_select(d, in->in_first, in->in_step);
        if (d) {
            d->records = in->records;
            d->rec_values = in->rec_values;
            d->rec_len = in->rec_len;
        }
        rc = d ? ncdims_write(fid, dcpl, d, rs) : -1;
        if (!d)
            snprintf(why, nwhy, "out of memory");
        free(d);
    }
    if (rc != 0 && !why[0])
        h5util_detail(why, nwhy);
    return rc;
}

/* The core driver's buffer, taken from it when the file closes instead of
 * copied out of it (H5Pset_file_image_callbacks; a copy of a file of
 * hundreds of MB was up to a fifth of rank 0's time in a big group-by).
 * On closing, HDF5 truncates the buffer to the file's end and hands it to
 * keep_free, which keeps it: buf then holds size bytes, the whole file. */
struct image_keep {
    void *buf;
    size_t size;
};

static void *keep_malloc(size_t size, H5FD_file_image_op_t op, void *udata)
{
    (void)op;
    void *p = hugepage_alloc(size);
    if (p)
        ((struct image_keep *)udata)->size = size;
    return p;
}

static void *keep_memcpy(void *dst, const void *src, size_t size,
                         H5FD_file_image_op_t op, void *udata)
{
    (void)op;
    (void)udata;
    return memcpy(dst, src, size);
}

static void *keep_realloc(void *ptr, size_t size, H5FD_file_image_op_t op,
                          void *udata)
{
    (void)op;
    /* The core driver's first buffer comes from here (ptr NULL), at
     * image_guess bytes: aligned and advised, so that even a small
     * file's 2 MiB, which the driver zeroes, is one huge page (512 page
     * faults were a third of a small run's).  Growth is a plain realloc,
     * without advice: advising the grown image (copied or moved) raised
     * rank 0's peak by 190 MiB with a million string keys, whose image
     * outgrows image_guess. */
    void *p = ptr ? realloc(ptr, size) : hugepage_block(size);
    if (p)
        ((struct image_keep *)udata)->size = size;
    return p;
}

static herr_t keep_free(void *ptr, H5FD_file_image_op_t op, void *udata)
{
    struct image_keep *k = udata;
    if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && ptr && !k->buf)
        k->buf = ptr;
    else
        free(ptr);
    return 0;
}

/* The end of the file an image of len bytes holds, from its superblock
 * (version 2 or 3, which H5F_LIBVER_V18 makes: the end-of-file address
 * follows the base and extension addresses), or 0 if it holds none.
 * The core driver's buffer grows in steps, so it ends past the file. */
static size_t image_end(const unsigned char *img, size_t len)
{
    if (len < 12 || (img[8] != 2 && img[8] != 3) || img[9] != 8 ||
        len < 12 + 3 * 8)
        return 0;
    uint64_t end = 0;
    for (int i = 7; i >= 0; i--)
        end = end << 8 | img[12 + 2 * 8 + i];
    return end <= len ? (size_t)end : 0;
}

/* The callbacks' udata is ours and outlives the property lists. */
static void *keep_udata_copy(void *udata)
{
    return udata;
}

static herr_t keep_udata_free(void *udata)
{
    (void)udata;
    return 0;
}

/* Build the results file in memory (HDF5's core driver without a backing
 * store) and take its buffer when it closes: *img, *len bytes, freed by
 * the caller.  HDF5 does no file I/O here: a full or failing disk fails
 * only the plain writes of atomicfile_write, which say why.  (A failed
 * H5Fclose of a file on disk leaves HDF5 1.10 with a dangling file that
 * crashes its exit handler.)  why gets HDF5's first error line on
 * failure. */
static int build_image(const struct run_info *in, const struct results *rs,
                       void **img, size_t *len, char *why, size_t nwhy)
{
    struct image_keep keep = {NULL, 0};
    H5FD_file_image_callbacks_t cb = {
        keep_malloc, keep_memcpy, keep_realloc, keep_free, keep_udata_copy,
        keep_udata_free, &keep};
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t fid = H5I_INVALID_HID;
    int rc = -1;
    if (fcpl < 0 || fapl < 0 || gcpl < 0 || dcpl < 0 ||
        H5Pset_obj_track_times(fcpl, 0) < 0 ||
        H5Pset_attr_phase_change(fcpl, 0, 0) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
        H5Pset_fapl_core(fapl, image_guess(rs), 0) < 0 ||
        H5Pset_file_image_callbacks(fapl, &cb) < 0 ||
        H5Pset_obj_track_times(gcpl, 0) < 0 ||
        H5Pset_obj_track_times(dcpl, 0) < 0) {
        h5util_detail(why, nwhy);
        goto done;
    }
    /* The name only labels the file: nothing is created at it. */
    fid = H5Fcreate("h5batch-results", H5F_ACC_TRUNC, fcpl, fapl);
    if (fid < 0 || put_all(fid, gcpl, dcpl, in, rs, why, nwhy) != 0)
        goto done;
    hid_t f = fid;
    fid = H5I_INVALID_HID;
    if (H5Fclose(f) < 0 || !keep.buf)
        goto done;
    if (!(*len = image_end(keep.buf, keep.size))) {
        snprintf(why, nwhy, "the in-memory file has no version 2 superblock");
        goto done;
    }
    *img = keep.buf;
    keep.buf = NULL;
    rc = 0;
done:
    if (rc != 0 && !why[0])
        h5util_detail(why, nwhy);
    H5E_BEGIN_TRY {
        H5Fclose(fid);
        H5Pclose(fcpl);
        H5Pclose(fapl);
        H5Pclose(gcpl);
        H5Pclose(dcpl);
    } H5E_END_TRY;
    free(keep.buf);
    return rc;
}

int output_write(const char *path, const struct run_info *info,
                 const struct results *rs, struct h5b_error *err)
{
    char why[256] = "";
    void *img = NULL;
    size_t len = 0;
    if (build_image(info, rs, &img, &len, why, sizeof why) != 0)
        return err_set(err, H5B_ERUN, "%s: writing results failed: building "
                       "the file in memory: %s", path,
                       why[0] ? why : "HDF5 gave no reason");
    int rc = atomicfile_write(path, "results", img, len, err);
    free(img);
    return rc;
}
