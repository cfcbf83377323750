/* test_memplan.c -- unit tests of the memory plan and its check
 * (memplan.h, memlimits.h).
 *
 * Expected figures are worked out here from the layout the code uses
 * (master.c: nworkers*prefetch+1 slots, +1 when rank 0 helps, 64-byte
 * aligned in the shared window; worker.c: prefetch receive buffers;
 * run_solo: one buffer, two with read-ahead), not read back from the
 * plan.  Operator states come from op_*_bytes()/gb_bytes(), whose own
 * arithmetic is checked against the structures in test_memplan_states.
 */
#define _GNU_SOURCE
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "groupby.h"
#include "memlimits.h"
#include "memplan.h"
#include "op.h"

#define HDR 72                  /* WIRE_WORK_HEADER */

static struct memplan_job job_of(uint64_t part_bytes, int nworkers,
                                 int prefetch)
{
    struct memplan_job j = {0};
    j.slot_bytes = HDR + part_bytes;
    j.part_records = part_bytes / 8;
    j.records = j.part_records * 100;
    j.nparts = 100;
    j.ntiles = 1;
    j.nworkers = nworkers;
    j.node_ranks = nworkers + 1;
    j.prefetch = prefetch;
    j.ncell = 1;
    j.ncol = 1;
    j.moments = 1;
    j.bins = 64;
    return j;
}

static struct memlimits no_limits(void)
{
    struct memlimits l = {MEMLIMIT_NONE, MEMLIMIT_NONE, MEMLIMIT_NONE,
                          MEMLIMIT_NONE, MEMLIMIT_NONE, 0, 0, MEMLIMIT_NONE,
                          MEMLIMIT_NONE, 1};
    return l;
}

static void test_solo_buffers(void **state)
{
    (void)state;
    struct memplan m;
    struct memplan_job j = job_of(1000, 0, 4);
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.part[MP_BUFFERS], 1072);
    assert_int_equal(m.window, 0);
    j.read_ahead = 1;
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.part[MP_BUFFERS], 2 * 1072);
    /* one accumulator and one partial */
    assert_int_equal(m.rank0.nstates, 2);
    assert_int_equal(m.rank0.part[MP_MOMENTS], 2 * op_moments_bytes(1, 0));
}

static void test_workers_slots_and_window(void **state)
{
    (void)state;
    struct memplan m;
    struct memplan_job j = job_of(1000, 2, 3);
    j.helps = 1;
    memplan_build(&j, &m);
    /* 2 * 3 + 1 + 1 = 8 private slots */
    assert_int_equal(m.rank0.part[MP_BUFFERS], 8 * 1072);
    assert_int_equal(m.worker.part[MP_BUFFERS], 3 * 1072);
    j.shared = 1;
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.part[MP_BUFFERS], 0);
    assert_int_equal(m.window, 8 * 1088);       /* 1072 rounded to 64 */
    assert_int_equal(m.rank0.part[MP_WINDOW], m.window);
    /* accumulator + merge window max(16, 4 * 8) + the RESULT decoded */
    assert_int_equal(m.rank0.nstates, 1 + 32 + 1);
    /* one partial reduced + the ring of prefetch + 1 results */
    assert_int_equal(m.worker.nstates, 3 + 2);
}

static void test_merge_window_bounded_by_partitions(void **state)
{
    (void)state;
    struct memplan m;
    struct memplan_job j = job_of(1000, 1, 1);
    j.nparts = 3;
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.nstates, 1 + 3 + 1);
}

