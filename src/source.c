/* source.c -- checking and reading the input dataset across files. */
#define _DEFAULT_SOURCE
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hdf5_hl.h>
#include <sys/stat.h>

#include "chunkdec.h"
#include "err.h"
#include "h5head.h"
#include "h5util.h"
#include "memplan.h"
#include "srctype.h"

/* Open path read-only as HDF5, with a message that says why not. */
/* Open path read-only as HDF5 through file access list fapl into *fid;
 * when f is not NULL, record the file's size and modification time there
 * (the one stat of a check: the extent check and the checkpoint's
 * fingerprint use it). */
static int open_file(const char *path, hid_t fapl, hid_t *fid,
                     struct source_file *f, struct h5b_error *err)
{
    char why[256];
    struct stat st;
    *fid = H5I_INVALID_HID;
    if (stat(path, &st) != 0)
        return err_set(err, H5B_EINPUT, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return err_set(err, H5B_EINPUT, "%s: not a regular file", path);
    if (f) {
        f->bytes = (uint64_t)st.st_size;
        f->mtime_s = (int64_t)st.st_mtim.tv_sec;
        f->mtime_ns = (int64_t)st.st_mtim.tv_nsec;
    }
    /* Open first and ask why only on failure: H5Fis_hdf5 opens the file
     * once more, which over a thousand small files was 7% of checking. */
    *fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (*fid >= 0)
        return 0;
    h5util_detail(why, sizeof why);
    if (H5Fis_hdf5(path) == 0)
        return err_set(err, H5B_EINPUT, "%s: not an HDF5 file", path);
    return err_set(err, H5B_EINPUT, "%s: cannot open as HDF5 (truncated "
                   "or corrupt?): %s", path, why);
}

struct reducible {
    char *buf;
    size_t n, used;
    unsigned found;
};

/* Can h5batch reduce a dataset of type t: integer or float, or a
 * compound with such a field? */
static int reducible_type(hid_t t)
{
    const char *why;
    if (H5Tget_class(t) != H5T_COMPOUND)
        return h5util_classify(t, &why) != 0;
    int n = H5Tget_nmembers(t), ok = 0;
    for (int i = 0; i < n && !ok; i++) {
        hid_t m = H5Tget_member_type(t, (unsigned)i);
        ok = m >= 0 && H5Tget_class(m) != H5T_COMPOUND &&
             h5util_classify(m, &why) != 0;
        if (m >= 0)
            H5Tclose(m);
    }
    return ok;
}

/* H5Ovisit callback: append "/name (SHAPE TYPE)" for the first ten
 * reducible datasets, count the rest. */
static herr_t add_reducible(hid_t root, const char *name,
                            const H5O_info_t *info, void *data)
{
    struct reducible *r = data;
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    hid_t ds = H5Dopen2(root, name, H5P_DEFAULT);
    hid_t t = ds >= 0 ? H5Dget_type(ds) : H5I_INVALID_HID;
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
    hsize_t dims[H5S_MAX_RANK];
    int rank = sp >= 0 ? H5Sget_simple_extent_dims(sp, dims, NULL) : -1;
    if (rank >= 1 && rank <= H5B_MAX_RANK && reducible_type(t) &&
        r->found++ < 10) {
        const char *why;
        h5b_type bt = H5Tget_class(t) == H5T_COMPOUND
                      ? 0 : h5util_classify(t, &why);
        r->used += (size_t)snprintf(r->buf + r->used, r->n - r->used,
                                    "%s/%s (", r->found > 1 ? ", " : "",
                                    name);
        for (int d = 0; d < rank && r->used < r->n; d++)
            r->used += (size_t)snprintf(r->buf + r->used, r->n - r->used,
                                        "%s%llu", d ? "x" : "",
                                        (unsigned long long)dims[d]);
        if (r->used < r->n)
            r->used += (size_t)snprintf(r->buf + r->used, r->n - r->used,
                                        " %s)", bt ? h5util_type_name(bt)
                                                   : "compound");
        if (r->used >= r->n)
            r->used = r->n - 1;
    }
    H5E_BEGIN_TRY {
        H5Sclose(sp);
        H5Tclose(t);
        H5Dclose(ds);
    } H5E_END_TRY;
    return 0;
}

/* The datasets of fid that h5batch could reduce, for the message about
 * one that does not exist: "; datasets h5batch can reduce: /a (100x3
 * float64), ..." (the first ten in name order, then how many more), or
 * "; the file has no dataset h5batch can reduce". */
static void list_reducible(hid_t fid, char *buf, size_t n)
{
    char list[1400] = "";
    struct reducible r = {list, sizeof list, 0, 0};
    H5E_BEGIN_TRY {
        H5Ovisit2(fid, H5_INDEX_NAME, H5_ITER_INC, add_reducible, &r,
                  H5O_INFO_BASIC);
    } H5E_END_TRY;
    H5Eclear2(H5E_DEFAULT);
    if (!r.found)
        snprintf(buf, n, "; the file has no dataset h5batch can reduce");
    else if (r.found <= 10)
        snprintf(buf, n, "; datasets h5batch can reduce: %s", list);
    else
        snprintf(buf, n, "; datasets h5batch can reduce: %s and %u more",
                 list, r.found - 10);
}

/* Open the dataset with the chunk cache off (see source.h). */
static int open_dataset(const struct source *s, hid_t fid, const char *path,
                        const char *dataset, hid_t *did,
                        struct h5b_error *err)
{
    char why[256] = "";
    *did = s->dapl >= 0 ? H5Dopen2(fid, dataset, s->dapl)
                        : H5I_INVALID_HID;
    if (*did < 0)
        h5util_detail(why, sizeof why);
    if (*did < 0 && H5LTpath_valid(fid, dataset, 0) == 0) {
        char list[1600];
        list_reducible(fid, list, sizeof list);
        return err_set(err, H5B_EINPUT, "%s: no dataset '%s'%s", path,
                       dataset, list);
    }
    if (*did < 0)
        return err_set(err, H5B_EINPUT, "%s: cannot open dataset '%s': %s",
                       path, dataset, why);
    return 0;
}

/* The handles the checks of one file's dataset read, fetched once
 * (dset_open) and closed together (dset_close); any may be negative when
 * HDF5 could not give it, and each check says what that means. */
struct dset {
    hid_t did, dcpl, space, type;
};

static void dset_open(hid_t did, struct dset *d)
{
    H5E_BEGIN_TRY {
        *d = (struct dset){did, H5Dget_create_plist(did), H5Dget_space(did),
                           H5Dget_type(did)};
    } H5E_END_TRY;
}

static void dset_close(struct dset *d)
{
    H5E_BEGIN_TRY {
        if (d->dcpl >= 0)
            H5Pclose(d->dcpl);
        if (d->space >= 0)
            H5Sclose(d->space);
        if (d->type >= 0)
            H5Tclose(d->type);
    } H5E_END_TRY;
}

/* Describe the layout and filters of the dataset into f->layout; set
 * chunk0. */
static void describe_layout(const struct dset *ds, int rank,
                            struct source_file *f)
{
    hsize_t cdims[H5B_MAX_RANK];
    hid_t dcpl = ds->dcpl;
    size_t used = 0;
    snprintf(f->layout, sizeof f->layout, "contiguous");
    if (dcpl < 0)
        return;
    if (H5Pget_layout(dcpl) == H5D_CHUNKED &&
        H5Pget_chunk(dcpl, rank, cdims) == rank) {
        f->chunk0 = cdims[0];
        f->chunk1 = rank > 1 ? cdims[1] : 0;
        used = (size_t)snprintf(f->layout, sizeof f->layout, "chunked ");
        for (int i = 0; i < rank && used < sizeof f->layout; i++)
            used += (size_t)snprintf(f->layout + used, sizeof f->layout - used,
                                     "%s%llu", i ? "x" : "",
                                     (unsigned long long)cdims[i]);
        int nf = H5Pget_nfilters(dcpl);
        for (int i = 0; i < nf && used < sizeof f->layout; i++) {
            char name[32] = "";
            unsigned flags, cd[8];
            size_t ncd = 8;
            H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof name,
                           name, NULL);
            used += (size_t)snprintf(f->layout + used, sizeof f->layout - used,
                                     "%s%s", i ? "+" : ", ", name);
        }
    } else if (H5Pget_layout(dcpl) == H5D_COMPACT) {
        snprintf(f->layout, sizeof f->layout, "compact");
    }
}

