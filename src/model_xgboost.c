/*
 * model_xgboost.c
 *	  Owns the XGBoost model family: fitting one round at a time (interruptible,
 *	  with early stopping on a validation block), in-place prediction, saving to
 *	  and loading from UBJSON, gain importance, and the rules every call into the
 *	  library follows: PostgreSQL's signals blocked during the call, every error
 *	  turned into an ereport with XGBoost's timestamps and stack trace removed,
 *	  every handle owned by a memory context whose reset callback frees it.
 */
#include "postgres.h"

#include <math.h>
#include <signal.h>
#include <stdint.h>

#include <xgboost/c_api.h>

#include "miscadmin.h"
#include "storage/pmsignal.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "forest.h"
#include "model.h"
#include "params.h"
#include "shelfops.h"

/* ---- calling XGBoost ---- */

static sigset_t xgb_sigs;
static bool xgb_sigs_ready = false;

/*
 * Block the signals PostgreSQL handles, so that XGBoost's OpenMP threads
 * (created inside the call, inheriting the mask) never run a backend handler.
 * Signals arriving meanwhile stay pending and are delivered to this thread on
 * unblock; CHECK_FOR_INTERRUPTS then acts on them.
 */
static void
xgb_block(sigset_t *old)
{
	if (!xgb_sigs_ready)
	{
		sigemptyset(&xgb_sigs);
		sigaddset(&xgb_sigs, SIGINT);
		sigaddset(&xgb_sigs, SIGTERM);
		sigaddset(&xgb_sigs, SIGQUIT);
		sigaddset(&xgb_sigs, SIGALRM);
		sigaddset(&xgb_sigs, SIGHUP);
		sigaddset(&xgb_sigs, SIGUSR1);
		sigaddset(&xgb_sigs, SIGUSR2);
		sigaddset(&xgb_sigs, SIGCHLD);
		sigaddset(&xgb_sigs, SIGPIPE);
		xgb_sigs_ready = true;
	}
	sigprocmask(SIG_BLOCK, &xgb_sigs, old);
}

static void
xgb_unblock(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

/*
 * XGBoost's last error without "[12:34:56] " timestamps, "src/x.cc:123: "
 * source positions and the "Stack trace:" block, on one line.
 */
static char *
xgb_clean_error(const char *raw)
{
	StringInfoData out;
	const char *cut;
	char	   *copy;
	char	   *save = NULL;

	if (raw == NULL || raw[0] == '\0')
		return pstrdup("unknown error");
	cut = strstr(raw, "Stack trace:");
	copy = pnstrdup(raw, cut ? (Size) (cut - raw) : strlen(raw));
	initStringInfo(&out);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		char	   *s = line;
		char	   *e;

		while (*s == ' ' || *s == '\t')
			s++;
		if (s[0] == '[')
		{
			char	   *rb = strchr(s, ']');

			if (rb && rb - s <= 16)
				s = rb + 1;
			while (*s == ' ')
				s++;
		}
		/* "path/file.cc:123: message" -> "message" */
		e = strstr(s, ": ");
		if (e)
		{
			char	   *p = e;

			while (p > s && isdigit((unsigned char) p[-1]))
				p--;
			if (p < e && p > s && p[-1] == ':' &&
				(strstr(s, ".cc:") == p - 4 || strstr(s, ".h:") == p - 3 ||
				 strstr(s, ".cu:") == p - 4 || strstr(s, ".cpp:") == p - 5))
				s = e + 2;
		}
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\t'))
			*--e = '\0';
		if (*s == '\0')
			continue;
		if (out.len > 0)
			appendStringInfoChar(&out, ' ');
		appendStringInfoString(&out, s);
	}
	if (out.len == 0)
		appendStringInfoString(&out, "unknown error");
	if (out.len > 1000)
	{
		/* e.g. "Unknown objective" lists every candidate: keep the start */
		out.len = 1000;
		out.data[out.len] = '\0';
		appendStringInfoString(&out, "...");
	}
	return out.data;
}

static void
xgb_raise(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("XGBoost %s failed: %s", what, xgb_clean_error(XGBGetLastError()))));
}

/* Run one XGBoost call with signals blocked; ERROR when it fails. */
#define XGB_CALL(what, call) \
	do { \
		sigset_t	xgb_old_; \
		int			xgb_rc_; \
		xgb_block(&xgb_old_); \
		xgb_rc_ = (call); \
		xgb_unblock(&xgb_old_); \
		if (xgb_rc_ != 0) \
			xgb_raise(what); \
	} while (0)

