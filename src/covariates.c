/*
 * covariates.c
 *	  Owns planned covariates: a caller's table or view of the covariates known
 *	  in advance for forecast targets (opening days, promotions, holidays,
 *	  prices), read and validated into the target periods of a SeriesSet before
 *	  shelfops_forecast encodes them (the covariates => argument).
 *
 * The relation has the key columns store_id, product_id, sale_date and any of
 * the canonical covariate columns of shelfops.sales (promo_count,
 * is_promotional, is_holiday, holiday_type, is_school_holiday, is_open,
 * unit_price, unit_cost), each cast to the sales contract's type.  Horizon
 * safety: only covariates of the target periods origin + 1 .. origin + horizon
 * are written, never y, so a plan cannot reach the history features.  Every
 * row must name a series of the dataset and a target period, once; an unknown
 * column, a NULL key, an unknown series, a date outside the targets (or off
 * the weekly grid) and a duplicate key are each an ERROR naming the row.  A
 * NULL cell leaves the value as it was: the stored row's when the target lies
 * within the data (forecasting from an earlier as_of), unknown after it.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "covariates.h"
#include "util.h"

/* The columns a plan may have, with the cast to the sales contract's type. */
typedef struct PlanColumn
{
	const char *name;
	const char *cast;
	int			cov;			/* SeriesCovariate, or -1 for a key column */
} PlanColumn;

static const PlanColumn plan_columns[] = {
	{"store_id", "text", -1},
	{"product_id", "text", -1},
	{"sale_date", "date", -1},
	{"promo_count", "float8", SCOV_PROMO_COUNT},
	{"is_promotional", "boolean", SCOV_IS_PROMOTIONAL},
	{"is_holiday", "boolean", SCOV_IS_HOLIDAY},
	{"holiday_type", "text", SCOV_HOLIDAY_TYPE},
	{"is_school_holiday", "boolean", SCOV_IS_SCHOOL_HOLIDAY},
	{"is_open", "boolean", SCOV_IS_OPEN},
	{"unit_price", "float8", SCOV_UNIT_PRICE},
	{"unit_cost", "float8", SCOV_UNIT_COST},
};
#define NPLAN_COLUMNS lengthof(plan_columns)
#define PLAN_NKEYS 3

static int
plan_column(const char *name)
{
	for (int i = 0; i < (int) NPLAN_COLUMNS; i++)
		if (strcmp(plan_columns[i].name, name) == 0)
			return i;
	return -1;
}

/* The code of a holiday type in the set's dictionary, added when new. */
static float
holiday_code(SeriesSet *set, const char *type)
{
	MemoryContext cxt = GetMemoryChunkContext(set);

	for (int h = 0; h < set->nholiday_types; h++)
		if (strcmp(set->holiday_types[h], type) == 0)
			return (float) h;
	if (set->holiday_types == NULL)
		set->holiday_types = MemoryContextAlloc(cxt, sizeof(char *));
	else
		set->holiday_types = repalloc(set->holiday_types, (set->nholiday_types + 1) * sizeof(char *));
	set->holiday_types[set->nholiday_types] = MemoryContextStrdup(cxt, type);
	return (float) set->nholiday_types++;
}

