/* job.c -- job file parsing (with inih), overrides and validation.
 *
 * Every key goes through job_apply(), whether it comes from the file, from
 * --set or from rank 0 over the wire, so a value is validated the same way
 * wherever it came from.  The key table below is the whole job-file
 * schema.  inih is built with 200-character lines and multi-line values,
 * so before parsing we reject NUL bytes and longer lines ourselves (inih
 * would silently split them) and check section headers (inih never reports
 * a section that holds no key).  A list key may continue on indented
 * lines; any other key given twice in a file is an error.
 */
#define _DEFAULT_SOURCE
#include "job.h"

#include <errno.h>
#include <glob.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "op.h"
#include "select.h"
#include "suggest.h"
#include "utf8.h"

#define MAX_LINE 198            /* what inih (INI_MAX_LINE 200) can take */
#define LIST_SEPARATORS JOB_LIST_SEPARATORS

typedef int (*check_fn)(const char *value, char *why, size_t whylen);

struct keydef {
    const char *section, *key;
    int list;                   /* may continue over several lines */
    check_fn check;
};

static int check_nonempty(const char *v, char *why, size_t n);
static int check_size(const char *v, char *why, size_t n);
static int check_memsize(const char *v, char *why, size_t n);
static int check_count(const char *v, char *why, size_t n);
static int check_ops(const char *v, char *why, size_t n);
static int check_axis(const char *v, char *why, size_t n);
static int check_ddof(const char *v, char *why, size_t n);
static int check_yesno(const char *v, char *why, size_t n);
static int check_prefetch(const char *v, char *why, size_t n);
static int check_cf(const char *v, char *why, size_t n); /* auto | off */
static int check_reads(const char *v, char *why, size_t n); /* +all */
static int check_seconds(const char *v, char *why, size_t n);
static int check_bins(const char *v, char *why, size_t n);
static int check_range(const char *v, char *why, size_t n);
static int check_quantiles(const char *v, char *why, size_t n);
static int check_accuracy(const char *v, char *why, size_t n);
static int check_select(const char *v, char *why, size_t n);
static int check_weights(const char *v, char *why, size_t n);

static const struct keydef keydefs[] = {
    {"job", "name", 0, check_nonempty},
    {"input", "files", 1, check_nonempty},
    {"input", "dataset", 0, check_nonempty},
    {"input", "partition_size", 0, check_size},
    {"input", "fields", 1, check_nonempty},
    {"input", "cf", 0, check_cf},
    {"input", "select", 1, check_select},
    {"reduce", "ops", 1, check_ops},
    {"reduce", "axis", 0, check_axis},
    {"reduce", "ddof", 0, check_ddof},
    {"reduce", "exact", 0, check_yesno},
    {"reduce", "weights", 0, check_weights},
    {"reduce", "group_by", 0, check_nonempty},
    {"reduce", "max_keys", 0, check_count},
    {"reduce", "histogram_bins", 0, check_bins},
    {"reduce", "histogram_range", 0, check_range},
    {"reduce", "quantiles", 1, check_quantiles},
    {"reduce", "quantile_accuracy", 0, check_accuracy},
    {"run", "prefetch", 0, check_prefetch},
    {"run", "shared_memory", 0, check_cf},
    {"run", "worker_decode", 0, check_cf},
    {"run", "worker_reads", 0, check_reads},
    {"run", "read_ahead", 0, check_cf},
    {"run", "rank0_reduces", 0, check_cf},
    {"run", "checkpoint", 0, check_nonempty},
    {"run", "memory_limit", 0, check_memsize},
    {"run", "checkpoint_every", 0, check_seconds},
    {"output", "file", 0, check_nonempty},
};

#define NKEYDEFS (sizeof keydefs / sizeof keydefs[0])

