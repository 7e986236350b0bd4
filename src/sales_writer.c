/*
 * sales_writer.c
 *	  Owns the storage of shelfops.sales and bulk insertion into it: every
 *	  loader and the synthetic generator write canonical rows through this one
 *	  path, and the replacement paths empty a dataset through it.
 *
 * Storage.  shelfops.sales is partitioned by RANGE (tenant_id, dataset_id);
 * a load writes its dataset into a fresh table of its own that has no index,
 * builds the primary key once with a sorted build at the end, and attaches the
 * table as the partition FOR VALUES FROM (tenant, dataset) TO (tenant,
 * dataset || chr(1)), which in the C collation holds exactly that (tenant,
 * dataset).  Maintaining the five-column text key row by row cost about three
 * quarters of a load; one sorted build costs a fraction of it, and a fraction
 * again when the rows reach the heap in key order, so rows that do not arrive
 * in (store, product, date) order are sorted here (tuplesort, within
 * maintenance_work_mem, spilling beyond it) before they are written.
 * Rows reach the heap through shared buffers without a ring until the
 * partition reaches a quarter of shared_buffers, so the primary key build
 * finds them there; larger partitions continue through the usual ring.
 * Replacing a dataset empties its old partition with TRUNCATE and drops it at
 * the end, in the same transaction, instead of deleting row by row.  Every
 * partition carries its own primary key and foreign key to shelfops.datasets;
 * the parent declares none, so that pg_restore, serial or parallel, is clean.
 *
 * Partition DDL needs ownership of shelfops.sales, so it runs as the
 * extension's owner (SECURITY_LOCAL_USERID_CHANGE, restored on error), on names
 * and literals built here from validated identifiers, after the checks the
 * executor would make for the caller:
 *	- INSERT (DELETE to empty a dataset) privilege on shelfops.sales;
 *	- row-level security: when it applies to the caller, the tenant written
 *	  must be the session's tenant (the table's policy, evaluated once);
 *	- NOT NULL and CHECK constraints on every row (the extension's own checked
 *	  in C, the partition-bounds CHECK satisfied by construction, anything
 *	  else through ExecConstraints; see plan_checks);
 *	- the foreign key to shelfops.datasets once per load, with the same
 *	  FOR KEY SHARE lock the RI trigger would take;
 *	- unique keys, by the primary key build.
 * Partitions get no grants and forced row-level security of their own, so they
 * are read through shelfops.sales and its policy only.  A user-defined
 * trigger on shelfops.sales would be bypassed, so its presence is an error; the
 * extension's own extent triggers are not (the load records the extent itself).
 * Bulk writers take SHARE UPDATE EXCLUSIVE on shelfops.sales (what ATTACH
 * needs anyway) before they touch anything, so two loads run one after the
 * other instead of deadlocking over the partition DDL.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/heapam.h"
#include "access/hio.h"
#include "storage/bufmgr.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parsetree.h"
#include "partitioning/partbounds.h"
#include "portability/instr_time.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/relcache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"
#include "utils/typcache.h"

#include "shelfops.h"
#include "ident.h"
#include "sales_writer.h"

#define SALES_BATCH_ROWS 1000

static const char *const sales_column_names[SALES_NCOLUMNS] = {
	[SALES_STORE_ID] = "store_id",
	[SALES_PRODUCT_ID] = "product_id",
	[SALES_SALE_DATE] = "sale_date",
	[SALES_QUANTITY] = "quantity",
	[SALES_CATEGORY] = "category",
	[SALES_PROMO_COUNT] = "promo_count",
	[SALES_IS_PROMOTIONAL] = "is_promotional",
	[SALES_IS_HOLIDAY] = "is_holiday",
	[SALES_HOLIDAY_TYPE] = "holiday_type",
	[SALES_IS_SCHOOL_HOLIDAY] = "is_school_holiday",
	[SALES_IS_OPEN] = "is_open",
	[SALES_UNIT_COST] = "unit_cost",
	[SALES_UNIT_PRICE] = "unit_price",
	[SALES_CUSTOMERS] = "customers",
	[SALES_RETURNS_ADJUSTMENT] = "returns_adjustment",
	[SALES_IS_RETURN_WEEK] = "is_return_week",
};

/*
 * How rows reach the heap: the first batch decides.  In key order they are
 * written as they come; otherwise every row goes through a sort first.  Rows
 * that fall out of order after some were written are sorted from there on
 * (the primary key build then sorts two runs: slower, still correct).
 */
typedef enum WriterMode
{
	WRITER_UNDECIDED,
	WRITER_DIRECT,
	WRITER_SORTING
} WriterMode;

