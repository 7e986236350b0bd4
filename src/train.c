/*
 * train.c
 *	  Owns shelfops_train() and the training pipeline it shares with backtests
 *	  and benchmarks (train_evaluate): the time-based split, features, the fit
 *	  (of one dataset, or of one model pooled over several, each on its own
 *	  calendar), the holdout scoring with conformal intervals and a
 *	  seasonal-naive reference; and the rows one training writes
 *	  (model_versions, training_runs, model_retraining_log).
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
#include "utils/float.h"
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

double
train_seconds_since(TimestampTz start)
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
 * series would compare values of different series.  Several parts (datasets of
 * a pooled model) are scored as one list of rows, each series on its own
 * calendar and season; lower/upper are given for every part or for none.
 */
static char *
score_parts(int nparts, const SeriesSet *const *sets, const ForecastRows *const *rowss,
			const double *const *forecasts, const double *const *lowers,
			const double *const *uppers, const int *scale_lasts)
{
	int			n = 0,
				k;
	double	   *actual,
			   *forecast,
			   *lower = NULL,
			   *upper = NULL;
	double	   *cost = NULL,
			   *price = NULL;
	bool	   *cost_null = NULL,
			   *price_null = NULL;
	bool		has_cost = false,
				has_price = false;
	ShelfopsMetricsInput in = {0};
	ShelfopsMetrics m;
	double		mase_sum = 0;
	int			mase_n = 0;
	StringInfoData buf;
	char	   *metrics_text;

	for (int p = 0; p < nparts; p++)
	{
		n += rowss[p]->n;
		has_cost |= sets[p]->has_cov[SCOV_UNIT_COST];
		has_price |= sets[p]->has_cov[SCOV_UNIT_PRICE];
	}
	actual = palloc(sizeof(double) * Max(n, 1));
	forecast = palloc(sizeof(double) * Max(n, 1));
	if (lowers != NULL)
	{
		lower = palloc(sizeof(double) * Max(n, 1));
		upper = palloc(sizeof(double) * Max(n, 1));
	}
	if (has_cost || has_price)
	{
		cost = palloc(sizeof(double) * Max(n, 1));
		price = palloc(sizeof(double) * Max(n, 1));
		cost_null = palloc(sizeof(bool) * Max(n, 1));
		price_null = palloc(sizeof(bool) * Max(n, 1));
	}
	k = 0;
	for (int p = 0; p < nparts; p++)
	{
		const SeriesSet *set = sets[p];
		const ForecastRows *rows = rowss[p];

		for (int i = 0; i < rows->n; i++, k++)
		{
			const Series *s = &set->series[rows->series[i]];

			actual[k] = s->y[rows->period[i]];
			forecast[k] = forecasts[p][i];
			if (lower)
			{
				lower[k] = lowers[p][i];
				upper[k] = uppers[p][i];
			}
			if (cost)
			{
				float		c = set->has_cov[SCOV_UNIT_COST] ? s->cov[SCOV_UNIT_COST][rows->period[i]] : NAN;
				float		pr = set->has_cov[SCOV_UNIT_PRICE] ? s->cov[SCOV_UNIT_PRICE][rows->period[i]] : NAN;

				cost_null[k] = isnan(c);
				cost[k] = cost_null[k] ? 0 : c;
				price_null[k] = isnan(pr);
				price[k] = price_null[k] ? 0 : pr;
			}
		}
	}
	in.n = n;
	in.actual = actual;
	in.forecast = forecast;
	if (has_cost)
	{
		in.unit_cost.values = cost;
		in.unit_cost.isnull = cost_null;
	}
	if (has_price)
	{
		in.unit_price.values = price;
		in.unit_price.isnull = price_null;
	}
	in.lower = lower;
	in.upper = upper;
	in.season = sets[0]->frequency == SERIES_WEEKLY ? 52 : 7;	/* replaced below */
	shelfops_metrics_compute(&in, &m);

	for (int p = 0; p < nparts; p++)
	{
		const SeriesSet *set = sets[p];
		const ForecastRows *rows = rowss[p];
		int			season = set->frequency == SERIES_WEEKLY ? 52 : 7;
		double	   *series_abs = palloc0(sizeof(double) * Max(set->nseries, 1));
		int		   *series_n = palloc0(sizeof(int) * Max(set->nseries, 1));

		for (int i = 0; i < rows->n; i++)
		{
			series_abs[rows->series[i]] += fabs(set->series[rows->series[i]].y[rows->period[i]] - forecasts[p][i]);
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
			for (int t = season; t <= scale_lasts[p]; t++)
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
		pfree(series_abs);
		pfree(series_n);
	}
	m.mase.isnull = (mase_n == 0);
	m.mase.value = mase_n > 0 ? mase_sum / mase_n : 0;

	metrics_text = jsonb_text(shelfops_metrics_to_jsonb(&m));
	initStringInfo(&buf);
	/* drop the closing brace to add the row count */
	appendBinaryStringInfo(&buf, metrics_text, strlen(metrics_text) - 1);
	appendStringInfo(&buf, ", \"rows\": %d, \"mase_series\": %d}", n, mase_n);
	pfree(actual);
	pfree(forecast);
	return buf.data;
}

char *
train_score_metrics(const SeriesSet *set, const ForecastRows *rows, const double *forecast,
					const double *lower, const double *upper, int scale_last)
{
	return score_parts(1, &set, &rows, &forecast, lower ? &lower : NULL, upper ? &upper : NULL,
					   &scale_last);
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

void
train_check_split(TrainPart *part)
{
	const SeriesSet *set = part->set;

	part->cal_first = part->origin - part->holdout + 1;
	part->train_last = part->cal_first - 1;
	if (part->train_last < part->horizon + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("dataset \"%s\" has %d %s periods, too few to train with horizon %d and holdout %d",
						set->dataset_id, set->ndata_periods, series_frequency_name(set->frequency),
						part->horizon, part->holdout),
				 errdetail("Training needs more than horizon + 2 x holdout + 1 = %d periods: a holdout, a calibration block of the same length before it, and training targets with at least one horizon of history.",
						   part->horizon + 2 * part->holdout + 1)));
}

/* Training rows of every part, each part's columns placed by its layout. */
static FeatureMatrix *
pool_matrices(int nparts, TrainPart *parts, FeatureMatrix **mats, int ncols)
{
	FeatureMatrix *pool = palloc0(sizeof(FeatureMatrix));
	int64		r = 0;

	pool->nfeatures = ncols;
	for (int p = 0; p < nparts; p++)
		pool->nrows += mats[p]->nrows;
	if (pool->nrows > INT_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%lld training rows are more than one model can take", (long long) pool->nrows)));
	pool->x = palloc_extended(sizeof(float) * (Size) Max(pool->nrows, 1) * ncols, MCXT_ALLOC_HUGE);
	pool->y = palloc(sizeof(float) * (Size) Max(pool->nrows, 1));
	for (int p = 0; p < nparts; p++)
	{
		const FeatureLayout *lay = parts[p].layout;
		const FeatureMatrix *m = mats[p];

		for (int64 i = 0; i < m->nrows; i++, r++)
		{
			float	   *dst = pool->x + (Size) r * ncols;
			const float *src = m->x + (Size) i * m->nfeatures;

			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			for (int c = 0; c < ncols; c++)
				dst[c] = get_float4_nan();
			for (int j = 0; j < m->nfeatures; j++)
				dst[lay->map[j]] = src[j];
			dst[lay->source_col] = lay->source_value;
			pool->y[r] = m->y[i];
		}
		pfree(m->x);
	}
	return pool;
}

void
train_evaluate(const ModelFamily *family, const ModelParams *params, int nparts, TrainPart *parts,
			   double interval_level, TrainResult *out)
{
	TimestampTz phase;
	FeatureRowFilter train_filter = {.include_unknown_y = false, .series_idx = -1, .require_target_base = true};
	FeatureMatrix **train_mats = palloc0(sizeof(FeatureMatrix *) * nparts);
	FeatureMatrix **cal_mats = palloc0(sizeof(FeatureMatrix *) * nparts);
	FeatureMatrix *train_mat = NULL,
			   *cal_mat = NULL;
	ModelTrainData td = {0};
	const char **names = NULL;
	int			ncols = 0;
	bool		with_valid = !family->needs_history && params->early_stopping_rounds > 0;

	if (nparts < 1 || (nparts > 1 && family->needs_history))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s cannot be trained on %d datasets at once", family->name, nparts),
				 errdetail("Only matrix models (xgboost) pool rows of several datasets into one model.")));
	memset(out, 0, sizeof(TrainResult));

	/* features */
	progress_phase(PROGRESS_FEATURES);
	phase = GetCurrentTimestamp();
	for (int p = 0; p < nparts; p++)
	{
		TrainPart  *part = &parts[p];

		train_check_split(part);
		if (part->spec == NULL)
			part->spec = feature_spec_build(part->set, part->horizon, part->train_last);
		part->layout = NULL;
		if (family->needs_history)
			continue;
		train_mats[p] = part->train_mat ? part->train_mat :
			features_build(part->spec, part->set, 0, part->train_last, &train_filter);
		part->train_rows = train_mats[p]->nrows;
		part->skipped_closed = train_mats[p]->skipped_closed;
		out->train_rows += part->train_rows;
		if (with_valid)
			cal_mats[p] = features_build(part->spec, part->set, part->cal_first, part->origin, &train_filter);
	}
	if (!family->needs_history)
	{
		if (nparts == 1)
		{
			const FeatureSpec *spec = parts[0].spec;

			train_mat = train_mats[0];
			cal_mat = cal_mats[0];
			ncols = spec->nfeatures;
			names = palloc(sizeof(char *) * Max(ncols, 1));
			for (int i = 0; i < ncols; i++)
				names[i] = feature_name(spec, i);
		}
		else
		{
			/* the union of the parts' columns by name, in first-seen order, then "source" */
			int			cap = 1;

			for (int p = 0; p < nparts; p++)
				cap += parts[p].spec->nfeatures;
			names = palloc(sizeof(char *) * cap);
			for (int p = 0; p < nparts; p++)
			{
				const FeatureSpec *spec = parts[p].spec;
				FeatureLayout *lay = palloc0(sizeof(FeatureLayout));

				lay->map = palloc(sizeof(int) * Max(spec->nfeatures, 1));
				for (int j = 0; j < spec->nfeatures; j++)
				{
					int			c;

					for (c = 0; c < ncols; c++)
						if (strcmp(names[c], feature_name(spec, j)) == 0)
							break;
					if (c == ncols)
						names[ncols++] = feature_name(spec, j);
					lay->map[j] = c;
				}
				lay->source_value = (float) p;
				parts[p].layout = lay;
			}
			names[ncols++] = "source";
			for (int p = 0; p < nparts; p++)
			{
				parts[p].layout->ncols = ncols;
				parts[p].layout->source_col = ncols - 1;
			}
			train_mat = pool_matrices(nparts, parts, train_mats, ncols);
			if (with_valid)
				cal_mat = pool_matrices(nparts, parts, cal_mats, ncols);
		}
		if (train_mat->nrows > INT_MAX / 2)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%lld training rows are more than one model can take",
							(long long) train_mat->nrows)));
		td.nrows = (int) train_mat->nrows;
		td.ncols = ncols;
		td.X = train_mat->x;
		td.y = train_mat->y;
		td.feature_names = names;
		progress_rows(train_mat->nrows, -1);
		if (cal_mat)
		{
			td.nvalid = (int) cal_mat->nrows;
			td.X_valid = cal_mat->x;
			td.y_valid = cal_mat->y;
		}
	}
	td.params = params;
	out->t_features = train_seconds_since(phase);

	/* fit */
	progress_phase(PROGRESS_FIT);
	td.progress = progress_rounds;
	phase = GetCurrentTimestamp();
	out->model = model_fit(family, &td);
	out->t_fit = train_seconds_since(phase);
	if (train_mat)
	{
		/* the matrices are the largest allocations: give them back before scoring */
		pfree(train_mat->x);
		if (cal_mat)
			pfree(cal_mat->x);
	}

	/* per part: calibration block, then the window, both forecast from the period before them */
	progress_phase(PROGRESS_SCORE);
	phase = GetCurrentTimestamp();
	{
		const SeriesSet **sets = palloc(sizeof(SeriesSet *) * nparts);
		const ForecastRows **rows = palloc(sizeof(ForecastRows *) * nparts);
		const double **preds = palloc(sizeof(double *) * nparts);
		const double **naives = palloc(sizeof(double *) * nparts);
		const double **lowers = palloc(sizeof(double *) * nparts);
		const double **uppers = palloc(sizeof(double *) * nparts);
		int		   *scale_last = palloc(sizeof(int) * nparts);

		for (int p = 0; p < nparts; p++)
		{
			TrainPart  *part = &parts[p];
			const SeriesSet *set = part->set;
			double	   *cal_pred,
					   *naive_pred;
			ForecastRows *hr;

			part->cal_rows = forecast_rows_range(set, part->cal_first, part->origin, part->cal_first - 1, false, -1);
			/* a seasonal-difference model: the weight of its output, fitted on the calibration block */
			cal_pred = palloc(sizeof(double) * Max(part->cal_rows->n, 1));
			forecast_rows_predict_fitting_weight(out->model, part->spec, part->layout, set, part->cal_rows,
												 cal_pred);
			part->calibration = forecast_rows_calibrate(set, part->cal_rows, cal_pred);
			part->halfwidth = conformal_halfwidth(part->calibration, interval_level);
			pfree(cal_pred);

			hr = forecast_rows_range(set, part->origin + 1, part->origin + part->holdout, part->origin, false, -1);
			if (hr->n == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
						 errmsg("the holdout of dataset \"%s\" has no observed rows", set->dataset_id)));
			part->hold_rows = hr;
			part->hold_pred = palloc(sizeof(double) * hr->n);
			part->lower = palloc(sizeof(double) * hr->n);
			part->upper = palloc(sizeof(double) * hr->n);
			naive_pred = palloc(sizeof(double) * hr->n);
			forecast_rows_predict_layout(out->model, part->spec, part->layout, set, hr, part->hold_pred);
			forecast_rows_intervals(set, hr, part->hold_pred, part->halfwidth, part->lower, part->upper);
			part->metrics_text = train_score_metrics(set, hr, part->hold_pred, part->lower, part->upper,
													 part->origin);
			forecast_rows_predict(train_seasonal_naive(set), part->spec, set, hr, naive_pred);
			part->naive_text = train_score_metrics(set, hr, naive_pred, NULL, NULL, part->origin);

			out->cal_rows += part->cal_rows->n;
			out->hold_rows += hr->n;
			sets[p] = set;
			rows[p] = hr;
			preds[p] = part->hold_pred;
			naives[p] = naive_pred;
			lowers[p] = part->lower;
			uppers[p] = part->upper;
			scale_last[p] = part->origin;
		}
		progress_rows(-1, out->hold_rows);
		if (nparts == 1)
		{
			out->metrics_text = parts[0].metrics_text;
			out->naive_text = parts[0].naive_text;
		}
		else
		{
			out->metrics_text = score_parts(nparts, sets, rows, preds, lowers, uppers, scale_last);
			out->naive_text = score_parts(nparts, sets, rows, naives, NULL, NULL, scale_last);
		}
	}
	out->t_score = train_seconds_since(phase);
}

