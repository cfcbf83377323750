/* table.c -- columns of a record: extraction, CF masking, per-column opsets.
 *
 * A column whose values are the whole element (a plain dataset without
 * CF) is reduced in place, with no copy.  Otherwise its values are
 * gathered from the strided elements into scratch and, for CF columns,
 * converted: masked values become NaN (counted per cell in `missing`) and
 * scaled values become float64.  Since the operators count those NaNs as
 * NaN, table_finalize() takes the missing counts back out of nan_count.
 */
#include "table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "histbin.h"
#include "sketchmap.h"

h5b_type table_value_type(h5b_type t, const struct cf *c)
{
    if (!c || !c->flags)
        return t;
    if ((c->flags & CF_SCALE) || (t != H5B_FLOAT32 && t != H5B_FLOAT64))
        return H5B_FLOAT64;
    return t;
}

size_t table_type_size(uint32_t t)
{
    uint32_t w = t & TABLE_STRING_MAX;
    if ((t & ~(TABLE_STRING_MAX | TABLE_UTF8)) == TABLE_STRING)
        return w;
    return h5b_type_size((h5b_type)t);
}

int table_init(struct table *t, uint32_t elem_bytes, uint64_t elems,
               struct h5b_error *err)
{
    memset(t, 0, sizeof *t);
    if (elem_bytes == 0 || elems == 0)
        return err_set(err, H5B_ERUN, "table: empty element");
    t->elem_bytes = elem_bytes;
    t->elems = elems;
    t->col = calloc(TABLE_MAX_COLUMNS, sizeof *t->col);
    return t->col ? 0 : err_set(err, H5B_ERUN, "out of memory");
}

/* Argument lookup of a column's operators (see struct column). */
static const char *column_arg(const struct h5b_op_config *cfg,
                              const char *key)
{
    const struct column *c = cfg->arg_ctx;
    struct h5b_op_config base = c->base;
    if (strcmp(key, "histogram_range") == 0 && c->d.hist_range[0])
        return c->d.hist_range;
    base.op_name = cfg->op_name;
    return base.arg ? base.arg(&base, key) : NULL;
}

int table_add(struct table *t, const struct column_desc *d,
              const struct h5b_op_config *shape, const char *const *outputs,
              struct h5b_error *err)
{
    size_t size = d->role != ROLE_VALUE ? table_type_size(d->type)
                                        : h5b_type_size(d->type);
    if (t->ncol == TABLE_MAX_COLUMNS)
        return err_set(err, H5B_EINPUT, "more than %d columns",
                       TABLE_MAX_COLUMNS);
    if (!size || (d->role != ROLE_KEY_TAIL && (size > t->elem_bytes ||
                  d->offset > t->elem_bytes - size)) ||
        !memchr(d->name, '\0', sizeof d->name) || d->role > ROLE_KEY_TAIL)
        return err_set(err, H5B_ERUN, "column %zu does not fit its element",
                       t->ncol);
    if (d->role != ROLE_VALUE) {
        if (t->nkey == GB_MAX_PARTS)
            return err_set(err, H5B_EINPUT, "[reduce] group_by: more than "
                           "%d parts", GB_MAX_PARTS);
        t->tail_at[t->nkey] = t->key_tail;
        t->key[t->nkey++] = *d;
        t->key_tail += d->role == ROLE_KEY_TAIL ? (uint32_t)size : 0;
        return 0;
    }
    struct column *c = &t->col[t->ncol];
    struct h5b_op_config cfg = *shape;
    c->d = *d;
    c->base = *shape;
    cfg.type = table_value_type(d->type, &d->cf);
    cfg.arg = column_arg;
    cfg.arg_ctx = c;
    int rc = opset_init(&c->set, &cfg, outputs, err);
    if (rc == 0)
        t->ncol++;
    return rc;
}

