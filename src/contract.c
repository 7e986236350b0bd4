/*
 * contract.c
 *	  Owns the tenant contract profile: validation of the jsonb profile
 *	  (reference §1.7: the 14 required keys, their vocabularies, the optional
 *	  keys) into a ContractProfile the contract family applies row by row.
 *
 * Every error is ERRCODE_INVALID_PARAMETER_VALUE and names the offending key
 * (as "field_map.sku" for a nested one).  Unlike the reference, the profile's
 * date_format_hint selects the date parser and id_columns takes part in the
 * mapping: see docs/loading.md, "Tenant contracts".
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "contract.h"

static const struct
{
	const char *name;
	ContractKind kind;
}			field_defs[CF_NFIELDS] = {
	[CF_DATE] = {"date", CK_DATE},
	[CF_STORE_ID] = {"store_id", CK_ID},
	[CF_PRODUCT_ID] = {"product_id", CK_ID},
	[CF_QUANTITY] = {"quantity", CK_NUMBER},
	[CF_UNIT_COST] = {"unit_cost", CK_NUMBER},
	[CF_UNIT_PRICE] = {"unit_price", CK_NUMBER},
	[CF_CATEGORY] = {"category", CK_TEXT},
	[CF_IS_PROMOTIONAL] = {"is_promotional", CK_FLAG},
	[CF_IS_HOLIDAY] = {"is_holiday", CK_FLAG},
	[CF_TRANSACTION_TYPE] = {"transaction_type", CK_TEXT},
	[CF_TRANSACTION_ID] = {"transaction_id", CK_TEXT},
	[CF_ON_HAND_QTY] = {"on_hand_qty", CK_NUMBER},
	[CF_ON_ORDER_QTY] = {"on_order_qty", CK_NUMBER},
};

static const char *const required_keys[] = {
	"contract_version", "tenant_id", "source_type", "grain", "timezone", "timezone_handling",
	"quantity_sign_policy", "id_columns", "field_map", "type_map", "unit_map", "null_policy",
	"dedupe_keys", "dq_thresholds", NULL
};
static const char *const optional_keys[] = {
	"country_code", "date_format_hint", "currency", "quantity_uom", "id_normalization_rules", NULL
};
static const char *const source_types[] = {
	"smb_csv", "smb_sftp", "enterprise_edi", "enterprise_sftp", "enterprise_event", NULL
};
static const char *const tz_handlings[] = {
	"source_local_date", "utc_date", "convert_to_profile_tz_date", NULL
};
static const char *const sign_policies[] = {
	"non_negative", "clip_negative", "allow_negative_returns", NULL
};
static const char *const threshold_keys[] = {
	"min_date_parse_success", "max_required_null_rate", "max_duplicate_rate",
	"min_quantity_parse_success", "max_future_days", "max_history_years",
	"max_store_ref_missing_rate", "max_product_ref_missing_rate", "max_malformed_rate", NULL
};

const char *
contract_field_name(ContractField f)
{
	return field_defs[f].name;
}

ContractKind
contract_field_kind(ContractField f)
{
	return field_defs[f].kind;
}

Datum
contract_dq_thresholds(const ContractProfile *c)
{
	return c->dq_thresholds;
}

/* ---------------------------------------------------------------------------
 * jsonb helpers
 * --------------------------------------------------------------------------*/

static char *
join_names(const char *const *names)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; names[i]; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", names[i]);
	return buf.data;
}

static int
name_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static const char *
value_type_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? "an object" : "an array";
		default:
			return "a JSON value";
	}
}

static void bad_key(const char *key, const char *fmt,...) pg_attribute_printf(2, 3) pg_attribute_noreturn();

static void
bad_key(const char *key, const char *fmt,...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		ap;
		int			needed;

		va_start(ap, fmt);
		needed = appendStringInfoVA(&buf, fmt, ap);
		va_end(ap);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid contract: key \"%s\" %s", key, buf.data),
			 errhint("See docs/loading.md, \"Tenant contracts\".")));
}

