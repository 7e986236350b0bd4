/*
 * progress.c
 *	  Owns the training progress table in shared memory: its request and
 *	  initialisation (preload only), the calls shelfops_train and the model
 *	  layer make to report phase, rounds and rows, the release of a slot on
 *	  every way a training can end, and the SQL function shelfops_progress().
 *
 * Layout: a header with the slot count, then one slot per possible backend
 * (MaxBackends), indexed by MyBackendId - 1, so claiming needs no search and
 * no global lock.  Only the owning backend writes its slot; each slot has a
 * spinlock held just long enough to copy the few hundred bytes of its state,
 * so a reader never sees a half-written row.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "access/xact.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "progress.h"
#include "shelfops.h"

#define PROGRESS_NAME_LEN 132	/* identifiers are at most 128 characters */

/* What one training reports; copied as a whole under the slot's spinlock. */
typedef struct ProgressState
{
	int			pid;			/* 0 = free */
	Oid			dboid;
	char		tenant_id[PROGRESS_NAME_LEN];
	char		model_name[PROGRESS_NAME_LEN];
	char		dataset_id[PROGRESS_NAME_LEN];
	char		algorithm[NAMEDATALEN];
	int			phase;			/* ProgressPhase */
	int			rounds_done;	/* -1 = not (yet) a boosting fit */
	int			rounds_total;
	int			trials_done;	/* tuning only; -1 = not a tuning */
	int			trials_total;
	int64		rows_train;		/* -1 = not known yet */
	int64		rows_holdout;
	TimestampTz started_at;
	TimestampTz phase_started_at;
} ProgressState;

typedef struct ProgressSlot
{
	slock_t		mutex;
	ProgressState st;
} ProgressSlot;

typedef struct ProgressShared
{
	int			nslots;
	ProgressSlot slots[FLEXIBLE_ARRAY_MEMBER];
} ProgressShared;

static const char *const phase_names[] = {"read", "features", "fit", "score", "write", "tune"};

static ProgressShared *progress_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* This backend's claim. */
static ProgressSlot *my_slot = NULL;
static uint64 my_generation = 0;
static SubTransactionId my_subid = InvalidSubTransactionId;
static bool callbacks_registered = false;

typedef struct ProgressOwner
{
	MemoryContextCallback cb;
	uint64		generation;
} ProgressOwner;

/* ---- shared memory ---- */

static Size
progress_shmem_size(void)
{
	return add_size(offsetof(ProgressShared, slots),
					mul_size(MaxBackends, sizeof(ProgressSlot)));
}

static void
progress_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(progress_shmem_size());
}

static void
progress_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	progress_shared = ShmemInitStruct("shelfops training progress", progress_shmem_size(), &found);
	if (!found)
	{
		progress_shared->nslots = MaxBackends;
		for (int i = 0; i < MaxBackends; i++)
		{
			SpinLockInit(&progress_shared->slots[i].mutex);
			memset(&progress_shared->slots[i].st, 0, sizeof(ProgressState));
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

void
progress_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = progress_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = progress_shmem_startup;
}

/* ---- releasing: every way a training can end ---- */

static void
progress_release(void)
{
	ProgressSlot *slot = my_slot;

	if (slot == NULL)
		return;
	my_slot = NULL;
	SpinLockAcquire(&slot->mutex);
	slot->st.pid = 0;
	SpinLockRelease(&slot->mutex);
}

/* The training's memory context is going away: normal end, ERROR or cancel. */
static void
progress_owner_gone(void *arg)
{
	ProgressOwner *owner = (ProgressOwner *) arg;

	if (owner->generation == my_generation)
		progress_release();
}

/* A training never outlives its transaction. */
static void
progress_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			progress_release();
			break;
		default:
			break;
	}
}

/* A training caught by an EXCEPTION block: its subtransaction (or an outer one) aborted. */
static void
progress_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && my_slot != NULL && my_subid >= mySubid)
		progress_release();
}

static void
progress_exit_callback(int code, Datum arg)
{
	progress_release();
}

/* ---- reporting ---- */

void
progress_begin(MemoryContext owner, const char *tenant_id, const char *model_name,
			   const char *dataset_id, const char *algorithm)
{
	ProgressSlot *slot;
	ProgressOwner *o;
	TimestampTz now = GetCurrentTimestamp();

	if (progress_shared == NULL || MyBackendId == InvalidBackendId ||
		MyBackendId > progress_shared->nslots)
		return;

	if (!callbacks_registered)
	{
		RegisterXactCallback(progress_xact_callback, NULL);
		RegisterSubXactCallback(progress_subxact_callback, NULL);
		before_shmem_exit(progress_exit_callback, (Datum) 0);
		callbacks_registered = true;
	}

	/* a (theoretical) nested training takes the slot over; the outer one stops reporting */
	slot = &progress_shared->slots[MyBackendId - 1];
	my_generation++;
	o = MemoryContextAllocZero(owner, sizeof(ProgressOwner));
	o->generation = my_generation;
	o->cb.func = progress_owner_gone;
	o->cb.arg = o;
	MemoryContextRegisterResetCallback(owner, &o->cb);

	SpinLockAcquire(&slot->mutex);
	slot->st.pid = MyProcPid;
	slot->st.dboid = MyDatabaseId;
	strlcpy(slot->st.tenant_id, tenant_id, PROGRESS_NAME_LEN);
	strlcpy(slot->st.model_name, model_name, PROGRESS_NAME_LEN);
	strlcpy(slot->st.dataset_id, dataset_id, PROGRESS_NAME_LEN);
	strlcpy(slot->st.algorithm, algorithm, NAMEDATALEN);
	slot->st.phase = PROGRESS_READ;
	slot->st.rounds_done = -1;
	slot->st.rounds_total = -1;
	slot->st.rows_train = -1;
	slot->st.rows_holdout = -1;
	slot->st.trials_done = -1;
	slot->st.trials_total = -1;
	slot->st.started_at = now;
	slot->st.phase_started_at = now;
	SpinLockRelease(&slot->mutex);
	my_slot = slot;
	my_subid = GetCurrentSubTransactionId();
}

