/* xs_kernel.c -- `make bench-xsum`: the exact-sum kernel alone, ns a value.
 *
 * 2^24 float64 values (128 MiB, past the caches as a real partition
 * stream is) of two kinds: standard normal (Box-Muller over an LCG) and
 * the values of issue 21 (1e9 + uniform[-1e3, 1e3], every seventh
 * negated).  Times xs_add_f64s_skipnan (Σx and Σx² exact, the path a
 * one-cell float64 moments reduction takes) over all of them, REPS times
 * (argv[1], default 5), and over the first 1 MiB again and again (a
 * partition in the cache, as a run reduces it), and the fold kernel of
 * xfold.c alone at each vector level the CPU runs, and prints each
 * round's ns a value and the sum (the same bits on every path); the
 * kernel alone runs over the planned runs back to back, from memory like
 * the rest.  Times are the thread's CPU time (the machine is shared).
 * One process, no MPI, no file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "exactsum.h"
#include "xfold.h"

#define N (1u << 24)
/* A partition of the default 1 MiB, which a run reduces while it is
 * still in the cache the read filled. */
#define PART (1u << 17)

/* CPU time of this thread: the machine is shared, and the kernel's own
 * cost is what is compared. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t lcg = 12345;

static double uniform(void)
{
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((double)(lcg >> 11) + 0.5) * 0x1p-53;
}

static void fill(double *x, int issue)
{
    for (size_t i = 0; i < N; i += 2) {
        if (issue) {
            x[i] = 1e9 + (2 * uniform() - 1) * 1e3;
            x[i + 1] = 1e9 + (2 * uniform() - 1) * 1e3;
            continue;
        }
        double r = sqrt(-2 * log(uniform())), t = 2 * M_PI * uniform();
        x[i] = r * cos(t);
        x[i + 1] = r * sin(t);
    }
    for (size_t i = 0; issue && i < N; i += 7)
        x[i] = -x[i];
}

/* The plans of the runs of XF_RUN values at x (from their exponent
 * range, as the caller's scan finds it); returns how many qualify (they
 * come first in p, with their run's index in at). */
static size_t plan_runs(const double *x, struct xf_plan *p, size_t *at)
{
    size_t n = 0;
    for (size_t i = 0; i < N; i += XF_RUN) {
        unsigned lo = 2047, hi = 0;
        for (size_t j = i; j < i + XF_RUN; j++) {
            int e = ilogb(x[j]) + 1023;
            lo = x[j] != 0 && (unsigned)e < lo ? (unsigned)e : lo;
            hi = (unsigned)e > hi ? (unsigned)e : hi;
        }
        if (xf_plan(&p[n], lo, hi))
            at[n++] = i;
    }
    return n;
}

/* The fold kernel alone over the planned runs; seconds. */
static double kernel_only(const double *x, int level, const struct xf_plan *p,
                          const size_t *at, size_t n, double *sink)
{
    double t0 = now();
    for (size_t r = 0; r < n; r++) {
        double ds[XF_SUM_FOLDS], dq[XF_SQ_FOLDS];
        xf_run_at(level, &p[r], x + at[r], XF_RUN, ds, dq);
        *sink += ds[0];
    }
    return now() - t0;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    double *x = malloc(N * sizeof *x);
    static struct exactsum a;
    static struct xs_large L;
    static struct xf_plan plans[N / XF_RUN];
    static size_t at[N / XF_RUN];
    if (!x)
        return 1;
    for (int issue = 0; issue < 2; issue++) {
        const char *name = issue ? "issue 1e9+-1e3" : "standard normal";
        fill(x, issue);
        for (int r = 0; r < reps; r++) {
            xs_clear(&a);
            double t0 = now();
            xs_add_f64s_skipnan(&a, &L, x, N);
            double t = now() - t0;
            printf("%s: xs_add_f64s_skipnan %.3f ns/value (sum %.17g)\n",
                   name, 1e9 * t / N, xs_sum(&a));
        }
        for (int r = 0; r < reps; r++) {
            xs_clear(&a);
            double t0 = now();
            for (size_t i = 0; i < N; i += PART)
                xs_add_f64s_skipnan(&a, &L, x, PART);
            double t = now() - t0;
            printf("%s: xs_add_f64s_skipnan, 1 MiB in cache %.3f ns/value\n",
                   name, 1e9 * t / N);
        }
        size_t np = plan_runs(x, plans, at);
        for (int level = 1; level <= xf_level(); level++)
            for (int r = 0; r < reps; r++) {
                double sink = 0;
                double t = kernel_only(x, level, plans, at, np, &sink);
                printf("%s: fold kernel level %d %.3f ns/value "
                       "(%zu runs of %d not qualifying)\n", name, level,
                       np ? 1e9 * t / ((double)np * XF_RUN) : 0.0,
                       N / XF_RUN - np, XF_RUN);
            }
    }
    free(x);
    return 0;
}
