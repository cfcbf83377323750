/* cftime.c -- CF time units and calendars, as cftime defines them.
 *
 * Day numbers: a Julian Day Number for standard and proleptic_gregorian
 * (so the Julian/Gregorian switch of standard is a comparison with JDN
 * 2299161, 1582-10-15), and y * (days per year) + day of the year for
 * the fixed-length calendars.  A value is placed in whole microseconds
 * (cftime rounds to the microsecond too) before the floor division by
 * the day, so 0.1 days or 1/24 of a day land where cftime puts them.
 */
#include "cftime.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

#define JDN_GREGORIAN 2299161       /* 1582-10-15 */
#define US_PER_DAY 86400000000LL

static const int cum_noleap[13] = {0, 31, 59, 90, 120, 151, 181, 212, 243,
                                   273, 304, 334, 365};
static const int cum_leap[13] = {0, 31, 60, 91, 121, 152, 182, 213, 244,
                                 274, 305, 335, 366};

static const struct {
    const char *name;
    int cal;
} calendars[] = {
    {"standard", CFTIME_STANDARD}, {"gregorian", CFTIME_STANDARD},
    {"proleptic_gregorian", CFTIME_PROLEPTIC},
    {"noleap", CFTIME_NOLEAP}, {"365_day", CFTIME_NOLEAP},
    {"all_leap", CFTIME_ALL_LEAP}, {"366_day", CFTIME_ALL_LEAP},
    {"360_day", CFTIME_360_DAY},
};

static const struct {
    const char *name;
    double seconds;
} units[] = {
    {"days", 86400}, {"day", 86400}, {"d", 86400},
    {"hours", 3600}, {"hour", 3600}, {"hrs", 3600}, {"hr", 3600},
    {"h", 3600}, {"minutes", 60}, {"minute", 60}, {"mins", 60},
    {"min", 60}, {"seconds", 1}, {"second", 1}, {"secs", 1}, {"sec", 1},
    {"s", 1}, {"milliseconds", 1e-3}, {"microseconds", 1e-6},
};

static const char *const part_names[] = {"year", "month", "season",
                                         "dayofyear"};
static const char *const seasons[] = {"DJF", "JJA", "MAM", "SON"};
/* Season key of each month: DJF 0, JJA 1, MAM 2, SON 3. */
static const int month_season[13] = {0, 0, 0, 2, 2, 2, 1, 1, 1, 3, 3, 3, 0};

static int64_t fdiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int gregorian_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Is y a leap year of calendar cal (standard: Julian before 1583)? */
static int is_leap(int cal, int64_t y)
{
    switch (cal) {
    case CFTIME_STANDARD: return y < 1583 ? y % 4 == 0 : gregorian_leap(y);
    case CFTIME_PROLEPTIC: return gregorian_leap(y);
    case CFTIME_ALL_LEAP: return 1;
    default: return 0;
    }
}

static int64_t jdn_gregorian(int64_t y, int m, int d)
{
    int64_t a = (14 - m) / 12, yy = y + 4800 - a, mm = m + 12 * a - 3;
    return d + (153 * mm + 2) / 5 + 365 * yy + fdiv(yy, 4) - fdiv(yy, 100) +
           fdiv(yy, 400) - 32045;
}

static int64_t jdn_julian(int64_t y, int m, int d)
{
    int64_t a = (14 - m) / 12, yy = y + 4800 - a, mm = m + 12 * a - 3;
    return d + (153 * mm + 2) / 5 + 365 * yy + fdiv(yy, 4) - 32083;
}

/* The Julian (gregorian 0) or Gregorian date of JDN j. */
static void from_jdn(int64_t j, int gregorian, struct cftime_date *o)
{
    int64_t b = 0, c = j + 32082;
    if (gregorian) {
        int64_t a = j + 32044;
        b = fdiv(4 * a + 3, 146097);
        c = a - fdiv(146097 * b, 4);
    }
    int64_t d = fdiv(4 * c + 3, 1461), e = c - fdiv(1461 * d, 4);
    int64_t m = fdiv(5 * e + 2, 153);
    o->day = (int)(e - fdiv(153 * m + 2, 5) + 1);
    o->month = (int)(m + 3 - 12 * fdiv(m, 10));
    o->year = 100 * b + d - 4800 + fdiv(m, 10);
}

