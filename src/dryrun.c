/* dryrun.c -- what --dry-run prints (see dryrun.h). */
#include "dryrun.h"

#include <math.h>

#include "h5util.h"
#include "transport.h"

/* One line per column: name, type, and what CF does to it. */
static void print_columns(const struct source *s, FILE *out)
{
    for (size_t i = 0; i < s->ncol; i++) {
        const struct column_desc *c = &s->col[i];
        if (c->type & TABLE_STRING)
            fprintf(out, "  column %s: string of %zu bytes", c->name,
                    table_type_size(c->type));
        else
            fprintf(out, "  column %s: %s", c->name,
                    h5util_type_name(c->type));
        fprintf(out, "%s", c->role != ROLE_VALUE ? ", the group_by key" : "");
        if (c->cf.flags)
            fprintf(out, ", CF:%s%s%s%s%s", c->cf.flags & CF_FILL ?
                    " _FillValue" : "", c->cf.flags & CF_MISSING ?
                    " missing_value" : "", c->cf.flags & CF_VMIN ?
                    " valid_min" : "", c->cf.flags & CF_VMAX ? " valid_max"
                    : "", c->cf.flags & CF_SCALE ? " scale/offset" : "");
        fputc('\n', out);
    }
    if (s->skipped[0])
        fprintf(out, "  skipped fields (non-numeric, or a pandas index): "
                "%s\n", s->skipped);
}

/* Whether the workers on rank 0's node read the values themselves. */
static void print_worker_reads(const struct prep *p, FILE *out)
{
    size_t n = 0;
    const struct source *s = &p->src;
    for (size_t i = 0; i < s->nfiles; i++)
        n += s->file[i].direct_pos != 0;
    if (p->sel_off)
        fprintf(out, "worker reads: off (%s)\n", p->sel_off);
    else if (!p->job.worker_reads)
        fprintf(out, "worker reads: off (worker_reads = off)\n");
    else if (p->job.worker_reads == JOB_READS_ALL)
        fprintf(out, "worker reads: all: %d of %d workers read their "
                "partitions themselves, any layout (the workers on nodes "
                "that see rank 0's files; see the nodes: lines)\n",
                prep_count_readers(p), p->size - 1);
    else if (n == 0 || p->plan.ntiles > 1)
        fprintf(out, "worker reads: none; rank 0 reads (%s)\n",
                p->plan.ntiles > 1 ? "tiles along dim 1"
                : "not a contiguous dataset stored as read, without "
                  "conversion or group_by key");
    else if (n == s->nfiles)
        fprintf(out, "worker reads: the workers on rank 0's node read the "
                "values from the file%s themselves\n",
                n == 1 ? "" : "s");
    else
        fprintf(out, "worker reads: the workers on rank 0's node read the "
                "values from %zu of %zu files themselves; rank 0 reads the "
                "rest\n", n, s->nfiles);
}

/* Whether the workers of node k read their partitions themselves, and
 * why, for the per-node lines of --dry-run. */
static void node_reads_text(const struct prep *p, int k, char *out,
                            size_t n)
{
    if (p->job.worker_reads == JOB_READS_OFF)
        snprintf(out, n, "no, rank 0 reads (worker_reads = off)");
    else if (p->job.worker_reads == JOB_READS_AUTO)
        snprintf(out, n, k == 0 ? "as above (worker_reads = auto: rank 0's "
                 "node only)" : "no, rank 0 reads for them (worker_reads = "
                 "auto: rank 0's node only)");
    else if (p->fc.same && p->fc.same[k] == 1)
        snprintf(out, n, "yes, from the files (the node sees the same files "
                 "as rank 0)");
    else
        snprintf(out, n, "no, rank 0 reads for them (not the same files as "
                 "rank 0: %s)", p->fc.why ? p->fc.why[k] : "not checked");
}

/* `nodes:` and, with workers, one line per node that has some: how
 * partitions reach them and who reads them. */
static void print_nodes(const struct prep *p, FILE *out)
{
    const struct nodes *nd = p->nodes;
    char ranks[256], reads[FILECHECK_WHY_MAX + 128];
    fprintf(out, "nodes: %d (", nd->count);
    for (int k = 0; k < nd->count; k++) {
        nodes_ranks_text(nd, k, ranks, sizeof ranks);
        fprintf(out, "%s%s: ranks %s", k ? "; " : "", nd->host[k], ranks);
    }
    fputs(")\n", out);
    for (int k = 0; p->size > 1 && k < nd->count; k++) {
        if (nodes_checker(nd, k) < 0)
            continue;
        node_reads_text(p, k, reads, sizeof reads);
        fprintf(out, "  %s: transport: %s; worker reads: %s\n", nd->host[k],
                k == 0 && p->shared ? "shared-memory window"
                                    : "point to point", reads);
    }
}