static void test_states_scale_with_cells_and_columns(void **state)
{
    (void)state;
    struct memplan m;
    struct memplan_job j = job_of(1000, 1, 2);
    j.ncell = 500;
    j.ncol = 3;
    j.histogram = 1;
    j.quantiles = 1;
    j.bins = 100;
    memplan_build(&j, &m);
    uint64_t n = m.worker.nstates;
    assert_int_equal(m.worker.part[MP_MOMENTS], n * 3 * op_moments_bytes(500, 0));
    /* the worker's histograms: the partial being reduced, and its ring of
     * prefetch + 1 encoded RESULTs */
    assert_int_equal(m.worker.part[MP_HIST],
                     3 * (op_hist_bytes(500, 100) +
                          (n - 1) * op_hist_encoded_bytes(500, 100,
                                                          j.part_records)));
    assert_true(m.worker.part[MP_HIST] < n * 3 * op_hist_bytes(500, 100));
    assert_int_equal(m.worker.part[MP_QUANT], n * 3 * op_quantile_bytes(500));
    /* the operator sizes themselves: counts of 500 cells x 102 bins, the
     * edges; a quantile cell holds two stores of up to 2048 counters */
    assert_true(op_hist_bytes(500, 100) == 500 * 102 * 8 + 101 * 8);
    assert_true(op_quantile_bytes(1) >= 2 * 2048 * 8);
    assert_true(op_moments_bytes(10, 0) >= 10 * 7 * 8);
}

static void test_base_on_every_rank(void **state)
{
    (void)state;
    struct memplan m, m0;
    struct memplan_job j = job_of(1000, 2, 2);
    memplan_build(&j, &m0);
    j.base = 5000;
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.total, m0.rank0.total + 5000);
    assert_int_equal(m.worker.total, m0.worker.total + 5000);
}

static void test_resident(void **state)
{
    (void)state;
    struct memplan m;
    struct memplan_job j = job_of(1 << 20, 1, 4);
    uint64_t slot = HDR + (1 << 20), stride = (slot + 63) / 64 * 64;
    memplan_build(&j, &m);      /* point to point: all of it touched */
    assert_int_equal(m.rank0.resident, m.rank0.total);
    assert_int_equal(m.worker.resident, m.worker.total);
    j.shared = 1;               /* the worker reads the 5-slot window */
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.resident, m.rank0.total);
    assert_int_equal(m.worker.resident,
                     m.worker.total - 4 * slot + 5 * stride);
    j.direct = 1;               /* the slots only hold headers and paths */
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.resident, m.rank0.total - 5 * stride + 5 * 4096);
    assert_int_equal(m.worker.resident, m.worker.total - 4 * slot + 4 * 4096);
    j.helps = 1;                /* 6 slots, rank 0 reduces in one of them */
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.resident,
                     m.rank0.total - 6 * stride + 6 * 4096 + stride);
    j.direct = 0;               /* the worker never reads rank 0's own */
    memplan_build(&j, &m);
    assert_int_equal(m.worker.resident,
                     m.worker.total - 4 * slot + 5 * stride);
}

static void test_decode_scratch(void **state)
{
    (void)state;
    struct memplan m;
    struct memplan_job j = job_of(1000, 0, 1);
    j.chunk_bytes = 500;
    j.rank0_decodes = 1;        /* HDF5: stored, inflated, unshuffled */
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.part[MP_SCRATCH], 3 * 500);
    j = job_of(1000, 2, 2);
    j.chunk_bytes = 500;
    j.workers_decode = j.worker_values = 1;   /* values + two chunks */
    memplan_build(&j, &m);
    assert_int_equal(m.worker.part[MP_SCRATCH], 1072 + 2 * 500);
    assert_int_equal(m.rank0.part[MP_SCRATCH], 0);
    j.helps = 1;                /* rank 0 reads its own through HDF5 */
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.part[MP_SCRATCH], 3 * 500);
    /* a values buffer of 1 MiB and more takes whole 2 MiB huge pages */
    j = job_of(1000, 2, 2);
    j.slot_bytes = (1 << 20) + 72;
    j.worker_values = 1;
    memplan_build(&j, &m);
    assert_int_equal(m.worker.part[MP_SCRATCH], 2 << 20);
}

/* group_by on a field: every state per key, a partial holding at most its
 * records' keys; the results one value per key. */
