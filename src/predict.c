/*
 * predict.c
 *	  Owns forecasting rows of (series, target period, origin) with a loaded
 *	  model, and the split-conformal intervals around those forecasts.
 *
 * Every caller that scores or serves a model (training's holdout, forecasting,
 * backtests, the arena) goes through forecast_rows_predict, so the rules live
 * in one place: forecasts are never negative, a period whose store is known to
 * be closed is forecast 0 (closed days are not learned; see features.c), matrix
 * models read only history at periods <= target - horizon, and history models
 * read the series up to the origin.  A seasonal-difference model (weekly
 * data, FeatureSpec.target_base) forecasts base + residual_weight x its
 * output, and the fallback base alone where lag_year is unknown;
 * forecast_rows_predict_fitting_weight fits that weight on a block the model did not
 * train on.
 *
 * Intervals are split-conformal: the quantiles of absolute residuals on a time
 * block the model did not train on (the block just before the holdout), with
 * the finite-sample correction, not the spread of training residuals.
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"

#include "predict.h"

#define CONFORMAL_MIN_LEVEL 50	/* percent */
#define CONFORMAL_MAX_LEVEL 99
#define CONFORMAL_NLEVELS (CONFORMAL_MAX_LEVEL - CONFORMAL_MIN_LEVEL + 1)

ForecastRows *
forecast_rows_range(const SeriesSet *set, int period_from, int period_to, int origin,
					bool with_unknown, int only_series)
{
	ForecastRows *rows = palloc0(sizeof(ForecastRows));
	int64		cap = 0;
	int			first = only_series >= 0 ? only_series : 0;
	int			last = only_series >= 0 ? only_series : set->nseries - 1;

	period_from = Max(period_from, 0);
	period_to = Min(period_to, set->nperiods - 1);
	if (period_to >= period_from)
		cap = (int64) (last - first + 1) * (period_to - period_from + 1);
	if (cap > INT_MAX / 4)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many forecast rows: %lld", (long long) cap)));
	rows->series = palloc(sizeof(int32) * Max(cap, 1));
	rows->period = palloc(sizeof(int32) * Max(cap, 1));
	rows->origin = palloc(sizeof(int32) * Max(cap, 1));
	for (int s = first; s <= last; s++)
	{
		const Series *ser = &set->series[s];

		for (int t = period_from; t <= period_to; t++)
		{
			if (!with_unknown && isnan(ser->y[t]))
				continue;
			rows->series[rows->n] = s;
			rows->period[rows->n] = t;
			rows->origin[rows->n] = origin;
			rows->n++;
		}
	}
	return rows;
}

static bool
known_closed(const SeriesSet *set, int s, int t)
{
	const float *open = set->series[s].cov[SCOV_IS_OPEN];

	return set->has_cov[SCOV_IS_OPEN] && open != NULL && !isnan(open[t]) && open[t] == 0;
}

void
forecast_rows_predict(Model *model, const FeatureSpec *spec, const SeriesSet *set,
					  const ForecastRows *rows, double *out)
{
	forecast_rows_predict_layout(model, spec, NULL, set, rows, out);
}

/*
 * A matrix model's raw output for each row (before the target base is added
 * back and before the clamp), and each row's target base and whether the base
 * column (lag_year) is known.  base / base_known may be NULL when the spec has
 * no target transform.
 */
static void
predict_matrix_raw(Model *model, const FeatureSpec *spec, const FeatureLayout *layout,
				   const SeriesSet *set, const ForecastRows *rows, double *raw,
				   double *base, bool *base_known)
{
	const int	batch = 8192;
	int			ncols = layout ? layout->ncols : spec->nfeatures;
	float	   *x = palloc(sizeof(float) * (Size) batch * ncols);
	float	   *row = palloc(sizeof(float) * Max(spec->nfeatures, 1));

	for (int start = 0; start < rows->n; start += batch)
	{
		int			n = Min(batch, rows->n - start);
		ModelPredictInput in = {0};

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < n; i++)
		{
			float	   *xi = x + (Size) i * ncols;

			if (layout == NULL)
				features_row(spec, set, rows->series[start + i], rows->period[start + i], xi);
			else
			{
				features_row(spec, set, rows->series[start + i], rows->period[start + i], row);
				for (int c = 0; c < ncols; c++)
					xi[c] = get_float4_nan();
				for (int j = 0; j < spec->nfeatures; j++)
					xi[layout->map[j]] = row[j];
				if (layout->source_col >= 0)
					xi[layout->source_col] = layout->source_value;
			}
			if (base)
			{
				base[start + i] = feature_target_base(spec, layout == NULL ? xi : row);
				base_known[start + i] = feature_target_base_known(spec, layout == NULL ? xi : row);
			}
		}
		in.nrows = n;
		in.ncols = ncols;
		in.X = x;
		model_predict(model, &in, raw + start, NULL);
	}
	pfree(x);
	pfree(row);
}

