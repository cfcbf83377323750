/* cfmeta.c -- netCDF/CF metadata rules for results (see cfmeta.h). */
#include "cfmeta.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The part of name after its last '/'. */
static const char *base_of(const char *name)
{
    const char *s = strrchr(name, '/');
    return s ? s + 1 : name;
}

static int is_groupby(const char *name)
{
    return strncmp(name, "groupby/", 8) == 0 && !strchr(name + 8, '/');
}

enum cfmeta_unit cfmeta_unit_of(const char *name)
{
    static const char *const same[] = {"mean", "min", "max", "std", "sum"};
    if (strcmp(name, "quantiles/values") == 0 ||
        strcmp(name, "histogram/edges") == 0 ||
        strcmp(name, "groupby/quantiles") == 0 ||
        strcmp(name, "groupby/histogram_edges") == 0)
        return CFMETA_SAME_UNIT;
    if (strchr(name, '/') && !is_groupby(name))
        return CFMETA_NO_UNIT;
    const char *b = base_of(name);
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        if (strcmp(b, same[i]) == 0)
            return CFMETA_SAME_UNIT;
    return strcmp(b, "var") == 0 ? CFMETA_UNIT_SQUARED : CFMETA_NO_UNIT;
}

const char *cfmeta_method(const char *name)
{
    static const char *const map[][2] = {
        {"mean", "mean"}, {"min", "minimum"}, {"max", "maximum"},
        {"sum", "sum"}, {"std", "standard_deviation"}, {"var", "variance"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(name, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* Append term t (len bytes: letters, digits or '_', then an optional
 * signed integer exponent) squared to out.  Returns 0 or -1. */
static int square_term(const char *t, size_t len, char *out, size_t n)
{
    size_t i = 0;
    while (i < len && (isalpha((unsigned char)t[i]) || t[i] == '_'))
        i++;
    if (i == 0)
        return -1;
    long e = 1;
    if (i < len) {
        char num[24], *end;
        if (len - i >= sizeof num)
            return -1;
        memcpy(num, t + i, len - i);
        num[len - i] = '\0';
        e = strtol(num, &end, 10);
        if (*end || end == num || !isdigit((unsigned char)end[-1]) ||
            e == 0 || e > 1000 || e < -1000)
            return -1;
    }
    size_t used = strlen(out);
    int w = snprintf(out + used, n - used, "%s%.*s%ld", used ? " " : "",
                     (int)i, t, 2 * e);
    return w < 0 || (size_t)w >= n - used ? -1 : 0;
}

int cfmeta_units_squared(const char *u, char *out, size_t n)
{
    if (n == 0)
        return -1;
    out[0] = '\0';
    if (strcmp(u, "1") == 0 && n > 1) {
        strcpy(out, "1");
        return 0;
    }
    int terms = 0;
    for (const char *s = u; *s;) {
        while (*s == ' ')
            s++;
        size_t len = strcspn(s, " ");
        if (len == 0)
            break;
        if (square_term(s, len, out, n) != 0) {
            out[0] = '\0';
            return -1;
        }
        terms++;
        s += len;
    }
    return terms ? 0 : -1;
}

/* The axis `extra` of group-by result "groupby/<b>": keys first, then a
 * per-key histogram's bins or quantiles; the shared edges and
 * probabilities have their own axis.  NULL: no fixed name. */
static const char *groupby_axis(const char *b, int extra)
{
    if (strcmp(b, "histogram_edges") == 0)
        return extra == 0 ? "bin_edge" : NULL;
    if (strcmp(b, "probabilities") == 0)
        return extra == 0 ? "quantile" : NULL;
    if (extra == 0)
        return "key";
    if (extra == 1 && strcmp(b, "histogram") == 0)
        return "bin";
    return extra == 1 && strcmp(b, "quantiles") == 0 ? "quantile" : NULL;
}

void cfmeta_axis_name(const char *name, int per_cell, int extra, char *out,
                      size_t n)
{
    const char *fixed = NULL;
    if (per_cell && strcmp(name, "histogram/counts") == 0 && extra == 0)
        fixed = "bin";
    else if (!per_cell && strcmp(name, "histogram/edges") == 0)
        fixed = "bin_edge";
    else if (strcmp(name, per_cell ? "quantiles/values"
                                   : "quantiles/probabilities") == 0 &&
             extra == 0)
        fixed = "quantile";
    else if (!per_cell && is_groupby(name))
        fixed = groupby_axis(name + 8, extra);
    if (fixed)
        snprintf(out, n, "%s", fixed);
    else
        snprintf(out, n, "%s_dim%d", base_of(name), extra);
}

const char *cfmeta_axis_coord(const char *axis)
{
    if (strcmp(axis, "quantile") == 0)
        return "probabilities";
    return strcmp(axis, "key") == 0 ? "keys" : NULL;
}
