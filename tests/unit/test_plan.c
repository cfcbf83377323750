/* test_plan.c -- unit tests of the partition plan.
 *
 * Expectations are closed-form: per_part = target / record_bytes (rounded
 * down to whole chunk rows when chunked, at least one row), partition count
 * = ceil(n / per_part) per file, and the partitions of all files must tile
 * the global record range exactly once, in order.
 */
#define _GNU_SOURCE
#include "unit.h"

#include <malloc.h>
#include <time.h>

#include "err.h"
#include "plan.h"

#define BIG ((uint64_t)1 << 40)     /* a max_bytes that never binds */

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

/* Every partition of p, in index order, must tile every file's records:
 * consecutive starts, no gaps, global_start continuous, no empty or
 * over-long partition.  Returns the number of partitions seen. */
static uint64_t check_tiling(const struct plan *p, const uint64_t *nrec)
{
    uint64_t global = 0, within = 0;
    size_t file = 0;
    for (uint64_t i = 0; i < p->nparts; i++) {
        struct partition part;
        plan_get(p, i, &part);
        while (file < p->nfiles && within == nrec[file]) {
            file++;
            within = 0;
        }
        assert_int_equal(part.index, i);
        assert_int_equal(part.file, file);
        assert_int_equal(part.start, within);
        assert_int_equal(part.global_start, global);
        assert_true(part.count > 0);
        assert_true(part.count <= p->max_part_records);
        assert_true(part.start + part.count <= nrec[file]);
        within += part.count;
        global += part.count;
    }
    while (file < p->nfiles && within == nrec[file]) {
        file++;
        within = 0;
    }
    assert_int_equal(file, p->nfiles);     /* every file fully covered */
    assert_int_equal(global, p->nrec);
    return p->nparts;
}

static void build_ok(struct plan *p, const uint64_t *nrec,
                     const uint64_t *chunk0, size_t nfiles,
                     uint64_t record_bytes, uint64_t target,
                     uint64_t max_bytes)
{
    struct h5b_error err = {""};
    if (plan_build(p, nrec, chunk0, nfiles, record_bytes, target, max_bytes, NULL,
                   &err) != 0)
        fail_msg("plan_build failed: %s", err.msg);
}

static void test_contiguous_partition_count(void **state)
{
    (void)state;
    const uint64_t nrec[] = {1000}, chunk0[] = {0};
    struct plan p;
    build_ok(&p, nrec, chunk0, 1, 24, 1000, BIG);
    /* 1000 / 24 = 41 records per partition; ceil(1000 / 41) = 25. */
    assert_int_equal(p.nparts, 25);
    assert_int_equal(p.nrec, 1000);
    assert_int_equal(p.record_bytes, 24);
    assert_int_equal(p.max_part_records, 41);
    check_tiling(&p, nrec);
    plan_free(&p);
}

static void test_contiguous_every_partition(void **state)
{
    (void)state;
    const uint64_t nrec[] = {1000}, chunk0[] = {0};
    struct plan p;
    build_ok(&p, nrec, chunk0, 1, 24, 1000, BIG);
    for (uint64_t i = 0; i < p.nparts; i++) {
        struct partition part;
        plan_get(&p, i, &part);
        assert_int_equal(part.start, i * 41);
        assert_int_equal(part.count, i < 24 ? 41 : 1000 - 24 * 41);
    }
    plan_free(&p);
}

static void test_contiguous_counts_for_many_targets(void **state)
{
    (void)state;
    const uint64_t nrec[] = {12345}, chunk0[] = {0};
    for (uint64_t target = 1; target < 5000; target += 37) {
        struct plan p;
        build_ok(&p, nrec, chunk0, 1, 8, target, BIG);
        uint64_t per = target / 8 ? target / 8 : 1;
        assert_int_equal(p.nparts, ceil_div(12345, per));
        check_tiling(&p, nrec);
        plan_free(&p);
    }
}

static void test_target_smaller_than_record_gives_one_record(void **state)
{
    (void)state;
    const uint64_t nrec[] = {7}, chunk0[] = {0};
    struct plan p;
    build_ok(&p, nrec, chunk0, 1, 100, 10, BIG);
    assert_int_equal(p.nparts, 7);
    assert_int_equal(p.max_part_records, 1);
    plan_free(&p);
}