static void test_keyed_states_per_key(void **state)
{
    (void)state;
    struct memplan m;
    struct memplan_job j = job_of(1000, 1, 2);
    j.ncell = j.ncell_all = 500;
    j.moment_outputs = 2;
    j.keyed_keys = 12;
    memplan_build(&j, &m);
    uint64_t n = m.worker.nstates;
    assert_int_equal(m.worker.part[MP_MOMENTS],
                     n * 12 * op_moments_bytes(500, 0));
    assert_int_equal(m.rank0.results, 12 * 500 * 2 * 8);
    assert_int_equal(m.keys, 12);
    /* partitions of 3 records hold at most 3 keys; the accumulator all */
    j.part_records = 3;
    memplan_build(&j, &m);
    assert_int_equal(m.worker.part[MP_MOMENTS],
                     n * 3 * op_moments_bytes(500, 0));
    assert_true(m.rank0.part[MP_MOMENTS] >= 12 * op_moments_bytes(500, 0));
}

static void test_results_at_the_end(void **state)
{
    (void)state;
    struct memplan m;
    struct memplan_job j = job_of(1000, 0, 1);
    j.ncell_all = 1000000;      /* states of one cell: results dominate */
    j.ncol = 2;
    j.moment_outputs = 3;
    memplan_build(&j, &m);
    /* 2 columns x 10^6 cells x 3 outputs x 8 bytes, three times while the
     * in-memory file is built and copied */
    assert_int_equal(m.rank0.results, 48000000);
    assert_int_equal(m.rank0.ending, 3 * 48000000);
    assert_int_equal(m.rank0.total, 3 * 48000000);
    j.ncell_all = 1;
    j.ncell = 1;
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.total, m.rank0.running);
}

static void test_groupby_bounded_by_max_keys(void **state)
{
    (void)state;
    struct memplan m;
    struct memplan_job j = job_of(8000, 0, 1);    /* 1000 records a part */
    j.grouped = 1;
    j.moments = 0;
    memplan_build(&j, &m);
    /* accumulator: every record a key; partial: the partition's */
    assert_int_equal(m.rank0.part[MP_GROUPBY],
                     gb_bytes(100000, 1, 0) + gb_bytes(1000, 1, 0));
    j.max_keys = 10;
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.part[MP_GROUPBY], 2 * gb_bytes(10, 1, 0));
    assert_int_equal(m.keys, 10);
    /* a key holds at least its value, its cell and a hash slot */
    assert_true(gb_bytes(1, 2, 0) >= 8 + 2 * 72 + 16);
    /* string or composite keys: their bytes too, twice and a half */
    j.key_bytes = 24;
    memplan_build(&j, &m);
    assert_int_equal(m.rank0.part[MP_GROUPBY],
                     2 * (gb_bytes(10, 1, 0) + gb_key_extra(10, 24)));
    assert_int_equal(gb_key_extra(10, 24), 600);
    /* counts alone (no value column) still hold one cell per key */
    assert_int_equal(gb_bytes(10, 0, 0), gb_bytes(10, 1, 0));
}

/* err's message after memplan_check, or "" when it passed. */
static const char *checked(const struct memplan_job *j,
                           const struct memlimits *l, struct h5b_error *err)
{
    struct memplan m;
    memplan_build(j, &m);
    err->msg[0] = 0;
    int rc = memplan_check(&m, j, l, err);
    assert_int_equal(rc == 0, err->msg[0] == 0);
    if (rc)
        assert_int_equal(rc, H5B_EINPUT);
    return err->msg;
}

static void test_limit_just_over_and_under(void **state)
{
    (void)state;
    struct h5b_error err;
    struct memplan m;
    struct memplan_job j = job_of(1 << 20, 1, 8);
    struct memlimits l = no_limits();
    memplan_build(&j, &m);
    uint64_t worst = m.rank0.total > m.worker.total ? m.rank0.total
                                                    : m.worker.total;
    l.user = worst;
    assert_string_equal(checked(&j, &l, &err), "");
    l.user = worst - 1;
    const char *msg = checked(&j, &l, &err);
    assert_non_null(strstr(msg, "prefetch"));
    assert_non_null(strstr(msg, "partition_size"));
    assert_non_null(strstr(msg, "[run] memory_limit"));
}

