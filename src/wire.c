/* wire.c -- encoding and checked decoding of the messages in wire.h.
 *
 * Decoding reads through a cursor that refuses to move past the end of the
 * received bytes; a failed read leaves the cursor marked bad, so a decoder
 * makes all its reads and checks once at the end.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

struct cursor {
    const unsigned char *p, *end;
    int bad;
};

static uint64_t get_u64(struct cursor *c)
{
    if (c->bad || c->end - c->p < 8) {
        c->bad = 1;
        return 0;
    }
    uint64_t v = h5b_get_u64(c->p);
    c->p += 8;
    return v;
}

static uint32_t get_u32(struct cursor *c)
{
    if (c->bad || c->end - c->p < 4) {
        c->bad = 1;
        return 0;
    }
    uint32_t v = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 |
                 (uint32_t)c->p[2] << 16 | (uint32_t)c->p[3] << 24;
    c->p += 4;
    return v;
}

/* A length-prefixed string copied out with malloc, or NULL (cursor bad). */
static char *get_str(struct cursor *c)
{
    uint32_t n = get_u32(c);
    if (c->bad || n > WIRE_MAX_STRING || (size_t)(c->end - c->p) < n) {
        c->bad = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        c->bad = 1;
        return NULL;
    }
    memcpy(s, c->p, n);
    s[n] = '\0';
    c->p += n;
    return s;
}

static double get_f64(struct cursor *c);

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + 4;
}

static unsigned char *put_u64(unsigned char *p, uint64_t v)
{
    h5b_put_u64(p, v);
    return p + 8;
}

static unsigned char *put_str(unsigned char *p, const char *s)
{
    size_t n = strlen(s);
    n = n > WIRE_MAX_STRING ? WIRE_MAX_STRING : n;
    p = put_u32(p, (uint32_t)n);
    memcpy(p, s, n);
    return p + n;
}

static unsigned char *put_header(unsigned char *p, int kind)
{
    p = put_u32(p, WIRE_MAGIC);
    p[0] = WIRE_VERSION & 0xff;
    p[1] = WIRE_VERSION >> 8;
    p[2] = (unsigned char)kind;
    p[3] = 0;
    return p + 4;
}

int wire_peek(const unsigned char *buf, size_t len, int *kind,
              struct h5b_error *err)
{
    struct cursor c = {buf, buf + len, 0};
    uint32_t magic = get_u32(&c);
    uint32_t vk = get_u32(&c);
    if (c.bad || magic != WIRE_MAGIC)
        return err_set(err, H5B_ERUN, "corrupt message (%zu bytes, bad "
                       "magic)", len);
    if ((vk & 0xffff) != WIRE_VERSION)
        return err_set(err, H5B_ERUN, "message version %u, expected %u "
                       "(every rank must run the same h5batch)",
                       vk & 0xffff, WIRE_VERSION);
    *kind = (int)(vk >> 16);
    if (*kind < WIRE_SETUP || *kind > WIRE_GO)
        return err_set(err, H5B_ERUN, "unknown message kind %d", *kind);
    return 0;
}

/* Check the header of buf is of kind `want`; position c after it. */
static int expect(struct cursor *c, const unsigned char *buf, size_t len,
                  int want, const char *what, struct h5b_error *err)
{
    int kind = 0;
    if (wire_peek(buf, len, &kind, err) < 0)
        return H5B_ERUN;
    if (kind != want)
        return err_set(err, H5B_ERUN, "expected a %s message, got kind %d",
                       what, kind);
    c->p = buf + WIRE_HEADER;
    c->end = buf + len;
    c->bad = 0;
    return 0;
}

void wire_encode_work(unsigned char *buf, const struct wire_work *w)
{
    unsigned char *p = put_header(buf, WIRE_WORK);
    p = put_u64(p, w->index);
    p = put_u64(p, w->first_record);
    p = put_u64(p, w->nrec);
    p = put_u64(p, w->ncols);
    p = put_u64(p, w->payload_len);
    p = put_u64(p, w->shm_pos);
    p = put_u64(p, w->form);
    put_u64(p, w->file_pos);
}

