/*
 * shadow.c
 *	  Owns shadow scoring: the challengers' forecasts written beside the
 *	  champion's into shelfops.shadow_predictions when shelfops_forecast(...,
 *	  shadow => true) serves the champion, their actuals filled from
 *	  shelfops.sales as they arrive (shelfops_score_shadow), per-version metrics
 *	  on the matched rows, and the pair evidence the arena decides on
 *	  (shadow_evidence, shelfops._shadow_evidence).
 *
 * Shadow rows are keyed by champion and challenger version, series, origin and
 * target date; writing upserts and never deletes (the reference wiped every
 * shadow row of the tenant on each run).  Both members of a pair are always
 * measured on the same rows.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "shelfops.h"
#include "ident.h"
#include "metrics.h"
#include "series.h"
#include "forecast.h"
#include "predict.h"
#include "util.h"
#include "shadow.h"

PG_FUNCTION_INFO_V1(shelfops_score_shadow);
PG_FUNCTION_INFO_V1(shelfops_shadow_evidence);

/* Keyed forecast rows as SQL arrays, for joining two forecasts in SQL. */
typedef struct ShadowArrays
{
	Datum		stores;
	Datum		products;
	Datum		origins;
	Datum		targets;
	Datum		values;
} ShadowArrays;

static void
shadow_arrays(const ForecastResult *res, ShadowArrays *out)
{
	int			n = res->rows->n;
	Datum	   *s = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *p = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *o = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *t = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *v = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		const Series *ser = &res->set->series[res->rows->series[i]];

		s[i] = CStringGetTextDatum(ser->store_id);
		p[i] = CStringGetTextDatum(ser->product_id);
		o[i] = DateADTGetDatum(series_period_date(res->set, res->rows->origin[i]));
		t[i] = DateADTGetDatum(series_period_date(res->set, res->rows->period[i]));
		v[i] = Float8GetDatum(res->forecast[i]);
	}
	out->stores = PointerGetDatum(construct_array(s, n, TEXTOID, -1, false, TYPALIGN_INT));
	out->products = PointerGetDatum(construct_array(p, n, TEXTOID, -1, false, TYPALIGN_INT));
	out->origins = PointerGetDatum(construct_array(o, n, DATEOID, 4, true, TYPALIGN_INT));
	out->targets = PointerGetDatum(construct_array(t, n, DATEOID, 4, true, TYPALIGN_INT));
	out->values = PointerGetDatum(construct_array(v, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Error context: which challenger was forecasting when an error came up. */
static void
shadow_write_context(void *arg)
{
	errcontext("forecasting challenger version %d for shadow scoring", *(int *) arg);
}

int64
shadow_write(const char *tenant_id, const char *model_name, const StoredModel *champion,
			 const ForecastResult *res, int horizon, DateADT as_of, bool as_of_given, double level,
			 Oid covariates)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	int		   *challengers = NULL;
	int			nchallengers = 0;
	ShadowArrays champ;
	int64		written = 0;
	ErrorContextCallback errcb;
	int			current = 0;

	/*
	 * the newest challengers of the same model and tenant, at most
	 * shelfops.shadow_max_challengers: every challenger costs a forecast of
	 * every series, and rejected candidates accumulate as challengers
	 */
	{
		Oid			types[4] = {TEXTOID, TEXTOID, INT4OID, INT4OID};
		Datum		args[4];

		args[0] = CStringGetTextDatum(tenant_id);
		args[1] = CStringGetTextDatum(model_name);
		args[2] = Int32GetDatum(champion->version);
		args[3] = Int32GetDatum(shelfops_shadow_max_challengers);
		SPI_connect();
		if (SPI_execute_with_args("SELECT version FROM (SELECT version FROM shelfops.model_versions "
								  "WHERE tenant_id = $1 AND model_name = $2 AND status = 'challenger' "
								  "AND version <> $3 ORDER BY version DESC LIMIT $4) newest ORDER BY version",
								  4, types, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the challengers of model \"%s\"", model_name);
		nchallengers = (int) SPI_processed;
		challengers = MemoryContextAlloc(caller, sizeof(int) * Max(nchallengers, 1));
		for (int i = 0; i < nchallengers; i++)
		{
			bool		isnull;

			challengers[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));
		}
		SPI_finish();
	}
	if (nchallengers == 0)
		return 0;

	shadow_arrays(res, &champ);
	work = AllocSetContextCreate(caller, "shelfops shadow challenger", ALLOCSET_DEFAULT_SIZES);
	errcb.callback = shadow_write_context;
	errcb.arg = &current;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	for (int c = 0; c < nchallengers; c++)
	{
		MemoryContext old = MemoryContextSwitchTo(work);
		StoredModel ch;
		ForecastResult *chres;
		ShadowArrays chal;
		Oid			types[14] = {TEXTOID, TEXTOID, INT4OID, INT4OID,
			TEXTARRAYOID, TEXTARRAYOID, DATEARRAYOID, DATEARRAYOID, FLOAT8ARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, DATEARRAYOID, DATEARRAYOID, FLOAT8ARRAYOID};
		Datum		args[14];
		int			rc;

		current = challengers[c];
		stored_model_fetch(tenant_id, model_name, challengers[c], false, &ch);
		chres = forecast_from_origin(tenant_id, &ch, Min(horizon, ch.horizon), as_of, as_of_given, level,
									 covariates, horizon);
		shadow_arrays(chres, &chal);

		args[0] = CStringGetTextDatum(tenant_id);
		args[1] = CStringGetTextDatum(model_name);
		args[2] = Int32GetDatum(champion->version);
		args[3] = Int32GetDatum(ch.version);
		args[4] = champ.stores;
		args[5] = champ.products;
		args[6] = champ.origins;
		args[7] = champ.targets;
		args[8] = champ.values;
		args[9] = chal.stores;
		args[10] = chal.products;
		args[11] = chal.origins;
		args[12] = chal.targets;
		args[13] = chal.values;
		SPI_connect();
		rc = SPI_execute_with_args(
								   "INSERT INTO shelfops.shadow_predictions AS sp (tenant_id, model_name, "
								   "champion_version, challenger_version, store_id, product_id, forecast_origin, "
								   "target_date, champion_prediction, challenger_prediction) "
								   "SELECT $1, $2, $3, $4, c.s, c.p, c.o, c.t, c.v, h.v "
								   "FROM unnest($5, $6, $7, $8, $9) AS c(s, p, o, t, v) "
								   "JOIN unnest($10, $11, $12, $13, $14) AS h(s, p, o, t, v) "
								   "ON h.s = c.s AND h.p = c.p AND h.o = c.o AND h.t = c.t "
								   "ON CONFLICT (tenant_id, model_name, champion_version, challenger_version, "
								   "store_id, product_id, forecast_origin, target_date) DO UPDATE SET "
								   "champion_prediction = EXCLUDED.champion_prediction, "
								   "challenger_prediction = EXCLUDED.challenger_prediction, "
								   "actual_demand = NULL, champion_error = NULL, challenger_error = NULL, "
								   "scored_at = NULL, created_at = now()",
								   14, types, args, NULL, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "could not write shadow predictions: %s", SPI_result_code_string(rc));
		written += SPI_processed;
		SPI_finish();
		MemoryContextSwitchTo(old);
		MemoryContextReset(work);
	}
	error_context_stack = errcb.previous;
	MemoryContextDelete(work);
	return written;
}

int64
shadow_fill_actuals(const char *tenant_id, const char *model_name)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	int			rc;
	int64		n;

	args[0] = CStringGetTextDatum(tenant_id);
	args[1] = CStringGetTextDatum(model_name);
	SPI_connect();
	rc = SPI_execute_with_args(
							   "UPDATE shelfops.shadow_predictions AS sp SET actual_demand = s.quantity, "
							   "champion_error = abs(sp.champion_prediction - s.quantity), "
							   "challenger_error = abs(sp.challenger_prediction - s.quantity), "
							   "scored_at = now() "
							   "FROM shelfops.model_versions mv, shelfops.sales s "
							   "WHERE sp.tenant_id = $1 AND sp.model_name = $2 "
							   "AND mv.tenant_id = sp.tenant_id AND mv.model_name = sp.model_name "
							   "AND mv.version = sp.champion_version "
							   "AND s.tenant_id = sp.tenant_id AND s.dataset_id = mv.dataset_id "
							   "AND s.store_id = sp.store_id AND s.product_id = sp.product_id "
							   "AND s.sale_date = sp.target_date "
							   "AND (sp.scored_at IS NULL OR sp.actual_demand IS DISTINCT FROM s.quantity)",
							   2, types, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not score shadow predictions: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	SPI_finish();
	return n;
}

/* ERROR unless (tenant, model) has at least one version. */
static void
shadow_check_model(const char *tenant_id, const char *model_name)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	bool		found;

	args[0] = CStringGetTextDatum(tenant_id);
	args[1] = CStringGetTextDatum(model_name);
	SPI_connect();
	if (SPI_execute_with_args("SELECT 1 FROM shelfops.model_versions WHERE tenant_id = $1 AND model_name = $2",
							  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read shelfops.model_versions");
	found = SPI_processed > 0;
	SPI_finish();
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" of tenant \"%s\" does not exist", model_name, tenant_id),
				 errdetail("No version of the model is registered in shelfops.model_versions.")));
}

