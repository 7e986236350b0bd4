/*
 * load_favorita.c
 *	  Owns the Favorita family (Kaggle "Store Sales - Time Series Forecasting",
 *	  Corporacion Favorita, Ecuador): stores.csv into shelfops.stores,
 *	  holidays_events.csv into shelfops.calendar_events, oil.csv into
 *	  shelfops.daily_indicators, and train.csv into shelfops.sales at
 *	  store x family x day grain.
 *
 * Holidays apply by locale, not nationally to every store: a National event
 * applies to every store, a Regional one to the stores of that state
 * (locale_name = stores.state), a Local one to the stores of that city
 * (locale_name = stores.city).  A row with transferred = True was moved and is
 * not observed on its date; the day it moved to has its own row of type
 * Transfer.  Holiday, Transfer, Additional and Bridge days are days off
 * (is_holiday); Event days (e.g. Black Friday, the 2016 earthquake) and Work
 * Day rows (a weekend day worked to make up a bridge) are kept as the day's
 * holiday_type without the flag, so features can tell them apart.
 * onpromotion is a count of promoted items and is kept as promo_count.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/date.h"

#include "parse.h"
#include "load.h"

static void load_favorita(LoadState *ls);

static const char *const favorita_detect[] = {"train.csv", "holidays_events.csv", NULL};
static const char *const favorita_required[] = {"stores.csv", "oil.csv", NULL};

const LoadFamily load_family_favorita = {
	.name = "favorita",
	.frequency = "daily",
	.country_code = "EC",
	.grain = "store x family x day",
	.target_unit = "units",
	.detect_files = favorita_detect,
	.required_files = favorita_required,
	.load = load_favorita,
};

typedef enum EventLocale
{
	LOCALE_NATIONAL,
	LOCALE_REGIONAL,
	LOCALE_LOCAL
} EventLocale;

typedef struct FavoritaEvent
{
	int32		day;
	EventLocale locale;
	bool		day_off;		/* Holiday, Transfer, Additional, Bridge */
	char	   *type;
	char	   *locale_name;
} FavoritaEvent;

typedef struct FavoritaStore
{
	char	   *city;
	char	   *state;
} FavoritaStore;

typedef struct FavoritaContext
{
	FavoritaStore *stores;		/* by store index */
	int			nstores;
	FavoritaEvent *events;		/* observed events (not transferred), by day */
	int			nevents;
} FavoritaContext;

/* stores.csv */
enum
{
	S_STORE, S_CITY, S_STATE, S_TYPE, S_CLUSTER, S_NCOLS
};
static const char *const store_columns[S_NCOLS] = {"store_nbr", "city", "state", "type", "cluster"};
static const char *const stores_table_columns[] = {"store_id", "city", "state", "store_type", "cluster"};
static const Oid stores_table_types[] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID};

/* holidays_events.csv */
enum
{
	H_DATE, H_TYPE, H_LOCALE, H_LOCALE_NAME, H_DESCRIPTION, H_TRANSFERRED, H_NCOLS
};
static const char *const holiday_columns[H_NCOLS] = {
	"date", "type", "locale", "locale_name", "description", "transferred"
};
static const char *const events_table_columns[] = {
	"event_no", "event_date", "event_type", "locale", "locale_name", "description", "transferred"
};
static const Oid events_table_types[] = {
	INT4OID, DATEOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID
};

/* oil.csv */
enum
{
	O_DATE, O_PRICE, O_NCOLS
};
static const char *const oil_columns[O_NCOLS] = {"date", "dcoilwtico"};
static const char *const indicators_table_columns[] = {"indicator", "day", "value"};
static const Oid indicators_table_types[] = {TEXTOID, DATEOID, FLOAT8OID};

/* train.csv */
enum
{
	T_ID, T_DATE, T_STORE, T_FAMILY, T_SALES, T_PROMO, T_NCOLS
};
static const char *const train_columns[T_NCOLS] = {
	"id", "date", "store_nbr", "family", "sales", "onpromotion"
};

static char *
side_cstring(CsvReader *r, const CsvRecord *rec, int col, const char *what)
{
	Datum		value;

	if (!load_side_text(r, rec, col, &value))
		load_side_fail(r, rec, col, "%s is empty", what);
	return TextDatumGetCString(value);
}

