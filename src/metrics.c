/*
 * metrics.c
 *	  Forecast-accuracy and business-cost metrics: the C API of metrics.h, the
 *	  SQL function shelfops_metrics() and the shelfops_* aggregates.
 *
 * Each accuracy metric is defined once, as a small running state of float8
 * sums with an "add one row" step and a "final" step (the block "one place per
 * formula" below).  The array function runs those steps over its arrays; each
 * aggregate keeps the same state in a float8[] that it updates in place, like
 * the built-in float8_accum, and adds states together to combine partial
 * (parallel) aggregates.  So a formula, and its NULL-when-undefined rule,
 * exists in exactly one place.
 *
 * Cost metrics (overstock dollars, lost sales, opportunity costs) need several
 * per-row inputs and fallbacks, so they exist only in the array form.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "metrics.h"

/* Row loops over caller arrays check for interrupts every 64k rows. */
#define INTERRUPT_EVERY_64K(i) \
	do { if (((i) & 0xFFFF) == 0xFFFF) CHECK_FOR_INTERRUPTS(); } while (0)

/* Largest state any metric keeps; bounds the checks of foreign states. */
#define METRIC_STATE_MAX	4

/* ------------------------------------------------------------------------
 * Errors: one helper per kind, messages name the SQL argument and position.
 * ------------------------------------------------------------------------
 */

static void
metrics_error_nonfinite(const char *arg, int pos, double v)
{
	const char *what = isnan(v) ? "NaN" : "infinite";

	if (pos > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s[%d] is %s", arg, pos, what),
				 errdetail("Metrics accept only finite numbers.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s is %s", arg, what),
			 errdetail("Metric aggregates skip NULL inputs but accept only finite numbers.")));
}

/* pos is 1-based; 0 means a single value (aggregate argument). */
static inline void
check_finite(const char *arg, int pos, double v)
{
	if (unlikely(!isfinite(v)))
		metrics_error_nonfinite(arg, pos, v);
}

static void
metrics_error_null_element(const char *arg, int pos)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s[%d] is NULL", arg, pos),
			 errdetail("actual, forecast, lower and upper must not contain NULL elements; "
					   "the aggregates skip rows with NULLs.")));
}

static void
metrics_error_length(const char *arg, int len, int n)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s has length %d but actual has length %d", arg, len, n),
			 errdetail("Every array argument must have one element per element of actual.")));
}

/* expected < 0: any length from 1 to METRIC_STATE_MAX */
static void
metrics_error_state(int len, int expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid shelfops metric aggregate state"),
			 expected >= 0 ?
			 errdetail("Expected a one-dimensional float8[] of length %d without NULLs, got length %d.",
					   expected, len) :
			 errdetail("Expected a one-dimensional float8[] of length 1 to %d without NULLs, got length %d.",
					   METRIC_STATE_MAX, len)));
}

/* ------------------------------------------------------------------------
 * One place per formula.  Each metric: a state of float8 sums (initially
 * zero), metric_add() for one row, metric_final() giving value or NULL.
 * ------------------------------------------------------------------------
 */

static inline double
ratio_or_null(double num, double den, bool *isnull)
{
	*isnull = (den == 0.0);
	return *isnull ? 0.0 : num / den;
}

/* MAE = mean |f - y|.  State {rows, sum |f - y|}.  No rows: NULL. */
#define MAE_NSTATE 2
static inline void
mae_add(double *s, double y, double f)
{
	s[0] += 1.0;
	s[1] += fabs(f - y);
}
static inline double
mae_final(const double *s, bool *isnull)
{
	return ratio_or_null(s[1], s[0], isnull);
}

/* WAPE = sum |y - f| / sum |y|.  State {sum |y - f|, sum |y|}.  sum |y| = 0: NULL. */
#define WAPE_NSTATE 2
static inline void
wape_add(double *s, double y, double f)
{
	s[0] += fabs(y - f);
	s[1] += fabs(y);
}
static inline double
wape_final(const double *s, bool *isnull)
{
	return ratio_or_null(s[0], s[1], isnull);
}

