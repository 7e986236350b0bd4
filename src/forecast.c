/*
 * forecast.c
 *	  Owns shelfops_forecast(): serving a stored model version (the champion by
 *	  default) for every series of its dataset from an origin, with intervals
 *	  from the version's stored conformal calibration, optionally persisted to
 *	  shelfops.forecasts; with shadow => true the challengers forecast beside
 *	  the champion into shelfops.shadow_predictions (shadow.c).
 *
 * Forecasting encodes exactly as training did: the feature specification
 * stored with the version (codes, training-window statistics) is used as is,
 * and only the history the features read is loaded (a matrix model needs
 * feature_spec_history_periods() periods before the first target), so serving
 * every series does not read a dataset's whole past.  The decoded model comes
 * from the per-backend cache (model_open), so repeated calls do not decode it
 * again.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "shelfops.h"
#include "ident.h"
#include "feature_spec.h"
#include "model.h"
#include "predict.h"
#include "series.h"
#include "covariates.h"
#include "forecast.h"
#include "shadow.h"
#include "util.h"

PG_FUNCTION_INFO_V1(shelfops_forecast);

static Datum
copy_datum(HeapTuple tup, TupleDesc desc, int col, bool *isnull, bool byval, int len)
{
	Datum		d = SPI_getbinval(tup, desc, col, isnull);

	return *isnull ? (Datum) 0 : datumCopy(d, byval, len);
}

void
stored_model_fetch(const char *tenant_id, const char *model_name, int version, bool any_status,
				   StoredModel *out)
{
	Oid			types[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	MemoryContext caller = CurrentMemoryContext;
	int			rc;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	args[0] = CStringGetTextDatum(tenant_id);
	args[1] = CStringGetTextDatum(model_name);
	args[2] = Int32GetDatum(version);
	if (version <= 0)
		nulls[2] = 'n';
	SPI_connect();
	rc = SPI_execute_with_args("SELECT version, status, algorithm, dataset_id, horizon, feature_spec, "
							   "calibration, model_bytes FROM shelfops.model_versions "
							   "WHERE tenant_id = $1 AND model_name = $2 "
							   "AND (version = $3 OR ($3 IS NULL AND status = 'champion'))",
							   3, types, args, nulls, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading shelfops.model_versions failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		if (version > 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" of tenant \"%s\" has no version %d", model_name, tenant_id, version)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" of tenant \"%s\" has no champion", model_name, tenant_id),
				 errhint("Promote a version with shelfops_promote, or pass version => N.")));
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		out->version = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		out->status = SPI_getvalue(tup, desc, 2);
		out->algorithm = SPI_getvalue(tup, desc, 3);
		out->dataset_id = SPI_getvalue(tup, desc, 4);
		out->horizon = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
		if (isnull)
			out->horizon = 0;
		out->feature_spec = (Jsonb *) DatumGetPointer(copy_datum(tup, desc, 6, &isnull, false, -1));
		out->calibration = (Jsonb *) DatumGetPointer(copy_datum(tup, desc, 7, &isnull, false, -1));
		out->model_bytes = (bytea *) DatumGetPointer(copy_datum(tup, desc, 8, &isnull, false, -1));
		if (out->feature_spec)
			out->feature_spec = DatumGetJsonbP(PointerGetDatum(out->feature_spec));
		if (out->calibration)
			out->calibration = DatumGetJsonbP(PointerGetDatum(out->calibration));
		if (out->model_bytes)
			out->model_bytes = DatumGetByteaPP(PointerGetDatum(out->model_bytes));
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	if (!any_status && strcmp(out->status, "failed") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" failed and cannot forecast", out->version, model_name)));
	if (out->model_bytes == NULL || out->feature_spec == NULL || out->horizon <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" has no stored model", out->version, model_name)));
}


ForecastResult *
forecast_from_origin(const char *tenant_id, const StoredModel *sm, int horizon, DateADT as_of,
					 bool as_of_given, double level, Oid covariates, int covariates_horizon)
{
	return forecast_from_origin_history(tenant_id, sm, horizon, as_of, as_of_given, level, 0,
										covariates, covariates_horizon);
}

ForecastResult *
forecast_from_origin_history(const char *tenant_id, const StoredModel *sm, int horizon, DateADT as_of,
							 bool as_of_given, double level, int history_periods,
							 Oid covariates, int covariates_horizon)
{
	ForecastResult *res = palloc0(sizeof(ForecastResult));
	FeatureSpec *spec = feature_spec_from_jsonb(sm->feature_spec);
	Model	   *model = model_open(sm->model_bytes);
	SeriesSet  *set;
	DateADT		from = DATEVAL_NOBEGIN;
	DateADT		data_min,
				data_max,
				origin_date;
	int			origin;
	double		halfwidth = conformal_halfwidth(sm->calibration, level);

	if (horizon < 1 || horizon > sm->horizon)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be between 1 and the model's horizon %d, got %d", sm->horizon, horizon)));

	/*
	 * The origin: the period containing as_of, or the dataset's last date.
	 * Matrix models read only the history their features need before it;
	 * history models read it all.
	 */
	{
		Oid			types[2] = {TEXTOID, TEXTOID};
		Datum		args[2];
		bool		minnull,
					maxnull;

		args[0] = CStringGetTextDatum(tenant_id);
		args[1] = CStringGetTextDatum(sm->dataset_id);
		SPI_connect();
		if (SPI_execute_with_args("SELECT date_min, date_max FROM shelfops.datasets "
								  "WHERE tenant_id = $1 AND dataset_id = $2",
								  2, types, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("dataset \"%s\" of model version %d no longer exists", sm->dataset_id, sm->version)));
		data_min = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &minnull));
		data_max = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &maxnull));
		SPI_finish();
		if (minnull || maxnull)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("dataset \"%s\" has no sales to forecast from", sm->dataset_id)));
	}
	if (as_of_given && (as_of < data_min || as_of > data_max))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must lie within the dataset's dates, %s .. %s",
						shelfops_iso_date(data_min), shelfops_iso_date(data_max))));
	origin_date = as_of_given ? as_of : data_max;
	if (!model->family->needs_history)
		from = origin_date - (DateADT) ((Max(feature_spec_history_periods(spec), history_periods) + 1) *
										spec->period_days);
	set = series_load_window(tenant_id, sm->dataset_id, from,
							 Max(0, horizon - (data_max - origin_date) / spec->period_days),
							 false, CurrentMemoryContext);
	if (set->nseries == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("dataset \"%s\" has no sales to forecast from", sm->dataset_id)));
	origin = series_period_of_date(set, origin_date);
	if (OidIsValid(covariates))
		res->covariate_rows = covariates_apply(covariates, set, origin, Max(horizon, covariates_horizon));

	res->set = set;
	res->rows = forecast_rows_range(set, origin + 1, origin + horizon, origin, true, -1);
	res->forecast = palloc(sizeof(double) * Max(res->rows->n, 1));
	res->lower = palloc(sizeof(double) * Max(res->rows->n, 1));
	res->upper = palloc(sizeof(double) * Max(res->rows->n, 1));
	forecast_rows_predict(model, spec, set, res->rows, res->forecast);
	forecast_rows_intervals(set, res->rows, res->forecast, halfwidth, res->lower, res->upper);
	return res;
}

