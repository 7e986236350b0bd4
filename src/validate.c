/*
 * validate.c
 *	  Owns dataset validation and readiness: shelfops_validate_dataset() runs
 *	  every data-quality check on one dataset, per column and per series, and
 *	  stores the checks and the readiness state (ready / limited / blocked /
 *	  invalid) in shelfops.datasets.
 *
 * The statistics come from two set-based queries: the dataset row (with the
 * loader's load_report) and one aggregation of shelfops.sales grouped by
 * series, whose per-series counts and date ranges are folded into dataset
 * totals in the same statement.  Nothing row-sized is fetched into C.  Calendar
 * gaps are counted without generating calendars: a series' expected periods
 * are its span in days (daily) or in whole weeks (weekly), and the primary key
 * guarantees at most one row per period, so missing = expected - rows.
 *
 * The checks, their thresholds and the readiness rules are documented in
 * docs/validation.md; keep the two in step.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "shelfops.h"
#include "ident.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(shelfops_validate_dataset);

/*
 * Thresholds callers may override through the thresholds jsonb argument, with
 * their defaults.  min_series_periods defaults by frequency (see below).
 */
typedef enum ThresholdKey
{
	T_MIN_DATE_PARSE_SUCCESS,
	T_MIN_QUANTITY_PARSE_SUCCESS,
	T_MAX_DUPLICATE_RATE,
	T_MAX_STORE_REF_MISSING_RATE,
	T_MAX_REQUIRED_NULL_RATE,
	T_MAX_FUTURE_DAYS,
	T_MAX_HISTORY_YEARS,
	T_MAX_CALENDAR_GAP_SHARE,
	T_MIN_SERIES_PERIODS,
	T_MAX_SHORT_SERIES_SHARE,
	T_MIN_SERIES_COUNT,
	T_MIN_STORE_COUNT,
	T_MAX_NEGATIVE_QUANTITY_SHARE,
	T_MAX_CONSTANT_SERIES_SHARE,
	T_MAX_ALL_ZERO_SERIES_SHARE,
	T_MIN_HISTORY_DAYS,
	T_COUNT
} ThresholdKey;

static const char *const threshold_names[T_COUNT] = {
	[T_MIN_DATE_PARSE_SUCCESS] = "min_date_parse_success",
	[T_MIN_QUANTITY_PARSE_SUCCESS] = "min_quantity_parse_success",
	[T_MAX_DUPLICATE_RATE] = "max_duplicate_rate",
	[T_MAX_STORE_REF_MISSING_RATE] = "max_store_ref_missing_rate",
	[T_MAX_REQUIRED_NULL_RATE] = "max_required_null_rate",
	[T_MAX_FUTURE_DAYS] = "max_future_days",
	[T_MAX_HISTORY_YEARS] = "max_history_years",
	[T_MAX_CALENDAR_GAP_SHARE] = "max_calendar_gap_share",
	[T_MIN_SERIES_PERIODS] = "min_series_periods",
	[T_MAX_SHORT_SERIES_SHARE] = "max_short_series_share",
	[T_MIN_SERIES_COUNT] = "min_series_count",
	[T_MIN_STORE_COUNT] = "min_store_count",
	[T_MAX_NEGATIVE_QUANTITY_SHARE] = "max_negative_quantity_share",
	[T_MAX_CONSTANT_SERIES_SHARE] = "max_constant_series_share",
	[T_MAX_ALL_ZERO_SERIES_SHARE] = "max_all_zero_series_share",
	[T_MIN_HISTORY_DAYS] = "min_history_days",
};

static const double threshold_defaults[T_COUNT] = {
	[T_MIN_DATE_PARSE_SUCCESS] = 0.99,
	[T_MIN_QUANTITY_PARSE_SUCCESS] = 0.995,
	[T_MAX_DUPLICATE_RATE] = 0.01,
	[T_MAX_STORE_REF_MISSING_RATE] = 0.0,
	[T_MAX_REQUIRED_NULL_RATE] = 0.005,
	[T_MAX_FUTURE_DAYS] = 7,
	[T_MAX_HISTORY_YEARS] = 15,
	[T_MAX_CALENDAR_GAP_SHARE] = 0.2,
	[T_MIN_SERIES_PERIODS] = -1,	/* by frequency */
	[T_MAX_SHORT_SERIES_SHARE] = 0.2,
	[T_MIN_SERIES_COUNT] = 1,
	[T_MIN_STORE_COUNT] = 1,
	[T_MAX_NEGATIVE_QUANTITY_SHARE] = 0.01,
	[T_MAX_CONSTANT_SERIES_SHARE] = 0.5,
	[T_MAX_ALL_ZERO_SERIES_SHARE] = 0.5,
	[T_MIN_HISTORY_DAYS] = 90,
};

