/* worker.c -- a worker rank: receive partitions, reduce, send partials.
 *
 * The worker keeps `prefetch` receives posted, in a FIFO: MPI matches
 * messages to receives in the order posted, so waiting on the oldest
 * receive handles rank 0's messages in the order sent.  Each WORK message
 * becomes a partial sent back as a RESULT, without waiting for rank 0 to
 * take it: results go out from a ring of prefetch+1 buffers, and a buffer
 * is waited on only when it comes round again.  (Rank 0 may be busy
 * reducing a partition itself; a blocking send of a result above MPI's
 * eager size would hold this worker until it is done.)  After a failure
 * the worker sends one ERROR and then only drains WORK until rank 0's
 * STOP, so rank 0 never waits on a send nobody receives.  STOP is
 * answered with DONE, the worker's last message; the receives still
 * posted are cancelled.
 *
 * A WORK message that names an offset in rank 0's shared pool is only a
 * header: the values are read in place, and the RESULT tells rank 0 the
 * slot is free again.  One that names a file range (a worker on rank 0's
 * node, a contiguous dataset) is read from the file here (fileread.h).
 * One that is a read request (worker_reads = all) is read here through
 * the worker_reader run.c gives: this worker's own HDF5 input, any
 * layout; a file this worker cannot open or read fails the partition
 * like any other error, with a message naming the file.
 *
 * (H5BATCH_TEST_PAUSE_MS slows every partition down: progress.h.)
 * For the tests of this error path, H5BATCH_TEST_FAIL_PARTITION=N makes
 * partition N fail as a failed reduction would (progress.h).
 */
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#include "chunkdec.h"
#include "err.h"
#include "fileread.h"
#include "hugepage.h"
#include "memlimits.h"
#include "progress.h"
#include "transport.h"
#include "wire.h"

struct wslot {
    unsigned char *buf;
    MPI_Request req;
};

struct wout {
    struct tr_buf msg;
    MPI_Request req;        /* MPI_REQUEST_NULL when not being sent */
};

struct worker {
    struct table *table[2];     /* full tiles, short last tile */
    uint64_t tile_width;
    size_t slot_bytes;
    int nslots;
    struct wslot *slot;
    int *fifo;              /* slot indices in the order posted */
    int head;
    int failed;
    struct wout *out;       /* nslots + 1 result buffers, used in turn */
    int next_out;
    struct shm_pool pool;   /* rank 0's partitions, when shared */
    unsigned char *values;  /* a decoded (chunkdec.h) or read partition */
    struct fileread file;   /* the file of the last range read */
    const struct worker_reader *reader;     /* or NULL */
    struct chunk_scratch scratch;
    double busy, idle;      /* seconds reducing, seconds waiting */
};

static int post(struct worker *w, int s, struct h5b_error *err)
{
    return tr_check(MPI_Irecv(w->slot[s].buf, (int)w->slot_bytes, MPI_BYTE,
                              0, TR_TAG, MPI_COMM_WORLD, &w->slot[s].req),
                    "irecv", err);
}

/* Point wk->payload at its values in the shared pool, if they are in
 * it. */
static int in_pool(struct worker *w, struct wire_work *wk,
                   struct h5b_error *err)
{
    if (!w->pool.base || wk->shm_pos > w->pool.bytes ||
        wk->payload_len > w->pool.bytes - wk->shm_pos)
        return err_set(err, H5B_ERUN, "partition %llu: %llu bytes at %llu "
                       "are outside the shared pool of %zu bytes",
                       (unsigned long long)wk->index,
                       (unsigned long long)wk->payload_len,
                       (unsigned long long)wk->shm_pos, w->pool.bytes);
    shm_pool_sync(&w->pool);
    wk->payload = w->pool.base + wk->shm_pos;
    return 0;
}

/* Make room in w->values for wk's records; *need gets their bytes. */
static int values_room(struct worker *w, const struct wire_work *wk,
                       const struct table *t, size_t *need,
                       struct h5b_error *err)
{
    size_t rec = (size_t)t->elem_bytes * (size_t)t->elems + t->key_tail;
    size_t room = w->slot_bytes - WIRE_WORK_HEADER;
    if (rec == 0 || wk->nrec > room / rec)
        return err_set(err, H5B_ERUN, "partition %llu: %llu records are "
                       "more than announced", (unsigned long long)wk->index,
                       (unsigned long long)wk->nrec);
    *need = (size_t)wk->nrec * rec;
    if (!w->values && !(w->values = hugepage_buffer(w->slot_bytes, NULL)))
        return err_set(err, H5B_ERUN, "out of memory for a %zu-byte "
                       "partition", w->slot_bytes);
    return 0;
}

/* After a read of need bytes into w->values (rc its status): point wk
 * at them. */
