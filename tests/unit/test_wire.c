/* test_wire.c -- unit tests of the wire codec.
 *
 * Round trips of every message kind, then hostile input: every truncation,
 * bad magic, version and kind, lengths that lie, strings and counts that
 * point past the end.  Every decode reads from a heap buffer of exactly the
 * length it is given, so under `make unit SANITIZE=1` a read one byte past
 * the end is an ASan report, not a silent pass.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "err.h"
#include "wire.h"

/* Offsets inside a SETUP message (see wire_encode_setup). */
#define SETUP_CELL_RANK 32
#define SETUP_DIMS 68

/* A heap copy of the first len bytes of src, exactly len bytes long. */
static unsigned char *exact_copy(const unsigned char *src, size_t len)
{
    unsigned char *p = malloc(len);
    assert_non_null(p);
    if (len)
        memcpy(p, src, len);
    return p;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- one decoder per kind behind one signature -------------------------- */

typedef int (*decode_fn)(const unsigned char *buf, size_t len,
                         struct h5b_error *err);

static int dec_work(const unsigned char *buf, size_t len,
                    struct h5b_error *err)
{
    struct wire_work w;
    return wire_decode_work(buf, len, &w, err);
}

static int dec_result(const unsigned char *buf, size_t len,
                      struct h5b_error *err)
{
    uint64_t index;
    const unsigned char *state;
    size_t n;
    return wire_decode_result(buf, len, &index, &state, &n, err);
}

static int dec_error(const unsigned char *buf, size_t len,
                     struct h5b_error *err)
{
    int32_t code;
    char msg[64];
    return wire_decode_error(buf, len, &code, msg, sizeof msg, err);
}

static int dec_stop(const unsigned char *buf, size_t len,
                    struct h5b_error *err)
{
    int32_t status;
    return wire_decode_stop(buf, len, &status, err);
}

static int dec_setup(const unsigned char *buf, size_t len,
                     struct h5b_error *err)
{
    struct wire_setup s;
    int rc = wire_decode_setup(buf, len, &s, err);
    if (rc < 0) {
        assert_null(s.entries);
        assert_int_equal(s.nentries, 0);
    }
    wire_setup_free(&s);
    return rc;
}

static int dec_peek(const unsigned char *buf, size_t len,
                    struct h5b_error *err)
{
    int kind;
    return wire_peek(buf, len, &kind, err);
}

/* Decoding len bytes of msg (copied to an exact heap buffer) must fail
 * with a negative code and a message holding fragment. */
static void expect_reject(decode_fn dec, const unsigned char *msg,
                          size_t len, const char *fragment)
{
    struct h5b_error err = {""};
    unsigned char *buf = exact_copy(msg, len);
    int rc = dec(buf, len, &err);
    free(buf);
    if (rc >= 0)
        fail_msg("decoding %zu bytes succeeded", len);
    assert_true(err.msg[0] != '\0');
    assert_contains(err.msg, fragment);
}

/* Every proper prefix of msg must be rejected. */
static void expect_truncations_rejected(decode_fn dec,
                                        const unsigned char *msg,
                                        size_t size)
{
    for (size_t len = 0; len < size; len++)
        expect_reject(dec, msg, len, "");
}

static void expect_accept(decode_fn dec, const unsigned char *msg,
                          size_t len)
{
    struct h5b_error err = {""};
    unsigned char *buf = exact_copy(msg, len);
    int rc = dec(buf, len, &err);
    free(buf);
    if (rc != 0)
        fail_msg("decoding %zu bytes failed: %s", len, err.msg);
}

/* ---- sample messages ---------------------------------------------------- */

#define WORK_PAYLOAD 24

static size_t sample_work(unsigned char *buf)
{
    struct wire_work w = {.index = 0x0102030405060708ull,
                          .first_record = 1ull << 40, .nrec = 3,
                          .payload_len = WORK_PAYLOAD};
    wire_encode_work(buf, &w);
    for (size_t i = 0; i < WORK_PAYLOAD; i++)
        buf[WIRE_WORK_HEADER + i] = (unsigned char)(i * 7 + 1);
    return WIRE_WORK_HEADER + WORK_PAYLOAD;
}

#define RESULT_STATE 17

static size_t sample_result(unsigned char *buf)
{
    wire_encode_result(buf, UINT64_MAX - 1, RESULT_STATE);
    for (size_t i = 0; i < RESULT_STATE; i++)
        buf[WIRE_RESULT_HEADER + i] = (unsigned char)(255 - i);
    return WIRE_RESULT_HEADER + RESULT_STATE;
}

static struct job_entry sample_entries[] = {
    {"input", "files", "a/*.h5 b/*.h5"},
    {"reduce", "ddof", "1"},
    {"job", "name", ""},
};

static struct column_desc sample_cols[] = {
    {.name = "tas", .type = H5B_INT16, .offset = 0,
     .cf = {.flags = CF_FILL | CF_SCALE, .fill = -32767, .scale = 0.01,
            .offset = 273.15},
     .time_units = "days since 1850-01-01", .calendar = "noleap"},
};

static struct wire_setup sample_setup_struct(void)
{
    struct wire_setup s = {.status = -7, .elem_bytes = 2, .elems = 12,
                           .ncol = 1, .cols = sample_cols,
                           .ncell = 12, .cell_rank = 2,
                           .cell_dims = {3, 4}, .max_payload = 1ull << 33,
                           .prefetch = 5, .shared = 1, .nentries = 3,
                           .entries = sample_entries};
    return s;
}

/* Encode the sample SETUP into a fresh exact buffer; *size gets its size. */
static unsigned char *sample_setup(size_t *size)
{
    struct wire_setup s = sample_setup_struct();
    *size = wire_setup_size(&s);
    unsigned char *buf = malloc(*size);
    assert_non_null(buf);
    wire_encode_setup(buf, &s);
    return buf;
}

/* ---- round trips -------------------------------------------------------- */

static void test_header_layout(void **state)
{
    (void)state;
    unsigned char buf[WIRE_DONE_SIZE];
    wire_encode_done(buf, 1.5, 0.25, 123456789012ULL);
    assert_memory_equal(buf, "H5BW\x08\x00\x06\x00", 8);
}

static void test_work_round_trip(void **state)
{
    (void)state;
    unsigned char msg[WIRE_WORK_HEADER + WORK_PAYLOAD];
    size_t n = sample_work(msg);
    unsigned char *buf = exact_copy(msg, n);
    struct wire_work w;
    struct h5b_error err = {""};
    assert_int_equal(wire_decode_work(buf, n, &w, &err), 0);
    assert_int_equal(w.index, 0x0102030405060708ull);
    assert_int_equal(w.first_record, 1ull << 40);
    assert_int_equal(w.nrec, 3);
    assert_int_equal(w.payload_len, WORK_PAYLOAD);
    assert_ptr_equal(w.payload, buf + WIRE_WORK_HEADER);
    assert_memory_equal(w.payload, msg + WIRE_WORK_HEADER, WORK_PAYLOAD);
    free(buf);
}

static void test_work_with_empty_payload(void **state)
{
    (void)state;
    unsigned char msg[WIRE_WORK_HEADER];
    struct wire_work w = {.index = 9, .payload_len = 0};
    wire_encode_work(msg, &w);
    expect_accept(dec_work, msg, sizeof msg);
}

/* A WORK naming a place in the shared pool is the header alone. */
static void test_work_in_shared_pool(void **state)
{
    (void)state;
    unsigned char msg[WIRE_WORK_HEADER + 8];
    struct wire_work w = {.index = 4, .nrec = 2, .payload_len = 1 << 20,
                          .shm_pos = 3 * 4096 + WIRE_WORK_HEADER};
    struct wire_work d;
    struct h5b_error err = {""};
    wire_encode_work(msg, &w);
    unsigned char *buf = exact_copy(msg, WIRE_WORK_HEADER);
    assert_int_equal(wire_decode_work(buf, WIRE_WORK_HEADER, &d, &err), 0);
    assert_int_equal(d.shm_pos, w.shm_pos);
    assert_int_equal(d.payload_len, 1 << 20);
    assert_null(d.payload);
    free(buf);
    memset(msg + WIRE_WORK_HEADER, 0, 8);
    expect_reject(dec_work, msg, sizeof msg, "work");
}

/* form is one of WIRE_FORM_*: values, compressed chunks or a read. */
static void test_work_chunks_flag(void **state)
{
    (void)state;
    unsigned char msg[WIRE_WORK_HEADER + 4];
    struct wire_work w = {.index = 7, .payload_len = 4, .form = WIRE_FORM_CHUNKS};
    struct wire_work d;
    struct h5b_error err = {""};
    wire_encode_work(msg, &w);
    memset(msg + WIRE_WORK_HEADER, 0xab, 4);
    unsigned char *buf = exact_copy(msg, sizeof msg);
    assert_int_equal(wire_decode_work(buf, sizeof msg, &d, &err), 0);
    assert_int_equal(d.form, WIRE_FORM_CHUNKS);
    assert_ptr_equal(d.payload, buf + WIRE_WORK_HEADER);
    free(buf);
    w.form = 3;
    wire_encode_work(msg, &w);
    expect_reject(dec_work, msg, sizeof msg, "work");
}

/* A WORK naming a file range carries the path as its bytes; the range is
 * exclusive with the shared pool and with chunks, and the path is 1 to
 * WIRE_MAX_STRING bytes. */
static void test_work_file_range(void **state)
{
    (void)state;
    static const char path[] = "/scratch/run7/field.h5";
    unsigned char msg[WIRE_WORK_HEADER + sizeof path - 1];
    struct wire_work w = {.index = 5, .nrec = 131072,
                          .payload_len = sizeof path - 1,
                          .file_pos = 2048};
    struct wire_work d;
    struct h5b_error err = {""};
    wire_encode_work(msg, &w);
    memcpy(msg + WIRE_WORK_HEADER, path, sizeof path - 1);
    unsigned char *buf = exact_copy(msg, sizeof msg);
    assert_int_equal(wire_decode_work(buf, sizeof msg, &d, &err), 0);
    assert_int_equal(d.file_pos, 2048);
    assert_int_equal(d.nrec, 131072);
    assert_int_equal(d.payload_len, sizeof path - 1);
    assert_memory_equal(d.payload, path, sizeof path - 1);
    free(buf);
    struct wire_work bad[] = {w, w, w};
    bad[0].form = WIRE_FORM_CHUNKS;
    bad[1].shm_pos = 4096;
    bad[2].payload_len = 0;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t n = WIRE_WORK_HEADER + (size_t)(bad[i].shm_pos ? 0
                                               : bad[i].payload_len);
        wire_encode_work(msg, &bad[i]);
        expect_reject(dec_work, msg, n, "work");
    }
    unsigned char *big = calloc(1, WIRE_WORK_HEADER + WIRE_MAX_STRING + 1);
    assert_non_null(big);
    w.payload_len = WIRE_MAX_STRING + 1;
    wire_encode_work(big, &w);
    expect_reject(dec_work, big, WIRE_WORK_HEADER + WIRE_MAX_STRING + 1,
                  "work");
    free(big);
}