/* The NAME of a "plugin NAME" section (letters, digits, '_'), or NULL. */
static const char *plugin_name(const char *section)
{
    if (strncmp(section, "plugin ", 7) != 0 || !section[7])
        return NULL;
    for (const char *p = section + 7; *p; p++)
        if (!(*p == '_' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return NULL;
    return section + 7;
}

static int known_section(const char *s)
{
    if (plugin_name(s))
        return 1;
    for (size_t i = 0; i < NKEYDEFS; i++)
        if (strcmp(keydefs[i].section, s) == 0)
            return 1;
    return 0;
}

/* "; did you mean 'KEY'?" for key, unknown in section, into out (n
 * bytes): the nearest key of the section, else the same key in another
 * section ("; did you mean [input] dataset?"), else "". */
static void key_hint(const char *section, const char *key, char *out,
                     size_t n)
{
    const char *cand[NKEYDEFS];
    for (size_t i = 0; i < NKEYDEFS; i++)
        cand[i] = strcmp(keydefs[i].section, section) == 0 ? keydefs[i].key
                                                            : NULL;
    const char *near = suggest_nearest(key, cand, NKEYDEFS);
    out[0] = '\0';
    if (near) {
        snprintf(out, n, "; did you mean '%s'?", near);
        return;
    }
    for (size_t i = 0; i < NKEYDEFS; i++)
        if (strcmp(keydefs[i].key, key) == 0) {
            snprintf(out, n, "; did you mean [%s] %s?", keydefs[i].section,
                     key);
            return;
        }
}

/* "; did you mean [SECTION]?" for an unknown section, into out, or "". */
static void section_hint(const char *section, char *out, size_t n)
{
    const char *cand[NKEYDEFS];
    for (size_t i = 0; i < NKEYDEFS; i++)
        cand[i] = keydefs[i].section;
    const char *near = suggest_nearest(section, cand, NKEYDEFS);
    out[0] = '\0';
    if (near)
        snprintf(out, n, "; did you mean [%s]?", near);
}

/* The error for an unknown section (origin: "" or "FILE:LINE: "). */
static int unknown_section(const char *origin, const char *section,
                           struct h5b_error *err)
{
    char hint[96];
    section_hint(section, hint, sizeof hint);
    return err_set(err, H5B_EINPUT, "%sunknown section [%s]%s", origin,
                   section, hint);
}

static const struct keydef *find_key(const char *section, const char *key)
{
    for (size_t i = 0; i < NKEYDEFS; i++)
        if (strcmp(keydefs[i].section, section) == 0 &&
            strcmp(keydefs[i].key, key) == 0)
            return &keydefs[i];
    return NULL;
}

int job_parse_size(const char *s, uint64_t *bytes)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    int shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    }
    if (shift && (*end == 'i' || *end == 'I'))
        end++;
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *bytes = (uint64_t)v << shift;
    return 0;
}

/* Parse a whole decimal int in [lo, hi]. */
static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int check_nonempty(const char *v, char *why, size_t n)
{
    if (*v)
        return 0;
    snprintf(why, n, "empty value");
    return -1;
}

/* A size with no upper bound: [run] memory_limit. */
static int check_memsize(const char *v, char *why, size_t n)
{
    uint64_t b;
    if (job_parse_size(v, &b) == 0 && b > 0)
        return 0;
    snprintf(why, n, "'%s' is not a size (a positive number of bytes "
             "with an optional K, M or G suffix)", v);
    return -1;
}

/* A positive whole number: [reduce] max_keys. */
static int check_count(const char *v, char *why, size_t n)
{
    char *end;
    errno = 0;
    unsigned long long c = *v >= '0' && *v <= '9' ? strtoull(v, &end, 10)
                                                 : 0;
    if (c > 0 && errno == 0 && *end == 0)
        return 0;
    snprintf(why, n, "'%s' is not a positive whole number", v);
    return -1;
}

static int check_size(const char *v, char *why, size_t n)
{
    uint64_t b;
    if (job_parse_size(v, &b) < 0 || b == 0) {
        snprintf(why, n, "'%s' is not a size (a positive number of bytes "
                 "with an optional K, M or G suffix)", v);
        return -1;
    }
    if (b > JOB_MAX_PARTITION) {
        snprintf(why, n, "'%s' is larger than the 1G limit of one message",
                 v);
        return -1;
    }
    return 0;
}

static int check_ops(const char *v, char *why, size_t n)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", v);
    size_t count = 0;
    for (char *save = NULL, *t = strtok_r(buf, LIST_SEPARATORS, &save); t;
         t = strtok_r(NULL, LIST_SEPARATORS, &save))
        count++;
    if (count == 0 || count > JOB_MAX_OPS || strlen(v) >= sizeof buf) {
        snprintf(why, n, "expected 1 to %d operator names", JOB_MAX_OPS);
        return -1;
    }
    return 0;
}

static int check_axis(const char *v, char *why, size_t n)
{
    if (strcmp(v, "0") == 0 || strcmp(v, "all") == 0 ||
        strcmp(v, "records") == 0)
        return 0;
    snprintf(why, n, "'%s' is not a supported axis (0, all or records)", v);
    return -1;
}

static int check_ddof(const char *v, char *why, size_t n)
{
    long d;
    if (parse_int(v, 0, 1, &d) == 0)
        return 0;
    snprintf(why, n, "'%s' is not 0 or 1", v);
    return -1;
}

static int check_yesno(const char *v, char *why, size_t n)
{
    if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0)
        return 0;
    snprintf(why, n, "'%s' is not yes or no", v);
    return -1;
}

