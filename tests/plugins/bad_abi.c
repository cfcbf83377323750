/* bad_abi.c -- test plugin built for an ABI h5batch does not speak.
 *
 * The loader must refuse it (exit 2, naming the plugin and both ABI
 * versions) before calling anything.
 */
#include "stub.h"

static const char *const provides[] = {"bad_abi", NULL};

static int bad_abi_finalize(const void *state, const struct h5b_sink *sink,
                            struct h5b_error *err)
{
    return stub_put(state, sink, "bad_abi/records", err);
}

const h5b_operator h5batch_plugin = {
    .abi = H5B_OPERATOR_ABI + 1,
    .name = "bad_abi",
    .provides = provides,
    .create = stub_create,
    .destroy = stub_destroy,
    .update = stub_update,
    .merge = stub_merge,
    .encoded_size = stub_encoded_size,
    .encode = stub_encode,
    .decode = stub_decode,
    .finalize = bad_abi_finalize,
};
