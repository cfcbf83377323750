/* test_hugepage.c -- unit tests of the huge page advice (hugepage.h).
 *
 * What is advised is the arithmetic of 2 MiB-aligned blocks inside a
 * range, checked on an mmap()ed region placed at a known alignment; the
 * allocators must keep contents as malloc/realloc would, on both sides of
 * HUGEPAGE_BYTES.  Whether the kernel backs them by huge pages is its
 * business and not asserted (the advice may be refused where THP is off).
 */
#define _GNU_SOURCE
#include "unit.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "hugepage.h"

#define HP HUGEPAGE_BYTES

/* A mapping with room for 4 huge pages from *base, aligned to HP. */
static void *map_aligned(unsigned char **base, size_t *len)
{
    *len = 6 * HP;
    void *m = mmap(NULL, *len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    uintptr_t a = ((uintptr_t)m + HP - 1) & ~(uintptr_t)(HP - 1);
    *base = (unsigned char *)a;
    return m;
}

static void advises_whole_aligned_blocks(void **state)
{
    (void)state;
    unsigned char *b;
    size_t len;
    void *m = map_aligned(&b, &len);
    size_t thp = hugepage_advise(b, 4 * HP);
    /* refused only where the kernel has no THP: then nothing at all */
    assert_true(thp == 4 * HP || thp == 0);
    if (thp) {
        assert_int_equal(hugepage_advise(b + 16, 4 * HP - 16), 3 * HP);
        assert_int_equal(hugepage_advise(b + 16, 3 * HP), 2 * HP);
        assert_int_equal(hugepage_advise(b, HP), HP);
    }
    assert_int_equal(hugepage_advise(b + 16, HP), 0);
    assert_int_equal(hugepage_advise(b, HP - 1), 0);
    assert_int_equal(hugepage_advise(NULL, 4 * HP), 0);
    assert_int_equal(hugepage_advise(b, 0), 0);
    munmap(m, len);
}

/* Fill n bytes at p with a pattern of seed. */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 31 + seed);
}

static int same(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 31 + seed))
            return 0;
    return 1;
}

static void reallocs_keep_contents(void **state)
{
    (void)state;
    /* small to small, small to big, big to bigger, big to small */
    size_t sizes[] = {1000, 3000, 3 * HP + 5, 5 * HP, 100, 0, 4 * HP};
    unsigned char *p = hugepage_alloc(100);
    size_t have = 100;
    assert_non_null(p);
    fill(p, have, 7);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t keep = have < sizes[k] ? have : sizes[k];
        p = hugepage_realloc(p, have, sizes[k]);
        assert_non_null(p);
        assert_true(same(p, keep, 7));
        fill(p, sizes[k], 7);
        have = sizes[k];
    }
    free(p);
    p = hugepage_realloc(NULL, 0, 3 * HP);
    assert_non_null(p);
    free(p);
}

static void zalloc_is_zero(void **state)
{
    (void)state;
    size_t n = 2 * HP + 77;
    unsigned char *p = hugepage_zalloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i += 4093)
        assert_int_equal(p[i], 0);
    assert_int_equal(p[n - 1], 0);
    free(p);
}

/* A block of 2 MiB or more starts on a huge page boundary (so two 1 MiB
 * buffers in it share one huge page); a smaller one is plain memory. */
static void blocks_are_aligned(void **state)
{
    (void)state;
    unsigned char *p = hugepage_block(2 * HP);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % HP, 0);
    fill(p, 2 * HP, 3);
    assert_true(same(p, 2 * HP, 3));
    free(p);
    p = hugepage_block(HP + 100);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % HP, 0);
    free(p);
    p = hugepage_block(100);
    assert_non_null(p);
    fill(p, 100, 5);
    free(p);
    free(hugepage_block(0));
}

/* A buffer of half a huge page or more gets a whole one (or more, whole);
 * a smaller one only its bytes. */
static void buffers_round_to_huge_pages(void **state)
{
    (void)state;
    size_t cap = 0;
    unsigned char *p = hugepage_buffer(HP / 2 + 72, &cap);
    assert_non_null(p);
    assert_int_equal(cap, HP);
    assert_int_equal((uintptr_t)p % HP, 0);
    fill(p, cap, 9);
    free(p);
    free(hugepage_buffer(HP + 1, &cap));
    assert_int_equal(cap, 2 * HP);
    free(hugepage_buffer(HP / 2 - 1, &cap));
    assert_int_equal(cap, HP / 2 - 1);
    free(hugepage_buffer(4096, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(advises_whole_aligned_blocks),
        cmocka_unit_test(reallocs_keep_contents),
        cmocka_unit_test(zalloc_is_zero),
        cmocka_unit_test(blocks_are_aligned),
        cmocka_unit_test(buffers_round_to_huge_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
