/*
 * params.c
 *	  Owns model parameters: the allowed keys of every algorithm with their types,
 *	  ranges and defaults; validation; the effective parameters stored with a
 *	  model; and the name/value pairs XGBoost receives.
 *
 * Validation is table-driven and pure (params_apply/params_finish take a key, a
 * JSON value type and its text), so the fuzzer drives exactly the code the
 * backend runs; params_from_jsonb only walks the jsonb and reports errors.
 */
#ifdef SHELFOPS_NO_BACKEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#endif

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

typedef enum ParamType
{
	PT_INT,
	PT_REAL,
	PT_ENUM
} ParamType;

#define FAM_XGB  (1u << MODEL_KIND_XGBOOST)
#define FAM_SN   (1u << MODEL_KIND_SEASONAL_NAIVE)
#define FAM_MA   (1u << MODEL_KIND_MOVING_AVERAGE)

typedef struct ParamSpec
{
	const char *name;			/* canonical name, stored with the model */
	const char *alias;			/* accepted synonym or NULL */
	ParamType	type;
	double		lo;
	double		hi;				/* HUGE_VAL: no upper bound */
	bool		lo_open;		/* lo itself excluded */
	bool		hi_open;
	const char *const *choices; /* PT_ENUM */
	size_t		offset;			/* into ModelParams */
	size_t		size;			/* PT_ENUM buffer size */
	unsigned	families;
	const char *xgb_name;		/* XGBoosterSetParam name, NULL: not passed */
} ParamSpec;

static const char *const objectives[] = {"reg:squarederror", "count:poisson", "reg:tweedie", NULL};
static const char *const tree_methods[] = {"hist", "approx", "exact", NULL};

#define OFF(f) offsetof(ModelParams, f)
#define INF HUGE_VAL

static const ParamSpec specs[] = {
	{"objective", NULL, PT_ENUM, 0, 0, false, false, objectives, OFF(objective), PARAMS_OBJECTIVE_LEN, FAM_XGB, "objective"},
	{"tweedie_variance_power", NULL, PT_REAL, 1, 2, true, true, NULL, OFF(tweedie_variance_power), 0, FAM_XGB, "tweedie_variance_power"},
	{"max_depth", NULL, PT_INT, 1, 20, false, false, NULL, OFF(max_depth), 0, FAM_XGB, "max_depth"},
	{"eta", "learning_rate", PT_REAL, 0, 1, true, false, NULL, OFF(eta), 0, FAM_XGB, "eta"},
	{"n_estimators", "num_boost_round", PT_INT, 1, 5000, false, false, NULL, OFF(n_estimators), 0, FAM_XGB, NULL},
	{"min_child_weight", NULL, PT_REAL, 0, INF, false, false, NULL, OFF(min_child_weight), 0, FAM_XGB, "min_child_weight"},
	{"subsample", NULL, PT_REAL, 0, 1, true, false, NULL, OFF(subsample), 0, FAM_XGB, "subsample"},
	{"colsample_bytree", NULL, PT_REAL, 0, 1, true, false, NULL, OFF(colsample_bytree), 0, FAM_XGB, "colsample_bytree"},
	{"lambda", "reg_lambda", PT_REAL, 0, INF, false, false, NULL, OFF(reg_lambda), 0, FAM_XGB, "lambda"},
	{"alpha", "reg_alpha", PT_REAL, 0, INF, false, false, NULL, OFF(reg_alpha), 0, FAM_XGB, "alpha"},
	{"gamma", NULL, PT_REAL, 0, INF, false, false, NULL, OFF(gamma), 0, FAM_XGB, "gamma"},
	{"max_bin", NULL, PT_INT, 2, 1024, false, false, NULL, OFF(max_bin), 0, FAM_XGB, "max_bin"},
	{"tree_method", NULL, PT_ENUM, 0, 0, false, false, tree_methods, OFF(tree_method), PARAMS_TREE_METHOD_LEN, FAM_XGB, "tree_method"},
	{"seed", NULL, PT_INT, 0, 2147483647.0, false, false, NULL, OFF(seed), 0, FAM_XGB, "seed"},
	{"early_stopping_rounds", NULL, PT_INT, 0, 1000, false, false, NULL, OFF(early_stopping_rounds), 0, FAM_XGB, NULL},
	{"max_delta_step", NULL, PT_REAL, 0, INF, false, false, NULL, OFF(max_delta_step), 0, FAM_XGB, "max_delta_step"},
	{"season", "period", PT_INT, 1, 2147483647.0, false, false, NULL, OFF(season), 0, FAM_SN, NULL},
	{"window", NULL, PT_INT, 1, 2147483647.0, false, false, NULL, OFF(window), 0, FAM_MA, NULL},
};

