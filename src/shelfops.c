/*
 * shelfops.c
 *	  Module magic, _PG_init and the extension's settings (GUCs); nothing else.
 *
 * The library works both preloaded (shared_preload_libraries = 'shelfops') and
 * loaded on first use by CREATE EXTENSION.  Settings that only make sense at
 * postmaster start are defined only while preloading, because defining a
 * PGC_POSTMASTER setting from a plain LOAD is a FATAL error.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "shelfops.h"
#include "jobs.h"
#include "progress.h"

PG_MODULE_MAGIC;

char	   *shelfops_tenant_id = NULL;
char	   *shelfops_export_directory = NULL;
int			shelfops_training_memory_mb = 2048;
int			shelfops_xgboost_threads = 1;
int			shelfops_shadow_max_challengers = 5;
bool		shelfops_fast_tree_predict = true;

void		_PG_init(void);

const char *
shelfops_default_tenant(void)
{
	if (shelfops_tenant_id == NULL || shelfops_tenant_id[0] == '\0')
		return "public";
	return shelfops_tenant_id;
}

void
_PG_init(void)
{
	DefineCustomStringVariable("shelfops.tenant_id",
							   "Tenant whose rows this session sees (row-level security key).",
							   "Every shelfops table is filtered on this setting; unset means 'public'.",
							   &shelfops_tenant_id,
							   "public",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("shelfops.export_directory",
							   "Directory under which shelfops_export_registry may write files.",
							   "Empty disables file export.  Paths outside it, or containing '..', are refused.",
							   &shelfops_export_directory,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("shelfops.training_memory_mb",
							"Largest training matrix a single training may build, in megabytes.",
							"A training whose data would need more fails before allocating, saying how much it needed.",
							&shelfops_training_memory_mb,
							2048, 16, 1024 * 1024,
							PGC_USERSET,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("shelfops.xgboost_threads",
							"Threads XGBoost may use inside one backend.",
							"Keep at 1 unless the machine has idle cores: concurrent trainings with many threads each spin-wait against each other.",
							&shelfops_xgboost_threads,
							1, 1, 64,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("shelfops.shadow_max_challengers",
							"Challengers a shadow forecast covers beside the champion: the newest ones.",
							"Each challenger costs one forecast of every series; older challengers are left out of shadow rows.",
							&shelfops_shadow_max_challengers,
							5, 1, 1000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("shelfops.fast_tree_predict",
							 "Predict loaded XGBoost models with shelfops' flat-tree predictor.",
							 "It gives the same values as XGBoost's predictor (reg:squarederror gbtree models; others always use XGBoost's); off uses XGBoost's.",
							 &shelfops_fast_tree_predict,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	/* jobs (issue 6): shelfops.retrain_run_id */
	shelfops_jobs_define_settings();
	shelfops_worker_define_settings(process_shared_preload_libraries_in_progress);

	MarkGUCPrefixReserved("shelfops");

	/* progress: shared memory for training progress, only when preloaded (progress.c) */
	if (process_shared_preload_libraries_in_progress)
		progress_install_hooks();
}
