/* memlimits.c -- how much memory the ranks of this node may use (see
 * memlimits.h). */
#define _DEFAULT_SOURCE
#include "memlimits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include "memplan.h"

/* The number after `key` in a "Key:   123 kB" line of file path, in
 * bytes, or MEMLIMIT_NONE. */
static uint64_t kb_field(const char *path, const char *key)
{
    char line[256];
    uint64_t v = MEMLIMIT_NONE;
    size_t n = strlen(key);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtoull(line + n + 1, NULL, 10) << 10;
            break;
        }
    if (f)
        fclose(f);
    return v;
}

/* A file holding one number of bytes (a cgroup limit), or MEMLIMIT_NONE
 * ("max", absent, or v1's "unlimited" of about 2^63). */
static uint64_t number_file(const char *path)
{
    char buf[64] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return MEMLIMIT_NONE;
    if (!fgets(buf, sizeof buf, f))
        buf[0] = 0;
    fclose(f);
    if (buf[0] < '0' || buf[0] > '9')
        return MEMLIMIT_NONE;
    uint64_t v = strtoull(buf, NULL, 10);
    return v >= ((uint64_t)1 << 62) ? MEMLIMIT_NONE : v;
}

/* The process's cgroup memory limit: v2 memory.max of its cgroup, else
 * v1 memory.limit_in_bytes of its memory cgroup. */
static uint64_t cgroup_limit(void)
{
    char line[1024], path[1200];
    uint64_t v = MEMLIMIT_NONE;
    FILE *f = fopen("/proc/self/cgroup", "r");
    while (f && fgets(line, sizeof line, f) && v == MEMLIMIT_NONE) {
        line[strcspn(line, "\n")] = 0;
        char *ctl = strchr(line, ':');
        char *cg = ctl ? strchr(ctl + 1, ':') : NULL;
        if (!cg)
            continue;
        *cg++ = 0;
        ctl++;
        if (*ctl == 0)
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", cg);
        else if (strstr(ctl, "memory"))
            snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/"
                     "memory.limit_in_bytes", cg);
        else
            continue;
        v = number_file(path);
    }
    if (f)
        fclose(f);
    return v;
}

/* Slurm's figure in MiB from the environment, or MEMLIMIT_NONE. */
static uint64_t slurm_mib(const char *name)
{
    const char *s = getenv(name);
    char *end;
    if (!s || *s < '0' || *s > '9')
        return MEMLIMIT_NONE;
    uint64_t v = strtoull(s, &end, 10);
    return *end == 0 && v > 0 ? v << 20 : MEMLIMIT_NONE;
}

/* Free bytes of /dev/shm; H5BATCH_TEST_SHM_FREE replaces it (a test
 * hook, memlimits.h). */
static uint64_t shm_free(void)
{
    const char *hook = getenv("H5BATCH_TEST_SHM_FREE");
    struct statvfs st;
    if (hook && *hook)
        return strtoull(hook, NULL, 10);
    if (statvfs("/dev/shm", &st) != 0)
        return MEMLIMIT_NONE;
    return (uint64_t)st.f_bavail * st.f_frsize;
}

void memlimits_read(struct memlimits *l, uint64_t user, int node_ranks)
{
    struct rlimit r;
    l->available = kb_field("/proc/meminfo", "MemAvailable");
    l->cgroup = cgroup_limit();
    l->slurm_node = slurm_mib("SLURM_MEM_PER_NODE");
    l->slurm_cpu = slurm_mib("SLURM_MEM_PER_CPU");
    l->rlimit_as = getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_cur !=
                   RLIM_INFINITY ? (uint64_t)r.rlim_cur : MEMLIMIT_NONE;
    l->vm_base = kb_field("/proc/self/status", "VmSize");
    l->rss_base = kb_field("/proc/self/status", "VmRSS");
    if (l->vm_base == MEMLIMIT_NONE || l->rss_base == MEMLIMIT_NONE)
        l->vm_base = l->rss_base = 0;
    l->user = user ? user : MEMLIMIT_NONE;
    l->shm_free = shm_free();
    l->node_ranks = node_ranks > 0 ? node_ranks : 1;
}

/* Keep limit v (a node's, shared by `share` ranks) if it is the least. */
static void least(uint64_t v, int share, const char *name, uint64_t *best,
                  char *what, size_t n)
{
    char b[32];
    if (v == MEMLIMIT_NONE || v / (uint64_t)share >= *best)
        return;
    *best = v / (uint64_t)share;
    if (share > 1)
        snprintf(what, n, "%s %s shared by %d ranks on the node", name,
                 memplan_size(v, b, sizeof b), share);
    else
        snprintf(what, n, "%s %s", name, memplan_size(v, b, sizeof b));
}

uint64_t memlimits_rank(const struct memlimits *l, char *what, size_t n)
{
    uint64_t best = MEMLIMIT_NONE;
    int k = l->node_ranks;
    snprintf(what, n, "no limit");
    least(l->user, 1, "[run] memory_limit =", &best, what, n);
    least(l->available, k, "MemAvailable", &best, what, n);
    least(l->cgroup, k, "the cgroup's memory limit", &best, what, n);
    least(l->slurm_node, k, "SLURM_MEM_PER_NODE", &best, what, n);
    least(l->slurm_cpu, 1, "SLURM_MEM_PER_CPU", &best, what, n);
    if (l->rlimit_as != MEMLIMIT_NONE) {
        char name[96], b[32];
        snprintf(name, sizeof name, "RLIMIT_AS %s less what the process "
                 "maps but does not hold:", memplan_size(l->rlimit_as, b,
                                                         sizeof b));
        least(l->rlimit_as > l->vm_base ? l->rlimit_as - l->vm_base +
              l->rss_base : l->rss_base, 1, name, &best, what, n);
    }
    return best;
}

uint64_t memlimits_peak_rss(void)
{
    /* VmHWM is this program's own peak.  ru_maxrss is not, on Linux: exec
     * keeps the larger of it and the peak of the program before, so an
     * h5batch started by a big Python process would report Python's. */
    uint64_t hwm = kb_field("/proc/self/status", "VmHWM");
    struct rusage u;
    if (hwm == MEMLIMIT_NONE || hwm == 0)
        return getrusage(RUSAGE_SELF, &u) == 0
               ? (uint64_t)u.ru_maxrss << 10 : 0;
    return hwm;
}
