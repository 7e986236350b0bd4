/*
 * parse.c
 *	  Strict field parsers (int, float, flag, date, timestamp) and the calendar
 *	  arithmetic behind the dates.  Decisions are listed in parse.h and
 *	  docs/csv.md; the rule throughout is that a field either parses exactly or
 *	  fails with a reason, never yields a quiet 0.
 *
 * Plain C on libc only (no server headers), so the unit tests and the fuzzer
 * use it as is.
 */
#ifndef SHELFOPS_NO_BACKEND
#include "postgres.h"			/* first, as the server requires; the code uses libc only */
#endif

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

/* Days from 0001-01-01 to 2000-01-01: DateADT's epoch on our 1-based count. */
#define DAYS_0001_TO_2000 730119

static const int days_before_month[2][13] = {
	{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334},
	{0, 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335},
};

static inline bool
is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static inline int
days_in_month(int year, int month)
{
	static const int dim[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return month == 2 && is_leap(year) ? 29 : dim[month];
}

/* Days from 0001-01-01 to January 1st of year (year >= 1). */
static inline int32_t
days_before_year(int year)
{
	int			y = year - 1;

	return 365 * y + y / 4 - y / 100 + y / 400;
}

bool
calendar_valid_ymd(int year, int month, int day)
{
	return year >= 1 && year <= 9999 && month >= 1 && month <= 12 &&
		day >= 1 && day <= days_in_month(year, month);
}

int32_t
calendar_day_from_ymd(int year, int month, int day)
{
	return days_before_year(year) + days_before_month[is_leap(year)][month] +
		(day - 1) - DAYS_0001_TO_2000;
}

void
calendar_ymd_from_day(int32_t day, int *year, int *month, int *mday)
{
	int32_t		n = day + DAYS_0001_TO_2000;	/* days since 0001-01-01 */
	int			y;
	int			m;
	int			leap;
	int32_t		doy;

	/* 146097 days per 400 years: a close guess, then settle by at most a year */
	y = (int) ((int64_t) n * 400 / 146097) + 1;
	while (y > 1 && days_before_year(y) > n)
		y--;
	while (days_before_year(y + 1) <= n)
		y++;
	doy = n - days_before_year(y);
	leap = is_leap(y);
	m = 12;
	while (m > 1 && days_before_month[leap][m] > doy)
		m--;
	*year = y;
	*month = m;
	*mday = (int) (doy - days_before_month[leap][m]) + 1;
}

int
calendar_day_of_week(int32_t day)
{
	/* 2000-01-01, day 0, was a Saturday (6) */
	int			r = (int) (((int64_t) day + 6) % 7);

	return r < 0 ? r + 7 : r;
}

int
calendar_iso_day_of_week(int32_t day)
{
	int			dow = calendar_day_of_week(day);

	return dow == 0 ? 7 : dow;
}

/* Drop leading and trailing spaces and tabs. */
static inline void
trim(const char **s, size_t *len)
{
	const char *p = *s;
	size_t		n = *len;

	while (n > 0 && (*p == ' ' || *p == '\t'))
	{
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*s = p;
	*len = n;
}

static inline bool
fail_with(const char **reason, const char *why)
{
	if (reason)
		*reason = why;
	return false;
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
field_parse_int64(const char *s, size_t len, int64_t *out, const char **reason)
{
	bool		negative = false;
	uint64_t	acc = 0;
	uint64_t	limit;
	size_t		i = 0;

	if (s == NULL)
		return fail_with(reason, "empty value");
	trim(&s, &len);
	if (len == 0)
		return fail_with(reason, "empty value");
	if (s[0] == '+' || s[0] == '-')
	{
		negative = (s[0] == '-');
		i = 1;
	}
	if (i == len)
		return fail_with(reason, "not an integer: sign without digits");
	limit = negative ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	for (; i < len; i++)
	{
		unsigned	d;

		if (!is_digit(s[i]))
			return fail_with(reason, "not an integer: unexpected character");
		d = (unsigned) (s[i] - '0');
		if (acc > (limit - d) / 10)
			return fail_with(reason, "integer out of range for int64");
		acc = acc * 10 + d;
	}
	/* acc <= INT64_MAX + 1; negate in unsigned to reach INT64_MIN safely */
	*out = negative ? (int64_t) (0 - acc) : (int64_t) acc;
	return true;
}

bool
field_parse_int32(const char *s, size_t len, int32_t *out, const char **reason)
{
	int64_t		v;

	if (!field_parse_int64(s, len, &v, reason))
		return false;
	if (v < INT32_MIN || v > INT32_MAX)
		return fail_with(reason, "integer out of range for int32");
	*out = (int32_t) v;
	return true;
}

/*
 * Check the decimal grammar ourselves ([sign] digits [. digits] [e [sign]
 * digits], a digit somewhere in the mantissa) before handing it to strtod,
 * which would also take hex, "inf", "nan" and locale decimal points.
 */
bool
field_parse_float8(const char *s, size_t len, double *out, const char **reason)
{
	char		text[512];
	size_t		i = 0;
	size_t		mantissa_digits = 0;
	char	   *end;
	double		v;

	if (s == NULL)
		return fail_with(reason, "empty value");
	trim(&s, &len);
	if (len == 0)
		return fail_with(reason, "empty value");
	if (s[i] == '+' || s[i] == '-')
		i++;
	while (i < len && is_digit(s[i]))
	{
		i++;
		mantissa_digits++;
	}
	if (i < len && s[i] == '.')
	{
		i++;
		while (i < len && is_digit(s[i]))
		{
			i++;
			mantissa_digits++;
		}
	}
	if (mantissa_digits == 0)
		return fail_with(reason, "not a number");
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		size_t		exp_digits = 0;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < len && is_digit(s[i]))
		{
			i++;
			exp_digits++;
		}
		if (exp_digits == 0)
			return fail_with(reason, "not a number: exponent without digits");
	}
	if (i != len)
		return fail_with(reason, "not a number: unexpected character");
	if (len >= sizeof(text))
		return fail_with(reason, "number text too long");
	memcpy(text, s, len);
	text[len] = '\0';
	errno = 0;
	v = strtod(text, &end);
	if (end != text + len)
		return fail_with(reason, "not a number");
	/* like float8in: overflow and underflow to zero fail, denormals pass */
	if (errno == ERANGE && (v == 0.0 || isinf(v)))
		return fail_with(reason, "number out of range for float8");
	if (!isfinite(v))
		return fail_with(reason, "number out of range for float8");
	*out = v;
	return true;
}

static bool
equals_nocase(const char *s, size_t len, const char *word)
{
	size_t		n = strlen(word);

	/* most fields differ in length or first letter (ASCII case folded by
	 * setting bit 5: the words are letters and '/'): skip the call then */
	return n == len && (s[0] | 0x20) == (word[0] | 0x20) && strncasecmp(s, word, n) == 0;
}

bool
field_parse_bool(const char *s, size_t len, bool *out, const char **reason)
{
	static const char *const truths[] = {"1", "true", "t", "yes", "y"};
	static const char *const falsehoods[] = {"0", "false", "f", "no", "n"};

	if (s == NULL)
		return fail_with(reason, "empty value");
	trim(&s, &len);
	if (len == 0)
		return fail_with(reason, "empty value");
	for (size_t i = 0; i < sizeof(truths) / sizeof(truths[0]); i++)
	{
		if (equals_nocase(s, len, truths[i]))
		{
			*out = true;
			return true;
		}
		if (equals_nocase(s, len, falsehoods[i]))
		{
			*out = false;
			return true;
		}
	}
	return fail_with(reason, "not a boolean (expected 1/0, true/false, t/f, yes/no, y/n)");
}

bool
field_is_missing(const char *s, size_t len)
{
	if (s == NULL)
		return true;
	trim(&s, &len);
	return len == 0 || equals_nocase(s, len, "NA") ||
		equals_nocase(s, len, "N/A") || equals_nocase(s, len, "NULL");
}

/* Exactly n digits at s as a number; false if any is not a digit. */
static inline bool
digits_exact(const char *s, int n, int *value)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*value = v;
	return true;
}

