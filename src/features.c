/*
 * features.c
 *	  Owns the horizon-safe feature specification (what the features are, and
 *	  every encoding and training-window statistic fixed at training time), its
 *	  jsonb form stored with the model, and the dense float32 matrix builder.
 *	  Also the internal SQL test surface (_feature_*).
 *
 * Horizon safety: with horizon H, every feature of target period t that reads
 * the target y reads it only at periods <= t - H (lags, rolling windows,
 * same-weekday lags).  Calendar and planned covariates describe t itself or
 * its neighbours; static values come from the spec, computed only over
 * periods <= train_end.  A period whose is_open is known false is not a
 * demand observation: history features treat it as missing.
 * Definitions are in docs/features.md.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "shelfops.h"
#include "ident.h"
#include "series.h"
#include "feature_spec.h"
#include "util.h"

static const char *const kind_names[FK_NKINDS] = {
	[FK_DAY_OF_WEEK] = "day_of_week",
	[FK_DAY_OF_MONTH] = "day_of_month",
	[FK_DAY_OF_YEAR] = "day_of_year",
	[FK_WEEK_OF_YEAR] = "week_of_year",
	[FK_MONTH] = "month",
	[FK_IS_MONTH_START] = "is_month_start",
	[FK_IS_MONTH_END] = "is_month_end",
	[FK_IS_WEEKEND] = "is_weekend",
	[FK_DAYS_TO_MONTH_END] = "days_to_month_end",
	[FK_LAG] = "lag",
	[FK_SAME_WEEKDAY_MEAN] = "same_weekday_mean",
	[FK_ROLL_MEAN] = "roll_mean",
	[FK_ROLL_STD] = "roll_std",
	[FK_ROLL_MIN] = "roll_min",
	[FK_ROLL_MAX] = "roll_max",
	[FK_ROLL_COUNT] = "roll_count",
	[FK_COVARIATE] = "covariate",
	[FK_COVARIATE_PREV] = "covariate_prev",
	[FK_COVARIATE_NEXT] = "covariate_next",
	[FK_CATEGORY_CODE] = "category_code",
	[FK_STORE_CODE] = "store_code",
	[FK_STORE_ATTR] = "store_attr",
	[FK_SERIES_MEAN] = "series_mean",
	[FK_SERIES_DOW_MEAN] = "series_dow_mean",
	[FK_STORE_MEAN] = "store_mean",
	[FK_PRODUCT_MEAN] = "product_mean",
	[FK_YOY_DIFF] = "yoy_diff",
};

static const char *const store_attr_names[FEATURE_NSTORE_ATTRS] = {
	[FSA_STORE_TYPE] = "store_type",
	[FSA_ASSORTMENT] = "assortment",
	[FSA_COMPETITION_DISTANCE] = "competition_distance",
	[FSA_SIZE] = "size",
	[FSA_PROMO2] = "promo2",
};

static const char *const store_attr_feature_names[FEATURE_NSTORE_ATTRS] = {
	[FSA_STORE_TYPE] = "store_type_code",
	[FSA_ASSORTMENT] = "assortment_code",
	[FSA_COMPETITION_DISTANCE] = "competition_distance",
	[FSA_SIZE] = "store_size",
	[FSA_PROMO2] = "promo2",
};

#define NSAME_WEEKDAY_LAGS 4
#define NCONSECUTIVE_LAGS 3
#define MAX_WINDOWS 8

/* The spec bound to one SeriesSet: per-series static values and code maps. */
typedef struct FeatureBinding
{
	const SeriesSet *set;
	uint64		load_id;
	float	   *category_code;	/* [set->nseries] */
	float	   *store_code;
	float	   *series_mean;
	float	   *store_mean;
	float	   *product_mean;
	float	   *store_attrs;	/* [set->nseries * FEATURE_NSTORE_ATTRS] */
	float	   *series_dow_mean;	/* [set->nseries * 7] or NULL */
	float	   *holiday_map;	/* [set->nholiday_types]: spec code or -1 */
} FeatureBinding;

/* Calendar values of one target period. */
typedef struct CalendarValues
{
	float		v[FK_DAYS_TO_MONTH_END + 1];
	int			iso_dow;		/* 1..7 of the period's first day */
} CalendarValues;

/* Rolling statistics of one window. */
typedef struct WindowStats
{
	float		mean,
				std,
				min,
				max,
				count;
} WindowStats;

/* ---------------------------------------------------------------------------
 * small helpers
 * ------------------------------------------------------------------------- */


/* Sort and deduplicate n strings in place; the new count. */
static int
sort_unique(char **arr, int n)
{
	int			m = 0;

	if (n == 0)
		return 0;
	qsort(arr, n, sizeof(char *), shelfops_cmp_cstring_ptr);
	for (int i = 0; i < n; i++)
		if (m == 0 || strcmp(arr[m - 1], arr[i]) != 0)
			arr[m++] = arr[i];
	return m;
}

static inline double
hist_at(const Series *s, int p)
{
	if (p < 0)
		return get_float8_nan();
	if (s->cov[SCOV_IS_OPEN][p] == 0.0f)
		return get_float8_nan();
	return s->y[p];
}

static void
add_feature(FeatureSpec *spec, int *cap, FeatureKind kind, int arg, const char *name)
{
	if (spec->nfeatures == *cap)
	{
		*cap = *cap == 0 ? 64 : *cap * 2;
		spec->features = spec->features == NULL ? palloc(*cap * sizeof(FeatureDef))
			: repalloc(spec->features, *cap * sizeof(FeatureDef));
	}
	spec->features[spec->nfeatures].kind = kind;
	spec->features[spec->nfeatures].arg = arg;
	spec->features[spec->nfeatures].name = pstrdup(name);
	spec->features[spec->nfeatures].slot = -1;
	spec->nfeatures++;
}

/* Derive the rolling-window slots from the feature list. */
static void
spec_finalize(FeatureSpec *spec)
{
	spec->nwindows = 0;
	for (int f = 0; f < spec->nfeatures; f++)
	{
		FeatureDef *d = &spec->features[f];
		int			w;

		if (d->kind < FK_ROLL_MEAN || d->kind > FK_ROLL_COUNT)
			continue;
		for (w = 0; w < spec->nwindows; w++)
			if (spec->windows[w] == d->arg)
				break;
		if (w == spec->nwindows)
		{
			if (spec->nwindows == MAX_WINDOWS)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("feature specification has more than %d rolling windows", MAX_WINDOWS)));
			spec->windows[spec->nwindows++] = d->arg;
		}
	}
	/* ascending (insertion sort; at most MAX_WINDOWS) */
	for (int i = 1; i < spec->nwindows; i++)
		for (int j = i; j > 0 && spec->windows[j - 1] > spec->windows[j]; j--)
		{
			int			tmp = spec->windows[j];

			spec->windows[j] = spec->windows[j - 1];
			spec->windows[j - 1] = tmp;
		}
	for (int f = 0; f < spec->nfeatures; f++)
	{
		FeatureDef *d = &spec->features[f];

		if (d->kind >= FK_ROLL_MEAN && d->kind <= FK_ROLL_COUNT)
			for (int w = 0; w < spec->nwindows; w++)
				if (spec->windows[w] == d->arg)
					d->slot = w;
	}
}

static void
date_to_iso(DateADT d, char *buf)
{
	int			y,
				m,
				dd;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
	snprintf(buf, 16, "%04d-%02d-%02d", y, m, dd);
}

static void
calendar_of(const FeatureSpec *spec, DateADT d, CalendarValues *cal)
{
	int			y,
				m,
				dd,
				ly,
				lm,
				ld;
	int			jd = d + POSTGRES_EPOCH_JDATE;
	int			dow = j2day(jd);
	int			dim;
	bool		rolled;

	j2date(jd, &y, &m, &dd);
	j2date(jd + spec->period_days - 1, &ly, &lm, &ld);
	dim = day_tab[isleap(y)][m - 1];
	rolled = lm != m;
	cal->iso_dow = dow == 0 ? 7 : dow;
	cal->v[FK_DAY_OF_WEEK] = (float) cal->iso_dow;
	cal->v[FK_DAY_OF_MONTH] = (float) dd;
	cal->v[FK_DAY_OF_YEAR] = (float) (jd - date2j(y, 1, 1) + 1);
	cal->v[FK_WEEK_OF_YEAR] = (float) date2isoweek(y, m, dd);
	cal->v[FK_MONTH] = (float) m;
	cal->v[FK_IS_MONTH_START] = (dd == 1 || rolled) ? 1.0f : 0.0f;
	cal->v[FK_IS_MONTH_END] = (rolled || ld == day_tab[isleap(ly)][lm - 1]) ? 1.0f : 0.0f;
	cal->v[FK_IS_WEEKEND] = cal->iso_dow >= 6 ? 1.0f : 0.0f;
	cal->v[FK_DAYS_TO_MONTH_END] = (float) (dim - dd);
}

/* ---------------------------------------------------------------------------
 * store attributes (shelfops.stores, when the loaders created it)
 * ------------------------------------------------------------------------- */

static double
attr_number(const char *s)
{
	char	   *end;
	double		v;

	if (s == NULL)
		return get_float8_nan();
	if (strcmp(s, "t") == 0 || strcmp(s, "true") == 0)
		return 1.0;
	if (strcmp(s, "f") == 0 || strcmp(s, "false") == 0)
		return 0.0;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || isinf(v))
		return get_float8_nan();
	return v;
}

/*
 * Fill spec->store_attrs (and the two code dictionaries) for the stores of the
 * spec; every value NaN when the table or a column is absent.
 */