/* Put t's key columns in the order group_by names them. */
static int order_keys(struct table *t, const char *group_by,
                      struct h5b_error *err)
{
    struct column_desc key[GB_MAX_PARTS];
    uint32_t at[GB_MAX_PARTS];
    char buf[4096];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", group_by ? group_by : "");
    for (char *save = NULL, *f = strtok_r(buf, " \t,", &save); f;
         f = strtok_r(NULL, " \t,", &save)) {
        const char *slash = strrchr(f, '/');
        const char *name = slash ? slash + 1 : f;
        size_t k = 0;
        while (k < t->nkey && strcmp(t->key[k].name, name) != 0)
            k++;
        for (size_t i = 0; k < t->nkey && i < n; i++)
            if (strcmp(key[i].name, name) == 0)
                k = t->nkey;
        if (k == t->nkey || n == GB_MAX_PARTS)
            return err_set(err, H5B_EINPUT, "[reduce] group_by = %s: '%s' "
                           "is not a key column, or is named twice", group_by,
                           f);
        key[n] = t->key[k];
        at[n++] = t->tail_at[k];
    }
    if (n != t->nkey)
        return err_set(err, H5B_EINPUT, "[reduce] group_by = %s: %zu key "
                       "columns for %zu parts", group_by ? group_by : "",
                       t->nkey, n);
    memcpy(t->key, key, n * sizeof *key);
    memcpy(t->tail_at, at, n * sizeof *at);
    return 0;
}

/* Make t a keyed table (see table_group). */
static int keyed_group(struct table *t, const char *group_by,
                       struct h5b_error *err)
{
    const struct column_desc *d = &t->key[0];
    t->time_part = cftime_group_part(group_by, NULL);
    if (t->nkey != 1 || d->role != ROLE_KEY_TAIL)
        return err_set(err, H5B_EINPUT, "[reduce] group_by = %s: a field "
                       "is grouped by one /key dataset or by a time "
                       "coordinate's month, year, season or dayofyear",
                       group_by);
    if (t->ncol && t->col[0].set.cfg.per_record)
        return err_set(err, H5B_EINPUT, "[reduce] group_by = %s: not with "
                       "axis = records", group_by);
    int rc = 0;
    if (t->time_part >= 0)
        rc = cftime_parse(&t->tc, d->time_units, d->calendar, d->name, err);
    else if (d->type & TABLE_STRING || !gb_key_type_ok(d->type))
        rc = err_set(err, H5B_EINPUT, "[reduce] group_by: key dataset '%s' "
                     "of a field must be of an integer type", d->name);
    if (rc < 0)
        return rc;
    t->kc.ncol = t->ncol;
    for (size_t i = 0; i < t->ncol; i++)
        t->kc.set[i] = &t->col[i].set;
    t->kc.elems = t->elems;
    t->keyed = 1;
    return 0;
}

static int has_output(const char *const *outputs, const char *name)
{
    for (const char *const *o = outputs; o && *o; o++)
        if (strcmp(*o, name) == 0)
            return 1;
    return 0;
}

/* The per-key distributions' parameters of every column, if outputs ask
 * for histogram or quantiles; the columns' opsets then run beside. */
static int group_dist(struct table *t, const char *const *outputs,
                      struct h5b_error *err)
{
    int hist = has_output(outputs, "histogram");
    int quant = has_output(outputs, "quantiles");
    if ((!hist && !quant) || !t->ncol)
        return 0;
    t->gb_dist = calloc(t->ncol, sizeof *t->gb_dist);
    if (!t->gb_dist)
        return err_set(err, H5B_ERUN, "out of memory");
    for (size_t i = 0; i < t->ncol; i++) {
        struct gbd_config *d = &t->gb_dist[i];
        const struct h5b_op_config *cfg = &t->col[i].set.cfg;
        d->hist = hist;
        d->quant = quant;
        if ((hist && histbin_params(cfg, &d->hb, err) < 0) ||
            (quant && sketch_params(cfg, &d->sp, err) < 0))
            return err_prefix(err, H5B_EINPUT, "[reduce] group_by column %s",
                              t->col[i].d.name);
    }
    t->gb.dist = t->gb_dist;
    return 0;
}