/* Refuse chunk dimensions larger than a fixed (not unlimited) dataset
 * dimension: HDF5 forbids creating them, so the file lies, and reading
 * such chunks hands back bytes that were never written. */
static int check_chunks(const struct dset *ds, int rank, const char *path,
                        const char *dataset, struct h5b_error *err)
{
    hsize_t cd[H5B_MAX_RANK], dims[H5B_MAX_RANK], maxd[H5B_MAX_RANK];
    hid_t dcpl = ds->dcpl, sp = ds->space;
    int rc = 0;
    if (dcpl >= 0 && sp >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED &&
        H5Pget_chunk(dcpl, rank, cd) == rank &&
        H5Sget_simple_extent_dims(sp, dims, maxd) == rank)
        for (int d = 0; d < rank && rc == 0; d++)
            if (maxd[d] != H5S_UNLIMITED && cd[d] > maxd[d])
                rc = err_set(err, H5B_EINPUT, "%s: dataset '%s' claims "
                             "chunks of %llu along dimension %d, which is "
                             "only %llu long: the file is damaged", path,
                             dataset, (unsigned long long)cd[d], d,
                             (unsigned long long)maxd[d]);
    return rc;
}

/* Can workers decode did's chunks (see source_file.raw_filters)? */
static void raw_layout(const struct dset *ds, const struct source *s,
                       struct source_file *f)
{
    hsize_t cd[H5B_MAX_RANK];
    hid_t dcpl = ds->dcpl, ft = ds->type;
    unsigned bits = 0;
    uint64_t bytes = s->elem_bytes;
    int ok = dcpl >= 0 && ft >= 0 && !s->compound && !s->nkeyds &&
             H5Tequal(ft, s->memtype) > 0 &&
             H5Pget_layout(dcpl) == H5D_CHUNKED &&
             H5Pget_chunk(dcpl, s->rank, cd) == s->rank;
    int nf = ok ? H5Pget_nfilters(dcpl) : 0;
    for (int i = 0; ok && i < nf; i++) {
        unsigned flags, cdv[8];
        size_t ncd = 8;
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cdv,
                                         0, NULL, NULL);
        unsigned bit = id == H5Z_FILTER_SHUFFLE ? CHUNK_SHUFFLE
                       : id == H5Z_FILTER_DEFLATE ? CHUNK_DEFLATE : 0;
        ok = bit && !(bits & bit) && (bit == CHUNK_DEFLATE || !bits);
        bits |= bit;
        *(bit == CHUNK_SHUFFLE ? &f->shuffle_at : &f->deflate_at) = i;
    }
    for (int d = 0; ok && d < s->rank; d++) {
        ok = cd[d] > 0 && cd[d] <= CHUNK_MAX_BYTES / bytes;
        bytes *= ok ? cd[d] : 1;
        f->cdims[d] = cd[d];
    }
    f->raw_filters = ok && (bits & CHUNK_DEFLATE) ? bits : 0;
}