static int read_into_values(struct worker *w, struct wire_work *wk,
                            size_t need, int rc)
{
    if (rc < 0)
        return rc;
    wk->payload = w->values;
    wk->payload_len = need;
    return 0;
}

/* Read a partition sent as a file range into w->values and point wk at
 * its values. */
static int read_range(struct worker *w, struct wire_work *wk,
                      const struct table *t, struct h5b_error *err)
{
    size_t need = 0;
    int rc = t->key_tail ? err_set(err, H5B_ERUN, "partition %llu: a file "
                                   "range cannot hold group_by keys",
                                   (unsigned long long)wk->index)
                         : values_room(w, wk, t, &need, err);
    if (rc == 0)
        rc = fileread_get(&w->file, (const char *)wk->payload,
                          (size_t)wk->payload_len, wk->file_pos, w->values,
                          need, err);
    return read_into_values(w, wk, need, rc);
}

/* Read a partition sent as a read request into w->values with the
 * worker's own reader, and point wk at its values. */
static int read_request(struct worker *w, struct wire_work *wk,
                        const struct table *t, struct h5b_error *err)
{
    size_t need = 0;
    struct wire_read r;
    int rc = w->reader ? values_room(w, wk, t, &need, err)
                       : err_set(err, H5B_ERUN, "partition %llu: a read "
                                 "request, but this worker does not read",
                                 (unsigned long long)wk->index);
    if (rc < 0)
        return rc;
    wire_get_read(wk->payload, &r);
    rc = w->reader->read(w->reader->ctx, &r, wk->nrec, wk->ncols, w->values,
                         need, err);
    return read_into_values(w, wk, need, rc);
}

/* Decode a partition sent as compressed chunks into w->values and point
 * wk at them. */
static int decode_chunks(struct worker *w, struct wire_work *wk,
                         const struct table *t, struct h5b_error *err)
{
    size_t need = 0;
    int rc = values_room(w, wk, t, &need, err);
    if (rc < 0)
        return rc;
    rc = chunk_decode(wk->payload, (size_t)wk->payload_len, w->values, need,
                      &w->scratch, err);
    if (rc < 0)
        return err_prefix(err, H5B_ERUN, "partition %llu",
                          (unsigned long long)wk->index);
    wk->payload = w->values;
    wk->payload_len = need;
    return 0;
}

/* The next result buffer, its last send complete, with cap >= n. */
static int out_buffer(struct worker *w, size_t n, struct wout **o,
                      struct h5b_error *err)
{
    struct wout *b = &w->out[w->next_out];
    int rc = tr_wait(&b->req, NULL, err);
    if (rc < 0)
        return rc;
    if (n > b->msg.cap) {
        unsigned char *grown = realloc(b->msg.data, n);
        if (!grown)
            return err_set(err, H5B_ERUN, "out of memory for a result of "
                           "%zu bytes", n);
        b->msg.data = grown;
        b->msg.cap = n;
    }
    w->next_out = (w->next_out + 1) % (w->nslots + 1);
    *o = b;
    return 0;
}

/* Reduce one WORK message and send its RESULT. */
static int do_work(struct worker *w, const unsigned char *msg, size_t len,
                   struct h5b_error *err)
{
    struct wire_work wk;
    struct table_partial p;
    int rc = wire_decode_work(msg, len, &wk, err);
    if (rc == 0 && wk.shm_pos)
        rc = in_pool(w, &wk, err);
    if (rc == 0)
        rc = progress_test_fail(wk.index, err);
    struct table *t = wk.ncols && wk.ncols != w->tile_width ? w->table[1]
                                                             : w->table[0];
    if (rc == 0 && !t)
        rc = err_set(err, H5B_ERUN, "partition %llu: tile of %llu columns "
                     "was not announced", (unsigned long long)wk.index,
                     (unsigned long long)wk.ncols);
    if (rc == 0 && wk.form == WIRE_FORM_CHUNKS)
        rc = decode_chunks(w, &wk, t, err);
    if (rc == 0 && wk.file_pos)
        rc = read_range(w, &wk, t, err);
    if (rc == 0 && wk.form == WIRE_FORM_READ)
        rc = read_request(w, &wk, t, err);
    progress_test_pause();
    if (rc == 0)
        rc = table_reduce(t, wk.payload, (size_t)wk.payload_len,
                          wk.first_record, &p, err);
    if (rc < 0)
        return rc;
    size_t n = WIRE_RESULT_HEADER + table_encoded_size(t, &p);
    struct wout *o = NULL;
    rc = out_buffer(w, n, &o, err);
    if (rc == 0) {
        wire_encode_result(o->msg.data, wk.index, n - WIRE_RESULT_HEADER);
        rc = table_encode(t, &p, o->msg.data + WIRE_RESULT_HEADER,
                          n - WIRE_RESULT_HEADER, err);
    }
    table_destroy(t, &p);
    if (rc == 0)
        rc = tr_isend(o->msg.data, n, 0, &o->req, err);
    return rc;
}

