/* varint.h -- minimal LEB128 varints and zigzag, for the compact partials
 * of group-by (groupby.c, gbdist.c).  No MPI, no HDF5. */
#ifndef H5B_VARINT_H
#define H5B_VARINT_H

#include <stddef.h>
#include <stdint.h>

static inline size_t varint_size(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

static inline unsigned char *put_varint(unsigned char *q, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        *q++ = (unsigned char)(v | 0x80);
    *q++ = (unsigned char)v;
    return q;
}

/* Read a minimal varint of at most 64 bits from [*p, end) into *v and
 * advance *p; -1 if truncated, too long or not minimal. */
static inline int varint_get(const unsigned char **p, const unsigned char *end,
                             uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned s = 0; s < 64 && *p < end; s += 7) {
        unsigned b = *(*p)++;
        if (s == 63 && b > 1)
            return -1;
        x |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) {
            *v = x;
            return b == 0 && s ? -1 : 0;
        }
    }
    return -1;
}

static inline uint64_t zigzag(int64_t k)
{
    return ((uint64_t)k << 1) ^ (k < 0 ? UINT64_MAX : 0);
}

static inline int64_t unzigzag(uint64_t z)
{
    uint64_t u = (z >> 1) ^ (0 - (z & 1));
    return u <= INT64_MAX ? (int64_t)u : -(int64_t)~u - 1;
}

#endif
