/*
 * series.c
 *	  Owns reading shelfops.sales for modelling: the only code that turns sales
 *	  rows into series.  Every (store, product) series is laid on the dataset's
 *	  calendar (date_min .. date_max in steps of 1 day or 7 days), one dense
 *	  array per series and per covariate, with missing periods NaN.
 *
 * One ordered read (ORDER BY store_id, product_id, sale_date; the key columns
 * use the C collation, so the order is bytewise and the same everywhere)
 * through an SPI cursor, binary datums only.  The rows read are folded into a
 * CRC-32C in that order, the set's fingerprint for lineage.  Memory is checked
 * before every series is allocated; when the next series would pass
 * shelfops.training_memory_mb the read goes on counting series without
 * allocating, so the error can say exactly how much the data needs.
 * Also the internal SQL functions _series_summary and _series_periods.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "shelfops.h"
#include "ident.h"
#include "series.h"
#include "util.h"

#define SERIES_FETCH_ROWS 10000

const char *const series_covariate_names[SERIES_NCOV] = {
	[SCOV_PROMO_COUNT] = "promo_count",
	[SCOV_IS_PROMOTIONAL] = "is_promotional",
	[SCOV_IS_HOLIDAY] = "is_holiday",
	[SCOV_HOLIDAY_TYPE] = "holiday_type",
	[SCOV_IS_SCHOOL_HOLIDAY] = "is_school_holiday",
	[SCOV_IS_OPEN] = "is_open",
	[SCOV_UNIT_PRICE] = "unit_price",
	[SCOV_UNIT_COST] = "unit_cost",
};

/* Columns of the ordered read, 1-based as SPI numbers them. */
enum
{
	COL_STORE = 1,
	COL_PRODUCT,
	COL_DATE,
	COL_QUANTITY,
	COL_CATEGORY,
	COL_PROMO_COUNT,
	COL_IS_PROMOTIONAL,
	COL_IS_HOLIDAY,
	COL_HOLIDAY_TYPE,
	COL_IS_SCHOOL_HOLIDAY,
	COL_IS_OPEN,
	COL_UNIT_PRICE,
	COL_UNIT_COST
};

static const char *const series_read_sql =
"SELECT store_id, product_id, sale_date, quantity, category, promo_count,"
" is_promotional, is_holiday, holiday_type, is_school_holiday, is_open,"
" unit_price, unit_cost"
 " FROM shelfops.sales WHERE tenant_id = $1 AND dataset_id = $2 AND sale_date >= $3"
" ORDER BY store_id, product_id, sale_date";

static uint64 series_next_load_id = 1;

const char *
series_frequency_name(SeriesFrequency f)
{
	return f == SERIES_WEEKLY ? "weekly" : "daily";
}

DateADT
series_period_date(const SeriesSet *set, int t)
{
	return set->date_min + (DateADT) t * set->period_days;
}

int
series_period_of_date(const SeriesSet *set, DateADT d)
{
	int64		off = (int64) d - (int64) set->date_min;
	int64		p;

	/* floor division, also for dates before date_min */
	p = off >= 0 ? off / set->period_days : -((-off + set->period_days - 1) / set->period_days);
	if (p > INT_MAX / 2)
		p = INT_MAX / 2;
	if (p < INT_MIN / 2)
		p = INT_MIN / 2;
	return (int) p;
}

bool
series_date_on_grid(const SeriesSet *set, DateADT d)
{
	int64		off = (int64) d - (int64) set->date_min;

	return off % set->period_days == 0;
}