int cftime_day_number(int cal, int64_t y, int m, int d, int64_t *day)
{
    int dim = 30;
    if (m < 1 || m > 12)
        return -1;
    if (cal != CFTIME_360_DAY)
        dim = cum_noleap[m] - cum_noleap[m - 1] +
              (m == 2 && is_leap(cal, y));
    if (d < 1 || d > dim)
        return -1;
    switch (cal) {
    case CFTIME_STANDARD:
        if (y == 1582 && m == 10 && d >= 5 && d < 15)
            return -1;
        *day = (y > 1582 || (y == 1582 && (m > 10 || (m == 10 && d >= 15))))
               ? jdn_gregorian(y, m, d) : jdn_julian(y, m, d);
        return 0;
    case CFTIME_PROLEPTIC: *day = jdn_gregorian(y, m, d); return 0;
    case CFTIME_NOLEAP: *day = y * 365 + cum_noleap[m - 1] + d - 1; return 0;
    case CFTIME_ALL_LEAP: *day = y * 366 + cum_leap[m - 1] + d - 1; return 0;
    default: *day = y * 360 + (m - 1) * 30 + d - 1; return 0;
    }
}

/* The date of day number n in calendar cal (day of year left out). */
static void date_of_day(int cal, int64_t n, struct cftime_date *o)
{
    int len = cal == CFTIME_NOLEAP ? 365 : cal == CFTIME_ALL_LEAP ? 366
              : 360;
    const int *cum = cal == CFTIME_ALL_LEAP ? cum_leap : cum_noleap;
    if (cal == CFTIME_STANDARD || cal == CFTIME_PROLEPTIC) {
        from_jdn(n, cal == CFTIME_PROLEPTIC || n >= JDN_GREGORIAN, o);
        return;
    }
    o->year = fdiv(n, len);
    int doy = (int)(n - o->year * len);
    if (cal == CFTIME_360_DAY) {
        o->month = doy / 30 + 1;
        o->day = doy % 30 + 1;
        return;
    }
    o->month = 1;
    while (doy >= cum[o->month])
        o->month++;
    o->day = doy - cum[o->month - 1] + 1;
}

/* Read an integer of 1..maxd digits at *p (a sign when neg is allowed). */
static int read_int(const char **p, int maxd, int neg, int64_t *v)
{
    const char *s = *p;
    int sign = 1, n = 0;
    if (neg && *s == '-') {
        sign = -1;
        s++;
    }
    *v = 0;
    while (isdigit((unsigned char)*s) && n < maxd) {
        *v = *v * 10 + (*s++ - '0');
        n++;
    }
    *v *= sign;
    *p = s;
    return n ? 0 : -1;
}

/* "h:m[:s[.f]]" at *p into seconds of the day. */
static int read_clock(const char **p, double *sec)
{
    int64_t h, m, s = 0;
    const char *c = *p;
    if (read_int(&c, 2, 0, &h) < 0 || *c++ != ':' || read_int(&c, 2, 0, &m))
        return -1;
    double frac = 0;
    if (*c == ':') {
        c++;
        if (read_int(&c, 2, 0, &s) < 0)
            return -1;
        if (*c == '.') {
            char *end;
            frac = strtod(c, &end);
            c = end;
        }
    }
    if (h > 23 || m > 59 || s > 60)
        return -1;
    *sec = (double)(h * 3600 + m * 60 + s) + frac;
    *p = c;
    return 0;
}

/* What may follow the date: nothing, or a zero time zone. */
static int zone_ok(const char *c)
{
    while (*c == ' ')
        c++;
    return !*c || !strcmp(c, "Z") || !strcasecmp(c, "UTC") ||
           !strcmp(c, "+00:00") || !strcmp(c, "+0000") || !strcmp(c, "00:00");
}

