/* hugepage.c -- transparent huge page advice for big buffers (hugepage.h). */
#define _DEFAULT_SOURCE
#include "hugepage.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

size_t hugepage_advise(void *p, size_t len)
{
    uintptr_t a = (uintptr_t)p, mask = (uintptr_t)HUGEPAGE_BYTES - 1;
    if (!p || len > UINTPTR_MAX - a - mask)
        return 0;
    uintptr_t lo = (a + mask) & ~mask, hi = (a + len) & ~mask;
    if (hi <= lo)
        return 0;
#ifdef MADV_HUGEPAGE
    if (madvise((void *)lo, (size_t)(hi - lo), MADV_HUGEPAGE) == 0)
        return (size_t)(hi - lo);
#endif
    return 0;
}

void *hugepage_alloc(size_t len)
{
    void *p = malloc(len ? len : 1);
    hugepage_advise(p, len);
    return p;
}

void *hugepage_block(size_t len)
{
    void *p = NULL;
    if (len < HUGEPAGE_BYTES)
        return malloc(len ? len : 1);
    if (posix_memalign(&p, HUGEPAGE_BYTES, len) != 0)
        return NULL;
    hugepage_advise(p, len);
    return p;
}

size_t hugepage_buffer_bytes(size_t len)
{
    size_t mask = HUGEPAGE_BYTES - 1;
    return len >= HUGEPAGE_BYTES / 2 && len <= SIZE_MAX - mask
           ? (len + mask) & ~mask : len;
}

void *hugepage_buffer(size_t len, size_t *cap)
{
    size_t n = hugepage_buffer_bytes(len);
    if (cap)
        *cap = n;
    return hugepage_block(n);
}

void *hugepage_zalloc(size_t len)
{
    void *p = hugepage_alloc(len);
    return p ? memset(p, 0, len) : NULL;
}

void *hugepage_realloc(void *p, size_t old, size_t len)
{
    if (len < HUGEPAGE_BYTES || !p)
        return p || len < HUGEPAGE_BYTES ? realloc(p, len ? len : 1)
                                         : hugepage_alloc(len);
    void *q = hugepage_alloc(len);
    if (q) {
        memcpy(q, p, old < len ? old : len);
        free(p);
    }
    return q;
}
