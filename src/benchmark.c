/*
 * benchmark.c
 *	  Owns the benchmarks (shelfops_benchmark, shelfops_benchmark_combos, both
 *	  through shelfops._benchmark_run): every dataset with every algorithm, or
 *	  every pair of datasets pooled into one model, trained and scored exactly
 *	  as shelfops_train does (train_evaluate: the same time-based split,
 *	  horizon rules, features, fit, conformal intervals and metrics), with the
 *	  results written to shelfops.benchmark_results under one benchmark run id.
 *	  A benchmark creates no model version, run or log row.
 *
 * Combos (reference section 10.1, but split by time): each pair of datasets is
 * one model over the union of both datasets' feature columns plus a "source"
 * column; each dataset keeps its own calendar, features, split and holdout (its
 * own last holdout periods), so weekly and daily data never share a series.
 * A combo gives one row over both holdouts ("overall") and one per dataset.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "shelfops.h"
#include "ident.h"
#include "feature_spec.h"
#include "model.h"
#include "params.h"
#include "predict.h"
#include "progress.h"
#include "series.h"
#include "train.h"
#include "util.h"

PG_FUNCTION_INFO_V1(shelfops_benchmark_run);

#define BENCHMARK_INTERVAL_LEVEL 0.9
#define BENCHMARK_MAX_DATASETS 16

typedef struct BenchRun
{
	char	   *tenant_id;
	char	   *run_id;
	Jsonb	   *params_arg;		/* as given, or NULL */
	bool		per_algorithm;	/* params_arg is keyed by algorithm name */
	const int  *horizon_arg;
	const int  *holdout_arg;
	char	   *libs;
	char	   *insert_sql;
	int			ordinal;
} BenchRun;

static const Oid bench_types[20] = {
	TEXTOID, TEXTOID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID,
	JSONBOID, JSONBOID, JSONBOID, JSONBOID, INT8OID, INT8OID, INT8OID, INT8OID, JSONBOID, JSONBOID
};

/* true when name is a registered algorithm */
static bool
is_family_name(const char *name)
{
	for (int k = 1; k <= MODEL_KIND_MAX; k++)
		if (strcmp(model_family_by_kind((ModelKind) k)->name, name) == 0)
			return true;
	return false;
}

/*
 * The parameters of one algorithm: params keyed by algorithm name gives each
 * its own object; a flat object holds the XGBoost parameters (shelfops_train's
 * form), and the baselines keep their defaults.
 */
static void
bench_params(const BenchRun *run, const ModelFamily *family, bool weekly, ModelParams *out)
{
	Jsonb	   *jb = NULL;

	if (run->params_arg != NULL)
	{
		if (run->per_algorithm)
		{
			JsonbValue *v = getKeyJsonValueFromContainer(&run->params_arg->root, family->name,
														 strlen(family->name), NULL);

			if (v != NULL)
			{
				if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("parameters of algorithm \"%s\" must be a JSON object", family->name)));
				jb = JsonbValueToJsonb(v);
			}
		}
		else if (!family->needs_history)
			jb = run->params_arg;
	}
	params_from_jsonb(jb, family->kind, weekly, out);
}

/* Text array argument as C strings, every element a valid identifier, no duplicates. */
static char **
ident_array_arg(FunctionCallInfo fcinfo, int argno, const char *what, int *n, bool idents)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	if (*n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	if (*n > BENCHMARK_MAX_DATASETS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has %d elements, more than %d", what, *n, BENCHMARK_MAX_DATASETS)));
	out = palloc(sizeof(char *) * *n);
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s[%d] is NULL", what, i + 1)));
		out[i] = TextDatumGetCString(elems[i]);
		if (idents)
			shelfops_check_ident(out[i], what);
		for (int j = 0; j < i; j++)
			if (strcmp(out[i], out[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s names \"%s\" twice", what, out[i])));
	}
	return out;
}