/*
 * Shortest useful series, in periods: two forecast horizons plus one cycle of
 * the features' longest window.  Daily: 2 x 14-day horizon + 28 days (lag-28
 * and rolling-28 features) = 56.  Weekly: 2 x 13-week (quarter) horizon = 26.
 */
#define MIN_SERIES_PERIODS_DAILY	56
#define MIN_SERIES_PERIODS_WEEKLY	26

/* Load-report reject reasons this module reads. */
#define REJECT_BAD_DATE			"bad_date"
#define REJECT_BAD_QUANTITY		"bad_quantity"
#define REJECT_DUPLICATE_KEY	"duplicate_key"
#define REJECT_UNKNOWN_STORE	"unknown_store"
#define REJECT_NULL_REQUIRED	"null_required"

/* Required columns of the contract, and the optional ones features use. */
#define NREQUIRED 4
static const char *const required_columns[NREQUIRED] = {"store_id", "product_id", "sale_date", "quantity"};
#define NOPTIONAL 4
static const char *const optional_columns[NOPTIONAL] = {"category", "unit_cost", "unit_price", "is_open"};

/*
 * The dataset row.  FOR NO KEY UPDATE: the row is rewritten at the end, and
 * two validations of one dataset must not interleave their writes.
 */
static const char *const dataset_sql =
"SELECT d.frequency, d.target_unit, d.family,\n"
"       d.load_report ?| ARRAY['rows_read', 'rows_written', 'rejected'] AS has_report,\n"
"       CASE WHEN jsonb_typeof(d.load_report -> 'rows_read') = 'number'\n"
"            THEN (d.load_report ->> 'rows_read')::float8 END,\n"
"       CASE WHEN jsonb_typeof(d.load_report -> 'rows_written') = 'number'\n"
"            THEN (d.load_report ->> 'rows_written')::float8 END,\n"
"       CASE WHEN jsonb_typeof(d.load_report -> 'aggregated_rows') = 'number'\n"
"            THEN (d.load_report ->> 'aggregated_rows')::float8 END,\n"
"       CASE WHEN jsonb_typeof(d.load_report -> 'rejected') = 'object'\n"
"            THEN d.load_report -> 'rejected' ELSE '{}'::jsonb END::text\n"
"  FROM shelfops.datasets d\n"
" WHERE d.tenant_id = $1 AND d.dataset_id = $2\n"
"   FOR NO KEY UPDATE";

/* Numeric reject counts of the load report, by reason. */
static const char *const rejects_sql =
"SELECT key, (value #>> '{}')::float8\n"
"  FROM jsonb_each($1::jsonb)\n"
" WHERE jsonb_typeof(value) = 'number'";

/*
 * One pass over the dataset's sales: per-series aggregates, then dataset
 * totals over the series.  $3 = weekly, $4 = min_series_periods.
 * Weekly expected periods count whole weeks from the series' first date, so
 * they sit on the series' own weekday; wd_min/wd_max detect series whose
 * dates fall on more than one weekday (off the weekly grid).
 */
