/* err.c -- formatting of one-line error messages. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Replace newlines so that every message stays one line. */
static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

int err_set(struct h5b_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    one_line(err->msg);
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
    one_line(err->msg);
    return code;
}
