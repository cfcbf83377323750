/* table.h -- the result columns of a record and the operators on each.
 *
 * A plain numeric dataset is a table of one column; a compound dataset
 * (a PyTables or pandas table) has one column per selected numeric field.
 * A record is `elems` elements of `elem_bytes` each (the trailing
 * dimensions); a column is one typed field at `offset` in every element.
 * Every column has its own opset and its results go to a group named
 * after it.  Optionally a column applies CF conventions first: values
 * equal to _FillValue or missing_value, or outside valid_min/valid_max,
 * are skipped and counted in missing_count; scale_factor and add_offset
 * turn packed integers into float64.
 *
 * A table partial holds one opset partial per column plus the per-cell
 * missing counts of CF columns.  No MPI, no HDF5.
 */
#ifndef H5B_TABLE_H
#define H5B_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "cftime.h"
#include "groupby.h"
#include "h5batch/operator.h"
#include "keyed.h"
#include "op.h"
#include "results.h"

#define TABLE_MAX_COLUMNS 256
#define TABLE_NAME_MAX 128

/* CF attributes present on a column. */
enum cf_flag {
    CF_FILL = 1, CF_MISSING = 2, CF_VMIN = 4, CF_VMAX = 8, CF_SCALE = 16
};

struct cf {
    unsigned flags;         /* 0: no CF processing */
    double fill, missing, vmin, vmax;   /* compared in stored units */
    double scale, offset;   /* value = stored * scale + offset */
};

/* What a column is to the table. */
enum column_role {
    ROLE_VALUE = 0,         /* reduced */
    ROLE_KEY_FIELD,         /* group_by key: a field of the element */
    ROLE_KEY_TAIL           /* group_by key: after the records' values */
};

/* column_desc.type of a fixed-length string group_by key: TABLE_STRING |
 * its width in bytes (1..TABLE_STRING_MAX), | TABLE_UTF8 for UTF-8.  Its
 * values are NUL-padded (HDF5 converts space padding as it reads), and
 * they travel in SETUP as any type code. */
#define TABLE_STRING 0x10000u
#define TABLE_UTF8 0x8000u
#define TABLE_STRING_MAX 0x7fffu

/* What a column is, as the input describes it and SETUP carries it. */
struct column_desc {
    char name[TABLE_NAME_MAX];
    h5b_type type;          /* as stored in the record, native order (or
                             * a TABLE_STRING code) */
    uint32_t offset;        /* byte offset within one element */
    uint32_t role;          /* enum column_role */
    struct cf cf;
    char hist_range[64];    /* this column's histogram_range, or "" */
    /* A key dataset that is a CF time coordinate (group_by =
     * time.month, ...): its units and calendar attributes ("" when
     * absent), parsed by each rank (cftime.h). */
    char time_units[128];
    char calendar[64];
};

/* A column's operators read their arguments through the column, which
 * answers histogram_range itself (a range found by a first pass) and asks
 * `base` (the job) for the rest. */
struct column {
    struct column_desc d;
    struct h5b_op_config base;
    struct opset set;       /* cfg.type is what the operators see */
};

struct table {
    uint32_t elem_bytes;    /* bytes of one element */
    uint64_t elems;         /* elements per record */
    size_t ncol;            /* value columns */
    struct column *col;
    /* Group-by: the key columns (role != ROLE_VALUE), in the order of
     * group_by, and the config. */
    int grouped;
    size_t nkey;
    struct column_desc key[GB_MAX_PARTS];
    uint32_t tail_at[GB_MAX_PARTS]; /* a key dataset's values follow the
                                     * records' at n * this bytes */
    uint32_t key_tail;      /* bytes of key after each record, or 0 */
    struct gb_keypart parts[GB_MAX_PARTS];
    struct gb_config gb;
    /* ncol, with histogram or quantiles; then the columns' own opsets run
     * too (table_whole): the whole column's histogram and quantiles beside
     * the per-key ones, in the same pass */
    struct gbd_config *gb_dist;
    h5b_type gb_types[TABLE_MAX_COLUMNS];
    /* Group-by on a field (records of more than one element, or a time
     * coordinate's calendar part): per-key opsets (keyed.h) instead of
     * gb.  time_part is a cftime_part, or -1 for a key dataset. */
    int keyed;
    struct keyed_config kc;
    int time_part;
    struct cftime tc;
    const char *gb_names[TABLE_MAX_COLUMNS + 1];
    /* Scratch for extracted columns, grown as needed. */
    unsigned char *scratch;
    size_t scratch_cap;
};

