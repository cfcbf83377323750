/* run.c -- one h5batch run, from the command line to the results file.
 *
 * Rank 0 does everything that can fail on user input before any worker
 * does anything: command line, job file, input files, output directory,
 * plan.  It then sends every worker a SETUP message -- always, also when
 * it failed, with the exit status in it -- so no worker ever waits for a
 * rank 0 that has given up.  Workers rebuild the job from the entries in
 * SETUP through the same validation as the job file, run the worker loop
 * and exit with the status rank 0 gives them.  What --dry-run prints is
 * dryrun.c; the histogram range pass is rangepass.c; the state the three
 * share is prep.h.
 */
#include "run.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "dryrun.h"
#include "err.h"
#include "filecheck.h"
#include "h5util.h"
#include "interrupt.h"
#include "job.h"
#include "master.h"
#include "memlimits.h"
#include "memrun.h"
#include "table.h"
#include "output.h"
#include "plan.h"
#include "plugin.h"
#include "progress.h"
#include "readahead.h"
#include "rangepass.h"
#include "results.h"
#include "samefile.h"
#include "source.h"
#include "cftime.h"
#include "timekey.h"
#include "summary.h"
#include "transport.h"
#include "weightsread.h"
#include "wire.h"
#include "worker.h"
#include "wreader.h"

/* Operator arguments: a plugin's come from its [plugin NAME] section,
 * the built-ins' from [reduce]. */
static const char *reduce_arg(const struct h5b_op_config *cfg,
                              const char *key)
{
    const struct job *job = cfg->arg_ctx;
    char section[160];
    if (cfg->op_name && job_is_plugin(job, cfg->op_name)) {
        snprintf(section, sizeof section, "plugin %s", cfg->op_name);
        return strcmp(key, "library") ? job_get(job, section, key) : NULL;
    }
    return job_get(job, "reduce", key);
}

/* The operator configuration for records of elements shaped
 * dims[0..rank) (the column's type is filled in by the table). */
static void op_shape(struct h5b_op_config *cfg, const struct job *job,
                     int rank, const uint64_t *dims)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->ncell = 1;
    cfg->arg = reduce_arg;
    cfg->arg_ctx = job;
    cfg->per_record = job->axis_records;
    if (job->axis_all)
        return;
    cfg->cell_rank = rank;
    for (int d = 0; d < rank; d++) {
        cfg->cell_dims[d] = dims[d];
        cfg->ncell *= dims[d];
    }
}

/* The table of columns with their operators for records of `elems`
 * elements shaped like `shape`, or for tiles of `width` indices along the
 * first cell dimension of length dim1 (width 0: whole records). */
static int build_table(struct table *t, uint32_t elem_bytes, uint64_t elems,
                       const struct column_desc *cols, size_t ncol,
                       const struct h5b_op_config *shape, uint64_t width,
                       uint64_t dim1, const struct job *job,
                       struct h5b_error *err)
{
    struct h5b_op_config tile = *shape;
    if (width) {
        elems = elems / dim1 * width;
        tile.ncell = tile.ncell / dim1 * width;
        tile.cell_dims[0] = width;
    }
    int rc = table_init(t, elem_bytes, elems, err);
    for (size_t i = 0; rc == 0 && i < ncol; i++)
        rc = table_add(t, &cols[i], &tile, job->ops, err);
    if (rc == 0)
        rc = table_group(t, job->ops, job->ddof, job->exact,
                         job_get(job, "reduce", "group_by"), err);
    t->gb.max_keys = job->max_keys;
    t->kc.max_keys = job->max_keys;
    return rc;
}

/* Both tables of a run: t[0] for whole records or full tiles of
 * tile_width, t[1] for a short last tile (left empty if none). */
static int build_tables(struct table t[2], uint32_t elem_bytes,
                        uint64_t elems, const struct column_desc *cols,
                        size_t ncol, const struct h5b_op_config *shape,
                        uint64_t tile_width, uint64_t dim1,
                        const struct job *job, struct h5b_error *err)
{
    int rc = build_table(&t[0], elem_bytes, elems, cols, ncol, shape,
                         tile_width, dim1, job, err);
    if (rc == 0 && tile_width && dim1 % tile_width)
        rc = build_table(&t[1], elem_bytes, elems, cols, ncol, shape,
                         dim1 % tile_width, dim1, job, err);
    return rc;
}

/* Pointers to the tables for master/worker: [1] NULL when unused. */
static void table_ptrs(struct table t[2], struct table *out[2])
{
    out[0] = &t[0];
    out[1] = t[1].ncol ? &t[1] : NULL;
}

/* The plan's tile width, or 0 when records are not split. */
static uint64_t tile_width(const struct plan *plan)
{
    return plan->ntiles > 1 ? plan->tile_width : 0;
}

/* [input] select: resolve it against the opened source; a strided
 * selection reads through HDF5 on rank 0 only (p->sel_off says so). */
static int apply_select(struct prep *p, struct h5b_error *err)
{
    const char *text = job_get(&p->job, "input", "select");
    if (!text)
        return 0;
    int rc = selread_resolve(&p->sel, &p->src, p->job.dataset, text, err);
    if (rc < 0)
        return rc;
    p->src.stride0 = p->sel.range[0].stride;
    for (int d = 1; d < p->src.rank; d++)
        if (p->sel.selected[d])
            source_restrict(&p->src, d, p->sel.range[d].first,
                            p->sel.range[d].count, p->sel.range[d].stride);
    if (p->src.inner_select)
        p->sel_off = "a selection along dims >= 1 is read through HDF5 "
                     "on rank 0";
    else if (p->src.stride0 > 1)
        p->sel_off = "a strided selection is read through HDF5 on rank 0";
    if (p->sel_off) {
        p->job.worker_reads = JOB_READS_OFF;
        p->job.worker_decode = 0;
    }
    return 0;
}

