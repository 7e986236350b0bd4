/*
 * jobs.c
 *	  Owns the C side of scheduled retraining: the setting shelfops.retrain_run_id
 *	  through which the retrain procedure (sql/install/85_jobs.sql) tells
 *	  shelfops_train that it runs inside a retrain whose 'running' log row already
 *	  exists, the check of that row, and shelfops.retrain_check_algorithm() used
 *	  by the job catalog to validate algorithms against the model registry.
 *
 * The job catalog, the retrain procedure and crash accounting are SQL (85_jobs).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "jobs.h"
#include "model.h"

PG_FUNCTION_INFO_V1(shelfops_retrain_check_algorithm);

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