/*
 * Half-width of a version's 90 % interval from its stored conformal
 * calibration, or -1 when it has none (coverage is then NULL).
 */
static double
version_halfwidth(const char *tenant_id, const char *model_name, int version)
{
	StoredModel sm;

	memset(&sm, 0, sizeof(sm));
	stored_model_fetch(tenant_id, model_name, version, true, &sm);
	return sm.calibration ? conformal_halfwidth(sm.calibration, 0.9) : -1;
}

/* Jsonb from JSON text. */
static Jsonb *
shadow_jsonb(const char *text)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

/*
 * The metric document of forecast[] against actual[] (n rows, in series
 * order: series_of[i] indexes scale[]), with MASE averaged over series.
 */
static Jsonb *
shadow_metrics(int n, const double *actual, const double *forecast, const int *series_of,
			   const double *scale, int nseries, const double *cost, const bool *cost_null,
			   const double *price, const bool *price_null, int season, double halfwidth)
{
	ShelfopsMetricsInput in = {0};
	double	   *lower = NULL,
			   *upper = NULL;
	ShelfopsMetrics m;
	double	   *abs_sum = palloc0(sizeof(double) * Max(nseries, 1));
	int		   *cnt = palloc0(sizeof(int) * Max(nseries, 1));
	double		mase_sum = 0;
	int			mase_n = 0;
	char	   *text;
	StringInfoData buf;

	in.n = n;
	in.actual = actual;
	in.forecast = forecast;
	if (cost)
	{
		in.unit_cost.values = cost;
		in.unit_cost.isnull = cost_null;
	}
	if (price)
	{
		in.unit_price.values = price;
		in.unit_price.isnull = price_null;
	}
	in.season = season;
	if (halfwidth >= 0)
	{
		/* the version's own conformal interval around each shadow forecast */
		lower = palloc(sizeof(double) * Max(n, 1));
		upper = palloc(sizeof(double) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			lower[i] = Max(forecast[i] - halfwidth, 0.0);
			upper[i] = forecast[i] + halfwidth;
		}
		in.lower = lower;
		in.upper = upper;
	}
	shelfops_metrics_compute(&in, &m);

	for (int i = 0; i < n; i++)
	{
		abs_sum[series_of[i]] += fabs(actual[i] - forecast[i]);
		cnt[series_of[i]]++;
	}
	for (int s = 0; s < nseries; s++)
	{
		bool		isnull;
		double		v;

		if (cnt[s] == 0 || isnan(scale[s]))
			continue;
		v = shelfops_mase_scaled(abs_sum[s] / cnt[s], scale[s], &isnull);
		if (!isnull)
		{
			mase_sum += v;
			mase_n++;
		}
	}
	m.mase.isnull = (mase_n == 0);
	m.mase.value = mase_n > 0 ? mase_sum / mase_n : 0;

	text = JsonbToCString(NULL, &shelfops_metrics_to_jsonb(&m)->root, -1);
	initStringInfo(&buf);
	/* drop the closing brace to add the row count, as training's documents do */
	appendBinaryStringInfo(&buf, text, strlen(text) - 1);
	appendStringInfo(&buf, ", \"rows\": %d, \"mase_series\": %d}", n, mase_n);
	return shadow_jsonb(buf.data);
}

