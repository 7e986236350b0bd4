/*
 * registry.c
 *	  Owns the layouts of the reference's registry parity documents: registry.json,
 *	  champion.json, MODEL_PERFORMANCE_LOG.md (auto-refresh format) and run_*.json,
 *	  built with json-c from rows registry_sql.c read.
 *
 * This file must not include utils/builtins.h: PostgreSQL declares a function
 * json_object() there, which clashes with json-c's struct json_object.
 *
 * json-c allocates with malloc.  Every json-c object that is not a child of
 * another is registered with a reset callback of a private memory context, so
 * deleting that context (at the end of a build, or when an error unwinds the
 * caller's context) releases it: no path leaks json-c memory.
 *
 * The performance log is rendered from the registry document itself, so the
 * three documents cannot disagree with one another.
 */
#include "postgres.h"

#include <math.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "registry.h"

/* Reference decision mapping (§6.4): each decision has one fixed basis. */
typedef struct RegistryDecision
{
	const char *decision;
	const char *basis;
} RegistryDecision;

static const RegistryDecision decision_promoted =
{"promoted_to_champion", "Active champion: the model's champion pointer names this version."};
static const RegistryDecision decision_historic =
{"historic_champion", "Marked champion but not named by the model's champion pointer."};
static const RegistryDecision decision_candidate =
{"candidate_pending", "Trained and registered; no promotion decision yet."};
static const RegistryDecision decision_challenger =
{"challenger_shadow", "Evaluated and not promoted; held as challenger with routing weight 0."};
static const RegistryDecision decision_archived =
{"archived", "Superseded by another champion; kept for audit and rollback."};
static const RegistryDecision decision_unknown =
{"unknown", "No promotion decision applies to this status."};

/* ----------------------------------------------------------------------
 * json-c objects owned by a memory context
 * ---------------------------------------------------------------------- */

static void
jput_callback(void *arg)
{
	json_object_put((struct json_object *) arg);
}

/* Make cxt own o (a json-c root): deleting or resetting cxt puts it. */
static struct json_object *
jown(MemoryContext cxt, struct json_object *o)
{
	MemoryContextCallback *cb;

	if (o == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("json-c could not allocate a registry document.")));
	cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	cb->func = jput_callback;
	cb->arg = o;
	MemoryContextRegisterResetCallback(cxt, cb);
	return o;
}

static struct json_object *
jcheck(struct json_object *o)
{
	if (o == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("json-c could not allocate a registry document value.")));
	return o;
}

/* Add value (already checked; NULL only for JSON null) under key. */
static void
jset(struct json_object *obj, const char *key, struct json_object *value)
{
	if (json_object_object_add(obj, key, value) != 0)
	{
		json_object_put(value);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("json-c could not add key \"%s\" to a registry document.", key)));
	}
}

static void
jappend(struct json_object *arr, struct json_object *value)
{
	if (json_object_array_add(arr, value) != 0)
	{
		json_object_put(value);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("json-c could not append to a registry document.")));
	}
}

static void
jset_str(struct json_object *obj, const char *key, const char *s)
{
	jset(obj, key, s ? jcheck(json_object_new_string(s)) : NULL);
}

static void
jset_int(struct json_object *obj, const char *key, int64 v)
{
	jset(obj, key, jcheck(json_object_new_int64(v)));
}

/* A double printed with a fixed number of decimals (json-c's default is %.17g). */
static struct json_object *
jdouble_fixed(double v, int decimals)
{
	char		text[64];

	snprintf(text, sizeof(text), "%.*f", decimals, v);
	return jcheck(json_object_new_double_s(v, text));
}

/* Another reference to value (NULL stays JSON null), for adding to a second tree. */
static struct json_object *
jshare(struct json_object *value)
{
	return value ? json_object_get(value) : NULL;
}

/*
 * Parse JSON text printed by PostgreSQL; the result (NULL for JSON null or a
 * NULL text) is owned by cxt.  Numbers keep their printed text when written
 * back out, so values pass through unchanged.
 */
static struct json_object *
jparse(MemoryContext cxt, const char *text, const char *what)
{
	enum json_tokener_error err = json_tokener_success;
	struct json_object *o;

	if (text == NULL)
		return NULL;
	o = json_tokener_parse_verbose(text, &err);
	if (err != json_tokener_success)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not read %s for a registry document", what),
				 errdetail("json-c: %s.", json_tokener_error_desc(err))));
	return o ? jown(cxt, o) : NULL;
}

