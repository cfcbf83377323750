/* fixture.c -- the fixed tables of fixture.h and what is done with a
 * decoded partial.
 *
 * Nine tables: 0 float64 cells of shape 2x3 with every operator and exact
 * sums ([reduce] exact = yes); 1 a
 * compound element (int32 packed with _FillValue and scale/offset, float32
 * with valid range and missing_value, uint64 plain) with per-column
 * histogram ranges; 2 uint64 over everything (axis = all) with quantiles;
 * 3 int8 cells of shape 4 with the moments only; 4 a compound element
 * grouped by its int32 field with exact sums (group-by partials are hash
 * tables); 5 float64 over everything (axis = all) with [reduce] weights
 * for the 5 values of a record (the weighted operator); 6 float64 cells
 * of shape 4 with axis = records and weights (a summary per record); 7
 * float64 cells of shape 4 grouped by an int32 key dataset (group_by on
 * a field: per-key partials, keyed.h); 8 the compound of 4 grouped with
 * per-key histograms and quantiles (gbdist.h) and the whole column's
 * beside.
 * Record data comes from
 * a fixed generator so seeds are reproducible.
 */
#include "fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "results.h"
#include "summary.h"

struct fix {
    const char *const (*args)[2];   /* key, value; NULL-terminated */
    const char *const *ops;
    uint32_t elem_bytes;
    uint64_t elems;
    int cell_rank;
    uint64_t cell_dims[2];
    size_t ncol;
    struct column_desc cols[3];
    int ddof;
    struct table t;
    const double *weights;          /* [reduce] weights, or NULL */
    uint64_t nweights;
    int per_record;                 /* axis = records */
    const char *group_by;           /* NULL: "station" */
};

static const char *const args_all[][2] = {
    {"ddof", "1"}, {"histogram_bins", "4"}, {"histogram_range", "-1, 1"},
    {"quantiles", "0, 0.25, 0.5, 1"}, {"quantile_accuracy", "0.01"},
    {"exact", "yes"}, {NULL, NULL}};
static const char *const args_cf[][2] = {
    {"histogram_bins", "3"}, {"histogram_range", "-10, 10"},
    {"quantiles", "0.5"}, {NULL, NULL}};
static const char *const args_u64[][2] = {
    {"quantile_accuracy", "0.05"}, {NULL, NULL}};
static const char *const args_none[][2] = {{NULL, NULL}};
static const char *const args_dist[][2] = {
    {"histogram_bins", "5"}, {"histogram_range", "-2, 2"},
    {"quantiles", "0, 0.5, 0.9"}, {"quantile_accuracy", "0.02"},
    {NULL, NULL}};

static const char *const ops_all[] = {"count", "sum", "mean", "var", "std",
                                      "min", "max", "histogram",
                                      "quantiles", NULL};
static const char *const ops_cf[] = {"count", "mean", "min", "max",
                                     "histogram", "quantiles", NULL};
static const char *const ops_q[] = {"count", "min", "max", "quantiles",
                                    NULL};
static const char *const ops_moments[] = {"count", "sum", "min", "max",
                                          NULL};
static const char *const ops_grouped[] = {"count", "sum", "mean", "var",
                                          "std", "min", "max", NULL};
static const char *const ops_dist[] = {"count", "mean", "histogram",
                                       "quantiles", NULL};
static const double weights5[] = {0.5, 1, 0, 2, 1e-3};
static const double weights4[] = {1, 0, 2, 0.5};