typedef struct SalesWriterState
{
	SalesWriter pub;			/* must be first */
	char	   *tenant_id;
	char	   *dataset_id;
	Oid			parent_relid;
	char	   *part_name;		/* the new partition, unqualified */
	EState	   *estate;
	ResultRelInfo *rri;
	Relation	rel;
	TupleDesc	tupdesc;
	BulkInsertState bistate;
	CommandId	cid;
	AttrNumber	attno[SALES_NCOLUMNS];	/* 0-based index into the tuple */
	int			tenant_attno;
	int			dataset_attno;
	Datum		tenant_datum;
	Datum		dataset_datum;
	TupleTableSlot *slots[SALES_BATCH_ROWS];
	int			nbuffered;
	bool		batch_ordered;	/* buffered rows are in key order */
	WriterMode	mode;
	Tuplesortstate *sort;
	TupleDesc	sort_tupdesc;	/* sort key, then the SalesColumns */
	TupleTableSlot *sort_in;
	TupleTableSlot *sort_out;
	bool		have_last;		/* last_* hold the key of the last row flushed */
	text	   *last_store;
	text	   *last_product;
	DateADT		last_date;
	MemoryContext key_cxt;		/* last_store, last_product */
	MemoryContext batch_cxt;	/* copies of the buffered rows' values */
	MemoryContext row_cxt;		/* values made by the setters for the current row */
	uint64		rows_written;
	/* constraint checks in C (see plan_checks); false: ExecConstraints per row */
	bool		native_checks;
	int			nnotnull;
	int			notnull[SALES_NCOLUMNS + 2];	/* 0-based attnos of NOT NULL columns */
	uint8		check_ge0[SALES_NCOLUMNS];	/* 1: column >= 0 (NULL passes) */
	bool		check_quantity_finite;
} SalesWriterState;

/*
 * The CHECK constraints of shelfops.sales as pg_get_constraintdef prints them,
 * with what the writer checks in C instead of evaluating the expression.
 */
typedef struct KnownCheck
{
	const char *name;
	const char *def;
	SalesColumn column;
	bool		ge0;			/* column >= 0; else: finite (quantity) */
} KnownCheck;

static const KnownCheck known_checks[] = {
	{"sales_promo_count_check", "CHECK ((promo_count >= (0)::double precision))", SALES_PROMO_COUNT, true},
	{"sales_quantity_check",
		"CHECK ((quantity <> ALL (ARRAY['NaN'::double precision, 'Infinity'::double precision, '-Infinity'::double precision])))",
	SALES_QUANTITY, false},
	{"sales_unit_cost_check", "CHECK ((unit_cost >= (0)::double precision))", SALES_UNIT_COST, true},
	{"sales_unit_price_check", "CHECK ((unit_price >= (0)::double precision))", SALES_UNIT_PRICE, true},
};

static int
find_column(TupleDesc tupdesc, const char *name)
{
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return i;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("shelfops.sales has no column \"%s\"", name),
			 errhint("The extension's tables were altered; reinstall or update the extension.")));
	return -1;					/* keep compiler quiet */
}

static Oid
sales_relid(void)
{
	Oid			relid = get_relname_relid("sales", get_namespace_oid("shelfops", false));

	if (!OidIsValid(relid))
		elog(ERROR, "table shelfops.sales is missing");
	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("shelfops.sales is not partitioned"),
				 errhint("The extension's tables were altered; reinstall or update the extension.")));
	return relid;
}

/*
 * The checks a statement writing (tenant, dataset) rows of shelfops.sales
 * would make for the caller: the privilege, and the tenant its row-level
 * security policy lets it write.  Then the lock every bulk writer takes.
 */
static void
check_caller(Oid relid, const char *tenant_id, const char *dataset_id, AclMode perm)
{
	RangeTblEntry *rte;

	shelfops_check_ident(tenant_id, "tenant_id");
	shelfops_check_ident(dataset_id, "dataset_id");
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED &&
		strcmp(tenant_id, shelfops_default_tenant()) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot write sales of tenant \"%s\" from a session of tenant \"%s\"",
						tenant_id, shelfops_default_tenant()),
				 errhint("SET shelfops.tenant_id = '%s' first.", tenant_id)));

	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = RELKIND_PARTITIONED_TABLE;
	rte->rellockmode = RowExclusiveLock;
	rte->requiredPerms = perm;
	ExecCheckRTPerms(list_make1(rte), true);

	LockRelationOid(relid, ShareUpdateExclusiveLock);
}

/*
 * Lock the dataset row as the foreign key trigger would, and fail clearly when
 * it does not exist (the caller creates it first).
 */
static void
lock_parent_dataset(const char *tenant_id, const char *dataset_id)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	int			rc;

	args[0] = CStringGetTextDatum(tenant_id);
	args[1] = CStringGetTextDatum(dataset_id);
	SPI_connect();
	rc = SPI_execute_with_args("SELECT 1 FROM shelfops.datasets "
							   "WHERE tenant_id = $1 AND dataset_id = $2 FOR KEY SHARE",
							   2, argtypes, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not lock dataset row: %s", SPI_result_code_string(rc));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("dataset \"%s\" of tenant \"%s\" does not exist", dataset_id, tenant_id)));
	SPI_finish();
}

/* The owner of the shelfops extension, who owns shelfops.sales. */
static Oid
extension_owner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			owner;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("shelfops"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "extension shelfops is not installed");
	owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return owner;
}

/*
 * Run utility statements (built here, every name and literal quoted) as the
 * extension's owner, with partitions made this way owned by it.  As in a
 * SECURITY DEFINER function, search_path is pinned to pg_catalog, pg_temp
 * for the duration, so nothing the caller put on its search_path (a schema
 * of its own with a collation "C", say) is resolved with the owner's rights.
 * On error, transaction abort restores both the user and the setting.
 */
