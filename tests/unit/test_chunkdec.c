/* test_chunkdec.c -- decoding a partition sent as compressed chunks.
 *
 * The chunks are made here the way HDF5 stores them (shuffle: byte j of
 * element i at j * n + i; deflate: zlib's compress2 of the whole chunk,
 * edge chunks full size), from values given by a closed form, so the
 * expected values never come from the decoder.  HDF5's own chunks are
 * checked end to end by the integration tests (h5py-written deflate and
 * shuffle datasets, decoded here and on rank 0, byte-identical results).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "chunkdec.h"

/* The dataset: 10 x 7 x 5 float64, value(i, j, k) = 100 i + 10 j + k,
 * chunks 4 x 3 x 5. */
static const uint64_t DIMS[3] = {10, 7, 5}, CDIMS[3] = {4, 3, 5};
#define CHUNK_VALUES (4 * 3 * 5)

static double value(uint64_t i, uint64_t j, uint64_t k)
{
    return 100.0 * (double)i + 10.0 * (double)j + (double)k;
}

/* The stored bytes of the chunk at off (shuffled, then deflated unless
 * raw_deflate); *n gets their count.  Outside the dataset: -1 (HDF5
 * stores edge chunks whole). */
static unsigned char *stored_chunk(const uint64_t *off, int raw_deflate,
                                   uint64_t *n)
{
    double v[CHUNK_VALUES];
    unsigned char sh[sizeof v];
    size_t e = 0;
    for (uint64_t a = 0; a < CDIMS[0]; a++)
        for (uint64_t b = 0; b < CDIMS[1]; b++)
            for (uint64_t c = 0; c < CDIMS[2]; c++, e++) {
                uint64_t i = off[0] + a, j = off[1] + b, k = off[2] + c;
                v[e] = i < DIMS[0] && j < DIMS[1] ? value(i, j, k) : -1.0;
            }
    const unsigned char *bytes = (const unsigned char *)v;
    for (size_t x = 0; x < CHUNK_VALUES; x++)
        for (size_t b = 0; b < 8; b++)
            sh[b * CHUNK_VALUES + x] = bytes[x * 8 + b];
    uLongf cap = compressBound(sizeof sh);
    unsigned char *out = malloc(cap > sizeof sh ? cap : sizeof sh);
    assert_non_null(out);
    if (raw_deflate) {
        memcpy(out, sh, sizeof sh);
        *n = sizeof sh;
    } else {
        assert_int_equal(compress2(out, &cap, sh, sizeof sh, 1), Z_OK);
        *n = cap;
    }
    return out;
}

/* A payload for the box start/count; chunk number raw (or -1) is stored
 * without deflate, as HDF5 does when the filter is skipped for it. */
static unsigned char *payload(const uint64_t *start, const uint64_t *count,
                              int raw, size_t *len, uint64_t *nchunks)
{
    struct chunk_geom g = {3, 8, CHUNK_SHUFFLE | CHUNK_DEFLATE, "test.h5",
                           {0}, {0}, {0}, {0}};
    uint64_t first[3], n[3], total = 1;
    for (int d = 0; d < 3; d++) {
        g.dims[d] = DIMS[d];
        g.cdims[d] = CDIMS[d];
        g.start[d] = start[d];
        g.count[d] = count[d];
        first[d] = start[d] / CDIMS[d];
        n[d] = (start[d] + count[d] - 1) / CDIMS[d] - first[d] + 1;
        total *= n[d];
    }
    size_t head = chunk_head_size(&g, total), pos = head;
    unsigned char *buf = malloc(head + total * 2 * CHUNK_VALUES * 8);
    assert_non_null(buf);
    uint64_t k = 0;
    for (uint64_t a = 0; a < n[0]; a++)
        for (uint64_t b = 0; b < n[1]; b++)
            for (uint64_t c = 0; c < n[2]; c++, k++) {
                uint64_t off[3] = {(first[0] + a) * CDIMS[0],
                                   (first[1] + b) * CDIMS[1],
                                   (first[2] + c) * CDIMS[2]};
                uint64_t sz;
                unsigned char *ch = stored_chunk(off, (int)k == raw, &sz);
                memcpy(buf + pos, ch, sz);
                chunk_put_entry(buf, &g, k, off, sz,
                                (int)k == raw ? CHUNK_DEFLATE : 0);
                pos += sz;
                free(ch);
            }
    chunk_put_head(buf, &g, total);
    *len = pos;
    *nchunks = total;
    return buf;
}

