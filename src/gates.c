/*
 * gates.c
 *	  The reference promotion gates (reference section 5.2) as a pure function:
 *	  the C API of gates.h and the SQL function shelfops_evaluate_gates().
 *
 * The gates are data.  metric_defs[] lists the 15 metrics of the decision
 * document, threshold_defs[] the 12 policy keys with their reference defaults,
 * gate_defs[] each gate's key, comparison, metric, threshold and behaviour on
 * missing inputs; one loop evaluates gate_defs[].  A new gate is one line.
 *
 * Metric values are read the way the reference reads them (Python float() on
 * the value; booleans, objects, arrays and unparseable strings are missing) and
 * confidence labels are trimmed and lower-cased, blank or null = "unavailable".
 * docs/gates.md lists every rule and the few deliberate differences.
 *
 * Compiled with -DSHELFOPS_NO_BACKEND only the pure part remains: the tables,
 * reading a value's text as Python does (gates_parse_float, gates_label), the
 * gates themselves (gates_decide) and the reason string.  test/fuzz/gates_fuzz.c
 * drives that part; the jsonb walking around it is PostgreSQL's code.
 */
#ifdef SHELFOPS_NO_BACKEND
#include "postgres_fe.h"

#include <math.h>
#include <string.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#else
#include "postgres.h"

#include <math.h>
#include <string.h>

#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#endif

#include "gates.h"

/* ------------------------------------------------------------------------
 * The tables
 * ------------------------------------------------------------------------
 */

/* Metrics of the decision document, in reference order. */
typedef enum GateMetric
{
	GM_MAE,
	GM_MAPE,
	GM_WAPE,
	GM_MASE,
	GM_BIAS_PCT,
	GM_COVERAGE,
	GM_STOCKOUT_MISS_RATE,
	GM_OVERSTOCK_RATE,
	GM_LOST_SALES_QTY,
	GM_OC_STOCKOUT,
	GM_OC_STOCKOUT_CONF,
	GM_OC_OVERSTOCK,
	GM_OC_OVERSTOCK_CONF,
	GM_OVERSTOCK_DOLLARS,
	GM_OVERSTOCK_DOLLARS_CONF,
	GM_COUNT
} GateMetric;

typedef struct MetricDef
{
	const char *key;
	const char *alias;			/* read when key is absent, or NULL */
	bool		is_label;		/* a confidence label, not a number */
	const char *candidate_name; /* required input: its name per side, else NULL */
	const char *champion_name;
} MetricDef;

#define REQUIRED(k)	"candidate." k, "champion." k

static const MetricDef metric_defs[GM_COUNT] = {
	[GM_MAE] = {"mae", NULL, false, REQUIRED("mae")},
	[GM_MAPE] = {"mape", "mape_nonzero", false, REQUIRED("mape")},
	[GM_WAPE] = {"wape", NULL, false, NULL, NULL},
	[GM_MASE] = {"mase", NULL, false, NULL, NULL},
	[GM_BIAS_PCT] = {"bias_pct", NULL, false, NULL, NULL},
	[GM_COVERAGE] = {"coverage", NULL, false, REQUIRED("coverage")},
	[GM_STOCKOUT_MISS_RATE] = {"stockout_miss_rate", NULL, false, REQUIRED("stockout_miss_rate")},
	[GM_OVERSTOCK_RATE] = {"overstock_rate", NULL, false, REQUIRED("overstock_rate")},
	[GM_LOST_SALES_QTY] = {"lost_sales_qty", NULL, false, REQUIRED("lost_sales_qty")},
	[GM_OC_STOCKOUT] = {"opportunity_cost_stockout", NULL, false,
	REQUIRED("opportunity_cost_stockout")},
	[GM_OC_STOCKOUT_CONF] = {"opportunity_cost_stockout_confidence", NULL, true, NULL, NULL},
	[GM_OC_OVERSTOCK] = {"opportunity_cost_overstock", NULL, false,
	REQUIRED("opportunity_cost_overstock")},
	[GM_OC_OVERSTOCK_CONF] = {"opportunity_cost_overstock_confidence", NULL, true, NULL, NULL},
	[GM_OVERSTOCK_DOLLARS] = {"overstock_dollars", NULL, false, REQUIRED("overstock_dollars")},
	[GM_OVERSTOCK_DOLLARS_CONF] = {"overstock_dollars_confidence", NULL, true, NULL, NULL},
};