static void
read_store_attrs(FeatureSpec *spec, const SeriesSet *set)
{
	MemoryContext spec_cxt = CurrentMemoryContext;
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	StringInfoData sql;
	bool		present[FEATURE_NSTORE_ATTRS] = {false};
	char	  **text_vals[2] = {NULL, NULL};	/* per spec store, store_type / assortment */
	int			ret;

	spec->store_attrs = palloc(Max(spec->nstores, 1) * FEATURE_NSTORE_ATTRS * sizeof(double));
	for (int i = 0; i < spec->nstores * FEATURE_NSTORE_ATTRS; i++)
		spec->store_attrs[i] = get_float8_nan();
	text_vals[0] = palloc0(Max(spec->nstores, 1) * sizeof(char *));
	text_vals[1] = palloc0(Max(spec->nstores, 1) * sizeof(char *));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute("SELECT a.attname::text FROM pg_attribute a"
					  " WHERE a.attrelid = to_regclass('shelfops.stores') AND a.attnum > 0"
					  " AND NOT a.attisdropped", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading the columns of shelfops.stores failed");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *col = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);

		for (int a = 0; a < FEATURE_NSTORE_ATTRS; a++)
			if (strcmp(col, store_attr_names[a]) == 0)
				present[a] = true;
	}
	if (SPI_processed == 0)
	{
		SPI_finish();
		return;
	}

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT store_id::text");
	for (int a = 0; a < FEATURE_NSTORE_ATTRS; a++)
	{
		if (present[a])
			appendStringInfo(&sql, ", %s::text", store_attr_names[a]);
		else
			appendStringInfoString(&sql, ", NULL::text");
	}
	appendStringInfoString(&sql, " FROM shelfops.stores WHERE tenant_id = $1 AND dataset_id = $2");
	args[0] = CStringGetTextDatum(set->tenant_id);
	args[1] = CStringGetTextDatum(set->dataset_id);
	ret = SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading shelfops.stores failed: %s", SPI_result_code_string(ret));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *store = SPI_getvalue(tup, desc, 1);
		int			j;

		if (store == NULL || (j = shelfops_find_sorted(spec->stores, spec->nstores, store)) < 0)
			continue;
		for (int a = 0; a < FEATURE_NSTORE_ATTRS; a++)
		{
			char	   *v = SPI_getvalue(tup, desc, a + 2);

			if (a == FSA_STORE_TYPE || a == FSA_ASSORTMENT)
			{
				if (v != NULL)
					text_vals[a][j] = MemoryContextStrdup(spec_cxt, v);
			}
			else
				spec->store_attrs[j * FEATURE_NSTORE_ATTRS + a] = attr_number(v);
		}
	}
	SPI_finish();

	/* Code dictionaries of the two text attributes, fixed here. */
	for (int a = 0; a < 2; a++)
	{
		char	  **dict = palloc(Max(spec->nstores, 1) * sizeof(char *));
		int			n = 0;

		for (int j = 0; j < spec->nstores; j++)
			if (text_vals[a][j] != NULL)
				dict[n++] = text_vals[a][j];
		n = sort_unique(dict, n);
		for (int j = 0; j < spec->nstores; j++)
			if (text_vals[a][j] != NULL)
				spec->store_attrs[j * FEATURE_NSTORE_ATTRS + a] = shelfops_find_sorted(dict, n, text_vals[a][j]);
		if (a == FSA_STORE_TYPE)
		{
			spec->store_types = dict;
			spec->nstore_types = n;
		}
		else
		{
			spec->assortments = dict;
			spec->nassortments = n;
		}
	}
}

/* ---------------------------------------------------------------------------
 * building the spec
 * ------------------------------------------------------------------------- */

/*
 * Mean of the observed values of the window e - w + 1 .. e minus the mean of
 * the same window one year earlier; NaN when either has no observation.
 */
static double
yoy_diff(const Series *s, int e, int w, int year)
{
	double		a = 0,
				c = 0;
	int			na = 0,
				nc = 0;

	for (int j = 0; j < w; j++)
	{
		double		h1 = hist_at(s, e - j);
		double		h2 = hist_at(s, e - j - year);

		if (!isnan(h1))
		{
			a += h1;
			na++;
		}
		if (!isnan(h2))
		{
			c += h2;
			nc++;
		}
	}
	return (na > 0 && nc > 0) ? a / na - c / nc : get_float8_nan();
}

static void spec_base_reset(FeatureSpec *spec);
static int	feature_index(const FeatureSpec *spec, const char *name);

