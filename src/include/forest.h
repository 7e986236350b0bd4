/*
 * forest.h
 *	  A loaded XGBoost model's trees as flat arrays and a branch-free predictor
 *	  giving the same floats as XGBoost's (see forest.c).
 */
#ifndef SHELFOPS_FOREST_H
#define SHELFOPS_FOREST_H

#include "postgres.h"

#include "utils/palloc.h"

typedef struct Forest Forest;

/*
 * The trees of an XGBoost UBJSON model payload, in cxt; NULL when the model is
 * one this predictor does not cover (not gbtree, several outputs, an objective
 * other than reg:squarederror, categorical splits) or the payload is not
 * understood.  Never ERRORs on bad bytes.
 */
extern Forest *forest_from_xgboost_ubj(const char *payload, size_t len, MemoryContext cxt);

extern void forest_free(Forest *f);

extern int	forest_nfeatures(const Forest *f);

/* out[i] = the model's prediction for row i of X (row-major, ncols >= nfeatures). */
extern void forest_predict(const Forest *f, const float *X, int nrows, int ncols, double *out);

#endif							/* SHELFOPS_FOREST_H */