#define NSPECS ((int) (sizeof(specs) / sizeof(specs[0])))

static const char *
family_name(ModelKind f)
{
	const char *n = envelope_kind_name(f);

	return n ? n : "unknown";
}

void
params_set_defaults(ModelParams *p, ModelKind family, bool weekly)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	strcpy(p->objective, "reg:squarederror");
	p->tweedie_variance_power = 1.2;
	p->max_depth = 8;
	p->eta = 0.05;
	p->n_estimators = 300;
	p->min_child_weight = 1.0;
	p->subsample = 0.8;
	p->colsample_bytree = 0.8;
	p->reg_lambda = 1.0;
	p->reg_alpha = 0.0;
	p->gamma = 0.0;
	p->max_bin = 256;
	strcpy(p->tree_method, "hist");
	p->seed = 42;
	p->early_stopping_rounds = 0;
	p->max_delta_step = 0.0;
	p->season = weekly ? 52 : 7;
	p->window = weekly ? 8 : 28;
}

ParamKeyKind
params_key_kind(ModelKind family, const char *key, const char **canonical)
{
	for (int i = 0; i < NSPECS; i++)
	{
		if (strcmp(key, specs[i].name) != 0 &&
			!(specs[i].alias && strcmp(key, specs[i].alias) == 0))
			continue;
		if (!(specs[i].families & (1u << family)))
			return PARAM_KEY_UNKNOWN;
		if (canonical)
			*canonical = specs[i].name;
		return specs[i].type == PT_INT ? PARAM_KEY_INT :
			specs[i].type == PT_REAL ? PARAM_KEY_REAL : PARAM_KEY_CHOICE;
	}
	return PARAM_KEY_UNKNOWN;
}

void
params_allowed_keys(ModelKind family, char *buf, size_t buflen)
{
	size_t		used = 0;

	if (buflen == 0)
		return;
	buf[0] = '\0';
	for (int i = 0; i < NSPECS; i++)
	{
		int			n;

		if (!(specs[i].families & (1u << family)))
			continue;
		n = snprintf(buf + used, buflen - used, "%s%s%s%s%s",
					 used ? ", " : "", specs[i].name,
					 specs[i].alias ? " (or " : "",
					 specs[i].alias ? specs[i].alias : "",
					 specs[i].alias ? ")" : "");
		if (n < 0 || (size_t) n >= buflen - used)
			break;
		used += n;
	}
}

/* "max_depth must be an integer from 1 to 20." and the like. */
static void
describe_spec(const ParamSpec *s, char *buf, size_t buflen)
{
	if (s->type == PT_ENUM)
	{
		size_t		used;

		used = snprintf(buf, buflen, "%s must be one of:", s->name);
		for (int i = 0; s->choices[i] && used < buflen; i++)
			used += snprintf(buf + used, buflen - used, " %s%s", s->choices[i],
							 s->choices[i + 1] ? "," : ".");
		return;
	}
	if (s->hi == INF)
		snprintf(buf, buflen, "%s must be %s %s %g.", s->name,
				 s->type == PT_INT ? "an integer" : "a number",
				 s->lo_open ? "greater than" : "of at least", s->lo);
	else if (s->type == PT_INT)
		snprintf(buf, buflen, "%s must be an integer from %.0f to %.0f.", s->name, s->lo, s->hi);
	else
		snprintf(buf, buflen, "%s must be a number %s %g and %s %g.", s->name,
				 s->lo_open ? "greater than" : "from", s->lo,
				 s->hi_open ? "less than" : (s->lo_open ? "at most" : "to"), s->hi);
}

static const char *
type_word(ParamValueType t)
{
	switch (t)
	{
		case PV_NUMBER:
			return "a number";
		case PV_STRING:
			return "a string";
		case PV_BOOL:
			return "a boolean";
		case PV_NULL:
			return "null";
		case PV_ARRAY:
			return "an array";
		case PV_OBJECT:
			return "an object";
	}
	return "an unknown type";
}

/* Quote at most 60 characters of a value for a message. */
static void
show_value(ParamValueType t, const char *text, char *buf, size_t buflen)
{
	if (t == PV_STRING)
		snprintf(buf, buflen, "\"%.60s%s\"", text ? text : "", (text && strlen(text) > 60) ? "..." : "");
	else if (t == PV_NUMBER || t == PV_BOOL)
		snprintf(buf, buflen, "%.60s%s", text ? text : "", (text && strlen(text) > 60) ? "..." : "");
	else if (t == PV_NULL)
		snprintf(buf, buflen, "null");
	else
		snprintf(buf, buflen, "%s", t == PV_ARRAY ? "[...]" : "{...}");
}