static const char *const stats_sql =
"WITH series AS (\n"
"    SELECT s.store_id, s.product_id,\n"
"           count(*)::float8 AS n,\n"
"           min(s.sale_date) AS d0, max(s.sale_date) AS d1,\n"
"           min(s.quantity) AS qmin, max(s.quantity) AS qmax,\n"
"           count(*) FILTER (WHERE s.quantity < 0) AS nneg,\n"
"           count(*) FILTER (WHERE s.category IS NULL) AS ncat,\n"
"           count(*) FILTER (WHERE s.unit_cost IS NULL) AS ncost,\n"
"           count(*) FILTER (WHERE s.unit_price IS NULL) AS nprice,\n"
"           count(*) FILTER (WHERE s.is_open IS NULL) AS nopen,\n"
"           min(((s.sale_date - DATE '2000-01-03') % 7 + 7) % 7) AS wd_min,\n"
"           max(((s.sale_date - DATE '2000-01-03') % 7 + 7) % 7) AS wd_max\n"
"      FROM shelfops.sales s\n"
"     WHERE s.tenant_id = $1 AND s.dataset_id = $2\n"
"     GROUP BY s.store_id, s.product_id\n"
"), per AS (\n"
"    SELECT series.*,\n"
"           (CASE WHEN $3 THEN (d1 - d0) / 7 ELSE d1 - d0 END + 1)::float8 AS expected\n"
"      FROM series\n"
"), g AS (\n"
"    SELECT per.*, greatest(expected - n, 0) AS missing,\n"
"           store_id || ' / ' || product_id AS label\n"
"      FROM per\n"
")\n"
"SELECT coalesce(sum(n), 0)::float8 AS nrows,\n"					/* 1 */
"       count(*)::float8 AS nseries,\n"								/* 2 */
"       count(DISTINCT store_id)::float8 AS nstores,\n"				/* 3 */
"       count(DISTINCT product_id)::float8 AS nproducts,\n"			/* 4 */
"       coalesce(bool_and(product_id = 'all'), false) AS store_level,\n"	/* 5 */
"       min(d0)::text AS date_min,\n"								/* 6 */
"       max(d1)::text AS date_max,\n"								/* 7 */
"       (current_date - min(d0))::float8 AS days_since_first,\n"	/* 8 */
"       (max(d1) - current_date)::float8 AS future_days,\n"			/* 9 */
"       (max(d1) - min(d0) + 1)::float8 AS history_days,\n"			/* 10 */
"       sum(missing)::float8 AS missing,\n"							/* 11 */
"       sum(expected)::float8 AS expected,\n"						/* 12 */
"       max(missing / expected)::float8 AS max_gap_share,\n"		/* 13 */
"       count(*) FILTER (WHERE missing > 0)::float8 AS gappy,\n"	/* 14 */
"       (array_agg(label ORDER BY missing / expected DESC, store_id, product_id))[1] AS worst_gap,\n"	/* 15 */
"       min(n)::float8 AS min_n,\n"									/* 16 */
"       (array_agg(label ORDER BY n, store_id, product_id))[1] AS shortest,\n"	/* 17 */
"       count(*) FILTER (WHERE n < $4)::float8 AS nshort,\n"		/* 18 */
"       coalesce(sum(nneg), 0)::float8 AS nneg,\n"					/* 19 */
"       count(*) FILTER (WHERE qmin = qmax)::float8 AS nconst,\n"	/* 20 */
"       count(*) FILTER (WHERE qmin = 0 AND qmax = 0)::float8 AS nzero,\n"	/* 21 */
"       coalesce(sum(n) FILTER (WHERE btrim(store_id) = ''), 0)::float8 AS blank_store,\n"	/* 22 */
"       coalesce(sum(n) FILTER (WHERE btrim(product_id) = ''), 0)::float8 AS blank_product,\n"	/* 23 */
"       coalesce(sum(ncat), 0)::float8,\n"							/* 24 */
"       coalesce(sum(ncost), 0)::float8,\n"							/* 25 */
"       coalesce(sum(nprice), 0)::float8,\n"						/* 26 */
"       coalesce(sum(nopen), 0)::float8,\n"							/* 27 */
"       count(*) FILTER (WHERE wd_min <> wd_max)::float8 AS off_grid\n"	/* 28 */
"  FROM g";

static const char *const store_sql =
"UPDATE shelfops.datasets\n"
"   SET readiness = $3, readiness_reason = $4, validation = $5::jsonb, validated_at = now()\n"
" WHERE tenant_id = $1 AND dataset_id = $2";

/* Growing list of checks, allocated in the caller's context. */
typedef struct CheckList
{
	MemoryContext cxt;
	int			n;
	int			cap;
	ValidationCheck *items;
} CheckList;

static ValidationCheck *
add_check(CheckList *cl, const char *name, ValidationClass vclass)
{
	MemoryContext old = MemoryContextSwitchTo(cl->cxt);
	ValidationCheck *c;

	if (cl->n == cl->cap)
	{
		cl->cap = cl->cap == 0 ? 32 : cl->cap * 2;
		cl->items = cl->items == NULL ? palloc(cl->cap * sizeof(ValidationCheck))
			: repalloc(cl->items, cl->cap * sizeof(ValidationCheck));
	}
	c = &cl->items[cl->n++];
	memset(c, 0, sizeof(*c));
	c->name = pstrdup(name);
	c->vclass = vclass;
	c->observed_null = true;
	c->threshold_null = true;
	c->passed_null = true;
	MemoryContextSwitchTo(old);
	return c;
}

static void
set_detail(CheckList *cl, ValidationCheck *c, const char *fmt,...) pg_attribute_printf(3, 4);

static void
set_detail(CheckList *cl, ValidationCheck *c, const char *fmt,...)
{
	MemoryContext old = MemoryContextSwitchTo(cl->cxt);
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	c->detail = buf.data;
	MemoryContextSwitchTo(old);
}

/*
 * A check with a threshold.  observed_null (nothing to measure, e.g. no rows)
 * leaves passed NULL: such a check neither passes nor fails.
 */
static ValidationCheck *
add_threshold_check(CheckList *cl, const char *name, ValidationClass vclass,
					double observed, bool observed_null, double threshold, bool upper_bound)
{
	ValidationCheck *c = add_check(cl, name, vclass);

	c->threshold = threshold;
	c->threshold_null = false;
	c->upper_bound = upper_bound;
	if (!observed_null)
	{
		c->observed = observed;
		c->observed_null = false;
		c->passed = upper_bound ? observed <= threshold : observed >= threshold;
		c->passed_null = false;
	}
	return c;
}

