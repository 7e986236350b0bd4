/*
 * train.h
 *	  Pieces of training that backtests, tuning and the arena reuse (see train.c).
 */
#ifndef SHELFOPS_TRAIN_H
#define SHELFOPS_TRAIN_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/timestamp.h"

#include "feature_spec.h"
#include "model.h"
#include "predict.h"
#include "series.h"

/*
 * The time split of a dataset's calendar (periods 0 .. T), see train.c:
 * training targets 0 .. train_last, calibration block cal_first .. origin,
 * holdout origin + 1 .. T.
 */
typedef struct TrainSplit
{
	int			T;
	int			origin;
	int			cal_first;
	int			train_last;
} TrainSplit;

/*
 * One training, from the features on: what shelfops_train runs after reading
 * the dataset and checking its arguments, and what tuning runs for its winner.
 * spec and train_mat may be given (built once by the caller, e.g. tuning);
 * train_run frees train_mat->x after the fit.
 */
typedef struct TrainJob
{
	const char *tenant_id;
	const char *dataset_id;
	const char *model_name;
	const ModelFamily *family;
	ModelParams params;
	const char *trigger;		/* manual, scheduled, ... */
	const char *tuning_profile; /* lineage.tuning_profile: baseline, custom, tuned */
	const char *change_category;	/* lineage.change_category; NULL: from trigger */
	const char *lineage_extra;	/* more lineage members (", \"k\": v"), or NULL */
	int			horizon;
	int			holdout;
	SeriesSet  *set;
	TrainSplit	split;
	FeatureSpec *spec;			/* NULL: built by train_run */
	FeatureMatrix *train_mat;	/* NULL: built by train_run */
	TimestampTz started_at;
	double		t_read;			/* seconds already spent reading */
	double		t_features;		/* seconds already spent on features */
	/* out */
	int			version;
	char	   *run_id;
} TrainJob;

/*
 * Fill split for (horizon, holdout), as train_resolve_horizon checked them:
 * origin at the last period minus the holdout; ERROR when the calendar is too short.
 */
extern void train_split(const SeriesSet *set, int horizon, int holdout, TrainSplit *split);

/*
 * Features (unless given), fit, calibration, holdout scoring and the rows one
 * training writes (model_versions candidate, training_runs, retraining log).
 * Reports progress phases features .. write.  Returns the result document text.
 */
extern char *train_run(TrainJob *job);

/* Integer argument argno (dflt when NULL); ERROR outside lo .. hi. */
extern int	train_int_arg(FunctionCallInfo fcinfo, int argno, const char *name, int dflt, int lo, int hi);
extern double train_seconds_since(TimestampTz start);
extern Datum train_jsonb_datum(const char *text);
extern char *train_library_versions(void);

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
	FeatureSpec *spec;			/* may be given (built once by the caller); else built */
	FeatureMatrix *train_mat;	/* may be given with spec; its x is freed after the fit */
	/* filled by train_evaluate */
	int			cal_first;
	int			train_last;
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
 * Place the part's split behind its origin (cal_first, train_last: the one
 * place that arithmetic lives) and ERROR unless the set has room for it: a
 * calibration block and training targets with at least one horizon of history.
 */
extern void train_check_split(TrainPart *part);

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