/* Member key of obj when it has one of the wanted types, else NULL. */
static struct json_object *
jmember(struct json_object *obj, const char *key, json_type want1, json_type want2)
{
	struct json_object *v = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
		!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return NULL;
	if (json_object_is_type(v, want1) || json_object_is_type(v, want2))
		return v;
	return NULL;
}

static struct json_object *
jnumber(struct json_object *obj, const char *key)
{
	return jmember(obj, key, json_type_double, json_type_int);
}

static struct json_object *
jstring(struct json_object *obj, const char *key)
{
	return jmember(obj, key, json_type_string, json_type_string);
}

/* Serialize root into a palloc'd string of the caller's context. */
static char *
jtext(struct json_object *root, bool pretty, MemoryContext into)
{
	const char *s;
	int			flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	flags |= pretty ? (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) : JSON_C_TO_STRING_PLAIN;
	s = json_object_to_json_string_ext(root, flags);
	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("json-c could not print a registry document.")));
	if (pretty)
	{
		size_t		len = strlen(s);
		char	   *out = MemoryContextAlloc(into, len + 2);

		memcpy(out, s, len);
		out[len] = '\n';
		out[len + 1] = '\0';
		return out;
	}
	return MemoryContextStrdup(into, s);
}

/* ----------------------------------------------------------------------
 * registry.json and champion.json
 * ---------------------------------------------------------------------- */

/* The reference's registry entry for one version. */
static struct json_object *
registry_entry(MemoryContext cxt, const RegistryVersion *v)
{
	struct json_object *holdout = jparse(cxt, v->holdout_json, "holdout metrics");
	struct json_object *lineage = jparse(cxt, v->lineage_json, "lineage");
	struct json_object *events = jparse(cxt, v->events_json, "lifecycle events");
	struct json_object *entry = jown(cxt, json_object_new_object());
	struct json_object *tier,
			   *grain,
			   *mape,
			   *last = NULL;
	size_t		nevents = 0;

	tier = jstring(lineage, "feature_tier");
	if (tier == NULL)
		tier = jstring(lineage, "feature_set_id");
	grain = jstring(lineage, "forecast_grain");
	mape = jnumber(holdout, "mape_nonzero");
	if (mape == NULL)
		mape = jnumber(holdout, "mape");
	if (events != NULL && json_object_is_type(events, json_type_array))
		nevents = json_object_array_length(events);
	else
		events = NULL;
	if (nevents > 0)
		last = json_object_array_get_idx(events, nevents - 1);

	jset_int(entry, "version", v->version);
	jset_str(entry, "model_name", v->model_name);
	jset(entry, "feature_tier", jshare(tier));
	jset_str(entry, "trained_at", v->trained_at);
	jset_str(entry, "dataset", v->dataset_id);
	if (v->rows_trained_null)
		jset(entry, "rows_trained", NULL);
	else
		jset_int(entry, "rows_trained", v->rows_trained);
	jset(entry, "mae", jshare(jnumber(holdout, "mae")));
	jset(entry, "mape", jshare(mape));
	jset(entry, "wape", jshare(jnumber(holdout, "wape")));
	jset(entry, "mase", jshare(jnumber(holdout, "mase")));
	jset(entry, "bias_pct", jshare(jnumber(holdout, "bias_pct")));
	if (grain != NULL)
		jset(entry, "forecast_grain", jshare(grain));
	else
		jset_str(entry, "forecast_grain", v->frequency);
	jset(entry, "segment_strategy", jshare(jstring(lineage, "segment_strategy")));
	jset(entry, "rule_overlay_enabled",
		 jshare(jmember(lineage, "rule_overlay_enabled", json_type_boolean, json_type_boolean)));
	jset(entry, "evaluation_window_days", jshare(jnumber(lineage, "evaluation_window_days")));
	jset_str(entry, "status", v->status);
	jset_str(entry, "promoted_at", v->promoted_at);
	jset(entry, "lifecycle_events", events ? jshare(events) : jcheck(json_object_new_array()));
	jset(entry, "last_lifecycle_event", jshare(last));
	return entry;
}

static struct json_object *
build_registry(MemoryContext cxt, const RegistryState *st)
{
	struct json_object *root = jown(cxt, json_object_new_object());
	struct json_object *models = jcheck(json_object_new_array());

	jset(root, "models", models);
	for (int i = 0; i < st->nversions; i++)
		jappend(models, jshare(registry_entry(cxt, &st->versions[i])));
	jset_str(root, "updated_at", st->updated_at);
	jset_str(root, "tenant_id", st->tenant_id);
	return root;
}