/* An informational check: observed value only, threshold and passed NULL. */
static ValidationCheck *
add_info_check(CheckList *cl, const char *name, double observed, bool observed_null)
{
	ValidationCheck *c = add_check(cl, name, VCLASS_INFO);

	if (!observed_null)
	{
		c->observed = observed;
		c->observed_null = false;
	}
	return c;
}

/* Parse the thresholds argument into values[] (defaults already filled in). */
static void
parse_thresholds(Jsonb *jb, double *values, bool *overridden)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			current = -1;
	char	   *key = NULL;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("thresholds must be a JSON object"),
				 errdetail("Got a JSON %s.", JB_ROOT_IS_ARRAY(jb) && !JB_ROOT_IS_SCALAR(jb) ? "array" : "scalar"),
				 errhint("Pass for example '{\"min_history_days\": 60}'.")));

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			current = -1;
			for (int i = 0; i < T_COUNT; i++)
			{
				if (strcmp(key, threshold_names[i]) == 0)
				{
					current = i;
					break;
				}
			}
			if (current < 0)
			{
				StringInfoData known;

				initStringInfo(&known);
				for (int i = 0; i < T_COUNT; i++)
					appendStringInfo(&known, "%s%s", i > 0 ? ", " : "", threshold_names[i]);
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown threshold \"%s\"", key),
						 errdetail("Known thresholds: %s.", known.data)));
			}
		}
		else if (tok == WJB_VALUE)
		{
			double		value;

			if (v.type != jbvNumeric)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("threshold \"%s\" must be a number", key),
						 errdetail("Got a JSON %s.",
								   v.type == jbvString ? "string" :
								   v.type == jbvBool ? "boolean" :
								   v.type == jbvNull ? "null" : "array or object")));
			value = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													   NumericGetDatum(v.val.numeric)));
			if (!isfinite(value) || value < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("threshold \"%s\" must be a finite number >= 0", key),
						 errdetail("Got %g.", value)));
			values[current] = value;
			overridden[current] = true;
		}
	}
}

/* Column col (1-based) of the single result row as float8; NULL sets *isnull. */
static double
row_f8(int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);

	return *isnull ? 0.0 : DatumGetFloat8(d);
}

static double
row_f8_or(int col, double dflt)
{
	bool		isnull;
	double		v = row_f8(col, &isnull);

	return isnull ? dflt : v;
}

/* Column col of the single result row as a string in the caller's context. */
static char *
row_text(int col, MemoryContext cxt)
{
	char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
	MemoryContext old;
	char	   *copy;

	if (s == NULL)
		return NULL;
	old = MemoryContextSwitchTo(cxt);
	copy = pstrdup(s);
	MemoryContextSwitchTo(old);
	return copy;
}

static void
append_json_number(StringInfo buf, double v, bool isnull)
{
	if (isnull || !isfinite(v))
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, "%.15g", v);
}

static const char *
class_name(ValidationClass vclass)
{
	switch (vclass)
	{
		case VCLASS_INVALID:
			return "invalid";
		case VCLASS_BLOCKED:
			return "blocked";
		case VCLASS_LIMITED:
			return "limited";
		case VCLASS_INFO:
			break;
	}
	return "info";
}

/* Readiness from the failing checks: invalid, then blocked, then limited. */
static void
decide_readiness(ValidationResult *res)
{
	static const ValidationClass order[] = {VCLASS_INVALID, VCLASS_BLOCKED, VCLASS_LIMITED};
	static const char *const states[] = {"invalid", "blocked", "limited"};

	for (int k = 0; k < lengthof(order); k++)
	{
		StringInfoData reason;
		int			nfail = 0;

		initStringInfo(&reason);
		for (int i = 0; i < res->nchecks; i++)
		{
			ValidationCheck *c = &res->checks[i];

			if (c->vclass != order[k] || c->passed_null || c->passed)
				continue;
			nfail++;
			if (nfail <= 3)
				appendStringInfo(&reason, "%s%s %.4g %s %.4g", nfail > 1 ? "; " : "",
								 c->name, c->observed, c->upper_bound ? ">" : "<", c->threshold);
		}
		if (nfail > 0)
		{
			if (nfail > 3)
				appendStringInfo(&reason, "; and %d more", nfail - 3);
			res->readiness = states[k];
			res->readiness_reason = reason.data;
			return;
		}
		pfree(reason.data);
	}
	res->readiness = "ready";
	res->readiness_reason = pstrdup("all checks passed");
}

