/* h5head.c -- a read-only HDF5 file driver answering from the file's head
 * (h5head.h).
 *
 * Written against the virtual file layer of HDF5 1.10 (H5FD_class_t in
 * H5FDpublic.h): a driver is a table of callbacks, and a file is a struct
 * whose first member is the public H5FD_t that HDF5 fills in after open.
 * What a read returns follows the sec2 driver's rules: an address range
 * past the end of allocation is an error, and bytes past the end of the
 * file read as zeros.
 */
#define _GNU_SOURCE         /* O_CLOEXEC with flock */
#include "h5head.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct head_file {
    H5FD_t pub;             /* first: HDF5 casts between the two */
    int fd;
    dev_t dev;
    ino_t ino;
    haddr_t eoa, eof;
    size_t nhead;           /* bytes of head[] read from the file */
    unsigned char head[H5HEAD_BYTES];
};

/* Largest address: what a signed off_t reaches, as sec2 has it. */
#define HEAD_MAXADDR (((haddr_t)1 << (8 * sizeof(off_t) - 1)) - 1)

/* Push an HDF5 error naming what failed, so that h5util_detail reports
 * it as it reports sec2's. */
#define HEAD_ERROR(minor, ...)                                              \
    H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS,        \
             H5E_VFL, (minor), __VA_ARGS__)

/* Read n bytes at off into buf, zeros past the end of the file; -1 with
 * errno on a failed read. */
static int read_at(int fd, off_t off, unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t got = pread(fd, buf, n, off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0) {
            memset(buf, 0, n);
            break;
        }
        buf += got;
        off += got;
        n -= (size_t)got;
    }
    return 0;
}

static H5FD_t *head_open(const char *name, unsigned flags, hid_t fapl,
                         haddr_t maxaddr)
{
    (void)fapl;
    struct stat st;
    if (!name || !*name || maxaddr == 0 || maxaddr == HADDR_UNDEF) {
        HEAD_ERROR(H5E_BADVALUE, "invalid file name or address space");
        return NULL;
    }
    if (flags & (H5F_ACC_RDWR | H5F_ACC_TRUNC | H5F_ACC_CREAT)) {
        HEAD_ERROR(H5E_CANTOPENFILE, "%s: this driver only reads", name);
        return NULL;
    }
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        HEAD_ERROR(H5E_CANTOPENFILE, "unable to open file: name = '%s', "
                   "errno = %d, error message = '%s'", name, errno,
                   strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    struct head_file *f = calloc(1, sizeof *f);
    size_t nhead = (uint64_t)st.st_size < H5HEAD_BYTES
                       ? (size_t)st.st_size : H5HEAD_BYTES;
    if (!f || read_at(fd, 0, f->head, nhead) != 0) {
        HEAD_ERROR(H5E_READERROR, "%s: %s", name,
                   f ? strerror(errno) : "out of memory");
        free(f);
        close(fd);
        return NULL;
    }
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->eof = (haddr_t)st.st_size;
    f->nhead = nhead;
    return &f->pub;
}

static herr_t head_close(H5FD_t *file)
{
    struct head_file *f = (struct head_file *)file;
    int rc = close(f->fd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Files compare by device and inode (HDF5 uses this to find a file it
 * has open already). */
static int head_cmp(const H5FD_t *a, const H5FD_t *b)
{
    const struct head_file *x = (const struct head_file *)a;
    const struct head_file *y = (const struct head_file *)b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

/* What HDF5 may do above this driver: sec2's features, but SWMR. */
static herr_t head_query(const H5FD_t *file, unsigned long *flags)
{
    (void)file;
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA |
             H5FD_FEAT_DATA_SIEVE | H5FD_FEAT_AGGREGATE_SMALLDATA |
             H5FD_FEAT_POSIX_COMPAT_HANDLE;
    return 0;
}

static haddr_t head_get_eoa(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const struct head_file *)file)->eoa;
}

static herr_t head_set_eoa(H5FD_t *file, H5FD_mem_t type, haddr_t addr)
{
    (void)type;
    ((struct head_file *)file)->eoa = addr;
    return 0;
}

static haddr_t head_get_eof(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const struct head_file *)file)->eof;
}