/* The champion row of model_name, or NULL. */
static const RegistryVersion *
champion_of(const RegistryState *st, const char *model_name)
{
	const RegistryVersion *found = NULL;

	for (int i = 0; i < st->nversions; i++)
	{
		const RegistryVersion *v = &st->versions[i];

		/* one champion per model is a unique index; the latest wins regardless */
		if (strcmp(v->model_name, model_name) == 0 && strcmp(v->status, "champion") == 0)
			found = v;
	}
	return found;
}

static struct json_object *
build_champion(MemoryContext cxt, const RegistryState *st)
{
	struct json_object *root = jown(cxt, json_object_new_object());
	struct json_object *models = jcheck(json_object_new_object());
	const RegistryVersion *dflt = champion_of(st, REGISTRY_DEFAULT_MODEL);

	if (dflt != NULL)
	{
		jset_int(root, "version", dflt->version);
		jset_str(root, "promoted_at", dflt->promoted_at);
		jset_str(root, "model_name", dflt->model_name);
	}
	jset(root, "models", models);
	for (int i = 0; i < st->nversions; i++)
	{
		const RegistryVersion *v = &st->versions[i];
		struct json_object *pointer;

		if (strcmp(v->status, "champion") != 0 || champion_of(st, v->model_name) != v)
			continue;
		pointer = jcheck(json_object_new_object());
		jset(models, v->model_name, pointer);
		jset_int(pointer, "version", v->version);
		jset_str(pointer, "promoted_at", v->promoted_at);
	}
	jset_str(root, "tenant_id", st->tenant_id);
	return root;
}

/*
 * Run build(cxt, arg) in a private context and print its result.  The context
 * owns every json-c root, so deleting it (here, or with the caller's context
 * when an error unwinds) releases all of them.
 */
typedef struct json_object *(*RegistryBuilder) (MemoryContext cxt, const void *arg);

static char *
build_and_print(RegistryBuilder build, const void *arg, bool pretty)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(caller, "shelfops registry document",
											  ALLOCSET_SMALL_SIZES);
	char	   *result;

	PG_TRY();
	{
		MemoryContextSwitchTo(cxt);
		result = jtext(build(cxt, arg), pretty, caller);
		MemoryContextSwitchTo(caller);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextDelete(cxt);
	return result;
}

static struct json_object *
registry_builder(MemoryContext cxt, const void *arg)
{
	return build_registry(cxt, (const RegistryState *) arg);
}

static struct json_object *
champion_builder(MemoryContext cxt, const void *arg)
{
	return build_champion(cxt, (const RegistryState *) arg);
}

char *
registry_json_text(const RegistryState *st, bool pretty)
{
	return build_and_print(registry_builder, st, pretty);
}

char *
registry_champion_text(const RegistryState *st, bool pretty)
{
	return build_and_print(champion_builder, st, pretty);
}

/* ----------------------------------------------------------------------
 * MODEL_PERFORMANCE_LOG.md
 * ---------------------------------------------------------------------- */

/* A table cell: text with '|' escaped and line breaks flattened; NULL is "-". */
static void
md_cell(StringInfo buf, const char *s)
{
	appendStringInfoString(buf, " ");
	if (s == NULL || *s == '\0')
		appendStringInfoChar(buf, '-');
	else
	{
		for (const char *p = s; *p; p++)
		{
			if (*p == '|')
				appendStringInfoString(buf, "\\|");
			else if (*p == '\n' || *p == '\r' || *p == '\t')
				appendStringInfoChar(buf, ' ');
			else
				appendStringInfoChar(buf, *p);
		}
	}
	appendStringInfoString(buf, " |");
}

static void
md_string(StringInfo buf, struct json_object *entry, const char *key)
{
	struct json_object *v = jstring(entry, key);

	md_cell(buf, v ? json_object_get_string(v) : NULL);
}

/* A float cell: 6 decimals, "-" when missing (never "-0.000000"). */
static void
md_float(StringInfo buf, struct json_object *entry, const char *key)
{
	struct json_object *v = jnumber(entry, key);
	char		text[64];
	double		d;

	if (v == NULL)
	{
		md_cell(buf, NULL);
		return;
	}
	d = json_object_get_double(v);
	if (isnan(d) || isinf(d))
	{
		md_cell(buf, NULL);
		return;
	}
	snprintf(text, sizeof(text), "%.6f", d);
	if (strcmp(text, "-0.000000") == 0)
		strcpy(text, "0.000000");
	md_cell(buf, text);
}

