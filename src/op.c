/* op.c -- the operator registry and the opset that drives partial states.
 *
 * The registry is the one list of operators h5batch knows; a new operator
 * is a new file plus one line here.  An opset's partial keeps the states
 * in registry order so that encode/decode and merge never depend on the
 * order in which a job listed its outputs.
 */
#include "op.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

static const h5b_operator *const registry[] = {
    &op_moments,
    &op_hist,
    &op_quantile,
};

#define NREGISTRY (sizeof registry / sizeof registry[0])
#define MAX_PLUGINS 16

/* Plugins loaded for this run, by the name the job gives them. */
static struct {
    char name[128];
    const h5b_operator *op;
} plugins[MAX_PLUGINS];
static size_t nplugins;

int op_register_plugin(const char *name, const h5b_operator *op,
                       struct h5b_error *err)
{
    size_t i = 0;
    while (i < nplugins && strcmp(plugins[i].name, name) != 0)
        i++;
    if (i == MAX_PLUGINS || strlen(name) >= sizeof plugins[i].name)
        return err_set(err, H5B_EINPUT, "plugin %s: too many plugins or "
                       "name too long", name);
    snprintf(plugins[i].name, sizeof plugins[i].name, "%s", name);
    plugins[i].op = op;
    nplugins += i == nplugins;
    return 0;
}

const h5b_operator *op_find_output(const char *name)
{
    for (size_t i = 0; i < NREGISTRY; i++)
        for (const char *const *p = registry[i]->provides; *p; p++)
            if (strcmp(*p, name) == 0)
                return registry[i];
    for (size_t i = 0; i < nplugins; i++)
        if (strcmp(plugins[i].name, name) == 0)
            return plugins[i].op;
    return NULL;
}

int op_known_output(const char *name)
{
    for (size_t i = 0; i < NREGISTRY; i++)
        for (const char *const *p = registry[i]->provides; *p; p++)
            if (strcmp(*p, name) == 0)
                return 1;
    return 0;
}

const char *op_output_names(void)
{
    static char names[512];
    if (names[0])
        return names;
    size_t used = 0;
    for (size_t i = 0; i < NREGISTRY; i++)
        for (const char *const *p = registry[i]->provides; *p; p++) {
            int n = snprintf(names + used, sizeof names - used, "%s%s",
                             used ? " " : "", *p);
            if (n < 0 || (size_t)n >= sizeof names - used)
                return names;
            used += (size_t)n;
        }
    return names;
}

/* Add op, known in the job as `name`, to set unless it is there. */
static int opset_add(struct opset *set, const h5b_operator *op,
                     const char *name, struct h5b_error *err)
{
    for (size_t i = 0; i < set->nops; i++)
        if (set->ops[i] == op)
            return 0;
    if (set->nops == OPSET_MAX)
        return err_set(err, H5B_EINPUT, "too many operators (at most %d)",
                       OPSET_MAX);
    set->names[set->nops] = name;
    set->ops[set->nops++] = op;
    return 0;
}

int opset_init(struct opset *set, const struct h5b_op_config *shape,
               const char *const *outputs, struct h5b_error *err)
{
    memset(set, 0, sizeof *set);
    set->cfg = *shape;
    set->cfg.outputs = outputs;
    if (shape->per_record) {
        for (size_t i = 0; outputs[i]; i++)
            if (op_find_output(outputs[i]) != &op_moments)
                return err_set(err, H5B_EINPUT, "[reduce] axis = records: "
                               "'%s' is not reduced per record (count sum "
                               "mean var std min max are)", outputs[i]);
        set->opcfg[0] = set->cfg;
        set->opcfg[0].op_name = op_records.name;
        return opset_add(set, &op_records, op_records.name, err);
    }
    int rc = opset_add(set, &op_moments, op_moments.name, err);
    if (rc == 0 && shape->weights)
        rc = opset_add(set, &op_weighted, op_weighted.name, err);
    for (size_t i = 0; rc == 0 && outputs[i]; i++) {
        const h5b_operator *op = op_find_output(outputs[i]);
        if (!op)
            return err_set(err, H5B_EINPUT, "unknown operator '%s'",
                           outputs[i]);
        rc = opset_add(set, op, outputs[i], err);
    }
    for (size_t i = 0; i < set->nops; i++) {
        set->opcfg[i] = set->cfg;
        set->opcfg[i].op_name = set->names[i];
    }
    return rc;
}

