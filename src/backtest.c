/*
 * backtest.c
 *	  Owns shelfops_backtest(): rolling-origin backtests of a stored model
 *	  version.  Each fold refits the version's algorithm with its parameters on
 *	  data before the fold's origin, forecasts the fold's window from that
 *	  origin, scores it with every canonical metric (and the seasonal naive on
 *	  the same rows), and records one shelfops.backtest_results row per fold and
 *	  metric.  Unlike the reference (section 12 item 10), history is forecast
 *	  again: nothing stored is re-scored.
 *
 * With T the dataset's last period, h the backtest horizon and H the version's
 * horizon, fold k of n (1 = oldest) uses the calendar exactly as a training
 * with holdout h does (see train.c):
 *
 *	  [0 .. o_k - h]             training targets
 *	  [o_k - h + 1 .. o_k]       calibration block (early stopping, intervals)
 *	  [o_k + 1 .. o_k + h]       the fold's window, forecast from origin o_k
 *
 * where o_k = T - h - (n - k) * step.  The feature specification is built with
 * H and train_end o_k - h, so no statistic, code or lag of a fold reads y after
 * its origin.  Everything runs in the caller's transaction in one memory
 * context, reset after each fold and deleted at the end.
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "shelfops.h"
#include "ident.h"
#include "feature_spec.h"
#include "forecast.h"
#include "util.h"
#include "model.h"
#include "params.h"
#include "predict.h"
#include "series.h"
#include "train.h"

PG_FUNCTION_INFO_V1(shelfops_backtest);

#define BACKTEST_MAX_FOLDS 20
#define BACKTEST_INTERVAL_LEVEL 0.9

/* The canonical metrics with numeric values: one backtest_results row each. */
static const char *const backtest_metrics[] = {
	"mae", "mape_nonzero", "wape", "mase", "bias_pct", "stockout_miss_rate",
	"overstock_rate", "coverage", "overstock_dollars", "lost_sales_qty",
	"opportunity_cost_stockout", "opportunity_cost_overstock"
};

#define BACKTEST_NMETRICS lengthof(backtest_metrics)

typedef struct BacktestFold
{
	int			fold;
	int			origin;			/* period */
	int			train_end;		/* last training target period */
	int			rows;
	char	   *metrics_text;	/* train_score_metrics() document */
	double		value[BACKTEST_NMETRICS];
	bool		isnull[BACKTEST_NMETRICS];
	double		naive_wape;
	bool		naive_wape_null;
} BacktestFold;

/* What a backtest needs from the version's model_versions row. */
typedef struct BacktestVersion
{
	char	   *algorithm;
	char	   *dataset_id;
	Jsonb	   *params;
	int			horizon;
} BacktestVersion;

static double
seconds_since(TimestampTz start)
{
	return (double) (GetCurrentTimestamp() - start) / USECS_PER_SEC;
}

/* key of a metrics document as a double; *isnull when absent, null or not a number */
static double
metric_value(Jsonb *doc, const char *key, bool *isnull)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&doc->root, key, strlen(key), NULL);
	double		d;

	*isnull = true;
	if (v == NULL || v->type != jbvNumeric)
		return 0;
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (isnan(d) || isinf(d))
		return 0;
	*isnull = false;
	return d;
}

static Jsonb *
text_to_jsonb(const char *text)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

static void
append_number(StringInfo buf, double v, bool isnull)
{
	if (isnull)
		appendStringInfoString(buf, "null");
	else
		appendStringInfoString(buf, float8out_internal(v));	/* shortest exact */
}

/* Read the version's algorithm, dataset, parameters and horizon into *out. */
static void
backtest_version_fetch(const char *tenant_id, const char *model_name, int version,
					   BacktestVersion *out)
{
	Oid			types[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		args[3];
	MemoryContext caller = CurrentMemoryContext;
	int			rc;
	bool		isnull;

	args[0] = CStringGetTextDatum(tenant_id);
	args[1] = CStringGetTextDatum(model_name);
	args[2] = Int32GetDatum(version);
	SPI_connect();
	rc = SPI_execute_with_args("SELECT algorithm, dataset_id, params, horizon FROM shelfops.model_versions "
							   "WHERE tenant_id = $1 AND model_name = $2 AND version = $3",
							   3, types, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading shelfops.model_versions failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		rc = SPI_execute_with_args("SELECT 1 FROM shelfops.model_versions WHERE tenant_id = $1 AND model_name = $2",
								   2, types, args, NULL, true, 1);
		if (rc == SPI_OK_SELECT && SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" of tenant \"%s\" has no versions", model_name, tenant_id)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" of tenant \"%s\" has no version %d", model_name, tenant_id, version)));
	}
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext spi = MemoryContextSwitchTo(caller);
		Datum		d;

		out->algorithm = SPI_getvalue(tup, desc, 1);
		out->dataset_id = SPI_getvalue(tup, desc, 2);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		out->params = isnull ? NULL : DatumGetJsonbP(datumCopy(d, false, -1));
		out->horizon = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		if (isnull)
			out->horizon = 0;
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	if (out->algorithm == NULL || out->dataset_id == NULL || out->horizon < 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" records no algorithm, dataset or horizon",
						version, model_name)));
}

