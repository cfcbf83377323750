/* utf8.h -- well-formed UTF-8 from any bytes, for text that must be Unicode.
 *
 * Names in the JSON summary come from users' files and file systems (field,
 * group and dataset names, file paths), where HDF5 and POSIX allow any
 * bytes; JSON text must be Unicode.  utf8_clean keeps every well-formed
 * UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF) and replaces each maximal ill-formed subpart with U+FFFD, as
 * Unicode recommends ("U+FFFD substitution of maximal subparts", chapter
 * 3.9) and as Python's bytes.decode("utf-8", "replace") does.  A
 * well-formed string comes back unchanged.  No MPI, no HDF5.
 */
#ifndef H5B_UTF8_H
#define H5B_UTF8_H

#include <stddef.h>

/* A malloc'd copy of the NUL-terminated s with every ill-formed subpart
 * replaced by U+FFFD (EF BF BD); the caller frees it.  NULL if out of
 * memory. */
char *utf8_clean(const char *s);

/* The length (1 to 4) of the well-formed UTF-8 sequence that starts at s,
 * or 0 when an ill-formed one starts there.  s is NUL-terminated. */
size_t utf8_sequence(const char *s);

#endif