FeatureSpec *
feature_spec_build(const SeriesSet *set, int horizon, int train_end_period)
{
	FeatureSpec *spec;
	int			cap = 0;
	int			te = train_end_period;
	bool		daily = set->frequency == SERIES_DAILY;
	bool		cov_present[SERIES_NCOV] = {false};
	bool	   *holiday_used;
	int		   *series_map;		/* set series -> spec series, or -1 */
	double	   *ssum,
			   *scnt;
	char		name[64];
	int			nconsec = NCONSECUTIVE_LAGS;
	int			promo_cov = -1;
	bool		multi_series_store = false;
	bool		multi_series_product = false;

	if (horizon < 1 || horizon > FEATURE_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be between 1 and %d periods, not %d", FEATURE_MAX_HORIZON, horizon)));
	if (set->ndata_periods == 0 || set->nseries == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("dataset \"%s\" has no sales rows to build features from", set->dataset_id)));
	if (te < 0 || te >= set->ndata_periods)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training end period %d lies outside the data (periods 0 to %d)",
						te, set->ndata_periods - 1)));

	spec = palloc0(sizeof(FeatureSpec));
	spec_base_reset(spec);
	spec->format = FEATURE_SPEC_FORMAT;
	spec->frequency = set->frequency;
	spec->period_days = set->period_days;
	spec->horizon = horizon;
	spec->calendar_start = set->date_min;
	spec->train_end = series_period_date(set, te);
	spec->data_fingerprint = pstrdup(set->fingerprint);

	/* What the training window holds: covariates, holiday types, series. */
	holiday_used = palloc0(Max(set->nholiday_types, 1) * sizeof(bool));
	series_map = palloc(set->nseries * sizeof(int));
	for (int i = 0; i < set->nseries; i++)
	{
		const Series *s = &set->series[i];

		series_map[i] = (s->first_period >= 0 && s->first_period <= te) ? spec->nseries++ : -1;
		if (series_map[i] < 0)
			continue;
		for (int t = s->first_period; t <= Min(te, s->last_period); t++)
		{
			for (int k = 0; k < SERIES_NCOV; k++)
			{
				float		v = s->cov[k][t];

				if (isnan(v))
					continue;
				if ((k == SCOV_IS_PROMOTIONAL || k == SCOV_IS_HOLIDAY) && v != 1.0f)
					continue;
				cov_present[k] = true;
				if (k == SCOV_HOLIDAY_TYPE)
					holiday_used[(int) v] = true;
			}
		}
		CHECK_FOR_INTERRUPTS();
	}

	/* Holiday-type codes: the set's sorted dictionary restricted to those used. */
	spec->holiday_types = palloc(Max(set->nholiday_types, 1) * sizeof(char *));
	for (int h = 0; h < set->nholiday_types; h++)
		if (holiday_used[h])
			spec->holiday_types[spec->nholiday_types++] = pstrdup(set->holiday_types[h]);

	/* Categories seen by train_end. */
	spec->categories = palloc(set->nseries * sizeof(char *));
	for (int i = 0; i < set->nseries; i++)
		if (set->series[i].category != NULL && set->series[i].category_period <= te)
			spec->categories[spec->ncategories++] = pstrdup(set->series[i].category);
	spec->ncategories = sort_unique(spec->categories, spec->ncategories);

	/* Series, stores and products of the training window with their means. */
	spec->series_store = palloc(Max(spec->nseries, 1) * sizeof(char *));
	spec->series_product = palloc(Max(spec->nseries, 1) * sizeof(char *));
	spec->series_mean = palloc(Max(spec->nseries, 1) * sizeof(double));
	if (daily)
		spec->series_dow_mean = palloc(Max(spec->nseries, 1) * 7 * sizeof(double));
	ssum = palloc0(set->nseries * sizeof(double));
	scnt = palloc0(set->nseries * sizeof(double));
	for (int i = 0; i < set->nseries; i++)
	{
		const Series *s = &set->series[i];
		int			j = series_map[i];
		double		dsum[7] = {0},
					dcnt[7] = {0};
		int			dow0 = j2day(series_period_date(set, 0) + POSTGRES_EPOCH_JDATE);	/* 0 = Sunday */

		if (j < 0)
			continue;
		spec->series_store[j] = pstrdup(s->store_id);
		spec->series_product[j] = pstrdup(s->product_id);
		for (int t = s->first_period; t <= Min(te, s->last_period); t++)
		{
			double		v = hist_at(s, t);

			if (isnan(v))
				continue;
			ssum[i] += v;
			scnt[i] += 1;
			if (daily)
			{
				int			wd = (dow0 + t) % 7;

				dsum[wd] += v;
				dcnt[wd] += 1;
			}
		}
		spec->series_mean[j] = scnt[i] > 0 ? ssum[i] / scnt[i] : get_float8_nan();
		if (daily)
		{
			/* stored by ISO weekday: index 0 = Monday .. 6 = Sunday */
			for (int iso = 1; iso <= 7; iso++)
			{
				int			wd = iso % 7;

				spec->series_dow_mean[j * 7 + iso - 1] = dcnt[wd] > 0 ? dsum[wd] / dcnt[wd] : get_float8_nan();
			}
		}
	}

	/* Stores (series are in store order, so the ids come sorted). */
	spec->stores = palloc(Max(spec->nseries, 1) * sizeof(char *));
	spec->store_mean = palloc(Max(spec->nseries, 1) * sizeof(double));
	{
		double		sum = 0,
					cnt = 0;
		int			nin = 0;

		for (int i = 0; i < set->nseries; i++)
		{
			if (series_map[i] < 0)
				continue;
			if (spec->nstores == 0 || strcmp(spec->stores[spec->nstores - 1], set->series[i].store_id) != 0)
			{
				if (spec->nstores > 0)
					spec->store_mean[spec->nstores - 1] = cnt > 0 ? sum / cnt : get_float8_nan();
				spec->stores[spec->nstores++] = pstrdup(set->series[i].store_id);
				sum = cnt = 0;
				nin = 0;
			}
			sum += ssum[i];
			cnt += scnt[i];
			if (++nin > 1)
				multi_series_store = true;
		}
		if (spec->nstores > 0)
			spec->store_mean[spec->nstores - 1] = cnt > 0 ? sum / cnt : get_float8_nan();
	}

	/* Products: sorted distinct ids, then sums per product. */
	spec->products = palloc(Max(spec->nseries, 1) * sizeof(char *));
	for (int i = 0; i < set->nseries; i++)
		if (series_map[i] >= 0)
			spec->products[spec->nproducts++] = set->series[i].product_id;
	spec->nproducts = sort_unique(spec->products, spec->nproducts);
	spec->product_mean = palloc(Max(spec->nproducts, 1) * sizeof(double));
	{
		double	   *psum = palloc0(Max(spec->nproducts, 1) * sizeof(double));
		double	   *pcnt = palloc0(Max(spec->nproducts, 1) * sizeof(double));
		int		   *pser = palloc0(Max(spec->nproducts, 1) * sizeof(int));

		for (int i = 0; i < set->nseries; i++)
		{
			int			p;

			if (series_map[i] < 0)
				continue;
			p = shelfops_find_sorted(spec->products, spec->nproducts, set->series[i].product_id);
			psum[p] += ssum[i];
			pcnt[p] += scnt[i];
			if (++pser[p] > 1)
				multi_series_product = true;
		}
		for (int p = 0; p < spec->nproducts; p++)
		{
			spec->product_mean[p] = pcnt[p] > 0 ? psum[p] / pcnt[p] : get_float8_nan();
			spec->products[p] = pstrdup(spec->products[p]);
		}
	}

	read_store_attrs(spec, set);

	/* ---- the feature list, in column order ---- */
	if (daily)
		add_feature(spec, &cap, FK_DAY_OF_WEEK, 0, "day_of_week");
	add_feature(spec, &cap, FK_DAY_OF_MONTH, 0, "day_of_month");
	add_feature(spec, &cap, FK_DAY_OF_YEAR, 0, "day_of_year");
	add_feature(spec, &cap, FK_WEEK_OF_YEAR, 0, "week_of_year");
	add_feature(spec, &cap, FK_MONTH, 0, "month");
	add_feature(spec, &cap, FK_IS_MONTH_START, 0, "is_month_start");
	add_feature(spec, &cap, FK_IS_MONTH_END, 0, "is_month_end");
	if (daily)
		add_feature(spec, &cap, FK_IS_WEEKEND, 0, "is_weekend");
	add_feature(spec, &cap, FK_DAYS_TO_MONTH_END, 0, "days_to_month_end");

	/* lags y[t - H - j] */
	for (int j = 0; j < nconsec; j++)
	{
		if (j == 0)
			snprintf(name, sizeof(name), "lag_horizon");
		else
			snprintf(name, sizeof(name), "lag_horizon_%d", j);
		add_feature(spec, &cap, FK_LAG, horizon + j, name);
	}
	if (daily)
	{
		int			k0 = (horizon + 6) / 7;

		for (int j = 0; j < NSAME_WEEKDAY_LAGS; j++)
		{
			snprintf(name, sizeof(name), "lag_same_weekday_%d", j + 1);
			add_feature(spec, &cap, FK_LAG, 7 * (k0 + j), name);
		}
		add_feature(spec, &cap, FK_SAME_WEEKDAY_MEAN, 7 * k0, "same_weekday_mean");
		add_feature(spec, &cap, FK_LAG, 364 * ((horizon + 363) / 364), "lag_year");
	}
	else
		add_feature(spec, &cap, FK_LAG, 52 * ((horizon + 51) / 52), "lag_year");

	/* rolling windows ending at t - H */
	{
		static const int daily_windows[] = {7, 28, 91};
		static const int weekly_windows[] = {4, 13, 52};
		const int  *w = daily ? daily_windows : weekly_windows;

		for (int j = 0; j < 3; j++)
		{
			snprintf(name, sizeof(name), "roll_mean_%d", w[j]);
			add_feature(spec, &cap, FK_ROLL_MEAN, w[j], name);
			snprintf(name, sizeof(name), "roll_std_%d", w[j]);
			add_feature(spec, &cap, FK_ROLL_STD, w[j], name);
			snprintf(name, sizeof(name), "roll_min_%d", w[j]);
			add_feature(spec, &cap, FK_ROLL_MIN, w[j], name);
			snprintf(name, sizeof(name), "roll_max_%d", w[j]);
			add_feature(spec, &cap, FK_ROLL_MAX, w[j], name);
		}
		snprintf(name, sizeof(name), "roll_count_%d", w[2]);
		add_feature(spec, &cap, FK_ROLL_COUNT, w[2], name);
	}

	/* covariates planned for t (present in the training window) */
	{
		static const SeriesCovariate planned[] = {
			SCOV_PROMO_COUNT, SCOV_IS_PROMOTIONAL, SCOV_IS_HOLIDAY, SCOV_HOLIDAY_TYPE,
			SCOV_IS_SCHOOL_HOLIDAY, SCOV_IS_OPEN, SCOV_UNIT_PRICE
		};

		for (int j = 0; j < lengthof(planned); j++)
			if (cov_present[planned[j]])
				add_feature(spec, &cap, FK_COVARIATE, planned[j], series_covariate_names[planned[j]]);
		promo_cov = cov_present[SCOV_PROMO_COUNT] ? SCOV_PROMO_COUNT :
			cov_present[SCOV_IS_PROMOTIONAL] ? SCOV_IS_PROMOTIONAL : -1;
		if (promo_cov >= 0)
		{
			add_feature(spec, &cap, FK_COVARIATE_PREV, promo_cov, "promo_prev");
			add_feature(spec, &cap, FK_COVARIATE_NEXT, promo_cov, "promo_next");
		}
		if (cov_present[SCOV_IS_HOLIDAY])
		{
			add_feature(spec, &cap, FK_COVARIATE_PREV, SCOV_IS_HOLIDAY, "holiday_prev");
			add_feature(spec, &cap, FK_COVARIATE_NEXT, SCOV_IS_HOLIDAY, "holiday_next");
		}
	}

	/* weekly: the year-ago neighbours and the year-over-year level change */
	if (!daily)
	{
		int			on = 51,
					op = 53;

		while (on < horizon)
			on += 52;
		while (op < horizon)
			op += 52;
		add_feature(spec, &cap, FK_LAG, on, "lag_year_next");
		add_feature(spec, &cap, FK_LAG, op, "lag_year_prev");
		add_feature(spec, &cap, FK_YOY_DIFF, 4, "yoy_diff_4");
		add_feature(spec, &cap, FK_YOY_DIFF, 13, "yoy_diff_13");
	}

	/* static, fixed here */
	if (spec->ncategories > 0)
		add_feature(spec, &cap, FK_CATEGORY_CODE, 0, "category_code");
	if (spec->nstores > 1)
		add_feature(spec, &cap, FK_STORE_CODE, 0, "store_code");
	for (int a = 0; a < FEATURE_NSTORE_ATTRS; a++)
	{
		bool		any = false;

		for (int j = 0; j < spec->nstores && !any; j++)
			any = !isnan(spec->store_attrs[j * FEATURE_NSTORE_ATTRS + a]);
		if (any)
			add_feature(spec, &cap, FK_STORE_ATTR, a, store_attr_feature_names[a]);
	}
	add_feature(spec, &cap, FK_SERIES_MEAN, 0, "series_mean_train");
	if (daily)
		add_feature(spec, &cap, FK_SERIES_DOW_MEAN, 0, "series_dow_mean_train");
	if (multi_series_store)
		add_feature(spec, &cap, FK_STORE_MEAN, 0, "store_mean_train");
	if (multi_series_product)
		add_feature(spec, &cap, FK_PRODUCT_MEAN, 0, "product_mean_train");

	/* weekly data: the model learns the seasonal difference y - lag_year */
	spec->target_base = -1;
	if (!daily)
		for (int f = 0; f < spec->nfeatures; f++)
			if (strcmp(spec->features[f].name, "lag_year") == 0)
				spec->target_base = f;
	if (spec->target_base >= 0)
	{
		/*
		 * Only when at least a third of the training rows have their lag_year
		 * (training then uses just those rows): too short a history keeps y.
		 */
		int			lag = spec->features[spec->target_base].arg;
		int64		nobs = 0,
					npairs = 0;

		for (int i = 0; i < set->nseries; i++)
			for (int t = 0; t <= te; t++)
				if (!isnan(hist_at(&set->series[i], t)))
				{
					nobs++;
					if (!isnan(hist_at(&set->series[i], t - lag)))
						npairs++;
				}
		if (npairs == 0 || 3 * npairs < nobs)
			spec->target_base = -1;
	}
	if (spec->target_base >= 0)
	{
		/*
		 * The base: lag_year smoothed with its neighbours (0.5 / 0.25 / 0.25
		 * when both are known), plus half the year-over-year level change of
		 * the 13 periods ending at t - H (a damped drift: the full change, or
		 * a weight fitted on the training window, did worse on every
		 * backtest fold, docs/benchmarks-training.md); lag_horizon for a row
		 * whose lag_year is unknown (forecast time only: such rows are not
		 * trained on).  residual_weight is fitted after training.
		 */
		int			lag_year = spec->features[spec->target_base].arg;

		spec->base_next = feature_index(spec, "lag_year_next");
		spec->base_prev = feature_index(spec, "lag_year_prev");
		/*
		 * Smooth only with the weeks either side of lag_year itself: from a
		 * horizon of 52 on, lag_year_next (at least the horizon back) is a
		 * year further than lag_year - 1 and would mix two years.
		 */
		if (spec->base_next < 0 || spec->base_prev < 0 ||
			spec->features[spec->base_next].arg != lag_year - 1 ||
			spec->features[spec->base_prev].arg != lag_year + 1)
			spec->base_next = spec->base_prev = -1;
		spec->base_drift = feature_index(spec, "yoy_diff_13");
		spec->base_drift_weight = spec->base_drift >= 0 ? 0.5 : 0;
		spec->base_fallback = feature_index(spec, "lag_horizon");
	}

	spec_finalize(spec);
	spec->binding = palloc0(sizeof(FeatureBinding));
	return spec;
}