static void test_result_round_trip(void **state)
{
    (void)state;
    unsigned char msg[WIRE_RESULT_HEADER + RESULT_STATE];
    size_t n = sample_result(msg);
    unsigned char *buf = exact_copy(msg, n);
    uint64_t index = 0;
    const unsigned char *st = NULL;
    size_t len = 0;
    struct h5b_error err = {""};
    assert_int_equal(wire_decode_result(buf, n, &index, &st, &len, &err), 0);
    assert_int_equal(index, UINT64_MAX - 1);
    assert_int_equal(len, RESULT_STATE);
    assert_ptr_equal(st, buf + WIRE_RESULT_HEADER);
    assert_memory_equal(st, msg + WIRE_RESULT_HEADER, RESULT_STATE);
    free(buf);
}

static void test_error_round_trip(void **state)
{
    (void)state;
    const char *text = "job.ini:3: unknown key 'x'";
    size_t n = wire_error_size(text);
    unsigned char *buf = malloc(n);
    int32_t code = 0;
    char msg[128];
    struct h5b_error err = {""};
    assert_non_null(buf);
    assert_int_equal(n, WIRE_HEADER + 8 + strlen(text));
    wire_encode_error(buf, H5B_EINPUT, text);
    assert_int_equal(wire_decode_error(buf, n, &code, msg, sizeof msg, &err),
                     0);
    assert_int_equal(code, H5B_EINPUT);
    assert_string_equal(msg, text);
    free(buf);
}

