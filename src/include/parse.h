/*
 * parse.h
 *	  Strict parsers for CSV field text: integers, floats, flags, dates and
 *	  ISO timestamps, plus the calendar helpers they rest on.
 *
 * Plain C, no server headers: used by the loaders in the backend and by the
 * unit tests and fuzzer outside it.  Every parser takes (text, length), so it
 * works on a field without needing a NUL, returns true on success, and on
 * failure returns false with *reason pointing at a static message (never a
 * silent 0).  reason may be NULL.  Leading and trailing spaces and tabs are
 * accepted and ignored everywhere; anything else around the value is an error.
 *
 * Dates are day numbers in PostgreSQL's DateADT convention: days since
 * 2000-01-01 (so 2000-01-01 = 0, 1999-12-31 = -1).  Years 1..9999 only.
 */
#ifndef SHELFOPS_PARSE_H
#define SHELFOPS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Date layouts a loader can select with a hint string (see field_date_format_from_hint). */
typedef enum FieldDateFormat
{
	DATE_FORMAT_ISO,			/* YYYY-MM-DD */
	DATE_FORMAT_MDY_DASH,		/* MM-DD-YYYY */
	DATE_FORMAT_MDY_SLASH,		/* MM/DD/YYYY */
	DATE_FORMAT_DMY_DASH,		/* DD-MM-YYYY */
	DATE_FORMAT_DMY_SLASH,		/* DD/MM/YYYY */
	DATE_FORMAT_COMPACT,		/* YYYYMMDD */
	DATE_FORMAT_ISO_TIMESTAMP	/* YYYY-MM-DD[THH:MM:SS[.fff][Z|+HH:MM]] */
} FieldDateFormat;

/* An ISO 8601 timestamp as written: local date and time plus its offset. */
typedef struct FieldTimestamp
{
	int32_t		day;			/* DateADT day of the written (local) date */
	int32_t		seconds;		/* seconds since midnight, 0..86399 */
	int32_t		microseconds;	/* fraction, 0..999999 (digits past 6 are dropped) */
	bool		has_offset;		/* Z or +-HH:MM present */
	int32_t		offset_seconds; /* east of UTC: +02:00 = 7200, Z = 0 */
} FieldTimestamp;

extern bool field_parse_int64(const char *s, size_t len, int64_t *out, const char **reason);
extern bool field_parse_int32(const char *s, size_t len, int32_t *out, const char **reason);
extern bool field_parse_float8(const char *s, size_t len, double *out, const char **reason);
extern bool field_parse_bool(const char *s, size_t len, bool *out, const char **reason);

/* True for an empty (or blank) field or NA, N/A, NULL in any case. */
extern bool field_is_missing(const char *s, size_t len);

/* YYYY-MM-DD exactly (after trimming), calendar-checked. */
extern bool field_parse_date_iso(const char *s, size_t len, int32_t *day, const char **reason);

/*
 * Date in the given layout.  DATE_FORMAT_ISO_TIMESTAMP accepts a bare date or
 * a timestamp and returns the date as written (no shift to UTC).
 */
extern bool field_parse_date(const char *s, size_t len, FieldDateFormat format,
							 int32_t *day, const char **reason);

/*
 * YYYY-MM-DD then 'T' or ' ' then HH:MM:SS, an optional fraction of 1..9
 * digits, and an optional Z or +HH:MM / -HH:MM (offset up to 15:59).
 */
extern bool field_parse_timestamp(const char *s, size_t len, FieldTimestamp *out,
								  const char **reason);

/*
 * Hint string to layout, case-insensitive: "YYYY-MM-DD" (or "ISO"),
 * "MM-DD-YYYY", "MM/DD/YYYY", "DD-MM-YYYY", "DD/MM/YYYY", "YYYYMMDD",
 * "ISO8601" (or "timestamp").  NULL or "" means ISO.  False if unknown.
 */
extern bool field_date_format_from_hint(const char *hint, FieldDateFormat *format);

/* Calendar (proleptic Gregorian, DateADT day numbers). */
extern bool calendar_valid_ymd(int year, int month, int day);
extern int32_t calendar_day_from_ymd(int year, int month, int day);
extern void calendar_ymd_from_day(int32_t day, int *year, int *month, int *mday);
/* 0 = Sunday .. 6 = Saturday, as EXTRACT(dow) */
extern int	calendar_day_of_week(int32_t day);
/* 1 = Monday .. 7 = Sunday, as EXTRACT(isodow) and Rossmann's DayOfWeek */
extern int	calendar_iso_day_of_week(int32_t day);

#endif							/* SHELFOPS_PARSE_H */
