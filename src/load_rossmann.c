/*
 * load_rossmann.c
 *	  Owns the Rossmann family (Kaggle "Rossmann Store Sales"): store.csv into
 *	  shelfops.stores, train.csv into shelfops.sales at store x day grain.
 *
 * Sales is money (target_unit 'currency').  Closed days are kept (is_open
 * false).  DayOfWeek must be the ISO weekday of Date, else the row is a
 * day_of_week_mismatch reject.  A store missing from store.csv is an
 * unknown_store reject.  See docs/loading.md for the mapping table.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "parse.h"
#include "load.h"

static void load_rossmann(LoadState *ls);

static const char *const rossmann_detect[] = {"train.csv", "store.csv", NULL};
static const char *const rossmann_required[] = {NULL};

const LoadFamily load_family_rossmann = {
	.name = "rossmann",
	.frequency = "daily",
	.country_code = "DE",
	.grain = "store x day",
	.target_unit = "currency",
	.detect_files = rossmann_detect,
	.required_files = rossmann_required,
	.load = load_rossmann,
};

enum
{
	S_STORE, S_TYPE, S_ASSORTMENT, S_COMP_DIST, S_COMP_MONTH, S_COMP_YEAR,
	S_PROMO2, S_PROMO2_WEEK, S_PROMO2_YEAR, S_PROMO_INTERVAL, S_NCOLS
};
static const char *const store_columns[S_NCOLS] = {
	"Store", "StoreType", "Assortment", "CompetitionDistance", "CompetitionOpenSinceMonth",
	"CompetitionOpenSinceYear", "Promo2", "Promo2SinceWeek", "Promo2SinceYear", "PromoInterval"
};

enum
{
	T_STORE, T_DOW, T_DATE, T_SALES, T_CUSTOMERS, T_OPEN, T_PROMO, T_STATE_HOLIDAY,
	T_SCHOOL_HOLIDAY, T_NCOLS
};
static const char *const train_columns[T_NCOLS] = {
	"Store", "DayOfWeek", "Date", "Sales", "Customers", "Open", "Promo", "StateHoliday", "SchoolHoliday"
};

enum
{
	O_STORE_ID, O_STORE_TYPE, O_ASSORTMENT, O_COMP_DIST, O_COMP_SINCE, O_PROMO2, O_PROMO2_SINCE,
	O_PROMO_INTERVAL, O_ATTRIBUTES, O_NCOLS
};
static const char *const stores_table_columns[O_NCOLS] = {
	"store_id", "store_type", "assortment", "competition_distance", "competition_open_since",
	"promo2", "promo2_since", "promo_interval", "attributes"
};
static const Oid stores_table_types[O_NCOLS] = {
	TEXTOID, TEXTOID, TEXTOID, FLOAT8OID, DATEOID, BOOLOID, DATEOID, TEXTOID, JSONBOID
};

/* Monday of ISO week `week` of ISO year `year`. */
static int32
iso_week_monday(int year, int week)
{
	int32		jan4 = calendar_day_from_ymd(year, 1, 4);

	return jan4 - (calendar_iso_day_of_week(jan4) - 1) + 7 * (week - 1);
}