/* group_by = time.PART: the coordinate's units and calendar, refused
 * here with the file and path named (every rank parses them again as its
 * tables are built, where only the coordinate's name is known). */
static int check_time_key(struct prep *p, struct h5b_error *err)
{
    const struct column_desc *d = &p->src.col[p->src.ncol - 1];
    const char *gb = job_get(&p->job, "reduce", "group_by");
    char what[1200];
    snprintf(what, sizeof what, "%s: %s", p->files[0], p->time_path);
    p->time_part = cftime_group_part(gb, NULL);
    return cftime_parse(&p->tc, d->time_units, d->calendar, what, err);
}

/* [reduce] weights: the weight of each value of a (selected) record. */
static int apply_weights(struct prep *p, struct h5b_error *err)
{
    if (!p->job.weights)
        return 0;
    int rc = weightsread_resolve(&p->src, &p->sel, p->job.dataset,
                                 p->job.weights, &p->weights, &p->nweights,
                                 err);
    if (rc == 0 && p->nweights != p->src.record_elems)
        rc = err_set(err, H5B_ERUN, "[reduce] weights = %s: %llu weights "
                     "for records of %llu values", p->job.weights,
                     (unsigned long long)p->nweights,
                     (unsigned long long)p->src.record_elems);
    return rc;
}

/* Plan the partitions of the opened source (of its selected records);
 * the source's record count becomes theirs.  Records with a group_by key
 * are split in tiles like any other (group_by on a field): every tile
 * carries the records' keys after its values (tiling.tail_bytes). */
static int make_plan(struct prep *p, struct h5b_error *err)
{
    struct source *s = &p->src;
    struct plan_tiling tiling = {s->rank > 1 ? s->dims[1] : 1,
                                 s->nfiles ? s->file[0].chunk1 : 0,
                                 s->key_bytes};
    struct plan_select sel = {p->sel.first, p->sel.range[0].stride};
    uint64_t *nrec = calloc(p->nfiles ? p->nfiles : 1, sizeof *nrec);
    uint64_t *chunk0 = calloc(p->nfiles ? p->nfiles : 1, sizeof *chunk0);
    for (size_t i = 0; nrec && chunk0 && i < p->nfiles; i++) {
        nrec[i] = p->sel.active ? p->sel.nrec[i] : s->file[i].nrec;
        chunk0[i] = s->file[i].chunk0;
    }
    int rc = nrec && chunk0
         ? plan_build_sel(&p->plan, nrec, chunk0, p->nfiles,
                          s->record_bytes + s->key_bytes,
                          p->job.partition_bytes, PLAN_MAX_MESSAGE,
                          p->job.axis_all || p->job.axis_records
                          ? NULL : &tiling,
                          p->sel.active ? &sel : NULL, err)
         : err_set(err, H5B_ERUN, "out of memory");
    if (rc == 0)
        s->nrec = p->plan.nrec;
    free(nrec);
    free(chunk0);
    return rc < 0 ? err_prefix(err, rc, "dataset '%s'", p->job.dataset) : 0;
}

/* Refuse a histogram whose counts over all cells (all tiles) would take
 * more than OP_HIST_MAX_BYTES. */
static int check_histogram(const struct job *job, uint64_t ncell,
                           struct h5b_error *err)
{
    const char *b = job_get(job, "reduce", "histogram_bins");
    uint64_t bins = b ? (uint64_t)atol(b) : 64;
    int wanted = 0;
    for (size_t i = 0; job->ops[i]; i++)
        wanted |= strcmp(job->ops[i], "histogram") == 0;
    if (!wanted || ncell <= OP_HIST_MAX_BYTES / 8 / (bins + 2))
        return 0;
    return err_set(err, H5B_EINPUT, "[reduce] histogram_bins: %llu bins for "
                   "each of %llu cells need more than the %llu MiB limit; "
                   "use fewer bins or axis = all",
                   (unsigned long long)bins, (unsigned long long)ncell,
                   (unsigned long long)(OP_HIST_MAX_BYTES >> 20));
}

/* A hash of everything a checkpoint depends on: the job's settings after
 * overrides (but [run], which does not change results), each input
 * file's size and modification time, the dataset's shape and columns,
 * and the plan. */
static uint64_t fingerprint(const struct prep *p)
{
    uint64_t h = CKPT_FNV_INIT;
    for (size_t i = 0; i < p->job.nentries; i++) {
        const struct job_entry *e = &p->job.entries[i];
        if (strcmp(e->section, "run") == 0)
            continue;
        h = ckpt_hash(h, e->section, strlen(e->section) + 1);
        h = ckpt_hash(h, e->key, strlen(e->key) + 1);
        h = ckpt_hash(h, e->value, strlen(e->value) + 1);
    }
    for (size_t i = 0; i < p->nfiles; i++) {
        const struct source_file *f = &p->src.file[i];
        uint64_t v[3] = {f->bytes, (uint64_t)f->mtime_s,
                         (uint64_t)f->mtime_ns};
        h = ckpt_hash(h, p->files[i], strlen(p->files[i]) + 1);
        h = ckpt_hash(h, v, sizeof v);
    }
    const struct source *s = &p->src;
    uint64_t shape[3] = {(uint64_t)s->rank, s->record_bytes, s->ncol};
    h = ckpt_hash(h, shape, sizeof shape);
    h = ckpt_hash(h, s->dims, (size_t)s->rank * sizeof *s->dims);
    for (size_t i = 0; i < s->ncol; i++) {
        uint64_t c[2] = {(uint64_t)s->col[i].type, s->col[i].offset};
        h = ckpt_hash(h, s->col[i].name, strlen(s->col[i].name) + 1);
        h = ckpt_hash(h, c, sizeof c);
    }
    uint64_t plan[3] = {p->plan.nparts, p->plan.ntiles, p->plan.tile_width};
    h = ckpt_hash(h, plan, sizeof plan);
    /* the weights' values (a changed weights file changes results) */
    h = ckpt_hash(h, &p->nweights, sizeof p->nweights);
    return p->nweights ? ckpt_hash(h, p->weights, p->nweights * 8) : h;
}

