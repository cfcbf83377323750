/* memrun.c -- the memory plan's inputs from an opened run (memrun.h). */
#include "memrun.h"

#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "wire.h"

/* The number of quantiles in the list q (3, the default, if none). */
static unsigned count_quantiles(const char *q)
{
    unsigned n = 0;
    for (const char *c = q; c && *c; c++)
        n += strchr(" \t,", *c) == NULL &&
             (c == q || strchr(" \t,", c[-1]) != NULL);
    return q ? n : 3;
}

/* Which built-in operators the job's outputs need. */
static void job_ops(const struct job *job, struct memplan_job *j)
{
    const char *b = job_get(job, "reduce", "histogram_bins");
    for (size_t i = 0; job->ops[i]; i++) {
        const h5b_operator *op = op_find_output(job->ops[i]);
        j->moment_outputs += op == &op_moments;
        j->moments |= op == &op_moments;
        j->histogram |= op == &op_hist;
        j->quantiles |= op == &op_quantile;
    }
    j->exact = job->exact;
    j->bins = b ? strtoull(b, NULL, 10) : 64;
    j->nq = j->quantiles ? count_quantiles(job_get(job, "reduce",
                                                   "quantiles")) : 0;
}

/* How many of the files workers on rank 0's node may read themselves
 * (master.c: stage_unread). */
static size_t direct_files(const struct job *job, const struct source *s,
                           const struct plan *plan)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nfiles; i++)
        n += s->file[i].direct_pos != 0;
    return job->worker_reads && plan->ntiles == 1 ? n : 0;
}

/* The bytes of a chunk of the first file, decoded, when it is a
 * deflate/shuffle dataset (source_file.raw_filters); else 0. */
static uint64_t chunk_bytes(const struct source *s)
{
    if (!s->nfiles || !s->file[0].raw_filters)
        return 0;
    uint64_t n = s->elem_bytes;
    for (int d = 0; d < s->rank; d++)
        n *= s->file[0].cdims[d] ? s->file[0].cdims[d] : 1;
    return n;
}

void memrun_job(const struct job *job, const struct source *src,
                const struct plan *plan, const struct memrun_layout *lay,
                struct memplan_job *j)
{
    memset(j, 0, sizeof *j);
    j->slot_bytes = WIRE_WORK_HEADER + plan->max_part_bytes;
    j->part_records = plan->max_part_records;
    j->records = src->nrec;
    j->nparts = plan->nparts;
    j->ntiles = plan->ntiles;
    j->nworkers = lay->size - 1;
    j->node_ranks = lay->node_ranks;
    j->prefetch = job->prefetch;
    j->shared = lay->shared;
    j->helps = lay->helps;
    j->read_ahead = lay->read_ahead;
    j->twin = lay->twin;
    size_t direct = lay->size > 1 ? direct_files(job, src, plan) : 0;
    j->direct = direct && direct == src->nfiles;
    if (job->worker_reads == JOB_READS_ALL) {
        direct = (size_t)lay->readers;
        j->direct = lay->readers && lay->readers == lay->size - 1;
        j->workers_read = lay->readers != 0;
    }
    j->chunk_bytes = chunk_bytes(src);
    j->weights = job->weights ? 8 * src->record_elems : 0;
    j->per_record = job->axis_records;
    j->workers_decode = j->chunk_bytes && lay->size > 1 &&
                        job->worker_decode && !j->direct;
    j->rank0_decodes = j->chunk_bytes && !j->workers_decode;
    j->worker_values = direct || j->workers_decode;
    j->ncell_all = lay->ncell;
    j->ncell = plan->ntiles > 1 ? lay->ncell / plan->dim1 * plan->tile_width
                                : lay->ncell;
    size_t nkey = 0;
    for (size_t i = 0; i < src->ncol; i++) {
        const struct column_desc *c = &src->col[i];
        j->ncol += c->role == ROLE_VALUE;
        j->grouped |= c->role != ROLE_VALUE;
        nkey += c->role != ROLE_VALUE;
        j->key_bytes += c->role == ROLE_VALUE ? 0 : (c->type & TABLE_STRING)
                        ? table_type_size(c->type) : 8;
    }
    if (nkey == 1 && j->key_bytes == 8)     /* one integer key: int64 */
        j->key_bytes = 0;
    j->grouped |= src->key_bytes != 0;
    /* group_by on a field: per-key operator states (keyed_keys is set by
     * the caller, who counts the keys) */
    if (src->key_bytes && (src->record_elems > 1 || src->key_time)) {
        j->grouped = 0;
        j->key_bytes = 0;
    }
    j->max_keys = job->max_keys;
    job_ops(job, j);
}