const char *
model_xgboost_version(void)
{
	static char version[32];

	if (version[0] == '\0')
	{
		int			major,
					minor,
					patch;

		XGBoostVersion(&major, &minor, &patch);
		snprintf(version, sizeof(version), "%d.%d.%d", major, minor, patch);
	}
	return version;
}

/* ---- handle ownership ---- */

typedef struct XgbState
{
	BoosterHandle booster;
	int			nthread;		/* nthread last set on the booster */
	Forest	   *forest;			/* flat trees of a loaded model (forest.c), or NULL */
	MemoryContextCallback cb;
} XgbState;

/* rows predicted by the flat trees in this backend (shelfops._model_cache_stats) */
int64		shelfops_forest_rows = 0;

static void
xgb_state_release(void *arg)
{
	XgbState   *st = (XgbState *) arg;

	if (st->booster)
	{
		sigset_t	old;

		xgb_block(&old);
		XGBoosterFree(st->booster);
		xgb_unblock(&old);
		st->booster = NULL;
	}
}

static XgbState *
xgb_state_create(Model *m)
{
	XgbState   *st = MemoryContextAllocZero(m->mcxt, sizeof(XgbState));

	st->cb.func = xgb_state_release;
	st->cb.arg = st;
	MemoryContextRegisterResetCallback(m->mcxt, &st->cb);
	m->state = st;
	return st;
}

typedef struct XgbFitHandles
{
	DMatrixHandle dtrain;
	DMatrixHandle dvalid;
	MemoryContextCallback cb;
} XgbFitHandles;

static void
xgb_fit_handles_release(void *arg)
{
	XgbFitHandles *h = (XgbFitHandles *) arg;
	sigset_t	old;

	xgb_block(&old);
	if (h->dtrain)
		XGDMatrixFree(h->dtrain);
	if (h->dvalid)
		XGDMatrixFree(h->dvalid);
	xgb_unblock(&old);
	h->dtrain = h->dvalid = NULL;
}

static DMatrixHandle *
xgb_dmatrix(DMatrixHandle *slot, const float *X, int nrows, int ncols, const float *y,
			const float *w, const char *const *names)
{
	XGB_CALL("DMatrix creation", XGDMatrixCreateFromMat(X, (bst_ulong) nrows, (bst_ulong) ncols, NAN, slot));
	XGB_CALL("setting labels", XGDMatrixSetFloatInfo(*slot, "label", y, (bst_ulong) nrows));
	if (w)
		XGB_CALL("setting weights", XGDMatrixSetFloatInfo(*slot, "weight", w, (bst_ulong) nrows));
	if (names)
		XGB_CALL("setting feature names",
				 XGDMatrixSetStrFeatureInfo(*slot, "feature_name", (const char **) names, (bst_ulong) ncols));
	return slot;
}

static char *
xgb_get_attr(BoosterHandle b, const char *key)
{
	const char *val = NULL;
	int			success = 0;

	XGB_CALL("reading a model attribute", XGBoosterGetAttr(b, key, &val, &success));
	return (success && val) ? pstrdup(val) : NULL;
}

static void
xgb_set_nthread(XgbState *st)
{
	if (st->nthread != shelfops_xgboost_threads)
	{
		char		buf[16];

		snprintf(buf, sizeof(buf), "%d", shelfops_xgboost_threads);
		XGB_CALL("setting nthread", XGBoosterSetParam(st->booster, "nthread", buf));
		st->nthread = shelfops_xgboost_threads;
	}
}

/* ---- family ---- */