/* Is t grouped with per-key distributions, its columns' opsets beside? */
static inline int table_whole(const struct table *t)
{
    return t->gb_dist != NULL;
}

struct table_partial {
    struct partial *p;      /* one per column */
    uint64_t *missing;      /* ncol * ncell, for CF columns */
    struct gb_partial *gb;  /* when grouped: instead, or beside (whole) */
    struct keyed_partial *kp;   /* instead, when keyed */
};

/* Bytes of one value of a column of type t (a TABLE_STRING code too); 0
 * for no valid type. */
size_t table_type_size(uint32_t t);

/* The type the operators see for a column of type t with CF c. */
h5b_type table_value_type(h5b_type t, const struct cf *c);

/* Start an empty table for elements of elem_bytes, elems per record. */
int table_init(struct table *t, uint32_t elem_bytes, uint64_t elems,
               struct h5b_error *err);

/* Add column d; shape gives ncell, cell shape and the argument lookup
 * (its type is replaced by the column's value type); outputs are the
 * requested output names (kept alive by the caller).  A key column
 * (d->role != ROLE_VALUE) makes the table group by it: call
 * table_group() after the last column. */
int table_add(struct table *t, const struct column_desc *d,
              const struct h5b_op_config *shape, const char *const *outputs,
              struct h5b_error *err);

/* Finish a grouped table: put the key columns in the order group_by
 * names them (a field by its name, a key dataset by its last path
 * component; each once), check the group-by configuration (ddof, the
 * outputs) and that records are single elements.  A no-op if no key
 * column was added.  With histogram or quantiles among the outputs, each
 * column gets per-key ones (its range and accuracy as the operators
 * parse them) and keeps its own opset beside, for the whole column: a
 * grouped partial is then, on the wire, a u64 length and the group-by
 * bytes, followed by the ungrouped table's bytes.  Records of more than
 * one element, or group_by = NAME.PART (a CF time coordinate's month,
 * year, season or dayofyear), make a keyed table instead: one integer key
 * dataset or the time coordinate, per-key statistics of every cell
 * (keyed.h). */
int table_group(struct table *t, const char *const *outputs, int ddof,
                int exact, const char *group_by, struct h5b_error *err);

void table_free(struct table *t);

/* Hint that the empty partial tp will take in partials of about records
 * records in all: a grouped table makes room for that many keys
 * (gb_reserve); others ignore it. */
void table_reserve(const struct table *t, struct table_partial *tp,
                   uint64_t records);

/* Create an empty partial (all columns). */
int table_create(const struct table *t, struct table_partial *tp,
                 struct h5b_error *err);

void table_destroy(const struct table *t, struct table_partial *tp);

/* Create tp and reduce nbytes of whole records into it. */
int table_reduce(struct table *t, const void *data, size_t nbytes,
                 uint64_t first_record, struct table_partial *tp,
                 struct h5b_error *err);

/* acc := acc (+) later, later covering the records right after acc's. */
int table_merge(const struct table *t, struct table_partial *acc,
                const struct table_partial *later, struct h5b_error *err);

size_t table_encoded_size(const struct table *t,
                          const struct table_partial *tp);

int table_encode(const struct table *t, const struct table_partial *tp,
                 unsigned char *buf, size_t len, struct h5b_error *err);

/* Decode into a created partial; every length is checked. */
int table_decode(const struct table *t, struct table_partial *tp,
                 const unsigned char *buf, size_t len, struct h5b_error *err);

/* Write every column's results into rs, one group per column, with
 * missing_count beside count for CF columns. */
int table_finalize(const struct table *t, const struct table_partial *tp,
                   struct results *rs, struct h5b_error *err);

#endif
