/* plugin.c -- dlopen of operator plugins.
 *
 * A plugin is a shared library defining `const h5b_operator
 * h5batch_plugin` (see include/h5batch/operator.h).  Rank 0 loads it while
 * checking the job, before any worker starts; each worker loads it again
 * from the same path, so a library that only rank 0 can see fails on the
 * worker with the same message.  The table is checked for the ABI version
 * and for every callback before it is registered.
 */
#define _DEFAULT_SOURCE
#include "plugin.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "op.h"

/* Are all callbacks of op present? */
static int complete(const h5b_operator *op)
{
    return op->create && op->destroy && op->update && op->merge &&
           op->encoded_size && op->encode && op->decode && op->finalize &&
           op->provides;
}

/* Load plugin `name` from `library`. */
static int load_one(const char *name, const char *library,
                    struct h5b_error *err)
{
    void *h = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return err_set(err, H5B_EINPUT, "plugin %s: cannot load %s: %s",
                       name, library, dlerror());
    const h5b_operator *op = dlsym(h, H5B_PLUGIN_SYMBOL);
    if (!op)
        return err_set(err, H5B_EINPUT, "plugin %s: %s defines no symbol "
                       "'%s'", name, library, H5B_PLUGIN_SYMBOL);
    if (op->abi != H5B_OPERATOR_ABI)
        return err_set(err, H5B_EINPUT, "plugin %s: %s was built for "
                       "operator ABI %u, this h5batch has ABI %d (rebuild "
                       "the plugin)", name, library, op->abi,
                       H5B_OPERATOR_ABI);
    if (!complete(op))
        return err_set(err, H5B_EINPUT, "plugin %s: %s leaves a callback of "
                       "%s NULL", name, library, H5B_PLUGIN_SYMBOL);
    return op_register_plugin(name, op, err);
}

int plugin_load_all(const struct job *job, struct h5b_error *err)
{
    char section[160];
    for (size_t i = 0; i < job->nplugins; i++) {
        snprintf(section, sizeof section, "plugin %s", job->plugins[i]);
        const char *lib = job_get(job, section, "library");
        int rc = lib ? load_one(job->plugins[i], lib, err)
                     : err_set(err, H5B_EINPUT, "[plugin %s]: no library",
                               job->plugins[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}