static void
spec_base_reset(FeatureSpec *spec)
{
	spec->target_base = -1;
	spec->base_next = spec->base_prev = spec->base_drift = spec->base_fallback = -1;
	spec->base_drift_weight = 0;
	spec->residual_weight = 1;
}

static int
feature_index(const FeatureSpec *spec, const char *name)
{
	for (int f = 0; f < spec->nfeatures; f++)
		if (strcmp(spec->features[f].name, name) == 0)
			return f;
	return -1;
}

const char *
feature_name(const FeatureSpec *spec, int i)
{
	Assert(i >= 0 && i < spec->nfeatures);
	return spec->features[i].name;
}

/* ---------------------------------------------------------------------------
 * binding a spec to a set
 * ------------------------------------------------------------------------- */

static int
bsearch_series(const FeatureSpec *spec, const char *store, const char *product)
{
	int			lo = 0,
				hi = spec->nseries - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = strcmp(spec->series_store[mid], store);

		if (c == 0)
			c = strcmp(spec->series_product[mid], product);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static void
binding_free(FeatureBinding *b)
{
	if (b->category_code)
		pfree(b->category_code);
	if (b->store_attrs)
		pfree(b->store_attrs);
	if (b->series_dow_mean)
		pfree(b->series_dow_mean);
	if (b->holiday_map)
		pfree(b->holiday_map);
	memset(b, 0, sizeof(FeatureBinding));
}

static const FeatureBinding *
spec_bind(const FeatureSpec *spec, const SeriesSet *set)
{
	FeatureBinding *b = spec->binding;
	MemoryContext old;
	int			n = set->nseries;
	float		fnan = get_float4_nan();

	if (b->set == set && b->load_id == set->load_id)
		return b;
	if (set->frequency != spec->frequency)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature specification is for %s data, dataset \"%s\" is %s",
						series_frequency_name(spec->frequency), set->dataset_id,
						series_frequency_name(set->frequency))));

	binding_free(b);
	old = MemoryContextSwitchTo(GetMemoryChunkContext(b));
	/* one block for the five per-series arrays */
	b->category_code = palloc(Max(n, 1) * 5 * sizeof(float));
	b->store_code = b->category_code + Max(n, 1);
	b->series_mean = b->store_code + Max(n, 1);
	b->store_mean = b->series_mean + Max(n, 1);
	b->product_mean = b->store_mean + Max(n, 1);
	b->store_attrs = palloc(Max(n, 1) * FEATURE_NSTORE_ATTRS * sizeof(float));
	if (spec->series_dow_mean)
		b->series_dow_mean = palloc(Max(n, 1) * 7 * sizeof(float));
	b->holiday_map = palloc(Max(set->nholiday_types, 1) * sizeof(float));
	MemoryContextSwitchTo(old);

	for (int i = 0; i < n; i++)
	{
		const Series *s = &set->series[i];
		int			st = shelfops_find_sorted(spec->stores, spec->nstores, s->store_id);
		int			pr = shelfops_find_sorted(spec->products, spec->nproducts, s->product_id);
		int			se = bsearch_series(spec, s->store_id, s->product_id);

		if (s->category == NULL)
			b->category_code[i] = fnan;
		else
			b->category_code[i] = (float) shelfops_find_sorted(spec->categories, spec->ncategories, s->category);
		b->store_code[i] = (float) st;
		b->store_mean[i] = st >= 0 ? (float) spec->store_mean[st] : fnan;
		b->product_mean[i] = pr >= 0 ? (float) spec->product_mean[pr] : fnan;
		b->series_mean[i] = se >= 0 ? (float) spec->series_mean[se] : fnan;
		for (int a = 0; a < FEATURE_NSTORE_ATTRS; a++)
			b->store_attrs[i * FEATURE_NSTORE_ATTRS + a] =
				st >= 0 ? (float) spec->store_attrs[st * FEATURE_NSTORE_ATTRS + a] : fnan;
		if (b->series_dow_mean)
			for (int d = 0; d < 7; d++)
				b->series_dow_mean[i * 7 + d] = se >= 0 ? (float) spec->series_dow_mean[se * 7 + d] : fnan;
	}
	for (int h = 0; h < set->nholiday_types; h++)
		b->holiday_map[h] = (float) shelfops_find_sorted(spec->holiday_types, spec->nholiday_types,
												 set->holiday_types[h]);
	b->set = set;
	b->load_id = set->load_id;
	return b;
}

/* ---------------------------------------------------------------------------
 * one row
 * ------------------------------------------------------------------------- */

/*
 * Rolling statistics over the windows of the spec, all ending at period e =
 * t - H: window w covers periods e - windows[w] + 1 .. e.  One pass from e
 * backwards; sums are shifted by the first value seen, so a constant window
 * has std exactly 0.
 */
static void
window_stats(const FeatureSpec *spec, const Series *s, int e, WindowStats *ws)
{
	double		shift = 0,
				sum = 0,
				sumsq = 0,
				mn = 0,
				mx = 0;
	int			cnt = 0;
	int			w = 0;
	int			widest = spec->nwindows > 0 ? spec->windows[spec->nwindows - 1] : 0;

	for (int j = 0; j < widest && w < spec->nwindows; j++)
	{
		int			p = e - j;

		if (p >= 0)
		{
			double		v = hist_at(s, p);

			if (!isnan(v))
			{
				double		d;

				if (cnt == 0)
				{
					shift = v;
					mn = mx = v;
				}
				d = v - shift;
				sum += d;
				sumsq += d * d;
				if (v < mn)
					mn = v;
				if (v > mx)
					mx = v;
				cnt++;
			}
		}
		while (w < spec->nwindows && j + 1 == spec->windows[w])
		{
			WindowStats *o = &ws[w];

			o->count = (float) cnt;
			if (cnt >= 1)
			{
				o->mean = (float) (shift + sum / cnt);
				o->min = (float) mn;
				o->max = (float) mx;
			}
			else
				o->mean = o->min = o->max = get_float4_nan();
			if (cnt >= 2)
			{
				double		var = (sumsq - sum * sum / cnt) / (cnt - 1);

				o->std = (float) sqrt(var > 0 ? var : 0);
			}
			else
				o->std = get_float4_nan();
			w++;
		}
	}
}

static inline float
cov_at(const Series *s, int k, int p, int nperiods)
{
	if (p < 0 || p >= nperiods)
		return get_float4_nan();
	return s->cov[k][p];
}