ParamsStatus
params_apply(ModelParams *p, const char *key, ParamValueType type, const char *text,
			 char *msg, size_t msglen, char *detail, size_t detaillen)
{
	const ParamSpec *s = NULL;
	int			idx = -1;
	char		shown[80];
	char		allowed[512];

	msg[0] = '\0';
	detail[0] = '\0';
	if (key == NULL)
		key = "";
	for (int i = 0; i < NSPECS; i++)
	{
		if (strcmp(key, specs[i].name) == 0 ||
			(specs[i].alias && strcmp(key, specs[i].alias) == 0))
		{
			s = &specs[i];
			idx = i;
			break;
		}
	}
	params_allowed_keys(p->family, allowed, sizeof(allowed));
	if (s == NULL)
	{
		snprintf(msg, msglen, "unknown parameter \"%.64s\"", key);
		snprintf(detail, detaillen, "Parameters of %s: %s.", family_name(p->family), allowed);
		return PARAMS_UNKNOWN_KEY;
	}
	if (!(s->families & (1u << p->family)))
	{
		snprintf(msg, msglen, "parameter \"%s\" does not apply to algorithm %s", key, family_name(p->family));
		snprintf(detail, detaillen, "Parameters of %s: %s.", family_name(p->family), allowed);
		return PARAMS_NOT_FOR_FAMILY;
	}
	if (p->given & ((uint64) 1 << idx))
	{
		snprintf(msg, msglen, "parameter \"%s\" is given twice", key);
		if (s->alias)
			snprintf(detail, detaillen, "%s and %s are the same parameter.", s->name, s->alias);
		return PARAMS_DUPLICATE;
	}

	show_value(type, text, shown, sizeof(shown));
	if (s->type == PT_ENUM)
	{
		if (type != PV_STRING)
		{
			snprintf(msg, msglen, "parameter \"%s\" must be a string, not %s: %s", key, type_word(type), shown);
			describe_spec(s, detail, detaillen);
			return PARAMS_WRONG_TYPE;
		}
		for (int i = 0; s->choices[i]; i++)
		{
			if (text && strcmp(text, s->choices[i]) == 0)
			{
				char	   *dst = (char *) p + s->offset;

				strncpy(dst, s->choices[i], s->size - 1);
				dst[s->size - 1] = '\0';
				p->given |= (uint64) 1 << idx;
				return PARAMS_OK;
			}
		}
		snprintf(msg, msglen, "invalid value for parameter \"%s\": %s", key, shown);
		describe_spec(s, detail, detaillen);
		return PARAMS_OUT_OF_RANGE;
	}
	else
	{
		double		v;
		char	   *end;

		if (type != PV_NUMBER)
		{
			snprintf(msg, msglen, "parameter \"%s\" must be a number, not %s: %s", key, type_word(type), shown);
			describe_spec(s, detail, detaillen);
			return PARAMS_WRONG_TYPE;
		}
		if (text == NULL || text[0] == '\0')
		{
			snprintf(msg, msglen, "parameter \"%s\" has an empty number", key);
			describe_spec(s, detail, detaillen);
			return PARAMS_WRONG_TYPE;
		}
		errno = 0;
		v = strtod(text, &end);
		if (*end != '\0' || isnan(v) || isinf(v) ||
			(s->type == PT_INT && v != floor(v)) ||
			v < s->lo || (s->lo_open && v == s->lo) ||
			(s->hi != INF && (v > s->hi || (s->hi_open && v == s->hi))))
		{
			snprintf(msg, msglen, "invalid value for parameter \"%s\": %s", key, shown);
			describe_spec(s, detail, detaillen);
			return PARAMS_OUT_OF_RANGE;
		}
		if (s->type == PT_INT)
			*(int *) ((char *) p + s->offset) = (int) v;
		else
			*(double *) ((char *) p + s->offset) = v;
		p->given |= (uint64) 1 << idx;
		return PARAMS_OK;
	}
}

ParamsStatus
params_finish(ModelParams *p, char *msg, size_t msglen, char *detail, size_t detaillen)
{
	msg[0] = '\0';
	detail[0] = '\0';
	/* tweedie_variance_power is spec 1 */
	if ((p->given & ((uint64) 1 << 1)) && strcmp(p->objective, "reg:tweedie") != 0)
	{
		snprintf(msg, msglen, "parameter \"tweedie_variance_power\" needs objective \"reg:tweedie\", not \"%s\"",
				 p->objective);
		return PARAMS_INCONSISTENT;
	}
	return PARAMS_OK;
}

