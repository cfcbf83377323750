/* memlimits.h -- how much memory the ranks of this node may use.
 *
 * Read once on rank 0 at validation, before anything large is allocated:
 * MemAvailable of /proc/meminfo and the process's cgroup limit (v2
 * memory.max, v1 memory.limit_in_bytes), both shared by the ranks on the
 * node; RLIMIT_AS, per process, against which the process's own address
 * space (VmSize) already counts (the plan counts the resident part of it,
 * VmRSS, as its `base`, so the limit given for it is RLIMIT_AS - VmSize +
 * VmRSS); Slurm's SLURM_MEM_PER_NODE (MiB, shared)
 * and SLURM_MEM_PER_CPU (MiB, one CPU per rank assumed); [run]
 * memory_limit, per rank; and the free space of /dev/shm, where Open MPI
 * backs the shared-memory window.
 *
 * Test hook: H5BATCH_TEST_SHM_FREE=BYTES replaces the free space of
 * /dev/shm (and only that), since a small tmpfs cannot be mounted in the
 * tests.  No MPI, no HDF5.
 */
#ifndef H5B_MEMLIMITS_H
#define H5B_MEMLIMITS_H

#include <stddef.h>
#include <stdint.h>

#define MEMLIMIT_NONE UINT64_MAX

struct memlimits {
    uint64_t available;     /* MemAvailable, node */
    uint64_t cgroup;        /* node (the ranks' cgroup) */
    uint64_t slurm_node;    /* node */
    uint64_t slurm_cpu;     /* rank */
    uint64_t rlimit_as;     /* rank, address space */
    uint64_t vm_base;       /* this process's address space now */
    uint64_t rss_base;      /* and its resident set (memplan_job.base) */
    uint64_t user;          /* [run] memory_limit, rank */
    uint64_t shm_free;      /* /dev/shm */
    int node_ranks;         /* ranks sharing the node-wide figures */
};

/* Read the machine's limits (MEMLIMIT_NONE where there is none or it
 * cannot be read); user is [run] memory_limit (0: none). */
void memlimits_read(struct memlimits *l, uint64_t user, int node_ranks);

/* The least any one rank may use, and in *what a phrase naming that
 * limit ("[run] memory_limit = 1 GiB"); MEMLIMIT_NONE if none. */
uint64_t memlimits_rank(const struct memlimits *l, char *what, size_t n);

/* This process's peak resident set so far, in bytes: VmHWM of
 * /proc/self/status (ru_maxrss where there is none, which on Linux also
 * counts the peak of the program that exec'd this one). */
uint64_t memlimits_peak_rss(void);

#endif
