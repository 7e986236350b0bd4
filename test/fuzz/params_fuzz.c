/*
 * params_fuzz.c
 *	  libFuzzer harness for parameter validation (src/params.c built with
 *	  -DSHELFOPS_NO_BACKEND).  The backend walks a jsonb object and hands each
 *	  key with its JSON value type and text to params_apply; this harness feeds
 *	  the same function from a line format:
 *
 *	    byte 0: algorithm (1 + byte % 3), then lines "T key=value" where T picks
 *	    the JSON type: n number, s string, b boolean, z null, a array, o object.
 *
 * For any input it checks: no crash or undefined behaviour, every rejection
 * comes with a message, and whatever is accepted lies within the documented
 * ranges (so XGBoost never receives a value we did not validate).
 */
#include "postgres_fe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ParamValueType
type_of(char c)
{
	switch (c)
	{
		case 'n':
			return PV_NUMBER;
		case 's':
			return PV_STRING;
		case 'b':
			return PV_BOOL;
		case 'z':
			return PV_NULL;
		case 'a':
			return PV_ARRAY;
		default:
			return PV_OBJECT;
	}
}

static void
check_ranges(const ModelParams *p)
{
	if (p->max_depth < 1 || p->max_depth > 20 ||
		!(p->eta > 0 && p->eta <= 1) ||
		p->n_estimators < 1 || p->n_estimators > 5000 ||
		!(p->min_child_weight >= 0) || !isfinite(p->min_child_weight) ||
		!(p->subsample > 0 && p->subsample <= 1) ||
		!(p->colsample_bytree > 0 && p->colsample_bytree <= 1) ||
		!(p->reg_lambda >= 0) || !(p->reg_alpha >= 0) || !(p->gamma >= 0) || !(p->max_delta_step >= 0) ||
		p->max_bin < 2 || p->max_bin > 1024 ||
		p->seed < 0 ||
		p->early_stopping_rounds < 0 || p->early_stopping_rounds > 1000 ||
		!(p->tweedie_variance_power > 1 && p->tweedie_variance_power < 2) ||
		p->season < 1 || p->window < 1 ||
		(strcmp(p->objective, "reg:squarederror") != 0 && strcmp(p->objective, "count:poisson") != 0 &&
		 strcmp(p->objective, "reg:tweedie") != 0) ||
		(strcmp(p->tree_method, "hist") != 0 && strcmp(p->tree_method, "approx") != 0 &&
		 strcmp(p->tree_method, "exact") != 0))
	{
		fprintf(stderr, "accepted parameters out of range\n");
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ModelParams p;
	char		msg[256];
	char		detail[640];
	char	   *text;
	char	   *line;
	char	   *save = NULL;
	bool		ok = true;

	if (size < 1)
		return 0;
	params_set_defaults(&p, (ModelKind) (1 + data[0] % 3), data[0] & 0x80);
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	for (line = strtok_r(text, "\n", &save); line && ok; line = strtok_r(NULL, "\n", &save))
	{
		char	   *eq;
		ParamsStatus st;

		if (line[0] == '\0')
			continue;
		eq = strchr(line + 1, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		st = params_apply(&p, line + 1 + (line[1] == ' '), type_of(line[0]), eq + 1,
						  msg, sizeof(msg), detail, sizeof(detail));
		if (st != PARAMS_OK)
		{
			if (msg[0] == '\0')
				abort();
			ok = false;
		}
	}
	if (ok)
	{
		if (params_finish(&p, msg, sizeof(msg), detail, sizeof(detail)) == PARAMS_OK)
		{
			ParamSetting settings[PARAMS_MAX_SETTINGS];
			int			n;

			check_ranges(&p);
			n = params_xgboost_settings(&p, 1, true, settings);
			if (n < 1 || n > PARAMS_MAX_SETTINGS || strcmp(settings[n - 1].name, "validate_parameters") != 0)
				abort();
		}
		else if (msg[0] == '\0')
			abort();
	}
	free(text);
	return 0;
}