static void test_error_message_truncated_to_caller_buffer(void **state)
{
    (void)state;
    const char *text = "0123456789abcdef";
    size_t n = wire_error_size(text);
    unsigned char *buf = malloc(n);
    int32_t code = 0;
    char msg[8];
    struct h5b_error err = {""};
    assert_non_null(buf);
    wire_encode_error(buf, -1, text);
    assert_int_equal(wire_decode_error(buf, n, &code, msg, sizeof msg, &err),
                     0);
    assert_string_equal(msg, "0123456");
    free(buf);
}

static void test_error_longer_than_max_string_is_cut(void **state)
{
    (void)state;
    size_t big = WIRE_MAX_STRING + 100;
    char *text = malloc(big + 1), *msg = malloc(big + 1);
    assert_non_null(text);
    assert_non_null(msg);
    memset(text, 'e', big);
    text[big] = '\0';
    size_t n = wire_error_size(text);
    unsigned char *buf = malloc(n);
    int32_t code = 0;
    struct h5b_error err = {""};
    assert_non_null(buf);
    assert_int_equal(n, WIRE_HEADER + 8 + WIRE_MAX_STRING);
    wire_encode_error(buf, 1, text);
    assert_int_equal(wire_decode_error(buf, n, &code, msg, big + 1, &err), 0);
    assert_int_equal(strlen(msg), WIRE_MAX_STRING);
    free(buf);
    free(text);
    free(msg);
}

