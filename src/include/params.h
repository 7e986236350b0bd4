/*
 * params.h
 *	  Model parameters: the validated struct, parsing from jsonb (backend) or from
 *	  key/typed-text pairs (pure, for the fuzzer), the effective parameters as
 *	  jsonb, and the name/value strings handed to XGBoosterSetParam.
 */
#ifndef SHELFOPS_PARAMS_H
#define SHELFOPS_PARAMS_H

#ifdef SHELFOPS_NO_BACKEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#include "utils/jsonb.h"
#endif

#include "envelope.h"			/* ModelKind */

/* Type of a JSON value handed to params_apply. */
typedef enum ParamValueType
{
	PV_NUMBER,
	PV_STRING,
	PV_BOOL,
	PV_NULL,
	PV_ARRAY,
	PV_OBJECT
} ParamValueType;

typedef enum ParamsStatus
{
	PARAMS_OK = 0,
	PARAMS_UNKNOWN_KEY,			/* no algorithm knows the key */
	PARAMS_NOT_FOR_FAMILY,		/* a real key, of another algorithm */
	PARAMS_WRONG_TYPE,
	PARAMS_OUT_OF_RANGE,
	PARAMS_DUPLICATE,			/* key given twice, e.g. eta and learning_rate */
	PARAMS_INCONSISTENT			/* keys that contradict each other */
} ParamsStatus;

#define PARAMS_OBJECTIVE_LEN 24
#define PARAMS_TREE_METHOD_LEN 12

typedef struct ModelParams
{
	ModelKind	family;
	uint64		given;			/* bit i set: spec i was given explicitly */
	/* xgboost */
	char		objective[PARAMS_OBJECTIVE_LEN];
	double		tweedie_variance_power;
	int			max_depth;
	double		eta;
	int			n_estimators;
	double		min_child_weight;
	double		subsample;
	double		colsample_bytree;
	double		reg_lambda;
	double		reg_alpha;
	double		gamma;
	int			max_bin;
	char		tree_method[PARAMS_TREE_METHOD_LEN];
	int			seed;
	int			early_stopping_rounds;
	double		max_delta_step;
	/* baselines */
	int			season;
	int			window;
} ModelParams;

/* One name/value pair for XGBoosterSetParam. */
typedef struct ParamSetting
{
	const char *name;
	char		value[48];
} ParamSetting;

#define PARAMS_MAX_SETTINGS 24

/* Defaults of family; weekly selects weekly baselines (season 52, window 8). */
extern void params_set_defaults(ModelParams *p, ModelKind family, bool weekly);

/*
 * Apply one key.  text is the value's JSON text for numbers and strings (no
 * quotes), "true"/"false" for booleans, anything for the rest.  On failure msg
 * names the key and value and detail says what is allowed.
 */
extern ParamsStatus params_apply(ModelParams *p, const char *key, ParamValueType type,
								 const char *text, char *msg, size_t msglen,
								 char *detail, size_t detaillen);

/* Cross-key checks after all keys are applied. */
extern ParamsStatus params_finish(ModelParams *p, char *msg, size_t msglen,
								  char *detail, size_t detaillen);

/*
 * Fill out[] with what XGBoost gets (always validate_parameters=1, verbosity=0,
 * nthread; eval_metric=rmse when with_eval).  Returns the count.
 */
extern int	params_xgboost_settings(const ModelParams *p, int nthread, bool with_eval,
									ParamSetting *out);

/* What a key of family takes (tuning: ranges of numbers, choices of strings). */
typedef enum ParamKeyKind
{
	PARAM_KEY_UNKNOWN = 0,		/* no such key for the family */
	PARAM_KEY_INT,
	PARAM_KEY_REAL,
	PARAM_KEY_CHOICE			/* one of a list of strings */
} ParamKeyKind;

/* The kind of key for family; *canonical (if not NULL) gets its canonical name. */
extern ParamKeyKind params_key_kind(ModelKind family, const char *key, const char **canonical);

/* Comma-separated names accepted for family (static buffer-free: writes buf). */
extern void params_allowed_keys(ModelKind family, char *buf, size_t buflen);

#ifndef SHELFOPS_NO_BACKEND
/* Parse jsonb (NULL = defaults) into p; ERRCODE_INVALID_PARAMETER_VALUE on error. */
extern void params_from_jsonb(Jsonb *jb, ModelKind family, bool weekly, ModelParams *p);

/* The effective, fully resolved parameters of the family, as JSON text / jsonb. */
extern char *params_to_json(const ModelParams *p);
extern Jsonb *params_to_jsonb(const ModelParams *p);
#endif

#endif							/* SHELFOPS_PARAMS_H */
