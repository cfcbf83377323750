/* bare_read.c -- the physical reference of the benchmark: HDF5 reads only.
 *
 * A sequential loop of H5Dread over one dataset, in hyperslabs of whole
 * records of about 1 MiB (a multiple of the chunk's first dimension for
 * chunked datasets, so no chunk is read twice, as h5batch's plan does),
 * into one reused buffer, with the chunk cache off.  Values are read in
 * the dataset's native type, so there is no conversion.  It prints one
 * JSON line: bytes, seconds (first read to last read), GB/s and, with
 * --sum, the sum of the values (which also keeps the compiler from
 * treating the buffer as dead; the reads themselves cannot be dropped).
 * --mallopt keeps glibc from returning freed memory to the kernel (mmap
 * threshold 64 MiB, trim threshold 128 MiB): HDF5 allocates and frees a
 * chunk-sized buffer per filtered chunk, and by default each one costs
 * fresh zeroed pages (~700 page faults per 1 MiB deflate chunk).
 *
 * Not part of h5batch: built by tests/bench/bench.mk with gcc and
 * pkg-config hdf5-serial.
 */
#define _DEFAULT_SOURCE
#include <hdf5.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RANK 8

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bare_read [--sum] [--block BYTES] [--cache default|0] "
               "[--mallopt] FILE DATASET\n"
               "Read DATASET sequentially in hyperslabs of whole records of "
               "about BYTES\n(default 1048576) into one buffer; print "
               "{bytes, seconds, gbps[, sum]}.\n");
}

/* Sum n values of class cls and size sz at buf, as double. */
static double sum_values(const void *buf, size_t n, H5T_class_t cls,
                         size_t sz, int is_signed)
{
    double s = 0;
    if (cls == H5T_FLOAT && sz == 8)
        for (size_t i = 0; i < n; i++)
            s += ((const double *)buf)[i];
    else if (cls == H5T_FLOAT && sz == 4)
        for (size_t i = 0; i < n; i++)
            s += ((const float *)buf)[i];
    else if (sz == 8)
        for (size_t i = 0; i < n; i++)
            s += is_signed ? (double)((const int64_t *)buf)[i]
                           : (double)((const uint64_t *)buf)[i];
    else if (sz == 4)
        for (size_t i = 0; i < n; i++)
            s += is_signed ? (double)((const int32_t *)buf)[i]
                           : (double)((const uint32_t *)buf)[i];
    else if (sz == 2)
        for (size_t i = 0; i < n; i++)
            s += is_signed ? (double)((const int16_t *)buf)[i]
                           : (double)((const uint16_t *)buf)[i];
    else
        for (size_t i = 0; i < n; i++)
            s += is_signed ? (double)((const int8_t *)buf)[i]
                           : (double)((const uint8_t *)buf)[i];
    return s;
}