static struct fix fixes[FIX_NTABLES] = {
    {args_all, ops_all, 8, 6, 2, {2, 3}, 1,
     {{.name = "values", .type = H5B_FLOAT64}}, 1, {0}, NULL, 0, 0, NULL},
    {args_cf, ops_cf, 16, 1, 0, {0, 0}, 3,
     {{.name = "a", .type = H5B_INT32, .offset = 0,
       .cf = {.flags = CF_FILL | CF_SCALE, .fill = -999, .scale = 0.5,
              .offset = 10},
       .hist_range = "0, 100"},
      {.name = "b", .type = H5B_FLOAT32, .offset = 4,
       .cf = {.flags = CF_MISSING | CF_VMIN | CF_VMAX, .missing = 9.5,
              .vmin = -10, .vmax = 10}},
      {.name = "c", .type = H5B_UINT64, .offset = 8,
       .hist_range = "0, 1e19"}},
     0, {0}, NULL, 0, 0, NULL},
    {args_u64, ops_q, 8, 5, 0, {0, 0}, 1,
     {{.name = "n", .type = H5B_UINT64}}, 0, {0}, NULL, 0, 0, NULL},
    {args_none, ops_moments, 1, 4, 1, {4, 0}, 1,
     {{.name = "small", .type = H5B_INT8}}, 0, {0}, NULL, 0, 0, NULL},
    {args_none, ops_grouped, 16, 1, 0, {0, 0}, 2,
     {{.name = "station", .type = H5B_INT32, .offset = 0,
       .role = ROLE_KEY_FIELD},
      {.name = "v", .type = H5B_FLOAT64, .offset = 8}}, 1, {0}, NULL, 0, 0,
     NULL},
    {args_none, ops_grouped, 8, 5, 0, {0, 0}, 1,
     {{.name = "w", .type = H5B_FLOAT64}}, 0, {0}, weights5, 5, 0, NULL},
    {args_none, ops_grouped, 8, 4, 1, {4, 0}, 1,
     {{.name = "r", .type = H5B_FLOAT64}}, 0, {0}, weights4, 4, 1, NULL},
    {args_none, ops_grouped, 8, 4, 1, {4, 0}, 2,
     {{.name = "tas", .type = H5B_FLOAT64},
      {.name = "month", .type = H5B_INT32, .role = ROLE_KEY_TAIL}},
     0, {0}, NULL, 0, 0, "/month"},
    {args_dist, ops_dist, 16, 1, 0, {0, 0}, 2,
     {{.name = "station", .type = H5B_INT32, .offset = 0,
       .role = ROLE_KEY_FIELD},
      {.name = "v", .type = H5B_FLOAT64, .offset = 8}}, 0, {0}, NULL, 0, 0,
     NULL},
};

static int built;
static FILE *devnull;

_Noreturn void fixture_die(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz fixture: %s: %s\n", what, msg);
    abort();
}

static const char *fix_arg(const struct h5b_op_config *cfg, const char *key)
{
    const char *const (*kv)[2] = cfg->arg_ctx;
    for (; kv[0][0]; kv++)
        if (strcmp(kv[0][0], key) == 0)
            return kv[0][1];
    return NULL;
}

void fixture_init(void)
{
    struct h5b_error err = {""};
    if (built)
        return;
    for (unsigned i = 0; i < FIX_NTABLES; i++) {
        struct fix *f = &fixes[i];
        struct h5b_op_config shape = {.ncell = 1, .cell_rank = f->cell_rank,
                                      .arg = fix_arg, .arg_ctx = f->args,
                                      .weights = f->weights,
                                      .nweights = f->nweights,
                                      .per_record = f->per_record};
        for (int d = 0; d < f->cell_rank; d++) {
            shape.cell_dims[d] = f->cell_dims[d];
            shape.ncell *= f->cell_dims[d];
        }
        if (table_init(&f->t, f->elem_bytes, f->elems, &err) < 0)
            fixture_die("table_init", err.msg);
        for (size_t c = 0; c < f->ncol; c++)
            if (table_add(&f->t, &f->cols[c], &shape, f->ops, &err) < 0)
                fixture_die("table_add", err.msg);
        /* The grouped table (4) keeps exact sums. */
        if (table_group(&f->t, f->ops, f->ddof, f->ops == ops_grouped,
                        f->group_by ? f->group_by : "station", &err) < 0)
            fixture_die("table_group", err.msg);
    }
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        fixture_die("fopen", "/dev/null");
    built = 1;
}

struct table *fixture_table(unsigned i)
{
    fixture_init();
    return &fixes[i % FIX_NTABLES].t;
}

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* One value of column d at *p: mostly ordinary, sometimes a NaN, an
 * extreme or the CF fill / missing value. */
static void fill_value(const struct column_desc *d, uint64_t *s,
                       unsigned char *p)
{
    uint64_t r = next(s);
    int special = r % 7 == 0;
    double v = (double)(int64_t)(r >> 40) / 65536.0;
    switch (d->type) {
    case H5B_FLOAT64: {
        double x = special ? (r % 2 ? NAN : 1e300) : v / 128;
        memcpy(p, &x, 8);
        break;
    }
    case H5B_FLOAT32: {
        float x = special ? (float)d->cf.missing : (float)(v / 8);
        memcpy(p, &x, 4);
        break;
    }
    case H5B_INT32: {
        int32_t x = d->role != ROLE_VALUE ? (int32_t)(r % 7) - 3
                    : special ? (int32_t)d->cf.fill : (int32_t)(r % 300);
        memcpy(p, &x, 4);
        break;
    }
    case H5B_UINT64: {
        uint64_t x = special ? UINT64_MAX : r >> (r % 64);
        memcpy(p, &x, 8);
        break;
    }
    case H5B_INT8: {
        int8_t x = special ? INT8_MIN : (int8_t)(r & 0x7f);
        memcpy(p, &x, 1);
        break;
    }
    default:
        fixture_die("fill_value", "type not in a fixture");
    }
}

