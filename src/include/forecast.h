/*
 * forecast.h
 *	  Stored model versions and forecasting from an origin (see forecast.c);
 *	  shared by shelfops_forecast, shadow scoring and the arena.
 */
#ifndef SHELFOPS_FORECAST_H
#define SHELFOPS_FORECAST_H

#include "postgres.h"

#include "utils/date.h"
#include "utils/jsonb.h"

#include "predict.h"
#include "series.h"

/* What serving a version needs from its shelfops.model_versions row. */
typedef struct StoredModel
{
	int			version;
	char	   *status;
	char	   *algorithm;
	char	   *dataset_id;
	int			horizon;
	Jsonb	   *feature_spec;
	Jsonb	   *calibration;
	bytea	   *model_bytes;
} StoredModel;

/*
 * Read version (or, when version <= 0, the champion) of (tenant, model) into
 * *out, allocated in the current memory context; ERROR when absent.
 */
extern void stored_model_fetch(const char *tenant_id, const char *model_name, int version,
							   bool any_status, StoredModel *out);

typedef struct ForecastResult
{
	SeriesSet  *set;
	ForecastRows *rows;
	double	   *forecast;
	double	   *lower;
	double	   *upper;
	int64		covariate_rows; /* planned covariate rows written into the set */
} ForecastResult;

/*
 * Forecast every series of the model's dataset for steps 1..horizon after the
 * origin: the period containing as_of, or the dataset's last period.  With
 * covariates (a relation's OID, else InvalidOid) the planned covariates of the
 * target periods are read from it first (covariates.c); its rows may cover
 * covariates_horizon steps (at least horizon: a challenger with a shorter
 * horizon than the champion skips the steps past its own).
 */
extern ForecastResult *forecast_from_origin(const char *tenant_id, const StoredModel *sm,
											int horizon, DateADT as_of, bool as_of_given,
											double level, Oid covariates, int covariates_horizon);

/*
 * As forecast_from_origin, with at least history_periods periods before the
 * origin loaded into the result's set (plots show them).
 */
extern ForecastResult *forecast_from_origin_history(const char *tenant_id, const StoredModel *sm,
													int horizon, DateADT as_of, bool as_of_given,
													double level, int history_periods,
													Oid covariates, int covariates_horizon);

#endif							/* SHELFOPS_FORECAST_H */
