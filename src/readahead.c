/* readahead.c -- a reader thread and a ring of buffers (see readahead.h).
 *
 * Slot s holds the k-th item (item first + k * step) when k % nbuf == s.  The reader fills slots in item
 * order and waits while the next one is still the consumer's; the
 * consumer takes them in the same order.  A slot's state is atomic; the
 * bytes of a slot belong to whoever the state says (release on store,
 * acquire on load).  A partition takes some 50 us to read, about what
 * waking a sleeping thread costs, so a waiter first spins for a while and
 * only then sleeps on the condition variable; whoever changes a state
 * wakes the sleepers, if any (counted under the mutex, which a sleeper
 * holds from its last look at the state until it sleeps).  The reader
 * thread blocks the signals, so SIGTERM and SIGINT reach the thread that
 * checks for them between partitions.
 */
#define _GNU_SOURCE         /* sched_getaffinity, CPU_COUNT */
#include "readahead.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hugepage.h"
#include "progress.h"

enum slot_state { SLOT_FREE, SLOT_READING, SLOT_FULL };

/* Spins before sleeping: about 50-100 us. */
#define SPINS 4096

struct slot {
    _Atomic int state;      /* enum slot_state */
    int rc;
    struct h5b_error err;
    unsigned char *buf;
};

struct readahead {
    struct readahead_ops ops;
    uint64_t first, last, step;
    uint64_t next_get;      /* the consumer's next item, counted from 0 */
    int nbuf;
    _Atomic int stop;
    int sleepers;           /* threads in pthread_cond_wait (under mu) */
    struct slot *slot;
    unsigned char *block;   /* every slot's buffer, one after another */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
};

int readahead_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Wait until s is in state want, or (stoppable) ra is stopped; 1 if the
 * state was reached. */
static int wait_state(struct readahead *ra, struct slot *s, int want,
                      int stoppable)
{
    for (int i = 0; i < SPINS; i++) {
        if (atomic_load_explicit(&s->state, memory_order_acquire) == want)
            return 1;
        if (stoppable && atomic_load(&ra->stop))
            return 0;
        cpu_relax();
    }
    pthread_mutex_lock(&ra->mu);
    ra->sleepers++;
    while (atomic_load_explicit(&s->state, memory_order_acquire) != want &&
           !(stoppable && atomic_load(&ra->stop)))
        pthread_cond_wait(&ra->cv, &ra->mu);
    ra->sleepers--;
    pthread_mutex_unlock(&ra->mu);
    return atomic_load_explicit(&s->state, memory_order_acquire) == want;
}

/* Put s into state v and wake the sleepers. */
static void set_state(struct readahead *ra, struct slot *s, int v)
{
    atomic_store_explicit(&s->state, v, memory_order_release);
    pthread_mutex_lock(&ra->mu);
    if (ra->sleepers)
        pthread_cond_broadcast(&ra->cv);
    pthread_mutex_unlock(&ra->mu);
}

/* The reader: items in order until the last, a failed read, or stop. */
static void *reader_main(void *arg)
{
    struct readahead *ra = arg;
    if (ra->ops.thread_init)
        ra->ops.thread_init(ra->ops.ctx);
    uint64_t k = 0;
    for (uint64_t i = ra->first; i < ra->last; i += ra->step, k++) {
        struct slot *s = &ra->slot[k % (uint64_t)ra->nbuf];
        if (!wait_state(ra, s, SLOT_FREE, 1))
            break;
        atomic_store_explicit(&s->state, SLOT_READING, memory_order_relaxed);
        s->rc = ra->ops.read(ra->ops.ctx, i, s->buf, &s->err);
        set_state(ra, s, SLOT_FULL);
        if (s->rc < 0)
            break;
    }
    return NULL;
}

/* Free ra and its buffers (the thread is not running). */
static void ra_free(struct readahead *ra)
{
    free(ra->block);
    free(ra->slot);
    pthread_cond_destroy(&ra->cv);
    pthread_mutex_destroy(&ra->mu);
    free(ra);
}

/* Start the thread with every signal blocked in it. */
static int ra_spawn(struct readahead *ra)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&ra->thread, NULL, reader_main, ra);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int readahead_start(struct readahead **out, uint64_t first, uint64_t last,
                    uint64_t step, int nbuf, size_t bytes,
                    const struct readahead_ops *ops, struct h5b_error *err)
{
    *out = NULL;
    struct readahead *ra = calloc(1, sizeof *ra);
    if (!ra)
        return err_set(err, H5B_ERUN, "out of memory for read-ahead");
    ra->ops = *ops;
    ra->first = first;
    ra->last = last;
    ra->step = step ? step : 1;
    ra->nbuf = nbuf < 2 ? 2 : nbuf;
    pthread_mutex_init(&ra->mu, NULL);
    pthread_cond_init(&ra->cv, NULL);
    ra->slot = calloc((size_t)ra->nbuf, sizeof *ra->slot);
    size_t stride = bytes ? (bytes + 63) & ~(size_t)63 : 64;
    int ok = ra->slot != NULL && stride <= SIZE_MAX / (size_t)ra->nbuf &&
             (ra->block = hugepage_block(stride * (size_t)ra->nbuf));
    for (int s = 0; ok && s < ra->nbuf; s++)
        ra->slot[s].buf = ra->block + (size_t)s * stride;
    if (!ok) {
        ra_free(ra);
        return err_set(err, H5B_ERUN, "out of memory for %d read-ahead "
                       "buffers of %zu bytes", nbuf, bytes);
    }
    if (ra_spawn(ra) != 0) {
        ra_free(ra);
        return err_set(err, H5B_ERUN, "cannot start the reader thread");
    }
    *out = ra;
    return 0;
}

int readahead_get(struct readahead *ra, unsigned char **buf, double *waited,
                  struct h5b_error *err)
{
    struct slot *s = &ra->slot[ra->next_get % (uint64_t)ra->nbuf];
    double t0 = progress_clock();
    wait_state(ra, s, SLOT_FULL, 0);
    *waited = progress_clock() - t0;
    *buf = s->buf;
    if (s->rc < 0 && err)
        memcpy(err, &s->err, sizeof *err);
    return s->rc;
}

void readahead_put(struct readahead *ra)
{
    struct slot *s = &ra->slot[ra->next_get % (uint64_t)ra->nbuf];
    ra->next_get++;
    set_state(ra, s, SLOT_FREE);
}

void readahead_stop(struct readahead *ra)
{
    if (!ra)
        return;
    atomic_store(&ra->stop, 1);
    pthread_mutex_lock(&ra->mu);
    pthread_cond_broadcast(&ra->cv);
    pthread_mutex_unlock(&ra->mu);
    pthread_join(ra->thread, NULL);
    /* Items read ahead are in the slots after the consumer's next. */
    for (uint64_t k = ra->next_get; ra->ops.drop &&
                                    k < ra->next_get + (uint64_t)ra->nbuf;
         k++) {
        struct slot *s = &ra->slot[k % (uint64_t)ra->nbuf];
        if (atomic_load(&s->state) != SLOT_FULL || s->rc < 0)
            break;
        ra->ops.drop(ra->ops.ctx, ra->first + k * ra->step, s->buf);
        atomic_store(&s->state, SLOT_FREE);
    }
    ra_free(ra);
}