static int check_prefetch(const char *v, char *why, size_t n)
{
    long d;
    if (parse_int(v, 1, JOB_MAX_PREFETCH, &d) == 0)
        return 0;
    snprintf(why, n, "'%s' is not a whole number from 1 to %d", v,
             JOB_MAX_PREFETCH);
    return -1;
}

static int check_cf(const char *v, char *why, size_t n)
{
    if (strcmp(v, "auto") == 0 || strcmp(v, "off") == 0)
        return 0;
    snprintf(why, n, "'%s' is not auto or off", v);
    return -1;
}

/* The syntax of [input] select; the dimensions are checked against the
 * input later (selread.h). */
static int check_select(const char *v, char *why, size_t n)
{
    struct select_list l;
    return select_parse(v, &l, why, n);
}

/* coslat, or the path of a dataset (weights.h). */
static int check_weights(const char *v, char *why, size_t n)
{
    if (strcmp(v, "coslat") == 0 || (v[0] == '/' && v[1]))
        return 0;
    snprintf(why, n, "'%s' is neither coslat nor a dataset path such as "
             "/cell_area", v);
    return -1;
}

static int check_reads(const char *v, char *why, size_t n)
{
    if (strcmp(v, "auto") == 0 || strcmp(v, "all") == 0 ||
        strcmp(v, "off") == 0)
        return 0;
    snprintf(why, n, "'%s' is not auto, all or off", v);
    return -1;
}

static int check_bins(const char *v, char *why, size_t n)
{
    long d;
    if (parse_int(v, 1, JOB_MAX_BINS, &d) == 0)
        return 0;
    snprintf(why, n, "'%s' is not a whole number from 1 to %d", v,
             JOB_MAX_BINS);
    return -1;
}

/* Parse up to max numbers separated by commas or blanks into out; the
 * count, or -1 if anything is not a finite number. */
static int parse_numbers(const char *v, double *out, int max)
{
    char buf[4096];
    int k = 0;
    if (strlen(v) >= sizeof buf)
        return -1;
    memcpy(buf, v, strlen(v) + 1);
    for (char *save = NULL, *t = strtok_r(buf, LIST_SEPARATORS, &save); t;
         t = strtok_r(NULL, LIST_SEPARATORS, &save)) {
        char *end;
        errno = 0;
        double d = strtod(t, &end);
        if (k == max || errno || *end || !isfinite(d))
            return -1;
        out[k++] = d;
    }
    return k;
}

static int check_seconds(const char *v, char *why, size_t n)
{
    double d;
    if (parse_numbers(v, &d, 1) == 1 && d >= 0 && d <= 1e9)
        return 0;
    snprintf(why, n, "'%s' is not a number of seconds (0 turns periodic "
             "checkpoints off)", v);
    return -1;
}

static int check_range(const char *v, char *why, size_t n)
{
    double r[2];
    if (strcmp(v, "auto") == 0)
        return 0;
    if (parse_numbers(v, r, 2) == 2 && r[0] < r[1] && isfinite(r[1] - r[0]))
        return 0;
    snprintf(why, n, "'%s' is not 'auto' or two numbers LO, HI with "
             "LO < HI", v);
    return -1;
}

static int check_quantiles(const char *v, char *why, size_t n)
{
    double q[JOB_MAX_QUANTILES];
    int k = parse_numbers(v, q, JOB_MAX_QUANTILES);
    for (int i = 0; i < k; i++)
        if (!(q[i] >= 0.0 && q[i] <= 1.0))
            k = -1;
    if (k > 0)
        return 0;
    snprintf(why, n, "'%s' is not a list of 1 to %d probabilities in "
             "[0, 1]", v, JOB_MAX_QUANTILES);
    return -1;
}

static int check_accuracy(const char *v, char *why, size_t n)
{
    double a;
    if (parse_numbers(v, &a, 1) == 1 && a >= 1e-6 && a < 0.5)
        return 0;
    snprintf(why, n, "'%s' is not a number in [1e-6, 0.5)", v);
    return -1;
}

static struct job_entry *find_entry(const struct job *job,
                                    const char *section, const char *key)
{
    for (size_t i = 0; i < job->nentries; i++)
        if (strcmp(job->entries[i].section, section) == 0 &&
            strcmp(job->entries[i].key, key) == 0)
            return &job->entries[i];
    return NULL;
}

const char *job_get(const struct job *job, const char *section,
                    const char *key)
{
    const struct job_entry *e = find_entry(job, section, key);
    return e ? e->value : NULL;
}