int
series_find(const SeriesSet *set, const char *store_id, const char *product_id)
{
	int			lo = 0,
				hi = set->nseries - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = strcmp(set->series[mid].store_id, store_id);

		if (c == 0)
			c = strcmp(set->series[mid].product_id, product_id);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static char *
text_dup_in(MemoryContext cxt, Datum d)
{
	text	   *t = DatumGetTextPP(d);
	int			len = VARSIZE_ANY_EXHDR(t);
	char	   *s = MemoryContextAlloc(cxt, len + 1);

	memcpy(s, VARDATA_ANY(t), len);
	s[len] = '\0';
	return s;
}

static bool
text_equals(Datum d, const char *s)
{
	text	   *t = DatumGetTextPP(d);
	int			len = VARSIZE_ANY_EXHDR(t);

	return strncmp(VARDATA_ANY(t), s, len) == 0 && s[len] == '\0';
}

/* Fold one field into the fingerprint: a presence byte, then the bytes (crc NULL: none). */
static inline void
crc_field(pg_crc32c *crc, bool isnull, const void *data, size_t len)
{
	uint8		flag = isnull ? 0 : 1;

	if (crc == NULL)
		return;
	COMP_CRC32C(*crc, &flag, 1);
	if (!isnull)
		COMP_CRC32C(*crc, data, len);
}

static inline void
crc_text(pg_crc32c *crc, bool isnull, Datum d)
{
	if (crc == NULL)
		return;
	if (isnull)
		crc_field(crc, true, NULL, 0);
	else
	{
		text	   *t = DatumGetTextPP(d);
		uint32		len = VARSIZE_ANY_EXHDR(t);

		crc_field(crc, false, &len, sizeof(len));
		COMP_CRC32C(*crc, VARDATA_ANY(t), len);
	}
}

static SeriesFrequency
frequency_from_text(const char *f, const char *dataset_id)
{
	if (strcmp(f, "daily") == 0)
		return SERIES_DAILY;
	if (strcmp(f, "weekly") == 0)
		return SERIES_WEEKLY;
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("dataset \"%s\" has unknown frequency \"%s\"", dataset_id, f)));
	return SERIES_DAILY;		/* keep compiler quiet */
}

/* Allocate one series' arrays (one block), every value NaN. */
static void
series_alloc_arrays(Series *s, int nperiods, MemoryContext cxt)
{
	char	   *block;
	float		fnan = get_float4_nan();
	double		dnan = get_float8_nan();

	block = MemoryContextAllocHuge(cxt, Max((Size) nperiods * SERIES_BYTES_PER_CELL, 1));
	s->y = (double *) block;
	for (int t = 0; t < nperiods; t++)
		s->y[t] = dnan;
	block += (Size) nperiods * sizeof(double);
	for (int k = 0; k < SERIES_NCOV; k++)
	{
		s->cov[k] = (float *) block;
		for (int t = 0; t < nperiods; t++)
			s->cov[k][t] = fnan;
		block += (Size) nperiods * sizeof(float);
	}
}

/* Values of one fetched row, deformed once (column numbers are 1-based). */
static inline float
bool_value(const Datum *vals, const bool *nulls, int col, bool *isnull)
{
	*isnull = nulls[col - 1];
	return *isnull ? get_float4_nan() : (DatumGetBool(vals[col - 1]) ? 1.0f : 0.0f);
}

static inline float
float_value(const Datum *vals, const bool *nulls, int col, bool *isnull)
{
	*isnull = nulls[col - 1];
	return *isnull ? get_float4_nan() : (float) DatumGetFloat8(vals[col - 1]);
}

SeriesSet *
series_load(const char *tenant_id, const char *dataset_id, MemoryContext cxt)
{
	return series_load_extended(tenant_id, dataset_id, 0, cxt);
}

SeriesSet *
series_load_extended(const char *tenant_id, const char *dataset_id,
					 int extra_periods, MemoryContext cxt)
{
	return series_load_window(tenant_id, dataset_id, DATEVAL_NOBEGIN, extra_periods, true, cxt);
}