/* MAPE over y > 0 = mean |f - y| / y.  State {rows with y > 0, sum}.  None: NULL. */
#define MAPE_NONZERO_NSTATE 2
static inline void
mape_nonzero_add(double *s, double y, double f)
{
	if (y > 0.0)
	{
		s[0] += 1.0;
		s[1] += fabs(f - y) / y;
	}
}
static inline double
mape_nonzero_final(const double *s, bool *isnull)
{
	return ratio_or_null(s[1], s[0], isnull);
}

/*
 * bias_pct = mean(f - y) / mean(y) = sum(f - y) / sum(y).  State {sum(f - y),
 * sum y}.  sum y = 0 (which includes no rows): NULL.
 */
#define BIAS_PCT_NSTATE 2
static inline void
bias_pct_add(double *s, double y, double f)
{
	s[0] += f - y;
	s[1] += y;
}
static inline double
bias_pct_final(const double *s, bool *isnull)
{
	return ratio_or_null(s[0], s[1], isnull);
}

/* Share of rows with y > 0 and f <= 0.  State {rows, such rows}.  No rows: NULL. */
#define STOCKOUT_MISS_RATE_NSTATE 2
static inline void
stockout_miss_rate_add(double *s, double y, double f)
{
	s[0] += 1.0;
	if (y > 0.0 && f <= 0.0)
		s[1] += 1.0;
}
static inline double
stockout_miss_rate_final(const double *s, bool *isnull)
{
	return ratio_or_null(s[1], s[0], isnull);
}

/* Share of rows with f > y.  State {rows, such rows}.  No rows: NULL. */
#define OVERSTOCK_RATE_NSTATE 2
static inline void
overstock_rate_add(double *s, double y, double f)
{
	s[0] += 1.0;
	if (f > y)
		s[1] += 1.0;
}
static inline double
overstock_rate_final(const double *s, bool *isnull)
{
	return ratio_or_null(s[1], s[0], isnull);
}

/* Share of rows with lower <= y <= upper.  State {rows, such rows}.  No rows: NULL. */
#define COVERAGE_NSTATE 2
static inline void
coverage_add(double *s, double y, double lower, double upper)
{
	s[0] += 1.0;
	if (lower <= y && y <= upper)
		s[1] += 1.0;
}
static inline double
coverage_final(const double *s, bool *isnull)
{
	return ratio_or_null(s[1], s[0], isnull);
}

/* lost_sales_qty = sum max(y - f, 0).  State {rows, sum}.  No rows: NULL. */
static inline double
lost_units(double y, double f)
{
	return y > f ? y - f : 0.0;
}
static inline double
over_units(double y, double f)
{
	return f > y ? f - y : 0.0;
}

double
shelfops_mase_scaled(double mae, double scale, bool *isnull)
{
	if (isfinite(mae) && mae < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("MAE is negative: %g", mae),
				 errdetail("A mean absolute error cannot be below zero.")));
	*isnull = !(isfinite(mae) && isfinite(scale) && scale > 0.0);
	return *isnull ? 0.0 : mae / scale;
}

/* ------------------------------------------------------------------------
 * The array form (C API)
 * ------------------------------------------------------------------------
 */

static inline bool
column_get(const ShelfopsMetricColumn *c, int i, double *v)
{
	if (c->values == NULL || (c->isnull != NULL && c->isnull[i]))
		return false;
	*v = c->values[i];
	return true;
}

/* A column is a cost basis when it has at least one non-null element. */
static bool
column_any(const ShelfopsMetricColumn *c, int n)
{
	double		v;

	for (int i = 0; i < n; i++)
		if (column_get(c, i, &v))
			return true;
	return false;
}

/* Unit cost of row i for the opportunity costs: unit_cost, else category_cost. */
static inline bool
row_cost(const ShelfopsMetricsInput *in, int i, double *cost)
{
	return column_get(&in->unit_cost, i, cost) ||
		column_get(&in->category_cost, i, cost);
}

