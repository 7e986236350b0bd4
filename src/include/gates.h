/*
 * gates.h
 *	  C interface of the reference promotion gates (gates.c): the 15 gates of
 *	  reference section 5.2 applied to two metric documents, as a pure function.
 *
 * The promotion code calls gates_evaluate_result() with the candidate's and the
 * champion's metrics (jsonb objects with the reference's keys; "mape_nonzero" is
 * read when "mape" is absent) and a policy object whose keys are the threshold
 * columns of shelfops.gate_policy (NULL = reference defaults; other keys are
 * ignored, so to_jsonb() of a whole gate_policy row can be passed).  It gets the
 * decision document of shelfops_evaluate_gates() and, without reparsing it, the
 * decision, the reason, each gate's result and the thresholds used.
 *
 * Nothing is read from or written to the database.  Invalid arguments (a metric
 * document that is not an object, a threshold that is not a non-negative
 * number) are ERRORs with SQLSTATE 22023 naming the argument and key.  See
 * docs/gates.md for every rule.
 */
#ifndef SHELFOPS_GATES_H
#define SHELFOPS_GATES_H

#ifdef SHELFOPS_NO_BACKEND
#include "postgres_fe.h"
#else
#include "postgres.h"

#include "utils/jsonb.h"
#endif

#define GATES_N_METRICS		15	/* metrics read from each side */
#define GATES_N_GATES		15	/* reference gates, in reference order */
#define GATES_N_THRESHOLDS	12	/* policy keys (gate_policy threshold columns) */
#define GATES_N_REQUIRED	18	/* required inputs: 9 metrics x 2 sides */

typedef struct GatesResult
{
	bool		promoted;		/* all gates pass and no required input missing */
	char	   *reason;			/* reference reason string (palloc'd) */
	bool		passed[GATES_N_GATES];	/* by gate index, see gates_gate_key() */
	double		thresholds[GATES_N_THRESHOLDS]; /* used, by gates_threshold_key() */
	int			n_missing;		/* missing required inputs, sorted */
	const char *missing[GATES_N_REQUIRED];	/* "candidate.mae", ... (static) */
#ifndef SHELFOPS_NO_BACKEND
	Jsonb	   *document;		/* what shelfops_evaluate_gates() returns */
#endif
} GatesResult;

/* One metric as read from one side of the comparison. */
typedef struct GatesMetric
{
	bool		present;		/* numbers: parsed; labels: always true */
	double		value;
	char	   *label;			/* labels: normalised label (gates_label) */
} GatesMetric;

/*
 * The pure core, also built with -DSHELFOPS_NO_BACKEND (test/fuzz/gates_fuzz.c).
 * gates_parse_float: Python's float() of a string (false when it does not
 * parse).  gates_label: a confidence label from a value's text, stripped and
 * lower-cased, blank -> "unavailable" (palloc'd).  gates_decide: the gates on
 * metrics already read (metric i = gates_metric_key(i)) and thresholds
 * (threshold i = gates_threshold_key(i)); fills *out except the document.
 */
extern bool gates_parse_float(const char *s, int len, double *out);
extern char *gates_label(const char *s, int len);
extern void gates_decide(const GatesMetric *candidate, const GatesMetric *champion,
						 const double *thresholds, GatesResult *out);
extern const char *gates_metric_key(int i);
extern bool gates_metric_is_label(int i);

#ifdef SHELFOPS_NO_BACKEND
/* Whether text is read as UTF-8 (the backend asks the database encoding). */
extern bool gates_utf8;
#else

/*
 * Evaluate the gates.  candidate and champion may be NULL (= {}: every input
 * missing); policy NULL means the reference defaults.  *out is filled; all
 * memory is palloc'd in the current context.
 */
extern void gates_evaluate_result(Jsonb *candidate, Jsonb *champion, Jsonb *policy,
								  GatesResult *out);

/* The same, returning only the decision document. */
extern Jsonb *gates_evaluate(Jsonb *candidate, Jsonb *champion, Jsonb *policy);

#endif							/* SHELFOPS_NO_BACKEND */

/* Gate i's key ("mae_gate", ...). */
extern const char *gates_gate_key(int i);

/* Policy key i ("max_mae_regression_pct", ...) and its reference default. */
extern const char *gates_threshold_key(int i);
extern double gates_threshold_default(int i);

/*
 * The reference reason string: "passed_business_and_ds_gates" when promoted;
 * else "failed_gates:" followed by a comma list whose first item is
 * "missing_required_inputs:<comma list>" when inputs are missing (sorted by the
 * caller), then the failing gate keys (in gate order); "failed_unknown_gate"
 * when not promoted and both lists are empty.  Callers that add gates of their
 * own append their keys to the failed list to keep one format.  Returns a
 * palloc'd string.
 */
extern char *gates_format_reason(bool promoted,
								 int n_missing, const char *const *missing,
								 int n_failed, const char *const *failed);

#endif							/* SHELFOPS_GATES_H */
