/* results.c -- the in-memory list of results behind the operators' sink. */
#define _DEFAULT_SOURCE
#include "results.h"

#include <stdlib.h>
#include <string.h>

#include "hugepage.h"

/* Append a result of the given shape to rs: owned itself when non-NULL
 * (rs takes it, even on failure), else a copy of data, or zeros when data
 * is NULL.  *out (if non-NULL) gets the new result. */
static int append_own(struct results *rs, const char *group,
                      const char *name, h5b_type type, uint32_t width,
                      int per_cell, int rank, const uint64_t *dims,
                      const void *data, void *owned, struct result **out,
                      struct h5b_error *err)
{
    uint64_t nelem = 1;
    if (rank < 0 || rank > H5B_MAX_RANK || !h5b_type_size(type))
        return h5b_fail(err, "result '%s': bad rank or type", name);
    for (int d = 0; d < rank; d++)
        if (__builtin_mul_overflow(nelem, dims[d], &nelem) ||
            nelem > SIZE_MAX / 8) {
            free(owned);
            return h5b_fail(err, "result '%s': size overflows", name);
        }
    struct result *grown = realloc(rs->r, (rs->n + 1) * sizeof *grown);
    if (!grown) {
        free(owned);
        return h5b_fail(err, "out of memory for result '%s'", name);
    }
    rs->r = grown;
    struct result *r = &rs->r[rs->n];
    memset(r, 0, sizeof *r);
    size_t bytes = (size_t)nelem * (width ? width : h5b_type_size(type));
    r->group = strdup(group ? group : "results");
    r->name = strdup(name);
    r->data = owned ? owned : data ? hugepage_alloc(bytes)
                                   : hugepage_zalloc(bytes);
    if (!r->group || !r->name || !r->data) {
        free(r->group);
        free(r->name);
        free(r->data);
        return h5b_fail(err, "out of memory for result '%s'", name);
    }
    if (data && !owned)
        memcpy(r->data, data, bytes);
    r->type = type;
    r->str_width = width;
    r->per_cell = per_cell;
    r->rank = rank;
    r->nelem = nelem;
    for (int d = 0; d < rank; d++)
        r->dims[d] = dims[d];
    rs->n++;
    if (out)
        *out = r;
    return 0;
}

/* append_own of a copy of data (or zeros). */
static int append_w(struct results *rs, const char *group,
                    const char *name, h5b_type type, uint32_t width,
                    int per_cell, int rank, const uint64_t *dims,
                    const void *data, struct result **out,
                    struct h5b_error *err)
{
    return append_own(rs, group, name, type, width, per_cell, rank, dims,
                      data, NULL, out, err);
}

int results_adopt(struct results *rs, const char *name, h5b_type type,
                  int rank, const uint64_t *dims, void *data,
                  struct h5b_error *err)
{
    if (!data)
        return h5b_fail(err, "result '%s': nothing to adopt", name);
    return append_own(rs, rs->group, name, type, 0, 0, rank, dims, data,
                      data, NULL, err);
}

/* append_w of a numeric result. */
static int append(struct results *rs, const char *group, const char *name,
                  h5b_type type, int per_cell, int rank,
                  const uint64_t *dims, const void *data,
                  struct result **out, struct h5b_error *err)
{
    return append_w(rs, group, name, type, 0, per_cell, rank, dims, data,
                    out, err);
}

int results_put_strings(struct results *rs, const char *name,
                        uint32_t width, uint64_t n,
                        const void *data, struct h5b_error *err)
{
    uint64_t dims[1] = {n};
    if (width == 0 || n > SIZE_MAX / width)
        return h5b_fail(err, "result '%s': bad string width", name);
    return append_w(rs, rs->group, name, H5B_UINT8, width, 0, 1, dims, data,
                    NULL, err);
}

static int results_put(void *ctx, const char *name, h5b_type type, int rank,
                       const uint64_t *dims, const void *data,
                       struct h5b_error *err)
{
    struct results *rs = ctx;
    return append(rs, rs->group, name, type, 0, rank, dims, data, NULL, err);
}

