/*
 * feature_spec.h
 *	  The horizon-safe feature specification and the matrix builder (see
 *	  features.c and docs/features.md).
 *
 * A FeatureSpec is decided once, at training time, from a SeriesSet, the model's
 * horizon H and the last training period.  It fixes the feature list and every
 * encoding (category, store, store attribute and holiday-type codes) and the
 * training-window statistics, and travels with the model as jsonb so that
 * forecasting encodes exactly as training did.
 *
 * Every history feature of target period t reads y only at periods <= t - H,
 * so one model serves every step 1..H from a forecast origin.
 */
#ifndef SHELFOPS_FEATURES_H
#define SHELFOPS_FEATURES_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "series.h"

#define FEATURE_SPEC_FORMAT 1
#define FEATURE_MAX_HORIZON 1000

typedef enum FeatureKind
{
	/* calendar of the target period t */
	FK_DAY_OF_WEEK,				/* ISO 1 = Monday .. 7 = Sunday (daily) */
	FK_DAY_OF_MONTH,
	FK_DAY_OF_YEAR,
	FK_WEEK_OF_YEAR,			/* ISO week */
	FK_MONTH,
	FK_IS_MONTH_START,
	FK_IS_MONTH_END,
	FK_IS_WEEKEND,				/* daily */
	FK_DAYS_TO_MONTH_END,
	/* history: y at periods <= t - H only */
	FK_LAG,						/* arg: offset back from t (>= H) */
	FK_SAME_WEEKDAY_MEAN,		/* arg: first offset; mean of 4 lags arg + 7j */
	FK_ROLL_MEAN,				/* arg: window length in periods, ending at t - H */
	FK_ROLL_STD,
	FK_ROLL_MIN,
	FK_ROLL_MAX,
	FK_ROLL_COUNT,
	/* covariates planned for the target period */
	FK_COVARIATE,				/* arg: SeriesCovariate, value at t */
	FK_COVARIATE_PREV,			/* arg: SeriesCovariate, value at t - 1 */
	FK_COVARIATE_NEXT,			/* arg: SeriesCovariate, value at t + 1 */
	/* static, fixed at training */
	FK_CATEGORY_CODE,
	FK_STORE_CODE,
	FK_STORE_ATTR,				/* arg: FeatureStoreAttr */
	FK_SERIES_MEAN,
	FK_SERIES_DOW_MEAN,			/* daily: the series' training mean on t's weekday */
	FK_STORE_MEAN,
	FK_PRODUCT_MEAN,
	/* history: mean of the arg periods ending at t - H minus the same a year earlier */
	FK_YOY_DIFF,
	FK_NKINDS
} FeatureKind;

typedef enum FeatureStoreAttr
{
	FSA_STORE_TYPE = 0,			/* code in FeatureSpec.store_types */
	FSA_ASSORTMENT,				/* code in FeatureSpec.assortments */
	FSA_COMPETITION_DISTANCE,
	FSA_SIZE,
	FSA_PROMO2,
	FEATURE_NSTORE_ATTRS
} FeatureStoreAttr;

typedef struct FeatureDef
{
	FeatureKind kind;
	int			arg;
	char	   *name;			/* stable name, e.g. "roll_mean_28" */
	int			slot;			/* derived: window slot of rolling features */
} FeatureDef;

struct FeatureBinding;

typedef struct FeatureSpec
{
	int			format;			/* FEATURE_SPEC_FORMAT */
	SeriesFrequency frequency;
	int			period_days;
	int			horizon;
	DateADT		calendar_start; /* date of period 0 when the spec was built */
	DateADT		train_end;		/* last period whose y the statistics read */
	char	   *data_fingerprint;

	int			nfeatures;
	FeatureDef *features;

	/*
	 * Target transform: -1, the model predicts y; else the column (a history
	 * feature, lag_year) that anchors the base subtracted from the label and
	 * added back to the model's output (forecast_rows_predict applies it).
	 * base = lag_year, or 0.5 lag_year + 0.25 base_next + 0.25 base_prev when
	 * those columns are set and known, plus base_drift_weight x base_drift
	 * when set and known.  A row whose lag_year is unknown is not trained on;
	 * its forecast is base_fallback alone (when set).  forecast = base +
	 * residual_weight x model output (fitted on the calibration block).
	 * Older specs have only target_base: base_* -1, residual_weight 1.
	 */
	int			target_base;
	int			base_next;
	int			base_prev;
	int			base_drift;
	double		base_drift_weight;
	int			base_fallback;
	double		residual_weight;

	/* encodings fixed at training: sorted bytewise, code = index */
	int			ncategories;
	char	  **categories;
	int			nholiday_types;
	char	  **holiday_types;
	int			nstore_types;
	char	  **store_types;
	int			nassortments;
	char	  **assortments;

	/* stores seen in the training window (sorted), their statistics and attributes */
	int			nstores;
	char	  **stores;
	double	   *store_mean;		/* [nstores] */
	double	   *store_attrs;	/* [nstores * FEATURE_NSTORE_ATTRS], NaN unknown */

	int			nproducts;		/* products seen in the training window (sorted) */
	char	  **products;
	double	   *product_mean;	/* [nproducts] */

	int			nseries;		/* series seen in the training window, by (store, product) */
	char	  **series_store;
	char	  **series_product;
	double	   *series_mean;	/* [nseries] */
	double	   *series_dow_mean;	/* [nseries * 7] (daily), else NULL */

	/* derived, not serialized: distinct rolling windows, ascending */
	int			nwindows;
	int			windows[8];

	/* cache: the spec bound to the last set it encoded (see features.c) */
	struct FeatureBinding *binding;
} FeatureSpec;