int table_group(struct table *t, const char *const *outputs, int ddof,
                int exact, const char *group_by, struct h5b_error *err)
{
    if (!t->nkey)
        return 0;
    if (t->elems > 1 || cftime_group_part(group_by, NULL) >= 0)
        return keyed_group(t, group_by, err);
    if (t->ncol && t->col[0].set.cfg.weights)
        return err_set(err, H5B_EINPUT, "[reduce] weights: group_by on "
                       "records of one value is not weighted");
    int rc = order_keys(t, group_by, err);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < t->nkey; k++) {
        const struct column_desc *d = &t->key[k];
        int str = (d->type & TABLE_STRING) != 0;
        if (!str && !gb_key_type_ok(d->type))
            return err_set(err, H5B_EINPUT, "[reduce] group_by: key '%s' is "
                           "not of an integer or string type", d->name);
        snprintf(t->parts[k].name, sizeof t->parts[k].name, "%s", d->name);
        t->parts[k].width = str ? (uint32_t)table_type_size(d->type) : 0;
    }
    /* one integer key: as int64, the plain path (no key bytes) */
    int plain = t->nkey == 1 && !t->parts[0].width;
    for (size_t i = 0; i < t->ncol; i++) {
        t->gb_types[i] = t->col[i].set.cfg.type;
        t->gb_names[i] = t->col[i].d.name;
    }
    /* Counts alone: the rows per key go to the key's own group. */
    if (t->ncol == 0)
        t->gb_names[0] = t->key[0].name;
    t->gb_names[t->ncol ? t->ncol : 1] = NULL;
    t->gb = (struct gb_config){.ncol = t->ncol, .type = t->gb_types,
                               .elems = t->elems, .outputs = outputs,
                               .ddof = ddof, .exact = exact,
                               .nparts = plain ? 0 : t->nkey,
                               .parts = t->parts};
    t->grouped = 1;
    rc = group_dist(t, outputs, err);
    if (rc < 0)
        return rc;
    rc = gb_check(&t->gb, err);
    return rc < 0 ? err_prefix(err, H5B_EINPUT, "[reduce] group_by") : 0;
}

void table_free(struct table *t)
{
    free(t->gb_dist);
    free(t->col);
    free(t->scratch);
    memset(t, 0, sizeof *t);
}

static uint64_t ncell_of(const struct table *t)
{
    return t->ncol ? t->col[0].set.cfg.ncell : 1;
}

static int has_cf(const struct table *t)
{
    for (size_t i = 0; i < t->ncol; i++)
        if (t->col[i].d.cf.flags)
            return 1;
    return 0;
}

void table_destroy(const struct table *t, struct table_partial *tp)
{
    gb_destroy(tp->gb);
    tp->gb = NULL;
    keyed_destroy(&t->kc, tp->kp);
    tp->kp = NULL;
    for (size_t i = 0; tp->p && i < t->ncol; i++)
        opset_destroy(&t->col[i].set, &tp->p[i]);
    free(tp->p);
    free(tp->missing);
    tp->p = NULL;
    tp->missing = NULL;
}

int table_create(const struct table *t, struct table_partial *tp,
                 struct h5b_error *err)
{
    int rc = 0;
    memset(tp, 0, sizeof *tp);
    if (t->keyed)
        return keyed_create(&tp->kp, err);
    if (t->grouped) {
        rc = gb_create(&t->gb, &tp->gb, err);
        if (rc < 0 || !table_whole(t))
            return rc;
    }
    tp->p = calloc(t->ncol ? t->ncol : 1, sizeof *tp->p);
    tp->missing = has_cf(t) ? calloc(t->ncol * ncell_of(t),
                                     sizeof *tp->missing) : NULL;
    if (!tp->p || (has_cf(t) && !tp->missing))
        rc = err_set(err, H5B_ERUN, "out of memory for a partial");
    for (size_t i = 0; rc == 0 && i < t->ncol; i++)
        rc = opset_create(&t->col[i].set, &tp->p[i], err);
    if (rc < 0)
        table_destroy(t, tp);
    return rc;
}

void table_reserve(const struct table *t, struct table_partial *tp,
                   uint64_t records)
{
    if (t->grouped && tp->gb)
        gb_reserve(tp->gb, records);
}

/* Make room for n bytes of scratch. */
static int reserve(struct table *t, size_t n, struct h5b_error *err)
{
    if (n <= t->scratch_cap)
        return 0;
    unsigned char *p = realloc(t->scratch, n);
    if (!p)
        return err_set(err, H5B_ERUN, "out of memory for %zu bytes of "
                       "column scratch", n);
    t->scratch = p;
    t->scratch_cap = n;
    return 0;
}

