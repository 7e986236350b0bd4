/*
 * model.c
 *	  Owns the model layer's common part: the registry of model families, the
 *	  checks every fit and predict goes through, enveloped save/open, the
 *	  per-backend cache of loaded models, describe, and the internal SQL
 *	  functions (shelfops._model_*) that let pg_regress exercise the layer.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "envelope.h"
#include "model.h"
#include "params.h"
#include "shelfops.h"

/* The registry: one line per family. */
static const ModelFamily *const families[] = {
	&model_family_xgboost,
	&model_family_seasonal_naive,
	&model_family_moving_average,
};

#define NFAMILIES ((int) lengthof(families))

const ModelFamily *
model_family_lookup(const char *name)
{
	StringInfoData names;

	for (int i = 0; i < NFAMILIES; i++)
		if (name != NULL && strcmp(families[i]->name, name) == 0)
			return families[i];

	initStringInfo(&names);
	for (int i = 0; i < NFAMILIES; i++)
		appendStringInfo(&names, "%s%s", i ? ", " : "", families[i]->name);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown algorithm \"%s\"", name ? name : "(null)"),
			 errdetail("Valid algorithms: %s.", names.data)));
	return NULL;				/* keep compiler quiet */
}

const ModelFamily *
model_family_by_kind(ModelKind kind)
{
	for (int i = 0; i < NFAMILIES; i++)
		if (families[i]->kind == kind)
			return families[i];
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("no model family is registered for model kind %d", (int) kind)));
	return NULL;
}

Model *
model_create(const ModelFamily *family, MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "shelfops model", ALLOCSET_SMALL_SIZES);
	Model	   *m = MemoryContextAllocZero(cxt, sizeof(Model));

	m->family = family;
	m->mcxt = cxt;
	m->best_iteration = -1;
	m->best_score = get_float8_nan();
	return m;
}

void
model_free(Model *model)
{
	if (model != NULL)
		MemoryContextDelete(model->mcxt);
}

static void
check_matrix(const char *what, const float *X, int nrows, int ncols)
{
	if (nrows < 0 || ncols < 0 || (nrows > 0 && ncols > 0 && X == NULL))
		elog(ERROR, "%s: invalid matrix %d x %d", what, nrows, ncols);
}

static void
check_labels(const ModelParams *p, const char *what, const float *y, const float *w, int n)
{
	bool		nonneg = strcmp(p->objective, "reg:squarederror") != 0;

	for (int i = 0; i < n; i++)
	{
		if (!isfinite(y[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s label %d is not a finite number", what, i + 1)));
		if (nonneg && p->family == MODEL_KIND_XGBOOST && y[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s label %d is negative (%g), which objective %s does not accept",
							what, i + 1, (double) y[i], p->objective),
					 errhint("Use objective reg:squarederror, or clip returns to zero before training.")));
		if (w && (!isfinite(w[i]) || w[i] < 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s weight %d is negative or not finite", what, i + 1)));
	}
}

Model *
model_fit(const ModelFamily *family, const ModelTrainData *data)
{
	double		need_mb;

	if (data->params == NULL || data->params->family != family->kind)
		elog(ERROR, "model_fit: parameters of another family given to %s", family->name);
	check_matrix("training", data->X, data->nrows, data->ncols);
	check_matrix("validation", data->X_valid, data->nvalid, data->ncols);

	if (!family->needs_history)
	{
		if (data->nrows < 1 || data->ncols < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s needs at least one training row and one feature, got %d x %d",
							family->name, data->nrows, data->ncols)));
		need_mb = ((double) data->nrows + data->nvalid) * data->ncols * sizeof(float) / (1024.0 * 1024.0);
		if (need_mb > shelfops_training_memory_mb)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("training matrix needs %.0f MB, more than shelfops.training_memory_mb (%d MB)",
							ceil(need_mb), shelfops_training_memory_mb)));
		check_labels(data->params, "training", data->y, data->weights, data->nrows);
		check_labels(data->params, "validation", data->y_valid, data->w_valid, data->nvalid);
	}
	return family->fit(data);
}

