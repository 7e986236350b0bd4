/*
 * sales_writer.c
 *	  Owns bulk insertion into shelfops.sales: every loader and the synthetic
 *	  generator write canonical rows through this one path.
 *
 * Rows go in batches through table_multi_insert and the table's indexes, the
 * way COPY FROM does, instead of one INSERT per row through SPI: a per-row
 * INSERT of 2.7 million rows took over 30 s, mostly in executor start-up and
 * the foreign-key trigger.  What the executor would have checked is checked
 * here too:
 *	- INSERT privilege on the table (ExecCheckRTPerms);
 *	- NOT NULL and CHECK constraints on every row (ExecConstraints);
 *	- unique keys, through the indexes;
 *	- the foreign key to shelfops.datasets once per load, with the same
 *	  FOR KEY SHARE lock the RI trigger would take;
 *	- row-level security: when it applies to the caller, the tenant written must
 *	  be the session's tenant (the table's policy, evaluated once).
 * A user-defined row trigger on shelfops.sales would be bypassed, so its
 * presence is an error rather than a silent skip.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/heapam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/date.h"
#include "utils/datum.h"

#include "shelfops.h"
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

typedef struct SalesWriterState
{
	SalesWriter pub;			/* must be first */
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
	MemoryContext batch_cxt;	/* copies of the buffered rows' values */
	MemoryContext row_cxt;		/* values made by the setters for the current row */
	uint64		rows_written;
} SalesWriterState;

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

SalesWriter *
sales_writer_begin(const char *tenant_id, const char *dataset_id)
{
	SalesWriterState *w;
	RangeTblEntry *rte;
	Oid			relid;
	TriggerDesc *trig;

	relid = get_relname_relid("sales", get_namespace_oid("shelfops", false));
	if (!OidIsValid(relid))
		elog(ERROR, "table shelfops.sales is missing");

	/*
	 * Row-level security applies to this caller: the only rows its policy lets
	 * it write are the session tenant's.
	 */
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED &&
		strcmp(tenant_id, shelfops_default_tenant()) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot write sales of tenant \"%s\" from a session of tenant \"%s\"",
						tenant_id, shelfops_default_tenant()),
				 errhint("SET shelfops.tenant_id = '%s' first.", tenant_id)));

	lock_parent_dataset(tenant_id, dataset_id);

	w = palloc0(sizeof(SalesWriterState));

	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = RowExclusiveLock;
	rte->requiredPerms = ACL_INSERT;
	ExecCheckRTPerms(list_make1(rte), true);

	w->estate = CreateExecutorState();
	ExecInitRangeTable(w->estate, list_make1(rte));
	w->rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(w->estate, w->rri, 1);
	w->rel = w->rri->ri_RelationDesc;
	w->tupdesc = RelationGetDescr(w->rel);
	ExecOpenIndices(w->rri, false);

	trig = w->rel->trigdesc;
	if (trig != NULL)
	{
		for (int i = 0; i < trig->numtriggers; i++)
		{
			Trigger    *t = &trig->triggers[i];

			if (!OidIsValid(t->tgconstraint) && t->tgenabled != TRIGGER_DISABLED)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("shelfops.sales has trigger \"%s\", which a bulk load would bypass",
								t->tgname),
						 errhint("Drop or disable the trigger before loading.")));
		}
	}

	for (int c = 0; c < SALES_NCOLUMNS; c++)
		w->attno[c] = find_column(w->tupdesc, sales_column_names[c]);
	w->tenant_attno = find_column(w->tupdesc, "tenant_id");
	w->dataset_attno = find_column(w->tupdesc, "dataset_id");
	w->tenant_datum = CStringGetTextDatum(tenant_id);
	w->dataset_datum = CStringGetTextDatum(dataset_id);

	w->bistate = GetBulkInsertState();
	w->cid = GetCurrentCommandId(true);
	for (int i = 0; i < SALES_BATCH_ROWS; i++)
		w->slots[i] = table_slot_create(w->rel, NULL);
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

static void
flush_batch(SalesWriterState *w)
{
	if (w->nbuffered == 0)
		return;
	table_multi_insert(w->rel, w->slots, w->nbuffered, w->cid, 0, w->bistate);
	if (w->rri->ri_NumIndices > 0)
	{
		for (int i = 0; i < w->nbuffered; i++)
		{
			List	   *recheck;

			recheck = ExecInsertIndexTuples(w->rri, w->slots[i], w->estate,
											false, false, NULL, NIL);
			list_free(recheck);
		}
	}
	for (int i = 0; i < w->nbuffered; i++)
		ExecClearTuple(w->slots[i]);
	w->rows_written += w->nbuffered;
	w->nbuffered = 0;
	ResetPerTupleExprContext(w->estate);
	MemoryContextReset(w->batch_cxt);
	CHECK_FOR_INTERRUPTS();
}

void
sales_writer_add(SalesWriter *writer)
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

			slot->tts_values[a] = datumCopy(writer->values[c], att->attbyval, att->attlen);
		}
	}
	MemoryContextSwitchTo(old);
	ExecStoreVirtualTuple(slot);

	if (w->rel->rd_att->constr)
		ExecConstraints(w->rri, slot, w->estate);

	if (++w->nbuffered == SALES_BATCH_ROWS)
		flush_batch(w);
}

uint64
sales_writer_end(SalesWriter *writer)
{
	SalesWriterState *w = (SalesWriterState *) writer;
	uint64		rows;

	flush_batch(w);
	for (int i = 0; i < SALES_BATCH_ROWS; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	FreeBulkInsertState(w->bistate);
	/* ExecCloseResultRelations closes the result relation's indexes too */
	ExecCloseResultRelations(w->estate);
	ExecCloseRangeTableRelations(w->estate);
	FreeExecutorState(w->estate);
	MemoryContextDelete(w->batch_cxt);
	MemoryContextDelete(w->row_cxt);
	rows = w->rows_written;
	pfree(w);
	/* Later statements of this transaction see the rows. */
	CommandCounterIncrement();
	return rows;
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