static char *
string_value(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static char *
require_string(const char *key, const JsonbValue *v, bool nonempty)
{
	char	   *s;

	if (v->type != jbvString)
		bad_key(key, "must be a string, not %s", value_type_name(v));
	s = string_value(v);
	if (nonempty && s[0] == '\0')
		bad_key(key, "must not be empty");
	return s;
}

static double
require_number(const char *key, const JsonbValue *v)
{
	double		d;

	if (v->type != jbvNumeric)
		bad_key(key, "must be a number, not %s", value_type_name(v));
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
										   NumericGetDatum(v->val.numeric)));
	if (isnan(d) || isinf(d))
		bad_key(key, "must be a finite number");
	return d;
}

static bool
require_bool(const char *key, const JsonbValue *v)
{
	if (v->type != jbvBool)
		bad_key(key, "must be true or false, not %s", value_type_name(v));
	return v->val.boolean;
}

/* Lower-cased string out of a vocabulary. */
static char *
require_enum(const char *key, const JsonbValue *v, const char *const *allowed, int *index)
{
	char	   *s = require_string(key, v, false);

	for (char *c = s; *c; c++)
		*c = pg_ascii_tolower((unsigned char) *c);
	*index = name_index(allowed, s);
	if (*index < 0)
		bad_key(key, "must be one of %s, not \"%s\"", join_names(allowed), s);
	return s;
}

static JsonbContainer *
require_object(const char *key, const JsonbValue *v, bool nonempty)
{
	JsonbContainer *c;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		bad_key(key, "must be an object, not %s", value_type_name(v));
	c = v->val.binary.data;
	if (nonempty && JsonContainerSize(c) == 0)
		bad_key(key, "must not be empty");
	return c;
}

/* The pairs of an object: parallel arrays of keys and values. */
typedef struct Pairs
{
	int			n;
	char	  **keys;
	JsonbValue *values;
} Pairs;

static Pairs
object_pairs(JsonbContainer *c)
{
	Pairs		p;
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			cap = Max(JsonContainerSize(c), 1);

	p.n = 0;
	p.keys = palloc(sizeof(char *) * cap);
	p.values = palloc(sizeof(JsonbValue) * cap);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			p.keys[p.n] = string_value(&v);
		else if (tok == WJB_VALUE)
			p.values[p.n++] = v;
	}
	return p;
}

static char *
subkey(const char *key, const char *sub)
{
	return psprintf("%s.%s", key, sub);
}

static int
canonical_field(const char *key, const char *name)
{
	for (int f = 0; f < CF_NFIELDS; f++)
		if (strcmp(field_defs[f].name, name) == 0)
			return f;
	{
		const char *names[CF_NFIELDS + 1];

		for (int f = 0; f < CF_NFIELDS; f++)
			names[f] = field_defs[f].name;
		names[CF_NFIELDS] = NULL;
		bad_key(key, "names \"%s\", which is not a canonical field (%s)", name, join_names(names));
	}
	return -1;					/* not reached */
}

/* ---------------------------------------------------------------------------
 * The sections
 * --------------------------------------------------------------------------*/

static void
parse_field_map(ContractProfile *c, const JsonbValue *v)
{
	Pairs		p = object_pairs(require_object("field_map", v, true));

	for (int i = 0; i < p.n; i++)
	{
		char	   *key = subkey("field_map", p.keys[i]);
		char	   *target = require_string(key, &p.values[i], true);
		int			f = canonical_field(key, target);

		if (p.keys[i][0] == '\0')
			bad_key(key, "maps an empty source column name");
		if (c->source[f] != NULL)
			bad_key(key, "maps a second source column to \"%s\" (\"%s\" already does)",
					target, c->source[f]);
		c->source[f] = pstrdup(p.keys[i]);
	}
}

/*
 * id_columns {store_id: col, product_id: col[, transaction_id: col]}: the
 * source columns of the ids.  A field_map entry for the same field must name
 * the same column; without one, id_columns supplies the mapping.
 */
static void
parse_id_columns(ContractProfile *c, const JsonbValue *v)
{
	static const ContractField allowed[] = {CF_STORE_ID, CF_PRODUCT_ID, CF_TRANSACTION_ID};
	Pairs		p = object_pairs(require_object("id_columns", v, true));

	for (int i = 0; i < p.n; i++)
	{
		char	   *key = subkey("id_columns", p.keys[i]);
		char	   *col = require_string(key, &p.values[i], true);
		int			f = canonical_field(key, p.keys[i]);
		bool		ok = false;

		for (int j = 0; j < lengthof(allowed); j++)
			ok |= (allowed[j] == (ContractField) f);
		if (!ok)
			bad_key(key, "is not an id field (store_id, product_id, transaction_id)");
		if (c->source[f] != NULL && strcmp(c->source[f], col) != 0)
			bad_key(key, "says \"%s\" but field_map maps \"%s\" to %s", col, c->source[f], p.keys[i]);
		c->source[f] = col;
	}
}