/* Policy keys: the threshold columns of shelfops.gate_policy. */
typedef enum GateThreshold
{
	GT_NONE = -1,
	GT_MAE,
	GT_MAPE,
	GT_WAPE,
	GT_MASE,
	GT_BIAS,
	GT_STOCKOUT_MISS,
	GT_OVERSTOCK_RATE,
	GT_LOST_SALES_QTY,
	GT_OC_STOCKOUT,
	GT_OC_OVERSTOCK,
	GT_OD_IMPROVEMENT,
	GT_OD_TOLERANCE,
	GT_COUNT
} GateThreshold;

typedef struct ThresholdDef
{
	const char *key;
	double		value;			/* reference default */
	const char *text;			/* the default as the reference records it */
} ThresholdDef;

static const ThresholdDef threshold_defs[GT_COUNT] = {
	[GT_MAE] = {"max_mae_regression_pct", 2.0, "2.0"},
	[GT_MAPE] = {"max_mape_regression_pct", 2.0, "2.0"},
	[GT_WAPE] = {"max_wape_regression_pct", 2.0, "2.0"},
	[GT_MASE] = {"max_mase_regression_pct", 2.0, "2.0"},
	[GT_BIAS] = {"max_bias_abs_regression_pp", 1.0, "1.0"},
	[GT_STOCKOUT_MISS] = {"max_stockout_miss_pp", 0.5, "0.5"},
	[GT_OVERSTOCK_RATE] = {"max_overstock_rate_pp", 0.5, "0.5"},
	[GT_LOST_SALES_QTY] = {"max_lost_sales_qty_regression_pct", 0.5, "0.5"},
	[GT_OC_STOCKOUT] = {"max_stockout_opportunity_cost_regression_pct", 0.5, "0.5"},
	[GT_OC_OVERSTOCK] = {"max_overstock_opportunity_cost_regression_pct", 0.5, "0.5"},
	[GT_OD_IMPROVEMENT] = {"overstock_dollars_improvement_pct", 1.0, "1.0"},
	[GT_OD_TOLERANCE] = {"overstock_dollars_tolerance_pct", 0.5, "0.5"},
};

/*
 * Comparisons.  c = candidate value, ch = champion value, t = threshold
 * (percent for *_pct keys, percentage points for *_pp keys).
 */
typedef enum GateKind
{
	GK_RELATIVE,				/* R(c, ch, t): ch = 0 ? c <= 0 : c <= ch * (1 + t/100) */
	GK_ABS_PLUS_PP,				/* |c| <= |ch| + t/100 */
	GK_PLUS_PP,					/* c <= ch + t/100 */
	GK_NOT_LOWER,				/* c >= ch */
	GK_CONFIDENCE,				/* both labels of metric in {measured, estimated} */
	GK_IMPROVE_OR_TRADE			/* c <= ch * (1 - t/100), or c <= ch * (1 + t2/100)
								 * and both tradeoff values present, candidate's
								 * strictly lower */
} GateKind;

typedef struct GateDef
{
	const char *key;
	GateKind	kind;
	GateMetric	metric;
	GateThreshold threshold;
	bool		pass_if_missing;	/* result when c or ch is missing */
	int			confidence;		/* label metric that must also pass, or -1 */
	GateThreshold threshold2;	/* GK_IMPROVE_OR_TRADE: tolerance */
	int			tradeoff;		/* GK_IMPROVE_OR_TRADE: metric that must improve */
} GateDef;

#define FAIL	false
#define PASS	true

