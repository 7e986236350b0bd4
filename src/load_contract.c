/*
 * load_contract.c
 *	  Owns the contract family: a generic CSV export of a new retailer read
 *	  through a validated tenant contract profile (contract.c), mapped field by
 *	  field to the canonical contract and aggregated to store x product x day.
 *
 * Per row, in this order (reference §1.8, with its weaknesses fixed):
 * field_map (and id_columns) picks the source column of each canonical field;
 * a nested/JSON value fails the load (a custom adapter is needed); a missing
 * value takes its null_policy fill; the text is coerced per type_map (the date
 * with date_format_hint); unit_map scales numbers; id_normalization_rules
 * rewrite ids; the quantity sign policy applies (non_negative rejects a
 * negative quantity, clip_negative clips and counts it,
 * allow_negative_returns signs by transaction_type); the date follows
 * timezone_handling; store and product are checked against the masters when
 * the directory has them.  Accepted rows are then summed per (store, product,
 * day): several transactions of a day are the normal case, not duplicates.
 * Only when dedupe_keys name a transaction_id are rows repeating an earlier
 * row on all dedupe keys counted as duplicate_key rejects.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>
#include <sys/stat.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "contract.h"
#include "load.h"
#include "parse.h"

static void load_contract(LoadState *ls);

static const char *const contract_detect[] = {NULL};
static const char *const contract_required[] = {NULL};

const LoadFamily load_family_contract = {
	.name = "contract",
	.frequency = "daily",
	.country_code = "unknown",	/* the contract's country_code replaces it */
	.grain = "store x product x day",
	.target_unit = "units",
	.detect_files = contract_detect,
	.required_files = contract_required,
	.load = load_contract,
};

/* Transaction files, in order of preference (reference §1.9). */
static const char *const preferred_files[] = {"transactions.csv", "sales.csv", "daily_sales.csv", NULL};
static const char *const store_masters[] = {"stores.csv", "store_master.csv", NULL};
static const char *const product_masters[] = {"products.csv", "product_master.csv", "items.csv", NULL};
static const char *const store_id_columns[] = {"store_id", "store_code", "location_id", "store_nbr", NULL};
static const char *const product_id_columns[] = {"product_id", "sku", "item_nbr", "gtin", "upc", NULL};

typedef struct CellKey
{
	int32		store;
	int32		product;
	int32		day;
} CellKey;

typedef struct Cell
{
	CellKey		key;
	double		quantity;
	double		cost_sum;
	int64		cost_rows;
	double		price_sum;
	int64		price_rows;
	bool		promotional;
	bool		holiday;
	Datum		category;		/* first non-null, or 0 */
} Cell;

typedef struct SeenEntry
{
	char	   *key;			/* dynahash key: the pointer; compared by content */
} SeenEntry;

typedef struct ContractLoad
{
	LoadState  *ls;
	const ContractProfile *c;
	bool		store_master;
	bool		product_master;
	HTAB	   *cells;
	HTAB	   *seen;			/* dedupe on transaction ids, or NULL */
	MemoryContext rowcxt;
	int32		today;			/* UTC */
	int32		max_day;		/* today + max_future_days */
	int32		min_day;		/* today - max_history_years */
	uint64		accepted;
	uint64		clipped;
	uint64		signed_returns;
	uint64		missing[CF_NFIELDS];	/* missing values per column, before fills */
	uint64		filled[CF_NFIELDS];
	bool		used[CF_NFIELDS];	/* read from some file */
	StringInfoData files;		/* JSON array of transaction file names */
	const char *cur_name;		/* transaction file being read (relative) */
	int64		master_rows[2];
	/* per file */
	int			col[CF_NFIELDS];
} ContractLoad;

/* ---------------------------------------------------------------------------
 * Files
 * --------------------------------------------------------------------------*/

/* "x.csv" or "x.csv.gz" -> "x.csv"; NULL if neither. */
static char *
csv_base(const char *name)
{
	size_t		len = strlen(name);

	if (len > 4 && strcmp(name + len - 4, ".csv") == 0)
		return pstrdup(name);
	if (len > 7 && strcmp(name + len - 7, ".csv.gz") == 0)
		return pnstrdup(name, len - 3);
	return NULL;
}