static void test_stop_round_trip(void **state)
{
    (void)state;
    unsigned char *buf = malloc(WIRE_STOP_SIZE);
    int32_t status = 0;
    struct h5b_error err = {""};
    assert_non_null(buf);
    wire_encode_stop(buf, -2);
    assert_int_equal(wire_decode_stop(buf, WIRE_STOP_SIZE, &status, &err), 0);
    assert_int_equal(status, -2);
    free(buf);
}

static void test_done_peeks_as_done(void **state)
{
    (void)state;
    unsigned char *buf = malloc(WIRE_DONE_SIZE);
    int kind = 0;
    struct h5b_error err = {""};
    assert_non_null(buf);
    wire_encode_done(buf, 1.5, 0.25, 123456789012ULL);
    assert_int_equal(wire_peek(buf, WIRE_DONE_SIZE, &kind, &err), 0);
    assert_int_equal(kind, WIRE_DONE);
    double busy = 0, idle = 0;
    uint64_t rss = 0;
    assert_int_equal(wire_decode_done(buf, WIRE_DONE_SIZE, &busy, &idle,
                                      &rss, &err), 0);
    assert_true(busy == 1.5 && idle == 0.25 && rss == 123456789012ULL);
    for (size_t n = 0; n < WIRE_DONE_SIZE; n++)
        assert_int_equal(wire_decode_done(buf, n, &busy, &idle, &rss,
                                          &err), H5B_ERUN);
    free(buf);
}

static void test_peek_tells_every_kind(void **state)
{
    (void)state;
    unsigned char msg[WIRE_WORK_HEADER + WORK_PAYLOAD + 64];
    int kind = 0;
    struct h5b_error err = {""};
    sample_work(msg);
    assert_int_equal(wire_peek(msg, WIRE_HEADER, &kind, &err), 0);
    assert_int_equal(kind, WIRE_WORK);
    sample_result(msg);
    assert_int_equal(wire_peek(msg, WIRE_HEADER, &kind, &err), 0);
    assert_int_equal(kind, WIRE_RESULT);
    wire_encode_error(msg, 1, "x");
    assert_int_equal(wire_peek(msg, WIRE_HEADER, &kind, &err), 0);
    assert_int_equal(kind, WIRE_ERROR);
    wire_encode_stop(msg, 0);
    assert_int_equal(wire_peek(msg, WIRE_HEADER, &kind, &err), 0);
    assert_int_equal(kind, WIRE_STOP);
}

static void test_setup_round_trip(void **state)
{
    (void)state;
    size_t n;
    unsigned char *buf = sample_setup(&n);
    struct wire_setup s;
    struct h5b_error err = {""};
    assert_int_equal(wire_decode_setup(buf, n, &s, &err), 0);
    assert_int_equal(s.status, -7);
    assert_int_equal(s.elem_bytes, 2);
    assert_int_equal(s.elems, 12);
    assert_int_equal(s.ncol, 1);
    assert_string_equal(s.cols[0].name, "tas");
    assert_int_equal(s.cols[0].type, H5B_INT16);
    assert_int_equal(s.cols[0].cf.flags, CF_FILL | CF_SCALE);
    assert_true(s.cols[0].cf.fill == -32767 && s.cols[0].cf.scale == 0.01 &&
                s.cols[0].cf.offset == 273.15);
    assert_string_equal(s.cols[0].time_units, "days since 1850-01-01");
    assert_string_equal(s.cols[0].calendar, "noleap");
    assert_int_equal(s.ncell, 12);
    assert_int_equal(s.cell_rank, 2);
    assert_int_equal(s.cell_dims[0], 3);
    assert_int_equal(s.cell_dims[1], 4);
    assert_int_equal(s.max_payload, 1ull << 33);
    assert_int_equal(s.prefetch, 5);
    assert_int_equal(s.shared, 1);
    assert_int_equal(s.nentries, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(s.entries[i].section, sample_entries[i].section);
        assert_string_equal(s.entries[i].key, sample_entries[i].key);
        assert_string_equal(s.entries[i].value, sample_entries[i].value);
        assert_ptr_not_equal(s.entries[i].value, sample_entries[i].value);
    }
    wire_setup_free(&s);
    assert_null(s.entries);
    free(buf);
}

/* The weights ([reduce] weights) round-trip as fresh copies; a count
 * that the bytes cannot hold is refused. */