/* Store section.key = value, replacing any earlier value. */
static int store(struct job *job, const char *section, const char *key,
                 const char *value, struct h5b_error *err)
{
    char *v = strdup(value);
    struct job_entry *e = find_entry(job, section, key);
    if (v && e) {
        free(e->value);
        e->value = v;
        return 0;
    }
    struct job_entry *grown = v ? realloc(job->entries,
                                          (job->nentries + 1) * sizeof *grown)
                                : NULL;
    if (!grown) {
        free(v);
        return err_set(err, H5B_ERUN, "out of memory storing %s.%s",
                       section, key);
    }
    job->entries = grown;
    e = &job->entries[job->nentries];
    e->section = strdup(section);
    e->key = strdup(key);
    e->value = v;
    if (!e->section || !e->key) {
        free(e->section);
        free(e->key);
        free(v);
        return err_set(err, H5B_ERUN, "out of memory");
    }
    job->nentries++;
    return 0;
}

/* Remember plugin `name` (from a [plugin NAME] section). */
static int add_plugin(struct job *job, const char *name, struct h5b_error *err)
{
    for (size_t i = 0; i < job->nplugins; i++)
        if (strcmp(job->plugins[i], name) == 0)
            return 0;
    if (job->nplugins == JOB_MAX_PLUGINS)
        return err_set(err, H5B_EINPUT, "more than %d [plugin] sections",
                       JOB_MAX_PLUGINS);
    job->plugins[job->nplugins] = strdup(name);
    if (!job->plugins[job->nplugins])
        return err_set(err, H5B_ERUN, "out of memory");
    job->nplugins++;
    return 0;
}

int job_is_plugin(const struct job *job, const char *name)
{
    for (size_t i = 0; i < job->nplugins; i++)
        if (strcmp(job->plugins[i], name) == 0)
            return 1;
    return 0;
}

/* The first name in the ops list v that is neither a built-in output
 * nor a plugin of the job, copied to out; 0 if all are known. */
static int unknown_op(const struct job *job, const char *v, char *out,
                      size_t n)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *t = strtok_r(buf, LIST_SEPARATORS, &save); t;
         t = strtok_r(NULL, LIST_SEPARATORS, &save))
        if (!op_known_output(t) && !job_is_plugin(job, t)) {
            snprintf(out, n, "%s", t);
            return 1;
        }
    return 0;
}

/* A key of a [plugin NAME] section: `library` or an argument. */
static int apply_plugin_key(struct job *job, const char *section,
                            const char *key, const char *value,
                            const char *origin, struct h5b_error *err)
{
    const char *sep = *origin ? ": " : "";
    if (!*key || !*value)
        return err_set(err, H5B_EINPUT, "%s%s[%s] %s: empty value", origin,
                       sep, section, key);
    int rc = add_plugin(job, plugin_name(section), err);
    return rc < 0 ? rc : store(job, section, key, value, err);
}

int job_apply(struct job *job, const char *section, const char *key,
              const char *value, const char *origin, struct h5b_error *err)
{
    char why[400], name[128];
    const char *sep = *origin ? ": " : "";
    if (plugin_name(section))
        return apply_plugin_key(job, section, key, value, origin, err);
    if (!*section)
        return err_set(err, H5B_EINPUT, "%s%skey '%s' outside any section",
                       origin, sep, key);
    if (!known_section(section)) {
        snprintf(why, sizeof why, "%s%s", origin, sep);
        return unknown_section(why, section, err);
    }
    const struct keydef *d = find_key(section, key);
    if (!d) {
        key_hint(section, key, name, sizeof name);
        return err_set(err, H5B_EINPUT, "%s%sunknown key '%s' in [%s]%s",
                       origin, sep, key, section, name);
    }
    if (d->check(value, why, sizeof why) < 0)
        return err_set(err, H5B_EINPUT, "%s%s[%s] %s: %s", origin, sep,
                       section, key, why);
    /* In a file every [plugin] section is known by now (scan_text); from
     * --set or SETUP one may still follow, so job_finish checks again. */
    if (d->check == check_ops && !*origin &&
        unknown_op(job, value, name, sizeof name))
        return err_set(err, H5B_EINPUT, "[reduce] ops: unknown operator "
                       "'%s' (known: %s, or a [plugin NAME] section)", name,
                       op_output_names());
    return store(job, section, key, value, err);
}

/* Is [p, eol) a comment line (';' or '#' after blanks)? */
static int is_comment(const char *p, const char *eol)
{
    while (p < eol && (*p == ' ' || *p == '\t'))
        p++;
    return p < eol && (*p == ';' || *p == '#');
}

/* The column (from 1) of the first byte of [p, eol) that does not start a
 * well-formed UTF-8 sequence lying inside the line, or 0 when none. */