SeriesSet *
series_load_window(const char *tenant_id, const char *dataset_id, DateADT from_date,
				   int extra_periods, bool fingerprint, MemoryContext cxt)
{
	SeriesSet  *set;
	Oid			argtypes[3] = {TEXTOID, TEXTOID, DATEOID};
	Datum		args[3];
	bool		isnull;
	int			ret;
	Portal		portal;
	uint64		limit_bytes;
	uint64		per_series;
	int			capacity = 0;
	int64		counted_series = 0;	/* every series seen, also past the limit */
	bool		over_limit = false;
	char	   *last_store = NULL;
	char	   *last_product = NULL;
	int			nholiday_alloc = 0;
	pg_crc32c	crc;
	pg_crc32c  *crcp = fingerprint ? &crc : NULL;
	int			span;
	Datum		rowvals[COL_UNIT_COST];
	bool		rownulls[COL_UNIT_COST];

	if (extra_periods < 0 || extra_periods > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("extra periods must be between 0 and 100000, not %d", extra_periods)));

	set = MemoryContextAllocZero(cxt, sizeof(SeriesSet));
	set->tenant_id = MemoryContextStrdup(cxt, tenant_id);
	set->dataset_id = MemoryContextStrdup(cxt, dataset_id);
	set->load_id = series_next_load_id++;

	args[0] = CStringGetTextDatum(tenant_id);
	args[1] = CStringGetTextDatum(dataset_id);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* The dataset row: frequency and calendar. */
	ret = SPI_execute_with_args("SELECT frequency, date_min, date_max FROM shelfops.datasets"
								" WHERE tenant_id = $1 AND dataset_id = $2",
								2, argtypes, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading shelfops.datasets failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("dataset \"%s\" does not exist for tenant \"%s\"", dataset_id, tenant_id),
				 errdetail("No row of shelfops.datasets has this tenant and dataset id.")));
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *freq = SPI_getvalue(tup, desc, 1);
		Datum		dmin = SPI_getbinval(tup, desc, 2, &isnull);
		bool		minnull = isnull;
		Datum		dmax = SPI_getbinval(tup, desc, 3, &isnull);
		bool		maxnull = isnull;

		set->frequency = frequency_from_text(freq, dataset_id);
		set->period_days = set->frequency == SERIES_WEEKLY ? 7 : 1;
		if (!minnull && !maxnull)
		{
			set->date_min = DatumGetDateADT(dmin);
			set->date_max = DatumGetDateADT(dmax);
		}
		else
		{
			/* Calendar not recorded (rows inserted by hand): take it from the rows. */
			ret = SPI_execute_with_args("SELECT min(sale_date), max(sale_date) FROM shelfops.sales"
										" WHERE tenant_id = $1 AND dataset_id = $2",
										2, argtypes, args, NULL, false, 1);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "reading shelfops.sales failed: %s", SPI_result_code_string(ret));
			dmin = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &minnull);
			dmax = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &maxnull);
			if (minnull)
			{
				/* No rows at all: an empty set with an empty calendar. */
				SPI_finish();
				set->date_min = set->date_max = 0;
				strcpy(set->fingerprint, "crc32c:00000000");
				return set;
			}
			set->date_min = DatumGetDateADT(dmin);
			set->date_max = DatumGetDateADT(dmax);
		}
	}
	if (DATE_NOT_FINITE(set->date_min) || DATE_NOT_FINITE(set->date_max))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("dataset \"%s\" has an infinite calendar bound", dataset_id)));
	/*
	 * A window starts at the first period containing from_date, so the grid
	 * (weekly: anchored on the dataset's first date) stays the same.
	 */
	if (!DATE_NOT_FINITE(from_date) && from_date > set->date_min)
	{
		int64		skip = ((int64) from_date - set->date_min) / set->period_days;
		int64		last = ((int64) set->date_max - set->date_min) / set->period_days;

		set->date_min += (DateADT) (Min(skip, last) * set->period_days);
	}
	args[2] = DateADTGetDatum(set->date_min);
	span = set->date_max - set->date_min;
	set->ndata_periods = span / set->period_days + 1;
	set->nperiods = set->ndata_periods + extra_periods;

	limit_bytes = (uint64) shelfops_training_memory_mb * 1024 * 1024;
	per_series = (uint64) set->nperiods * SERIES_BYTES_PER_CELL;

	INIT_CRC32C(crc);
	portal = SPI_cursor_open_with_args(NULL, series_read_sql, 3, argtypes, args, NULL, false, 0);

	for (;;)
	{
		SPITupleTable *tt;
		TupleDesc	desc;

		SPI_cursor_fetch(portal, true, SERIES_FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		tt = SPI_tuptable;
		desc = tt->tupdesc;

		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = tt->vals[r];
			Datum		dstore;
			Datum		dproduct;
			DateADT		date;
			double		qty;
			bool		new_series;
			Series	   *s;
			int64		off;
			int			t;
			bool		n;
			Datum		d;
			float		v;

			/* one deform per row: per-column access walks the tuple each time */
			heap_deform_tuple(tup, desc, rowvals, rownulls);
			dstore = rowvals[COL_STORE - 1];
			dproduct = rowvals[COL_PRODUCT - 1];
			date = DatumGetDateADT(rowvals[COL_DATE - 1]);
			qty = DatumGetFloat8(rowvals[COL_QUANTITY - 1]);

			new_series = last_store == NULL || !text_equals(dstore, last_store) ||
				!text_equals(dproduct, last_product);
			if (new_series)
			{
				bool		new_store = last_store == NULL || !text_equals(dstore, last_store);

				counted_series++;
				if (!over_limit && (uint64) counted_series * per_series > limit_bytes)
					over_limit = true;
				if (over_limit)
				{
					/* Only count from here on; remember the keys in the SPI context. */
					last_store = TextDatumGetCString(dstore);
					last_product = TextDatumGetCString(dproduct);
					continue;
				}
				if (set->nseries == capacity)
				{
					capacity = capacity == 0 ? 64 : capacity * 2;
					if (set->series == NULL)
						set->series = MemoryContextAllocZero(cxt, capacity * sizeof(Series));
					else
					{
						set->series = repalloc(set->series, capacity * sizeof(Series));
						memset(set->series + set->nseries, 0,
							   (capacity - set->nseries) * sizeof(Series));
					}
				}
				s = &set->series[set->nseries++];
				s->store_id = text_dup_in(cxt, dstore);
				s->product_id = text_dup_in(cxt, dproduct);
				s->category = NULL;
				s->category_period = -1;
				s->first_period = -1;
				s->last_period = -1;
				series_alloc_arrays(s, set->nperiods, cxt);
				set->bytes += per_series;
				if (new_store)
				{
					if (set->stores == NULL)
						set->stores = MemoryContextAlloc(cxt, 64 * sizeof(char *));
					else if ((set->nstores & (set->nstores - 1)) == 0 && set->nstores >= 64)
						set->stores = repalloc(set->stores, 2 * set->nstores * sizeof(char *));
					set->stores[set->nstores++] = s->store_id;
				}
				s->store_idx = set->nstores - 1;
				last_store = s->store_id;
				last_product = s->product_id;
			}
			else if (over_limit)
				continue;

			s = &set->series[set->nseries - 1];
			off = (int64) date - (int64) set->date_min;
			if (off < 0 || date > set->date_max)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("sale of store \"%s\" product \"%s\" on %s lies outside the calendar of dataset \"%s\"",
								s->store_id, s->product_id,
								shelfops_iso_date(date),
								dataset_id),
						 errdetail("shelfops.datasets records date_min %s and date_max %s.",
								   shelfops_iso_date(set->date_min),
								   shelfops_iso_date(set->date_max)),
						 errhint("Reload the dataset or correct date_min and date_max.")));
			if (off % set->period_days != 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("weekly sale of store \"%s\" product \"%s\" on %s is not on the calendar of dataset \"%s\"",
								s->store_id, s->product_id,
								shelfops_iso_date(date),
								dataset_id),
						 errdetail("Weekly periods start on %s and every 7 days after it; this date is %d days past a period start.",
								   shelfops_iso_date(set->date_min),
								   (int) (off % set->period_days))));
			t = (int) (off / set->period_days);
			s->y[t] = qty;
			if (s->first_period < 0)
				s->first_period = t;
			s->last_period = t;
			s->nobs++;
			set->nrows++;

			crc_text(crcp, false, dstore);
			crc_text(crcp, false, dproduct);
			crc_field(crcp, false, &date, sizeof(date));
			crc_field(crcp, false, &qty, sizeof(qty));

			d = (n = rownulls[COL_CATEGORY - 1], rowvals[COL_CATEGORY - 1]);
			crc_text(crcp, n, d);
			if (!n && s->category == NULL)
			{
				s->category = text_dup_in(cxt, d);
				s->category_period = t;
			}

			d = (n = rownulls[COL_PROMO_COUNT - 1], rowvals[COL_PROMO_COUNT - 1]);
			if (!n)
			{
				double		pc = DatumGetFloat8(d);

				crc_field(crcp, false, &pc, sizeof(pc));
				s->cov[SCOV_PROMO_COUNT][t] = (float) pc;
				set->has_cov[SCOV_PROMO_COUNT] = true;
			}
			else
				crc_field(crcp, true, NULL, 0);

			v = bool_value(rowvals, rownulls, COL_IS_PROMOTIONAL, &n);
			crc_field(crcp, n, &v, sizeof(v));
			s->cov[SCOV_IS_PROMOTIONAL][t] = v;
			if (v == 1.0f)
				set->has_cov[SCOV_IS_PROMOTIONAL] = true;

			v = bool_value(rowvals, rownulls, COL_IS_HOLIDAY, &n);
			crc_field(crcp, n, &v, sizeof(v));
			s->cov[SCOV_IS_HOLIDAY][t] = v;
			if (v == 1.0f)
				set->has_cov[SCOV_IS_HOLIDAY] = true;

			d = (n = rownulls[COL_HOLIDAY_TYPE - 1], rowvals[COL_HOLIDAY_TYPE - 1]);
			crc_text(crcp, n, d);
			if (!n)
			{
				int			code = -1;

				for (int h = set->nholiday_types - 1; h >= 0; h--)
				{
					if (text_equals(d, set->holiday_types[h]))
					{
						code = h;
						break;
					}
				}
				if (code < 0)
				{
					if (set->nholiday_types == nholiday_alloc)
					{
						nholiday_alloc = nholiday_alloc == 0 ? 8 : nholiday_alloc * 2;
						if (set->holiday_types == NULL)
							set->holiday_types = MemoryContextAlloc(cxt, nholiday_alloc * sizeof(char *));
						else
							set->holiday_types = repalloc(set->holiday_types, nholiday_alloc * sizeof(char *));
					}
					code = set->nholiday_types;
					set->holiday_types[set->nholiday_types++] = text_dup_in(cxt, d);
				}
				s->cov[SCOV_HOLIDAY_TYPE][t] = (float) code;
				set->has_cov[SCOV_HOLIDAY_TYPE] = true;
			}

			v = bool_value(rowvals, rownulls, COL_IS_SCHOOL_HOLIDAY, &n);
			crc_field(crcp, n, &v, sizeof(v));
			s->cov[SCOV_IS_SCHOOL_HOLIDAY][t] = v;
			if (!n)
				set->has_cov[SCOV_IS_SCHOOL_HOLIDAY] = true;

			v = bool_value(rowvals, rownulls, COL_IS_OPEN, &n);
			crc_field(crcp, n, &v, sizeof(v));
			s->cov[SCOV_IS_OPEN][t] = v;
			if (!n)
				set->has_cov[SCOV_IS_OPEN] = true;

			v = float_value(rowvals, rownulls, COL_UNIT_PRICE, &n);
			crc_field(crcp, n, &v, sizeof(v));
			s->cov[SCOV_UNIT_PRICE][t] = v;
			if (!n)
				set->has_cov[SCOV_UNIT_PRICE] = true;

			v = float_value(rowvals, rownulls, COL_UNIT_COST, &n);
			crc_field(crcp, n, &v, sizeof(v));
			s->cov[SCOV_UNIT_COST][t] = v;
			if (!n)
				set->has_cov[SCOV_UNIT_COST] = true;
		}
		SPI_freetuptable(tt);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);

	if (over_limit)
	{
		uint64		need = (uint64) counted_series * per_series;

		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("dataset \"%s\" needs %llu MB to lay its series on the calendar, more than shelfops.training_memory_mb (%d MB)",
						dataset_id, (unsigned long long) ((need + 1024 * 1024 - 1) / (1024 * 1024)),
						shelfops_training_memory_mb),
				 errdetail("%lld series x %d periods x %zu bytes per period = %llu bytes.",
						   (long long) counted_series, set->nperiods, (size_t) SERIES_BYTES_PER_CELL,
						   (unsigned long long) need),
				 errhint("Raise shelfops.training_memory_mb to at least %llu, or train on fewer series.",
						 (unsigned long long) ((need + 1024 * 1024 - 1) / (1024 * 1024)))));
	}

	SPI_finish();

	FIN_CRC32C(crc);
	set->crc = crc;
	if (fingerprint)
		snprintf(set->fingerprint, sizeof(set->fingerprint), "crc32c:%08x", (unsigned int) crc);
	else
		strcpy(set->fingerprint, "none");

	/* Products: distinct ids, sorted; then each series' index. */
	if (set->nseries > 0)
	{
		char	  **ids = MemoryContextAlloc(cxt, set->nseries * sizeof(char *));
		int			n = 0;

		for (int i = 0; i < set->nseries; i++)
			ids[i] = set->series[i].product_id;
		qsort(ids, set->nseries, sizeof(char *), shelfops_cmp_cstring_ptr);
		for (int i = 0; i < set->nseries; i++)
			if (n == 0 || strcmp(ids[n - 1], ids[i]) != 0)
				ids[n++] = ids[i];
		set->products = ids;
		set->nproducts = n;
		for (int i = 0; i < set->nseries; i++)
			set->series[i].product_idx = shelfops_find_sorted(ids, n, set->series[i].product_id);
	}

	/* Holiday types: sort the dictionary and renumber the codes. */
	if (set->nholiday_types > 1)
	{
		int			nh = set->nholiday_types;
		char	  **sorted = MemoryContextAlloc(cxt, nh * sizeof(char *));
		float	   *remap = palloc(nh * sizeof(float));

		memcpy(sorted, set->holiday_types, nh * sizeof(char *));
		qsort(sorted, nh, sizeof(char *), shelfops_cmp_cstring_ptr);
		for (int h = 0; h < nh; h++)
			remap[h] = (float) shelfops_find_sorted(sorted, nh, set->holiday_types[h]);
		for (int i = 0; i < set->nseries; i++)
		{
			float	   *a = set->series[i].cov[SCOV_HOLIDAY_TYPE];

			for (int t = 0; t < set->nperiods; t++)
				if (!isnan(a[t]))
					a[t] = remap[(int) a[t]];
		}
		set->holiday_types = sorted;
		pfree(remap);
	}
	return set;
}