static void test_setup_weights(void **state)
{
    (void)state;
    double w[3] = {0.5, 0, 1e300};
    struct wire_setup s = sample_setup_struct(), d;
    struct h5b_error err = {""};
    s.weights = w;
    s.nweights = 3;
    size_t n = wire_setup_size(&s);
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    wire_encode_setup(buf, &s);
    assert_int_equal(wire_decode_setup(buf, n, &d, &err), 0);
    assert_int_equal(d.nweights, 3);
    assert_ptr_not_equal(d.weights, w);
    assert_memory_equal(d.weights, w, sizeof w);
    wire_setup_free(&d);
    assert_null(d.weights);
    put_le32(buf + n - 3 * 8 - 8, 4);          /* 4 weights, 3 present */
    expect_reject(dec_setup, buf, n, "setup");
    free(buf);
}

static void test_setup_max_rank_no_entries(void **state)
{
    (void)state;
    struct wire_setup s = {.elem_bytes = 8, .elems = 1, .ncell = 1,
                           .cell_rank = H5B_MAX_RANK}, d;
    for (int i = 0; i < H5B_MAX_RANK; i++)
        s.cell_dims[i] = (uint64_t)i + 1;
    size_t n = wire_setup_size(&s);
    unsigned char *buf = malloc(n);
    struct h5b_error err = {""};
    assert_non_null(buf);
    wire_encode_setup(buf, &s);
    assert_int_equal(wire_decode_setup(buf, n, &d, &err), 0);
    assert_int_equal(d.cell_rank, H5B_MAX_RANK);
    assert_memory_equal(d.cell_dims, s.cell_dims, sizeof s.cell_dims);
    assert_int_equal(d.nentries, 0);
    wire_setup_free(&d);
    free(buf);
}

/* ---- truncation at every length ----------------------------------------- */

static void test_work_truncated_everywhere(void **state)
{
    (void)state;
    unsigned char msg[WIRE_WORK_HEADER + WORK_PAYLOAD];
    expect_truncations_rejected(dec_work, msg, sample_work(msg));
}

static void test_result_truncated_everywhere(void **state)
{
    (void)state;
    unsigned char msg[WIRE_RESULT_HEADER + RESULT_STATE];
    expect_truncations_rejected(dec_result, msg, sample_result(msg));
}

static void test_error_truncated_everywhere(void **state)
{
    (void)state;
    const char *text = "a message";
    size_t n = wire_error_size(text);
    unsigned char msg[64];
    wire_encode_error(msg, 2, text);
    expect_truncations_rejected(dec_error, msg, n);
}

static void test_stop_truncated_everywhere(void **state)
{
    (void)state;
    unsigned char msg[WIRE_STOP_SIZE];
    wire_encode_stop(msg, 0);
    expect_truncations_rejected(dec_stop, msg, sizeof msg);
}

static void test_setup_truncated_everywhere(void **state)
{
    (void)state;
    size_t n;
    unsigned char *msg = sample_setup(&n);
    expect_truncations_rejected(dec_setup, msg, n);
    free(msg);
}

static void test_header_truncated_everywhere(void **state)
{
    (void)state;
    unsigned char msg[WIRE_DONE_SIZE];
    wire_encode_done(msg, 1.5, 0.25, 123456789012ULL);
    expect_truncations_rejected(dec_peek, msg, WIRE_HEADER);
}

static void test_trailing_byte_rejected(void **state)
{
    (void)state;
    unsigned char msg[256] = {0};
    size_t n;
    n = sample_work(msg);
    expect_reject(dec_work, msg, n + 1, "work");
    n = sample_result(msg);
    expect_reject(dec_result, msg, n + 1, "result");
    wire_encode_error(msg, 1, "m");
    expect_reject(dec_error, msg, wire_error_size("m") + 1, "error");
    wire_encode_stop(msg, 0);
    expect_reject(dec_stop, msg, WIRE_STOP_SIZE + 1, "stop");
}

static void test_setup_trailing_byte_rejected(void **state)
{
    (void)state;
    size_t n;
    unsigned char *msg = sample_setup(&n), *longer = calloc(n + 1, 1);
    assert_non_null(longer);
    memcpy(longer, msg, n);
    expect_reject(dec_setup, longer, n + 1, "setup");
    free(longer);
    free(msg);
}

/* ---- bad headers -------------------------------------------------------- */

static void test_bad_magic(void **state)
{
    (void)state;
    unsigned char msg[WIRE_STOP_SIZE];
    for (size_t i = 0; i < 4; i++) {
        wire_encode_stop(msg, 0);
        msg[i] ^= 0x20;
        expect_reject(dec_stop, msg, sizeof msg, "magic");
        expect_reject(dec_peek, msg, sizeof msg, "magic");
    }
}

static void test_bad_version(void **state)
{
    (void)state;
    unsigned char msg[WIRE_STOP_SIZE];
    wire_encode_stop(msg, 0);
    msg[4] = 3;                 /* the previous version */
    expect_reject(dec_stop, msg, sizeof msg, "version 3");
    wire_encode_stop(msg, 0);
    msg[5] = 1;                 /* version 257 */
    expect_reject(dec_stop, msg, sizeof msg, "version");
}