/* 1 or 2 digits at s[*i]; advances *i. */
static inline bool
digits_1_or_2(const char *s, size_t len, size_t *i, int *value)
{
	size_t		start = *i;
	int			v = 0;

	while (*i < len && *i - start < 2 && is_digit(s[*i]))
		v = v * 10 + (s[(*i)++] - '0');
	if (*i == start || (*i < len && is_digit(s[*i])))
		return false;
	*value = v;
	return true;
}

static bool
make_day(int y, int m, int d, int32_t *day, const char **reason)
{
	if (y < 1 || y > 9999)
		return fail_with(reason, "year out of range (1..9999)");
	if (m < 1 || m > 12)
		return fail_with(reason, "month out of range");
	if (d < 1 || d > days_in_month(y, m))
		return fail_with(reason, "day out of range for the month");
	*day = calendar_day_from_ymd(y, m, d);
	return true;
}

/* YYYY-MM-DD at s (exactly 10 bytes available). */
static bool
iso_date_at(const char *s, int32_t *day, const char **reason)
{
	int			y,
				m,
				d;

	if (s[4] != '-' || s[7] != '-' || !digits_exact(s, 4, &y) ||
		!digits_exact(s + 5, 2, &m) || !digits_exact(s + 8, 2, &d))
		return fail_with(reason, "not a date in YYYY-MM-DD form");
	return make_day(y, m, d, day, reason);
}

