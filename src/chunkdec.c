/* chunkdec.c -- decode a partition sent as compressed chunks (chunkdec.h). */
#include "chunkdec.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "err.h"

#define MAX_PATH_BYTES 4096

/* Bytes before the per-chunk entries. */
static size_t fixed_size(const struct chunk_geom *g)
{
    return 8 * 4 + strlen(g->path) + 8 * 4 * (size_t)g->rank + 8;
}

static size_t entry_size(const struct chunk_geom *g)
{
    return 8 * ((size_t)g->rank + 2);
}

size_t chunk_head_size(const struct chunk_geom *g, uint64_t nchunks)
{
    return fixed_size(g) + (size_t)nchunks * entry_size(g);
}

static unsigned char *put_all(unsigned char *p, const uint64_t *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++, p += 8)
        h5b_put_u64(p, v[i]);
    return p;
}

void chunk_put_head(unsigned char *buf, const struct chunk_geom *g,
                    uint64_t nchunks)
{
    size_t plen = strlen(g->path);
    uint64_t w[4] = {g->rank, g->elem, g->filters, plen};
    unsigned char *p = put_all(buf, w, 4);
    memcpy(p, g->path, plen);
    p = put_all(p + plen, g->dims, g->rank);
    p = put_all(p, g->cdims, g->rank);
    p = put_all(p, g->start, g->rank);
    p = put_all(p, g->count, g->rank);
    h5b_put_u64(p, nchunks);
}

void chunk_put_entry(unsigned char *buf, const struct chunk_geom *g,
                     uint64_t k, const uint64_t *offset, uint64_t nbytes,
                     uint32_t skipped)
{
    unsigned char *p = buf + fixed_size(g) + (size_t)k * entry_size(g);
    p = put_all(p, offset, g->rank);
    h5b_put_u64(p, nbytes);
    h5b_put_u64(p + 8, skipped);
}

void chunk_scratch_free(struct chunk_scratch *s)
{
    free(s->a);
    free(s->b);
    memset(s, 0, sizeof *s);
}

/* ---- decoding ------------------------------------------------------------ */

struct reader {
    const unsigned char *p, *end;
    int bad;
};

static uint64_t take(struct reader *r)
{
    if (r->bad || r->end - r->p < 8) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = h5b_get_u64(r->p);
    r->p += 8;
    return v;
}

static void take_all(struct reader *r, uint64_t *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        v[i] = take(r);
}

/* Read and check the head: geometry, path (into path), chunk count.  On
 * success *chunk_bytes is one decoded chunk's size. */
static int read_head(struct reader *r, struct chunk_geom *g, char *path,
                     uint64_t *nchunks, uint64_t *chunk_bytes,
                     struct h5b_error *err)
{
    uint64_t w[4];
    take_all(r, w, 4);
    if (r->bad || w[0] < 1 || w[0] > H5B_MAX_RANK || w[1] < 1 || w[1] > 8 ||
        (w[2] & ~(uint64_t)(CHUNK_SHUFFLE | CHUNK_DEFLATE)) ||
        w[3] > MAX_PATH_BYTES || w[3] > (uint64_t)(r->end - r->p))
        return err_set(err, H5B_ERUN, "compressed partition: malformed head");
    g->rank = (uint32_t)w[0];
    g->elem = (uint32_t)w[1];
    g->filters = (uint32_t)w[2];
    memcpy(path, r->p, (size_t)w[3]);
    path[w[3]] = '\0';
    g->path = path;
    r->p += w[3];
    take_all(r, g->dims, g->rank);
    take_all(r, g->cdims, g->rank);
    take_all(r, g->start, g->rank);
    take_all(r, g->count, g->rank);
    *nchunks = take(r);
    uint64_t cb = g->elem;
    for (uint32_t d = 0; d < g->rank && !r->bad; d++) {
        if (g->cdims[d] == 0 || g->cdims[d] > CHUNK_MAX_BYTES / cb ||
            g->start[d] > g->dims[d] || g->count[d] > g->dims[d] - g->start[d])
            r->bad = 1;
        else
            cb *= g->cdims[d];
    }
    if (r->bad || *nchunks > (uint64_t)(r->end - r->p) / entry_size(g))
        return err_set(err, H5B_ERUN, "%s: compressed partition: malformed "
                       "geometry", path);
    *chunk_bytes = cb;
    return 0;
}

