/*
 * tune.c
 *	  Owns shelfops_tune(): the hyperparameter search for XGBoost.  It parses
 *	  and validates the search space, draws configurations from a seeded
 *	  generator, scores them by successive halving on rolling-origin folds that
 *	  end before the holdout, trains the winner as a candidate through
 *	  train_run() (the same code as shelfops_train), and writes the trials
 *	  (shelfops.tuning_trials) and one model_experiments row.
 *
 * Reuse: the dataset is read once, the feature specification and the training
 * matrix (targets 0 .. train_last, exactly what shelfops_train builds) are
 * built once.  Every fold fit copies its rows out of that matrix (a fold is a
 * prefix of each series' rows, which are stored series by series in period
 * order); every fold is scored by forecast_rows_predict and
 * train_score_metrics, the functions training scores its holdout with; the
 * final fit gets the same specification and matrix.
 *
 * Folds (L = holdout periods, origin = the last period before the holdout):
 * fold k = 1..K validates on periods origin - k L + 1 .. origin - (k - 1) L,
 * forecast from the period before them, and trains on every target before
 * them.  Fold 1 is the calibration block of the final training; no fold reads
 * the holdout.
 *
 * Successive halving (eta = 3): rung 0 scores all budget configurations, each
 * rung keeps the best third (at least one) for the next, until three or fewer
 * remain; the best of the last rung wins.  The last rung scores on all K
 * folds, each earlier rung on one fold fewer (at least the most recent one).
 * Rung r trains on a seeded sample of the series, nested between rungs and
 * sized so that each rung costs about one pass over the training rows
 * (n_r configurations x its folds x share = 1), so the whole search costs
 * about as many full trainings as it has rungs, plus the fixed per-round cost
 * of each fit.
 * Trial 0 is always the defaults (with the search's fixed values).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "shelfops.h"
#include "feature_spec.h"
#include "ident.h"
#include "model.h"
#include "params.h"
#include "predict.h"
#include "progress.h"
#include "series.h"
#include "train.h"
#include "util.h"

PG_FUNCTION_INFO_V1(shelfops_tune);

#define TUNE_ETA 3
#define TUNE_MAX_BUDGET 200
#define TUNE_MAX_FOLDS 10
#define TUNE_MIN_SERIES 4
#define TUNE_MAX_DIMS 32

static const char *const tune_metrics[] = {"wape", "mae", "mase", "mape_nonzero", NULL};

typedef enum DimKind
{
	DIM_FIXED,
	DIM_RANGE,
	DIM_CHOICES
} DimKind;

/* One key of the search object. */
typedef struct SearchDim
{
	char	   *key;			/* as given */
	const char *name;			/* canonical */
	ParamKeyKind type;
	DimKind		kind;
	double		lo;				/* DIM_RANGE */
	double		hi;
	bool		log;
	int			nchoices;		/* DIM_CHOICES; DIM_FIXED: 1 */
	char	  **choices;		/* value texts */
	ParamValueType *choice_types;
} SearchDim;

typedef struct Trial
{
	int			id;
	ModelParams params;
	char	   *sampled;		/* JSON object of the searched keys' values */
	int			rung;			/* last rung reached */
	double		score;			/* mean metric over the folds of that rung */
	int64		rounds;			/* boosting rounds over every fit */
	double		seconds;
	StringInfoData folds;		/* JSON array members, every rung and fold */
} Trial;

typedef struct Fold
{
	int			valid_start;
	int			valid_end;
} Fold;

static void
search_error(const char *key, const char *msg, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("search parameter \"%s\": %s", key, msg),
			 detail && detail[0] ? errdetail_internal("%s", detail) : 0));
}

/* Check one value of key through params.c, as a training would. */
static void
check_value(const char *key, ParamValueType t, const char *text)
{
	ModelParams p;
	char		msg[256];
	char		detail[640];

	params_set_defaults(&p, MODEL_KIND_XGBOOST, false);
	if (params_apply(&p, key, t, text, msg, sizeof(msg), detail, sizeof(detail)) != PARAMS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("search: %s", msg),
				 detail[0] ? errdetail_internal("%s", detail) : 0));
}

/* A jsonb scalar as (type, text); false when not a number or a string. */
static bool
scalar_text(JsonbValue *v, ParamValueType *t, char **text)
{
	if (v->type == jbvNumeric)
	{
		*t = PV_NUMBER;
		*text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		return true;
	}
	if (v->type == jbvString)
	{
		*t = PV_STRING;
		*text = pnstrdup(v->val.string.val, v->val.string.len);
		return true;
	}
	*t = v->type == jbvBool ? PV_BOOL : v->type == jbvNull ? PV_NULL : PV_OBJECT;
	*text = v->type == jbvBool ? (v->val.boolean ? "true" : "false") : NULL;
	return false;
}

