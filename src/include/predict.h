/*
 * predict.h
 *	  Forecasting a list of (series, target period) rows from their origins with
 *	  a loaded model and its feature specification, and split-conformal
 *	  intervals (see predict.c).  Training, forecasting, backtests and the arena
 *	  all score through these functions, so every caller forecasts alike.
 */
#ifndef SHELFOPS_PREDICT_H
#define SHELFOPS_PREDICT_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "feature_spec.h"
#include "model.h"
#include "series.h"

/* Rows to forecast: target period[i] of series[i], forecast from origin[i]. */
typedef struct ForecastRows
{
	int			n;
	int32	   *series;
	int32	   *period;
	int32	   *origin;			/* last period known; period - origin is the step */
} ForecastRows;

/*
 * Every (series, period) of the set with period_from <= period <= period_to and
 * an observed y (or every one, when with_unknown), all forecast from origin.
 */
extern ForecastRows *forecast_rows_range(const SeriesSet *set, int period_from, int period_to,
										 int origin, bool with_unknown, int only_series);

/*
 * Forecast each row into out[i]: model output, never negative, and 0 where the
 * store is known to be closed on the target period.  Matrix models read
 * features_row() (history at periods <= period - H only); history models read
 * the series up to the origin.  Every row's step must be 1 .. spec->horizon.
 */
extern void forecast_rows_predict(Model *model, const FeatureSpec *spec, const SeriesSet *set,
								  const ForecastRows *rows, double *out);

/*
 * Where a spec's columns sit in a wider model matrix: a model pooled over
 * several datasets (train.c) sees the union of their feature columns, by name,
 * plus a source column.  Column spec column j goes to model column map[j];
 * every other column is NaN, except source_col (>= 0) which holds source_value.
 */
typedef struct FeatureLayout
{
	int			ncols;			/* model columns */
	int		   *map;			/* [spec->nfeatures] */
	int			source_col;		/* -1: none */
	float		source_value;
} FeatureLayout;

/* forecast_rows_predict for a model fitted on a layout (NULL: the spec's own columns). */
extern void forecast_rows_predict_layout(Model *model, const FeatureSpec *spec,
										 const FeatureLayout *layout, const SeriesSet *set,
										 const ForecastRows *rows, double *out);

/*
 * Split-conformal calibration: from absolute residuals of a block the model did
 * not train on, the quantiles of |y - yhat| at levels 0.50 .. 0.99 (step 0.01),
 * with the finite-sample correction ceil((n + 1) * level) / n.
 */
extern Jsonb *conformal_calibrate(const double *abs_residuals, int n);

/*
 * forecast_rows_predict_layout on rows (a time block the model did not train
 * on) that first fits spec->residual_weight: the weight a of a
 * seasonal-difference model's output (forecast = base + a x output) that
 * minimises the absolute error there, within [0, 1]; 1 for a model without a
 * target transform.  The rows are predicted once.
 */
extern void forecast_rows_predict_fitting_weight(Model *model, FeatureSpec *spec,
												 const FeatureLayout *layout, const SeriesSet *set,
												 const ForecastRows *rows, double *out);

/*
 * Calibrate on forecasts of rows the model did not train on: the absolute
 * residuals of every row except periods known to be closed (forecast 0 by
 * rule, so they say nothing about spread).
 */
extern Jsonb *forecast_rows_calibrate(const SeriesSet *set, const ForecastRows *rows,
									  const double *forecast);

/*
 * Interval bounds of each forecast: forecast -/+ halfwidth, never below 0, and
 * the point itself where the store is known to be closed.
 */
extern void forecast_rows_intervals(const SeriesSet *set, const ForecastRows *rows,
									const double *forecast, double halfwidth,
									double *lower, double *upper);

/* Half-width of the interval at level (0.5 .. 0.99) from a calibration document. */
extern double conformal_halfwidth(Jsonb *calibration, double level);

#endif							/* SHELFOPS_PREDICT_H */
