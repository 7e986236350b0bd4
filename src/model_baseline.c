/*
 * model_baseline.c
 *	  Owns the baseline model families, seasonal_naive and moving_average.  They
 *	  learn nothing at fit time: the model is its parameters, saved as a small
 *	  JSON payload, and each forecast is computed from the series history up to
 *	  the forecast origin (see docs/models.md for the exact definitions).
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#include "model.h"
#include "params.h"

static Model *
baseline_fit_common(const ModelFamily *family, const ModelParams *p)
{
	Model	   *m = model_create(family, CurrentMemoryContext);

	m->params = *p;
	m->params_json = MemoryContextStrdup(m->mcxt, params_to_json(p));
	return m;
}

static Model *
sn_fit(const ModelTrainData *d)
{
	return baseline_fit_common(&model_family_seasonal_naive, d->params);
}

static Model *
ma_fit(const ModelTrainData *d)
{
	return baseline_fit_common(&model_family_moving_average, d->params);
}

/*
 * Seasonal naive, origin o (last known period), step h >= 1, season s:
 * the target t = o + h takes the value of the same season position in the last
 * full season ending at o, i.e. index c = o - s + ((h - 1) mod s) + 1, which is
 * in (o - s, o].  A missing value there steps back one more season (c -= s)
 * until a value is found; none at all gives 0 with the fallback flag.
 */
static void
sn_predict(Model *m, const ModelPredictInput *in, double *out, bool *fallback)
{
	int64		s = m->params.season;

	for (int i = 0; i < in->nrows; i++)
	{
		const ModelSeries *ser = &in->series[in->row_series[i]];
		int64		o = in->row_origin[i];
		int64		h = in->row_step[i];
		int64		c = o - s + ((h - 1) % s) + 1;
		bool		found = false;

		while (c >= 0)
		{
			if (!isnan(ser->values[c]))
			{
				found = true;
				break;
			}
			c -= s;
		}
		out[i] = found ? ser->values[c] : 0.0;
		if (fallback)
			fallback[i] = !found;
	}
}

/*
 * Moving average, origin o, window w: the mean of the observed (non-missing)
 * values among periods o - w + 1 .. o, the same for every step; none observed
 * gives 0 with the fallback flag.
 */
static void
ma_predict(Model *m, const ModelPredictInput *in, double *out, bool *fallback)
{
	int64		w = m->params.window;

	for (int i = 0; i < in->nrows; i++)
	{
		const ModelSeries *ser = &in->series[in->row_series[i]];
		int64		o = in->row_origin[i];
		double		sum = 0;
		int64		n = 0;

		for (int64 c = o; c >= 0 && c > o - w; c--)
		{
			if (!isnan(ser->values[c]))
			{
				sum += ser->values[c];
				n++;
			}
		}
		out[i] = n > 0 ? sum / n : 0.0;
		if (fallback)
			fallback[i] = (n == 0);
	}
}

static char *
baseline_save(Model *m, size_t *len)
{
	char	   *json = params_to_json(&m->params);

	*len = strlen(json);
	return json;
}

static Model *
baseline_load(const ModelFamily *family, const char *payload, size_t len)
{
	Model	   *m = model_create(family, CurrentMemoryContext);
	char	   *text = pnstrdup(payload, len);
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));

	params_from_jsonb(jb, family->kind, false, &m->params);
	m->params_json = MemoryContextStrdup(m->mcxt, params_to_json(&m->params));
	return m;
}

static Model *
sn_load(const char *payload, size_t len)
{
	return baseline_load(&model_family_seasonal_naive, payload, len);
}

static Model *
ma_load(const char *payload, size_t len)
{
	return baseline_load(&model_family_moving_average, payload, len);
}

static void
baseline_describe(Model *m, StringInfo buf)
{
	appendStringInfoString(buf, ", \"library\": \"shelfops\", \"needs_history\": true");
}

const ModelFamily model_family_seasonal_naive = {
	.name = "seasonal_naive",
	.kind = MODEL_KIND_SEASONAL_NAIVE,
	.needs_history = true,
	.fit = sn_fit,
	.predict = sn_predict,
	.save = baseline_save,
	.load = sn_load,
	.describe = baseline_describe,
};

const ModelFamily model_family_moving_average = {
	.name = "moving_average",
	.kind = MODEL_KIND_MOVING_AVERAGE,
	.needs_history = true,
	.fit = ma_fit,
	.predict = ma_predict,
	.save = baseline_save,
	.load = ma_load,
	.describe = baseline_describe,
};