static void
persist_forecasts(const char *tenant_id, const char *model_name, const StoredModel *sm,
				  const ForecastResult *res, double level)
{
	int			n = res->rows->n;
	Datum	   *stores = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *products = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *targets = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *origins = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *fc = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *lo = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *hi = palloc(sizeof(Datum) * Max(n, 1));
	Oid			types[11] = {TEXTOID, TEXTOID, INT4OID, TEXTARRAYOID, TEXTARRAYOID, DATEARRAYOID,
	DATEARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8OID};
	Datum		args[11];
	int			rc;

	for (int i = 0; i < n; i++)
	{
		const Series *s = &res->set->series[res->rows->series[i]];

		stores[i] = CStringGetTextDatum(s->store_id);
		products[i] = CStringGetTextDatum(s->product_id);
		targets[i] = DateADTGetDatum(series_period_date(res->set, res->rows->period[i]));
		origins[i] = DateADTGetDatum(series_period_date(res->set, res->rows->origin[i]));
		fc[i] = Float8GetDatum(res->forecast[i]);
		lo[i] = Float8GetDatum(res->lower[i]);
		hi[i] = Float8GetDatum(res->upper[i]);
	}
	args[0] = CStringGetTextDatum(tenant_id);
	args[1] = CStringGetTextDatum(model_name);
	args[2] = Int32GetDatum(sm->version);
	args[3] = PointerGetDatum(construct_array(stores, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[4] = PointerGetDatum(construct_array(products, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[5] = PointerGetDatum(construct_array(targets, n, DATEOID, 4, true, TYPALIGN_INT));
	args[6] = PointerGetDatum(construct_array(origins, n, DATEOID, 4, true, TYPALIGN_INT));
	args[7] = PointerGetDatum(construct_array(fc, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[8] = PointerGetDatum(construct_array(lo, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[9] = PointerGetDatum(construct_array(hi, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[10] = Float8GetDatum(level);
	SPI_connect();
	rc = SPI_execute_with_args(
							   "INSERT INTO shelfops.forecasts AS f (tenant_id, model_name, version, store_id, product_id, "
							   "target_date, forecast_origin, forecast, lower, upper, level) "
							   "SELECT $1, $2, $3, s, p, t, o, v, l, u, $11 "
							   "FROM unnest($4, $5, $6, $7, $8, $9, $10) AS x(s, p, t, o, v, l, u) "
							   "ON CONFLICT (tenant_id, model_name, version, store_id, product_id, forecast_origin, target_date) "
							   "DO UPDATE SET forecast = EXCLUDED.forecast, lower = EXCLUDED.lower, upper = EXCLUDED.upper, "
							   "level = EXCLUDED.level, created_at = now()",
							   11, types, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not persist forecasts: %s", SPI_result_code_string(rc));
	SPI_finish();
}

Datum
shelfops_forecast(PG_FUNCTION_ARGS)
{
	char	   *model_name = shelfops_ident_arg(fcinfo, 0, "model_name");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 5);
	int			version = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
	double		level = PG_ARGISNULL(4) ? 0.9 : PG_GETARG_FLOAT8(4);
	bool		persist = !PG_ARGISNULL(6) && PG_GETARG_BOOL(6);
	bool		shadow = PG_NARGS() > 7 && !PG_ARGISNULL(7) && PG_GETARG_BOOL(7);
	Oid			covariates = PG_NARGS() > 8 && !PG_ARGISNULL(8) ? PG_GETARG_OID(8) : InvalidOid;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt,
				old;
	StoredModel sm;
	ForecastResult *res;
	int			horizon;

	if (!PG_ARGISNULL(2) && version <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must be positive, got %d", version)));
	InitMaterializedSRF(fcinfo, 0);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops forecast", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	stored_model_fetch(tenant_id, model_name, version, false, &sm);
	if (shadow && strcmp(sm.status, "champion") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("shadow => true needs the champion, but version %d of model \"%s\" is %s",
						sm.version, model_name, sm.status),
				 errdetail("Challengers are shadow-scored only beside the champion's forecast."),
				 errhint("Omit version, or pass shadow => false.")));
	horizon = PG_ARGISNULL(1) ? sm.horizon : PG_GETARG_INT32(1);
	res = forecast_from_origin(tenant_id, &sm, horizon, PG_ARGISNULL(3) ? 0 : PG_GETARG_DATEADT(3),
							   !PG_ARGISNULL(3), level, covariates, horizon);
	if (persist)
		persist_forecasts(tenant_id, model_name, &sm, res, level);
	if (shadow)
		shadow_write(tenant_id, model_name, &sm, res, horizon, PG_ARGISNULL(3) ? 0 : PG_GETARG_DATEADT(3),
					 !PG_ARGISNULL(3), level, covariates);

	MemoryContextSwitchTo(old);
	for (int i = 0; i < res->rows->n; i++)
	{
		const Series *s = &res->set->series[res->rows->series[i]];
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};

		values[0] = CStringGetTextDatum(s->store_id);
		values[1] = CStringGetTextDatum(s->product_id);
		values[2] = DateADTGetDatum(series_period_date(res->set, res->rows->period[i]));
		values[3] = Float8GetDatum(res->forecast[i]);
		values[4] = Float8GetDatum(res->lower[i]);
		values[5] = Float8GetDatum(res->upper[i]);
		values[6] = Int32GetDatum(sm.version);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