static int
shadow_date_cmp(const void *a, const void *b)
{
	DateADT		x = *(const DateADT *) a;
	DateADT		y = *(const DateADT *) b;

	return (x > y) - (x < y);
}

void
shadow_evidence(const char *tenant_id, const char *model_name, int champion_version,
				int challenger_version, bool fill_actuals, ShadowEvidence *out)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			types[4] = {TEXTOID, TEXTOID, INT4OID, INT4OID};
	Datum		args[4];
	int			n;
	double	   *actual,
			   *champ,
			   *chal,
			   *cost,
			   *price;
	bool	   *cost_null,
			   *price_null;
	bool		any_cost = false,
				any_price = false;
	int		   *series_of;
	char	  **keys;
	double	   *scale;
	int			nseries = 0;
	int			season = 7;
	int			days = 0;

	if (fill_actuals)
		shadow_fill_actuals(tenant_id, model_name);

	memset(out, 0, sizeof(*out));
	out->champion_version = champion_version;
	out->challenger_version = challenger_version;
	out->first_target = DATEVAL_NOBEGIN;
	out->last_target = DATEVAL_NOBEGIN;

	args[0] = CStringGetTextDatum(tenant_id);
	args[1] = CStringGetTextDatum(model_name);
	args[2] = Int32GetDatum(champion_version);
	args[3] = Int32GetDatum(challenger_version);
	/* not read-only: a fresh snapshot sees the actuals just filled */
	SPI_connect();

	/* the scored rows of the pair, in series order, with the sales row's costs */
	if (SPI_execute_with_args(
							  "SELECT sp.store_id || E'\\x01' || sp.product_id, sp.target_date, sp.actual_demand, "
							  "sp.champion_prediction, sp.challenger_prediction, s.unit_cost, s.unit_price, "
							  "d.frequency "
							  "FROM shelfops.shadow_predictions sp "
							  "JOIN shelfops.model_versions mv ON mv.tenant_id = sp.tenant_id "
							  "AND mv.model_name = sp.model_name AND mv.version = sp.champion_version "
							  "JOIN shelfops.datasets d ON d.tenant_id = mv.tenant_id AND d.dataset_id = mv.dataset_id "
							  "LEFT JOIN shelfops.sales s ON s.tenant_id = sp.tenant_id AND s.dataset_id = mv.dataset_id "
							  "AND s.store_id = sp.store_id AND s.product_id = sp.product_id AND s.sale_date = sp.target_date "
							  "WHERE sp.tenant_id = $1 AND sp.model_name = $2 AND sp.champion_version = $3 "
							  "AND sp.challenger_version = $4 AND sp.scored_at IS NOT NULL AND sp.actual_demand IS NOT NULL "
							  "ORDER BY sp.store_id COLLATE \"C\", sp.product_id COLLATE \"C\", sp.forecast_origin, sp.target_date",
							  4, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read shadow predictions");
	n = (int) SPI_processed;
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);
		DateADT    *targets = palloc(sizeof(DateADT) * Max(n, 1));

		actual = palloc(sizeof(double) * Max(n, 1));
		champ = palloc(sizeof(double) * Max(n, 1));
		chal = palloc(sizeof(double) * Max(n, 1));
		cost = palloc(sizeof(double) * Max(n, 1));
		price = palloc(sizeof(double) * Max(n, 1));
		cost_null = palloc(sizeof(bool) * Max(n, 1));
		price_null = palloc(sizeof(bool) * Max(n, 1));
		series_of = palloc(sizeof(int) * Max(n, 1));
		keys = palloc(sizeof(char *) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			char	   *key = SPI_getvalue(tup, desc, 1);
			bool		isnull;

			if (nseries == 0 || strcmp(keys[nseries - 1], key) != 0)
				keys[nseries++] = key;
			series_of[i] = nseries - 1;
			targets[i] = DatumGetDateADT(SPI_getbinval(tup, desc, 2, &isnull));
			actual[i] = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
			champ[i] = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
			chal[i] = DatumGetFloat8(SPI_getbinval(tup, desc, 5, &isnull));
			cost[i] = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &cost_null[i]));
			if (cost_null[i])
				cost[i] = 0;
			any_cost |= !cost_null[i];
			price[i] = DatumGetFloat8(SPI_getbinval(tup, desc, 7, &price_null[i]));
			if (price_null[i])
				price[i] = 0;
			any_price |= !price_null[i];
			if (i == 0)
			{
				char	   *freq = SPI_getvalue(tup, desc, 8);

				season = (freq && strcmp(freq, "weekly") == 0) ? 52 : 7;
			}
		}
		/* distinct target dates: sort a copy */
		if (n > 0)
		{
			qsort(targets, n, sizeof(DateADT), shadow_date_cmp);
			for (int i = 0; i < n; i++)
				if (i == 0 || targets[i] != targets[i - 1])
					days++;
			out->first_target = targets[0];
			out->last_target = targets[n - 1];
		}
		MemoryContextSwitchTo(spi);
	}

	/*
	 * Each series' MASE scale: mean |y_t - y_{t - season}| over its sales up
	 * to its earliest shadow origin (what the forecasts could know).
	 */
	scale = MemoryContextAlloc(caller, sizeof(double) * Max(nseries, 1));
	for (int s = 0; s < nseries; s++)
		scale[s] = NAN;
	if (n > 0)
	{
		int			next = 0;

		if (SPI_execute_with_args(
								  "WITH ser AS (SELECT sp.store_id, sp.product_id, min(sp.forecast_origin) AS origin, "
								  "min(mv.dataset_id) AS dataset_id "
								  "FROM shelfops.shadow_predictions sp "
								  "JOIN shelfops.model_versions mv ON mv.tenant_id = sp.tenant_id "
								  "AND mv.model_name = sp.model_name AND mv.version = sp.champion_version "
								  "WHERE sp.tenant_id = $1 AND sp.model_name = $2 AND sp.champion_version = $3 "
								  "AND sp.challenger_version = $4 AND sp.scored_at IS NOT NULL "
								  "AND sp.actual_demand IS NOT NULL GROUP BY sp.store_id, sp.product_id) "
								  "SELECT ser.store_id || E'\\x01' || ser.product_id, "
								  "avg(abs(a.quantity - b.quantity)) "
								  "FROM ser "
								  "JOIN shelfops.datasets d ON d.tenant_id = $1 AND d.dataset_id = ser.dataset_id "
								  "JOIN shelfops.sales a ON a.tenant_id = $1 AND a.dataset_id = ser.dataset_id "
								  "AND a.store_id = ser.store_id AND a.product_id = ser.product_id "
								  "AND a.sale_date <= ser.origin "
								  "JOIN shelfops.sales b ON b.tenant_id = $1 AND b.dataset_id = ser.dataset_id "
								  "AND b.store_id = ser.store_id AND b.product_id = ser.product_id "
								  "AND b.sale_date = a.sale_date - CASE d.frequency WHEN 'weekly' THEN 364 ELSE 7 END "
								  "GROUP BY ser.store_id, ser.product_id "
								  "ORDER BY ser.store_id COLLATE \"C\", ser.product_id COLLATE \"C\"",
								  4, types, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the shadow series' history");
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			char	   *key = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
			bool		isnull;
			double		v = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));

			while (next < nseries && strcmp(keys[next], key) < 0)
				next++;
			if (next < nseries && strcmp(keys[next], key) == 0 && !isnull)
				scale[next] = v;
		}
	}
	SPI_finish();

	out->rows = n;
	out->days = days;
	out->champion_metrics = shadow_metrics(n, actual, champ, series_of, scale, nseries,
										   any_cost ? cost : NULL, cost_null,
										   any_price ? price : NULL, price_null, season,
										   version_halfwidth(tenant_id, model_name, champion_version));
	out->challenger_metrics = shadow_metrics(n, actual, chal, series_of, scale, nseries,
											 any_cost ? cost : NULL, cost_null,
											 any_price ? price : NULL, price_null, season,
											 version_halfwidth(tenant_id, model_name, challenger_version));
}

