/* master.c -- rank 0: read partitions, hand them out, merge partials in order.
 *
 * Rank 0 reads each partition straight into the buffer it sends (a WORK
 * header then the raw values), from a fixed pool of nworkers*prefetch+1
 * buffers (+1 when rank 0 helps, below): one more than can be in flight,
 * so the next partition is read while the workers compute.  With a shared
 * pool (shm.h) the buffers are in memory the workers on rank 0's node
 * map: those get only the header, and the buffer stays theirs until their
 * RESULT comes back.  With worker_decode, partitions of deflate/shuffle
 * datasets are read as their stored chunks and decoded by the worker
 * (chunkdec.h).  With `direct`, a partition of a contiguous dataset
 * stored as read (source_direct) is staged unread: a worker on rank 0's
 * node gets the file's path and the byte offset and reads the values
 * itself (fileread.h); one on another node gets them read here when it
 * is dispatched.  With MASTER_DIRECT_ALL (worker_reads = all) every
 * partition is staged as a read request (wire_read: file, first record,
 * first column), whatever its layout, and the workers that see the same
 * files (master_args.reads) read it with their own HDF5 (and decode it);
 * for the others rank 0 reads it at dispatch, as above.  Scheduling is dynamic: a worker holds at most `prefetch`
 * partitions and gets the next when it returns a result.
 * With `helps`, rank 0 reduces a partition itself when every worker
 * already holds `prefetch` of them and no result is waiting: a worker
 * then still has partitions queued, so it does not idle while rank 0
 * computes, and rank 0 turns the time it would spend waiting into work.
 * Partials are merged strictly in partition order; ones that arrive early
 * wait in a window of W partitions, and nothing is dispatched beyond the
 * window, so memory stays bounded even when one worker is slow.  Merging
 * in a fixed order is what makes the result independent of the number of
 * ranks and of arrival order.
 *
 * Shutdown is the same on success and on failure: STOP to every worker,
 * then receive until each has answered DONE (its last message), then
 * complete our own sends.  No rank is left waiting on another.
 */
#include "master.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileread.h"
#include "h5util.h"
#include "hugepage.h"
#include "interrupt.h"
#include "readahead.h"
#include "transport.h"
#include "wire.h"

struct slot {
    unsigned char *buf;
    size_t len;             /* bytes of the message it holds */
    MPI_Request req;        /* MPI_REQUEST_NULL when not being sent */
    struct wire_work wk;    /* what it holds */
    int held;               /* a worker on the node reduces it in place */
    int unread;             /* staged as a file range, values not read */
};

struct pend {
    int have;
    struct table_partial p;
};

struct master {
    const struct master_args *a;
    struct slot *slot;
    int nslots, staged;     /* staged: slot read but not yet sent, or -1 */
    size_t slot_bytes;
    struct shm_pool pool;   /* the slots, when a->shared */
    int *out;               /* partitions outstanding per worker */
    int rr;                 /* where the next worker search starts */
    struct pend *win;
    uint64_t W, next_read, merged, done_bytes;
    uint64_t inflight;      /* dispatched, result not yet received */
    double read_s;          /* seconds reading, over `reads` partitions */
    uint64_t reads;
    double last_save;
    struct table_partial *acc;
    struct tr_buf in;
    struct fileread file;   /* for reads of the file itself */
};

/* Add the seconds since *t0 to *slot (if timing is on); restart *t0. */
static void spent(double *slot, double *t0)
{
    double now = progress_clock();
    if (slot)
        *slot += now - *t0;
    *t0 = now;
}

#define TIMING(a, field) ((a)->timing ? &(a)->timing->field : NULL)

/* The table for partition part: the short last tile has its own. */
static struct table *table_of(const struct master_args *a,
                              const struct partition *part)
{
    return a->plan->ntiles > 1 && part->ncols != a->plan->tile_width
           ? a->tables[1] : a->tables[0];
}

/* The table for partition number index. */
static struct table *table_at(const struct master_args *a, uint64_t index)
{
    struct partition part;
    plan_get(a->plan, index, &part);
    return table_of(a, &part);
}

/* Merge every partial that is next in order. */
static int merge_ready(struct master *m, struct h5b_error *err)
{
    const struct master_args *a = m->a;
    double t0 = progress_clock();
    while (m->merged < a->plan->nparts && m->win[m->merged % m->W].have) {
        struct pend *pd = &m->win[m->merged % m->W];
        struct partition part;
        plan_get(a->plan, m->merged, &part);
        int rc = table_merge(table_of(a, &part), &m->acc[part.tile], &pd->p,
                             err);
        table_destroy(table_of(a, &part), &pd->p);
        pd->have = 0;
        if (rc < 0)
            return rc;
        m->done_bytes += part.bytes;
        m->merged++;
        progress_update(a->prog, m->merged, m->done_bytes);
    }
    spent(TIMING(a, merge), &t0);
    return 0;
}