void
model_predict(Model *model, const ModelPredictInput *in, double *out, bool *fallback)
{
	if (in->nrows <= 0)
		return;
	if (model->family->needs_history)
	{
		if (in->series == NULL || in->row_series == NULL || in->row_origin == NULL || in->row_step == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s forecasts from series history, and none was given", model->family->name)));
		for (int i = 0; i < in->nrows; i++)
		{
			int			s = in->row_series[i];

			if (s < 0 || s >= in->nseries)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("forecast row %d names series %d of %d", i + 1, s, in->nseries)));
			if (in->row_step[i] < 1)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("forecast row %d has step %d; steps start at 1 (the period after the origin)",
								i + 1, in->row_step[i])));
			if (in->row_origin[i] < -1 || in->row_origin[i] >= in->series[s].length)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("forecast row %d has origin %d outside its series of %d periods",
								i + 1, in->row_origin[i], in->series[s].length)));
		}
	}
	else
	{
		if (in->X == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s predicts from a feature matrix, and none was given", model->family->name)));
		if (in->ncols != model->n_features)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model expects %d features, got %d", model->n_features, in->ncols)));
	}
	model->family->predict(model, in, out, fallback);
}

bytea *
model_save(Model *model)
{
	size_t		len;
	char	   *payload = model->family->save(model, &len);
	bytea	   *env = envelope_wrap(model->family->kind, payload, len);

	pfree(payload);
	return env;
}

/* ---- per-backend cache of loaded models ---- */

typedef struct CacheEntry
{
	Model	   *model;			/* NULL: free slot */
	size_t		len;			/* envelope bytes (header + payload) */
	char	   *envelope;		/* exact copy of the verified envelope (in model->mcxt): the key */
	uint64		last_used;
} CacheEntry;

static MemoryContext cache_cxt = NULL;
static CacheEntry cache[MODEL_CACHE_SIZE];
static uint64 cache_tick = 0;
static int64 cache_hits = 0;
static int64 cache_misses = 0;

Model *
model_open(bytea *envelope)
{
	ModelKind	kind;
	const char *payload;
	size_t		len;
	EnvelopeHeader hdr;
	CacheEntry *slot = NULL;
	Model	   *m;
	const char *raw = VARDATA_ANY(envelope);
	size_t		rawlen = VARSIZE_ANY_EXHDR(envelope);

	/*
	 * A hit needs the whole envelope byte-identical to one verified before, so
	 * the checksum pass can be skipped: equal bytes are equally valid.  The
	 * header (which holds both CRCs) differs first between different models.
	 */
	for (int i = 0; i < MODEL_CACHE_SIZE; i++)
	{
		CacheEntry *e = &cache[i];

		if (e->model && e->len == rawlen && memcmp(e->envelope, raw, rawlen) == 0)
		{
			e->last_used = ++cache_tick;
			cache_hits++;
			return e->model;
		}
	}

	envelope_open(envelope, MODEL_KIND_NONE, &kind, &payload, &len, &hdr);
	cache_misses++;

	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(TopMemoryContext, "shelfops model cache", ALLOCSET_SMALL_SIZES);

	/* Load first (under the caller's context, so an ERROR frees it), then adopt. */
	m = model_family_by_kind(kind)->load(payload, len);

	for (int i = 0; i < MODEL_CACHE_SIZE; i++)
	{
		if (cache[i].model == NULL)
		{
			slot = &cache[i];
			break;
		}
		if (slot == NULL || cache[i].last_used < slot->last_used)
			slot = &cache[i];
	}
	if (slot->model)
		model_free(slot->model);

	MemoryContextSetParent(m->mcxt, cache_cxt);
	slot->model = m;
	slot->len = rawlen;
	slot->envelope = MemoryContextAlloc(m->mcxt, rawlen);
	memcpy(slot->envelope, raw, rawlen);
	slot->last_used = ++cache_tick;
	return m;
}

void
model_cache_stats(int64 *hits, int64 *misses, int *entries)
{
	*hits = cache_hits;
	*misses = cache_misses;
	*entries = 0;
	for (int i = 0; i < MODEL_CACHE_SIZE; i++)
		if (cache[i].model)
			(*entries)++;
}