static void
run_as_owner(const char *sql)
{
	Oid			save_userid;
	int			save_sec_context;
	int			nestlevel;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(extension_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	PG_TRY();
	{
		int			rc;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		rc = SPI_execute(sql, false, 0);
		if (rc < 0)
			elog(ERROR, "shelfops sales storage: \"%s\" failed: %s", sql, SPI_result_code_string(rc));
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	AtEOXact_GUC(true, nestlevel);
	CommandCounterIncrement();
}

/* Byte-wise (C collation) order of two text values. */
static int
text_cmp_c(text *a, text *b)
{
	int			la = VARSIZE_ANY_EXHDR(a);
	int			lb = VARSIZE_ANY_EXHDR(b);
	int			r = memcmp(VARDATA_ANY(a), VARDATA_ANY(b), Min(la, lb));

	if (r != 0)
		return r;
	return (la > lb) - (la < lb);
}

/* The dataset value just above dataset_id: the partition's upper bound. */
static char *
dataset_upper(const char *dataset_id)
{
	return psprintf("%s\x01", dataset_id);
}

/*
 * The partition of shelfops.sales bounded exactly by (tenant, dataset), or
 * InvalidOid.  Rows of the dataset in the default partition do not count.
 */
static Oid
find_dataset_partition(Oid relid, const char *tenant_id, const char *dataset_id)
{
	Relation	rel = table_open(relid, AccessShareLock);
	PartitionKey key = RelationGetPartitionKey(rel);
	PartitionDesc pd = RelationGetPartitionDesc(rel, false);
	PartitionBoundInfo bi = pd->boundinfo;
	Datum		values[2];
	bool		equal;
	int			off;
	int			idx;
	Oid			result = InvalidOid;

	values[0] = CStringGetTextDatum(tenant_id);
	values[1] = CStringGetTextDatum(dataset_id);
	if (bi != NULL && bi->ndatums > 0)
	{
		off = partition_range_datum_bsearch(key->partsupfunc, key->partcollation, bi,
											2, values, &equal);
		idx = bi->indexes[off + 1];
		if (off >= 0 && equal && idx >= 0 && off + 1 < bi->ndatums &&
			bi->kind[off + 1][0] == PARTITION_RANGE_DATUM_VALUE &&
			bi->kind[off + 1][1] == PARTITION_RANGE_DATUM_VALUE &&
			text_cmp_c(DatumGetTextPP(bi->datums[off + 1][0]), DatumGetTextPP(values[0])) == 0 &&
			text_cmp_c(DatumGetTextPP(bi->datums[off + 1][1]),
					   cstring_to_text(dataset_upper(dataset_id))) == 0)
			result = pd->oids[idx];
		else if (idx >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("partition \"%s\" of shelfops.sales holds dataset \"%s\" of tenant \"%s\" among others",
							get_rel_name(pd->oids[idx]), dataset_id, tenant_id),
					 errdetail("Loads keep each dataset in a partition of its own."),
					 errhint("Detach that partition first.")));
	}
	table_close(rel, NoLock);
	return result;
}

/* Does the relation hold any row the transaction sees now? */
static bool
relation_has_rows(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, snap, 0, NULL);
	bool		any = table_scan_getnextslot(scan, ForwardScanDirection, slot);

	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	table_close(rel, NoLock);
	return any;
}

