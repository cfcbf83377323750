/* test_op_weighted.c -- unit tests of the weighted statistics ([reduce]
 * weights): the op_weighted operator through the opset API, and the
 * matching and expansion of weights (weights.h).
 *
 * Every expected value is closed form.  Values repeat the pattern
 * x = position p of the value in its record (0, 1, 2, 3) under weights
 * w = (1, 2, 3, 4): mean = 20/10 = 2, E[x^2] = 50/10 = 5, var = 1; with the
 * values at p = 3 made NaN (no weight): mean = 8/6 = 4/3, var = 14/6 -
 * 16/9 = 5/9.  Pieces of odd sizes go through encode/decode and merge in
 * order, as rank 0 merges partitions, so the weight of a value must follow
 * its global place (first_record), not its place in the piece.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "err.h"
#include "op.h"
#include "opset_pieces.h"
#include "weights.h"

static const char *const ops[] = {"count", "sum", "mean", "var", "std",
                                  NULL};
static const double W4[4] = {1, 2, 3, 4};

/* ---- a sink keeping the first value of each result ---------------------- */

struct got {
    uint64_t ncell;         /* values per result (set before finalize) */
    size_t n;
    char name[16][32];
    double v[16][4];        /* up to 4 cells */
    h5b_type type[16];
};

static int got_put_cells(void *ctx, const char *name, h5b_type type,
                         int extra_rank, const uint64_t *extra_dims,
                         const void *data, struct h5b_error *err)
{
    struct got *g = ctx;
    (void)extra_rank;
    (void)extra_dims;
    (void)err;
    assert_true(g->n < 16);
    snprintf(g->name[g->n], sizeof g->name[g->n], "%s", name);
    g->type[g->n] = type;
    for (uint64_t j = 0; j < g->ncell && j < 4; j++)
        g->v[g->n][j] = type == H5B_UINT64 ? (double)((const uint64_t *)data)[j]
                                           : ((const double *)data)[j];
    g->n++;
    return 0;
}

static int got_put(void *ctx, const char *name, h5b_type type, int rank,
                   const uint64_t *dims, const void *data,
                   struct h5b_error *err)
{
    (void)ctx; (void)name; (void)type; (void)rank; (void)dims; (void)data;
    (void)err;
    return 0;
}

static double value(const struct got *g, const char *name, int cell)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->name[i], name) == 0)
            return g->v[i][cell];
    fail_msg("finalize wrote no '%s'", name);
    return NAN;
}

static int has(const struct got *g, const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->name[i], name) == 0)
            return 1;
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void init(struct opset *set, uint64_t ncell, const double *w,
                 uint64_t nw)
{
    struct h5b_op_config shape = {.type = H5B_FLOAT64, .ncell = ncell,
                                  .cell_rank = ncell > 1, .weights = w,
                                  .nweights = nw};
    struct h5b_error err = {""};
    shape.cell_dims[0] = ncell;
    if (opset_init(set, &shape, ops, &err) != 0)
        fail_msg("opset_init: %s", err.msg);
}

/* Reduce x[0..n) (ncell-value records) cut at cuts[] (ascending record
 * indices, ending at the record count), each piece through encode and
 * decode, merged in order; finalize into g. */
static void run_pieces(const struct opset *set, const double *x, uint64_t nrec,
                       const uint64_t *cuts, size_t ncuts, struct got *g)
{
    struct h5b_error err = {""};
    struct partial acc;
    assert_int_equal(cuts[ncuts - 1], nrec);
    pieces_merge(set, x, cuts, ncuts, &acc);
    struct h5b_sink sink = {g, got_put_cells, got_put};
    memset(g, 0, sizeof *g);
    g->ncell = set->cfg.ncell;
    assert_int_equal(opset_finalize(set, &acc, &sink, &err), 0);
    opset_destroy(set, &acc);
}

/* n values x_i = shift + (i % 4), NaN where i % 4 == nan_at (-1: none). */
static double *pattern(uint64_t n, double shift, int nan_at)
{
    double *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (uint64_t i = 0; i < n; i++)
        x[i] = (int)(i % 4) == nan_at ? NAN : shift + (double)(i % 4);
    return x;
}

/* ---- the operator ------------------------------------------------------- */

/* axis = all: one cell, the weight following the value's place in its
 * 4-value record across pieces cut off the record boundaries. */
static void test_closed_form_pieces(void **state)
{
    (void)state;
    const uint64_t n = 4000;
    const uint64_t cuts[] = {7, 101, 2999, 4000};
    struct opset set;
    struct got g;
    double *x = pattern(n, 0, -1);
    init(&set, 1, W4, 4);
    run_pieces(&set, x, n, cuts, 4, &g);
    assert_close(value(&g, "weight_sum", 0), 10.0 * 1000, 1e-15);
    assert_close(value(&g, "sum", 0), 20.0 * 1000, 1e-15);
    assert_close(value(&g, "mean", 0), 2.0, 1e-15);
    assert_close(value(&g, "var", 0), 1.0, 1e-13);
    assert_close(value(&g, "std", 0), 1.0, 1e-13);
    assert_close(value(&g, "count", 0), 4000, 0);
    free(x);
}