void
model_cache_reset(void)
{
	for (int i = 0; i < MODEL_CACHE_SIZE; i++)
	{
		if (cache[i].model)
			model_free(cache[i].model);
		memset(&cache[i], 0, sizeof(CacheEntry));
	}
	cache_hits = cache_misses = 0;
}

Jsonb *
model_describe(bytea *envelope)
{
	ModelKind	kind;
	const char *payload;
	size_t		len;
	EnvelopeHeader hdr;
	Model	   *m;
	StringInfoData buf;

	envelope_open(envelope, MODEL_KIND_NONE, &kind, &payload, &len, &hdr);
	m = model_open(envelope);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"kind\": %d, \"algorithm\": ", (int) kind);
	escape_json(&buf, m->family->name);
	appendStringInfo(&buf, ", \"envelope_format\": %u, \"payload_bytes\": %zu, \"payload_crc32c\": \"%08x\"",
					 (unsigned) hdr.format, len, hdr.payload_crc);
	appendStringInfoString(&buf, ", \"params\": ");
	appendStringInfoString(&buf, m->params_json ? m->params_json : "{}");
	if (m->family->describe)
		m->family->describe(m, &buf);
	appendStringInfoChar(&buf, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/* ---- internal SQL functions (test surface) ---- */

/* A 2-D float8[] as a palloc'd row-major float32 matrix; SQL NULL -> NaN (missing). */
static float *
matrix_from_array(ArrayType *a, const char *what, int *nrows, int *ncols)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	float	   *X;

	if (ARR_ELEMTYPE(a) != FLOAT8OID)
		elog(ERROR, "%s must be float8[]", what);
	if (ARR_NDIM(a) != 2)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a two-dimensional array (rows x features), not %d-dimensional",
						what, ARR_NDIM(a))));
	*nrows = ARR_DIMS(a)[0];
	*ncols = ARR_DIMS(a)[1];
	deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	X = palloc(sizeof(float) * Max(n, 1));
	for (int i = 0; i < n; i++)
		X[i] = nulls[i] ? get_float4_nan() : (float) DatumGetFloat8(elems[i]);
	return X;
}

static float *
vector_from_array(ArrayType *a, const char *what, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	float	   *v;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, n);
	v = palloc(sizeof(float) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s element %d is NULL", what, i + 1)));
		v[i] = (float) DatumGetFloat8(elems[i]);
	}
	return v;
}

PG_FUNCTION_INFO_V1(shelfops_model_fit_matrix);
Datum
shelfops_model_fit_matrix(PG_FUNCTION_ARGS)
{
	const ModelFamily *family;
	ModelParams params;
	ModelTrainData d;
	int			nvalid = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);
	Model	   *m;
	bytea	   *env;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("algorithm must not be NULL")));
	family = model_family_lookup(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	params_from_jsonb(PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), family->kind, false, &params);

	memset(&d, 0, sizeof(d));
	d.params = &params;
	if (!PG_ARGISNULL(2))
	{
		int			ny = 0;

		d.X = matrix_from_array(PG_GETARG_ARRAYTYPE_P(2), "x", &d.nrows, &d.ncols);
		if (PG_ARGISNULL(3))
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("y must not be NULL when x is given")));
		d.y = vector_from_array(PG_GETARG_ARRAYTYPE_P(3), "y", &ny);
		if (ny != d.nrows)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("x has %d rows but y has %d labels", d.nrows, ny)));
		if (nvalid < 0 || nvalid >= d.nrows)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("n_valid must be from 0 to %d (fewer than the rows), got %d", d.nrows - 1, nvalid)));
		/* the last n_valid rows (the latest, by the caller's order) validate */
		d.nrows -= nvalid;
		d.nvalid = nvalid;
		if (nvalid > 0)
		{
			d.X_valid = d.X + (size_t) d.nrows * d.ncols;
			d.y_valid = d.y + d.nrows;
		}
	}
	m = model_fit(family, &d);
	env = model_save(m);
	model_free(m);
	PG_RETURN_BYTEA_P(env);
}

