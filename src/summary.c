/* summary.c -- text and JSON summaries of a run's results. */
#include "summary.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>


/* Print value j of r: integers exactly, floats round-trippable; a NaN
 * or infinity as `nan_as` ("null" in JSON). */
static void put_value(FILE *out, const struct result *r, uint64_t j,
                      const char *nan_as)
{
    const void *p = r->data;
    switch (r->type) {
    case H5B_INT64: fprintf(out, "%" PRId64, ((const int64_t *)p)[j]); return;
    case H5B_UINT64: fprintf(out, "%" PRIu64, ((const uint64_t *)p)[j]); return;
    case H5B_FLOAT32:
    case H5B_FLOAT64: {
        double v = results_value(r, j);
        if (isfinite(v))
            fprintf(out, r->type == H5B_FLOAT32 ? "%.9g" : "%.17g", v);
        else
            fputs(nan_as ? nan_as : (isnan(v) ? "nan" : v > 0 ? "inf"
                                                              : "-inf"), out);
        return;
    }
    default: fprintf(out, "%.0f", results_value(r, j)); return;
    }
}

/* A JSON string literal. */
static void put_jstr(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* "timing": rank 0's seconds per activity and each worker's. */
static void put_json_timing(FILE *out, const struct run_timing *t)
{
    if (!t)
        return;
    fprintf(out, "\"timing\": {\"read_s\": %.6f, \"send_s\": %.6f, "
            "\"wait_s\": %.6f, \"merge_s\": %.6f, \"reduce_s\": %.6f, "
            "\"reduced_partitions\": %llu, \"worker_read_partitions\": %llu, "
            "\"workers\": [", t->read, t->send, t->wait, t->merge, t->reduce,
            t->reduced, t->direct);
    for (int w = 0; w < t->nworkers; w++)
        fprintf(out, "%s{\"rank\": %d, \"busy_s\": %.6f, \"wait_s\": %.6f}",
                w ? ", " : "", w + 1, t->busy[w], t->idle[w]);
    fputs("]}, ", out);
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
    fprintf(out, "time: %.2f s; rank 0 read %.2f s, sent %.2f s, waited "
            "%.2f s, merged %.2f s", in->elapsed, t->read, t->send, t->wait,
            t->merge);
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
    fputc('\n', out);
}

/* The items of a ", "-separated list as JSON strings. */
static void put_jlist(FILE *out, const char *list)
{
    char item[512];
    for (const char *p = list; *p;) {
        const char *sep = strstr(p, ", ");
        size_t n = sep ? (size_t)(sep - p) : strlen(p);
        snprintf(item, sizeof item, "%.*s", (int)n, p);
        fputs(p == list ? "" : ", ", out);
        put_jstr(out, item);
        p += n + (sep ? 2 : 0);
    }
}

/* Nested JSON lists for dims[d..] starting at element *j. */
static void put_nested(FILE *out, const struct result *r, int d, uint64_t *j)
{
    if (d == r->rank) {
        put_value(out, r, (*j)++, "null");
        return;
    }
    fputc('[', out);
    for (uint64_t i = 0; i < r->dims[d]; i++) {
        if (i)
            fputs(", ", out);
        put_nested(out, r, d + 1, j);
    }
    fputc(']', out);
}

static void put_json_result(FILE *out, const struct result *r)
{
    uint64_t j = 0;
    put_jstr(out, r->name);
    fputs(": ", out);
    if (r->nelem <= SUMMARY_INLINE) {
        put_nested(out, r, 0, &j);
        return;
    }
    fputs("{\"shape\": [", out);
    for (int d = 0; d < r->rank; d++)
        fprintf(out, "%s%" PRIu64, d ? ", " : "", r->dims[d]);
    fprintf(out, "], \"path\": \"/%s/%s\"}", r->group, r->name);
}

void summary_json(FILE *out, const struct run_info *in,
                  const struct results *rs)
{
    fputs("{\"job\": ", out);
    put_jstr(out, in->job_name);
    fputs(", \"dataset\": ", out);
    put_jstr(out, in->dataset);
    fputs(", \"inputs\": [", out);
    for (size_t i = 0; i < in->ninputs; i++) {
        fputs(i ? ", " : "", out);
        put_jstr(out, in->inputs[i]);
    }
    fprintf(out, "], \"rows\": %" PRIu64 ", \"partitions\": %" PRIu64
            ", \"ranks\": %d, \"elapsed_s\": %.6f, \"bytes\": %" PRIu64
            ", \"output\": ", in->rows, in->partitions, in->ranks,
            in->elapsed, in->bytes);
    put_jstr(out, in->output);
    fputs(", \"skipped_fields\": [", out);
    put_jlist(out, in->skipped ? in->skipped : "");
    fputs("], ", out);
    put_json_timing(out, in->timing);
    fputs("\"results\": {", out);
    for (size_t i = 0; i < rs->n; i++) {
        int first = i == 0 || strcmp(rs->r[i - 1].group, rs->r[i].group);
        if (first) {
            fputs(i ? "}, " : "", out);
            put_jstr(out, rs->r[i].group);
            fputs(": {", out);
        } else {
            fputs(", ", out);
        }
        put_json_result(out, &rs->r[i]);
    }
    fputs(rs->n ? "}}}\n" : "}}\n", out);
}

/* One text line per result: scalars in full, maps by shape and a few
 * leading values. */
static void put_text_result(FILE *out, const struct result *r)
{
    fprintf(out, "  %-10s ", r->name);
    if (r->rank == 0) {
        put_value(out, r, 0, NULL);
        fputc('\n', out);
        return;
    }
    for (int d = 0; d < r->rank; d++)
        fprintf(out, "%s%" PRIu64, d ? "x" : "[", r->dims[d]);
    fputs("] ", out);
    for (uint64_t j = 0; j < r->nelem && j < 4; j++) {
        fputs(j ? ", " : "", out);
        put_value(out, r, j, NULL);
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
        fprintf(out, "skipped non-numeric fields: %s\n", in->skipped);
    for (size_t i = 0; i < rs->n; i++) {
        if (i == 0 || strcmp(rs->r[i - 1].group, rs->r[i].group))
            fprintf(out, "%s:\n", rs->r[i].group);
        put_text_result(out, &rs->r[i]);
    }
    put_text_timing(out, in);
    fprintf(out, "results: %s\n", in->output);
}
