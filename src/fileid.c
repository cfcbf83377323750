/* fileid.c -- the identity of an input file as one rank sees it (fileid.h). */
#define _DEFAULT_SOURCE
#include "fileid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "err.h"

/* Hash the first FILEID_HEAD_BYTES (or fewer, to the end) of fd. */
static int hash_head(int fd, const char *path, uint64_t *h,
                     struct h5b_error *err)
{
    unsigned char *buf = malloc(FILEID_HEAD_BYTES);
    size_t done = 0;
    int rc = buf ? 0 : err_set(err, H5B_ERUN, "out of memory");
    while (rc == 0 && done < FILEID_HEAD_BYTES) {
        ssize_t got = pread(fd, buf + done, FILEID_HEAD_BYTES - done,
                            (off_t)done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = err_set(err, H5B_EINPUT, "%s: cannot read: %s", path,
                         strerror(errno));
        else if (got == 0)
            break;
        else
            done += (size_t)got;
    }
    if (rc == 0)
        *h = ckpt_hash(CKPT_FNV_INIT, buf, done);
    free(buf);
    return rc;
}

int fileid_get(const char *path, struct fileid *id, struct h5b_error *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0 || fstat(fd, &st) != 0)
        rc = err_set(err, H5B_EINPUT, "%s: cannot open for reading: %s",
                     path, strerror(errno));
    if (rc == 0) {
        id->size = (uint64_t)st.st_size;
        id->mtime_s = (int64_t)st.st_mtim.tv_sec;
        id->mtime_ns = (int64_t)st.st_mtim.tv_nsec;
        rc = hash_head(fd, path, &id->head, err);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

int fileid_compare(const struct fileid *here, const struct fileid *rank0,
                   char *why, size_t n)
{
    if (here->size != rank0->size)
        snprintf(why, n, "size %llu bytes, rank 0 sees %llu",
                 (unsigned long long)here->size,
                 (unsigned long long)rank0->size);
    else if (here->mtime_s != rank0->mtime_s ||
             here->mtime_ns != rank0->mtime_ns)
        snprintf(why, n, "modified at %lld.%09lld, rank 0 sees %lld.%09lld",
                 (long long)here->mtime_s, (long long)here->mtime_ns,
                 (long long)rank0->mtime_s, (long long)rank0->mtime_ns);
    else if (here->head != rank0->head)
        snprintf(why, n, "its first %d bytes differ from rank 0's",
                 FILEID_HEAD_BYTES);
    else
        return 0;
    return -1;
}
