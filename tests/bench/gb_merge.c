/* gb_merge.c -- `make bench-gbmerge`: rank 0's group-by merge alone.
 *
 * 92 partials of 32768 records each over 1 million int64 keys (the shape
 * of `make bench-groupby`'s partitions: 1 MiB of 32-byte rows), 3 float64
 * columns, ops count mean std, each reduced by gb_update as a worker
 * would; then timed: merging them in order into one accumulator
 * (gb_merge, as the master does).  One process, no MPI, no HDF5 file:
 * the merge's own cost, without the read or the results file.  Prints
 * the seconds of each of REPS rounds (argv[1], default 5). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "groupby.h"

#define KEYS 1000000
#define PER 32768
#define NPART 92

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "gb_merge: %s: %s\n", what, msg);
    exit(1);
}

/* The NPART partials, each from its own PER records of an LCG. */
static void make_partials(const struct gb_config *c, struct gb_partial **p)
{
    static int64_t k[PER];
    static double v[3][PER];
    const void *vv[3] = {v[0], v[1], v[2]};
    struct h5b_error err = {""};
    uint64_t s = 7;
    for (int n = 0; n < NPART; n++) {
        for (int i = 0; i < PER; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            k[i] = (int64_t)((s >> 20) % KEYS);
            for (int j = 0; j < 3; j++)
                v[j][i] = (double)(s >> 11) * 0x1p-53 + j;
        }
        if (gb_create(c, &p[n], &err) || gb_update(p[n], k, vv, PER, &err))
            die("reducing a partition", err.msg);
    }
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    h5b_type ty[3] = {H5B_FLOAT64, H5B_FLOAT64, H5B_FLOAT64};
    const char *outs[] = {"count", "mean", "std", NULL};
    struct gb_config c = {.ncol = 3, .type = ty, .elems = 1, .outputs = outs};
    struct h5b_error err = {""};
    for (int r = 0; r < reps; r++) {
        struct gb_partial *p[NPART], *acc = NULL;
        make_partials(&c, p);
        if (gb_create(&c, &acc, &err))
            die("gb_create", err.msg);
        double t0 = now();
        for (int n = 0; n < NPART; n++)
            if (gb_merge(acc, p[n], &err) != 0)
                die("merging", err.msg);
        unsigned long long keys = (unsigned long long)gb_nkeys(acc);
        printf("%d partials of %d records -> %llu keys merged in %.3f s\n",
               NPART, PER, keys, now() - t0);
        for (int n = 0; n < NPART; n++)
            gb_destroy(p[n]);
        gb_destroy(acc);
    }
    return 0;
}