/* NaN carries no weight; count is still the count of values. */
static void test_nan_no_weight(void **state)
{
    (void)state;
    const uint64_t n = 4000;
    const uint64_t cuts[] = {1, 2001, 4000};
    struct opset set;
    struct got g;
    double *x = pattern(n, 0, 3);
    init(&set, 1, W4, 4);
    run_pieces(&set, x, n, cuts, 3, &g);
    assert_close(value(&g, "weight_sum", 0), 6.0 * 1000, 1e-15);
    assert_close(value(&g, "mean", 0), 4.0 / 3.0, 1e-15);
    assert_close(value(&g, "var", 0), 5.0 / 9.0, 1e-13);
    assert_close(value(&g, "count", 0), 3000, 0);
    free(x);
}

/* 1e9 + pattern: the shift keeps the variance's digits. */
static void test_large_offset(void **state)
{
    (void)state;
    const uint64_t n = 40000;
    const uint64_t cuts[] = {333, 20001, 40000};
    struct opset set;
    struct got g;
    double *x = pattern(n, 1e9, -1);
    init(&set, 1, W4, 4);
    run_pieces(&set, x, n, cuts, 3, &g);
    assert_close(value(&g, "mean", 0), 1e9 + 2, 1e-15);
    assert_close(value(&g, "var", 0), 1.0, 1e-12);
    free(x);
}

/* Several cells with one weight each: a cell of weight 0 has no weighted
 * mean (NaN) and weight_sum 0; the others are plain means.  Moments
 * leaves mean to the weighted operator (written once). */
static void test_cells_zero_weight(void **state)
{
    (void)state;
    const double w[3] = {1, 0, 2};
    const uint64_t nrec = 10, cuts[] = {3, 10};
    double x[30];
    struct opset set;
    struct got g;
    for (int i = 0; i < 30; i++)
        x[i] = (double)(i / 3) * (i % 3 + 1);      /* cell j: r * (j + 1) */
    init(&set, 3, w, 3);
    run_pieces(&set, x, nrec, cuts, 2, &g);
    assert_close(value(&g, "mean", 0), 4.5, 1e-15);
    assert_true(isnan(value(&g, "mean", 1)));
    assert_close(value(&g, "mean", 2), 13.5, 1e-15);
    assert_close(value(&g, "weight_sum", 1), 0, 0);
    assert_close(value(&g, "weight_sum", 2), 20, 0);
    assert_close(value(&g, "var", 2), 8.25 * 9, 1e-14);  /* (r*3), r=0..9 */
    size_t means = 0;
    for (size_t i = 0; i < g.n; i++)
        means += strcmp(g.name[i], "mean") == 0;
    assert_int_equal(means, 1);
    assert_true(has(&g, "count"));
}

/* int16 values widen to double; a block starting at record 5 takes the
 * weights from place 5 % 4 = 1 on: x = (i + 1) % 4 under w = (1, 2, 3, 4)
 * is the pattern again. */
static void test_int16_offset(void **state)
{
    (void)state;
    int16_t x[400];
    struct h5b_op_config shape = {.type = H5B_INT16, .ncell = 1,
                                  .weights = W4, .nweights = 4};
    struct opset set;
    struct partial p;
    struct h5b_error err = {""};
    struct got g;
    for (int i = 0; i < 400; i++)
        x[i] = (int16_t)((i + 1) % 4);
    assert_int_equal(opset_init(&set, &shape, ops, &err), 0);
    assert_int_equal(opset_reduce(&set, x, sizeof x, 5, &p, &err), 0);
    struct h5b_sink sink = {&g, got_put_cells, got_put};
    memset(&g, 0, sizeof g);
    g.ncell = 1;
    assert_int_equal(opset_finalize(&set, &p, &sink, &err), 0);
    assert_close(value(&g, "mean", 0), 2.0, 1e-15);
    assert_close(value(&g, "var", 0), 1.0, 1e-14);
    assert_close(value(&g, "weight_sum", 0), 1000, 0);
    opset_destroy(&set, &p);
}

