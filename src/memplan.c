/* memplan.c -- each rank's peak memory, and the check (see memplan.h). */
#include "memplan.h"

#include <string.h>

#include "err.h"
#include "gbdist.h"
#include "groupby.h"
#include "hugepage.h"
#include "op.h"

const char *memplan_size(uint64_t bytes, char *buf, size_t n)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(buf, n, "%llu bytes", (unsigned long long)bytes);
        return buf;
    }
    double v = (double)bytes / 1024;
    int u = 0;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    snprintf(buf, n, v < 10 ? "%.1f %s" : "%.0f %s", v, unit[u]);
    return buf;
}

const char *memplan_part_name(int p)
{
    static const char *const name[MP_NPARTS] = {
        "partition buffers", "shared-memory window", "decode scratch",
        "moments", "histogram counts", "quantile sketches",
        "group-by tables"};
    return p >= 0 && p < MP_NPARTS ? name[p] : "?";
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* a * b and a + b, UINT64_MAX when they overflow: a dataset's header may
 * claim any size, and a wrapped figure would pass the check. */
static uint64_t mul(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sum_parts(const struct memplan_rank *r)
{
    uint64_t t = 0;
    for (int p = 0; p < MP_NPARTS; p++)
        t = add(t, r->part[p]);
    return t;
}

/* A partition buffer's share of the shared window (64-byte aligned). */
static uint64_t stride(const struct memplan_job *j)
{
    return add(j->slot_bytes, 63) & ~(uint64_t)63;
}

/* Add n partials of up to `records` records each to r's states; as
 * encoded RESULTs when `encoded` (a histogram's counts then travel
 * sparse when fewer are nonzero; the others encode at about their
 * size). */
static void add_partials(struct memplan_rank *r, const struct memplan_job *j,
                         uint64_t n, uint64_t records, int encoded)
{
    uint64_t keys = j->max_keys ? min64(records, j->max_keys) : records;
    uint64_t *part = r->part;
    if (j->grouped) {
        /* per-key distributions: their stores (gbd_bytes); the whole
         * column's histogram and sketch run beside */
        size_t nst = (size_t)(j->histogram != 0) + (j->quantiles != 0);
        uint64_t dist = add(gbd_bytes(keys, records, j->ncol, nst),
                            mul(j->ncol, add(j->histogram
                                ? op_hist_bytes(1, j->bins) : 0,
                                j->quantiles ? op_quantile_bytes(1) : 0)));
        part[MP_GROUPBY] = add(part[MP_GROUPBY],
                               mul(n, add(add(gb_bytes(keys, j->ncol, j->exact),
                                              gb_key_extra(keys, j->key_bytes)),
                                          nst ? dist : 0)));
    } else {
        uint64_t per = mul(mul(n, j->ncol), j->keyed_keys
                           ? min64(records, j->keyed_keys) : 1);
        if (j->per_record)
            part[MP_MOMENTS] = add(part[MP_MOMENTS],
                                   mul(per, op_records_bytes(records)));
        else if (j->moments)
            part[MP_MOMENTS] = add(part[MP_MOMENTS],
                                   mul(per, add(op_moments_bytes(j->ncell,
                                                                 j->exact),
                                       j->weights ? op_weighted_bytes(j->ncell)
                                                  : 0)));
        if (j->histogram)
            part[MP_HIST] = add(part[MP_HIST], mul(per, encoded
                ? op_hist_encoded_bytes(j->ncell, j->bins, records)
                : op_hist_bytes(j->ncell, j->bins)));
        if (j->quantiles)
            part[MP_QUANT] = add(part[MP_QUANT],
                                 mul(per, op_quantile_bytes(j->ncell)));
    }
    r->nstates = add(r->nstates, n);
}

static void add_states(struct memplan_rank *r, const struct memplan_job *j,
                       uint64_t n, uint64_t records)
{
    add_partials(r, j, n, records, 0);
}

/* Scratch of one partition for a table of several columns, and of
 * `chunks` decoded chunks when this rank decodes (memplan.h). */
static uint64_t table_scratch(const struct memplan_job *j, int decodes,
                              uint64_t chunks)
{
    return add(j->ncol > 1 ? j->slot_bytes : 0,
               decodes ? mul(chunks, j->chunk_bytes) : 0);
}

/* Rank 0: its buffers (or the window), accumulators, merge window. */
static void plan_rank0(const struct memplan_job *j, struct memplan *m)
{
    struct memplan_rank *r = &m->rank0;
    add_states(r, j, j->ntiles, j->records ? j->records : 1);
    if (j->nworkers == 0) {
        m->slots = j->read_ahead ? 2 : 1;
        r->part[MP_BUFFERS] = mul(m->slots, j->slot_bytes);
        r->part[MP_SCRATCH] = mul(j->twin ? 2 : 1,
                                  table_scratch(j, j->rank0_decodes, 3));
        add_states(r, j, j->twin ? 3 : 1, j->part_records);
        return;
    }
    m->slots = add(mul((uint64_t)j->nworkers, (uint64_t)j->prefetch),
                   1 + (j->helps != 0));
    uint64_t W = m->slots < 4 ? 16 : mul(m->slots, 4);
    if (j->shared) {
        m->window = mul(m->slots, stride(j));
        r->part[MP_WINDOW] = m->window;
    } else {
        r->part[MP_BUFFERS] = mul(m->slots, j->slot_bytes);
    }
    if (j->helps)
        r->part[MP_SCRATCH] = table_scratch(j, j->chunk_bytes != 0, 3);
    else if (j->rank0_decodes)
        r->part[MP_SCRATCH] = mul(3, j->chunk_bytes);
    /* the merge window's partials and the RESULT being decoded */
    add_states(r, j, add(min64(W, j->nparts), 1), j->part_records);
}

/* Each worker: receive buffers, values, one partial, the result ring. */
static void plan_worker(const struct memplan_job *j, struct memplan *m)
{
    struct memplan_rank *r = &m->worker;
    if (j->nworkers == 0)
        return;
    r->part[MP_BUFFERS] = mul((uint64_t)j->prefetch, j->slot_bytes);
    r->part[MP_SCRATCH] = add(j->worker_values
                              ? hugepage_buffer_bytes(j->slot_bytes) : 0,
                              table_scratch(j, j->workers_decode ||
                                               j->workers_read,
                                            j->workers_read ? 3 : 2));
    /* the partial being reduced, and the ring of prefetch+1 RESULTs */
    add_states(r, j, 1, j->part_records);
    add_partials(r, j, (uint64_t)j->prefetch + 1, j->part_records, 1);
}

/* Bytes of rank 0's results: 8 per value of every output. */
static uint64_t results_bytes(const struct memplan_job *j, uint64_t keys)
{
    uint64_t per = (uint64_t)j->moment_outputs +
                   (j->histogram ? add(j->bins, 2) : 0) + j->nq;
    /* key bytes: in each column's group, and copied once more to be
     * written as strings */
    /* per-key histograms and quantiles are dense: keys x (bins + nq) */
    if (j->grouped)
        return add(add(mul(mul(keys, 1 + j->ncol * ((uint64_t)j->moment_outputs +
                                                    1)), 8),
                       mul(mul(keys, j->key_bytes), (j->ncol ? j->ncol : 1) + 1)),
                   mul(mul(mul(keys, j->ncol),
                           add(j->histogram ? j->bins : 0, j->nq)), 8));
    return mul(mul(mul(j->ncol, j->ncell_all), mul(per, 8)),
               j->keyed_keys ? j->keyed_keys : 1);
}

/* The states rank 0 keeps to the end: the accumulators. */
static uint64_t acc_bytes(const struct memplan_job *j)
{
    struct memplan_rank r;
    memset(&r, 0, sizeof r);
    add_states(&r, j, j->ntiles, j->records ? j->records : 1);
    return sum_parts(&r);
}

#define PAGE 4096

/* What rank 0 and each worker touch of what they allocate (memplan.h). */
static void plan_resident(const struct memplan_job *j, struct memplan *m)
{
    struct memplan_rank *w = &m->worker;
    uint64_t held = add(m->rank0.part[MP_WINDOW], m->rank0.part[MP_BUFFERS]);
    uint64_t own = j->helps ? stride(j) : 0;    /* rank 0 reduces in one */
    uint64_t touched = add(mul(m->slots, PAGE), own);
    m->rank0.resident = m->rank0.total;
    if (j->direct && j->nworkers && held > touched)
        m->rank0.resident -= held - touched;
    if (!j->nworkers)
        return;
    w->resident = w->total - w->part[MP_BUFFERS];
    if (j->shared && !j->direct)
        w->resident = add(w->resident, m->window - own);
    else if (j->shared || j->direct)
        w->resident = add(w->resident, (uint64_t)j->prefetch * PAGE);
    else
        w->resident = add(w->resident, w->part[MP_BUFFERS]);
}

void memplan_build(const struct memplan_job *j, struct memplan *m)
{
    memset(m, 0, sizeof *m);
    m->keys = j->grouped ? (j->max_keys ? min64(j->records, j->max_keys)
                                        : j->records) : j->keyed_keys;
    plan_rank0(j, m);
    plan_worker(j, m);
    m->rank0.part[MP_SCRATCH] = add(m->rank0.part[MP_SCRATCH], j->weights);
    if (j->nworkers)
        m->worker.part[MP_SCRATCH] = add(m->worker.part[MP_SCRATCH],
                                         j->weights);
    struct memplan_rank *r = &m->rank0;
    r->running = add(j->base, sum_parts(r));
    r->results = results_bytes(j, m->keys);
    r->ending = add(j->base, add(acc_bytes(j), r->results));
    r->ending = r->ending > add(j->base, mul(3, r->results))
                ? r->ending : add(j->base, mul(3, r->results));
    r->total = r->running > r->ending ? r->running : r->ending;
    if (j->nworkers)
        m->worker.running = m->worker.total = add(j->base,
                                                  sum_parts(&m->worker));
    plan_resident(j, m);
}

/* One rank's line and its parts. */
static void print_rank(const char *who, const struct memplan_rank *r,
                       uint64_t base, FILE *out)
{
    char b[32], t[32];
    fprintf(out, "  %s: %s", who, memplan_size(r->total, b, sizeof b));
    if (r->resident != r->total)
        fprintf(out, ", about %s resident",
                memplan_size(r->resident, t, sizeof t));
    const char *sep = " (";
    if (base) {
        fprintf(out, " (at start %s", memplan_size(base, b, sizeof b));
        sep = ", ";
    }
    for (int p = 0; p < MP_NPARTS; p++)
        if (r->part[p]) {
            fprintf(out, "%s%s %s", sep, memplan_part_name(p),
                    memplan_size(r->part[p], b, sizeof b));
            sep = ", ";
        }
    fprintf(out, "%s%llu partial%s held)\n", sep,
            (unsigned long long)r->nstates, r->nstates == 1 ? "" : "s");
    if (r->ending > r->running)
        fprintf(out, "    at the end: %s (results %s, beside the "
                "accumulators, then written through an in-memory file)\n",
                memplan_size(r->ending, b, sizeof b),
                memplan_size(r->results, t, sizeof t));
}

void memplan_print(const struct memplan *m, const struct memplan_job *j,
                   FILE *out)
{
    char b[32];
    fputs("memory (peak, allocated; the limits are checked on it):\n", out);
    print_rank("rank 0", &m->rank0, j->base, out);
    if (j->nworkers)
        print_rank(j->nworkers == 1 ? "the worker" : "each worker",
                   &m->worker, j->base, out);
    if (m->window)
        fprintf(out, "  shared memory on rank 0's node: %s (in rank 0's "
                "figure)\n", memplan_size(m->window, b, sizeof b));
    if (j->grouped)
        fprintf(out, "  group-by tables: up to %llu keys (%s)\n",
                (unsigned long long)m->keys, j->keys_fit_limit
                ? "what fits the limit below; more is an error"
                : j->max_keys ? "[reduce] max_keys" : "the records");
    if (j->keyed_keys)
        fprintf(out, "  group_by on a field: %llu keys, each with the "
                "operators' state of every cell\n",
                (unsigned long long)j->keyed_keys);
}

/* What to change for part p. */
static const char *advice(int p)
{
    switch (p) {
    case MP_HIST:
        return "lower [reduce] histogram_bins or use [reduce] axis = all";
    case MP_QUANT:
        return "use [reduce] axis = all or drop quantiles";
    case MP_MOMENTS:
        return "use [reduce] axis = all or ask for fewer outputs";
    case MP_GROUPBY:
        return "lower [reduce] max_keys or [input] partition_size";
    case MP_WINDOW:
        return "lower [run] prefetch or [input] partition_size, or set "
               "[run] shared_memory = off";
    default:
        return "lower [run] prefetch or [input] partition_size";
    }
}

/* The largest part of r. */
static int largest(const struct memplan_rank *r)
{
    int best = 0;
    for (int p = 1; p < MP_NPARTS; p++)
        if (r->part[p] > r->part[best])
            best = p;
    return best;
}

/* The figure of part p of rank `who` into buf; solo: rank 0 alone, whose
 * buffers do not depend on prefetch. */
static void figure(const struct memplan_rank *r, int p, const char *who,
                   int solo, char *buf, size_t n)
{
    char b[32], t[32];
    memplan_size(r->part[p], b, sizeof b);
    memplan_size(r->total, t, sizeof t);
    if (p == MP_BUFFERS && solo)
        snprintf(buf, n, "partition buffers = %s %s (%s in all)", b, who, t);
    else if (p == MP_BUFFERS || p == MP_WINDOW)
        snprintf(buf, n, "partition_size x prefetch = %s of %s %s (%s in "
                 "all)", b, p == MP_WINDOW ? "shared-memory window"
                 : "buffers", who, t);
    else
        snprintf(buf, n, "%s = %s %s (%llu partial%s; %s in all)",
                 memplan_part_name(p), b, who,
                 (unsigned long long)r->nstates, r->nstates == 1 ? "" : "s",
                 t);
}

/* Check one rank's total against limit. */
static int check_rank(const struct memplan_rank *r, const char *who,
                      int solo, uint64_t limit, const char *what,
                      struct h5b_error *err)
{
    char fig[256], b[32], t[32];
    if (r->total <= limit)
        return 0;
    int p = largest(r);
    if (r->ending > r->running && r->results > r->part[p]) {
        snprintf(fig, sizeof fig, "the results = %s %s, %s at their peak "
                 "(beside the accumulators, or built into an in-memory file "
                 "and copied)", memplan_size(r->results, t, sizeof t), who,
                 memplan_size(r->ending, b, sizeof b));
        p = r->part[MP_HIST] ? MP_HIST : r->part[MP_QUANT] ? MP_QUANT
            : r->part[MP_GROUPBY] ? MP_GROUPBY : MP_MOMENTS;
    } else {
        figure(r, p, who, solo, fig, sizeof fig);
    }
    const char *todo = p == MP_BUFFERS && solo
                       ? "lower [input] partition_size (or set [run] "
                         "read_ahead = off)" : advice(p);
    return err_set(err, H5B_EINPUT, "memory: %s; a rank may use %s (%s); "
                   "%s", fig, memplan_size(limit, b, sizeof b), what, todo);
}

int memplan_check(const struct memplan *m, const struct memplan_job *j,
                  const struct memlimits *l, struct h5b_error *err)
{
    char what[256], b[32], w[32];
    uint64_t limit = memlimits_rank(l, what, sizeof what);
    int rc = j->nworkers ? check_rank(&m->worker, "per worker", 0,
                                      limit, what, err) : 0;
    if (rc == 0)
        rc = check_rank(&m->rank0, "on rank 0", j->nworkers == 0, limit,
                        what, err);
    if (rc < 0 && j->keyed_keys)
        err_prefix(err, rc, "group_by: %llu keys x %llu cells",
                   (unsigned long long)j->keyed_keys,
                   (unsigned long long)j->ncell_all);
    if (rc == 0 && m->window > l->shm_free)
        rc = err_set(err, H5B_EINPUT, "memory: partition_size x prefetch = "
                     "%s of shared-memory window on rank 0's node; "
                     "/dev/shm has %s free; %s",
                     memplan_size(m->window, w, sizeof w),
                     memplan_size(l->shm_free, b, sizeof b),
                     advice(MP_WINDOW));
    return rc;
}

/* Whether the plan of j with its accumulators capped at k keys fits l. */
static int fits_with_keys(const struct memplan_job *j,
                          const struct memlimits *l, uint64_t k)
{
    struct memplan_job c = *j;
    struct memplan m;
    struct h5b_error ignored;
    c.max_keys = k;
    memplan_build(&c, &m);
    return memplan_check(&m, &c, l, &ignored) == 0;
}

uint64_t memplan_key_cap(const struct memplan_job *j,
                         const struct memlimits *l)
{
    uint64_t lo = j->part_records ? j->part_records : 1, hi = j->records;
    if (!j->grouped || j->max_keys || hi <= lo ||
        fits_with_keys(j, l, hi) || !fits_with_keys(j, l, lo))
        return 0;
    while (hi - lo > 1) {       /* lo fits, hi does not */
        uint64_t mid = lo + (hi - lo) / 2;
        if (fits_with_keys(j, l, mid))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}
