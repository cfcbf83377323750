/* fileread.c -- read a byte range of a file by path (see fileread.h). */
#define _DEFAULT_SOURCE
#include "fileread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

void fileread_init(struct fileread *f)
{
    f->path = NULL;
    f->fd = -1;
}

void fileread_close(struct fileread *f)
{
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    fileread_init(f);
}

/* Make the file at path[0..n) the open one. */
static int switch_to(struct fileread *f, const char *path, size_t n,
                     struct h5b_error *err)
{
    if (f->fd >= 0 && strlen(f->path) == n && memcmp(f->path, path, n) == 0)
        return 0;
    fileread_close(f);
    f->path = malloc(n + 1);
    if (!f->path)
        return err_set(err, H5B_ERUN, "out of memory");
    memcpy(f->path, path, n);
    f->path[n] = '\0';
    if (n == 0 || memchr(path, '\0', n))
        return err_set(err, H5B_ERUN, "direct read: malformed file name");
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        return err_set(err, H5B_EINPUT, "%s: cannot open for reading: %s",
                       f->path, strerror(errno));
    return 0;
}

int fileread_get(struct fileread *f, const char *path, size_t pathlen,
                 uint64_t pos, void *buf, size_t len, struct h5b_error *err)
{
    int rc = switch_to(f, path, pathlen, err);
    unsigned char *p = buf;
    size_t done = 0;
    if (rc == 0 && pos > (uint64_t)INT64_MAX - len)
        rc = err_set(err, H5B_ERUN, "%s: byte range at %llu is out of range",
                     f->path, (unsigned long long)pos);
    while (rc == 0 && done < len) {
        ssize_t got = pread(f->fd, p + done, len - done,
                            (off_t)(pos + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = err_set(err, H5B_EINPUT, "%s: read of %zu bytes at %llu "
                         "failed: %s", f->path, len,
                         (unsigned long long)pos, strerror(errno));
        else if (got == 0)
            rc = err_set(err, H5B_EINPUT, "%s: ends at byte %llu, before "
                         "the %zu bytes at %llu (did it shrink?)", f->path,
                         (unsigned long long)(pos + done), len,
                         (unsigned long long)pos);
        else
            done += (size_t)got;
    }
    return rc;
}