/* The worker that had partition idx in a shared slot is done with it. */
static void release(struct master *m, uint64_t idx)
{
    for (int s = 0; s < m->nslots; s++)
        if (m->slot[s].held && m->slot[s].wk.index == idx) {
            m->slot[s].held = 0;
            m->slot[s].wk.shm_pos = 0;
            shm_pool_sync(&m->pool);
        }
}

/* Accept a RESULT from worker `from`. */
static int on_result(struct master *m, int from, struct h5b_error *err)
{
    uint64_t idx;
    const unsigned char *state;
    size_t n;
    int rc = wire_decode_result(m->in.data, m->in.len, &idx, &state, &n,
                                err);
    if (rc == 0 && (idx < m->merged || idx >= m->next_read ||
                    m->win[idx % m->W].have))
        rc = err_set(err, H5B_ERUN, "rank %d returned partition %llu, "
                     "which is not outstanding", from,
                     (unsigned long long)idx);
    if (rc < 0)
        return rc;
    struct pend *pd = &m->win[idx % m->W];
    struct table *t = table_at(m->a, idx);
    rc = table_create(t, &pd->p, err);
    if (rc == 0)
        rc = table_decode(t, &pd->p, state, n, err);
    if (rc < 0) {
        table_destroy(t, &pd->p);
        return err_prefix(err, H5B_ERUN, "partial from rank %d", from);
    }
    pd->have = 1;
    release(m, idx);
    m->out[from - 1]--;
    m->inflight--;
    return merge_ready(m, err);
}

/* Receive one message from any worker and act on it. */
static int receive_one(struct master *m, struct h5b_error *err)
{
    char msg[WIRE_MAX_STRING + 1];
    int from = 0, kind = 0;
    int32_t code = 0;
    double t0 = progress_clock();
    int rc = tr_recv(MPI_ANY_SOURCE, &m->in, &from, err);
    spent(TIMING(m->a, wait), &t0);
    if (rc == 0)
        rc = wire_peek(m->in.data, m->in.len, &kind, err);
    if (rc < 0)
        return rc;
    if (kind == WIRE_RESULT)
        return on_result(m, from, err);
    if (kind == WIRE_ERROR &&
        wire_decode_error(m->in.data, m->in.len, &code, msg, sizeof msg,
                          err) == 0)
        return err_set(err, code == H5B_EINPUT ? H5B_EINPUT : H5B_ERUN,
                       "rank %d: %s", from, msg);
    return err_set(err, H5B_ERUN, "unexpected message of kind %d from "
                   "rank %d", kind, from);
}