static int
cmp_names(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

/* Base names (x.csv) of the CSV files of the directory, sorted, unique. */
static List *
list_csv(const char *dir)
{
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	List	   *names = NIL;
	List	   *out = NIL;
	ListCell   *lc;

	while ((de = ReadDir(d, dir)) != NULL)
	{
		char	   *path = psprintf("%s/%s", dir, de->d_name);
		struct stat st;
		char	   *base;

		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (base = csv_base(de->d_name)) != NULL)
			names = lappend(names, base);
	}
	FreeDir(d);
	list_sort(names, cmp_names);
	foreach(lc, names)
		if (out == NIL || strcmp((char *) llast(out), (char *) lfirst(lc)) != 0)
			out = lappend(out, lfirst(lc));
	return out;
}

static bool
in_names(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return true;
	return false;
}

static char *
describe_names(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", (char *) lfirst(lc));
	return buf.len ? buf.data : pstrdup("no CSV file");
}

/* The first of candidates present in names; ERROR when two are. */
static const char *
pick_master(ContractLoad *cl, List *names, const char *const *candidates)
{
	const char *found = NULL;

	for (int i = 0; candidates[i]; i++)
	{
		ListCell   *lc;

		foreach(lc, names)
			if (strcmp((char *) lfirst(lc), candidates[i]) == 0)
			{
				if (found != NULL)
					ereport(ERROR,
							(errcode(ERRCODE_DUPLICATE_FILE),
							 errmsg("directory \"%s\" holds two masters: %s and %s", cl->ls->dir,
									found, candidates[i]),
							 errhint("Keep one of them.")));
				found = candidates[i];
			}
	}
	return found;
}

/* ---------------------------------------------------------------------------
 * Values
 * --------------------------------------------------------------------------*/

/*
 * The per-value rules live in contract_value.c (pure C, fuzzed); these
 * wrappers apply the profile's settings for field f.
 */
static char *
normalise_id(const ContractProfile *c, ContractField f, const char *s, size_t len,
			 size_t *outlen, const char **why)
{
	return contract_value_id(c->type[f] == CT_INT, &c->id_rules[f], s, len, outlen, why);
}

/* The date of a field per date_format_hint and timezone_handling. */
static bool
parse_contract_date(const ContractProfile *c, const char *s, size_t len, int32 *day,
					const char **why)
{
	bool		needs_zone;
	int64_t		utc;
	pg_time_t	t;
	struct pg_tm *tm;

	if (!contract_value_date(c->date_format, c->tz_handling, s, len, day, &needs_zone, &utc, why))
		return false;
	if (!needs_zone)
		return true;
	t = (pg_time_t) (utc + CONTRACT_PG_EPOCH_UNIX_SECONDS);
	tm = pg_localtime(&t, c->tz);
	if (tm == NULL)
	{
		if (why)
			*why = "timestamp out of range for the time zone";
		return false;
	}
	*day = calendar_day_from_ymd(tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);
	return true;
}

/* ---------------------------------------------------------------------------
 * Rows
 * --------------------------------------------------------------------------*/

/*
 * The text of canonical field f in rec after its null_policy: false when the
 * field is missing (no column, or an empty/NA/NULL value) and has no fill.
 * *col is the column to blame in a reject (-1 = whole record).
 */
static bool
field_text(ContractLoad *cl, CsvReader *r, const CsvRecord *rec, ContractField f,
		   const char **s, size_t *len, int *col)
{
	const ContractProfile *c = cl->c;

	*col = cl->col[f];
	if (*col >= 0)
	{
		*s = rec->fields[*col];
		*len = rec->lengths[*col];
		if (!field_is_missing(*s, *len))
		{
			if (contract_value_nested(*s, *len))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("requires_custom_adapter: nested/object value in column %s of %s, line %ld",
								csv_reader_column_name(r, *col + 1), cl->cur_name, rec->line),
						 errdetail("The contract maps this column to %s, and its value looks like JSON: "
								   "%.80s", contract_field_name(f), *s),
						 errhint("Flatten the export to one scalar per column, or load it through a custom adapter.")));
			return true;
		}
		cl->missing[f]++;
	}
	if (c->fill[f] != NULL)
	{
		*s = c->fill[f];
		*len = strlen(*s);
		cl->filled[f]++;
		return true;
	}
	return false;
}