static void
check_array_finite(const char *arg, const double *v, const bool *isnull, int n)
{
	if (v == NULL)
		return;
	for (int i = 0; i < n; i++)
	{
		if (isnull == NULL || !isnull[i])
			check_finite(arg, i + 1, v[i]);
		INTERRUPT_EVERY_64K(i);
	}
}

static void
validate_input(const ShelfopsMetricsInput *in)
{
	if (in->n < 0 || (in->n > 0 && (in->actual == NULL || in->forecast == NULL)))
		elog(ERROR, "shelfops_metrics_compute: %d rows without actual or forecast", in->n);
	if (in->season < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("season must be at least 1, got %d", in->season),
				 errdetail("season is the lag of the seasonal-naive forecast that scales MASE.")));
	if ((in->lower == NULL) != (in->upper == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is given without %s", in->lower ? "lower" : "upper",
						in->lower ? "upper" : "lower"),
				 errdetail("coverage needs both interval bounds; pass neither to skip it.")));

	/* In argument order, positions ascending: the first bad value is named. */
	check_array_finite("actual", in->actual, NULL, in->n);
	check_array_finite("forecast", in->forecast, NULL, in->n);
	check_array_finite("unit_cost", in->unit_cost.values, in->unit_cost.isnull, in->n);
	check_array_finite("unit_price", in->unit_price.values, in->unit_price.isnull, in->n);
	check_array_finite("holding_cost", in->holding_cost.values, in->holding_cost.isnull, in->n);
	check_array_finite("lower", in->lower, NULL, in->n);
	check_array_finite("upper", in->upper, NULL, in->n);
	check_array_finite("category_cost", in->category_cost.values, in->category_cost.isnull, in->n);
}

static inline void
set_value(ShelfopsMetricValue *out, double value, bool isnull)
{
	out->value = isnull ? 0.0 : value;
	out->isnull = isnull;
}

static inline double
clip_margin(double m)
{
	return m < 0.0 ? 0.0 : (m > SHELFOPS_MAX_MARGIN ? SHELFOPS_MAX_MARGIN : m);
}

/*
 * Cost metrics, reference section 4.  A basis column counts as given when it
 * has at least one non-null element.
 */