/* FILES, CHECK and GO (worker_reads = all) round-trip; a FILES that
 * claims more files than its bytes can hold, an empty one, and a GO or
 * CHECK other than 0 or 1 are refused. */
static void test_files_check_go(void **state)
{
    (void)state;
    char *paths[] = {"/data/a.h5", "/data/sub/b.h5"};
    struct fileid ids[] = {{1234, 1700000000, 5, 0x1122334455667788ull},
                           {99, -1, 999999999, 7}};
    struct wire_files f = {2, paths, ids}, d;
    struct h5b_error err = {""};
    size_t n = wire_files_size(&f);
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    wire_encode_files(buf, &f);
    assert_int_equal(wire_decode_files(buf, n, &d, &err), 0);
    assert_int_equal(d.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(d.path[i], paths[i]);
        assert_memory_equal(&d.id[i], &ids[i], sizeof ids[i]);
    }
    wire_files_free(&d);
    buf[8] = 200;       /* 200 files in a few bytes */
    assert_true(wire_decode_files(buf, n, &d, &err) < 0);
    assert_null(d.path);
    struct wire_files none = {0, NULL, NULL};
    unsigned char empty[WIRE_HEADER + 4];
    wire_encode_files(empty, &none);
    assert_true(wire_decode_files(empty, sizeof empty, &d, &err) < 0);
    free(buf);
    unsigned char go[WIRE_GO_SIZE];
    int32_t v = -1;
    wire_encode_go(go, 1);
    assert_int_equal(wire_decode_go(go, sizeof go, &v, &err), 0);
    assert_int_equal(v, 1);
    wire_encode_go(go, 2);
    assert_true(wire_decode_go(go, sizeof go, &v, &err) < 0);
    char why[64];
    unsigned char chk[256];
    wire_encode_check(chk, 0, "a.h5: size 1, rank 0 sees 2");
    assert_int_equal(wire_decode_check(chk, wire_check_size("a.h5: size 1, "
                                       "rank 0 sees 2"), &v, why, sizeof why,
                                       &err), 0);
    assert_int_equal(v, 0);
    assert_string_equal(why, "a.h5: size 1, rank 0 sees 2");
}

/* A read request is exactly WIRE_READ_SIZE bytes, outside the pool. */
static void test_work_read_request(void **state)
{
    (void)state;
    unsigned char msg[WIRE_WORK_HEADER + WIRE_READ_SIZE];
    struct wire_work w = {.index = 3, .nrec = 10, .payload_len =
                          WIRE_READ_SIZE, .form = WIRE_FORM_READ};
    struct wire_read r = {2, 4096, 7}, got;
    struct wire_work d;
    struct h5b_error err = {""};
    wire_encode_work(msg, &w);
    wire_put_read(msg + WIRE_WORK_HEADER, &r);
    assert_int_equal(wire_decode_work(msg, sizeof msg, &d, &err), 0);
    wire_get_read(d.payload, &got);
    assert_memory_equal(&got, &r, sizeof r);
    w.payload_len = WIRE_READ_SIZE - 8;
    wire_encode_work(msg, &w);
    expect_reject(dec_work, msg, WIRE_WORK_HEADER + WIRE_READ_SIZE - 8,
                  "work");
}

static void test_unknown_kinds(void **state)
{
    (void)state;
    unsigned char msg[WIRE_DONE_SIZE];
    const unsigned kinds[] = {0, WIRE_GO + 1, 0x100 | WIRE_STOP, 0xffff};
    for (size_t i = 0; i < 4; i++) {
        wire_encode_done(msg, 1.5, 0.25, 123456789012ULL);
        msg[6] = (unsigned char)(kinds[i] & 0xff);
        msg[7] = (unsigned char)(kinds[i] >> 8);
        expect_reject(dec_peek, msg, sizeof msg, "kind");
    }
}

static void test_wrong_kind_for_each_decoder(void **state)
{
    (void)state;
    unsigned char stop[WIRE_STOP_SIZE], work[WIRE_WORK_HEADER + WORK_PAYLOAD];
    wire_encode_stop(stop, 0);
    sample_work(work);
    expect_reject(dec_work, stop, sizeof stop, "work");
    expect_reject(dec_result, stop, sizeof stop, "result");
    expect_reject(dec_error, stop, sizeof stop, "error");
    expect_reject(dec_setup, stop, sizeof stop, "setup");
    expect_reject(dec_stop, work, sizeof work, "stop");
}

/* ---- lengths that lie --------------------------------------------------- */

