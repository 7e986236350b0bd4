/*
 * load_staging.c
 *	  Owns shelfops_load_dataset_from: loading a dataset from staging tables a
 *	  client filled with \copy, for roles without server file access.
 *
 * Each staging table stands for one file of the family's layout (the main
 * table for train.csv or the seed transactions, side_tables for store.csv,
 * features.csv, ...).  The family code is unchanged: through a LoadSource
 * (load.h) it opens "train.csv" and gets a CsvReader whose bytes are the
 * staging table rendered as CSV, a chunk of rows at a time, from an SPI
 * cursor.  Header checks, rejects, thresholds and atomic replacement are
 * therefore exactly those of file loads.  Rejects name the staging table as
 * their file and the row's position in the table's scan order as their line
 * (the reader numbers records instead of physical lines, so a value with an
 * embedded line break does not shift the numbers).
 *
 * Values are read as text through the column types' output functions, with
 * DateStyle ISO and extra_float_digits 1 for the duration of the call, so a
 * date or float8 staging column reads like the file it came from.
 * synchronize_seqscans is off for the same duration, so a large table is
 * scanned from its first block and row numbers follow its physical order
 * (for a freshly \copy'd table: the order of the client's file).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "ident.h"
#include "load.h"

PG_FUNCTION_INFO_V1(shelfops_load_dataset_from);

/* Rows fetched from the cursor and rendered per chunk. */
#define STAGING_FETCH_ROWS 2000

typedef struct StagingTable
{
	const char *file;			/* family file it stands for: "train.csv" */
	Oid			relid;
	char	   *name;			/* schema-qualified, quoted as needed */

	/* stream state, set up when the family opens the file */
	Portal		portal;
	int			natts;
	FmgrInfo   *out;			/* output function per column */
	StringInfoData chunk;		/* rendered text not yet handed out */
	size_t		chunk_pos;
	bool		eof;
	uint64		rows;
	uint64		bytes;
	pg_cryptohash_ctx *sha;
	char		sha256[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	bool		opened;
} StagingTable;

typedef struct StagingSet
{
	const LoadFamily *family;
	int			ntables;
	StagingTable *tables;		/* [0] is the main table */
} StagingSet;

/* ---------------------------------------------------------------------------
 * Rendering rows as CSV
 * --------------------------------------------------------------------------*/

/* Append one field: quoted when it must be (or is empty, so that an empty
 * string stays distinct from NULL and a row is never a blank line). */
static void
append_csv_field(StringInfo buf, const char *s)
{
	bool		quote = (*s == '\0');

	for (const char *c = s; *c && !quote; c++)
		if (*c == ',' || *c == '"' || *c == '\n' || *c == '\r')
			quote = true;
	if (!quote)
	{
		appendStringInfoString(buf, s);
		return;
	}
	appendStringInfoChar(buf, '"');
	for (const char *c = s; *c; c++)
	{
		if (*c == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, *c);
	}
	appendStringInfoChar(buf, '"');
}

static void
spi_connect_or_error(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/* Fetch and render the next chunk of rows; sets eof when the cursor is done. */
static void
staging_fetch(StagingTable *t)
{
	MemoryContext outer = CurrentMemoryContext;

	resetStringInfo(&t->chunk);
	t->chunk_pos = 0;
	spi_connect_or_error();
	SPI_cursor_fetch(t->portal, true, STAGING_FETCH_ROWS);
	if (SPI_processed == 0)
		t->eof = true;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		CHECK_FOR_INTERRUPTS();
		for (int c = 0; c < t->natts; c++)
		{
			bool		isnull;
			Datum		v = heap_getattr(tup, c + 1, desc, &isnull);

			if (c > 0)
				appendStringInfoChar(&t->chunk, ',');
			if (!isnull)
			{
				/* output functions allocate: keep that in SPI's context */
				char	   *text = OutputFunctionCall(&t->out[c], v);

				append_csv_field(&t->chunk, text);
				pfree(text);
			}
		}
		appendStringInfoChar(&t->chunk, '\n');
	}
	t->rows += SPI_processed;
	SPI_finish();
	MemoryContextSwitchTo(outer);
	if (t->eof)
	{
		uint8		digest[PG_SHA256_DIGEST_LENGTH];

		SPI_cursor_close(t->portal);
		t->portal = NULL;
		if (pg_cryptohash_final(t->sha, digest, sizeof(digest)) < 0)
			elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(t->sha));
		pg_cryptohash_free(t->sha);
		t->sha = NULL;
		hex_encode((const char *) digest, sizeof(digest), t->sha256);
		t->sha256[sizeof(t->sha256) - 1] = '\0';
	}
}

