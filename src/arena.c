/*
 * arena.c
 *	  Owns champion/challenger decisions: shelfops_promote() scores the champion
 *	  and the candidate on the same rows, applies the reference gates
 *	  (gates.c) plus ours, records the decision in model_experiments and
 *	  switches the champion in the same transaction; shelfops_rollback()
 *	  re-promotes an archived version.
 *
 * Same rows, same origin: both versions forecast the candidate's holdout
 * window from the period before it, steps 1..L, on the candidate's dataset as
 * it is now, so neither side is judged on numbers frozen from its own training
 * (the reference's main weakness).  The seasonal naive forecasts the same rows.
 *
 * Concurrency: every decision of one (tenant, model) first locks that model's
 * version-counter row, so two promotes of one model run one after the other;
 * the partial unique index on champions makes a second champion impossible
 * whatever happens.  Only admins (members of shelfops_admin, or superusers)
 * may promote or roll back; force is admin-only by the same rule.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "shelfops.h"
#include "ident.h"
#include "feature_spec.h"
#include "forecast.h"
#include "gates.h"
#include "model.h"
#include "predict.h"
#include "series.h"
#include "shadow.h"
#include "train.h"
#include "util.h"

PG_FUNCTION_INFO_V1(shelfops_promote);
PG_FUNCTION_INFO_V1(shelfops_rollback);

#define ARENA_INTERVAL_LEVEL 0.9

typedef struct VersionRow
{
	int			version;
	char	   *status;
	char	   *dataset_id;
	char	   *sha256;
	DateADT		holdout_start;
	DateADT		holdout_end;
	bool		has_holdout;
} VersionRow;

/*
 * SPI_connect, then back to cxt: what this module builds (strings, documents)
 * must outlive SPI_finish.
 */
static void
spi_connect_in(MemoryContext cxt)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(cxt);
}

static void
require_admin(const char *what)
{
	Oid			admin = get_role_oid("shelfops_admin", true);

	if (superuser() || (OidIsValid(admin) && has_privs_of_role(GetUserId(), admin)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("only members of shelfops_admin may %s", what),
			 errhint("Analysts can train and evaluate; an admin promotes.")));
}

static Datum
jsonb_from_text(const char *text)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
}

static char *
jsonb_to_text(Jsonb *jb)
{
	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/*
 * SPI_execute_with_args, then back in the caller's memory context: SPI ends
 * every call in its own procedure context, which SPI_finish frees, so without
 * this what is built after a statement (experiment ids, the result document)
 * would be freed before it is returned.
 */
static int
arena_execute(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
			  bool read_only, long count)
{
	MemoryContext mine = CurrentMemoryContext;
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, count);

	MemoryContextSwitchTo(mine);
	return rc;
}

static void
spi_exec(const char *sql, int nargs, Oid *types, Datum *values, int expect)
{
	int			rc = arena_execute(sql, nargs, types, values, NULL, false, 0);

	if (rc != expect)
		elog(ERROR, "shelfops arena: statement failed (%s): %s", SPI_result_code_string(rc), sql);
}

/* Lock the model's counter row: one decision of a model at a time. */
static void
lock_model(const char *tenant, const char *model)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		v[2];

	v[0] = CStringGetTextDatum(tenant);
	v[1] = CStringGetTextDatum(model);
	if (arena_execute("SELECT 1 FROM shelfops.model_version_counters "
							  "WHERE tenant_id = $1 AND model_name = $2 FOR UPDATE",
							  2, types, v, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not lock model \"%s\"", model);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" of tenant \"%s\" has no versions", model, tenant)));
}

/*
 * One version row: the given version, or (version <= 0) the newest
 * candidate/challenger, or the champion when want_champion.
 */
