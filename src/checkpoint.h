/* checkpoint.h -- saving and restoring the merged state of a run.
 *
 * A checkpoint holds what an uninterrupted run has at one moment: the
 * accumulators after merging partitions [0, merged) in order, one per
 * tile.  Partials merged out of order are never saved, so a checkpoint
 * holds only states some uninterrupted run reaches.  With it comes a
 * fingerprint of the job (its settings after overrides) and of the inputs
 * (each file's size, modification time, dataset shape and type): a
 * checkpoint is refused when anything it depends on changed.
 *
 * File format, all integers little-endian:
 *   magic "H5BCKPT\0", version u32, 0 u32, fingerprint u64,
 *   nparts u64, merged u64, ntiles u64,
 *   per tile: u64 length, then the table partial's encoding,
 *   ncols u64, per column: u64 length, then its histogram range text,
 *   checksum u64 (FNV-1a of every byte before it).
 * Written to a temporary file, fsync'd and renamed into place
 * (atomicfile.h).  No MPI, no HDF5.
 */
#ifndef H5B_CHECKPOINT_H
#define H5B_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"
#include "table.h"

/* 2: quantile buckets from the interpolated log2; 3: float moments in
 * blocks of 1024 values and 16 lanes (other low bits); 4: moments
 * partials may carry exact accumulators ([reduce] exact) */
#define CKPT_VERSION 4

/* FNV-1a 64 of n bytes, continuing from h (start with CKPT_FNV_INIT). */
#define CKPT_FNV_INIT 0xcbf29ce484222325ull
uint64_t ckpt_hash(uint64_t h, const void *data, size_t n);

/* What a checkpoint says about the run. */
struct ckpt_info {
    uint64_t fingerprint, nparts, merged, ntiles;
};

/* Which table partial tile t uses: tables[0] for full tiles, tables[1]
 * for the short last one (NULL if none). */
struct ckpt_tables {
    struct table *t[2];
    uint64_t ntiles;
};

/* Encode info, the ntiles accumulators and the columns' histogram ranges
 * into a fresh buffer *buf of *len bytes (free() it). */
int ckpt_encode(const struct ckpt_info *info, const struct ckpt_tables *tt,
                const struct table_partial *acc,
                const struct column_desc *cols, size_t ncols,
                unsigned char **buf, size_t *len, struct h5b_error *err);

/* Check a checkpoint of len bytes: magic, version, checksum, every
 * length, and that it belongs to `expect` (fingerprint, nparts, ntiles).
 * Fills got and the columns' histogram ranges.  Errors are H5B_EINPUT
 * with a message saying what does not match. */
int ckpt_peek(const unsigned char *buf, size_t len,
              const struct ckpt_info *expect, struct ckpt_info *got,
              struct column_desc *cols, size_t ncols, struct h5b_error *err);

/* Decode the accumulators of a checkpoint that passed ckpt_peek into
 * acc[0..tt->ntiles) (created here; none is left on failure). */
int ckpt_decode_tiles(const unsigned char *buf, size_t len,
                      const struct ckpt_tables *tt, struct table_partial *acc,
                      struct h5b_error *err);

/* Write len bytes to path atomically (atomicfile.h): on failure the old
 * checkpoint is left as it was and err names the path, the step and
 * strerror. */
int ckpt_write_file(const char *path, const unsigned char *buf, size_t len,
                    struct h5b_error *err);

/* Read the file at path (at most max bytes) into a fresh buffer, after
 * checking its magic and version in its first 16 bytes (so a foreign
 * file is refused without reading it).  err does not name the path: the
 * caller does. */
int ckpt_read_file(const char *path, size_t max, unsigned char **buf,
                   size_t *len, struct h5b_error *err);

#endif