/* Refuse storage h5batch does not read: a virtual dataset (its sources
 * may be missing, and read as fill values, or be the dataset itself,
 * which overflows HDF5 1.10's stack) and raw data in external files (the
 * input file would choose which files h5batch reads, /etc/passwd say). */
static int check_storage(const struct dset *ds, const char *path,
                         const char *dataset, struct h5b_error *err)
{
    char name[256] = "";
    off_t off;
    hsize_t size;
    int rc = 0;
    hid_t dcpl = ds->dcpl;
    if (dcpl < 0)
        return err_set(err, H5B_EINPUT, "%s: dataset '%s': cannot read its "
                       "creation properties", path, dataset);
    if (H5Pget_layout(dcpl) == H5D_VIRTUAL)
        rc = err_set(err, H5B_EINPUT, "%s: dataset '%s' is a virtual "
                     "dataset, which h5batch does not read; reduce its "
                     "source datasets instead", path, dataset);
    else if (H5Pget_external_count(dcpl) > 0) {
        H5Pget_external(dcpl, 0, sizeof name, name, &off, &size);
        name[sizeof name - 1] = '\0';
        rc = err_set(err, H5B_EINPUT, "%s: dataset '%s' keeps its values "
                     "in external raw data files ('%.80s' first), which "
                     "h5batch does not read", path, dataset, name);
    }
    return rc;
}

/* Refuse a contiguous dataset whose stored bytes run past the end of the
 * file (file_bytes long): HDF5 would read zeros there without a word
 * (a truncated file whose end-of-file address was patched to match). */
