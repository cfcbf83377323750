/* opset_pieces.h -- what rank 0 does with partitions, for the operator
 * unit tests: each piece reduced, shipped through encode/decode, merged in
 * order into an accumulator.  Static, as unit.h: each test is built
 * alone. */
#ifndef H5B_OPSET_PIECES_H
#define H5B_OPSET_PIECES_H

#include "unit.h"

#include "op.h"

/* Create acc and merge into it the float64 records x (set->cfg.ncell
 * values each) cut at cuts[0..ncuts) (ascending record indices, the last
 * the record count), each piece through encode and decode. */
static void pieces_merge(const struct opset *set, const double *x,
                         const uint64_t *cuts, size_t ncuts,
                         struct partial *acc)
{
    struct h5b_error err = {""};
    struct partial p, q;
    uint64_t nc = set->cfg.ncell, at = 0;
    assert_int_equal(opset_create(set, acc, &err), 0);
    for (size_t k = 0; k < ncuts; k++) {
        uint64_t n = cuts[k] - at;
        assert_int_equal(opset_reduce(set, x + at * nc, n * nc * 8, at, &p,
                                      &err), 0);
        size_t len = opset_encoded_size(set, &p);
        unsigned char *buf = malloc(len);
        assert_non_null(buf);
        assert_int_equal(opset_encode(set, &p, buf, len, &err), 0);
        assert_int_equal(opset_create(set, &q, &err), 0);
        assert_int_equal(opset_decode(set, &q, buf, len, &err), 0);
        assert_int_equal(opset_merge(set, acc, &q, &err), 0);
        opset_destroy(set, &p);
        opset_destroy(set, &q);
        free(buf);
        at = cuts[k];
    }
}

#endif