int main(int argc, char **argv)
{
    size_t block = 1 << 20;
    int do_sum = 0, default_cache = 0, rc = 1, argi = 1;
    for (; argi < argc && argv[argi][0] == '-'; argi++) {
        if (strcmp(argv[argi], "--sum") == 0)
            do_sum = 1;
        else if (strcmp(argv[argi], "--block") == 0 && argi + 1 < argc)
            block = strtoull(argv[++argi], NULL, 0);
        else if (strcmp(argv[argi], "--mallopt") == 0) {
            mallopt(M_MMAP_THRESHOLD, 64 << 20);
            mallopt(M_TRIM_THRESHOLD, 128 << 20);
        } else if (strcmp(argv[argi], "--cache") == 0 && argi + 1 < argc)
            default_cache = strcmp(argv[++argi], "default") == 0;
        else {
            usage(strcmp(argv[argi], "-h") == 0 ? stdout : stderr);
            return strcmp(argv[argi], "-h") == 0 ? 0 : 2;
        }
    }
    if (argc - argi != 2 || block == 0) {
        usage(stderr);
        return 2;
    }
    const char *path = argv[argi], *dset = argv[argi + 1];
    hid_t fid = H5I_INVALID_HID, did = H5I_INVALID_HID, dapl = H5I_INVALID_HID;
    hid_t ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    hid_t fsp = H5I_INVALID_HID, msp = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    void *buf = NULL;
    hsize_t dims[MAX_RANK], cdims[MAX_RANK], off[MAX_RANK] = {0},
            cnt[MAX_RANK];

    fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (fid < 0 || dapl < 0)
        goto done;
    if (!default_cache && H5Pset_chunk_cache(dapl, 1, 0, 1.0) < 0)
        goto done;
    did = H5Dopen2(fid, dset, dapl);
    if (did < 0)
        goto done;
    ftype = H5Dget_type(did);
    mtype = H5Tget_native_type(ftype, H5T_DIR_ASCEND);
    fsp = H5Dget_space(did);
    dcpl = H5Dget_create_plist(did);
    int rank = fsp >= 0 ? H5Sget_simple_extent_ndims(fsp) : -1;
    if (mtype < 0 || dcpl < 0 || rank < 1 || rank > MAX_RANK)
        goto done;
    H5Sget_simple_extent_dims(fsp, dims, NULL);
    size_t esz = H5Tget_size(mtype);
    H5T_class_t cls = H5Tget_class(mtype);
    int is_signed = cls == H5T_INTEGER && H5Tget_sign(mtype) == H5T_SGN_2;
    size_t rec_elems = 1;
    for (int d = 1; d < rank; d++)
        rec_elems *= (size_t)dims[d];
    size_t rec_bytes = rec_elems * esz;
    hsize_t per = block / rec_bytes ? block / rec_bytes : 1;
    if (H5Pget_layout(dcpl) == H5D_CHUNKED &&
        H5Pget_chunk(dcpl, rank, cdims) == rank)
        per = per < cdims[0] ? cdims[0] : per / cdims[0] * cdims[0];
    if (per > dims[0])
        per = dims[0] ? dims[0] : 1;
    buf = malloc((size_t)per * rec_bytes);
    for (int d = 1; d < rank; d++)
        cnt[d] = dims[d];
    if (!buf)
        goto done;

    double sum = 0, t0 = now();
    uint64_t bytes = 0;
    for (hsize_t r = 0; r < dims[0]; r += per) {
        cnt[0] = dims[0] - r < per ? dims[0] - r : per;
        off[0] = r;
        msp = H5Screate_simple(rank, cnt, NULL);
        if (msp < 0 ||
            H5Sselect_hyperslab(fsp, H5S_SELECT_SET, off, NULL, cnt,
                                NULL) < 0 ||
            H5Dread(did, mtype, msp, fsp, H5P_DEFAULT, buf) < 0)
            goto done;
        H5Sclose(msp);
        msp = H5I_INVALID_HID;
        if (do_sum)
            sum += sum_values(buf, (size_t)cnt[0] * rec_elems, cls, esz,
                              is_signed);
        bytes += (uint64_t)cnt[0] * rec_bytes;
    }
    double secs = now() - t0;
    printf("{\"bytes\": %llu, \"seconds\": %.6f, \"gbps\": %.4f, "
           "\"records_per_read\": %llu",
           (unsigned long long)bytes, secs, secs > 0 ? bytes / secs / 1e9 : 0,
           (unsigned long long)per);
    if (do_sum)
        printf(", \"sum\": %.17g", sum);
    printf("}\n");
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "bare_read: failed on %s:%s\n", path, dset);
    free(buf);
    H5E_BEGIN_TRY {
        H5Sclose(msp);
        H5Sclose(fsp);
        H5Pclose(dcpl);
        H5Tclose(mtype);
        H5Tclose(ftype);
        H5Dclose(did);
        H5Pclose(dapl);
        H5Fclose(fid);
    } H5E_END_TRY;
    return rc;
}
