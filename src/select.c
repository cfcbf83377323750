/* select.c -- [input] select specs: parsing and resolving (see select.h). */
#include "select.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_SEPARATORS " \t\r\n"
#define SPEC_MAX 1024

/* Parse the bound text t (a field of spec) into *kind and *index or
 * *coord.  An index is digits only; a coordinate has a decimal point or an
 * exponent and is a finite number. */
static int parse_bound(const char *t, const char *spec,
                       enum select_bound *kind, uint64_t *index,
                       double *coord, char *why, size_t n)
{
    char *end = NULL;
    *kind = SELECT_OPEN;
    if (!*t)
        return 0;
    if (strspn(t, "0123456789") == strlen(t)) {
        errno = 0;
        unsigned long long v = strtoull(t, &end, 10);
        if (errno || *end) {
            snprintf(why, n, "'%s': index %s is too large", spec, t);
            return -1;
        }
        *kind = SELECT_INDEX;
        *index = (uint64_t)v;
        return 0;
    }
    errno = 0;
    double v = strtod(t, &end);
    if (end != t && !*end && !errno && isfinite(v) && strpbrk(t, ".eE")) {
        *kind = SELECT_COORD;
        *coord = v;
        return 0;
    }
    if (end != t && !*end && t[0] == '-' && !strpbrk(t, ".eE"))
        snprintf(why, n, "'%s': %s is a negative index (write %s. for a "
                 "coordinate value)", spec, t, t);
    else
        snprintf(why, n, "'%s': bound '%s' is neither an index (an integer) "
                 "nor a coordinate value (a number with a decimal point)",
                 spec, t);
    return -1;
}

/* Parse the stride field t of spec: an integer >= 1. */
static int parse_stride(const char *t, const char *spec, uint64_t *stride,
                        char *why, size_t n)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = *t && strspn(t, "0123456789") == strlen(t)
                           ? strtoull(t, &end, 10) : 0;
    if (!*t || strspn(t, "0123456789") != strlen(t) || errno) {
        snprintf(why, n, "'%s': stride '%s' is not a whole number >= 1",
                 spec, t);
        return -1;
    }
    if (v == 0) {
        snprintf(why, n, "'%s': stride 0 (the stride is at least 1)", spec);
        return -1;
    }
    *stride = (uint64_t)v;
    return 0;
}

/* Parse one spec (text, NUL-terminated, modified) into s. */
static int parse_spec(char *text, struct select_spec *s, char *why, size_t n)
{
    char spec[SPEC_MAX];
    char *field[5] = {NULL};
    int nf = 0;
    snprintf(spec, sizeof spec, "%s", text);
    for (char *p = text; nf < 5; nf++) {
        field[nf] = p;
        p = strchr(p, ',');
        if (!p) {
            nf++;
            break;
        }
        *p++ = '\0';
    }
    if (nf < 2 || nf > 4 || !field[0][0]) {
        snprintf(why, n, "'%s' is not dim,min,max[,stride]", spec);
        return -1;
    }
    if (strlen(field[0]) >= sizeof s->dim) {
        snprintf(why, n, "'%s': the dimension name is too long", spec);
        return -1;
    }
    memset(s, 0, sizeof *s);
    snprintf(s->dim, sizeof s->dim, "%s", field[0]);
    s->stride = 1;
    const char *hi = nf >= 3 ? field[2] : field[1];  /* dim,i: just i */
    if (parse_bound(field[1], spec, &s->lo_kind, &s->lo_index, &s->lo_coord,
                    why, n) < 0 ||
        parse_bound(hi, spec, &s->hi_kind, &s->hi_index, &s->hi_coord, why,
                    n) < 0)
        return -1;
    return nf == 4 ? parse_stride(field[3], spec, &s->stride, why, n) : 0;
}