static const GateDef gate_defs[GATES_N_GATES] = {
	{"mae_gate", GK_RELATIVE, GM_MAE, GT_MAE, FAIL, -1, GT_NONE, -1},
	{"mape_gate", GK_RELATIVE, GM_MAPE, GT_MAPE, FAIL, -1, GT_NONE, -1},
	{"wape_gate", GK_RELATIVE, GM_WAPE, GT_WAPE, PASS, -1, GT_NONE, -1},
	{"mase_gate", GK_RELATIVE, GM_MASE, GT_MASE, PASS, -1, GT_NONE, -1},
	{"bias_gate", GK_ABS_PLUS_PP, GM_BIAS_PCT, GT_BIAS, PASS, -1, GT_NONE, -1},
	{"coverage_gate", GK_NOT_LOWER, GM_COVERAGE, GT_NONE, FAIL, -1, GT_NONE, -1},
	{"stockout_miss_gate", GK_PLUS_PP, GM_STOCKOUT_MISS_RATE, GT_STOCKOUT_MISS, FAIL, -1, GT_NONE, -1},
	{"overstock_rate_gate", GK_PLUS_PP, GM_OVERSTOCK_RATE, GT_OVERSTOCK_RATE, FAIL, -1, GT_NONE, -1},
	{"lost_sales_qty_gate", GK_RELATIVE, GM_LOST_SALES_QTY, GT_LOST_SALES_QTY, FAIL, -1, GT_NONE, -1},
	{"opportunity_cost_stockout_confidence_gate", GK_CONFIDENCE, GM_OC_STOCKOUT_CONF, GT_NONE, FAIL, -1, GT_NONE, -1},
	{"opportunity_cost_stockout_gate", GK_RELATIVE, GM_OC_STOCKOUT, GT_OC_STOCKOUT, FAIL,
	GM_OC_STOCKOUT_CONF, GT_NONE, -1},
	{"opportunity_cost_overstock_confidence_gate", GK_CONFIDENCE, GM_OC_OVERSTOCK_CONF, GT_NONE, FAIL, -1, GT_NONE, -1},
	{"opportunity_cost_overstock_gate", GK_RELATIVE, GM_OC_OVERSTOCK, GT_OC_OVERSTOCK, FAIL,
	GM_OC_OVERSTOCK_CONF, GT_NONE, -1},
	{"overstock_dollars_confidence_gate", GK_CONFIDENCE, GM_OVERSTOCK_DOLLARS_CONF, GT_NONE, FAIL, -1, GT_NONE, -1},
	{"overstock_dollars_gate", GK_IMPROVE_OR_TRADE, GM_OVERSTOCK_DOLLARS, GT_OD_IMPROVEMENT, FAIL,
	GM_OVERSTOCK_DOLLARS_CONF, GT_OD_TOLERANCE, GM_OC_STOCKOUT},
};

StaticAssertDecl(GT_COUNT == GATES_N_THRESHOLDS, "threshold table and gates.h disagree");
StaticAssertDecl(GM_COUNT == GATES_N_METRICS, "metric table and gates.h disagree");

/* One metric as read from one side (gates.h). */
typedef GatesMetric MetricRead;

#ifndef SHELFOPS_NO_BACKEND
typedef struct Thresholds
{
	double		value[GT_COUNT];
	Numeric		shown[GT_COUNT];	/* as recorded in the document */
} Thresholds;

static bool
database_is_utf8(void)
{
	return GetDatabaseEncoding() == PG_UTF8;
}
#else
bool		gates_utf8 = true;

static bool
database_is_utf8(void)
{
	return gates_utf8;
}
#endif

/* ------------------------------------------------------------------------
 * Reading values as the reference does (Python float() and str())
 * ------------------------------------------------------------------------
 */

/*
 * Byte length of the whitespace character at s (Python's str.isspace set:
 * ASCII \t\n\v\f\r, \x1c-\x1f, space; in UTF-8 databases also U+0085, U+00A0,
 * U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), else 0.
 */
