/* source.h -- the HDF5 input: one dataset over several files, read by records.
 *
 * The dataset is a plain integer or float dataset (one result column) or
 * a compound one, such as a PyTables or pandas table (one column per
 * selected numeric field; other fields are skipped and listed).  With CF
 * conventions on, a plain dataset's _FillValue, missing_value, valid_min,
 * valid_max, valid_range, scale_factor and add_offset attributes become
 * its column's CF description (see table.h).
 *
 * source_open() opens every file once to check it (an HDF5 file, the
 * dataset exists, a plain integer or float type, rank >= 1, and every
 * file agrees on type and trailing dimensions), records what the plan
 * needs (records, chunking along dim 0) and closes it again, so a job over
 * ten thousand files never holds ten thousand handles.  source_read()
 * keeps the file of the last read open, reads a hyperslab of whole records
 * as native values straight into the caller's buffer, with the chunk
 * cache off: partitions are aligned to chunk rows, so no chunk is read
 * twice and caching only costs a copy.
 */
#ifndef H5B_SOURCE_H
#define H5B_SOURCE_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "fileread.h"
#include "h5batch/operator.h"
#include "table.h"

/* What to take from the input besides the dataset. */
struct source_opts {
    const char *fields;     /* compound fields, or NULL for all numeric */
    int cf;                 /* apply CF attributes */
    const char *group_by;   /* key: a field name or a /dataset path, or NULL */
    int key_time;           /* group_by is one /path to a CF time
                               coordinate: any number type, and its units
                               and calendar go to the key column */
};

struct source_file {
    char *path;
    uint64_t nrec;
    uint64_t chunk0;        /* chunk length along dim 0; 0 if contiguous */
    uint64_t chunk1;        /* and along dim 1 (0 if contiguous or 1-D) */
    char layout[96];        /* e.g. "chunked 4096x16, deflate+shuffle" */
    int big_endian;
    /* Chunks a worker can decode (chunkdec.h): CHUNK_* filter bits, or 0
     * when this file's partitions are decoded here.  Set for chunked data
     * stored as the values a read produces, filtered by deflate and/or
     * shuffle only, chunks up to CHUNK_MAX_BYTES. */
    unsigned raw_filters;
    int shuffle_at, deflate_at;     /* their places in the pipeline */
    uint64_t cdims[H5B_MAX_RANK];
    /* Byte offset of the values in the file when a process on this node
     * may read them itself with pread (fileread.h): contiguous layout in
     * the file (no external storage), stored exactly as a read produces
     * them (no conversion, no compound, no key dataset) and wholly inside
     * the file; 0 when not. */
    uint64_t direct_pos;
    /* The file as its check found it (stat): size and modification time. */
    uint64_t bytes;
    int64_t mtime_s, mtime_ns;
};

#define SOURCE_MAX_KEYS GB_MAX_PARTS

struct source {
    char *dataset;
    size_t nfiles;
    struct source_file *file;
    size_t ncol;
    struct column_desc col[TABLE_MAX_COLUMNS];
    char skipped[512];      /* non-numeric fields left out, for the summary */
    hid_t memtype;          /* what a read produces: native, packed */
    uint32_t elem_bytes;    /* its size */
    int compound;
    int rank;               /* of the dataset, >= 1 */
    uint64_t dims[H5B_MAX_RANK]; /* dims[0] is the first file's; dims[1..]
                                    as a read produces them (selected) */
    /* [input] select along dims >= 1 (source_restrict): a read takes
     * dims[d] indices first[d], first[d] + step[d], ... of the stored
     * stored[d]; step[d] is 0 while dim d is whole. */
    uint64_t first[H5B_MAX_RANK], step[H5B_MAX_RANK];
    uint64_t stored[H5B_MAX_RANK];
    int inner_select;       /* some dim >= 1 is restricted */
    uint64_t record_elems;  /* elements per record: product of dims[1..] */
    uint64_t record_bytes;
    uint64_t nrec;          /* over all files */
    /* group_by = /path, ...: the key datasets, read after each
     * partition's values one after another (key_bytes per record in all);
     * their columns are the last nkeyds.  Else nkeyds and key_bytes are 0.
     * key_path[k] points into key_buf, a copy of group_by. */
    size_t nkeyds;
    const char *key_path[SOURCE_MAX_KEYS];
    char *key_buf;
    uint32_t key_bytes;
    int key_time;           /* source_opts.key_time */
    /* [input] select's stride along dim 0 (select.h): a read of count
     * records from start takes every stride0-th; 0 or 1: consecutive.
     * Raw chunk and direct reads need consecutive records. */
    uint64_t stride0;
    /* The file of the last read. */
    size_t cur;
    hid_t fid, did, kid[SOURCE_MAX_KEYS];
    hid_t dapl;             /* every dataset open: a one-slot chunk cache */
};

/* Check and describe dataset in files[0..n), with options o (fields of a
 * compound dataset, CF attributes, group-by key).  On failure (message
 * naming the file, dataset, field or attribute) s holds nothing. */
int source_open(struct source *s, char *const *files, size_t n,
                const char *dataset, const struct source_opts *o,
                struct h5b_error *err);

/* Read records [start, start+count) of file i into buf, native order
 * (count records every stride0-th from start when stride0 > 1):
 * whole records when ncols is 0, else indices [col0, col0+ncols) of dim 1
 * of each (a tile); then, with a key dataset, their keys (after the
 * values read, whole records' or the tile's). */
int source_read(struct source *s, size_t i, uint64_t start, uint64_t count,
                uint64_t col0, uint64_t ncols, void *buf,
                struct h5b_error *err);

/* Read the same records as source_read, but as the stored chunks that
 * hold them, with a chunkdec.h head, into buf (cap bytes); *len gets the
 * payload's size.  Returns 1 when done, 0 when this partition must be
 * read with source_read instead (file not eligible, a chunk never
 * written, or more than cap bytes), negative on a read failure. */
int source_read_raw(struct source *s, size_t i, uint64_t start,
                    uint64_t count, uint64_t col0, uint64_t ncols,
                    unsigned char *buf, size_t cap, size_t *len,
                    struct h5b_error *err);

/* Where records [start, ...) of file i are, for a reader of the file
 * itself (fileread.h): 1 with *pos their byte offset when the file allows
 * it (source_file.direct_pos) and whole records are read (ncols 0), else
 * 0 (also when reads are strided). */
int source_direct(const struct source *s, size_t i, uint64_t start,
                  uint64_t ncols, uint64_t *pos);

/* Read the values of records [start, start+count) of file i as
 * source_read does (bytes of them into buf), but with pread through f
 * when the file allows it (source_direct; f not NULL): the same bytes,
 * without HDF5's copy. */
int source_read_values(struct source *s, struct fileread *f, size_t i,
                       uint64_t start, uint64_t count, uint64_t col0,
                       uint64_t ncols, void *buf, size_t bytes,
                       struct h5b_error *err);

/* Restrict dim d (>= 1) of s to count indices first, first + step, ...
 * (within its extent): the record size and cell shape shrink to them.
 * Raw chunk and direct reads are off afterwards. */
void source_restrict(struct source *s, int d, uint64_t first, uint64_t count,
                     uint64_t step);

/* Close any open file and free s. */
void source_close(struct source *s);

#endif
