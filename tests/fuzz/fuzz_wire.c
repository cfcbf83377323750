/* fuzz_wire.c -- libFuzzer target: every decoder of the wire format.
 *
 * The whole input goes to wire_peek and to each wire_decode_* (each
 * checks the kind itself, so all but one refuse it early).  What decodes
 * is then used as its receiver would use it:
 *   WORK    the payload must lie inside the message and is read;
 *   RESULT  the state is decoded as a partial of fixture table
 *           index % FIX_NTABLES and exercised (fixture_exercise);
 *   ERROR   the message must come back NUL-terminated;
 *   STOP, DONE, GO  decoded (DONE's two times are only stored);
 *   CHECK   the reason must come back NUL-terminated;
 *   FILES   re-encoded, decoded again and re-encoded to the same bytes;
 *           every path is a NUL-terminated string of its stated length;
 *   WORK of form READ  its wire_read is taken from the payload;
 *   SETUP   re-encoded, decoded again and re-encoded to the same bytes;
 *           then, as a worker does, its entries go through job_apply and
 *           job_finish and its columns through table_init/table_add, and
 *           one record of the input's bytes is reduced (bounded sizes
 *           only, so a huge but honest allocation is not a finding).
 * Independently, input byte 0 picks a fixture table and the rest is
 * decoded as a bare partial, so the fuzzer reaches the operator decoders
 * without having to build a RESULT header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "job.h"
#include "wire.h"

/* Largest record the SETUP replay builds (values per record, bytes). */
#define REPLAY_MAX_ELEMS 4096
#define REPLAY_MAX_BYTES 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

static void check_msg(const struct h5b_error *err)
{
    if (!memchr(err->msg, '\0', sizeof err->msg))
        fixture_die("error message", "not NUL-terminated");
}

static void decode_partial(unsigned table, const unsigned char *buf,
                           size_t len)
{
    struct h5b_error err = {""};
    struct table *t = fixture_table(table);
    struct table_partial p = {0};
    if (table_create(t, &p, &err) < 0)
        fixture_die("table_create", err.msg);
    if (table_decode(t, &p, buf, len, &err) == 0)
        fixture_exercise(table, &p);
    check_msg(&err);
    table_destroy(t, &p);
}

static void try_work(const uint8_t *data, size_t size)
{
    struct h5b_error err = {""};
    struct wire_work w;
    if (wire_decode_work(data, size, &w, &err) < 0) {
        check_msg(&err);
        return;
    }
    if (w.shm_pos) {
        /* The values are in the shared pool: the message is the header. */
        if (w.payload || size != WIRE_WORK_HEADER)
            fixture_die("work", "pool message with a payload");
        return;
    }
    /* A file range: the payload is a path of 1 to WIRE_MAX_STRING bytes. */
    if (w.file_pos && (w.form || w.payload_len == 0 ||
                       w.payload_len > WIRE_MAX_STRING))
        fixture_die("work", "file range with chunks or a bad path length");
    if (w.payload < data || w.payload_len > size ||
        w.payload + w.payload_len != data + size)
        fixture_die("work", "payload outside the message");
    if (w.form == WIRE_FORM_READ) {
        struct wire_read r;
        if (w.payload_len != WIRE_READ_SIZE)
            fixture_die("work", "read form with a payload not a wire_read");
        wire_get_read(w.payload, &r);
        sink += (unsigned)(r.file + r.start + r.col0);
    }
    for (uint64_t i = 0; i < w.payload_len; i++)
        sink += w.payload[i];
}

static void try_result(const uint8_t *data, size_t size)
{
    struct h5b_error err = {""};
    uint64_t index = 0;
    const unsigned char *state = NULL;
    size_t n = 0;
    if (wire_decode_result(data, size, &index, &state, &n, &err) < 0) {
        check_msg(&err);
        return;
    }
    if (state < data || n > size || state + n != data + size)
        fixture_die("result", "state outside the message");
    decode_partial((unsigned)(index % FIX_NTABLES), state, n);
}

static void try_small(const uint8_t *data, size_t size)
{
    struct h5b_error err = {""};
    int32_t code = 0;
    char msg[64];
    if (wire_decode_error(data, size, &code, msg, sizeof msg, &err) == 0 &&
        !memchr(msg, '\0', sizeof msg))
        fixture_die("error", "message not NUL-terminated");
    check_msg(&err);
    wire_decode_stop(data, size, &code, &err);
    check_msg(&err);
    double busy = 0, idle = 0;
    uint64_t rss = 0;
    wire_decode_done(data, size, &busy, &idle, &rss, &err);
    check_msg(&err);
    wire_decode_go(data, size, &code, &err);
    check_msg(&err);
    if (wire_decode_check(data, size, &code, msg, sizeof msg, &err) == 0 &&
        !memchr(msg, '\0', sizeof msg))
        fixture_die("check", "reason not NUL-terminated");
    check_msg(&err);
}