Jsonb *
shadow_evidence_jsonb(const ShadowEvidence *ev)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"evidence\": \"shadow\", \"champion_version\": %d, \"challenger_version\": %d, "
					 "\"rows\": " INT64_FORMAT ", \"days\": %d, ",
					 ev->champion_version, ev->challenger_version, ev->rows, ev->days);
	if (ev->rows > 0)
		appendStringInfo(&buf, "\"first_target\": \"%s\", \"last_target\": \"%s\", ",
						 shelfops_iso_date(ev->first_target), shelfops_iso_date(ev->last_target));
	else
		appendStringInfoString(&buf, "\"first_target\": null, \"last_target\": null, ");
	appendStringInfo(&buf, "\"champion\": %s, \"challenger\": %s}",
					 JsonbToCString(NULL, &ev->champion_metrics->root, -1),
					 JsonbToCString(NULL, &ev->challenger_metrics->root, -1));
	return shadow_jsonb(buf.data);
}

/* The extension's schema, quoted, for calling its aggregates from SQL text. */
static char *
shadow_extension_schema(void)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *schema;

	SPI_connect();
	if (SPI_execute("SELECT extnamespace::regnamespace::text FROM pg_catalog.pg_extension "
					"WHERE extname = 'shelfops'", true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "extension shelfops is not installed");
	schema = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	SPI_finish();
	return schema;
}