/*
 * Decide the features and fix every encoding and statistic.  horizon: 1 ..
 * FEATURE_MAX_HORIZON; train_end_period: 0 .. set->ndata_periods - 1; only y
 * at periods <= train_end_period is read for statistics and codes.  Reads
 * shelfops.stores through SPI when that table exists.  Allocated in
 * CurrentMemoryContext.
 */
extern FeatureSpec *feature_spec_build(const SeriesSet *set, int horizon, int train_end_period);

/* Exact round trip: feature_spec_to_jsonb(feature_spec_from_jsonb(j)) = j. */
extern Jsonb *feature_spec_to_jsonb(const FeatureSpec *spec);
extern FeatureSpec *feature_spec_from_jsonb(Jsonb *jb);

/*
 * How many periods of history, ending at the target period, the features of
 * one target read at most (lags, windows and same-weekday lags): forecasting
 * reads only that much of a dataset.
 */
extern int	feature_spec_history_periods(const FeatureSpec *spec);

/* The feature names, in column order. */
extern const char *feature_name(const FeatureSpec *spec, int i);

/*
 * The target base of a row (see FeatureSpec.target_base): 0 when the spec has
 * none; when lag_year is unknown, the fallback column (0 when unset or unknown).
 */
static inline double
feature_target_base(const FeatureSpec *spec, const float *row)
{
	float		v;
	double		base;

	if (spec->target_base < 0)
		return 0.0;
	v = row[spec->target_base];
	if (v != v)
	{
		if (spec->base_fallback >= 0 && row[spec->base_fallback] == row[spec->base_fallback])
			return (double) row[spec->base_fallback];
		return 0.0;
	}
	base = v;
	if (spec->base_next >= 0)
	{
		float		n = row[spec->base_next],
					p = row[spec->base_prev];

		if (n == n && p == p)
			base = 0.5 * base + 0.25 * n + 0.25 * p;
	}
	if (spec->base_drift >= 0 && row[spec->base_drift] == row[spec->base_drift])
		base += spec->base_drift_weight * row[spec->base_drift];
	return base;
}

/* Whether the row's lag_year (the column the base is anchored on) is known. */
static inline bool
feature_target_base_known(const FeatureSpec *spec, const float *row)
{
	return spec->target_base >= 0 && row[spec->target_base] == row[spec->target_base];
}

/*
 * One row: the features of series series_idx for target period target_period
 * (which may lie after the data, up to set->nperiods - 1).  out has
 * spec->nfeatures floats; NaN where not computable.
 */
extern void features_row(const FeatureSpec *spec, const SeriesSet *set,
						 int series_idx, int target_period, float *out);

typedef struct FeatureRowFilter
{
	bool		include_unknown_y;	/* also rows whose y is unknown (forecast targets) */
	int			series_idx;		/* -1: every series; else only this one */
	bool		require_target_base;	/* training: only rows whose target base is known */
} FeatureRowFilter;

typedef struct FeatureMatrix
{
	int64		nrows;
	int			nfeatures;
	float	   *x;				/* [nrows * nfeatures], row-major */
	float	   *y;				/* [nrows] labels (y minus the target base when the
								 * spec has one), NaN when unknown */
	int32	   *series_idx;		/* [nrows] */
	int32	   *period;			/* [nrows] target period */
	int64		skipped_closed; /* rows left out because is_open is known false */
	Size		bytes;
} FeatureMatrix;

/*
 * Every (series, period) row with period_from <= period <= period_to, in series
 * order then period order: rows with observed y (and, when the filter says so,
 * unknown y), never rows whose is_open is known false (closed periods are
 * predicted 0 by rule).  filter NULL: observed rows of every series.  ERROR
 * (program limit exceeded) when set->bytes plus the matrix would pass
 * shelfops.training_memory_mb.  Allocated in CurrentMemoryContext.
 */
extern FeatureMatrix *features_build(const FeatureSpec *spec, const SeriesSet *set,
									 int period_from, int period_to,
									 const FeatureRowFilter *filter);

#endif							/* SHELFOPS_FEATURES_H */