static int results_put_cells(void *ctx, const char *name, h5b_type type,
                             int extra_rank, const uint64_t *extra_dims,
                             const void *data, struct h5b_error *err)
{
    struct results *rs = ctx;
    uint64_t dims[H5B_MAX_RANK];
    int rank = rs->cell_rank + extra_rank;
    if (extra_rank < 0 || rank > H5B_MAX_RANK)
        return h5b_fail(err, "result '%s': more than %d dimensions", name,
                        H5B_MAX_RANK);
    memcpy(dims, rs->cell_dims, (size_t)rs->cell_rank * sizeof *dims);
    for (int d = 0; d < extra_rank; d++)
        dims[rs->cell_rank + d] = extra_dims[d];
    return append(rs, rs->group, name, type, 1, rank, dims, data, NULL, err);
}

struct h5b_sink results_sink(struct results *rs)
{
    struct h5b_sink s = {.ctx = rs, .put_cells = results_put_cells,
                         .put = results_put};
    return s;
}

/* The result group/name in rs, mutable, or NULL. */
static struct result *find(struct results *rs, const char *group,
                           const char *name)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].group, group) == 0 &&
            strcmp(rs->r[i].name, name) == 0)
            return &rs->r[i];
    return NULL;
}

/* Append a copy of t (one tile's, whole) to rs, with its flags. */
static int append_whole(struct results *rs, const struct result *t,
                        struct h5b_error *err)
{
    struct result *r = NULL;
    int rc = append_w(rs, t->group, t->name, t->type, t->str_width, 0,
                      t->rank, t->dims, t->data, &r, err);
    if (rc == 0) {
        r->key_axis = t->key_axis;
        r->coord_only = t->coord_only;
    }
    return rc;
}

int results_stitch(struct results *rs, const struct results *tile,
                   uint64_t col0, uint64_t dim1, struct h5b_error *err)
{
    for (size_t i = 0; i < tile->n; i++) {
        const struct result *t = &tile->r[i];
        struct result *r = find(rs, t->group, t->name);
        int lead = t->key_axis != 0;    /* the keys' axis before cells */
        if (!t->per_cell || t->rank <= lead) {
            if (!r && append_whole(rs, t, err) < 0)
                return -1;
            continue;
        }
        uint64_t dims[H5B_MAX_RANK];
        memcpy(dims, t->dims, sizeof dims);
        dims[lead] = dim1;
        if (!r && append(rs, t->group, t->name, t->type, 1, t->rank, dims,
                         NULL, &r, err) < 0)
            return -1;
        r->key_axis = t->key_axis;
        if (r->rank != t->rank || r->type != t->type || col0 > dim1 ||
            t->dims[lead] > dim1 - col0 || (lead && r->dims[0] != t->dims[0]))
            return h5b_fail(err, "result '%s/%s': tiles disagree", t->group,
                            t->name);
        /* per key (one block without keys): the tile's rows at col0 */
        uint64_t blocks = lead ? t->dims[0] : 1;
        size_t row = (size_t)(t->nelem / blocks / t->dims[lead]) *
                     h5b_type_size(t->type);
        for (uint64_t k = 0; k < blocks; k++)
            memcpy((unsigned char *)r->data + (k * dim1 + col0) * row,
                   (const unsigned char *)t->data + k * t->dims[lead] * row,
                   (size_t)t->dims[lead] * row);
    }
    return 0;
}

const struct result *results_find(const struct results *rs,
                                  const char *group, const char *name)
{
    return find((struct results *)rs, group, name);
}

double results_value(const struct result *r, uint64_t j)
{
    const void *p = r->data;
    switch (r->type) {
    case H5B_INT8: return ((const int8_t *)p)[j];
    case H5B_UINT8: return ((const uint8_t *)p)[j];
    case H5B_INT16: return ((const int16_t *)p)[j];
    case H5B_UINT16: return ((const uint16_t *)p)[j];
    case H5B_INT32: return ((const int32_t *)p)[j];
    case H5B_UINT32: return ((const uint32_t *)p)[j];
    case H5B_INT64: return (double)((const int64_t *)p)[j];
    case H5B_UINT64: return (double)((const uint64_t *)p)[j];
    case H5B_FLOAT32: return ((const float *)p)[j];
    case H5B_FLOAT64: return ((const double *)p)[j];
    }
    return 0;
}

void results_free(struct results *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->r[i].group);
        free(rs->r[i].name);
        free(rs->r[i].data);
    }
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}
