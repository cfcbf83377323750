/* stub.h -- a do-nothing operator shared by the test-only plugins.
 *
 * A state is one record counter; finalize writes it per cell as
 * `<name>/records`.  The loader tests (bad_abi, no_symbol) must be refused
 * before any callback runs; fails.c wraps update() to fail on purpose.
 * Included by exactly one .c file per plugin, so everything is static.
 */
#ifndef H5B_TEST_STUB_H
#define H5B_TEST_STUB_H

#include <stdlib.h>

#include "h5batch/operator.h"

struct stub {
    uint64_t ncell, nrec;
};

static void stub_destroy(void *state)
{
    free(state);
}

static int stub_create(const struct h5b_op_config *cfg, void **state,
                       struct h5b_error *err)
{
    struct stub *s = calloc(1, sizeof *s);
    *state = s;
    if (!s)
        return h5b_fail(err, "out of memory");
    s->ncell = cfg->ncell;
    return 0;
}

static int stub_update(void *state, const struct h5b_block *blk,
                       struct h5b_error *err)
{
    struct stub *s = state;
    (void)err;
    s->nrec += blk->nrec;
    return 0;
}

static int stub_merge(void *acc, const void *later, struct h5b_error *err)
{
    struct stub *a = acc;
    const struct stub *b = later;
    (void)err;
    a->nrec += b->nrec;
    return 0;
}

static size_t stub_encoded_size(const void *state)
{
    (void)state;
    return 8;
}

static int stub_encode(const void *state, void *buf, size_t len,
                       struct h5b_error *err)
{
    const struct stub *s = state;
    if (len != 8)
        return h5b_fail(err, "encode buffer of %zu bytes, need 8", len);
    h5b_put_u64(buf, s->nrec);
    return 0;
}

static int stub_decode(void *state, const void *buf, size_t len,
                       struct h5b_error *err)
{
    struct stub *s = state;
    if (len != 8)
        return h5b_fail(err, "state of %zu bytes, need 8", len);
    s->nrec = h5b_get_u64(buf);
    return 0;
}

/* Write the record count of s once per cell as NAME/records. */
static int stub_put(const struct stub *s, const struct h5b_sink *sink,
                    const char *name, struct h5b_error *err)
{
    uint64_t *v = malloc((size_t)s->ncell * sizeof *v);
    if (!v)
        return h5b_fail(err, "out of memory");
    for (uint64_t j = 0; j < s->ncell; j++)
        v[j] = s->nrec;
    int rc = sink->put_cells(sink->ctx, name, H5B_UINT64, 0, NULL, v, err);
    free(v);
    return rc;
}

#endif