/* A {"min": a, "max": b, "log": bool} range. */
static void
parse_range(SearchDim *d, JsonbContainer *obj)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *k = NULL;
	bool		have_lo = false,
				have_hi = false;

	if (d->type == PARAM_KEY_CHOICE)
		search_error(d->key, "takes a list of choices, not a range",
					 "Give a JSON array of values, e.g. [\"hist\", \"approx\"].");
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		ParamValueType t;
		char	   *text;

		if (tok == WJB_KEY)
		{
			k = pnstrdup(v.val.string.val, v.val.string.len);
			if (strcmp(k, "min") != 0 && strcmp(k, "max") != 0 && strcmp(k, "log") != 0)
				search_error(d->key, psprintf("unknown range key \"%s\"", k),
							 "A range is {\"min\": number, \"max\": number} with an optional \"log\": true.");
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		if (strcmp(k, "log") == 0)
		{
			if (v.type != jbvBool)
				search_error(d->key, "\"log\" must be true or false", NULL);
			d->log = v.val.boolean;
			continue;
		}
		if (!scalar_text(&v, &t, &text) || t != PV_NUMBER)
			search_error(d->key, psprintf("range \"%s\" must be a number", k), NULL);
		check_value(d->key, t, text);
		if (strcmp(k, "min") == 0)
		{
			d->lo = strtod(text, NULL);
			have_lo = true;
		}
		else
		{
			d->hi = strtod(text, NULL);
			have_hi = true;
		}
	}
	if (!have_lo || !have_hi)
		search_error(d->key, "a range needs both \"min\" and \"max\"", NULL);
	if (d->lo > d->hi)
		search_error(d->key, psprintf("empty range: min %g is greater than max %g", d->lo, d->hi), NULL);
	if (d->log && d->lo <= 0)
		search_error(d->key, "a log range needs min greater than 0", NULL);
	d->kind = d->lo == d->hi ? DIM_FIXED : DIM_RANGE;
	if (d->kind == DIM_FIXED)
	{
		d->nchoices = 1;
		d->choices = palloc(sizeof(char *));
		d->choice_types = palloc(sizeof(ParamValueType));
		d->choices[0] = psprintf("%.17g", d->lo);
		d->choice_types[0] = PV_NUMBER;
	}
}

static void
parse_choices(SearchDim *d, JsonbContainer *arr)
{
	JsonbIterator *it = JsonbIteratorInit(arr);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = JsonContainerSize(arr);

	if (n == 0)
		search_error(d->key, "empty list of choices", NULL);
	d->choices = palloc(sizeof(char *) * n);
	d->choice_types = palloc(sizeof(ParamValueType) * n);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		ParamValueType t;
		char	   *text;

		if (tok != WJB_ELEM)
			continue;
		if (!scalar_text(&v, &t, &text))
			search_error(d->key, "choices must be numbers or strings", NULL);
		check_value(d->key, t, text);
		for (int i = 0; i < d->nchoices; i++)
			if (strcmp(d->choices[i], text) == 0)
				search_error(d->key, psprintf("choice %s is listed twice", text), NULL);
		d->choices[d->nchoices] = text;
		d->choice_types[d->nchoices] = t;
		d->nchoices++;
	}
	d->kind = d->nchoices == 1 ? DIM_FIXED : DIM_CHOICES;
}

/* The search object as dimensions; ERROR on anything params.c would refuse. */
static SearchDim *
parse_search(Jsonb *search, int *ndims, int *nvarying)
{
	SearchDim  *dims = palloc0(sizeof(SearchDim) * TUNE_MAX_DIMS);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;
	char		allowed[512];

	if (!JB_ROOT_IS_OBJECT(search) || JB_ROOT_IS_SCALAR(search))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("search must be a JSON object of parameter ranges or choices"),
				 errhint("For example {\"max_depth\": {\"min\": 6, \"max\": 12}, \"eta\": {\"min\": 0.02, \"max\": 0.2, \"log\": true}, \"objective\": [\"reg:squarederror\", \"count:poisson\"]}.")));
	params_allowed_keys(MODEL_KIND_XGBOOST, allowed, sizeof(allowed));
	*nvarying = 0;
	it = JsonbIteratorInit(&search->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		SearchDim  *d;

		if (tok == WJB_KEY)
		{
			char	   *key = pnstrdup(v.val.string.val, v.val.string.len);
			const char *canonical = NULL;
			ParamKeyKind kind = params_key_kind(MODEL_KIND_XGBOOST, key, &canonical);

			if (kind == PARAM_KEY_UNKNOWN)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("search names unknown parameter \"%s\"", key),
						 errdetail("Parameters of xgboost: %s.", allowed)));
			for (int i = 0; i < n; i++)
				if (strcmp(dims[i].name, canonical) == 0)
					search_error(key, psprintf("given twice (%s and %s are the same parameter)",
											   dims[i].key, key), NULL);
			if (n >= TUNE_MAX_DIMS)
				elog(ERROR, "too many search parameters");
			d = &dims[n++];
			d->key = key;
			d->name = canonical;
			d->type = kind;
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		d = &dims[n - 1];
		if (v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
			parse_range(d, v.val.binary.data);
		else if (v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data))
			parse_choices(d, v.val.binary.data);
		else
		{
			ParamValueType t;
			char	   *text;

			if (!scalar_text(&v, &t, &text))
				search_error(d->key, "must be a range {\"min\": .., \"max\": ..}, a list of choices, or one fixed value", NULL);
			check_value(d->key, t, text);
			d->kind = DIM_FIXED;
			d->nchoices = 1;
			d->choices = palloc(sizeof(char *));
			d->choice_types = palloc(sizeof(ParamValueType));
			d->choices[0] = text;
			d->choice_types[0] = t;
		}
		if (d->kind != DIM_FIXED)
			(*nvarying)++;
	}
	*ndims = n;
	return dims;
}