/* A free table name for a new partition of (tenant, dataset). */
static char *
new_partition_name(const char *tenant_id, const char *dataset_id)
{
	Oid			nsp = get_namespace_oid("shelfops", false);
	char	   *key = psprintf("%s/%s", tenant_id, dataset_id);
	uint64		h = hash_bytes_extended((const unsigned char *) key, strlen(key), 0);

	for (int n = 1;; n++)
	{
		char	   *name = psprintf("sales_%016" INT64_MODIFIER "x_%d", h, n);

		if (!OidIsValid(get_relname_relid(name, nsp)))
			return name;
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Empty the partition of (tenant, dataset) before the dataset is replaced:
 * TRUNCATE instead of deleting its rows one by one (the cascade from
 * shelfops.datasets then finds nothing there).  The partition itself goes when
 * the new one is attached.  Rows of the dataset in the default partition are
 * left to that cascade.
 */
void
sales_discard_dataset(const char *tenant_id, const char *dataset_id)
{
	Oid			relid = sales_relid();
	Oid			part;

	check_caller(relid, tenant_id, dataset_id, ACL_DELETE);
	part = find_dataset_partition(relid, tenant_id, dataset_id);
	if (OidIsValid(part))
		run_as_owner(psprintf("TRUNCATE shelfops.%s", quote_identifier(get_rel_name(part))));
}

/*
 * Decide how rows are checked.  ExecConstraints evaluates every CHECK as an
 * expression per row, the partition's bounds CHECK included (two text
 * comparisons), which cost about 7% of a Rossmann load.  When the new
 * partition's CHECK constraints are exactly the bounds CHECK plus the
 * extension's own (same names, same definitions as pg_get_constraintdef prints
 * them), the writer checks them in C instead: the bounds CHECK needs no check
 * at all (the writer sets tenant_id and dataset_id itself, to the values the
 * bounds name), and the others are simple comparisons with PostgreSQL's float
 * semantics (NaN >= 0 holds; NaN = NaN).  NOT NULL columns are checked too.
 * Any other constraint (someone added one) keeps ExecConstraints for every
 * row.  A row that fails a check in C is handed to ExecConstraints, so the
 * error is PostgreSQL's own.
 */
static void
plan_checks(SalesWriterState *w)
{
	TupleConstr *constr = w->rel->rd_att->constr;
	char	   *bounds = psprintf("%s_bounds", w->part_name);
	Oid			types[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(RelationGetRelid(w->rel))};
	bool		ok = true;

	w->native_checks = false;
	w->nnotnull = 0;
	for (int a = 0; a < w->tupdesc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(w->tupdesc, a);

		if (att->attnotnull && !att->attisdropped)
			w->notnull[w->nnotnull++] = a;
		if (w->nnotnull == lengthof(w->notnull))
			return;				/* more than the writer expects: ExecConstraints */
	}
	memset(w->check_ge0, 0, sizeof(w->check_ge0));
	w->check_quantity_finite = false;
	if (constr == NULL || constr->num_check == 0)
	{
		w->native_checks = true;
		return;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT conname::text, pg_catalog.pg_get_constraintdef(oid) "
							  "FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype = 'c'",
							  1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the constraints of the new partition");
	for (uint64 r = 0; r < SPI_processed && ok; r++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		char	   *def = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
		bool		known = false;

		if (strcmp(name, bounds) == 0)
			continue;			/* the writer sets tenant_id and dataset_id itself */
		for (int k = 0; k < (int) lengthof(known_checks); k++)
		{
			if (strcmp(name, known_checks[k].name) == 0 && strcmp(def, known_checks[k].def) == 0)
			{
				if (known_checks[k].ge0)
					w->check_ge0[known_checks[k].column] = 1;
				else
					w->check_quantity_finite = true;
				known = true;
			}
		}
		ok = known;
	}
	/* every CHECK accounted for: the query saw what the relcache holds */
	if (ok && SPI_processed != (uint64) constr->num_check)
		ok = false;
	SPI_finish();
	w->native_checks = ok;
	if (!ok)
		elog(DEBUG1, "shelfops sales writer: unexpected CHECK constraints; evaluating every one per row");
	else
		elog(DEBUG1, "shelfops sales writer: CHECK constraints checked in C");
}

/* The checks of plan_checks on one row; false when one fails. */
static inline bool
native_checks_pass(SalesWriterState *w, TupleTableSlot *slot)
{
	for (int i = 0; i < w->nnotnull; i++)
		if (slot->tts_isnull[w->notnull[i]])
			return false;
	for (int c = 0; c < SALES_NCOLUMNS; c++)
	{
		int			a = w->attno[c];

		if (w->check_ge0[c] && !slot->tts_isnull[a] &&
			!float8_ge(DatumGetFloat8(slot->tts_values[a]), 0.0))
			return false;
	}
	if (w->check_quantity_finite && !slot->tts_isnull[w->attno[SALES_QUANTITY]])
	{
		double		q = DatumGetFloat8(slot->tts_values[w->attno[SALES_QUANTITY]]);

		if (isnan(q) || isinf(q))
			return false;
	}
	return true;
}

/*
 * The extension's own statement triggers that keep a dataset's extent on
 * shelfops.datasets (sql/install/12_sales_extent.sql).  A load records that extent
 * itself, so bypassing them loses nothing; any other trigger refuses the load.
 */
static bool
is_extent_trigger(const Trigger *t)
{
	const char *fname = get_func_name(t->tgfoid);

	return fname != NULL && !TRIGGER_FOR_ROW(t->tgtype) &&
		get_func_namespace(t->tgfoid) == get_namespace_oid("shelfops", false) &&
		(strcmp(fname, "sales_extent_after_insert") == 0 ||
		 strcmp(fname, "sales_extent_after_change") == 0 ||
		 strcmp(fname, "sales_extent_after_truncate") == 0);
}

SalesWriter *
sales_writer_begin(const char *tenant_id, const char *dataset_id)
{
	SalesWriterState *w;
	RangeTblEntry *rte;
	Oid			relid = sales_relid();
	Oid			partid;
	Relation	parent;
	TriggerDesc *trig;
	char	   *qname;
	char	   *lit_tenant;
	char	   *lit_dataset;

	check_caller(relid, tenant_id, dataset_id, ACL_INSERT);
	lock_parent_dataset(tenant_id, dataset_id);

	parent = table_open(relid, NoLock);
	trig = parent->trigdesc;
	if (trig != NULL)
	{
		for (int i = 0; i < trig->numtriggers; i++)
		{
			Trigger    *t = &trig->triggers[i];

			if (!OidIsValid(t->tgconstraint) && t->tgenabled != TRIGGER_DISABLED &&
				!is_extent_trigger(t))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("shelfops.sales has trigger \"%s\", which a bulk load would bypass",
								t->tgname),
						 errhint("Drop or disable the trigger before loading.")));
		}
	}
	table_close(parent, NoLock);

	w = palloc0(sizeof(SalesWriterState));
	w->tenant_id = pstrdup(tenant_id);
	w->dataset_id = pstrdup(dataset_id);
	w->parent_relid = relid;

	/*
	 * The new partition: the parent's columns and CHECK constraints, a CHECK
	 * that proves the partition bound (so ATTACH need not scan), its own
	 * foreign key, no index yet.  The primary key and the foreign key belong
	 * to the partition: the parent has neither (sql/install/10_schema.sql
	 * says why).  The foreign key is made NOT VALID on the empty table: every
	 * row the partition will ever hold is checked (by the writer's lock of the
	 * dataset row, or by the constraint's trigger for rows written by SQL), and
	 * the flag makes pg_dump restore the constraint without re-checking rows,
	 * which pg_restore -j may have copied before the datasets they reference.
	 */
	w->part_name = new_partition_name(tenant_id, dataset_id);
	qname = psprintf("shelfops.%s", quote_identifier(w->part_name));
	lit_tenant = quote_literal_cstr(tenant_id);
	lit_dataset = quote_literal_cstr(dataset_id);
	run_as_owner(psprintf("CREATE TABLE %s (LIKE shelfops.sales INCLUDING CONSTRAINTS, "
						  "CONSTRAINT %s CHECK (tenant_id OPERATOR(pg_catalog.=) %s COLLATE \"C\" "
						  "AND dataset_id OPERATOR(pg_catalog.=) %s COLLATE \"C\")); "
						  "ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (tenant_id, dataset_id) "
						  "REFERENCES shelfops.datasets (tenant_id, dataset_id) ON DELETE CASCADE NOT VALID; "
						  "ALTER TABLE %s ENABLE ROW LEVEL SECURITY; "
						  "ALTER TABLE %s FORCE ROW LEVEL SECURITY; "
						  "CREATE POLICY tenant_isolation ON %s "
						  "USING (tenant_id OPERATOR(pg_catalog.=) shelfops.current_tenant()) "
						  "WITH CHECK (tenant_id OPERATOR(pg_catalog.=) shelfops.current_tenant())",
						  qname, quote_identifier(psprintf("%s_bounds", w->part_name)),
						  lit_tenant, lit_dataset,
						  qname, quote_identifier(psprintf("%s_tenant_id_dataset_id_fkey", w->part_name)),
						  qname, qname, qname));
	partid = get_relname_relid(w->part_name, get_namespace_oid("shelfops", false));
	if (!OidIsValid(partid))
		elog(ERROR, "new partition \"%s\" of shelfops.sales is missing", w->part_name);

	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = partid;
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = RowExclusiveLock;

	w->estate = CreateExecutorState();
	ExecInitRangeTable(w->estate, list_make1(rte));
	w->rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(w->estate, w->rri, 1);
	w->rel = w->rri->ri_RelationDesc;
	w->tupdesc = RelationGetDescr(w->rel);

	for (int c = 0; c < SALES_NCOLUMNS; c++)
	{
		w->attno[c] = find_column(w->tupdesc, sales_column_names[c]);
		if (TupleDescAttr(w->tupdesc, w->attno[c])->attbyval == sales_column_is_text(c) ||
			(TupleDescAttr(w->tupdesc, w->attno[c])->atttypid == BOOLOID) != sales_column_is_bool(c))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of shelfops.sales has an unexpected type",
							sales_column_names[c]),
					 errhint("The extension's tables were altered; reinstall or update the extension.")));
	}
	w->tenant_attno = find_column(w->tupdesc, "tenant_id");
	w->dataset_attno = find_column(w->tupdesc, "dataset_id");
	w->tenant_datum = CStringGetTextDatum(tenant_id);
	w->dataset_datum = CStringGetTextDatum(dataset_id);
	plan_checks(w);

	/*
	 * No buffer ring at first: a partition up to a quarter of shared_buffers
	 * (PostgreSQL's own limit for reading a table through shared buffers
	 * without a ring) stays there for the primary key build, which then need
	 * not read it back, and its pages are written out later rather than by
	 * this backend.  Beyond that, write_slots switches to the usual
	 * BULKWRITE ring.
	 */
	w->bistate = GetBulkInsertState();
	FreeAccessStrategy(w->bistate->strategy);
	w->bistate->strategy = NULL;
	w->cid = GetCurrentCommandId(true);
	for (int i = 0; i < SALES_BATCH_ROWS; i++)
		w->slots[i] = table_slot_create(w->rel, NULL);
	w->batch_ordered = true;
	w->mode = WRITER_UNDECIDED;
	w->key_cxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops sales last key",
									   ALLOCSET_SMALL_SIZES);
	w->batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops sales batch",
										 ALLOCSET_DEFAULT_SIZES);
	w->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops sales row",
									   ALLOCSET_SMALL_SIZES);
	sales_writer_row_init(&w->pub);
	return &w->pub;
}