/* Copy the `size`-byte field at offset of n elements of stride bytes. */
static void gather(const unsigned char *src, uint64_t n, uint32_t stride,
                   uint32_t offset, size_t size, unsigned char *dst)
{
    src += offset;
    switch (size) {
    case 1:
        for (uint64_t i = 0; i < n; i++)
            dst[i] = src[i * stride];
        break;
    case 2:
        for (uint64_t i = 0; i < n; i++)
            memcpy(dst + 2 * i, src + i * stride, 2);
        break;
    case 4:
        for (uint64_t i = 0; i < n; i++)
            memcpy(dst + 4 * i, src + i * stride, 4);
        break;
    case 8:
        for (uint64_t i = 0; i < n; i++)
            memcpy(dst + 8 * i, src + i * stride, 8);
        break;
    default:    /* string keys */
        for (uint64_t i = 0; i < n; i++)
            memcpy(dst + size * i, src + i * stride, size);
        break;
    }
}

/* Is stored value v masked by c? */
static int cf_masked(const struct cf *c, double v)
{
    return ((c->flags & CF_FILL) && v == c->fill) ||
           ((c->flags & CF_MISSING) && v == c->missing) ||
           ((c->flags & CF_VMIN) && v < c->vmin) ||
           ((c->flags & CF_VMAX) && v > c->vmax);
}

/* CF conversion of n stored values of type T at src into dst (float or
 * double, as OUT), counting masked values per cell into missing. */
#define CF_CONVERT(SUF, T)                                                   \
static void cf_##SUF(const struct cf *c, const T *src, uint64_t n,         \
                     uint64_t ncell, int to_f32, void *dst,                  \
                     uint64_t *missing)                                      \
{                                                                            \
    double scale = (c->flags & CF_SCALE) ? c->scale : 1.0;                   \
    double add = (c->flags & CF_SCALE) ? c->offset : 0.0;                    \
    uint64_t cell = 0;                                                       \
    for (uint64_t i = 0; i < n; i++) {                                       \
        double v = (double)src[i];                                           \
        if (cf_masked(c, v)) {                                               \
            missing[cell]++;                                                 \
            v = NAN;                                                         \
        } else if (c->flags & CF_SCALE) {                                    \
            v = v * scale + add;                                             \
        }                                                                    \
        if (to_f32)                                                          \
            ((float *)dst)[i] = (float)v;                                    \
        else                                                                 \
            ((double *)dst)[i] = v;                                          \
        cell = cell + 1 == ncell ? 0 : cell + 1;                             \
    }                                                                        \
}

CF_CONVERT(i8, int8_t)
CF_CONVERT(u8, uint8_t)
CF_CONVERT(i16, int16_t)
CF_CONVERT(u16, uint16_t)
CF_CONVERT(i32, int32_t)
CF_CONVERT(u32, uint32_t)
CF_CONVERT(i64, int64_t)
CF_CONVERT(u64, uint64_t)
CF_CONVERT(f32, float)
CF_CONVERT(f64, double)

static void cf_apply(const struct column *c, const void *src, uint64_t n,
                     uint64_t ncell, void *dst, uint64_t *missing)
{
    const struct cf *cf = &c->d.cf;
    int f = c->set.cfg.type == H5B_FLOAT32;
    switch (c->d.type) {
    case H5B_INT8: cf_i8(cf, src, n, ncell, f, dst, missing); break;
    case H5B_UINT8: cf_u8(cf, src, n, ncell, f, dst, missing); break;
    case H5B_INT16: cf_i16(cf, src, n, ncell, f, dst, missing); break;
    case H5B_UINT16: cf_u16(cf, src, n, ncell, f, dst, missing); break;
    case H5B_INT32: cf_i32(cf, src, n, ncell, f, dst, missing); break;
    case H5B_UINT32: cf_u32(cf, src, n, ncell, f, dst, missing); break;
    case H5B_INT64: cf_i64(cf, src, n, ncell, f, dst, missing); break;
    case H5B_UINT64: cf_u64(cf, src, n, ncell, f, dst, missing); break;
    case H5B_FLOAT32: cf_f32(cf, src, n, ncell, f, dst, missing); break;
    case H5B_FLOAT64: cf_f64(cf, src, n, ncell, f, dst, missing); break;
    }
}