/*
 * A seasonal-difference model's output (out, in place) as a forecast of y:
 * base + residual_weight x output where lag_year is known; elsewhere the row
 * was never trained on (the output is not a residual of anything) and gets the
 * spec's fallback base alone.
 */
static void
add_target_base(const FeatureSpec *spec, const ForecastRows *rows, double *out,
				const double *base, const bool *known)
{
	for (int i = 0; i < rows->n; i++)
	{
		if (known[i])
			out[i] = base[i] + spec->residual_weight * out[i];
		else if (spec->base_fallback >= 0)
			out[i] = base[i];
		else
			out[i] += base[i];
	}
}

/* Forecasts are never negative, and 0 for a period known closed (also maps NaN to 0). */
static void
clamp_forecasts(const SeriesSet *set, const ForecastRows *rows, double *out)
{
	for (int i = 0; i < rows->n; i++)
	{
		if (!(out[i] > 0) || known_closed(set, rows->series[i], rows->period[i]))
			out[i] = 0.0;
	}
}

void
forecast_rows_predict_layout(Model *model, const FeatureSpec *spec, const FeatureLayout *layout,
							 const SeriesSet *set, const ForecastRows *rows, double *out)
{
	for (int i = 0; i < rows->n; i++)
	{
		int			step = rows->period[i] - rows->origin[i];

		if (step < 1 || step > spec->horizon)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("forecast step %d is outside this model's horizon 1..%d",
							step, spec->horizon)));
	}

	if (model->family->needs_history)
	{
		ModelSeries *hist = palloc(sizeof(ModelSeries) * Max(set->nseries, 1));
		int32	   *steps = palloc(sizeof(int32) * Max(rows->n, 1));
		ModelPredictInput in = {0};

		for (int s = 0; s < set->nseries; s++)
		{
			hist[s].values = set->series[s].y;
			hist[s].length = set->nperiods;
		}
		for (int i = 0; i < rows->n; i++)
			steps[i] = rows->period[i] - rows->origin[i];
		in.nrows = rows->n;
		in.series = hist;
		in.nseries = set->nseries;
		in.row_series = rows->series;
		in.row_origin = rows->origin;
		in.row_step = steps;
		model_predict(model, &in, out, NULL);
		pfree(hist);
		pfree(steps);
	}
	else if (spec->target_base < 0)
		predict_matrix_raw(model, spec, layout, set, rows, out, NULL, NULL);
	else
	{
		/* a model of y - base (the spec's target transform) */
		double	   *base = palloc(sizeof(double) * Max(rows->n, 1));
		bool	   *known = palloc(sizeof(bool) * Max(rows->n, 1));

		predict_matrix_raw(model, spec, layout, set, rows, out, base, known);
		add_target_base(spec, rows, out, base, known);
		pfree(base);
		pfree(known);
	}
	clamp_forecasts(set, rows, out);
}

typedef struct WeightedValue
{
	double		z;
	double		w;
} WeightedValue;

static int
cmp_weighted(const void *a, const void *b)
{
	double		x = ((const WeightedValue *) a)->z;
	double		y = ((const WeightedValue *) b)->z;

	return (x > y) - (x < y);
}

void
forecast_rows_predict_fitting_weight(Model *model, FeatureSpec *spec, const FeatureLayout *layout,
									 const SeriesSet *set, const ForecastRows *rows, double *out)
{
	double	   *base;
	bool	   *known;
	WeightedValue *v;
	int			n = 0;
	double		total = 0,
				acc = 0,
				alpha = 1.0;

	spec->residual_weight = 1.0;
	if (model->family->needs_history || spec->target_base < 0 || rows->n == 0)
	{
		forecast_rows_predict_layout(model, spec, layout, set, rows, out);
		return;
	}
	base = palloc(sizeof(double) * rows->n);
	known = palloc(sizeof(bool) * rows->n);
	v = palloc(sizeof(WeightedValue) * rows->n);
	/* the model's raw output, once: the weight is fitted on it, then applied */
	predict_matrix_raw(model, spec, layout, set, rows, out, base, known);

	/*
	 * sum_i |y_i - base_i - a r_i| = sum_i |r_i| |z_i - a| with z_i = (y_i -
	 * base_i) / r_i: minimised by the |r_i|-weighted median of z; the loss is
	 * convex in a, so the median clipped to [0, 1] is the constrained minimum.
	 */
	for (int i = 0; i < rows->n; i++)
	{
		double		y = set->series[rows->series[i]].y[rows->period[i]];

		if (!known[i] || isnan(y) || !(fabs(out[i]) > 0) || isinf(out[i]) ||
			known_closed(set, rows->series[i], rows->period[i]))
			continue;
		v[n].z = (y - base[i]) / out[i];
		v[n].w = fabs(out[i]);
		total += v[n].w;
		n++;
	}
	if (n > 0)
	{
		qsort(v, n, sizeof(WeightedValue), cmp_weighted);
		for (int i = 0; i < n; i++)
		{
			acc += v[i].w;
			if (acc >= total / 2)
			{
				alpha = v[i].z;
				break;
			}
		}
		alpha = Min(Max(alpha, 0.0), 1.0);
	}
	spec->residual_weight = alpha;
	add_target_base(spec, rows, out, base, known);
	clamp_forecasts(set, rows, out);
	pfree(base);
	pfree(known);
	pfree(v);
}

