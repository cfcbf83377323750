/* wire.h -- the messages between rank 0 and the workers, as bytes.
 *
 * Every message starts with an 8-byte header: magic "H5BW" (u32), format
 * version (u16) and kind (u16).  All integers are little-endian fixed
 * width; no struct is ever sent raw.  Decoders check the magic, version,
 * kind and every length against the received size and reject anything
 * else with a message.  A WORK message is its header followed directly by
 * the partition's raw values, so rank 0 reads HDF5 data straight into the
 * buffer it sends.  No MPI here: the transport moves the bytes.
 *
 *   SETUP   rank 0 -> worker: status, then the record layout, whether a
 *           shared pool is used, columns and job entries, and the weight
 *           of each value of a record (a u64 count, 0 without weights,
 *           then that many f64)
 *   WORK    rank 0 -> worker: partition index, first record, records, tile
 *           width, bytes, and where the values are: right after the
 *           header, or (shm_pos > 0) at that byte offset of the pool that
 *           rank 0 shares with the workers on its node; such a message is
 *           the header alone.  With form CHUNKS the bytes are not the
 *           values but the stored chunks that hold them (chunkdec.h);
 *           with form READ they are a wire_read, and the worker reads
 *           the values itself from its own open input (worker_reads =
 *           all).
 *           With file_pos > 0 the bytes are a file's path, and the values
 *           are the nrec records at that byte offset of the file, for a
 *           worker on rank 0's node to read itself (fileread.h)
 *   RESULT  worker -> rank 0: partition index and the encoded partial
 *   ERROR   worker -> rank 0: exit code and one-line message
 *   STOP    rank 0 -> worker: no more work (status says why)
 *   DONE    worker -> rank 0: nothing more will follow from this worker;
 *           its seconds busy and waiting
 *   FILES   rank 0 -> worker (worker_reads = all, before SETUP): the
 *           input files, each with its identity as rank 0 sees it
 *           (fileid.h)
 *   CHECK   worker -> rank 0: one per node, whether that node sees the
 *           same files, and if not why
 *   GO      rank 0 -> worker: whether this worker reads its partitions
 *           itself
 */
#ifndef H5B_WIRE_H
#define H5B_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"
#include "fileid.h"
#include "job.h"
#include "table.h"

#define WIRE_MAGIC 0x57423548u      /* "H5BW" little-endian */
/* 6: a moments partial may carry exact accumulators ([reduce] exact).
 * 7: SETUP ends with the weights ([reduce] weights); a partial may carry
 * the weighted operator's state.
 * 8: a SETUP column carries a time coordinate's units and calendar; a
 * partial of a keyed table (group_by on a field) is keyed.h's. */
#define WIRE_VERSION 8
#define WIRE_HEADER 8
#define WIRE_WORK_HEADER 72
#define WIRE_RESULT_HEADER 24
#define WIRE_STOP_SIZE 12
#define WIRE_DONE_SIZE 32
#define WIRE_GO_SIZE 12
#define WIRE_READ_SIZE 24
#define WIRE_MAX_STRING 4096

/* SETUP status: exit 0 without running (--help, --version, --dry-run). */
#define WIRE_SETUP_QUIT 1000
/* STOP status: this pass is over, another SETUP follows. */
#define WIRE_STOP_MORE 1001

enum wire_kind {
    WIRE_SETUP = 1, WIRE_WORK, WIRE_RESULT, WIRE_ERROR, WIRE_STOP, WIRE_DONE,
    WIRE_FILES, WIRE_CHECK, WIRE_GO
};

/* wire_work.form: what the bytes after a WORK header are. */
enum {
    WIRE_FORM_VALUES,   /* the values (or nothing: in the pool, a range) */
    WIRE_FORM_CHUNKS,   /* the stored chunks that hold them (chunkdec.h) */
    WIRE_FORM_READ      /* a wire_read: the worker reads them itself */
};

/* A WORK of form WIRE_FORM_READ: the records [start, start + nrec) of
 * input file `file` (an index into the FILES list), indices
 * [col0, col0 + ncols) of dim 1 when tiled -- what source_read reads. */
struct wire_read {
    uint64_t file, start, col0;
};

struct wire_work {
    uint64_t index, first_record, nrec;
    uint64_t ncols;                 /* tile width along dim 1; 0: whole */
    uint64_t payload_len;
    const unsigned char *payload;   /* into the decoded buffer; NULL when
                                       the values are in the pool */
    uint64_t shm_pos;               /* 0: values follow the header; else
                                       their offset in the shared pool */
    uint64_t form;                  /* WIRE_FORM_*: the values, chunks
                                       to decode, or what to read */
    uint64_t file_pos;              /* 0; else the bytes are a path and
                                       the values are in that file at
                                       this byte offset */
};

