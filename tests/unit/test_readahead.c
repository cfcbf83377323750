/* test_readahead.c -- unit tests of the reader thread (readahead.h).
 *
 * The read callback writes a closed-form pattern for item i (word k of
 * the buffer holds i * 1000003 + k) and counts its calls, so the consumer
 * can check that every item arrives once, whole and in order, whatever
 * the ring size and whichever side is slower (sleeps of a millisecond
 * make each side outwait the other's spinning and go to sleep).
 */
#define _GNU_SOURCE
#include "unit.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "err.h"
#include "readahead.h"

#define WORDS 512
#define NEVER UINT64_MAX

struct fake {
    uint64_t fail_at;           /* the read of this item fails (or never) */
    long read_sleep_us;         /* per read */
    _Atomic uint64_t reads;     /* calls of read */
    _Atomic int inits;
    pthread_t main_thread;
    _Atomic int init_in_other_thread;
    _Atomic int term_blocked;   /* SIGTERM blocked in every read */
    _Atomic uint64_t drops;     /* calls of drop */
    _Atomic int bad_drop;       /* a dropped buffer did not hold its item */
};

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static int fake_read(void *ctx, uint64_t i, unsigned char *buf,
                     struct h5b_error *err)
{
    struct fake *f = ctx;
    sigset_t set;
    pthread_sigmask(SIG_BLOCK, NULL, &set);
    if (!sigismember(&set, SIGTERM))
        atomic_store(&f->term_blocked, 0);
    atomic_fetch_add(&f->reads, 1);
    if (f->read_sleep_us)
        sleep_us(f->read_sleep_us);
    if (i == f->fail_at)
        return err_set(err, H5B_ERUN, "item %llu: cannot read",
                       (unsigned long long)i);
    uint64_t w[WORDS];
    for (uint64_t k = 0; k < WORDS; k++)
        w[k] = i * 1000003u + k;
    memcpy(buf, w, sizeof w);
    return 0;
}

/* Items read but never got: the buffer must still hold item i. */
static void fake_drop(void *ctx, uint64_t i, unsigned char *buf)
{
    struct fake *f = ctx;
    uint64_t w0;
    memcpy(&w0, buf, sizeof w0);
    if (w0 != i * 1000003u)
        atomic_store(&f->bad_drop, 1);
    atomic_fetch_add(&f->drops, 1);
}

static void fake_init(void *ctx)
{
    struct fake *f = ctx;
    atomic_fetch_add(&f->inits, 1);
    if (!pthread_equal(pthread_self(), f->main_thread))
        atomic_store(&f->init_in_other_thread, 1);
}

static void fake_setup(struct fake *f, struct readahead_ops *ops)
{
    memset(f, 0, sizeof *f);
    f->fail_at = NEVER;
    f->main_thread = pthread_self();
    atomic_store(&f->term_blocked, 1);
    *ops = (struct readahead_ops){fake_read, fake_init, fake_drop, f};
}

/* fake_setup, then start reading first, first + step, ... below last
 * with nbuf buffers; each read takes read_us, the read of item fail_at
 * fails. */
static struct readahead *start_stepped(struct fake *f, uint64_t first,
                                       uint64_t last, uint64_t step, int nbuf,
                                       long read_us, uint64_t fail_at)
{
    struct readahead_ops ops;
    struct readahead *ra;
    struct h5b_error err = {""};
    fake_setup(f, &ops);
    f->read_sleep_us = read_us;
    f->fail_at = fail_at;
    assert_int_equal(readahead_start(&ra, first, last, step, nbuf,
                                     WORDS * sizeof(uint64_t), &ops, &err),
                     0);
    return ra;
}

static struct readahead *start_fake(struct fake *f, uint64_t first,
                                    uint64_t last, int nbuf, long read_us,
                                    uint64_t fail_at)
{
    return start_stepped(f, first, last, 1, nbuf, read_us, fail_at);
}

/* Take items first, first + step, ... below last from ra, sleeping
 * consume_us after each; check each buffer's pattern. */
static void consume_stepped(struct readahead *ra, uint64_t first,
                            uint64_t last, uint64_t step, long consume_us)
{
    for (uint64_t i = first; i < last; i += step) {
        unsigned char *buf;
        double waited = -1;
        struct h5b_error err = {""};
        assert_int_equal(readahead_get(ra, &buf, &waited, &err), 0);
        assert_true(waited >= 0);
        uint64_t w[WORDS];
        memcpy(w, buf, sizeof w);
        for (uint64_t k = 0; k < WORDS; k++)
            assert_int_equal(w[k], i * 1000003u + k);
        if (consume_us)
            sleep_us(consume_us);
        readahead_put(ra);
    }
}

static void consume(struct readahead *ra, uint64_t first, uint64_t last,
                    long consume_us)
{
    consume_stepped(ra, first, last, 1, consume_us);
}

/* Run items [first, last) through a ring of nbuf; every read exactly once,
 * init once in the reader thread, signals blocked there. */