/* A number of field f (type_map int or float, then unit_map). */
static bool
field_number(ContractLoad *cl, CsvReader *r, const CsvRecord *rec, ContractField f,
			 LoadRejectReason bad, double *out, bool *isnull)
{
	const char *s;
	size_t		len;
	int			col;
	const char *why;
	bool		not_finite;

	*isnull = !field_text(cl, r, rec, f, &s, &len, &col);
	if (*isnull)
		return true;
	if (!contract_value_number(cl->c->type[f] == CT_INT, cl->c->multiplier[f], cl->c->divide_by[f],
							   s, len, out, &not_finite, &why))
	{
		if (cl->c->type[f] == CT_INT && !not_finite && why != contract_value_scaled_out_of_range)
			why = psprintf("%s (type_map says int)", why);
		load_reject(cl->ls, not_finite ? REJECT_NOT_FINITE : bad, r, rec, col, why);
		return false;
	}
	return true;
}

static bool
field_flag(ContractLoad *cl, CsvReader *r, const CsvRecord *rec, ContractField f, bool *out)
{
	const char *s;
	size_t		len;
	int			col;
	const char *why;

	*out = false;
	if (!field_text(cl, r, rec, f, &s, &len, &col))
		return true;
	if (!contract_value_flag(cl->c->type[f] == CT_INT, s, len, out, &why))
	{
		if (cl->c->type[f] == CT_INT)
			why = psprintf("%s (type_map says int)", why);
		load_reject(cl->ls, REJECT_BAD_FLAG, r, rec, col, why);
		return false;
	}
	return true;
}

/* Store or product index, -1 after a reject. */
static int32
field_id(ContractLoad *cl, CsvReader *r, const CsvRecord *rec, ContractField f, char **text)
{
	const char *s;
	size_t		len;
	int			col;
	const char *why;
	char	   *id;
	size_t		idlen;

	if (!field_text(cl, r, rec, f, &s, &len, &col))
	{
		load_reject(cl->ls, REJECT_REQUIRED_NULL, r, rec, col,
					psprintf("%s is empty", contract_field_name(f)));
		return -1;
	}
	id = normalise_id(cl->c, f, s, len, &idlen, &why);
	if (id == NULL)
	{
		load_reject(cl->ls, REJECT_BAD_ID, r, rec, col, psprintf("%s (type_map says int)", why));
		return -1;
	}
	*text = id;
	if (f == CF_STORE_ID)
		return load_store_value(cl->ls, r, rec, col, id, idlen, cl->store_master);
	return load_product_value(cl->ls, r, rec, col, id, idlen, cl->product_master);
}

/* Text of an optional text field (category, transaction_*), or NULL. */
static char *
field_plain_text(ContractLoad *cl, CsvReader *r, const CsvRecord *rec, ContractField f,
				 int *col, bool *bad)
{
	const char *s;
	size_t		len;
	const char *why;
	char	   *out;
	size_t		outlen;

	*bad = false;
	if (!field_text(cl, r, rec, f, &s, &len, col))
		return NULL;
	out = normalise_id(cl->c, f, s, len, &outlen, &why);
	if (out == NULL)
	{
		load_reject(cl->ls, REJECT_BAD_FLAG, r, rec, *col, psprintf("%s (type_map says int)", why));
		*bad = true;
		return NULL;
	}
	if (!pg_verifymbstr(out, (int) outlen, true) || memchr(out, '\0', outlen) != NULL)
	{
		load_reject(cl->ls, REJECT_BAD_ID, r, rec, *col, "not valid text in the database encoding");
		*bad = true;
		return NULL;
	}
	return out;
}