/* Every partition boundary except the file end must be a multiple of
 * chunk0. */
static void check_chunk_aligned(const struct plan *p, uint64_t nrec,
                                uint64_t chunk0)
{
    for (uint64_t i = 0; i < p->nparts; i++) {
        struct partition part;
        plan_get(p, i, &part);
        uint64_t end = part.start + part.count;
        assert_int_equal(part.start % chunk0, 0);
        if (end != nrec)
            assert_int_equal(end % chunk0, 0);
    }
}

static void test_chunked_boundaries_on_chunk_rows(void **state)
{
    (void)state;
    const uint64_t nrec[] = {1000}, chunk0[] = {16};
    struct plan p;
    build_ok(&p, nrec, chunk0, 1, 8, 1000, BIG);
    /* 1000 / 8 = 125 records wanted: 7 whole rows of 16 = 112. */
    assert_int_equal(p.max_part_records, 112);
    assert_int_equal(p.nparts, ceil_div(1000, 112));
    check_chunk_aligned(&p, 1000, 16);
    check_tiling(&p, nrec);
    plan_free(&p);
}

static void test_chunked_many_shapes_stay_aligned(void **state)
{
    (void)state;
    for (uint64_t c = 1; c < 300; c += 13) {
        for (uint64_t target = 64; target < 20000; target += 997) {
            const uint64_t nrec[] = {5000}, chunk0[] = {c};
            struct plan p;
            build_ok(&p, nrec, chunk0, 1, 16, target, BIG);
            uint64_t rows = target / 16 / c ? target / 16 / c : 1;
            assert_int_equal(p.max_part_records,
                             rows * c < 5000 ? rows * c : 5000);
            check_chunk_aligned(&p, 5000, c);
            check_tiling(&p, nrec);
            plan_free(&p);
        }
    }
}

static void test_chunk_larger_than_target_one_row_each(void **state)
{
    (void)state;
    const uint64_t nrec[] = {1000}, chunk0[] = {200};
    struct plan p;
    build_ok(&p, nrec, chunk0, 1, 8, 1000, BIG);     /* wants 125 < 200 */
    assert_int_equal(p.nparts, 5);
    for (uint64_t i = 0; i < p.nparts; i++) {
        struct partition part;
        plan_get(&p, i, &part);
        assert_int_equal(part.start, i * 200);
        assert_int_equal(part.count, 200);
    }
    plan_free(&p);
}

static void test_max_bytes_caps_chunked_partitions(void **state)
{
    (void)state;
    const uint64_t nrec[] = {1000}, chunk0[] = {16};
    struct plan p;
    build_ok(&p, nrec, chunk0, 1, 8, 1 << 20, 800);  /* cap 100 records */
    assert_int_equal(p.max_part_records, 96);         /* 6 rows of 16 */
    check_chunk_aligned(&p, 1000, 16);
    check_tiling(&p, nrec);
    plan_free(&p);
}

static void test_chunk_row_over_max_bytes_still_fits(void **state)
{
    (void)state;
    const uint64_t nrec[] = {1000}, chunk0[] = {200};
    struct plan p;
    build_ok(&p, nrec, chunk0, 1, 8, 1 << 20, 800);
    assert_true(p.max_part_records * 8 <= 800);
    check_tiling(&p, nrec);
    plan_free(&p);
}

static void test_empty_files_everywhere(void **state)
{
    (void)state;
    const uint64_t nrec[] = {0, 10, 0, 0, 7, 0, 1, 0};
    const uint64_t chunk0[] = {0, 0, 4, 0, 0, 3, 0, 0};
    struct plan p;
    build_ok(&p, nrec, chunk0, 8, 8, 24, BIG);        /* 3 records each */
    /* ceil(10/3) + ceil(7/3) + ceil(1/3) = 4 + 3 + 1. */
    assert_int_equal(p.nparts, 8);
    assert_int_equal(p.nrec, 18);
    assert_int_equal(check_tiling(&p, nrec), 8);
    plan_free(&p);
}

