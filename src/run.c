/* run.c -- one h5batch run, from the command line to the results file.
 *
 * Rank 0 does everything that can fail on user input before any worker
 * does anything: command line, job file, input files, output directory,
 * plan.  It then sends every worker a SETUP message -- always, also when
 * it failed, with the exit status in it -- so no worker ever waits for a
 * rank 0 that has given up.  Workers rebuild the job from the entries in
 * SETUP through the same validation as the job file, run the worker loop
 * and exit with the status rank 0 gives them.
 */
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "h5util.h"
#include "job.h"
#include "master.h"
#include "table.h"
#include "output.h"
#include "plan.h"
#include "progress.h"
#include "results.h"
#include "source.h"
#include "summary.h"
#include "transport.h"
#include "version.h"
#include "wire.h"
#include "worker.h"

/* SETUP status telling workers to exit 0 without running (--help,
 * --version, --dry-run). */
#define SETUP_EXIT_OK 1000

struct prep {
    struct cli cli;
    struct job job;
    char **files;
    size_t nfiles;
    struct source src;
    struct plan plan;
    struct table table;
};

static const char *reduce_arg(const struct h5b_op_config *cfg,
                              const char *key)
{
    return job_get(cfg->arg_ctx, "reduce", key);
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
    if (job->axis_all)
        return;
    cfg->cell_rank = rank;
    for (int d = 0; d < rank; d++) {
        cfg->cell_dims[d] = dims[d];
        cfg->ncell *= dims[d];
    }
}

/* The table of columns with their operators (rank 0 and workers). */
static int build_table(struct table *t, uint32_t elem_bytes, uint64_t elems,
                       const struct column_desc *cols, size_t ncol,
                       const struct h5b_op_config *shape,
                       const char *const *ops, struct h5b_error *err)
{
    int rc = table_init(t, elem_bytes, elems, err);
    for (size_t i = 0; rc == 0 && i < ncol; i++)
        rc = table_add(t, &cols[i], shape, ops, err);
    return rc;
}

/* Rank 0: everything up to the plan.  Errors name what is wrong. */
static int prepare(struct prep *p, int argc, char **argv,
                   struct h5b_error *err)
{
    struct h5b_op_config shape;
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
        rc = job_expand_files(&p->job, &p->files, &p->nfiles, err);
    if (rc == 0)
        rc = output_check_dir(p->job.output, err);
    if (rc == 0)
        rc = source_open(&p->src, p->files, p->nfiles, p->job.dataset,
                         p->job.fields, p->job.cf, err);
    if (rc < 0)
        return rc;
    uint64_t *nrec = calloc(p->nfiles, sizeof *nrec);
    uint64_t *chunk0 = calloc(p->nfiles, sizeof *chunk0);
    for (size_t i = 0; nrec && chunk0 && i < p->nfiles; i++) {
        nrec[i] = p->src.file[i].nrec;
        chunk0[i] = p->src.file[i].chunk0;
    }
    rc = nrec && chunk0
         ? plan_build(&p->plan, nrec, chunk0, p->nfiles, p->src.record_bytes,
                      p->job.partition_bytes, PLAN_MAX_MESSAGE, err)
         : err_set(err, H5B_ERUN, "out of memory");
    free(nrec);
    free(chunk0);
    if (rc < 0)
        return err_prefix(err, rc, "dataset '%s'", p->job.dataset);
    op_shape(&shape, &p->job, p->src.rank - 1, p->src.dims + 1);
    return build_table(&p->table, p->src.elem_bytes, p->src.record_elems,
                       p->src.col, p->src.ncol, &shape, p->job.ops, err);
}

static void prep_free(struct prep *p)
{
    table_free(&p->table);
    source_close(&p->src);
    plan_free(&p->plan);
    job_free_files(p->files, p->nfiles);
    job_free(&p->job);
    cli_free(&p->cli);
}