int64
covariates_apply(Oid relid, SeriesSet *set, int origin, int horizon)
{
	char	   *relname = get_rel_name(relid);
	char	   *nspname;
	char	   *qualified;
	char	   *query_name;
	int			present[NPLAN_COLUMNS];	/* query column (1-based) of each, 0 absent */
	int			ncols = 0;
	StringInfoData sql;
	StringInfoData allowed;
	Portal		portal;
	bool	   *seen;
	int64		applied = 0;
	DateADT		first_target = series_period_date(set, origin + 1);
	DateADT		last_target = series_period_date(set, origin + horizon);
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	MemoryContext caller = CurrentMemoryContext;

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("covariates relation with OID %u does not exist", relid)));
	nspname = get_namespace_name(get_rel_namespace(relid));
	query_name = quote_qualified_identifier(nspname, relname);
	/* messages name it as the caller would (unqualified when on the search path) */
	qualified = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));
	memset(present, 0, sizeof(present));
	initStringInfo(&allowed);
	for (int i = 0; i < (int) NPLAN_COLUMNS; i++)
		appendStringInfo(&allowed, "%s%s", i > 0 ? ", " : "", plan_columns[i].name);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* The relation's columns: every one must be a plan column. */
	args[0] = ObjectIdGetDatum(relid);
	if (SPI_execute_with_args("SELECT attname::text FROM pg_catalog.pg_attribute "
							  "WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the columns of %s", qualified);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		int			c = plan_column(name);

		if (c < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("covariates relation %s has an unknown column \"%s\"", qualified, name),
					 errdetail("A plan of covariates has the columns: %s.", allowed.data),
					 errhint("Select the planned columns through a view.")));
		present[c] = 1;
	}
	for (int c = 0; c < PLAN_NKEYS; c++)
		if (!present[c])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("covariates relation %s has no column \"%s\"", qualified, plan_columns[c].name),
					 errdetail("A plan of covariates is keyed by store_id, product_id and sale_date.")));

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int c = 0; c < (int) NPLAN_COLUMNS; c++)
	{
		if (!present[c])
			continue;
		present[c] = ++ncols;
		appendStringInfo(&sql, "%s%s::%s", ncols > 1 ? ", " : "",
						 quote_identifier(plan_columns[c].name), plan_columns[c].cast);
	}
	/* in key order: the first bad row an error names does not depend on the heap's order */
	appendStringInfo(&sql, " FROM %s ORDER BY 1, 2, 3", query_name);

	seen = MemoryContextAllocZero(caller, Max((Size) set->nseries * horizon, 1));
	portal = SPI_cursor_open_with_args(NULL, sql.data, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			char	   *store = SPI_getvalue(tup, desc, 1);
			char	   *product = SPI_getvalue(tup, desc, 2);
			bool		isnull;
			Datum		d = SPI_getbinval(tup, desc, 3, &isnull);
			DateADT		date;
			int			s,
						p;
			Series	   *ser;

			if (store == NULL || product == NULL || isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NOT_NULL_VIOLATION),
						 errmsg("covariates relation %s has a row with a NULL %s", qualified,
								store == NULL ? "store_id" : product == NULL ? "product_id" : "sale_date")));
			date = DatumGetDateADT(d);
			s = series_find(set, store, product);
			if (s < 0)
				ereport(ERROR,
						(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
						 errmsg("covariates relation %s names store \"%s\" product \"%s\", which is not a series of dataset \"%s\"",
								qualified, store, product, set->dataset_id)));
			if (date < first_target || date > last_target || !series_date_on_grid(set, date))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("covariates relation %s has store \"%s\" product \"%s\" on %s, which is not a forecast target",
								qualified, store, product, shelfops_iso_date(date)),
						 errdetail("The targets of this forecast are the %s periods starting %s .. %s.",
								   series_frequency_name(set->frequency),
								   shelfops_iso_date(first_target), shelfops_iso_date(last_target)),
						 errhint("Planned covariates describe only the forecast's target periods.")));
			p = series_period_of_date(set, date);
			if (seen[(Size) s * horizon + (p - origin - 1)])
				ereport(ERROR,
						(errcode(ERRCODE_UNIQUE_VIOLATION),
						 errmsg("covariates relation %s has store \"%s\" product \"%s\" on %s more than once",
								qualified, store, product, shelfops_iso_date(date))));
			seen[(Size) s * horizon + (p - origin - 1)] = true;
			ser = &set->series[s];
			if (p >= set->nperiods)
				continue;		/* past a shorter-horizon set (a challenger's) */

			for (int c = PLAN_NKEYS; c < (int) NPLAN_COLUMNS; c++)
			{
				int			k = plan_columns[c].cov;
				float		v;

				if (!present[c])
					continue;
				d = SPI_getbinval(tup, desc, present[c], &isnull);
				if (isnull)
					continue;
				if (k == SCOV_HOLIDAY_TYPE)
				{
					char	   *type = TextDatumGetCString(d);

					v = holiday_code(set, type);
				}
				else if (strcmp(plan_columns[c].cast, "boolean") == 0)
					v = DatumGetBool(d) ? 1.0f : 0.0f;
				else
				{
					double		x = DatumGetFloat8(d);

					if (isnan(x) || isinf(x))
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("covariates relation %s has %s = %g for store \"%s\" product \"%s\" on %s",
										qualified, plan_columns[c].name, x, store, product,
										shelfops_iso_date(date))));
					v = (float) x;
				}
				ser->cov[k][p] = v;
				/* as series.c: flags count as present once true, the others once known */
				if (!(k == SCOV_IS_PROMOTIONAL || k == SCOV_IS_HOLIDAY) || v == 1.0f)
					set->has_cov[k] = true;
			}
			applied++;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	pfree(seen);
	/* encodings bound to the set before (features.c caches them) are stale now */
	set->load_id = 0;
	return applied;
}