static void
fill_row(const FeatureSpec *spec, const FeatureBinding *b, const SeriesSet *set,
		 int i, int t, const CalendarValues *cal, float *out)
{
	const Series *s = &set->series[i];
	WindowStats ws[MAX_WINDOWS];
	int			e = t - spec->horizon;
	float		fnan = get_float4_nan();

	if (spec->nwindows > 0)
		window_stats(spec, s, e, ws);

	for (int f = 0; f < spec->nfeatures; f++)
	{
		const FeatureDef *d = &spec->features[f];
		float		v;

		switch (d->kind)
		{
			case FK_DAY_OF_WEEK:
			case FK_DAY_OF_MONTH:
			case FK_DAY_OF_YEAR:
			case FK_WEEK_OF_YEAR:
			case FK_MONTH:
			case FK_IS_MONTH_START:
			case FK_IS_MONTH_END:
			case FK_IS_WEEKEND:
			case FK_DAYS_TO_MONTH_END:
				v = cal->v[d->kind];
				break;
			case FK_LAG:
				v = (float) hist_at(s, t - d->arg);
				break;
			case FK_SAME_WEEKDAY_MEAN:
				{
					double		sum = 0;
					int			n = 0;

					for (int j = 0; j < NSAME_WEEKDAY_LAGS; j++)
					{
						double		h = hist_at(s, t - d->arg - 7 * j);

						if (!isnan(h))
						{
							sum += h;
							n++;
						}
					}
					v = n > 0 ? (float) (sum / n) : fnan;
				}
				break;
			case FK_ROLL_MEAN:
				v = ws[d->slot].mean;
				break;
			case FK_ROLL_STD:
				v = ws[d->slot].std;
				break;
			case FK_ROLL_MIN:
				v = ws[d->slot].min;
				break;
			case FK_ROLL_MAX:
				v = ws[d->slot].max;
				break;
			case FK_ROLL_COUNT:
				v = ws[d->slot].count;
				break;
			case FK_COVARIATE:
			case FK_COVARIATE_PREV:
			case FK_COVARIATE_NEXT:
				{
					int			p = t + (d->kind == FK_COVARIATE_PREV ? -1 :
										 d->kind == FK_COVARIATE_NEXT ? 1 : 0);

					v = cov_at(s, d->arg, p, set->nperiods);
					if (d->arg == SCOV_HOLIDAY_TYPE && !isnan(v))
						v = b->holiday_map[(int) v];
				}
				break;
			case FK_CATEGORY_CODE:
				v = b->category_code[i];
				break;
			case FK_STORE_CODE:
				v = b->store_code[i];
				break;
			case FK_STORE_ATTR:
				v = b->store_attrs[i * FEATURE_NSTORE_ATTRS + d->arg];
				break;
			case FK_SERIES_MEAN:
				v = b->series_mean[i];
				break;
			case FK_SERIES_DOW_MEAN:
				v = b->series_dow_mean ? b->series_dow_mean[i * 7 + cal->iso_dow - 1] : fnan;
				break;
			case FK_STORE_MEAN:
				v = b->store_mean[i];
				break;
			case FK_PRODUCT_MEAN:
				v = b->product_mean[i];
				break;
			case FK_YOY_DIFF:
				v = (float) yoy_diff(s, e, d->arg, spec->frequency == SERIES_DAILY ? 364 : 52);
				break;
			default:
				elog(ERROR, "unknown feature kind %d", (int) d->kind);
				v = fnan;
		}
		out[f] = v;
	}
}

static void
check_target(const SeriesSet *set, int series_idx, int t)
{
	if (series_idx < 0 || series_idx >= set->nseries)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("series index %d out of range (0 to %d)", series_idx, set->nseries - 1)));
	if (t < 0 || t >= set->nperiods)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target period %d out of range (0 to %d)", t, set->nperiods - 1)));
}

void
features_row(const FeatureSpec *spec, const SeriesSet *set, int series_idx,
			 int target_period, float *out)
{
	const FeatureBinding *b;
	CalendarValues cal;

	check_target(set, series_idx, target_period);
	b = spec_bind(spec, set);
	calendar_of(spec, series_period_date(set, target_period), &cal);
	fill_row(spec, b, set, series_idx, target_period, &cal, out);
}

/* ---------------------------------------------------------------------------
 * the matrix
 * ------------------------------------------------------------------------- */

static inline bool
row_wanted(const Series *s, int t, bool include_unknown)
{
	if (s->cov[SCOV_IS_OPEN][t] == 0.0f)
		return false;
	return include_unknown || !isnan(s->y[t]);
}

FeatureMatrix *
features_build(const FeatureSpec *spec, const SeriesSet *set, int period_from, int period_to,
			   const FeatureRowFilter *filter)
{
	FeatureMatrix *m;
	const FeatureBinding *b;
	CalendarValues *cal;
	bool		include_unknown = filter ? filter->include_unknown_y : false;
	int			s_from = 0,
				s_to = set->nseries - 1;
	int64		nrows = 0,
				skipped = 0,
				r = 0;
	uint64		limit_bytes = (uint64) shelfops_training_memory_mb * 1024 * 1024;
	uint64		row_bytes = (uint64) spec->nfeatures * sizeof(float) + sizeof(float) + 2 * sizeof(int32);
	uint64		need;
	int			base_lag = (filter && filter->require_target_base && spec->target_base >= 0) ?
		spec->features[spec->target_base].arg : 0;

	if (filter && filter->series_idx >= 0)
	{
		check_target(set, filter->series_idx, 0);
		s_from = s_to = filter->series_idx;
	}
	period_from = Max(period_from, 0);
	period_to = Min(period_to, set->nperiods - 1);
	b = spec_bind(spec, set);

	/* Count first, so the memory check comes before any allocation. */
	for (int i = s_from; i <= s_to; i++)
	{
		const Series *s = &set->series[i];

		for (int t = period_from; t <= period_to; t++)
		{
			if (base_lag > 0 && isnan(hist_at(s, t - base_lag)))
				continue;
			if (s->cov[SCOV_IS_OPEN][t] == 0.0f)
			{
				if (include_unknown || !isnan(s->y[t]))
					skipped++;
			}
			else if (include_unknown || !isnan(s->y[t]))
				nrows++;
		}
	}
	need = (uint64) nrows * row_bytes;
	if (need + set->bytes > limit_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the feature matrix of dataset \"%s\" needs %llu MB, more than shelfops.training_memory_mb (%d MB) leaves",
						set->dataset_id, (unsigned long long) ((need + set->bytes + 1024 * 1024 - 1) / (1024 * 1024)),
						shelfops_training_memory_mb),
				 errdetail("%lld rows x %d features: %llu bytes, plus %llu bytes of series.",
						   (long long) nrows, spec->nfeatures, (unsigned long long) need,
						   (unsigned long long) set->bytes),
				 errhint("Raise shelfops.training_memory_mb to at least %llu, or train on a shorter window.",
						 (unsigned long long) ((need + set->bytes + 1024 * 1024 - 1) / (1024 * 1024)))));

	m = palloc0(sizeof(FeatureMatrix));
	m->nrows = nrows;
	m->nfeatures = spec->nfeatures;
	m->skipped_closed = skipped;
	m->bytes = need;
	m->x = MemoryContextAllocHuge(CurrentMemoryContext, Max(nrows * spec->nfeatures * sizeof(float), 1));
	m->y = MemoryContextAllocHuge(CurrentMemoryContext, Max(nrows * sizeof(float), 1));
	m->series_idx = MemoryContextAllocHuge(CurrentMemoryContext, Max(nrows * sizeof(int32), 1));
	m->period = MemoryContextAllocHuge(CurrentMemoryContext, Max(nrows * sizeof(int32), 1));
	if (nrows == 0)
		return m;

	/* Calendar values once per period. */
	cal = palloc(Max(period_to - period_from + 1, 1) * sizeof(CalendarValues));
	for (int t = period_from; t <= period_to; t++)
		calendar_of(spec, series_period_date(set, t), &cal[t - period_from]);

	for (int i = s_from; i <= s_to; i++)
	{
		const Series *s = &set->series[i];

		for (int t = period_from; t <= period_to; t++)
		{
			if (!row_wanted(s, t, include_unknown))
				continue;
			if (base_lag > 0 && isnan(hist_at(s, t - base_lag)))
				continue;
			fill_row(spec, b, set, i, t, &cal[t - period_from], m->x + r * spec->nfeatures);
			m->y[r] = (float) (s->y[t] - feature_target_base(spec, m->x + r * spec->nfeatures));
			m->series_idx[r] = i;
			m->period[r] = t;
			r++;
		}
		CHECK_FOR_INTERRUPTS();
	}
	Assert(r == nrows);
	pfree(cal);
	return m;
}

/* ---------------------------------------------------------------------------
 * jsonb form
 * ------------------------------------------------------------------------- */

static void
json_double(StringInfo buf, double v)
{
	char		tmp[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (isnan(v) || isinf(v))
		appendStringInfoString(buf, "null");
	else
	{
		double_to_shortest_decimal_buf(v, tmp);
		appendStringInfoString(buf, tmp);
	}
}

static void
json_str_array(StringInfo buf, const char *key, char **arr, int n)
{
	appendStringInfo(buf, ", \"%s\": [", key);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, arr[i]);
	}
	appendStringInfoChar(buf, ']');
}

static void
json_num_array(StringInfo buf, const char *key, const double *arr, int n, int stride, int offset)
{
	appendStringInfo(buf, ", \"%s\": [", key);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		json_double(buf, arr[i * stride + offset]);
	}
	appendStringInfoChar(buf, ']');
}

