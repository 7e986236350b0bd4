/*
 * ident.h
 *	  Identifiers users choose (tenant, dataset, model) and the tenant a call
 *	  acts for (see ident.c).
 */
#ifndef SHELFOPS_IDENT_H
#define SHELFOPS_IDENT_H

#include "postgres.h"
#include "fmgr.h"

/* Longest identifier accepted, as in the shelfops.ident domain. */
#define SHELFOPS_IDENT_MAXLEN 128

/* ERROR unless value is a valid identifier; "what" names the argument. */
extern void shelfops_check_ident(const char *value, const char *what);

/*
 * The identifier in argument argno (NULL argument: ERROR naming "what").
 * The result is a palloc'd C string.
 */
extern char *shelfops_ident_arg(FunctionCallInfo fcinfo, int argno, const char *what);

/*
 * The tenant a call acts for: argument argno, or the session's tenant when the
 * argument is NULL.  A caller under row-level security may act only for the
 * session's tenant; anything else is refused here with a clear message rather
 * than failing later as "no rows" or a policy violation.
 */
extern char *shelfops_tenant_arg(FunctionCallInfo fcinfo, int argno);

#endif							/* SHELFOPS_IDENT_H */
