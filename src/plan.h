/* plan.h -- the partition plan: which records of which file partition i is.
 *
 * A partition is a run of whole records of one file, about the target size,
 * starting and ending on chunk boundaries along dim 0 when the file is
 * chunked (so no chunk is read by two partitions).  The plan depends only
 * on the files' record counts, chunking, the record size and the target --
 * never on the number of ranks.  It stores O(files) numbers: partition i is
 * computed from its index, so ten million partitions cost nothing.
 *
 * Records with many cells (a time step of a large lat x lon field) are
 * also split along dim 1 into tiles, so that a partition holds at least
 * PLAN_TILE_MIN_ROWS records and its partial state -- tens of bytes per
 * cell -- stays small next to its data.  Tiles are chunk-aligned along
 * dim 1 too.  Partition index = row block * ntiles + tile, per file.
 *
 * With a selection along dim 0 ([input] select, select.h) a file's
 * records are its selected ones: every stride-th from its first
 * selected record.  With stride 1 the partitions still start and end on
 * chunk rows of the file (the first and last may be shorter), so no
 * chunk is read twice; with a larger stride they are runs of selected
 * records.  No MPI, no HDF5.
 */
#ifndef H5B_PLAN_H
#define H5B_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"

/* Largest payload one partition message may carry: MPI counts are int. */
#define PLAN_MAX_MESSAGE ((uint64_t)0x7fffffff - 4096)

/* Fewest records a tiled partition aims for: with 8-byte values and a
 * 72-byte moments state per cell, a tile's state is then at most about a
 * seventh of its data. */
#define PLAN_TILE_MIN_ROWS 64

/* How records may be split along dim 1 (NULL: never). */
struct plan_tiling {
    uint64_t dim1;          /* length of dim 1 */
    uint64_t chunk1;        /* chunk length along dim 1; 0 if contiguous */
    uint64_t tail_bytes;    /* of record_bytes, what every tile carries
                               whole (group_by keys after the values) */
};

struct plan_file {
    uint64_t nrec;          /* (selected) records in the file */
    uint64_t first;         /* the file's first selected record */
    uint64_t lead;          /* records of the first chunk row before it
                               (stride 1, chunked), else 0 */
    uint64_t per_part;      /* records per partition (the last may be short) */
    uint64_t first_part;    /* index of the file's first partition */
    uint64_t first_record;  /* global index of the file's first record */
};

struct plan {
    size_t nfiles;
    struct plan_file *file;
    uint64_t nparts;
    uint64_t nrec;          /* records over all files */
    uint64_t record_bytes;
    uint64_t max_part_records;
    uint64_t max_part_bytes;
    uint64_t ntiles;        /* tiles per record; 1 when not split */
    uint64_t tile_width;    /* along dim 1 (the last tile may be short) */
    uint64_t dim1;          /* 1 when not split */
    uint64_t tail_bytes;    /* plan_tiling.tail_bytes when split, else 0 */
    uint64_t stride;        /* between selected records; 1: all */
};

/* A selection along dim 0: file i's selected records are first[i],
 * first[i] + stride, ... (nrec[i] of them). */
struct plan_select {
    const uint64_t *first;
    uint64_t stride;
};

struct partition {
    uint64_t index;
    size_t file;
    uint64_t start;         /* first record within the file */
    uint64_t count;         /* records (selected: every plan.stride-th) */
    uint64_t global_start;  /* its place among the (selected) records over
                               all files */
    uint64_t tile;          /* tile index */
    uint64_t col0, ncols;   /* its range along dim 1 */
    uint64_t bytes;         /* of data */
};

/* Build a plan for nfiles files with nrec[i] records and chunk0[i] records
 * per chunk along dim 0 (0 for contiguous).  target is the partition size
 * in bytes, max_bytes the largest a partition may be.  With tiling
 * (non-NULL), records of fewer than PLAN_TILE_MIN_ROWS per target are
 * split along dim 1.  A partition larger than max_bytes is an error.  On
 * failure p holds nothing. */
int plan_build(struct plan *p, const uint64_t *nrec, const uint64_t *chunk0,
               size_t nfiles, uint64_t record_bytes, uint64_t target,
               uint64_t max_bytes, const struct plan_tiling *tiling,
               struct h5b_error *err);

/* plan_build over a selection along dim 0 (sel; NULL: every record):
 * nrec[i] are file i's selected records. */
int plan_build_sel(struct plan *p, const uint64_t *nrec,
                   const uint64_t *chunk0, size_t nfiles,
                   uint64_t record_bytes, uint64_t target, uint64_t max_bytes,
                   const struct plan_tiling *tiling,
                   const struct plan_select *sel, struct h5b_error *err);

/* Partition number index (< p->nparts) into *out. */
void plan_get(const struct plan *p, uint64_t index, struct partition *out);

void plan_free(struct plan *p);

#endif
