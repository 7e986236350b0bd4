/*
 * shelfops.h
 *	  Settings and small helpers shared by every shelfops module.
 *
 * Each module has its own header for its own interface; this one carries only
 * what is global: the settings defined in shelfops.c and the error helpers that
 * keep messages uniform across modules.
 */
#ifndef SHELFOPS_H
#define SHELFOPS_H

#include "postgres.h"

/* Settings (see shelfops.c for their meaning and defaults). */
extern char *shelfops_tenant_id;
extern char *shelfops_export_directory;
extern int	shelfops_training_memory_mb;
extern int	shelfops_xgboost_threads;
extern int	shelfops_shadow_max_challengers;
extern bool shelfops_fast_tree_predict;
extern int64 shelfops_forest_rows;

/* The tenant a call acts for when its tenant_id argument is NULL. */
extern const char *shelfops_default_tenant(void);

#endif							/* SHELFOPS_H */
