/* cftime.h -- CF time coordinates: `units` and `calendar`, and the
 * calendar parts of a time value (year, month, day of year, season).
 *
 * A CF time value v with units "U since DATE" is the instant DATE + v U
 * in the coordinate's calendar, as cftime.num2date defines it: standard
 * (also gregorian, and a missing calendar attribute) is the Julian
 * calendar before 1582-10-15 and the Gregorian one from then on, with
 * the ten days 1582-10-05..14 missing; proleptic_gregorian is the
 * Gregorian calendar throughout; noleap (365_day) never has Feb 29,
 * all_leap (366_day) always has it, and 360_day has twelve months of 30
 * days.  Dates are day numbers in their calendar (a Julian Day Number
 * for standard and proleptic_gregorian) plus seconds of the day, so a
 * value is placed with one floor division.  Years are astronomical (1 BC
 * is year 0).  The parts are xarray's: `time.month` 1..12,
 * `time.year`, `time.dayofyear` 1..366 (1..360), and `time.season` as
 * keys 0..3 for 'DJF', 'JJA', 'MAM', 'SON': the order xarray's
 * groupby("time.season") gives its labels (sorted).  No MPI, no HDF5.
 */
#ifndef H5B_CFTIME_H
#define H5B_CFTIME_H

#include <stddef.h>
#include <stdint.h>

#include "h5batch/operator.h"

enum cftime_calendar {
    CFTIME_STANDARD, CFTIME_PROLEPTIC, CFTIME_NOLEAP, CFTIME_ALL_LEAP,
    CFTIME_360_DAY
};

enum cftime_part {
    CFTIME_YEAR, CFTIME_MONTH, CFTIME_SEASON, CFTIME_DAYOFYEAR
};

/* A parsed time coordinate description. */
struct cftime {
    int calendar;           /* enum cftime_calendar */
    double unit_seconds;    /* seconds in one unit of the values */
    int64_t ref_day;        /* the reference date's day number */
    double ref_seconds;     /* and its seconds into that day */
};

struct cftime_date {
    int64_t year;
    int month, day;         /* 1-based */
    int dayofyear;          /* 1-based */
};

/* Parse `units` and `calendar` (NULL or "": standard) into t.  `what`
 * names the coordinate in messages (e.g. "file.h5: /time").  H5B_EINPUT
 * with one line naming the attribute and its value for units that are
 * not "<days|hours|minutes|seconds> since Y-M-D[( |T)h:m[:s]]" (a
 * trailing "Z", "UTC" or "+00:00" is accepted), a date that does not
 * exist in the calendar, or an unknown calendar. */
int cftime_parse(struct cftime *t, const char *units, const char *calendar,
                 const char *what, struct h5b_error *err);

/* The part named `name` ("month", "year", "season", "dayofyear"), or -1. */
int cftime_part_of(const char *name);

/* group_by = NAME.PART (one part, no '/', PART a cftime part): the part,
 * with *name_len (if not NULL) the length of NAME; else -1. */
int cftime_group_part(const char *group_by, size_t *name_len);

/* Name of part p ("month", ...). */
const char *cftime_part_name(int p);

/* The date of value v: 0, or -1 when v is NaN, infinite or beyond
 * +-2^53 seconds from the reference. */
int cftime_date_of(const struct cftime *t, double v, struct cftime_date *d);

/* Part p of value v into *key (a season as 0..3): 0, or -1 as
 * cftime_date_of. */
int cftime_key(const struct cftime *t, int part, double v, int64_t *key);

/* 'DJF', 'JJA', 'MAM' or 'SON' for season key k (0..3), else "". */
const char *cftime_season_name(int64_t k);

/* Day number of y-m-d in calendar cal: 0 with *day set, or -1 when the
 * date does not exist there (month or day out of range, a standard
 * date in 1582-10-05..14). */
int cftime_day_number(int cal, int64_t y, int m, int d, int64_t *day);

#endif