static void
load_favorita_stores(LoadState *ls, FavoritaContext *fc)
{
	int			idx[S_NCOLS];
	CsvReader  *r = load_open_csv(ls, "stores.csv", store_columns, S_NCOLS, idx);
	LoadBatch  *batch = load_batch_begin(ls, "stores", S_NCOLS, stores_table_columns, stores_table_types);
	int			cap = 64;
	CsvRecord	rec;

	fc->stores = palloc0(sizeof(FavoritaStore) * cap);
	while (load_next_side(ls, r, &rec))
	{
		Datum		v[S_NCOLS];
		bool		n[S_NCOLS];
		int32		store,
					cluster;

		if (!load_register_store(ls, rec.fields[idx[S_STORE]], (int) rec.lengths[idx[S_STORE]], &store))
			load_side_fail(r, &rec, idx[S_STORE], "store listed twice");
		while (store >= cap)
		{
			fc->stores = repalloc(fc->stores, sizeof(FavoritaStore) * cap * 2);
			memset(fc->stores + cap, 0, sizeof(FavoritaStore) * cap);
			cap *= 2;
		}
		fc->stores[store].city = side_cstring(r, &rec, idx[S_CITY], "city");
		fc->stores[store].state = side_cstring(r, &rec, idx[S_STATE], "state");
		fc->nstores = Max(fc->nstores, store + 1);

		v[0] = load_store_datum(ls, store);
		n[0] = false;
		v[1] = CStringGetTextDatum(fc->stores[store].city);
		n[1] = false;
		v[2] = CStringGetTextDatum(fc->stores[store].state);
		n[2] = false;
		n[3] = !load_side_text(r, &rec, idx[S_TYPE], &v[3]);
		n[4] = !load_side_int(r, &rec, idx[S_CLUSTER], &cluster);
		v[4] = Int32GetDatum(cluster);
		load_batch_add(batch, v, n);
	}
	load_note_side_rows(ls, "stores", load_batch_insert(ls, batch));
}

static int
event_day_cmp(const void *a, const void *b)
{
	const FavoritaEvent *x = a;
	const FavoritaEvent *y = b;

	return (x->day > y->day) - (x->day < y->day);
}

static void
load_favorita_holidays(LoadState *ls, FavoritaContext *fc)
{
	int			idx[H_NCOLS];
	CsvReader  *r = load_open_csv(ls, "holidays_events.csv", holiday_columns, H_NCOLS, idx);
	LoadBatch  *batch = load_batch_begin(ls, "calendar_events", 7, events_table_columns, events_table_types);
	int			cap = 512;
	int			event_no = 0;
	CsvRecord	rec;

	fc->events = palloc(sizeof(FavoritaEvent) * cap);
	while (load_next_side(ls, r, &rec))
	{
		Datum		v[7];
		bool		n[7] = {false, false, false, false, false, false, false};
		int32		day;
		bool		transferred;
		char	   *type;
		char	   *locale;
		EventLocale loc;

		if (!load_side_date(r, &rec, idx[H_DATE], &day))
			load_side_fail(r, &rec, idx[H_DATE], "date is empty");
		type = side_cstring(r, &rec, idx[H_TYPE], "type");
		if (strcmp(type, "Holiday") != 0 && strcmp(type, "Transfer") != 0 &&
			strcmp(type, "Additional") != 0 && strcmp(type, "Bridge") != 0 &&
			strcmp(type, "Work Day") != 0 && strcmp(type, "Event") != 0)
			load_side_fail(r, &rec, idx[H_TYPE],
						   "type \"%s\" is not one of Holiday, Transfer, Additional, Bridge, Work Day, Event",
						   type);
		locale = side_cstring(r, &rec, idx[H_LOCALE], "locale");
		if (strcmp(locale, "National") == 0)
			loc = LOCALE_NATIONAL;
		else if (strcmp(locale, "Regional") == 0)
			loc = LOCALE_REGIONAL;
		else if (strcmp(locale, "Local") == 0)
			loc = LOCALE_LOCAL;
		else
			load_side_fail(r, &rec, idx[H_LOCALE],
						   "locale \"%s\" is not one of National, Regional, Local", locale);
		if (!load_side_flag(r, &rec, idx[H_TRANSFERRED], &transferred))
			load_side_fail(r, &rec, idx[H_TRANSFERRED], "transferred is empty");

		v[0] = Int32GetDatum(++event_no);
		v[1] = DateADTGetDatum(day);
		v[2] = CStringGetTextDatum(type);
		v[3] = CStringGetTextDatum(locale);
		v[4] = CStringGetTextDatum(side_cstring(r, &rec, idx[H_LOCALE_NAME], "locale_name"));
		n[5] = !load_side_text(r, &rec, idx[H_DESCRIPTION], &v[5]);
		v[6] = BoolGetDatum(transferred);
		load_batch_add(batch, v, n);

		/* A transferred holiday is not observed on its date. */
		if (transferred)
			continue;
		if (fc->nevents == cap)
		{
			cap *= 2;
			fc->events = repalloc(fc->events, sizeof(FavoritaEvent) * cap);
		}
		fc->events[fc->nevents].day = day;
		fc->events[fc->nevents].locale = loc;
		fc->events[fc->nevents].type = type;
		fc->events[fc->nevents].locale_name = TextDatumGetCString(v[4]);
		fc->events[fc->nevents].day_off = strcmp(type, "Work Day") != 0 && strcmp(type, "Event") != 0;
		fc->nevents++;
	}
	qsort(fc->events, fc->nevents, sizeof(FavoritaEvent), event_day_cmp);
	load_note_side_rows(ls, "calendar_events", load_batch_insert(ls, batch));
}

