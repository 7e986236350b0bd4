/*
 * load.c
 *	  Owns shelfops_load_dataset and load_run (the load every entry point
 *	  shares): the family registry and detection, the
 *	  dataset row's lifecycle, rejects and their thresholds, source-file
 *	  hashing, and the helpers the family files (load_<family>.c) read and
 *	  write through (see load.h).
 *
 * The whole load runs in the caller's transaction: any ERROR, including a
 * threshold breach found after the last row, rolls back the dataset row, its
 * sales, side rows and rejects together.  Reloading a dataset_id deletes the
 * old dataset row first; every table that belongs to it goes with it through
 * ON DELETE CASCADE, so rows are never doubled.
 */
#include "postgres.h"

#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "shelfops.h"
#include "ident.h"
#include "util.h"
#include "parse.h"
#include "load.h"
#include "contract.h"

PG_FUNCTION_INFO_V1(shelfops_load_dataset);

/* ---------------------------------------------------------------------------
 * Registry.  Detection tries the families in this order (reference §1.2).
 * --------------------------------------------------------------------------*/

static const LoadFamily *const load_families[] = {
	&load_family_favorita,
	&load_family_walmart,
	&load_family_rossmann,
	&load_family_seed,
	&load_family_contract,		/* never auto-detected: needs a contract */
};

#define LOAD_NFAMILIES lengthof(load_families)

/* ---------------------------------------------------------------------------
 * Rejects and thresholds
 * --------------------------------------------------------------------------*/

#define LOAD_KEEP_PER_REASON	100
#define LOAD_RAW_TEXT_BYTES		200
#define LOAD_FIELD_TEXT_BYTES	80

typedef enum LoadThreshold
{
	TH_DATE,
	TH_QUANTITY,
	TH_NULLS,
	TH_DUPLICATES,
	TH_STORE_REF,
	TH_PRODUCT_REF,
	TH_MALFORMED,
	LOAD_NTHRESHOLDS
} LoadThreshold;

typedef struct ThresholdDef
{
	const char *key;			/* dq_thresholds key */
	bool		is_min_success; /* min_*_success (1 - rate) or max_*_rate */
	double		deflt;
	const char *what;			/* for messages */
} ThresholdDef;

static const ThresholdDef threshold_defs[LOAD_NTHRESHOLDS] = {
	[TH_DATE] = {"min_date_parse_success", true, 0.99, "date parse success"},
	[TH_QUANTITY] = {"min_quantity_parse_success", true, 0.995, "quantity parse success"},
	[TH_NULLS] = {"max_required_null_rate", false, 0.005, "required null rate"},
	[TH_DUPLICATES] = {"max_duplicate_rate", false, 0.01, "duplicate rate"},
	[TH_STORE_REF] = {"max_store_ref_missing_rate", false, 0.0, "unknown store rate"},
	[TH_PRODUCT_REF] = {"max_product_ref_missing_rate", false, 0.0, "unknown product rate"},
	[TH_MALFORMED] = {"max_malformed_rate", false, 0.0, "malformed row rate"},
};

/* Reference keys the loader accepts but leaves to validation. */
static const char *const threshold_keys_for_validation[] = {
	"max_future_days", "max_history_years", NULL
};

typedef struct ReasonDef
{
	const char *name;
	LoadThreshold threshold;
} ReasonDef;

static const ReasonDef reason_defs[LOAD_NREASONS] = {
	[REJECT_FIELD_COUNT] = {"field_count", TH_MALFORMED},
	[REJECT_REQUIRED_NULL] = {"required_null", TH_NULLS},
	[REJECT_BAD_DATE] = {"bad_date", TH_DATE},
	[REJECT_BAD_QUANTITY] = {"bad_quantity", TH_QUANTITY},
	[REJECT_NOT_FINITE] = {"not_finite", TH_QUANTITY},
	[REJECT_BAD_NUMBER] = {"bad_number", TH_MALFORMED},
	[REJECT_BAD_FLAG] = {"bad_flag", TH_MALFORMED},
	[REJECT_BAD_ID] = {"bad_id", TH_MALFORMED},
	[REJECT_DAY_OF_WEEK] = {"day_of_week_mismatch", TH_MALFORMED},
	[REJECT_UNKNOWN_STORE] = {"unknown_store", TH_STORE_REF},
	[REJECT_DUPLICATE_KEY] = {"duplicate_key", TH_DUPLICATES},
	[REJECT_NEGATIVE_QUANTITY] = {"negative_quantity", TH_QUANTITY},
	[REJECT_UNKNOWN_PRODUCT] = {"unknown_product", TH_PRODUCT_REF},
};

typedef struct KeptReject
{
	int			reason;
	const char *file;
	long		line;
	char	   *column;			/* NULL for the whole record */
	char	   *raw;
	char	   *field;			/* the offending field's text, or NULL */
	char	   *detail;
} KeptReject;

/* ---------------------------------------------------------------------------
 * Interned ids, key sets, phases: the private part of LoadState
 * --------------------------------------------------------------------------*/

typedef struct InternEntry
{
	char		key[LOAD_ID_MAXLEN + 1];
	int32		index;
	bool		known;			/* registered by a store master */
} InternEntry;

#define INTERN_RECENT 4096		/* a power of two */

typedef struct InternTable
{
	HTAB	   *htab;
	Datum	   *datums;			/* text Datum of each index */
	bool	   *written;		/* index has at least one sales row */
	int32		n;
	int32		cap;
	int32		nwritten;
	/* entries found recently, by a cheap hash of the id: most rows hit */
	InternEntry *recent[INTERN_RECENT];
} InternTable;

typedef struct Key3
{
	int32		a;
	int32		b;
	int32		c;
} Key3;

struct LoadKeySet
{
	HTAB	   *htab;
};

typedef struct SeriesKey
{
	int32		store;
	int32		product;
} SeriesKey;

/*
 * One series (store, product): the days claimed so far, as a bitmap over
 * [base, base + nbits), so duplicate detection costs a small hash lookup and a
 * bit test rather than a lookup in a table of every row.
 */
typedef struct SeriesEntry
{
	SeriesKey	key;
	bool		written;		/* has at least one sales row */
	int32		base;
	int32		nbits;
	uint64	   *bits;
} SeriesEntry;

/*
 * Fact rows held back until the family has read everything, so that they can
 * be handed to the sales writer in key order (see "Row buffer" below).  A row
 * keeps its key as interned indexes and the other columns as Datums; text
 * values are copied once into the buffer's own memory.
 */
#define ROW_NVALUES 8			/* the columns other than the key and booleans */
#define ROW_TEXT_CACHE 16

typedef struct BufferedRow
{
	int32		store;
	int32		product;
	int32		day;
	uint16		nulls;			/* bit c: column c is NULL */
	uint16		bools;			/* bit c: boolean column c is true */
	const char *file;			/* where the row came from, for errors */
	long		line;
	Datum		values[ROW_NVALUES];	/* the other columns, by slot */
} BufferedRow;

StaticAssertDecl(SALES_NCOLUMNS <= 16, "a buffered row keeps its NULLs in 16 bits");

typedef struct RowBuffer
{
	bool		spilled;		/* over budget: rows go straight to the writer */
	bool		layout_ready;
	int8		slot[SALES_NCOLUMNS];	/* values[] index, -1 boolean, -2 key */
	BufferedRow *rows;
	uint64		n;
	uint64		cap;
	Size		text_bytes;
	MemoryContext text_cxt;
	/* recent distinct text values per column, reused instead of copied */
	text	   *recent[ROW_NVALUES][ROW_TEXT_CACHE];
	int			nrecent[ROW_NVALUES];
	int			next_recent[ROW_NVALUES];
} RowBuffer;

#define LOAD_MAX_PHASES 8

typedef struct LoadPrivate
{
	InternTable stores;
	InternTable products;
	HTAB	   *series;
	SeriesEntry *last_series;
	SeriesEntry **store_series; /* per store index: its last series, or NULL */
	int32		store_series_cap;
	uint64		nseries;
	uint64		rows_written;
	RowBuffer	buf;
	int32		date_min;
	int32		date_max;

	uint64		reject_count[LOAD_NREASONS];
	int			reject_kept[LOAD_NREASONS];
	KeptReject *kept;
	int			nkept;
	int			kept_cap;
	int			first_kept[LOAD_NREASONS];	/* index into kept, -1 */
	double		threshold[LOAD_NTHRESHOLDS];

	const char *cur_file;		/* relative name of the file being read */
	long		cur_line;

	StringInfoData source_files;	/* JSON array under construction */
	int			nsource_files;
	StringInfoData side_rows;	/* JSON object members: "table": n */
	double		hash_seconds;

	const char *phase_name[LOAD_MAX_PHASES];
	double		phase_seconds[LOAD_MAX_PHASES];
	int			nphases;
	instr_time	phase_start;
} LoadPrivate;

static double
elapsed_since(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_DOUBLE(now);
}

void
load_phase(LoadState *ls, const char *name)
{
	LoadPrivate *p = ls->priv;

	if (p->nphases > 0)
		p->phase_seconds[p->nphases - 1] += elapsed_since(p->phase_start);
	if (p->nphases == LOAD_MAX_PHASES)
		elog(ERROR, "too many load phases");
	p->phase_name[p->nphases] = name;
	p->phase_seconds[p->nphases] = 0;
	p->nphases++;
	INSTR_TIME_SET_CURRENT(p->phase_start);
}

/* ---------------------------------------------------------------------------
 * Text helpers
 * --------------------------------------------------------------------------*/

