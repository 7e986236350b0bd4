/*
 * gates_fuzz.c
 *	  libFuzzer harness for the pure core of the promotion gates (src/gates.c
 *	  built with -DSHELFOPS_NO_BACKEND): Python-float reading of string
 *	  metrics, confidence labels, and the 15 gates with the reason string.
 *
 * The backend walks the candidate, champion and policy jsonb objects and hands
 * each value's text to exactly these functions; the walking itself is
 * PostgreSQL's jsonb code and is not fuzzed here.  Input format:
 *
 *	  byte 0: bit 0 = database encoding UTF-8 (else SQL_ASCII-like)
 *	  then lines "<side><type><key>=<value>": side c candidate, h champion,
 *	  p policy; type n = JSON number (strtod, as numeric_to_double), s = JSON
 *	  string (gates_parse_float; for a label metric, its text).
 *
 * Checks, for any input: no crash or sanitizer report; an accepted float
 * re-parses to itself; labels are stripped, lower case, non-empty and stable;
 * the decision is self-consistent (promoted iff every gate passes and nothing
 * is missing; reason format; missing list sorted; deterministic); and with the
 * champion equal to the candidate (finite, non-negative, labels "measured")
 * every gate but overstock_dollars_gate passes.
 */
#include "postgres_fe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gates.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
metric_index(const char *key)
{
	for (int i = 0; i < GATES_N_METRICS; i++)
		if (strcmp(gates_metric_key(i), key) == 0)
			return i;
	return -1;
}

static int
threshold_index(const char *key)
{
	for (int i = 0; i < GATES_N_THRESHOLDS; i++)
		if (strcmp(gates_threshold_key(i), key) == 0)
			return i;
	return -1;
}

static void
check_float(const char *s, int len)
{
	double		d;
	double		again;
	char		buf[64];

	if (!gates_parse_float(s, len, &d))
		return;
	if (isnan(d))
		snprintf(buf, sizeof(buf), "%snan", signbit(d) ? "-" : "");
	else
		snprintf(buf, sizeof(buf), "%.17g", d);
	if (!gates_parse_float(buf, strlen(buf), &again) ||
		!(again == d || (isnan(again) && isnan(d))))
	{
		fprintf(stderr, "float %s does not re-parse\n", buf);
		abort();
	}
}

static void
check_label(const char *s, int len)
{
	char	   *label = gates_label(s, len);
	char	   *again;
	size_t		n = strlen(label);

	if (n == 0 || label[0] == ' ' || label[n - 1] == ' ')
		abort();
	for (size_t i = 0; i < n; i++)
		if (label[i] >= 'A' && label[i] <= 'Z')
			abort();
	again = gates_label(label, n);
	if (strcmp(again, label) != 0)
	{
		fprintf(stderr, "label \"%s\" is not stable (\"%s\")\n", label, again);
		abort();
	}
	pfree(again);
	pfree(label);
}

static void
check_decision(const GatesMetric *cand, const GatesMetric *champ, const double *th)
{
	GatesResult r1;
	GatesResult r2;
	bool		all = true;

	gates_decide(cand, champ, th, &r1);
	gates_decide(cand, champ, th, &r2);
	for (int i = 0; i < GATES_N_GATES; i++)
		all = all && r1.passed[i];
	if (r1.promoted != (all && r1.n_missing == 0))
		abort();
	if (r1.promoted != (strcmp(r1.reason, "passed_business_and_ds_gates") == 0))
		abort();
	if (!r1.promoted && strncmp(r1.reason, "failed_gates:", 13) != 0)
		abort();				/* something failed, so the list is not empty */
	if (r1.n_missing < 0 || r1.n_missing > GATES_N_REQUIRED)
		abort();
	for (int i = 1; i < r1.n_missing; i++)
		if (strcmp(r1.missing[i - 1], r1.missing[i]) >= 0)
			abort();
	if (r1.promoted != r2.promoted || r1.n_missing != r2.n_missing ||
		memcmp(r1.passed, r2.passed, sizeof(r1.passed)) != 0 ||
		strcmp(r1.reason, r2.reason) != 0)
		abort();
	pfree(r1.reason);
	pfree(r2.reason);
}

/* Champion = candidate: every gate but the last (overstock dollars) passes. */
static void
check_self_comparison(const GatesMetric *cand, const double *th)
{
	GatesMetric same[GATES_N_METRICS];
	GatesResult r;

	for (int i = 0; i < GATES_N_METRICS; i++)
	{
		same[i] = cand[i];
		if (gates_metric_is_label(i))
			same[i].label = "measured";
		else if (!cand[i].present || !isfinite(cand[i].value) || cand[i].value < 0)
		{
			same[i].present = true;
			same[i].value = 1.0;
		}
	}
	gates_decide(same, same, th, &r);
	for (int i = 0; i < GATES_N_GATES - 1; i++)
		if (!r.passed[i])
		{
			fprintf(stderr, "gate %s fails comparing a model with itself\n", gates_gate_key(i));
			abort();
		}
	pfree(r.reason);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GatesMetric sides[2][GATES_N_METRICS];
	double		th[GATES_N_THRESHOLDS];
	char	   *text;
	char	   *line;
	char	   *save = NULL;

	if (size < 1)
		return 0;
	gates_utf8 = (data[0] & 1) != 0;
	for (int i = 0; i < GATES_N_THRESHOLDS; i++)
		th[i] = gates_threshold_default(i);
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < GATES_N_METRICS; i++)
		{
			sides[s][i].present = gates_metric_is_label(i);
			sides[s][i].value = 0.0;
			sides[s][i].label = gates_metric_is_label(i) ? pstrdup("unavailable") : NULL;
		}

	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		char	   *eq;
		char	   *value;
		int			vlen;
		char		side;
		char		type;

		if (strlen(line) < 3 || (eq = strchr(line + 2, '=')) == NULL)
			continue;
		side = line[0];
		type = line[1];
		*eq = '\0';
		value = eq + 1;
		vlen = strlen(value);
		check_float(value, vlen);
		check_label(value, vlen);
		if (side == 'p')
		{
			int			t = threshold_index(line + 2);
			char	   *end;
			double		d = strtod(value, &end);

			/* the backend refuses anything else with an error */
			if (t >= 0 && type == 'n' && end != value && *end == '\0' && isfinite(d) && d >= 0)
				th[t] = d;
		}
		else if (side == 'c' || side == 'h')
		{
			int			m = metric_index(line + 2);
			GatesMetric *gm;

			if (m < 0)
				continue;
			gm = &sides[side == 'c' ? 0 : 1][m];
			if (gates_metric_is_label(m))
			{
				pfree(gm->label);
				gm->label = gates_label(value, vlen);
			}
			else if (type == 'n')
			{
				char	   *end;

				gm->value = strtod(value, &end);
				gm->present = end != value && *end == '\0';
			}
			else
				gm->present = gates_parse_float(value, vlen, &gm->value);
		}
	}
	free(text);

	check_decision(sides[0], sides[1], th);
	check_self_comparison(sides[0], th);

	for (int s = 0; s < 2; s++)
		for (int i = 0; i < GATES_N_METRICS; i++)
			if (sides[s][i].label)
				pfree(sides[s][i].label);
	return 0;
}