/* The values column i's operators see for n elements at data: data
 * itself when the column is the whole element, else scratch. */
static int column_values(struct table *t, size_t i, const unsigned char *data,
                         uint64_t n, uint64_t *missing, const void **out,
                         struct h5b_error *err)
{
    const struct column *c = &t->col[i];
    size_t size = h5b_type_size(c->d.type);
    int direct = c->d.offset == 0 && t->elem_bytes == size;
    if (direct && !c->d.cf.flags) {
        *out = data;
        return 0;
    }
    if (reserve(t, (size_t)n * 16, err) < 0)
        return H5B_ERUN;
    const unsigned char *vals = data;
    if (!direct) {
        gather(data, n, t->elem_bytes, c->d.offset, size, t->scratch);
        vals = t->scratch;
    }
    if (c->d.cf.flags) {
        cf_apply(c, vals, n, ncell_of(t), t->scratch + (size_t)n * 8,
                 missing);
        vals = t->scratch + (size_t)n * 8;
    }
    *out = vals;
    return 0;
}

/* The values of key part k of n single-element records at data, into
 * tmp (n * 8 bytes or the string width) as int64 or as strings.  Key
 * datasets follow the records' values, one after another in part order. */
static int key_part(const struct table *t, size_t k,
                    const unsigned char *data, uint64_t n, unsigned char *tmp,
                    struct h5b_error *err)
{
    const struct column_desc *d = &t->key[k];
    size_t size = table_type_size(d->type);
    const unsigned char *src = data + (size_t)n * t->elem_bytes +
                               (size_t)n * t->tail_at[k];
    unsigned char *raw = (d->type & TABLE_STRING) ? tmp : tmp + (size_t)n * 8;
    if (d->role == ROLE_KEY_FIELD) {
        gather(data, n, t->elem_bytes, d->offset, size, raw);
        src = raw;
    }
    if (d->type & TABLE_STRING) {
        memmove(tmp, src, (size_t)n * size);
        return 0;
    }
    int rc = gb_keys_to_int64(d->type, src, n, (int64_t *)tmp, err);
    return rc < 0 ? err_prefix(err, rc, "group_by key '%s'", d->name) : 0;
}

/* The keys of n single-element records at data into keys: int64 for one
 * integer key, else gb_key_bytes() bytes each, the parts side by side. */
static int group_keys(struct table *t, const unsigned char *data, uint64_t n,
                      unsigned char *keys, struct h5b_error *err)
{
    size_t kw = gb_key_bytes(&t->gb), at = 0, most = 8;
    for (size_t k = 0; k < t->nkey; k++)
        if (table_type_size(t->key[k].type) > most)
            most = table_type_size(t->key[k].type);
    unsigned char *tmp = malloc((size_t)n * (most + 8) + 1);
    int rc = tmp ? 0 : err_set(err, H5B_ERUN, "out of memory for keys");
    if (rc == 0 && !kw)
        rc = key_part(t, 0, data, n, tmp, err);
    if (rc == 0 && !kw)
        memcpy(keys, tmp, (size_t)n * 8);
    for (size_t k = 0; rc == 0 && kw && k < t->nkey; k++) {
        size_t w = t->parts[k].width;
        rc = key_part(t, k, data, n, tmp, err);
        for (uint64_t i = 0; rc == 0 && i < n; i++) {
            unsigned char *dst = keys + i * kw + at;
            if (w)
                memcpy(dst, tmp + i * w, w);
            else
                gb_key_put_int(dst, ((const int64_t *)tmp)[i]);
        }
        at += w ? w : 8;
    }
    free(tmp);
    return rc;
}