int wire_decode_work(const unsigned char *buf, size_t len,
                     struct wire_work *w, struct h5b_error *err)
{
    struct cursor c;
    if (expect(&c, buf, len, WIRE_WORK, "work", err) < 0)
        return H5B_ERUN;
    w->index = get_u64(&c);
    w->first_record = get_u64(&c);
    w->nrec = get_u64(&c);
    w->ncols = get_u64(&c);
    w->payload_len = get_u64(&c);
    w->shm_pos = get_u64(&c);
    w->form = get_u64(&c);
    w->file_pos = get_u64(&c);
    w->payload = w->shm_pos ? NULL : c.p;
    if (c.bad || w->form > WIRE_FORM_READ ||
        (w->file_pos && (w->shm_pos || w->form || w->payload_len == 0 ||
                         w->payload_len > WIRE_MAX_STRING)) ||
        (w->form == WIRE_FORM_READ && (w->shm_pos ||
                                       w->payload_len != WIRE_READ_SIZE)) ||
        (w->shm_pos ? c.p != c.end
                    : w->payload_len != (uint64_t)(c.end - c.p)))
        return err_set(err, H5B_ERUN, "work message of %zu bytes does not "
                       "match its header", len);
    return 0;
}

void wire_encode_result(unsigned char *buf, uint64_t index,
                        uint64_t state_len)
{
    unsigned char *p = put_header(buf, WIRE_RESULT);
    p = put_u64(p, index);
    put_u64(p, state_len);
}

int wire_decode_result(const unsigned char *buf, size_t len,
                       uint64_t *index, const unsigned char **state,
                       size_t *state_len, struct h5b_error *err)
{
    struct cursor c;
    if (expect(&c, buf, len, WIRE_RESULT, "result", err) < 0)
        return H5B_ERUN;
    *index = get_u64(&c);
    uint64_t n = get_u64(&c);
    if (c.bad || n != (uint64_t)(c.end - c.p))
        return err_set(err, H5B_ERUN, "result message of %zu bytes does "
                       "not match its header", len);
    *state = c.p;
    *state_len = (size_t)n;
    return 0;
}

size_t wire_error_size(const char *msg)
{
    size_t n = strlen(msg);
    return WIRE_HEADER + 4 + 4 + (n > WIRE_MAX_STRING ? WIRE_MAX_STRING : n);
}

/* A message of a code and a string (ERROR, CHECK). */
static void encode_code_str(unsigned char *buf, int kind, int32_t code,
                            const char *msg)
{
    unsigned char *p = put_header(buf, kind);
    p = put_u32(p, (uint32_t)code);
    put_str(p, msg);
}

static int decode_code_str(const unsigned char *buf, size_t len, int kind,
                           const char *what, int32_t *code, char *msg,
                           size_t msglen, struct h5b_error *err)
{
    struct cursor c;
    if (expect(&c, buf, len, kind, what, err) < 0)
        return H5B_ERUN;
    *code = (int32_t)get_u32(&c);
    char *s = get_str(&c);
    if (c.bad || c.p != c.end) {
        free(s);
        return err_set(err, H5B_ERUN, "%s message of %zu bytes is "
                       "malformed", what, len);
    }
    snprintf(msg, msglen, "%s", s);
    free(s);
    return 0;
}

void wire_encode_error(unsigned char *buf, int32_t code, const char *msg)
{
    encode_code_str(buf, WIRE_ERROR, code, msg);
}

int wire_decode_error(const unsigned char *buf, size_t len, int32_t *code,
                      char *msg, size_t msglen, struct h5b_error *err)
{
    return decode_code_str(buf, len, WIRE_ERROR, "error", code, msg, msglen,
                           err);
}

size_t wire_check_size(const char *why)
{
    return wire_error_size(why);
}

void wire_encode_check(unsigned char *buf, int32_t same, const char *why)
{
    encode_code_str(buf, WIRE_CHECK, same, why);
}

int wire_decode_check(const unsigned char *buf, size_t len, int32_t *same,
                      char *why, size_t whylen, struct h5b_error *err)
{
    int rc = decode_code_str(buf, len, WIRE_CHECK, "check", same, why,
                             whylen, err);
    if (rc == 0 && *same != 0 && *same != 1)
        return err_set(err, H5B_ERUN, "check message says %d, not 0 or 1",
                       (int)*same);
    return rc;
}

