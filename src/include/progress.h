/*
 * progress.h
 *	  Live progress of trainings, kept in shared memory so that another session
 *	  can watch them (shelfops_progress(), view shelfops.training_progress).
 *
 * Everything here is a no-op unless the library was preloaded
 * (shared_preload_libraries): shared memory can be requested only then.
 *
 * One slot per backend (indexed by its BackendId), written only by its owner.
 * A training claims its slot with progress_begin(), tied to a memory context:
 * when that context goes away (normal end, ERROR, cancel) the slot is freed.
 * Transaction end and backend exit free it too, and readers skip slots whose
 * process is gone, so no path leaves a stale row visible.
 */
#ifndef SHELFOPS_PROGRESS_H
#define SHELFOPS_PROGRESS_H

#include "postgres.h"

typedef enum ProgressPhase
{
	PROGRESS_READ = 0,
	PROGRESS_FEATURES,
	PROGRESS_FIT,
	PROGRESS_SCORE,
	PROGRESS_WRITE,
	PROGRESS_TUNE				/* shelfops_tune's search (trials on folds) */
} ProgressPhase;

/* From _PG_init while preloading: install the shmem request/startup hooks. */
extern void progress_install_hooks(void);

/*
 * Claim this backend's slot for a training; phase becomes 'read'.  The slot is
 * released when owner is reset or deleted (or by progress_end()).
 */
extern void progress_begin(MemoryContext owner, const char *tenant_id, const char *model_name,
						   const char *dataset_id, const char *algorithm);
extern void progress_phase(ProgressPhase phase);
/* Row counts; a negative value leaves that count unchanged. */
extern void progress_rows(int64 rows_train, int64 rows_holdout);
/* Signature of ModelTrainData.progress: rounds done so far out of total. */
extern void progress_rounds(void *arg, int done, int total);
/* Tuning: evaluations (one configuration on one rung, every fold) done of total. */
extern void progress_trials(int done, int total);
extern void progress_end(void);

#endif							/* SHELFOPS_PROGRESS_H */