static int
space_len(const char *s, int len)
{
	unsigned char c = (unsigned char) s[0];
	int			l;
	pg_wchar	cp;

	if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f))
		return 1;
	if (c < 0x80 || !database_is_utf8())
		return 0;
	l = pg_utf_mblen((const unsigned char *) s);
	if (l > len || !pg_utf8_islegal((const unsigned char *) s, l))
		return 0;
	cp = utf8_to_unicode((const unsigned char *) s);
	if (cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
		cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000)
		return l;
	return 0;
}

/* Byte length of the character at s (1 outside UTF-8). */
static int
char_len(const char *s, int len)
{
	int			l;

	if ((unsigned char) s[0] < 0x80 || !database_is_utf8())
		return 1;
	l = pg_utf_mblen((const unsigned char *) s);
	/* invalid sequences (not in a jsonb string, but be safe) are single bytes */
	if (l < 1 || l > len || !pg_utf8_islegal((const unsigned char *) s, l))
		return 1;
	return l;
}

/* Python's str.strip(): sets *start and *slen to the stripped part of s. */
static void
strip_spaces(const char *s, int len, const char **start, int *slen)
{
	int			i = 0;
	int			l;
	int			last_end;

	while (i < len && (l = space_len(s + i, len - i)) > 0)
		i += l;
	last_end = i;
	*start = s + i;
	while (i < len)
	{
		l = space_len(s + i, len - i);
		if (l > 0)
			i += l;
		else
		{
			i += char_len(s + i, len - i);
			last_end = i;
		}
	}
	*slen = last_end - (int) (*start - s);
}

/*
 * Copy a Python digitpart (digit (["_"] digit)*) at *pp to *bp without its
 * underscores.  Returns the number of digits; a misplaced underscore is left
 * unconsumed (the caller then fails on it).
 */
static int
copy_digits(const char **pp, const char *end, char **bp)
{
	const char *p = *pp;
	int			n = 0;

	while (p < end)
	{
		if (*p >= '0' && *p <= '9')
		{
			*(*bp)++ = *p++;
			n++;
		}
		else if (*p == '_' && n > 0 && p + 1 < end && p[1] >= '0' && p[1] <= '9')
			p++;
		else
			break;
	}
	*pp = p;
	return n;
}

/*
 * Python float() of a string: surrounding whitespace, a sign, then "inf",
 * "infinity" or "nan" (any case) or a decimal literal with optional fraction,
 * exponent and underscores between digits.  Returns false when it does not
 * parse.  Overflow gives +-Infinity and underflow 0, as in Python.
 */
bool
gates_parse_float(const char *s, int len, double *out)
{
	const char *p;
	const char *end;
	int			n;
	char	   *buf;
	char	   *b;
	bool		negative = false;
	int			digits;

	strip_spaces(s, len, &p, &n);
	end = p + n;
	buf = b = palloc(n + 2);
	if (p < end && (*p == '+' || *p == '-'))
	{
		negative = (*p == '-');
		*b++ = *p++;
	}
	n = end - p;
	if ((n == 3 && pg_strncasecmp(p, "inf", 3) == 0) ||
		(n == 8 && pg_strncasecmp(p, "infinity", 8) == 0))
	{
		*out = negative ? -(double) INFINITY : (double) INFINITY;
		pfree(buf);
		return true;
	}
	if (n == 3 && pg_strncasecmp(p, "nan", 3) == 0)
	{
		*out = (double) NAN;
		pfree(buf);
		return true;
	}
	digits = copy_digits(&p, end, &b);
	if (p < end && *p == '.')
	{
		*b++ = *p++;
		digits += copy_digits(&p, end, &b);
	}
	if (digits > 0 && p < end && (*p == 'e' || *p == 'E'))
	{
		*b++ = *p++;
		if (p < end && (*p == '+' || *p == '-'))
			*b++ = *p++;
		if (copy_digits(&p, end, &b) == 0)
			digits = 0;
	}
	if (digits == 0 || p != end)
	{
		pfree(buf);
		return false;
	}
	*b = '\0';
	/* strtod is correctly rounded, like Python; ERANGE gives +-HUGE_VAL or 0. */
	*out = strtod(buf, NULL);
	pfree(buf);
	return true;
}

