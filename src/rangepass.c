/* rangepass.c -- the histogram range pass (see rangepass.h). */
#include "rangepass.h"

#include <math.h>
#include <string.h>

#include "err.h"

int rangepass_needed(const struct job *job)
{
    const char *r = job_get(job, "reduce", "histogram_range");
    for (size_t i = 0; job->ops[i]; i++)
        if (strcmp(job->ops[i], "histogram") == 0)
            return !r || strcmp(r, "auto") == 0;
    return 0;
}

/* The job of the first pass: the same input, only min and max; group_by
 * stays, since the records read carry its keys: per-key minima and
 * maxima (of which set_ranges takes the extremes), whether the keys are a
 * table's key columns or a climatology's. */
static int range_job(const struct job *job, struct job *j1,
                     struct h5b_error *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < job->nentries; i++) {
        const struct job_entry *e = &job->entries[i];
        if (strcmp(e->section, "reduce") != 0 || strcmp(e->key, "ddof") == 0 ||
            strcmp(e->key, "group_by") == 0 || strcmp(e->key, "max_keys") == 0)
            rc = job_apply(j1, e->section, e->key, e->value, "pass 1", err);
    }
    if (rc == 0)
        rc = job_apply(j1, "reduce", "ops", "min max", "pass 1", err);
    return rc == 0 ? job_finish(j1, err) : rc;
}

/* numpy's range for a histogram of values from lo to hi (NaN: none). */
static void range_text(double lo, double hi, char *out, size_t n)
{
    if (isnan(lo) || isnan(hi)) {
        lo = 0.0;
        hi = 1.0;
    } else if (lo == hi) {
        lo -= 0.5;
        hi += 0.5;
    }
    snprintf(out, n, "%.17g, %.17g", lo, hi);
}

/* Each column's histogram range from the first pass's min and max (the
 * whole column's, or with group_by those of every key). */
static void set_ranges(struct prep *p, const struct results *rs)
{
    for (size_t i = 0; i < p->src.ncol; i++) {
        struct column_desc *c = &p->src.col[i];
        const struct result *mn = results_find(rs, c->name, "min");
        const struct result *mx = results_find(rs, c->name, "max");
        if (!mn || !mx) {
            mn = results_find(rs, c->name, "groupby/min");
            mx = results_find(rs, c->name, "groupby/max");
        }
        double lo = NAN, hi = NAN;
        for (uint64_t j = 0; mn && mx && j < mn->nelem; j++) {
            double a = results_value(mn, j), b = results_value(mx, j);
            lo = isnan(lo) || a < lo ? a : lo;
            hi = isnan(hi) || b > hi ? b : hi;
        }
        range_text(lo, hi, c->hist_range, sizeof c->hist_range);
    }
}

int rangepass_run(struct prep *p, int size, struct progress *prog,
                  struct h5b_error *err)
{
    struct job j1 = {0};
    struct results rs = {0};
    p->t0 = progress_clock();
    int rc = range_job(&p->job, &j1, err);
    if (rc == 0)
        rc = prep_tables(p, &j1, err);
    if (prep_send_setup(p, &j1, size, rc < 0 ? H5B_EXIT_CODE(rc) : 0, err) < 0)
        rc = H5B_ERUN;
    progress_start(prog, stderr, p->cli.quiet,
                   p->src.nrec * p->src.record_bytes, p->plan.nparts);
    if (rc == 0)
        rc = prep_reduce_all(p, size, 1, prog, &rs, err);
    if (rc == 0)
        set_ranges(p, &rs);
    results_free(&rs);
    job_free(&j1);
    p->timing.range = progress_clock() - p->t0;
    return rc;
}