/* Valid text for the server: no NUL byte and valid in the database encoding. */
static bool
text_ok(const char *s, size_t len)
{
	if (memchr(s, '\0', len) != NULL)
		return false;
	return pg_verifymbstr(s, (int) len, true);
}

/* A printable copy of at most maxbytes: invalid bytes become '?'. */
static char *
safe_copy(const char *s, size_t len, size_t maxbytes)
{
	char	   *out;
	bool		truncated = false;

	if (len > maxbytes)
	{
		len = maxbytes;
		truncated = true;
	}
	out = palloc(len + 4);
	memcpy(out, s, len);
	out[len] = '\0';
	if (!text_ok(out, len))
	{
		for (size_t i = 0; i < len; i++)
			if (out[i] == '\0' || (unsigned char) out[i] >= 0x80)
				out[i] = '?';
	}
	else if (truncated)
		len = pg_mbcliplen(out, (int) len, (int) len);
	if (truncated)
		strcpy(out + len, "...");
	return out;
}

static char *
record_raw_text(const CsvRecord *rec)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < rec->nfields && buf.len <= LOAD_RAW_TEXT_BYTES; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		appendBinaryStringInfo(&buf, rec->fields[i], (int) rec->lengths[i]);
	}
	return safe_copy(buf.data, buf.len, LOAD_RAW_TEXT_BYTES);
}

static bool
is_not_finite_text(const char *s, size_t len)
{
	char		buf[16];
	size_t		n = 0;

	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len > 0 && (*s == '+' || *s == '-'))
		s++, len--;
	if (len == 0 || len >= sizeof(buf))
		return false;
	for (n = 0; n < len; n++)
		buf[n] = pg_ascii_tolower((unsigned char) s[n]);
	buf[n] = '\0';
	return strcmp(buf, "nan") == 0 || strcmp(buf, "inf") == 0 || strcmp(buf, "infinity") == 0;
}

/* ---------------------------------------------------------------------------
 * Rejects
 * --------------------------------------------------------------------------*/

void
load_reject(LoadState *ls, LoadRejectReason reason, CsvReader *r,
			const CsvRecord *rec, int col, const char *detail)
{
	LoadPrivate *p = ls->priv;
	KeptReject *k;
	MemoryContext old;

	p->reject_count[reason]++;
	if (p->reject_kept[reason] >= LOAD_KEEP_PER_REASON)
		return;

	old = MemoryContextSwitchTo(ls->cxt);
	if (p->nkept == p->kept_cap)
	{
		p->kept_cap = p->kept_cap ? p->kept_cap * 2 : 64;
		p->kept = p->kept ? repalloc(p->kept, sizeof(KeptReject) * p->kept_cap)
			: palloc(sizeof(KeptReject) * p->kept_cap);
	}
	k = &p->kept[p->nkept];
	k->reason = reason;
	k->file = p->cur_file;
	k->line = rec->line;
	k->column = NULL;
	k->field = NULL;
	if (col >= 0 && col < rec->nfields)
	{
		k->column = pstrdup(csv_reader_column_name(r, col + 1));
		k->field = safe_copy(rec->fields[col], rec->lengths[col], LOAD_FIELD_TEXT_BYTES);
	}
	k->raw = record_raw_text(rec);
	k->detail = detail ? pstrdup(detail) : NULL;
	if (p->first_kept[reason] < 0)
		p->first_kept[reason] = p->nkept;
	p->nkept++;
	p->reject_kept[reason]++;
	MemoryContextSwitchTo(old);
}

/* ---------------------------------------------------------------------------
 * Files
 * --------------------------------------------------------------------------*/

typedef struct DirEntryInfo
{
	char	   *name;
	bool		is_dir;
} DirEntryInfo;

static int
cmp_dir_entry(const void *a, const void *b)
{
	return strcmp(((const DirEntryInfo *) a)->name, ((const DirEntryInfo *) b)->name);
}

/* Entries of a directory, sorted by name; *n receives their number. */
static DirEntryInfo *
list_directory(const char *path, int *n)
{
	DIR		   *dir;
	struct dirent *de;
	DirEntryInfo *out = NULL;
	int			cap = 0;

	*n = 0;
	dir = AllocateDir(path);
	while ((de = ReadDir(dir, path)) != NULL)
	{
		char		full[MAXPGPATH];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap)
		{
			cap = cap ? cap * 2 : 16;
			out = out ? repalloc(out, sizeof(DirEntryInfo) * cap) : palloc(sizeof(DirEntryInfo) * cap);
		}
		snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
		out[*n].name = pstrdup(de->d_name);
		out[*n].is_dir = (stat(full, &st) == 0 && S_ISDIR(st.st_mode));
		(*n)++;
	}
	FreeDir(dir);
	if (*n > 1)
		qsort(out, *n, sizeof(DirEntryInfo), cmp_dir_entry);
	return out;
}

static char *
describe_entries(const DirEntryInfo *entries, int n)
{
	StringInfoData buf;

	if (n == 0)
		return pstrdup("nothing (the directory is empty)");
	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
	{
		if (i == 30)
		{
			appendStringInfo(&buf, ", ... (%d more)", n - i);
			break;
		}
		appendStringInfo(&buf, "%s%s%s", i ? ", " : "", entries[i].name, entries[i].is_dir ? "/" : "");
	}
	return buf.data;
}

/*
 * The entry matching a family file name: "x.csv" matches x.csv or x.csv.gz,
 * "x/" a directory x.  Both x.csv and x.csv.gz present is an error.
 */
static const char *
find_entry(const char *dirpath, const DirEntryInfo *entries, int n, const char *want)
{
	size_t		wlen = strlen(want);
	const char *found = NULL;

	if (wlen > 0 && want[wlen - 1] == '/')
	{
		for (int i = 0; i < n; i++)
			if (entries[i].is_dir && strncmp(entries[i].name, want, wlen - 1) == 0 &&
				entries[i].name[wlen - 1] == '\0')
				return entries[i].name;
		return NULL;
	}
	for (int i = 0; i < n; i++)
	{
		const char *name = entries[i].name;

		if (entries[i].is_dir || strncmp(name, want, wlen) != 0)
			continue;
		if (name[wlen] == '\0' || strcmp(name + wlen, ".gz") == 0)
		{
			if (found != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_FILE),
						 errmsg("directory \"%s\" holds both %s and %s", dirpath, found, name),
						 errhint("Keep one of them.")));
			found = name;
		}
	}
	return found;
}