static int
check_range(const int *given, const char *name, int dflt, int lo, int hi)
{
	if (given == NULL)
		return dflt;
	if (*given < lo || *given > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %d and %d, got %d", name, lo, hi, *given)));
	return *given;
}

int
train_int_arg(FunctionCallInfo fcinfo, int argno, const char *name, int dflt, int lo, int hi)
{
	if (PG_ARGISNULL(argno))
		return dflt;
	return check_range(&(int) {PG_GETARG_INT32(argno)}, name, dflt, lo, hi);
}

void
train_resolve_horizon(const SeriesSet *set, const int *horizon_arg, const int *holdout_arg,
					  int *horizon, int *holdout)
{
	*horizon = check_range(horizon_arg, "horizon", set->frequency == SERIES_WEEKLY ? 8 : 14,
						   1, FEATURE_MAX_HORIZON);
	*holdout = check_range(holdout_arg, "holdout", *horizon, 1, FEATURE_MAX_HORIZON);
	if (*holdout > *horizon)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holdout (%d) must not exceed horizon (%d)", *holdout, *horizon),
				 errdetail("The holdout is forecast from one origin, so each of its periods must be within the horizon."),
				 errhint("Use shelfops_backtest for evaluations over longer windows.")));
}

Datum
train_jsonb_datum(const char *text)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
}