/* FILES: decode, re-encode, decode again: the same bytes both times. */
static void try_files(const uint8_t *data, size_t size)
{
    struct h5b_error err = {""};
    struct wire_files f, f2;
    if (wire_decode_files(data, size, &f, &err) < 0) {
        check_msg(&err);
        return;
    }
    for (size_t i = 0; i < f.n; i++)
        if (!f.path[i] || strlen(f.path[i]) > WIRE_MAX_STRING)
            fixture_die("files", "a path missing or too long");
    size_t len = wire_files_size(&f);
    unsigned char *buf = malloc(len ? len : 1), *buf2 = NULL;
    if (!buf)
        fixture_die("files", "out of memory");
    wire_encode_files(buf, &f);
    if (wire_decode_files(buf, len, &f2, &err) < 0)
        fixture_die("re-decoding encoded files", err.msg);
    size_t len2 = wire_files_size(&f2);
    if (len2 != len || !(buf2 = malloc(len2)))
        fixture_die("files round trip", "sizes differ");
    wire_encode_files(buf2, &f2);
    if (memcmp(buf, buf2, len) != 0)
        fixture_die("files round trip", "encodings differ");
    wire_files_free(&f2);
    wire_files_free(&f);
    free(buf);
    free(buf2);
}

/* Encode s into a fresh buffer of *len bytes. */
static unsigned char *encode_setup(const struct wire_setup *s, size_t *len)
{
    *len = wire_setup_size(s);
    unsigned char *buf = malloc(*len);
    if (!buf)
        fixture_die("encode_setup", "out of memory");
    wire_encode_setup(buf, s);
    return buf;
}

static const char *job_arg(const struct h5b_op_config *cfg, const char *key)
{
    return job_get(cfg->arg_ctx, "reduce", key);
}

/* What a worker does with a SETUP: validate the job, build the table
 * (whole records) and reduce one record made of the input's bytes. */
static void replay_setup(const struct wire_setup *s, const uint8_t *data,
                         size_t size)
{
    struct h5b_error err = {""};
    struct job job = {0};
    struct table t = {0};
    struct table_partial p = {0};
    struct h5b_op_config shape = {.ncell = 1, .arg = job_arg,
                                  .arg_ctx = &job};
    uint64_t rec = (uint64_t)s->elem_bytes * s->elems;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->nentries; i++)
        rc = job_apply(&job, s->entries[i].section, s->entries[i].key,
                       s->entries[i].value, "setup", &err);
    if (rc == 0)
        rc = job_finish(&job, &err);
    if (rc < 0 || s->elems > REPLAY_MAX_ELEMS || rec > REPLAY_MAX_BYTES ||
        s->ncell > REPLAY_MAX_ELEMS)
        goto done;
    if (!job.axis_all) {
        shape.cell_rank = (int)s->cell_rank;
        for (uint32_t d = 0; d < s->cell_rank; d++) {
            shape.cell_dims[d] = s->cell_dims[d];
            shape.ncell *= s->cell_dims[d];
        }
    }
    if (shape.ncell != s->ncell || shape.ncell == 0)
        goto done;
    rc = table_init(&t, s->elem_bytes, s->elems, &err);
    for (size_t i = 0; rc == 0 && i < s->ncol; i++)
        rc = table_add(&t, &s->cols[i], &shape, job.ops, &err);
    if (rc == 0)
        rc = table_group(&t, job.ops, job.ddof, job.exact,
                         job_get(&job, "reduce", "group_by"), &err);
    if (rc == 0 && (t.ncol || t.grouped)) {
        unsigned char *record = calloc(1, (size_t)rec);
        if (!record)
            fixture_die("replay_setup", "out of memory");
        memcpy(record, data, size < rec ? size : (size_t)rec);
        if (table_reduce(&t, record, (size_t)rec, 0, &p, &err) == 0)
            table_destroy(&t, &p);
        free(record);
    }
done:
    check_msg(&err);
    table_free(&t);
    job_free(&job);
}

static void try_setup(const uint8_t *data, size_t size)
{
    struct h5b_error err = {""};
    struct wire_setup s, s2;
    size_t len = 0, len2 = 0;
    if (wire_decode_setup(data, size, &s, &err) < 0) {
        check_msg(&err);
        if (s.entries || s.cols)
            fixture_die("setup", "failed decode left memory in s");
        return;
    }
    unsigned char *buf = encode_setup(&s, &len);
    if (wire_decode_setup(buf, len, &s2, &err) < 0)
        fixture_die("re-decoding an encoded setup", err.msg);
    unsigned char *buf2 = encode_setup(&s2, &len2);
    if (len != len2 || memcmp(buf, buf2, len) != 0)
        fixture_die("setup round trip", "encodings differ");
    replay_setup(&s2, data, size);
    wire_setup_free(&s2);
    wire_setup_free(&s);
    free(buf);
    free(buf2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct h5b_error err = {""};
    int kind = 0;
    fixture_init();
    if (wire_peek(data, size, &kind, &err) == 0 &&
        (kind < WIRE_SETUP || kind > WIRE_GO))
        fixture_die("peek", "accepted an unknown kind");
    check_msg(&err);
    try_work(data, size);
    try_result(data, size);
    try_small(data, size);
    try_files(data, size);
    try_setup(data, size);
    if (size >= 1)
        decode_partial(data[0], data + 1, size - 1);
    return 0;
}