/* --resume: read and check the checkpoint (its accumulators are decoded
 * when the run starts); it also restores histogram ranges.  No checkpoint
 * at all (a run stopped before it could write one) starts from the
 * beginning, with a note. */
static int read_resume(struct prep *p, struct h5b_error *err)
{
    if (access(p->ckpt_path, F_OK) != 0 && errno == ENOENT) {
        fprintf(stderr, "h5batch: --resume: no checkpoint %s, starting "
                "from the beginning\n", p->ckpt_path);
        return 0;
    }
    struct ckpt_info expect = {p->fingerprint, p->plan.nparts, 0,
                               p->plan.ntiles};
    int rc = ckpt_read_file(p->ckpt_path, SIZE_MAX / 2, &p->ckpt,
                            &p->ckpt_len, err);
    if (rc == 0)
        rc = ckpt_peek(p->ckpt, p->ckpt_len, &expect, &p->resumed,
                       p->src.col, p->src.ncol, err);
    return rc < 0 ? err_prefix(err, H5B_EINPUT, "--resume: %s",
                               p->ckpt_path) : 0;
}

/* The checkpoint's path: [run] checkpoint, or the output's + ".ckpt". */
static void set_ckpt_path(struct prep *p)
{
    const char *ck = job_get(&p->job, "run", "checkpoint");
    snprintf(p->ckpt_path, sizeof p->ckpt_path, "%s%s", ck ? ck : p->job.output,
             ck ? "" : ".ckpt");
}

/* The files this run writes, for the checks of samefile.h. */
static void write_targets(const struct prep *p, struct samefile_target t[2])
{
    t[0] = (struct samefile_target){p->job.output, "the output"};
    t[1] = (struct samefile_target){p->ckpt_path, "the checkpoint"};
}

/* Refuse to write an input: the output or the checkpoint is the same
 * file as an input, or they are the same file. */
static int check_writes(const struct prep *p, struct h5b_error *err)
{
    struct samefile_target t[2];
    write_targets(p, t);
    return samefile_check(t, 2, p->files, p->nfiles, p->job.files, err);
}

/* --dry-run: warn about a file this run writes that an input pattern
 * matches, since a rerun would read it as an input and refuse to run. */
static void warn_rerun(const struct prep *p)
{
    struct samefile_target t[2];
    char pattern[1024];
    write_targets(p, t);
    for (int i = 0; i < 2; i++)
        if (samefile_pattern(p->job.files, t[i].path, pattern,
                             sizeof pattern) == 0)
            fprintf(stderr, "h5batch: warning: %s '%s' matches files = %s: "
                    "a rerun would read it as an input and refuse to run\n",
                    t[i].what, t[i].path, pattern);
}

/* Rank 0: everything up to the plan.  Errors name what is wrong. */
static int prepare(struct prep *p, int argc, char **argv,
                   struct h5b_error *err)
{
    struct source_opts opts = {NULL, 0, NULL, 0};
    int rc = cli_parse(&p->cli, argc, argv, err);
    if (rc < 0 || p->cli.help || p->cli.version)
        return rc;
    rc = job_load(&p->job, p->cli.jobfile, err);
    for (int i = 0; rc == 0 && i < p->cli.nsets; i++)
        rc = job_override(&p->job, p->cli.sets[i], err);
    if (rc == 0 && p->cli.output)
        rc = job_apply(&p->job, "output", "file", p->cli.output, "-o", err);
    if (rc == 0)
        rc = job_finish(&p->job, err);
    if (rc == 0)
        rc = plugin_load_all(&p->job, err);
    if (rc == 0)
        rc = job_expand_files(&p->job, &p->files, &p->nfiles, err);
    if (rc == 0)
        set_ckpt_path(p);
    if (rc == 0)
        rc = check_writes(p, err);
    if (rc == 0)
        rc = output_check_dir(p->job.output, err);
    opts = (struct source_opts){p->job.fields, p->job.cf,
                                job_get(&p->job, "reduce", "group_by"), 0};
    if (rc == 0 && p->nfiles)
        rc = timekey_opts(p->files[0], p->job.dataset, &opts, p->time_path,
                          sizeof p->time_path, err);
    if (rc == 0)
        rc = source_open(&p->src, p->files, p->nfiles, p->job.dataset,
                         &opts, err);
    if (rc == 0 && opts.key_time)
        rc = check_time_key(p, err);
    if (rc == 0)
        rc = apply_select(p, err);
    if (rc == 0)
        rc = apply_weights(p, err);
    if (rc == 0)
        rc = make_plan(p, err);
    if (rc < 0)
        return rc;
    p->fingerprint = fingerprint(p);
    op_shape(&p->shape, &p->job, p->src.rank - 1, p->src.dims + 1);
    p->shape.weights = p->weights;
    p->shape.nweights = p->nweights;
    return check_histogram(&p->job, p->shape.ncell, err);
}

