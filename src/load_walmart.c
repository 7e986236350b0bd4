/*
 * load_walmart.c
 *	  Owns the Walmart family (Kaggle "Walmart Recruiting - Store Sales
 *	  Forecasting"): stores.csv into shelfops.stores, features.csv into
 *	  shelfops.store_periods, train.csv into shelfops.sales at
 *	  store x department x week grain.
 *
 * Weekly_Sales is money and stays signed; a negative week keeps its value and
 * is flagged (returns_adjustment = min(net, 0), is_return_week = net < 0), as
 * the reference derives it, without clipping the target.  stores.csv has CR
 * line endings in the original; the CSV reader handles them.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/date.h"

#include "parse.h"
#include "load.h"

static void load_walmart(LoadState *ls);

static const char *const walmart_detect[] = {"train.csv", "features.csv", NULL};
static const char *const walmart_required[] = {"stores.csv", NULL};

const LoadFamily load_family_walmart = {
	.name = "walmart",
	.frequency = "weekly",
	.country_code = "US",
	.grain = "store x department x week",
	.target_unit = "currency",
	.detect_files = walmart_detect,
	.required_files = walmart_required,
	.load = load_walmart,
};

enum
{
	S_STORE, S_TYPE, S_SIZE, S_NCOLS
};
static const char *const store_columns[S_NCOLS] = {"Store", "Type", "Size"};
static const char *const stores_table_columns[] = {"store_id", "store_type", "size"};
static const Oid stores_table_types[] = {TEXTOID, TEXTOID, INT4OID};

enum
{
	F_STORE, F_DATE, F_TEMPERATURE, F_FUEL, F_MD1, F_MD2, F_MD3, F_MD4, F_MD5, F_CPI,
	F_UNEMPLOYMENT, F_HOLIDAY, F_NCOLS
};
static const char *const feature_columns[F_NCOLS] = {
	"Store", "Date", "Temperature", "Fuel_Price", "MarkDown1", "MarkDown2", "MarkDown3",
	"MarkDown4", "MarkDown5", "CPI", "Unemployment", "IsHoliday"
};
/* store_periods columns, in feature_columns order */
static const char *const periods_table_columns[F_NCOLS] = {
	"store_id", "period", "temperature", "fuel_price", "markdown1", "markdown2", "markdown3",
	"markdown4", "markdown5", "cpi", "unemployment", "is_holiday"
};
static const Oid periods_table_types[F_NCOLS] = {
	TEXTOID, DATEOID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
	FLOAT8OID, FLOAT8OID, FLOAT8OID, BOOLOID
};

enum
{
	T_STORE, T_DEPT, T_DATE, T_SALES, T_HOLIDAY, T_NCOLS
};
static const char *const train_columns[T_NCOLS] = {"Store", "Dept", "Date", "Weekly_Sales", "IsHoliday"};

static void
load_walmart_stores(LoadState *ls)
{
	int			idx[S_NCOLS];
	CsvReader  *r = load_open_csv(ls, "stores.csv", store_columns, S_NCOLS, idx);
	LoadBatch  *batch = load_batch_begin(ls, "stores", S_NCOLS, stores_table_columns, stores_table_types);
	CsvRecord	rec;

	while (load_next_side(ls, r, &rec))
	{
		Datum		v[S_NCOLS];
		bool		n[S_NCOLS];
		int32		store,
					size;

		if (!load_register_store(ls, rec.fields[idx[S_STORE]], (int) rec.lengths[idx[S_STORE]], &store))
			load_side_fail(r, &rec, idx[S_STORE], "store listed twice");
		v[0] = load_store_datum(ls, store);
		n[0] = false;
		n[1] = !load_side_text(r, &rec, idx[S_TYPE], &v[1]);
		n[2] = !load_side_int(r, &rec, idx[S_SIZE], &size);
		if (!n[2] && size < 0)
			load_side_fail(r, &rec, idx[S_SIZE], "size is negative");
		v[2] = Int32GetDatum(size);
		load_batch_add(batch, v, n);
	}
	load_note_side_rows(ls, "stores", load_batch_insert(ls, batch));
}