struct wire_setup {
    int32_t status;                 /* 0: run; else the exit code */
    uint32_t elem_bytes;            /* one element of a record */
    uint64_t elems;                 /* elements per record */
    size_t ncol;
    struct column_desc *cols;       /* owned after decode */
    uint64_t ncell;
    uint32_t cell_rank;
    uint64_t cell_dims[H5B_MAX_RANK];
    uint64_t max_payload;           /* largest WORK payload to expect */
    uint64_t tile_width;            /* tiles along dim 1; 0: none */
    uint64_t dim1;
    uint32_t prefetch;
    uint32_t shared;                /* workers on rank 0's node map its
                                       partition pool (shm.h) */
    size_t nentries;
    struct job_entry *entries;      /* owned after decode: wire_setup_free */
    uint64_t nweights;              /* [reduce] weights, or 0 */
    double *weights;                /* owned after decode, as entries */
};

/* The input files as rank 0 sees them (FILES). */
struct wire_files {
    size_t n;
    char **path;            /* owned after decode: wire_files_free */
    struct fileid *id;
};

/* Check magic and version; *kind gets the message kind. */
int wire_peek(const unsigned char *buf, size_t len, int *kind,
              struct h5b_error *err);

/* Write the WORK header; the payload_len bytes follow at buf+WORK_HEADER. */
void wire_encode_work(unsigned char *buf, const struct wire_work *w);
int wire_decode_work(const unsigned char *buf, size_t len,
                     struct wire_work *w, struct h5b_error *err);

/* Write the RESULT header; state_len bytes follow at buf+RESULT_HEADER. */
void wire_encode_result(unsigned char *buf, uint64_t index,
                        uint64_t state_len);
int wire_decode_result(const unsigned char *buf, size_t len,
                       uint64_t *index, const unsigned char **state,
                       size_t *state_len, struct h5b_error *err);

/* ERROR: size needed for msg, encode into buf (exactly that size). */
size_t wire_error_size(const char *msg);
void wire_encode_error(unsigned char *buf, int32_t code, const char *msg);
/* Decode into *code and msg (NUL-terminated, truncated to msglen). */
int wire_decode_error(const unsigned char *buf, size_t len, int32_t *code,
                      char *msg, size_t msglen, struct h5b_error *err);

void wire_encode_stop(unsigned char *buf, int32_t status);
int wire_decode_stop(const unsigned char *buf, size_t len, int32_t *status,
                     struct h5b_error *err);

/* DONE: the worker's seconds busy and idle, and its peak resident set
 * in bytes (memlimits_peak_rss: VmHWM), for the summary. */
void wire_encode_done(unsigned char *buf, double busy, double idle,
                      uint64_t maxrss);
int wire_decode_done(const unsigned char *buf, size_t len, double *busy,
                     double *idle, uint64_t *maxrss, struct h5b_error *err);

/* The 24 bytes of a wire_read, at p. */
void wire_put_read(unsigned char *p, const struct wire_read *r);
void wire_get_read(const unsigned char *p, struct wire_read *r);

/* FILES: f is read, not owned, by size/encode.  On success the decoded
 * f holds fresh copies (wire_files_free); on failure nothing. */
size_t wire_files_size(const struct wire_files *f);
void wire_encode_files(unsigned char *buf, const struct wire_files *f);
int wire_decode_files(const unsigned char *buf, size_t len,
                      struct wire_files *f, struct h5b_error *err);
void wire_files_free(struct wire_files *f);

/* CHECK: same is 1 when the node sees rank 0's files, else 0 with why. */
size_t wire_check_size(const char *why);
void wire_encode_check(unsigned char *buf, int32_t same, const char *why);
int wire_decode_check(const unsigned char *buf, size_t len, int32_t *same,
                      char *why, size_t whylen, struct h5b_error *err);

/* GO: reads is 1 when the worker reads its partitions itself. */
void wire_encode_go(unsigned char *buf, int32_t reads);
int wire_decode_go(const unsigned char *buf, size_t len, int32_t *reads,
                   struct h5b_error *err);

/* SETUP: s->entries, s->cols and s->weights are read, not owned, by
 * size/encode. */
size_t wire_setup_size(const struct wire_setup *s);
void wire_encode_setup(unsigned char *buf, const struct wire_setup *s);
/* On success s->entries, s->cols and s->weights are fresh copies; on
 * failure s holds nothing. */
int wire_decode_setup(const unsigned char *buf, size_t len,
                      struct wire_setup *s, struct h5b_error *err);
void wire_setup_free(struct wire_setup *s);

#endif
