/*
 * worker.c
 *	  Owns the background workers of scheduled retraining: a launcher registered
 *	  from shared_preload_libraries that keeps one worker per database listed in
 *	  shelfops.worker_databases, and that per-database worker, which marks crashed
 *	  runs once at start (shelfops_mark_crashed_runs) and then runs
 *	  CALL shelfops_run_due_jobs() every shelfops.worker_naptime seconds, sleeping
 *	  on its latch in between.  SIGHUP reloads the settings; SIGTERM stops a worker
 *	  at its next interrupt check (training checks for interrupts), leaving the
 *	  run's log row 'running' until the next start marks it 'crashed'.
 *
 * The CALL runs through a top-level portal, as a client's simple query would, so
 * that the procedure may COMMIT (the 'running' row is committed before training).
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "jobs.h"

#define SHELFOPS_MAX_WORKER_DATABASES 32

PGDLLEXPORT void shelfops_launcher_main(Datum arg);
PGDLLEXPORT void shelfops_worker_main(Datum arg);

static char *worker_databases = NULL;
static int	worker_naptime = 60;

typedef struct WorkerSlot
{
	char		dbname[NAMEDATALEN];
	BackgroundWorkerHandle *handle;
	TimestampTz last_start;
	bool		wanted;
} WorkerSlot;

void
shelfops_worker_define_settings(bool preloading)
{
	BackgroundWorker bgw;

	DefineCustomStringVariable("shelfops.worker_databases",
							   "Databases in which the shelfops background worker runs due retrain jobs.",
							   "Comma-separated database names; empty (the default) starts no worker.  "
							   "Needs shelfops in shared_preload_libraries.",
							   &worker_databases, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("shelfops.worker_naptime",
							"Seconds the shelfops background worker sleeps between checks for due jobs.",
							NULL, &worker_naptime, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	if (!preloading)
		return;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 10;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "shelfops");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "shelfops_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "shelfops launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "shelfops launcher");
	RegisterBackgroundWorker(&bgw);
}

/* Mark every slot wanted or not from the setting; new names get a slot. */
static int
read_databases(WorkerSlot *slots, int nslots)
{
	char	   *raw = pstrdup(worker_databases ? worker_databases : "");
	List	   *names;
	ListCell   *lc;

	for (int i = 0; i < nslots; i++)
		slots[i].wanted = false;
	if (!SplitIdentifierString(raw, ',', &names))
	{
		ereport(LOG,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shelfops launcher: invalid shelfops.worker_databases \"%s\"", worker_databases),
				 errdetail("Expected a comma-separated list of database names.")));
		return nslots;
	}
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		int			i;

		for (i = 0; i < nslots; i++)
			if (strcmp(slots[i].dbname, name) == 0)
				break;
		if (i == nslots)
		{
			if (nslots == SHELFOPS_MAX_WORKER_DATABASES)
			{
				ereport(LOG,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("shelfops launcher: more than %d worker databases, ignoring \"%s\"",
								SHELFOPS_MAX_WORKER_DATABASES, name)));
				continue;
			}
			memset(&slots[i], 0, sizeof(WorkerSlot));
			strlcpy(slots[i].dbname, name, NAMEDATALEN);
			nslots++;
		}
		slots[i].wanted = true;
	}
	return nslots;
}

/* Start wanted workers that are not running (at most once per naptime), stop unwanted ones. */
static void
reconcile_workers(WorkerSlot *slots, int nslots)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < nslots; i++)
	{
		WorkerSlot *s = &slots[i];
		pid_t		pid;
		bool		running = s->handle != NULL &&
			GetBackgroundWorkerPid(s->handle, &pid) != BGWH_STOPPED;

		if (!s->wanted)
		{
			if (running)
				TerminateBackgroundWorker(s->handle);
			continue;
		}
		if (running ||
			(s->last_start != 0 &&
			 !TimestampDifferenceExceeds(s->last_start, now, worker_naptime * 1000)))
			continue;
		{
			BackgroundWorker bgw;
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			memset(&bgw, 0, sizeof(bgw));
			bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
			bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
			bgw.bgw_restart_time = BGW_NEVER_RESTART;
			snprintf(bgw.bgw_library_name, BGW_MAXLEN, "shelfops");
			snprintf(bgw.bgw_function_name, BGW_MAXLEN, "shelfops_worker_main");
			snprintf(bgw.bgw_name, BGW_MAXLEN, "shelfops worker %s", s->dbname);
			snprintf(bgw.bgw_type, BGW_MAXLEN, "shelfops worker");
			strlcpy(bgw.bgw_extra, s->dbname, BGW_EXTRALEN);
			bgw.bgw_notify_pid = MyProcPid;
			s->last_start = now;
			if (!RegisterDynamicBackgroundWorker(&bgw, &s->handle))
			{
				s->handle = NULL;
				ereport(LOG,
						(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
						 errmsg("shelfops launcher: could not start the worker for database \"%s\"", s->dbname),
						 errhint("Raise max_worker_processes.")));
			}
			MemoryContextSwitchTo(old);
		}
	}
}

