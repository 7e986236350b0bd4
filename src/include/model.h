/*
 * model.h
 *	  The model layer every caller (training, forecasting, backtests, tuning)
 *	  goes through: a small table of model families, the data they fit on and
 *	  predict from, enveloped save/load and a per-backend cache of loaded models.
 *
 * Adding a family is one file defining a ModelFamily and one line in the
 * families[] table of model.c (plus a ModelKind and its name in envelope.c).
 *
 * Ownership: every Model lives in its own memory context (model->mcxt); any
 * foreign handle (an XGBoost booster) is freed by a reset callback of that
 * context, so an ERROR anywhere frees it with the context and model_free() is
 * just MemoryContextDelete.
 */
#ifndef SHELFOPS_MODEL_H
#define SHELFOPS_MODEL_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "envelope.h"
#include "params.h"

/*
 * One series' history: values[0..length) are consecutive periods, NaN where a
 * period is missing.
 */
typedef struct ModelSeries
{
	const double *values;
	int			length;
} ModelSeries;

/*
 * Everything a fit may use.  XGBoost uses the matrix block; baselines only the
 * params (their "fit" learns nothing: they forecast from history at predict).
 * Matrices are dense, row-major float32, NaN = missing.
 */
typedef struct ModelTrainData
{
	int			nrows;
	int			ncols;
	const float *X;				/* nrows x ncols */
	const float *y;				/* nrows labels, finite */
	const float *weights;		/* nrows, or NULL */
	/* validation block (early stopping): the caller passes the latest rows by date */
	int			nvalid;
	const float *X_valid;		/* nvalid x ncols, or NULL when nvalid = 0 */
	const float *y_valid;
	const float *w_valid;		/* or NULL */
	const char *const *feature_names;	/* ncols names, or NULL ("f0", "f1", ...) */
	const ModelParams *params;	/* validated; its family must be the one fitted */
	/*
	 * Optional progress report (NULL: none): boosting families call it with
	 * (arg, 0, total) before the first round and (arg, done, total) after each.
	 */
	void		(*progress) (void *arg, int done, int total);
	void	   *progress_arg;
} ModelTrainData;

/*
 * What a predict gets.  Matrix families read X; history families (baselines)
 * read, for output row i, series[row_series[i]] with the origin at index
 * row_origin[i] (the last period known, inclusive) and forecast step
 * row_step[i] >= 1 periods after it.
 */
typedef struct ModelPredictInput
{
	int			nrows;
	int			ncols;
	const float *X;				/* nrows x ncols, or NULL for history families */
	const ModelSeries *series;
	int			nseries;
	const int32 *row_series;
	const int32 *row_origin;
	const int32 *row_step;
} ModelPredictInput;

struct ModelFamily;

typedef struct Model
{
	const struct ModelFamily *family;
	MemoryContext mcxt;			/* owns this struct and everything below */
	ModelParams params;			/* effective parameters */
	char	   *params_json;	/* as stored (XGBoost: from the model's attributes) */
	int			n_features;		/* matrix families; 0 for baselines */
	int			rounds;			/* boosting rounds kept (XGBoost) */
	int			best_iteration; /* 0-based best round, -1 when no early stopping */
	double		best_score;		/* validation RMSE at best_iteration, NaN if none */
	void	   *state;			/* family-private */
} Model;

typedef struct ModelFamily
{
	const char *name;
	ModelKind	kind;
	bool		needs_history;	/* predicts from series history, not from X */

	/* Fit: returns a Model in a new context under CurrentMemoryContext. */
	Model	   *(*fit) (const ModelTrainData *data);
	/* out[nrows]; fallback[nrows] (may be NULL) set when a row had no usable history */
	void		(*predict) (Model *model, const ModelPredictInput *in, double *out, bool *fallback);
	/* palloc'd payload bytes (what goes inside the envelope) */
	char	   *(*save) (Model *model, size_t *len);
	/* payload already verified by envelope_open; model in a new context */
	Model	   *(*load) (const char *payload, size_t len);
	/* Append ", \"key\": value" pairs describing the model (JSON object members). */
	void		(*describe) (Model *model, StringInfo buf);
} ModelFamily;

/* The registered families. */
extern const ModelFamily model_family_xgboost;
extern const ModelFamily model_family_seasonal_naive;
extern const ModelFamily model_family_moving_average;

/* Family by name; ERROR (ERRCODE_INVALID_PARAMETER_VALUE) listing valid names. */
extern const ModelFamily *model_family_lookup(const char *name);
extern const ModelFamily *model_family_by_kind(ModelKind kind);

/* A new model context under parent with the struct allocated in it. */
extern Model *model_create(const ModelFamily *family, MemoryContext parent);
extern void model_free(Model *model);

/* Validate shape and labels, check the memory budget, then family->fit. */
extern Model *model_fit(const ModelFamily *family, const ModelTrainData *data);

/* Check input shape against the model, then family->predict. */
extern void model_predict(Model *model, const ModelPredictInput *in, double *out, bool *fallback);

/* family->save wrapped in an envelope. */
extern bytea *model_save(Model *model);

/*
 * Verify the envelope and return the loaded model from the per-backend cache
 * (loading it on a miss).  The model belongs to the cache: never free it; it
 * stays valid until MODEL_CACHE_SIZE - 1 other models have been opened.
 */
#define MODEL_CACHE_SIZE 8
extern Model *model_open(bytea *envelope);

/* Cache counters, for tests and monitoring. */
extern void model_cache_stats(int64 *hits, int64 *misses, int *entries);
extern void model_cache_reset(void);

/* The model as jsonb: kind, envelope fields, library version, params, family details. */
extern Jsonb *model_describe(bytea *envelope);

/* "1.7.4" */
extern const char *model_xgboost_version(void);

#endif							/* SHELFOPS_MODEL_H */