static char *
validation_json(ValidationResult *res, const char *frequency, const char *target_unit,
				const double *thresholds)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"readiness\": ");
	escape_json(&buf, res->readiness);
	appendStringInfoString(&buf, ", \"reason\": ");
	escape_json(&buf, res->readiness_reason);
	appendStringInfoString(&buf, ", \"frequency\": ");
	escape_json(&buf, frequency);
	appendStringInfoString(&buf, ", \"target_unit\": ");
	escape_json(&buf, target_unit);
	appendStringInfoString(&buf, ", \"thresholds\": {");
	for (int i = 0; i < T_COUNT; i++)
	{
		appendStringInfo(&buf, "%s\"%s\": ", i > 0 ? ", " : "", threshold_names[i]);
		append_json_number(&buf, thresholds[i], false);
	}
	appendStringInfoString(&buf, "}, \"checks\": [");
	for (int i = 0; i < res->nchecks; i++)
	{
		ValidationCheck *c = &res->checks[i];

		appendStringInfoString(&buf, i > 0 ? ", {\"check_name\": " : "{\"check_name\": ");
		escape_json(&buf, c->name);
		appendStringInfoString(&buf, ", \"observed\": ");
		append_json_number(&buf, c->observed, c->observed_null);
		appendStringInfoString(&buf, ", \"threshold\": ");
		append_json_number(&buf, c->threshold, c->threshold_null);
		appendStringInfo(&buf, ", \"passed\": %s, \"class\": \"%s\", \"detail\": ",
						 c->passed_null ? "null" : c->passed ? "true" : "false",
						 class_name(c->vclass));
		if (c->detail)
			escape_json(&buf, c->detail);
		else
			appendStringInfoString(&buf, "null");
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	return buf.data;
}

/* Share a / b, NULL (observed_null) when b is 0. */
static double
share(double a, double b, bool *isnull)
{
	*isnull = (b <= 0);
	return *isnull ? 0.0 : a / b;
}