bool
field_parse_date_iso(const char *s, size_t len, int32_t *day, const char **reason)
{
	if (s == NULL)
		return fail_with(reason, "empty value");
	trim(&s, &len);
	if (len == 0)
		return fail_with(reason, "empty value");
	if (len != 10)
		return fail_with(reason, "not a date in YYYY-MM-DD form");
	return iso_date_at(s, day, reason);
}

/* D-M-YYYY style: a, sep, b, sep, YYYY with a and b of 1-2 digits. */
static bool
split_two_then_year(const char *s, size_t len, char sep, int *a, int *b, int *y)
{
	size_t		i = 0;

	if (!digits_1_or_2(s, len, &i, a) || i >= len || s[i++] != sep)
		return false;
	if (!digits_1_or_2(s, len, &i, b) || i >= len || s[i++] != sep)
		return false;
	return len - i == 4 && digits_exact(s + i, 4, y);
}

bool
field_parse_date(const char *s, size_t len, FieldDateFormat format, int32_t *day,
				 const char **reason)
{
	int			y,
				m,
				d;

	if (s == NULL)
		return fail_with(reason, "empty value");
	trim(&s, &len);
	if (len == 0)
		return fail_with(reason, "empty value");
	switch (format)
	{
		case DATE_FORMAT_ISO:
			if (len != 10)
				return fail_with(reason, "not a date in YYYY-MM-DD form");
			return iso_date_at(s, day, reason);
		case DATE_FORMAT_MDY_DASH:
		case DATE_FORMAT_MDY_SLASH:
			if (!split_two_then_year(s, len, format == DATE_FORMAT_MDY_DASH ? '-' : '/',
									 &m, &d, &y))
				return fail_with(reason, format == DATE_FORMAT_MDY_DASH
								 ? "not a date in MM-DD-YYYY form"
								 : "not a date in MM/DD/YYYY form");
			return make_day(y, m, d, day, reason);
		case DATE_FORMAT_DMY_DASH:
		case DATE_FORMAT_DMY_SLASH:
			if (!split_two_then_year(s, len, format == DATE_FORMAT_DMY_DASH ? '-' : '/',
									 &d, &m, &y))
				return fail_with(reason, format == DATE_FORMAT_DMY_DASH
								 ? "not a date in DD-MM-YYYY form"
								 : "not a date in DD/MM/YYYY form");
			return make_day(y, m, d, day, reason);
		case DATE_FORMAT_COMPACT:
			if (len != 8 || !digits_exact(s, 4, &y) || !digits_exact(s + 4, 2, &m) ||
				!digits_exact(s + 6, 2, &d))
				return fail_with(reason, "not a date in YYYYMMDD form");
			return make_day(y, m, d, day, reason);
		case DATE_FORMAT_ISO_TIMESTAMP:
			{
				FieldTimestamp ts;

				if (len == 10)
					return iso_date_at(s, day, reason);
				if (!field_parse_timestamp(s, len, &ts, reason))
					return false;
				*day = ts.day;
				return true;
			}
	}
	return fail_with(reason, "unknown date format");
}