int select_parse(const char *text, struct select_list *l, char *why,
                 size_t whylen)
{
    char buf[SPEC_MAX];
    memset(l, 0, sizeof *l);
    for (const char *p = text + strspn(text, SPEC_SEPARATORS); *p;
         p += strspn(p, SPEC_SEPARATORS)) {
        size_t len = strcspn(p, SPEC_SEPARATORS);
        if (len >= sizeof buf || l->n == H5B_MAX_RANK) {
            snprintf(why, whylen, len >= sizeof buf ? "a spec is too long"
                     : "more than %d specs", H5B_MAX_RANK);
            return -1;
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        p += len;
        if (parse_spec(buf, &l->spec[l->n], why, whylen) < 0)
            return -1;
        for (size_t i = 0; i < l->n; i++)
            if (strcmp(l->spec[i].dim, l->spec[l->n].dim) == 0) {
                snprintf(why, whylen, "dimension '%s' is selected twice",
                         l->spec[i].dim);
                return -1;
            }
        l->n++;
    }
    if (l->n == 0) {
        snprintf(why, whylen, "no spec (dim,min,max[,stride])");
        return -1;
    }
    return 0;
}

int select_uses_coord(const struct select_spec *s)
{
    return s->lo_kind == SELECT_COORD || s->hi_kind == SELECT_COORD;
}

/* Is coord[0..len) strictly monotonic?  *up: increasing. */
static int monotonic(const double *coord, uint64_t len, int *up)
{
    *up = len < 2 || coord[1] > coord[0];
    for (uint64_t i = 1; i < len; i++)
        if (*up ? !(coord[i] > coord[i - 1]) : !(coord[i] < coord[i - 1]))
            return 0;
    return 1;
}

/* Check that a coordinate bound v lies within [cmin, cmax]. */
static int in_range(const struct select_spec *s, double v, double cmin,
                    double cmax, char *why, size_t n)
{
    if (v >= cmin && v <= cmax)
        return 0;
    snprintf(why, n, "dimension '%s': bound %.17g is outside its coordinate "
             "range [%.17g, %.17g]", s->dim, v, cmin, cmax);
    return -1;
}

/* Narrow [*a, *b] (inclusive indices) to the indices whose coordinate
 * values lie within s's coordinate bounds. */
static int narrow_coord(const struct select_spec *s, uint64_t len,
                        const double *coord, uint64_t *a, uint64_t *b,
                        char *why, size_t n)
{
    int up = 1;
    if (!coord) {
        snprintf(why, n, "dimension '%s' has no coordinate values; use "
                 "index bounds (integers)", s->dim);
        return -1;
    }
    if (!monotonic(coord, len, &up)) {
        snprintf(why, n, "dimension '%s': its coordinate values are neither "
                 "increasing nor decreasing; use index bounds", s->dim);
        return -1;
    }
    double cmin = up ? coord[0] : coord[len - 1];
    double cmax = up ? coord[len - 1] : coord[0];
    double lo = s->lo_kind == SELECT_COORD ? s->lo_coord : -INFINITY;
    double hi = s->hi_kind == SELECT_COORD ? s->hi_coord : INFINITY;
    if ((s->lo_kind == SELECT_COORD && in_range(s, lo, cmin, cmax, why, n)) ||
        (s->hi_kind == SELECT_COORD && in_range(s, hi, cmin, cmax, why, n)))
        return -1;
    uint64_t i = 0, j = len;    /* the run [i, j) within [lo, hi] */
    while (i < len && !(coord[i] >= lo && coord[i] <= hi))
        i++;
    j = i;
    while (j < len && coord[j] >= lo && coord[j] <= hi)
        j++;
    if (i == j) {
        *a = 1;
        *b = 0;
        return 0;
    }
    *a = *a > i ? *a : i;
    *b = *b < j - 1 ? *b : j - 1;
    return 0;
}

int select_resolve(const struct select_spec *s, uint64_t len,
                   const double *coord, struct select_range *r, char *why,
                   size_t whylen)
{
    uint64_t a = 0, b = len ? len - 1 : 0;
    const uint64_t bound[2] = {s->lo_index, s->hi_index};
    const enum select_bound kind[2] = {s->lo_kind, s->hi_kind};
    for (int k = 0; k < 2; k++)
        if (kind[k] == SELECT_INDEX && bound[k] >= len) {
            snprintf(why, whylen, "dimension '%s': index %llu is past its "
                     "end (indices 0..%llu)", s->dim,
                     (unsigned long long)bound[k],
                     (unsigned long long)(len ? len - 1 : 0));
            return -1;
        }
    if (s->lo_kind == SELECT_INDEX)
        a = s->lo_index;
    if (s->hi_kind == SELECT_INDEX)
        b = s->hi_index;
    if (select_uses_coord(s) &&
        narrow_coord(s, len, coord, &a, &b, why, whylen) < 0)
        return -1;
    if (len == 0 || a > b) {
        snprintf(why, whylen, "dimension '%s': the selection is empty",
                 s->dim);
        return -1;
    }
    r->first = a;
    r->stride = s->stride;
    r->count = (b - a) / s->stride + 1;
    return 0;
}

uint64_t select_in_file(const struct select_range *r, uint64_t file_first,
                        uint64_t file_len, uint64_t *first)
{
    uint64_t last = r->first + (r->count - 1) * r->stride;
    uint64_t end = file_first + file_len;   /* exclusive */
    *first = 0;
    if (r->count == 0 || file_len == 0 || last < file_first ||
        r->first >= end)
        return 0;
    uint64_t j0 = r->first >= file_first
                  ? 0 : (file_first - r->first + r->stride - 1) / r->stride;
    uint64_t j1 = (end - 1 < last ? end - 1 : last) - r->first;
    j1 /= r->stride;                /* the last selected j in the file */
    if (j0 > j1)
        return 0;
    *first = r->first + j0 * r->stride - file_first;
    return j1 - j0 + 1;
}