/* Grouped reduce of n records: keys, then every value column at once. */
static int group_reduce(struct table *t, const unsigned char *data,
                        uint64_t n, struct table_partial *tp,
                        struct h5b_error *err)
{
    size_t per = (size_t)n * 8, kw = gb_key_bytes(&t->gb);
    unsigned char *buf = malloc(per * (t->ncol + 1) + 1);
    unsigned char *keys = kw ? malloc((size_t)n * kw + 1) : buf;
    const void *vals[TABLE_MAX_COLUMNS];
    uint64_t dummy = 0;
    int rc = buf && keys ? group_keys(t, data, n, keys, err)
                 : err_set(err, H5B_ERUN, "out of memory for a partition");
    for (size_t i = 0; rc == 0 && i < t->ncol; i++) {
        const void *v = NULL;
        rc = column_values(t, i, data, n, &dummy, &v, err);
        if (rc == 0)
            memcpy(buf + per * (i + 1), v,
                   (size_t)n * h5b_type_size(t->col[i].set.cfg.type));
        vals[i] = buf + per * (i + 1);
    }
    if (rc == 0)
        rc = gb_update(tp->gb, keys, vals, n, err);
    if (keys != buf)
        free(keys);
    free(buf);
    return rc;
}

/* Value of type ty at p as a double. */
static double number_at(h5b_type ty, const unsigned char *p)
{
    union { int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32;
            uint32_t u32; int64_t i64; uint64_t u64; float f; double d; } v;
    memcpy(&v, p, h5b_type_size(ty));
    switch (ty) {
    case H5B_INT8: return v.i8;
    case H5B_UINT8: return v.u8;
    case H5B_INT16: return v.i16;
    case H5B_UINT16: return v.u16;
    case H5B_INT32: return v.i32;
    case H5B_UINT32: return v.u32;
    case H5B_INT64: return (double)v.i64;
    case H5B_UINT64: return (double)v.u64;
    case H5B_FLOAT32: return v.f;
    case H5B_FLOAT64: return v.d;
    }
    return NAN;
}

/* The keys of nrec records at data (their key dataset's values after the
 * records' values): the values, or their calendar part. */
static int keyed_keys(const struct table *t, const unsigned char *data,
                      uint64_t nrec, uint64_t first_record, int64_t *keys,
                      struct h5b_error *err)
{
    const struct column_desc *d = &t->key[0];
    const unsigned char *src = data + nrec * t->elems * t->elem_bytes;
    size_t size = h5b_type_size(d->type);
    if (t->time_part < 0)
        return gb_keys_to_int64(d->type, src, nrec, keys, err) < 0
               ? err_prefix(err, H5B_EINPUT, "group_by key '%s'", d->name)
               : 0;
    for (uint64_t r = 0; r < nrec; r++) {
        double v = number_at(d->type, src + r * size);
        if (cftime_key(&t->tc, t->time_part, v, &keys[r]) < 0)
            return err_set(err, H5B_EINPUT, "group_by = %s.%s: value %g of "
                           "'%s' at record %llu is not a date", d->name,
                           cftime_part_name(t->time_part), v, d->name,
                           (unsigned long long)(first_record + r));
    }
    return 0;
}

/* Keyed reduce of nrec records: keys, then each column's values. */
static int keyed_reduce(struct table *t, const unsigned char *data,
                        uint64_t nrec, uint64_t first_record,
                        struct table_partial *tp, struct h5b_error *err)
{
    int64_t *keys = malloc(nrec * sizeof *keys + 1);
    uint64_t *miss = calloc(ncell_of(t), sizeof *miss);
    int rc = keys && miss ? keyed_keys(t, data, nrec, first_record, keys, err)
                          : err_set(err, H5B_ERUN, "out of memory for keys");
    if (rc == 0)
        rc = keyed_add_keys(&t->kc, tp->kp, keys, nrec, err);
    for (size_t i = 0; rc == 0 && i < t->ncol; i++) {
        const void *vals = NULL;
        /* masked values become NaN, counted in nan_count per key */
        rc = column_values(t, i, data, nrec * t->elems, miss, &vals, err);
        if (rc == 0)
            rc = keyed_update(&t->kc, tp->kp, i, keys, nrec, vals,
                              first_record, err);
    }
    free(keys);
    free(miss);
    return rc;
}

