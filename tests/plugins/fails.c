/* fails.c -- test plugin whose update() fails on its third call.
 *
 * The count of update() calls is per process: deliberately hidden state,
 * which a real plugin must not have.  Every worker (or rank 0 alone) that
 * gets a third block fails with a message; h5batch must end the run on
 * every rank with exit 1 and one line naming the plugin and "update".
 * `fail_on_call = N` (default 3) moves the failure.
 */
#include "stub.h"

static const char *const provides[] = {"fails", NULL};

static unsigned long calls;
static unsigned long fail_on = 3;

static int fails_create(const struct h5b_op_config *cfg, void **state,
                        struct h5b_error *err)
{
    const char *n = cfg->arg ? cfg->arg(cfg, "fail_on_call") : NULL;
    if (n)
        fail_on = strtoul(n, NULL, 10);
    return stub_create(cfg, state, err);
}

static int fails_update(void *state, const struct h5b_block *blk,
                        struct h5b_error *err)
{
    if (++calls == fail_on)
        return h5b_fail(err, "deliberate failure on update call %lu "
                        "(records %llu..%llu)", calls,
                        (unsigned long long)blk->first_record,
                        (unsigned long long)(blk->first_record + blk->nrec));
    return stub_update(state, blk, err);
}

static int fails_finalize(const void *state, const struct h5b_sink *sink,
                          struct h5b_error *err)
{
    return stub_put(state, sink, "fails/records", err);
}

const h5b_operator h5batch_plugin = {
    .abi = H5B_OPERATOR_ABI,
    .name = "fails",
    .provides = provides,
    .create = fails_create,
    .destroy = stub_destroy,
    .update = fails_update,
    .merge = stub_merge,
    .encoded_size = stub_encoded_size,
    .encode = stub_encode,
    .decode = stub_decode,
    .finalize = fails_finalize,
};