static void test_work_payload_len_too_big(void **state)
{
    (void)state;
    unsigned char msg[WIRE_WORK_HEADER + WORK_PAYLOAD];
    size_t n = sample_work(msg);
    put_le64(msg + 40, WORK_PAYLOAD + 1);
    expect_reject(dec_work, msg, n, "work");
    put_le64(msg + 40, UINT64_MAX);
    expect_reject(dec_work, msg, n, "work");
}

static void test_work_payload_len_too_small(void **state)
{
    (void)state;
    unsigned char msg[WIRE_WORK_HEADER + WORK_PAYLOAD];
    size_t n = sample_work(msg);
    put_le64(msg + 40, WORK_PAYLOAD - 1);
    expect_reject(dec_work, msg, n, "work");
}

static void test_result_state_len_lies(void **state)
{
    (void)state;
    unsigned char msg[WIRE_RESULT_HEADER + RESULT_STATE];
    size_t n = sample_result(msg);
    put_le64(msg + 16, RESULT_STATE + 1);
    expect_reject(dec_result, msg, n, "result");
    put_le64(msg + 16, RESULT_STATE - 1);
    expect_reject(dec_result, msg, n, "result");
    put_le64(msg + 16, UINT64_MAX);
    expect_reject(dec_result, msg, n, "result");
}

static void test_error_string_len_lies(void **state)
{
    (void)state;
    unsigned char msg[64];
    size_t n = wire_error_size("hello");
    wire_encode_error(msg, 1, "hello");
    put_le32(msg + 12, 6);
    expect_reject(dec_error, msg, n, "error");
    put_le32(msg + 12, 4);
    expect_reject(dec_error, msg, n, "error");
    put_le32(msg + 12, UINT32_MAX);
    expect_reject(dec_error, msg, n, "error");
}

static void test_error_string_over_max_string(void **state)
{
    (void)state;
    size_t n = WIRE_HEADER + 8 + WIRE_MAX_STRING + 1;
    unsigned char *msg = calloc(n, 1);
    assert_non_null(msg);
    wire_encode_error(msg, 1, "");
    put_le32(msg + 12, WIRE_MAX_STRING + 1);   /* and the bytes are there */
    expect_reject(dec_error, msg, n, "error");
    free(msg);
}

/* Offset of the length of the first entry's section string: after the
 * dims, the column count and columns (name, type, offset, CF flags and six
 * numbers each), and the entry count. */
static size_t first_string_offset(const struct wire_setup *s)
{
    size_t off = SETUP_DIMS + 8 * (size_t)s->cell_rank + 4;
    for (size_t i = 0; i < s->ncol; i++)
        off += 4 + strlen(s->cols[i].name) + 4 + 4 + 4 + 4 + 6 * 8 + 4 +
               strlen(s->cols[i].hist_range) + 4 +
               strlen(s->cols[i].time_units) + 4 +
               strlen(s->cols[i].calendar);
    return off + 4;
}

static void test_setup_string_len_past_end(void **state)
{
    (void)state;
    size_t n;
    unsigned char *msg = sample_setup(&n);
    struct wire_setup s = sample_setup_struct();
    size_t off = first_string_offset(&s);
    put_le32(msg + off, (uint32_t)(n - off - 4 + 1));
    expect_reject(dec_setup, msg, n, "setup");
    put_le32(msg + off, UINT32_MAX);
    expect_reject(dec_setup, msg, n, "setup");
    free(msg);
}

static void test_setup_string_over_max_string(void **state)
{
    (void)state;
    struct wire_setup s = sample_setup_struct();
    s.nentries = 1;
    size_t off = first_string_offset(&s);
    size_t n = off + 4 + WIRE_MAX_STRING + 1 + 4 + 4 + 8; /* + nweights 0 */
    unsigned char *msg = calloc(n, 1);
    assert_non_null(msg);
    s.nentries = 0;
    wire_encode_setup(msg, &s);                /* header and dims */
    put_le32(msg + off - 4, 1);                /* one entry */
    put_le32(msg + off, WIRE_MAX_STRING + 1);  /* section: bytes present */
    memset(msg + off + 4, 's', WIRE_MAX_STRING + 1);
    /* key and value: empty strings (zero lengths from calloc) */
    expect_reject(dec_setup, msg, n, "setup");
    put_le32(msg + off, WIRE_MAX_STRING);      /* the same at the limit */
    put_le32(msg + off + 4 + WIRE_MAX_STRING, 0);
    expect_reject(dec_setup, msg, n, "setup"); /* one byte left over */
    expect_accept(dec_setup, msg, n - 1);
    free(msg);
}