/* False, after a duplicate_key reject, when the row repeats an earlier one. */
static bool
claim_transaction(ContractLoad *cl, CsvReader *r, const CsvRecord *rec, const char *key)
{
	bool		found;
	SeenEntry  *e = hash_search(cl->seen, &key, HASH_ENTER, &found);

	if (found)
	{
		load_reject(cl->ls, REJECT_DUPLICATE_KEY, r, rec, -1,
					"repeats an earlier row on every dedupe key (transaction id included)");
		return false;
	}
	e->key = MemoryContextStrdup(cl->ls->cxt, key);
	return true;
}

static void
date_limit_error(ContractLoad *cl, CsvReader *r, const CsvRecord *rec, int32 day, bool future)
{
	const ContractProfile *c = cl->c;
	char	   *date = DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day)));

	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("%s in %s: date %s at line %ld", future ? "date too far in the future" : "history too long",
					cl->cur_name, date, rec->line),
			 future ?
			 errdetail("Observed %d days after today (UTC), allowed at most %g (max_future_days).",
					   day - cl->today, c->max_future_days) :
			 errdetail("Observed %.4f years before today (UTC), allowed at most %g (max_history_years).",
					   (cl->today - day) / 365.25, c->max_history_years),
			 errhint("Fix the file, or raise \"%s\" in the contract's dq_thresholds.",
					 future ? "max_future_days" : "max_history_years")));
}