static void test_files_of_each_partition(void **state)
{
    (void)state;
    const uint64_t nrec[] = {0, 10, 0, 0, 7, 0, 1, 0};
    const uint64_t chunk0[8] = {0};
    const size_t want_file[] = {1, 1, 1, 1, 4, 4, 4, 6};
    const uint64_t want_start[] = {0, 3, 6, 9, 0, 3, 6, 0};
    const uint64_t want_count[] = {3, 3, 3, 1, 3, 3, 1, 1};
    const uint64_t want_global[] = {0, 3, 6, 9, 10, 13, 16, 17};
    struct plan p;
    build_ok(&p, nrec, chunk0, 8, 8, 24, BIG);
    for (uint64_t i = 0; i < 8; i++) {
        struct partition part;
        plan_get(&p, i, &part);
        assert_int_equal(part.file, want_file[i]);
        assert_int_equal(part.start, want_start[i]);
        assert_int_equal(part.count, want_count[i]);
        assert_int_equal(part.global_start, want_global[i]);
    }
    plan_free(&p);
}

static void test_all_files_empty(void **state)
{
    (void)state;
    const uint64_t nrec[] = {0, 0, 0}, chunk0[] = {0, 8, 0};
    struct plan p;
    build_ok(&p, nrec, chunk0, 3, 8, 1024, BIG);
    assert_int_equal(p.nparts, 0);
    assert_int_equal(p.nrec, 0);
    assert_int_equal(p.max_part_records, 0);
    plan_free(&p);
}

static void test_no_files(void **state)
{
    (void)state;
    struct plan p;
    build_ok(&p, NULL, NULL, 0, 8, 1024, BIG);
    assert_int_equal(p.nparts, 0);
    plan_free(&p);
}

static void test_many_files_random_sizes(void **state)
{
    (void)state;
    uint64_t nrec[200], chunk0[200], x = 12345, want = 0;
    for (size_t i = 0; i < 200; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        nrec[i] = (x >> 33) % 4 == 0 ? 0 : (x >> 40) % 500;
        chunk0[i] = (x >> 20) % 3 == 0 ? 0 : 1 + (x >> 50) % 40;
        uint64_t per = 30 / (chunk0[i] ? chunk0[i] : 1);
        per = chunk0[i] ? (per ? per : 1) * chunk0[i] : 30;
        want += nrec[i] ? ceil_div(nrec[i], per) : 0;
    }
    struct plan p;
    build_ok(&p, nrec, chunk0, 200, 4, 120, BIG);   /* 30 records wanted */
    assert_int_equal(p.nparts, want);
    check_tiling(&p, nrec);
    plan_free(&p);
}

static void test_record_larger_than_max_bytes(void **state)
{
    (void)state;
    const uint64_t nrec[] = {10}, chunk0[] = {0};
    struct plan p;
    struct h5b_error err = {""};
    assert_int_equal(plan_build(&p, nrec, chunk0, 1, 1001, 4096, 1000, NULL, &err),
                     H5B_EINPUT);
    assert_contains(err.msg, "1001");
    assert_contains(err.msg, "1000");
    assert_null(p.file);
    assert_int_equal(p.nparts, 0);
}

static void test_record_of_exactly_max_bytes(void **state)
{
    (void)state;
    const uint64_t nrec[] = {10}, chunk0[] = {4};
    struct plan p;
    build_ok(&p, nrec, chunk0, 1, 1000, 1 << 20, 1000);
    assert_int_equal(p.nparts, 10);
    check_tiling(&p, nrec);
    plan_free(&p);
}

static void test_get_order_does_not_matter(void **state)
{
    (void)state;
    const uint64_t nrec[] = {50, 0, 33, 0, 71}, chunk0[] = {4, 0, 0, 9, 5};
    struct plan p;
    struct partition fwd[64], part;
    build_ok(&p, nrec, chunk0, 5, 8, 64, BIG);
    assert_true(p.nparts <= 64);
    for (uint64_t i = 0; i < p.nparts; i++)
        plan_get(&p, i, &fwd[i]);
    for (uint64_t i = p.nparts; i-- > 0;) {
        plan_get(&p, i, &part);
        assert_memory_equal(&part, &fwd[i], sizeof part);
    }
    for (uint64_t k = 0; k < 10 * p.nparts; k++) {
        uint64_t i = (k * 7919 + 13) % p.nparts;
        plan_get(&p, i, &part);
        assert_memory_equal(&part, &fwd[i], sizeof part);
    }
    plan_free(&p);
}