/* Tell rank 0 about a failure (once). */
static void report(struct worker *w, int code, const char *msg)
{
    struct h5b_error ignored;
    size_t n = wire_error_size(msg);
    unsigned char *buf = malloc(n);
    if (w->failed++ || !buf) {
        free(buf);
        return;
    }
    wire_encode_error(buf, code, msg);
    tr_send(buf, n, 0, &ignored);
    free(buf);
}

/* Cancel the receives still posted, complete the results being sent
 * and answer STOP with DONE. */
static int finish(struct worker *w, struct h5b_error *err)
{
    unsigned char done[WIRE_DONE_SIZE];
    for (int k = 1; k < w->nslots; k++) {
        MPI_Request *r = &w->slot[w->fifo[(w->head + k) % w->nslots]].req;
        MPI_Cancel(r);
        MPI_Wait(r, MPI_STATUS_IGNORE);
    }
    for (int k = 0; k <= w->nslots; k++) {
        int rc = tr_check(MPI_Wait(&w->out[k].req, MPI_STATUS_IGNORE),
                          "wait", err);
        if (rc < 0)
            return rc;
    }
    wire_encode_done(done, w->busy, w->idle, memlimits_peak_rss());
    return tr_send(done, sizeof done, 0, err);
}

/* Handle messages until STOP; *status gets STOP's status. */
static int serve(struct worker *w, int32_t *status, struct h5b_error *err)
{
    for (;;) {
        struct h5b_error e = {""};
        MPI_Status st;
        int count = 0, kind = 0, s = w->fifo[w->head];
        double t0 = progress_clock();
        int rc = tr_wait(&w->slot[s].req, &st, err);
        double t1 = progress_clock();
        w->idle += t1 - t0;
        if (rc == 0)
            rc = tr_check(MPI_Get_count(&st, MPI_BYTE, &count), "count", err);
        if (rc < 0)
            return rc;
        if (wire_peek(w->slot[s].buf, (size_t)count, &kind, &e) == 0 &&
            kind == WIRE_STOP) {
            rc = wire_decode_stop(w->slot[s].buf, (size_t)count, status, err);
            return rc == 0 ? finish(w, err) : rc;
        }
        if (!w->failed) {
            if (kind != WIRE_WORK && !e.msg[0])
                err_set(&e, H5B_ERUN, "unexpected message kind %d", kind);
            if (e.msg[0] || do_work(w, w->slot[s].buf, (size_t)count, &e) < 0)
                report(w, H5B_ERUN, e.msg);
            w->busy += progress_clock() - t1;
        }
        rc = post(w, s, err);
        if (rc < 0)
            return rc;
        w->head = (w->head + 1) % w->nslots;
    }
}

int worker_run(struct table *const tables[2], uint64_t tile_width,
               size_t slot_bytes, int prefetch, const struct shm_node *node,
               const struct worker_reader *reader,
               const char *failed_setup, int32_t *status,
               struct h5b_error *err)
{
    struct worker w = {.table = {tables[0], tables[1]},
                       .tile_width = tile_width, .slot_bytes = slot_bytes,
                       .nslots = prefetch, .reader = reader};
    fileread_init(&w.file);
    int rc = node ? shm_pool_open(node, 0, &w.pool, err) : 0;
    w.slot = calloc((size_t)prefetch, sizeof *w.slot);
    w.fifo = calloc((size_t)prefetch, sizeof *w.fifo);
    w.out = calloc((size_t)prefetch + 1, sizeof *w.out);
    if (rc == 0 && (!w.slot || !w.fifo || !w.out))
        rc = err_set(err, H5B_ERUN, "out of memory");
    for (int k = 0; w.out && k <= prefetch; k++)
        w.out[k].req = MPI_REQUEST_NULL;
    for (int s = 0; rc == 0 && s < prefetch; s++) {
        w.slot[s].buf = malloc(slot_bytes);
        w.fifo[s] = s;
        rc = w.slot[s].buf ? post(&w, s, err)
                           : err_set(err, H5B_ERUN, "out of memory for a "
                                     "%zu-byte receive buffer", slot_bytes);
    }
    if (rc == 0 && failed_setup)
        report(&w, H5B_EINPUT, failed_setup);
    if (rc == 0)
        rc = serve(&w, status, err);
    for (int s = 0; w.slot && s < prefetch; s++)
        free(w.slot[s].buf);
    free(w.slot);
    free(w.fifo);
    for (int k = 0; w.out && k <= prefetch; k++)
        tr_buf_free(&w.out[k].msg);
    free(w.out);
    free(w.values);
    fileread_close(&w.file);
    chunk_scratch_free(&w.scratch);
    shm_pool_close(&w.pool);
    return rc;
}
