/*
 * plot.c
 *	  Owns the pictures: shelfops_plot_forecast (one series' actuals, a stored
 *	  version's forecast and its conformal interval band) and
 *	  shelfops_plot_benchmark (a bar chart of one metric of a benchmark run by
 *	  dataset and algorithm), both as self-contained SVG text: no script, no
 *	  external reference, axes with ticks and dates, a legend.
 *
 * Every plotted datum is an element with a class and data-* attributes
 * (forecast points: circle.forecast-point with data-date and data-value; bars:
 * rect.bar with data-datasets, data-slice, data-algorithm and data-value), so
 * a test or a tool can read the picture back with XPath.  The forecast is the
 * one shelfops_forecast serves (forecast.c), for the same version and origin.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"

#include "shelfops.h"
#include "ident.h"
#include "forecast.h"
#include "series.h"
#include "util.h"

PG_FUNCTION_INFO_V1(shelfops_plot_forecast);
PG_FUNCTION_INFO_V1(shelfops_plot_benchmark);

#define PLOT_W 860
#define PLOT_H 420
#define PLOT_LEFT 70
#define PLOT_RIGHT 170			/* room for the legend */
#define PLOT_TOP 40
#define PLOT_BOTTOM 70
#define PLOT_MAX_HISTORY 3660

static const char *const palette[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"
};

/* The metrics a benchmark bar chart may show (numeric members of the metrics document). */
static const char *const plot_metrics[] = {
	"mae", "mape_nonzero", "wape", "mase", "bias_pct", "stockout_miss_rate", "overstock_rate",
	"coverage", "overstock_dollars", "lost_sales_qty", "opportunity_cost_stockout",
	"opportunity_cost_overstock", NULL
};

/* Append s with the five XML special characters escaped. */
static void
xml_append(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				appendStringInfoString(buf, "&amp;");
				break;
			case '<':
				appendStringInfoString(buf, "&lt;");
				break;
			case '>':
				appendStringInfoString(buf, "&gt;");
				break;
			case '"':
				appendStringInfoString(buf, "&quot;");
				break;
			case '\'':
				appendStringInfoString(buf, "&apos;");
				break;
			default:
				/* control characters are not allowed in XML 1.0 */
				appendStringInfoChar(buf, ((unsigned char) *s < 0x20 && *s != '\t' && *s != '\n') ? ' ' : *s);
				break;
		}
	}
}

/* A value axis: [lo, hi] covering the data, rounded to a step of 1, 2 or 5 x 10^k. */
typedef struct Axis
{
	double		lo;
	double		hi;
	double		step;
} Axis;

static void
axis_nice(double lo, double hi, Axis *ax)
{
	double		range,
				raw,
				mag,
				f;

	if (!(hi > lo))
	{
		hi = lo + (lo == 0 ? 1 : fabs(lo));
	}
	range = hi - lo;
	raw = range / 5;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	ax->step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
	ax->lo = floor(lo / ax->step) * ax->step;
	ax->hi = ceil(hi / ax->step) * ax->step;
	if (ax->hi <= ax->lo)
		ax->hi = ax->lo + ax->step;
}

static double
y_px(const Axis *ax, double v)
{
	return PLOT_TOP + (PLOT_H - PLOT_TOP - PLOT_BOTTOM) * (ax->hi - v) / (ax->hi - ax->lo);
}

/* The SVG element, background, title, the y axis with its grid and labels. */
static void
svg_begin(StringInfo buf, const char *title, const Axis *ax, const char *ylabel)
{
	int			x0 = PLOT_LEFT,
				x1 = PLOT_W - PLOT_RIGHT;

	appendStringInfo(buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
					 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
					 "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n",
					 PLOT_W, PLOT_H, PLOT_W, PLOT_H);
	appendStringInfoString(buf, "<title>");
	xml_append(buf, title);
	appendStringInfoString(buf, "</title>\n<rect class=\"background\" x=\"0\" y=\"0\" width=\"100%\" "
						   "height=\"100%\" fill=\"white\"/>\n");
	appendStringInfo(buf, "<text class=\"title\" x=\"%d\" y=\"22\" font-size=\"14\" font-weight=\"bold\">", x0);
	xml_append(buf, title);
	appendStringInfoString(buf, "</text>\n<g class=\"y-axis\">\n");
	for (int i = 0;; i++)
	{
		double		v = ax->lo + i * ax->step;
		double		y;
		char		label[64];

		if (v > ax->hi + ax->step / 2)
			break;
		y = y_px(ax, v);
		snprintf(label, sizeof(label), "%.10g", fabs(v) < ax->step / 1e6 ? 0 : v);
		appendStringInfo(buf, "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"#e0e0e0\"/>"
						 "<text class=\"y-tick\" x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
						 x0, y, x1, y, x0 - 6, y + 4, label);
	}
	appendStringInfo(buf, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n",
					 x0, PLOT_TOP, x0, PLOT_H - PLOT_BOTTOM);
	appendStringInfo(buf, "<text class=\"y-label\" transform=\"translate(16 %d) rotate(-90)\" "
					 "text-anchor=\"middle\">", (PLOT_TOP + PLOT_H - PLOT_BOTTOM) / 2);
	xml_append(buf, ylabel);
	appendStringInfoString(buf, "</text>\n</g>\n");
	appendStringInfo(buf, "<line class=\"x-axis\" x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"black\"/>\n",
					 x0, y_px(ax, Max(ax->lo, Min(0, ax->hi))), x1, y_px(ax, Max(ax->lo, Min(0, ax->hi))));
}