int table_reduce(struct table *t, const void *data, size_t nbytes,
                 uint64_t first_record, struct table_partial *tp,
                 struct h5b_error *err)
{
    size_t rec = (size_t)t->elem_bytes * (size_t)t->elems + t->key_tail;
    if (nbytes % rec != 0)
        return err_set(err, H5B_ERUN, "partition of %zu bytes is not whole "
                       "records of %zu bytes", nbytes, rec);
    uint64_t n = nbytes / rec * t->elems;
    int rc = table_create(t, tp, err);
    if (rc == 0 && (t->grouped || t->keyed)) {
        rc = t->keyed ? keyed_reduce(t, data, nbytes / rec, first_record, tp,
                                     err)
                      : group_reduce(t, data, n, tp, err);
        if (rc < 0)
            table_destroy(t, tp);
        if (rc < 0 || !table_whole(t))
            return rc;
    }
    for (size_t i = 0; rc == 0 && i < t->ncol; i++) {
        const void *vals = NULL;
        const struct column *c = &t->col[i];
        uint64_t *miss = tp->missing ? tp->missing + i * ncell_of(t) : NULL;
        /* With axis = all a record of `elems` values is elems "records"
         * of one cell: first_record counts in those too. */
        uint64_t per = t->elems / c->set.cfg.ncell;
        struct h5b_block blk = {NULL, 0, first_record * per};
        rc = column_values(t, i, data, n, miss, &vals, err);
        blk.data = vals;
        blk.nrec = n / c->set.cfg.ncell;
        if (rc == 0)
            rc = opset_update(&c->set, &tp->p[i], &blk, err);
    }
    if (rc < 0)
        table_destroy(t, tp);
    return rc;
}

int table_merge(const struct table *t, struct table_partial *acc,
                const struct table_partial *later, struct h5b_error *err)
{
    if (t->keyed)
        return keyed_merge(&t->kc, acc->kp, later->kp, err);
    if (t->grouped) {
        int rc = gb_merge(acc->gb, later->gb, err);
        if (rc < 0 || !table_whole(t))
            return rc;
    }
    uint64_t nm = acc->missing ? t->ncol * ncell_of(t) : 0;
    for (size_t i = 0; i < t->ncol; i++)
        if (opset_merge(&t->col[i].set, &acc->p[i], &later->p[i], err) < 0)
            return err_prefix(err, H5B_ERUN, "column %s", t->col[i].d.name);
    for (uint64_t j = 0; j < nm; j++)
        acc->missing[j] += later->missing[j];
    return 0;
}

size_t table_encoded_size(const struct table *t,
                          const struct table_partial *tp)
{
    if (t->grouped && !table_whole(t))
        return gb_encoded_size(tp->gb);
    if (t->keyed)
        return keyed_encoded_size(&t->kc, tp->kp);
    size_t n = t->grouped ? 8 + gb_encoded_size(tp->gb) : 0;
    n += tp->missing ? 8 * (size_t)(t->ncol * ncell_of(t)) : 0;
    for (size_t i = 0; i < t->ncol; i++)
        n += 8 + opset_encoded_size(&t->col[i].set, &tp->p[i]);
    return n;
}

int table_encode(const struct table *t, const struct table_partial *tp,
                 unsigned char *buf, size_t len, struct h5b_error *err)
{
    size_t off = 0;
    if (len != table_encoded_size(t, tp))
        return err_set(err, H5B_ERUN, "table encode: buffer of %zu bytes",
                       len);
    if (t->grouped && !table_whole(t))
        return gb_encode(tp->gb, buf, len, err);
    if (t->keyed)
        return keyed_encode(&t->kc, tp->kp, buf, len, err);
    if (t->grouped) {
        size_t g = gb_encoded_size(tp->gb);
        h5b_put_u64(buf, g);
        if (gb_encode(tp->gb, buf + 8, g, err) < 0)
            return H5B_ERUN;
        off = 8 + g;
    }
    for (size_t i = 0; i < t->ncol; i++) {
        size_t n = opset_encoded_size(&t->col[i].set, &tp->p[i]);
        h5b_put_u64(buf + off, n);
        if (opset_encode(&t->col[i].set, &tp->p[i], buf + off + 8, n,
                         err) < 0)
            return err_prefix(err, H5B_ERUN, "column %s", t->col[i].d.name);
        off += 8 + n;
    }
    for (uint64_t j = 0; tp->missing && j < t->ncol * ncell_of(t); j++)
        h5b_put_u64(buf + off + 8 * j, tp->missing[j]);
    return 0;
}

