/* err.c -- formatting of one-line error messages.
 *
 * A message names what users gave us -- job-file keys, dataset paths,
 * file names -- and those may hold any bytes.  Each message is made safe
 * for a terminal and a Slurm log as it is formatted: newlines, carriage
 * returns and tabs become spaces (one line), every other control byte and
 * every byte of an ill-formed UTF-8 sequence becomes "\xNN", and
 * well-formed UTF-8 is kept.  A message cut at its size is cut between
 * sequences, never inside one.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* Rewrite msg (NUL-terminated, in a buffer of size n) as described above. */
static void printable(char *msg, size_t n)
{
    char in[sizeof ((struct h5b_error *)0)->msg];
    size_t o = 0;
    snprintf(in, sizeof in, "%s", msg);
    for (const char *p = in; *p && o + 1 < n;) {
        unsigned char c = (unsigned char)*p;
        size_t len = c >= 0x20 && c != 0x7f ? utf8_sequence(p) : 0;
        if (c == '\n' || c == '\r' || c == '\t') {
            msg[o++] = ' ';
            p++;
        } else if (len) {
            if (o + len >= n)
                break;
            memcpy(msg + o, p, len);
            o += len;
            p += len;
        } else {
            if (o + 4 >= n)
                break;
            snprintf(msg + o, 5, "\\x%02X", c);
            o += 4;
            p++;
        }
    }
    msg[o] = '\0';
}

int err_set(struct h5b_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    printable(err->msg, sizeof err->msg);
    return code;
}

int err_prefix(struct h5b_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    char head[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", head, old);
    printable(err->msg, sizeof err->msg);
    return code;
}