/* Hand text to the reader: hash and count it on the way. */
static long
staging_read(void *arg, char *buf, size_t want)
{
	StagingTable *t = (StagingTable *) arg;
	size_t		n;

	while (t->chunk_pos >= (size_t) t->chunk.len)
	{
		if (t->eof)
			return 0;
		staging_fetch(t);
	}
	n = Min(want, (size_t) t->chunk.len - t->chunk_pos);
	memcpy(buf, t->chunk.data + t->chunk_pos, n);
	if (pg_cryptohash_update(t->sha, (uint8 *) t->chunk.data + t->chunk_pos, n) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(t->sha));
	t->chunk_pos += n;
	t->bytes += n;
	return (long) n;
}

/* Open the cursor over every column and put the header line in the chunk. */
static void
staging_start(LoadState *ls, StagingTable *t)
{
	MemoryContext old = MemoryContextSwitchTo(ls->cxt);
	SPIPlanPtr	plan;
	TupleDesc	desc;
	char	   *sql = psprintf("SELECT * FROM %s", t->name);

	initStringInfo(&t->chunk);
	t->sha = pg_cryptohash_create(PG_SHA256);
	if (t->sha == NULL || pg_cryptohash_init(t->sha) < 0)
		elog(ERROR, "could not initialise SHA-256");

	spi_connect_or_error();
	plan = SPI_prepare(sql, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare a read of staging table %s: %s", t->name,
			 SPI_result_code_string(SPI_result));
	t->portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	desc = t->portal->tupDesc;
	t->natts = desc->natts;
	t->out = MemoryContextAlloc(ls->cxt, sizeof(FmgrInfo) * Max(t->natts, 1));
	for (int c = 0; c < t->natts; c++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, c);
		Oid			outfn;
		bool		varlena;

		getTypeOutputInfo(att->atttypid, &outfn, &varlena);
		fmgr_info_cxt(outfn, &t->out[c], ls->cxt);
		if (c > 0)
			appendStringInfoChar(&t->chunk, ',');
		append_csv_field(&t->chunk, NameStr(att->attname));
	}
	appendStringInfoChar(&t->chunk, '\n');
	SPI_finish();
	t->opened = true;
	MemoryContextSwitchTo(old);
}

/* ---------------------------------------------------------------------------
 * The LoadSource
 * --------------------------------------------------------------------------*/

static StagingTable *
staging_find(StagingSet *set, const char *relname)
{
	for (int i = 0; i < set->ntables; i++)
		if (strcmp(set->tables[i].file, relname) == 0 || strcmp(set->tables[i].name, relname) == 0)
			return &set->tables[i];
	return NULL;
}

static CsvReader *
staging_open(LoadState *ls, const char *relname, const char **name)
{
	StagingSet *set = (StagingSet *) ls->source->arg;
	StagingTable *t = staging_find(set, relname);
	CsvOptions	opts;

	/* load_staging_from checked every file the family needs is given */
	if (t == NULL)
		elog(ERROR, "the %s loader asked for %s, which no staging table stands for",
			 set->family->name, relname);
	if (t->opened)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("staging table %s is given for more than one file", t->name),
				 errhint("Give each file of the layout its own staging table.")));
	staging_start(ls, t);
	csv_options_init(&opts);
	opts.number_records = true;
	*name = t->name;
	return csv_reader_open_callback_in_context(ls->cxt, staging_read, t, t->name, &opts);
}

/* The seed family lists transactions/DAILY_SALES_*.csv: the main table. */
static List *
staging_list(LoadState *ls, const char *subdir, const char *prefix)
{
	StagingSet *set = (StagingSet *) ls->source->arg;
	MemoryContext old = MemoryContextSwitchTo(ls->cxt);
	List	   *files = list_make1(set->tables[0].name);

	MemoryContextSwitchTo(old);
	return files;
}