static void
parse_type_map(ContractProfile *c, const JsonbValue *v)
{
	static const char *const types[] = {"str", "string", "int", "float", "bool", "date", NULL};
	static const ContractType type_of[] = {CT_STR, CT_STR, CT_INT, CT_FLOAT, CT_BOOL, CT_DATE};
	Pairs		p = object_pairs(require_object("type_map", v, true));

	for (int i = 0; i < p.n; i++)
	{
		char	   *key = subkey("type_map", p.keys[i]);
		int			f = canonical_field(key, p.keys[i]);
		int			t;
		ContractType ct;
		bool		ok;

		require_enum(key, &p.values[i], types, &t);
		ct = type_of[t];
		switch (field_defs[f].kind)
		{
			case CK_DATE:
				ok = ct == CT_DATE;
				break;
			case CK_ID:
			case CK_TEXT:
				ok = ct == CT_STR || ct == CT_INT;
				break;
			case CK_NUMBER:
				ok = ct == CT_FLOAT || ct == CT_INT;
				break;
			case CK_FLAG:
				ok = ct == CT_BOOL || ct == CT_INT;
				break;
			default:
				ok = false;
		}
		if (!ok)
			bad_key(key, "cannot be \"%s\" for %s (a %s field)", types[t], p.keys[i],
					field_defs[f].kind == CK_DATE ? "date" :
					field_defs[f].kind == CK_NUMBER ? "numeric (float or int)" :
					field_defs[f].kind == CK_FLAG ? "flag (bool or int)" : "text (str or int)");
		c->type[f] = ct;
	}
}

/* A scalar fill value as the text a CSV field would hold. */
static char *
fill_text(const char *key, const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return string_value(v);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			bad_key(key, "must be a string, number or boolean fill value, not %s", value_type_name(v));
	}
	return NULL;				/* not reached */
}

static void
parse_null_policy(ContractProfile *c, const JsonbValue *v)
{
	Pairs		p = object_pairs(require_object("null_policy", v, false));

	for (int i = 0; i < p.n; i++)
	{
		char	   *key = subkey("null_policy", p.keys[i]);
		int			f = canonical_field(key, p.keys[i]);
		JsonbValue *fv = &p.values[i];

		if (fv->type == jbvBinary && JsonContainerIsObject(fv->val.binary.data))
		{
			Pairs		q = object_pairs(fv->val.binary.data);

			if (q.n != 1 || strcmp(q.keys[0], "fill_value") != 0)
				bad_key(key, "must be a value or {\"fill_value\": value}");
			fv = &q.values[0];
			key = subkey(key, "fill_value");
		}
		c->fill[f] = fill_text(key, fv);
		if (field_is_missing(c->fill[f], strlen(c->fill[f])))
			bad_key(key, "fills with a missing value (\"%s\")", c->fill[f]);
	}
}

static void
parse_unit_map(ContractProfile *c, const JsonbValue *v)
{
	Pairs		p = object_pairs(require_object("unit_map", v, false));

	for (int i = 0; i < p.n; i++)
	{
		char	   *key = subkey("unit_map", p.keys[i]);
		int			f = canonical_field(key, p.keys[i]);
		JsonbValue *uv = &p.values[i];
		double		mult = 1.0;
		double		div = 1.0;

		if (field_defs[f].kind != CK_NUMBER)
			bad_key(key, "applies to %s, which is not numeric", p.keys[i]);
		if (uv->type == jbvBinary && JsonContainerIsObject(uv->val.binary.data))
		{
			Pairs		q = object_pairs(uv->val.binary.data);

			for (int j = 0; j < q.n; j++)
			{
				char	   *k2 = subkey(key, q.keys[j]);

				if (strcmp(q.keys[j], "multiplier") == 0)
					mult = require_number(k2, &q.values[j]);
				else if (strcmp(q.keys[j], "divide_by") == 0)
				{
					div = require_number(k2, &q.values[j]);
					if (div <= 0)
						bad_key(k2, "must be greater than 0");
				}
				else
					bad_key(k2, "is not a unit_map key (multiplier, divide_by)");
			}
		}
		else
			mult = require_number(key, uv);
		if (mult <= 0)
			bad_key(key, "multiplier must be greater than 0");
		c->multiplier[f] = mult;
		c->divide_by[f] = div;
	}
}

