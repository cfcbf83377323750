/* hugepage.h -- ask the kernel for transparent huge pages on big buffers.
 *
 * Where the kernel's transparent huge pages are in `madvise` mode (Debian's
 * default), a buffer of hundreds of MB is first touched one 4 KiB page
 * fault at a time; in a virtual machine each fault is dear (they were a
 * quarter of rank 0's time in a group-by of a million keys).  Advising the
 * 2 MiB-aligned blocks inside a buffer lets the kernel back each with one
 * huge page: one fault instead of 512.  This is what glibc's own tunable
 * glibc.malloc.hugetlb=1 does for every allocation, done here for the few
 * big buffers that dominate.  Advice only: contents and ownership are
 * unchanged, and a kernel without the feature ignores it.  No MPI, no
 * HDF5. */
#ifndef H5B_HUGEPAGE_H
#define H5B_HUGEPAGE_H

#include <stddef.h>

/* Huge page size that advice is aligned to. */
#define HUGEPAGE_BYTES ((size_t)2 << 20)

/* Advise huge pages for the whole HUGEPAGE_BYTES-aligned blocks inside
 * the len bytes at p (memory the caller owns, from malloc or mmap).
 * Returns the bytes advised: 0 when p is NULL, no aligned block fits, or
 * the kernel refused (which does no harm). */
size_t hugepage_advise(void *p, size_t len);

/* malloc(len), advised before any page of it is touched; NULL if out of
 * memory. */
void *hugepage_alloc(size_t len);

/* len bytes for buffers that are used whole and soon, such as a ring of
 * partition buffers: aligned to HUGEPAGE_BYTES when len is at least
 * that, and advised, so each 2 MiB of it costs one page fault (two 1 MiB
 * partition buffers in one block: one fault instead of 512).  free()
 * releases it; NULL if out of memory. */
void *hugepage_block(size_t len);

/* hugepage_block for one buffer of len bytes that is filled whole and
 * reused (a worker's partition values): from HUGEPAGE_BYTES / 2 up, it
 * is given a whole huge page (len rounded up to HUGEPAGE_BYTES), so a
 * 1 MiB partition costs one page fault instead of 256, for at most
 * twice its bytes.  *cap (if cap is not NULL) gets the bytes
 * allocated. */
void *hugepage_buffer(size_t len, size_t *cap);

/* The bytes hugepage_buffer(len) allocates (for the memory plan). */
size_t hugepage_buffer_bytes(size_t len);

/* hugepage_alloc(len) set to zero, like calloc(len, 1); NULL if out of
 * memory. */
void *hugepage_zalloc(size_t len);

/* Grow or shrink p, holding old bytes, to len bytes, like realloc (p
 * freed on success and kept on failure, NULL if out of memory).  A buffer
 * of HUGEPAGE_BYTES or more is a new hugepage_alloc() that the old bytes
 * are copied into, so that the copy already lands on huge pages (realloc
 * would touch the new pages before they could be advised; and letting
 * glibc mremap a big buffer instead was measured slower: rank 0's CPU
 * 4.0-5.1 s against 2.3-3.1 s in the 1-rank group-by bench). */
void *hugepage_realloc(void *p, size_t old, size_t len);

#endif