/*
 * A confidence label from a value's text: stripped and lower-cased, blank ->
 * "unavailable".  Returns a palloc'd string.
 */
char *
gates_label(const char *s, int len)
{
	const char *p;
	int			n;
	char	   *label;

	strip_spaces(s, len, &p, &n);
	if (n == 0)
		return pstrdup("unavailable");
	label = pnstrdup(p, n);
	for (char *c = label; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c += 'a' - 'A';
	return label;
}

#ifndef SHELFOPS_NO_BACKEND
/* A jsonb number as float8, without the range error of numeric_float8. */
static double
numeric_to_double(Numeric num)
{
	char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
	double		d = strtod(text, NULL);

	pfree(text);
	return d;
}

/* The value of a metric: JSON numbers and strings Python's float() accepts. */
static bool
value_as_float(const JsonbValue *v, double *out)
{
	switch (v->type)
	{
		case jbvNumeric:
			*out = numeric_to_double(v->val.numeric);
			return true;
		case jbvString:
			return gates_parse_float(v->val.string.val, v->val.string.len, out);
		default:
			return false;		/* null, boolean, object, array */
	}
}

/* The JSON text of any value (for labels and messages). */
static char *
value_text(JsonbValue *v)
{
	if (v->type == jbvBinary)
		return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
	return JsonbToCString(NULL, &JsonbValueToJsonb(v)->root, 0);
}

/*
 * A confidence label: null or absent -> "unavailable"; otherwise the value's
 * text (a string's contents), stripped and lower-cased, blank -> "unavailable".
 */
static char *
value_as_label(JsonbValue *v)
{
	const char *s;

	if (v == NULL || v->type == jbvNull)
		return pstrdup("unavailable");
	if (v->type == jbvString)
		return gates_label(v->val.string.val, v->val.string.len);
	s = value_text(v);
	return gates_label(s, strlen(s));
}

/* Shortest exact decimal text of a float8 ("NaN", "Infinity" as such). */
static char *
double_text(double d)
{
	char	   *buf;

	if (isnan(d))
		return pstrdup("NaN");
	if (isinf(d))
		return pstrdup(d > 0 ? "Infinity" : "-Infinity");
	buf = palloc(DOUBLE_SHORTEST_DECIMAL_LEN);
	double_to_shortest_decimal_buf(d, buf);
	return buf;
}

static JsonbValue *
find_key(Jsonb *jb, const char *key, JsonbValue *buf)
{
	if (jb == NULL)
		return NULL;
	return getKeyJsonValueFromContainer(&jb->root, key, strlen(key), buf);
}

/* Error unless jb is NULL or a JSON object. */
static void
check_object(Jsonb *jb, const char *arg)
{
	if (jb == NULL || JB_ROOT_IS_OBJECT(jb))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s must be a JSON object", arg),
			 errdetail("It is %s.",
					   JB_ROOT_IS_SCALAR(jb) ? "a JSON scalar" : "a JSON array")));
}

/*
 * Read the 15 metrics of one side.  A metric with an alias (mape, alias
 * mape_nonzero) is read from its own key when that key is present, whatever
 * its value, else from the alias; disagreements become warnings.
 */