static int check_extent(hid_t did, const char *path, const char *dataset,
                        uint64_t file_bytes, struct h5b_error *err)
{
    haddr_t pos = HADDR_UNDEF;
    uint64_t bytes = 0, end;
    H5E_BEGIN_TRY {
        pos = H5Dget_offset(did);
        if (pos != HADDR_UNDEF)
            bytes = (uint64_t)H5Dget_storage_size(did);
    } H5E_END_TRY;
    if (pos == HADDR_UNDEF || file_bytes == 0)
        return 0;       /* not contiguous, not allocated, or external */
    if (!__builtin_add_overflow((uint64_t)pos, bytes, &end) &&
        end <= file_bytes)
        return 0;
    return err_set(err, H5B_EINPUT, "%s: dataset '%s': its %llu bytes at "
                   "byte %llu run past the end of the file (%llu bytes); "
                   "truncated?", path, dataset, (unsigned long long)bytes,
                   (unsigned long long)pos, (unsigned long long)file_bytes);
}

/* Unwritten bytes above which a dataset is refused (1 TiB). */
#define MAX_UNWRITTEN (UINT64_C(1) << 40)

/* Refuse a dataset of which more than MAX_UNWRITTEN bytes were never
 * written (chunks never allocated, or contiguous storage never
 * allocated): HDF5 reads fill values there, so the job would spend hours
 * reducing values nobody wrote (a lying extent, or a preallocated
 * dataset).  Chunked: allocated chunks x the bytes of a whole chunk. */
static int check_written(const struct dset *ds, const char *path,
                         const char *dataset, struct h5b_error *err)
{
    hid_t did = ds->did, space = ds->space, type = ds->type, dcpl = ds->dcpl;
    hsize_t cdims[H5S_MAX_RANK], nchunks = 0;
    hssize_t npoints = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    uint64_t esize = type >= 0 ? H5Tget_size(type) : 0, logical = 0;
    uint64_t written = 0, chunk = esize;
    int rc = 0;
    if (npoints < 0 || !esize || dcpl < 0 ||
        __builtin_mul_overflow((uint64_t)npoints, esize, &logical))
        goto done;      /* check_shape has refused such shapes */
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
        int crank = H5Pget_chunk(dcpl, H5S_MAX_RANK, cdims);
        for (int d = 0; d < crank; d++)
            if (__builtin_mul_overflow(chunk, (uint64_t)cdims[d], &chunk))
                goto done;
        H5E_BEGIN_TRY {
            if (H5Dget_num_chunks(did, space, &nchunks) < 0)
                nchunks = 0;
        } H5E_END_TRY;
        if (__builtin_mul_overflow(chunk, (uint64_t)nchunks, &written))
            written = logical;
    } else if (H5Pget_layout(dcpl) == H5D_CONTIGUOUS) {
        written = (uint64_t)H5Dget_storage_size(did);
    } else {
        written = logical;
    }
    if (written < logical && logical - written > MAX_UNWRITTEN) {
        char all[32], some[32];
        rc = err_set(err, H5B_EINPUT, "%s: dataset '%s' holds %s of values "
                     "of which only %s (%llu chunk%s) were written, the rest "
                     "never written: h5batch refuses to read more than "
                     "1 TiB of fill values", path, dataset,
                     memplan_size(logical, all, sizeof all),
                     memplan_size(written, some, sizeof some),
                     (unsigned long long)nchunks, nchunks == 1 ? "" : "s");
    }
done:
    return rc;
}

/* Can a reader on this node pread did's values (source_file.direct_pos)?
 * Needs the shape (check_shape) and the file's size. */
static void direct_layout(const struct dset *ds, const struct source *s,
                          struct source_file *f, uint64_t file_bytes)
{
    hid_t did = ds->did, dcpl = ds->dcpl, ft = ds->type;
    uint64_t bytes = s->elem_bytes, end;
    haddr_t pos = HADDR_UNDEF;
    int ok = dcpl >= 0 && ft >= 0 && !s->compound && !s->nkeyds &&
             H5Tequal(ft, s->memtype) > 0 &&
             H5Pget_layout(dcpl) == H5D_CONTIGUOUS &&
             H5Pget_external_count(dcpl) == 0;
    for (int d = 1; ok && d < s->rank; d++)
        ok = !__builtin_mul_overflow(bytes, s->dims[d], &bytes);
    ok = ok && !__builtin_mul_overflow(bytes, f->nrec, &bytes);
    if (ok)
        pos = H5Dget_offset(did);
    ok = ok && pos != HADDR_UNDEF && pos > 0 &&
         !__builtin_add_overflow((uint64_t)pos, bytes, &end) &&
         end <= file_bytes;
    f->direct_pos = ok ? (uint64_t)pos : 0;
}

