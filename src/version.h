/* version.h -- the h5batch version, in one place. */
#ifndef H5B_VERSION_H
#define H5B_VERSION_H
#define H5BATCH_VERSION "0.1.0"
#endif