static void check_in_order(uint64_t first, uint64_t last, int nbuf,
                           long read_us, long consume_us)
{
    struct fake f;
    struct readahead *ra = start_fake(&f, first, last, nbuf, read_us, NEVER);
    consume(ra, first, last, consume_us);
    readahead_stop(ra);
    assert_int_equal(atomic_load(&f.reads), last - first);
    assert_int_equal(atomic_load(&f.inits), 1);
    assert_true(atomic_load(&f.init_in_other_thread));
    assert_true(atomic_load(&f.term_blocked));
}

static void test_items_in_order_two_buffers(void **state)
{
    (void)state;
    check_in_order(0, 1000, 2, 0, 0);
}

static void test_items_in_order_from_a_resume_point(void **state)
{
    (void)state;
    check_in_order(37, 300, 3, 0, 0);
}

/* Every other item from 5 (5, 7, ..., 299), and every third from 0 up to
 * a last that is not on the stride. */
static void test_items_on_a_stride(void **state)
{
    (void)state;
    struct fake f;
    struct readahead *ra = start_stepped(&f, 5, 300, 2, 2, 0, NEVER);
    consume_stepped(ra, 5, 300, 2, 0);
    readahead_stop(ra);
    assert_int_equal(atomic_load(&f.reads), 148);
    ra = start_stepped(&f, 0, 100, 3, 3, 0, NEVER);
    consume_stepped(ra, 0, 100, 3, 0);
    readahead_stop(ra);
    assert_int_equal(atomic_load(&f.reads), 34);
    assert_int_equal(atomic_load(&f.drops), 0);
}

/* Stopped early, the items read ahead and never got are dropped, each
 * once with its own buffer; the ones got are not. */
static void test_stop_drops_what_was_read_ahead(void **state)
{
    (void)state;
    struct fake f;
    struct readahead *ra = start_stepped(&f, 1, 1000, 2, 3, 0, NEVER);
    consume_stepped(ra, 1, 7, 2, 0);
    sleep_us(20000);            /* the reader fills the ring meanwhile */
    readahead_stop(ra);
    assert_int_equal(atomic_load(&f.reads), 3 + 3);
    assert_int_equal(atomic_load(&f.drops), 3);
    assert_false(atomic_load(&f.bad_drop));
}

static void test_slow_reader_consumer_sleeps(void **state)
{
    (void)state;
    check_in_order(0, 12, 2, 2000, 0);
}

static void test_slow_consumer_reader_sleeps(void **state)
{
    (void)state;
    check_in_order(5, 17, 2, 0, 2000);
}

static void test_failed_read_reported_in_order_and_last(void **state)
{
    (void)state;
    struct fake f;
    struct readahead *ra = start_fake(&f, 0, 100, 2, 0, 7);
    struct h5b_error err = {""};
    consume(ra, 0, 7, 0);
    unsigned char *buf;
    double waited;
    assert_int_equal(readahead_get(ra, &buf, &waited, &err), H5B_ERUN);
    assert_string_equal(err.msg, "item 7: cannot read");
    readahead_put(ra);
    readahead_stop(ra);
    assert_int_equal(atomic_load(&f.reads), 8);    /* none after the failure */
}

static void test_stop_early_does_not_hang_or_read_on(void **state)
{
    (void)state;
    struct fake f;
    struct readahead *ra = start_fake(&f, 0, 1000000, 3, 0, NEVER);
    consume(ra, 0, 3, 0);
    readahead_stop(ra);
    /* 3 consumed, at most one ring ahead of them */
    assert_true(atomic_load(&f.reads) <= 3 + 3);
}

static void test_stop_before_any_get(void **state)
{
    (void)state;
    struct fake f;
    struct readahead *ra = start_fake(&f, 0, 50, 2, 1000, NEVER);
    readahead_stop(ra);
    assert_true(atomic_load(&f.reads) <= 2);
    readahead_stop(NULL);
}

static void test_empty_range_and_cpu_count(void **state)
{
    (void)state;
    struct fake f;
    struct readahead *ra = start_fake(&f, 4, 4, 2, 0, NEVER);
    readahead_stop(ra);
    assert_int_equal(atomic_load(&f.reads), 0);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    assert_true(readahead_cpus() >= 1);
    assert_true(online < 1 || readahead_cpus() <= online);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_in_order_two_buffers),
        cmocka_unit_test(test_items_in_order_from_a_resume_point),
        cmocka_unit_test(test_items_on_a_stride),
        cmocka_unit_test(test_stop_drops_what_was_read_ahead),
        cmocka_unit_test(test_slow_reader_consumer_sleeps),
        cmocka_unit_test(test_slow_consumer_reader_sleeps),
        cmocka_unit_test(test_failed_read_reported_in_order_and_last),
        cmocka_unit_test(test_stop_early_does_not_hang_or_read_on),
        cmocka_unit_test(test_stop_before_any_get),
        cmocka_unit_test(test_empty_range_and_cpu_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