static void
load_walmart_features(LoadState *ls)
{
	int			idx[F_NCOLS];
	CsvReader  *r = load_open_csv(ls, "features.csv", feature_columns, F_NCOLS, idx);
	LoadBatch  *batch = load_batch_begin(ls, "store_periods", F_NCOLS, periods_table_columns,
										 periods_table_types);
	LoadKeySet *seen = load_keyset_create(ls, "shelfops load walmart features");
	CsvRecord	rec;

	while (load_next_side(ls, r, &rec))
	{
		Datum		v[F_NCOLS];
		bool		n[F_NCOLS];
		int32		store = load_side_known_store(ls, r, &rec, idx[F_STORE]);
		int32		day;
		bool		holiday;

		if (!load_side_date(r, &rec, idx[F_DATE], &day))
			load_side_fail(r, &rec, idx[F_DATE], "date is empty");
		if (!load_keyset_add(seen, store, 0, day))
			load_side_fail(r, &rec, idx[F_DATE], "store and date listed twice");
		v[F_STORE] = load_store_datum(ls, store);
		n[F_STORE] = false;
		v[F_DATE] = DateADTGetDatum(day);
		n[F_DATE] = false;
		for (int c = F_TEMPERATURE; c <= F_UNEMPLOYMENT; c++)
		{
			double		x;

			n[c] = !load_side_float(r, &rec, idx[c], &x);
			v[c] = Float8GetDatum(x);
		}
		n[F_HOLIDAY] = !load_side_flag(r, &rec, idx[F_HOLIDAY], &holiday);
		v[F_HOLIDAY] = BoolGetDatum(holiday);
		load_batch_add(batch, v, n);
	}
	load_note_side_rows(ls, "store_periods", load_batch_insert(ls, batch));
}

static void
load_walmart_train(LoadState *ls)
{
	int			idx[T_NCOLS];
	CsvReader  *r = load_open_csv(ls, "train.csv", train_columns, T_NCOLS, idx);
	CsvRecord	rec;

	while (load_next(ls, r, &rec))
	{
		SalesWriter *w = ls->writer;
		int32		store,
					dept,
					day;
		double		net;
		bool		holiday,
					holiday_null;

		store = load_field_store(ls, r, &rec, idx[T_STORE], true);
		if (store < 0)
			continue;
		dept = load_field_product(ls, r, &rec, idx[T_DEPT]);
		if (dept < 0)
			continue;
		if (!load_field_date(ls, r, &rec, idx[T_DATE], DATE_FORMAT_ISO, &day))
			continue;
		if (!load_field_quantity(ls, r, &rec, idx[T_SALES], &net))
			continue;
		if (!load_field_flag(ls, r, &rec, idx[T_HOLIDAY], &holiday, &holiday_null))
			continue;
		if (holiday_null)
		{
			load_reject(ls, REJECT_BAD_FLAG, r, &rec, idx[T_HOLIDAY], "IsHoliday is empty");
			continue;
		}
		if (!load_claim_key(ls, r, &rec, store, dept, day))
			continue;

		sales_writer_row_init(w);
		sales_set_float8(w, SALES_QUANTITY, net);
		w->values[SALES_CATEGORY] = load_product_datum(ls, dept);
		w->nulls[SALES_CATEGORY] = false;
		sales_set_bool(w, SALES_IS_HOLIDAY, holiday);
		sales_set_float8(w, SALES_RETURNS_ADJUSTMENT, net < 0 ? net : 0.0);
		sales_set_bool(w, SALES_IS_RETURN_WEEK, net < 0);
		load_write_row(ls, store, dept, day);
	}
}

static void
load_walmart(LoadState *ls)
{
	load_phase(ls, "side_files");
	load_walmart_stores(ls);
	load_walmart_features(ls);
	load_phase(ls, "sales");
	load_walmart_train(ls);
}