static void
parse_dedupe_keys(ContractProfile *c, const JsonbValue *v)
{
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int			n = 0;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		bad_key("dedupe_keys", "must be an array of field names, not %s", value_type_name(v));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		char	   *name;
		int			f;

		if (tok != WJB_ELEM)
			continue;
		name = require_string("dedupe_keys", &e, true);
		f = canonical_field("dedupe_keys", name);
		c->dedupe[f] = true;
		n++;
	}
	if (n == 0)
		bad_key("dedupe_keys", "must not be empty");
	c->dedupe_transactions = c->dedupe[CF_TRANSACTION_ID];
}

static void
parse_dq_thresholds(ContractProfile *c, const JsonbValue *v)
{
	Pairs		p = object_pairs(require_object("dq_thresholds", v, true));
	JsonbValue	whole;

	for (int i = 0; i < p.n; i++)
	{
		char	   *key = subkey("dq_thresholds", p.keys[i]);
		double		d;

		if (name_index(threshold_keys, p.keys[i]) < 0)
			bad_key(key, "is not a threshold (%s)", join_names(threshold_keys));
		d = require_number(key, &p.values[i]);
		if (d < 0)
			bad_key(key, "must not be negative");
		if (strcmp(p.keys[i], "max_future_days") == 0)
			c->max_future_days = d;
		else if (strcmp(p.keys[i], "max_history_years") == 0)
			c->max_history_years = d;
		else if (d > 1)
			bad_key(key, "is a rate and must be from 0 to 1");
	}
	whole = *v;
	c->dq_thresholds = JsonbPGetDatum(JsonbValueToJsonb(&whole));
}

static void
parse_id_rules(ContractProfile *c, const JsonbValue *v)
{
	Pairs		p = object_pairs(require_object("id_normalization_rules", v, false));

	for (int i = 0; i < p.n; i++)
	{
		char	   *key = subkey("id_normalization_rules", p.keys[i]);
		int			f = canonical_field(key, p.keys[i]);
		Pairs		q;
		ContractIdRules *r = &c->id_rules[f];

		if (field_defs[f].kind != CK_ID && f != CF_CATEGORY)
			bad_key(key, "applies to %s, which is not an id (store_id, product_id, category)",
					p.keys[i]);
		q = object_pairs(require_object(key, &p.values[i], false));
		for (int j = 0; j < q.n; j++)
		{
			char	   *k2 = subkey(key, q.keys[j]);

			if (strcmp(q.keys[j], "strip") == 0)
				r->strip = require_bool(k2, &q.values[j]);
			else if (strcmp(q.keys[j], "upper") == 0)
				r->upper = require_bool(k2, &q.values[j]);
			else if (strcmp(q.keys[j], "lower") == 0)
				r->lower = require_bool(k2, &q.values[j]);
			else if (strcmp(q.keys[j], "remove_prefix") == 0)
				r->remove_prefix = require_string(k2, &q.values[j], true);
			else
				bad_key(k2, "is not a rule (strip, upper, lower, remove_prefix)");
		}
		if (r->upper && r->lower)
			bad_key(key, "cannot ask for both upper and lower");
	}
}

/* ---------------------------------------------------------------------------
 * Entry point
 * --------------------------------------------------------------------------*/