/* Apply one value (already checked alone) to p. */
static void
apply_value(ModelParams *p, const SearchDim *d, ParamValueType t, const char *text)
{
	char		msg[256];
	char		detail[640];

	if (params_apply(p, d->key, t, text, msg, sizeof(msg), detail, sizeof(detail)) != PARAMS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("search: %s", msg),
				 detail[0] ? errdetail_internal("%s", detail) : 0));
}

static void
finish_params(ModelParams *p, const char *sampled)
{
	char		msg[256];
	char		detail[640];

	if (params_finish(p, msg, sizeof(msg), detail, sizeof(detail)) != PARAMS_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("search: %s", msg),
				 errdetail("The configuration %s contradicts itself; narrow the search.", sampled)));
}

/* A drawn number as the shortest text within 4 significant digits, kept in range. */
static char *
number_text(const SearchDim *d, double x)
{
	char		buf[64];
	double		r;

	if (d->type == PARAM_KEY_INT)
	{
		r = rint(x);
		r = Max(d->lo, Min(d->hi, r));
		snprintf(buf, sizeof(buf), "%.0f", r);
		return pstrdup(buf);
	}
	snprintf(buf, sizeof(buf), "%.4g", x);
	r = strtod(buf, NULL);
	if (r < d->lo || r > d->hi)
		snprintf(buf, sizeof(buf), "%.17g", r < d->lo ? d->lo : d->hi);
	return pstrdup(buf);
}

/* Trial id: defaults plus fixed values (id 0), or a draw from rng. */
static void
make_trial(Trial *tr, int id, const SearchDim *dims, int ndims, bool weekly, pg_prng_state *rng)
{
	StringInfoData s;
	bool		first = true;

	tr->id = id;
	params_set_defaults(&tr->params, MODEL_KIND_XGBOOST, weekly);
	initStringInfo(&s);
	appendStringInfoChar(&s, '{');
	for (int i = 0; i < ndims; i++)
	{
		const SearchDim *d = &dims[i];
		ParamValueType t;
		char	   *text;

		if (d->kind == DIM_FIXED)
		{
			t = d->choice_types[0];
			text = d->choices[0];
		}
		else if (id == 0)
			continue;
		else if (d->kind == DIM_CHOICES)
		{
			int			k = (int) pg_prng_uint64_range(rng, 0, d->nchoices - 1);

			t = d->choice_types[k];
			text = d->choices[k];
		}
		else
		{
			double		u = pg_prng_double(rng);
			double		x;

			if (d->type == PARAM_KEY_INT && !d->log)
				x = d->lo + floor(u * (d->hi - d->lo + 1));
			else if (d->log)
				x = exp(log(d->lo) + u * (log(d->hi) - log(d->lo)));
			else
				x = d->lo + u * (d->hi - d->lo);
			t = PV_NUMBER;
			text = number_text(d, x);
		}
		apply_value(&tr->params, d, t, text);
		if (d->kind == DIM_FIXED)
			continue;
		appendStringInfo(&s, "%s\"%s\": ", first ? "" : ", ", d->name);
		if (t == PV_STRING)
			appendStringInfo(&s, "\"%s\"", text);
		else
			appendStringInfoString(&s, text);
		first = false;
	}
	appendStringInfoChar(&s, '}');
	tr->sampled = s.data;
	finish_params(&tr->params, tr->sampled);
	tr->rung = -1;
	tr->score = get_float8_nan();
	initStringInfo(&tr->folds);
}

/* Rows of the training matrix of series s are rows row_start[s] .. row_end[s] - 1. */
typedef struct MatrixIndex
{
	int64	   *row_start;
	int64	   *row_end;
} MatrixIndex;

/*
 * Copy the rows of the sampled series with target period <= train_to (and,
 * when valid_to > train_to, those in train_to + 1 .. valid_to into the
 * validation block) out of the matrix.
 */