static void
read_side(Jsonb *jb, const char *side, MetricRead *m, List **warnings)
{
	for (int i = 0; i < GM_COUNT; i++)
	{
		const MetricDef *d = &metric_defs[i];
		JsonbValue	buf;
		JsonbValue	abuf;
		JsonbValue *v = find_key(jb, d->key, &buf);
		JsonbValue *alias = d->alias ? find_key(jb, d->alias, &abuf) : NULL;

		m[i].label = NULL;
		m[i].present = false;
		m[i].value = 0.0;
		if (d->is_label)
		{
			m[i].label = value_as_label(v);
			m[i].present = true;
			continue;
		}
		if (v == NULL && alias != NULL)
		{
			m[i].present = value_as_float(alias, &m[i].value);
			continue;
		}
		if (v != NULL)
			m[i].present = value_as_float(v, &m[i].value);
		if (v != NULL && alias != NULL)
		{
			double		a;
			bool		alias_number = value_as_float(alias, &a);

			if (alias_number && !m[i].present)
				*warnings = lappend(*warnings,
									psprintf("%s: %s is not a number; %s (%s) not used",
											 side, d->key, d->alias, double_text(a)));
			else if (alias_number && !(a == m[i].value || (isnan(a) && isnan(m[i].value))))
				*warnings = lappend(*warnings,
									psprintf("%s: %s (%s) and %s (%s) differ; %s used",
											 side, d->key, double_text(m[i].value),
											 d->alias, double_text(a), d->key));
		}
	}
}

/* Thresholds from a policy object; absent keys take the reference default. */
static void
read_thresholds(Jsonb *policy, Thresholds *t)
{
	check_object(policy, "policy");
	for (int i = 0; i < GT_COUNT; i++)
	{
		const ThresholdDef *d = &threshold_defs[i];
		JsonbValue	buf;
		JsonbValue *v = find_key(policy, d->key, &buf);
		double		x;

		if (v == NULL)
		{
			t->value[i] = d->value;
			t->shown[i] = DatumGetNumeric(DirectFunctionCall3(numeric_in,
															  CStringGetDatum(d->text),
															  ObjectIdGetDatum(InvalidOid),
															  Int32GetDatum(-1)));
			continue;
		}
		if (v->type != jbvNumeric ||
			!isfinite(x = numeric_to_double(v->val.numeric)) || x < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("gate policy threshold \"%s\" must be a non-negative number",
							d->key),
					 errdetail("The policy gives %s.", value_text(v)),
					 errhint("Leave the key out to use the reference default %s.",
							 d->text)));
		t->value[i] = x;
		t->shown[i] = v->val.numeric;
	}
}

#endif							/* !SHELFOPS_NO_BACKEND */

/* ------------------------------------------------------------------------
 * The gates
 * ------------------------------------------------------------------------
 */

static bool
label_ok(const MetricRead *m)
{
	return strcmp(m->label, "measured") == 0 || strcmp(m->label, "estimated") == 0;
}

/*
 * R(c, ch, t%).  With ch != 0 this is c <= ch * (1 + t/100); the reference
 * writes the same test for wape and mase with a literal factor 1.02, which is
 * the same double as 1 + 2.0/100.0, and the ch = 0 branch gives the same
 * result as the product there.
 */
static bool
relative_ok(double c, double ch, double t)
{
	if (ch == 0)
		return c <= 0;
	return c <= ch * (1.0 + t / 100.0);
}

static bool
gate_passes(const GateDef *g, const MetricRead *cand, const MetricRead *champ,
			const double *thresholds)
{
	const MetricRead *c = &cand[g->metric];
	const MetricRead *ch = &champ[g->metric];
	double		t = g->threshold == GT_NONE ? 0.0 : thresholds[g->threshold];
	bool		pass;

	if (g->kind == GK_CONFIDENCE)
		return label_ok(c) && label_ok(ch);
	if (!c->present || !ch->present)
		return g->pass_if_missing;

	switch (g->kind)
	{
		case GK_RELATIVE:
			pass = relative_ok(c->value, ch->value, t);
			break;
		case GK_ABS_PLUS_PP:
			pass = fabs(c->value) <= fabs(ch->value) + t / 100.0;
			break;
		case GK_PLUS_PP:
			pass = c->value <= ch->value + t / 100.0;
			break;
		case GK_NOT_LOWER:
			pass = c->value >= ch->value;
			break;
		case GK_IMPROVE_OR_TRADE:
			{
				const MetricRead *ct = &cand[g->tradeoff];
				const MetricRead *cht = &champ[g->tradeoff];

				pass = c->value <= ch->value * (1.0 - t / 100.0) ||
					(c->value <= ch->value * (1.0 + thresholds[g->threshold2] / 100.0) &&
					 ct->present && cht->present && ct->value < cht->value);
				break;
			}
		default:
			pass = false;		/* GK_CONFIDENCE returned above */
	}
	if (pass && g->confidence >= 0)
		pass = label_ok(&cand[g->confidence]) && label_ok(&champ[g->confidence]);
	return pass;
}