static size_t bad_utf8_column(const char *p, const char *eol)
{
    char seq[5];
    for (const char *s = p; s < eol;) {
        size_t room = (size_t)(eol - s) < 4 ? (size_t)(eol - s) : 4;
        memcpy(seq, s, room);
        seq[room] = '\0';
        size_t len = utf8_sequence(seq);
        if (!len)
            return (size_t)(s - p) + 1;
        s += len;
    }
    return 0;
}

int job_override(struct job *job, const char *assignment,
                 struct h5b_error *err)
{
    char buf[1024], origin[1100];
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    size_t len = strlen(assignment);
    /* The message echoes at most 60 characters of a long assignment. */
    snprintf(origin, sizeof origin, "--set %.60s%s", assignment,
             len > 60 ? "..." : "");
    if (!eq || !dot || dot > eq)
        return err_set(err, H5B_EINPUT, "%s: expected section.key=value",
                       origin);
    if (len >= sizeof buf)
        return err_set(err, H5B_EINPUT, "%s: longer than %zu characters",
                       origin, sizeof buf - 1);
    size_t col = bad_utf8_column(assignment, assignment + len);
    if (col)
        return err_set(err, H5B_EINPUT, "%s: not UTF-8 text: byte 0x%02X at "
                       "column %zu", origin, (unsigned char)assignment[col - 1],
                       col);
    memcpy(buf, assignment, len + 1);
    buf[eq - assignment] = '\0';
    buf[dot - assignment] = '\0';
    return job_apply(job, buf, buf + (dot - assignment) + 1, eq + 1, origin,
                     err);
}

struct parse_ctx {
    struct job *job;
    struct h5b_error err;
    int failed;
};

/* inih callback: a list key seen again appends (continuation lines); any
 * other repeat is an error.  The first error is kept; inih reports its
 * line. */
static int on_key(void *user, const char *section, const char *key,
                  const char *value)
{
    struct parse_ctx *ctx = user;
    char joined[1024];
    if (ctx->failed)
        return 1;
    const struct keydef *d = find_key(section, key);
    const char *old = job_get(ctx->job, section, key);
    if (old && (!d || !d->list)) {
        err_set(&ctx->err, H5B_EINPUT, "key '%s' in [%s] given twice",
                key, section);
        ctx->failed = 1;
        return 0;
    }
    if (old && d) {
        if (snprintf(joined, sizeof joined, "%s %s", old, value) >=
            (int)sizeof joined) {
            err_set(&ctx->err, H5B_EINPUT, "[%s] %s: list longer than %zu "
                    "characters", section, key, sizeof joined - 1);
            ctx->failed = 1;
            return 0;
        }
        value = joined;
    }
    if (job_apply(ctx->job, section, key, value, "", &ctx->err) < 0) {
        ctx->failed = 1;
        return 0;
    }
    return 1;
}

/* Is the line [p, eol) a section header as inih sees it?  An indented
 * line right after a key is a continuation of its value, even with '['. */
static int is_header(const char *p, const char *eol, int after_key)
{
    const char *s = p;
    while (s < eol && (*s == ' ' || *s == '\t'))
        s++;
    return s < eol && *s == '[' && !(s > p && after_key);
}

/* Reject what inih would misread, or what must not reach the results and
 * the JSON summary: NUL bytes, over-long lines, text that is not UTF-8
 * (comments aside), and unknown or malformed section headers.  *line gets
 * the offending line. */
static int scan_text(struct job *job, const char *text, size_t len,
                     int *line, struct h5b_error *err)
{
    const char *p = text, *end = text + len;
    int after_key = 0;
    for (*line = 1; p < end; (*line)++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        if (memchr(p, '\0', (size_t)(eol - p)))
            return err_set(err, H5B_EINPUT, "NUL byte in the file");
        if (eol - p > MAX_LINE)
            return err_set(err, H5B_EINPUT, "line longer than %d characters "
                           "(continue a long list on indented lines)",
                           MAX_LINE);
        size_t col = is_comment(p, eol) ? 0 : bad_utf8_column(p, eol);
        if (col)
            return err_set(err, H5B_EINPUT, "not UTF-8 text: byte 0x%02X at "
                           "column %zu (save the job file as UTF-8)",
                           (unsigned char)p[col - 1], col);
        if (is_header(p, eol, after_key)) {
            const char *s = memchr(p, '[', (size_t)(eol - p));
            const char *close = memchr(s, ']', (size_t)(eol - s));
            char name[MAX_LINE + 1];
            if (!close)
                return err_set(err, H5B_EINPUT, "section header without "
                               "']'");
            snprintf(name, sizeof name, "%.*s", (int)(close - s - 1), s + 1);
            if (!known_section(name))
                return unknown_section("", name, err);
            if (plugin_name(name) && add_plugin(job, plugin_name(name),
                                                err) < 0)
                return H5B_EINPUT;
            after_key = 0;
        } else if (memchr(p, '=', (size_t)(eol - p)) && *p != ';' &&
                   *p != '#') {
            after_key = 1;
        }
        p = eol + 1;
    }
    return 0;
}