static herr_t head_get_handle(H5FD_t *file, hid_t fapl, void **handle)
{
    (void)fapl;
    *handle = &((struct head_file *)file)->fd;
    return 0;
}

/* size bytes at addr: from the head when they lie inside it, else from
 * the file. */
static herr_t head_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl,
                        haddr_t addr, size_t size, void *buf)
{
    (void)type;
    (void)dxpl;
    struct head_file *f = (struct head_file *)file;
    if (addr == HADDR_UNDEF || addr > HEAD_MAXADDR ||
        size > HEAD_MAXADDR - addr || addr + size > f->eoa) {
        HEAD_ERROR(H5E_OVERFLOW, "addr overflow, addr = %llu, size = %llu, "
                   "eoa = %llu", (unsigned long long)addr,
                   (unsigned long long)size, (unsigned long long)f->eoa);
        return -1;
    }
    if (addr + size <= f->nhead) {
        memcpy(buf, f->head + addr, size);
        return 0;
    }
    if (read_at(f->fd, (off_t)addr, buf, size) != 0) {
        HEAD_ERROR(H5E_READERROR, "file read failed: errno = %d, error "
                   "message = '%s'", errno, strerror(errno));
        return -1;
    }
    return 0;
}

static herr_t head_write(H5FD_t *file, H5FD_mem_t type, hid_t dxpl,
                         haddr_t addr, size_t size, const void *buf)
{
    (void)file, (void)type, (void)dxpl, (void)addr, (void)size, (void)buf;
    HEAD_ERROR(H5E_WRITEERROR, "this driver only reads");
    return -1;
}

/* A shared lock, or an exclusive one if HDF5 asks to write, as sec2
 * takes; a file system without flock does not refuse the open. */
static herr_t head_lock(H5FD_t *file, hbool_t rw)
{
    struct head_file *f = (struct head_file *)file;
    if (flock(f->fd, (rw ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 ||
        errno == ENOSYS)
        return 0;
    HEAD_ERROR(H5E_CANTLOCKFILE, "unable to lock file, errno = %d, error "
               "message = '%s'", errno, strerror(errno));
    return -1;
}

static herr_t head_unlock(H5FD_t *file)
{
    struct head_file *f = (struct head_file *)file;
    if (flock(f->fd, LOCK_UN) == 0 || errno == ENOSYS)
        return 0;
    HEAD_ERROR(H5E_CANTUNLOCKFILE, "unable to unlock file, errno = %d, "
               "error message = '%s'", errno, strerror(errno));
    return -1;
}

static const H5FD_class_t head_class = {
    .name = "h5batch-head",
    .maxaddr = HEAD_MAXADDR,
    .fc_degree = H5F_CLOSE_WEAK,
    .open = head_open,
    .close = head_close,
    .cmp = head_cmp,
    .query = head_query,
    .get_eoa = head_get_eoa,
    .set_eoa = head_set_eoa,
    .get_eof = head_get_eof,
    .get_handle = head_get_handle,
    .read = head_read,
    .write = head_write,
    .lock = head_lock,
    .unlock = head_unlock,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

hid_t h5head_fapl(void)
{
    static hid_t fapl = H5I_INVALID_HID;
    if (fapl >= 0)
        return fapl;
    hid_t id = H5FDregister(&head_class);
    hid_t p = id >= 0 ? H5Pcreate(H5P_FILE_ACCESS) : H5I_INVALID_HID;
    if (p >= 0 && H5Pset_driver(p, id, NULL) < 0) {
        H5Pclose(p);
        p = H5I_INVALID_HID;
    }
    fapl = p;
    return fapl >= 0 ? fapl : H5P_DEFAULT;
}