/* Create and free one partial of t, so that an operator refusing its
 * arguments (a plugin's, say) is a job-file error on rank 0, exit 2,
 * before any data is read. */
static int try_create(const struct table *t, struct h5b_error *err)
{
    struct table_partial tp;
    int rc = table_create(t, &tp, err);
    if (rc < 0)
        return H5B_EINPUT;
    table_destroy(t, &tp);
    return 0;
}

/* Rank 0's tables for running the operators of `job` (p->job, or the
 * first pass's) over p's source and plan; group-by tables capped at the
 * keys that fit the memory limit when check_memory found one. */
int prep_tables(struct prep *p, const struct job *job,
                       struct h5b_error *err)
{
    struct h5b_op_config shape = p->shape;
    shape.arg_ctx = job;
    for (int k = 0; k < 2; k++) {
        table_free(&p->table[k]);
        table_free(&p->twin[k]);
    }
    int rc = build_tables(p->table, p->src.elem_bytes, p->src.record_elems,
                          p->src.col, p->src.ncol, &shape,
                          tile_width(&p->plan), p->plan.dim1, job, err);
    if (rc == 0 && prep_twin_ok(p))
        rc = build_tables(p->twin, p->src.elem_bytes, p->src.record_elems,
                          p->src.col, p->src.ncol, &shape,
                          tile_width(&p->plan), p->plan.dim1, job, err);
    if (p->memjob.keys_fit_limit)
        p->table[0].gb.mem_keys = p->table[1].gb.mem_keys =
            p->memjob.max_keys;
    return rc == 0 ? try_create(&p->table[0], err) : rc;
}

static void prep_free(struct prep *p)
{
    free(p->reads);
    free(p->timing.file_reads);
    filecheck_free(&p->fc);
    nodes_free(&p->solo);
    free(p->timing.busy);
    free(p->timing.idle);
    free(p->timing.rss);
    free(p->ckpt);
    free(p->weights);
    for (int k = 0; k < 2; k++) {
        table_free(&p->table[k]);
        table_free(&p->twin[k]);
    }
    source_close(&p->src);
    selread_free(&p->sel);
    plan_free(&p->plan);
    job_free_files(p->files, p->nfiles);
    job_free(&p->job);
    cli_free(&p->cli);
}

/* Send SETUP to every worker: status, and when running, the job. */
int prep_send_setup(const struct prep *p, const struct job *job, int size,
                      int32_t status, struct h5b_error *err)
{
    struct wire_setup s = {.status = status};
    if (status == 0) {
        const struct h5b_op_config *cfg = &p->shape;
        s.elem_bytes = p->src.elem_bytes;
        s.elems = p->src.record_elems;
        s.ncol = p->src.ncol;
        s.cols = (struct column_desc *)p->src.col;
        s.ncell = cfg->ncell;
        s.cell_rank = (uint32_t)cfg->cell_rank;
        memcpy(s.cell_dims, cfg->cell_dims, sizeof s.cell_dims);
        s.max_payload = p->plan.max_part_bytes;
        s.tile_width = tile_width(&p->plan);
        s.dim1 = p->plan.dim1;
        s.prefetch = (uint32_t)job->prefetch;
        s.shared = (uint32_t)p->shared;
        s.entries = job->entries;
        s.nentries = job->nentries;
        s.weights = p->weights;
        s.nweights = p->nweights;
    }
    size_t n = wire_setup_size(&s);
    unsigned char *buf = malloc(n);
    int rc = buf ? 0 : err_set(err, H5B_ERUN, "out of memory");
    if (buf)
        wire_encode_setup(buf, &s);
    for (int w = 1; rc == 0 && w < size; w++)
        rc = tr_send(buf, n, w, err);
    free(buf);
    return rc;
}

/* Whether rank 0, working alone, reads in a second thread: the job allows
 * it, MPI allows threads (main asks for MPI_THREAD_FUNNELED) and the
 * process may use two CPUs or more -- on one CPU the threads would only
 * take turns. */
int prep_read_ahead_ok(const struct prep *p)
{
    const struct job *job = &p->job;
    return job->read_ahead && p->threads &&
           readahead_cpus() >= 2;
}

/* Rank 0 alone with read-ahead has two CPUs: the second thread, instead
 * of only reading, reads and reduces every other partition (its own
 * tables, master.c), and the main thread merges in order.  Only for the
 * built-in operators: a plugin's may keep state of its own that two
 * threads would share.  Group-by and climatologies too: their merge is
 * the job's cost, but the tables the second thread builds meanwhile are
 * not.  Nor when its partials do not fit the memory limit
 * (check_memory). */
int prep_twin_ok(const struct prep *p)
{
    return p->size == 1 && prep_read_ahead_ok(p) && p->job.nplugins == 0 &&
           !p->twin_off;
}

/* Why rank 0, with workers, does not reduce a partition itself when
 * every worker is full, or NULL when it does: the job allows it, a worker
 * holds two partitions or more (so it still has one queued while rank 0
 * computes) and rank 0's node has a CPU for every rank (else rank 0 would
 * take a worker's). */
const char *prep_helps_not(const struct job *job, int size)
{
    return size < 2 ? "no workers"
           : !job->rank0_reduces ? "rank0_reduces = off"
           : job->prefetch < 2 ? "prefetch is 1"
           : tr_patient() ? "more ranks than CPUs" : NULL;
}

