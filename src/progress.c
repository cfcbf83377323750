/* progress.c -- terminal and log progress lines. */
#define _DEFAULT_SOURCE
#include "progress.h"

#include "err.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

double progress_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_start(struct progress *p, FILE *out, int quiet,
                    uint64_t bytes, uint64_t parts)
{
    p->out = quiet ? NULL : out;
    p->tty = out && isatty(fileno(out));
    p->t0 = p->last = progress_clock();
    p->bytes = bytes;
    p->parts = parts;
    p->base_bytes = 0;
}

void progress_resume(struct progress *p, uint64_t base_bytes)
{
    p->base_bytes = base_bytes;
}

/* "YYYY-MM-DD HH:MM:SS" local time, for log lines. */
static void stamp(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

void progress_update(struct progress *p, uint64_t done_parts,
                     uint64_t done_bytes)
{
    if (!p->out)
        return;
    double now = progress_clock(), dt = now - p->t0;
    if (now - p->last < (p->tty ? 0.2 : PROGRESS_LOG_SECONDS))
        return;
    p->last = now;
    double pct = p->bytes ? 100.0 * (double)done_bytes / (double)p->bytes
                          : 100.0;
    double rate = dt > 0 ? (double)(done_bytes - p->base_bytes) / dt : 0;
    double eta = rate > 0 ? (double)(p->bytes - done_bytes) / rate : 0;
    if (p->tty) {
        fprintf(p->out, "\r\033[Kh5batch: %5.1f%%  %" PRIu64 "/%" PRIu64
                " partitions  %.2f GB/s  ETA %.0fs", pct, done_parts,
                p->parts, rate / 1e9, eta);
    } else {
        char ts[32];
        stamp(ts, sizeof ts);
        fprintf(p->out, "%s h5batch: %.1f%% %" PRIu64 "/%" PRIu64
                " partitions, %.2f GB/s, ETA %.0f s\n", ts, pct, done_parts,
                p->parts, rate / 1e9, eta);
    }
    fflush(p->out);
}

void progress_finish(struct progress *p, uint64_t bytes, int ranks)
{
    if (!p->out)
        return;
    bytes -= bytes > p->base_bytes ? p->base_bytes : bytes;
    double dt = progress_clock() - p->t0;
    char ts[32] = "";
    if (!p->tty)
        stamp(ts, sizeof ts);
    fprintf(p->out, "%s%s%sh5batch: done in %.2f s: %.3f GB at %.2f GB/s "
            "on %d rank%s\n", p->tty ? "\r\033[K" : "", ts, *ts ? " " : "",
            dt, (double)bytes / 1e9, dt > 0 ? (double)bytes / dt / 1e9 : 0.0,
            ranks, ranks == 1 ? "" : "s");
    fflush(p->out);
}

int progress_test_fail(uint64_t index, struct h5b_error *err)
{
    static _Atomic long long at = -2;  /* read once; atomic: two threads */
    if (at == -2) {
        const char *v = getenv("H5BATCH_TEST_FAIL_PARTITION");
        at = v ? atoll(v) : -1;
    }
    if (at < 0 || (uint64_t)at != index)
        return 0;
    return err_set(err, H5B_ERUN, "partition %llu: failure injected by "
                   "H5BATCH_TEST_FAIL_PARTITION", (unsigned long long)index);
}

void progress_test_pause(void)
{
    static _Atomic long cached = -1;   /* atomic: rank 0 alone reduces in two threads */
    long ms = cached;
    if (ms < 0) {
        const char *v = getenv("H5BATCH_TEST_PAUSE_MS");
        ms = v ? atol(v) : 0;
        ms = ms < 0 || ms > 10000 ? 0 : ms;
        cached = ms;
    }
    if (ms > 0) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}