/* The library versions a run records: XGBoost, PostgreSQL and this extension. */
char *
train_library_versions(void)
{
	return psprintf("{\"xgboost\": \"%s\", \"postgresql\": \"%s\", \"shelfops\": \"%s\"}",
					model_xgboost_version(), PG_VERSION, SHELFOPS_VERSION);
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

void
train_split(const SeriesSet *set, int horizon, int holdout, TrainSplit *split)
{
	TrainPart	part = {0};

	part.set = set;
	part.horizon = horizon;
	part.holdout = holdout;
	part.origin = set->ndata_periods - 1 - holdout;
	train_check_split(&part);
	split->T = set->ndata_periods - 1;
	split->origin = part.origin;
	split->cal_first = part.cal_first;
	split->train_last = part.train_last;
}

char *
train_run(TrainJob *job)
{
	const ModelFamily *family = job->family;
	SeriesSet  *set = job->set;
	const char *tenant_id = job->tenant_id;
	const char *dataset_id = job->dataset_id;
	const char *model_name = job->model_name;
	const char *trigger = job->trigger;
	int			horizon = job->horizon;
	int			holdout = job->holdout;
	int			T = job->split.T;
	int			origin = job->split.origin;
	int			train_last;
	ModelParams params = job->params;
	TrainPart	part = {0};
	TrainResult res;
	FeatureSpec *spec;
	Model	   *model;
	ForecastRows *cal_rows,
			   *hold_rows;
	Jsonb	   *calibration;
	char	   *metrics_text,
			   *naive_text,
			   *importance = NULL;
	bytea	   *envelope;
	char	   *model_sha;
	double		t_features,
				t_fit,
				t_score;
	int			version;
	char	   *run_id;
	StringInfoData buf;
	Jsonb	   *describe;
	JsonbValue *imp;
	char	   *params_text,
			   *spec_text,
			   *lineage_text;
	MemoryContext callercxt = CurrentMemoryContext;

	part.set = set;
	part.horizon = horizon;
	part.holdout = holdout;
	part.origin = origin;
	part.spec = job->spec;
	part.train_mat = job->train_mat;

	/* features, fit, calibration and holdout scoring */
	train_evaluate(family, &params, 1, &part, TRAIN_INTERVAL_LEVEL, &res);
	model = res.model;
	spec = part.spec;
	train_last = part.train_last;
	cal_rows = part.cal_rows;
	hold_rows = part.hold_rows;
	calibration = part.calibration;
	metrics_text = res.metrics_text;
	naive_text = res.naive_text;
	t_features = job->t_features + res.t_features;
	t_fit = res.t_fit;
	t_score = res.t_score;

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
					 "\"lineage_label\": \"%s__%s__%s__global__horizon_safe_v%d\"%s}",
					 model_name, dataset_id, series_frequency_name(set->frequency),
					 FEATURE_SPEC_FORMAT, family->name, objective_of(model),
					 job->tuning_profile,
					 trigger,
					 job->change_category ? job->change_category :
					 ((strcmp(trigger, "manual") == 0 || strcmp(trigger, "scheduled") == 0) ?
					  "baseline_refresh" : "promotion_decision"),
					 holdout * set->period_days,
					 model_name, family->name, objective_of(model), FEATURE_SPEC_FORMAT,
					 job->lineage_extra ? job->lineage_extra : "");
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
						 job->t_read, t_features, t_fit, t_score, train_seconds_since(job->started_at));
		{
			Oid			rtypes[14] = {TEXTOID, TEXTOID, INT4OID, TEXTOID, TEXTOID, TEXTOID,
			JSONBOID, JSONBOID, JSONBOID, JSONBOID, JSONBOID, TEXTOID, JSONBOID, TIMESTAMPTZOID};
			StringInfoData counts;

			initStringInfo(&counts);
			appendStringInfo(&counts, "{\"sales_rows\": %lld, \"series\": %d, \"periods\": %d, "
							 "\"train\": %lld, \"calibration\": %d, \"holdout\": %d, \"closed_skipped\": %lld}",
							 (long long) set->nrows, set->nseries, set->ndata_periods,
							 (long long) part.train_rows, cal_rows->n, hold_rows->n,
							 (long long) part.skipped_closed);
			values[0] = CStringGetTextDatum(tenant_id);
			values[1] = CStringGetTextDatum(model_name);
			values[2] = Int32GetDatum(version);
			values[3] = CStringGetTextDatum(dataset_id);
			values[4] = CStringGetTextDatum(family->name);
			values[5] = CStringGetTextDatum(trigger);
			values[6] = train_jsonb_datum(params_text);
			values[7] = train_jsonb_datum(buf.data);
			values[8] = train_jsonb_datum(metrics_text);
			values[9] = importance ? train_jsonb_datum(importance) : (Datum) 0;
			values[10] = train_jsonb_datum(counts.data);
			values[11] = CStringGetTextDatum(set->fingerprint);
			values[12] = train_jsonb_datum(train_library_versions());
			values[13] = TimestampTzGetDatum(job->started_at);
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
			run_id = MemoryContextStrdup(callercxt, run_id);
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
			values[7] = train_jsonb_datum(params_text);
			values[8] = train_jsonb_datum(spec_text);
			initStringInfo(&buf);
			appendStringInfo(&buf, "{\"holdout\": %s, \"seasonal_naive\": %s, \"interval_level\": %.2f}",
							 metrics_text, naive_text, TRAIN_INTERVAL_LEVEL);
			values[9] = train_jsonb_datum(buf.data);
			values[10] = train_jsonb_datum(lineage_text);
			values[11] = JsonbPGetDatum(calibration);
			values[12] = DateADTGetDatum(series_period_date(set, 0));
			values[13] = DateADTGetDatum(series_period_date(set, train_last));
			values[14] = DateADTGetDatum(series_period_date(set, origin + 1));
			values[15] = DateADTGetDatum(series_period_date(set, T));
			values[16] = Int64GetDatum(part.train_rows);
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
			values[4] = TimestampTzGetDatum(job->started_at);
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
					 run_id, (long long) part.train_rows, cal_rows->n, hold_rows->n,
					 metrics_text, naive_text, job->t_read, t_features, t_fit, t_score, train_seconds_since(job->started_at));
	job->version = version;
	job->run_id = run_id;
	return buf.data;
}