static void
gather(const FeatureMatrix *m, const MatrixIndex *ix, const int *sample, int nsample,
	   int train_to, int valid_to, ModelTrainData *td)
{
	int			nf = m->nfeatures;
	int64		nt = 0,
				nv = 0;
	float	   *X,
			   *y,
			   *Xv = NULL,
			   *yv = NULL;

	for (int i = 0; i < nsample; i++)
		for (int64 r = ix->row_start[sample[i]]; r < ix->row_end[sample[i]]; r++)
		{
			if (m->period[r] <= train_to)
				nt++;
			else if (m->period[r] <= valid_to)
				nv++;
		}
	if (nt < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("a tuning fold has no training rows"),
				 errhint("Use fewer folds or a shorter horizon.")));
	X = palloc_extended(sizeof(float) * (Size) nt * nf, MCXT_ALLOC_HUGE);
	y = palloc(sizeof(float) * nt);
	if (nv > 0)
	{
		Xv = palloc_extended(sizeof(float) * (Size) nv * nf, MCXT_ALLOC_HUGE);
		yv = palloc(sizeof(float) * nv);
	}
	nt = nv = 0;
	for (int i = 0; i < nsample; i++)
		for (int64 r = ix->row_start[sample[i]]; r < ix->row_end[sample[i]]; r++)
		{
			if (m->period[r] <= train_to)
			{
				memcpy(X + (Size) nt * nf, m->x + (Size) r * nf, sizeof(float) * nf);
				y[nt++] = m->y[r];
			}
			else if (m->period[r] <= valid_to)
			{
				memcpy(Xv + (Size) nv * nf, m->x + (Size) r * nf, sizeof(float) * nf);
				yv[nv++] = m->y[r];
			}
		}
	td->nrows = (int) nt;
	td->ncols = nf;
	td->X = X;
	td->y = y;
	td->nvalid = (int) nv;
	td->X_valid = Xv;
	td->y_valid = yv;
}

/* Observed rows of the sampled series in from .. to, forecast from from - 1. */
static ForecastRows *
fold_rows(const SeriesSet *set, const int *sample, int nsample, int from, int to)
{
	ForecastRows *rows = palloc0(sizeof(ForecastRows));
	int			cap = Max(nsample * (to - from + 1), 1);

	rows->series = palloc(sizeof(int32) * cap);
	rows->period = palloc(sizeof(int32) * cap);
	rows->origin = palloc(sizeof(int32) * cap);
	for (int i = 0; i < nsample; i++)
		for (int t = from; t <= to; t++)
		{
			if (isnan(set->series[sample[i]].y[t]))
				continue;
			rows->series[rows->n] = sample[i];
			rows->period[rows->n] = t;
			rows->origin[rows->n] = from - 1;
			rows->n++;
		}
	return rows;
}

static double
metric_of(const char *metrics_text, const char *metric)
{
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics_text)));
	JsonbValue *v = getKeyJsonValueFromContainer(&jb->root, metric, strlen(metric), NULL);

	if (v == NULL || v->type != jbvNumeric)
		return get_float8_infinity();	/* not computable: never preferred */
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

static int
cmp_int(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;

	return x < y ? -1 : x > y;
}