static int helps_ok(const struct job *job, int size)
{
    return prep_helps_not(job, size) == NULL;
}

/* master_args.helps for this run.  For the tests of this path,
 * H5BATCH_TEST_RANK0_REDUCES=eager makes rank 0 help at every chance,
 * even on a crowded node. */
static int helps_mode(const struct job *job, int size)
{
    const char *hook = getenv("H5BATCH_TEST_RANK0_REDUCES");
    if (hook && strcmp(hook, "eager") == 0 && size > 1 &&
        job->rank0_reduces)
        return MASTER_HELPS_EAGER;
    return helps_ok(job, size) ? MASTER_HELPS_AUTO : MASTER_HELPS_OFF;
}

/* How many workers may read their partitions themselves (p->reads). */
int prep_count_readers(const struct prep *p)
{
    int n = 0;
    for (int w = 1; p->reads && w < p->size; w++)
        n += p->reads[w] != 0;
    return n;
}

/* master_args.direct for this run.  For the tests of the path of workers
 * on other nodes, H5BATCH_TEST_WORKERS_REMOTE=1 makes rank 0 read every
 * partition for the workers with worker_reads = auto, as it does for
 * those. */
static int direct_mode(const struct prep *p)
{
    const char *hook = getenv("H5BATCH_TEST_WORKERS_REMOTE");
    if (!p->job.worker_reads || p->size < 2 || prep_count_readers(p) == 0)
        return MASTER_DIRECT_OFF;
    if (p->job.worker_reads == JOB_READS_ALL)
        return MASTER_DIRECT_ALL;
    return hook && strcmp(hook, "1") == 0 ? MASTER_DIRECT_REMOTE
                                          : MASTER_DIRECT_AUTO;
}

/* p->reads: with auto the workers on rank 0's node (for the files that
 * allow it, master.c); with all those on nodes that passed the check. */
static int set_reads(struct prep *p, struct h5b_error *err)
{
    p->reads = calloc((size_t)p->size, 1);
    if (!p->reads)
        return err_set(err, H5B_ERUN, "out of memory");
    for (int w = 1; w < p->size; w++)
        p->reads[w] = p->job.worker_reads == JOB_READS_ALL
                      ? p->fc.reads && p->fc.reads[w]
                      : p->job.worker_reads == JOB_READS_AUTO &&
                        p->node->local && p->node->local[w];
    return 0;
}

/* worker_reads = all: check that every node sees rank 0's files
 * (filecheck.h) and say on stderr which do not. */
static int check_files(struct prep *p, struct h5b_error *err)
{
    char ranks[256];
    if (p->job.worker_reads != JOB_READS_ALL || p->size < 2)
        return 0;
    int rc = filecheck_master(p->nodes, p->files, p->nfiles, &p->fc, err);
    for (int k = 0; rc == 0 && k < p->nodes->count; k++) {
        if (p->fc.same[k] != 0)
            continue;
        nodes_ranks_text(p->nodes, k, ranks, sizeof ranks);
        fprintf(stderr, "h5batch: warning: node %s (ranks %s) does not see "
                "the same input files as rank 0 (%s); rank 0 reads their "
                "partitions for its workers\n", p->nodes->host[k], ranks,
                p->fc.why[k]);
    }
    return rc;
}

/* Results of every tile's accumulator, assembled into rs. */
static int finalize_tiles(const struct master_args *a,
                          const struct table_partial *acc,
                          struct results *rs, struct h5b_error *err)
{
    const struct plan *plan = a->plan;
    if (plan->ntiles == 1)
        return table_finalize(a->tables[0], &acc[0], rs, err);
    int rc = 0;
    for (uint64_t t = 0; rc == 0 && t < plan->ntiles; t++) {
        struct results part = {0};
        int last = t == plan->ntiles - 1 && a->tables[1];
        rc = table_finalize(a->tables[last], &acc[t], &part, err);
        if (rc == 0)
            rc = results_stitch(rs, &part, t * plan->tile_width, plan->dim1,
                                err);
        results_free(&part);
    }
    return rc;
}

/* master_args.save: write acc, holding partitions [0, merged), as the
 * checkpoint of the run p. */
static int save_checkpoint(void *ctx, struct table_partial *acc,
                           uint64_t merged, struct h5b_error *err)
{
    struct prep *p = ctx;
    struct ckpt_info info = {p->fingerprint, p->plan.nparts, merged,
                             p->plan.ntiles};
    struct ckpt_tables tt = {{&p->table[0], p->table[1].ncol ? &p->table[1]
                                                             : NULL},
                             p->plan.ntiles};
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = ckpt_encode(&info, &tt, acc, p->src.col, p->src.ncol, &buf,
                         &len, err);
    if (rc == 0)
        rc = ckpt_write_file(p->ckpt_path, buf, len, err);
    free(buf);
    return rc;
}

/* The accumulators of the checkpoint being resumed, and where to go on. */
static int load_accs(struct prep *p, struct master_args *a,
                     struct table_partial *acc, struct h5b_error *err)
{
    struct ckpt_tables tt = {{a->tables[0], a->tables[1]}, p->plan.ntiles};
    int rc = ckpt_decode_tiles(p->ckpt, p->ckpt_len, &tt, acc, err);
    if (rc < 0)
        return err_prefix(err, rc, "%s", p->ckpt_path);
    a->start = p->resumed.merged;
    uint64_t base = 0;
    for (uint64_t i = 0; i < a->start; i++) {
        struct partition part;
        plan_get(&p->plan, i, &part);
        base += part.bytes;
    }
    progress_resume(a->prog, base);
    return 0;
}