/*
 * shelfops_score_shadow(model_name, tenant_id): fill the actuals that have
 * arrived, then per (champion, challenger) pair one row for each member with
 * its metrics on the pair's scored rows.
 */
Datum
shelfops_score_shadow(PG_FUNCTION_ARGS)
{
	char	   *model_name = shelfops_ident_arg(fcinfo, 0, "model_name");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *schema;
	StringInfoData sql;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];

	InitMaterializedSRF(fcinfo, 0);
	shadow_check_model(tenant_id, model_name);
	shadow_fill_actuals(tenant_id, model_name);

	schema = shadow_extension_schema();
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT r.version, r.role, r.paired_with, count(*)::bigint, "
					 "count(DISTINCT sp.target_date)::int, "
					 "%s.shelfops_mae(sp.actual_demand, r.pred), %s.shelfops_wape(sp.actual_demand, r.pred), "
					 "%s.shelfops_bias_pct(sp.actual_demand, r.pred), "
					 "%s.shelfops_stockout_miss_rate(sp.actual_demand, r.pred), "
					 "%s.shelfops_overstock_rate(sp.actual_demand, r.pred) "
					 "FROM shelfops.shadow_predictions sp "
					 "CROSS JOIN LATERAL (VALUES "
					 "(sp.champion_version, 'champion', sp.challenger_version, sp.champion_prediction), "
					 "(sp.challenger_version, 'challenger', sp.champion_version, sp.challenger_prediction)) "
					 "AS r(version, role, paired_with, pred) "
					 "WHERE sp.tenant_id = $1 AND sp.model_name = $2 AND sp.scored_at IS NOT NULL "
					 "AND sp.actual_demand IS NOT NULL "
					 "GROUP BY sp.champion_version, sp.challenger_version, r.version, r.role, r.paired_with "
					 "ORDER BY sp.champion_version, sp.challenger_version, r.role DESC",
					 schema, schema, schema, schema, schema);
	args[0] = CStringGetTextDatum(tenant_id);
	args[1] = CStringGetTextDatum(model_name);
	/* not read-only: a fresh snapshot sees the actuals just filled */
	SPI_connect();
	if (SPI_execute_with_args(sql.data, 2, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not score shadow predictions");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		Datum		values[10];
		bool		nulls[10];

		for (int c = 0; c < 10; c++)
			values[c] = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1, &nulls[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/* shelfops._shadow_evidence(model_name, champion_version, challenger_version, tenant_id) */
Datum
shelfops_shadow_evidence(PG_FUNCTION_ARGS)
{
	char	   *model_name = shelfops_ident_arg(fcinfo, 0, "model_name");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 3);
	ShadowEvidence ev;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("champion_version and challenger_version must not be NULL")));
	shadow_check_model(tenant_id, model_name);
	shadow_evidence(tenant_id, model_name, PG_GETARG_INT32(1), PG_GETARG_INT32(2), false, &ev);
	PG_RETURN_JSONB_P(shadow_evidence_jsonb(&ev));
}