static void
read_row(ContractLoad *cl, CsvReader *r, const CsvRecord *rec)
{
	const ContractProfile *c = cl->c;
	LoadState  *ls = cl->ls;
	CellKey		key;
	Cell	   *cell;
	bool		found;
	double		qty,
				cost = 0,
				price = 0,
				other;
	bool		qty_null,
				cost_null,
				price_null,
				other_null;
	bool		promo,
				holiday,
				bad;
	char	   *store_text = NULL;
	char	   *product_text = NULL;
	char	   *category = NULL;
	char	   *ttype = NULL;
	char	   *txid = NULL;
	const char *s;
	size_t		len;
	int			col;
	const char *why;

	key.store = field_id(cl, r, rec, CF_STORE_ID, &store_text);
	if (key.store < 0)
		return;
	key.product = field_id(cl, r, rec, CF_PRODUCT_ID, &product_text);
	if (key.product < 0)
		return;
	if (!field_text(cl, r, rec, CF_DATE, &s, &len, &col))
	{
		load_reject(ls, REJECT_REQUIRED_NULL, r, rec, col, "date is empty");
		return;
	}
	if (!parse_contract_date(c, s, len, &key.day, &why))
	{
		load_reject(ls, REJECT_BAD_DATE, r, rec, col,
					c->date_format_hint ? psprintf("%s (date_format_hint %s)", why, c->date_format_hint) : why);
		return;
	}
	if (!field_number(cl, r, rec, CF_QUANTITY, REJECT_BAD_QUANTITY, &qty, &qty_null))
		return;
	if (qty_null)
	{
		load_reject(ls, REJECT_REQUIRED_NULL, r, rec, cl->col[CF_QUANTITY], "quantity is empty");
		return;
	}
	if (!field_number(cl, r, rec, CF_UNIT_COST, REJECT_BAD_NUMBER, &cost, &cost_null) ||
		!field_number(cl, r, rec, CF_UNIT_PRICE, REJECT_BAD_NUMBER, &price, &price_null) ||
		!field_number(cl, r, rec, CF_ON_HAND_QTY, REJECT_BAD_NUMBER, &other, &other_null) ||
		!field_number(cl, r, rec, CF_ON_ORDER_QTY, REJECT_BAD_NUMBER, &other, &other_null))
		return;
	if ((!cost_null && cost < 0) || (!price_null && price < 0))
	{
		load_reject(ls, REJECT_BAD_NUMBER, r, rec, cl->col[!cost_null && cost < 0 ? CF_UNIT_COST : CF_UNIT_PRICE],
					"unit cost and price must not be negative");
		return;
	}
	if (!field_flag(cl, r, rec, CF_IS_PROMOTIONAL, &promo) ||
		!field_flag(cl, r, rec, CF_IS_HOLIDAY, &holiday))
		return;
	category = field_plain_text(cl, r, rec, CF_CATEGORY, &col, &bad);
	if (bad)
		return;
	ttype = field_plain_text(cl, r, rec, CF_TRANSACTION_TYPE, &col, &bad);
	if (bad)
		return;

	/* sign policy */
	switch (c->sign_policy)
	{
		case SIGN_NON_NEGATIVE:
			if (qty < 0)
			{
				load_reject(ls, REJECT_NEGATIVE_QUANTITY, r, rec, cl->col[CF_QUANTITY],
							"negative quantity under quantity_sign_policy non_negative");
				return;
			}
			break;
		case SIGN_CLIP_NEGATIVE:
			if (qty < 0)
			{
				qty = 0;
				cl->clipped++;
			}
			break;
		case SIGN_ALLOW_NEGATIVE_RETURNS:
			if (ttype != NULL)
			{
				int			sign = contract_value_transaction_sign(ttype, strlen(ttype));

				if (sign == 0)
				{
					load_reject(ls, REJECT_BAD_FLAG, r, rec, col,
								"transaction_type must be sale, purchase, sold, return, refund or rma");
					return;
				}
				qty = sign < 0 ? -fabs(qty) : fabs(qty);
				if (sign < 0)
					cl->signed_returns++;
			}
			break;
	}

	if (key.day > cl->max_day)
		date_limit_error(cl, r, rec, key.day, true);
	if (key.day < cl->min_day)
		date_limit_error(cl, r, rec, key.day, false);

	if (cl->seen != NULL)
	{
		StringInfoData k;

		initStringInfo(&k);
		for (int f = 0; f < CF_NFIELDS; f++)
		{
			if (!c->dedupe[f])
				continue;
			switch ((ContractField) f)
			{
				case CF_DATE:
					appendStringInfo(&k, "%d", key.day);
					break;
				case CF_STORE_ID:
					appendStringInfo(&k, "%d", key.store);
					break;
				case CF_PRODUCT_ID:
					appendStringInfo(&k, "%d", key.product);
					break;
				case CF_QUANTITY:
					appendStringInfo(&k, "%.17g", qty);
					break;
				case CF_TRANSACTION_TYPE:
					appendStringInfoString(&k, ttype ? ttype : "");
					break;
				case CF_CATEGORY:
					appendStringInfoString(&k, category ? category : "");
					break;
				case CF_TRANSACTION_ID:
					txid = field_plain_text(cl, r, rec, CF_TRANSACTION_ID, &col, &bad);
					if (bad)
						return;
					appendStringInfoString(&k, txid ? txid : "");
					break;
				default:
					if (cl->col[f] >= 0)
						appendBinaryStringInfo(&k, rec->fields[cl->col[f]], (int) rec->lengths[cl->col[f]]);
					break;
			}
			appendStringInfoChar(&k, '\x1f');
		}
		if (!claim_transaction(cl, r, rec, k.data))
			return;
	}

	cell = hash_search(cl->cells, &key, HASH_ENTER, &found);
	if (!found)
	{
		cell->quantity = 0;
		cell->cost_sum = 0;
		cell->cost_rows = 0;
		cell->price_sum = 0;
		cell->price_rows = 0;
		cell->promotional = false;
		cell->holiday = false;
		cell->category = (Datum) 0;
	}
	cell->quantity += qty;
	if (!cost_null)
	{
		cell->cost_sum += cost;
		cell->cost_rows++;
	}
	if (!price_null)
	{
		cell->price_sum += price;
		cell->price_rows++;
	}
	cell->promotional |= promo;
	cell->holiday |= holiday;
	if (category != NULL && cell->category == (Datum) 0)
	{
		MemoryContext old = MemoryContextSwitchTo(ls->cxt);

		cell->category = PointerGetDatum(cstring_to_text(category));
		MemoryContextSwitchTo(old);
	}
	cl->accepted++;
}