static int
cmp_cstring(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

char *
gates_format_reason(bool promoted, int n_missing, const char *const *missing,
					int n_failed, const char *const *failed)
{
	StringInfoData s;

	if (promoted)
		return pstrdup("passed_business_and_ds_gates");
	if (n_missing == 0 && n_failed == 0)
		return pstrdup("failed_unknown_gate");
	initStringInfo(&s);
	appendStringInfoString(&s, "failed_gates:");
	if (n_missing > 0)
	{
		appendStringInfoString(&s, "missing_required_inputs:");
		for (int i = 0; i < n_missing; i++)
			appendStringInfo(&s, "%s%s", i > 0 ? "," : "", missing[i]);
	}
	for (int i = 0; i < n_failed; i++)
		appendStringInfo(&s, "%s%s", (i > 0 || n_missing > 0) ? "," : "", failed[i]);
	return s.data;
}

/*
 * The decision on metrics already read: missing required inputs (sorted), each
 * gate, promoted and the reason.  Fills everything in *out but the document.
 */
void
gates_decide(const GatesMetric *cand, const GatesMetric *champ, const double *thresholds,
			 GatesResult *out)
{
	const char *failed[GATES_N_GATES];
	int			n_failed = 0;

	memset(out, 0, sizeof(*out));
	for (int side = 0; side < 2; side++)
		for (int i = 0; i < GM_COUNT; i++)
		{
			const MetricDef *d = &metric_defs[i];
			const MetricRead *m = side == 0 ? &cand[i] : &champ[i];

			if (d->candidate_name != NULL && !m->present)
				out->missing[out->n_missing++] = side == 0 ? d->candidate_name : d->champion_name;
		}
	qsort(out->missing, out->n_missing, sizeof(const char *), cmp_cstring);

	for (int i = 0; i < GATES_N_GATES; i++)
	{
		out->passed[i] = gate_passes(&gate_defs[i], cand, champ, thresholds);
		if (!out->passed[i])
			failed[n_failed++] = gate_defs[i].key;
	}
	memcpy(out->thresholds, thresholds, sizeof(out->thresholds));
	out->promoted = (n_failed == 0 && out->n_missing == 0);
	out->reason = gates_format_reason(out->promoted, out->n_missing, out->missing,
									  n_failed, failed);
}

const char *
gates_metric_key(int i)
{
	Assert(i >= 0 && i < GATES_N_METRICS);
	return metric_defs[i].key;
}

bool
gates_metric_is_label(int i)
{
	Assert(i >= 0 && i < GATES_N_METRICS);
	return metric_defs[i].is_label;
}

#ifndef SHELFOPS_NO_BACKEND

/* ------------------------------------------------------------------------
 * The decision document
 * ------------------------------------------------------------------------
 */

static void
push_key(JsonbParseState **st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}

static void
push_string(JsonbParseState **st, JsonbIteratorToken tok, const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(st, tok, &v);
}

static void
push_bool(JsonbParseState **st, bool b)
{
	JsonbValue	v;

	v.type = jbvBool;
	v.val.boolean = b;
	pushJsonbValue(st, WJB_VALUE, &v);
}

static void
push_numeric(JsonbParseState **st, Numeric n)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = n;
	pushJsonbValue(st, WJB_VALUE, &v);
}

/* A float8 as a JSON number; NaN and infinities as strings (JSON has none). */
static void
push_double(JsonbParseState **st, double d)
{
	char	   *text = double_text(d);

	if (!isfinite(d))
	{
		push_string(st, WJB_VALUE, text);
		return;
	}
	push_numeric(st, DatumGetNumeric(DirectFunctionCall3(numeric_in,
														 CStringGetDatum(text),
														 ObjectIdGetDatum(InvalidOid),
														 Int32GetDatum(-1))));
}

