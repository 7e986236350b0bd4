/*
 * train.h
 *	  Pieces of training that backtests, tuning and the arena reuse (see train.c).
 */
#ifndef SHELFOPS_TRAIN_H
#define SHELFOPS_TRAIN_H

#include "postgres.h"

#include "feature_spec.h"
#include "model.h"
#include "predict.h"
#include "series.h"

/*
 * Every canonical metric of forecast[] against the rows' actuals, as JSON
 * text, with MASE scaled per series by its in-sample seasonal-naive error over
 * periods <= scale_last; lower/upper may be NULL (coverage NULL).
 */
extern char *train_score_metrics(const SeriesSet *set, const ForecastRows *rows,
								 const double *forecast, const double *lower,
								 const double *upper, int scale_last);

/* A seasonal-naive model for the set's calendar (season 7 daily, 52 weekly). */
extern Model *train_seasonal_naive(const SeriesSet *set);

/*
 * One dataset of a training (train_evaluate).  The caller sets set, horizon,
 * holdout and origin; train_evaluate fills the rest.  The calendar of the set
 * is split by date only (origin = the last period known; shelfops_train uses
 * the dataset's last period minus the holdout):
 *
 *	  [0 .. train_last]          training targets
 *	  [cal_first .. origin]      calibration block (early stopping, intervals),
 *	                             holdout periods long
 *	  [origin + 1 .. origin + holdout]  the scored window, forecast from origin
 */
typedef struct TrainPart
{
	const SeriesSet *set;
	int			horizon;		/* features: every step 1 .. horizon */
	int			holdout;		/* periods scored, <= horizon */
	int			origin;
	/* filled by train_evaluate */
	int			cal_first;
	int			train_last;
	FeatureSpec *spec;
	FeatureLayout *layout;		/* NULL unless pooled */
	int64		train_rows;
	int64		skipped_closed;
	ForecastRows *cal_rows;
	ForecastRows *hold_rows;
	Jsonb	   *calibration;
	double		halfwidth;		/* at interval_level */
	double	   *hold_pred;
	double	   *lower;
	double	   *upper;
	char	   *metrics_text;	/* train_score_metrics() of the scored window */
	char	   *naive_text;		/* the seasonal naive on the same rows */
} TrainPart;

typedef struct TrainResult
{
	Model	   *model;
	int64		train_rows;		/* over every part */
	int			cal_rows;
	int			hold_rows;
	char	   *metrics_text;	/* over every part (pooled: every part's rows) */
	char	   *naive_text;
	double		t_features;		/* seconds per phase */
	double		t_fit;
	double		t_score;
} TrainResult;

/*
 * The horizon and holdout of a training on set: the given values (NULL: the
 * defaults, 14 daily / 8 weekly periods and holdout = horizon), checked.
 */
extern void train_resolve_horizon(const SeriesSet *set, const int *horizon_arg,
								  const int *holdout_arg, int *horizon, int *holdout);

/*
 * ERROR unless the set has room for the part's split: a calibration block and
 * training targets with at least one horizon of history before the origin.
 */
extern void train_check_split(const TrainPart *part);

/*
 * The whole of a training but the writing: features, one fit over every part
 * (nparts > 1: one pooled model over the union of the parts' feature columns
 * plus a "source" column holding the part's index), calibration per part, the
 * forecasts of each part's window with intervals at interval_level, and every
 * canonical metric per part and overall, with the seasonal naive beside.
 * History families (baselines) take one part only.  Reports progress phases.
 */
extern void train_evaluate(const ModelFamily *family, const ModelParams *params,
						   int nparts, TrainPart *parts, double interval_level,
						   TrainResult *out);

#endif							/* SHELFOPS_TRAIN_H */