void fixture_reduce(unsigned i, uint64_t nrec, uint64_t seed,
                    struct table_partial *p)
{
    struct h5b_error err = {""};
    struct fix *f = &fixes[i % FIX_NTABLES];
    fixture_init();
    size_t n = (size_t)(nrec * f->elems);
    size_t bytes = n * f->elem_bytes + (size_t)nrec * f->t.key_tail;
    unsigned char *data = calloc(bytes ? bytes : 1, 1);
    if (!data)
        fixture_die("fixture_reduce", "out of memory");
    for (size_t e = 0; e < n; e++)
        for (size_t c = 0; c < f->ncol; c++)
            if (f->cols[c].role != ROLE_KEY_TAIL)
                fill_value(&f->cols[c], &seed,
                           data + e * f->elem_bytes + f->cols[c].offset);
    /* a key dataset's values follow the records' (int32 here) */
    for (size_t r = 0; f->t.key_tail && r < nrec; r++) {
        int32_t k = (int32_t)(next(&seed) % 12) + 1;
        memcpy(data + n * f->elem_bytes + r * 4, &k, 4);
    }
    if (table_reduce(&f->t, data, bytes, 0, p, &err) < 0)
        fixture_die("table_reduce", err.msg);
    free(data);
}

unsigned char *fixture_encode(unsigned i, const struct table_partial *p,
                              size_t *len)
{
    struct h5b_error err = {""};
    const struct table *t = fixture_table(i);
    *len = table_encoded_size(t, p);
    unsigned char *buf = malloc(*len ? *len : 1);
    if (!buf)
        fixture_die("fixture_encode", "out of memory");
    if (table_encode(t, p, buf, *len, &err) < 0)
        fixture_die("table_encode of a decoded partial", err.msg);
    return buf;
}

/* Finalize p into results and print both summaries to /dev/null. */
static void finalize(const struct table *t, const struct table_partial *p)
{
    struct results rs = {0};
    struct h5b_error err = {""};
    char *inputs[] = {"in.h5"};
    struct run_info info = {.job_name = "fuzz", .job_text = "",
                            .dataset = "/d", .output = "out.h5",
                            .inputs = inputs, .ninputs = 1,
                            .skipped = "s, t", .ranks = 1};
    if (table_finalize(t, p, &rs, &err) == 0) {
        summary_json(devnull, &info, &rs, NULL);
        summary_text(devnull, &info, &rs);
    }
    results_free(&rs);
}

void fixture_exercise(unsigned i, const struct table_partial *p)
{
    struct h5b_error err = {""};
    struct table *t = fixture_table(i);
    struct table_partial again = {0}, acc = {0};
    size_t len = 0, len2 = 0;
    unsigned char *buf = fixture_encode(i, p, &len);

    /* A decoded state encodes to bytes that decode to the same state. */
    if (table_create(t, &again, &err) < 0)
        fixture_die("table_create", err.msg);
    if (table_decode(t, &again, buf, len, &err) < 0)
        fixture_die("re-decoding an encoded partial", err.msg);
    unsigned char *buf2 = fixture_encode(i, &again, &len2);
    if (len2 != len || memcmp(buf, buf2, len) != 0)
        fixture_die("round trip", "encode(decode(encode(x))) differs");

    /* As rank 0 does: merge into an accumulator, in both orders. */
    fixture_reduce(i, 3, 7, &acc);
    if (table_merge(t, &acc, p, &err) == 0)
        finalize(t, &acc);
    table_destroy(t, &acc);
    fixture_reduce(i, 2, 11, &acc);
    if (table_merge(t, &again, &acc, &err) == 0)
        finalize(t, &again);
    finalize(t, p);

    table_destroy(t, &acc);
    table_destroy(t, &again);
    free(buf);
    free(buf2);
}
