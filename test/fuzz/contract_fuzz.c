/*
 * contract_fuzz.c
 *	  libFuzzer harness for the per-value rules of a tenant contract
 *	  (src/contract_value.c with src/parse.c, built with -DSHELFOPS_NO_BACKEND):
 *	  what the contract family does to every field of an uploaded file under a
 *	  profile's type_map, id_normalization_rules, date_format_hint,
 *	  timezone_handling and unit_map.
 *
 * Validating the profile itself (contract.c) walks a jsonb document with
 * PostgreSQL's jsonb code and is not fuzzed here; its decisions reach this
 * code only as the settings chosen from the first bytes.  Input format:
 *
 *	  byte 0: bit 0 type_map int, bit 1 strip, bit 2 upper, bit 3 lower,
 *	          bit 4 a remove_prefix line follows, bits 5-6 timezone_handling
 *	  byte 1: date format (mod 7)
 *	  byte 2, 3: unit_map multiplier and divide_by (index into a table that
 *	          includes extreme values a profile may give)
 *	  then [prefix line] and values, one per line.
 *
 * Checks, for any input: no crash or sanitizer report, and every accepted
 * value is self-consistent: ids are terminated, follow their rules and are
 * stable under a second pass; int ids are canonical; dates are valid days, a
 * UTC date is within a day of the written date; a scaled number is finite
 * and, unscaled, equals the plain parser's; flags agree with the int parser.
 */
#include "postgres_fe.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract_value.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const double scales[] = {1.0, 100.0, 0.01, 12.0, 1e-300, 1e300, 3.7, 1e308, 5e-324};

static void
check_id(bool as_int, const ContractIdRules *rules, const char *s, size_t len)
{
	const char *why = NULL;
	size_t		n;
	char	   *id = contract_value_id(as_int, rules, s, len, &n, &why);

	if (id == NULL)
	{
		if (!as_int || why == NULL)
			abort();			/* only an int id can fail, and says why */
		return;
	}
	if (id[n] != '\0' || n > len + 24)
		abort();
	if (as_int)
	{
		int64_t		v;
		size_t		n2;
		char	   *again;

		if (!field_parse_int64(id, n, &v, &why))
			abort();
		again = contract_value_id(true, rules, id, n, &n2, &why);
		if (again == NULL || n2 != n || memcmp(again, id, n) != 0)
			abort();			/* canonical: formatting again changes nothing */
		pfree(again);
	}
	else
	{
		if (rules->strip && n > 0 && rules->remove_prefix == NULL &&
			(isspace((unsigned char) id[0]) || isspace((unsigned char) id[n - 1])))
			abort();
		for (size_t i = 0; i < n; i++)
			if ((rules->upper && id[i] >= 'a' && id[i] <= 'z') ||
				(!rules->upper && rules->lower && id[i] >= 'A' && id[i] <= 'Z'))
				abort();
		if (rules->remove_prefix == NULL)
		{
			size_t		n2;
			char	   *again = contract_value_id(false, rules, id, n, &n2, &why);

			if (n2 != n || memcmp(again, id, n) != 0)
			{
				fprintf(stderr, "id rules are not stable\n");
				abort();
			}
			pfree(again);
		}
	}
	pfree(id);
}

static void
check_date(FieldDateFormat format, ContractTzHandling handling, const char *s, size_t len)
{
	int32_t		day;
	int32_t		written;
	bool		needs_zone;
	bool		dummy;
	int64_t		utc = 0;
	int64_t		unused;
	const char *why = NULL;
	int			y,
				m,
				d;

	if (!contract_value_date(format, handling, s, len, &day, &needs_zone, &utc, &why))
	{
		if (why == NULL)
			abort();
		return;
	}
	calendar_ymd_from_day(day, &y, &m, &d);
	if (!calendar_valid_ymd(y, m, d) && !(handling == TZ_UTC_DATE && y >= 0 && y <= 10000))
		abort();
	if (needs_zone != (handling == TZ_CONVERT_TO_PROFILE_TZ_DATE && needs_zone))
		abort();
	/* the written date, whatever the handling */
	if (!contract_value_date(format, TZ_SOURCE_LOCAL_DATE, s, len, &written, &dummy, &unused, &why) ||
		dummy)
		abort();
	if (handling != TZ_CONVERT_TO_PROFILE_TZ_DATE && (day < written - 1 || day > written + 1))
	{
		fprintf(stderr, "UTC date %d more than a day from the written %d\n", day, written);
		abort();
	}
	if (needs_zone)
	{
		int64_t		utc_day = utc >= 0 ? utc / 86400 : -((-utc + 86399) / 86400);

		if (utc_day < written - 1 || utc_day > written + 1 || day != written)
			abort();
	}
}

