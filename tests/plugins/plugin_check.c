/* plugin_check.c -- drive an operator plugin without h5batch or MPI.
 *
 *   plugin_check LIB TYPE DIMS PARTREC DATA OUTDIR [KEY=VALUE ...]
 *
 * Loads LIB as h5batch does (dlopen, the h5batch_plugin symbol, the ABI
 * version), splits DATA -- raw native values of TYPE (i8 u8 i16 u16 i32
 * u32 i64 u64 f32 f64), record-major, each record shaped DIMS ("-" for
 * scalars, else "d1xd2...") -- into partitions of PARTREC records, and for
 * each partition creates a state, feeds it in several update() calls of
 * uneven size, and ships it through encode() and decode() into a fresh
 * state.  Then it checks the contract h5batch relies on:
 *   - encode(decode(encode(s))) == encode(s), byte for byte;
 *   - decode() refuses a buffer one byte short or long, or empty, with a
 *     message (each buffer is allocated at its exact length, so a read past
 *     it shows under AddressSanitizer);
 *   - merging left to right, right to left, and one state fed everything
 *     in one update() all encode to the same bytes (associativity, and a
 *     state that depends on the data only, not on the split);
 *   - merging into a fresh state is the identity.
 * Finally it finalizes the left-to-right merge into a capturing sink: each
 * result is written raw to OUTDIR/NAME.bin ('/' in NAME becomes "__") and
 * announced on stdout as "result NAME TYPE per_cell|all D1 D2 ...".
 * KEY=VALUE pairs are the plugin's job-file arguments.
 *
 * Exit status: 0 all good; 1 a callback failed or a check did not hold;
 * 2 bad usage or a library that does not load.  Errors are one line on
 * stderr, "plugin_check: error: ...", naming the plugin and callback as
 * h5batch does.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5batch/operator.h"

#define MAX_ARGS 32

static const char *const type_names[] = {
    NULL, "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64"
};

struct check {
    const h5b_operator *op;
    struct h5b_op_config cfg;
    const char *keys[MAX_ARGS], *vals[MAX_ARGS];
    int nargs;
    const char *outdir;
    struct h5b_error err;
};

static int die(int code, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "plugin_check: error: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return code;
}

/* A callback failed: report it as h5batch would. */
static int cb_fail(struct check *c, const char *callback)
{
    fprintf(stderr, "plugin_check: error: operator %s: %s: %s\n",
            c->op->name, callback, c->err.msg[0] ? c->err.msg
                                                 : "(no message)");
    return 1;
}

static const char *arg_lookup(const struct h5b_op_config *cfg,
                              const char *key)
{
    const struct check *c = cfg->arg_ctx;
    for (int i = 0; i < c->nargs; i++)
        if (strcmp(c->keys[i], key) == 0)
            return c->vals[i];
    return NULL;
}

static int parse_type(const char *s, h5b_type *t)
{
    for (int i = 1; i <= 10; i++)
        if (strcmp(s, type_names[i]) == 0) {
            *t = (h5b_type)i;
            return 0;
        }
    return -1;
}

/* "-" or "d1xd2x...": the cell shape into cfg. */
static int parse_dims(const char *s, struct h5b_op_config *cfg)
{
    cfg->cell_rank = 0;
    cfg->ncell = 1;
    if (strcmp(s, "-") == 0)
        return 0;
    while (*s) {
        char *end;
        unsigned long long d = strtoull(s, &end, 10);
        if (end == s || d == 0 || cfg->cell_rank == H5B_MAX_RANK)
            return -1;
        cfg->cell_dims[cfg->cell_rank++] = d;
        cfg->ncell *= d;
        s = *end == 'x' ? end + 1 : end;
        if (*end && *end != 'x')
            return -1;
    }
    return cfg->cell_rank ? 0 : -1;
}

/* Whole file into *buf (NULL for an empty file). */
static int read_file(const char *path, unsigned char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n = -1;
    *buf = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        if (f)
            fclose(f);
        return -1;
    }
    *len = (size_t)n;
    *buf = malloc(*len ? *len : 1);
    int ok = *buf && fread(*buf, 1, *len, f) == *len;
    fclose(f);
    return ok ? 0 : -1;
}

static int load(const char *lib, const h5b_operator **op)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return die(2, "cannot load %s: %s", lib, dlerror());
    *op = dlsym(h, "h5batch_plugin");
    if (!*op)
        return die(2, "%s has no symbol h5batch_plugin%s", lib, "");
    if ((*op)->abi != H5B_OPERATOR_ABI) {
        char v[64];
        snprintf(v, sizeof v, "%u, this h5batch speaks %d",
                 (unsigned)(*op)->abi, H5B_OPERATOR_ABI);
        return die(2, "%s: operator ABI version %s", lib, v);
    }
    return 0;
}

/* Encode s into a fresh buffer of exactly its size. */
static int encode(struct check *c, const void *s, unsigned char **buf,
                  size_t *len)
{
    *len = c->op->encoded_size(s);
    *buf = malloc(*len ? *len : 1);
    if (!*buf)
        return die(1, "out of memory%s%s", "", "");
    if (c->op->encode(s, *buf, *len, &c->err) < 0) {
        free(*buf);
        *buf = NULL;
        return cb_fail(c, "encode");
    }
    return 0;
}

