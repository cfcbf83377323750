/* chunkdec.h -- a partition sent as compressed chunks, and its decoding.
 *
 * For a chunked dataset whose filters are deflate and/or shuffle (the
 * usual netCDF-4 and h5py case) rank 0 can send a partition as the raw
 * chunks H5Dread_chunk returns, and the worker inflates, unshuffles and
 * cuts out the partition's values: decompression then runs on every
 * worker instead of on rank 0 alone.  The values produced are the bytes
 * H5Dread would have produced, so results do not depend on where chunks
 * are decoded.  No MPI, no HDF5: zlib only.
 *
 * Payload layout (all integers little-endian):
 *   u32 rank, u32 element bytes, u32 filters (CHUNK_SHUFFLE|CHUNK_DEFLATE),
 *   u32 path length, the file's path (for messages),
 *   u64 dims[rank], chunk dims[rank], start[rank], count[rank]
 *     (the dataset's shape and the partition's box in it),
 *   u64 number of chunks, then per chunk:
 *     u64 offset[rank] (a multiple of the chunk dims), u64 bytes stored,
 *     u32 filters skipped (HDF5's filter mask, as CHUNK_* bits), u32 0,
 *   then the stored bytes of every chunk, in that order.
 * The decoder checks every field against the received length and the
 * partition it expects, and that the chunks cover the box exactly once.
 */
#ifndef H5B_CHUNKDEC_H
#define H5B_CHUNKDEC_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"

#define CHUNK_SHUFFLE 1u
#define CHUNK_DEFLATE 2u
/* Largest chunk (decoded bytes) sent raw; bigger ones decode on rank 0. */
#define CHUNK_MAX_BYTES ((uint64_t)256 << 20)

struct chunk_geom {
    uint32_t rank, elem, filters;
    const char *path;
    uint64_t dims[H5B_MAX_RANK], cdims[H5B_MAX_RANK];
    uint64_t start[H5B_MAX_RANK], count[H5B_MAX_RANK];
};

/* Bytes of the payload head for g with nchunks chunks (before the data). */
size_t chunk_head_size(const struct chunk_geom *g, uint64_t nchunks);

/* Write the head for g and nchunks into buf (chunk_head_size bytes); the
 * per-chunk entries are then set with chunk_put_entry. */
void chunk_put_head(unsigned char *buf, const struct chunk_geom *g,
                    uint64_t nchunks);
void chunk_put_entry(unsigned char *buf, const struct chunk_geom *g,
                     uint64_t k, const uint64_t *offset, uint64_t nbytes,
                     uint32_t skipped);

/* Decoding scratch: two buffers of one decoded chunk, grown as needed. */
struct chunk_scratch {
    unsigned char *a, *b;
    size_t cap;
};
void chunk_scratch_free(struct chunk_scratch *s);

/* Decode payload (len bytes) into out, which must receive exactly
 * out_len bytes (the partition's values, row-major over its box).  On
 * failure a message naming the file and the chunk. */
int chunk_decode(const unsigned char *payload, size_t len, void *out,
                 size_t out_len, struct chunk_scratch *s,
                 struct h5b_error *err);

#endif
