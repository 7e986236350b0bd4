/*
 * series.h
 *	  Sales laid on the dataset's calendar: one dense array per (store, product)
 *	  series, with missing periods known as missing (see series.c).
 *
 * Period t of a set is the date date_min + t * period_days (1 for daily data, 7
 * for weekly data anchored on date_min).  Values are NaN where unknown: a period
 * without a sales row has y = NaN and every covariate NaN, never 0.
 */
#ifndef SHELFOPS_SERIES_H
#define SHELFOPS_SERIES_H

#include "postgres.h"

#include "utils/date.h"
#include "utils/palloc.h"

typedef enum SeriesFrequency
{
	SERIES_DAILY = 0,
	SERIES_WEEKLY = 1
} SeriesFrequency;

/* Per-period covariates read from shelfops.sales (float, NaN = unknown). */
typedef enum SeriesCovariate
{
	SCOV_PROMO_COUNT = 0,		/* promo_count */
	SCOV_IS_PROMOTIONAL,		/* is_promotional: 0/1 */
	SCOV_IS_HOLIDAY,			/* is_holiday: 0/1 */
	SCOV_HOLIDAY_TYPE,			/* index into SeriesSet.holiday_types; NaN when NULL */
	SCOV_IS_SCHOOL_HOLIDAY,		/* is_school_holiday: 0/1 */
	SCOV_IS_OPEN,				/* is_open: 0/1 */
	SCOV_UNIT_PRICE,			/* unit_price */
	SCOV_UNIT_COST,				/* unit_cost */
	SERIES_NCOV
} SeriesCovariate;

/* Column names of the covariates, indexed by SeriesCovariate. */
extern const char *const series_covariate_names[SERIES_NCOV];

typedef struct Series
{
	char	   *store_id;
	char	   *product_id;
	char	   *category;		/* first non-NULL category in date order, or NULL */
	int			category_period;	/* period where that category was first seen; -1 */
	int			store_idx;		/* index into SeriesSet.stores */
	int			product_idx;	/* index into SeriesSet.products */
	int			first_period;	/* first and last period with a row */
	int			last_period;
	int			nobs;			/* periods with a row */
	double	   *y;				/* [nperiods] quantity, NaN = no row */
	float	   *cov[SERIES_NCOV];	/* [nperiods] each, NaN = unknown */
} Series;

typedef struct SeriesSet
{
	char	   *tenant_id;
	char	   *dataset_id;
	SeriesFrequency frequency;
	int			period_days;	/* 1 or 7 */
	DateADT		date_min;		/* period 0 */
	DateADT		date_max;		/* last period with data (the dataset's date_max) */
	int			ndata_periods;	/* periods date_min .. date_max */
	int			nperiods;		/* ndata_periods + extra periods asked for */
	int			nseries;
	Series	   *series;			/* ordered by store_id, product_id (bytewise) */
	int			nstores;		/* distinct store ids, sorted bytewise */
	char	  **stores;
	int			nproducts;		/* distinct product ids, sorted bytewise */
	char	  **products;
	int			nholiday_types; /* distinct holiday_type values, sorted bytewise */
	char	  **holiday_types;
	bool		has_cov[SERIES_NCOV];	/* some row has a non-NULL (or true) value */
	int64		nrows;			/* sales rows read */
	uint32		crc;			/* CRC-32C over the rows read, in order */
	char		fingerprint[32];	/* "crc32c:xxxxxxxx" */
	Size		bytes;			/* bytes of the per-period arrays */
	uint64		load_id;		/* distinct for every set loaded by this backend */
} SeriesSet;

/* Bytes one (series, period) cell takes: y plus every covariate. */
#define SERIES_BYTES_PER_CELL (sizeof(double) + SERIES_NCOV * sizeof(float))

/*
 * Load every series of (tenant, dataset) into cxt.  ERROR (undefined object) for
 * an unknown dataset, (data exception) for a weekly row off the calendar grid,
 * (program limit exceeded) when the arrays would need more than
 * shelfops.training_memory_mb.  Uses SPI; the caller must not be connected.
 */
extern SeriesSet *series_load(const char *tenant_id, const char *dataset_id,
							  MemoryContext cxt);

/*
 * As series_load, with extra_periods more periods after date_max (y and
 * covariates NaN) so forecast targets after the data have a place.
 */
extern SeriesSet *series_load_extended(const char *tenant_id, const char *dataset_id,
									   int extra_periods, MemoryContext cxt);

/*
 * As series_load_extended, reading only the periods from the one containing
 * from_date on (DATEVAL_NOBEGIN: everything).  Period 0 is then that period;
 * forecasting reads just the history its features need.  fingerprint false
 * skips the CRC over the rows (set->fingerprint is then "none"): forecasting
 * records no lineage and saves the time.
 */
extern SeriesSet *series_load_window(const char *tenant_id, const char *dataset_id,
									 DateADT from_date, int extra_periods, bool fingerprint,
									 MemoryContext cxt);

/* The date of period t (t may lie outside 0 .. nperiods - 1). */
extern DateADT series_period_date(const SeriesSet *set, int t);

/*
 * The period containing date d: floor((d - date_min) / period_days).  May be
 * negative or >= nperiods; the caller checks the range.
 */
extern int	series_period_of_date(const SeriesSet *set, DateADT d);

/* true when d is the first day of a period (always true for daily data). */
extern bool series_date_on_grid(const SeriesSet *set, DateADT d);

/* Index of series (store_id, product_id), or -1. */
extern int	series_find(const SeriesSet *set, const char *store_id, const char *product_id);

/* "daily" or "weekly". */
extern const char *series_frequency_name(SeriesFrequency f);

#endif							/* SHELFOPS_SERIES_H */