Jsonb *
feature_spec_to_jsonb(const FeatureSpec *spec)
{
	StringInfoData buf;
	char		d1[16],
				d2[16];

	date_to_iso(spec->calendar_start, d1);
	date_to_iso(spec->train_end, d2);
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"format\": %d, \"frequency\": \"%s\", \"period_days\": %d,"
					 " \"horizon\": %d, \"calendar_start\": \"%s\", \"train_end\": \"%s\","
					 " \"data_fingerprint\": ",
					 spec->format, series_frequency_name(spec->frequency), spec->period_days,
					 spec->horizon, d1, d2);
	escape_json(&buf, spec->data_fingerprint);
	appendStringInfoString(&buf, ", \"features\": [");
	for (int f = 0; f < spec->nfeatures; f++)
	{
		appendStringInfo(&buf, "%s{\"name\": ", f > 0 ? ", " : "");
		escape_json(&buf, spec->features[f].name);
		appendStringInfo(&buf, ", \"kind\": \"%s\", \"arg\": %d}",
						 kind_names[spec->features[f].kind], spec->features[f].arg);
	}
	appendStringInfoChar(&buf, ']');
	if (spec->target_base >= 0)
	{
		appendStringInfoString(&buf, ", \"target_base\": ");
		escape_json(&buf, spec->features[spec->target_base].name);
		if (spec->base_next >= 0)
		{
			appendStringInfoString(&buf, ", \"target_base_smooth\": [");
			escape_json(&buf, spec->features[spec->base_next].name);
			appendStringInfoString(&buf, ", ");
			escape_json(&buf, spec->features[spec->base_prev].name);
			appendStringInfoChar(&buf, ']');
		}
		if (spec->base_drift >= 0)
		{
			appendStringInfoString(&buf, ", \"target_base_drift\": ");
			escape_json(&buf, spec->features[spec->base_drift].name);
			appendStringInfoString(&buf, ", \"target_base_drift_weight\": ");
			json_double(&buf, spec->base_drift_weight);
		}
		if (spec->base_fallback >= 0)
		{
			appendStringInfoString(&buf, ", \"target_base_fallback\": ");
			escape_json(&buf, spec->features[spec->base_fallback].name);
		}
		/* 1 (no shrinkage) is the default: specs written before the key round-trip */
		if (spec->residual_weight != 1.0)
		{
			appendStringInfoString(&buf, ", \"residual_weight\": ");
			json_double(&buf, spec->residual_weight);
		}
	}
	json_str_array(&buf, "categories", spec->categories, spec->ncategories);
	json_str_array(&buf, "holiday_types", spec->holiday_types, spec->nholiday_types);
	json_str_array(&buf, "store_types", spec->store_types, spec->nstore_types);
	json_str_array(&buf, "assortments", spec->assortments, spec->nassortments);

	appendStringInfoString(&buf, ", \"stores\": {\"n\": ");
	appendStringInfo(&buf, "%d", spec->nstores);
	json_str_array(&buf, "id", spec->stores, spec->nstores);
	json_num_array(&buf, "mean", spec->store_mean, spec->nstores, 1, 0);
	for (int a = 0; a < FEATURE_NSTORE_ATTRS; a++)
		json_num_array(&buf, store_attr_names[a], spec->store_attrs, spec->nstores,
					   FEATURE_NSTORE_ATTRS, a);
	appendStringInfoChar(&buf, '}');

	appendStringInfo(&buf, ", \"products\": {\"n\": %d", spec->nproducts);
	json_str_array(&buf, "id", spec->products, spec->nproducts);
	json_num_array(&buf, "mean", spec->product_mean, spec->nproducts, 1, 0);
	appendStringInfoChar(&buf, '}');

	appendStringInfo(&buf, ", \"series\": {\"n\": %d", spec->nseries);
	json_str_array(&buf, "store_id", spec->series_store, spec->nseries);
	json_str_array(&buf, "product_id", spec->series_product, spec->nseries);
	json_num_array(&buf, "mean", spec->series_mean, spec->nseries, 1, 0);
	if (spec->series_dow_mean)
		json_num_array(&buf, "dow_mean", spec->series_dow_mean, spec->nseries * 7, 1, 0);
	appendStringInfoString(&buf, "}}");

	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

static void
spec_malformed(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("feature specification is malformed: %s", what),
			 errdetail("The specification stored with a model must come from feature_spec_to_jsonb.")));
}

static JsonbValue *
jget(JsonbContainer *c, const char *key, bool required)
{
	JsonbValue *v = getKeyJsonValueFromContainer(c, key, strlen(key), NULL);

	if (v == NULL && required)
		spec_malformed(psprintf("key \"%s\" is missing", key));
	return v;
}

static JsonbContainer *
jcontainer(JsonbValue *v, bool array, const char *key)
{
	if (v == NULL || v->type != jbvBinary ||
		(array ? !JsonContainerIsArray(v->val.binary.data) : !JsonContainerIsObject(v->val.binary.data)))
		spec_malformed(psprintf("\"%s\" must be an %s", key, array ? "array" : "object"));
	return v->val.binary.data;
}