/* A message of one 32-bit code (STOP, GO). */
static int decode_code(const unsigned char *buf, size_t len, int kind,
                       const char *what, int32_t *code,
                       struct h5b_error *err)
{
    struct cursor c;
    if (expect(&c, buf, len, kind, what, err) < 0)
        return H5B_ERUN;
    *code = (int32_t)get_u32(&c);
    if (c.bad || c.p != c.end)
        return err_set(err, H5B_ERUN, "%s message of %zu bytes is "
                       "malformed", what, len);
    return 0;
}

void wire_encode_stop(unsigned char *buf, int32_t status)
{
    put_u32(put_header(buf, WIRE_STOP), (uint32_t)status);
}

int wire_decode_stop(const unsigned char *buf, size_t len, int32_t *status,
                     struct h5b_error *err)
{
    return decode_code(buf, len, WIRE_STOP, "stop", status, err);
}

void wire_encode_go(unsigned char *buf, int32_t reads)
{
    put_u32(put_header(buf, WIRE_GO), (uint32_t)reads);
}

int wire_decode_go(const unsigned char *buf, size_t len, int32_t *reads,
                   struct h5b_error *err)
{
    int rc = decode_code(buf, len, WIRE_GO, "go", reads, err);
    if (rc == 0 && *reads != 0 && *reads != 1)
        return err_set(err, H5B_ERUN, "go message says %d, not 0 or 1",
                       (int)*reads);
    return rc;
}

void wire_put_read(unsigned char *p, const struct wire_read *r)
{
    p = put_u64(p, r->file);
    p = put_u64(p, r->start);
    put_u64(p, r->col0);
}

void wire_get_read(const unsigned char *p, struct wire_read *r)
{
    r->file = h5b_get_u64(p);
    r->start = h5b_get_u64(p + 8);
    r->col0 = h5b_get_u64(p + 16);
}

/* Bytes of a length-prefixed string (defined with SETUP's helpers). */
static size_t str_size(const char *s);

size_t wire_files_size(const struct wire_files *f)
{
    size_t n = WIRE_HEADER + 4;
    for (size_t i = 0; i < f->n; i++)
        n += str_size(f->path[i]) + 4 * 8;
    return n;
}

void wire_encode_files(unsigned char *buf, const struct wire_files *f)
{
    unsigned char *p = put_u32(put_header(buf, WIRE_FILES), (uint32_t)f->n);
    for (size_t i = 0; i < f->n; i++) {
        p = put_str(p, f->path[i]);
        p = put_u64(p, f->id[i].size);
        p = put_u64(p, (uint64_t)f->id[i].mtime_s);
        p = put_u64(p, (uint64_t)f->id[i].mtime_ns);
        p = put_u64(p, f->id[i].head);
    }
}

/* FILES entries: each takes at least 36 bytes, checked before the
 * arrays are allocated. */
#define FILES_MIN_ENTRY 36

int wire_decode_files(const unsigned char *buf, size_t len,
                      struct wire_files *f, struct h5b_error *err)
{
    struct cursor c;
    memset(f, 0, sizeof *f);
    if (expect(&c, buf, len, WIRE_FILES, "files", err) < 0)
        return H5B_ERUN;
    uint32_t n = get_u32(&c);
    c.bad |= n > (size_t)(c.end - c.p) / FILES_MIN_ENTRY;
    if (!c.bad) {
        f->path = calloc(n ? n : 1, sizeof *f->path);
        f->id = calloc(n ? n : 1, sizeof *f->id);
        c.bad = !f->path || !f->id;
    }
    for (uint32_t i = 0; !c.bad && i < n; i++, f->n++) {
        f->path[i] = get_str(&c);
        f->id[i].size = get_u64(&c);
        f->id[i].mtime_s = (int64_t)get_u64(&c);
        f->id[i].mtime_ns = (int64_t)get_u64(&c);
        f->id[i].head = get_u64(&c);
    }
    if (c.bad || c.p != c.end || n == 0) {
        wire_files_free(f);
        return err_set(err, H5B_ERUN, "files message of %zu bytes is "
                       "malformed", len);
    }
    return 0;
}

void wire_files_free(struct wire_files *f)
{
    for (size_t i = 0; f->path && i < f->n; i++)
        free(f->path[i]);
    free(f->path);
    free(f->id);
    memset(f, 0, sizeof *f);
}

void wire_encode_done(unsigned char *buf, double busy, double idle,
                      uint64_t maxrss)
{
    unsigned char *p = put_header(buf, WIRE_DONE);
    h5b_put_f64(p, busy);
    h5b_put_f64(p + 8, idle);
    put_u64(p + 16, maxrss);
}