static void
hash_file(LoadState *ls, const char *relname, const char *path)
{
	LoadPrivate *p = ls->priv;
	pg_cryptohash_ctx *h;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char		hex[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	char	   *buf;
	int			fd;
	int64		size = 0;
	instr_time	start;

	INSTR_TIME_SET_CURRENT(start);
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	h = pg_cryptohash_create(PG_SHA256);
	if (h == NULL || pg_cryptohash_init(h) < 0)
		elog(ERROR, "could not initialise SHA-256");
	buf = palloc(65536);
	for (;;)
	{
		ssize_t		got = read(fd, buf, 65536);

		if (got < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", path)));
		if (got == 0)
			break;
		if (pg_cryptohash_update(h, (uint8 *) buf, got) < 0)
			elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(h));
		size += got;
		CHECK_FOR_INTERRUPTS();
	}
	if (pg_cryptohash_final(h, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(h));
	pg_cryptohash_free(h);
	CloseTransientFile(fd);
	pfree(buf);
	hex_encode((const char *) digest, sizeof(digest), hex);
	hex[sizeof(hex) - 1] = '\0';

	appendStringInfoString(&p->source_files, p->nsource_files ? ", {\"name\": " : "{\"name\": ");
	escape_json(&p->source_files, relname);
	appendStringInfo(&p->source_files, ", \"size\": " INT64_FORMAT ", \"sha256\": \"%s\"}", size, hex);
	p->nsource_files++;
	p->hash_seconds += elapsed_since(start);
}

void
load_add_source_file(LoadState *ls, const char *members)
{
	LoadPrivate *p = ls->priv;

	appendStringInfo(&p->source_files, "%s{%s}", p->nsource_files ? ", " : "", members);
	p->nsource_files++;
}

/* "train.csv" -> "train.csv" or "train.csv.gz" (relative), or ERROR. */
static char *
resolve_file(LoadState *ls, const char *relname)
{
	char	   *dirpath;
	const char *slash = strrchr(relname, '/');
	const char *base = slash ? slash + 1 : relname;
	DirEntryInfo *entries;
	int			n;
	const char *found;

	dirpath = slash ? psprintf("%s/%.*s", ls->dir, (int) (slash - relname), relname) : pstrdup(ls->dir);
	entries = list_directory(dirpath, &n);
	found = find_entry(dirpath, entries, n, base);
	if (found == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("file %s is missing from \"%s\"", relname, dirpath),
				 errdetail("Found: %s.", describe_entries(entries, n))));
	return slash ? psprintf("%.*s/%s", (int) (slash - relname), relname, found) : pstrdup(found);
}

CsvReader *
load_open_csv(LoadState *ls, const char *relname, const char *const *required,
			  int nrequired, int *indexes)
{
	MemoryContext old = MemoryContextSwitchTo(ls->cxt);
	const char *name;
	CsvReader  *r;

	if (ls->source != NULL)
		r = ls->source->open(ls, relname, &name);
	else
	{
		char	   *path;
		CsvOptions	opts;

		name = resolve_file(ls, relname);
		path = psprintf("%s/%s", ls->dir, name);
		hash_file(ls, name, path);
		csv_options_init(&opts);
		r = csv_reader_open_in_context(ls->cxt, path, &opts);
	}
	ls->priv->cur_file = name;
	ls->priv->cur_line = 1;
	if (csv_reader_read_header(r, required, nrequired, indexes) != CSV_OK)
		csv_reader_raise(r);
	MemoryContextSwitchTo(old);
	return r;
}

static int
cmp_cstring(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

List *
load_list_files(LoadState *ls, const char *subdir, const char *prefix)
{
	MemoryContext old;
	char	   *dirpath;
	DirEntryInfo *entries;
	int			n;
	List	   *files = NIL;
	size_t		plen = strlen(prefix);

	if (ls->source != NULL)
		return ls->source->list(ls, subdir, prefix);
	old = MemoryContextSwitchTo(ls->cxt);
	dirpath = psprintf("%s/%s", ls->dir, subdir);
	entries = list_directory(dirpath, &n);
	for (int i = 0; i < n; i++)
	{
		const char *name = entries[i].name;
		size_t		len = strlen(name);

		if (entries[i].is_dir || strncmp(name, prefix, plen) != 0)
			continue;
		if ((len > 4 && strcmp(name + len - 4, ".csv") == 0) ||
			(len > 7 && strcmp(name + len - 7, ".csv.gz") == 0))
			files = lappend(files, psprintf("%s/%s", subdir, name));
	}
	if (files == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("no %s*.csv or %s*.csv.gz file in \"%s\"", prefix, prefix, dirpath),
				 errdetail("Found: %s.", describe_entries(entries, n))));
	list_sort(files, cmp_cstring);
	MemoryContextSwitchTo(old);
	return files;
}

/* ---------------------------------------------------------------------------
 * Fact rows
 * --------------------------------------------------------------------------*/

bool
load_next(LoadState *ls, CsvReader *r, CsvRecord *rec)
{
	int			ncols;

	csv_reader_header(r, &ncols);
	for (;;)
	{
		int			rc;

		CHECK_FOR_INTERRUPTS();
		rc = csv_reader_next(r, rec);
		if (rc == CSV_EOF)
			return false;
		if (rc != CSV_OK)
			csv_reader_raise(r);
		ls->rows_read++;
		ls->priv->cur_line = rec->line;
		if (rec->nfields != ncols)
		{
			char	   *detail = psprintf("expected %d fields, found %d", ncols, rec->nfields);

			load_reject(ls, REJECT_FIELD_COUNT, r, rec, -1, detail);
			pfree(detail);
			continue;
		}
		return true;
	}
}

bool
load_field_date(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
				FieldDateFormat format, int32 *day)
{
	const char *why;

	if (field_is_missing(rec->fields[col], rec->lengths[col]))
	{
		load_reject(ls, REJECT_REQUIRED_NULL, r, rec, col, "date is empty");
		return false;
	}
	if (!field_parse_date(rec->fields[col], rec->lengths[col], format, day, &why))
	{
		load_reject(ls, REJECT_BAD_DATE, r, rec, col, why);
		return false;
	}
	return true;
}

bool
load_field_quantity(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col, double *value)
{
	const char *why;

	if (field_is_missing(rec->fields[col], rec->lengths[col]))
	{
		load_reject(ls, REJECT_REQUIRED_NULL, r, rec, col, "quantity is empty");
		return false;
	}
	if (is_not_finite_text(rec->fields[col], rec->lengths[col]))
	{
		load_reject(ls, REJECT_NOT_FINITE, r, rec, col, "NaN and infinity are not quantities");
		return false;
	}
	if (!field_parse_float8(rec->fields[col], rec->lengths[col], value, &why))
	{
		load_reject(ls, REJECT_BAD_QUANTITY, r, rec, col, why);
		return false;
	}
	return true;
}

bool
load_field_float(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
				 double *value, bool *isnull)
{
	const char *why;

	*isnull = field_is_missing(rec->fields[col], rec->lengths[col]);
	if (*isnull)
		return true;
	if (is_not_finite_text(rec->fields[col], rec->lengths[col]))
	{
		load_reject(ls, REJECT_NOT_FINITE, r, rec, col, "NaN and infinity are not accepted");
		return false;
	}
	if (!field_parse_float8(rec->fields[col], rec->lengths[col], value, &why))
	{
		load_reject(ls, REJECT_BAD_NUMBER, r, rec, col, why);
		return false;
	}
	return true;
}

bool
load_field_int(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
			   int32 *value, bool *isnull)
{
	const char *why;

	*isnull = field_is_missing(rec->fields[col], rec->lengths[col]);
	if (*isnull)
		return true;
	if (!field_parse_int32(rec->fields[col], rec->lengths[col], value, &why))
	{
		load_reject(ls, REJECT_BAD_NUMBER, r, rec, col, why);
		return false;
	}
	return true;
}

bool
load_field_flag(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
				bool *value, bool *isnull)
{
	const char *why;

	*isnull = field_is_missing(rec->fields[col], rec->lengths[col]);
	if (*isnull)
		return true;
	if (!field_parse_bool(rec->fields[col], rec->lengths[col], value, &why))
	{
		load_reject(ls, REJECT_BAD_FLAG, r, rec, col, why);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------------------
 * Interned ids
 * --------------------------------------------------------------------------*/

static void
intern_init(InternTable *t, const char *name, MemoryContext cxt)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = LOAD_ID_MAXLEN + 1;
	ctl.entrysize = sizeof(InternEntry);
	ctl.hcxt = cxt;
	t->htab = hash_create(name, 1024, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	t->cap = 1024;
	t->datums = MemoryContextAlloc(cxt, sizeof(Datum) * t->cap);
	t->written = MemoryContextAllocZero(cxt, sizeof(bool) * t->cap);
	t->n = 0;
	t->nwritten = 0;
}

/*
 * Look up (create: add) an id, trimmed of spaces and tabs.  Returns the entry,
 * NULL when absent and not created; *why is set for an id that cannot be one.
 */
static InternEntry *
intern_lookup(LoadState *ls, InternTable *t, const char *s, size_t len, bool create,
			  const char **why)
{
	char		key[LOAD_ID_MAXLEN + 1];
	InternEntry *e;
	InternEntry **slot;
	uint32		h = 2166136261;
	bool		found;

	*why = NULL;
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0)
	{
		*why = "id is empty";
		return NULL;
	}
	if (len > LOAD_ID_MAXLEN)
	{
		*why = "id is longer than 128 bytes";
		return NULL;
	}
	/* FNV-1a over the id: an entry seen before with these bytes is the answer */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char) s[i]) * 16777619;
	slot = &t->recent[h & (INTERN_RECENT - 1)];
	if (*slot != NULL && memcmp((*slot)->key, s, len) == 0 && (*slot)->key[len] == '\0')
		return *slot;
	if (!text_ok(s, len))
	{
		*why = "id is not valid text in the database encoding";
		return NULL;
	}
	memcpy(key, s, len);
	key[len] = '\0';
	e = hash_search(t->htab, key, create ? HASH_ENTER : HASH_FIND, &found);
	if (e != NULL)
		*slot = e;				/* entries of a dynahash table never move */
	if (e == NULL || found)
		return e;
	if (t->n == t->cap)
	{
		t->cap *= 2;
		t->datums = repalloc(t->datums, sizeof(Datum) * t->cap);
		t->written = repalloc(t->written, sizeof(bool) * t->cap);
		memset(t->written + t->n, 0, sizeof(bool) * (t->cap - t->n));
	}
	e->index = t->n;
	e->known = false;
	t->datums[t->n] = PointerGetDatum(MemoryContextAlloc(ls->cxt, VARHDRSZ + len));
	SET_VARSIZE(DatumGetPointer(t->datums[t->n]), VARHDRSZ + len);
	memcpy(VARDATA(DatumGetPointer(t->datums[t->n])), key, len);
	t->n++;
	return e;
}

bool
load_register_store(LoadState *ls, const char *id, int len, int32 *index)
{
	const char *why;
	InternEntry *e = intern_lookup(ls, &ls->priv->stores, id, len, true, &why);
	bool		was_known;

	if (e == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("bad store id \"%s\" in file %s", safe_copy(id, len, 80), ls->priv->cur_file),
				 errdetail("%s", why)));
	was_known = e->known;
	e->known = true;
	*index = e->index;
	return !was_known;
}

int32
load_field_store(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col, bool known_only)
{
	const char *why;
	InternEntry *e = intern_lookup(ls, &ls->priv->stores, rec->fields[col], rec->lengths[col],
								   !known_only, &why);

	if (why != NULL)
	{
		load_reject(ls, field_is_missing(rec->fields[col], rec->lengths[col]) ?
					REJECT_REQUIRED_NULL : REJECT_BAD_ID, r, rec, col, why);
		return -1;
	}
	if (e == NULL || (known_only && !e->known))
	{
		load_reject(ls, REJECT_UNKNOWN_STORE, r, rec, col, "store is not in the store master");
		return -1;
	}
	return e->index;
}

int32
load_field_product(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col)
{
	const char *why;
	InternEntry *e = intern_lookup(ls, &ls->priv->products, rec->fields[col], rec->lengths[col],
								   true, &why);

	if (e == NULL)
	{
		load_reject(ls, field_is_missing(rec->fields[col], rec->lengths[col]) ?
					REJECT_REQUIRED_NULL : REJECT_BAD_ID, r, rec, col, why);
		return -1;
	}
	return e->index;
}

int32
load_product_constant(LoadState *ls, const char *id)
{
	const char *why;
	InternEntry *e = intern_lookup(ls, &ls->priv->products, id, strlen(id), true, &why);

	if (e == NULL)
		elog(ERROR, "bad constant product id \"%s\": %s", id, why);
	return e->index;
}