/* Without max_keys the accumulators may hold every record as a key.
 * memplan_key_cap finds the most keys that fit: the plan with that many
 * passes the check, with one more it fails; no cap when every record
 * fits, and none below a partition's records. */
static void test_key_cap_is_the_largest_that_fits(void **state)
{
    (void)state;
    struct h5b_error err;
    struct memplan_job j = job_of(1 << 16, 2, 2);
    struct memlimits l = no_limits();
    j.moments = 0;
    j.grouped = 1;
    j.records = 1 << 24;
    assert_int_equal(memplan_key_cap(&j, &l), 0);   /* no limit */
    struct memplan_job k = j;
    k.max_keys = j.part_records * 8;
    struct memplan m;
    memplan_build(&k, &m);
    l.user = m.rank0.total > m.worker.total ? m.rank0.total : m.worker.total;
    uint64_t cap = memplan_key_cap(&j, &l);
    assert_true(cap >= k.max_keys);
    assert_true(cap < j.records);
    k.max_keys = cap;
    assert_string_equal(checked(&k, &l, &err), "");
    k.max_keys = cap + 1;
    assert_non_null(strstr(checked(&k, &l, &err), "group-by tables"));
    l.user = 1 << 20;           /* not even the partitions' records fit */
    assert_int_equal(memplan_key_cap(&j, &l), 0);
    j.max_keys = 10;            /* the user's figure: no cap of ours */
    l = no_limits();
    assert_int_equal(memplan_key_cap(&j, &l), 0);
}

static void test_node_limits_shared_by_ranks(void **state)
{
    (void)state;
    char what[256];
    struct memlimits l = no_limits();
    l.available = 8 << 20;
    l.node_ranks = 4;
    assert_int_equal(memlimits_rank(&l, what, sizeof what), 2 << 20);
    assert_non_null(strstr(what, "MemAvailable"));
    assert_non_null(strstr(what, "4 ranks"));
    l.slurm_node = 4 << 20;
    assert_int_equal(memlimits_rank(&l, what, sizeof what), 1 << 20);
    assert_non_null(strstr(what, "SLURM_MEM_PER_NODE"));
    l.slurm_cpu = 512 << 10;
    assert_int_equal(memlimits_rank(&l, what, sizeof what), 512 << 10);
    assert_non_null(strstr(what, "SLURM_MEM_PER_CPU"));
    l.rlimit_as = (100 << 20) + (256 << 10);
    l.vm_base = 100 << 20;
    l.rss_base = 10 << 10;      /* counted by the plan, so given back */
    assert_int_equal(memlimits_rank(&l, what, sizeof what), 266 << 10);
    assert_non_null(strstr(what, "RLIMIT_AS"));
    l.cgroup = 1 << 20;
    l.node_ranks = 8;
    assert_int_equal(memlimits_rank(&l, what, sizeof what), 128 << 10);
    l.cgroup = MEMLIMIT_NONE;
    assert_non_null(strstr(what, "cgroup"));
}

static void test_histogram_named(void **state)
{
    (void)state;
    struct h5b_error err;
    struct memplan_job j = job_of(4096, 1, 2);
    struct memlimits l = no_limits();
    j.histogram = 1;
    j.ncell = 10000;
    j.bins = 1000;
    l.user = 64 << 20;
    const char *msg = checked(&j, &l, &err);
    assert_non_null(strstr(msg, "histogram counts"));
    assert_non_null(strstr(msg, "histogram_bins"));
}

static void test_groupby_named(void **state)
{
    (void)state;
    struct h5b_error err;
    struct memplan_job j = job_of(4096, 0, 1);
    struct memlimits l = no_limits();
    j.grouped = 1;
    j.max_keys = 10000000;
    j.records = 100000000;
    l.user = 64 << 20;
    const char *msg = checked(&j, &l, &err);
    assert_non_null(strstr(msg, "group-by tables"));
    assert_non_null(strstr(msg, "max_keys"));
}