static void
compute_cost_metrics(const ShelfopsMetricsInput *in, ShelfopsMetrics *out)
{
	int			n = in->n;
	double		c,
				p,
				h;
	bool		any_cost = false;
	const ShelfopsMetricColumn *basis;
	double		sum;

	for (int i = 0; i < n && !any_cost; i++)
		any_cost = row_cost(in, i, &c);

	/*
	 * overstock_dollars = sum over * cost: unit_cost when given (measured),
	 * else category_cost (estimated); null elements count as 0.
	 */
	basis = NULL;
	out->overstock_dollars_confidence = SHELFOPS_COST_UNAVAILABLE;
	if (column_any(&in->unit_cost, n))
	{
		basis = &in->unit_cost;
		out->overstock_dollars_confidence = SHELFOPS_COST_MEASURED;
	}
	else if (column_any(&in->category_cost, n))
	{
		basis = &in->category_cost;
		out->overstock_dollars_confidence = SHELFOPS_COST_ESTIMATED;
	}
	sum = 0.0;
	if (basis != NULL)
		for (int i = 0; i < n; i++)
		{
			if (column_get(basis, i, &c))
				sum += over_units(in->actual[i], in->forecast[i]) * c;
			INTERRUPT_EVERY_64K(i);
		}
	set_value(&out->overstock_dollars, sum, basis == NULL);

	/*
	 * opportunity_cost_stockout = sum lost * price * margin.  Price is
	 * unit_price (measured), a row without one takes cost / (1 - 0.30); with
	 * no unit_price at all but some cost every price is derived (estimated).
	 * margin = (price - cost) / price with a missing cost as 0, clipped to
	 * [0, 0.95]; a derived price has the default margin by construction.  A
	 * row with neither price nor cost adds nothing.
	 */
	if (column_any(&in->unit_price, n))
		out->opportunity_cost_stockout_confidence = SHELFOPS_COST_MEASURED;
	else if (any_cost)
		out->opportunity_cost_stockout_confidence = SHELFOPS_COST_ESTIMATED;
	else
		out->opportunity_cost_stockout_confidence = SHELFOPS_COST_UNAVAILABLE;
	sum = 0.0;
	for (int i = 0; i < n; i++)
	{
		double		lost = lost_units(in->actual[i], in->forecast[i]);
		bool		has_cost = row_cost(in, i, &c);
		double		margin;

		INTERRUPT_EVERY_64K(i);
		if (lost == 0.0)
			continue;
		if (column_get(&in->unit_price, i, &p))
			margin = (p != 0.0) ? clip_margin((p - (has_cost ? c : 0.0)) / p)
				: SHELFOPS_DEFAULT_MARGIN;
		else if (has_cost)
		{
			p = c / (1.0 - SHELFOPS_DEFAULT_MARGIN);
			margin = SHELFOPS_DEFAULT_MARGIN;
		}
		else
			continue;
		sum += lost * p * margin;
	}
	set_value(&out->opportunity_cost_stockout, sum,
			  out->opportunity_cost_stockout_confidence == SHELFOPS_COST_UNAVAILABLE);

	/*
	 * opportunity_cost_overstock = sum over * daily holding cost: holding_cost
	 * when given (measured, nulls as 0), else cost * 0.25 / 365 (estimated).
	 */
	if (column_any(&in->holding_cost, n))
		out->opportunity_cost_overstock_confidence = SHELFOPS_COST_MEASURED;
	else if (any_cost)
		out->opportunity_cost_overstock_confidence = SHELFOPS_COST_ESTIMATED;
	else
		out->opportunity_cost_overstock_confidence = SHELFOPS_COST_UNAVAILABLE;
	sum = 0.0;
	for (int i = 0; i < n; i++)
	{
		double		over = over_units(in->actual[i], in->forecast[i]);

		INTERRUPT_EVERY_64K(i);
		if (over == 0.0)
			continue;
		if (out->opportunity_cost_overstock_confidence == SHELFOPS_COST_MEASURED)
		{
			if (column_get(&in->holding_cost, i, &h))
				sum += over * h;
		}
		else if (row_cost(in, i, &c))
			sum += over * c * SHELFOPS_ANNUAL_HOLDING_RATE / 365.0;
	}
	set_value(&out->opportunity_cost_overstock, sum,
			  out->opportunity_cost_overstock_confidence == SHELFOPS_COST_UNAVAILABLE);
}

void
shelfops_metrics_compute(const ShelfopsMetricsInput *in, ShelfopsMetrics *out)
{
	double		mae[MAE_NSTATE] = {0};
	double		naive[MAE_NSTATE] = {0};
	double		wape[WAPE_NSTATE] = {0};
	double		mape[MAPE_NONZERO_NSTATE] = {0};
	double		bias[BIAS_PCT_NSTATE] = {0};
	double		stockout[STOCKOUT_MISS_RATE_NSTATE] = {0};
	double		overstock[OVERSTOCK_RATE_NSTATE] = {0};
	double		coverage[COVERAGE_NSTATE] = {0};
	double		lost = 0.0;
	double		v;
	bool		isnull;

	validate_input(in);
	memset(out, 0, sizeof(*out));

	for (int i = 0; i < in->n; i++)
	{
		double		y = in->actual[i];
		double		f = in->forecast[i];

		mae_add(mae, y, f);
		wape_add(wape, y, f);
		mape_nonzero_add(mape, y, f);
		bias_pct_add(bias, y, f);
		stockout_miss_rate_add(stockout, y, f);
		overstock_rate_add(overstock, y, f);
		if (in->lower != NULL)
			coverage_add(coverage, y, in->lower[i], in->upper[i]);
		/* MASE scale: the MAE of the seasonal-naive forecast y[t - season] */
		if (i >= in->season)
			mae_add(naive, y, in->actual[i - in->season]);
		lost += lost_units(y, f);

		INTERRUPT_EVERY_64K(i);
	}

	v = mae_final(mae, &isnull);
	set_value(&out->mae, v, isnull);
	if (!isnull)
	{
		double		scale = mae_final(naive, &isnull);

		if (!isnull)
			v = shelfops_mase_scaled(out->mae.value, scale, &isnull);
	}
	set_value(&out->mase, v, isnull);
	v = wape_final(wape, &isnull);
	set_value(&out->wape, v, isnull);
	v = mape_nonzero_final(mape, &isnull);
	set_value(&out->mape_nonzero, v, isnull);
	v = bias_pct_final(bias, &isnull);
	set_value(&out->bias_pct, v, isnull);
	v = stockout_miss_rate_final(stockout, &isnull);
	set_value(&out->stockout_miss_rate, v, isnull);
	v = overstock_rate_final(overstock, &isnull);
	set_value(&out->overstock_rate, v, isnull);
	v = coverage_final(coverage, &isnull);
	set_value(&out->coverage, v, isnull || in->lower == NULL);
	set_value(&out->lost_sales_qty, lost, in->n == 0);

	compute_cost_metrics(in, out);
}