int table_decode(const struct table *t, struct table_partial *tp,
                 const unsigned char *buf, size_t len, struct h5b_error *err)
{
    size_t off = 0;
    if (t->grouped && !table_whole(t))
        return gb_decode(tp->gb, buf, len, err);
    if (t->keyed)
        return keyed_decode(&t->kc, tp->kp, buf, len, err);
    if (t->grouped) {
        uint64_t g = len >= 8 ? h5b_get_u64(buf) : 0;
        if (len < 8 || g > len - 8)
            return err_set(err, H5B_ERUN, "partial of %zu bytes truncated "
                           "in its group-by section", len);
        if (gb_decode(tp->gb, buf + 8, (size_t)g, err) < 0)
            return H5B_ERUN;
        off = 8 + (size_t)g;
    }
    for (size_t i = 0; i < t->ncol; i++) {
        uint64_t n = len - off >= 8 ? h5b_get_u64(buf + off) : 0;
        if (len - off < 8 || n > len - off - 8)
            return err_set(err, H5B_ERUN, "partial of %zu bytes truncated "
                           "at column %s", len, t->col[i].d.name);
        if (opset_decode(&t->col[i].set, &tp->p[i], buf + off + 8,
                         (size_t)n, err) < 0)
            return err_prefix(err, H5B_ERUN, "column %s", t->col[i].d.name);
        off += 8 + (size_t)n;
    }
    size_t nm = tp->missing ? (size_t)(t->ncol * ncell_of(t)) : 0;
    if (len - off != 8 * nm)
        return err_set(err, H5B_ERUN, "partial of %zu bytes has a bad "
                       "missing-count section", len);
    for (size_t j = 0; j < nm; j++)
        tp->missing[j] = h5b_get_u64(buf + off + 8 * j);
    return 0;
}

/* For a CF column: nan_count -= missing, and put missing_count. */
static int put_missing(const struct column *c, const uint64_t *missing,
                       struct results *rs, struct h5b_error *err)
{
    for (size_t i = 0; i < rs->n; i++) {
        struct result *r = &rs->r[i];
        if (strcmp(r->group, c->d.name) != 0 || strcmp(r->name, "nan_count"))
            continue;
        for (uint64_t j = 0; j < r->nelem; j++)
            ((uint64_t *)r->data)[j] -= missing[j];
    }
    struct h5b_sink sink = results_sink(rs);
    return sink.put_cells(sink.ctx, "missing_count", H5B_UINT64, 0, NULL,
                          missing, err);
}

int table_finalize(const struct table *t, const struct table_partial *tp,
                   struct results *rs, struct h5b_error *err)
{
    struct h5b_sink sink = results_sink(rs);
    if (t->keyed) {
        const char *groups[TABLE_MAX_COLUMNS];
        for (size_t i = 0; i < t->ncol; i++)
            groups[i] = t->col[i].d.name;
        struct keyed_names nm = {groups, t->time_part >= 0
                                 ? cftime_part_name(t->time_part)
                                 : t->key[0].name,
                                 t->time_part == CFTIME_SEASON};
        return keyed_finalize(&t->kc, tp->kp, &nm, rs, err);
    }
    if (t->grouped) {
        int rc = gb_finalize(tp->gb, t->gb_names, rs, err);
        if (rc < 0 || !table_whole(t))
            return rc;
    }
    for (size_t i = 0; i < t->ncol; i++) {
        const struct column *c = &t->col[i];
        rs->group = c->d.name;
        rs->cell_rank = c->set.cfg.cell_rank;
        memcpy(rs->cell_dims, c->set.cfg.cell_dims, sizeof rs->cell_dims);
        int rc = opset_finalize(&c->set, &tp->p[i], &sink, err);
        /* Masked values are counted per cell; with axis = records the
         * results are per record, where they stay in nan_count. */
        if (rc == 0 && c->d.cf.flags && !c->set.cfg.per_record)
            rc = put_missing(c, tp->missing + i * ncell_of(t), rs, err);
        if (rc < 0)
            return err_prefix(err, rc, "column %s", c->d.name);
    }
    return 0;
}
