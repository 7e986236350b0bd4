/*
 * metrics.h
 *	  C interface of the forecast-accuracy and business-cost metrics (metrics.c).
 *
 * Training, the arena and backtests score plain double arrays through this
 * interface; the SQL function shelfops_metrics() and the shelfops_* aggregates
 * are thin wrappers over the same code, so every caller gets identical numbers.
 *
 * Undefined values are reported as isnull = true, never as a made-up 0: see
 * docs/metrics.md for each case.  Invalid input (non-finite values, season < 1,
 * only one of lower/upper) is an ERROR (SQLSTATE 22023) naming the SQL argument
 * and the 1-based position.
 */
#ifndef SHELFOPS_METRICS_H
#define SHELFOPS_METRICS_H

#include "postgres.h"

#include "utils/jsonb.h"

/* Business defaults of the cost metrics (reference section 4). */
#define SHELFOPS_DEFAULT_MARGIN			0.30	/* used to derive a price from a cost */
#define SHELFOPS_MAX_MARGIN				0.95	/* margins are clipped to [0, 0.95] */
#define SHELFOPS_ANNUAL_HOLDING_RATE	0.25	/* holding cost a day = cost * 0.25 / 365 */

/*
 * An optional per-row input such as unit_cost.  values == NULL means "not
 * given"; isnull == NULL means no element is null.  A null element counts as
 * described for each cost metric (0, or a per-row fallback).
 */
typedef struct ShelfopsMetricColumn
{
	const double *values;
	const bool *isnull;
} ShelfopsMetricColumn;

typedef struct ShelfopsMetricsInput
{
	int			n;				/* rows; 0 gives every metric NULL */
	const double *actual;		/* required, n values */
	const double *forecast;		/* required, n values */
	ShelfopsMetricColumn unit_cost;
	ShelfopsMetricColumn unit_price;
	ShelfopsMetricColumn holding_cost;	/* per unit per day */
	ShelfopsMetricColumn category_cost; /* estimated cost basis */
	const double *lower;		/* interval bounds: both or neither (NULL) */
	const double *upper;
	int			season;			/* MASE naive lag, >= 1 */
} ShelfopsMetricsInput;

typedef struct ShelfopsMetricValue
{
	double		value;
	bool		isnull;
} ShelfopsMetricValue;

/* Where the cost basis of a cost metric came from. */
typedef enum ShelfopsCostConfidence
{
	SHELFOPS_COST_UNAVAILABLE,	/* no basis: the value is NULL */
	SHELFOPS_COST_ESTIMATED,	/* derived from category cost or defaults */
	SHELFOPS_COST_MEASURED		/* from the caller's own cost/price/holding */
} ShelfopsCostConfidence;

typedef struct ShelfopsMetrics
{
	ShelfopsMetricValue mae;
	ShelfopsMetricValue mape_nonzero;
	ShelfopsMetricValue wape;
	ShelfopsMetricValue mase;
	ShelfopsMetricValue bias_pct;
	ShelfopsMetricValue stockout_miss_rate;
	ShelfopsMetricValue overstock_rate;
	ShelfopsMetricValue coverage;
	ShelfopsMetricValue overstock_dollars;
	ShelfopsMetricValue lost_sales_qty;
	ShelfopsMetricValue opportunity_cost_stockout;
	ShelfopsMetricValue opportunity_cost_overstock;
	ShelfopsCostConfidence overstock_dollars_confidence;
	ShelfopsCostConfidence opportunity_cost_stockout_confidence;
	ShelfopsCostConfidence opportunity_cost_overstock_confidence;
} ShelfopsMetrics;

/* Compute every metric of *in into *out; ereports on invalid input. */
extern void shelfops_metrics_compute(const ShelfopsMetricsInput *in,
									 ShelfopsMetrics *out);

/* The 15-key jsonb document that shelfops_metrics() returns. */
extern Jsonb *shelfops_metrics_to_jsonb(const ShelfopsMetrics *m);

/* "measured", "estimated" or "unavailable". */
extern const char *shelfops_cost_confidence_name(ShelfopsCostConfidence c);

/*
 * MASE with an externally supplied scale (e.g. the per-series in-sample
 * seasonal-naive MAE): mae / scale.  Sets *isnull when the scale is not a
 * positive finite number or mae is not finite; ereports when mae < 0.
 */
extern double shelfops_mase_scaled(double mae, double scale, bool *isnull);

#endif							/* SHELFOPS_METRICS_H */
