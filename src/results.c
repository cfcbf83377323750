/* results.c -- the in-memory list of results behind the operators' sink. */
#define _DEFAULT_SOURCE
#include "results.h"

#include <stdlib.h>
#include <string.h>

static int results_put(void *ctx, const char *name, h5b_type type, int rank,
                       const uint64_t *dims, const void *data,
                       struct h5b_error *err)
{
    struct results *rs = ctx;
    uint64_t nelem = 1;
    if (rank < 0 || rank > H5B_MAX_RANK || !h5b_type_size(type))
        return h5b_fail(err, "result '%s': bad rank or type", name);
    for (int d = 0; d < rank; d++)
        if (__builtin_mul_overflow(nelem, dims[d], &nelem))
            return h5b_fail(err, "result '%s': size overflows", name);
    struct result *grown = realloc(rs->r, (rs->n + 1) * sizeof *grown);
    if (!grown)
        return h5b_fail(err, "out of memory for result '%s'", name);
    rs->r = grown;
    struct result *r = &rs->r[rs->n];
    memset(r, 0, sizeof *r);
    size_t bytes = (size_t)nelem * h5b_type_size(type);
    r->group = strdup(rs->group ? rs->group : "results");
    r->name = strdup(name);
    r->data = malloc(bytes ? bytes : 1);
    if (!r->group || !r->name || !r->data) {
        free(r->group);
        free(r->name);
        free(r->data);
        return h5b_fail(err, "out of memory for result '%s'", name);
    }
    memcpy(r->data, data, bytes);
    r->type = type;
    r->rank = rank;
    r->nelem = nelem;
    for (int d = 0; d < rank; d++)
        r->dims[d] = dims[d];
    rs->n++;
    return 0;
}

struct h5b_sink results_sink(struct results *rs)
{
    struct h5b_sink s = {.ctx = rs, .put = results_put};
    return s;
}

const struct result *results_find(const struct results *rs,
                                  const char *group, const char *name)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].group, group) == 0 &&
            strcmp(rs->r[i].name, name) == 0)
            return &rs->r[i];
    return NULL;
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