ContractProfile *
contract_parse(Jsonb *jb)
{
	ContractProfile *c = palloc0(sizeof(ContractProfile));
	JsonbValue	values[lengthof(required_keys) - 1];
	Pairs		top;
	int			idx;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid contract: the profile must be a JSON object"),
				 errhint("See docs/loading.md, \"Tenant contracts\".")));
	c->profile = jb;
	for (int f = 0; f < CF_NFIELDS; f++)
	{
		c->multiplier[f] = 1.0;
		c->divide_by[f] = 1.0;
		c->id_rules[f].strip = true;
	}
	c->max_future_days = 7;
	c->max_history_years = 15;
	c->country_code = "unknown";
	c->date_format = DATE_FORMAT_ISO_TIMESTAMP;

	top = object_pairs(&jb->root);
	for (int i = 0; i < top.n; i++)
		if (name_index(required_keys, top.keys[i]) < 0 && name_index(optional_keys, top.keys[i]) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid contract: unknown key \"%s\"", top.keys[i]),
					 errdetail("Required keys: %s.  Optional keys: %s.",
							   join_names(required_keys), join_names(optional_keys))));
	for (int k = 0; required_keys[k]; k++)
	{
		int			i;

		for (i = 0; i < top.n; i++)
			if (strcmp(top.keys[i], required_keys[k]) == 0)
				break;
		if (i == top.n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid contract: required key \"%s\" is missing", required_keys[k]),
					 errdetail("Required keys: %s.", join_names(required_keys))));
		values[k] = top.values[i];
	}

#define REQ(name) (&values[name_index(required_keys, name)])
	c->contract_version = require_string("contract_version", REQ("contract_version"), true);
	if (c->contract_version[0] != 'v')
		bad_key("contract_version", "must start with 'v', not \"%s\"", c->contract_version);
	c->tenant_id = require_string("tenant_id", REQ("tenant_id"), true);
	c->source_type = require_enum("source_type", REQ("source_type"), source_types, &idx);
	c->grain = require_string("grain", REQ("grain"), true);
	if (pg_strcasecmp(c->grain, "daily") != 0)
		bad_key("grain", "must be \"daily\", not \"%s\" (rows are aggregated to store x product x day)",
				c->grain);
	c->timezone = require_string("timezone", REQ("timezone"), true);
	c->tz = pg_tzset(c->timezone);
	if (c->tz == NULL)
		bad_key("timezone", "names an unknown time zone \"%s\" (use an IANA name such as America/New_York)",
				c->timezone);
	require_enum("timezone_handling", REQ("timezone_handling"), tz_handlings, &idx);
	c->tz_handling = (ContractTzHandling) idx;
	require_enum("quantity_sign_policy", REQ("quantity_sign_policy"), sign_policies, &idx);
	c->sign_policy = (ContractSignPolicy) idx;

	parse_field_map(c, REQ("field_map"));
	parse_id_columns(c, REQ("id_columns"));
	parse_type_map(c, REQ("type_map"));
	parse_null_policy(c, REQ("null_policy"));
	parse_unit_map(c, REQ("unit_map"));
	parse_dedupe_keys(c, REQ("dedupe_keys"));
	parse_dq_thresholds(c, REQ("dq_thresholds"));
#undef REQ

	for (int i = 0; i < top.n; i++)
	{
		const char *k = top.keys[i];
		JsonbValue *v = &top.values[i];

		if (strcmp(k, "country_code") == 0)
			c->country_code = require_string(k, v, true);
		else if (strcmp(k, "currency") == 0)
		{
			c->currency = require_string(k, v, true);
			for (char *s = c->currency; *s; s++)
				*s = pg_ascii_toupper((unsigned char) *s);
		}
		else if (strcmp(k, "quantity_uom") == 0)
			c->quantity_uom = require_string(k, v, true);
		else if (strcmp(k, "date_format_hint") == 0)
		{
			c->date_format_hint = require_string(k, v, true);
			if (!field_date_format_from_hint(c->date_format_hint, &c->date_format))
				bad_key(k, "is not a known layout (YYYY-MM-DD, MM-DD-YYYY, MM/DD/YYYY, DD-MM-YYYY, "
						"DD/MM/YYYY, YYYYMMDD, ISO8601), not \"%s\"", c->date_format_hint);
		}
		else if (strcmp(k, "id_normalization_rules") == 0)
			parse_id_rules(c, v);
	}

	/* dedupe keys other than the grain must be read from a column */
	for (int f = 0; f < CF_NFIELDS; f++)
		if (c->dedupe[f] && f != CF_DATE && f != CF_STORE_ID && f != CF_PRODUCT_ID &&
			c->source[f] == NULL)
			bad_key("dedupe_keys", "names %s, but no column maps to it in field_map or id_columns",
					field_defs[f].name);
	return c;
}