bool
load_register_product(LoadState *ls, const char *id, int len, int32 *index)
{
	const char *why;
	InternEntry *e = intern_lookup(ls, &ls->priv->products, id, len, true, &why);
	bool		was_known;

	if (e == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("bad product id \"%s\" in file %s", safe_copy(id, len, 80), ls->priv->cur_file),
				 errdetail("%s", why)));
	was_known = e->known;
	e->known = true;
	*index = e->index;
	return !was_known;
}

/* Intern a transformed id; rejects as load_field_store/product do. */
static int32
intern_value(LoadState *ls, InternTable *t, CsvReader *r, const CsvRecord *rec, int col,
			 const char *id, size_t len, bool known_only, LoadRejectReason unknown,
			 const char *unknown_detail)
{
	const char *why;
	InternEntry *e = intern_lookup(ls, t, id, len, !known_only, &why);

	if (why != NULL)
	{
		load_reject(ls, field_is_missing(id, len) ? REJECT_REQUIRED_NULL : REJECT_BAD_ID,
					r, rec, col, why);
		return -1;
	}
	if (e == NULL || (known_only && !e->known))
	{
		load_reject(ls, unknown, r, rec, col, unknown_detail);
		return -1;
	}
	return e->index;
}

int32
load_store_value(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
				 const char *id, size_t len, bool known_only)
{
	return intern_value(ls, &ls->priv->stores, r, rec, col, id, len, known_only,
						REJECT_UNKNOWN_STORE, "store is not in the store master");
}

int32
load_product_value(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col,
				   const char *id, size_t len, bool known_only)
{
	return intern_value(ls, &ls->priv->products, r, rec, col, id, len, known_only,
						REJECT_UNKNOWN_PRODUCT, "product is not in the product master");
}

Datum
load_store_datum(LoadState *ls, int32 store)
{
	return ls->priv->stores.datums[store];
}

Datum
load_product_datum(LoadState *ls, int32 product)
{
	return ls->priv->products.datums[product];
}

/* ---------------------------------------------------------------------------
 * Key sets, duplicates, writing
 * --------------------------------------------------------------------------*/

LoadKeySet *
load_keyset_create(LoadState *ls, const char *name)
{
	LoadKeySet *set = MemoryContextAlloc(ls->cxt, sizeof(LoadKeySet));
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Key3);
	ctl.entrysize = sizeof(Key3);
	ctl.hcxt = ls->cxt;
	set->htab = hash_create(name, 65536, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	return set;
}

bool
load_keyset_add(LoadKeySet *set, int32 a, int32 b, int32 c)
{
	Key3		key;
	bool		found;

	key.a = a;
	key.b = b;
	key.c = c;
	hash_search(set->htab, &key, HASH_ENTER, &found);
	return !found;
}

static SeriesEntry *
series_entry(LoadPrivate *p, int32 store, int32 product)
{
	SeriesKey	key;
	SeriesEntry *e;
	bool		found;

	if (p->last_series != NULL && p->last_series->key.store == store &&
		p->last_series->key.product == product)
		return p->last_series;
	/* date-major files change store every row: each store remembers its last */
	if (store < p->store_series_cap && p->store_series[store] != NULL &&
		p->store_series[store]->key.product == product)
	{
		p->last_series = p->store_series[store];
		return p->last_series;
	}
	key.store = store;
	key.product = product;
	e = hash_search(p->series, &key, HASH_ENTER, &found);
	if (!found)
	{
		e->written = false;
		e->base = 0;
		e->nbits = 0;
		e->bits = NULL;
	}
	p->last_series = e;
	if (store >= p->store_series_cap)
	{
		int32		newcap = Max(Max(p->store_series_cap * 2, 1024), store + 1);

		p->store_series = p->store_series
			? repalloc(p->store_series, sizeof(SeriesEntry *) * newcap)
			: MemoryContextAlloc(GetMemoryChunkContext(p), sizeof(SeriesEntry *) * newcap);
		memset(p->store_series + p->store_series_cap, 0,
			   sizeof(SeriesEntry *) * (newcap - p->store_series_cap));
		p->store_series_cap = newcap;
	}
	p->store_series[store] = e;	/* entries of a dynahash table never move */
	return e;
}

/* Set the bit of day in the series' bitmap; false if it was set already. */
static bool
series_claim_day(LoadState *ls, SeriesEntry *e, int32 day)
{
	int64		off;
	uint64		mask;

	if (e->bits == NULL || day < e->base || (int64) day >= (int64) e->base + e->nbits)
	{
		/* (re)allocate with room around the old range and the new day */
		int32		lo = e->bits ? Min(e->base, day) : day;
		int32		hi = e->bits ? Max(e->base + e->nbits - 1, day) : day;
		int32		slack = Max(64, (hi - lo) / 2);
		int32		nlo = lo - slack;
		int32		nbits = TYPEALIGN(64, (hi - lo) + 2 * slack + 1);
		uint64	   *bits = MemoryContextAllocZero(ls->cxt, nbits / 8);

		for (int32 i = 0; e->bits && i < e->nbits; i++)
			if (e->bits[i / 64] & (UINT64CONST(1) << (i % 64)))
			{
				int32		j = i + e->base - nlo;

				bits[j / 64] |= UINT64CONST(1) << (j % 64);
			}
		if (e->bits)
			pfree(e->bits);
		e->bits = bits;
		e->base = nlo;
		e->nbits = nbits;
	}
	off = (int64) day - e->base;
	mask = UINT64CONST(1) << (off % 64);
	if (e->bits[off / 64] & mask)
		return false;
	e->bits[off / 64] |= mask;
	return true;
}

bool
load_claim_key(LoadState *ls, CsvReader *r, const CsvRecord *rec,
			   int32 store, int32 product, int32 day)
{
	if (series_claim_day(ls, series_entry(ls->priv, store, product), day))
		return true;
	load_reject(ls, REJECT_DUPLICATE_KEY, r, rec, -1,
				"(store, product, date) already loaded from an earlier row");
	return false;
}

/* ---------------------------------------------------------------------------
 * Row buffer.  The writer builds the primary key fastest from a heap in key
 * order, and sorts rows that arrive otherwise (most files are date-major).
 * Here the key is known as small integers, so fact rows are held compactly
 * and ordered with an integer sort instead: stores and products are ranked
 * once by the bytes of their ids (the key's C collation), each row gets the
 * 64-bit key (store rank, product rank, day), and a radix sort orders the
 * keys.  The writer then receives the rows in key order and writes them
 * straight to the heap.  Rows beyond maintenance_work_mem are not held: the
 * buffer is handed over as it is and the writer's own (spilling) sort takes
 * over, as before.  Which rows are written is unchanged; only their order.
 * --------------------------------------------------------------------------*/

#ifdef __GNUC__
#define row_prefetch(p) __builtin_prefetch(p)
#else
#define row_prefetch(p) ((void) (p))
#endif

StaticAssertDecl(SALES_STORE_ID == 0 && SALES_PRODUCT_ID == 1 && SALES_SALE_DATE == 2,
				 "the row buffer keeps the first three sales columns as its key");

static void
row_layout(RowBuffer *b)
{
	int			n = 0;

	for (int c = 0; c < SALES_NCOLUMNS; c++)
	{
		if (c <= SALES_SALE_DATE)
			b->slot[c] = -2;
		else if (sales_column_is_bool(c))
			b->slot[c] = -1;
		else
		{
			if (n == ROW_NVALUES)
				elog(ERROR, "shelfops load: too many non-boolean sales columns for the row buffer");
			b->slot[c] = n++;
		}
	}
	b->layout_ready = true;
}

/* The writer's non-key columns from a buffered row. */
static inline void
row_unpack(RowBuffer *b, const BufferedRow *r, SalesWriter *w)
{
	for (int c = SALES_SALE_DATE + 1; c < SALES_NCOLUMNS; c++)
	{
		int			v = b->slot[c];

		w->nulls[c] = (r->nulls & (1U << c)) != 0;
		if (v >= 0)
			w->values[c] = r->values[v];
		else
			w->values[c] = BoolGetDatum((r->bools & (1U << c)) != 0);
	}
}

/*
 * Fill the writer's store, product and date, and add the prepared row.
 * stable: its text values live until sales_writer_end (interned ids, the
 * buffer's text), so the writer need not copy them.
 */
static void
hand_over(LoadState *ls, int32 store, int32 product, int32 day, bool stable)
{
	LoadPrivate *p = ls->priv;
	SalesWriter *w = ls->writer;

	w->values[SALES_STORE_ID] = p->stores.datums[store];
	w->nulls[SALES_STORE_ID] = false;
	w->values[SALES_PRODUCT_ID] = p->products.datums[product];
	w->nulls[SALES_PRODUCT_ID] = false;
	sales_set_date(w, SALES_SALE_DATE, day);
	if (stable)
		sales_writer_add_stable(w);
	else
		sales_writer_add(w);
}

static Size
row_buffer_budget(void)
{
	return (Size) maintenance_work_mem * 1024;
}

/* A text value in the buffer's memory: a recent equal one, or a copy. */
static Datum
row_buffer_text(RowBuffer *b, int v, Datum value)
{
	text	   *t = (text *) DatumGetPointer(value);
	Size		len = VARSIZE_ANY(t);
	text	   *copy;

	for (int i = 0; i < b->nrecent[v]; i++)
	{
		text	   *r = b->recent[v][i];

		if (VARSIZE_ANY(r) == len && memcmp(r, t, len) == 0)
			return PointerGetDatum(r);
	}
	copy = MemoryContextAlloc(b->text_cxt, len);
	memcpy(copy, t, len);
	b->text_bytes += len + 16;	/* with the chunk header, roughly */
	b->recent[v][b->next_recent[v]] = copy;
	b->next_recent[v] = (b->next_recent[v] + 1) % ROW_TEXT_CACHE;
	if (b->nrecent[v] < ROW_TEXT_CACHE)
		b->nrecent[v]++;
	return PointerGetDatum(copy);
}