/* Decode the box and compare every value with the closed form. */
static void check_box(const uint64_t *start, const uint64_t *count, int raw)
{
    size_t len;
    uint64_t nchunks, nv = count[0] * count[1] * count[2];
    unsigned char *p = payload(start, count, raw, &len, &nchunks);
    double *out = malloc(nv * sizeof *out);
    struct chunk_scratch s = {0};
    struct h5b_error err = {""};
    assert_non_null(out);
    assert_int_equal(chunk_decode(p, len, out, nv * 8, &s, &err), 0);
    size_t e = 0;
    for (uint64_t i = 0; i < count[0]; i++)
        for (uint64_t j = 0; j < count[1]; j++)
            for (uint64_t k = 0; k < count[2]; k++, e++)
                assert_true(out[e] == value(start[0] + i, start[1] + j,
                                            start[2] + k));
    chunk_scratch_free(&s);
    free(out);
    free(p);
}

static void test_whole_rows_of_chunks(void **state)
{
    (void)state;
    check_box((const uint64_t[]){4, 0, 0}, (const uint64_t[]){4, 7, 5}, -1);
}

static void test_edge_chunks_and_a_tile(void **state)
{
    (void)state;
    /* Rows 8-9 of chunk rows 8-11 (past the end), columns 3-6 of chunk
     * columns 3-5 and 6-8 (past the end). */
    check_box((const uint64_t[]){8, 3, 0}, (const uint64_t[]){2, 4, 5}, -1);
    check_box((const uint64_t[]){0, 0, 0}, (const uint64_t[]){10, 7, 5}, -1);
}

static void test_chunk_with_deflate_skipped(void **state)
{
    (void)state;
    check_box((const uint64_t[]){0, 0, 0}, (const uint64_t[]){10, 7, 5}, 4);
}

/* Every truncation fails with a message; a flipped byte in the first
 * chunk's data fails with a message naming the file and the chunk (zlib's
 * checksum catches it) -- never a crash (ASan in SANITIZE=1 builds). */
static void test_truncated_and_corrupt_payloads(void **state)
{
    (void)state;
    const uint64_t start[3] = {4, 0, 0}, count[3] = {4, 7, 5};
    size_t len, nv = 4 * 7 * 5;
    uint64_t nchunks;
    unsigned char *p = payload(start, count, -1, &len, &nchunks);
    double *out = malloc(nv * sizeof *out);
    struct chunk_scratch s = {0};
    assert_non_null(out);
    for (size_t cut = 0; cut < len; cut++) {
        struct h5b_error err = {""};
        assert_int_not_equal(chunk_decode(p, cut, out, nv * 8, &s, &err), 0);
        assert_true(err.msg[0] != '\0');
    }
    struct chunk_geom g = {3, 8, 3, "test.h5", {0}, {0}, {0}, {0}};
    size_t data = chunk_head_size(&g, nchunks);
    for (size_t at = data; at < data + 40; at++) {
        struct h5b_error err = {""};
        p[at] ^= 0x5a;
        if (chunk_decode(p, len, out, nv * 8, &s, &err) != 0)
            assert_non_null(strstr(err.msg, "test.h5: chunk 0"));
        p[at] ^= 0x5a;
    }
    chunk_scratch_free(&s);
    free(out);
    free(p);
}

/* A payload whose chunks do not cover the box, or for another box. */
static void test_wrong_coverage_and_size(void **state)
{
    (void)state;
    const uint64_t start[3] = {4, 0, 0}, count[3] = {4, 7, 5};
    size_t len, nv = 4 * 7 * 5;
    uint64_t nchunks;
    unsigned char *p = payload(start, count, -1, &len, &nchunks);
    double *out = malloc(nv * sizeof *out);
    struct chunk_scratch s = {0};
    struct h5b_error err = {""};
    assert_non_null(out);
    assert_int_not_equal(chunk_decode(p, len, out, nv * 8 - 8, &s, &err), 0);
    assert_non_null(strstr(err.msg, "expected"));
    /* Claim the box is one row longer: the chunks no longer cover it. */
    struct chunk_geom g = {3, 8, 3, "test.h5", {10, 7, 5}, {4, 3, 5},
                           {4, 0, 0}, {5, 7, 5}};
    chunk_put_head(p, &g, nchunks);
    err.msg[0] = '\0';
    assert_int_not_equal(chunk_decode(p, len, out, nv * 8, &s, &err), 0);
    assert_true(err.msg[0] != '\0');
    chunk_scratch_free(&s);
    free(out);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_rows_of_chunks),
        cmocka_unit_test(test_edge_chunks_and_a_tile),
        cmocka_unit_test(test_chunk_with_deflate_skipped),
        cmocka_unit_test(test_truncated_and_corrupt_payloads),
        cmocka_unit_test(test_wrong_coverage_and_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