int wire_decode_done(const unsigned char *buf, size_t len, double *busy,
                     double *idle, uint64_t *maxrss, struct h5b_error *err)
{
    struct cursor c;
    if (expect(&c, buf, len, WIRE_DONE, "done", err) < 0)
        return H5B_ERUN;
    *busy = get_f64(&c);
    *idle = get_f64(&c);
    *maxrss = get_u64(&c);
    if (c.bad || c.p != c.end)
        return err_set(err, H5B_ERUN, "done message of %zu bytes is "
                       "malformed", len);
    return 0;
}

static size_t str_size(const char *s)
{
    size_t n = strlen(s);
    return 4 + (n > WIRE_MAX_STRING ? WIRE_MAX_STRING : n);
}

/* Bytes of one column in SETUP: name, type, offset, CF flags, 6 numbers,
 * histogram range, time units and calendar. */
static size_t column_size(const struct column_desc *c)
{
    return str_size(c->name) + 4 + 4 + 4 + 4 + 6 * 8 +
           str_size(c->hist_range) + str_size(c->time_units) +
           str_size(c->calendar);
}

size_t wire_setup_size(const struct wire_setup *s)
{
    size_t n = WIRE_HEADER + 4 + 4 + 8 + 8 + 4 + 4 + 4 + 8 + 8 + 8 +
               8 * (size_t)s->cell_rank + 4 + 4;
    for (size_t i = 0; i < s->ncol; i++)
        n += column_size(&s->cols[i]);
    for (size_t i = 0; i < s->nentries; i++)
        n += str_size(s->entries[i].section) + str_size(s->entries[i].key) +
             str_size(s->entries[i].value);
    return n + 8 + 8 * (size_t)s->nweights;
}

static unsigned char *put_f64(unsigned char *p, double d)
{
    h5b_put_f64(p, d);
    return p + 8;
}

static unsigned char *put_column(unsigned char *p, const struct column_desc *c)
{
    p = put_str(p, c->name);
    p = put_u32(p, (uint32_t)c->type);
    p = put_u32(p, c->offset);
    p = put_u32(p, c->role);
    p = put_u32(p, c->cf.flags);
    p = put_f64(p, c->cf.fill);
    p = put_f64(p, c->cf.missing);
    p = put_f64(p, c->cf.vmin);
    p = put_f64(p, c->cf.vmax);
    p = put_f64(p, c->cf.scale);
    p = put_f64(p, c->cf.offset);
    p = put_str(p, c->hist_range);
    p = put_str(p, c->time_units);
    return put_str(p, c->calendar);
}

void wire_encode_setup(unsigned char *buf, const struct wire_setup *s)
{
    unsigned char *p = put_header(buf, WIRE_SETUP);
    p = put_u32(p, (uint32_t)s->status);
    p = put_u32(p, s->elem_bytes);
    p = put_u64(p, s->elems);
    p = put_u64(p, s->ncell);
    p = put_u32(p, s->cell_rank);
    p = put_u32(p, s->prefetch);
    p = put_u32(p, s->shared);
    p = put_u64(p, s->max_payload);
    p = put_u64(p, s->tile_width);
    p = put_u64(p, s->dim1);
    for (uint32_t i = 0; i < s->cell_rank; i++)
        p = put_u64(p, s->cell_dims[i]);
    p = put_u32(p, (uint32_t)s->ncol);
    for (size_t i = 0; i < s->ncol; i++)
        p = put_column(p, &s->cols[i]);
    p = put_u32(p, (uint32_t)s->nentries);
    for (size_t i = 0; i < s->nentries; i++) {
        p = put_str(p, s->entries[i].section);
        p = put_str(p, s->entries[i].key);
        p = put_str(p, s->entries[i].value);
    }
    p = put_u64(p, s->nweights);
    for (uint64_t i = 0; i < s->nweights; i++)
        p = put_f64(p, s->weights[i]);
}

