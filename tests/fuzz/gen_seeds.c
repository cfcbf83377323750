/* gen_seeds.c -- write the seed corpora of fuzz_wire, fuzz_ckpt and
 * fuzz_chunk.
 *
 * Usage: gen_seeds WIRE_DIR [CKPT_DIR [CHUNK_DIR]]
 * Writes small valid messages of every kind and encoded partials of every
 * fixture table into WIRE_DIR, (when built with HAVE_CKPT) valid
 * checkpoints into CKPT_DIR, and valid chunk payloads (chunkdec.h, with
 * zlib's own deflate) into CHUNK_DIR.  Also the inputs of crashes found so far that
 * depend on the message format (regress-*), so they stay crashes when the
 * format changes.  Everything is encoded by h5batch's own
 * encoders from deterministic data, so the seeds are reproducible; they
 * are checked in under tests/fuzz/corpus/ (`make fuzz-seeds` rewrites
 * them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "chunkdec.h"
#include "fixture.h"
#include "wire.h"
#ifdef HAVE_CKPT
#include "checkpoint.h"
#endif

static void save(const char *dir, const char *name, const void *buf,
                 size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
        fixture_die("cannot write", path);
}

static void wire_partials(const char *dir)
{
    for (unsigned i = 0; i < FIX_NTABLES; i++) {
        struct table_partial p = {0};
        char name[64];
        size_t len = 0;
        fixture_reduce(i, 1 + i, 100 + i, &p);
        unsigned char *state = fixture_encode(i, &p, &len);
        unsigned char *msg = malloc(WIRE_RESULT_HEADER + len);
        if (!msg)
            fixture_die("malloc", "out of memory");
        /* Bare partial: byte 0 picks the table. */
        msg[0] = (unsigned char)i;
        memcpy(msg + 1, state, len);
        snprintf(name, sizeof name, "partial-table%u", i);
        save(dir, name, msg, len + 1);
        wire_encode_result(msg, i, len);
        memcpy(msg + WIRE_RESULT_HEADER, state, len);
        snprintf(name, sizeof name, "result-table%u", i);
        save(dir, name, msg, WIRE_RESULT_HEADER + len);
        free(msg);
        free(state);
        table_destroy(fixture_table(i), &p);
    }
}

static void wire_small(const char *dir)
{
    unsigned char buf[256];
    struct wire_work w = {.index = 3, .first_record = 48, .nrec = 2,
                          .ncols = 0, .payload_len = 16};
    wire_encode_work(buf, &w);
    memset(buf + WIRE_WORK_HEADER, 0x3f, 16);
    save(dir, "work", buf, WIRE_WORK_HEADER + 16);
    static const char path[] = "data/field.h5";
    struct wire_work d = {.index = 4, .first_record = 64, .nrec = 8,
                          .payload_len = sizeof path - 1, .file_pos = 2048};
    wire_encode_work(buf, &d);
    memcpy(buf + WIRE_WORK_HEADER, path, sizeof path - 1);
    save(dir, "work-file-range", buf, WIRE_WORK_HEADER + sizeof path - 1);
    const char *msg = "worker 2: out of memory for a partial";
    wire_encode_error(buf, 1, msg);
    save(dir, "error", buf, wire_error_size(msg));
    wire_encode_stop(buf, WIRE_STOP_MORE);
    save(dir, "stop", buf, WIRE_STOP_SIZE);
    wire_encode_done(buf, 1.5, 0.25, 123456789);
    save(dir, "done", buf, WIRE_DONE_SIZE);
    /* worker_reads = all: the file list, a node's answer, the go-ahead
     * and a WORK that the worker reads itself. */
    char *paths[] = {"data/a.h5", "data/b.h5"};
    struct fileid ids[] = {{.size = 4096, .mtime_s = 1700000000,
                            .mtime_ns = 5, .head = 0x1234567890abcdefu},
                           {.size = 8192, .mtime_s = 1700000001}};
    struct wire_files f = {.n = 2, .path = paths, .id = ids};
    wire_encode_files(buf, &f);
    save(dir, "files", buf, wire_files_size(&f));
    const char *why = "data/b.h5: size 8192 here, 4096 on rank 0";
    wire_encode_check(buf, 0, why);
    save(dir, "check-differs", buf, wire_check_size(why));
    wire_encode_go(buf, 1);
    save(dir, "go", buf, WIRE_GO_SIZE);
    struct wire_work r = {.index = 5, .first_record = 72, .nrec = 8,
                          .payload_len = WIRE_READ_SIZE,
                          .form = WIRE_FORM_READ};
    struct wire_read rd = {.file = 1, .start = 8, .col0 = 0};
    wire_encode_work(buf, &r);
    wire_put_read(buf + WIRE_WORK_HEADER, &rd);
    save(dir, "work-read", buf, WIRE_WORK_HEADER + WIRE_READ_SIZE);
}