/* Read columns and shape of did into s (first file) or check them
 * against s (later files). */
static int check_shape(struct source *s, size_t i, const struct dset *ds,
                       const struct source_opts *o, struct h5b_error *err)
{
    const char *path = s->file[i].path;
    hsize_t dims[H5B_MAX_RANK];
    hid_t did = ds->did, sid = ds->space;
    int rank = sid >= 0 ? H5Sget_simple_extent_ndims(sid) : -1;
    int rc = i == 0 ? srctype_describe(s, did, path, o, err)
                    : srctype_check(s, did, path, o, err);
    if (rc < 0)
        return rc;
    if (rank < 1 || H5Sget_simple_extent_type(sid) != H5S_SIMPLE ||
        rank > H5B_MAX_RANK)
        return err_set(err, H5B_EINPUT, "%s: dataset '%s' is a scalar or "
                       "has no dimensions; need at least one", path,
                       s->dataset);
    H5Sget_simple_extent_dims(sid, dims, NULL);
    if (i == 0) {
        s->rank = rank;
        for (int d = 0; d < rank; d++)
            s->dims[d] = dims[d];
    } else if (rank != s->rank ||
               memcmp(dims + 1, s->dims + 1, (size_t)(rank - 1) *
                      sizeof *dims) != 0) {
        return err_set(err, H5B_EINPUT, "%s: dataset '%s' has other "
                       "trailing dimensions than in %s", path, s->dataset,
                       s->file[0].path);
    }
    s->file[i].nrec = dims[0];
    s->file[i].big_endian = H5Tget_order(ds->type) == H5T_ORDER_BE;
    return 0;
}

/* Record size and total size, refusing shapes whose sizes overflow. */
static int check_sizes(struct source *s, struct h5b_error *err)
{
    uint64_t elems = 1, total = 0, bytes;
    for (int d = 1; d < s->rank; d++)
        if (__builtin_mul_overflow(elems, s->dims[d], &elems))
            goto overflow;
    if (__builtin_mul_overflow(elems, (uint64_t)s->elem_bytes, &bytes))
        goto overflow;
    for (size_t i = 0; i < s->nfiles; i++) {
        uint64_t fb;
        if (__builtin_mul_overflow(s->file[i].nrec, bytes, &fb) ||
            __builtin_add_overflow(total, fb, &total))
            goto overflow;
        s->nrec += s->file[i].nrec;
    }
    s->record_elems = elems;
    s->record_bytes = bytes;
    return 0;
overflow:
    return err_set(err, H5B_EINPUT, "dataset '%s': dimensions too large "
                   "(size overflows 64 bits)", s->dataset);
}

/* The size of the file at path in bytes, or 0 if unknown. */
/* Open, check and close file i. */
static int inspect_file(struct source *s, size_t i,
                        const struct source_opts *o, struct h5b_error *err)
{
    hid_t fid = H5I_INVALID_HID, did = H5I_INVALID_HID;
    hid_t kid = H5I_INVALID_HID;
    struct dset ds = {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID,
                      H5I_INVALID_HID};
    int rc = open_file(s->file[i].path, h5head_fapl(), &fid, &s->file[i],
                       err);
    size_t k = 0;
    if (rc == 0)
        rc = open_dataset(s, fid, s->file[i].path, s->dataset, &did, err);
    if (rc == 0)
        dset_open(did, &ds);
    if (rc == 0)
        rc = check_storage(&ds, s->file[i].path, s->dataset, err);
    if (rc == 0)
        rc = check_shape(s, i, &ds, o, err);
    if (rc == 0)
        rc = check_chunks(&ds, s->rank, s->file[i].path, s->dataset, err);
    if (rc == 0)
        rc = check_written(&ds, s->file[i].path, s->dataset, err);
    if (rc == 0)
        describe_layout(&ds, s->rank, &s->file[i]);
    if (rc == 0)
        raw_layout(&ds, s, &s->file[i]);
    uint64_t file_bytes = rc == 0 ? s->file[i].bytes : 0;
    if (rc == 0)
        rc = check_extent(did, s->file[i].path, s->dataset, file_bytes, err);
    if (rc == 0)
        direct_layout(&ds, s, &s->file[i], file_bytes);
    dset_close(&ds);
    for (; rc == 0 && k < s->nkeyds; k++) {
        rc = open_dataset(s, fid, s->file[i].path, s->key_path[k], &kid,
                          err);
        if (rc == 0)
            rc = srctype_key(s, kid, k, s->file[i].path, i == 0,
                             s->file[i].nrec, err);
        H5E_BEGIN_TRY {
            if (kid >= 0)
                H5Dclose(kid);
        } H5E_END_TRY;
        kid = H5I_INVALID_HID;
    }
    H5E_BEGIN_TRY {
        if (did >= 0)
            H5Dclose(did);
        if (fid >= 0)
            H5Fclose(fid);
    } H5E_END_TRY;
    return rc;
}