static void
push_metrics(JsonbParseState **st, const char *key, const MetricRead *m)
{
	JsonbValue	null;

	null.type = jbvNull;
	push_key(st, key);
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < GM_COUNT; i++)
	{
		push_key(st, metric_defs[i].key);
		if (metric_defs[i].is_label)
			push_string(st, WJB_VALUE, m[i].label);
		else if (m[i].present)
			push_double(st, m[i].value);
		else
			pushJsonbValue(st, WJB_VALUE, &null);
	}
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

static Jsonb *
build_document(const GatesResult *r, const Thresholds *th,
			   const MetricRead *cand, const MetricRead *champ, List *warnings)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	ListCell   *lc;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);

	push_key(&st, "promoted");
	push_bool(&st, r->promoted);
	push_key(&st, "reason");
	push_string(&st, WJB_VALUE, r->reason);

	push_key(&st, "gate_checks");
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < GATES_N_GATES; i++)
	{
		push_key(&st, gate_defs[i].key);
		push_bool(&st, r->passed[i]);
	}
	pushJsonbValue(&st, WJB_END_OBJECT, NULL);

	push_key(&st, "missing_required_inputs");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < r->n_missing; i++)
		push_string(&st, WJB_ELEM, r->missing[i]);
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);

	push_key(&st, "thresholds");
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < GT_COUNT; i++)
	{
		push_key(&st, threshold_defs[i].key);
		push_numeric(&st, th->shown[i]);
	}
	pushJsonbValue(&st, WJB_END_OBJECT, NULL);

	push_metrics(&st, "champion_metrics", champ);
	push_metrics(&st, "candidate_metrics", cand);

	push_key(&st, "warnings");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, warnings)
		push_string(&st, WJB_ELEM, (const char *) lfirst(lc));
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);

	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* ------------------------------------------------------------------------
 * C API
 * ------------------------------------------------------------------------
 */

void
gates_evaluate_result(Jsonb *candidate, Jsonb *champion, Jsonb *policy, GatesResult *out)
{
	MetricRead	cand[GM_COUNT];
	MetricRead	champ[GM_COUNT];
	Thresholds	th;
	List	   *warnings = NIL;

	check_object(candidate, "candidate");
	check_object(champion, "champion");
	read_thresholds(policy, &th);
	read_side(candidate, "candidate", cand, &warnings);
	read_side(champion, "champion", champ, &warnings);

	gates_decide(cand, champ, th.value, out);
	out->document = build_document(out, &th, cand, champ, warnings);
}

Jsonb *
gates_evaluate(Jsonb *candidate, Jsonb *champion, Jsonb *policy)
{
	GatesResult r;

	gates_evaluate_result(candidate, champion, policy, &r);
	return r.document;
}
#endif							/* !SHELFOPS_NO_BACKEND */

const char *
gates_gate_key(int i)
{
	Assert(i >= 0 && i < GATES_N_GATES);
	return gate_defs[i].key;
}

const char *
gates_threshold_key(int i)
{
	Assert(i >= 0 && i < GATES_N_THRESHOLDS);
	return threshold_defs[i].key;
}

double
gates_threshold_default(int i)
{
	Assert(i >= 0 && i < GATES_N_THRESHOLDS);
	return threshold_defs[i].value;
}

#ifndef SHELFOPS_NO_BACKEND
/* ------------------------------------------------------------------------
 * SQL: shelfops_evaluate_gates(candidate jsonb, champion jsonb,
 *								policy jsonb DEFAULT NULL) RETURNS jsonb
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(shelfops_evaluate_gates);

Datum
shelfops_evaluate_gates(PG_FUNCTION_ARGS)
{
	Jsonb	   *candidate = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);
	Jsonb	   *champion = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	Jsonb	   *policy = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);

	PG_RETURN_JSONB_P(gates_evaluate(candidate, champion, policy));
}
#endif							/* !SHELFOPS_NO_BACKEND */