/* Shortest of %.15g / %.17g that reads back as v. */
static void
format_real(double v, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, buflen, "%.17g", v);
}

int
params_xgboost_settings(const ModelParams *p, int nthread, bool with_eval, ParamSetting *out)
{
	int			n = 0;

	for (int i = 0; i < NSPECS; i++)
	{
		const ParamSpec *s = &specs[i];

		if (s->xgb_name == NULL || !(s->families & FAM_XGB))
			continue;
		if (strcmp(s->name, "tweedie_variance_power") == 0 && strcmp(p->objective, "reg:tweedie") != 0)
			continue;
		out[n].name = s->xgb_name;
		if (s->type == PT_ENUM)
			snprintf(out[n].value, sizeof(out[n].value), "%s", (const char *) p + s->offset);
		else if (s->type == PT_INT)
			snprintf(out[n].value, sizeof(out[n].value), "%d", *(const int *) ((const char *) p + s->offset));
		else
			format_real(*(const double *) ((const char *) p + s->offset), out[n].value, sizeof(out[n].value));
		n++;
	}
	out[n].name = "nthread";
	snprintf(out[n++].value, sizeof(out[0].value), "%d", nthread);
	out[n].name = "verbosity";
	snprintf(out[n++].value, sizeof(out[0].value), "0");
	if (with_eval)
	{
		out[n].name = "eval_metric";
		snprintf(out[n++].value, sizeof(out[0].value), "rmse");
	}
	/* last, so that XGBoost validates everything set before */
	out[n].name = "validate_parameters";
	snprintf(out[n++].value, sizeof(out[0].value), "1");
	return n;
}

#ifndef SHELFOPS_NO_BACKEND

static void
raise_params_error(ParamsStatus st, const char *msg, const char *detail)
{
	if (st == PARAMS_OK)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_internal("%s", msg),
			 detail[0] ? errdetail_internal("%s", detail) : 0));
}

void
params_from_jsonb(Jsonb *jb, ModelKind family, bool weekly, ModelParams *p)
{
	char		msg[256];
	char		detail[640];
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	params_set_defaults(p, family, weekly);
	if (jb != NULL)
	{
		if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model parameters must be a JSON object")));

		it = JsonbIteratorInit(&jb->root);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			ParamValueType t;
			char	   *text = NULL;

			if (tok == WJB_KEY)
			{
				key = pnstrdup(v.val.string.val, v.val.string.len);
				continue;
			}
			if (tok != WJB_VALUE)
				continue;
			switch (v.type)
			{
				case jbvNumeric:
					t = PV_NUMBER;
					text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
					break;
				case jbvString:
					t = PV_STRING;
					text = pnstrdup(v.val.string.val, v.val.string.len);
					break;
				case jbvBool:
					t = PV_BOOL;
					text = v.val.boolean ? "true" : "false";
					break;
				case jbvNull:
					t = PV_NULL;
					break;
				case jbvBinary:
					t = JsonContainerIsArray(v.val.binary.data) ? PV_ARRAY : PV_OBJECT;
					break;
				default:
					t = PV_OBJECT;
					break;
			}
			raise_params_error(params_apply(p, key, t, text, msg, sizeof(msg), detail, sizeof(detail)),
							   msg, detail);
		}
	}
	raise_params_error(params_finish(p, msg, sizeof(msg), detail, sizeof(detail)), msg, detail);
}

char *
params_to_json(const ModelParams *p)
{
	StringInfoData buf;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < NSPECS; i++)
	{
		const ParamSpec *s = &specs[i];
		char		num[48];

		if (!(s->families & (1u << p->family)))
			continue;
		if (strcmp(s->name, "tweedie_variance_power") == 0 && strcmp(p->objective, "reg:tweedie") != 0)
			continue;
		appendStringInfo(&buf, "%s\"%s\": ", first ? "" : ", ", s->name);
		first = false;
		if (s->type == PT_ENUM)
			appendStringInfo(&buf, "\"%s\"", (const char *) p + s->offset);
		else if (s->type == PT_INT)
			appendStringInfo(&buf, "%d", *(const int *) ((const char *) p + s->offset));
		else
		{
			format_real(*(const double *) ((const char *) p + s->offset), num, sizeof(num));
			appendStringInfoString(&buf, num);
		}
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

Jsonb *
params_to_jsonb(const ModelParams *p)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(params_to_json(p))));
}

#endif							/* !SHELFOPS_NO_BACKEND */