/* Every handle of s invalid. */
static void reset_handles(struct source *s)
{
    s->fid = s->did = s->memtype = H5I_INVALID_HID;
    for (size_t k = 0; k < SOURCE_MAX_KEYS; k++)
        s->kid[k] = H5I_INVALID_HID;
}

/* The key datasets of group_by (its parts that are /paths), and the
 * number of parts checked. */
static int key_datasets(struct source *s, const char *group_by,
                        struct h5b_error *err)
{
    size_t parts = 0;
    if (!group_by)
        return 0;
    s->key_buf = strdup(group_by);
    if (!s->key_buf)
        return err_set(err, H5B_ERUN, "out of memory");
    for (char *save = NULL, *f = strtok_r(s->key_buf, " \t,", &save); f;
         f = strtok_r(NULL, " \t,", &save), parts++)
        if (f[0] == '/' && parts < SOURCE_MAX_KEYS)
            s->key_path[s->nkeyds++] = f;
    if (parts > SOURCE_MAX_KEYS)
        return err_set(err, H5B_EINPUT, "[reduce] group_by = %s: %zu parts; "
                       "at most %d are allowed", group_by, parts,
                       SOURCE_MAX_KEYS);
    return 0;
}

int source_open(struct source *s, char *const *files, size_t n,
                const char *dataset, const struct source_opts *o,
                struct h5b_error *err)
{
    memset(s, 0, sizeof *s);
    reset_handles(s);
    s->dapl = H5I_INVALID_HID;
    int rc = key_datasets(s, o->group_by, err);
    if (rc < 0)
        goto fail;
    s->key_time = o->key_time;
    s->dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (s->dapl < 0 || H5Pset_chunk_cache(s->dapl, 1, 0, 1.0) < 0) {
        rc = err_set(err, H5B_ERUN, "HDF5 could not make a dataset access "
                     "property list");
        goto fail;
    }
    s->dataset = strdup(dataset);
    s->file = calloc(n ? n : 1, sizeof *s->file);
    if (!s->dataset || !s->file) {
        rc = err_set(err, H5B_ERUN, "out of memory");
        goto fail;
    }
    for (s->nfiles = 0; s->nfiles < n; s->nfiles++) {
        s->file[s->nfiles].path = strdup(files[s->nfiles]);
        if (!s->file[s->nfiles].path) {
            rc = err_set(err, H5B_ERUN, "out of memory");
            goto fail;
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = inspect_file(s, i, o, err);
    if (rc == 0)
        rc = check_sizes(s, err);
    if (rc == 0)
        return 0;
fail:
    source_close(s);
    return rc;
}

/* Close the file of the last read, if any. */
static void close_current(struct source *s)
{
    H5E_BEGIN_TRY {
        for (size_t k = 0; k < SOURCE_MAX_KEYS; k++)
            if (s->kid[k] >= 0)
                H5Dclose(s->kid[k]);
        if (s->did >= 0)
            H5Dclose(s->did);
        if (s->fid >= 0)
            H5Fclose(s->fid);
    } H5E_END_TRY;
    hid_t memtype = s->memtype;
    reset_handles(s);
    s->memtype = memtype;
}

/* Make file i the open one. */
static int switch_file(struct source *s, size_t i, struct h5b_error *err)
{
    if (s->fid >= 0 && s->cur == i)
        return 0;
    close_current(s);
    int rc = open_file(s->file[i].path, H5P_DEFAULT, &s->fid, NULL, err);
    if (rc == 0)
        rc = open_dataset(s, s->fid, s->file[i].path, s->dataset, &s->did,
                          err);
    for (size_t k = 0; rc == 0 && k < s->nkeyds; k++)
        rc = open_dataset(s, s->fid, s->file[i].path, s->key_path[k],
                          &s->kid[k], err);
    s->cur = i;
    return rc == 0 ? 0 : H5B_ERUN;
}

int source_read(struct source *s, size_t i, uint64_t start, uint64_t count,
                uint64_t col0, uint64_t ncols, void *buf,
                struct h5b_error *err)
{
    char why[256] = "";
    hsize_t off[H5B_MAX_RANK] = {0}, cnt[H5B_MAX_RANK];
    hsize_t step[H5B_MAX_RANK];
    int rc = switch_file(s, i, err);
    if (rc < 0 || count == 0)
        return rc;
    off[0] = start;
    cnt[0] = count;
    step[0] = s->stride0 > 1 ? s->stride0 : 1;
    for (int d = 1; d < s->rank; d++) {
        off[d] = s->step[d] ? s->first[d] : 0;
        cnt[d] = s->dims[d];
        step[d] = s->step[d] ? s->step[d] : 1;
    }
    if (ncols && s->rank > 1) {    /* col0 counts selected indices */
        off[1] += col0 * step[1];
        cnt[1] = ncols;
    }
    const char *what = s->dataset;
    if (h5util_read_slab(s->did, s->memtype, s->rank, off, step, cnt, buf, why,
                  sizeof why) < 0)
        rc = H5B_ERUN;
    /* the keys follow the values read: whole records, or a tile's */
    uint64_t vals = ncols && s->rank > 1 ? s->record_bytes / s->dims[1] * ncols
                                         : s->record_bytes;
    unsigned char *keys = (unsigned char *)buf + count * vals;
    for (size_t k = 0; rc == 0 && k < s->nkeyds; k++) {
        what = s->key_path[k];
        hid_t kt = srctype_key_memtype(s, k);
        if (kt < 0 || h5util_read_slab(s->kid[k], kt, 1, off, step, cnt, keys, why,
                                sizeof why) < 0)
            rc = H5B_ERUN;
        keys += count * table_type_size(s->col[s->ncol - s->nkeyds + k].type);
        H5E_BEGIN_TRY { H5Tclose(kt); } H5E_END_TRY;
    }
    if (rc < 0)
        return err_set(err, H5B_ERUN, "%s: reading records %llu..%llu of "
                       "'%s' failed: %s", s->file[i].path,
                       (unsigned long long)start,
                       (unsigned long long)(start + (count - 1) * step[0]),
                       what, why);
    return 0;
}

/* The partition's box in file i and the chunks that hold it: first
 * chunk index and chunks along each dimension; their total. */
static uint64_t raw_box(const struct source *s, size_t i, uint64_t start,
                        uint64_t count, uint64_t col0, uint64_t ncols,
                        struct chunk_geom *g, uint64_t *first, uint64_t *n)
{
    const struct source_file *f = &s->file[i];
    uint64_t total = 1;
    *g = (struct chunk_geom){(uint32_t)s->rank, s->elem_bytes, f->raw_filters,
                             f->path, {0}, {0}, {0}, {0}};
    for (int d = 0; d < s->rank; d++) {
        g->dims[d] = d ? s->dims[d] : f->nrec;
        g->cdims[d] = f->cdims[d];
        g->count[d] = g->dims[d];
    }
    g->start[0] = start;
    g->count[0] = count;
    if (ncols && s->rank > 1) {
        g->start[1] = col0;
        g->count[1] = ncols;
    }
    for (int d = 0; d < s->rank; d++) {
        first[d] = g->start[d] / g->cdims[d];
        n[d] = (g->start[d] + g->count[d] - 1) / g->cdims[d] - first[d] + 1;
        total = total > UINT64_MAX / n[d] ? UINT64_MAX : total * n[d];
    }
    return total;
}

/* HDF5's filter mask (bit i: filter i skipped) as CHUNK_* bits. */
static uint32_t skipped_bits(const struct source_file *f, uint32_t mask)
{
    uint32_t b = 0;
    if ((f->raw_filters & CHUNK_SHUFFLE) && (mask >> f->shuffle_at & 1))
        b |= CHUNK_SHUFFLE;
    if ((f->raw_filters & CHUNK_DEFLATE) && (mask >> f->deflate_at & 1))
        b |= CHUNK_DEFLATE;
    return b;
}

int source_read_raw(struct source *s, size_t i, uint64_t start,
                    uint64_t count, uint64_t col0, uint64_t ncols,
                    unsigned char *buf, size_t cap, size_t *len,
                    struct h5b_error *err)
{
    struct chunk_geom g;
    uint64_t first[H5B_MAX_RANK], n[H5B_MAX_RANK], idx[H5B_MAX_RANK] = {0};
    if (!s->file[i].raw_filters || count == 0 || s->stride0 > 1 ||
        s->inner_select)
        return 0;
    uint64_t nchunks = raw_box(s, i, start, count, col0, ncols, &g, first, n);
    if (nchunks > cap / 16 || chunk_head_size(&g, nchunks) > cap)
        return 0;
    int rc = switch_file(s, i, err);
    size_t pos = chunk_head_size(&g, nchunks);
    for (uint64_t k = 0; rc == 0 && k < nchunks; k++) {
        hsize_t off[H5B_MAX_RANK];
        uint64_t o[H5B_MAX_RANK];
        hsize_t stored = 0;
        uint32_t mask = 0;
        for (int d = 0; d < s->rank; d++)
            off[d] = o[d] = (first[d] + idx[d]) * g.cdims[d];
        herr_t got;
        H5E_BEGIN_TRY {
            got = H5Dget_chunk_storage_size(s->did, off, &stored);
        } H5E_END_TRY;
        if (got < 0 || stored == 0 || stored > cap - pos)
            return 0;           /* not written, or too big: read it here */
        if (H5Dread_chunk(s->did, H5P_DEFAULT, off, &mask, buf + pos) < 0) {
            char why[256] = "";
            h5util_detail(why, sizeof why);
            return err_set(err, H5B_ERUN, "%s: reading the chunk at record "
                           "%llu of '%s' failed: %s", g.path,
                           (unsigned long long)o[0], s->dataset, why);
        }
        chunk_put_entry(buf, &g, k, o, stored, skipped_bits(&s->file[i], mask));
        pos += stored;
        for (int d = s->rank - 1; d >= 0 && ++idx[d] == n[d]; d--)
            idx[d] = 0;
    }
    if (rc < 0)
        return rc;
    chunk_put_head(buf, &g, nchunks);
    *len = pos;
    return 1;
}

int source_direct(const struct source *s, size_t i, uint64_t start,
                  uint64_t ncols, uint64_t *pos)
{
    const struct source_file *f = &s->file[i];
    if (!f->direct_pos || ncols || start > f->nrec || s->stride0 > 1 ||
        s->inner_select)
        return 0;
    *pos = f->direct_pos + start * s->record_bytes;
    return 1;
}

int source_read_values(struct source *s, struct fileread *f, size_t i,
                       uint64_t start, uint64_t count, uint64_t col0,
                       uint64_t ncols, void *buf, size_t bytes,
                       struct h5b_error *err)
{
    const char *path = s->file[i].path;
    uint64_t pos;
    if (f && source_direct(s, i, start, ncols, &pos))
        return fileread_get(f, path, strlen(path), pos, buf, bytes, err);
    return source_read(s, i, start, count, col0, ncols, buf, err);
}

void source_restrict(struct source *s, int d, uint64_t first, uint64_t count,
                     uint64_t step)
{
    s->stored[d] = s->stored[d] ? s->stored[d] : s->dims[d];
    s->first[d] = first;
    s->step[d] = step;
    s->dims[d] = count;
    s->inner_select = 1;
    s->record_elems = 1;
    for (int k = 1; k < s->rank; k++)
        s->record_elems *= s->dims[k];  /* smaller than checked at open */
    s->record_bytes = s->record_elems * s->elem_bytes;
}

void source_close(struct source *s)
{
    close_current(s);
    H5E_BEGIN_TRY {
        if (s->memtype >= 0)
            H5Tclose(s->memtype);
        if (s->dapl >= 0)
            H5Pclose(s->dapl);
    } H5E_END_TRY;
    for (size_t i = 0; s->file && i < s->nfiles; i++)
        free(s->file[i].path);
    free(s->file);
    free(s->dataset);
    free(s->key_buf);
    memset(s, 0, sizeof *s);
    reset_handles(s);
    s->dapl = H5I_INVALID_HID;
}