/* Read the whole file at path into a NUL-terminated buffer. */
static int read_text(const char *path, char **text, size_t *len,
                     struct h5b_error *err)
{
    int rc = 0;
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f)
        return err_set(err, H5B_EINPUT, "%s: cannot open job file: %s", path,
                       strerror(errno));
    buf = malloc(JOB_MAX_TEXT + 1);
    if (!buf) {
        rc = err_set(err, H5B_ERUN, "%s: out of memory", path);
        goto done;
    }
    *len = fread(buf, 1, JOB_MAX_TEXT + 1, f);
    if (ferror(f)) {
        rc = err_set(err, H5B_EINPUT, "%s: cannot read job file: %s", path,
                     strerror(errno ? errno : EIO));
        goto done;
    }
    if (*len > JOB_MAX_TEXT) {
        rc = err_set(err, H5B_EINPUT, "%s: job file larger than 1 MiB",
                     path);
        goto done;
    }
    buf[*len] = '\0';
    *text = buf;
    buf = NULL;
done:
    free(buf);
    fclose(f);
    return rc;
}

int job_parse_text(struct job *job, const char *path, const char *text,
                   size_t len, struct h5b_error *err)
{
    int line = 0;
    struct parse_ctx ctx = {.job = job};
    free(job->path);
    free(job->text);
    job->path = strdup(path);
    job->text = malloc(len + 1);
    if (!job->path || !job->text)
        return err_set(err, H5B_ERUN, "out of memory");
    memcpy(job->text, text, len);
    job->text[len] = '\0';
    if (len > JOB_MAX_TEXT)
        return err_set(err, H5B_EINPUT, "%s: job file larger than 1 MiB",
                       path);
    if (scan_text(job, job->text, len, &line, err) < 0)
        return err_prefix(err, H5B_EINPUT, "%s:%d", path, line);
    line = ini_parse_string(job->text, on_key, &ctx);
    if (line > 0 && ctx.failed) {
        *err = ctx.err;
        return err_prefix(err, H5B_EINPUT, "%s:%d", path, line);
    }
    if (line > 0)
        return err_set(err, H5B_EINPUT, "%s:%d: syntax error (expected "
                       "'[section]' or 'key = value')", path, line);
    if (line < 0)
        return err_set(err, H5B_ERUN, "%s: out of memory parsing", path);
    return 0;
}

int job_load(struct job *job, const char *path, struct h5b_error *err)
{
    size_t len = 0;
    char *text = NULL;
    int rc = read_text(path, &text, &len, err);
    if (rc == 0)
        rc = job_parse_text(job, path, text, len, err);
    free(text);
    return rc;
}

/* The job file's name without directory or extension. */
static void file_stem(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, n, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

/* Add output `name` to job->ops (n of them so far) unless present. */
static size_t add_op(struct job *job, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(job->ops[i], name) == 0)
            return n;
    if (n == JOB_MAX_OPS)
        return n;
    job->ops[n] = name;
    return n + 1;
}

/* Split the ops list into job->ops, dropping repeats; giving a histogram
 * or quantile key asks for that operator too. */
static int split_ops(struct job *job, struct h5b_error *err)
{
    size_t n = 0;
    free(job->ops_buf);
    job->ops_buf = strdup(job_get(job, "reduce", "ops"));
    if (!job->ops_buf)
        return err_set(err, H5B_ERUN, "out of memory");
    for (char *save = NULL, *t = strtok_r(job->ops_buf, LIST_SEPARATORS,
                                          &save);
         t; t = strtok_r(NULL, LIST_SEPARATORS, &save))
        n = add_op(job, n, t);
    if (job_get(job, "reduce", "histogram_bins") ||
        job_get(job, "reduce", "histogram_range"))
        n = add_op(job, n, "histogram");
    if (job_get(job, "reduce", "quantiles") ||
        job_get(job, "reduce", "quantile_accuracy"))
        n = add_op(job, n, "quantiles");
    job->ops[n] = NULL;
    return 0;
}

/* What axis = records cannot go with: outputs other than the moments'
 * (histogram, quantiles, plugins), exact sums and group_by. */