/* decode() must refuse every length but the right one. */
static int check_refusals(struct check *c, void *s, const unsigned char *buf,
                          size_t len)
{
    size_t bad[3] = {0, len - 1, len + 1};
    for (int i = len ? 0 : 2; i < 3; i++) {
        unsigned char *b = malloc(bad[i] ? bad[i] : 1);
        if (!b)
            return die(1, "out of memory%s%s", "", "");
        memcpy(b, buf, bad[i] < len ? bad[i] : len);
        if (bad[i] > len)
            b[len] = 0;
        c->err.msg[0] = 0;
        int rc = c->op->decode(s, b, bad[i], &c->err);
        free(b);
        if (rc == 0 || !c->err.msg[0]) {
            char what[64];
            snprintf(what, sizeof what, "%zu of %zu bytes", bad[i], len);
            return die(1, "decode accepted %s or gave no message (%s)", what,
                       c->op->name);
        }
    }
    return 0;
}

/* A copy of s made by encode + decode into a fresh state; checks the round
 * trip and the refusals on the way. */
static int copy_state(struct check *c, const void *s, void **out)
{
    unsigned char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    int rc = encode(c, s, &a, &la);
    *out = NULL;
    if (rc == 0 && c->op->create(&c->cfg, out, &c->err) < 0)
        rc = cb_fail(c, "create");
    if (rc == 0)
        rc = check_refusals(c, *out, a, la);
    if (rc == 0 && c->op->decode(*out, a, la, &c->err) < 0)
        rc = cb_fail(c, "decode");
    if (rc == 0)
        rc = encode(c, *out, &b, &lb);
    if (rc == 0 && (la != lb || memcmp(a, b, la) != 0))
        rc = die(1, "encode/decode does not round-trip (%s)%s", c->op->name,
                 "");
    free(a);
    free(b);
    if (rc != 0) {
        c->op->destroy(*out);
        *out = NULL;
    }
    return rc;
}

/* Feed nrec records at data to a new state in uneven update() calls. */
static int reduce(struct check *c, const unsigned char *data, uint64_t first,
                  uint64_t nrec, int pieces, void **out)
{
    size_t rec = h5b_type_size(c->cfg.type) * (size_t)c->cfg.ncell;
    if (c->op->create(&c->cfg, out, &c->err) < 0)
        return cb_fail(c, "create");
    uint64_t done = 0;
    for (int k = 1; done < nrec || k == 1; k++) {
        /* pieces of 1, 2, 3... records, the last takes the rest */
        uint64_t n = k >= pieces ? nrec - done
                     : (uint64_t)k < nrec - done ? (uint64_t)k : nrec - done;
        struct h5b_block blk = {data + done * rec, n, first + done};
        if (c->op->update(*out, &blk, &c->err) < 0)
            return cb_fail(c, "update");
        done += n;
    }
    return 0;
}

static int same_state(struct check *c, const void *x, const void *y,
                      const char *what)
{
    unsigned char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    int rc = encode(c, x, &a, &la);
    if (rc == 0)
        rc = encode(c, y, &b, &lb);
    if (rc == 0 && (la != lb || memcmp(a, b, la) != 0))
        rc = die(1, "%s give different states (%s)", what, c->op->name);
    free(a);
    free(b);
    return rc;
}

static int sink_write(struct check *c, const char *name, h5b_type type,
                      int per_cell, int rank, const uint64_t *dims,
                      const void *data)
{
    char path[4096];
    size_t n = 1, used;
    used = (size_t)snprintf(path, sizeof path, "%s/", c->outdir);
    for (const char *p = name; *p && used + 3 < sizeof path; p++) {
        if (*p == '/') {
            memcpy(path + used, "__", 2);
            used += 2;
        } else {
            path[used++] = *p;
        }
    }
    snprintf(path + used, sizeof path - used, ".bin");
    printf("result %s %s %s", name, type_names[type],
           per_cell ? "per_cell" : "all");
    for (int d = 0; d < rank; d++) {
        printf(" %llu", (unsigned long long)dims[d]);
        n *= (size_t)dims[d];
    }
    printf("\n");
    FILE *f = fopen(path, "wb");
    size_t bytes = n * h5b_type_size(type);
    int ok = f && fwrite(data, 1, bytes, f) == bytes;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        return h5b_fail(&c->err, "cannot write %s", path);
    return 0;
}

static int cap_put_cells(void *ctx, const char *name, h5b_type type,
                         int extra_rank, const uint64_t *extra_dims,
                         const void *data, struct h5b_error *err)
{
    struct check *c = ctx;
    uint64_t dims[2 * H5B_MAX_RANK];
    int rank = c->cfg.cell_rank;
    (void)err;
    if (extra_rank < 0 || rank + extra_rank > H5B_MAX_RANK ||
        !h5b_type_size(type))
        return h5b_fail(err, "put_cells '%s': bad rank or type", name);
    memcpy(dims, c->cfg.cell_dims, (size_t)rank * sizeof *dims);
    for (int d = 0; d < extra_rank; d++)
        dims[rank + d] = extra_dims[d];
    return sink_write(c, name, type, 1, rank + extra_rank, dims, data);
}