/* Undo HDF5's shuffle filter for elements of E bytes: byte j of element
 * i was stored at j * n + i.  Element by element, so the writes are
 * sequential. */
static void unshuffle_e(const unsigned char *in, unsigned char *out,
                        size_t i, size_t n, uint32_t E)
{
    for (; i < n; i++)
        for (uint32_t j = 0; j < E; j++)
            out[i * E + j] = in[(size_t)j * n + i];
}

#ifdef __SSE2__
/* unshuffle_e for E = 8, sixteen elements at a time: the eight byte
 * streams are interleaved by bytes, then pairs, then quads (a transpose
 * of 8 x 16 bytes); the rest goes byte by byte. */
static void unshuffle8(const unsigned char *in, unsigned char *out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i b[8], a[8], c[8];
        for (int j = 0; j < 8; j++)
            b[j] = _mm_loadu_si128((const __m128i *)(in + (size_t)j * n + i));
        for (int j = 0; j < 8; j += 2) {
            a[j] = _mm_unpacklo_epi8(b[j], b[j + 1]);   /* elements 0-7 */
            a[j + 1] = _mm_unpackhi_epi8(b[j], b[j + 1]);   /* 8-15 */
        }
        for (int h = 0; h < 2; h++)     /* h: elements 0-7 or 8-15 */
            for (int q = 0; q < 2; q++) {   /* q: bytes 0-3 or 4-7 */
                c[4 * h + 2 * q] = _mm_unpacklo_epi16(a[4 * q + h],
                                                      a[4 * q + h + 2]);
                c[4 * h + 2 * q + 1] = _mm_unpackhi_epi16(a[4 * q + h],
                                                          a[4 * q + h + 2]);
            }
        /* c[4h + 2q + r]: elements 8h + 4r .. + 3, bytes 4q .. 4q + 3 */
        unsigned char *o = out + i * 8;
        for (int h = 0; h < 2; h++)
            for (int r = 0; r < 2; r++) {
                __m128i lo = c[4 * h + r], hi = c[4 * h + 2 + r];
                _mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi32(lo, hi));
                _mm_storeu_si128((__m128i *)(o + 16),
                                 _mm_unpackhi_epi32(lo, hi));
                o += 32;
            }
    }
    unshuffle_e(in, out, i, n, 8);
}
#else
static void unshuffle8(const unsigned char *in, unsigned char *out, size_t n)
{
    unshuffle_e(in, out, 0, n, 8);
}
#endif

/* Undo the shuffle of len bytes of elem-byte elements (len a multiple of
 * elem). */
static void unshuffle(const unsigned char *in, unsigned char *out, size_t len,
                      uint32_t elem)
{
    if (elem == 8)
        unshuffle8(in, out, len / 8);
    else
        unshuffle_e(in, out, 0, len / elem, elem);
}

/* Copy the part of a decoded chunk at off (box off + cdims) that lies in
 * the partition's box into out; the number of elements copied. */
static uint64_t place(const struct chunk_geom *g, const uint64_t *off,
                      const unsigned char *chunk, unsigned char *out)
{
    uint64_t lo[H5B_MAX_RANK], hi[H5B_MAX_RANK], idx[H5B_MAX_RANK];
    uint32_t R = g->rank, last = R - 1;
    for (uint32_t d = 0; d < R; d++) {
        lo[d] = off[d] > g->start[d] ? off[d] : g->start[d];
        hi[d] = off[d] + g->cdims[d] < g->start[d] + g->count[d]
                    ? off[d] + g->cdims[d] : g->start[d] + g->count[d];
        if (lo[d] >= hi[d])
            return 0;
        idx[d] = lo[d];
    }
    uint64_t run = hi[last] - lo[last], copied = 0;
    for (;;) {
        uint64_t ci = 0, oi = 0;
        for (uint32_t d = 0; d < R; d++) {
            ci = ci * g->cdims[d] + (idx[d] - off[d]);
            oi = oi * g->count[d] + (idx[d] - g->start[d]);
        }
        memcpy(out + oi * g->elem, chunk + ci * g->elem, run * g->elem);
        copied += run;
        uint32_t d = last;
        while (d-- > 0 && ++idx[d] == hi[d])
            idx[d] = lo[d];
        if (d == UINT32_MAX)
            return copied;
    }
}