static int records_refusal(const struct job *job, char *why, size_t n)
{
    static const char *const per_record[] = {"count", "sum", "mean", "var",
                                             "std", "min", "max"};
    for (size_t i = 0; job->ops[i]; i++) {
        size_t k = 0;
        while (k < 7 && strcmp(job->ops[i], per_record[k]) != 0)
            k++;
        if (k == 7) {
            snprintf(why, n, "'%s' is not reduced per record (count sum "
                     "mean var std min max are)", job->ops[i]);
            return -1;
        }
    }
    if (!job->exact && !job_get(job, "reduce", "group_by"))
        return 0;
    snprintf(why, n, "%s does not apply per record",
             job->exact ? "exact = yes" : "group_by");
    return -1;
}

/* What [reduce] weights cannot go with (see README, Weights). */
static int weights_refusal(const struct job *job, char *why, size_t n)
{
    const char *gb = job_get(job, "reduce", "group_by");
    int unweighted = 0;
    for (size_t i = 0; job->ops[i]; i++)
        unweighted |= strcmp(job->ops[i], "histogram") == 0 ||
                      strcmp(job->ops[i], "quantiles") == 0;
    if (!job->axis_all && !job->axis_records)
        snprintf(why, n, "with axis = 0 a cell has the same weight in every "
                 "record, so its weighted mean over records is the "
                 "unweighted one (xarray's weighted(w).mean(\"time\") with "
                 "w along lat); use axis = all or records");
    else if (job->ddof)
        snprintf(why, n, "ddof = %d is not defined with weights: var is "
                 "sum(w (x - mean)^2) / sum(w); use ddof = 0", job->ddof);
    else if (job->exact)
        snprintf(why, n, "exact = yes does not apply to weighted sums");
    else if (gb && !job->axis_all)
        snprintf(why, n, "group_by is weighted only with axis = all "
                 "(per key over its records' cells)");
    else if (unweighted)
        snprintf(why, n, "histogram and quantiles are not weighted; drop "
                 "them from ops");
    else
        return 0;
    return -1;
}