static int cap_put(void *ctx, const char *name, h5b_type type, int rank,
                   const uint64_t *dims, const void *data,
                   struct h5b_error *err)
{
    if (rank < 0 || rank > H5B_MAX_RANK || !h5b_type_size(type))
        return h5b_fail(err, "put '%s': bad rank or type", name);
    return sink_write(ctx, name, type, 0, rank, dims, data);
}

/* Every partition reduced and copied through the wire form. */
static int partials(struct check *c, const unsigned char *data,
                    uint64_t nrec, uint64_t per, void ***parts,
                    uint64_t *nparts)
{
    size_t rec = h5b_type_size(c->cfg.type) * (size_t)c->cfg.ncell;
    uint64_t np = nrec ? (nrec + per - 1) / per : 1;
    void **p = calloc((size_t)np, sizeof *p);
    int rc = p ? 0 : die(1, "out of memory%s%s", "", "");
    *parts = p;
    *nparts = np;
    for (uint64_t i = 0; rc == 0 && i < np; i++) {
        uint64_t first = i * per, n = nrec - first < per ? nrec - first : per;
        void *s = NULL;
        rc = reduce(c, data + first * rec, first, n, 4, &s);
        if (rc == 0)
            rc = copy_state(c, s, &p[i]);
        c->op->destroy(s);
    }
    return rc;
}

/* The partials merged left to right into a fresh state, and right to
 * left; both must agree with one state fed everything. */
static int merges(struct check *c, void **p, uint64_t np,
                  const unsigned char *data, uint64_t nrec, void **left)
{
    void *right = NULL, *whole = NULL;
    int rc = 0;
    if (c->op->create(&c->cfg, left, &c->err) < 0)
        return cb_fail(c, "create");
    for (uint64_t i = 0; rc == 0 && i < np; i++)
        if (c->op->merge(*left, p[i], &c->err) < 0)
            rc = cb_fail(c, "merge");
    if (rc == 0)
        rc = copy_state(c, p[np - 1], &right);
    for (uint64_t i = np - 1; rc == 0 && i-- > 0;) {
        void *t = NULL;
        rc = copy_state(c, p[i], &t);
        if (rc == 0 && c->op->merge(t, right, &c->err) < 0)
            rc = cb_fail(c, "merge");
        c->op->destroy(right);
        right = t;
    }
    if (rc == 0)
        rc = same_state(c, *left, right, "left and right merges");
    if (rc == 0)
        rc = reduce(c, data, 0, nrec, 1, &whole);
    if (rc == 0)
        rc = same_state(c, *left, whole, "merged partitions and one update");
    c->op->destroy(right);
    c->op->destroy(whole);
    return rc;
}

int main(int argc, char **argv)
{
    struct check c;
    unsigned char *data = NULL;
    size_t len = 0;
    void **parts = NULL, *acc = NULL;
    uint64_t nparts = 0;
    memset(&c, 0, sizeof c);
    if (argc < 7)
        return die(2, "usage: plugin_check LIB TYPE DIMS PARTREC DATA OUTDIR "
                   "[KEY=VALUE ...]%s%s", "", "");
    int rc = load(argv[1], &c.op);
    if (rc != 0)
        return rc;
    if (parse_type(argv[2], &c.cfg.type) < 0 ||
        parse_dims(argv[3], &c.cfg) < 0 || atoll(argv[4]) <= 0)
        return die(2, "bad TYPE '%s' or DIMS '%s'", argv[2], argv[3]);
    for (int i = 7; i < argc && c.nargs < MAX_ARGS; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            return die(2, "argument '%s' is not KEY=VALUE%s", argv[i], "");
        *eq = 0;
        c.keys[c.nargs] = argv[i];
        c.vals[c.nargs++] = eq + 1;
    }
    const char *outputs[] = {c.op->provides[0], NULL};
    c.cfg.outputs = outputs;
    c.cfg.arg = arg_lookup;
    c.cfg.arg_ctx = &c;
    c.outdir = argv[6];
    if (read_file(argv[5], &data, &len) < 0)
        return die(2, "cannot read %s%s", argv[5], "");
    size_t rec = h5b_type_size(c.cfg.type) * (size_t)c.cfg.ncell;
    if (len % rec != 0)
        return die(2, "%s is not whole records of %s", argv[5], argv[3]);
    rc = partials(&c, data, len / rec, (uint64_t)atoll(argv[4]), &parts,
                  &nparts);
    if (rc == 0)
        rc = merges(&c, parts, nparts, data, len / rec, &acc);
    struct h5b_sink sink = {&c, cap_put_cells, cap_put};
    if (rc == 0 && c.op->finalize(acc, &sink, &c.err) < 0)
        rc = cb_fail(&c, "finalize");
    for (uint64_t i = 0; parts && i < nparts; i++)
        c.op->destroy(parts[i]);
    c.op->destroy(acc);
    free(parts);
    free(data);
    return rc;
}