static void
md_int(StringInfo buf, struct json_object *entry, const char *key)
{
	struct json_object *v = jmember(entry, key, json_type_int, json_type_int);
	char		text[32];

	if (v == NULL)
	{
		md_cell(buf, NULL);
		return;
	}
	snprintf(text, sizeof(text), "%lld", (long long) json_object_get_int64(v));
	md_cell(buf, text);
}

static const RegistryDecision *
decision_for(struct json_object *entry, struct json_object *champion)
{
	struct json_object *status = jstring(entry, "status");
	const char *s = status ? json_object_get_string(status) : "";

	if (strcmp(s, "champion") == 0)
	{
		struct json_object *models = jmember(champion, "models", json_type_object, json_type_object);
		struct json_object *name = jstring(entry, "model_name");
		struct json_object *pointer = name ? jmember(models, json_object_get_string(name),
													 json_type_object, json_type_object) : NULL;
		struct json_object *pv = jmember(pointer, "version", json_type_int, json_type_int);
		struct json_object *ev = jmember(entry, "version", json_type_int, json_type_int);

		if (pv && ev && json_object_get_int64(pv) == json_object_get_int64(ev))
			return &decision_promoted;
		return &decision_historic;
	}
	if (strcmp(s, "candidate") == 0)
		return &decision_candidate;
	if (strcmp(s, "challenger") == 0)
		return &decision_challenger;
	if (strcmp(s, "archived") == 0)
		return &decision_archived;
	return &decision_unknown;
}

static char *
render_log(struct json_object *registry, struct json_object *champion, const RegistryState *st)
{
	static const char *const columns[] = {
		"order", "version", "model_name", "dataset", "grain", "tier", "rows_trained", "mae",
		"wape", "mase", "bias_pct", "status", "trained_at", "promoted_at", "decision",
		"decision_basis", NULL
	};
	struct json_object *models = jmember(registry, "models", json_type_array, json_type_array);
	size_t		n = models ? json_object_array_length(models) : 0;
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "# Model Performance Log\n\n");
	appendStringInfo(&buf, "_Generated at: %s (latest change recorded for tenant `%s`; "
					 "the log is rebuilt from the tables, so the same tables give the same file)._\n\n",
					 st->updated_at ? st->updated_at : "-", st->tenant_id);
	appendStringInfoString(&buf,
						   "Data sources: `shelfops.model_versions` (holdout metrics from `metrics->'holdout'`, "
						   "lineage, lifecycle events), rendered in registry order from `registry.json`; "
						   "decisions use the champion pointer of `champion.json`.\n\n");
	appendStringInfoString(&buf, "|");
	for (int c = 0; columns[c]; c++)
		appendStringInfo(&buf, " %s |", columns[c]);
	appendStringInfoString(&buf, "\n|");
	for (int c = 0; columns[c]; c++)
		appendStringInfoString(&buf, "---|");
	appendStringInfoChar(&buf, '\n');

	for (size_t i = 0; i < n; i++)
	{
		struct json_object *e = json_object_array_get_idx(models, i);
		const RegistryDecision *d = decision_for(e, champion);
		char		order[32];

		snprintf(order, sizeof(order), "%zu", i + 1);
		appendStringInfoString(&buf, "|");
		md_cell(&buf, order);
		md_int(&buf, e, "version");
		md_string(&buf, e, "model_name");
		md_string(&buf, e, "dataset");
		md_string(&buf, e, "forecast_grain");
		md_string(&buf, e, "feature_tier");
		md_int(&buf, e, "rows_trained");
		md_float(&buf, e, "mae");
		md_float(&buf, e, "wape");
		md_float(&buf, e, "mase");
		md_float(&buf, e, "bias_pct");
		md_string(&buf, e, "status");
		md_string(&buf, e, "trained_at");
		md_string(&buf, e, "promoted_at");
		md_cell(&buf, d->decision);
		md_cell(&buf, d->basis);
		appendStringInfoChar(&buf, '\n');
	}
	if (n == 0)
		appendStringInfoString(&buf, "\nNo model versions are recorded for this tenant.\n");
	return buf.data;
}

char *
registry_performance_log(const RegistryState *st)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(caller, "shelfops performance log",
											  ALLOCSET_SMALL_SIZES);
	char	   *result;

	PG_TRY();
	{
		struct json_object *registry;
		struct json_object *champion;
		char	   *text;

		MemoryContextSwitchTo(cxt);
		registry = build_registry(cxt, st);
		champion = build_champion(cxt, st);
		text = render_log(registry, champion, st);
		MemoryContextSwitchTo(caller);
		result = pstrdup(text);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextDelete(cxt);
	return result;
}