static bool
fetch_version(const char *tenant, const char *model, int version, bool want_champion,
			  VersionRow *out, MemoryContext cxt)
{
	Oid			types[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		v[3];
	char		nulls[3] = {' ', ' ', ' '};
	const char *sql;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	MemoryContext old;

	v[0] = CStringGetTextDatum(tenant);
	v[1] = CStringGetTextDatum(model);
	v[2] = Int32GetDatum(version);
	if (want_champion)
		sql = "SELECT version, status, dataset_id, model_sha256, holdout_start, holdout_end "
			"FROM shelfops.model_versions WHERE tenant_id = $1 AND model_name = $2 AND status = 'champion' "
			"AND $3 IS NULL";
	else if (version > 0)
		sql = "SELECT version, status, dataset_id, model_sha256, holdout_start, holdout_end "
			"FROM shelfops.model_versions WHERE tenant_id = $1 AND model_name = $2 AND version = $3";
	else
		sql = "SELECT version, status, dataset_id, model_sha256, holdout_start, holdout_end "
			"FROM shelfops.model_versions WHERE tenant_id = $1 AND model_name = $2 "
			"AND status IN ('candidate', 'challenger') AND $3 IS NULL ORDER BY version DESC LIMIT 1";
	if (want_champion || version <= 0)
		nulls[2] = 'n';
	if (arena_execute(sql, 3, types, v, nulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading shelfops.model_versions failed");
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	old = MemoryContextSwitchTo(cxt);
	out->version = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	out->status = SPI_getvalue(tup, desc, 2);
	out->dataset_id = SPI_getvalue(tup, desc, 3);
	out->sha256 = SPI_getvalue(tup, desc, 4);
	out->holdout_start = DatumGetDateADT(SPI_getbinval(tup, desc, 5, &isnull));
	out->has_holdout = !isnull;
	out->holdout_end = DatumGetDateADT(SPI_getbinval(tup, desc, 6, &isnull));
	out->has_holdout &= !isnull;
	MemoryContextSwitchTo(old);
	return true;
}

static char *
lifecycle_event(const char *type, const char *from, const char *to, const char *reason, int related)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"event_type\": \"%s\", \"at\": \"", type);
	appendStringInfoString(&buf, DatumGetCString(DirectFunctionCall1(timestamptz_out,
																	 TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()))));
	appendStringInfo(&buf, "\", \"from_status\": \"%s\", \"to_status\": \"%s\", \"reason\": ", from, to);
	escape_json(&buf, reason);
	appendStringInfoString(&buf, ", \"actor\": ");
	escape_json(&buf, GetUserNameFromId(GetUserId(), false));
	if (related > 0)
		appendStringInfo(&buf, ", \"related_version\": %d}", related);
	else
		appendStringInfoString(&buf, ", \"related_version\": null}");
	return buf.data;
}

/* Set a version's status, appending a lifecycle event (the last 50 are kept). */
static void
set_status(const char *tenant, const char *model, int version, const char *status,
		   const char *event_json)
{
	Oid			types[5] = {TEXTOID, TEXTOID, INT4OID, TEXTOID, JSONBOID};
	Datum		v[5];

	v[0] = CStringGetTextDatum(tenant);
	v[1] = CStringGetTextDatum(model);
	v[2] = Int32GetDatum(version);
	v[3] = CStringGetTextDatum(status);
	v[4] = jsonb_from_text(event_json);
	spi_exec("UPDATE shelfops.model_versions SET status = $4, "
			 "promoted_at = CASE WHEN $4 = 'champion' THEN now() ELSE promoted_at END, "
			 "archived_at = CASE WHEN $4 = 'archived' THEN now() WHEN $4 = 'champion' THEN NULL ELSE archived_at END, "
			 "routing_weight = CASE WHEN $4 = 'champion' THEN 1 ELSE 0 END, "
			 "lifecycle_events = (SELECT coalesce(jsonb_agg(e ORDER BY n), '[]') FROM "
			 "  (SELECT e, n FROM jsonb_array_elements(lifecycle_events || jsonb_build_array($5)) "
			 "   WITH ORDINALITY AS x(e, n) ORDER BY n DESC LIMIT 50) last) "
			 "WHERE tenant_id = $1 AND model_name = $2 AND version = $3",
			 5, types, v, SPI_OK_UPDATE);
}