/* "Y-M-D[( |T)h:m[:s]][zone]" at c. */
static int read_date(const char *c, int cal, struct cftime *t)
{
    int64_t y, m, d;
    while (*c == ' ')
        c++;
    if (read_int(&c, 6, 1, &y) < 0 || *c++ != '-' ||
        read_int(&c, 2, 0, &m) < 0 || *c++ != '-' ||
        read_int(&c, 2, 0, &d) < 0)
        return -1;
    t->ref_seconds = 0;
    if ((*c == ' ' || *c == 'T') && isdigit((unsigned char)c[1])) {
        c++;
        if (read_clock(&c, &t->ref_seconds) < 0)
            return -1;
    }
    if (!zone_ok(c))
        return -1;
    return cftime_day_number(cal, y, (int)m, (int)d, &t->ref_day);
}

static int find_calendar(const char *calendar)
{
    if (!calendar || !*calendar)
        return CFTIME_STANDARD;
    for (size_t i = 0; i < sizeof calendars / sizeof *calendars; i++)
        if (!strcasecmp(calendar, calendars[i].name))
            return calendars[i].cal;
    return -1;
}

int cftime_parse(struct cftime *t, const char *units_attr,
                 const char *calendar, const char *what,
                 struct h5b_error *err)
{
    char word[32] = "", since[8] = "";
    int at = 0;
    memset(t, 0, sizeof *t);
    t->calendar = find_calendar(calendar);
    if (t->calendar < 0)
        return err_set(err, H5B_EINPUT, "%s: attribute calendar = '%s': not "
                       "standard, gregorian, proleptic_gregorian, noleap, "
                       "365_day, all_leap, 366_day or 360_day", what,
                       calendar);
    const char *u = units_attr ? units_attr : "";
    if (sscanf(u, " %31s %7s %n", word, since, &at) == 2 &&
        !strcasecmp(since, "since"))
        for (size_t i = 0; i < sizeof units / sizeof *units; i++)
            if (!strcasecmp(word, units[i].name))
                t->unit_seconds = units[i].seconds;
    if (!t->unit_seconds || read_date(u + at, t->calendar, t) < 0)
        return err_set(err, H5B_EINPUT, "%s: attribute units = '%s': not "
                       "'<days|hours|minutes|seconds> since Y-M-D[ h:m:s]' "
                       "with a date of the %s calendar", what,
                       units_attr ? units_attr : "(missing)",
                       calendar && *calendar ? calendar : "standard");
    return 0;
}

int cftime_part_of(const char *name)
{
    for (int p = 0; p < 4; p++)
        if (!strcmp(name, part_names[p]))
            return p;
    return -1;
}

int cftime_group_part(const char *group_by, size_t *name_len)
{
    const char *dot = group_by ? strrchr(group_by, '.') : NULL;
    if (!dot || dot == group_by || strchr(group_by, '/') ||
        strpbrk(group_by, " \t,"))
        return -1;
    if (name_len)
        *name_len = (size_t)(dot - group_by);
    return cftime_part_of(dot + 1);
}

const char *cftime_part_name(int p)
{
    return p >= 0 && p < 4 ? part_names[p] : "";
}

int cftime_date_of(const struct cftime *t, double v, struct cftime_date *d)
{
    double s = v * t->unit_seconds + t->ref_seconds;
    if (!isfinite(s) || fabs(s) > 9007199254740992.0 / 1e6 * 1e3)
        return -1;
    int64_t us = (int64_t)nearbyint(s * 1e6);
    int64_t n = t->ref_day + fdiv(us, US_PER_DAY);
    date_of_day(t->calendar, n, d);
    /* as cftime's dayofyr: by the month lengths, so 1582-10-15 of
     * standard is day 288, as if the ten days were there */
    if (t->calendar == CFTIME_360_DAY)
        d->dayofyear = (d->month - 1) * 30 + d->day;
    else
        d->dayofyear = cum_noleap[d->month - 1] + d->day +
                       (d->month > 2 && is_leap(t->calendar, d->year));
    return 0;
}

int cftime_key(const struct cftime *t, int part, double v, int64_t *key)
{
    struct cftime_date d;
    if (cftime_date_of(t, v, &d) < 0)
        return -1;
    switch (part) {
    case CFTIME_YEAR: *key = d.year; break;
    case CFTIME_MONTH: *key = d.month; break;
    case CFTIME_SEASON: *key = month_season[d.month]; break;
    default: *key = d.dayofyear; break;
    }
    return 0;
}

const char *cftime_season_name(int64_t k)
{
    return k >= 0 && k < 4 ? seasons[k] : "";
}