static void
staging_finish(LoadState *ls)
{
	StagingSet *set = (StagingSet *) ls->source->arg;

	for (int i = 0; i < set->ntables; i++)
	{
		StagingTable *t = &set->tables[i];
		StringInfoData buf;

		if (!t->opened)
			continue;
		initStringInfo(&buf);
		appendStringInfoString(&buf, "\"name\": ");
		escape_json(&buf, t->name);
		appendStringInfoString(&buf, ", \"stands_for\": ");
		escape_json(&buf, t->file);
		appendStringInfo(&buf, ", \"rows\": " UINT64_FORMAT ", \"size\": " UINT64_FORMAT,
						 t->rows, t->bytes);
		if (t->eof)
			appendStringInfo(&buf, ", \"sha256\": \"%s\"", t->sha256);
		load_add_source_file(ls, buf.data);
	}
}

/* ---------------------------------------------------------------------------
 * Arguments
 * --------------------------------------------------------------------------*/

/* Schema-qualified name of a relation the caller may read in full, or ERROR. */
static char *
staging_check_relation(Oid relid, const char *file)
{
	char		relkind = get_rel_relkind(relid);
	char	   *relname = get_rel_name(relid);
	char	   *name;

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("staging table with OID %u does not exist", relid)));
	name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), relname);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW && relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" (given for %s) is not a table, view or foreign table", name, file)));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT, ACLMASK_ALL) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for staging table %s", name),
				 errdetail("shelfops_load_dataset_from reads every column of the table given for %s; role \"%s\" may not SELECT them.",
						   file, GetUserNameFromId(GetUserId(), false)),
				 errhint("GRANT SELECT ON %s TO the loading role.", name)));
	return name;
}

/* The side files a family needs: every detect and required file but the first. */
static List *
family_side_files(const LoadFamily *f)
{
	List	   *files = NIL;

	for (int j = 1; f->detect_files[j]; j++)
		files = lappend(files, (void *) f->detect_files[j]);
	for (int j = 0; f->required_files[j]; j++)
		files = lappend(files, (void *) f->required_files[j]);
	return files;
}

static char *
join_files(List *files)
{
	StringInfoData buf;
	ListCell   *lc;

	if (files == NIL)
		return pstrdup("none");
	initStringInfo(&buf);
	foreach(lc, files)
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", (const char *) lfirst(lc));
	return buf.data;
}

/* "store.csv" or "store" as a key for side file "store.csv". */
static bool
key_matches(const char *key, const char *file)
{
	size_t		klen = strlen(key);

	return strcmp(key, file) == 0 ||
		(strncmp(key, file, klen) == 0 && strcmp(file + klen, ".csv") == 0);
}

/* CONTEXT line of an error raised while a side_tables value is parsed. */
static void
side_table_context(void *arg)
{
	const char *const *kv = (const char *const *) arg;

	errcontext("side_tables value for \"%s\": \"%s\"", kv[0], kv[1]);
}