static char *
insert_experiment(const char *tenant, const char *model, const char *type, int baseline, int candidate,
				  const char *decision, const char *reason, bool forced, const char *evidence,
				  const char *results, const char *rationale)
{
	Oid			types[11] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID, TEXTOID, TEXTOID,
	BOOLOID, JSONBOID, JSONBOID};
	Datum		v[11];
	char		nulls[12];
	char	   *name = psprintf("%s_%s_%d", strcmp(type, "rollback") == 0 ? "rollback" : "promotion_eval",
								model, candidate);

	memset(nulls, ' ', sizeof(nulls));
	v[0] = CStringGetTextDatum(tenant);
	v[1] = CStringGetTextDatum(name);
	v[2] = CStringGetTextDatum(strcmp(type, "rollback") == 0 ?
							   "Restore a previous version as champion." :
							   "Candidate meets business + DS promotion gates.");
	v[3] = CStringGetTextDatum(type);
	v[4] = Int32GetDatum(baseline);
	if (baseline <= 0)
		nulls[4] = 'n';
	v[5] = Int32GetDatum(candidate);
	v[6] = CStringGetTextDatum(decision);
	v[7] = CStringGetTextDatum(reason);
	v[8] = BoolGetDatum(forced);
	v[9] = jsonb_from_text(evidence);
	v[10] = jsonb_from_text(results);
	if (arena_execute(psprintf("INSERT INTO shelfops.model_experiments (tenant_id, experiment_name, "
									   "hypothesis, experiment_type, model_name, baseline_version, experimental_version, "
									   "status, decision, reason, forced, evidence, results, decision_rationale, "
									   "proposed_by, approved_by, approved_at, completed_at) "
									   "VALUES ($1, $2, $3, $4, %s, $5, $6, 'completed', $7, $8, $9, $10, $11, %s, "
									   "current_user, current_user, now(), now()) RETURNING experiment_id::text",
									   quote_literal_cstr(model),
									   rationale ? quote_literal_cstr(rationale) : "$8"),
							  11, types, v, nulls, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not record the decision in shelfops.model_experiments");
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* Per-store WAPE of two forecasts over the same rows: share of stores regressed. */
static double
regressed_store_share(const SeriesSet *set, const ForecastRows *rows, const double *cand,
					  const double *champ, double tolerance_pct, int *nstores_out)
{
	double	   *abs_c = palloc0(sizeof(double) * Max(set->nstores, 1));
	double	   *abs_h = palloc0(sizeof(double) * Max(set->nstores, 1));
	double	   *vol = palloc0(sizeof(double) * Max(set->nstores, 1));
	int			nstores = 0,
				regressed = 0;

	for (int i = 0; i < rows->n; i++)
	{
		const Series *s = &set->series[rows->series[i]];
		double		y = s->y[rows->period[i]];

		abs_c[s->store_idx] += fabs(y - cand[i]);
		abs_h[s->store_idx] += fabs(y - champ[i]);
		vol[s->store_idx] += fabs(y);
	}
	for (int k = 0; k < set->nstores; k++)
	{
		if (vol[k] <= 0)
			continue;
		nstores++;
		if (abs_c[k] > abs_h[k] * (1.0 + tolerance_pct / 100.0))
			regressed++;
	}
	*nstores_out = nstores;
	return nstores > 0 ? (double) regressed / nstores : 0.0;
}

/* Forecast rows with a stored version; intervals from its calibration. */
static void
score_version(const char *tenant, const char *model_name, int version, const SeriesSet *set,
			  const ForecastRows *rows, double *out, double *lower, double *upper)
{
	StoredModel sm;
	FeatureSpec *spec;
	Model	   *model;
	double		hw;

	stored_model_fetch(tenant, model_name, version, true, &sm);
	spec = feature_spec_from_jsonb(sm.feature_spec);
	for (int i = 0; i < rows->n; i++)
	{
		if (rows->period[i] - rows->origin[i] > spec->horizon)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("version %d has horizon %d, shorter than the %d-period window it must be scored on",
							version, spec->horizon, rows->period[i] - rows->origin[i])));
	}
	model = model_open(sm.model_bytes);
	forecast_rows_predict(model, spec, set, rows, out);
	hw = conformal_halfwidth(sm.calibration, ARENA_INTERVAL_LEVEL);
	forecast_rows_intervals(set, rows, out, hw, lower, upper);
}


/* A number member of a jsonb object; *isnull when absent or not a number. */
static double
jsonb_number_key(Jsonb *jb, const char *key, bool *isnull)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&jb->root, key, strlen(key), NULL);

	*isnull = (v == NULL || v->type != jbvNumeric);
	if (*isnull)
		return 0;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

static char *
jsonb_number_text(Jsonb *jb, const char *key)
{
	bool		isnull;
	double		v = jsonb_number_key(jb, key, &isnull);

	return isnull ? "null" : psprintf("%.17g", v);
}