static void test_built_twice_is_identical(void **state)
{
    (void)state;
    const uint64_t nrec[] = {50, 0, 33, 0, 71}, chunk0[] = {4, 0, 0, 9, 5};
    struct plan a, b;
    build_ok(&a, nrec, chunk0, 5, 8, 64, BIG);
    build_ok(&b, nrec, chunk0, 5, 8, 64, BIG);
    assert_int_equal(a.nfiles, b.nfiles);
    assert_int_equal(a.nparts, b.nparts);
    assert_int_equal(a.nrec, b.nrec);
    assert_int_equal(a.max_part_records, b.max_part_records);
    assert_memory_equal(a.file, b.file, a.nfiles * sizeof *a.file);
    for (uint64_t i = 0; i < a.nparts; i++) {
        struct partition pa, pb;
        plan_get(&a, i, &pa);
        plan_get(&b, i, &pb);
        assert_memory_equal(&pa, &pb, sizeof pa);
    }
    plan_free(&a);
    plan_free(&b);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_ten_million_partitions_cost_nothing(void **state)
{
    (void)state;
    const uint64_t nrec[] = {3333333, 3333333, 3333334}, chunk0[] = {0, 0, 0};
    struct plan p;
    struct partition last, mid;
    struct mallinfo2 before = mallinfo2();
    double t0 = now();
    build_ok(&p, nrec, chunk0, 3, 8, 8, BIG);       /* one record each */
    double t1 = now();
    struct mallinfo2 after = mallinfo2();
    assert_int_equal(p.nparts, 10000000);
    /* O(files): the heap grows by a few records, not by the partitions.
     * (Under ASan mallinfo2 reports nothing and this holds trivially.) */
    assert_true((long long)after.uordblks - (long long)before.uordblks <
                4096);
    assert_true(t1 - t0 < 0.01);
    plan_get(&p, 9999999, &last);
    assert_int_equal(last.file, 2);
    assert_int_equal(last.start, 3333333);
    assert_int_equal(last.count, 1);
    assert_int_equal(last.global_start, 9999999);
    plan_get(&p, 5000000, &mid);
    assert_int_equal(mid.file, 1);
    assert_int_equal(mid.start, 5000000 - 3333333);
    plan_free(&p);
}

static void test_large_chunked_plan_last_partition(void **state)
{
    (void)state;
    /* 2^40 records of 4 bytes, chunks of 1000 rows, 1 MiB target:
     * 262144 records wanted, 262 rows = 262000 per partition. */
    const uint64_t n = (uint64_t)1 << 40;
    const uint64_t nrec[] = {n, 0, n}, chunk0[] = {1000, 0, 1000};
    struct plan p;
    struct partition last;
    build_ok(&p, nrec, chunk0, 3, 4, 1 << 20, BIG);
    uint64_t per_file = ceil_div(n, 262000);
    assert_int_equal(p.nparts, 2 * per_file);
    plan_get(&p, p.nparts - 1, &last);
    assert_int_equal(last.file, 2);
    assert_int_equal(last.start, (per_file - 1) * 262000);
    assert_int_equal(last.count, n - (per_file - 1) * 262000);
    assert_int_equal(last.global_start, n + last.start);
    plan_free(&p);
}

/* A selection along dim 0: every partition lies within its file's
 * selected records, starts (file-local) at first + pos * stride, covers
 * them once in order; with stride 1 and chunking, every partition
 * boundary that is not the selection's own start or end is on a chunk
 * row; the partition count is closed-form: ceil((lead + n) / per_part)
 * with lead = first mod chunk0. */
static void test_selection_covers_and_aligns(void **state)
{
    (void)state;
    const uint64_t chunk0[] = {4, 0, 5};
    for (uint64_t stride = 1; stride <= 3; stride++)
        for (uint64_t f0 = 0; f0 < 9; f0++) {
            const uint64_t first[] = {f0, f0 / 2, 0};
            const uint64_t nrec[] = {11, 6, 13 - f0};
            struct plan_select sel = {first, stride};
            struct plan p;
            struct h5b_error err = {""};
            /* 8 records (of 8 bytes) per partition: two chunk rows of 4 */
            if (plan_build_sel(&p, nrec, chunk0, 3, 8, 64, BIG, NULL, &sel,
                               &err) != 0)
                fail_msg("plan_build_sel failed: %s", err.msg);
            assert_int_equal(p.stride, stride);
            uint64_t global = 0, want_parts = 0;
            for (size_t f = 0; f < 3; f++) {
                uint64_t lead = stride == 1 && chunk0[f] ? first[f] % chunk0[f]
                                                          : 0;
                uint64_t pp = chunk0[f] == 5 ? 5 : 8;
                want_parts += nrec[f] ? (lead + nrec[f] + pp - 1) / pp : 0;
            }
            assert_int_equal(p.nparts, want_parts);
            uint64_t pos[3] = {0, 0, 0};
            for (uint64_t i = 0; i < p.nparts; i++) {
                struct partition part;
                plan_get(&p, i, &part);
                size_t f = part.file;
                assert_true(part.count > 0);
                assert_int_equal(part.start, first[f] + pos[f] * stride);
                assert_int_equal(part.global_start, global);
                uint64_t end = part.start + (part.count - 1) * stride + 1;
                if (stride == 1 && chunk0[f] && pos[f] + part.count < nrec[f])
                    assert_int_equal(end % chunk0[f], 0);
                pos[f] += part.count;
                global += part.count;
            }
            for (size_t f = 0; f < 3; f++)
                assert_int_equal(pos[f], nrec[f]);
            assert_int_equal(global, p.nrec);
            plan_free(&p);
        }
}

/* Tiles of records that carry tail bytes (group_by keys): every tile
 * holds its columns' values plus the whole tail, in closed form; without
 * a tail the same plan splits the values alone. */
static void test_tiles_carry_the_tail(void **state)
{
    (void)state;
    struct plan p;
    struct h5b_error err = {""};
    uint64_t nrec[] = {1000}, chunk0[] = {0};
    /* records of 10 columns x 8 values x 8 bytes, and an 8-byte key */
    struct plan_tiling tiling = {10, 0, 8};
    assert_int_equal(plan_build(&p, nrec, chunk0, 1, 648, 8192, 1 << 20,
                                &tiling, &err), 0);
    assert_true(p.ntiles > 1);
    assert_int_equal(p.tail_bytes, 8);
    for (uint64_t i = 0; i < p.nparts; i++) {
        struct partition part;
        plan_get(&p, i, &part);
        assert_int_equal(part.bytes, part.count * (64 * part.ncols + 8));
        assert_true(part.bytes <= p.max_part_bytes);
    }
    plan_free(&p);
    tiling.tail_bytes = 648;
    assert_int_equal(plan_build(&p, nrec, chunk0, 1, 648, 8192, 1 << 20,
                                &tiling, &err), H5B_ERUN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contiguous_partition_count),
        cmocka_unit_test(test_contiguous_every_partition),
        cmocka_unit_test(test_contiguous_counts_for_many_targets),
        cmocka_unit_test(test_target_smaller_than_record_gives_one_record),
        cmocka_unit_test(test_chunked_boundaries_on_chunk_rows),
        cmocka_unit_test(test_chunked_many_shapes_stay_aligned),
        cmocka_unit_test(test_chunk_larger_than_target_one_row_each),
        cmocka_unit_test(test_max_bytes_caps_chunked_partitions),
        cmocka_unit_test(test_chunk_row_over_max_bytes_still_fits),
        cmocka_unit_test(test_empty_files_everywhere),
        cmocka_unit_test(test_files_of_each_partition),
        cmocka_unit_test(test_all_files_empty),
        cmocka_unit_test(test_no_files),
        cmocka_unit_test(test_many_files_random_sizes),
        cmocka_unit_test(test_record_larger_than_max_bytes),
        cmocka_unit_test(test_record_of_exactly_max_bytes),
        cmocka_unit_test(test_get_order_does_not_matter),
        cmocka_unit_test(test_built_twice_is_identical),
        cmocka_unit_test(test_ten_million_partitions_cost_nothing),
        cmocka_unit_test(test_large_chunked_plan_last_partition),
        cmocka_unit_test(test_selection_covers_and_aligns),
        cmocka_unit_test(test_tiles_carry_the_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