void
sales_writer_row_init(SalesWriter *writer)
{
	MemoryContextReset(((SalesWriterState *) writer)->row_cxt);
	for (int c = 0; c < SALES_NCOLUMNS; c++)
	{
		writer->values[c] = (Datum) 0;
		writer->nulls[c] = true;
	}
	writer->values[SALES_IS_PROMOTIONAL] = BoolGetDatum(false);
	writer->nulls[SALES_IS_PROMOTIONAL] = false;
	writer->values[SALES_IS_HOLIDAY] = BoolGetDatum(false);
	writer->nulls[SALES_IS_HOLIDAY] = false;
}

/* Order of a row's (store, product, date) against another key. */
static int
key_cmp(SalesWriterState *w, TupleTableSlot *slot, text *store, text *product, DateADT date)
{
	int			r;
	DateADT		d;

	r = text_cmp_c(DatumGetTextPP(slot->tts_values[w->attno[SALES_STORE_ID]]), store);
	if (r != 0)
		return r;
	r = text_cmp_c(DatumGetTextPP(slot->tts_values[w->attno[SALES_PRODUCT_ID]]), product);
	if (r != 0)
		return r;
	d = DatumGetDateADT(slot->tts_values[w->attno[SALES_SALE_DATE]]);
	return (d > date) - (d < date);
}