/* ----------------------------------------------------------------------
 * run_<id>.json
 * ---------------------------------------------------------------------- */

/* Reference metric prefix for our algorithm (the reference's primary model is "lgb"). */
static const char *
run_metric_prefix(const char *algorithm)
{
	if (strcmp(algorithm, "xgboost") == 0)
		return "xgb";
	return algorithm;
}

static struct json_object *
build_run(MemoryContext cxt, const void *arg)
{
	const RegistryRun *run = (const RegistryRun *) arg;
	struct json_object *hyper = jparse(cxt, run->params_json, "run parameters");
	struct json_object *metrics_in = jparse(cxt, run->metrics_json, "run metrics");
	struct json_object *timings = jparse(cxt, run->timings_json, "run timings");
	struct json_object *counts = jparse(cxt, run->row_counts_json, "run row counts");
	struct json_object *root = jown(cxt, json_object_new_object());
	struct json_object *params = jcheck(json_object_new_object());
	struct json_object *tags = jcheck(json_object_new_object());
	struct json_object *metrics = jcheck(json_object_new_object());
	struct json_object *total;
	const char *prefix = run_metric_prefix(run->algorithm);
	static const char *const keys[] = {"mae", "mape", "wape", "mase", "bias_pct", NULL};
	static const char *const prefixes[] = {NULL, "ensemble", NULL};

	jset(root, "params", params);
	jset_str(params, "feature_tier", run->feature_tier);
	if (run->n_features >= 0)
		jset_int(params, "n_features", run->n_features);
	else
		jset(params, "n_features", NULL);
	jset_str(params, "dataset", run->dataset_id);
	jset(params, "n_rows", jshare(jnumber(counts, "train")));
	/* no ensemble: one model serves, so the reference's blend weights do not apply */
	jset(params, "ensemble_weight_lightgbm", NULL);
	jset(params, "ensemble_weight_lstm", NULL);
	jset_str(params, "model_type", run->algorithm);
	jset(params, "hyperparameters", hyper ? jshare(hyper) : jcheck(json_object_new_object()));

	jset(root, "tags", tags);
	jset_str(tags, "tier", run->feature_tier);
	jset_str(tags, "dataset", run->dataset_id);
	jset_str(tags, "model_name", run->model_name);

	jset(root, "metrics", metrics);
	for (int p = 0; p < 2; p++)
	{
		const char *pfx = p == 0 ? prefix : prefixes[1];

		for (int k = 0; keys[k]; k++)
		{
			char		key[NAMEDATALEN * 2];
			struct json_object *v = jnumber(metrics_in, keys[k]);

			if (v == NULL && strcmp(keys[k], "mape") == 0)
				v = jnumber(metrics_in, "mape_nonzero");
			snprintf(key, sizeof(key), "%s_%s", pfx, keys[k]);
			jset(metrics, key, jshare(v));
		}
		if (p == 0)
		{
			char		key[NAMEDATALEN * 2];

			snprintf(key, sizeof(key), "%s_n_features", pfx);
			if (run->n_features >= 0)
				jset_int(metrics, key, run->n_features);
			else
				jset(metrics, key, NULL);
		}
	}
	jset(metrics, "coverage", jshare(jnumber(metrics_in, "coverage")));
	jset(metrics, "holdout_rows", jshare(jnumber(metrics_in, "rows")));
	total = jnumber(timings, "total");
	if (total != NULL)
		jset(metrics, "training_time_sec",
			 jdouble_fixed(round(json_object_get_double(total) * 10.0) / 10.0, 1));
	else
		jset(metrics, "training_time_sec", NULL);

	jset(root, "artifacts", jcheck(json_object_new_array()));
	jset_str(root, "timestamp", run->started_at);
	{
		char		experiment[NAMEDATALEN * 4];

		snprintf(experiment, sizeof(experiment), "shelfops_%s", run->model_name);
		jset_str(root, "experiment", experiment);
	}
	jset_str(root, "model_name", run->model_name);
	jset_str(root, "run_id", run->run_id);
	if (run->version_null)
		jset(root, "version", NULL);
	else
		jset_int(root, "version", run->version);
	jset_str(root, "status", run->status);
	jset_str(root, "trigger", run->trigger);
	if (run->error != NULL)
		jset_str(root, "error", run->error);
	jset_str(root, "tenant_id", run->tenant_id);
	return root;
}

char *
registry_run_text(const RegistryRun *run, bool pretty)
{
	return build_and_print(build_run, run, pretty);
}
