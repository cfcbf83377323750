/* h5batch/operator.h -- the interface every h5batch operator implements.
 *
 * An operator turns blocks of records into a partial state, merges partial
 * states, ships them between ranks as bytes, and finally writes named
 * results.  The built-in statistics use exactly this interface; so will
 * user plugins.  The contract that makes results bitwise identical on any
 * number of ranks:
 *
 *   - a partial state is created fresh for each partition and fed that
 *     partition's records by one or more update() calls, in record order;
 *   - merge(acc, later) is called on the master in partition order only,
 *     so it need not be commutative, but must be deterministic;
 *   - encode()/decode() must round-trip a state bit for bit.
 *
 * Every callback returns 0 on success or a negative value on failure after
 * writing a one-line message into err->msg (h5b_fail() does both); h5batch
 * adds the operator's name and the callback's and ends the run on every
 * rank.  Nothing here depends on MPI or HDF5.  The header is
 * self-contained C11.
 *
 * A plugin is a shared library that defines
 *     const h5b_operator h5batch_plugin = { .abi = H5B_OPERATOR_ABI, ... };
 * and is named in a job file:
 *     [plugin NAME]
 *     library = path/to/libNAME.so
 *     key = value          ; arguments, read with cfg->arg(cfg, "key")
 * after which `[reduce] ops` may list NAME.  Rank 0 and every worker load
 * it.  Ownership: h5batch owns configs, blocks and sinks; the operator owns
 * its states (create() allocates, destroy() frees).  States must hold no
 * pointers into blocks after update() returns.
 */
#ifndef H5BATCH_OPERATOR_H
#define H5BATCH_OPERATOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below or a callback signature changes.
 * 2: h5b_op_config gained weights, nweights and per_record. */
#define H5B_OPERATOR_ABI 2

/* The symbol a plugin library defines (a const h5b_operator). */
#define H5B_PLUGIN_SYMBOL "h5batch_plugin"

/* Most dimensions a record may have (HDF5's own limit is 32). */
#define H5B_MAX_RANK 32

/* Element types of input values, always in native byte order. */
typedef enum h5b_type {
    H5B_INT8 = 1, H5B_UINT8, H5B_INT16, H5B_UINT16, H5B_INT32, H5B_UINT32,
    H5B_INT64, H5B_UINT64, H5B_FLOAT32, H5B_FLOAT64
} h5b_type;

/* A one-line error message filled by whoever fails. */
struct h5b_error {
    char msg[512];
};

/* What an operator is asked to compute.  Owned by h5batch; valid for the
 * lifetime of every state created from it. */
struct h5b_op_config {
    const char *op_name;    /* the operator's name in the job (`ops`) */
    h5b_type type;          /* element type of the values */
    uint64_t ncell;         /* values per record: 1 for 1-D input or axis=all */
    int cell_rank;          /* rank of a result map: 0 for scalars */
    uint64_t cell_dims[H5B_MAX_RANK]; /* its shape; product == ncell */
    const char *const *outputs; /* requested output names, NULL-terminated */
    /* Look up a job-file argument: for a plugin, a key of its
     * [plugin NAME] section; for a built-in, of [reduce] (e.g. "ddof").
     * NULL if absent. */
    const char *(*arg)(const struct h5b_op_config *cfg, const char *key);
    const void *arg_ctx;    /* for arg(); opaque to operators */
    /* [reduce] weights, or NULL (nweights 0): the weight of value i of a
     * block is weights[((first_record + r) * ncell + j) % nweights] for
     * record r, cell j of the block (i = r * ncell + j).  With axis = all
     * nweights is the values per input record, so the weight follows the
     * value's place in its record.  Finite and >= 0; owned by h5batch. */
    const double *weights;
    uint64_t nweights;
    /* [reduce] axis = records: each record is reduced over its ncell
     * values (of the cell shape above), one result per record, written
     * with put() as 1-D arrays over the records.  Only the built-in
     * statistics do this; h5batch runs no plugin with it. */
    int per_record;
};

/* A block of consecutive records: nrec * cfg->ncell values of cfg->type,
 * record-major.  The data is owned by h5batch and valid during update(). */
struct h5b_block {
    const void *data;
    uint64_t nrec;
    uint64_t first_record;  /* global index of the first record */
};

/* Where finalize() writes results.  Both calls copy the data; `name` may
 * hold '/' to nest (e.g. "histogram/counts").
 *
 * put_cells() writes a per-cell result: its shape is the config's cell
 * shape followed by extra_dims (extra_rank 0: one value per cell), values
 * cell-major.  Use it for everything computed per cell: h5batch may
 * reduce a large field in tiles of cells and assembles such results.
 *
 * put() writes a result that is the same for every cell (e.g. histogram
 * edges), of any shape; rank 0 means a scalar. */
struct h5b_sink {
    void *ctx;
    int (*put_cells)(void *ctx, const char *name, h5b_type type,
                     int extra_rank, const uint64_t *extra_dims,
                     const void *data, struct h5b_error *err);
    int (*put)(void *ctx, const char *name, h5b_type type, int rank,
               const uint64_t *dims, const void *data, struct h5b_error *err);
};

typedef struct h5b_operator {
    uint32_t abi;                  /* H5B_OPERATOR_ABI */
    const char *name;              /* operator name, e.g. "moments" */
    const char *const *provides;   /* names usable in `ops`, NULL-terminated */

    /* Allocate a new, empty state for cfg in *state.  On failure *state is
     * left NULL. */
    int (*create)(const struct h5b_op_config *cfg, void **state,
                  struct h5b_error *err);
    /* Free a state from create(); NULL is a no-op. */
    void (*destroy)(void *state);
    /* Fold blk into state. */
    int (*update)(void *state, const struct h5b_block *blk,
                  struct h5b_error *err);
    /* acc := acc (+) later, where `later` covers the records right after
     * those of acc.  `later` is not modified. */
    int (*merge)(void *acc, const void *later, struct h5b_error *err);
    /* Exact size encode() will write for this state. */
    size_t (*encoded_size)(const void *state);
    /* Write exactly encoded_size(state) bytes to buf (len bytes). */
    int (*encode)(const void *state, void *buf, size_t len,
                  struct h5b_error *err);
    /* Replace the contents of a created state with the bytes of encode();
     * must check len and reject anything malformed. */
    int (*decode)(void *state, const void *buf, size_t len,
                  struct h5b_error *err);
    /* Write the results of a fully merged state to sink. */
    int (*finalize)(const void *state, const struct h5b_sink *sink,
                    struct h5b_error *err);
} h5b_operator;

/* Format a message into err (if non-NULL) and return -1. */
static inline int h5b_fail(struct h5b_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Size in bytes of one value of type t, 0 for an invalid type. */
static inline size_t h5b_type_size(h5b_type t)
{
    switch (t) {
    case H5B_INT8: case H5B_UINT8: return 1;
    case H5B_INT16: case H5B_UINT16: return 2;
    case H5B_INT32: case H5B_UINT32: case H5B_FLOAT32: return 4;
    case H5B_INT64: case H5B_UINT64: case H5B_FLOAT64: return 8;
    }
    return 0;
}

/* Little-endian fixed-width helpers for encode()/decode(): the wire format
 * of a state must not depend on the host. */
static inline void h5b_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t h5b_get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void h5b_put_f64(unsigned char *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    h5b_put_u64(p, v);
}

static inline double h5b_get_f64(const unsigned char *p)
{
    uint64_t v = h5b_get_u64(p);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

#ifdef __cplusplus
}
#endif
#endif /* H5BATCH_OPERATOR_H */