/* decode refuses a wrong length and a negative weight sum. */
static void test_decode_checks(void **state)
{
    (void)state;
    struct opset set;
    struct partial p, q;
    struct h5b_error err = {""};
    double x[4] = {0, 1, 2, 3};
    init(&set, 1, W4, 4);
    assert_int_equal(opset_reduce(&set, x, sizeof x, 0, &p, &err), 0);
    size_t len = opset_encoded_size(&set, &p);
    unsigned char *buf = malloc(len);
    assert_int_equal(opset_encode(&set, &p, buf, len, &err), 0);
    assert_int_equal(opset_create(&set, &q, &err), 0);
    assert_int_not_equal(opset_decode(&set, &q, buf, len - 1, &err), 0);
    /* the weighted state is last: its first field is the weight sum */
    h5b_put_f64(buf + len - 56, -1.0);
    assert_int_not_equal(opset_decode(&set, &q, buf, len, &err), 0);
    assert_contains(err.msg, "negative or NaN weight sum");
    opset_destroy(&set, &p);
    opset_destroy(&set, &q);
    free(buf);
}

/* ---- matching and expansion --------------------------------------------- */

static struct weights_cells cells_latlon(void)
{
    struct weights_cells c = {.rank = 2, .len = {3, 4},
                              .name = {"lat", "lon"}};
    c.range[0] = (struct select_range){0, 3, 1};
    c.range[1] = (struct select_range){0, 4, 1};
    return c;
}

static void test_match_rules(void **state)
{
    (void)state;
    char why[512];
    struct weights_cells c = cells_latlon();
    struct weights_array a = {.rank = 1, .dims = {3}};
    assert_int_equal(weights_match(&a, &c, why, sizeof why), 0);   /* length */
    assert_int_equal(a.along[0], 0);
    a = (struct weights_array){.rank = 1, .dims = {4}};
    snprintf(a.name[0], sizeof a.name[0], "lon");
    assert_int_equal(weights_match(&a, &c, why, sizeof why), 0);   /* name */
    assert_int_equal(a.along[0], 1);
    a = (struct weights_array){.rank = 2, .dims = {3, 1}};
    assert_int_equal(weights_match(&a, &c, why, sizeof why), 0);   /* numpy */
    assert_int_equal(a.along[0], 0);
    assert_int_equal(a.along[1], -1);
    a = (struct weights_array){.rank = 2, .dims = {4, 3}};
    assert_int_equal(weights_match(&a, &c, why, sizeof why), -1);
    assert_contains(why, "not broadcastable to the cell shape (lat=3, lon=4)");
    c.len[1] = 3;
    a = (struct weights_array){.rank = 1, .dims = {3}};
    assert_int_equal(weights_match(&a, &c, why, sizeof why), -1);
    assert_contains(why, "matches 2 cell dimensions");
}

/* Weights follow a selection: lat 1..2, lon 0, 2 of a (3, 4) area. */
static void test_expand_selection(void **state)
{
    (void)state;
    char why[512];
    double area[12], out[4];
    for (int i = 0; i < 12; i++)
        area[i] = i;
    struct weights_cells c = cells_latlon();
    c.range[0] = (struct select_range){1, 2, 1};
    c.range[1] = (struct select_range){0, 2, 2};
    struct weights_array a = {.rank = 2, .dims = {3, 4}};
    assert_int_equal(weights_match(&a, &c, why, sizeof why), 0);
    assert_int_equal(weights_ncells(&c), 4);
    assert_int_equal(weights_expand(area, &a, &c, out, why, sizeof why), 0);
    assert_close(out[0], 4, 0);
    assert_close(out[1], 6, 0);
    assert_close(out[2], 8, 0);
    assert_close(out[3], 10, 0);
    double zero[12] = {0};
    assert_int_equal(weights_expand(zero, &a, &c, out, why, sizeof why), -1);
    assert_contains(why, "all 0");
}

static void test_check_and_coslat(void **state)
{
    (void)state;
    char why[512];
    double bad[3] = {1, -0.5, 2}, lat[3] = {-90, 0, 60}, w[3];
    assert_int_equal(weights_check(bad, 3, why, sizeof why), -1);
    assert_contains(why, "index 1 is negative");
    bad[1] = NAN;
    assert_int_equal(weights_check(bad, 3, why, sizeof why), -1);
    assert_contains(why, "NaN");
    assert_int_equal(weights_coslat(lat, 3, w, why, sizeof why), 0);
    assert_close(w[1], 1, 0);
    assert_close(w[2], 0.5, 1e-15);
    assert_true(w[0] >= 0 && w[0] < 1e-16);
    lat[2] = 91;
    assert_int_equal(weights_coslat(lat, 3, w, why, sizeof why), -1);
    assert_contains(why, "not in -90..90");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_form_pieces),
        cmocka_unit_test(test_nan_no_weight),
        cmocka_unit_test(test_large_offset),
        cmocka_unit_test(test_cells_zero_weight),
        cmocka_unit_test(test_int16_offset),
        cmocka_unit_test(test_decode_checks),
        cmocka_unit_test(test_match_rules),
        cmocka_unit_test(test_expand_selection),
        cmocka_unit_test(test_check_and_coslat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
