/*
 * load_seed.c
 *	  Owns the seed family (the reference's synthetic seed transactions:
 *	  transactions/DAILY_SALES_*.csv): transaction-level rows aggregated to
 *	  store x item x day before they reach shelfops.sales.
 *
 * Several transactions of one item in one store on one day are the normal
 * case, not duplicates: their quantities are summed (a TRANS_TYPE of RETURN
 * or REFUND counts negative), UNIT_PRICE is averaged over the rows that have
 * one, and the merged rows are counted as aggregated_rows in the load report.
 * The aggregation is a hash table keyed on (store, item, day).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/hsearch.h"

#include "parse.h"
#include "load.h"

static void load_seed(LoadState *ls);

static const char *const seed_detect[] = {"transactions/", NULL};
static const char *const seed_required[] = {NULL};

const LoadFamily load_family_seed = {
	.name = "seed",
	.frequency = "daily",
	.country_code = "US",
	.grain = "store x item x day",
	.target_unit = "units",
	.detect_files = seed_detect,
	.required_files = seed_required,
	.load = load_seed,
};

enum
{
	T_STORE, T_ITEM, T_QTY, T_DATE, T_NCOLS
};
static const char *const transaction_columns[T_NCOLS] = {"STORE_NBR", "ITEM_NBR", "QTY_SOLD", "TRANS_DATE"};

typedef struct SeedKey
{
	int32		store;
	int32		item;
	int32		day;
} SeedKey;

typedef struct SeedCell
{
	SeedKey		key;
	double		quantity;
	double		price_sum;
	int64		price_rows;
} SeedCell;

/* TRANS_TYPE: empty or SALE = +1, RETURN or REFUND = -1, other = 0 (reject). */
static int
transaction_sign(const char *s, size_t len)
{
	char		buf[16];

	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0)
		return 1;
	if (len >= sizeof(buf))
		return 0;
	for (size_t i = 0; i < len; i++)
		buf[i] = pg_ascii_toupper((unsigned char) s[i]);
	buf[len] = '\0';
	if (strcmp(buf, "SALE") == 0)
		return 1;
	if (strcmp(buf, "RETURN") == 0 || strcmp(buf, "REFUND") == 0)
		return -1;
	return 0;
}

static void
read_transactions(LoadState *ls, const char *relname, HTAB *cells, uint64 *accepted)
{
	int			idx[T_NCOLS];
	CsvReader  *r = load_open_csv(ls, relname, transaction_columns, T_NCOLS, idx);
	int			price_col = csv_reader_find_column(r, "UNIT_PRICE");
	int			type_col = csv_reader_find_column(r, "TRANS_TYPE");
	CsvRecord	rec;

	while (load_next(ls, r, &rec))
	{
		SeedKey		key;
		SeedCell   *cell;
		double		qty,
					price = 0;
		bool		price_null = true,
					found;
		int			sign = 1;

		key.store = load_field_store(ls, r, &rec, idx[T_STORE], false);
		if (key.store < 0)
			continue;
		key.item = load_field_product(ls, r, &rec, idx[T_ITEM]);
		if (key.item < 0)
			continue;
		if (!load_field_date(ls, r, &rec, idx[T_DATE], DATE_FORMAT_ISO_TIMESTAMP, &key.day))
			continue;
		if (!load_field_quantity(ls, r, &rec, idx[T_QTY], &qty))
			continue;
		if (type_col >= 0)
		{
			sign = transaction_sign(rec.fields[type_col], rec.lengths[type_col]);
			if (sign == 0)
			{
				load_reject(ls, REJECT_BAD_FLAG, r, &rec, type_col,
							"TRANS_TYPE must be SALE, RETURN, REFUND or empty");
				continue;
			}
		}
		if (price_col >= 0)
		{
			if (!load_field_float(ls, r, &rec, price_col, &price, &price_null))
				continue;
			if (!price_null && price < 0)
			{
				load_reject(ls, REJECT_BAD_NUMBER, r, &rec, price_col, "UNIT_PRICE is negative");
				continue;
			}
		}

		cell = hash_search(cells, &key, HASH_ENTER, &found);
		if (!found)
		{
			cell->quantity = 0;
			cell->price_sum = 0;
			cell->price_rows = 0;
		}
		cell->quantity += sign < 0 ? -fabs(qty) : qty;
		if (!price_null)
		{
			cell->price_sum += price;
			cell->price_rows++;
		}
		(*accepted)++;
	}
}

static void
load_seed(LoadState *ls)
{
	HASHCTL		ctl;
	HTAB	   *cells;
	HASH_SEQ_STATUS seq;
	SeedCell   *cell;
	List	   *files;
	ListCell   *lc;
	uint64		accepted = 0;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(SeedKey);
	ctl.entrysize = sizeof(SeedCell);
	ctl.hcxt = ls->cxt;
	cells = hash_create("shelfops load seed cells", 65536, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	load_phase(ls, "read");
	files = load_list_files(ls, "transactions", "DAILY_SALES_");
	foreach(lc, files)
		read_transactions(ls, (const char *) lfirst(lc), cells, &accepted);

	load_phase(ls, "sales");
	ls->aggregated_rows = accepted - hash_get_num_entries(cells);
	hash_seq_init(&seq, cells);
	while ((cell = hash_seq_search(&seq)) != NULL)
	{
		SalesWriter *w = ls->writer;

		CHECK_FOR_INTERRUPTS();
		sales_writer_row_init(w);
		sales_set_float8(w, SALES_QUANTITY, cell->quantity);
		w->values[SALES_CATEGORY] = load_product_datum(ls, cell->key.item);
		w->nulls[SALES_CATEGORY] = false;
		if (cell->price_rows > 0)
			sales_set_float8(w, SALES_UNIT_PRICE, cell->price_sum / (double) cell->price_rows);
		load_write_row(ls, cell->key.store, cell->key.item, cell->key.day);
	}
}
