/* weights.c -- [reduce] weights matched to the cell shape and expanded
 * (see weights.h).  Plain C over plain arrays. */
#include "weights.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* numpy's NPY_PI; deg2rad(x) is x * (pi / 180) there too. */
#define PI 3.141592653589793238462643383279502884

/* "a=3, b=4" for rank axes named name[] (or unnamed: "") of lengths
 * len[], into buf. */
static const char *shape_text(int rank, const char *const *name,
                              const uint64_t *len, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < rank && used < n; k++) {
        int w = snprintf(buf + used, n - used, "%s%s%s%llu", k ? ", " : "",
                         name[k], name[k][0] ? "=" : "",
                         (unsigned long long)len[k]);
        used += w > 0 ? (size_t)w : 0;
    }
    return buf;
}

/* Rule 1: every axis named after a distinct cell dimension. */
static int match_names(struct weights_array *a, const struct weights_cells *c)
{
    int used[H5B_MAX_RANK] = {0};
    for (int k = 0; k < a->rank; k++) {
        int d = 0;
        while (d < c->rank && strcmp(a->name[k], c->name[d]) != 0)
            d++;
        if (!a->name[k][0] || d == c->rank || used[d])
            return -1;
        used[d] = 1;
        a->along[k] = d;
    }
    return 0;
}

/* Rule 2: a 1-D array along the one cell dimension of its length. */
static int match_length(struct weights_array *a, const struct weights_cells *c,
                        char *why, size_t n)
{
    int found = -1, count = 0;
    for (int d = 0; d < c->rank; d++)
        if (c->len[d] == a->dims[0]) {
            found = found < 0 ? d : found;
            count++;
        }
    if (count > 1) {
        snprintf(why, n, "its length %llu matches %d cell dimensions; give "
                 "it a dimension scale naming one",
                 (unsigned long long)a->dims[0], count);
        return -2;
    }
    a->along[0] = found;
    return found < 0 ? -1 : 0;
}

/* Rule 3: numpy's broadcasting, axes aligned from the right. */
static int match_numpy(struct weights_array *a, const struct weights_cells *c)
{
    if (a->rank > c->rank)
        return -1;
    for (int k = 0; k < a->rank; k++) {
        int d = c->rank - a->rank + k;
        if (a->dims[k] != c->len[d] && a->dims[k] != 1)
            return -1;
        a->along[k] = d;
    }
    return 0;
}

int weights_match(struct weights_array *a, const struct weights_cells *c,
                  char *why, size_t n)
{
    char ws[1024], cs[1024];
    int rc = -1;
    if (a->rank < 1 || a->rank > H5B_MAX_RANK || c->rank < 1) {
        snprintf(why, n, "%s", c->rank < 1
                 ? "the records are single values: weights need cell "
                   "dimensions after the record dimension"
                 : "the weights have no dimensions");
        return -1;
    }
    if (match_names(a, c) == 0) {
        rc = 0;
        for (int k = 0; k < a->rank; k++)
            if (a->dims[k] != c->len[a->along[k]] && a->dims[k] != 1)
                rc = -1;
    } else if (a->rank == 1) {
        rc = match_length(a, c, why, n);
        if (rc == -2)
            return -1;
    } else {
        rc = match_numpy(a, c);
    }
    if (rc < 0) {
        const char *an[H5B_MAX_RANK];
        for (int k = 0; k < a->rank; k++)
            an[k] = a->name[k];
        snprintf(why, n, "shape (%s) is not broadcastable to the cell shape "
                 "(%s)", shape_text(a->rank, an, a->dims, ws, sizeof ws),
                 shape_text(c->rank, c->name, c->len, cs, sizeof cs));
        return -1;
    }
    for (int k = 0; k < a->rank; k++)
        if (a->dims[k] == 1 && c->len[a->along[k]] != 1)
            a->along[k] = -1;
    return 0;
}

int weights_check(const double *w, uint64_t n, char *why, size_t whylen)
{
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(w[i]) || w[i] < 0) {
            snprintf(why, whylen, "weight %.17g at index %llu is %s", w[i],
                     (unsigned long long)i,
                     isnan(w[i]) ? "NaN" : w[i] < 0 ? "negative"
                                                    : "infinite");
            return -1;
        }
    return 0;
}

uint64_t weights_ncells(const struct weights_cells *c)
{
    uint64_t n = 1;
    for (int d = 0; d < c->rank; d++)
        n *= c->range[d].count;
    return n;
}

/* The offset in a's values of the cell at full indices idx. */
static uint64_t array_offset(const struct weights_array *a,
                             const uint64_t *idx)
{
    uint64_t off = 0;
    for (int k = 0; k < a->rank; k++)
        off = off * a->dims[k] + (a->along[k] < 0 ? 0 : idx[a->along[k]]);
    return off;
}

int weights_expand(const double *w, const struct weights_array *a,
                   const struct weights_cells *c, double *out, char *why,
                   size_t n)
{
    uint64_t pos[H5B_MAX_RANK] = {0}, idx[H5B_MAX_RANK];
    uint64_t total = weights_ncells(c);
    double sum = 0;
    for (uint64_t i = 0; i < total; i++) {
        for (int d = 0; d < c->rank; d++)
            idx[d] = c->range[d].first + pos[d] * c->range[d].stride;
        out[i] = w[array_offset(a, idx)];
        sum += out[i];
        for (int d = c->rank - 1; d >= 0; d--) {    /* row-major step */
            if (++pos[d] < c->range[d].count)
                break;
            pos[d] = 0;
        }
    }
    if (!(sum > 0)) {
        snprintf(why, n, "the weights of the %llu selected cells are all 0",
                 (unsigned long long)total);
        return -1;
    }
    return 0;
}

int weights_coslat(const double *lat, uint64_t n, double *out, char *why,
                   size_t whylen)
{
    for (uint64_t i = 0; i < n; i++) {
        if (!(lat[i] >= -90 && lat[i] <= 90)) {
            snprintf(why, whylen, "latitude %.17g at index %llu is not in "
                     "-90..90 degrees", lat[i], (unsigned long long)i);
            return -1;
        }
        out[i] = cos(lat[i] * (PI / 180.0));
    }
    return 0;
}
