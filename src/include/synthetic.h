/*
 * synthetic.h
 *	  Deterministic synthetic retail sales generator (see synthetic.c).
 */
#ifndef SHELFOPS_SYNTHETIC_H
#define SHELFOPS_SYNTHETIC_H

#include "postgres.h"
#include "fmgr.h"

/* Limits of shelfops_generate_synthetic's arguments. */
#define SYNTH_MAX_STORES	10000
#define SYNTH_MAX_PRODUCTS	100000
#define SYNTH_MIN_DAYS		28
#define SYNTH_MAX_DAYS		3660
#define SYNTH_MAX_ROWS		INT64CONST(50000000)

/* Version of the demand model; bumped whenever the same arguments would give other rows. */
#define SYNTH_MODEL_VERSION 1

extern Datum shelfops_generate_synthetic(PG_FUNCTION_ARGS);

#endif							/* SHELFOPS_SYNTHETIC_H */
