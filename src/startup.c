/* startup.c -- the times of H5BATCH_STARTUP_TIMES (startup.h).
 *
 * The times live in one static struct, written only by the main thread
 * (main() marks its steps in order) and read at the end; nothing else
 * touches them, so they need no lock.
 */
#define _GNU_SOURCE         /* CLOCK_BOOTTIME */
#include "startup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct startup_times times = {.age_at_main = -1};
static double boot_at_main;     /* CLOCK_BOOTTIME at STARTUP_MAIN */

static double clock_s(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The process's age at boot time boot_now, from /proc/self/stat; -1 when
 * unknown.  Read at the report, not at main(): the start time does not
 * change, and a run that prints nothing then opens nothing. */
static double own_age(double boot_now)
{
    char line[1024];
    double age;
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    if (startup_age(line, boot_now, sysconf(_SC_CLK_TCK), &age) != 0)
        return -1;
    return age;
}

void startup_mark(enum startup_step step)
{
    times.at[step] = clock_s(CLOCK_MONOTONIC);
    if (step == STARTUP_MAIN)
        boot_at_main = clock_s(CLOCK_BOOTTIME);
}

int startup_age(const char *stat, double boot_now, long hz, double *age)
{
    const char *p = strrchr(stat, ')');
    if (!p || hz <= 0)
        return -1;
    /* The space after the last ')' starts field 3 (state); starttime is
     * field 22. */
    for (int field = 3; field <= 22; field++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return -1;
    }
    char *end;
    unsigned long long ticks = strtoull(p + 1, &end, 10);
    if (end == p + 1 || (*end != ' ' && *end != '\0' && *end != '\n'))
        return -1;
    *age = boot_now - (double)ticks / (double)hz;
    return 0;
}

/* Seconds from step a to step b. */
static double span(const struct startup_times *t, enum startup_step a,
                   enum startup_step b)
{
    return t->at[b] - t->at[a];
}

void startup_format(char *buf, size_t len, const struct startup_times *t,
                    int mpi, const char *pml, const char *why)
{
    char main_s[32] = "?", to_init[32] = "?", total[32] = "?";
    char init[32] = "-", fin[32] = "-";
    double age = t->age_at_main;
    if (age >= 0) {
        snprintf(main_s, sizeof main_s, "%.3f", age);
        snprintf(to_init, sizeof to_init, "%.3f",
                 age + span(t, STARTUP_MAIN, STARTUP_INIT));
        snprintf(total, sizeof total, "%.3f",
                 age + span(t, STARTUP_MAIN, STARTUP_FINALIZED));
    }
    if (mpi) {
        snprintf(init, sizeof init, "%.3f",
                 span(t, STARTUP_INIT, STARTUP_INITED));
        snprintf(fin, sizeof fin, "%.3f",
                 span(t, STARTUP_RAN, STARTUP_FINALIZED));
    }
    snprintf(buf, len, "h5batch: startup: to_main=%s to_init=%s init=%s "
             "run=%.3f finalize=%s total=%s pml=%s (%s)", main_s, to_init,
             init, span(t, STARTUP_INITED, STARTUP_RAN), fin, total,
             pml ? pml : "default", why ? why : "");
}

void startup_report(launch_getenv get, int rank0, int mpi, const char *pml,
                    const char *why)
{
    const char *want = get("H5BATCH_STARTUP_TIMES");
    char line[512];
    if (!rank0 || !want || strcmp(want, "1") != 0)
        return;
    times.age_at_main = own_age(boot_at_main);
    startup_format(line, sizeof line, &times, mpi, pml, why);
    fprintf(stderr, "%s\n", line);
}