/*
 * One fold: the training pipeline (train_evaluate) with the fold's origin and
 * holdout h: fit on targets up to origin - h, calibrate intervals on the h
 * periods up to origin, forecast origin + 1 .. origin + h and score.  Runs in
 * a scratch context; what it keeps is copied into keep.
 */
static void
backtest_fold(const SeriesSet *set, const ModelFamily *family, const ModelParams *params,
			  int model_horizon, int h, int origin, MemoryContext keep, BacktestFold *out)
{
	TrainPart	part = {0};
	TrainResult res;
	Jsonb	   *doc;

	part.set = set;
	part.horizon = model_horizon;
	part.holdout = h;
	part.origin = origin;
	train_evaluate(family, params, 1, &part, BACKTEST_INTERVAL_LEVEL, &res);

	out->origin = origin;
	out->train_end = part.train_last;
	out->rows = part.hold_rows->n;
	out->metrics_text = MemoryContextStrdup(keep, res.metrics_text);
	doc = text_to_jsonb(res.metrics_text);
	for (int m = 0; m < BACKTEST_NMETRICS; m++)
		out->value[m] = metric_value(doc, backtest_metrics[m], &out->isnull[m]);
	out->naive_wape = metric_value(text_to_jsonb(res.naive_text), "wape", &out->naive_wape_null);
}