/* One legend entry: a swatch (a line, or a box of the given opacity) and its label. */
static void
legend_entry(StringInfo buf, int i, const char *series, bool line, const char *color, double opacity,
			 const char *label)
{
	int			x = PLOT_W - PLOT_RIGHT + 16;
	int			y = PLOT_TOP + 10 + i * 20;

	appendStringInfoString(buf, "<g class=\"legend-entry\" data-series=\"");
	xml_append(buf, series);
	appendStringInfoString(buf, "\">");
	if (line)
		appendStringInfo(buf, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>",
						 x, y - 4, x + 18, y - 4, color);
	else
		appendStringInfo(buf, "<rect x=\"%d\" y=\"%d\" width=\"18\" height=\"10\" fill=\"%s\" fill-opacity=\"%.2f\"/>",
						 x, y - 9, color, opacity);
	appendStringInfo(buf, "<text x=\"%d\" y=\"%d\">", x + 24, y);
	xml_append(buf, label);
	appendStringInfoString(buf, "</text></g>\n");
}

/* The version to plot: the given one, else the champion, else the latest that did not fail. */
static int
plot_version(const char *tenant_id, const char *model_name, bool given, int version)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	bool		isnull;
	int			v;

	if (given)
		return version;
	args[0] = CStringGetTextDatum(tenant_id);
	args[1] = CStringGetTextDatum(model_name);
	SPI_connect();
	if (SPI_execute_with_args("SELECT version FROM shelfops.model_versions WHERE tenant_id = $1 "
							  "AND model_name = $2 AND status <> 'failed' "
							  "ORDER BY status = 'champion' DESC, version DESC LIMIT 1",
							  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading shelfops.model_versions failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" of tenant \"%s\" has no version to plot", model_name, tenant_id),
				 errhint("Train one with shelfops_train.")));
	v = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return v;
}

/*
 * shelfops_plot_forecast(model_name text, store_id text, product_id text,
 *     history int DEFAULT 90, version int DEFAULT NULL, horizon int DEFAULT NULL,
 *     as_of date DEFAULT NULL, level float8 DEFAULT 0.9, tenant_id text DEFAULT NULL)
 *   RETURNS text (SVG)
 */
