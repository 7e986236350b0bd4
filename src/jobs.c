/*
 * jobs.c
 *	  Owns the C side of scheduled retraining: the setting shelfops.retrain_run_id
 *	  through which the retrain procedure (sql/install/85_jobs.sql) tells
 *	  shelfops_train that it runs inside a retrain whose 'running' log row already
 *	  exists, the check of that row, and shelfops.retrain_check_algorithm() used
 *	  by the job catalog to validate algorithms against the model registry, and
 *	  the max_runtime deadline of a run: a timer (a USER_TIMEOUT) that cancels
 *	  the running statement when it fires, and tells the procedure afterwards
 *	  that the cancel was the deadline's (so the run ends 'timed_out').
 *
 * The job catalog, the retrain procedure and crash accounting are SQL (85_jobs).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "jobs.h"
#include "model.h"

PG_FUNCTION_INFO_V1(shelfops_retrain_check_algorithm);
PG_FUNCTION_INFO_V1(shelfops_retrain_deadline_start);
PG_FUNCTION_INFO_V1(shelfops_retrain_deadline_stop);

static char *retrain_run_id = NULL;

void
shelfops_jobs_define_settings(void)
{
	DefineCustomStringVariable("shelfops.retrain_run_id",
							   "Internal: the running retraining log row of the current retrain run.",
							   "Set (transaction-local) by shelfops_retrain before it calls shelfops_train, "
							   "which then writes no log row of its own; the procedure finishes the row.",
							   &retrain_run_id,
							   "",
							   PGC_USERSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   NULL, NULL, NULL);
}

const char *
shelfops_jobs_retrain_run_id(void)
{
	if (retrain_run_id == NULL || retrain_run_id[0] == '\0')
		return NULL;
	return retrain_run_id;
}

void
shelfops_jobs_check_run(const char *run_id, const char *tenant_id, const char *model_name)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	int			rc;

	values[0] = CStringGetTextDatum(run_id);
	values[1] = CStringGetTextDatum(tenant_id);
	values[2] = CStringGetTextDatum(model_name);
	rc = SPI_execute_with_args("SELECT 1 FROM shelfops.model_retraining_log "
							   "WHERE retrain_id::text = $1 AND tenant_id = $2 AND model_name = $3 "
							   "AND status = 'running' AND backend_pid = pg_backend_pid()",
							   3, types, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not look up retrain run %s", run_id);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("shelfops.retrain_run_id \"%s\" is not a running retrain of model \"%s\" in this session",
						run_id, model_name),
				 errdetail("Training inside a retrain run needs the run's 'running' log row, written by this backend."),
				 errhint("Do not set shelfops.retrain_run_id yourself; use CALL shelfops_retrain(...).")));
}

/*
 * shelfops.retrain_check_algorithm(text) RETURNS text: the algorithm's name when
 * the model registry knows it, an error listing the valid ones otherwise.
 */
Datum
shelfops_retrain_check_algorithm(PG_FUNCTION_ARGS)
{
	const ModelFamily *family = model_family_lookup(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	PG_RETURN_TEXT_P(cstring_to_text(family->name));
}

/* ---- the max_runtime deadline of a run ---- */

static TimeoutId deadline_timeout = MAX_TIMEOUTS;	/* not registered yet */
static volatile sig_atomic_t deadline_armed = false;
static volatile sig_atomic_t deadline_fired = false;
static bool deadline_callback_registered = false;

/*
 * Timer handler (signal context): cancel whatever runs now, as a statement
 * timeout would.  Training checks for interrupts between boosting rounds and
 * in its loops, so the cancel lands there; the procedure's handler then asks
 * shelfops.retrain_deadline_stop() whether the cancel was ours.
 */
static void
deadline_handler(void)
{
	if (!deadline_armed)
		return;
	deadline_fired = true;
	deadline_armed = false;
	QueryCancelPending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
}

static void
deadline_disarm(void)
{
	if (deadline_armed && deadline_timeout != MAX_TIMEOUTS)
		disable_timeout(deadline_timeout, false);
	deadline_armed = false;
}

/* Safety net: a deadline never outlives the transaction that armed it. */
static void
deadline_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		deadline_disarm();
}

/*
 * shelfops.retrain_deadline_start(max_runtime interval) RETURNS void: arm the
 * deadline, max_runtime from now, for the current transaction.
 */
Datum
shelfops_retrain_deadline_start(PG_FUNCTION_ARGS)
{
	Interval   *span = PG_GETARG_INTERVAL_P(0);
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz at;
	int64		usecs;

	usecs = span->time + (int64) span->day * USECS_PER_DAY + (int64) span->month * 30 * USECS_PER_DAY;
	if (usecs < USECS_PER_SEC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_runtime must be at least 1 second")));
	if (deadline_timeout == MAX_TIMEOUTS)
		deadline_timeout = RegisterTimeout(USER_TIMEOUT, deadline_handler);
	if (!deadline_callback_registered)
	{
		RegisterXactCallback(deadline_xact_callback, NULL);
		deadline_callback_registered = true;
	}
	deadline_disarm();
	deadline_fired = false;
	at = (usecs > PG_INT64_MAX - now) ? DT_NOEND : now + usecs;
	deadline_armed = true;
	enable_timeout_at(deadline_timeout, at);
	PG_RETURN_VOID();
}

/*
 * shelfops.retrain_deadline_stop() RETURNS boolean: disarm the deadline and say
 * whether it fired since it was armed.  When it did, the cancel it raised is
 * consumed here if still pending, so that the caller can record the outcome
 * (a user's cancel arriving in the same instant is folded into the timeout).
 */
Datum
shelfops_retrain_deadline_stop(PG_FUNCTION_ARGS)
{
	bool		fired;

	deadline_disarm();
	fired = deadline_fired;
	if (fired)
		QueryCancelPending = false;
	PG_RETURN_BOOL(fired);
}
