/* atomicfile.c -- whole-file writes under a temporary name (see
 * atomicfile.h).
 *
 * The temporary name is ".NAME.tmp.PID.K" in the target's directory,
 * hidden and unique to this process; K counts up past names that already
 * exist (a file left by a killed run whose PID came round again), since
 * the file is opened with O_EXCL and never truncates anything.
 */
#define _DEFAULT_SOURCE
#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

#define MAX_TRIES 1000

void atomicfile_dir(const char *path, char *dir, size_t n)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(dir, n, "%s", dirname(tmp));
}

/* Create a new temporary file for path; its name into tmp.  -1 with
 * errno on failure. */
static int create_tmp(const char *path, char *tmp, size_t n)
{
    char dir[4096];
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    atomicfile_dir(path, dir, sizeof dir);
    for (unsigned k = 0; k < MAX_TRIES; k++) {
        snprintf(tmp, n, "%s/.%s.tmp.%ld.%u", dir, base, (long)getpid(), k);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Write all of buf to fd; -1 with errno on failure. */
static int write_all(int fd, const unsigned char *buf, size_t len)
{
    while (len) {
        ssize_t got = write(fd, buf, len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = EIO;
            return -1;
        }
        buf += got;
        len -= (size_t)got;
    }
    return 0;
}

/* fsync the directory of path, so that the rename is durable.  A failure
 * here is not reported: the new file is in place either way. */
static void sync_dir(const char *path)
{
    char dir[4096];
    atomicfile_dir(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int atomicfile_write(const char *path, const char *what, const void *buf,
                     size_t len, struct h5b_error *err)
{
    char tmp[4400], dir[4096];
    const char *step = "writing";
    int fd = create_tmp(path, tmp, sizeof tmp);
    if (fd < 0) {
        atomicfile_dir(path, dir, sizeof dir);
        return err_set(err, H5B_ERUN, "%s: writing %s failed: creating a "
                       "temporary file in %s: %s", path, what, dir,
                       strerror(errno));
    }
    int rc = write_all(fd, buf, len);
    if (rc == 0) {
        step = "flushing";
        rc = fsync(fd);
    }
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        step = "closing";
        saved = errno;
        rc = -1;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        step = "renaming";
        saved = errno;
        rc = -1;
    }
    if (rc < 0) {
        unlink(tmp);
        return err_set(err, H5B_ERUN, "%s: writing %s failed: %s %s: %s",
                       path, what, step, tmp, strerror(saved));
    }
    sync_dir(path);
    return 0;
}