int job_finish(struct job *job, struct h5b_error *err)
{
    static const char *const required[][2] = {
        {"input", "files"}, {"input", "dataset"}, {"output", "file"}};
    const char *where = job->path ? job->path : "job";
    for (size_t i = 0; i < 3; i++)
        if (!job_get(job, required[i][0], required[i][1]))
            return err_set(err, H5B_EINPUT, "%s: missing required key '%s' "
                           "in section [%s]", where, required[i][1],
                           required[i][0]);
    for (size_t i = 0; i < job->nplugins; i++) {
        char section[160];
        snprintf(section, sizeof section, "plugin %s", job->plugins[i]);
        if (!job_get(job, section, "library"))
            return err_set(err, H5B_EINPUT, "%s: [plugin %s]: missing "
                           "required key 'library'", where, job->plugins[i]);
    }
    char name[128];
    const char *ops = job_get(job, "reduce", "ops");
    if (ops && unknown_op(job, ops, name, sizeof name))
        return err_set(err, H5B_EINPUT, "%s: [reduce] ops: unknown operator "
                       "'%s' (known: %s, or a [plugin NAME] section)", where,
                       name, op_output_names());
    int rc = 0;
    if (!job_get(job, "job", "name")) {
        char stem[256];
        file_stem(job->path ? job->path : "job", stem, sizeof stem);
        rc = store(job, "job", "name", stem, err);
    }
    if (rc == 0 && !job_get(job, "reduce", "ops"))
        rc = store(job, "reduce", "ops", "count sum mean var std min max",
                   err);
    if (rc == 0)
        rc = split_ops(job, err);
    if (rc < 0)
        return rc;
    const char *ps = job_get(job, "input", "partition_size");
    const char *axis = job_get(job, "reduce", "axis");
    const char *ddof = job_get(job, "reduce", "ddof");
    const char *pf = job_get(job, "run", "prefetch");
    const char *cf = job_get(job, "input", "cf");
    const char *shm = job_get(job, "run", "shared_memory");
    const char *wd = job_get(job, "run", "worker_decode");
    const char *wr = job_get(job, "run", "worker_reads");
    const char *rah = job_get(job, "run", "read_ahead");
    const char *r0r = job_get(job, "run", "rank0_reduces");
    const char *ml = job_get(job, "run", "memory_limit");
    char why[512];
    job->name = job_get(job, "job", "name");
    job->files = job_get(job, "input", "files");
    job->dataset = job_get(job, "input", "dataset");
    job->output = job_get(job, "output", "file");
    job->partition_bytes = JOB_DEFAULT_PARTITION;
    if (ps)
        job_parse_size(ps, &job->partition_bytes);
    job->axis_all = axis && strcmp(axis, "all") == 0;
    job->ddof = ddof ? atoi(ddof) : 0;
    const char *exact = job_get(job, "reduce", "exact");
    job->exact = exact && strcmp(exact, "yes") == 0;
    job->prefetch = pf ? atoi(pf) : JOB_DEFAULT_PREFETCH;
    job->fields = job_get(job, "input", "fields");
    const char *every = job_get(job, "run", "checkpoint_every");
    job->checkpoint_every = every ? strtod(every, NULL)
                                  : JOB_DEFAULT_CHECKPOINT_EVERY;
    job->cf = !cf || strcmp(cf, "auto") == 0;
    job->shared_memory = !shm || strcmp(shm, "auto") == 0;
    job->worker_decode = !wd || strcmp(wd, "auto") == 0;
    job->worker_reads = !wr || strcmp(wr, "auto") == 0 ? JOB_READS_AUTO
                        : strcmp(wr, "all") == 0 ? JOB_READS_ALL
                                                 : JOB_READS_OFF;
    job->read_ahead = !rah || strcmp(rah, "auto") == 0;
    job->rank0_reduces = !r0r || strcmp(r0r, "auto") == 0;
    const char *mk = job_get(job, "reduce", "max_keys");
    job->max_keys = mk ? strtoull(mk, NULL, 10) : 0;
    job->memory_limit = 0;
    if (ml)
        job_parse_size(ml, &job->memory_limit);
    job->axis_records = axis && strcmp(axis, "records") == 0;
    if (job->axis_records && records_refusal(job, why, sizeof why) < 0)
        return err_set(err, H5B_EINPUT, "%s: [reduce] axis = records: %s",
                       where, why);
    job->weights = job_get(job, "reduce", "weights");
    if (job->weights && weights_refusal(job, why, sizeof why) < 0)
        return err_set(err, H5B_EINPUT, "%s: [reduce] weights = %s: %s",
                       where, job->weights, why);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add every match of one pattern to g (glob's own append mode). */
static int glob_one(const char *pattern, glob_t *g, int first,
                    struct h5b_error *err)
{
    int rc = glob(pattern, first ? 0 : GLOB_APPEND, NULL, g);
    if (rc == GLOB_NOMATCH)
        return err_set(err, H5B_EINPUT, "[input] files: no file matches "
                       "'%s'", pattern);
    if (rc != 0)
        return err_set(err, H5B_EINPUT, "[input] files: cannot expand "
                       "'%s'", pattern);
    return 0;
}

int job_expand_files(const struct job *job, char ***files, size_t *nfiles,
                     struct h5b_error *err)
{
    glob_t g;
    int rc = 0, first = 1;
    char *buf = strdup(job->files);
    memset(&g, 0, sizeof g);
    *files = NULL;
    *nfiles = 0;
    if (!buf)
        return err_set(err, H5B_ERUN, "out of memory");
    for (char *save = NULL, *t = strtok_r(buf, LIST_SEPARATORS, &save);
         t && rc == 0; t = strtok_r(NULL, LIST_SEPARATORS, &save), first = 0)
        rc = glob_one(t, &g, first, err);
    if (rc == 0 && first)
        rc = err_set(err, H5B_EINPUT, "[input] files: no pattern given");
    char **out = rc == 0 ? calloc(g.gl_pathc + 1, sizeof *out) : NULL;
    if (rc == 0 && !out)
        rc = err_set(err, H5B_ERUN, "out of memory");
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
        out[i] = strdup(g.gl_pathv[i]);
        if (!out[i])
            rc = err_set(err, H5B_ERUN, "out of memory");
    }
    if (rc < 0) {
        job_free_files(out, g.gl_pathc);
        goto done;
    }
    qsort(out, g.gl_pathc, sizeof *out, cmp_str);
    size_t n = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        if (n && strcmp(out[n - 1], out[i]) == 0)
            free(out[i]);
        else
            out[n++] = out[i];
    }
    *files = out;
    *nfiles = n;
done:
    if (!first)
        globfree(&g);
    free(buf);
    return rc;
}

void job_free_files(char **files, size_t nfiles)
{
    if (!files)
        return;
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
}

void job_free(struct job *job)
{
    for (size_t i = 0; i < job->nentries; i++) {
        free(job->entries[i].section);
        free(job->entries[i].key);
        free(job->entries[i].value);
    }
    free(job->entries);
    for (size_t i = 0; i < job->nplugins; i++)
        free(job->plugins[i]);
    free(job->path);
    free(job->text);
    free(job->ops_buf);
    memset(job, 0, sizeof *job);
}
