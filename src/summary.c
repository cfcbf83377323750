/* summary.c -- text and JSON summaries of a run's results.
 *
 * The text summary is printed directly.  The JSON one is built as a json-c
 * tree and printed by json-c, so every string is escaped by the library:
 * names come from users' files and may hold quotes, backslashes, control
 * characters or bytes that are not UTF-8 (made valid first, utf8.h).
 * Numbers keep the text format of the results: integers exact (uint64
 * included), float32 in 9 significant digits and float64 in 17, so both
 * round-trip; NaN and infinities are null.  Seconds have 6 decimals.
 */
#include "summary.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "err.h"
#include "memplan.h"
#include "utf8.h"

/* String j of a string result r, NUL-terminated in buf (of r->str_width
 * + 1 bytes). */
static char *str_value(const struct result *r, uint64_t j, char *buf)
{
    const char *s = (const char *)r->data + j * r->str_width;
    size_t n = strnlen(s, r->str_width);
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

/* Print value j of r: integers exactly, floats round-trippable, NaN and
 * infinities as nan, inf and -inf, strings as they are. */
static void put_value(FILE *out, const struct result *r, uint64_t j)
{
    const void *p = r->data;
    char *buf = r->str_width ? malloc(r->str_width + 1) : NULL;
    if (buf)
        fputs(str_value(r, j, buf), out);
    free(buf);
    if (r->str_width)
        return;
    switch (r->type) {
    case H5B_INT64: fprintf(out, "%" PRId64, ((const int64_t *)p)[j]); return;
    case H5B_UINT64: fprintf(out, "%" PRIu64, ((const uint64_t *)p)[j]); return;
    case H5B_FLOAT32:
    case H5B_FLOAT64: {
        double v = results_value(r, j);
        if (isfinite(v))
            fprintf(out, r->type == H5B_FLOAT32 ? "%.9g" : "%.17g", v);
        else
            fputs(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf", out);
        return;
    }
    default: fprintf(out, "%.0f", results_value(r, j)); return;
    }
}

/* Where the time went, in one readable line: what limits the job. */
static void put_text_timing(FILE *out, const struct run_info *in)
{
    const struct run_timing *t = in->timing;
    double busy = 0, idle = 0;
    if (!t)
        return;
    for (int w = 0; w < t->nworkers; w++) {
        busy += t->busy[w];
        idle += t->idle[w];
    }
    fprintf(out, "time: %.2f s; ", in->elapsed);
    if (t->range > 0)
        fprintf(out, "histogram range pass %.2f s; ", t->range);
    fprintf(out, "rank 0 read %.2f s, sent %.2f s, waited %.2f s, merged "
            "%.2f s", t->read, t->send, t->wait, t->merge);
    if (t->nworkers && t->reduced)
        fprintf(out, ", reduced %.2f s (%llu partitions)", t->reduce,
                t->reduced);
    if (t->nworkers && t->direct)
        fprintf(out, "; workers read %llu partitions themselves", t->direct);
    if (t->nworkers)
        fprintf(out, "; workers busy %.2f s, waiting %.2f s on average",
                busy / t->nworkers, idle / t->nworkers);
    else
        fprintf(out, ", reduced %.2f s", t->reduce);
    if (t->twin_parts)
        fprintf(out, "; second thread read %.2f s, reduced %.2f s (%llu "
                "partitions)", t->twin_read, t->twin_reduce, t->twin_parts);
    fputc('\n', out);
}

/* A JSON document under construction.  json-c's NULL also stands for
 * JSON null, so a failed allocation is noted here instead. */
struct jdoc {
    int nomem;
};

/* v, noting a NULL as a failed allocation. */
static json_object *jnew(struct jdoc *d, json_object *v)
{
    if (!v)
        d->nomem = 1;
    return v;
}

/* A JSON string of s, made valid UTF-8 (utf8.h); json-c escapes it. */
static json_object *jstr(struct jdoc *d, const char *s)
{
    char *u = utf8_clean(s);
    json_object *v = u ? json_object_new_string(u) : NULL;
    free(u);
    return jnew(d, v);
}

/* A JSON number printed as fmt prints v; NaN and infinities are null. */
static json_object *jreal(struct jdoc *d, const char *fmt, double v)
{
    char text[64];
    if (!isfinite(v))
        return NULL;
    snprintf(text, sizeof text, fmt, v);
    return jnew(d, json_object_new_double_s(v, text));
}

/* Set o[key] = v (key made valid UTF-8); v is released on failure. */
static void jset(struct jdoc *d, json_object *o, const char *key,
                 json_object *v)
{
    char *k = utf8_clean(key);
    if (!o || !k || json_object_object_add(o, k, v) < 0) {
        d->nomem = 1;
        json_object_put(v);
    }
    free(k);
}

/* Append v to the array a; v is released on failure. */
static void jpush(struct jdoc *d, json_object *a, json_object *v)
{
    if (!a || json_object_array_add(a, v) < 0) {
        d->nomem = 1;
        json_object_put(v);
    }
}

/* Value j of r: integers exact (uint64 too), floats round-trippable. */
static json_object *jvalue(struct jdoc *d, const struct result *r,
                           uint64_t j)
{
    const void *p = r->data;
    if (r->str_width) {
        char *buf = malloc(r->str_width + 1);
        json_object *o = buf ? jstr(d, str_value(r, j, buf)) : NULL;
        free(buf);
        return o;
    }
    switch (r->type) {
    case H5B_INT64:
        return jnew(d, json_object_new_int64(((const int64_t *)p)[j]));
    case H5B_UINT64:
        return jnew(d, json_object_new_uint64(((const uint64_t *)p)[j]));
    case H5B_FLOAT32: return jreal(d, "%.9g", results_value(r, j));
    case H5B_FLOAT64: return jreal(d, "%.17g", results_value(r, j));
    default:
        return jnew(d, json_object_new_int64((int64_t)results_value(r, j)));
    }
}

/* One worker's entry of timing.workers: rank, times, and where it ran,
 * how its partitions reached it and who read them. */
static json_object *jworker(struct jdoc *d, const struct run_info *in,
                            int w)
{
    const struct run_timing *t = in->timing;
    json_object *e = jnew(d, json_object_new_object());
    jset(d, e, "rank", jnew(d, json_object_new_int(w + 1)));
    jset(d, e, "busy_s", jreal(d, "%.6f", t->busy[w]));
    jset(d, e, "wait_s", jreal(d, "%.6f", t->idle[w]));
    if (in->nodes && w + 1 < in->nodes->size)
        jset(d, e, "host", jstr(d, in->nodes->host[in->nodes->node[w + 1]]));
    jset(d, e, "transport", jstr(d, in->shm && in->shm[w + 1]
                                    ? "shared_memory" : "messages"));
    jset(d, e, "reads", jstr(d, t->file_reads && t->file_reads[w]
                                ? "file" : "rank0"));
    return e;
}

/* "nodes": each node's host and ranks, in order of its lowest rank; with
 * worker_reads = all, "files": whether it saw rank 0's files. */
static json_object *jnodes(struct jdoc *d, const struct run_info *in)
{
    json_object *a = jnew(d, json_object_new_array());
    const struct nodes *n = in->nodes;
    for (int k = 0; n && k < n->count; k++) {
        json_object *e = jnew(d, json_object_new_object());
        json_object *ranks = jnew(d, json_object_new_array());
        jset(d, e, "host", jstr(d, n->host[k]));
        for (int r = 0; r < n->size; r++)
            if (n->node[r] == k)
                jpush(d, ranks, jnew(d, json_object_new_int(r)));
        jset(d, e, "ranks", ranks);
        if (in->files_same && in->files_same[k] >= 0)
            jset(d, e, "files", jstr(d, in->files_same[k] ? "same"
                                                          : "differ"));
        jpush(d, a, e);
    }
    return a;
}

/* "timing": rank 0's seconds per activity and each worker's. */
static json_object *jtiming(struct jdoc *d, const struct run_info *in)
{
    const struct run_timing *t = in->timing;
    json_object *o = jnew(d, json_object_new_object());
    json_object *ws = jnew(d, json_object_new_array());
    jset(d, o, "read_s", jreal(d, "%.6f", t->read));
    jset(d, o, "send_s", jreal(d, "%.6f", t->send));
    jset(d, o, "wait_s", jreal(d, "%.6f", t->wait));
    jset(d, o, "merge_s", jreal(d, "%.6f", t->merge));
    jset(d, o, "reduce_s", jreal(d, "%.6f", t->reduce));
    jset(d, o, "range_s", jreal(d, "%.6f", t->range));
    jset(d, o, "reduced_partitions",
         jnew(d, json_object_new_uint64(t->reduced)));
    jset(d, o, "worker_read_partitions",
         jnew(d, json_object_new_uint64(t->direct)));
    for (int w = 0; w < t->nworkers; w++)
        jpush(d, ws, jworker(d, in, w));
    jset(d, o, "workers", ws);
    json_object *tw = NULL;
    if (t->twin_parts) {
        tw = jnew(d, json_object_new_object());
        jset(d, tw, "read_s", jreal(d, "%.6f", t->twin_read));
        jset(d, tw, "reduce_s", jreal(d, "%.6f", t->twin_reduce));
        jset(d, tw, "partitions",
             jnew(d, json_object_new_uint64(t->twin_parts)));
    }
    jset(d, o, "second_thread", tw);
    return o;
}

/* "memory": the plan's estimate of each rank's peak, allocated and
 * resident (memplan.h), and the peaks measured (VmHWM; a worker's
 * from its DONE, 0 if unknown). */
static json_object *jmemory(struct jdoc *d, const struct run_info *in)
{
    json_object *o = jnew(d, json_object_new_object());
    json_object *est = jnew(d, json_object_new_object());
    json_object *rss = jnew(d, json_object_new_object());
    json_object *ws = jnew(d, json_object_new_array());
    const struct run_timing *t = in->timing;
    jset(d, est, "rank0", jnew(d, json_object_new_uint64(
                                      in->mem->rank0.total)));
    jset(d, est, "worker", jnew(d, json_object_new_uint64(
                                       in->mem->worker.total)));
    jset(d, est, "shared_window", jnew(d, json_object_new_uint64(
                                              in->mem->window)));
    json_object *res = jnew(d, json_object_new_object());
    jset(d, res, "rank0", jnew(d, json_object_new_uint64(
                                      in->mem->rank0.resident)));
    jset(d, res, "worker", jnew(d, json_object_new_uint64(
                                       in->mem->worker.resident)));
    jset(d, rss, "rank0", jnew(d, json_object_new_uint64(in->rss)));
    for (int w = 0; t && t->rss && w < t->nworkers; w++)
        jpush(d, ws, jnew(d, json_object_new_uint64(t->rss[w])));
    jset(d, rss, "workers", ws);
    jset(d, o, "estimate_bytes", est);
    jset(d, o, "estimate_resident_bytes", res);
    jset(d, o, "peak_rss_bytes", rss);
    return o;
}

/* The items of a ", "-separated list as an array of JSON strings. */
static json_object *jlist(struct jdoc *d, const char *list)
{
    json_object *a = jnew(d, json_object_new_array());
    for (const char *p = list; *p;) {
        const char *sep = strstr(p, ", ");
        size_t n = sep ? (size_t)(sep - p) : strlen(p);
        char *item = strndup(p, n);
        jpush(d, a, item ? jstr(d, item) : jnew(d, NULL));
        free(item);
        p += n + (sep ? 2 : 0);
    }
    return a;
}

/* Nested JSON arrays for dims[dim..] starting at element *j. */
static json_object *jnested(struct jdoc *d, const struct result *r, int dim,
                            uint64_t *j)
{
    if (dim == r->rank)
        return jvalue(d, r, (*j)++);
    json_object *a = jnew(d, json_object_new_array());
    for (uint64_t i = 0; i < r->dims[dim] && !d->nomem; i++)
        jpush(d, a, jnested(d, r, dim + 1, j));
    return a;
}

/* A result inline, or {"shape": [...], "path": "/group/name"} if large. */
static json_object *jresult(struct jdoc *d, const struct result *r)
{
    uint64_t j = 0;
    if (r->nelem <= SUMMARY_INLINE)
        return jnested(d, r, 0, &j);
    json_object *o = jnew(d, json_object_new_object());
    json_object *shape = jnew(d, json_object_new_array());
    for (int dim = 0; dim < r->rank; dim++)
        jpush(d, shape, jnew(d, json_object_new_uint64(r->dims[dim])));
    jset(d, o, "shape", shape);
    size_t n = strlen(r->group) + strlen(r->name) + 3;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "/%s/%s", r->group, r->name);
    jset(d, o, "path", path ? jstr(d, path) : jnew(d, NULL));
    free(path);
    return o;
}

/* "results": group -> result name -> value. */
static json_object *jresults(struct jdoc *d, const struct results *rs)
{
    json_object *o = jnew(d, json_object_new_object());
    for (size_t i = 0; i < rs->n && !d->nomem; i++) {
        json_object *g = NULL;
        char *key = utf8_clean(rs->r[i].group);
        if (key && o && !json_object_object_get_ex(o, key, &g)) {
            g = jnew(d, json_object_new_object());
            jset(d, o, key, g);
        }
        if (!key)
            d->nomem = 1;
        free(key);
        if (g && !d->nomem)
            jset(d, g, rs->r[i].name, jresult(d, &rs->r[i]));
    }
    return o;
}

/* The whole document, or NULL with d->nomem set. */
static json_object *jsummary(struct jdoc *d, const struct run_info *in,
                             const struct results *rs)
{
    json_object *o = jnew(d, json_object_new_object());
    json_object *inputs = jnew(d, json_object_new_array());
    jset(d, o, "job", jstr(d, in->job_name));
    jset(d, o, "dataset", jstr(d, in->dataset));
    for (size_t i = 0; i < in->ninputs; i++)
        jpush(d, inputs, jstr(d, in->inputs[i]));
    jset(d, o, "inputs", inputs);
    jset(d, o, "rows", jnew(d, json_object_new_uint64(in->rows)));
    jset(d, o, "partitions", jnew(d, json_object_new_uint64(in->partitions)));
    jset(d, o, "ranks", jnew(d, json_object_new_int(in->ranks)));
    if (in->nodes)
        jset(d, o, "nodes", jnodes(d, in));
    jset(d, o, "elapsed_s", jreal(d, "%.6f", in->elapsed));
    jset(d, o, "bytes", jnew(d, json_object_new_uint64(in->bytes)));
    jset(d, o, "output", jstr(d, in->output));
    jset(d, o, "skipped_fields", jlist(d, in->skipped ? in->skipped : ""));
    if (in->timing)
        jset(d, o, "timing", jtiming(d, in));
    if (in->mem)
        jset(d, o, "memory", jmemory(d, in));
    jset(d, o, "results", jresults(d, rs));
    if (d->nomem) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

int summary_json(FILE *out, const struct run_info *in,
                 const struct results *rs, struct h5b_error *err)
{
    struct jdoc d = {0};
    json_object *doc = jsummary(&d, in, rs);
    const char *text = doc ? json_object_to_json_string_ext(doc,
        JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
    int rc = 0;
    if (text)
        fprintf(out, "%s\n", text);
    else
        rc = err_set(err, H5B_ERUN, "out of memory for the JSON summary");
    json_object_put(doc);
    return rc;
}

/* One text line per result: scalars in full, maps by shape and a few
 * leading values. */
static void put_text_result(FILE *out, const struct result *r)
{
    fprintf(out, "  %-10s ", r->name);
    if (r->rank == 0) {
        put_value(out, r, 0);
        fputc('\n', out);
        return;
    }
    for (int d = 0; d < r->rank; d++)
        fprintf(out, "%s%" PRIu64, d ? "x" : "[", r->dims[d]);
    fputs("] ", out);
    for (uint64_t j = 0; j < r->nelem && j < 4; j++) {
        fputs(j ? ", " : "", out);
        put_value(out, r, j);
    }
    fputs(r->nelem > 4 ? ", ...\n" : "\n", out);
}

void summary_text(FILE *out, const struct run_info *in,
                  const struct results *rs)
{
    fprintf(out, "job %s: %s in %zu file%s, %" PRIu64 " rows, %" PRIu64
            " partitions, %d rank%s\n", in->job_name, in->dataset,
            in->ninputs, in->ninputs == 1 ? "" : "s", in->rows,
            in->partitions, in->ranks, in->ranks == 1 ? "" : "s");
    if (in->skipped && *in->skipped)
        fprintf(out, "skipped fields (non-numeric, or a pandas index): %s\n",
                in->skipped);
    for (size_t i = 0; i < rs->n; i++) {
        if (i == 0 || strcmp(rs->r[i - 1].group, rs->r[i].group))
            fprintf(out, "%s:\n", rs->r[i].group);
        put_text_result(out, &rs->r[i]);
    }
    put_text_timing(out, in);
    fprintf(out, "results: %s\n", in->output);
}