/*
 * Sorting rows that do not arrive in key order.  The sort sees one bytea key
 * ahead of the columns the writer fills (tenant and dataset are the same in
 * every row): store_id, a zero byte, product_id, a zero byte, then sale_date
 * as four big-endian bytes with the sign bit flipped.  Text holds no zero
 * byte, so byte order of the key is (store, product, date) order in the C
 * collation, and every comparison is one memcmp at a cached offset instead of
 * three column fetches past variable-width columns.
 */
static void
start_sort(SalesWriterState *w)
{
	AttrNumber	attnum = 1;
	Oid			op;
	Oid			coll = InvalidOid;
	bool		nulls_first = false;

	w->sort_tupdesc = CreateTemplateTupleDesc(SALES_NCOLUMNS + 1);
	TupleDescInitEntry(w->sort_tupdesc, 1, "sort_key", BYTEAOID, -1, 0);
	for (int c = 0; c < SALES_NCOLUMNS; c++)
	{
		Form_pg_attribute att = TupleDescAttr(w->tupdesc, w->attno[c]);

		TupleDescInitEntry(w->sort_tupdesc, c + 2, NameStr(att->attname),
						   att->atttypid, att->atttypmod, 0);
	}
	op = lookup_type_cache(BYTEAOID, TYPECACHE_LT_OPR)->lt_opr;
	if (!OidIsValid(op))
		elog(ERROR, "no ordering operator for bytea");
	w->sort = tuplesort_begin_heap(w->sort_tupdesc, 1, &attnum, &op, &coll, &nulls_first,
								   maintenance_work_mem, NULL, TUPLESORT_NONE);
	w->sort_in = MakeSingleTupleTableSlot(w->sort_tupdesc, &TTSOpsVirtual);
	w->sort_out = MakeSingleTupleTableSlot(w->sort_tupdesc, &TTSOpsMinimalTuple);
	w->mode = WRITER_SORTING;
}

/* Hand a buffered row (virtual, in batch memory) to the sort. */
static void
sort_put(SalesWriterState *w, TupleTableSlot *slot)
{
	TupleTableSlot *in = w->sort_in;
	text	   *store = DatumGetTextPP(slot->tts_values[w->attno[SALES_STORE_ID]]);
	text	   *product = DatumGetTextPP(slot->tts_values[w->attno[SALES_PRODUCT_ID]]);
	uint32		date = (uint32) DatumGetDateADT(slot->tts_values[w->attno[SALES_SALE_DATE]]) ^ 0x80000000;
	int			ls = VARSIZE_ANY_EXHDR(store);
	int			lp = VARSIZE_ANY_EXHDR(product);
	bytea	   *key = MemoryContextAlloc(w->batch_cxt, VARHDRSZ + ls + lp + 6);
	char	   *p = VARDATA(key);

	SET_VARSIZE(key, VARHDRSZ + ls + lp + 6);
	memcpy(p, VARDATA_ANY(store), ls);
	p += ls;
	*p++ = '\0';
	memcpy(p, VARDATA_ANY(product), lp);
	p += lp;
	*p++ = '\0';
	*p++ = (char) (date >> 24);
	*p++ = (char) (date >> 16);
	*p++ = (char) (date >> 8);
	*p++ = (char) date;

	ExecClearTuple(in);
	in->tts_values[0] = PointerGetDatum(key);
	in->tts_isnull[0] = false;
	for (int c = 0; c < SALES_NCOLUMNS; c++)
	{
		in->tts_values[c + 1] = slot->tts_values[w->attno[c]];
		in->tts_isnull[c + 1] = slot->tts_isnull[w->attno[c]];
	}
	ExecStoreVirtualTuple(in);
	tuplesort_puttupleslot(w->sort, in);
}

/* A sorted row back into a table slot of its own. */
static void
sort_get(SalesWriterState *w, TupleTableSlot *slot)
{
	TupleTableSlot *out = w->sort_out;

	slot_getallattrs(out);
	ExecClearTuple(slot);
	for (int i = 0; i < w->tupdesc->natts; i++)
		slot->tts_isnull[i] = true;
	slot->tts_values[w->tenant_attno] = w->tenant_datum;
	slot->tts_isnull[w->tenant_attno] = false;
	slot->tts_values[w->dataset_attno] = w->dataset_datum;
	slot->tts_isnull[w->dataset_attno] = false;
	for (int c = 0; c < SALES_NCOLUMNS; c++)
	{
		slot->tts_values[w->attno[c]] = out->tts_values[c + 1];
		slot->tts_isnull[w->attno[c]] = out->tts_isnull[c + 1];
	}
	ExecStoreVirtualTuple(slot);
	ExecMaterializeSlot(slot);
}

static void
write_slots(SalesWriterState *w, int n)
{
	table_multi_insert(w->rel, w->slots, n, w->cid, 0, w->bistate);
	if (w->bistate->strategy == NULL && BufferIsValid(w->bistate->current_buf) &&
		BufferGetBlockNumber(w->bistate->current_buf) >= (BlockNumber) (NBuffers / 4))
		w->bistate->strategy = GetAccessStrategy(BAS_BULKWRITE);
	for (int i = 0; i < n; i++)
		ExecClearTuple(w->slots[i]);
	w->rows_written += n;
}