/* Complete the sends that are done, freeing their slots. */
static int reap_sends(struct master *m, struct h5b_error *err)
{
    for (int s = 0; s < m->nslots; s++) {
        int done = 0;
        if (m->slot[s].req == MPI_REQUEST_NULL)
            continue;
        int rc = tr_check(MPI_Test(&m->slot[s].req, &done,
                                   MPI_STATUS_IGNORE), "test", err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A slot no send, worker or staging holds, or -1. */
static int idle_slot(const struct master *m)
{
    for (int s = 0; s < m->nslots; s++)
        if (s != m->staged && m->slot[s].req == MPI_REQUEST_NULL &&
            !m->slot[s].held)
            return s;
    return -1;
}

/* Whether the next partition may be read: one is left and it is inside
 * the window of partitions that may be unmerged. */
static int may_read(const struct master *m)
{
    return m->next_read < m->a->plan->nparts &&
           m->next_read < m->merged + m->W;
}

/* The free slot the next partition can be staged in, or -1 when all
 * are read, the window is full, one is staged, or every slot is busy. */
static int free_slot(const struct master *m)
{
    return m->staged < 0 && may_read(m) ? idle_slot(m) : -1;
}

/* Give slot s its buffer, if it has none yet. */
static int slot_buffer(struct master *m, int s, struct h5b_error *err)
{
    if (!m->slot[s].buf && !(m->slot[s].buf = malloc(m->slot_bytes)))
        return err_set(err, H5B_ERUN, "out of memory for a %zu-byte "
                       "partition buffer", m->slot_bytes);
    return 0;
}

/* Read the values of part into dst: from the file itself when a worker
 * could (source_direct), as HDF5 would read them; else through HDF5. */
static int read_values(struct master *m, const struct partition *part,
                       uint64_t ncols, unsigned char *dst,
                       struct h5b_error *err)
{
    const struct master_args *a = m->a;
    return source_read_values(a->src, a->direct ? &m->file : NULL,
                              part->file, part->start, part->count,
                              part->col0, ncols, dst, (size_t)part->bytes,
                              err);
}

/* Read partition idx into slot s; raw: as stored chunks, if the source
 * allows (then the worker decodes them). */
static int fill_slot(struct master *m, int s, uint64_t idx, int raw,
                     struct h5b_error *err)
{
    const struct master_args *a = m->a;
    struct partition part;
    int rc = slot_buffer(m, s, err);
    if (rc < 0)
        return rc;
    plan_get(a->plan, idx, &part);
    struct wire_work wk = {part.index, part.global_start, part.count,
                           a->plan->ntiles > 1 ? part.ncols : 0, part.bytes,
                           NULL, 0, 0, 0};
    unsigned char *dst = m->slot[s].buf + WIRE_WORK_HEADER;
    size_t got = 0;
    double t0 = progress_clock();
    rc = raw ? source_read_raw(a->src, part.file, part.start, part.count,
                                   part.col0, wk.ncols, dst,
                                   m->slot_bytes - WIRE_WORK_HEADER, &got,
                                   err)
                 : 0;
    if (rc == 1) {
        wk.form = WIRE_FORM_CHUNKS;
        wk.payload_len = got;
    } else if (rc == 0) {
        rc = read_values(m, &part, wk.ncols, dst, err);
    }
    m->read_s += progress_clock() - t0;
    m->reads++;
    spent(TIMING(a, read), &t0);
    if (rc < 0)
        return rc;
    m->slot[s].wk = wk;
    m->slot[s].len = WIRE_WORK_HEADER + (size_t)wk.payload_len;
    m->slot[s].unread = 0;
    return 0;
}

/* Read the next partition into slot s (see fill_slot). */
static int read_slot(struct master *m, int s, int raw, struct h5b_error *err)
{
    int rc = fill_slot(m, s, m->next_read, raw, err);
    if (rc == 0)
        m->next_read++;
    return rc;
}

/* Stage the next partition in slot s as a read request (wire_read) for
 * a worker that reads itself (MASTER_DIRECT_ALL). */
static int stage_request(struct master *m, int s, const struct partition *part,
                         struct h5b_error *err)
{
    int rc = slot_buffer(m, s, err);
    if (rc < 0)
        return rc;
    struct wire_work wk = {part->index, part->global_start, part->count,
                           m->a->plan->ntiles > 1 ? part->ncols : 0,
                           WIRE_READ_SIZE, NULL, 0, WIRE_FORM_READ, 0};
    struct wire_read r = {part->file, part->start, part->col0};
    wire_put_read(m->slot[s].buf + WIRE_WORK_HEADER, &r);
    m->slot[s].wk = wk;
    m->slot[s].len = WIRE_WORK_HEADER + WIRE_READ_SIZE;
    m->slot[s].unread = 1;
    m->next_read++;
    return 1;
}

/* Stage the next partition in slot s unread, when a worker may read it
 * itself: as a read request (MASTER_DIRECT_ALL), or as the path and
 * byte offset of its values for a worker on this node (a->direct,
 * source_direct).  1 if so, 0 if it must be read here. */
static int stage_unread(struct master *m, int s, struct h5b_error *err)
{
    const struct master_args *a = m->a;
    struct partition part;
    uint64_t pos;
    plan_get(a->plan, m->next_read, &part);
    if (a->direct == MASTER_DIRECT_ALL)
        return stage_request(m, s, &part, err);
    const char *path = a->src->file[part.file].path;
    size_t n = strlen(path);
    if (!a->direct || n > WIRE_MAX_STRING ||
        n > m->slot_bytes - WIRE_WORK_HEADER ||
        !source_direct(a->src, part.file, part.start,
                       a->plan->ntiles > 1 ? part.ncols : 0, &pos))
        return 0;
    int rc = slot_buffer(m, s, err);
    if (rc < 0)
        return rc;
    struct wire_work wk = {part.index, part.global_start, part.count, 0, n,
                           NULL, 0, 0, pos};
    memcpy(m->slot[s].buf + WIRE_WORK_HEADER, path, n);
    m->slot[s].wk = wk;
    m->slot[s].len = WIRE_WORK_HEADER + n;
    m->slot[s].unread = 1;
    m->next_read++;
    return 1;
}

/* Stage the next partition in a free slot, if the window allows: unread
 * if a worker may read it itself, else read here. */
static int stage(struct master *m, struct h5b_error *err)
{
    int s = free_slot(m);
    int rc = s < 0 ? 0 : stage_unread(m, s, err);
    if (rc == 0 && s >= 0)
        rc = read_slot(m, s, m->a->worker_decode, err);
    if (s >= 0 && rc >= 0)
        m->staged = s;
    return rc < 0 ? rc : 0;
}

/* The staged slot is going to worker w: read its values here now if it
 * was staged unread and w is not on this node. */
static int read_if_remote(struct master *m, int w, struct h5b_error *err)
{
    struct slot *sl = &m->slot[m->staged];
    if (!sl->unread || (m->a->direct != MASTER_DIRECT_REMOTE &&
                        m->a->reads[w + 1]))
        return 0;
    return fill_slot(m, m->staged, sl->wk.index, m->a->worker_decode, err);
}

/* Send the staged partition to the least loaded worker with room. */
static int dispatch(struct master *m, struct h5b_error *err)
{
    int nw = m->a->nworkers, best = -1;
    for (int k = 0; k < nw; k++) {
        int w = (m->rr + k) % nw;
        if (m->out[w] < m->a->prefetch &&
            (best < 0 || m->out[w] < m->out[best]))
            best = w;
    }
    if (best < 0)
        return 0;
    int rc = read_if_remote(m, best, err);
    if (rc < 0)
        return rc;
    struct slot *sl = &m->slot[m->staged];
    size_t len = sl->len;
    if (sl->unread && m->a->timing) {
        m->a->timing->direct++;
        if (m->a->timing->file_reads)
            m->a->timing->file_reads[best]++;
    }
    if (m->pool.base && m->a->node->local[best + 1] && !sl->unread) {
        sl->wk.shm_pos = (uint64_t)(sl->buf - m->pool.base) + WIRE_WORK_HEADER;
        sl->held = 1;
        len = WIRE_WORK_HEADER;
        shm_pool_sync(&m->pool);
    }
    wire_encode_work(sl->buf, &sl->wk);
    double t0 = progress_clock();
    rc = tr_isend(sl->buf, len, best + 1, &sl->req, err);
    spent(TIMING(m->a, send), &t0);
    if (rc < 0)
        return rc;
    m->out[best]++;
    m->inflight++;
    m->rr = (best + 1) % nw;
    m->staged = -1;
    return 1;
}

/* Read the next partition into the spare slot s and reduce it here, as
 * a worker would; the staged one stays ready for the first worker with
 * room.  The partial waits in the window like a worker's. */
static int reduce_here(struct master *m, int s, struct h5b_error *err)
{
    int rc = read_slot(m, s, 0, err);
    if (rc < 0)
        return rc;
    struct slot *sl = &m->slot[s];
    struct pend *pd = &m->win[sl->wk.index % m->W];
    struct table *t = table_at(m->a, sl->wk.index);
    double t0 = progress_clock();
    progress_test_pause();
    rc = progress_test_fail(sl->wk.index, err);
    if (rc == 0)
        rc = table_reduce(t, sl->buf + WIRE_WORK_HEADER,
                          (size_t)sl->wk.payload_len, sl->wk.first_record,
                          &pd->p, err);
    spent(TIMING(m->a, reduce), &t0);
    if (rc < 0)
        return rc;
    pd->have = 1;
    if (m->a->timing)
        m->a->timing->reduced++;
    return merge_ready(m, err);
}

/* How long rank 0 waits for a result before it helps, as a fraction of
 * its mean time to read a partition.  Measured with 2 ranks on 2 GiB
 * (README, Performance): 0 makes rank 0 help a third of the time even
 * when the workers keep up (moments alone, 0.22 -> 0.26 s); 0.1-0.25
 * never does there and helps as much as 1.0 where the workers lag
 * (moments + histogram + quantiles: 0.53 s, against 0.65 s with 1.0). */
#define HELP_PATIENCE 0.25

/* Set *s to the slot rank 0 should read a partition into and reduce
 * itself, or -1.  Called when a partition is staged and no worker has
 * room: rank 0 helps if allowed, a spare slot is free, the window allows
 * the read, and no result arrives within HELP_PATIENCE of a read's time.
 * That wait keeps rank 0 from helping when the workers keep up with the
 * reading: a result is then due soon, and helping would only delay the
 * next dispatch.  The wait counts as rank 0's waiting time. */
static int help_slot(struct master *m, int *s, struct h5b_error *err)
{
    *s = m->a->helps && m->staged >= 0 && may_read(m) ? idle_slot(m) : -1;
    if (*s < 0)
        return 0;
    double patience = m->a->helps == MASTER_HELPS_AUTO && m->reads &&
                      !m->slot[m->staged].unread
                      ? HELP_PATIENCE * m->read_s / (double)m->reads : 0;
    double t0 = progress_clock(), start = t0;
    int rc;
    while ((rc = tr_pending(MPI_ANY_SOURCE, err)) == 0 &&
           progress_clock() - start < patience)
        ;
    spent(TIMING(m->a, wait), &t0);
    if (rc != 0)
        *s = -1;
    return rc < 0 ? rc : 0;
}

/* Save a checkpoint if one is due (every > 0 seconds since the last). */
static int maybe_save(const struct master_args *a, double *last,
                      struct table_partial *acc, uint64_t merged,
                      struct h5b_error *err)
{
    double now = progress_clock();
    if (!a->save || a->ckpt_every <= 0 || now - *last < a->ckpt_every)
        return 0;
    *last = now;
    return a->save(a->save_ctx, acc, merged, err);
}

/* After a stop request: save what is merged and say so.  A pass that
 * saves nothing (the histogram range pass) has no checkpoint to offer. */
static int interrupted(const struct master_args *a, struct table_partial *acc,
                       uint64_t merged, struct h5b_error *err)
{
    if (!a->save)
        return err_set(err, H5B_EINTR, "interrupted by signal %d in the "
                       "histogram range pass, before any checkpoint; "
                       "--resume starts from the beginning",
                       interrupt_requested());
    int rc = a->save(a->save_ctx, acc, merged, err);
    if (rc < 0)
        return rc;
    return err_set(err, H5B_EINTR, "interrupted by signal %d after %llu of "
                   "%llu partitions; checkpoint written, continue with "
                   "--resume", interrupt_requested(),
                   (unsigned long long)merged,
                   (unsigned long long)a->plan->nparts);
}

/* The main loop: until every partition is merged, something fails, or a
 * signal asks to stop (then the partitions in flight are still merged). */
static int drive(struct master *m, struct h5b_error *err)
{
    int rc = 0;
    while (rc >= 0 && m->merged < m->a->plan->nparts) {
        int stopping = interrupt_requested() != 0;
        if (stopping && m->inflight == 0)
            return interrupted(m->a, m->acc, m->merged, err);
        rc = reap_sends(m, err);
        if (rc == 0 && !stopping && m->staged < 0)
            rc = stage(m, err);
        if (rc == 0 && !stopping && m->staged >= 0)
            rc = dispatch(m, err);
        int h = -1;
        if (rc == 0 && !stopping)
            rc = help_slot(m, &h, err);
        if (rc == 0 && h >= 0)
            rc = reduce_here(m, h, err);
        /* Wait for a result only when there is nothing to read: while a
         * slot is free, the next read overlaps the workers' compute. */
        if (rc == 0 && m->inflight > 0 &&
            (stopping || free_slot(m) < 0 ||
             (rc = tr_pending(MPI_ANY_SOURCE, err)) > 0))
            rc = receive_one(m, err);
        if (rc == 0)
            rc = maybe_save(m->a, &m->last_save, m->acc, m->merged, err);
    }
    return rc < 0 ? rc : 0;
}

/* Keep a worker's busy and waiting time from its DONE message. */
static void note_done(struct master *m, int from)
{
    struct run_timing *t = m->a->timing;
    double busy = 0, idle = 0;
    uint64_t rss = 0;
    struct h5b_error e;
    if (t && from >= 1 && from <= t->nworkers &&
        wire_decode_done(m->in.data, m->in.len, &busy, &idle, &rss,
                         &e) == 0) {
        t->busy[from - 1] += busy;
        t->idle[from - 1] += idle;
        if (t->rss && rss > t->rss[from - 1])
            t->rss[from - 1] = rss;
    }
}

/* STOP every worker with status, collect their DONE, finish our sends.
 * Messages other than DONE are dropped; a worker's error is kept in err
 * only if err holds none yet. */
static int shutdown_workers(struct master *m, int32_t status,
                            struct h5b_error *err)
{
    unsigned char stop[WIRE_STOP_SIZE];
    struct h5b_error e;
    int done = 0, rc = 0;
    wire_encode_stop(stop, status);
    for (int w = 1; w <= m->a->nworkers && rc == 0; w++)
        rc = tr_send(stop, sizeof stop, w, err);
    while (rc == 0 && done < m->a->nworkers) {
        int kind = 0;
        int from = 0;
        rc = tr_recv(MPI_ANY_SOURCE, &m->in, &from, err);
        if (rc == 0 && wire_peek(m->in.data, m->in.len, &kind, &e) == 0 &&
            kind == WIRE_DONE) {
            done++;
            note_done(m, from);
        }
    }
    for (int s = 0; s < m->nslots && rc == 0; s++)
        rc = tr_check(MPI_Wait(&m->slot[s].req, MPI_STATUS_IGNORE), "wait",
                      err);
    return rc;
}

static void master_free(struct master *m)
{
    for (int s = 0; m->slot && !m->pool.base && s < m->nslots; s++)
        free(m->slot[s].buf);
    for (uint64_t i = 0; m->win && i < m->W; i++)
        if (m->win[i].have)
            table_destroy(table_at(m->a, m->merged + ((i + m->W -
                                                      m->merged % m->W) %
                                                     m->W)), &m->win[i].p);
    free(m->slot);
    free(m->out);
    free(m->win);
    tr_buf_free(&m->in);
}

/* Map the shared pool (collective with the workers on the node, so
 * called whatever rc is) and carve the slots from it, 64-byte aligned. */
static int open_pool(struct master *m, struct h5b_error *err)
{
    size_t stride = (m->slot_bytes + 63) & ~(size_t)63;
    int rc = 0;
    if (m->slot && stride > SIZE_MAX / (size_t)m->nslots)
        rc = err_set(err, H5B_ERUN, "partition pool of %d x %zu bytes is "
                     "too large", m->nslots, stride);
    int prc = shm_pool_open(m->a->node, rc == 0 && m->slot ?
                            stride * (size_t)m->nslots : 0, &m->pool, err);
    if (rc == 0)
        rc = prc;
    for (int s = 0; rc == 0 && m->slot && s < m->nslots; s++)
        m->slot[s].buf = m->pool.base + (size_t)s * stride;
    if (rc < 0)
        m->pool.base = NULL;
    return rc;
}

/* Rank 0 with workers; rc is the status so far (a failure still stops
 * the workers). */
static int run_distributed(const struct master_args *a,
                           struct table_partial *acc, int rc,
                           struct h5b_error *err)
{
    struct master m = {.a = a, .staged = -1, .acc = acc,
                       .next_read = a->start, .merged = a->start,
                       .done_bytes = a->prog ? a->prog->base_bytes : 0,
                       .last_save = progress_clock()};
    m.nslots = a->nworkers * a->prefetch + 1 + (a->helps != 0);
    m.slot_bytes = WIRE_WORK_HEADER + a->plan->max_part_bytes;
    m.W = (uint64_t)m.nslots * 4 < 16 ? 16 : (uint64_t)m.nslots * 4;
    fileread_init(&m.file);
    m.slot = calloc((size_t)m.nslots, sizeof *m.slot);
    m.out = calloc((size_t)a->nworkers, sizeof *m.out);
    m.win = calloc(m.W, sizeof *m.win);
    if (rc == 0 && (!m.slot || !m.out || !m.win))
        rc = err_set(err, H5B_ERUN, "out of memory");
    if (!m.slot)
        m.nslots = 0;
    for (int s = 0; s < m.nslots; s++)
        m.slot[s].req = MPI_REQUEST_NULL;
    int prc = a->shared ? open_pool(&m, err) : 0;
    if (rc == 0)
        rc = prc;
    if (rc == 0)
        rc = drive(&m, err);
    int32_t status = rc < 0 ? H5B_EXIT_CODE(rc) : a->more ? WIRE_STOP_MORE
                                                        : 0;
    int src = shutdown_workers(&m, status, err);
    master_free(&m);
    fileread_close(&m.file);
    shm_pool_close(&m.pool);
    return rc < 0 ? rc : src;
}

/* What rank 0 alone reads with: the job, and the file it reads itself
 * (fileread.h), used by one thread at a time (the reader, or the main
 * thread without read-ahead; with a twin, each thread has its own).
 * read_s is where its reads are timed; lock, with a twin, is held over
 * reads through HDF5, since the source keeps its open file (source.h). */
struct solo {
    const struct master_args *a;
    struct fileread file;
    double *read_s;
    pthread_mutex_t *lock;
};

/* Read partition i into buf (the read of rank 0 alone; with read-ahead,
 * in the reader thread, which alone adds to the read time): with pread
 * when the file allows it (source_direct: the same bytes as HDF5's read,
 * without opening the file with HDF5 again, which over many small files
 * cost as much as their reading), else through HDF5. */
static int solo_read(void *ctx, uint64_t i, unsigned char *buf,
                     struct h5b_error *err)
{
    struct solo *so = ctx;
    const struct master_args *a = so->a;
    struct partition part;
    uint64_t pos;
    plan_get(a->plan, i, &part);
    uint64_t ncols = a->plan->ntiles > 1 ? part.ncols : 0;
    int locked = so->lock && !source_direct(a->src, part.file, part.start,
                                            ncols, &pos);
    double t0 = progress_clock();
    if (locked)
        pthread_mutex_lock(so->lock);
    int rc = source_read_values(a->src, &so->file, part.file, part.start,
                                part.count, part.col0, ncols, buf,
                                (size_t)part.bytes, err);
    if (locked)
        pthread_mutex_unlock(so->lock);
    spent(so->read_s, &t0);
    return rc;
}

/* HDF5 keeps its error-printing switch per thread: quiet the reader's. */
static void solo_thread_init(void *ctx)
{
    (void)ctx;
    h5util_quiet();
}

/* Merge partial p of partition i (reduced with t) into acc and free it;
 * then progress and, when due, a checkpoint.  *done_bytes and *last carry
 * over between calls. */
static int solo_merge(const struct master_args *a, uint64_t i,
                      struct table_partial *p, struct table_partial *acc,
                      uint64_t *done_bytes, double *last,
                      struct h5b_error *err)
{
    struct partition part;
    plan_get(a->plan, i, &part);
    struct table *t = table_of(a, &part);
    double t0 = progress_clock();
    int rc = table_merge(t, &acc[part.tile], p, err);
    table_destroy(t, p);
    spent(TIMING(a, merge), &t0);
    *done_bytes += part.bytes;
    progress_update(a->prog, i + 1, *done_bytes);
    return rc == 0 ? maybe_save(a, last, acc, i + 1, err) : rc;
}

/* Reduce partition i, read into buf, into *p with tables[] (a->tables,
 * or the twin's); time it in *reduce_s. */
static int solo_reduce(const struct master_args *a,
                       struct table *const tables[2], uint64_t i,
                       const unsigned char *buf, struct table_partial *p,
                       double *reduce_s, struct h5b_error *err)
{
    struct partition part;
    plan_get(a->plan, i, &part);
    struct table *t = a->plan->ntiles > 1 &&
                      part.ncols != a->plan->tile_width ? tables[1]
                                                        : tables[0];
    double t0 = progress_clock();
    progress_test_pause();
    int rc = table_reduce(t, buf, part.bytes, part.global_start, p, err);
    spent(reduce_s, &t0);
    return rc;
}

/* The twin (master_args.twin): a second thread that reads and reduces
 * every other partition with tables of its own, into partials it hands
 * over in order through a readahead whose buffers hold them.  Its own
 * file, buffer and timing: nothing is shared with the main thread but
 * the plan and the source's description, which no one writes. */
struct twin {
    struct solo so;
    unsigned char *buf;
    double read_s, reduce_s;
};

/* readahead_ops.read: read and reduce partition i into the partial that
 * out holds. */
static int twin_work(void *ctx, uint64_t i, unsigned char *out,
                     struct h5b_error *err)
{
    struct twin *tw = ctx;
    int rc = solo_read(&tw->so, i, tw->buf, err);
    if (rc == 0)
        rc = solo_reduce(tw->so.a, tw->so.a->twin, i, tw->buf,
                         (struct table_partial *)(void *)out, &tw->reduce_s,
                         err);
    return rc;
}

/* readahead_ops.drop: a partial made but never merged. */
static void twin_drop(void *ctx, uint64_t i, unsigned char *out)
{
    struct twin *tw = ctx;
    struct partition part;
    plan_get(tw->so.a->plan, i, &part);
    table_destroy(table_of(tw->so.a, &part),
                  (struct table_partial *)(void *)out);
}

/* Partition i, the main thread's share: read (or take from the reader
 * thread), reduce, merge.  What the twin made is only merged. */
static int solo_next(const struct master_args *a, struct solo *so,
                     struct readahead *ra, unsigned char *buf, uint64_t i,
                     struct table_partial *acc, uint64_t *done_bytes,
                     double *last, struct h5b_error *err)
{
    unsigned char *in = buf;
    double waited = 0;
    struct table_partial p;
    int theirs = a->twin[0] && (i - a->start) % 2 == 1;
    int got = ra && (theirs || !a->twin[0]);
    int rc = got ? readahead_get(ra, &in, &waited, err)
                 : solo_read(so, i, buf, err);
    if (TIMING(a, wait))
        *TIMING(a, wait) += waited;
    if (rc == 0 && theirs)
        memcpy(&p, in, sizeof p);
    else if (rc == 0)
        rc = solo_reduce(a, a->tables, i, in, &p, TIMING(a, reduce), err);
    if (got)
        readahead_put(ra);
    return rc == 0 ? solo_merge(a, i, &p, acc, done_bytes, last, err) : rc;
}

/* Rank 0 alone: the same partials, reduced here.  With read_ahead a
 * second thread reads the next partitions meanwhile (readahead.h); with a
 * twin it reads and reduces every other partition instead.  The
 * reduction and merge order are the same either way. */
static int run_solo(const struct master_args *a, struct table_partial *acc,
                    struct h5b_error *err)
{
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct solo so = {.a = a, .read_s = TIMING(a, read),
                      .lock = a->twin[0] ? &lock : NULL};
    struct twin tw = {.so = {.a = a, .lock = so.lock}};
    tw.so.read_s = &tw.read_s;
    fileread_init(&so.file);
    fileread_init(&tw.so.file);
    const struct readahead_ops ops = {solo_read, solo_thread_init, NULL,
                                      &so};
    const struct readahead_ops twin_ops = {twin_work, solo_thread_init,
                                           twin_drop, &tw};
    size_t bytes = a->plan->max_part_bytes;
    uint64_t done_bytes = a->prog ? a->prog->base_bytes : 0;
    double last = progress_clock();
    struct readahead *ra = NULL;
    unsigned char *buf = NULL;
    unsigned long long theirs = 0;
    int rc = 0;
    size_t stride = (bytes + 63) & ~(size_t)63;
    if (a->read_ahead && !a->twin[0])
        rc = readahead_start(&ra, a->start, a->plan->nparts, 1, 2, bytes,
                             &ops, err);
    else if (!(buf = hugepage_block(a->twin[0] ? 2 * stride : bytes)))
        rc = err_set(err, H5B_ERUN, "out of memory for %d %zu-byte "
                     "partition buffers", a->twin[0] ? 2 : 1, bytes);
    tw.buf = buf && a->twin[0] ? buf + stride : NULL;
    if (rc == 0 && a->twin[0])
        rc = readahead_start(&ra, a->start + 1, a->plan->nparts, 2, 2,
                             sizeof(struct table_partial), &twin_ops, err);
    for (uint64_t i = a->start; rc == 0 && i < a->plan->nparts; i++) {
        if (interrupt_requested()) {
            rc = interrupted(a, acc, i, err);
            break;
        }
        rc = solo_next(a, &so, ra, buf, i, acc, &done_bytes, &last, err);
        theirs += rc == 0 && a->twin[0] && (i - a->start) % 2 == 1;
    }
    readahead_stop(ra);
    if (a->timing && a->twin[0]) {
        a->timing->twin_read = tw.read_s;
        a->timing->twin_reduce = tw.reduce_s;
        a->timing->twin_parts = theirs;
    }
    fileread_close(&so.file);
    fileread_close(&tw.so.file);
    free(buf);
    return rc;
}

/* The table of tile t. */
static struct table *tile_table(const struct master_args *a, uint64_t t)
{
    int last = a->plan->ntiles > 1 && t == a->plan->ntiles - 1 &&
               a->plan->dim1 % a->plan->tile_width;
    return a->tables[last];
}

int master_create_accs(const struct master_args *a,
                       struct table_partial *acc, struct h5b_error *err)
{
    int rc = 0;
    uint64_t t = 0;
    for (; rc == 0 && t < a->plan->ntiles; t++) {
        rc = table_create(tile_table(a, t), &acc[t], err);
        if (rc == 0)
            table_reserve(tile_table(a, t), &acc[t], a->plan->nrec);
    }
    if (rc < 0)
        master_free_accs(a, acc, t - 1);
    return rc;
}

void master_free_accs(const struct master_args *a, struct table_partial *acc,
                      uint64_t n)
{
    for (uint64_t t = 0; t < n; t++)
        table_destroy(tile_table(a, t), &acc[t]);
}

int master_run(const struct master_args *a, struct table_partial *acc,
               int rc, struct h5b_error *err)
{
    if (a->nworkers)
        return run_distributed(a, acc, rc, err);
    return rc == 0 ? run_solo(a, acc, err) : rc;
}