static void test_setup_cell_rank_over_max(void **state)
{
    (void)state;
    /* A rank of 33 with all 33 dims present: only the rank check fails. */
    struct wire_setup s = {.elem_bytes = 8, .elems = 1, .ncell = 1};
    size_t n = wire_setup_size(&s) + 8 * (H5B_MAX_RANK + 1);
    unsigned char *msg = calloc(n, 1);
    assert_non_null(msg);
    wire_encode_setup(msg, &s);
    put_le32(msg + SETUP_CELL_RANK, H5B_MAX_RANK + 1);
    expect_reject(dec_setup, msg, n, "setup");
    put_le32(msg + SETUP_CELL_RANK, UINT32_MAX);
    expect_reject(dec_setup, msg, n, "setup");
    free(msg);
}

static void test_setup_entry_count_huge(void **state)
{
    (void)state;
    size_t n;
    unsigned char *msg = sample_setup(&n);
    struct wire_setup s = sample_setup_struct();
    size_t off = first_string_offset(&s) - 4;
    const uint32_t counts[] = {UINT32_MAX, 1u << 31, 4, 1000};
    for (size_t i = 0; i < 4; i++) {
        put_le32(msg + off, counts[i]);
        expect_reject(dec_setup, msg, n, "setup");
    }
    free(msg);
}

static void test_setup_entry_count_too_small(void **state)
{
    (void)state;
    size_t n;
    unsigned char *msg = sample_setup(&n);
    struct wire_setup s = sample_setup_struct();
    put_le32(msg + first_string_offset(&s) - 4, 2);
    expect_reject(dec_setup, msg, n, "setup");
    free(msg);
}

static void test_garbage_never_crashes(void **state)
{
    (void)state;
    static const decode_fn decs[] = {dec_work, dec_result, dec_error,
                                     dec_stop, dec_setup, dec_peek};
    uint64_t x = 42;
    for (int round = 0; round < 3000; round++) {
        unsigned char msg[96];
        size_t n;
        unsigned char *valid = sample_setup(&n);
        size_t len = n < sizeof msg ? n : sizeof msg;
        memcpy(msg, valid, len);
        free(valid);
        /* Flip a few bytes past the header of a valid message. */
        for (int k = 0; k < 3; k++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            msg[WIRE_HEADER + (x >> 33) % (len - WIRE_HEADER)] ^=
                (unsigned char)(x >> 56 | 1);
        }
        for (size_t d = 0; d < 6; d++) {
            struct h5b_error err = {""};
            unsigned char *buf = exact_copy(msg, len);
            int rc = decs[d](buf, len, &err);
            free(buf);
            assert_true(rc == 0 || err.msg[0] != '\0');
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout),
        cmocka_unit_test(test_work_round_trip),
        cmocka_unit_test(test_work_with_empty_payload),
        cmocka_unit_test(test_work_in_shared_pool),
        cmocka_unit_test(test_work_chunks_flag),
        cmocka_unit_test(test_work_file_range),
        cmocka_unit_test(test_result_round_trip),
        cmocka_unit_test(test_error_round_trip),
        cmocka_unit_test(test_error_message_truncated_to_caller_buffer),
        cmocka_unit_test(test_error_longer_than_max_string_is_cut),
        cmocka_unit_test(test_stop_round_trip),
        cmocka_unit_test(test_done_peeks_as_done),
        cmocka_unit_test(test_peek_tells_every_kind),
        cmocka_unit_test(test_setup_round_trip),
        cmocka_unit_test(test_setup_weights),
        cmocka_unit_test(test_setup_max_rank_no_entries),
        cmocka_unit_test(test_work_truncated_everywhere),
        cmocka_unit_test(test_result_truncated_everywhere),
        cmocka_unit_test(test_error_truncated_everywhere),
        cmocka_unit_test(test_stop_truncated_everywhere),
        cmocka_unit_test(test_setup_truncated_everywhere),
        cmocka_unit_test(test_header_truncated_everywhere),
        cmocka_unit_test(test_trailing_byte_rejected),
        cmocka_unit_test(test_setup_trailing_byte_rejected),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_unknown_kinds),
        cmocka_unit_test(test_files_check_go),
        cmocka_unit_test(test_work_read_request),
        cmocka_unit_test(test_wrong_kind_for_each_decoder),
        cmocka_unit_test(test_work_payload_len_too_big),
        cmocka_unit_test(test_work_payload_len_too_small),
        cmocka_unit_test(test_result_state_len_lies),
        cmocka_unit_test(test_error_string_len_lies),
        cmocka_unit_test(test_error_string_over_max_string),
        cmocka_unit_test(test_setup_string_len_past_end),
        cmocka_unit_test(test_setup_string_over_max_string),
        cmocka_unit_test(test_setup_cell_rank_over_max),
        cmocka_unit_test(test_setup_entry_count_huge),
        cmocka_unit_test(test_setup_entry_count_too_small),
        cmocka_unit_test(test_garbage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