Datum
shelfops_plot_forecast(PG_FUNCTION_ARGS)
{
	char	   *model_name = shelfops_ident_arg(fcinfo, 0, "model_name");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 8);
	char	   *store_id,
			   *product_id;
	int			history = PG_ARGISNULL(3) ? 90 : PG_GETARG_INT32(3);
	double		level = PG_ARGISNULL(7) ? 0.9 : PG_GETARG_FLOAT8(7);
	MemoryContext cxt,
				old;
	StoredModel sm;
	ForecastResult *res;
	const SeriesSet *set;
	const Series *ser;
	int			horizon,
				sidx,
				origin,
				first,
				last,
				nfc = 0;
	int		   *fc_idx;
	double		ymax = 0;
	Axis		ax;
	StringInfoData buf,
				title;
	text	   *result;
	int			x0 = PLOT_LEFT,
				x1 = PLOT_W - PLOT_RIGHT;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("store_id and product_id must not be NULL")));
	store_id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	product_id = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (history < 0 || history > PLOT_MAX_HISTORY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("history must be between 0 and %d periods, got %d", PLOT_MAX_HISTORY, history)));
	if (!PG_ARGISNULL(4) && PG_GETARG_INT32(4) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must be positive, got %d", PG_GETARG_INT32(4))));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops plot", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	stored_model_fetch(tenant_id, model_name,
					   plot_version(tenant_id, model_name, !PG_ARGISNULL(4), PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4)),
					   false, &sm);
	horizon = PG_ARGISNULL(5) ? sm.horizon : PG_GETARG_INT32(5);
	res = forecast_from_origin_history(tenant_id, &sm, horizon, PG_ARGISNULL(6) ? 0 : PG_GETARG_DATEADT(6),
									   !PG_ARGISNULL(6), level, history, InvalidOid, 0);
	set = res->set;
	sidx = series_find(set, store_id, product_id);
	if (sidx < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("dataset \"%s\" has no series for store \"%s\" and product \"%s\"",
						sm.dataset_id, store_id, product_id)));
	ser = &set->series[sidx];
	fc_idx = palloc(sizeof(int) * Max(res->rows->n, 1));
	for (int i = 0; i < res->rows->n; i++)
		if (res->rows->series[i] == sidx)
			fc_idx[nfc++] = i;
	origin = res->rows->origin[0];
	first = Max(0, origin - history + 1);
	last = origin + horizon;

	/* value range: actuals, forecasts and the band */
	for (int t = first; t <= Min(last, set->nperiods - 1); t++)
		if (!isnan(ser->y[t]))
			ymax = Max(ymax, ser->y[t]);
	for (int k = 0; k < nfc; k++)
		ymax = Max(ymax, res->upper[fc_idx[k]]);
	axis_nice(0, ymax, &ax);

	initStringInfo(&title);
	appendStringInfo(&title, "%s v%d: store %s, product %s", model_name, sm.version, store_id, product_id);
	initStringInfo(&buf);
	svg_begin(&buf, title.data, &ax, "quantity");

#define X_OF(t) (x0 + (double) (x1 - x0) * ((t) - first) / Max(last - first, 1))

	/* date ticks: about six, always the first and last periods */
	appendStringInfoString(&buf, "<g class=\"x-ticks\">\n");
	{
		int			nt = Min(6, last - first);
		int			prev = INT_MIN;

		for (int i = 0; i <= nt; i++)
		{
			int			t = nt == 0 ? first : first + (int) llround((double) (last - first) * i / nt);
			double		x = X_OF(t);

			if (t == prev)
				continue;
			prev = t;
			appendStringInfo(&buf, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"black\"/>"
							 "<text class=\"x-tick\" x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
							 x, PLOT_H - PLOT_BOTTOM, x, PLOT_H - PLOT_BOTTOM + 5, x, PLOT_H - PLOT_BOTTOM + 18,
							 shelfops_iso_date(series_period_date(set, t)));
		}
	}
	appendStringInfo(&buf, "</g>\n<text class=\"x-label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s (%s periods)</text>\n",
					 (x0 + x1) / 2, PLOT_H - 20, "date", series_frequency_name(set->frequency));
	/* the origin */
	appendStringInfo(&buf, "<line class=\"origin\" x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#999\" "
					 "stroke-dasharray=\"4 3\" data-date=\"%s\"/>\n",
					 X_OF(origin), PLOT_TOP, X_OF(origin), PLOT_H - PLOT_BOTTOM,
					 shelfops_iso_date(series_period_date(set, origin)));

	/* interval band: upper bounds left to right, then lower bounds back */
	if (nfc > 0)
	{
		appendStringInfo(&buf, "<path class=\"interval\" data-level=\"%.2f\" fill=\"#ff7f0e\" fill-opacity=\"0.2\" "
						 "stroke=\"none\" d=\"", level);
		for (int k = 0; k < nfc; k++)
			appendStringInfo(&buf, "%s%.2f %.2f ", k == 0 ? "M" : "L", X_OF(res->rows->period[fc_idx[k]]),
							 y_px(&ax, res->upper[fc_idx[k]]));
		for (int k = nfc - 1; k >= 0; k--)
			appendStringInfo(&buf, "L%.2f %.2f ", X_OF(res->rows->period[fc_idx[k]]),
							 y_px(&ax, res->lower[fc_idx[k]]));
		appendStringInfoString(&buf, "Z\"/>\n");
	}

	/* actuals: a line broken where a period has no row, and a point per known period */
	{
		bool		pen = false;

		appendStringInfoString(&buf, "<path class=\"actual\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" d=\"");
		for (int t = first; t <= Min(last, set->nperiods - 1); t++)
		{
			if (isnan(ser->y[t]))
			{
				pen = false;
				continue;
			}
			appendStringInfo(&buf, "%s%.2f %.2f ", pen ? "L" : "M", X_OF(t), y_px(&ax, ser->y[t]));
			pen = true;
		}
		appendStringInfoString(&buf, "\"/>\n");
		for (int t = first; t <= Min(last, set->nperiods - 1); t++)
			if (!isnan(ser->y[t]))
				appendStringInfo(&buf, "<circle class=\"actual-point\" cx=\"%.2f\" cy=\"%.2f\" r=\"1.5\" "
								 "fill=\"#1f77b4\" data-date=\"%s\" data-value=\"%.6g\"/>\n",
								 X_OF(t), y_px(&ax, ser->y[t]), shelfops_iso_date(series_period_date(set, t)),
								 ser->y[t]);
	}

	/* the forecast: a line and one point per step */
	appendStringInfoString(&buf, "<path class=\"forecast\" fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"2\" d=\"");
	for (int k = 0; k < nfc; k++)
		appendStringInfo(&buf, "%s%.2f %.2f ", k == 0 ? "M" : "L", X_OF(res->rows->period[fc_idx[k]]),
						 y_px(&ax, res->forecast[fc_idx[k]]));
	appendStringInfoString(&buf, "\"/>\n");
	for (int k = 0; k < nfc; k++)
	{
		int			i = fc_idx[k];

		appendStringInfo(&buf, "<circle class=\"forecast-point\" cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"#ff7f0e\" "
						 "data-date=\"%s\" data-value=\"%.17g\" data-lower=\"%.17g\" data-upper=\"%.17g\"/>\n",
						 X_OF(res->rows->period[i]), y_px(&ax, res->forecast[i]),
						 shelfops_iso_date(series_period_date(set, res->rows->period[i])),
						 res->forecast[i], res->lower[i], res->upper[i]);
	}