/* Columns of a transaction file; ERROR when a required field has no source. */
static CsvReader *
open_transactions(ContractLoad *cl, const char *name)
{
	const ContractProfile *c = cl->c;
	const char *required[CF_NFIELDS];
	int			idx[CF_NFIELDS];
	int			which[CF_NFIELDS];
	int			n = 0;
	CsvReader  *r;
	static const ContractField must[] = {CF_DATE, CF_STORE_ID, CF_PRODUCT_ID, CF_QUANTITY};

	for (int f = 0; f < CF_NFIELDS; f++)
		if (c->source[f] != NULL)
		{
			which[n] = f;
			required[n++] = c->source[f];
		}
	r = load_open_csv(cl->ls, name, required, n, idx);
	for (int f = 0; f < CF_NFIELDS; f++)
		cl->col[f] = -1;
	for (int i = 0; i < n; i++)
		cl->col[which[i]] = idx[i];
	/* unmapped fields: an identically named column, if any */
	for (int f = 0; f < CF_NFIELDS; f++)
		if (c->source[f] == NULL)
			cl->col[f] = csv_reader_find_column(r, contract_field_name(f));
	for (int i = 0; i < lengthof(must); i++)
		if (cl->col[must[i]] < 0 && c->fill[must[i]] == NULL)
		{
			int			ncols;
			const char *const *header = csv_reader_header(r, &ncols);
			StringInfoData found;

			initStringInfo(&found);
			for (int j = 0; j < ncols; j++)
				appendStringInfo(&found, "%s%s", j ? ", " : "", header[j]);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("requires_custom_adapter: missing mapping/source for %s in %s",
							contract_field_name(must[i]), name),
					 errdetail("field_map maps no column to %s and %s has no column of that name. Found: %s.",
							   contract_field_name(must[i]), name, found.data),
					 errhint("Add \"<source column>\": \"%s\" to the contract's field_map.",
							 contract_field_name(must[i]))));
		}
	for (int f = 0; f < CF_NFIELDS; f++)
		if (cl->col[f] >= 0)
			cl->used[f] = true;
	return r;
}

static void
read_transactions(ContractLoad *cl, const char *name)
{
	CsvReader  *r = open_transactions(cl, name);
	CsvRecord	rec;
	MemoryContext old;

	cl->cur_name = name;
	if (cl->files.len > 0)
		appendStringInfoString(&cl->files, ", ");
	escape_json(&cl->files, name);
	while (load_next(cl->ls, r, &rec))
	{
		old = MemoryContextSwitchTo(cl->rowcxt);
		read_row(cl, r, &rec);
		MemoryContextSwitchTo(old);
		MemoryContextReset(cl->rowcxt);
	}
}

/* A store or product master: ids registered after the same normalisation. */
static void
read_master(ContractLoad *cl, const char *name, bool stores)
{
	LoadState  *ls = cl->ls;
	CsvReader  *r = load_open_csv(ls, name, NULL, 0, NULL);
	const char *const *candidates = stores ? store_id_columns : product_id_columns;
	ContractField f = stores ? CF_STORE_ID : CF_PRODUCT_ID;
	int			col = -1;
	CsvRecord	rec;
	LoadBatch  *batch = NULL;
	static const char *const cols[] = {"store_id"};
	static const Oid types[] = {TEXTOID};
	int64		rows = 0;

	for (int i = 0; candidates[i] && col < 0; i++)
		col = csv_reader_find_column(r, candidates[i]);
	if (col < 0)
	{
		int			ncols;
		const char *const *header = csv_reader_header(r, &ncols);
		StringInfoData found;

		initStringInfo(&found);
		for (int j = 0; j < ncols; j++)
			appendStringInfo(&found, "%s%s", j ? ", " : "", header[j]);
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("master %s has no id column", name),
				 errdetail("Expected one of: %s (any case). Found: %s.",
						   stores ? "store_id, store_code, location_id, STORE_NBR" :
						   "product_id, sku, item_nbr, GTIN, upc", found.data)));
	}
	if (stores)
		batch = load_batch_begin(ls, "stores", 1, cols, types);
	while (load_next_side(ls, r, &rec))
	{
		const char *why;
		size_t		idlen;
		char	   *id;
		int32		index;
		bool		fresh;

		if (field_is_missing(rec.fields[col], rec.lengths[col]))
			load_side_fail(r, &rec, col, "the id is empty");
		id = normalise_id(cl->c, f, rec.fields[col], rec.lengths[col], &idlen, &why);
		if (id == NULL)
			load_side_fail(r, &rec, col, "%s (type_map says int)", why);
		fresh = stores ? load_register_store(ls, id, (int) idlen, &index)
			: load_register_product(ls, id, (int) idlen, &index);
		if (fresh && stores)
		{
			Datum		v = load_store_datum(ls, index);
			bool		isnull = false;

			load_batch_add(batch, &v, &isnull);
		}
		rows++;
	}
	if (stores)
		load_note_side_rows(ls, "stores", load_batch_insert(ls, batch));
	cl->master_rows[stores ? 0 : 1] = rows;
}

