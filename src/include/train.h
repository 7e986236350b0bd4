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

/* Fill split for (horizon, holdout); ERROR when the calendar is too short. */
extern void train_split(const SeriesSet *set, const char *dataset_id, int horizon, int holdout,
						TrainSplit *split);

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

#endif							/* SHELFOPS_TRAIN_H */