/* Alive trials by score, then id (the defaults win ties). */
static int
cmp_trial(const void *a, const void *b)
{
	const Trial *x = *(Trial *const *) a;
	const Trial *y = *(Trial *const *) b;

	if (x->score < y->score)
		return -1;
	if (x->score > y->score)
		return 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static char *
fmt_score(double v)
{
	return isfinite(v) ? psprintf("%.17g", v) : pstrdup("null");
}

Datum
shelfops_tune(PG_FUNCTION_ARGS)
{
	TimestampTz started_at = GetCurrentTimestamp();
	TimestampTz phase;
	char	   *dataset_id = shelfops_ident_arg(fcinfo, 0, "dataset_id");
	char	   *model_name = shelfops_ident_arg(fcinfo, 1, "model_name");
	char	   *tenant_id = shelfops_tenant_arg(fcinfo, 8);
	Jsonb	   *search;
	int			budget,
				nfolds,
				seed;
	char	   *metric;
	bool		metric_ok = false;
	SearchDim  *dims;
	int			ndims,
				nvarying;
	MemoryContext cxt,
				oldcxt,
				fitcxt;
	TrainJob	job = {0};
	SeriesSet  *set;
	bool		weekly;
	int			L;
	Fold	   *folds;
	FeatureRowFilter filter = {.include_unknown_y = false, .series_idx = -1, .require_target_base = true};
	MatrixIndex ix;
	Trial	   *trials;
	pg_prng_state rng;
	int			rung_n[16];
	int			rung_series[16];
	int			rung_folds[16];
	int			nrungs = 0;
	int		   *perm;
	int			evals_total = 0,
				evals_done = 0;
	Trial	  **alive;
	Trial	   *winner;
	const char **names;
	double		t_read,
				t_features,
				t_search;
	char	   *tuning_id;
	char	   *final_text;
	StringInfoData buf,
				lineage;
	char	   *result;
	int			champion = 0;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("search must not be NULL"),
				 errhint("Give a JSON object of parameter ranges or choices, e.g. {\"max_depth\": {\"min\": 6, \"max\": 12}}.")));
	search = PG_GETARG_JSONB_P(2);
	budget = train_int_arg(fcinfo, 3, "budget", 20, 1, TUNE_MAX_BUDGET);
	nfolds = train_int_arg(fcinfo, 4, "folds", 3, 1, TUNE_MAX_FOLDS);
	metric = PG_ARGISNULL(6) ? pstrdup("wape") : text_to_cstring(PG_GETARG_TEXT_PP(6));
	for (int i = 0; tune_metrics[i]; i++)
		metric_ok |= strcmp(metric, tune_metrics[i]) == 0;
	if (!metric_ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown tuning metric \"%s\"", metric),
				 errhint("Use wape, mae, mase or mape_nonzero (lower is better).")));
	seed = PG_ARGISNULL(7) ? 42 : PG_GETARG_INT32(7);
	dims = parse_search(search, &ndims, &nvarying);
	if (nvarying == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("search varies no parameter"),
				 errdetail("Every key has a single value; give at least one range or two choices."),
				 errhint("Use shelfops_train for one fixed configuration.")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops tune", ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	progress_begin(cxt, tenant_id, model_name, dataset_id, "xgboost");

	/* read, split, configurations */
	phase = GetCurrentTimestamp();
	set = series_load(tenant_id, dataset_id, cxt);
	t_read = train_seconds_since(phase);
	weekly = set->frequency == SERIES_WEEKLY;
	/* the holdout is the horizon: the folds before it are holdout-long blocks */
	train_resolve_horizon(set, PG_ARGISNULL(5) ? NULL : &(int) {PG_GETARG_INT32(5)}, NULL,
						  &job.horizon, &job.holdout);
	L = job.holdout;

	trials = palloc0(sizeof(Trial) * budget);
	pg_prng_seed(&rng, (uint64) (int64) seed);
	for (int i = 0; i < budget; i++)
	{
		/* redraw a configuration already drawn (small discrete spaces), a few times */
		for (int attempt = 0; attempt < 20; attempt++)
		{
			bool		dup = false;

			make_trial(&trials[i], i, dims, ndims, weekly, &rng);
			for (int j = 0; j < i && !dup; j++)
				dup = strcmp(trials[j].sampled, trials[i].sampled) == 0 ||
					(j == 0 && strcmp(params_to_json(&trials[0].params), params_to_json(&trials[i].params)) == 0);
			if (!dup)
				break;
		}
	}

	train_split(set, job.horizon, job.holdout, &job.split);
	folds = palloc(sizeof(Fold) * nfolds);
	for (int k = 0; k < nfolds; k++)
	{
		folds[k].valid_end = job.split.origin - k * L;
		folds[k].valid_start = folds[k].valid_end - L + 1;
	}
	{
		/* the earliest fold trains on targets before it, early stopping takes another L */
		int			need = folds[nfolds - 1].valid_start - 1;
		bool		early = false;

		for (int i = 0; i < budget; i++)
			early |= trials[i].params.early_stopping_rounds > 0;
		if (early)
			need -= L;
		if (need < job.horizon + 1)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("dataset \"%s\" has %d %s periods, too few for %d tuning folds of %d periods before the holdout",
							dataset_id, set->ndata_periods, series_frequency_name(set->frequency), nfolds, L),
					 errdetail("The earliest fold would train on targets up to period %d; it needs more than horizon + 1 = %d.",
							   need, job.horizon + 1),
					 errhint("Use fewer folds or a shorter horizon.")));
	}

	/* rungs: sizes and series per rung (each rung about one pass over the rows) */
	rung_n[0] = budget;
	nrungs = 1;
	while (rung_n[nrungs - 1] > TUNE_ETA && nrungs < 16)
	{
		rung_n[nrungs] = (rung_n[nrungs - 1] + TUNE_ETA - 1) / TUNE_ETA;
		nrungs++;
	}
	for (int r = 0; r < nrungs; r++)
	{
		int			m;

		/* the last rung scores on every fold, each earlier one on one fold fewer (at least one) */
		rung_folds[r] = Max(1, nfolds - (nrungs - 1 - r));
		m = (int) ceil((double) set->nseries / ((double) rung_n[r] * rung_folds[r]));

		m = Max(m, Min(set->nseries, TUNE_MIN_SERIES));
		m = Min(m, set->nseries);
		if (r > 0)
			m = Max(m, rung_series[r - 1]);
		rung_series[r] = m;
		evals_total += rung_n[r];
	}
	/* a seeded order of the series; rung r takes its first rung_series[r] (nested samples) */
	perm = palloc(sizeof(int) * Max(set->nseries, 1));
	for (int s = 0; s < set->nseries; s++)
		perm[s] = s;
	{
		pg_prng_state srng;

		pg_prng_seed(&srng, (uint64) (int64) seed ^ UINT64CONST(0x9E3779B97F4A7C15));
		for (int s = set->nseries - 1; s > 0; s--)
		{
			int			j = (int) pg_prng_uint64_range(&srng, 0, s);
			int			tmp = perm[s];

			perm[s] = perm[j];
			perm[j] = tmp;
		}
	}

	/* features and the training matrix, once */
	progress_phase(PROGRESS_FEATURES);
	phase = GetCurrentTimestamp();
	job.spec = feature_spec_build(set, job.horizon, job.split.train_last);
	job.train_mat = features_build(job.spec, set, 0, job.split.train_last, &filter);
	progress_rows(job.train_mat->nrows, -1);
	ix.row_start = palloc(sizeof(int64) * Max(set->nseries, 1));
	ix.row_end = palloc(sizeof(int64) * Max(set->nseries, 1));
	for (int s = 0; s < set->nseries; s++)
		ix.row_start[s] = ix.row_end[s] = 0;
	for (int64 r = job.train_mat->nrows - 1; r >= 0; r--)
	{
		int			s = job.train_mat->series_idx[r];

		if (ix.row_end[s] == 0)
			ix.row_end[s] = r + 1;
		ix.row_start[s] = r;
	}
	names = palloc(sizeof(char *) * job.spec->nfeatures);
	for (int i = 0; i < job.spec->nfeatures; i++)
		names[i] = feature_name(job.spec, i);
	t_features = train_seconds_since(phase);

	/* the search */
	progress_phase(PROGRESS_TUNE);
	progress_trials(0, evals_total);
	phase = GetCurrentTimestamp();
	fitcxt = AllocSetContextCreate(cxt, "shelfops tune fit", ALLOCSET_DEFAULT_SIZES);
	alive = palloc(sizeof(Trial *) * budget);
	for (int i = 0; i < budget; i++)
		alive[i] = &trials[i];
	for (int r = 0; r < nrungs; r++)
	{
		int			n = rung_n[r];
		int			m = rung_series[r];
		int		   *sample = palloc(sizeof(int) * m);
		ForecastRows **vrows = palloc(sizeof(ForecastRows *) * nfolds);

		memcpy(sample, perm, sizeof(int) * m);
		qsort(sample, m, sizeof(int), cmp_int);	/* keep the matrix's series order */
		for (int k = 0; k < rung_folds[r]; k++)
			vrows[k] = fold_rows(set, sample, m, folds[k].valid_start, folds[k].valid_end);

		for (int a = 0; a < n; a++)
		{
			Trial	   *tr = alive[a];
			double		sum = 0;
			bool		finite = true;

			tr->rung = r;
			for (int k = 0; k < rung_folds[r]; k++)
			{
				TimestampTz t0 = GetCurrentTimestamp();
				MemoryContext prev = MemoryContextSwitchTo(fitcxt);
				ModelTrainData td = {0};
				int			train_to = folds[k].valid_start - 1;
				Model	   *model;
				double	   *pred;
				char	   *mtext;
				double		v,
							secs;

				CHECK_FOR_INTERRUPTS();
				/* early stopping validates on the last L training periods, like training's calibration block */
				if (tr->params.early_stopping_rounds > 0)
					gather(job.train_mat, &ix, sample, m, train_to - L, train_to, &td);
				else
					gather(job.train_mat, &ix, sample, m, train_to, train_to, &td);
				td.params = &tr->params;
				td.feature_names = names;
				td.progress = progress_rounds;
				model = model_fit(&model_family_xgboost, &td);
				pred = palloc(sizeof(double) * Max(vrows[k]->n, 1));
				forecast_rows_predict(model, job.spec, set, vrows[k], pred);
				mtext = train_score_metrics(set, vrows[k], pred, NULL, NULL, folds[k].valid_start - 1);
				v = metric_of(mtext, metric);
				secs = train_seconds_since(t0);
				tr->rounds += model->rounds;
				tr->seconds += secs;
				sum += v;
				finite &= isfinite(v);
				MemoryContextSwitchTo(prev);
				appendStringInfo(&tr->folds, "%s{\"rung\": %d, \"fold\": %d, \"series\": %d, "
								 "\"train_end\": \"%s\", \"valid_start\": \"%s\", \"valid_end\": \"%s\", "
								 "\"train_rows\": %d, \"early_stopping_rows\": %d, \"valid_rows\": %d, "
								 "\"rounds\": %d, \"seconds\": %.3f, \"score\": %s, \"metrics\": %s}",
								 tr->folds.len ? ", " : "", r, k + 1, m,
								 shelfops_iso_date(series_period_date(set, td.nvalid > 0 ? train_to - L : train_to)),
								 shelfops_iso_date(series_period_date(set, folds[k].valid_start)),
								 shelfops_iso_date(series_period_date(set, folds[k].valid_end)),
								 td.nrows, td.nvalid, vrows[k]->n, model->rounds, secs, fmt_score(v), mtext);
				model_free(model);
				MemoryContextReset(fitcxt);
			}
			tr->score = finite ? sum / rung_folds[r] : get_float8_infinity();
			progress_trials(++evals_done, evals_total);
		}
		/* keep the best of this rung for the next (the first rung_n[r + 1]) */
		qsort(alive, n, sizeof(Trial *), cmp_trial);
	}
	winner = alive[0];
	t_search = train_seconds_since(phase);

	/* the winner, trained as shelfops_train would (same spec and matrix) */
	SPI_connect();
	{
		Oid			types[2] = {TEXTOID, TEXTOID};
		Datum		values[2];
		bool		isnull;

		if (SPI_execute("SELECT gen_random_uuid()::text", true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not draw a tuning id");
		tuning_id = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		values[0] = CStringGetTextDatum(tenant_id);
		values[1] = CStringGetTextDatum(model_name);
		if (SPI_execute_with_args("SELECT version FROM shelfops.model_versions WHERE tenant_id = $1 "
								  "AND model_name = $2 AND status = 'champion'",
								  2, types, values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
			champion = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();

	initStringInfo(&lineage);
	appendStringInfo(&lineage, ", \"tuning_id\": \"%s\", \"tuning_trial\": %d, \"tuning_metric\": \"%s\", "
					 "\"tuning_score\": %s, \"tuning_folds\": %d, \"tuned_params\": %s",
					 tuning_id, winner->id, metric, fmt_score(winner->score), nfolds, winner->sampled);
	job.tenant_id = tenant_id;
	job.dataset_id = dataset_id;
	job.model_name = model_name;
	job.family = &model_family_xgboost;
	job.params = winner->params;
	job.trigger = "manual";
	job.tuning_profile = "tuned";
	job.change_category = "hyperparameter_tuning";
	job.lineage_extra = lineage.data;
	job.set = set;
	job.started_at = GetCurrentTimestamp();
	job.t_read = 0;
	job.t_features = 0;
	phase = GetCurrentTimestamp();
	final_text = train_run(&job);

	/* the trials and the experiment */
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int r = 0; r < nrungs; r++)
		appendStringInfo(&buf, "%s{\"rung\": %d, \"trials\": %d, \"folds\": %d, \"series\": %d}",
						 r ? ", " : "", r, rung_n[r], rung_folds[r], rung_series[r]);
	appendStringInfoChar(&buf, ']');
	{
		char	   *rungs_text = buf.data;
		StringInfoData fw;
		StringInfoData res;
		Oid			ttypes[12] = {TEXTOID, UUIDOID, INT4OID, TEXTOID, TEXTOID, JSONBOID, JSONBOID,
		TEXTOID, INT4OID, FLOAT8OID, JSONBOID, INT8OID};
		char	   *search_text = JsonbToCString(NULL, &search->root, VARSIZE(search));
		char	   *holdout_start = shelfops_iso_date(series_period_date(set, job.split.origin + 1));
		const Trial *defaults = &trials[0];

		initStringInfo(&fw);
		appendStringInfoChar(&fw, '[');
		for (int k = 0; k < nfolds; k++)
			appendStringInfo(&fw, "%s{\"fold\": %d, \"valid_start\": \"%s\", \"valid_end\": \"%s\"}",
							 k ? ", " : "", k + 1,
							 shelfops_iso_date(series_period_date(set, folds[k].valid_start)),
							 shelfops_iso_date(series_period_date(set, folds[k].valid_end)));
		appendStringInfoChar(&fw, ']');

		initStringInfo(&res);
		appendStringInfo(&res, "{\"tuning_id\": \"%s\", \"model_name\": \"%s\", \"dataset_id\": \"%s\", "
						 "\"metric\": \"%s\", \"budget\": %d, \"folds\": %d, \"seed\": %d, \"horizon\": %d, "
						 "\"holdout\": %d, \"holdout_start\": \"%s\", \"search\": %s, \"fold_windows\": %s, "
						 "\"rungs\": %s, \"series\": %d, \"train_rows\": %lld, "
						 "\"winner\": {\"trial\": %d, \"params\": %s, \"score\": %s, \"rung\": %d}, "
						 "\"defaults\": {\"trial\": 0, \"params\": %s, \"score\": %s, \"rung\": %d}, "
						 "\"candidate\": %s, "
						 "\"seconds\": {\"read\": %.3f, \"features\": %.3f, \"search\": %.3f, \"final\": %.3f, \"total\": %.3f}}",
						 tuning_id, model_name, dataset_id, metric, budget, nfolds, seed, job.horizon, job.holdout,
						 holdout_start, search_text, fw.data, rungs_text, set->nseries,
						 (long long) job.train_mat->nrows,
						 winner->id, winner->sampled, fmt_score(winner->score), winner->rung,
						 defaults->sampled, fmt_score(defaults->score), defaults->rung,
						 final_text, t_read, t_features, t_search, train_seconds_since(phase),
						 train_seconds_since(started_at));
		result = res.data;

		SPI_connect();
		for (int i = 0; i < budget; i++)
		{
			Trial	   *tr = &trials[i];
			Datum		v[12];
			char		nulls[12];
			const char *status = tr == winner ? "winner" :
				(tr->rung == nrungs - 1 ? "finalist" : "discarded");

			memset(nulls, ' ', sizeof(nulls));
			v[0] = CStringGetTextDatum(tenant_id);
			v[1] = DirectFunctionCall1(uuid_in, CStringGetDatum(tuning_id));
			v[2] = Int32GetDatum(tr->id);
			v[3] = CStringGetTextDatum(model_name);
			v[4] = CStringGetTextDatum(dataset_id);
			v[5] = train_jsonb_datum(params_to_json(&tr->params));
			v[6] = train_jsonb_datum(tr->sampled);
			v[7] = CStringGetTextDatum(status);
			v[8] = Int32GetDatum(tr->rung);
			v[9] = Float8GetDatum(tr->score);
			if (!isfinite(tr->score))
				nulls[9] = 'n';
			v[10] = train_jsonb_datum(psprintf("[%s]", tr->folds.data));
			v[11] = Int64GetDatum(tr->rounds);
			if (SPI_execute_with_args(psprintf("INSERT INTO shelfops.tuning_trials (tenant_id, tuning_id, trial, "
											   "model_name, dataset_id, params, sampled, status, rung, score, "
											   "fold_metrics, rounds, seconds, metric) VALUES ($1, $2, $3, $4, $5, $6, "
											   "$7, $8, $9, $10, $11, $12, %.3f, %s)",
											   tr->seconds, quote_literal_cstr(metric)),
									  12, ttypes, v, nulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not record a tuning trial");
		}
		{
			Oid			etypes[9] = {TEXTOID, UUIDOID, TEXTOID, TEXTOID, INT4OID, INT4OID, TEXTOID, JSONBOID,
			JSONBOID};
			Datum		v[9];
			char		nulls[9];
			char	   *evidence;

			memset(nulls, ' ', sizeof(nulls));
			v[0] = CStringGetTextDatum(tenant_id);
			v[1] = DirectFunctionCall1(uuid_in, CStringGetDatum(tuning_id));
			v[2] = CStringGetTextDatum(psprintf("tune %s on %s", model_name, dataset_id));
			v[3] = CStringGetTextDatum(model_name);
			v[4] = Int32GetDatum(champion);
			if (champion <= 0)
				nulls[4] = 'n';
			v[5] = Int32GetDatum(job.version);
			v[6] = CStringGetTextDatum(psprintf("trial %d of %d won on %d rolling-origin folds: %s %.6g "
												"(defaults: %s %.6g at rung %d); candidate version %d",
												winner->id, budget, nfolds, metric, winner->score,
												metric, defaults->score, defaults->rung, job.version));
			evidence = psprintf("{\"dataset_id\": \"%s\", \"data_fingerprint\": \"%s\", \"holdout_start\": \"%s\", "
								"\"fold_windows\": %s, \"rungs\": %s, \"training_run_id\": \"%s\"}",
								dataset_id, set->fingerprint, holdout_start, fw.data, rungs_text, job.run_id);
			v[7] = train_jsonb_datum(evidence);
			v[8] = train_jsonb_datum(result);
			if (SPI_execute_with_args("INSERT INTO shelfops.model_experiments (tenant_id, experiment_id, "
									  "experiment_name, hypothesis, experiment_type, model_name, baseline_version, "
									  "experimental_version, status, decision, reason, evidence, results, "
									  "decision_rationale, proposed_by, completed_at) "
									  "VALUES ($1, $2, $3, 'A searched XGBoost configuration forecasts better than "
									  "the defaults on rolling-origin folds before the holdout', "
									  "'hyperparameter_tuning', $4, $5, $6, 'completed', 'candidate', $7, $8, "
									  "$9, 'The winner is a candidate; promotion goes through shelfops_promote.', "
									  "current_user, clock_timestamp())",
									  9, etypes, v, nulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not record the tuning experiment");
		}
		SPI_finish();
	}

	MemoryContextSwitchTo(oldcxt);
	result = pstrdup(result);
	progress_end();
	MemoryContextDelete(cxt);
	PG_RETURN_DATUM(train_jsonb_datum(result));
}