#undef X_OF

	appendStringInfoString(&buf, "<g class=\"legend\">\n");
	legend_entry(&buf, 0, "actual", true, "#1f77b4", 1, "actual");
	legend_entry(&buf, 1, "forecast", true, "#ff7f0e", 1, "forecast");
	legend_entry(&buf, 2, "interval", false, "#ff7f0e", 0.2,
				 psprintf("%.0f%% interval", level * 100));
	appendStringInfoString(&buf, "</g>\n</svg>\n");

	MemoryContextSwitchTo(old);
	result = cstring_to_text(buf.data);
	MemoryContextDelete(cxt);
	PG_RETURN_TEXT_P(result);
}

/*
 * shelfops_plot_benchmark(run_id uuid, metric text DEFAULT 'wape', tenant_id text DEFAULT NULL)
 *   RETURNS text (SVG): one bar per result row (dataset or combo slice) and algorithm.
 */
Datum
shelfops_plot_benchmark(PG_FUNCTION_ARGS)
{
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 2);
	char	   *metric = PG_ARGISNULL(1) ? pstrdup("wape") : text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		known = false;
	Oid			types[3] = {TEXTOID, UUIDOID, TEXTOID};
	Datum		args[3];
	int			n,
				ngroups = 0,
				nalgos = 0;
	char	  **group,
			  **algo,
			  **gnames,
			  **anames,
			  **slice,
			  **datasets;
	double	   *value;
	bool	   *isnull;
	double		vmin = 0,
				vmax = 0;
	Axis		ax;
	StringInfoData buf,
				title,
				names;
	MemoryContext caller = CurrentMemoryContext;
	int			x0 = PLOT_LEFT,
				x1 = PLOT_W - PLOT_RIGHT;
	double		gw,
				bw;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("run_id must not be NULL")));
	initStringInfo(&names);
	for (int i = 0; plot_metrics[i]; i++)
	{
		known |= strcmp(metric, plot_metrics[i]) == 0;
		appendStringInfo(&names, "%s%s", i ? ", " : "", plot_metrics[i]);
	}
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown metric \"%s\"", metric),
				 errdetail("Metrics that can be plotted: %s.", names.data)));

	args[0] = CStringGetTextDatum(tenant_id);
	args[1] = PG_GETARG_DATUM(0);
	args[2] = CStringGetTextDatum(metric);
	SPI_connect();
	if (SPI_execute_with_args("SELECT datasets, slice, algorithm, (metrics->>$3)::float8 "
							  "FROM shelfops.benchmark_results WHERE tenant_id = $1 AND benchmark_run_id = $2 "
							  "ORDER BY ordinal", 3, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading shelfops.benchmark_results failed");
	n = (int) SPI_processed;
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant \"%s\" has no benchmark run with that id", tenant_id),
				 errdetail("No row of shelfops.benchmark_results has run id %s.",
						   DatumGetCString(DirectFunctionCall1(uuid_out, args[1])))));
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		group = palloc(sizeof(char *) * n);
		algo = palloc(sizeof(char *) * n);
		slice = palloc(sizeof(char *) * n);
		datasets = palloc(sizeof(char *) * n);
		value = palloc(sizeof(double) * n);
		isnull = palloc(sizeof(bool) * n);
		gnames = palloc(sizeof(char *) * n);
		anames = palloc(sizeof(char *) * n);
		for (int i = 0; i < n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			Datum		d;

			datasets[i] = SPI_getvalue(tup, desc, 1);
			slice[i] = SPI_getvalue(tup, desc, 2);
			algo[i] = SPI_getvalue(tup, desc, 3);
			d = SPI_getbinval(tup, desc, 4, &isnull[i]);
			value[i] = isnull[i] ? 0 : DatumGetFloat8(d);
			if (isnull[i] || isnan(value[i]) || isinf(value[i]))
				isnull[i] = true;
			group[i] = strcmp(slice[i], "overall") == 0 ? pstrdup(datasets[i])
				: psprintf("%s [%s]", datasets[i], slice[i]);
		}
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();

	/* groups and algorithms in first-seen order */
	for (int i = 0; i < n; i++)
	{
		int			g,
					a;

		for (g = 0; g < ngroups && strcmp(gnames[g], group[i]) != 0; g++)
			;
		if (g == ngroups)
			gnames[ngroups++] = group[i];
		for (a = 0; a < nalgos && strcmp(anames[a], algo[i]) != 0; a++)
			;
		if (a == nalgos)
			anames[nalgos++] = algo[i];
		if (!isnull[i])
		{
			vmin = Min(vmin, value[i]);
			vmax = Max(vmax, value[i]);
		}
	}
	axis_nice(vmin, vmax, &ax);

	initStringInfo(&title);
	appendStringInfo(&title, "benchmark %s: %s by dataset and algorithm",
					 DatumGetCString(DirectFunctionCall1(uuid_out, args[1])), metric);
	initStringInfo(&buf);
	svg_begin(&buf, title.data, &ax, metric);

	gw = (double) (x1 - x0) / ngroups;
	bw = gw * 0.8 / nalgos;
	appendStringInfoString(&buf, "<g class=\"x-ticks\">\n");
	for (int g = 0; g < ngroups; g++)
	{
		double		x = x0 + gw * (g + 0.5);

		appendStringInfo(&buf, "<text class=\"x-tick\" x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">",
						 x, PLOT_H - PLOT_BOTTOM + 18);
		xml_append(&buf, gnames[g]);
		appendStringInfoString(&buf, "</text>\n");
	}
	appendStringInfo(&buf, "</g>\n<text class=\"x-label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">dataset "
					 "(a combo's slices in brackets)</text>\n", (x0 + x1) / 2, PLOT_H - 20);

	appendStringInfoString(&buf, "<g class=\"bars\">\n");
	for (int i = 0; i < n; i++)
	{
		int			g,
					a;
		double		x,
					ytop,
					ybot;

		for (g = 0; strcmp(gnames[g], group[i]) != 0; g++)
			;
		for (a = 0; strcmp(anames[a], algo[i]) != 0; a++)
			;
		x = x0 + gw * g + gw * 0.1 + bw * a;
		if (isnull[i])
		{
			/* undefined metric: no bar, a marker saying so */
			appendStringInfo(&buf, "<text class=\"no-value\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
							 "font-size=\"9\">n/a</text>\n", x + bw / 2, y_px(&ax, 0) - 3);
			continue;
		}
		ytop = y_px(&ax, Max(value[i], 0));
		ybot = y_px(&ax, Min(value[i], 0));
		appendStringInfo(&buf, "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
						 "fill=\"%s\" data-datasets=\"", x, ytop, bw * 0.95, ybot - ytop,
						 palette[a % lengthof(palette)]);
		xml_append(&buf, datasets[i]);
		appendStringInfoString(&buf, "\" data-slice=\"");
		xml_append(&buf, slice[i]);
		appendStringInfoString(&buf, "\" data-algorithm=\"");
		xml_append(&buf, algo[i]);
		appendStringInfo(&buf, "\" data-value=\"%.17g\"><title>", value[i]);
		xml_append(&buf, group[i]);
		appendStringInfo(&buf, " %s: %.4g</title></rect>\n", algo[i], value[i]);
		appendStringInfo(&buf, "<text class=\"bar-label\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
						 "font-size=\"9\">%.3g</text>\n", x + bw * 0.475, ytop - 3, value[i]);
	}
	appendStringInfoString(&buf, "</g>\n<g class=\"legend\">\n");
	for (int a = 0; a < nalgos; a++)
		legend_entry(&buf, a, anames[a], false, palette[a % lengthof(palette)], 1, anames[a]);
	appendStringInfoString(&buf, "</g>\n</svg>\n");
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}