/* Over budget: give the writer what is held, in arrival order, and stop holding. */
static void
row_buffer_spill(LoadState *ls)
{
	RowBuffer  *b = &ls->priv->buf;
	SalesWriter *w = ls->writer;

	elog(DEBUG1, "shelfops load: more than maintenance_work_mem of rows after " UINT64_FORMAT
		 " rows; the sales writer sorts them", b->n);
	for (uint64 i = 0; i < b->n; i++)
	{
		BufferedRow *r = &b->rows[i];

		row_unpack(b, r, w);
		hand_over(ls, r->store, r->product, r->day, false);
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	b->spilled = true;
	if (b->rows)
		pfree(b->rows);
	b->rows = NULL;
	b->n = b->cap = 0;
	/* the writer has copied the values: the text copies can go */
	MemoryContextReset(b->text_cxt);
	b->text_bytes = 0;
	/* the row prepared by the family is still in the writer: restore its key */
	sales_writer_row_init(w);
}

static void
row_buffer_add(LoadState *ls, int32 store, int32 product, int32 day)
{
	LoadPrivate *p = ls->priv;
	RowBuffer  *b = &p->buf;
	SalesWriter *w = ls->writer;
	BufferedRow *r;

	if (b->n == b->cap)
	{
		uint64		newcap = b->cap ? b->cap * 2 : 65536;

		if ((newcap * sizeof(BufferedRow) + b->text_bytes) > row_buffer_budget())
			newcap = b->cap + b->cap / 4 + 1;
		if ((newcap * sizeof(BufferedRow) + b->text_bytes) > row_buffer_budget())
		{
			/* keep the current row: copy the family's values out first */
			Datum		values[SALES_NCOLUMNS];
			bool		nulls[SALES_NCOLUMNS];

			memcpy(values, w->values, sizeof(values));
			memcpy(nulls, w->nulls, sizeof(nulls));
			/* its text may live in the writer's row memory, which the spill resets */
			for (int c = 0; c < SALES_NCOLUMNS; c++)
			{
				if (!nulls[c] && sales_column_is_text(c))
				{
					Size		len = VARSIZE_ANY(DatumGetPointer(w->values[c]));
					void	   *copy = MemoryContextAlloc(ls->cxt, len);

					memcpy(copy, DatumGetPointer(w->values[c]), len);
					values[c] = PointerGetDatum(copy);
				}
			}
			row_buffer_spill(ls);
			memcpy(w->values, values, sizeof(values));
			memcpy(w->nulls, nulls, sizeof(nulls));
			hand_over(ls, store, product, day, false);
			return;
		}
		if (b->text_cxt == NULL)
			b->text_cxt = AllocSetContextCreate(ls->cxt, "shelfops load row text",
												ALLOCSET_DEFAULT_SIZES);
		b->rows = b->rows
			? repalloc_huge(b->rows, newcap * sizeof(BufferedRow))
			: MemoryContextAllocHuge(ls->cxt, newcap * sizeof(BufferedRow));
		b->cap = newcap;
	}
	r = &b->rows[b->n++];
	r->store = store;
	r->product = product;
	r->day = day;
	r->file = p->cur_file;
	r->line = p->cur_line;
	r->nulls = 0;
	r->bools = 0;
	if (!b->layout_ready)
		row_layout(b);
	for (int c = SALES_SALE_DATE + 1; c < SALES_NCOLUMNS; c++)
	{
		int			v = b->slot[c];

		if (w->nulls[c])
		{
			r->nulls |= 1U << c;
			if (v >= 0)
				r->values[v] = (Datum) 0;
		}
		else if (v < 0)
		{
			if (DatumGetBool(w->values[c]))
				r->bools |= 1U << c;
		}
		else if (sales_column_is_text(c))
			r->values[v] = row_buffer_text(b, v, w->values[c]);
		else
			r->values[v] = w->values[c];
	}
}

typedef struct RankArg
{
	Datum	   *datums;
} RankArg;

static int
cmp_id_bytes(const void *a, const void *b, void *arg)
{
	Datum	   *datums = ((RankArg *) arg)->datums;
	text	   *ta = (text *) DatumGetPointer(datums[*(const int32 *) a]);
	text	   *tb = (text *) DatumGetPointer(datums[*(const int32 *) b]);
	int			la = VARSIZE_ANY_EXHDR(ta);
	int			lb = VARSIZE_ANY_EXHDR(tb);
	int			r = memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), Min(la, lb));

	if (r != 0)
		return r;
	return (la > lb) - (la < lb);
}

/* rank[i]: position of id i in byte order of the ids. */
static uint32 *
rank_ids(InternTable *t)
{
	int32	   *order = palloc(sizeof(int32) * Max(t->n, 1));
	uint32	   *rank = palloc(sizeof(uint32) * Max(t->n, 1));
	RankArg		arg = {t->datums};

	for (int32 i = 0; i < t->n; i++)
		order[i] = i;
	qsort_arg(order, t->n, sizeof(int32), cmp_id_bytes, &arg);
	for (int32 i = 0; i < t->n; i++)
		rank[order[i]] = (uint32) i;
	pfree(order);
	return rank;
}

static int
bits_for(uint64 n)
{
	int			bits = 0;

	while (bits < 64 && (n >> bits) != 0)
		bits++;
	return bits;
}

typedef struct SortEntry
{
	uint64		key;
	uint64		row;
} SortEntry;

/* Order entries by key: least significant byte first, skipping constant bytes. */
static void
radix_sort(SortEntry *a, uint64 n, int keybits)
{
	SortEntry  *tmp = MemoryContextAllocHuge(CurrentMemoryContext, n * sizeof(SortEntry));
	SortEntry  *src = a;
	SortEntry  *dst = tmp;

	for (int shift = 0; shift < keybits; shift += 8)
	{
		uint64		count[256] = {0};
		uint64		pos = 0;
		bool		constant = false;

		for (uint64 i = 0; i < n; i++)
			count[(src[i].key >> shift) & 0xFF]++;
		for (int d = 0; d < 256; d++)
		{
			uint64		c = count[d];

			if (c == n)
				constant = true;
			count[d] = pos;
			pos += c;
		}
		if (constant)
			continue;
		for (uint64 i = 0; i < n; i++)
			dst[count[(src[i].key >> shift) & 0xFF]++] = src[i];
		CHECK_FOR_INTERRUPTS();
		{
			SortEntry  *swap = src;

			src = dst;
			dst = swap;
		}
	}
	if (src != a)
		memcpy(a, src, n * sizeof(SortEntry));
	pfree(tmp);
}

typedef struct RowCmpArg
{
	BufferedRow *rows;
	uint32	   *store_rank;
	uint32	   *product_rank;
} RowCmpArg;

static int
cmp_rows(const void *a, const void *b, void *arg)
{
	RowCmpArg  *x = (RowCmpArg *) arg;
	BufferedRow *ra = &x->rows[((const SortEntry *) a)->row];
	BufferedRow *rb = &x->rows[((const SortEntry *) b)->row];
	uint32		sa = x->store_rank[ra->store],
				sb = x->store_rank[rb->store];
	uint32		pa = x->product_rank[ra->product],
				pb = x->product_rank[rb->product];

	if (sa != sb)
		return sa < sb ? -1 : 1;
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return (ra->day > rb->day) - (ra->day < rb->day);
}

/*
 * Hand the held rows to the writer in (store, product, date) order, each with
 * the file and line it came from as the error context.
 */