const char *
shelfops_cost_confidence_name(ShelfopsCostConfidence c)
{
	switch (c)
	{
		case SHELFOPS_COST_MEASURED:
			return "measured";
		case SHELFOPS_COST_ESTIMATED:
			return "estimated";
		case SHELFOPS_COST_UNAVAILABLE:
			break;
	}
	return "unavailable";
}

/* ------------------------------------------------------------------------
 * jsonb output
 * ------------------------------------------------------------------------
 */

static void
push_key(JsonbParseState **st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}

static void
push_number(JsonbParseState **st, const char *key, const ShelfopsMetricValue *v)
{
	JsonbValue	jv;

	push_key(st, key);
	if (v->isnull)
		jv.type = jbvNull;
	else
	{
		/* An overflowing sum is the only way to get here with inf. */
		if (!isfinite(v->value))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("metric %s is out of range", key),
					 errdetail("Its sum overflowed double precision.")));
		/* shortest exact decimal form, as float8 output prints it */
		jv.type = jbvNumeric;
		jv.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
															 CStringGetDatum(float8out_internal(v->value)),
															 ObjectIdGetDatum(InvalidOid),
															 Int32GetDatum(-1)));
	}
	pushJsonbValue(st, WJB_VALUE, &jv);
}

static void
push_confidence(JsonbParseState **st, const char *key, ShelfopsCostConfidence c)
{
	JsonbValue	jv;
	const char *name = shelfops_cost_confidence_name(c);

	push_key(st, key);
	jv.type = jbvString;
	jv.val.string.val = (char *) name;
	jv.val.string.len = strlen(name);
	pushJsonbValue(st, WJB_VALUE, &jv);
}

Jsonb *
shelfops_metrics_to_jsonb(const ShelfopsMetrics *m)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_number(&st, "mae", &m->mae);
	push_number(&st, "mape_nonzero", &m->mape_nonzero);
	push_number(&st, "wape", &m->wape);
	push_number(&st, "mase", &m->mase);
	push_number(&st, "bias_pct", &m->bias_pct);
	push_number(&st, "stockout_miss_rate", &m->stockout_miss_rate);
	push_number(&st, "overstock_rate", &m->overstock_rate);
	push_number(&st, "coverage", &m->coverage);
	push_number(&st, "overstock_dollars", &m->overstock_dollars);
	push_confidence(&st, "overstock_dollars_confidence", m->overstock_dollars_confidence);
	push_number(&st, "lost_sales_qty", &m->lost_sales_qty);
	push_number(&st, "opportunity_cost_stockout", &m->opportunity_cost_stockout);
	push_confidence(&st, "opportunity_cost_stockout_confidence",
					m->opportunity_cost_stockout_confidence);
	push_number(&st, "opportunity_cost_overstock", &m->opportunity_cost_overstock);
	push_confidence(&st, "opportunity_cost_overstock_confidence",
					m->opportunity_cost_overstock_confidence);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* ------------------------------------------------------------------------
 * SQL: shelfops_metrics(actual, forecast, unit_cost, unit_price, holding_cost,
 *						 lower, upper, season, category_cost) RETURNS jsonb
 * ------------------------------------------------------------------------
 */

