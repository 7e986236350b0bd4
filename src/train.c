/*
 * train.c
 *	  Owns shelfops_train(): the time-based split, the fit, the holdout scoring
 *	  with conformal intervals and a seasonal-naive reference, and the rows one
 *	  training writes (model_versions, training_runs, model_retraining_log).
 *
 * The calendar of a dataset (periods 0 .. T) is split by date only:
 *
 *	  [0 .. train_last]          training targets
 *	  [cal_first .. origin]      calibration block: early stopping and the
 *	                             split-conformal intervals (never trained on)
 *	  [origin + 1 .. T]          holdout: forecast from origin, steps 1..holdout
 *
 * The calibration block has the holdout's length and sits just before it, so
 * intervals are calibrated out of sample on the most recent data, with one fit.
 * The stored model is the one that was scored: it never saw the holdout.
 * Everything runs in the caller's transaction: an error or a cancel leaves no
 * row behind.
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "shelfops.h"
#include "ident.h"
#include "jobs.h"
#include "feature_spec.h"
#include "forecast.h"
#include "metrics.h"
#include "model.h"
#include "params.h"
#include "predict.h"
#include "progress.h"
#include "series.h"
#include "train.h"
#include "util.h"

PG_FUNCTION_INFO_V1(shelfops_train);

#define TRAIN_INTERVAL_LEVEL 0.9

static const char *const train_triggers[] = {
	"manual", "scheduled", "drift", "new_data", "feedback_drift", NULL
};

static double
seconds_since(TimestampTz start)
{
	return (double) (GetCurrentTimestamp() - start) / USECS_PER_SEC;
}


static char *
jsonb_text(Jsonb *jb)
{
	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/*
 * Score forecasts against actuals with every canonical metric, replacing the
 * pooled MASE by the mean over series of (series MAE / the series' in-sample
 * seasonal-naive MAE up to scale_last): a lag-m naive over a concatenation of
 * series would compare values of different series.
 */
char *
train_score_metrics(const SeriesSet *set, const ForecastRows *rows, const double *forecast,
					const double *lower, const double *upper, int scale_last)
{
	int			n = rows->n;
	int			season = set->frequency == SERIES_WEEKLY ? 52 : 7;
	double	   *actual = palloc(sizeof(double) * Max(n, 1));
	double	   *cost = NULL,
			   *price = NULL;
	bool	   *cost_null = NULL,
			   *price_null = NULL;
	ShelfopsMetricsInput in = {0};
	ShelfopsMetrics m;
	double	   *series_abs = palloc0(sizeof(double) * Max(set->nseries, 1));
	int		   *series_n = palloc0(sizeof(int) * Max(set->nseries, 1));
	double		mase_sum = 0;
	int			mase_n = 0;
	StringInfoData buf;
	char	   *metrics_text;

	for (int i = 0; i < n; i++)
		actual[i] = set->series[rows->series[i]].y[rows->period[i]];
	if (set->has_cov[SCOV_UNIT_COST] || set->has_cov[SCOV_UNIT_PRICE])
	{
		cost = palloc(sizeof(double) * Max(n, 1));
		price = palloc(sizeof(double) * Max(n, 1));
		cost_null = palloc(sizeof(bool) * Max(n, 1));
		price_null = palloc(sizeof(bool) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			const Series *s = &set->series[rows->series[i]];
			float		c = s->cov[SCOV_UNIT_COST][rows->period[i]];
			float		p = s->cov[SCOV_UNIT_PRICE][rows->period[i]];

			cost_null[i] = isnan(c);
			cost[i] = cost_null[i] ? 0 : c;
			price_null[i] = isnan(p);
			price[i] = price_null[i] ? 0 : p;
		}
	}
	in.n = n;
	in.actual = actual;
	in.forecast = forecast;
	if (set->has_cov[SCOV_UNIT_COST])
	{
		in.unit_cost.values = cost;
		in.unit_cost.isnull = cost_null;
	}
	if (set->has_cov[SCOV_UNIT_PRICE])
	{
		in.unit_price.values = price;
		in.unit_price.isnull = price_null;
	}
	in.lower = lower;
	in.upper = upper;
	in.season = season;
	shelfops_metrics_compute(&in, &m);

	for (int i = 0; i < n; i++)
	{
		series_abs[rows->series[i]] += fabs(actual[i] - forecast[i]);
		series_n[rows->series[i]]++;
	}
	for (int s = 0; s < set->nseries; s++)
	{
		const double *y = set->series[s].y;
		double		naive = 0;
		int			nn = 0;
		bool		isnull;
		double		v;

		if (series_n[s] == 0)
			continue;
		for (int t = season; t <= scale_last; t++)
		{
			if (!isnan(y[t]) && !isnan(y[t - season]))
			{
				naive += fabs(y[t] - y[t - season]);
				nn++;
			}
		}
		if (nn == 0)
			continue;
		v = shelfops_mase_scaled(series_abs[s] / series_n[s], naive / nn, &isnull);
		if (!isnull)
		{
			mase_sum += v;
			mase_n++;
		}
	}
	m.mase.isnull = (mase_n == 0);
	m.mase.value = mase_n > 0 ? mase_sum / mase_n : 0;

	metrics_text = jsonb_text(shelfops_metrics_to_jsonb(&m));
	initStringInfo(&buf);
	/* drop the closing brace to add the row count */
	appendBinaryStringInfo(&buf, metrics_text, strlen(metrics_text) - 1);
	appendStringInfo(&buf, ", \"rows\": %d, \"mase_series\": %d}", n, mase_n);
	pfree(actual);
	pfree(series_abs);
	pfree(series_n);
	return buf.data;
}

