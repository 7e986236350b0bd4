/*
 * jobs.h
 *	  Scheduled retraining (src/jobs.c): the settings that hand a retrain run to
 *	  shelfops_train and the algorithm check used by the job catalog.
 */
#ifndef SHELFOPS_JOBS_H
#define SHELFOPS_JOBS_H

/* Define the jobs settings; called once from _PG_init. */
extern void shelfops_jobs_define_settings(void);

/*
 * The running model_retraining_log row (retrain_id as text) that the current
 * shelfops_retrain call set for shelfops_train, or NULL when training is not
 * part of a retrain run.
 */
extern const char *shelfops_jobs_retrain_run_id(void);

/*
 * Inside a retrain run: check that the run id names a running log row of this
 * backend for (tenant, model).  ERROR otherwise.  Needs an SPI connection.
 */
extern void shelfops_jobs_check_run(const char *run_id, const char *tenant_id, const char *model_name);

/*
 * src/worker.c: define shelfops.worker_databases and shelfops.worker_naptime and,
 * when preloading, register the launcher.  Called once from _PG_init.
 */
extern void shelfops_worker_define_settings(bool preloading);

#endif							/* SHELFOPS_JOBS_H */