Jsonb *
forecast_rows_calibrate(const SeriesSet *set, const ForecastRows *rows, const double *forecast)
{
	double	   *abs_res = palloc(sizeof(double) * Max(rows->n, 1));
	int			n = 0;
	Jsonb	   *calibration;

	for (int i = 0; i < rows->n; i++)
	{
		if (known_closed(set, rows->series[i], rows->period[i]))
			continue;
		abs_res[n++] = fabs(set->series[rows->series[i]].y[rows->period[i]] - forecast[i]);
	}
	calibration = conformal_calibrate(abs_res, n);
	pfree(abs_res);
	return calibration;
}

void
forecast_rows_intervals(const SeriesSet *set, const ForecastRows *rows, const double *forecast,
						double halfwidth, double *lower, double *upper)
{
	for (int i = 0; i < rows->n; i++)
	{
		bool		closed = known_closed(set, rows->series[i], rows->period[i]);

		lower[i] = closed ? 0 : Max(forecast[i] - halfwidth, 0.0);
		upper[i] = closed ? 0 : forecast[i] + halfwidth;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

Jsonb *
conformal_calibrate(const double *abs_residuals, int n)
{
	StringInfoData buf;
	double	   *sorted;

	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("no calibration rows: the interval calibration block before the holdout is empty"),
				 errhint("Use a dataset with more history or a shorter holdout.")));
	sorted = palloc(sizeof(double) * n);
	memcpy(sorted, abs_residuals, sizeof(double) * n);
	qsort(sorted, n, sizeof(double), cmp_double);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"method\": \"split_conformal\", \"n\": %d, \"min_level\": %.2f, "
					 "\"level_step\": 0.01, \"halfwidths\": [",
					 n, CONFORMAL_MIN_LEVEL / 100.0);
	for (int l = CONFORMAL_MIN_LEVEL; l <= CONFORMAL_MAX_LEVEL; l++)
	{
		/* the ceil((n + 1) * level)-th smallest residual, capped at the largest */
		int			k = (int) ceil((n + 1) * (l / 100.0));

		k = Min(Max(k, 1), n);
		appendStringInfo(&buf, "%s%.17g", l > CONFORMAL_MIN_LEVEL ? ", " : "", sorted[k - 1]);
	}
	appendStringInfoString(&buf, "]}");
	pfree(sorted);
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

static double
halfwidth_at(JsonbContainer *arr, int idx)
{
	JsonbValue *v = getIthJsonbValueFromContainer(arr, idx);

	if (v == NULL || v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model calibration is malformed: halfwidths[%d] is missing", idx)));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

double
conformal_halfwidth(Jsonb *calibration, double level)
{
	JsonbValue *arr;
	double		pos;
	int			lo;

	if (!(level >= 0.5 && level <= 0.99))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("level must be between 0.5 and 0.99, got %g", level)));
	if (calibration == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this model version has no interval calibration")));
	arr = getKeyJsonValueFromContainer(&calibration->root, "halfwidths", strlen("halfwidths"), NULL);
	if (arr == NULL || arr->type != jbvBinary || !JsonContainerIsArray(arr->val.binary.data) ||
		JsonContainerSize(arr->val.binary.data) != CONFORMAL_NLEVELS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model calibration is malformed: expected %d halfwidths", CONFORMAL_NLEVELS)));

	/* linear between the two neighbouring percent levels */
	pos = level * 100.0 - CONFORMAL_MIN_LEVEL;
	lo = (int) floor(pos);
	if (lo >= CONFORMAL_NLEVELS - 1)
		return halfwidth_at(arr->val.binary.data, CONFORMAL_NLEVELS - 1);
	return halfwidth_at(arr->val.binary.data, lo) +
		(pos - lo) * (halfwidth_at(arr->val.binary.data, lo + 1) -
					  halfwidth_at(arr->val.binary.data, lo));
}