/* Fit a seasonal-naive model (nothing to learn) for the dataset's calendar. */
Model *
train_seasonal_naive(const SeriesSet *set)
{
	const ModelFamily *naive = model_family_lookup("seasonal_naive");
	ModelParams p;
	ModelTrainData td = {0};

	params_from_jsonb(NULL, naive->kind, set->frequency == SERIES_WEEKLY, &p);
	td.params = &p;
	return model_fit(naive, &td);
}

static int
check_int_arg(FunctionCallInfo fcinfo, int argno, const char *name, int dflt, int lo, int hi)
{
	int			v;

	if (PG_ARGISNULL(argno))
		return dflt;
	v = PG_GETARG_INT32(argno);
	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %d and %d, got %d", name, lo, hi, v)));
	return v;
}

static Datum
jsonb_datum(const char *text)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
}

static const char *
objective_of(const Model *model)
{
	switch (model->params.family)
	{
		case MODEL_KIND_XGBOOST:
			return model->params.objective;
		case MODEL_KIND_SEASONAL_NAIVE:
			return "seasonal_naive";
		default:
			return "moving_average";
	}
}

Datum
shelfops_train(PG_FUNCTION_ARGS)
{
	TimestampTz started_at = GetCurrentTimestamp();
	TimestampTz phase;
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	char	   *model_name = shelfops_ident_arg(fcinfo, 1, "model_name");
	char	   *algorithm;
	char	   *trigger;
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 7);
	const ModelFamily *family;
	MemoryContext cxt,
				oldcxt;
	SeriesSet  *set;
	bool		weekly;
	int			horizon,
				holdout,
				T,
				origin,
				cal_first,
				train_last;
	ModelParams params;
	FeatureSpec *spec;
	FeatureRowFilter train_filter = {.include_unknown_y = false, .series_idx = -1, .require_target_base = true};
	FeatureMatrix *train_mat = NULL,
			   *cal_mat = NULL;
	ModelTrainData td = {0};
	Model	   *model,
			   *naive;
	ForecastRows *cal_rows,
			   *hold_rows;
	double	   *cal_pred,
			   *hold_pred,
			   *naive_pred,
			   *lower,
			   *upper;
	Jsonb	   *calibration;
	double		halfwidth;
	char	   *metrics_text,
			   *naive_text,
			   *importance = NULL;
	bytea	   *envelope;
	char	   *model_sha;
	double		t_read,
				t_features = 0,
				t_fit,
				t_score;
	int			version;
	char	   *run_id;
	StringInfoData buf;
	Jsonb	   *describe;
	JsonbValue *imp;
	char	   *params_text,
			   *spec_text,
			   *lineage_text,
			   *result;
	bool		trigger_ok = false;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("algorithm must not be NULL")));
	algorithm = text_to_cstring(PG_GETARG_TEXT_PP(2));
	family = model_family_lookup(algorithm);
	trigger = PG_ARGISNULL(6) ? pstrdup("manual") : text_to_cstring(PG_GETARG_TEXT_PP(6));
	for (int i = 0; train_triggers[i]; i++)
		trigger_ok |= strcmp(trigger, train_triggers[i]) == 0;
	if (!trigger_ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown trigger \"%s\"", trigger),
				 errhint("Use manual, scheduled, drift, new_data or feedback_drift.")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops train", ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	/* progress: the slot lives as long as cxt, so an ERROR or a cancel frees it */
	progress_begin(cxt, tenant_id, model_name, dataset_id, family->name);

	/* read */
	phase = GetCurrentTimestamp();
	set = series_load(tenant_id, dataset_id, cxt);
	t_read = seconds_since(phase);
	weekly = set->frequency == SERIES_WEEKLY;
	horizon = check_int_arg(fcinfo, 4, "horizon", weekly ? 8 : 14, 1, FEATURE_MAX_HORIZON);
	holdout = check_int_arg(fcinfo, 5, "holdout", horizon, 1, FEATURE_MAX_HORIZON);
	if (holdout > horizon)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holdout (%d) must not exceed horizon (%d)", holdout, horizon),
				 errdetail("The holdout is forecast from one origin, so each of its periods must be within the horizon."),
				 errhint("Use shelfops_backtest for evaluations over longer windows.")));
	params_from_jsonb(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3), family->kind, weekly, &params);

	T = set->ndata_periods - 1;
	origin = T - holdout;
	cal_first = origin - holdout + 1;
	train_last = cal_first - 1;
	if (train_last < horizon + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("dataset \"%s\" has %d %s periods, too few to train with horizon %d and holdout %d",
						dataset_id, set->ndata_periods, series_frequency_name(set->frequency),
						horizon, holdout),
				 errdetail("Training needs more than horizon + 2 x holdout + 1 = %d periods: a holdout, a calibration block of the same length before it, and training targets with at least one horizon of history.",
						   horizon + 2 * holdout + 1)));

	/* features and fit */
	progress_phase(PROGRESS_FEATURES);
	phase = GetCurrentTimestamp();
	spec = feature_spec_build(set, horizon, train_last);
	td.params = &params;
	if (!family->needs_history)
	{
		train_mat = features_build(spec, set, 0, train_last, &train_filter);
		if (train_mat->nrows > INT_MAX / 2)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%lld training rows are more than one model can take",
							(long long) train_mat->nrows)));
		td.nrows = (int) train_mat->nrows;
		td.ncols = train_mat->nfeatures;
		td.X = train_mat->x;
		td.y = train_mat->y;
		progress_rows(train_mat->nrows, -1);
		td.feature_names = (const char *const *) palloc(sizeof(char *) * spec->nfeatures);
		for (int i = 0; i < spec->nfeatures; i++)
			((const char **) td.feature_names)[i] = feature_name(spec, i);
		if (params.early_stopping_rounds > 0)
		{
			cal_mat = features_build(spec, set, cal_first, origin, &train_filter);
			td.nvalid = (int) cal_mat->nrows;
			td.X_valid = cal_mat->x;
			td.y_valid = cal_mat->y;
		}
		t_features = seconds_since(phase);
	}
	progress_phase(PROGRESS_FIT);
	td.progress = progress_rounds;
	phase = GetCurrentTimestamp();
	model = model_fit(family, &td);
	t_fit = seconds_since(phase);
	if (train_mat)
	{
		/* the matrices are the largest allocations: give them back before scoring */
		pfree(train_mat->x);
		if (cal_mat)
			pfree(cal_mat->x);
	}

	/* calibration block: forecast from the period before it, like the holdout */
	progress_phase(PROGRESS_SCORE);
	phase = GetCurrentTimestamp();
	cal_rows = forecast_rows_range(set, cal_first, origin, cal_first - 1, false, -1);
	cal_pred = palloc(sizeof(double) * Max(cal_rows->n, 1));
	forecast_rows_predict(model, spec, set, cal_rows, cal_pred);
	calibration = forecast_rows_calibrate(set, cal_rows, cal_pred);
	halfwidth = conformal_halfwidth(calibration, TRAIN_INTERVAL_LEVEL);

	/* holdout */
	hold_rows = forecast_rows_range(set, origin + 1, T, origin, false, -1);
	if (hold_rows->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the holdout of dataset \"%s\" has no observed rows", dataset_id)));
	progress_rows(-1, hold_rows->n);
	hold_pred = palloc(sizeof(double) * hold_rows->n);
	lower = palloc(sizeof(double) * hold_rows->n);
	upper = palloc(sizeof(double) * hold_rows->n);
	naive_pred = palloc(sizeof(double) * hold_rows->n);
	forecast_rows_predict(model, spec, set, hold_rows, hold_pred);
	forecast_rows_intervals(set, hold_rows, hold_pred, halfwidth, lower, upper);
	metrics_text = train_score_metrics(set, hold_rows, hold_pred, lower, upper, origin);
	naive = train_seasonal_naive(set);
	forecast_rows_predict(naive, spec, set, hold_rows, naive_pred);
	naive_text = train_score_metrics(set, hold_rows, naive_pred, NULL, NULL, origin);
	t_score = seconds_since(phase);

	/* the model and what travels with it */
	progress_phase(PROGRESS_WRITE);
	envelope = model_save(model);
	model_sha = shelfops_sha256_hex(VARDATA_ANY(envelope), VARSIZE_ANY_EXHDR(envelope));
	describe = model_describe(envelope);
	imp = getKeyJsonValueFromContainer(&describe->root, "importance_gain", strlen("importance_gain"), NULL);
	if (imp != NULL)
		importance = JsonbToCString(NULL, imp->val.binary.data, -1);
	params_text = jsonb_text(params_to_jsonb(&model->params));
	spec_text = jsonb_text(feature_spec_to_jsonb(spec));

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"model_name\": \"%s\", \"dataset_id\": \"%s\", \"forecast_grain\": \"%s\", "
					 "\"feature_set_id\": \"horizon_safe_v%d\", \"segment_strategy\": \"global\", "
					 "\"architecture\": \"%s\", \"objective\": \"%s\", \"tuning_profile\": \"%s\", "
					 "\"trigger_source\": \"%s\", \"change_category\": \"%s\", \"rule_overlay_enabled\": false, "
					 "\"evaluation_window_days\": %d, "
					 "\"lineage_label\": \"%s__%s__%s__global__horizon_safe_v%d\"}",
					 model_name, dataset_id, series_frequency_name(set->frequency),
					 FEATURE_SPEC_FORMAT, family->name, objective_of(model),
					 (PG_ARGISNULL(3) || JB_ROOT_COUNT(PG_GETARG_JSONB_P(3)) == 0) ? "baseline" : "custom",
					 trigger,
					 (strcmp(trigger, "manual") == 0 || strcmp(trigger, "scheduled") == 0) ?
					 "baseline_refresh" : "promotion_decision",
					 holdout * set->period_days,
					 model_name, family->name, objective_of(model), FEATURE_SPEC_FORMAT);
	lineage_text = buf.data;

	/* write: version, run, model row, log row */
	SPI_connect();
	{
		Oid			types[4] = {TEXTOID, TEXTOID, INT4OID, TEXTOID};
		Datum		values[20];
		char		nulls[20];
		bool		isnull;
		int			rc;

		values[0] = CStringGetTextDatum(tenant_id);
		values[1] = CStringGetTextDatum(model_name);
		rc = SPI_execute_with_args("SELECT shelfops.allocate_version($1, $2)", 2, types, values,
								   NULL, false, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not allocate a model version");
		version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		initStringInfo(&buf);
		appendStringInfo(&buf, "{\"read\": %.3f, \"features\": %.3f, \"fit\": %.3f, \"score\": %.3f, \"total\": %.3f}",
						 t_read, t_features, t_fit, t_score, seconds_since(started_at));
		{
			Oid			rtypes[14] = {TEXTOID, TEXTOID, INT4OID, TEXTOID, TEXTOID, TEXTOID,
			JSONBOID, JSONBOID, JSONBOID, JSONBOID, JSONBOID, TEXTOID, JSONBOID, TIMESTAMPTZOID};
			StringInfoData counts;
			StringInfoData libs;

			initStringInfo(&counts);
			appendStringInfo(&counts, "{\"sales_rows\": %lld, \"series\": %d, \"periods\": %d, "
							 "\"train\": %lld, \"calibration\": %d, \"holdout\": %d, \"closed_skipped\": %lld}",
							 (long long) set->nrows, set->nseries, set->ndata_periods,
							 (long long) (train_mat ? train_mat->nrows : 0), cal_rows->n, hold_rows->n,
							 (long long) (train_mat ? train_mat->skipped_closed : 0));
			initStringInfo(&libs);
			appendStringInfo(&libs, "{\"xgboost\": \"%s\", \"postgresql\": \"%s\", \"shelfops\": \"%s\"}",
							 model_xgboost_version(), PG_VERSION, SHELFOPS_VERSION);
			values[0] = CStringGetTextDatum(tenant_id);
			values[1] = CStringGetTextDatum(model_name);
			values[2] = Int32GetDatum(version);
			values[3] = CStringGetTextDatum(dataset_id);
			values[4] = CStringGetTextDatum(family->name);
			values[5] = CStringGetTextDatum(trigger);
			values[6] = jsonb_datum(params_text);
			values[7] = jsonb_datum(buf.data);
			values[8] = jsonb_datum(metrics_text);
			values[9] = importance ? jsonb_datum(importance) : (Datum) 0;
			values[10] = jsonb_datum(counts.data);
			values[11] = CStringGetTextDatum(set->fingerprint);
			values[12] = jsonb_datum(libs.data);
			values[13] = TimestampTzGetDatum(started_at);
			memset(nulls, ' ', sizeof(nulls));
			if (!importance)
				nulls[9] = 'n';
			rc = SPI_execute_with_args(
									   "INSERT INTO shelfops.training_runs (tenant_id, model_name, version, dataset_id, algorithm, "
									   "trigger, status, params, timings, metrics, feature_importance, row_counts, "
									   "data_fingerprint, library_versions, started_at, completed_at) "
									   "VALUES ($1, $2, $3, $4, $5, $6, 'completed', $7, $8, $9, $10, $11, $12, "
									   "$13, $14, clock_timestamp()) RETURNING run_id::text",
									   14, rtypes, values, nulls, false, 1);
			if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
				elog(ERROR, "could not record the training run");
			run_id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			run_id = MemoryContextStrdup(cxt, run_id);
		}
		{
			Oid			mtypes[20] = {TEXTOID, TEXTOID, INT4OID, TEXTOID, TEXTOID, TEXTOID, INT4OID,
				JSONBOID, JSONBOID, JSONBOID, JSONBOID, JSONBOID, DATEOID, DATEOID, DATEOID, DATEOID,
			INT8OID, INT8OID, TEXTOID, BYTEAOID};
			char		sql[] =
				"INSERT INTO shelfops.model_versions (tenant_id, model_name, version, algorithm, dataset_id, "
				"frequency, horizon, params, feature_spec, metrics, lineage, calibration, train_start, train_end, "
				"holdout_start, holdout_end, rows_trained, rows_holdout, data_fingerprint, model_bytes, "
				"model_format, model_sha256, library_version, training_run_id, smoke_test_passed, status) "
				"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, "
				"1, '%s', '%s', '%s', %s, 'candidate')";
			char	   *final_sql = psprintf(sql, model_sha,
											 family->needs_history ? "shelfops" : model_xgboost_version(),
											 run_id, hold_rows->n >= 10 ? "true" : "false");

			values[0] = CStringGetTextDatum(tenant_id);
			values[1] = CStringGetTextDatum(model_name);
			values[2] = Int32GetDatum(version);
			values[3] = CStringGetTextDatum(family->name);
			values[4] = CStringGetTextDatum(dataset_id);
			values[5] = CStringGetTextDatum(series_frequency_name(set->frequency));
			values[6] = Int32GetDatum(horizon);
			values[7] = jsonb_datum(params_text);
			values[8] = jsonb_datum(spec_text);
			initStringInfo(&buf);
			appendStringInfo(&buf, "{\"holdout\": %s, \"seasonal_naive\": %s, \"interval_level\": %.2f}",
							 metrics_text, naive_text, TRAIN_INTERVAL_LEVEL);
			values[9] = jsonb_datum(buf.data);
			values[10] = jsonb_datum(lineage_text);
			values[11] = JsonbPGetDatum(calibration);
			values[12] = DateADTGetDatum(series_period_date(set, 0));
			values[13] = DateADTGetDatum(series_period_date(set, train_last));
			values[14] = DateADTGetDatum(series_period_date(set, origin + 1));
			values[15] = DateADTGetDatum(series_period_date(set, T));
			values[16] = Int64GetDatum(train_mat ? train_mat->nrows : 0);
			values[17] = Int64GetDatum(hold_rows->n);
			values[18] = CStringGetTextDatum(set->fingerprint);
			values[19] = PointerGetDatum(envelope);
			memset(nulls, ' ', sizeof(nulls));
			rc = SPI_execute_with_args(final_sql, 20, mtypes, values, nulls, false, 0);
			if (rc != SPI_OK_INSERT)
				elog(ERROR, "could not record the model version");
		}
		if (shelfops_jobs_retrain_run_id() != NULL)
		{
			/*
			 * jobs (issue 6): inside CALL shelfops_retrain the run's 'running'
			 * log row exists already and the procedure finishes it, so one run
			 * stays one log row.
			 */
			shelfops_jobs_check_run(shelfops_jobs_retrain_run_id(), tenant_id, model_name);
		}
		else
		{
			Oid			ltypes[5] = {TEXTOID, TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID};

			values[0] = CStringGetTextDatum(tenant_id);
			values[1] = CStringGetTextDatum(model_name);
			values[2] = CStringGetTextDatum(trigger);
			values[3] = Int32GetDatum(version);
			values[4] = TimestampTzGetDatum(started_at);
			initStringInfo(&buf);
			appendStringInfo(&buf, "{\"run_id\": \"%s\", \"dataset_id\": \"%s\", \"algorithm\": \"%s\"}",
							 run_id, dataset_id, family->name);
			rc = SPI_execute_with_args(psprintf(
												"INSERT INTO shelfops.model_retraining_log (tenant_id, model_name, trigger_type, status, "
												"version_produced, decision, trigger_metadata, backend_pid, started_at, completed_at) "
												"VALUES ($1, $2, $3, 'completed', $4, 'candidate', '%s', pg_backend_pid(), $5, clock_timestamp())",
												buf.data),
									   5, ltypes, values, NULL, false, 0);
			if (rc != SPI_OK_INSERT)
				elog(ERROR, "could not record the retraining log row");
		}
		(void) types;
	}
	SPI_finish();

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"model_name\": \"%s\", \"version\": %d, \"status\": \"candidate\", "
					 "\"dataset_id\": \"%s\", \"algorithm\": \"%s\", \"horizon\": %d, \"holdout\": %d, "
					 "\"holdout_start\": \"%s\", \"holdout_end\": \"%s\", \"training_run_id\": \"%s\", "
					 "\"rows\": {\"train\": %lld, \"calibration\": %d, \"holdout\": %d}, "
					 "\"metrics\": %s, \"seasonal_naive\": %s, "
					 "\"seconds\": {\"read\": %.3f, \"features\": %.3f, \"fit\": %.3f, \"score\": %.3f, \"total\": %.3f}}",
					 model_name, version, dataset_id, family->name, horizon, holdout,
					 shelfops_iso_date(series_period_date(set, origin + 1)), shelfops_iso_date(series_period_date(set, T)),
					 run_id, (long long) (train_mat ? train_mat->nrows : 0), cal_rows->n, hold_rows->n,
					 metrics_text, naive_text, t_read, t_features, t_fit, t_score, seconds_since(started_at));
	MemoryContextSwitchTo(oldcxt);
	result = pstrdup(buf.data);
	progress_end();
	MemoryContextDelete(cxt);
	PG_RETURN_DATUM(jsonb_datum(result));
}