/* A member's JSON text, or "null". */
static char *
jsonb_member_text(Jsonb *jb, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&jb->root, key, strlen(key), NULL);

	if (v == NULL)
		return "null";
	if (v->type == jbvBinary)
		return JsonbToCString(NULL, v->val.binary.data, -1);
	return JsonbToCString(NULL, &JsonbValueToJsonb(v)->root, -1);
}

static char *
jsonb_string_key(Jsonb *jb, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&jb->root, key, strlen(key), NULL);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* The gates a policy without business metrics may skip, and their inputs. */
static const char *const business_gates[] = {
	"opportunity_cost_stockout_confidence_gate", "opportunity_cost_stockout_gate",
	"opportunity_cost_overstock_confidence_gate", "opportunity_cost_overstock_gate",
	"overstock_dollars_confidence_gate", "overstock_dollars_gate", NULL
};
static const char *const business_inputs[] = {
	"opportunity_cost_stockout", "opportunity_cost_overstock", "overstock_dollars", NULL
};
static const char *const confidence_keys[] = {
	"opportunity_cost_stockout_confidence", "opportunity_cost_overstock_confidence",
	"overstock_dollars_confidence", NULL
};

static bool
in_list(const char *const *list, const char *s)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Some cost metric of either side has no cost basis. */
static bool
business_unavailable(Jsonb *a, Jsonb *b)
{
	for (int i = 0; confidence_keys[i]; i++)
	{
		char	   *ca = jsonb_string_key(a, confidence_keys[i]);
		char	   *cb = jsonb_string_key(b, confidence_keys[i]);

		if (ca == NULL || cb == NULL || strcmp(ca, "unavailable") == 0 || strcmp(cb, "unavailable") == 0)
			return true;
	}
	return false;
}

/*
 * The decision without the business gates and inputs (policy
 * require_business_metrics = false and no cost basis): the failing gates and
 * missing inputs that remain, as the reference's reason string.
 */
static bool
decide_without_business(Jsonb *decision, StringInfo reason)
{
	JsonbValue *checks = getKeyJsonValueFromContainer(&decision->root, "gate_checks", strlen("gate_checks"), NULL);
	JsonbValue *missing = getKeyJsonValueFromContainer(&decision->root, "missing_required_inputs",
													   strlen("missing_required_inputs"), NULL);
	StringInfoData failed,
				miss;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	initStringInfo(&failed);
	initStringInfo(&miss);
	if (checks && checks->type == jbvBinary)
	{
		it = JsonbIteratorInit(checks->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
				key = pnstrdup(v.val.string.val, v.val.string.len);
			else if (tok == WJB_VALUE && key && !in_list(business_gates, key) &&
					 !(v.type == jbvBool && v.val.boolean))
				appendStringInfo(&failed, "%s%s", failed.len ? "," : "", key);
		}
	}
	if (missing && missing->type == jbvBinary)
	{
		it = JsonbIteratorInit(missing->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_ELEM && v.type == jbvString)
			{
				char	   *name = pnstrdup(v.val.string.val, v.val.string.len);
				char	   *base = pstrdup(name);
				char	   *dot = strncmp(base, "candidate.", 10) == 0 ? base + 10 :
					strncmp(base, "champion.", 9) == 0 ? base + 9 : base;

				if (!in_list(business_inputs, dot))
					appendStringInfo(&miss, "%s%s", miss.len ? "," : "", name);
			}
		}
	}
	if (failed.len == 0 && miss.len == 0)
	{
		appendStringInfoString(reason, "passed_ds_gates:business_gates_skipped_no_cost_basis");
		return true;
	}
	/* the reference's format: missing inputs first, inside the failed list */
	appendStringInfoString(reason, "failed_gates:");
	if (miss.len)
		appendStringInfo(reason, "missing_required_inputs:%s%s", miss.data, failed.len ? "," : "");
	appendStringInfoString(reason, failed.data);
	return false;
}

static bool
jsonb_bool_key(Jsonb *jb, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&jb->root, key, strlen(key), NULL);

	return v != NULL && v->type == jbvBool && v->val.boolean;
}