static double
jnum(JsonbValue *v, const char *key)
{
	if (v == NULL || v->type == jbvNull)
		return get_float8_nan();
	if (v->type != jbvNumeric)
		spec_malformed(psprintf("\"%s\" must hold numbers", key));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

static int
jint(JsonbContainer *c, const char *key, int lo, int hi)
{
	double		d = jnum(jget(c, key, true), key);

	if (isnan(d) || d != floor(d) || d < lo || d > hi)
		spec_malformed(psprintf("\"%s\" must be an integer between %d and %d", key, lo, hi));
	return (int) d;
}

static char *
jstr(JsonbValue *v, const char *key)
{
	if (v == NULL || v->type != jbvString)
		spec_malformed(psprintf("\"%s\" must hold strings", key));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static DateADT
jdate(JsonbContainer *c, const char *key)
{
	char	   *s = jstr(jget(c, key, true), key);
	int			y,
				m,
				d;
	char		extra;

	if (sscanf(s, "%d-%d-%d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 || d < 1 ||
		y < 1 || y > 9999 || d > day_tab[isleap(y)][m - 1])
		spec_malformed(psprintf("\"%s\" must be a date YYYY-MM-DD", key));
	return date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
}

static char **
jstr_array(JsonbContainer *c, const char *key, int *n, int expect)
{
	JsonbContainer *a = jcontainer(jget(c, key, true), true, key);
	int			len = JsonContainerSize(a);
	char	  **out = palloc(Max(len, 1) * sizeof(char *));

	if (expect >= 0 && len != expect)
		spec_malformed(psprintf("\"%s\" has %d entries, not %d", key, len, expect));
	for (int i = 0; i < len; i++)
	{
		out[i] = jstr(getIthJsonbValueFromContainer(a, i), key);
		if (i > 0 && strcmp(out[i - 1], out[i]) >= 0 && expect < 0)
			spec_malformed(psprintf("\"%s\" must be sorted and distinct", key));
	}
	*n = len;
	return out;
}

static void
jnum_array(JsonbContainer *c, const char *key, double *out, int n, int stride, int offset)
{
	JsonbContainer *a = jcontainer(jget(c, key, true), true, key);

	if ((int) JsonContainerSize(a) != n)
		spec_malformed(psprintf("\"%s\" has %d entries, not %d", key, (int) JsonContainerSize(a), n));
	for (int i = 0; i < n; i++)
		out[i * stride + offset] = jnum(getIthJsonbValueFromContainer(a, i), key);
}

static void
check_sorted(char **arr, int n, const char *what)
{
	for (int i = 1; i < n; i++)
		if (strcmp(arr[i - 1], arr[i]) >= 0)
			spec_malformed(psprintf("%s must be sorted and distinct", what));
}

/* A history feature of the spec named by key's value (a string or, for arrays, element idx). */
static int
spec_base_column(const FeatureSpec *spec, JsonbValue *v, const char *key)
{
	char	   *name = jstr(v, key);
	int			f = feature_index(spec, name);

	if (f < 0 ||
		!(spec->features[f].kind == FK_LAG || spec->features[f].kind == FK_YOY_DIFF ||
		  (spec->features[f].kind >= FK_ROLL_MEAN && spec->features[f].kind <= FK_ROLL_MAX)))
		spec_malformed(psprintf("\"%s\" must name a lag, rolling or year-over-year feature of the spec", key));
	return f;
}

/*
 * The optional parts of a target transform (models trained before them have
 * none: base = lag_year, no fallback, residual weight 1).
 */
static void
spec_read_base(FeatureSpec *spec, JsonbContainer *root)
{
	JsonbValue *v;

	if ((v = jget(root, "target_base_smooth", false)) != NULL)
	{
		JsonbContainer *a = jcontainer(v, true, "target_base_smooth");

		if (JsonContainerSize(a) != 2)
			spec_malformed("\"target_base_smooth\" must name two features");
		spec->base_next = spec_base_column(spec, getIthJsonbValueFromContainer(a, 0), "target_base_smooth");
		spec->base_prev = spec_base_column(spec, getIthJsonbValueFromContainer(a, 1), "target_base_smooth");
	}
	if ((v = jget(root, "target_base_drift", false)) != NULL)
	{
		spec->base_drift = spec_base_column(spec, v, "target_base_drift");
		spec->base_drift_weight = jnum(jget(root, "target_base_drift_weight", true), "target_base_drift_weight");
		if (isnan(spec->base_drift_weight) || isinf(spec->base_drift_weight) ||
			fabs(spec->base_drift_weight) > 1)
			spec_malformed("\"target_base_drift_weight\" must be a number between -1 and 1");
	}
	if ((v = jget(root, "target_base_fallback", false)) != NULL)
		spec->base_fallback = spec_base_column(spec, v, "target_base_fallback");
	if ((v = jget(root, "residual_weight", false)) != NULL)
	{
		spec->residual_weight = jnum(v, "residual_weight");
		if (!(spec->residual_weight >= 0 && spec->residual_weight <= 1))
			spec_malformed("\"residual_weight\" must be a number between 0 and 1");
	}
}

FeatureSpec *
feature_spec_from_jsonb(Jsonb *jb)
{
	JsonbContainer *root = &jb->root;
	FeatureSpec *spec = palloc0(sizeof(FeatureSpec));
	JsonbContainer *feats,
			   *obj;
	char	   *freq;
	int			n;

	if (!JsonContainerIsObject(root))
		spec_malformed("not an object");
	spec->format = jint(root, "format", 0, INT_MAX);
	if (spec->format != FEATURE_SPEC_FORMAT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature specification format %d is not supported (this build reads %d)",
						spec->format, FEATURE_SPEC_FORMAT)));
	freq = jstr(jget(root, "frequency", true), "frequency");
	if (strcmp(freq, "daily") == 0)
		spec->frequency = SERIES_DAILY;
	else if (strcmp(freq, "weekly") == 0)
		spec->frequency = SERIES_WEEKLY;
	else
		spec_malformed("\"frequency\" must be daily or weekly");
	spec->period_days = jint(root, "period_days", 1, 7);
	if (spec->period_days != (spec->frequency == SERIES_WEEKLY ? 7 : 1))
		spec_malformed("\"period_days\" does not match \"frequency\"");
	spec->horizon = jint(root, "horizon", 1, FEATURE_MAX_HORIZON);
	spec->calendar_start = jdate(root, "calendar_start");
	spec->train_end = jdate(root, "train_end");
	spec->data_fingerprint = jstr(jget(root, "data_fingerprint", true), "data_fingerprint");

	feats = jcontainer(jget(root, "features", true), true, "features");
	spec->nfeatures = JsonContainerSize(feats);
	spec->features = palloc(Max(spec->nfeatures, 1) * sizeof(FeatureDef));
	for (int f = 0; f < spec->nfeatures; f++)
	{
		JsonbContainer *fo = jcontainer(getIthJsonbValueFromContainer(feats, f), false, "features[]");
		char	   *kind = jstr(jget(fo, "kind", true), "kind");
		FeatureDef *d = &spec->features[f];
		int			k;

		d->name = jstr(jget(fo, "name", true), "name");
		d->arg = jint(fo, "arg", 0, 100000);
		d->slot = -1;
		for (k = 0; k < FK_NKINDS; k++)
			if (strcmp(kind_names[k], kind) == 0)
				break;
		if (k == FK_NKINDS)
			spec_malformed(psprintf("unknown feature kind \"%s\"", kind));
		d->kind = (FeatureKind) k;
		/* Horizon safety is a property of the spec, checked on every load. */
		if ((d->kind == FK_LAG || d->kind == FK_SAME_WEEKDAY_MEAN) && d->arg < spec->horizon)
			spec_malformed(psprintf("feature \"%s\" reads a lag shorter than the horizon", d->name));
		if (d->kind >= FK_ROLL_MEAN && d->kind <= FK_ROLL_COUNT && d->arg < 1)
			spec_malformed(psprintf("feature \"%s\" has an empty window", d->name));
		if (d->kind >= FK_COVARIATE && d->kind <= FK_COVARIATE_NEXT && d->arg >= SERIES_NCOV)
			spec_malformed(psprintf("feature \"%s\" names an unknown covariate", d->name));
		if (d->kind == FK_STORE_ATTR && d->arg >= FEATURE_NSTORE_ATTRS)
			spec_malformed(psprintf("feature \"%s\" names an unknown store attribute", d->name));
		if (d->kind == FK_YOY_DIFF && (d->arg < 1 || d->arg > 364))
			spec_malformed(psprintf("feature \"%s\" has a bad window", d->name));
		if ((d->kind == FK_DAY_OF_WEEK || d->kind == FK_IS_WEEKEND || d->kind == FK_SERIES_DOW_MEAN) &&
			spec->frequency != SERIES_DAILY)
			spec_malformed(psprintf("feature \"%s\" needs daily data", d->name));
	}

	spec_base_reset(spec);
	{
		JsonbValue *tb = jget(root, "target_base", false);

		if (tb != NULL)
		{
			char	   *name = jstr(tb, "target_base");

			for (int f = 0; f < spec->nfeatures; f++)
				if (strcmp(spec->features[f].name, name) == 0)
					spec->target_base = f;
			if (spec->target_base < 0 || spec->features[spec->target_base].kind != FK_LAG)
				spec_malformed("\"target_base\" must name a lag feature of the spec");
			spec_read_base(spec, root);
		}
	}

	spec->categories = jstr_array(root, "categories", &spec->ncategories, -1);
	spec->holiday_types = jstr_array(root, "holiday_types", &spec->nholiday_types, -1);
	spec->store_types = jstr_array(root, "store_types", &spec->nstore_types, -1);
	spec->assortments = jstr_array(root, "assortments", &spec->nassortments, -1);

	obj = jcontainer(jget(root, "stores", true), false, "stores");
	spec->nstores = jint(obj, "n", 0, INT_MAX);
	spec->stores = jstr_array(obj, "id", &n, spec->nstores);
	check_sorted(spec->stores, spec->nstores, "store ids");
	spec->store_mean = palloc(Max(spec->nstores, 1) * sizeof(double));
	jnum_array(obj, "mean", spec->store_mean, spec->nstores, 1, 0);
	spec->store_attrs = palloc(Max(spec->nstores, 1) * FEATURE_NSTORE_ATTRS * sizeof(double));
	for (int a = 0; a < FEATURE_NSTORE_ATTRS; a++)
		jnum_array(obj, store_attr_names[a], spec->store_attrs, spec->nstores, FEATURE_NSTORE_ATTRS, a);

	obj = jcontainer(jget(root, "products", true), false, "products");
	spec->nproducts = jint(obj, "n", 0, INT_MAX);
	spec->products = jstr_array(obj, "id", &n, spec->nproducts);
	check_sorted(spec->products, spec->nproducts, "product ids");
	spec->product_mean = palloc(Max(spec->nproducts, 1) * sizeof(double));
	jnum_array(obj, "mean", spec->product_mean, spec->nproducts, 1, 0);

	obj = jcontainer(jget(root, "series", true), false, "series");
	spec->nseries = jint(obj, "n", 0, INT_MAX);
	spec->series_store = jstr_array(obj, "store_id", &n, spec->nseries);
	spec->series_product = jstr_array(obj, "product_id", &n, spec->nseries);
	for (int i = 1; i < spec->nseries; i++)
	{
		int			c = strcmp(spec->series_store[i - 1], spec->series_store[i]);

		if (c > 0 || (c == 0 && strcmp(spec->series_product[i - 1], spec->series_product[i]) >= 0))
			spec_malformed("series must be sorted by store and product and distinct");
	}
	spec->series_mean = palloc(Max(spec->nseries, 1) * sizeof(double));
	jnum_array(obj, "mean", spec->series_mean, spec->nseries, 1, 0);
	if (jget(obj, "dow_mean", false) != NULL)
	{
		spec->series_dow_mean = palloc(Max(spec->nseries, 1) * 7 * sizeof(double));
		jnum_array(obj, "dow_mean", spec->series_dow_mean, spec->nseries * 7, 1, 0);
	}
	spec_finalize(spec);
	spec->binding = palloc0(sizeof(FeatureBinding));
	return spec;
}

/* ---------------------------------------------------------------------------
 * internal SQL surface
 * ------------------------------------------------------------------------- */

static int
arg_int(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return PG_GETARG_INT32(argno);
}

static DateADT
arg_date(FunctionCallInfo fcinfo, int argno, const char *what)
{
	DateADT		d;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	d = PG_GETARG_DATEADT(argno);
	if (DATE_NOT_FINITE(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite date", what)));
	return d;
}

static char *
arg_text(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* The training end period for an optional date argument (NULL: the last period). */
static int
train_end_arg(FunctionCallInfo fcinfo, int argno, const SeriesSet *set)
{
	int			te;

	if (PG_ARGISNULL(argno))
		return set->ndata_periods - 1;
	te = series_period_of_date(set, arg_date(fcinfo, argno, "train_end"));
	if (te < 0 || te >= set->ndata_periods)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("train_end must lie within the data of dataset \"%s\"", set->dataset_id)));
	return te;
}

static Datum
row_jsonb(const FeatureSpec *spec, const float *row)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int f = 0; f < spec->nfeatures; f++)
	{
		char		tmp[FLOAT_SHORTEST_DECIMAL_LEN];

		if (f > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, spec->features[f].name);
		appendStringInfoString(&buf, ": ");
		if (isnan(row[f]))
			appendStringInfoString(&buf, "null");
		else
		{
			float_to_shortest_decimal_buf(row[f], tmp);
			appendStringInfoString(&buf, tmp);
		}
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/* _feature_names(dataset_id text, horizon int, tenant_id text DEFAULT NULL) RETURNS text[] */
PG_FUNCTION_INFO_V1(shelfops_feature_names);
Datum
shelfops_feature_names(PG_FUNCTION_ARGS)
{
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	int			horizon = arg_int(fcinfo, 1, "horizon");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 2);
	SeriesSet  *set = series_load(tenant_id, dataset_id, CurrentMemoryContext);
	FeatureSpec *spec = feature_spec_build(set, horizon, set->ndata_periods - 1);
	Datum	   *elems = palloc(Max(spec->nfeatures, 1) * sizeof(Datum));

	for (int f = 0; f < spec->nfeatures; f++)
		elems[f] = CStringGetTextDatum(spec->features[f].name);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, spec->nfeatures, TEXTOID, -1, false, TYPALIGN_INT));
}

/* _feature_spec(dataset_id text, horizon int, train_end date, tenant_id text) RETURNS jsonb */
PG_FUNCTION_INFO_V1(shelfops_feature_spec);
Datum
shelfops_feature_spec(PG_FUNCTION_ARGS)
{
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	int			horizon = arg_int(fcinfo, 1, "horizon");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 3);
	SeriesSet  *set = series_load(tenant_id, dataset_id, CurrentMemoryContext);
	FeatureSpec *spec = feature_spec_build(set, horizon, train_end_arg(fcinfo, 2, set));

	PG_RETURN_JSONB_P(feature_spec_to_jsonb(spec));
}

/* _feature_spec_roundtrip(spec jsonb) RETURNS jsonb: to_jsonb(from_jsonb(spec)) */
PG_FUNCTION_INFO_V1(shelfops_feature_spec_roundtrip);
Datum
shelfops_feature_spec_roundtrip(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);

	PG_RETURN_JSONB_P(feature_spec_to_jsonb(feature_spec_from_jsonb(jb)));
}