static void
row_buffer_flush(LoadState *ls)
{
	LoadPrivate *p = ls->priv;
	RowBuffer  *b = &p->buf;
	SalesWriter *w = ls->writer;
	uint32	   *store_rank;
	uint32	   *product_rank;
	SortEntry  *order;
	int			sbits,
				pbits,
				dbits;

	if (b->spilled || b->n == 0)
		return;
	store_rank = rank_ids(&p->stores);
	product_rank = rank_ids(&p->products);
	order = MemoryContextAllocHuge(CurrentMemoryContext, b->n * sizeof(SortEntry));
	sbits = bits_for((uint64) Max(p->stores.n, 1) - 1);
	pbits = bits_for((uint64) Max(p->products.n, 1) - 1);
	dbits = bits_for((uint64) ((int64) p->date_max - p->date_min));
	if (sbits + pbits + dbits <= 64)
	{
		for (uint64 i = 0; i < b->n; i++)
		{
			BufferedRow *r = &b->rows[i];
			uint64		key = store_rank[r->store];

			key = (pbits ? (key << pbits) : key) | product_rank[r->product];
			key = (dbits ? (key << dbits) : key) | (uint64) ((int64) r->day - p->date_min);
			order[i].key = key;
			order[i].row = i;
		}
		radix_sort(order, b->n, sbits + pbits + dbits);
	}
	else
	{
		RowCmpArg	arg = {b->rows, store_rank, product_rank};

		for (uint64 i = 0; i < b->n; i++)
			order[i].row = i;
		qsort_arg(order, b->n, sizeof(SortEntry), cmp_rows, &arg);
	}

	for (uint64 i = 0; i < b->n; i++)
	{
		BufferedRow *r = &b->rows[order[i].row];

		/* the rows are read in scattered order: ask for later ones early */
		if (i + 8 < b->n)
		{
			const char *ahead = (const char *) &b->rows[order[i + 8].row];

			row_prefetch(ahead);
			row_prefetch(ahead + 64);
			row_prefetch(ahead + sizeof(BufferedRow) - 1);
		}
		p->cur_file = r->file;
		p->cur_line = r->line;
		row_unpack(b, r, w);
		hand_over(ls, r->store, r->product, r->day, true);
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(order);
	pfree(store_rank);
	pfree(product_rank);
	pfree(b->rows);
	b->rows = NULL;
	b->n = b->cap = 0;
	/* text_cxt stays: the writer holds its values until sales_writer_end */
}

void
load_write_row(LoadState *ls, int32 store, int32 product, int32 day)
{
	LoadPrivate *p = ls->priv;
	SeriesEntry *e = series_entry(p, store, product);

	if (!e->written)
	{
		e->written = true;
		p->nseries++;
	}
	if (!p->stores.written[store])
	{
		p->stores.written[store] = true;
		p->stores.nwritten++;
	}
	if (!p->products.written[product])
	{
		p->products.written[product] = true;
		p->products.nwritten++;
	}
	if (p->rows_written == 0 || day < p->date_min)
		p->date_min = day;
	if (p->rows_written == 0 || day > p->date_max)
		p->date_max = day;
	p->rows_written++;
	if (p->buf.spilled)
		hand_over(ls, store, product, day, false);
	else
		row_buffer_add(ls, store, product, day);
}

/* ---------------------------------------------------------------------------
 * Side files
 * --------------------------------------------------------------------------*/

void
load_side_fail(CsvReader *r, const CsvRecord *rec, int col, const char *fmt,...)
{
	char		buf[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	csv_reader_set_field_error(r, rec, col, "%s", buf);
	csv_reader_raise(r);
}

bool
load_next_side(LoadState *ls, CsvReader *r, CsvRecord *rec)
{
	int			ncols;
	int			rc;

	csv_reader_header(r, &ncols);
	CHECK_FOR_INTERRUPTS();
	rc = csv_reader_next(r, rec);
	if (rc == CSV_EOF)
		return false;
	if (rc != CSV_OK)
		csv_reader_raise(r);
	ls->priv->cur_line = rec->line;
	if (rec->nfields != ncols)
		load_side_fail(r, rec, Min(rec->nfields, ncols), "expected %d fields, found %d",
					   ncols, rec->nfields);
	return true;
}

static const char *
field_preview(const CsvRecord *rec, int col)
{
	return safe_copy(rec->fields[col], rec->lengths[col], LOAD_FIELD_TEXT_BYTES);
}

bool
load_side_text(CsvReader *r, const CsvRecord *rec, int col, Datum *value)
{
	const char *s = rec->fields[col];
	size_t		len = rec->lengths[col];

	if (field_is_missing(s, len))
		return false;
	if (!text_ok(s, len))
		load_side_fail(r, rec, col, "not valid text in the database encoding");
	*value = PointerGetDatum(cstring_to_text_with_len(s, (int) len));
	return true;
}

bool
load_side_float(CsvReader *r, const CsvRecord *rec, int col, double *value)
{
	const char *why;

	if (field_is_missing(rec->fields[col], rec->lengths[col]))
		return false;
	if (!field_parse_float8(rec->fields[col], rec->lengths[col], value, &why))
		load_side_fail(r, rec, col, "%s: \"%s\"", why, field_preview(rec, col));
	return true;
}

bool
load_side_int(CsvReader *r, const CsvRecord *rec, int col, int32 *value)
{
	const char *why;

	if (field_is_missing(rec->fields[col], rec->lengths[col]))
		return false;
	if (!field_parse_int32(rec->fields[col], rec->lengths[col], value, &why))
		load_side_fail(r, rec, col, "%s: \"%s\"", why, field_preview(rec, col));
	return true;
}

bool
load_side_flag(CsvReader *r, const CsvRecord *rec, int col, bool *value)
{
	const char *why;

	if (field_is_missing(rec->fields[col], rec->lengths[col]))
		return false;
	if (!field_parse_bool(rec->fields[col], rec->lengths[col], value, &why))
		load_side_fail(r, rec, col, "%s: \"%s\"", why, field_preview(rec, col));
	return true;
}

bool
load_side_date(CsvReader *r, const CsvRecord *rec, int col, int32 *day)
{
	const char *why;

	if (field_is_missing(rec->fields[col], rec->lengths[col]))
		return false;
	if (!field_parse_date_iso(rec->fields[col], rec->lengths[col], day, &why))
		load_side_fail(r, rec, col, "%s: \"%s\"", why, field_preview(rec, col));
	return true;
}

int32
load_side_known_store(LoadState *ls, CsvReader *r, const CsvRecord *rec, int col)
{
	const char *why;
	InternEntry *e = intern_lookup(ls, &ls->priv->stores, rec->fields[col], rec->lengths[col],
								   false, &why);

	if (why != NULL)
		load_side_fail(r, rec, col, "%s", why);
	if (e == NULL || !e->known)
		load_side_fail(r, rec, col, "store \"%s\" is not in the store master", field_preview(rec, col));
	return e->index;
}

/* ---------------------------------------------------------------------------
 * Side tables: one INSERT ... SELECT FROM unnest(arrays)
 * --------------------------------------------------------------------------*/

struct LoadBatch
{
	const char *table;
	int			ncols;
	const char *const *columns;
	const Oid  *types;
	ArrayBuildState **acc;
	uint64		nrows;
};

LoadBatch *
load_batch_begin(LoadState *ls, const char *table, int ncols,
				 const char *const *columns, const Oid *types)
{
	LoadBatch  *b = MemoryContextAlloc(ls->cxt, sizeof(LoadBatch));

	b->table = table;
	b->ncols = ncols;
	b->columns = columns;
	b->types = types;
	b->nrows = 0;
	b->acc = MemoryContextAlloc(ls->cxt, sizeof(ArrayBuildState *) * ncols);
	for (int i = 0; i < ncols; i++)
		b->acc[i] = initArrayResult(types[i], ls->cxt, false);
	return b;
}

void
load_batch_add(LoadBatch *b, const Datum *values, const bool *nulls)
{
	for (int i = 0; i < b->ncols; i++)
		accumArrayResult(b->acc[i], values[i], nulls[i], b->types[i], b->acc[i]->mcontext);
	b->nrows++;
}

static void
spi_connect_or_error(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

uint64
load_batch_insert(LoadState *ls, LoadBatch *b)
{
	StringInfoData sql;
	int			nargs = b->ncols + 2;
	Oid		   *argtypes = palloc(sizeof(Oid) * nargs);
	Datum	   *args = palloc(sizeof(Datum) * nargs);
	int			rc;

	if (b->nrows == 0)
		return 0;
	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO shelfops.%s (tenant_id, dataset_id", quote_identifier(b->table));
	for (int i = 0; i < b->ncols; i++)
		appendStringInfo(&sql, ", %s", quote_identifier(b->columns[i]));
	appendStringInfoString(&sql, ") SELECT $1, $2, u.* FROM unnest(");
	for (int i = 0; i < b->ncols; i++)
		appendStringInfo(&sql, "%s$%d", i ? ", " : "", i + 3);
	appendStringInfoString(&sql, ") AS u");

	argtypes[0] = TEXTOID;
	argtypes[1] = TEXTOID;
	args[0] = CStringGetTextDatum(ls->tenant_id);
	args[1] = CStringGetTextDatum(ls->dataset_id);
	for (int i = 0; i < b->ncols; i++)
	{
		argtypes[i + 2] = get_array_type(b->types[i]);
		args[i + 2] = makeArrayResult(b->acc[i], CurrentMemoryContext);
	}
	spi_connect_or_error();
	rc = SPI_execute_with_args(sql.data, nargs, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "insert into shelfops.%s failed: %s", b->table, SPI_result_code_string(rc));
	if (SPI_processed != b->nrows)
		elog(ERROR, "inserted " UINT64_FORMAT " rows into shelfops.%s, expected " UINT64_FORMAT,
			 (uint64) SPI_processed, b->table, b->nrows);
	SPI_finish();
	return b->nrows;
}

void
load_note_side_rows(LoadState *ls, const char *table, uint64 rows)
{
	LoadPrivate *p = ls->priv;

	if (p->side_rows.len > 0)
		appendStringInfoString(&p->side_rows, ", ");
	escape_json(&p->side_rows, table);
	appendStringInfo(&p->side_rows, ": " UINT64_FORMAT, rows);
}

/* ---------------------------------------------------------------------------
 * Thresholds
 * --------------------------------------------------------------------------*/

/*
 * Apply a dq_thresholds object (the argument, or a contract's) over the
 * current thresholds.
 */
static void
thresholds_apply(LoadPrivate *p, Datum thresholds)
{
	Oid			argtypes[1] = {JSONBOID};
	Datum		args[1];
	int			rc;

	args[0] = thresholds;
	spi_connect_or_error();
	{
		char	   *typ;

		rc = SPI_execute_with_args("SELECT jsonb_typeof($1)", 1, argtypes, args, NULL, true, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not read dq_thresholds: %s", SPI_result_code_string(rc));
		typ = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (typ == NULL || strcmp(typ, "object") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("dq_thresholds must be a JSON object, not %s", typ ? typ : "null")));
		SPI_execute_with_args("SELECT k, jsonb_typeof(v), v #>> '{}' FROM jsonb_each($1) AS e(k, v)",
							  1, argtypes, args, NULL, true, 0);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			char	   *key = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
			char	   *vtype = SPI_getvalue(tup, SPI_tuptable->tupdesc, 2);
			char	   *vtext = SPI_getvalue(tup, SPI_tuptable->tupdesc, 3);
			int			t;
			bool		for_validation = false;
			double		v;

			for (int j = 0; threshold_keys_for_validation[j]; j++)
				if (strcmp(key, threshold_keys_for_validation[j]) == 0)
					for_validation = true;
			if (for_validation)
				continue;
			for (t = 0; t < LOAD_NTHRESHOLDS; t++)
				if (strcmp(key, threshold_defs[t].key) == 0)
					break;
			if (t == LOAD_NTHRESHOLDS)
			{
				StringInfoData keys;

				initStringInfo(&keys);
				for (int j = 0; j < LOAD_NTHRESHOLDS; j++)
					appendStringInfo(&keys, "%s%s", j ? ", " : "", threshold_defs[j].key);
				for (int j = 0; threshold_keys_for_validation[j]; j++)
					appendStringInfo(&keys, ", %s", threshold_keys_for_validation[j]);
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown dq_thresholds key \"%s\"", key),
						 errdetail("Known keys: %s.", keys.data)));
			}
			if (strcmp(vtype, "number") != 0 ||
				!field_parse_float8(vtext, strlen(vtext), &v, NULL) || v < 0 || v > 1)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("dq_thresholds key \"%s\" must be a number from 0 to 1, not %s",
								key, vtext ? vtext : "null")));
			p->threshold[t] = v;
		}
	}
	SPI_finish();
}