PG_FUNCTION_INFO_V1(shelfops_model_predict_matrix);
Datum
shelfops_model_predict_matrix(PG_FUNCTION_ARGS)
{
	Model	   *m = model_open(PG_GETARG_BYTEA_PP(0));
	ModelPredictInput in;
	double	   *out;
	Datum	   *d;

	memset(&in, 0, sizeof(in));
	in.X = matrix_from_array(PG_GETARG_ARRAYTYPE_P(1), "x", &in.nrows, &in.ncols);
	out = palloc(sizeof(double) * Max(in.nrows, 1));
	model_predict(m, &in, out, NULL);
	d = palloc(sizeof(Datum) * Max(in.nrows, 1));
	for (int i = 0; i < in.nrows; i++)
		d[i] = Float8GetDatum(out[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, in.nrows, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* history float8[] (NULL = missing period), steps int[]: forecasts from the last period. */
PG_FUNCTION_INFO_V1(shelfops_model_predict_series);
Datum
shelfops_model_predict_series(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Model	   *m = model_open(PG_GETARG_BYTEA_PP(0));
	ArrayType  *ha = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *sa = PG_GETARG_ARRAYTYPE_P(2);
	Datum	   *elems;
	bool	   *nulls;
	int			nh,
				ns;
	double	   *hist;
	int32	   *steps,
			   *rs,
			   *ro;
	ModelSeries series;
	ModelPredictInput in;
	double	   *out;
	bool	   *fb;

	InitMaterializedSRF(fcinfo, 0);
	deconstruct_array(ha, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &nh);
	hist = palloc(sizeof(double) * Max(nh, 1));
	for (int i = 0; i < nh; i++)
		hist[i] = nulls[i] ? get_float8_nan() : DatumGetFloat8(elems[i]);
	deconstruct_array(sa, INT4OID, sizeof(int32), true, TYPALIGN_INT, &elems, &nulls, &ns);
	steps = palloc(sizeof(int32) * Max(ns, 1));
	rs = palloc0(sizeof(int32) * Max(ns, 1));
	ro = palloc(sizeof(int32) * Max(ns, 1));
	for (int i = 0; i < ns; i++)
	{
		steps[i] = nulls[i] ? 0 : DatumGetInt32(elems[i]);
		ro[i] = nh - 1;
	}
	series.values = hist;
	series.length = nh;
	memset(&in, 0, sizeof(in));
	in.nrows = ns;
	in.series = &series;
	in.nseries = 1;
	in.row_series = rs;
	in.row_origin = ro;
	in.row_step = steps;
	out = palloc(sizeof(double) * Max(ns, 1));
	fb = palloc0(sizeof(bool) * Max(ns, 1));
	model_predict(m, &in, out, fb);

	for (int i = 0; i < ns; i++)
	{
		Datum		values[3];
		bool		isnull[3] = {false, false, false};

		values[0] = Int32GetDatum(steps[i]);
		values[1] = Float8GetDatum(out[i]);
		values[2] = BoolGetDatum(fb[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(shelfops_model_params);
Datum
shelfops_model_params(PG_FUNCTION_ARGS)
{
	const ModelFamily *family = model_family_lookup(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	ModelParams p;

	params_from_jsonb(PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), family->kind, false, &p);
	PG_RETURN_JSONB_P(params_to_jsonb(&p));
}

PG_FUNCTION_INFO_V1(shelfops_model_describe);
Datum
shelfops_model_describe(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(model_describe(PG_GETARG_BYTEA_PP(0)));
}

PG_FUNCTION_INFO_V1(shelfops_model_cache_stats);
Datum
shelfops_model_cache_stats(PG_FUNCTION_ARGS)
{
	int64		hits,
				misses;
	int			entries;
	char		buf[256];

	model_cache_stats(&hits, &misses, &entries);
	snprintf(buf, sizeof(buf), "{\"hits\": " INT64_FORMAT ", \"misses\": " INT64_FORMAT ", \"entries\": %d, \"capacity\": %d, "
			 "\"flat_tree_rows\": " INT64_FORMAT "}",
			 hits, misses, entries, MODEL_CACHE_SIZE, shelfops_forest_rows);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf)));
}

PG_FUNCTION_INFO_V1(shelfops_model_cache_reset);
Datum
shelfops_model_cache_reset(PG_FUNCTION_ARGS)
{
	model_cache_reset();
	PG_RETURN_VOID();
}