static void
load_favorita_oil(LoadState *ls)
{
	int			idx[O_NCOLS];
	CsvReader  *r = load_open_csv(ls, "oil.csv", oil_columns, O_NCOLS, idx);
	LoadBatch  *batch = load_batch_begin(ls, "daily_indicators", 3, indicators_table_columns,
										 indicators_table_types);
	Datum		name = CStringGetTextDatum("oil_wti");
	LoadKeySet *seen = load_keyset_create(ls, "oil.csv dates");
	CsvRecord	rec;

	while (load_next_side(ls, r, &rec))
	{
		Datum		v[3];
		bool		n[3] = {false, false, false};
		int32		day;
		double		price;

		if (!load_side_date(r, &rec, idx[O_DATE], &day))
			load_side_fail(r, &rec, idx[O_DATE], "date is empty");
		if (!load_keyset_add(seen, day, 0, 0))
			load_side_fail(r, &rec, idx[O_DATE], "date listed twice");
		v[0] = name;
		v[1] = DateADTGetDatum(day);
		/* The first value of the real file is empty: unknown, not zero. */
		n[2] = !load_side_float(r, &rec, idx[O_PRICE], &price);
		v[2] = Float8GetDatum(price);
		load_batch_add(batch, v, n);
	}
	load_note_side_rows(ls, "daily_indicators", load_batch_insert(ls, batch));
}

/*
 * The strongest event observed by a store on a day: a day off beats an Event
 * or Work Day, and a more local event beats a wider one.  NULL if none.
 */
static const FavoritaEvent *
store_event(const FavoritaContext *fc, int32 store, int32 day)
{
	const FavoritaEvent *best = NULL;
	int			lo = 0,
				hi = fc->nevents;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (fc->events[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int i = lo; i < fc->nevents && fc->events[i].day == day; i++)
	{
		const FavoritaEvent *e = &fc->events[i];
		bool		applies;

		switch (e->locale)
		{
			case LOCALE_NATIONAL:
				applies = true;
				break;
			case LOCALE_REGIONAL:
				applies = strcmp(e->locale_name, fc->stores[store].state) == 0;
				break;
			default:
				applies = strcmp(e->locale_name, fc->stores[store].city) == 0;
				break;
		}
		if (!applies)
			continue;
		if (best == NULL ||
			(e->day_off && !best->day_off) ||
			(e->day_off == best->day_off && e->locale > best->locale))
			best = e;
	}
	return best;
}

static void
load_favorita_train(LoadState *ls, FavoritaContext *fc)
{
	int			idx[T_NCOLS];
	CsvReader  *r = load_open_csv(ls, "train.csv", train_columns, T_NCOLS, idx);
	CsvRecord	rec;

	while (load_next(ls, r, &rec))
	{
		SalesWriter *w = ls->writer;
		int32		store,
					product,
					day;
		double		sales,
					promo;
		bool		promo_null;
		const FavoritaEvent *event;

		store = load_field_store(ls, r, &rec, idx[T_STORE], true);
		if (store < 0)
			continue;
		product = load_field_product(ls, r, &rec, idx[T_FAMILY]);
		if (product < 0)
			continue;
		if (!load_field_date(ls, r, &rec, idx[T_DATE], DATE_FORMAT_ISO, &day))
			continue;
		if (!load_field_quantity(ls, r, &rec, idx[T_SALES], &sales))
			continue;
		if (!load_field_float(ls, r, &rec, idx[T_PROMO], &promo, &promo_null))
			continue;
		if (!promo_null && promo < 0)
		{
			load_reject(ls, REJECT_BAD_NUMBER, r, &rec, idx[T_PROMO], "onpromotion is negative");
			continue;
		}
		if (!load_claim_key(ls, r, &rec, store, product, day))
			continue;

		sales_writer_row_init(w);
		sales_set_float8(w, SALES_QUANTITY, sales);
		w->values[SALES_CATEGORY] = load_product_datum(ls, product);
		w->nulls[SALES_CATEGORY] = false;
		if (!promo_null)
		{
			sales_set_float8(w, SALES_PROMO_COUNT, promo);
			sales_set_bool(w, SALES_IS_PROMOTIONAL, promo > 0);
		}
		event = store_event(fc, store, day);
		if (event != NULL)
		{
			sales_set_bool(w, SALES_IS_HOLIDAY, event->day_off);
			sales_set_text(w, SALES_HOLIDAY_TYPE, event->type, strlen(event->type));
		}
		load_write_row(ls, store, product, day);
	}
}

static void
load_favorita(LoadState *ls)
{
	FavoritaContext fc = {0};

	load_phase(ls, "side_files");
	load_favorita_stores(ls, &fc);
	load_favorita_holidays(ls, &fc);
	load_favorita_oil(ls);
	load_phase(ls, "sales");
	load_favorita_train(ls, &fc);
}
