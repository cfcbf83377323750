/* test_op_records.c -- unit tests of axis = records (op_records) through
 * the opset API.
 *
 * Closed form: record r of 4 cells holds x = r + j (j = 0..3): count 4,
 * sum 4r + 6, mean r + 1.5, var 1.25 (ddof 0) or 5/3 (ddof 1), min r, max
 * r + 3; under weights (1, 2, 3, 4): weight_sum 10, sum 10r + 20, mean
 * r + 2, var 1.  Pieces go through encode/decode and merge in order; a
 * piece that does not follow on is refused.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "err.h"
#include "op.h"
#include "opset_pieces.h"

#define NREC 300

static const char *const ops[] = {"count", "sum", "mean", "var", "std",
                                  "min", "max", NULL};
static const double W4[4] = {1, 2, 3, 4};

struct got {
    size_t n;
    char name[16][32];
    uint64_t len[16];
    double v[16][NREC];
};

static int got_put(void *ctx, const char *name, h5b_type type, int rank,
                   const uint64_t *dims, const void *data,
                   struct h5b_error *err)
{
    struct got *g = ctx;
    (void)err;
    assert_true(g->n < 16 && rank == 1 && dims[0] <= NREC);
    snprintf(g->name[g->n], sizeof g->name[g->n], "%s", name);
    g->len[g->n] = dims[0];
    for (uint64_t i = 0; i < dims[0]; i++)
        g->v[g->n][i] = type == H5B_UINT64
                        ? (double)((const uint64_t *)data)[i]
                        : ((const double *)data)[i];
    g->n++;
    return 0;
}

static int no_cells(void *ctx, const char *name, h5b_type type,
                    int extra_rank, const uint64_t *extra_dims,
                    const void *data, struct h5b_error *err)
{
    (void)ctx; (void)type; (void)extra_rank; (void)extra_dims; (void)data;
    (void)err;
    fail_msg("put_cells(%s) with axis = records", name);
    return -1;
}

static const double *result(const struct got *g, const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->name[i], name) == 0) {
            assert_int_equal(g->len[i], NREC);
            return g->v[i];
        }
    fail_msg("finalize wrote no '%s'", name);
    return NULL;
}

static const char *ddof_arg(const struct h5b_op_config *cfg, const char *key)
{
    return strcmp(key, "ddof") == 0 ? cfg->arg_ctx : NULL;
}

static void init(struct opset *set, const double *w, const char *ddof)
{
    struct h5b_op_config shape = {.type = H5B_FLOAT64, .ncell = 4,
                                  .cell_rank = 1, .cell_dims = {4},
                                  .weights = w, .nweights = w ? 4 : 0,
                                  .per_record = 1, .arg = ddof_arg,
                                  .arg_ctx = ddof};
    struct h5b_error err = {""};
    if (opset_init(set, &shape, ops, &err) != 0)
        fail_msg("opset_init: %s", err.msg);
    assert_int_equal(set->nops, 1);
}

/* Reduce the NREC records in pieces cut at cuts[], each through encode and
 * decode, merged in order; finalize into g. */
static void run_pieces(const struct opset *set, const uint64_t *cuts,
                       size_t ncuts, struct got *g)
{
    static double x[NREC * 4];
    struct h5b_error err = {""};
    struct partial acc;
    for (int i = 0; i < NREC * 4; i++)
        x[i] = (double)(i / 4 + i % 4);
    pieces_merge(set, x, cuts, ncuts, &acc);
    struct h5b_sink sink = {g, no_cells, got_put};
    memset(g, 0, sizeof *g);
    assert_int_equal(opset_finalize(set, &acc, &sink, &err), 0);
    opset_destroy(set, &acc);
}

static void test_unweighted(void **state)
{
    (void)state;
    const uint64_t cuts[] = {1, 77, 250, NREC};
    struct opset set;
    static struct got g;
    init(&set, NULL, NULL);
    run_pieces(&set, cuts, 4, &g);
    for (int r = 0; r < NREC; r++) {
        assert_close(result(&g, "count")[r], 4, 0);
        assert_close(result(&g, "sum")[r], 4.0 * r + 6, 1e-15);
        assert_close(result(&g, "mean")[r], r + 1.5, 1e-15);
        assert_close(result(&g, "var")[r], 1.25, 1e-13);
        assert_close(result(&g, "min")[r], r, 0);
        assert_close(result(&g, "max")[r], r + 3, 0);
    }
    for (size_t i = 0; i < g.n; i++)
        assert_true(strcmp(g.name[i], "weight_sum") != 0);
}

static void test_ddof(void **state)
{
    (void)state;
    const uint64_t cuts[] = {NREC};
    struct opset set;
    static struct got g;
    init(&set, NULL, "1");
    run_pieces(&set, cuts, 1, &g);
    assert_close(result(&g, "var")[7], 5.0 / 3.0, 1e-13);
}

static void test_weighted(void **state)
{
    (void)state;
    const uint64_t cuts[] = {150, NREC};
    struct opset set;
    static struct got g;
    init(&set, W4, NULL);
    run_pieces(&set, cuts, 2, &g);
    for (int r = 0; r < NREC; r++) {
        assert_close(result(&g, "weight_sum")[r], 10, 0);
        assert_close(result(&g, "sum")[r], 10.0 * r + 20, 1e-15);
        assert_close(result(&g, "mean")[r], r + 2.0, 1e-15);
        assert_close(result(&g, "var")[r], 1.0, 1e-13);
        assert_close(result(&g, "count")[r], 4, 0);
    }
}

/* A partial that does not start where the accumulator ends is refused. */
static void test_gap_refused(void **state)
{
    (void)state;
    double x[8] = {0};
    struct opset set;
    struct partial a, b;
    struct h5b_error err = {""};
    init(&set, NULL, NULL);
    assert_int_equal(opset_reduce(&set, x, sizeof x, 0, &a, &err), 0);
    assert_int_equal(opset_reduce(&set, x, sizeof x, 3, &b, &err), 0);
    assert_int_not_equal(opset_merge(&set, &a, &b, &err), 0);
    assert_contains(err.msg, "do not follow");
    opset_destroy(&set, &a);
    opset_destroy(&set, &b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unweighted),
        cmocka_unit_test(test_ddof),
        cmocka_unit_test(test_weighted),
        cmocka_unit_test(test_gap_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