Datum
shelfops_train(PG_FUNCTION_ARGS)
{
	TimestampTz phase;
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	char	   *model_name = shelfops_ident_arg(fcinfo, 1, "model_name");
	char	   *algorithm;
	char	   *trigger;
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 7);
	MemoryContext cxt,
				oldcxt;
	bool		trigger_ok = false;
	TrainJob	job = {0};
	char	   *result;

	job.started_at = GetCurrentTimestamp();
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("algorithm must not be NULL")));
	algorithm = text_to_cstring(PG_GETARG_TEXT_PP(2));
	job.family = model_family_lookup(algorithm);
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
	progress_begin(cxt, tenant_id, model_name, dataset_id, job.family->name);

	/* read */
	phase = GetCurrentTimestamp();
	job.set = series_load(tenant_id, dataset_id, cxt);
	job.t_read = train_seconds_since(phase);
	train_resolve_horizon(job.set, PG_ARGISNULL(4) ? NULL : &(int) {PG_GETARG_INT32(4)},
						  PG_ARGISNULL(5) ? NULL : &(int) {PG_GETARG_INT32(5)}, &job.horizon, &job.holdout);
	params_from_jsonb(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3), job.family->kind,
					  job.set->frequency == SERIES_WEEKLY, &job.params);
	train_split(job.set, job.horizon, job.holdout, &job.split);

	job.tenant_id = tenant_id;
	job.dataset_id = dataset_id;
	job.model_name = model_name;
	job.trigger = trigger;
	job.tuning_profile = (PG_ARGISNULL(3) || JB_ROOT_COUNT(PG_GETARG_JSONB_P(3)) == 0) ? "baseline" : "custom";
	result = train_run(&job);

	MemoryContextSwitchTo(oldcxt);
	result = pstrdup(result);
	progress_end();
	MemoryContextDelete(cxt);
	PG_RETURN_DATUM(train_jsonb_datum(result));
}
