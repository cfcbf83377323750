/* zeros.c -- the smallest useful h5batch plugin: per cell, how many values
 * are exactly zero (-0.0 counts, NaN does not).
 *
 * State: one uint64 count per cell.  merge adds counts (associative);
 * the encoding is ncell then the counts, little-endian u64.
 */
#include <stdlib.h>

#include <h5batch/operator.h>

struct zeros {
    h5b_type type;
    uint64_t ncell;
    uint64_t *count;
};

static const char *const provides[] = {"zeros", NULL};

static void zeros_destroy(void *state)
{
    struct zeros *z = state;
    if (z)
        free(z->count);
    free(z);
}

static int zeros_create(const struct h5b_op_config *cfg, void **state,
                        struct h5b_error *err)
{
    struct zeros *z = calloc(1, sizeof *z);
    *state = NULL;
    if (z)
        z->count = calloc(cfg->ncell, sizeof *z->count);
    if (!z || !z->count) {
        zeros_destroy(z);
        return h5b_fail(err, "out of memory for %llu cells",
                        (unsigned long long)cfg->ncell);
    }
    z->type = cfg->type;
    z->ncell = cfg->ncell;
    *state = z;
    return 0;
}

/* One loop per element type: no call and no switch per value. */
#define COUNT(T)                                                             \
    do {                                                                     \
        const T *x = blk->data;                                              \
        for (uint64_t r = 0; r < blk->nrec; r++)                             \
            for (uint64_t j = 0; j < z->ncell; j++)                          \
                z->count[j] += x[r * z->ncell + j] == 0;                     \
    } while (0)

static int zeros_update(void *state, const struct h5b_block *blk,
                        struct h5b_error *err)
{
    struct zeros *z = state;
    switch (z->type) {
    case H5B_INT8: COUNT(int8_t); return 0;
    case H5B_UINT8: COUNT(uint8_t); return 0;
    case H5B_INT16: COUNT(int16_t); return 0;
    case H5B_UINT16: COUNT(uint16_t); return 0;
    case H5B_INT32: COUNT(int32_t); return 0;
    case H5B_UINT32: COUNT(uint32_t); return 0;
    case H5B_INT64: COUNT(int64_t); return 0;
    case H5B_UINT64: COUNT(uint64_t); return 0;
    case H5B_FLOAT32: COUNT(float); return 0;
    case H5B_FLOAT64: COUNT(double); return 0;
    }
    return h5b_fail(err, "unsupported element type %d", (int)z->type);
}

static int zeros_merge(void *acc, const void *later, struct h5b_error *err)
{
    struct zeros *a = acc;
    const struct zeros *b = later;
    (void)err;
    for (uint64_t j = 0; j < a->ncell; j++)
        a->count[j] += b->count[j];
    return 0;
}

static size_t zeros_encoded_size(const void *state)
{
    const struct zeros *z = state;
    return 8 + 8 * (size_t)z->ncell;
}

static int zeros_encode(const void *state, void *buf, size_t len,
                        struct h5b_error *err)
{
    const struct zeros *z = state;
    unsigned char *p = buf;
    if (len != zeros_encoded_size(z))
        return h5b_fail(err, "encode buffer of %zu bytes", len);
    h5b_put_u64(p, z->ncell);
    for (uint64_t j = 0; j < z->ncell; j++)
        h5b_put_u64(p + 8 + 8 * j, z->count[j]);
    return 0;
}

static int zeros_decode(void *state, const void *buf, size_t len,
                        struct h5b_error *err)
{
    struct zeros *z = state;
    const unsigned char *p = buf;
    if (len != zeros_encoded_size(z) || h5b_get_u64(p) != z->ncell)
        return h5b_fail(err, "state of %zu bytes does not hold %llu cells",
                        len, (unsigned long long)z->ncell);
    for (uint64_t j = 0; j < z->ncell; j++)
        z->count[j] = h5b_get_u64(p + 8 + 8 * j);
    return 0;
}

static int zeros_finalize(const void *state, const struct h5b_sink *sink,
                          struct h5b_error *err)
{
    const struct zeros *z = state;
    return sink->put_cells(sink->ctx, "zeros/count", H5B_UINT64, 0, NULL,
                           z->count, err);
}

const h5b_operator h5batch_plugin = {
    .abi = H5B_OPERATOR_ABI,
    .name = "zeros",
    .provides = provides,
    .create = zeros_create,
    .destroy = zeros_destroy,
    .update = zeros_update,
    .merge = zeros_merge,
    .encoded_size = zeros_encoded_size,
    .encode = zeros_encode,
    .decode = zeros_decode,
    .finalize = zeros_finalize,
};
