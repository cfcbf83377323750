/* fuzz_job.c -- libFuzzer target: the job-file parser and overrides.
 *
 * Input: job-file text, optionally followed by a line "@@" and then one
 * `--set` assignment per line.  As rank 0 does: job_parse_text, each
 * override through job_override, job_finish.  A job that is accepted must
 * then satisfy what the rest of h5batch relies on:
 *   - the derived fields are set and within their documented limits;
 *   - shipped to a worker (the entries through a SETUP message, then
 *     job_apply with origin "setup" and job_finish) it is accepted again
 *     and derives the same fields -- a job rank 0 accepts and a worker
 *     refuses would end a run late and confusingly;
 *   - its strings print as a JSON summary.
 * Anything else is a finding (abort).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "job.h"
#include "op.h"
#include "output.h"
#include "results.h"
#include "summary.h"
#include "wire.h"

#define SEPARATOR "\n@@\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static void check_msg(const struct h5b_error *err)
{
    if (!memchr(err->msg, '\0', sizeof err->msg))
        fixture_die("error message", "not NUL-terminated");
}

/* Where the override section starts (after SEPARATOR), or NULL. */
static const char *find_overrides(const char *text, size_t size,
                                  size_t *text_len)
{
    size_t n = strlen(SEPARATOR);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(text + i, SEPARATOR, n) == 0) {
            *text_len = i + 1;      /* keep the text's last newline */
            return text + i + n;
        }
    *text_len = size;
    return NULL;
}

/* Apply each line of [p, end) as an override; stop at the first error. */
static int apply_overrides(struct job *job, const char *p, const char *end,
                           struct h5b_error *err)
{
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        char *line = strndup(p, (size_t)(eol - p));
        if (!line)
            fixture_die("strndup", "out of memory");
        int rc = job_override(job, line, err);
        free(line);
        if (rc < 0)
            return rc;
        p = eol + 1;
    }
    return 0;
}

static void check_derived(const struct job *job)
{
    size_t n = 0;
    if (!job->name || !job->files || !job->dataset || !job->output)
        fixture_die("job_finish", "a required field is NULL");
    if (job->partition_bytes == 0 || job->partition_bytes > JOB_MAX_PARTITION)
        fixture_die("job_finish", "partition_bytes out of range");
    if (job->prefetch < 1 || job->prefetch > JOB_MAX_PREFETCH)
        fixture_die("job_finish", "prefetch out of range");
    if (job->ddof < 0 || job->ddof > 1)
        fixture_die("job_finish", "ddof out of range");
    for (; job->ops[n]; n++)
        if (n >= JOB_MAX_OPS || !op_known_output(job->ops[n]))
            fixture_die("job_finish", "ops list bad");
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Ship job's entries through a SETUP message to a fresh job, as rank 0
 * does to the workers; it must be accepted and agree. */
static void replay_on_worker(const struct job *job)
{
    struct h5b_error err = {""};
    struct wire_setup s = {.ncol = 0, .nentries = job->nentries,
                           .entries = job->entries}, got;
    struct job w = {0};
    size_t len = wire_setup_size(&s);
    unsigned char *buf = malloc(len);
    if (!buf)
        fixture_die("replay", "out of memory");
    wire_encode_setup(buf, &s);
    if (wire_decode_setup(buf, len, &got, &err) < 0)
        fixture_die("decoding the job's SETUP", err.msg);
    for (size_t i = 0; i < got.nentries; i++)
        if (job_apply(&w, got.entries[i].section, got.entries[i].key,
                      got.entries[i].value, "setup", &err) < 0)
            fixture_die("worker refused an entry rank 0 accepted", err.msg);
    if (job_finish(&w, &err) < 0)
        fixture_die("worker's job_finish", err.msg);
    if (!same_str(w.name, job->name) || !same_str(w.files, job->files) ||
        !same_str(w.dataset, job->dataset) ||
        !same_str(w.output, job->output) ||
        !same_str(w.fields, job->fields) ||
        w.partition_bytes != job->partition_bytes ||
        w.axis_all != job->axis_all || w.ddof != job->ddof ||
        w.prefetch != job->prefetch || w.cf != job->cf)
        fixture_die("worker", "derived a different job");
    for (size_t i = 0; i <= JOB_MAX_OPS; i++) {
        if (!same_str(w.ops[i], job->ops[i]))
            fixture_die("worker", "derived different ops");
        if (!w.ops[i])
            break;
    }
    job_free(&w);
    wire_setup_free(&got);
    free(buf);
}

static void print_summary(const struct job *job)
{
    struct results rs = {0};
    char *inputs[] = {(char *)job->files};
    struct run_info info = {.job_name = job->name, .job_text = job->text,
                            .dataset = job->dataset, .output = job->output,
                            .inputs = inputs, .ninputs = 1,
                            .skipped = job->fields, .ranks = 1};
    summary_json(devnull, &info, &rs, NULL);
    summary_text(devnull, &info, &rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct h5b_error err = {""};
    struct job job = {0};
    size_t text_len = 0;
    const char *text = (const char *)data;
    const char *over = find_overrides(text, size, &text_len);
    if (!devnull)
        devnull = fopen("/dev/null", "w");
    int rc = job_parse_text(&job, "fuzz.ini", text, text_len, &err);
    if (rc == 0)
        rc = apply_overrides(&job, over, text + size, &err);
    if (rc == 0)
        rc = job_finish(&job, &err);
    check_msg(&err);
    if (rc == 0) {
        check_derived(&job);
        replay_on_worker(&job);
        print_summary(&job);
    } else if (rc != -1 && rc != -2) {
        fixture_die("job", "return code neither H5B_ERUN nor H5B_EINPUT");
    }
    job_free(&job);
    return 0;
}