static void
flush_batch(SalesWriterState *w)
{
	int			n = w->nbuffered;

	if (n == 0)
		return;
	if (w->mode == WRITER_UNDECIDED)
	{
		if (w->batch_ordered)
			w->mode = WRITER_DIRECT;
		else
			start_sort(w);
	}
	else if (w->mode == WRITER_DIRECT && !w->batch_ordered)
	{
		elog(DEBUG1, "shelfops sales writer: rows out of key order after " UINT64_FORMAT
			 " rows; sorting the rest", w->rows_written);
		start_sort(w);
	}

	if (w->mode == WRITER_DIRECT)
	{
		/* keep the last key for the next batch's order check */
		TupleTableSlot *last = w->slots[n - 1];
		MemoryContext old;

		MemoryContextReset(w->key_cxt);
		old = MemoryContextSwitchTo(w->key_cxt);
		w->last_store = DatumGetTextPCopy(last->tts_values[w->attno[SALES_STORE_ID]]);
		w->last_product = DatumGetTextPCopy(last->tts_values[w->attno[SALES_PRODUCT_ID]]);
		MemoryContextSwitchTo(old);
		w->last_date = DatumGetDateADT(last->tts_values[w->attno[SALES_SALE_DATE]]);
		w->have_last = true;
		write_slots(w, n);
	}
	else
	{
		for (int i = 0; i < n; i++)
		{
			sort_put(w, w->slots[i]);
			ExecClearTuple(w->slots[i]);
		}
	}
	w->nbuffered = 0;
	w->batch_ordered = true;
	ResetPerTupleExprContext(w->estate);
	MemoryContextReset(w->batch_cxt);
	CHECK_FOR_INTERRUPTS();
}

static void
writer_add(SalesWriter *writer, bool copy)
{
	SalesWriterState *w = (SalesWriterState *) writer;
	TupleTableSlot *slot = w->slots[w->nbuffered];
	MemoryContext old;

	ExecClearTuple(slot);
	for (int i = 0; i < w->tupdesc->natts; i++)
		slot->tts_isnull[i] = true;
	slot->tts_values[w->tenant_attno] = w->tenant_datum;
	slot->tts_isnull[w->tenant_attno] = false;
	slot->tts_values[w->dataset_attno] = w->dataset_datum;
	slot->tts_isnull[w->dataset_attno] = false;

	old = MemoryContextSwitchTo(w->batch_cxt);
	for (int c = 0; c < SALES_NCOLUMNS; c++)
	{
		int			a = w->attno[c];

		slot->tts_isnull[a] = writer->nulls[c];
		if (writer->nulls[c])
			slot->tts_values[a] = (Datum) 0;
		else
		{
			Form_pg_attribute att = TupleDescAttr(w->tupdesc, a);

			slot->tts_values[a] = (copy && !att->attbyval)
				? datumCopy(writer->values[c], att->attbyval, att->attlen)
				: writer->values[c];
		}
	}
	MemoryContextSwitchTo(old);
	ExecStoreVirtualTuple(slot);

	if (w->rel->rd_att->constr && !(w->native_checks && native_checks_pass(w, slot)))
		ExecConstraints(w->rri, slot, w->estate);

	/* key columns are NOT NULL: ExecConstraints has checked them */
	if (w->batch_ordered && w->mode != WRITER_SORTING)
	{
		if (w->nbuffered > 0)
		{
			TupleTableSlot *prev = w->slots[w->nbuffered - 1];

			if (key_cmp(w, slot,
						DatumGetTextPP(prev->tts_values[w->attno[SALES_STORE_ID]]),
						DatumGetTextPP(prev->tts_values[w->attno[SALES_PRODUCT_ID]]),
						DatumGetDateADT(prev->tts_values[w->attno[SALES_SALE_DATE]])) < 0)
				w->batch_ordered = false;
		}
		else if (w->have_last &&
				 key_cmp(w, slot, w->last_store, w->last_product, w->last_date) < 0)
			w->batch_ordered = false;
	}

	if (++w->nbuffered == SALES_BATCH_ROWS)
		flush_batch(w);
}

void
sales_writer_add(SalesWriter *writer)
{
	writer_add(writer, true);
}

void
sales_writer_add_stable(SalesWriter *writer)
{
	writer_add(writer, false);
}

/* Write what the sort holds, in key order. */
static void
drain_sort(SalesWriterState *w)
{
	int			n = 0;

	tuplesort_performsort(w->sort);
	while (tuplesort_gettupleslot(w->sort, true, false, w->sort_out, NULL))
	{
		sort_get(w, w->slots[n]);
		if (++n == SALES_BATCH_ROWS)
		{
			write_slots(w, n);
			n = 0;
			CHECK_FOR_INTERRUPTS();
		}
	}
	if (n > 0)
		write_slots(w, n);
	tuplesort_end(w->sort);
	w->sort = NULL;
	ExecDropSingleTupleTableSlot(w->sort_in);
	ExecDropSingleTupleTableSlot(w->sort_out);
}

/*
 * Index the new partition, drop the dataset's old (emptied) partition and
 * attach the new one in its place.
 */
/*
 * Whether shelfops.sales itself has a primary key: so it had up to 0.1.0, and
 * so it still has in a database whose library is newer than its schema (between
 * installing the new library and ALTER EXTENSION shelfops UPDATE).  ATTACH then
 * needs the partition's key to match the parent's five columns.
 */
