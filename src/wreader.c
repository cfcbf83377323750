/* wreader.c -- a worker's own HDF5 input (wreader.h). */
#include "wreader.h"

#include <string.h>

#include "err.h"
#include "h5util.h"
#include "timekey.h"

void wreader_init(struct wreader *r)
{
    memset(r, 0, sizeof *r);
    fileread_init(&r->fr);
}

int wreader_open(struct wreader *r, const struct job *job,
                 struct h5b_error *err)
{
    if (!r->reads || r->opened)
        return 0;
    struct source_opts opts = {job->fields, job->cf,
                               job_get(job, "reduce", "group_by"), 0};
    h5util_quiet();
    int rc = r->files.n ? timekey_opts(r->files.path[0], job->dataset, &opts,
                                       r->time_path, sizeof r->time_path,
                                       err) : 0;
    if (rc == 0)
        rc = source_open(&r->src, r->files.path, r->files.n, job->dataset,
                         &opts, err);
    r->opened = rc == 0;
    return rc;
}

/* worker_reader.read: the records r names, from this worker's input. */
static int read_own(void *ctx, const struct wire_read *rd, uint64_t nrec,
                    uint64_t ncols, void *buf, size_t len,
                    struct h5b_error *err)
{
    struct wreader *r = ctx;
    if (!r->opened || rd->file >= r->src.nfiles ||
        rd->start > r->src.file[rd->file].nrec ||
        nrec > r->src.file[rd->file].nrec - rd->start)
        return err_set(err, H5B_ERUN, "read request for records %llu+%llu "
                       "of file %llu is outside this worker's input",
                       (unsigned long long)rd->start,
                       (unsigned long long)nrec,
                       (unsigned long long)rd->file);
    return source_read_values(&r->src, &r->fr, (size_t)rd->file, rd->start,
                              nrec, rd->col0, ncols, buf, len, err);
}

const struct worker_reader *wreader_ops(struct wreader *r,
                                        struct worker_reader *ops)
{
    if (!r->opened)
        return NULL;
    ops->read = read_own;
    ops->ctx = r;
    return ops;
}

void wreader_close(struct wreader *r)
{
    if (r->opened)
        source_close(&r->src);
    fileread_close(&r->fr);
    wire_files_free(&r->files);
    wreader_init(r);
}