static void
check_number(bool as_int, double mult, double div, const char *s, size_t len)
{
	double		v;
	double		plain;
	bool		not_finite;
	const char *why = NULL;
	bool		ok = contract_value_number(as_int, mult, div, s, len, &v, &not_finite, &why);

	if (!ok)
	{
		if (why == NULL || why[0] == '\0')
			abort();
		return;
	}
	if (!isfinite(v) || not_finite)
		abort();
	if (!as_int && mult == 1.0 && div == 1.0 &&
		(!field_parse_float8(s, len, &plain, &why) || plain != v))
		abort();
}

static void
check_flag(bool as_int, const char *s, size_t len)
{
	bool		b;
	const char *why = NULL;
	int64_t		v;

	if (!contract_value_flag(as_int, s, len, &b, &why))
	{
		if (why == NULL)
			abort();
		return;
	}
	if (as_int && (!field_parse_int64(s, len, &v, &why) || b != (v != 0)))
		abort();
}

static void
check_words(const char *s, size_t len)
{
	int			sign = contract_value_transaction_sign(s, len);
	char	   *upper;

	if (sign < -1 || sign > 1)
		abort();
	upper = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		upper[i] = (s[i] >= 'a' && s[i] <= 'z') ? s[i] - 'a' + 'A' : s[i];
	upper[len] = '\0';
	if (contract_value_transaction_sign(upper, len) != sign)
		abort();				/* case does not matter */
	if (contract_value_not_finite(s, len) != contract_value_not_finite(upper, len))
		abort();
	free(upper);
	if (contract_value_nested(s, len))
	{
		const char *p = s;
		size_t		n = len;

		contract_value_trim(&p, &n);
		if (n < 2 || (p[0] != '{' && p[0] != '['))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ContractIdRules rules;
	bool		as_int;
	ContractTzHandling handling;
	FieldDateFormat format;
	double		mult,
				div;
	char	   *text;
	char	   *p;
	char	   *end;

	if (size < 4)
		return 0;
	as_int = data[0] & 1;
	rules.strip = (data[0] & 2) != 0;
	rules.upper = (data[0] & 4) != 0;
	rules.lower = (data[0] & 8) != 0;
	rules.remove_prefix = NULL;
	handling = (ContractTzHandling) (((data[0] >> 5) & 3) % 3);
	format = (FieldDateFormat) (data[1] % 7);
	mult = scales[data[2] % (sizeof(scales) / sizeof(scales[0]))];
	div = scales[data[3] % (sizeof(scales) / sizeof(scales[0]))];

	/* values may hold NUL bytes (CSV fields can): keep lengths, not strlen */
	text = malloc(size - 4 + 1);
	memcpy(text, data + 4, size - 4);
	text[size - 4] = '\0';
	p = text;
	end = text + (size - 4);
	if (data[0] & 16)
	{
		char	   *nl = memchr(p, '\n', end - p);

		if (nl == NULL)
			nl = end;
		*nl = '\0';
		rules.remove_prefix = p;	/* a C string, as the profile stores it */
		p = nl < end ? nl + 1 : end;
	}
	while (p < end)
	{
		char	   *nl = memchr(p, '\n', end - p);
		size_t		len = (nl ? nl : end) - p;

		check_id(as_int, &rules, p, len);
		check_date(format, handling, p, len);
		check_number(as_int, mult, div, p, len);
		check_flag(as_int, p, len);
		check_words(p, len);
		p += len + 1;
	}
	free(text);
	return 0;
}