ValidationResult *
shelfops_validate(const char *tenant, const char *dataset_id, Jsonb *thresholds)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	ValidationResult *res = palloc0(sizeof(ValidationResult));
	CheckList	cl = {caller_cxt, 0, 0, NULL};
	double		th[T_COUNT];
	bool		overridden[T_COUNT] = {0};
	Oid			argtypes[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[5];
	int			rc;
	char	   *frequency,
			   *target_unit,
			   *rejected_json;
	bool		weekly,
				units,
				has_report,
				isnull;
	double		rows_read,
				rows_written,
				aggregated_rows;
	bool		rows_read_null,
				rows_written_null,
				aggregated_null;
	double		rej_total = 0,
				rej_bad_date = 0,
				rej_bad_quantity = 0,
				rej_duplicate = 0,
				rej_unknown_store = 0,
				rej_null_unattributed = 0,
				rej_null_column[NREQUIRED] = {0};
	double		nrows,
				nseries,
				nstores,
				nproducts,
				report_base;
	bool		store_level;
	char	   *date_min,
			   *date_max,
			   *worst_gap,
			   *shortest,
			   *json;
	bool		empty;
	ValidationCheck *c;

	memcpy(th, threshold_defaults, sizeof(th));
	if (thresholds != NULL)
		parse_thresholds(thresholds, th, overridden);

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));

	/* The dataset row and its load report. */
	args[0] = CStringGetTextDatum(tenant);
	args[1] = CStringGetTextDatum(dataset_id);
	rc = SPI_execute_with_args(dataset_sql, 2, argtypes, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading shelfops.datasets failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("dataset \"%s\" of tenant \"%s\" does not exist", dataset_id, tenant),
				 errdetail("No row of shelfops.datasets visible to this session has tenant_id \"%s\" and dataset_id \"%s\".",
						   tenant, dataset_id),
				 errhint("Load the dataset first, or check the tenant (setting shelfops.tenant_id).")));

	frequency = row_text(1, caller_cxt);
	target_unit = row_text(2, caller_cxt);
	weekly = strcmp(frequency, "weekly") == 0;
	units = strcmp(target_unit, "units") == 0;
	has_report = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	rows_read = row_f8(5, &rows_read_null);
	rows_written = row_f8(6, &rows_written_null);
	aggregated_rows = row_f8(7, &aggregated_null);
	rejected_json = row_text(8, caller_cxt);

	if (th[T_MIN_SERIES_PERIODS] < 0)
		th[T_MIN_SERIES_PERIODS] = weekly ? MIN_SERIES_PERIODS_WEEKLY : MIN_SERIES_PERIODS_DAILY;

	/* Reject counts by reason. */
	args[0] = CStringGetTextDatum(rejected_json);
	rc = SPI_execute_with_args(rejects_sql, 1, argtypes, args, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading the load report failed: %s", SPI_result_code_string(rc));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *reason = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		double		n = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));

		CHECK_FOR_INTERRUPTS();
		if (isnull || !isfinite(n) || n < 0)
			continue;
		rej_total += n;
		if (strcmp(reason, REJECT_BAD_DATE) == 0)
			rej_bad_date += n;
		else if (strcmp(reason, REJECT_BAD_QUANTITY) == 0)
			rej_bad_quantity += n;
		else if (strcmp(reason, REJECT_DUPLICATE_KEY) == 0)
			rej_duplicate += n;
		else if (strcmp(reason, REJECT_UNKNOWN_STORE) == 0)
			rej_unknown_store += n;
		else if (strcmp(reason, REJECT_NULL_REQUIRED) == 0)
			rej_null_unattributed += n;
		else if (strncmp(reason, REJECT_NULL_REQUIRED ":", strlen(REJECT_NULL_REQUIRED) + 1) == 0)
		{
			const char *col = reason + strlen(REJECT_NULL_REQUIRED) + 1;

			for (int k = 0; k < NREQUIRED; k++)
				if (strcmp(col, required_columns[k]) == 0)
					rej_null_column[k] += n;
		}
	}

	/* The sales statistics, in one statement. */
	{
		Oid			stat_types[4] = {TEXTOID, TEXTOID, BOOLOID, FLOAT8OID};
		Datum		stat_args[4];

		stat_args[0] = CStringGetTextDatum(tenant);
		stat_args[1] = CStringGetTextDatum(dataset_id);
		stat_args[2] = BoolGetDatum(weekly);
		stat_args[3] = Float8GetDatum(th[T_MIN_SERIES_PERIODS]);
		rc = SPI_execute_with_args(stats_sql, 4, stat_types, stat_args, NULL, true, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "computing the sales statistics failed: %s", SPI_result_code_string(rc));
	}
	nrows = row_f8_or(1, 0);
	nseries = row_f8_or(2, 0);
	nstores = row_f8_or(3, 0);
	nproducts = row_f8_or(4, 0);
	store_level = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
	date_min = row_text(6, caller_cxt);
	date_max = row_text(7, caller_cxt);
	worst_gap = row_text(15, caller_cxt);
	shortest = row_text(17, caller_cxt);
	empty = (nrows == 0);

	/*
	 * Load-report checks.  The denominator is the rows the loader read; when
	 * it did not say, the rows it kept (or the table's rows) plus the rejects.
	 */
	if (!rows_read_null && rows_read > 0)
		report_base = rows_read;
	else
		report_base = (!rows_written_null ? rows_written : nrows) + rej_total;

	{
		struct
		{
			const char *name;
			double		rejects;
			ThresholdKey key;
			bool		success;	/* report 1 - rate, as a minimum */
			const char *reason;
		}			lr[] = {
			{"date_parse_success", rej_bad_date, T_MIN_DATE_PARSE_SUCCESS, true, REJECT_BAD_DATE},
			{"quantity_parse_success", rej_bad_quantity, T_MIN_QUANTITY_PARSE_SUCCESS, true, REJECT_BAD_QUANTITY},
			{"duplicate_rate", rej_duplicate, T_MAX_DUPLICATE_RATE, false, REJECT_DUPLICATE_KEY},
			{"store_ref_missing_rate", rej_unknown_store, T_MAX_STORE_REF_MISSING_RATE, false, REJECT_UNKNOWN_STORE},
		};

		for (int i = 0; i < lengthof(lr); i++)
		{
			double		rate = report_base > 0 ? lr[i].rejects / report_base : 0.0;

			c = add_threshold_check(&cl, lr[i].name, VCLASS_INVALID,
									lr[i].success ? 1.0 - rate : rate, false,
									th[lr[i].key], !lr[i].success);
			if (!has_report)
				set_detail(&cl, c, "no load report: no rejects recorded");
			else if (i == 2 && !aggregated_null && aggregated_rows > 0)
				set_detail(&cl, c, "%.0f %s rejects of %.0f rows read; %.0f transaction rows aggregated to the grain are not duplicates",
						   lr[i].rejects, lr[i].reason, report_base, aggregated_rows);
			else
				set_detail(&cl, c, "%.0f %s rejects of %.0f rows read", lr[i].rejects, lr[i].reason,
						   report_base);
		}
	}

	/*
	 * Null rates, one row per column.  Required columns: NULL or blank values
	 * left in the table (the contract forbids NULL, so only blank ids) plus the
	 * load's null rejects for that column; an unattributed null_required
	 * count is charged to every required column (an upper bound, said so).
	 */
	{
		double		blank[NREQUIRED] = {row_f8_or(22, 0), row_f8_or(23, 0), 0, 0};
		double		optional_nulls[NOPTIONAL] = {row_f8_or(24, 0), row_f8_or(25, 0),
		row_f8_or(26, 0), row_f8_or(27, 0)};
		double		base = Max(report_base, nrows);

		for (int k = 0; k < NREQUIRED; k++)
		{
			char		name[64];
			double		nulls = blank[k] + rej_null_column[k] + rej_null_unattributed;
			bool		obs_null;
			double		rate = share(nulls, base, &obs_null);

			snprintf(name, sizeof(name), "null_rate:%s", required_columns[k]);
			c = add_threshold_check(&cl, name, VCLASS_INVALID, rate, obs_null,
									th[T_MAX_REQUIRED_NULL_RATE], true);
			if (obs_null)
				set_detail(&cl, c, "no rows");
			else if (rej_null_unattributed > 0)
				set_detail(&cl, c, "required; %.0f missing of %.0f rows (includes %.0f null_required rejects not attributed to a column)",
						   nulls, base, rej_null_unattributed);
			else
				set_detail(&cl, c, "required; %.0f missing of %.0f rows", nulls, base);
		}
		for (int k = 0; k < NOPTIONAL; k++)
		{
			char		name[64];
			bool		obs_null;
			double		rate = share(optional_nulls[k], nrows, &obs_null);

			snprintf(name, sizeof(name), "null_rate:%s", optional_columns[k]);
			c = add_info_check(&cl, name, rate, obs_null);
			if (obs_null)
				set_detail(&cl, c, "optional; no rows");
			else
				set_detail(&cl, c, "optional (informational); %.0f NULL of %.0f rows",
						   optional_nulls[k], nrows);
		}
	}

	/* Dates: future and implausibly old. */
	{
		bool		future_null;
		double		future_days = row_f8(9, &future_null);
		bool		first_null;
		double		since_first = row_f8(8, &first_null);

		c = add_threshold_check(&cl, "max_future_days", VCLASS_INVALID, future_days, future_null,
								th[T_MAX_FUTURE_DAYS], true);
		if (future_null)
			set_detail(&cl, c, "no rows");
		else
			set_detail(&cl, c, "last date %s is %.0f days after today", date_max, future_days);

		c = add_threshold_check(&cl, "history_years", VCLASS_INVALID, since_first / 365.25, first_null,
								th[T_MAX_HISTORY_YEARS], true);
		if (first_null)
			set_detail(&cl, c, "no rows");
		else
			set_detail(&cl, c, "first date %s, %.0f days before today", date_min, since_first);
	}

	/* Calendar gaps per series, in periods of the dataset's frequency. */
	{
		double		missing = row_f8_or(11, 0);
		double		expected = row_f8_or(12, 0);
		bool		max_null;
		double		max_gap = row_f8(13, &max_null);
		double		gappy = row_f8_or(14, 0);
		double		off_grid = row_f8_or(28, 0);
		bool		obs_null;
		double		gap = share(missing, expected, &obs_null);
		const char *unit = weekly ? "weeks" : "days";

		c = add_threshold_check(&cl, "calendar_gap_share", VCLASS_LIMITED, gap, obs_null,
								th[T_MAX_CALENDAR_GAP_SHARE], true);
		if (obs_null)
			set_detail(&cl, c, "no rows");
		else if (weekly && off_grid > 0)
			set_detail(&cl, c, "%.0f of %.0f expected %s missing; %.0f of %.0f series have a gap; %.0f weekly series have dates on more than one weekday",
					   missing, expected, unit, gappy, nseries, off_grid);
		else
			set_detail(&cl, c, "%.0f of %.0f expected %s missing; %.0f of %.0f series have a gap",
					   missing, expected, unit, gappy, nseries);

		c = add_info_check(&cl, "max_series_gap_share", max_gap, max_null);
		if (max_null)
			set_detail(&cl, c, "no rows");
		else
			set_detail(&cl, c, "worst series %s; %.0f series with any gap", worst_gap, gappy);
	}

	/* Series length. */
	{
		bool		min_null;
		double		min_n = row_f8(16, &min_null);
		double		nshort = row_f8_or(18, 0);
		bool		share_null;
		double		short_share = share(nshort, nseries, &share_null);
		const char *unit = weekly ? "weeks" : "days";

		c = add_threshold_check(&cl, "min_series_history", VCLASS_INFO, min_n, min_null,
								th[T_MIN_SERIES_PERIODS], false);
		if (min_null)
			set_detail(&cl, c, "no series");
		else
			set_detail(&cl, c, "shortest series %s has %.0f %s with data; readiness uses short_series_share",
					   shortest, min_n, unit);

		c = add_threshold_check(&cl, "short_series_share", VCLASS_LIMITED, short_share, share_null,
								th[T_MAX_SHORT_SERIES_SHARE], true);
		if (share_null)
			set_detail(&cl, c, "no series");
		else
			set_detail(&cl, c, "%.0f of %.0f series have fewer than %g %s with data",
					   nshort, nseries, th[T_MIN_SERIES_PERIODS], unit);
	}

	/* Counts. */
	c = add_threshold_check(&cl, "series_count", VCLASS_BLOCKED, nseries, false,
							th[T_MIN_SERIES_COUNT], false);
	set_detail(&cl, c, "%.0f rows in %.0f store x product series", nrows, nseries);
	c = add_threshold_check(&cl, "store_count", VCLASS_BLOCKED, nstores, false,
							th[T_MIN_STORE_COUNT], false);
	set_detail(&cl, c, "%.0f distinct store_id", nstores);
	c = add_info_check(&cl, "product_count", nproducts, false);
	if (empty)
		set_detail(&cl, c, "no rows");
	else if (store_level)
		set_detail(&cl, c, "store-level dataset (product_id = 'all'): the tenant readiness minimum of 25 products does not apply");
	else
		set_detail(&cl, c, "%.0f distinct product_id; tenant ML readiness wants at least 25 (%s)",
				   nproducts, nproducts >= 25 ? "met" : "not met");

	/* Negative quantities: limiting for unit targets, informational for money. */
	{
		double		nneg = row_f8_or(19, 0);
		bool		obs_null;
		double		neg_share = share(nneg, nrows, &obs_null);

		if (units)
			c = add_threshold_check(&cl, "negative_quantity_share", VCLASS_LIMITED, neg_share, obs_null,
									th[T_MAX_NEGATIVE_QUANTITY_SHARE], true);
		else
			c = add_info_check(&cl, "negative_quantity_share", neg_share, obs_null);
		if (obs_null)
			set_detail(&cl, c, "no rows");
		else if (units)
			set_detail(&cl, c, "%.0f of %.0f rows negative; target is units", nneg, nrows);
		else
			set_detail(&cl, c, "%.0f of %.0f rows negative; target is %s, signed net amounts (returns) are expected",
					   nneg, nrows, target_unit);
	}

	/* Degenerate series. */
	{
		double		nconst = row_f8_or(20, 0);
		double		nzero = row_f8_or(21, 0);
		bool		obs_null;
		double		v;

		v = share(nconst, nseries, &obs_null);
		c = add_threshold_check(&cl, "constant_series_share", VCLASS_LIMITED, v, obs_null,
								th[T_MAX_CONSTANT_SERIES_SHARE], true);
		if (obs_null)
			set_detail(&cl, c, "no series");
		else
			set_detail(&cl, c, "%.0f of %.0f series never change (all-zero ones included)", nconst, nseries);

		v = share(nzero, nseries, &obs_null);
		c = add_threshold_check(&cl, "all_zero_series_share", VCLASS_LIMITED, v, obs_null,
								th[T_MAX_ALL_ZERO_SERIES_SHARE], true);
		if (obs_null)
			set_detail(&cl, c, "no series");
		else
			set_detail(&cl, c, "%.0f of %.0f series are zero on every period", nzero, nseries);
	}

	/* History length of the dataset, as the reference's readiness counts it. */
	{
		double		days = row_f8_or(10, 0);

		c = add_threshold_check(&cl, "history_days", VCLASS_LIMITED, days, false,
								th[T_MIN_HISTORY_DAYS], false);
		if (empty)
			set_detail(&cl, c, "no rows");
		else
			set_detail(&cl, c, "%s .. %s", date_min, date_max);
	}

	res->nchecks = cl.n;
	res->checks = cl.items;
	{
		MemoryContext old = MemoryContextSwitchTo(caller_cxt);

		decide_readiness(res);
		json = validation_json(res, frequency, target_unit, th);
		MemoryContextSwitchTo(old);
	}

	/* Store the outcome. */
	args[0] = CStringGetTextDatum(tenant);
	args[1] = CStringGetTextDatum(dataset_id);
	args[2] = CStringGetTextDatum(res->readiness);
	args[3] = CStringGetTextDatum(res->readiness_reason);
	args[4] = CStringGetTextDatum(json);
	rc = SPI_execute_with_args(store_sql, 5, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not store the validation of dataset \"%s\" of tenant \"%s\"",
						dataset_id, tenant),
				 errdetail("The UPDATE of shelfops.datasets changed %llu rows.",
						   (unsigned long long) SPI_processed)));

	SPI_finish();
	return res;
}

Datum
shelfops_validate_dataset(PG_FUNCTION_ARGS)
{
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	char	   *tenant = shelfops_tenant_arg(fcinfo, 1);
	Jsonb	   *thresholds = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ValidationResult *res;

	InitMaterializedSRF(fcinfo, 0);
	res = shelfops_validate(tenant, dataset_id, thresholds);

	for (int i = 0; i < res->nchecks; i++)
	{
		ValidationCheck *c = &res->checks[i];
		Datum		values[5];
		bool		nulls[5] = {false, c->observed_null, c->threshold_null, c->passed_null, c->detail == NULL};

		values[0] = CStringGetTextDatum(c->name);
		values[1] = Float8GetDatum(c->observed);
		values[2] = Float8GetDatum(c->threshold);
		values[3] = BoolGetDatum(c->passed);
		values[4] = c->detail ? CStringGetTextDatum(c->detail) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}
