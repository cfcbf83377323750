/* plugin.h -- loading users' operator plugins named in the job file. */
#ifndef H5B_PLUGIN_H
#define H5B_PLUGIN_H

#include "h5batch/operator.h"
#include "job.h"

/* dlopen every [plugin NAME] library of the job, check its
 * h5batch_plugin symbol and ABI version, and register it as NAME.  Errors
 * (H5B_EINPUT) name the plugin and the library.  Libraries stay loaded
 * until the process ends. */
int plugin_load_all(const struct job *job, struct h5b_error *err);

#endif
