/* no_symbol.c -- test plugin that exports no `h5batch_plugin`.
 *
 * A complete operator under a near-miss name, the mistake a plugin author
 * makes; the loader must refuse the library (exit 2) naming the plugin and
 * the missing symbol.
 */
#include "stub.h"

static const char *const provides[] = {"no_symbol", NULL};

static int no_symbol_finalize(const void *state, const struct h5b_sink *sink,
                              struct h5b_error *err)
{
    return stub_put(state, sink, "no_symbol/records", err);
}

const h5b_operator h5batch_operator = {
    .abi = H5B_OPERATOR_ABI,
    .name = "no_symbol",
    .provides = provides,
    .create = stub_create,
    .destroy = stub_destroy,
    .update = stub_update,
    .merge = stub_merge,
    .encoded_size = stub_encoded_size,
    .encode = stub_encode,
    .decode = stub_decode,
    .finalize = no_symbol_finalize,
};