void
progress_phase(ProgressPhase phase)
{
	ProgressSlot *slot = my_slot;
	TimestampTz now;

	if (slot == NULL)
		return;
	now = GetCurrentTimestamp();
	SpinLockAcquire(&slot->mutex);
	slot->st.phase = phase;
	slot->st.phase_started_at = now;
	SpinLockRelease(&slot->mutex);
}

void
progress_rows(int64 rows_train, int64 rows_holdout)
{
	ProgressSlot *slot = my_slot;

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	if (rows_train >= 0)
		slot->st.rows_train = rows_train;
	if (rows_holdout >= 0)
		slot->st.rows_holdout = rows_holdout;
	SpinLockRelease(&slot->mutex);
}

void
progress_rounds(void *arg, int done, int total)
{
	ProgressSlot *slot = my_slot;

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->st.rounds_done = done;
	slot->st.rounds_total = total;
	SpinLockRelease(&slot->mutex);
}

void
progress_trials(int done, int total)
{
	ProgressSlot *slot = my_slot;

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->st.trials_done = done;
	slot->st.trials_total = total;
	SpinLockRelease(&slot->mutex);
}

void
progress_end(void)
{
	progress_release();
}

/* ---- SQL ---- */

PG_FUNCTION_INFO_V1(shelfops_progress);

/*
 * shelfops_progress(): the trainings running in this database.  Superusers see
 * every tenant's; others only those of the session's tenant.
 */
Datum
shelfops_progress(PG_FUNCTION_ARGS)
{
	static bool noticed = false;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		all_tenants = superuser();
	const char *tenant = shelfops_default_tenant();
	TimestampTz now = GetCurrentTimestamp();

	InitMaterializedSRF(fcinfo, 0);

	if (progress_shared == NULL)
	{
		if (!noticed)
			ereport(NOTICE,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("training progress is not tracked: shelfops is not in shared_preload_libraries"),
					 errhint("Add shelfops to shared_preload_libraries and restart the server.")));
		noticed = true;
		PG_RETURN_VOID();
	}

	for (int i = 0; i < progress_shared->nslots; i++)
	{
		ProgressSlot *slot = &progress_shared->slots[i];
		ProgressState st;
		Datum		values[15];
		bool		nulls[15] = {0};
		Interval   *elapsed;

		SpinLockAcquire(&slot->mutex);
		if (slot->st.pid != 0)
			st = slot->st;
		else
			st.pid = 0;
		SpinLockRelease(&slot->mutex);

		if (st.pid == 0 || st.dboid != MyDatabaseId)
			continue;
		if (!all_tenants && strcmp(st.tenant_id, tenant) != 0)
			continue;
		/* a backend that died without cleaning up (it cannot, but be sure) */
		if (BackendPidGetProc(st.pid) == NULL)
			continue;

		values[0] = Int32GetDatum(st.pid);
		values[1] = CStringGetTextDatum(st.tenant_id);
		values[2] = CStringGetTextDatum(st.model_name);
		values[3] = CStringGetTextDatum(st.dataset_id);
		values[4] = CStringGetTextDatum(st.algorithm);
		values[5] = CStringGetTextDatum(st.phase >= 0 && st.phase <= PROGRESS_TUNE ?
										phase_names[st.phase] : "unknown");
		values[6] = Int32GetDatum(st.rounds_done);
		nulls[6] = st.rounds_done < 0;
		values[7] = Int32GetDatum(st.rounds_total);
		nulls[7] = st.rounds_total < 0;
		values[8] = Int64GetDatum(st.rows_train);
		nulls[8] = st.rows_train < 0;
		values[9] = Int64GetDatum(st.rows_holdout);
		nulls[9] = st.rows_holdout < 0;
		values[10] = TimestampTzGetDatum(st.started_at);
		values[11] = TimestampTzGetDatum(st.phase_started_at);
		elapsed = palloc0(sizeof(Interval));
		elapsed->time = Max(now - st.started_at, 0);
		values[12] = IntervalPGetDatum(elapsed);
		values[13] = Int32GetDatum(st.trials_done);
		nulls[13] = st.trials_done < 0;
		values[14] = Int32GetDatum(st.trials_total);
		nulls[14] = st.trials_total < 0;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
