/* job.h -- the job file: parsing, overrides, validation, input globbing.
 *
 * A job is read from an INI file with inih, then `--set section.key=value`
 * overrides are applied through the same per-key validation, then
 * job_finish() checks required keys and fills defaults.  Each accepted
 * key is also kept as a (section, key, value) entry, which is what rank 0
 * ships to the workers and what operators read their arguments from; the
 * typed fields are derived from the entries.  No MPI, no HDF5.
 */
#ifndef H5B_JOB_H
#define H5B_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"

#define JOB_MAX_TEXT (1u << 20)     /* a job file is at most 1 MiB */
#define JOB_MAX_OPS 32
#define JOB_DEFAULT_PARTITION (1u << 20)
#define JOB_MAX_PARTITION (1ull << 30)
#define JOB_DEFAULT_PREFETCH 2
#define JOB_MAX_PREFETCH 64
#define JOB_MAX_BINS 1000000
#define JOB_DEFAULT_CHECKPOINT_EVERY 60.0
#define JOB_MAX_QUANTILES 64
#define JOB_MAX_PLUGINS 16
#define JOB_LIST_SEPARATORS " \t,"  /* between items of a list value */

struct job_entry {
    char *section, *key, *value;
};

/* job.worker_reads */
enum { JOB_READS_OFF, JOB_READS_AUTO, JOB_READS_ALL };

struct job {
    char *path;             /* job file as given, or NULL */
    char *text;             /* its text, NUL-terminated */
    struct job_entry *entries;
    size_t nentries;

    /* Derived by job_finish(). */
    const char *name;
    const char *files;      /* the glob patterns, unexpanded */
    const char *dataset;
    const char *output;
    uint64_t partition_bytes;
    uint64_t max_keys;      /* [reduce] max_keys: group-by keys a table may
                               hold; 0: no limit */
    uint64_t memory_limit;  /* [run] memory_limit: bytes one rank may use;
                               0: what the machine allows (memcheck.h) */
    const char *ops[JOB_MAX_OPS + 1];   /* NULL-terminated output names */
    char *ops_buf;
    int axis_all;           /* 0: reduce along dim 0; 1: over everything */
    int axis_records;       /* axis = records: each record over its cells */
    int ddof;
    int exact;              /* [reduce] exact = yes: exact sums */
    const char *weights;    /* [reduce] weights (coslat or a dataset), or
                               NULL (weights.h) */
    int prefetch;
    const char *fields;     /* compound fields to reduce, or NULL for all */
    int cf;                 /* apply CF conventions (auto) */
    int shared_memory;      /* [run] shared_memory = auto: share rank 0's
                               partition pool with the workers on its node */
    int worker_decode;      /* [run] worker_decode = auto: workers inflate
                               deflate/shuffle chunks (chunkdec.h) */
    int worker_reads;       /* [run] worker_reads (JOB_READS_*): auto:
                               workers on rank 0's node read contiguous
                               values from the file themselves
                               (fileread.h); all: every worker that sees
                               the same files reads any layout itself */
    int read_ahead;         /* [run] read_ahead = auto: rank 0 alone reads
                               in a second thread (readahead.h) */
    int rank0_reduces;      /* [run] rank0_reduces = auto: rank 0 reduces a
                               partition itself when every worker is full */
    double checkpoint_every;    /* seconds; 0: only when interrupted */
    char *plugins[JOB_MAX_PLUGINS]; /* NAMEs of [plugin NAME] sections */
    size_t nplugins;
};

/* Read and parse the job file at path into job (zeroed by the caller or
 * fresh).  Errors name the file and line.  job_free() is needed in every
 * case. */
int job_load(struct job *job, const char *path, struct h5b_error *err);

/* Parse len bytes of job-file text (which may hold NUL bytes: they are
 * an error) as if read from path (used in messages).  job_free() is
 * needed in every case. */
int job_parse_text(struct job *job, const char *path, const char *text,
                   size_t len, struct h5b_error *err);

/* Apply one entry, validating it; origin names where it came from for
 * messages (e.g. "--set").  A later entry replaces an earlier one. */
int job_apply(struct job *job, const char *section, const char *key,
              const char *value, const char *origin, struct h5b_error *err);

/* Apply an override of the form "section.key=value". */
int job_override(struct job *job, const char *assignment,
                 struct h5b_error *err);

/* Check required keys and derive the typed fields. */
int job_finish(struct job *job, struct h5b_error *err);

/* Is name a plugin of the job (a [plugin NAME] section)? */
int job_is_plugin(const struct job *job, const char *name);

/* The value of section.key, or NULL. */
const char *job_get(const struct job *job, const char *section,
                    const char *key);

/* Expand the job's glob patterns: sorted, de-duplicated paths in *files
 * (free with job_free_files).  No match is an error naming the pattern. */
int job_expand_files(const struct job *job, char ***files, size_t *nfiles,
                     struct h5b_error *err);

void job_free_files(char **files, size_t nfiles);

/* Parse a size such as "1M", "512K", "4096" into bytes.  Returns 0 or -1. */
int job_parse_size(const char *s, uint64_t *bytes);

void job_free(struct job *job);

#endif