/*
 * Read float8[] argument argno into *col; returns its length, or -1 when the
 * argument is NULL ("not given").  Without nulls_ok a NULL element is an error.
 */
static int
array_argument(FunctionCallInfo fcinfo, int argno, const char *name, bool nulls_ok,
			   ShelfopsMetricColumn *col)
{
	ArrayType  *a;
	int			n;

	col->values = NULL;
	col->isnull = NULL;
	if (PG_ARGISNULL(argno))
		return -1;
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_ELEMTYPE(a) != FLOAT8OID)
		elog(ERROR, "%s: expected float8[]", name);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", name),
				 errdetail("It has %d dimensions.", ARR_NDIM(a))));
	n = ARR_NDIM(a) == 0 ? 0 : ARR_DIMS(a)[0];

	if (!ARR_HASNULL(a))
		col->values = (const double *) ARR_DATA_PTR(a);
	else if (!nulls_ok)
	{
		bits8	   *bitmap = ARR_NULLBITMAP(a);

		for (int i = 0; i < n; i++)
			if (!(bitmap[i / 8] & (1 << (i % 8))))
				metrics_error_null_element(name, i + 1);
		elog(ERROR, "%s: null bitmap without nulls", name);
	}
	else
	{
		Datum	   *elems;
		bool	   *nulls;
		int			count;
		double	   *values = palloc(sizeof(double) * Max(n, 1));

		deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &elems, &nulls, &count);
		for (int i = 0; i < count; i++)
			values[i] = nulls[i] ? 0.0 : DatumGetFloat8(elems[i]);
		col->values = values;
		col->isnull = nulls;
		pfree(elems);
	}
	return n;
}

/* An optional array must match actual's length. */
static void
require_length(const char *name, int len, int n)
{
	if (len >= 0 && len != n)
		metrics_error_length(name, len, n);
}

PG_FUNCTION_INFO_V1(shelfops_metrics);
Datum
shelfops_metrics(PG_FUNCTION_ARGS)
{
	ShelfopsMetricsInput in;
	ShelfopsMetrics m;
	ShelfopsMetricColumn actual,
				forecast,
				lower,
				upper;
	int			n;

	/* Like a strict function on its required arguments. */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(7))
		PG_RETURN_NULL();

	memset(&in, 0, sizeof(in));
	n = array_argument(fcinfo, 0, "actual", false, &actual);
	require_length("forecast", array_argument(fcinfo, 1, "forecast", false, &forecast), n);
	require_length("unit_cost", array_argument(fcinfo, 2, "unit_cost", true, &in.unit_cost), n);
	require_length("unit_price", array_argument(fcinfo, 3, "unit_price", true, &in.unit_price), n);
	require_length("holding_cost", array_argument(fcinfo, 4, "holding_cost", true, &in.holding_cost), n);
	require_length("lower", array_argument(fcinfo, 5, "lower", false, &lower), n);
	require_length("upper", array_argument(fcinfo, 6, "upper", false, &upper), n);
	require_length("category_cost", array_argument(fcinfo, 8, "category_cost", true, &in.category_cost), n);

	in.n = n;
	in.actual = actual.values;
	in.forecast = forecast.values;
	in.lower = lower.values;
	in.upper = upper.values;
	in.season = PG_GETARG_INT32(7);

	shelfops_metrics_compute(&in, &m);
	PG_RETURN_JSONB_P(shelfops_metrics_to_jsonb(&m));
}

/* ------------------------------------------------------------------------
 * SQL aggregates: the float8[] state holds the sums of the formula block.
 * ------------------------------------------------------------------------
 */

/* Check a state array; nstate < 0 accepts any valid length.  Returns it. */
static int
state_length(ArrayType *st, int nstate)
{
	int			len = ARR_NDIM(st) == 1 ? ARR_DIMS(st)[0] : 0;

	if (ARR_NDIM(st) != 1 || ARR_HASNULL(st) || ARR_ELEMTYPE(st) != FLOAT8OID ||
		len < 1 || len > METRIC_STATE_MAX || (nstate >= 0 && len != nstate))
		metrics_error_state(len, nstate);
	return len;
}