static double get_f64(struct cursor *c)
{
    uint64_t v = get_u64(c);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

/* Read a string that must fit in dst[n]. */
static void get_fixed(struct cursor *c, char *dst, size_t n)
{
    char *s = get_str(c);
    if (!s || strlen(s) >= n)
        c->bad = 1;
    else
        memcpy(dst, s, strlen(s) + 1);
    free(s);
}

/* Read the columns of a SETUP message into s (a fresh array). */
static void get_columns(struct cursor *c, struct wire_setup *s)
{
    uint32_t n = get_u32(c);
    if (c->bad || n > TABLE_MAX_COLUMNS) {
        c->bad = 1;
        return;
    }
    s->cols = calloc(n ? n : 1, sizeof *s->cols);
    if (!s->cols) {
        c->bad = 1;
        return;
    }
    for (s->ncol = 0; s->ncol < n && !c->bad; s->ncol++) {
        struct column_desc *d = &s->cols[s->ncol];
        get_fixed(c, d->name, sizeof d->name);
        d->type = (h5b_type)get_u32(c);
        d->offset = get_u32(c);
        d->role = get_u32(c);
        d->cf.flags = get_u32(c);
        d->cf.fill = get_f64(c);
        d->cf.missing = get_f64(c);
        d->cf.vmin = get_f64(c);
        d->cf.vmax = get_f64(c);
        d->cf.scale = get_f64(c);
        d->cf.offset = get_f64(c);
        get_fixed(c, d->hist_range, sizeof d->hist_range);
        get_fixed(c, d->time_units, sizeof d->time_units);
        get_fixed(c, d->calendar, sizeof d->calendar);
    }
}

/* Read the entries of a SETUP message into s (fresh copies). */
static void get_entries(struct cursor *c, struct wire_setup *s)
{
    uint32_t n = get_u32(c);
    if (c->bad || n > (size_t)(c->end - c->p) / 12) {
        c->bad = 1;
        return;
    }
    s->entries = calloc(n ? n : 1, sizeof *s->entries);
    if (!s->entries) {
        c->bad = 1;
        return;
    }
    for (s->nentries = 0; s->nentries < n && !c->bad; s->nentries++) {
        struct job_entry *e = &s->entries[s->nentries];
        e->section = get_str(c);
        e->key = get_str(c);
        e->value = get_str(c);
    }
}

/* Read the weights of a SETUP message into s (a fresh array). */
static void get_weights(struct cursor *c, struct wire_setup *s)
{
    uint64_t n = get_u64(c);
    if (c->bad || n > (uint64_t)(c->end - c->p) / 8) {
        c->bad = 1;
        return;
    }
    s->weights = n ? malloc(n * sizeof *s->weights) : NULL;
    if (n && !s->weights) {
        c->bad = 1;
        return;
    }
    for (s->nweights = 0; s->nweights < n; s->nweights++)
        s->weights[s->nweights] = get_f64(c);
}

int wire_decode_setup(const unsigned char *buf, size_t len,
                      struct wire_setup *s, struct h5b_error *err)
{
    struct cursor c;
    memset(s, 0, sizeof *s);
    if (expect(&c, buf, len, WIRE_SETUP, "setup", err) < 0)
        return H5B_ERUN;
    s->status = (int32_t)get_u32(&c);
    s->elem_bytes = get_u32(&c);
    s->elems = get_u64(&c);
    s->ncell = get_u64(&c);
    s->cell_rank = get_u32(&c);
    s->prefetch = get_u32(&c);
    s->shared = get_u32(&c);
    s->max_payload = get_u64(&c);
    s->tile_width = get_u64(&c);
    s->dim1 = get_u64(&c);
    if (s->cell_rank > H5B_MAX_RANK)
        c.bad = 1;
    for (uint32_t i = 0; i < s->cell_rank && !c.bad; i++)
        s->cell_dims[i] = get_u64(&c);
    get_columns(&c, s);
    get_entries(&c, s);
    if (!c.bad)
        get_weights(&c, s);
    if (c.bad || c.p != c.end) {
        wire_setup_free(s);
        return err_set(err, H5B_ERUN, "setup message of %zu bytes is "
                       "malformed", len);
    }
    return 0;
}

void wire_setup_free(struct wire_setup *s)
{
    for (size_t i = 0; s->entries && i < s->nentries; i++) {
        free(s->entries[i].section);
        free(s->entries[i].key);
        free(s->entries[i].value);
    }
    free(s->entries);
    free(s->cols);
    free(s->weights);
    s->entries = NULL;
    s->cols = NULL;
    s->weights = NULL;
    s->nentries = s->ncol = 0;
    s->nweights = 0;
}