/* Rows of one series for target dates from .. to, with a given spec. */
static void
emit_series_rows(FunctionCallInfo fcinfo, const FeatureSpec *spec, const char *tenant_id,
				 const char *dataset_id, const char *store_id, const char *product_id,
				 DateADT from, DateADT to, SeriesSet *set)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i,
				p_from,
				p_to;
	float	   *row = palloc(Max(spec->nfeatures, 1) * sizeof(float));

	if (set == NULL)
	{
		/* Load with room for targets after the data (forecasting). */
		SeriesSet  *probe = series_load(tenant_id, dataset_id, CurrentMemoryContext);
		int			extra = probe->nseries > 0 ? series_period_of_date(probe, to) - (probe->ndata_periods - 1) : 0;

		if (extra > 0)
			set = series_load_extended(tenant_id, dataset_id, Min(extra, 100000), CurrentMemoryContext);
		else
			set = probe;
	}
	i = series_find(set, store_id, product_id);
	if (i < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("dataset \"%s\" has no series for store \"%s\" product \"%s\"",
						dataset_id, store_id, product_id)));
	p_from = series_period_of_date(set, from);
	if (!series_date_on_grid(set, from))
		p_from++;
	p_to = series_period_of_date(set, to);
	p_from = Max(p_from, 0);
	p_to = Min(p_to, set->nperiods - 1);
	for (int t = p_from; t <= p_to; t++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		features_row(spec, set, i, t, row);
		values[0] = DateADTGetDatum(series_period_date(set, t));
		values[1] = Float8GetDatum(set->series[i].y[t]);
		nulls[1] = isnan(set->series[i].y[t]);
		values[2] = row_jsonb(spec, row);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * _feature_rows(dataset_id text, horizon int, store_id text, product_id text,
 *				 from_date date, to_date date, train_end date DEFAULT NULL,
 *				 tenant_id text DEFAULT NULL)
 *	  RETURNS TABLE(target_date date, y float8, features jsonb)
 */
PG_FUNCTION_INFO_V1(shelfops_feature_rows);
Datum
shelfops_feature_rows(PG_FUNCTION_ARGS)
{
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	int			horizon = arg_int(fcinfo, 1, "horizon");
	char	   *store_id = arg_text(fcinfo, 2, "store_id");
	char	   *product_id = arg_text(fcinfo, 3, "product_id");
	DateADT		from = arg_date(fcinfo, 4, "from_date");
	DateADT		to = arg_date(fcinfo, 5, "to_date");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 7);
	SeriesSet  *set;
	FeatureSpec *spec;

	InitMaterializedSRF(fcinfo, 0);
	set = series_load(tenant_id, dataset_id, CurrentMemoryContext);
	spec = feature_spec_build(set, horizon, train_end_arg(fcinfo, 6, set));
	emit_series_rows(fcinfo, spec, tenant_id, dataset_id, store_id, product_id, from, to, set);
	return (Datum) 0;
}

/*
 * _feature_rows_spec(spec jsonb, dataset_id text, store_id text, product_id text,
 *					  from_date date, to_date date, tenant_id text DEFAULT NULL)
 *	  RETURNS TABLE(target_date date, y float8, features jsonb)
 * The forecasting path: a stored spec applied to the current data.
 */
PG_FUNCTION_INFO_V1(shelfops_feature_rows_spec);
Datum
shelfops_feature_rows_spec(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb;
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 1, "dataset_id");
	char	   *store_id = arg_text(fcinfo, 2, "store_id");
	char	   *product_id = arg_text(fcinfo, 3, "product_id");
	DateADT		from = arg_date(fcinfo, 4, "from_date");
	DateADT		to = arg_date(fcinfo, 5, "to_date");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 6);
	FeatureSpec *spec;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("spec must not be NULL")));
	jb = PG_GETARG_JSONB_P(0);
	spec = feature_spec_from_jsonb(jb);
	InitMaterializedSRF(fcinfo, 0);
	emit_series_rows(fcinfo, spec, tenant_id, dataset_id, store_id, product_id, from, to, NULL);
	return (Datum) 0;
}

/*
 * _feature_matrix(dataset_id text, horizon int, from_date date, to_date date,
 *				   train_end date DEFAULT NULL, include_unknown boolean DEFAULT false,
 *				   tenant_id text DEFAULT NULL)
 *	  RETURNS TABLE(store_id text, product_id text, target_date date, y float8, features float4[])
 * The rows features_build returns, in its order.
 */
PG_FUNCTION_INFO_V1(shelfops_feature_matrix);
Datum
shelfops_feature_matrix(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	int			horizon = arg_int(fcinfo, 1, "horizon");
	DateADT		from = arg_date(fcinfo, 2, "from_date");
	DateADT		to = arg_date(fcinfo, 3, "to_date");
	bool		include_unknown = PG_ARGISNULL(5) ? false : PG_GETARG_BOOL(5);
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 6);
	SeriesSet  *set;
	FeatureSpec *spec;
	FeatureMatrix *m;
	FeatureRowFilter filter = {include_unknown, -1};
	int			p_from,
				p_to;
	Datum	   *elems;

	InitMaterializedSRF(fcinfo, 0);
	set = series_load(tenant_id, dataset_id, CurrentMemoryContext);
	spec = feature_spec_build(set, horizon, train_end_arg(fcinfo, 4, set));
	p_from = series_period_of_date(set, from) + (series_date_on_grid(set, from) ? 0 : 1);
	p_to = series_period_of_date(set, to);
	m = features_build(spec, set, p_from, p_to, &filter);
	elems = palloc(Max(m->nfeatures, 1) * sizeof(Datum));
	for (int64 r = 0; r < m->nrows; r++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		const Series *s = &set->series[m->series_idx[r]];
		bool	   *enulls = palloc(Max(m->nfeatures, 1) * sizeof(bool));
		int			dims[1] = {m->nfeatures};
		int			lbs[1] = {1};

		for (int f = 0; f < m->nfeatures; f++)
		{
			float		v = m->x[r * m->nfeatures + f];

			enulls[f] = isnan(v);
			elems[f] = Float4GetDatum(v);
		}
		values[0] = CStringGetTextDatum(s->store_id);
		values[1] = CStringGetTextDatum(s->product_id);
		values[2] = DateADTGetDatum(series_period_date(set, m->period[r]));
		values[3] = Float8GetDatum((double) (float) s->y[m->period[r]]);
		nulls[3] = isnan(s->y[m->period[r]]);
		values[4] = PointerGetDatum(construct_md_array(elems, enulls, 1, dims, lbs,
													   FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(enulls);
	}
	return (Datum) 0;
}

/*
 * _feature_bench(dataset_id text, horizon int, tenant_id text DEFAULT NULL) RETURNS jsonb
 * Seconds for series_load, feature_spec_build and features_build (every
 * observed row of the dataset), as the training entry point would run them.
 */
PG_FUNCTION_INFO_V1(shelfops_feature_bench);
Datum
shelfops_feature_bench(PG_FUNCTION_ARGS)
{
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	int			horizon = arg_int(fcinfo, 1, "horizon");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 2);
	instr_time	t0,
				t1,
				t2,
				t3;
	SeriesSet  *set;
	FeatureSpec *spec;
	FeatureMatrix *m;
	char	   *json;

	INSTR_TIME_SET_CURRENT(t0);
	set = series_load(tenant_id, dataset_id, CurrentMemoryContext);
	INSTR_TIME_SET_CURRENT(t1);
	spec = feature_spec_build(set, horizon, set->ndata_periods - 1);
	INSTR_TIME_SET_CURRENT(t2);
	m = features_build(spec, set, 0, set->ndata_periods - 1, NULL);
	INSTR_TIME_SET_CURRENT(t3);
	INSTR_TIME_SUBTRACT(t3, t2);
	INSTR_TIME_SUBTRACT(t2, t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	json = psprintf("{\"series_load_s\": %.3f, \"spec_build_s\": %.3f, \"features_build_s\": %.3f,"
					" \"nseries\": %d, \"nperiods\": %d, \"sales_rows\": %lld, \"matrix_rows\": %lld,"
					" \"nfeatures\": %d, \"series_mb\": %.1f, \"matrix_mb\": %.1f}",
					INSTR_TIME_GET_DOUBLE(t1), INSTR_TIME_GET_DOUBLE(t2), INSTR_TIME_GET_DOUBLE(t3),
					set->nseries, set->ndata_periods, (long long) set->nrows, (long long) m->nrows,
					m->nfeatures, set->bytes / 1048576.0, m->bytes / 1048576.0);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

int
feature_spec_history_periods(const FeatureSpec *spec)
{
	int			need = spec->horizon + 1;

	for (int i = 0; i < spec->nfeatures; i++)
	{
		const FeatureDef *f = &spec->features[i];
		int			back = 0;

		switch (f->kind)
		{
			case FK_LAG:
				back = f->arg;
				break;
			case FK_SAME_WEEKDAY_MEAN:
				back = f->arg + 21;
				break;
			case FK_ROLL_MEAN:
			case FK_ROLL_STD:
			case FK_ROLL_MIN:
			case FK_ROLL_MAX:
			case FK_ROLL_COUNT:
				back = spec->horizon + f->arg - 1;
				break;
			case FK_YOY_DIFF:
				back = spec->horizon + f->arg - 1 + (spec->frequency == SERIES_DAILY ? 364 : 52);
				break;
			default:
				break;
		}
		need = Max(need, back + 1);
	}
	return need;
}
