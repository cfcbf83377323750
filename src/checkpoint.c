/* checkpoint.c -- checkpoint encoding, checked decoding and atomic files.
 *
 * The decoder trusts nothing: the checksum covers every byte, and every
 * length is checked against what is left before it is used, so a
 * truncated, corrupted or foreign file is refused with a message.
 */
#define _DEFAULT_SOURCE
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "err.h"

static const unsigned char MAGIC[8] = {'H', '5', 'B', 'C', 'K', 'P', 'T', 0};
#define HEADER_BYTES (8 + 4 + 4 + 8 * 4)

uint64_t ckpt_hash(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static struct table *tile_table(const struct ckpt_tables *tt, uint64_t t)
{
    return t + 1 == tt->ntiles && tt->t[1] ? tt->t[1] : tt->t[0];
}

/* Bytes ckpt_encode will write. */
static size_t encoded_size(const struct ckpt_tables *tt,
                           const struct table_partial *acc,
                           const struct column_desc *cols, size_t ncols)
{
    size_t n = HEADER_BYTES + 8 + 8;
    for (uint64_t t = 0; t < tt->ntiles; t++)
        n += 8 + table_encoded_size(tile_table(tt, t), &acc[t]);
    for (size_t i = 0; i < ncols; i++)
        n += 8 + strlen(cols[i].hist_range);
    return n;
}

static unsigned char *put64(unsigned char *p, uint64_t v)
{
    h5b_put_u64(p, v);
    return p + 8;
}

int ckpt_encode(const struct ckpt_info *info, const struct ckpt_tables *tt,
                const struct table_partial *acc,
                const struct column_desc *cols, size_t ncols,
                unsigned char **buf, size_t *len, struct h5b_error *err)
{
    size_t n = encoded_size(tt, acc, cols, ncols);
    unsigned char *b = malloc(n), *p = b;
    if (!b)
        return err_set(err, H5B_ERUN, "out of memory for a checkpoint of "
                       "%zu bytes", n);
    memcpy(p, MAGIC, 8);
    p = put64(p + 8, CKPT_VERSION);     /* version u32 + 0 u32 */
    p = put64(p, info->fingerprint);
    p = put64(p, info->nparts);
    p = put64(p, info->merged);
    p = put64(p, tt->ntiles);
    for (uint64_t t = 0; t < tt->ntiles; t++) {
        struct table *tab = tile_table(tt, t);
        size_t m = table_encoded_size(tab, &acc[t]);
        p = put64(p, m);
        int rc = table_encode(tab, &acc[t], p, m, err);
        if (rc < 0) {           /* EINPUT: a group-by key limit */
            free(b);
            return rc;
        }
        p += m;
    }
    p = put64(p, ncols);
    for (size_t i = 0; i < ncols; i++) {
        size_t m = strlen(cols[i].hist_range);
        p = put64(p, m);
        memcpy(p, cols[i].hist_range, m);
        p += m;
    }
    put64(p, ckpt_hash(CKPT_FNV_INIT, b, (size_t)(p - b)));
    *buf = b;
    *len = n;
    return 0;
}

/* Check magic and version in the first 16 of the len bytes at buf. */
static int check_head(const unsigned char *buf, size_t len,
                      struct h5b_error *err)
{
    if (len < HEADER_BYTES + 8 || memcmp(buf, MAGIC, 8) != 0)
        return err_set(err, H5B_EINPUT, "not an h5batch checkpoint");
    if (h5b_get_u64(buf + 8) != CKPT_VERSION)
        return err_set(err, H5B_EINPUT, "checkpoint format version %llu, "
                       "this h5batch reads only version %d: finish the run "
                       "with the h5batch that wrote it, or remove the file",
                       (unsigned long long)h5b_get_u64(buf + 8),
                       CKPT_VERSION);
    return 0;
}

/* Check the frame: magic, version, checksum; fill got. */
static int check_frame(const unsigned char *buf, size_t len,
                       struct ckpt_info *got, struct h5b_error *err)
{
    if (check_head(buf, len, err) < 0)
        return H5B_EINPUT;
    if (ckpt_hash(CKPT_FNV_INIT, buf, len - 8) != h5b_get_u64(buf + len - 8))
        return err_set(err, H5B_EINPUT, "checkpoint checksum does not match "
                       "(truncated or corrupt)");
    got->fingerprint = h5b_get_u64(buf + 16);
    got->nparts = h5b_get_u64(buf + 24);
    got->merged = h5b_get_u64(buf + 32);
    got->ntiles = h5b_get_u64(buf + 40);
    return 0;
}

/* Does got belong to the run expect describes? */
static int check_match(const struct ckpt_info *got,
                       const struct ckpt_info *expect, struct h5b_error *err)
{
    if (got->fingerprint != expect->fingerprint)
        return err_set(err, H5B_EINPUT, "checkpoint is of another job or "
                       "the input files changed (fingerprint %016llx, "
                       "expected %016llx)",
                       (unsigned long long)got->fingerprint,
                       (unsigned long long)expect->fingerprint);
    if (got->nparts != expect->nparts || got->ntiles != expect->ntiles ||
        got->merged > got->nparts)
        return err_set(err, H5B_EINPUT, "checkpoint plan does not match "
                       "(%llu partitions, %llu tiles, %llu merged)",
                       (unsigned long long)got->nparts,
                       (unsigned long long)got->ntiles,
                       (unsigned long long)got->merged);
    return 0;
}

/* Skip the ntiles tile blobs from off; the offset after them, or 0 if a
 * length runs past end. */
static size_t skip_tiles(const unsigned char *buf, size_t off, size_t end,
                         uint64_t ntiles)
{
    for (uint64_t t = 0; t < ntiles; t++) {
        uint64_t m = end - off >= 8 ? h5b_get_u64(buf + off) : 0;
        if (end - off < 8 || m > end - off - 8)
            return 0;
        off += 8 + (size_t)m;
    }
    return off;
}

/* Read the column ranges at buf[off, end) into cols. */
static int read_ranges(const unsigned char *buf, size_t off, size_t end,
                       struct column_desc *cols, size_t ncols,
                       struct h5b_error *err)
{
    if (end - off < 8 || h5b_get_u64(buf + off) != ncols)
        return err_set(err, H5B_EINPUT, "checkpoint has another number of "
                       "columns");
    off += 8;
    for (size_t i = 0; i < ncols; i++) {
        uint64_t m = end - off >= 8 ? h5b_get_u64(buf + off) : 0;
        if (end - off < 8 || m >= sizeof cols[i].hist_range ||
            m > end - off - 8)
            return err_set(err, H5B_EINPUT, "checkpoint column %zu is "
                           "malformed", i);
        memcpy(cols[i].hist_range, buf + off + 8, (size_t)m);
        cols[i].hist_range[m] = '\0';
        off += 8 + (size_t)m;
    }
    return off == end ? 0 : err_set(err, H5B_EINPUT, "checkpoint has %zu "
                                    "trailing bytes", end - off);
}

int ckpt_peek(const unsigned char *buf, size_t len,
              const struct ckpt_info *expect, struct ckpt_info *got,
              struct column_desc *cols, size_t ncols, struct h5b_error *err)
{
    int rc = check_frame(buf, len, got, err);
    if (rc == 0)
        rc = check_match(got, expect, err);
    if (rc < 0)
        return H5B_EINPUT;
    size_t off = skip_tiles(buf, HEADER_BYTES, len - 8, got->ntiles);
    if (!off)
        return err_set(err, H5B_EINPUT, "checkpoint truncated in a tile");
    return read_ranges(buf, off, len - 8, cols, ncols, err);
}

int ckpt_decode_tiles(const unsigned char *buf, size_t len,
                      const struct ckpt_tables *tt, struct table_partial *acc,
                      struct h5b_error *err)
{
    size_t off = HEADER_BYTES;
    uint64_t t = 0;
    int rc = len >= HEADER_BYTES + 8 ? 0 : H5B_EINPUT;
    for (; rc == 0 && t < tt->ntiles; t++) {
        struct table *tab = tile_table(tt, t);
        int room = len - 8 - off >= 8;
        uint64_t m = room ? h5b_get_u64(buf + off) : 0;
        rc = table_create(tab, &acc[t], err);
        if (rc == 0 && (!room || m > len - 8 - off - 8))
            rc = err_set(err, H5B_EINPUT, "truncated in tile %llu",
                         (unsigned long long)t);
        if (rc == 0)
            rc = table_decode(tab, &acc[t], buf + off + 8, (size_t)m, err);
        if (rc < 0)
            table_destroy(tab, &acc[t]);
        off += rc == 0 ? 8 + (size_t)m : 0;
    }
    if (rc < 0)
        for (uint64_t k = 0; k + 1 < t; k++)
            table_destroy(tile_table(tt, k), &acc[k]);
    return rc < 0 ? err_prefix(err, H5B_EINPUT, "checkpoint") : 0;
}

int ckpt_write_file(const char *path, const unsigned char *buf, size_t len,
                    struct h5b_error *err)
{
    return atomicfile_write(path, "checkpoint", buf, len, err);
}

int ckpt_read_file(const char *path, size_t max, unsigned char **buf,
                   size_t *len, struct h5b_error *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return err_set(err, H5B_EINPUT, "cannot open checkpoint: %s",
                       strerror(errno));
    unsigned char head[16];
    int rc = 0;
    /* Magic and version first: a foreign file is refused unread. */
    if (fstat(fd, &st) != 0)
        rc = err_set(err, H5B_ERUN, "cannot stat checkpoint: %s",
                     strerror(errno));
    else if (pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head)
        rc = err_set(err, H5B_EINPUT, "not an h5batch checkpoint");
    else if (check_head(head, (size_t)st.st_size, err) < 0)
        rc = H5B_EINPUT;
    else if ((uint64_t)st.st_size > max)
        rc = err_set(err, H5B_EINPUT, "checkpoint of %lld bytes is larger "
                     "than this job's state could be", (long long)st.st_size);
    unsigned char *b = rc == 0 ? malloc((size_t)st.st_size + 1) : NULL;
    size_t got = 0;
    while (b && got < (size_t)st.st_size) {
        ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break;
        got += n > 0 ? (size_t)n : 0;
    }
    close(fd);
    if (rc < 0 || !b || got != (size_t)st.st_size) {
        free(b);
        return rc < 0 ? rc : err_set(err, H5B_ERUN, "cannot read "
                                     "checkpoint");
    }
    *buf = b;
    *len = got;
    return 0;
}
