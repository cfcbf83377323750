/* fixture.h -- small fixed result tables the fuzz targets decode against.
 *
 * A partial (the RESULT payload, a checkpoint's accumulators) only means
 * something against a table: its columns, types, cell shape and
 * operators.  The fuzz targets and the seed generator share these few
 * tables, built once, which between them use every operator, every CF
 * path, scalar and multi-dimensional cells, a compound element and a
 * group-by.
 * fixture_exercise() takes a partial that decoded and pushes it through
 * everything rank 0 does with one (merge, encode, finalize, summary),
 * aborting when a decoded state does not round-trip.  No MPI, no HDF5.
 */
#ifndef H5B_FUZZ_FIXTURE_H
#define H5B_FUZZ_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

#define FIX_NTABLES 9

/* Build the tables (idempotent); aborts if they cannot be built. */
void fixture_init(void);

/* Table i % FIX_NTABLES. */
struct table *fixture_table(unsigned i);

/* Reduce nrec deterministic records (seeded by seed) of table i into a
 * fresh partial p; aborts on failure. */
void fixture_reduce(unsigned i, uint64_t nrec, uint64_t seed,
                    struct table_partial *p);

/* Encode p (of table i) into a fresh buffer of *len bytes (free() it). */
unsigned char *fixture_encode(unsigned i, const struct table_partial *p,
                              size_t *len);

/* Take a partial of table i that decoded: re-encoding must decode again
 * to the same bytes; merge it both ways with a real partial and finalize
 * and summarise the results.  Aborts on an inconsistency. */
void fixture_exercise(unsigned i, const struct table_partial *p);

/* Print msg and abort (a finding, as the fuzzer sees it). */
_Noreturn void fixture_die(const char *what, const char *msg);

#endif