/* datasets.contract and country_code (the row was inserted by load.c). */
static void
record_contract(ContractLoad *cl)
{
	Oid			types[4] = {TEXTOID, TEXTOID, JSONBOID, TEXTOID};
	Datum		args[4];
	int			rc;

	args[0] = CStringGetTextDatum(cl->ls->tenant_id);
	args[1] = CStringGetTextDatum(cl->ls->dataset_id);
	args[2] = JsonbPGetDatum(cl->c->profile);
	args[3] = CStringGetTextDatum(cl->c->country_code);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("UPDATE shelfops.datasets SET contract = $3, country_code = $4 "
							   "WHERE tenant_id = $1 AND dataset_id = $2",
							   4, types, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "could not record the contract: %s", SPI_result_code_string(rc));
	SPI_finish();
}

static char *
build_family_report(ContractLoad *cl)
{
	const ContractProfile *c = cl->c;
	StringInfoData b;
	bool		any;

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"tenant_id\": ");
	escape_json(&b, c->tenant_id);
	appendStringInfoString(&b, ", \"contract_version\": ");
	escape_json(&b, c->contract_version);
	appendStringInfoString(&b, ", \"source_type\": ");
	escape_json(&b, c->source_type);
	appendStringInfo(&b, ", \"transaction_files\": [%s]", cl->files.data);
	appendStringInfoString(&b, ", \"masters\": {");
	appendStringInfo(&b, "\"stores\": %s", cl->store_master ? psprintf(INT64_FORMAT, cl->master_rows[0]) : "null");
	appendStringInfo(&b, ", \"products\": %s}", cl->product_master ? psprintf(INT64_FORMAT, cl->master_rows[1]) : "null");
	appendStringInfo(&b, ", \"accepted_rows\": " UINT64_FORMAT, cl->accepted);
	appendStringInfo(&b, ", \"clipped_negative\": " UINT64_FORMAT, cl->clipped);
	appendStringInfo(&b, ", \"returns_signed_negative\": " UINT64_FORMAT, cl->signed_returns);
	appendStringInfo(&b, ", \"dedupe\": \"%s\"", c->dedupe_transactions ? "transaction" : "aggregate");
	for (int pass = 0; pass < 2; pass++)
	{
		appendStringInfo(&b, ", \"%s\": {", pass == 0 ? "missing_values" : "null_filled");
		any = false;
		for (int f = 0; f < CF_NFIELDS; f++)
		{
			uint64		n = pass == 0 ? cl->missing[f] : cl->filled[f];

			if (!cl->used[f] && !(pass == 1 && n > 0))
				continue;
			appendStringInfo(&b, "%s\"%s\": " UINT64_FORMAT, any ? ", " : "", contract_field_name(f), n);
			any = true;
		}
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoString(&b, ", \"not_stored\": [");
	any = false;
	for (int f = 0; f < CF_NFIELDS; f++)
		if (cl->used[f] && (f == CF_ON_HAND_QTY || f == CF_ON_ORDER_QTY ||
							f == CF_TRANSACTION_ID || f == CF_TRANSACTION_TYPE))
		{
			appendStringInfo(&b, "%s\"%s\"", any ? ", " : "", contract_field_name(f));
			any = true;
		}
	appendStringInfoString(&b, "]}");
	return b.data;
}

static uint32
seen_hash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return hash_bytes((const unsigned char *) s, (int) strlen(s));
}