/* Columns of store.csv the table has no column for, as a jsonb object. */
static Datum
extra_attributes(CsvReader *r, const CsvRecord *rec, const int *idx)
{
	StringInfoData buf;
	const char *const *names;
	int			ncols;
	bool		first = true;

	names = csv_reader_header(r, &ncols);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int c = 0; c < ncols; c++)
	{
		bool		mapped = false;
		Datum		value;

		for (int i = 0; i < S_NCOLS; i++)
			mapped |= (idx[i] == c);
		if (mapped)
			continue;
		if (!first)
			appendStringInfoString(&buf, ", ");
		first = false;
		escape_json(&buf, names[c]);
		appendStringInfoString(&buf, ": ");
		if (load_side_text(r, rec, c, &value))
			escape_json(&buf, TextDatumGetCString(value));
		else
			appendStringInfoString(&buf, "null");
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

static void
load_rossmann_stores(LoadState *ls)
{
	int			idx[S_NCOLS];
	CsvReader  *r = load_open_csv(ls, "store.csv", store_columns, S_NCOLS, idx);
	LoadBatch  *batch = load_batch_begin(ls, "stores", O_NCOLS, stores_table_columns, stores_table_types);
	CsvRecord	rec;

	while (load_next_side(ls, r, &rec))
	{
		Datum		v[O_NCOLS];
		bool		n[O_NCOLS];
		int32		store;
		double		dist;
		int32		month,
					year,
					week;
		bool		has_month,
					has_year,
					promo2;

		if (!load_register_store(ls, rec.fields[idx[S_STORE]], (int) rec.lengths[idx[S_STORE]], &store))
			load_side_fail(r, &rec, idx[S_STORE], "store listed twice");
		v[O_STORE_ID] = load_store_datum(ls, store);
		n[O_STORE_ID] = false;
		n[O_STORE_TYPE] = !load_side_text(r, &rec, idx[S_TYPE], &v[O_STORE_TYPE]);
		n[O_ASSORTMENT] = !load_side_text(r, &rec, idx[S_ASSORTMENT], &v[O_ASSORTMENT]);

		n[O_COMP_DIST] = !load_side_float(r, &rec, idx[S_COMP_DIST], &dist);
		if (!n[O_COMP_DIST] && dist < 0)
			load_side_fail(r, &rec, idx[S_COMP_DIST], "competition distance is negative");
		v[O_COMP_DIST] = Float8GetDatum(dist);

		has_month = load_side_int(r, &rec, idx[S_COMP_MONTH], &month);
		has_year = load_side_int(r, &rec, idx[S_COMP_YEAR], &year);
		if (has_month != has_year)
			load_side_fail(r, &rec, idx[has_month ? S_COMP_YEAR : S_COMP_MONTH],
						   "CompetitionOpenSinceMonth and CompetitionOpenSinceYear must both be given or both be empty");
		n[O_COMP_SINCE] = !has_month;
		if (has_month)
		{
			if (!calendar_valid_ymd(year, month, 1))
				load_side_fail(r, &rec, idx[S_COMP_MONTH], "no such month: %d-%d", year, month);
			v[O_COMP_SINCE] = DateADTGetDatum(calendar_day_from_ymd(year, month, 1));
		}

		n[O_PROMO2] = !load_side_flag(r, &rec, idx[S_PROMO2], &promo2);
		v[O_PROMO2] = BoolGetDatum(promo2);

		has_month = load_side_int(r, &rec, idx[S_PROMO2_WEEK], &week);
		has_year = load_side_int(r, &rec, idx[S_PROMO2_YEAR], &year);
		if (has_month != has_year)
			load_side_fail(r, &rec, idx[has_month ? S_PROMO2_YEAR : S_PROMO2_WEEK],
						   "Promo2SinceWeek and Promo2SinceYear must both be given or both be empty");
		n[O_PROMO2_SINCE] = !has_month;
		if (has_month)
		{
			if (week < 1 || week > 53 || year < 2 || year > 9998)
				load_side_fail(r, &rec, idx[S_PROMO2_WEEK], "no such ISO week: %d-W%d", year, week);
			v[O_PROMO2_SINCE] = DateADTGetDatum(iso_week_monday(year, week));
		}

		n[O_PROMO_INTERVAL] = !load_side_text(r, &rec, idx[S_PROMO_INTERVAL], &v[O_PROMO_INTERVAL]);
		v[O_ATTRIBUTES] = extra_attributes(r, &rec, idx);
		n[O_ATTRIBUTES] = false;
		load_batch_add(batch, v, n);
	}
	load_note_side_rows(ls, "stores", load_batch_insert(ls, batch));
}

static void
load_rossmann_train(LoadState *ls)
{
	int			idx[T_NCOLS];
	CsvReader  *r = load_open_csv(ls, "train.csv", train_columns, T_NCOLS, idx);
	int32		all = load_product_constant(ls, "all");
	Datum		all_datum = load_product_datum(ls, all);
	Datum		holiday_datum[3];
	CsvRecord	rec;

	holiday_datum[0] = CStringGetTextDatum("a");
	holiday_datum[1] = CStringGetTextDatum("b");
	holiday_datum[2] = CStringGetTextDatum("c");

	while (load_next(ls, r, &rec))
	{
		SalesWriter *w = ls->writer;
		int32		store,
					day,
					dow,
					customers;
		double		sales;
		bool		dow_null,
					customers_null,
					open,
					open_null,
					promo,
					promo_null,
					school,
					school_null;
		const char *sh;
		size_t		shlen;
		int			holiday;	/* -1 none, 0..2 = a..c */

		store = load_field_store(ls, r, &rec, idx[T_STORE], true);
		if (store < 0)
			continue;
		if (!load_field_date(ls, r, &rec, idx[T_DATE], DATE_FORMAT_ISO, &day))
			continue;
		if (!load_field_int(ls, r, &rec, idx[T_DOW], &dow, &dow_null))
			continue;
		if (dow_null || dow != calendar_iso_day_of_week(day))
		{
			load_reject(ls, REJECT_DAY_OF_WEEK, r, &rec, idx[T_DOW],
						psprintf("Date is ISO weekday %d", calendar_iso_day_of_week(day)));
			continue;
		}
		if (!load_field_quantity(ls, r, &rec, idx[T_SALES], &sales))
			continue;
		if (!load_field_int(ls, r, &rec, idx[T_CUSTOMERS], &customers, &customers_null))
			continue;
		if (!load_field_flag(ls, r, &rec, idx[T_OPEN], &open, &open_null))
			continue;
		if (!load_field_flag(ls, r, &rec, idx[T_PROMO], &promo, &promo_null))
			continue;
		if (promo_null)
		{
			load_reject(ls, REJECT_BAD_FLAG, r, &rec, idx[T_PROMO], "Promo is empty");
			continue;
		}
		if (!load_field_flag(ls, r, &rec, idx[T_SCHOOL_HOLIDAY], &school, &school_null))
			continue;

		sh = rec.fields[idx[T_STATE_HOLIDAY]];
		shlen = rec.lengths[idx[T_STATE_HOLIDAY]];
		while (shlen > 0 && (*sh == ' ' || *sh == '\t'))
			sh++, shlen--;
		while (shlen > 0 && (sh[shlen - 1] == ' ' || sh[shlen - 1] == '\t'))
			shlen--;
		if (shlen == 1 && sh[0] == '0')
			holiday = -1;
		else if (shlen == 1 && sh[0] >= 'a' && sh[0] <= 'c')
			holiday = sh[0] - 'a';
		else
		{
			load_reject(ls, REJECT_BAD_FLAG, r, &rec, idx[T_STATE_HOLIDAY],
						"StateHoliday must be 0, a, b or c");
			continue;
		}

		if (!load_claim_key(ls, r, &rec, store, all, day))
			continue;

		sales_writer_row_init(w);
		sales_set_float8(w, SALES_QUANTITY, sales);
		w->values[SALES_CATEGORY] = all_datum;
		w->nulls[SALES_CATEGORY] = false;
		sales_set_float8(w, SALES_PROMO_COUNT, promo ? 1.0 : 0.0);
		sales_set_bool(w, SALES_IS_PROMOTIONAL, promo);
		sales_set_bool(w, SALES_IS_HOLIDAY, holiday >= 0);
		if (holiday >= 0)
		{
			w->values[SALES_HOLIDAY_TYPE] = holiday_datum[holiday];
			w->nulls[SALES_HOLIDAY_TYPE] = false;
		}
		if (!school_null)
			sales_set_bool(w, SALES_IS_SCHOOL_HOLIDAY, school);
		if (!open_null)
			sales_set_bool(w, SALES_IS_OPEN, open);
		if (!customers_null)
			sales_set_int32(w, SALES_CUSTOMERS, customers);
		load_write_row(ls, store, all, day);
	}
}

static void
load_rossmann(LoadState *ls)
{
	load_phase(ls, "side_files");
	load_rossmann_stores(ls);
	load_phase(ls, "sales");
	load_rossmann_train(ls);
}
