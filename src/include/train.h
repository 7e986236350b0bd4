/*
 * train.h
 *	  Pieces of training that backtests, tuning and the arena reuse (see train.c).
 */
#ifndef SHELFOPS_TRAIN_H
#define SHELFOPS_TRAIN_H

#include "postgres.h"

#include "model.h"
#include "predict.h"
#include "series.h"

/*
 * Every canonical metric of forecast[] against the rows' actuals, as JSON
 * text, with MASE scaled per series by its in-sample seasonal-naive error over
 * periods <= scale_last; lower/upper may be NULL (coverage NULL).
 */
extern char *train_score_metrics(const SeriesSet *set, const ForecastRows *rows,
								 const double *forecast, const double *lower,
								 const double *upper, int scale_last);

/* A seasonal-naive model for the set's calendar (season 7 daily, 52 weekly). */
extern Model *train_seasonal_naive(const SeriesSet *set);

#endif							/* SHELFOPS_TRAIN_H */