int opset_create(const struct opset *set, struct partial *p,
                 struct h5b_error *err)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < set->nops; i++) {
        if (set->ops[i]->create(&set->opcfg[i], &p->state[i], err) < 0) {
            opset_destroy(set, p);
            return err_prefix(err, H5B_ERUN, "operator %s: create",
                              set->names[i]);
        }
    }
    return 0;
}

void opset_destroy(const struct opset *set, struct partial *p)
{
    for (size_t i = 0; i < set->nops; i++) {
        set->ops[i]->destroy(p->state[i]);
        p->state[i] = NULL;
    }
}

int opset_update(const struct opset *set, struct partial *p,
                 const struct h5b_block *blk, struct h5b_error *err)
{
    for (size_t i = 0; i < set->nops; i++)
        if (set->ops[i]->update(p->state[i], blk, err) < 0)
            return err_prefix(err, H5B_ERUN, "operator %s: update",
                              set->names[i]);
    return 0;
}

int opset_merge(const struct opset *set, struct partial *acc,
                const struct partial *later, struct h5b_error *err)
{
    for (size_t i = 0; i < set->nops; i++)
        if (set->ops[i]->merge(acc->state[i], later->state[i], err) < 0)
            return err_prefix(err, H5B_ERUN, "operator %s: merge",
                              set->names[i]);
    return 0;
}

size_t opset_encoded_size(const struct opset *set, const struct partial *p)
{
    size_t n = 0;
    for (size_t i = 0; i < set->nops; i++)
        n += 8 + set->ops[i]->encoded_size(p->state[i]);
    return n;
}

int opset_encode(const struct opset *set, const struct partial *p,
                 unsigned char *buf, size_t len, struct h5b_error *err)
{
    size_t off = 0;
    for (size_t i = 0; i < set->nops; i++) {
        size_t n = set->ops[i]->encoded_size(p->state[i]);
        if (n > len - off || len - off - n < 8)
            return err_set(err, H5B_ERUN, "operator %s: encode: buffer "
                           "too small", set->names[i]);
        h5b_put_u64(buf + off, n);
        if (set->ops[i]->encode(p->state[i], buf + off + 8, n, err) < 0)
            return err_prefix(err, H5B_ERUN, "operator %s: encode",
                              set->names[i]);
        off += 8 + n;
    }
    return 0;
}

int opset_decode(const struct opset *set, struct partial *p,
                 const unsigned char *buf, size_t len, struct h5b_error *err)
{
    size_t off = 0;
    for (size_t i = 0; i < set->nops; i++) {
        if (len - off < 8)
            return err_set(err, H5B_ERUN, "operator %s: decode: partial "
                           "truncated", set->names[i]);
        uint64_t n = h5b_get_u64(buf + off);
        off += 8;
        if (n > len - off)
            return err_set(err, H5B_ERUN, "operator %s: decode: length "
                           "%llu exceeds message", set->names[i],
                           (unsigned long long)n);
        if (set->ops[i]->decode(p->state[i], buf + off, (size_t)n, err) < 0)
            return err_prefix(err, H5B_ERUN, "operator %s: decode",
                              set->names[i]);
        off += (size_t)n;
    }
    if (off != len)
        return err_set(err, H5B_ERUN, "partial has %zu trailing bytes",
                       len - off);
    return 0;
}

int opset_finalize(const struct opset *set, const struct partial *p,
                   const struct h5b_sink *sink, struct h5b_error *err)
{
    for (size_t i = 0; i < set->nops; i++)
        if (set->ops[i]->finalize(p->state[i], sink, err) < 0)
            return err_prefix(err, H5B_ERUN, "operator %s: finalize",
                              set->names[i]);
    return 0;
}

int opset_reduce(const struct opset *set, const void *data, size_t nbytes,
                 uint64_t first_record, struct partial *p,
                 struct h5b_error *err)
{
    size_t rec = h5b_type_size(set->cfg.type) * (size_t)set->cfg.ncell;
    if (rec == 0 || nbytes % rec != 0)
        return err_set(err, H5B_ERUN, "partition of %zu bytes is not whole "
                       "records of %zu bytes", nbytes, rec);
    struct h5b_block blk = {data, nbytes / rec, first_record};
    int rc = opset_create(set, p, err);
    if (rc == 0)
        rc = opset_update(set, p, &blk, err);
    if (rc < 0)
        opset_destroy(set, p);
    return rc;
}
