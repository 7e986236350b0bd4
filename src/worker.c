/*
 * worker.c
 *	  Owns the background workers of scheduled retraining: a launcher registered
 *	  from shared_preload_libraries that keeps one worker per database listed in
 *	  shelfops.worker_databases; that per-database worker, which marks crashed
 *	  runs (shelfops_mark_crashed_runs) and every shelfops.worker_naptime seconds
 *	  starts retrain workers for the due jobs, at most shelfops.max_parallel_retrains
 *	  runs at once in its database; and the retrain worker, a dynamic background
 *	  worker that claims one due job (shelfops.retrain_claim) and runs
 *	  CALL shelfops_retrain(..., if_due => true) for it, then exits.
 *
 * Signals.  SIGHUP reloads the settings.  SIGTERM stops a database worker at once
 * (it terminates its retrain workers first).  SIGTERM to a retrain worker cancels
 * the statement it runs: training checks for interrupts between boosting rounds,
 * the procedure finishes the run's log row 'failed' (canceled) and the worker
 * exits.  A retrain worker killed otherwise leaves its row 'running' until the
 * database worker's next check marks it 'crashed'.
 *
 * The CALL runs through a top-level portal, as a client's simple query would, so
 * that the procedure may COMMIT (the 'running' row is committed before training).
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
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

#define SHELFOPS_MAX_PARALLEL_RETRAINS 64

PGDLLEXPORT void shelfops_launcher_main(Datum arg);
PGDLLEXPORT void shelfops_worker_main(Datum arg);
PGDLLEXPORT void shelfops_retrain_main(Datum arg);

static char *worker_databases = NULL;
static int	worker_naptime = 60;
static int	max_parallel_retrains = 1;

static volatile sig_atomic_t got_sigterm = false;

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
	DefineCustomIntVariable("shelfops.max_parallel_retrains",
							"Most retrain runs at once in a database, counting the background worker's and any other session's.",
							"The database worker starts one retrain worker (a dynamic background worker) per due job "
							"of a different (tenant, model) while fewer runs than this are going on; each needs a "
							"max_worker_processes slot.",
							&max_parallel_retrains, 1, 1, SHELFOPS_MAX_PARALLEL_RETRAINS, PGC_SIGHUP, 0,
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

/* SIGTERM of a database worker: stop at the next loop turn. */
static void
worker_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/*
 * SIGTERM of a retrain worker: cancel what runs now (training notices between
 * boosting rounds; the procedure logs the run 'failed' and re-raises), then exit.
 */
static void
retrain_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	QueryCancelPending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

typedef struct RetrainChild
{
	BackgroundWorkerHandle *handle;
	pid_t		pid;			/* 0 until known */
} RetrainChild;

static RetrainChild children[SHELFOPS_MAX_PARALLEL_RETRAINS];

/* the job a retrain worker claimed (static: read after a longjmp) */
static char *tenant = NULL;
static char *model = NULL;
static char *trigger = NULL;
static int	nchildren = 0;

/* Forget retrain workers that have stopped; learn the pids of started ones. */
static void
reap_children(void)
{
	int			kept = 0;

	for (int i = 0; i < nchildren; i++)
	{
		pid_t		pid;
		BgwHandleStatus st = GetBackgroundWorkerPid(children[i].handle, &pid);

		if (st == BGWH_STOPPED || st == BGWH_POSTMASTER_DIED)
		{
			pfree(children[i].handle);
			continue;
		}
		if (st == BGWH_STARTED)
			children[i].pid = pid;
		children[kept++] = children[i];
	}
	nchildren = kept;
}

static void
terminate_children(void)
{
	for (int i = 0; i < nchildren; i++)
		TerminateBackgroundWorker(children[i].handle);
}

/*
 * How many retrain workers to start now: due jobs whose lock is free, bounded
 * by max_parallel_retrains minus the runs going on (our retrain workers, and
 * running log rows of live backends that are not ours: pg_cron, clients).
 */
