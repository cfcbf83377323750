/* plan.c -- computing partitions from their index. */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

/* The stride of selection sel (NULL: 1). */
static uint64_t p_stride(const struct plan_select *sel)
{
    return sel && sel->stride > 1 ? sel->stride : 1;
}

/* Records per partition for one file: about target bytes, a multiple of
 * chunk0 when chunked (unless one chunk row exceeds max_bytes), at least
 * one record and at most max_bytes. */
static uint64_t per_part(uint64_t record_bytes, uint64_t chunk0,
                         uint64_t target, uint64_t max_bytes)
{
    uint64_t want = target / record_bytes;
    uint64_t cap = max_bytes / record_bytes;
    want = want ? want : 1;
    if (chunk0 && chunk0 <= cap) {
        uint64_t rows = want / chunk0 ? want / chunk0 : 1;
        uint64_t cap_rows = cap / chunk0;
        return (rows < cap_rows ? rows : cap_rows) * chunk0;
    }
    return want < cap ? want : cap;
}

/* Choose the tile width along dim 1: whole records unless fewer than
 * PLAN_TILE_MIN_ROWS of them fit the target. */
static void choose_tiles(struct plan *p, const struct plan_tiling *tiling,
                         uint64_t target)
{
    p->ntiles = 1;
    p->dim1 = 1;
    p->tile_width = 1;
    if (!tiling || tiling->dim1 < 2 ||
        target / p->record_bytes >= PLAN_TILE_MIN_ROWS)
        return;
    uint64_t inner = (p->record_bytes - tiling->tail_bytes) / tiling->dim1;
    uint64_t w = target / (PLAN_TILE_MIN_ROWS * inner);
    uint64_t c = tiling->chunk1;
    w = w ? w : 1;
    if (c && c < tiling->dim1)
        w = w > c ? w / c * c : c;
    if (w >= tiling->dim1)
        return;
    p->dim1 = tiling->dim1;
    p->tail_bytes = tiling->tail_bytes;
    p->tile_width = w;
    p->ntiles = (tiling->dim1 + w - 1) / w;
}

/* The target for a tiled partition: at least PLAN_TILE_MIN_ROWS rows
 * (rounded up to whole chunks), even if that exceeds the target. */
static uint64_t tile_target(uint64_t unit, uint64_t chunk0, uint64_t target)
{
    uint64_t rows = PLAN_TILE_MIN_ROWS;
    if (chunk0)
        rows = (rows + chunk0 - 1) / chunk0 * chunk0;
    return rows * unit > target ? rows * unit : target;
}

int plan_build(struct plan *p, const uint64_t *nrec, const uint64_t *chunk0,
               size_t nfiles, uint64_t record_bytes, uint64_t target,
               uint64_t max_bytes, const struct plan_tiling *tiling,
               struct h5b_error *err)
{
    return plan_build_sel(p, nrec, chunk0, nfiles, record_bytes, target,
                          max_bytes, tiling, NULL, err);
}

/* Place file f's selected records (f->per_part set): its first, and the
 * lead that keeps stride-1 partitions on the file's chunk rows when they
 * are whole chunk rows. */
static void place_file(struct plan_file *f, const struct plan_select *sel,
                       size_t i, uint64_t chunk0)
{
    f->first = sel ? sel->first[i] : 0;
    f->lead = p_stride(sel) == 1 && chunk0 && f->per_part % chunk0 == 0
              ? f->first % chunk0 : 0;
}

int plan_build_sel(struct plan *p, const uint64_t *nrec,
                   const uint64_t *chunk0, size_t nfiles,
                   uint64_t record_bytes, uint64_t target, uint64_t max_bytes,
                   const struct plan_tiling *tiling,
                   const struct plan_select *sel, struct h5b_error *err)
{
    memset(p, 0, sizeof *p);
    p->record_bytes = record_bytes;
    if (tiling && tiling->tail_bytes && tiling->tail_bytes >= record_bytes)
        return err_set(err, H5B_ERUN, "plan: %llu tail bytes of a record of "
                       "%llu", (unsigned long long)tiling->tail_bytes,
                       (unsigned long long)record_bytes);
    if (record_bytes)
        choose_tiles(p, tiling, target);
    uint64_t unit = p->ntiles > 1 ? (record_bytes - p->tail_bytes) / p->dim1 *
                                    p->tile_width + p->tail_bytes
                                  : record_bytes;
    if (unit == 0 || unit > max_bytes)
        return err_set(err, H5B_EINPUT, "a record of %llu bytes does not fit "
                       "in one message (at most %llu bytes)",
                       (unsigned long long)record_bytes,
                       (unsigned long long)max_bytes);
    p->file = calloc(nfiles ? nfiles : 1, sizeof *p->file);
    if (!p->file)
        return err_set(err, H5B_ERUN, "out of memory for the plan");
    p->nfiles = nfiles;
    p->stride = p_stride(sel);
    for (size_t i = 0; i < nfiles; i++) {
        struct plan_file *f = &p->file[i];
        f->nrec = nrec[i];
        f->per_part = per_part(unit, chunk0[i], p->ntiles > 1
                               ? tile_target(unit, chunk0[i], target) : target,
                               max_bytes);
        place_file(f, sel, i, chunk0[i]);
        f->first_part = p->nparts;
        f->first_record = p->nrec;
        if (f->nrec)
            p->nparts += (f->lead + f->nrec + f->per_part - 1) / f->per_part
                         * p->ntiles;
        p->nrec += f->nrec;
        uint64_t most = f->nrec < f->per_part ? f->nrec : f->per_part;
        if (most > p->max_part_records)
            p->max_part_records = most;
    }
    p->max_part_bytes = p->max_part_records * unit;
    return 0;
}

void plan_get(const struct plan *p, uint64_t index, struct partition *out)
{
    size_t lo = 0, hi = p->nfiles;
    /* Invariant: file[lo].first_part <= index < file[hi].first_part, so
     * lo ends on the last such file, which skips empty files. */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->file[mid].first_part <= index)
            lo = mid;
        else
            hi = mid;
    }
    const struct plan_file *f = &p->file[lo];
    uint64_t k = index - f->first_part;
    out->index = index;
    out->file = lo;
    /* Row block k covers [v, v + per_part) of the file's selected records
     * shifted by its lead; the first block starts at the lead. */
    uint64_t v = k / p->ntiles * f->per_part;
    uint64_t pos = v > f->lead ? v - f->lead : 0;   /* first selected */
    uint64_t end = v + f->per_part - f->lead;       /* past the last */
    end = end < f->nrec ? end : f->nrec;
    out->start = f->first + pos * p->stride;
    out->count = end - pos;
    out->global_start = f->first_record + pos;
    out->tile = k % p->ntiles;
    out->col0 = out->tile * p->tile_width;
    out->ncols = p->ntiles == 1 ? p->dim1
                 : p->dim1 - out->col0 < p->tile_width ? p->dim1 - out->col0
                                                       : p->tile_width;
    out->bytes = out->count * ((p->record_bytes - p->tail_bytes) / p->dim1 *
                               out->ncols + p->tail_bytes);
}

void plan_free(struct plan *p)
{
    free(p->file);
    memset(p, 0, sizeof *p);
}
