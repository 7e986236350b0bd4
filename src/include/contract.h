/*
 * contract.h
 *	  A tenant contract profile (reference §1.7), validated from jsonb by
 *	  contract.c and applied row by row by the contract family
 *	  (load_contract.c).  See docs/loading.md, "Tenant contracts".
 */
#ifndef SHELFOPS_CONTRACT_H
#define SHELFOPS_CONTRACT_H

#include "postgres.h"

#include "pgtime.h"
#include "utils/jsonb.h"

#include "contract_value.h"
#include "parse.h"

/* Canonical fields a field_map may target. */
typedef enum ContractField
{
	CF_DATE,
	CF_STORE_ID,
	CF_PRODUCT_ID,
	CF_QUANTITY,
	CF_UNIT_COST,
	CF_UNIT_PRICE,
	CF_CATEGORY,
	CF_IS_PROMOTIONAL,
	CF_IS_HOLIDAY,
	CF_TRANSACTION_TYPE,
	CF_TRANSACTION_ID,
	CF_ON_HAND_QTY,				/* accepted, not stored (no column) */
	CF_ON_ORDER_QTY,			/* accepted, not stored (no column) */
	CF_NFIELDS
} ContractField;

/* What a field holds, which decides the type_map values it accepts. */
typedef enum ContractKind
{
	CK_DATE,					/* date */
	CK_ID,						/* str, string, int */
	CK_TEXT,					/* str, string, int */
	CK_NUMBER,					/* float, int */
	CK_FLAG						/* bool, int */
} ContractKind;

/* type_map values. */
typedef enum ContractType
{
	CT_DEFAULT,					/* not in type_map: the field's natural type */
	CT_STR,
	CT_INT,
	CT_FLOAT,
	CT_BOOL,
	CT_DATE
} ContractType;

typedef enum ContractSignPolicy
{
	SIGN_NON_NEGATIVE,
	SIGN_CLIP_NEGATIVE,
	SIGN_ALLOW_NEGATIVE_RETURNS
} ContractSignPolicy;

typedef struct ContractProfile
{
	Jsonb	   *profile;		/* the profile as given (stored in datasets.contract) */
	char	   *contract_version;
	char	   *tenant_id;
	char	   *source_type;
	char	   *grain;			/* 'daily' */
	char	   *timezone;
	pg_tz	   *tz;
	ContractTzHandling tz_handling;
	ContractSignPolicy sign_policy;
	char	   *country_code;	/* default 'unknown' */
	char	   *currency;		/* upper-cased, or NULL */
	char	   *quantity_uom;	/* or NULL */
	char	   *date_format_hint;	/* or NULL */
	FieldDateFormat date_format;	/* from the hint; ISO date or timestamp without */

	/* per canonical field */
	char	   *source[CF_NFIELDS]; /* mapped source column, or NULL */
	ContractType type[CF_NFIELDS];
	char	   *fill[CF_NFIELDS];	/* null_policy fill value as text, or NULL */
	double		multiplier[CF_NFIELDS]; /* unit_map multiplier; 1 = none */
	double		divide_by[CF_NFIELDS];	/* unit_map divide_by; 1 = none */
	ContractIdRules id_rules[CF_NFIELDS];	/* CK_ID fields and category */

	/* dedupe_keys */
	bool		dedupe[CF_NFIELDS];
	bool		dedupe_transactions;	/* dedupe_keys include transaction_id */

	Datum		dq_thresholds;	/* jsonb object, for load.c */
	double		max_future_days;	/* default 7 */
	double		max_history_years;	/* default 15 */
} ContractProfile;

/* Validate a profile; ERROR (22023) naming the offending key otherwise. */
extern ContractProfile *contract_parse(Jsonb *contract);
extern Datum contract_dq_thresholds(const ContractProfile *contract);

extern const char *contract_field_name(ContractField f);
extern ContractKind contract_field_kind(ContractField f);

#endif							/* SHELFOPS_CONTRACT_H */