static void
thresholds_init(LoadPrivate *p, Datum thresholds, bool isnull, const ContractProfile *contract)
{
	for (int t = 0; t < LOAD_NTHRESHOLDS; t++)
		p->threshold[t] = threshold_defs[t].deflt;
	if (contract != NULL)
		thresholds_apply(p, contract_dq_thresholds(contract));
	if (!isnull)
		thresholds_apply(p, thresholds);
}

/* Fail the load when any threshold is passed; see docs/loading.md. */
static void
check_thresholds(LoadState *ls)
{
	LoadPrivate *p = ls->priv;

	for (int t = 0; t < LOAD_NTHRESHOLDS; t++)
	{
		uint64		bad = 0;
		int			first = -1;
		double		rate;
		double		observed;
		double		allowed;
		bool		passed;
		const ThresholdDef *def = &threshold_defs[t];
		KeptReject *k;
		StringInfoData detail;

		for (int reason = 0; reason < LOAD_NREASONS; reason++)
		{
			if (reason_defs[reason].threshold != (LoadThreshold) t || p->reject_count[reason] == 0)
				continue;
			bad += p->reject_count[reason];
			if (first < 0 || p->first_kept[reason] < first)
				first = p->first_kept[reason];
		}
		if (bad == 0)
			continue;
		rate = (double) bad / (double) Max(ls->rows_read, 1);
		if (def->is_min_success)
		{
			observed = 1.0 - rate;
			allowed = p->threshold[t];
			passed = observed < allowed;
		}
		else
		{
			observed = rate;
			allowed = p->threshold[t];
			passed = observed > allowed;
		}
		if (!passed)
			continue;

		k = &p->kept[first];
		initStringInfo(&detail);
		appendStringInfo(&detail, "First bad row: file %s, line %ld", k->file, k->line);
		if (k->column)
			appendStringInfo(&detail, ", column %s, value \"%s\"", k->column, k->field);
		appendStringInfo(&detail, ": %s%s", k->detail ? k->detail : "rejected",
						 k->column ? "" : psprintf(" (record: %s)", k->raw));
		appendStringInfo(&detail, ". Observed %s %.4f, allowed %s %.4f (" UINT64_FORMAT
						 " of " UINT64_FORMAT " rows).",
						 def->what, observed, def->is_min_success ? "at least" : "at most",
						 allowed, bad, ls->rows_read);
		ereport(ERROR,
				(errcode(k->reason == REJECT_FIELD_COUNT ? ERRCODE_BAD_COPY_FILE_FORMAT
						 : ERRCODE_DATA_EXCEPTION),
				 errmsg("too many rejected rows in %s: %s", k->file, reason_defs[k->reason].name),
				 errdetail_internal("%s", detail.data),
				 errhint("Fix the file, or raise \"%s\" in dq_thresholds.", def->key)));
	}
}

static void
insert_rejects(LoadState *ls)
{
	LoadPrivate *p = ls->priv;
	static const char *const cols[] = {"reject_no", "file", "line", "reason", "column_name",
	"raw_text", "detail"};
	static const Oid types[] = {INT4OID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	LoadBatch  *b;

	if (p->nkept == 0)
		return;
	b = load_batch_begin(ls, "load_rejects", lengthof(cols), cols, types);
	for (int i = 0; i < p->nkept; i++)
	{
		KeptReject *k = &p->kept[i];
		Datum		v[7];
		bool		n[7] = {false, false, false, false, k->column == NULL, false, k->detail == NULL};

		v[0] = Int32GetDatum(i + 1);
		v[1] = CStringGetTextDatum(k->file);
		v[2] = Int64GetDatum(k->line);
		v[3] = CStringGetTextDatum(reason_defs[k->reason].name);
		v[4] = k->column ? CStringGetTextDatum(k->column) : (Datum) 0;
		v[5] = CStringGetTextDatum(k->raw);
		v[6] = k->detail ? CStringGetTextDatum(k->detail) : (Datum) 0;
		load_batch_add(b, v, n);
	}
	load_batch_insert(ls, b);
}

/* ---------------------------------------------------------------------------
 * The dataset row
 * --------------------------------------------------------------------------*/

static bool
delete_dataset(const char *tenant, const char *dataset)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {CStringGetTextDatum(tenant), CStringGetTextDatum(dataset)};
	int			rc;
	bool		deleted;

	/* empty the old sales partition at once; the cascade below then skips it */
	sales_discard_dataset(tenant, dataset);
	spi_connect_or_error();
	rc = SPI_execute_with_args("DELETE FROM shelfops.datasets WHERE tenant_id = $1 AND dataset_id = $2",
							   2, types, args, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not delete the old dataset row: %s", SPI_result_code_string(rc));
	deleted = SPI_processed > 0;
	SPI_finish();
	return deleted;
}

static void
insert_dataset(LoadState *ls)
{
	const LoadFamily *f = ls->family;
	Oid			types[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[8];
	int			rc;

	args[0] = CStringGetTextDatum(ls->tenant_id);
	args[1] = CStringGetTextDatum(ls->dataset_id);
	args[2] = CStringGetTextDatum(f->name);
	args[3] = CStringGetTextDatum(f->frequency);
	args[4] = CStringGetTextDatum(f->country_code);
	args[5] = CStringGetTextDatum(f->grain);
	args[6] = CStringGetTextDatum(f->target_unit);
	args[7] = CStringGetTextDatum(ls->source ? ls->source->path : ls->dir);
	spi_connect_or_error();
	rc = SPI_execute_with_args("INSERT INTO shelfops.datasets (tenant_id, dataset_id, family, frequency, "
							   "country_code, grain, target_unit, source_path, readiness) "
							   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')",
							   8, types, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not insert the dataset row: %s", SPI_result_code_string(rc));
	SPI_finish();
}

static char *
build_report(LoadState *ls, bool replaced, double total_seconds)
{
	LoadPrivate *p = ls->priv;
	StringInfoData buf;
	bool		any = false;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"family\": ");
	escape_json(&buf, ls->family->name);
	appendStringInfo(&buf, ", \"replaced\": %s", replaced ? "true" : "false");
	appendStringInfo(&buf, ", \"rows_read\": " UINT64_FORMAT ", \"rows_written\": " UINT64_FORMAT
					 ", \"aggregated_rows\": " UINT64_FORMAT,
					 ls->rows_read, p->rows_written, ls->aggregated_rows);
	appendStringInfoString(&buf, ", \"rejected\": {");
	for (int r = 0; r < LOAD_NREASONS; r++)
	{
		if (p->reject_count[r] == 0)
			continue;
		appendStringInfo(&buf, "%s\"%s\": " UINT64_FORMAT, any ? ", " : "",
						 reason_defs[r].name, p->reject_count[r]);
		any = true;
	}
	appendStringInfo(&buf, "}, \"rejects_kept\": %d", p->nkept);
	appendStringInfo(&buf, ", \"side_rows\": {%s}", p->side_rows.data);
	if (ls->family_report != NULL)
	{
		appendStringInfoString(&buf, ", ");
		escape_json(&buf, ls->family->name);
		appendStringInfo(&buf, ": %s", ls->family_report);
	}
	appendStringInfoString(&buf, ", \"thresholds\": {");
	for (int t = 0; t < LOAD_NTHRESHOLDS; t++)
		appendStringInfo(&buf, "%s\"%s\": %g", t ? ", " : "", threshold_defs[t].key, p->threshold[t]);
	appendStringInfoString(&buf, "}, \"seconds\": {");
	for (int i = 0; i < p->nphases; i++)
		appendStringInfo(&buf, "\"%s\": %.3f, ", p->phase_name[i], p->phase_seconds[i]);
	appendStringInfo(&buf, "\"hash\": %.3f, \"total\": %.3f}}", p->hash_seconds, total_seconds);
	return buf.data;
}

static void
update_dataset(LoadState *ls, const char *report)
{
	LoadPrivate *p = ls->priv;
	Oid			types[10] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, INT4OID, INT4OID, INT4OID,
	DATEOID, DATEOID, TEXTOID};
	Datum		args[10];
	char		nulls[10];
	int			rc;

	memset(nulls, ' ', sizeof(nulls));
	args[0] = CStringGetTextDatum(ls->tenant_id);
	args[1] = CStringGetTextDatum(ls->dataset_id);
	args[2] = CStringGetTextDatum(psprintf("[%s]", p->source_files.data));
	args[3] = Int64GetDatum((int64) p->rows_written);
	args[4] = Int32GetDatum(p->stores.nwritten);
	args[5] = Int32GetDatum(p->products.nwritten);
	args[6] = Int32GetDatum((int32) p->nseries);
	args[7] = DateADTGetDatum(p->date_min);
	args[8] = DateADTGetDatum(p->date_max);
	args[9] = CStringGetTextDatum(report);
	spi_connect_or_error();
	rc = SPI_execute_with_args("UPDATE shelfops.datasets SET source_files = $3::jsonb, row_count = $4, "
							   "store_count = $5, product_count = $6, series_count = $7, "
							   "date_min = $8, date_max = $9, load_report = $10::jsonb, "
							   "readiness = 'pending', readiness_reason = NULL, validation = NULL, "
							   "validated_at = NULL, loaded_by = current_user, loaded_at = now() "
							   "WHERE tenant_id = $1 AND dataset_id = $2",
							   10, types, args, nulls, false, 0);
	if (rc != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "could not update the dataset row: %s", SPI_result_code_string(rc));
	SPI_finish();
}

/* ---------------------------------------------------------------------------
 * Detection
 * --------------------------------------------------------------------------*/

static char *
describe_layouts(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < (int) LOAD_NFAMILIES; i++)
	{
		const LoadFamily *f = load_families[i];

		if (f->detect_files[0] == NULL)
			continue;
		appendStringInfo(&buf, "%s%s = ", i ? "; " : "", f->name);
		for (int j = 0; f->detect_files[j]; j++)
			appendStringInfo(&buf, "%s%s", j ? " + " : "", f->detect_files[j]);
		for (int j = 0; f->required_files[j]; j++)
			appendStringInfo(&buf, " + %s", f->required_files[j]);
	}
	return buf.data;
}