static void test_window_against_shm(void **state)
{
    (void)state;
    struct h5b_error err;
    struct memplan m;
    struct memplan_job j = job_of(1 << 20, 1, 4);
    struct memlimits l = no_limits();
    j.shared = 1;
    memplan_build(&j, &m);
    l.shm_free = m.window;
    assert_string_equal(checked(&j, &l, &err), "");
    l.shm_free = m.window - 1;
    const char *msg = checked(&j, &l, &err);
    assert_non_null(strstr(msg, "/dev/shm"));
    assert_non_null(strstr(msg, "shared_memory = off"));
}

static void test_saturates_instead_of_wrapping(void **state)
{
    (void)state;
    struct memplan_job j = job_of(1 << 20, 3, 64);
    j.ncell = j.ncell_all = (uint64_t)1 << 62;  /* a header's claim */
    j.histogram = j.quantiles = 1;
    j.bins = 1000;
    struct memplan m;
    memplan_build(&j, &m);
    assert_true(m.rank0.total == UINT64_MAX);
    assert_true(m.worker.total == UINT64_MAX);
    struct memlimits l = no_limits();
    struct h5b_error err;
    l.available = (uint64_t)1 << 40;
    assert_non_null(strstr(checked(&j, &l, &err), "memory:"));
    j = job_of(1 << 20, 0, 1);
    j.grouped = 1;
    j.records = UINT64_MAX / 2;
    memplan_build(&j, &m);
    assert_true(m.rank0.total == UINT64_MAX);
}

static void test_sizes_for_people(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(memplan_size(512, b, sizeof b), "512 bytes");
    assert_string_equal(memplan_size(1536, b, sizeof b), "1.5 KiB");
    assert_string_equal(memplan_size((uint64_t)64 << 30, b, sizeof b),
                        "64 GiB");
}

static void test_limits_read_hook(void **state)
{
    (void)state;
    struct memlimits l;
    setenv("H5BATCH_TEST_SHM_FREE", "12345", 1);
    setenv("SLURM_MEM_PER_NODE", "3", 1);
    unsetenv("SLURM_MEM_PER_CPU");
    memlimits_read(&l, 777, 2);
    assert_int_equal(l.shm_free, 12345);
    assert_int_equal(l.slurm_node, 3 << 20);
    assert_true(l.slurm_cpu == MEMLIMIT_NONE);
    assert_int_equal(l.user, 777);
    assert_int_equal(l.node_ranks, 2);
    assert_true(l.vm_base > 0);
    unsetenv("H5BATCH_TEST_SHM_FREE");
    unsetenv("SLURM_MEM_PER_NODE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solo_buffers),
        cmocka_unit_test(test_workers_slots_and_window),
        cmocka_unit_test(test_merge_window_bounded_by_partitions),
        cmocka_unit_test(test_states_scale_with_cells_and_columns),
        cmocka_unit_test(test_base_on_every_rank),
        cmocka_unit_test(test_resident),
        cmocka_unit_test(test_decode_scratch),
        cmocka_unit_test(test_results_at_the_end),
        cmocka_unit_test(test_keyed_states_per_key),
        cmocka_unit_test(test_groupby_bounded_by_max_keys),
        cmocka_unit_test(test_limit_just_over_and_under),
        cmocka_unit_test(test_key_cap_is_the_largest_that_fits),
        cmocka_unit_test(test_node_limits_shared_by_ranks),
        cmocka_unit_test(test_histogram_named),
        cmocka_unit_test(test_groupby_named),
        cmocka_unit_test(test_window_against_shm),
        cmocka_unit_test(test_saturates_instead_of_wrapping),
        cmocka_unit_test(test_sizes_for_people),
        cmocka_unit_test(test_limits_read_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