bool
field_parse_timestamp(const char *s, size_t len, FieldTimestamp *out, const char **reason)
{
	int			hh,
				mi,
				ss;
	size_t		i;
	int32_t		micro = 0;
	int32_t		day;

	if (s == NULL)
		return fail_with(reason, "empty value");
	trim(&s, &len);
	if (len == 0)
		return fail_with(reason, "empty value");
	if (len < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
		s[13] != ':' || s[16] != ':')
		return fail_with(reason, "not a timestamp in YYYY-MM-DDTHH:MM:SS form");
	if (!iso_date_at(s, &day, reason))
		return false;
	if (!digits_exact(s + 11, 2, &hh) || !digits_exact(s + 14, 2, &mi) ||
		!digits_exact(s + 17, 2, &ss))
		return fail_with(reason, "not a timestamp in YYYY-MM-DDTHH:MM:SS form");
	if (hh > 23 || mi > 59 || ss > 59)
		return fail_with(reason, "time of day out of range");
	i = 19;
	if (i < len && s[i] == '.')
	{
		int			ndigits = 0;

		i++;
		while (i < len && is_digit(s[i]))
		{
			/* keep microseconds; later digits are checked but dropped */
			if (ndigits < 6)
				micro = micro * 10 + (s[i] - '0');
			ndigits++;
			i++;
		}
		if (ndigits == 0 || ndigits > 9)
			return fail_with(reason, "fraction of a second must have 1 to 9 digits");
		for (int k = ndigits; k < 6; k++)
			micro *= 10;
	}
	out->has_offset = false;
	out->offset_seconds = 0;
	if (i < len && (s[i] == 'Z' || s[i] == 'z'))
	{
		out->has_offset = true;
		i++;
	}
	else if (i < len && (s[i] == '+' || s[i] == '-'))
	{
		int			oh,
					om;

		if (len - i != 6 || s[i + 3] != ':' || !digits_exact(s + i + 1, 2, &oh) ||
			!digits_exact(s + i + 4, 2, &om))
			return fail_with(reason, "UTC offset must be +HH:MM or -HH:MM");
		if (oh > 15 || om > 59)
			return fail_with(reason, "UTC offset out of range");
		out->has_offset = true;
		out->offset_seconds = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
		i += 6;
	}
	if (i != len)
		return fail_with(reason, "unexpected characters after the timestamp");
	out->day = day;
	out->seconds = hh * 3600 + mi * 60 + ss;
	out->microseconds = micro;
	return true;
}

bool
field_date_format_from_hint(const char *hint, FieldDateFormat *format)
{
	static const struct
	{
		const char *hint;
		FieldDateFormat format;
	}			hints[] = {
		{"YYYY-MM-DD", DATE_FORMAT_ISO},
		{"ISO", DATE_FORMAT_ISO},
		{"MM-DD-YYYY", DATE_FORMAT_MDY_DASH},
		{"MM/DD/YYYY", DATE_FORMAT_MDY_SLASH},
		{"DD-MM-YYYY", DATE_FORMAT_DMY_DASH},
		{"DD/MM/YYYY", DATE_FORMAT_DMY_SLASH},
		{"YYYYMMDD", DATE_FORMAT_COMPACT},
		{"ISO8601", DATE_FORMAT_ISO_TIMESTAMP},
		{"timestamp", DATE_FORMAT_ISO_TIMESTAMP},
	};
	const char *s = hint;
	size_t		len;

	if (hint == NULL)
	{
		*format = DATE_FORMAT_ISO;
		return true;
	}
	len = strlen(hint);
	trim(&s, &len);
	if (len == 0)
	{
		*format = DATE_FORMAT_ISO;
		return true;
	}
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (equals_nocase(s, len, hints[i].hint))
		{
			*format = hints[i].format;
			return true;
		}
	return false;
}
