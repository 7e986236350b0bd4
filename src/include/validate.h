/*
 * validate.h
 *	  Dataset validation and readiness (see validate.c and docs/validation.md).
 *
 * shelfops_validate_dataset() is the SQL entry point.  Other modules (a loader
 * that validates after loading, the Markdown validation report) call
 * shelfops_validate() directly: it runs every check on one dataset, stores the
 * result and the readiness state in shelfops.datasets and hands the checks back.
 */
#ifndef SHELFOPS_VALIDATE_H
#define SHELFOPS_VALIDATE_H

#include "postgres.h"
#include "utils/jsonb.h"

/* What a failing check means for the dataset's readiness. */
typedef enum ValidationClass
{
	VCLASS_INFO,				/* reported only; never changes readiness */
	VCLASS_INVALID,				/* contract or structure broken: readiness invalid */
	VCLASS_BLOCKED,				/* nothing usable: readiness blocked */
	VCLASS_LIMITED				/* valid, but short, gappy or degenerate: limited */
} ValidationClass;

typedef struct ValidationCheck
{
	const char *name;			/* check_name, e.g. "null_rate:store_id" */
	double		observed;
	bool		observed_null;
	double		threshold;
	bool		threshold_null;
	bool		passed;
	bool		passed_null;	/* informational rows and checks without data */
	char	   *detail;
	ValidationClass vclass;
	bool		upper_bound;	/* threshold is a maximum (observed <= threshold) */
} ValidationCheck;

typedef struct ValidationResult
{
	int			nchecks;
	ValidationCheck *checks;
	const char *readiness;		/* ready, limited, blocked or invalid */
	char	   *readiness_reason;
} ValidationResult;

/*
 * Validate dataset_id of tenant (already checked identifiers) with the given
 * threshold overrides (NULL: defaults), store the outcome in shelfops.datasets
 * and return it.  Connects to SPI itself; result is palloc'd in the caller's
 * memory context.
 */
extern ValidationResult *shelfops_validate(const char *tenant, const char *dataset_id,
										   Jsonb *thresholds);

#endif							/* SHELFOPS_VALIDATE_H */