/* The job entries rank 0 would ship with fixture table i. */
static const struct job_entry *setup_entries(unsigned i, size_t *n)
{
    static const struct job_entry plain[] = {
        {"job", "name", "seed"}, {"input", "files", "a.h5 b.h5"},
        {"input", "dataset", "/group/values"},
        {"reduce", "ops", "count sum mean min max histogram quantiles"},
        {"reduce", "histogram_range", "-1, 1"},
        {"reduce", "quantiles", "0.1, 0.9"}, {"run", "prefetch", "3"},
        {"run", "checkpoint", "out.h5.ckpt"},
        {"run", "checkpoint_every", "30"},
        {"output", "file", "out.h5"}};
    static const struct job_entry grouped[] = {
        {"job", "name", "seed"}, {"input", "files", "t.h5"},
        {"input", "dataset", "/table"},
        {"reduce", "ops", "count sum mean var std min max"},
        {"reduce", "group_by", "station"}, {"reduce", "ddof", "1"},
        {"output", "file", "out.h5"}};
    static const struct job_entry keyed[] = {
        {"job", "name", "seed"}, {"input", "files", "tas.nc"},
        {"input", "dataset", "/tas"},
        {"reduce", "ops", "count sum mean var std min max"},
        {"reduce", "group_by", "/month"}, {"output", "file", "out.h5"}};
    static const struct job_entry dist[] = {
        {"job", "name", "seed"}, {"input", "files", "t.h5"},
        {"input", "dataset", "/table"},
        {"reduce", "ops", "count mean histogram quantiles"},
        {"reduce", "group_by", "station"},
        {"reduce", "histogram_range", "-2, 2"},
        {"output", "file", "out.h5"}};
    if (table_whole(fixture_table(i))) {
        *n = sizeof dist / sizeof *dist;
        return dist;
    }
    int g = fixture_table(i)->grouped;
    if (fixture_table(i)->keyed) {
        *n = sizeof keyed / sizeof *keyed;
        return keyed;
    }
    *n = g ? sizeof grouped / sizeof *grouped : sizeof plain / sizeof *plain;
    return g ? grouped : plain;
}

static void wire_setups(const char *dir)
{
    for (unsigned i = 0; i < FIX_NTABLES; i++) {
        struct table *t = fixture_table(i);
        struct column_desc cols[4];
        const struct h5b_op_config *cfg = &t->col[0].set.cfg;
        struct wire_setup s = {.elem_bytes = t->elem_bytes, .elems = t->elems,
                               .ncol = t->ncol, .cols = cols,
                               .ncell = cfg->ncell,
                               .cell_rank = (uint32_t)cfg->cell_rank,
                               .max_payload = 1 << 20, .prefetch = 3,
                               .weights = (double *)cfg->weights,
                               .nweights = cfg->nweights};
        char name[64];
        s.entries = (struct job_entry *)setup_entries(i, &s.nentries);
        for (size_t c = 0; c < t->ncol; c++)
            cols[c] = t->col[c].d;
        for (size_t k = 0; (t->grouped || t->keyed) && k < t->nkey &&
                           s.ncol < 4; k++)
            cols[s.ncol++] = t->key[k];
        memcpy(s.cell_dims, cfg->cell_dims, sizeof s.cell_dims);
        size_t len = wire_setup_size(&s);
        unsigned char *buf = malloc(len);
        if (!buf)
            fixture_die("malloc", "out of memory");
        wire_encode_setup(buf, &s);
        snprintf(name, sizeof name, "setup-table%u", i);
        save(dir, name, buf, len);
        free(buf);
    }
    struct wire_setup quit = {.status = WIRE_SETUP_QUIT};
    unsigned char small[128];
    wire_encode_setup(small, &quit);
    save(dir, "setup-quit", small, wire_setup_size(&quit));
}

