/*
 * shadow.h
 *	  Shadow scoring of challengers beside the champion (see shadow.c and
 *	  docs/shadow.md): writing shadow rows when the champion forecasts, filling
 *	  their actuals from shelfops.sales, and the evidence the arena decides on.
 */
#ifndef SHELFOPS_SHADOW_H
#define SHELFOPS_SHADOW_H

#include "postgres.h"

#include "utils/date.h"
#include "utils/jsonb.h"

#include "forecast.h"

/*
 * After the champion (*champion, already forecast into *res from the origin
 * given by as_of/as_of_given, horizon steps) has served a forecast, forecast
 * the same origin with every 'challenger' version of (tenant, model) and
 * upsert one shelfops.shadow_predictions row per (champion version,
 * challenger version, store, product, origin, target date) the two share.
 * A challenger whose horizon is shorter forecasts only its own steps.  Other
 * shadow rows are never deleted; a row written again gets the new
 * predictions and loses its actual and errors until scored again.  Returns
 * the number of rows written.  Uses SPI; the caller must not be connected.
 */
extern int64 shadow_write(const char *tenant_id, const char *model_name,
						  const StoredModel *champion, const ForecastResult *res,
						  int horizon, DateADT as_of, bool as_of_given, double level,
						  Oid covariates);

/*
 * Fill actual_demand, champion_error = |champion_prediction - actual|,
 * challenger_error and scored_at of the model's shadow rows whose target date
 * now has a sales row in the dataset of the row's champion version (rows not
 * yet scored, and rows whose actual changed since).  Returns the rows
 * updated.  Uses SPI; the caller must not be connected.
 */
extern int64 shadow_fill_actuals(const char *tenant_id, const char *model_name);

/*
 * Evidence of one (champion, challenger) pair on their scored shadow rows:
 * both metric documents are computed on exactly the same rows.
 */
typedef struct ShadowEvidence
{
	int			champion_version;
	int			challenger_version;
	int64		rows;			/* scored rows of the pair */
	int			days;			/* distinct target dates among them */
	DateADT		first_target;	/* DATEVAL_NOBEGIN when rows = 0 */
	DateADT		last_target;
	Jsonb	   *champion_metrics;	/* canonical metric keys, "rows", "mase_series" */
	Jsonb	   *challenger_metrics;
} ShadowEvidence;

/*
 * Compute the evidence of (champion_version, challenger_version) of (tenant,
 * model) into *out, allocated in the current memory context; when
 * fill_actuals, shadow_fill_actuals() runs first.  Metrics are those of
 * shelfops_metrics() (costs from the sales rows' unit_cost/unit_price when the
 * dataset has them, coverage from each version's own 90 % conformal interval around its shadow forecasts), with MASE
 * per series scaled by its seasonal-naive error on sales up to its earliest
 * shadow origin, averaged over series, as training does.  No rows: rows = 0
 * and every metric NULL.  Uses SPI; the caller must not be connected.
 */
extern void shadow_evidence(const char *tenant_id, const char *model_name,
							int champion_version, int challenger_version,
							bool fill_actuals, ShadowEvidence *out);

/*
 * {"evidence": "shadow", "champion_version", "challenger_version", "rows",
 *  "days", "first_target", "last_target", "champion": {...}, "challenger": {...}}
 */
extern Jsonb *shadow_evidence_jsonb(const ShadowEvidence *ev);

#endif							/* SHELFOPS_SHADOW_H */