void
shelfops_launcher_main(Datum arg)
{
	WorkerSlot *slots = MemoryContextAllocZero(TopMemoryContext,
											   sizeof(WorkerSlot) * SHELFOPS_MAX_WORKER_DATABASES);
	int			nslots = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* no database: only to be visible in pg_stat_activity */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		nslots = read_databases(slots, nslots);
		reconcile_workers(slots, nslots);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(worker_naptime, 10) * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* The extension's schema in this database, quoted, or NULL when it is not installed. */
static char *
extension_schema(void)
{
	char	   *schema = NULL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'shelfops'",
					true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		schema = MemoryContextStrdup(TopMemoryContext, s);
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return schema;
}

/* Run one statement as a client's simple query would: a top-level portal, so CALL may COMMIT. */
static void
run_toplevel(const char *sql)
{
	List	   *parsetrees;
	RawStmt    *parsetree;
	List	   *querytrees;
	List	   *plantrees;
	Portal		portal;
	DestReceiver *receiver;
	MemoryContext stmtcxt;

	/*
	 * Parse and plan trees must outlive the procedure's own COMMITs, which
	 * reset the transaction's memory (a client's query uses MessageContext).
	 */
	stmtcxt = AllocSetContextCreate(TopMemoryContext, "shelfops worker statement",
									ALLOCSET_DEFAULT_SIZES);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	MemoryContextSwitchTo(stmtcxt);
	debug_query_string = sql;
	pgstat_report_activity(STATE_RUNNING, sql);
	parsetrees = pg_parse_query(sql);
	parsetree = linitial_node(RawStmt, parsetrees);
	PushActiveSnapshot(GetTransactionSnapshot());
	querytrees = pg_analyze_and_rewrite_fixedparams(parsetree, sql, NULL, 0, NULL);
	plantrees = pg_plan_queries(querytrees, sql, CURSOR_OPT_PARALLEL_OK, NULL);
	PopActiveSnapshot();
	portal = CreatePortal("", true, true);
	portal->visible = false;
	PortalDefineQuery(portal, NULL, sql, CreateCommandTag(parsetree->stmt), plantrees, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	receiver = CreateDestReceiver(DestNone);
	(void) PortalRun(portal, FETCH_ALL, true, true, receiver, receiver, NULL);
	receiver->rDestroy(receiver);
	PortalDrop(portal, false);
	/* the transaction now open may be a later one than we started */
	MemoryContextSwitchTo(TopTransactionContext);
	CommitTransactionCommand();
	MemoryContextDelete(stmtcxt);
	debug_query_string = NULL;
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
shelfops_worker_main(Datum arg)
{
	char		dbname[NAMEDATALEN];
	bool		crashed_checked = false;

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	pgstat_report_appname("shelfops worker");

	for (;;)
	{
		char	   *schema;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		schema = extension_schema();
		if (schema != NULL)
		{
			char	   *sql;

			if (!crashed_checked)
			{
				sql = psprintf("SELECT %s.shelfops_mark_crashed_runs()", schema);
				run_toplevel(sql);
				pfree(sql);
				crashed_checked = true;
			}
			sql = psprintf("CALL %s.shelfops_run_due_jobs()", schema);
			run_toplevel(sql);
			pfree(sql);
			pfree(schema);
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 worker_naptime * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
