/* fuzz_ckpt.c -- libFuzzer target: the checkpoint loader.
 *
 * A checkpoint ends in a checksum of everything before it, so random
 * bytes would almost never get past it.  Each input is therefore tried
 * twice: as it is, and with its last 8 bytes replaced by the correct
 * checksum, which lets the fuzzer reach the accumulators.  As --resume
 * does, ckpt_peek checks the frame and reads the histogram ranges, then
 * ckpt_decode_tiles decodes the accumulators.  The expected
 * fingerprint, partition count and tile count are taken from the input's
 * own header (so they match) unless it claims more than MAX_TILES tiles;
 * the fingerprint picks the fixture table (fp % FIX_NTABLES) and whether a
 * short-tile table is present ((fp / FIX_NTABLES) & 1).  A checkpoint that decodes must say what was expected,
 * re-encode to bytes that decode again to the same bytes, and its
 * accumulators go through fixture_exercise (merge, encode, finalize).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fixture.h"

#define MAX_TILES 8
/* Header offsets (see checkpoint.h): magic 8, version 4, 0 4, then u64s. */
#define OFF_FINGERPRINT 16
#define OFF_NPARTS 24
#define OFF_NTILES 40
#define HEADER_END 48

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct setup {
    unsigned table;
    struct ckpt_info expect;
    struct ckpt_tables tt;
    struct column_desc cols[TABLE_MAX_COLUMNS];
    size_t ncols;
};

static void check_msg(const struct h5b_error *err)
{
    if (!memchr(err->msg, '\0', sizeof err->msg))
        fixture_die("error message", "not NUL-terminated");
}

static void make_setup(const uint8_t *data, size_t size, struct setup *s)
{
    memset(s, 0, sizeof *s);
    s->expect.ntiles = 1;
    if (size >= HEADER_END) {
        s->expect.fingerprint = h5b_get_u64(data + OFF_FINGERPRINT);
        s->expect.nparts = h5b_get_u64(data + OFF_NPARTS);
        s->expect.ntiles = h5b_get_u64(data + OFF_NTILES);
    }
    if (s->expect.ntiles == 0 || s->expect.ntiles > MAX_TILES)
        s->expect.ntiles = 1;
    s->table = (unsigned)(s->expect.fingerprint % FIX_NTABLES);
    struct table *t = fixture_table(s->table);
    s->tt.t[0] = t;
    s->tt.t[1] = (s->expect.fingerprint / FIX_NTABLES) & 1 ? t : NULL;
    s->tt.ntiles = s->expect.ntiles;
    s->ncols = t->ncol;
    for (size_t c = 0; c < t->ncol; c++)
        s->cols[c] = t->col[c].d;
}

/* Load a checkpoint as --resume does: peek, then the tiles. */
static int load(const uint8_t *data, size_t size, struct setup *s,
                struct ckpt_info *got, struct table_partial *acc,
                struct h5b_error *err)
{
    int rc = ckpt_peek(data, size, &s->expect, got, s->cols, s->ncols, err);
    return rc < 0 ? rc : ckpt_decode_tiles(data, size, &s->tt, acc, err);
}

/* A checkpoint that decoded: re-encode it and decode that again. */
static void round_trip(struct setup *s, const struct ckpt_info *got,
                       const struct table_partial *acc)
{
    struct h5b_error err = {""};
    struct table_partial acc2[MAX_TILES];
    struct ckpt_info got2;
    unsigned char *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    if (ckpt_encode(got, &s->tt, acc, s->cols, s->ncols, &buf, &len,
                    &err) < 0)
        fixture_die("ckpt_encode of a decoded checkpoint", err.msg);
    if (load(buf, len, s, &got2, acc2, &err) < 0)
        fixture_die("loading an encoded checkpoint", err.msg);
    if (ckpt_encode(&got2, &s->tt, acc2, s->cols, s->ncols, &buf2, &len2,
                    &err) < 0)
        fixture_die("ckpt_encode (second)", err.msg);
    if (len != len2 || memcmp(buf, buf2, len) != 0)
        fixture_die("checkpoint round trip", "encodings differ");
    for (uint64_t t = 0; t < s->expect.ntiles; t++)
        table_destroy(fixture_table(s->table), &acc2[t]);
    free(buf);
    free(buf2);
}

static void try_decode(const uint8_t *data, size_t size)
{
    struct h5b_error err = {""};
    struct setup s;
    struct ckpt_info got;
    struct table_partial acc[MAX_TILES];
    make_setup(data, size, &s);
    memset(acc, 0, sizeof acc);
    if (load(data, size, &s, &got, acc, &err) < 0) {
        check_msg(&err);
        for (uint64_t t = 0; t < MAX_TILES; t++)
            if (acc[t].p || acc[t].missing)
                fixture_die("ckpt_decode_tiles", "failure left accumulators");
        return;
    }
    if (got.fingerprint != s.expect.fingerprint ||
        got.nparts != s.expect.nparts || got.ntiles != s.expect.ntiles ||
        got.merged > got.nparts)
        fixture_die("ckpt_peek", "accepted a checkpoint of another run");
    for (size_t c = 0; c < s.ncols; c++)
        if (!memchr(s.cols[c].hist_range, '\0', sizeof s.cols[c].hist_range))
            fixture_die("ckpt_peek", "histogram range not terminated");
    round_trip(&s, &got, acc);
    for (uint64_t t = 0; t < s.expect.ntiles; t++) {
        fixture_exercise(s.table, &acc[t]);
        table_destroy(fixture_table(s.table), &acc[t]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fixture_init();
    try_decode(data, size);
    if (size < 8)
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        fixture_die("malloc", "out of memory");
    memcpy(fixed, data, size);
    h5b_put_u64(fixed + size - 8, ckpt_hash(CKPT_FNV_INIT, fixed, size - 8));
    if (memcmp(fixed, data, size) != 0)
        try_decode(fixed, size);
    free(fixed);
    return 0;
}