static bool
parent_has_primary_key(Oid parent_relid)
{
	Relation	rel = table_open(parent_relid, AccessShareLock);
	bool		has_key;

	has_key = OidIsValid(RelationGetPrimaryKeyIndex(rel));
	table_close(rel, AccessShareLock);
	return has_key;
}

static void
attach_partition(SalesWriterState *w)
{
	char	   *qname = psprintf("shelfops.%s", quote_identifier(w->part_name));
	Oid			old;
	int			nestlevel;

	/*
	 * One sorted build, by this process: a parallel build splits presorted
	 * input into runs it must merge again, which measured slower here.  The
	 * key leaves out tenant_id and dataset_id: the partition's bounds CHECK
	 * fixes both, so (store, product, date) is unique over the whole table
	 * already, and the narrower key builds about 30 % faster.
	 */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("max_parallel_maintenance_workers", "0", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	run_as_owner(psprintf("ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY (%s)",
						  qname, quote_identifier(psprintf("%s_pkey", w->part_name)),
						  parent_has_primary_key(w->parent_relid) ?
						  "tenant_id, dataset_id, store_id, product_id, sale_date" :
						  "store_id, product_id, sale_date"));
	AtEOXact_GUC(true, nestlevel);

	old = find_dataset_partition(w->parent_relid, w->tenant_id, w->dataset_id);
	if (OidIsValid(old))
	{
		if (relation_has_rows(old))
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("dataset \"%s\" of tenant \"%s\" already has sales rows",
							w->dataset_id, w->tenant_id),
					 errdetail("A bulk load writes a whole dataset; its old rows must be removed first."),
					 errhint("Load the dataset again: a load replaces the dataset atomically.")));
		run_as_owner(psprintf("DROP TABLE shelfops.%s", quote_identifier(get_rel_name(old))));
	}
	run_as_owner(psprintf("ALTER TABLE shelfops.sales ATTACH PARTITION %s "
						  "FOR VALUES FROM (%s, %s) TO (%s, %s)",
						  qname,
						  quote_literal_cstr(w->tenant_id), quote_literal_cstr(w->dataset_id),
						  quote_literal_cstr(w->tenant_id),
						  quote_literal_cstr(dataset_upper(w->dataset_id))));
}

uint64
sales_writer_end(SalesWriter *writer)
{
	SalesWriterState *w = (SalesWriterState *) writer;
	uint64		rows;
	instr_time	t0,
				t1,
				t2;

	INSTR_TIME_SET_CURRENT(t0);
	flush_batch(w);
	if (w->mode == WRITER_SORTING)
		drain_sort(w);
	INSTR_TIME_SET_CURRENT(t1);
	for (int i = 0; i < SALES_BATCH_ROWS; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	FreeBulkInsertState(w->bistate);
	ExecCloseResultRelations(w->estate);
	ExecCloseRangeTableRelations(w->estate);
	FreeExecutorState(w->estate);
	MemoryContextDelete(w->batch_cxt);
	MemoryContextDelete(w->row_cxt);
	MemoryContextDelete(w->key_cxt);
	/* Later statements of this transaction see the rows. */
	CommandCounterIncrement();
	attach_partition(w);
	INSTR_TIME_SET_CURRENT(t2);
	INSTR_TIME_SUBTRACT(t2, t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	elog(DEBUG1, "shelfops sales writer: " UINT64_FORMAT " rows, %s; last writes %.3f s, "
		 "primary key and attach %.3f s", w->rows_written,
		 w->mode == WRITER_SORTING ? "sorted here" : "written in arrival (key) order",
		 INSTR_TIME_GET_DOUBLE(t1), INSTR_TIME_GET_DOUBLE(t2));
	rows = w->rows_written;
	pfree(w);
	return rows;
}

bool
sales_column_is_text(SalesColumn col)
{
	return col == SALES_STORE_ID || col == SALES_PRODUCT_ID ||
		col == SALES_CATEGORY || col == SALES_HOLIDAY_TYPE;
}

bool
sales_column_is_bool(SalesColumn col)
{
	return col == SALES_IS_PROMOTIONAL || col == SALES_IS_HOLIDAY ||
		col == SALES_IS_SCHOOL_HOLIDAY || col == SALES_IS_OPEN || col == SALES_IS_RETURN_WEEK;
}

void
sales_set_text(SalesWriter *writer, SalesColumn col, const char *value, int len)
{
	MemoryContext old = MemoryContextSwitchTo(((SalesWriterState *) writer)->row_cxt);

	writer->values[col] = PointerGetDatum(cstring_to_text_with_len(value, len));
	MemoryContextSwitchTo(old);
	writer->nulls[col] = false;
}

void
sales_set_float8(SalesWriter *writer, SalesColumn col, double value)
{
	/* float8 is pass-by-value on every 64-bit platform PostgreSQL 15 supports */
	writer->values[col] = Float8GetDatum(value);
	writer->nulls[col] = false;
}

void
sales_set_bool(SalesWriter *writer, SalesColumn col, bool value)
{
	writer->values[col] = BoolGetDatum(value);
	writer->nulls[col] = false;
}

void
sales_set_int32(SalesWriter *writer, SalesColumn col, int32 value)
{
	writer->values[col] = Int32GetDatum(value);
	writer->nulls[col] = false;
}

void
sales_set_date(SalesWriter *writer, SalesColumn col, int32 date_adt)
{
	writer->values[col] = DateADTGetDatum(date_adt);
	writer->nulls[col] = false;
}