/* Run every partition through the workers (or alone) with p's tables
 * and put the results into rs.  more: the workers will get another
 * SETUP after this pass -- the histogram range pass, which range_pass
 * times as a whole, so only the last pass fills p->timing's parts. */
int prep_reduce_all(struct prep *p, int size, int more,
                      struct progress *prog, struct results *rs,
                      struct h5b_error *err)
{
    struct master_args a = {.src = &p->src, .plan = &p->plan,
                            .nworkers = size - 1, .prefetch = p->job.prefetch,
                            .node = p->node, .shared = p->shared,
                            .worker_decode = p->job.worker_decode && size > 1,
                            .direct = direct_mode(p), .reads = p->reads,
                            .read_ahead = size == 1 && prep_read_ahead_ok(p),
                            .helps = helps_mode(&p->job, size),
                            .more = more, .prog = prog,
                            .timing = more ? NULL : &p->timing};
    struct table_partial *acc = calloc(p->plan.ntiles, sizeof *acc);
    table_ptrs(p->table, a.tables);
    if (p->twin[0].ncol)
        table_ptrs(p->twin, a.twin);
    if (!more) {
        a.ckpt_every = p->job.checkpoint_every;
        a.save = save_checkpoint;
        a.save_ctx = p;
    }
    int rc = !acc ? err_set(err, H5B_ERUN, "out of memory")
             : !more && p->ckpt ? load_accs(p, &a, acc, err)
                                : master_create_accs(&a, acc, err);
    int made = rc == 0;
    rc = master_run(&a, acc, rc, err);
    if (rc == 0)
        rc = finalize_tiles(&a, acc, rs, err);
    if (made)
        master_free_accs(&a, acc, p->plan.ntiles);
    free(acc);
    return rc;
}

/* axis = records: the results lie along dim 0, whose coordinate values
 * are copied from the one input file at the selection's first index and
 * stride (of several files, the dimension has no coordinate variable). */
static void records_axis(const struct prep *p, struct run_info *in,
                         uint64_t *first, uint64_t *step)
{
    for (int d = 0; d < H5B_MAX_RANK; d++) {
        first[d] = p->src.inner_select ? p->src.first[d] : 0;
        step[d] = p->src.inner_select ? p->src.step[d] : 0;
    }
    first[0] = p->sel.active ? p->sel.range[0].first : 0;
    step[0] = p->sel.active ? p->sel.range[0].stride : 0;
    in->in_first = first;
    in->in_step = step;
    in->records = p->nfiles == 1 ? 1 : 2;
}

/* axis = records over several files: the selected records' coordinate
 * values, gathered from each file (NULL when some file has none). */
static int records_values(const struct prep *p, struct run_info *in,
                          double **values, struct h5b_error *err)
{
    *values = NULL;
    if (!p->job.axis_records || p->nfiles < 2)
        return 0;
    int rc = selread_record_values(&p->sel, &p->src, p->job.dataset, values,
                                   &in->rec_len, err);
    in->rec_values = *values;
    return rc;
}

/* Reduce, then write the results file and the summary. */
static int execute(struct prep *p, int size, struct progress *prog,
                   struct h5b_error *err)
{
    struct results rs = {0};
    struct run_info in = {0};
    p->timing.nworkers = size - 1;
    p->timing.busy = calloc((size_t)size, sizeof *p->timing.busy);
    p->timing.idle = calloc((size_t)size, sizeof *p->timing.idle);
    p->timing.rss = calloc((size_t)size, sizeof *p->timing.rss);
    p->timing.file_reads = calloc((size_t)size, sizeof *p->timing.file_reads);
    if (!p->timing.busy || !p->timing.idle || !p->timing.rss)
        p->timing.nworkers = 0;
    in.timing = &p->timing;
    in.bytes = p->src.nrec * p->src.record_bytes;
    output_now(in.started, sizeof in.started);
    progress_start(prog, stderr, p->cli.quiet, in.bytes, p->plan.nparts);
    if (p->t0 == 0)
        p->t0 = prog->t0;
    int rc = prep_reduce_all(p, size, 0, prog, &rs, err);
    in.job_name = p->job.name;
    in.job_text = p->job.text;
    in.dataset = p->job.dataset;
    in.output = p->job.output;
    in.inputs = p->files;
    in.ninputs = p->nfiles;
    in.rows = p->src.nrec;
    in.partitions = p->plan.nparts;
    in.skipped = p->src.skipped;
    in.ranks = size;
    in.mem = &p->mem;
    in.nodes = p->nodes;
    in.shm = p->shared ? p->node->local : NULL;
    in.files_same = p->fc.same;
    in.in_rank = p->src.rank;
    uint64_t stored[H5B_MAX_RANK];
    for (int d = 0; d < p->src.rank; d++)
        stored[d] = p->src.stored[d] ? p->src.stored[d] : p->src.dims[d];
    in.in_dims = stored;
    in.in_first = p->src.inner_select ? p->src.first : NULL;
    in.in_step = p->src.inner_select ? p->src.step : NULL;
    uint64_t rfirst[H5B_MAX_RANK], rstep[H5B_MAX_RANK];
    if (p->job.axis_records)
        records_axis(p, &in, rfirst, rstep);
    in.compound = p->src.compound;
    in.axis_all = p->job.axis_all;
    double *rec_values = NULL;
    if (rc == 0)
        rc = records_values(p, &in, &rec_values, err);
    output_now(in.finished, sizeof in.finished);
    if (rc == 0)
        rc = output_write(p->job.output, &in, &rs, err);
    free(rec_values);
    if (rc == 0)
        unlink(p->ckpt_path);
    in.elapsed = progress_clock() - p->t0;
    if (rc == 0)
        progress_finish(prog, in.bytes, size);
    in.rss = memlimits_peak_rss();
    if (rc == 0 && p->cli.json)
        rc = summary_json(stdout, &in, &rs, err);
    else if (rc == 0)
        summary_text(stdout, &in, &rs);
    results_free(&rs);
    return rc;
}

