/* utf8.c -- well-formed UTF-8 from any bytes (see utf8.h).
 *
 * One pass: at each position, the lead byte says how long the sequence
 * must be and which range its second byte must fall in (Unicode table
 * 3-7); the bytes that fit form either a whole sequence, copied, or a
 * maximal ill-formed subpart of at least one byte, replaced by U+FFFD.
 * A replacement is 3 bytes for at least 1 byte in, so 3 * length + 1
 * bytes always suffice.
 */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* The length of the well-formed sequence at s (1 to 4), or 0 with *bad
 * set to the length of the maximal ill-formed subpart there (1 to 3).
 * The NUL that ends s is never a continuation byte, so reading stops at
 * it. */
static size_t sequence_at(const unsigned char *s, size_t *bad)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        lo = c == 0xE0 ? 0xA0 : lo;     /* no overlong forms */
        hi = c == 0xED ? 0x9F : hi;     /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        lo = c == 0xF0 ? 0x90 : lo;     /* no overlong forms */
        hi = c == 0xF4 ? 0x8F : hi;     /* nothing past U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if (s[i] < lo || s[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need;
}

size_t utf8_sequence(const char *s)
{
    size_t bad = 0;
    return sequence_at((const unsigned char *)s, &bad);
}

char *utf8_clean(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t bad = 0, len = sequence_at(p, &bad);
        if (len) {
            memcpy(out + o, p, len);
            o += len;
            p += len;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            p += bad;
        }
    }
    out[o] = '\0';
    return out;
}