static int
seen_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
load_contract(LoadState *ls)
{
	ContractLoad *cl = palloc0(sizeof(ContractLoad));
	const ContractProfile *c = ls->contract;
	HASHCTL		ctl;
	HASH_SEQ_STATUS seq;
	Cell	   *cell;
	List	   *names;
	List	   *facts = NIL;
	const char *store_master;
	const char *product_master;
	ListCell   *lc;
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	Assert(c != NULL);
	cl->ls = ls;
	cl->c = c;
	initStringInfo(&cl->files);
	cl->rowcxt = AllocSetContextCreate(ls->cxt, "shelfops contract row", ALLOCSET_SMALL_SIZES);
	cl->today = (int32) ((now - ((now % USECS_PER_DAY) + USECS_PER_DAY) % USECS_PER_DAY) / USECS_PER_DAY);
	cl->max_day = cl->today + (int32) Min(floor(c->max_future_days), 3000000.0);
	cl->min_day = cl->today - (int32) Min(ceil(c->max_history_years * 365.25), 3000000.0);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(CellKey);
	ctl.entrysize = sizeof(Cell);
	ctl.hcxt = ls->cxt;
	cl->cells = hash_create("shelfops contract cells", 65536, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	if (c->dedupe_transactions)
	{
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(char *);
		ctl.entrysize = sizeof(SeenEntry);
		ctl.hash = seen_hash;
		ctl.match = seen_match;
		ctl.hcxt = ls->cxt;
		cl->seen = hash_create("shelfops contract transactions", 65536, &ctl,
							   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	}

	record_contract(cl);

	/* which files */
	names = list_csv(ls->dir);
	for (int i = 0; preferred_files[i] && facts == NIL; i++)
		foreach(lc, names)
			if (strcmp((char *) lfirst(lc), preferred_files[i]) == 0)
				facts = list_make1(lfirst(lc));
	if (facts == NIL)
		foreach(lc, names)
			if (!in_names(store_masters, lfirst(lc)) && !in_names(product_masters, lfirst(lc)))
				facts = lappend(facts, lfirst(lc));
	if (facts == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("no transactions file in \"%s\"", ls->dir),
				 errdetail("Found: %s.", describe_names(names)),
				 errhint("Name it transactions.csv, sales.csv or daily_sales.csv (or .csv.gz); "
						 "every other CSV except the masters is read otherwise.")));
	store_master = pick_master(cl, names, store_masters);
	product_master = pick_master(cl, names, product_masters);

	load_phase(ls, "masters");
	if (store_master)
	{
		cl->store_master = true;
		read_master(cl, store_master, true);
	}
	if (product_master)
	{
		cl->product_master = true;
		read_master(cl, product_master, false);
	}

	load_phase(ls, "read");
	foreach(lc, facts)
		read_transactions(cl, (const char *) lfirst(lc));

	load_phase(ls, "sales");
	ls->aggregated_rows = cl->accepted - hash_get_num_entries(cl->cells);
	hash_seq_init(&seq, cl->cells);
	while ((cell = hash_seq_search(&seq)) != NULL)
	{
		SalesWriter *w = ls->writer;

		CHECK_FOR_INTERRUPTS();
		sales_writer_row_init(w);
		sales_set_float8(w, SALES_QUANTITY, cell->quantity);
		if (cell->category != (Datum) 0)
		{
			w->values[SALES_CATEGORY] = cell->category;
			w->nulls[SALES_CATEGORY] = false;
		}
		if (cell->cost_rows > 0)
			sales_set_float8(w, SALES_UNIT_COST, cell->cost_sum / (double) cell->cost_rows);
		if (cell->price_rows > 0)
			sales_set_float8(w, SALES_UNIT_PRICE, cell->price_sum / (double) cell->price_rows);
		sales_set_bool(w, SALES_IS_PROMOTIONAL, cell->promotional);
		sales_set_bool(w, SALES_IS_HOLIDAY, cell->holiday);
		load_write_row(ls, cell->key.store, cell->key.product, cell->key.day);
	}
	ls->family_report = build_family_report(cl);
}