/* Regression: a SETUP whose float32 column is wider than the 1-byte
 * element.  table_add's check `offset > elem_bytes - size` wrapped around,
 * accepted it, and table_reduce read past each record (found by fuzz_wire). */
static void wire_regressions(const char *dir)
{
    static const struct job_entry e[] = {
        {"job", "name", "x"}, {"input", "files", "a.h5"},
        {"input", "dataset", "/d"}, {"reduce", "ops", "count min max"},
        {"output", "file", "o.h5"}};
    struct column_desc c = {.name = "wide", .type = H5B_FLOAT32};
    struct wire_setup s = {.elem_bytes = 1, .elems = 41, .ncol = 1,
                           .cols = &c, .ncell = 41, .cell_rank = 1,
                           .cell_dims = {41}, .max_payload = 41,
                           .prefetch = 1, .nentries = 5,
                           .entries = (struct job_entry *)e};
    size_t len = wire_setup_size(&s);
    unsigned char *buf = malloc(len);
    if (!buf)
        fixture_die("malloc", "out of memory");
    wire_encode_setup(buf, &s);
    save(dir, "regress-setup-column-wider-than-element", buf, len);
    free(buf);
}

/* One stored chunk of g at offset off, as HDF5 would store it: the chunk's
 * elements (pattern by position) shuffled and/or deflated per g->filters
 * minus `skipped`, into dst (cap bytes); returns the stored size. */
static size_t stored_chunk(const struct chunk_geom *g, const uint64_t *off,
                           uint32_t skipped, unsigned char *dst, size_t cap)
{
    size_t n = 1;
    for (uint32_t d = 0; d < g->rank; d++)
        n *= (size_t)g->cdims[d];
    size_t bytes = n * g->elem;
    unsigned char *raw = malloc(bytes), *shuf = malloc(bytes);
    if (!raw || !shuf || bytes > cap)
        fixture_die("stored_chunk", "out of memory");
    for (size_t i = 0; i < bytes; i++)
        raw[i] = (unsigned char)(i * 37 + off[0] * 11 + (g->rank > 1 ? off[1]
                                                                : 0));
    unsigned filters = g->filters & ~skipped;
    if (filters & CHUNK_SHUFFLE)
        for (size_t i = 0; i < n; i++)
            for (uint32_t b = 0; b < g->elem; b++)
                shuf[b * n + i] = raw[i * g->elem + b];
    else
        memcpy(shuf, raw, bytes);
    uLongf got = cap;
    if (!(filters & CHUNK_DEFLATE))
        memcpy(dst, shuf, got = bytes);
    else if (compress2(dst, &got, shuf, bytes, 1) != Z_OK)
        fixture_die("compress2", "failed");
    free(raw);
    free(shuf);
    return got;
}

/* A fuzz_chunk input: the expected output size (u32), then the payload of
 * the chunks at offs[0..nchunks) for g's box. */