/* group_by on a field: its distinct keys for the memory plan (0 when
 * not keyed, or for a key the tables will refuse anyway: not a number). */
static int count_keyed(struct prep *p, struct h5b_error *err)
{
    const struct source *s = &p->src;
    const struct column_desc *d = s->ncol ? &s->col[s->ncol - 1] : NULL;
    if (!s->key_bytes || (s->record_elems < 2 && !s->key_time) ||
        s->nkeyds != 1 || (d->type & TABLE_STRING))
        return 0;
    return timekey_count(s, s->key_time ? p->time_part : -1, &p->tc,
                         &p->memjob.keyed_keys, err);
}

/* Plan every rank's memory and refuse, before anything is read, a run
 * that would not fit the limits (memplan.h, memlimits.h).  Without
 * [reduce] max_keys, group-by accumulators are bounded by the records:
 * when those do not fit, rank 0's tables are capped at the keys that do
 * (memplan_key_cap), and one key more ends the run with a message. */
static int check_memory(struct prep *p, struct h5b_error *err)
{
    struct memrun_layout lay = {p->size, p->node ? p->node->nlocal + 1 : 1,
                                p->shared, helps_mode(&p->job, p->size)
                                           != MASTER_HELPS_OFF,
                                p->size == 1 && prep_read_ahead_ok(p),
                                prep_twin_ok(p), p->shape.ncell,
                                prep_count_readers(p)};
    struct memplan_job checked;
    struct memplan mem;
    memrun_job(&p->job, &p->src, &p->plan, &lay, &p->memjob);
    memlimits_read(&p->limits, p->job.memory_limit, lay.node_ranks);
    p->memjob.base = p->limits.rss_base;
    int rc = count_keyed(p, err);
    if (rc < 0)
        return rc;
    uint64_t cap = memplan_key_cap(&p->memjob, &p->limits);
    if (cap) {
        p->memjob.max_keys = cap;
        p->memjob.keys_fit_limit = 1;
    }
    memplan_build(&p->memjob, &p->mem);
    checked = p->memjob;
    if (checked.grouped && !checked.max_keys)
        checked.max_keys = checked.part_records ? checked.part_records : 1;
    memplan_build(&checked, &mem);
    rc = memplan_check(&mem, &checked, &p->limits, err);
    if (rc < 0 && checked.twin) {
        p->twin_off = 1;    /* read ahead only, if that fits */
        return check_memory(p, err);
    }
    return rc;
}

/* p->nodes: every rank's node from shm_node_init, or this one alone. */
static int set_nodes(struct prep *p, struct h5b_error *err)
{
    char host[NODES_HOST_MAX] = "";
    if (p->node->nodes.count) {
        p->nodes = &p->node->nodes;
        return 0;
    }
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "localhost");
    p->nodes = &p->solo;
    return nodes_single(&p->solo, p->size, host, err);
}

/* Rank 0's whole run; the exit status.  Without MPI (mpi == 0, size 1)
 * nothing here reaches an MPI call: SETUP goes to no worker and the
 * partitions are reduced here (master_run with no workers). */
static int run_master(int argc, char **argv, int size, int mpi, int threads,
                      const struct shm_node *node)
{
    struct prep p;
    struct progress prog;
    struct h5b_error err = {""};
    memset(&p, 0, sizeof p);
    p.node = node;
    p.size = size;
    p.threads = threads;
    h5util_quiet();
    int rc = prepare(&p, argc, argv, &err);
    p.shared = rc == 0 && p.job.shared_memory && node->nlocal > 0;
    if (rc == 0)
        rc = set_nodes(&p, &err);
    if (rc == 0)
        rc = check_files(&p, &err);
    if (rc == 0)
        rc = set_reads(&p, &err);
    int planned = rc == 0;  /* --dry-run shows even a refused plan */
    if (rc == 0)
        rc = check_memory(&p, &err);
    int quit = rc == 0 && p.cli.dry_run;
    int setup_sent = 0;
    if (rc == 0 && !quit && p.cli.resume)
        rc = read_resume(&p, &err);
    if (rc == 0 && !quit && !p.ckpt && rangepass_needed(&p.job)) {
        rc = rangepass_run(&p, size, &prog, &err);
        setup_sent = rc < 0;
    }
    if (rc == 0 && !quit)
        rc = prep_tables(&p, &p.job, &err);
    int32_t status = rc < 0 ? H5B_EXIT_CODE(rc) : quit ? WIRE_SETUP_QUIT : 0;
    if (!setup_sent && prep_send_setup(&p, &p.job, size, status, &err) < 0 &&
        rc == 0)
        rc = H5B_ERUN;
    if (p.cli.dry_run && planned)
        dryrun_print(&p, stdout);
    if (rc == 0 && p.cli.dry_run)
        warn_rerun(&p);
    else if (rc == 0)
        rc = execute(&p, size, &prog, &err);
    if (rc == H5B_EINTR)
        fprintf(stderr, "h5batch: %s (%s)\n", err.msg, p.ckpt_path);
    else if (rc < 0)
        fprintf(stderr, "h5batch: error: %s\n", err.msg);
    prep_free(&p);
    if (mpi && tr_broken())
        MPI_Abort(MPI_COMM_WORLD, 1);
    return H5B_EXIT_CODE(rc);
}

