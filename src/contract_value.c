/*
 * contract_value.c
 *	  Owns the per-value rules of a tenant contract: trimming, ids under
 *	  type_map and id_normalization_rules, dates under date_format_hint and
 *	  timezone_handling (all but the profile-zone conversion, which needs the
 *	  server's time zone code), transaction types, numbers under type_map and
 *	  unit_map, flags.  load_contract.c calls these for every field of an
 *	  uploaded file; they are pure C, so test/fuzz/contract_fuzz.c runs the same
 *	  code with -DSHELFOPS_NO_BACKEND.
 */
#ifdef SHELFOPS_NO_BACKEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "contract_value.h"

#define SECONDS_PER_DAY INT64_C(86400)

const char	contract_value_scaled_out_of_range[] = "out of range after the unit_map scaling";

void
contract_value_trim(const char **s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char) **s))
		(*s)++, (*len)--;
	while (*len > 0 && isspace((unsigned char) (*s)[*len - 1]))
		(*len)--;
}

bool
contract_value_nested(const char *s, size_t len)
{
	contract_value_trim(&s, &len);
	return len >= 2 && ((s[0] == '{' && s[len - 1] == '}') || (s[0] == '[' && s[len - 1] == ']'));
}

char *
contract_value_id(bool as_int, const ContractIdRules *rules, const char *s, size_t len,
				  size_t *outlen, const char **why)
{
	char	   *out;

	if (as_int)
	{
		int64_t		v;

		if (!field_parse_int64(s, len, &v, why))
			return NULL;
		out = psprintf("%" PRId64, v);
		*outlen = strlen(out);
		return out;
	}
	if (rules->strip)
		contract_value_trim(&s, &len);
	if (rules->remove_prefix != NULL)
	{
		size_t		plen = strlen(rules->remove_prefix);

		if (len >= plen && memcmp(s, rules->remove_prefix, plen) == 0)
			s += plen, len -= plen;
	}
	/*
	 * Copy all len bytes: a CSV field may hold a NUL byte, and pnstrdup would
	 * stop there while the loop below runs to len.  Callers refuse ids and
	 * texts with a NUL, which they can only do if it is still there.
	 */
	out = palloc(len + 1);
	memcpy(out, s, len);
	out[len] = '\0';
	for (size_t i = 0; i < len; i++)
	{
		if (rules->upper)
			out[i] = pg_ascii_toupper((unsigned char) out[i]);
		else if (rules->lower)
			out[i] = pg_ascii_tolower((unsigned char) out[i]);
	}
	*outlen = len;
	return out;
}

/*
 * A naive value (a date, or a timestamp without offset) keeps the date as
 * written in every mode; a timestamp with an offset keeps its written date
 * under source_local_date, and is converted to UTC (utc_date) or to the
 * profile's zone (convert_to_profile_tz_date, by the caller) before its date
 * is taken.
 */
bool
contract_value_date(FieldDateFormat format, ContractTzHandling handling,
					const char *s, size_t len, int32_t *day,
					bool *needs_zone, int64_t *utc, const char **why)
{
	FieldTimestamp ts;
	int64_t		t;

	*needs_zone = false;
	contract_value_trim(&s, &len);
	if (format != DATE_FORMAT_ISO_TIMESTAMP || len <= 10)
		return field_parse_date(s, len, format, day, why);
	if (!field_parse_timestamp(s, len, &ts, why))
		return false;
	*day = ts.day;
	if (!ts.has_offset || handling == TZ_SOURCE_LOCAL_DATE)
		return true;
	t = (int64_t) ts.day * SECONDS_PER_DAY + ts.seconds - ts.offset_seconds;
	if (handling == TZ_UTC_DATE)
	{
		/* floor division: instants before 2000-01-01 round down */
		*day = (int32_t) ((t - ((t % SECONDS_PER_DAY + SECONDS_PER_DAY) % SECONDS_PER_DAY)) /
						  SECONDS_PER_DAY);
		return true;
	}
	*needs_zone = true;
	*utc = t;
	return true;
}

static bool
in_list(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return true;
	return false;
}

int
contract_value_transaction_sign(const char *s, size_t len)
{
	static const char *const plus[] = {"sale", "purchase", "sold", NULL};
	static const char *const minus[] = {"return", "refund", "rma", NULL};
	char		buf[16];

	contract_value_trim(&s, &len);
	if (len == 0 || len >= sizeof(buf))
		return 0;
	for (size_t i = 0; i < len; i++)
		buf[i] = pg_ascii_tolower((unsigned char) s[i]);
	buf[len] = '\0';
	if (in_list(plus, buf))
		return 1;
	if (in_list(minus, buf))
		return -1;
	return 0;
}

bool
contract_value_not_finite(const char *s, size_t len)
{
	char		buf[16];

	contract_value_trim(&s, &len);
	if (len > 0 && (*s == '+' || *s == '-'))
		s++, len--;
	if (len == 0 || len >= sizeof(buf))
		return false;
	for (size_t i = 0; i < len; i++)
		buf[i] = pg_ascii_tolower((unsigned char) s[i]);
	buf[len] = '\0';
	return strcmp(buf, "nan") == 0 || strcmp(buf, "inf") == 0 || strcmp(buf, "infinity") == 0;
}

bool
contract_value_number(bool as_int, double multiplier, double divide_by,
					  const char *s, size_t len, double *out, bool *not_finite,
					  const char **why)
{
	*not_finite = contract_value_not_finite(s, len);
	if (*not_finite)
	{
		*why = "NaN and infinity are not accepted";
		return false;
	}
	if (as_int)
	{
		int64_t		v;

		if (!field_parse_int64(s, len, &v, why))
			return false;
		*out = (double) v;
	}
	else if (!field_parse_float8(s, len, out, why))
		return false;
	/* multiply, then divide: cents / 100 is correctly rounded this way */
	if (multiplier != 1.0)
		*out *= multiplier;
	if (divide_by != 1.0)
		*out /= divide_by;
	if (!isfinite(*out))
	{
		*why = contract_value_scaled_out_of_range;
		return false;
	}
	return true;
}

bool
contract_value_flag(bool as_int, const char *s, size_t len, bool *out, const char **why)
{
	*out = false;
	if (as_int)
	{
		int64_t		v;

		if (!field_parse_int64(s, len, &v, why))
			return false;
		*out = v != 0;
		return true;
	}
	return field_parse_bool(s, len, out, why);
}