Datum
shelfops_promote(PG_FUNCTION_ARGS)
{
	char	   *model_name = shelfops_ident_arg(fcinfo, 0, "model_name");
	int			version = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	char	   *tenant = shelfops_tenant_arg(fcinfo, 2);
	bool		force = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	char	   *why = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	char	   *evidence_kind = PG_NARGS() > 5 && !PG_ARGISNULL(5) ?
		text_to_cstring(PG_GETARG_TEXT_PP(5)) : "holdout";
	bool		use_shadow;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(caller, "shelfops promote", ALLOCSET_DEFAULT_SIZES);
	VersionRow	cand,
				champ;
	bool		has_champion;
	StringInfoData buf;
	char	   *experiment_id;
	char	   *result;

	require_admin(force ? "force a promotion" : "promote a model");
	if (strcmp(evidence_kind, "holdout") != 0 && strcmp(evidence_kind, "shadow") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("evidence must be 'holdout' or 'shadow', got \"%s\"", evidence_kind)));
	use_shadow = strcmp(evidence_kind, "shadow") == 0;
	if (!PG_ARGISNULL(1) && version <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must be positive, got %d", version)));

	MemoryContextSwitchTo(cxt);
	spi_connect_in(cxt);
	lock_model(tenant, model_name);
	if (!fetch_version(tenant, model_name, version, false, &cand, cxt))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 version > 0 ?
				 errmsg("model \"%s\" of tenant \"%s\" has no version %d", model_name, tenant, version) :
				 errmsg("model \"%s\" of tenant \"%s\" has no candidate or challenger to promote", model_name, tenant)));
	if (strcmp(cand.status, "champion") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" is already the champion", cand.version, model_name)));
	if (strcmp(cand.status, "failed") == 0 || strcmp(cand.status, "archived") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" is %s; only a candidate or challenger can be promoted",
						cand.version, model_name, cand.status),
				 strcmp(cand.status, "archived") == 0 ?
				 errhint("Use shelfops_rollback to restore an archived version.") : 0));
	has_champion = fetch_version(tenant, model_name, 0, true, &champ, cxt);

	if (!has_champion)
	{
		initStringInfo(&buf);
		appendStringInfo(&buf, "{\"evidence\": \"none\", \"candidate_sha256\": \"%s\"}", cand.sha256 ? cand.sha256 : "");
		experiment_id = insert_experiment(tenant, model_name, "promotion_decision", 0, cand.version,
										  "first_champion", "first_champion", force, buf.data,
										  "{\"promoted\": true, \"reason\": \"first_champion\"}", why);
		set_status(tenant, model_name, cand.version, "champion",
				   lifecycle_event("promoted_to_champion", cand.status, "champion", "first_champion", 0));
		initStringInfo(&buf);
		appendStringInfo(&buf, "{\"promoted\": true, \"decision\": \"first_champion\", \"reason\": \"first_champion\", "
						 "\"model_name\": \"%s\", \"version\": %d, \"previous_champion\": null, "
						 "\"experiment_id\": \"%s\"}", model_name, cand.version, experiment_id);
	}
	else
	{
		SeriesSet  *set = NULL;
		int			origin = 0,
					last = 0;
		ForecastRows *rows = NULL;
		double	   *fc_cand = NULL,
				   *fc_champ = NULL,
				   *fc_naive,
				   *lo_c,
				   *hi_c,
				   *lo_h,
				   *hi_h;
		char	   *m_cand,
				   *m_champ,
				   *m_naive;
		Jsonb	   *policy;
		Jsonb	   *decision;
		bool		promoted,
					require_business,
					require_naive,
					skip_business;
		ShadowEvidence ev;
		Jsonb	   *jc,
				   *jh;
		int			nscored = 0,
					shadow_min_rows = 0,
					shadow_min_days = 0;
		StringInfoData skipped_reason;
		double		max_store_share,
					store_tol,
					share;
		int			min_rows,
					nstores;
		bool		naive_ok,
					stores_ok,
					rows_ok;
		double		wape_c,
					wape_n;
		StringInfoData failed;
		char	   *reason;
		const char *verdict;

		SPI_finish();
		if (use_shadow)
		{
			/* the pair's scored shadow rows: live data both forecast alike */
			shadow_evidence(tenant, model_name, champ.version, cand.version, true, &ev);
			m_cand = jsonb_to_text(ev.challenger_metrics);
			m_champ = jsonb_to_text(ev.champion_metrics);
			m_naive = NULL;
			nscored = (int) Min(ev.rows, INT_MAX);
		}
		else
		{
			if (!cand.has_holdout)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("version %d has no holdout window to be scored on", cand.version)));

			/* the candidate's holdout window, from the period before it */
			set = series_load(tenant, cand.dataset_id, cxt);
			origin = series_period_of_date(set, cand.holdout_start) - 1;
			last = series_period_of_date(set, cand.holdout_end);
			if (origin < 0 || last >= set->ndata_periods)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("dataset \"%s\" no longer covers the candidate's holdout window", cand.dataset_id)));
			rows = forecast_rows_range(set, origin + 1, last, origin, false, -1);
			fc_cand = palloc(sizeof(double) * Max(rows->n, 1));
			fc_champ = palloc(sizeof(double) * Max(rows->n, 1));
			fc_naive = palloc(sizeof(double) * Max(rows->n, 1));
			lo_c = palloc(sizeof(double) * Max(rows->n, 1));
			hi_c = palloc(sizeof(double) * Max(rows->n, 1));
			lo_h = palloc(sizeof(double) * Max(rows->n, 1));
			hi_h = palloc(sizeof(double) * Max(rows->n, 1));
			score_version(tenant, model_name, cand.version, set, rows, fc_cand, lo_c, hi_c);
			score_version(tenant, model_name, champ.version, set, rows, fc_champ, lo_h, hi_h);
			{
				FeatureSpec *naive_spec = feature_spec_build(set, last - origin, origin);

				forecast_rows_predict(train_seasonal_naive(set), naive_spec, set, rows, fc_naive);
			}
			m_cand = train_score_metrics(set, rows, fc_cand, lo_c, hi_c, origin);
			m_champ = train_score_metrics(set, rows, fc_champ, lo_h, hi_h, origin);
			m_naive = train_score_metrics(set, rows, fc_naive, NULL, NULL, origin);
			nscored = rows->n;
		}

		spi_connect_in(cxt);
		lock_model(tenant, model_name);
		{
			Oid			types[2] = {TEXTOID, TEXTOID};
			Datum		v[2];
			HeapTuple	tup;
			TupleDesc	desc;
			bool		isnull;

			v[0] = CStringGetTextDatum(tenant);
			v[1] = CStringGetTextDatum(model_name);
			if (arena_execute("SELECT to_jsonb(p), p.require_business_metrics, p.require_beat_seasonal_naive, "
									  "p.max_regressed_store_share, p.store_regression_tolerance_pct, p.min_scored_rows, "
									  "p.shadow_min_rows, p.shadow_min_days "
									  "FROM shelfops.effective_gate_policy($1, $2) p",
									  2, types, v, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("no gate policy applies to model \"%s\" of tenant \"%s\"", model_name, tenant)));
			tup = SPI_tuptable->vals[0];
			desc = SPI_tuptable->tupdesc;
			policy = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 1, &isnull));
			require_business = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
			require_naive = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
			max_store_share = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
			store_tol = DatumGetFloat8(SPI_getbinval(tup, desc, 5, &isnull));
			min_rows = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
			shadow_min_rows = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
			shadow_min_days = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
		}

		/* the reference's 15 gates, then ours (each metric document parsed once) */
		jc = DatumGetJsonbP(jsonb_from_text(m_cand));
		jh = DatumGetJsonbP(jsonb_from_text(m_champ));
		{
			decision = gates_evaluate(jc, jh, policy);
			skip_business = !require_business && business_unavailable(jc, jh);
			initStringInfo(&skipped_reason);
			if (skip_business)
				promoted = decide_without_business(decision, &skipped_reason);
			else
				promoted = jsonb_bool_key(decision, "promoted");
		}
		{
			bool		isnull;

			wape_c = jsonb_number_key(jc, "wape", &isnull);
			if (isnull)
				wape_c = INFINITY;
			wape_n = m_naive ? jsonb_number_key(DatumGetJsonbP(jsonb_from_text(m_naive)), "wape", &isnull) : 0;
			if (m_naive == NULL || isnull)
				wape_n = INFINITY;
		}
		if (use_shadow)
		{
			/*
			 * Shadow rows carry no seasonal naive and no per-store split: those
			 * two gates do not apply (recorded as such); the evidence must reach
			 * the policy's minimum rows and days instead.
			 */
			naive_ok = true;
			share = 0;
			nstores = 0;
			stores_ok = true;
			rows_ok = ev.rows >= shadow_min_rows && ev.days >= shadow_min_days;
		}
		else
		{
			naive_ok = !require_naive || wape_c < wape_n;
			share = regressed_store_share(set, rows, fc_cand, fc_champ, store_tol, &nstores);
			stores_ok = share <= max_store_share;
			rows_ok = nscored >= min_rows;
		}

		initStringInfo(&failed);
		if (!naive_ok)
			appendStringInfoString(&failed, ",beats_seasonal_naive_gate");
		if (!stores_ok)
			appendStringInfoString(&failed, ",store_regression_gate");
		if (!rows_ok)
			appendStringInfoString(&failed, use_shadow ? ",shadow_evidence_gate" : ",min_scored_rows_gate");
		{
			JsonbValue *r = getKeyJsonValueFromContainer(&decision->root, "reason", strlen("reason"), NULL);
			char	   *ref_reason = skip_business ? skipped_reason.data :
				(r && r->type == jbvString ? pnstrdup(r->val.string.val, r->val.string.len) :
				 pstrdup("failed_unknown_gate"));

			if (promoted && failed.len == 0)
				reason = ref_reason;
			else if (promoted)
				reason = psprintf("failed_gates:%s", failed.data + 1);
			else if (failed.len > 0)
				reason = psprintf("%s%s", ref_reason, failed.data);
			else
				reason = ref_reason;
		}
		promoted = promoted && failed.len == 0;
		verdict = promoted ? "promoted" : (force ? "forced" : "rejected");

		initStringInfo(&buf);
		if (use_shadow)
		{
			char	   *doc = jsonb_to_text(shadow_evidence_jsonb(&ev));

			/* the shadow document, with both models' checksums and the policy minimums */
			appendBinaryStringInfo(&buf, doc, strlen(doc) - 1);
			appendStringInfo(&buf, ", \"shadow_min_rows\": %d, \"shadow_min_days\": %d, "
							 "\"candidate_sha256\": \"%s\", \"champion_sha256\": \"%s\"}",
							 shadow_min_rows, shadow_min_days,
							 cand.sha256 ? cand.sha256 : "", champ.sha256 ? champ.sha256 : "");
		}
		else
			appendStringInfo(&buf, "{\"evidence\": \"holdout\", \"dataset_id\": \"%s\", \"window_start\": \"%s\", "
							 "\"window_end\": \"%s\", \"origin\": \"%s\", \"rows\": %d, \"data_fingerprint\": \"%s\", "
							 "\"candidate_sha256\": \"%s\", \"champion_sha256\": \"%s\"}",
							 cand.dataset_id, shelfops_iso_date(series_period_date(set, origin + 1)),
							 shelfops_iso_date(series_period_date(set, last)), shelfops_iso_date(series_period_date(set, origin)),
							 rows->n, set->fingerprint, cand.sha256 ? cand.sha256 : "", champ.sha256 ? champ.sha256 : "");
		{
			char	   *evidence = buf.data;

			initStringInfo(&buf);
			appendStringInfo(&buf, "{\"decision\": %s, \"candidate\": %s, \"champion\": %s, \"seasonal_naive\": %s, "
							 "\"extra_gates\": {\"beats_seasonal_naive_gate\": %s, \"store_regression_gate\": %s, "
							 "\"min_scored_rows_gate\": %s, \"regressed_store_share\": %.6f, \"stores_scored\": %d, "
							 "\"business_gates_skipped\": %s, "
							 "\"require_beat_seasonal_naive\": %s, \"max_regressed_store_share\": %g, "
							 "\"store_regression_tolerance_pct\": %g, \"min_scored_rows\": %d}, "
							 "\"promoted\": %s, \"forced\": %s, \"reason\": ",
							 jsonb_to_text(decision), m_cand, m_champ, m_naive ? m_naive : "null",
							 naive_ok ? "true" : "false", stores_ok ? "true" : "false",
							 rows_ok ? "true" : "false", share, nstores, skip_business ? "true" : "false",
							 require_naive ? "true" : "false", max_store_share, store_tol, min_rows,
							 promoted ? "true" : "false", (force && !promoted) ? "true" : "false");
			escape_json(&buf, reason);
			appendStringInfoChar(&buf, '}');
			experiment_id = insert_experiment(tenant, model_name, "promotion_decision", champ.version,
											  cand.version, verdict, reason, force && !promoted,
											  evidence, buf.data, why);
		}

		if (promoted || force)
		{
			set_status(tenant, model_name, champ.version, "archived",
					   lifecycle_event("archived", "champion", "archived",
									   psprintf("superseded_by:%d", cand.version), cand.version));
			set_status(tenant, model_name, cand.version, "champion",
					   lifecycle_event("promoted_to_champion", cand.status, "champion",
									   force && !promoted ? "forced" : reason, champ.version));
		}
		else
			set_status(tenant, model_name, cand.version, "challenger",
					   lifecycle_event("entered_shadow", cand.status, "challenger", reason, champ.version));

		initStringInfo(&buf);
		appendStringInfo(&buf, "{\"promoted\": %s, \"decision\": \"%s\", \"reason\": ",
						 (promoted || force) ? "true" : "false", verdict);
		escape_json(&buf, reason);
		appendStringInfo(&buf, ", \"forced\": %s, \"model_name\": \"%s\", \"version\": %d, "
						 "\"previous_champion\": %d, \"status\": \"%s\", \"experiment_id\": \"%s\", "
						 "\"rows_scored\": %d, \"candidate_wape\": %s, \"champion_wape\": %s, \"seasonal_naive_wape\": %s, "
						 "\"gate_checks\": %s}",
						 (force && !promoted) ? "true" : "false", model_name, cand.version, champ.version,
						 (promoted || force) ? "champion" : "challenger", experiment_id, nscored,
						 isinf(wape_c) ? "null" : psprintf("%.17g", wape_c),
						 jsonb_number_text(jh, "wape"),
						 isinf(wape_n) ? "null" : psprintf("%.17g", wape_n),
						 jsonb_member_text(decision, "gate_checks"));
	}
	SPI_finish();
	MemoryContextSwitchTo(caller);
	result = pstrdup(buf.data);
	MemoryContextDelete(cxt);
	PG_RETURN_DATUM(jsonb_from_text(result));
}