/* Write one backtest_results row per fold and metric; returns the run id. */
static char *
backtest_write(const char *tenant_id, const char *model_name, int version, const SeriesSet *set,
			   int h, const BacktestFold *folds, int nfolds, MemoryContext keep)
{
	Oid			types[12] = {TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID, DATEOID, DATEOID, DATEOID,
	INT4OID, TEXTOID, FLOAT8OID, INT8OID};
	Datum		values[12];
	char		nulls[12];
	SPIPlanPtr	plan;
	char	   *run_id;
	int			rc;

	SPI_connect();
	rc = SPI_execute("SELECT gen_random_uuid()::text", false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not allocate a backtest run id");
	run_id = MemoryContextStrdup(keep, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	plan = SPI_prepare("INSERT INTO shelfops.backtest_results (tenant_id, backtest_run_id, model_name, version, "
					   "fold, forecast_origin, window_start, window_end, horizon, metric, value, rows_scored) "
					   "VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)", 12, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare the backtest insert: %s", SPI_result_code_string(SPI_result));
	values[0] = CStringGetTextDatum(tenant_id);
	values[1] = CStringGetTextDatum(run_id);
	values[2] = CStringGetTextDatum(model_name);
	values[3] = Int32GetDatum(version);
	values[8] = Int32GetDatum(h);
	for (int f = 0; f < nfolds; f++)
	{
		const BacktestFold *fold = &folds[f];

		values[4] = Int32GetDatum(fold->fold);
		values[5] = DateADTGetDatum(series_period_date(set, fold->origin));
		values[6] = DateADTGetDatum(series_period_date(set, fold->origin + 1));
		values[7] = DateADTGetDatum(series_period_date(set, fold->origin + h));
		values[11] = Int64GetDatum((int64) fold->rows);
		for (int m = 0; m < BACKTEST_NMETRICS; m++)
		{
			memset(nulls, ' ', sizeof(nulls));
			values[9] = CStringGetTextDatum(backtest_metrics[m]);
			values[10] = Float8GetDatum(fold->value[m]);
			if (fold->isnull[m])
				nulls[10] = 'n';
			rc = SPI_execute_plan(plan, values, nulls, false, 0);
			if (rc != SPI_OK_INSERT)
				elog(ERROR, "could not record a backtest result: %s", SPI_result_code_string(rc));
		}
	}
	SPI_finish();
	return run_id;
}

static int
int_arg(FunctionCallInfo fcinfo, int argno, int dflt)
{
	return PG_ARGISNULL(argno) ? dflt : PG_GETARG_INT32(argno);
}

Datum
shelfops_backtest(PG_FUNCTION_ARGS)
{
	TimestampTz started_at = GetCurrentTimestamp();
	char	   *model_name = shelfops_ident_arg(fcinfo, 0, "model_name");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 5);
	int			version,
				nfolds,
				h,
				step,
				T,
				oldest,
				needed;
	BacktestVersion bv = {0};
	const ModelFamily *family;
	ModelParams params;
	MemoryContext cxt,
				foldcxt,
				oldcxt;
	SeriesSet  *set;
	BacktestFold *folds;
	char	   *run_id;
	StringInfoData buf;
	char	   *result;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("version must not be NULL"),
				 errhint("Name the version to backtest; shelfops.model_versions lists them.")));
	version = PG_GETARG_INT32(1);
	nfolds = int_arg(fcinfo, 2, 3);
	if (nfolds < 1 || nfolds > BACKTEST_MAX_FOLDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds must be between 1 and %d, got %d", BACKTEST_MAX_FOLDS, nfolds),
				 errdetail("Each fold refits the model once.")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops backtest", ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	backtest_version_fetch(tenant_id, model_name, version, &bv);
	family = model_family_lookup(bv.algorithm);
	h = int_arg(fcinfo, 3, bv.horizon);
	if (h < 1 || h > bv.horizon)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be between 1 and %d, got %d", bv.horizon, h),
				 errdetail("Version %d of model \"%s\" was trained for horizon %d; its features cannot forecast further.",
						   version, model_name, bv.horizon)));
	step = int_arg(fcinfo, 4, h);
	if (step < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("step must be at least 1, got %d", step)));

	set = series_load(tenant_id, bv.dataset_id, cxt);
	params_from_jsonb(bv.params, family->kind, set->frequency == SERIES_WEEKLY, &params);

	/*
	 * The oldest fold's origin needs a calibration block of h periods before
	 * it and training targets with one model horizon of history (as train.c).
	 */
	T = set->ndata_periods - 1;
	oldest = T - h - (int) Min((int64) (nfolds - 1) * step, INT_MAX / 4);
	needed = bv.horizon + 2 * h + 2 + (int) Min((int64) (nfolds - 1) * step, INT_MAX / 4);
	if (oldest - h < bv.horizon + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("dataset \"%s\" has %d %s periods, too few for %d folds with horizon %d and step %d",
						bv.dataset_id, set->ndata_periods, series_frequency_name(set->frequency),
						nfolds, h, step),
				 errdetail("The oldest fold forecasts from period %d and needs a calibration block of %d periods before it and training targets with at least the model's horizon (%d) of history: at least %d periods.",
						   oldest, h, bv.horizon, needed)));

	folds = palloc0(sizeof(BacktestFold) * nfolds);
	foldcxt = AllocSetContextCreate(cxt, "shelfops backtest fold", ALLOCSET_DEFAULT_SIZES);
	for (int k = 1; k <= nfolds; k++)
	{
		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(foldcxt);
		folds[k - 1].fold = k;
		backtest_fold(set, family, &params, bv.horizon, h, T - h - (nfolds - k) * step, cxt,
					  &folds[k - 1]);
		MemoryContextSwitchTo(cxt);
		MemoryContextReset(foldcxt);
	}

	run_id = backtest_write(tenant_id, model_name, version, set, h, folds, nfolds, cxt);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"backtest_run_id\": \"%s\", \"model_name\": \"%s\", \"version\": %d, "
					 "\"algorithm\": \"%s\", \"dataset_id\": \"%s\", \"horizon\": %d, \"step\": %d, "
					 "\"interval_level\": %.2f, \"folds\": [",
					 run_id, model_name, version, family->name, bv.dataset_id, h, step,
					 BACKTEST_INTERVAL_LEVEL);
	for (int f = 0; f < nfolds; f++)
	{
		const BacktestFold *fold = &folds[f];

		appendStringInfo(&buf, "%s{\"fold\": %d, \"origin\": \"%s\", \"train_end\": \"%s\", "
						 "\"window_start\": \"%s\", \"window_end\": \"%s\", \"rows\": %d, \"metrics\": %s, "
						 "\"seasonal_naive_wape\": ",
						 f > 0 ? ", " : "", fold->fold,
						 shelfops_iso_date(series_period_date(set, fold->origin)),
						 shelfops_iso_date(series_period_date(set, fold->train_end)),
						 shelfops_iso_date(series_period_date(set, fold->origin + 1)),
						 shelfops_iso_date(series_period_date(set, fold->origin + h)),
						 fold->rows, fold->metrics_text);
		append_number(&buf, fold->naive_wape, fold->naive_wape_null);
		appendStringInfoChar(&buf, '}');
	}

	/* mean and sample standard deviation over the folds where a metric is defined */
	for (int pass = 0; pass < 2; pass++)
	{
		appendStringInfoString(&buf, pass == 0 ? "], \"mean\": {" : ", \"stddev\": {");
		for (int m = 0; m < BACKTEST_NMETRICS; m++)
		{
			double		sum = 0,
						mean,
						ss = 0;
			int			n = 0;

			for (int f = 0; f < nfolds; f++)
			{
				if (!folds[f].isnull[m])
				{
					sum += folds[f].value[m];
					n++;
				}
			}
			mean = n > 0 ? sum / n : 0;
			for (int f = 0; f < nfolds; f++)
				if (!folds[f].isnull[m])
					ss += (folds[f].value[m] - mean) * (folds[f].value[m] - mean);
			appendStringInfo(&buf, "%s\"%s\": ", m > 0 ? ", " : "", backtest_metrics[m]);
			if (pass == 0)
				append_number(&buf, mean, n == 0);
			else
				append_number(&buf, n > 1 ? sqrt(ss / (n - 1)) : 0, n < 2);
		}
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfo(&buf, ", \"seconds\": %.3f}", seconds_since(started_at));

	MemoryContextSwitchTo(oldcxt);
	result = pstrdup(buf.data);
	MemoryContextDelete(cxt);
	PG_RETURN_JSONB_P(text_to_jsonb(result));
}