static char *
split_json(StringInfo buf, const TrainPart *part)
{
	const SeriesSet *set = part->set;

	appendStringInfo(buf, "\"%s\": {\"frequency\": \"%s\", \"horizon\": %d, \"holdout\": %d, "
					 "\"train_start\": \"%s\", \"train_end\": \"%s\", \"calibration_start\": \"%s\", "
					 "\"origin\": \"%s\", \"holdout_start\": \"%s\", \"holdout_end\": \"%s\"}",
					 set->dataset_id, series_frequency_name(set->frequency), part->horizon, part->holdout,
					 shelfops_iso_date(series_period_date(set, 0)),
					 shelfops_iso_date(series_period_date(set, part->train_last)),
					 shelfops_iso_date(series_period_date(set, part->cal_first)),
					 shelfops_iso_date(series_period_date(set, part->origin)),
					 shelfops_iso_date(series_period_date(set, part->origin + 1)),
					 shelfops_iso_date(series_period_date(set, part->origin + part->holdout)));
	return buf->data;
}

/*
 * One benchmark_results row.  parts[0..nparts) are the datasets the model was
 * trained on; slice is "overall" or the dataset id of one part (then
 * metrics/naive/rows are that part's).
 */
static void
bench_insert(BenchRun *run, const char *kind, const char *datasets, const char *slice,
			 const ModelFamily *family, const Model *model, int nparts, const TrainPart *parts,
			 const TrainPart *slice_part, const TrainResult *res, double t_read)
{
	Datum		values[20];
	char		nulls[20];
	StringInfoData split,
				fps,
				secs;
	int64		rows_used = 0,
				rows_train = 0;
	int			rows_cal = 0,
				rows_hold = 0;
	bool		same = true;
	const char *freq = series_frequency_name(parts[0].set->frequency);
	int			rc;

	initStringInfo(&split);
	initStringInfo(&fps);
	appendStringInfoChar(&split, '{');
	appendStringInfoChar(&fps, '{');
	for (int p = 0; p < nparts; p++)
	{
		const TrainPart *part = &parts[p];

		if (slice_part != NULL && part != slice_part)
			continue;
		if (split.len > 1)
		{
			appendStringInfoString(&split, ", ");
			appendStringInfoString(&fps, ", ");
		}
		split_json(&split, part);
		appendStringInfo(&fps, "\"%s\": \"%s\"", part->set->dataset_id, part->set->fingerprint);
		rows_used += part->set->nrows;
		rows_train += part->train_rows;
		rows_cal += part->cal_rows->n;
		rows_hold += part->hold_rows->n;
		if (part->horizon != parts[0].horizon || part->holdout != parts[0].holdout)
			same = false;
		if (part->set->frequency != parts[0].set->frequency)
			freq = "mixed";
	}
	appendStringInfoChar(&split, '}');
	appendStringInfoChar(&fps, '}');
	if (slice_part != NULL)
		freq = series_frequency_name(slice_part->set->frequency);
	initStringInfo(&secs);
	appendStringInfo(&secs, "{\"read\": %.3f, \"features\": %.3f, \"fit\": %.3f, \"score\": %.3f, \"total\": %.3f}",
					 t_read, res->t_features, res->t_fit, res->t_score,
					 t_read + res->t_features + res->t_fit + res->t_score);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(run->tenant_id);
	values[1] = CStringGetTextDatum(run->run_id);
	values[2] = Int32GetDatum(run->ordinal++);
	values[3] = CStringGetTextDatum(kind);
	values[4] = CStringGetTextDatum(datasets);
	values[5] = CStringGetTextDatum(slice);
	values[6] = CStringGetTextDatum(family->name);
	values[7] = CStringGetTextDatum(freq);
	values[8] = Int32GetDatum(slice_part ? slice_part->horizon : parts[0].horizon);
	values[9] = Int32GetDatum(slice_part ? slice_part->holdout : parts[0].holdout);
	if (!same && slice_part == NULL)
		nulls[8] = nulls[9] = 'n';
	values[10] = train_jsonb_datum(split.data);
	values[11] = PointerGetDatum(params_to_jsonb(&model->params));
	values[12] = train_jsonb_datum(slice_part ? slice_part->metrics_text : res->metrics_text);
	values[13] = train_jsonb_datum(slice_part ? slice_part->naive_text : res->naive_text);
	values[14] = Int64GetDatum(rows_used);
	values[15] = Int64GetDatum(rows_train);
	values[16] = Int64GetDatum((int64) rows_cal);
	values[17] = Int64GetDatum((int64) rows_hold);
	values[18] = train_jsonb_datum(secs.data);
	values[19] = train_jsonb_datum(fps.data);
	rc = SPI_execute_with_args(run->insert_sql, 20, (Oid *) bench_types, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not record a benchmark result: %s", SPI_result_code_string(rc));
}

/* A new run id, and the insert every row of the run goes through. */
static void
bench_prepare(BenchRun *run, MemoryContext keep)
{
	int			rc;

	SPI_connect();
	rc = SPI_execute("SELECT gen_random_uuid()::text", false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not allocate a benchmark run id");
	run->run_id = MemoryContextStrdup(keep, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	SPI_finish();
	run->insert_sql = MemoryContextStrdup(keep, psprintf(
		"INSERT INTO shelfops.benchmark_results (tenant_id, benchmark_run_id, ordinal, "
		"kind, datasets, slice, algorithm, frequency, horizon, holdout, split, params, "
		"metrics, seasonal_naive, rows_used, rows_train, rows_calibration, rows_holdout, "
		"seconds, data_fingerprints, library_versions) "
		"VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
		"$15, $16, $17, $18, $19, $20, '%s')", run->libs));
}

/* One part of a dataset: the set, its horizon and holdout, origin at the last period minus the holdout. */
static void
bench_part(BenchRun *run, SeriesSet *set, TrainPart *part)
{
	memset(part, 0, sizeof(TrainPart));
	part->set = set;
	train_resolve_horizon(set, run->horizon_arg, run->holdout_arg, &part->horizon, &part->holdout);
	part->origin = set->ndata_periods - 1 - part->holdout;
	train_check_split(part);
}

/*
 * shelfops._benchmark_run(dataset_ids text[], algorithms text[], params jsonb,
 *                         horizon int, holdout int, combos bool, tenant_id text)
 *   RETURNS uuid: the benchmark run id of the rows written.
 */
Datum
shelfops_benchmark_run(PG_FUNCTION_ARGS)
{
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 6);
	bool		combos = !PG_ARGISNULL(5) && PG_GETARG_BOOL(5);
	int			ndatasets,
				nalgos;
	char	  **datasets,
			  **algos;
	const ModelFamily **families;
	BenchRun	run = {0};
	int			horizon_v,
				holdout_v;
	MemoryContext cxt,
				setcxt,
				algcxt,
				oldcxt;
	char	   *run_id;

	datasets = ident_array_arg(fcinfo, 0, "dataset_ids", &ndatasets, true);
	algos = ident_array_arg(fcinfo, 1, "algorithms", &nalgos, false);
	families = palloc(sizeof(ModelFamily *) * nalgos);
	for (int a = 0; a < nalgos; a++)
	{
		families[a] = model_family_lookup(algos[a]);
		if (combos && families[a]->needs_history)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("algorithm \"%s\" cannot be benchmarked on combined datasets", algos[a]),
					 errdetail("A combo trains one model on the rows of two datasets; %s learns nothing from rows.",
							   algos[a]),
					 errhint("Use xgboost, or shelfops_benchmark for single datasets.")));
	}
	if (combos && ndatasets < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("combos need at least two datasets, got %d", ndatasets)));

	run.tenant_id = tenant_id;
	if (!PG_ARGISNULL(2))
	{
		Jsonb	   *jb = PG_GETARG_JSONB_P(2);
		JsonbIterator *it;
		JsonbValue	v;
		JsonbIteratorToken tok;
		int			nkeys = 0,
					nfam = 0;

		if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params must be a JSON object")));
		it = JsonbIteratorInit(&jb->root);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			nkeys++;
			if (is_family_name(pnstrdup(v.val.string.val, v.val.string.len)))
				nfam++;
		}
		if (nfam > 0 && nfam < nkeys)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params mixes algorithm names and parameter names"),
					 errhint("Give either XGBoost parameters ({\"max_depth\": 6}) or one object per algorithm ({\"xgboost\": {\"max_depth\": 6}}).")));
		run.params_arg = jb;
		run.per_algorithm = nfam > 0;
	}
	if (!PG_ARGISNULL(3))
	{
		horizon_v = PG_GETARG_INT32(3);
		run.horizon_arg = &horizon_v;
	}
	if (!PG_ARGISNULL(4))
	{
		holdout_v = PG_GETARG_INT32(4);
		run.holdout_arg = &holdout_v;
	}
	run.libs = train_library_versions();

	cxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops benchmark", ALLOCSET_DEFAULT_SIZES);
	setcxt = AllocSetContextCreate(cxt, "shelfops benchmark data", ALLOCSET_DEFAULT_SIZES);
	algcxt = AllocSetContextCreate(cxt, "shelfops benchmark algorithm", ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	bench_prepare(&run, cxt);

	if (!combos)
	{
		for (int d = 0; d < ndatasets; d++)
		{
			TimestampTz phase = GetCurrentTimestamp();
			SeriesSet  *set;
			double		t_read;

			CHECK_FOR_INTERRUPTS();
			MemoryContextSwitchTo(setcxt);
			set = series_load(tenant_id, datasets[d], setcxt);
			t_read = train_seconds_since(phase);
			for (int a = 0; a < nalgos; a++)
			{
				TrainPart	part;
				TrainResult res;
				ModelParams params;

				CHECK_FOR_INTERRUPTS();
				MemoryContextSwitchTo(algcxt);
				progress_begin(algcxt, tenant_id, "benchmark", datasets[d], families[a]->name);
				bench_part(&run, set, &part);
				bench_params(&run, families[a], set->frequency == SERIES_WEEKLY, &params);
				train_evaluate(families[a], &params, 1, &part, BENCHMARK_INTERVAL_LEVEL, &res);
				progress_phase(PROGRESS_WRITE);
				SPI_connect();
				bench_insert(&run, "dataset", datasets[d], "overall", families[a], res.model, 1, &part,
							 NULL, &res, t_read);
				SPI_finish();
				MemoryContextSwitchTo(setcxt);
				MemoryContextReset(algcxt);
			}
			MemoryContextSwitchTo(cxt);
			MemoryContextReset(setcxt);
		}
	}
	else
	{
		for (int i = 0; i < ndatasets; i++)
			for (int j = i + 1; j < ndatasets; j++)
			{
				TimestampTz phase = GetCurrentTimestamp();
				SeriesSet  *sets[2];
				double		t_read;
				char	   *label;

				CHECK_FOR_INTERRUPTS();
				MemoryContextSwitchTo(setcxt);
				sets[0] = series_load(tenant_id, datasets[i], setcxt);
				sets[1] = series_load(tenant_id, datasets[j], setcxt);
				t_read = train_seconds_since(phase);
				label = psprintf("%s+%s", datasets[i], datasets[j]);
				for (int a = 0; a < nalgos; a++)
				{
					TrainPart	parts[2];
					TrainResult res;
					ModelParams params;

					CHECK_FOR_INTERRUPTS();
					MemoryContextSwitchTo(algcxt);
					progress_begin(algcxt, tenant_id, "benchmark", label, families[a]->name);
					bench_part(&run, sets[0], &parts[0]);
					bench_part(&run, sets[1], &parts[1]);
					/* parameters of a matrix family do not depend on the calendar */
					bench_params(&run, families[a], false, &params);
					train_evaluate(families[a], &params, 2, parts, BENCHMARK_INTERVAL_LEVEL, &res);
					progress_phase(PROGRESS_WRITE);
					SPI_connect();
					bench_insert(&run, "combo", label, "overall", families[a], res.model, 2, parts, NULL,
								 &res, t_read);
					for (int p = 0; p < 2; p++)
						bench_insert(&run, "combo", label, sets[p]->dataset_id, families[a], res.model, 2,
									 parts, &parts[p], &res, t_read);
					SPI_finish();
					MemoryContextSwitchTo(setcxt);
					MemoryContextReset(algcxt);
				}
				MemoryContextSwitchTo(cxt);
				MemoryContextReset(setcxt);
			}
	}

	MemoryContextSwitchTo(oldcxt);
	run_id = pstrdup(run.run_id);
	MemoryContextDelete(cxt);
	PG_RETURN_DATUM(DirectFunctionCall1(uuid_in, CStringGetDatum(run_id)));
}