/* A worker's tables from SETUP: the job through the same validation as
 * the job file, then the columns. */
static int worker_tables(const struct wire_setup *s, struct job *job,
                         struct table t[2], struct h5b_error *err)
{
    struct h5b_op_config shape;
    int rc = 0;
    /* Plugin sections first: ops may name them. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; rc == 0 && i < s->nentries; i++)
            if ((strncmp(s->entries[i].section, "plugin ", 7) == 0) == !pass)
                rc = job_apply(job, s->entries[i].section, s->entries[i].key,
                               s->entries[i].value, "setup", err);
    if (rc == 0)
        rc = job_finish(job, err);
    if (rc == 0)
        rc = plugin_load_all(job, err);
    if (rc < 0)
        return rc;
    op_shape(&shape, job, (int)s->cell_rank, s->cell_dims);
    shape.weights = s->nweights ? s->weights : NULL;
    shape.nweights = s->nweights;
    if ((job->weights != NULL) != (s->nweights != 0) ||
        (s->nweights && s->nweights != s->elems))
        return err_set(err, H5B_ERUN, "setup: %llu weights for records of "
                       "%llu values", (unsigned long long)s->nweights,
                       (unsigned long long)s->elems);
    if (shape.ncell != s->ncell || (s->tile_width && (s->cell_rank < 1 ||
        s->dim1 != s->cell_dims[0] || s->tile_width >= s->dim1)))
        return err_set(err, H5B_ERUN, "setup: inconsistent shape");
    return build_tables(t, s->elem_bytes, s->elems, s->cols, s->ncol, &shape,
                        s->tile_width, s->dim1, job, err);
}

/* Receive the next SETUP into *in; before it, with worker_reads = all,
 * the file check (filecheck.h), which fills rd. */
static int recv_setup(const struct shm_node *node, struct wreader *rd,
                      struct tr_buf *in, struct h5b_error *err)
{
    int kind = 0;
    struct h5b_error e;
    int rc = tr_recv(0, in, NULL, err);
    if (rc == 0 && wire_peek(in->data, in->len, &kind, &e) == 0 &&
        kind == WIRE_FILES) {
        rc = filecheck_worker(in->data, in->len, node->checker, &rd->files,
                              &rd->reads, err);
        if (rc == 0)
            rc = tr_recv(0, in, NULL, err);
    }
    return rc;
}

/* One SETUP and the work after it.  *status gets the exit status or
 * WIRE_STOP_MORE when another SETUP follows. */
static int serve_setup(const struct shm_node *node, struct wreader *rd,
                       int32_t *status, struct h5b_error *err)
{
    struct tr_buf in = {0};
    struct wire_setup s;
    struct job job = {0};
    struct table table[2];
    struct table *tables[2];
    struct worker_reader ops;
    struct h5b_error setup_err = {""};
    int rc = recv_setup(node, rd, &in, err);
    if (rc == 0)
        rc = wire_decode_setup(in.data, in.len, &s, err);
    tr_buf_free(&in);
    if (rc < 0)
        return rc;
    if (s.status != 0) {
        *status = s.status == WIRE_SETUP_QUIT ? 0 : s.status;
        wire_setup_free(&s);
        return 0;
    }
    memset(table, 0, sizeof table);
    int bad = worker_tables(&s, &job, table, &setup_err) < 0 ||
              wreader_open(rd, &job, &setup_err) < 0;
    table_ptrs(table, tables);
    rc = worker_run(tables, s.tile_width,
                    WIRE_WORK_HEADER + (size_t)s.max_payload,
                    (int)s.prefetch, s.shared && node->with_rank0 ? node : NULL,
                    wreader_ops(rd, &ops), bad ? setup_err.msg : NULL, status,
                    err);
    table_free(&table[0]);
    table_free(&table[1]);
    wire_setup_free(&s);
    job_free(&job);
    return rc;
}

/* A worker's whole run; the exit status. */
static int run_worker(const struct shm_node *node, struct h5b_error *err)
{
    int32_t status = WIRE_STOP_MORE;
    struct wreader rd;
    int rc = 0;
    wreader_init(&rd);
    while (rc == 0 && status == WIRE_STOP_MORE)
        rc = serve_setup(node, &rd, &status, err);
    wreader_close(&rd);
    return rc < 0 ? rc : status;
}

int run(int argc, char **argv, int mpi)
{
    struct h5b_error err = {""};
    struct shm_node node = {0};
    int rank = 0, size = 1, level = MPI_THREAD_SINGLE, rc;
    if (!mpi)
        return run_master(argc, argv, 1, 0, 1, &node);
    MPI_Query_thread(&level);
    if (tr_init(&rank, &size, &err) < 0 ||
        (size > 1 && shm_node_init(&node, rank, size, &err) < 0) ||
        (size > 1 && tr_node_init(node.comm, &err) < 0)) {
        fprintf(stderr, "h5batch: rank %d: error: %s\n", rank, err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    interrupt_install(rank == 0);
    if (rank == 0) {
        rc = run_master(argc, argv, size, 1, level >= MPI_THREAD_FUNNELED,
                        &node);
    } else {
        rc = run_worker(&node, &err);
        if (rc < 0 || tr_broken()) {
            fprintf(stderr, "h5batch: rank %d: error: %s\n", rank, err.msg);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    if (size > 1)
        shm_node_free(&node);
    return rc;
}