/* Make s hold two buffers of n bytes. */
static int reserve(struct chunk_scratch *s, size_t n)
{
    if (s->cap >= n)
        return 0;
    chunk_scratch_free(s);
    s->a = malloc(n);
    s->b = malloc(n);
    if (!s->a || !s->b) {
        chunk_scratch_free(s);
        return -1;
    }
    s->cap = n;
    return 0;
}

/* Decode one chunk's stored bytes src (n of them, filters `skipped` left
 * out) into a buffer of cb bytes; *dec points at it. */
static int decode_one(const struct chunk_geom *g, const unsigned char *src,
                      uint64_t n, uint32_t skipped, size_t cb,
                      struct chunk_scratch *s, const unsigned char **dec)
{
    const unsigned char *p = src;
    if ((g->filters & CHUNK_DEFLATE) && !(skipped & CHUNK_DEFLATE)) {
        uLongf got = (uLongf)cb;
        if (n > ULONG_MAX || uncompress(s->a, &got, src, (uLong)n) != Z_OK ||
            got != cb)
            return -1;
        p = s->a;
    } else if (n != cb) {
        return -1;
    }
    if ((g->filters & CHUNK_SHUFFLE) && !(skipped & CHUNK_SHUFFLE) &&
        g->elem > 1) {
        unsigned char *q = p == s->a ? s->b : s->a;
        unshuffle(p, q, cb, g->elem);
        p = q;
    }
    *dec = p;
    return 0;
}

int chunk_decode(const unsigned char *payload, size_t len, void *out,
                 size_t out_len, struct chunk_scratch *s,
                 struct h5b_error *err)
{
    struct reader r = {payload, payload + len, 0};
    struct chunk_geom g;
    char path[MAX_PATH_BYTES + 1];
    uint64_t nchunks = 0, cb = 0, want = 1, covered = 0;
    if (read_head(&r, &g, path, &nchunks, &cb, err) < 0)
        return H5B_ERUN;
    for (uint32_t d = 0; d < g.rank; d++)
        want *= g.count[d];
    if (want * g.elem != out_len)
        return err_set(err, H5B_ERUN, "%s: compressed partition of %llu "
                       "values, expected %zu bytes", path,
                       (unsigned long long)want, out_len);
    if (reserve(s, (size_t)cb) < 0)
        return err_set(err, H5B_ERUN, "out of memory for a %llu-byte chunk",
                       (unsigned long long)cb);
    const unsigned char *entry = r.p;
    const unsigned char *data = entry + (size_t)nchunks * entry_size(&g);
    for (uint64_t k = 0; k < nchunks; k++) {
        struct reader e = {entry + k * entry_size(&g), data, 0};
        uint64_t off[H5B_MAX_RANK];
        take_all(&e, off, g.rank);
        uint64_t n = take(&e), skipped = take(&e);
        const unsigned char *dec = NULL;
        int bad = n > (uint64_t)(payload + len - data);
        for (uint32_t d = 0; d < g.rank && !bad; d++)
            bad = off[d] % g.cdims[d] || off[d] >= g.dims[d];
        if (bad || decode_one(&g, data, n, (uint32_t)skipped, (size_t)cb, s,
                              &dec) < 0)
            return err_set(err, H5B_ERUN, "%s: chunk %llu of a partition "
                           "(%llu stored bytes at record %llu) does not "
                           "decode to %llu bytes", path,
                           (unsigned long long)k, (unsigned long long)n,
                           (unsigned long long)off[0],
                           (unsigned long long)cb);
        covered += place(&g, off, dec, out);
        data += n;
    }
    if (data != payload + len || covered != want)
        return err_set(err, H5B_ERUN, "%s: compressed partition covers %llu "
                       "of %llu values", path, (unsigned long long)covered,
                       (unsigned long long)want);
    return 0;
}