static void chunk_seed(const char *dir, const char *name,
                       const struct chunk_geom *g, const uint64_t *offs,
                       const uint32_t *skipped, uint64_t nchunks)
{
    size_t cap = 1 << 20, head = chunk_head_size(g, nchunks), pos = 4 + head;
    unsigned char *buf = malloc(cap);
    uint64_t out = g->elem;
    if (!buf)
        fixture_die("chunk_seed", "out of memory");
    for (uint32_t d = 0; d < g->rank; d++)
        out *= g->count[d];
    for (int b = 0; b < 4; b++)
        buf[b] = (unsigned char)(out >> 8 * b);
    chunk_put_head(buf + 4, g, nchunks);
    for (uint64_t k = 0; k < nchunks; k++) {
        const uint64_t *off = offs + k * g->rank;
        size_t n = stored_chunk(g, off, skipped[k], buf + pos, cap - pos);
        chunk_put_entry(buf + 4, g, k, off, n, skipped[k]);
        pos += n;
    }
    save(dir, name, buf, pos);
    free(buf);
}

static void chunk_seeds(const char *dir)
{
    struct chunk_geom one = {1, 8, CHUNK_DEFLATE, "seed-1d.h5", {100}, {32},
                             {10}, {50}};
    static const uint64_t one_offs[] = {0, 32};
    static const uint32_t none[] = {0, 0, 0, 0};
    chunk_seed(dir, "deflate-1d", &one, one_offs, none, 2);
    /* 2-D, shuffle + deflate, box to the end: edge chunks in both dims. */
    struct chunk_geom two = {2, 4, CHUNK_SHUFFLE | CHUNK_DEFLATE,
                             "seed-2d.h5", {20, 7}, {8, 4}, {16, 0}, {4, 7}};
    static const uint64_t two_offs[] = {16, 0, 16, 4};
    chunk_seed(dir, "shuffle-deflate-2d-edges", &two, two_offs, none, 2);
    /* The second chunk was stored with deflate skipped (HDF5's mask). */
    static const uint32_t skip_second[] = {0, CHUNK_DEFLATE};
    chunk_seed(dir, "deflate-skipped", &one, one_offs, skip_second, 2);
}

#ifdef HAVE_CKPT
static void ckpt_seeds(const char *dir)
{
    struct h5b_error err = {""};
    for (unsigned i = 0; i < FIX_NTABLES; i++) {
        for (uint64_t ntiles = 1; ntiles <= 2; ntiles++) {
            struct table *t = fixture_table(i);
            struct table_partial acc[2] = {{0}};
            struct column_desc cols[3];
            /* fuzz_ckpt picks table fingerprint % FIX_NTABLES and a
             * short-tile table when (fingerprint / FIX_NTABLES) is odd. */
            struct ckpt_info info = {.fingerprint = i + FIX_NTABLES *
                                     (0x2468ull + (ntiles == 2)),
                                     .nparts = 10, .merged = 4,
                                     .ntiles = ntiles};
            struct ckpt_tables tt = {{t, ntiles == 2 ? t : NULL}, ntiles};
            unsigned char *buf = NULL;
            size_t len = 0;
            char name[64];
            for (size_t c = 0; c < t->ncol; c++)
                cols[c] = t->col[c].d;
            for (uint64_t k = 0; k < ntiles; k++)
                fixture_reduce(i, 2 + k, 300 + i + k, &acc[k]);
            if (ckpt_encode(&info, &tt, acc, cols, t->ncol, &buf, &len,
                            &err) < 0)
                fixture_die("ckpt_encode", err.msg);
            snprintf(name, sizeof name, "ckpt-table%u-tiles%u", i,
                     (unsigned)ntiles);
            save(dir, name, buf, len);
            free(buf);
            for (uint64_t k = 0; k < ntiles; k++)
                table_destroy(t, &acc[k]);
        }
    }
}
#endif

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_seeds WIRE_DIR [CKPT_DIR [CHUNK_DIR]]\n");
        return 2;
    }
    fixture_init();
    wire_partials(argv[1]);
    wire_small(argv[1]);
    wire_setups(argv[1]);
    wire_regressions(argv[1]);
#ifdef HAVE_CKPT
    if (argc > 2)
        ckpt_seeds(argv[2]);
#endif
    if (argc > 3)
        chunk_seeds(argv[3]);
    return 0;
}
