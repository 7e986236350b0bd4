/*
 * contract_value.h
 *	  The per-value rules of a tenant contract (contract_value.c): what the
 *	  contract family (load_contract.c) does to each field of an uploaded file
 *	  once the profile (contract.c) has said how.  Pure C: also built with
 *	  -DSHELFOPS_NO_BACKEND for test/fuzz/contract_fuzz.c.
 */
#ifndef SHELFOPS_CONTRACT_VALUE_H
#define SHELFOPS_CONTRACT_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

typedef enum ContractTzHandling
{
	TZ_SOURCE_LOCAL_DATE,
	TZ_UTC_DATE,
	TZ_CONVERT_TO_PROFILE_TZ_DATE
} ContractTzHandling;

/* id_normalization_rules of one id field. */
typedef struct ContractIdRules
{
	bool		strip;			/* default true */
	bool		upper;
	bool		lower;
	char	   *remove_prefix;	/* NULL = none */
} ContractIdRules;

/* Seconds from 2000-01-01 (the PostgreSQL epoch) to 1970-01-01 (Unix). */
#define CONTRACT_PG_EPOCH_UNIX_SECONDS	INT64_C(946684800)

/* s/len without leading and trailing ASCII whitespace. */
extern void contract_value_trim(const char **s, size_t *len);

/* A JSON object or array as a value: needs a custom adapter. */
extern bool contract_value_nested(const char *s, size_t len);

/*
 * An id (or category) after type_map int ("001" -> "1") or the rules (strip,
 * remove_prefix, upper/lower, in that order).  palloc'd, *outlen its length;
 * NULL with *why when an int id does not parse.
 */
extern char *contract_value_id(bool as_int, const ContractIdRules *rules,
							   const char *s, size_t len, size_t *outlen, const char **why);

/*
 * The date of a value per the date format and timezone_handling.  False with
 * *why when it does not parse.  When the value is a timestamp with an offset
 * and the handling is convert_to_profile_tz_date, *needs_zone is set and
 * *utc holds the instant (seconds since 2000-01-01 UTC) for the caller to
 * convert; *day is then the written date.
 */
extern bool contract_value_date(FieldDateFormat format, ContractTzHandling handling,
								const char *s, size_t len, int32_t *day,
								bool *needs_zone, int64_t *utc, const char **why);

/* +1 sale (sale, purchase, sold), -1 return (return, refund, rma), 0 neither. */
extern int	contract_value_transaction_sign(const char *s, size_t len);

/* nan, inf, infinity with an optional sign, any case. */
extern bool contract_value_not_finite(const char *s, size_t len);

/*
 * A number per type_map (int or float) scaled by unit_map (multiply, then
 * divide).  False with *why (a static string) when it does not parse or,
 * scaled, is not finite (*why is then contract_value_scaled_out_of_range);
 * *not_finite is set when the text itself is NaN or infinity.
 */
extern const char contract_value_scaled_out_of_range[];
extern bool contract_value_number(bool as_int, double multiplier, double divide_by,
								  const char *s, size_t len, double *out,
								  bool *not_finite, const char **why);

/* A flag per type_map (int: non-zero is true; else the boolean spellings); *why static. */
extern bool contract_value_flag(bool as_int, const char *s, size_t len, bool *out,
								const char **why);

#endif							/* SHELFOPS_CONTRACT_VALUE_H */