/* Read side_tables: {"store.csv": "schema.table", ...}, every side file given. */
static void
staging_side_tables(StagingSet *set, Jsonb *side, List *needed)
{
	const LoadFamily *f = set->family;
	int			nneeded = list_length(needed);
	bool	   *given = palloc0(sizeof(bool) * Max(nneeded, 1));
	List	   *missing = NIL;

	if (side != NULL)
	{
		JsonbIterator *it;
		JsonbValue	v;
		JsonbIteratorToken tok;
		char	   *key = NULL;

		if (!JB_ROOT_IS_OBJECT(side) || JB_ROOT_IS_SCALAR(side))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("side_tables must be a JSON object mapping file names to staging tables"),
					 errhint("For example '{\"store.csv\": \"my_schema.rossmann_store\"}'.")));
		it = JsonbIteratorInit(&side->root);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			int			idx = 0;
			int			found = -1;
			ListCell   *lc;
			char	   *relname;
			Oid			relid;
			StagingTable *t;

			if (tok == WJB_KEY)
			{
				key = pnstrdup(v.val.string.val, v.val.string.len);
				continue;
			}
			if (tok != WJB_VALUE)
				continue;
			foreach(lc, needed)
			{
				if (key_matches(key, (const char *) lfirst(lc)))
					found = idx;
				idx++;
			}
			if (found < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("side_tables key \"%s\" is not a side file of the %s layout", key, f->name),
						 errdetail("Side files of %s: %s; the main file (%s) is the staging argument.",
								   f->name, join_files(needed), f->detect_files[0])));
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("side_tables value for \"%s\" must be a table name as a JSON string", key)));
			relname = pnstrdup(v.val.string.val, v.val.string.len);
			{
				/* "invalid name syntax" alone would not say which value */
				const char *kv[2] = {key, relname};
				ErrorContextCallback errcb;

				errcb.callback = side_table_context;
				errcb.arg = (void *) kv;
				errcb.previous = error_context_stack;
				error_context_stack = &errcb;
				relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(relname)),
										 NoLock, true);
				error_context_stack = errcb.previous;
			}
			if (!OidIsValid(relid))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_TABLE),
						 errmsg("staging table \"%s\" given for %s does not exist", relname,
								(const char *) list_nth(needed, found))));
			t = &set->tables[1 + found];
			t->file = (const char *) list_nth(needed, found);
			t->relid = relid;
			t->name = staging_check_relation(relid, t->file);
			given[found] = true;
		}
	}
	for (int i = 0; i < nneeded; i++)
		if (!given[i])
			missing = lappend(missing, list_nth(needed, i));
	if (missing != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("the %s loader needs staging tables for %s", f->name, join_files(missing)),
				 errdetail("side_tables gives %s.", side ? JsonbToCString(NULL, &side->root, VARSIZE(side)) : "nothing"),
				 errhint("Copy each file into its own table and pass side_tables => '{\"%s\": \"schema.table\", ...}'.",
						 (const char *) linitial(missing))));
}

/* DateStyle etc. for the call: undone by AtEOXact_GUC or on error by abort. */
static void
staging_set_guc(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

Datum
shelfops_load_dataset_from(PG_FUNCTION_ARGS)
{
	LoadRequest req;
	LoadSource	source;
	StagingSet *set;
	List	   *needed;
	const char *family;
	Oid			main_relid;
	int			nestlevel;
	char	   *report;

	memset(&req, 0, sizeof(req));
	req.dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	req.tenant_id = shelfops_tenant_arg(fcinfo, 3);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("staging must not be NULL")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("family must not be NULL"),
				 errhint("Name the layout of the staging table: favorita, walmart, rossmann or seed.")));
	main_relid = PG_GETARG_OID(1);
	family = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strcmp(family, "auto") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("family \"auto\" cannot be used with staging tables"),
				 errdetail("The family is detected from the files of a directory; a staging table has no file names to detect it from."),
				 errhint("Name the layout of the staging table: favorita, walmart, rossmann or seed.")));

	set = palloc0(sizeof(StagingSet));
	set->family = load_family_lookup(family);
	if (set->family->load == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s loader not yet available", set->family->name)));
	needed = family_side_files(set->family);
	set->ntables = 1 + list_length(needed);
	set->tables = palloc0(sizeof(StagingTable) * set->ntables);
	set->tables[0].file = set->family->detect_files[0];
	set->tables[0].relid = main_relid;
	set->tables[0].name = staging_check_relation(main_relid, set->tables[0].file);
	staging_side_tables(set, PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4), needed);

	source.path = psprintf("staging:%s", set->tables[0].name);
	source.what = psprintf("staging table %s", set->tables[0].name);
	source.open = staging_open;
	source.list = staging_list;
	source.finish = staging_finish;
	source.arg = set;

	req.family = set->family->name;
	req.source = &source;
	req.dq_thresholds_null = PG_ARGISNULL(5);
	req.dq_thresholds = req.dq_thresholds_null ? (Datum) 0 : PG_GETARG_DATUM(5);

	nestlevel = NewGUCNestLevel();
	staging_set_guc("DateStyle", "ISO, YMD");
	staging_set_guc("extra_float_digits", "1");
	staging_set_guc("synchronize_seqscans", "off");
	report = load_run(&req);
	AtEOXact_GUC(true, nestlevel);

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(report)));
}