static Model *
xgb_fit(const ModelTrainData *d)
{
	const ModelParams *p = d->params;
	Model	   *m = model_create(&model_family_xgboost, CurrentMemoryContext);
	XgbState   *st = xgb_state_create(m);
	MemoryContext fitcxt = AllocSetContextCreate(CurrentMemoryContext, "shelfops xgboost fit", ALLOCSET_SMALL_SIZES);
	XgbFitHandles *h = MemoryContextAllocZero(fitcxt, sizeof(XgbFitHandles));
	bool		early = p->early_stopping_rounds > 0 && d->nvalid > 0;
	DMatrixHandle cache[2];
	ParamSetting settings[PARAMS_MAX_SETTINGS];
	int			nset;
	int			best = -1;
	double		best_score = get_float8_nan();
	int			done = 0;
	char		buf[64];

	h->cb.func = xgb_fit_handles_release;
	h->cb.arg = h;
	MemoryContextRegisterResetCallback(fitcxt, &h->cb);

	xgb_dmatrix(&h->dtrain, d->X, d->nrows, d->ncols, d->y, d->weights, d->feature_names);
	cache[0] = h->dtrain;
	if (d->nvalid > 0)
	{
		xgb_dmatrix(&h->dvalid, d->X_valid, d->nvalid, d->ncols, d->y_valid, d->w_valid, d->feature_names);
		cache[1] = h->dvalid;
	}
	XGB_CALL("booster creation", XGBoosterCreate(cache, d->nvalid > 0 ? 2 : 1, &st->booster));

	nset = params_xgboost_settings(p, shelfops_xgboost_threads, early, settings);
	for (int i = 0; i < nset; i++)
		XGB_CALL("setting parameters", XGBoosterSetParam(st->booster, settings[i].name, settings[i].value));
	st->nthread = shelfops_xgboost_threads;

	if (d->progress)			/* progress: rounds done / total */
		d->progress(d->progress_arg, 0, p->n_estimators);
	for (int iter = 0; iter < p->n_estimators; iter++)
	{
		CHECK_FOR_INTERRUPTS();
		/* orphaned by a killed postmaster: stop before anything can commit */
		if (!PostmasterIsAlive())
			ereport(FATAL,
					(errcode(ERRCODE_ADMIN_SHUTDOWN),
					 errmsg("terminating training because the postmaster died")));
		XGB_CALL("boosting", XGBoosterUpdateOneIter(st->booster, iter, h->dtrain));
		done = iter + 1;
		if (d->progress)
			d->progress(d->progress_arg, done, p->n_estimators);
		if (early)
		{
			const char *names[1] = {"valid"};
			const char *res = NULL;
			const char *colon;
			double		score;

			XGB_CALL("evaluation", XGBoosterEvalOneIter(st->booster, iter, &h->dvalid, names, 1, &res));
			colon = res ? strrchr(res, ':') : NULL;
			if (colon == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						 errmsg("XGBoost evaluation returned no score: \"%s\"", res ? res : "")));
			score = strtod(colon + 1, NULL);
			if (best < 0 || score < best_score)
			{
				best = iter;
				best_score = score;
			}
			else if (iter - best >= p->early_stopping_rounds)
				break;
		}
	}

	if (early && best + 1 < done)
	{
		BoosterHandle sliced = NULL;
		BoosterHandle old = st->booster;

		XGB_CALL("slicing to the best iteration", XGBoosterSlice(old, 0, best + 1, 1, &sliced));
		st->booster = sliced;
		{
			sigset_t	o;

			xgb_block(&o);
			XGBoosterFree(old);
			xgb_unblock(&o);
		}
	}

	m->params = *p;
	m->params_json = MemoryContextStrdup(m->mcxt, params_to_json(p));
	m->n_features = d->ncols;
	m->best_iteration = early ? best : -1;
	m->best_score = early ? best_score : get_float8_nan();
	XGB_CALL("setting attributes", XGBoosterSetAttr(st->booster, "shelfops_params", m->params_json));
	snprintf(buf, sizeof(buf), "%d", m->best_iteration);
	XGB_CALL("setting attributes", XGBoosterSetAttr(st->booster, "shelfops_best_iteration", buf));
	if (early)
	{
		snprintf(buf, sizeof(buf), "%.17g", best_score);
		XGB_CALL("setting attributes", XGBoosterSetAttr(st->booster, "shelfops_best_score", buf));
	}
	XGB_CALL("counting rounds", XGBoosterBoostedRounds(st->booster, &m->rounds));

	MemoryContextDelete(fitcxt);	/* frees the DMatrix handles */
	return m;
}

static void
xgb_predict(Model *m, const ModelPredictInput *in, double *out, bool *fallback)
{
	XgbState   *st = (XgbState *) m->state;
	char		values[160];
	const char *config = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
		"\"strict_shape\": false, \"cache_id\": 0, \"missing\": NaN}";
	const bst_ulong *shape = NULL;
	bst_ulong	dim = 0;
	const float *res = NULL;
	bst_ulong	total = 1;

	if (st->forest && shelfops_fast_tree_predict)
	{
		forest_predict(st->forest, in->X, in->nrows, in->ncols, out);
		if (fallback)
			memset(fallback, 0, sizeof(bool) * in->nrows);
		shelfops_forest_rows += in->nrows;
		return;
	}
	xgb_set_nthread(st);
	snprintf(values, sizeof(values),
			 "{\"data\": [%llu, true], \"shape\": [%d, %d], \"typestr\": \"<f4\", \"version\": 3}",
			 (unsigned long long) (uintptr_t) in->X, in->nrows, in->ncols);
	XGB_CALL("prediction", XGBoosterPredictFromDense(st->booster, values, config, NULL, &shape, &dim, &res));
	for (bst_ulong i = 0; i < dim; i++)
		total *= shape[i];
	if (total != (bst_ulong) in->nrows)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("XGBoost returned %llu predictions for %d rows", (unsigned long long) total, in->nrows)));
	for (int i = 0; i < in->nrows; i++)
	{
		out[i] = (double) res[i];
		if (fallback)
			fallback[i] = false;
	}
}