/* Send SETUP to every worker: status, and when running, the job. */
static int send_setup(const struct prep *p, int size, int32_t status,
                      struct h5b_error *err)
{
    struct wire_setup s = {.status = status};
    if (status == 0) {
        const struct h5b_op_config *cfg = &p->table.col[0].set.cfg;
        s.elem_bytes = p->src.elem_bytes;
        s.elems = p->src.record_elems;
        s.ncol = p->src.ncol;
        s.cols = (struct column_desc *)p->src.col;
        s.ncell = cfg->ncell;
        s.cell_rank = (uint32_t)cfg->cell_rank;
        memcpy(s.cell_dims, cfg->cell_dims, sizeof s.cell_dims);
        s.max_payload = p->plan.max_part_records * p->plan.record_bytes;
        s.prefetch = (uint32_t)p->job.prefetch;
        s.entries = p->job.entries;
        s.nentries = p->job.nentries;
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

/* One line per column: name, type, and what CF does to it. */
static void print_columns(const struct source *s, FILE *out)
{
    for (size_t i = 0; i < s->ncol; i++) {
        const struct column_desc *c = &s->col[i];
        fprintf(out, "  column %s: %s", c->name, h5util_type_name(c->type));
        if (c->cf.flags)
            fprintf(out, ", CF:%s%s%s%s%s", c->cf.flags & CF_FILL ?
                    " _FillValue" : "", c->cf.flags & CF_MISSING ?
                    " missing_value" : "", c->cf.flags & CF_VMIN ?
                    " valid_min" : "", c->cf.flags & CF_VMAX ? " valid_max"
                    : "", c->cf.flags & CF_SCALE ? " scale/offset" : "");
        fputc('\n', out);
    }
    if (s->skipped[0])
        fprintf(out, "  skipped non-numeric fields: %s\n", s->skipped);
}

static void print_plan(const struct prep *p, FILE *out)
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
    fprintf(out, "partitions: %llu, up to %llu records (%llu bytes) each; "
            "%llu bytes in all\n", (unsigned long long)p->plan.nparts,
            (unsigned long long)p->plan.max_part_records,
            (unsigned long long)(p->plan.max_part_records *
                                 p->plan.record_bytes),
            (unsigned long long)(s->nrec * s->record_bytes));
    fprintf(out, "reduce: %s, axis %s, %llu cell%s per result\n",
            job_get(&p->job, "reduce", "ops"), p->job.axis_all ? "all" : "0",
            (unsigned long long)p->table.col[0].set.cfg.ncell,
            p->table.col[0].set.cfg.ncell == 1 ? "" : "s");
    fprintf(out, "output: %s\n", p->job.output);
}

/* Reduce, then write the results file and the summary. */
static int execute(struct prep *p, int size, struct h5b_error *err)
{
    struct progress prog;
    struct table_partial acc;
    struct results rs = {0};
    struct run_info in = {0};
    struct master_args a = {&p->table, &p->src, &p->plan, size - 1,
                            p->job.prefetch, &prog};
    in.bytes = p->src.nrec * p->src.record_bytes;
    output_now(in.started, sizeof in.started);
    progress_start(&prog, stderr, p->cli.quiet, in.bytes, p->plan.nparts);
    int rc = master_run(&a, &acc, err);
    if (rc < 0)
        return rc;
    rc = table_finalize(&p->table, &acc, &rs, err);
    table_destroy(&p->table, &acc);
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
    output_now(in.finished, sizeof in.finished);
    if (rc == 0)
        rc = output_write(p->job.output, &in, &rs, err);
    in.elapsed = progress_clock() - prog.t0;
    if (rc == 0) {
        progress_finish(&prog, in.bytes, size);
        (p->cli.json ? summary_json : summary_text)(stdout, &in, &rs);
    }
    results_free(&rs);
    return rc;
}

/* Rank 0's whole run; the exit status. */
static int run_master(int argc, char **argv, int size)
{
    struct prep p;
    struct h5b_error err = {""};
    memset(&p, 0, sizeof p);
    h5util_quiet();
    int rc = prepare(&p, argc, argv, &err);
    int quit = rc == 0 && (p.cli.help || p.cli.version || p.cli.dry_run);
    int32_t status = rc < 0 ? H5B_EXIT_CODE(rc) : quit ? SETUP_EXIT_OK : 0;
    if (send_setup(&p, size, status, &err) < 0 && rc == 0)
        rc = H5B_ERUN;
    if (rc == 0 && p.cli.help)
        cli_usage(stdout);
    else if (rc == 0 && p.cli.version)
        printf("h5batch %s\n", H5BATCH_VERSION);
    else if (rc == 0 && p.cli.dry_run)
        print_plan(&p, stdout);
    else if (rc == 0)
        rc = execute(&p, size, &err);
    if (rc < 0)
        fprintf(stderr, "h5batch: error: %s\n", err.msg);
    prep_free(&p);
    if (tr_broken())
        MPI_Abort(MPI_COMM_WORLD, 1);
    return H5B_EXIT_CODE(rc);
}

/* A worker's table from SETUP: the job through the same validation as
 * the job file, then the columns. */
static int worker_table(const struct wire_setup *s, struct job *job,
                        struct table *t, struct h5b_error *err)
{
    struct h5b_op_config shape;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->nentries; i++)
        rc = job_apply(job, s->entries[i].section, s->entries[i].key,
                       s->entries[i].value, "setup", err);
    if (rc == 0)
        rc = job_finish(job, err);
    if (rc < 0)
        return rc;
    op_shape(&shape, job, (int)s->cell_rank, s->cell_dims);
    if (shape.ncell != s->ncell)
        return err_set(err, H5B_ERUN, "setup: inconsistent shape");
    return build_table(t, s->elem_bytes, s->elems, s->cols, s->ncol, &shape,
                       job->ops, err);
}

/* A worker's whole run; the exit status. */
static int run_worker(struct h5b_error *err)
{
    struct tr_buf in = {0};
    struct wire_setup s;
    struct job job = {0};
    struct table table = {0};
    struct h5b_error setup_err = {""};
    int32_t status = 0;
    int rc = tr_recv(0, &in, NULL, err);
    if (rc == 0)
        rc = wire_decode_setup(in.data, in.len, &s, err);
    tr_buf_free(&in);
    if (rc < 0)
        return rc;
    if (s.status != 0) {
        wire_setup_free(&s);
        return s.status == SETUP_EXIT_OK ? 0 : s.status;
    }
    int bad = worker_table(&s, &job, &table, &setup_err) < 0;
    rc = worker_run(&table, WIRE_WORK_HEADER + (size_t)s.max_payload,
                    (int)s.prefetch, bad ? setup_err.msg : NULL, &status,
                    err);
    table_free(&table);
    wire_setup_free(&s);
    job_free(&job);
    return rc < 0 ? rc : status;
}

int run(int argc, char **argv)
{
    struct h5b_error err = {""};
    int rank = 0, size = 1;
    if (tr_init(&rank, &size, &err) < 0) {
        fprintf(stderr, "h5batch: error: %s\n", err.msg);
        return 1;
    }
    if (rank == 0)
        return run_master(argc, argv, size);
    int rc = run_worker(&err);
    if (rc < 0 || tr_broken()) {
        fprintf(stderr, "h5batch: rank %d: error: %s\n", rank, err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return rc;
}