Datum
shelfops_rollback(PG_FUNCTION_ARGS)
{
	char	   *model_name = shelfops_ident_arg(fcinfo, 0, "model_name");
	int			version;
	char	   *why;
	char	   *tenant = shelfops_tenant_arg(fcinfo, 3);
	VersionRow	target,
				champ;
	bool		has_champion;
	StringInfoData buf;
	char	   *experiment_id;
	MemoryContext cxt = CurrentMemoryContext;

	require_admin("roll back a model");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("version must not be NULL")));
	version = PG_GETARG_INT32(1);
	if (PG_ARGISNULL(2) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(2)) < 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a rollback needs a reason of at least 3 characters")));
	why = text_to_cstring(PG_GETARG_TEXT_PP(2));

	spi_connect_in(cxt);
	lock_model(tenant, model_name);
	if (!fetch_version(tenant, model_name, version, false, &target, cxt))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" of tenant \"%s\" has no version %d", model_name, tenant, version)));
	if (strcmp(target.status, "archived") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of model \"%s\" is %s; only an archived version can be rolled back to",
						version, model_name, target.status),
				 strcmp(target.status, "champion") == 0 ? errhint("It already is the champion.") :
				 errhint("Use shelfops_promote for candidates and challengers.")));
	has_champion = fetch_version(tenant, model_name, 0, true, &champ, cxt);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"evidence\": \"manual\", \"target_sha256\": \"%s\"}", target.sha256 ? target.sha256 : "");
	{
		StringInfoData res;

		initStringInfo(&res);
		appendStringInfoString(&res, "{\"rollback\": true, \"manual\": true, \"reason\": ");
		escape_json(&res, why);
		appendStringInfoChar(&res, '}');
		experiment_id = insert_experiment(tenant, model_name, "rollback", has_champion ? champ.version : 0,
										  version, "rollback", "rollback", false, buf.data, res.data, why);
	}
	if (has_champion)
		set_status(tenant, model_name, champ.version, "archived",
				   lifecycle_event("archived", "champion", "archived",
								   psprintf("superseded_by:%d", version), version));
	set_status(tenant, model_name, version, "champion",
			   lifecycle_event("rollback_promoted", "archived", "champion", why,
							   has_champion ? champ.version : 0));
	SPI_finish();

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"rolled_back\": true, \"model_name\": \"%s\", \"version\": %d, "
					 "\"previous_champion\": %s, \"experiment_id\": \"%s\", \"reason\": ",
					 model_name, version, has_champion ? psprintf("%d", champ.version) : "null", experiment_id);
	escape_json(&buf, why);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(jsonb_from_text(buf.data));
}