static char *
xgb_save(Model *m, size_t *len)
{
	XgbState   *st = (XgbState *) m->state;
	bst_ulong	n = 0;
	const char *buf = NULL;
	char	   *copy;

	XGB_CALL("saving the model", XGBoosterSaveModelToBuffer(st->booster, "{\"format\": \"ubj\"}", &n, &buf));
	copy = palloc(n);
	memcpy(copy, buf, n);
	*len = (size_t) n;
	return copy;
}

static Model *
xgb_load(const char *payload, size_t len)
{
	Model	   *m = model_create(&model_family_xgboost, CurrentMemoryContext);
	XgbState   *st = xgb_state_create(m);
	bst_ulong	nf = 0;
	char	   *attr;

	XGB_CALL("booster creation", XGBoosterCreate(NULL, 0, &st->booster));
	XGB_CALL("loading the model", XGBoosterLoadModelFromBuffer(st->booster, payload, (bst_ulong) len));
	st->nthread = -1;
	xgb_set_nthread(st);
	XGB_CALL("reading the feature count", XGBoosterGetNumFeature(st->booster, &nf));
	XGB_CALL("counting rounds", XGBoosterBoostedRounds(st->booster, &m->rounds));
	m->n_features = (int) nf;
	/* the same trees as flat arrays for the fast predictor, when it covers the model */
	st->forest = forest_from_xgboost_ubj(payload, len, m->mcxt);
	if (st->forest && forest_nfeatures(st->forest) != m->n_features)
		st->forest = NULL;

	attr = xgb_get_attr(st->booster, "shelfops_params");
	if (attr)
	{
		params_from_jsonb(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(attr))),
						  MODEL_KIND_XGBOOST, false, &m->params);
		m->params_json = MemoryContextStrdup(m->mcxt, attr);
	}
	else
		params_set_defaults(&m->params, MODEL_KIND_XGBOOST, false);
	attr = xgb_get_attr(st->booster, "shelfops_best_iteration");
	m->best_iteration = attr ? atoi(attr) : -1;
	attr = xgb_get_attr(st->booster, "shelfops_best_score");
	if (attr)
		m->best_score = strtod(attr, NULL);
	return m;
}

static void
xgb_describe(Model *m, StringInfo buf)
{
	XgbState   *st = (XgbState *) m->state;
	bst_ulong	nf = 0;
	const char **names = NULL;
	bst_ulong	dim = 0;
	const bst_ulong *shape = NULL;
	const float *scores = NULL;

	appendStringInfo(buf, ", \"library\": \"xgboost\", \"library_version\": \"%s\"", model_xgboost_version());
	appendStringInfo(buf, ", \"n_features\": %d, \"rounds\": %d", m->n_features, m->rounds);
	if (m->best_iteration >= 0)
		appendStringInfo(buf, ", \"best_iteration\": %d, \"best_score\": %.6g", m->best_iteration, m->best_score);
	else
		appendStringInfoString(buf, ", \"best_iteration\": null");

	XGB_CALL("feature importance",
			 XGBoosterFeatureScore(st->booster, "{\"importance_type\": \"gain\"}", &nf, &names, &dim, &shape, &scores));
	appendStringInfoString(buf, ", \"importance_gain\": {");
	for (bst_ulong i = 0; i < nf; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, names[i]);
		appendStringInfo(buf, ": %.6g", (double) scores[i]);
	}
	appendStringInfoChar(buf, '}');
}

const ModelFamily model_family_xgboost = {
	.name = "xgboost",
	.kind = MODEL_KIND_XGBOOST,
	.needs_history = false,
	.fit = xgb_fit,
	.predict = xgb_predict,
	.save = xgb_save,
	.load = xgb_load,
	.describe = xgb_describe,
};