static int
retrain_slots(void)
{
	int			free_due = 0;
	int			others = 0;
	int			slots;
	char	   *sql;
	StringInfoData pids;

	initStringInfo(&pids);
	appendStringInfoString(&pids, "'{");
	for (int i = 0; i < nchildren; i++)
		appendStringInfo(&pids, "%s%d", i ? "," : "", (int) children[i].pid);
	appendStringInfoString(&pids, "}'::int[]");
	sql = psprintf("SELECT (SELECT count(*) FROM shelfops.retrain_free_due_jobs())::int, "
				   "(SELECT count(*) FROM shelfops.model_retraining_log l "
				   "  WHERE l.status = 'running' AND l.backend_pid <> ALL (%s) "
				   "    AND EXISTS (SELECT 1 FROM pg_stat_activity a "
				   "                 WHERE a.pid = l.backend_pid AND a.backend_start <= l.started_at))::int",
				   pids.data);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "shelfops: looking for due retrain jobs");
	if (SPI_execute(sql, false, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;

		free_due = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		others = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	pfree(sql);
	pfree(pids.data);
	slots = max_parallel_retrains - nchildren - others;
	return Max(0, Min(slots, free_due));
}

static bool
start_child(const char *dbname)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "shelfops");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "shelfops_retrain_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "shelfops retrain %s", dbname);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "shelfops retrain");
	strlcpy(bgw.bgw_extra, dbname, BGW_EXTRALEN);
	bgw.bgw_notify_pid = MyProcPid;	/* its start and exit set our latch */
	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
	{
		ereport(LOG,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("shelfops worker: could not start a retrain worker in database \"%s\"", dbname),
				 errhint("Raise max_worker_processes (shelfops.max_parallel_retrains is %d).",
						 max_parallel_retrains)));
		return false;
	}
	children[nchildren].handle = handle;
	children[nchildren].pid = 0;
	nchildren++;
	return true;
}

void
shelfops_worker_main(Datum arg)
{
	char		dbname[NAMEDATALEN];

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, worker_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	pgstat_report_appname("shelfops worker");

	for (;;)
	{
		char	   *schema;

		CHECK_FOR_INTERRUPTS();
		if (got_sigterm)
		{
			terminate_children();
			proc_exit(0);
		}
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		reap_children();
		schema = extension_schema();
		if (schema != NULL)
		{
			char	   *sql;
			int			n;

			/* every turn: runs of retrain workers that died are accounted for at once */
			sql = psprintf("SELECT %s.shelfops_mark_crashed_runs()", schema);
			run_toplevel(sql);
			pfree(sql);
			n = got_sigterm ? 0 : retrain_slots();
			for (int i = 0; i < n && nchildren < SHELFOPS_MAX_PARALLEL_RETRAINS; i++)
				if (!start_child(dbname))
					break;
			pfree(schema);
		}
		/* woken early by SIGTERM, SIGHUP, or a retrain worker starting or exiting */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 worker_naptime * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * A retrain worker: claim one due job (holding its lock), run it, exit.  An
 * error ends the process: it is reported, and the procedure has already logged
 * the run (or the database worker will mark it crashed).
 */
void
shelfops_retrain_main(Datum arg)
{
	char		dbname[NAMEDATALEN];
	sigjmp_buf	local_sigjmp_buf;
	char	   *schema;

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, retrain_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	pgstat_report_appname("shelfops retrain");

	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
	{
		/* an ERROR (a cancel on SIGTERM included): report it and exit */
		HOLD_INTERRUPTS();
		EmitErrorReport();
		if (got_sigterm)
			ereport(LOG,
					(errmsg("shelfops retrain worker stopped by SIGTERM (model \"%s\" of tenant \"%s\")",
							model ? model : "?", tenant ? tenant : "?")));
		proc_exit(got_sigterm ? 0 : 1);
	}
	PG_exception_stack = &local_sigjmp_buf;

	schema = extension_schema();
	if (schema == NULL || got_sigterm)
		proc_exit(0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	{
		const char *sql = "SELECT tenant_id, model_name, trigger FROM shelfops.retrain_claim()";

		if (SPI_execute(sql, false, 1) == SPI_OK_SELECT && SPI_processed == 1)
		{
			tenant = MemoryContextStrdup(TopMemoryContext,
										 SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
			model = MemoryContextStrdup(TopMemoryContext,
										SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
			trigger = MemoryContextStrdup(TopMemoryContext,
										  SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();

	if (model != NULL)
	{
		char	   *sql = psprintf("CALL %s.shelfops_retrain(%s, %s, %s, if_due => true)", schema,
								   quote_literal_cstr(model), quote_literal_cstr(tenant),
								   quote_literal_cstr(trigger));

		pgstat_report_appname(psprintf("shelfops retrain %s/%s", tenant, model));
		run_toplevel(sql);
	}
	/* exiting releases the claim */
	proc_exit(0);
}