/*
 * The transition state to update: in place when called by an aggregate (the
 * executor owns it, as for float8_accum), else a copy.
 */
static ArrayType *
state_for_update(FunctionCallInfo fcinfo, int nstate)
{
	ArrayType  *st;

	if (AggCheckCallContext(fcinfo, NULL))
		st = PG_GETARG_ARRAYTYPE_P(0);
	else
		st = PG_GETARG_ARRAYTYPE_P_COPY(0);
	state_length(st, nstate);
	return st;
}

PG_FUNCTION_INFO_V1(shelfops_metric_combine);
Datum
shelfops_metric_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a = state_for_update(fcinfo, -1);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	int			len = state_length(a, -1);
	double	   *sa = (double *) ARR_DATA_PTR(a);
	const double *sb = (const double *) ARR_DATA_PTR(b);

	state_length(b, len);
	for (int i = 0; i < len; i++)
		sa[i] += sb[i];
	PG_RETURN_ARRAYTYPE_P(a);
}

/*
 * shelfops_<metric>_accum(state, actual, forecast) and
 * shelfops_<metric>_final(state) for a metric of the formula block.  The
 * transition functions are STRICT, so rows with a NULL input are skipped.
 */
#define PAIR_METRIC_AGGREGATE(metric, NSTATE) \
PG_FUNCTION_INFO_V1(shelfops_##metric##_accum); \
Datum \
shelfops_##metric##_accum(PG_FUNCTION_ARGS) \
{ \
	ArrayType  *st = state_for_update(fcinfo, NSTATE); \
	double		y = PG_GETARG_FLOAT8(1); \
	double		f = PG_GETARG_FLOAT8(2); \
\
	check_finite("actual", 0, y); \
	check_finite("forecast", 0, f); \
	metric##_add((double *) ARR_DATA_PTR(st), y, f); \
	PG_RETURN_ARRAYTYPE_P(st); \
} \
METRIC_FINAL(metric, NSTATE)

#define METRIC_FINAL(metric, NSTATE) \
PG_FUNCTION_INFO_V1(shelfops_##metric##_final); \
Datum \
shelfops_##metric##_final(PG_FUNCTION_ARGS) \
{ \
	ArrayType  *st = PG_GETARG_ARRAYTYPE_P(0); \
	bool		isnull; \
	double		v; \
\
	state_length(st, NSTATE); \
	v = metric##_final((const double *) ARR_DATA_PTR(st), &isnull); \
	if (isnull) \
		PG_RETURN_NULL(); \
	PG_RETURN_FLOAT8(v); \
}

PAIR_METRIC_AGGREGATE(mae, MAE_NSTATE)
PAIR_METRIC_AGGREGATE(wape, WAPE_NSTATE)
PAIR_METRIC_AGGREGATE(mape_nonzero, MAPE_NONZERO_NSTATE)
PAIR_METRIC_AGGREGATE(bias_pct, BIAS_PCT_NSTATE)
PAIR_METRIC_AGGREGATE(stockout_miss_rate, STOCKOUT_MISS_RATE_NSTATE)
PAIR_METRIC_AGGREGATE(overstock_rate, OVERSTOCK_RATE_NSTATE)

PG_FUNCTION_INFO_V1(shelfops_coverage_accum);
Datum
shelfops_coverage_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *st = state_for_update(fcinfo, COVERAGE_NSTATE);
	double		y = PG_GETARG_FLOAT8(1);
	double		lower = PG_GETARG_FLOAT8(2);
	double		upper = PG_GETARG_FLOAT8(3);

	check_finite("actual", 0, y);
	check_finite("lower", 0, lower);
	check_finite("upper", 0, upper);
	coverage_add((double *) ARR_DATA_PTR(st), y, lower, upper);
	PG_RETURN_ARRAYTYPE_P(st);
}

METRIC_FINAL(coverage, COVERAGE_NSTATE)