/*
 * _series_summary(dataset_id text, tenant_id text DEFAULT NULL) RETURNS jsonb
 */
PG_FUNCTION_INFO_V1(shelfops_series_summary);
Datum
shelfops_series_summary(PG_FUNCTION_ARGS)
{
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 1);
	SeriesSet  *set = series_load(tenant_id, dataset_id, CurrentMemoryContext);
	StringInfoData buf;
	int64		cells = (int64) set->nseries * set->ndata_periods;
	int64		inside = 0;
	bool		first = true;

	for (int i = 0; i < set->nseries; i++)
		inside += set->series[i].last_period - set->series[i].first_period + 1 - set->series[i].nobs;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"frequency\": \"%s\", \"period_days\": %d, \"nseries\": %d,"
					 " \"nperiods\": %d, \"nrows\": %lld, \"nstores\": %d, \"nproducts\": %d,"
					 " \"missing_periods\": %lld, \"missing_inside_series\": %lld,"
					 " \"memory_bytes\": %llu, \"fingerprint\": \"%s\"",
					 series_frequency_name(set->frequency), set->period_days, set->nseries,
					 set->ndata_periods, (long long) set->nrows, set->nstores, set->nproducts,
					 (long long) (cells - set->nrows), (long long) inside,
					 (unsigned long long) set->bytes, set->fingerprint);
	if (set->nseries > 0)
		appendStringInfo(&buf, ", \"date_min\": \"%s\", \"date_max\": \"%s\"",
						 shelfops_iso_date(set->date_min),
						 shelfops_iso_date(set->date_max));
	appendStringInfoString(&buf, ", \"covariates\": [");
	for (int k = 0; k < SERIES_NCOV; k++)
	{
		if (!set->has_cov[k])
			continue;
		appendStringInfo(&buf, "%s\"%s\"", first ? "" : ", ", series_covariate_names[k]);
		first = false;
	}
	appendStringInfoString(&buf, "], \"holiday_types\": [");
	for (int h = 0; h < set->nholiday_types; h++)
	{
		if (h > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, set->holiday_types[h]);
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * _series_periods(dataset_id text, store_id text, product_id text, tenant_id text)
 *	  RETURNS TABLE(period int, period_date date, y float8, covariates jsonb)
 * Every period of one series' calendar; NULL where unknown.
 */
PG_FUNCTION_INFO_V1(shelfops_series_periods);
Datum
shelfops_series_periods(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	char	   *store_id,
			   *product_id;
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 3);
	SeriesSet  *set;
	int			i;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("store_id and product_id must not be NULL")));
	store_id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	product_id = text_to_cstring(PG_GETARG_TEXT_PP(2));
	InitMaterializedSRF(fcinfo, 0);
	set = series_load(tenant_id, dataset_id, CurrentMemoryContext);
	i = series_find(set, store_id, product_id);
	if (i < 0)
		return (Datum) 0;
	for (int t = 0; t < set->nperiods; t++)
	{
		Series	   *s = &set->series[i];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		StringInfoData buf;
		bool		first = true;

		values[0] = Int32GetDatum(t);
		values[1] = DateADTGetDatum(series_period_date(set, t));
		values[2] = Float8GetDatum(s->y[t]);
		nulls[2] = isnan(s->y[t]);
		initStringInfo(&buf);
		appendStringInfoChar(&buf, '{');
		for (int k = 0; k < SERIES_NCOV; k++)
		{
			float		v = s->cov[k][t];

			if (isnan(v))
				continue;
			appendStringInfo(&buf, "%s\"%s\": ", first ? "" : ", ", series_covariate_names[k]);
			if (k == SCOV_HOLIDAY_TYPE)
				escape_json(&buf, set->holiday_types[(int) v]);
			else
				appendStringInfo(&buf, "%g", (double) v);
			first = false;
		}
		appendStringInfoChar(&buf, '}');
		values[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
