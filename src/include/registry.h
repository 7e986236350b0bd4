/*
 * registry.h
 *	  The reference's registry parity documents (registry.json, champion.json,
 *	  MODEL_PERFORMANCE_LOG.md, run_*.json) built from shelfops' tables.
 *
 * registry_sql.c reads one tenant's rows into the plain structs below;
 * registry.c (json-c, kept apart from utils/builtins.h) turns them into
 * documents.  Every string in the structs is a palloc'd or constant C string;
 * the *_json members are JSON texts as PostgreSQL prints jsonb.
 */
#ifndef SHELFOPS_REGISTRY_H
#define SHELFOPS_REGISTRY_H

#include "postgres.h"

/* One shelfops.model_versions row, as the documents need it. */
typedef struct RegistryVersion
{
	const char *model_name;
	int32		version;
	const char *status;
	const char *dataset_id;
	const char *frequency;		/* NULL when unknown */
	const char *trained_at;		/* created_at, ISO-8601 UTC */
	const char *promoted_at;	/* ISO-8601 UTC; NULL when never promoted */
	bool		rows_trained_null;
	int64		rows_trained;
	const char *holdout_json;	/* metrics->'holdout'; NULL when absent */
	const char *lineage_json;	/* lineage */
	const char *events_json;	/* lifecycle_events */
} RegistryVersion;

/* One tenant's registry: its versions in creation order. */
typedef struct RegistryState
{
	const char *tenant_id;
	const char *updated_at;		/* latest created/promoted/archived time; NULL when empty */
	int			nversions;
	RegistryVersion *versions;
} RegistryState;

/* One shelfops.training_runs row, with what its model version adds. */
typedef struct RegistryRun
{
	const char *tenant_id;
	const char *run_id;
	const char *model_name;
	const char *dataset_id;
	const char *algorithm;
	const char *status;
	const char *trigger;
	bool		version_null;
	int32		version;
	const char *started_at;		/* ISO-8601 UTC */
	const char *error;			/* NULL unless the run failed */
	const char *params_json;	/* hyperparameters */
	const char *metrics_json;	/* holdout metrics (canonical keys) */
	const char *timings_json;	/* seconds per phase */
	const char *row_counts_json;
	const char *feature_tier;	/* from the version's lineage; NULL without one */
	int			n_features;		/* from the version's feature spec; -1 unknown */
} RegistryRun;

/* The model the single-model fields of champion.json describe. */
#define REGISTRY_DEFAULT_MODEL "demand_forecast"

/*
 * Document builders.  Each returns a palloc'd string in the caller's memory
 * context; "pretty" selects the indented layout written to files, otherwise
 * one line (what the SQL functions turn into jsonb).
 */
extern char *registry_json_text(const RegistryState *st, bool pretty);
extern char *registry_champion_text(const RegistryState *st, bool pretty);
extern char *registry_performance_log(const RegistryState *st);
extern char *registry_run_text(const RegistryRun *run, bool pretty);

#endif							/* SHELFOPS_REGISTRY_H */