/* [reduce] weights: what they are and their range (weightsread.h). */
static void print_weights(const struct prep *p, FILE *out)
{
    double lo = INFINITY, hi = -INFINITY;
    if (!p->weights)
        return;
    for (uint64_t i = 0; i < p->nweights; i++) {
        lo = p->weights[i] < lo ? p->weights[i] : lo;
        hi = p->weights[i] > hi ? p->weights[i] : hi;
    }
    fprintf(out, "weights: %s, %llu per record (one per selected cell), "
            "from %.17g to %.17g\n", p->job.weights,
            (unsigned long long)p->nweights, lo, hi);
}
/* The memory plan and the limit it was checked against. */
static void print_memory(const struct prep *p, FILE *out)
{
    char what[256], b[32], f[32];
    uint64_t limit = memlimits_rank(&p->limits, what, sizeof what);
    memplan_print(&p->mem, &p->memjob, out);
    if (limit != MEMLIMIT_NONE)
        fprintf(out, "  limit per rank: %s (%s)\n",
                memplan_size(limit, b, sizeof b), what);
    if (p->mem.window && p->limits.shm_free != MEMLIMIT_NONE)
        fprintf(out, "  /dev/shm free: %s\n",
                memplan_size(p->limits.shm_free, f, sizeof f));
}

void dryrun_print(const struct prep *p, FILE *out)
{
    const struct source *s = &p->src;
    fprintf(out, "job %s: dataset %s, %zu column%s, %zu file%s, %llu "
            "records of %llu bytes\n", p->job.name, s->dataset, s->ncol,
            s->ncol == 1 ? "" : "s", s->nfiles, s->nfiles == 1 ? "" : "s",
            (unsigned long long)s->nrec,
            (unsigned long long)s->record_bytes);
    print_columns(s, out);
    for (size_t i = 0; i < s->nfiles; i++)
        fprintf(out, "  %s: %llu records, %s%s\n", s->file[i].path,
                (unsigned long long)s->file[i].nrec, s->file[i].layout,
                s->file[i].big_endian ? ", big-endian" : "");
    selread_print(&p->sel, out);
    fprintf(out, "partitions: %llu, up to %llu records (%llu bytes) each; "
            "%llu bytes in all\n", (unsigned long long)p->plan.nparts,
            (unsigned long long)p->plan.max_part_records,
            (unsigned long long)p->plan.max_part_bytes,
            (unsigned long long)(s->nrec * s->record_bytes));
    fputs("reduce:", out);
    for (size_t i = 0; p->job.ops[i]; i++)    /* with those implied by */
        fprintf(out, " %s", p->job.ops[i]);  /* histogram/quantile keys */
    if (p->job.axis_records)
        fprintf(out, ", axis records, one value per record over its %llu "
                "cells (%llu records)\n", (unsigned long long)p->shape.ncell,
                (unsigned long long)s->nrec);
    else
        fprintf(out, ", axis %s, %llu cell%s per result\n",
                p->job.axis_all ? "all" : "0",
                (unsigned long long)p->shape.ncell,
                p->shape.ncell == 1 ? "" : "s");
    print_weights(p, out);
    if (p->plan.ntiles > 1)
        fprintf(out, "tiles: %llu along dim 1, %llu wide\n",
                (unsigned long long)p->plan.ntiles,
                (unsigned long long)p->plan.tile_width);
    if (s->nfiles && s->file[0].raw_filters && p->sel_off)
        fprintf(out, "decode: on rank 0 (%s)\n", p->sel_off);
    else if (s->nfiles && s->file[0].raw_filters)
        fprintf(out, "decode: %s\n", p->job.worker_decode
                ? "deflate/shuffle chunks on the workers (if any)"
                : "on rank 0 (worker_decode = off)");
    else
        fprintf(out, "decode: on rank 0 (not a deflate/shuffle-only chunked "
                "dataset read without conversion)\n");
    int size = p->size;
    if (size == 1)
        fprintf(out, "reading: %s\n", prep_twin_ok(p)
                ? "in two threads, each reading and reducing every other "
                  "partition"
                : prep_read_ahead_ok(p)
                ? "in a second thread, ahead of the reduction"
                : p->job.read_ahead ? "in turn with the reduction (one CPU)"
                                    : "in turn with the reduction "
                                      "(read_ahead = off)");
    print_nodes(p, out);
    if (p->node && p->node->nlocal) {
        print_worker_reads(p, out);
        fprintf(out, "transport: %s to the %d worker%s on rank 0's node\n",
                p->shared ? "shared-memory window" : "point to point",
                p->node->nlocal, p->node->nlocal == 1 ? "" : "s");
    }
    const char *why = prep_helps_not(&p->job, size);
    if (size > 1 && why)
        fprintf(out, "rank 0: reads and merges only (%s)\n", why);
    else if (size > 1)
        fprintf(out, "rank 0: also reduces a partition when every worker "
                "holds `prefetch` of them\n");
    if (tr_patient())
        fprintf(out, "waiting: rank 0 naps between polls for results (more "
                "ranks than CPUs on its node)\n");
    print_memory(p, out);
    fprintf(out, "output: %s\n", p->job.output);
    fprintf(out, "checkpoint: %s\n", p->ckpt_path);
}
