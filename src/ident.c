/*
 * ident.c
 *	  Owns the validation of identifiers users choose (tenant, dataset and model
 *	  ids) and the resolution of the tenant a call acts for.
 *
 * The same rule as the shelfops.ident domain is applied here, before any work,
 * so a bad id fails with a message naming the argument instead of a domain
 * violation deep inside a load or a training.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "shelfops.h"
#include "ident.h"

static bool
ident_char_ok(char c, bool first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	if (first)
		return false;
	return c == '_' || c == '.' || c == ':' || c == '@' || c == '-';
}

void
shelfops_check_ident(const char *value, const char *what)
{
	size_t		len = strlen(value);

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	if (len > SHELFOPS_IDENT_MAXLEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is %zu characters long; at most %d are allowed",
						what, len, SHELFOPS_IDENT_MAXLEN)));
	for (size_t i = 0; i < len; i++)
	{
		if (!ident_char_ok(value[i], i == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s \"%s\" is not a valid identifier", what, value),
					 errdetail("Character %zu is not allowed there.", i + 1),
					 errhint("Use letters, digits and _ . : @ -, starting with a letter or digit.")));
	}
}

char *
shelfops_ident_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *value;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	value = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	shelfops_check_ident(value, what);
	return value;
}

char *
shelfops_tenant_arg(FunctionCallInfo fcinfo, int argno)
{
	const char *session_tenant = shelfops_default_tenant();
	char	   *tenant;

	if (argno >= PG_NARGS() || PG_ARGISNULL(argno))
		tenant = pstrdup(session_tenant);
	else
		tenant = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	shelfops_check_ident(tenant, "tenant_id");

	/*
	 * Superusers, BYPASSRLS roles and the background worker bypass row-level
	 * security and may act for any tenant; everyone else only for the
	 * session's tenant.
	 */
	if (!superuser() && !has_bypassrls_privilege(GetUserId()) && strcmp(tenant, session_tenant) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot act for tenant \"%s\" from a session of tenant \"%s\"",
						tenant, session_tenant),
				 errhint("SET shelfops.tenant_id = '%s' first, or omit tenant_id.", tenant)));
	return tenant;
}