/* Names of the family's files missing from the directory, or NULL. */
static char *
missing_files(const LoadFamily *f, const char *dir, const DirEntryInfo *entries, int n, bool detect_only)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int pass = 0; pass < (detect_only ? 1 : 2); pass++)
	{
		const char *const *files = pass == 0 ? f->detect_files : f->required_files;

		for (int j = 0; files[j]; j++)
			if (find_entry(dir, entries, n, files[j]) == NULL)
				appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", files[j]);
	}
	return buf.len ? buf.data : NULL;
}

const LoadFamily *
load_family_lookup(const char *name)
{
	StringInfoData names;

	for (int i = 0; i < (int) LOAD_NFAMILIES; i++)
		if (strcmp(name, load_families[i]->name) == 0)
			return load_families[i];
	initStringInfo(&names);
	appendStringInfoString(&names, "auto");
	for (int i = 0; i < (int) LOAD_NFAMILIES; i++)
		appendStringInfo(&names, ", %s", load_families[i]->name);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown dataset family \"%s\"", name),
			 errdetail("Known families: %s.", names.data)));
	return NULL;				/* keep the compiler quiet */
}

static const LoadFamily *
detect_family(const char *dir, const char *requested)
{
	DirEntryInfo *entries;
	int			n;
	const LoadFamily *family = NULL;
	char	   *missing;

	entries = list_directory(dir, &n);
	if (strcmp(requested, "auto") == 0)
	{
		for (int i = 0; i < (int) LOAD_NFAMILIES && family == NULL; i++)
			if (load_families[i]->detect_files[0] != NULL &&
				missing_files(load_families[i], dir, entries, n, true) == NULL)
				family = load_families[i];
		if (family == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("no dataset layout recognised in \"%s\"", dir),
					 errdetail("Found: %s.", describe_entries(entries, n)),
					 errhint("Recognised layouts (each .csv may also be .csv.gz): %s.", describe_layouts())));
	}
	else
		family = load_family_lookup(requested);
	missing = missing_files(family, dir, entries, n, false);
	if (missing != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("directory \"%s\" lacks files the %s loader needs: %s", dir, family->name, missing),
				 errdetail("Found: %s.", describe_entries(entries, n)),
				 errhint("Recognised layouts (each .csv may also be .csv.gz): %s.", describe_layouts())));
	if (family->load == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s loader not yet available", family->name),
				 errdetail("Directory \"%s\" has the %s layout.", dir, family->name)));
	return family;
}

/* ---------------------------------------------------------------------------
 * Entry point
 * --------------------------------------------------------------------------*/

static void
load_error_context(void *arg)
{
	LoadState  *ls = (LoadState *) arg;

	if (ls->priv->cur_file != NULL)
		errcontext("loading dataset \"%s\" (%s), file %s, line %ld",
				   ls->dataset_id, ls->family->name, ls->priv->cur_file, ls->priv->cur_line);
	else
		errcontext("loading dataset \"%s\" (%s)", ls->dataset_id, ls->family->name);
}

Datum
shelfops_load_dataset(PG_FUNCTION_ARGS)
{
	LoadRequest req;
	char	   *path;
	struct stat st;

	memset(&req, 0, sizeof(req));
	req.dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	req.tenant_id = shelfops_tenant_arg(fcinfo, 3);

	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to load a dataset from server files"),
				 errdetail("Only roles with privileges of the \"pg_read_server_files\" role may read server-side files."),
				 errhint("Ask an administrator to GRANT pg_read_server_files, or copy the rows into a staging table with \\copy.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("path must not be NULL")));
	path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	req.family = PG_ARGISNULL(2) ? "auto" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (PG_NARGS() > 5 && !PG_ARGISNULL(5))
	{
		/* a contract implies (and needs) the contract family */
		if (strcmp(req.family, "auto") != 0 && strcmp(req.family, load_family_contract.name) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a contract can only be used with family 'contract', not '%s'", req.family),
					 errhint("Pass family => 'contract' (or 'auto') with a contract, or drop the contract.")));
		req.family = load_family_contract.name;
		req.contract = contract_parse(PG_GETARG_JSONB_P(5));
	}
	else if (strcmp(req.family, load_family_contract.name) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("family 'contract' needs a contract"),
				 errhint("Pass the tenant contract profile as contract => '{...}'::jsonb; see docs/loading.md.")));
	shelfops_check_path_length(path, "path");
	if (!is_absolute_path(path))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("path \"%s\" is not absolute", path),
				 errhint("Give the dataset directory as the server sees it, starting with /.")));
	canonicalize_path(path);
	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not access dataset directory \"%s\": %m", path)));
	if (!S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a directory", path),
				 errhint("Give the directory that holds the dataset's files.")));
	req.dir = path;
	req.dq_thresholds_null = PG_ARGISNULL(4);
	req.dq_thresholds = req.dq_thresholds_null ? (Datum) 0 : PG_GETARG_DATUM(4);

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(load_run(&req))));
}

char *
load_run(const LoadRequest *req)
{
	LoadState  *ls;
	LoadPrivate *p;
	MemoryContext cxt;
	MemoryContext old;
	HASHCTL		ctl;
	instr_time	start;
	bool		replaced;
	char	   *report;
	ErrorContextCallback errcb;
	char	   *result;

	INSTR_TIME_SET_CURRENT(start);

	old = CurrentMemoryContext;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops load", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	ls = palloc0(sizeof(LoadState));
	p = palloc0(sizeof(LoadPrivate));
	ls->priv = p;
	ls->cxt = cxt;
	ls->tenant_id = req->tenant_id;
	ls->dataset_id = req->dataset_id;
	ls->dir = req->dir;
	ls->source = req->source;
	for (int r = 0; r < LOAD_NREASONS; r++)
		p->first_kept[r] = -1;
	initStringInfo(&p->source_files);
	initStringInfo(&p->side_rows);
	ls->contract = req->contract;
	thresholds_init(p, req->dq_thresholds, req->dq_thresholds_null, req->contract);

	/* a source (staging tables) has checked its family and inputs itself */
	ls->family = req->source ? load_family_lookup(req->family) : detect_family(req->dir, req->family);

	errcb.callback = load_error_context;
	errcb.arg = ls;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	intern_init(&p->stores, "shelfops load stores", cxt);
	intern_init(&p->products, "shelfops load products", cxt);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(SeriesKey);
	ctl.entrysize = sizeof(SeriesEntry);
	ctl.hcxt = cxt;
	p->series = hash_create("shelfops load series", 4096, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	load_phase(ls, "prepare");
	replaced = delete_dataset(ls->tenant_id, ls->dataset_id);
	insert_dataset(ls);
	ls->writer = sales_writer_begin(ls->tenant_id, ls->dataset_id);

	ls->family->load(ls);

	load_phase(ls, "order");
	row_buffer_flush(ls);
	load_phase(ls, "finish");
	sales_writer_end(ls->writer);
	ls->writer = NULL;
	p->cur_file = NULL;
	if (ls->source != NULL && ls->source->finish != NULL)
		ls->source->finish(ls);
	check_thresholds(ls);
	if (p->rows_written == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s has no rows to load",
						ls->source ? ls->source->what : psprintf("dataset directory \"%s\"", ls->dir)),
				 errdetail("Rows read: " UINT64_FORMAT ".", ls->rows_read)));
	insert_rejects(ls);
	p->phase_seconds[p->nphases - 1] += elapsed_since(p->phase_start);
	report = build_report(ls, replaced, elapsed_since(start));
	update_dataset(ls, report);

	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(old);
	result = pstrdup(report);
	MemoryContextDelete(cxt);
	return result;
}
