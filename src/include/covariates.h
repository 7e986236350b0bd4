/*
 * covariates.h
 *	  Planned covariates for forecast targets (see covariates.c).
 */
#ifndef SHELFOPS_COVARIATES_H
#define SHELFOPS_COVARIATES_H

#include "postgres.h"

#include "series.h"

/*
 * Write the planned covariates of relation relid (columns store_id, product_id,
 * sale_date and any of the canonical covariate columns of shelfops.sales) into
 * the target periods origin + 1 .. origin + horizon of set.  Every row must name
 * a series of the set and a target period, once; anything else is an ERROR
 * naming the row.  NULL cells leave the value as it was.  Rows of periods past
 * the set's last period (a model with a shorter horizon) are validated but not
 * written.  Returns the number of rows written.  Uses SPI; the caller must not be connected.
 */
extern int64 covariates_apply(Oid relid, SeriesSet *set, int origin, int horizon);

#endif							/* SHELFOPS_COVARIATES_H */
